//! The local database under faults: from a newer version, with an edited migration history,
//! corrupt, locked by another program, read-only, or on a full disk. Each is a clear error, the
//! file is left as it was, and no account loses its tokens.

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

/// Runs the command-line binary in a private mount namespace after `prepare` (a shell script
/// that may mount over the data folder `$D` or mark files there), then runs `undo`. The binary
/// meets the kernel's real errors (EROFS, ENOSPC, EPERM) for its database, while the keychain
/// and the server stay as they are.
async fn cli_prepared(sandbox: &Sandbox, fault: &Fault, args: &[&str]) -> Output {
    let script = format!(
        "{}\nset +e\n\"$0\" \"$@\"\nrc=$?\n{}\nexit $rc",
        fault.prepare, fault.undo
    );
    Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-ec", &script])
        .arg(env!("CARGO_BIN_EXE_connected-accounts"))
        .args(args)
        .envs(sandbox.env())
        .env("D", sandbox.data_dir())
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap()
}

/// Moves the data folder onto a 2 MB file system of its own (a copy; the real one is untouched).
macro_rules! on_tiny_disk {
    () => {
        r#"cp -a "$D" "$D.copy"
mount -t tmpfs -o size=2m tmpfs "$D"
cp -a "$D.copy/." "$D/"
rm -rf "$D.copy"
"#
    };
}

struct Fault {
    prepare: &'static str,
    undo: &'static str,
    /// What the error says.
    expected: &'static str,
    /// Whether reading (`list`) still works.
    readable: bool,
}

/// A demo account connected through the real server, and its refresh token.
async fn connected_account(sandbox: &Sandbox, idp: &support::Idp) -> (String, String) {
    let add = cli(sandbox, &support::add_demo_provider_args(idp)).await;
    assert!(add.status.success(), "{}", stderr(&add));
    let out = cli(sandbox, &["connect", "local-demo", "--json"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let id = serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    (id.clone(), refresh_token(&id).await)
}

async fn refresh_token(id: &str) -> String {
    let stored = support::keychain_lookup("connected-accounts", id)
        .await
        .unwrap();
    serde_json::from_str::<serde_json::Value>(&stored).unwrap()["refresh_token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Refresh and disconnect on a database that cannot be written: a clear error before anything
/// is sent to the server, the tokens intact, and the account works once the disk is back.
async fn writes_fail_cleanly(fault: Fault) {
    require_keyring();
    let idp = support::Idp::start().await;
    let sandbox = Sandbox::new();
    let (id, refresh_before) = connected_account(&sandbox, &idp).await;

    let listed = cli_prepared(&sandbox, &fault, &["list"]).await;
    if fault.readable {
        assert!(listed.status.success(), "{}", stderr(&listed));
        assert!(String::from_utf8_lossy(&listed.stdout).contains("alice"));
    } else {
        // SQLite reads a database whose `-wal` and `-shm` files already exist without writing a
        // byte, so say what was in the folder when this fails.
        assert_eq!(
            listed.status.code(),
            Some(1),
            "list worked on a full disk; the data folder held {:?}",
            std::fs::read_dir(sandbox.data_dir())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect::<Vec<_>>()
        );
        assert!(
            stderr(&listed).contains(fault.expected),
            "{}",
            stderr(&listed)
        );
    }
    for args in [
        vec!["refresh", id.as_str()],
        vec!["revoke", id.as_str(), "--yes"],
    ] {
        let out = cli_prepared(&sandbox, &fault, &args).await;
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(fault.expected),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains("nothing was changed"),
            "{}",
            stderr(&out)
        );
    }
    let stats = idp.stats().await;
    assert_eq!(
        stats["refresh_success"], 0,
        "nothing reached the server: {stats}"
    );
    assert_eq!(stats["grant_revoked"], 0, "{stats}");
    assert_eq!(
        refresh_token(&id).await,
        refresh_before,
        "the tokens are intact"
    );

    // The disk is back: the same account refreshes and answers.
    let out = cli(&sandbox, &["refresh", &id]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let out = cli(&sandbox, &["test", &id]).await;
    assert!(out.status.success(), "{}", stderr(&out));
}

#[tokio::test]
async fn a_read_only_database_file_still_lists_and_refuses_changes_clearly() {
    // Immutable (chattr +i): even root cannot write it, as a file on a read-only share.
    writes_fail_cleanly(Fault {
        prepare: r#"chattr +i "$D/accounts.sqlite3""#,
        undo: r#"chattr -i "$D/accounts.sqlite3""#,
        expected: "the account database is read-only",
        readable: true,
    })
    .await;
}

/// At rest the database is one file (the CLI closes it cleanly), and SQLite cannot open it in
/// WAL mode on a read-only or full disk: every command, reading too, says which.
#[tokio::test]
async fn a_read_only_disk_is_a_clear_error_and_loses_nothing() {
    writes_fail_cleanly(Fault {
        prepare: r#"mount --bind -o ro "$D" "$D""#,
        undo: "",
        expected: "it is read-only",
        readable: false,
    })
    .await;
}

#[tokio::test]
async fn a_full_disk_is_a_clear_error_and_loses_nothing() {
    // A copy of the data folder on a tiny file system, filled to the last block.
    writes_fail_cleanly(Fault {
        prepare: concat!(
            on_tiny_disk!(),
            r#"dd if=/dev/zero of="$D/filler" bs=4096 2>/dev/null || true"#
        ),
        undo: "",
        expected: "the disk is full",
        readable: false,
    })
    .await;
}

/// The disk fills while the database is in use (its write-ahead log already open, as when the
/// window runs): reading goes on; a change fails when it is written, and says why.
#[tokio::test]
async fn a_disk_that_fills_while_the_database_is_open_fails_writes_clearly() {
    writes_fail_cleanly(Fault {
        prepare: concat!(
            on_tiny_disk!(),
            r#"python3 -c 'import os,sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("select count(*) from accounts").fetchall(); os._exit(0)' "$D/accounts.sqlite3"
dd if=/dev/zero of="$D/filler" bs=4096 2>/dev/null || true"#
        ),
        undo: "",
        expected: "the disk holding the account database is full",
        readable: true,
    })
    .await;
}
