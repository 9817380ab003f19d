//! Several OS processes on one store at once: adding mailboxes, creating a new store, importing
//! into one post office — nothing lost, nothing failed.

use std::collections::BTreeSet;
use std::fs;
use std::sync::Barrier;
use std::thread;
use std::time::Instant;

use super::{open, postoffice};
use crate::common;
use crate::common::{Backend, TestEnv};
use crate::on_each_backend;

/// Runs `per_group` commands from each of `groups` threads, all starting together; each thread runs
/// its commands one after another as separate processes. Returns (args, status, stderr) of every run.
fn run_groups(
    env: &TestEnv,
    groups: usize,
    per_group: usize,
    make: impl Fn(usize, usize) -> Vec<String> + Sync,
) -> Vec<(Vec<String>, i32, String)> {
    let barrier = Barrier::new(groups);
    thread::scope(|s| {
        let handles: Vec<_> = (0..groups)
            .map(|g| {
                let (barrier, make) = (&barrier, &make);
                s.spawn(move || {
                    barrier.wait();
                    (0..per_group)
                        .map(|i| {
                            let args = make(g, i);
                            let out = env.command().args(&args).output().unwrap();
                            let run = common::output(out);
                            (args, run.status, run.stderr)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    })
}

fn assert_all_succeeded(runs: &[(Vec<String>, i32, String)]) {
    for (args, status, stderr) in runs {
        let lower = stderr.to_ascii_lowercase();
        assert!(!lower.contains("locked") && !lower.contains("busy"), "{args:?}: {stderr}");
        assert_eq!(*status, 0, "{args:?} failed: {stderr}");
    }
}

fn concurrent_mailbox_adds(shared: bool) {
    const GROUPS: usize = 3;
    const PER_GROUP: usize = 40;
    let env = TestEnv::new();
    let mode = if shared { "--shared" } else { "--json" };
    // The store exists (creating it at once is `processes_creating_a_new_store_at_once_agree`).
    env.ok(&[mode, "provider", "list"]);
    let started = Instant::now();
    let runs = run_groups(&env, GROUPS, PER_GROUP + 1, |g, i| {
        let args = if i == 0 {
            vec!["postoffice".to_owned(), "add".to_owned(), format!("group{g}.example")]
        } else {
            vec!["mailbox".to_owned(), "add".to_owned(), format!("user{i:02}@group{g}.example")]
        };
        [vec![mode.to_owned()], args].concat()
    });
    eprintln!("shared={shared}: {} processes in {:?}", runs.len(), started.elapsed());
    assert_all_succeeded(&runs);

    let service = open(&env, shared);
    let journal = match (common::backend(), shared) {
        (Backend::Postgres, _) => "server",
        (Backend::Sqlite, true) => "delete",
        (Backend::Sqlite, false) => "wal",
    };
    assert_eq!(service.journal_mode().unwrap(), journal);
    let rows = service.mailboxes(None).unwrap();
    let found: BTreeSet<String> = rows.iter().map(|r| r.address.to_string()).collect();
    let expected: BTreeSet<String> =
        (0..GROUPS).flat_map(|g| (1..=PER_GROUP).map(move |i| format!("user{i:02}@group{g}.example"))).collect();
    assert_eq!(found, expected);
    assert_eq!(rows.len(), GROUPS * PER_GROUP);

    let audit = service.audit(None, 100_000).unwrap();
    for mailbox in &expected {
        let n = audit
            .iter()
            .filter(|e| {
                e.entry.action == "mailbox.add"
                    && e.entry.outcome.to_string() == "ok"
                    && e.entry.mailbox.as_deref() == Some(mailbox)
            })
            .count();
        assert_eq!(n, 1, "{mailbox}: {n} mailbox.add entries");
    }
    assert_eq!(
        audit.iter().filter(|e| e.entry.action == "postoffice.add" && e.entry.outcome.to_string() == "ok").count(),
        GROUPS
    );
    assert!(audit.iter().all(|e| e.entry.outcome.to_string() == "ok"), "a failed action: {audit:?}");
    assert_eq!(service.integrity_check().unwrap(), "ok");
    // All processes agreed on one store identity and one key.
    let keys: Vec<_> = fs::read_dir(env.key_dir()).unwrap().collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
}

fn processes_adding_mailboxes_at_once_lose_nothing_local() {
    concurrent_mailbox_adds(false);
}

#[test]
fn processes_adding_mailboxes_at_once_lose_nothing_shared() {
    concurrent_mailbox_adds(true);
}

/// Two servers starting on a store file that does not exist yet: every process succeeds and they
/// all end up with one store id and one key.
fn processes_creating_a_new_store_at_once_agree() {
    const ROUNDS: usize = 6;
    const PROCESSES: usize = 4;
    let mut failures = Vec::new();
    for &shared in common::sharing_modes() {
        for round in 0..ROUNDS {
            let env = TestEnv::new();
            let runs = run_groups(&env, PROCESSES, 1, |g, _| {
                let mut args = vec!["postoffice".to_owned(), "add".to_owned(), format!("p{g}.example")];
                if shared {
                    args.push("--shared".to_owned());
                }
                args
            });
            for (args, status, stderr) in &runs {
                if *status != 0 {
                    failures.push(format!("shared={shared} round {round}: {args:?} exit {status}: {}", stderr.trim()));
                }
            }
            if runs.iter().all(|r| r.1 == 0) {
                assert_eq!(open(&env, shared).postoffices().unwrap().len(), PROCESSES);
                assert_eq!(fs::read_dir(env.key_dir()).unwrap().count(), 1);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} first opens failed:\n{}",
        failures.len(),
        common::sharing_modes().len() * ROUNDS * PROCESSES,
        failures.join("\n")
    );
}

/// Imports are read-check-write: each looks the post office up and creates it if missing. Run at
/// once, they must neither fail ("appeared twice") nor lose rows.
fn concurrent_imports_into_one_post_office() {
    const GROUPS: usize = 2;
    const PER_GROUP: usize = 8;
    const ROWS: usize = 25;
    for &shared in common::sharing_modes() {
        let env = TestEnv::new();
        env.ok(&[if shared { "--shared" } else { "--json" }, "provider", "list"]);
        for g in 0..GROUPS {
            for i in 0..PER_GROUP {
                let mut csv = String::from("postoffice,mailbox,challenge,provider,sms_number,alt_email\n");
                for r in 0..ROWS {
                    csv.push_str(&format!("together.example,g{g}i{i}r{r},always,sms,+1555{g}{i:02}{r:04},\n"));
                }
                fs::write(env.path(&format!("g{g}i{i}.csv")), csv).unwrap();
            }
        }
        let dir = env.dir.path().to_owned();
        let runs = run_groups(&env, GROUPS, PER_GROUP, |g, i| {
            let mut args = vec!["import".to_owned(), dir.join(format!("g{g}i{i}.csv")).display().to_string()];
            if shared {
                args.push("--shared".to_owned());
            }
            args
        });
        assert_all_succeeded(&runs);
        let service = open(&env, shared);
        let rows = service.mailboxes(Some(&postoffice("together.example"))).unwrap();
        assert_eq!(rows.len(), GROUPS * PER_GROUP * ROWS, "shared={shared}");
        assert!(rows.iter().all(|r| r.provider.word() == "sms" && r.challenge.word() == "always"));
        assert_eq!(service.postoffices().unwrap().len(), 1);
        let imports = service.audit(None, 1000).unwrap().into_iter().filter(|e| e.entry.action == "import").count();
        assert_eq!(imports, GROUPS * PER_GROUP);
    }
}

on_each_backend!(
    processes_adding_mailboxes_at_once_lose_nothing_local,
    processes_creating_a_new_store_at_once_agree,
    concurrent_imports_into_one_post_office,
);
