//! Custom-scheme sign-in callbacks: URLs the desktop opens with our scheme reach the engine, which
//! accepts them only for a pending flow. They are parsed in Rust and never sent to the webview
//! (its capability grants no event access, so the plugin's own event cannot reach it either).

use std::sync::Arc;

use ca_core::Engine;
use tauri_plugin_deep_link::DeepLinkExt;

pub fn wire(app: &tauri::App, engine: Arc<Engine>) {
    // Installed packages register the scheme in their desktop entry; a development build
    // registers itself (needs xdg-mime; failure only means the scheme is not available).
    #[cfg(all(target_os = "linux", debug_assertions))]
    if let Err(e) = app.deep_link().register_all() {
        tracing::warn!(error = %e, "could not register the custom URI scheme");
    }
    let handler = engine.clone();
    app.deep_link().on_open_url(move |event| {
        for url in event.urls() {
            deliver(handler.clone(), url.to_string());
        }
    });
    // Launched by the desktop with a URL while no window was running: no flow can be waiting for
    // it, so it is refused and audited like any stray callback.
    if let Ok(Some(urls)) = app.deep_link().get_current() {
        for url in urls {
            deliver(engine.clone(), url.to_string());
        }
    }
}

fn deliver(engine: Arc<Engine>, url: String) {
    tauri::async_runtime::spawn(async move {
        if let Err(e) = engine.deliver_callback_url(&url).await {
            tracing::warn!(error = %e.detailed(), "a custom-scheme callback was refused");
        }
    });
}
