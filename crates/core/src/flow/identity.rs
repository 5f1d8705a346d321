//! Who signed in: the verified ID token (OpenID providers) and the provider's "who am I" call,
//! whose subject must agree with it.

use serde_json::Value;

use crate::account::Identity;
use crate::catalog::{GrantedScopesFrom, Protocol};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::model::Spec;
use crate::token::{split_scopes, Granted};

impl Engine {
    /// The provider's signing keys (JWKS), read with the same size cap as every reply.
    async fn fetch_keys(&self, p: &Spec, url: &str) -> Result<Value> {
        let unreachable = |e: reqwest::Error| {
            Error::new(
                ErrorKind::Network,
                format!("cannot fetch {}'s signing keys", p.name),
            )
            .hint("check your network connection and connect again")
            .cause(e.without_url())
        };
        let mut response = self
            .http()?
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status();
        let (body, cut) = crate::http::read_capped(&mut response, crate::http::MAX_REPLY)
            .await
            .map_err(unreachable)?;
        if cut {
            return Err(crate::http::too_large(&p.name, "send its signing keys"));
        }
        if !status.is_success() {
            return Err(Error::new(
                ErrorKind::Provider,
                format!(
                    "{} did not send its signing keys (HTTP {})",
                    p.name,
                    status.as_u16()
                ),
            )
            .hint("nothing was stored; try connecting again later"));
        }
        serde_json::from_slice(&body).map_err(|e| {
            Error::new(
                ErrorKind::Provider,
                format!("{}'s signing keys cannot be read", p.name),
            )
            .hint("nothing was stored; the provider's key set is malformed")
            .cause(e)
        })
    }
}

/// A JSON value at `pointer` as text (numbers too: GitHub's ids are numbers).
pub fn text_at(body: &Value, pointer: &str) -> Option<String> {
    match body.pointer(pointer)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Engine {
    /// The account's identity, and the granted scopes when the who-am-I reply reports them.
    pub(crate) async fn identify(
        &self,
        p: &Spec,
        granted: &Granted,
        nonce: Option<&crate::secret::SecretString>,
        resource_bound: bool,
        dpop: Option<&crate::dpop::DpopKey>,
    ) -> Result<(Identity, Option<Vec<String>>)> {
        let mut who = Identity {
            subject: String::new(),
            display_name: String::new(),
            email: None,
            email_verified: false,
        };
        if p.protocol == Protocol::Oidc {
            let forged = |what: String| {
                Error::new(
                    ErrorKind::Forged,
                    format!("the ID token from {} is not valid ({what})", p.name),
                )
                .hint("nothing was stored; connect again")
            };
            let raw = granted.id_token.as_deref().ok_or_else(|| {
                Error::new(ErrorKind::Provider, format!("{} sent no ID token", p.name))
                    .hint("check that the provider supports OpenID Connect and the openid scope")
            })?;
            let (Some(issuer), Some(jwks_uri)) = (&p.issuer, &p.jwks_uri) else {
                return Err(Error::internal("an OpenID provider without issuer or keys"));
            };
            let jwks = self.fetch_keys(p, jwks_uri).await?;
            // The code flow sent a nonce and must get it back; the device grant sends none.
            let claims =
                crate::idtoken::verify(raw, &jwks, issuer, &p.client_id, nonce).map_err(forged)?;
            who.email_verified = claims.email.is_some() && claims.email_verified();
            who.subject = claims.sub;
            who.display_name = claims.name.unwrap_or_default();
            who.email = claims.email;
        }
        let mut header_scopes = None;
        // A token for a resource (RFC 8707) is not for the user endpoint: the ID token says who.
        let whoami = p
            .whoami
            .as_ref()
            .filter(|_| !(resource_bound && p.protocol == Protocol::Oidc));
        match whoami {
            Some(w) => {
                let reply = self.call_whoami(p, &granted.access_token, dpop).await?;
                if reply.truncated {
                    return Err(crate::http::too_large(&p.name, "say who signed in"));
                }
                if !(200..300).contains(&reply.status) {
                    return Err(Error::new(
                        ErrorKind::Provider,
                        format!(
                            "{} did not confirm who signed in (HTTP {})",
                            p.name, reply.status
                        ),
                    )
                    .hint("connect again; nothing was stored"));
                }
                let subject = text_at(&reply.body, &w.subject);
                if p.protocol == Protocol::Oidc {
                    if subject.as_deref() != Some(who.subject.as_str()) {
                        return Err(Error::new(
                            ErrorKind::Forged,
                            format!("{} described a different user than its ID token", p.name),
                        )
                        .hint("nothing was stored; connect again"));
                    }
                } else {
                    who.subject = subject.ok_or_else(|| {
                        Error::new(ErrorKind::Provider, format!("{} did not say who signed in", p.name))
                            .hint("connect again; if it keeps failing, the provider's API may have changed")
                    })?;
                }
                if let Some(name) = text_at(&reply.body, &w.display_name) {
                    who.display_name = name;
                }
                if let Some(email) = w.email.as_deref().and_then(|ptr| text_at(&reply.body, ptr)) {
                    let verified = w
                        .email_verified
                        .as_deref()
                        .and_then(|ptr| reply.body.pointer(ptr))
                        .is_some_and(|v| v.as_bool() == Some(true) || v.as_str() == Some("true"));
                    // Another address than the ID token's is verified only if this reply says so.
                    if who.email.as_deref() != Some(email.as_str()) {
                        who.email_verified = false;
                    }
                    who.email_verified |= verified;
                    who.email = Some(email);
                }
                if p.scopes.granted_from == GrantedScopesFrom::Header {
                    header_scopes = reply
                        .headers
                        .iter()
                        .find(|(n, _)| n == "x-oauth-scopes")
                        .map(|(_, v)| split_scopes(v));
                }
            }
            None if p.protocol == Protocol::Oauth2 => {
                return Err(Error::new(
                    ErrorKind::Provider,
                    format!("{} has no way to tell who signed in", p.name),
                )
                .hint("add a userinfo endpoint to the provider"));
            }
            None => {}
        }
        if who.display_name.is_empty() {
            who.display_name = who.email.clone().unwrap_or_else(|| who.subject.clone());
        }
        Ok((who, header_scopes))
    }
}
