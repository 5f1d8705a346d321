//! Connected Accounts core: providers, OAuth flows, the keychain, accounts, refresh, revoke, the
//! test call and the audit log. No GUI: the window app and the command line are thin faces over it.

pub mod account;
pub mod audit;
pub mod autostart;
pub mod bindings;
pub mod browser;
pub mod catalog;
pub mod consumer;
pub mod crash;
pub mod db;
pub mod discovery;
pub mod endpoints;
pub mod engine;
pub mod error;
pub mod events;
pub mod flow;
pub mod forget;
#[doc(hidden)]
pub mod fuzzing;
pub mod git;
pub mod health;
pub mod http;
pub mod locks;
pub mod logging;
pub mod model;
pub mod paths;
pub mod peer;
pub mod pinned;
pub mod prefs;
pub mod probe;
pub mod provider;
pub mod recover;
pub mod refresh;
pub mod revoke;
pub mod scheduler;
pub mod secret;
pub mod spec;
pub mod status;
pub mod text;
pub mod token;

pub use account::{Account, AccountStatus, ScopesSource};
pub use audit::AuditEvent;
pub use discovery::NewProvider;
pub use engine::Engine;
pub use error::{Error, ErrorKind, Remedy, Result, UiError};
pub use events::AccountUpdate;
pub use flow::device::DeviceStarted;
pub use flow::{ConnectRequest, ConnectStarted, ConnectTarget};
pub use forget::ForgetReport;
pub use prefs::{AppSettings, CloseAction};
pub use probe::ProbeResult;
pub use revoke::DisconnectOutcome;
pub use secret::SecretString;
pub use spec::ProviderView;
