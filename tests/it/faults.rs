//! Writers killed with SIGKILL at random points, 100 times: imports, one-time code verifications
//! (codes from a real HTTP SMS gateway on 127.0.0.1) and TOTP verifications. After each kill the
//! store passes SQLite's integrity check, an import is all there or not at all, and no code or
//! TOTP step is ever accepted twice.

use std::collections::HashMap;
use std::process::Stdio;
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::common::TestEnv;
use crate::common::fixtures::{alice_on_totp_and_bob_on_sms, now, secret_of, six_digits, sms_gateway};
use mailmfa::domain::totp::{code_at_step, step_of};

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

fn accepted(env: &TestEnv, mailbox: &str) -> i64 {
    env.sqlite()
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

#[test]
fn writers_killed_at_random_points_leave_a_sound_store_and_accept_nothing_twice() {
    let seed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    eprintln!("seed {seed}");
    let mut rng = Rng(seed);
    let env = TestEnv::new();
    alice_on_totp_and_bob_on_sms(&env);
    let gateway = sms_gateway(&env);
    env.set_settings(&[("code.sends_per_hour", "60"), ("lockout.threshold", "100")]);
    let begun = env.ok(&["login", "begin", "alice@example.com", "--ip", "203.0.113.9", "--json"]).json();
    let secret = secret_of(begun["otpauth_uri"].as_str().unwrap());

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
                let conn = env.sqlite();
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
                let step = step_of(now()) + rng.below(2) as i64;
                let code = code_at_step(&secret, step);
                let before = accepted(&env, "alice@example.com");
                let verify = ["login", "verify", "alice@example.com", "--ip", "203.0.113.9", "--code", &code];
                *outcomes.entry(kill_after(&env, &verify, delay)).or_default() += 1;
                let again = env.run(&verify);
                assert!(matches!(again.status, 0 | 1), "round {round}: {}", again.stderr);
                *totp_accepted.entry(step).or_default() += accepted(&env, "alice@example.com") - before;
            }
        }
        let check: String = env.sqlite().query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok", "round {round}");
    }
    eprintln!("{outcomes:?}; TOTP steps accepted: {totp_accepted:?}");
    for (step, times) in &totp_accepted {
        assert!(*times <= 1, "TOTP step {step} was accepted {times} times");
    }
    assert!(outcomes.get("killed").copied().unwrap_or(0) >= ROUNDS / 4, "too few writers were killed: {outcomes:?}");
}
