//! `providers`: list them, set up a built-in one, add one by its issuer URL, set their lifetimes.

use std::time::Duration;

use ca_core::text::for_terminal as safe;
use ca_core::{Engine, Error, NewProvider};

use super::Outcome;
use crate::args::ProvidersAction;
use crate::output::{print_json, provider_line};

pub async fn run(engine: &Engine, action: Option<ProvidersAction>, json: bool) -> Outcome {
    match action {
        None => list(engine, json).await,
        Some(ProvidersAction::Configure {
            provider,
            client_id,
            client_secret_stdin,
            params,
        }) => {
            configure(
                engine,
                provider,
                client_id,
                client_secret_stdin,
                params,
                json,
            )
            .await
        }
        Some(ProvidersAction::Lifetime {
            provider,
            sign_in_max,
            refresh_idle,
        }) => lifetime(engine, provider, sign_in_max, refresh_idle, json).await,
        Some(ProvidersAction::Add {
            issuer,
            client_id,
            initial_access_token_stdin,
            redirect_uris,
            name,
            scopes,
            userinfo_url,
            revocation_url,
        }) => {
            let new = NewProvider {
                issuer,
                client_id: client_id.unwrap_or_default(),
                name,
                scopes,
                userinfo_endpoint: userinfo_url,
                revocation_endpoint: revocation_url,
                redirect_uris,
            };
            let token = if initial_access_token_stdin {
                Some(read_stdin_secret(
                    "the initial access token",
                    "printf %s \"$TOKEN\" | connected-accounts providers add --issuer URL --initial-access-token-stdin",
                )?)
            } else {
                None
            };
            let p = engine.add_provider_with_token(new, token).await?;
            if json {
                print_json(&p);
            } else {
                println!("{}", safe(&p.id));
            }
            Ok(())
        }
        Some(ProvidersAction::Remove {
            provider,
            yes,
            disconnect_accounts,
        }) => remove(engine, provider, yes, disconnect_accounts, json).await,
    }
}

/// One line of standard input, never echoed or put in argv.
fn read_stdin_secret(what: &str, example: &str) -> Result<ca_core::SecretString, Error> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).map_err(|_| {
        Error::invalid_input(
            format!("cannot read {what} from standard input"),
            format!("pipe it in, e.g. {example}"),
        )
    })?;
    let value = line.trim_end_matches(['\r', '\n']);
    if value.trim().is_empty() {
        return Err(Error::invalid_input(
            format!("{what} on standard input is empty"),
            format!("pipe it in, e.g. {example}"),
        ));
    }
    Ok(ca_core::SecretString::new(value))
}

async fn remove(
    engine: &Engine,
    provider: String,
    yes: bool,
    disconnect_accounts: bool,
    json: bool,
) -> Outcome {
    if !yes {
        let spec = engine.spec(&provider).await?;
        let accounts = engine
            .accounts()
            .await?
            .into_iter()
            .filter(|a| a.provider == spec.id)
            .count();
        let also = if accounts > 0 && disconnect_accounts {
            format!(" Its {accounts} account(s) are disconnected first, their tokens revoked.")
        } else {
            String::new()
        };
        let question = format!(
            "Remove {}? The app's registration there and its keychain items are deleted.{also}",
            safe(&spec.name)
        );
        if !super::disconnect::ask(question).await? {
            return Err(super::Failure::Reported(2));
        }
    }
    let report = engine
        .remove_provider(&provider, disconnect_accounts)
        .await?;
    if json {
        print_json(&report);
    } else {
        for name in &report.disconnected {
            eprintln!("disconnected: {}", safe(name));
        }
        for w in &report.warnings {
            eprintln!("warning: {}", safe(w));
        }
        if report.registration_deleted {
            eprintln!("The app's registration there is deleted.");
        }
        eprintln!("Removed {}.", safe(&report.provider));
    }
    Ok(())
}

/// `none`, or a duration as people write it.
fn lifetime_arg(flag: &str, text: Option<String>) -> Result<Option<Option<Duration>>, Error> {
    let Some(text) = text else { return Ok(None) };
    if text.trim().eq_ignore_ascii_case("none") {
        return Ok(Some(None));
    }
    ca_core::catalog::duration_text::parse(&text)
        .map(|d| Some(Some(d)))
        .map_err(|why| {
            Error::invalid_input(format!("--{flag}: {why}"), "write it as 7d, 12h or none")
        })
}

async fn lifetime(
    engine: &Engine,
    provider: String,
    sign_in_max: Option<String>,
    refresh_idle: Option<String>,
    json: bool,
) -> Outcome {
    let max = lifetime_arg("sign-in-max", sign_in_max)?;
    let idle = lifetime_arg("refresh-idle", refresh_idle)?;
    let change =
        (max.is_some() || idle.is_some()).then_some(ca_core::health::LimitsChange { max, idle });
    let limits = engine.provider_limits(&provider, change).await?;
    if json {
        print_json(&limits);
    } else {
        let words = |secs: Option<u64>| ca_core::health::describe(secs.map(Duration::from_secs));
        println!("sign-in max\t{}", words(limits.sign_in_max_secs));
        println!("refresh idle\t{}", words(limits.refresh_idle_secs));
    }
    Ok(())
}

async fn list(engine: &Engine, json: bool) -> Outcome {
    let providers = engine.providers().await?;
    if json {
        print_json(&providers);
    } else if providers.is_empty() {
        eprintln!("No providers yet. Add one with: connected-accounts providers add --issuer URL");
    } else {
        providers.iter().for_each(provider_line);
    }
    Ok(())
}

async fn configure(
    engine: &Engine,
    provider: String,
    client_id: String,
    client_secret_stdin: bool,
    params: Vec<String>,
    json: bool,
) -> Outcome {
    let mut settings = ca_core::engine::ProviderSettings {
        provider_id: provider,
        client_id,
        params: Default::default(),
    };
    for p in params {
        let Some((name, value)) = p.split_once('=') else {
            return Err(Error::invalid_input(
                format!("{p:?} is not NAME=VALUE"),
                "write it as --set base=https://gitlab.example.com",
            )
            .into());
        };
        settings
            .params
            .insert(name.trim().to_string(), value.to_string());
    }
    let secret = if client_secret_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map_err(|_| {
            Error::invalid_input(
                "cannot read the client secret from standard input",
                "pipe it in, e.g. printf %s \"$SECRET\" | connected-accounts providers configure ...",
            )
        })?;
        Some(ca_core::SecretString::new(
            line.trim_end_matches(['\r', '\n']),
        ))
    } else {
        None
    };
    let p = engine.configure_provider(settings, secret).await?;
    if json {
        print_json(&p);
    } else {
        eprintln!(
            "{} is set up. Connect an account with: connected-accounts connect {}",
            safe(&p.name),
            safe(&p.id)
        );
    }
    Ok(())
}
