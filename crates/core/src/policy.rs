//! Who may read an account's token through the app: its access policy, and the clearance a read
//! needs before the keychain is opened.
//!
//! This governs what goes through Connected Accounts (`token`, `exec`, the git helper). A program
//! running as the same user can still read the Secret Service itself; the README says so.

pub use crate::account::Policy;
use crate::account::{self, AccountRow};
use crate::audit::{self, AuditKind};
use crate::consumer::Consumer;
use crate::db::{now_ms, Db};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::Account;

/// Who is changing a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changer {
    /// The person, by a click in the window.
    Person,
    /// A program (the command line): it may tighten a policy, never loosen one, or a program
    /// that was refused could lift its own refusal.
    Program,
}

/// Why a read is refused, for the message and the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The policy is `deny`.
    Denied,
    /// The policy is `ask` and nobody can be asked here (no display, a non-interactive caller,
    /// or no answer in time).
    NobodyToAsk(NobodyReason),
    /// The policy is `ask` and the person said no.
    PersonDenied,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NobodyReason {
    NoDisplay,
    NonInteractive,
    NoAnswer,
    /// The app, which puts the question, could not be reached or started.
    AppUnreachable,
}

impl Refusal {
    fn audit_detail(self) -> &'static str {
        match self {
            Self::Denied => "policy deny",
            Self::NobodyToAsk(NobodyReason::NoDisplay) => "policy ask: no display to ask on",
            Self::NobodyToAsk(NobodyReason::NonInteractive) => {
                "policy ask: a non-interactive caller"
            }
            Self::NobodyToAsk(NobodyReason::NoAnswer) => "policy ask: no answer in time",
            Self::NobodyToAsk(NobodyReason::AppUnreachable) => {
                "policy ask: the app could not be reached"
            }
            Self::PersonDenied => "policy ask: the person denied it",
        }
    }

    fn message(self, account: &str) -> String {
        let why = match self {
            Self::Denied => "it allows no program to read its token",
            Self::NobodyToAsk(NobodyReason::NoDisplay) => {
                "it asks you first, and there is no display here to ask on"
            }
            Self::NobodyToAsk(NobodyReason::NonInteractive) => {
                "it asks you first, and this caller is not interactive (--no-interactive or CI)"
            }
            Self::NobodyToAsk(NobodyReason::NoAnswer) => {
                "it asks you first, and nobody answered in time"
            }
            Self::NobodyToAsk(NobodyReason::AppUnreachable) => {
                "it asks you first, and the Connected Accounts app could not be reached to ask you"
            }
            Self::PersonDenied => "you denied this program in the window",
        };
        format!("refused by your access policy for {account}: {why}")
    }
}

/// Leave to read an account's token: only [`Engine::clear_read`] (policy `allow`) and
/// [`Clearance::approved`] (the person said yes) make one, and every token read takes one.
#[derive(Debug, Clone)]
pub struct Clearance {
    account_id: String,
    /// The policy it was given under: a stricter one since then refuses the read.
    under: Policy,
}

impl Clearance {
    /// The person approved this read in the window (`ask`).
    pub fn approved(account_id: &str) -> Self {
        Self {
            account_id: account_id.to_owned(),
            under: Policy::Ask,
        }
    }

    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    pub(crate) fn check(&self, row: &AccountRow) -> Result<()> {
        if self.account_id != row.id {
            return Err(Error::internal("a read was cleared for another account"));
        }
        if row.policy() > self.under {
            return Err(Error::new(
                ErrorKind::PolicyRefused,
                format!(
                    "refused by your access policy for {}: it changed to {} while this program waited",
                    row.display_name,
                    row.policy().as_str()
                ),
            ));
        }
        Ok(())
    }
}

/// What the account's policy says of a read, before anything is read.
#[derive(Debug, Clone)]
pub enum ReadGate {
    /// `allow`: read on.
    Open(Clearance),
    /// `ask`: the person must approve it first.
    Ask(Box<Account>),
}

pub(crate) async fn set(db: &Db, id: &str, policy: Policy) -> Result<()> {
    sqlx::query("UPDATE accounts SET policy = ?, updated_at = ? WHERE id = ?")
        .bind(policy.as_str())
        .bind(now_ms())
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

impl Engine {
    /// Whether `reader` may read the account's token under its policy. A `deny` is refused here
    /// (and audited with the reader); an `ask` is for the face to put to the person.
    pub async fn clear_read(
        &self,
        query: &str,
        reader: &Consumer,
        detail: &str,
    ) -> Result<ReadGate> {
        let row = account::resolve(&self.db, query).await?;
        // A bound token is useless outside the app: refused before anyone is asked.
        if row.dpop_bound && reader.kind.hands_out_token() {
            self.audit_refused_read(&row, reader, detail, "its tokens are bound to this device")
                .await;
            return Err(bound_refusal(&row));
        }
        match row.policy() {
            Policy::Allow => Ok(ReadGate::Open(Clearance {
                account_id: row.id.clone(),
                under: Policy::Allow,
            })),
            Policy::Ask => Ok(ReadGate::Ask(Box::new(row.view(now_ms())))),
            Policy::Deny => Err(self
                .refuse_read(&row.id, reader, detail, Refusal::Denied)
                .await),
        }
    }

    /// Records a refused read with its reader, and returns the error that says why (exit 4 on
    /// the command line).
    pub async fn refuse_read(
        &self,
        account_id: &str,
        reader: &Consumer,
        detail: &str,
        why: Refusal,
    ) -> Error {
        let name = match account::get(&self.db, account_id).await {
            Ok(row) => {
                self.audit_refused_read(&row, reader, detail, why.audit_detail())
                    .await;
                row.display_name
            }
            Err(e) => return e,
        };
        Error::new(ErrorKind::PolicyRefused, why.message(&name))
    }

    /// Records in the audit log that `reader` was refused the account's token, and why.
    pub(crate) async fn audit_refused_read(
        &self,
        row: &account::AccountRow,
        reader: &Consumer,
        detail: &str,
        why: &str,
    ) {
        let what = format!("{detail}: {why}");
        audit::record_consumer(
            &self.db,
            AuditKind::ReadRefused,
            &row.id,
            &row.provider_id,
            reader,
            &what,
        )
        .await;
    }

    /// Sets an account's policy. A program may only tighten it; loosening needs the person.
    pub async fn set_policy(&self, query: &str, policy: Policy, by: Changer) -> Result<Account> {
        let row = account::resolve(&self.db, query).await?;
        let was = row.policy();
        if policy < was && by == Changer::Program {
            return Err(Error::new(
                ErrorKind::PolicyRefused,
                format!(
                    "loosening the access policy of {} from {} to {} needs a click in the window",
                    row.display_name,
                    was.as_str(),
                    policy.as_str()
                ),
            )
            .hint("open Connected Accounts and change it on the account's page"));
        }
        if policy != was {
            set(&self.db, &row.id, policy).await?;
            self.audit(
                AuditKind::PolicyChanged,
                &row,
                &format!("{} → {}", was.as_str(), policy.as_str()),
            )
            .await;
            self.accounts_changed();
        }
        Ok(account::get(&self.db, &row.id).await?.view(now_ms()))
    }
}

/// `token`, `exec` and git get no token of a bound account (exit 5, 125, `quit=1`).
pub(crate) fn bound_refusal(row: &AccountRow) -> Error {
    Error::new(
        ErrorKind::TokenBound,
        format!(
            "the tokens of {} are bound to this device",
            row.display_name
        ),
    )
    .hint("only the app holds the key that makes them work, so it makes the calls itself")
    .remedy(crate::error::Remedy::UseRequest {
        account: row.id.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_order_from_loosest_to_strictest_and_round_trip() {
        assert!(Policy::Allow < Policy::Ask && Policy::Ask < Policy::Deny);
        for p in [Policy::Allow, Policy::Ask, Policy::Deny] {
            assert_eq!(Policy::parse(p.as_str()), Some(p));
            assert_eq!(Policy::from_column(p.as_str()), p);
        }
        assert_eq!(Policy::parse("Allow"), None);
        assert_eq!(Policy::default(), Policy::Allow);
        // A value from a newer version is never read as a looser policy.
        assert_eq!(Policy::from_column("ask_twice"), Policy::Deny);
    }

    #[test]
    fn refusals_say_why_and_name_the_account() {
        let m = Refusal::Denied.message("Alice");
        assert!(
            m.starts_with("refused by your access policy for Alice"),
            "{m}"
        );
        let m = Refusal::NobodyToAsk(NobodyReason::NoDisplay).message("Alice");
        assert!(m.contains("no display"), "{m}");
        assert!(!Refusal::PersonDenied.audit_detail().is_empty());
    }

    #[test]
    fn a_clearance_is_for_one_account_and_the_policy_it_was_given_under() {
        let mut row = crate::account::tests::row("connected", 0, None);
        row.id = "acc-1".into();
        let approved = Clearance::approved("acc-1");
        assert_eq!(approved.account_id(), "acc-1");
        assert!(approved.check(&row).is_ok(), "allow now: fine");
        row.policy = "ask".into();
        assert!(
            approved.check(&row).is_ok(),
            "ask: what it was approved under"
        );
        let allowed = Clearance {
            account_id: "acc-1".into(),
            under: Policy::Allow,
        };
        let err = allowed.check(&row).unwrap_err();
        assert_eq!(
            err.kind,
            ErrorKind::PolicyRefused,
            "tightened since: refused"
        );
        row.policy = "deny".into();
        assert_eq!(
            approved.check(&row).unwrap_err().kind,
            ErrorKind::PolicyRefused
        );
        row.policy = "allow".into();
        row.id = "acc-2".into();
        assert!(approved.check(&row).is_err(), "another account's row");
    }
}
