//! The web administration's mailbox page: how long a signed-in administrator waits for the first
//! byte of a page of a post office of 10,000 mailboxes — unfiltered and filtered, sorted by the
//! name and by another column, the first page and one further in — from the real `mailmfa serve`
//! on a file store. The administrator is set up and signed in through the service (the password,
//! then the code, as the pages do it); each request goes on a connection of its own, one after
//! another. Prints the median, the 95th percentile and the slowest; figures in BENCHMARKS.md.
//!
//! `cargo bench --bench webadmin` runs the full measurement; without `--bench` (as `cargo test
//! --benches` runs it) a short version checks that the benchmark still works.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod support;

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpStream};
use std::time::{Duration, Instant};

use mailmfa::clock::{Clock, SystemClock};
use mailmfa::domain::totp::{code_at_step, decode_secret, step_of};
use mailmfa::domain::{AdminRole, PostOfficeName};
use mailmfa::service::{KeyFolder, Service, SetupStep, StoreLocation};
use support::start_server;

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const PASSWORD: &str = "a long password for the benchmark";

/// A post office `big.example` of `mailboxes` mailboxes, the web administration on, and a platform
/// administrator set up and signed in: their session's token.
fn seed(dir: &std::path::Path, mailboxes: usize) -> String {
    let location = StoreLocation::new(dir.join("bench.sqlite3"), false);
    let service = Service::open(&location, &KeyFolder::new(dir.join("keys"))).unwrap();
    let mut csv = String::from("postoffice,mailbox,challenge,provider,sms_number,alt_email\n");
    let providers = ["totp", "sms", "smtp"];
    for i in 0..mailboxes {
        let provider = providers[i % providers.len()];
        let (sms, alt) = match provider {
            "sms" => (format!("+1555{i:07}"), String::new()),
            "smtp" => (String::new(), format!("user{i:05}@elsewhere.example")),
            _ => (String::new(), String::new()),
        };
        csv.push_str(&format!("big.example,user{i:05},always,{provider},{sms},{alt}\n"));
    }
    service.import_csv(csv.as_bytes()).unwrap();
    service.set_setting("serve.admin", "true").unwrap();
    let link = service.add_admin(&"root".parse().unwrap(), AdminRole::Platform, &[]).unwrap();
    let token = link.token.as_str();
    let SetupStep::Password { csrf, .. } = service.admin_setup(token).unwrap() else {
        panic!("a new link asks for a password")
    };
    service.admin_setup_password(token, &csrf, PASSWORD, PASSWORD).unwrap();
    let SetupStep::Enrol { csrf, otpauth_uri, .. } = service.admin_setup(token).unwrap() else {
        panic!("then the app")
    };
    let encoded = otpauth_uri.split("secret=").nth(1).unwrap().split('&').next().unwrap();
    let secret = decode_secret(encoded).unwrap();
    let step = step_of(SystemClock.now());
    service.admin_setup_confirm(token, &csrf, &code_at_step(&secret, step)).unwrap();
    let password_only = service.admin_sign_in("root", PASSWORD, LOOPBACK).unwrap();
    let csrf = service.admin_session(&password_only.token).unwrap().csrf().to_owned();
    let signed_in =
        service.admin_second_step(&password_only.token, &csrf, &code_at_step(&secret, step + 1), LOOPBACK).unwrap();
    signed_in.token.to_string()
}

/// Asks for `path` with the session's cookie on a new connection: the time to the answer's first
/// byte, and the whole answer.
fn first_byte(listen: &str, path: &str, session: &str) -> (Duration, String) {
    let mut stream = TcpStream::connect(listen).unwrap();
    let sent = Instant::now();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {listen}\r\nCookie: mailmfa_admin={session}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut first = [0u8; 1];
    stream.read_exact(&mut first).unwrap();
    let waited = sent.elapsed();
    let mut rest = String::new();
    stream.read_to_string(&mut rest).unwrap();
    (waited, format!("{}{rest}", first[0] as char))
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (mailboxes, rounds) = if full { (10_000, 50) } else { (300, 3) };
    let dir = tempfile::tempdir().unwrap();
    let session = seed(dir.path(), mailboxes);
    let server = start_server(dir.path(), &[]);
    let base: PostOfficeName = "big.example".parse().unwrap();
    // A page half way through the post office.
    let middle = mailboxes / 200;
    let pages = [
        ("unfiltered, by name, first page".to_owned(), format!("/admin/postoffices/{base}")),
        (
            format!("unfiltered, by name, page {middle}"),
            format!("/admin/postoffices/{base}?sort=0&desc=0&page={middle}"),
        ),
        ("unfiltered, by provider, from the end".to_owned(), format!("/admin/postoffices/{base}?sort=2&desc=1&page=0")),
        ("filtered (\"user04\")".to_owned(), format!("/admin/postoffices/{base}?filter=user04")),
        ("filtered (\"user0421\")".to_owned(), format!("/admin/postoffices/{base}?filter=user0421")),
    ];
    println!(
        "{mailboxes} mailboxes in one post office; time to the first byte of its mailbox page, {rounds} requests each:"
    );
    for (what, path) in &pages {
        let (_, answer) = first_byte(&server.listen, path, &session);
        assert!(answer.starts_with("HTTP/1.1 200"), "{what}: {}", &answer[..answer.len().min(300)]);
        assert!(answer.contains("user0"), "{what}: no mailbox on the page");
        let mut times: Vec<Duration> = (0..rounds).map(|_| first_byte(&server.listen, path, &session).0).collect();
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let p95 = times[((times.len() - 1) as f64 * 0.95).round() as usize];
        println!(
            "  {what:<40} median {:6.2} ms, p95 {:6.2} ms, slowest {:6.2} ms",
            ms(times[times.len() / 2]),
            ms(p95),
            ms(*times.last().unwrap())
        );
    }
}
