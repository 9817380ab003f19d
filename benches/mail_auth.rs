//! The mail sign-in check under load: 64 concurrent callers (a mail server's auth processes) ask
//! `POST /v1/mail/auth` of the real `mailmfa serve` on a file store of 10,000 mailboxes whose post
//! offices want app passwords — half the checks an app password to accept, half a mailbox password
//! the mail server verified (answered `reject`, `app_password_required`); the load generator on
//! the same machine (one thread, the callers tasks on it), each caller on one kept-alive connection.
//! Each question is asked once before the clock starts (an app password's first use and a
//! refusal's first audit entry are written; later ones within the minute are not), as on a mail
//! server that has been running. Prints checks per second and the p50/p99 latency, then the same
//! for the same callers asking `GET /v1/health` — HTTP and one read of the store in the writer's
//! turn, a floor under any check; figures in BENCHMARKS.md.
//!
//! `cargo bench --bench mail_auth` runs the full measurement; without `--bench` (as `cargo test
//! --benches` runs it) a short version checks that the benchmark still works.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use mailmfa::domain::{MailboxAddress, Protocols};
use mailmfa::service::{KeyFolder, NewAppPassword, Service, StoreLocation};
use support::{ServerProcess, mailmfa, start_server};

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
    line: String,
}

impl Connection {
    async fn open(listen: &str) -> Self {
        let stream = TcpStream::connect(listen).await.unwrap();
        stream.set_nodelay(true).unwrap();
        Self { stream: BufReader::new(stream), line: String::new() }
    }

    /// Sends a prepared request and returns the answer's body.
    async fn ask(&mut self, request: &[u8]) -> Vec<u8> {
        self.stream.get_mut().write_all(request).await.unwrap();
        let mut length = 0;
        loop {
            self.line.clear();
            self.stream.read_line(&mut self.line).await.unwrap();
            if self.line == "\r\n" {
                break;
            }
            let (name, value) = self.line.split_once(':').unwrap_or_default();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body).await.unwrap();
        body
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
/// latency after `what`. The callers are tasks on one thread: the load generator shares the two
/// cores with the server and should take as little of them as it can.
fn measure(server: &ServerProcess, asks: Vec<Asks>, warm: usize, seconds: u64, what: &str) {
    let listen = server.listen.as_str();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (elapsed, mut all, cpu) = runtime.block_on(async {
        let stop = Arc::new(AtomicBool::new(false));
        let mut callers = Vec::new();
        for asks in asks {
            let mut connection = Connection::open(listen).await;
            for (ask, expect) in asks.iter().step_by(warm) {
                assert!(contains(&connection.ask(ask).await, expect));
            }
            callers.push((connection, asks));
        }
        let started = Instant::now();
        let cpu_before = cpu_seconds(server.id());
        let tasks: Vec<_> = callers
            .into_iter()
            .map(|(mut connection, asks)| {
                let stop = Arc::clone(&stop);
                tokio::spawn(async move {
                    let mut times = Vec::new();
                    'asking: loop {
                        for (ask, expect) in &asks {
                            if stop.load(Ordering::Relaxed) {
                                break 'asking;
                            }
                            let sent = Instant::now();
                            let answer = connection.ask(ask).await;
                            times.push(sent.elapsed());
                            assert!(contains(&answer, expect), "{}", String::from_utf8_lossy(&answer));
                        }
                    }
                    times
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        stop.store(true, Ordering::Relaxed);
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.unwrap());
        }
        (started.elapsed().as_secs_f64(), all, cpu_seconds(server.id()) - cpu_before)
    });
    all.sort();
    println!(
        "{what}: {} answers in {elapsed:.1} s = {:.0}/s; p50 {:.2} ms, p99 {:.2} ms; server CPU {:.0} µs an answer",
        all.len(),
        all.len() as f64 / elapsed,
        percentile(&all, 0.5).as_secs_f64() * 1e3,
        percentile(&all, 0.99).as_secs_f64() * 1e3,
        cpu * 1e6 / all.len() as f64,
    );
}

/// The CPU time process `pid` has used so far (user and system), from `/proc`.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The fields after the command's name, which is in parentheses: utime and stime are the 12th
    // and 13th of them, in clock ticks (100 a second on Linux).
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0
}

fn contains(answer: &[u8], expect: &str) -> bool {
    answer.windows(expect.len()).any(|w| w == expect.as_bytes())
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
    // question is asked once before the clock starts: an app password's first use and a refusal's
    // first audit entry are written then, the next within the minute are not (a mail server's
    // steady state).
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
    measure(&server, checks, 1, seconds, &what);
    // The floor: the same callers asking what costs the service HTTP and one read of the store.
    let health = format!("GET /v1/health HTTP/1.1\r\nHost: {listen}\r\n\r\n").into_bytes();
    let floor = (0..CALLERS).map(|_| vec![(health.clone(), r#""status":"ok""#)]).collect();
    measure(&server, floor, 1, seconds, &format!("{CALLERS} callers: GET /v1/health (HTTP, one store read)"));
}
