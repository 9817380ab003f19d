//! The integration tests, linked into one test binary: a module per area, and the helpers they
//! share in `common` (the stores they start from in `common::fixtures`). One binary because
//! linking the crate (with egui and wgpu) is most of a test build; `cargo test --test it engine::`
//! runs one area, `cargo test --test it -- --list` names every test.
//!
//! Every test runs on a thread of its own beside the others, so none may change what the process
//! shares: no environment variables or current folder (a child process gets its own), and
//! process-wide counters only per file (`mailmfa::geo::times_opened`). The PostgreSQL cluster
//! is shared (`common::pg::cluster`); a test that stops its server makes a private one.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod common;

mod app_passwords;
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
mod mail_programs;
mod notify;
mod pg_restart;
mod roundcube;
mod serve;
mod signin;
mod store;
mod totp_vectors;
mod webadmin;
