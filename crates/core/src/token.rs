//! Token-endpoint replies as real providers send them, through oauth2's extension point (a custom
//! `TokenResponse` type) rather than string post-processing: `scope` as a space- or comma-separated
//! string or a JSON array, Bitbucket's `scopes`, Slack's nested `authed_user` and `ok: false`, and
//! errors sent with HTTP 200 (GitHub, Slack). The profile's rules decide how to read it.

use std::collections::BTreeMap;
use std::time::Duration;

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AccessToken, AuthType, AuthUrl, ClientId, ClientSecret, DeviceAuthorizationUrl,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, RedirectUrl, RefreshToken, Scope,
    StandardRevocableToken, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::catalog::{ClientAuth, GrantedScopesFrom, TokenRules};
use crate::error::{Error, ErrorKind, Remedy, Result};
use crate::model::Spec;
use crate::secret::SecretString;

/// A token response, kept whole so the provider's rules can read it. `Debug` shows no token.
pub struct ProviderTokenResponse {
    raw: Map<String, Value>,
    access_token: AccessToken,
    token_type: BasicTokenType,
    refresh_token: Option<RefreshToken>,
    expires_in: Option<u64>,
    scopes: Option<Vec<Scope>>,
}

impl std::fmt::Debug for ProviderTokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderTokenResponse")
            .field("fields", &self.raw.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// oauth2 requires `Serialize`; nothing of ours serializes a token response, and this writes no
/// secret if something ever does.
impl Serialize for ProviderTokenResponse {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let fields: Vec<&String> = self.raw.keys().collect();
        fields.serialize(s)
    }
}

fn string_at<'a>(raw: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    raw.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn number(v: &Value) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

impl<'de> Deserialize<'de> for ProviderTokenResponse {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let raw = Map::<String, Value>::deserialize(d)?;
        // Slack puts the user's token under `authed_user`; the rules' pointers pick it, but the
        // trait accessors fall back to it too.
        let nested = raw.get("authed_user").and_then(Value::as_object);
        let pick =
            |key: &str| string_at(&raw, key).or_else(|| nested.and_then(|n| string_at(n, key)));
        let scopes = match raw.get("scope") {
            Some(Value::String(s)) => Some(split_scopes(s)),
            Some(Value::Array(a)) => Some(
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
            ),
            _ => None,
        }
        .map(|v: Vec<String>| v.into_iter().map(Scope::new).collect());
        Ok(Self {
            access_token: AccessToken::new(pick("access_token").unwrap_or_default().to_string()),
            refresh_token: pick("refresh_token").map(|s| RefreshToken::new(s.to_string())),
            expires_in: raw.get("expires_in").and_then(number),
            token_type: BasicTokenType::Bearer,
            scopes,
            raw,
        })
    }
}

impl TokenResponse for ProviderTokenResponse {
    type TokenType = BasicTokenType;
    fn access_token(&self) -> &AccessToken {
        &self.access_token
    }
    fn token_type(&self) -> &BasicTokenType {
        &self.token_type
    }
    fn expires_in(&self) -> Option<Duration> {
        self.expires_in.map(Duration::from_secs)
    }
    fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh_token.as_ref()
    }
    fn scopes(&self) -> Option<&Vec<Scope>> {
        self.scopes.as_ref()
    }
}

/// Splits a granted-scope string on spaces and commas (GitHub: `repo,user`).
pub fn split_scopes(s: &str) -> Vec<String> {
    s.split([' ', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// What a successful token reply means, read with the provider's rules.
pub struct Granted {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    pub id_token: Option<String>,
    pub expires_in: Option<Duration>,
    /// How long the refresh token lasts, where the server says (`refresh_token_expires_in`:
    /// GitHub's expiring user tokens, Google's time-limited access).
    pub refresh_expires_in: Option<Duration>,
    /// Scopes reported in the token response itself (None: not reported there).
    pub scopes: Option<Vec<String>>,
    /// `token_type`, as the server wrote it.
    pub token_type: Option<String>,
}

impl Granted {
    /// The server bound the tokens to the proof's key (RFC 9449 §5: `token_type` DPoP).
    pub fn is_dpop(&self) -> bool {
        self.token_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("dpop"))
    }
}

impl ProviderTokenResponse {
    /// The `error` field, whatever the HTTP status was (device polling: `authorization_pending`).
    pub fn error_code(&self) -> Option<&str> {
        string_at(&self.raw, "error")
    }

    /// The reply as tokens, or the provider's error when it answered HTTP 200 with one.
    pub fn read(
        &self,
        rules: &TokenRules,
        granted_from: GrantedScopesFrom,
        provider: &str,
        doing: &str,
    ) -> Result<Granted> {
        let raw = Value::Object(self.raw.clone());
        let ok_false = self.raw.get("ok").and_then(Value::as_bool) == Some(false);
        if let Some(code) = string_at(&self.raw, "error")
            .filter(|_| rules.errors_with_200 || ok_false || self.access_token.secret().is_empty())
        {
            let description = string_at(&self.raw, "error_description")
                .map(|d| format!(": {d}"))
                .unwrap_or_default();
            return Err(provider_error(code, &description, provider, doing));
        }
        if ok_false {
            return Err(provider_error("ok: false", "", provider, doing));
        }
        let text = |ptr: &Option<String>| {
            ptr.as_deref()
                .and_then(|p| raw.pointer(p))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let access =
            text(&rules.access_token_pointer).unwrap_or_else(|| self.access_token.secret().clone());
        if access.is_empty() {
            return Err(Error::new(
                ErrorKind::Provider,
                format!("{provider} sent no access token while trying to {doing}"),
            )
            .hint("try again; if it keeps failing, check the provider's settings"));
        }
        let refresh = text(&rules.refresh_token_pointer)
            .or_else(|| self.refresh_token.as_ref().map(|r| r.secret().clone()));
        let expires_in = rules
            .expires_in_pointer
            .as_deref()
            .and_then(|p| raw.pointer(p))
            .and_then(number)
            .or(self.expires_in)
            // 0 says nothing useful and absurd values overflow: keep 1 s .. 10 years.
            .filter(|s| *s > 0)
            .map(|s| Duration::from_secs(s.min(10 * 365 * 24 * 3600)));
        // Only with a refresh token to go with it, and read with the same bounds.
        let refresh_expires_in = self
            .raw
            .get("refresh_token_expires_in")
            .and_then(number)
            .filter(|s| *s > 0 && refresh.is_some())
            .map(|s| Duration::from_secs(s.min(10 * 365 * 24 * 3600)));
        let scope_value = match &rules.scope_pointer {
            Some(p) => raw.pointer(p),
            None => self.raw.get("scope"),
        };
        let scopes = match granted_from {
            GrantedScopesFrom::ScopesField => self
                .raw
                .get("scopes")
                .and_then(Value::as_str)
                .map(split_scopes),
            GrantedScopesFrom::Header | GrantedScopesFrom::Requested => None,
            _ => match scope_value {
                Some(Value::String(s)) => Some(split_scopes(s)),
                Some(Value::Array(a)) => Some(
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect(),
                ),
                _ => None,
            },
        };
        Ok(Granted {
            access_token: SecretString::new(access),
            refresh_token: refresh.map(SecretString::new),
            id_token: string_at(&self.raw, "id_token").map(str::to_owned),
            expires_in,
            refresh_expires_in,
            scopes,
            token_type: string_at(&self.raw, "token_type").map(str::to_owned),
        })
    }
}

fn provider_error(code: &str, description: &str, provider: &str, doing: &str) -> Error {
    if code == "invalid_grant" || code == "bad_refresh_token" || code == "invalid_refresh_token" {
        Error::new(
            ErrorKind::NeedsReconnect,
            format!("{provider} no longer accepts this account's sign-in ({code}{description})"),
        )
        .hint("connect the account again")
    } else if code == "invalid_client" || code == "unauthorized_client" {
        Error::new(
            ErrorKind::Provider,
            format!(
                "{provider} does not accept this app's client ID or secret ({code}{description})"
            ),
        )
        .hint("connecting again will not help")
        .remedy(Remedy::CheckClient {
            provider_name: provider.to_string(),
        })
    } else {
        Error::new(ErrorKind::Provider, format!("{provider} refused to {doing} ({code}{description})"))
            .hint("try again; if it keeps failing, check the provider's settings (client ID, secret, scopes)")
    }
}

pub type Client = oauth2::Client<
    BasicErrorResponse,
    ProviderTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointMaybeSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

fn bad_url(what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Provider,
        format!("the provider's {what} is not a valid URL ({e})"),
    )
    .hint("check the provider's settings")
}

/// The oauth2 client for a spec, with the client authentication the provider wants.
pub fn client(
    spec: &Spec,
    secret: Option<&SecretString>,
    redirect: Option<&str>,
) -> Result<Client> {
    let mut c = oauth2::Client::new(ClientId::new(spec.client_id.clone()))
        .set_auth_uri(
            AuthUrl::new(spec.authorization_endpoint.clone())
                .map_err(|e| bad_url("authorization endpoint", e))?,
        )
        .set_token_uri(
            TokenUrl::new(spec.token_endpoint.clone()).map_err(|e| bad_url("token endpoint", e))?,
        )
        .set_device_authorization_url_option(
            spec.device_endpoint
                .clone()
                .map(DeviceAuthorizationUrl::new)
                .transpose()
                .map_err(|e| bad_url("device endpoint", e))?,
        )
        .set_auth_type(match spec.client_auth {
            ClientAuth::SecretBasic => AuthType::BasicAuth,
            ClientAuth::None | ClientAuth::SecretPost => AuthType::RequestBody,
        });
    match (secret, spec.client_auth) {
        (Some(s), _) => c = c.set_client_secret(ClientSecret::new(s.expose().to_string())),
        // Reddit's installed apps authenticate with Basic `client_id:` (an empty password).
        (None, ClientAuth::SecretBasic) => {
            c = c.set_client_secret(ClientSecret::new(String::new()))
        }
        (None, _) => {}
    }
    if let Some(r) = redirect {
        c = c.set_redirect_uri(
            RedirectUrl::new(r.to_string())
                .map_err(|e| Error::internal("redirect URI").cause(e))?,
        );
    }
    Ok(c)
}

pub type TokenError =
    oauth2::RequestTokenError<oauth2::HttpClientError<reqwest::Error>, BasicErrorResponse>;

/// A token-endpoint failure that is not an HTTP-200 error, in the user's words.
pub fn request_error(e: TokenError, provider: &str, doing: &str) -> Error {
    match &e {
        oauth2::RequestTokenError::ServerResponse(r) => {
            let description = r
                .error_description()
                .map(|d| format!(": {d}"))
                .unwrap_or_default();
            provider_error(r.error().as_ref(), &description, provider, doing)
        }
        oauth2::RequestTokenError::Request(oauth2::HttpClientError::Other(why))
            if why.starts_with(TOO_LARGE) =>
        {
            crate::http::too_large(provider, doing)
        }
        oauth2::RequestTokenError::Request(_) => Error::new(
            ErrorKind::Network,
            format!("cannot reach {provider} to {doing}"),
        )
        .hint("check your network connection and try again")
        .cause(Error::new(ErrorKind::Network, e.to_string())),
        // The body may hold a token: keep only where parsing stopped.
        oauth2::RequestTokenError::Parse(p, _) => Error::new(
            ErrorKind::Provider,
            format!("{provider} sent a response we cannot read while trying to {doing}"),
        )
        .hint("try again later; the log file has the details")
        .cause(Error::new(
            ErrorKind::Provider,
            format!("unreadable JSON at {}", p.path()),
        )),
        oauth2::RequestTokenError::Other(o) => Error::new(
            ErrorKind::Provider,
            format!("{provider} sent an unexpected response while trying to {doing} ({o})"),
        )
        .hint("try again later"),
    }
}

/// Extra authorization-request parameters: the provider's own, then the scopes.
pub fn authorize_params(spec: &Spec, scopes: &[String]) -> BTreeMap<String, String> {
    let mut params = spec.extra_authorize.clone();
    if !scopes.is_empty() {
        params.insert(
            spec.scopes.param.clone(),
            scopes.join(&spec.scopes.separator),
        );
    }
    params
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> ProviderTokenResponse {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_refresh_tokens_lifetime_is_read_where_the_server_gives_it() {
        let rules = TokenRules::default();
        let read = |json: &str| {
            parse(json)
                .read(&rules, GrantedScopesFrom::ScopeComma, "GitHub", "x")
                .unwrap()
                .refresh_expires_in
        };
        // GitHub's expiring user tokens: six months.
        assert_eq!(
            read(
                r#"{"access_token":"ghu_x","expires_in":28800,"refresh_token":"ghr_x","refresh_token_expires_in":15897600}"#
            ),
            Some(Duration::from_secs(15_897_600))
        );
        assert_eq!(
            read(r#"{"access_token":"a","refresh_token":"r","refresh_token_expires_in":"600"}"#),
            Some(Duration::from_secs(600))
        );
        assert_eq!(
            read(r#"{"access_token":"a","refresh_token":"r","refresh_token_expires_in":0}"#),
            None
        );
        assert_eq!(
            read(r#"{"access_token":"a","refresh_token_expires_in":600}"#),
            None,
            "no refresh token"
        );
        assert_eq!(
            read(
                r#"{"access_token":"a","refresh_token":"r","refresh_token_expires_in":99999999999}"#
            ),
            Some(Duration::from_secs(10 * 365 * 24 * 3600))
        );
    }

    #[test]
    fn scope_forms_are_read_by_rule() {
        let rules = TokenRules::default();
        let gh =
            parse(r#"{"access_token":"gho_x","token_type":"bearer","scope":"repo,user:email"}"#);
        let g = gh
            .read(&rules, GrantedScopesFrom::ScopeComma, "GitHub", "x")
            .unwrap();
        assert_eq!(g.scopes.unwrap(), vec!["repo", "user:email"]);
        let tw = parse(
            r#"{"access_token":"a","scope":["chat:read","user:read:email"],"expires_in":"3600"}"#,
        );
        let g = tw
            .read(&rules, GrantedScopesFrom::ScopeArray, "Twitch", "x")
            .unwrap();
        assert_eq!(g.scopes.unwrap(), vec!["chat:read", "user:read:email"]);
        assert_eq!(g.expires_in, Some(Duration::from_secs(3600)));
        let bb =
            parse(r#"{"access_token":"a","scopes":"account pullrequest","refresh_token":"r"}"#);
        let g = bb
            .read(&rules, GrantedScopesFrom::ScopesField, "Bitbucket", "x")
            .unwrap();
        assert_eq!(g.scopes.unwrap(), vec!["account", "pullrequest"]);
        assert_eq!(g.refresh_token.unwrap().expose(), "r");
    }

    #[test]
    fn http_200_errors_are_errors() {
        let rules = TokenRules {
            errors_with_200: true,
            ..Default::default()
        };
        let e = parse(r#"{"error":"bad_verification_code","error_description":"The code passed is incorrect or expired."}"#)
            .read(&rules, GrantedScopesFrom::Header, "GitHub", "finish signing in")
            .err()
            .unwrap();
        assert_eq!(e.kind, ErrorKind::Provider);
        assert!(e.message.contains("bad_verification_code"), "{}", e.message);
        let e = parse(r#"{"ok":false,"error":"invalid_code"}"#)
            .read(
                &TokenRules::default(),
                GrantedScopesFrom::ScopeComma,
                "Slack",
                "x",
            )
            .err()
            .unwrap();
        assert!(e.message.contains("invalid_code"));
        let e = parse(r#"{"error":"invalid_grant"}"#)
            .read(&rules, GrantedScopesFrom::Header, "GitHub", "x")
            .err()
            .unwrap();
        assert_eq!(e.kind, ErrorKind::NeedsReconnect);
    }

    #[test]
    fn nested_slack_user_tokens_are_found() {
        let rules = TokenRules {
            access_token_pointer: Some("/authed_user/access_token".into()),
            scope_pointer: Some("/authed_user/scope".into()),
            refresh_token_pointer: Some("/authed_user/refresh_token".into()),
            expires_in_pointer: Some("/authed_user/expires_in".into()),
            ..Default::default()
        };
        let r = parse(
            r#"{"ok":true,"app_id":"A1","authed_user":{"id":"U1","scope":"identity.basic,identity.email","access_token":"xoxp-1","refresh_token":"xoxe-1","expires_in":43200,"token_type":"user"},"team":{"id":"T1"}}"#,
        );
        let g = r
            .read(&rules, GrantedScopesFrom::ScopeComma, "Slack", "x")
            .unwrap();
        assert_eq!(g.access_token.expose(), "xoxp-1");
        assert_eq!(g.refresh_token.unwrap().expose(), "xoxe-1");
        assert_eq!(g.expires_in, Some(Duration::from_secs(43200)));
        assert_eq!(g.scopes.unwrap(), vec!["identity.basic", "identity.email"]);
    }

    #[test]
    fn debug_shows_no_token() {
        let r = parse(r#"{"access_token":"SECRET-AT","refresh_token":"SECRET-RT"}"#);
        let shown = format!("{r:?} {}", serde_json::to_string(&r).unwrap());
        assert!(!shown.contains("SECRET"), "{shown}");
    }
}

/// What the last token-endpoint reply's status line said (oauth2 keeps neither the status nor
/// the headers of an error it cannot parse).
#[derive(Debug, Clone, Copy, Default)]
pub struct ReplyStatus {
    pub code: u16,
    /// `Retry-After` in seconds, when the provider sent one.
    pub retry_after: Option<u64>,
    /// An HTML page (a proxy's or a captive portal's), not a reply of the server's API.
    pub html: bool,
}

/// What a refresh is called in messages; a refresh answered with an unexplained 400/401 is told
/// apart from other calls by it.
pub const REFRESHING: &str = "refresh the token";

/// How [`Recording`] tells [`request_error`] that it stopped reading a reply at the cap.
const TOO_LARGE: &str = "the reply is larger than the app reads";

/// oauth2's HTTP client extension point: reqwest, remembering the last reply's status, and
/// reading each reply while it streams, up to [`crate::http::MAX_REPLY`]. With a device key, every
/// request carries a DPoP proof, and a server asking for a nonce (`use_dpop_nonce`) is answered
/// with one retry, which is not a failure.
pub struct Recording<'a> {
    client: &'a reqwest::Client,
    last: std::sync::Mutex<Option<ReplyStatus>>,
    dpop: Option<&'a crate::dpop::DpopKey>,
}

struct Reply {
    status: reqwest::StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl<'a> Recording<'a> {
    pub fn new(client: &'a reqwest::Client) -> Self {
        Self {
            client,
            last: std::sync::Mutex::new(None),
            dpop: None,
        }
    }

    /// Every request proves possession of `key` (RFC 9449 §5).
    pub fn with_dpop(mut self, key: Option<&'a crate::dpop::DpopKey>) -> Self {
        self.dpop = key;
        self
    }

    pub fn last(&self) -> Option<ReplyStatus> {
        *self.last.lock().expect("status poisoned")
    }

    async fn send(
        &self,
        request: &oauth2::HttpRequest,
    ) -> std::result::Result<Reply, oauth2::HttpClientError<reqwest::Error>> {
        let mut copy = oauth2::http::Request::builder()
            .method(request.method().clone())
            .uri(request.uri().clone());
        if let Some(h) = copy.headers_mut() {
            *h = request.headers().clone();
        }
        if let Some(key) = self.dpop {
            let url = url::Url::parse(&request.uri().to_string())
                .map_err(|e| oauth2::HttpClientError::Other(format!("bad URL: {e}")))?;
            let nonce = crate::dpop::nonce_for(&url);
            let proof = key
                .proof(request.method().as_str(), &url, nonce.as_deref(), None)
                .map_err(|e| oauth2::HttpClientError::Other(e.message))?;
            copy = copy.header("DPoP", proof);
        }
        let copy = copy
            .body(request.body().clone())
            .map_err(oauth2::HttpClientError::Http)?;
        let request = reqwest::Request::try_from(copy)
            .map_err(|e| oauth2::HttpClientError::Reqwest(Box::new(e)))?;
        let mut response = self
            .client
            .execute(request)
            .await
            .map_err(|e| oauth2::HttpClientError::Reqwest(Box::new(e)))?;
        let status = response.status();
        let headers = response.headers().clone();
        // Read while streaming, and never more than a reply can need.
        let (body, cut) = crate::http::read_capped(&mut response, crate::http::MAX_REPLY)
            .await
            .map_err(|e| oauth2::HttpClientError::Reqwest(Box::new(e)))?;
        if cut {
            return Err(oauth2::HttpClientError::Other(TOO_LARGE.into()));
        }
        Ok(Reply {
            status,
            headers,
            body,
        })
    }
}

/// Whether a reply asks for the proof again with the nonce it carries (RFC 9449 §8).
fn wants_nonce(reply: &Reply, url: &str) -> bool {
    let asks = reply.status.is_client_error()
        && serde_json::from_slice::<Value>(&reply.body)
            .ok()
            .is_some_and(|v| v.get("error").and_then(Value::as_str) == Some("use_dpop_nonce"));
    asks && url::Url::parse(url).is_ok_and(|u| crate::dpop::remember_nonce(&u, &reply.headers))
}

impl<'c> oauth2::AsyncHttpClient<'c> for Recording<'_> {
    type Error = oauth2::HttpClientError<reqwest::Error>;
    type Future = std::pin::Pin<
        Box<
            dyn std::future::Future<Output = std::result::Result<oauth2::HttpResponse, Self::Error>>
                + Send
                + 'c,
        >,
    >;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let mut reply = self.send(&request).await?;
            if self.dpop.is_some() {
                let url = request.uri().to_string();
                if wants_nonce(&reply, &url) {
                    reply = self.send(&request).await?;
                } else if let Ok(u) = url::Url::parse(&url) {
                    // A nonce handed out with a success is for the next request.
                    crate::dpop::remember_nonce(&u, &reply.headers);
                }
            }
            let Reply {
                status,
                headers,
                body,
            } = reply;
            let retry_after = headers
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok());
            let html = headers
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|t| t.to_ascii_lowercase().contains("html"))
                || body.trim_ascii_start().starts_with(b"<");
            *self.last.lock().expect("status poisoned") = Some(ReplyStatus {
                code: status.as_u16(),
                retry_after,
                html,
            });
            let mut reply = oauth2::http::Response::builder().status(status);
            if let Some(h) = reply.headers_mut() {
                *h = headers;
            }
            reply.body(body).map_err(oauth2::HttpClientError::Http)
        })
    }
}

/// A token-endpoint failure, using the reply's status when oauth2 could not read the body:
/// a provider in trouble (5xx) or asking to slow down (429) is said so, not "unreadable".
pub fn request_error_at(
    e: TokenError,
    status: Option<ReplyStatus>,
    provider: &str,
    doing: &str,
) -> Error {
    let unreadable = matches!(
        e,
        oauth2::RequestTokenError::Parse(..) | oauth2::RequestTokenError::Other(_)
    );
    match status {
        // A server that ignores RFC 6749 §5.2 says "no" with a bare 400/401: the grant is most
        // likely dead. The refresh token is kept, so the next refresh tries it once more.
        Some(ReplyStatus {
            code: code @ (400 | 401),
            html: false,
            ..
        }) if unreadable && doing == REFRESHING => Error::new(
            ErrorKind::NeedsReconnect,
            format!("{provider}: the server refused the refresh token without saying why (HTTP {code})"),
        )
        .hint("connect the account again; the next refresh tries once more, in case the server was wrong"),
        Some(ReplyStatus {
            code: 429,
            retry_after,
            ..
        }) if unreadable => {
            let wait = retry_after
                .map(|s| format!(" in {s} s"))
                .unwrap_or_else(|| " later".into());
            Error::new(
                ErrorKind::Provider,
                format!("{provider} asks to slow down (HTTP 429) while trying to {doing}"),
            )
            .hint(format!("nothing was changed; try again{wait}"))
        }
        Some(ReplyStatus { code: 407, .. }) if unreadable => Error::new(
            ErrorKind::Network,
            format!("a proxy between you and {provider} wants a login (HTTP 407), so it could not {doing}"),
        )
        .hint("nothing was changed; sign in to the proxy (or check HTTPS_PROXY) and try again later"),
        Some(ReplyStatus { code: 408, .. }) if unreadable => Error::new(
            ErrorKind::Provider,
            format!("{provider} gave up waiting (HTTP 408) and could not {doing}"),
        )
        .hint("nothing was changed; try again later"),
        Some(ReplyStatus { code, .. }) if unreadable && code >= 500 => Error::new(
            ErrorKind::Provider,
            format!("{provider} is having trouble (HTTP {code}) and could not {doing}"),
        )
        .hint("nothing was changed; try again later"),
        _ => request_error(e, provider, doing),
    }
}

/// Client authentication for the requests we send with reqwest (device polling, RFC 7009
/// revocation), the same way [`client`] sets it up for oauth2's: Basic with the secret (Reddit's
/// installed apps: an empty one), or `client_id` (and the secret, for `secret_post`) in the form.
pub fn authenticate<'a>(
    spec: &'a Spec,
    secret: Option<&'a SecretString>,
    request: reqwest::RequestBuilder,
    form: &mut Vec<(&'a str, &'a str)>,
) -> reqwest::RequestBuilder {
    match (spec.client_auth, secret) {
        (ClientAuth::SecretBasic, s) => request.basic_auth(
            &spec.client_id,
            Some(s.map(SecretString::expose).unwrap_or("")),
        ),
        (ClientAuth::SecretPost, Some(s)) => {
            form.push(("client_id", spec.client_id.as_str()));
            form.push(("client_secret", s.expose()));
            request
        }
        _ => {
            form.push(("client_id", spec.client_id.as_str()));
            request
        }
    }
}
