//! The window app: a Tauri shell over the core engine. It builds the engine (metadata only, no
//! keychain access), wires single-instance and deep links, registers the commands, shows the window
//! (or, started with `--resident`, only the tray item: see resident.rs).

mod approvals;
mod commands;
mod deep_link;
mod error;
mod resident;
mod updates;
mod window_memory;

use std::sync::Arc;

use tauri::Manager;

/// Every command the window may call: the one list (build.rs reads it to declare the commands;
/// tests/capabilities.rs checks that capabilities/main.json allows exactly these).
pub fn handler<R: tauri::Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static
{
    tauri::generate_handler![
        commands::app_info,
        commands::list_providers,
        commands::add_provider,
        commands::configure_provider,
        commands::list_accounts,
        commands::connect_begin,
        commands::plan_resource,
        commands::connect_resource_begin,
        commands::connect_finish,
        commands::connect_cancel,
        commands::device_begin,
        commands::device_finish,
        commands::refresh_account,
        commands::set_policy,
        commands::test_account,
        commands::request_account,
        commands::disconnect_account,
        commands::recover_interrupted,
        commands::audit_log,
        commands::last_reads,
        commands::watch_accounts,
        commands::forget_all,
        commands::quit_app,
        commands::window_ready,
        commands::app_settings,
        commands::set_close_action,
        commands::set_refresh_paused,
        commands::set_start_at_login,
        commands::watch_app,
        commands::answer_close,
        commands::watch_approvals,
        commands::answer_approval,
        commands::list_approvals,
        commands::end_approval,
    ]
}

pub fn run() {
    let started = std::time::Instant::now();
    prefer_software_compositing();
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
    tracing::info!(
        data = %engine.paths().data_dir.display(),
        engine_ms = started.elapsed().as_millis() as u64,
        "starting the window"
    );
    let memory = Arc::new(window_memory::WindowMemory::new(&engine.paths().state_dir));
    let engine = Arc::new(engine);
    let watcher = Arc::new(updates::Watcher::default());
    let resident = Arc::new(resident::Resident::<tauri::Wry>::default());
    // Started at login: the tray item only, and nothing read until an account is due.
    let resident_start = std::env::args().skip(1).any(|a| a == "--resident");

    tauri::Builder::default()
        // First: a second launch is forwarded to this instance and exits. One from a sign-in
        // link reaches the deep-link handler; one from the menu (or a terminal) opens the
        // window, built again if the app was in the background; another resident start does
        // nothing.
        .plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| {
            let url = argv.iter().skip(1).any(|a| a.contains("://"));
            if !url && !argv.iter().any(|a| a == "--resident") {
                open_window(app);
            }
        }))
        .plugin(tauri_plugin_deep_link::init())
        // Used from Rust only: no capability grants the webview its commands.
        .plugin(tauri_plugin_notification::init())
        .setup({
            let (engine, watcher, memory) = (engine.clone(), watcher.clone(), memory.clone());
            let resident = resident.clone();
            move |app| {
                let plugins_ms = started.elapsed().as_millis() as u64;
                if resident_start {
                    let handle = app.handle().clone();
                    tauri::async_runtime::spawn(async move {
                        resident.start_resident(&handle).await;
                    });
                } else {
                    open_main_window(app.handle(), &engine, &memory)?;
                }
                // Start-up milestones, for anyone asking why the window was slow to appear.
                tracing::info!(
                    plugins_ms,
                    window_ms = started.elapsed().as_millis() as u64,
                    resident_start,
                    "window built"
                );
                deep_link::wire(app, engine.clone());
                updates::forward(app.handle().clone(), &engine, watcher);
                approvals::start(app.handle(), engine.clone());
                // Refresh ahead of expiry while the window runs (metadata only until one is due).
                tauri::async_runtime::spawn(engine.run_scheduler());
                Ok(())
            }
        })
        .manage(engine)
        .manage(watcher)
        .manage(memory.clone())
        .manage(resident.clone())
        .manage(Arc::new(approvals::Approvals::default()))
        .invoke_handler(handler())
        .build(tauri::generate_context!())
        .expect("error while starting Connected Accounts")
        .run(move |_app, event| match event {
            // The window went to the background: the tray item keeps the process.
            tauri::RunEvent::ExitRequested {
                code: None, api, ..
            } if resident.keeps_running() => api.prevent_exit(),
            tauri::RunEvent::Exit => memory.save(),
            _ => {}
        });
}

/// Shows the window, building it again if the app runs in the background. Any thread.
pub(crate) fn open_window<R: tauri::Runtime>(app: &tauri::AppHandle<R>) {
    let handle = app.clone();
    let opened = app.run_on_main_thread(move || {
        if let Some(window) = handle.get_webview_window("main") {
            let _ = window.unminimize();
            show(&window);
            return;
        }
        let engine = handle.state::<Arc<ca_core::Engine>>().inner().clone();
        let memory = handle
            .state::<Arc<window_memory::WindowMemory>>()
            .inner()
            .clone();
        if let Err(e) = open_main_window(&handle, &engine, &memory) {
            tracing::warn!(error = %e, "could not open the window");
        }
    });
    if let Err(e) = opened {
        tracing::warn!(error = %e, "could not open the window");
    }
}

/// The window (tauri.conf.json describes it with `create: false`) is built here so that its page
/// gets the first list before any script runs: the first paint shows the accounts, without a
/// "loading" frame and an IPC round trip while WebKit is still starting. Metadata only.
fn open_main_window<R: tauri::Runtime>(
    app: &tauri::AppHandle<R>,
    engine: &ca_core::Engine,
    memory: &Arc<window_memory::WindowMemory>,
) -> Result<(), Box<dyn std::error::Error>> {
    let config = app
        .config()
        .app
        .windows
        .iter()
        .find(|w| w.label == "main")
        .ok_or("tauri.conf.json has no window labelled main")?;
    let builder = tauri::WebviewWindowBuilder::from_config(app, config)?;
    let builder = match tauri::async_runtime::block_on(engine.startup_snapshot()) {
        Ok(snapshot) => builder.initialization_script(format!(
            "window.__CA_STARTUP__ = {};",
            serde_json::to_string(&snapshot)?
        )),
        // The page asks over IPC instead, and shows the error there if it persists.
        Err(e) => {
            tracing::warn!(error = %e.detailed(), "start-up list unavailable");
            builder
        }
    };
    let window = builder.build()?;
    restore_geometry(app, &window, config, memory);
    let (seen, w) = (memory.clone(), window.clone());
    let (resident, handle) = (
        app.state::<Arc<resident::Resident<R>>>().inner().clone(),
        app.clone(),
    );
    window.on_window_event(move |event| match event {
        tauri::WindowEvent::Moved(to) => seen.moved(*to, w.is_maximized().unwrap_or(false)),
        tauri::WindowEvent::Resized(to) => seen.resized(*to, w.is_maximized().unwrap_or(false)),
        tauri::WindowEvent::CloseRequested { api, .. } => resident.close_requested(&handle, api),
        _ => {}
    });
    // The window starts hidden and the page shows it once its list is built (`window_ready`):
    // mapped any earlier, GTK may wait up to half a second on the still-starting WebKit process
    // and then show a blank frame. Should the page never say so, it is shown anyway.
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        if !window.is_visible().unwrap_or(true) {
            tracing::warn!("the page did not report ready within 3 s; showing the window");
            show(&window);
        }
    });
    Ok(())
}

/// Last run's size and place, while the window is still hidden (so it never jumps), where a
/// connected monitor can show it.
fn restore_geometry<R: tauri::Runtime>(
    app: &tauri::AppHandle<R>,
    window: &tauri::WebviewWindow<R>,
    config: &tauri::utils::config::WindowConfig,
    memory: &window_memory::WindowMemory,
) {
    let Some(saved) = memory.load() else { return };
    let monitors = app.available_monitors().unwrap_or_default();
    let scale = monitors.first().map_or(1.0, |m| m.scale_factor());
    let min = (
        (config.min_width.unwrap_or(0.0) * scale) as u32,
        (config.min_height.unwrap_or(0.0) * scale) as u32,
    );
    let areas: Vec<_> = monitors
        .iter()
        .map(|m| window_memory::Area {
            x: m.position().x,
            y: m.position().y,
            width: m.size().width,
            height: m.size().height,
        })
        .collect();
    let Some(g) = saved.usable(min, &areas) else {
        tracing::info!(
            ?saved,
            "the saved window place is off every screen or too small; using the default"
        );
        return;
    };
    memory.restored(g);
    let restored = window
        .set_size(tauri::PhysicalSize::new(g.width, g.height))
        .and_then(|()| window.set_position(tauri::PhysicalPosition::new(g.x, g.y)))
        .and_then(|()| {
            if g.maximized {
                window.maximize()
            } else {
                Ok(())
            }
        });
    if let Err(e) = restored {
        tracing::warn!(error = %e, "could not restore the window's size");
    }
}

fn show<R: tauri::Runtime>(window: &tauri::WebviewWindow<R>) {
    if let Err(e) = window.show().and_then(|()| window.set_focus()) {
        tracing::warn!(error = %e, "could not show the window");
    }
}

/// A list of accounts needs no GPU: WebKit's compositing mode would start a GL context (and,
/// without a GPU driver, compile shaders on the CPU) before the first paint, and hold its
/// memory for as long as the window is open. Anyone can turn it back on with
/// WEBKIT_DISABLE_COMPOSITING_MODE=0. Runs first, before any other thread exists.
fn prefer_software_compositing() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none() {
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
}
