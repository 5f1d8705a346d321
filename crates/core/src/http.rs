//! The HTTP client for every provider call: rustls with the OS trust store, timeouts, proxies from
//! the environment, and no redirects (token, revocation and discovery calls must not be steered).

use std::time::Duration;

use crate::error::{Error, Result};

/// Overrides the 30 s limit on each provider request (e.g. for slow networks).
pub const TIMEOUT_ENV: &str = "CONNECTED_ACCOUNTS_HTTP_TIMEOUT_SECS";

pub fn client() -> Result<reqwest::Client> {
    let timeout = std::env::var(TIMEOUT_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|s| *s > 0)
        .unwrap_or(30);
    client_with(Duration::from_secs(timeout))
}

pub fn client_with(timeout: Duration) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .timeout(timeout)
        .user_agent(concat!("connected-accounts/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::internal("cannot set up the HTTP client").cause(e))
}

/// A failed request in the user's words; an untrusted certificate gets its own advice.
pub fn request_failed(e: reqwest::Error, target: &str) -> Error {
    let mut chain = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(&e);
    while let Some(s) = source {
        chain.push_str(&s.to_string().to_lowercase());
        chain.push(' ');
        source = s.source();
    }
    let err = if chain.contains("certificate")
        || chain.contains("unknownissuer")
        || chain.contains("invalid peer")
    {
        Error::new(
            crate::error::ErrorKind::Network,
            format!("the certificate of {target} is not trusted"),
        )
        .hint(
            "if it comes from your organisation's own CA, add that CA to the system store \
             (sudo cp ca.crt /usr/local/share/ca-certificates/ && sudo update-ca-certificates) \
             or point SSL_CERT_FILE at it",
        )
    } else {
        Error::new(crate::error::ErrorKind::Network, format!("cannot reach {target}"))
            .hint("check the address and your network connection (and HTTPS_PROXY, if you use a proxy), then try again")
    };
    err.cause(e.without_url())
}

/// The most of any provider reply we read (token, device, keys, user endpoint, revocation): real
/// ones are a few KB, and a hostile or broken server must not fill the memory.
pub const MAX_REPLY: usize = 1024 * 1024;

/// A reply's body, read while streaming and stopped at `cap` bytes: `(body, cut)`, where `cut`
/// says the server had more (the rest is never read; the connection is dropped).
pub async fn read_capped(
    response: &mut reqwest::Response,
    cap: usize,
) -> std::result::Result<(Vec<u8>, bool), reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = cap - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

/// The error for a reply over [`MAX_REPLY`], from `target` while trying to `doing`.
pub fn too_large(target: &str, doing: &str) -> Error {
    Error::new(
        crate::error::ErrorKind::Provider,
        format!(
            "{target} sent a reply larger than {} MiB while trying to {doing}",
            MAX_REPLY / (1024 * 1024)
        ),
    )
    .hint("nothing was changed; the server is misbehaving, try again later")
}
