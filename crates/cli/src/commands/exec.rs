//! `exec`: runs a program with a fresh access token in its environment, never on a command line.
//!
//! Exit codes follow `env(1)`: 125 when our side failed, 126 when the program cannot run, 127
//! when it is not found; otherwise the status is the program's own. Without `--keep-fresh` this
//! process becomes the program (execve). With it, it stays as the parent, keeps a token file
//! fresh, forwards TERM, HUP, USR1 and USR2, and ends as the program ended.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ca_core::approval::Purpose;
use ca_core::consumer::{Consumer, ReadKind};
use ca_core::policy::Clearance;
use ca_core::refresh::{ToolToken, EXEC_VALIDITY};
use ca_core::text::for_terminal as safe;
use ca_core::{Engine, SecretString};
use tokio::signal::unix::{signal, SignalKind};

use super::policy::{self, Asking};
use super::{Failure, Next};
use crate::args::ExecArgs;
use crate::output;

/// Our side failed (`env`'s convention).
pub const FAILED: u8 = 125;
/// The program exists but cannot be run.
pub const CANNOT_RUN: u8 = 126;
/// The program was not found.
pub const NOT_FOUND: u8 = 127;

/// Names a token must not go into: the loader's, the shells' and interpreters' start-up hooks,
/// and variables that decide where programs and files are found.
const REFUSED: &[&str] = &[
    "PATH",
    "IFS",
    "ENV",
    "BASH_ENV",
    "SHELLOPTS",
    "BASHOPTS",
    "CDPATH",
    "PS4",
    "PROMPT_COMMAND",
    "HOME",
    "SHELL",
    "TMPDIR",
    "PWD",
    "OLDPWD",
    "LANG",
    "LANGUAGE",
    "TERM",
    "TERMINFO",
    "TZ",
    "NODE_OPTIONS",
    "NODE_PATH",
    "PERLLIB",
    "PERL5LIB",
    "PERL5OPT",
    "RUBYLIB",
    "RUBYOPT",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    "GCONV_PATH",
    "HOSTALIASES",
    "LOCALDOMAIN",
    "NLSPATH",
    "EDITOR",
    "VISUAL",
    "PAGER",
    "BROWSER",
];
const REFUSED_PREFIXES: &[&str] = &[
    "LD_",
    "DYLD_",
    "LC_",
    "PYTHON",
    "GIT_",
    "BASH_FUNC_",
    "XDG_",
    "SSL_",
    "SSH_",
    "MALLOC_",
    "CONNECTED_ACCOUNTS_",
];

/// Why a variable name is refused, if it is.
pub fn refused_name(name: &str) -> Option<String> {
    let mut bytes = name.bytes();
    let plain = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !plain {
        return Some(format!(
            "`{}` is not a plain variable name (letters, digits and _, not starting with a digit)",
            safe(name)
        ));
    }
    let upper = name.to_ascii_uppercase();
    if REFUSED.contains(&upper.as_str()) || REFUSED_PREFIXES.iter().any(|p| upper.starts_with(p)) {
        return Some(format!(
            "`{name}` decides what programs run, load or read; a token must not go there. \
             Choose another name with --env"
        ));
    }
    None
}

fn fail(message: &str) -> Failure {
    eprintln!("error: {message}");
    Failure::Reported(FAILED)
}

pub async fn run(engine: &Engine, args: ExecArgs, asking: Asking) -> Result<Next, Failure> {
    for name in &args.env {
        if let Some(why) = refused_name(name) {
            return Err(fail(&why));
        }
    }
    let (program, args_rest) = args
        .command
        .split_first()
        .ok_or_else(|| fail("name the program to run after `--`"))?;
    let path = find_program(program, std::env::var_os("PATH"))?;
    let runtime_dir = if args.keep_fresh {
        Some(runtime_dir()?)
    } else {
        None
    };
    let name = Path::new(program)
        .file_name()
        .unwrap_or(program.as_os_str())
        .to_string_lossy()
        .into_owned();
    let reader = Consumer::calling_process(ReadKind::Exec);
    let detail = format!("exec {name}");
    let cleared = policy::clearance(
        engine,
        &args.account,
        &reader,
        &detail,
        Purpose::Token,
        asking,
    )
    .await
    .map_err(|e| {
        output::report(&e);
        Failure::Reported(FAILED)
    })?;
    let token = engine
        .token_for_tool(&args.account, &reader, &detail, EXEC_VALIDITY, &cleared)
        .await
        .map_err(|e| {
            output::report(&e);
            Failure::Reported(FAILED)
        })?;
    let names = if args.env.is_empty() {
        vec![token.env_name.clone()]
    } else {
        args.env.clone()
    };

    let mut command = std::process::Command::new(&path);
    command.arg0(program).args(args_rest);
    for n in &names {
        command.env(n, token.access_token.expose());
    }
    match runtime_dir {
        None => Ok(Next::Exec(Box::new(command))),
        Some(dir) => {
            keep_fresh(
                engine,
                command,
                &names,
                token,
                &dir,
                &args.account,
                &reader,
                &detail,
                &cleared,
            )
            .await
        }
    }
}

/// The program as `execvp` would find it, checked first so that a missing one costs no token.
fn find_program(program: &OsStr, path: Option<OsString>) -> Result<PathBuf, Failure> {
    let shown = safe(&program.to_string_lossy()).to_string();
    let runnable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.is_empty() {
        eprintln!("error: the program's name is empty");
        return Err(Failure::Reported(NOT_FOUND));
    }
    if program.to_string_lossy().contains('/') {
        let p = PathBuf::from(program);
        return match std::fs::metadata(&p) {
            Err(_) => {
                eprintln!("error: {shown}: no such file");
                Err(Failure::Reported(NOT_FOUND))
            }
            Ok(_) if !runnable(&p) => {
                eprintln!("error: {shown}: not an executable file");
                Err(Failure::Reported(CANNOT_RUN))
            }
            Ok(_) => Ok(p),
        };
    }
    let mut found_unrunnable = false;
    for dir in std::env::split_paths(&path.unwrap_or_else(|| "/usr/bin:/bin".into())) {
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        let candidate = dir.join(program);
        if runnable(&candidate) {
            return Ok(candidate);
        }
        found_unrunnable |= candidate.exists();
    }
    if found_unrunnable {
        eprintln!("error: {shown}: not an executable file");
        Err(Failure::Reported(CANNOT_RUN))
    } else {
        eprintln!("error: {shown}: command not found");
        Err(Failure::Reported(NOT_FOUND))
    }
}

/// How a failed execve is reported (after the token was read).
pub fn exec_failed(program: &OsStr, e: &std::io::Error) -> u8 {
    eprintln!("error: {}: {e}", safe(&program.to_string_lossy()));
    if e.kind() == std::io::ErrorKind::NotFound {
        NOT_FOUND
    } else {
        CANNOT_RUN
    }
}

/// `$XDG_RUNTIME_DIR`, which must be ours and closed to others: the token file goes there.
fn runtime_dir() -> Result<PathBuf, Failure> {
    ca_core::paths::runtime_dir("--keep-fresh").map_err(|e| {
        output::report(&e);
        Failure::Reported(FAILED)
    })
}

/// The token file: 0600, replaced whole by rename (a reader never sees half a token), and gone
/// when this value drops.
struct TokenFile {
    path: PathBuf,
}

impl TokenFile {
    fn create(dir: &Path, token: &SecretString) -> std::io::Result<Self> {
        let path = dir.join(format!(
            "connected-accounts-exec-{}-{}.token",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        let file = Self { path };
        file.write(token)?;
        Ok(file)
    }

    fn write(&self, token: &SecretString) -> std::io::Result<()> {
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(".new");
        let tmp = PathBuf::from(tmp);
        let _ = std::fs::remove_file(&tmp);
        let result = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .and_then(|mut f| {
                f.write_all(token.expose().as_bytes())?;
                f.sync_all()
            })
            .and_then(|()| std::fs::rename(&tmp, &self.path));
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }
}

impl Drop for TokenFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The file variable for each token variable: `GH_TOKEN` → `GH_TOKEN_FILE`.
fn file_var(name: &str) -> String {
    format!("{name}_FILE")
}

#[allow(clippy::too_many_arguments)]
async fn keep_fresh(
    engine: &Engine,
    command: std::process::Command,
    names: &[String],
    token: ToolToken,
    dir: &Path,
    account: &str,
    reader: &Consumer,
    detail: &str,
    cleared: &Clearance,
) -> Result<Next, Failure> {
    let file = TokenFile::create(dir, &token.access_token)
        .map_err(|e| fail(&format!("--keep-fresh could not write its token file: {e}")))?;
    let program = command.get_program().to_owned();
    let mut command = tokio::process::Command::from(command);
    for n in names {
        command.env(file_var(n), &file.path);
    }
    // Handlers first, so that no signal between spawn and select is lost. INT is only watched:
    // the terminal sent it to the program too, and the program decides what it means.
    let mut signals = Vec::new();
    for (kind, number) in [
        (SignalKind::terminate(), libc::SIGTERM),
        (SignalKind::hangup(), libc::SIGHUP),
        (SignalKind::user_defined1(), libc::SIGUSR1),
        (SignalKind::user_defined2(), libc::SIGUSR2),
        (SignalKind::interrupt(), libc::SIGINT),
    ] {
        let stream = signal(kind).map_err(|e| fail(&format!("cannot watch signals: {e}")))?;
        signals.push((stream, number));
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return Err(Failure::Reported(exec_failed(&program, &e))),
    };
    let pid = child.id().map(|p| p as libc::pid_t);
    let mut renew_at = token.renew_at_ms;
    drop(token);
    let mut warned = false;
    let status = loop {
        let renew_in = renew_at
            .map(|at| Duration::from_millis((at - ca_core::db::now_ms()).max(1_000) as u64))
            .unwrap_or(Duration::from_secs(365 * 24 * 3600));
        let [term, hup, usr1, usr2, int] = &mut signals[..] else {
            unreachable!("five signals are watched")
        };
        tokio::select! {
            status = child.wait() => break status,
            Some(()) = term.0.recv() => forward(pid, term.1),
            Some(()) = hup.0.recv() => forward(pid, hup.1),
            Some(()) = usr1.0.recv() => forward(pid, usr1.1),
            Some(()) = usr2.0.recv() => forward(pid, usr2.1),
            Some(()) = int.0.recv() => {}
            () = tokio::time::sleep(renew_in) => {
                let renewed = async {
                    // A policy tightened to `deny` while the program runs ends its renewals
                    // (`ask` was answered for this run).
                    engine.clear_read(account, reader, detail).await?;
                    engine.token_for_tool(account, reader, detail, EXEC_VALIDITY, cleared).await
                };
                match renewed.await {
                    Ok(next) => {
                        if let Err(e) = file.write(&next.access_token) {
                            eprintln!("warning: could not rewrite the token file: {e}");
                        }
                        renew_at = next.renew_at_ms;
                        warned = false;
                    }
                    Err(e) => {
                        if !warned {
                            eprintln!("warning: could not renew the token; the file keeps the old one until it expires");
                            output::report(&e);
                            warned = true;
                        }
                        renew_at = Some(ca_core::db::now_ms() + 30_000);
                    }
                }
            }
        }
    };
    drop(file);
    let status = status.map_err(|e| fail(&format!("lost track of the program: {e}")))?;
    Ok(match (status.code(), status.signal()) {
        (Some(code), _) => Next::Exit(code as u8),
        (None, Some(sig)) => Next::Raise(sig),
        (None, None) => Next::Exit(FAILED),
    })
}

fn forward(pid: Option<libc::pid_t>, signal: libc::c_int) {
    if let Some(pid) = pid {
        // SAFETY: kill has no memory effects; a child that is already gone gives ESRCH.
        unsafe { libc::kill(pid, signal) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_are_accepted() {
        for name in ["GH_TOKEN", "OAUTH_ACCESS_TOKEN", "_T", "token2"] {
            assert_eq!(refused_name(name), None, "{name}");
        }
    }

    #[test]
    fn names_that_change_what_runs_are_refused() {
        for name in [
            "PATH",
            "path",
            "LD_PRELOAD",
            "LD_LIBRARY_PATH",
            "DYLD_INSERT_LIBRARIES",
            "BASH_ENV",
            "IFS",
            "PYTHONSTARTUP",
            "NODE_OPTIONS",
            "GIT_ASKPASS",
            "PERL5OPT",
            "HOME",
        ] {
            assert!(
                refused_name(name).unwrap().contains("must not go there"),
                "{name}"
            );
        }
        for name in ["", "1X", "A-B", "A B", "A=B", "É"] {
            assert!(
                refused_name(name).unwrap().contains("plain variable name"),
                "{name:?}"
            );
        }
    }

    #[test]
    fn programs_are_found_as_execvp_finds_them() {
        let dir = std::env::temp_dir().join(format!("ca-exec-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let plain = dir.join("plain");
        std::fs::write(&plain, "").unwrap();
        let path = Some(OsString::from(format!("{}:/usr/bin:/bin", dir.display())));
        assert_eq!(
            find_program("sh".as_ref(), path.clone()).ok(),
            Some("/usr/bin/sh".into())
        );
        let code = |r: Result<PathBuf, Failure>| match r {
            Err(Failure::Reported(c)) => c,
            _ => 0,
        };
        assert_eq!(
            code(find_program("no-such-program".as_ref(), path.clone())),
            NOT_FOUND
        );
        assert_eq!(
            code(find_program("plain".as_ref(), path.clone())),
            CANNOT_RUN
        );
        assert_eq!(code(find_program(plain.as_os_str(), None)), CANNOT_RUN);
        assert_eq!(code(find_program(dir.as_os_str(), None)), CANNOT_RUN);
        assert_eq!(code(find_program("/no/such".as_ref(), None)), NOT_FOUND);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
