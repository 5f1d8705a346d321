//! The test call: the provider's "who am I" endpoint (userinfo for OpenID providers), run in Rust
//! with the account's token; the result goes back without the token.

use std::time::Instant;

use serde::Serialize;
use ts_rs::TS;

use crate::audit;
use crate::consumer::Consumer;
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::model::Spec;
use crate::secret::{SecretString, TokenSet};

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
}

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
        audit::record_read(&self.db, &row.id, &row.provider_id, reader, "test call").await;
        let reply = self.call_whoami(&spec, &tokens.access_token).await?;
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
            )
            .await?;
        Ok(shown(reply, &tokens))
    }

    /// The provider's who-am-I request as its profile describes it, with the token as bearer.
    pub(crate) async fn call_whoami(
        &self,
        spec: &Spec,
        token: &SecretString,
    ) -> Result<WhoAmIReply> {
        let w = spec
            .whoami
            .as_ref()
            .ok_or_else(|| Error::internal("no who-am-I request for this provider"))?;
        let method = reqwest::Method::from_bytes(w.method.as_bytes())
            .map_err(|_| Error::internal("bad who-am-I method"))?;
        self.call_api(spec, method, &w.url, w.body.as_deref(), token)
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
        let target = spec.allowed_api_url(url)?;
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
            )
            .await?;
        Ok(shown(reply, &tokens))
    }

    /// One call with the token as bearer, and the provider's required headers (GitHub's
    /// `User-Agent`, Twitch's `Client-Id`). No redirect is followed (the app's HTTP client).
    async fn call_api(
        &self,
        spec: &Spec,
        method: reqwest::Method,
        url: &str,
        body: Option<&str>,
        token: &SecretString,
    ) -> Result<WhoAmIReply> {
        let mut request = self
            .http()?
            .request(method.clone(), url)
            .bearer_auth(token.expose())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(w) = &spec.whoami {
            for (name, value) in &w.headers {
                request = request.header(name.as_str(), value.as_str());
            }
        }
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let started = Instant::now();
        let network = |e: reqwest::Error| {
            Error::new(ErrorKind::Network, format!("cannot reach {}", spec.name))
                .hint("check your network connection and try again")
                .cause(e.without_url())
        };
        let response = request.send().await.map_err(network)?;
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

/// The reply as the window shows it: the headers worth seeing, the body. An API that echoes
/// the request (a debugging endpoint, an error that quotes the header) would hand the window
/// the account's tokens: every occurrence is replaced before the reply leaves Rust.
fn shown(reply: WhoAmIReply, tokens: &TokenSet) -> ProbeResult {
    let secrets: Vec<&str> = [
        Some(&tokens.access_token),
        tokens.refresh_token.as_ref(),
        tokens.id_token.as_ref(),
    ]
    .into_iter()
    .flatten()
    .map(|t| t.expose())
    .filter(|t| !t.is_empty())
    .collect();
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
    }
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

    #[test]
    fn a_reply_that_echoes_the_tokens_reaches_the_window_without_them() {
        let tokens = TokenSet {
            access_token: SecretString::new("gho_access123"),
            refresh_token: Some(SecretString::new("ghr_refresh456")),
            id_token: None,
            expires_at_ms: None,
            obtained_at_ms: 0,
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
