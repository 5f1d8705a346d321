//! Refreshing: one refresh at a time per account (across processes); the rotated refresh token is
//! saved to the keychain before anything else; `invalid_grant` marks the account `needs_reconnect`
//! and keeps it (and its refresh token) rather than deleting anything.

use std::time::Duration;

use oauth2::RefreshToken;

use crate::account::{self, Account, AccountRow, AccountStatus};
use crate::audit::{self, AuditKind};
use crate::consumer::Consumer;
use crate::db::now_ms;
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Remedy, Result};
use crate::git::GitProfile;
use crate::model::Spec;
use crate::policy::Clearance;
use crate::secret::{SecretString, TokenSet};
use crate::token;

/// The variable `exec` puts a token in when the provider's profile names none.
pub const DEFAULT_TOKEN_ENV: &str = "OAUTH_ACCESS_TOKEN";

/// The longest margin `token` keeps before expiry.
pub const MAX_MARGIN: Duration = Duration::from_secs(60);
/// How long a token `exec` hands to a program stays valid at least.
pub const EXEC_VALIDITY: Duration = Duration::from_secs(5 * 60);

/// How long before expiry a token counts as stale: 60 s, or half its lifetime if that is shorter.
pub fn margin_ms(tokens: &TokenSet) -> i64 {
    margin_for(tokens, MAX_MARGIN)
}

/// The margin for a token that must stay valid for `wanted`: that, or half the token's lifetime
/// when the provider issues shorter-lived ones (a fresh token is then as good as it gets).
pub fn margin_for(tokens: &TokenSet, wanted: Duration) -> i64 {
    let max = wanted.as_millis() as i64;
    match tokens.expires_at_ms {
        Some(exp) => max.min(((exp - tokens.obtained_at_ms) / 2).max(0)),
        None => 0,
    }
}

pub fn is_stale(tokens: &TokenSet, now: i64) -> bool {
    stale_for(tokens, now, MAX_MARGIN)
}

fn stale_for(tokens: &TokenSet, now: i64, wanted: Duration) -> bool {
    tokens
        .expires_at_ms
        .is_some_and(|exp| exp - now <= margin_for(tokens, wanted))
}

/// A token handed to a local program, and what the program's door needs to know about it.
pub struct ToolToken {
    pub access_token: SecretString,
    /// Unix ms; `None` when the provider gave no lifetime.
    pub expires_at_ms: Option<i64>,
    /// When to fetch again to keep `wanted` validity (Unix ms).
    pub renew_at_ms: Option<i64>,
    pub account: Account,
    /// The environment variable the provider's own tools read (`GH_TOKEN`), else
    /// `OAUTH_ACCESS_TOKEN`.
    pub env_name: String,
    /// The provider's git conventions, for the credential helper.
    pub git: GitProfile,
}

impl Engine {
    /// Refreshes now (the Refresh button, `connected-accounts refresh`).
    pub async fn refresh(&self, query: &str) -> Result<Account> {
        let row = self.row(query).await?;
        let _guard = self.locks.lock(&row.id).await?;
        let row = account::get(&self.db, &row.id).await?;
        let tokens = self
            .tokens_or_reconnect(&row)
            .await
            .map_err(reconnect(&row))?;
        let refreshed = self.refresh_locked(&row, tokens).await;
        // Its next refresh (and any notice about it) is due at another time now.
        self.events.accounts_changed();
        refreshed.map_err(reconnect(&row))?;
        Ok(account::get(&self.db, &row.id).await?.view(now_ms()))
    }

    /// Tokens that stay valid for the refresh margin, refreshing first if needed. The returned
    /// set is fresh; callers use its access token and drop it.
    pub async fn fresh_tokens(&self, query: &str) -> Result<(AccountRow, TokenSet)> {
        let (row, tokens, _) = self.fresh_tokens_for(query, MAX_MARGIN).await?;
        Ok((row, tokens))
    }

    /// Tokens that stay valid for `wanted` (or half their lifetime, if shorter).
    async fn fresh_tokens_for(
        &self,
        query: &str,
        wanted: Duration,
    ) -> Result<(AccountRow, TokenSet, Spec)> {
        let row = self.row(query).await?;
        if row.status() == AccountStatus::NeedsReconnect {
            return Err(needs_reconnect(&row));
        }
        // A provider moved under the account: no token of it is handed out or sent on.
        let spec = self.spec_for_tokens(&row).await.map_err(reconnect(&row))?;
        let tokens = self
            .tokens_or_reconnect(&row)
            .await
            .map_err(reconnect(&row))?;
        if !stale_for(&tokens, now_ms(), wanted) {
            return Ok((row, tokens, spec));
        }
        let _guard = self.locks.lock(&row.id).await?;
        // Someone else may have refreshed while we waited: read again before spending the token.
        let tokens = self
            .tokens_or_reconnect(&row)
            .await
            .map_err(reconnect(&row))?;
        if !stale_for(&tokens, now_ms(), wanted) {
            return Ok((row, tokens, spec));
        }
        let tokens = self
            .refresh_locked(&row, tokens)
            .await
            .map_err(reconnect(&row))?;
        Ok((row, tokens, spec))
    }

    /// An access token for scripts (`connected-accounts token`); audited with its reader.
    pub async fn access_token(
        &self,
        query: &str,
        reader: &Consumer,
        cleared: &Clearance,
    ) -> Result<SecretString> {
        Ok(self
            .token_for_tool(query, reader, "token", MAX_MARGIN, cleared)
            .await?
            .access_token)
    }

    /// An access token for a local program, valid for at least `wanted` (or half its lifetime
    /// when the provider issues shorter ones), refreshed first if needed. Recorded in the audit
    /// log with `reader` and `detail` (what for, never a secret). `cleared` is the account's
    /// policy's leave ([`Engine::clear_read`]).
    pub async fn token_for_tool(
        &self,
        query: &str,
        reader: &Consumer,
        detail: &str,
        wanted: Duration,
        cleared: &Clearance,
    ) -> Result<ToolToken> {
        // The policy is asked before the keychain: a refused read opens nothing.
        let row = self.row(query).await?;
        cleared.check(&row)?;
        if row.dpop_bound {
            return Err(crate::policy::bound_refusal(&row));
        }
        let (row, tokens, spec) = self.fresh_tokens_for(query, wanted).await?;
        audit::record_read(&self.db, &row.id, &row.provider_id, reader, detail).await;
        let git = GitProfile::of(&spec);
        let env_name = spec
            .tools
            .env
            .unwrap_or_else(|| DEFAULT_TOKEN_ENV.to_owned());
        Ok(ToolToken {
            renew_at_ms: tokens
                .expires_at_ms
                .map(|exp| exp - margin_for(&tokens, wanted)),
            expires_at_ms: tokens.expires_at_ms,
            access_token: tokens.access_token,
            account: row.view(now_ms()),
            env_name,
            git,
        })
    }

    pub(crate) async fn tokens_or_reconnect(&self, row: &AccountRow) -> Result<TokenSet> {
        match self.read_tokens(&row.id).await? {
            Some(t) => Ok(t),
            None => {
                account::set_status(
                    &self.db,
                    &row.id,
                    AccountStatus::NeedsReconnect,
                    Some("the keychain has no tokens for this account"),
                )
                .await?;
                self.audit(AuditKind::NeedsReconnect, row, "no keychain entry")
                    .await;
                Err(Error::new(
                    ErrorKind::NeedsReconnect,
                    format!("the keychain has no tokens for {}", row.display_name),
                )
                .hint("connect the account again"))
            }
        }
    }

    /// Calls the token endpoint with the refresh token. The caller holds the account's lock.
    pub(crate) async fn refresh_locked(&self, row: &AccountRow, old: TokenSet) -> Result<TokenSet> {
        let provider = self.spec_for_tokens(row).await?;
        let Some(refresh_token) = old.refresh_token.clone() else {
            if is_stale(&old, now_ms()) {
                self.settle(
                    &row.id,
                    AccountStatus::NeedsReconnect,
                    Some("the access token expired and there is no refresh token"),
                )
                .await;
            }
            return Err(Error::new(
                ErrorKind::NeedsReconnect,
                format!(
                    "{} gave no refresh token for {}, so it cannot be refreshed",
                    provider.name, row.display_name
                ),
            )
            .hint("connect the account again, asking for the offline_access scope"));
        };
        if provider.registers && provider.client_auth != crate::catalog::ClientAuth::None {
            // Before the secret is read: an expiring one is renewed (RFC 7592).
            self.renew_secret_if_due(&provider.id).await?;
        }
        let secret = self.client_secret_for(&provider).await?;
        let client = token::client(&provider, secret.as_ref(), None)?;
        account::set_status(&self.db, &row.id, AccountStatus::Refreshing, None).await?;
        let doing = token::REFRESHING;
        // A bound refresh token works only with a proof of its key (RFC 9449 §5).
        let key = crate::dpop::key_of(&old)?;
        let http = token::Recording::new(self.http()?).with_dpop(key.as_ref());
        let presented = RefreshToken::new(refresh_token.expose().to_string());
        let mut exchange = client.exchange_refresh_token(&presented);
        if let Some(r) = &row.resource {
            // RFC 8707: the new access token is for the account's resource too.
            exchange = exchange.add_extra_param("resource", r.clone());
        }
        let response = exchange
            .request_async(&http)
            .await
            .map_err(|e| token::request_error_at(e, http.last(), &provider.name, doing))
            .and_then(|r| {
                r.read(
                    &provider.token,
                    provider.scopes.granted_from,
                    &provider.name,
                    doing,
                )
            });
        let response = match response {
            Ok(r) => r,
            Err(err)
                if provider.registers
                    && matches!(err.remedy, Some(crate::error::Remedy::CheckClient { .. })) =>
            {
                self.audit(AuditKind::NeedsReconnect, row, &err.detailed())
                    .await;
                return Err(
                    match self.client_lost(&provider.id, &provider.client_id).await {
                        Ok(e) => e,
                        Err(e) => e,
                    },
                );
            }
            Err(err) => {
                let (status, kind) = match err.kind {
                    ErrorKind::NeedsReconnect => {
                        (AccountStatus::NeedsReconnect, AuditKind::NeedsReconnect)
                    }
                    // Being offline does not make a revoked grant usable again.
                    ErrorKind::Network if row.status() == AccountStatus::NeedsReconnect => {
                        (AccountStatus::NeedsReconnect, AuditKind::RefreshFailed)
                    }
                    ErrorKind::Network => (AccountStatus::Offline, AuditKind::RefreshFailed),
                    _ => (AccountStatus::Error, AuditKind::RefreshFailed),
                };
                self.settle(&row.id, status, Some(&err.message)).await;
                self.audit(kind, row, &err.detailed()).await;
                return Err(err);
            }
        };
        let now = now_ms();
        let lifetime = crate::health::at_refresh(
            now,
            row,
            provider.refresh.limits(),
            response.refresh_expires_in,
        );
        let rotated = response.refresh_token.is_some();
        let granted = response.scopes.clone();
        let fresh = TokenSet {
            access_token: response.access_token,
            // A server that does not rotate sends no new refresh token: keep the one we have.
            refresh_token: response.refresh_token.or(old.refresh_token),
            // A refresh's ID token is not verified here, so keep the one verified at sign-in.
            id_token: old.id_token,
            expires_at_ms: response.expires_in.map(|d| now + d.as_millis() as i64),
            obtained_at_ms: now,
            // The key stays with the tokens it binds, in the same keychain write.
            dpop_key: old.dpop_key,
        };
        // The rotated refresh token is the only copy that still works: keychain first, retried.
        crate::crash::point("refresh-after-response");
        let tag = (!row.keychain_tagged).then_some(&provider);
        let mut saved = self.write_tokens(&row.id, fresh.clone(), tag).await;
        for delay_ms in [100, 500] {
            if saved.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
            saved = self.write_tokens(&row.id, fresh.clone(), tag).await;
        }
        if let Err(e) = saved {
            // The old refresh token is spent when the server rotates: replaying it would make a
            // server with reuse detection revoke the grant, so ask for a reconnect instead.
            let status = if rotated {
                AccountStatus::NeedsReconnect
            } else {
                AccountStatus::Error
            };
            self.settle(&row.id, status, Some(&e.message)).await;
            self.audit(AuditKind::RefreshFailed, row, &e.detailed())
                .await;
            return Err(e);
        }
        crate::crash::point("refresh-after-keychain");
        account::complete_refresh(
            &self.db,
            &row.id,
            fresh.expires_at_ms,
            granted.as_deref(),
            &lifetime,
        )
        .await?;
        self.audit(AuditKind::RefreshSucceeded, row, "").await;
        Ok(fresh)
    }
}

pub(crate) fn needs_reconnect(row: &AccountRow) -> Error {
    Error::new(
        ErrorKind::NeedsReconnect,
        format!(
            "{} needs to be connected again ({})",
            row.display_name,
            row.last_error
                .as_deref()
                .unwrap_or("the provider no longer accepts its sign-in")
        ),
    )
    .remedy(Remedy::Reconnect {
        account: row.id.clone(),
        provider: row.provider_id.clone(),
    })
}

/// Names the account to connect again on an error that says it needs it.
pub(crate) fn reconnect(row: &AccountRow) -> impl Fn(Error) -> Error + '_ {
    move |e| match e.kind {
        ErrorKind::NeedsReconnect if e.remedy.is_none() => e.remedy(Remedy::Reconnect {
            account: row.id.clone(),
            provider: row.provider_id.clone(),
        }),
        _ => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(obtained: i64, expires: Option<i64>) -> TokenSet {
        TokenSet {
            access_token: SecretString::new("a"),
            refresh_token: None,
            id_token: None,
            expires_at_ms: expires,
            obtained_at_ms: obtained,
            dpop_key: None,
        }
    }

    #[test]
    fn margin_is_sixty_seconds_or_half_the_lifetime() {
        assert_eq!(margin_ms(&tokens(0, Some(3_600_000))), 60_000);
        assert_eq!(margin_ms(&tokens(0, Some(30_000))), 15_000);
        assert_eq!(margin_ms(&tokens(0, None)), 0);
    }

    #[test]
    fn staleness_follows_the_margin() {
        let t = tokens(0, Some(3_600_000));
        assert!(!is_stale(&t, 3_600_000 - 60_001));
        assert!(is_stale(&t, 3_600_000 - 60_000));
        assert!(is_stale(&t, 4_000_000));
        assert!(!is_stale(&tokens(0, None), i64::MAX));
        let short = tokens(0, Some(10_000));
        assert!(!is_stale(&short, 4_000));
        assert!(is_stale(&short, 5_000));
    }

    #[test]
    fn a_token_for_a_program_must_last_five_minutes() {
        let hour = tokens(0, Some(3_600_000));
        // 6 minutes left: handed out as it is; 4 minutes left: refreshed first.
        assert!(!stale_for(&hour, 3_600_000 - 360_000, EXEC_VALIDITY));
        assert!(stale_for(&hour, 3_600_000 - 240_000, EXEC_VALIDITY));
        assert_eq!(margin_for(&hour, EXEC_VALIDITY), 300_000);
        // A provider whose tokens live 4 minutes: half their lifetime is what can be had.
        assert_eq!(
            margin_for(&tokens(0, Some(240_000)), EXEC_VALIDITY),
            120_000
        );
    }
}
