//! What the login service turned away at its door — a body too large or not JSON, a rate passed,
//! no such route — counted per source and kind, so a flood leaves a readable trace in the audit
//! log and cannot fill it: the first of a kind from a source is recorded at once, and how many more
//! followed in the minute after it, once a minute.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::StatusCode;

use crate::service::HttpRefusals;

/// How long the refusals of one kind from one source are counted together.
pub const WINDOW: Duration = Duration::from_secs(60);

/// What was wrong with a request turned away at the door; the answer carries it as an extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Refused {
    /// The answer's status.
    pub status: StatusCode,
    /// What was wrong, in a few words.
    pub what: &'static str,
}

struct Window {
    opened: Instant,
    more: u64,
}

/// The refusals of the current minute, per source and kind.
#[derive(Default)]
pub struct Refusals {
    windows: Mutex<HashMap<(IpAddr, Refused), Window>>,
}

impl Refusals {
    /// Counts a refusal; the first of its kind from its source in a minute comes back, to be
    /// recorded at once.
    pub fn note(&self, source: IpAddr, refused: Refused) -> Option<HttpRefusals> {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match windows.get_mut(&(source, refused)) {
            Some(window) if now.duration_since(window.opened) < WINDOW => {
                window.more += 1;
                None
            }
            _ => {
                windows.insert((source, refused), Window { opened: now, more: 0 });
                Some(entry(source, refused, 1, false))
            }
        }
    }

    /// How many more followed each first one, for the windows that ended (all of them when
    /// `all`, at shutdown); the ended windows are forgotten.
    pub fn take(&self, all: bool) -> Vec<HttpRefusals> {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = Vec::new();
        windows.retain(|(source, refused), window| {
            let ended = all || now.duration_since(window.opened) >= WINDOW;
            if ended && window.more > 0 {
                out.push(entry(*source, *refused, window.more, true));
            }
            !ended
        });
        out
    }
}

fn entry(source: IpAddr, refused: Refused, count: u64, more: bool) -> HttpRefusals {
    HttpRefusals { source, status: refused.status.as_u16(), what: refused.what, count, more }
}
