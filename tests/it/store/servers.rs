//! Stores on a database server: `store copy` to PostgreSQL and back, TLS over TCP checked against
//! the server's certificate authority, and a server that never answers.

use std::fs;
use std::process::Stdio;
use std::thread;
use std::time::{Duration, Instant};

use super::PASSWORD;
use crate::common;
use crate::common::fixtures::{alice_challenged_by_her_post_office, now, secret_of};
use crate::common::{Backend, TestEnv};
use mailmfa::domain::totp::{code_at_step, step_of};

/// `store copy` from a SQLite file to PostgreSQL and back to a new file: the mailboxes, providers,
/// settings and audit log read the same on all three (apart from the copies' own audit entries),
/// the sealed secrets still open (alice's TOTP code is accepted on each), and a target that holds
/// data is refused unless `--replace`.
#[test]
fn a_store_copied_to_postgres_and_back_reads_the_same() {
    let env = TestEnv::on(Backend::Sqlite);
    alice_challenged_by_her_post_office(&env);
    env.ok(&["mailbox", "add", "bob@example.com"]);
    env.ok(&["mailbox", "set", "bob@example.com", "--provider", "sms", "--sms-number", "+15555550123"]);
    env.ok(&["provider", "set", "smtp", "--user-configurable", "off"]);
    env.ok(&["settings", "set", "smtp.password", PASSWORD]);
    env.ok(&["settings", "set", "issuer", "Example Mail"]);
    env.ok(&["client", "add", "webmail.example.com"]);
    let begin = env.ok(&["login", "begin", "alice@example.com", "--ip", "203.0.113.7", "--json"]).json();
    let uri = begin["otpauth_uri"].as_str().unwrap();
    let secret = secret_of(uri);
    let code = |offset: i64| code_at_step(&secret, step_of(now()) + offset);
    env.ok(&["login", "verify", "alice@example.com", "--ip", "203.0.113.7", "--code", &code(-1)]);

    let server = common::pg::cluster().new_database();
    let back = env.path("back.sqlite3").into_os_string();
    let file = env.store_arg();
    let store_on = |store: &std::ffi::OsStr, args: &[&str]| {
        let mut cmd = env.command();
        cmd.env("MAILMFA_STORE", store).args(args);
        let run = common::output(cmd.output().unwrap());
        assert_eq!(run.status, 0, "{args:?} on {store:?}: {}{}", run.stdout, run.stderr);
        run
    };
    let view = |store: &std::ffi::OsStr| {
        let audit = store_on(store, &["audit", "--limit", "1000", "--json"]).json();
        let entries: Vec<_> =
            audit.as_array().unwrap().iter().filter(|e| e["action"] != "store.copy").map(|e| e["id"].clone()).collect();
        [
            store_on(store, &["mailbox", "list", "--json"]).json(),
            store_on(store, &["provider", "list", "--json"]).json(),
            store_on(store, &["settings", "show", "--json"]).json(),
            serde_json::json!(entries),
        ]
    };
    let before = view(&file);

    env.ok(&["store", "copy", &file.to_string_lossy(), &server]);
    let refused = env.run(&["store", "copy", &file.to_string_lossy(), &server]);
    assert_eq!(refused.status, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("nothing was copied") && refused.stderr.contains("--replace"),
        "{}",
        refused.stderr
    );
    env.ok(&["store", "copy", &file.to_string_lossy(), &server, "--replace"]);
    assert_eq!(view(server.as_ref()), before, "on PostgreSQL");
    env.ok(&["store", "copy", &server, &back.to_string_lossy()]);
    assert_eq!(view(&back), before, "back in a file");
    assert_eq!(fs::read_dir(env.key_dir()).unwrap().count(), 1, "one key opens all three");

    let verify = ["login", "verify", "alice@example.com", "--ip", "203.0.113.7", "--code"];
    store_on(server.as_ref(), &[&verify[..], &[code(0).as_str()]].concat());
    store_on(&back, &[&verify[..], &[code(0).as_str()]].concat());
    let shown = store_on(&back, &["settings", "show", "--json"]).stdout;
    assert!(!shown.contains(PASSWORD), "the relay password stays sealed: {shown}");
    let copies = store_on(&back, &["audit", "--limit", "1000", "--json"]).json();
    let copies = copies.as_array().unwrap().iter().filter(|e| e["action"] == "store.copy").count();
    // Each copy is in its target's log and travels on with the next copy; the replaced copy's
    // entry went with what it replaced.
    assert_eq!(copies, 2);
    let same = env.run(&["store", "copy", &back.to_string_lossy(), &back.to_string_lossy()]);
    assert_eq!(same.status, 2, "{}", same.stderr);
}

/// Over TCP the connection is TLS (rustls), checked against the certificate authority the URL
/// names: with it a store is made and used; without it the server's certificate is refused and the
/// message says what to add; a password that does not match is refused; and a server that takes
/// TLS only refuses `sslmode=disable`. The password never shows in a message.
#[test]
fn a_database_server_over_tcp_speaks_tls_checked_against_its_certificate_authority() {
    const PASSWORD: &str = "Tls-db-pass-51c0";
    let cluster = common::pg::tls_cluster();
    let socket_url = cluster.new_database_with_password(PASSWORD);
    let (role, database) = socket_url
        .strip_prefix("postgres://")
        .and_then(|rest| rest.split_once("@/"))
        .map(|(role, rest)| (role.to_owned(), rest.split('?').next().unwrap().to_owned()))
        .unwrap();
    let base = format!("postgres://{role}@127.0.0.1:{}/{database}", cluster.tcp_port());
    let env = TestEnv::on(Backend::Sqlite);
    let run = |url: &str, password: &str| {
        let mut cmd = env.command();
        cmd.env("MAILMFA_STORE", url).env("PGPASSWORD", password).args(["postoffice", "list", "--json"]);
        common::output(cmd.output().unwrap())
    };

    let ca = cluster.ca_file();
    let trusted = format!("{base}?sslmode=require&sslrootcert={}", ca.display());
    let ok = run(&trusted, PASSWORD);
    assert_eq!(ok.status, 0, "{}", ok.stderr);
    let mut cmd = env.command();
    cmd.env("MAILMFA_STORE", &trusted).env("PGPASSWORD", PASSWORD).args(["postoffice", "add", "tls.example"]);
    assert_eq!(common::output(cmd.output().unwrap()).status, 0);
    assert_eq!(run(&trusted, PASSWORD).json()[0]["name"], "tls.example");

    let unknown = run(&format!("{base}?sslmode=require"), PASSWORD);
    assert_eq!(unknown.status, 2);
    assert!(unknown.stderr.contains("certificate") && unknown.stderr.contains("sslrootcert="), "{}", unknown.stderr);

    let wrong = run(&trusted, "not-the-password");
    assert_eq!(wrong.status, 2);
    assert!(wrong.stderr.contains("password authentication failed"), "{}", wrong.stderr);

    let plain = run(&format!("{base}?sslmode=disable"), PASSWORD);
    assert_eq!(plain.status, 2);
    assert!(plain.stderr.contains("no encryption") || plain.stderr.contains("pg_hba.conf"), "{}", plain.stderr);
    for out in [&ok, &unknown, &wrong, &plain] {
        assert!(!out.stderr.contains(PASSWORD) && !out.stdout.contains(PASSWORD), "{}", out.stderr);
    }
}

/// A server that takes the connection and then says nothing (a hung machine, a wrong port that
/// happens to accept): opening the store gives up after the connect timeout with a clear message,
/// instead of holding the command for ever.
#[test]
fn a_database_server_that_never_answers_is_given_up_on() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = thread::spawn(move || listener.accept().map(|(stream, _)| stream));
    let env = TestEnv::on(Backend::Sqlite);
    let mut child = env
        .command()
        .env("MAILMFA_STORE", format!("postgres://mailmfa@127.0.0.1:{port}/mailmfa?connect_timeout=1"))
        .args(["mailbox", "list"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Only a guard against a hang, far above the one second asked for.
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("mailmfa still waits for a server that never answers");
        }
        thread::sleep(Duration::from_millis(50));
    }
    let run = common::output(child.wait_with_output().unwrap());
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(run.stderr.contains("did not answer within 1 s"), "{}", run.stderr);
    drop(held.join().unwrap());
}
