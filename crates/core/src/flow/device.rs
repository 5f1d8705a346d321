//! The device authorization grant (RFC 8628): the person enters a short code on another device
//! or in any browser. oauth2 makes the device authorization request; polling is our own loop,
//! because some providers (GitHub) answer "authorization_pending" with HTTP 200, which oauth2's
//! poller takes for a token.

use std::time::{Duration, Instant};

use oauth2::StandardDeviceAuthorizationResponse;
use serde::Serialize;
use tokio::sync::Notify;
use ts_rs::TS;

use crate::account::{self, Account};
use crate::audit::{self, AuditKind};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Remedy, Result};
use crate::locks::AccountGuard;
use crate::model::Spec;
use crate::secret::SecretString;
use crate::token::{self, ProviderTokenResponse};

use super::registry::SignIn;
use super::{ConnectRequest, ConnectTarget, Kind, Prepared};

/// What the person needs to finish on another device.
#[derive(Debug, Clone, Serialize, TS)]
pub struct DeviceStarted {
    pub flow_id: String,
    pub provider: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: Option<String>,
    /// What the browser is opened on when the server gave a `verification_uri_complete`: a
    /// one-time launcher on this machine's loopback that only this user may fetch (that URL
    /// carries the user code, so whoever opens it first could approve this sign-in).
    pub browser_url: Option<String>,
    pub expires_in_secs: u32,
    pub interval_secs: u32,
}

pub struct DevicePending {
    spec: Spec,
    secret: Option<SecretString>,
    device_code: SecretString,
    interval: Duration,
    deadline: Instant,
    scopes: Vec<String>,
    account_id: String,
    /// The key the tokens are to be bound to (DPoP), made for this sign-in.
    dpop: Option<crate::dpop::DpopKey>,
    /// The one-time launcher the browser was opened on (it carries the user code).
    _launcher: Option<crate::flow::loopback::Listener>,
    _guard: AccountGuard,
}

impl DevicePending {
    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }
    pub(crate) fn account_id(&self) -> &str {
        &self.account_id
    }
    pub(crate) fn provider_id(&self) -> &str {
        &self.spec.id
    }
}

impl Engine {
    /// Asks the provider for a device code and records the intent. Only a provider can be the
    /// target (an account's scopes change through the browser sign-in).
    pub async fn device_begin(&self, request: ConnectRequest) -> Result<DeviceStarted> {
        if request.resource.is_some() {
            // Its tokens would be general ones, recorded as the resource's.
            return Err(Error::invalid_input(
                "a sign-in for a resource uses the browser, not a code",
                "sign in through the browser, or paste back the address it ends on",
            )
            .remedy(Remedy::UseBrowserSignIn));
        }
        let ConnectTarget::Provider {
            id: provider_id,
            scopes,
        } = &request.target
        else {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "changing an account's scopes uses the browser sign-in",
            )
            .remedy(Remedy::UseBrowserSignIn));
        };
        self.sweep_abandoned_flows().await;
        let Prepared {
            spec,
            secret,
            scopes,
        } = self
            .prepare_sign_in(provider_id, scopes.as_deref(), Kind::Device)
            .await?;
        let client = token::client(&spec, secret.as_ref(), None)?;
        let mut ask = client
            .exchange_device_code()
            .map_err(|e| Error::internal("no device endpoint").cause(e))?;
        if !scopes.is_empty() {
            ask = ask.add_extra_param(
                spec.scopes.param.clone(),
                scopes.join(&spec.scopes.separator),
            );
        }
        let details: StandardDeviceAuthorizationResponse = ask
            .request_async(&token::Recording::new(self.http()?))
            .await
            .map_err(|e| token::request_error(e, &spec.name, "start a sign-in with a code"))?;

        // The token request proves the key (RFC 9449 §5); the device request has no `dpop_jkt`.
        let dpop = if spec.dpop && !request.no_dpop {
            Some(crate::dpop::DpopKey::generate()?)
        } else {
            None
        };
        let account_id = account::new_id();
        let guard = self.locks.lock(&account_id).await?;
        account::insert_connecting(&self.db, &account_id, &spec.id, &scopes, None).await?;
        let expires_in = details.expires_in().min(crate::flow::MAX_FLOW_TIMEOUT);
        let mut started = DeviceStarted {
            flow_id: String::new(), // set once registered, below
            provider: spec.id.clone(),
            user_code: details.user_code().secret().clone(),
            verification_uri: details.verification_uri().to_string(),
            verification_uri_complete: details
                .verification_uri_complete()
                .map(|u| u.secret().clone()),
            browser_url: None,
            expires_in_secs: expires_in.as_secs() as u32,
            interval_secs: details.interval().as_secs().max(1) as u32,
        };
        audit::record(
            &self.db,
            AuditKind::FlowStarted,
            Some(&account_id),
            Some(&spec.id),
            "device code",
        )
        .await;
        // `verification_uri_complete` carries the user code: whoever opens it first can approve
        // this device with their own account. The browser gets a one-time launcher instead.
        let launcher = match started.verification_uri_complete.clone() {
            Some(target) => Some(crate::flow::loopback::Bound::launcher_only().await?.serve(
                crate::flow::loopback::Routes {
                    callback: None,
                    launch: crate::flow::loopback::launch_to(target),
                    on_refused: self.refusal_audit(&account_id, &spec.id),
                },
            )),
            None => None,
        };
        started.browser_url = launcher.as_ref().map(|l| l.launch_url.clone());
        let pending = DevicePending {
            device_code: SecretString::new(details.device_code().secret().clone()),
            interval: details.interval().max(Duration::from_secs(1)),
            deadline: Instant::now() + expires_in,
            spec,
            secret,
            scopes,
            account_id,
            dpop,
            _launcher: launcher,
            _guard: guard,
        };
        started.flow_id = self
            .flows
            .add(SignIn::Device(Box::new(pending)), None, None);
        if request.open_browser {
            let url = started
                .browser_url
                .as_deref()
                .unwrap_or(&started.verification_uri);
            if let Err(e) = crate::browser::open(url) {
                tracing::warn!(error = %e.detailed(), "could not open the browser for the device code");
            }
        }
        Ok(started)
    }

    /// Polls until the person approves (or denies, or the code expires, or Cancel): the same as
    /// [`Engine::connect_finish`], under the name the window's API uses.
    pub async fn device_finish(&self, flow_id: &str) -> Result<Account> {
        self.finish_sign_in(flow_id).await
    }

    pub(super) async fn device_poll(&self, p: &DevicePending, cancel: &Notify) -> Result<Account> {
        let spec = &p.spec;
        // Where proofs and the server's nonces are for (DPoP).
        let endpoint = url::Url::parse(&spec.token_endpoint)
            .map_err(|_| Error::internal("bad token endpoint"))?;
        let mut interval = p.interval;
        loop {
            if Instant::now() >= p.deadline {
                return Err(Error::new(
                    ErrorKind::FlowEnded,
                    format!("the code for {} expired before it was entered", spec.name),
                )
                .hint("start the sign-in again"));
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = cancel.notified() => {
                    return Err(Error::new(ErrorKind::Cancelled, "the sign-in was cancelled"));
                }
            }
            let mut form = vec![
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", p.device_code.expose()),
            ];
            let mut request = self
                .http()?
                .post(&spec.token_endpoint)
                .header(reqwest::header::ACCEPT, "application/json");
            request = token::authenticate(spec, p.secret.as_ref(), request, &mut form);
            if let Some(key) = &p.dpop {
                let nonce = crate::dpop::nonce_for(&endpoint);
                request = request.header(
                    "DPoP",
                    key.proof("POST", &endpoint, nonce.as_deref(), None)?,
                );
            }
            let mut response = request.form(&form).send().await.map_err(|e| {
                Error::new(
                    ErrorKind::Network,
                    format!("cannot reach {} to finish the sign-in", spec.name),
                )
                .hint("check your network connection and start again")
                .cause(e.without_url())
            })?;
            let (bytes, cut) = crate::http::read_capped(&mut response, crate::http::MAX_REPLY)
                .await
                .map_err(|e| {
                    Error::new(ErrorKind::Network, "the sign-in reply was cut off")
                        .cause(e.without_url())
                })?;
            if cut {
                return Err(crate::http::too_large(&spec.name, "finish the sign-in"));
            }
            let nonce_is_new = crate::dpop::remember_nonce(&endpoint, response.headers());
            let reply: ProviderTokenResponse = serde_json::from_slice(&bytes).map_err(|e| {
                Error::new(
                    ErrorKind::Provider,
                    format!("{} sent a reply we cannot read", spec.name),
                )
                .hint("try again later")
                .cause(Error::new(
                    ErrorKind::Provider,
                    format!("unreadable JSON at line {}", e.line()),
                ))
            })?;
            match reply.error_code() {
                Some("authorization_pending") => continue,
                // The next poll carries the server's nonce (not a failure).
                Some("use_dpop_nonce") if p.dpop.is_some() && nonce_is_new => continue,
                Some("slow_down") => {
                    interval += Duration::from_secs(5);
                    continue;
                }
                Some("access_denied") => {
                    return Err(Error::new(
                        ErrorKind::FlowEnded,
                        format!("access was denied at {}", spec.name),
                    )
                    .hint("start again and choose to allow access"));
                }
                Some("expired_token") => {
                    return Err(Error::new(
                        ErrorKind::FlowEnded,
                        format!("the code for {} expired before it was entered", spec.name),
                    )
                    .hint("start the sign-in again"));
                }
                _ => {}
            }
            let rules = crate::catalog::TokenRules {
                errors_with_200: true,
                ..spec.token.clone()
            };
            let granted = reply.read(
                &rules,
                spec.scopes.granted_from,
                &spec.name,
                "finish signing in",
            )?;
            let bound = p.dpop.as_ref().filter(|_| granted.is_dpop());
            let (who, whoami_scopes) = self.identify(spec, &granted, None, false, bound).await?;
            return self
                .store_connected(
                    spec,
                    &p.account_id,
                    super::Asked {
                        scopes: &p.scopes,
                        resource: None,
                        dpop: bound,
                    },
                    granted,
                    who,
                    whoami_scopes,
                )
                .await;
        }
    }
}
