//! The window's commands: one-line adapters over the core engine. No OAuth logic lives here.

use std::sync::Arc;

use ca_core::audit::LastRead;
use ca_core::catalog::RedirectKind;
use ca_core::consumer::{Consumer, ReadKind};
use ca_core::engine::{AppInfo, ProviderSettings};
use ca_core::resource::ResourcePlan;
use ca_core::DeviceStarted;
use ca_core::SecretString;
use ca_core::{
    Account, AuditEvent, ConnectStarted, DisconnectOutcome, Engine, NewProvider, ProbeResult,
    ProviderView,
};
use ca_core::{AccountUpdate, ConnectRequest, ForgetReport};
use tauri::ipc::Channel;
use tauri::State;

use ca_core::prefs::{AppNotice, SettingsView};
use ca_core::CloseAction;

use ca_core::approval::{Choice, LiveApproval, Question};

use crate::approvals::Approvals;
use crate::error::CommandResult;
use crate::resident::Resident;
use crate::updates::Watcher;
use crate::window_memory::WindowMemory;

type Core<'a> = State<'a, Arc<Engine>>;

/// Which profile runs (the demo's window offers its server on the first screen).
#[tauri::command]
pub fn app_info(core: Core<'_>) -> AppInfo {
    core.app_info()
}

#[tauri::command]
pub async fn list_providers(core: Core<'_>) -> CommandResult<Vec<ProviderView>> {
    Ok(core.providers().await?)
}

#[tauri::command]
pub async fn add_provider(core: Core<'_>, provider: NewProvider) -> CommandResult<ProviderView> {
    Ok(core.add_provider(provider).await?)
}

#[tauri::command]
pub async fn list_accounts(core: Core<'_>) -> CommandResult<Vec<Account>> {
    Ok(core.accounts().await?)
}

#[tauri::command]
pub async fn connect_begin(
    core: Core<'_>,
    provider_id: String,
    scopes: Option<Vec<String>>,
    redirect: Option<RedirectKind>,
    account: Option<String>,
    bearer: Option<bool>,
) -> CommandResult<ConnectStarted> {
    let request = ConnectRequest::provider(provider_id)
        .scopes(scopes)
        .redirect(redirect)
        .reconnect(account)
        .no_dpop(bearer.unwrap_or(false))
        .open_browser(true);
    Ok(core.connect_begin(request).await?)
}

/// "Add by URL": what the resource at `url` names as its authorization server.
#[tauri::command]
pub async fn plan_resource(core: Core<'_>, url: String) -> CommandResult<ResourcePlan> {
    Ok(core.plan_resource(&url).await?)
}

#[tauri::command]
pub async fn connect_resource_begin(
    core: Core<'_>,
    url: String,
    redirect: Option<RedirectKind>,
    confirmed: bool,
) -> CommandResult<ConnectStarted> {
    Ok(core
        .connect_resource_begin(&url, redirect, confirmed)
        .await?)
}

#[tauri::command]
pub async fn device_begin(
    core: Core<'_>,
    provider_id: String,
    scopes: Option<Vec<String>>,
) -> CommandResult<DeviceStarted> {
    let request = ConnectRequest::provider(provider_id)
        .scopes(scopes)
        .open_browser(true);
    Ok(core.device_begin(request).await?)
}

#[tauri::command]
pub async fn device_finish(core: Core<'_>, flow_id: String) -> CommandResult<Account> {
    Ok(core.device_finish(&flow_id).await?)
}

#[tauri::command]
pub async fn connect_finish(core: Core<'_>, flow_id: String) -> CommandResult<Account> {
    Ok(core.connect_finish(&flow_id).await?)
}

#[tauri::command]
pub fn connect_cancel(core: Core<'_>, flow_id: String) {
    core.connect_cancel(&flow_id);
}

#[tauri::command]
pub async fn refresh_account(core: Core<'_>, account_id: String) -> CommandResult<Account> {
    Ok(core.refresh(&account_id).await?)
}

/// The person's click: the window may loosen a policy as well as tighten it.
#[tauri::command]
pub async fn set_policy(
    core: Core<'_>,
    account_id: String,
    policy: ca_core::Policy,
) -> CommandResult<Account> {
    Ok(core
        .set_policy(&account_id, policy, ca_core::policy::Changer::Person)
        .await?)
}

#[tauri::command]
pub async fn test_account(core: Core<'_>, account_id: String) -> CommandResult<ProbeResult> {
    Ok(core
        .test_account(&account_id, &Consumer::this_process(ReadKind::Test))
        .await?)
}

/// The account page's request box: a GET of a URL on the provider's API with the account's
/// token, which stays in this process; only the response comes back.
#[tauri::command]
pub async fn request_account(
    core: Core<'_>,
    account_id: String,
    url: String,
) -> CommandResult<ProbeResult> {
    Ok(core
        .request_get(&account_id, &url, &Consumer::this_process(ReadKind::Test))
        .await?)
}

#[tauri::command]
pub async fn disconnect_account(
    core: Core<'_>,
    account_id: String,
    confirmed: bool,
) -> CommandResult<DisconnectOutcome> {
    Ok(core.disconnect(&account_id, confirmed).await?)
}

#[tauri::command]
pub async fn recover_interrupted(core: Core<'_>) -> CommandResult<Vec<Account>> {
    Ok(core.recover_interrupted().await?)
}

#[tauri::command]
pub async fn forget_all(
    core: Core<'_>,
    memory: State<'_, Arc<WindowMemory>>,
) -> CommandResult<ForgetReport> {
    let report = core.forget_all().await?;
    // The state folder is gone; the window's size must not bring it back at exit.
    memory.forget();
    Ok(report)
}

/// The page has its first list on screen: the window appears with it, never blank (see lib.rs).
#[tauri::command]
pub fn window_ready<R: tauri::Runtime>(window: tauri::WebviewWindow<R>) {
    crate::show(&window);
}

/// After `forget_all` nothing is left to work with: the window's last button quits.
#[tauri::command]
pub fn quit_app<R: tauri::Runtime>(app: tauri::AppHandle<R>) {
    app.exit(0);
}

/// The UI's channel for background changes (see updates.rs).
#[tauri::command]
pub fn watch_accounts(watcher: State<'_, Arc<Watcher>>, on_update: Channel<AccountUpdate>) {
    watcher.set(on_update);
}

#[tauri::command]
pub async fn audit_log(core: Core<'_>, limit: u32) -> CommandResult<Vec<AuditEvent>> {
    Ok(core.audit_log(limit).await?)
}

/// Each account's latest token read ("Used by git, 3 min ago").
#[tauri::command]
pub async fn last_reads(core: Core<'_>) -> CommandResult<Vec<LastRead>> {
    Ok(core.last_reads().await?)
}

#[tauri::command]
pub async fn configure_provider(
    core: Core<'_>,
    settings: ProviderSettings,
    client_secret: Option<String>,
) -> CommandResult<ProviderView> {
    Ok(core
        .configure_provider(settings, client_secret.map(SecretString::new))
        .await?)
}

/// The app's settings, and whether this desktop lets it keep running with the window closed.
#[tauri::command]
pub async fn app_settings(core: Core<'_>) -> CommandResult<SettingsView> {
    Ok(crate::resident::settings_view(&core).await?)
}

#[tauri::command]
pub async fn set_close_action(core: Core<'_>, action: CloseAction) -> CommandResult<SettingsView> {
    core.set_close_action(action).await?;
    Ok(crate::resident::settings_view(&core).await?)
}

#[tauri::command]
pub async fn set_refresh_paused<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    core: Core<'_>,
    resident: State<'_, Arc<Resident<R>>>,
    paused: bool,
) -> CommandResult<SettingsView> {
    core.set_refresh_paused(paused).await?;
    resident.refresh_menu(&app).await;
    Ok(crate::resident::settings_view(&core).await?)
}

/// Writes or removes the login entry that starts the app resident. Switched on only where the
/// desktop shows tray items: started at login with none, the app would run where nobody sees it.
#[tauri::command]
pub async fn set_start_at_login(core: Core<'_>, on: bool) -> CommandResult<SettingsView> {
    let entry = core.autostart().ok_or_else(|| {
        ca_core::Error::invalid_input(
            "starting at login is not offered here",
            "it is offered for the default profile on Linux desktops",
        )
    })?;
    if on {
        if !crate::resident::tray_available().await {
            return Err(ca_core::Error::invalid_input(
                "this desktop shows no tray icons, so an app started at login could not be found",
                "with a tray (on GNOME, the AppIndicator extension) it can start at login",
            )
            .into());
        }
        entry.enable(&ca_core::autostart::current_exe()?)?;
    } else {
        entry.disable()?;
    }
    tracing::info!(on, entry = %entry.entry_path().display(), "start at login");
    Ok(crate::resident::settings_view(&core).await?)
}

/// The page's channel for what the app asks of it (the close question).
#[tauri::command]
pub fn watch_app<R: tauri::Runtime>(app: tauri::AppHandle<R>, on_notice: Channel<AppNotice>) {
    use tauri::Manager;
    app.state::<Arc<Resident<R>>>().set_page(on_notice);
}

/// The person's answer to "keep running in the background?", kept as the setting.
#[tauri::command]
pub async fn answer_close<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    resident: State<'_, Arc<Resident<R>>>,
    keep_running: bool,
) -> CommandResult<()> {
    resident
        .inner()
        .clone()
        .answer_close(&app, keep_running)
        .await;
    Ok(())
}

/// The page is ready to show approval questions (policy `ask`): every one still open, then each
/// new one as it comes.
#[tauri::command]
pub fn watch_approvals(approvals: State<'_, Arc<Approvals>>, on_question: Channel<Question>) {
    approvals.set_page(on_question);
}

/// The person's answer to an approval question.
#[tauri::command]
pub fn answer_approval(approvals: State<'_, Arc<Approvals>>, id: String, choice: Choice) {
    approvals.answer(&id, choice);
}

/// The approvals in force (for one account, or all).
#[tauri::command]
pub async fn list_approvals(
    approvals: State<'_, Arc<Approvals>>,
    account_id: Option<String>,
) -> CommandResult<Vec<LiveApproval>> {
    match approvals.desk() {
        Some(desk) => Ok(desk.live(account_id.as_deref()).await?),
        None => Ok(Vec::new()),
    }
}

/// Ends an approval: that program is asked again next time.
#[tauri::command]
pub async fn end_approval(
    approvals: State<'_, Arc<Approvals>>,
    id: String,
) -> CommandResult<Vec<LiveApproval>> {
    match approvals.desk() {
        Some(desk) => {
            desk.end(&id).await?;
            Ok(desk.live(None).await?)
        }
        None => Ok(Vec::new()),
    }
}
