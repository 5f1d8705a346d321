//! An account's access policy through the real parts: oidc-provider on loopback, the real Secret
//! Service, a real SQLite file, and real programs (bash, git's credential protocol) asking.

#[path = "../../../tests/support/mod.rs"]
mod support;

use std::process::{Output, Stdio};

use serde_json::Value;
use support::{require_keyring, Idp, Sandbox};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

const CLI: &str = env!("CARGO_BIN_EXE_connected-accounts");
const REFUSED: &str = "refused by your access policy";

/// A command line with no display and no CI variable: nobody to ask in a window (asking, with a
/// display, is tests/approvals.rs).
fn cli(sandbox: &Sandbox) -> Command {
    let mut cmd = Command::new(CLI);
    cmd.stdin(Stdio::null())
        .envs(sandbox.env())
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("CI");
    cmd
}

async fn run(sandbox: &Sandbox, args: &[&str]) -> Output {
    cli(sandbox).args(args).output().await.unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `connected-accounts ARGS` run by bash (so bash is the asking program): its output, with the
/// command line's exit status printed by bash on the last line of stdout.
async fn by_bash(sandbox: &Sandbox, args: &str, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new("/usr/bin/bash");
    // Not `exec`: the command line's parent must stay bash.
    cmd.arg("-c")
        .arg(format!("\"$CLI\" {args}; echo \"status=$?\""))
        .env("CLI", CLI)
        .stdin(Stdio::null())
        .envs(sandbox.env())
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("CI")
        .envs(env.iter().copied());
    cmd.output().await.unwrap()
}

/// Splits bash's stdout into what the command line printed and its exit status.
fn status_of(out: &Output) -> (String, i32) {
    let stdout = text(&out.stdout);
    let (printed, status) = stdout
        .trim_end()
        .rsplit_once("status=")
        .unwrap_or_else(|| panic!("no status in {stdout:?}"));
    (printed.to_owned(), status.parse().unwrap())
}

async fn connect(sandbox: &Sandbox, login: &str) -> String {
    let out = cli(sandbox)
        .args(["connect", "local-demo", "--timeout", "30"])
        .env("CA_TEST_LOGIN", login)
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout).trim().to_owned()
}

async fn world() -> (Idp, Sandbox) {
    require_keyring();
    let idp = Idp::start().await;
    let sandbox = Sandbox::new();
    let add = run(&sandbox, &support::add_demo_provider_args(&idp)).await;
    assert!(add.status.success(), "{}", text(&add.stderr));
    (idp, sandbox)
}

async fn policy_of(sandbox: &Sandbox, id: &str) -> String {
    let show = run(sandbox, &["show", id, "--json"]).await;
    assert!(show.status.success(), "{}", text(&show.stderr));
    let account: Value = serde_json::from_slice(&show.stdout).unwrap();
    account["policy"].as_str().unwrap().to_owned()
}

async fn git_get(sandbox: &Sandbox, id: &str) -> Output {
    let mut child = cli(sandbox)
        .args(["git-credential", "get"])
        .env("CONNECTED_ACCOUNTS_ACCOUNT", id)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(b"protocol=https\nhost=git.example.test\npath=a/b.git\n\n")
        .await
        .unwrap();
    drop(stdin);
    child.wait_with_output().await.unwrap()
}

/// The audit's entries of `kind` for the account, newest first.
async fn audit_of(sandbox: &Sandbox, id: &str, kind: &str) -> Vec<Value> {
    let out = run(sandbox, &["audit", "--account", id, "--json"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let entries: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    entries.into_iter().filter(|e| e["kind"] == kind).collect()
}

#[tokio::test]
async fn deny_refuses_token_exec_and_git_and_the_audit_names_the_program() {
    let (_idp, sandbox) = world().await;
    let id = connect(&sandbox, "alice").await;
    assert_eq!(policy_of(&sandbox, &id).await, "allow", "the default");
    let list: Vec<Value> =
        serde_json::from_slice(&run(&sandbox, &["list", "--json"]).await.stdout).unwrap();
    assert_eq!(list[0]["policy"], "allow");
    let (token, status) = status_of(&by_bash(&sandbox, &format!("token {id}"), &[]).await);
    assert_eq!(status, 0, "allow gives a token");
    assert!(token.trim().len() > 20);

    let set = run(&sandbox, &["policy", &id, "deny"]).await;
    assert!(set.status.success(), "{}", text(&set.stderr));
    assert_eq!(policy_of(&sandbox, &id).await, "deny");
    let list: Vec<Value> =
        serde_json::from_slice(&run(&sandbox, &["list", "--json"]).await.stdout).unwrap();
    assert_eq!(list[0]["policy"], "deny");

    // token: exit 4, nothing on stdout, one line on stderr.
    let out = by_bash(&sandbox, &format!("token {id}"), &[]).await;
    let (printed, status) = status_of(&out);
    assert_eq!(status, 4);
    assert_eq!(printed, "", "nothing on stdout");
    let err = text(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err:?}");
    assert!(err.contains(REFUSED), "{err}");

    // exec: 125 with that line, and the program never runs.
    let ran = sandbox.dir.join("ran");
    let out = cli(&sandbox)
        .args(["exec", &id, "--", "sh", "-c", "touch \"$0\""])
        .arg(&ran)
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(text(&out.stderr).contains(REFUSED), "{}", text(&out.stderr));
    assert!(!ran.exists(), "the program ran");

    // git: quit=1, so git asks nobody else.
    let out = git_get(&sandbox, &id).await;
    assert!(out.status.success());
    assert_eq!(text(&out.stdout), "quit=1\n");
    assert!(text(&out.stderr).contains(REFUSED), "{}", text(&out.stderr));

    // Each refusal is audited with the program that asked; the token one with bash itself.
    let refused = audit_of(&sandbox, &id, "read_refused").await;
    let kinds: Vec<&str> = refused
        .iter()
        .map(|e| e["consumer"]["kind"].as_str().unwrap())
        .collect();
    assert!(
        ["token", "exec", "git_credential"]
            .iter()
            .all(|k| kinds.contains(k)),
        "{refused:?}"
    );
    let by_token = refused
        .iter()
        .find(|e| e["consumer"]["kind"] == "token")
        .unwrap();
    assert_eq!(by_token["consumer"]["exe"], "/usr/bin/bash");
    assert!(by_token["detail"].as_str().unwrap().contains("policy deny"));
    // A refusal is not a read: the window's "used by" still shows the earlier read.
    assert_eq!(audit_of(&sandbox, &id, "token_read").await.len(), 1);
    let changed = audit_of(&sandbox, &id, "policy_changed").await;
    assert_eq!(changed[0]["detail"], "allow → deny");
}

#[tokio::test]
async fn ask_with_nobody_to_ask_is_refused_and_the_command_line_cannot_loosen() {
    let (_idp, sandbox) = world().await;
    let alice = connect(&sandbox, "alice").await;
    let bob = connect(&sandbox, "bob").await;
    let set = run(&sandbox, &["policy", &alice, "ask", "--json"]).await;
    assert!(set.status.success(), "{}", text(&set.stderr));
    let shown: Value = serde_json::from_slice(&set.stdout).unwrap();
    assert_eq!(shown["policy"], "ask");

    // No display: refused, never granted.
    let out = cli(&sandbox)
        .args(["token", &alice])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(out.stdout.is_empty());
    assert!(
        text(&out.stderr).contains("no display"),
        "{}",
        text(&out.stderr)
    );
    // A non-interactive caller, display or not: CI set, or --no-interactive.
    for (args, env) in [
        (vec!["token", &alice], vec![("CI", "true")]),
        (vec!["--no-interactive", "token", &alice], vec![]),
    ] {
        let out = cli(&sandbox)
            .args(&args)
            .envs(env)
            .env("DISPLAY", ":77")
            .output()
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(4), "{args:?}");
        assert!(out.stdout.is_empty());
        assert!(
            text(&out.stderr).contains("not interactive"),
            "{}",
            text(&out.stderr)
        );
    }
    let out = git_get(&sandbox, &alice).await;
    assert_eq!(text(&out.stdout), "quit=1\n");
    // Every one of them is audited as refused, and none as read.
    assert!(audit_of(&sandbox, &alice, "read_refused").await.len() >= 3);
    assert!(audit_of(&sandbox, &alice, "token_read").await.is_empty());

    // An account left on the default policy is unaffected, display or not.
    let out = cli(&sandbox)
        .args(["token", &bob])
        .env("CI", "true")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).trim().len() > 20);

    // Loosening from the command line, with nobody to click in the window, is refused.
    for looser in ["allow"] {
        let out = run(&sandbox, &["policy", &alice, looser]).await;
        assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("needs a click in the window"),
            "{}",
            text(&out.stderr)
        );
    }
    assert_eq!(policy_of(&sandbox, &alice).await, "ask");
    // Tightening works, and then even `ask` is a loosening.
    assert!(run(&sandbox, &["policy", &alice, "deny"])
        .await
        .status
        .success());
    assert_eq!(
        run(&sandbox, &["policy", &alice, "ask"])
            .await
            .status
            .code(),
        Some(4)
    );
    assert_eq!(policy_of(&sandbox, &alice).await, "deny");
    // Setting the policy it already has is no change, and no refusal.
    assert!(run(&sandbox, &["policy", &alice, "deny"])
        .await
        .status
        .success());
}
