//! The login service under load: 64 concurrent clients doing `begin` + `verify` with correct TOTP
//! codes over HTTP against the real `mailmfa serve`, on a file store of 100,000 mailboxes, the
//! load generator on the same machine; with group commit and without (`--max-batch 1`). Also one
//! login on an idle server. Prints throughput and p50/p99 latency; figures in BENCHMARKS.md.
//!
//! `cargo bench --bench serve` runs the full measurement; without `--bench` (as `cargo test
//! --benches` runs it) a small version checks that the benchmark still works.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use std::{fmt::Write as _, thread};

use mailmfa::clock::FixedClock;
use mailmfa::domain::totp::{code_at_step, decode_secret, step_of};
use mailmfa::domain::{BeginAnswer, MailboxAddress, VerifyAnswer};
use mailmfa::service::{KeyFolder, Service, StoreLocation};

const CLIENTS: usize = 64;

struct Scale {
    postoffices: usize,
    per_postoffice: usize,
    enrolled: usize,
    seconds: u64,
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A store of `postoffices × per_postoffice` mailboxes, all challenged, and `enrolled` of them
/// enrolled a minute ago (so the steps around now are free); their secrets.
fn seed(dir: &std::path::Path, scale: &Scale) -> Vec<Enrolled> {
    let location = StoreLocation::new(dir.join("bench.sqlite3"), false);
    let clock = Arc::new(FixedClock::new(now() - 60));
    let service = Service::open(&location, &KeyFolder::new(dir.join("keys"))).unwrap().with_clock(clock);
    let mut csv = String::from("postoffice,mailbox,challenge,provider,sms_number,alt_email\n");
    for po in 0..scale.postoffices {
        for mb in 0..scale.per_postoffice {
            writeln!(csv, "po{po:04}.example,user{mb:03},always,totp,,").unwrap();
        }
    }
    service.import_csv(csv.as_bytes()).unwrap();
    let ip = "203.0.113.9".parse().unwrap();
    (0..scale.enrolled)
        .map(|i| {
            let address: MailboxAddress =
                format!("user{:03}@po{:04}.example", i % scale.per_postoffice, i / scale.per_postoffice)
                    .parse()
                    .unwrap();
            let BeginAnswer::Enroll { otpauth_uri, .. } = service.begin_login(&address, ip).unwrap() else {
                panic!("enrol")
            };
            let b32 = otpauth_uri.split("secret=").nth(1).unwrap().split('&').next().unwrap();
            let secret = decode_secret(b32).unwrap().to_vec();
            let step = step_of(now() - 60);
            assert_eq!(service.verify_login(&address, ip, &code_at_step(&secret, step)).unwrap(), VerifyAnswer::Accepted);
            Enrolled { address, secret, step }
        })
        .collect()
}

/// An enrolled mailbox: its secret and the last step accepted.
#[derive(Clone)]
struct Enrolled {
    address: MailboxAddress,
    secret: Vec<u8>,
    step: i64,
}

fn start_server(dir: &std::path::Path, extra: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mailmfa"))
        .args(["--store", dir.join("bench.sqlite3").to_str().unwrap(), "serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .env("MAILMFA_KEY_DIR", dir.join("keys"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("serve printed nothing").unwrap();
        if let Some(url) = line.split("listening on ").nth(1) {
            break url.split_whitespace().next().unwrap().to_owned();
        }
    };
    thread::spawn(move || lines.for_each(drop));
    (child, base)
}

fn client_key(dir: &std::path::Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_mailmfa"))
        .args(["--store", dir.join("bench.sqlite3").to_str().unwrap(), "client", "add", "bench", "--json"])
        .env("MAILMFA_KEY_DIR", dir.join("keys"))
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    json["key"].as_str().unwrap().to_owned()
}

fn post(agent: &ureq::Agent, url: &str, key: &str, body: String) -> serde_json::Value {
    let response = agent
        .post(url)
        .header("Authorization", format!("Bearer {key}"))
        .content_type("application/json")
        .send(body)
        .unwrap();
    serde_json::from_str(&response.into_body().read_to_string().unwrap()).unwrap()
}

/// One login: begin, then verify with the mailbox's next free step. Returns the two latencies, or
/// `None` when the mailbox has no free step left in the window.
fn login(agent: &ureq::Agent, base: &str, key: &str, mailbox: &mut Enrolled) -> Option<(Duration, Duration)> {
    let Enrolled { address, secret, step: last } = mailbox;
    let current = step_of(now());
    // A step whose code equals the next step's is skipped: the engine records the later one.
    let step = (current - 1..=current + 1)
        .find(|s| *s > *last && code_at_step(secret, *s) != code_at_step(secret, *s + 1))?;
    let secret = secret.as_slice();
    let started = Instant::now();
    let begun = post(agent, &format!("{base}/v1/login/begin"), key, format!(r#"{{"address":"{address}","ip":"203.0.113.9"}}"#));
    let begin_took = started.elapsed();
    let transaction = begun["transaction_id"].as_str().unwrap();
    let started = Instant::now();
    let body = format!(r#"{{"transaction_id":"{transaction}","code":"{}"}}"#, code_at_step(secret, step));
    let verified = post(agent, &format!("{base}/v1/login/verify"), key, body);
    let verify_took = started.elapsed();
    assert_eq!(verified["result"], "accepted", "{address} step {step}");
    *last = step;
    Some((begin_took, verify_took))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn load(base: &str, key: &str, mailboxes: &[Enrolled], seconds: u64, label: &str) {
    let stop = Arc::new(AtomicBool::new(false));
    let share = mailboxes.len() / CLIENTS;
    let started = Instant::now();
    let results: Vec<Vec<(Duration, Duration)>> = thread::scope(|s| {
        let workers: Vec<_> = (0..CLIENTS)
            .map(|w| {
                let stop = Arc::clone(&stop);
                let mine = &mailboxes[w * share..(w + 1) * share];
                s.spawn(move || {
                    let agent = ureq::Agent::new_with_config(ureq::config::Config::builder().proxy(None).build());
                    let mut mine = mine.to_vec();
                    let mut done = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        let mut any = false;
                        for mailbox in &mut mine {
                            if stop.load(Ordering::Relaxed) {
                                break;
                            }
                            if let Some(times) = login(&agent, base, key, mailbox) {
                                done.push(times);
                                any = true;
                            }
                        }
                        if !any {
                            thread::sleep(Duration::from_millis(200));
                        }
                    }
                    done
                })
            })
            .collect();
        thread::sleep(Duration::from_secs(seconds));
        stop.store(true, Ordering::Relaxed);
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    let mut verifies: Vec<Duration> = results.iter().flatten().map(|t| t.1).collect();
    let mut begins: Vec<Duration> = results.iter().flatten().map(|t| t.0).collect();
    verifies.sort();
    begins.sort();
    let n = verifies.len();
    println!(
        "{label}: {n} logins in {elapsed:.1} s = {:.0} accepted verifications/s ({:.0} requests/s); \
         verify p50 {:.2} ms p99 {:.2} ms; begin p50 {:.2} ms p99 {:.2} ms",
        n as f64 / elapsed,
        2.0 * n as f64 / elapsed,
        percentile(&verifies, 0.5).as_secs_f64() * 1e3,
        percentile(&verifies, 0.99).as_secs_f64() * 1e3,
        percentile(&begins, 0.5).as_secs_f64() * 1e3,
        percentile(&begins, 0.99).as_secs_f64() * 1e3,
    );
}

fn idle_round_trip(base: &str, key: &str, mailboxes: &[Enrolled]) {
    let agent = ureq::Agent::new_with_config(ureq::config::Config::builder().proxy(None).build());
    let mut times = Vec::new();
    for mailbox in &mut mailboxes.to_vec() {
        if let Some((begin, verify)) = login(&agent, base, key, mailbox) {
            times.push(begin + verify);
        }
    }
    times.sort();
    println!(
        "idle server: one login (begin + verify) p50 {:.2} ms p99 {:.2} ms over {} logins",
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3,
        times.len()
    );
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let scale = if full {
        Scale { postoffices: 1000, per_postoffice: 100, enrolled: 64_000, seconds: 8 }
    } else {
        Scale { postoffices: 10, per_postoffice: 100, enrolled: 640, seconds: 1 }
    };
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mailboxes = seed(dir.path(), &scale);
    let key = client_key(dir.path());
    println!(
        "store: {} mailboxes, {} enrolled (seeded in {:.0} s)",
        scale.postoffices * scale.per_postoffice,
        mailboxes.len(),
        started.elapsed().as_secs_f64()
    );
    let (half_a, half_b) = mailboxes.split_at(mailboxes.len() / 2);
    for (label, extra, share) in [("group commit", &[][..], half_a), ("no group commit", &["--max-batch", "1"][..], half_b)] {
        let (mut server, base) = start_server(dir.path(), extra);
        if label == "group commit" {
            idle_round_trip(&base, &key, &share[..share.len().min(200)]);
        }
        let rest = if label == "group commit" { &share[share.len().min(200)..] } else { share };
        load(&base, &key, rest, scale.seconds, &format!("{CLIENTS} clients, {label}"));
        drop(server.kill());
        drop(server.wait());
    }
}
