//! Finishing or rolling back operations that were interrupted (crash, power loss), from the rows'
//! recorded intents alone. Run after the window's first paint, never during start-up.

use crate::account::{self, Account, AccountStatus};
use crate::audit::AuditKind;
use crate::db::now_ms;
use crate::engine::Engine;
use crate::error::Result;
use crate::revoke::DisconnectOutcome;

impl Engine {
    /// Gives keychain entries written by older versions the tags revoking them needs, in place,
    /// once (the first start after the upgrade; an account without such entries costs nothing).
    async fn tag_keychain_entries(&self) {
        let rows = match account::untagged(&self.db).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %e.detailed(), "could not list untagged keychain entries");
                return;
            }
        };
        for row in rows {
            let spec = match self.pinned_spec(&row).await {
                Ok(crate::pinned::Pinned::Same(spec)) => *spec,
                Ok(crate::pinned::Pinned::Moved { recorded, .. }) => *recorded,
                Err(_) => continue,
            };
            let (k, id, tags) = (
                self.keychain.clone(),
                row.id.clone(),
                crate::engine::keychain_tags(&spec),
            );
            match crate::engine::blocking(move || k.tag(&id, &tags)).await {
                // Tagged, or nothing to tag: no entry (the next sign-in writes a tagged one), or
                // a store without attributes. Either way it is not searched for again.
                Ok(_) => {
                    let _ = account::set_keychain_tagged(&self.db, &row.id).await;
                }
                Err(e) => {
                    tracing::warn!(account = %row.id, error = %e.detailed(), "could not tag a keychain entry");
                }
            }
        }
    }

    /// Settles every row that carries an intent and whose operation no longer runs anywhere
    /// (its lock is free). Returns the accounts afterwards.
    pub async fn recover_interrupted(&self) -> Result<Vec<Account>> {
        self.tag_keychain_entries().await;
        for row in account::with_intent(&self.db).await? {
            // A held lock means the operation is alive (here or in another process).
            let Some(_guard) = self.locks.try_lock(&row.id)? else {
                continue;
            };
            let outcome = match row.status() {
                AccountStatus::Connecting => {
                    // Tokens that reached the keychain belong to no finished account: revoke
                    // them (best effort) so no live grant is left behind, then forget them.
                    if let (Ok(Some(tokens)), Ok(spec)) = (
                        self.read_tokens(&row.id).await,
                        self.spec(&row.provider_id).await,
                    ) {
                        if let Err(e) = self.revoke_at(&spec, &tokens).await {
                            tracing::warn!(account = %row.id, error = %e.detailed(), "could not revoke an interrupted sign-in's tokens");
                        }
                    }
                    if let Err(e) = self.delete_tokens(&row.id).await {
                        tracing::warn!(account = %row.id, error = %e.detailed(), "could not roll back an interrupted sign-in yet");
                        continue;
                    }
                    account::delete(&self.db, &row.id).await?;
                    "an interrupted sign-in was rolled back".to_string()
                }
                AccountStatus::Refreshing => {
                    // The keychain holds the newest token that was saved: the account is usable.
                    self.settle(&row.id, AccountStatus::Connected, None).await;
                    "an interrupted refresh was settled; the newest saved token is kept".to_string()
                }
                // Finished only if the provider revokes; otherwise rolled back for the user to retry.
                AccountStatus::Disconnecting => match self.disconnect_locked(&row, false).await {
                    Ok(DisconnectOutcome::ConfirmationRequired { .. }) => {
                        "an interrupted disconnect could not revoke; the account was kept"
                            .to_string()
                    }
                    Ok(_) => "an interrupted disconnect was finished".to_string(),
                    Err(e) => format!(
                        "an interrupted disconnect could not be finished: {}",
                        e.detailed()
                    ),
                },
                _ => continue,
            };
            self.audit(AuditKind::Recovered, &row, &outcome).await;
            tracing::info!(account = %row.id, "{outcome}");
        }
        let now = now_ms();
        Ok(account::list(&self.db)
            .await?
            .iter()
            .map(|r| r.view(now))
            .collect())
    }
}
