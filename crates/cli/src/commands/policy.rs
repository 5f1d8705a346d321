//! `policy`: who may read an account's token; and the leave every token read of the command line
//! asks the account's policy for first (`token`, `exec`, `git-credential get`).

use ca_core::approval::{self, Purpose, Reply, Request};
use ca_core::consumer::Consumer;
use ca_core::policy::{Changer, Clearance, NobodyReason, ReadGate, Refusal};
use ca_core::text::for_terminal as safe;
use ca_core::{Engine, Error, ErrorKind, Policy};

use super::Outcome;
use crate::output::{policy_text, print_json};

/// Whether this command may put a question to the person.
#[derive(Debug, Clone, Copy)]
pub struct Asking {
    /// `--no-interactive`.
    pub refused: bool,
}

impl Asking {
    /// Why nobody can be asked here, if nobody can: a non-interactive caller (`--no-interactive`,
    /// or `CI` set, as CI systems do), or no display for the window to ask on.
    fn nobody(self) -> Option<NobodyReason> {
        let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
        if self.refused || set("CI") {
            Some(NobodyReason::NonInteractive)
        } else if !set("DISPLAY") && !set("WAYLAND_DISPLAY") {
            Some(NobodyReason::NoDisplay)
        } else {
            None
        }
    }
}

/// Puts the request to the app (started resident if it is not running).
async fn ask_app(engine: &Engine, request: &Request) -> ca_core::Result<Reply> {
    approval::ask(engine.paths(), request, crate::window::start_resident).await
}

pub async fn set(
    engine: &Engine,
    account: &str,
    policy: Policy,
    json: bool,
    asking: Asking,
) -> Outcome {
    let now = engine.account(account).await?;
    // The command line is a program: it may tighten a policy. Loosening is the person's to
    // decide, in the window; with nobody to ask, the core refuses it.
    let a = if policy < now.policy && asking.nobody().is_none() {
        let request = Request {
            account: now.id.clone(),
            purpose: Purpose::Loosen { policy },
        };
        match ask_app(engine, &request).await {
            Ok(Reply::Allowed) => engine.account(&now.id).await?,
            Ok(Reply::Denied) => {
                return Err(Error::new(
                    ErrorKind::PolicyRefused,
                    format!(
                        "you kept the access policy of {} at {}",
                        now.display_name,
                        now.policy.as_str()
                    ),
                )
                .into())
            }
            Ok(Reply::NoAnswer) => {
                return Err(Error::new(
                    ErrorKind::PolicyRefused,
                    "nobody answered the question in the window; the policy is unchanged",
                )
                .into())
            }
            Ok(Reply::Refused { message }) => {
                return Err(Error::new(ErrorKind::PolicyRefused, message).into())
            }
            Err(e) => {
                return Err(Error::new(
                    ErrorKind::PolicyRefused,
                    format!("{}; the policy is unchanged", e.message),
                )
                .into())
            }
        }
    } else {
        engine.set_policy(&now.id, policy, Changer::Program).await?
    };
    if json {
        print_json(&a);
    } else {
        eprintln!(
            "{}'s access policy: {}",
            safe(&a.display_name),
            policy_text(a.policy)
        );
    }
    Ok(())
}

/// The account's leave for `reader` to read its token: `allow` gives it, `deny` refuses (and the
/// refusal is audited with the reader), `ask` puts the question to the person in the window.
pub async fn clearance(
    engine: &Engine,
    account: &str,
    reader: &Consumer,
    detail: &str,
    purpose: Purpose,
    asking: Asking,
) -> ca_core::Result<Clearance> {
    let account = match engine.clear_read(account, reader, detail).await? {
        ReadGate::Open(cleared) => return Ok(cleared),
        ReadGate::Ask(account) => account,
    };
    // Never a silent grant: with nobody to ask, the read is refused.
    let id = account.id.as_str();
    if let Some(why) = asking.nobody() {
        return Err(engine
            .refuse_read(id, reader, detail, Refusal::NobodyToAsk(why))
            .await);
    }
    let request = Request {
        account: account.id.clone(),
        purpose,
    };
    let refused = |why| engine.refuse_read(id, reader, detail, why);
    match ask_app(engine, &request).await {
        Ok(Reply::Allowed) => Ok(Clearance::approved(id)),
        Ok(Reply::Denied) => Err(refused(Refusal::PersonDenied).await),
        Ok(Reply::NoAnswer) => Err(refused(Refusal::NobodyToAsk(NobodyReason::NoAnswer)).await),
        Ok(Reply::Refused { message }) => {
            let _ = refused(Refusal::NobodyToAsk(NobodyReason::AppUnreachable)).await;
            Err(Error::new(ErrorKind::PolicyRefused, message))
        }
        Err(e) => {
            tracing::warn!(error = %e.detailed(), "asking the app failed");
            let mut error = refused(Refusal::NobodyToAsk(NobodyReason::AppUnreachable)).await;
            error.hint = Some(e.message);
            Err(error)
        }
    }
}
