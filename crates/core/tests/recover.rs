//! Operations interrupted mid-way (the process died) are settled from the rows' intents alone:
//! a half-done connect is rolled back (no orphan secret), a refresh keeps the newest saved token,
//! a disconnect is finished. Run against the real Secret Service and the real server.

#[path = "../../../tests/support/mod.rs"]
mod support;

use ca_core::consumer::{Consumer, ReadKind};
use ca_core::ConnectRequest;
use ca_core::Engine;
use support::{keychain_lookup, require_keyring, Idp, Sandbox};

async fn set_status(engine: &Engine, id: &str, status: &str) {
    sqlx::query("UPDATE accounts SET status = ? WHERE id = ?")
        .bind(status)
        .bind(id)
        .execute(engine.db())
        .await
        .unwrap();
}

#[tokio::test]
async fn interrupted_operations_are_rolled_back_or_finished() {
    require_keyring();
    let idp = Idp::start().await;
    let sandbox = Sandbox::new();
    let namespace = format!("connected-accounts-recover-{}", std::process::id());
    let engine = support::demo_engine(&sandbox, &idp, &namespace).await;

    // Two real accounts (alice, bob), connected through the scripted browser.
    let mut ids = Vec::new();
    for login in ["alice", "bob"] {
        let started = engine
            .connect_begin(ConnectRequest::provider("local-demo"))
            .await
            .unwrap();
        let browser = tokio::process::Command::new("python3")
            .arg(support::repo_root().join("tests/idp/browser.py"))
            .arg(&started.browser_url)
            .env("CA_TEST_LOGIN", login)
            .status();
        let (account, status) = tokio::join!(engine.connect_finish(&started.flow_id), browser);
        assert!(status.unwrap().success());
        ids.push(account.unwrap().id);
    }
    let (refreshing, disconnecting) = (ids[0].clone(), ids[1].clone());
    let saved = keychain_lookup(&namespace, &refreshing).await.unwrap();

    // What a crash leaves behind: a connect whose tokens reached the keychain but whose row did
    // not settle, a refresh in flight, a disconnect in flight.
    let orphan = "0123456789abcdef".to_string();
    sqlx::query(
        "INSERT INTO accounts (id, provider_id, status, created_at, updated_at) VALUES (?, 'local-demo', 'connecting', 0, 0)",
    )
    .bind(&orphan)
    .execute(engine.db())
    .await
    .unwrap();
    tokio::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "printf '%s' '{{\"v\":1,\"access_token\":\"orphan\",\"obtained_at_ms\":0}}' | secret-tool store --label=orphan service {namespace} username {orphan}"
        ))
        .status()
        .await
        .unwrap();
    assert!(keychain_lookup(&namespace, &orphan).await.is_some());
    set_status(&engine, &refreshing, "refreshing").await;
    set_status(&engine, &disconnecting, "disconnecting").await;

    let accounts = engine.recover_interrupted().await.unwrap();

    assert!(
        keychain_lookup(&namespace, &orphan).await.is_none(),
        "no orphan secret"
    );
    assert_eq!(accounts.len(), 1, "{accounts:?}");
    assert_eq!(accounts[0].id, refreshing);
    assert_eq!(accounts[0].status.as_str(), "connected");
    assert_eq!(
        keychain_lookup(&namespace, &refreshing).await.unwrap(),
        saved,
        "newest token kept"
    );
    assert!(keychain_lookup(&namespace, &disconnecting).await.is_none());
    assert!(idp.stats().await["revocation_success"].as_u64().unwrap() >= 1);
    let recovered = engine
        .audit_log(50)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "recovered")
        .count();
    assert_eq!(recovered, 3);

    // The refreshed-through-recovery account still works.
    let probe = engine.test_account(&refreshing, &me()).await.unwrap();
    assert_eq!(probe.status, 200);
    assert_eq!(probe.body["sub"], "alice");
    engine.disconnect(&refreshing, true).await.unwrap();
}

#[tokio::test]
async fn the_scheduler_refreshes_ahead_of_expiry_without_being_asked() {
    require_keyring();
    // 4-second tokens: due at half their lifetime.
    let idp = Idp::start_with(&[("IDP_ACCESS_TTL", "4")]).await;
    let sandbox = Sandbox::new();
    let namespace = format!("connected-accounts-scheduler-{}", std::process::id());
    let engine = std::sync::Arc::new(support::demo_engine(&sandbox, &idp, &namespace).await);
    let started = engine
        .connect_begin(ConnectRequest::provider("local-demo"))
        .await
        .unwrap();
    let browser = tokio::process::Command::new("python3")
        .arg(support::repo_root().join("tests/idp/browser.py"))
        .arg(&started.browser_url)
        .status();
    let (account, status) = tokio::join!(engine.connect_finish(&started.flow_id), browser);
    assert!(status.unwrap().success());
    let account = account.unwrap();
    let first = keychain_lookup(&namespace, &account.id).await.unwrap();

    let mut updates = engine.subscribe();
    let scheduler = tokio::spawn(engine.clone().run_scheduler());
    tokio::time::sleep(std::time::Duration::from_secs(7)).await;
    scheduler.abort();
    let mut events = Vec::new();
    while let Ok(update) = updates.try_recv() {
        events.push(update);
    }

    let refreshes = idp.stats().await["refresh_success"].as_u64().unwrap();
    // Refreshed without being asked (due every ~2 s), and no busy loop (that would be dozens).
    assert!((1..=6).contains(&refreshes), "{refreshes} refreshes");
    assert_eq!(idp.stats().await["refresh_reuse_detected"], 0);
    assert_ne!(
        keychain_lookup(&namespace, &account.id).await.unwrap(),
        first
    );
    // Every background refresh was published, as the window's list and notifications need.
    assert_eq!(events.len() as u64, refreshes, "{events:?}");
    assert!(
        events
            .iter()
            .all(|e| matches!(e, ca_core::AccountUpdate::Refreshed(a) if a.id == account.id)),
        "{events:?}"
    );
    let probe = engine.test_account(&account.id, &me()).await.unwrap();
    assert_eq!(probe.status, 200);
    engine.disconnect(&account.id, true).await.unwrap();
}

fn me() -> Consumer {
    Consumer::this_process(ReadKind::Test)
}
