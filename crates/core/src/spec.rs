//! What the faces show of a provider: identity, setup guidance and capabilities, built from its
//! [`Spec`] (and its profile, for a built-in one). Serialized to the window and `--json`.

use std::collections::BTreeMap;

use serde::Serialize;
use ts_rs::TS;

use crate::catalog::{
    self, GrantedScopesFrom, Pkce, Profile, Protocol, RedirectKind, Revocation, SecretRule,
};
use crate::model::{Settings, Spec, CUSTOM_SCHEME_REDIRECT};

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
    /// The user endpoint the test calls, and where the request box may send a token.
    pub userinfo_url: Option<String>,
    pub api_origins: Vec<String>,
    /// The redirect URIs sign-ins use, in order (exact ones where the provider has them).
    pub redirect_uris: Vec<String>,
    /// The app registered itself there (RFC 7591); it registers again when needed.
    pub registered: bool,
    /// Sign-ins bind the tokens to this device (DPoP) unless the person asks for bearer tokens.
    pub binds_tokens: bool,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct Capabilities {
    pub protocol: Protocol,
    pub pkce: Pkce,
    pub client_secret: SecretRule,
    /// The ways a sign-in can come back, in the provider's order of preference.
    pub redirect_kinds: Vec<ConnectKind>,
    pub device_flow: bool,
    pub refresh_tokens: bool,
    pub rotating_refresh_tokens: bool,
    pub revocation: RevocationStyle,
    pub granted_scopes_from: GrantedScopesFrom,
}

/// A way to sign in: a redirect back to the app, or a code entered in any browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ConnectKind {
    Loopback,
    CustomScheme,
    Device,
}

impl From<RedirectKind> for ConnectKind {
    fn from(kind: RedirectKind) -> Self {
        match kind {
            RedirectKind::Loopback => Self::Loopback,
            RedirectKind::CustomScheme => Self::CustomScheme,
        }
    }
}

impl ConnectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Loopback => "loopback",
            Self::CustomScheme => "custom_scheme",
            Self::Device => "device",
        }
    }
}

/// How a provider takes tokens back (see [`Revocation`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum RevocationStyle {
    Rfc7009,
    GithubTokenDelete,
    BearerSelf,
    None,
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

impl ProviderView {
    /// A provider added by its issuer URL.
    pub fn of_added(p: &crate::model::Provider) -> Self {
        Self::new(&Spec::from_discovered(p), None, &Settings::default())
    }

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
                    redirect_uris.push(CUSTOM_SCHEME_REDIRECT.to_string())
                }
            }
        }
        let in_use = redirect_uris.clone();
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
                protocol: spec.protocol,
                pkce: spec.pkce,
                client_secret: spec.secret_rule,
                redirect_kinds: spec
                    .redirect
                    .kinds
                    .iter()
                    .map(|k| ConnectKind::from(*k))
                    .chain(spec.device_endpoint.as_ref().map(|_| ConnectKind::Device))
                    .collect(),
                device_flow: spec.device_endpoint.is_some(),
                refresh_tokens: spec.refresh.issued,
                rotating_refresh_tokens: spec.refresh.rotating,
                revocation: match &spec.revocation {
                    Revocation::Rfc7009 { .. } => RevocationStyle::Rfc7009,
                    Revocation::GithubTokenDelete { .. } => RevocationStyle::GithubTokenDelete,
                    Revocation::BearerSelf { .. } => RevocationStyle::BearerSelf,
                    Revocation::None { .. } => RevocationStyle::None,
                },
                granted_scopes_from: spec.scopes.granted_from,
            },
            setup,
            has_revocation: spec.can_revoke(),
            has_userinfo: spec.whoami.is_some(),
            userinfo_url: spec.whoami.as_ref().map(|w| w.url.clone()),
            api_origins: spec.api_origins(),
            redirect_uris: in_use,
            registered: spec.registers,
            binds_tokens: spec.dpop,
        }
    }
}
