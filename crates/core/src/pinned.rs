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

use crate::account::{self, AccountRow, AccountStatus};
use crate::audit::AuditKind;
use crate::endpoints::{moved, Endpoints};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::model::Spec;

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
