//! The integration tests, linked into one test binary: a module per area, and the helpers they
//! share in `common`. One binary because linking the crate (with egui and wgpu) is most of a test
//! build; `cargo test --test it engine::` runs one area, `cargo test --test it -- --list` names
//! them all.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod common;

mod cli;
mod cli_fuzz;
#[cfg(feature = "gui")]
mod console;
mod delivery_sms;
mod delivery_smtp;
mod domain;
mod engine;
#[cfg(unix)]
mod faults;
mod geo;
mod import;
#[cfg(unix)]
mod keys;
mod login_cli;
mod notify;
mod pg_restart;
mod roundcube;
mod serve;
mod signin;
mod store;
mod totp_vectors;
