//! Every administration command through the real binary on a temporary store: text and `--json`
//! output, exit statuses, and the audit trail each action leaves.

use crate::common;
use crate::common::TestEnv;
use crate::common::fixtures::{
    alice_and_bob_in_mixed_case, alice_challenged_by_her_post_office, current_code, secret_of,
};
use serde_json::json;

#[test]
fn postoffice_commands() {
    let env = TestEnv::new();
    alice_and_bob_in_mixed_case(&env);
    let list = env.ok(&["postoffice", "list", "--json"]).json();
    assert_eq!(
        list,
        json!([{"name": "example.com", "challenge": "never", "users_may_configure": false, "trusted_networks": [],
                "remember_in_always": false, "mail_programs": "inherit",
                "mailboxes": 2}])
    );
    let text = env.ok(&["postoffice", "list"]).stdout;
    assert!(text.contains("POST OFFICE") && text.contains("example.com"), "{text}");

    let set = env
        .ok(&["postoffice", "set", "example.com", "--challenge", "new-ip", "--users-may-configure", "yes", "--json"])
        .json();
    assert_eq!(
        set,
        json!({"postoffice": "example.com", "challenge": "new-ip", "users_may_configure": true, "trusted_networks": [],
               "remember_in_always": false, "mail_programs": "inherit"})
    );

    let dup = env.run(&["postoffice", "add", "EXAMPLE.COM"]);
    assert_eq!(dup.status, 2);
    assert!(dup.stderr.contains("already exists"), "{}", dup.stderr);

    let busy = env.run(&["postoffice", "remove", "example.com"]);
    assert_eq!(busy.status, 2);
    assert!(busy.stderr.contains("has 2 mailboxes"), "{}", busy.stderr);
    let removed = env.ok(&["postoffice", "remove", "example.com", "--with-mailboxes", "--json"]).json();
    assert_eq!(removed["mailboxes_removed"], 2);
    assert_eq!(env.ok(&["postoffice", "list", "--json"]).json(), json!([]));
    assert_eq!(env.ok(&["mailbox", "list", "--json"]).json(), json!([]));

    let audit = env.ok(&["audit", "--json"]).json();
    let actions: Vec<&str> = audit.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for expected in ["postoffice.add", "mailbox.add", "postoffice.set", "postoffice.remove"] {
        assert!(actions.contains(&expected), "{expected} missing from {actions:?}");
    }
    let failed = audit.as_array().unwrap().iter().find(|e| e["outcome"] == "failed").expect("a failed entry");
    assert!(
        failed["detail"].as_str().unwrap().contains("already exists")
            || failed["detail"].as_str().unwrap().contains("mailboxes")
    );
}

#[test]
fn mailbox_commands() {
    let env = TestEnv::new();
    alice_and_bob_in_mixed_case(&env);
    let list = env.ok(&["mailbox", "list", "--postoffice", "example.com", "--json"]).json();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[0]["address"], "alice@example.com");
    assert_eq!(list[0]["challenge"], "inherit");
    assert_eq!(list[0]["effective_challenge"], "never");
    assert_eq!(list[0]["provider"], "totp");
    assert_eq!(list[0]["status"], "not enrolled");
    assert_eq!(list[1]["address"], "bob@example.com");

    let set = env
        .ok(&[
            "mailbox",
            "set",
            "alice@example.com",
            "--challenge",
            "always",
            "--provider",
            "sms",
            "--sms-number",
            "+1 (555) 123-4567",
            "--json",
        ])
        .json();
    assert_eq!(set["challenge"], "always");
    assert_eq!(set["provider"], "sms");
    assert_eq!(set["sms_number"], "+15551234567");

    let smtp = env.run(&["mailbox", "set", "alice@example.com", "--provider", "smtp"]);
    assert_eq!(smtp.status, 2);
    assert!(smtp.stderr.contains("no alternate e-mail address"), "{}", smtp.stderr);
    let own = env.run(&["mailbox", "set", "alice@example.com", "--alt-email", "Alice@Example.com"]);
    assert_eq!(own.status, 2);
    assert!(own.stderr.contains("own address"), "{}", own.stderr);
    env.ok(&["mailbox", "set", "alice@example.com", "--provider", "smtp", "--alt-email", "alice.private@example.org"]);

    let show = env.ok(&["mailbox", "show", "alice@example.com", "--json"]).json();
    assert_eq!(show["provider"], "smtp");
    assert_eq!(show["alt_email"], "alice.private@example.org");
    assert_eq!(show["status"], "enrolled");
    assert_eq!(show["known_countries"], json!([]));
    let text = env.ok(&["mailbox", "show", "alice@example.com"]).stdout;
    assert!(text.contains("Alternate e-mail") && text.contains("alice.private@example.org"), "{text}");

    let reset = env.ok(&["mailbox", "reset", "alice@example.com", "--code", "--countries", "--json"]).json();
    assert_eq!(reset["code_reset"], true);
    assert_eq!(reset["forgotten"], json!({"countries": 0, "ips": 0}));
    assert_eq!(env.run(&["mailbox", "reset", "alice@example.com"]).status, 2);
    assert_eq!(env.ok(&["mailbox", "unlock", "alice@example.com", "--json"]).json()["unlocked"], true);

    let qr = env.run(&["mailbox", "qr", "alice@example.com", "--out", env.path("q.png").to_str().unwrap()]);
    assert_eq!(qr.status, 2);
    assert!(qr.stderr.contains("no TOTP secret yet"), "{}", qr.stderr);

    env.ok(&["mailbox", "remove", "bob@example.com"]);
    let missing = env.run(&["mailbox", "show", "bob@example.com"]);
    assert_eq!(missing.status, 2);
    assert!(missing.stderr.contains("there is no mailbox bob@example.com"), "{}", missing.stderr);

    let audit = env.ok(&["audit", "--mailbox", "alice@example.com", "--json"]).json();
    let actions: Vec<&str> = audit.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for expected in [
        "mailbox.add",
        "mailbox.set",
        "mailbox.reset_code",
        "mailbox.reset_countries",
        "mailbox.unlock",
        "mailbox.show_qr",
    ] {
        assert!(actions.contains(&expected), "{expected} missing from {actions:?}");
    }
    assert!(audit.as_array().unwrap().iter().all(|e| e["mailbox"] == "alice@example.com"));
    assert!(!audit.to_string().contains("+15551234567"), "the audit log shows phone numbers masked");
    let text = env.ok(&["audit", "--mailbox", "alice@example.com"]).stdout;
    assert!(text.contains("mailbox.reset_code"), "{text}");
}

#[test]
fn provider_and_settings_commands() {
    let env = TestEnv::new();
    alice_and_bob_in_mixed_case(&env);
    let list = env.ok(&["provider", "list", "--json"]).json();
    assert_eq!(list.as_array().unwrap().len(), 4);
    assert_eq!(
        list[1],
        json!({"provider": "sms", "label": "SMS address", "enabled": true, "admin_configurable": true, "user_configurable": true})
    );
    let set = env.ok(&["provider", "set", "sms", "--enabled", "false", "--json"]).json();
    assert_eq!(set["enabled"], false);
    assert_eq!(set["admin_configurable"], true);
    let refused =
        env.run(&["mailbox", "set", "alice@example.com", "--provider", "sms", "--sms-number", "+15551234567"]);
    assert_eq!(refused.status, 2);
    assert!(refused.stderr.contains("disabled"), "{}", refused.stderr);
    env.ok(&["provider", "set", "sms", "--enabled", "true", "--admin-configurable", "off"]);
    let refused =
        env.run(&["mailbox", "set", "alice@example.com", "--provider", "sms", "--sms-number", "+15551234567"]);
    assert!(refused.stderr.contains("does not let administrators"), "{}", refused.stderr);
    assert!(env.ok(&["provider", "list"]).stdout.contains("SMS address"));

    let settings = env.ok(&["settings", "show", "--json"]).json();
    assert_eq!(settings["issuer"], "mailmfa");
    assert_eq!(settings["lockout.threshold"], "5");
    assert_eq!(settings["code.lifetime_seconds"], "600");
    assert_eq!(settings["smtp.password"], "");
    env.ok(&["settings", "set", "smtp.password", "hunter2-relay-pass"]);
    env.ok(&["settings", "set", "issuer", "Example Mail"]);
    let settings = env.ok(&["settings", "show", "--json"]).json();
    assert_eq!(settings["smtp.password"], "***");
    assert_eq!(settings["issuer"], "Example Mail");
    assert!(!common::contains(&common::file_bytes(&env.store_path()), b"hunter2-relay-pass"));
    let wal = env.store_path().with_extension("sqlite3-wal");
    assert!(!common::contains(&common::file_bytes(&wal), b"hunter2-relay-pass"));
    let text = env.ok(&["settings", "show"]).stdout;
    assert!(text.contains("lockout.threshold") && !text.contains("hunter2"), "{text}");

    for (key, value, hint) in [
        ("lockout.threshold", "101", "from 1 to 100"),
        ("lockout.threshold", "zero", "whole number"),
        ("code.lifetime_seconds", "601", "30 to 600"),
        ("smtp.security", "ssl", "none, starttls, tls"),
        ("issuer", "Bad:Issuer", "':'"),
        ("no.such.key", "1", "unknown key"),
        ("geoip.path", "/no/such/file.mmdb", "does not exist"),
    ] {
        let run = env.run(&["settings", "set", key, value]);
        assert_eq!(run.status, 2, "{key}={value}");
        assert!(run.stderr.contains(hint), "{key}={value}: {}", run.stderr);
    }
    let audit = env.ok(&["audit", "--json"]).json().to_string();
    assert!(audit.contains("provider.set") && audit.contains("settings.set"));
    assert!(!audit.contains("hunter2"));
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let env = TestEnv::new();
    alice_and_bob_in_mixed_case(&env);
    let long = "x".repeat(10_000);
    let long_address = format!("{long}@example.com");
    let cases: Vec<Vec<&str>> = vec![
        vec!["mailbox", "add", "nobody@no-such-postoffice"],
        vec!["mailbox", "add", "no-at-sign"],
        vec!["mailbox", "add", "a b@example.com"],
        vec!["mailbox", "add", &long_address],
        vec!["postoffice", "add", &long],
        vec!["postoffice", "add", ""],
        vec!["mailbox", "set", "alice@example.com", "--sms-number", "555-1234"],
        vec!["mailbox", "set", "alice@example.com", "--sms-number", "+1555abc4567"],
        vec!["mailbox", "set", "alice@example.com", "--challenge", "sometimes"],
        vec!["mailbox", "set", "alice@example.com", "--provider", "carrier-pigeon"],
        vec!["mailbox", "set", "alice@example.com", "--alt-email", "not-an-address"],
        vec!["mailbox", "set", "alice@example.com"],
        vec!["postoffice", "set", "example.com", "--users-may-configure", "maybe"],
        vec!["postoffice", "set", "example.com", "--challenge", "inherit"],
        vec!["provider", "set", "fax", "--enabled", "true"],
        vec!["audit", "--mailbox", "nope"],
        vec!["import", "/no/such/file.csv"],
        vec!["no-such-command"],
    ];
    for args in cases {
        let run = env.run(&args);
        assert_eq!(run.status, 2, "{args:?}: {}{}", run.stdout, run.stderr);
        assert!(!run.stderr.contains("panicked"), "{args:?}: {}", run.stderr);
        if args[0] != "no-such-command" {
            assert_eq!(run.stderr.trim_end().lines().count(), 1, "{args:?}: {}", run.stderr);
            assert!(run.stderr.len() < 400, "{args:?}: error too long: {}", run.stderr);
        }
    }
}

#[test]
fn key_export_and_import_between_servers() {
    let server_a = TestEnv::new();
    alice_and_bob_in_mixed_case(&server_a);
    let export = server_a.path("store.key.export");
    server_a.ok(&["key", "export", export.to_str().unwrap()]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&export).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // Server B sees the same store file but has its own, empty key folder.
    let key_dir_b = server_a.path("keys-b");
    let as_b = |args: &[&str]| {
        common::output(server_a.command().env("MAILMFA_KEY_DIR", &key_dir_b).args(args).output().unwrap())
    };
    let refused = as_b(&["mailbox", "list"]);
    assert_eq!(refused.status, 2);
    assert!(
        refused.stderr.contains("no key for the store") && refused.stderr.contains("key import"),
        "{}",
        refused.stderr
    );

    let wrong = server_a.path("wrong.key");
    let other = TestEnv::new();
    other.ok(&["postoffice", "list"]);
    other.ok(&["key", "export", wrong.to_str().unwrap()]);
    let mismatch = as_b(&["key", "import", wrong.to_str().unwrap()]);
    assert_eq!(mismatch.status, 2);
    assert!(mismatch.stderr.contains("belongs to store"), "{}", mismatch.stderr);

    let imported = as_b(&["key", "import", export.to_str().unwrap(), "--json"]);
    assert_eq!(imported.status, 0, "{}", imported.stderr);
    let list = as_b(&["mailbox", "list", "--json"]);
    assert_eq!(list.status, 0, "{}", list.stderr);
    assert_eq!(list.json().as_array().unwrap().len(), 2);
    let audit = server_a.ok(&["audit", "--json"]).json().to_string();
    assert!(audit.contains("key.export") && audit.contains("key.import"));
}

#[test]
fn no_command_does_not_crash_and_help_lists_commands() {
    let env = TestEnv::new();
    let help = env.ok(&["--help"]);
    for word in ["postoffice", "mailbox", "provider", "settings", "import", "key", "audit"] {
        assert!(help.stdout.contains(word), "{word} missing from help");
    }
    assert!(env.ok(&["--version"]).stdout.contains(env!("CARGO_PKG_VERSION")));
}

/// The QR code PNG carries the TOTP secret: it is written for its owner only, and a write that
/// fails is audited as failed.
#[cfg(unix)]
#[test]
fn the_qr_code_file_is_owner_only_and_a_failed_write_is_audited() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    alice_and_bob_in_mixed_case(&env);
    env.ok(&["mailbox", "set", "alice@example.com", "--challenge", "always"]);
    env.ok(&["login", "begin", "alice@example.com", "--ip", "192.0.2.1"]);
    let png = env.path("alice.png");
    env.ok(&["mailbox", "qr", "alice@example.com", "--out", png.to_str().unwrap()]);
    assert_eq!(std::fs::metadata(&png).unwrap().permissions().mode() & 0o777, 0o600);

    let nowhere = env.path("no-such-folder/alice.png");
    let run = env.run(&["mailbox", "qr", "alice@example.com", "--out", nowhere.to_str().unwrap()]);
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(run.stderr.contains("cannot write"), "{}", run.stderr);
    let audit = env.ok(&["audit", "--json"]).json();
    let last = &audit[0];
    assert_eq!(
        (last["action"].as_str(), last["outcome"].as_str()),
        (Some("mailbox.show_qr"), Some("failed")),
        "{audit}"
    );
}

/// A reader that goes away early (`mailmfa mailbox list | head -1`) is not a crash.
#[test]
fn a_closed_stdout_is_not_a_panic() {
    let env = TestEnv::new();
    alice_and_bob_in_mixed_case(&env);
    let mut csv = String::from("postoffice,mailbox,challenge,provider,sms_number,alt_email\n");
    for i in 0..3000 {
        csv.push_str(&format!("example.com,user{i},,,,\n"));
    }
    std::fs::write(env.path("many.csv"), csv).unwrap();
    env.ok(&["import", env.path("many.csv").to_str().unwrap()]);
    for args in [&["mailbox", "list"][..], &["mailbox", "list", "--json"], &["audit", "--limit", "5000"]] {
        let mut child = env
            .command()
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(matches!(out.status.code(), Some(0..=2)), "{args:?}: {:?} {stderr}", out.status);
    }
}

/// A post office's trusted networks from the command line: shown by `postoffice list`, cleared
/// with "", and nonsense refused with a clear error that changes nothing.
#[test]
fn postoffice_trusted_networks_are_set_listed_and_checked() {
    let env = TestEnv::new();
    env.ok(&["postoffice", "add", "example.com"]);
    let set =
        env.ok(&["postoffice", "set", "example.com", "--trusted-networks", "10.0.0.0/8, 2001:db8::/32", "--json"]);
    assert_eq!(set.json()["trusted_networks"], serde_json::json!(["10.0.0.0/8", "2001:db8::/32"]));
    let listed = env.ok(&["postoffice", "list", "--json"]).json();
    assert_eq!(listed[0]["trusted_networks"], serde_json::json!(["10.0.0.0/8", "2001:db8::/32"]));
    assert!(env.ok(&["postoffice", "list"]).stdout.contains("10.0.0.0/8, 2001:db8::/32"));

    for nonsense in ["10.0.0.0/33", "10.0.0.1/8", "ten dot zero"] {
        let refused = env.run(&["postoffice", "set", "example.com", "--trusted-networks", nonsense]);
        assert_eq!(refused.status, 2, "{nonsense}: {}", refused.stderr);
        assert!(refused.stderr.contains("network"), "{nonsense}: {}", refused.stderr);
    }
    assert_eq!(env.ok(&["postoffice", "list", "--json"]).json()[0]["trusted_networks"].as_array().unwrap().len(), 2);
    env.ok(&["postoffice", "set", "example.com", "--trusted-networks", ""]);
    assert_eq!(env.ok(&["postoffice", "list", "--json"]).json()[0]["trusted_networks"], serde_json::json!([]));
    let audit = env.ok(&["audit", "--json"]).json();
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["detail"].as_str().unwrap_or("").contains("trusted_networks=10.0.0.0/8"))
    );
}

/// The coverage report counts exactly as the mailbox table does: on a store with every mode,
/// provider and state (enrolled by real logins, one locked, some never signed in), each post
/// office's numbers equal those counted from `mailbox list --json`, and the CSV says the same.
#[test]
fn the_coverage_report_counts_as_the_mailbox_table_does() {
    let env = TestEnv::new();
    every_mode_provider_and_state(&env);
    let report = env.ok(&["report", "coverage", "--json"]).json();
    let table = env.ok(&["mailbox", "list", "--json"]).json();
    let mut totals = std::collections::BTreeMap::<String, i64>::new();
    let postoffices = report["postoffices"].as_array().unwrap();
    assert_eq!(postoffices.len(), 4, "every post office, the empty one too");
    for row in postoffices {
        let name = row["postoffice"].as_str().unwrap();
        let mine: Vec<&serde_json::Value> = table
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["address"].as_str().unwrap().ends_with(&format!("@{name}")))
            .collect();
        let count = |field: &str, value: &str| mine.iter().filter(|m| m[field] == value).count() as i64;
        assert_eq!(row["mailboxes"], mine.len() as i64, "{name}");
        for mode in ["never", "always", "new-ip", "new-country"] {
            assert_eq!(row["modes"][mode], count("effective_challenge", mode), "{name} {mode}");
        }
        for provider in ["totp", "sms", "smtp"] {
            assert_eq!(row["providers"][provider], count("provider", provider), "{name} {provider}");
        }
        for status in ["not enrolled", "pending", "enrolled", "locked"] {
            assert_eq!(row["status"][status], count("status", status), "{name} {status}");
        }
        let never = mine.iter().filter(|m| m["last_login"].is_null()).count() as i64;
        assert_eq!(row["never_signed_in"], never, "{name}");
        *totals.entry("mailboxes".to_owned()).or_default() += mine.len() as i64;
    }
    assert_eq!(report["total"]["mailboxes"], totals["mailboxes"]);
    assert_eq!(report["total"]["status"]["locked"], 1);
    assert!(report["total"]["status"]["enrolled"].as_i64().unwrap() >= 3, "{report}");
    assert_eq!(report["total"]["no_recovery_codes"], 1, "user2 used all ten: {report}");
    assert_eq!(report["postoffices"][2]["no_recovery_codes"], 1, "user2 is in c.example: {report}");

    the_csv_says_the_same(&env, &report);

    let one = env.ok(&["report", "coverage", "--postoffice", "b.example", "--json"]).json();
    assert_eq!(one["postoffices"].as_array().unwrap().len(), 1);
    let mut only = one["postoffices"][0].clone();
    only.as_object_mut().unwrap().remove("postoffice");
    assert_eq!(one["total"], only, "the total of one post office is that post office");
    let unknown = env.run(&["report", "coverage", "--postoffice", "nope.example"]);
    assert_eq!(unknown.status, 2);
    assert!(unknown.stderr.contains("no post office named nope.example"), "{}", unknown.stderr);
}

/// Three post offices sharing 40 imported mailboxes of every mode and provider (b.example
/// challenging every login), user99 added and an empty post office, and states made by real
/// logins: four enrolled (user2 with all its recovery codes used, user14 then locked by five wrong
/// codes), user3 begun (pending, or sent a code), user1 signed in without a challenge, the rest
/// never signed in.
fn every_mode_provider_and_state(env: &TestEnv) {
    let modes = ["", "never", "always", "new-ip", "new-country"];
    let mut csv = String::from("postoffice,mailbox,challenge,provider,sms_number,alt_email\n");
    for i in 0..40 {
        let po = ["a.example", "b.example", "c.example"][i % 3];
        let (provider, sms, alt) = match i % 4 {
            0 => ("sms", "+15551234567", ""),
            1 => ("smtp", "", "home@example.org"),
            _ => ("totp", "", ""),
        };
        csv += &format!("{po},user{i},{},{provider},{sms},{alt}\n", modes[i % 5]);
    }
    std::fs::write(env.path("mailboxes.csv"), csv).unwrap();
    env.ok(&["import", env.path("mailboxes.csv").to_str().unwrap()]);
    env.ok(&["postoffice", "set", "b.example", "--challenge", "always"]);
    env.ok(&["postoffice", "add", "empty.example"]);
    env.ok(&["mailbox", "add", "user99@a.example"]);
    for i in [2, 6, 10, 14] {
        // Enrolled by a real login; 14 then locked by five wrong codes.
        let address = format!("user{i}@{}", ["a.example", "b.example", "c.example"][i % 3]);
        env.ok(&["mailbox", "set", &address, "--challenge", "always"]);
        let begun = env.ok(&["login", "begin", &address, "--ip", "203.0.113.9", "--json"]).json();
        let uri = begun["otpauth_uri"].as_str().unwrap();
        let code = current_code(&secret_of(uri));
        let verified = env.ok(&["login", "verify", &address, "--ip", "203.0.113.9", "--code", &code, "--json"]).json();
        if i == 2 {
            // All ten recovery codes the enrolment brought used up: none left.
            for used in verified["recovery_codes"].as_array().unwrap() {
                env.ok(&["login", "verify", &address, "--ip", "203.0.113.9", "--code", used.as_str().unwrap()]);
            }
        }
        if i == 14 {
            for _ in 0..5 {
                env.run(&["login", "verify", &address, "--ip", "203.0.113.9", "--code", "000000"]);
            }
        }
    }
    env.ok(&["login", "begin", "user3@a.example", "--ip", "203.0.113.9"]); // pending or a code sent
    env.ok(&["login", "begin", "user1@b.example", "--ip", "203.0.113.9"]); // mode never: signed in
}

/// The CSV of the coverage report has the columns the documentation names and the same totals as
/// `report` (its JSON).
fn the_csv_says_the_same(env: &TestEnv, report: &serde_json::Value) {
    let csv = env.ok(&["report", "coverage", "--csv"]).stdout;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "postoffice,mailboxes,never,always,new-ip,new-country,totp,sms,smtp,passkey,not_enrolled,pending,enrolled,locked,never_signed_in,no_recovery_codes,password_in_mail_programs,with_passkeys,passkeys"
    );
    let all: Vec<i64> = lines.last().unwrap().split(',').skip(1).map(|n| n.parse().unwrap()).collect();
    assert_eq!(all[0], report["total"]["mailboxes"].as_i64().unwrap());
    assert_eq!(all[12], 1, "the locked column of (all)");
    assert_eq!(all[14], 1, "the no_recovery_codes column of (all)");
}

/// Remembering a device from the command line: `login verify --remember` prints its token once,
/// `login begin --device-token` lets that device through, `mailbox show` counts it, and
/// `mailbox reset --devices` forgets it.
#[test]
fn a_remembered_device_from_the_command_line() {
    let env = TestEnv::new();
    alice_challenged_by_her_post_office(&env);
    env.ok(&["settings", "set", "remember.days", "14"]);
    // Prompt Always asks a remembered device too, unless the post office lets it skip.
    env.ok(&["postoffice", "set", "example.com", "--remember-in-always", "true"]);
    let codes = env.ok(&["mailbox", "recovery-codes", "alice@example.com", "--new", "--json"]).json();
    let code = |i: usize| codes["recovery_codes"][i].as_str().unwrap().to_owned();
    env.ok(&["login", "begin", "alice@example.com", "--ip", "203.0.113.9"]);
    let text = env
        .ok(&["login", "verify", "alice@example.com", "--ip", "203.0.113.9", "--code", &code(0), "--remember"])
        .stdout;
    let token = text.split("its token: ").nth(1).unwrap_or_else(|| panic!("{text}")).trim().to_owned();
    let begun =
        env.ok(&["login", "begin", "alice@example.com", "--ip", "198.51.100.4", "--device-token", &token, "--json"]);
    assert_eq!(begun.json(), serde_json::json!({"decision": "allow", "reason": "remembered_device"}));
    assert_eq!(env.ok(&["mailbox", "show", "alice@example.com", "--json"]).json()["remembered_devices"], 1);

    let reset = env.ok(&["mailbox", "reset", "alice@example.com", "--devices", "--json"]).json();
    assert_eq!(reset["devices_forgotten"], 1);
    let again =
        env.ok(&["login", "begin", "alice@example.com", "--ip", "198.51.100.4", "--device-token", &token, "--json"]);
    assert_eq!(again.json()["decision"], "enroll", "forgotten: asked again (alice has no app yet)");
    let json = env
        .ok(&[
            "login",
            "verify",
            "alice@example.com",
            "--ip",
            "198.51.100.4",
            "--code",
            &code(1),
            "--remember",
            "--json",
        ])
        .json();
    assert!(json["device_token"].as_str().is_some_and(|t| t != token), "{json}");
    // An administrator's access pass lets the user in but does not vouch for the device.
    let pass = env.ok(&["mailbox", "tap", "alice@example.com", "--json"]).json()["tap"].as_str().unwrap().to_owned();
    let text =
        env.ok(&["login", "verify", "alice@example.com", "--ip", "198.51.100.4", "--code", &pass, "--remember"]).stdout;
    assert!(text.contains("not remembered") && !text.contains("its token"), "{text}");
    let none = env.run(&["mailbox", "reset", "alice@example.com"]);
    assert_eq!(none.status, 2);
    assert!(none.stderr.contains("--devices"), "{}", none.stderr);
}

/// `mailbox recovery-codes` from the command line: the count, `--new` shown once as text and
/// JSON (the old set void), `mailbox show` counting what is left, and an unknown mailbox refused.
#[test]
fn recovery_codes_from_the_command_line() {
    let env = TestEnv::new();
    alice_challenged_by_her_post_office(&env);
    let none = env.ok(&["mailbox", "recovery-codes", "alice@example.com", "--json"]).json();
    assert_eq!(none, serde_json::json!({"address": "alice@example.com", "recovery_codes_left": 0}));

    let text = env.ok(&["mailbox", "recovery-codes", "alice@example.com", "--new"]).stdout;
    assert!(text.starts_with("New recovery codes for alice@example.com (the old ones no longer work):"), "{text}");
    let old: Vec<&str> = text.split_whitespace().filter(|w| w.len() == 11 && w.as_bytes()[5] == b'-').collect();
    assert_eq!(old.len(), 10, "{text}");
    let issued = env.ok(&["mailbox", "recovery-codes", "alice@example.com", "--new", "--json"]).json();
    assert_eq!(issued["address"], "alice@example.com");
    let new: Vec<&str> = issued["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    assert_eq!(new.len(), 10);
    assert!(new.iter().all(|c| !old.contains(c)), "a new set");

    env.ok(&["login", "begin", "alice@example.com", "--ip", "203.0.113.9"]);
    let void = env.run(&["login", "verify", "alice@example.com", "--ip", "203.0.113.9", "--code", old[0]]);
    assert_eq!(void.status, 1, "the old set is void");
    env.ok(&["login", "verify", "alice@example.com", "--ip", "203.0.113.9", "--code", new[0]]);
    let show = env.ok(&["mailbox", "show", "alice@example.com", "--json"]).json();
    assert_eq!(show["recovery_codes_left"], 9);
    assert!(env.ok(&["mailbox", "show", "alice@example.com"]).stdout.contains("Recovery codes left"));
    let text = env.ok(&["mailbox", "recovery-codes", "alice@example.com"]).stdout;
    assert!(text.contains("alice@example.com has 9 unused recovery codes"), "{text}");

    let unknown = env.run(&["mailbox", "recovery-codes", "nobody@example.com", "--new"]);
    assert_eq!(unknown.status, 2, "{}", unknown.stderr);
    assert!(unknown.stderr.contains("no mailbox nobody@example.com"), "{}", unknown.stderr);
}

/// `mailbox tap` from the command line: shown once (text and JSON), accepted by `login verify`,
/// listed by `mailbox show`, a lifetime out of range refused, and only a hash in the store file.
#[test]
fn a_temporary_access_pass_from_the_command_line() {
    let env = TestEnv::new();
    alice_challenged_by_her_post_office(&env);
    let issued = env.ok(&["mailbox", "tap", "alice@example.com", "--minutes", "120", "--once", "--json"]).json();
    let first = issued["tap"].as_str().unwrap().to_owned();
    assert_eq!((issued["address"].as_str(), issued["once"].as_bool()), (Some("alice@example.com"), Some(true)));
    assert!(issued["expires_at"].as_str().unwrap().ends_with('Z'), "{issued}");
    // A new pass replaces the old one.
    let text = env.ok(&["mailbox", "tap", "alice@example.com"]).stdout;
    assert!(
        text.contains("Temporary access pass for alice@example.com: ") && text.contains("not shown again"),
        "{text}"
    );
    let pass = text.split(": ").nth(1).unwrap().lines().next().unwrap().to_owned();
    assert_ne!(pass, first);
    assert!(!env.ok(&["mailbox", "show", "alice@example.com", "--json"]).json()["access_pass_until"].is_null());

    let raw = std::fs::read(env.store_path()).unwrap();
    let letters = pass.replace('-', "");
    assert!(!raw.windows(letters.len()).any(|w| w == letters.as_bytes()), "the pass is in the store file");

    env.ok(&["login", "begin", "alice@example.com", "--ip", "203.0.113.9"]);
    let replaced = env.run(&["login", "verify", "alice@example.com", "--ip", "203.0.113.9", "--code", &first]);
    assert_eq!(replaced.status, 1, "the replaced pass still worked");
    let verified = env.run(&["login", "verify", "alice@example.com", "--ip", "203.0.113.9", "--code", &pass, "--json"]);
    assert_eq!(verified.status, 0, "{}", verified.stderr);
    assert_eq!(verified.json()["result"], "accepted");

    let short = env.run(&["mailbox", "tap", "alice@example.com", "--minutes", "5"]);
    assert_eq!(short.status, 2);
    assert!(short.stderr.contains("10 to 43200 minutes"), "{}", short.stderr);
    let bad = env.run(&["login", "verify", "alice@example.com", "--ip", "203.0.113.9", "--code", "abc"]);
    assert_eq!(bad.status, 2);
    assert!(bad.stderr.contains("6 digits (or a recovery code or access pass"), "{}", bad.stderr);
}
