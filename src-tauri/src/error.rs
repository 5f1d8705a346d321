//! What a failed command sends to the window: the core's message and hint, never its internals.

use ca_core::UiError;
use serde::{Serialize, Serializer};

pub struct CommandError(ca_core::Error);

impl From<ca_core::Error> for CommandError {
    fn from(e: ca_core::Error) -> Self {
        tracing::warn!(kind = ?e.kind, "{}", e.detailed());
        Self(e)
    }
}

impl Serialize for CommandError {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        UiError::from(&self.0).serialize(s)
    }
}

pub type CommandResult<T> = Result<T, CommandError>;
