//! The Roundcube plugin (`integrations/roundcube/mailmfa`) as a mail user meets it: a real
//! Dovecot, a real Roundcube with the plugin, a real `mailmfa serve` on a test store, and
//! headless Chromium typing and clicking through the pages (DESIGN.md §9, issue 11).
//!
//! Enrolment by scanning the QR code on the screen, a later login from a known address, the gate
//! that keeps every other request out until the code is accepted (pages, frames and AJAX),
//! the lockout after five wrong codes, a service that is down or refuses the key, the settings
//! page, app passwords for mail programs (Settings → Mail programs), and the plugin's PHP client
//! under PHPUnit against the real service.
//!
//! Needs Debian's `chromium chromium-driver php-cli php-sqlite3 php-curl php-mbstring
//! roundcube-core roundcube-sqlite3 dovecot-imapd phpunit`; a missing one fails the test and is
//! named. `scripts/screenshots-web.sh` runs the ignored test that makes the README's pictures.

use std::process::Command;

use crate::common::TestEnv;
use crate::common::browser::{self, Browser, Screen, decode_qr};
use crate::common::dovecot::{MailmfaSettings, OnError, Setup};
use crate::common::http_server::{TestHttp, start_http};
use crate::common::mail_client::{MAIL_PROGRAM, Protocol, sign_in};
use crate::common::roundcube::{self, MailUser, PluginConfig, Webmail};
use crate::common::serve::Server;
use mailmfa::domain::totp::{code_at_step, decode_secret, step_of};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

mod passkeys;

/// The subject of the one message in alice's inbox: seeing it means seeing her mail.
const SUBJECT: &str = "Quarterly report 7731";

/// A mail server with two-factor authentication, and a browser in front of it: the store has
/// `example.test` (every login challenged, users may change their settings) with alice, whose
/// authenticator app is not enrolled yet, and bob, who gets codes by SMS through a test gateway.
struct Site {
    // Dropped in this order: Chromium first, then the servers it talks to.
    browser: Browser,
    webmail: Webmail,
    service: Option<Server>,
    gateway: TestHttp,
    key: String,
    alice: MailUser,
    bob: MailUser,
    env: TestEnv,
}

impl Site {
    fn new() -> Self {
        Self::on(Screen::desktop(1280, 900))
    }

    fn on(screen: Screen) -> Self {
        Self::start(screen, false)
    }

    /// [`Site::new`] with Dovecot checking passwords through mailmfa's passdb chain
    /// (`integrations/dovecot/`), so that a mail program's sign-in over IMAP asks the service.
    fn with_mail_programs() -> Self {
        Self::start(Screen::desktop(1280, 900), true)
    }

    fn start(screen: Screen, mail_chain: bool) -> Self {
        let env = TestEnv::new();
        env.ok(&["postoffice", "add", "example.test"]);
        env.ok(&["postoffice", "set", "example.test", "--challenge", "always", "--users-may-configure", "true"]);
        env.ok(&["mailbox", "add", "alice@example.test"]);
        env.ok(&["mailbox", "add", "bob@example.test"]);
        env.ok(&["mailbox", "set", "bob@example.test", "--provider", "sms", "--sms-number", "+15551234567"]);
        let gateway = start_http(200, "OK", "{}");
        env.ok(&["settings", "set", "sms.url", &gateway.url("/sms")]);
        let key = env.ok(&["client", "add", "roundcube", "--json"]).json()["key"].as_str().unwrap().to_owned();
        let service = Server::start(&env, &[]);
        let alice = MailUser::new("alice@example.test", "imap-password-7");
        let bob = MailUser::new("bob@example.test", "imap-password-8");
        let plugin = PluginConfig { url: service.base.clone(), key: key.clone(), fail_open: false };
        let chain = MailmfaSettings { url: service.base.clone(), key: key.clone(), on_error: OnError::Reject };
        let dovecot = Setup { mail_programs: false, mailmfa: mail_chain.then_some(chain) };
        let webmail = Webmail::start_with(&[alice.clone(), bob.clone()], &plugin, &dovecot);
        webmail.deliver(&alice, SUBJECT, "The numbers are in.");
        webmail.deliver(&bob, SUBJECT, "The numbers are in.");
        let browser = Browser::start(screen);
        Site { browser, webmail, service: Some(service), gateway, key, alice, bob, env }
    }

    /// Signs in on Roundcube's login page with alice's IMAP password, and waits for the answer.
    fn sign_in(&self) {
        self.sign_in_as(&self.alice);
    }

    /// Signs in as `user` with the IMAP password, and waits for the answer.
    fn sign_in_as(&self, user: &MailUser) {
        let b = &self.browser;
        b.goto(&self.webmail.url(""));
        b.wait_for("#rcmloginuser").type_text(&user.address);
        b.find("#rcmloginpwd").type_text(&user.password);
        b.find("#rcmloginsubmit").click();
        b.wait_until("the login to be answered", |b| b.try_find("#rcmloginuser").is_none());
    }

    /// Signs out through Roundcube's own logout button (behind the menu button on a phone).
    fn sign_out(&self) {
        let b = &self.browser;
        if !b.find("#taskmenu a.logout").is_displayed() {
            b.find("#layout-list .header a.task-menu-button, a.task-menu-button").click();
            b.wait_until("the menu to open", |b| b.find("#taskmenu a.logout").is_displayed());
        }
        b.find("#taskmenu a.logout").click();
        b.wait_for("#rcmloginuser");
    }

    /// On the enrolment page: reads the QR code off the screen as a phone camera would, checks
    /// that the key for typing by hand is the same secret, types the app's first code, and goes
    /// on from the recovery codes. Returns the secret.
    fn enrol(&self) -> Vec<u8> {
        self.enrol_with_codes().0
    }

    /// [`Site::enrol`], returning the recovery codes the page showed once too.
    fn enrol_with_codes(&self) -> (Vec<u8>, Vec<String>) {
        let enrolled = self.enrol_to_codes();
        self.browser.find("#mailmfa-continue").click();
        enrolled
    }

    /// [`Site::enrol`] up to the page of recovery codes, before going on.
    fn enrol_to_codes(&self) -> (Vec<u8>, Vec<String>) {
        let b = &self.browser;
        b.wait_for("#mailmfa-qrcode");
        assert_eq!(b.find("#mailmfa-title").text(), "Set up two-factor authentication");
        let uri = decode_qr(&b.find("#mailmfa-qrcode").screenshot());
        assert!(uri.starts_with("otpauth://totp/"), "{uri}");
        assert!(uri.contains("alice%40example.test") || uri.contains("alice@example.test"), "{uri}");
        let secret = uri.split("secret=").nth(1).unwrap().split('&').next().unwrap().to_owned();
        let typed: String = b.find("#mailmfa-secret").text().split_whitespace().collect();
        assert_eq!(typed, secret, "the key for manual entry");
        let secret = decode_secret(&secret).unwrap().to_vec();
        self.enter_code(&current_code(&secret));
        b.wait_for("#mailmfa-codes");
        assert_eq!(b.find("#mailmfa-title").text(), "Recovery codes");
        let codes: Vec<String> = b.find_all("#mailmfa-codes li").iter().map(|li| li.text()).collect();
        assert_eq!(codes.len(), 10, "{}", b.visible_text());
        let line = b
            .execute(
                "return parseFloat(getComputedStyle(document.querySelector('#mailmfa-codes li')).lineHeight);",
                json!([]),
            )
            .as_f64()
            .unwrap();
        for li in b.find_all("#mailmfa-codes li") {
            assert!(li.rect().3 < line * 1.5, "{:?} breaks across lines", li.text());
        }
        (secret, codes)
    }

    /// Types a code into the code field and presses Verify.
    fn enter_code(&self, code: &str) {
        let b = &self.browser;
        let field = b.wait_for("#mailmfa-code");
        assert_eq!(field.attribute("autocomplete").as_deref(), Some("one-time-code"));
        assert_eq!(field.attribute("inputmode").as_deref(), Some("numeric"));
        field.type_text(code);
        b.find("#mailmfa-verify").click();
    }

    /// Waits for the inbox and checks that it lists alice's message.
    fn expect_inbox(&self) {
        let b = &self.browser;
        b.wait_for("#messagelist");
        b.wait_until("the message list", |b| b.find("#messagelist").text().contains(SUBJECT));
        assert!(b.url().contains("_task=mail"), "{}", b.url());
    }

    /// The code in the last text message the gateway was asked to send, and how many it got.
    fn last_sms_code(&self) -> (String, usize) {
        let requests = self.gateway.requests();
        let message = requests.last().expect("an SMS was sent").json()["message"].as_str().unwrap().to_owned();
        let chars: Vec<char> = message.chars().collect();
        let code = chars.windows(6).find(|w| w.iter().all(char::is_ascii_digit)).map(|w| w.iter().collect()).unwrap();
        (code, requests.len())
    }

    /// `mailbox show --json` of alice.
    fn alice(&self) -> Value {
        self.env.ok(&["mailbox", "show", &self.alice.address, "--json"]).json()
    }

    /// `mailbox show --json` of bob.
    fn bob(&self) -> Value {
        self.env.ok(&["mailbox", "show", &self.bob.address, "--json"]).json()
    }

    /// Signs in as bob with the code the gateway got, to the inbox.
    fn sign_in_bob(&self) {
        self.sign_in_as(&self.bob);
        self.enter_code(&self.last_sms_code().0);
        self.expect_inbox();
    }

    /// From the inbox to Settings → Two-factor authentication, through the menus.
    fn open_settings(&self) {
        let b = &self.browser;
        b.find("#taskmenu a.settings").click();
        b.wait_for("#settings-menu li.mailmfa a").click();
        b.wait_for("#mailmfa-recovery-form");
    }

    /// From the inbox to Settings → Mail programs, through the menus: its entry follows
    /// Two-factor authentication.
    fn open_mail_programs(&self) {
        let b = &self.browser;
        b.find("#taskmenu a.settings").click();
        b.wait_for("#settings-menu li.mailmfa-mailprograms a");
        let entries: Vec<String> =
            b.find_all("#settings-menu li").iter().map(|li| li.attribute("class").unwrap_or_default()).collect();
        let at = |class: &str| entries.iter().position(|c| c.split_whitespace().any(|w| w == class));
        assert_eq!(
            at("mailmfa-mailprograms"),
            at("mailmfa").map(|i| i + 1),
            "next to Two-factor authentication: {entries:?}"
        );
        b.find("#settings-menu li.mailmfa-mailprograms a").click();
        b.wait_for("#mailmfa-password-in-mail-programs");
    }

    /// `app-password list --json` of `user`.
    fn app_passwords(&self, user: &MailUser) -> Value {
        self.env.ok(&["app-password", "list", &user.address, "--json"]).json()
    }

    /// Checks that a mail program elsewhere (127.0.0.2) signs in to `user`'s mailbox over IMAP with
    /// the app password `password` — or, with `signs_in` false, that it does not — through
    /// Dovecot's passdb chain, which asks the service (a site made by [`Site::with_mail_programs`]).
    fn check_app_password_signs_in(&self, user: &MailUser, password: &str, signs_in: bool) {
        let signed_in = sign_in(Protocol::Imap, self.webmail.imap_port, MAIL_PROGRAM, &user.address, password);
        assert_eq!(signed_in.is_ok(), signs_in, "IMAP from a mail program: {signed_in:?}");
    }

    /// Waits until the service has written the last use of `user`'s first app password, which it
    /// does after it answered the mail server.
    fn wait_for_last_use(&self, user: &MailUser) {
        let deadline = std::time::Instant::now() + browser::PATIENCE;
        while self.app_passwords(user)[0]["last_used"].is_null() {
            assert!(std::time::Instant::now() < deadline, "the last use was not written");
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }

    /// Waits for the settings' code page of a step-up and returns what it says is asked.
    fn expect_step_up(&self) -> String {
        let b = &self.browser;
        let prompt = b.wait_for("#mailmfa-step-up-prompt").text();
        assert_eq!(b.find("#mailmfa-step-up-title").text(), "Confirm it is you");
        assert!(b.url().contains("_action=plugin.mailmfa-step-up"), "{}", b.url());
        prompt
    }

    /// Whether any session Roundcube keeps in its database holds `needle`.
    fn session_holds(&self, needle: &str) -> bool {
        self.webmail.session_rows().iter().any(|vars| String::from_utf8_lossy(vars).contains(needle))
    }

    /// The plugin configured with this site's service and key, and `fail_open`.
    fn plugin(&self, key: &str, fail_open: bool) -> PluginConfig {
        let url = self.service.as_ref().map(|s| s.base.clone()).unwrap_or_default();
        PluginConfig { url, key: key.to_owned(), fail_open }
    }
}

/// The TOTP code an authenticator app shows now.
fn current_code(secret: &[u8]) -> String {
    code_at_step(secret, step_of(now()))
}

/// The TOTP code an authenticator app shows next, which the service already takes: the code of now
/// may have been typed a moment ago, and a code is taken once.
fn next_code(secret: &[u8]) -> String {
    code_at_step(secret, step_of(now()) + 1)
}

/// A code that is wrong now and in the steps either side.
fn wrong_code(secret: &[u8]) -> String {
    let step = step_of(now());
    let near: Vec<String> = (step - 1..=step + 1).map(|s| code_at_step(secret, s)).collect();
    (0..).map(|n| format!("{:06}", 111_111 * (n % 9 + 1) % 1_000_000)).find(|c| !near.contains(c)).unwrap()
}

/// The name of the plugin's remembered-browser cookie for `address`.
fn device_cookie(address: &str) -> String {
    let hash: String = Sha256::digest(address.to_lowercase()).iter().map(|b| format!("{b:02x}")).collect();
    format!("mailmfa_device_{}", &hash[..16])
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// An AJAX request from the page, as Roundcube's own scripts send them: the session cookie and
/// the request token in `X-Roundcube-Request`. Returns the status and the body.
fn ajax(browser: &Browser, url: &str, token: &str) -> (u64, String) {
    let answer = browser.execute(
        "var xhr = new XMLHttpRequest();
         xhr.open('GET', arguments[0], false);
         xhr.setRequestHeader('X-Roundcube-Request', arguments[1]);
         xhr.send();
         return {status: xhr.status, body: xhr.responseText};",
        json!([url, token]),
    );
    (answer["status"].as_u64().unwrap_or_default(), answer["body"].as_str().unwrap_or_default().to_owned())
}

#[test]
fn a_mail_user_enrols_by_scanning_the_qr_code_then_signs_in_from_a_known_address() {
    let site = Site::new();
    assert_eq!(site.alice()["status"], "not enrolled", "{}", site.alice());

    site.sign_in();
    assert!(site.browser.url().contains("_task=mailmfa"), "{}", site.browser.url());
    site.enrol();
    site.expect_inbox();
    let alice = site.alice();
    assert_eq!(alice["status"], "enrolled", "{alice}");
    assert_eq!(alice["known_ips"][0]["ip"], "127.0.0.1", "{alice}");

    // In new-ip mode, the same address goes straight to the inbox: no page of the plugin.
    site.sign_out();
    site.env.ok(&["mailbox", "set", &site.alice.address, "--challenge", "new-ip"]);
    site.sign_in();
    site.expect_inbox();
    let audit = site.env.ok(&["audit", "--json", "--limit", "1"]).json();
    assert_eq!(audit[0]["action"], "login.begin", "{audit}");
    assert_eq!(audit[0]["outcome"], "allow", "{audit}");
}

#[test]
fn the_gate_keeps_pages_frames_and_ajax_out_until_the_code_is_accepted() {
    let site = Site::new();
    let b = &site.browser;
    site.sign_in();
    b.wait_for("#mailmfa-qrcode");
    let token = b.find("#mailmfa-code-form input[name=_token]").property("value").as_str().unwrap().to_owned();

    // The classic bypass — browsing to the mail task — and every other door before the code.
    let pages = [
        "?_task=mail",
        "?_task=mail&_mbox=INBOX",
        "?_task=mail&_action=show&_uid=1&_mbox=INBOX",
        "?_task=mail&_action=preview&_uid=1&_mbox=INBOX&_framed=1",
        "?_task=addressbook",
        "?_task=settings",
        "?_task=settings&_action=plugin.mailmfa-settings",
        "?_task=login",
    ];
    for page in pages {
        b.goto(&site.webmail.url(page));
        assert!(b.url().contains("_task=mailmfa"), "{page} led to {}", b.url());
        assert!(b.try_find("#mailmfa-qrcode").is_some(), "{page} did not show the enrolment page");
        assert!(b.try_find("#messagelist").is_none(), "{page} showed a message list");
        assert!(!b.source().contains(SUBJECT), "{page} showed alice's mail");
    }
    let remote = [
        "?_task=mail&_action=list&_mbox=INBOX&_remote=1",
        "?_task=mail&_action=refresh&_remote=1",
        "?_task=mail&_action=search&_q=Quarterly&_mbox=INBOX&_remote=1",
        "?_task=addressbook&_action=list&_remote=1",
    ];
    for call in remote {
        let (status, body) = ajax(b, &site.webmail.url(call), &token);
        assert_eq!(status, 200, "{call}: {body}");
        assert!(!body.contains(SUBJECT) && !body.contains("add_message_row"), "{call} gave mail data: {body}");
        assert!(body.contains("_task=mailmfa"), "{call} was not sent to the sign-in page: {body}");
    }

    // After the code the same doors open, which shows the probes above could see mail.
    let waiting_cookies = b.cookies();
    site.enrol();
    site.expect_inbox();
    let token = b.execute("return rcmail.env.request_token;", json!([])).as_str().unwrap().to_owned();
    let (_, body) = ajax(b, &site.webmail.url(remote[0]), &token);
    assert!(body.contains(SUBJECT), "the list after the code: {body}");
    b.goto(&site.webmail.url(pages[3]));
    assert!(b.source().contains(SUBJECT), "the preview after the code");

    // The session got a new id with the code: the cookies of the waiting session open nothing,
    // not even the code page (asked without following redirects, which would drop the cookies).
    let cookie: Vec<String> = waiting_cookies.iter().map(|(name, value)| format!("{name}={value}")).collect();
    let agent = ureq::Agent::new_with_config(
        ureq::config::Config::builder().http_status_as_error(false).proxy(None).max_redirects(0).build(),
    );
    let answer = agent.get(site.webmail.url("?_task=mail")).header("Cookie", cookie.join("; ")).call().unwrap();
    let status = answer.status().as_u16();
    let page = answer.into_body().read_to_string().unwrap();
    assert_eq!(status, 200, "the waiting session's cookies were still a session");
    assert!(page.contains("rcmloginuser") && !page.contains(SUBJECT), "not the login page: {page}");
}

#[test]
fn a_code_by_text_message_can_be_sent_again_and_opens_the_mailbox() {
    let site = Site::new();
    let b = &site.browser;
    site.sign_in_as(&site.bob);
    let prompt = b.wait_for("#mailmfa-prompt").text();
    assert_eq!(b.find("#mailmfa-title").text(), "Enter your sign-in code");
    assert!(prompt.contains("by text message to +•••••••••67"), "{prompt}");
    assert!(b.try_find("#mailmfa-qrcode").is_none());
    let (first, sent) = site.last_sms_code();
    assert_eq!(sent, 1);

    // A link on another site sends no code: only the page's own form does.
    b.goto(&site.webmail.url("?_task=mailmfa&_action=resend"));
    let note = b.wait_for("#mailmfa-note").text();
    assert!(note.contains("Invalid request! No data was saved."), "{note}");
    assert_eq!(site.gateway.requests().len(), 1, "a GET sent a code");

    b.find("#mailmfa-resend").click();
    let note = b.wait_for("#mailmfa-note").text();
    assert!(note.contains("We sent a new code to +•••••••••67"), "{note}");
    let (second, sent) = site.last_sms_code();
    assert_eq!(sent, 2, "the new code went out");
    if first != second {
        site.enter_code(&first);
        let note = b.wait_for("#mailmfa-note").text();
        assert!(note.contains("That code is not right"), "the voided first code: {note}");
        assert_eq!(b.find("#mailmfa-code").property("value"), "", "a typed code is never sent back");
    }
    site.enter_code(&second);
    site.expect_inbox();
}

#[test]
fn five_wrong_codes_lock_the_mailbox_and_end_the_session() {
    let site = Site::new();
    let b = &site.browser;
    site.sign_in();
    b.wait_for("#mailmfa-qrcode");
    let uri = decode_qr(&b.find("#mailmfa-qrcode").screenshot());
    let secret = decode_secret(uri.split("secret=").nth(1).unwrap().split('&').next().unwrap()).unwrap().to_vec();

    for _ in 1..=4 {
        site.enter_code(&wrong_code(&secret));
        b.wait_until("the answer to the code", |b| b.try_find("#mailmfa-note, #mailmfa-locked").is_some());
        assert!(b.find("#mailmfa-note").text().contains("That code is not right"), "{}", b.visible_text());
    }
    // The fifth wrong code locks the mailbox, and the page says so at once.
    site.enter_code(&wrong_code(&secret));
    let locked = b.wait_for("#mailmfa-locked").text();
    assert_eq!(b.find("#mailmfa-title").text(), "Sign-in paused");
    assert!(locked.contains("too many wrong codes for alice@example.test"), "{locked}");
    let when = locked.split("You can try again in ").nth(1).unwrap_or_else(|| panic!("no time: {locked}"));
    assert!(when.contains(" min, at ") && when.contains(':'), "{locked}");
    let alice = site.alice();
    assert!(alice["locked_until"].is_string(), "{alice}");

    // The session ended with the page: the mail task asks for the password again.
    b.goto(&site.webmail.url("?_task=mail"));
    b.wait_for("#rcmloginuser");
    assert!(!b.source().contains(SUBJECT));
}

#[test]
fn a_service_that_is_down_or_refuses_the_key_keeps_the_mailbox_closed() {
    let mut site = Site::new();
    let b = &site.browser;
    let expect_refusal = |what: &str| {
        let text = b.wait_for("#mailmfa-refused").text();
        assert_eq!(b.find("#mailmfa-title").text(), "Sign-in not available", "{what}");
        assert!(text.contains("your mailbox stays closed"), "{what}: {text}");
        b.goto(&site.webmail.url("?_task=mail"));
        b.wait_for("#rcmloginuser");
        assert!(!b.source().contains(SUBJECT), "{what}: mail shown");
    };

    // No provider can reach alice: the service refuses, and the page says what to do.
    site.env.ok(&["provider", "set", "totp", "--enabled", "false"]);
    site.sign_in();
    let text = b.wait_for("#mailmfa-refused").text();
    assert_eq!(b.find("#mailmfa-title").text(), "Sign-in not possible");
    assert!(text.contains("contact your administrator"), "{text}");
    site.env.ok(&["provider", "set", "totp", "--enabled", "true"]);

    let wrong_key = "mmfa_0123456789ab_notthekeynotthekeynotthekey0000";
    site.webmail.configure(&site.plugin(wrong_key, false));
    site.sign_in();
    expect_refusal("a wrong key");

    site.webmail.configure(&site.plugin(&site.key, false));
    let service = site.service.take().unwrap();
    let base = service.base.clone();
    assert_eq!(service.stop(), Some(0));
    site.webmail.configure(&PluginConfig { url: base.clone(), key: site.key.clone(), fail_open: false });
    site.sign_in();
    expect_refusal("the service stopped");

    // The administrator's other choice: in without a second factor, written to the error log.
    site.webmail.configure(&PluginConfig { url: base, key: site.key.clone(), fail_open: true });
    site.sign_in();
    site.expect_inbox();
    let log = site.webmail.error_log();
    assert!(log.contains("mailmfa_fail_open lets alice@example.test in"), "{log}");
    assert!(!log.contains(&site.key) && !log.contains(wrong_key), "a key in the log: {log}");
}

/// `mailmfa_fail_open` lets a sign-in through when the service is down, never on an answer a user
/// can cause: a remembered-browser cookie that is not UTF-8 once emptied the request (the service
/// answered 400 and the password alone opened the inbox), and a flood earns 429.
#[test]
fn fail_open_lets_nobody_in_on_an_answer_a_user_can_cause() {
    let site = Site::new();
    let b = &site.browser;
    site.webmail.configure(&site.plugin(&site.key, true));

    // The cookie is deleted and not sent: the service, asked without it, wants the enrolment.
    let cookie = device_cookie(&site.alice.address);
    b.goto(&site.webmail.url(""));
    b.execute("document.cookie = arguments[0] + '=%FF%FE; path=/';", json!([cookie]));
    site.sign_in();
    b.wait_for("#mailmfa-qrcode");
    assert!(b.cookies().iter().all(|(name, _)| *name != cookie), "the cookie was kept: {:?}", b.cookies());
    b.find("#mailmfa-signout").click();

    let refusing =
        [start_http(400, "Bad Request", r#"{"error":"bad request"}"#), start_http(429, "Too Many Requests", "{}")];
    for service in &refusing {
        site.webmail.configure(&PluginConfig { url: service.url(""), key: site.key.clone(), fail_open: true });
        site.sign_in();
        let text = b.wait_for("#mailmfa-refused").text();
        assert!(text.contains("your mailbox stays closed"), "{text}");
        assert_eq!(service.requests().len(), 1, "the service was asked");
        b.goto(&site.webmail.url("?_task=mail"));
        b.wait_for("#rcmloginuser");
    }
    assert!(!site.webmail.error_log().contains("mailmfa_fail_open lets"), "{}", site.webmail.error_log());

    // A server error is the service being down: the administrator chose to let users in then.
    let down = start_http(503, "Service Unavailable", "{}");
    site.webmail.configure(&PluginConfig { url: down.url(""), key: site.key.clone(), fail_open: true });
    site.sign_in();
    site.expect_inbox();
    assert!(site.webmail.error_log().contains("mailmfa_fail_open lets alice@example.test in"));
}

#[test]
fn the_settings_page_changes_the_challenge_mode_and_shows_refusals() {
    let mut site = Site::new();
    let b = &site.browser;
    site.sign_in();
    site.enrol();
    site.expect_inbox();

    b.find("#taskmenu a.settings").click();
    b.wait_for("#settings-menu li.mailmfa a").click();
    b.wait_for("#mailmfa-settings-form");
    // The page shows what applies now, as the service says.
    assert_eq!(b.find("#mailmfa-challenge").property("value"), "inherit");
    assert_eq!(b.find("#mailmfa-provider").property("value"), "totp");
    b.find("#mailmfa-challenge").select_value("new-ip");
    b.find("#mailmfa-save").click();
    let note = b.wait_for("#mailmfa-settings-note").text();
    assert!(note.contains("Saved") && note.contains("When I sign in from a new IP address"), "{note}");
    assert!(b.try_find("#mailmfa-step-up-title").is_none(), "the mode alone needs no fresh code");
    assert_eq!(site.alice()["challenge"], "new-ip");
    assert_eq!(b.find("#mailmfa-challenge").property("value"), "new-ip", "the saved mode is shown");

    // Self-service turned off while the page is open: the change is refused in words, and the
    // page then shows the mode as the organisation's, not changeable.
    site.env.ok(&["postoffice", "set", "example.test", "--users-may-configure", "false"]);
    b.find("#mailmfa-challenge").select_value("never");
    b.find("#mailmfa-save").click();
    let note = b.wait_for("#mailmfa-settings-note").text();
    assert!(note.contains("your administrator does not let users change these settings"), "{note}");
    assert_eq!(site.alice()["challenge"], "new-ip");
    assert_eq!(b.find("#mailmfa-challenge").property("disabled"), true);
    let hint = b.find("#mailmfa-challenge-hint").text();
    assert!(hint.contains("Your organisation decides this: When I sign in from a new IP address"), "{hint}");

    // The service refuses every change then: the page shows the settings read-only, with nothing
    // to save, and keeps the recovery codes, which that switch does not govern.
    let fixed = b.find("#mailmfa-settings-fixed-note").text();
    assert!(
        fixed.contains("Your organisation decides when you are asked for a code and how you receive it"),
        "{fixed}"
    );
    for field in ["#mailmfa-provider", "#mailmfa-sms-number", "#mailmfa-alt-email"] {
        assert_eq!(b.find(field).property("disabled"), true, "{field}");
    }
    assert!(b.try_find("#mailmfa-settings-form, #mailmfa-save").is_none(), "nothing to save");
    assert!(b.try_find("#mailmfa-new-codes-button").is_some(), "new recovery codes stay available");
    assert_eq!(b.find("#mailmfa-provider").property("value"), "totp");
    // A save posted all the same (with the page's request token) sends nothing and asks for no code.
    let token = b.find("#mailmfa-recovery-form input[name=_token]").property("value").as_str().unwrap().to_owned();
    let answer = b.execute(
        "var xhr = new XMLHttpRequest(); xhr.open('POST', arguments[0], false);
         xhr.setRequestHeader('Content-Type', 'application/x-www-form-urlencoded');
         xhr.send(arguments[1]); return xhr.responseText;",
        json!([
            site.webmail.url("?_task=settings&_action=plugin.mailmfa-settings-save"),
            format!("_token={token}&_provider=smtp&_alt_email=thief%40example.org")
        ]),
    );
    let page = answer.as_str().unwrap();
    assert!(page.contains("your administrator does not let users change these settings"), "{page}");
    assert!(!page.contains("mailmfa-step-up-title"), "a code was asked for: {page}");
    let alice = site.alice();
    assert_eq!((alice["provider"].as_str(), alice["alt_email"].as_str()), (Some("totp"), None), "{alice}");

    // The choices are the service's: without it the page offers nothing to change.
    let offered: Vec<String> = b.find_all("#mailmfa-provider option").iter().map(|o| o.text()).collect();
    assert_eq!(offered, ["Authenticator app", "Text message (SMS)", "E-mail to another address"]);
    assert_eq!(site.service.take().unwrap().stop(), Some(0));
    b.goto(&site.webmail.url("?_task=settings&_action=plugin.mailmfa-settings"));
    let unread = b.wait_for("#mailmfa-settings-unread").text();
    assert!(unread.contains("Your settings cannot be read just now"), "{unread}");
    assert!(b.try_find("#mailmfa-settings-form, #mailmfa-save, #mailmfa-challenge, #mailmfa-recovery-form").is_none());
}

/// Whoever has only the session (a stolen cookie, a shared computer left signed in) once could send
/// the codes to a number of their own. Now a new number waits for a fresh code, sent to the number
/// in use: a wrong one changes nothing, the right one saves it. The mode alone needs no code.
#[test]
fn a_new_sms_number_is_saved_only_after_a_fresh_code() {
    let site = Site::new();
    let b = &site.browser;
    site.sign_in_bob();
    site.open_settings();
    let sent = site.gateway.requests().len();

    b.find("#mailmfa-challenge").select_value("new-ip");
    b.find("#mailmfa-save").click();
    let note = b.wait_for("#mailmfa-settings-note").text();
    assert!(note.contains("Saved"), "{note}");
    assert!(b.try_find("#mailmfa-step-up-title").is_none(), "the mode alone needs no fresh code");
    assert_eq!(site.bob()["challenge"], "new-ip");
    assert_eq!(site.gateway.requests().len(), sent, "no code was sent for the mode");

    b.find("#mailmfa-sms-number").type_text("+15557654321");
    b.find("#mailmfa-save").click();
    let prompt = site.expect_step_up();
    assert!(prompt.contains("Changing how you receive your codes needs a fresh code first"), "{prompt}");
    assert!(prompt.contains("by text message to +•••••••••67"), "{prompt}");
    let requests = site.gateway.requests();
    assert_eq!(requests.len(), sent + 1, "a code went out");
    assert_eq!(requests.last().unwrap().json()["to"], "+15551234567", "to the number in use, not the new one");
    assert_eq!(site.bob()["sms_number"], "+15551234567", "nothing saved before the code");
    assert!(site.session_holds("+15557654321"), "the change waits in the session while the step-up runs");

    // A wrong code: the page again, with why; nothing saved.
    let (code, _) = site.last_sms_code();
    site.enter_code(if code == "000000" { "111111" } else { "000000" });
    let note = b.wait_for("#mailmfa-step-up-note").text();
    assert!(note.contains("That code is not right"), "{note}");
    assert_eq!(b.find("#mailmfa-code").property("value"), "", "a typed code is never sent back");
    assert_eq!(site.bob()["sms_number"], "+15551234567");

    // A new code on request, then the right one saves the number.
    b.find("#mailmfa-resend").click();
    let note = b.wait_for("#mailmfa-step-up-note").text();
    assert!(note.contains("We sent a new code to +•••••••••67"), "{note}");
    let (code, count) = site.last_sms_code();
    assert_eq!(count, sent + 2);
    site.enter_code(&code);
    let note = b.wait_for("#mailmfa-settings-note").text();
    assert!(note.contains("Saved") && note.contains("Text message (SMS)"), "{note}");
    let bob = site.bob();
    assert_eq!(
        (bob["sms_number"].as_str(), bob["challenge"].as_str()),
        (Some("+15557654321"), Some("new-ip")),
        "{bob}"
    );
    let shown = b.find("#mailmfa-sms-number").attribute("placeholder").unwrap_or_default();
    assert!(shown.starts_with("+•") && shown.ends_with("21"), "the new number, masked: {shown}");
    assert!(!site.session_holds("+15557654321"), "the change left the session with the step-up");
    assert!(b.try_find("#mailmfa-step-up-title").is_none());
}

/// A script in the user's session (it has the page's request token) posts the save itself: it
/// gets the code page, and the code goes to the number in use; without the code nothing changes.
/// A step-up the user left is gone: its code, typed later, changes nothing either.
#[test]
fn a_script_in_the_session_cannot_change_where_codes_go_without_a_fresh_code() {
    let site = Site::new();
    let b = &site.browser;
    site.sign_in_bob();
    site.open_settings();
    let token = b.find("#mailmfa-settings-form input[name=_token]").property("value").as_str().unwrap().to_owned();
    let sent = site.gateway.requests().len();
    let post = |action: &str, fields: String| {
        let answer = b.execute(
            "var xhr = new XMLHttpRequest(); xhr.open('POST', arguments[0], false);
             xhr.setRequestHeader('Content-Type', 'application/x-www-form-urlencoded');
             xhr.send(arguments[1]); return {url: xhr.responseURL, body: xhr.responseText};",
            json!([site.webmail.url(&format!("?_task=settings&_action={action}")), fields]),
        );
        (answer["url"].as_str().unwrap().to_owned(), answer["body"].as_str().unwrap().to_owned())
    };
    let unchanged = |when: &str| {
        let bob = site.bob();
        assert_eq!(
            (bob["provider"].as_str(), bob["sms_number"].as_str(), bob["alt_email"].as_str()),
            (Some("sms"), Some("+15551234567"), None),
            "{when}: {bob}"
        );
    };

    let (url, page) = post(
        "plugin.mailmfa-settings-save",
        format!("_token={token}&_sms_number=%2B15550000000&_provider=smtp&_alt_email=thief%40example.org"),
    );
    assert!(url.contains("_action=plugin.mailmfa-step-up"), "the save was not held for a code: {url}");
    assert!(page.contains("Confirm it is you") && page.contains("+•••••••••67"), "{page}");
    assert_eq!(site.gateway.requests().len(), sent + 1);
    assert_eq!(site.gateway.requests().last().unwrap().json()["to"], "+15551234567", "the owner's phone gets the code");
    unchanged("the save");

    let guess = if site.last_sms_code().0 == "000000" { "111111" } else { "000000" };
    let (url, page) = post("plugin.mailmfa-step-up-verify", format!("_token={token}&_code={guess}"));
    assert!(url.contains("_action=plugin.mailmfa-step-up"), "{url}");
    assert!(page.contains("That code is not right"), "{page}");
    unchanged("a guessed code");

    // The settings page drops a step-up left unfinished; its code typed afterwards is not checked.
    b.goto(&site.webmail.url("?_task=settings&_action=plugin.mailmfa-settings"));
    b.wait_for("#mailmfa-settings-form");
    assert!(!site.session_holds("thief@example.org"), "the change left the session");
    let (url, _) = post("plugin.mailmfa-step-up-verify", format!("_token={token}&_code={}", site.last_sms_code().0));
    assert!(url.contains("_action=plugin.mailmfa-settings"), "{url}");
    unchanged("the code of a step-up that ended");
    assert_eq!(site.bob()["failures"], 1, "only the guess was checked");
}

/// The enrolment's secret is the second factor itself: Roundcube's session table (in its
/// database, in clear) once held the `otpauth://` URI and the QR code until the first code. The
/// session keeps only the transaction; each drawing of the page asks the service for the QR code
/// — at sign-in and at a step-up in the settings — and a service that cannot answer ends the
/// sign-in with the unavailable page instead of a page without a QR code.
#[test]
fn the_enrolment_secret_stays_with_the_service_not_in_roundcubes_session() {
    let mut site = Site::new();
    let b = &site.browser;
    let expect_no_secret = |when: &str, secret: &str| {
        let rows = site.webmail.session_rows();
        assert!(!rows.is_empty(), "{when}: no session to look at");
        for vars in rows {
            let text = String::from_utf8_lossy(&vars);
            assert!(!text.contains("otpauth"), "{when}: the key URI is in the session: {text}");
            assert!(!text.to_uppercase().contains(secret), "{when}: the secret is in the session: {text}");
            assert!(!text.contains("iVBORw0KGgo"), "{when}: a QR code is in the session: {text}");
            assert!(!vars.windows(4).any(|w| w == b"\x89PNG"), "{when}: a PNG is in the session");
        }
    };
    let secret_of = |uri: &str| uri.split("secret=").nth(1).unwrap().split('&').next().unwrap().to_uppercase();

    site.sign_in();
    b.wait_for("#mailmfa-qrcode");
    let uri = decode_qr(&b.find("#mailmfa-qrcode").screenshot());
    let secret = secret_of(&uri);
    assert!(site.session_holds("transaction"), "the session keeps the transaction");
    expect_no_secret("the enrolment page", &secret);
    let key = decode_secret(&secret).unwrap().to_vec();

    site.enter_code(&wrong_code(&key));
    b.wait_for("#mailmfa-note");
    assert_eq!(decode_qr(&b.find("#mailmfa-qrcode").screenshot()), uri, "the same QR code, asked again");
    expect_no_secret("after a wrong code", &secret);
    b.goto(&site.webmail.url("?_task=mailmfa"));
    assert_eq!(decode_qr(&b.wait_for("#mailmfa-qrcode").screenshot()), uri, "the same QR code, reloaded");
    let typed: String = b.find("#mailmfa-secret").text().split_whitespace().collect();
    assert_eq!(typed, secret, "the key for typing by hand");
    assert_eq!(b.find("#mailmfa-applink").attribute("href").as_deref(), Some(uri.as_str()), "the phone's link");
    expect_no_secret("reloaded", &secret);
    site.enter_code(&current_code(&key));
    b.wait_for("#mailmfa-codes");
    expect_no_secret("the recovery codes", &secret);
    b.find("#mailmfa-continue").click();
    site.expect_inbox();
    expect_no_secret("the inbox", &secret);

    // The administrator resets the app: new recovery codes first enrol a new one, in the settings.
    site.env.ok(&["mailbox", "reset", "alice@example.test", "--code"]);
    site.open_settings();
    b.find("#mailmfa-new-codes-button").click();
    let prompt = site.expect_step_up();
    assert!(prompt.contains("No authenticator app is set up for alice@example.test yet"), "{prompt}");
    let uri = decode_qr(&b.find("#mailmfa-qrcode").screenshot());
    let renewed = secret_of(&uri);
    assert_ne!(renewed, secret, "a new secret");
    let typed: String = b.find("#mailmfa-secret").text().split_whitespace().collect();
    assert_eq!(typed, renewed);
    expect_no_secret("the step-up's enrolment", &renewed);
    let key = decode_secret(&renewed).unwrap().to_vec();
    site.enter_code(&current_code(&key));
    let note = b.wait_for("#mailmfa-settings-note").text();
    assert!(note.contains("Here are your new recovery codes"), "{note}");
    assert_eq!(b.find_all("#mailmfa-new-codes li").len(), 10);
    let alice = site.alice();
    assert_eq!(
        (alice["enrolment"].as_str(), alice["recovery_codes_left"].as_i64()),
        (Some("active"), Some(10)),
        "{alice}"
    );
    expect_no_secret("after the step-up", &renewed);

    // The enrolment page cannot be drawn without the service: the sign-in ends, saying so.
    site.env.ok(&["mailbox", "reset", "alice@example.test", "--code"]);
    site.sign_out();
    site.sign_in();
    b.wait_for("#mailmfa-qrcode");
    assert_eq!(site.service.take().unwrap().stop(), Some(0));
    b.goto(&site.webmail.url("?_task=mailmfa"));
    let text = b.wait_for("#mailmfa-refused").text();
    assert_eq!(b.find("#mailmfa-title").text(), "Sign-in not available");
    assert!(text.contains("your mailbox stays closed"), "{text}");
    assert!(b.try_find("#mailmfa-qrcode").is_none());
    assert!(
        site.webmail.error_log().contains("enrolment for alice@example.test failed"),
        "{}",
        site.webmail.error_log()
    );
}

/// A user who lost their phone: the administrator issues an access pass, and the folded-away
/// field on the code page takes it (letters the code field would not) and opens the inbox.
#[test]
fn an_access_pass_from_the_administrator_opens_the_mailbox() {
    let site = Site::new();
    let b = &site.browser;
    let pass = site.env.ok(&["mailbox", "tap", "alice@example.test", "--once", "--json"]).json()["tap"]
        .as_str()
        .unwrap()
        .to_owned();
    site.sign_in();
    b.wait_for("#mailmfa-qrcode");
    assert!(!b.find("#mailmfa-pass").is_displayed(), "folded away until asked for");
    b.find("details.mailmfa-access-pass summary").click();
    b.find("#mailmfa-pass").type_text(&pass);
    b.find("#mailmfa-pass-verify").click();
    site.expect_inbox();
    assert!(site.alice()["access_pass_until"].is_null(), "a --once pass is used up");
}

/// The recovery codes the enrolment showed open the mailbox once each, in the field folded under
/// the code field; the settings page counts them and gives a new set, shown once, that voids the
/// old one.
#[test]
fn recovery_codes_open_the_mailbox_once_and_the_settings_page_gives_new_ones() {
    let site = Site::new();
    let b = &site.browser;
    site.sign_in();
    let (_, codes) = site.enrol_with_codes();
    site.expect_inbox();
    b.goto(&site.webmail.url("?_task=mailmfa&_action=codes"));
    site.expect_inbox();
    assert!(b.try_find("#mailmfa-codes").is_none(), "the codes are shown once");

    let use_code = |code: &str| {
        // From the inbox, or from the code page after a refused code.
        match b.try_find("#mailmfa-signout a, a#mailmfa-signout") {
            Some(cancel) => {
                cancel.click();
                b.wait_for("#rcmloginuser");
            }
            None => site.sign_out(),
        }
        site.sign_in();
        b.wait_for("#mailmfa-code");
        b.find("details.mailmfa-access-pass summary").click();
        b.find("#mailmfa-pass").type_text(code);
        b.find("#mailmfa-pass-verify").click();
    };
    use_code(&codes[0]);
    site.expect_inbox();
    use_code(&codes[0]);
    assert!(b.wait_for("#mailmfa-note").text().contains("not right"), "a recovery code works once");
    assert_eq!(site.alice()["recovery_codes_left"], 9);
    use_code(&codes[1]);
    site.expect_inbox();

    b.find("#taskmenu a.settings").click();
    b.wait_for("#settings-menu li.mailmfa a").click();
    let left = b.wait_for("#mailmfa-codes-left").text();
    assert!(left.contains("You have 8 unused recovery codes"), "{left}");
    b.find("#mailmfa-new-codes-button").click();
    // A fresh code first: whoever has only the session gets no codes. A recovery code is one.
    let prompt = site.expect_step_up();
    assert!(prompt.contains("New recovery codes need a fresh code first"), "{prompt}");
    assert!(prompt.contains("the 6‑digit code it shows for alice@example.test"), "{prompt}");
    assert!(b.try_find("#mailmfa-resend").is_none(), "nothing to send for an app");
    assert_eq!(site.alice()["recovery_codes_left"], 8, "nothing changed before the code");
    b.find("details.mailmfa-access-pass summary").click();
    b.find("#mailmfa-pass").type_text(&codes[3]);
    b.find("#mailmfa-pass-verify").click();
    let note = b.wait_for("#mailmfa-settings-note").text();
    assert!(note.contains("new recovery codes"), "{note}");
    let new: Vec<String> = b.find_all("#mailmfa-new-codes li").iter().map(|li| li.text()).collect();
    assert_eq!(new.len(), 10);
    assert!(new.iter().all(|c| !codes.contains(c)), "a new set");
    assert_eq!(site.alice()["recovery_codes_left"], 10);
    b.goto(&site.webmail.url("?_task=settings&_action=plugin.mailmfa-settings"));
    assert!(b.wait_for("#mailmfa-codes-left").text().contains("10 unused"));
    assert!(b.try_find("#mailmfa-new-codes").is_none(), "new codes are shown once");

    use_code(&codes[2]);
    assert!(b.wait_for("#mailmfa-note").text().contains("not right"), "the old set is void");
    b.find("details.mailmfa-access-pass summary").click();
    b.find("#mailmfa-pass").type_text(&new[0]);
    b.find("#mailmfa-pass-verify").click();
    site.expect_inbox();
}

/// Roundcube checks its request token only on a POST with a body: a link or an image on another
/// site (a GET) or an empty POST reached the settings page's actions unchecked, and voided the
/// recovery codes or forgot the remembered browsers. Only the page's own forms change anything.
#[test]
fn the_settings_actions_change_nothing_without_the_pages_own_form() {
    let site = Site::new();
    let b = &site.browser;
    site.env.ok(&["settings", "set", "remember.days", "30"]);
    // Prompt Always asks a remembered browser too, unless the post office lets it skip.
    site.env.ok(&["postoffice", "set", "example.test", "--remember-in-always", "true"]);
    site.sign_in();
    b.wait_for("#mailmfa-remember").click();
    let (_, codes) = site.enrol_with_codes();
    site.expect_inbox();

    for action in ["plugin.mailmfa-recovery-codes", "plugin.mailmfa-forget-browsers", "plugin.mailmfa-settings-save"] {
        let url = site.webmail.url(&format!("?_task=settings&_action={action}&_challenge=never"));
        b.goto(&url);
        let note = b.wait_for("#mailmfa-settings-note").text();
        assert!(note.contains("Invalid request! No data was saved."), "GET {action}: {note}");
        assert!(b.try_find("#mailmfa-new-codes").is_none(), "GET {action} issued new codes");
        // What a form on another site without any field sends; the answer leads back to the page.
        let page = b.execute(
            "var xhr = new XMLHttpRequest(); xhr.open('POST', arguments[0], false); xhr.send(); return xhr.responseText;",
            json!([url]),
        );
        assert!(page.as_str().unwrap().contains("Invalid request! No data was saved."), "POST {action}: {page}");
    }
    // Nor the step-up's code form: a code from a link or an empty POST is not even checked.
    b.goto(&site.webmail.url("?_task=settings&_action=plugin.mailmfa-settings"));
    b.wait_for("#mailmfa-new-codes-button").click();
    site.expect_step_up();
    let url = site.webmail.url("?_task=settings&_action=plugin.mailmfa-step-up-verify&_code=123456");
    b.goto(&url);
    let note = b.wait_for("#mailmfa-step-up-note").text();
    assert!(note.contains("Invalid request! No data was saved."), "GET the step-up's verify: {note}");
    let page = b.execute(
        "var xhr = new XMLHttpRequest(); xhr.open('POST', arguments[0], false); xhr.send(); return xhr.responseText;",
        json!([url]),
    );
    assert!(
        page.as_str().unwrap().contains("Invalid request! No data was saved."),
        "POST the step-up's verify: {page}"
    );
    assert!(b.try_find("#mailmfa-new-codes").is_none());
    let alice = site.alice();
    assert_eq!(
        (alice["challenge"].as_str(), alice["remembered_devices"].as_i64(), alice["failures"].as_i64()),
        (Some("inherit"), Some(1), Some(0)),
        "no code was checked: {alice}"
    );
    assert_eq!(alice["recovery_codes_left"], 10, "{alice}");

    // The browser is still remembered, and the enrolment's recovery codes still open the mailbox.
    site.sign_out();
    site.sign_in();
    site.expect_inbox();
    site.env.ok(&["mailbox", "reset", "alice@example.test", "--devices"]);
    site.sign_out();
    site.sign_in();
    b.wait_for("#mailmfa-code");
    b.find("details.mailmfa-access-pass summary").click();
    b.find("#mailmfa-pass").type_text(&codes[0]);
    b.find("#mailmfa-pass-verify").click();
    site.expect_inbox();
}

/// "Remember this browser": ticked at the enrolment's first code, the next sign-in opens the inbox
/// without the code page, until the administrator forgets the device.
#[test]
fn a_remembered_browser_opens_the_inbox_without_a_code() {
    let site = Site::new();
    let b = &site.browser;
    site.env.ok(&["settings", "set", "remember.days", "30"]);
    // Prompt Always asks a remembered browser too, unless the post office lets it skip.
    site.env.ok(&["postoffice", "set", "example.test", "--remember-in-always", "true"]);
    site.sign_in();
    let remember = b.wait_for("#mailmfa-remember");
    assert!(b.visible_text().contains("Remember this browser for 30 days"), "{}", b.visible_text());
    remember.click();
    site.enrol_with_codes();
    site.expect_inbox();
    assert_eq!(site.alice()["remembered_devices"], 1);

    site.sign_out();
    site.sign_in();
    site.expect_inbox();
    let audit = site.env.ok(&["audit", "--json", "--limit", "1"]).json();
    assert_eq!((audit[0]["outcome"].as_str(), audit[0]["detail"].as_str()), (Some("allow"), Some("remembered_device")));

    // The same browser remembered for bob too: each mailbox keeps its own.
    site.sign_out();
    site.sign_in_as(&site.bob);
    b.wait_for("#mailmfa-remember").click();
    site.enter_code(&site.last_sms_code().0);
    site.expect_inbox();
    for user in [&site.alice, &site.bob] {
        site.sign_out();
        site.sign_in_as(user);
        site.expect_inbox();
    }

    // Bob forgets his remembered browsers on the settings page: the next sign-in asks again.
    b.find("#taskmenu a.settings").click();
    b.wait_for("#settings-menu li.mailmfa a").click();
    let remembered = b.wait_for("#mailmfa-browsers").text();
    assert!(remembered.contains("without a code: 1"), "{remembered}");
    let sent = site.gateway.requests().len();
    b.find("#mailmfa-forget-browsers").click();
    // A fresh code first, by text message to the number in use.
    let prompt = site.expect_step_up();
    assert!(prompt.contains("Forgetting your remembered browsers needs a fresh code first"), "{prompt}");
    assert!(prompt.contains("by text message to +•••••••••67"), "{prompt}");
    assert_eq!(site.last_sms_code().1, sent + 1, "the code went out");
    assert_eq!(site.bob()["remembered_devices"], 1, "nothing forgotten before the code");
    site.enter_code(&site.last_sms_code().0);
    let note = b.wait_for("#mailmfa-settings-note").text();
    assert!(note.contains("asks for a code at its next sign-in"), "{note}");
    assert!(b.try_find("#mailmfa-browsers").is_none(), "none left to forget");
    assert_eq!(site.env.ok(&["mailbox", "show", "bob@example.test", "--json"]).json()["remembered_devices"], 0);
    site.sign_out();
    site.sign_in_as(&site.bob);
    b.wait_for("#mailmfa-code");

    site.env.ok(&["mailbox", "reset", "alice@example.test", "--devices"]);
    b.find("#mailmfa-signout").click();
    b.wait_for("#rcmloginuser");
    site.sign_in();
    b.wait_for("#mailmfa-code");
}

/// Settings → Mail programs (issue 20): alice makes an app password for her mail program after a
/// fresh code, and sees it once with what the mail program needs besides: the username and the
/// IMAP and SMTP servers as mail programs reach them. A mail program elsewhere signs in with it
/// over IMAP (Dovecot asks the service). The page reloaded lists it, with its last use, but not
/// the password, which never entered Roundcube's session; removed (after a question), it signs
/// nothing in.
#[test]
fn a_mail_user_makes_an_app_password_sees_it_once_and_removes_it() {
    let site = Site::with_mail_programs();
    let b = &site.browser;
    // Roundcube reaches Dovecot on 127.0.0.1, which no mail program elsewhere can: the plugin's
    // option names the IMAP server as they reach it; the SMTP server is Roundcube's own.
    site.webmail.configure_with(
        &site.plugin(&site.key, false),
        &[("mailmfa_mail_imap", "ssl://imap.example.test"), ("smtp_host", "tls://smtp.example.test")],
    );
    site.sign_in();
    let secret = site.enrol();
    site.expect_inbox();
    site.open_mail_programs();
    let works = b.find("#mailmfa-password-in-mail-programs").text();
    assert!(works.contains("Your mailbox password still works in mail programs"), "{works}");
    assert!(b.find("#mailmfa-app-passwords-none").text().contains("no app passwords yet"));
    let boxes = b.find_all("#mailmfa-app-password-form input[type=checkbox]");
    let offered: Vec<(String, Value)> =
        boxes.iter().map(|c| (c.attribute("value").unwrap_or_default(), c.property("checked"))).collect();
    assert_eq!(offered, ["imap", "pop3", "smtp", "sieve"].map(|p| (p.to_owned(), json!(true))), "all ticked");

    b.find("#mailmfa-app-password-name").type_text("Thunderbird at home");
    b.find("#mailmfa-protocol-pop3").click();
    b.find("#mailmfa-protocol-sieve").click();
    b.find("#mailmfa-app-password-create").click();
    let prompt = site.expect_step_up();
    assert!(prompt.contains("A new app password needs a fresh code first"), "{prompt}");
    assert_eq!(b.find("#layout-content .header-title").property("textContent"), "Mail programs");
    assert_eq!(site.app_passwords(&site.alice), json!([]), "nothing made before the code");
    site.enter_code(&next_code(&secret));

    let note = b.wait_for("#mailmfa-mail-programs-note").text();
    assert!(note.contains("The app password “Thunderbird at home” is made"), "{note}");
    let password = b.find("#mailmfa-app-password").text();
    let groups: Vec<&str> = password.split('-').collect();
    assert!(groups.len() == 4 && groups.iter().all(|g| g.len() == 5), "{password}");
    assert!(b.find("#mailmfa-made").text().contains("Your new app password for “Thunderbird at home”"));
    assert_eq!(b.find("#mailmfa-username strong").text(), "alice@example.test");
    let server = |kind: &str| -> Vec<String> {
        b.find_all(&format!("#mailmfa-server-{kind} td")).iter().map(|td| td.text()).collect()
    };
    assert_eq!(server("imap"), ["Incoming mail (IMAP)", "imap.example.test", "993", "SSL/TLS"]);
    assert_eq!(server("smtp"), ["Outgoing mail (SMTP)", "smtp.example.test", "587", "STARTTLS"]);
    b.find("#mailmfa-copy").click();
    b.wait_until("the password to be copied", |b| b.find("#mailmfa-copy").text() == "Copied");
    assert!(!site.session_holds(&password), "the app password is in Roundcube's session");
    assert!(!site.session_holds(&password.replace('-', "")), "the app password is in Roundcube's session");
    let made = site.app_passwords(&site.alice);
    assert_eq!(
        (made[0]["name"].as_str(), made[0]["protocols"].clone()),
        (Some("Thunderbird at home"), json!(["imap", "smtp"]))
    );

    site.check_app_password_signs_in(&site.alice, &password, true);
    site.wait_for_last_use(&site.alice);

    // The page answered the code's POST under the page's own address: a reload asks for it
    // afresh, and the password is not shown again.
    assert!(b.url().contains("_action=plugin.mailmfa-mail-programs"), "{}", b.url());
    site.env.ok(&["postoffice", "set", "example.test", "--mail-programs", "app-passwords"]);
    b.goto(&b.url());
    b.wait_for("#mailmfa-app-passwords");
    assert!(b.try_find("#mailmfa-app-password, #mailmfa-made").is_none(), "shown again");
    assert!(!b.source().contains(&password), "the password is in the page");
    let row: Vec<String> = b.find_all(".mailmfa-app-password-row td").iter().map(|td| td.text()).collect();
    assert_eq!((row[0].as_str(), row[1].as_str()), ("Thunderbird at home", "IMAP, SMTP"), "{row:?}");
    assert!(row[3].ends_with("from 127.0.0.2 over IMAP"), "{row:?}");
    let works = b.find("#mailmfa-password-in-mail-programs").text();
    assert!(works.contains("Your mailbox password does not work in mail programs"), "{works}");

    b.find(".mailmfa-app-password-row a.mailmfa-remove").click();
    let question = b.wait_for("#mailmfa-remove-question").text();
    assert!(question.contains("Remove the app password “Thunderbird at home”?"), "{question}");
    assert_eq!(site.app_passwords(&site.alice).as_array().map(Vec::len), Some(1), "removed before the answer");
    b.find("#mailmfa-remove-confirm").click();
    let note = b.wait_for("#mailmfa-mail-programs-note").text();
    assert!(note.contains("The app password “Thunderbird at home” is removed"), "{note}");
    assert!(b.try_find("#mailmfa-app-passwords").is_none() && b.try_find("#mailmfa-app-passwords-none").is_some());
    assert_eq!(site.app_passwords(&site.alice), json!([]));
    site.check_app_password_signs_in(&site.alice, &password, false);
}

/// Whoever has only the session (a stolen cookie, a script in the page) must not mint a way into the
/// mailbox around the second step. A link from another site makes no app password; the page's own
/// form posted by a script (with the request token) only asks for a code, sent to the owner's phone;
/// a guessed code, no code, and the right code of a step-up the user left make none either.
#[test]
fn no_app_password_is_made_without_a_fresh_code() {
    let site = Site::new();
    let b = &site.browser;
    site.sign_in_bob();
    site.open_mail_programs();
    let token = b.find("#mailmfa-app-password-form input[name=_token]").property("value").as_str().unwrap().to_owned();
    let post = |action: &str, fields: String| {
        let answer = b.execute(
            "var xhr = new XMLHttpRequest(); xhr.open('POST', arguments[0], false);
             xhr.setRequestHeader('Content-Type', 'application/x-www-form-urlencoded');
             xhr.send(arguments[1]); return {url: xhr.responseURL, body: xhr.responseText};",
            json!([site.webmail.url(&format!("?_task=settings&_action={action}")), fields]),
        );
        (answer["url"].as_str().unwrap().to_owned(), answer["body"].as_str().unwrap().to_owned())
    };
    let none_made = |when: &str| assert_eq!(site.app_passwords(&site.bob), json!([]), "{when}");
    let sent = site.gateway.requests().len();

    b.goto(&site.webmail.url("?_task=settings&_action=plugin.mailmfa-app-password-add&_name=Thief&_protocols[]=imap"));
    let note = b.wait_for("#mailmfa-mail-programs-note").text();
    assert!(note.contains("Invalid request! No data was saved."), "{note}");
    assert_eq!(site.gateway.requests().len(), sent, "a link sent a code");

    let (url, page) =
        post("plugin.mailmfa-app-password-add", format!("_token={token}&_name=Thief&_protocols%5B%5D=imap"));
    assert!(url.contains("_action=plugin.mailmfa-step-up"), "the new app password was not held for a code: {url}");
    assert!(page.contains("A new app password needs a fresh code first"), "{page}");
    assert_eq!(site.gateway.requests().len(), sent + 1);
    assert_eq!(site.gateway.requests().last().unwrap().json()["to"], "+15551234567", "the owner's phone gets the code");
    none_made("the form posted");

    let guess = if site.last_sms_code().0 == "000000" { "111111" } else { "000000" };
    let (url, page) = post("plugin.mailmfa-step-up-verify", format!("_token={token}&_code={guess}"));
    assert!(url.contains("_action=plugin.mailmfa-step-up") && page.contains("That code is not right"), "{url}: {page}");
    none_made("a guessed code");
    let (url, page) = post("plugin.mailmfa-step-up-verify", format!("_token={token}"));
    assert!(
        url.contains("_action=plugin.mailmfa-step-up") && page.contains("Type the 6‑digit code first"),
        "{url}: {page}"
    );
    none_made("no code");

    // The page drops a step-up left unfinished; its code typed afterwards is not checked.
    b.goto(&site.webmail.url("?_task=settings&_action=plugin.mailmfa-mail-programs"));
    b.wait_for("#mailmfa-app-password-form");
    assert!(!site.session_holds("Thief"), "the step-up left the session");
    let (url, page) = post("plugin.mailmfa-step-up-verify", format!("_token={token}&_code={}", site.last_sms_code().0));
    assert!(url.contains("_action=plugin.mailmfa-settings") && !page.contains("mailmfa-made"), "{url}");
    none_made("the code of a step-up that ended");
    assert_eq!(site.bob()["failures"], 1, "only the guess was checked");
}

#[test]
fn the_plugin_client_passes_its_phpunit_tests_against_the_service() {
    let phpunit = browser::require_program("phpunit", "phpunit php-curl");
    let env = TestEnv::new();
    let gateway = start_http(200, "OK", "{}");
    env.ok(&["postoffice", "add", "example.test"]);
    env.ok(&["postoffice", "set", "example.test", "--challenge", "always", "--users-may-configure", "true"]);
    env.ok(&["postoffice", "add", "closed.test"]);
    env.ok(&["postoffice", "set", "closed.test", "--challenge", "always", "--users-may-configure", "false"]);
    env.ok(&["mailbox", "add", "alice@example.test"]);
    env.ok(&["mailbox", "add", "bob@example.test"]);
    env.ok(&["mailbox", "set", "bob@example.test", "--provider", "sms", "--sms-number", "+15551234567"]);
    env.ok(&["mailbox", "add", "carol@closed.test"]);
    env.ok(&["mailbox", "add", "dave@example.test"]);
    env.ok(&["settings", "set", "sms.url", &gateway.url("/sms")]);
    env.ok(&["settings", "set", "code.sends_per_hour", "60"]);
    let key = env.ok(&["client", "add", "roundcube", "--json"]).json()["key"].as_str().unwrap().to_owned();
    let service = Server::start(&env, &[]);

    let out = Command::new(phpunit)
        .args(["--do-not-cache-result", "--colors=never"])
        .arg(roundcube::plugin_dir().join("tests"))
        .env("MAILMFA_TEST_URL", &service.base)
        .env("MAILMFA_TEST_KEY", &key)
        .env("MAILMFA_TEST_TOTP_USER", "alice@example.test")
        .env("MAILMFA_TEST_SMS_USER", "bob@example.test")
        .env("MAILMFA_TEST_CLOSED_USER", "carol@closed.test")
        .env("MAILMFA_TEST_STEP_UP_USER", "dave@example.test")
        .output()
        .expect("run phpunit");
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "phpunit failed:\n{report}");
    assert!(report.contains("OK (42 tests"), "every test ran, none skipped: {report}");
    assert_eq!(gateway.requests().len(), 2, "the SMS test sent a code and a new one");
}

/// The README's pictures, from a real run: the enrolment page and the code page at desktop
/// width (1280 px) and on a phone (360 px), the code page after a wrong code, and at desktop
/// width the settings section, Settings → Mail programs with a new app password, and the locked
/// page. Writes to `$MAILMFA_SCREENSHOT_DIR`, else to
/// `assets/screenshots/`.
#[test]
#[ignore = "makes the README's screenshots; run by scripts/screenshots-web.sh"]
fn screenshots_of_the_sign_in_pages() {
    let save = crate::common::browser::screenshot_saver();

    for (suffix, screen) in [("", Screen::desktop(1280, 800)), ("-phone", Screen::phone(360, 780, 2.0))] {
        let desktop = screen.phone_pixel_ratio.is_none();
        let site = Site::start(screen, true);
        site.env.ok(&["settings", "set", "remember.days", "30"]);
        let b = &site.browser;
        if desktop {
            b.set_viewport_size(1280, 800);
        }
        site.sign_in();
        b.wait_for("#mailmfa-qrcode");
        if desktop {
            // The whole enrolment page, as a taller screen shows it.
            let height = b.execute("return document.querySelector('.mailmfa-page').offsetHeight;", json!([]));
            b.set_viewport_size(1280, height.as_u64().unwrap_or(800).max(800) as u32);
        }
        save(&format!("roundcube-enrol{suffix}.png"), b.screenshot());
        let (secret, _) = site.enrol_to_codes();
        if desktop {
            b.set_viewport_size(1280, 800);
        }
        save(&format!("roundcube-recovery-codes{suffix}.png"), b.screenshot());
        b.find("#mailmfa-continue").click();
        site.expect_inbox();
        if desktop {
            b.set_viewport_size(1280, 800);
            b.goto(&site.webmail.url("?_task=settings&_action=plugin.mailmfa-settings"));
            b.wait_for("#mailmfa-settings-form");
            save("roundcube-settings.png", b.screenshot());

            // Settings → Mail programs: an app password in use, and a new one as it is shown once.
            let phone = site.env.ok(&["app-password", "add", "alice@example.test", "--name", "Phone", "--json"]).json();
            site.check_app_password_signs_in(&site.alice, phone["password"].as_str().unwrap(), true);
            site.wait_for_last_use(&site.alice);
            site.webmail.configure_with(
                &site.plugin(&site.key, false),
                &[("mailmfa_mail_imap", "ssl://mail.example.test"), ("mailmfa_mail_smtp", "tls://mail.example.test")],
            );
            b.goto(&site.webmail.url("?_task=settings&_action=plugin.mailmfa-mail-programs"));
            b.wait_for("#mailmfa-app-password-name").type_text("Thunderbird at home");
            b.find("#mailmfa-protocol-pop3").click();
            b.find("#mailmfa-protocol-sieve").click();
            b.find("#mailmfa-app-password-create").click();
            site.expect_step_up();
            site.enter_code(&next_code(&secret));
            b.wait_for("#mailmfa-app-password");
            let height = b.execute("return document.querySelector('.mailmfa-mail-programs').scrollHeight;", json!([]));
            b.set_viewport_size(1280, (height.as_u64().unwrap_or(700) as u32 + 120).max(800));
            save("roundcube-mail-programs.png", b.screenshot());
            b.set_viewport_size(1280, 800);
        }

        // The next login asks for a code: once as it first looks, once after a wrong one.
        site.sign_out();
        site.sign_in();
        b.wait_for("#mailmfa-code");
        save(&format!("roundcube-code{suffix}.png"), b.screenshot());
        site.enter_code(&wrong_code(&secret));
        b.wait_for("#mailmfa-note");
        save(&format!("roundcube-wrong-code{suffix}.png"), b.screenshot());
        if desktop {
            // One wrong code is in; the fifth locks.
            for _ in 0..4 {
                site.enter_code(&wrong_code(&secret));
                b.wait_until("the answer", |b| b.try_find("#mailmfa-note, #mailmfa-locked").is_some());
            }
            b.wait_for("#mailmfa-locked");
            save("roundcube-locked.png", b.screenshot());
        }
    }
}
