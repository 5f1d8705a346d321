//! The built-in provider catalog: one TOML profile per provider, embedded in the binary.

pub mod profile;

use std::collections::BTreeMap;
use std::sync::OnceLock;

pub use profile::*;

macro_rules! profiles {
    ($($id:literal),* $(,)?) => {
        &[$(($id, include_str!(concat!("../../providers/", $id, ".toml")))),*]
    };
}

const FILES: &[(&str, &str)] = profiles![
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
    "atlassian",
];

/// Every built-in profile, in catalog order. The files are checked by a unit test, so a bad one
/// never ships; should one still fail to parse, it is left out and logged.
pub fn builtin() -> &'static [Profile] {
    static CATALOG: OnceLock<Vec<Profile>> = OnceLock::new();
    CATALOG.get_or_init(|| {
        FILES
            .iter()
            .filter_map(|(id, text)| match parse(text) {
                Ok(p) => Some(p),
                Err(e) => {
                    tracing::error!(provider = id, error = %e, "built-in provider profile is invalid");
                    None
                }
            })
            .collect()
    })
}

pub fn parse(text: &str) -> Result<Profile, toml::de::Error> {
    toml::from_str(text)
}

pub fn find(id: &str) -> Option<&'static Profile> {
    builtin().iter().find(|p| p.id == id)
}

/// Fills `{name}` placeholders from `params` (falling back to the profile's defaults) and
/// `{client_id}`. Unknown placeholders are left as they are (the catalog test forbids them).
pub fn fill(
    template: &str,
    profile: &Profile,
    params: &BTreeMap<String, String>,
    client_id: &str,
) -> String {
    let mut out = template.replace("{client_id}", client_id);
    for (name, param) in &profile.params {
        let value = params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
            .unwrap_or(&param.default);
        out = out.replace(&format!("{{{name}}}"), value.trim().trim_end_matches('/'));
    }
    out
}

/// A distributor's client ID, baked in at build time: `CA_CLIENT_ID_GITHUB=… cargo build`.
pub fn baked_client_id(id: &str) -> Option<&'static str> {
    let baked: &[(&str, Option<&str>)] = &[
        ("github", option_env!("CA_CLIENT_ID_GITHUB")),
        ("google", option_env!("CA_CLIENT_ID_GOOGLE")),
        ("microsoft", option_env!("CA_CLIENT_ID_MICROSOFT")),
        ("gitlab", option_env!("CA_CLIENT_ID_GITLAB")),
        ("spotify", option_env!("CA_CLIENT_ID_SPOTIFY")),
        ("discord", option_env!("CA_CLIENT_ID_DISCORD")),
        ("slack", option_env!("CA_CLIENT_ID_SLACK")),
        ("dropbox", option_env!("CA_CLIENT_ID_DROPBOX")),
        ("bitbucket", option_env!("CA_CLIENT_ID_BITBUCKET")),
        ("twitch", option_env!("CA_CLIENT_ID_TWITCH")),
        ("reddit", option_env!("CA_CLIENT_ID_REDDIT")),
        ("atlassian", option_env!("CA_CLIENT_ID_ATLASSIAN")),
    ];
    baked
        .iter()
        .find(|(p, _)| *p == id)
        .and_then(|(_, v)| *v)
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(p: &Profile) -> Vec<&str> {
        let mut v = vec![
            p.setup.register_url.as_str(),
            p.endpoints.authorization.as_str(),
            p.endpoints.token.as_str(),
            p.whoami.url.as_str(),
        ];
        v.extend(p.endpoints.device.as_deref());
        v.extend(p.manage_url.as_deref());
        match &p.revocation {
            Revocation::Rfc7009 { url }
            | Revocation::GithubTokenDelete { url }
            | Revocation::BearerSelf { url, .. } => v.push(url),
            Revocation::None { manage_url } => v.push(manage_url),
        }
        v
    }

    #[test]
    fn every_profile_parses_and_the_catalog_has_all_twelve() {
        for (id, text) in FILES {
            let p = parse(text).unwrap_or_else(|e| panic!("{id}.toml: {e}"));
            assert_eq!(&p.id, id, "{id}.toml declares another id");
        }
        assert_eq!(builtin().len(), 12);
    }

    #[test]
    fn profiles_are_coherent() {
        for p in builtin() {
            let id = &p.id;
            for url in urls(p) {
                let filled = fill(url, p, &BTreeMap::new(), "CLIENT");
                assert!(!filled.contains('{'), "{id}: unfilled placeholder in {url}");
                let parsed =
                    url::Url::parse(&filled).unwrap_or_else(|e| panic!("{id}: {url}: {e}"));
                assert_eq!(parsed.scheme(), "https", "{id}: {url} is not https");
            }
            assert!(!p.redirect.kinds.is_empty(), "{id}: no redirect kind");
            assert!(p.redirect.path.starts_with('/'), "{id}: redirect path");
            assert!(!p.scopes.default.is_empty(), "{id}: no default scopes");
            for s in &p.scopes.default {
                assert!(
                    p.scopes.descriptions.contains_key(s),
                    "{id}: default scope {s} undescribed"
                );
            }
            if p.protocol == Protocol::Oidc {
                assert!(
                    p.endpoints.issuer.is_some() && p.endpoints.jwks.is_some(),
                    "{id}: OIDC without issuer/JWKS"
                );
            }
            // Reddit's "installed app" type has neither (Basic auth with an empty password); only
            // `state` protects its flow, as its documentation describes.
            if p.client.pkce == Pkce::Unsupported && p.id != "reddit" {
                assert_ne!(
                    p.client.secret,
                    SecretRule::None,
                    "{id}: neither PKCE nor a secret"
                );
            }
            assert!(
                p.whoami.subject.starts_with('/'),
                "{id}: subject is a JSON pointer"
            );
            // A fixed port inside an ephemeral range can be handed to any program's socket.
            if let Some(port) = p.redirect.fixed_port {
                assert!(
                    (1024..32768).contains(&port),
                    "{id}: fixed port {port} lies in an ephemeral range"
                );
            }
            assert!(
                logo_exists(&p.logo),
                "{id}: icons/providers/{} missing",
                p.logo
            );
        }
    }

    fn logo_exists(name: &str) -> bool {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../icons/providers")
            .join(name)
            .is_file()
    }

    #[test]
    fn templates_fill_from_settings_or_defaults() {
        let gitlab = find("gitlab").unwrap();
        let mut params = BTreeMap::new();
        assert_eq!(
            fill("{base}/oauth/token", gitlab, &params, "x"),
            "https://gitlab.com/oauth/token"
        );
        params.insert("base".into(), "https://git.example.org/".into());
        assert_eq!(
            fill("{base}/oauth/token", gitlab, &params, "x"),
            "https://git.example.org/oauth/token"
        );
        let ms = find("microsoft").unwrap();
        assert!(fill(&ms.endpoints.token, ms, &BTreeMap::new(), "x").contains("/common/"));
        let gh = find("github").unwrap();
        assert_eq!(
            fill(
                gh.manage_url.as_deref().unwrap(),
                gh,
                &BTreeMap::new(),
                "abc"
            ),
            "https://github.com/settings/connections/applications/abc"
        );
    }
}
