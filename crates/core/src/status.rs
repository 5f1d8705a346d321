//! `status`: where tokens are kept, each account's health, the git rules (and which account a
//! host and path would get), and whether a browser can be opened here. Reads no secret.

use serde::Serialize;

use crate::account::Account;
use crate::browser::BrowserHere;
use crate::engine::Engine;
use crate::error::Result;
use crate::git::{Chosen, GitRule};

#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub keychain: KeychainStatus,
    pub browser: BrowserHere,
    pub accounts: Vec<Account>,
    pub git_rules: Vec<GitRule>,
    /// Which account git would use for the host (and path) asked about.
    pub git: Option<GitAnswer>,
}

#[derive(Debug, Clone, Serialize)]
pub struct KeychainStatus {
    /// `secret_service`, `macos_keychain` or `windows_credential_manager`.
    pub store: &'static str,
    pub description: &'static str,
    /// The store answered a search (no secret is read for it).
    pub available: bool,
    /// This app's entries there.
    pub entries: Option<usize>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GitAnswer {
    pub host: String,
    pub path: Option<String>,
    pub account: Option<String>,
    pub why: Option<Chosen>,
    pub error: Option<String>,
}

fn store() -> (&'static str, &'static str) {
    if cfg!(target_os = "macos") {
        ("macos_keychain", "the macOS Keychain (login keychain)")
    } else if cfg!(target_os = "windows") {
        ("windows_credential_manager", "Windows Credential Manager")
    } else {
        (
            "secret_service",
            "the Secret Service (org.freedesktop.secrets), default collection",
        )
    }
}

impl Engine {
    pub async fn status(&self, host: Option<&str>, path: Option<&str>) -> Result<Status> {
        let (store, description) = store();
        let keychain = self.keychain.clone();
        let found = crate::engine::blocking(move || keychain.items()).await;
        let keychain = KeychainStatus {
            store,
            description,
            available: found.is_ok(),
            entries: found.as_ref().ok().map(Vec::len),
            error: found.err().map(|e| e.message),
        };
        let git = match host {
            None => None,
            Some(host) => Some(match self.git_account(host, path, None, None).await {
                Ok((row, why)) => GitAnswer {
                    host: host.to_owned(),
                    path: path.map(str::to_owned),
                    account: Some(row.id),
                    why: Some(why),
                    error: None,
                },
                Err(e) => GitAnswer {
                    host: host.to_owned(),
                    path: path.map(str::to_owned),
                    account: None,
                    why: None,
                    error: Some(e.message),
                },
            }),
        };
        Ok(Status {
            keychain,
            browser: crate::browser::here(),
            accounts: self.accounts().await?,
            git_rules: self.git_rules().await?,
            git,
        })
    }
}
