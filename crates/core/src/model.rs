//! The provider model every part of the core reads: a built-in profile with its settings (client
//! ID, parameters), or a provider added by its issuer URL, resolved into one [`Spec`]. Flows,
//! refresh, revoke and the test call read only a `Spec`.

use std::collections::BTreeMap;

use url::Url;

use crate::catalog::{
    self, ClientAuth, GrantedScopesFrom, LoopbackHost, Pkce, Profile, Protocol, RedirectKind,
    RedirectRules, RefreshRules, Revocation, ScopeRules, SecretRule, TokenRules, ToolRules, WhoAmI,
};
use crate::error::{Error, Result};

/// The app's private-use redirect (RFC 8252 §7.1), for providers that accept custom schemes.
pub const CUSTOM_SCHEME_REDIRECT: &str = "io.github.connectedaccounts:/oauth/callback";

/// A provider as the app keeps it (metadata only; no secret).
#[derive(Debug, Clone)]
pub struct Provider {
    pub id: String,
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: Option<String>,
    pub revocation_endpoint: Option<String>,
    pub device_endpoint: Option<String>,
    pub jwks_uri: String,
    /// RFC 9207: the server puts `iss` in its authorization responses, so we require it.
    pub iss_parameter_supported: bool,
    /// RFC 9126: where authorization requests are pushed, and whether the server insists.
    pub par_endpoint: Option<String>,
    pub require_par: bool,
    /// How the app authenticates at the token endpoint: a public client, or with the secret the
    /// server issued at registration (in the keychain).
    pub client_auth: ClientAuth,
    /// The exact redirect URIs registered there (empty: the app's defaults, loopback on any port
    /// and the custom scheme).
    pub redirect_uris: Vec<String>,
    /// Set when the app registered itself (RFC 7591): where to register again.
    pub registration_endpoint: Option<String>,
    /// When the issued client secret expires (Unix seconds).
    pub client_secret_expires_at: Option<i64>,
    /// The scopes the registration allows.
    pub registered_scopes: Vec<String>,
    /// The server's `prompt_values_supported`.
    pub prompt_values: Vec<String>,
    /// The server's `dpop_signing_alg_values_supported` (RFC 9449).
    pub dpop_algs: Vec<String>,
}

impl Provider {
    /// Whether the app's client there came from dynamic registration.
    pub fn registered(&self) -> bool {
        self.registration_endpoint.is_some()
    }
}

/// `client_auth` as stored and as RFC 7591 names it.
pub fn client_auth_name(auth: ClientAuth) -> &'static str {
    match auth {
        ClientAuth::None => "none",
        ClientAuth::SecretBasic => "client_secret_basic",
        ClientAuth::SecretPost => "client_secret_post",
    }
}

pub fn client_auth_from_name(name: &str) -> Option<ClientAuth> {
    match name {
        "none" => Some(ClientAuth::None),
        "client_secret_basic" => Some(ClientAuth::SecretBasic),
        "client_secret_post" => Some(ClientAuth::SecretPost),
        _ => None,
    }
}

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
    /// The `prompt` values the server understands (its metadata, or the profile).
    pub prompt_values: Vec<String>,
    pub token: TokenRules,
    pub refresh: RefreshRules,
    pub revocation: Revocation,
    pub manage_url: Option<String>,
    pub whoami: Option<WhoAmI>,
    pub tools: ToolRules,
    /// The app registers itself here (RFC 7591): no client ID is needed from the person.
    pub registers: bool,
    /// The server binds tokens to a key the app holds (DPoP, RFC 9449, with ES256), and the
    /// profile does not opt out: sign-ins bind theirs unless the person asks for bearer tokens.
    pub dpop: bool,
    /// The profile's API hosts (`api.github.com`, `*.googleapis.com`), https: where `request`
    /// and the request box may send the token besides the user endpoint and issuer.
    pub api_hosts: Vec<String>,
}

/// A built-in provider's settings, as stored.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub client_id: Option<String>,
    pub params: BTreeMap<String, String>,
}

impl Spec {
    /// Where a provider's token may be sent by the request box and `request`: its user
    /// endpoint's and its issuer's origins (a custom server's API is usually beside them), then
    /// the profile's `api_origins` (`https://api.github.com`, `https://*.googleapis.com`).
    pub fn api_origins(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let urls = self
            .whoami
            .as_ref()
            .map(|w| w.url.as_str())
            .into_iter()
            .chain(self.issuer.as_deref());
        for u in urls {
            if let Ok(parsed) = Url::parse(u) {
                let origin = parsed.origin();
                if origin.is_tuple() && !out.contains(&origin.ascii_serialization()) {
                    out.push(origin.ascii_serialization());
                }
            }
        }
        for host in &self.api_hosts {
            let origin = format!("https://{}", host.to_ascii_lowercase());
            if !out.contains(&origin) {
                out.push(origin);
            }
        }
        out
    }

    /// `url`, parsed, if the account's token may go there: one of [`Spec::api_origins`], or of
    /// `also` (the account's resource, and origins the caller allowed by name); otherwise why
    /// not, naming the origins that are allowed. A `*.` pattern matches any subdomain, over https.
    pub fn allowed_api_url(&self, url: &str, also: &[String]) -> Result<Url> {
        let mut origins = self.api_origins();
        origins.extend(also.iter().cloned());
        let allowed = || origins.join(", ");
        let parsed = Url::parse(url.trim()).map_err(|_| {
            Error::invalid_input(
                "that is not a full URL",
                format!("enter an address starting with {}", allowed()),
            )
        })?;
        let origin = parsed.origin().ascii_serialization();
        let matches = |pattern: &String| match pattern.strip_prefix("https://*.") {
            Some(suffix) => {
                parsed.scheme() == "https"
                    && parsed.port().is_none()
                    && parsed.host_str().is_some_and(|h| {
                        h.len() > suffix.len() + 1
                            && h.ends_with(suffix)
                            && h[..h.len() - suffix.len()].ends_with('.')
                    })
            }
            None => *pattern == origin,
        };
        if !parsed.origin().is_tuple() || !origins.iter().any(matches) {
            let hint = if origins.is_empty() {
                format!("{} has no API address the app knows", self.name)
            } else {
                format!("the token goes only to {}'s API: {}", self.name, allowed())
            };
            return Err(Error::invalid_input(
                format!(
                    "{} is not {}'s",
                    crate::text::for_terminal(&origin),
                    self.name
                ),
                hint,
            )
            .remedy(crate::error::Remedy::AllowOrigin { origin }));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(Error::invalid_input(
                "the URL carries a user name or password",
                "leave them out: the app signs the request with the account's token",
            ));
        }
        Ok(parsed)
    }

    /// An origin as `--allow-origin` takes it (`https://api.example.com`): checked as every
    /// endpoint is (https, or http on loopback only), and reduced to its origin.
    pub fn origin_of(text: &str) -> Result<String> {
        let bad = || {
            Error::invalid_input(
                format!("{} is not an origin", crate::text::for_terminal(text)),
                "give scheme and host, e.g. https://api.example.com",
            )
        };
        let parsed = Url::parse(text.trim()).map_err(|_| bad())?;
        if !parsed.origin().is_tuple() {
            return Err(bad());
        }
        check_endpoint_url("the allowed origin", parsed.as_str())?;
        Ok(parsed.origin().ascii_serialization())
    }

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
        let api_hosts = p.api_origins.iter().map(|h| f(h)).collect();
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
            prompt_values: p.authorize.prompt_values.clone(),
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
            tools: ToolRules {
                git_host: p.tools.git_host.as_deref().map(f),
                ..p.tools.clone()
            },
            client_id,
            registers: false,
            // Built-in profiles describe no DPoP server; only discovered metadata turns it on.
            dpop: false,
            api_hosts,
        }
    }

    /// Every URL this provider's calls go to, and the pages the browser opens, checked once their
    /// placeholders are filled: https (scheme in any letter case), or http on loopback only.
    pub fn check_endpoints(&self) -> Result<()> {
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
                check_endpoint_url(&format!("{} {what}", self.name), url)?;
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
            client_auth: p.client_auth,
            // A public client: PKCE, no secret (so no keychain read to start a sign-in). A client
            // the server gave a secret at registration sends it, PKCE as well.
            secret_rule: if p.client_auth == ClientAuth::None {
                SecretRule::None
            } else {
                SecretRule::Required
            },
            pkce: Pkce::Required,
            device_needs_secret: false,
            authorization_endpoint: p.authorization_endpoint.clone(),
            token_endpoint: p.token_endpoint.clone(),
            device_endpoint: p.device_endpoint.clone(),
            par_endpoint: p.par_endpoint.clone(),
            require_par: p.require_par,
            redirect: redirect_rules(&p.redirect_uris),
            scopes: ScopeRules {
                default: p.scopes.clone(),
                separator: " ".into(),
                param: "scope".into(),
                offline: Some("offline_access".into()),
                granted_from: GrantedScopesFrom::ScopeSpace,
                descriptions: oidc_scope_descriptions(),
            },
            extra_authorize: BTreeMap::new(),
            prompt_values: p.prompt_values.clone(),
            token: TokenRules::default(),
            refresh: RefreshRules {
                rotating: true,
                issued: true,
                note: None,
                max_lifetime: None,
                idle_expiry: None,
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
            tools: ToolRules::default(),
            registers: p.registered(),
            dpop: crate::dpop::supported(&p.dpop_algs),
            api_hosts: Vec::new(),
        }
    }

    /// Ready for a sign-in: a client ID, or a server the app registers itself with.
    pub fn configured(&self) -> bool {
        !self.client_id.is_empty() || self.registers
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

/// The redirect rules of a provider added by URL: exactly its registered redirect URIs, or the
/// app's defaults (OpenID servers register native clients' custom schemes too).
fn redirect_rules(uris: &[String]) -> RedirectRules {
    let default = || RedirectRules {
        kinds: vec![RedirectKind::Loopback, RedirectKind::CustomScheme],
        loopback_host: LoopbackHost::Ipv4,
        path: "/callback".into(),
        fixed_port: None,
    };
    if uris.is_empty() {
        return default();
    }
    let mut rules = RedirectRules {
        kinds: Vec::new(),
        ..default()
    };
    for uri in uris {
        match parse_redirect_uri(uri) {
            Ok(ExactRedirect::Loopback { host, port, path }) if rules.fixed_port.is_none() => {
                rules.kinds.push(RedirectKind::Loopback);
                rules.loopback_host = host;
                rules.fixed_port = Some(port);
                rules.path = path;
            }
            Ok(ExactRedirect::CustomScheme)
                if !rules.kinds.contains(&RedirectKind::CustomScheme) =>
            {
                rules.kinds.push(RedirectKind::CustomScheme)
            }
            // Checked when saved; a row edited since then is not used.
            _ => tracing::warn!(uri, "a stored redirect URI is not used"),
        }
    }
    rules
}

/// A redirect URI the person fixed for a provider (`providers add --redirect-uri`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExactRedirect {
    /// `http://HOST:PORT/PATH` with HOST one of 127.0.0.1, [::1], localhost.
    Loopback {
        host: LoopbackHost,
        port: u16,
        path: String,
    },
    /// The app's own custom-scheme redirect.
    CustomScheme,
}

/// Checks a redirect URI the person gives: loopback with a host literal, an explicit port and a
/// path, or the app's custom scheme exactly.
pub fn parse_redirect_uri(raw: &str) -> Result<ExactRedirect> {
    let raw = raw.trim();
    if raw == CUSTOM_SCHEME_REDIRECT {
        return Ok(ExactRedirect::CustomScheme);
    }
    let shown = crate::text::for_terminal(raw).into_owned();
    let bad = |why: &str| {
        Error::invalid_input(
            format!("the redirect URI {shown} {why}"),
            format!(
                "give it as http://127.0.0.1:PORT/PATH (or [::1] or localhost), or {CUSTOM_SCHEME_REDIRECT}"
            ),
        )
    };
    let url = Url::parse(raw).map_err(|_| bad("is not a URL"))?;
    if url.scheme() != "http" {
        return Err(bad("is neither loopback http nor the app's own scheme"));
    }
    let host = match url.host() {
        Some(url::Host::Ipv4(ip)) if ip == std::net::Ipv4Addr::LOCALHOST => LoopbackHost::Ipv4,
        Some(url::Host::Ipv6(ip)) if ip == std::net::Ipv6Addr::LOCALHOST => LoopbackHost::Ipv6,
        Some(url::Host::Domain("localhost")) => LoopbackHost::Localhost,
        _ => return Err(bad("is not on 127.0.0.1, [::1] or localhost")),
    };
    // `url` drops a scheme's default port, so :80 must be looked for in the text.
    let port = match url.port() {
        Some(p) if p > 0 => p,
        _ if raw.contains(":80/") || raw.ends_with(":80") => 80,
        _ => return Err(bad("names no port (an exact redirect needs one)")),
    };
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad(
            "has a query or fragment, which the app cannot listen for",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("carries a user name or password"));
    }
    let path = url.path().to_string();
    if path.is_empty() || path == "/" {
        return Err(bad("has no path (e.g. /callback)"));
    }
    Ok(ExactRedirect::Loopback { host, port, path })
}

/// The redirect URIs a person gives, checked: at most one loopback URI and the custom scheme
/// once. Returned as they will be stored.
pub fn check_redirect_uris(uris: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    let mut loopback = false;
    for uri in uris {
        let parsed = parse_redirect_uri(uri)?;
        if matches!(parsed, ExactRedirect::Loopback { .. }) {
            if loopback {
                return Err(Error::invalid_input(
                    "more than one loopback redirect URI was given",
                    "give the one the server registered (and the custom scheme too, if it did)",
                ));
            }
            loopback = true;
        }
        let uri = uri.trim().to_string();
        if !out.contains(&uri) {
            out.push(uri);
        }
    }
    Ok(out)
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

/// Checks that `raw` is an absolute https URL, or http on a loopback address (the scheme in any
/// letter case), with none of the characters a URL never needs unencoded but a shell acts on.
pub fn check_endpoint_url(what: &str, raw: &str) -> Result<Url> {
    // RFC 3986 allows `$ ' ;` and more; none is needed unencoded in an endpoint, and each means
    // something to a shell. Quotes, spaces and controls are not URL characters at all.
    if let Some(c) = raw.chars().find(|c| {
        c.is_control()
            || c.is_whitespace()
            || matches!(c, '"' | '\'' | '`' | '$' | ';' | '|' | '<' | '>' | '\\')
    }) {
        return Err(Error::invalid_input(
            format!(
                "the {what} {} contains {c:?}, which an endpoint URL never needs",
                crate::text::for_terminal(raw)
            ),
            "a server that hands out such an address is misconfigured or hostile; nothing was saved",
        ));
    }
    let url = Url::parse(raw).map_err(|e| {
        Error::invalid_input(
            format!("the {what} {raw:?} is not a valid URL ({e})"),
            "give a full URL such as https://accounts.example.com",
        )
    })?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback_url(&url) => Ok(url),
        _ => Err(Error::invalid_input(
            format!("the {what} {raw} does not use https"),
            "OAuth endpoints must use https (plain http is allowed only on 127.0.0.1, [::1] or localhost)",
        )),
    }
}

/// Whether a URL's host is this machine (127.0.0.0/8, [::1] or localhost).
fn is_loopback_url(url: &Url) -> bool {
    matches!(url.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
        || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
        || url.host_str() == Some("localhost")
}

/// Splits entries on white space, drops duplicates, keeps order.
pub fn normalize_scopes(scopes: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in scopes.iter().flat_map(|s| s.split_whitespace()) {
        if !out.iter().any(|x| x == s) {
            out.push(s.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn github() -> Spec {
        Spec::from_profile(catalog::find("github").unwrap(), &Settings::default())
    }

    #[test]
    fn a_wildcard_api_origin_matches_subdomains_over_https_only() {
        let google = Spec::from_profile(catalog::find("google").unwrap(), &Settings::default());
        assert!(google
            .api_origins()
            .contains(&"https://*.googleapis.com".to_string()));
        for ok in [
            "https://www.googleapis.com/drive/v3/files",
            "https://gmail.googleapis.com/gmail/v1/users/me/profile",
        ] {
            assert!(google.allowed_api_url(ok, &[]).is_ok(), "{ok}");
        }
        for bad in [
            "https://googleapis.com/x",
            "https://evilgoogleapis.com/x",
            "http://www.googleapis.com/x",
            "https://www.googleapis.com:8443/x",
            "https://www.googleapis.com.evil.example/x",
        ] {
            assert!(google.allowed_api_url(bad, &[]).is_err(), "{bad}");
        }
        assert!(
            Spec::origin_of("http://example.com").is_err(),
            "http off loopback"
        );
        assert_eq!(
            Spec::origin_of("http://127.0.0.1:8080/x?y").unwrap(),
            "http://127.0.0.1:8080"
        );
    }

    #[test]
    fn the_request_box_sends_a_token_only_to_the_providers_api() {
        let spec = github();
        assert_eq!(
            spec.api_origins(),
            ["https://api.github.com", "https://uploads.github.com"]
        );
        let ok = spec
            .allowed_api_url(" https://api.github.com/user/repos?per_page=5 ", &[])
            .unwrap();
        assert_eq!(ok.path(), "/user/repos");

        for (bad, says) in [
            (
                "https://api.github.com.evil.example/user",
                "is not GitHub's",
            ),
            ("http://api.github.com/user", "is not GitHub's"),
            ("https://api.github.com:8443/user", "is not GitHub's"),
            ("https://gist.github.com/", "is not GitHub's"),
            ("api.github.com/user", "not a full URL"),
            ("", "not a full URL"),
            ("https://me:pw@api.github.com/user", "user name or password"),
        ] {
            let e = spec.allowed_api_url(bad, &[]).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidInput, "{bad}");
            assert!(e.message.contains(says), "{bad}: {}", e.message);
        }
        let e = spec
            .allowed_api_url("https://evil.example/", &[])
            .unwrap_err();
        assert_eq!(
            e.remedy,
            Some(crate::error::Remedy::AllowOrigin {
                origin: "https://evil.example".into()
            })
        );
        // Named by the caller (`--allow-origin`), it may.
        assert!(spec
            .allowed_api_url("https://evil.example/x", &["https://evil.example".into()])
            .is_ok());
        assert!(
            !e.message.contains("evil.example/"),
            "only the origin is named"
        );
        assert!(
            e.hint
                .as_deref()
                .unwrap()
                .contains("https://api.github.com"),
            "the refusal names where requests may go: {e:?}"
        );
    }

    #[test]
    fn scopes_are_split_and_deduplicated() {
        let s = normalize_scopes(&["openid profile".into(), "email".into(), "openid".into()]);
        assert_eq!(s, vec!["openid", "profile", "email"]);
    }

    #[test]
    fn endpoints_need_https_except_on_loopback() {
        assert!(check_endpoint_url("issuer", "https://id.example.com").is_ok());
        assert!(check_endpoint_url("issuer", "http://127.0.0.1:4780").is_ok());
        assert!(check_endpoint_url("issuer", "http://[::1]:4780").is_ok());
        for bad in [
            "HTTP://id.example.com",
            "https://id.example.com/auth?x=$(id)",
            "https://id.example.com/a b",
            "https://id.example.com/a'b",
            "https://id.example.com/a\"b",
            "https://id.example.com/`id`",
            "https://id.example.com/a;b",
            "https://id.example.com/a|b",
            "https://id.example.com/<a>",
            "https://id.example.com/a\u{1b}b",
            "https://id.example.com/a\\b",
        ] {
            assert!(check_endpoint_url("endpoint", bad).is_err(), "{bad}");
        }
        assert!(check_endpoint_url("endpoint", "HTTPS://id.example.com/a?b=c&d=%24(e)").is_ok());
        let e = check_endpoint_url("issuer", "http://id.example.com").unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidInput);
        assert!(e.message.contains("https"));
        assert!(check_endpoint_url("issuer", "not a url").is_err());
        assert!(check_endpoint_url("issuer", "ftp://127.0.0.1/").is_err());
    }
}
