//! Who reads a token: the local program on the other side of `token`, `exec` or the git helper,
//! as the system knows it (never as the caller describes itself). Recorded in the audit log.

use serde::Serialize;
use ts_rs::TS;

/// The door a token left through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ReadKind {
    /// `connected-accounts token`
    Token,
    /// `connected-accounts exec`
    Exec,
    /// `connected-accounts git-credential get`
    GitCredential,
    /// The test call to the provider's user endpoint (the window's Test button, `test`): the
    /// token goes only to the provider, but it is a read all the same.
    Test,
    /// `connected-accounts request`: a call to the account's API the app makes for a program
    /// (the token stays in the app, but the program acts with it).
    Request,
}

impl ReadKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::Exec => "exec",
            Self::GitCredential => "git_credential",
            Self::Test => "test",
            Self::Request => "request",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Token,
            Self::Exec,
            Self::GitCredential,
            Self::Test,
            Self::Request,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// The program gets the token itself (not a call the app makes for it).
    pub fn hands_out_token(self) -> bool {
        matches!(self, Self::Token | Self::Exec | Self::GitCredential)
    }
}

/// The program that asked, read from `/proc` (Linux). Fields the system does not show (another
/// OS, a process that already exited) are `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Consumer {
    pub kind: ReadKind,
    pub pid: Option<u32>,
    /// The asking program's executable.
    pub exe: Option<String>,
    /// The executable of the program that started it (the shell, the IDE).
    pub parent_exe: Option<String>,
    /// Its working directory.
    pub cwd: Option<String>,
    /// Its terminal, if it has one.
    pub tty: Option<String>,
}

impl Consumer {
    /// The process that started this one: for the command line, the shell, git or the script
    /// that ran it (the command line itself is not the consumer).
    #[cfg(unix)]
    pub fn calling_process(kind: ReadKind) -> Self {
        Self::of_pid(kind, std::os::unix::process::parent_id())
    }

    #[cfg(not(unix))]
    pub fn calling_process(kind: ReadKind) -> Self {
        Self {
            pid: None,
            ..Self::of_pid(kind, 0)
        }
    }

    /// Like [`Consumer::calling_process`], looking through the `sh -c` that git runs its
    /// credential helpers with: the consumer is git, not that shell.
    pub fn calling_process_through_shell(kind: ReadKind) -> Self {
        let caller = Self::calling_process(kind);
        #[cfg(target_os = "linux")]
        if caller.exe.as_deref().is_some_and(is_shell) {
            if let Some(stat) = caller.pid.and_then(Stat::read) {
                return Self::of_pid(kind, stat.ppid);
            }
        }
        caller
    }

    /// This process (the window's own calls).
    pub fn this_process(kind: ReadKind) -> Self {
        Self::of_pid(kind, std::process::id())
    }

    #[cfg(target_os = "linux")]
    pub fn of_pid(kind: ReadKind, pid: u32) -> Self {
        let proc = format!("/proc/{pid}");
        let link = |name: &str| {
            std::fs::read_link(format!("{proc}/{name}"))
                .ok()
                .map(|p| p.to_string_lossy().into_owned())
        };
        let stat = Stat::read(pid);
        Self {
            kind,
            pid: Some(pid),
            exe: link("exe"),
            parent_exe: stat.as_ref().and_then(|s| {
                std::fs::read_link(format!("/proc/{}/exe", s.ppid))
                    .ok()
                    .map(|p| p.to_string_lossy().into_owned())
            }),
            cwd: link("cwd"),
            tty: stat.and_then(|s| terminal(pid, s.tty_nr)),
        }
    }

    #[cfg(not(target_os = "linux"))]
    pub fn of_pid(kind: ReadKind, pid: u32) -> Self {
        Self {
            kind,
            pid: Some(pid),
            exe: None,
            parent_exe: None,
            cwd: None,
            tty: None,
        }
    }
}

/// A process as the approvals see it: read by the app from `/proc`, never from the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    pub pid: u32,
    pub exe: Option<String>,
    /// Its session (the terminal's shell, or the desktop session's leader).
    pub session: Option<u32>,
    pub parent: Option<u32>,
}

impl Process {
    #[cfg(target_os = "linux")]
    pub fn of(pid: u32) -> Self {
        let stat = Stat::read(pid);
        Self {
            pid,
            exe: std::fs::read_link(format!("/proc/{pid}/exe"))
                .ok()
                .map(|p| p.to_string_lossy().into_owned()),
            session: stat.as_ref().map(|s| s.session),
            parent: stat.map(|s| s.ppid).filter(|&p| p != 0),
        }
    }

    #[cfg(not(target_os = "linux"))]
    pub fn of(pid: u32) -> Self {
        Self {
            pid,
            exe: None,
            session: None,
            parent: None,
        }
    }

    /// Whether it is a shell, which the git helper is run through (`sh -c`).
    pub fn is_shell(&self) -> bool {
        #[cfg(target_os = "linux")]
        {
            self.exe.as_deref().is_some_and(is_shell)
        }
        #[cfg(not(target_os = "linux"))]
        {
            false
        }
    }

    /// Its parents' executables, nearest first: up to and including its session's leader and
    /// the program that started that leader (a terminal, an IDE), at most `MAX_CHAIN` of them.
    /// `git ← bash ← gnome-terminal-server` is `[bash, gnome-terminal-server]` for git.
    pub fn parents(&self) -> Vec<String> {
        const MAX_CHAIN: usize = 8;
        let mut chain = Vec::new();
        let mut next = self.parent;
        let mut past_leader = false;
        while let Some(pid) = next.filter(|&p| p > 1) {
            if chain.len() == MAX_CHAIN {
                break;
            }
            let p = Self::of(pid);
            chain.push(p.exe.clone().unwrap_or_else(|| format!("pid {pid}")));
            if past_leader {
                break;
            }
            past_leader = p.session == Some(p.pid);
            next = p.parent;
        }
        chain
    }
}

#[cfg(target_os = "linux")]
fn is_shell(exe: &str) -> bool {
    let name = exe.rsplit('/').next().unwrap_or(exe);
    matches!(
        name,
        "sh" | "dash" | "bash" | "zsh" | "ksh" | "mksh" | "busybox"
    )
}

#[cfg(target_os = "linux")]
struct Stat {
    ppid: u32,
    session: u32,
    tty_nr: u32,
}

#[cfg(target_os = "linux")]
impl Stat {
    fn read(pid: u32) -> Option<Self> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The command name may hold spaces and parentheses: fields start after the last `)`.
        let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split(' ').collect();
        // state ppid pgrp session tty_nr ...
        Some(Self {
            ppid: fields.get(1)?.parse().ok()?,
            session: fields.get(3)?.parse().ok()?,
            tty_nr: fields.get(4)?.parse().ok()?,
        })
    }
}

/// The controlling terminal's device path: from an open standard stream when one is the
/// terminal, else decoded from its device number (pseudo-terminals, majors 136–143).
#[cfg(target_os = "linux")]
fn terminal(pid: u32, tty_nr: u32) -> Option<String> {
    if tty_nr == 0 {
        return None;
    }
    for fd in 0..3 {
        if let Ok(p) = std::fs::read_link(format!("/proc/{pid}/fd/{fd}")) {
            let p = p.to_string_lossy();
            if p.starts_with("/dev/pts/") || p.starts_with("/dev/tty") {
                return Some(p.into_owned());
            }
        }
    }
    let major = (tty_nr >> 8) & 0xfff;
    let minor = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00);
    Some(match major {
        136..=143 => format!("/dev/pts/{}", (major - 136) * 256 + minor),
        _ => format!("tty {major}:{minor}"),
    })
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_read_from_proc() {
        let me = Consumer::this_process(ReadKind::Token);
        assert_eq!(me.pid, Some(std::process::id()));
        let exe = std::env::current_exe().unwrap();
        assert_eq!(me.exe.as_deref(), Some(exe.to_str().unwrap()));
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(me.cwd.as_deref(), Some(cwd.to_str().unwrap()));
        assert!(
            me.parent_exe.is_some(),
            "the test runner's parent is visible"
        );
    }

    #[test]
    fn a_process_knows_its_session_and_its_parents_up_to_the_session_leader() {
        let me = Process::of(std::process::id());
        assert_eq!(me.exe, Consumer::this_process(ReadKind::Token).exe);
        assert!(me.session.is_some() && me.parent.is_some());
        // sh (a session leader through setsid) runs sleep: sleep's parents end at sh's parent.
        let mut child = std::process::Command::new("setsid")
            .args(["sh", "-c", "sleep 5; true"])
            .spawn()
            .unwrap();
        let sh = Process::of(child.id());
        let sleep = (0..100)
            .find_map(|_| {
                std::thread::sleep(std::time::Duration::from_millis(20));
                std::fs::read_to_string(format!("/proc/{}/task/{}/children", sh.pid, sh.pid))
                    .ok()
                    .and_then(|c| c.split_whitespace().next()?.parse::<u32>().ok())
            })
            .expect("sh started sleep");
        let chain = Process::of(sleep).parents();
        assert_eq!(chain.len(), 2, "{chain:?}");
        assert!(
            chain[0].ends_with("sh") || chain[0].ends_with("dash") || chain[0].ends_with("bash"),
            "{chain:?}"
        );
        assert_eq!(
            Some(chain[1].clone()),
            me.exe,
            "the leader's parent is this test"
        );
        assert!(Process::of(sleep).session == Some(sh.pid));
        let _ = child.kill();
        let _ = child.wait();
    }

    #[test]
    fn a_process_that_is_gone_has_no_details() {
        let gone = Consumer::of_pid(ReadKind::Exec, u32::MAX - 1);
        assert_eq!((gone.exe, gone.cwd, gone.tty), (None, None, None));
    }

    #[test]
    fn kinds_round_trip() {
        for k in [
            ReadKind::Token,
            ReadKind::Exec,
            ReadKind::GitCredential,
            ReadKind::Test,
        ] {
            assert_eq!(ReadKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(ReadKind::parse("nope"), None);
    }
}
