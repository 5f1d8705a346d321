//! Starting the window app when run without a command.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use ca_core::{Error, ErrorKind};

/// The window binary's name (installed next to this one).
pub const WINDOW_BINARY: &str = "connected-accounts-app";

fn find() -> Option<PathBuf> {
    let beside = std::env::current_exe().ok()?.parent()?.join(WINDOW_BINARY);
    if beside.is_file() {
        return Some(beside);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(WINDOW_BINARY))
        .find(|p| p.is_file())
}

/// Starts the app resident (no window; it opens one to ask a question) and returns at once. It
/// is its own process group, so it outlives this command and the terminal's signals.
pub fn start_resident() -> Result<(), Error> {
    use std::os::unix::process::CommandExt;
    let mut app = Command::new(find().ok_or_else(not_installed)?);
    app.arg("--resident")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    spawn(app)
}

/// Starts the window and returns at once.
pub fn start() -> Result<(), Error> {
    spawn(Command::new(find().ok_or_else(not_installed)?))
}

fn not_installed() -> Error {
    Error::new(ErrorKind::NotFound, "the Connected Accounts window is not installed")
        .hint(format!("install the app package, or put {WINDOW_BINARY} on your PATH; run `connected-accounts --help` for the commands"))
}

/// Not waited for: the app outlives this command.
fn spawn(mut app: Command) -> Result<(), Error> {
    app.stdin(Stdio::null()).spawn().map_err(|e| {
        Error::new(
            ErrorKind::Internal,
            format!("cannot start {}", app.get_program().to_string_lossy()),
        )
        .cause(e)
    })?;
    Ok(())
}
