//! Mail programs and app passwords through a real Dovecot (DESIGN.md §11, issue 20): this
//! checkout's `integrations/dovecot/` passdb chain and Lua scripts in a private Dovecot (IMAP, POP3,
//! submission), asking a real `mailmfa serve` on a test store; real IMAP, POP3 and SMTP sign-ins
//! from 127.0.0.2 (a mail program on another host) and 127.0.0.1 (the webmail on the mail server).
//! Every refusal is also read back from Dovecot's log, so a test cannot pass because something
//! else refused the login.
//!
//! Needs Debian's `dovecot-imapd dovecot-pop3d dovecot-submissiond dovecot-auth-lua lua-socket
//! lua-cjson` (and for the webmail's test, what the Roundcube tests need); a missing one fails the
//! test and is named.

use std::os::unix::fs::PermissionsExt;

use crate::common::TestEnv;
use crate::common::browser::{Browser, Screen};
use crate::common::dovecot::{Dovecot, MailUser, MailmfaSettings, OnError, Setup};
use crate::common::fixtures::{api_key, current_code, now, secret_of};
use crate::common::mail_client::{MAIL_PROGRAM, Protocol, WEBMAIL, sign_in};
use crate::common::roundcube::{PluginConfig, Webmail};
use crate::common::serve::{Server, agent, call};
use serde_json::{Value, json};

const ALICE: &str = "alice@example.test";
const MAILBOX_PASSWORD: &str = "mailbox-password-1";

/// A store with `example.test` and alice in it, the webmail networks narrowed to 127.0.0.1 (so
/// that 127.0.0.2 is a mail program), the API client `dovecot`, the login service, and Dovecot
/// asking it through the passdb chain.
struct Site {
    // Dropped in this order: Dovecot, then the service it asks, then the folders.
    dovecot: Dovecot,
    service: Option<Server>,
    key: String,
    /// Dovecot's folder, kept until Dovecot has stopped.
    _dir: tempfile::TempDir,
    env: TestEnv,
}

impl Site {
    fn new() -> Self {
        let (env, key, service) = store_and_service();
        let dir = tempfile::tempdir().expect("Dovecot's folder");
        // Dovecot's mail processes run as its own user: they must be able to reach the mail.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let setup = setup(&service, &key, OnError::Reject);
        let dovecot = Dovecot::start(dir.path(), &[MailUser::new(ALICE, MAILBOX_PASSWORD)], &setup);
        Site { dovecot, service: Some(service), key, _dir: dir, env }
    }

    /// Mail programs of example.test must use app passwords.
    fn require_app_passwords(&self) {
        self.env.ok(&["postoffice", "set", "example.test", "--mail-programs", "app-passwords"]);
    }

    /// A new app password of alice's named `name`, for `protocols` (all when `None`).
    fn app_password(&self, name: &str, protocols: Option<&str>) -> String {
        let mut args = vec!["app-password", "add", ALICE, "--name", name, "--json"];
        if let Some(protocols) = protocols {
            args.extend(["--protocols", protocols]);
        }
        let added = self.env.ok(&args).json();
        assert_eq!(added["name"], name, "{added}");
        added["password"].as_str().unwrap_or_else(|| panic!("no password: {added}")).to_owned()
    }

    fn port(&self, protocol: Protocol) -> u16 {
        match protocol {
            Protocol::Imap => self.dovecot.imap_port,
            Protocol::Pop3 => self.dovecot.pop3_port,
            Protocol::Smtp => self.dovecot.submission_port,
        }
    }

    fn sign_in(&self, protocol: Protocol, from: std::net::IpAddr, password: &str) -> Result<(), String> {
        sign_in(protocol, self.port(protocol), from, ALICE, password)
    }

    /// Signs in, which must work; returns where the log stood before it.
    fn accepted(&self, protocol: Protocol, from: std::net::IpAddr, password: &str) -> usize {
        let mark = self.dovecot.log_mark();
        if let Err(refusal) = self.sign_in(protocol, from, password) {
            panic!("{protocol:?} from {from} refused: {refusal}\n{}", self.dovecot.log_tail(20));
        }
        mark
    }

    /// Signs in, which must be refused, and returns the line Dovecot logged about it that holds
    /// `because`.
    fn refused(&self, protocol: Protocol, from: std::net::IpAddr, password: &str, because: &str) -> String {
        let mark = self.dovecot.log_mark();
        let answer = self.sign_in(protocol, from, password);
        assert!(answer.is_err(), "{protocol:?} from {from} was let in; the log:\n{}", self.dovecot.log_tail(20));
        self.dovecot.log_line(mark, because)
    }

    /// Enrols alice (challenged at every login) in a TOTP app through `mailmfa login`.
    fn enrol_alice(&self) {
        self.env.ok(&["mailbox", "set", ALICE, "--challenge", "always"]);
        let begin = self.env.ok(&["login", "begin", ALICE, "--ip", "203.0.113.9", "--json"]).json();
        assert_eq!(begin["decision"], "enroll", "{begin}");
        let secret = secret_of(begin["otpauth_uri"].as_str().unwrap());
        let code = current_code(&secret);
        let verify = self.env.ok(&["login", "verify", ALICE, "--ip", "203.0.113.9", "--code", &code, "--json"]).json();
        assert_eq!(verify["result"], "accepted", "{verify}");
    }

    /// `POST /v1/mail/auth` as Dovecot sends it, from a mail program at `ip`.
    fn ask(&self, password: &str, ip: &str) -> Value {
        let server = self.service.as_ref().expect("the service runs");
        let body = json!({"address": ALICE, "password": password, "protocol": "imap", "ip": ip, "real_ip": ip});
        let answer = call(&agent(), "POST", &server.url("/v1/mail/auth"), Some(&self.key), Some(&body.to_string()));
        assert_eq!(answer.status, 200, "{:?}", answer.json);
        answer.json
    }

    fn audit_rows(&self) -> usize {
        self.env.ok(&["audit", "--json", "--limit", "100000"]).json().as_array().unwrap().len()
    }
}

/// The store (`example.test` with alice, the webmail networks narrowed to 127.0.0.1), the key of
/// the API client `dovecot`, and the login service.
fn store_and_service() -> (TestEnv, String, Server) {
    let env = TestEnv::new();
    env.ok(&["postoffice", "add", "example.test"]);
    env.ok(&["mailbox", "add", ALICE]);
    env.ok(&["settings", "set", "mailprog.webmail_networks", "127.0.0.1/32,::1/128"]);
    let key = api_key(&env, "dovecot", &[]);
    let service = Server::start(&env, &[]);
    (env, key, service)
}

/// Dovecot with POP3 and submission, checking passwords through the chain with these settings.
fn setup(service: &Server, key: &str, on_error: OnError) -> Setup {
    Setup {
        mail_programs: true,
        mailmfa: Some(MailmfaSettings { url: service.base.clone(), key: key.to_owned(), on_error }),
    }
}

/// The line Dovecot's log holds for a refusal by mailmfa's policy.
fn refusal(protocol: Protocol, from: &str, reason: &str) -> String {
    format!("mailmfa: refused {ALICE} over {} from {from}: {reason}", protocol.word())
}

#[test]
fn under_password_the_mailbox_password_and_app_passwords_both_work_everywhere() {
    let site = Site::new();
    let app = site.app_password("laptop", None);
    for protocol in Protocol::ALL {
        for from in [MAIL_PROGRAM, WEBMAIL] {
            site.accepted(protocol, from, MAILBOX_PASSWORD);
        }
        let mark = site.accepted(protocol, MAIL_PROGRAM, &app);
        let word = protocol.word();
        site.dovecot
            .log_line(mark, &format!("mailmfa: app password laptop accepted for {ALICE} over {word} from 127.0.0.2"));
    }
    let line = site.refused(Protocol::Imap, WEBMAIL, "not-the-password", "passwd-file(alice@example.test,127.0.0.1,");
    assert!(line.ends_with("Password mismatch"), "{line}");
    assert!(site.dovecot.log_lines(0, "mailmfa: refused").is_empty(), "{}", site.dovecot.log());
    // Step 1 sends only what is shaped like an app password: the mailbox password stays in Dovecot.
    assert!(site.dovecot.log_lines(0, "mailmfa: not an app password").is_empty(), "{}", site.dovecot.log());
}

#[test]
fn under_app_passwords_the_mailbox_password_is_refused_to_mail_programs_but_not_to_the_webmail() {
    let site = Site::new();
    site.require_app_passwords();
    // Delivery looks the user up through the chain, without a password: it goes on working.
    site.dovecot.deliver(&MailUser::new(ALICE, MAILBOX_PASSWORD), "Delivered 5281", "Still arriving.");
    for protocol in Protocol::ALL {
        let line = site.refused(
            protocol,
            MAIL_PROGRAM,
            MAILBOX_PASSWORD,
            &refusal(protocol, "127.0.0.2", "app_password_required"),
        );
        assert!(line.contains("Warning"), "a refusal shows without auth_verbose: {line}");
        site.accepted(protocol, WEBMAIL, MAILBOX_PASSWORD);
    }
}

#[test]
fn an_app_password_opens_only_its_protocols_however_it_is_typed() {
    let site = Site::new();
    site.require_app_passwords();
    let app = site.app_password("phone", Some("imap"));
    let groups: Vec<&str> = app.split('-').collect();
    assert!(groups.len() == 4 && groups.iter().all(|g| g.len() == 5), "xxxxx-xxxxx-xxxxx-xxxxx: {app}");
    let spellings = [app.clone(), app.replace('-', ""), app.to_uppercase(), app.to_lowercase()];
    for typed in &spellings {
        let mark = site.accepted(Protocol::Imap, MAIL_PROGRAM, typed);
        site.dovecot.log_line(mark, &format!("mailmfa: app password phone accepted for {ALICE} over imap"));
    }
    for protocol in [Protocol::Pop3, Protocol::Smtp] {
        site.refused(
            protocol,
            MAIL_PROGRAM,
            &app,
            &refusal(protocol, "127.0.0.2", "protocol_not_allowed (as an app password)"),
        );
    }
}

#[test]
fn a_removed_app_password_is_refused_at_once() {
    let site = Site::new();
    site.require_app_passwords();
    let app = site.app_password("tablet", Some("imap,pop3"));
    site.accepted(Protocol::Imap, MAIL_PROGRAM, &app);
    site.env.ok(&["app-password", "remove", ALICE, "tablet"]);
    let mark = site.dovecot.log_mark();
    site.refused(Protocol::Imap, MAIL_PROGRAM, &app, &format!("mailmfa: not an app password for {ALICE} over imap"));
    let line = site.dovecot.log_line(mark, "passwd-file(alice@example.test,127.0.0.2,");
    assert!(line.ends_with("Password mismatch"), "{line}");
    assert!(site.dovecot.log_lines(mark, "accepted for").is_empty(), "{}", site.dovecot.log_tail(20));
}

#[test]
fn an_expired_app_password_is_refused() {
    let site = Site::new();
    site.require_app_passwords();
    let app = site.app_password("old-laptop", None);
    site.accepted(Protocol::Imap, MAIL_PROGRAM, &app);
    let changed = site
        .env
        .sqlite()
        .execute("UPDATE app_password SET expires_at = ?1 WHERE name = 'old-laptop'", [now() - 60])
        .expect("expire the app password");
    assert_eq!(changed, 1);
    for protocol in Protocol::ALL {
        site.refused(protocol, MAIL_PROGRAM, &app, &refusal(protocol, "127.0.0.2", "expired (as an app password)"));
    }
}

#[test]
fn enrolled_requires_app_passwords_once_the_enrolment_completes() {
    let site = Site::new();
    site.env.ok(&["mailbox", "set", ALICE, "--mail-programs", "enrolled"]);
    site.accepted(Protocol::Imap, MAIL_PROGRAM, MAILBOX_PASSWORD);
    site.enrol_alice();
    site.refused(
        Protocol::Imap,
        MAIL_PROGRAM,
        MAILBOX_PASSWORD,
        &refusal(Protocol::Imap, "127.0.0.2", "app_password_required"),
    );
    site.accepted(Protocol::Imap, WEBMAIL, MAILBOX_PASSWORD);
    let app = site.app_password("phone", None);
    site.accepted(Protocol::Imap, MAIL_PROGRAM, &app);
}

#[test]
fn a_mail_program_retrying_a_wrong_app_password_is_throttled_without_locking_its_owner_out() {
    let mut site = Site::new();
    site.require_app_passwords();
    site.enrol_alice();
    let app = site.app_password("phone", Some("imap"));
    let audited = site.audit_rows();
    let mark = site.dovecot.log_mark();
    // 200 wrong tries, shaped like an app password, ten connections at a time (Dovecot answers a
    // refusal after a moment).
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..10)
            .map(|_| {
                s.spawn(|| {
                    for _ in 0..20 {
                        let tried = site.sign_in(Protocol::Imap, MAIL_PROGRAM, "abcde-fghjk-mnpqr-stvwx");
                        assert!(tried.is_err(), "a wrong app password was let in");
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().unwrap();
        }
    });
    let refusals = site.dovecot.log_lines_awaited(mark, "imap-login: Info: Disconnected", 200);
    assert!(refusals.iter().all(|line| line.contains("auth failed")), "{refusals:?}");
    let asked = site.dovecot.log_lines(mark, "mailmfa: ");
    assert!(asked.len() >= 200, "mailmfa was asked at every try: {}", asked.len());

    // The address is throttled now, even with the right app password; another address is not.
    assert_eq!(site.ask(&app, "127.0.0.2"), json!({"result": "reject", "reason": "throttled"}));
    site.refused(
        Protocol::Imap,
        MAIL_PROGRAM,
        &app,
        &refusal(Protocol::Imap, "127.0.0.2", "throttled (as an app password)"),
    );
    assert_eq!(site.ask(&app, "127.0.0.3"), json!({"result": "accept", "app_password": "phone"}));

    // The service writes the failures it counted when it stops: a few rows, not 200.
    site.service.take().unwrap().stop();
    let written = site.audit_rows() - audited;
    assert!((1..10).contains(&written), "{written} audit rows for 200 refusals: they are coalesced");
    // And the mailbox's own sign-in is not locked.
    let begin = site.env.ok(&["login", "begin", ALICE, "--ip", "203.0.113.9", "--json"]).json();
    assert_eq!(begin["decision"], "challenge", "the webmail's sign-in is not locked: {begin}");
}

#[test]
fn with_the_service_down_on_error_decides() {
    let mut site = Site::new();
    site.require_app_passwords();
    let app = site.app_password("phone", Some("imap"));
    let service = site.service.take().unwrap();
    let base = service.base.clone();
    service.stop();

    // on_error = reject: neither the mailbox password nor an app password, from anywhere.
    for from in [MAIL_PROGRAM, WEBMAIL] {
        let ip = from.to_string();
        let line = site.refused(
            Protocol::Imap,
            from,
            MAILBOX_PASSWORD,
            &format!("on_error=reject: refused {ALICE} over imap from {ip}"),
        );
        assert!(line.contains(&format!("cannot reach {base}")), "{line}");
    }
    site.refused(
        Protocol::Imap,
        MAIL_PROGRAM,
        &app,
        "app passwords are not checked for alice@example.test over imap from 127.0.0.2",
    );

    // on_error = password: the mailbox password goes through, and the log says so.
    let key = site.key.clone();
    let settings = MailmfaSettings { url: base, key, on_error: OnError::Password };
    site.dovecot.restart(&Setup { mail_programs: true, mailmfa: Some(settings) });
    let mark = site.accepted(Protocol::Imap, MAIL_PROGRAM, MAILBOX_PASSWORD);
    site.dovecot.log_line(
        mark,
        &format!("on_error=password: let the mailbox password through for {ALICE} over imap from 127.0.0.2"),
    );
    site.refused(
        Protocol::Imap,
        MAIL_PROGRAM,
        &app,
        "app passwords are not checked for alice@example.test over imap from 127.0.0.2",
    );
}

#[test]
fn the_webmail_signs_in_through_the_chain_under_app_passwords() {
    let (env, key, service) = store_and_service();
    // No second step in the webmail: the sign-in goes straight to the inbox.
    env.ok(&["postoffice", "set", "example.test", "--mail-programs", "app-passwords", "--challenge", "never"]);
    let alice = MailUser::new(ALICE, MAILBOX_PASSWORD);
    let plugin = PluginConfig { url: service.base.clone(), key: api_key(&env, "roundcube", &[]), fail_open: false };
    let dovecot = Setup {
        mail_programs: false,
        mailmfa: Some(MailmfaSettings { url: service.base.clone(), key, on_error: OnError::Reject }),
    };
    let webmail = Webmail::start_with(std::slice::from_ref(&alice), &plugin, &dovecot);
    webmail.deliver(&alice, "Minutes 4471", "Read them.");
    let browser = Browser::start(Screen::desktop(1280, 900));
    browser.goto(&webmail.url(""));
    browser.wait_for("#rcmloginuser").type_text(ALICE);
    browser.find("#rcmloginpwd").type_text(MAILBOX_PASSWORD);
    browser.find("#rcmloginsubmit").click();
    browser.wait_until("the message list", |b| {
        b.try_find("#messagelist").is_some_and(|list| list.text().contains("Minutes 4471"))
    });
    let log = webmail.dovecot().log();
    assert!(log.contains("imap-login: Info: Login: user=<alice@example.test>"), "{log}");
    assert!(!log.contains("mailmfa: refused"), "{log}");
    // The same password from a mail program is refused by the same chain.
    let mark = webmail.dovecot().log_mark();
    let tried = sign_in(Protocol::Imap, webmail.imap_port, MAIL_PROGRAM, ALICE, MAILBOX_PASSWORD);
    assert!(tried.is_err(), "a mail program got in with the mailbox password");
    webmail.dovecot().log_line(mark, &refusal(Protocol::Imap, "127.0.0.2", "app_password_required"));
}
