//! The loopback callback against the real authorization server: only the one valid callback of a
//! pending flow is accepted; forged, missing, replayed and crossed ones are refused and audited.

#[path = "../../../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::Duration;

use ca_core::ConnectRequest;
use ca_core::{Engine, ErrorKind};
use support::{require_keyring, Idp, Sandbox};

/// These tests read the authorization request's parameters (state, PKCE, redirect) from its URL,
/// so the server takes them there rather than pushed (RFC 9126); pushing has its own tests.
const NO_PAR: &[(&str, &str)] = &[("IDP_PAR", "off")];

async fn engine(sandbox: &Sandbox, idp: &Idp) -> Arc<Engine> {
    let namespace = format!("connected-accounts-test-{}", std::process::id());
    Arc::new(support::demo_engine(sandbox, idp, &namespace).await)
}

fn query_param(url: &str, name: &str) -> String {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

async fn get(url: &str) -> reqwest::Result<reqwest::Response> {
    reqwest::Client::new().get(url).send().await
}

async fn play_browser(url: &str) {
    let status = tokio::process::Command::new("python3")
        .arg(support::repo_root().join("tests/idp/browser.py"))
        .arg(url)
        .status()
        .await
        .unwrap();
    assert!(status.success(), "the scripted browser failed");
}

#[tokio::test]
async fn only_the_valid_callback_is_accepted_and_it_cannot_be_replayed() {
    require_keyring();
    let idp = Idp::start_with(NO_PAR).await;
    let sandbox = Sandbox::new();
    let engine = engine(&sandbox, &idp).await;

    let started = engine
        .connect_begin(ConnectRequest::provider("local-demo").timeout(Duration::from_secs(30)))
        .await
        .unwrap();
    let url = &support::follow_launcher(&started.browser_url).await;
    assert_eq!(query_param(url, "code_challenge_method"), "S256");
    assert_eq!(
        query_param(url, "prompt"),
        "consent",
        "offline_access asks for consent"
    );
    assert!(
        query_param(url, "state").len() >= 43,
        "state carries at least 256 bits"
    );
    assert!(query_param(url, "nonce").len() >= 43);
    assert!(started.redirect_uri.starts_with("http://127.0.0.1:"));
    let state = query_param(url, "state");

    let finish = tokio::spawn({
        let engine = engine.clone();
        let flow = started.flow_id.clone();
        async move { engine.connect_finish(&flow).await }
    });
    let cb = &started.redirect_uri;
    // Forged callbacks: wrong state, missing state, an error with a wrong state.
    for forged in [
        format!("{cb}?code=forged&state=wrong"),
        format!("{cb}?code=forged"),
        format!("{cb}?error=access_denied&state=wrong"),
    ] {
        let r = get(&forged).await.unwrap();
        assert_eq!(r.status(), 400, "{forged}");
        assert_eq!(r.headers()["cache-control"], "no-store");
    }
    let stray = get(&cb.replace("/callback", "/other")).await.unwrap();
    assert_eq!(stray.status(), 404);
    assert!(
        !finish.is_finished(),
        "forged callbacks must not end the flow"
    );
    assert!(engine
        .accounts()
        .await
        .unwrap()
        .iter()
        .all(|a| a.status.as_str() == "connecting"));

    play_browser(url).await;
    let account = finish.await.unwrap().unwrap();
    assert_eq!(account.subject, "alice");
    assert_eq!(engine.accounts().await.unwrap().len(), 1);

    // The listener is closed after its one valid callback: a replay cannot even connect.
    let replay = get(&format!("{cb}?code=again&state={state}")).await;
    assert!(replay.is_err(), "replayed callback reached a listener");

    let audit = engine.audit_log(50).await.unwrap();
    let mismatches = audit.iter().filter(|e| e.kind == "state_mismatch").count();
    assert_eq!(mismatches, 3, "{audit:?}");
}

#[tokio::test]
async fn an_issuer_mismatch_ends_the_flow_and_stores_nothing() {
    require_keyring();
    let idp = Idp::start_with(NO_PAR).await;
    let sandbox = Sandbox::new();
    let engine = engine(&sandbox, &idp).await;
    let started = engine
        .connect_begin(ConnectRequest::provider("local-demo").timeout(Duration::from_secs(30)))
        .await
        .unwrap();
    let state = query_param(
        &support::follow_launcher(&started.browser_url).await,
        "state",
    );
    let finish = tokio::spawn({
        let engine = engine.clone();
        let flow = started.flow_id.clone();
        async move { engine.connect_finish(&flow).await }
    });
    let r = get(&format!(
        "{}?code=x&state={state}&iss=https%3A%2F%2Fevil.example",
        started.redirect_uri
    ))
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    let err = finish.await.unwrap().unwrap_err();
    assert_eq!(err.kind, ErrorKind::Forged);
    assert!(err.message.contains("issuer mismatch"), "{}", err.message);
    assert!(
        engine.accounts().await.unwrap().is_empty(),
        "the intent was rolled back"
    );
    let audit = engine.audit_log(10).await.unwrap();
    assert!(audit.iter().any(|e| e.kind == "iss_mismatch"));
}

/// What the scripted browser would have delivered after consent at `url`, without delivering it.
async fn intercepted_callback(url: &str) -> String {
    intercepted_callback_as(url, "alice").await
}

/// Mix-up (RFC 9207): two real authorization servers. A flow started for A receives B's code
/// (as an attacker who controls B would inject it), with B's `iss` or with `iss` stripped. Both
/// are refused and audited, and the code is never sent to anyone's token endpoint.
#[tokio::test]
async fn a_code_from_another_server_is_refused_mix_up() {
    require_keyring();
    let (a, b) = (Idp::start_with(NO_PAR).await, Idp::start_with(NO_PAR).await);
    let sandbox = Sandbox::new();
    let engine = engine(&sandbox, &a).await;
    engine
        .add_provider(ca_core::NewProvider {
            issuer: b.issuer.clone(),
            client_id: "connected-accounts-demo".into(),
            name: Some("Server B".into()),
            ..Default::default()
        })
        .await
        .unwrap();

    for strip_iss in [false, true] {
        let for_a = engine
            .connect_begin(ConnectRequest::provider("local-demo").timeout(Duration::from_secs(30)))
            .await
            .unwrap();
        let finish_a = tokio::spawn({
            let engine = engine.clone();
            let flow = for_a.flow_id.clone();
            async move { engine.connect_finish(&flow).await }
        });
        // A real sign-in at B gives a real code from B, with B's issuer.
        let for_b = engine
            .connect_begin(ConnectRequest::provider("server-b").timeout(Duration::from_secs(30)))
            .await
            .unwrap();
        let finish_b = tokio::spawn({
            let engine = engine.clone();
            let flow = for_b.flow_id.clone();
            async move { engine.connect_finish(&flow).await }
        });
        let from_b = intercepted_callback(&for_b.browser_url).await;
        assert_eq!(query_param(&from_b, "iss"), b.issuer);
        let code = query_param(&from_b, "code");

        let mut injected = url::Url::parse(&for_a.redirect_uri).unwrap();
        injected
            .query_pairs_mut()
            .append_pair("code", &code)
            .append_pair(
                "state",
                &query_param(&support::follow_launcher(&for_a.browser_url).await, "state"),
            );
        if !strip_iss {
            injected.query_pairs_mut().append_pair("iss", &b.issuer);
        }
        let r = get(injected.as_str()).await.unwrap();
        assert_eq!(r.status(), 400, "strip_iss={strip_iss}");
        let err = finish_a.await.unwrap().unwrap_err();
        assert_eq!(err.kind, ErrorKind::Forged, "{err:?}");
        assert!(err.message.contains("issuer mismatch"), "{}", err.message);
        // The person never finished at B (the attacker took the code): B's flow is cancelled.
        assert!(engine.connect_cancel(&for_b.flow_id));
        assert!(finish_b.await.unwrap().is_err());
    }

    assert!(
        engine.accounts().await.unwrap().is_empty(),
        "nothing was stored"
    );
    let audit = engine.audit_log(50).await.unwrap();
    let refused: Vec<_> = audit
        .iter()
        .filter(|e| e.kind == "iss_mismatch" && e.provider_id.as_deref() == Some("local-demo"))
        .collect();
    assert_eq!(refused.len(), 2, "{audit:?}");
    for (server, name) in [(&a, "A"), (&b, "B")] {
        let stats = server.stats().await;
        assert_eq!(stats["auth_code_success"], 0, "server {name}: {stats}");
        assert_eq!(stats["auth_code_error"], 0, "server {name}: {stats}");
    }
}

#[tokio::test]
async fn two_flows_at_once_never_cross_and_cancel_ends_one() {
    require_keyring();
    let idp = Idp::start_with(NO_PAR).await;
    let sandbox = Sandbox::new();
    let engine = engine(&sandbox, &idp).await;
    let a = engine
        .connect_begin(ConnectRequest::provider("local-demo"))
        .await
        .unwrap();
    let b = engine
        .connect_begin(ConnectRequest::provider("local-demo"))
        .await
        .unwrap();
    assert_ne!(
        a.redirect_uri, b.redirect_uri,
        "each flow has its own listener"
    );
    let finish_b = tokio::spawn({
        let engine = engine.clone();
        let flow = b.flow_id.clone();
        async move { engine.connect_finish(&flow).await }
    });
    // A's state presented to B's listener is refused.
    let a_url = support::follow_launcher(&a.browser_url).await;
    let state_a = query_param(&a_url, "state");
    let r = get(&format!("{}?code=x&state={state_a}", b.redirect_uri))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    assert!(engine.connect_cancel(&b.flow_id));
    let err = finish_b.await.unwrap().unwrap_err();
    assert_eq!(err.kind, ErrorKind::Cancelled);

    // A still completes normally.
    let finish_a = tokio::spawn({
        let engine = engine.clone();
        let flow = a.flow_id.clone();
        async move { engine.connect_finish(&flow).await }
    });
    play_browser(&a_url).await;
    finish_a.await.unwrap().unwrap();
    let accounts = engine.accounts().await.unwrap();
    assert_eq!(accounts.len(), 1, "the cancelled flow left nothing behind");
    assert_eq!(accounts[0].status.as_str(), "connected");
    // Clean up the keychain entry this test made.
    engine.disconnect(&accounts[0].id, true).await.unwrap();
}

#[tokio::test]
async fn a_custom_scheme_callback_is_accepted_only_for_its_pending_flow() {
    require_keyring();
    let idp = Idp::start_with(NO_PAR).await;
    let sandbox = Sandbox::new();
    let engine = engine(&sandbox, &idp).await;

    // Nothing pending: refused and audited.
    let stray = "io.github.connectedaccounts:/oauth/callback?code=x&state=nobody";
    assert_eq!(
        engine.deliver_callback_url(stray).await.unwrap_err().kind,
        ErrorKind::Forged
    );
    let too_long = format!("{stray}&pad={}", "a".repeat(10_000));
    assert!(engine.deliver_callback_url(&too_long).await.is_err());
    assert!(engine.deliver_callback_url("not a url").await.is_err());
    assert!(engine
        .deliver_callback_url("https://evil.example/oauth/callback?state=x")
        .await
        .is_err());

    let started = engine
        .connect_begin(
            ConnectRequest::provider("local-demo")
                .timeout(Duration::from_secs(30))
                .redirect(Some(ca_core::catalog::RedirectKind::CustomScheme)),
        )
        .await
        .unwrap();
    assert_eq!(
        started.redirect_uri,
        "io.github.connectedaccounts:/oauth/callback"
    );
    let real = support::follow_launcher(&started.browser_url).await;
    assert_eq!(query_param(&real, "redirect_uri"), started.redirect_uri);
    let finish = tokio::spawn({
        let engine = engine.clone();
        let flow = started.flow_id.clone();
        async move { engine.connect_finish(&flow).await }
    });
    // The browser ends at the custom-scheme URL; the desktop would hand it to the app.
    let out = tokio::process::Command::new("python3")
        .arg(support::repo_root().join("tests/idp/browser.py"))
        .arg(&real)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let callback = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(
        callback.starts_with("io.github.connectedaccounts:/oauth/callback?code="),
        "{callback}"
    );
    // A forged state first: refused, and the flow keeps waiting.
    let forged = callback.replace("state=", "state=x");
    assert!(engine.deliver_callback_url(&forged).await.is_err());
    engine.deliver_callback_url(&callback).await.unwrap();
    let account = finish.await.unwrap().unwrap();
    assert_eq!(account.subject, "alice");
    // Replayed: the flow is gone.
    assert!(engine.deliver_callback_url(&callback).await.is_err());
    let audit = engine.audit_log(50).await.unwrap();
    assert!(
        audit
            .iter()
            .filter(|e| e.kind == "unsolicited_callback")
            .count()
            >= 5,
        "{audit:?}"
    );
    engine.disconnect(&account.id, true).await.unwrap();
}

/// What the scripted browser would deliver after `login` consents at `url`, without delivering it.
async fn intercepted_callback_as(url: &str, login: &str) -> String {
    let out = tokio::process::Command::new("python3")
        .arg(support::repo_root().join("tests/idp/browser.py"))
        .arg(url)
        .env("CA_TEST_PRINT_CALLBACK", "1")
        .env("CA_TEST_LOGIN", login)
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "the scripted browser failed");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Hole 1 (issue 12): another local user reads the sign-in from the browser's command line and
/// tries to finish it with their own account. The browser's command line carries only the
/// launcher; even with the real authorization URL (as before the fix) and their own valid code,
/// the listener refuses them before reading a byte, audits it, and the sign-in finishes with the
/// right person, its `state` unused by them.
#[tokio::test]
async fn another_local_user_cannot_finish_your_sign_in_with_their_account() {
    require_keyring();
    let idp = Idp::start_with(NO_PAR).await;
    let sandbox = Sandbox::new();
    let engine = engine(&sandbox, &idp).await;
    let started = engine
        .connect_begin(ConnectRequest::provider("local-demo").timeout(Duration::from_secs(60)))
        .await
        .unwrap();
    let launcher = url::Url::parse(&started.browser_url).unwrap();
    assert_eq!(launcher.host_str(), Some("127.0.0.1"));
    assert!(launcher.path().starts_with("/start/"), "{launcher}");
    assert!(
        launcher.query().is_none(),
        "nothing of the request is on the command line"
    );
    let finish = tokio::spawn({
        let engine = engine.clone();
        let flow = started.flow_id.clone();
        async move { engine.connect_finish(&flow).await }
    });

    // Reading the launcher off the command line gets another user nowhere, and does not use it up.
    let (status, body) = support::get_as_other_user(&started.browser_url).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("belongs to another user"), "{body}");
    let real = support::follow_launcher(&started.browser_url).await;

    // Mallory signs in as herself with our request and sends her code with our state.
    let mallory = intercepted_callback_as(&real, "mallory").await;
    assert_eq!(query_param(&mallory, "state"), query_param(&real, "state"));
    let (status, _) = support::get_as_other_user(&mallory).await;
    assert_eq!(status, 403, "another user's callback is refused");
    assert!(
        !finish.is_finished(),
        "a refused peer does not end the sign-in"
    );

    // The person signing in finishes, as themselves, with the same state.
    play_browser(&real).await;
    let account = finish.await.unwrap().unwrap();
    assert_eq!(account.subject, "alice");
    let stats = idp.stats().await;
    assert_eq!(
        stats["auth_code_success"], 1,
        "mallory's code never reached the server: {stats}"
    );

    let audit = engine.audit_log(50).await.unwrap();
    let refused: Vec<_> = audit.iter().filter(|e| e.kind == "peer_refused").collect();
    assert_eq!(refused.len(), 2, "{audit:?}");
    assert!(
        refused.iter().all(|e| e.detail.contains("uid 65534")),
        "{refused:?}"
    );
    assert_eq!(
        audit.iter().filter(|e| e.kind == "state_mismatch").count(),
        0
    );
    engine.disconnect(&account.id, true).await.unwrap();
}

/// Hole 1, custom scheme and device code: their browser also gets a launcher only this user can
/// fetch (a device sign-in's `verification_uri_complete` carries its user code).
#[tokio::test]
async fn scheme_and_device_sign_ins_open_a_launcher_only_you_can_use() {
    require_keyring();
    let idp = Idp::start().await;
    let sandbox = Sandbox::new();
    let engine = engine(&sandbox, &idp).await;
    let scheme = engine
        .connect_begin(
            ConnectRequest::provider("local-demo")
                .timeout(Duration::from_secs(30))
                .redirect(Some(ca_core::catalog::RedirectKind::CustomScheme)),
        )
        .await
        .unwrap();
    assert!(scheme.browser_url.starts_with("http://127.0.0.1:"));
    assert_eq!(support::get_as_other_user(&scheme.browser_url).await.0, 403);
    let real = support::follow_launcher(&scheme.browser_url).await;
    assert!(real.starts_with(&idp.issuer), "{real}");
    engine.connect_cancel(&scheme.flow_id);
    let _ = engine.connect_finish(&scheme.flow_id).await;

    let device = engine
        .device_begin(ConnectRequest::provider("local-demo"))
        .await
        .unwrap();
    assert!(device.verification_uri_complete.is_some());
    let launcher = device.browser_url.clone().unwrap();
    assert!(!launcher.contains(&device.user_code));
    assert_eq!(support::get_as_other_user(&launcher).await.0, 403);
    let finish = tokio::spawn({
        let engine = engine.clone();
        let flow = device.flow_id.clone();
        async move { engine.device_finish(&flow).await }
    });
    // Our own browser follows the launcher to the page with the code, and approves.
    play_browser(&launcher).await;
    let account = finish.await.unwrap().unwrap();
    assert_eq!(account.subject, "alice");
    let audit = engine.audit_log(50).await.unwrap();
    assert_eq!(
        audit.iter().filter(|e| e.kind == "peer_refused").count(),
        2,
        "{audit:?}"
    );
    engine.disconnect(&account.id, true).await.unwrap();
}

/// RFC 9126: where the server takes pushed requests (here it requires them), the browser's URL
/// carries only `client_id` and `request_uri`; state, PKCE and the redirect never appear in a URL.
#[tokio::test]
async fn a_pushed_request_keeps_the_sign_in_out_of_every_url() {
    require_keyring();
    let idp = Idp::start_with(&[("IDP_PAR", "required")]).await;
    let sandbox = Sandbox::new();
    let engine = engine(&sandbox, &idp).await;
    let started = engine
        .connect_begin(ConnectRequest::provider("local-demo").timeout(Duration::from_secs(30)))
        .await
        .unwrap();
    let finish = tokio::spawn({
        let engine = engine.clone();
        let flow = started.flow_id.clone();
        async move { engine.connect_finish(&flow).await }
    });
    let real = support::follow_launcher(&started.browser_url).await;
    let mut keys: Vec<String> = url::Url::parse(&real)
        .unwrap()
        .query_pairs()
        .map(|(k, _)| k.into_owned())
        .collect();
    keys.sort();
    assert_eq!(keys, ["client_id", "request_uri"], "{real}");
    assert!(query_param(&real, "request_uri").starts_with("urn:ietf:params:oauth:request_uri:"));
    // The launcher works once.
    let again = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
        .get(&started.browser_url)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 410);
    play_browser(&real).await;
    let account = finish.await.unwrap().unwrap();
    assert_eq!(account.subject, "alice");
    let audit = engine.audit_log(50).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.kind == "flow_started" && e.detail.contains("pushed (RFC 9126)")),
        "{audit:?}"
    );
    engine.disconnect(&account.id, true).await.unwrap();
}

/// A whole browser sign-in through the scripted browser (as alice).
async fn signed_in(engine: &Arc<Engine>, request: ConnectRequest) -> ca_core::Account {
    let started = engine
        .connect_begin(request.timeout(Duration::from_secs(30)))
        .await
        .unwrap();
    let finish = tokio::spawn({
        let engine = engine.clone();
        let flow = started.flow_id.clone();
        async move { engine.connect_finish(&flow).await }
    });
    play_browser(&started.browser_url).await;
    finish.await.unwrap().unwrap()
}

/// "Connect again" on an account names it to the server (`login_hint`), so the server need not
/// ask which account; without it, a provider that has an account gets a fresh login.
#[tokio::test]
async fn connecting_an_account_again_names_it_to_the_server() {
    require_keyring();
    let idp = Idp::start_with(NO_PAR).await;
    let sandbox = Sandbox::new();
    let engine = engine(&sandbox, &idp).await;
    let alice = signed_in(&engine, ConnectRequest::provider("local-demo")).await;
    let again = signed_in(
        &engine,
        ConnectRequest::provider("local-demo").reconnect(Some(alice.id.clone())),
    )
    .await;
    assert_eq!(again.id, alice.id, "the same account, signed in again");
    signed_in(&engine, ConnectRequest::provider("local-demo")).await;
    let stats = idp.stats().await;
    assert_eq!(
        stats["login_hints"],
        serde_json::json!([null, "alice@example.test", null]),
        "{stats}"
    );
    assert_eq!(
        stats["prompts"],
        serde_json::json!(["consent", "consent", "login consent"]),
        "{stats}"
    );
}
