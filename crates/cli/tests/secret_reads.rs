//! Start-up reads no secret: what the window reads first (providers, accounts) comes from SQLite
//! alone, and the Secret Service sees no read while it is listed. This watches the whole session
//! bus, so it has a test binary of its own (cargo runs test binaries one at a time): no other
//! test's keychain reads can land in its count.

#[path = "../../../tests/support/mod.rs"]
mod support;

use support::{require_keyring, Idp, Sandbox};

async fn run(sandbox: &Sandbox, args: &[&str]) -> std::process::Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_connected-accounts"));
    cmd.args(args).stdin(std::process::Stdio::null());
    cmd.envs(sandbox.env());
    cmd.output().await.expect("run connected-accounts")
}

/// The Secret Service calls that read secrets, as `dbus-monitor` sees them while `args` runs.
async fn secret_reads_during(sandbox: &Sandbox, args: &[&str]) -> (usize, std::process::Output) {
    let mut monitor = tokio::process::Command::new("dbus-monitor")
        .args([
            "--session",
            "type='method_call',interface='org.freedesktop.Secret.Service'",
            "type='method_call',interface='org.freedesktop.Secret.Item'",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("dbus-monitor (dbus package)");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let out = run(sandbox, args).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    monitor.start_kill().unwrap();
    let seen = monitor.wait_with_output().await.unwrap();
    let text = String::from_utf8_lossy(&seen.stdout);
    let reads = text
        .lines()
        .filter(|l| {
            l.contains("member=SearchItems")
                || l.contains("member=GetSecrets")
                || l.contains("member=GetSecret")
        })
        .count();
    (reads, out)
}

#[tokio::test]
async fn listing_reads_no_secret_while_a_token_read_does() {
    require_keyring();
    let idp = Idp::start().await;
    let sandbox = Sandbox::new();
    assert!(run(&sandbox, &support::add_demo_provider_args(&idp))
        .await
        .status
        .success());
    let connected = run(&sandbox, &["connect", "local-demo"]).await;
    assert!(connected.status.success());
    let id = String::from_utf8(connected.stdout)
        .unwrap()
        .trim()
        .to_string();
    // What the window does at start-up: providers and accounts from SQLite only.
    for args in [
        ["list", "--json"].as_slice(),
        ["providers", "--json"].as_slice(),
        ["show", id.as_str()].as_slice(),
    ] {
        let (reads, out) = secret_reads_during(&sandbox, args).await;
        assert!(out.status.success());
        assert_eq!(reads, 0, "{args:?} read the keychain");
    }
    // The monitor does see reads: `token` needs the secret.
    let (reads, out) = secret_reads_during(&sandbox, &["token", &id]).await;
    assert!(out.status.success());
    assert!(reads >= 1, "dbus-monitor saw no secret read at all");
}
