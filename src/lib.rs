//! mailmfa: multi-factor authentication for the mailboxes of a mail server.
//!
//! Layers, each depending only on those before it: [`domain`] (plain types and rules), [`geo`]
//! (IP address → country), [`delivery`] (SMTP relay and SMS gateway), [`service`] (the front
//! door, which owns the SQLite store, the login engine and the store key as private modules),
//! then the faces: the command line in [`cli`], the login service in [`serve`] and the console in
//! `ui` (feature `gui`).
//! `ARCHITECTURE.md` tells how a click or a login flows through them.

pub mod cli;
pub mod clock;
pub mod delivery;
pub mod domain;
pub mod entry;
pub mod geo;
pub mod qr;
pub mod serve;
pub mod service;
#[cfg(feature = "gui")]
pub mod ui;
