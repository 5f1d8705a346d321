//! Connecting an account: authorization code + PKCE (S256) as a public client, over a loopback
//! redirect, with OpenID Connect identity (ID token verified against the provider's keys).
//!
//! `connect_begin` records the intent (a `connecting` row), opens a listener and returns the URL;
//! `connect_finish` waits for the one valid callback, checks `state` (and `iss`), exchanges the
//! code, identifies the account, then stores the tokens in the keychain before the row.

pub mod loopback;
pub mod oidc;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthPrompt, CoreAuthenticationFlow, CoreJsonWebKeySet, CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, CsrfToken, JsonWebKeySetUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, Scope, TokenResponse, UserInfoUrl,
};
use serde::Serialize;
use subtle::ConstantTimeEq;
use tokio::sync::{mpsc, Notify};
use ts_rs::TS;

use crate::account::{self, Account, Grant, Identity, ScopesSource};
use crate::audit::{self, AuditKind};
use crate::db::now_ms;
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::locks::AccountGuard;
use crate::provider::{normalize_scopes, Provider};
use crate::secret::{SecretString, TokenSet};
use loopback::{Callback, Listener, Page};

/// The longest a sign-in may wait for its callback (its `state` expires with it).
pub const MAX_FLOW_TIMEOUT: Duration = Duration::from_secs(600);
/// State mismatches audited per flow; more are counted in the log only (no audit flooding).
const MAX_AUDITED_MISMATCHES: u32 = 10;

/// What the window needs to show while the browser is out.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ConnectStarted {
    pub flow_id: String,
    pub provider: String,
    pub authorize_url: String,
    pub redirect_uri: String,
    pub timeout_secs: u32,
}

/// A sign-in waiting for its callback. Never leaves the core.
pub struct Pending {
    provider: Provider,
    account_id: String,
    state: CsrfToken,
    nonce: Nonce,
    verifier: PkceCodeVerifier,
    scopes: Vec<String>,
    redirect_uri: String,
    deadline: Instant,
    mismatches: u32,
    callbacks: mpsc::Receiver<Callback>,
    _listener: Listener,
    _guard: AccountGuard,
}

enum Verdict {
    /// Not for this flow (forged, stale or a stray request): refuse it and keep waiting.
    Ignore(Page),
    /// The flow ends here.
    End(Box<Result<Account>>),
}

impl Engine {
    /// Starts a sign-in: records the intent, opens the loopback listener, builds the URL.
    /// With `open_browser`, starts the browser on it.
    pub async fn connect_begin(
        &self,
        provider_id: &str,
        scopes: Option<Vec<String>>,
        timeout: Option<Duration>,
        open_browser: bool,
    ) -> Result<ConnectStarted> {
        let timeout = timeout.unwrap_or(self.flow_timeout);
        if timeout.is_zero() || timeout > MAX_FLOW_TIMEOUT {
            return Err(Error::invalid_input(
                format!(
                    "a sign-in can wait between 1 and {} seconds",
                    MAX_FLOW_TIMEOUT.as_secs()
                ),
                "give a shorter timeout (the default is 300 seconds)",
            ));
        }
        self.sweep_abandoned_flows().await;
        let provider = self.provider(provider_id).await?;
        let mut scopes = normalize_scopes(scopes.as_deref().unwrap_or(&provider.scopes));
        if scopes.is_empty() {
            scopes = provider.scopes.clone();
        }
        if !scopes.iter().any(|s| s == "openid") {
            scopes.insert(0, "openid".into());
        }
        let (tx, callbacks) = mpsc::channel(8);
        let listener = Listener::bind(tx).await?;
        let redirect_uri = listener.redirect_uri.clone();
        let client =
            oidc::code_client(&provider, CoreJsonWebKeySet::default(), Some(&redirect_uri))?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                || CsrfToken::new_random_len(32),
                || Nonce::new_random_len(32),
            )
            .set_pkce_challenge(challenge);
        for s in scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(s.clone()));
        }
        // Servers such as oidc-provider (and Google) issue no refresh token without consent.
        if scopes.iter().any(|s| s == "offline_access") {
            request = request.add_prompt(CoreAuthPrompt::Consent);
        }
        let (url, state, nonce) = request.url();

        let account_id = account::new_id();
        let guard = self.locks.lock(&account_id).await?;
        account::insert_connecting(&self.db, &account_id, &provider.id, &scopes).await?;
        let flow_id = uuid::Uuid::new_v4().simple().to_string();
        let started = ConnectStarted {
            flow_id: flow_id.clone(),
            provider: provider.id.clone(),
            authorize_url: url.to_string(),
            redirect_uri: redirect_uri.clone(),
            timeout_secs: timeout.as_secs().min(u32::MAX as u64) as u32,
        };
        audit::record(
            &self.db,
            AuditKind::FlowStarted,
            Some(&account_id),
            Some(&provider.id),
            &format!("loopback {redirect_uri}, scopes {}", scopes.join(" ")),
        )
        .await;
        let pending = Pending {
            provider,
            account_id,
            state,
            nonce,
            verifier,
            scopes,
            redirect_uri,
            deadline: Instant::now() + timeout,
            mismatches: 0,
            callbacks,
            _listener: listener,
            _guard: guard,
        };
        self.flows
            .lock()
            .expect("flows poisoned")
            .insert(flow_id.clone(), pending);
        self.cancels
            .lock()
            .expect("cancels poisoned")
            .insert(flow_id, Arc::new(Notify::new()));
        if open_browser {
            if let Err(e) = crate::browser::open(&started.authorize_url) {
                self.connect_cancel(&started.flow_id);
                let _ = self.finish_flow(&started.flow_id).await;
                return Err(e);
            }
        }
        Ok(started)
    }

    /// Cancels a pending sign-in; its `connect_finish` returns a "cancelled" error.
    pub fn connect_cancel(&self, flow_id: &str) -> bool {
        let cancels = self.cancels.lock().expect("cancels poisoned");
        match cancels.get(flow_id) {
            Some(n) => {
                n.notify_one();
                true
            }
            None => false,
        }
    }

    /// Ends flows whose deadline passed without anyone waiting for them (e.g. the window that
    /// started one was reloaded): their listener closes and their intent is rolled back.
    pub(crate) async fn sweep_abandoned_flows(&self) {
        let expired: Vec<Pending> = {
            let mut flows = self.flows.lock().expect("flows poisoned");
            let ids: Vec<String> = flows
                .iter()
                .filter(|(_, p)| p.deadline <= Instant::now())
                .map(|(id, _)| id.clone())
                .collect();
            let mut cancels = self.cancels.lock().expect("cancels poisoned");
            ids.iter()
                .filter_map(|id| {
                    cancels.remove(id);
                    flows.remove(id)
                })
                .collect()
        };
        for pending in expired {
            let (account_id, provider_id) =
                (pending.account_id.clone(), pending.provider.id.clone());
            audit::record(
                &self.db,
                AuditKind::FlowFailed,
                Some(&account_id),
                Some(&provider_id),
                "timed out with nobody waiting",
            )
            .await;
            self.roll_back(pending).await;
        }
    }

    /// Undoes a sign-in that did not complete: tokens (if any reached the keychain), then the row.
    async fn roll_back(&self, pending: Pending) {
        let id = pending.account_id.clone();
        if let Err(e) = self.delete_tokens(&id).await {
            tracing::error!(account = %id, error = %e.detailed(), "could not remove the tokens of a failed sign-in");
        }
        if let Err(e) = account::delete(&self.db, &id).await {
            tracing::error!(account = %id, error = %e.detailed(), "could not remove the row of a failed sign-in");
        }
        drop(pending);
        self.locks.forget(&id);
    }

    /// Waits for the sign-in's callback and completes it.
    pub async fn connect_finish(&self, flow_id: &str) -> Result<Account> {
        self.finish_flow(flow_id).await
    }

    async fn finish_flow(&self, flow_id: &str) -> Result<Account> {
        let pending = self.flows.lock().expect("flows poisoned").remove(flow_id);
        let cancel = self
            .cancels
            .lock()
            .expect("cancels poisoned")
            .get(flow_id)
            .cloned();
        let (Some(mut pending), Some(cancel)) = (pending, cancel) else {
            return Err(Error::not_found(
                "this sign-in is not pending (it finished, was cancelled or belongs to another window)",
                "start the sign-in again",
            ));
        };
        let result = self.wait_for_callback(&mut pending, &cancel).await;
        self.cancels
            .lock()
            .expect("cancels poisoned")
            .remove(flow_id);
        let (kind, detail) = match &result {
            Ok(a) => (AuditKind::FlowCompleted, format!("account {}", a.id)),
            Err(e) if e.kind == ErrorKind::Cancelled => {
                (AuditKind::FlowCancelled, e.message.clone())
            }
            Err(e) => (AuditKind::FlowFailed, e.detailed()),
        };
        audit::record(
            &self.db,
            kind,
            Some(&pending.account_id),
            Some(&pending.provider.id),
            &detail,
        )
        .await;
        match &result {
            Err(_) => self.roll_back(pending).await,
            Ok(a) if a.id != pending.account_id => {
                // A reconnect settled on the existing account; the pending row is gone already.
                let id = pending.account_id.clone();
                drop(pending);
                self.locks.forget(&id);
            }
            Ok(_) => {}
        }
        result
    }

    async fn wait_for_callback(&self, pending: &mut Pending, cancel: &Notify) -> Result<Account> {
        let provider_name = pending.provider.name.clone();
        loop {
            let remaining = pending.deadline.saturating_duration_since(Instant::now());
            let callback = tokio::select! {
                _ = tokio::time::sleep(remaining) => {
                    return Err(Error::new(ErrorKind::FlowEnded, format!("the sign-in to {provider_name} timed out")).hint("connect again and finish signing in in the browser"));
                }
                _ = cancel.notified() => {
                    return Err(Error::new(ErrorKind::Cancelled, "the sign-in was cancelled"));
                }
                cb = pending.callbacks.recv() => match cb {
                    Some(cb) => cb,
                    None => return Err(Error::internal("the loopback listener stopped")),
                },
            };
            match self.judge(pending, &callback.params).await {
                Verdict::Ignore(page) => {
                    let _ = callback.reply.send(page);
                }
                Verdict::End(result) => {
                    let result = *result;
                    let page = match &result {
                        Ok(a) => Page {
                            status: 200,
                            title: "Signed in",
                            text: format!(
                                "{} is connected to Connected Accounts. You can close this tab.",
                                a.display_name
                            ),
                        },
                        Err(e) => Page {
                            status: 400,
                            title: "Sign-in failed",
                            text: format!("{} {}", e.message, e.hint.clone().unwrap_or_default()),
                        },
                    };
                    let _ = callback.reply.send(page);
                    return result;
                }
            }
        }
    }

    /// Decides what one callback request means for the flow.
    async fn judge(&self, pending: &mut Pending, params: &HashMap<String, String>) -> Verdict {
        let p = &pending.provider.clone();
        let state_ok = params
            .get("state")
            .is_some_and(|s| bool::from(s.as_bytes().ct_eq(pending.state.secret().as_bytes())));
        if !state_ok {
            let detail = if params.contains_key("state") {
                "state does not match"
            } else {
                "state missing"
            };
            pending.mismatches += 1;
            if pending.mismatches <= MAX_AUDITED_MISMATCHES {
                audit::record(
                    &self.db,
                    AuditKind::StateMismatch,
                    Some(&pending.account_id),
                    Some(&p.id),
                    detail,
                )
                .await;
            } else {
                tracing::warn!(account = %pending.account_id, count = pending.mismatches, "callback with a wrong state");
            }
            return Verdict::Ignore(Page {
                status: 400,
                title: "Not a valid sign-in response",
                text: "This response does not belong to a sign-in Connected Accounts started, so it was ignored.".into(),
            });
        }
        // RFC 9207: a server that advertises `iss` must send its own issuer (mix-up defence).
        if p.iss_parameter_supported || params.contains_key("iss") {
            // RFC 9207 §2.4: a simple string comparison with the issuer we started with.
            if params.get("iss").map(String::as_str) != Some(p.issuer.as_str()) {
                audit::record(
                    &self.db,
                    AuditKind::IssMismatch,
                    Some(&pending.account_id),
                    Some(&p.id),
                    &format!("iss {:?}", params.get("iss")),
                )
                .await;
                return Verdict::End(Box::new(Err(Error::new(
                    ErrorKind::Forged,
                    format!("the sign-in response did not come from {} (issuer mismatch)", p.name),
                )
                .hint("nothing was stored; connect again, and if this repeats, tell your administrator"))));
            }
        }
        if let Some(error) = params.get("error") {
            let description = params
                .get("error_description")
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            let (message, hint) = match error.as_str() {
                "access_denied" => (
                    format!("access was denied at {}{description}", p.name),
                    "connect again and choose to allow access",
                ),
                "invalid_scope" => (
                    format!("{} refused the requested scopes{description}", p.name),
                    "connect again with fewer or different scopes",
                ),
                _ => (
                    format!(
                        "{} ended the sign-in with the error {error:?}{description}",
                        p.name
                    ),
                    "try again; if it keeps failing, check the provider's settings",
                ),
            };
            return Verdict::End(Box::new(Err(
                Error::new(ErrorKind::FlowEnded, message).hint(hint)
            )));
        }
        let Some(code) = params.get("code") else {
            return Verdict::End(Box::new(Err(Error::new(
                ErrorKind::Provider,
                format!("{} sent a sign-in response without a code", p.name),
            )
            .hint("connect again"))));
        };
        Verdict::End(Box::new(self.complete(pending, code).await))
    }

    /// Exchange → identify → keychain → row.
    async fn complete(&self, pending: &Pending, code: &str) -> Result<Account> {
        let p = &pending.provider;
        let jwks_url = JsonWebKeySetUrl::new(p.jwks_uri.clone()).map_err(|e| {
            Error::new(ErrorKind::Provider, "the provider's JWKS URL is not valid").cause(e)
        })?;
        let jwks = CoreJsonWebKeySet::fetch_async(&jwks_url, &self.http)
            .await
            .map_err(|e| {
                Error::new(
                    ErrorKind::Network,
                    format!("cannot fetch {}'s signing keys", p.name),
                )
                .hint("check your network connection and connect again")
                .cause(e)
            })?;
        let client = oidc::code_client(p, jwks, Some(&pending.redirect_uri))?;
        let verifier = PkceCodeVerifier::new(pending.verifier.secret().clone());
        let token = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .set_pkce_verifier(verifier)
            .request_async(&self.http)
            .await
            .map_err(|e| oidc::token_error(e, &p.name, "finish signing in"))?;

        let id_token = token.id_token().ok_or_else(|| {
            Error::new(ErrorKind::Provider, format!("{} sent no ID token", p.name))
                .hint("check that the provider supports OpenID Connect and the openid scope")
        })?;
        let claims = id_token
            .claims(&client.id_token_verifier(), &pending.nonce)
            .map_err(|e| {
                Error::new(
                    ErrorKind::Forged,
                    format!("the ID token from {} is not valid", p.name),
                )
                .hint("nothing was stored; connect again")
                .cause(e)
            })?;
        let subject = claims.subject().clone();
        let mut who = Identity {
            subject: subject.to_string(),
            display_name: claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.to_string())
                .unwrap_or_default(),
            email: claims.email().map(|e| e.to_string()),
        };
        if let Some(userinfo) = &p.userinfo_endpoint {
            let url = UserInfoUrl::new(userinfo.clone()).map_err(|e| {
                Error::new(ErrorKind::Provider, "the userinfo URL is not valid").cause(e)
            })?;
            let info: CoreUserInfoClaims = client
                .clone()
                .set_user_info_url(url)
                .user_info(token.access_token().clone(), Some(subject.clone()))
                .request_async(&self.http)
                .await
                .map_err(|e| {
                    Error::new(
                        ErrorKind::Provider,
                        format!("{} did not confirm who signed in", p.name),
                    )
                    .hint("connect again; nothing was stored")
                    .cause(e)
                })?;
            if let Some(n) = info.name().and_then(|n| n.get(None)) {
                who.display_name = n.to_string();
            }
            if let Some(e) = info.email() {
                who.email = Some(e.to_string());
            }
            if who.display_name.is_empty() {
                if let Some(u) = info.preferred_username() {
                    who.display_name = u.to_string();
                }
            }
        }
        if who.display_name.is_empty() {
            who.display_name = who.email.clone().unwrap_or_else(|| who.subject.clone());
        }

        let now = now_ms();
        let (scopes_granted, scopes_source) = match token.scopes() {
            Some(s) => (
                s.iter().map(|s| s.to_string()).collect(),
                ScopesSource::Server,
            ),
            None => (pending.scopes.clone(), ScopesSource::Requested),
        };
        let expires_at = token.expires_in().map(|d| now + d.as_millis() as i64);
        let tokens = TokenSet {
            access_token: SecretString::new(token.access_token().secret().clone()),
            refresh_token: token
                .refresh_token()
                .map(|r| SecretString::new(r.secret().clone())),
            id_token: Some(SecretString::new(id_token.to_string())),
            expires_at_ms: expires_at,
            obtained_at_ms: now,
        };
        // Reconnecting an account that exists keeps its id and history.
        let mut existing = account::find_by_subject(&self.db, &p.id, &who.subject).await?;
        let mut _target_guard = None;
        if let Some(id) = &existing {
            _target_guard = Some(self.locks.lock(id).await?);
            // It may have been disconnected while we waited for its lock.
            if account::find(&self.db, id).await?.is_none() {
                existing = None;
                _target_guard = None;
            }
        }
        let target = existing
            .clone()
            .unwrap_or_else(|| pending.account_id.clone());
        self.write_tokens(&target, tokens).await?;
        let grant = Grant {
            scopes_requested: pending.scopes.clone(),
            scopes_granted,
            scopes_source,
            expires_at,
        };
        account::complete_connect(&self.db, &target, &who, &grant).await?;
        if existing.is_some() {
            account::delete(&self.db, &pending.account_id).await?;
        }
        Ok(account::get(&self.db, &target).await?.view(now_ms()))
    }
}
