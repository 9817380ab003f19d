//! A private Dovecot for tests, on 127.0.0.1: everything it writes (`base_dir`, `state_dir`, the
//! log, the mail) is in a folder the test owns, its `instance_name` is its own, its users are in a
//! passwd-file, and it is stopped when dropped, also when a test fails.
//!
//! It serves IMAP, and for the mail-program tests POP3 and submission (SMTP AUTH; the messages go on
//! to a small SMTP sink, [`super::smtp_server`]). Passwords are checked by the passwd-file alone,
//! or by the chain of `integrations/dovecot/` (DESIGN.md §11): this checkout's
//! `dovecot-mailmfa.conf.ext` with its Lua scripts and a settings file pointing at a real
//! `mailmfa serve`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write as _};
use std::net::TcpStream;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::browser::{PATIENCE, free_port, require_program};
use super::smtp_server::{Mode, Opts, TestSmtp, start_smtp};

/// The Debian packages these tests need, for the failure that names what is missing.
pub const PACKAGES: &str = "dovecot-imapd dovecot-pop3d dovecot-submissiond dovecot-auth-lua lua-socket lua-cjson";

/// The folder of this checkout's Dovecot integration.
pub fn integration_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("integrations/dovecot")
}

/// A mailbox Dovecot knows, with its mailbox password.
#[derive(Debug, Clone)]
pub struct MailUser {
    pub address: String,
    pub password: String,
}

impl MailUser {
    pub fn new(address: &str, password: &str) -> Self {
        Self { address: address.to_owned(), password: password.to_owned() }
    }
}

/// What the scripts do when the login service cannot be reached (`on_error` of their settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    Reject,
    Password,
}

/// The settings file of the scripts (`mailmfa.conf`).
#[derive(Debug, Clone)]
pub struct MailmfaSettings {
    /// The login service, `http://127.0.0.1:PORT`.
    pub url: String,
    /// The API client's key.
    pub key: String,
    pub on_error: OnError,
}

/// What the test's Dovecot serves, and how it checks passwords.
#[derive(Debug, Clone, Default)]
pub struct Setup {
    /// POP3 and submission besides IMAP.
    pub mail_programs: bool,
    /// The passdb chain of `integrations/dovecot/` with these settings; `None`: the passwd-file
    /// alone.
    pub mailmfa: Option<MailmfaSettings>,
}

/// A running Dovecot.
pub struct Dovecot {
    pub imap_port: u16,
    /// 0 unless [`Setup::mail_programs`].
    pub pop3_port: u16,
    /// 0 unless [`Setup::mail_programs`].
    pub submission_port: u16,
    child: Child,
    dir: PathBuf,
    ports: Ports,
    /// Where submission relays to.
    relay: Option<TestSmtp>,
}

impl Dovecot {
    /// Starts Dovecot in `dir` (which must let Dovecot's own user through: mode 0755) with a
    /// passwd-file of `users` and their Maildirs, and waits until every service greets.
    pub fn start(dir: &Path, users: &[MailUser], setup: &Setup) -> Self {
        require_program("dovecot", PACKAGES);
        let owner = mail_owner(dir);
        let passwd: String = users.iter().map(|u| format!("{}:{{PLAIN}}{}::::::\n", u.address, u.password)).collect();
        std::fs::write(dir.join("users"), passwd).expect("write users");
        for user in users {
            for sub in ["new", "cur", "tmp"] {
                std::fs::create_dir_all(maildir(dir, &user.address).join(sub)).expect("maildir");
            }
            chown_tree(&dir.join("mail").join(&user.address), owner);
        }
        if setup.mail_programs {
            for (program, package) in [("pop3", "dovecot-pop3d"), ("submission", "dovecot-submissiond")] {
                assert!(
                    Path::new("/usr/lib/dovecot").join(program).is_file(),
                    "Dovecot's {program} service is missing: install it with `apt-get install {package}`"
                );
            }
        }
        let relay = setup.mail_programs.then(|| start_smtp(Opts::new(Mode::Plain)));
        let ports = Ports {
            imap: free_port(),
            pop3: if setup.mail_programs { free_port() } else { 0 },
            submission: if setup.mail_programs { free_port() } else { 0 },
            relay: relay.as_ref().map_or(0, |r| r.addr.port()),
        };
        write_config(dir, &ports, owner, setup);
        Dovecot {
            imap_port: ports.imap,
            pop3_port: ports.pop3,
            submission_port: ports.submission,
            child: spawn(dir, &ports),
            dir: dir.to_owned(),
            ports,
            relay,
        }
    }

    /// Stops Dovecot and starts it again on the same ports with `setup`'s passdbs.
    pub fn restart(&mut self, setup: &Setup) {
        stop(&mut self.child);
        write_config(&self.dir, &self.ports, mail_owner(&self.dir), setup);
        self.child = spawn(&self.dir, &self.ports);
    }

    /// The configuration file.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("dovecot.conf")
    }

    /// Everything Dovecot logged so far (`log_path`).
    pub fn log(&self) -> String {
        read_log(&self.dir)
    }

    /// How far the log has come: lines after this are what an action that follows logged.
    pub fn log_mark(&self) -> usize {
        self.log().len()
    }

    /// The first line logged after `mark` that contains `needle`. Dovecot writes its log through
    /// a process of its own, a moment after answering the client: waits for the line, and fails
    /// the test with the log's tail if it does not come.
    pub fn log_line(&self, mark: usize, needle: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let log = self.log();
            if let Some(line) = log.get(mark..).unwrap_or_default().lines().find(|line| line.contains(needle)) {
                return line.to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "no line with {needle:?} in Dovecot's log; it ends:\n{}",
                tail(&log, 30)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The `count` lines logged after `mark` that contain `needle`, once they are all there.
    pub fn log_lines_awaited(&self, mark: usize, needle: &str, count: usize) -> Vec<String> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let lines = self.log_lines(mark, needle);
            if lines.len() >= count || Instant::now() > deadline {
                assert_eq!(lines.len(), count, "lines with {needle:?}; the log ends:\n{}", self.log_tail(30));
                return lines;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The lines logged after `mark` that contain `needle`, as they are now.
    pub fn log_lines(&self, mark: usize, needle: &str) -> Vec<String> {
        let log = self.log();
        log.get(mark..).unwrap_or_default().lines().filter(|line| line.contains(needle)).map(str::to_owned).collect()
    }

    /// The last `lines` lines of the log.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log(), lines)
    }

    /// Puts a message into `user`'s inbox through Dovecot (`doveadm save`), which indexes it at
    /// once, so the first IMAP sessions of a login do not race to discover it.
    pub fn deliver(&self, user: &MailUser, subject: &str, body: &str) {
        let message = format!(
            "From: Bob Example <bob@example.test>\r\nTo: {}\r\nSubject: {subject}\r\n\
             Date: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <{}.{}@example.test>\r\n\r\n{body}\r\n",
            user.address,
            std::process::id(),
            self.imap_port,
        );
        let mut save = Command::new(require_program("doveadm", PACKAGES))
            .arg("-c")
            .arg(self.config_path())
            .args(["save", "-u", &user.address, "-m", "INBOX"])
            .stdin(Stdio::piped())
            .spawn()
            .expect("run doveadm save");
        save.stdin.take().expect("stdin").write_all(message.as_bytes()).expect("write the message");
        assert!(save.wait().is_ok_and(|s| s.success()), "doveadm save failed");
    }
}

/// The ports of a test's Dovecot: 0 for a service it does not serve.
struct Ports {
    imap: u16,
    pop3: u16,
    submission: u16,
    /// The SMTP sink that submission relays to.
    relay: u16,
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- dovecot.log (last lines) ---\n{}", self.log_tail(40));
        }
        stop(&mut self.child);
    }
}

/// Writes `dovecot.conf` (and with mailmfa, the chain and the scripts' settings file).
fn write_config(dir: &Path, ports: &Ports, (uid, gid): (u32, u32), setup: &Setup) {
    let running_as_root = std::fs::metadata(dir).map(|m| m.uid() == 0).unwrap_or(false);
    let as_me = if running_as_root {
        String::new()
    } else {
        let name = |flag: &str| {
            let out = Command::new("id").arg(flag).output().expect("run id");
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        };
        let (user, group) = (name("-un"), name("-gn"));
        format!(
            "default_login_user = {user}\ndefault_internal_user = {user}\ndefault_internal_group = {group}\n\
             service anvil {{\n  chroot =\n}}\nservice imap-login {{\n  chroot =\n}}\n\
             service pop3-login {{\n  chroot =\n}}\nservice submission-login {{\n  chroot =\n}}\n\
             service auth-worker {{\n  user = {user}\n}}\n"
        )
    };
    let d = dir.display();
    let mut conf = format!(
        "base_dir = {d}/run\nstate_dir = {d}/state\ninstance_name = mailmfa-test-{port}\nlog_path = {d}/dovecot.log\n\
         listen = 127.0.0.1\nssl = no\ndisable_plaintext_auth = no\nauth_mechanisms = plain login\n\
         first_valid_uid = {first}\nmail_location = maildir:~/Maildir\n{as_me}\
         service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n  \
         inet_listener imaps {{\n    port = 0\n  }}\n}}\n\
         userdb {{\n  driver = static\n  args = uid={uid} gid={gid} home={d}/mail/%u\n}}\n",
        port = ports.imap,
        first = uid.min(100),
    );
    if ports.relay != 0 {
        conf.push_str(&format!(
            "protocols = imap pop3 submission\n\
             service pop3-login {{\n  inet_listener pop3 {{\n    address = 127.0.0.1\n    port = {pop3}\n  }}\n  \
             inet_listener pop3s {{\n    port = 0\n  }}\n}}\n\
             service submission-login {{\n  inet_listener submission {{\n    address = 127.0.0.1\n    port = {submission}\n  }}\n}}\n\
             submission_relay_host = 127.0.0.1\nsubmission_relay_port = {relay}\n",
            pop3 = ports.pop3,
            submission = ports.submission,
            relay = ports.relay,
        ));
    } else {
        conf.push_str("protocols = imap\n");
    }
    match &setup.mailmfa {
        None => conf.push_str(&format!(
            "passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {d}/users\n}}\n"
        )),
        Some(settings) => {
            let settings_file = write_mailmfa_files(dir, settings);
            conf.push_str(&format!(
                // The scripts find their settings through the environment Dovecot gives its
                // processes, as the README says to do for a settings file elsewhere.
                "import_environment = $import_environment MAILMFA_DOVECOT_CONF={settings}\n\
                 # Every step, also the scripts' accepted app passwords, in the log.\n\
                 auth_verbose = yes\n\
                 # Refused logins are answered at once, and no penalty slows the next ones from\n\
                 # the same address (auth can't reach anvil's penalty socket): the tests refuse\n\
                 # many logins from 127.0.0.2.\n\
                 auth_failure_delay = 0\n\
                 service anvil {{\n  unix_listener anvil-auth-penalty {{\n    mode = 0\n  }}\n}}\n\
                 # No auth cache: a cached login skips the passdb chain (README).\n\
                 auth_cache_size = 0\n\
                 !include {d}/dovecot-mailmfa.conf.ext\n",
                settings = settings_file.display(),
            ));
        }
    }
    std::fs::write(dir.join("dovecot.conf"), conf).expect("write dovecot.conf");
}

/// Writes the chain (this checkout's `dovecot-mailmfa.conf.ext` with the paths of this
/// checkout's scripts and of the test's passwd-file), the scripts' settings file (the example
/// `mailmfa.conf` with the test's values) and the key file. Returns the settings file.
fn write_mailmfa_files(dir: &Path, settings: &MailmfaSettings) -> PathBuf {
    for file in ["mailmfa.lua", "mailmfa-app-password.lua", "mailmfa-policy.lua"] {
        assert!(integration_dir().join(file).is_file(), "{file} is missing from integrations/dovecot");
    }
    assert!(
        Path::new("/usr/lib/dovecot/modules/auth/libauthdb_lua.so").is_file(),
        "Dovecot's Lua passdb is missing: install it with `apt-get install dovecot-auth-lua`"
    );
    for (module, package) in [("socket.http", "lua-socket"), ("cjson", "lua-cjson")] {
        let path = format!("/usr/share/lua/5.4/{}.lua", module.replace('.', "/"));
        let native = format!("/usr/lib/x86_64-linux-gnu/lua/5.4/{module}.so");
        assert!(
            Path::new(&path).is_file() || Path::new(&native).is_file(),
            "Lua's {module} is missing: install it with `apt-get install {package}`"
        );
    }
    let d = dir.display();
    let chain = std::fs::read_to_string(integration_dir().join("dovecot-mailmfa.conf.ext")).expect("the chain");
    let scripts = format!("file={}/", integration_dir().display());
    let chain = replace_exactly(&chain, "file=/etc/dovecot/", &scripts, 2);
    let chain = replace_exactly(
        &chain,
        "args = scheme=CRYPT username_format=%u /etc/dovecot/users",
        &format!("args = scheme=PLAIN username_format=%u {d}/users"),
        1,
    );
    std::fs::write(dir.join("dovecot-mailmfa.conf.ext"), chain).expect("write the chain");

    let key_file = dir.join("mailmfa.key");
    std::fs::write(&key_file, format!("{}\n", settings.key)).expect("write the key file");
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).expect("chmod the key file");
    let example = std::fs::read_to_string(integration_dir().join("mailmfa.conf")).expect("the example settings");
    let on_error = match settings.on_error {
        OnError::Reject => "reject",
        OnError::Password => "password",
    };
    let values = [
        ("url", settings.url.clone()),
        ("api_key_file", key_file.display().to_string()),
        ("on_error", on_error.to_owned()),
    ];
    let mut text = String::new();
    for line in example.lines() {
        let set = values.iter().find(|(key, _)| line.starts_with(&format!("{key} =")));
        match set {
            Some((key, value)) => text.push_str(&format!("{key} = {value}\n")),
            None => text.push_str(&format!("{line}\n")),
        }
    }
    for (key, _) in values {
        assert!(example.lines().any(|l| l.starts_with(&format!("{key} ="))), "the example sets no {key}");
    }
    let file = dir.join("mailmfa.conf");
    std::fs::write(&file, text).expect("write mailmfa.conf");
    file
}

/// Starts Dovecot in the foreground and waits until each of its services greets.
fn spawn(dir: &Path, ports: &Ports) -> Child {
    let mut child = Command::new("dovecot")
        .args(["-F", "-c"])
        .arg(dir.join("dovecot.conf"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("dovecot.err")).expect("dovecot.err"))
        .spawn()
        .expect("start dovecot");
    let greetings = [(ports.imap, "* OK"), (ports.pop3, "+OK"), (ports.submission, "220 ")];
    let deadline = Instant::now() + PATIENCE;
    for (port, greeting) in greetings.into_iter().filter(|(port, _)| *port != 0) {
        loop {
            let line = TcpStream::connect(("127.0.0.1", port)).ok().and_then(|stream| {
                stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
                let mut line = String::new();
                BufReader::new(stream).read_line(&mut line).ok()?;
                Some(line)
            });
            if line.is_some_and(|line| line.starts_with(greeting)) {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                let err = std::fs::read_to_string(dir.join("dovecot.err")).unwrap_or_default();
                panic!("dovecot exited ({status}): {err}{}", read_log(dir));
            }
            assert!(Instant::now() < deadline, "dovecot did not greet on port {port}: {}", tail(&read_log(dir), 20));
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    child
}

/// Everything Dovecot in `dir` logged so far.
fn read_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("dovecot.log")).unwrap_or_default()
}

/// `text` with each of the `count` occurrences of `from` replaced: the file is the one the
/// README shows, so a change to it that the test would miss fails here.
fn replace_exactly(text: &str, from: &str, to: &str, count: usize) -> String {
    assert_eq!(text.matches(from).count(), count, "{from:?} in dovecot-mailmfa.conf.ext");
    text.replace(from, to)
}

/// The user Dovecot delivers mail as: its own `dovecot` user when the tests run as root (Dovecot
/// refuses root), else whoever runs the tests.
fn mail_owner(dir: &Path) -> (u32, u32) {
    let me = std::fs::metadata(dir).expect("stat");
    if me.uid() != 0 {
        return (me.uid(), me.gid());
    }
    let id = |flag: &str| -> u32 {
        let out = Command::new("id").args([flag, "dovecot"]).output().expect("run id");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("no `dovecot` user: install it with `apt-get install {PACKAGES}`"))
    };
    (id("-u"), id("-g"))
}

/// Stops a server the way its service manager would (SIGTERM, so Dovecot's master takes its
/// children along), and kills it if it does not end soon.
pub fn stop(child: &mut Child) {
    drop(Command::new("kill").args(["-TERM", &child.id().to_string()]).status());
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(child.kill());
    drop(child.wait());
}

/// The last `lines` lines of `text`.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn maildir(dir: &Path, address: &str) -> PathBuf {
    dir.join("mail").join(address).join("Maildir")
}

fn chown_tree(path: &Path, (uid, gid): (u32, u32)) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown");
    if path.is_dir() {
        for entry in std::fs::read_dir(path).expect("read dir") {
            chown_tree(&entry.expect("dir entry").path(), (uid, gid));
        }
    }
}
