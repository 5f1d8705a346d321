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
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(timeout.min(10)))
        .timeout(Duration::from_secs(timeout))
        .user_agent(concat!("connected-accounts/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::internal("cannot set up the HTTP client").cause(e))
}
