//! Start at login: an XDG autostart entry (`$XDG_CONFIG_HOME/autostart/connected-accounts.desktop`)
//! that starts the app resident, with no window. The entry's presence is the setting, so one the
//! person removed, or switched off in their desktop's startup settings (`Hidden=true`), reads as
//! off. Offered for the default profile only: a demo has no business starting at login.
//!
//! Written here rather than through tauri-plugin-autostart: its Linux backend (auto-launch) always
//! writes under `~/.config`, ignoring `XDG_CONFIG_HOME`, which the autostart spec names.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::paths::{Paths, APP_NAME};

/// The argument that makes a start resident (the tray item only).
pub const RESIDENT_ARG: &str = "--resident";

#[derive(Debug, Clone)]
pub struct Autostart {
    entry: PathBuf,
}

impl Autostart {
    /// Where this profile's entry lives; None where start at login is not offered (another
    /// profile, or a platform without XDG autostart).
    pub fn for_paths(paths: &Paths) -> Option<Self> {
        if !cfg!(target_os = "linux") || paths.profile().is_some() {
            return None;
        }
        // config_dir is `$XDG_CONFIG_HOME/connected-accounts`: the autostart folder is beside it.
        let config = paths.config_dir.parent()?;
        Some(Self {
            entry: config.join("autostart").join(format!("{APP_NAME}.desktop")),
        })
    }

    pub fn entry_path(&self) -> &Path {
        &self.entry
    }

    /// The entry is there and not switched off by the desktop.
    pub fn is_enabled(&self) -> bool {
        let Ok(text) = std::fs::read_to_string(&self.entry) else {
            return false;
        };
        !text.lines().map(str::trim).any(|line| {
            line.eq_ignore_ascii_case("Hidden=true")
                || line.eq_ignore_ascii_case("X-GNOME-Autostart-enabled=false")
        })
    }

    /// Writes the entry for `exe` (the running app), replacing any earlier one in one step.
    pub fn enable(&self, exe: &Path) -> Result<()> {
        let text = entry_text(exe)?;
        let folder = self.entry.parent().expect("the entry has a folder");
        let failed = |e: std::io::Error| {
            Error::storage(
                format!("cannot write {}", self.entry.display()),
                "check that your configuration folder is writable",
                e,
            )
        };
        std::fs::create_dir_all(folder).map_err(failed)?;
        let partial = folder.join(format!(".{APP_NAME}.desktop.partial"));
        std::fs::write(&partial, text).map_err(failed)?;
        std::fs::rename(&partial, &self.entry).map_err(|e| {
            let _ = std::fs::remove_file(&partial);
            failed(e)
        })
    }

    /// Removes the entry; true if there was one.
    pub fn disable(&self) -> Result<bool> {
        match std::fs::remove_file(&self.entry) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::storage(
                format!("cannot remove {}", self.entry.display()),
                "remove it yourself, or check that your configuration folder is writable",
                e,
            )),
        }
    }
}

/// The path of the running executable, as a launcher should start it. After a package upgrade
/// replaced the binary, Linux reports the old one as "PATH (deleted)": the new one is at PATH.
pub fn current_exe() -> Result<PathBuf> {
    let exe = std::env::current_exe().map_err(|e| {
        Error::storage(
            "cannot tell where this program is installed",
            "start it from its installed location",
            e,
        )
    })?;
    let text = exe.to_string_lossy();
    Ok(match text.strip_suffix(" (deleted)") {
        Some(path) => PathBuf::from(path),
        None => exe,
    })
}

/// The entry's text. The desktop-entry spec quotes an Exec argument in double quotes when it holds
/// a reserved character, escapes `"`, `` ` ``, `$` and `\` inside them, then escapes the whole
/// value as a string (`\` again, and `%` as `%%` for field codes).
fn entry_text(exe: &Path) -> Result<String> {
    let path = exe
        .to_str()
        .filter(|p| exe.is_absolute() && !p.chars().any(char::is_control))
        .ok_or_else(|| {
            Error::invalid_input(
                format!(
                    "cannot start at login from {}: a login entry needs an absolute path in UTF-8 with no control characters",
                    exe.display()
                ),
                "install the app in a folder with a plain name",
            )
        })?;
    Ok(format!(
        "[Desktop Entry]\n\
         Type=Application\n\
         Name=Connected Accounts\n\
         Comment=Keeps your connected accounts signed in, from the tray\n\
         Icon=connected-accounts-app\n\
         TryExec={}\n\
         Exec={} {RESIDENT_ARG}\n\
         Terminal=false\n\
         NoDisplay=true\n\
         X-GNOME-Autostart-enabled=true\n",
        escape_string(path),
        escape_string(&quote_argument(path)).replace('%', "%%"),
    ))
}

fn quote_argument(arg: &str) -> String {
    const RESERVED: &str = " \t\n\"'\\><~|&;$*?#()`";
    if !arg.is_empty() && !arg.chars().any(|c| RESERVED.contains(c)) {
        return arg.to_string();
    }
    let mut quoted = String::from("\"");
    for c in arg.chars() {
        if matches!(c, '"' | '`' | '$' | '\\') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

fn escape_string(value: &str) -> String {
    value.replace('\\', "\\\\")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(root: &Path) -> Autostart {
        Autostart::for_paths(&Paths::rooted(root, APP_NAME)).unwrap()
    }

    #[test]
    fn the_entry_is_beside_the_config_folder_and_only_for_the_default_profile() {
        let root = Path::new("/home/u");
        assert_eq!(
            at(root).entry_path(),
            Path::new("/home/u/config/autostart/connected-accounts.desktop")
        );
        assert!(Autostart::for_paths(&Paths::rooted(root, "connected-accounts-demo")).is_none());
    }

    #[test]
    fn enabled_is_the_entry_unless_the_desktop_switched_it_off() {
        let dir = crate::db::scratch::dir("autostart");
        let a = at(&dir.0);
        assert!(!a.is_enabled());
        a.enable(Path::new("/usr/bin/connected-accounts-app"))
            .unwrap();
        assert!(a.is_enabled());
        let text = std::fs::read_to_string(a.entry_path()).unwrap();
        assert!(text.contains("\nExec=/usr/bin/connected-accounts-app --resident\n"));
        assert!(text.contains("\nTryExec=/usr/bin/connected-accounts-app\n"));

        std::fs::write(a.entry_path(), format!("{text}Hidden=true\n")).unwrap();
        assert!(
            !a.is_enabled(),
            "switched off in the desktop's startup settings"
        );
        a.enable(Path::new("/usr/bin/connected-accounts-app"))
            .unwrap();
        assert!(a.is_enabled(), "switching it on again writes a fresh entry");

        assert!(a.disable().unwrap());
        assert!(!a.is_enabled());
        assert!(!a.disable().unwrap(), "nothing left to remove");
        let left: Vec<_> = std::fs::read_dir(a.entry_path().parent().unwrap())
            .unwrap()
            .collect();
        assert!(left.is_empty(), "no partial file left behind: {left:?}");
    }

    #[test]
    fn an_exec_path_with_reserved_characters_is_quoted_and_escaped() {
        let text = entry_text(Path::new("/opt/My Apps/100%/a$b\\c")).unwrap();
        assert!(
            text.contains("\nExec=\"/opt/My Apps/100%%/a\\\\$b\\\\\\\\c\" --resident\n"),
            "{text}"
        );
        assert!(
            text.contains("\nTryExec=/opt/My Apps/100%/a$b\\\\c\n"),
            "{text}"
        );
    }

    #[test]
    fn a_path_a_launcher_could_not_start_is_refused() {
        for bad in ["relative/app", "/opt/line\nbreak/app"] {
            let e = entry_text(Path::new(bad)).unwrap_err();
            assert!(e.message.contains("absolute path"), "{}", e.message);
        }
    }
}
