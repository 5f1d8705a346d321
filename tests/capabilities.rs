//! The window's capability, with the app's real config: the main window may call our own commands
//! and nothing else (no plugin command, no undeclared command); the CSP is strict and the
//! prototype frozen. Runs on Tauri's mock runtime, headless.

use std::sync::Arc;

use ca_core::paths::Paths;
use ca_core::secret::Keychain;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, INVOKE_KEY};
use tauri::webview::InvokeRequest;

fn call(
    webview: &tauri::WebviewWindow<tauri::test::MockRuntime>,
    cmd: &str,
) -> Result<String, String> {
    get_ipc_response(
        webview,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(serde_json::json!({ "limit": 5 })),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|body| format!("{body:?}"))
    .map_err(|e| e.to_string())
}

#[test]
fn the_main_window_may_call_only_our_commands() {
    let dir = std::env::temp_dir().join(format!("ca-capabilities-{}", std::process::id()));
    let engine = tauri::async_runtime::block_on(ca_core::Engine::open(
        Paths::rooted(&dir, "connected-accounts-capabilities"),
        // Never touched: the commands called here read only SQLite.
        Keychain::platform("connected-accounts-capabilities"),
    ))
    .unwrap();
    let app = mock_builder()
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_notification::init())
        .manage(Arc::new(engine))
        .invoke_handler(connected_accounts_app::handler())
        .build(tauri::generate_context!())
        .expect("the app builds with its real config and capabilities");
    let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();

    assert!(
        call(&webview, "list_providers").is_ok(),
        "{:?}",
        call(&webview, "list_providers")
    );
    assert!(
        call(&webview, "audit_log").is_ok(),
        "{:?}",
        call(&webview, "audit_log")
    );

    // The plugins serve Rust only: the webview may call none of their commands.
    for command in [
        "plugin:deep-link|get_current",
        "plugin:notification|notify",
        "plugin:notification|is_permission_granted",
    ] {
        let refused = call(&webview, command).unwrap_err();
        assert!(refused.contains("not allowed"), "{command}: {refused}");
    }
    let undeclared = call(&webview, "read_token").unwrap_err();
    assert!(
        undeclared.contains("not allowed") || undeclared.contains("not found"),
        "{undeclared}"
    );
    for core in [
        "plugin:event|listen",
        "plugin:webview|internal_toggle_devtools",
        "plugin:window|close",
    ] {
        let refused = call(&webview, core).unwrap_err();
        assert!(refused.contains("not allowed"), "{core}: {refused}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

include!("../src-tauri/handler_commands.rs");

/// The one list of the window's commands is `generate_handler!` (build.rs declares it from
/// there); the capability must allow exactly those, and the UI may invoke nothing else.
#[test]
fn the_capability_allows_exactly_the_registered_commands() {
    let registered = handler_commands(include_str!("../src-tauri/src/lib.rs"));
    assert!(registered.len() >= 10, "{registered:?}");
    let capability: serde_json::Value =
        serde_json::from_str(include_str!("../src-tauri/capabilities/main.json")).unwrap();
    let mut allowed: Vec<String> = capability["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let p = p.as_str().unwrap();
            p.strip_prefix("allow-").unwrap_or(p).replace('-', "_")
        })
        .collect();
    let mut expected = registered.clone();
    allowed.sort();
    expected.sort();
    assert_eq!(
        allowed, expected,
        "capabilities/main.json must allow exactly the commands in generate_handler!"
    );
    let api = include_str!("../ui/src/api.ts");
    let mut invoked: Vec<&str> = api
        .split("invoke")
        .skip(1)
        // `invoke<T>("name", …)`: the call's own line only.
        .filter(|rest| rest.starts_with('<') || rest.starts_with('('))
        .filter_map(|rest| rest.lines().next()?.split_once("(\"").map(|(_, r)| r))
        .filter_map(|r| r.split('"').next())
        .collect();
    invoked.sort();
    invoked.dedup();
    assert!(invoked.len() >= 10, "{invoked:?}");
    for cmd in invoked {
        assert!(
            registered.iter().any(|r| r == cmd),
            "ui/src/api.ts invokes {cmd:?}, which is not in generate_handler!"
        );
    }
}

#[test]
fn the_config_sets_a_strict_csp_and_freezes_the_prototype() {
    let conf: serde_json::Value = serde_json::from_str(include_str!("../tauri.conf.json")).unwrap();
    let security = &conf["app"]["security"];
    assert_eq!(security["freezePrototype"], true);
    let csp = security["csp"].as_object().unwrap();
    assert_eq!(csp["default-src"], "'self'");
    for (directive, value) in csp {
        let v = value.as_str().unwrap();
        assert!(
            !v.contains("unsafe-eval") && !v.contains("unsafe-inline"),
            "{directive}: {v}"
        );
        assert!(
            !v.contains("http://") || v.contains("ipc.localhost"),
            "{directive} allows remote content: {v}"
        );
    }
    // Devtools exist only in debug builds unless tauri's `devtools` feature is enabled.
    let manifest = include_str!("../Cargo.toml");
    assert!(
        !manifest.contains("devtools"),
        "release builds must not ship devtools"
    );
    let capability: serde_json::Value =
        serde_json::from_str(include_str!("../src-tauri/capabilities/main.json")).unwrap();
    assert_eq!(capability["windows"], serde_json::json!(["main"]));
    for p in capability["permissions"].as_array().unwrap() {
        assert!(
            p.as_str().unwrap().starts_with("allow-"),
            "only our own commands: {p}"
        );
    }
}
