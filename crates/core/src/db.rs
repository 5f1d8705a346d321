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
