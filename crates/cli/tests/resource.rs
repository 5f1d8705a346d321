//! Connect by a resource's URL (issue 18): a real API on loopback (tests/idp/resource.mjs) names
//! its authorization server in RFC 9728 metadata; the app adds that server (registering itself),
//! widens the registration for the API's scope (RFC 7592), signs in with `resource` (RFC 8707), and
//! the test call goes to the API, which accepts only tokens for its own audience. Hostile
//! resources: metadata about another resource, and one that names a built-in provider's server to
//! collect a general token.

#[path = "../../../tests/support/profile_cli.rs"]
mod profile_cli;
#[path = "../../../tests/support/mod.rs"]
mod support;

use std::process::{Output, Stdio};

use profile_cli::ProfileCli;
use serde_json::Value;
use support::{repo_root, require_keyring, Idp, Resource, Sandbox};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

type Cli<'a> = ProfileCli<'a>;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn a_resource_url_alone_connects_and_its_tokens_are_for_that_resource() {
    require_keyring();
    let idp = Idp::start_with(&[("IDP_REGISTRATION", "open")]).await;
    let api = Resource::start(&[("RS_ISSUER", &idp.issuer)]).await;
    let sandbox = Sandbox::new();
    let cli = Cli::new(&sandbox, "res");

    // The API is on another origin than its server: nobody to confirm that here, so nothing.
    let out = cli
        .run(&["connect", "--resource", &api.url], "alice", "")
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));
    assert!(cli.custom_providers().await.is_empty(), "nothing added");
    assert_eq!(idp.stats().await["registration_created"], 0);

    let alice = cli
        .ok(
            &["connect", "--resource", &api.url, "--yes", "--json"],
            "alice",
        )
        .await;
    assert_eq!(alice["resource"], api.url.as_str(), "{alice}");
    let providers = cli.custom_providers().await;
    assert_eq!(providers.len(), 1, "{providers:?}");
    assert_eq!(providers[0]["issuer"], idp.issuer.as_str());
    assert_eq!(providers[0]["registered"], true);
    let stats = idp.stats().await;
    assert_eq!(stats["registration_created"], 1, "{stats}");
    // The API's scope was not in the registration: it was widened first (RFC 7592).
    assert_eq!(stats["registration_updated"], 1, "{stats}");
    assert!(
        alice["scopes_granted"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "api:read"),
        "{alice}"
    );

    // The test call goes to the API, which accepts the token: its audience is the API.
    let id = alice["id"].as_str().unwrap().to_owned();
    let tested = cli.ok(&["test", &id, "--json"], "").await;
    assert_eq!(tested["url"], api.url.as_str());
    assert_eq!(tested["status"], 200, "{tested}");
    assert_eq!(tested["body"]["aud"], api.url.as_str(), "{tested}");
    // Refreshed, the token is still for the API (the refresh names the resource too).
    cli.ok(&["refresh", &id, "--json"], "").await;
    let tested = cli.ok(&["test", &id, "--json"], "").await;
    assert_eq!(tested["status"], 200, "{tested}");
    assert_eq!(api.stats().await["authorized"], 2);

    // A second person at the same API: no question (it was confirmed), the same provider.
    let bob = cli
        .ok(&["connect", "--resource", &api.url, "--json"], "bob")
        .await;
    assert_eq!(bob["resource"], api.url.as_str());
    assert_eq!(cli.custom_providers().await.len(), 1);
    assert_eq!(idp.stats().await["registration_created"], 1);
    // "Connect again" on Alice's account (as the window does) stays with her resource account.
    let engine = std::sync::Arc::new(
        ca_core::Engine::open(
            ca_core::paths::Paths::rooted(&sandbox.dir, &cli.service()),
            ca_core::secret::Keychain::platform(cli.service()),
        )
        .await
        .unwrap(),
    );
    let started = engine
        .connect_begin(
            ca_core::ConnectRequest::provider(providers[0]["id"].as_str().unwrap())
                .reconnect(Some(id.clone()))
                .timeout(std::time::Duration::from_secs(30)),
        )
        .await
        .unwrap();
    let finish = tokio::spawn({
        let (engine, flow) = (engine.clone(), started.flow_id.clone());
        async move { engine.connect_finish(&flow).await }
    });
    let browser = Command::new("python3")
        .arg(repo_root().join("tests/idp/browser.py"))
        .arg(&started.browser_url)
        .status()
        .await
        .unwrap();
    assert!(browser.success());
    let again = finish.await.unwrap().unwrap();
    assert_eq!(again.id, id, "the same account");
    assert_eq!(again.resource.as_deref(), Some(api.url.as_str()));
    engine.close().await;
    assert_eq!(
        cli.ok(&["list", "--json"], "")
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // After the update the registration's token was rotated; the one kept is the one that works.
    let service = cli.service();
    let management: Value = serde_json::from_str(
        &support::keychain_lookup(
            &service,
            &format!("registration:{}", providers[0]["id"].as_str().unwrap()),
        )
        .await
        .unwrap(),
    )
    .unwrap();
    let status = reqwest::Client::new()
        .get(management["uri"].as_str().unwrap())
        .bearer_auth(management["token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
}

#[tokio::test]
async fn metadata_about_another_resource_is_discarded() {
    require_keyring();
    let idp = Idp::start_with(&[("IDP_REGISTRATION", "open")]).await;
    let api = Resource::start(&[("RS_ISSUER", &idp.issuer), ("RS_MISMATCH", "1")]).await;
    let sandbox = Sandbox::new();
    let cli = Cli::new(&sandbox, "mismatch");
    let out = cli
        .run(&["connect", "--resource", &api.url, "--yes"], "alice", "")
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("about another resource"),
        "{}",
        stderr(&out)
    );
    assert!(cli.custom_providers().await.is_empty());
    assert_eq!(idp.stats().await["registration_created"], 0);
    assert_eq!(idp.stats().await["authorization_success"], 0);
}

/// A hostile API names the server of a provider the person set up themselves (here the built-in
/// GitLab, at a server that ignores `resource` as GitHub does): the sign-in gives a general token,
/// and the app refuses to send it to the API.
#[tokio::test]
async fn a_built_in_providers_general_token_never_reaches_a_resource() {
    require_keyring();
    let idp = Idp::start_with(&[
        ("IDP_GITLAB", "1"),
        ("IDP_PAR", "off"),
        ("IDP_RESOURCE_INDICATORS", "off"),
    ])
    .await;
    let api = Resource::start(&[("RS_ISSUER", &idp.issuer)]).await;
    let sandbox = Sandbox::new();
    let cli = Cli::new(&sandbox, "harvest");
    let base = format!("base={}", idp.issuer);
    cli.ok(
        &[
            "providers",
            "configure",
            "gitlab",
            "--client-id",
            "connected-accounts-demo",
            "--set",
            &base,
        ],
        "",
    )
    .await;
    // (GitLab's user endpoint at this server wants openid with read_user.)
    let account = cli
        .ok(
            &[
                "connect",
                "--resource",
                &api.url,
                "--yes",
                "--scope",
                "openid",
                "--scope",
                "read_user",
                "--json",
            ],
            "mallory-victim",
        )
        .await;
    assert_eq!(account["provider"], "gitlab", "{account}");
    let id = account["id"].as_str().unwrap();
    let out = cli.run(&["test", id], "", "").await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is not restricted to"),
        "{}",
        stderr(&out)
    );
    let seen = api.stats().await;
    assert_eq!(seen["authorized"], 0, "{seen}");
    assert_eq!(seen["refused"], 0, "no token reached the API: {seen}");
}

/// With no desktop here, a resource's sign-in is never a device code (a device grant would give a
/// general token recorded as the resource's): the authorization URL, naming the resource, is
/// shown for the address it ends on to be pasted back.
#[tokio::test]
async fn with_no_desktop_a_resource_sign_in_is_pasted_back_not_a_device_code() {
    require_keyring();
    let idp = Idp::start_with(&[("IDP_REGISTRATION", "open")]).await;
    let api = Resource::start(&[("RS_ISSUER", &idp.issuer)]).await;
    let sandbox = Sandbox::new();
    let cli = Cli::new(&sandbox, "headless");
    let mut child = Command::new(env!("CARGO_BIN_EXE_connected-accounts"))
        .args([
            "connect",
            "--resource",
            &api.url,
            "--yes",
            "--timeout",
            "30",
        ])
        .envs(sandbox.env())
        .env("CONNECTED_ACCOUNTS_PROFILE", &cli.profile)
        .env_remove("BROWSER")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    let url = loop {
        let line = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
            .await
            .expect("the command line says where to sign in")
            .unwrap()
            .unwrap_or_else(|| panic!("ended without a URL: {seen:?}"));
        if let Some(u) = line.trim().strip_prefix("http") {
            break format!("http{u}");
        }
        seen.push(line);
    };
    child.kill().await.unwrap();
    let query: std::collections::HashMap<String, String> = reqwest::Url::parse(&url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(query.get("resource"), Some(&api.url), "{url}");
    assert_eq!(idp.stats().await["device_authorization_success"], 0);
}
