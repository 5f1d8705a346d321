//! Connecting an account: authorization code + PKCE (S256) over a loopback redirect, following the
//! provider's rules (client authentication, extra parameters, scope format). OpenID providers'
//! ID tokens are verified against their keys; every provider's "who am I" call names the account.
//!
//! `connect_begin` records the intent (a `connecting` row), opens a listener and returns the URL;
//! `connect_finish` waits for the one valid callback, checks `state` (and `iss`), exchanges the
//! code, identifies the account, then stores the tokens in the keychain before the row. Pending
//! sign-ins of both kinds (browser and device code) are kept in one [`registry::Registry`].

pub mod device;
pub mod identity;
pub mod loopback;
mod par;
pub(crate) mod registry;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use oauth2::{AuthorizationCode, CsrfToken, PkceCodeChallenge, PkceCodeVerifier};
use serde::Serialize;
use subtle::ConstantTimeEq;
use tokio::sync::{mpsc, Notify};
use ts_rs::TS;

use crate::account::{self, Account, Grant, ScopesSource};
use crate::audit::{self, AuditKind};
use crate::catalog::{ClientAuth, Pkce, Protocol, RedirectKind, SecretRule};
use crate::db::now_ms;
use crate::dpop::DpopKey;
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Remedy, Result};
use crate::locks::AccountGuard;
use crate::model::{normalize_scopes, Spec, CUSTOM_SCHEME_REDIRECT};
use crate::secret::{SecretString, TokenSet};
use crate::token;
use loopback::{Bound, Callback, LaunchFn, Listener, Page, RefusedFn, Routes};
use registry::{PasteRoute, SchemeRoute, SignIn};

/// The longest URL accepted from the desktop (real callbacks are a few hundred bytes).
const MAX_CALLBACK_URL: usize = 8 * 1024;

/// The longest a sign-in may wait for its callback (its `state` expires with it).
pub const MAX_FLOW_TIMEOUT: Duration = Duration::from_secs(600);
/// State mismatches audited per flow; more are counted in the log only (no audit flooding).
const MAX_AUDITED_MISMATCHES: u32 = 10;

/// What to connect, and how: the one argument of [`Engine::connect_begin`] and
/// [`Engine::device_begin`].
#[derive(Debug, Clone)]
pub struct ConnectRequest {
    pub target: ConnectTarget,
    /// How the browser sign-in comes back (default: the provider's preferred way). A provider
    /// that does not allow custom schemes gets loopback.
    pub redirect: Option<RedirectKind>,
    /// How long a browser sign-in waits (default: the engine's `flow_timeout`).
    pub timeout: Option<Duration>,
    /// Start the browser on the sign-in's launcher.
    pub open_browser: bool,
    /// No browser can be opened here: the person signs in on any machine and pastes back the
    /// address the browser ended on ([`Engine::deliver_pasted_url`]). `browser_url` is then the
    /// provider's own authorization URL, since this machine's launcher is out of their reach.
    pub paste_back: bool,
    /// The resource (RFC 8707) the tokens are for: sent in the authorization and token
    /// requests, and kept on the account (see [`crate::resource`]).
    pub resource: Option<String>,
    /// Signing this existing account in again ("Connect again"): the server is told whom to
    /// expect (`login_hint`) instead of being asked to let the person choose.
    pub reconnect: Option<String>,
    /// Plain bearer tokens even where the server binds them to a key (`connect --no-dpop`): for
    /// scripts that need the token itself.
    pub no_dpop: bool,
}

#[derive(Debug, Clone)]
pub enum ConnectTarget {
    /// A new account at this provider (or an existing one signed in again), with these scopes
    /// (`None`: the provider's defaults).
    Provider {
        id: String,
        scopes: Option<Vec<String>>,
    },
    /// An existing account's scopes: its granted scopes plus `add`, less `drop`. The sign-in must
    /// come back as the same person, or nothing changes.
    AccountScopes {
        account: String,
        add: Vec<String>,
        drop: Vec<String>,
    },
}

impl ConnectRequest {
    pub fn provider(id: impl Into<String>) -> Self {
        Self::new(ConnectTarget::Provider {
            id: id.into(),
            scopes: None,
        })
    }

    pub fn account_scopes(account: impl Into<String>, add: Vec<String>, drop: Vec<String>) -> Self {
        Self::new(ConnectTarget::AccountScopes {
            account: account.into(),
            add,
            drop,
        })
    }

    fn new(target: ConnectTarget) -> Self {
        Self {
            target,
            redirect: None,
            timeout: None,
            open_browser: false,
            paste_back: false,
            resource: None,
            reconnect: None,
            no_dpop: false,
        }
    }

    /// Bearer tokens, never bound to a key (see [`ConnectRequest::no_dpop`]).
    pub fn no_dpop(mut self, no: bool) -> Self {
        self.no_dpop = no;
        self
    }

    /// Signs this account in again (see [`ConnectRequest::reconnect`]).
    pub fn reconnect(mut self, account: Option<String>) -> Self {
        self.reconnect = account;
        self
    }

    /// Tokens for this resource only (RFC 8707).
    pub fn resource(mut self, resource: Option<String>) -> Self {
        self.resource = resource;
        self
    }

    /// The scopes to request from a provider (`None` or empty: its defaults).
    pub fn scopes(mut self, scopes: Option<Vec<String>>) -> Self {
        if let ConnectTarget::Provider { scopes: s, .. } = &mut self.target {
            *s = scopes;
        }
        self
    }

    pub fn redirect(mut self, redirect: Option<RedirectKind>) -> Self {
        self.redirect = redirect;
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    pub fn paste_back(mut self, paste: bool) -> Self {
        self.paste_back = paste;
        self
    }

    pub fn open_browser(mut self, open: bool) -> Self {
        self.open_browser = open;
        self
    }
}

/// What the window needs to show while the browser is out.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ConnectStarted {
    pub flow_id: String,
    pub provider: String,
    /// What the browser is opened on: a one-time launcher on this machine's loopback (only this
    /// user may fetch it) that sends the browser on to the provider. The provider's own URL, with
    /// the sign-in's `state`, is never shown, printed or put on a command line.
    pub browser_url: String,
    pub redirect_uri: String,
    pub timeout_secs: u32,
}

/// A browser sign-in waiting for its callback. Never leaves the core.
pub struct Pending {
    provider: Spec,
    secret: Option<SecretString>,
    account_id: String,
    state: CsrfToken,
    nonce: Option<SecretString>,
    verifier: Option<PkceCodeVerifier>,
    scopes: Vec<String>,
    resource: Option<String>,
    redirect_uri: String,
    /// The key the tokens are to be bound to (DPoP), made for this sign-in.
    dpop: Option<DpopKey>,
    deadline: Instant,
    /// Changing an existing account's scopes: who must sign in.
    expected_subject: Option<String>,
    mismatches: u32,
    callbacks: mpsc::Receiver<Callback>,
    _listener: Option<Listener>,
    _guard: AccountGuard,
}

/// What a request connects, resolved (see [`Engine::resolve_target`]).
struct Target {
    provider: String,
    scopes: Option<Vec<String>>,
    /// Changing an existing account's scopes: who must sign in.
    expected_subject: Option<String>,
    resource: Option<String>,
    /// An existing account is signed in again: its e-mail, if it has one.
    named: Option<Option<String>>,
    /// An existing account with bearer tokens stays so (the person chose `--no-dpop`, or the
    /// server did not bind them then).
    bearer: bool,
}

/// What a sign-in asked for: these scopes, for this resource (RFC 8707; none: the provider's API).
#[derive(Clone, Copy)]
pub(crate) struct Asked<'a> {
    pub scopes: &'a [String],
    pub resource: Option<&'a str>,
    /// The key the token request proved possession of (DPoP).
    pub dpop: Option<&'a DpopKey>,
}

/// What both kinds of sign-in start from: the provider, set up, with what to request.
pub(crate) struct Prepared {
    pub spec: Spec,
    pub secret: Option<SecretString>,
    pub scopes: Vec<String>,
}

/// Which sign-in is being prepared (they read the client secret under different rules).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Browser,
    Device,
}

enum Verdict {
    /// Not for this flow (forged, stale or a stray request): refuse it and keep waiting.
    Ignore(Page),
    /// The flow ends here.
    End(Box<Result<Account>>),
}

impl Engine {
    /// The one preparation of every sign-in: the provider resolved and set up (and offering the
    /// device flow, for a device sign-in), its client secret where one is sent, and the scopes
    /// (the defaults when none are asked for; `openid` always, for OpenID providers).
    pub(crate) async fn prepare_sign_in(
        &self,
        provider_id: &str,
        scopes: Option<&[String]>,
        kind: Kind,
    ) -> Result<Prepared> {
        self.ensure_client(provider_id).await?;
        let spec = self.spec(provider_id).await?;
        if !spec.configured() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "{} is not set up yet: it needs the client ID of an app you registered there",
                    spec.name
                ),
            )
            .remedy(Remedy::ConfigureProvider {
                provider: spec.id.clone(),
                client_secret: spec.secret_rule == SecretRule::Required,
            }));
        }
        if kind == Kind::Device && spec.device_endpoint.is_none() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("{} does not offer sign-in with a code", spec.name),
            )
            .remedy(Remedy::UseBrowserSignIn));
        }
        let mut scopes = normalize_scopes(scopes.unwrap_or(&spec.scopes.default));
        if scopes.is_empty() {
            scopes = spec.scopes.default.clone();
        }
        if spec.protocol == Protocol::Oidc && !scopes.iter().any(|s| s == "openid") {
            scopes.insert(0, "openid".into());
        }
        if spec.registers {
            // Before the secret is read: an update may rotate it.
            self.ensure_registered_scopes(&spec.id, &scopes).await?;
        }
        // The device flow sends a secret only where the provider wants one there (not GitHub).
        let sends_secret = match kind {
            Kind::Browser => true,
            Kind::Device => spec.device_needs_secret || spec.client_auth == ClientAuth::SecretBasic,
        };
        let secret = if sends_secret {
            self.client_secret_for(&spec).await?
        } else {
            None
        };
        Ok(Prepared {
            spec,
            secret,
            scopes,
        })
    }

    /// What a request connects: the provider and the scopes; for an existing account (its scopes
    /// changed, or signed in again), who must sign in, its resource and the hint for the server.
    async fn resolve_target(&self, request: &ConnectRequest) -> Result<Target> {
        match &request.target {
            ConnectTarget::Provider { id, scopes } => {
                let again = match &request.reconnect {
                    Some(account) => Some(self.row(account).await?.view(now_ms())),
                    None => None,
                };
                Ok(Target {
                    provider: id.clone(),
                    scopes: scopes.clone(),
                    expected_subject: None,
                    resource: request
                        .resource
                        .clone()
                        .or_else(|| again.as_ref().and_then(|a| a.resource.clone())),
                    bearer: again.as_ref().is_some_and(|a| !a.bound),
                    named: again.map(|a| a.email),
                })
            }
            ConnectTarget::AccountScopes { account, add, drop } => {
                let view = self.row(account).await?.view(now_ms());
                let drop = normalize_scopes(drop);
                let wanted: Vec<String> = view.scopes_granted.iter().chain(add).cloned().collect();
                let scopes = normalize_scopes(&wanted)
                    .into_iter()
                    .filter(|s| !drop.contains(s))
                    .collect();
                Ok(Target {
                    provider: view.provider,
                    scopes: Some(scopes),
                    expected_subject: Some(view.subject),
                    // An account connected for a resource stays bound to it.
                    resource: view.resource,
                    bearer: !view.bound,
                    named: Some(view.email),
                })
            }
        }
    }

    /// Starts a browser sign-in: records the intent, opens the loopback listener, builds the
    /// URL, and (with `open_browser`) starts the browser on its launcher.
    pub async fn connect_begin(&self, request: ConnectRequest) -> Result<ConnectStarted> {
        let timeout = request.timeout.unwrap_or(self.flow_timeout);
        if timeout.is_zero() || timeout > MAX_FLOW_TIMEOUT {
            return Err(Error::invalid_input(
                format!(
                    "a sign-in can wait between 1 and {} seconds",
                    MAX_FLOW_TIMEOUT.as_secs()
                ),
                "give a shorter timeout (the default is 300 seconds)",
            ));
        }
        let Target {
            provider: provider_id,
            scopes,
            expected_subject,
            resource,
            named,
            bearer,
        } = self.resolve_target(&request).await?;
        self.sweep_abandoned_flows().await;
        let Prepared {
            spec: provider,
            secret,
            scopes,
        } = self
            .prepare_sign_in(&provider_id, scopes.as_deref(), Kind::Browser)
            .await?;
        let (tx, callbacks) = mpsc::channel(8);
        let kind = match request
            .redirect
            .or_else(|| provider.redirect.kinds.first().copied())
            .filter(|_| !request.paste_back)
        {
            Some(RedirectKind::CustomScheme)
                if provider
                    .redirect
                    .kinds
                    .contains(&RedirectKind::CustomScheme) =>
            {
                RedirectKind::CustomScheme
            }
            _ => RedirectKind::Loopback,
        };
        // A custom-scheme sign-in still has a loopback listener: it serves only the launcher.
        let (bound, redirect_uri) = match kind {
            RedirectKind::Loopback => {
                let b = Bound::new(&provider.redirect).await?;
                let uri = b.redirect_uri.clone();
                (b, uri)
            }
            RedirectKind::CustomScheme => (
                Bound::launcher_only().await?,
                CUSTOM_SCHEME_REDIRECT.to_string(),
            ),
        };
        let client = token::client(&provider, secret.as_ref(), Some(&redirect_uri))?;
        let mut authorize = client.authorize_url(|| CsrfToken::new_random_len(32));
        let verifier = if provider.pkce == Pkce::Unsupported {
            None
        } else {
            let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
            authorize = authorize.set_pkce_challenge(challenge);
            Some(verifier)
        };
        let mut params = token::authorize_params(&provider, &scopes);
        let nonce = match provider.protocol {
            Protocol::Oidc => Some(crate::idtoken::new_nonce()?),
            _ => None,
        };
        if let Some(n) = &nonce {
            params.insert("nonce".into(), n.expose().to_string());
        }
        // Servers such as oidc-provider and Google issue no refresh token without consent.
        let offline = provider
            .scopes
            .offline
            .as_deref()
            .unwrap_or("offline_access");
        let mut prompt: Vec<String> = params
            .get("prompt")
            .map(|p| p.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();
        if scopes.iter().any(|s| s == offline) && prompt.is_empty() {
            prompt.push("consent".into());
        }
        match named {
            // Changing an account's scopes or signing it in again: the server is told whom to
            // expect (OpenID `login_hint`: its e-mail), so it need not ask which account.
            Some(email) => {
                if let Some(hint) =
                    email.filter(|e| !e.is_empty() && provider.protocol == Protocol::Oidc)
                {
                    params.insert("login_hint".into(), hint);
                }
            }
            // Another account at a provider that has one: let the person choose, or sign in
            // afresh, rather than be signed in again as the one the browser remembers.
            None if account::count_for_provider(&self.db, &provider.id).await? > 0 => {
                let choose = if provider.prompt_values.iter().any(|v| v == "select_account") {
                    "select_account"
                } else {
                    "login"
                };
                if !prompt.iter().any(|p| p == choose) {
                    prompt.insert(0, choose.into());
                }
            }
            None => {}
        }
        if !prompt.is_empty() {
            params.insert("prompt".into(), prompt.join(" "));
        }
        if let Some(r) = &resource {
            params.insert("resource".into(), r.clone());
        }
        // A new key for every sign-in: reconnecting rotates it with the tokens.
        let dpop = if provider.dpop && !request.no_dpop && !bearer {
            Some(DpopKey::generate()?)
        } else {
            None
        };
        if let Some(key) = &dpop {
            // RFC 9449 §10: the code is bound to the key, so a stolen code is useless too.
            params.insert("dpop_jkt".into(), key.thumbprint());
        }
        for (k, v) in &params {
            authorize = authorize.add_extra_param(k.clone(), v.clone());
        }
        let (url, state) = authorize.url();

        let account_id = account::new_id();
        let launch = self.launcher(&provider, secret.clone(), url.clone())?;
        // Pasting back: the URL to open elsewhere. A server that takes only pushed requests
        // gets one pushed now (it lives about a minute); others get the plain URL.
        let elsewhere = match (request.paste_back, provider.require_par) {
            (false, _) => None,
            (true, false) => Some(url.to_string()),
            (true, true) => Some(launch().await?),
        };
        let listener = bound.serve(Routes {
            callback: (kind == RedirectKind::Loopback).then_some(tx.clone()),
            launch,
            on_refused: self.refusal_audit(&account_id, &provider.id),
        });
        let paste = request.paste_back.then(|| PasteRoute {
            redirect_uri: redirect_uri.clone(),
            sender: tx.clone(),
        });
        let route = (kind == RedirectKind::CustomScheme).then(|| SchemeRoute {
            state: state.secret().clone(),
            sender: tx,
        });
        let guard = self.locks.lock(&account_id).await?;
        account::insert_connecting(
            &self.db,
            &account_id,
            &provider.id,
            &scopes,
            resource.as_deref(),
        )
        .await?;
        let pushed = if provider.par_endpoint.is_some() {
            ", pushed (RFC 9126)"
        } else {
            ""
        };
        audit::record(
            &self.db,
            AuditKind::FlowStarted,
            Some(&account_id),
            Some(&provider.id),
            &format!(
                "redirect {redirect_uri}, scopes {}{pushed}{}",
                scopes.join(" "),
                if dpop.is_some() {
                    ", tokens bound to this device (DPoP)"
                } else {
                    ""
                }
            ),
        )
        .await;
        let (provider_id, browser_url) = (
            provider.id.clone(),
            elsewhere.unwrap_or_else(|| listener.launch_url.clone()),
        );
        let pending = Pending {
            provider,
            secret,
            account_id,
            state,
            nonce,
            verifier,
            scopes,
            resource,
            redirect_uri: redirect_uri.clone(),
            dpop,
            deadline: Instant::now() + timeout,
            expected_subject,
            mismatches: 0,
            callbacks,
            _listener: Some(listener),
            _guard: guard,
        };
        let flow_id = self
            .flows
            .add(SignIn::Browser(Box::new(pending)), route, paste);
        let started = ConnectStarted {
            flow_id,
            provider: provider_id,
            browser_url,
            redirect_uri,
            timeout_secs: timeout.as_secs().min(u32::MAX as u64) as u32,
        };
        if request.open_browser && !request.paste_back {
            if let Err(e) = crate::browser::open(&started.browser_url) {
                self.connect_cancel(&started.flow_id);
                let _ = self.connect_finish(&started.flow_id).await;
                return Err(e);
            }
        }
        Ok(started)
    }

    /// Where a sign-in's launcher sends the browser: the authorization URL, or, where the server
    /// takes pushed requests (RFC 9126), the URL of a request pushed at that moment.
    fn launcher(
        &self,
        provider: &Spec,
        secret: Option<SecretString>,
        url: url::Url,
    ) -> Result<LaunchFn> {
        let Some(endpoint) = provider.par_endpoint.clone() else {
            return Ok(loopback::launch_to(url.into()));
        };
        let (http, spec) = (self.http()?.clone(), provider.clone());
        Ok(Arc::new(move || {
            let (http, spec, secret, endpoint, url) = (
                http.clone(),
                spec.clone(),
                secret.clone(),
                endpoint.clone(),
                url.clone(),
            );
            Box::pin(async move { par::push(&http, &spec, secret.as_ref(), &endpoint, &url).await })
        }))
    }

    /// Audits a connection another local user made to a sign-in's listener (it was refused).
    pub(crate) fn refusal_audit(&self, account_id: &str, provider_id: &str) -> RefusedFn {
        let (db, account, provider) = (
            self.db.clone(),
            account_id.to_string(),
            provider_id.to_string(),
        );
        Arc::new(move |detail: String| {
            let (db, account, provider) = (db.clone(), account.clone(), provider.clone());
            tokio::spawn(async move {
                audit::record(
                    &db,
                    AuditKind::PeerRefused,
                    Some(&account),
                    Some(&provider),
                    &detail,
                )
                .await;
            });
        })
    }

    /// Cancels a pending sign-in of either kind; its finish returns a "cancelled" error.
    pub fn connect_cancel(&self, flow_id: &str) -> bool {
        self.flows.cancel(flow_id)
    }

    /// Ends sign-ins whose deadline passed without anyone waiting for them (e.g. the window that
    /// started one was reloaded): their listener closes and their intent is rolled back.
    pub(crate) async fn sweep_abandoned_flows(&self) {
        for sign_in in self.flows.expired() {
            let detail = match &sign_in {
                SignIn::Browser(_) => "timed out with nobody waiting",
                SignIn::Device(_) => "device code expired with nobody waiting",
            };
            let (account_id, provider_id) = (
                sign_in.account_id().to_string(),
                sign_in.provider_id().to_string(),
            );
            drop(sign_in); // closes its listener and releases the pending id's lock
            audit::record(
                &self.db,
                AuditKind::FlowFailed,
                Some(&account_id),
                Some(&provider_id),
                detail,
            )
            .await;
            self.roll_back_account(&account_id).await;
        }
    }

    /// Removes what a failed sign-in left: tokens (if any reached the keychain), the row, the lock.
    pub(crate) async fn roll_back_account(&self, id: &str) {
        if let Err(e) = self.delete_tokens(id).await {
            tracing::error!(account = %id, error = %e.detailed(), "could not remove the tokens of a failed sign-in");
        }
        if let Err(e) = account::delete(&self.db, id).await {
            tracing::error!(account = %id, error = %e.detailed(), "could not remove the row of a failed sign-in");
        }
        self.locks.forget(id);
    }

    /// Waits for a pending sign-in of either kind (the browser's callback, or the device code's
    /// approval) and completes it.
    pub async fn connect_finish(&self, flow_id: &str) -> Result<Account> {
        self.finish_sign_in(flow_id).await
    }

    /// Finishes a pending sign-in of either kind: waits for it (the browser's callback, or the
    /// device code's approval), then ends it (audit, and the intent rolled back on failure).
    pub(crate) async fn finish_sign_in(&self, flow_id: &str) -> Result<Account> {
        let Some((sign_in, cancel)) = self.flows.take(flow_id) else {
            return Err(Error::not_found(
                "this sign-in is not pending (it finished, was cancelled or belongs to another window)",
                "start the sign-in again",
            ));
        };
        let (account_id, provider_id) = (
            sign_in.account_id().to_string(),
            sign_in.provider_id().to_string(),
        );
        let (result, how) = match sign_in {
            SignIn::Browser(mut pending) => {
                (self.wait_for_callback(&mut pending, &cancel).await, "")
            }
            // Cancel is honoured while waiting between polls, never half-way through storing.
            SignIn::Device(pending) => {
                (self.device_poll(&pending, &cancel).await, " (device code)")
            }
        }; // the pending state is dropped here: its listener closes, the pending id's lock goes
        self.end_flow(flow_id, &account_id, &provider_id, how, &result)
            .await;
        result
    }

    /// Ends a sign-in of any kind once its pending state is dropped: audits how it ended, then
    /// rolls the intent back on failure, or forgets the pending id when a reconnect settled on
    /// an existing account.
    async fn end_flow(
        &self,
        flow_id: &str,
        account_id: &str,
        provider_id: &str,
        how: &str,
        result: &Result<Account>,
    ) {
        self.flows.remove(flow_id);
        let (kind, detail) = match result {
            Ok(a) if a.id != account_id => (
                AuditKind::FlowCompleted,
                format!("reconnected account {}{how}", a.id),
            ),
            Ok(a) => (AuditKind::FlowCompleted, format!("account {}{how}", a.id)),
            Err(e) if e.kind == ErrorKind::Cancelled => {
                (AuditKind::FlowCancelled, e.message.clone())
            }
            Err(e) => (AuditKind::FlowFailed, e.detailed()),
        };
        // A reconnect lands in the existing account: its history goes on under its own id.
        let audited = result.as_ref().map_or(account_id, |a| a.id.as_str());
        audit::record(&self.db, kind, Some(audited), Some(provider_id), &detail).await;
        match result {
            Err(_) => self.roll_back_account(account_id).await,
            Ok(a) if a.id != account_id => self.locks.forget(account_id),
            Ok(_) => {}
        }
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
        let issuer = p.issuer.as_deref().unwrap_or_default();
        if !issuer.is_empty() && (p.iss_parameter_supported || params.contains_key("iss")) {
            // RFC 9207 §2.4: a simple string comparison with the issuer we started with.
            if params.get("iss").map(String::as_str) != Some(issuer) {
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
        let client = token::client(p, pending.secret.as_ref(), Some(&pending.redirect_uri))?;
        let mut exchange = client.exchange_code(AuthorizationCode::new(code.to_string()));
        if let Some(v) = &pending.verifier {
            exchange = exchange.set_pkce_verifier(PkceCodeVerifier::new(v.secret().clone()));
        }
        if let Some(r) = &pending.resource {
            // RFC 8707 §2.2: the token request names the resource too.
            exchange = exchange.add_extra_param("resource", r.clone());
        }
        let http = token::Recording::new(self.http()?).with_dpop(pending.dpop.as_ref());
        let response = exchange
            .request_async(&http)
            .await
            .map_err(|e| token::request_error_at(e, http.last(), &p.name, "finish signing in"))?;
        let granted = response.read(
            &p.token,
            p.scopes.granted_from,
            &p.name,
            "finish signing in",
        )?;
        // A server that answers a proof with a bearer token did not bind it: the key goes.
        let bound = pending.dpop.as_ref().filter(|_| granted.is_dpop());
        let (who, whoami_scopes) = self
            .identify(
                p,
                &granted,
                pending.nonce.as_ref(),
                pending.resource.is_some(),
                bound,
            )
            .await?;
        if let Some(expected) = &pending.expected_subject {
            if *expected != who.subject {
                // Nobody wanted this person's new grant: give it back (best effort).
                let unwanted = TokenSet {
                    access_token: granted.access_token.clone(),
                    refresh_token: granted.refresh_token.clone(),
                    id_token: None,
                    expires_at_ms: None,
                    obtained_at_ms: now_ms(),
                    dpop_key: bound.map(DpopKey::to_secret),
                };
                if let Err(e) = self.revoke_at(p, &unwanted).await {
                    tracing::warn!(error = %e.detailed(), "could not revoke a sign-in as the wrong person");
                }
                return Err(Error::invalid_input(
                    format!("you signed in to {} as {}, not as the account being changed; nothing was changed", p.name, who.display_name),
                    "sign in again as the same person (your browser may need to sign out of the other account first)",
                ));
            }
        }
        self.store_connected(
            p,
            &pending.account_id,
            Asked {
                scopes: &pending.scopes,
                resource: pending.resource.as_deref(),
                dpop: bound,
            },
            granted,
            who,
            whoami_scopes,
        )
        .await
    }

    /// A callback URL the desktop handed to the window (custom scheme, via single-instance or the
    /// OS). Accepted only for a pending flow with the same `state`; anything else is refused and
    /// audited. The raw URL never leaves Rust.
    pub async fn deliver_callback_url(&self, raw: &str) -> Result<()> {
        let refuse = |why: &str| {
            Error::new(
                ErrorKind::Forged,
                format!("a sign-in response was refused: {why}"),
            )
            .hint("if you were signing in, start again from Connected Accounts")
        };
        let routed = read_scheme_callback(raw).and_then(|params| {
            let state = params
                .get("state")
                .map(String::as_bytes)
                .unwrap_or_default();
            let sender = self
                .flows
                .route(state)
                .ok_or("no sign-in is waiting for it (unknown, replayed or expired state)")?;
            Ok((params, sender))
        });
        let (params, sender) = match routed {
            Ok(found) => found,
            Err(why) => {
                audit::record(&self.db, AuditKind::UnsolicitedCallback, None, None, why).await;
                return Err(refuse(why));
            }
        };
        let (reply, _page) = tokio::sync::oneshot::channel();
        if sender.send(Callback { params, reply }).await.is_err() {
            let why = "the sign-in it belongs to has ended";
            audit::record(&self.db, AuditKind::UnsolicitedCallback, None, None, why).await;
            return Err(refuse(why));
        }
        Ok(())
    }

    /// An address the person pasted: where the browser ended after a sign-in they finished on
    /// another machine (`http://127.0.0.1:PORT/callback?code=…&state=…`). It must be this
    /// sign-in's redirect URI, and then goes through the very checks a loopback callback does
    /// (state, iss, one use). A refused one leaves the sign-in waiting for the right one.
    pub async fn deliver_pasted_url(&self, flow_id: &str, raw: &str) -> Result<()> {
        let Some((redirect_uri, sender)) = self.flows.paste_route(flow_id) else {
            return Err(Error::not_found(
                "this sign-in is not waiting for a pasted address",
                "start the sign-in again",
            ));
        };
        let refused = |why: &str| {
            Error::new(
                ErrorKind::Forged,
                format!("that address was refused: {why}"),
            )
            .hint("paste the whole address the browser ended on after you signed in")
        };
        let raw = raw.trim();
        if raw.len() > MAX_CALLBACK_URL {
            return Err(refused("it is too long"));
        }
        let url = url::Url::parse(raw).map_err(|_| refused("it is not a web address"))?;
        let expected =
            url::Url::parse(&redirect_uri).map_err(|_| Error::internal("bad redirect URI"))?;
        let same = url.scheme() == expected.scheme()
            && url.host_str() == expected.host_str()
            && url.port_or_known_default() == expected.port_or_known_default()
            && url.path() == expected.path();
        if !same {
            let why = "it is not where this sign-in's browser was sent";
            audit::record(&self.db, AuditKind::UnsolicitedCallback, None, None, why).await;
            return Err(refused(why));
        }
        let (reply, page) = tokio::sync::oneshot::channel();
        let params = url.query_pairs().into_owned().collect();
        if sender.send(Callback { params, reply }).await.is_err() {
            return Err(refused("the sign-in it belongs to has ended"));
        }
        match page.await {
            Ok(page) if page.status == 200 => Ok(()),
            Ok(page) => Err(refused(&page.text)),
            Err(_) => Err(refused("the sign-in it belongs to has ended")),
        }
    }

    /// Stores what a completed sign-in learned: keychain first, then the row. Reconnecting an
    /// account that exists (same provider and subject) keeps its id and history.
    pub(crate) async fn store_connected(
        &self,
        p: &Spec,
        pending_id: &str,
        asked: Asked<'_>,
        granted: token::Granted,
        who: account::Identity,
        whoami_scopes: Option<Vec<String>>,
    ) -> Result<Account> {
        let Asked {
            scopes: requested,
            resource,
            dpop,
        } = asked;
        let dpop = dpop.filter(|_| granted.is_dpop());
        let now = now_ms();
        let (scopes_granted, scopes_source) = match granted.scopes.clone().or(whoami_scopes) {
            Some(s) => (s, ScopesSource::Server),
            None => (requested.to_vec(), ScopesSource::Requested),
        };
        let expires_at = granted.expires_in.map(|d| now + d.as_millis() as i64);
        let granted_refresh_expires_in = granted.refresh_expires_in;
        let tokens = TokenSet {
            access_token: granted.access_token,
            refresh_token: granted.refresh_token,
            id_token: granted.id_token.map(SecretString::new),
            expires_at_ms: expires_at,
            obtained_at_ms: now,
            dpop_key: dpop.map(DpopKey::to_secret),
        };
        let mut existing =
            account::find_by_subject(&self.db, &p.id, &who.subject, resource).await?;
        let mut _target_guard = None;
        if let Some(id) = &existing {
            _target_guard = Some(self.locks.lock(id).await?);
            // It may have been disconnected while we waited for its lock.
            if account::find(&self.db, id).await?.is_none() {
                existing = None;
                _target_guard = None;
            }
        }
        let target = existing.clone().unwrap_or_else(|| pending_id.to_string());
        let mut tokens = tokens;
        let replaced = match existing {
            Some(_) => self.read_tokens(&target).await.ok().flatten(),
            None => None,
        };
        if let (Some(old), None) = (&replaced, &tokens.refresh_token) {
            // A re-consent that returned no refresh token keeps the one the account has, unless
            // either is bound to a key: an old refresh token works only with its own key.
            if old.dpop_key.is_none() && tokens.dpop_key.is_none() {
                tokens.refresh_token = old.refresh_token.clone();
            }
        }
        let new_access = tokens.access_token.clone();
        let lifetime = crate::health::at_connect(
            now,
            if tokens.refresh_token.is_some() {
                p.refresh.limits()
            } else {
                // Without a refresh token the sign-in is the access token: nothing to keep alive.
                crate::health::Limits::default()
            },
            granted_refresh_expires_in,
        );
        crate::crash::point("connect-after-exchange");
        // Always tagged: a reconnect may follow a provider that moved.
        self.write_tokens(&target, tokens, Some(p)).await?;
        crate::crash::point("connect-after-keychain");
        let grant = Grant {
            scopes_requested: requested.to_vec(),
            scopes_granted,
            scopes_source,
            expires_at,
            lifetime,
            dpop_bound: dpop.is_some(),
        };
        let endpoints = crate::endpoints::Endpoints::of(p);
        account::complete_connect(&self.db, &target, &who, &grant, &endpoints).await?;
        if existing.is_some() {
            account::delete(&self.db, pending_id).await?;
        }
        if let Some(old) = replaced {
            self.revoke_replaced(p, &target, old, &new_access).await;
        }
        self.accounts_changed();
        Ok(account::get(&self.db, &target).await?.view(now_ms()))
    }
}

impl Engine {
    /// After a reconnect replaced an account's tokens: the replaced grant is revoked only where
    /// revoking one token cannot touch the new one (GitHub's per-token delete). On servers where
    /// revoking a token revokes its whole grant (oidc-provider's default policy, Google), the new
    /// tokens may belong to the same grant, so the old ones are left to expire. The new token has
    /// already answered a call (the sign-in's who-am-I), which is the condition for revoking.
    async fn revoke_replaced(
        &self,
        p: &Spec,
        account_id: &str,
        old: TokenSet,
        new_access: &SecretString,
    ) {
        if !matches!(
            p.revocation,
            crate::catalog::Revocation::GithubTokenDelete { .. }
        ) || old.access_token.expose() == new_access.expose()
        {
            return;
        }
        let detail = match self.revoke_at(p, &old).await {
            Ok(()) => "the token a reconnect replaced was revoked".to_string(),
            Err(e) => format!(
                "the token a reconnect replaced could not be revoked: {}",
                e.message
            ),
        };
        audit::record(
            &self.db,
            AuditKind::Revoked,
            Some(account_id),
            Some(&p.id),
            &detail,
        )
        .await;
    }
}

/// Reads a custom-scheme callback URL: its query parameters, or why it is not a callback.
pub(crate) fn read_scheme_callback(
    raw: &str,
) -> std::result::Result<HashMap<String, String>, &'static str> {
    if raw.len() > MAX_CALLBACK_URL {
        return Err("the URL is too long");
    }
    // Literally our scheme first: URL parsing would strip leading control characters and
    // spaces (found by fuzzing), and nothing but the desktop's exact hand-over is wanted here.
    let scheme = CUSTOM_SCHEME_REDIRECT.split(':').next().unwrap_or_default();
    if !raw
        .get(..=scheme.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(&format!("{scheme}:")))
    {
        return Err("the URL is not a sign-in callback");
    }
    let url = url::Url::parse(raw).map_err(|_| "the URL is malformed")?;
    let expected = url::Url::parse(CUSTOM_SCHEME_REDIRECT).expect("static URL");
    if url.scheme() != expected.scheme() || url.path() != expected.path() {
        return Err("the URL is not a sign-in callback");
    }
    Ok(url.query_pairs().into_owned().collect())
}
