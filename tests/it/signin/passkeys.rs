//! The hosted pages of a passkey mailbox (DESIGN §14): headless Chromium with a virtual
//! authenticator (WebDriver's WebAuthn extension) creates a passkey at the first sign-in and signs
//! in with it, the service refuses an answer to a challenge no longer outstanding, a browser
//! without the passkey says so, and a recovery code still signs in; with JavaScript off the page
//! says what to do and its recovery code form works; over HTTP, its CSP and script, and a
//! `serve.public_url` a passkey cannot use. The pages run on
//! `http://localhost:PORT`: a secure context, and a valid RP ID (127.0.0.1 is not one).

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::{RETURN, Site, Webmail, get, post_form, scrolls_sideways};
use crate::common::browser::{Browser, Screen};

const CAROL: &str = "carol@example.com";

/// The site on `localhost`, with carol on passkeys (challenged always, by her post office).
fn passkey_site() -> Site {
    let site = Site::at("localhost");
    site.env.ok(&["mailbox", "add", CAROL]);
    site.env.ok(&["mailbox", "set", CAROL, "--provider", "passkey"]);
    site
}

/// The same page from the service's own address (127.0.0.1) for a plain HTTP client.
fn direct(site: &Site, signin_url: &str) -> String {
    let path = signin_url.split_once("/signin/").map(|(_, id)| format!("/signin/{id}")).unwrap();
    site.server.url(&path)
}

/// Waits until the page's script has shown the passkey button, and clicks it.
fn use_passkey(b: &Browser) {
    b.wait_until("the passkey button", |b| b.try_find("button.passkey-go").is_some_and(|e| e.is_displayed()));
    b.find("button.passkey-go").click();
}

/// The notes the page shows now (the service's, or one the script showed).
fn shown_note(b: &Browser) -> String {
    let script = "return Array.from(document.querySelectorAll('.note.bad'))\
                  .filter(n => n.checkVisibility()).map(n => n.textContent).join(' ');";
    b.execute(script, json!([])).as_str().unwrap_or_default().to_owned()
}

/// Waits until the browser is back at the webmail, and redeems the ticket it brought.
fn redeemed(site: &Site, webmail: &Webmail, b: &Browser) -> Value {
    b.wait_until("the webmail's page", |b| b.url().starts_with(&webmail.page.url("/")));
    let ticket = b.url().split("mailmfa_ticket=").nth(1).unwrap().to_owned();
    site.redeem_as(&webmail.key, &ticket)
}

fn audit(site: &Site) -> Vec<Value> {
    site.env.ok(&["audit", "--json", "--limit", "1000"]).json().as_array().unwrap().clone()
}

/// A person on a desktop creates a passkey at the first sign-in (then sees the recovery codes
/// once), signs in with it again, is refused for an answer to a challenge the page no longer
/// holds and tries again, is told so when the browser has no passkey, and signs in with a
/// recovery code; each step audited as the user.
#[test]
fn a_passkey_is_created_at_the_first_sign_in_and_signs_in_again() {
    let site = passkey_site();
    let webmail = Webmail::on(&site);
    let b = Browser::start(Screen::desktop(1280, 900));
    let authenticator = b.add_virtual_authenticator();

    let url = webmail.signin(&site, CAROL);
    assert!(url.starts_with("http://localhost:"), "{url}");
    b.goto(&url);
    wait_for_title(&b, "Create a passkey");
    assert!(!b.find("noscript").is_displayed(), "with JavaScript the page does not ask for it");
    assert!(!scrolls_sideways(&b));
    use_passkey(&b);
    b.wait_for("ol.codes");
    let codes: Vec<String> = b.find_all("ol.codes li").iter().map(|li| li.text()).collect();
    assert_eq!(codes.len(), 10, "the first passkey brings recovery codes: {}", b.visible_text());
    assert!(b.visible_text().contains("holds your passkey"), "{}", b.visible_text());
    let held = b.virtual_credentials(&authenticator);
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0]["rpId"], "localhost", "the RP ID is serve.public_url's host");
    b.find("a.button").click();
    assert_eq!(redeemed(&site, &webmail, &b), json!({"result": "accepted", "address": CAROL}));
    let listed = site.env.ok(&["mailbox", "passkeys", CAROL, "--json"]).json();
    assert_eq!(listed["passkeys"].as_array().unwrap().len(), 1, "{listed}");

    // The next sign-in asks for it, and goes straight back to the webmail.
    b.goto(&webmail.signin(&site, CAROL));
    wait_for_title(&b, "Sign in with your passkey");
    use_passkey(&b);
    assert_eq!(redeemed(&site, &webmail, &b)["address"], CAROL);

    // The page opened again elsewhere (here: fetched over HTTP) holds a new challenge; the answer
    // to the old one is refused, and the page offers the new one.
    let url = webmail.signin(&site, CAROL);
    b.goto(&url);
    wait_for_title(&b, "Sign in with your passkey");
    assert_eq!(get(&direct(&site, &url)).status, 200);
    use_passkey(&b);
    b.wait_until("the refusal", |b| shown_note(b).contains("not accepted"));
    assert!(b.url().starts_with(&url), "a refused passkey stays on the page: {}", b.url());
    use_passkey(&b);
    assert_eq!(redeemed(&site, &webmail, &b)["address"], CAROL, "tried again with the new challenge");

    // A browser without the passkey (its authenticator removed, another without it in its place:
    // with none at all, headless Chromium waits out the options' five minutes): the page says so,
    // in words, and the button stays.
    b.remove_virtual_authenticator(&authenticator);
    b.add_virtual_authenticator();
    let url = webmail.signin(&site, CAROL);
    b.goto(&url);
    use_passkey(&b);
    b.wait_until("the browser's refusal", |b| shown_note(b).contains("No passkey was used"));
    assert!(b.find("button.passkey-go").is_displayed() && b.url().starts_with(&url), "{}", b.visible_text());

    // A recovery code signs in instead.
    b.find("details.access-pass summary").click();
    b.find("#pass").type_text(&codes[0]);
    b.find("details.access-pass button[type=submit]").click();
    assert_eq!(redeemed(&site, &webmail, &b)["address"], CAROL);
    let left = site.env.ok(&["mailbox", "show", CAROL, "--json"]).json()["recovery_codes_left"].clone();
    assert_eq!(left, 9);

    let entries = audit(&site);
    let verified: Vec<String> = entries
        .iter()
        .filter(|e| e["action"] == "login.verify" && e["actor"] == format!("user:{CAROL}"))
        .map(|e| format!("{} {}", e["outcome"], e["detail"].as_str().unwrap_or("")))
        .collect();
    for wanted in [
        "passkey \"Passkey\" registered; 10 recovery codes issued",
        "passkey \"Passkey\"; user verified",
        "challenge differs",
        "recovery_code used",
    ] {
        assert!(verified.iter().any(|d| d.contains(wanted)), "no login.verify entry says {wanted:?}: {verified:#?}");
    }
    assert_eq!(verified.iter().filter(|d| d.contains("refused")).count(), 1, "{verified:#?}");
}

/// Waits for the passkey page titled `title`.
fn wait_for_title(b: &Browser, title: &str) {
    b.wait_until(title, |b| b.try_find("h1").is_some_and(|h| h.text() == title));
}

/// On a 360 px phone the passkey pages fit the screen, a passkey made on the phone signs in, and
/// with "Remember this device" ticked the next sign-in goes straight back to the webmail.
#[test]
fn the_passkey_pages_fit_a_phone() {
    let site = passkey_site();
    site.env.ok(&["settings", "set", "remember.days", "30"]);
    site.env.ok(&["postoffice", "set", "example.com", "--remember-in-always", "true"]);
    let webmail = Webmail::on(&site);
    let b = Browser::start(Screen::phone(360, 780, 2.0));
    b.add_virtual_authenticator();
    b.goto(&webmail.signin(&site, CAROL));
    wait_for_title(&b, "Create a passkey");
    b.wait_until("the passkey button", |b| b.find("button.passkey-go").is_displayed());
    assert!(!scrolls_sideways(&b), "the passkey page is wider than a phone");
    let (_, _, width, _) = b.find("button.passkey-go").rect();
    assert!(width >= 250.0, "the button is {width} px wide on a phone");
    use_passkey(&b);
    b.wait_for("ol.codes");
    assert!(!scrolls_sideways(&b), "the recovery codes page is wider than a phone");
    b.find("a.button").click();
    assert_eq!(redeemed(&site, &webmail, &b)["address"], CAROL);
    b.goto(&webmail.signin(&site, CAROL));
    wait_for_title(&b, "Sign in with your passkey");
    assert!(!scrolls_sideways(&b));
    b.find("#remember").click();
    use_passkey(&b);
    assert_eq!(redeemed(&site, &webmail, &b)["address"], CAROL);
    b.goto(&webmail.signin(&site, CAROL));
    assert_eq!(redeemed(&site, &webmail, &b)["address"], CAROL, "the remembered phone is not asked again");
}

/// Over plain HTTP: the page carries a noscript note, runs only mailmfa's own script under a
/// strict CSP, carries the ceremony for `localhost`, refuses a made-up answer with a new
/// challenge, refuses a form without its token, and takes a recovery code in its form. A
/// `serve.public_url` without a domain name is refused to the webmail, saying what to set.
#[test]
fn over_http_the_passkey_page_has_its_script_csp_and_recovery_code_form() {
    let site = passkey_site();
    let codes = site.env.ok(&["mailbox", "recovery-codes", CAROL, "--new", "--json"]).json();
    let started = site.signin(CAROL, RETURN);
    assert_eq!(started.status, 200, "{:?}", started.json);
    assert_eq!(started.json["decision"], "enroll");
    assert_eq!(started.json["provider"], "passkey");
    let url = direct(&site, started.json["signin_url"].as_str().unwrap());

    let page = get(&url);
    assert_eq!(page.status, 200, "{}", page.html);
    let csp = page.header("content-security-policy").unwrap();
    for part in ["default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"] {
        assert!(csp.contains(part), "{csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let scripts: Vec<&str> = page.html.split("<script").skip(1).collect();
    assert_eq!(scripts.len(), 1, "one script: {}", page.html);
    assert!(scripts[0].starts_with(" src=\"http://localhost:") && scripts[0].contains("/static/passkey.js\""));
    assert!(scripts[0].contains("></script>"), "nothing inline: {}", scripts[0]);
    let noscript = page.html.split("<noscript>").nth(1).unwrap().split("</noscript>").next().unwrap();
    assert!(noscript.contains("needs JavaScript") && noscript.contains("recovery code"), "{noscript}");
    assert!(page.html.contains("name=\"code\""), "the recovery code form is there");
    let options = |html: &str| -> Value {
        let attribute = html.split("data-options=\"").nth(1).unwrap().split('"').next().unwrap();
        serde_json::from_str(&attribute.replace("&quot;", "\"").replace("&amp;", "&")).unwrap()
    };
    let first = options(&page.html);
    assert_eq!(first["rp"]["id"], "localhost", "{first}");
    assert!(first["challenge"].as_str().is_some_and(|c| c.len() >= 32), "{first}");

    let script = get(&site.server.url("/static/passkey.js"));
    assert!(script.header("content-type").unwrap().starts_with("text/javascript"));
    assert_eq!(script.header("x-content-type-options"), Some("nosniff"));
    assert!(script.html.contains("parseCreationOptionsFromJSON") && script.html.contains("toJSON()"));

    // A made-up answer is refused (and counted); the page comes back with a new challenge.
    let csrf = page.input("csrf");
    let refused = post_form(&url, &[("csrf", &csrf), ("webauthn", "{\"id\":\"made-up\"}")]);
    assert_eq!(refused.status, 200);
    assert!(refused.html.contains("not accepted"), "{}", refused.html);
    assert_ne!(options(&refused.html)["challenge"], first["challenge"], "a new challenge");
    let forged = post_form(&url, &[("csrf", "0000"), ("webauthn", "{}")]);
    assert!(forged.html.contains("out of date"), "{}", forged.html);

    let code = codes["recovery_codes"][0].as_str().unwrap();
    let done = post_form(&url, &[("csrf", &csrf), ("code", code)]);
    assert_eq!(done.status, 303, "{}", done.html);
    let location = done.header("location").unwrap();
    assert!(location.starts_with(&format!("{RETURN}&mailmfa_ticket=")), "{location}");
    let ticket = location.split("mailmfa_ticket=").nth(1).unwrap();
    assert_eq!(site.redeem(ticket), json!({"result": "accepted", "address": CAROL}));
    let entries = audit(&site);
    assert!(
        entries.iter().any(|e| e["action"] == "login.verify"
            && e["outcome"] == "rejected:invalid_code"
            && e["detail"].as_str().is_some_and(|d| d.contains("malformed passkey registration"))),
        "{entries:#?}"
    );

    // An IP address is no RP ID: the webmail is told, before any page is shown.
    let port = site.server.base.rsplit(':').next().unwrap().to_owned();
    site.env.ok(&["settings", "set", "serve.public_url", &format!("http://127.0.0.1:{port}/")]);
    let refused = site.signin(CAROL, RETURN);
    assert_eq!(refused.status, 503, "{:?}", refused.json);
    assert!(refused.json["error"].as_str().unwrap().contains("serve.public_url"), "{:?}", refused.json);
}

/// A browser with JavaScript turned off: the page says what to do instead, shows no passkey
/// button, and its recovery code form signs in.
#[test]
fn without_javascript_the_passkey_page_takes_a_recovery_code() {
    let site = passkey_site();
    let webmail = Webmail::on(&site);
    let codes = site.env.ok(&["mailbox", "recovery-codes", CAROL, "--new", "--json"]).json();
    let b = Browser::start_without_javascript(Screen::desktop(1280, 900));
    b.goto(&webmail.signin(&site, CAROL));
    wait_for_title(&b, "Create a passkey");
    let text = b.visible_text();
    assert!(text.contains("A passkey needs JavaScript, which is turned off"), "{text}");
    assert!(!b.find("button.passkey-go").is_displayed(), "no button that could not work");
    b.find("details.access-pass summary").click();
    b.find("#pass").type_text(codes["recovery_codes"][0].as_str().unwrap());
    b.find("details.access-pass button[type=submit]").click();
    assert_eq!(redeemed(&site, &webmail, &b)["address"], CAROL);
}

/// The README's pictures of the passkey pages, from a real run: creating a passkey, signing in
/// with one, and a browser that has none, at desktop width and on a phone. Writes to
/// `$MAILMFA_SCREENSHOT_DIR`, else to `assets/screenshots/`.
#[test]
#[ignore = "makes the README's screenshots; run by scripts/screenshots-web.sh"]
fn screenshots_of_the_passkey_pages() {
    let folder = std::env::var_os("MAILMFA_SCREENSHOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/screenshots"));
    std::fs::create_dir_all(&folder).unwrap();
    for (suffix, screen) in [("", Screen::desktop(1280, 900)), ("-phone", Screen::phone(360, 780, 2.0))] {
        let site = passkey_site();
        site.env.ok(&["settings", "set", "remember.days", "30"]);
        let webmail = Webmail::on(&site);
        let b = Browser::start(screen);
        if screen.phone_pixel_ratio.is_none() {
            b.set_viewport_size(1280, 900);
        }
        let authenticator = b.add_virtual_authenticator();
        let shoot = |page: &str| {
            let path = folder.join(format!("signin-{page}{suffix}.png"));
            std::fs::write(&path, b.screenshot()).unwrap();
            eprintln!("wrote {}", path.display());
        };
        b.goto(&webmail.signin(&site, CAROL));
        wait_for_title(&b, "Create a passkey");
        b.wait_until("the passkey button", |b| b.find("button.passkey-go").is_displayed());
        shoot("passkey-create");
        use_passkey(&b);
        b.wait_for("ol.codes");
        b.find("a.button").click();
        redeemed(&site, &webmail, &b);

        b.goto(&webmail.signin(&site, CAROL));
        wait_for_title(&b, "Sign in with your passkey");
        b.wait_until("the passkey button", |b| b.find("button.passkey-go").is_displayed());
        shoot("passkey");
        b.remove_virtual_authenticator(&authenticator);
        b.add_virtual_authenticator();
        use_passkey(&b);
        b.wait_until("the browser's refusal", |b| shown_note(b).contains("No passkey was used"));
        shoot("passkey-none");
    }
}
