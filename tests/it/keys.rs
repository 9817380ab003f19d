//! Key files cannot be turned against their owner: an export goes through a new, randomly named,
//! owner-only file (never through a file or a link someone planted), and a key folder or key file
//! that others may read or write is refused with the command that fixes it — never loosened or
//! silently changed.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};

use crate::common::TestEnv;
use crate::common::fixtures::alice_challenged_by_her_post_office;

fn mode(path: &std::path::Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
}

fn store() -> TestEnv {
    let env = TestEnv::new();
    env.ok(&["postoffice", "add", "example.com"]);
    env
}

#[test]
fn an_export_never_writes_through_a_planted_file_or_link() {
    let env = store();
    let export = env.path("store.key");
    let victim = env.path("victim.txt");
    fs::write(&victim, "do not touch").unwrap();
    // The old export wrote through a predictable `FILE.tmp`: plant both kinds of trap there and at
    // the target itself.
    symlink(&victim, env.path("store.key.tmp")).unwrap();
    symlink(&victim, &export).unwrap();
    let refused = env.run(&["key", "export", export.to_str().unwrap()]);
    assert_ne!(refused.status, 0, "an export replaced a planted link");
    assert!(refused.stderr.contains("already exists"), "{}", refused.stderr);
    assert_eq!(fs::read_to_string(&victim).unwrap(), "do not touch", "the export wrote through a link");
    assert!(fs::symlink_metadata(&export).unwrap().file_type().is_symlink(), "the refused export touched the link");
    fs::remove_file(&export).unwrap();
    env.ok(&["key", "export", export.to_str().unwrap()]);
    assert_eq!(fs::read_to_string(&victim).unwrap(), "do not touch", "the export wrote through a link");
    assert!(!fs::symlink_metadata(&export).unwrap().file_type().is_symlink());
    assert_eq!(mode(&export), 0o600);
    assert!(fs::read_to_string(&export).unwrap().starts_with("mailmfa-store-key 1\n"));

    let readable = env.path("open.key");
    fs::write(env.path("open.key.tmp"), "").unwrap();
    fs::set_permissions(env.path("open.key.tmp"), fs::Permissions::from_mode(0o666)).unwrap();
    env.ok(&["key", "export", readable.to_str().unwrap()]);
    assert_eq!(fs::read_to_string(env.path("open.key.tmp")).unwrap(), "", "the key went into a planted file");
    assert_eq!(mode(&readable), 0o600);
    let leftovers = env.leftovers(".mailmfa-key-");
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// A mistyped path must not destroy a file: the command line never replaces an existing file with
/// a key export or a QR code (the console's Save dialog asks first, and may).
#[test]
fn the_command_line_never_replaces_an_existing_file() {
    let env = TestEnv::new();
    alice_challenged_by_her_post_office(&env);
    env.ok(&["login", "begin", "alice@example.com", "--ip", "203.0.113.9"]);
    let precious = env.path("precious.txt");
    fs::write(&precious, "the only copy").unwrap();
    for args in [
        vec!["key", "export", precious.to_str().unwrap()],
        vec!["mailbox", "qr", "alice@example.com", "--out", precious.to_str().unwrap()],
    ] {
        let refused = env.run(&args);
        assert_ne!(refused.status, 0, "{args:?} replaced a file");
        assert!(
            refused.stderr.contains("already exists") && refused.stderr.contains("precious.txt"),
            "{}",
            refused.stderr
        );
        assert!(!refused.stderr.contains("panicked"), "{}", refused.stderr);
        assert_eq!(fs::read_to_string(&precious).unwrap(), "the only copy", "{args:?}");
    }
    let leftovers = env.leftovers(".mailmfa-");
    assert!(leftovers.is_empty(), "temporary files were left behind: {leftovers:?}");
    let audit = env.ok(&["audit", "--json"]).json();
    let outcomes: Vec<(&str, &str)> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["outcome"].as_str().unwrap()))
        .filter(|(action, _)| ["key.export", "mailbox.show_qr"].contains(action))
        .collect();
    assert_eq!(outcomes, [("mailbox.show_qr", "failed"), ("key.export", "failed")], "both refusals are audited");
}

#[test]
fn a_key_folder_others_may_read_is_refused_with_the_fix() {
    let env = store();
    fs::set_permissions(env.key_dir(), fs::Permissions::from_mode(0o755)).unwrap();
    let run = env.run(&["mailbox", "list"]);
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(run.stderr.contains("key folder") && run.stderr.contains("chmod 700"), "{}", run.stderr);
    assert_eq!(mode(&env.key_dir()), 0o755, "mailmfa changed the folder's mode");
    fs::set_permissions(env.key_dir(), fs::Permissions::from_mode(0o700)).unwrap();
    env.ok(&["mailbox", "list"]);
}

#[test]
fn a_key_file_others_may_read_is_refused_with_the_fix() {
    let env = store();
    let key = fs::read_dir(env.key_dir()).unwrap().next().unwrap().unwrap().path();
    assert_eq!(mode(&key), 0o600);
    fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
    let run = env.run(&["postoffice", "list"]);
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(run.stderr.contains("key file") && run.stderr.contains("chmod 600"), "{}", run.stderr);
    assert_eq!(mode(&key), 0o644, "mailmfa changed the file's mode");

    // A key file that is a link (to a copy elsewhere) is refused too.
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
    let moved = env.path("moved.key");
    fs::rename(&key, &moved).unwrap();
    symlink(&moved, &key).unwrap();
    let run = env.run(&["postoffice", "list"]);
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
}
