//! Disconnecting: `revoke` one account (asking first on a terminal) and `forget-all`.

use std::io::{IsTerminal, Write};

use ca_core::text::{for_terminal as safe, for_terminal_lines};
use ca_core::{DisconnectOutcome, Engine, Error};

use super::{Failure, Outcome};
use crate::output::print_json;

pub async fn revoke(engine: &Engine, account: &str, yes: bool, json: bool) -> Outcome {
    let outcome = confirm_and_disconnect(engine, account, yes).await?;
    if let DisconnectOutcome::RemovedLocally { warning } = &outcome {
        eprintln!("warning: {}", for_terminal_lines(warning));
    }
    if json {
        print_json(&outcome);
    } else {
        eprintln!("Disconnected.");
    }
    Ok(())
}

pub async fn forget_all(engine: &Engine, yes: bool, json: bool) -> Outcome {
    if !yes {
        let n = engine.accounts().await?.len();
        return Err(Error::invalid_input(
            format!("this disconnects all {n} accounts and deletes every trace of them here, with no undo"),
            "run it again with --yes to go ahead",
        )
        .into());
    }
    let report = engine.forget_all().await?;
    if json {
        print_json(&report);
    } else {
        for name in &report.revoked {
            eprintln!("revoked: {}", safe(name));
        }
        for line in &report.not_revoked {
            eprintln!("warning: removed here only: {}", safe(line));
        }
        for dir in &report.removed {
            eprintln!("deleted: {}", safe(dir));
        }
        eprintln!("All your Connected Accounts data is removed.");
    }
    Ok(())
}

async fn confirm_and_disconnect(
    engine: &Engine,
    account: &str,
    yes: bool,
) -> Result<DisconnectOutcome, Failure> {
    if yes {
        return Ok(engine.disconnect(account, true).await?);
    }
    let a = engine.account(account).await?;
    if !ask(format!(
        "Disconnect {} ({})? Its tokens are revoked at the provider and the account is forgotten here.",
        safe(&a.display_name),
        safe(&a.provider_name)
    ))
    .await?
    {
        return Err(Failure::Reported(2));
    }
    match engine.disconnect(&a.id, false).await? {
        DisconnectOutcome::ConfirmationRequired { message, .. } => {
            if !ask(format!(
                "{}\nRemove it from Connected Accounts anyway?",
                for_terminal_lines(&message)
            ))
            .await?
            {
                return Err(Failure::Reported(2));
            }
            Ok(engine.disconnect(&a.id, true).await?)
        }
        done => Ok(done),
    }
}

/// Asks on a blocking thread, so the runtime's workers stay free.
pub(crate) async fn ask(question: String) -> Result<bool, Failure> {
    tokio::task::spawn_blocking(move || confirm(&question))
        .await
        .map_err(|_| Failure::Reported(1))?
}

/// Asks on the terminal; without one, refuses (scripts pass `--yes`).
fn confirm(question: &str) -> Result<bool, Failure> {
    if !std::io::stdin().is_terminal() {
        eprintln!("error: refusing to go ahead without confirmation\nhint: run it in a terminal to be asked, or pass --yes");
        return Err(Failure::Reported(2));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(|_| Failure::Reported(2))?;
    let yes = matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes");
    if !yes {
        eprintln!("Nothing was changed.");
    }
    Ok(yes)
}
