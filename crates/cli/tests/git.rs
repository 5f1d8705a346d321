//! The git credential helper through real parts: git itself, `git http-backend` behind a server
//! that checks each credential at the real authorization server (tests/git/server.py), the real
//! Secret Service and SQLite.

#[path = "../../../tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::{files_containing, keychain_lookup, require_keyring, Idp, Sandbox};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const CLI: &str = env!("CARGO_BIN_EXE_connected-accounts");

/// A sandbox whose HOME (and so git's global config) is its own.
struct World {
    idp: Idp,
    sandbox: Sandbox,
    home: PathBuf,
    git_root: PathBuf,
    host: String,
    _server: Child,
}

impl World {
    async fn start(idp_env: &[(&str, &str)]) -> Self {
        require_keyring();
        let idp = Idp::start_with(idp_env).await;
        let sandbox = Sandbox::new();
        let home = sandbox.dir.join("home");
        let git_root = sandbox.dir.join("repos");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&git_root).unwrap();
        let meta: Value = reqwest::get(format!("{}/.well-known/openid-configuration", idp.issuer))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut server = Command::new("python3")
            .arg(support::repo_root().join("tests/git/server.py"))
            .args(["--root", git_root.to_str().unwrap()])
            .args(["--userinfo", meta["userinfo_endpoint"].as_str().unwrap()])
            .args([
                "--log",
                sandbox.dir.join("git-server.log").to_str().unwrap(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(server.stdout.take().unwrap())
            .read_line(&mut line)
            .await
            .unwrap();
        let port = serde_json::from_str::<Value>(&line).unwrap()["port"]
            .as_u64()
            .unwrap();
        let world = Self {
            idp,
            sandbox,
            home,
            git_root,
            host: format!("127.0.0.1:{port}"),
            _server: server,
        };
        let add = world
            .cli(&support::add_demo_provider_args(&world.idp))
            .await;
        assert!(add.status.success(), "{}", text(&add.stderr));
        world
    }

    fn env(&self) -> Vec<(String, String)> {
        let mut env = self.sandbox.env();
        env.extend([
            ("HOME".into(), self.home.display().to_string()),
            ("GIT_CONFIG_NOSYSTEM".into(), "1".into()),
            ("GIT_TERMINAL_PROMPT".into(), "0".into()),
            ("GIT_AUTHOR_NAME".into(), "Test".into()),
            ("GIT_AUTHOR_EMAIL".into(), "test@example.test".into()),
            ("GIT_COMMITTER_NAME".into(), "Test".into()),
            ("GIT_COMMITTER_EMAIL".into(), "test@example.test".into()),
        ]);
        env
    }

    async fn cli(&self, args: &[&str]) -> Output {
        Command::new(CLI)
            .args(args)
            .envs(self.env())
            .stdin(Stdio::null())
            .output()
            .await
            .unwrap()
    }

    async fn connect(&self, login: &str) -> String {
        let out = Command::new(CLI)
            .args(["connect", "local-demo", "--timeout", "30"])
            .envs(self.env())
            .env("CA_TEST_LOGIN", login)
            .stdin(Stdio::null())
            .output()
            .await
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout).trim().to_string()
    }

    async fn git(&self, dir: &Path, args: &[&str]) -> Output {
        Command::new("git")
            .args(args)
            .current_dir(dir)
            .envs(self.env())
            .stdin(Stdio::null())
            .output()
            .await
            .unwrap()
    }

    async fn git_ok(&self, dir: &Path, args: &[&str]) -> String {
        let out = self.git(dir, args).await;
        assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    }

    /// A bare repository OWNER/NAME.git on the server, with one commit.
    async fn repository(&self, owner: &str, name: &str) {
        let bare = self.git_root.join(owner).join(format!("{name}.git"));
        std::fs::create_dir_all(&bare).unwrap();
        self.git_ok(&bare, &["init", "-q", "--bare", "-b", "main"])
            .await;
        let seed = self.sandbox.dir.join(format!("seed-{owner}-{name}"));
        std::fs::create_dir_all(&seed).unwrap();
        self.git_ok(&seed, &["init", "-q", "-b", "main"]).await;
        std::fs::write(seed.join("README"), "hello\n").unwrap();
        self.git_ok(&seed, &["add", "README"]).await;
        self.git_ok(&seed, &["commit", "-qm", "first"]).await;
        self.git_ok(&seed, &["push", "-q", bare.to_str().unwrap(), "main"])
            .await;
    }

    fn url(&self, repo: &str) -> String {
        format!("http://{}/{repo}", self.host)
    }

    /// `git-credential ACTION` given `request` on stdin, as git runs it.
    async fn helper(&self, action: &str, request: &str) -> Output {
        use tokio::io::AsyncWriteExt;
        let mut child = Command::new(CLI)
            .args(["git-credential", action])
            .envs(self.env())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(request.as_bytes()).await.unwrap();
        drop(stdin);
        child.wait_with_output().await.unwrap()
    }

    async fn global_config(&self) -> String {
        self.git_ok(&self.home, &["config", "--global", "--list"])
            .await
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn access_token(id: &str) -> String {
    let stored: Value =
        serde_json::from_str(&keychain_lookup("connected-accounts", id).await.unwrap()).unwrap();
    stored["access_token"].as_str().unwrap().to_string()
}

/// A commit on top of `dir`'s checkout, pushed.
async fn commit_and_push(w: &World, dir: &Path, file: &str) -> Output {
    std::fs::write(dir.join(file), file).unwrap();
    w.git_ok(dir, &["add", file]).await;
    w.git_ok(dir, &["commit", "-qm", file]).await;
    w.git(dir, &["push", "-q", "origin", "main"]).await
}

#[tokio::test]
async fn clone_and_push_through_setup_git_keep_the_token_out_of_every_file() {
    let w = World::start(&[]).await;
    let alice = w.connect("alice").await;
    w.repository("alice", "proj").await;
    // The user already keeps passwords with git's plain-text store: it must never see ours.
    w.git_ok(
        &w.home,
        &["config", "--global", "credential.helper", "store"],
    )
    .await;
    let before = w.global_config().await;

    let setup = w
        .cli(&["setup-git", "--account", &alice, "--host", &w.host])
        .await;
    assert!(setup.status.success(), "{}", text(&setup.stderr));
    // Idempotent: a second run adds nothing.
    let once = w.global_config().await;
    assert!(w
        .cli(&["setup-git", "--account", &alice, "--host", &w.host])
        .await
        .status
        .success());
    assert_eq!(w.global_config().await, once);

    let work = w.sandbox.dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    w.git_ok(&work, &["clone", "-q", &w.url("alice/proj.git"), "proj"])
        .await;
    let checkout = work.join("proj");
    let pushed = commit_and_push(&w, &checkout, "second").await;
    assert!(pushed.status.success(), "{}", text(&pushed.stderr));

    let token = access_token(&alice).await;
    assert!(
        !w.home.join(".git-credentials").exists(),
        "git's store got nothing"
    );
    assert_eq!(files_containing(&w.home, &token), Vec::<PathBuf>::new());
    assert_eq!(files_containing(&checkout, &token), Vec::<PathBuf>::new());
    assert!(!text(&std::fs::read(checkout.join(".git/config")).unwrap()).contains(&token));

    // The audit names git as the reader, with the folder it ran in.
    let audit = w.cli(&["audit", "--account", &alice, "--json"]).await;
    let events: Vec<Value> = serde_json::from_slice(&audit.stdout).unwrap();
    let read = events
        .iter()
        .find(|e| e["consumer"]["kind"] == "git_credential")
        .expect("a git read");
    // git's HTTP transport (git-remote-http), the program that asked, and where it ran.
    let exe = Path::new(read["consumer"]["exe"].as_str().unwrap());
    assert!(
        exe.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("git"),
        "{read}"
    );
    let cwd = read["consumer"]["cwd"].as_str().unwrap();
    assert!(cwd.starts_with(checkout.to_str().unwrap()), "{read}");
    assert!(!audit
        .stdout
        .windows(token.len())
        .any(|w| w == token.as_bytes()));

    // --undo takes away exactly what setup-git added.
    let undo = w
        .cli(&[
            "setup-git",
            "--account",
            &alice,
            "--host",
            &w.host,
            "--undo",
        ])
        .await;
    assert!(undo.status.success(), "{}", text(&undo.stderr));
    assert_eq!(w.global_config().await, before);
}

#[tokio::test]
async fn two_accounts_on_one_host_are_kept_apart_by_path_and_the_override_wins() {
    let w = World::start(&[]).await;
    let alice = w.connect("alice").await;
    let bob = w.connect("bob").await;
    w.repository("alice", "a").await;
    w.repository("bob", "b").await;
    w.git_ok(&w.home, &["config", "--global", "user.name", "Ada"])
        .await;
    let before = w.global_config().await;
    for (account, path) in [(&alice, "alice/"), (&bob, "bob/")] {
        let out = w
            .cli(&[
                "setup-git",
                "--account",
                account,
                "--host",
                &w.host,
                "--path",
                path,
            ])
            .await;
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let work = w.sandbox.dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    // The server lets only the owner in: each clone works only with its own account.
    w.git_ok(&work, &["clone", "-q", &w.url("alice/a.git")])
        .await;
    w.git_ok(&work, &["clone", "-q", &w.url("bob/b.git")]).await;
    let log = std::fs::read_to_string(w.sandbox.dir.join("git-server.log")).unwrap();
    assert!(
        !log.contains("\"status\": 403"),
        "no account was used for the other's repo:\n{log}"
    );

    // status says which account a host and path get, and why.
    let status = w
        .cli(&[
            "status",
            "--host",
            &w.host,
            "--path",
            "alice/a.git",
            "--json",
        ])
        .await;
    assert!(status.status.success(), "{}", text(&status.stderr));
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["git"]["account"], alice.as_str(), "{status:#}");
    assert_eq!(status["git"]["why"]["rule"]["path"], "alice/");
    assert_eq!(status["keychain"]["available"], true);
    assert_eq!(status["git_rules"].as_array().unwrap().len(), 2);
    assert_eq!(status["accounts"].as_array().unwrap().len(), 2);

    // erase marks only the current token refused, and the next get refreshes it.
    let bob_clone = work.join("b");
    for (password, refreshes) in [
        ("not-the-token".to_string(), 0),
        (access_token(&bob).await, 1),
    ] {
        let before = w.idp.stats().await["refresh_success"].as_u64().unwrap();
        let request = format!(
            "protocol=http\nhost={}\npath=bob/b.git\nusername=oauth\npassword={password}\n\n",
            w.host
        );
        assert!(w.helper("erase", &request).await.status.success());
        w.git_ok(&bob_clone, &["fetch", "-q"]).await;
        let after = w.idp.stats().await["refresh_success"].as_u64().unwrap();
        assert_eq!(after, before + refreshes, "erase of {password:?}");
    }
    assert!(
        keychain_lookup("connected-accounts", &bob).await.is_some(),
        "never deleted"
    );

    // CONNECTED_ACCOUNTS_ACCOUNT overrides every rule for one command: bob's token at alice's repo.
    let forced = Command::new("git")
        .args(["ls-remote", &w.url("alice/a.git")])
        .envs(w.env())
        .env("CONNECTED_ACCOUNTS_ACCOUNT", &bob)
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert!(!forced.status.success());
    let log = std::fs::read_to_string(w.sandbox.dir.join("git-server.log")).unwrap();
    assert!(log.contains("\"user\": \"bob\", \"status\": 403"), "{log}");

    // A host with no rule: git is told to stop, with the way out.
    let out = w
        .helper("get", "protocol=https\nhost=elsewhere.example\n\n")
        .await;
    assert_eq!(text(&out.stdout), "quit=1\n");
    assert!(text(&out.stderr).contains("setup-git --account ACCOUNT --host elsewhere.example"));

    // Undoing both path rules takes away credential.useHttpPath with the last one, and so the
    // helper: the global config is as it was.
    for (account, path) in [(&bob, "bob/"), (&alice, "alice/")] {
        let out = w
            .cli(&[
                "setup-git",
                "--account",
                account,
                "--host",
                &w.host,
                "--path",
                path,
                "--undo",
            ])
            .await;
        assert!(out.status.success(), "{}", text(&out.stderr));
        let useful = w.global_config().await.contains("usehttppath");
        assert_eq!(useful, path == "bob/", "useHttpPath after undoing {path}");
    }
    assert_eq!(w.global_config().await, before);
}

#[tokio::test]
async fn a_push_after_the_token_expired_works_and_after_revoke_git_says_why() {
    let w = World::start(&[("IDP_ACCESS_TTL", "6")]).await;
    let alice = w.connect("alice").await;
    w.repository("alice", "proj").await;
    assert!(w
        .cli(&["setup-git", "--account", &alice, "--host", &w.host])
        .await
        .status
        .success());
    let work = w.sandbox.dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    w.git_ok(&work, &["clone", "-q", &w.url("alice/proj.git"), "proj"])
        .await;
    let checkout = work.join("proj");
    let first = access_token(&alice).await;
    tokio::time::sleep(Duration::from_secs(7)).await;
    let pushed = commit_and_push(&w, &checkout, "late").await;
    assert!(pushed.status.success(), "{}", text(&pushed.stderr));
    assert_ne!(access_token(&alice).await, first, "refreshed for the push");

    let revoke = w.cli(&["revoke", &alice, "--yes"]).await;
    assert!(revoke.status.success(), "{}", text(&revoke.stderr));
    let fetch = w.git(&checkout, &["fetch", "-q"]).await;
    assert!(!fetch.status.success());
    let said = text(&fetch.stderr);
    assert!(
        said.contains("connected-accounts: ") && said.contains("disconnected"),
        "{said}"
    );
    assert!(
        !said.to_lowercase().contains("password for"),
        "no password prompt: {said}"
    );
}
