//! The SQLite database: one file in the data dir, migrations embedded, WAL and a busy timeout.

use std::path::Path;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

use crate::error::{Error, ErrorKind, Result};

pub type Db = SqlitePool;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Why the folder of `path` cannot be written, if it cannot: SQLite's open error does not say
/// (creating the write-ahead log fails the same way on a full or a read-only disk).
fn write_probe(path: &Path) -> Option<std::io::ErrorKind> {
    let probe = path.with_extension("write-probe");
    let written = std::fs::write(&probe, [0u8; 64 * 1024]);
    let _ = std::fs::remove_file(&probe);
    written.err().map(|e| e.kind())
}

/// More connections than concurrent refreshes, so a read from the window never waits behind the
/// writers (WAL readers do not block on them).
pub const WINDOW_CONNECTIONS: u32 = 12;

/// Opens (creating if needed) and migrates the database at `path`, with at most `connections`
/// open at once.
pub async fn open(path: &Path, connections: u32) -> Result<Db> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // With WAL, NORMAL never corrupts and survives a process crash; only a power cut may undo
        // the last commits, and the keychain (written first) still holds every token.
        .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(5))
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(connections)
        .connect_with(options)
        .await
        .map_err(|e| {
            if is_damaged(&e.to_string()) {
                return damaged(path, e);
            }
            // Opening in WAL mode writes (the shared-memory file), so a full or read-only disk
            // shows here first; say which, as later writes do.
            let (why, hint) = match (crate::error::sqlite_code(&e), write_probe(path)) {
                (Some(13), _) | (_, Some(std::io::ErrorKind::StorageFull)) => (
                    "the disk is full",
                    "free some disk space, then try again; nothing was changed",
                ),
                (Some(8), _) | (_, Some(std::io::ErrorKind::ReadOnlyFilesystem)) => (
                    "it is read-only",
                    "make the data folder (or the disk it is on) writable, then try again; nothing was changed",
                ),
                _ => ("", "check that the folder exists and is writable"),
            };
            let message = format!("cannot open the account database {}", path.display());
            let message = if why.is_empty() { message } else { format!("{message}: {why}") };
            Error::storage(message, hint, e)
        })?;
    MIGRATOR.run(&pool).await.map_err(|e| {
        if is_damaged(&e.to_string()) {
            return damaged(path, e);
        }
        Error::new(
            ErrorKind::Storage,
            format!("the account database {} cannot be upgraded; it was left untouched", path.display()),
        )
        .hint("it was written by a newer version of Connected Accounts (or its history was edited): update the app, or move the file aside to start afresh")
        .cause(e)
    })?;
    Ok(pool)
}

/// Folds a write-ahead log left after the pool closed back into the database. Connections that
/// close at the same moment can each see another still open, and then none of them does it (seen
/// under load as a `-wal` file left at rest); one connection alone always does.
pub async fn fold_log(path: &Path) {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    if !Path::new(&wal).exists() {
        return;
    }
    let options = SqliteConnectOptions::new()
        .filename(path)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(Duration::from_secs(1));
    match sqlx::ConnectOptions::connect(&options).await {
        Ok(conn) => {
            if let Err(e) = sqlx::Connection::close(conn).await {
                tracing::debug!(error = %e, "closing the database left its log in place");
            }
        }
        // Another process has it open (the window): the log is folded when the last one closes.
        Err(e) => {
            tracing::debug!(error = %e, "the database log stays until the last user closes it")
        }
    }
}

fn is_damaged(error: &str) -> bool {
    error.contains("not a database") || error.contains("malformed")
}

fn damaged(path: &Path, e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::new(ErrorKind::Storage, format!("the account database {} is damaged", path.display()))
        .hint("move the file aside and start Connected Accounts again; the tokens in your keychain are untouched, so accounts can be connected again")
        .cause(e)
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    (now.unix_timestamp_nanos() / 1_000_000) as i64
}

/// RFC 3339 for a Unix-ms time (what the UI, the CLI's JSON and `data-expires-at` carry).
pub fn rfc3339(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A database of its own for one unit test, removed with its folder when dropped.
#[cfg(test)]
pub(crate) mod scratch {
    pub struct Scratch(pub std::path::PathBuf);

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// An empty folder of its own, removed when dropped.
    pub fn dir(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("ca-{name}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    pub async fn db(name: &str) -> (Scratch, super::Db) {
        let dir = dir(name);
        let db = super::open(&dir.0.join("a.sqlite3"), 1).await.unwrap();
        (dir, db)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_keeps_milliseconds() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }

    /// The table rebuild that makes an account (provider, subject, resource) keeps every row
    /// and what hangs on it, and still refuses a second account of one person for one resource.
    #[tokio::test]
    async fn accounts_per_resource_keep_every_row_and_approval() {
        let dir = std::env::temp_dir().join(format!("ca-db-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("a.sqlite3");
        let options = SqliteConnectOptions::new()
            .filename(&file)
            .create_if_missing(true)
            .foreign_keys(true);
        let older = sqlx::migrate::Migrator {
            migrations: MIGRATOR
                .migrations
                .iter()
                .filter(|m| m.version <= 10)
                .cloned()
                .collect(),
            ..sqlx::migrate::Migrator::DEFAULT
        };
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .unwrap();
        older.run(&pool).await.unwrap();
        for q in [
            "INSERT INTO providers (id, name, issuer, client_id, scopes, authorization_endpoint, token_endpoint, jwks_uri, created_at) VALUES ('p', 'P', 'https://p.example', 'c', '[]', 'https://p.example/a', 'https://p.example/t', '', 1)",
            "INSERT INTO accounts (id, provider_id, subject, status, policy, created_at, updated_at, email) VALUES ('a1', 'p', 'alice', 'connected', 'ask', 1, 2, 'alice@example.test')",
            "INSERT INTO standing_approvals (account_id, purpose, created_at) VALUES ('a1', 'git', 3)",
        ] {
            sqlx::query(q).execute(&pool).await.unwrap();
        }
        pool.close().await;

        let db = open(&file, 2).await.unwrap();
        let row: (String, String, Option<String>, String) =
            sqlx::query_as("SELECT subject, policy, resource, email FROM accounts WHERE id = 'a1'")
                .fetch_one(&db)
                .await
                .unwrap();
        assert_eq!(
            row,
            (
                "alice".into(),
                "ask".into(),
                None,
                "alice@example.test".into()
            )
        );
        let approvals: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM standing_approvals")
            .fetch_one(&db)
            .await
            .unwrap();
        assert_eq!(approvals, 1);
        let insert = |id: &'static str, resource: Option<&'static str>| {
            sqlx::query(
                "INSERT INTO accounts (id, provider_id, subject, status, created_at, updated_at, resource) \
                 VALUES (?, 'p', 'alice', 'connected', 1, 1, ?)",
            )
            .bind(id)
            .bind(resource)
            .execute(&db)
        };
        insert("a2", Some("https://api.example/mcp")).await.unwrap();
        assert!(insert("a3", Some("https://api.example/mcp")).await.is_err());
        assert!(
            insert("a4", None).await.is_err(),
            "one account per person for the provider's API"
        );
        // Foreign keys hold again: an approval of no account is refused, a delete cascades.
        assert!(sqlx::query("INSERT INTO standing_approvals (account_id, purpose, created_at) VALUES ('nobody', 'git', 1)")
            .execute(&db)
            .await
            .is_err());
        sqlx::query("DELETE FROM accounts WHERE id = 'a1'")
            .execute(&db)
            .await
            .unwrap();
        let approvals: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM standing_approvals")
            .fetch_one(&db)
            .await
            .unwrap();
        assert_eq!(approvals, 0);
        db.close().await;
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn migrations_run_on_a_new_file_and_again() {
        let dir = std::env::temp_dir().join(format!("ca-db-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("a.sqlite3");
        let db = open(&file, WINDOW_CONNECTIONS).await.unwrap();
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&db)
            .await
            .unwrap();
        assert_eq!(mode, "wal");
        db.close().await;
        // Opening again is a no-op migration.
        open(&file, 1).await.unwrap().close().await;
        std::fs::remove_dir_all(dir).unwrap();
    }
}
