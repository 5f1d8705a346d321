//! The append-only audit log of security events (the database refuses updates and deletes).

use serde::Serialize;
use ts_rs::TS;

use crate::db::{now_ms, rfc3339, Db};
use crate::error::Result;

/// The kinds of events we record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditKind {
    ProviderAdded,
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
}

impl AuditKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProviderAdded => "provider_added",
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

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: i64,
    kind: String,
    account_id: Option<String>,
    provider_id: Option<String>,
    detail: String,
}

/// The newest `limit` events, newest first.
pub async fn recent(db: &Db, limit: u32) -> Result<Vec<AuditEvent>> {
    let rows: Vec<AuditRow> = sqlx::query_as(
        "SELECT id, at, kind, account_id, provider_id, detail FROM audit_events ORDER BY id DESC LIMIT ?",
    )
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| AuditEvent {
            id: r.id,
            at: rfc3339(r.at),
            kind: r.kind,
            account_id: r.account_id,
            provider_id: r.provider_id,
            detail: r.detail,
        })
        .collect())
}
