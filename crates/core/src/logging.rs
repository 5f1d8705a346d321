//! Logs go to a file in the state dir (`RUST_LOG` raises the level). HTTP internals are capped at
//! `info` whatever `RUST_LOG` says, because their debug output can print request bodies.

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::paths::Paths;

/// Crates whose debug output can hold request or reply bodies.
const CAPPED: [&str; 9] = [
    "hyper",
    "hyper_util",
    "reqwest",
    "h2",
    "rustls",
    "sqlx",
    "zbus",
    "oauth2",
    "openidconnect",
];

/// The filter `RUST_LOG` asks for (`info` when unset or unreadable), with the capped crates at
/// `info` at most: their directives are dropped, including narrower ones such as
/// `hyper::proto=trace`, which would otherwise win over `hyper=info`. `Targets`, not `EnvFilter`:
/// the same `target=level` syntax without span and field filters, and without a regex engine.
fn filter(rust_log: Option<&str>) -> Targets {
    let capped = |directive: &str| {
        let target = directive.split('=').next().unwrap_or_default().trim();
        CAPPED.iter().any(|c| {
            target == *c
                || target
                    .strip_prefix(c)
                    .is_some_and(|rest| rest.starts_with("::"))
        })
    };
    let kept: Vec<&str> = rust_log
        .unwrap_or_default()
        .split(',')
        .filter(|d| !d.trim().is_empty() && !capped(d))
        .collect();
    let asked = kept
        .join(",")
        .parse::<Targets>()
        .ok()
        .filter(|_| !kept.is_empty());
    let mut filter = asked.unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO));
    for target in CAPPED {
        let at_most_info = filter
            .default_level()
            .map_or(LevelFilter::INFO, |l| l.min(LevelFilter::INFO));
        filter = filter.with_target(target, at_most_info);
    }
    filter
}

/// Starts logging to `<state>/logs/<component>.log`; keep the guard alive for the process.
pub fn init(paths: &Paths, component: &str) -> Option<WorkerGuard> {
    let dir = paths.log_dir();
    std::fs::create_dir_all(&dir).ok()?;
    let appender = tracing_appender::rolling::never(dir, format!("{component}.log"));
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let rust_log = std::env::var("RUST_LOG").ok();
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(writer)
                .with_ansi(false),
        )
        .with(filter(rust_log.as_deref()))
        .try_init()
        .ok()?;
    Some(guard)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    fn allows(f: &Targets, target: &str, level: Level) -> bool {
        f.would_enable(target, &level)
    }

    #[test]
    fn rust_log_sets_the_level_but_http_internals_stay_at_info() {
        let unset = filter(None);
        assert!(allows(&unset, "ca_core::flow", Level::INFO));
        assert!(!allows(&unset, "ca_core::flow", Level::DEBUG));

        let f = filter(Some(
            "trace,hyper=trace,hyper::proto=trace,reqwest::connect=debug,sqlx=warn",
        ));
        assert!(allows(&f, "ca_core::flow", Level::TRACE));
        for target in [
            "hyper",
            "hyper::proto::h1",
            "reqwest::connect",
            "sqlx::query",
            "zbus",
        ] {
            assert!(allows(&f, target, Level::INFO), "{target}");
            assert!(!allows(&f, target, Level::DEBUG), "{target} at debug");
        }
        // A narrower directive for another crate still applies.
        assert!(allows(
            &filter(Some("hyperlocal=trace")),
            "hyperlocal",
            Level::TRACE
        ));

        let quiet = filter(Some("warn"));
        assert!(!allows(&quiet, "ca_core", Level::INFO));
        assert!(
            !allows(&quiet, "hyper", Level::INFO),
            "capping never raises a level"
        );
        assert!(allows(&quiet, "hyper", Level::WARN));

        // Unreadable input (EnvFilter's span syntax) falls back to info.
        let bad = filter(Some("[span{x=1}]=trace"));
        assert!(allows(&bad, "ca_core", Level::INFO) && !allows(&bad, "ca_core", Level::DEBUG));
        assert!(!allows(&bad, "hyper", Level::DEBUG));
    }
}
