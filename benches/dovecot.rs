//! The cost of one IMAP login through Dovecot, with and without mailmfa's passdb chain
//! (`integrations/dovecot/`, DESIGN.md §11): the tests' private Dovecot (`tests/it/common/dovecot.rs`)
//! with its passwd-file alone, and with the chain asking a real `mailmfa serve` on a file store. A
//! login is a new TCP connection from 127.0.0.2, the greeting, `LOGIN` and `LOGOUT`: what a mail
//! program that reconnects pays. Measured one after another on an idle machine; prints p50, p99
//! and the mean per login. Figures in BENCHMARKS.md.
//!
//! `cargo bench --bench dovecot` runs the full measurement (2,000 logins a case); without `--bench`
//! (as `cargo test --benches` runs it) 20 a case check that the benchmark still works.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

#[path = "../tests/it/common/mod.rs"]
mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use common::TestEnv;
use common::dovecot::{Dovecot, MailUser, MailmfaSettings, OnError, Setup};
use common::mail_client::{MAIL_PROGRAM, Protocol, WEBMAIL, sign_in};
use common::serve::Server;

const ALICE: &str = "alice@example.test";
const PASSWORD: &str = "mailbox-password-1";

/// Signs in `count` times over IMAP from `from` with `password`; the time of each.
fn logins(dovecot: &Dovecot, from: std::net::IpAddr, password: &str, count: usize) -> Vec<Duration> {
    let mut times: Vec<Duration> = (0..count)
        .map(|_| {
            let started = Instant::now();
            sign_in(Protocol::Imap, dovecot.imap_port, from, ALICE, password).unwrap();
            started.elapsed()
        })
        .collect();
    times.sort();
    times
}

fn report(case: &str, times: &[Duration]) {
    let at = |p: f64| times[((times.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3;
    let mean = times.iter().sum::<Duration>().as_secs_f64() * 1e3 / times.len() as f64;
    println!("{case}: p50 {:.2} ms, p99 {:.2} ms, mean {mean:.2} ms over {} logins", at(0.5), at(0.99), times.len());
}

fn main() {
    let count = if std::env::args().any(|a| a == "--bench") { 2000 } else { 20 };
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let users = [MailUser::new(ALICE, PASSWORD)];
    let mut dovecot = Dovecot::start(dir.path(), &users, &Setup::default());
    logins(&dovecot, MAIL_PROGRAM, PASSWORD, 5);
    report("passwd-file alone, mailbox password", &logins(&dovecot, MAIL_PROGRAM, PASSWORD, count));

    let env = TestEnv::new();
    env.ok(&["postoffice", "add", "example.test"]);
    env.ok(&["mailbox", "add", ALICE]);
    env.ok(&["settings", "set", "mailprog.webmail_networks", "127.0.0.1/32,::1/128"]);
    let added = env.ok(&["app-password", "add", ALICE, "--name", "bench", "--protocols", "imap", "--json"]).json();
    let app = added["password"].as_str().unwrap().to_owned();
    let key = common::fixtures::api_key(&env, "dovecot", &[]);
    // One address makes all the calls: lift its limit. The client's own rate counts only failed
    // requests, and these sign-ins go well.
    env.ok(&["settings", "set", "serve.ip_rate", "1000000"]);
    let service = Server::start(&env, &[]);
    let settings = MailmfaSettings { url: service.base.clone(), key, on_error: OnError::Reject };
    dovecot.restart(&Setup { mail_programs: false, mailmfa: Some(settings) });
    logins(&dovecot, MAIL_PROGRAM, PASSWORD, 5);
    report(
        "chain, policy password, mailbox password (steps 1, 2, 3: one call, the policy's)",
        &logins(&dovecot, MAIL_PROGRAM, PASSWORD, count),
    );
    report("chain, app password (step 1: one call)", &logins(&dovecot, MAIL_PROGRAM, &app, count));
    env.ok(&["postoffice", "set", "example.test", "--mail-programs", "app-passwords"]);
    report(
        "chain, policy app-passwords, the webmail's mailbox password (one call)",
        &logins(&dovecot, WEBMAIL, PASSWORD, count),
    );
}
