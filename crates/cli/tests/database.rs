//! The local database under faults: from a newer version, with an edited migration history,
//! corrupt, or locked by another program. Each is a clear error, and the file is left as it was.

#[path = "../../../tests/support/mod.rs"]
mod support;

use std::process::Output;

use support::{require_keyring, Sandbox};
use tokio::process::Command;

async fn cli(sandbox: &Sandbox, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_connected-accounts"))
        .args(args)
        .envs(sandbox.env())
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap()
}

fn sql(db: &std::path::Path, statement: &str) {
    let status = std::process::Command::new("python3")
        .args(["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()"])
        .arg(db)
        .arg(statement)
        .status()
        .unwrap();
    assert!(status.success());
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn a_database_from_a_newer_version_or_with_edited_history_is_left_untouched() {
    require_keyring();
    let sandbox = Sandbox::new();
    assert!(cli(&sandbox, &["list"]).await.status.success());
    let db = sandbox.data_dir().join("accounts.sqlite3");
    // Fold the WAL into the file so its bytes can be compared.
    sql(&db, "PRAGMA wal_checkpoint(TRUNCATE)");
    sql(&db, "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (999, 'from the future', 1, X'00', 0)");
    sql(&db, "PRAGMA wal_checkpoint(TRUNCATE)");
    let before = std::fs::read(&db).unwrap();
    let out = cli(&sandbox, &["list"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot be upgraded; it was left untouched"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("newer version"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&db).unwrap(), before, "the file changed");

    sql(&db, "DELETE FROM _sqlx_migrations WHERE version = 999");
    sql(
        &db,
        "UPDATE _sqlx_migrations SET checksum = X'00' WHERE version = 1",
    );
    let out = cli(&sandbox, &["list"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot be upgraded"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn a_corrupt_database_is_reported_and_left_for_the_user() {
    require_keyring();
    let sandbox = Sandbox::new();
    let db = sandbox.data_dir().join("accounts.sqlite3");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let garbage = b"this is not a database, it is a shopping list: eggs, milk, tokens?".repeat(100);
    std::fs::write(&db, &garbage).unwrap();
    let out = cli(&sandbox, &["list"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is damaged"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("move the file aside"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&db).unwrap(), garbage, "the file changed");
}

#[tokio::test]
async fn a_database_locked_by_another_program_waits_then_says_so() {
    require_keyring();
    let sandbox = Sandbox::new();
    assert!(cli(&sandbox, &["list"]).await.status.success());
    let db = sandbox.data_dir().join("accounts.sqlite3");
    // Another program holds a write lock for longer than the 5 s busy timeout.
    let mut holder = std::process::Command::new("python3")
        .args(["-c", "import sqlite3,sys,time; c=sqlite3.connect(sys.argv[1], isolation_level=None); c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(8)"])
        .arg(&db)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "locked");
    let out = cli(
        &sandbox,
        &["providers", "configure", "gitlab", "--client-id", "x"],
    )
    .await;
    let _ = holder.kill();
    let _ = holder.wait();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("another program holds the database"),
        "{}",
        stderr(&out)
    );
    // Once released, the same command works.
    let out = cli(
        &sandbox,
        &["providers", "configure", "gitlab", "--client-id", "x"],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
}
