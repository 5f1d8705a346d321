//! Disconnecting: record the intent, revoke at the provider (RFC 7009: refresh token first, then
//! access token), delete the keychain entry, then the row. A provider without a revocation
//! endpoint is said so plainly, and the account is removed locally only once the user confirms.

use serde::Serialize;
use ts_rs::TS;

use crate::account::{self, AccountRow, AccountStatus};
use crate::audit::AuditKind;
use crate::catalog::Revocation;
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::model::Spec;
use crate::secret::TokenSet;
use crate::token;

#[derive(Debug, Clone, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DisconnectOutcome {
    /// Revoked at the provider and removed here.
    Revoked,
    /// Removed here; `warning` says what remains at the provider.
    RemovedLocally { warning: String },
    /// Nothing done yet: the provider cannot revoke; ask the user, then call again confirmed.
    ConfirmationRequired {
        message: String,
        manage_url: Option<String>,
    },
}

impl Engine {
    /// Disconnects an account. Without `confirmed`, nothing changes when access would remain at
    /// the provider (it cannot revoke, or revoking failed): the answer is `ConfirmationRequired`,
    /// and the same call with `confirmed` removes the account locally.
    pub async fn disconnect(&self, query: &str, confirmed: bool) -> Result<DisconnectOutcome> {
        let row = self.row(query).await?;
        let outcome = self
            .disconnect_keeping_registration(query, confirmed)
            .await?;
        if !matches!(outcome, DisconnectOutcome::ConfirmationRequired { .. }) {
            // The provider's last account: the app's registration there goes too. The account
            // is gone either way, so a failure here is logged (and audited where it got that far).
            match self.drop_registration_if_unused(&row.provider_id).await {
                Ok(crate::registration::Dropped::NotDeleted(warning)) => {
                    tracing::warn!(warning, "a registration was not deleted at the server")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e.detailed(), "the registration was not deleted"),
            }
        }
        Ok(outcome)
    }

    /// [`Engine::disconnect`], leaving the provider's registration to the caller (removing a
    /// provider or all data deletes it once, after every account).
    pub(crate) async fn disconnect_keeping_registration(
        &self,
        query: &str,
        confirmed: bool,
    ) -> Result<DisconnectOutcome> {
        let row = self.row(query).await?;
        let provider = self.spec(&row.provider_id).await?;
        if !provider.can_revoke() && !confirmed {
            return Ok(DisconnectOutcome::ConfirmationRequired {
                message: format!(
                    "{} offers no way for apps to revoke access. Connected Accounts can forget {} here, but access remains at {} until the token expires or you remove the app in your account settings there.",
                    provider.name, row.display_name, provider.name
                ),
                manage_url: provider.manage_url.clone(),
            });
        }
        let _guard = self.locks.lock(&row.id).await?;
        let row = account::get(&self.db, &row.id).await?;
        self.disconnect_locked(&row, confirmed).await
    }

    /// The caller holds the account's lock. `remove_if_revoke_fails`: the user has accepted that
    /// access may remain at the provider.
    pub(crate) async fn disconnect_locked(
        &self,
        row: &AccountRow,
        remove_if_revoke_fails: bool,
    ) -> Result<DisconnectOutcome> {
        // Revoked where the account was connected, even if its provider points elsewhere now.
        let provider = match self.pinned_spec(row).await? {
            crate::pinned::Pinned::Same(spec) => *spec,
            crate::pinned::Pinned::Moved { recorded, .. } => *recorded,
        };
        let previous = match row.status() {
            // An interrupted disconnect being finished: the account was usable before it.
            AccountStatus::Disconnecting => AccountStatus::Connected,
            s => s,
        };
        account::set_status(&self.db, &row.id, AccountStatus::Disconnecting, None).await?;
        let tokens = match self.read_tokens(&row.id).await {
            Ok(t) => t,
            Err(e) => {
                self.settle(&row.id, previous, row.last_error.as_deref())
                    .await;
                return Err(e);
            }
        };
        let remains = format!(
            "access remains at {} until the token expires or you remove the app in your account settings there",
            provider.name
        );
        let outcome = match (provider.can_revoke(), tokens) {
            (true, Some(tokens)) => {
                match self.revoke_at(&provider, &tokens).await {
                    Ok(()) => {
                        self.audit(AuditKind::Revoked, row, "refresh and access token revoked")
                            .await;
                        DisconnectOutcome::Revoked
                    }
                    Err(e) => {
                        self.audit(AuditKind::RevokeFailed, row, &e.detailed())
                            .await;
                        if !remove_if_revoke_fails {
                            // Nothing is deleted: the tokens stay usable and the user decides.
                            self.settle(&row.id, previous, row.last_error.as_deref())
                                .await;
                            return Ok(DisconnectOutcome::ConfirmationRequired {
                            message: format!(
                                "{}. Remove {} from Connected Accounts anyway? If you do, {remains}.",
                                e.message, row.display_name
                            ),
                            manage_url: provider.manage_url.clone(),
                        });
                        }
                        self.audit(
                            AuditKind::RemovedLocally,
                            row,
                            "revocation failed; removed on confirmation",
                        )
                        .await;
                        DisconnectOutcome::RemovedLocally {
                            warning: format!(
                                "{}; the account was removed here, but {remains}",
                                e.message
                            ),
                        }
                    }
                }
            }
            (true, None) => {
                self.audit(
                    AuditKind::RemovedLocally,
                    row,
                    "no tokens in the keychain to revoke",
                )
                .await;
                DisconnectOutcome::RemovedLocally {
                    warning: "the keychain held no tokens for this account, so there was nothing to revoke".into(),
                }
            }
            (false, _) => {
                self.audit(
                    AuditKind::RemovedLocally,
                    row,
                    "the provider has no revocation endpoint",
                )
                .await;
                DisconnectOutcome::RemovedLocally {
                    warning: format!("{} cannot revoke access: {remains}", provider.name),
                }
            }
        };
        crate::crash::point("disconnect-after-revoke");
        if let Err(e) = self.delete_tokens(&row.id).await {
            self.settle(&row.id, previous, Some(&e.message)).await;
            return Err(e);
        }
        crate::crash::point("disconnect-after-keychain");
        account::delete(&self.db, &row.id).await?;
        self.locks.forget(&row.id);
        self.accounts_changed();
        Ok(outcome)
    }

    /// Revokes at the provider in its own way. RFC 7009: the refresh token first (which also ends
    /// its access tokens at most servers), then the access token. Sent with reqwest rather than
    /// oauth2's `revoke_token`, which refuses http even on loopback and knows only RFC 7009;
    /// `provider::check_endpoint_url` requires https everywhere else.
    pub(crate) async fn revoke_at(&self, provider: &Spec, tokens: &TokenSet) -> Result<()> {
        let secret = self.client_secret_for(provider).await?;
        let key = crate::dpop::key_of(tokens)?;
        let mut calls: Vec<reqwest::RequestBuilder> = Vec::new();
        match &provider.revocation {
            Revocation::Rfc7009 { url } => {
                // Bound tokens are revoked with a proof of their key, as they were issued.
                let proof = |url: &str| -> Result<Option<String>> {
                    let Some(key) = &key else { return Ok(None) };
                    let target =
                        url::Url::parse(url).map_err(|_| Error::internal("bad revocation URL"))?;
                    let nonce = crate::dpop::nonce_for(&target);
                    key.proof("POST", &target, nonce.as_deref(), None).map(Some)
                };
                let mut order = Vec::new();
                if let Some(rt) = &tokens.refresh_token {
                    order.push((rt, "refresh_token"));
                }
                order.push((&tokens.access_token, "access_token"));
                for (token, hint) in order {
                    let mut form = vec![("token", token.expose()), ("token_type_hint", hint)];
                    let mut call = self
                        .http()?
                        .post(url)
                        .header(reqwest::header::ACCEPT, "application/json");
                    call = token::authenticate(provider, secret.as_ref(), call, &mut form);
                    if let Some(proof) = proof(url)? {
                        call = call.header("DPoP", proof);
                    }
                    calls.push(call.form(&form));
                }
            }
            Revocation::GithubTokenDelete { url } => {
                // Revokes only this token (`/grant` would sign the app out on every device).
                let secret = secret.as_ref().map(|s| s.expose()).unwrap_or_default();
                calls.push(
                    self.http()?
                        .delete(url)
                        .basic_auth(&provider.client_id, Some(secret))
                        .header(reqwest::header::ACCEPT, "application/vnd.github+json")
                        .json(&serde_json::json!({ "access_token": tokens.access_token.expose() })),
                );
            }
            Revocation::BearerSelf { url, method } => {
                let method = reqwest::Method::from_bytes(method.as_bytes())
                    .map_err(|_| Error::internal("bad revocation method"))?;
                calls.push(
                    self.http()?
                        .request(method, url)
                        .bearer_auth(tokens.access_token.expose()),
                );
            }
            Revocation::None { .. } => return Ok(()),
        }
        for (i, call) in calls.into_iter().enumerate() {
            let failure = match call.send().await {
                Ok(mut r) if r.status().is_success() => {
                    // Slack answers 200 with {"ok": false} when it refuses.
                    let body: serde_json::Value =
                        match crate::http::read_capped(&mut r, crate::http::MAX_REPLY).await {
                            Ok((bytes, false)) => {
                                serde_json::from_slice(&bytes).unwrap_or_default()
                            }
                            _ => serde_json::Value::Null,
                        };
                    if body.get("ok").and_then(serde_json::Value::as_bool) == Some(false) {
                        Error::new(
                            ErrorKind::Provider,
                            format!(
                                "{} refused to revoke access ({})",
                                provider.name,
                                body["error"].as_str().unwrap_or("ok: false")
                            ),
                        )
                    } else {
                        continue;
                    }
                }
                Ok(r) => Error::new(
                    ErrorKind::Provider,
                    format!(
                        "{} refused to revoke access (HTTP {})",
                        provider.name,
                        r.status().as_u16()
                    ),
                ),
                Err(e) => Error::new(
                    ErrorKind::Network,
                    format!("cannot reach {} to revoke access", provider.name),
                )
                .cause(e.without_url()),
            };
            // After the refresh token is revoked, a failure on the access token is not worth
            // keeping the account for: it expires soon and its grant is gone.
            if i == 0 {
                return Err(
                    failure.hint("nothing was removed; try again when the provider can be reached")
                );
            }
            tracing::warn!(provider = %provider.id, error = %failure.detailed(), "access token revocation failed after the refresh token was revoked");
        }
        Ok(())
    }
}
