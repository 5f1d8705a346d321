//! What the command line prints: human text (every outside string escaped for the terminal),
//! JSON for scripts, and errors with their hint and remedy worded as commands to type.

use ca_core::text::{for_terminal as safe, for_terminal_lines};
use ca_core::{Account, Error, ErrorKind, ProviderView, Remedy};
use serde::Serialize;

pub fn print_json<T: Serialize + ?Sized>(value: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("serializable")
    );
}

pub fn provider_line(p: &ProviderView) {
    let kinds: Vec<&str> = p
        .capabilities
        .redirect_kinds
        .iter()
        .map(|k| k.as_str())
        .collect();
    println!(
        "{}\t{}\t{}\t{}",
        safe(&p.id),
        safe(&p.name),
        if p.configured {
            "configured"
        } else {
            "not configured"
        },
        kinds.join(",")
    );
}

pub fn account_line(a: &Account) {
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

/// An access policy as `show` and `policy` word it.
pub fn policy_text(p: ca_core::Policy) -> &'static str {
    match p {
        ca_core::Policy::Allow => "allow (any program of yours gets its token)",
        ca_core::Policy::Ask => "ask (the window asks you before a program gets its token)",
        ca_core::Policy::Deny => "deny (no program gets its token through Connected Accounts)",
    }
}

pub fn account_details(a: &Account) {
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
    println!("policy:    {}", policy_text(a.policy));
    if let Some(r) = &a.resource {
        println!("resource:  {}", safe(r));
    }
    if a.bound {
        println!("tokens:    bound to this device (DPoP): use `connected-accounts request`");
    }
    println!(
        "expires:   {}",
        a.expires_at.as_deref().unwrap_or("no expiry")
    );
    if let Some(end) = &a.sign_in_ends_at {
        println!("sign-in:   lasts until {end}");
    }
    if let Some(end) = &a.idle_ends_at {
        println!("unused:    ends {end} unless refreshed (the resident app refreshes it)");
    }
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

/// A remedy as the command to type (or the thing to do) here.
pub fn remedy_text(r: &Remedy) -> String {
    match r {
        Remedy::ConfigureProvider {
            provider,
            client_secret,
        } => format!(
            "run `connected-accounts providers configure {} --client-id ID{}`",
            safe(provider),
            if *client_secret {
                " --client-secret-stdin"
            } else {
                ""
            }
        ),
        Remedy::CheckClient { provider_name } => format!(
            "check the client ID and secret set up for {} (`connected-accounts providers configure`)",
            safe(provider_name)
        ),
        Remedy::ListProviders => "run `connected-accounts providers` to see the providers, or add one with `connected-accounts providers add --issuer URL`".into(),
        Remedy::ListAccounts => "run `connected-accounts list` to see the accounts and their ids".into(),
        Remedy::DisconnectAccountsFirst { provider } => format!(
            "disconnect them first, or run `connected-accounts providers remove {} --disconnect-accounts`",
            safe(provider)
        ),
        Remedy::EnterUserEndpoint => "enter its userinfo URL by hand (--userinfo-url)".into(),
        Remedy::UseBrowserSignIn => "sign in through the browser instead (--redirect loopback)".into(),
        Remedy::Reconnect { provider, .. } => format!(
            "connect the account again: `connected-accounts connect {}`",
            safe(provider)
        ),
        Remedy::UnlockKeychain => {
            "unlock your keychain (log in again, or open Passwords and Keys) and retry".into()
        }
        Remedy::InstallSecretService => "Connected Accounts keeps tokens only in the system keychain. On Linux, \
            install and unlock a Secret Service provider (for example `sudo apt install gnome-keyring`, then log \
            out and in again); it never falls back to storing tokens in a plain file"
            .into(),
        Remedy::SetupGit { host } => format!(
            "choose the account git uses there: `connected-accounts setup-git --account ACCOUNT --host {}`",
            safe(host)
        ),
        Remedy::AllowOrigin { origin } => format!(
            "if that host is meant to get the token, name it: `--allow-origin {}`",
            safe(origin)
        ),
        Remedy::UseRequest { account } => format!(
            "use `connected-accounts request {} URL`, which signs each call with the device's key",
            safe(account)
        ),
    }
}

/// Prints the error with its hint and remedy on stderr; returns the exit code for its kind.
pub fn report(e: &Error) -> u8 {
    tracing::warn!(kind = ?e.kind, "{}", e.detailed());
    eprintln!("error: {}", for_terminal_lines(&e.message));
    let hint = [e.hint.clone(), e.remedy.as_ref().map(remedy_text)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("; ");
    if !hint.is_empty() {
        eprintln!("hint: {}", for_terminal_lines(&hint));
    }
    match e.kind {
        ErrorKind::TokenBound => 5,
        ErrorKind::PolicyRefused => 4,
        ErrorKind::NeedsReconnect => 3,
        ErrorKind::InvalidInput => 2,
        _ => 1,
    }
}
