//! `connected-accounts`: the core on the command line, for scripts and headless use. It links no
//! GUI library; run with no arguments it starts the window app.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use ca_core::text::{for_terminal as safe, for_terminal_lines};
use ca_core::{
    Account, ConnectRequest, DisconnectOutcome, Engine, Error, ErrorKind, NewProvider, ProviderView,
};
use clap::{Args, Parser, Subcommand};
use serde::Serialize;

mod window;

#[derive(Parser)]
#[command(
    name = "connected-accounts",
    version,
    about = "Connect, inspect, test, refresh and disconnect your OAuth accounts",
    after_help = "Run without a command to open the window.\n\
                  Exit codes: 0 success, 1 failure, 2 usage or refused confirmation, 3 needs reconnect."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// List providers, or add one by its issuer URL
    Providers(ProvidersArgs),
    /// Sign in to a provider in the browser and connect the account
    Connect {
        /// The provider's id (see `connected-accounts providers`)
        provider: String,
        /// A scope to request instead of the provider's defaults (repeatable)
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// How long to wait for the browser, in seconds
        #[arg(long, default_value_t = 300, value_name = "SECS")]
        timeout: u64,
        /// How the sign-in comes back: a loopback redirect, or a code entered in any browser
        #[arg(long, value_enum, default_value_t = Redirect::Loopback)]
        redirect: Redirect,
        /// Change the scopes of this existing account instead (PROVIDER is then ignored): its
        /// granted scopes plus each --scope, less each --drop-scope
        #[arg(long, value_name = "ACCOUNT")]
        account: Option<String>,
        /// With --account: a scope to give up (repeatable)
        #[arg(long = "drop-scope", value_name = "SCOPE", requires = "account")]
        drop_scopes: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// List connected accounts
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one account
    Show {
        /// Account id, a unique id prefix, or the account's e-mail
        account: String,
        #[arg(long)]
        json: bool,
    },
    /// Call the provider's user endpoint with the account's token and show the answer
    Test {
        account: String,
        #[arg(long)]
        json: bool,
    },
    /// Refresh the account's access token now
    Refresh {
        account: String,
        #[arg(long)]
        json: bool,
    },
    /// Disconnect: revoke the tokens at the provider and forget the account
    Revoke {
        account: String,
        /// Do not ask; where the provider cannot revoke, remove locally and warn
        #[arg(long)]
        yes: bool,
        #[arg(long)]
        json: bool,
    },
    /// Print only an access token that stays valid for at least the refresh margin
    Token { account: String },
    /// Finish or roll back operations an interruption left half done (the window does this
    /// after it starts)
    Recover {
        #[arg(long)]
        json: bool,
    },
    /// Show the security audit log, newest first
    Audit {
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Remove all my data: disconnect every account (revoking where the provider allows),
    /// delete this app's keychain entries, its database and its logs
    ForgetAll {
        /// Required: there is no undo
        #[arg(long)]
        yes: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Redirect {
    Loopback,
    Device,
    /// The app's custom URI scheme: only the window can receive it.
    Scheme,
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
struct ProvidersArgs {
    #[command(subcommand)]
    action: Option<ProvidersAction>,
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum ProvidersAction {
    /// Set up a built-in provider with the client ID of the app you registered there
    Configure {
        /// The provider's id (see `connected-accounts providers`)
        provider: String,
        #[arg(long, value_name = "ID")]
        client_id: String,
        /// Read the client secret from standard input (GitHub and Google require theirs)
        #[arg(long)]
        client_secret_stdin: bool,
        /// A provider setting, e.g. `--set base=https://gitlab.example.com` or `--set tenant=organizations`
        #[arg(long = "set", value_name = "NAME=VALUE")]
        params: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Add an OpenID provider from its issuer URL (endpoints come from discovery)
    Add {
        #[arg(long, value_name = "URL")]
        issuer: String,
        #[arg(long, value_name = "ID")]
        client_id: String,
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// A scope to request by default (repeatable; default: what the server supports among
        /// openid, profile, email, offline_access)
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// The user ("who am I") endpoint, when no metadata document gives one
        #[arg(long, value_name = "URL")]
        userinfo_url: Option<String>,
        /// The RFC 7009 revocation endpoint, when no metadata document gives one
        #[arg(long, value_name = "URL")]
        revocation_url: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

/// A failure already reported to the user, with its exit code.
struct Exit(u8);

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(command) = cli.command else {
        return match window::start() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => report(&e).into(),
        };
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Exit(code)) => ExitCode::from(code),
    }
}

async fn run(command: Command) -> Result<(), Exit> {
    let engine = Engine::open_from_env()
        .await
        .map_err(|e| Exit(report(&e)))?;
    let _log = ca_core::logging::init(engine.paths(), "cli");
    let result = execute(&engine, command).await;
    engine.close().await;
    result.map_err(|e| match e {
        Failure::Reported(code) => Exit(code),
        Failure::Core(e) => Exit(report(&e)),
    })
}

enum Failure {
    Core(Error),
    Reported(u8),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Core(e)
    }
}

async fn execute(engine: &Engine, command: Command) -> Result<(), Failure> {
    match command {
        Command::Providers(ProvidersArgs { action: None, json }) => {
            let providers = engine.providers().await?;
            if json {
                print_json(&providers);
            } else if providers.is_empty() {
                eprintln!("No providers yet. Add one with: connected-accounts providers add --issuer URL --client-id ID");
            } else {
                for p in &providers {
                    println!(
                        "{}\t{}\t{}\t{}",
                        safe(&p.id),
                        safe(&p.name),
                        configured(p),
                        p.capabilities
                            .redirect_kinds
                            .iter()
                            .map(|k| k.as_str())
                            .collect::<Vec<_>>()
                            .join(",")
                    );
                }
            }
        }
        Command::Providers(ProvidersArgs {
            action:
                Some(ProvidersAction::Configure {
                    provider,
                    client_id,
                    client_secret_stdin,
                    params,
                    json,
                }),
            ..
        }) => {
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
        }
        Command::Providers(ProvidersArgs {
            action:
                Some(ProvidersAction::Add {
                    issuer,
                    client_id,
                    name,
                    scopes,
                    userinfo_url,
                    revocation_url,
                    json,
                }),
            ..
        }) => {
            let p = engine
                .add_provider(NewProvider {
                    issuer,
                    client_id,
                    name,
                    scopes,
                    userinfo_endpoint: userinfo_url,
                    revocation_endpoint: revocation_url,
                })
                .await?;
            if json {
                print_json(&p);
            } else {
                println!("{}", safe(&p.id));
            }
        }
        Command::Connect {
            provider,
            scopes,
            timeout,
            redirect,
            account,
            drop_scopes,
            json,
        } => {
            if let Some(account) = account {
                if redirect != Redirect::Loopback {
                    return Err(Error::invalid_input(
                        "changing an account's scopes uses the browser sign-in",
                        "leave out --redirect",
                    )
                    .into());
                }
                let request = ConnectRequest::account_scopes(account, scopes, drop_scopes)
                    .timeout(Duration::from_secs(timeout))
                    .open_browser(true);
                let started = engine.connect_begin(request).await?;
                let a = wait_for_browser(engine, started).await?;
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
            let scopes = (!scopes.is_empty()).then_some(scopes);
            let account = match redirect {
                Redirect::Scheme => {
                    return Err(Error::invalid_input(
                        "the custom-scheme redirect needs the window: the desktop hands the callback URL to the running app",
                        "use --redirect loopback or --redirect device here, or connect from the window",
                    )
                    .into());
                }
                Redirect::Loopback => connect_loopback(engine, &provider, scopes, timeout).await?,
                Redirect::Device => connect_device(engine, &provider, scopes).await?,
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
        }
        Command::List { json } => {
            let accounts = engine.accounts().await?;
            if json {
                print_json(&accounts);
            } else if accounts.is_empty() {
                eprintln!(
                    "No accounts yet. Connect one with: connected-accounts connect PROVIDER_ID"
                );
            } else {
                for a in &accounts {
                    print_line(a);
                }
            }
        }
        Command::Show { account, json } => {
            let a = engine.account(&account).await?;
            if json {
                print_json(&a);
            } else {
                print_details(&a);
            }
        }
        Command::Test { account, json } => {
            let r = engine.test_account(&account).await?;
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
        }
        Command::Refresh { account, json } => {
            let a = engine.refresh(&account).await?;
            if json {
                print_json(&a);
            } else {
                eprintln!("Refreshed {}.", safe(&a.display_name));
                print_line(&a);
            }
        }
        Command::Revoke { account, yes, json } => {
            let outcome = revoke(engine, &account, yes).await?;
            if let DisconnectOutcome::RemovedLocally { warning } = &outcome {
                eprintln!("warning: {}", for_terminal_lines(warning));
            }
            if json {
                print_json(&outcome);
            } else {
                eprintln!("Disconnected.");
            }
        }
        Command::Token { account } => {
            let token = engine.access_token(&account).await?;
            let mut out = std::io::stdout().lock();
            if writeln!(out, "{}", token.expose())
                .and_then(|()| out.flush())
                .is_err()
            {
                eprintln!("error: could not write the token to standard output");
                return Err(Failure::Reported(1));
            }
        }
        Command::ForgetAll { yes, json } => {
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
        }
        Command::Recover { json } => {
            let accounts = engine.recover_interrupted().await?;
            if json {
                print_json(&accounts);
            } else {
                for a in &accounts {
                    print_line(a);
                }
            }
        }
        Command::Audit { limit, json } => {
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
        }
    }
    Ok(())
}

async fn connect_loopback(
    engine: &Engine,
    provider: &str,
    scopes: Option<Vec<String>>,
    timeout: u64,
) -> Result<Account, Failure> {
    let request = ConnectRequest::provider(provider)
        .scopes(scopes)
        .timeout(Duration::from_secs(timeout))
        .open_browser(true);
    let started = engine.connect_begin(request).await?;
    wait_for_browser(engine, started).await
}

async fn wait_for_browser(
    engine: &Engine,
    started: ca_core::ConnectStarted,
) -> Result<Account, Failure> {
    eprintln!(
        "Opening your browser to sign in to {}. If it does not open, visit:\n  {}\nWaiting up to {} s (Ctrl-C cancels)…",
        safe(&started.provider),
        safe(&started.browser_url),
        started.timeout_secs
    );
    finish_or_cancel(
        engine,
        &started.flow_id,
        engine.connect_finish(&started.flow_id),
    )
    .await
}

/// Waits for a sign-in; Ctrl-C cancels it (and still waits for it to wind down).
async fn finish_or_cancel(
    engine: &Engine,
    flow_id: &str,
    finish: impl std::future::Future<Output = ca_core::Result<Account>>,
) -> Result<Account, Failure> {
    tokio::pin!(finish);
    Ok(tokio::select! {
        r = &mut finish => r?,
        _ = tokio::signal::ctrl_c() => {
            engine.connect_cancel(flow_id);
            finish.await?
        }
    })
}

async fn connect_device(
    engine: &Engine,
    provider: &str,
    scopes: Option<Vec<String>>,
) -> Result<Account, Failure> {
    let request = ConnectRequest::provider(provider)
        .scopes(scopes)
        .open_browser(true);
    let started = engine.device_begin(request).await?;
    eprintln!(
        "To sign in to {}, open {} in any browser and enter the code:\n\n    {}\n\nWaiting up to {} s (Ctrl-C cancels)…",
        safe(&started.provider),
        safe(&started.verification_uri),
        safe(&started.user_code),
        started.expires_in_secs
    );
    finish_or_cancel(
        engine,
        &started.flow_id,
        engine.device_finish(&started.flow_id),
    )
    .await
}

async fn revoke(engine: &Engine, account: &str, yes: bool) -> Result<DisconnectOutcome, Failure> {
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
async fn ask(question: String) -> Result<bool, Failure> {
    tokio::task::spawn_blocking(move || confirm(&question))
        .await
        .map_err(|_| Failure::Reported(1))?
}

/// Asks on the terminal; without one, refuses (scripts pass `--yes`).
fn confirm(question: &str) -> Result<bool, Failure> {
    if !std::io::stdin().is_terminal() {
        eprintln!("error: refusing to disconnect without confirmation\nhint: run it in a terminal to be asked, or pass --yes");
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

fn configured(p: &ProviderView) -> &'static str {
    if !p.configured {
        "not configured"
    } else {
        "configured"
    }
}

fn print_json<T: Serialize + ?Sized>(value: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("serializable")
    );
}

fn print_line(a: &Account) {
    println!(
        "{}\t{}\t{}{}\t{}\t{}",
        a.id,
        safe(&a.provider),
        safe(&a.display_name),
        a.email
            .as_deref()
            .map(|e| format!(" <{}>", safe(e)))
            .unwrap_or_default(),
        a.status.as_str(),
        a.expires_at.as_deref().unwrap_or("no expiry"),
    );
}

fn print_details(a: &Account) {
    let missing: Vec<&str> = a
        .scopes_requested
        .iter()
        .filter(|s| !a.scopes_granted.contains(s))
        .map(String::as_str)
        .collect();
    println!("id:        {}", a.id);
    println!(
        "provider:  {} ({})",
        safe(&a.provider_name),
        safe(&a.provider)
    );
    println!("name:      {}", safe(&a.display_name));
    println!("subject:   {}", safe(&a.subject));
    println!("email:     {}", safe(a.email.as_deref().unwrap_or("-")));
    println!("status:    {}", a.status.as_str());
    println!(
        "expires:   {}",
        a.expires_at.as_deref().unwrap_or("no expiry")
    );
    println!(
        "granted:   {}{}",
        safe(&a.scopes_granted.join(" ")),
        if a.scopes_source == ca_core::ScopesSource::Requested {
            " (as requested; the server did not say)"
        } else {
            ""
        }
    );
    if !missing.is_empty() {
        println!("not granted: {}", safe(&missing.join(" ")));
    }
    if let Some(e) = &a.last_error {
        println!("last error: {}", safe(e));
    }
}

/// Prints the error and its hint on stderr; returns the exit code for its kind.
fn report(e: &Error) -> u8 {
    tracing::warn!(kind = ?e.kind, "{}", e.detailed());
    eprintln!("error: {}", for_terminal_lines(&e.message));
    if let Some(h) = &e.hint {
        eprintln!("hint: {}", for_terminal_lines(h));
    }
    match e.kind {
        ErrorKind::NeedsReconnect => 3,
        ErrorKind::InvalidInput => 2,
        _ => 1,
    }
}
