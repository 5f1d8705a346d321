//! "Remove all my data": every account disconnected (revoked where the provider allows), every
//! keychain entry of ours deleted, the data and state folders removed. Uninstalling the package
//! leaves user data alone, so this is how a person takes it all back.

use serde::Serialize;
use ts_rs::TS;

use crate::engine::{blocking, Engine};
use crate::error::{Error, ErrorKind, Result};
use crate::revoke::DisconnectOutcome;

/// What `forget_all` did.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ForgetReport {
    /// Accounts revoked at their provider, as "Name (Provider)".
    pub revoked: Vec<String>,
    /// Accounts removed here whose access remains at the provider, with what to do there.
    pub not_revoked: Vec<String>,
    /// The folders that were deleted.
    pub removed: Vec<String>,
}

impl Engine {
    /// Disconnects every account (removing it here even where revoking fails), deletes the
    /// client secrets, closes the database and deletes the data and state folders. The engine
    /// is unusable afterwards: the app quits (or the command ends).
    pub async fn forget_all(&self) -> Result<ForgetReport> {
        let mut report = ForgetReport {
            revoked: Vec::new(),
            not_revoked: Vec::new(),
            removed: Vec::new(),
        };
        for account in self.accounts().await? {
            let name = format!("{} ({})", account.display_name, account.provider_name);
            match self.disconnect(&account.id, true).await? {
                DisconnectOutcome::Revoked => report.revoked.push(name),
                DisconnectOutcome::RemovedLocally { warning } => {
                    report.not_revoked.push(format!("{name}: {warning}"))
                }
                DisconnectOutcome::ConfirmationRequired { message, .. } => {
                    // Not expected with `confirmed`; stop rather than delete what we could not settle.
                    return Err(Error::new(ErrorKind::Internal, message).hint(
                        "nothing else was removed; disconnect this account on its own first",
                    ));
                }
            }
        }
        for provider in self.providers().await? {
            let (k, id) = (self.keychain.clone(), provider.id.clone());
            blocking(move || k.delete_client_secret(&id)).await?;
        }
        self.close().await;
        for dir in [&self.paths.data_dir, &self.paths.state_dir] {
            match std::fs::remove_dir_all(dir) {
                Ok(()) => report.removed.push(dir.display().to_string()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(Error::storage(
                        format!("could not delete {}", dir.display()),
                        "delete the folder by hand; your accounts are already disconnected",
                        e,
                    ))
                }
            }
        }
        tracing::info!(?report, "all data removed");
        Ok(report)
    }
}
