//! Writers killed with SIGKILL at random points, 100 times: imports, one-time code verifications
//! (codes from a real HTTP SMS gateway on 127.0.0.1) and TOTP verifications. After each kill the
//! store passes SQLite's integrity check, an import is all there or not at all, and no code or
//! TOTP step is ever accepted twice.

use std::collections::HashMap;
use std::process::Stdio;
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::common::TestEnv;
use crate::common::http_server::start_http;
use mailmfa::domain::totp::{code_at_step, decode_secret, step_of};
use rusqlite::Connection;

const ROUNDS: usize = 100;
const ROWS: usize = 400;

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn raw(env: &TestEnv) -> Connection {
    let conn = Connection::open(env.store_path()).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn
}

fn accepted(env: &TestEnv, mailbox: &str) -> i64 {
    raw(env)
        .query_row(
            "SELECT count(*) FROM audit WHERE action = 'login.verify' AND outcome = 'accepted' AND mailbox = ?1",
            [mailbox],
            |r| r.get(0),
        )
        .unwrap()
}

/// Starts `args`, kills it (SIGKILL) after `delay_us` unless it finished, and says which.
fn kill_after(env: &TestEnv, args: &[&str], delay_us: u64) -> &'static str {
    let mut child = env.command().args(args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    thread::sleep(Duration::from_micros(delay_us));
    match child.try_wait().unwrap() {
        Some(_) => "finished",
        None => {
            child.kill().unwrap();
            child.wait().unwrap();
            "killed"
        }
    }
}

fn six_digits(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    chars.windows(6).find(|w| w.iter().all(char::is_ascii_digit)).map(|w| w.iter().collect()).unwrap()
}

#[test]
fn writers_killed_at_random_points_leave_a_sound_store_and_accept_nothing_twice() {
    let seed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    eprintln!("seed {seed}");
    let mut rng = Rng(seed);
    let gateway = start_http(200, "OK", "{}");
    let env = TestEnv::new();
    env.ok(&["postoffice", "add", "example.com"]);
    env.ok(&["postoffice", "set", "example.com", "--challenge", "always"]);
    env.ok(&["mailbox", "add", "alice@example.com"]);
    env.ok(&["mailbox", "add", "bob@example.com"]);
    env.ok(&["mailbox", "set", "bob@example.com", "--provider", "sms", "--sms-number", "+15551234567"]);
    env.ok(&["settings", "set", "sms.url", &gateway.url("/sms")]);
    env.ok(&["settings", "set", "code.sends_per_hour", "60"]);
    env.ok(&["settings", "set", "lockout.threshold", "100"]);
    let uri = env.ok(&["login", "begin", "alice@example.com", "--ip", "203.0.113.9", "--json"]).json();
    let b32 = uri["otpauth_uri"].as_str().unwrap().split("secret=").nth(1).unwrap().split('&').next().unwrap();
    let secret = decode_secret(b32).unwrap().to_vec();

    let mut totp_accepted: HashMap<i64, i64> = HashMap::new();
    let mut outcomes: HashMap<&str, usize> = HashMap::new();
    for round in 0..ROUNDS {
        let delay = rng.below(40_000);
        match round % 3 {
            0 => {
                let postoffice = format!("round{round}.example");
                let mut csv = String::from("postoffice,mailbox,challenge,provider,sms_number,alt_email\n");
                for m in 0..ROWS {
                    csv.push_str(&format!("{postoffice},m{m},always,,,\n"));
                }
                let file = env.path(&format!("round{round}.csv"));
                std::fs::write(&file, csv).unwrap();
                *outcomes.entry(kill_after(&env, &["import", file.to_str().unwrap()], delay)).or_default() += 1;
                let conn = raw(&env);
                let mailboxes: i64 = conn
                    .query_row(
                        "SELECT count(*) FROM mailbox m JOIN postoffice p ON p.id = m.postoffice_id WHERE p.name = ?1",
                        [&postoffice],
                        |r| r.get(0),
                    )
                    .unwrap();
                let offices: i64 = conn
                    .query_row("SELECT count(*) FROM postoffice WHERE name = ?1", [&postoffice], |r| r.get(0))
                    .unwrap();
                assert!(
                    (offices, mailboxes) == (0, 0) || (offices, mailboxes) == (1, ROWS as i64),
                    "round {round}: a half import ({offices} post offices, {mailboxes} mailboxes)"
                );
            }
            1 => {
                let sent = gateway.requests().len();
                env.ok(&["login", "begin", "bob@example.com", "--ip", "203.0.113.9"]);
                let requests = gateway.requests();
                assert_eq!(requests.len(), sent + 1);
                let code = six_digits(requests[sent].json()["message"].as_str().unwrap());
                let before = accepted(&env, "bob@example.com");
                let verify = ["login", "verify", "bob@example.com", "--ip", "203.0.113.9", "--code", &code];
                *outcomes.entry(kill_after(&env, &verify, delay)).or_default() += 1;
                let again = env.run(&verify);
                assert!(matches!(again.status, 0 | 1), "round {round}: {}", again.stderr);
                let now = accepted(&env, "bob@example.com");
                assert_eq!(now - before, 1, "round {round}: the one-time code was accepted {} times", now - before);
            }
            _ => {
                let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
                let step = step_of(now) + rng.below(2) as i64;
                let code = code_at_step(&secret, step);
                let before = accepted(&env, "alice@example.com");
                let verify = ["login", "verify", "alice@example.com", "--ip", "203.0.113.9", "--code", &code];
                *outcomes.entry(kill_after(&env, &verify, delay)).or_default() += 1;
                let again = env.run(&verify);
                assert!(matches!(again.status, 0 | 1), "round {round}: {}", again.stderr);
                *totp_accepted.entry(step).or_default() += accepted(&env, "alice@example.com") - before;
            }
        }
        let check: String = raw(&env).query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok", "round {round}");
    }
    eprintln!("{outcomes:?}; TOTP steps accepted: {totp_accepted:?}");
    for (step, times) in &totp_accepted {
        assert!(*times <= 1, "TOTP step {step} was accepted {times} times");
    }
    assert!(outcomes.get("killed").copied().unwrap_or(0) >= ROUNDS / 4, "too few writers were killed: {outcomes:?}");
}
