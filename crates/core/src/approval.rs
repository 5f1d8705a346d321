//! Asking the person before a program reads a token (policy `ask`), and before the command line
//! loosens a policy: the local socket between the command line and the app, who is asking (read
//! by the app from the peer's pid, never taken from the request), and the approvals given.
//!
//! The socket is `$XDG_RUNTIME_DIR/<namespace>.sock`, mode 0600, in a folder that must be 0700.
//! Both ends check the other's uid (`SO_PEERCRED`). One JSON line each way.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
#[cfg(unix)]
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
#[cfg(unix)]
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot, watch};
use ts_rs::TS;

use crate::account;
use crate::audit::{self, AuditKind};
use crate::consumer::Process;
use crate::db::{now_ms, rfc3339};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::paths::Paths;
use crate::policy::{Changer, Policy};

/// How long a question waits for the person.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(60);
/// An approval for a program in a session ends after this long unused…
pub const SESSION_IDLE_MS: i64 = 10 * 60 * 1000;
/// …and after at most this many minutes however it is used.
pub const SESSION_MAX_MINUTES: u32 = 12 * 60;
/// The buttons stay disabled this long after the question shows (against click-jacking).
pub const BUTTONS_ARM_AFTER_MS: u32 = 1_000;
/// How long the command line waits for the app to start and listen.
const START_WITHIN: Duration = Duration::from_secs(20);
const REQUEST_MAX_BYTES: usize = 4096;

/// What a program wants.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Purpose {
    /// A token (`token`, `exec`).
    Token,
    /// Git, for a repository (`git-credential get`).
    Git { host: String, path: String },
    /// The command line asks to loosen the account's policy.
    Loosen { policy: Policy },
}

/// The command line's request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    pub account: String,
    pub purpose: Purpose,
}

/// The app's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum Reply {
    Allowed,
    Denied,
    /// Nobody answered within [`ANSWER_WITHIN`].
    NoAnswer,
    /// The request could not be served (unknown account, another user, a malformed request).
    Refused {
        message: String,
    },
}

/// What the window asks the person, all read by the app itself.
#[derive(Debug, Clone, Serialize, TS)]
pub struct Question {
    pub id: String,
    pub account_id: String,
    pub account_name: String,
    pub provider_name: String,
    pub purpose: Purpose,
    /// The asking program's executable.
    pub program: Option<String>,
    /// Its parents, nearest first, up to its session's leader and what started that.
    pub parents: Vec<String>,
    pub cwd: Option<String>,
    /// Unix ms: the question closes (as "no answer") then.
    pub deadline_ms: i64,
    pub arm_after_ms: u32,
}

/// The person's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Choice {
    Deny,
    Once,
    /// This program, in this session, for up to `minutes` (and 10 minutes unused).
    Session {
        minutes: u32,
    },
    /// Git, for this account, from now on (for IDEs that fetch every few minutes).
    AlwaysGit,
}

/// A question for the face to put, and where its answer goes.
pub struct Pending {
    pub question: Question,
    pub answer: oneshot::Sender<Choice>,
}

/// An approval in force, as the window lists it.
#[derive(Debug, Clone, Serialize, TS)]
pub struct LiveApproval {
    pub id: String,
    pub account_id: String,
    /// The program it is for, or null for "git, always".
    pub program: Option<String>,
    pub always_git: bool,
    /// RFC 3339: when it ends however it is used (null for "always").
    pub ends_at: Option<String>,
    /// RFC 3339: when it ends if unused (null for "always").
    pub idle_ends_at: Option<String>,
}

#[cfg(not(unix))]
pub fn socket_path(_paths: &Paths) -> Result<PathBuf> {
    Err(Error::new(
        ErrorKind::Internal,
        "asking in the window is not available on this platform yet",
    ))
}

/// `$XDG_RUNTIME_DIR/<namespace>.sock`, once the folder is checked.
#[cfg(unix)]
pub fn socket_path(paths: &Paths) -> Result<PathBuf> {
    let dir = crate::paths::runtime_dir("asking in the window")?;
    Ok(dir.join(format!("{}.sock", paths.namespace)))
}

#[cfg(unix)]
fn our_uid() -> u32 {
    // SAFETY: getuid cannot fail.
    unsafe { libc::getuid() }
}

// --- the command line's end --------------------------------------------------------------------

/// Where the app cannot be asked (no local socket yet on this platform), a read under `ask`
/// is refused.
#[cfg(not(unix))]
pub async fn ask(
    _paths: &Paths,
    _request: &Request,
    _start_app: impl FnOnce() -> Result<()>,
) -> Result<Reply> {
    Err(Error::new(
        ErrorKind::Internal,
        "asking in the window is not available on this platform yet",
    ))
}

/// Puts `request` to the app, starting it (resident) with `start_app` if it is not running, and
/// waits for the person's answer.
#[cfg(unix)]
pub async fn ask(
    paths: &Paths,
    request: &Request,
    start_app: impl FnOnce() -> Result<()>,
) -> Result<Reply> {
    let path = socket_path(paths)?;
    let stream = match UnixStream::connect(&path).await {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            start_app()?;
            connect_when_listening(&path).await?
        }
        Err(e) => return Err(cannot_reach(e)),
    };
    let peer = stream.peer_cred().map_err(cannot_reach)?;
    if peer.uid() != our_uid() {
        return Err(Error::new(
            ErrorKind::PolicyRefused,
            format!(
                "the approvals socket {} belongs to another user (uid {}): not asking there",
                path.display(),
                peer.uid()
            ),
        ));
    }
    let (read, mut write) = stream.into_split();
    let mut line = serde_json::to_string(request).expect("a request serializes");
    line.push('\n');
    write
        .write_all(line.as_bytes())
        .await
        .map_err(cannot_reach)?;
    let mut answer = String::new();
    let mut limited = BufReader::new(tokio::io::AsyncReadExt::take(
        read,
        REQUEST_MAX_BYTES as u64,
    ));
    let read = tokio::time::timeout(
        ANSWER_WITHIN + Duration::from_secs(15),
        limited.read_line(&mut answer),
    )
    .await;
    match read {
        Ok(Ok(n)) if n > 0 => serde_json::from_str(&answer).map_err(|e| {
            Error::new(ErrorKind::Internal, "the app's answer could not be read").cause(e)
        }),
        Ok(Ok(_)) => Err(Error::new(
            ErrorKind::Internal,
            "the app closed the question without an answer",
        )),
        Ok(Err(e)) => Err(cannot_reach(e)),
        Err(_) => Ok(Reply::NoAnswer),
    }
}

#[cfg(unix)]
async fn connect_when_listening(path: &Path) -> Result<UnixStream> {
    let started = tokio::time::Instant::now();
    loop {
        match UnixStream::connect(path).await {
            Ok(s) => return Ok(s),
            Err(e) if started.elapsed() >= START_WITHIN => return Err(cannot_reach(e)),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

#[cfg(unix)]
fn cannot_reach(e: std::io::Error) -> Error {
    Error::new(
        ErrorKind::Internal,
        "cannot reach the Connected Accounts app to ask you",
    )
    .cause(e)
}

// --- the app's end -----------------------------------------------------------------------------

struct SessionGrant {
    id: String,
    account_id: String,
    exe: String,
    session: u32,
    /// A grant for git does not clear a plain token read, nor the other way round.
    for_git: bool,
    ends_ms: i64,
    idle_ends_ms: i64,
}

/// Questions open now, by who asks what: a second request waits for the first one's answer.
type OpenKey = (String, Option<String>, Option<u32>, Purpose);

/// The app's end of the socket: who asks, the approvals in force, the questions open.
pub struct Desk {
    engine: Arc<Engine>,
    grants: Mutex<Vec<SessionGrant>>,
    open: Arc<Mutex<HashMap<OpenKey, watch::Receiver<Option<Choice>>>>>,
    to_face: mpsc::Sender<Pending>,
    /// The command line's executable: a request from it is made for its parent.
    cli: Option<PathBuf>,
}

impl Desk {
    /// A desk whose questions the face receives on the returned channel. `cli` is the command
    /// line's executable (installed next to the app).
    pub fn new(engine: Arc<Engine>, cli: Option<PathBuf>) -> (Arc<Self>, mpsc::Receiver<Pending>) {
        let (to_face, questions) = mpsc::channel(16);
        let desk = Arc::new(Self {
            engine,
            grants: Mutex::new(Vec::new()),
            open: Arc::new(Mutex::new(HashMap::new())),
            to_face,
            cli: cli.and_then(|p| p.canonicalize().ok()),
        });
        (desk, questions)
    }

    #[cfg(not(unix))]
    pub async fn listen(self: Arc<Self>, _path: PathBuf) -> Result<()> {
        Err(Error::new(
            ErrorKind::Internal,
            "asking in the window is not available on this platform yet",
        ))
    }

    pub fn engine_paths(&self) -> &Paths {
        self.engine.paths()
    }

    /// Listens on `path` (the profile's [`socket_path`]) until the process ends. A stale socket
    /// file (no app answers on it) is replaced; one that answers means another app listens.
    #[cfg(unix)]
    pub async fn listen(self: Arc<Self>, path: PathBuf) -> Result<()> {
        if UnixStream::connect(&path).await.is_ok() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("another app already listens on {}", path.display()),
            ));
        }
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).map_err(|e| {
            Error::new(
                ErrorKind::Storage,
                format!("cannot listen on {}", path.display()),
            )
            .cause(e)
        })?;
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(
                |e| Error::new(ErrorKind::Storage, "cannot make the socket private").cause(e),
            )?;
        }
        tracing::info!(socket = %path.display(), "listening for approval requests");
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            let desk = self.clone();
            tokio::spawn(async move { desk.serve(stream).await });
        }
    }

    #[cfg(unix)]
    async fn serve(&self, stream: UnixStream) {
        let Ok(peer) = stream.peer_cred() else { return };
        let (read, mut write) = stream.into_split();
        let reply = if peer.uid() != our_uid() {
            let detail = format!(
                "an approval request from uid {} (pid {}) was refused",
                peer.uid(),
                peer.pid().map_or("?".into(), |p| p.to_string())
            );
            audit::record(&self.engine.db, AuditKind::PeerRefused, None, None, &detail).await;
            Reply::Refused {
                message: "this app answers only its own user".into(),
            }
        } else {
            match read_request(read).await {
                Ok(request) => {
                    let pid = peer.pid().and_then(|p| u32::try_from(p).ok());
                    self.decide(request, pid).await
                }
                Err(message) => Reply::Refused { message },
            }
        };
        let mut line = serde_json::to_string(&reply).expect("a reply serializes");
        line.push('\n');
        let _ = write.write_all(line.as_bytes()).await;
    }

    /// The asking program: the command line's parent (through the `sh -c` git runs helpers in),
    /// or the peer itself when it is not our command line.
    fn asker(&self, peer: Option<u32>, purpose: &Purpose) -> Option<Process> {
        let peer = Process::of(peer?);
        let is_cli = self.cli.as_ref().is_some_and(|cli| {
            peer.exe
                .as_deref()
                .is_some_and(|exe| Path::new(exe) == cli.as_path())
        });
        if !is_cli {
            return Some(peer);
        }
        let parent = Process::of(peer.parent?);
        if matches!(purpose, Purpose::Git { .. }) && parent.is_shell() {
            if let Some(git) = parent.parent {
                return Some(Process::of(git));
            }
        }
        Some(parent)
    }

    async fn decide(&self, request: Request, peer: Option<u32>) -> Reply {
        let row = match account::find(&self.engine.db, &request.account).await {
            Ok(Some(row)) => row,
            Ok(None) => {
                return Reply::Refused {
                    message: format!("there is no account {:?}", request.account),
                }
            }
            Err(e) => return Reply::Refused { message: e.message },
        };
        let asker = self.asker(peer, &request.purpose);
        let exe = asker.as_ref().and_then(|p| p.exe.clone());
        let session = asker.as_ref().and_then(|p| p.session);
        match &request.purpose {
            Purpose::Loosen { policy } if *policy >= row.policy() => return Reply::Allowed,
            Purpose::Loosen { .. } => {}
            _ => match row.policy() {
                Policy::Allow => return Reply::Allowed,
                Policy::Deny => return Reply::Denied,
                Policy::Ask => {}
            },
        }
        if !matches!(request.purpose, Purpose::Loosen { .. }) {
            let for_git = matches!(request.purpose, Purpose::Git { .. });
            // "Always allow git" is for git itself: a script calling the helper is asked.
            if for_git
                && exe.as_deref().is_some_and(is_git)
                && self.always_git(&row.id).await.unwrap_or(false)
            {
                return Reply::Allowed;
            }
            if let (Some(exe), Some(session)) = (&exe, session) {
                if self.session_grant(&row.id, exe, session, for_git) {
                    return Reply::Allowed;
                }
            }
        }
        let key: OpenKey = (
            row.id.clone(),
            exe.clone(),
            session,
            request.purpose.clone(),
        );
        let choice = self.put(key, || Question {
            id: uuid::Uuid::new_v4().simple().to_string(),
            account_id: row.id.clone(),
            account_name: row.display_name.clone(),
            provider_name: row.provider_name.clone(),
            purpose: request.purpose.clone(),
            program: exe.clone(),
            parents: asker.as_ref().map(Process::parents).unwrap_or_default(),
            cwd: asker.as_ref().and_then(|p| {
                std::fs::read_link(format!("/proc/{}/cwd", p.pid))
                    .ok()
                    .map(|c| c.to_string_lossy().into_owned())
            }),
            deadline_ms: now_ms() + ANSWER_WITHIN.as_millis() as i64,
            arm_after_ms: BUTTONS_ARM_AFTER_MS,
        });
        let Some(choice) = choice.await else {
            return Reply::NoAnswer;
        };
        self.apply(&row, &request.purpose, exe, session, choice)
            .await
    }

    /// Puts the question to the face, or waits on the same one already open. `None`: nobody
    /// answered in time (or no face takes questions).
    async fn put(&self, key: OpenKey, question: impl FnOnce() -> Question) -> Option<Choice> {
        let (mut answer, first) = {
            let mut open = self.open.lock().expect("open questions");
            match open.get(&key) {
                Some(rx) => (rx.clone(), None),
                None => {
                    let (tx, rx) = watch::channel(None);
                    open.insert(key.clone(), rx.clone());
                    (rx, Some(tx))
                }
            }
        };
        if let Some(tx) = first {
            let (answer, from_face) = oneshot::channel();
            let pending = Pending {
                question: question(),
                answer,
            };
            let sent = self.to_face.send(pending).await.is_ok();
            let open = self.open.clone();
            tokio::spawn(async move {
                let choice = if sent {
                    tokio::time::timeout(ANSWER_WITHIN, from_face)
                        .await
                        .ok()
                        .and_then(|r| r.ok())
                } else {
                    None
                };
                // Closed before the answer goes out: a request after this one is asked anew,
                // never handed this answer.
                open.lock().expect("open questions").remove(&key);
                // No answer drops `tx`: every waiter then reads "no answer".
                if let Some(c) = choice {
                    let _ = tx.send(Some(c));
                }
            });
        }
        loop {
            if let Some(c) = *answer.borrow_and_update() {
                break Some(c);
            }
            if answer.changed().await.is_err() {
                break *answer.borrow();
            }
        }
    }

    async fn apply(
        &self,
        row: &account::AccountRow,
        purpose: &Purpose,
        exe: Option<String>,
        session: Option<u32>,
        choice: Choice,
    ) -> Reply {
        let program = exe.clone().unwrap_or_else(|| "an unknown program".into());
        // The policy may have been tightened while the question was open.
        match account::find(&self.engine.db, &row.id).await {
            Ok(Some(now)) if now.policy() == Policy::Deny => return Reply::Denied,
            Ok(Some(_)) => {}
            Ok(None) => {
                return Reply::Refused {
                    message: "the account was disconnected while you were asked".into(),
                }
            }
            Err(e) => return Reply::Refused { message: e.message },
        }
        if let Purpose::Loosen { policy } = purpose {
            if choice == Choice::Deny {
                return Reply::Denied;
            }
            return match self
                .engine
                .set_policy(&row.id, *policy, Changer::Person)
                .await
            {
                Ok(_) => Reply::Allowed,
                Err(e) => Reply::Refused { message: e.message },
            };
        }
        match choice {
            Choice::Deny => return Reply::Denied,
            Choice::Once => {}
            Choice::Session { minutes } => {
                if let (Some(exe), Some(session)) = (exe, session) {
                    let minutes = minutes.clamp(1, SESSION_MAX_MINUTES);
                    let now = now_ms();
                    self.grants.lock().expect("grants").push(SessionGrant {
                        id: uuid::Uuid::new_v4().simple().to_string(),
                        account_id: row.id.clone(),
                        exe,
                        session,
                        for_git: matches!(purpose, Purpose::Git { .. }),
                        ends_ms: now + i64::from(minutes) * 60_000,
                        idle_ends_ms: now + SESSION_IDLE_MS,
                    });
                    self.engine
                        .audit(
                            AuditKind::ApprovalGiven,
                            row,
                            &format!("{program} in session {session}, up to {minutes} min"),
                        )
                        .await;
                }
            }
            Choice::AlwaysGit => {
                if let Err(e) = set_always_git(&self.engine, &row.id).await {
                    return Reply::Refused { message: e.message };
                }
                self.engine
                    .audit(AuditKind::ApprovalGiven, row, "git, always")
                    .await;
            }
        }
        Reply::Allowed
    }

    fn session_grant(&self, account_id: &str, exe: &str, session: u32, for_git: bool) -> bool {
        let now = now_ms();
        let mut grants = self.grants.lock().expect("grants");
        grants.retain(|g| g.ends_ms > now && g.idle_ends_ms > now);
        match grants.iter_mut().find(|g| {
            g.account_id == account_id
                && g.exe == exe
                && g.session == session
                && g.for_git == for_git
        }) {
            Some(g) => {
                g.idle_ends_ms = now + SESSION_IDLE_MS;
                true
            }
            None => false,
        }
    }

    async fn always_git(&self, account_id: &str) -> Result<bool> {
        Ok(sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM standing_approvals WHERE account_id = ? AND purpose = 'git'",
        )
        .bind(account_id)
        .fetch_one(&self.engine.db)
        .await?
            > 0)
    }

    /// The approvals in force for an account (all accounts with `None`).
    pub async fn live(&self, account_id: Option<&str>) -> Result<Vec<LiveApproval>> {
        let now = now_ms();
        let mut live: Vec<LiveApproval> = {
            let mut grants = self.grants.lock().expect("grants");
            grants.retain(|g| g.ends_ms > now && g.idle_ends_ms > now);
            grants
                .iter()
                .filter(|g| account_id.is_none_or(|a| a == g.account_id))
                .map(|g| LiveApproval {
                    id: g.id.clone(),
                    account_id: g.account_id.clone(),
                    program: Some(g.exe.clone()),
                    always_git: false,
                    ends_at: Some(rfc3339(g.ends_ms)),
                    idle_ends_at: Some(rfc3339(g.idle_ends_ms)),
                })
                .collect()
        };
        let standing: Vec<String> = sqlx::query_scalar(
            "SELECT account_id FROM standing_approvals WHERE purpose = 'git' \
             AND (?1 IS NULL OR account_id = ?1) ORDER BY created_at",
        )
        .bind(account_id)
        .fetch_all(&self.engine.db)
        .await?;
        live.extend(standing.into_iter().map(|a| LiveApproval {
            id: format!("git:{a}"),
            account_id: a,
            program: None,
            always_git: true,
            ends_at: None,
            idle_ends_at: None,
        }));
        Ok(live)
    }

    /// Ends an approval: the next read by that program is asked again.
    pub async fn end(&self, id: &str) -> Result<()> {
        if let Some(account_id) = id.strip_prefix("git:") {
            sqlx::query("DELETE FROM standing_approvals WHERE account_id = ? AND purpose = 'git'")
                .bind(account_id)
                .execute(&self.engine.db)
                .await?;
            if let Ok(row) = account::get(&self.engine.db, account_id).await {
                self.engine
                    .audit(AuditKind::ApprovalEnded, &row, "git, always")
                    .await;
            }
            return Ok(());
        }
        let ended = {
            let mut grants = self.grants.lock().expect("grants");
            let at = grants.iter().position(|g| g.id == id);
            at.map(|i| grants.remove(i))
        };
        if let Some(g) = ended {
            if let Ok(row) = account::get(&self.engine.db, &g.account_id).await {
                self.engine
                    .audit(AuditKind::ApprovalEnded, &row, &g.exe)
                    .await;
            }
        }
        Ok(())
    }

    /// Ends every approval for a program in a session (the screen locked).
    pub fn end_sessions(&self) {
        self.grants.lock().expect("grants").clear();
    }
}

/// Git itself, or the remote helper (`git-remote-https`) that runs credential helpers for it.
fn is_git(exe: &str) -> bool {
    let name = exe.rsplit('/').next().unwrap_or(exe);
    name == "git" || name.starts_with("git-remote-")
}

async fn set_always_git(engine: &Engine, account_id: &str) -> Result<()> {
    sqlx::query(
        "INSERT OR IGNORE INTO standing_approvals (account_id, purpose, created_at) VALUES (?, 'git', ?)",
    )
    .bind(account_id)
    .bind(now_ms())
    .execute(&engine.db)
    .await?;
    Ok(())
}

#[cfg(unix)]
async fn read_request(
    read: tokio::net::unix::OwnedReadHalf,
) -> std::result::Result<Request, String> {
    use tokio::io::AsyncReadExt;
    let mut line = String::new();
    let mut limited = BufReader::new(read.take(REQUEST_MAX_BYTES as u64));
    match tokio::time::timeout(Duration::from_secs(5), limited.read_line(&mut line)).await {
        Ok(Ok(n)) if n > 0 && line.ends_with('\n') => {
            serde_json::from_str(&line).map_err(|_| "the request could not be read".to_owned())
        }
        Ok(Ok(_)) => Err("the request was empty, cut off or too long".into()),
        Ok(Err(_)) => Err("the request could not be read".into()),
        Err(_) => Err("the request did not come in time".into()),
    }
}
