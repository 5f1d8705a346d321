// Declares the app's own commands so capabilities can allow exactly them (and nothing else).
const COMMANDS: &[&str] = &[
    "list_providers",
    "add_provider",
    "list_accounts",
    "connect_begin",
    "connect_finish",
    "connect_cancel",
    "refresh_account",
    "test_account",
    "disconnect_account",
    "recover_interrupted",
    "audit_log",
    "configure_provider",
    "device_begin",
    "device_finish",
    "watch_accounts",
    "forget_all",
    "quit_app",
    "window_ready",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .capabilities_path_pattern("./src-tauri/capabilities/**/*")
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri build script failed");
}
