//! The test call: the provider's "who am I" endpoint (userinfo for OpenID providers), run in Rust
//! with the account's token; the result goes back without the token.

use std::time::Instant;

use serde::Serialize;
use ts_rs::TS;

use crate::audit;
use crate::consumer::Consumer;
use crate::dpop::DpopKey;
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::model::Spec;
use crate::secret::{SecretString, TokenSet};

/// One API request as the app sends it for the person.
pub(crate) struct ApiCall<'a> {
    pub method: reqwest::Method,
    pub url: &'a str,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

/// Whether a resource's 401 asks for a DPoP nonce (RFC 9449 §9).
fn asks_for_nonce(response: &reqwest::Response) -> bool {
    response.status() == reqwest::StatusCode::UNAUTHORIZED
        && response
            .headers()
            .get_all(reqwest::header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains("use_dpop_nonce"))
}

/// Response headers worth showing (scopes, rate limits, caching, errors); others are left out.
const SHOWN_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "date",
    "cache-control",
    "www-authenticate",
    "x-oauth-scopes",
    "x-accepted-oauth-scopes",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "retry-after",
    "x-request-id",
];
/// Bodies larger than this are cut (a user endpoint answers in a few KB).
const MAX_BODY: usize = 256 * 1024;

#[derive(Debug, Clone, Serialize, TS)]
pub struct ProbeResult {
    pub url: String,
    pub method: String,
    pub status: u16,
    pub latency_ms: u32,
    pub headers: Vec<(String, String)>,
    /// The JSON body, or `{"text": …}` when it is not JSON or was cut.
    pub body: serde_json::Value,
    /// The reply was larger than the app reads (1 MiB): `body` shows only its start.
    pub truncated: bool,
    /// A 403 `insufficient_scope` named these scopes: the window offers to add them (step-up).
    pub missing_scopes: Option<Vec<String>>,
}

/// A call to the account's API for the person (`connected-accounts request`).
#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub method: String,
    pub url: String,
    /// Extra request headers (`-H 'Name: value'`).
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    /// Origins the caller names as meant to get the token (`--allow-origin`).
    pub allow_origins: Vec<String>,
}

/// Its answer; any token the server echoed is replaced before it leaves the core.
#[derive(Debug)]
pub struct ApiReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The body was larger than [`MAX_API_BODY`] and was cut there.
    pub truncated: bool,
    pub missing_scopes: Option<Vec<String>>,
}

/// The most of an API reply `request` reads.
pub const MAX_API_BODY: usize = 64 * 1024 * 1024;

/// Headers a caller may not set: the app writes the credentials itself.
const OWN_HEADERS: &[&str] = &["authorization", "dpop", "host", "content-length", "cookie"];

/// The who-am-I reply, whole (headers unfiltered), for identification and the test view.
pub(crate) struct WhoAmIReply {
    pub url: String,
    pub method: String,
    pub status: u16,
    pub latency_ms: u32,
    pub headers: Vec<(String, String)>,
    pub body: serde_json::Value,
    pub truncated: bool,
}

impl Engine {
    /// Calls the account's user endpoint (refreshing first if the token is stale). The read is
    /// audited with `reader`: the window itself, or the program that ran `test`.
    pub async fn test_account(&self, query: &str, reader: &Consumer) -> Result<ProbeResult> {
        let row = self.row(query).await?;
        let spec = self.spec_for_tokens(&row).await?;
        if let Some(resource) = &row.resource {
            return self.test_resource(&row, &spec, resource, reader).await;
        }
        if spec.whoami.is_none() {
            return Err(Error::new(
                ErrorKind::Provider,
                format!("{} has no user endpoint to test against", spec.name),
            )
            .hint("add the provider's userinfo URL, or test by using the account in an app"));
        }
        let (_, tokens) = self.fresh_tokens(&row.id).await?;
        let key = crate::dpop::key_of(&tokens)?;
        audit::record_read(&self.db, &row.id, &row.provider_id, reader, "test call").await;
        let reply = self
            .call_whoami(&spec, &tokens.access_token, key.as_ref())
            .await?;
        Ok(shown(reply, &tokens))
    }

    /// An account connected for a resource is tested against that resource. A built-in
    /// provider's token goes there only when it is restricted to the resource's audience: a
    /// general GitHub or Google token is never handed to an API that merely named the provider.
    async fn test_resource(
        &self,
        row: &crate::account::AccountRow,
        spec: &Spec,
        resource: &str,
        reader: &Consumer,
    ) -> Result<ProbeResult> {
        let (_, tokens) = self.fresh_tokens(&row.id).await?;
        if spec.builtin
            && !crate::resource::audience_restricted(tokens.access_token.expose(), resource)
        {
            return Err(Error::new(
                ErrorKind::Provider,
                format!(
                    "{}'s token is not restricted to {}, so the app does not send it there",
                    spec.name,
                    crate::text::for_terminal(resource)
                ),
            )
            .hint(
                "a token that works everywhere at the provider would let that resource act as you",
            ));
        }
        audit::record_read(
            &self.db,
            &row.id,
            &row.provider_id,
            reader,
            "test call to its resource",
        )
        .await;
        let reply = self
            .call_api(
                spec,
                reqwest::Method::GET,
                resource,
                None,
                &tokens.access_token,
                crate::dpop::key_of(&tokens)?.as_ref(),
            )
            .await?;
        Ok(shown(reply, &tokens))
    }

    /// The provider's who-am-I request as its profile describes it, with the token as bearer.
    pub(crate) async fn call_whoami(
        &self,
        spec: &Spec,
        token: &SecretString,
        dpop: Option<&DpopKey>,
    ) -> Result<WhoAmIReply> {
        let w = spec
            .whoami
            .as_ref()
            .ok_or_else(|| Error::internal("no who-am-I request for this provider"))?;
        let method = reqwest::Method::from_bytes(w.method.as_bytes())
            .map_err(|_| Error::internal("bad who-am-I method"))?;
        self.call_api(spec, method, &w.url, w.body.as_deref(), token, dpop)
            .await
    }

    /// Calls the account's API at `url`, a GET, as the window's request box does. The URL must
    /// be on one of the provider's API origins ([`Spec::api_origins`]): a token never goes to a host
    /// the provider does not own because of a typo or a pasted link. Audited like the test call.
    pub async fn request_get(
        &self,
        query: &str,
        url: &str,
        reader: &Consumer,
    ) -> Result<ProbeResult> {
        let row = self.row(query).await?;
        let spec = self.spec_for_tokens(&row).await?;
        let target = spec.allowed_api_url(url, &resource_origin(&row))?;
        let (_, tokens) = self.fresh_tokens(&row.id).await?;
        // The query is left out of the audit: it is what the person typed, and may carry anything.
        let detail = format!(
            "request GET {}{}",
            target.origin().ascii_serialization(),
            target.path()
        );
        audit::record_read(&self.db, &row.id, &row.provider_id, reader, &detail).await;
        let reply = self
            .call_api(
                &spec,
                reqwest::Method::GET,
                target.as_str(),
                None,
                &tokens.access_token,
                crate::dpop::key_of(&tokens)?.as_ref(),
            )
            .await?;
        Ok(shown(reply, &tokens))
    }

    /// Sends `call` with the token: as bearer, or bound (`Authorization: DPoP`, a proof with
    /// `ath`, and one retry when the server asks for a nonce, which is not a failure).
    pub(crate) async fn send_with_token(
        &self,
        call: &ApiCall<'_>,
        token: &SecretString,
        dpop: Option<&DpopKey>,
    ) -> Result<std::result::Result<reqwest::Response, reqwest::Error>> {
        let target = url::Url::parse(call.url).map_err(|_| {
            Error::invalid_input("that is not a full URL", "give the whole address")
        })?;
        let has_accept = call
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("accept"));
        let build = |nonce: Option<String>| -> Result<reqwest::RequestBuilder> {
            let mut request = self.http()?.request(call.method.clone(), target.as_str());
            if !has_accept {
                request = request.header(reqwest::header::ACCEPT, "application/json");
            }
            for (name, value) in &call.headers {
                request = request.header(name.as_str(), value.as_str());
            }
            request = match dpop {
                None => request.bearer_auth(token.expose()),
                Some(key) => {
                    // Marked sensitive, as `bearer_auth` marks its header: never in a debug print.
                    let mut credential =
                        reqwest::header::HeaderValue::from_str(&format!("DPoP {}", token.expose()))
                            .map_err(|_| {
                                Error::internal("an access token that is no header value")
                            })?;
                    credential.set_sensitive(true);
                    request
                        .header(reqwest::header::AUTHORIZATION, credential)
                        .header(
                            "DPoP",
                            key.proof(
                                call.method.as_str(),
                                &target,
                                nonce.as_deref(),
                                Some(token),
                            )?,
                        )
                }
            };
            if let Some(body) = &call.body {
                request = request.body(body.clone());
            }
            Ok(request)
        };
        let first = build(dpop.and_then(|_| crate::dpop::nonce_for(&target)))?
            .send()
            .await;
        if dpop.is_none() {
            return Ok(first);
        }
        match first {
            Ok(response) => {
                let fresh = crate::dpop::remember_nonce(&target, response.headers());
                if fresh && asks_for_nonce(&response) {
                    drop(response);
                    Ok(build(crate::dpop::nonce_for(&target))?.send().await)
                } else {
                    Ok(Ok(response))
                }
            }
            Err(e) => Ok(Err(e)),
        }
    }

    /// Calls the account's API at `req.url` for the person (`connected-accounts request`): the
    /// URL must be on the account's API origins, its resource's, or one the caller named; the
    /// token (and, for a bound account, a proof of its key) goes only there. `cleared` is the
    /// account's policy's leave: a call is a use of the token. Audited with `reader`.
    pub async fn api_request(
        &self,
        query: &str,
        req: &ApiRequest,
        reader: &Consumer,
        cleared: &crate::policy::Clearance,
    ) -> Result<ApiReply> {
        let row = self.row(query).await?;
        cleared.check(&row)?;
        let spec = self.spec_for_tokens(&row).await?;
        let mut also = resource_origin(&row);
        for o in &req.allow_origins {
            also.push(Spec::origin_of(o)?);
        }
        // Every allowed origin is https (or loopback http): endpoints, profiles' hosts, the
        // resource and `--allow-origin` are each checked so when they are taken in.
        let target = spec.allowed_api_url(&req.url, &also)?;
        let method = reqwest::Method::from_bytes(req.method.trim().to_ascii_uppercase().as_bytes())
            .map_err(|_| {
                Error::invalid_input(
                    format!(
                        "{} is not an HTTP method",
                        crate::text::for_terminal(&req.method)
                    ),
                    "use GET, POST, PUT, PATCH or DELETE",
                )
            })?;
        for (name, value) in &req.headers {
            let lower = name.trim().to_ascii_lowercase();
            if OWN_HEADERS.contains(&lower.as_str()) {
                return Err(Error::invalid_input(
                    format!("the app sets the {lower} header itself"),
                    "leave it out",
                ));
            }
            if reqwest::header::HeaderName::from_bytes(name.trim().as_bytes()).is_err()
                || reqwest::header::HeaderValue::from_str(value.trim()).is_err()
            {
                return Err(Error::invalid_input(
                    format!("{} is not a valid header", crate::text::for_terminal(name)),
                    "write it as 'Name: value'",
                ));
            }
        }
        let (_, tokens) = self.fresh_tokens(&row.id).await?;
        let key = crate::dpop::key_of(&tokens)?;
        // The query is left out of the audit: it may carry anything.
        let detail = format!(
            "request {method} {}{}",
            target.origin().ascii_serialization(),
            target.path()
        );
        audit::record_read(&self.db, &row.id, &row.provider_id, reader, &detail).await;
        let caller: Vec<(String, String)> = req
            .headers
            .iter()
            .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
            .collect();
        let call = ApiCall {
            method,
            url: target.as_str(),
            headers: provider_headers(&spec, caller),
            body: req.body.clone(),
        };
        let network = |e: reqwest::Error| {
            Error::new(
                ErrorKind::Network,
                format!("cannot reach {}", target.origin().ascii_serialization()),
            )
            .hint("check your network connection and try again")
            .cause(e.without_url())
        };
        let mut response = self
            .send_with_token(&call, &tokens.access_token, key.as_ref())
            .await?
            .map_err(network)?;
        let status = response.status().as_u16();
        let secrets = secrets_of(&tokens);
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|(n, v)| {
                let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
                (n.to_string(), redact(v, &secrets))
            })
            .collect();
        let (body, truncated) = crate::http::read_capped(&mut response, MAX_API_BODY)
            .await
            .map_err(network)?;
        let missing_scopes = missing_scopes(status, &headers);
        Ok(ApiReply {
            status,
            body: redact_bytes(body, &secrets),
            headers,
            truncated,
            missing_scopes,
        })
    }

    /// One call with the account's token, and the provider's required headers (GitHub's
    /// `User-Agent`, Twitch's `Client-Id`). A bound token goes as `DPoP` with a proof of the key
    /// (RFC 9449 §7), and a server asking for a nonce gets one retry. No redirect is followed
    /// (the app's HTTP client).
    pub(crate) async fn call_api(
        &self,
        spec: &Spec,
        method: reqwest::Method,
        url: &str,
        body: Option<&str>,
        token: &SecretString,
        dpop: Option<&DpopKey>,
    ) -> Result<WhoAmIReply> {
        let call = ApiCall {
            method: method.clone(),
            url,
            headers: provider_headers(
                spec,
                body.map(|_| ("content-type".into(), "application/json".into()))
                    .into_iter()
                    .collect(),
            ),
            body: body.map(|b| b.as_bytes().to_vec()),
        };
        let started = Instant::now();
        let network = |e: reqwest::Error| {
            Error::new(ErrorKind::Network, format!("cannot reach {}", spec.name))
                .hint("check your network connection and try again")
                .cause(e.without_url())
        };
        let response = self
            .send_with_token(&call, token, dpop)
            .await?
            .map_err(network)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter(|(name, _)| name.as_str() != "set-cookie")
            .map(|(n, v)| {
                (
                    n.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut response = response;
        let (bytes, truncated) = crate::http::read_capped(&mut response, crate::http::MAX_REPLY)
            .await
            .map_err(network)?;
        drop(response); // the rest of an oversized reply is never read
        let latency_ms = started.elapsed().as_millis().min(u32::MAX as u128) as u32;
        let body = match serde_json::from_slice(&bytes) {
            Ok(json) if !truncated => json,
            _ => {
                let text =
                    String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_BODY)]).into_owned();
                serde_json::json!({ "text": text })
            }
        };
        Ok(WhoAmIReply {
            url: url.to_string(),
            method: method.to_string(),
            status,
            latency_ms,
            headers,
            body,
            truncated,
        })
    }
}

/// The headers the provider's API requires (GitHub's `User-Agent` and `Accept`, Twitch's
/// `Client-Id`: the profile's who-am-I headers), then `caller`'s, which replace any of the same
/// name.
fn provider_headers(spec: &Spec, caller: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = spec
        .whoami
        .iter()
        .flat_map(|w| w.headers.iter())
        .filter(|(n, _)| !caller.iter().any(|(c, _)| c.eq_ignore_ascii_case(n)))
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    out.extend(caller);
    out
}

/// The account's resource (RFC 8707), as an origin its token may go to.
fn resource_origin(row: &crate::account::AccountRow) -> Vec<String> {
    row.resource
        .as_deref()
        .and_then(|r| url::Url::parse(r).ok())
        .map(|u| u.origin())
        .filter(url::Origin::is_tuple)
        .map(|o| vec![o.ascii_serialization()])
        .unwrap_or_default()
}

/// The scopes a 403 says are missing (RFC 6750 §3.1 `insufficient_scope`, with `scope`), for
/// step-up: the face offers to add them. `None` for any other reply.
pub fn missing_scopes(status: u16, headers: &[(String, String)]) -> Option<Vec<String>> {
    if status != 403 {
        return None;
    }
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("www-authenticate"))
        .find_map(|(_, v)| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            if !scheme.eq_ignore_ascii_case("bearer") && !scheme.eq_ignore_ascii_case("dpop") {
                return None;
            }
            let params = crate::resource::challenge_params(rest);
            if params.get("error").map(String::as_str) != Some("insufficient_scope") {
                return None;
            }
            let scopes: Vec<String> = params
                .get("scope")
                .map(|s| crate::token::split_scopes(s))
                .unwrap_or_default()
                .into_iter()
                // Only what a scope can be (RFC 6749 §3.3): no quotes, backslashes or controls.
                .filter(|s| {
                    s.len() <= 256
                        && s.bytes()
                            .all(|b| b == b'!' || (b'#'..=b'~').contains(&b) && b != b'\\')
                })
                .collect();
            Some(scopes)
        })
        .filter(|s| !s.is_empty())
}

/// The reply as the window shows it: the headers worth seeing, the body. An API that echoes
/// the request (a debugging endpoint, an error that quotes the header) would hand the window
/// the account's tokens: every occurrence is replaced before the reply leaves Rust.
fn shown(reply: WhoAmIReply, tokens: &TokenSet) -> ProbeResult {
    let secrets = secrets_of(tokens);
    let missing_scopes = missing_scopes(reply.status, &reply.headers);
    let mut body = reply.body;
    redact_json(&mut body, &secrets);
    ProbeResult {
        url: redact(reply.url, &secrets),
        method: reply.method,
        status: reply.status,
        latency_ms: reply.latency_ms,
        headers: reply
            .headers
            .into_iter()
            .filter(|(name, _)| {
                SHOWN_HEADERS.contains(&name.as_str()) || name.starts_with("x-ratelimit")
            })
            .map(|(name, value)| (name, redact(value, &secrets)))
            .collect(),
        body,
        truncated: reply.truncated,
        missing_scopes,
    }
}

/// Every secret of the set, as a reply might echo it.
fn secrets_of(tokens: &TokenSet) -> Vec<&str> {
    [
        Some(&tokens.access_token),
        tokens.refresh_token.as_ref(),
        tokens.id_token.as_ref(),
    ]
    .into_iter()
    .flatten()
    .map(|t| t.expose())
    .filter(|t| !t.is_empty())
    .collect()
}

/// [`redact`] for a body that may not be text.
fn redact_bytes(mut body: Vec<u8>, secrets: &[&str]) -> Vec<u8> {
    for s in secrets {
        let s = s.as_bytes();
        if s.is_empty() || body.len() < s.len() {
            continue;
        }
        let mut out = Vec::with_capacity(body.len());
        let mut i = 0;
        while i < body.len() {
            if body[i..].starts_with(s) {
                out.extend_from_slice(REDACTED.as_bytes());
                i += s.len();
            } else {
                out.push(body[i]);
                i += 1;
            }
        }
        body = out;
    }
    body
}

const REDACTED: &str = "[token removed]";

fn redact(text: String, secrets: &[&str]) -> String {
    secrets.iter().fold(text, |t, s| {
        if t.contains(s) {
            t.replace(s, REDACTED)
        } else {
            t
        }
    })
}

fn redact_json(value: &mut serde_json::Value, secrets: &[&str]) {
    use serde_json::Value;
    match value {
        Value::String(s) => *s = redact(std::mem::take(s), secrets),
        Value::Array(items) => items.iter_mut().for_each(|v| redact_json(v, secrets)),
        Value::Object(map) => {
            let named: Vec<String> = map
                .keys()
                .filter(|k| secrets.iter().any(|s| k.contains(s)))
                .cloned()
                .collect();
            for key in named {
                if let Some(v) = map.remove(&key) {
                    map.insert(redact(key, secrets), v);
                }
            }
            map.values_mut().for_each(|v| redact_json(v, secrets));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn challenge(value: &str) -> Vec<(String, String)> {
        vec![("www-authenticate".into(), value.into())]
    }

    #[test]
    fn a_403_insufficient_scope_names_the_scopes_to_add() {
        assert_eq!(
            missing_scopes(
                403,
                &challenge(r#"Bearer error="insufficient_scope", scope="repo admin:org""#)
            ),
            Some(vec!["repo".to_string(), "admin:org".to_string()])
        );
        assert_eq!(
            missing_scopes(
                403,
                &challenge(r#"DPoP realm="x", error="insufficient_scope", scope="api:write""#)
            ),
            Some(vec!["api:write".to_string()])
        );
        // Not step-up: another status, another error, no scope, or a hostile scope value.
        for (status, value) in [
            (401, r#"Bearer error="insufficient_scope", scope="a""#),
            (403, r#"Bearer error="invalid_token", scope="a""#),
            (403, r#"Bearer error="insufficient_scope""#),
            (403, "Basic realm=\"x\""),
            (
                403,
                "Bearer error=\"insufficient_scope\", scope=\"a\\\"b\u{7}\"",
            ),
        ] {
            assert_eq!(missing_scopes(status, &challenge(value)), None, "{value}");
        }
    }

    #[test]
    fn the_providers_required_headers_go_with_a_request_unless_the_caller_sets_them() {
        let github = Spec::from_profile(
            crate::catalog::find("github").unwrap(),
            &crate::model::Settings::default(),
        );
        let sent = provider_headers(&github, vec![("accept".into(), "text/plain".into())]);
        let names: Vec<String> = sent.iter().map(|(n, _)| n.to_ascii_lowercase()).collect();
        assert!(names.contains(&"user-agent".to_string()), "{sent:?}");
        assert_eq!(
            names.iter().filter(|n| *n == "accept").count(),
            1,
            "{sent:?}"
        );
        assert!(sent.contains(&("accept".into(), "text/plain".into())));
    }

    #[test]
    fn an_echoed_token_is_cut_out_of_a_binary_body() {
        let body = b"\x00\xffat-SECRET\x01at-SECRET".to_vec();
        let out = redact_bytes(body, &["at-SECRET"]);
        assert_eq!(out, b"\x00\xff[token removed]\x01[token removed]".to_vec());
    }

    #[test]
    fn a_reply_that_echoes_the_tokens_reaches_the_window_without_them() {
        let tokens = TokenSet {
            access_token: SecretString::new("gho_access123"),
            refresh_token: Some(SecretString::new("ghr_refresh456")),
            id_token: None,
            expires_at_ms: None,
            obtained_at_ms: 0,
            dpop_key: None,
        };
        let reply = WhoAmIReply {
            url: "https://api.example.test/echo".into(),
            method: "GET".into(),
            status: 200,
            latency_ms: 1,
            headers: vec![(
                "www-authenticate".into(),
                "Bearer gho_access123 is bad".into(),
            )],
            body: serde_json::json!({
                "headers": { "authorization": "Bearer gho_access123" },
                "gho_access123": [1, "x ghr_refresh456 y", { "deep": "gho_access123gho_access123" }],
                "n": 5
            }),
            truncated: false,
        };
        let shown = shown(reply, &tokens);
        let all = serde_json::to_string(&shown.body).unwrap() + &format!("{:?}", shown.headers);
        assert!(
            !all.contains("gho_access123") && !all.contains("ghr_refresh456"),
            "{all}"
        );
        assert_eq!(
            shown.body["headers"]["authorization"],
            "Bearer [token removed]"
        );
        assert_eq!(shown.body["[token removed]"][1], "x [token removed] y");
        assert_eq!(shown.body["n"], 5);
        assert_eq!(shown.headers[0].1, "Bearer [token removed] is bad");
    }
}
