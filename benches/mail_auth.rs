//! The mail sign-in check under load: 64 concurrent callers (a mail server's auth processes) ask
//! `POST /v1/mail/auth` of the real `mailmfa serve` on a file store of 10,000 mailboxes whose post
//! offices want app passwords — half the checks an app password to accept, half a mailbox password
//! the mail server verified (answered `reject`, `app_password_required`); the load generator on
//! the same machine, each caller on one kept-alive connection. Each app password is used once before
//! the clock starts (its first use is written; later ones within the minute are not), as on a mail
//! server that has been running. Prints checks per second and the p50/p99 latency, then the same
//! for the same callers asking `GET /v1/health` — what HTTP alone costs on this machine, the floor
//! under any check; figures in BENCHMARKS.md.
//!
//! `cargo bench --bench mail_auth` runs the full measurement; without `--bench` (as `cargo test
//! --benches` runs it) a short version checks that the benchmark still works.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use mailmfa::domain::{MailboxAddress, Protocols};
use mailmfa::service::{KeyFolder, NewAppPassword, Service, StoreLocation};
use support::{mailmfa, start_server};

const CALLERS: usize = 64;

/// `postoffices × 100` mailboxes under the `app-passwords` policy, and an app password for each of
/// the first `with_passwords`; the addresses and passwords.
fn seed(dir: &std::path::Path, postoffices: usize, with_passwords: usize) -> Vec<(String, String)> {
    let location = StoreLocation::new(dir.join("bench.sqlite3"), false);
    let service = Service::open(&location, &KeyFolder::new(dir.join("keys"))).unwrap();
    let mut csv = String::from("postoffice,mailbox,challenge,provider,sms_number,alt_email\n");
    for po in 0..postoffices {
        for mb in 0..100 {
            csv.push_str(&format!("po{po:03}.example,user{mb:03},always,totp,,\n"));
        }
    }
    service.import_csv(csv.as_bytes()).unwrap();
    service.set_setting("mailprog.policy", "app-passwords").unwrap();
    (0..with_passwords)
        .map(|i| {
            let address = format!("user{:03}@po{:03}.example", i % 100, i / 100);
            let parsed: MailboxAddress = address.parse().unwrap();
            let new = NewAppPassword { name: "Phone".parse().unwrap(), protocols: Protocols::all(), days: None };
            let issued = service.add_app_password(&parsed, &new).unwrap();
            (address, issued.password.shown())
        })
        .collect()
}

/// One caller's connection: requests written whole, answers read by their `Content-Length` — a
/// mail server's auth process keeps its connection, and the load generator should cost little.
struct Connection {
    stream: BufReader<TcpStream>,
}

impl Connection {
    fn open(listen: &str) -> Self {
        let stream = TcpStream::connect(listen).unwrap();
        stream.set_nodelay(true).unwrap();
        Self { stream: BufReader::new(stream) }
    }

    /// Sends a prepared request and returns the answer's body.
    fn ask(&mut self, request: &[u8]) -> String {
        self.stream.get_mut().write_all(request).unwrap();
        let mut length = 0;
        let mut line = String::new();
        loop {
            line.clear();
            self.stream.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body).unwrap();
        String::from_utf8(body).unwrap()
    }
}

fn request(listen: &str, key: &str, body: &str) -> Vec<u8> {
    format!(
        "POST /v1/mail/auth HTTP/1.1\r\nHost: {listen}\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// What one caller asks, in turn and again, with what each answer must hold.
type Asks = Vec<(Vec<u8>, &'static str)>;

/// Runs one caller per entry of `asks`, each on its own connection, for `seconds`, after each has
/// asked every `warm`-th of its questions once; prints the answers per second and the p50/p99
/// latency after `what`.
fn measure(listen: &str, asks: Vec<Asks>, warm: usize, seconds: u64, what: &str) {
    let stop = AtomicBool::new(false);
    let ready = std::sync::Barrier::new(asks.len() + 1);
    let mut started = Instant::now();
    let latencies: Vec<Vec<Duration>> = thread::scope(|s| {
        let callers: Vec<_> = asks
            .iter()
            .map(|asks| {
                let (stop, ready) = (&stop, &ready);
                s.spawn(move || {
                    let mut connection = Connection::open(listen);
                    for (ask, expect) in asks.iter().step_by(warm) {
                        assert!(connection.ask(ask).contains(expect));
                    }
                    ready.wait();
                    let mut times = Vec::new();
                    'asking: loop {
                        for (ask, expect) in asks {
                            if stop.load(Ordering::Relaxed) {
                                break 'asking;
                            }
                            let sent = Instant::now();
                            let answer = connection.ask(ask);
                            times.push(sent.elapsed());
                            assert!(answer.contains(expect), "{answer}");
                        }
                    }
                    times
                })
            })
            .collect();
        ready.wait();
        started = Instant::now();
        thread::sleep(Duration::from_secs(seconds));
        stop.store(true, Ordering::Relaxed);
        callers.into_iter().map(|c| c.join().unwrap()).collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    let mut all: Vec<Duration> = latencies.into_iter().flatten().collect();
    all.sort();
    println!(
        "{what}: {} answers in {elapsed:.1} s = {:.0}/s; p50 {:.2} ms, p99 {:.2} ms",
        all.len(),
        all.len() as f64 / elapsed,
        percentile(&all, 0.5).as_secs_f64() * 1e3,
        percentile(&all, 0.99).as_secs_f64() * 1e3,
    );
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (postoffices, with_passwords, seconds) = if full { (100, 6_400, 10) } else { (2, 128, 1) };
    let dir = tempfile::tempdir().unwrap();
    let passwords = seed(dir.path(), postoffices, with_passwords);
    let out = mailmfa(dir.path(), &["client", "add", "dovecot", "--json"]);
    let key = serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["key"].as_str().unwrap().to_owned();
    // The health check is limited per address like every request without a key: lift it for the
    // floor below.
    mailmfa(dir.path(), &["settings", "set", "serve.ip_rate", "1000000"]);
    let server = start_server(dir.path(), &[]);
    let listen = server.listen.clone();
    // Each caller asks about its own mailboxes: an app password, then the mailbox password. Each
    // app password is used once before the clock starts: its first use is written, the next
    // within the minute is not (a mail server's steady state).
    let share = passwords.len() / CALLERS;
    let program = r#""ip":"198.51.100.7","real_ip":"198.51.100.7""#;
    let checks: Vec<Asks> = passwords
        .chunks(share)
        .take(CALLERS)
        .map(|mine| {
            mine.iter()
                .flat_map(|(address, password)| {
                    [
                        (format!(r#"{{"address":"{address}","password":"{password}","protocol":"imap",{program}}}"#), r#""result":"accept""#),
                        (
                            format!(r#"{{"address":"{address}","password":null,"verified":true,"protocol":"imap",{program}}}"#),
                            r#""app_password_required""#,
                        ),
                    ]
                })
                .map(|(body, expect)| (request(&listen, &key, &body), expect))
                .collect()
        })
        .collect();
    let what = format!(
        "{CALLERS} callers, {} mailboxes, {} app passwords: POST /v1/mail/auth",
        postoffices * 100,
        passwords.len()
    );
    measure(&listen, checks, 2, seconds, &what);
    // The floor: the same callers asking what costs the service nothing but HTTP.
    let health = format!("GET /v1/health HTTP/1.1\r\nHost: {listen}\r\n\r\n").into_bytes();
    let floor = (0..CALLERS).map(|_| vec![(health.clone(), r#""status":"ok""#)]).collect();
    measure(&listen, floor, 1, seconds, &format!("{CALLERS} callers: GET /v1/health (HTTP alone)"));
}
