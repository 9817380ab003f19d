//! A real webmail for the plugin's tests, on 127.0.0.1: Dovecot as an IMAP server with
//! passwd-file users ([`super::dovecot`]), and Roundcube (Debian's `roundcube-core`) served by `php -S` with a
//! configuration the test writes, the mailmfa plugin from this checkout enabled. Every server
//! runs on a free port and is stopped when the [`Webmail`] is dropped, also when a test fails.
//!
//! Each [`Webmail`] serves Roundcube from a document root in its own temporary folder: symlinks
//! to Debian's Roundcube, and a `plugins/` folder where `mailmfa` is this checkout's plugin.
//! `INSTALL_PATH` points Roundcube there (its plugins folder is derived from it); nothing outside
//! the temporary folder is written.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::browser::{PATIENCE, free_port, require_program};
pub use super::dovecot::MailUser;
use super::dovecot::{Dovecot, Setup, stop, tail};

/// Debian's Roundcube tree, which each test's document root links to.
pub const ROUNDCUBE_ROOT: &str = "/var/lib/roundcube";
/// The packages these tests need, for the failure that names what is missing.
pub const PACKAGES: &str = "php-cli php-sqlite3 php-curl php-mbstring roundcube-core roundcube-sqlite3 dovecot-imapd";

/// The plugin folder of this checkout.
pub fn plugin_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("integrations/roundcube/mailmfa")
}

/// How the plugin is configured (`config.inc.php`, rewritten on [`Webmail::configure`]).
#[derive(Debug, Clone)]
pub struct PluginConfig {
    /// `mailmfa_url`.
    pub url: String,
    /// `mailmfa_key`.
    pub key: String,
    /// `mailmfa_fail_open`.
    pub fail_open: bool,
}

/// Dovecot and Roundcube with the plugin.
pub struct Webmail {
    /// Roundcube's address, `http://127.0.0.1:PORT`.
    pub base: String,
    /// Dovecot's IMAP port.
    pub imap_port: u16,
    // Dropped in this order, after the logs were shown if the test failed.
    php: Running,
    dovecot: Dovecot,
    dir: tempfile::TempDir,
}

/// A server the test started; stopped when dropped, also when a test fails half-way.
struct Running {
    child: Child,
    /// The server leads a process group of its own (stopped as a whole).
    group: bool,
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.group {
            stop_group(&mut self.child);
        } else {
            stop(&mut self.child);
        }
    }
}

impl Webmail {
    /// Starts Dovecot with `users` and Roundcube with the plugin configured as `plugin`.
    pub fn start(users: &[MailUser], plugin: &PluginConfig) -> Self {
        Self::start_with(users, plugin, &Setup::default())
    }

    /// [`Webmail::start`] with Dovecot set up as `dovecot` says (e.g. checking passwords with
    /// mailmfa's passdb chain).
    pub fn start_with(users: &[MailUser], plugin: &PluginConfig, dovecot: &Setup) -> Self {
        let php = require_program("php", PACKAGES);
        for (path, package) in [
            ("/usr/share/roundcube/index.php", "roundcube-core"),
            ("/usr/share/roundcube/SQL/sqlite.initial.sql", "roundcube-sqlite3"),
            ("/etc/roundcube/defaults.inc.php", "roundcube-core"),
        ] {
            assert!(Path::new(path).is_file(), "{path} is missing: install it with `apt-get install {package}`");
        }
        for (extension, package) in [("pdo_sqlite", "php-sqlite3"), ("curl", "php-curl"), ("mbstring", "php-mbstring")]
        {
            assert!(php_has(&php, extension), "PHP lacks {extension}: install it with `apt-get install {package}`");
        }
        let plugin_config = plugin_dir().join("config.inc.php");
        assert!(
            !plugin_config.exists(),
            "{} exists: it would override the configuration these tests write; move it away",
            plugin_config.display()
        );

        let dir = tempfile::tempdir().expect("webmail folder");
        // Dovecot's mail processes run as its own user: they must be able to reach the mail.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let dovecot = Dovecot::start(dir.path(), users, dovecot);
        let imap_port = dovecot.imap_port;

        let config = dir.path().join("rc");
        for sub in ["", "logs", "temp"] {
            std::fs::create_dir_all(config.join(sub)).expect("roundcube folders");
        }
        std::fs::copy("/etc/roundcube/defaults.inc.php", config.join("defaults.inc.php")).expect("defaults.inc.php");
        let schema = Command::new(&php)
            .args([
                "-r",
                "$db = new PDO('sqlite:' . $argv[1]); exit($db->exec(file_get_contents($argv[2])) === false ? 1 : 0);",
            ])
            .arg(config.join("rc.db"))
            .arg("/usr/share/roundcube/SQL/sqlite.initial.sql")
            .status()
            .expect("run php");
        assert!(schema.success(), "the Roundcube database schema did not load");

        let root = document_root(&config);
        let port = free_port();
        let mut webmail = Webmail {
            base: format!("http://127.0.0.1:{port}"),
            imap_port,
            php: Running {
                child: Command::new(&php)
                    .args(["-S", &format!("127.0.0.1:{port}"), "-t"])
                    .arg(&root)
                    .arg("-d")
                    .arg(format!("auto_prepend_file={}", install_path(&config, &root).display()))
                    // A rewritten configuration must apply at the next request, not seconds later.
                    .args(["-d", "opcache.enable=0"])
                    .env("ROUNDCUBE_CONFIG_DIR", &config)
                    // Workers serve a page's assets side by side; their own process group lets the
                    // drop stop them all.
                    .env("PHP_CLI_SERVER_WORKERS", "4")
                    .process_group(0)
                    .current_dir(dir.path())
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(std::fs::File::create(dir.path().join("php.log")).expect("php.log"))
                    .spawn()
                    .expect("start php -S"),
                group: true,
            },
            dovecot,
            dir,
        };
        webmail.configure(plugin);
        webmail.wait_until_serving();
        webmail
    }

    /// Writes Roundcube's configuration with the plugin's `plugin` settings; Roundcube reads it
    /// on every request, so it applies from the next one.
    pub fn configure(&self, plugin: &PluginConfig) {
        self.configure_with(plugin, &[]);
    }

    /// [`Webmail::configure`], and `more` settings (name, string value) after the others, which
    /// they override.
    pub fn configure_with(&self, plugin: &PluginConfig, more: &[(&str, &str)]) {
        let dir = self.dir.path().join("rc");
        let mut php = String::from("<?php\n$config = [];\n");
        let mut set = |name: &str, value: String| writeln!(php, "$config['{name}'] = {value};").expect("write");
        set("db_dsnw", quoted(&format!("sqlite:///{}?mode=0646", dir.join("rc.db").display())));
        set("imap_host", quoted(&format!("127.0.0.1:{}", self.imap_port)));
        set("smtp_host", quoted(""));
        set("des_key", quoted("mailmfa-test-des-key-24c"));
        set("plugins", "['mailmfa']".to_owned());
        set("log_dir", quoted(&format!("{}/", dir.join("logs").display())));
        set("temp_dir", quoted(&format!("{}/", dir.join("temp").display())));
        set("skin", quoted("elastic"));
        set("enable_installer", "false".to_owned());
        set("support_url", quoted(""));
        set("mailmfa_url", quoted(&plugin.url));
        set("mailmfa_key", quoted(&plugin.key));
        set("mailmfa_fail_open", plugin.fail_open.to_string());
        set("mailmfa_timeout", "3".to_owned());
        for (name, value) in more {
            set(name, quoted(value));
        }
        let file = dir.join("config.inc.php");
        std::fs::write(&file, php).expect("write config.inc.php");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod config.inc.php");
    }

    /// The URL of `query` (e.g. `?_task=mail`).
    pub fn url(&self, query: &str) -> String {
        format!("{}/{query}", self.base)
    }

    /// Roundcube's origin under the name `localhost`: a secure context over plain HTTP and a valid
    /// WebAuthn RP ID, which `127.0.0.1` is not (passkey tests).
    pub fn localhost(&self) -> String {
        self.base.replace("127.0.0.1", "localhost")
    }

    /// Puts a message into `user`'s inbox through Dovecot.
    pub fn deliver(&self, user: &MailUser, subject: &str, body: &str) {
        self.dovecot.deliver(user, subject, body);
    }

    /// The mail server under the webmail.
    pub fn dovecot(&self) -> &Dovecot {
        &self.dovecot
    }

    /// Roundcube's error log (where the plugin reports an unreachable service).
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("rc/logs/errors.log")).unwrap_or_default()
    }

    /// Every session Roundcube keeps in its database (table `session`), as the plugin and
    /// Roundcube wrote it: each row's `vars`, decoded from the base64 Roundcube stores.
    pub fn session_rows(&self) -> Vec<Vec<u8>> {
        use base64::Engine as _;
        let db = rusqlite::Connection::open_with_flags(
            self.dir.path().join("rc/rc.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("open Roundcube's database");
        db.busy_timeout(PATIENCE).expect("busy timeout");
        let mut rows = db.prepare("SELECT vars FROM session").expect("read the sessions");
        let vars = rows.query_map([], |row| row.get::<_, String>(0)).expect("read the sessions");
        vars.map(|v| {
            let text = v.expect("a session's vars");
            base64::engine::general_purpose::STANDARD.decode(text.trim()).expect("the vars are base64")
        })
        .collect()
    }

    /// What `php -S` printed (requests, PHP warnings).
    pub fn php_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("php.log")).unwrap_or_default()
    }

    /// Waits until Roundcube serves its login page, then checks that the plugin's assets are
    /// served from this checkout.
    fn wait_until_serving(&mut self) {
        let agent = super::serve::agent();
        let deadline = Instant::now() + PATIENCE;
        loop {
            let status = agent.get(self.url("")).call().map(|r| r.status().as_u16()).unwrap_or(0);
            if status == 200 {
                let css =
                    agent.get(self.url("plugins/mailmfa/skins/elastic/mailmfa.css")).call().expect("GET mailmfa.css");
                assert_eq!(css.status().as_u16(), 200, "the plugin's stylesheet is not served: {}", self.php_log());
                let served = css.into_body().read_to_string().expect("read mailmfa.css");
                let ours =
                    std::fs::read_to_string(plugin_dir().join("skins/elastic/mailmfa.css")).expect("mailmfa.css");
                assert!(served == ours, "the stylesheet served is not this checkout's");
                return;
            }
            if let Ok(Some(exit)) = self.php.child.try_wait() {
                panic!("php -S exited ({exit}): {}", self.php_log());
            }
            assert!(Instant::now() < deadline, "Roundcube did not answer (last status {status}): {}", self.php_log());
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Webmail {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let read = |name: &str| std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
            eprintln!("--- Roundcube errors.log ---\n{}", read("rc/logs/errors.log"));
            eprintln!("--- php -S (last lines) ---\n{}", tail(&read("php.log"), 40));
        }
    }
}

/// Whether PHP has the extension.
fn php_has(php: &Path, extension: &str) -> bool {
    Command::new(php)
        .args(["-r", &format!("exit(extension_loaded('{extension}') ? 0 : 1);")])
        .status()
        .is_ok_and(|s| s.success())
}

/// A document root in `config`: a symlink to each entry of Debian's Roundcube, except `plugins/`,
/// a folder of symlinks to Debian's plugins and `mailmfa` to this checkout's plugin.
fn document_root(config: &Path) -> PathBuf {
    let root = config.join("root");
    let plugins = root.join("plugins");
    std::fs::create_dir_all(&plugins).expect("document root");
    let link_entries = |from: &Path, to: &Path, except: &str| {
        for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("read {}: {e}", from.display())) {
            let entry = entry.expect("dir entry");
            if entry.file_name() != except {
                std::os::unix::fs::symlink(entry.path(), to.join(entry.file_name()))
                    .expect("link into the document root");
            }
        }
    };
    link_entries(Path::new(ROUNDCUBE_ROOT), &root, "plugins");
    link_entries(&Path::new(ROUNDCUBE_ROOT).join("plugins"), &plugins, "mailmfa");
    std::os::unix::fs::symlink(plugin_dir(), plugins.join("mailmfa")).expect("link the plugin");
    root
}

/// A file PHP runs before each request (`auto_prepend_file`) that makes `root` Roundcube's
/// `INSTALL_PATH`, which Debian's `index.php` only sets when it is not set yet.
fn install_path(config: &Path, root: &Path) -> PathBuf {
    let file = config.join("install_path.php");
    let php = format!("<?php\ndefine('INSTALL_PATH', {});\n", quoted(&format!("{}/", root.display())));
    std::fs::write(&file, php).expect("write install_path.php");
    file
}

/// Stops a server that leads its own process group, and every process of the group.
fn stop_group(child: &mut Child) {
    let group = format!("-{}", child.id());
    drop(Command::new("kill").args(["-TERM", "--", &group]).status());
    drop(child.wait());
    drop(Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status());
}

/// A PHP single-quoted string.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}
