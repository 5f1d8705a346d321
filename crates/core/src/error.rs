//! Errors that say what happened and what to do next, in the user's words; the cause is kept for logs.

use serde::Serialize;
use ts_rs::TS;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of failure this is; the command line maps it to an exit code, the UI to a style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Bad input from the user (unknown id, malformed URL, …).
    InvalidInput,
    NotFound,
    /// The provider cannot be reached (connection refused, timeout, DNS).
    Network,
    /// The provider answered with something we must refuse (bad ID token, wrong issuer, error reply).
    Provider,
    /// The grant is gone (revoked elsewhere, expired): the account needs to be connected again.
    NeedsReconnect,
    /// The OS keychain is missing, locked or failing.
    Keychain,
    /// The local database or files.
    Storage,
    /// The sign-in was denied at the provider or timed out.
    FlowEnded,
    /// The user cancelled the operation.
    Cancelled,
    /// A callback that does not belong to a pending flow (wrong/missing/replayed state, wrong iss).
    Forged,
    /// The account's access policy refused a program its token (exit 4 on the command line).
    PolicyRefused,
    /// The account's tokens are bound to this device (DPoP): the app uses them for the person
    /// (`request`), but never hands them out (exit 5 on the command line).
    TokenBound,
    Internal,
}

/// What a person can do about an error, as data: each face words it its own way (the command
/// line as a command to type, the window as a sentence or a button). The core never writes a
/// command line into a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Remedy {
    /// Set up a built-in provider with the client ID (and, with `client_secret`, the secret) of
    /// the app the person registered there.
    ConfigureProvider {
        provider: String,
        client_secret: bool,
    },
    /// The provider refuses the client ID or secret that is set up for it: check them there.
    CheckClient { provider_name: String },
    /// See the providers and their ids, or add one by its issuer URL.
    ListProviders,
    /// See the accounts and their ids.
    ListAccounts,
    /// Disconnect the provider's accounts first, or remove it with them.
    DisconnectAccountsFirst { provider: String },
    /// A plain OAuth server: enter its user ("who am I") endpoint by hand when adding it.
    EnterUserEndpoint,
    /// This provider has no sign-in with a code: sign in through the browser.
    UseBrowserSignIn,
    /// Connect the account again (its sign-in is gone or must change).
    Reconnect { account: String, provider: String },
    /// Unlock the system keychain, then retry.
    UnlockKeychain,
    /// No Secret Service: install and unlock one (tokens are never kept in a plain file).
    InstallSecretService,
    /// Choose the account git uses at this host.
    SetupGit { host: String },
    /// Call the API through the app, which holds the key the account's tokens are bound to.
    UseRequest { account: String },
    /// The URL is not on the account's API origins: allow this one by name, if it is meant.
    AllowOrigin { origin: String },
}

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub kind: ErrorKind,
    /// What happened, for a person.
    pub message: String,
    /// What to do next, for a person, in words any face can show.
    pub hint: Option<String>,
    /// What to do next, as an action the face words (see [`Remedy`]).
    pub remedy: Option<Remedy>,
    /// The underlying cause, for logs only (it never carries a secret: see `secret`).
    #[source]
    pub cause: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            hint: None,
            remedy: None,
            cause: None,
        }
    }

    pub fn remedy(mut self, remedy: Remedy) -> Self {
        self.remedy = Some(remedy);
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn cause(mut self, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.cause = Some(Box::new(cause));
        self
    }

    pub fn invalid_input(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message).hint(hint)
    }

    pub fn not_found(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message).hint(hint)
    }

    pub fn storage(
        message: impl Into<String>,
        hint: impl Into<String>,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::new(ErrorKind::Storage, message)
            .hint(hint)
            .cause(cause)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
            .hint("this is a bug in Connected Accounts; the log file has the details")
    }

    /// The message, the hint and the chain of causes on one line, for logs and the command line.
    pub fn detailed(&self) -> String {
        let mut out = self.message.clone();
        let mut source = self.cause.as_deref().map(|c| c as &dyn std::error::Error);
        while let Some(cause) = source {
            out.push_str(": ");
            out.push_str(&cause.to_string());
            source = cause.source();
        }
        out
    }
}

/// SQLite's primary result code (the low byte of the extended code sqlx reports), if any.
pub(crate) fn sqlite_code(e: &sqlx::Error) -> Option<i32> {
    match e {
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            .map(|c| c & 0xff),
        _ => None,
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        let (message, hint) = match sqlite_code(&e) {
            Some(5 | 6) => (
                "the account database is busy",
                "another program holds the database; close other copies of Connected Accounts and try again",
            ),
            Some(8) => (
                "the account database is read-only",
                "make the data folder (or the disk it is on) writable, then try again; nothing was changed",
            ),
            Some(13) => (
                "the disk holding the account database is full",
                "free some disk space, then try again; nothing was changed",
            ),
            _ => (
                "the account database failed",
                "check that the disk is writable and not full; the log file has the details",
            ),
        };
        Error::storage(message, hint, e)
    }
}

/// The shape an error takes when it reaches the window: message and hint, never the cause's internals.
#[derive(Debug, Clone, Serialize, TS)]
pub struct UiError {
    pub code: String,
    pub message: String,
    pub hint: Option<String>,
    pub remedy: Option<Remedy>,
}

impl From<&Error> for UiError {
    fn from(e: &Error) -> Self {
        let code = serde_json::to_value(e.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| "internal".into());
        Self {
            code,
            message: e.message.clone(),
            hint: e.hint.clone(),
            remedy: e.remedy.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ui_error_has_code_message_hint_and_no_cause() {
        let e = Error::invalid_input("bad id", "give the full id")
            .remedy(Remedy::ListAccounts)
            .cause(std::io::Error::other("internal detail"));
        let ui = UiError::from(&e);
        assert_eq!(ui.code, "invalid_input");
        assert_eq!(ui.message, "bad id");
        assert_eq!(ui.hint.as_deref(), Some("give the full id"));
        assert_eq!(ui.remedy, Some(Remedy::ListAccounts));
        let json = serde_json::to_string(&ui).unwrap();
        assert!(!json.contains("internal detail"));
        assert_eq!(e.detailed(), "bad id: internal detail");
    }
}
