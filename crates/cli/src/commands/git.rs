//! Git's doors: `git-credential get|store|erase` (git's credential helper protocol on stdin and
//! stdout) and `setup-git`, which makes this program the helper for a host in the user's global
//! git config, as gh does.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::process::Command;

use ca_core::approval::Purpose;
use ca_core::consumer::{Consumer, ReadKind};
use ca_core::git::{self, GitRule};
use ca_core::refresh::EXEC_VALIDITY;
use ca_core::text::for_terminal as safe;
use ca_core::Engine;
use zeroize::Zeroizing;

use super::policy::{self, Asking};
use super::{Failure, Outcome};
use crate::args::{GitAction, SetupGitArgs};
use crate::output::{self, print_json};

/// `CONNECTED_ACCOUNTS_ACCOUNT` overrides every rule for one command.
const OVERRIDE: &str = "CONNECTED_ACCOUNTS_ACCOUNT";

/// Git's request: `key=value` lines up to a blank line or the end of input.
fn read_request() -> BTreeMap<String, String> {
    let mut request = BTreeMap::new();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.is_empty() {
            break;
        }
        if let Some((key, value)) = line.split_once('=') {
            request.insert(key.to_owned(), value.to_owned());
        }
    }
    request
}

/// Tells git to stop asking (no password prompt follows) and the person why, on one line.
fn quit(why: &str) -> Outcome {
    eprintln!("connected-accounts: {why}");
    println!("quit=1");
    Ok(())
}

pub async fn credential(engine: &Engine, action: GitAction, asking: Asking) -> Outcome {
    let request = read_request();
    match action {
        // Git must never hand us a token to keep: ours are in the keychain already.
        GitAction::Store => Ok(()),
        GitAction::Get => get(engine, &request, asking).await,
        GitAction::Erase => erase(engine, &request).await,
    }
}

async fn get(engine: &Engine, request: &BTreeMap<String, String>, asking: Asking) -> Outcome {
    let Some(host) = request.get("host").filter(|h| !h.is_empty()) else {
        return quit("git asked without naming a host");
    };
    match request.get("protocol").map(String::as_str) {
        Some("https") => {}
        Some("http") if git::is_loopback(host) => {}
        other => {
            return quit(&format!(
                "refusing to send a token to {}://{} (only https, or http on this machine)",
                safe(other.unwrap_or("?")),
                safe(host)
            ))
        }
    }
    let path = request.get("path").map(String::as_str);
    let overridden = std::env::var(OVERRIDE).ok().filter(|v| !v.is_empty());
    let (row, _) = match engine
        .git_account(
            host,
            path,
            request.get("username").map(String::as_str),
            overridden.as_deref(),
        )
        .await
    {
        Ok(found) => found,
        Err(e) => return quit(&one_line(&e)),
    };
    let reader = Consumer::calling_process_through_shell(ReadKind::GitCredential);
    let detail = format!("git for {host}/{}", path.unwrap_or(""));
    let purpose = Purpose::Git {
        host: host.to_owned(),
        path: path.unwrap_or("").to_owned(),
    };
    let cleared = match policy::clearance(engine, &row.id, &reader, &detail, purpose, asking).await
    {
        Ok(c) => c,
        Err(e) => return quit(&one_line(&e)),
    };
    let token = match engine
        .token_for_tool(&row.id, &reader, &detail, EXEC_VALIDITY, &cleared)
        .await
    {
        Ok(t) => t,
        Err(e) => return quit(&one_line(&e)),
    };
    let mut out = std::io::stdout().lock();
    // The answer holds the token: wiped when it goes out of scope, like the token itself.
    let mut answer = Zeroizing::new(format!(
        "username={}\npassword={}\n",
        token.git.username,
        token.access_token.expose()
    ));
    if let Some(exp) = token.expires_at_ms {
        // Git 2.41+ drops a cached credential at this time instead of sending a dead one.
        answer.push_str(&format!("password_expiry_utc={}\n", exp / 1000));
    }
    if out
        .write_all(answer.as_bytes())
        .and_then(|()| out.flush())
        .is_err()
    {
        return Err(Failure::Reported(1));
    }
    Ok(())
}

async fn erase(engine: &Engine, request: &BTreeMap<String, String>) -> Outcome {
    let (Some(host), Some(password)) = (request.get("host"), request.get("password")) else {
        return Ok(());
    };
    let overridden = std::env::var(OVERRIDE).ok().filter(|v| !v.is_empty());
    let Ok((row, _)) = engine
        .git_account(
            host,
            request.get("path").map(String::as_str),
            request.get("username").map(String::as_str),
            overridden.as_deref(),
        )
        .await
    else {
        return Ok(());
    };
    // Only the current token is marked refused; the account itself is never deleted here.
    if let Err(e) = engine.token_refused(&row.id, password).await {
        eprintln!("connected-accounts: {}", one_line(&e));
    }
    Ok(())
}

/// An error and its remedy on one line, for git's terminal.
fn one_line(e: &ca_core::Error) -> String {
    let mut text = safe(&e.message).to_string();
    if let Some(r) = &e.remedy {
        text += &format!("; {}", output::remedy_text(r));
    } else if let Some(h) = &e.hint {
        text += &format!("; {}", safe(h));
    }
    text
}

// --- setup-git ---------------------------------------------------------------------------------

fn git_config(args: &[&str]) -> Result<(bool, String), Failure> {
    let out = Command::new("git")
        .arg("config")
        .arg("--global")
        .args(args)
        .output()
        .map_err(|e| {
            eprintln!("error: cannot run git ({e}); is git installed?");
            Failure::Reported(1)
        })?;
    Ok((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ))
}

fn git_config_ok(args: &[&str]) -> Result<(), Failure> {
    match git_config(args)? {
        (true, _) => Ok(()),
        (false, _) => {
            eprintln!("error: `git config --global {}` failed", args.join(" "));
            Err(Failure::Reported(1))
        }
    }
}

/// Our helper line: this binary by its absolute path, quoted for the shell git runs it with.
fn helper_value() -> Result<String, Failure> {
    let exe = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .map_err(|e| {
            eprintln!("error: cannot find this program's own path: {e}");
            Failure::Reported(1)
        })?;
    let exe = exe.to_string_lossy().replace('\'', r"'\''");
    Ok(format!("!'{exe}' git-credential"))
}

fn helpers(url: &str) -> Result<Vec<String>, Failure> {
    let (_, out) = git_config(&["--get-all", &format!("credential.{url}.helper")])?;
    Ok(out.lines().map(str::to_owned).collect())
}

pub async fn setup(engine: &Engine, args: SetupGitArgs, json: bool) -> Outcome {
    // Undoing works for an account that is gone too (given --host).
    let account = match engine.account(&args.account).await {
        Ok(a) => Some(a),
        Err(_) if args.undo && args.host.is_some() => None,
        Err(e) => return Err(e.into()),
    };
    let profile = match &account {
        Some(a) => Some(engine.git_profile(&a.id).await?),
        None => None,
    };
    let Some(host) = args
        .host
        .clone()
        .map(|h| h.to_ascii_lowercase())
        .or_else(|| profile.as_ref().and_then(|p| p.host.clone()))
    else {
        eprintln!(
            "error: {} has no git host of its own; name the server with --host",
            account
                .as_ref()
                .map(|a| safe(&a.provider_name).to_string())
                .unwrap_or_default()
        );
        return Err(Failure::Reported(2));
    };
    if host.is_empty() || host.contains(['/', ' ', '@', '\n', '"', '\'']) || host.contains("://") {
        eprintln!("error: --host takes a host name, with a port if needed (git.example.com:8443), not a URL");
        return Err(Failure::Reported(2));
    }
    let path = git::normalize_path(&args.path);
    let mut urls = vec![format!("https://{host}")];
    if git::is_loopback(&host) {
        urls.push(format!("http://{host}"));
    }
    let ours = helper_value()?;
    let (Some(account), Some(profile), false) = (account, profile, args.undo) else {
        return undo(engine, &host, &path, &urls, &ours, json).await;
    };

    for url in &urls {
        let key = format!("credential.{url}.helper");
        let current = helpers(url)?;
        if !current.contains(&ours) {
            // An empty helper first resets the list for this URL: otherwise a `store` helper the
            // user already has would be handed our token by git's `store` call and write it in
            // plain text to ~/.git-credentials.
            if current.first().map(String::as_str) != Some("") {
                git_config_ok(&["--add", &key, ""])?;
            }
            git_config_ok(&["--add", &key, &ours])?;
        }
    }
    let mut set_use_http_path = false;
    if !path.is_empty() {
        for url in &urls {
            let key = format!("credential.{url}.useHttpPath");
            if git_config(&["--type=bool", "--get", &key])?.1.trim() != "true" {
                git_config_ok(&[&key, "true"])?;
                set_use_http_path = true;
            }
        }
    }
    engine
        .set_git_rule(&GitRule {
            host: host.clone(),
            path: path.clone(),
            account_id: account.id.clone(),
            set_use_http_path,
        })
        .await?;

    let missing_scope = profile.missing_scopes(&account.scopes_granted).is_some();
    if json {
        print_json(&serde_json::json!({
            "host": host, "path": path, "account": account.id, "scopes_ok": !missing_scope,
        }));
    } else {
        eprintln!(
            "git at https://{host}/{path} now uses {} ({}).",
            safe(&account.display_name),
            safe(&account.provider_name)
        );
    }
    if missing_scope {
        eprintln!(
            "warning: this account's scopes cannot do git at {}: it needs {}. Add one with: connected-accounts connect --account {} --scope {}",
            safe(&account.provider_name),
            profile.scopes.join(" or "),
            account.id,
            profile.scopes[0]
        );
    }
    Ok(())
}

async fn undo(
    engine: &Engine,
    host: &str,
    path: &str,
    urls: &[String],
    ours: &str,
    json: bool,
) -> Outcome {
    let removed = engine.remove_git_rule(host, path).await?;
    let left: Vec<GitRule> = engine
        .git_rules()
        .await?
        .into_iter()
        .filter(|r| r.host.eq_ignore_ascii_case(host))
        .collect();
    for url in urls {
        let section = format!("credential.{url}");
        if removed.as_ref().is_some_and(|r| r.set_use_http_path)
            && !left.iter().any(|r| !r.path.is_empty())
        {
            git_config(&["--unset", &format!("{section}.useHttpPath")])?;
        }
        if left.is_empty() {
            let key = format!("{section}.helper");
            git_config(&["--fixed-value", "--unset-all", &key, ours])?;
            // The reset line was ours if nothing but it is left.
            if helpers(url)? == [""] {
                git_config(&["--unset-all", &key])?;
            }
            let (any, _) =
                git_config(&["--get-regexp", &format!("^{}\\.", regex_escape(&section))])?;
            if !any {
                git_config(&["--remove-section", &section])?;
            }
        }
    }
    if json {
        print_json(
            &serde_json::json!({ "host": host, "path": path, "removed": removed.is_some() }),
        );
    } else if removed.is_some() {
        eprintln!("git at https://{host}/{path} no longer uses Connected Accounts.");
    } else {
        eprintln!("Nothing was set up for git at https://{host}/{path}.");
    }
    Ok(())
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if ".[]()*+?^$|\\{}".contains(c) {
                vec!['\\', c]
            } else {
                vec![c]
            }
        })
        .collect()
}

// --- status ------------------------------------------------------------------------------------

pub async fn status(
    engine: &Engine,
    host: Option<&str>,
    path: Option<&str>,
    json: bool,
) -> Outcome {
    let s = engine.status(host, path).await?;
    if json {
        print_json(&s);
        return Ok(());
    }
    match (&s.keychain.available, &s.keychain.error) {
        (true, _) => println!(
            "Tokens are kept in {} ({} entries of this app).",
            s.keychain.description,
            s.keychain.entries.unwrap_or(0)
        ),
        (false, e) => println!(
            "Tokens are kept in {}, which does not answer: {}",
            s.keychain.description,
            safe(e.as_deref().unwrap_or("unknown error"))
        ),
    }
    println!(
        "A browser {}.",
        match &s.browser {
            ca_core::browser::BrowserHere::Browser { command } =>
                format!("opens with $BROWSER ({})", safe(command)),
            ca_core::browser::BrowserHere::Desktop => "opens on this desktop".into(),
            ca_core::browser::BrowserHere::NoDisplay =>
                "cannot be opened here (no display): connect offers a device code or a pasted address".into(),
            ca_core::browser::BrowserHere::Ssh =>
                "is not opened in an SSH session: connect offers a device code or a pasted address".into(),
        }
    );
    if s.accounts.is_empty() {
        println!("No accounts.");
    }
    for a in &s.accounts {
        crate::output::account_line(a);
        if let Some(e) = &a.last_error {
            println!("    last error: {}", safe(e));
        }
    }
    for r in &s.git_rules {
        println!(
            "git: https://{}/{} uses {}",
            safe(&r.host),
            safe(&r.path),
            r.account_id
        );
    }
    if let Some(g) = &s.git {
        let at = format!(
            "{}/{}",
            safe(&g.host),
            safe(g.path.as_deref().unwrap_or(""))
        );
        match (&g.account, &g.why, &g.error) {
            (Some(account), Some(why), _) => println!(
                "git at {at} would use {account}: {}",
                match why {
                    git::Chosen::Override => format!("{OVERRIDE} names it"),
                    git::Chosen::Username => "git's request names it".into(),
                    git::Chosen::Rule { path } if path.is_empty() =>
                        "the rule for the whole host".into(),
                    git::Chosen::Rule { path } => format!("the rule for {}", safe(path)),
                }
            ),
            (_, _, e) => println!(
                "git at {at} would get no token: {}",
                safe(e.as_deref().unwrap_or("?"))
            ),
        }
    }
    Ok(())
}
