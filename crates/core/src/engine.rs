//! The engine: one per process, shared by the window, the command line and the tests. It owns the
//! database, the keychain, the HTTP client, the pending sign-in flows and the per-account locks.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::account::{self, Account, AccountRow};
use crate::audit::{self, AuditEvent, AuditKind};
use crate::db::{self, now_ms, Db};
use crate::error::{Error, Result};
use crate::flow::Pending;
use crate::locks::AccountLocks;
use crate::paths::Paths;
use crate::provider::{self, NewProvider, Provider, ProviderView};
use crate::secret::{Keychain, TokenSet};

pub struct Engine {
    pub(crate) paths: Paths,
    pub(crate) db: Db,
    pub(crate) keychain: Arc<Keychain>,
    pub(crate) http: reqwest::Client,
    pub(crate) locks: AccountLocks,
    pub(crate) flows: Mutex<HashMap<String, Pending>>,
    pub(crate) cancels: Mutex<HashMap<String, Arc<tokio::sync::Notify>>>,
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

    /// Opens the database (no keychain access: start-up reads no secret).
    pub async fn open(paths: Paths, keychain: Keychain) -> Result<Self> {
        paths.ensure()?;
        let db = db::open(&paths.database_file()).await?;
        Ok(Self {
            locks: AccountLocks::new(paths.lock_dir()),
            paths,
            db,
            keychain: Arc::new(keychain),
            http: crate::http::client()?,
            flows: Mutex::default(),
            cancels: Mutex::default(),
            flow_timeout: Duration::from_secs(300),
        })
    }

    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    // --- providers -------------------------------------------------------------------------

    pub async fn providers(&self) -> Result<Vec<ProviderView>> {
        Ok(provider::list(&self.db)
            .await?
            .iter()
            .map(ProviderView::from)
            .collect())
    }

    pub(crate) async fn provider(&self, id: &str) -> Result<Provider> {
        provider::get(&self.db, id).await
    }

    /// Discovers and saves a provider from its issuer URL.
    pub async fn add_provider(&self, new: NewProvider) -> Result<ProviderView> {
        let discovered = provider::discover(&self.http, &new).await?;
        let saved = provider::insert(&self.db, discovered).await?;
        audit::record(
            &self.db,
            AuditKind::ProviderAdded,
            None,
            Some(&saved.id),
            &saved.issuer,
        )
        .await;
        Ok(ProviderView::from(&saved))
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

    pub async fn account(&self, query: &str) -> Result<Account> {
        Ok(account::resolve(&self.db, query).await?.view(now_ms()))
    }

    pub(crate) async fn row(&self, query: &str) -> Result<AccountRow> {
        account::resolve(&self.db, query).await
    }

    pub async fn audit_log(&self, limit: u32) -> Result<Vec<AuditEvent>> {
        audit::recent(&self.db, limit.min(10_000)).await
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

    pub(crate) async fn write_tokens(&self, id: &str, tokens: TokenSet) -> Result<()> {
        let (k, id) = (self.keychain.clone(), id.to_string());
        blocking(move || k.put(&id, &tokens)).await
    }

    pub(crate) async fn delete_tokens(&self, id: &str) -> Result<()> {
        let (k, id) = (self.keychain.clone(), id.to_string());
        blocking(move || k.delete(&id)).await
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::internal("a keychain task failed").cause(e))?
}
