//! Accounts: the metadata of each connected account in SQLite (never a secret), and its status.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::db::{now_ms, rfc3339, Db};
use crate::error::{Error, ErrorKind, Remedy, Result};

/// A settled state, or the intent of an operation under way (recorded before it starts, so an
/// interrupted one can be finished or rolled back at the next start).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    Connected,
    /// Connected, and the access token expires within [`EXPIRING_WITHIN_MS`] (or has expired);
    /// derived when read, never stored.
    Expiring,
    Offline,
    NeedsReconnect,
    Error,
    Connecting,
    Refreshing,
    Disconnecting,
}

/// How close to expiry a connected account shows as "expiring".
pub const EXPIRING_WITHIN_MS: i64 = 5 * 60 * 1000;

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connected => "connected",
            Self::Expiring => "expiring",
            Self::Offline => "offline",
            Self::NeedsReconnect => "needs_reconnect",
            Self::Error => "error",
            Self::Connecting => "connecting",
            Self::Refreshing => "refreshing",
            Self::Disconnecting => "disconnecting",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "connected" => Self::Connected,
            "offline" => Self::Offline,
            "needs_reconnect" => Self::NeedsReconnect,
            "connecting" => Self::Connecting,
            "refreshing" => Self::Refreshing,
            "disconnecting" => Self::Disconnecting,
            _ => Self::Error,
        }
    }
}

/// An account's access policy, from the loosest to the strictest.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS,
)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// Any program running as you gets a token (the default: nothing changes for someone who
    /// never sets a policy).
    #[default]
    Allow,
    /// The person is asked in the window before each program gets a token.
    Ask,
    /// No program gets a token through the app.
    Deny,
}

impl Policy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Ask => "ask",
            Self::Deny => "deny",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Allow, Self::Ask, Self::Deny]
            .into_iter()
            .find(|p| p.as_str() == text)
    }

    /// A value written by a newer version reads as the strictest, never as a looser one.
    pub(crate) fn from_column(text: &str) -> Self {
        Self::parse(text).unwrap_or(Self::Deny)
    }
}

/// Where `scopes_granted` comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ScopesSource {
    /// The token response said which scopes were granted.
    Server,
    /// The server said nothing; these are the scopes that were asked for.
    Requested,
}

/// An account as the window and `list --json`/`show --json` present it.
#[derive(Debug, Clone, Serialize, TS)]
pub struct Account {
    pub id: String,
    pub provider: String,
    pub provider_name: String,
    pub display_name: String,
    pub subject: String,
    pub email: Option<String>,
    pub scopes_requested: Vec<String>,
    pub scopes_granted: Vec<String>,
    pub scopes_source: ScopesSource,
    pub status: AccountStatus,
    /// RFC 3339, or null when the provider gave no lifetime.
    pub expires_at: Option<String>,
    /// RFC 3339: when the sign-in ends however it is used (the server's word or the provider's
    /// limit), or null when nobody says.
    pub sign_in_ends_at: Option<String>,
    /// RFC 3339: when it would end if left unused; refreshing in time keeps it alive.
    pub idle_ends_at: Option<String>,
    pub last_error: Option<String>,
    /// Who may read its token through the app.
    pub policy: Policy,
    /// The resource (RFC 8707) its tokens are for, when connected by a resource URL; its test
    /// call goes there.
    pub resource: Option<String>,
    /// Its tokens are bound to a key on this device (DPoP): only the app can use them.
    pub bound: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// The stored row, with times as Unix ms.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountRow {
    pub id: String,
    pub provider_id: String,
    pub provider_name: String,
    pub subject: Option<String>,
    pub display_name: String,
    pub email: Option<String>,
    pub scopes_requested: String,
    pub scopes_granted: String,
    pub scopes_source: String,
    pub status: String,
    pub expires_at: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The endpoint set it was connected with (JSON of [`crate::endpoints::Endpoints`]).
    pub endpoints: Option<String>,
    pub email_verified: bool,
    /// Its keychain entry carries the tags revoking it needs (see [`crate::secret::Tags`]).
    pub keychain_tagged: bool,
    /// Unix ms; see migration 0007 and [`crate::health`].
    pub sign_in_ends_at: Option<i64>,
    pub idle_ends_at: Option<i64>,
    pub grant_used_at: Option<i64>,
    pub ending_notified: Option<i64>,
    pub failing_notified_at: Option<i64>,
    /// See [`crate::policy`]; read through [`AccountRow::policy`].
    pub policy: String,
    pub resource: Option<String>,
    pub dpop_bound: bool,
}

impl AccountRow {
    pub fn status(&self) -> AccountStatus {
        AccountStatus::parse(&self.status)
    }

    pub fn policy(&self) -> Policy {
        Policy::from_column(&self.policy)
    }

    pub fn view(&self, now: i64) -> Account {
        let mut status = self.status();
        if status == AccountStatus::Connected
            && self
                .expires_at
                .is_some_and(|e| e - now <= EXPIRING_WITHIN_MS)
        {
            status = AccountStatus::Expiring;
        }
        Account {
            id: self.id.clone(),
            provider: self.provider_id.clone(),
            provider_name: self.provider_name.clone(),
            display_name: self.display_name.clone(),
            subject: self.subject.clone().unwrap_or_default(),
            email: self.email.clone(),
            scopes_requested: serde_json::from_str(&self.scopes_requested).unwrap_or_default(),
            scopes_granted: serde_json::from_str(&self.scopes_granted).unwrap_or_default(),
            scopes_source: if self.scopes_source == "server" {
                ScopesSource::Server
            } else {
                ScopesSource::Requested
            },
            status,
            expires_at: self.expires_at.map(rfc3339),
            sign_in_ends_at: self.sign_in_ends_at.map(rfc3339),
            idle_ends_at: self.idle_ends_at.map(rfc3339),
            last_error: self.last_error.clone(),
            policy: self.policy(),
            resource: self.resource.clone(),
            bound: self.dpop_bound,
            created_at: rfc3339(self.created_at),
            updated_at: rfc3339(self.updated_at),
        }
    }
}

const SELECT: &str =
    "SELECT a.id, a.provider_id, p.name AS provider_name, a.subject, a.display_name, \
     a.email, a.scopes_requested, a.scopes_granted, a.scopes_source, a.status, a.expires_at, \
     a.last_error, a.created_at, a.updated_at, a.endpoints, a.email_verified, a.keychain_tagged, \
     a.sign_in_ends_at, a.idle_ends_at, a.grant_used_at, a.ending_notified, a.failing_notified_at, \
     a.policy, a.resource, a.dpop_bound FROM accounts a JOIN providers p ON p.id = a.provider_id";

pub async fn list(db: &Db) -> Result<Vec<AccountRow>> {
    Ok(
        sqlx::query_as(&format!("{SELECT} ORDER BY a.created_at, a.id"))
            .fetch_all(db)
            .await?,
    )
}

pub async fn find(db: &Db, id: &str) -> Result<Option<AccountRow>> {
    Ok(sqlx::query_as(&format!("{SELECT} WHERE a.id = ?"))
        .bind(id)
        .fetch_optional(db)
        .await?)
}

pub fn unknown_account(id: &str) -> Error {
    Error::new(ErrorKind::NotFound, format!("there is no account {id:?}"))
        .remedy(Remedy::ListAccounts)
}

pub async fn get(db: &Db, id: &str) -> Result<AccountRow> {
    find(db, id).await?.ok_or_else(|| unknown_account(id))
}

/// Resolves what a person typed: an id, a unique id prefix (4+ characters) or a unique e-mail.
pub async fn resolve(db: &Db, query: &str) -> Result<AccountRow> {
    if let Some(row) = find(db, query).await? {
        return Ok(row);
    }
    let rows = list(db).await?;
    let matches: Vec<&AccountRow> = rows
        .iter()
        .filter(|r| {
            (query.len() >= 4 && r.id.starts_with(query))
                || (r.email_verified && r.email.as_deref() == Some(query))
        })
        .collect();
    match matches.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(unknown_account(query)),
        _ => Err(Error::invalid_input(
            format!("{query:?} matches more than one account"),
            "give the full account id",
        )
        .remedy(Remedy::ListAccounts)),
    }
}

/// Records the intent to connect: a row in `connecting` with no subject yet.
pub async fn insert_connecting(
    db: &Db,
    id: &str,
    provider_id: &str,
    scopes_requested: &[String],
    resource: Option<&str>,
) -> Result<()> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO accounts (id, provider_id, scopes_requested, resource, status, created_at, updated_at) \
         VALUES (?, ?, ?, ?, 'connecting', ?, ?)",
    )
    .bind(id)
    .bind(provider_id)
    .bind(serde_json::to_string(scopes_requested).expect("scopes serialize"))
    .bind(resource)
    .bind(now)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// The identity and grant a completed connect (or refresh) learned.
#[derive(Debug, Clone)]
pub struct Grant {
    pub scopes_requested: Vec<String>,
    pub scopes_granted: Vec<String>,
    pub scopes_source: ScopesSource,
    pub expires_at: Option<i64>,
    pub lifetime: crate::health::Lifetime,
    /// The tokens are bound to the key in their keychain entry (DPoP).
    pub dpop_bound: bool,
}

#[derive(Debug, Clone)]
pub struct Identity {
    pub subject: String,
    pub display_name: String,
    pub email: Option<String>,
    /// The provider said the e-mail is verified (OpenID `email_verified`, or the profile's
    /// equivalent): only then is it a key to look the account up by.
    pub email_verified: bool,
}

/// The account that already exists for this provider and subject (a reconnect), if any.
/// The account of this person at this provider, for this resource (none: the provider's API):
/// one person has an account per resource at one server.
pub async fn find_by_subject(
    db: &Db,
    provider_id: &str,
    subject: &str,
    resource: Option<&str>,
) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM accounts WHERE provider_id = ? AND subject = ? AND resource IS ?",
    )
    .bind(provider_id)
    .bind(subject)
    .bind(resource)
    .fetch_optional(db)
    .await?)
}

/// Settles a connect on the row `id`: identity, grant, `connected`.
pub async fn complete_connect(
    db: &Db,
    id: &str,
    who: &Identity,
    grant: &Grant,
    endpoints: &crate::endpoints::Endpoints,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE accounts SET subject = ?, display_name = ?, email = ?, scopes_requested = ?, \
         scopes_granted = ?, scopes_source = ?, expires_at = ?, status = 'connected', \
         last_error = NULL, endpoints = ?, email_verified = ?, updated_at = ?, \
         sign_in_ends_at = ?, idle_ends_at = ?, grant_used_at = ?, ending_notified = ?, \
         failing_notified_at = NULL, dpop_bound = ? WHERE id = ?",
    )
    .bind(&who.subject)
    .bind(&who.display_name)
    .bind(&who.email)
    .bind(serde_json::to_string(&grant.scopes_requested).expect("scopes serialize"))
    .bind(serde_json::to_string(&grant.scopes_granted).expect("scopes serialize"))
    .bind(scopes_source_str(grant.scopes_source))
    .bind(grant.expires_at)
    .bind(serde_json::to_string(endpoints).expect("endpoints serialize"))
    .bind(who.email_verified)
    .bind(now_ms())
    .bind(grant.lifetime.sign_in_ends_at)
    .bind(grant.lifetime.idle_ends_at)
    .bind(grant.lifetime.used_at)
    .bind(grant.lifetime.ending_notified)
    .bind(grant.dpop_bound)
    .bind(id)
    .execute(db)
    .await?;
    if done.rows_affected() != 1 {
        return Err(Error::new(
            crate::error::ErrorKind::Storage,
            "the account disappeared while the sign-in finished",
        )
        .hint("connect again"));
    }
    Ok(())
}

/// Marks the account's keychain entry as carrying its revocation tags.
pub async fn set_keychain_tagged(db: &Db, id: &str) -> Result<()> {
    sqlx::query("UPDATE accounts SET keychain_tagged = 1 WHERE id = ?")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Accounts whose keychain entries may still lack their tags (written before entries were
/// tagged, and not yet looked at).
pub async fn untagged(db: &Db) -> Result<Vec<AccountRow>> {
    let rows = sqlx::query_as::<_, AccountRow>(&format!(
        "{SELECT} WHERE a.keychain_tagged = 0 AND a.status <> 'connecting'"
    ))
    .fetch_all(db)
    .await?;
    Ok(rows)
}

/// Records the endpoint set an account's tokens may go to.
pub async fn set_endpoints(
    db: &Db,
    id: &str,
    endpoints: &crate::endpoints::Endpoints,
) -> Result<()> {
    sqlx::query("UPDATE accounts SET endpoints = ? WHERE id = ?")
        .bind(serde_json::to_string(endpoints).expect("endpoints serialize"))
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

fn scopes_source_str(s: ScopesSource) -> &'static str {
    match s {
        ScopesSource::Server => "server",
        ScopesSource::Requested => "requested",
    }
}

/// After a refresh: the new expiry and lifetime, and the granted scopes when the server
/// reported them. `failing_notified_at` stays: the scheduler tells the person it healed.
pub async fn complete_refresh(
    db: &Db,
    id: &str,
    expires_at: Option<i64>,
    scopes_granted: Option<&[String]>,
    lifetime: &crate::health::Lifetime,
) -> Result<()> {
    let granted = scopes_granted.map(|s| serde_json::to_string(s).expect("scopes serialize"));
    sqlx::query(
        "UPDATE accounts SET expires_at = ?, \
         scopes_granted = COALESCE(?, scopes_granted), \
         scopes_source = CASE WHEN ? IS NULL THEN scopes_source ELSE 'server' END, \
         status = 'connected', last_error = NULL, updated_at = ?, sign_in_ends_at = ?, \
         idle_ends_at = ?, grant_used_at = ?, ending_notified = ? WHERE id = ?",
    )
    .bind(expires_at)
    .bind(&granted)
    .bind(&granted)
    .bind(now_ms())
    .bind(lifetime.sign_in_ends_at)
    .bind(lifetime.idle_ends_at)
    .bind(lifetime.used_at)
    .bind(lifetime.ending_notified)
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// Records that `notice` was given for the row as it was read (`seen`); false if another
/// process recorded it first, so each notice goes out once.
pub async fn claim_notice(
    db: &Db,
    seen: &AccountRow,
    notice: crate::health::Notice,
    now: i64,
) -> Result<bool> {
    use crate::health::Notice;
    let query = match notice {
        Notice::SignInEnding(days) => sqlx::query(
            "UPDATE accounts SET ending_notified = ? WHERE id = ? AND ending_notified IS ?",
        )
        .bind(days)
        .bind(&seen.id)
        .bind(seen.ending_notified),
        Notice::Failing => sqlx::query(
            "UPDATE accounts SET failing_notified_at = ? WHERE id = ? AND failing_notified_at IS NULL",
        )
        .bind(now)
        .bind(&seen.id),
        Notice::Recovered => sqlx::query(
            "UPDATE accounts SET failing_notified_at = NULL \
             WHERE id = ? AND failing_notified_at IS NOT NULL AND status = 'connected'",
        )
        .bind(&seen.id),
    };
    Ok(query.execute(db).await?.rows_affected() == 1)
}

/// Sets the status (and the error to show, or none).
pub async fn set_status(
    db: &Db,
    id: &str,
    status: AccountStatus,
    last_error: Option<&str>,
) -> Result<()> {
    sqlx::query("UPDATE accounts SET status = ?, last_error = ?, updated_at = ? WHERE id = ?")
        .bind(status.as_str())
        .bind(last_error)
        .bind(now_ms())
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// How many accounts a provider has, in any state (a sign-in under way counts).
pub async fn count_for_provider(db: &Db, provider_id: &str) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM accounts WHERE provider_id = ?")
            .bind(provider_id)
            .fetch_one(db)
            .await?,
    )
}

pub async fn delete(db: &Db, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM accounts WHERE id = ?")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Rows that carry an intent, for recovery after an interruption.
pub async fn with_intent(db: &Db) -> Result<Vec<AccountRow>> {
    Ok(sqlx::query_as(&format!(
        "{SELECT} WHERE a.status IN ('connecting', 'refreshing', 'disconnecting')"
    ))
    .fetch_all(db)
    .await?)
}

/// A new account id: 16 hex characters from a CSPRNG (UUID v4 bits).
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..16].to_string()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::AccountRow;

    /// A settled row for unit tests of what is computed from rows alone.
    pub fn row(status: &str, updated_at: i64, expires_at: Option<i64>) -> AccountRow {
        AccountRow {
            id: "a".into(),
            provider_id: "p".into(),
            provider_name: "P".into(),
            subject: Some("s".into()),
            display_name: "d".into(),
            email: None,
            scopes_requested: "[]".into(),
            scopes_granted: "[]".into(),
            scopes_source: "server".into(),
            status: status.into(),
            expires_at,
            last_error: None,
            created_at: 0,
            updated_at,
            endpoints: None,
            email_verified: false,
            keychain_tagged: false,
            sign_in_ends_at: None,
            idle_ends_at: None,
            grant_used_at: None,
            ending_notified: None,
            failing_notified_at: None,
            policy: "allow".into(),
            resource: None,
            dpop_bound: false,
        }
    }
}
