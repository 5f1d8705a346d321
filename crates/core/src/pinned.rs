//! An account's tokens go only where they went when it connected.
//!
//! Each account records the endpoint set it was connected with (issuer, token, revocation and
//! user endpoints: GitHub's and Google's user endpoints are on other hosts than their token
//! endpoints, so one origin is not enough). Before any of its tokens is sent, the provider's
//! current endpoints are compared with that set, origin by origin. A provider re-pointed under
//! the account (a setting such as GitLab's `base`, a tenant, an app upgrade that changed a
//! built-in profile) makes the account "needs reconnect", naming both servers; nothing of it is
//! sent to the new one. Disconnecting it still revokes at the server it was connected to.
//!
//! An account connected by a version that did not record its set records the provider's current
//! one the first time it is used (trust on first use).

use serde::{Deserialize, Serialize};
use url::Url;

use crate::account::{self, AccountRow, AccountStatus};
use crate::audit::AuditKind;
use crate::catalog::Revocation;
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::spec::Spec;

/// Where an account's tokens may go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoints {
    pub issuer: Option<String>,
    pub token: String,
    pub revocation: Option<String>,
    pub user: Option<String>,
}

impl Endpoints {
    pub fn of(spec: &Spec) -> Self {
        Self {
            issuer: spec.issuer.clone(),
            token: spec.token_endpoint.clone(),
            revocation: revocation_url(&spec.revocation).cloned(),
            user: spec.whoami.as_ref().map(|w| w.url.clone()),
        }
    }

    fn all(&self) -> impl Iterator<Item = &String> {
        [&self.issuer, &self.revocation, &self.user]
            .into_iter()
            .flatten()
            .chain(std::iter::once(&self.token))
    }

    /// The server a person would recognise: the issuer's origin, else the token endpoint's.
    fn server(&self) -> String {
        origin(self.issuer.as_deref().unwrap_or(&self.token))
    }
}

fn revocation_url(r: &Revocation) -> Option<&String> {
    match r {
        Revocation::Rfc7009 { url }
        | Revocation::GithubTokenDelete { url }
        | Revocation::BearerSelf { url, .. } => Some(url),
        Revocation::None { .. } => None,
    }
}

fn origin(url: &str) -> String {
    Url::parse(url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|_| url.to_string())
}

/// Whether `now` sends anything to an origin `then` did not (each endpoint must stay at the
/// origin it had; one that is new must be at an origin the set already had): the first such
/// change, as (the server it was, the server it is).
pub fn moved(then: &Endpoints, now: &Endpoints) -> Option<(String, String)> {
    let known: Vec<String> = then.all().map(|u| origin(u)).collect();
    let pairs = [
        (then.issuer.as_ref(), now.issuer.as_ref()),
        (Some(&then.token), Some(&now.token)),
        (then.revocation.as_ref(), now.revocation.as_ref()),
        (then.user.as_ref(), now.user.as_ref()),
    ];
    pairs.into_iter().find_map(|pair| match pair {
        (Some(a), Some(b)) if origin(a) != origin(b) => Some((origin(a), origin(b))),
        (None, Some(b)) if !known.contains(&origin(b)) => Some((then.server(), origin(b))),
        _ => None,
    })
}

impl Spec {
    /// This spec with an account's recorded endpoints in place of the current ones.
    pub fn pinned_to(&self, e: &Endpoints) -> Spec {
        let mut s = self.clone();
        s.issuer = e.issuer.clone();
        s.token_endpoint = e.token.clone();
        if let (Some(url), Some(recorded)) = (
            match &mut s.revocation {
                Revocation::Rfc7009 { url }
                | Revocation::GithubTokenDelete { url }
                | Revocation::BearerSelf { url, .. } => Some(url),
                Revocation::None { .. } => None,
            },
            &e.revocation,
        ) {
            *url = recorded.clone();
        }
        if let (Some(w), Some(user)) = (s.whoami.as_mut(), &e.user) {
            w.url = user.clone();
        }
        s
    }
}

/// How an account's provider stands against what the account was connected with.
pub(crate) enum Pinned {
    /// The same servers: use this spec.
    Same(Box<Spec>),
    /// Re-pointed: `recorded` is the provider as the account knew it (for revoking there).
    Moved {
        recorded: Box<Spec>,
        from: String,
        to: String,
    },
}

impl Engine {
    /// The provider of `row` as its tokens may use it (see the module's comment).
    pub(crate) async fn pinned_spec(&self, row: &AccountRow) -> Result<Pinned> {
        let spec = self.spec(&row.provider_id).await?;
        let now = Endpoints::of(&spec);
        let recorded = row
            .endpoints
            .as_deref()
            .and_then(|j| serde_json::from_str::<Endpoints>(j).ok());
        let Some(then) = recorded else {
            // Connected before endpoint sets were recorded (or still connecting).
            if row.status() != AccountStatus::Connecting {
                account::set_endpoints(&self.db, &row.id, &now).await?;
            }
            return Ok(Pinned::Same(Box::new(spec)));
        };
        let Some((from, to)) = moved(&then, &now) else {
            if then != now {
                // Same servers, other paths (e.g. a profile update): follow them.
                account::set_endpoints(&self.db, &row.id, &now).await?;
            }
            return Ok(Pinned::Same(Box::new(spec)));
        };
        Ok(Pinned::Moved {
            recorded: Box::new(spec.pinned_to(&then)),
            from,
            to,
        })
    }

    /// The spec for sending `row`'s tokens, or, when its provider moved, the account marked
    /// "needs reconnect" with both servers named and nothing sent.
    pub(crate) async fn spec_for_tokens(&self, row: &AccountRow) -> Result<Spec> {
        match self.pinned_spec(row).await? {
            Pinned::Same(spec) => Ok(*spec),
            Pinned::Moved { recorded, from, to } => {
                let message = format!(
                    "{} now points at {to}, but {} was connected at {from}; its tokens are sent only there",
                    recorded.name, row.display_name
                );
                self.settle(&row.id, AccountStatus::NeedsReconnect, Some(&message))
                    .await;
                self.audit(AuditKind::NeedsReconnect, row, &message).await;
                Err(Error::new(ErrorKind::NeedsReconnect, message).hint(
                    "connect the account again to use the new server (disconnecting it revokes it at the old one), or set the provider back",
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(issuer: &str, token: &str, user: Option<&str>) -> Endpoints {
        Endpoints {
            issuer: Some(issuer.into()),
            token: token.into(),
            revocation: None,
            user: user.map(Into::into),
        }
    }

    #[test]
    fn a_move_is_any_endpoint_at_another_origin() {
        let github = Endpoints {
            issuer: None,
            token: "https://github.com/login/oauth/access_token".into(),
            revocation: Some("https://api.github.com/applications/x/token".into()),
            user: Some("https://api.github.com/user".into()),
        };
        assert_eq!(moved(&github, &github), None);
        let mut paths = github.clone();
        paths.user = Some("https://api.github.com/v2/user".into());
        assert_eq!(moved(&github, &paths), None, "same origins, other paths");
        let mut user_moved = github.clone();
        user_moved.user = Some("https://evil.example/user".into());
        assert_eq!(
            moved(&github, &user_moved),
            Some((
                "https://api.github.com".into(),
                "https://evil.example".into()
            ))
        );
        let a = set("https://gitlab.com", "https://gitlab.com/oauth/token", None);
        let b = set(
            "https://other.example",
            "https://other.example/oauth/token",
            None,
        );
        assert_eq!(
            moved(&a, &b),
            Some(("https://gitlab.com".into(), "https://other.example".into()))
        );
        // A new endpoint is fine at a known origin, a move at a new one.
        let mut with_user = a.clone();
        with_user.user = Some("https://gitlab.com/api/v4/user".into());
        assert_eq!(moved(&a, &with_user), None);
        with_user.user = Some("https://elsewhere.example/api/v4/user".into());
        assert!(moved(&a, &with_user).is_some());
        // Letter case and default ports are one origin.
        let upper = set(
            "https://GitLab.com:443",
            "https://GITLAB.COM/oauth/token",
            None,
        );
        assert_eq!(moved(&a, &upper), None);
    }
}
