//! The command-line contract, end to end through the real parts: oidc-provider on loopback, the
//! real Secret Service (gnome-keyring in a private D-Bus session), a real SQLite file, and the
//! scripted browser played through `$BROWSER`.

#[path = "../../../tests/support/mod.rs"]
mod support;

use std::process::Output;

use serde_json::Value;
use support::{keychain_lookup, require_keyring, Idp, Sandbox};
use tokio::process::Command;

const SERVICE: &str = "connected-accounts";

struct Cli<'a> {
    sandbox: &'a Sandbox,
    extra: Vec<(String, String)>,
}

impl<'a> Cli<'a> {
    fn new(sandbox: &'a Sandbox) -> Self {
        Self {
            sandbox,
            extra: vec![],
        }
    }

    fn with(mut self, k: &str, v: &str) -> Self {
        self.extra.push((k.into(), v.into()));
        self
    }

    async fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_connected-accounts"));
        cmd.args(args).stdin(std::process::Stdio::null());
        for (k, v) in self.sandbox.env().into_iter().chain(self.extra.clone()) {
            cmd.env(k, v);
        }
        cmd.output().await.expect("run connected-accounts")
    }

    /// Runs and expects success; returns stdout.
    async fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        assert!(
            out.status.success(),
            "`connected-accounts {}` failed ({:?}):\n{}",
            args.join(" "),
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    async fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args).await).expect("JSON output")
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

async fn add_demo_provider(cli: &Cli<'_>, idp: &Idp) -> String {
    cli.ok(&support::add_demo_provider_args(idp))
        .await
        .trim()
        .to_string()
}

/// An account connected through the CLI (the scripted browser signs in as alice), with the tokens
/// the keychain holds for it.
struct Connected {
    id: String,
    access: String,
    refresh: String,
}

async fn connect_alice(cli: &Cli<'_>, idp: &Idp) -> Connected {
    add_demo_provider(cli, idp).await;
    let id = cli
        .ok(&["connect", "local-demo", "--timeout", "30"])
        .await
        .trim()
        .to_string();
    assert_eq!(id.len(), 16, "account id {id:?}");
    let stored: Value = serde_json::from_str(
        &keychain_lookup(SERVICE, &id)
            .await
            .expect("tokens in the Secret Service"),
    )
    .unwrap();
    Connected {
        access: stored["access_token"].as_str().unwrap().to_string(),
        refresh: stored["refresh_token"]
            .as_str()
            .expect("a refresh token (offline_access)")
            .to_string(),
        id,
    }
}

/// What most tests start from: their own server and sandbox, with alice connected.
async fn with_alice() -> (Idp, Sandbox, Connected) {
    require_keyring();
    let idp = Idp::start().await;
    let sandbox = Sandbox::new();
    let alice = connect_alice(&Cli::new(&sandbox), &idp).await;
    (idp, sandbox, alice)
}

#[tokio::test]
async fn an_added_provider_is_listed_with_its_capabilities() {
    require_keyring();
    let idp = Idp::start().await;
    let sandbox = Sandbox::new();
    let cli = Cli::new(&sandbox);

    let provider = add_demo_provider(&cli, &idp).await;
    assert_eq!(provider, "local-demo");
    let providers = cli.json(&["providers", "--json"]).await;
    let demo = providers
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "local-demo")
        .unwrap();
    assert_eq!(demo["issuer"], idp.issuer.as_str());
    assert_eq!(demo["configured"], true);
    assert_eq!(demo["capabilities"]["protocol"], "oidc");
    assert!(cli
        .ok(&["providers"])
        .await
        .contains("\nlocal-demo\tLocal demo\tconfigured\t"));
}

#[tokio::test]
async fn a_connected_account_is_listed_with_its_identity_and_granted_scopes() {
    let (_idp, sandbox, alice) = with_alice().await;
    let cli = Cli::new(&sandbox);

    let list = cli.json(&["list", "--json"]).await;
    let a = &list[0];
    for field in [
        "id",
        "provider",
        "display_name",
        "subject",
        "email",
        "scopes_requested",
        "scopes_granted",
        "scopes_source",
        "status",
        "expires_at",
    ] {
        assert!(a.get(field).is_some(), "account JSON lacks {field}: {a}");
    }
    assert_eq!(a["id"], alice.id.as_str());
    assert_eq!(a["provider"], "local-demo");
    assert_eq!(a["display_name"], "Alice Example");
    assert_eq!(a["subject"], "alice");
    assert_eq!(a["email"], "alice@example.test");
    assert_eq!(a["status"], "connected");
    assert_eq!(a["scopes_source"], "server");
    let granted: Vec<&str> = a["scopes_granted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    for s in ["openid", "profile", "email", "offline_access"] {
        assert!(granted.contains(&s), "{s} not granted: {granted:?}");
    }
}

#[tokio::test]
async fn a_connected_accounts_tokens_are_in_no_file() {
    let (_idp, sandbox, alice) = with_alice().await;

    // The sandbox holds the SQLite file (and its WAL) and the logs.
    assert!(sandbox.data_dir().join("accounts.sqlite3").is_file());
    assert!(sandbox.log_dir().join("cli.log").is_file());
    for secret in [&alice.access, &alice.refresh] {
        let hits = support::files_containing(&sandbox.dir, secret);
        assert!(hits.is_empty(), "a token is on disk in {hits:?}");
    }
}

#[tokio::test]
async fn show_finds_an_account_by_id_or_unique_prefix() {
    let (_idp, sandbox, alice) = with_alice().await;
    let cli = Cli::new(&sandbox);

    let show = cli.ok(&["show", &alice.id]).await;
    assert!(
        show.contains("Alice Example") && show.contains("offline_access"),
        "{show}"
    );
    let show_json = cli.json(&["show", &alice.id[..6], "--json"]).await;
    assert_eq!(
        show_json["id"],
        alice.id.as_str(),
        "a unique id prefix resolves"
    );
}

#[tokio::test]
async fn test_calls_the_user_endpoint_and_shows_its_json_not_the_token() {
    let (idp, sandbox, alice) = with_alice().await;
    let cli = Cli::new(&sandbox);

    // The test call runs in Rust and returns the user JSON, not the token.
    let probe_out = cli.ok(&["test", &alice.id, "--json"]).await;
    assert!(!probe_out.contains(&alice.access));
    let probe: Value = serde_json::from_str(&probe_out).unwrap();
    assert_eq!(probe["status"], 200);
    assert_eq!(probe["method"], "GET");
    assert_eq!(probe["url"], format!("{}/me", idp.issuer).as_str());
    assert_eq!(probe["body"]["sub"], "alice");
    assert_eq!(probe["body"]["email"], "alice@example.test");
    assert!(probe["latency_ms"].as_u64().is_some());
    assert!(probe["headers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h[0] == "content-type"));
}

#[tokio::test]
async fn a_providers_sign_in_limit_is_kept_on_the_account_and_a_bad_one_changes_nothing() {
    require_keyring();
    let idp = Idp::start().await;
    let sandbox = Sandbox::new();
    let cli = Cli::new(&sandbox);
    add_demo_provider(&cli, &idp).await;
    let limits = cli
        .json(&[
            "providers",
            "lifetime",
            "local-demo",
            "--sign-in-max",
            "7d",
            "--json",
        ])
        .await;
    assert_eq!(limits["sign_in_max_secs"], 7 * 86_400);
    assert_eq!(limits["set_by_you"], true);

    let bad = cli
        .run(&[
            "providers",
            "lifetime",
            "local-demo",
            "--sign-in-max",
            "soon",
        ])
        .await;
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("not a duration"), "{}", stderr(&bad));
    let unchanged = cli
        .json(&["providers", "lifetime", "local-demo", "--json"])
        .await;
    assert_eq!(
        unchanged["sign_in_max_secs"],
        7 * 86_400,
        "the bad value changed nothing"
    );

    let started = time::OffsetDateTime::now_utc();
    let alice = connect_alice(&cli, &idp).await;
    let shown = cli.json(&["show", &alice.id, "--json"]).await;
    let ends = time::OffsetDateTime::parse(
        shown["sign_in_ends_at"].as_str().expect("an end"),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let days = (ends - started).whole_seconds() as f64 / 86_400.0;
    assert!(
        (6.99..7.01).contains(&days),
        "ends {days} days after sign-in"
    );
    assert_eq!(shown["idle_ends_at"], Value::Null);

    // A refresh from a server that says nothing about its refresh tokens keeps the end.
    let refreshed = cli.json(&["refresh", &alice.id, "--json"]).await;
    assert_eq!(refreshed["sign_in_ends_at"], shown["sign_in_ends_at"]);
    let text = cli.ok(&["show", &alice.id]).await;
    assert!(text.contains("sign-in:   lasts until"), "{text}");

    cli.ok(&[
        "providers",
        "lifetime",
        "local-demo",
        "--sign-in-max",
        "none",
    ])
    .await;
    let cleared = cli
        .json(&["providers", "lifetime", "local-demo", "--json"])
        .await;
    assert_eq!(cleared["sign_in_max_secs"], Value::Null);
    assert_eq!(cleared["set_by_you"], false);
    let kinds: Vec<String> = cli
        .json(&["audit", "--json"])
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| *k == "provider_changed").count(),
        2,
        "{kinds:?}"
    );
}

#[tokio::test]
async fn refresh_saves_the_rotated_tokens_and_moves_the_expiry() {
    let (idp, sandbox, alice) = with_alice().await;
    let cli = Cli::new(&sandbox);
    let before = cli.json(&["show", &alice.id, "--json"]).await;

    let refreshed = cli.json(&["refresh", &alice.id, "--json"]).await;
    assert_eq!(refreshed["status"], "connected");
    assert_ne!(
        refreshed["expires_at"].as_str().unwrap(),
        before["expires_at"].as_str().unwrap()
    );
    let stored: Value =
        serde_json::from_str(&keychain_lookup(SERVICE, &alice.id).await.unwrap()).unwrap();
    assert_ne!(
        stored["refresh_token"].as_str().unwrap(),
        alice.refresh,
        "rotated refresh token saved"
    );
    assert_ne!(stored["access_token"].as_str().unwrap(), alice.access);
    assert_eq!(idp.stats().await["refresh_success"], 1);
}

#[tokio::test]
async fn token_prints_only_the_fresh_access_token_without_refreshing() {
    let (idp, sandbox, alice) = with_alice().await;
    let cli = Cli::new(&sandbox);

    let token = cli.ok(&["token", &alice.id]).await;
    assert_eq!(token.trim(), alice.access);
    assert_eq!(token.lines().count(), 1);
    assert_eq!(idp.stats().await["refresh_success"], 0);
}

#[tokio::test]
async fn revoke_off_a_terminal_without_yes_refuses_and_changes_nothing() {
    let (idp, sandbox, alice) = with_alice().await;
    let cli = Cli::new(&sandbox);

    let refused = cli.run(&["revoke", &alice.id]).await;
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("--yes"));
    assert!(keychain_lookup(SERVICE, &alice.id).await.is_some());
    assert_eq!(
        cli.json(&["list", "--json"]).await[0]["id"],
        alice.id.as_str()
    );
    assert_eq!(idp.stats().await["revocation_success"], 0);
}

#[tokio::test]
async fn revoke_revokes_at_the_provider_and_forgets_the_account() {
    let (idp, sandbox, alice) = with_alice().await;
    let cli = Cli::new(&sandbox);

    let outcome = cli.json(&["revoke", &alice.id, "--yes", "--json"]).await;
    assert_eq!(outcome["kind"], "revoked");
    assert!(
        keychain_lookup(SERVICE, &alice.id).await.is_none(),
        "secret deleted"
    );
    assert_eq!(cli.json(&["list", "--json"]).await, serde_json::json!([]));
    let stats = idp.stats().await;
    assert!(
        stats["revocation_success"].as_u64().unwrap() >= 1,
        "{stats}"
    );
}

#[tokio::test]
async fn each_step_of_an_accounts_life_is_audited() {
    let (_idp, sandbox, alice) = with_alice().await;
    let cli = Cli::new(&sandbox);
    cli.ok(&["refresh", &alice.id]).await;
    cli.ok(&["token", &alice.id]).await;
    cli.ok(&["revoke", &alice.id, "--yes"]).await;

    let audit = cli.json(&["audit", "--json"]).await;
    let kinds: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for k in [
        "provider_added",
        "flow_started",
        "flow_completed",
        "refresh_succeeded",
        "token_read",
        "revoked",
    ] {
        assert!(kinds.contains(&k), "audit lacks {k}: {kinds:?}");
    }
}

#[tokio::test]
async fn scopes_can_be_overridden_per_connect_and_requested_ones_are_recorded() {
    require_keyring();
    let idp = Idp::start().await;
    let sandbox = Sandbox::new();
    let cli = Cli::new(&sandbox);
    add_demo_provider(&cli, &idp).await;
    let a = cli
        .json(&[
            "connect",
            "local-demo",
            "--scope",
            "openid",
            "--scope",
            "email",
            "--json",
        ])
        .await;
    assert_eq!(
        a["scopes_requested"],
        serde_json::json!(["openid", "email"])
    );
    let granted: Vec<&str> = a["scopes_granted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(!granted.contains(&"offline_access"));
    // No offline_access: no refresh token, so a refresh is refused with a clear reason.
    let out = cli.run(&["refresh", a["id"].as_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no refresh token"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn access_denied_ends_the_connect_with_a_clear_message_and_stores_nothing() {
    require_keyring();
    let idp = Idp::start().await;
    let sandbox = Sandbox::new();
    let cli = Cli::new(&sandbox).with("CA_TEST_CONSENT", "deny");
    add_demo_provider(&cli, &idp).await;
    let out = cli.run(&["connect", "local-demo", "--timeout", "30"]).await;
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("access was denied at Local demo"), "{err}");
    assert!(
        err.contains("hint: connect again and choose to allow access"),
        "{err}"
    );
    assert_eq!(cli.json(&["list", "--json"]).await, serde_json::json!([]));
    let audit = cli.json(&["audit", "--json"]).await;
    assert_eq!(audit[0]["kind"], "flow_failed");
}

#[tokio::test]
async fn a_browser_that_never_comes_back_times_out_and_stores_nothing() {
    require_keyring();
    let idp = Idp::start().await;
    let sandbox = Sandbox::new();
    let cli = Cli::new(&sandbox).with("CA_TEST_CONSENT", "ignore");
    add_demo_provider(&cli, &idp).await;
    let out = cli.run(&["connect", "local-demo", "--timeout", "1"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("timed out"), "{}", stderr(&out));
    assert_eq!(cli.json(&["list", "--json"]).await, serde_json::json!([]));
}

#[tokio::test]
async fn an_unreachable_or_silent_server_is_a_clear_error() {
    require_keyring();
    let sandbox = Sandbox::new();
    // Nothing listens on this port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cli = Cli::new(&sandbox);
    let out = cli
        .run(&[
            "providers",
            "add",
            "--issuer",
            &format!("http://127.0.0.1:{closed}"),
            "--client-id",
            "x",
        ])
        .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot reach http://127.0.0.1"),
        "{}",
        stderr(&out)
    );

    // A server that accepts and never answers: the request gives up after the timeout.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let out = Cli::new(&sandbox)
        .with("CONNECTED_ACCOUNTS_HTTP_TIMEOUT_SECS", "1")
        .run(&[
            "providers",
            "add",
            "--issuer",
            &format!("http://127.0.0.1:{port}"),
            "--client-id",
            "x",
        ])
        .await;
    hold.abort();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot reach"), "{}", stderr(&out));
    let listed = cli.json(&["providers", "--json"]).await;
    assert_eq!(
        listed.as_array().unwrap().len(),
        12,
        "nothing was added beside the built-ins"
    );

    // Plain http to a non-loopback host is refused before any request.
    let out = cli
        .run(&[
            "providers",
            "add",
            "--issuer",
            "http://id.example.com",
            "--client-id",
            "x",
        ])
        .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("does not use https"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn refresh_with_the_server_down_keeps_the_refresh_token_and_says_offline() {
    require_keyring();
    let sandbox = Sandbox::new();
    let cli = Cli::new(&sandbox);
    let id = {
        let idp = Idp::start().await;
        add_demo_provider(&cli, &idp).await;
        cli.ok(&["connect", "local-demo"]).await.trim().to_string()
    }; // the server stops here
    let before = keychain_lookup(SERVICE, &id).await.unwrap();
    let out = cli.run(&["refresh", &id]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot reach Local demo"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        keychain_lookup(SERVICE, &id).await.unwrap(),
        before,
        "tokens untouched"
    );
    let a = cli.json(&["show", &id, "--json"]).await;
    assert_eq!(a["status"], "offline");

    // Disconnecting while the provider is unreachable: with --yes the account is removed here and
    // the warning says access remains there.
    let out = cli.run(&["revoke", &id, "--yes", "--json"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let outcome: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome["kind"], "removed_locally");
    assert!(
        stderr(&out).contains("access remains at Local demo"),
        "{}",
        stderr(&out)
    );
    assert!(keychain_lookup(SERVICE, &id).await.is_none());
    let kinds: Vec<String> = cli
        .json(&["audit", "--json"])
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect();
    assert!(
        kinds.contains(&"revoke_failed".to_string())
            && kinds.contains(&"removed_locally".to_string())
    );
}

#[tokio::test]
async fn a_grant_revoked_elsewhere_marks_the_account_needs_reconnect_and_keeps_it() {
    require_keyring();
    let idp = Idp::start().await;
    let sandbox = Sandbox::new();
    let cli = Cli::new(&sandbox);
    add_demo_provider(&cli, &idp).await;
    let id = cli.ok(&["connect", "local-demo"]).await.trim().to_string();
    let stored: Value =
        serde_json::from_str(&keychain_lookup(SERVICE, &id).await.unwrap()).unwrap();
    let rt = stored["refresh_token"].as_str().unwrap();
    // Someone revokes the grant at the provider (as "sign out of all apps" would).
    let revoked = reqwest::Client::new()
        .post(format!("{}/token/revocation", idp.issuer))
        .form(&[("token", rt), ("client_id", "connected-accounts-demo")])
        .send()
        .await
        .unwrap();
    assert!(revoked.status().is_success());

    let out = cli.run(&["refresh", &id]).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("connect the account again"),
        "{}",
        stderr(&out)
    );
    let a = cli.json(&["show", &id, "--json"]).await;
    assert_eq!(a["status"], "needs_reconnect");
    assert!(
        keychain_lookup(SERVICE, &id).await.is_some(),
        "the entry is kept"
    );
    let out = cli.run(&["token", &id]).await;
    assert_eq!(out.status.code(), Some(3));

    // Connecting again reuses the same account id.
    let again = cli.ok(&["connect", "local-demo"]).await.trim().to_string();
    assert_eq!(again, id);
    assert_eq!(
        cli.json(&["show", &id, "--json"]).await["status"],
        "connected"
    );
}

#[tokio::test]
async fn no_secret_service_is_a_clear_error_with_no_plaintext_fallback() {
    require_keyring();
    let idp = Idp::start().await;
    let sandbox = Sandbox::new();
    add_demo_provider(&Cli::new(&sandbox), &idp).await;
    let cli = Cli::new(&sandbox).with("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");
    let out = cli.run(&["connect", "local-demo", "--timeout", "30"]).await;
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("keychain"), "{err}");
    assert!(err.contains("gnome-keyring"), "{err}");
    assert_eq!(cli.json(&["list", "--json"]).await, serde_json::json!([]));
    let audit = cli.json(&["audit", "--json"]).await;
    assert_eq!(audit[0]["kind"], "flow_failed");
}

#[tokio::test]
async fn unknown_ids_and_bad_arguments_are_clear_errors() {
    require_keyring();
    let sandbox = Sandbox::new();
    let cli = Cli::new(&sandbox);
    for args in [
        ["show", "nope"],
        ["token", "nope"],
        ["refresh", "nope"],
        ["test", "nope"],
    ] {
        let out = cli.run(&args).await;
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains("there is no account \"nope\""), "{err}");
        assert!(err.contains("connected-accounts list"), "{err}");
    }
    let out = cli.run(&["connect", "no-such-provider"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("there is no provider"));
    let out = cli
        .run(&["connect", "no-such-provider", "--timeout", "100000"])
        .await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "an out-of-range timeout is a usage error"
    );
    assert!(
        stderr(&out).contains("between 1 and 600 seconds"),
        "{}",
        stderr(&out)
    );
    let out = cli.run(&["frobnicate"]).await;
    assert_eq!(out.status.code(), Some(2), "usage errors exit 2");
    let out = cli.run(&["list"]).await;
    assert!(out.status.success());
    assert!(stderr(&out).contains("No accounts yet"));
}

#[tokio::test]
async fn device_code_sign_in_prints_the_code_and_completes() {
    require_keyring();
    let idp = Idp::start().await;
    let sandbox = Sandbox::new();
    let cli = Cli::new(&sandbox);
    add_demo_provider(&cli, &idp).await;
    // $BROWSER opens verification_uri_complete; the scripted browser confirms the code and consents.
    let out = cli
        .run(&["connect", "local-demo", "--redirect", "device", "--json"])
        .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("enter the code"), "{err}");
    assert!(err.contains("/device"), "{err}");
    let a: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(a["subject"], "alice");
    assert_eq!(a["status"], "connected");
    let id = a["id"].as_str().unwrap();
    let stored: Value = serde_json::from_str(&keychain_lookup(SERVICE, id).await.unwrap()).unwrap();
    assert!(stored["refresh_token"].is_string());
    assert_eq!(idp.stats().await["device_code_success"], 1);
    // The token works for the test call.
    let probe = cli.json(&["test", id, "--json"]).await;
    assert_eq!(probe["body"]["sub"], "alice");

    // Denied on the device page: a clear message, nothing stored.
    let out = Cli::new(&sandbox)
        .with("CA_TEST_CONSENT", "deny")
        .run(&["connect", "local-demo", "--redirect", "device"])
        .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("access was denied"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        cli.json(&["list", "--json"])
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The custom scheme belongs to the window.
    let out = cli
        .run(&["connect", "local-demo", "--redirect", "scheme"])
        .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("needs the window"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn a_built_in_provider_is_configured_from_the_command_line() {
    require_keyring();
    let sandbox = Sandbox::new();
    let cli = Cli::new(&sandbox);
    let providers = cli.json(&["providers", "--json"]).await;
    let ids: Vec<&str> = providers
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "github",
            "google",
            "microsoft",
            "gitlab",
            "spotify",
            "discord",
            "slack",
            "dropbox",
            "bitbucket",
            "twitch",
            "reddit",
            "atlassian"
        ]
    );
    let gh = &providers[0];
    assert_eq!(gh["configured"], false);
    assert_eq!(gh["capabilities"]["revocation"], "github_token_delete");
    assert_eq!(gh["setup"]["needs_client_secret"], true);
    assert_eq!(gh["setup"]["redirect_uris"][0], "http://127.0.0.1/callback");
    assert!(gh["scope_descriptions"]["read:user"].is_string());

    let out = cli.run(&["connect", "github"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("providers configure github"),
        "{}",
        stderr(&out)
    );

    // The secret comes on stdin and lands in the keychain, never on disk.
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_connected-accounts"))
        .args([
            "providers",
            "configure",
            "github",
            "--client-id",
            "Iv1.abc",
            "--client-secret-stdin",
            "--json",
        ])
        .envs(sandbox.env())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use tokio::io::AsyncWriteExt;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"s3cr3t-value-xyz\n")
        .await
        .unwrap();
    let out = child.wait_with_output().await.unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let gh: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(gh["configured"], true);
    assert_eq!(gh["client_id"], "Iv1.abc");
    assert_eq!(
        keychain_lookup(SERVICE, "client-secret:github")
            .await
            .as_deref(),
        Some("s3cr3t-value-xyz")
    );
    assert!(support::files_containing(&sandbox.dir, "s3cr3t-value-xyz").is_empty());

    let out = cli
        .run(&[
            "providers",
            "configure",
            "gitlab",
            "--client-id",
            "x",
            "--set",
            "base=http://gitlab.example.com",
        ])
        .await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "plain http is refused for a self-managed URL"
    );
    let out = cli
        .run(&[
            "providers",
            "configure",
            "gitlab",
            "--client-id",
            "x",
            "--set",
            "nope=1",
        ])
        .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("has no setting \"nope\""),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn scopes_of_an_account_are_changed_by_signing_in_again_as_the_same_person() {
    require_keyring();
    let idp = Idp::start().await;
    let sandbox = Sandbox::new();
    let cli = Cli::new(&sandbox);
    add_demo_provider(&cli, &idp).await;
    let a = cli
        .json(&[
            "connect",
            "local-demo",
            "--scope",
            "openid",
            "--scope",
            "email",
            "--json",
        ])
        .await;
    let id = a["id"].as_str().unwrap();
    assert_eq!(a["scopes_granted"], serde_json::json!(["openid", "email"]));

    // Add profile: the same account, more scopes.
    let b = cli
        .json(&[
            "connect",
            "local-demo",
            "--account",
            id,
            "--scope",
            "profile",
            "--json",
        ])
        .await;
    assert_eq!(b["id"], id);
    let granted: Vec<&str> = b["scopes_granted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(
        granted.contains(&"profile") && granted.contains(&"email"),
        "{granted:?}"
    );
    assert_eq!(
        b["display_name"], "Alice Example",
        "profile now gives the name"
    );

    // Drop email.
    let c = cli
        .json(&[
            "connect",
            "local-demo",
            "--account",
            id,
            "--drop-scope",
            "email",
            "--json",
        ])
        .await;
    assert!(
        !c["scopes_requested"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "email"),
        "{c}"
    );
    assert_eq!(
        cli.json(&["list", "--json"])
            .await
            .as_array()
            .unwrap()
            .len(),
        1,
        "still one account"
    );

    // Signing in as someone else changes nothing.
    let out = Cli::new(&sandbox)
        .with("CA_TEST_LOGIN", "bob")
        .run(&["connect", "local-demo", "--account", id, "--scope", "email"])
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not as the account being changed"),
        "{}",
        stderr(&out)
    );
    let list = cli.json(&["list", "--json"]).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["subject"], "alice");

    // Several accounts per provider: bob connects on his own.
    let bob = Cli::new(&sandbox)
        .with("CA_TEST_LOGIN", "bob")
        .json(&["connect", "local-demo", "--json"])
        .await;
    assert_ne!(bob["id"], id);
    assert_eq!(
        cli.json(&["list", "--json"])
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn at_trace_level_no_token_reaches_disk_logs_audit_output_or_keychain_labels() {
    require_keyring();
    let idp = Idp::start().await;
    let sandbox = Sandbox::new();
    let cli = Cli::new(&sandbox).with("RUST_LOG", "trace");
    add_demo_provider(&cli, &idp).await;
    let mut outputs = Vec::new();
    let id = cli.ok(&["connect", "local-demo", "--json"]).await;
    outputs.push(id.clone());
    let id = serde_json::from_str::<Value>(&id).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut secrets = Vec::new();
    let mut remember = |stored: String| {
        let v: Value = serde_json::from_str(&stored).unwrap();
        for k in ["access_token", "refresh_token", "id_token"] {
            if let Some(s) = v[k].as_str() {
                secrets.push(s.to_string());
            }
        }
    };
    remember(keychain_lookup(SERVICE, &id).await.unwrap());
    for args in [
        vec!["show", &id, "--json"],
        vec!["test", &id, "--json"],
        vec!["refresh", &id, "--json"],
        vec!["list", "--json"],
    ] {
        outputs.push(cli.ok(&args).await);
    }
    remember(keychain_lookup(SERVICE, &id).await.unwrap());
    outputs.push(cli.ok(&["audit", "--json", "--limit", "1000"]).await);
    let labels = tokio::process::Command::new("secret-tool")
        .args(["search", "--all", "service", SERVICE])
        .output()
        .await
        .unwrap();
    // Everything secret-tool prints except the secret itself: labels and attributes.
    let described: String = String::from_utf8_lossy(&labels.stdout)
        .lines()
        .chain(String::from_utf8_lossy(&labels.stderr).lines())
        .filter(|l| !l.starts_with("secret = "))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(described.contains(&id), "the item is there: {described}");
    outputs.push(cli.ok(&["revoke", &id, "--yes", "--json"]).await);

    assert!(
        sandbox.log_dir().join("cli.log").metadata().unwrap().len() > 0,
        "trace logging wrote something"
    );
    assert!(
        secrets.len() >= 5,
        "two token sets with access, refresh and ID tokens"
    );
    for secret in &secrets {
        let hits = support::files_containing(&sandbox.dir, secret);
        assert!(hits.is_empty(), "a token is on disk in {hits:?}");
        for out in &outputs {
            assert!(
                !out.contains(secret.as_str()),
                "a token is in command output"
            );
        }
        assert!(
            !described.contains(secret.as_str()),
            "a token is in a keychain label or attribute"
        );
    }
}

/// A provider's names reach the terminal as text, never as commands to it (escape sequences
/// that retitle or recolour it, bidi overrides that reorder what is read); JSON stays exact.
#[tokio::test]
async fn text_from_the_provider_cannot_drive_the_terminal() {
    require_keyring();
    let idp = Idp::start().await;
    let sandbox = Sandbox::new();
    let cli = Cli::new(&sandbox);
    add_demo_provider(&cli, &idp).await;
    // The test server names the account after its login: "<login> Example".
    let login = "\u{1b}]0;pwned\u{7}\u{1b}[31meve\u{9b}2J\u{202e}gnp.exe\u{2066}";
    let evil = Cli::new(&sandbox).with("CA_TEST_LOGIN", login);
    let connected = evil
        .run(&["connect", "local-demo", "--timeout", "30"])
        .await;
    assert!(connected.status.success(), "{}", stderr(&connected));
    let id = String::from_utf8(connected.stdout.clone())
        .unwrap()
        .trim()
        .to_string();

    let listed = cli.json(&["list", "--json"]).await;
    assert_eq!(
        listed[0]["display_name"],
        format!("{login} Example"),
        "JSON is exact"
    );
    assert_eq!(listed[0]["subject"], login);

    let acted_on = |c: char| {
        c.is_control() && c != '\n' && c != '\t'
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    let outputs = [
        ("connect (stderr)", stderr(&connected)),
        ("list", cli.ok(&["list"]).await),
        ("show", cli.ok(&["show", &id]).await),
        ("refresh", {
            let out = cli.run(&["refresh", &id]).await;
            format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out))
        }),
        ("audit", cli.ok(&["audit"]).await),
    ];
    for (what, text) in &outputs {
        assert!(
            !text.chars().any(acted_on),
            "{what} printed a control: {text:?}"
        );
    }
    let show = &outputs[2].1;
    assert!(
        show.contains("name:      \\u{1b}]0;pwned\\u{7}\\u{1b}[31meve\\u{9b}2J\\u{202e}gnp.exe\\u{2066} Example"),
        "{show}"
    );
}

async fn configure_gitlab(cli: &Cli<'_>, base: &str) -> Output {
    let setting = format!("base={base}");
    cli.run(&[
        "providers",
        "configure",
        "gitlab",
        "--client-id",
        "cid",
        "--set",
        &setting,
    ])
    .await
}

/// The https rule holds for a setting in any letter case, checked on the endpoints it fills in.
#[tokio::test]
async fn a_setting_cannot_dodge_the_https_rule_by_letter_case() {
    require_keyring();
    let sandbox = Sandbox::new();
    let cli = Cli::new(&sandbox);
    for base in [
        "HTTP://gitlab.example.com",
        "hTtP://gitlab.example.com",
        "http://gitlab.example.com",
        "ftp://gitlab.example.com",
    ] {
        let out = configure_gitlab(&cli, base).await;
        assert_eq!(out.status.code(), Some(2), "{base}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("does not use https"),
            "{base}: {}",
            stderr(&out)
        );
    }
    let gitlab = |providers: &Value| {
        providers
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == "gitlab")
            .unwrap()
            .clone()
    };
    assert_eq!(
        gitlab(&cli.json(&["providers", "--json"]).await)["configured"],
        false,
        "nothing was saved"
    );
    // https in capitals is https, and plain http is fine on loopback.
    for base in ["HTTPS://gitlab.example.com", "http://127.0.0.1:8929"] {
        let out = configure_gitlab(&cli, base).await;
        assert!(out.status.success(), "{base}: {}", stderr(&out));
    }
}

/// Hole 2 (issue 12): two real servers, each answering as a GitLab instance. An account connected
/// at A whose provider is then re-pointed at B (`--set base=B`) sends nothing to B: refresh, test
/// and `token` say "needs reconnect" (exit 3) naming both servers, and disconnecting revokes the
/// grant at A, where it lives.
#[tokio::test]
async fn moving_a_provider_never_sends_its_accounts_tokens_to_the_new_server() {
    require_keyring();
    let gitlab = [("IDP_GITLAB", "1"), ("IDP_PAR", "off")];
    let (a, b) = (
        Idp::start_with(&gitlab).await,
        Idp::start_with(&gitlab).await,
    );
    let sandbox = Sandbox::new();
    let cli = Cli::new(&sandbox);
    let configure = |base: &str| {
        let setting = format!("base={base}");
        let cli = &cli;
        async move {
            cli.ok(&[
                "providers",
                "configure",
                "gitlab",
                "--client-id",
                "connected-accounts-demo",
                "--set",
                &setting,
            ])
            .await
        }
    };
    configure(&a.issuer).await;
    let id = cli
        .ok(&[
            "connect",
            "gitlab",
            "--scope",
            "openid",
            "--scope",
            "read_user",
            "--timeout",
            "30",
        ])
        .await
        .trim()
        .to_string();
    cli.ok(&["test", &id]).await;
    cli.ok(&["refresh", &id]).await;
    let before = a.stats().await;
    assert_eq!(before["userinfo_success"], 2, "connect and test: {before}");
    assert_eq!(before["refresh_success"], 1, "{before}");

    configure(&b.issuer).await;
    for args in [["refresh", &id], ["test", &id], ["token", &id]] {
        let out = cli.run(&args).await;
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", stderr(&out));
        let text = stderr(&out);
        assert!(
            text.contains(&a.issuer) && text.contains(&b.issuer),
            "{args:?} names both servers: {text}"
        );
    }
    let listed = cli.json(&["list", "--json"]).await;
    assert_eq!(listed[0]["status"], "needs_reconnect", "{listed}");
    let at_b = b.stats().await;
    for counter in [
        "refresh_success",
        "refresh_error",
        "userinfo_success",
        "userinfo_error",
        "revocation_requests",
    ] {
        assert_eq!(at_b[counter], 0, "B saw {counter}: {at_b}");
    }
    assert_eq!(at_b["errors"], serde_json::json!({}), "{at_b}");

    // Disconnecting revokes at A, where the grant lives; B still hears nothing.
    cli.ok(&["revoke", &id, "--yes"]).await;
    let after = a.stats().await;
    assert_eq!(after["revocation_success"], 1, "{after}");
    assert_eq!(b.stats().await["revocation_requests"], 0);
    assert!(keychain_lookup(SERVICE, &id).await.is_none());
}

/// Issue 12: files in the data and state folders are for this user only (0600 in 0700 folders),
/// including those an older version left readable by others.
#[tokio::test]
async fn data_and_state_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    require_keyring();
    let idp = Idp::start().await;
    let sandbox = Sandbox::new();
    let cli = Cli::new(&sandbox);
    add_demo_provider(&cli, &idp).await;
    // As an older version left it: a readable file in the state folder.
    let state = sandbox.dir.join("state/connected-accounts");
    std::fs::create_dir_all(&state).unwrap();
    let old = state.join("left-by-an-older-version.log");
    std::fs::write(&old, "x").unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
    let id = cli
        .ok(&["connect", "local-demo", "--timeout", "30"])
        .await
        .trim()
        .to_string();
    cli.ok(&["test", &id]).await;
    cli.ok(&["refresh", &id]).await;
    let mut seen = 0;
    let mut stack = vec![sandbox.data_dir(), state];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let meta = e.metadata().unwrap();
            let mode = meta.permissions().mode() & 0o777;
            if meta.is_dir() {
                assert_eq!(mode, 0o700, "{}", e.path().display());
                stack.push(e.path());
            } else {
                assert_eq!(mode & 0o077, 0, "{} is {mode:o}", e.path().display());
                seen += 1;
            }
        }
    }
    assert!(
        seen >= 3,
        "the database, a log and a lock file at least ({seen})"
    );
}

/// Issue 12: an e-mail is a way to name an account only when the provider said it is verified
/// (anyone can put someone else's address on an account elsewhere).
#[tokio::test]
async fn only_a_verified_e_mail_names_an_account() {
    require_keyring();
    for (verified, env) in [(true, "1"), (false, "0")] {
        let idp = Idp::start_with(&[("IDP_EMAIL_VERIFIED", env)]).await;
        let sandbox = Sandbox::new();
        let cli = Cli::new(&sandbox);
        add_demo_provider(&cli, &idp).await;
        let id = cli
            .ok(&["connect", "local-demo", "--timeout", "30"])
            .await
            .trim()
            .to_string();
        let listed = cli.json(&["list", "--json"]).await;
        assert_eq!(listed[0]["email"], "alice@example.test", "shown either way");
        let out = cli.run(&["show", "alice@example.test"]).await;
        if verified {
            assert!(out.status.success(), "{}", stderr(&out));
            assert!(String::from_utf8_lossy(&out.stdout).contains(&id));
        } else {
            assert_ne!(
                out.status.code(),
                Some(0),
                "an unverified e-mail named an account"
            );
            assert!(
                stderr(&out).contains("there is no account"),
                "{}",
                stderr(&out)
            );
        }
        cli.ok(&["revoke", &id, "--yes"]).await;
    }
}

/// Issue 12: on a server where revoking one token revokes the whole grant (oidc-provider's
/// default, like Google), a reconnect leaves the replaced tokens alone: revoking them could kill
/// the grant the reconnect just got.
#[tokio::test]
async fn a_reconnect_does_not_revoke_where_that_would_kill_the_new_grant() {
    require_keyring();
    let idp = Idp::start().await;
    let sandbox = Sandbox::new();
    let cli = Cli::new(&sandbox);
    add_demo_provider(&cli, &idp).await;
    let first = cli.ok(&["connect", "local-demo"]).await.trim().to_string();
    let again = cli.ok(&["connect", "local-demo"]).await.trim().to_string();
    assert_eq!(again, first, "a reconnect keeps the account");
    assert_eq!(idp.stats().await["revocation_requests"], 0);
    cli.ok(&["refresh", &first]).await;
    cli.ok(&["test", &first]).await;
    cli.ok(&["revoke", &first, "--yes"]).await;
}

#[tokio::test]
async fn completion_scripts_cover_every_command_and_bash_loads_them() {
    let sandbox = Sandbox::new();
    let cli = Cli::new(&sandbox);
    for shell in ["bash", "zsh", "fish"] {
        let script = cli.ok(&["completions", shell]).await;
        for command in ["connect", "exec", "token", "audit", "forget-all"] {
            assert!(script.contains(command), "{shell} completes {command}");
        }
    }
    let script = sandbox.dir.join("completion.bash");
    std::fs::write(&script, cli.ok(&["completions", "bash"]).await).unwrap();
    // Loaded into a real bash: the completion is registered, and completing `ex` offers exec.
    let out = Command::new("bash")
        .arg("-c")
        .arg(r#"source "$1"; spec=$(complete -p connected-accounts) || exit 9
            fn=$(sed -E 's/.*-F ([^ ]+).*/\1/' <<<"$spec")
            COMP_WORDS=(connected-accounts ex); COMP_CWORD=1; COMP_LINE="connected-accounts ex"; COMP_POINT=${#COMP_LINE}
            "$fn" connected-accounts ex connected-accounts; printf '%s\n' "${COMPREPLY[@]}""#)
        .arg("bash")
        .arg(&script)
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "exec");
    assert!(
        sandbox
            .dir
            .join("data/connected-accounts")
            .read_dir()
            .is_err(),
        "no database was made"
    );
}
