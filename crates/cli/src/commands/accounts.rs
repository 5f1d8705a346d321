//! The commands that read accounts: list, show, test, refresh, token, recover, and the audit log.

use std::io::Write;

use ca_core::approval::Purpose;
use ca_core::consumer::{Consumer, ReadKind};
use ca_core::text::{for_terminal as safe, for_terminal_lines};
use ca_core::Engine;

use super::policy::{self, Asking};
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
    let r = engine
        .test_account(account, &Consumer::calling_process(ReadKind::Test))
        .await?;
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
pub async fn token(engine: &Engine, account: &str, asking: Asking) -> Outcome {
    let reader = Consumer::calling_process(ReadKind::Token);
    // A bound token is useless outside the app: the gate refuses it (exit 5) before asking.
    let cleared =
        policy::clearance(engine, account, &reader, "token", Purpose::Token, asking).await?;
    let token = engine.access_token(account, &reader, &cleared).await?;
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

pub async fn audit(engine: &Engine, limit: u32, account: Option<&str>, json: bool) -> Outcome {
    let events = match account {
        Some(account) => engine.account_audit_log(account, limit).await?,
        None => engine.audit_log(limit).await?,
    };
    if json {
        print_json(&events);
    } else {
        for e in &events {
            println!(
                "{}\t{}\t{}\t{}{}",
                e.last_at.as_deref().unwrap_or(&e.at),
                e.kind,
                safe(e.account_id.as_deref().unwrap_or("-")),
                safe(&e.detail),
                e.consumer
                    .as_ref()
                    .map(|c| reader_text(c, e.count))
                    .unwrap_or_default()
            );
        }
    }
    Ok(())
}

/// ` · by bash in /home/a/work on /dev/pts/1 (3 reads)`: who read a token.
fn reader_text(c: &Consumer, count: i64) -> String {
    let name = |p: &Option<String>| {
        p.as_deref()
            .map(|p| safe(p.rsplit('/').next().unwrap_or(p)).to_string())
    };
    let mut text = format!(" · by {}", name(&c.exe).unwrap_or_else(|| "?".into()));
    if let Some(parent) = name(&c.parent_exe) {
        text += &format!(" ← {parent}");
    }
    if let Some(cwd) = &c.cwd {
        text += &format!(" in {}", safe(cwd));
    }
    if let Some(tty) = &c.tty {
        text += &format!(" on {}", safe(tty));
    }
    if count > 1 {
        text += &format!(" ({count} reads)");
    }
    text
}
