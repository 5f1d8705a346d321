//! The test call: the provider's "who am I" endpoint (userinfo for OpenID providers), run in Rust
//! with the account's token; the result goes back without the token.

use std::time::Instant;

use serde::Serialize;
use ts_rs::TS;

use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};

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
    /// The JSON body, or `{"text": …}` when it is not JSON.
    pub body: serde_json::Value,
}

impl Engine {
    /// Calls the account's user endpoint (refreshing first if the token is stale).
    pub async fn test_account(&self, query: &str) -> Result<ProbeResult> {
        let row = self.row(query).await?;
        let provider = self.provider(&row.provider_id).await?;
        let url = provider.userinfo_endpoint.clone().ok_or_else(|| {
            Error::new(
                ErrorKind::Provider,
                format!("{} has no user endpoint to test against", provider.name),
            )
            .hint("add the provider's userinfo URL, or test by using the account in an app")
        })?;
        let (_, tokens) = self.fresh_tokens(&row.id).await?;
        let started = Instant::now();
        let response = self
            .http
            .get(&url)
            .bearer_auth(tokens.access_token.expose())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| {
                Error::new(
                    ErrorKind::Network,
                    format!("cannot reach {}", provider.name),
                )
                .hint("check your network connection and try again")
                .cause(e.without_url())
            })?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter(|(name, _)| {
                SHOWN_HEADERS.contains(&name.as_str()) || name.as_str().starts_with("x-ratelimit")
            })
            .map(|(n, v)| {
                (
                    n.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let bytes = response.bytes().await.map_err(|e| {
            Error::new(
                ErrorKind::Network,
                format!("{} stopped answering", provider.name),
            )
            .cause(e.without_url())
        })?;
        let latency_ms = started.elapsed().as_millis().min(u32::MAX as u128) as u32;
        let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            let text = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_BODY)]).into_owned();
            serde_json::json!({ "text": text })
        });
        Ok(ProbeResult {
            url,
            method: "GET".into(),
            status,
            latency_ms,
            headers,
            body,
        })
    }
}
