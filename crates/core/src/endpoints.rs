//! The servers an account was connected at, and whether a provider's current endpoints moved
//! away from them (see [`crate::pinned`] for how the engine uses this).

use serde::{Deserialize, Serialize};
use url::Url;

use crate::catalog::Revocation;
use crate::model::Spec;

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
