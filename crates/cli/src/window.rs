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

/// Starts the window and returns at once.
pub fn start() -> Result<(), Error> {
    let path = find().ok_or_else(|| {
        Error::new(ErrorKind::NotFound, "the Connected Accounts window is not installed")
            .hint(format!("install the app package, or put {WINDOW_BINARY} on your PATH; run `connected-accounts --help` for the commands"))
    })?;
    // Not waited for: the window outlives this command.
    Command::new(&path)
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| {
            Error::new(
                ErrorKind::Internal,
                format!("cannot start {}", path.display()),
            )
            .cause(e)
        })?;
    Ok(())
}
