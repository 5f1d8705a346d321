//! "Remove all my data": every account disconnected (revoked where the provider allows), every
//! keychain entry of ours deleted, the data and state folders removed. Uninstalling the package
//! leaves user data alone, so this is how a person takes it all back.

use serde::Serialize;
use ts_rs::TS;

use crate::endpoints::Endpoints;
use crate::engine::{blocking, Engine};
use crate::error::{Error, ErrorKind, Result};
use crate::model::Provider;
use crate::model::{Settings, Spec};
use crate::registration::Management;
use crate::revoke::DisconnectOutcome;
use crate::secret::Tags;

/// What `forget_all` did.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ForgetReport {
    /// Accounts revoked at their provider, as "Name (Provider)".
    pub revoked: Vec<String>,
    /// Accounts removed here whose access remains at the provider, with what to do there.
    pub not_revoked: Vec<String>,
    /// The folders (and the start-at-login entry) that were deleted.
    pub removed: Vec<String>,
}

impl Engine {
    /// The provider as a keychain entry's tags describe it, for revoking with no database: the
    /// built-in profile of that id, else a standard OAuth server, at the recorded endpoints.
    fn orphan_spec(&self, tags: &Tags) -> Spec {
        let spec = match self.profile(&tags.provider) {
            Some(profile) => Spec::from_profile(
                profile,
                &Settings {
                    client_id: Some(tags.client_id.clone()),
                    params: Default::default(),
                },
            ),
            None => Spec::from_discovered(&Provider {
                id: tags.provider.clone(),
                name: tags.provider.clone(),
                issuer: tags.issuer.clone(),
                client_id: tags.client_id.clone(),
                scopes: vec![],
                authorization_endpoint: String::new(),
                token_endpoint: String::new(),
                userinfo_endpoint: None,
                revocation_endpoint: Some(tags.revocation.clone()),
                device_endpoint: None,
                jwks_uri: String::new(),
                iss_parameter_supported: false,
                par_endpoint: None,
                require_par: false,
                client_auth: crate::catalog::ClientAuth::None,
                redirect_uris: vec![],
                registration_endpoint: None,
                client_secret_expires_at: None,
                registered_scopes: vec![],
                prompt_values: vec![],
                dpop_algs: vec![],
            }),
        };
        let token = spec.token_endpoint.clone();
        spec.pinned_to(&Endpoints {
            issuer: Some(tags.issuer.clone()),
            token,
            revocation: Some(tags.revocation.clone()),
            user: None,
        })
    }

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
            match self
                .disconnect_keeping_registration(&account.id, true)
                .await?
            {
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
        // The app's registrations, after the accounts (their tokens were revoked as that client).
        for provider in crate::provider::list(&self.db).await? {
            if let crate::registration::Dropped::NotDeleted(warning) =
                self.drop_registration(&provider.id).await?
            {
                report.not_revoked.push(warning);
            }
        }
        // What the database does not know (it was moved aside, or is another copy's): every item
        // of this profile, found by its attributes, revoked where its tags say how, then deleted.
        let k = self.keychain.clone();
        let items = blocking(move || k.items()).await?;
        // Registrations the database does not know (each item says where it is managed).
        for item in items.iter().filter(|i| i.is_registration()) {
            let (k, key) = (self.keychain.clone(), item.key.clone());
            let kept = blocking(move || k.text_at(&key)).await;
            let management = kept.ok().flatten();
            if let Some(m) = management.and_then(|m| Management::from_secret(&m)) {
                if let Err(e) = crate::registration::delete(self.http()?, &m).await {
                    report.not_revoked.push(format!(
                        "an app registration at {}: {}; it stays there unused",
                        crate::text::for_terminal(&m.uri),
                        e.message
                    ));
                }
            }
        }
        for item in items.iter().filter(|i| i.is_account()) {
            let what = format!("account {}", item.key);
            let tags = match Tags::read(&item.attributes) {
                Some(tags) if !tags.revocation.is_empty() => tags,
                Some(tags) => {
                    report.not_revoked.push(format!(
                        "{what} ({}): the provider offers no way for apps to revoke; remove the app's access in your account settings there",
                        tags.provider
                    ));
                    continue;
                }
                None => {
                    report.not_revoked.push(format!(
                        "{what}: the keychain did not say where it was connected, so it could not be revoked; remove the app's access in your account settings at its provider"
                    ));
                    continue;
                }
            };
            // The tags are ours, but anything of this user can edit them: the same rules as any
            // endpoint before a token is sent.
            let checked = crate::model::check_endpoint_url("revocation endpoint", &tags.revocation);
            let revoked = match (checked, self.read_tokens(&item.key).await) {
                (Err(e), _) => Err(e),
                (Ok(_), Ok(Some(tokens))) => {
                    self.revoke_at(&self.orphan_spec(&tags), &tokens).await
                }
                (Ok(_), Ok(None)) => continue,
                (Ok(_), Err(e)) => Err(e),
            };
            match revoked {
                Ok(()) => report.revoked.push(format!("{what} ({})", tags.provider)),
                Err(e) => report.not_revoked.push(format!(
                    "{what} ({}): {}; remove the app's access in your account settings there",
                    tags.provider, e.message
                )),
            }
        }
        for provider in self.providers().await? {
            let (k, id) = (self.keychain.clone(), provider.id.clone());
            blocking(move || k.delete_client_secret(&id)).await?;
        }
        for item in items {
            let k = self.keychain.clone();
            blocking(move || k.delete_item(&item.key)).await?;
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
        // Nothing starts again at the next login. Last, so a failure here leaves nothing else undone.
        if let Some(entry) = self.autostart() {
            if entry.disable()? {
                report
                    .removed
                    .push(entry.entry_path().display().to_string());
            }
        }
        tracing::info!(?report, "all data removed");
        Ok(report)
    }
}
