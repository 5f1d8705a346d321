//! Resident mode: the app keeps running, and refreshing, with its window closed, and is found again
//! through its tray item. Offered only where the desktop shows tray items (on Linux, a registered
//! StatusNotifierItem host): an app hidden where nobody can reach it would be worse than one that
//! quits. Closing the window destroys it, so a resident app holds no web view (nor its memory and
//! timers); opening builds it again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ca_core::prefs::{AppNotice, SettingsView};
use ca_core::{Account, AccountStatus, CloseAction, Engine};
use tauri::ipc::Channel;
use tauri::menu::{CheckMenuItem, Menu, MenuEvent, MenuItem, PredefinedMenuItem};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Manager, Runtime};

const OPEN: &str = "open";
const PAUSE: &str = "pause";
const QUIT: &str = "quit";
const ACCOUNT: &str = "account:";

/// The resident state of the one process.
pub struct Resident<R: Runtime> {
    tray: Mutex<Option<TrayIcon<R>>>,
    /// What the tray menu shows now.
    shown: Mutex<Option<Entries>>,
    /// Held while the tray item is built (two closes in a row must not make two).
    building: tokio::sync::Mutex<()>,
    /// Set by Quit: from then on a close request is let through.
    quitting: AtomicBool,
    /// The page's channel for the close question (a reload replaces it).
    page: Mutex<Option<Channel<AppNotice>>>,
}

impl<R: Runtime> Default for Resident<R> {
    fn default() -> Self {
        Self {
            tray: Mutex::new(None),
            shown: Mutex::new(None),
            building: tokio::sync::Mutex::new(()),
            quitting: AtomicBool::new(false),
            page: Mutex::new(None),
        }
    }
}

/// Whether the desktop shows tray items. On Linux: a StatusNotifierItem host is registered with
/// the watcher (stock GNOME has none without the AppIndicator extension). Asked each time: a
/// panel can come and go.
pub async fn tray_available() -> bool {
    #[cfg(target_os = "linux")]
    {
        let asked = tokio::time::timeout(Duration::from_secs(2), async {
            let bus = zbus::Connection::session().await?;
            // One property, read once: no cache (it would watch the name and log its absence).
            let watcher = zbus::proxy::Builder::<zbus::Proxy>::new(&bus)
                .destination("org.kde.StatusNotifierWatcher")?
                .path("/StatusNotifierWatcher")?
                .interface("org.kde.StatusNotifierWatcher")?
                .cache_properties(zbus::proxy::CacheProperties::No)
                .build()
                .await?;
            watcher
                .get_property::<bool>("IsStatusNotifierHostRegistered")
                .await
        })
        .await;
        match asked {
            Ok(Ok(registered)) => registered,
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "no StatusNotifierItem host");
                false
            }
            Err(_) => {
                tracing::warn!("the StatusNotifierWatcher did not answer within 2 s");
                false
            }
        }
    }
    // Windows' notification area and macOS's menu bar are always there.
    #[cfg(not(target_os = "linux"))]
    {
        true
    }
}

pub async fn settings_view(engine: &Engine) -> ca_core::Result<SettingsView> {
    Ok(SettingsView {
        settings: engine.app_settings().await?,
        can_keep_running: tray_available().await,
        start_at_login: engine.autostart().map(|entry| entry.is_enabled()),
    })
}

impl<R: Runtime> Resident<R> {
    pub fn set_page(&self, channel: Channel<AppNotice>) {
        *self.page.lock().expect("resident poisoned") = Some(channel);
    }

    /// The window's close button (or the desktop closing it). Let through only when quitting;
    /// otherwise decided off the event loop, from the setting and the desktop.
    pub fn close_requested(self: &Arc<Self>, app: &AppHandle<R>, api: &tauri::CloseRequestApi) {
        let quitting = self.quitting.load(Ordering::SeqCst);
        tracing::info!(quitting, "close requested");
        if quitting {
            return;
        }
        api.prevent_close();
        let (resident, app) = (self.clone(), app.clone());
        tauri::async_runtime::spawn(async move { resident.decide_close(&app).await });
    }

    async fn decide_close(self: Arc<Self>, app: &AppHandle<R>) {
        let engine = app.state::<Arc<Engine>>().inner().clone();
        let action = match engine.app_settings().await {
            Ok(s) => s.close_action,
            Err(e) => {
                tracing::warn!(error = %e.detailed(), "could not read the settings; closing quits");
                CloseAction::Quit
            }
        };
        let tray = tray_available().await;
        tracing::info!(?action, tray, "the window was asked to close");
        if action == CloseAction::Quit {
            return self.quit(app);
        }
        if !tray {
            // Said once, by the page, which then quits.
            if engine.claim_told_no_tray().await.unwrap_or(false)
                && self.tell_page(AppNotice::ClosingQuits)
            {
                return;
            }
            return self.quit(app);
        }
        match action {
            CloseAction::KeepRunning => self.to_background(app).await,
            // A page that cannot ask (not loaded, or broken) must not trap the person.
            _ if !self.tell_page(AppNotice::CloseAsked) => self.quit(app),
            _ => {}
        }
    }

    fn tell_page(&self, notice: AppNotice) -> bool {
        tracing::info!(?notice, "asking the page");
        match &*self.page.lock().expect("resident poisoned") {
            Some(page) => page.send(notice).is_ok(),
            None => false,
        }
    }

    /// The page's answer to the close question, which becomes the setting.
    pub async fn answer_close(self: Arc<Self>, app: &AppHandle<R>, keep_running: bool) {
        let engine = app.state::<Arc<Engine>>().inner().clone();
        let action = if keep_running {
            CloseAction::KeepRunning
        } else {
            CloseAction::Quit
        };
        if let Err(e) = engine.set_close_action(action).await {
            tracing::warn!(error = %e.detailed(), "could not keep the close setting");
        }
        if keep_running && tray_available().await {
            self.to_background(app).await;
        } else {
            self.quit(app);
        }
    }

    /// Into the tray: the tray item first (so the app is never unreachable), then the window goes.
    async fn to_background(&self, app: &AppHandle<R>) {
        if let Err(e) = self.ensure_tray(app).await {
            tracing::warn!(error = %e, "could not show the tray item; quitting instead");
            return self.quit(app);
        }
        self.page.lock().expect("resident poisoned").take();
        app.state::<Arc<crate::updates::Watcher>>().clear();
        // Its size and place, for when it opens again.
        app.state::<Arc<crate::window_memory::WindowMemory>>()
            .save();
        if let Some(window) = app.get_webview_window("main") {
            if let Err(e) = window.destroy() {
                tracing::warn!(error = %e, "could not close the window");
            }
        }
        tracing::info!("running in the background");
    }

    /// A resident start (`--resident`, as at login): the tray item, no window.
    pub async fn start_resident(&self, app: &AppHandle<R>) {
        if let Err(e) = self.ensure_tray(app).await {
            tracing::warn!(error = %e, "could not show the tray item; opening the window");
            crate::open_window(app);
        }
    }

    /// Whether the process must stay when its last window goes (the tray item keeps it).
    pub fn keeps_running(&self) -> bool {
        !self.quitting.load(Ordering::SeqCst) && self.tray().is_some()
    }

    /// The tray item, if shown. Cloned out: its calls wait for the main thread, which must never
    /// wait for this lock in turn.
    fn tray(&self) -> Option<TrayIcon<R>> {
        self.tray.lock().expect("resident poisoned").clone()
    }

    pub fn quit(&self, app: &AppHandle<R>) {
        self.quitting.store(true, Ordering::SeqCst);
        app.exit(0);
    }

    async fn ensure_tray(&self, app: &AppHandle<R>) -> tauri::Result<()> {
        let _building = self.building.lock().await;
        let entries = Entries::read(app).await;
        let menu = entries.menu(app)?;
        *self.shown.lock().expect("resident poisoned") = Some(entries);
        if let Some(tray) = self.tray() {
            return tray.set_menu(Some(menu));
        }
        let mut builder = TrayIconBuilder::with_id("main")
            .tooltip("Connected Accounts")
            .menu(&menu)
            .on_menu_event(on_menu_event::<R>);
        if let Some(icon) = app.default_window_icon() {
            builder = builder.icon(icon.clone());
        }
        let built = builder.build(app)?;
        *self.tray.lock().expect("resident poisoned") = Some(built);
        Ok(())
    }

    /// The menu again after a background change, if what it shows changed: a refresh that keeps
    /// an account "connected" (most of them) rebuilds nothing on the main thread.
    pub async fn refresh_menu(&self, app: &AppHandle<R>) {
        let Some(tray) = self.tray() else { return };
        let entries = Entries::read(app).await;
        {
            let mut shown = self.shown.lock().expect("resident poisoned");
            if shown.as_ref() == Some(&entries) {
                return;
            }
            *shown = Some(entries.clone());
        }
        if let Err(e) = entries.menu(app).and_then(|m| tray.set_menu(Some(m))) {
            tracing::warn!(error = %e, "could not update the tray menu");
        }
    }
}

fn on_menu_event<R: Runtime>(app: &AppHandle<R>, event: MenuEvent) {
    let id = event.id().as_ref();
    let resident = app.state::<Arc<Resident<R>>>().inner().clone();
    match id {
        QUIT => resident.quit(app),
        PAUSE => {
            let app = app.clone();
            tauri::async_runtime::spawn(async move {
                let engine = app.state::<Arc<Engine>>().inner().clone();
                let paused = engine.app_settings().await.map(|s| s.refresh_paused);
                if let Ok(paused) = paused {
                    if let Err(e) = engine.set_refresh_paused(!paused).await {
                        tracing::warn!(error = %e.detailed(), "could not pause refresh");
                    }
                }
                resident.refresh_menu(&app).await;
            });
        }
        _ if id == OPEN || id.starts_with(ACCOUNT) => crate::open_window(app),
        _ => {}
    }
}

/// What the tray menu shows: each account (id, label) and whether refresh is paused.
#[derive(Clone, PartialEq, Eq)]
struct Entries {
    accounts: Vec<(String, String)>,
    paused: bool,
}

impl Entries {
    async fn read<R: Runtime>(app: &AppHandle<R>) -> Self {
        let engine = app.state::<Arc<Engine>>().inner().clone();
        let accounts = engine.accounts().await.unwrap_or_else(|e| {
            tracing::warn!(error = %e.detailed(), "the tray menu lists no accounts");
            Vec::new()
        });
        let paused = engine
            .app_settings()
            .await
            .map(|s| s.refresh_paused)
            .unwrap_or(false);
        Self {
            accounts: accounts
                .iter()
                .map(|a| (format!("{ACCOUNT}{}", a.id), account_label(a)))
                .collect(),
            paused,
        }
    }

    /// Open; each account with its status (choosing one opens the window); pause; Quit.
    fn menu<R: Runtime>(&self, app: &AppHandle<R>) -> tauri::Result<Menu<R>> {
        let item = |id: &str, text: &str, enabled: bool| {
            MenuItem::with_id(app, id, text, enabled, None::<&str>)
        };
        let menu = Menu::new(app)?;
        menu.append(&item(OPEN, "Open Connected Accounts", true)?)?;
        menu.append(&PredefinedMenuItem::separator(app)?)?;
        if self.accounts.is_empty() {
            menu.append(&item("none", "No accounts", false)?)?;
        }
        for (id, label) in &self.accounts {
            menu.append(&item(id, label, true)?)?;
        }
        menu.append(&PredefinedMenuItem::separator(app)?)?;
        let pause = "Pause automatic refresh";
        menu.append(&CheckMenuItem::with_id(
            app,
            PAUSE,
            pause,
            true,
            self.paused,
            None::<&str>,
        )?)?;
        menu.append(&item(QUIT, "Quit Connected Accounts", true)?)?;
        Ok(menu)
    }
}

/// "GitHub: alice — connected". Names come from providers: the menu reads `&` as a mnemonic mark,
/// so a literal one is doubled, and control characters are dropped.
pub fn account_label(account: &Account) -> String {
    let status = match account.status {
        AccountStatus::Connected | AccountStatus::Expiring => "connected",
        AccountStatus::Offline => "offline",
        AccountStatus::NeedsReconnect => "reconnect needed",
        AccountStatus::Error => "not refreshing",
        AccountStatus::Connecting => "connecting",
        AccountStatus::Refreshing => "refreshing",
        AccountStatus::Disconnecting => "disconnecting",
    };
    let text = format!(
        "{}: {} — {status}",
        ca_core::text::for_terminal(&account.provider_name),
        ca_core::text::for_terminal(&account.display_name)
    );
    text.replace('&', "&&")
}
