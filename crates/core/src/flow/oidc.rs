//! Building openidconnect clients from a stored provider, and turning OAuth errors into ours.

use openidconnect::core::{CoreClient, CoreErrorResponseType, CoreJsonWebKeySet};
use openidconnect::{
    AuthUrl, ClientId, EndpointNotSet, EndpointSet, ErrorResponseType, HttpClientError, IssuerUrl,
    RedirectUrl, RequestTokenError, StandardErrorResponse, TokenUrl,
};

use crate::error::{Error, ErrorKind, Result};
use crate::provider::Provider;

pub type CodeClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
    EndpointNotSet,
>;

fn bad_endpoint(what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Provider,
        format!("the provider's {what} is not a valid URL ({e})"),
    )
    .hint("remove the provider and add it again")
}

/// A client for authorize, code exchange and refresh. `jwks` may be empty when no ID token is
/// verified (refresh).
pub fn code_client(
    p: &Provider,
    jwks: CoreJsonWebKeySet,
    redirect: Option<&str>,
) -> Result<CodeClient> {
    let issuer = IssuerUrl::new(p.issuer.clone()).map_err(|e| bad_endpoint("issuer", e))?;
    let mut client = CoreClient::new(ClientId::new(p.client_id.clone()), issuer, jwks)
        .set_auth_uri(
            AuthUrl::new(p.authorization_endpoint.clone())
                .map_err(|e| bad_endpoint("authorization endpoint", e))?,
        )
        .set_token_uri(
            TokenUrl::new(p.token_endpoint.clone())
                .map_err(|e| bad_endpoint("token endpoint", e))?,
        );
    if let Some(r) = redirect {
        client = client.set_redirect_uri(
            RedirectUrl::new(r.to_string())
                .map_err(|e| Error::internal("redirect URI").cause(e))?,
        );
    }
    Ok(client)
}

pub type TokenError<T = CoreErrorResponseType> =
    RequestTokenError<HttpClientError<reqwest::Error>, StandardErrorResponse<T>>;

/// Whether the server said the grant is gone (`invalid_grant`).
pub fn is_invalid_grant(e: &TokenError) -> bool {
    matches!(e, RequestTokenError::ServerResponse(r) if *r.error() == CoreErrorResponseType::InvalidGrant)
}

/// A token-endpoint failure in the user's words. `doing` is e.g. "finish signing in".
pub fn token_error<T>(e: TokenError<T>, provider: &str, doing: &str) -> Error
where
    T: ErrorResponseType + std::fmt::Display + Send + Sync + 'static,
{
    let (kind, message, hint) = match &e {
        RequestTokenError::ServerResponse(r) => {
            let code = r.error().to_string();
            let why = r
                .error_description()
                .map(|d| format!("{code}: {d}"))
                .unwrap_or_else(|| code.clone());
            if code == "invalid_grant" {
                (
                    ErrorKind::NeedsReconnect,
                    format!("{provider} no longer accepts this account's sign-in ({why})"),
                    "connect the account again".to_string(),
                )
            } else {
                (
                    ErrorKind::Provider,
                    format!("{provider} refused to {doing} ({why})"),
                    "try again; if it keeps failing, check the provider's settings (client ID, scopes)".to_string(),
                )
            }
        }
        RequestTokenError::Request(_) => (
            ErrorKind::Network,
            format!("cannot reach {provider} to {doing}"),
            "check your network connection and try again".to_string(),
        ),
        RequestTokenError::Parse(_, _) | RequestTokenError::Other(_) => (
            ErrorKind::Provider,
            format!("{provider} sent a response we cannot read while trying to {doing}"),
            "try again later; the log file has the details".to_string(),
        ),
    };
    // Parse errors carry the response body, which may hold a token: keep only the variant name.
    let cause = match e {
        RequestTokenError::Parse(p, _) => {
            Error::new(kind, format!("unreadable JSON at {}", p.path()))
        }
        other => Error::new(kind, other.to_string()),
    };
    Error::new(kind, message).hint(hint).cause(cause)
}
