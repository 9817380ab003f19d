//! Passkeys in Roundcube (DESIGN §14, issue 23): the plugin runs the ceremony on the webmail's
//! own origin, `http://localhost:PORT` (a secure context and a valid RP ID), which its API client
//! declares with `--origin`. Headless Chromium holds the passkeys in virtual authenticators
//! (WebDriver's WebAuthn extension), so no person touches a key.

use serde_json::Value;

use super::{SUBJECT, Site};
use crate::common::browser::Browser;

/// A site where alice signs in with a passkey, through a client that declares Roundcube's
/// `localhost` origin, and the browser has a virtual authenticator; returns its id.
fn passkey_site() -> (Site, String) {
    let site = Site::new();
    site.env.ok(&["mailbox", "set", &site.alice.address, "--provider", "passkey"]);
    let origin = site.webmail.localhost();
    let key = site.env.ok(&["client", "add", "roundcube-passkeys", "--origin", &origin, "--json"]).json()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    site.webmail.configure(&site.plugin(&key, false));
    let authenticator = site.browser.add_virtual_authenticator();
    (site, authenticator)
}

impl Site {
    /// Signs in as alice with her IMAP password on Roundcube's `localhost` origin.
    fn sign_in_on_localhost(&self) {
        let b = &self.browser;
        b.goto(&format!("{}/", self.webmail.localhost()));
        b.wait_for("#rcmloginuser").type_text(&self.alice.address);
        b.find("#rcmloginpwd").type_text(&self.alice.password);
        b.find("#rcmloginsubmit").click();
        b.wait_until("the login to be answered", |b| b.try_find("#rcmloginuser").is_none());
    }

    /// alice's passkeys, by name, as the administrators see them.
    fn passkey_names(&self) -> Vec<String> {
        let listed = self.env.ok(&["mailbox", "passkeys", &self.alice.address, "--json"]).json();
        listed["passkeys"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_owned()).collect()
    }

    /// From the inbox to Settings → Passkeys, through the menus.
    fn open_passkeys(&self) {
        let b = &self.browser;
        b.find("#taskmenu a.settings").click();
        b.wait_for("#settings-menu li.mailmfa-passkeys a").click();
        b.wait_for("#mailmfa-passkeys-list");
    }

    /// The names in the list of Settings → Passkeys.
    fn listed_passkeys(&self) -> Vec<String> {
        self.browser.find_all(".mailmfa-passkey-row td.name").iter().map(|td| td.text()).collect()
    }
}

/// Presses the passkey button of the page (the browser's authenticator answers).
fn press_passkey(b: &Browser, label: &str) {
    let button = b.wait_for("#mailmfa-passkey");
    b.wait_until("the passkey button to be shown", |b| b.find("#mailmfa-passkey").is_displayed());
    assert_eq!(button.text(), label);
    assert!(!b.find("#mailmfa-passkey-nojs").is_displayed(), "the text for no JavaScript is shown");
    button.click();
}

/// Enrols a passkey at the first sign-in and reaches the inbox; signs in again with it; adds a
/// second passkey in Settings → Passkeys after confirming with the first, names it, renames it,
/// removes the first; without any authenticator the sign-in stays closed and says why, and a
/// recovery code opens the mailbox.
#[test]
fn a_mail_user_signs_in_with_a_passkey_and_manages_passkeys_in_the_settings() {
    let (site, first) = passkey_site();
    let b = &site.browser;

    // Enrolment at the first sign-in: Create a passkey, then the recovery codes, then the inbox.
    site.sign_in_on_localhost();
    assert_eq!(b.wait_for("#mailmfa-title").text(), "Create a passkey");
    assert!(b.find("#mailmfa-prompt").text().contains("needs a passkey"), "{}", b.visible_text());
    assert!(b.try_find("#mailmfa-code").is_none(), "no code field on a passkey page");
    press_passkey(b, "Create a passkey");
    b.wait_for("#mailmfa-codes");
    let codes: Vec<String> = b.find_all("#mailmfa-codes li").iter().map(|li| li.text()).collect();
    assert_eq!(codes.len(), 10, "{}", b.visible_text());
    b.find("#mailmfa-continue").click();
    site.expect_inbox();
    assert_eq!(site.passkey_names(), ["Passkey"]);
    assert_eq!(site.alice()["status"], "enrolled", "{}", site.alice());

    // The next sign-in: Use your passkey.
    site.sign_out();
    site.sign_in_on_localhost();
    assert_eq!(b.wait_for("#mailmfa-title").text(), "Use your passkey");
    press_passkey(b, "Use your passkey");
    site.expect_inbox();

    // Settings → Passkeys: add a second one (after confirming with the first), named.
    site.open_passkeys();
    assert_eq!(site.listed_passkeys(), ["Passkey"]);
    b.find("#mailmfa-passkey-name").type_text("Laptop");
    b.find("#mailmfa-passkey-add").click();
    let prompt = site.expect_step_up();
    assert!(prompt.contains("Adding a passkey needs you to confirm it is you first"), "{prompt}");
    assert_eq!(site.passkey_names(), ["Passkey"], "nothing added before the step-up");
    press_passkey(b, "Use your passkey");
    // The new passkey is on another authenticator: one holds at most one passkey of a mailbox.
    assert_eq!(b.wait_for("#mailmfa-passkey-add-title").text(), "Add a passkey: Laptop");
    site.browser.remove_virtual_authenticator(&first);
    let second = b.add_virtual_authenticator();
    press_passkey(b, "Create the passkey");
    let note = b.wait_for("#mailmfa-passkeys-note").text();
    assert!(note.contains("The passkey “Laptop” is added"), "{note}");
    assert_eq!(site.listed_passkeys(), ["Laptop", "Passkey"]);
    assert_eq!(site.passkey_names(), ["Laptop", "Passkey"]);

    // Rename it (no step-up: it changes no way in).
    b.find(".mailmfa-passkey-row a.mailmfa-rename").click();
    let field = b.wait_for("#mailmfa-passkey-new-name");
    field.clear();
    field.type_text("Work laptop");
    b.find("#mailmfa-rename-confirm").click();
    let note = b.wait_for("#mailmfa-passkeys-note").text();
    assert!(note.contains("“Laptop” is now called “Work laptop”"), "{note}");
    assert_eq!(site.passkey_names(), ["Passkey", "Work laptop"]);

    // Remove the first (after confirming with the second).
    let remove = b.find_all(".mailmfa-passkey-row a.mailmfa-remove");
    remove.iter().find(|a| a.attribute("aria-label").as_deref() == Some("Remove the passkey Passkey")).unwrap().click();
    let question = b.wait_for("#mailmfa-remove-question").text();
    assert!(question.contains("Remove the passkey “Passkey”?"), "{question}");
    b.find("#mailmfa-remove-confirm").click();
    let prompt = site.expect_step_up();
    assert!(prompt.contains("Removing a passkey needs you to confirm"), "{prompt}");
    press_passkey(b, "Use your passkey");
    let note = b.wait_for("#mailmfa-passkeys-note").text();
    assert!(note.contains("The passkey “Passkey” is removed"), "{note}");
    assert_eq!(site.listed_passkeys(), ["Work laptop"]);
    assert_eq!(site.passkey_names(), ["Work laptop"]);
    let audit = site.env.ok(&["audit", "--json", "--limit", "40"]).json();
    for action in ["user.passkey_add", "user.passkey_rename", "user.passkey_remove"] {
        let done = audit.as_array().unwrap().iter().any(|e| e["action"] == action && e["outcome"] == "ok");
        assert!(done, "no {action} in the audit log: {audit:#}");
    }

    // Without the authenticator: no passkey, the mailbox stays closed, and the page says why.
    site.sign_out();
    b.remove_virtual_authenticator(&second);
    let empty = b.add_virtual_authenticator();
    site.sign_in_on_localhost();
    press_passkey(b, "Use your passkey");
    let failed = b.wait_for("#mailmfa-passkey-failed");
    b.wait_until("the failure to be shown", |b| b.find("#mailmfa-passkey-failed").is_displayed());
    assert!(failed.text().contains("No passkey was used"), "{}", failed.text());
    b.goto(&format!("{}/?_task=mail", site.webmail.localhost()));
    assert_eq!(b.wait_for("#mailmfa-title").text(), "Use your passkey", "the inbox opened: {}", b.url());
    assert!(!b.source().contains(SUBJECT), "the mail is on the page");
    b.remove_virtual_authenticator(&empty);

    // A recovery code opens it.
    b.find("#mailmfa-access-pass summary").click();
    b.wait_for("#mailmfa-pass").type_text(&codes[0]);
    b.find("#mailmfa-pass-verify").click();
    site.expect_inbox();
    let left: Value = site.env.ok(&["mailbox", "recovery-codes", &site.alice.address, "--json"]).json();
    assert_eq!(left["recovery_codes_left"], 9, "{left}");
}

/// The README's pictures of the passkey pages, from a real run: *Create a passkey* and *Use your
/// passkey* at desktop width (1280 px) and on a phone (360 px), and at desktop width Settings →
/// Passkeys with two passkeys. Writes to `$MAILMFA_SCREENSHOT_DIR`, else to `assets/screenshots/`.
#[test]
#[ignore = "makes the README's screenshots; run by scripts/screenshots-web.sh"]
fn screenshots_of_the_passkey_pages() {
    use crate::common::browser::Screen;
    let save = crate::common::browser::screenshot_saver();

    for (suffix, screen) in [("", Screen::desktop(1280, 800)), ("-phone", Screen::phone(360, 780, 2.0))] {
        let desktop = screen.phone_pixel_ratio.is_none();
        let site = Site::on(screen);
        site.env.ok(&["mailbox", "set", &site.alice.address, "--provider", "passkey"]);
        let origin = site.webmail.localhost();
        let added = site.env.ok(&["client", "add", "roundcube-passkeys", "--origin", &origin, "--json"]).json();
        site.webmail.configure(&site.plugin(added["key"].as_str().unwrap(), false));
        let first = site.browser.add_virtual_authenticator();
        let b = &site.browser;
        if desktop {
            b.set_viewport_size(1280, 800);
        }
        site.sign_in_on_localhost();
        b.wait_until("the passkey button", |b| b.try_find("#mailmfa-passkey").is_some_and(|e| e.is_displayed()));
        save(&format!("roundcube-passkey-create{suffix}.png"), b.screenshot());
        press_passkey(b, "Create a passkey");
        b.wait_for("#mailmfa-continue").click();
        site.expect_inbox();
        site.sign_out();
        site.sign_in_on_localhost();
        b.wait_until("the passkey button", |b| b.try_find("#mailmfa-passkey").is_some_and(|e| e.is_displayed()));
        save(&format!("roundcube-passkey-use{suffix}.png"), b.screenshot());
        if desktop {
            // Settings → Passkeys with a second passkey, made on another authenticator.
            press_passkey(b, "Use your passkey");
            site.expect_inbox();
            site.open_passkeys();
            b.find("#mailmfa-passkey-name").type_text("Laptop");
            b.find("#mailmfa-passkey-add").click();
            site.expect_step_up();
            press_passkey(b, "Use your passkey");
            b.wait_for("#mailmfa-passkey-add-title");
            b.remove_virtual_authenticator(&first);
            b.add_virtual_authenticator();
            press_passkey(b, "Create the passkey");
            b.wait_for("#mailmfa-passkeys-note");
            save("roundcube-passkeys.png", b.screenshot());
        } else {
            // What the page says when the browser made no passkey.
            b.remove_virtual_authenticator(&first);
            let empty = b.add_virtual_authenticator();
            press_passkey(b, "Use your passkey");
            b.wait_until("the failure", |b| b.find("#mailmfa-passkey-failed").is_displayed());
            save("roundcube-passkey-failed-phone.png", b.screenshot());
            b.remove_virtual_authenticator(&empty);
        }
    }
}
