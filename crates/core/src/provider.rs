//! Providers: a generic OpenID provider defined by an issuer URL and a client ID, its endpoints
//! found by discovery and kept in SQLite with the scopes to request by default.

use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClientAuthMethod, CoreGrantType,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{AdditionalProviderMetadata, IssuerUrl, ProviderMetadata};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use url::Url;

use crate::db::{now_ms, Db};
use crate::error::{Error, ErrorKind, Result};

/// A provider as the app keeps it (metadata only; no secret).
#[derive(Debug, Clone)]
pub struct Provider {
    pub id: String,
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: Option<String>,
    pub revocation_endpoint: Option<String>,
    pub jwks_uri: String,
    /// RFC 9207: the server puts `iss` in its authorization responses, so we require it.
    pub iss_parameter_supported: bool,
}

/// What the window and `providers --json` show of a provider.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ProviderView {
    pub id: String,
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub has_revocation: bool,
    pub has_userinfo: bool,
}

impl From<&Provider> for ProviderView {
    fn from(p: &Provider) -> Self {
        Self {
            id: p.id.clone(),
            name: p.name.clone(),
            issuer: p.issuer.clone(),
            client_id: p.client_id.clone(),
            scopes: p.scopes.clone(),
            has_revocation: p.revocation_endpoint.is_some(),
            has_userinfo: p.userinfo_endpoint.is_some(),
        }
    }
}

/// A provider to add: the "Add provider" form and `providers add`.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct NewProvider {
    pub issuer: String,
    pub client_id: String,
    pub name: Option<String>,
    /// Empty: the OpenID scopes the server supports among openid, profile, email, offline_access.
    pub scopes: Vec<String>,
}

/// The discovery fields openidconnect's core metadata does not model.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExtraMetadata {
    pub revocation_endpoint: Option<String>,
    pub authorization_response_iss_parameter_supported: Option<bool>,
}
impl AdditionalProviderMetadata for ExtraMetadata {}

type DiscoveredMetadata = ProviderMetadata<
    ExtraMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

const DEFAULT_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// Checks that `raw` is an absolute https URL, or http on a loopback address.
pub fn check_endpoint_url(what: &str, raw: &str) -> Result<Url> {
    let url = Url::parse(raw).map_err(|e| {
        Error::invalid_input(
            format!("the {what} {raw:?} is not a valid URL ({e})"),
            "give a full URL such as https://accounts.example.com",
        )
    })?;
    let loopback = matches!(
        url.host(),
        Some(url::Host::Ipv4(ip)) if ip.is_loopback()
    ) || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
        || url.host_str() == Some("localhost");
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(Error::invalid_input(
            format!("the {what} {raw} does not use https"),
            "OAuth endpoints must use https (plain http is allowed only on 127.0.0.1, [::1] or localhost)",
        )),
    }
}

/// Reads the issuer's OpenID discovery document and checks it describes that same issuer.
pub async fn discover(http: &reqwest::Client, new: &NewProvider) -> Result<Provider> {
    // Exactly as given: issuers are compared as strings (some, like Auth0's, end with '/').
    let issuer = new.issuer.trim().to_string();
    check_endpoint_url("issuer URL", &issuer)?;
    if new.client_id.trim().is_empty() {
        return Err(Error::invalid_input(
            "the client ID is empty",
            "register this app with the provider and paste the client ID it gives you",
        ));
    }
    let issuer_url = IssuerUrl::new(issuer.clone()).map_err(|e| {
        Error::invalid_input(
            format!("the issuer URL is not valid ({e})"),
            "check the URL",
        )
    })?;
    let metadata = DiscoveredMetadata::discover_async(issuer_url, http)
        .await
        .map_err(|e| {
            let network = matches!(&e, openidconnect::DiscoveryError::Request(_));
            let err = if network {
                Error::new(ErrorKind::Network, format!("cannot reach {issuer}"))
                    .hint("check the issuer URL and your network connection, then try again")
            } else {
                Error::new(
                    ErrorKind::Provider,
                    format!("{issuer} did not give a valid OpenID discovery document"),
                )
                .hint("check that this is the issuer URL of an OpenID provider (it serves /.well-known/openid-configuration)")
            };
            err.cause(e)
        })?;
    let authorization_endpoint = metadata.authorization_endpoint().url().to_string();
    let token_endpoint = metadata
        .token_endpoint()
        .map(|u| u.url().to_string())
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Provider,
                format!("{issuer} has no token endpoint"),
            )
            .hint("this provider cannot be used by a desktop app")
        })?;
    let userinfo_endpoint = metadata.userinfo_endpoint().map(|u| u.url().to_string());
    let jwks_uri = metadata.jwks_uri().url().to_string();
    let extra = metadata.additional_metadata();
    let revocation_endpoint = extra.revocation_endpoint.clone();
    for (what, url) in [
        ("authorization endpoint", Some(&authorization_endpoint)),
        ("token endpoint", Some(&token_endpoint)),
        ("userinfo endpoint", userinfo_endpoint.as_ref()),
        ("revocation endpoint", revocation_endpoint.as_ref()),
        ("JWKS URL", Some(&jwks_uri)),
    ] {
        if let Some(url) = url {
            check_endpoint_url(what, url)?;
        }
    }
    let scopes = if new.scopes.is_empty() {
        let supported: Vec<String> = metadata
            .scopes_supported()
            .map(|s| s.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default();
        DEFAULT_SCOPES
            .iter()
            .filter(|s| {
                supported.is_empty() && **s != "offline_access" || supported.iter().any(|x| x == *s)
            })
            .map(|s| s.to_string())
            .collect()
    } else {
        normalize_scopes(&new.scopes)
    };
    let host = Url::parse(&issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| issuer.clone());
    let name = new
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .unwrap_or(host);
    Ok(Provider {
        id: slugify(&name),
        name,
        issuer,
        client_id: new.client_id.trim().to_string(),
        scopes,
        authorization_endpoint,
        token_endpoint,
        userinfo_endpoint,
        revocation_endpoint,
        jwks_uri,
        iss_parameter_supported: extra
            .authorization_response_iss_parameter_supported
            .unwrap_or(false),
    })
}

/// Splits entries on white space, drops duplicates, keeps order.
pub fn normalize_scopes(scopes: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in scopes.iter().flat_map(|s| s.split_whitespace()) {
        if !out.iter().any(|x| x == s) {
            out.push(s.to_string());
        }
    }
    out
}

/// A provider id from its name: lower-case letters, digits and single dashes.
pub fn slugify(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "provider".into()
    } else {
        out
    }
}

type ProviderRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    bool,
);

const COLUMNS: &str =
    "id, name, issuer, client_id, scopes, authorization_endpoint, token_endpoint, \
     userinfo_endpoint, revocation_endpoint, jwks_uri, iss_parameter_supported";

fn from_row(r: ProviderRow) -> Provider {
    Provider {
        id: r.0,
        name: r.1,
        issuer: r.2,
        client_id: r.3,
        scopes: serde_json::from_str(&r.4).unwrap_or_default(),
        authorization_endpoint: r.5,
        token_endpoint: r.6,
        userinfo_endpoint: r.7,
        revocation_endpoint: r.8,
        jwks_uri: r.9,
        iss_parameter_supported: r.10,
    }
}

/// Saves a new provider, making its id unique (`name`, `name-2`, …). Returns the stored provider.
pub async fn insert(db: &Db, mut p: Provider) -> Result<Provider> {
    let base = p.id.clone();
    for n in 1.. {
        if n > 1 {
            p.id = format!("{base}-{n}");
        }
        let taken: Option<i64> = sqlx::query_scalar("SELECT 1 FROM providers WHERE id = ?")
            .bind(&p.id)
            .fetch_optional(db)
            .await?;
        if taken.is_none() {
            break;
        }
    }
    sqlx::query(&format!(
        "INSERT INTO providers ({COLUMNS}, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
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
    .bind(now_ms())
    .execute(db)
    .await?;
    Ok(p)
}

pub async fn list(db: &Db) -> Result<Vec<Provider>> {
    let rows: Vec<ProviderRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM providers ORDER BY name, id"
    ))
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(from_row).collect())
}

pub async fn get(db: &Db, id: &str) -> Result<Provider> {
    let row: Option<ProviderRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM providers WHERE id = ?"))
            .bind(id)
            .fetch_optional(db)
            .await?;
    row.map(from_row).ok_or_else(|| {
        Error::not_found(
            format!("there is no provider {id:?}"),
            "run `connected-accounts providers` to see the providers, or add one with `providers add --issuer URL --client-id ID`",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_tidy() {
        assert_eq!(slugify("Local demo"), "local-demo");
        assert_eq!(slugify("accounts.example.com"), "accounts-example-com");
        assert_eq!(slugify("  --Ünï--  "), "n");
        assert_eq!(slugify("!!!"), "provider");
    }

    #[test]
    fn scopes_are_split_and_deduplicated() {
        let s = normalize_scopes(&["openid profile".into(), "email".into(), "openid".into()]);
        assert_eq!(s, vec!["openid", "profile", "email"]);
    }

    #[test]
    fn endpoints_need_https_except_on_loopback() {
        assert!(check_endpoint_url("issuer", "https://id.example.com").is_ok());
        assert!(check_endpoint_url("issuer", "http://127.0.0.1:4780").is_ok());
        assert!(check_endpoint_url("issuer", "http://[::1]:4780").is_ok());
        let e = check_endpoint_url("issuer", "http://id.example.com").unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidInput);
        assert!(e.message.contains("https"));
        assert!(check_endpoint_url("issuer", "not a url").is_err());
        assert!(check_endpoint_url("issuer", "ftp://127.0.0.1/").is_err());
    }
}
