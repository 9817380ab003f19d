//! CSV import through the real binary and the service: creating and updating post offices and
//! mailboxes, every kind of bad row refused at its line with the store unchanged, and 100,000 rows.

use std::fmt::Write as _;
use std::fs;
use std::time::Instant;

use crate::common::TestEnv;
use crate::common::fixtures::alice_on_sms_and_bob_on_smtp;
use mailmfa::service::{IMPORT_COLUMNS, ImportSummary, ServiceError};
use serde_json::{Value, json};

const HEADER: &str = "postoffice,mailbox,challenge,provider,sms_number,alt_email";
const NOW: i64 = 1_700_000_000;

/// Writes `content` to a file in the test folder and returns its path.
fn csv_file(env: &TestEnv, name: &str, content: impl AsRef<[u8]>) -> String {
    let path = env.path(name);
    fs::write(&path, content).unwrap();
    path.to_str().unwrap().to_owned()
}

fn csv(rows: &[&str]) -> String {
    let mut text = format!("{HEADER}\n");
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    text
}

/// Everything the administrator can see of post offices and mailboxes.
fn snapshot(env: &TestEnv) -> Value {
    let postoffices = env.ok(&["postoffice", "list", "--json"]).json();
    let mailboxes = env.ok(&["mailbox", "list", "--json"]).json();
    let details: Vec<Value> = mailboxes
        .as_array()
        .unwrap()
        .iter()
        .map(|m| env.ok(&["mailbox", "show", m["address"].as_str().unwrap(), "--json"]).json())
        .collect();
    json!({"postoffices": postoffices, "mailboxes": mailboxes, "details": details})
}

fn show(env: &TestEnv, address: &str) -> Value {
    env.ok(&["mailbox", "show", address, "--json"]).json()
}

fn import_json(env: &TestEnv, path: &str) -> Value {
    env.ok(&["import", path, "--json"]).json()
}

#[test]
fn import_creates_post_offices_and_mailboxes_with_their_policies() {
    let env = TestEnv::new();
    alice_on_sms_and_bob_on_smtp(&env);
    let path = csv_file(
        &env,
        "new.csv",
        csv(&[
            "Example.com,,always,,,",
            "example.com,carol,new-country,sms,+1 (555) 987-6543,",
            "example.com,Dave@Example.com,,smtp,,dave.private@example.org",
            "example.com,erin,,,,",
            "other.org,frank,inherit,totp,,",
            "other.org,grace,never,,+44 20 7946 0958,grace@example.net",
            "third.example,,,,,",
        ]),
    );
    let summary = import_json(&env, &path);
    assert_eq!(summary, json!({"rows": 7, "postoffices_created": 2, "mailboxes_created": 5, "mailboxes_updated": 0}));

    let postoffices = env.ok(&["postoffice", "list", "--json"]).json();
    assert_eq!(
        postoffices,
        json!([
            {"name": "example.com", "challenge": "always", "users_may_configure": false, "trusted_networks": [], "remember_in_always": false, "mail_programs": "inherit", "mailboxes": 5},
            {"name": "other.org", "challenge": "never", "users_may_configure": false, "trusted_networks": [], "remember_in_always": false, "mail_programs": "inherit", "mailboxes": 2},
            {"name": "third.example", "challenge": "never", "users_may_configure": false, "trusted_networks": [], "remember_in_always": false, "mail_programs": "inherit", "mailboxes": 0},
        ])
    );
    let carol = show(&env, "carol@example.com");
    assert_eq!(carol["challenge"], "new-country");
    assert_eq!(carol["provider"], "sms");
    assert_eq!(carol["sms_number"], "+15559876543");
    assert_eq!(carol["alt_email"], Value::Null);
    let dave = show(&env, "dave@example.com");
    assert_eq!(dave["provider"], "smtp");
    assert_eq!(dave["alt_email"], "dave.private@example.org");
    assert_eq!(dave["challenge"], "inherit");
    assert_eq!(dave["effective_challenge"], "always", "the post office row set the default");
    let erin = show(&env, "erin@example.com");
    assert_eq!((erin["challenge"].as_str(), erin["provider"].as_str()), (Some("inherit"), Some("totp")));
    assert_eq!(erin["status"], "not enrolled");
    let grace = show(&env, "grace@other.org");
    assert_eq!(grace["provider"], "totp");
    assert_eq!(grace["sms_number"], "+442079460958");
    assert_eq!(grace["alt_email"], "grace@example.net");
    assert_eq!(grace["effective_challenge"], "never");
    // The mailboxes that were there are untouched.
    let alice = show(&env, "alice@example.com");
    assert_eq!((alice["provider"].as_str(), alice["sms_number"].as_str()), (Some("sms"), Some("+15551234567")));

    let audit = env.ok(&["audit", "--json"]).json();
    let entry = audit.as_array().unwrap().iter().find(|e| e["action"] == "import").expect("an import entry");
    assert_eq!(entry["outcome"], "ok");
    assert!(entry["detail"].as_str().unwrap().contains("mailboxes_created=5"), "{entry}");
}

#[test]
fn import_updates_existing_mailboxes_and_empty_cells_keep_values() {
    let env = TestEnv::new();
    alice_on_sms_and_bob_on_smtp(&env);
    let path = csv_file(
        &env,
        "update.csv",
        csv(&[
            "example.com,alice,,,,alice.alt@example.net",
            "example.com,bob,never,,,",
            "example.com,bob@example.com,,,+15550001111,",
            "example.com,Alice,,,,",
            "example.com,zoe,always,,,",
        ]),
    );
    let summary = import_json(&env, &path);
    assert_eq!(summary["rows"], 5);
    assert_eq!(summary["postoffices_created"], 0);
    assert_eq!(summary["mailboxes_created"], 1);
    assert_eq!(summary["mailboxes_updated"], 3, "{summary}");

    let alice = show(&env, "alice@example.com");
    assert_eq!(alice["challenge"], "always");
    assert_eq!(alice["provider"], "sms");
    assert_eq!(alice["sms_number"], "+15551234567");
    assert_eq!(alice["alt_email"], "alice.alt@example.net");
    let bob = show(&env, "bob@example.com");
    assert_eq!(bob["challenge"], "never");
    assert_eq!(bob["provider"], "smtp");
    assert_eq!(bob["alt_email"], "bob.private@example.org");
    assert_eq!(bob["sms_number"], "+15550001111");
    let po = env.ok(&["postoffice", "list", "--json"]).json();
    assert_eq!(po[0]["challenge"], "new-ip", "no post office row, no change to its mode");
    assert_eq!(po[0]["mailboxes"], 3);

    // The same file again changes nothing that is visible.
    let before = snapshot(&env);
    import_json(&env, &path);
    assert_eq!(snapshot(&env), before);
}

#[test]
fn import_accepts_reordered_headers_crlf_quotes_and_a_bom() {
    let env = TestEnv::new();
    alice_on_sms_and_bob_on_smtp(&env);
    let reordered = "Mailbox , POSTOFFICE,alt_email,SMS_Number,provider,challenge\r\n\
                     carol,example.com,,\"+1 555 222 3333\",sms,always\r\n\
                     \"dave\",\"example.com\",\"dave@example.net\",,smtp,\r\n";
    let summary = import_json(&env, &csv_file(&env, "reordered.csv", reordered));
    assert_eq!(summary["mailboxes_created"], 2, "{summary}");
    assert_eq!(show(&env, "carol@example.com")["sms_number"], "+15552223333");
    assert_eq!(show(&env, "dave@example.com")["alt_email"], "dave@example.net");

    // Spreadsheet programs on Windows save "CSV UTF-8" with a byte order mark.
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend_from_slice(csv(&["example.com,erin,never,,,"]).replace('\n', "\r\n").as_bytes());
    let run = env.run(&["import", &csv_file(&env, "bom.csv", bom), "--json"]);
    assert_eq!(run.status, 0, "a file with a UTF-8 byte order mark is refused: {}", run.stderr);
    assert_eq!(show(&env, "erin@example.com")["challenge"], "never");
}

#[test]
fn a_header_only_file_imports_nothing() {
    let env = TestEnv::new();
    alice_on_sms_and_bob_on_smtp(&env);
    let before = snapshot(&env);
    let summary = import_json(&env, &csv_file(&env, "header.csv", format!("{HEADER}\n")));
    assert_eq!(summary, json!({"rows": 0, "postoffices_created": 0, "mailboxes_created": 0, "mailboxes_updated": 0}));
    let text = env.ok(&["import", &csv_file(&env, "blank-rows.csv", format!("{HEADER}\n,,,,,\n\n"))]).stdout;
    assert!(text.contains("Imported 0 rows"), "{text}");
    assert_eq!(snapshot(&env), before);
}

#[test]
fn the_text_summary_is_one_sentence() {
    let env = TestEnv::new();
    alice_on_sms_and_bob_on_smtp(&env);
    let out = env.ok(&["import", &csv_file(&env, "a.csv", csv(&["new.example,x,,,,", "example.com,alice,never,,,"]))]);
    assert_eq!(
        out.stdout.trim(),
        "Imported 2 rows: 1 post offices and 1 mailboxes created, 1 mailboxes updated.",
        "{}",
        out.stdout
    );
}

/// One bad file: what it holds, the line the error must name, and words the reason must contain.
struct BadCase {
    name: &'static str,
    content: Vec<u8>,
    line: u64,
    reason: &'static str,
}

fn bad(name: &'static str, content: impl Into<Vec<u8>>, line: u64, reason: &'static str) -> BadCase {
    BadCase { name, content: content.into(), line, reason }
}

fn bad_cases() -> Vec<BadCase> {
    let good = "example.com,carol,always,,,";
    let long = format!("example.com,{},,,,", "m".repeat(10_000));
    let mut many = String::from(HEADER);
    many.push('\n');
    for i in 0..2000 {
        writeln!(many, "bulk{}.example,user{i},always,sms,+1555{i:07},", i % 7).unwrap();
    }
    many.push_str("bulk1.example,last,always,sms,not-a-number,\n");
    let mut invalid_utf8 = csv(&[good]).into_bytes();
    invalid_utf8.extend_from_slice(b"example.com,d\xffve,,,,\n");
    vec![
        bad(
            "bad phone",
            csv(&[good, "example.com,dave,always,,,", "example.com,erin,,sms,555-1234,", good]),
            4,
            "phone number",
        ),
        bad("phone with letters", csv(&["example.com,erin,,sms,+1555CALLNOW,"]), 2, "only digits"),
        bad("unknown mode", csv(&[good, "example.com,dave,sometimes,,,"]), 3, "challenge mode"),
        bad("inherit for a post office", csv(&["example.com,,inherit,,,"]), 2, "challenge mode"),
        bad("unknown provider", csv(&[good, good, "example.com,dave,,fax,,"]), 4, "use totp, sms, smtp or passkey"),
        bad("sms without number", csv(&[good, "example.com,dave,,sms,,"]), 3, "no SMS number"),
        bad("smtp without address", csv(&["example.com,dave,,smtp,,"]), 2, "no alternate e-mail address"),
        bad("alt email is own address", csv(&[good, "example.com,carol,,smtp,,Carol@Example.COM"]), 3, "own address"),
        bad("alt email of existing mailbox", csv(&["example.com,alice,,,,alice@example.com"]), 2, "own address"),
        bad("bad alt email", csv(&["example.com,dave,,,,dave.example.org"]), 2, "e-mail address"),
        bad("wrong column count", csv(&[good, "example.com,dave,always", good]), 3, "expected 6 cells but found 3"),
        bad("too many columns", csv(&["example.com,dave,always,,,,extra"]), 2, "expected 6 cells but found 7"),
        bad("unknown header column", format!("{HEADER},notes\nexample.com,dave,,,,,hi\n"), 1, "unknown column 'notes'"),
        bad(
            "a column twice",
            format!("{HEADER},Provider\nexample.com,dave,,totp,,,sms\n"),
            1,
            "the column 'provider' appears twice",
        ),
        bad(
            "missing header column",
            "postoffice,mailbox,challenge,provider,sms_number\nexample.com,dave,,,\n",
            1,
            "no 'alt_email' column",
        ),
        bad("no header", "example.com,dave,always,,,\n", 1, "no 'postoffice' column"),
        bad("empty file", "", 1, "empty"),
        bad("blank file", "\n\n\n", 1, "empty"),
        bad("mailbox in another post office", csv(&["example.com,dave@other.org,,,,"]), 2, "not in the post office"),
        bad("post office row with provider", csv(&["example.com,,always,sms,,"]), 2, "belong to a mailbox"),
        bad("bad post office name", csv(&[good, "bad po!,dave,,,,"]), 3, "post office name"),
        bad("empty post office", csv(&[",dave,,,,"]), 2, "post office name is empty"),
        bad("bad mailbox name", csv(&["example.com,da ve,,,,"]), 2, "mailbox name"),
        bad("10 kB cell", csv(&[good, &long]), 3, "too long"),
        bad("invalid UTF-8", invalid_utf8, 3, "UTF-8"),
        bad("bad row after 2000 good ones", many, 2002, "phone number"),
    ]
}

#[test]
fn a_bad_row_is_refused_at_its_line_and_nothing_changes() {
    let env = TestEnv::new();
    alice_on_sms_and_bob_on_smtp(&env);
    let before = snapshot(&env);
    let audit_before = env.ok(&["audit", "--json", "--limit", "10000"]).json().as_array().unwrap().len();
    let mut problems = Vec::new();
    for case in bad_cases() {
        let path = csv_file(&env, "bad.csv", &case.content);
        let run = env.run(&["import", &path]);
        let stderr = run.stderr.trim_end();
        let expected_line = format!("line {}:", case.line);
        if run.status != 2
            || stderr.lines().count() != 1
            || stderr.len() > 400
            || stderr.contains("panicked")
            || !stderr.contains(&expected_line)
            || !stderr.contains(case.reason)
            || !stderr.contains("nothing was imported")
            || !run.stdout.is_empty()
        {
            problems.push(format!(
                "{}: exit {}, expected {expected_line:?} and {:?}; stderr ({} bytes): {}",
                case.name,
                run.status,
                case.reason,
                stderr.len(),
                stderr.chars().take(300).collect::<String>()
            ));
        }
        let json = env.run(&["import", &path, "--json"]);
        if json.status != 2 || !json.stdout.is_empty() {
            problems.push(format!("{} (--json): exit {}, stdout {:?}", case.name, json.status, json.stdout));
        }
        if snapshot(&env) != before {
            problems.push(format!("{}: the store changed", case.name));
            break;
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // Refused imports may be audited as failed, but never as done.
    let audit = env.ok(&["audit", "--json", "--limit", "10000"]).json();
    let entries = audit.as_array().unwrap();
    assert!(entries.len() >= audit_before);
    assert!(!entries.iter().any(|e| e["action"] == "import" && e["outcome"] == "ok"), "{audit}");
}

/// Blank lines count: the line named is the line an editor shows.
#[test]
fn line_numbers_count_blank_lines() {
    let env = TestEnv::new();
    alice_on_sms_and_bob_on_smtp(&env);
    let before = snapshot(&env);
    for (content, line) in [
        (format!("{HEADER}\nexample.com,carol,,,,\n\nexample.com,dave,sometimes,,,\n"), 4),
        (format!("{HEADER}\n\n\n\nexample.com,dave,sometimes,,,\n"), 5),
        (format!("{HEADER}\r\nexample.com,carol,,,,\r\n\r\nexample.com,dave,,sms,,\r\n"), 4),
    ] {
        let run = env.run(&["import", &csv_file(&env, "blank.csv", &content)]);
        assert_eq!(run.status, 2);
        assert!(run.stderr.contains(&format!("line {line}:")), "expected line {line} for {content:?}: {}", run.stderr);
    }
    assert_eq!(snapshot(&env), before);
}

#[test]
fn a_disabled_or_locked_down_provider_is_refused() {
    let env = TestEnv::new();
    alice_on_sms_and_bob_on_smtp(&env);
    let row = csv(&["example.com,carol,,,,", "example.com,dave,always,sms,+15551230000,"]);
    let path = csv_file(&env, "sms.csv", row);
    for (switch, reason) in [("--enabled", "disabled"), ("--admin-configurable", "does not let administrators")] {
        env.ok(&["provider", "set", "sms", switch, "false"]);
        let before = snapshot(&env);
        let run = env.run(&["import", &path]);
        assert_eq!(run.status, 2, "{switch}: {}", run.stdout);
        assert!(run.stderr.contains("line 3:") && run.stderr.contains(reason), "{switch}: {}", run.stderr);
        assert_eq!(snapshot(&env), before, "{switch}: the store changed");
        env.ok(&["provider", "set", "sms", switch, "true"]);
    }
    // With the switches back on, the same file imports.
    import_json(&env, &path);
    assert_eq!(show(&env, "dave@example.com")["provider"], "sms");
}

#[test]
fn a_missing_or_unreadable_file_is_a_clear_error() {
    let env = TestEnv::new();
    alice_on_sms_and_bob_on_smtp(&env);
    let before = snapshot(&env);
    let run = env.run(&["import", env.path("no-such.csv").to_str().unwrap()]);
    assert_eq!(run.status, 2);
    assert!(run.stderr.contains("cannot read") && run.stderr.contains("no-such.csv"), "{}", run.stderr);
    let run = env.run(&["import", env.dir.path().to_str().unwrap()]);
    assert_eq!(run.status, 2, "{}", run.stdout);
    assert_eq!(run.stderr.trim_end().lines().count(), 1, "{}", run.stderr);
    assert_eq!(snapshot(&env), before);
}

#[test]
fn the_service_reports_the_line_and_reason() {
    let env = TestEnv::new();
    alice_on_sms_and_bob_on_smtp(&env);
    let service = env.service(NOW);
    let cases: [(&str, u64, &str); 4] = [
        ("example.com,carol,,,,\nexample.com,dave,,,+1555,\n", 3, "7 to 15 digits"),
        ("example.com,carol,bogus,,,\n", 2, "use inherit, never, always, new-ip or new-country"),
        ("example.com,carol,,sms,,\n", 2, "no SMS number"),
        ("example.com,carol,,,,\nexample.com,dave\n", 3, "expected 6 cells but found 2"),
    ];
    for (rows, line, reason) in cases {
        let input = format!("{HEADER}\n{rows}");
        match service.import_csv(input.as_bytes()) {
            Err(ServiceError::Import { line: got, problem }) => {
                let why = problem.to_string();
                assert_eq!(got, line, "{rows:?}: {why}");
                assert!(why.contains(reason), "{rows:?}: {why}");
            }
            other => panic!("{rows:?}: expected an import error, got {other:?}"),
        }
    }
    let err = service.import_csv(&b""[..]).unwrap_err();
    assert!(matches!(err, ServiceError::Import { line: 1, .. }), "{err:?}");
    assert!(err.to_string().ends_with("nothing was imported"), "{err}");
    assert!(service.mailbox(&"carol@example.com".parse().unwrap()).is_err(), "a refused import created carol");

    let summary = service.import_csv(format!("{HEADER}\nexample.com,carol,never,,,\n").as_bytes()).unwrap();
    assert_eq!(summary, ImportSummary { rows: 1, postoffices_created: 0, mailboxes_created: 1, mailboxes_updated: 0 });
    assert_eq!(IMPORT_COLUMNS.join(","), HEADER);
}

/// 1,000 post offices × 100 mailboxes with a mix of modes, providers, numbers and addresses.
fn big_csv() -> String {
    const MODES: [&str; 6] = ["", "never", "always", "new-ip", "new-country", "inherit"];
    let mut text = String::with_capacity(100_000 * 60);
    text.push_str(HEADER);
    text.push('\n');
    for p in 0..1000 {
        for m in 0..100 {
            let mode = MODES[m % MODES.len()];
            let (provider, sms, alt) = match m % 4 {
                0 => ("", String::new(), String::new()),
                1 => ("sms", format!("+1 555 {p:04} {m:03}"), String::new()),
                2 => ("smtp", String::new(), format!("m{m:03}.alt@mail{p:04}.example.org")),
                _ => ("totp", format!("+4930{p:04}{m:03}"), String::new()),
            };
            writeln!(text, "po{p:04},m{m:03},{mode},{provider},{sms},{alt}").unwrap();
        }
    }
    text
}

#[test]
fn a_100000_row_file_imports() {
    let env = TestEnv::new();
    let path = csv_file(&env, "big.csv", big_csv());
    let started = Instant::now();
    let summary = import_json(&env, &path);
    eprintln!("100,000 rows imported through the binary in {:?}", started.elapsed());
    assert_eq!(
        summary,
        json!({"rows": 100_000, "postoffices_created": 1000, "mailboxes_created": 100_000, "mailboxes_updated": 0})
    );

    let list = env.ok(&["mailbox", "list", "--postoffice", "po0999", "--json"]).json();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 100);
    assert_eq!(list[0]["address"], "m000@po0999");
    assert_eq!(list[99]["address"], "m099@po0999");
    assert_eq!((list[1]["challenge"].as_str(), list[1]["provider"].as_str()), (Some("never"), Some("sms")));
    assert_eq!((list[2]["challenge"].as_str(), list[2]["provider"].as_str()), (Some("always"), Some("smtp")));
    assert_eq!((list[3]["challenge"].as_str(), list[3]["provider"].as_str()), (Some("new-ip"), Some("totp")));
    assert_eq!(list[5]["challenge"], "inherit");

    let postoffices = env.ok(&["postoffice", "list", "--json"]).json();
    let postoffices = postoffices.as_array().unwrap();
    assert_eq!(postoffices.len(), 1000);
    assert!(postoffices.iter().all(|p| p["mailboxes"] == 100), "a post office without its 100 mailboxes");

    let sms = show(&env, "m001@po0500");
    assert_eq!(sms["sms_number"], "+15550500001");
    let smtp = show(&env, "m002@po0500");
    assert_eq!(smtp["alt_email"], "m002.alt@mail0500.example.org");
    let totp = show(&env, "m003@po0500");
    assert_eq!((totp["provider"].as_str(), totp["sms_number"].as_str()), (Some("totp"), Some("+49300500003")));

    let started = Instant::now();
    let all = env.ok(&["mailbox", "list", "--json"]).json();
    eprintln!("listing 100,000 mailboxes took {:?}", started.elapsed());
    assert_eq!(all.as_array().unwrap().len(), 100_000);
}
