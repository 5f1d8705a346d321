//! "Remove all my data" (`forget-all`): every account revoked at the real server, every keychain
//! entry of ours gone from the real Secret Service, the data and state folders deleted, and the
//! next start begins empty. Without --yes nothing happens.

#[path = "../../../tests/support/mod.rs"]
mod support;

use std::process::Output;

use serde_json::Value;
use support::{require_keyring, Idp, Sandbox};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

struct Cli<'a> {
    sandbox: &'a Sandbox,
    profile: String,
}

impl Cli<'_> {
    async fn run(&self, args: &[&str], login: &str, stdin: &str) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_connected-accounts"))
            .args(args)
            .envs(self.sandbox.env())
            // Its own profile: its own keychain namespace, so the search below sees only its items.
            .env("CONNECTED_ACCOUNTS_PROFILE", &self.profile)
            .env("CA_TEST_LOGIN", login)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.as_bytes()).await.unwrap();
        drop(input);
        child.wait_with_output().await.unwrap()
    }

    async fn ok(&self, args: &[&str], login: &str) -> Value {
        let out = self.run(args, login, "").await;
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }

    async fn keychain_items(&self) -> String {
        let out = Command::new("secret-tool")
            .args([
                "search",
                "--all",
                "service",
                &format!("connected-accounts-{}", self.profile),
            ])
            .output()
            .await
            .unwrap();
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }
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
    // Revoked at the server: alice's refresh token is refused there.
    let refused = reqwest::Client::new()
        .post(format!("{}/token", idp.issuer))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", alice_refresh.as_str()),
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

    // The next start begins empty.
    assert_eq!(cli.ok(&["list", "--json"], "").await, serde_json::json!([]));
}
