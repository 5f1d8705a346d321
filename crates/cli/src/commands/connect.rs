//! `connect`: a browser sign-in over a loopback redirect, a device code, or an existing
//! account's scopes changed; Ctrl-C cancels any of them.

use std::time::Duration;

use ca_core::text::for_terminal as safe;
use ca_core::{Account, ConnectRequest, DeviceStarted, Engine, Error, Remedy};

use super::{Failure, Outcome};
use crate::args::{ConnectArgs, Redirect};
use crate::output::print_json;

pub async fn run(engine: &Engine, args: ConnectArgs, json: bool) -> Outcome {
    let timeout = Duration::from_secs(args.timeout);
    let here = ca_core::browser::here();
    if let Some(account) = args.account {
        if args.redirect.is_some_and(|r| r != Redirect::Loopback) {
            return Err(Error::invalid_input(
                "changing an account's scopes uses the browser sign-in",
                "leave out --redirect",
            )
            .into());
        }
        let request = ConnectRequest::account_scopes(account, args.scopes, args.drop_scopes)
            .no_dpop(args.no_dpop)
            .timeout(timeout)
            .open_browser(true);
        let a = if here.can_open() {
            let flow_id = start_in_browser(engine, request).await?;
            finish_or_cancel(engine, &flow_id).await?
        } else {
            paste_back(engine, request, &here).await?
        };
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
    let (provider, scopes, resource) = match &args.resource {
        Some(url) => {
            let (id, scopes, resource) = by_resource(engine, url, args.yes).await?;
            let scopes = if args.scopes.is_empty() {
                scopes
            } else {
                args.scopes.clone()
            };
            (id, scopes, Some(resource))
        }
        None => (
            args.provider.clone().unwrap_or_default(),
            args.scopes.clone(),
            None,
        ),
    };
    if resource.is_some() && args.redirect == Some(Redirect::Device) {
        return Err(Error::invalid_input(
            "a sign-in for a resource uses the browser",
            "leave out --redirect device",
        )
        .into());
    }
    let request = ConnectRequest::provider(provider)
        .scopes((!scopes.is_empty()).then_some(scopes))
        .resource(resource)
        .no_dpop(args.no_dpop)
        .open_browser(true);
    // A resource's sign-in is never a device code: with no browser here, its address is pasted back.
    let redirect = match (&request.resource, args.redirect) {
        (Some(_), None) if !here.can_open() => Some(Redirect::Loopback),
        (_, redirect) => redirect,
    };
    let account = match (redirect, here.can_open()) {
        (Some(Redirect::Scheme), _) => {
            return Err(Error::invalid_input(
                "the custom-scheme redirect needs the window: the desktop hands the callback URL to the running app",
                "use --redirect loopback or --redirect device here, or connect from the window",
            )
            .into());
        }
        (Some(Redirect::Loopback) | None, true) => {
            let flow_id = start_in_browser(engine, request.timeout(timeout)).await?;
            finish_or_cancel(engine, &flow_id).await?
        }
        (Some(Redirect::Device), _) => {
            let flow_id = start_with_device_code(engine, request).await?;
            finish_or_cancel(engine, &flow_id).await?
        }
        // Nothing to open a browser with here: a code to enter anywhere, where the provider has
        // one; else the sign-in happens elsewhere and its final address is pasted back.
        (None, false) => match engine.device_begin(request.clone()).await {
            Ok(started) => {
                show_device_code(&started);
                finish_or_cancel(engine, &started.flow_id).await?
            }
            Err(e) if e.remedy == Some(Remedy::UseBrowserSignIn) => {
                paste_back(engine, request.timeout(timeout), &here).await?
            }
            Err(e) => return Err(e.into()),
        },
        (Some(Redirect::Loopback), false) => {
            paste_back(engine, request.timeout(timeout), &here).await?
        }
    };
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
    show_device_code(&started);
    Ok(started.flow_id)
}

fn show_device_code(started: &DeviceStarted) {
    eprintln!(
        "To sign in to {}, open {} in any browser and enter the code:\n\n    {}\n\nWaiting up to {} s (Ctrl-C cancels)…",
        safe(&started.provider),
        safe(&started.verification_uri),
        safe(&started.user_code),
        started.expires_in_secs
    );
}

/// A sign-in with no browser here: the person opens the URL on any machine, then pastes the
/// address their browser ended on. A refused paste says why and waits for another; the
/// loopback listener keeps listening too (for a browser reaching it through a tunnel).
async fn paste_back(
    engine: &Engine,
    request: ConnectRequest,
    here: &ca_core::browser::BrowserHere,
) -> Result<Account, Failure> {
    let started = engine.connect_begin(request.paste_back(true)).await?;
    let why = match here {
        ca_core::browser::BrowserHere::Ssh => "this is an SSH session",
        _ => "there is no display",
    };
    eprintln!(
        "No browser can be opened here ({why}, and $BROWSER is not set). Open this address in a browser on any machine:\n\n  {}\n\n\
         After you sign in, the browser goes to an address starting {} that does not load there.\n\
         Copy that whole address from the address bar, paste it here and press Enter (Ctrl-C cancels; waiting up to {} s):",
        safe(&started.browser_url),
        safe(&started.redirect_uri),
        started.timeout_secs
    );
    let finish = engine.connect_finish(&started.flow_id);
    tokio::pin!(finish);
    // Lines of standard input, read on a thread of their own (a blocking read must not hold up
    // the sign-in); the channel closes at end of input.
    let (tx, mut lines) = tokio::sync::mpsc::channel::<String>(4);
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if tx.blocking_send(line).is_err() {
                break;
            }
        }
    });
    let mut stdin_open = true;
    loop {
        tokio::select! {
            r = &mut finish => return Ok(r?),
            _ = tokio::signal::ctrl_c() => {
                engine.connect_cancel(&started.flow_id);
                return Ok(finish.await?);
            }
            line = lines.recv(), if stdin_open => match line {
                Some(line) if line.trim().is_empty() => {}
                Some(line) => {
                    // The sign-in judges the address while it waits: keep it running meanwhile.
                    let deliver = engine.deliver_pasted_url(&started.flow_id, &line);
                    tokio::pin!(deliver);
                    tokio::select! {
                        r = &mut finish => return Ok(r?),
                        r = &mut deliver => if let Err(e) = r {
                            crate::output::report(&e);
                            eprintln!("Paste the address again, or press Ctrl-C to stop:");
                        },
                    }
                }
                // Nothing more will be pasted: stop rather than wait for the timeout.
                None => {
                    stdin_open = false;
                    engine.connect_cancel(&started.flow_id);
                }
            },
        }
    }
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

/// `--resource URL`: the resource's authorization server (added, registering the app, when not
/// set up), after the person confirms a resource on another site receiving its tokens.
async fn by_resource(
    engine: &Engine,
    url: &str,
    yes: bool,
) -> Result<(String, Vec<String>, String), Failure> {
    let plan = engine.plan_resource(url).await?;
    let found = &plan.found;
    if found.cross_origin && !plan.confirmed_before && !yes {
        let question = format!(
            "{} will receive tokens from {} for the account you sign in with. Go on?",
            safe(&found.resource),
            safe(&found.authorization_server)
        );
        if !super::disconnect::ask(question).await? {
            return Err(Failure::Reported(2));
        }
    }
    let (id, scopes) = engine.provider_for_resource(&plan).await?;
    Ok((id, scopes, found.resource.clone()))
}
