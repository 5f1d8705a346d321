//! The app registering itself with a server (RFC 7591 dynamic client registration) and deleting
//! that registration again (RFC 7592), so a person adds a server by its URL alone.
//!
//! The wire format is openidconnect's; RFC 7592's delete, which it lacks, is one bearer-authorized
//! DELETE. What the server issues besides the client ID (a secret, the registration's access
//! token and URI) goes to the keychain, never to the database.

use std::time::Duration;

use openidconnect::core::{
    CoreApplicationType, CoreClientAuthMethod, CoreGrantType, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreRegisterErrorResponseType, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::registration::{
    AdditionalClientMetadata, ClientRegistrationError, ClientRegistrationRequest,
    ClientRegistrationResponse, EmptyAdditionalClientRegistrationResponse,
};
use openidconnect::{
    AccessToken, ClientName, LocalizedClaim, RedirectUrl, RegistrationUrl, ResponseTypes,
};
use serde::{Deserialize, Serialize};

use crate::catalog::ClientAuth;
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{Provider, CUSTOM_SCHEME_REDIRECT};
use crate::secret::SecretString;

/// RFC 7591's `scope`, which openidconnect's standard metadata lacks: some servers cap every
/// later request at the registered scopes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ScopeMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
}
impl AdditionalClientMetadata for ScopeMetadata {}

type Request = ClientRegistrationRequest<
    ScopeMetadata,
    EmptyAdditionalClientRegistrationResponse,
    CoreApplicationType,
    CoreClientAuthMethod,
    CoreRegisterErrorResponseType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;
type Response = ClientRegistrationResponse<
    ScopeMetadata,
    EmptyAdditionalClientRegistrationResponse,
    CoreApplicationType,
    CoreClientAuthMethod,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// Where and how to manage a registration (RFC 7592): kept in the keychain as one item.
#[derive(Serialize, Deserialize)]
pub struct Management {
    pub uri: String,
    token: String,
}

impl Management {
    pub fn new(uri: String, token: &SecretString) -> Self {
        Self {
            uri,
            token: token.expose().to_owned(),
        }
    }

    pub fn token(&self) -> SecretString {
        SecretString::new(self.token.clone())
    }

    /// As the keychain keeps it: one JSON item.
    pub fn to_secret(&self) -> SecretString {
        SecretString::new(serde_json::to_string(self).expect("management serializes"))
    }

    /// A kept item read back (`None`: not one of ours).
    pub fn from_secret(item: &SecretString) -> Option<Self> {
        serde_json::from_str(item.expose()).ok()
    }
}

impl std::fmt::Debug for Management {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Management")
            .field("uri", &self.uri)
            .field("token", &"[redacted]")
            .finish()
    }
}

impl Drop for Management {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.token.zeroize();
    }
}

/// What a registration gave the app.
#[derive(Debug)]
pub struct Registered {
    pub client_id: String,
    pub client_auth: ClientAuth,
    pub client_secret: Option<SecretString>,
    /// Unix seconds; none: the secret does not expire.
    pub secret_expires_at: Option<i64>,
    /// The scopes the server registered (it may narrow what was asked).
    pub scopes: Vec<String>,
    pub management: Option<Management>,
}

/// A loopback redirect port for a new registration: free now, and below every operating
/// system's ephemeral range (so no outgoing connection is ever handed it later).
pub fn pick_loopback_port() -> Result<u16> {
    const FIRST: u16 = 20000;
    const LAST: u16 = 32000;
    let start = u16::from_le_bytes(uuid::Uuid::new_v4().as_bytes()[..2].try_into().unwrap());
    for i in 0..200u16 {
        let port = FIRST + (start.wrapping_add(i.wrapping_mul(157))) % (LAST - FIRST);
        if std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, port)).is_ok() {
            return Ok(port);
        }
    }
    Err(Error::internal(
        "no free loopback port for the sign-in redirect",
    ))
}

/// The redirect URIs a new registration asks for: a loopback port kept for this provider, and
/// the custom scheme the window uses.
pub fn default_redirect_uris(port: u16) -> Vec<String> {
    vec![
        format!("http://127.0.0.1:{port}/callback"),
        CUSTOM_SCHEME_REDIRECT.to_owned(),
    ]
}

/// Registers the app for `provider` (its redirect URIs, scopes and chosen client authentication
/// already settled) at `endpoint`.
pub async fn register(
    http: &reqwest::Client,
    endpoint: &str,
    provider: &Provider,
    initial_access_token: Option<&SecretString>,
) -> Result<Registered> {
    let endpoint_url = RegistrationUrl::new(endpoint.to_owned())
        .map_err(|_| Error::internal("the registration endpoint is not a URL"))?;
    let request = request_for(provider)?.set_initial_access_token(
        initial_access_token.map(|t| AccessToken::new(t.expose().to_owned())),
    );
    let response: Response = request
        .register_async(&endpoint_url, http)
        .await
        .map_err(|e| registration_error(e, initial_access_token, &provider.issuer))?;
    registered(response, provider, None)
}

/// The client metadata the app registers with: native, the redirect URIs, grant types and
/// scopes it uses, and the client authentication chosen for this server.
fn request_for(provider: &Provider) -> Result<Request> {
    let redirect_uris = provider
        .redirect_uris
        .iter()
        .map(|u| RedirectUrl::new(u.clone()))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| Error::internal("a redirect URI is not a URL"))?;
    let mut grants = vec![
        CoreGrantType::AuthorizationCode,
        CoreGrantType::RefreshToken,
    ];
    if provider.device_endpoint.is_some() {
        grants.push(CoreGrantType::DeviceCode);
    }
    let auth = match provider.client_auth {
        ClientAuth::None => CoreClientAuthMethod::None,
        ClientAuth::SecretBasic => CoreClientAuthMethod::ClientSecretBasic,
        ClientAuth::SecretPost => CoreClientAuthMethod::ClientSecretPost,
    };
    let mut name = LocalizedClaim::new();
    name.insert(None, ClientName::new("Connected Accounts".into()));
    let scope = (!provider.scopes.is_empty()).then(|| provider.scopes.join(" "));
    let request = Request::new(redirect_uris, ScopeMetadata { scope })
        .set_application_type(Some(CoreApplicationType::Native))
        .set_client_name(Some(name))
        .set_grant_types(Some(grants))
        .set_response_types(Some(vec![ResponseTypes::new(vec![CoreResponseType::Code])]))
        .set_token_endpoint_auth_method(Some(auth));
    Ok(request)
}

/// The largest registration reply read (real ones are a few KB).
const MAX_REPLY: usize = 64 * 1024;

/// Updates the registration (RFC 7592 §2.2) to `provider`'s metadata, e.g. more scopes. The
/// reply may carry a new registration access token (servers that rotate it on every update).
pub async fn update(
    http: &reqwest::Client,
    management: &Management,
    provider: &Provider,
    secret: Option<&SecretString>,
) -> Result<Registered> {
    crate::model::check_endpoint_url("registration client URI", &management.uri)?;
    let mut body = serde_json::to_value(request_for(provider)?.client_metadata())
        .map_err(|e| Error::internal("the registration update does not serialize").cause(e))?;
    body["client_id"] = serde_json::Value::String(provider.client_id.clone());
    if let Some(secret) = secret {
        // RFC 7592 §2.2: a client with a secret includes it, so the server can check it.
        body["client_secret"] = serde_json::Value::String(secret.expose().to_owned());
    }
    let issuer = crate::text::for_terminal(&provider.issuer).into_owned();
    let mut reply = http
        .put(&management.uri)
        .bearer_auth(&management.token)
        .json(&body)
        .send()
        .await
        .map_err(|e| {
            Error::new(
                ErrorKind::Network,
                format!("could not reach {issuer} to update the app's registration"),
            )
            .cause(e)
        })?;
    let status = reply.status().as_u16();
    let (bytes, _) = crate::http::read_capped(&mut reply, MAX_REPLY)
        .await
        .map_err(|e| {
            Error::new(
                ErrorKind::Provider,
                format!("{issuer}'s registration update reply could not be read"),
            )
            .cause(e)
        })?;
    match status {
        200 => {
            let response: Response = serde_json::from_slice(&bytes).map_err(|e| {
                Error::new(
                    ErrorKind::Provider,
                    format!("{issuer}'s registration update reply is not valid"),
                )
                .cause(e)
            })?;
            let mut updated = registered(response, provider, secret)?;
            if updated.client_id != provider.client_id {
                return Err(Error::new(
                    ErrorKind::Provider,
                    format!("{issuer} answered a registration update with another client"),
                ));
            }
            // A server that does not rotate the token leaves it out; the one in hand stays valid.
            if updated.management.is_none() {
                updated.management =
                    Some(Management::new(management.uri.clone(), &management.token()));
            }
            Ok(updated)
        }
        401 | 403 => Err(Error::new(
            ErrorKind::Provider,
            format!("{issuer} no longer accepts the app's registration access token"),
        )),
        _ => {
            let code = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| {
                    v["error"]
                        .as_str()
                        .map(|c| crate::text::for_terminal(c).into_owned())
                })
                .unwrap_or_else(|| format!("HTTP {status}"));
            Err(Error::new(
                ErrorKind::Provider,
                format!("{issuer} refused to update the app's registration ({code})"),
            ))
        }
    }
}

/// Checks what the server issued and keeps what the app needs.
/// `known_secret`: the secret the app holds, kept when an update's reply leaves it out.
fn registered(
    response: Response,
    provider: &Provider,
    known_secret: Option<&SecretString>,
) -> Result<Registered> {
    let client_id = response.client_id().as_str().trim().to_owned();
    if client_id.is_empty() || client_id.len() > 512 || client_id.chars().any(char::is_control) {
        return Err(Error::new(
            ErrorKind::Provider,
            "the server's registration reply has no usable client_id",
        ));
    }
    let auth_name = response.token_endpoint_auth_method().map(|m| {
        serde_json::to_value(m)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    });
    // A server may register another method than asked; the one it names is the one that works.
    let client_auth = match auth_name.as_deref() {
        None => provider.client_auth,
        Some(name) => crate::model::client_auth_from_name(name).ok_or_else(|| {
            Error::new(
                ErrorKind::Provider,
                format!(
                    "the server registered the app for client authentication {}, which it cannot use",
                    crate::text::for_terminal(name)
                ),
            )
        })?,
    };
    let client_secret = response
        .client_secret()
        .map(|s| SecretString::new(s.secret().clone()))
        .filter(|s| !s.expose().is_empty())
        .or_else(|| known_secret.cloned());
    if client_auth != ClientAuth::None && client_secret.is_none() {
        return Err(Error::new(
            ErrorKind::Provider,
            "the server registered a client that needs a secret but issued none",
        ));
    }
    let secret_expires_at = response
        .client_secret_expires_at()
        .map(|t| t.timestamp())
        // RFC 7591: 0 means the secret does not expire.
        .filter(|t| *t > 0);
    let management = match (
        response.registration_client_uri(),
        response.registration_access_token(),
    ) {
        (Some(uri), Some(token)) => {
            crate::model::check_endpoint_url("registration client URI", uri.as_str())?;
            Some(Management::new(
                uri.to_string(),
                &SecretString::new(token.secret().clone()),
            ))
        }
        _ => None,
    };
    let scopes = response
        .additional_metadata()
        .scope
        .as_deref()
        .map(|s| s.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_else(|| provider.scopes.clone());
    Ok(Registered {
        client_id,
        client_auth,
        client_secret,
        secret_expires_at,
        scopes,
        management,
    })
}

fn registration_error<RE: std::error::Error + Send + Sync + 'static>(
    e: ClientRegistrationError<CoreRegisterErrorResponseType, RE>,
    sent_token: Option<&SecretString>,
    issuer: &str,
) -> Error {
    let issuer = crate::text::for_terminal(issuer).into_owned();
    match e {
        ClientRegistrationError::ServerResponse(r) => {
            let code = crate::text::for_terminal(r.error().as_ref()).into_owned();
            // The server's words, unless they repeat the initial access token we sent.
            let said = r
                .error_description()
                .filter(|d| sent_token.is_none_or(|t| !d.contains(t.expose())))
                .map(|d| format!(": {}", crate::text::for_terminal(d)))
                .unwrap_or_default();
            Error::new(
                ErrorKind::Provider,
                format!("{issuer} refused to register the app ({code}{said})"),
            )
            .hint("register the app by hand there and add it with --client-id")
        }
        ClientRegistrationError::Response(status, _, _)
            if status.as_u16() == 401 || status.as_u16() == 403 =>
        {
            let (message, hint) = if sent_token.is_some() {
                (
                    format!("{issuer} did not accept the initial access token"),
                    "get a new one from its administrator and pass it with --initial-access-token-stdin",
                )
            } else {
                (
                    format!("{issuer} registers apps only with an initial access token"),
                    "get one from its administrator and pass it with --initial-access-token-stdin",
                )
            };
            Error::new(ErrorKind::Provider, message).hint(hint)
        }
        ClientRegistrationError::Response(status, _, _) => Error::new(
            ErrorKind::Provider,
            format!("{issuer} answered the registration with HTTP {status}"),
        )
        .hint("try again later, or register the app by hand and add it with --client-id"),
        ClientRegistrationError::Request(cause) => Error::new(
            ErrorKind::Network,
            format!("could not reach {issuer} to register the app"),
        )
        .hint("check your connection and try again")
        .cause(cause),
        ClientRegistrationError::Parse(cause) => Error::new(
            ErrorKind::Provider,
            format!("{issuer}'s registration reply is not valid"),
        )
        .hint("the server is misconfigured; register the app by hand there and add it with --client-id")
        .cause(cause),
        other => Error::internal("could not register the app").cause(other),
    }
}

/// A registered client secret is renewed when it expires within this (RFC 7591
/// `client_secret_expires_at`).
const RENEW_SECRET_WITHIN_SECS: i64 = 24 * 60 * 60;

/// How long an RFC 7592 delete may take: it runs while the person waits to remove something.
const DELETE_TIMEOUT: Duration = Duration::from_secs(15);

/// Deletes the registration at the server (RFC 7592 §2.3). Gone already (401, 403, 404) counts as
/// deleted: a registration access token is useless once its client is gone.
pub async fn delete(http: &reqwest::Client, management: &Management) -> Result<()> {
    crate::model::check_endpoint_url("registration client URI", &management.uri)?;
    let reply = http
        .delete(&management.uri)
        .bearer_auth(&management.token)
        .timeout(DELETE_TIMEOUT)
        .send()
        .await
        .map_err(|e| {
            Error::new(
                ErrorKind::Network,
                "could not reach the server to delete the app's registration",
            )
            .cause(e)
        })?;
    match reply.status().as_u16() {
        200..=299 | 401 | 403 | 404 => Ok(()),
        status => Err(Error::new(
            ErrorKind::Provider,
            format!("the server answered HTTP {status} to deleting the app's registration"),
        )),
    }
}

// --- the engine's side: adding, keeping and removing a registered provider -------------------

/// What became of a provider's registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dropped {
    /// The app had none there (a client ID the person registered, or none yet).
    NotRegistered,
    /// Deleted at the server (or already gone there), and here.
    Deleted,
    /// Deleted here; the server could not be told, as the message says.
    NotDeleted(String),
}

/// What `providers remove` did.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ProviderRemoved {
    pub provider: String,
    /// Accounts disconnected first (`--disconnect-accounts`).
    pub disconnected: Vec<String>,
    /// The app's registration at the server was deleted (RFC 7592).
    pub registration_deleted: bool,
    /// What could not be undone at the server, in the person's words.
    pub warnings: Vec<String>,
}

impl Engine {
    /// Discovers a provider from its issuer URL and saves it. With no client ID, the app registers
    /// itself there (RFC 7591), with `initial_access_token` where the server requires one.
    pub async fn add_provider(&self, new: crate::NewProvider) -> Result<crate::ProviderView> {
        self.add_provider_with_token(new, None).await
    }

    /// [`Engine::add_provider`] with an initial access token for servers that register apps only
    /// with one (RFC 7591 §3; Keycloak, for instance).
    pub async fn add_provider_with_token(
        &self,
        new: crate::NewProvider,
        initial_access_token: Option<SecretString>,
    ) -> Result<crate::ProviderView> {
        let mut discovered = crate::discovery::discover(self.http()?, &new).await?;
        if discovered.registered() && new.redirect_uris.is_empty() {
            // One registration per server: adding it again returns the one the app has.
            let existing = crate::provider::list(&self.db)
                .await?
                .into_iter()
                .find(|p| p.registered() && p.issuer == discovered.issuer);
            if let Some(p) = existing {
                return Ok(crate::ProviderView::of_added(&p));
            }
        }
        if discovered.registered() && discovered.redirect_uris.is_empty() {
            discovered.redirect_uris = default_redirect_uris(pick_loopback_port()?);
        }
        // The row first: it settles the provider's id, under which the keychain keeps what the
        // registration issues. Until then its client ID is empty, which the next sign-in fills.
        let saved = crate::provider::insert(&self.db, &self.catalog, discovered).await?;
        let saved = if saved.registered() {
            match self
                .register_client(&saved, initial_access_token.as_ref())
                .await
            {
                Ok(p) => p,
                Err(e) => {
                    let _ = crate::provider::delete(&self.db, &saved.id).await;
                    return Err(e);
                }
            }
        } else {
            saved
        };
        crate::audit::record(
            &self.db,
            crate::audit::AuditKind::ProviderAdded,
            None,
            Some(&saved.id),
            &saved.issuer,
        )
        .await;
        Ok(crate::ProviderView::of_added(&saved))
    }

    /// Registers the app for a stored provider and keeps the result: the keychain first (the
    /// secret and the management token), then the row. A registration that cannot be kept is
    /// deleted again at the server.
    async fn register_client(
        &self,
        p: &Provider,
        initial_access_token: Option<&SecretString>,
    ) -> Result<Provider> {
        let endpoint = p
            .registration_endpoint
            .clone()
            .ok_or_else(|| Error::internal("the provider has no registration endpoint"))?;
        let registered = register(self.http()?, &endpoint, p, initial_access_token).await?;
        let kept = self.keep_registration(&p.id, &registered).await;
        if let Err(e) = kept {
            if let Some(m) = &registered.management {
                if let Err(undo) = delete(self.http()?, m).await {
                    tracing::warn!(error = %undo.detailed(), "a registration that could not be kept was not deleted at the server");
                }
            }
            return Err(e);
        }
        let mut updated = p.clone();
        updated.client_id = registered.client_id.clone();
        updated.client_auth = registered.client_auth;
        updated.client_secret_expires_at = registered.secret_expires_at;
        updated.registered_scopes = registered.scopes.clone();
        crate::provider::set_client(&self.db, &updated).await?;
        crate::audit::record(
            &self.db,
            crate::audit::AuditKind::ClientRegistered,
            None,
            Some(&p.id),
            &format!("client {}", registered.client_id),
        )
        .await;
        Ok(updated)
    }

    async fn keep_registration(&self, provider_id: &str, r: &Registered) -> Result<()> {
        let k = self.keychain.clone();
        let id = provider_id.to_owned();
        let secret = r.client_secret.clone();
        let management = r.management.as_ref().map(Management::to_secret);
        crate::engine::blocking(move || {
            match &secret {
                Some(s) => k.put_client_secret(&id, s)?,
                None => k.delete_client_secret(&id)?,
            }
            match &management {
                Some(m) => k.put_registration(&id, m),
                None => k.delete_registration(&id),
            }
        })
        .await
    }

    /// The registration's management and, where the client has one, its secret, in one keychain
    /// visit.
    async fn kept_registration(
        &self,
        p: &Provider,
    ) -> Result<(Option<Management>, Option<SecretString>)> {
        let (k, id, with_secret) = (
            self.keychain.clone(),
            p.id.clone(),
            p.client_auth != ClientAuth::None,
        );
        let (management, secret) = crate::engine::blocking(move || {
            let secret = if with_secret {
                k.get_client_secret(&id)?
            } else {
                None
            };
            Ok((k.get_registration(&id)?, secret))
        })
        .await?;
        Ok((management.and_then(|m| Management::from_secret(&m)), secret))
    }

    /// Before a sign-in: a provider the app registered with whose registration was deleted (its
    /// last account went) registers again; an expiring client secret is renewed.
    pub(crate) async fn ensure_client(&self, provider_id: &str) -> Result<()> {
        if self.profile(provider_id).is_some() {
            return Ok(());
        }
        let p = crate::provider::get(&self.db, provider_id).await?;
        if p.registered() && p.client_id.is_empty() {
            self.register_client(&p, None).await?;
            return Ok(());
        }
        self.renew_if_due(&p, true).await
    }

    /// Before a sign-in asks for `scopes`: a registration that does not allow them all is
    /// updated first (RFC 7592), since some servers cap requests at the registered scopes. The
    /// new registration access token is kept before anything else.
    pub(crate) async fn ensure_registered_scopes(
        &self,
        provider_id: &str,
        scopes: &[String],
    ) -> Result<()> {
        if self.profile(provider_id).is_some() {
            return Ok(());
        }
        let p = crate::provider::get(&self.db, provider_id).await?;
        let missing: Vec<&String> = scopes
            .iter()
            .filter(|s| !p.registered_scopes.contains(s))
            .collect();
        if !p.registered() || p.registered_scopes.is_empty() || missing.is_empty() {
            return Ok(());
        }
        let (management, secret) = self.kept_registration(&p).await?;
        let Some(management) = management else {
            tracing::info!(
                provider = provider_id,
                "the registration cannot be updated here; asking anyway"
            );
            return Ok(());
        };
        let mut wanted = p.clone();
        wanted.scopes = crate::model::normalize_scopes(
            &p.registered_scopes
                .iter()
                .chain(scopes.iter())
                .cloned()
                .collect::<Vec<_>>(),
        );
        let updated = update(self.http()?, &management, &wanted, secret.as_ref()).await?;
        self.keep_registration(&p.id, &updated).await?;
        let mut stored = p.clone();
        stored.client_auth = updated.client_auth;
        stored.client_secret_expires_at = updated.secret_expires_at.or(p.client_secret_expires_at);
        stored.registered_scopes = updated.scopes.clone();
        crate::provider::set_client(&self.db, &stored).await?;
        crate::audit::record(
            &self.db,
            crate::audit::AuditKind::ProviderChanged,
            None,
            Some(&p.id),
            &format!("registration updated: scopes {}", updated.scopes.join(" ")),
        )
        .await;
        Ok(())
    }

    /// The server no longer knows the app's registered client (`invalid_client`): register once
    /// more, and every account there needs connecting again, since its refresh token belonged to
    /// the old client. Only when `failed_client` is still the stored one, so concurrent refreshes
    /// register once and nothing loops: the accounts stop refreshing until connected again.
    pub(crate) async fn client_lost(
        &self,
        provider_id: &str,
        failed_client: &str,
    ) -> Result<Error> {
        let p = crate::provider::get(&self.db, provider_id).await?;
        let message = format!(
            "{} no longer knows the app's registration, so the app registered again; every account there must be connected again",
            p.name
        );
        if p.registered() && p.client_id == failed_client {
            let cleared = self
                .forget_client(&p, "the server answered invalid_client")
                .await?;
            for row in crate::account::list(&self.db).await? {
                if row.provider_id == p.id {
                    crate::account::set_status(
                        &self.db,
                        &row.id,
                        crate::account::AccountStatus::NeedsReconnect,
                        Some(&message),
                    )
                    .await?;
                }
            }
            self.register_client(&cleared, None).await?;
            self.accounts_changed();
        }
        Ok(Error::new(ErrorKind::NeedsReconnect, message).hint("connect the account again"))
    }

    /// A provider's keychain items: its client secret and its registration's management.
    async fn delete_provider_items(&self, provider_id: &str) -> Result<()> {
        let k = self.keychain.clone();
        let id = provider_id.to_owned();
        crate::engine::blocking(move || {
            k.delete_client_secret(&id)?;
            k.delete_registration(&id)
        })
        .await
    }

    /// Forgets the app's client at a registered provider here: its keychain items, and its
    /// client ID (the next sign-in registers anew). Audited with `why`.
    async fn forget_client(&self, p: &Provider, why: &str) -> Result<Provider> {
        self.delete_provider_items(&p.id).await?;
        let mut cleared = p.clone();
        cleared.client_id = String::new();
        cleared.client_secret_expires_at = None;
        crate::provider::set_client(&self.db, &cleared).await?;
        crate::audit::record(
            &self.db,
            crate::audit::AuditKind::RegistrationDeleted,
            None,
            Some(&p.id),
            why,
        )
        .await;
        Ok(cleared)
    }

    /// Before a refresh: [`Engine::renew_if_due`], never registering anew, since a new client
    /// ends every account's sign-in.
    pub(crate) async fn renew_secret_if_due(&self, provider_id: &str) -> Result<()> {
        if self.profile(provider_id).is_some() {
            return Ok(());
        }
        let p = crate::provider::get(&self.db, provider_id).await?;
        self.renew_if_due(&p, false).await
    }

    /// A client secret that expires within a day is renewed first: an RFC 7592 update, which
    /// servers answer with a new secret or a later expiry. A secret already expired that could
    /// not be renewed is replaced by a new registration when `may_register_anew` (before a
    /// sign-in).
    async fn renew_if_due(&self, p: &Provider, may_register_anew: bool) -> Result<()> {
        let Some(expires) = p.client_secret_expires_at else {
            return Ok(());
        };
        let now = crate::db::now_ms() / 1000;
        if !p.registered() || p.client_id.is_empty() || expires - now > RENEW_SECRET_WITHIN_SECS {
            return Ok(());
        }
        let (management, secret) = self.kept_registration(p).await?;
        if let Some(m) = management {
            let mut current = p.clone();
            if !p.registered_scopes.is_empty() {
                current.scopes = p.registered_scopes.clone();
            }
            match update(self.http()?, &m, &current, secret.as_ref()).await {
                // Not shortened: a secret the server did not extend still works until it expires.
                Ok(u) if u.secret_expires_at.is_none_or(|e| e >= expires) => {
                    self.keep_registration(&p.id, &u).await?;
                    let mut stored = p.clone();
                    stored.client_auth = u.client_auth;
                    stored.client_secret_expires_at = u.secret_expires_at;
                    crate::provider::set_client(&self.db, &stored).await?;
                    crate::audit::record(
                        &self.db,
                        crate::audit::AuditKind::ProviderChanged,
                        None,
                        Some(&p.id),
                        "client secret renewed (RFC 7592 update)",
                    )
                    .await;
                    return Ok(());
                }
                Ok(_) => tracing::info!(
                    provider = %p.id,
                    "an update did not extend the client secret"
                ),
                Err(e) => {
                    tracing::warn!(provider = %p.id, error = %e.detailed(), "could not renew the client secret")
                }
            }
        }
        if may_register_anew && now >= expires {
            self.drop_registration(&p.id).await?;
            let cleared = crate::provider::get(&self.db, &p.id).await?;
            self.register_client(&cleared, None).await?;
        }
        Ok(())
    }

    /// After an account's disconnect: a registered provider left with no account loses its
    /// registration (a registration nobody uses is only something to leak).
    pub(crate) async fn drop_registration_if_unused(&self, provider_id: &str) -> Result<Dropped> {
        let in_use = crate::account::count_for_provider(&self.db, provider_id).await?;
        if in_use > 0 {
            return Ok(Dropped::NotRegistered);
        }
        self.drop_registration(provider_id).await
    }

    /// Deletes the app's registration at a provider (RFC 7592, where the server offers it) and
    /// its keychain items, and clears the client from the row: the next sign-in registers anew.
    pub(crate) async fn drop_registration(&self, provider_id: &str) -> Result<Dropped> {
        let Ok(p) = crate::provider::get(&self.db, provider_id).await else {
            return Ok(Dropped::NotRegistered);
        };
        if !p.registered() || p.client_id.is_empty() {
            return Ok(Dropped::NotRegistered);
        }
        let (management, _) = self.kept_registration(&p).await?;
        let warning = match &management {
            Some(m) => match delete(self.http()?, m).await {
                Ok(()) => None,
                Err(e) => Some(format!(
                    "the app's registration at {} could not be deleted ({}); it stays there unused",
                    p.name, e.message
                )),
            },
            None => Some(format!(
                "{} offers no way to delete the app's registration; it stays there unused",
                p.name
            )),
        };
        self.forget_client(&p, warning.as_deref().unwrap_or("deleted at the server"))
            .await?;
        Ok(match warning {
            None => Dropped::Deleted,
            Some(w) => Dropped::NotDeleted(w),
        })
    }

    /// Removes a provider: refused while it has accounts, unless `disconnect_accounts` (each is
    /// disconnected, revoking where the provider can). Its registration is deleted at the server,
    /// its keychain items and its row here. A built-in provider goes back to not set up.
    pub async fn remove_provider(
        &self,
        id: &str,
        disconnect_accounts: bool,
    ) -> Result<ProviderRemoved> {
        let spec = self.spec(id).await?;
        let accounts: Vec<_> = self
            .accounts()
            .await?
            .into_iter()
            .filter(|a| a.provider == spec.id)
            .collect();
        if !accounts.is_empty() && !disconnect_accounts {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "{} still has {} account{}",
                    spec.name,
                    accounts.len(),
                    if accounts.len() == 1 { "" } else { "s" }
                ),
            )
            .remedy(crate::error::Remedy::DisconnectAccountsFirst {
                provider: spec.id.clone(),
            }));
        }
        let mut report = ProviderRemoved {
            provider: spec.id.clone(),
            disconnected: Vec::new(),
            registration_deleted: false,
            warnings: Vec::new(),
        };
        for account in accounts {
            let name = account.display_name.clone();
            match self
                .disconnect_keeping_registration(&account.id, true)
                .await?
            {
                crate::DisconnectOutcome::Revoked => {}
                crate::DisconnectOutcome::RemovedLocally { warning } => {
                    report.warnings.push(format!("{name}: {warning}"))
                }
                crate::DisconnectOutcome::ConfirmationRequired { message, .. } => {
                    return Err(Error::new(ErrorKind::Internal, message).hint(
                        "nothing else was removed; disconnect this account on its own first",
                    ));
                }
            }
            report.disconnected.push(name);
        }
        // After the accounts: their tokens are revoked as the registered client.
        match self.drop_registration(&spec.id).await? {
            Dropped::Deleted => report.registration_deleted = true,
            Dropped::NotDeleted(w) => report.warnings.push(w),
            Dropped::NotRegistered => {}
        }
        self.delete_provider_items(&spec.id).await?;
        crate::provider::delete(&self.db, &spec.id).await?;
        crate::audit::record(
            &self.db,
            crate::audit::AuditKind::ProviderRemoved,
            None,
            Some(&spec.id),
            &spec.name,
        )
        .await;
        self.accounts_changed();
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_picked_port_is_free_and_below_the_ephemeral_ranges() {
        for _ in 0..20 {
            let port = pick_loopback_port().unwrap();
            assert!((20000..32000).contains(&port), "{port}");
        }
        let uris = default_redirect_uris(28001);
        assert_eq!(uris[0], "http://127.0.0.1:28001/callback");
        assert_eq!(uris[1], CUSTOM_SCHEME_REDIRECT);
    }

    #[test]
    fn a_refusal_that_repeats_the_initial_access_token_is_not_quoted() {
        use openidconnect::StandardErrorResponse;
        let refusal = |description: &str| {
            ClientRegistrationError::<CoreRegisterErrorResponseType, std::io::Error>::ServerResponse(
                StandardErrorResponse::new(
                    CoreRegisterErrorResponseType::InvalidClientMetadata,
                    Some(description.to_owned()),
                    None,
                ),
            )
        };
        let iat = SecretString::new("iat-7f3a-secret");
        let e = registration_error(refusal("bad scope"), Some(&iat), "https://as.example");
        assert!(
            e.message.contains("invalid_client_metadata: bad scope"),
            "{e:?}"
        );
        let e = registration_error(
            refusal("token iat-7f3a-secret has no rights"),
            Some(&iat),
            "https://as.example",
        );
        assert!(!format!("{e:?}").contains("iat-7f3a-secret"), "{e:?}");
        assert!(e.message.contains("invalid_client_metadata"), "{e:?}");
    }

    #[test]
    fn the_management_token_is_never_printed() {
        let m = Management::new(
            "https://as.example/reg/1".into(),
            &SecretString::new("s3cr3t"),
        );
        assert!(!format!("{m:?}").contains("s3cr3t"));
    }
}
