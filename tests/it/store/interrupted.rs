//! Interrupted writes: an import that fails half-way or is killed keeps all or nothing.

use std::fs;
use std::path::Path;
use std::process::Stdio;
use std::thread;
use std::time::{Duration, Instant};

use super::{open, postoffice, sidecar};
use crate::common::TestEnv;
use mailmfa::service::ServiceError;

/// An action that fails half-way keeps nothing of what it wrote (the store's own unit tests cover
/// an error and a panic inside a transaction; this is the same through the service).
#[test]
fn a_failed_import_keeps_nothing() {
    let env = TestEnv::new();
    let store = open(&env, false);
    let mut csv = String::from("postoffice,mailbox,challenge,provider,sms_number,alt_email\n");
    for i in 0..500 {
        csv.push_str(&format!("example.com,user{i},always,,,\n"));
    }
    csv.push_str("example.com,last,sometimes,,,\n");
    let err = store.import_csv(csv.as_bytes()).unwrap_err();
    assert!(matches!(err, ServiceError::Import { line: 502, .. }), "{err:?}");
    assert!(store.postoffices().unwrap().is_empty());
    assert!(store.mailboxes(None).unwrap().is_empty());
    assert_eq!(store.integrity_check().unwrap(), "ok");
    // The connection is still usable.
    store.add_postoffice(&postoffice("after.example")).unwrap();
    drop(store);
    let again = open(&env, false);
    let names: Vec<String> = again.postoffices().unwrap().iter().map(|p| p.name.to_string()).collect();
    assert_eq!(names, ["after.example"]);
    assert_eq!(again.integrity_check().unwrap(), "ok");
}

fn write_big_csv(path: &Path, postoffices: usize, per_postoffice: usize) {
    let mut csv = String::with_capacity(postoffices * per_postoffice * 40);
    csv.push_str("postoffice,mailbox,challenge,provider,sms_number,alt_email\n");
    for p in 0..postoffices {
        for m in 0..per_postoffice {
            csv.push_str(&format!("big{p:04}.example,m{m:03},,,,\n"));
        }
    }
    fs::write(path, csv).unwrap();
}

fn size(path: &Path) -> u64 {
    fs::metadata(path).map_or(0, |m| m.len())
}

/// Starts `import` on 100,000 rows, kills it while its transaction is writing (or after a fixed
/// delay), then checks the store holds all or none of the rows and passes the integrity check.
fn kill_mid_import(shared: bool, fixed_delay: Option<Duration>) {
    let env = TestEnv::new();
    let flag = if shared { "--shared" } else { "--json" };
    env.ok(&[flag, "postoffice", "add", "seed.example"]);
    let csv = env.path("big.csv");
    write_big_csv(&csv, 1000, 100);
    let base = size(&env.store_path()) + size(&sidecar(&env, "-wal"));

    let mut child = env
        .command()
        .args([flag, "import", csv.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let how = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break format!("finished on its own ({status}) after {:?}", started.elapsed());
        }
        let written = size(&env.store_path()) + size(&sidecar(&env, "-wal"));
        let kill_now = match fixed_delay {
            Some(delay) => started.elapsed() >= delay,
            None => written > base + 1024 * 1024 || started.elapsed() > Duration::from_secs(60),
        };
        if kill_now {
            child.kill().unwrap();
            child.wait().unwrap();
            break format!(
                "killed after {:?} with {} KiB written (journal present: {})",
                started.elapsed(),
                written.saturating_sub(base) / 1024,
                sidecar(&env, "-journal").exists()
            );
        }
        thread::sleep(Duration::from_millis(2));
    };
    eprintln!("shared={shared} delay={fixed_delay:?}: {how}");

    let store = open(&env, shared);
    assert_eq!(store.integrity_check().unwrap(), "ok", "{how}");
    let postoffices = store.postoffices().unwrap();
    let mailboxes = store.mailboxes(None).unwrap().len();
    assert!(postoffices.iter().any(|p| p.name.as_str() == "seed.example"), "the earlier data is gone");
    match mailboxes {
        0 => assert_eq!(postoffices.len(), 1, "{how}: post offices without their mailboxes"),
        100_000 => assert_eq!(postoffices.len(), 1001, "{how}"),
        n => panic!("{how}: {n} of 100000 mailboxes were kept"),
    }
    drop(store);
    let run = env.run(&[flag, "mailbox", "list", "--postoffice", "seed.example", "--json"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
}

#[test]
fn a_killed_import_leaves_all_or_nothing_local() {
    kill_mid_import(false, None);
}

#[test]
fn a_killed_import_leaves_all_or_nothing_shared() {
    kill_mid_import(true, None);
}

#[test]
fn an_import_killed_after_200_ms_leaves_all_or_nothing() {
    kill_mid_import(false, Some(Duration::from_millis(200)));
}
