//! Background account changes (the refresh scheduler's) reach the person two ways: the window's
//! list, over the channel the UI hands to `watch_accounts` (a channel needs no event permission,
//! which the webview deliberately lacks), and, for an account that needs reconnecting, a desktop
//! notification.

use std::sync::{Arc, Mutex};

use ca_core::{AccountUpdate, Engine};
use tauri::ipc::Channel;
use tauri::{AppHandle, Runtime};
use tauri_plugin_notification::NotificationExt;
use tokio::sync::broadcast::error::RecvError;

/// The window's current channel (a reload replaces it).
#[derive(Default)]
pub struct Watcher(Mutex<Option<Channel<AccountUpdate>>>);

impl Watcher {
    pub fn set(&self, channel: Channel<AccountUpdate>) {
        *self.0.lock().expect("watcher poisoned") = Some(channel);
    }

    fn send(&self, update: &AccountUpdate) {
        if let Some(channel) = &*self.0.lock().expect("watcher poisoned") {
            if let Err(e) = channel.send(update.clone()) {
                tracing::warn!(error = %e, "could not update the window's list");
            }
        }
    }
}

/// Forwards every background change until the app ends.
pub fn forward<R: Runtime>(app: AppHandle<R>, engine: &Engine, watcher: Arc<Watcher>) {
    let mut updates = engine.subscribe();
    tauri::async_runtime::spawn(async move {
        loop {
            let update = match updates.recv().await {
                Ok(update) => update,
                // Missed some: the next update (or the next list fetch) carries the current rows.
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => break,
            };
            watcher.send(&update);
            if let AccountUpdate::NeedsReconnect(account) = &update {
                notify_reconnect(&app, account);
            }
        }
    });
}

fn notify_reconnect<R: Runtime>(app: &AppHandle<R>, account: &ca_core::Account) {
    let shown = app
        .notification()
        .builder()
        .title(format!(
            "Reconnect {}",
            ca_core::text::for_terminal(&account.provider_name)
        ))
        // Notification servers read the body as markup: names from a provider are escaped.
        .body(format!(
            "{} no longer accepts the saved sign-in for {}. Open Connected Accounts and choose Reconnect.",
            ca_core::text::for_notification(&account.provider_name),
            ca_core::text::for_notification(&account.display_name)
        ))
        .show();
    if let Err(e) = shown {
        // No notification service (a bare session): the window's list still shows the state.
        tracing::warn!(error = %e, account = %account.id, "could not show a desktop notification");
    }
}
