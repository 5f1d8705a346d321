//! The append-only audit log of security events and token reads. The database refuses updates
//! and deletes, except counting a repeated read again and dropping entries past retention.

use serde::Serialize;
use ts_rs::TS;

use crate::consumer::{Consumer, ReadKind};
use crate::db::{now_ms, rfc3339, Db};
use crate::error::Result;

/// Reads by the same consumer this close together fold into one entry.
pub const FOLD_WINDOW_MS: i64 = 60_000;
/// Entries are kept this long…
pub const RETENTION_MS: i64 = 90 * 24 * 60 * 60 * 1000;
/// …and at most this many (whichever keeps fewer).
pub const RETENTION_ENTRIES: i64 = 10_000;

/// The kinds of events we record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditKind {
    ProviderAdded,
    /// The person changed a provider's settings (its sign-in limits).
    ProviderChanged,
    ProviderRemoved,
    /// The app registered itself at a server (RFC 7591), or deleted that registration.
    ClientRegistered,
    RegistrationDeleted,
    FlowStarted,
    FlowCompleted,
    FlowFailed,
    FlowCancelled,
    StateMismatch,
    UnsolicitedCallback,
    IssMismatch,
    /// Another local user connected to a sign-in's listener, and was refused.
    PeerRefused,
    RefreshSucceeded,
    RefreshFailed,
    NeedsReconnect,
    Revoked,
    RevokeFailed,
    RemovedLocally,
    Recovered,
    TokenRead,
    /// A server (git's) refused the current access token; the next read refreshes it.
    TokenRefused,
    /// The person was warned that a sign-in ends soon.
    SignInEnding,
    /// The person was told refreshing fails, and later that it works again.
    RefreshFailing,
    RefreshRecovered,
    /// A program was refused a token by the account's access policy (with the program).
    ReadRefused,
    /// The person (or, tightening only, a program) changed an account's access policy.
    PolicyChanged,
    /// The person approved a program for a while, or git for good (policy `ask`).
    ApprovalGiven,
    /// An approval was ended in the window.
    ApprovalEnded,
}

impl AuditKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProviderAdded => "provider_added",
            Self::ProviderChanged => "provider_changed",
            Self::ProviderRemoved => "provider_removed",
            Self::ClientRegistered => "client_registered",
            Self::RegistrationDeleted => "registration_deleted",
            Self::FlowStarted => "flow_started",
            Self::FlowCompleted => "flow_completed",
            Self::FlowFailed => "flow_failed",
            Self::FlowCancelled => "flow_cancelled",
            Self::StateMismatch => "state_mismatch",
            Self::UnsolicitedCallback => "unsolicited_callback",
            Self::IssMismatch => "iss_mismatch",
            Self::PeerRefused => "peer_refused",
            Self::RefreshSucceeded => "refresh_succeeded",
            Self::RefreshFailed => "refresh_failed",
            Self::NeedsReconnect => "needs_reconnect",
            Self::Revoked => "revoked",
            Self::RevokeFailed => "revoke_failed",
            Self::RemovedLocally => "removed_locally",
            Self::Recovered => "recovered",
            Self::TokenRead => "token_read",
            Self::TokenRefused => "token_refused",
            Self::SignInEnding => "sign_in_ending",
            Self::RefreshFailing => "refresh_failing",
            Self::RefreshRecovered => "refresh_recovered",
            Self::ReadRefused => "read_refused",
            Self::PolicyChanged => "policy_changed",
            Self::ApprovalGiven => "approval_given",
            Self::ApprovalEnded => "approval_ended",
        }
    }
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct AuditEvent {
    pub id: i64,
    /// RFC 3339.
    pub at: String,
    pub kind: String,
    pub account_id: Option<String>,
    pub provider_id: Option<String>,
    pub detail: String,
    /// For a token read: who read it.
    pub consumer: Option<Consumer>,
    /// How many reads this entry stands for (1 for every other event).
    pub count: i64,
    /// RFC 3339: the latest read folded into this entry.
    pub last_at: Option<String>,
}

/// Appends an event. A failure to audit is logged, never allowed to break the operation it reports.
pub async fn record(
    db: &Db,
    kind: AuditKind,
    account_id: Option<&str>,
    provider_id: Option<&str>,
    detail: &str,
) {
    let result = sqlx::query(
        "INSERT INTO audit_events (at, kind, account_id, provider_id, detail) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(now_ms())
    .bind(kind.as_str())
    .bind(account_id)
    .bind(provider_id)
    .bind(detail)
    .execute(db)
    .await;
    if let Err(e) = result {
        tracing::warn!(kind = kind.as_str(), error = %e, "could not write the audit log");
    }
}

/// Records a token read with its consumer. The same consumer (kind, program, parent, folder and
/// terminal) reading the same account again within a minute counts into its last entry instead
/// of adding one, so a tool that polls does not flood the log.
pub async fn record_read(
    db: &Db,
    account_id: &str,
    provider_id: &str,
    consumer: &Consumer,
    detail: &str,
) {
    record_consumer(
        db,
        AuditKind::TokenRead,
        account_id,
        provider_id,
        consumer,
        detail,
    )
    .await;
}

/// Records an event about a program (`kind`: a token read, or a read refused), with the program.
/// Repeats fold as [`record_read`] describes.
pub async fn record_consumer(
    db: &Db,
    kind: AuditKind,
    account_id: &str,
    provider_id: &str,
    consumer: &Consumer,
    detail: &str,
) {
    if let Err(e) = try_record_consumer(db, kind, account_id, provider_id, consumer, detail).await {
        tracing::warn!(error = %e, "could not write the audit log");
    }
}

async fn try_record_consumer(
    db: &Db,
    kind: AuditKind,
    account_id: &str,
    provider_id: &str,
    c: &Consumer,
    detail: &str,
) -> std::result::Result<(), sqlx::Error> {
    let now = now_ms();
    let folded = sqlx::query(
        "UPDATE audit_events SET count = count + 1, last_at = ?1, pid = ?2 WHERE id = (
            SELECT id FROM audit_events
            WHERE read_kind IS NOT NULL AND account_id = ?3 AND last_at >= ?4
              AND read_kind = ?5 AND detail = ?6 AND exe IS ?7 AND parent_exe IS ?8
              AND cwd IS ?9 AND tty IS ?10 AND kind = ?11
            ORDER BY id DESC LIMIT 1)",
    )
    .bind(now)
    .bind(c.pid)
    .bind(account_id)
    .bind(now - FOLD_WINDOW_MS)
    .bind(c.kind.as_str())
    .bind(detail)
    .bind(&c.exe)
    .bind(&c.parent_exe)
    .bind(&c.cwd)
    .bind(&c.tty)
    .bind(kind.as_str())
    .execute(db)
    .await?;
    if folded.rows_affected() > 0 {
        return Ok(());
    }
    let id = sqlx::query(
        "INSERT INTO audit_events (at, kind, account_id, provider_id, detail, read_kind, pid, exe,
            parent_exe, cwd, tty, count, last_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 1, ?1)",
    )
    .bind(now)
    .bind(kind.as_str())
    .bind(account_id)
    .bind(provider_id)
    .bind(detail)
    .bind(c.kind.as_str())
    .bind(c.pid)
    .bind(&c.exe)
    .bind(&c.parent_exe)
    .bind(&c.cwd)
    .bind(&c.tty)
    .execute(db)
    .await?
    .last_insert_rowid();
    // Retention, off the common path: every hundredth entry trims the log.
    if id % 100 == 0 {
        prune(db, now).await?;
    }
    Ok(())
}

/// Drops entries older than 90 days and all but the newest 10,000.
pub async fn prune(db: &Db, now: i64) -> std::result::Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "DELETE FROM audit_events WHERE coalesce(last_at, at) < ?
            OR id <= (SELECT max(id) FROM audit_events) - ?",
    )
    .bind(now - RETENTION_MS)
    .bind(RETENTION_ENTRIES)
    .execute(db)
    .await?
    .rows_affected())
}

/// An account's latest token read: what the window shows as "Used by git, 3 min ago".
#[derive(Debug, Clone, Serialize, TS)]
pub struct LastRead {
    pub account_id: String,
    /// RFC 3339.
    pub at: String,
    /// Reads folded into that entry.
    pub count: i64,
    pub detail: String,
    pub consumer: Consumer,
}

/// Each account's latest token read.
pub async fn last_reads(db: &Db) -> Result<Vec<LastRead>> {
    let rows: Vec<AuditRow> = sqlx::query_as(
        "SELECT id, at, kind, account_id, provider_id, detail, read_kind, pid, exe, parent_exe,
                cwd, tty, count, last_at
         FROM (SELECT *, row_number() OVER (
                   PARTITION BY account_id ORDER BY last_at DESC, id DESC) AS newest
               FROM audit_events
               WHERE kind = 'token_read' AND read_kind IS NOT NULL AND account_id IS NOT NULL)
         WHERE newest = 1",
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let event = event(r);
            Some(LastRead {
                account_id: event.account_id?,
                at: event.last_at.unwrap_or(event.at),
                count: event.count,
                detail: event.detail,
                consumer: event.consumer?,
            })
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: i64,
    kind: String,
    account_id: Option<String>,
    provider_id: Option<String>,
    detail: String,
    read_kind: Option<String>,
    pid: Option<i64>,
    exe: Option<String>,
    parent_exe: Option<String>,
    cwd: Option<String>,
    tty: Option<String>,
    count: i64,
    last_at: Option<i64>,
}

/// The newest `limit` events, newest first (by their latest read), of one account or all.
pub async fn recent(db: &Db, limit: u32, account_id: Option<&str>) -> Result<Vec<AuditEvent>> {
    let rows: Vec<AuditRow> = sqlx::query_as(
        "SELECT id, at, kind, account_id, provider_id, detail, read_kind, pid, exe, parent_exe,
                cwd, tty, count, last_at
         FROM audit_events WHERE ?1 IS NULL OR account_id = ?1
         ORDER BY coalesce(last_at, at) DESC, id DESC LIMIT ?2",
    )
    .bind(account_id)
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(event).collect())
}

fn event(r: AuditRow) -> AuditEvent {
    AuditEvent {
        id: r.id,
        at: rfc3339(r.at),
        kind: r.kind,
        account_id: r.account_id,
        provider_id: r.provider_id,
        detail: r.detail,
        consumer: r
            .read_kind
            .as_deref()
            .and_then(ReadKind::parse)
            .map(|kind| Consumer {
                kind,
                pid: r.pid.and_then(|p| u32::try_from(p).ok()),
                exe: r.exe,
                parent_exe: r.parent_exe,
                cwd: r.cwd,
                tty: r.tty,
            }),
        count: r.count,
        last_at: r.last_at.map(rfc3339),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn db() -> (crate::db::scratch::Scratch, Db) {
        crate::db::scratch::db("audit").await
    }

    fn git() -> Consumer {
        Consumer {
            kind: ReadKind::GitCredential,
            pid: Some(10),
            exe: Some("/usr/bin/git".into()),
            parent_exe: Some("/usr/bin/bash".into()),
            cwd: Some("/home/a/work".into()),
            tty: None,
        }
    }

    #[tokio::test]
    async fn repeated_reads_by_one_consumer_fold_into_one_entry() {
        let (_dir, db) = db().await;
        for pid in [10, 11, 12] {
            let c = Consumer {
                pid: Some(pid),
                ..git()
            };
            record_read(&db, "acct", "github", &c, "git").await;
        }
        // Another folder is another consumer.
        let elsewhere = Consumer {
            cwd: Some("/tmp".into()),
            ..git()
        };
        record_read(&db, "acct", "github", &elsewhere, "git").await;
        let events = recent(&db, 10, Some("acct")).await.unwrap();
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(
            events[0].consumer.as_ref().unwrap().cwd.as_deref(),
            Some("/tmp")
        );
        assert_eq!(events[1].count, 3);
        assert_eq!(
            events[1].consumer.as_ref().unwrap().pid,
            Some(12),
            "the latest reader"
        );
        assert!(recent(&db, 10, Some("other")).await.unwrap().is_empty());

        let last = last_reads(&db).await.unwrap();
        assert_eq!(last.len(), 1);
        assert_eq!(
            last[0].consumer.cwd.as_deref(),
            Some("/tmp"),
            "the latest read"
        );
    }

    #[tokio::test]
    async fn a_read_after_the_fold_window_is_a_new_entry() {
        let (_dir, db) = db().await;
        record_read(&db, "acct", "github", &git(), "git").await;
        sqlx::query("UPDATE audit_events SET count = count + 1, last_at = last_at - ?")
            .bind(FOLD_WINDOW_MS + 1)
            .execute(&db)
            .await
            .expect_err("the trigger refuses moving a read back in time");
        // Age it past the window the only way the log allows: a fresh row written in the past.
        sqlx::query("UPDATE audit_events SET read_kind = NULL")
            .execute(&db)
            .await
            .expect_err("nothing but the count changes");
        sqlx::query(
            "INSERT INTO audit_events (at, kind, account_id, detail, read_kind, exe, parent_exe,
                cwd, count, last_at) VALUES (0, 'token_read', 'old', 'git', 'git_credential',
                '/usr/bin/git', '/usr/bin/bash', '/home/a/work', 1, 0)",
        )
        .execute(&db)
        .await
        .unwrap();
        record_read(&db, "old", "github", &git(), "git").await;
        let events = recent(&db, 10, Some("old")).await.unwrap();
        assert_eq!(events.iter().map(|e| e.count).collect::<Vec<_>>(), [1, 1]);
    }

    #[tokio::test]
    async fn the_log_refuses_other_changes_and_keeps_what_retention_keeps() {
        let (_dir, db) = db().await;
        record(
            &db,
            AuditKind::Revoked,
            Some("acct"),
            Some("github"),
            "revoked",
        )
        .await;
        sqlx::query("UPDATE audit_events SET count = count + 1")
            .execute(&db)
            .await
            .expect_err("an event that is not a read cannot be counted");
        sqlx::query("DELETE FROM audit_events")
            .execute(&db)
            .await
            .expect_err("a recent entry cannot be deleted");
        assert_eq!(prune(&db, now_ms()).await.unwrap(), 0);
        // Entries older than 90 days go, and so does everything beyond the newest 10,000.
        sqlx::query("INSERT INTO audit_events (at, kind, detail) VALUES (?, 'revoked', '')")
            .bind(now_ms() - RETENTION_MS - 1)
            .execute(&db)
            .await
            .unwrap();
        assert_eq!(prune(&db, now_ms()).await.unwrap(), 1);
        for _ in 0..RETENTION_ENTRIES {
            record(&db, AuditKind::Revoked, None, None, "").await;
        }
        assert_eq!(prune(&db, now_ms()).await.unwrap(), 1, "the oldest one");
        assert_eq!(
            recent(&db, 20_000, None).await.unwrap().len() as i64,
            RETENTION_ENTRIES
        );
    }
}
