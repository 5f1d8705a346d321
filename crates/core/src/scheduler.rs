//! Automatic refresh while the app runs, window open or resident. One timer, armed for the account
//! due first; woken early when accounts change. Timers are monotonic and stop while the machine
//! sleeps, so a wait never exceeds `MAX_WAIT`: after a resume the schedule is recomputed from
//! wall-clock expiry times within that bound (and `token`/Test always check wall-clock expiry
//! before using a token). At most `CONCURRENT` refreshes run at once. It also keeps idle sign-ins
//! alive and gives the notices of [`crate::health`], from the rows alone.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::account::{self, AccountRow, AccountStatus};
use crate::audit::AuditKind;
use crate::db::now_ms;
use crate::engine::Engine;
use crate::error::ErrorKind;
use crate::events::AccountUpdate;
use crate::health::{self, Notice};

/// Refresh this long before expiry (or at half the token's lifetime, if that is sooner).
pub const LEAD: Duration = Duration::from_secs(5 * 60);
/// The longest single wait. It bounds how late a refresh can be after the machine resumes, and
/// how long an account another process added or refreshed (the command line's `connect`) goes
/// unseen by a resident app: nothing tells this process of those. One read of the rows a minute.
pub const MAX_WAIT: Duration = Duration::from_secs(60);
/// Retry an account that was offline after this long.
pub const OFFLINE_RETRY: Duration = Duration::from_secs(60);
/// Retry an account whose provider failed after this long.
pub const ERROR_RETRY: Duration = Duration::from_secs(5 * 60);
const CONCURRENT: usize = 8;

/// When an account is due, from its row alone (metadata; no keychain read). `None`: never.
pub fn due_at(row: &AccountRow) -> Option<i64> {
    match row.status() {
        AccountStatus::Connected | AccountStatus::Expiring => {
            let access = row.expires_at.map(|expires| {
                // updated_at is when the current token was stored, so this is half its lifetime.
                let half_life = ((expires - row.updated_at) / 2).max(1_000);
                // At least 1 s of half-life: with expiries clamped when read (token.rs), refreshes
                // never run back to back.
                expires - half_life.min(LEAD.as_millis() as i64)
            });
            // A provider that expires unused refresh tokens: use it halfway through.
            [access, health::keep_alive_at(row)]
                .into_iter()
                .flatten()
                .min()
        }
        AccountStatus::Offline => Some(row.updated_at + OFFLINE_RETRY.as_millis() as i64),
        AccountStatus::Error => Some(row.updated_at + ERROR_RETRY.as_millis() as i64),
        _ => None,
    }
}

impl Engine {
    /// Runs until the process ends; what it changes is published to `subscribe`rs.
    pub async fn run_scheduler(self: Arc<Self>) {
        let slots = Arc::new(Semaphore::new(CONCURRENT));
        // Rows already tried in their current version (id → updated_at): an account that is due
        // but cannot be refreshed (no refresh token) is not retried until its row changes.
        let mut attempted: HashMap<String, i64> = HashMap::new();
        loop {
            let rows = match account::list(&self.db).await {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::warn!(error = %e.detailed(), "scheduler could not read the accounts");
                    Vec::new()
                }
            };
            // Paused by the person: notices still come (they need no refresh), refreshes do not.
            let paused = crate::prefs::refresh_paused(&self.db)
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e.detailed(), "scheduler could not read its settings");
                    false
                });
            let now = now_ms();
            let mut tasks = tokio::task::JoinSet::new();
            let mut next: Option<i64> = None;
            attempted.retain(|id, _| rows.iter().any(|r| &r.id == id));
            for row in rows {
                self.give_notice(&row, now).await;
                if let Some(at) = health::next_warning_at(&row, now) {
                    next = Some(next.map_or(at, |n| n.min(at)));
                }
                if paused {
                    continue;
                }
                let Some(due) = due_at(&row) else { continue };
                if attempted.get(&row.id) == Some(&row.updated_at) {
                    continue;
                }
                if due > now {
                    next = Some(next.map_or(due, |n| n.min(due)));
                    continue;
                }
                attempted.insert(row.id.clone(), row.updated_at);
                let (engine, slots) = (self.clone(), slots.clone());
                tasks.spawn(async move {
                    let _slot = slots.acquire_owned().await;
                    if let Some(update) = engine.refresh_due(&row).await {
                        tracing::info!(?update, "background refresh");
                        engine.events.publish(update);
                    }
                });
            }
            let started = !tasks.is_empty();
            while tasks.join_next().await.is_some() {}
            if started {
                continue; // recompute from the rows the refreshes just changed
            }
            let wait = next
                .map(|n| Duration::from_millis((n - now_ms()).max(0) as u64))
                .unwrap_or(MAX_WAIT)
                .min(MAX_WAIT);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.events.changed() => {}
            }
        }
    }

    /// Tells the person what is due about `row` (a sign-in ending, refreshing failing or healed),
    /// once: the row records it first, then the audit log, then the faces hear of it.
    async fn give_notice(&self, row: &AccountRow, now: i64) {
        let Some(notice) = health::notice(row, now) else {
            return;
        };
        match account::claim_notice(&self.db, row, notice, now).await {
            Ok(true) => {}
            Ok(false) => return, // another process gave it
            Err(e) => {
                tracing::warn!(error = %e.detailed(), account = %row.id, "could not record a notice");
                return;
            }
        }
        let (kind, detail) = match notice {
            Notice::SignInEnding(days) => (
                AuditKind::SignInEnding,
                format!("warned {days} day(s) ahead"),
            ),
            Notice::Failing => (
                AuditKind::RefreshFailing,
                row.last_error.clone().unwrap_or_default(),
            ),
            Notice::Recovered => (AuditKind::RefreshRecovered, String::new()),
        };
        self.audit(kind, row, &detail).await;
        let account = row.view(now);
        self.events.publish(match notice {
            Notice::SignInEnding(_) => AccountUpdate::SignInEnding(account),
            Notice::Failing => AccountUpdate::Failing(account),
            Notice::Recovered => AccountUpdate::Recovered(account),
        });
    }

    /// Refreshes one due account, unless someone else (another process) already did.
    async fn refresh_due(&self, row: &AccountRow) -> Option<AccountUpdate> {
        let _guard = self.locks.lock(&row.id).await.ok()?;
        let current = account::find(&self.db, &row.id).await.ok()??;
        if due_at(&current).is_none_or(|due| due > now_ms()) {
            return None;
        }
        let view = |r: AccountRow| r.view(now_ms());
        let tokens = match self.read_tokens(&row.id).await {
            Ok(Some(t)) => t,
            Ok(None) => {
                let _ = self.tokens_or_reconnect(&current).await;
                let after = account::find(&self.db, &row.id).await.ok()??;
                return Some(AccountUpdate::NeedsReconnect(view(after)));
            }
            Err(e) => {
                // Recorded on the row, so it is retried after ERROR_RETRY.
                self.settle(&row.id, AccountStatus::Error, Some(&e.message))
                    .await;
                let after = account::find(&self.db, &row.id).await.ok()??;
                return Some(AccountUpdate::Failed(view(after)));
            }
        };
        tokens.refresh_token.as_ref()?;
        let result = self.refresh_locked(&current, tokens).await;
        let after = view(account::find(&self.db, &row.id).await.ok()??);
        Some(match result {
            Ok(_) => AccountUpdate::Refreshed(after),
            Err(e) if e.kind == ErrorKind::NeedsReconnect => AccountUpdate::NeedsReconnect(after),
            Err(_) => AccountUpdate::Failed(after),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::tests::row;

    #[test]
    fn due_times_come_from_expiry_and_status() {
        let hour = 3_600_000;
        assert_eq!(
            due_at(&row("connected", 0, Some(hour))),
            Some(hour - 300_000),
            "5 min ahead"
        );
        assert_eq!(
            due_at(&row("connected", 0, Some(4_000))),
            Some(2_000),
            "half of a short lifetime"
        );
        assert_eq!(
            due_at(&row("connected", 0, None)),
            None,
            "no expiry, nothing to do"
        );
        assert_eq!(due_at(&row("offline", 10_000, Some(hour))), Some(70_000));
        assert_eq!(due_at(&row("needs_reconnect", 0, Some(hour))), None);
        assert_eq!(due_at(&row("refreshing", 0, Some(hour))), None);
    }

    #[test]
    fn an_idle_sign_in_comes_due_before_its_token_would() {
        let day = 86_400_000;
        let mut r = row("connected", 0, None);
        r.grant_used_at = Some(0);
        r.idle_ends_at = Some(180 * day);
        assert_eq!(
            due_at(&r),
            Some(90 * day),
            "no access expiry: kept alive all the same"
        );
        r.expires_at = Some(3_600_000);
        assert_eq!(due_at(&r), Some(3_300_000), "the sooner of the two");
        r.status = "needs_reconnect".into();
        assert_eq!(due_at(&r), None);
    }
}
