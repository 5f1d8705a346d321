//! What changed in the background, for whoever watches: the window's rows and notifications, and
//! the refresh scheduler's timer. Carries accounts' metadata only, never a token.

use serde::Serialize;
use tokio::sync::{broadcast, Notify};
use ts_rs::TS;

use crate::account::Account;

/// An account that changed in the background (the window updates its row; `needs_reconnect`
/// also raises a desktop notification).
#[derive(Debug, Clone, Serialize, TS)]
#[serde(tag = "kind", content = "account", rename_all = "snake_case")]
pub enum AccountUpdate {
    Refreshed(Account),
    NeedsReconnect(Account),
    Failed(Account),
    /// Notices (each raises a desktop notification once): the sign-in ends within 7 days or
    /// 1 day (`sign_in_ends_at` says when); refreshing fails; it works again.
    SignInEnding(Account),
    Failing(Account),
    Recovered(Account),
}

impl AccountUpdate {
    pub fn account(&self) -> &Account {
        match self {
            Self::Refreshed(a)
            | Self::NeedsReconnect(a)
            | Self::Failed(a)
            | Self::SignInEnding(a)
            | Self::Failing(a)
            | Self::Recovered(a) => a,
        }
    }
}

/// The engine's two signals: "the accounts changed" (wakes the scheduler to recompute its timer)
/// and the stream of background updates.
pub struct Events {
    changed: Notify,
    updates: broadcast::Sender<AccountUpdate>,
}

impl Default for Events {
    fn default() -> Self {
        Self {
            changed: Notify::new(),
            updates: broadcast::channel(64).0,
        }
    }
}

impl Events {
    /// An account was added, refreshed or removed.
    pub fn accounts_changed(&self) {
        self.changed.notify_one();
    }

    /// Resolves at the next [`Events::accounts_changed`] (or at once, if one came since the last wait).
    pub async fn changed(&self) {
        self.changed.notified().await;
    }

    /// Publishes a background change. Nobody listening (no window, no watcher) is not an error.
    pub fn publish(&self, update: AccountUpdate) {
        let _ = self.updates.send(update);
    }

    /// Background changes as they happen (a receiver that falls behind skips the oldest; it can
    /// re-read the list).
    pub fn subscribe(&self) -> broadcast::Receiver<AccountUpdate> {
        self.updates.subscribe()
    }
}
