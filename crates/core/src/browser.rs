//! Opens the user's browser on a URL the core built: `$BROWSER` if set (as gh does), else the
//! system opener. Never waits for the browser: it may return at once (xdg-open) or never.

use std::process::{Command, Stdio};

use crate::error::{Error, ErrorKind, Result};

/// The command line to run for `url`: `$BROWSER` split into words (a program and its arguments,
/// never given to a shell), an argument that is exactly `%s` replaced by the URL (or the URL
/// appended), or the platform's opener.
pub fn command_for(url: &str, browser_env: Option<&str>) -> Result<Vec<String>> {
    match browser_env.map(str::trim).filter(|b| !b.is_empty()) {
        Some(browser) => {
            let mut words = shell_words::split(browser).map_err(|e| {
                Error::invalid_input(
                    format!("$BROWSER ({browser:?}) cannot be parsed: {e}"),
                    "set BROWSER to a command, e.g. BROWSER=firefox or BROWSER='firefox --new-window %s'",
                )
            })?;
            // `%s` inside a larger word is how a shell string carries the URL
            // (`sh -c 'firefox %s'`), and a shell would then run what the URL spells.
            if let Some(w) = words.iter().find(|w| w.contains("%s") && *w != "%s") {
                return Err(Error::invalid_input(
                    format!("$BROWSER puts %s inside the argument {w:?}"),
                    "BROWSER is a program with arguments, not a shell string: give %s as an \
                     argument of its own (BROWSER='firefox --new-window %s'), or leave it out \
                     and the address is added at the end",
                ));
            }
            if words.iter().any(|w| w == "%s") {
                for w in &mut words {
                    if w == "%s" {
                        *w = url.to_string();
                    }
                }
            } else {
                words.push(url.to_string());
            }
            Ok(words)
        }
        None => Ok(system_opener(url)),
    }
}

fn system_opener(url: &str) -> Vec<String> {
    let words: &[&str] = if cfg!(target_os = "macos") {
        &["open"]
    } else if cfg!(target_os = "windows") {
        &["rundll32", "url.dll,FileProtocolHandler"]
    } else {
        &["xdg-open"]
    };
    words
        .iter()
        .map(|s| s.to_string())
        .chain([url.to_string()])
        .collect()
}

/// Whether a browser can be opened on this machine, and why (not).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BrowserHere {
    /// `$BROWSER` names the command.
    Browser { command: String },
    /// A desktop session: the system's opener (xdg-open, open, start).
    Desktop,
    /// No display: neither `DISPLAY` nor `WAYLAND_DISPLAY` is set.
    NoDisplay,
    /// An SSH session: a browser would open on the far machine's display, if at all.
    Ssh,
}

impl BrowserHere {
    pub fn can_open(&self) -> bool {
        matches!(self, Self::Browser { .. } | Self::Desktop)
    }
}

/// What this process's environment says about opening a browser.
pub fn here() -> BrowserHere {
    here_in(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
}

fn here_in(var: impl Fn(&str) -> Option<String>) -> BrowserHere {
    if let Some(command) = var("BROWSER") {
        return BrowserHere::Browser { command };
    }
    if var("SSH_CONNECTION").is_some() || var("SSH_TTY").is_some() {
        return BrowserHere::Ssh;
    }
    let always = cfg!(any(target_os = "macos", target_os = "windows"));
    if always || var("DISPLAY").is_some() || var("WAYLAND_DISPLAY").is_some() {
        BrowserHere::Desktop
    } else {
        BrowserHere::NoDisplay
    }
}

/// Starts the browser on `url` (http or https only) and returns without waiting for it.
pub fn open(url: &str) -> Result<()> {
    let parsed =
        url::Url::parse(url).map_err(|_| Error::internal("refused to open a malformed URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::internal("refused to open a URL that is not http(s)"));
    }
    let browser = std::env::var("BROWSER").ok();
    let words = command_for(url, browser.as_deref())?;
    let (program, args) = words.split_first().expect("a command has a program");
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    #[cfg(unix)]
    if let Some(mask) = crate::paths::inherited_umask() {
        use std::os::unix::process::CommandExt;
        // SAFETY: umask is async-signal-safe, as a pre_exec hook must be.
        unsafe {
            command.pre_exec(move || {
                libc::umask(mask);
                Ok(())
            });
        }
    }
    let child = command.spawn().map_err(|e| {
        Error::new(
            ErrorKind::Internal,
            format!("cannot start the browser ({program})"),
        )
        .hint("open the address shown yourself, or set BROWSER to your browser's command")
        .cause(e)
    })?;
    // Reap it whenever it ends, without waiting here.
    std::thread::spawn(move || {
        let mut child = child;
        let _ = child.wait();
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_browser_is_there_with_browser_or_a_local_display() {
        let with = |vars: &'static [(&'static str, &'static str)]| {
            here_in(move |name| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            })
        };
        assert_eq!(
            with(&[("BROWSER", "firefox")]),
            BrowserHere::Browser {
                command: "firefox".into()
            }
        );
        assert!(with(&[("BROWSER", "w3m"), ("SSH_TTY", "/dev/pts/1")]).can_open());
        if cfg!(target_os = "linux") {
            assert_eq!(with(&[("DISPLAY", ":0")]), BrowserHere::Desktop);
            assert_eq!(
                with(&[("WAYLAND_DISPLAY", "wayland-0")]),
                BrowserHere::Desktop
            );
            assert_eq!(with(&[]), BrowserHere::NoDisplay);
        }
        assert_eq!(
            with(&[("DISPLAY", ":10"), ("SSH_CONNECTION", "1 2 3 4")]),
            BrowserHere::Ssh
        );
        assert!(!BrowserHere::Ssh.can_open() && !BrowserHere::NoDisplay.can_open());
    }

    const URL: &str = "https://id.example.com/auth?a=1&b=2";

    #[test]
    fn browser_env_gets_the_url_appended() {
        assert_eq!(
            command_for(URL, Some("firefox --new-window")).unwrap(),
            vec!["firefox", "--new-window", URL]
        );
    }

    #[test]
    fn percent_s_is_replaced_when_it_is_a_whole_argument() {
        assert_eq!(
            command_for(URL, Some("'/opt/my browser/run' --url %s --x")).unwrap(),
            vec!["/opt/my browser/run", "--url", URL, "--x"]
        );
    }

    #[test]
    fn percent_s_inside_a_word_is_refused_as_a_shell_string() {
        let hostile = "https://id.example.com/auth?x=$(touch /tmp/pwned)&y=`id`;'";
        for browser in [
            "sh -c 'firefox %s'",
            "firefox --url=%s",
            "sh -c \"open '%s'\"",
        ] {
            let e = command_for(hostile, Some(browser)).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidInput, "{browser}");
            assert!(e.message.contains("%s"), "{}", e.message);
            assert!(e.hint.unwrap().contains("not a shell string"));
        }
    }

    #[test]
    fn empty_browser_env_falls_back_to_the_system_opener() {
        let cmd = command_for(URL, Some("  ")).unwrap();
        assert_eq!(cmd.last().unwrap(), URL);
        assert!(cmd.len() >= 2);
    }

    #[test]
    fn unparsable_browser_env_is_a_clear_error() {
        let e = command_for(URL, Some("firefox 'unclosed")).unwrap_err();
        assert!(e.message.contains("$BROWSER"));
    }

    #[test]
    fn only_http_urls_are_opened() {
        assert!(open("file:///etc/passwd").is_err());
        assert!(open("javascript:alert(1)").is_err());
    }
}
