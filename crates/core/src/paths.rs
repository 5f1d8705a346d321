//! Where the app keeps its files: XDG data (SQLite), state (logs, locks) and config dirs, per profile.
//!
//! `XDG_DATA_HOME`, `XDG_STATE_HOME` and `XDG_CONFIG_HOME` are honoured so tests and the demo
//! isolate themselves; a profile (`CONNECTED_ACCOUNTS_PROFILE=demo`) gets its own folders and its
//! own keychain namespace, so the demo never mixes with a person's real accounts.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The name every folder and keychain entry of the default profile carries.
pub const APP_NAME: &str = "connected-accounts";
/// Environment variable that selects a profile (e.g. `demo`).
pub const PROFILE_ENV: &str = "CONNECTED_ACCOUNTS_PROFILE";

#[derive(Debug, Clone)]
pub struct Paths {
    /// `connected-accounts` or `connected-accounts-<profile>`.
    pub namespace: String,
    pub data_dir: PathBuf,
    pub state_dir: PathBuf,
    pub config_dir: PathBuf,
}

impl Paths {
    /// Paths for the profile named in the environment (none = the default profile).
    pub fn from_env() -> Result<Self> {
        let profile = std::env::var(PROFILE_ENV).ok().filter(|p| !p.is_empty());
        Self::for_profile(profile.as_deref())
    }

    pub fn for_profile(profile: Option<&str>) -> Result<Self> {
        let namespace = match profile {
            None => APP_NAME.to_string(),
            Some(p) if is_valid_profile(p) => format!("{APP_NAME}-{p}"),
            Some(p) => {
                return Err(Error::invalid_input(
                    format!("the profile name {p:?} is not valid"),
                    "use lower-case letters, digits and '-' only (for example: demo)",
                ))
            }
        };
        let home_missing = || {
            Error::invalid_input(
                "cannot find the home folder to keep the app's data in",
                "set HOME (or XDG_DATA_HOME and XDG_STATE_HOME)",
            )
        };
        let data = xdg_dir("XDG_DATA_HOME", dirs::data_dir).ok_or_else(home_missing)?;
        let state = xdg_dir("XDG_STATE_HOME", dirs::state_dir)
            .or_else(dirs::data_local_dir)
            .ok_or_else(home_missing)?;
        let config = xdg_dir("XDG_CONFIG_HOME", dirs::config_dir).ok_or_else(home_missing)?;
        Ok(Self {
            data_dir: data.join(&namespace),
            state_dir: state.join(&namespace),
            config_dir: config.join(&namespace),
            namespace,
        })
    }

    /// The profile's name (`demo`), or None for the default profile.
    pub fn profile(&self) -> Option<&str> {
        self.namespace
            .strip_prefix(APP_NAME)
            .and_then(|rest| rest.strip_prefix('-'))
    }

    /// All folders under one root (tests and embedders that manage their own storage).
    pub fn rooted(root: &Path, namespace: &str) -> Self {
        Self {
            data_dir: root.join("data").join(namespace),
            state_dir: root.join("state").join(namespace),
            config_dir: root.join("config").join(namespace),
            namespace: namespace.to_string(),
        }
    }

    pub fn database_file(&self) -> PathBuf {
        self.data_dir.join("accounts.sqlite3")
    }

    pub fn log_dir(&self) -> PathBuf {
        self.state_dir.join("logs")
    }

    pub fn lock_dir(&self) -> PathBuf {
        self.state_dir.join("locks")
    }

    /// Creates the folders (private to the user) if they are missing.
    pub fn ensure(&self) -> Result<()> {
        private_file_modes();
        for dir in [&self.data_dir, &self.log_dir(), &self.lock_dir()] {
            create_private_dir(dir)?;
        }
        // Files an older version left readable by others (0644) are made private too.
        for dir in [&self.data_dir, &self.state_dir] {
            make_private(dir);
        }
        Ok(())
    }
}

/// `$XDG_RUNTIME_DIR`, which must be set, be a folder of this user's and be closed to others
/// (0700): token files and the approvals socket go there. `what` names the use in the message.
#[cfg(unix)]
pub fn runtime_dir(what: &str) -> Result<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) else {
        return Err(Error::invalid_input(
            format!("{what} needs $XDG_RUNTIME_DIR, which is not set here"),
            "log in through a desktop or `loginctl` session, which sets it",
        ));
    };
    let dir = PathBuf::from(dir);
    let shown = crate::text::for_terminal(&dir.to_string_lossy()).into_owned();
    let meta = std::fs::symlink_metadata(&dir).map_err(|e| {
        Error::invalid_input(
            format!("{what}: $XDG_RUNTIME_DIR ({shown}) cannot be used: {e}"),
            "it must be a folder of yours that only you can open (mode 0700)",
        )
    })?;
    // SAFETY: getuid cannot fail.
    let uid = unsafe { libc::getuid() };
    if !meta.is_dir() || meta.uid() != uid || meta.mode() & 0o077 != 0 {
        return Err(Error::invalid_input(
            format!(
                "{what}: $XDG_RUNTIME_DIR ({shown}) must be a folder of yours that only you can open (mode 0700)"
            ),
            "fix its owner and mode, or log in again so the system makes it anew",
        ));
    }
    Ok(dir)
}

fn is_valid_profile(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 32
        && p.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// An absolute XDG variable wins (the spec says relative values are to be ignored); else the
/// platform default.
fn xdg_dir(var: &str, fallback: fn() -> Option<PathBuf>) -> Option<PathBuf> {
    match std::env::var_os(var).map(PathBuf::from) {
        Some(p) if p.is_absolute() => Some(p),
        _ => fallback(),
    }
}

/// The process's file-creation mask before [`private_file_modes`] (for programs it starts).
#[cfg(unix)]
static INHERITED_UMASK: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(u32::MAX);

/// Everything this process creates (database, its journal, logs, lock files) is for this user
/// only: 0600 files, 0700 folders. Programs it starts get the mask it was started with back
/// ([`inherited_umask`]).
pub fn private_file_modes() {
    #[cfg(unix)]
    {
        use std::sync::atomic::Ordering;
        // SAFETY: umask has no preconditions and cannot fail.
        let old = unsafe { libc::umask(0o077) };
        let _ = INHERITED_UMASK.compare_exchange(
            u32::MAX,
            old as u32,
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
    }
}

/// The mask this process was started with, for a program it starts (a browser's downloads are
/// none of our business).
#[cfg(unix)]
pub fn inherited_umask() -> Option<libc::mode_t> {
    let m = INHERITED_UMASK.load(std::sync::atomic::Ordering::SeqCst);
    (m != u32::MAX).then_some(m as libc::mode_t)
}

/// Removes group and other access from every file and folder under `dir`.
fn make_private(dir: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in entries.flatten() {
                let (path, Ok(meta)) = (e.path(), e.metadata()) else {
                    continue;
                };
                let mode = meta.permissions().mode();
                if meta.is_dir() {
                    stack.push(path.clone());
                }
                if mode & 0o077 != 0 {
                    let private = if meta.is_dir() { 0o700 } else { mode & 0o700 };
                    let _ =
                        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(private));
                }
            }
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
}

fn create_private_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| {
        Error::storage(
            format!("cannot create the folder {}", dir.display()),
            "check that the disk is writable and not full",
            e,
        )
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_names_are_checked() {
        assert!(is_valid_profile("demo"));
        assert!(is_valid_profile("e2e-1"));
        assert!(!is_valid_profile("../x"));
        assert!(!is_valid_profile("Demo"));
        assert!(!is_valid_profile(""));
        assert!(Paths::for_profile(Some("a/b")).is_err());
    }

    #[test]
    fn profile_gets_its_own_namespace() {
        let p = Paths::for_profile(Some("demo")).unwrap();
        assert_eq!(p.namespace, "connected-accounts-demo");
        assert!(p.data_dir.ends_with("connected-accounts-demo"));
        assert_eq!(p.profile(), Some("demo"));
        let d = Paths::for_profile(None).unwrap();
        assert_eq!(d.namespace, "connected-accounts");
        assert_eq!(d.profile(), None);
    }
}
