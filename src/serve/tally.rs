//! What the login service counts rather than records one by one: requests turned away at its door
//! (a body too large or not JSON, a rate passed, no such route), and mail programs' failed sign-ins
//! (recorded, and counted per address for the throttle).
//! A flood leaves a readable trace in the audit log and cannot fill it: the first of a kind is
//! recorded at once, and how many more followed in the minute after it, once a minute.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::service::HttpRefusals;

use super::failure::Refused;

/// How long the events of one kind are counted together.
pub const WINDOW: Duration = Duration::from_secs(60);

struct Window {
    opened: Instant,
    more: u64,
}

/// The events of the current minute, per kind.
pub struct Tally<K> {
    windows: Mutex<HashMap<K, Window>>,
}

impl<K> Default for Tally<K> {
    fn default() -> Self {
        Self { windows: Mutex::new(HashMap::new()) }
    }
}

impl<K: Eq + Hash + Clone> Tally<K> {
    /// Counts an event; whether it is the first of its kind this minute, to be recorded at once.
    pub fn note(&self, kind: K) -> bool {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match windows.get_mut(&kind) {
            Some(window) if now.duration_since(window.opened) < WINDOW => {
                window.more += 1;
                false
            }
            _ => {
                windows.insert(kind, Window { opened: now, more: 0 });
                true
            }
        }
    }

    /// How many events of `kind` were counted this minute (the first and the more after it).
    pub fn count(&self, kind: &K) -> u64 {
        let windows = self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        windows.get(kind).filter(|window| window.opened.elapsed() < WINDOW).map_or(0, |window| window.more + 1)
    }

    /// How many more followed each first one, for the windows that ended (all of them when
    /// `all`, at shutdown); the ended windows are forgotten.
    pub fn take(&self, all: bool) -> Vec<(K, u64)> {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = Vec::new();
        windows.retain(|kind, window| {
            let ended = all || now.duration_since(window.opened) >= WINDOW;
            if ended && window.more > 0 {
                out.push((kind.clone(), window.more));
            }
            !ended
        });
        out
    }
}

/// Requests turned away at the door, per source and kind.
pub type Refusals = Tally<(IpAddr, Refused)>;

/// The audit log's record of refusals: the first alone, or `count` that followed it.
pub fn refusals_entry((source, refused): (IpAddr, Refused), count: u64, more: bool) -> HttpRefusals {
    HttpRefusals { source, status: refused.status.as_u16(), what: refused.what, count, more }
}
