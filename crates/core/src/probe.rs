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
use crate::secret::SecretString;

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
        Ok(ProbeResult {
            url: reply.url,
            method: reply.method,
            status: reply.status,
            latency_ms: reply.latency_ms,
            headers: reply
                .headers
                .into_iter()
                .filter(|(name, _)| {
                    SHOWN_HEADERS.contains(&name.as_str()) || name.starts_with("x-ratelimit")
                })
                .collect(),
            body: reply.body,
            truncated: reply.truncated,
        })
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
        let mut request = self
            .http()?
            .request(method.clone(), &w.url)
            .bearer_auth(token.expose())
            .header(reqwest::header::ACCEPT, "application/json");
        for (name, value) in &w.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if let Some(body) = &w.body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
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
            url: w.url.clone(),
            method: method.to_string(),
            status,
            latency_ms,
            headers,
            body,
            truncated,
        })
    }
}
