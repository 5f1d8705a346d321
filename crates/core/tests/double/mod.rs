//! A provider played by an HTTP test double: a built-in profile pointed at a wiremock server, an
//! engine over a sandbox with the real Secret Service, and a sign-in driven to completion.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use ca_core::catalog::{self, Profile, Revocation};
use ca_core::engine::ProviderSettings;
use ca_core::paths::Paths;
use ca_core::secret::Keychain;
use ca_core::ConnectRequest;
use ca_core::{Account, Engine, SecretString};
use wiremock::MockServer;

use crate::support::{require_keyring, Sandbox};

pub const CLIENT_ID: &str = "cid-123";
pub const SECRET: &str = "shh-not-so-secret";

/// Points every URL of a profile at the test double (same paths).
pub fn rebase(profile: &Profile, base: &str) -> Profile {
    let mut p = profile.clone();
    let move_url = |u: &mut String| {
        if let Ok(parsed) = url::Url::parse(u) {
            let rest = &u[parsed.origin().ascii_serialization().len()..];
            *u = format!("{base}{rest}");
        }
    };
    move_url(&mut p.endpoints.authorization);
    move_url(&mut p.endpoints.token);
    if let Some(d) = p.endpoints.device.as_mut() {
        move_url(d);
    }
    move_url(&mut p.whoami.url);
    match &mut p.revocation {
        Revocation::Rfc7009 { url }
        | Revocation::GithubTokenDelete { url }
        | Revocation::BearerSelf { url, .. } => move_url(url),
        Revocation::None { .. } => {}
    }
    p
}

pub struct Harness {
    pub catalog: Vec<Profile>,
    pub engine: Arc<Engine>,
    pub namespace: String,
    _sandbox: Sandbox,
}

impl Harness {
    pub fn sandbox_dir(&self) -> std::path::PathBuf {
        self._sandbox.dir.clone()
    }

    pub fn engine_catalog(&self) -> Vec<Profile> {
        self.catalog.clone()
    }
}

pub async fn harness(
    id: &str,
    server: &MockServer,
    secret: Option<&str>,
    params: &[(&str, &str)],
) -> Harness {
    require_keyring();
    let sandbox = Sandbox::new();
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let namespace = format!("connected-accounts-quirks-{id}-{}-{n}", std::process::id());
    let profile = rebase(catalog::find(id).unwrap(), &server.uri());
    let engine = Engine::open(
        Paths::rooted(&sandbox.dir, &namespace),
        Keychain::platform(namespace.clone()),
    )
    .await
    .unwrap()
    .with_catalog(vec![profile.clone()]);
    engine
        .configure_provider(
            ProviderSettings {
                provider_id: id.into(),
                client_id: CLIENT_ID.into(),
                params: params
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<BTreeMap<_, _>>(),
            },
            secret.map(SecretString::new),
        )
        .await
        .unwrap();
    Harness {
        catalog: vec![profile],
        engine: Arc::new(engine),
        namespace,
        _sandbox: sandbox,
    }
}

pub fn query(url: &str) -> HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// Starts a sign-in, plays the provider's redirect back with `code`, and returns the result and
/// the authorization URL's parameters.
pub async fn sign_in(
    h: &Harness,
    id: &str,
) -> (ca_core::Result<Account>, HashMap<String, String>, String) {
    // Dropbox, Reddit and Twitch register the same fixed loopback port (28561): their tests'
    // sign-ins take turns, as two real sign-ins to them would have to.
    static FIXED_PORT: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _turn = FIXED_PORT.lock().await;
    let started = h
        .engine
        .connect_begin(ConnectRequest::provider(id).timeout(Duration::from_secs(20)))
        .await
        .unwrap();
    let params = query(&crate::support::follow_launcher(&started.browser_url).await);
    let finish = tokio::spawn({
        let engine = h.engine.clone();
        let flow = started.flow_id.clone();
        async move { engine.connect_finish(&flow).await }
    });
    let callback = format!(
        "{}?code=the-code&state={}",
        started.redirect_uri, params["state"]
    );
    let _ = reqwest::get(&callback).await;
    (finish.await.unwrap(), params, started.redirect_uri)
}
