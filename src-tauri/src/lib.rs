//! The window app: a Tauri shell over the core engine. It builds the engine (metadata only, no
//! keychain access), wires single-instance and deep links, registers the commands, shows the window.

mod commands;
mod deep_link;
mod error;
mod updates;

use std::sync::Arc;

use tauri::Manager;

/// Every command the window may call (build.rs declares the same list for the capability).
pub fn handler<R: tauri::Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static
{
    tauri::generate_handler![
        commands::list_providers,
        commands::add_provider,
        commands::configure_provider,
        commands::list_accounts,
        commands::connect_begin,
        commands::connect_finish,
        commands::connect_cancel,
        commands::device_begin,
        commands::device_finish,
        commands::refresh_account,
        commands::test_account,
        commands::disconnect_account,
        commands::recover_interrupted,
        commands::audit_log,
        commands::watch_accounts,
        commands::forget_all,
        commands::quit_app,
    ]
}

pub fn run() {
    // Opening the engine touches only SQLite; it takes milliseconds and must precede the first
    // command, so it runs before the window is built.
    let engine =
        tauri::async_runtime::block_on(ca_core::Engine::open_from_env()).unwrap_or_else(|e| {
            eprintln!(
                "Connected Accounts cannot start: {}\n{}",
                e.detailed(),
                e.hint.unwrap_or_default()
            );
            std::process::exit(1);
        });
    let _log = ca_core::logging::init(engine.paths(), "app");
    tracing::info!(data = %engine.paths().data_dir.display(), "starting the window");
    let engine = Arc::new(engine);
    let watcher = Arc::new(updates::Watcher::default());

    tauri::Builder::default()
        // First: a second launch (the desktop handing over a sign-in URL) is forwarded to this
        // instance, whose deep-link handler receives the URL; the second process exits.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.set_focus();
            }
        }))
        .plugin(tauri_plugin_deep_link::init())
        // Used from Rust only: no capability grants the webview its commands.
        .plugin(tauri_plugin_notification::init())
        .setup({
            let (engine, watcher) = (engine.clone(), watcher.clone());
            move |app| {
                deep_link::wire(app, engine.clone());
                updates::forward(app.handle().clone(), &engine, watcher);
                // Refresh ahead of expiry while the window runs (metadata only until one is due).
                tauri::async_runtime::spawn(engine.run_scheduler());
                Ok(())
            }
        })
        .manage(engine)
        .manage(watcher)
        .invoke_handler(handler())
        .run(tauri::generate_context!())
        .expect("error while running Connected Accounts");
}
