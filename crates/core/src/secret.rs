//! Secrets as types, and the OS keychain that keeps them.
//!
//! A [`SecretString`] prints `[redacted]`, has no `Serialize` (so it cannot cross to the webview or
//! into SQLite by accident) and is zeroized when dropped. Tokens live only in the keychain, one entry
//! per account (service = the profile's namespace, user = the account id), stored as UTF-8 bytes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use keyring_core::Entry;
use serde::Deserialize;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, ErrorKind, Remedy, Result};

/// A secret string: redacted in `Debug` and `Display`, never serialized, zeroized on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }
    /// The secret itself; call only where it is about to be sent to its provider or printed on
    /// explicit request (`connected-accounts token`).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretString([redacted])")
    }
}

impl std::fmt::Display for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// What the keychain holds for one account.
#[derive(Debug, Clone)]
pub struct TokenSet {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    pub id_token: Option<SecretString>,
    /// Unix milliseconds; `None` when the provider gave no lifetime.
    pub expires_at_ms: Option<i64>,
    /// When this access token was obtained (Unix milliseconds), for the refresh margin.
    pub obtained_at_ms: i64,
    /// The key the tokens are bound to (DPoP, [`crate::dpop::DpopKey::to_secret`]): kept in the
    /// same entry, so the key and the refresh token it holds are written together.
    pub dpop_key: Option<SecretString>,
}

/// The keychain's wire form. Private: only [`TokenSet::to_bytes`]/[`TokenSet::from_bytes`] use it.
#[derive(serde::Serialize, Deserialize)]
struct StoredTokens<'a> {
    v: u8,
    access_token: &'a str,
    refresh_token: Option<&'a str>,
    id_token: Option<&'a str>,
    expires_at_ms: Option<i64>,
    obtained_at_ms: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    dpop_key: Option<&'a str>,
}

#[derive(Deserialize)]
struct OwnedStoredTokens {
    v: u8,
    access_token: String,
    refresh_token: Option<String>,
    id_token: Option<String>,
    expires_at_ms: Option<i64>,
    obtained_at_ms: i64,
    #[serde(default)]
    dpop_key: Option<String>,
}

impl TokenSet {
    fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let stored = StoredTokens {
            // A bound entry is version 2: an older app, which would drop the key on its next
            // write (and so lose the grant), refuses it instead.
            v: if self.dpop_key.is_some() { 2 } else { 1 },
            access_token: self.access_token.expose(),
            refresh_token: self.refresh_token.as_ref().map(SecretString::expose),
            id_token: self.id_token.as_ref().map(SecretString::expose),
            expires_at_ms: self.expires_at_ms,
            obtained_at_ms: self.obtained_at_ms,
            dpop_key: self.dpop_key.as_ref().map(SecretString::expose),
        };
        Zeroizing::new(serde_json::to_vec(&stored).expect("token set serializes"))
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut stored: OwnedStoredTokens = serde_json::from_slice(bytes).map_err(|_| {
            Error::new(
                ErrorKind::Keychain,
                "the keychain entry for this account is damaged",
            )
            .hint("disconnect the account and connect it again")
        })?;
        if stored.v != 1 && stored.v != 2 {
            return Err(Error::new(
                ErrorKind::Keychain,
                "the keychain entry was written by a newer version of Connected Accounts",
            )
            .hint("update Connected Accounts"));
        }
        let set = Self {
            access_token: SecretString::new(std::mem::take(&mut stored.access_token)),
            refresh_token: stored.refresh_token.take().map(SecretString::new),
            id_token: stored.id_token.take().map(SecretString::new),
            expires_at_ms: stored.expires_at_ms,
            obtained_at_ms: stored.obtained_at_ms,
            dpop_key: stored.dpop_key.take().map(SecretString::new),
        };
        Ok(set)
    }
}

type Store = Arc<keyring_core::CredentialStore>;

/// The OS keychain, opened on first use (start-up never touches it).
pub struct Keychain {
    service: String,
    /// Connections to the store, each opened on first use and taken in turn. The Secret Service
    /// store holds one connection behind a mutex for every call, round trips included, so with
    /// one connection the keychain calls of a refresh storm queue up; several let them overlap.
    stores: Vec<OnceLock<Store>>,
    next: AtomicUsize,
    factory: fn() -> keyring_core::Result<Store>,
    /// The largest secret one entry may hold (Windows Credential Manager: 2,560 bytes); larger
    /// token sets are split into parts.
    max_secret: Option<usize>,
}

/// Windows Credential Manager refuses credential blobs over 2,560 bytes.
pub const WINDOWS_MAX_SECRET: usize = 2560;

/// Connections to the platform keychain: the Secret Service store serializes each whole call on
/// one D-Bus connection, so a burst of refreshes takes a few in turn instead of queueing on one.
const PLATFORM_CONNECTIONS: usize = 4;

impl Keychain {
    /// The platform's keychain: Secret Service on Linux, Keychain Services on macOS, Credential
    /// Manager on Windows.
    pub fn platform(service: impl Into<String>) -> Self {
        Self {
            service: service.into(),
            stores: (0..PLATFORM_CONNECTIONS).map(|_| OnceLock::new()).collect(),
            next: AtomicUsize::new(0),
            factory: platform_store,
            max_secret: cfg!(target_os = "windows").then_some(WINDOWS_MAX_SECRET),
        }
    }

    /// At most `n` connections (one command of the command line needs one).
    pub fn with_connections(mut self, n: usize) -> Self {
        self.stores.truncate(n.max(1));
        self
    }

    /// Opens the store's connection ahead of its first use (a failure is left for that use to
    /// report). Blocking: call from a blocking thread.
    pub fn connect(&self) {
        if let Some(slot) = self.stores.first() {
            // A failure is met again, and reported, by the read that needs the store.
            let _ = self.open(slot);
        }
    }

    /// Splits secrets larger than `max` bytes into parts (tests use the Windows limit on the
    /// Secret Service).
    pub fn with_max_secret(mut self, max: usize) -> Self {
        self.max_secret = Some(max.max(256));
        self
    }

    /// A keychain over another store (tests inject failing stores).
    pub fn with_factory(
        service: impl Into<String>,
        factory: fn() -> keyring_core::Result<Store>,
    ) -> Self {
        Self {
            // One: a test's store may keep its items per instance.
            service: service.into(),
            stores: vec![OnceLock::new()],
            next: AtomicUsize::new(0),
            factory,
            max_secret: None,
        }
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    fn store(&self) -> Result<Store> {
        self.open(&self.stores[self.next.fetch_add(1, Ordering::Relaxed) % self.stores.len()])
    }

    /// The slot's connection, opened on first use.
    fn open(&self, slot: &OnceLock<Store>) -> Result<Store> {
        Ok(match slot.get() {
            Some(s) => s.clone(),
            None => {
                let s = (self.factory)().map_err(unavailable)?;
                slot.get_or_init(|| s).clone()
            }
        })
    }

    fn entry(&self, account_id: &str) -> Result<Entry> {
        let store = self.store()?;
        let label = format!("Connected Accounts tokens for account {account_id}");
        let modifiers = std::collections::HashMap::from([("label", label.as_str())]);
        store
            .build(&self.service, account_id, Some(&modifiers))
            .map_err(keychain_error)
    }

    /// Saves (or replaces) the account's tokens. Blocking: call from a blocking thread.
    pub fn put(&self, account_id: &str, tokens: &TokenSet) -> Result<()> {
        let bytes = tokens.to_bytes();
        // Only a keychain that splits can have left parts behind (one keychain per OS, so a
        // store without a limit never meets a split entry): the others skip this read.
        let old_parts = match self.max_secret {
            Some(_) => self.parts_of(account_id)?,
            None => Vec::new(),
        };
        match self.max_secret {
            Some(max) if bytes.len() > max => {
                // Parts first, under a new generation; the header last. A failure half-way
                // leaves the previous header and its parts intact.
                let generation = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
                let chunks: Vec<&[u8]> = bytes.chunks(max).collect();
                // Leave no fragment of the new tokens behind on failure; the old set stays whole.
                let abandon = |written: usize| {
                    let parts = (0..written)
                        .map(|j| part_key(account_id, &generation, j))
                        .collect();
                    self.delete_parts(account_id, parts);
                };
                for (i, chunk) in chunks.iter().enumerate() {
                    let written = self
                        .entry(&part_key(account_id, &generation, i))
                        .and_then(|e| e.set_secret(chunk).map_err(keychain_error));
                    if let Err(e) = written {
                        abandon(i);
                        return Err(e);
                    }
                }
                let header = serde_json::to_vec(
                    &serde_json::json!({ "v": 1, "parts": chunks.len(), "generation": generation }),
                )
                .expect("header serializes");
                let switched = self
                    .entry(account_id)
                    .and_then(|e| e.set_secret(&header).map_err(keychain_error));
                if let Err(e) = switched {
                    abandon(chunks.len());
                    return Err(e);
                }
            }
            _ => self
                .entry(account_id)?
                .set_secret(&bytes)
                .map_err(keychain_error)?,
        }
        self.delete_parts(account_id, old_parts);
        Ok(())
    }

    /// The account's tokens, or `None` when the keychain has no entry for it.
    pub fn get(&self, account_id: &str) -> Result<Option<TokenSet>> {
        let Some(mut bytes) = self.raw(account_id)? else {
            return Ok(None);
        };
        if let Some((generation, n)) = header(&bytes) {
            bytes.zeroize();
            for i in 0..n {
                let mut part = self
                    .raw(&part_key(account_id, &generation, i))?
                    .ok_or_else(|| {
                        Error::new(
                            ErrorKind::Keychain,
                            "part of this account's keychain entry is missing",
                        )
                        .hint("disconnect the account and connect it again")
                    })?;
                bytes.extend_from_slice(&part);
                part.zeroize();
            }
        }
        let set = TokenSet::from_bytes(&bytes);
        bytes.zeroize();
        set.map(Some)
    }

    fn raw(&self, key: &str) -> Result<Option<Vec<u8>>> {
        match self.entry(key)?.get_secret() {
            Ok(bytes) => Ok(Some(bytes)),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(keychain_error(e)),
        }
    }

    /// The part keys the current entry of `account_id` points to (none when it is whole).
    fn parts_of(&self, account_id: &str) -> Result<Vec<String>> {
        let Some(mut bytes) = self.raw(account_id)? else {
            return Ok(Vec::new());
        };
        let parts = header(&bytes)
            .map(|(generation, n)| {
                (0..n)
                    .map(|i| part_key(account_id, &generation, i))
                    .collect()
            })
            .unwrap_or_default();
        bytes.zeroize();
        Ok(parts)
    }

    fn delete_parts(&self, account_id: &str, parts: Vec<String>) {
        for key in parts {
            if let Err(e) = self
                .entry(&key)
                .and_then(|e| e.delete_credential().or_else(ignore_missing))
            {
                tracing::warn!(account = account_id, error = %e.detailed(), "could not remove an old keychain part");
            }
        }
    }

    /// Saves the account's tokens and tags the entry with what revoking them needs. Returns
    /// whether the tags were set: a store without attributes keeps only the secret, and a failed
    /// tagging is tried again at the next start (the tokens are saved either way).
    pub fn put_tagged(&self, account_id: &str, tokens: &TokenSet, tags: &Tags) -> Result<bool> {
        self.put(account_id, tokens)?;
        Ok(self.tag(account_id, tags).unwrap_or_else(|e| {
            tracing::warn!(account = account_id, error = %e.detailed(), "could not tag a keychain entry");
            false
        }))
    }

    /// Sets `tags` on the account's existing entry (in place: the Secret Service updates an
    /// item's attributes without touching its secret). `false` when there is no entry or the
    /// store keeps no attributes.
    pub fn tag(&self, account_id: &str, tags: &Tags) -> Result<bool> {
        match self
            .entry(account_id)?
            .update_attributes(&tags.attributes())
        {
            Ok(()) => Ok(true),
            Err(keyring_core::Error::NoEntry | keyring_core::Error::NotSupportedByStore(_)) => {
                Ok(false)
            }
            Err(e) => Err(keychain_error(e)),
        }
    }

    /// Every item of this profile (service), whatever the database knows: the account id (or
    /// other key) it is stored under and its attributes.
    pub fn items(&self) -> Result<Vec<Item>> {
        let spec = std::collections::HashMap::from([("service", self.service.as_str())]);
        let found = match self.store()?.search(&spec) {
            Ok(found) => found,
            Err(keyring_core::Error::NotSupportedByStore(_)) => return Ok(Vec::new()),
            Err(e) => return Err(keychain_error(e)),
        };
        let mut items = Vec::new();
        for entry in found {
            let attributes = entry.get_attributes().map_err(keychain_error)?;
            let Some(key) = attributes.get("username").cloned() else {
                continue;
            };
            items.push(Item { key, attributes });
        }
        Ok(items)
    }

    /// Deletes one item found by [`Keychain::items`]; a missing one is not an error.
    pub fn delete_item(&self, key: &str) -> Result<()> {
        self.entry(key)?.delete_credential().or_else(ignore_missing)
    }

    /// Saves a provider's client secret (GitHub and Google demand theirs from desktop apps; it is
    /// not confidential, but it is still kept out of files and logs).
    pub fn put_client_secret(&self, provider_id: &str, secret: &SecretString) -> Result<()> {
        self.put_text(&client_secret_key(provider_id), secret)
    }

    pub fn get_client_secret(&self, provider_id: &str) -> Result<Option<SecretString>> {
        self.text_at(&client_secret_key(provider_id))
    }

    /// Deletes a provider's client secret; a missing one is not an error.
    pub fn delete_client_secret(&self, provider_id: &str) -> Result<()> {
        self.entry(&client_secret_key(provider_id))?
            .delete_credential()
            .or_else(ignore_missing)
    }

    /// Saves how to manage the app's dynamic registration at a provider (RFC 7592), as
    /// `crate::registration` writes it, replacing the previous one (servers may rotate its token
    /// on every update).
    pub fn put_registration(&self, provider_id: &str, management: &SecretString) -> Result<()> {
        self.put_text(&registration_key(provider_id), management)
    }

    pub fn get_registration(&self, provider_id: &str) -> Result<Option<SecretString>> {
        self.text_at(&registration_key(provider_id))
    }

    /// The text an item found by [`Keychain::items`] holds (`None`: gone, or not UTF-8).
    pub fn text_at(&self, key: &str) -> Result<Option<SecretString>> {
        match self.entry(key)?.get_secret() {
            Ok(mut bytes) => {
                let s = String::from_utf8(bytes.clone()).ok().map(SecretString::new);
                bytes.zeroize();
                Ok(s)
            }
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(keychain_error(e)),
        }
    }

    fn put_text(&self, key: &str, text: &SecretString) -> Result<()> {
        self.entry(key)?
            .set_secret(text.expose().as_bytes())
            .map_err(keychain_error)
    }

    pub fn delete_registration(&self, provider_id: &str) -> Result<()> {
        self.entry(&registration_key(provider_id))?
            .delete_credential()
            .or_else(ignore_missing)
    }

    /// Deletes the account's entry (and its parts); deleting a missing entry is not an error.
    pub fn delete(&self, account_id: &str) -> Result<()> {
        // The header first: a crash after it leaves stray parts, never a header without parts.
        let parts = self.parts_of(account_id)?;
        let entry = self.entry(account_id)?;
        match entry.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => {}
            Err(e) => return Err(keychain_error(e)),
        }
        self.delete_parts(account_id, parts);
        Ok(())
    }
}

/// What a token entry carries besides its secret: enough to revoke it with no database (after
/// the database was moved aside, "remove all my data" still finds and revokes it). Never a secret.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags {
    pub provider: String,
    pub client_id: String,
    pub issuer: String,
    pub revocation: String,
}

impl Tags {
    fn attributes(&self) -> std::collections::HashMap<&str, &str> {
        std::collections::HashMap::from([
            ("ca_kind", "tokens"),
            ("ca_provider", self.provider.as_str()),
            ("ca_client_id", self.client_id.as_str()),
            ("ca_issuer", self.issuer.as_str()),
            ("ca_revocation", self.revocation.as_str()),
        ])
    }

    /// The tags an item carries, if it is a tagged token entry.
    pub fn read(attributes: &std::collections::HashMap<String, String>) -> Option<Tags> {
        if attributes.get("ca_kind").map(String::as_str) != Some("tokens") {
            return None;
        }
        let get = |k: &str| attributes.get(k).cloned().unwrap_or_default();
        Some(Tags {
            provider: get("ca_provider"),
            client_id: get("ca_client_id"),
            issuer: get("ca_issuer"),
            revocation: get("ca_revocation"),
        })
    }
}

/// An item of this profile in the keychain.
#[derive(Debug, Clone)]
pub struct Item {
    /// The account id (or a part's or client secret's key) it is stored under.
    pub key: String,
    pub attributes: std::collections::HashMap<String, String>,
}

impl Item {
    /// A token entry (an account's whole set or a split set's header), not a part or a secret.
    pub fn is_account(&self) -> bool {
        !self.key.contains('#')
            && !self.key.starts_with("client-secret:")
            && !self.key.starts_with(REGISTRATION_PREFIX)
    }

    /// A dynamic registration's management item (see [`Keychain::put_registration`]).
    pub fn is_registration(&self) -> bool {
        self.key.starts_with(REGISTRATION_PREFIX)
    }
}

const REGISTRATION_PREFIX: &str = "registration:";

fn registration_key(provider_id: &str) -> String {
    format!("{REGISTRATION_PREFIX}{provider_id}")
}

fn part_key(account_id: &str, generation: &str, i: usize) -> String {
    format!("{account_id}#{generation}.{i}")
}

/// A split entry's header: `{"v":1,"parts":N,"generation":"…"}` (a token set has no `parts`).
fn header(bytes: &[u8]) -> Option<(String, usize)> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let n = v.get("parts")?.as_u64()? as usize;
    let generation = v.get("generation")?.as_str()?.to_string();
    (n <= 64).then_some((generation, n))
}

fn ignore_missing(e: keyring_core::Error) -> std::result::Result<(), Error> {
    match e {
        keyring_core::Error::NoEntry => Ok(()),
        e => Err(keychain_error(e)),
    }
}

/// Client secrets live beside the accounts' tokens, under a key no account id can take.
fn client_secret_key(provider_id: &str) -> String {
    format!("client-secret:{provider_id}")
}

#[cfg(target_os = "linux")]
fn platform_store() -> keyring_core::Result<Store> {
    Ok(zbus_secret_service_keyring_store::Store::new()?)
}
#[cfg(target_os = "macos")]
fn platform_store() -> keyring_core::Result<Store> {
    Ok(apple_native_keyring_store::keychain::Store::new()?)
}
#[cfg(target_os = "windows")]
fn platform_store() -> keyring_core::Result<Store> {
    Ok(windows_native_keyring_store::Store::new()?)
}
#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
fn platform_store() -> keyring_core::Result<Store> {
    Err(keyring_core::Error::NotSupportedByStore(
        "no keychain support for this operating system".into(),
    ))
}

fn unavailable(e: keyring_core::Error) -> Error {
    Error::new(
        ErrorKind::Keychain,
        "the system keychain (Secret Service) is not available",
    )
    .remedy(Remedy::InstallSecretService)
    .cause(e)
}

fn keychain_error(e: keyring_core::Error) -> Error {
    match e {
        keyring_core::Error::NoStorageAccess(_) => Error::new(
            ErrorKind::Keychain,
            "the system keychain is locked or refused access",
        )
        .remedy(Remedy::UnlockKeychain)
        .cause(e),
        keyring_core::Error::PlatformFailure(_) => unavailable(e),
        other => Error::new(ErrorKind::Keychain, "the system keychain failed")
            .hint("retry; if it keeps failing, the log file has the details")
            .cause(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TokenSet {
        TokenSet {
            access_token: SecretString::new("at-SECRET-1"),
            refresh_token: Some(SecretString::new("rt-SECRET-2")),
            id_token: None,
            expires_at_ms: Some(1_700_000_000_000),
            obtained_at_ms: 1_699_999_000_000,
            dpop_key: None,
        }
    }

    #[test]
    fn debug_and_display_are_redacted() {
        let t = sample();
        let shown = format!("{t:?} {}", t.access_token);
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("[redacted]"));
    }

    #[test]
    fn token_set_round_trips_through_bytes() {
        let t = sample();
        let back = TokenSet::from_bytes(&t.to_bytes()).unwrap();
        assert_eq!(back.access_token.expose(), "at-SECRET-1");
        assert_eq!(back.refresh_token.unwrap().expose(), "rt-SECRET-2");
        assert_eq!(back.expires_at_ms, t.expires_at_ms);
        assert_eq!(back.obtained_at_ms, t.obtained_at_ms);
        assert!(back.dpop_key.is_none());
        assert!(t.to_bytes().starts_with(br#"{"v":1,"#));
    }

    #[test]
    fn a_bound_token_set_keeps_its_key_and_is_version_2() {
        let t = TokenSet {
            dpop_key: Some(SecretString::new("KEY-SECRET-3")),
            ..sample()
        };
        let bytes = t.to_bytes();
        assert!(bytes.starts_with(br#"{"v":2,"#), "an older app refuses it");
        let back = TokenSet::from_bytes(&bytes).unwrap();
        assert_eq!(back.dpop_key.unwrap().expose(), "KEY-SECRET-3");
        assert_eq!(back.refresh_token.unwrap().expose(), "rt-SECRET-2");
        assert!(!format!("{t:?}").contains("KEY-SECRET"));
    }

    #[test]
    fn damaged_entry_is_a_clear_error() {
        let e = TokenSet::from_bytes(b"not json").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Keychain);
        assert!(e.hint.unwrap().contains("connect it again"));
    }

    #[test]
    fn missing_service_is_a_clear_error() {
        fn no_store() -> keyring_core::Result<Store> {
            Err(keyring_core::Error::PlatformFailure("no bus".into()))
        }
        let k = Keychain::with_factory("ca-test", no_store);
        let e = k.get("acc1").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Keychain);
        assert_eq!(e.remedy, Some(Remedy::InstallSecretService));
    }

    /// A store that behaves like Windows Credential Manager on size (refuses a secret over
    /// `max` bytes) and can fail the n-th write from now: the faults the split write must survive.
    #[derive(Debug)]
    struct LimitStore {
        max: usize,
        items: std::sync::Mutex<std::collections::BTreeMap<String, Vec<u8>>>,
        writes_left: std::sync::Mutex<Option<usize>>,
    }

    #[derive(Debug)]
    struct LimitCred {
        store: Arc<LimitStore>,
        user: String,
    }

    impl keyring_core::api::CredentialApi for LimitCred {
        fn set_secret(&self, secret: &[u8]) -> keyring_core::Result<()> {
            if secret.len() > self.store.max {
                return Err(keyring_core::Error::TooLong(
                    "secret".into(),
                    self.store.max as u32,
                ));
            }
            if let Some(n) = self.store.writes_left.lock().unwrap().as_mut() {
                if *n == 0 {
                    return Err(keyring_core::Error::PlatformFailure(
                        "injected write failure".into(),
                    ));
                }
                *n -= 1;
            }
            self.store
                .items
                .lock()
                .unwrap()
                .insert(self.user.clone(), secret.to_vec());
            Ok(())
        }
        fn get_secret(&self) -> keyring_core::Result<Vec<u8>> {
            let items = self.store.items.lock().unwrap();
            items
                .get(&self.user)
                .cloned()
                .ok_or(keyring_core::Error::NoEntry)
        }
        fn delete_credential(&self) -> keyring_core::Result<()> {
            let removed = self.store.items.lock().unwrap().remove(&self.user);
            removed.map(|_| ()).ok_or(keyring_core::Error::NoEntry)
        }
        fn get_credential(&self) -> keyring_core::Result<Option<Arc<keyring_core::Credential>>> {
            Ok(None)
        }
        fn get_specifiers(&self) -> Option<(String, String)> {
            Some(("ca-test".into(), self.user.clone()))
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    }

    #[derive(Debug)]
    struct LimitStoreHandle(Arc<LimitStore>);

    impl keyring_core::api::CredentialStoreApi for LimitStoreHandle {
        fn vendor(&self) -> String {
            "test".into()
        }
        fn id(&self) -> String {
            "limit".into()
        }
        fn build(
            &self,
            _service: &str,
            user: &str,
            _modifiers: Option<&std::collections::HashMap<&str, &str>>,
        ) -> keyring_core::Result<Entry> {
            Ok(Entry::new_with_credential(Arc::new(LimitCred {
                store: self.0.clone(),
                user: user.into(),
            })))
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    }

    fn windows_like() -> (Keychain, Arc<LimitStore>) {
        let store = Arc::new(LimitStore {
            max: WINDOWS_MAX_SECRET,
            items: Default::default(),
            writes_left: Default::default(),
        });
        let keychain = Keychain {
            service: "ca-test".into(),
            stores: vec![OnceLock::from(
                Arc::new(LimitStoreHandle(store.clone())) as Store
            )],
            next: AtomicUsize::new(0),
            factory: || Err(keyring_core::Error::PlatformFailure("unused".into())),
            max_secret: None,
        };
        (keychain, store)
    }

    /// Token sets the size Microsoft and Google hand out with ID tokens (several KB).
    fn big(tag: &str) -> TokenSet {
        TokenSet {
            access_token: SecretString::new(format!("at-{tag}-{}", "x".repeat(4000))),
            refresh_token: Some(SecretString::new(format!("rt-{tag}-{}", "y".repeat(1500)))),
            id_token: Some(SecretString::new(format!("id-{tag}-{}", "z".repeat(2000)))),
            expires_at_ms: Some(1),
            obtained_at_ms: 2,
            dpop_key: None,
        }
    }

    #[test]
    fn a_store_with_the_windows_limit_never_receives_an_oversized_secret() {
        let (unsplit, _) = windows_like();
        let refused = unsplit.put("acc", &big("a")).unwrap_err();
        assert_eq!(
            refused.kind,
            ErrorKind::Keychain,
            "the store enforces its limit"
        );

        let (keychain, store) = windows_like();
        let keychain = keychain.with_max_secret(WINDOWS_MAX_SECRET);
        keychain.put("acc", &big("a")).unwrap();
        let back = keychain.get("acc").unwrap().unwrap();
        assert_eq!(back.access_token, big("a").access_token);
        assert_eq!(back.refresh_token, big("a").refresh_token);
        assert_eq!(back.id_token, big("a").id_token);
        {
            let items = store.items.lock().unwrap();
            assert!(items.len() >= 4, "header and parts: {:?}", items.keys());
            assert!(items.values().all(|v| v.len() <= WINDOWS_MAX_SECRET));
        }
        // A small set afterwards is one entry again, and the old parts are gone.
        keychain.put("acc", &sample()).unwrap();
        assert_eq!(store.items.lock().unwrap().len(), 1);
        assert_eq!(
            keychain.get("acc").unwrap().unwrap().access_token.expose(),
            "at-SECRET-1"
        );
    }

    #[test]
    fn a_write_that_fails_half_way_keeps_the_previous_tokens_whole() {
        let (keychain, store) = windows_like();
        let keychain = keychain.with_max_secret(WINDOWS_MAX_SECRET);
        keychain.put("acc", &big("old")).unwrap();
        let before = store.items.lock().unwrap().clone();
        let writes = before.len(); // the new set needs as many writes as the old one
        for fail_at in 0..writes {
            *store.writes_left.lock().unwrap() = Some(fail_at);
            let e = keychain.put("acc", &big("new")).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Keychain);
            *store.writes_left.lock().unwrap() = None;
            let kept = keychain.get("acc").unwrap().unwrap();
            assert_eq!(
                kept.refresh_token,
                big("old").refresh_token,
                "failed at write {fail_at}"
            );
            assert_eq!(
                *store.items.lock().unwrap(),
                before,
                "no fragment left at write {fail_at}"
            );
        }
        keychain.put("acc", &big("new")).unwrap();
        assert_eq!(
            keychain.get("acc").unwrap().unwrap().refresh_token,
            big("new").refresh_token
        );
        assert_eq!(
            store.items.lock().unwrap().len(),
            writes,
            "the old parts were removed"
        );
    }
}
