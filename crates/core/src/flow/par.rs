//! Pushed authorization requests (RFC 9126): the authorization request's parameters go to the
//! server in a POST, and the browser's URL carries only `client_id` and the `request_uri` the
//! server gave back. Nothing of the request (no `state`, no `code_challenge`, no redirect) is in a
//! URL that another program could see.
//!
//! A pushed request lives about a minute, so it is pushed when the launcher is fetched, not when
//! the sign-in starts.

use serde::Deserialize;
use url::Url;

use crate::catalog::ClientAuth;
use crate::error::{Error, ErrorKind, Result};
use crate::http::{read_capped, too_large, MAX_REPLY};
use crate::model::Spec;
use crate::secret::SecretString;

/// The longest `request_uri` taken from a server (real ones are under 100 bytes).
const MAX_REQUEST_URI: usize = 2048;

#[derive(Deserialize)]
struct Pushed {
    request_uri: String,
}

#[derive(Deserialize)]
struct Refusal {
    error: String,
    error_description: Option<String>,
}

/// Pushes the request `authorize_url` carries and returns where to send the browser instead.
pub(crate) async fn push(
    http: &reqwest::Client,
    spec: &Spec,
    secret: Option<&SecretString>,
    endpoint: &str,
    authorize_url: &Url,
) -> Result<String> {
    let mut form: Vec<(String, String)> = authorize_url.query_pairs().into_owned().collect();
    let mut request = http.post(endpoint).header("accept", "application/json");
    // The same client authentication as at the token endpoint (RFC 9126 §2).
    match (spec.client_auth, secret) {
        (ClientAuth::SecretBasic, s) => {
            request =
                request.basic_auth(&spec.client_id, Some(s.map(|s| s.expose()).unwrap_or("")));
        }
        (ClientAuth::SecretPost, Some(s)) => {
            form.push(("client_secret".into(), s.expose().to_string()));
        }
        _ => {}
    }
    let unreachable = |e: reqwest::Error| {
        Error::new(
            ErrorKind::Network,
            format!("could not reach {} to start the sign-in", spec.name),
        )
        .hint("check your connection and reload this page")
        .cause(e)
    };
    let mut response = request.form(&form).send().await.map_err(unreachable)?;
    let status = response.status();
    let (body, cut) = read_capped(&mut response, MAX_REPLY)
        .await
        .map_err(unreachable)?;
    if cut {
        return Err(too_large(&spec.name, "start the sign-in"));
    }
    if !status.is_success() {
        let why = serde_json::from_slice::<Refusal>(&body)
            .map(|r| match r.error_description {
                Some(d) => format!("{} ({d})", r.error),
                None => r.error,
            })
            .unwrap_or_else(|_| format!("HTTP {}", status.as_u16()));
        return Err(Error::new(
            ErrorKind::Provider,
            format!("{} refused the pushed sign-in request: {why}", spec.name),
        )
        .hint("try again; if it keeps failing, check the provider's settings"));
    }
    let pushed: Pushed = serde_json::from_slice(&body).map_err(|e| {
        Error::new(
            ErrorKind::Provider,
            format!(
                "{} answered the pushed sign-in request with something unreadable",
                spec.name
            ),
        )
        .hint("try again; if it keeps failing, the server is misbehaving")
        .cause(e)
    })?;
    if pushed.request_uri.is_empty() || pushed.request_uri.len() > MAX_REQUEST_URI {
        return Err(Error::new(
            ErrorKind::Provider,
            format!("{} gave an unusable request_uri", spec.name),
        )
        .hint("try again; if it keeps failing, the server is misbehaving"));
    }
    let mut url = Url::parse(&spec.authorization_endpoint)
        .map_err(|e| Error::internal("authorization endpoint").cause(e))?;
    url.query_pairs_mut()
        .append_pair("client_id", &spec.client_id)
        .append_pair("request_uri", &pushed.request_uri);
    Ok(url.into())
}
