//! Setting up and signing in: a platform administrator from the command line through Chromium
//! (the QR code read off the screen), the pages' headers, and each refusal §12 asks for — a form
//! without its token, a stale session, an idle one, five wrong passwords, a code replayed.

use std::time::Duration;

use mailmfa::domain::totp::{code_at_step, decode_secret, step_of};

use super::{Site, Web, browser_sign_in, type_into};
use crate::common::TestEnv;
use crate::common::browser::{Browser, Screen, decode_qr};
use crate::common::fixtures::now;
use crate::common::serve::Server;

/// Waits until the authenticator shows a step after `step`.
fn wait_for_step_after(step: i64) {
    while step_of(now()) <= step {
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn a_platform_administrator_sets_up_in_chromium_signs_in_and_adds_a_postoffice_administrator() {
    let site = Site::new();
    let url = site.add_admin("root", "platform", &[]);
    let b = Browser::start(Screen::desktop(1280, 900));
    b.goto(&url);
    type_into(&b, "#password", "a very long passphrase");
    type_into(&b, "#again", "a very long passphrase");
    b.find("button[type=submit]").click();
    let uri = decode_qr(&b.wait_for("img.qr").screenshot());
    assert!(uri.starts_with("otpauth://totp/mailmfa:admin%3Aroot?secret="), "{uri}");
    let key = uri.split("secret=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    assert_eq!(b.find(".key").text().replace(' ', ""), key, "the key typed by hand is the scanned secret");
    let secret = decode_secret(&key).unwrap().to_vec();
    type_into(&b, "#code", "000000");
    b.find("button[type=submit]").click();
    assert!(b.wait_for(".note.bad").text().contains("not right"), "{}", b.visible_text());
    let enrolled_at = step_of(now());
    type_into(&b, "#code", &code_at_step(&secret, enrolled_at));
    b.find("button[type=submit]").click();
    b.wait_for("ol.codes");
    assert_eq!(b.find_all("ol.codes li").len(), 10, "{}", b.visible_text());
    b.goto(&url);
    assert!(b.wait_for("h1").text().contains("Not found"), "the link works once: {}", b.visible_text());

    browser_sign_in(&b, &site, "root", "a very long passphrase", &code_at_step(&secret, enrolled_at + 1));
    assert!(b.visible_text().contains("example.com") && b.visible_text().contains("other.org"));
    b.find("nav .signout button").click();
    b.wait_for("#name");
    // The step after the one just used: the app shows it once the clock has moved on.
    wait_for_step_after(enrolled_at);
    browser_sign_in(&b, &site, "root", "a very long passphrase", &code_at_step(&secret, step_of(now()) + 1));

    b.goto(&site.server.url("/admin/administrators"));
    type_into(&b, "#name", "postmaster");
    b.find("#role").select_value("postoffice");
    type_into(&b, "#postoffices", "example.com");
    b.find("form.settings button[type=submit]").click();
    let link = b.wait_for("p.key").text();
    assert!(link.starts_with(&format!("{}/admin/setup/", site.server.base)), "{link}");
    let listed = site.env.ok(&["admin", "list", "--json"]).json();
    let postmaster = listed.as_array().unwrap().iter().find(|a| a["name"] == "postmaster").unwrap().clone();
    assert_eq!(postmaster["role"], "postoffice");
    assert_eq!(postmaster["postoffices"], serde_json::json!(["example.com"]));
    assert_eq!(site.audited("web:root", "admin.add", "ok"), 1, "the web administrator is the actor");
}

#[test]
fn pages_send_the_hosted_pages_headers_and_cookies_are_strict() {
    let site = Site::new();
    let web = Web::new(&site.server.base);
    let page = web.get("/admin/signin");
    assert_eq!(page.status, 200);
    let csp = page.header("content-security-policy").unwrap();
    for part in ["default-src 'none'", "frame-ancestors 'none'", "form-action 'self'"] {
        assert!(csp.contains(part), "{csp}");
    }
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert!(!page.html.contains("<script"), "no JavaScript");
    let cookie = page.header("set-cookie").unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain HTTP on loopback: {cookie}");
    assert_eq!(web.get("/admin/postoffices").location(), "/admin/signin", "no session: the sign-in");
}

#[test]
fn the_administration_is_off_unless_turned_on() {
    let env = TestEnv::new();
    env.ok(&["admin", "add", "root", "--role", "platform"]);
    let server = Server::start(&env, &[]);
    let web = Web::new(&server.base);
    for path in ["/admin/", "/admin/signin", "/admin/postoffices"] {
        assert_eq!(web.get(path).status, 404, "{path}");
    }
}

#[test]
fn forms_without_their_token_and_stale_or_idle_sessions_are_refused() {
    let site = Site::new();
    let (web, _) = site.signed_in("root", "platform", &[]);
    let csrf = web.csrf();
    let (address, unlock) = (("address", "alice@example.com"), ("action", "unlock"));
    assert_eq!(web.post("/admin/mailbox/action", &[address, unlock]).status, 403, "no token");
    assert_eq!(web.post("/admin/mailbox/action", &[address, unlock, ("csrf", "0123")]).status, 403, "a wrong one");
    assert_eq!(site.audited("web:root", "mailbox.unlock", "ok"), 0);
    web.get("/admin/signin");
    let forged = web.post("/admin/signin", &[("csrf", "not-the-cookie"), ("name", "root"), ("password", "x")]);
    assert_eq!(forged.status, 403, "the sign-in form's token is checked against its cookie");
    let done = web.post("/admin/mailbox/action", &[address, unlock, ("csrf", &csrf)]);
    assert_eq!(done.location(), "/admin/mailboxes/alice@example.com?done=unlock");
    assert_eq!(site.audited("web:root", "mailbox.unlock", "ok"), 1);

    // Idle longer than admin.idle_minutes (15): the session has ended.
    site.env.raw().execute("UPDATE admin_session SET last_seen = last_seen - 15 * 60 - 1");
    assert_eq!(web.get("/admin/postoffices").location(), "/admin/signin", "idle");

    // Eight hours after it began, however busy.
    let (busy, _) = site.signed_in("busy", "platform", &[]);
    site.env.raw().execute("UPDATE admin_session SET created_at = created_at - 8 * 3600 - 1");
    assert_eq!(busy.get("/admin/postoffices").location(), "/admin/signin", "eight hours");

    // A signed-out session's cookie, sent again, is stale.
    let (leaving, _) = site.signed_in("leaving", "platform", &[]);
    let stale = leaving.cookie("mailmfa_admin").unwrap();
    assert_eq!(leaving.post("/admin/signout", &[("csrf", &leaving.csrf())]).location(), "/admin/signin");
    assert_eq!(leaving.cookie("mailmfa_admin"), None, "the cookie goes");
    let replay = Web::new(&site.server.base);
    replay.set_cookie("mailmfa_admin", &stale);
    assert_eq!(replay.get("/admin/postoffices").location(), "/admin/signin", "a stale session");
    assert_eq!(replay.post("/admin/mailbox/action", &[address, unlock, ("csrf", &csrf)]).location(), "/admin/signin");
    assert_eq!(site.audited("web:root", "mailbox.unlock", "ok"), 1, "nothing was done for a stale session");
}

#[test]
fn five_wrong_passwords_lock_the_account_and_a_replayed_code_is_refused() {
    let site = Site::new();
    let (web, secret) = site.admin_set_up("root", "platform", &[]);
    let right = "root has a long password";
    let first = step_of(now());
    let code = code_at_step(&secret, first + 1);
    assert_eq!(web.sign_in("root", right, &code), 303);
    web.post("/admin/signout", &[("csrf", &web.csrf())]);
    assert_eq!(web.sign_in("root", right, &code), 401, "a code once accepted is never accepted again");
    assert_eq!(site.audited("web:root", "admin.signin", "refused"), 1);

    let other = Web::new(&site.server.base);
    for _ in 0..5 {
        assert_eq!(other.sign_in("root", "not the password at all", "000000"), 401);
    }
    let later = code_at_step(&secret, step_of(now()) + 1);
    assert_eq!(other.sign_in("root", right, &later), 401, "locked: the right password is refused too");
    let locked =
        site.env.raw().int("SELECT count(*) FROM audit WHERE actor = 'web:root' AND detail = 'wrong password; locked'");
    assert_eq!(locked, 1);
    assert_eq!(site.audited("web:root", "admin.signin", "refused"), 7);
    // The lock clears by itself (first lock: lockout.seconds, 60): moved back in the store here.
    site.env.raw().execute("UPDATE administrator SET locked_until = locked_until - 61");
    wait_for_step_after(first);
    let fresh = code_at_step(&secret, step_of(now()) + 1);
    assert_eq!(other.sign_in("root", right, &fresh), 303, "after the lock, the right password and a new code");
}

#[test]
fn the_command_line_adds_lists_resets_and_removes_administrators() {
    let site = Site::new();
    let first = site.add_admin("postmaster", "postoffice", &["example.com", "other.org"]);
    assert_eq!(site.env.run(&["admin", "add", "postmaster", "--role", "platform"]).status, 2, "names are unique");
    assert_eq!(site.env.run(&["admin", "add", "x", "--role", "postoffice"]).status, 2, "needs a post office");
    assert_eq!(site.env.run(&["admin", "add", "x", "--role", "postoffice", "--postoffice", "nowhere.net"]).status, 2);
    assert_eq!(site.env.run(&["admin", "add", "x", "--role", "platform", "--postoffice", "example.com"]).status, 2);
    let listed = site.env.ok(&["admin", "list", "--json"]).json();
    assert_eq!(listed[0]["name"], "postmaster");
    assert_eq!(listed[0]["postoffices"], serde_json::json!(["example.com", "other.org"]));
    assert_eq!(listed[0]["set_up"], false);
    let text = site.env.ok(&["admin", "list"]).stdout;
    assert!(text.contains("postmaster") && text.contains("not yet"), "{text}");
    let token = first.rsplit('/').next().unwrap();
    let stored = site
        .env
        .raw()
        .int(&format!("SELECT count(*) FROM administrator WHERE CAST(setup_hash AS TEXT) LIKE '%{token}%'"));
    assert_eq!(stored, 0, "only a keyed hash of the link is kept");

    let (web, _) = site.signed_in("root", "platform", &[]);
    let second =
        site.env.ok(&["admin", "reset", "postmaster", "--json"]).json()["setup_url"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    assert_eq!(web.get(&first).status, 404, "the old link stops working");
    assert_eq!(web.get(&second).status, 200);
    site.env.ok(&["admin", "remove", "root"]);
    assert_eq!(web.get("/admin/postoffices").location(), "/admin/signin", "a removed administrator's session ends");
    assert_eq!(site.env.run(&["admin", "remove", "root"]).status, 2);
    for action in ["admin.add", "admin.reset", "admin.remove"] {
        let n = site.env.raw().int(&format!("SELECT count(*) FROM audit WHERE action = '{action}' AND outcome = 'ok'"));
        assert!(n >= 1, "{action} audited");
    }
}

#[test]
fn a_recovery_code_signs_in_once_in_place_of_the_code() {
    let site = Site::new();
    let (web, _, codes) = site.admin_set_up_with_codes("root", "platform", &[]);
    let right = "root has a long password";
    assert_eq!(web.sign_in("root", right, &codes[3].to_uppercase()), 303, "a recovery code, in any case");
    web.post("/admin/signout", &[("csrf", &web.csrf())]);
    assert_eq!(web.sign_in("root", right, &codes[3]), 401, "each works once");
    assert_eq!(web.sign_in("root", right, &codes[4].replace('-', "")), 303, "with or without the dash");
    let stored = site.env.raw().int("SELECT count(*) FROM admin_recovery_code WHERE used_at IS NOT NULL");
    assert_eq!(stored, 2);
    let detail = "recovery code right; signed in";
    let used =
        site.env.raw().int(&format!("SELECT count(*) FROM audit WHERE actor = 'web:root' AND detail = '{detail}'"));
    assert_eq!(used, 2);
}
