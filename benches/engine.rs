//! Engine throughput with 100,000 mailboxes, on a SQLite file and on PostgreSQL (a throw-away
//! local cluster that flushes every commit, as SQLite's `synchronous=FULL` does): TOTP
//! verification alone, verify and begin+verify in-process, the coverage report, and one `mailmfa
//! login begin` round trip through the binary. Figures in BENCHMARKS.md. Run with
//! `cargo bench --bench engine`.
#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "../tests/it/common/pg.rs"]
mod pg;

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use mailmfa::clock::{Clock, FixedClock};
use mailmfa::delivery::{CodeMessage, CodeSender, DeliveryError};
use mailmfa::domain::totp::{code_at_step, decode_secret, matching_step, step_of};
use mailmfa::domain::{BeginAnswer, Code, MailboxAddress, Provider, VerifyAnswer};
use mailmfa::geo::NoCountryLookup;
use mailmfa::service::{KeyFolder, Service, StoreLocation};

const T0: i64 = 1_800_000_000;

struct NoSend;

impl CodeSender for NoSend {
    fn send(&self, _: Provider, _: &str, _: &CodeMessage) -> Result<(), DeliveryError> {
        Ok(())
    }
}

/// 1,000 post offices × 100 mailboxes, all `always`, imported through the service.
fn seeded_store(location: &StoreLocation, keys: &KeyFolder) -> (Service, Arc<FixedClock>) {
    let clock = Arc::new(FixedClock::new(T0));
    let service = Service::open(location, keys)
        .unwrap()
        .with_actor(mailmfa::domain::Actor::Cli("bench".to_owned()))
        .with_clock(clock.clone())
        .with_countries(Arc::new(NoCountryLookup))
        .with_sender(Arc::new(NoSend));
    let mut csv = String::from("postoffice,mailbox,challenge,provider,sms_number,alt_email\n");
    for po in 0..1000 {
        for mb in 0..100 {
            writeln!(csv, "po{po:04}.example,user{mb:03},always,totp,,").unwrap();
        }
    }
    service.import_csv(csv.as_bytes()).unwrap();
    (service, clock)
}

fn enrol(service: &Service, address: &MailboxAddress, clock: &FixedClock) -> Vec<u8> {
    let ip = "203.0.113.9".parse().unwrap();
    let BeginAnswer::Enroll { otpauth_uri, .. } = service.begin_login(address, ip).unwrap() else { panic!("enrol") };
    let b32 = otpauth_uri.split("secret=").nth(1).unwrap().split('&').next().unwrap();
    let secret = decode_secret(b32).unwrap().to_vec();
    let code = code_at_step(&secret, step_of(clock.now()));
    assert_eq!(service.verify_login(address, ip, &code).unwrap().answer, VerifyAnswer::Accepted);
    secret
}

/// The code of the next time step the engine can accept. A step whose six digits equal the next
/// step's (about one in a million) is skipped: the engine rightly records the later of two equal
/// steps, so using it would make the following code a replay.
fn next_code(clock: &FixedClock, secret: &[u8]) -> String {
    loop {
        clock.advance(30);
        let step = step_of(clock.now());
        let code = code_at_step(secret, step);
        if code != code_at_step(secret, step + 1) {
            return code;
        }
    }
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let secret = decode_secret("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP").unwrap().to_vec();
    c.bench_function("totp check (±1 window, constant time)", |b| {
        let code: Code = code_at_step(&secret, step_of(T0)).parse().unwrap();
        b.iter(|| black_box(matching_step(&secret, black_box(&code), T0, None)))
    });

    let file = StoreLocation::new(dir.path().join("bench.sqlite3"), false);
    let server = StoreLocation::parse(pg::durable_cluster().new_database().as_ref(), false).unwrap();
    for (store, location) in [("file store", file), ("PostgreSQL", server)] {
        store_benches(c, store, &location, &keys);
    }
}

/// The benchmarks that go through a store, on the store at `location` (`store` names it).
fn store_benches(c: &mut Criterion, store: &str, location: &StoreLocation, keys: &Path) {
    let (service, clock) = seeded_store(location, &KeyFolder::new(keys));
    let address: MailboxAddress = "user042@po0500.example".parse().unwrap();
    let secret = enrol(&service, &address, &clock);
    let ip = "203.0.113.9".parse().unwrap();

    c.bench_function(&format!("verify accepted ({store}, 100k mailboxes)"), |b| {
        // Each accepted step can never be accepted again: move the clock one step per iteration.
        b.iter(|| {
            let code = next_code(&clock, &secret);
            assert_eq!(service.verify_login(&address, ip, &code).unwrap().answer, VerifyAnswer::Accepted);
        })
    });

    c.bench_function(&format!("begin + verify ({store}, 100k mailboxes)"), |b| {
        b.iter(|| {
            let code = next_code(&clock, &secret);
            assert!(matches!(service.begin_login(&address, ip).unwrap(), BeginAnswer::Challenge { .. }));
            assert_eq!(service.verify_login(&address, ip, &code).unwrap().answer, VerifyAnswer::Accepted);
        })
    });

    let mut report = c.benchmark_group("report");
    report.sample_size(10);
    report.bench_function(format!("coverage report ({store}, 100k mailboxes, 1,000 post offices)"), |b| {
        b.iter(|| {
            let coverage = service.coverage(None).unwrap();
            assert_eq!(coverage.total.mailboxes, 100_000);
            black_box(coverage)
        })
    });
    report.finish();

    let mut group = c.benchmark_group("cli");
    group.sample_size(20);
    group.bench_function(format!("mailmfa login begin --json ({store}, process round trip)"), |b| {
        b.iter(|| {
            let out = Command::new(env!("CARGO_BIN_EXE_mailmfa"))
                .arg("--store")
                .arg(location.to_string())
                .args(["login", "begin", "user042@po0500.example", "--ip", "203.0.113.9", "--json"])
                .env("MAILMFA_KEY_DIR", keys)
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        })
    });
    group.finish();
}

criterion_group!(engine_benches, benches);
criterion_main!(engine_benches);
