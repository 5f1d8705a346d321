//! `providers`: list them, set up a built-in one, add one by its issuer URL.

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
        Some(ProvidersAction::Add {
            issuer,
            client_id,
            name,
            scopes,
            userinfo_url,
            revocation_url,
        }) => {
            let new = NewProvider {
                issuer,
                client_id,
                name,
                scopes,
                userinfo_endpoint: userinfo_url,
                revocation_endpoint: revocation_url,
            };
            let p = engine.add_provider(new).await?;
            if json {
                print_json(&p);
            } else {
                println!("{}", safe(&p.id));
            }
            Ok(())
        }
    }
}

async fn list(engine: &Engine, json: bool) -> Outcome {
    let providers = engine.providers().await?;
    if json {
        print_json(&providers);
    } else if providers.is_empty() {
        eprintln!("No providers yet. Add one with: connected-accounts providers add --issuer URL --client-id ID");
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
