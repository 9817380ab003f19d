//! The login service under load: 64 concurrent clients doing `begin` + `verify` with correct TOTP
//! codes over HTTP against the real `mailmfa serve`, on a file store of 100,000 mailboxes, the
//! load generator on the same machine; with group commit and without (`--max-batch 1`). Also, on an
//! idle server: one login, and the time to the first byte of the hosted enrol and code pages.
//! Prints throughput and p50/p99 latency; figures in BENCHMARKS.md.
//!
//! `cargo bench --bench serve` runs the full measurement; without `--bench` (as `cargo test
//! --benches` runs it) a small version checks that the benchmark still works.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use std::{fmt::Write as _, thread};

use mailmfa::clock::FixedClock;
use mailmfa::domain::totp::{code_at_step, decode_secret, step_of};
use mailmfa::domain::{BeginAnswer, MailboxAddress, VerifyAnswer};
use mailmfa::service::{KeyFolder, Service, StoreLocation};
use support::{mailmfa, start_server};

const CLIENTS: usize = 64;

/// Where the hosted pages send the browser back to.
const RETURN: &str = "https://mail.example.test/";

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
    let enrolled_at = now() - 60;
    let clock = Arc::new(FixedClock::new(enrolled_at));
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
            let step = step_of(enrolled_at);
            assert_eq!(
                service.verify_login(&address, ip, &code_at_step(&secret, step)).unwrap().answer,
                VerifyAnswer::Accepted
            );
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

fn client_key(dir: &std::path::Path) -> String {
    let out = mailmfa(dir, &["client", "add", "bench", "--return-url", RETURN, "--json"]);
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
    // The current step or the next: the server takes either, also when the step ends between
    // begin and verify. A step whose code equals the next step's is skipped: the engine records
    // the later one.
    let step =
        (current..=current + 1).find(|s| *s > *last && code_at_step(secret, *s) != code_at_step(secret, *s + 1))?;
    let secret = secret.as_slice();
    let started = Instant::now();
    let begun =
        post(agent, &format!("{base}/v1/login/begin"), key, format!(r#"{{"address":"{address}","ip":"203.0.113.9"}}"#));
    let begin_took = started.elapsed();
    let transaction = begun["transaction_id"].as_str().unwrap();
    let started = Instant::now();
    let body = format!(r#"{{"transaction_id":"{transaction}","code":"{}"}}"#, code_at_step(secret, step));
    let verified = post(agent, &format!("{base}/v1/login/verify"), key, body);
    let verify_took = started.elapsed();
    assert_eq!(verified["result"], "accepted", "{address} step {step} (now {current}, last {last}): {verified}");
    *last = step;
    Some((begin_took, verify_took))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// The processor time a process has used so far (user + system), from `/proc`.
fn cpu_time(pid: &str) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // Linux reports in USER_HZ, which is 100 on every architecture Rust targets.
    Duration::from_millis(ticks * 10)
}

fn load(server: u32, base: &str, key: &str, mailboxes: &[Enrolled], seconds: u64, label: &str) {
    let server = server.to_string();
    let cpu_before = (cpu_time(&server), cpu_time("self"));
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
    let server_cpu = (cpu_time(&server) - cpu_before.0).as_secs_f64();
    let load_cpu = (cpu_time("self") - cpu_before.1).as_secs_f64();
    let mut verifies: Vec<Duration> = results.iter().flatten().map(|t| t.1).collect();
    let mut begins: Vec<Duration> = results.iter().flatten().map(|t| t.0).collect();
    verifies.sort();
    begins.sort();
    let n = verifies.len();
    println!(
        "{label}: {n} logins in {elapsed:.1} s = {:.0} accepted verifications/s ({:.0} requests/s); \
         verify p50 {:.2} ms p99 {:.2} ms; begin p50 {:.2} ms p99 {:.2} ms; \
         processor: server {:.2} cores, load generator {:.2} cores",
        n as f64 / elapsed,
        2.0 * n as f64 / elapsed,
        percentile(&verifies, 0.5).as_secs_f64() * 1e3,
        percentile(&verifies, 0.99).as_secs_f64() * 1e3,
        percentile(&begins, 0.5).as_secs_f64() * 1e3,
        percentile(&begins, 0.99).as_secs_f64() * 1e3,
        server_cpu / elapsed,
        load_cpu / elapsed,
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

/// The hosted pages on an idle server: the time from sending the request to the first byte of the
/// answer (ureq returns once the status line and headers are in) for the enrol page (with its QR
/// code) of mailboxes not enrolled yet, and the code page of enrolled ones.
fn page_first_byte(base: &str, key: &str, fresh: &[MailboxAddress], enrolled: &[Enrolled]) {
    let agent = ureq::Agent::new_with_config(ureq::config::Config::builder().proxy(None).max_redirects(0).build());
    let enrolled: Vec<MailboxAddress> = enrolled.iter().map(|e| e.address.clone()).collect();
    for (page, addresses) in [("enrol page", fresh), ("code page", &enrolled[..])] {
        let mut times = Vec::new();
        let mut bytes = 0;
        for address in addresses {
            let body = format!(r#"{{"address":"{address}","ip":"203.0.113.9","return_url":"{RETURN}"}}"#);
            let started = post(&agent, &format!("{base}/v1/signin"), key, body);
            let url = started["signin_url"].as_str().unwrap_or_else(|| panic!("{address}: {started}"));
            let sent = Instant::now();
            let response = agent.get(url).call().unwrap();
            times.push(sent.elapsed());
            bytes = response.into_body().read_to_string().unwrap().len();
        }
        times.sort();
        println!(
            "idle server: {page} first byte p50 {:.2} ms p99 {:.2} ms over {} pages ({bytes} bytes each)",
            percentile(&times, 0.5).as_secs_f64() * 1e3,
            percentile(&times, 0.99).as_secs_f64() * 1e3,
            times.len()
        );
    }
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
    // One address makes all the load: lift its limit. The client's own rate counts only failed
    // requests, and these logins go well.
    mailmfa(dir.path(), &["settings", "set", "serve.ip_rate", "1000000"]);
    println!(
        "store: {} mailboxes, {} enrolled (seeded in {:.0} s)",
        scale.postoffices * scale.per_postoffice,
        mailboxes.len(),
        started.elapsed().as_secs_f64()
    );
    let (half_a, half_b) = mailboxes.split_at(mailboxes.len() / 2);
    for (label, extra, share) in
        [("group commit", &[][..], half_a), ("no group commit", &["--max-batch", "1"][..], half_b)]
    {
        let server = start_server(dir.path(), extra);
        let base = server.base.clone();
        if label == "group commit" {
            idle_round_trip(&base, &key, &share[..share.len().min(200)]);
            let total = scale.postoffices * scale.per_postoffice;
            let fresh: Vec<MailboxAddress> = (total - 200..total)
                .map(|i| {
                    format!("user{:03}@po{:04}.example", i % scale.per_postoffice, i / scale.per_postoffice)
                        .parse()
                        .unwrap()
                })
                .collect();
            page_first_byte(&base, &key, &fresh, &share[..share.len().min(200)]);
        }
        let rest = if label == "group commit" { &share[share.len().min(200)..] } else { share };
        load(server.id(), &base, &key, rest, scale.seconds, &format!("{CLIENTS} clients, {label}"));
        drop(server);
    }
}
