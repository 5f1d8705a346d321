//! Single-flight refresh across processes: with the access token stale, 50 `token` calls from 50
//! processes at once against oidc-provider (rotation with reuse detection, which revokes the whole
//! grant if a spent refresh token is replayed). The server must count exactly one refresh, and
//! every caller must get a token that works.

#[path = "../../../tests/support/mod.rs"]
mod support;

use std::collections::HashSet;
use std::time::Duration;

use support::{keychain_lookup, require_keyring, Idp, Sandbox};
use tokio::process::Command;

fn cli(sandbox: &Sandbox, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_connected-accounts"));
    cmd.args(args)
        .envs(sandbox.env())
        .stdin(std::process::Stdio::null());
    cmd
}

#[tokio::test]
async fn fifty_token_requests_from_fifty_processes_refresh_once() {
    require_keyring();
    // Access tokens live 4 s: stale (margin = half the lifetime) 2 s after they are issued.
    let idp = Idp::start_with(&[("IDP_ACCESS_TTL", "4")]).await;
    let sandbox = Sandbox::new();
    let out = cli(&sandbox, &support::add_demo_provider_args(&idp))
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    let out = cli(&sandbox, &["connect", "local-demo"])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let first: serde_json::Value =
        serde_json::from_str(&keychain_lookup("connected-accounts", &id).await.unwrap()).unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let before = idp.stats().await;

    // All 50 processes start before any is waited for.
    let children: Vec<_> = (0..50)
        .map(|_| {
            cli(&sandbox, &["token", &id])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut outputs = Vec::new();
    for child in children {
        outputs.push(child.wait_with_output().await.unwrap());
    }
    let mut tokens = HashSet::new();
    for out in &outputs {
        assert!(
            out.status.success(),
            "a caller failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        tokens.insert(
            String::from_utf8(out.stdout.clone())
                .unwrap()
                .trim()
                .to_string(),
        );
    }
    let after = idp.stats().await;
    let refreshes =
        after["refresh_success"].as_u64().unwrap() - before["refresh_success"].as_u64().unwrap();
    assert_eq!(refreshes, 1, "the server saw {refreshes} refreshes");
    assert_eq!(
        after["refresh_reuse_detected"], before["refresh_reuse_detected"],
        "a spent refresh token was replayed"
    );
    assert_eq!(
        tokens.len(),
        1,
        "callers got different tokens: {}",
        tokens.len()
    );
    let token = tokens.into_iter().next().unwrap();
    assert_ne!(
        token,
        first["access_token"].as_str().unwrap(),
        "the token was refreshed"
    );

    // It works, and the account is healthy.
    let me = reqwest::Client::new()
        .get(format!("{}/me", idp.issuer))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let show = cli(&sandbox, &["show", &id, "--json"])
        .output()
        .await
        .unwrap();
    let account: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    // A 4-second token is always within five minutes of expiry: "expiring" is the healthy state.
    assert_eq!(account["status"], "expiring");
    assert!(account["last_error"].is_null());
}
