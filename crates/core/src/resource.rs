//! Connecting by a resource's URL: an API (an MCP server, say) names its authorization server in
//! RFC 9728 protected resource metadata, and its tokens are asked for that resource alone (RFC 8707
//! resource indicators).
//!
//! A hostile resource may name someone else's authorization server to collect a token it was never
//! meant to have, so: the metadata must be about the very URL asked (RFC 9728 §3.3), a resource on
//! another origin than its server is confirmed by the person, and a built-in provider's token goes
//! to a resource only when it is restricted to that resource's audience.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use url::Url;

use crate::error::{Error, ErrorKind, Result};
use crate::model::check_endpoint_url;

/// The largest metadata document read (real ones are well under a KB).
const MAX_METADATA: usize = 64 * 1024;

/// What RFC 9728 metadata says of a resource, checked.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ProtectedResource {
    /// The resource identifier: what tokens are asked for (`resource=`), and the test call.
    pub resource: String,
    /// The authorization server the app signs in at (the metadata's first).
    pub authorization_server: String,
    /// The scopes the resource says it understands.
    pub scopes: Vec<String>,
    pub name: Option<String>,
    /// The resource is on another origin than its authorization server: the person confirms
    /// that it may receive that server's tokens.
    pub cross_origin: bool,
}

#[derive(Deserialize)]
struct Metadata {
    resource: Option<String>,
    #[serde(default)]
    authorization_servers: Vec<String>,
    #[serde(default)]
    scopes_supported: Vec<String>,
    resource_name: Option<String>,
}

/// The resource identifier of a URL the person gives: the URL without its fragment.
pub fn resource_identifier(raw: &str) -> Result<Url> {
    let mut url = check_endpoint_url("resource URL", raw.trim())?;
    url.set_fragment(None);
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid_input(
            "the resource URL carries a user name or password",
            "give the API's address alone",
        ));
    }
    Ok(url)
}

/// RFC 9728 §3.1: the well-known metadata URL of a resource, the well-known segment inserted
/// between the host and the path.
pub fn well_known_url(resource: &Url) -> String {
    let path = resource.path().trim_end_matches('/');
    format!(
        "{}/.well-known/oauth-protected-resource{path}",
        resource.origin().ascii_serialization()
    )
}

/// The `resource_metadata` parameter of a `WWW-Authenticate: Bearer …` challenge (RFC 9728 §5.1).
pub fn metadata_from_challenge(header: &str) -> Option<String> {
    let rest = header.trim();
    let scheme_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    if !rest[..scheme_end].eq_ignore_ascii_case("bearer") {
        return None;
    }
    challenge_params(&rest[scheme_end..]).remove("resource_metadata")
}

/// The auth-params of one challenge (`name=token` or `name="quoted \" string"`, comma
/// separated; names lower-cased; the first of a repeated name wins). Reading stops at the first
/// malformed parameter.
pub fn challenge_params(params: &str) -> std::collections::HashMap<String, String> {
    let mut out = std::collections::HashMap::new();
    let mut params = params;
    loop {
        params = params.trim_start_matches(|c: char| c.is_whitespace() || c == ',');
        let Some(eq) = params.find('=') else {
            return out;
        };
        let name = params[..eq].trim().to_ascii_lowercase();
        let value_start = &params[eq + 1..];
        let (value, after) = if let Some(quoted) = value_start.strip_prefix('"') {
            let mut value = String::new();
            let mut escaped = false;
            let mut end = None;
            for (i, c) in quoted.char_indices() {
                match (escaped, c) {
                    (true, c) => {
                        value.push(c);
                        escaped = false;
                    }
                    (false, '\\') => escaped = true,
                    (false, '"') => {
                        end = Some(i);
                        break;
                    }
                    (false, c) => value.push(c),
                }
            }
            let Some(end) = end else {
                return out;
            };
            (value, &quoted[end + 1..])
        } else {
            let end = value_start.find(',').unwrap_or(value_start.len());
            (value_start[..end].trim().to_owned(), &value_start[end..])
        };
        out.entry(name).or_insert(value);
        params = after;
    }
}

/// Finds a resource's authorization server: asks the resource (a 401 may point at its metadata),
/// else reads the well-known metadata URL, and checks the metadata is about this resource.
pub async fn discover(http: &reqwest::Client, raw: &str) -> Result<ProtectedResource> {
    let resource = resource_identifier(raw)?;
    let shown = crate::text::for_terminal(resource.as_str()).into_owned();
    let unreachable = |e: reqwest::Error| {
        Error::new(ErrorKind::Network, format!("could not reach {shown}"))
            .hint("check the address and your connection")
            .cause(e)
    };
    let first = http
        .get(resource.as_str())
        .send()
        .await
        .map_err(unreachable)?;
    let pointed = (first.status().as_u16() == 401)
        .then(|| {
            first
                .headers()
                .get_all(reqwest::header::WWW_AUTHENTICATE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(metadata_from_challenge)
        })
        .flatten();
    drop(first);
    let metadata_url = match pointed {
        Some(url) => check_endpoint_url("resource metadata URL", &url)?.to_string(),
        None => well_known_url(&resource),
    };
    let mut reply = http
        .get(&metadata_url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(unreachable)?;
    let status = reply.status().as_u16();
    let (body, cut) = crate::http::read_capped(&mut reply, MAX_METADATA)
        .await
        .map_err(unreachable)?;
    if status != 200 || cut {
        return Err(Error::new(
            ErrorKind::Provider,
            format!("{shown} publishes no protected resource metadata (RFC 9728)"),
        )
        .hint("connect through its authorization server instead: add it with `providers add --issuer`"));
    }
    let metadata: Metadata = serde_json::from_slice(&body).map_err(|_| {
        Error::new(
            ErrorKind::Provider,
            format!("the resource metadata of {shown} is not valid JSON"),
        )
    })?;
    // RFC 9728 §3.3: metadata about another resource is discarded, wherever it came from.
    let named = metadata
        .resource
        .as_deref()
        .and_then(|r| Url::parse(r).ok());
    if named.as_ref() != Some(&resource) {
        return Err(Error::new(
            ErrorKind::Provider,
            format!(
                "the metadata {shown} points to is about another resource ({}), so it was discarded",
                crate::text::for_terminal(metadata.resource.as_deref().unwrap_or("none named"))
            ),
        )
        .hint("the resource is misconfigured or not what it claims to be; nothing was changed"));
    }
    let Some(server) = metadata.authorization_servers.first() else {
        return Err(Error::new(
            ErrorKind::Provider,
            format!("{shown} names no authorization server"),
        ));
    };
    let server_url = check_endpoint_url("authorization server", server)?;
    Ok(ProtectedResource {
        resource: resource.to_string(),
        authorization_server: server.clone(),
        scopes: metadata
            .scopes_supported
            .into_iter()
            .filter(|s| !s.is_empty() && !s.contains(char::is_whitespace))
            .collect(),
        name: metadata
            .resource_name
            .map(|n| crate::text::for_terminal(&n).into_owned()),
        cross_origin: server_url.origin() != resource.origin(),
    })
}

/// Whether an access token is restricted to `resource`: a JWT whose `aud` names it. The token is
/// only read here (its signature is the resource's business); an opaque token is not known to be
/// restricted.
pub fn audience_restricted(access_token: &str, resource: &str) -> bool {
    let Some(claims) = crate::idtoken::unverified_part(access_token, 1) else {
        return false;
    };
    match &claims["aud"] {
        serde_json::Value::String(a) => a == resource,
        serde_json::Value::Array(all) => {
            !all.is_empty() && all.iter().all(|a| a.as_str() == Some(resource))
        }
        _ => false,
    }
}

/// A resource found, and how the app will connect to it.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ResourcePlan {
    pub found: ProtectedResource,
    /// The provider already set up for its authorization server (none: it is added, the app
    /// registering itself there).
    pub provider: Option<String>,
    /// Some account is connected for this resource already: the person confirmed it then.
    pub confirmed_before: bool,
    /// The scopes a sign-in asks for: the provider's defaults and the resource's.
    pub scopes: Vec<String>,
}

impl crate::engine::Engine {
    /// Reads a resource's metadata and finds the provider for its authorization server.
    pub async fn plan_resource(&self, url: &str) -> Result<ResourcePlan> {
        let found = discover(self.http()?, url).await?;
        // The app's own registration there first, else a provider the person set up for it.
        let mut candidates: Vec<_> = self
            .providers()
            .await?
            .into_iter()
            .filter(|v| v.configured && v.issuer == found.authorization_server)
            .collect();
        candidates.sort_by_key(|v| !v.registered);
        let provider = candidates.first().map(|v| v.id.clone());
        let confirmed_before = crate::account::list(&self.db)
            .await?
            .iter()
            .any(|row| row.resource.as_deref() == Some(found.resource.as_str()));
        let defaults = match &provider {
            Some(id) => self.spec(id).await?.scopes.default,
            None => Vec::new(),
        };
        let scopes = crate::model::normalize_scopes(
            &defaults
                .into_iter()
                .chain(found.scopes.iter().cloned())
                .collect::<Vec<_>>(),
        );
        Ok(ResourcePlan {
            found,
            provider,
            confirmed_before,
            scopes,
        })
    }

    /// Starts a browser sign-in for the resource at `url` (the window's "Add by URL"): its
    /// server added where needed, tokens asked for that resource. `confirmed`: the person agreed
    /// that a resource on another site than its server receives that server's tokens.
    pub async fn connect_resource_begin(
        &self,
        url: &str,
        redirect: Option<crate::catalog::RedirectKind>,
        confirmed: bool,
    ) -> Result<crate::flow::ConnectStarted> {
        let plan = self.plan_resource(url).await?;
        if plan.found.cross_origin && !plan.confirmed_before && !confirmed {
            return Err(Error::invalid_input(
                format!(
                    "{} would receive tokens from {}, which you have not confirmed",
                    crate::text::for_terminal(&plan.found.resource),
                    crate::text::for_terminal(&plan.found.authorization_server)
                ),
                "confirm it to go on",
            ));
        }
        let (provider, scopes) = self.provider_for_resource(&plan).await?;
        let request = crate::flow::ConnectRequest::provider(provider)
            .scopes(Some(scopes))
            .redirect(redirect)
            .resource(Some(plan.found.resource.clone()))
            .open_browser(true);
        self.connect_begin(request).await
    }

    /// The provider to sign in at for a planned resource: the one set up, or its authorization
    /// server added now (registering the app there). Returns its id and the scopes to ask for.
    pub async fn provider_for_resource(
        &self,
        plan: &ResourcePlan,
    ) -> Result<(String, Vec<String>)> {
        if let Some(id) = &plan.provider {
            return Ok((id.clone(), plan.scopes.clone()));
        }
        let added = self
            .add_provider(crate::NewProvider {
                issuer: plan.found.authorization_server.clone(),
                client_id: String::new(),
                ..Default::default()
            })
            .await?;
        let scopes = crate::model::normalize_scopes(
            &added
                .scopes
                .iter()
                .chain(plan.found.scopes.iter())
                .cloned()
                .collect::<Vec<_>>(),
        );
        Ok((added.id, scopes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_well_known_segment_goes_between_host_and_path() {
        let r = Url::parse("https://api.example.com/mcp/").unwrap();
        assert_eq!(
            well_known_url(&r),
            "https://api.example.com/.well-known/oauth-protected-resource/mcp"
        );
        let r = Url::parse("https://api.example.com").unwrap();
        assert_eq!(
            well_known_url(&r),
            "https://api.example.com/.well-known/oauth-protected-resource"
        );
    }

    #[test]
    fn the_challenge_names_the_metadata() {
        for (header, want) in [
            (
                r#"Bearer resource_metadata="https://r.example/.well-known/oauth-protected-resource""#,
                Some("https://r.example/.well-known/oauth-protected-resource"),
            ),
            (
                r#"Bearer realm="x", error="invalid_token", resource_metadata="https://r.example/m""#,
                Some("https://r.example/m"),
            ),
            (
                r#"bearer error="a\"b", RESOURCE_METADATA=https://r.example/m"#,
                Some("https://r.example/m"),
            ),
            (
                r#"Basic realm="x", resource_metadata="https://r.example/m""#,
                None,
            ),
            (r#"Bearer realm="x""#, None),
            (r#"Bearer resource_metadata="unterminated"#, None),
            ("", None),
        ] {
            assert_eq!(metadata_from_challenge(header).as_deref(), want, "{header}");
        }
    }

    #[test]
    fn only_a_token_for_this_audience_counts_as_restricted() {
        use base64::Engine as _;
        let jwt = |claims: serde_json::Value| {
            let enc = |v: &serde_json::Value| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
            };
            format!(
                "{}.{}.sig",
                enc(&serde_json::json!({"alg": "RS256"})),
                enc(&claims)
            )
        };
        let r = "https://api.example.com/mcp";
        assert!(audience_restricted(&jwt(serde_json::json!({"aud": r})), r));
        assert!(audience_restricted(
            &jwt(serde_json::json!({"aud": [r]})),
            r
        ));
        assert!(!audience_restricted(
            &jwt(serde_json::json!({"aud": [r, "https://other.example"]})),
            r
        ));
        assert!(!audience_restricted(
            &jwt(serde_json::json!({"aud": "https://other.example"})),
            r
        ));
        assert!(!audience_restricted(&jwt(serde_json::json!({})), r));
        assert!(!audience_restricted("opaque-token", r));
    }

    #[test]
    fn a_resource_url_is_https_or_loopback_and_loses_its_fragment() {
        assert_eq!(
            resource_identifier("https://api.example.com/mcp#x")
                .unwrap()
                .as_str(),
            "https://api.example.com/mcp"
        );
        assert!(resource_identifier("http://api.example.com/mcp").is_err());
        assert!(resource_identifier("https://u:p@api.example.com/").is_err());
    }
}
