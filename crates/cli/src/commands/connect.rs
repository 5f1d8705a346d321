//! `connect`: a browser sign-in over a loopback redirect, a device code, or an existing
//! account's scopes changed; Ctrl-C cancels any of them.

use std::time::Duration;

use ca_core::text::for_terminal as safe;
use ca_core::{Account, ConnectRequest, Engine, Error};

use super::{Failure, Outcome};
use crate::args::{ConnectArgs, Redirect};
use crate::output::print_json;

pub async fn run(engine: &Engine, args: ConnectArgs, json: bool) -> Outcome {
    let timeout = Duration::from_secs(args.timeout);
    if let Some(account) = args.account {
        if args.redirect != Redirect::Loopback {
            return Err(Error::invalid_input(
                "changing an account's scopes uses the browser sign-in",
                "leave out --redirect",
            )
            .into());
        }
        let request = ConnectRequest::account_scopes(account, args.scopes, args.drop_scopes)
            .timeout(timeout)
            .open_browser(true);
        let flow_id = start_in_browser(engine, request).await?;
        let a = finish_or_cancel(engine, &flow_id).await?;
        if json {
            print_json(&a);
        } else {
            eprintln!(
                "Updated {}: {}",
                safe(&a.display_name),
                safe(&a.scopes_granted.join(" "))
            );
            println!("{}", a.id);
        }
        return Ok(());
    }
    let request = ConnectRequest::provider(args.provider)
        .scopes((!args.scopes.is_empty()).then_some(args.scopes))
        .open_browser(true);
    let flow_id = match args.redirect {
        Redirect::Scheme => {
            return Err(Error::invalid_input(
                "the custom-scheme redirect needs the window: the desktop hands the callback URL to the running app",
                "use --redirect loopback or --redirect device here, or connect from the window",
            )
            .into());
        }
        Redirect::Loopback => start_in_browser(engine, request.timeout(timeout)).await?,
        Redirect::Device => start_with_device_code(engine, request).await?,
    };
    let account = finish_or_cancel(engine, &flow_id).await?;
    if json {
        print_json(&account);
    } else {
        eprintln!(
            "Connected {} ({}).",
            safe(&account.display_name),
            safe(&account.provider_name)
        );
        println!("{}", account.id);
    }
    Ok(())
}

/// Starts a browser sign-in and says where it happens; returns its flow id.
async fn start_in_browser(engine: &Engine, request: ConnectRequest) -> Result<String, Failure> {
    let started = engine.connect_begin(request).await?;
    eprintln!(
        "Opening your browser to sign in to {}. If it does not open, visit:\n  {}\nWaiting up to {} s (Ctrl-C cancels)…",
        safe(&started.provider),
        safe(&started.browser_url),
        started.timeout_secs
    );
    Ok(started.flow_id)
}

/// Starts a device-code sign-in and shows the code; returns its flow id.
async fn start_with_device_code(
    engine: &Engine,
    request: ConnectRequest,
) -> Result<String, Failure> {
    let started = engine.device_begin(request).await?;
    eprintln!(
        "To sign in to {}, open {} in any browser and enter the code:\n\n    {}\n\nWaiting up to {} s (Ctrl-C cancels)…",
        safe(&started.provider),
        safe(&started.verification_uri),
        safe(&started.user_code),
        started.expires_in_secs
    );
    Ok(started.flow_id)
}

/// Waits for a sign-in of either kind; Ctrl-C cancels it (and still waits for it to wind down).
async fn finish_or_cancel(engine: &Engine, flow_id: &str) -> Result<Account, Failure> {
    let finish = engine.connect_finish(flow_id);
    tokio::pin!(finish);
    Ok(tokio::select! {
        r = &mut finish => r?,
        _ = tokio::signal::ctrl_c() => {
            engine.connect_cancel(flow_id);
            finish.await?
        }
    })
}
