//! Finding a provider from its issuer URL: RFC 8414 authorization server metadata and OpenID
//! discovery, fetched with retries, merged, and checked before anything is saved.

use std::time::{Duration, Instant};

use serde::Deserialize;
use ts_rs::TS;
use url::Url;

use crate::catalog::ClientAuth;
use crate::error::{Error, ErrorKind, Remedy, Result};
use crate::model::{check_endpoint_url, normalize_scopes, Provider};

/// A provider to add: the "Add provider" form and `providers add`.
#[derive(Debug, Clone, Default, Deserialize, TS)]
pub struct NewProvider {
    pub issuer: String,
    /// Empty: the app registers itself (RFC 7591), where the server offers it.
    pub client_id: String,
    pub name: Option<String>,
    /// Empty: the OpenID scopes the server supports among openid, profile, email, offline_access.
    pub scopes: Vec<String>,
    /// Endpoints no metadata document gives can be entered by hand.
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    /// The exact redirect URIs the server registered (empty: the app's defaults).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
}

/// An authorization server's metadata (RFC 8414) or OpenID discovery document: the fields we use.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Metadata {
    issuer: Option<String>,
    authorization_endpoint: Option<String>,
    token_endpoint: Option<String>,
    userinfo_endpoint: Option<String>,
    revocation_endpoint: Option<String>,
    device_authorization_endpoint: Option<String>,
    jwks_uri: Option<String>,
    scopes_supported: Option<Vec<String>>,
    authorization_response_iss_parameter_supported: Option<bool>,
    pushed_authorization_request_endpoint: Option<String>,
    require_pushed_authorization_requests: Option<bool>,
    registration_endpoint: Option<String>,
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
    prompt_values_supported: Option<Vec<String>>,
    dpop_signing_alg_values_supported: Option<Vec<String>>,
}

impl Metadata {
    /// Fills what `self` lacks from `other`.
    pub(crate) fn merge(mut self, other: Metadata) -> Metadata {
        macro_rules! fill {
            ($($f:ident),*) => { $( if self.$f.is_none() { self.$f = other.$f; } )* };
        }
        fill!(
            issuer,
            authorization_endpoint,
            token_endpoint,
            userinfo_endpoint,
            revocation_endpoint,
            device_authorization_endpoint,
            jwks_uri,
            scopes_supported,
            authorization_response_iss_parameter_supported,
            pushed_authorization_request_endpoint,
            require_pushed_authorization_requests,
            registration_endpoint,
            token_endpoint_auth_methods_supported,
            prompt_values_supported,
            dpop_signing_alg_values_supported
        );
        self
    }
}

/// The largest metadata document we read (real ones are a few KB).
const MAX_DOCUMENT: usize = 256 * 1024;

/// Where the documents for `issuer` live, in the order they are tried: RFC 8414 with the
/// well-known segment inserted before the path, RFC 8414 appended (as some servers do), then
/// OpenID Connect discovery.
pub fn metadata_urls(issuer: &Url) -> Vec<String> {
    let origin = issuer.origin().ascii_serialization();
    let path = issuer.path().trim_end_matches('/');
    let mut urls = vec![format!(
        "{origin}/.well-known/oauth-authorization-server{path}"
    )];
    let appended = format!("{origin}{path}/.well-known/oauth-authorization-server");
    if !urls.contains(&appended) {
        urls.push(appended);
    }
    urls.push(format!("{origin}{path}/.well-known/openid-configuration"));
    urls
}

/// A metadata fetch the server answered "unavailable" (HTTP 503, or an OAuth
/// `temporarily_unavailable` error) is tried this many times in all before it is reported...
const UNAVAILABLE_TRIES: u32 = 4;
/// ...waiting this long between tries unless the server's `Retry-After` says otherwise...
const UNAVAILABLE_BACKOFF: [Duration; 3] = [
    Duration::from_millis(250),
    Duration::from_millis(750),
    Duration::from_millis(1500),
];
/// ...and never waiting longer than this in all: a server that asks for more is down, not busy.
const UNAVAILABLE_BUDGET: Duration = Duration::from_secs(5);

/// One try at one document.
enum Fetched {
    /// The server has no document there (404/405/410).
    Missing,
    Found(Box<Metadata>),
    /// The server says it cannot answer now (starting up, deploying, overloaded).
    Unavailable {
        status: u16,
        retry_after: Option<Duration>,
    },
}

/// One document: `None` when the server has none there (404/405), an error when it is broken.
/// A server that is briefly unavailable is asked again for a few seconds (load balancers answer
/// 503 while a deployment starts); one that stays so is reported as unavailable, not as broken.
async fn fetch_metadata(
    http: &reqwest::Client,
    url: &str,
    issuer: &str,
) -> Result<Option<Metadata>> {
    let started = Instant::now();
    let mut tries = 0;
    loop {
        tries += 1;
        let (status, retry_after) = match fetch_once(http, url, issuer).await? {
            Fetched::Missing => return Ok(None),
            Fetched::Found(metadata) => return Ok(Some(*metadata)),
            Fetched::Unavailable {
                status,
                retry_after,
            } => (status, retry_after),
        };
        let wait = retry_after.unwrap_or(UNAVAILABLE_BACKOFF[(tries as usize - 1).min(2)]);
        let spent = started.elapsed();
        if tries >= UNAVAILABLE_TRIES || spent + wait > UNAVAILABLE_BUDGET {
            let mut err = Error::new(
                ErrorKind::Network,
                format!(
                    "{issuer} is unavailable: {url} answered HTTP {status} (temporarily unavailable), \
                     {tries} {} in {:.1} s",
                    if tries == 1 { "time" } else { "times" },
                    spent.as_secs_f64()
                ),
            );
            err = match retry_after.filter(|_| spent + wait > UNAVAILABLE_BUDGET) {
                Some(asked) => err.hint(format!(
                    "the server asks to wait {} s; nothing was changed, try again then",
                    asked.as_secs().max(1)
                )),
                None => err.hint(
                    "the server may be starting up or being deployed; nothing was changed, \
                     try again in a minute",
                ),
            };
            return Err(err);
        }
        tracing::debug!(
            url,
            status,
            tries,
            wait_ms = wait.as_millis() as u64,
            "metadata: the server is temporarily unavailable; trying again"
        );
        tokio::time::sleep(wait).await;
    }
}

async fn fetch_once(http: &reqwest::Client, url: &str, issuer: &str) -> Result<Fetched> {
    let bad = |why: String| {
        Error::new(
            ErrorKind::Provider,
            format!("the metadata at {url} is not usable: {why}"),
        )
        .hint("check the issuer URL; if it is right, the server's configuration is broken")
    };
    let mut response = http
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| crate::http::request_failed(e, issuer))?;
    let status = response.status();
    if matches!(status.as_u16(), 404 | 405 | 410) {
        return Ok(Fetched::Missing);
    }
    if status.is_redirection() {
        return Err(bad(format!(
            "it redirects (HTTP {}), and discovery does not follow redirects",
            status.as_u16()
        )));
    }
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(retry_after);
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| bad(e.without_url().to_string()))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_DOCUMENT {
            return Err(bad(format!("it is larger than {} KB", MAX_DOCUMENT / 1024)));
        }
    }
    if status == reqwest::StatusCode::SERVICE_UNAVAILABLE || says_temporarily_unavailable(&body) {
        return Ok(Fetched::Unavailable {
            status: status.as_u16(),
            retry_after,
        });
    }
    if !status.is_success() {
        return Err(bad(format!("HTTP {}", status.as_u16())));
    }
    read_metadata(url, &body, issuer).map(|m| Fetched::Found(Box::new(m)))
}

/// A `Retry-After` value (RFC 9110 §10.2.3): delay seconds, or an HTTP date.
fn retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

/// An OAuth error body (RFC 6749 §5.2 style) whose code is `temporarily_unavailable`.
fn says_temporarily_unavailable(body: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct ErrorBody {
        error: String,
    }
    serde_json::from_slice::<ErrorBody>(body).is_ok_and(|b| b.error == "temporarily_unavailable")
}

/// Reads one metadata document: JSON that names exactly the issuer asked for.
pub(crate) fn read_metadata(url: &str, body: &[u8], issuer: &str) -> Result<Metadata> {
    let bad = |why: String| {
        Error::new(
            ErrorKind::Provider,
            format!("the metadata at {url} is not usable: {why}"),
        )
        .hint("check the issuer URL; if it is right, the server's configuration is broken")
    };
    let metadata: Metadata = serde_json::from_slice(body)
        .map_err(|e| bad(format!("not a JSON metadata document ({e})")))?;
    // RFC 8414 §3.3 / OIDC Discovery §4.3: the document must name exactly the issuer asked for.
    match metadata.issuer.as_deref() {
        Some(i) if i == issuer => Ok(metadata),
        Some(i) => Err(Error::new(
            ErrorKind::Forged,
            format!("the metadata at {url} names the issuer {i:?}, not {issuer:?}"),
        )
        .hint("make sure the issuer URL is exactly the one the provider documents (including any trailing '/')")),
        None => Err(bad("it names no issuer".into())),
    }
}

const DEFAULT_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];
/// Finds a provider's endpoints from its issuer URL: RFC 8414 metadata, then OpenID discovery,
/// merged (an OpenID document may omit the revocation endpoint its RFC 8414 document has).
pub async fn discover(http: &reqwest::Client, new: &NewProvider) -> Result<Provider> {
    // Exactly as given: issuers are compared as strings (some, like Auth0's, end with '/').
    let issuer = new.issuer.trim().to_string();
    let issuer_url = check_endpoint_url("issuer URL", &issuer)?;
    crate::model::check_redirect_uris(&new.redirect_uris)?;
    let mut found: Option<Metadata> = None;
    for url in metadata_urls(&issuer_url) {
        if let Some(doc) = fetch_metadata(http, &url, &issuer).await? {
            found = Some(match found {
                Some(f) => f.merge(doc),
                None => doc,
            });
        }
    }
    let metadata = found.ok_or_else(|| {
        Error::new(ErrorKind::Provider, format!("{issuer} publishes no OAuth or OpenID metadata"))
            .hint("check the issuer URL (it serves /.well-known/openid-configuration or /.well-known/oauth-authorization-server)")
    })?;
    resolve(new, metadata)
}

/// Turns what discovery found into a provider: required endpoints present, every URL https (or
/// http on loopback), default scopes limited to what the server supports.
pub(crate) fn resolve(new: &NewProvider, metadata: Metadata) -> Result<Provider> {
    let issuer = new.issuer.trim().to_string();
    let issuer_url = check_endpoint_url("issuer URL", &issuer)?;
    let manual = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let required = |v: Option<String>, what: &str| {
        v.ok_or_else(|| {
            Error::new(ErrorKind::Provider, format!("{issuer} has no {what}"))
                .hint("this provider cannot be used by a desktop app")
        })
    };
    let authorization_endpoint =
        required(metadata.authorization_endpoint, "authorization endpoint")?;
    let token_endpoint = required(metadata.token_endpoint, "token endpoint")?;
    let userinfo_endpoint = manual(&new.userinfo_endpoint).or(metadata.userinfo_endpoint);
    let revocation_endpoint = manual(&new.revocation_endpoint).or(metadata.revocation_endpoint);
    let device_endpoint = metadata.device_authorization_endpoint;
    let jwks_uri = metadata.jwks_uri.unwrap_or_default();
    let redirect_uris = crate::model::check_redirect_uris(&new.redirect_uris)?;
    let client_id = new.client_id.trim().to_string();
    // No client ID: the app registers itself, which needs the server's registration endpoint.
    let (registration_endpoint, client_auth) = if client_id.is_empty() {
        let Some(endpoint) = metadata.registration_endpoint.clone() else {
            let shown = if redirect_uris.is_empty() {
                format!(
                    "http://127.0.0.1/callback (any port; if the server matches ports exactly, register http://127.0.0.1:PORT/callback and pass it with --redirect-uri) and {}",
                    crate::model::CUSTOM_SCHEME_REDIRECT
                )
            } else {
                redirect_uris.join(" and ")
            };
            return Err(Error::invalid_input(
                format!("{issuer} does not let apps register themselves, so it needs a client ID"),
                format!("register a native (public) app there with the redirect URIs {shown}, then add it with --client-id"),
            ));
        };
        check_endpoint_url("registration endpoint", &endpoint)?;
        let auth = choose_client_auth(metadata.token_endpoint_auth_methods_supported.as_deref())?;
        (Some(endpoint), auth)
    } else {
        (None, ClientAuth::None)
    };
    let par_endpoint = metadata.pushed_authorization_request_endpoint.clone();
    if metadata.require_pushed_authorization_requests == Some(true) && par_endpoint.is_none() {
        return Err(Error::new(
            ErrorKind::Provider,
            format!(
                "{issuer} requires pushed authorization requests but names no endpoint for them"
            ),
        )
        .hint("the server's configuration is broken; tell its administrator"));
    }
    for (what, url) in [
        ("authorization endpoint", Some(&authorization_endpoint)),
        ("token endpoint", Some(&token_endpoint)),
        ("userinfo endpoint", userinfo_endpoint.as_ref()),
        ("revocation endpoint", revocation_endpoint.as_ref()),
        ("device authorization endpoint", device_endpoint.as_ref()),
        ("JWKS URL", Some(&jwks_uri).filter(|u| !u.is_empty())),
        (
            "pushed authorization request endpoint",
            par_endpoint.as_ref(),
        ),
    ] {
        if let Some(url) = url {
            check_endpoint_url(what, url)?;
        }
    }
    if jwks_uri.is_empty() && userinfo_endpoint.is_none() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!("{issuer} is a plain OAuth server (no OpenID keys), so Connected Accounts needs a user endpoint to tell accounts apart"),
        )
        .remedy(Remedy::EnterUserEndpoint));
    }
    let supported = metadata.scopes_supported.unwrap_or_default();
    let scopes = if new.scopes.is_empty() {
        DEFAULT_SCOPES
            .iter()
            .filter(|s| {
                if supported.is_empty() {
                    **s != "offline_access"
                } else {
                    supported.iter().any(|x| x == *s)
                }
            })
            .map(|s| s.to_string())
            .collect()
    } else {
        normalize_scopes(&new.scopes)
    };
    let host = issuer_url
        .host_str()
        .map(str::to_owned)
        .unwrap_or_else(|| issuer.clone());
    let name = new
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .unwrap_or(host);
    Ok(Provider {
        id: slugify(&name),
        name,
        issuer,
        client_id,
        scopes,
        authorization_endpoint,
        token_endpoint,
        userinfo_endpoint,
        revocation_endpoint,
        device_endpoint,
        jwks_uri,
        iss_parameter_supported: metadata
            .authorization_response_iss_parameter_supported
            .unwrap_or(false),
        par_endpoint,
        require_par: metadata
            .require_pushed_authorization_requests
            .unwrap_or(false),
        client_auth,
        redirect_uris,
        registration_endpoint,
        client_secret_expires_at: None,
        registered_scopes: Vec::new(),
        prompt_values: metadata.prompt_values_supported.unwrap_or_default(),
        dpop_algs: metadata
            .dpop_signing_alg_values_supported
            .unwrap_or_default(),
    })
}

/// The client authentication to ask for, from the server's `token_endpoint_auth_methods_supported`:
/// none (a public client) when offered, else the secret-based one the server prefers. RFC 8414's
/// default, when the server lists nothing, is `client_secret_basic`.
pub fn choose_client_auth(supported: Option<&[String]>) -> Result<ClientAuth> {
    let Some(methods) = supported else {
        return Ok(ClientAuth::SecretBasic);
    };
    for m in methods {
        if let Some(auth) = crate::model::client_auth_from_name(m) {
            if auth == ClientAuth::None {
                return Ok(auth);
            }
        }
    }
    methods
        .iter()
        .find_map(|m| crate::model::client_auth_from_name(m))
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Provider,
                "the server accepts only client authentication methods this app cannot use (such as private_key_jwt)",
            )
            .hint("register the app by hand there and add it with --client-id")
        })
}

/// A provider id from its name: lower-case letters, digits and single dashes.
pub fn slugify(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "provider".into()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_public_client_when_the_server_offers_it_else_its_secret_method() {
        let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let pick = |v: &[&str]| super::choose_client_auth(Some(&list(v)));
        assert_eq!(
            pick(&["client_secret_basic", "private_key_jwt", "none"]).unwrap(),
            crate::catalog::ClientAuth::None
        );
        assert_eq!(
            pick(&[
                "private_key_jwt",
                "client_secret_post",
                "client_secret_basic"
            ])
            .unwrap(),
            crate::catalog::ClientAuth::SecretPost
        );
        assert_eq!(
            super::choose_client_auth(None).unwrap(),
            crate::catalog::ClientAuth::SecretBasic
        );
        let e = pick(&["private_key_jwt", "tls_client_auth"]).unwrap_err();
        assert!(e.message.contains("private_key_jwt"), "{e:?}");
        assert!(pick(&[]).is_err());
    }

    use super::*;

    #[test]
    fn slugs_are_tidy() {
        assert_eq!(slugify("Local demo"), "local-demo");
        assert_eq!(slugify("accounts.example.com"), "accounts-example-com");
        assert_eq!(slugify("  --Ünï--  "), "n");
        assert_eq!(slugify("!!!"), "provider");
    }
}

#[cfg(test)]
mod fetch_tests {
    use super::*;

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        assert_eq!(retry_after(" 2 "), Some(Duration::from_secs(2)));
        let soon = std::time::SystemTime::now() + Duration::from_secs(30);
        let wait = retry_after(&httpdate::fmt_http_date(soon)).unwrap();
        assert!(
            wait > Duration::from_secs(27) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        assert_eq!(retry_after("soon"), None);
        assert_eq!(retry_after("-1"), None);
    }

    #[test]
    fn only_a_temporarily_unavailable_error_body_counts() {
        assert!(says_temporarily_unavailable(
            br#"{"error":"temporarily_unavailable","error_description":"starting up"}"#
        ));
        assert!(!says_temporarily_unavailable(
            br#"{"error":"server_error"}"#
        ));
        assert!(!says_temporarily_unavailable(br#"{"issuer":"https://a"}"#));
        assert!(!says_temporarily_unavailable(b"<html>503</html>"));
    }

    #[test]
    fn metadata_locations_follow_rfc_8414_then_openid() {
        let u = Url::parse("https://id.example.com/tenant/a").unwrap();
        assert_eq!(
            metadata_urls(&u),
            vec![
                "https://id.example.com/.well-known/oauth-authorization-server/tenant/a",
                "https://id.example.com/tenant/a/.well-known/oauth-authorization-server",
                "https://id.example.com/tenant/a/.well-known/openid-configuration",
            ]
        );
        let root = Url::parse("https://id.example.com").unwrap();
        assert_eq!(
            metadata_urls(&root),
            vec![
                "https://id.example.com/.well-known/oauth-authorization-server",
                "https://id.example.com/.well-known/openid-configuration",
            ]
        );
    }
}
