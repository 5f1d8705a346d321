//! The pending sign-ins, browser and device alike: one table under one lock. A sign-in enters
//! once ([`Registry::add`]), is taken by the one call that waits for it ([`Registry::take`]) and
//! leaves once ([`Registry::remove`], or [`Registry::expired`] when nobody waited for it). Its
//! cancel handle and its custom-scheme route live and die with its entry.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use subtle::ConstantTimeEq;
use tokio::sync::{mpsc, Notify};

use super::device::DevicePending;
use super::loopback::Callback;
use super::Pending;

/// A sign-in's state while it waits. Never leaves the core.
pub(crate) enum SignIn {
    Browser(Box<Pending>),
    Device(Box<DevicePending>),
}

impl SignIn {
    fn deadline(&self) -> Instant {
        match self {
            Self::Browser(p) => p.deadline,
            Self::Device(d) => d.deadline(),
        }
    }

    pub(crate) fn account_id(&self) -> &str {
        match self {
            Self::Browser(p) => &p.account_id,
            Self::Device(d) => d.account_id(),
        }
    }

    pub(crate) fn provider_id(&self) -> &str {
        match self {
            Self::Browser(p) => &p.provider.id,
            Self::Device(d) => d.provider_id(),
        }
    }
}

/// Where the desktop hands a custom-scheme callback: the sign-in whose `state` it carries.
pub(crate) struct SchemeRoute {
    pub state: String,
    pub sender: mpsc::Sender<Callback>,
}

/// Where an address pasted by the person goes (a sign-in finished in a browser elsewhere): the
/// sign-in's own redirect URI, which the address must match.
pub(crate) struct PasteRoute {
    pub redirect_uri: String,
    pub sender: mpsc::Sender<Callback>,
}

struct Entry {
    /// `None` once the call that waits for it has taken it.
    waiting: Option<SignIn>,
    deadline: Instant,
    cancel: Arc<Notify>,
    route: Option<SchemeRoute>,
    paste: Option<PasteRoute>,
}

#[derive(Default)]
pub(crate) struct Registry {
    entries: Mutex<HashMap<String, Entry>>,
}

impl Registry {
    fn entries(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().expect("sign-in registry poisoned")
    }

    /// Registers a sign-in; returns its flow id.
    pub(crate) fn add(
        &self,
        sign_in: SignIn,
        route: Option<SchemeRoute>,
        paste: Option<PasteRoute>,
    ) -> String {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let entry = Entry {
            deadline: sign_in.deadline(),
            waiting: Some(sign_in),
            cancel: Arc::new(Notify::new()),
            route,
            paste,
        };
        self.entries().insert(id.clone(), entry);
        id
    }

    /// The sign-in, for the one call that waits for it, with its cancel handle. Its route stays
    /// until [`Registry::remove`], so callbacks reach it while it is being finished.
    pub(crate) fn take(&self, id: &str) -> Option<(SignIn, Arc<Notify>)> {
        let mut entries = self.entries();
        let entry = entries.get_mut(id)?;
        Some((entry.waiting.take()?, entry.cancel.clone()))
    }

    /// Asks the call waiting for a sign-in to stop; false when there is no such sign-in.
    pub(crate) fn cancel(&self, id: &str) -> bool {
        match self.entries().get(id) {
            Some(entry) => {
                entry.cancel.notify_one();
                true
            }
            None => false,
        }
    }

    /// The way into the pending custom-scheme sign-in whose `state` this is (compared in
    /// constant time).
    pub(crate) fn route(&self, state: &[u8]) -> Option<mpsc::Sender<Callback>> {
        self.entries()
            .values()
            .filter_map(|e| e.route.as_ref())
            .find(|r| bool::from(r.state.as_bytes().ct_eq(state)))
            .map(|r| r.sender.clone())
    }

    /// The way into a sign-in that takes a pasted address: its redirect URI and its sender.
    pub(crate) fn paste_route(&self, id: &str) -> Option<(String, mpsc::Sender<Callback>)> {
        let entries = self.entries();
        let paste = entries.get(id)?.paste.as_ref()?;
        Some((paste.redirect_uri.clone(), paste.sender.clone()))
    }

    /// Forgets a sign-in that ended: its route and cancel handle go with it.
    pub(crate) fn remove(&self, id: &str) {
        self.entries().remove(id);
    }

    /// Removes and returns the sign-ins whose deadline passed with nobody waiting for them.
    pub(crate) fn expired(&self) -> Vec<SignIn> {
        let now = Instant::now();
        let mut entries = self.entries();
        let ids: Vec<String> = entries
            .iter()
            .filter(|(_, e)| e.waiting.is_some() && e.deadline <= now)
            .map(|(id, _)| id.clone())
            .collect();
        ids.iter()
            .filter_map(|id| entries.remove(id)?.waiting)
            .collect()
    }
}
