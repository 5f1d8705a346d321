//! Logs go to a file in the state dir (`RUST_LOG` raises the level). HTTP internals are capped at
//! `info` whatever `RUST_LOG` says, because their debug output can print request bodies.

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

use crate::paths::Paths;

/// Starts logging to `<state>/logs/<component>.log`; keep the guard alive for the process.
pub fn init(paths: &Paths, component: &str) -> Option<WorkerGuard> {
    let dir = paths.log_dir();
    std::fs::create_dir_all(&dir).ok()?;
    let appender = tracing_appender::rolling::never(dir, format!("{component}.log"));
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    for target in [
        "hyper",
        "hyper_util",
        "reqwest",
        "h2",
        "rustls",
        "sqlx",
        "zbus",
        "oauth2",
        "openidconnect",
    ] {
        if let Ok(d) = format!("{target}=info").parse() {
            filter = filter.add_directive(d);
        }
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .ok()?;
    Some(guard)
}
