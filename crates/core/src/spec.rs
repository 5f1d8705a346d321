//! A provider resolved for use: a built-in profile with its settings (client ID, parameters), or a
//! provider discovered from an issuer URL. Flows, refresh, revoke and the test call read only this.

use std::collections::BTreeMap;

use serde::Serialize;
use ts_rs::TS;

use crate::catalog::{
    self, ClientAuth, GrantedScopesFrom, LoopbackHost, Pkce, Profile, Protocol, RedirectKind,
    RedirectRules, RefreshRules, Revocation, ScopeRules, SecretRule, TokenRules, WhoAmI,
};
use crate::provider::Provider;

#[derive(Debug, Clone)]
pub struct Spec {
    pub id: String,
    pub name: String,
    pub builtin: bool,
    pub protocol: Protocol,
    /// OIDC: the issuer ID tokens must name, and where its keys are.
    pub issuer: Option<String>,
    pub jwks_uri: Option<String>,
    /// RFC 9207: `iss` is required in the authorization response.
    pub iss_parameter_supported: bool,
    pub client_id: String,
    pub client_auth: ClientAuth,
    pub secret_rule: SecretRule,
    pub pkce: Pkce,
    pub device_needs_secret: bool,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub device_endpoint: Option<String>,
    /// RFC 9126: push authorization requests here (discovered servers that offer it).
    pub par_endpoint: Option<String>,
    /// The server refuses authorization requests that were not pushed.
    pub require_par: bool,
    pub redirect: RedirectRules,
    pub scopes: ScopeRules,
    pub extra_authorize: BTreeMap<String, String>,
    pub token: TokenRules,
    pub refresh: RefreshRules,
    pub revocation: Revocation,
    pub manage_url: Option<String>,
    pub whoami: Option<WhoAmI>,
}

/// A built-in provider's settings, as stored.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub client_id: Option<String>,
    pub params: BTreeMap<String, String>,
}

impl Spec {
    pub fn from_profile(p: &Profile, settings: &Settings) -> Self {
        let client_id = settings
            .client_id
            .clone()
            .or_else(|| catalog::baked_client_id(&p.id).map(str::to_owned))
            .unwrap_or_default();
        let f = |t: &str| catalog::fill(t, p, &settings.params, &client_id);
        let revocation = match &p.revocation {
            Revocation::Rfc7009 { url } => Revocation::Rfc7009 { url: f(url) },
            Revocation::GithubTokenDelete { url } => Revocation::GithubTokenDelete { url: f(url) },
            Revocation::BearerSelf { url, method } => Revocation::BearerSelf {
                url: f(url),
                method: method.clone(),
            },
            Revocation::None { manage_url } => Revocation::None {
                manage_url: f(manage_url),
            },
        };
        let mut whoami = p.whoami.clone();
        whoami.url = f(&whoami.url);
        for v in whoami.headers.values_mut() {
            *v = f(v);
        }
        Self {
            id: p.id.clone(),
            name: p.name.clone(),
            builtin: true,
            protocol: p.protocol,
            issuer: p.endpoints.issuer.as_deref().map(f),
            jwks_uri: p.endpoints.jwks.as_deref().map(f),
            iss_parameter_supported: false,
            client_auth: p.client.auth,
            secret_rule: p.client.secret,
            pkce: p.client.pkce,
            device_needs_secret: p.client.device_needs_secret,
            authorization_endpoint: f(&p.endpoints.authorization),
            token_endpoint: f(&p.endpoints.token),
            device_endpoint: p.endpoints.device.as_deref().map(f),
            par_endpoint: None,
            require_par: false,
            redirect: p.redirect.clone(),
            scopes: p.scopes.clone(),
            extra_authorize: p.authorize.extra.clone(),
            token: p.token.clone(),
            refresh: p.refresh.clone(),
            manage_url: p
                .manage_url
                .as_deref()
                .map(f)
                .or_else(|| match &revocation {
                    Revocation::None { manage_url } => Some(manage_url.clone()),
                    _ => None,
                }),
            revocation,
            whoami: Some(whoami),
            client_id,
        }
    }

    /// Every URL this provider's calls go to, and the pages the browser opens, checked once their
    /// placeholders are filled: https (scheme in any letter case), or http on loopback only.
    pub fn check_endpoints(&self) -> crate::error::Result<()> {
        let revocation = match &self.revocation {
            Revocation::Rfc7009 { url }
            | Revocation::GithubTokenDelete { url }
            | Revocation::BearerSelf { url, .. } => Some(url),
            Revocation::None { .. } => None,
        };
        let urls = [
            ("authorization endpoint", Some(&self.authorization_endpoint)),
            ("token endpoint", Some(&self.token_endpoint)),
            (
                "device authorization endpoint",
                self.device_endpoint.as_ref(),
            ),
            (
                "pushed authorization request endpoint",
                self.par_endpoint.as_ref(),
            ),
            ("JWKS URL", self.jwks_uri.as_ref()),
            ("revocation endpoint", revocation),
            ("user endpoint", self.whoami.as_ref().map(|w| &w.url)),
            ("account page", self.manage_url.as_ref()),
        ];
        for (what, url) in urls {
            if let Some(url) = url.filter(|u| !u.is_empty()) {
                crate::provider::check_endpoint_url(&format!("{} {what}", self.name), url)?;
            }
        }
        Ok(())
    }

    /// A provider added by its issuer URL: OpenID Connect, public client, standard everything.
    pub fn from_discovered(p: &Provider) -> Self {
        Self {
            id: p.id.clone(),
            name: p.name.clone(),
            builtin: false,
            // No signing keys published: a plain OAuth server, identified by its user endpoint.
            protocol: if p.jwks_uri.is_empty() {
                Protocol::Oauth2
            } else {
                Protocol::Oidc
            },
            issuer: Some(p.issuer.clone()),
            jwks_uri: Some(p.jwks_uri.clone()).filter(|u| !u.is_empty()),
            iss_parameter_supported: p.iss_parameter_supported,
            client_id: p.client_id.clone(),
            client_auth: ClientAuth::None,
            // A public client: PKCE, no secret (so no keychain read to start a sign-in).
            secret_rule: SecretRule::None,
            pkce: Pkce::Required,
            device_needs_secret: false,
            authorization_endpoint: p.authorization_endpoint.clone(),
            token_endpoint: p.token_endpoint.clone(),
            device_endpoint: p.device_endpoint.clone(),
            par_endpoint: p.par_endpoint.clone(),
            require_par: p.require_par,
            redirect: RedirectRules {
                // OpenID servers register native clients' custom schemes too.
                kinds: vec![RedirectKind::Loopback, RedirectKind::CustomScheme],
                loopback_host: LoopbackHost::Ipv4,
                path: "/callback".into(),
                fixed_port: None,
            },
            scopes: ScopeRules {
                default: p.scopes.clone(),
                separator: " ".into(),
                param: "scope".into(),
                offline: Some("offline_access".into()),
                granted_from: GrantedScopesFrom::ScopeSpace,
                descriptions: oidc_scope_descriptions(),
            },
            extra_authorize: BTreeMap::new(),
            token: TokenRules::default(),
            refresh: RefreshRules {
                rotating: true,
                issued: true,
                note: None,
            },
            revocation: match &p.revocation_endpoint {
                Some(url) => Revocation::Rfc7009 { url: url.clone() },
                None => Revocation::None {
                    manage_url: String::new(),
                },
            },
            manage_url: None,
            whoami: p.userinfo_endpoint.as_ref().map(|url| WhoAmI {
                method: "GET".into(),
                url: url.clone(),
                headers: BTreeMap::new(),
                body: None,
                subject: "/sub".into(),
                display_name: "/name".into(),
                email: Some("/email".into()),
                email_verified: Some("/email_verified".into()),
            }),
        }
    }

    pub fn configured(&self) -> bool {
        !self.client_id.is_empty()
    }

    pub fn can_revoke(&self) -> bool {
        !matches!(self.revocation, Revocation::None { .. })
    }

    /// The redirect URI(s) a person registers with the provider for loopback sign-in.
    pub fn loopback_redirect_uri(&self) -> String {
        let host = match self.redirect.loopback_host {
            LoopbackHost::Ipv4 => "127.0.0.1",
            LoopbackHost::Ipv6 => "[::1]",
            LoopbackHost::Localhost => "localhost",
        };
        match self.redirect.fixed_port {
            Some(port) => format!("http://{host}:{port}{}", self.redirect.path),
            None => format!("http://{host}{}", self.redirect.path),
        }
    }
}

fn oidc_scope_descriptions() -> BTreeMap<String, String> {
    [
        ("openid", "Sign you in and know who you are"),
        ("profile", "See your name and profile details"),
        ("email", "See your e-mail address"),
        (
            "offline_access",
            "Stay connected when you are not using the app (refresh token)",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// What `providers --json` and the window show of a provider: identity, setup, capabilities.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ProviderView {
    pub id: String,
    pub name: String,
    pub builtin: bool,
    pub configured: bool,
    pub client_id: String,
    /// The issuer (discovered providers) or the authorization endpoint's origin.
    pub issuer: String,
    pub scopes: Vec<String>,
    pub scope_descriptions: BTreeMap<String, String>,
    pub capabilities: Capabilities,
    pub setup: Option<SetupGuide>,
    pub has_revocation: bool,
    pub has_userinfo: bool,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct Capabilities {
    pub protocol: String,
    pub pkce: String,
    pub client_secret: String,
    pub redirect_kinds: Vec<String>,
    pub device_flow: bool,
    pub refresh_tokens: bool,
    pub rotating_refresh_tokens: bool,
    pub revocation: String,
    pub granted_scopes_from: String,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct SetupGuide {
    pub register_url: String,
    pub instructions: String,
    /// Exactly what to paste as the redirect URI(s).
    pub redirect_uris: Vec<String>,
    pub needs_client_secret: bool,
    pub params: Vec<SetupParam>,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct SetupParam {
    pub name: String,
    pub label: String,
    pub default: String,
    pub value: Option<String>,
    pub help: Option<String>,
}

fn snake<T: std::fmt::Debug>(v: &T) -> String {
    let s = format!("{v:?}");
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

impl ProviderView {
    pub fn new(spec: &Spec, profile: Option<&Profile>, settings: &Settings) -> Self {
        let issuer = spec.issuer.clone().unwrap_or_else(|| {
            url::Url::parse(&spec.authorization_endpoint)
                .map(|u| u.origin().ascii_serialization())
                .unwrap_or_default()
        });
        let mut redirect_uris = Vec::new();
        for kind in &spec.redirect.kinds {
            match kind {
                RedirectKind::Loopback => redirect_uris.push(spec.loopback_redirect_uri()),
                RedirectKind::CustomScheme => {
                    redirect_uris.push(crate::flow::CUSTOM_SCHEME_REDIRECT.to_string())
                }
            }
        }
        let setup = profile.map(|p| SetupGuide {
            register_url: catalog::fill(
                &p.setup.register_url,
                p,
                &settings.params,
                &spec.client_id,
            ),
            instructions: p.setup.instructions.clone(),
            redirect_uris,
            needs_client_secret: p.client.secret == SecretRule::Required,
            params: p
                .params
                .iter()
                .map(|(name, param)| SetupParam {
                    name: name.clone(),
                    label: param.label.clone(),
                    default: param.default.clone(),
                    value: settings.params.get(name).cloned(),
                    help: param.help.clone(),
                })
                .collect(),
        });
        Self {
            id: spec.id.clone(),
            name: spec.name.clone(),
            builtin: spec.builtin,
            configured: spec.configured(),
            client_id: spec.client_id.clone(),
            issuer,
            scopes: spec.scopes.default.clone(),
            scope_descriptions: spec.scopes.descriptions.clone(),
            capabilities: Capabilities {
                protocol: snake(&spec.protocol),
                pkce: snake(&spec.pkce),
                client_secret: snake(&spec.secret_rule),
                redirect_kinds: spec
                    .redirect
                    .kinds
                    .iter()
                    .map(snake)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .chain(spec.device_endpoint.as_ref().map(|_| "device".to_string()))
                    .collect(),
                device_flow: spec.device_endpoint.is_some(),
                refresh_tokens: spec.refresh.issued,
                rotating_refresh_tokens: spec.refresh.rotating,
                revocation: match &spec.revocation {
                    Revocation::Rfc7009 { .. } => "rfc7009",
                    Revocation::GithubTokenDelete { .. } => "github_token_delete",
                    Revocation::BearerSelf { .. } => "bearer_self",
                    Revocation::None { .. } => "none",
                }
                .into(),
                granted_scopes_from: snake(&spec.scopes.granted_from),
            },
            setup,
            has_revocation: spec.can_revoke(),
            has_userinfo: spec.whoami.is_some(),
        }
    }
}
