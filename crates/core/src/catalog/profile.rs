//! The provider profile schema: every way a real provider bends OAuth, as data.
//!
//! One TOML file per built-in provider lives in `crates/core/providers/` and is embedded in the
//! binary. Strings may contain `{param}` placeholders (e.g. `{base}` for a self-managed GitLab,
//! `{tenant}` for Microsoft) filled from the provider's settings, and `{client_id}`.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Stable id, e.g. `github`.
    pub id: String,
    /// Display name, e.g. `GitHub`.
    pub name: String,
    /// Logo file name under `icons/providers/`.
    pub logo: String,
    /// `oauth2`, or `oidc` when the provider issues ID tokens we verify.
    pub protocol: Protocol,
    /// Where a person registers an app with this provider, and what to tell them.
    pub setup: Setup,
    /// Template parameters (e.g. `base`, `tenant`) with their defaults and labels.
    #[serde(default)]
    pub params: BTreeMap<String, Param>,
    pub endpoints: Endpoints,
    pub client: ClientRules,
    pub redirect: RedirectRules,
    pub scopes: ScopeRules,
    #[serde(default)]
    pub authorize: AuthorizeRules,
    #[serde(default)]
    pub token: TokenRules,
    #[serde(default)]
    pub refresh: RefreshRules,
    pub revocation: Revocation,
    /// Where the user can see and revoke the app's access by hand (may use `{param}`s).
    #[serde(default)]
    pub manage_url: Option<String>,
    pub whoami: WhoAmI,
    /// How local tools use the provider's tokens.
    #[serde(default)]
    pub tools: ToolRules,
    /// Hosts of the provider's APIs (`api.github.com`, `*.googleapis.com`; https, may use
    /// `{param}`s): where `request` may send the token, besides the user endpoint and issuer.
    #[serde(default)]
    pub api_origins: Vec<String>,
    /// Sources for the quirks above (the providers.md reference keys and URLs).
    #[serde(default)]
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    Oauth2,
    Oidc,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Setup {
    /// The page where a developer registers an OAuth app (may use `{param}`s).
    pub register_url: String,
    /// One or two sentences for the person setting the provider up: which app type to choose.
    pub instructions: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Param {
    pub label: String,
    pub default: String,
    /// Help text, e.g. "common, organizations, consumers or a tenant id".
    #[serde(default)]
    pub help: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoints {
    pub authorization: String,
    pub token: String,
    /// RFC 8628 device authorization endpoint, when the provider offers the device flow.
    #[serde(default)]
    pub device: Option<String>,
    /// OIDC issuer (for `protocol = "oidc"`): ID tokens are checked against it and its JWKS.
    #[serde(default)]
    pub issuer: Option<String>,
    #[serde(default)]
    pub jwks: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// Public client: `client_id` in the body, no secret.
    None,
    /// `client_id` and `client_secret` in the form body.
    SecretPost,
    /// HTTP Basic `client_id:client_secret`.
    SecretBasic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum SecretRule {
    /// No secret exists for a desktop client.
    None,
    /// The provider demands its (non-confidential) secret from desktop apps.
    Required,
    /// Some app types have one; send it when configured.
    Optional,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Pkce {
    Required,
    Supported,
    Unsupported,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientRules {
    pub auth: ClientAuth,
    pub secret: SecretRule,
    pub pkce: Pkce,
    /// The device flow needs no secret even when the code flow does (GitHub).
    #[serde(default)]
    pub device_needs_secret: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum RedirectKind {
    /// `http://<host>:<any port><path>` (RFC 8252 §7.3).
    Loopback,
    /// The app's private-use scheme `io.github.connectedaccounts:/oauth/callback`.
    CustomScheme,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum LoopbackHost {
    #[serde(rename = "127.0.0.1")]
    Ipv4,
    #[serde(rename = "[::1]")]
    Ipv6,
    /// Registered as `http://localhost`: listen on 127.0.0.1 and [::1] on the same port.
    #[serde(rename = "localhost")]
    Localhost,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedirectRules {
    /// In order of preference.
    pub kinds: Vec<RedirectKind>,
    pub loopback_host: LoopbackHost,
    /// The path registered with the provider, e.g. `/callback`.
    pub path: String,
    /// The provider ignores the port (Microsoft) or requires an exact registered port.
    #[serde(default)]
    pub fixed_port: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum GrantedScopesFrom {
    /// The token response's `scope`, space-separated.
    ScopeSpace,
    /// The token response's `scope`, comma-separated (GitHub).
    ScopeComma,
    /// The token response's `scope` as a JSON array (Twitch).
    ScopeArray,
    /// The token response's `scopes` field (Bitbucket).
    ScopesField,
    /// The `X-OAuth-Scopes` header of the who-am-I response (GitHub).
    Header,
    /// Not reported: assume the requested ones.
    Requested,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeRules {
    pub default: Vec<String>,
    /// Separator in the authorization request (`" "` almost everywhere).
    #[serde(default = "space")]
    pub separator: String,
    /// The request parameter that carries scopes (`scope`; Slack user tokens: `user_scope`).
    #[serde(default = "scope_param")]
    pub param: String,
    /// The scope that asks for a refresh token (`offline_access`), if the provider has one.
    #[serde(default)]
    pub offline: Option<String>,
    pub granted_from: GrantedScopesFrom,
    /// Human descriptions of common scopes.
    #[serde(default)]
    pub descriptions: BTreeMap<String, String>,
}

fn space() -> String {
    " ".into()
}
fn scope_param() -> String {
    "scope".into()
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeRules {
    /// Extra authorization-request parameters, e.g. `access_type = "offline"`.
    #[serde(default)]
    pub extra: BTreeMap<String, String>,
    /// The `prompt` values the provider understands (e.g. `select_account`), for connecting
    /// another account; empty: only `login` is assumed.
    #[serde(default)]
    pub prompt_values: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRules {
    /// Errors come back with HTTP 200 and an `error` field (GitHub) or `ok: false` (Slack).
    #[serde(default)]
    pub errors_with_200: bool,
    /// JSON pointer of the user access token when it is nested (Slack: `/authed_user/access_token`).
    #[serde(default)]
    pub access_token_pointer: Option<String>,
    /// JSON pointer of the granted scopes when nested (Slack: `/authed_user/scope`).
    #[serde(default)]
    pub scope_pointer: Option<String>,
    /// JSON pointer of the refresh token when nested (Slack: `/authed_user/refresh_token`).
    #[serde(default)]
    pub refresh_token_pointer: Option<String>,
    /// JSON pointer of the lifetime when nested (Slack: `/authed_user/expires_in`).
    #[serde(default)]
    pub expires_in_pointer: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshRules {
    /// Each refresh returns a new refresh token and the old one dies.
    #[serde(default)]
    pub rotating: bool,
    /// Refresh tokens are issued at all (GitHub OAuth Apps: only when expiring tokens are on).
    #[serde(default = "yes")]
    pub issued: bool,
    /// Human note on lifetimes (e.g. "6 months unused; 7 days while the app is in Testing").
    #[serde(default)]
    pub note: Option<String>,
    /// A sign-in ends this long after it starts, however it is used (`"90d"`).
    #[serde(default, with = "duration_text")]
    pub max_lifetime: Option<std::time::Duration>,
    /// A refresh token unused this long dies (`"180d"`): the resident app refreshes before then.
    #[serde(default, with = "duration_text")]
    pub idle_expiry: Option<std::time::Duration>,
}

impl RefreshRules {
    pub fn limits(&self) -> crate::health::Limits {
        crate::health::Limits {
            max: self.max_lifetime,
            idle: self.idle_expiry,
        }
    }
}

/// Durations written as people write them: `"7d"`, `"6months"`, `"1d 30s"` (humantime).
pub mod duration_text {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let text = Option::<String>::deserialize(d)?;
        text.map(|t| parse(&t).map_err(serde::de::Error::custom))
            .transpose()
    }

    /// A positive duration, or why not.
    pub fn parse(text: &str) -> Result<Duration, String> {
        match humantime::parse_duration(text.trim()) {
            Ok(d) if !d.is_zero() => Ok(d),
            Ok(_) => Err("a lifetime must be longer than zero".into()),
            Err(e) => Err(format!("{text:?} is not a duration like 7d or 12h ({e})")),
        }
    }
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "style", rename_all = "snake_case", deny_unknown_fields)]
pub enum Revocation {
    /// RFC 7009 at `url`, with the client's usual authentication.
    Rfc7009 { url: String },
    /// GitHub: `DELETE {url}` with HTTP Basic client_id:client_secret and `{"access_token": …}`;
    /// `url` is `…/applications/{client_id}/token`, which revokes only this token.
    GithubTokenDelete { url: String },
    /// A call made with the token itself as bearer (Dropbox, Slack).
    BearerSelf {
        url: String,
        #[serde(default = "post")]
        method: String,
    },
    /// The provider cannot revoke: tell the user and link the page where they can.
    None { manage_url: String },
}

fn post() -> String {
    "POST".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhoAmI {
    #[serde(default = "get")]
    pub method: String,
    pub url: String,
    /// Required headers (GitHub/Reddit `User-Agent`, Twitch `Client-Id: {client_id}`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A body to send (Dropbox: `null`, sent as the literal JSON `null` with POST).
    #[serde(default)]
    pub body: Option<String>,
    /// JSON pointers into the response for the account's identity.
    pub subject: String,
    pub display_name: String,
    #[serde(default)]
    pub email: Option<String>,
    /// A JSON pointer to the reply's "this e-mail is verified" flag. Without one the e-mail is
    /// shown but never used to look an account up (anyone can claim an address elsewhere).
    #[serde(default)]
    pub email_verified: Option<String>,
}

/// How local tools (`exec`, the git helper) are handed the provider's tokens.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolRules {
    /// The environment variable the provider's own tools read a token from (GitHub's `gh`:
    /// `GH_TOKEN`); `exec` uses it unless told otherwise.
    #[serde(default)]
    pub env: Option<String>,
    /// The provider's git server (may use `{param}`s: GitLab's `{base}`).
    #[serde(default)]
    pub git_host: Option<String>,
    /// The username git sends with a token (GitHub `x-access-token`, GitLab `oauth2`).
    #[serde(default)]
    pub git_username: Option<String>,
    /// Scopes of which one is needed for git over HTTPS (none: nothing to check).
    #[serde(default)]
    pub git_scopes: Vec<String>,
}

fn get() -> String {
    "GET".into()
}
