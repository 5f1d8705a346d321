//! Adding a provider by its URL: RFC 8414 metadata (path-insert and appended forms), then OpenID
//! discovery, merged; the issuer each document names must be exactly the one asked for; bad and
//! hostile documents are clear errors. Served by an HTTP test double.

#[path = "../../../tests/support/mod.rs"]
mod support;

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
    assert_eq!(p.capabilities.protocol, "oidc");
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
    assert!(err.hint.unwrap().contains("--userinfo-url"));
    let p = engine
        .add_provider(NewProvider {
            userinfo_endpoint: Some(format!("{issuer}/me")),
            revocation_endpoint: Some(format!("{issuer}/revoke")),
            ..new(&issuer)
        })
        .await
        .unwrap();
    assert_eq!(p.capabilities.protocol, "oauth2");
    assert!(p.has_userinfo && p.has_revocation);
}
