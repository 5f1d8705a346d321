//! Entry points for the fuzz targets (`crates/core/fuzz`) and for the test that replays their
//! corpora on stable Rust. Each takes arbitrary bytes, must not panic, and asserts what has to hold
//! for every input, so the fuzzer finds wrong answers as well as crashes.

use std::time::Duration;

use crate::catalog;
use crate::discovery::{read_metadata, resolve, Metadata, NewProvider};
use crate::flow::read_scheme_callback;
use crate::model::check_endpoint_url;
use crate::model::CUSTOM_SCHEME_REDIRECT;
use crate::model::{Settings, Spec};
use crate::spec::ProviderView;
use crate::token::{self, ProviderTokenResponse};

/// A callback URL handed over by the desktop (custom scheme).
pub fn callback_url(data: &[u8]) {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(params) = read_scheme_callback(raw) else {
        return;
    };
    let scheme = CUSTOM_SCHEME_REDIRECT.split(':').next().unwrap_or_default();
    assert!(
        raw.get(..scheme.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(scheme)),
        "accepted a URL that does not start with our scheme: {raw:?}"
    );
    assert!(params.len() <= raw.len());
}

/// A provider profile (TOML), resolved into a spec and shown in the window.
pub fn profile(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(profile) = catalog::parse(text) else {
        return;
    };
    let mut settings = Settings {
        client_id: Some("fuzz-client".into()),
        ..Settings::default()
    };
    for name in profile.params.keys() {
        settings
            .params
            .insert(name.clone(), " {client_id}/ ".into());
    }
    let spec = Spec::from_profile(&profile, &settings);
    let view = ProviderView::new(&spec, Some(&profile), &settings);
    assert_eq!(view.id, profile.id);
    let _ = spec.loopback_redirect_uri();
    let params = token::authorize_params(&spec, &profile.scopes.default);
    if !profile.scopes.default.is_empty() {
        assert!(params.contains_key(&spec.scopes.param));
    }
    let _ = token::client(&spec, None, None);
}

/// A discovery document served for the issuer `https://issuer.example/tenant`.
pub fn discovery(data: &[u8]) {
    const ISSUER: &str = "https://issuer.example/tenant";
    let Ok(metadata) = read_metadata(
        "https://issuer.example/.well-known/openid-configuration/tenant",
        data,
        ISSUER,
    ) else {
        return;
    };
    let new = NewProvider {
        issuer: ISSUER.into(),
        client_id: "fuzz-client".into(),
        name: None,
        scopes: Vec::new(),
        userinfo_endpoint: None,
        revocation_endpoint: None,
        redirect_uris: Vec::new(),
    };
    let Ok(provider) = resolve(&new, metadata.merge(Metadata::default())) else {
        return;
    };
    assert_eq!(provider.issuer, ISSUER);
    for url in [
        Some(&provider.authorization_endpoint),
        Some(&provider.token_endpoint),
        provider.userinfo_endpoint.as_ref(),
        provider.revocation_endpoint.as_ref(),
        provider.device_endpoint.as_ref(),
        Some(&provider.jwks_uri).filter(|u| !u.is_empty()),
    ]
    .into_iter()
    .flatten()
    {
        assert!(
            check_endpoint_url("endpoint", url).is_ok(),
            "accepted {url:?}"
        );
    }
    // Accounts are told apart by the ID token's keys or by the user endpoint: one must exist.
    assert!(!provider.jwks_uri.is_empty() || provider.userinfo_endpoint.is_some());
    let spec = Spec::from_discovered(&provider);
    token::client(&spec, None, Some(&spec.loopback_redirect_uri()))
        .expect("a resolved provider builds a client");
}

/// A token endpoint's reply (the first byte picks the built-in provider whose rules read it).
pub fn token_response(data: &[u8]) {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let profiles = catalog::builtin();
    let profile = &profiles[usize::from(pick) % profiles.len()];
    let spec = Spec::from_profile(profile, &Settings::default());
    let Ok(reply) = serde_json::from_slice::<ProviderTokenResponse>(body) else {
        return;
    };
    match reply.read(&spec.token, spec.scopes.granted_from, &spec.name, "sign in") {
        Ok(granted) => {
            let access = granted.access_token.expose();
            assert!(!access.is_empty());
            if let Some(e) = granted.expires_in {
                assert!(e >= Duration::from_secs(1) && e <= Duration::from_secs(10 * 365 * 86_400));
            }
            // Shown, a token is the fixed redaction whatever its value.
            assert_eq!(
                format!("{:?}", granted.access_token),
                "SecretString([redacted])"
            );
            assert_eq!(granted.access_token.to_string(), "[redacted]");
        }
        Err(e) => {
            // A refused reply's message never repeats a token it carried.
            let text = e.detailed();
            let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
            let mut said = Vec::new();
            strings_under(&json, &["error", "error_description"], &mut said);
            let mut tokens = Vec::new();
            strings_under(&json, &["access_token", "refresh_token"], &mut tokens);
            for t in tokens {
                if t.len() >= 8 && !said.iter().any(|s| s.contains(t.as_str())) {
                    assert!(
                        !text.contains(t.as_str()),
                        "error text repeats a token: {text}"
                    );
                }
            }
        }
    }
}

/// Every string value under one of `keys`, at any depth.
fn strings_under(v: &serde_json::Value, keys: &[&str], out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                match v {
                    serde_json::Value::String(s) if keys.contains(&k.as_str()) => {
                        out.push(s.clone())
                    }
                    _ => strings_under(v, keys, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| strings_under(v, keys, out)),
        _ => {}
    }
}
