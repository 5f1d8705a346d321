//! Tokens bound to this device (issue 19): a real authorization server with DPoP on
//! (oidc-provider, `IDP_DPOP`) and a real API that checks proofs (tests/idp/resource.mjs). A bound
//! account connects, tests, refreshes and disconnects; its tokens copied out of the keychain are
//! useless (the refresh token without the key, the access token as a bearer token); `token`,
//! `exec` and git refuse it; `request` calls the API for it, with step-up and the origin rule.

#[path = "../../../tests/support/profile_cli.rs"]
mod profile_cli;
#[path = "../../../tests/support/mod.rs"]
mod support;

use std::process::Output;

use profile_cli::ProfileCli;
use serde_json::Value;
use support::{keychain_lookup, require_keyring, Idp, Resource, Sandbox};

type Cli<'a> = ProfileCli<'a>;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The command line with HOME in the sandbox (git's global configuration goes there).
async fn in_home(cli: &Cli<'_>, args: &[&str], stdin: &str) -> Output {
    let home = cli.sandbox.dir.display().to_string();
    cli.run_with(args, "", stdin, &[("HOME", &home)]).await
}

/// The account's keychain entry, as another program of the user's could read it.
async fn stored(cli: &Cli<'_>, id: &str) -> Value {
    let text = keychain_lookup(&cli.service(), id)
        .await
        .expect("the keychain holds the account");
    serde_json::from_str(&text).unwrap()
}

async fn discovery(idp: &Idp) -> Value {
    reqwest::get(format!("{}/.well-known/openid-configuration", idp.issuer))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn connect_demo(cli: &Cli<'_>, idp: &Idp, extra: &[&str]) -> Value {
    cli.ok(&support::add_demo_provider_args(idp), "").await;
    let mut args = vec![
        "connect",
        "local-demo",
        "--scope",
        "openid",
        "--scope",
        "profile",
        "--scope",
        "email",
        "--scope",
        "offline_access",
        "--json",
    ];
    args.extend_from_slice(extra);
    cli.ok(&args, "alice").await
}

#[tokio::test]
async fn a_bound_account_works_through_the_app_and_its_copied_tokens_work_nowhere() {
    require_keyring();
    let idp = Idp::start_with(&[("IDP_DPOP", "on")]).await;
    let sandbox = Sandbox::new();
    let cli = Cli::new(&sandbox, "dpop");
    let account = connect_demo(&cli, &idp, &[]).await;
    assert_eq!(account["bound"], true, "{account}");
    let id = account["id"].as_str().unwrap().to_owned();

    // The key is in the account's one keychain entry, beside the tokens it binds.
    let entry = stored(&cli, &id).await;
    assert_eq!(entry["v"], 2, "an older app refuses a bound entry");
    let key = entry["dpop_key"].as_str().expect("the key").to_owned();
    let access = entry["access_token"].as_str().unwrap().to_owned();
    let refresh = entry["refresh_token"].as_str().unwrap().to_owned();

    // The test call reaches the server's user endpoint with a proof.
    let tested = cli.ok(&["test", &id, "--json"], "").await;
    assert_eq!(tested["status"], 200, "{tested}");
    assert_eq!(tested["body"]["sub"], "alice");

    let meta = discovery(&idp).await;
    let http = reqwest::Client::new();
    // The access token copied out of the keychain, used as a bearer token: refused.
    let copied = http
        .get(meta["userinfo_endpoint"].as_str().unwrap())
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(
        copied.status(),
        401,
        "a bound access token is no bearer token"
    );
    // The refresh token copied out, without the key: refused, and the grant survives it.
    let copied = http
        .post(meta["token_endpoint"].as_str().unwrap())
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
            ("client_id", "connected-accounts-demo"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(copied.status(), 400);
    let refused: Value = copied.json().await.unwrap();
    assert_eq!(refused["error"], "invalid_grant", "{refused}");

    // The app, which has the key, refreshes; the key stays with the new tokens.
    let refreshed = cli.ok(&["refresh", &id, "--json"], "").await;
    assert_eq!(refreshed["status"], "connected", "{refreshed}");
    let entry = stored(&cli, &id).await;
    assert_eq!(entry["dpop_key"], key.as_str());
    assert_ne!(entry["refresh_token"], refresh.as_str(), "rotated");
    assert_eq!(idp.stats().await["refresh_success"], 1);

    // No program gets the token: `token` exits 5, `exec` 125, with the way that works.
    let out = cli.run(&["token", &id], "", "").await;
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    let said = stderr(&out);
    assert!(said.contains("bound to this device"), "{said}");
    assert!(said.contains("connected-accounts request"), "{said}");
    let out = cli
        .run(&["exec", &id, "--", "sh", "-c", "echo ran"], "", "")
        .await;
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(!stdout(&out).contains("ran"), "the program never started");
    assert!(stderr(&out).contains("bound to this device"));
    // git is told to stop asking (quit=1), with the reason on stderr.
    let setup = in_home(
        &cli,
        &["setup-git", "--account", &id, "--host", "127.0.0.1:9"],
        "",
    )
    .await;
    assert!(setup.status.success(), "{}", stderr(&setup));
    let out = in_home(
        &cli,
        &["git-credential", "get"],
        "protocol=http\nhost=127.0.0.1:9\npath=team/repo.git\n\n",
    )
    .await;
    assert!(stdout(&out).contains("quit=1"), "{}", stdout(&out));
    assert!(!stdout(&out).contains("password="));
    assert!(
        stderr(&out).contains("bound to this device"),
        "{}",
        stderr(&out)
    );
    let audit = cli.ok(&["audit", "--json"], "").await;
    let refusals = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["kind"] == "read_refused"
                && e["detail"]
                    .as_str()
                    .unwrap_or("")
                    .contains("bound to this device")
        })
        .count();
    assert_eq!(refusals, 3, "token, exec and git are audited: {audit}");

    // `request` calls the API for it: the body on stdout, exit 0.
    let userinfo = meta["userinfo_endpoint"].as_str().unwrap();
    let out = cli.run(&["request", &id, userinfo], "", "").await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let body: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["sub"], "alice");
    let out = cli.run(&["request", &id, "-i", userinfo], "", "").await;
    assert!(stdout(&out).starts_with("HTTP 200\n"), "{}", stdout(&out));
    assert!(!stdout(&out).contains(&access));

    // Nothing of the key or the tokens reached the app's files.
    let entry = stored(&cli, &id).await;
    for secret in [
        key.as_str(),
        entry["access_token"].as_str().unwrap(),
        entry["refresh_token"].as_str().unwrap(),
    ] {
        cli.nowhere_in_files(secret);
    }

    // Disconnecting revokes with a proof, and the entry goes with the key in it.
    cli.ok(&["revoke", &id, "--yes", "--json"], "").await;
    assert!(keychain_lookup(&cli.service(), &id).await.is_none());
    assert!(idp.stats().await["revocation_success"].as_u64().unwrap() >= 1);
}

#[tokio::test]
async fn a_server_that_requires_nonces_is_answered_once_per_call_and_nothing_fails() {
    require_keyring();
    let idp = Idp::start_with(&[("IDP_DPOP", "nonce")]).await;
    let sandbox = Sandbox::new();
    let cli = Cli::new(&sandbox, "nonce");
    let account = connect_demo(&cli, &idp, &[]).await;
    assert_eq!(account["bound"], true, "{account}");
    let id = account["id"].as_str().unwrap().to_owned();
    let tested = cli.ok(&["test", &id, "--json"], "").await;
    assert_eq!(tested["status"], 200, "{tested}");
    let refreshed = cli.ok(&["refresh", &id, "--json"], "").await;
    assert_eq!(refreshed["status"], "connected");
    assert_eq!(refreshed["last_error"], Value::Null);
    let stats = idp.stats().await;
    // The code exchange and the refresh were each asked for a nonce once (a new process has
    // none), and each went through on the retry.
    assert_eq!(stats["errors"]["grant.error:use_dpop_nonce"], 2, "{stats}");
    assert_eq!(stats["auth_code_success"], 1);
    assert_eq!(stats["refresh_success"], 1);
    let audit = cli.ok(&["audit", "--json"], "").await;
    assert!(
        !audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "refresh_failed"),
        "a nonce challenge is not a failure: {audit}"
    );
}

#[tokio::test]
async fn a_sign_in_with_a_code_binds_its_tokens_too() {
    require_keyring();
    let idp = Idp::start_with(&[("IDP_DPOP", "nonce")]).await;
    let sandbox = Sandbox::new();
    let cli = Cli::new(&sandbox, "device");
    cli.ok(&support::add_demo_provider_args(&idp), "").await;
    let account = cli
        .ok(
            &["connect", "local-demo", "--redirect", "device", "--json"],
            "alice",
        )
        .await;
    assert_eq!(account["bound"], true, "{account}");
    let id = account["id"].as_str().unwrap().to_owned();
    assert!(stored(&cli, &id).await["dpop_key"].is_string());
    let tested = cli.ok(&["test", &id, "--json"], "").await;
    assert_eq!(tested["status"], 200, "{tested}");
    let stats = idp.stats().await;
    assert_eq!(stats["device_code_success"], 1, "{stats}");
}

#[tokio::test]
async fn no_dpop_gives_a_script_a_bearer_token() {
    require_keyring();
    let idp = Idp::start_with(&[("IDP_DPOP", "on")]).await;
    let sandbox = Sandbox::new();
    let cli = Cli::new(&sandbox, "bearer");
    let account = connect_demo(&cli, &idp, &["--no-dpop"]).await;
    assert_eq!(account["bound"], false, "{account}");
    let id = account["id"].as_str().unwrap().to_owned();
    assert!(stored(&cli, &id).await.get("dpop_key").is_none());
    let out = cli.run(&["token", &id], "", "").await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let token = stdout(&out).trim().to_owned();
    let meta = discovery(&idp).await;
    let me = reqwest::Client::new()
        .get(meta["userinfo_endpoint"].as_str().unwrap())
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200, "a plain bearer token works anywhere");
}

#[tokio::test]
async fn request_goes_only_to_the_accounts_api_and_offers_step_up() {
    require_keyring();
    let idp = Idp::start_with(&[("IDP_DPOP", "on"), ("IDP_REGISTRATION", "open")]).await;
    let api = Resource::start(&[("RS_ISSUER", &idp.issuer), ("RS_DPOP_NONCE", "1")]).await;
    let other = Resource::start(&[("RS_ISSUER", &idp.issuer)]).await;
    let sandbox = Sandbox::new();
    let cli = Cli::new(&sandbox, "req");
    let account = cli
        .ok(
            &["connect", "--resource", &api.url, "--yes", "--json"],
            "alice",
        )
        .await;
    assert_eq!(account["bound"], true, "{account}");
    let id = account["id"].as_str().unwrap().to_owned();

    // The test call and `request` reach the API with the token and a proof; the API asks for
    // its nonce first, and each retry carries it.
    let tested = cli.ok(&["test", &id, "--json"], "").await;
    assert_eq!(tested["status"], 200, "{tested}");
    assert_eq!(tested["body"]["bound"], true);
    let out = cli.run(&["request", &id, &api.url], "", "").await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let body: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["bound"], true);
    let stats = api.stats().await;
    assert_eq!(stats["bound"], 2, "{stats}");
    assert_eq!(stats["nonce_challenges"], 2, "{stats}");
    assert_eq!(stats["proof_refused"], 0, "{stats}");

    // The access token copied out of the keychain, as a bearer token: refused by the API.
    let access = stored(&cli, &id).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let copied = reqwest::Client::new()
        .get(&api.url)
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(copied.status(), 401);
    assert_eq!(
        api.stats().await["last_refusal"],
        "a bound token presented as a bearer token"
    );

    // A path that needs more: 403 insufficient_scope, exit 1, and the exact command to add
    // the scope. Nothing is retried on its own.
    let admin = format!("{}/admin", api.url);
    let out = cli.run(&["request", &id, &admin], "", "").await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let said = stderr(&out);
    assert!(
        said.contains(&format!(
            "connected-accounts connect --account {id} --scope api:write"
        )),
        "{said}"
    );
    assert_eq!(api.stats().await["insufficient_scope"], 1);
    // Step-up as the hint says: the granted scopes are kept, api:write added.
    let stepped = cli
        .ok(
            &[
                "connect",
                "--account",
                &id,
                "--scope",
                "api:write",
                "--json",
            ],
            "alice",
        )
        .await;
    let granted: Vec<&str> = stepped["scopes_granted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(
        granted.contains(&"api:read") && granted.contains(&"api:write"),
        "{granted:?}"
    );
    assert_eq!(stepped["bound"], true);
    let out = cli.run(&["request", &id, &admin], "", "").await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // Another host gets no token unless the caller names it.
    let out = cli.run(&["request", &id, &other.url], "", "").await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--allow-origin"), "{}", stderr(&out));
    assert_eq!(other.stats().await["anonymous"], 0);
    assert_eq!(other.stats().await["refused"], 0, "nothing was sent");
    let out = cli
        .run(
            &["request", &id, &other.url, "--allow-origin", other.origin()],
            "",
            "",
        )
        .await;
    // Named, it is sent; that API refuses a token for another audience.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(other.stats().await["refused"], 1);
    // A method and a body from standard input: the proof names the method the API saw.
    let out = cli
        .run(
            &[
                "request",
                &id,
                &api.url,
                "-X",
                "POST",
                "--data",
                "-",
                "-H",
                "Content-Type: text/plain",
            ],
            "",
            "hello",
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The credentials' headers are the app's own.
    let out = cli
        .run(
            &["request", &id, &api.url, "-H", "Authorization: Bearer x"],
            "",
            "",
        )
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(api.stats().await["proof_refused"], 0);

    // The API's checks can fail: with the key and the token read out of the keychain (as any
    // program of the user's could), a proof is accepted once, never replayed, and only for the
    // method it names.
    let entry = stored(&cli, &id).await;
    let key = ca_core::dpop::DpopKey::from_secret(&ca_core::secret::SecretString::new(
        entry["dpop_key"].as_str().unwrap(),
    ))
    .unwrap();
    let access = ca_core::secret::SecretString::new(entry["access_token"].as_str().unwrap());
    let target = reqwest::Url::parse(&api.url).unwrap();
    let http = reqwest::Client::new();
    let send = |proof: String| {
        http.get(&api.url)
            .header("authorization", format!("DPoP {}", access.expose()))
            .header("dpop", proof)
            .send()
    };
    let challenged = send(key.proof("GET", &target, None, Some(&access)).unwrap())
        .await
        .unwrap();
    assert_eq!(challenged.status(), 401);
    let nonce = challenged.headers()["dpop-nonce"]
        .to_str()
        .unwrap()
        .to_owned();
    let proof = key
        .proof("GET", &target, Some(&nonce), Some(&access))
        .unwrap();
    assert_eq!(send(proof.clone()).await.unwrap().status(), 200);
    assert_eq!(send(proof).await.unwrap().status(), 401, "a replayed proof");
    assert_eq!(api.stats().await["replays"], 1);
    let wrong_method = key
        .proof("POST", &target, Some(&nonce), Some(&access))
        .unwrap();
    assert_eq!(send(wrong_method).await.unwrap().status(), 401);
    let other_token = ca_core::secret::SecretString::new("another-token");
    let wrong_ath = key
        .proof("GET", &target, Some(&nonce), Some(&other_token))
        .unwrap();
    assert_eq!(send(wrong_ath).await.unwrap().status(), 401);
    assert_eq!(api.stats().await["proof_refused"], 3);
}

/// `refresh`, killed (SIGKILL) at a crash point.
async fn refresh_killed_at(cli: &Cli<'_>, id: &str, point: &str) {
    use std::os::unix::process::ExitStatusExt;
    let killed = cli
        .run_with(
            &["refresh", id],
            "",
            "",
            &[("CONNECTED_ACCOUNTS_CRASH_AT", point)],
        )
        .await;
    assert_eq!(killed.status.signal(), Some(9), "{point} was reached");
}

/// kill -9 between the server's answer and the keychain write, and after it, on a bound account:
/// the key and the refresh token are one entry, so neither is lost without the other.
#[tokio::test]
async fn killed_around_the_keychain_write_a_bound_account_keeps_key_and_refresh_token_together() {
    require_keyring();
    let idp = Idp::start_with(&[("IDP_DPOP", "on")]).await;
    let sandbox = Sandbox::new();
    let cli = Cli::new(&sandbox, "crash");
    let account = connect_demo(&cli, &idp, &[]).await;
    let id = account["id"].as_str().unwrap().to_owned();
    let before = stored(&cli, &id).await;
    refresh_killed_at(&cli, &id, "refresh-after-keychain").await;
    let after = stored(&cli, &id).await;
    assert_ne!(after["refresh_token"], before["refresh_token"]);
    assert_eq!(after["dpop_key"], before["dpop_key"]);
    let recovered = cli.ok(&["recover", "--json"], "").await;
    assert_eq!(recovered[0]["status"], "connected", "{recovered}");
    // The saved refresh token works with the saved key.
    let refreshed = cli.ok(&["refresh", &id, "--json"], "").await;
    assert_eq!(refreshed["status"], "connected");
    assert_eq!(idp.stats().await["refresh_success"], 2);

    // Killed between the answer and the write: the old entry (old key, old refresh token)
    // stays whole; the server rotated, so the account says to reconnect, and keeps its key.
    let before = stored(&cli, &id).await;
    refresh_killed_at(&cli, &id, "refresh-after-response").await;
    let after = stored(&cli, &id).await;
    assert_eq!(after["dpop_key"], before["dpop_key"]);
    assert_eq!(after["refresh_token"], before["refresh_token"]);
}
