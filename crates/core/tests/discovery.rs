//! Adding a provider by its URL: RFC 8414 metadata (path-insert and appended forms), then OpenID
//! discovery, merged; the issuer each document names must be exactly the one asked for; bad and
//! hostile documents are clear errors. Served by an HTTP test double.

#[path = "../../../tests/support/mod.rs"]
mod support;

use ca_core::catalog::Protocol;
use ca_core::paths::Paths;
use ca_core::secret::Keychain;
use ca_core::{Engine, ErrorKind, NewProvider};
use support::Sandbox;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn engine(sandbox: &Sandbox) -> Engine {
    let ns = format!("connected-accounts-discovery-{}", std::process::id());
    // No keychain is touched by discovery.
    Engine::open(
        Paths::rooted(&sandbox.dir, &ns),
        Keychain::platform(ns.clone()),
    )
    .await
    .unwrap()
}

fn new(issuer: &str) -> NewProvider {
    NewProvider {
        issuer: issuer.into(),
        client_id: "cid".into(),
        name: Some("Corp SSO".into()),
        ..Default::default()
    }
}

fn doc(issuer: &str, extra: serde_json::Value) -> serde_json::Value {
    let mut d = serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
    });
    d.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    d
}

#[tokio::test]
async fn rfc_8414_path_insert_and_openid_documents_are_merged() {
    let server = MockServer::start().await;
    let issuer = format!("{}/realms/corp", server.uri());
    // RFC 8414 (path inserted after the well-known segment) has the revocation endpoint...
    Mock::given(method("GET"))
        .and(path("/.well-known/oauth-authorization-server/realms/corp"))
        .respond_with(ResponseTemplate::new(200).set_body_json(doc(
            &issuer,
            serde_json::json!({
                "revocation_endpoint": format!("{issuer}/revoke"),
                "device_authorization_endpoint": format!("{issuer}/device"),
            }),
        )))
        .mount(&server)
        .await;
    // ...the OpenID document has keys and userinfo but omits revocation.
    Mock::given(method("GET"))
        .and(path("/realms/corp/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(doc(
            &issuer,
            serde_json::json!({
                "jwks_uri": format!("{issuer}/certs"),
                "userinfo_endpoint": format!("{issuer}/userinfo"),
                "scopes_supported": ["openid", "email", "profile", "offline_access", "roles"],
            }),
        )))
        .mount(&server)
        .await;
    let sandbox = Sandbox::new();
    let engine = engine(&sandbox).await;
    let p = engine.add_provider(new(&issuer)).await.unwrap();
    assert_eq!(p.id, "corp-sso");
    assert!(
        p.has_revocation,
        "revocation came from the RFC 8414 document"
    );
    assert!(p.has_userinfo, "userinfo came from the OpenID document");
    assert!(p.capabilities.device_flow);
    assert_eq!(p.capabilities.protocol, Protocol::Oidc);
    assert_eq!(
        p.scopes,
        vec!["openid", "profile", "email", "offline_access"]
    );
    let spec = engine.spec("corp-sso").await.unwrap();
    assert_eq!(spec.token_endpoint, format!("{issuer}/token"));
}

#[tokio::test]
async fn a_document_naming_another_issuer_is_refused() {
    let server = MockServer::start().await;
    let issuer = server.uri();
    Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(doc(
            "https://evil.example",
            serde_json::json!({"jwks_uri": "https://evil.example/k"}),
        )))
        .mount(&server)
        .await;
    let sandbox = Sandbox::new();
    let err = engine(&sandbox)
        .await
        .add_provider(new(&issuer))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Forged);
    assert!(
        err.message
            .contains("names the issuer \"https://evil.example\""),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn hostile_or_broken_documents_are_clear_errors() {
    let sandbox = Sandbox::new();
    let engine = engine(&sandbox).await;
    let cases: Vec<(ResponseTemplate, &str)> = vec![
        (
            ResponseTemplate::new(200).set_body_string("<html>hello</html>"),
            "not a JSON metadata document",
        ),
        (
            ResponseTemplate::new(200).set_body_string("x".repeat(300 * 1024)),
            "larger than 256 KB",
        ),
        (
            ResponseTemplate::new(302).insert_header("location", "https://evil.example/"),
            "does not follow redirects",
        ),
        (ResponseTemplate::new(500), "HTTP 500"),
    ];
    for (response, expected) in cases {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(response)
            .mount(&server)
            .await;
        let err = engine.add_provider(new(&server.uri())).await.unwrap_err();
        assert!(
            err.message.contains(expected),
            "{expected}: {}",
            err.message
        );
        assert!(err.hint.is_some());
    }
    // Endpoints on plain http away from loopback are refused.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "issuer": server.uri(), "authorization_endpoint": "http://id.example.com/auth",
            "token_endpoint": format!("{}/token", server.uri()), "jwks_uri": format!("{}/k", server.uri())
        })))
        .mount(&server)
        .await;
    let err = engine.add_provider(new(&server.uri())).await.unwrap_err();
    assert!(
        err.message.contains("does not use https"),
        "{}",
        err.message
    );
    // Nothing at all.
    let server = MockServer::start().await;
    let err = engine.add_provider(new(&server.uri())).await.unwrap_err();
    assert!(
        err.message
            .contains("publishes no OAuth or OpenID metadata"),
        "{}",
        err.message
    );
    assert!(
        engine.providers().await.unwrap().iter().all(|p| p.builtin),
        "nothing was added"
    );
}

#[tokio::test]
async fn a_plain_oauth_server_needs_its_user_endpoint_entered_by_hand() {
    let server = MockServer::start().await;
    let issuer = server.uri();
    Mock::given(method("GET"))
        .and(path("/.well-known/oauth-authorization-server"))
        .respond_with(ResponseTemplate::new(200).set_body_json(doc(&issuer, serde_json::json!({}))))
        .mount(&server)
        .await;
    let sandbox = Sandbox::new();
    let engine = engine(&sandbox).await;
    let err = engine.add_provider(new(&issuer)).await.unwrap_err();
    assert_eq!(err.remedy, Some(ca_core::Remedy::EnterUserEndpoint));
    let p = engine
        .add_provider(NewProvider {
            userinfo_endpoint: Some(format!("{issuer}/me")),
            revocation_endpoint: Some(format!("{issuer}/revoke")),
            ..new(&issuer)
        })
        .await
        .unwrap();
    assert_eq!(p.capabilities.protocol, Protocol::Oauth2);
    assert!(p.has_userinfo && p.has_revocation);
}

/// A server starting up or being deployed answers 503 for a moment: discovery asks again.
#[tokio::test]
async fn a_briefly_unavailable_server_is_asked_again() {
    let server = MockServer::start().await;
    let issuer = server.uri();
    // The first two answers are 503; wiremock tries the mock mounted first while it has uses left.
    Mock::given(method("GET"))
        .and(path("/.well-known/oauth-authorization-server"))
        .respond_with(ResponseTemplate::new(503).set_body_json(serde_json::json!({
            "error": "temporarily_unavailable", "error_description": "starting up"
        })))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/.well-known/oauth-authorization-server"))
        .respond_with(ResponseTemplate::new(200).set_body_json(doc(
            &issuer,
            serde_json::json!({ "jwks_uri": format!("{issuer}/jwks") }),
        )))
        .mount(&server)
        .await;
    // An OAuth error body saying `temporarily_unavailable` counts, whatever the status.
    Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(500).set_body_json(serde_json::json!({
            "error": "temporarily_unavailable"
        })))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(doc(
            &issuer,
            serde_json::json!({ "userinfo_endpoint": format!("{issuer}/me") }),
        )))
        .mount(&server)
        .await;
    let sandbox = Sandbox::new();
    let engine = engine(&sandbox).await;
    let p = engine.add_provider(new(&issuer)).await.unwrap();
    assert_eq!(
        p.capabilities.protocol,
        Protocol::Oidc,
        "the keys came from the RFC 8414 document"
    );
    assert!(p.has_userinfo, "userinfo came from the OpenID document");
    let requests = server.received_requests().await.unwrap();
    let asked = |p: &str| requests.iter().filter(|r| r.url.path() == p).count();
    assert_eq!(asked("/.well-known/oauth-authorization-server"), 3);
    assert_eq!(asked("/.well-known/openid-configuration"), 2);
}

/// A server that stays unavailable is reported as unavailable within a few seconds, and a
/// server asking for a long wait is not waited for.
#[tokio::test]
async fn a_server_that_stays_unavailable_is_reported_as_unavailable() {
    let sandbox = Sandbox::new();
    let engine = engine(&sandbox).await;

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let started = std::time::Instant::now();
    let err = engine.add_provider(new(&server.uri())).await.unwrap_err();
    let took = started.elapsed();
    assert_eq!(err.kind, ErrorKind::Network, "{}", err.message);
    assert!(err.message.contains("is unavailable"), "{}", err.message);
    assert!(err.message.contains("HTTP 503"), "{}", err.message);
    assert!(err.message.contains("4 times"), "{}", err.message);
    let hint = err.hint.as_deref().unwrap();
    assert!(!hint.contains("configuration is broken"), "{hint}");
    assert!(hint.contains("try again"), "{hint}");
    // Four tries of the first document (250 + 750 + 1500 ms apart), then it stops.
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
    assert!(
        took >= std::time::Duration::from_millis(2400) && took < std::time::Duration::from_secs(6),
        "{took:?}"
    );

    // A short Retry-After is honoured: the second try comes a second later.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/.well-known/oauth-authorization-server"))
        .respond_with(ResponseTemplate::new(200).set_body_json(doc(
            &server.uri(),
            serde_json::json!({ "jwks_uri": format!("{}/jwks", server.uri()) }),
        )))
        .mount(&server)
        .await;
    let started = std::time::Instant::now();
    engine.add_provider(new(&server.uri())).await.unwrap();
    assert!(started.elapsed() >= std::time::Duration::from_millis(950));

    // A long one is not waited for: reported at once, with the wait the server asked for.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "120"))
        .mount(&server)
        .await;
    let started = std::time::Instant::now();
    let err = engine.add_provider(new(&server.uri())).await.unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    assert!(err.message.contains("is unavailable"), "{}", err.message);
    assert!(
        err.hint.as_deref().unwrap().contains("wait 120 s"),
        "{:?}",
        err.hint
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    assert!(
        engine
            .providers()
            .await
            .unwrap()
            .iter()
            .filter(|p| !p.builtin)
            .count()
            == 1,
        "only the provider that answered was added"
    );
}
