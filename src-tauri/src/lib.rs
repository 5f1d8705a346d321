//! The window app: a Tauri shell over the core engine. It builds the engine (metadata only, no
//! keychain access), registers the commands and shows the window.

mod commands;
mod error;

use std::sync::Arc;

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

    tauri::Builder::default()
        .manage(Arc::new(engine))
        .invoke_handler(tauri::generate_handler![
            commands::list_providers,
            commands::add_provider,
            commands::list_accounts,
            commands::connect_begin,
            commands::connect_finish,
            commands::connect_cancel,
            commands::refresh_account,
            commands::test_account,
            commands::disconnect_account,
            commands::recover_interrupted,
            commands::audit_log,
            commands::configure_provider,
        ])
        .run(tauri::generate_context!())
        .expect("error while running Connected Accounts");
}
