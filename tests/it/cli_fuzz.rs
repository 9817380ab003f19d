//! The command line under generated malformed input: 5,000 invocations per run (a new seed each
//! run, printed, and `MAILMFA_FUZZ_SEED` repeats one), built from every command with hostile values
//! in their places, missing and doubled arguments, and unknown flags. Every run must exit 0, 1 or 2
//! without a panic, and a refused run (1 or 2) must change nothing in the store but the audit log,
//! the failure counters and locks, and the removal of one-time codes it found dead.

use std::collections::BTreeMap;
use std::thread;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::common;
use crate::common::TestEnv;
use crate::common::fixtures::alice_on_totp_and_bob_on_sms;
use rusqlite::Connection;
use rusqlite::types::Value;

const INVOCATIONS: usize = 5_000;
const THREADS: usize = 2;

/// xorshift64*: small, fast, and the same sequence for the same seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Values that are wrong somewhere, and a few that are right, so commands get past clap.
const HOSTILE: &[&str] = &[
    "",
    " ",
    "-",
    "--",
    "-x",
    "--help-me",
    "\u{1b}[31mred",
    "line\nbreak",
    "tab\there",
    "\r\n",
    "../../../etc/passwd",
    "'; DROP TABLE mailbox; --",
    "%s%n%x",
    "{code}",
    "１２３４５６",
    "🙂",
    "ß@ẞ.de",
    "alice@",
    "@example.com",
    "alice@@example.com",
    "alice@example..com",
    "alice@example.com.",
    "-1",
    "0",
    "99999999999999999999999",
    "NaN",
    "true\nfalse",
    "yes please",
    "+1555",
    "+15551234567",
    "0015551234567",
    "300.1.1.1",
    "::ffff:999.1.1.1",
    "203.0.113.9",
    "2001:db8::1",
    "12345",
    "1234567",
    "123456",
    "never",
    "sometimes",
    "inherit",
    "totp",
    "fax",
    "sms",
    "smtp",
    "local",
    "wal",
];

const ADDRESSES: &[&str] = &["alice@example.com", "bob@example.com", "nobody@example.com", "eve@elsewhere.example"];
const POSTOFFICES: &[&str] = &["example.com", "elsewhere.example", "new.example"];
/// Settings whose values cannot make anything reach beyond this machine.
const KEYS: &[&str] = &[
    "issuer",
    "lockout.threshold",
    "lockout.seconds",
    "code.lifetime_seconds",
    "code.sends_per_hour",
    "enroll.pending_hours",
    "geoip.path",
    "smtp.port",
    "smtp.security",
    "smtp.subject",
    "smtp.body",
    "sms.message",
    "sms.custom.success_status",
    "sms.custom.auth_header",
    "sms.custom.body_template",
    "no.such.key",
    "",
];
/// The folder the commands run in, three levels inside the test's temporary folder: relative paths
/// among the hostile values (`../../../etc/passwd`) must resolve inside it, never to a file of the
/// machine (the tests may run as root).
const WORK: &str = "w/x/y";
/// Relative names inside the test's folder only.
const FILES: &[&str] =
    &["bad.csv", "empty.csv", "binary.csv", "missing.csv", "out.png", "sub/out.png", "key.export", ""];

fn value(rng: &mut Rng, good: &[&str]) -> String {
    if rng.chance(35) {
        rng.pick(good).to_owned()
    } else if rng.chance(5) {
        "x".repeat(5_000 + rng.below(10_000))
    } else {
        rng.pick(HOSTILE).to_owned()
    }
}

/// One invocation: a command's words with values in place, sometimes mangled further.
fn invocation(rng: &mut Rng) -> Vec<String> {
    let a = |rng: &mut Rng| value(rng, ADDRESSES);
    let mut args: Vec<String> = match rng.below(22) {
        0 => vec!["postoffice".into(), "add".into(), value(rng, POSTOFFICES)],
        1 => vec!["postoffice".into(), "remove".into(), value(rng, POSTOFFICES)],
        2 => vec![
            "postoffice".into(),
            "set".into(),
            value(rng, POSTOFFICES),
            "--challenge".into(),
            value(rng, &["always", "new-ip"]),
            "--users-may-configure".into(),
            value(rng, &["true", "no"]),
        ],
        3 => vec!["mailbox".into(), "add".into(), a(rng)],
        4 => vec!["mailbox".into(), "show".into(), a(rng)],
        5 => vec![
            "mailbox".into(),
            "set".into(),
            a(rng),
            "--challenge".into(),
            value(rng, &["always", "inherit"]),
            "--provider".into(),
            value(rng, &["sms", "smtp", "totp"]),
            "--sms-number".into(),
            value(rng, &["+15551234567"]),
            "--alt-email".into(),
            value(rng, &["alice.home@example.org", "alice+x@example.com"]),
        ],
        6 => vec!["mailbox".into(), "reset".into(), a(rng), value(rng, &["--code", "--countries"])],
        7 => vec!["mailbox".into(), "unlock".into(), a(rng)],
        8 => vec!["mailbox".into(), "qr".into(), a(rng), "--out".into(), value(rng, FILES)],
        9 => vec!["mailbox".into(), "list".into(), "--postoffice".into(), value(rng, POSTOFFICES)],
        10 => vec!["provider".into(), "set".into(), value(rng, &["sms"]), "--enabled".into(), value(rng, &["true"])],
        11 => vec!["provider".into(), "test".into(), value(rng, &["sms", "smtp"]), "--to".into(), a(rng)],
        12 => vec!["settings".into(), "set".into(), value(rng, KEYS), value(rng, &["7", "Example", "{code}"])],
        13 => vec!["login".into(), "begin".into(), a(rng), "--ip".into(), value(rng, &["203.0.113.9"])],
        14 => vec![
            "login".into(),
            "verify".into(),
            a(rng),
            "--ip".into(),
            value(rng, &["203.0.113.9"]),
            "--code".into(),
            value(rng, &["123456", "000000"]),
        ],
        15 => vec!["user".into(), "set".into(), a(rng), "--challenge".into(), value(rng, &["new-ip"])],
        16 => vec!["import".into(), value(rng, FILES)],
        17 => vec!["key".into(), "import".into(), value(rng, FILES)],
        18 => vec!["audit".into(), "--mailbox".into(), a(rng), "--limit".into(), value(rng, &["5"])],
        19 => vec!["store".into(), "mode".into(), value(rng, &["shared", "local"])],
        20 => vec!["key".into(), "export".into(), value(rng, FILES)],
        _ => (0..rng.below(5)).map(|_| value(rng, HOSTILE)).collect(),
    };
    match rng.below(10) {
        0 if !args.is_empty() => {
            let i = rng.below(args.len());
            args.remove(i);
        }
        1 => args.push(value(rng, HOSTILE)),
        2 => args.push(format!("--{}", value(rng, &["json", "shared", "store", "bogus"]))),
        3 if !args.is_empty() => {
            let i = rng.below(args.len());
            args.insert(i, args[i].clone());
        }
        _ => {}
    }
    // A NUL byte cannot be an argument of a process at all.
    args.into_iter().map(|a| a.replace('\0', "")).collect()
}

/// A table's rows, each cell as text.
type Rows = Vec<Vec<String>>;

/// The store's content as the invariant compares it: every table but the audit log, without the
/// failure counters and locks; one-time codes apart, as they may only disappear.
fn state(env: &TestEnv) -> (BTreeMap<String, Rows>, Rows) {
    let conn = Connection::open(env.store_path()).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
    let rows = |sql: &str| -> Rows {
        let mut stmt = conn.prepare(sql).unwrap();
        let n = stmt.column_count();
        stmt.query_map([], |r| (0..n).map(|i| r.get::<_, Value>(i).map(|v| format!("{v:?}"))).collect())
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let mut tables = BTreeMap::new();
    for table in ["meta", "postoffice", "known_ip", "known_country", "provider", "setting", "code_send"] {
        tables.insert(table.to_owned(), rows(&format!("SELECT * FROM {table} ORDER BY 1, 2")));
    }
    tables.insert(
        "mailbox".to_owned(),
        rows(
            "SELECT id, postoffice_id, name, challenge, provider, sms_number, alt_email, totp_secret, totp_state,
                    totp_last_step, totp_created_at, last_login, created_at FROM mailbox ORDER BY id",
        ),
    );
    (tables, rows("SELECT * FROM otp_code ORDER BY mailbox_id"))
}

/// The store the commands run on: alice (enrolment pending) and bob (SMS) in `example.com`, whose
/// users may configure themselves; and the work folder, with a few bad CSV files to import.
fn store_and_work_folder() -> TestEnv {
    let env = TestEnv::new();
    alice_on_totp_and_bob_on_sms(&env);
    env.ok(&["postoffice", "set", "example.com", "--users-may-configure", "true"]);
    env.ok(&["login", "begin", "alice@example.com", "--ip", "203.0.113.9"]);
    let work = env.path(WORK);
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(work.join("bad.csv"), "postoffice,mailbox\nexample.com,x\n").unwrap();
    std::fs::write(work.join("empty.csv"), "").unwrap();
    std::fs::write(work.join("binary.csv"), [0xff, 0xfe, 0x00, 0x01, b'\n']).unwrap();
    env
}

fn fuzz(seed: u64, count: usize) -> Vec<String> {
    let env = store_and_work_folder();
    let mut rng = Rng(seed | 1);
    let mut problems = Vec::new();
    let mut exits = [0usize; 3];
    let mut before = state(&env);
    for i in 0..count {
        let args = invocation(&mut rng);
        let out = env.command().current_dir(env.path(WORK)).args(&args).output().unwrap();
        let run = common::output(out);
        let after = state(&env);
        match usize::try_from(run.status).ok().filter(|s| *s <= 2) {
            Some(status) if !run.stderr.contains("panicked") => exits[status] += 1,
            _ => problems.push(format!("seed {seed} #{i} {args:?}: exit {} {}", run.status, run.stderr)),
        }
        if run.status != 0 {
            let codes_only_removed = after.1.iter().all(|code| before.1.contains(code));
            if after.0 != before.0 || !codes_only_removed {
                let changed: Vec<&String> =
                    after.0.iter().filter(|(t, rows)| before.0.get(*t) != Some(rows)).map(|(t, _)| t).collect();
                problems.push(format!(
                    "seed {seed} #{i} {args:?}: refused (exit {}) but changed {changed:?}{}",
                    run.status,
                    if codes_only_removed { "" } else { " and added a one-time code" }
                ));
            }
        }
        before = after;
    }
    eprintln!("seed {seed}: {} ran, {} refused (1), {} bad input or error (2)", exits[0], exits[1], exits[2]);
    assert!(exits[1] > 0 && exits[2] > count / 2, "the generator hardly reaches refusals: {exits:?}");
    problems
}

#[test]
fn five_thousand_malformed_invocations_exit_cleanly_and_refusals_change_nothing() {
    let seed = std::env::var("MAILMFA_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64);
    eprintln!("MAILMFA_FUZZ_SEED={seed}");
    let problems: Vec<String> = thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS as u64)
            .map(|t| s.spawn(move || fuzz(seed.wrapping_add(t * 0x9e37_79b9_7f4a_7c15), INVOCATIONS / THREADS)))
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert!(problems.is_empty(), "{} problems (MAILMFA_FUZZ_SEED={seed}):\n{}", problems.len(), problems.join("\n"));
}
