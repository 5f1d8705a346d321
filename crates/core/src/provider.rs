//! The providers added by issuer URL, and the built-in providers' settings, as stored in SQLite.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use crate::catalog::Profile;
use crate::db::{now_ms, Db};
use crate::error::{Error, ErrorKind, Remedy, Result};
use crate::health::Limits;
use crate::model::{Provider, Settings, Spec};

/// A row of `providers` for a provider added by URL, read by column name.
#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    name: String,
    issuer: String,
    client_id: String,
    /// A JSON array.
    scopes: String,
    authorization_endpoint: String,
    token_endpoint: String,
    userinfo_endpoint: Option<String>,
    revocation_endpoint: Option<String>,
    jwks_uri: String,
    iss_parameter_supported: bool,
    device_endpoint: Option<String>,
    par_endpoint: Option<String>,
    require_par: bool,
    client_auth: String,
    redirect_uris: Option<String>,
    registration_endpoint: Option<String>,
    client_secret_expires_at: Option<i64>,
    registered_scopes: Option<String>,
    prompt_values: Option<String>,
    dpop_algs: Option<String>,
}

const COLUMNS: &str =
    "id, name, issuer, client_id, scopes, authorization_endpoint, token_endpoint, \
     userinfo_endpoint, revocation_endpoint, jwks_uri, iss_parameter_supported, device_endpoint, \
     par_endpoint, require_par, client_auth, redirect_uris, registration_endpoint, \
     client_secret_expires_at, registered_scopes, prompt_values, dpop_algs";

/// A JSON array column (NULL or unreadable: empty).
fn list_column(v: Option<String>) -> Vec<String> {
    v.and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default()
}

fn list_value(v: &[String]) -> Option<String> {
    (!v.is_empty()).then(|| serde_json::to_string(v).expect("a list serializes"))
}

impl From<Row> for Provider {
    fn from(r: Row) -> Self {
        Provider {
            id: r.id,
            name: r.name,
            issuer: r.issuer,
            client_id: r.client_id,
            scopes: serde_json::from_str(&r.scopes).unwrap_or_default(),
            authorization_endpoint: r.authorization_endpoint,
            token_endpoint: r.token_endpoint,
            userinfo_endpoint: r.userinfo_endpoint,
            revocation_endpoint: r.revocation_endpoint,
            jwks_uri: r.jwks_uri,
            iss_parameter_supported: r.iss_parameter_supported,
            device_endpoint: r.device_endpoint,
            par_endpoint: r.par_endpoint,
            require_par: r.require_par,
            // The CHECK constraint allows no other value; a newer version's reads as public.
            client_auth: crate::model::client_auth_from_name(&r.client_auth)
                .unwrap_or(crate::catalog::ClientAuth::None),
            redirect_uris: list_column(r.redirect_uris),
            registration_endpoint: r.registration_endpoint,
            client_secret_expires_at: r.client_secret_expires_at,
            registered_scopes: list_column(r.registered_scopes),
            prompt_values: list_column(r.prompt_values),
            dpop_algs: list_column(r.dpop_algs),
        }
    }
}

/// Saves a new provider, making its id unique among the stored ones and the built-in `catalog`
/// (`name`, `name-2`, …). Returns the stored provider.
pub async fn insert(db: &Db, catalog: &[Profile], mut p: Provider) -> Result<Provider> {
    let base = p.id.clone();
    for n in 1.. {
        if n > 1 {
            p.id = format!("{base}-{n}");
        }
        let taken: Option<i64> = sqlx::query_scalar("SELECT 1 FROM providers WHERE id = ?")
            .bind(&p.id)
            .fetch_optional(db)
            .await?;
        if taken.is_none() && !catalog.iter().any(|c| c.id == p.id) {
            break;
        }
    }
    sqlx::query(&format!(
        "INSERT INTO providers ({COLUMNS}, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&p.id)
    .bind(&p.name)
    .bind(&p.issuer)
    .bind(&p.client_id)
    .bind(serde_json::to_string(&p.scopes).expect("scopes serialize"))
    .bind(&p.authorization_endpoint)
    .bind(&p.token_endpoint)
    .bind(&p.userinfo_endpoint)
    .bind(&p.revocation_endpoint)
    .bind(&p.jwks_uri)
    .bind(p.iss_parameter_supported)
    .bind(&p.device_endpoint)
    .bind(&p.par_endpoint)
    .bind(p.require_par)
    .bind(crate::model::client_auth_name(p.client_auth))
    .bind(list_value(&p.redirect_uris))
    .bind(&p.registration_endpoint)
    .bind(p.client_secret_expires_at)
    .bind(list_value(&p.registered_scopes))
    .bind(list_value(&p.prompt_values))
    .bind(list_value(&p.dpop_algs))
    .bind(now_ms())
    .execute(db)
    .await?;
    Ok(p)
}

/// Replaces the client a provider added by URL uses (a new registration, or none: an empty
/// client ID, registered again at the next sign-in).
pub async fn set_client(db: &Db, p: &Provider) -> Result<()> {
    sqlx::query(
        "UPDATE providers SET client_id = ?, client_auth = ?, client_secret_expires_at = ?, \
         registered_scopes = ? WHERE id = ? AND profile IS NULL",
    )
    .bind(&p.client_id)
    .bind(crate::model::client_auth_name(p.client_auth))
    .bind(p.client_secret_expires_at)
    .bind(list_value(&p.registered_scopes))
    .bind(&p.id)
    .execute(db)
    .await?;
    Ok(())
}

/// Deletes a provider's row (its accounts must be gone); false when there was none.
pub async fn delete(db: &Db, id: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM providers WHERE id = ?")
        .bind(id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Providers added by issuer URL (built-in ones are listed from the catalog).
pub async fn list(db: &Db) -> Result<Vec<Provider>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM providers WHERE profile IS NULL ORDER BY name, id"
    ))
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(Provider::from).collect())
}

pub async fn get(db: &Db, id: &str) -> Result<Provider> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM providers WHERE id = ? AND profile IS NULL"
    ))
    .bind(id)
    .fetch_optional(db)
    .await?;
    row.map(Provider::from).ok_or_else(|| {
        Error::new(ErrorKind::NotFound, format!("there is no provider {id:?}"))
            .remedy(Remedy::ListProviders)
    })
}

/// The person's own limits on a provider's sign-ins (none: the profile's).
pub async fn limits(db: &Db, id: &str) -> Result<Limits> {
    let row: Option<(Option<i64>, Option<i64>)> =
        sqlx::query_as("SELECT sign_in_max_secs, refresh_idle_secs FROM providers WHERE id = ?")
            .bind(id)
            .fetch_optional(db)
            .await?;
    let secs = |v: Option<i64>| v.and_then(|s| u64::try_from(s).ok()).filter(|s| *s > 0);
    Ok(row.map_or_else(Limits::default, |(max, idle)| Limits {
        max: secs(max).map(Duration::from_secs),
        idle: secs(idle).map(Duration::from_secs),
    }))
}

/// Stores the person's limits; false when the provider has no row yet (never set up).
pub async fn set_limits(db: &Db, id: &str, limits: Limits) -> Result<bool> {
    let secs = |d: Option<Duration>| d.map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let done = sqlx::query(
        "UPDATE providers SET sign_in_max_secs = ?, refresh_idle_secs = ? WHERE id = ?",
    )
    .bind(secs(limits.max))
    .bind(secs(limits.idle))
    .bind(id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A built-in provider's stored settings (none stored: defaults).
pub async fn settings(db: &Db, id: &str) -> Result<Settings> {
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT client_id, params FROM providers WHERE id = ? AND profile IS NOT NULL",
    )
    .bind(id)
    .fetch_optional(db)
    .await?;
    Ok(match row {
        Some((client_id, params)) => Settings {
            client_id: Some(client_id).filter(|c| !c.is_empty()),
            params: serde_json::from_str(&params).unwrap_or_default(),
        },
        None => Settings::default(),
    })
}

/// Every built-in provider's stored settings, in one query (the window lists them all at start).
pub async fn all_settings(db: &Db) -> Result<HashMap<String, Settings>> {
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT id, client_id, params FROM providers WHERE profile IS NOT NULL")
            .fetch_all(db)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(id, client_id, params)| {
            let settings = Settings {
                client_id: Some(client_id).filter(|c| !c.is_empty()),
                params: serde_json::from_str(&params).unwrap_or_default(),
            };
            (id, settings)
        })
        .collect())
}

/// Saves a built-in provider's settings. The endpoint columns hold the resolved URLs for reference;
/// the catalog stays the source of truth.
pub async fn save_settings(db: &Db, spec: &Spec, params: &BTreeMap<String, String>) -> Result<()> {
    sqlx::query(
        "INSERT INTO providers (id, name, issuer, client_id, scopes, authorization_endpoint, token_endpoint, \
         jwks_uri, profile, params, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?) \
         ON CONFLICT(id) DO UPDATE SET client_id = excluded.client_id, params = excluded.params, \
         authorization_endpoint = excluded.authorization_endpoint, token_endpoint = excluded.token_endpoint",
    )
    .bind(&spec.id)
    .bind(&spec.name)
    .bind(spec.issuer.clone().unwrap_or_default())
    .bind(&spec.client_id)
    .bind(serde_json::to_string(&spec.scopes.default).expect("scopes serialize"))
    .bind(&spec.authorization_endpoint)
    .bind(&spec.token_endpoint)
    .bind(&spec.id)
    .bind(serde_json::to_string(params).expect("params serialize"))
    .bind(now_ms())
    .execute(db)
    .await?;
    Ok(())
}
