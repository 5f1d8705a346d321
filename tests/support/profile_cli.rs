//! The command line in its own profile, for the command line's integration tests (which declare
//! `mod support` beside it). Kept apart from `support` because the core's tests have no binary.
#![allow(dead_code)]

use std::process::Stdio;

use tokio::process::Command;

use crate::support::Sandbox;

/// The command line in its own profile (its own keychain namespace, data and state folders under
/// the sandbox), so one test's keychain items are told apart from another's.
pub struct ProfileCli<'a> {
    pub sandbox: &'a Sandbox,
    pub profile: String,
}

impl<'a> ProfileCli<'a> {
    /// `name` plus this process's id: tests running at once never share a profile.
    pub fn new(sandbox: &'a Sandbox, name: &str) -> Self {
        Self {
            sandbox,
            profile: format!("{name}{}", std::process::id()),
        }
    }

    /// The keychain service (namespace) of this profile.
    pub fn service(&self) -> String {
        format!("connected-accounts-{}", self.profile)
    }

    /// Runs the command line; `login` is whom the scripted browser signs in as, `stdin` its input.
    pub async fn run(&self, args: &[&str], login: &str, stdin: &str) -> std::process::Output {
        self.run_with(args, login, stdin, &[]).await
    }

    /// [`ProfileCli::run`] with more environment (`HOME` for git, a crash point).
    pub async fn run_with(
        &self,
        args: &[&str],
        login: &str,
        stdin: &str,
        env: &[(&str, &str)],
    ) -> std::process::Output {
        use tokio::io::AsyncWriteExt;
        let mut child = Command::new(env!("CARGO_BIN_EXE_connected-accounts"))
            .args(args)
            .envs(self.sandbox.env())
            .env("CONNECTED_ACCOUNTS_PROFILE", &self.profile)
            .env("CA_TEST_LOGIN", login)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.as_bytes()).await.unwrap();
        drop(input);
        child.wait_with_output().await.unwrap()
    }

    /// Runs it, expecting success; its stdout as JSON (null when it printed none).
    pub async fn ok(&self, args: &[&str], login: &str) -> serde_json::Value {
        let out = self.run(args, login, "").await;
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
    }

    /// What `secret-tool` finds of this profile in the Secret Service (items and errors).
    pub async fn keychain_items(&self) -> String {
        let out = Command::new("secret-tool")
            .args(["search", "--all", "service", &self.service()])
            .output()
            .await
            .unwrap();
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// A provider as `providers --json` shows it.
    pub async fn provider(&self, id: &str) -> Option<serde_json::Value> {
        let all = self.ok(&["providers", "--json"], "").await;
        all.as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .cloned()
    }

    /// The providers added by URL (not built in).
    pub async fn custom_providers(&self) -> Vec<serde_json::Value> {
        let all = self.ok(&["providers", "--json"], "").await;
        all.as_array()
            .unwrap()
            .iter()
            .filter(|p| p["builtin"] == false)
            .cloned()
            .collect()
    }

    /// This profile's data and state folders.
    pub fn dirs(&self) -> [std::path::PathBuf; 2] {
        ["data", "state"].map(|d| {
            self.sandbox
                .dir
                .join(format!("{d}/connected-accounts-{}", self.profile))
        })
    }

    /// No file of this profile (database, logs, audit) holds `secret`.
    pub fn nowhere_in_files(&self, secret: &str) {
        for dir in self.dirs() {
            let hits = crate::support::files_containing(&dir, secret);
            assert!(hits.is_empty(), "a secret reached {hits:?}");
        }
    }
}
