//! `connected-accounts`: the core on the command line, for scripts and headless use. It links no
//! GUI library; run with no arguments it starts the window app.

use std::process::ExitCode;

use ca_core::Engine;
use clap::Parser;

mod args;
mod commands;
mod output;
mod window;

use commands::Failure;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let Some(command) = cli.command else {
        return match window::start() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => output::report(&e).into(),
        };
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let code = runtime.block_on(async {
        let engine = match Engine::open_from_env().await {
            Ok(engine) => engine,
            Err(e) => return output::report(&e),
        };
        let _log = ca_core::logging::init(engine.paths(), "cli");
        let result = commands::execute(&engine, command, cli.json).await;
        engine.close().await;
        match result {
            Ok(()) => 0,
            Err(Failure::Reported(code)) => code,
            Err(Failure::Core(e)) => output::report(&e),
        }
    });
    ExitCode::from(code)
}
