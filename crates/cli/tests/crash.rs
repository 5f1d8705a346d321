//! The process dies (SIGKILL) at named points during connect, refresh and disconnect. The next
//! start reconciles the rows that carry an intent, from the rows alone: finished or rolled back,
//! no orphan secret, and the account works, except where the server had already rotated the
//! refresh token and the process died before saving the new one; that account is then clearly
//! marked "needs reconnect" and keeps its id when connected again.

#[path = "../../../tests/support/mod.rs"]
mod support;

use std::process::Output;

use serde_json::Value;
use support::{keychain_lookup, require_keyring, Idp, Sandbox};
use tokio::process::Command;

const SERVICE: &str = "connected-accounts";

async fn run(sandbox: &Sandbox, crash_at: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_connected-accounts"));
    cmd.args(args)
        .envs(sandbox.env())
        .stdin(std::process::Stdio::null());
    if let Some(point) = crash_at {
        cmd.env("CONNECTED_ACCOUNTS_CRASH_AT", point);
    }
    cmd.output().await.unwrap()
}

async fn json(sandbox: &Sandbox, args: &[&str]) -> Value {
    let out = run(sandbox, None, args).await;
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn killed(out: &Output) -> bool {
    use std::os::unix::process::ExitStatusExt;
    out.status.signal() == Some(9)
}

async fn setup() -> (Idp, Sandbox) {
    require_keyring();
    let idp = Idp::start().await;
    let sandbox = Sandbox::new();
    let out = run(&sandbox, None, &support::add_demo_provider_args(&idp)).await;
    assert!(out.status.success());
    (idp, sandbox)
}

async fn connected(sandbox: &Sandbox) -> String {
    json(sandbox, &["connect", "local-demo", "--json"]).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn refresh_token(id: &str) -> Option<String> {
    let stored: Value = serde_json::from_str(&keychain_lookup(SERVICE, id).await?).ok()?;
    stored["refresh_token"].as_str().map(str::to_owned)
}

#[tokio::test]
async fn killed_during_connect_before_or_after_the_keychain_write_leaves_nothing_behind() {
    let (idp, sandbox) = setup().await;
    for point in ["connect-after-exchange", "connect-after-keychain"] {
        let out = run(&sandbox, Some(point), &["connect", "local-demo"]).await;
        assert!(killed(&out), "{point}: the crash point was not reached");
        let rows = json(&sandbox, &["list", "--json"]).await;
        assert_eq!(
            rows[0]["status"], "connecting",
            "{point}: the intent is on the row"
        );
        let pending = rows[0]["id"].as_str().unwrap().to_string();
        let secret_left = keychain_lookup(SERVICE, &pending).await.is_some();
        assert_eq!(secret_left, point == "connect-after-keychain", "{point}");
        let revoked_before = idp.stats().await["revocation_success"].as_u64().unwrap();

        let after = json(&sandbox, &["recover", "--json"]).await;
        assert_eq!(after, serde_json::json!([]), "{point}: rolled back");
        assert!(
            keychain_lookup(SERVICE, &pending).await.is_none(),
            "{point}: orphan secret"
        );
        if secret_left {
            assert!(
                idp.stats().await["revocation_success"].as_u64().unwrap() > revoked_before,
                "the orphaned grant was revoked at the provider"
            );
        }
    }
    // The provider still works for a normal connect.
    let id = connected(&sandbox).await;
    assert_eq!(
        json(&sandbox, &["show", &id, "--json"]).await["status"],
        "connected"
    );
}

#[tokio::test]
async fn killed_during_refresh_after_saving_keeps_the_new_refresh_token() {
    let (idp, sandbox) = setup().await;
    let id = connected(&sandbox).await;
    let old = refresh_token(&id).await.unwrap();
    let out = run(&sandbox, Some("refresh-after-keychain"), &["refresh", &id]).await;
    assert!(killed(&out));
    assert_eq!(
        json(&sandbox, &["show", &id, "--json"]).await["status"],
        "refreshing"
    );
    let saved = refresh_token(&id).await.unwrap();
    assert_ne!(
        saved, old,
        "the rotated token reached the keychain before the crash"
    );
    let after = json(&sandbox, &["recover", "--json"]).await;
    assert_eq!(after[0]["status"], "connected");
    // Nothing lost: the next refresh spends the saved token and the server accepts it.
    let refreshed = json(&sandbox, &["refresh", &id, "--json"]).await;
    assert_eq!(refreshed["status"], "connected");
    let stats = idp.stats().await;
    assert_eq!(stats["refresh_success"], 2);
    assert_eq!(stats["refresh_reuse_detected"], 0);
}

/// A bug that panics with tokens in hand (after the rotated token was saved), with full
/// backtraces and trace logging: the panic output and the files show no token, and the account
/// carries on.
#[tokio::test]
async fn a_panic_with_tokens_in_hand_shows_none_and_loses_nothing() {
    let (idp, sandbox) = setup().await;
    let id = connected(&sandbox).await;
    let before = keychain_lookup(SERVICE, &id).await.unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_connected-accounts"))
        .args(["refresh", &id])
        .envs(sandbox.env())
        .env("CONNECTED_ACCOUNTS_PANIC_AT", "refresh-after-keychain")
        .env("RUST_BACKTRACE", "full")
        .env("RUST_LOG", "trace")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(101), "{printed}");
    assert!(printed.contains("test panic at refresh-after-keychain"));
    assert!(
        printed.contains("stack backtrace"),
        "a full backtrace was printed"
    );
    let after = keychain_lookup(SERVICE, &id).await.unwrap();
    let mut tokens = Vec::new();
    for stored in [&before, &after] {
        let v: Value = serde_json::from_str(stored).unwrap();
        for key in ["access_token", "refresh_token", "id_token"] {
            tokens.extend(v[key].as_str().map(str::to_owned));
        }
    }
    assert!(tokens.len() >= 5, "tokens before and after the rotation");
    for token in &tokens {
        assert!(
            !printed.contains(token.as_str()),
            "a token is in the panic output"
        );
        let hits = support::files_containing(&sandbox.dir, token);
        assert!(hits.is_empty(), "a token is on disk in {hits:?}");
    }
    // The rotated token was saved before the panic: the account recovers and works.
    assert_eq!(
        json(&sandbox, &["recover", "--json"]).await[0]["status"],
        "connected"
    );
    assert_eq!(
        json(&sandbox, &["refresh", &id, "--json"]).await["status"],
        "connected"
    );
    assert_eq!(idp.stats().await["refresh_reuse_detected"], 0);
}

#[tokio::test]
async fn killed_between_the_servers_rotation_and_the_keychain_write_is_a_clear_reconnect() {
    let (_idp, sandbox) = setup().await;
    let id = connected(&sandbox).await;
    let old = refresh_token(&id).await.unwrap();
    let out = run(&sandbox, Some("refresh-after-response"), &["refresh", &id]).await;
    assert!(killed(&out));
    assert_eq!(
        refresh_token(&id).await.unwrap(),
        old,
        "the keychain still holds the spent token"
    );
    assert_eq!(
        json(&sandbox, &["recover", "--json"]).await[0]["status"],
        "connected"
    );
    // The server already rotated: the spent token is refused, and the account says so.
    let out = run(&sandbox, None, &["refresh", &id]).await;
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        json(&sandbox, &["show", &id, "--json"]).await["status"],
        "needs_reconnect"
    );
    // Reconnecting keeps the account's id.
    assert_eq!(connected(&sandbox).await, id);
    assert_eq!(
        json(&sandbox, &["show", &id, "--json"]).await["status"],
        "connected"
    );
}

#[tokio::test]
async fn killed_during_disconnect_is_finished_at_the_next_start() {
    let (_idp, sandbox) = setup().await;
    for point in ["disconnect-after-revoke", "disconnect-after-keychain"] {
        let id = connected(&sandbox).await;
        let out = run(&sandbox, Some(point), &["revoke", &id, "--yes"]).await;
        assert!(killed(&out), "{point}");
        assert_eq!(
            json(&sandbox, &["show", &id, "--json"]).await["status"],
            "disconnecting",
            "{point}"
        );
        assert_eq!(
            keychain_lookup(SERVICE, &id).await.is_some(),
            point == "disconnect-after-revoke",
            "{point}"
        );
        assert_eq!(
            json(&sandbox, &["recover", "--json"]).await,
            serde_json::json!([]),
            "{point}: finished"
        );
        assert!(
            keychain_lookup(SERVICE, &id).await.is_none(),
            "{point}: orphan secret"
        );
    }
    let kinds: Vec<String> = json(&sandbox, &["audit", "--json"])
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect();
    assert!(kinds.iter().filter(|k| *k == "recovered").count() >= 2);
}
