//! Background account changes (the refresh scheduler's) reach the person two ways: the window's
//! list, over the channel the UI hands to `watch_accounts` (a channel needs no event permission,
//! which the webview deliberately lacks), and a desktop notification: for an account that needs
//! reconnecting, a sign-in that ends within 7 days or 1 day, and refreshing that fails or heals
//! (the scheduler gives each once).

use std::sync::{Arc, Mutex};

use ca_core::{AccountUpdate, Engine};
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_notification::NotificationExt;
use tokio::sync::broadcast::error::RecvError;

/// The window's current channel (a reload replaces it).
#[derive(Default)]
pub struct Watcher(Mutex<Option<Channel<AccountUpdate>>>);

impl Watcher {
    pub fn set(&self, channel: Channel<AccountUpdate>) {
        *self.0.lock().expect("watcher poisoned") = Some(channel);
    }

    /// The window is gone (the app went to the background).
    pub fn clear(&self) {
        self.0.lock().expect("watcher poisoned").take();
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
            if let Some((title, body)) = notice_text(&update) {
                tracing::info!(account = %update.account().id, %title, "notice");
                notify(&app, title, body);
            }
            let resident = app
                .state::<Arc<crate::resident::Resident<R>>>()
                .inner()
                .clone();
            resident.refresh_menu(&app).await;
        }
    });
}

/// The desktop notification an update raises, if any: (title, body). Notification servers read
/// the body as markup, so names from a provider are escaped there.
fn notice_text(update: &AccountUpdate) -> Option<(String, String)> {
    use ca_core::text::{for_notification as markup, for_terminal as plain};
    let who = |a: &ca_core::Account| {
        (
            plain(&a.provider_name).into_owned(),
            markup(&a.provider_name),
            markup(&a.display_name),
        )
    };
    Some(match update {
        AccountUpdate::NeedsReconnect(a) => {
            let (provider, provider_m, name) = who(a);
            (
                format!("Reconnect {provider}"),
                format!("{provider_m} no longer accepts the saved sign-in for {name}. Open Connected Accounts and choose Reconnect."),
            )
        }
        AccountUpdate::SignInEnding(a) => {
            let (provider, _, name) = who(a);
            let (days, day) = ca_core::health::ending_words(
                a.sign_in_ends_at.as_deref()?,
                ca_core::db::now_ms(),
            )?;
            let when = if days <= 1 {
                "tomorrow".to_owned()
            } else {
                format!("in {days} days")
            };
            (
                format!("Your {provider} sign-in ends {when}"),
                format!(
                    "{name} stays signed in until {day}. Reconnect before then to keep it working."
                ),
            )
        }
        AccountUpdate::Failing(a) => {
            let (provider, provider_m, name) = who(a);
            (
                format!("{provider} sign-in is not refreshing"),
                format!("Connected Accounts cannot refresh {name} at {provider_m}, so programs get no working token. It keeps trying and says when it works again."),
            )
        }
        AccountUpdate::Recovered(a) => {
            let (provider, _, name) = who(a);
            (
                format!("{provider} sign-in works again"),
                format!("{name} refreshes again."),
            )
        }
        AccountUpdate::Refreshed(_) | AccountUpdate::Failed(_) => return None,
    })
}

pub fn notify<R: Runtime>(app: &AppHandle<R>, title: String, body: String) {
    let shown = app.notification().builder().title(title).body(body).show();
    if let Err(e) = shown {
        // No notification service (a bare session): the window's list still shows the state.
        tracing::warn!(error = %e, "could not show a desktop notification");
    }
}
