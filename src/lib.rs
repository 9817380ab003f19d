//! mailmfa: multi-factor authentication for the mailboxes of a mail server.
//!
//! Layers, each depending only on those before it: [`domain`] (plain types), [`crypto`] (the store
//! key and sealing), [`store`] (SQLite), [`service`] (administrative actions with their audit
//! entries), the command line in [`cli`], and the console in `ui` (feature `gui`).

pub mod auth;
pub mod cli;
pub mod clock;
pub mod crypto;
pub mod delivery;
pub mod domain;
pub mod geo;
pub mod qr;
pub mod service;
pub mod store;
#[cfg(feature = "gui")]
pub mod ui;
