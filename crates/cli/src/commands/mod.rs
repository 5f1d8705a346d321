//! The commands, one module per concern; each prints human text or, with `--json`, JSON.

mod accounts;
mod connect;
mod disconnect;
pub mod exec;
mod git;
mod policy;
mod providers;
mod request;

pub use policy::Asking;

use ca_core::{Engine, Error};

use crate::args::Command;

/// How a command failed: a core error still to report, or one already reported (its exit code).
pub enum Failure {
    Core(Error),
    Reported(u8),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Core(e)
    }
}

pub type Outcome = Result<(), Failure>;

/// What the process does once the engine is closed.
pub enum Next {
    Done,
    /// Become this program (`exec`).
    Exec(Box<std::process::Command>),
    /// End with this status (`exec --keep-fresh`: the program's).
    Exit(u8),
    /// End by this signal, as the program did.
    Raise(i32),
}

pub async fn execute(
    engine: &Engine,
    command: Command,
    json: bool,
    asking: Asking,
) -> Result<Next, Failure> {
    if let Command::Exec(args) = command {
        return exec::run(engine, args, asking).await;
    }
    let done = match command {
        Command::Exec(_) => unreachable!("handled above"),
        Command::Completions { .. } | Command::Man => {
            unreachable!("answered before the engine opens")
        }
        Command::Providers(args) => providers::run(engine, args.action, json).await,
        Command::Connect(args) => connect::run(engine, args, json).await,
        Command::List => accounts::list(engine, json).await,
        Command::Show { account } => accounts::show(engine, &account, json).await,
        Command::Test { account } => accounts::test(engine, &account, json).await,
        Command::Refresh { account } => accounts::refresh(engine, &account, json).await,
        Command::Token { account } => accounts::token(engine, &account, asking).await,
        Command::Request(args) => request::run(engine, args, asking).await,
        Command::Policy { account, policy } => {
            policy::set(engine, &account, policy.into(), json, asking).await
        }
        Command::Recover => accounts::recover(engine, json).await,
        Command::Audit { limit, account } => {
            accounts::audit(engine, limit, account.as_deref(), json).await
        }
        Command::Revoke { account, yes } => disconnect::revoke(engine, &account, yes, json).await,
        Command::ForgetAll { yes } => disconnect::forget_all(engine, yes, json).await,
        Command::Status { host, path } => {
            git::status(engine, host.as_deref(), path.as_deref(), json).await
        }
        Command::GitCredential { action } => git::credential(engine, action, asking).await,
        Command::SetupGit(args) => git::setup(engine, args, json).await,
    };
    done.map(|()| Next::Done)
}
