//! The commands that read accounts: list, show, test, refresh, token, recover, and the audit log.

use std::io::Write;

use ca_core::text::{for_terminal as safe, for_terminal_lines};
use ca_core::Engine;

use super::{Failure, Outcome};
use crate::output::{account_details, account_line, print_json};

pub async fn list(engine: &Engine, json: bool) -> Outcome {
    let accounts = engine.accounts().await?;
    if json {
        print_json(&accounts);
    } else if accounts.is_empty() {
        eprintln!("No accounts yet. Connect one with: connected-accounts connect PROVIDER_ID");
    } else {
        accounts.iter().for_each(account_line);
    }
    Ok(())
}

pub async fn show(engine: &Engine, account: &str, json: bool) -> Outcome {
    let a = engine.account(account).await?;
    if json {
        print_json(&a);
    } else {
        account_details(&a);
    }
    Ok(())
}

pub async fn test(engine: &Engine, account: &str, json: bool) -> Outcome {
    let r = engine.test_account(account).await?;
    if json {
        print_json(&r);
    } else {
        println!("{} {}", r.method, safe(&r.url));
        println!("status {} in {} ms", r.status, r.latency_ms);
        for (name, value) in &r.headers {
            println!("{}: {}", safe(name), safe(value));
        }
        println!();
        if r.truncated {
            println!("(the reply was larger than 1 MiB; only its start is shown)");
        }
        // JSON escapes C0 controls in strings, not C1 or bidi controls.
        println!(
            "{}",
            for_terminal_lines(&serde_json::to_string_pretty(&r.body).unwrap_or_default())
        );
    }
    if !(200..300).contains(&r.status) {
        eprintln!("error: the provider answered HTTP {}", r.status);
        return Err(Failure::Reported(1));
    }
    Ok(())
}

pub async fn refresh(engine: &Engine, account: &str, json: bool) -> Outcome {
    let a = engine.refresh(account).await?;
    if json {
        print_json(&a);
    } else {
        eprintln!("Refreshed {}.", safe(&a.display_name));
        account_line(&a);
    }
    Ok(())
}

/// The access token alone on standard output (nothing else is printed there).
pub async fn token(engine: &Engine, account: &str) -> Outcome {
    let token = engine.access_token(account).await?;
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{}", token.expose())
        .and_then(|()| out.flush())
        .is_err()
    {
        eprintln!("error: could not write the token to standard output");
        return Err(Failure::Reported(1));
    }
    Ok(())
}

pub async fn recover(engine: &Engine, json: bool) -> Outcome {
    let accounts = engine.recover_interrupted().await?;
    if json {
        print_json(&accounts);
    } else {
        accounts.iter().for_each(account_line);
    }
    Ok(())
}

pub async fn audit(engine: &Engine, limit: u32, json: bool) -> Outcome {
    let events = engine.audit_log(limit).await?;
    if json {
        print_json(&events);
    } else {
        for e in &events {
            println!(
                "{}\t{}\t{}\t{}",
                e.at,
                e.kind,
                safe(e.account_id.as_deref().unwrap_or("-")),
                safe(&e.detail)
            );
        }
    }
    Ok(())
}
