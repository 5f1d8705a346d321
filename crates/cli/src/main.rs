//! `connected-accounts`: the core on the command line, for scripts and headless use. It links no
//! GUI library; run with no arguments it starts the window app.

use std::os::unix::process::CommandExt;
use std::process::ExitCode;

use ca_core::Engine;
use clap::Parser;

mod args;
mod commands;
mod output;
mod window;

use commands::{Failure, Next};

fn main() -> ExitCode {
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                // A script must never mistake our usage error for its program's own status 2.
                _ if std::env::args().nth(1).as_deref() == Some("exec") => commands::exec::FAILED,
                _ => 2,
            });
        }
    };
    // Needs no database or keychain: answered before either is opened.
    if let Some(args::Command::Completions { shell }) = cli.command {
        let mut command = <args::Cli as clap::CommandFactory>::command();
        let shell = match shell {
            args::Shell::Bash => clap_complete::Shell::Bash,
            args::Shell::Zsh => clap_complete::Shell::Zsh,
            args::Shell::Fish => clap_complete::Shell::Fish,
        };
        clap_complete::generate(
            shell,
            &mut command,
            "connected-accounts",
            &mut std::io::stdout(),
        );
        return ExitCode::SUCCESS;
    }
    if let Some(args::Command::Man) = cli.command {
        let page = clap_mangen::Man::new(<args::Cli as clap::CommandFactory>::command());
        return match page.render(&mut std::io::stdout()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::FAILURE,
        };
    }
    let Some(command) = cli.command else {
        return match window::start() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => output::report(&e).into(),
        };
    };
    // For `exec`, every failure of ours is 125, whatever its kind (`env`'s convention).
    let ours = |code: u8, exec: bool| if exec { commands::exec::FAILED } else { code };
    let is_exec = matches!(command, args::Command::Exec(_));
    let reads_a_secret = command.reads_a_secret();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let next = runtime.block_on(async {
        let engine = match Engine::open_from_env_for_command(reads_a_secret).await {
            Ok(engine) => engine,
            Err(e) => return Next::Exit(ours(output::report(&e), is_exec)),
        };
        let _log = ca_core::logging::init(engine.paths(), "cli");
        let asking = commands::Asking {
            refused: cli.no_interactive,
        };
        let result = commands::execute(&engine, command, cli.json, asking).await;
        engine.close().await;
        match result {
            Ok(next) => next,
            Err(Failure::Reported(code)) => Next::Exit(code),
            Err(Failure::Core(e)) => Next::Exit(ours(output::report(&e), is_exec)),
        }
    });
    // The database is closed and the log flushed before this process becomes another program.
    drop(runtime);
    match next {
        Next::Done => ExitCode::SUCCESS,
        Next::Exit(code) => ExitCode::from(code),
        Next::Exec(mut command) => {
            let e = command.exec();
            ExitCode::from(commands::exec::exec_failed(command.get_program(), &e))
        }
        Next::Raise(signal) => {
            // SAFETY: restoring the default action and raising a signal at ourselves.
            unsafe {
                libc::signal(signal, libc::SIG_DFL);
                libc::raise(signal);
            }
            ExitCode::from(128 + signal as u8)
        }
    }
}
