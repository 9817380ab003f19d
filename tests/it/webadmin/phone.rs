//! The web administration on a 360 px phone, in headless Chromium: every page a post-office
//! administrator uses fits the screen (the mailbox table turns into cards), and the README's
//! pictures of it, from a real run.

use std::path::{Path, PathBuf};

use mailmfa::domain::totp::{code_at_step, step_of};
use serde_json::json;

use super::{Site, browser_sign_in};
use crate::common::browser::{Browser, Screen};
use crate::common::fixtures::now;

/// `example.com` with 30 more mailboxes in a few states.
fn busy_site() -> Site {
    Site::with(|env| {
        let mut csv = String::from("postoffice,mailbox,challenge,provider,sms_number,alt_email\n");
        for n in 1..=30 {
            let (challenge, provider, sms) = match n % 3 {
                0 => ("always", "sms", "+15551230000"),
                1 => ("new-country", "totp", ""),
                _ => ("", "totp", ""),
            };
            csv.push_str(&format!("example.com,user{n:02}@example.com,{challenge},{provider},{sms},\n"));
        }
        let path = env.path("mailboxes.csv");
        std::fs::write(&path, csv).unwrap();
        env.ok(&["import", path.to_str().unwrap()]);
        env.ok(&["mailbox", "reset", "user07@example.com", "--code"]);
    })
}

/// A post-office administrator of example.com, set up over HTTP and signed in in `b`.
fn postmaster_in(b: &Browser, site: &Site) {
    let (_, secret) = site.admin_set_up("postmaster", "postoffice", &["example.com"]);
    let code = code_at_step(&secret, step_of(now()) + 1);
    browser_sign_in(b, site, "postmaster", "postmaster has a long password", &code);
}

/// Whether the page is wider than the window (a phone would scroll sideways).
fn scrolls_sideways(b: &Browser) -> bool {
    b.execute("return document.documentElement.scrollWidth > window.innerWidth;", json!([])).as_bool().unwrap()
}

/// The pages a post-office administrator goes through, in order.
const PAGES: [(&str, &str); 5] = [
    ("mailboxes", "/admin/postoffices/example.com"),
    ("mailbox", "/admin/mailboxes/user03@example.com"),
    ("confirm", "/admin/mailbox/confirm?action=reset-code&address=user03@example.com"),
    ("audit", "/admin/audit"),
    ("coverage", "/admin/coverage"),
];

#[test]
fn every_page_fits_a_360_px_phone() {
    let site = busy_site();
    let b = Browser::start(Screen::phone(360, 780, 2.0));
    postmaster_in(&b, &site);
    assert!(!scrolls_sideways(&b), "post offices");
    for (name, path) in PAGES {
        b.goto(&site.server.url(path));
        b.wait_for("main h1");
        assert!(!scrolls_sideways(&b), "{name} scrolls sideways on a phone");
    }
    b.goto(&site.server.url("/admin/postoffices/example.com"));
    let cell = b.find("table.mailboxes td[data-label=Status]");
    let (x, _, width, _) = cell.rect();
    assert!(x + width <= 360.0, "a mailbox is a card on a phone: {x} + {width}");
}

/// The README's pictures of the web administration: a post office's mailboxes and a mailbox's
/// page at desktop width and on a phone. Writes to `$MAILMFA_SCREENSHOT_DIR`, else to
/// `assets/screenshots/`.
#[test]
#[ignore = "makes the README's screenshots; run by scripts/screenshots-web.sh"]
fn screenshots_of_the_web_administration() {
    let folder = std::env::var_os("MAILMFA_SCREENSHOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/screenshots"));
    std::fs::create_dir_all(&folder).unwrap();
    for (suffix, screen) in [("", Screen::desktop(1280, 900)), ("-phone", Screen::phone(360, 780, 2.0))] {
        let site = busy_site();
        let b = Browser::start(screen);
        if screen.phone_pixel_ratio.is_none() {
            b.set_viewport_size(1280, 900);
        }
        postmaster_in(&b, &site);
        for (page, path) in &PAGES[..2] {
            b.goto(&site.server.url(path));
            b.wait_for("main h1");
            let file = folder.join(format!("admin-{page}{suffix}.png"));
            std::fs::write(&file, b.screenshot()).unwrap();
            eprintln!("wrote {}", file.display());
        }
    }
}
