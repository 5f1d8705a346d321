//! Asking the person (policy `ask`) over the real local socket: the real command line, run by
//! real programs (bash, sh, git's credential protocol), against the app's desk (the core part of
//! the window app that listens, reads who asks from `/proc` and keeps the approvals). The window
//! that shows the question is replaced here by answers the test gives; the E2E tests click it.

#[path = "../../../tests/support/mod.rs"]
mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use ca_core::approval::{Choice, Desk, Pending, Purpose};
use serde_json::Value;
use support::{require_keyring, Idp, Sandbox};
use tokio::process::Command;
use tokio::sync::mpsc;

const CLI: &str = env!("CARGO_BIN_EXE_connected-accounts");

struct World {
    _idp: Idp,
    sandbox: Sandbox,
    runtime: PathBuf,
    desk: Arc<Desk>,
    questions: mpsc::Receiver<Pending>,
    alice: String,
}

impl World {
    /// Alice connected with policy `ask`, and the desk listening on the sandbox's socket.
    async fn new() -> Self {
        require_keyring();
        let idp = Idp::start().await;
        let sandbox = Sandbox::new();
        let runtime = sandbox.dir.join("runtime");
        std::fs::create_dir(&runtime).unwrap();
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
        let mut world_env = Self::env_of(&sandbox, &runtime);
        world_env.push(("CA_TEST_LOGIN".into(), "alice".into()));
        let run = |args: &[&str]| {
            let mut cmd = Command::new(CLI);
            cmd.args(args).envs(world_env.clone()).stdin(Stdio::null());
            cmd
        };
        let add = run(&support::add_demo_provider_args(&idp))
            .output()
            .await
            .unwrap();
        assert!(add.status.success(), "{}", text(&add.stderr));
        let out = run(&["connect", "local-demo", "--timeout", "30"])
            .output()
            .await
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        let alice = text(&out.stdout).trim().to_owned();
        let set = run(&["policy", &alice, "ask"]).output().await.unwrap();
        assert!(set.status.success(), "{}", text(&set.stderr));

        let paths = ca_core::paths::Paths {
            namespace: "connected-accounts".into(),
            data_dir: sandbox.dir.join("data/connected-accounts"),
            state_dir: sandbox.dir.join("state/connected-accounts"),
            config_dir: sandbox.dir.join("config/connected-accounts"),
        };
        let engine = ca_core::Engine::open(
            paths,
            ca_core::secret::Keychain::platform("connected-accounts"),
        )
        .await
        .unwrap();
        let (desk, questions) = Desk::new(Arc::new(engine), Some(PathBuf::from(CLI)));
        let socket = runtime.join("connected-accounts.sock");
        tokio::spawn(desk.clone().listen(socket.clone()));
        for _ in 0..100 {
            if socket.exists() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(socket.exists(), "the desk never listened");
        Self {
            _idp: idp,
            sandbox,
            runtime,
            desk,
            questions,
            alice,
        }
    }

    /// A desktop session's environment: a display and its runtime folder. (`CI` and
    /// `WAYLAND_DISPLAY` are not set where these tests run: tests/policy.rs covers them.)
    fn env_of(sandbox: &Sandbox, runtime: &Path) -> Vec<(String, String)> {
        let mut env = sandbox.env();
        env.push(("DISPLAY".into(), ":77".into()));
        env.push(("XDG_RUNTIME_DIR".into(), runtime.display().to_string()));
        env.push(("CI".into(), String::new()));
        env
    }

    /// `connected-accounts ARGS` run by `shell` (its parent is then that shell); stdout ends
    /// with the command line's status.
    fn by(&self, shell: &str, args: &str) -> tokio::task::JoinHandle<Output> {
        let mut cmd = Command::new(shell);
        cmd.arg("-c")
            .arg(format!("\"$CLI\" {args}; echo \"status=$?\""))
            .envs(Self::env_of(&self.sandbox, &self.runtime))
            .env("CLI", CLI)
            .stdin(Stdio::null());
        tokio::spawn(async move { cmd.output().await.unwrap() })
    }

    async fn question(&mut self) -> Pending {
        tokio::time::timeout(Duration::from_secs(20), self.questions.recv())
            .await
            .expect("no question came")
            .expect("the desk stopped")
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// What the command line printed, and its status.
fn status_of(out: &Output) -> (String, i32) {
    let stdout = text(&out.stdout);
    let (printed, status) = stdout
        .trim_end()
        .rsplit_once("status=")
        .unwrap_or_else(|| panic!("no status in {stdout:?}: {}", text(&out.stderr)));
    (printed.to_owned(), status.parse().unwrap())
}

#[tokio::test]
async fn the_person_is_asked_once_per_program_and_session_and_every_answer_holds() {
    let mut w = World::new().await;
    let alice = w.alice.clone();
    let token = format!("token {alice}");

    // bash asks: the question names it, its parents and folder, all read from /proc.
    let call = w.by("/usr/bin/bash", &token);
    let pending = w.question().await;
    let q = &pending.question;
    assert_eq!(q.program.as_deref(), Some("/usr/bin/bash"));
    let me = std::env::current_exe().unwrap();
    assert_eq!(
        q.parents.first().map(String::as_str),
        me.to_str(),
        "bash's parent is this test"
    );
    assert_eq!(q.account_id, alice);
    assert_eq!(q.account_name, "Alice Example");
    assert_eq!(q.purpose, Purpose::Token);
    assert_eq!(q.cwd.as_deref(), std::env::current_dir().unwrap().to_str());
    assert!(q.deadline_ms > ca_core::db::now_ms());
    assert_eq!(q.arm_after_ms, 1_000);
    pending.answer.send(Choice::Session { minutes: 5 }).unwrap();
    let (printed, status) = status_of(&call.await.unwrap());
    assert_eq!(status, 0);
    assert!(printed.trim().len() > 20, "a token: {printed:?}");

    // The same program in the same session is not asked again.
    let (printed, status) = status_of(&w.by("/usr/bin/bash", &token).await.unwrap());
    assert_eq!(status, 0);
    assert!(printed.trim().len() > 20);
    assert!(w.questions.try_recv().is_err(), "asked again");
    let live = w.desk.live(Some(&alice)).await.unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].program.as_deref(), Some("/usr/bin/bash"));

    // Another program in the same session is asked; Deny is exit 4 with nothing on stdout.
    let call = w.by("/bin/sh", &token);
    let pending = w.question().await;
    assert_ne!(pending.question.program.as_deref(), Some("/usr/bin/bash"));
    pending.answer.send(Choice::Deny).unwrap();
    let out = call.await.unwrap();
    let (printed, status) = status_of(&out);
    assert_eq!((printed.as_str(), status), ("", 4));
    assert!(
        text(&out.stderr).contains("you denied"),
        "{}",
        text(&out.stderr)
    );

    // Ending the approval makes the next call ask again; "allow once" gives one token.
    w.desk.end(&live[0].id).await.unwrap();
    let call = w.by("/usr/bin/bash", &token);
    w.question().await.answer.send(Choice::Once).unwrap();
    assert_eq!(status_of(&call.await.unwrap()).1, 0);
    let call = w.by("/usr/bin/bash", &token);
    let pending = w.question().await;
    // Nobody answers (the window went away): refused, never granted.
    drop(pending);
    let out = call.await.unwrap();
    assert_eq!(status_of(&out).1, 4);
    assert!(
        text(&out.stderr).contains("nobody answered"),
        "{}",
        text(&out.stderr)
    );

    // Git asks through the `sh -c` it runs helpers in (real git: `credential fill`); "always
    // allow git" holds for git from then on. The override names the account (no git rule here).
    let input = "protocol=https\nhost=git.example.test\npath=a/b.git\n\n";
    let env = World::env_of(&w.sandbox, &w.runtime);
    let git = |direct: bool| {
        let mut cmd = if direct {
            // A script calling the helper itself, not git.
            let mut sh = Command::new("/bin/sh");
            sh.arg("-c")
                .arg("printf \"$INPUT\" | \"$CLI\" git-credential get");
            sh
        } else {
            let mut git = Command::new("git");
            git.args(["-c", "credential.helper=", "-c"])
                .arg("credential.helper=!\"$CLI\" git-credential")
                .args(["-c", "credential.useHttpPath=true", "credential", "fill"]);
            git
        };
        cmd.envs(env.clone())
            .env("CLI", CLI)
            .env("INPUT", input)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("CONNECTED_ACCOUNTS_ACCOUNT", &alice)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            let mut child = cmd.spawn().unwrap();
            let mut stdin = child.stdin.take().unwrap();
            stdin
                .write_all(b"protocol=https\nhost=git.example.test\npath=a/b.git\n\n")
                .await
                .unwrap();
            drop(stdin);
            child.wait_with_output().await.unwrap()
        })
    };
    let call = git(false);
    let pending = w.question().await;
    assert_eq!(
        pending.question.purpose,
        Purpose::Git {
            host: "git.example.test".into(),
            path: "a/b.git".into()
        }
    );
    // Looked through the `sh -c`: the asker is git.
    let asker = pending.question.program.clone().unwrap_or_default();
    assert!(asker.ends_with("/git"), "{asker}");
    pending.answer.send(Choice::AlwaysGit).unwrap();
    let out = call.await.unwrap();
    assert!(
        text(&out.stdout).contains("password="),
        "{}",
        text(&out.stderr)
    );
    let out = git(false).await.unwrap();
    assert!(
        text(&out.stdout).contains("password="),
        "{}",
        text(&out.stderr)
    );
    assert!(w.questions.try_recv().is_err(), "git was asked again");
    // A script calling the git helper itself is not git: it is asked, and refused here.
    let call = git(true);
    let pending = w.question().await;
    assert_eq!(pending.question.program.as_deref(), me.to_str());
    pending.answer.send(Choice::Deny).unwrap();
    assert_eq!(text(&call.await.unwrap().stdout), "quit=1\n");

    let live = w.desk.live(Some(&alice)).await.unwrap();
    assert!(live.iter().any(|a| a.always_git), "{live:?}");

    // The audit names each program; the approvals given are audited too.
    let audit = Command::new(CLI)
        .args(["audit", "--account", &alice, "--json"])
        .envs(World::env_of(&w.sandbox, &w.runtime))
        .output()
        .await
        .unwrap();
    let events: Vec<Value> = serde_json::from_slice(&audit.stdout).unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"approval_given"), "{kinds:?}");
    let refused: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "read_refused")
        .collect();
    assert!(
        refused
            .iter()
            .any(|e| e["detail"].as_str().unwrap().contains("denied")),
        "{refused:?}"
    );
}

#[tokio::test]
async fn loosening_from_the_command_line_asks_in_the_window() {
    let mut w = World::new().await;
    let alice = w.alice.clone();
    let call = w.by("/usr/bin/bash", &format!("policy {alice} allow"));
    let pending = w.question().await;
    assert_eq!(
        pending.question.purpose,
        Purpose::Loosen {
            policy: ca_core::Policy::Allow
        }
    );
    pending.answer.send(Choice::Deny).unwrap();
    assert_eq!(status_of(&call.await.unwrap()).1, 4);
    let call = w.by("/usr/bin/bash", &format!("policy {alice} allow"));
    w.question().await.answer.send(Choice::Once).unwrap();
    assert_eq!(status_of(&call.await.unwrap()).1, 0);
    // Now `allow`: no question, whoever asks.
    let (printed, status) = status_of(&w.by("/bin/sh", &format!("token {alice}")).await.unwrap());
    assert_eq!(status, 0);
    assert!(printed.trim().len() > 20);
    assert!(w.questions.try_recv().is_err());
}

/// Root only (as CI runs): acts as uid 65534 through setpriv.
#[tokio::test]
async fn the_socket_answers_only_its_own_user_and_the_command_line_only_its_own_app() {
    let mut w = World::new().await;
    let socket = w.runtime.join("connected-accounts.sock");
    // Let the other user reach the socket at all, so the desk's own check is what refuses it.
    std::fs::set_permissions(&w.sandbox.dir, std::fs::Permissions::from_mode(0o711)).unwrap();
    std::fs::set_permissions(&w.runtime, std::fs::Permissions::from_mode(0o711)).unwrap();
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    let script = "import socket,sys\n\
        s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])\n\
        s.sendall(('{\"account\":\"'+sys.argv[2]+'\",\"purpose\":{\"kind\":\"token\"}}\\n').encode())\n\
        print(s.makefile().readline().strip())\n";
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .args(["/usr/bin/python3", "-c", script])
        .arg(&socket)
        .arg(&w.alice)
        .output()
        .await
        .expect("setpriv (util-linux), as root");
    let reply: Value = serde_json::from_str(text(&out.stdout).trim())
        .unwrap_or_else(|_| panic!("{} {}", text(&out.stdout), text(&out.stderr)));
    assert_eq!(reply["answer"], "refused", "{reply}");
    assert!(
        w.questions.try_recv().is_err(),
        "another user's request was put"
    );

    // An "app" listening as another user: the command line does not ask it, and reads nothing.
    std::fs::set_permissions(&w.runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    let fake_runtime = w.sandbox.dir.join("fake-runtime");
    std::fs::create_dir(&fake_runtime).unwrap();
    std::fs::set_permissions(&fake_runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    let fake = fake_runtime.join("connected-accounts.sock");
    let server = "import socket,os,sys\n\
        s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])\n\
        os.setgid(65534); os.setuid(65534); s.listen(1)\n\
        print('ready', flush=True)\n\
        c,_=s.accept(); c.recv(4096)\n\
        try: c.sendall(b'{\"answer\":\"allowed\"}\\n')\n\
        except OSError: pass\n";
    let mut impostor = Command::new("/usr/bin/python3")
        .args(["-c", server])
        .arg(&fake)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut ready = String::new();
    use tokio::io::AsyncBufReadExt;
    tokio::io::BufReader::new(impostor.stdout.as_mut().unwrap())
        .read_line(&mut ready)
        .await
        .unwrap();
    assert_eq!(ready.trim(), "ready");
    let out = Command::new(CLI)
        .args(["token", &w.alice])
        .envs(World::env_of(&w.sandbox, &fake_runtime))
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    assert!(
        text(&out.stderr).contains("another user"),
        "{}",
        text(&out.stderr)
    );

    // And a runtime folder others can open is refused before anything is asked.
    std::fs::set_permissions(&w.runtime, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new(CLI)
        .args(["token", &w.alice])
        .envs(World::env_of(&w.sandbox, &w.runtime))
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("0700"), "{}", text(&out.stderr));
    assert!(w.questions.try_recv().is_err());
}
