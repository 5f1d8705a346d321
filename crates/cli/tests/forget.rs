//! "Remove all my data" (`forget-all`): every account revoked at the real server, every keychain
//! entry of ours gone from the real Secret Service, the data and state folders deleted, and the
//! next start begins empty. Without --yes nothing happens.

#[path = "../../../tests/support/profile_cli.rs"]
mod profile_cli;
#[path = "../../../tests/support/mod.rs"]
mod support;

use profile_cli::ProfileCli;
use serde_json::Value;
use support::{require_keyring, Idp, Sandbox};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

type Cli<'a> = ProfileCli<'a>;

/// Revoked at the server: the refresh token is refused there.
async fn assert_revoked(idp: &Idp, refresh_token: &str) {
    let refused = reqwest::Client::new()
        .post(format!("{}/token", idp.issuer))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", "connected-accounts-demo"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    assert_eq!(
        refused.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
}

/// A keychain entry as versions before tagging wrote it: service and account id, nothing else.
async fn store_as_an_older_version(service: &str, key: &str, secret: &str) {
    let mut store = Command::new("secret-tool")
        .args(["store", "--label=old", "service", service, "username", key])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    store
        .stdin
        .take()
        .unwrap()
        .write_all(secret.as_bytes())
        .await
        .unwrap();
    assert!(store.wait().await.unwrap().success());
}

#[tokio::test]
async fn forget_all_revokes_everything_and_leaves_nothing_behind() {
    require_keyring();
    let idp = Idp::start().await;
    let sandbox = Sandbox::new();
    let cli = Cli {
        sandbox: &sandbox,
        profile: format!("forget{}", std::process::id()),
    };
    cli.ok(&support::add_demo_provider_args(&idp), "alice")
        .await;
    let alice = cli.ok(&["connect", "local-demo", "--json"], "alice").await;
    let bob = cli.ok(&["connect", "local-demo", "--json"], "bob").await;
    let out = cli
        .run(
            &[
                "providers",
                "configure",
                "gitlab",
                "--client-id",
                "gl-id",
                "--client-secret-stdin",
            ],
            "",
            "gl-secret\n",
        )
        .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let before = cli.keychain_items().await;
    for id in [&alice["id"], &bob["id"]] {
        assert!(before.contains(id.as_str().unwrap()), "{before}");
    }
    assert!(before.contains("client-secret:gitlab"), "{before}");
    let stored: Value = serde_json::from_str(
        &support::keychain_lookup(
            &format!("connected-accounts-{}", cli.profile),
            alice["id"].as_str().unwrap(),
        )
        .await
        .unwrap(),
    )
    .unwrap();
    let alice_refresh = stored["refresh_token"].as_str().unwrap().to_string();

    // Without --yes: a clear refusal, nothing touched.
    let out = cli.run(&["forget-all"], "", "").await;
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("all 2 accounts") && said.contains("--yes"),
        "{said}"
    );
    assert_eq!(
        cli.ok(&["list", "--json"], "")
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let report = cli.ok(&["forget-all", "--yes", "--json"], "").await;
    assert_eq!(report["revoked"].as_array().unwrap().len(), 2, "{report}");
    assert_eq!(report["not_revoked"], serde_json::json!([]));
    let data = sandbox
        .dir
        .join(format!("data/connected-accounts-{}", cli.profile));
    let state = sandbox
        .dir
        .join(format!("state/connected-accounts-{}", cli.profile));
    assert!(!data.exists() && !state.exists(), "{report}");

    let after = cli.keychain_items().await;
    assert!(!after.contains("[/"), "keychain items left: {after}");
    assert_revoked(&idp, &alice_refresh).await;

    // The next start begins empty.
    assert_eq!(cli.ok(&["list", "--json"], "").await, serde_json::json!([]));
}

/// Hole 8 (issue 12): the database was moved aside (as the "database is damaged" hint says to
/// do), so it no longer knows the accounts. forget-all still finds every item of the profile by
/// the keychain's attributes, revokes the grant its tags name at the real server, deletes them
/// all, and reports what it could not revoke.
#[tokio::test]
async fn forget_all_finds_what_the_database_no_longer_knows() {
    require_keyring();
    let idp = Idp::start().await;
    let sandbox = Sandbox::new();
    let cli = Cli {
        sandbox: &sandbox,
        profile: format!("orphans{}", std::process::id()),
    };
    let service = format!("connected-accounts-{}", cli.profile);
    cli.ok(&support::add_demo_provider_args(&idp), "alice")
        .await;
    let alice = cli.ok(&["connect", "local-demo", "--json"], "alice").await;
    let alice_id = alice["id"].as_str().unwrap();
    let stored: Value =
        serde_json::from_str(&support::keychain_lookup(&service, alice_id).await.unwrap()).unwrap();
    let alice_refresh = stored["refresh_token"].as_str().unwrap().to_string();
    // The entry says, in its attributes (never a secret), how to revoke it.
    let described = cli.keychain_items().await;
    assert!(
        described.contains("attribute.ca_kind = tokens"),
        "{described}"
    );
    assert!(
        described.contains(&format!(
            "attribute.ca_revocation = {}/token/revocation",
            idp.issuer
        )),
        "{described}"
    );
    // An entry nothing describes (as an older version wrote them): found and deleted, and named
    // in the report as not revoked.
    store_as_an_older_version(&service, "0123456789abcdef", "{}").await;

    let data = sandbox
        .dir
        .join(format!("data/connected-accounts-{}", cli.profile));
    std::fs::rename(&data, sandbox.dir.join("moved-aside")).unwrap();
    assert_eq!(cli.ok(&["list", "--json"], "").await, serde_json::json!([]));

    let report = cli.ok(&["forget-all", "--yes", "--json"], "").await;
    let revoked = report["revoked"].as_array().unwrap();
    assert_eq!(revoked.len(), 1, "{report}");
    assert!(revoked[0].as_str().unwrap().contains(alice_id), "{report}");
    let not_revoked = report["not_revoked"].as_array().unwrap();
    assert_eq!(not_revoked.len(), 1, "{report}");
    assert!(
        not_revoked[0]
            .as_str()
            .unwrap()
            .contains("0123456789abcdef"),
        "{report}"
    );

    let after = cli.keychain_items().await;
    assert!(!after.contains("[/"), "keychain items left: {after}");
    assert_revoked(&idp, &alice_refresh).await;
}

/// Alice connected in `cli`'s profile through the real server; her account id.
async fn connect_alice(cli: &Cli<'_>, idp: &Idp) -> String {
    cli.ok(&support::add_demo_provider_args(idp), "alice").await;
    cli.ok(&["connect", "local-demo", "--json"], "alice").await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Deletes an account's keychain entry behind the app's back.
async fn clear_entry(service: &str, id: &str) {
    let cleared = Command::new("secret-tool")
        .args(["clear", "service", service, "username", id])
        .status()
        .await
        .unwrap();
    assert!(cleared.success());
}

fn database_of(cli: &Cli<'_>) -> std::path::PathBuf {
    cli.sandbox.dir.join(format!(
        "data/connected-accounts-{}/accounts.sqlite3",
        cli.profile
    ))
}

/// Runs one SQL statement on the database behind the app's back; prints its rows.
fn sql(db: &std::path::Path, statement: &str) -> String {
    let out = std::process::Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); r=c.execute(sys.argv[2]).fetchall(); c.commit(); print(r)",
        ])
        .arg(db)
        .arg(statement)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Hole 8, upgrade: an entry written before entries were tagged (no attributes beyond service and
/// account id) gets its tags in place at the first start (the window's, or `recover`), secret
/// untouched.
#[tokio::test]
async fn entries_from_before_tagging_get_their_tags_at_the_first_start() {
    require_keyring();
    let idp = Idp::start().await;
    let sandbox = Sandbox::new();
    let cli = Cli {
        sandbox: &sandbox,
        profile: format!("legacy{}", std::process::id()),
    };
    let service = format!("connected-accounts-{}", cli.profile);
    let id = connect_alice(&cli, &idp).await;
    let secret = support::keychain_lookup(&service, &id).await.unwrap();
    // Rewrite the entry as an older version stored it, and the row as it knew it.
    clear_entry(&service, &id).await;
    store_as_an_older_version(&service, &id, &secret).await;
    let db = database_of(&cli);
    sql(&db, "UPDATE accounts SET keychain_tagged = 0");
    assert!(!cli.keychain_items().await.contains("ca_kind"));

    cli.ok(&["recover", "--json"], "").await;
    let items = cli.keychain_items().await;
    assert!(items.contains("attribute.ca_kind = tokens"), "{items}");
    assert!(
        items.contains("attribute.ca_provider = local-demo"),
        "{items}"
    );
    assert_eq!(
        support::keychain_lookup(&service, &id).await.unwrap(),
        secret,
        "the secret is untouched"
    );
    cli.ok(&["revoke", &id, "--yes"], "").await;
}

/// An account row with no keychain entry (lost, or removed by hand) is looked for once, at the
/// first start after the upgrade, not at every start: start-up reads no secret.
#[tokio::test]
async fn a_row_without_a_keychain_entry_is_looked_for_once() {
    require_keyring();
    let idp = Idp::start().await;
    let sandbox = Sandbox::new();
    let cli = Cli {
        sandbox: &sandbox,
        profile: format!("lost{}", std::process::id()),
    };
    let service = format!("connected-accounts-{}", cli.profile);
    let id = connect_alice(&cli, &idp).await;
    clear_entry(&service, &id).await;
    let db = database_of(&cli);
    sql(&db, "UPDATE accounts SET keychain_tagged = 0");
    assert_eq!(
        sql(&db, "SELECT keychain_tagged FROM accounts").trim(),
        "[(0,)]"
    );

    cli.ok(&["recover", "--json"], "").await;
    assert_eq!(
        sql(&db, "SELECT keychain_tagged FROM accounts").trim(),
        "[(1,)]",
        "looked for once: not searched again at the next start"
    );
    assert!(support::keychain_lookup(&service, &id).await.is_none());
}
