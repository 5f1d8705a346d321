//! Named crash points for the fault tests: with `CONNECTED_ACCOUNTS_CRASH_AT=<name>` the process
//! kills itself with SIGKILL (as an OOM kill or a power cut would: no destructors, no flushing)
//! when it reaches that point; with `CONNECTED_ACCOUNTS_PANIC_AT=<name>` it panics there (a bug
//! with tokens in hand: the panic output must show none). Unset, this does nothing.
//!
//! Compiled only with the `test-hooks` feature, which the test builds turn on (the CLI's tests
//! through a dev-dependency); a release binary ignores both variables.

pub const CRASH_ENV: &str = "CONNECTED_ACCOUNTS_CRASH_AT";
pub const PANIC_ENV: &str = "CONNECTED_ACCOUNTS_PANIC_AT";

#[cfg(not(feature = "test-hooks"))]
#[inline(always)]
pub fn point(_name: &str) {}

#[cfg(feature = "test-hooks")]
pub fn point(name: &str) {
    if std::env::var(PANIC_ENV).as_deref() == Ok(name) {
        panic!("test panic at {name}");
    }
    if std::env::var(CRASH_ENV).as_deref() == Ok(name) {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &std::process::id().to_string()])
            .status();
        std::process::abort();
    }
}
