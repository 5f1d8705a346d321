//! Each provider's wire quirks, against an HTTP test double (wiremock) that answers as the
//! provider's documentation (shared/docs/providers.md) says. Each test asserts the exact request
//! the app sends (method, path, headers, body) and the state the app ends in. The tokens still go
//! to the real Secret Service (run under tests/with-keyring.sh).

mod double;
#[path = "../../../tests/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine as _;
use ca_core::ConnectRequest;
use ca_core::{DisconnectOutcome, ErrorKind};
use double::{harness, query, sign_in, CLIENT_ID, SECRET};
use support::keychain_lookup;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

fn form(req: &Request) -> HashMap<String, String> {
    url::form_urlencoded::parse(&req.body)
        .into_owned()
        .collect()
}

#[tokio::test]
async fn github_secret_post_comma_scopes_header_scopes_user_agent_and_token_delete() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/login/oauth/access_token"))
        .and(header("accept", "application/json"))
        .and(body_string_contains("client_secret=shh-not-so-secret"))
        .and(body_string_contains("client_id=cid-123"))
        .and(body_string_contains("code=the-code"))
        .and(body_string_contains("code_verifier="))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "gho_16C7e42F292c6912E7710c838347Ae178B4a",
            "token_type": "bearer",
            "scope": "read:user,user:email"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/user"))
        .and(header("user-agent", "connected-accounts"))
        .and(header(
            "authorization",
            "Bearer gho_16C7e42F292c6912E7710c838347Ae178B4a",
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("X-OAuth-Scopes", "read:user, user:email")
                .set_body_json(
                    serde_json::json!({"id": 583231, "login": "octocat", "email": null}),
                ),
        )
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("/applications/{CLIENT_ID}/token")))
        .and(header("authorization", basic(CLIENT_ID, SECRET).as_str()))
        .and(body_string_contains(
            "\"access_token\":\"gho_16C7e42F292c6912E7710c838347Ae178B4a\"",
        ))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let h = harness("github", &server, Some(SECRET), &[]).await;
    let (account, params, redirect) = sign_in(&h, "github").await;
    let account = account.unwrap();
    assert_eq!(params["scope"], "read:user user:email");
    assert_eq!(params["code_challenge_method"], "S256");
    assert!(redirect.starts_with("http://127.0.0.1:") && redirect.ends_with("/callback"));
    assert_eq!(account.subject, "583231", "numeric ids become text");
    assert_eq!(account.display_name, "octocat");
    assert_eq!(account.email, None);
    assert_eq!(account.scopes_granted, vec!["read:user", "user:email"]);
    assert_eq!(account.scopes_source, ca_core::ScopesSource::Server);
    assert_eq!(
        account.expires_at, None,
        "classic GitHub tokens do not expire"
    );
    assert!(keychain_lookup(&h.namespace, &account.id).await.is_some());

    let outcome = h.engine.disconnect(&account.id, false).await.unwrap();
    assert!(matches!(outcome, DisconnectOutcome::Revoked), "{outcome:?}");
    assert!(keychain_lookup(&h.namespace, &account.id).await.is_none());
    let grant_calls = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().ends_with("/grant"))
        .count();
    assert_eq!(
        grant_calls, 0,
        "never /grant: it signs the app out everywhere"
    );
}

#[tokio::test]
async fn github_errors_with_http_200_are_errors_and_store_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/login/oauth/access_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "error": "bad_verification_code",
            "error_description": "The code passed is incorrect or expired.",
            "error_uri": "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code"
        })))
        .mount(&server)
        .await;
    let h = harness("github", &server, Some(SECRET), &[]).await;
    let (result, _, _) = sign_in(&h, "github").await;
    let err = result.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Provider);
    assert!(
        err.message.contains("bad_verification_code"),
        "{}",
        err.message
    );
    assert!(
        err.message.contains("incorrect or expired"),
        "{}",
        err.message
    );
    assert!(h.engine.accounts().await.unwrap().is_empty());
}

#[tokio::test]
async fn github_without_its_required_secret_is_refused_before_the_browser() {
    let server = MockServer::start().await;
    let h = harness("github", &server, None, &[]).await;
    let err = h
        .engine
        .connect_begin(ConnectRequest::provider("github"))
        .await
        .unwrap_err();
    assert!(
        err.message.contains("requires the client secret"),
        "{}",
        err.message
    );
    assert_eq!(
        err.remedy,
        Some(ca_core::Remedy::ConfigureProvider {
            provider: "github".into(),
            client_secret: true
        })
    );
}

#[tokio::test]
async fn slack_user_scope_nested_authed_user_and_ok_false() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/oauth.v2.access"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "ok": true, "app_id": "A0KRD7HC3",
            "authed_user": {"id": "U1234", "scope": "identity.basic,identity.email", "access_token": "xoxp-1234", "token_type": "user",
                            "refresh_token": "xoxe-1-abc", "expires_in": 43200},
            "team": {"id": "T9TK3CUKW", "name": "Slack Softworks"}
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/auth.test"))
        .and(header("authorization", "Bearer xoxp-1234"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "ok": true, "url": "https://subarachnoid.slack.com/", "team": "Subarachnoid", "user": "grace", "team_id": "T12345", "user_id": "U1234"
        })))
        .mount(&server)
        .await;
    let h = harness("slack", &server, None, &[]).await;
    let (account, params, _) = sign_in(&h, "slack").await;
    let account = account.unwrap();
    assert!(
        params.contains_key("user_scope"),
        "Slack user scopes go in user_scope: {params:?}"
    );
    assert!(!params.contains_key("scope"));
    assert_eq!(account.subject, "U1234");
    assert_eq!(account.display_name, "grace");
    assert_eq!(
        account.scopes_granted,
        vec!["identity.basic", "identity.email"]
    );
    assert!(account.expires_at.is_some(), "nested expires_in is read");
    let stored: serde_json::Value =
        serde_json::from_str(&keychain_lookup(&h.namespace, &account.id).await.unwrap()).unwrap();
    assert_eq!(stored["access_token"], "xoxp-1234");
    assert_eq!(stored["refresh_token"], "xoxe-1-abc");
    h.engine.disconnect(&account.id, true).await.unwrap();

    // ok:false with HTTP 200 is an error.
    server.reset().await;
    Mock::given(method("POST"))
        .and(path("/api/oauth.v2.access"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"ok": false, "error": "invalid_code"})),
        )
        .mount(&server)
        .await;
    let (result, _, _) = sign_in(&h, "slack").await;
    let err = result.unwrap_err();
    assert!(err.message.contains("invalid_code"), "{}", err.message);
}

#[tokio::test]
async fn twitch_scope_array_client_id_header_and_rfc7009_revoke() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "rfx2uswqe8l4g1mkagrvg5tv0ks3", "expires_in": 14124, "refresh_token": "5b93chm6hdve3mycz05zfzatkfdenfspp1h1ar2xxdalen01",
            "scope": ["user:read:email"], "token_type": "bearer"
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/helix/users"))
        .and(header("client-id", CLIENT_ID))
        .and(header("authorization", "Bearer rfx2uswqe8l4g1mkagrvg5tv0ks3"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "data": [{"id": "141981764", "login": "twitchdev", "display_name": "TwitchDev", "email": "dev@example.com"}]
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth2/revoke"))
        .and(body_string_contains("client_id=cid-123"))
        .and(body_string_contains("token="))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let h = harness("twitch", &server, Some(SECRET), &[]).await;
    let (account, _, _) = sign_in(&h, "twitch").await;
    let account = account.unwrap();
    assert_eq!(account.subject, "141981764");
    assert_eq!(account.display_name, "TwitchDev");
    assert_eq!(account.email.as_deref(), Some("dev@example.com"));
    assert_eq!(
        account.scopes_granted,
        vec!["user:read:email"],
        "JSON-array scope"
    );
    let outcome = h.engine.disconnect(&account.id, false).await.unwrap();
    assert!(matches!(outcome, DisconnectOutcome::Revoked));
    let revokes: Vec<HashMap<String, String>> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/oauth2/revoke")
        .map(form)
        .collect();
    assert_eq!(revokes.len(), 2, "refresh token, then access token");
    assert_eq!(revokes[0]["token_type_hint"], "refresh_token");
    assert_eq!(revokes[1]["token"], "rfx2uswqe8l4g1mkagrvg5tv0ks3");
}

#[tokio::test]
async fn bitbucket_basic_auth_and_scopes_field() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/site/oauth2/access_token"))
        .and(header("authorization", basic(CLIENT_ID, SECRET).as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "bb-at", "scopes": "account email", "expires_in": 7200, "refresh_token": "bb-rt", "token_type": "bearer"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/2.0/user"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"uuid": "{d301aafa-d676-4ee0-88be-962be7417567}", "display_name": "Emma"})))
        .mount(&server)
        .await;
    let h = harness("bitbucket", &server, Some(SECRET), &[]).await;
    let (account, _, _) = sign_in(&h, "bitbucket").await;
    let account = account.unwrap();
    assert_eq!(account.scopes_granted, vec!["account", "email"]);
    assert_eq!(account.display_name, "Emma");
    let body = form(&server.received_requests().await.unwrap()[0]);
    assert!(
        !body.contains_key("client_secret"),
        "the secret goes in the Basic header only"
    );
    // No revocation: disconnecting asks first and links the provider's page.
    match h.engine.disconnect(&account.id, false).await.unwrap() {
        DisconnectOutcome::ConfirmationRequired {
            manage_url,
            message,
        } => {
            assert!(manage_url.unwrap().contains("bitbucket.org"));
            assert!(message.contains("access remains"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        h.engine.disconnect(&account.id, true).await.unwrap(),
        DisconnectOutcome::RemovedLocally { .. }
    ));
}

#[tokio::test]
async fn dropbox_offline_parameter_post_whoami_with_null_body_and_bearer_self_revoke() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "sl.dbx", "expires_in": 14400, "token_type": "bearer", "scope": "account_info.read",
            "refresh_token": "dbx-rt", "account_id": "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc", "uid": "12345"
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/users/get_current_account"))
        .and(header("content-type", "application/json"))
        .and(header("authorization", "Bearer sl.dbx"))
        .respond_with(|req: &Request| {
            if req.body == b"null" {
                ResponseTemplate::new(200).set_body_json(serde_json::json!({
                    "account_id": "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc", "name": {"display_name": "Franz Ferdinand (Personal)"}, "email": "franz@dropbox.com"
                }))
            } else {
                ResponseTemplate::new(400).set_body_string("Error in call to API function: request body: could not decode input as JSON")
            }
        })
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/auth/token/revoke"))
        .and(header("authorization", "Bearer sl.dbx"))
        .respond_with(ResponseTemplate::new(200).set_body_string("null"))
        .expect(1)
        .mount(&server)
        .await;
    let h = harness("dropbox", &server, None, &[]).await;
    let (account, params, _) = sign_in(&h, "dropbox").await;
    let account = account.unwrap();
    assert_eq!(params["token_access_type"], "offline");
    assert_eq!(account.display_name, "Franz Ferdinand (Personal)");
    assert!(matches!(
        h.engine.disconnect(&account.id, false).await.unwrap(),
        DisconnectOutcome::Revoked
    ));
}

#[tokio::test]
async fn reddit_basic_auth_with_empty_password_duration_permanent_and_user_agent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/access_token"))
        .and(header("authorization", basic(CLIENT_ID, "").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "rd-at", "token_type": "bearer", "expires_in": 86400, "scope": "identity", "refresh_token": "rd-rt"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/me"))
        .and(header(
            "user-agent",
            "desktop:io.github.connectedaccounts:v1 (Connected Accounts)",
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"id": "abc12", "name": "spez"})),
        )
        .mount(&server)
        .await;
    let h = harness("reddit", &server, None, &[]).await;
    let (account, params, _) = sign_in(&h, "reddit").await;
    let account = account.unwrap();
    assert_eq!(params["duration"], "permanent");
    assert!(
        !params.contains_key("code_challenge"),
        "Reddit does not take PKCE"
    );
    assert_eq!(account.display_name, "spez");
    assert_eq!(account.scopes_granted, vec!["identity"]);
}

#[tokio::test]
async fn google_and_atlassian_extra_authorize_parameters() {
    let server = MockServer::start().await;
    let h = harness("google", &server, Some(SECRET), &[]).await;
    let started = h
        .engine
        .connect_begin(ConnectRequest::provider("google"))
        .await
        .unwrap();
    let q = query(&support::follow_launcher(&started.browser_url).await);
    assert_eq!(q["access_type"], "offline");
    assert_eq!(q["prompt"], "consent");
    assert!(q.contains_key("nonce"), "Google is OpenID: a nonce is sent");
    assert!(q["scope"].split(' ').any(|s| s == "openid"));
    h.engine.connect_cancel(&started.flow_id);
    let _ = h.engine.connect_finish(&started.flow_id).await;

    let h = harness("atlassian", &server, Some(SECRET), &[]).await;
    let started = h
        .engine
        .connect_begin(ConnectRequest::provider("atlassian"))
        .await
        .unwrap();
    let q = query(&support::follow_launcher(&started.browser_url).await);
    assert_eq!(q["audience"], "api.atlassian.com");
    assert_eq!(q["prompt"], "consent");
    h.engine.connect_cancel(&started.flow_id);
    let _ = h.engine.connect_finish(&started.flow_id).await;
}

#[tokio::test]
async fn redirect_host_forms_follow_the_provider() {
    let server = MockServer::start().await;
    for (id, secret, expected) in [
        ("microsoft", None, "http://localhost:"),
        ("spotify", None, "http://127.0.0.1:"),
        ("gitlab", None, "http://127.0.0.1:"),
    ] {
        let h = harness(id, &server, secret, &[]).await;
        let started = h
            .engine
            .connect_begin(ConnectRequest::provider(id))
            .await
            .unwrap();
        assert!(
            started.redirect_uri.starts_with(expected),
            "{id}: {}",
            started.redirect_uri
        );
        assert_eq!(
            query(&support::follow_launcher(&started.browser_url).await)["redirect_uri"],
            started.redirect_uri
        );
        h.engine.connect_cancel(&started.flow_id);
        let _ = h.engine.connect_finish(&started.flow_id).await;
    }
}

#[tokio::test]
async fn gitlab_self_managed_base_url_and_microsoft_tenant_fill_the_endpoints() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "glpat-x", "token_type": "Bearer", "expires_in": 7200, "refresh_token": "gl-rt", "scope": "read_user openid", "created_at": 1607635748
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v4/user"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": 1, "username": "john_smith", "name": "John Smith", "email": "john@example.com"})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/revoke"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({})))
        .mount(&server)
        .await;
    // The self-managed instance lives at the test double's address.
    let h = harness("gitlab", &server, None, &[("base", &server.uri())]).await;
    let (account, _, _) = sign_in(&h, "gitlab").await;
    let account = account.unwrap();
    assert_eq!(account.scopes_granted, vec!["read_user", "openid"]);
    assert!(matches!(
        h.engine.disconnect(&account.id, false).await.unwrap(),
        DisconnectOutcome::Revoked
    ));

    let h = harness("microsoft", &server, None, &[("tenant", "organizations")]).await;
    let started = h
        .engine
        .connect_begin(ConnectRequest::provider("microsoft"))
        .await
        .unwrap();
    let real = support::follow_launcher(&started.browser_url).await;
    assert!(
        real.contains("/organizations/oauth2/v2.0/authorize"),
        "{real}"
    );
    h.engine.connect_cancel(&started.flow_id);
    let _ = h.engine.connect_finish(&started.flow_id).await;
}

#[tokio::test]
async fn github_device_flow_honours_pending_with_http_200_and_slow_down() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/login/device/code"))
        .and(body_string_contains("client_id=cid-123"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "device_code": "3584d83530557fdd1f46af8289938c8ef79f9dc5", "user_code": "WDJB-MJHT",
            "verification_uri": "https://github.com/login/device", "expires_in": 900, "interval": 1
        })))
        .mount(&server)
        .await;
    // GitHub answers polling with HTTP 200 and an error field.
    for (priority, body) in [
        (1, serde_json::json!({"error": "authorization_pending"})),
        (2, serde_json::json!({"error": "slow_down", "interval": 6})),
    ] {
        Mock::given(method("POST"))
            .and(path("/login/oauth/access_token"))
            .and(body_string_contains(
                "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code",
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .up_to_n_times(1)
            .with_priority(priority)
            .mount(&server)
            .await;
    }
    Mock::given(method("POST"))
        .and(path("/login/oauth/access_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "gho_device", "token_type": "bearer", "scope": "read:user"
        })))
        .with_priority(3)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/user"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("X-OAuth-Scopes", "read:user")
                .set_body_json(serde_json::json!({"id": 1, "login": "octo"})),
        )
        .mount(&server)
        .await;
    // Device-flow tokens need no secret at GitHub.
    let h = harness("github", &server, None, &[]).await;
    let started = h
        .engine
        .device_begin(ConnectRequest::provider("github"))
        .await
        .unwrap();
    assert_eq!(started.user_code, "WDJB-MJHT");
    assert_eq!(started.interval_secs, 1);
    let clock = std::time::Instant::now();
    let account = h.engine.device_finish(&started.flow_id).await.unwrap();
    // 1 s, 1 s, then 1 + 5 s after slow_down: without honouring it this takes about 3 s.
    assert!(
        clock.elapsed() >= Duration::from_secs(7),
        "slow_down ignored: {:?}",
        clock.elapsed()
    );
    assert_eq!(account.display_name, "octo");
    let requests = server.received_requests().await.unwrap();
    let poll_count = requests
        .iter()
        .filter(|r| r.url.path() == "/login/oauth/access_token")
        .count();
    assert_eq!(
        poll_count, 3,
        "pending, slow_down, then the token; never a poll after success"
    );
    for r in requests
        .iter()
        .filter(|r| r.url.path() == "/login/oauth/access_token")
    {
        assert!(
            !form(r).contains_key("client_secret"),
            "no secret in the device flow"
        );
    }
}

#[tokio::test]
async fn a_provider_without_custom_schemes_gets_loopback_and_refresh_keeps_a_non_rotated_token() {
    let server = MockServer::start().await;
    // Spotify: PKCE without a secret; each refresh returns a new refresh token (rotation).
    Mock::given(method("POST"))
        .and(path("/api/token"))
        .and(body_string_contains("grant_type=authorization_code"))
        .and(body_string_contains("code_verifier="))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "sp-at-1", "token_type": "Bearer", "scope": "user-read-email user-read-private",
            "expires_in": 3600, "refresh_token": "sp-rt-1"
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=sp-rt-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "sp-at-2", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "sp-rt-2",
            "scope": "user-read-email user-read-private"
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": "wizzler", "display_name": "JM Wizzler", "email": "email@example.com"})))
        .mount(&server)
        .await;
    let h = harness("spotify", &server, None, &[]).await;
    let started = h
        .engine
        .connect_begin(
            ConnectRequest::provider("spotify")
                .redirect(Some(ca_core::catalog::RedirectKind::CustomScheme)),
        )
        .await
        .unwrap();
    // Spotify's profile allows custom schemes; Google's does not (the desktop client type).
    assert_eq!(
        started.redirect_uri,
        "io.github.connectedaccounts:/oauth/callback"
    );
    h.engine.connect_cancel(&started.flow_id);
    let _ = h.engine.connect_finish(&started.flow_id).await;
    let g = harness("google", &server, Some(SECRET), &[]).await;
    let started = g
        .engine
        .connect_begin(
            ConnectRequest::provider("google")
                .redirect(Some(ca_core::catalog::RedirectKind::CustomScheme)),
        )
        .await
        .unwrap();
    assert!(
        started.redirect_uri.starts_with("http://127.0.0.1:"),
        "Google forbids custom schemes: {}",
        started.redirect_uri
    );
    g.engine.connect_cancel(&started.flow_id);
    let _ = g.engine.connect_finish(&started.flow_id).await;

    let (account, _, _) = sign_in(&h, "spotify").await;
    let account = account.unwrap();
    assert_eq!(account.display_name, "JM Wizzler");
    h.engine.refresh(&account.id).await.unwrap();
    let stored: serde_json::Value =
        serde_json::from_str(&keychain_lookup(&h.namespace, &account.id).await.unwrap()).unwrap();
    assert_eq!(
        stored["refresh_token"], "sp-rt-2",
        "the rotated refresh token is saved"
    );
    assert_eq!(stored["access_token"], "sp-at-2");

    // A refresh reply without a refresh token (Google, GitLab sometimes) keeps the one we have.
    server.reset().await;
    Mock::given(method("POST"))
        .and(path("/api/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"access_token": "sp-at-3", "token_type": "Bearer", "expires_in": 3600})))
        .mount(&server)
        .await;
    h.engine.refresh(&account.id).await.unwrap();
    let stored: serde_json::Value =
        serde_json::from_str(&keychain_lookup(&h.namespace, &account.id).await.unwrap()).unwrap();
    assert_eq!(stored["refresh_token"], "sp-rt-2");
    assert_eq!(stored["access_token"], "sp-at-3");
}

#[tokio::test]
async fn discord_token_and_revoke_calls_are_form_encoded_from_a_public_client() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/oauth2/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains("client_id=cid-123"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "6qrZcUqja7812RVdnEKjpzOL4CvHBFG", "token_type": "Bearer", "expires_in": 604800,
            "refresh_token": "D43f5y0ahjqew82jZ4NViEr2YafMKhue", "scope": "identify email"
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/users/@me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": "80351110224678912", "username": "Nelly", "email": "nelly@discord.com"})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/oauth2/token/revoke"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({})))
        .mount(&server)
        .await;
    let h = harness("discord", &server, None, &[]).await;
    let (account, params, _) = sign_in(&h, "discord").await;
    let account = account.unwrap();
    assert_eq!(
        params["scope"], "identify email",
        "scopes joined by a space (sent as %20/+)"
    );
    assert_eq!(account.subject, "80351110224678912");
    assert_eq!(account.scopes_granted, vec!["identify", "email"]);
    let token_call = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path() == "/api/oauth2/token")
        .unwrap();
    let body = form(&token_call);
    assert!(!body.contains_key("client_secret"));
    assert_eq!(body["grant_type"], "authorization_code");
    assert!(body.contains_key("code_verifier"));
    assert!(matches!(
        h.engine.disconnect(&account.id, false).await.unwrap(),
        DisconnectOutcome::Revoked
    ));
    let revokes = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/api/oauth2/token/revoke")
        .count();
    assert_eq!(revokes, 2);
}

/// Issue 12: reconnecting a GitHub account revokes the token it replaced (GitHub deletes one
/// token at a time), after the new token answered the who-am-I call; the new one stays live.
#[tokio::test]
async fn a_github_reconnect_revokes_only_the_replaced_token() {
    let server = MockServer::start().await;
    for token in ["gho_first", "gho_second"] {
        Mock::given(method("POST"))
            .and(path("/login/oauth/access_token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "access_token": token, "token_type": "bearer", "scope": "read:user"
            })))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/user"))
            .and(header("authorization", format!("Bearer {token}").as_str()))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({"id": 583231, "login": "octocat"})),
            )
            .mount(&server)
            .await;
    }
    Mock::given(method("DELETE"))
        .and(path(format!("/applications/{CLIENT_ID}/token")))
        .and(body_string_contains("\"access_token\":\"gho_first\""))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("/applications/{CLIENT_ID}/token")))
        .and(body_string_contains("\"access_token\":\"gho_second\""))
        .respond_with(ResponseTemplate::new(204))
        .expect(0)
        .mount(&server)
        .await;
    let h = harness("github", &server, Some(SECRET), &[]).await;
    let first = sign_in(&h, "github").await.0.unwrap();
    let again = sign_in(&h, "github").await.0.unwrap();
    assert_eq!(again.id, first.id, "a reconnect keeps the account");
    let stored: serde_json::Value =
        serde_json::from_str(&keychain_lookup(&h.namespace, &first.id).await.unwrap()).unwrap();
    assert_eq!(stored["access_token"], "gho_second");
    let audit = h.engine.audit_log(20).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.kind == "revoked" && e.detail.contains("reconnect replaced was revoked")),
        "{audit:?}"
    );
}
