//! Networks people really have: a self-hosted provider behind a private CA (trusted through the
//! OS store: here SSL_CERT_FILE, which the system store honours), and HTTP proxies from the
//! environment (HTTP_PROXY / HTTPS_PROXY / NO_PROXY).

#[path = "../../../tests/support/mod.rs"]
mod support;

use std::convert::Infallible;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use support::{require_keyring, Sandbox};
use tokio::process::Command;
use tokio_rustls::rustls;

/// A CA made here, and a server certificate for 127.0.0.1 signed by it.
fn private_ca() -> (
    String,
    rustls::pki_types::CertificateDer<'static>,
    rustls::pki_types::PrivateKeyDer<'static>,
) {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Connected Accounts Test CA");
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let server_params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    let server_key = rcgen::KeyPair::generate().unwrap();
    let server = server_params.signed_by(&server_key, &issuer).unwrap();
    (
        ca.pem(),
        server.der().clone(),
        rustls::pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into()),
    )
}

/// An https server on 127.0.0.1 serving an OpenID discovery document for itself.
async fn tls_provider(
    cert: rustls::pki_types::CertificateDer<'static>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
) -> String {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!(
        "https://127.0.0.1:{}",
        listener.local_addr().unwrap().port()
    );
    let doc = serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/auth"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "userinfo_endpoint": format!("{issuer}/me"),
        "scopes_supported": ["openid", "email"],
    })
    .to_string();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (acceptor, doc) = (acceptor.clone(), doc.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let body = if req.uri().path() == "/.well-known/openid-configuration" {
                        doc.clone()
                    } else {
                        String::new()
                    };
                    let status = if body.is_empty() { 404 } else { 200 };
                    async move {
                        Ok::<_, Infallible>(
                            Response::builder()
                                .status(status)
                                .header("content-type", "application/json")
                                .body(Full::new(Bytes::from(body)))
                                .unwrap(),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    issuer
}

async fn add(sandbox: &Sandbox, issuer: &str, env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_connected-accounts"));
    cmd.args([
        "providers",
        "add",
        "--issuer",
        issuer,
        "--client-id",
        "cid",
        "--name",
        "Self hosted",
    ])
    .envs(sandbox.env())
    .env_remove("SSL_CERT_FILE")
    .env_remove("SSL_CERT_DIR")
    .env_remove("HTTP_PROXY")
    .env_remove("HTTPS_PROXY")
    .env_remove("NO_PROXY")
    .env_remove("http_proxy")
    .env_remove("https_proxy")
    .env_remove("no_proxy");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().await.unwrap()
}

#[tokio::test]
async fn a_provider_behind_a_private_ca_works_once_the_ca_is_trusted() {
    require_keyring();
    let (ca_pem, cert, key) = private_ca();
    let issuer = tls_provider(cert, key).await;
    let sandbox = Sandbox::new();

    // Not trusted yet: a clear error that says what to do.
    let out = add(&sandbox, &issuer, &[]).await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("certificate"), "{err}");
    assert!(
        err.contains("SSL_CERT_FILE") || err.contains("update-ca-certificates"),
        "{err}"
    );

    // Trusted through the OS store's SSL_CERT_FILE: the same call succeeds over TLS.
    let ca_file = sandbox.dir.join("corp-ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    let out = add(
        &sandbox,
        &issuer,
        &[("SSL_CERT_FILE", ca_file.to_str().unwrap())],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "self-hosted");
}

#[tokio::test]
async fn requests_go_through_the_proxy_from_the_environment_unless_no_proxy_says_otherwise() {
    require_keyring();
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    // The proxy: it receives absolute-form requests and answers them itself.
    let proxy = MockServer::start().await;
    let issuer = "http://id.corp.example";
    Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "issuer": issuer, "authorization_endpoint": "https://id.corp.example/auth",
            "token_endpoint": "https://id.corp.example/token", "jwks_uri": "https://id.corp.example/jwks",
        })))
        .mount(&proxy)
        .await;
    let sandbox = Sandbox::new();
    // http on a non-loopback host is refused before any request, so point at loopback through
    // the proxy: the proxy must see the request for the real target.
    let target = format!("http://127.0.0.2:{}", 9);
    let out = add(&sandbox, &target, &[("HTTP_PROXY", &proxy.uri())]).await;
    let seen = proxy.received_requests().await.unwrap();
    assert!(
        seen.iter().any(|r| r.url.host_str() == Some("127.0.0.2")),
        "the request did not go through the proxy: {:?}; {}",
        seen.iter().map(|r| r.url.to_string()).collect::<Vec<_>>(),
        String::from_utf8_lossy(&out.stderr)
    );
    // NO_PROXY bypasses it: the direct connection fails, and the proxy sees nothing new.
    let before = seen.len();
    let out = add(
        &sandbox,
        &target,
        &[("HTTP_PROXY", &proxy.uri()), ("NO_PROXY", "127.0.0.2")],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        proxy.received_requests().await.unwrap().len(),
        before,
        "NO_PROXY was ignored"
    );
}
