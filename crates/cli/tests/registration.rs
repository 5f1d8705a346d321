//! Any server, no app registration (issue 18): `providers add --issuer URL` alone registers the
//! app by RFC 7591 at the real oidc-provider (registration and RFC 7592 management switched on),
//! the registration lives in the real keychain, goes with the provider's last account, comes back
//! at the next sign-in, and `providers remove` deletes it at the server. Exact redirect URIs, a
//! server that only takes client secrets, and one that wants an initial access token.

#[path = "../../../tests/support/profile_cli.rs"]
mod profile_cli;
#[path = "../../../tests/support/mod.rs"]
mod support;

use std::process::Output;

use profile_cli::ProfileCli;
use serde_json::Value;
use support::{require_keyring, Idp, Sandbox};

type Cli<'a> = ProfileCli<'a>;

/// The registration's management item, as the keychain holds it.
async fn management_of(cli: &Cli<'_>, provider: &str) -> Option<Value> {
    support::keychain_lookup(&cli.service(), &format!("registration:{provider}"))
        .await
        .map(|text| serde_json::from_str(&text).unwrap())
}

/// What the server's RFC 7592 endpoint says of a registration, asked with its access token.
async fn registration_status(management: &Value) -> u16 {
    reqwest::Client::new()
        .get(management["uri"].as_str().unwrap())
        .bearer_auth(management["token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn an_issuer_url_alone_registers_the_app_and_the_registration_goes_with_the_last_account() {
    require_keyring();
    let idp = Idp::start_with(&[("IDP_REGISTRATION", "open")]).await;
    let sandbox = Sandbox::new();
    let cli = Cli::new(&sandbox, "reg");

    let added = cli
        .ok(
            &[
                "providers",
                "add",
                "--issuer",
                &idp.issuer,
                "--name",
                "Reg",
                "--json",
            ],
            "",
        )
        .await;
    assert_eq!(added["id"], "reg", "{added}");
    let first_client = added["client_id"].as_str().unwrap().to_string();
    assert!(!first_client.is_empty(), "{added}");
    assert_eq!(added["configured"], true);
    assert_eq!(added["registered"], true);
    // A public client: the server offers `none`, so no secret was asked for.
    assert_eq!(added["capabilities"]["client_secret"], "none");
    let redirects: Vec<String> = serde_json::from_value(added["redirect_uris"].clone()).unwrap();
    let loopback = redirects[0].clone();
    let port: u16 = loopback
        .strip_prefix("http://127.0.0.1:")
        .and_then(|r| r.strip_suffix("/callback"))
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1024..32768).contains(&port),
        "{loopback}: below the ephemeral ranges"
    );
    assert_eq!(redirects[1], "io.github.connectedaccounts:/oauth/callback");
    assert_eq!(idp.stats().await["registration_created"], 1);
    // One registration per server: adding it again gives the same provider, registered once.
    let again = cli
        .ok(&["providers", "add", "--issuer", &idp.issuer, "--json"], "")
        .await;
    assert_eq!(again["id"], "reg");
    assert_eq!(idp.stats().await["registration_created"], 1);

    // The registration's access token and URI are in the keychain, and work at the server.
    let management = management_of(&cli, "reg")
        .await
        .expect("management in the keychain");
    assert!(management["uri"].as_str().unwrap().contains(&first_client));
    assert_eq!(registration_status(&management).await, 200);
    cli.nowhere_in_files(management["token"].as_str().unwrap());

    // Connect, refresh, test: the registered client works end to end.
    let alice = cli.ok(&["connect", "reg", "--json"], "alice").await;
    let id = alice["id"].as_str().unwrap().to_string();
    cli.ok(&["refresh", &id, "--json"], "").await;
    let tested = cli.ok(&["test", &id, "--json"], "").await;
    assert_eq!(tested["status"], 200, "{tested}");

    // The last account goes: so does the registration, at the server and in the keychain.
    cli.ok(&["revoke", &id, "--yes", "--json"], "").await;
    assert_eq!(registration_status(&management).await, 401);
    assert_eq!(idp.stats().await["registration_deleted"], 1);
    assert!(management_of(&cli, "reg").await.is_none());
    let kept = cli.provider("reg").await.expect("the provider stays");
    assert_eq!(kept["client_id"], "", "{kept}");
    assert_eq!(kept["configured"], true, "it registers again when needed");
    assert_eq!(kept["redirect_uris"][0], loopback.as_str(), "the same port");

    // The next sign-in registers again, with the same redirect URIs.
    cli.ok(&["connect", "reg", "--json"], "bob").await;
    assert_eq!(idp.stats().await["registration_created"], 2);
    let second = cli.provider("reg").await.unwrap();
    let second_client = second["client_id"].as_str().unwrap();
    assert!(!second_client.is_empty() && second_client != first_client);
    let management = management_of(&cli, "reg").await.unwrap();

    // `providers remove`: without a terminal or --yes it asks nobody and changes nothing (2).
    let out = cli.run(&["providers", "remove", "reg"], "", "").await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // With an account left, it refuses unless told to disconnect it.
    let out = cli
        .run(&["providers", "remove", "reg", "--yes"], "", "")
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--disconnect-accounts"),
        "{}",
        stderr(&out)
    );
    assert_eq!(registration_status(&management).await, 200);

    let removed = cli
        .ok(
            &[
                "providers",
                "remove",
                "reg",
                "--yes",
                "--disconnect-accounts",
                "--json",
            ],
            "",
        )
        .await;
    assert_eq!(
        removed["disconnected"].as_array().unwrap().len(),
        1,
        "{removed}"
    );
    assert_eq!(removed["registration_deleted"], true, "{removed}");
    assert_eq!(removed["warnings"], serde_json::json!([]));
    assert_eq!(registration_status(&management).await, 401);
    assert!(cli.provider("reg").await.is_none());
    assert_eq!(cli.ok(&["list", "--json"], "").await, serde_json::json!([]));
    let items = cli.keychain_items().await;
    assert!(!items.contains("[/"), "keychain items left: {items}");
}

#[tokio::test]
async fn a_server_without_registration_says_how_to_register_by_hand() {
    require_keyring();
    let idp = Idp::start().await;
    let sandbox = Sandbox::new();
    let cli = Cli::new(&sandbox, "noreg");
    let out = cli
        .run(&["providers", "add", "--issuer", &idp.issuer], "", "")
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let said = stderr(&out);
    assert!(
        said.contains("does not let apps register themselves"),
        "{said}"
    );
    assert!(
        said.contains("http://127.0.0.1/callback")
            && said.contains("io.github.connectedaccounts:/oauth/callback")
            && said.contains("--client-id"),
        "{said}"
    );
    assert!(cli.custom_providers().await.is_empty(), "nothing saved");

    // With an exact redirect given, the message names exactly that.
    let out = cli
        .run(
            &[
                "providers",
                "add",
                "--issuer",
                &idp.issuer,
                "--redirect-uri",
                "http://127.0.0.1:28765/cb",
            ],
            "",
            "",
        )
        .await;
    assert!(
        stderr(&out).contains("http://127.0.0.1:28765/cb"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn a_server_that_registers_only_with_an_initial_access_token() {
    require_keyring();
    let iat = "initial-access-token-7f3a";
    let idp = Idp::start_with(&[
        ("IDP_REGISTRATION", "iat"),
        ("IDP_INITIAL_ACCESS_TOKEN", iat),
    ])
    .await;
    let sandbox = Sandbox::new();
    let cli = Cli::new(&sandbox, "iat");

    let out = cli
        .run(&["providers", "add", "--issuer", &idp.issuer], "", "")
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--initial-access-token-stdin"),
        "{}",
        stderr(&out)
    );
    assert_eq!(cli.custom_providers().await.len(), 0, "nothing saved");

    let out = cli
        .run(
            &[
                "providers",
                "add",
                "--issuer",
                &idp.issuer,
                "--initial-access-token-stdin",
            ],
            "",
            "not-the-token\n",
        )
        .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("did not accept the initial access token"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("not-the-token"));
    assert_eq!(cli.custom_providers().await.len(), 0, "nothing saved");

    let out = cli
        .run(
            &[
                "providers",
                "add",
                "--issuer",
                &idp.issuer,
                "--initial-access-token-stdin",
                "--json",
            ],
            "",
            &format!("{iat}\n"),
        )
        .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let added: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(added["registered"], true);
    cli.ok(
        &["connect", added["id"].as_str().unwrap(), "--json"],
        "carol",
    )
    .await;
    cli.nowhere_in_files(iat);
    // The token was asked for once; the registration's own access token manages it after.
    assert_eq!(idp.stats().await["registration_created"], 1);
}

/// Many servers take only client secrets and match redirect ports exactly: the app registers
/// with the secret method the server offers (the secret kept in the keychain) and with the exact
/// port it will listen on.
#[tokio::test]
async fn a_secret_only_server_with_exact_redirects() {
    require_keyring();
    let idp = Idp::start_with(&[
        ("IDP_REGISTRATION", "open"),
        ("IDP_CLIENT_AUTH", "secret"),
        ("IDP_EXACT_REDIRECTS", "1"),
    ])
    .await;
    let sandbox = Sandbox::new();
    let cli = Cli::new(&sandbox, "secret");
    let added = cli
        .ok(&["providers", "add", "--issuer", &idp.issuer, "--json"], "")
        .await;
    let id = added["id"].as_str().unwrap().to_string();
    assert_eq!(
        added["capabilities"]["client_secret"], "required",
        "{added}"
    );
    let secret = support::keychain_lookup(&cli.service(), &format!("client-secret:{id}"))
        .await
        .expect("the issued secret is in the keychain");
    let account = cli.ok(&["connect", &id, "--json"], "dave").await;
    let account = account["id"].as_str().unwrap().to_string();
    cli.ok(&["refresh", &account, "--json"], "").await;
    cli.nowhere_in_files(&secret);
    let stats = idp.stats().await;
    assert_eq!(stats["auth_code_success"], 1, "{stats}");
    assert_eq!(stats["refresh_success"], 1, "{stats}");
}

/// `--redirect-uri` for a client registered by hand at a server that matches ports exactly: the
/// sign-in listens exactly there, and says which port is taken when it is.
#[tokio::test]
async fn an_exact_redirect_uri_is_where_the_sign_in_listens() {
    require_keyring();
    let idp = Idp::start_with(&[("IDP_REGISTRATION", "open"), ("IDP_EXACT_REDIRECTS", "1")]).await;
    let sandbox = Sandbox::new();
    let cli = Cli::new(&sandbox, "exact");
    let port = ca_core::registration::pick_loopback_port().unwrap();
    let redirect = format!("http://127.0.0.1:{port}/exact/cb");
    // Registered by hand, as a person does in the server's console.
    let client: Value = reqwest::Client::new()
        .post(format!("{}/reg", idp.issuer))
        .json(&serde_json::json!({
            "redirect_uris": [redirect],
            "application_type": "native",
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let client_id = client["client_id"].as_str().unwrap();

    // Without the exact URI the server refuses the app's default redirect.
    cli.ok(
        &[
            "providers",
            "add",
            "--issuer",
            &idp.issuer,
            "--client-id",
            client_id,
            "--name",
            "Loose",
        ],
        "",
    )
    .await;
    let out = cli
        .run(&["connect", "loose", "--timeout", "10"], "erin", "")
        .await;
    assert!(!out.status.success());
    // (The scripted browser prints what the launcher said.)
    assert!(
        stderr(&out).contains("redirect_uri did not match"),
        "{}",
        stderr(&out)
    );

    for bad in [
        "http://127.0.0.1/cb",
        "http://example.com:8080/cb",
        "https://127.0.0.1:8080/cb",
        "http://127.0.0.1:8080/",
        "http://127.0.0.1:8080/cb?x=1",
    ] {
        let out = cli
            .run(
                &[
                    "providers",
                    "add",
                    "--issuer",
                    &idp.issuer,
                    "--client-id",
                    client_id,
                    "--redirect-uri",
                    bad,
                ],
                "",
                "",
            )
            .await;
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("redirect URI"),
            "{bad}: {}",
            stderr(&out)
        );
    }

    let added = cli
        .ok(
            &[
                "providers",
                "add",
                "--issuer",
                &idp.issuer,
                "--client-id",
                client_id,
                "--name",
                "Exact",
                "--redirect-uri",
                &redirect,
                "--json",
            ],
            "",
        )
        .await;
    assert_eq!(added["redirect_uris"], serde_json::json!([redirect]));
    let account = cli.ok(&["connect", "exact", "--json"], "erin").await;
    assert_eq!(account["provider"], "exact");

    // Taken by another program: a clear error naming the port, nothing left behind.
    let holder = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let out = cli.run(&["connect", "exact"], "frank", "").await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("port {port}")),
        "{}",
        stderr(&out)
    );
    drop(holder);
    assert_eq!(
        cli.ok(&["list", "--json"], "")
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// forget-all deletes the app's registrations at their servers too.
#[tokio::test]
async fn forget_all_deletes_the_registration() {
    require_keyring();
    let idp = Idp::start_with(&[("IDP_REGISTRATION", "open")]).await;
    let sandbox = Sandbox::new();
    let cli = Cli::new(&sandbox, "regforget");
    cli.ok(
        &["providers", "add", "--issuer", &idp.issuer, "--name", "Reg"],
        "",
    )
    .await;
    cli.ok(&["connect", "reg", "--json"], "gina").await;
    let management = management_of(&cli, "reg").await.unwrap();
    let report = cli.ok(&["forget-all", "--yes", "--json"], "").await;
    assert_eq!(report["not_revoked"], serde_json::json!([]), "{report}");
    assert_eq!(registration_status(&management).await, 401);
    assert_eq!(idp.stats().await["registration_deleted"], 1);
}

/// The server forgets the app's client (an administrator deleted it): the next refresh hears
/// `invalid_client`, the app registers once more and says every account there must be connected
/// again; further refreshes do not register again.
#[tokio::test]
async fn a_client_the_server_forgot_is_registered_once_more_and_its_accounts_reconnect() {
    require_keyring();
    let idp = Idp::start_with(&[("IDP_REGISTRATION", "open")]).await;
    let sandbox = Sandbox::new();
    let cli = Cli::new(&sandbox, "lost");
    cli.ok(
        &["providers", "add", "--issuer", &idp.issuer, "--name", "Reg"],
        "",
    )
    .await;
    let alice = cli.ok(&["connect", "reg", "--json"], "alice").await;
    let bob = cli.ok(&["connect", "reg", "--json"], "bob").await;
    let first = cli.provider("reg").await.unwrap()["client_id"].clone();
    // Deleted at the server behind the app's back, as an administrator would.
    let management = management_of(&cli, "reg").await.unwrap();
    let deleted = reqwest::Client::new()
        .delete(management["uri"].as_str().unwrap())
        .bearer_auth(management["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);

    let out = cli
        .run(&["refresh", alice["id"].as_str().unwrap()], "", "")
        .await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no longer knows the app's registration"),
        "{}",
        stderr(&out)
    );
    assert_eq!(idp.stats().await["registration_created"], 2);
    let second = cli.provider("reg").await.unwrap()["client_id"].clone();
    assert_ne!(first, second);
    for a in cli.ok(&["list", "--json"], "").await.as_array().unwrap() {
        assert_eq!(a["status"], "needs_reconnect", "{a}");
    }
    // The other account's refresh does not register again: nothing loops.
    let out = cli
        .run(&["refresh", bob["id"].as_str().unwrap()], "", "")
        .await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(idp.stats().await["registration_created"], 2);
    // Connecting again works with the new client.
    let again = cli.ok(&["connect", "reg", "--json"], "alice").await;
    assert_eq!(again["id"], alice["id"]);
    assert_eq!(again["status"], "connected");
}

/// A second account, cleanly: connecting another account at a provider that has one asks the
/// server to let the person choose (`select_account` where it says it understands it, else
/// `login`), and changing an existing account's scopes names it (`login_hint`).
#[tokio::test]
async fn another_account_is_chosen_at_the_server_and_a_known_one_is_named() {
    require_keyring();
    let idp = Idp::start().await;
    let sandbox = Sandbox::new();
    let cli = Cli::new(&sandbox, "second");
    cli.ok(&support::add_demo_provider_args(&idp), "").await;
    let alice = cli.ok(&["connect", "local-demo", "--json"], "alice").await;
    cli.ok(&["connect", "local-demo", "--json"], "bob").await;
    let id = alice["id"].as_str().unwrap();
    cli.ok(
        &[
            "connect",
            "--account",
            id,
            "--drop-scope",
            "profile",
            "--json",
        ],
        "alice",
    )
    .await;
    let stats = idp.stats().await;
    // oidc-provider lists no prompt_values_supported, so another account means a fresh login.
    assert_eq!(
        stats["prompts"],
        serde_json::json!(["consent", "login consent", "consent"]),
        "{stats}"
    );
    assert_eq!(
        stats["login_hints"],
        serde_json::json!([null, null, "alice@example.test"]),
        "{stats}"
    );
    assert_eq!(
        cli.ok(&["list", "--json"], "")
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

/// `client_secret_expires_at` is honoured: a secret that expires soon is renewed with an RFC 7592
/// update before it is used, so refreshing goes on working past the first secret's expiry (the
/// server refuses an expired secret with invalid_client).
#[tokio::test]
async fn an_expiring_client_secret_is_renewed_before_it_is_used() {
    require_keyring();
    let idp = Idp::start_with(&[("IDP_SECRET_TTL", "3"), ("IDP_CLIENT_AUTH", "secret")]).await;
    let sandbox = Sandbox::new();
    let cli = Cli::new(&sandbox, "expiring");
    let iat = format!("{}\n", idp.initial_access_token.as_deref().unwrap());
    let out = cli
        .run(
            &[
                "providers",
                "add",
                "--issuer",
                &idp.issuer,
                "--name",
                "Reg",
                "--initial-access-token-stdin",
            ],
            "",
            &iat,
        )
        .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let account = cli.ok(&["connect", "reg", "--json"], "alice").await;
    let id = account["id"].as_str().unwrap();
    let client = cli.provider("reg").await.unwrap()["client_id"].clone();
    // Past the first secret's lifetime: only a renewed secret still works.
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    cli.ok(&["refresh", id, "--json"], "").await;
    let stats = idp.stats().await;
    assert_eq!(stats["refresh_success"], 1, "{stats}");
    assert!(
        stats["registration_updated"].as_u64().unwrap() >= 2,
        "{stats}"
    );
    assert_eq!(stats["registration_created"], 1, "the same client: {stats}");
    assert_eq!(cli.provider("reg").await.unwrap()["client_id"], client);
}
