//! The engine: one per process, shared by the window, the command line and the tests. It owns the
//! database, the keychain, the HTTP client, the pending sign-in flows and the per-account locks.

use std::sync::Arc;
use std::time::Duration;

use crate::account::{self, Account, AccountRow};
use crate::audit::{self, AuditEvent, AuditKind};
use crate::catalog::{self, Profile, SecretRule};
use crate::db::{self, now_ms, Db};
use crate::error::{Error, Remedy, Result};
use crate::events::{AccountUpdate, Events};
use crate::flow::registry::Registry;
use crate::locks::AccountLocks;
use crate::model::{Settings, Spec};
use crate::paths::Paths;
use crate::provider;
use crate::secret::{Keychain, SecretString, TokenSet};
use crate::spec::ProviderView;

/// The providers and accounts as the window starts, handed to its page before any script runs.
#[derive(Debug, Clone, serde::Serialize, ts_rs::TS)]
pub struct StartupSnapshot {
    /// When it was read (Unix ms): a page reloaded later ignores it and asks again.
    pub taken_at_ms: i64,
    pub providers: Vec<ProviderView>,
    pub accounts: Vec<Account>,
}

/// What the window shows of the app itself.
/// A provider's sign-in limits in effect, in seconds (null: none).
#[derive(Debug, Clone, serde::Serialize, ts_rs::TS)]
pub struct ProviderLimits {
    pub provider: String,
    #[ts(type = "number | null")]
    pub sign_in_max_secs: Option<u64>,
    #[ts(type = "number | null")]
    pub refresh_idle_secs: Option<u64>,
    /// The person set some of them (else they are the profile's).
    pub set_by_you: bool,
}

#[derive(Debug, Clone, serde::Serialize, ts_rs::TS)]
pub struct AppInfo {
    /// The profile this process runs in (`demo` for `scripts/demo.sh`), None for the default.
    pub profile: Option<String>,
}

pub struct Engine {
    pub(crate) paths: Paths,
    pub(crate) db: Db,
    pub(crate) keychain: Arc<Keychain>,
    /// Built on first use: loading the system's trust store costs milliseconds that a `token`
    /// answered from the keychain should not pay.
    http: std::sync::OnceLock<reqwest::Client>,
    http_timeout: Option<Duration>,
    pub(crate) locks: AccountLocks,
    /// The pending sign-ins, browser and device.
    pub(crate) flows: Registry,
    /// "The accounts changed" for the scheduler, and background updates for the window.
    pub(crate) events: Events,
    /// The built-in profiles (tests swap in copies pointed at local servers).
    pub(crate) catalog: Vec<Profile>,
    /// How long a sign-in waits for the browser by default.
    pub flow_timeout: Duration,
}

impl Engine {
    /// Opens the profile named by the environment with the platform keychain.
    pub async fn open_from_env() -> Result<Self> {
        let paths = Paths::from_env()?;
        let keychain = Keychain::platform(paths.namespace.clone());
        Self::open(paths, keychain).await
    }

    /// The same, for one command of the command line: one database connection, reused by every
    /// step. A command does one thing at a time, so opening a second connection (and later
    /// folding the log it leaves) costs more than waiting for the first to come back.
    ///
    /// A command that will read a secret (`reads_a_secret`) opens its keychain connection while
    /// the database opens: the Secret Service handshake (connection, encrypted session) is most
    /// of a `token`'s time, and the two do not depend on each other. Nothing is read here.
    pub async fn open_from_env_for_command(reads_a_secret: bool) -> Result<Self> {
        let paths = Paths::from_env()?;
        let keychain = Arc::new(Keychain::platform(paths.namespace.clone()).with_connections(1));
        let warming = reads_a_secret.then(|| {
            let keychain = keychain.clone();
            tokio::task::spawn_blocking(move || keychain.connect())
        });
        let engine = Self::open_shared(paths, keychain, 1).await;
        // Waited for even when opening failed: a store half-built on another thread would
        // otherwise be dropped by a runtime that is shutting down.
        if let Some(warming) = warming {
            let _ = warming.await;
        }
        engine
    }

    /// Opens the database (no keychain access: start-up reads no secret).
    pub async fn open(paths: Paths, keychain: Keychain) -> Result<Self> {
        Self::open_with(paths, keychain, db::WINDOW_CONNECTIONS).await
    }

    async fn open_with(paths: Paths, keychain: Keychain, connections: u32) -> Result<Self> {
        Self::open_shared(paths, Arc::new(keychain), connections).await
    }

    async fn open_shared(paths: Paths, keychain: Arc<Keychain>, connections: u32) -> Result<Self> {
        paths.ensure()?;
        let db = db::open(&paths.database_file(), connections).await?;
        Ok(Self {
            locks: AccountLocks::new(paths.lock_dir()),
            paths,
            db,
            keychain,
            http: std::sync::OnceLock::new(),
            http_timeout: None,
            flows: Registry::default(),
            catalog: catalog::builtin().to_vec(),
            events: Events::default(),
            flow_timeout: Duration::from_secs(300),
        })
    }

    /// Closes the database cleanly: the last connection folds the write-ahead log back into the
    /// file, so at rest the database is one file (nothing half-applied for a copy or backup).
    pub async fn close(&self) {
        self.db.close().await;
        // sqlx's close can return while a connection is still on its way back to the pool (a
        // dropped connection is returned by a spawned task, and may land in the idle queue after
        // close drained it: sqlx #3217). That one keeps the log from being folded: close again
        // until the pool is empty, for a short while.
        for _ in 0..200 {
            if self.db.size() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
            self.db.close().await;
        }
        crate::db::fold_log(&self.paths.database_file()).await;
    }

    pub fn app_info(&self) -> AppInfo {
        AppInfo {
            profile: self.paths.profile().map(str::to_string),
        }
    }

    /// The app's own settings (what closing the window does, refresh paused).
    pub async fn app_settings(&self) -> Result<crate::AppSettings> {
        crate::prefs::load(&self.db).await
    }

    pub async fn set_close_action(&self, action: crate::CloseAction) -> Result<()> {
        crate::prefs::set_close_action(&self.db, action).await
    }

    /// Start at login, where it is offered (see autostart.rs).
    pub fn autostart(&self) -> Option<crate::autostart::Autostart> {
        crate::autostart::Autostart::for_paths(&self.paths)
    }

    /// Pauses or resumes automatic refresh; the scheduler hears of it at once.
    pub async fn set_refresh_paused(&self, paused: bool) -> Result<()> {
        crate::prefs::set_refresh_paused(&self.db, paused).await?;
        tracing::info!(paused, "automatic refresh");
        self.events.accounts_changed();
        Ok(())
    }

    /// True the first time only (see `prefs::claim_told_no_tray`).
    pub async fn claim_told_no_tray(&self) -> Result<bool> {
        crate::prefs::claim_told_no_tray(&self.db).await
    }

    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    // --- providers -------------------------------------------------------------------------

    /// Sets the limit on each provider request (default 30 s, or the environment's).
    pub fn with_http_timeout(mut self, timeout: Duration) -> Result<Self> {
        crate::http::client_with(timeout)?; // a bad value fails here, not at first use
        self.http = std::sync::OnceLock::new();
        self.http_timeout = Some(timeout);
        Ok(self)
    }

    /// The HTTP client (proxies, timeouts and the system's trust store applied).
    pub(crate) fn http(&self) -> Result<&reqwest::Client> {
        if let Some(client) = self.http.get() {
            return Ok(client);
        }
        let client = match self.http_timeout {
            Some(timeout) => crate::http::client_with(timeout)?,
            None => crate::http::client()?,
        };
        Ok(self.http.get_or_init(|| client))
    }

    /// Replaces the built-in catalog (tests point profiles at local servers).
    pub fn with_catalog(mut self, catalog: Vec<Profile>) -> Self {
        self.catalog = catalog;
        self
    }

    pub(crate) fn profile(&self, id: &str) -> Option<&Profile> {
        self.catalog.iter().find(|p| p.id == id)
    }

    /// Every provider: the built-in catalog (configured or not), then the ones added by URL.
    pub async fn providers(&self) -> Result<Vec<ProviderView>> {
        let mut out = Vec::new();
        let mut stored = provider::all_settings(&self.db).await?;
        for profile in &self.catalog {
            let settings = stored.remove(&profile.id).unwrap_or_default();
            let spec = Spec::from_profile(profile, &settings);
            out.push(ProviderView::new(&spec, Some(profile), &settings));
        }
        for p in provider::list(&self.db).await? {
            out.push(ProviderView::of_added(&p));
        }
        Ok(out)
    }

    /// A provider resolved for use.
    pub async fn spec(&self, id: &str) -> Result<Spec> {
        let spec = match self.profile(id) {
            Some(profile) => {
                let settings = provider::settings(&self.db, id).await?;
                Spec::from_profile(profile, &settings)
            }
            None => Spec::from_discovered(&provider::get(&self.db, id).await?),
        };
        let mut spec = spec;
        let mine = provider::limits(&self.db, id).await?;
        let limits = mine.over(spec.refresh.limits());
        spec.refresh.max_lifetime = limits.max;
        spec.refresh.idle_expiry = limits.idle;
        // A setting or a row stored by an older version is checked again before any use.
        spec.check_endpoints()?;
        Ok(spec)
    }

    /// A provider's sign-in limits: the person's own (`mine`) and those in effect (`mine` over
    /// the profile's). `change` replaces the person's where given (`Some(None)` removes one).
    pub async fn provider_limits(
        &self,
        id: &str,
        change: Option<crate::health::LimitsChange>,
    ) -> Result<ProviderLimits> {
        let spec = self.spec(id).await?;
        let mut mine = provider::limits(&self.db, id).await?;
        if let Some(change) = change {
            mine.max = change.max.unwrap_or(mine.max);
            mine.idle = change.idle.unwrap_or(mine.idle);
            if !provider::set_limits(&self.db, id, mine).await? {
                return Err(Error::invalid_input(
                    format!("{} is not set up yet", spec.name),
                    "set it up first (its client ID), then its limits",
                ));
            }
            audit::record(
                &self.db,
                AuditKind::ProviderChanged,
                None,
                Some(id),
                &format!(
                    "sign-in limits: max {}, idle {}",
                    crate::health::describe(mine.max),
                    crate::health::describe(mine.idle)
                ),
            )
            .await;
        }
        let profile = self
            .profile(id)
            .map(|p| p.refresh.limits())
            .unwrap_or_default();
        let effective = mine.over(profile);
        Ok(ProviderLimits {
            provider: id.to_owned(),
            sign_in_max_secs: effective.max.map(|d| d.as_secs()),
            refresh_idle_secs: effective.idle.map(|d| d.as_secs()),
            set_by_you: mine != crate::health::Limits::default(),
        })
    }

    /// Sets up a built-in provider: the client ID (and secret, into the keychain) of the app the
    /// person registered there, and its parameters (e.g. a self-managed GitLab's URL).
    pub async fn configure_provider(
        &self,
        settings: ProviderSettings,
        client_secret: Option<SecretString>,
    ) -> Result<ProviderView> {
        let Some(profile) = self.profile(&settings.provider_id).cloned() else {
            let custom = provider::get(&self.db, &settings.provider_id).await?;
            return Err(Error::invalid_input(
                format!(
                    "{} was added by its URL; its client ID is set when adding it",
                    custom.name
                ),
                "remove and add it again to change its client ID",
            ));
        };
        let client_id = settings.client_id.trim().to_string();
        if client_id.is_empty() {
            return Err(Error::invalid_input(
                "the client ID is empty",
                format!(
                    "register an app at {} and paste the client ID it shows",
                    profile.setup.register_url
                ),
            ));
        }
        let mut params = std::collections::BTreeMap::new();
        for (name, value) in settings.params {
            if !profile.params.contains_key(&name) {
                return Err(Error::invalid_input(
                    format!("{} has no setting {name:?}", profile.name),
                    format!(
                        "its settings are: {}",
                        profile
                            .params
                            .keys()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            let value = value.trim().to_string();
            if !value.is_empty() {
                params.insert(name, value);
            }
        }
        let spec = Spec::from_profile(
            &profile,
            &Settings {
                client_id: Some(client_id),
                params: params.clone(),
            },
        );
        // Checked as filled in, so no spelling of a setting (`HTTP://…`) gets past the https rule.
        spec.check_endpoints().map_err(|e| {
            let label = |n: &str| profile.params[n].label.clone();
            let names: Vec<String> = params.keys().map(|n| label(n)).collect();
            e.hint(format!(
                "check the settings ({}): endpoints must use https (plain http only on 127.0.0.1, [::1] or localhost)",
                names.join(", ")
            ))
        })?;
        if let Some(secret) = client_secret.filter(|s| !s.expose().trim().is_empty()) {
            let (k, id) = (self.keychain.clone(), spec.id.clone());
            blocking(move || k.put_client_secret(&id, &secret)).await?;
        }
        provider::save_settings(&self.db, &spec, &params).await?;
        audit::record(
            &self.db,
            AuditKind::ProviderAdded,
            None,
            Some(&spec.id),
            "configured",
        )
        .await;
        let settings = provider::settings(&self.db, &spec.id).await?;
        Ok(ProviderView::new(&spec, Some(&profile), &settings))
    }

    /// The client secret to send, when the provider takes one and it was configured.
    pub(crate) async fn client_secret_for(&self, spec: &Spec) -> Result<Option<SecretString>> {
        if spec.secret_rule == SecretRule::None {
            return Ok(None);
        }
        let (k, id) = (self.keychain.clone(), spec.id.clone());
        let secret = blocking(move || k.get_client_secret(&id)).await?;
        if secret.is_none() && spec.secret_rule == SecretRule::Required {
            return Err(Error::new(
                crate::error::ErrorKind::InvalidInput,
                format!(
                    "{} requires the client secret of your app, and none is set",
                    spec.name
                ),
            )
            .remedy(Remedy::ConfigureProvider {
                provider: spec.id.clone(),
                client_secret: true,
            }));
        }
        Ok(secret)
    }

    // --- accounts --------------------------------------------------------------------------

    pub async fn accounts(&self) -> Result<Vec<Account>> {
        let now = now_ms();
        Ok(account::list(&self.db)
            .await?
            .iter()
            .map(|r| r.view(now))
            .collect())
    }

    /// What the window shows first, read in one go before the window exists, so its first paint
    /// already has the list (metadata only: no keychain access).
    pub async fn startup_snapshot(&self) -> Result<StartupSnapshot> {
        let (providers, accounts) = tokio::try_join!(self.providers(), self.accounts())?;
        Ok(StartupSnapshot {
            taken_at_ms: crate::db::now_ms(),
            providers,
            accounts,
        })
    }

    pub async fn account(&self, query: &str) -> Result<Account> {
        Ok(account::resolve(&self.db, query).await?.view(now_ms()))
    }

    /// Wakes the scheduler to recompute its timer (an account was added, refreshed or removed).
    pub fn accounts_changed(&self) {
        self.events.accounts_changed();
    }

    /// Background changes to accounts, as they happen.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<AccountUpdate> {
        self.events.subscribe()
    }

    pub(crate) async fn row(&self, query: &str) -> Result<AccountRow> {
        account::resolve(&self.db, query).await
    }

    pub async fn audit_log(&self, limit: u32) -> Result<Vec<AuditEvent>> {
        audit::recent(&self.db, limit.min(10_000), None).await
    }

    /// Each account's latest token read, for the window.
    pub async fn last_reads(&self) -> Result<Vec<audit::LastRead>> {
        audit::last_reads(&self.db).await
    }

    /// One account's entries (its token reads with their readers, and its security events).
    pub async fn account_audit_log(&self, query: &str, limit: u32) -> Result<Vec<AuditEvent>> {
        let row = self.row(query).await?;
        audit::recent(&self.db, limit.min(10_000), Some(&row.id)).await
    }

    /// Records a status on a failure path. A database error here is logged, not returned, so it
    /// never hides the failure being reported.
    pub(crate) async fn settle(
        &self,
        id: &str,
        status: account::AccountStatus,
        error: Option<&str>,
    ) {
        if let Err(e) = account::set_status(&self.db, id, status, error).await {
            tracing::error!(account = id, status = status.as_str(), error = %e.detailed(), "could not record the account's status");
        }
    }

    pub(crate) async fn audit(&self, kind: AuditKind, row: &AccountRow, detail: &str) {
        audit::record(
            &self.db,
            kind,
            Some(&row.id),
            Some(&row.provider_id),
            detail,
        )
        .await;
    }

    // --- keychain, off the async threads ---------------------------------------------------

    pub(crate) async fn read_tokens(&self, id: &str) -> Result<Option<TokenSet>> {
        let (k, id) = (self.keychain.clone(), id.to_string());
        blocking(move || k.get(&id)).await
    }

    /// Saves an account's tokens. With `tag`, the entry is also tagged with what revoking them at
    /// that spec needs; an entry already tagged keeps its tags when its secret is replaced, so
    /// a refresh passes `None` and saves the keychain's attribute round trips.
    pub(crate) async fn write_tokens(
        &self,
        id: &str,
        tokens: TokenSet,
        tag: Option<&Spec>,
    ) -> Result<()> {
        let Some(spec) = tag else {
            let (k, key) = (self.keychain.clone(), id.to_string());
            return blocking(move || k.put(&key, &tokens)).await;
        };
        let (k, key, tags) = (self.keychain.clone(), id.to_string(), keychain_tags(spec));
        if blocking(move || k.put_tagged(&key, &tokens, &tags)).await? {
            // Only a note that the tags are there: failing to write it must not fail a write
            // whose tokens are saved (the tagging is repeated at the next start).
            if let Err(e) = account::set_keychain_tagged(&self.db, id).await {
                tracing::warn!(account = %id, error = %e.detailed(), "could not note a tagged keychain entry");
            }
        }
        Ok(())
    }

    pub(crate) async fn delete_tokens(&self, id: &str) -> Result<()> {
        let (k, id) = (self.keychain.clone(), id.to_string());
        blocking(move || k.delete(&id)).await
    }
}

/// What a token entry carries so it can be revoked with no database (see [`crate::secret::Tags`]).
pub(crate) fn keychain_tags(spec: &Spec) -> crate::secret::Tags {
    let endpoints = crate::endpoints::Endpoints::of(spec);
    crate::secret::Tags {
        provider: spec.id.clone(),
        client_id: spec.client_id.clone(),
        issuer: endpoints.issuer.unwrap_or(endpoints.token),
        revocation: endpoints.revocation.unwrap_or_default(),
    }
}

/// How long a keychain call may take: a locked keychain may wait on an unlock prompt nobody
/// answers, and nothing of ours may hang on it.
pub const KEYCHAIN_TIMEOUT: Duration = Duration::from_secs(20);

pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    match tokio::time::timeout(KEYCHAIN_TIMEOUT, tokio::task::spawn_blocking(f)).await {
        Ok(joined) => joined.map_err(|e| Error::internal("a keychain task failed").cause(e))?,
        Err(_) => Err(Error::new(
            crate::error::ErrorKind::Keychain,
            "the system keychain did not answer",
        )
        .hint("it may be locked and waiting for you to unlock it")
        .remedy(Remedy::UnlockKeychain)),
    }
}

/// A built-in provider's settings, from the window's setup form or `providers configure`.
#[derive(Debug, Clone, serde::Deserialize, ts_rs::TS)]
pub struct ProviderSettings {
    pub provider_id: String,
    pub client_id: String,
    /// e.g. `{"base": "https://gitlab.example.com"}` or `{"tenant": "organizations"}`.
    pub params: std::collections::BTreeMap<String, String>,
}
