//! A post-office administrator at work — a mailbox found among ten thousand, its code reset
//! (asked first), an access pass issued, and its next login enrolling again through the login
//! service — and reaching nothing of another post office: every URL and forged form field that
//! names `other.org`, and every platform page, answers 404 and is audited.

use mailmfa::domain::totp::{code_at_step, step_of};
use serde_json::json;

use super::{Page, Site, Web};
use crate::common::fixtures::{api_key, now, secret_of};
use crate::common::serve::{agent, call};

/// `example.com` with 10,000 more mailboxes (`user00001` …), challenged always.
fn ten_thousand() -> Site {
    Site::with(|env| {
        let mut csv = String::from("postoffice,mailbox,challenge,provider,sms_number,alt_email\n");
        for n in 1..=10_000 {
            csv.push_str(&format!("example.com,user{n:05}@example.com,,,,\n"));
        }
        let path = env.path("mailboxes.csv");
        std::fs::write(&path, csv).unwrap();
        env.ok(&["import", path.to_str().unwrap()]);
        env.ok(&["postoffice", "set", "example.com", "--challenge", "always"]);
    })
}

#[test]
fn a_postoffice_administrator_finds_a_mailbox_among_ten_thousand_resets_it_and_issues_a_pass() {
    let site = ten_thousand();
    let key = api_key(&site.env, "webmail", &[]);
    let begin = |address: &str| {
        let body = json!({"address": address, "ip": "203.0.113.9"}).to_string();
        call(&agent(), "POST", &site.server.url("/v1/login/begin"), Some(&key), Some(&body)).json
    };
    let verify = |transaction: &serde_json::Value, code: &str| {
        let body = json!({"transaction_id": transaction, "code": code}).to_string();
        call(&agent(), "POST", &site.server.url("/v1/login/verify"), Some(&key), Some(&body)).json
    };
    let enrolling = begin("user04242@example.com");
    assert_eq!(enrolling["decision"], "enroll");
    let secret = secret_of(enrolling["otpauth_uri"].as_str().unwrap());
    let code = code_at_step(&secret, step_of(now()));
    assert_eq!(verify(&enrolling["transaction_id"], &code)["result"], "accepted");
    assert_eq!(begin("user04242@example.com")["decision"], "challenge", "enrolled");

    let (web, _) = site.signed_in("postmaster", "postoffice", &["example.com"]);
    let all = web.get("/admin/postoffices/example.com");
    assert!(all.html.contains("10002 mailboxes"), "{}", &all.html[..all.html.len().min(3000)]);
    assert_eq!(all.html.matches("<tr><td data-label=\"Mailbox\">").count(), 100, "a page of 100");
    let found = web.get("/admin/postoffices/example.com?filter=04242");
    assert!(found.html.contains("1 mailboxes matching"), "{}", found.html);
    assert!(found.html.contains("href=\"/admin/mailboxes/user04242@example.com\""), "{}", found.html);
    let mailbox = web.get("/admin/mailboxes/user04242@example.com");
    assert_eq!(mailbox.status, 200);
    assert!(mailbox.html.contains("<dd>enrolled</dd>"), "{}", mailbox.html);

    let ask = web.get("/admin/mailbox/confirm?action=reset-code&address=user04242@example.com");
    assert!(ask.html.contains("Reset the two factor code?"), "{}", ask.html);
    let csrf = ask.input("csrf");
    let fields = [("csrf", csrf.as_str()), ("address", "user04242@example.com"), ("action", "reset-code")];
    let unasked = web.post("/admin/mailbox/action", &fields);
    assert_eq!(unasked.location(), "/admin/mailboxes/user04242@example.com", "not without the confirmation");
    assert_eq!(site.audited("web:postmaster", "mailbox.reset_code", "ok"), 0);
    let reset = web.post("/admin/mailbox/action", &[fields[0], fields[1], fields[2], ("confirmed", "1")]);
    assert_eq!(reset.location(), "/admin/mailboxes/user04242@example.com?done=reset-code");
    assert_eq!(site.audited("web:postmaster", "mailbox.reset_code", "ok"), 1);

    let typo =
        [("csrf", csrf.as_str()), ("address", "user04242@example.com"), ("action", "access-pass"), ("minutes", "6o")];
    let refused = web.post("/admin/mailbox/action", &typo);
    assert_eq!(refused.status, 400, "{}", refused.html);
    assert!(refused.html.contains("6o") && refused.html.contains("whole number of minutes"), "{}", refused.html);
    assert_eq!(site.audited("web:postmaster", "mailbox.access_pass", "ok"), 0);
    let fields =
        [("csrf", csrf.as_str()), ("address", "user04242@example.com"), ("action", "access-pass"), ("minutes", "60")];
    let pass_page = web.post("/admin/mailbox/action", &fields);
    assert_eq!(pass_page.status, 200, "shown once, in the answer: {}", pass_page.html);
    let pass = pass_page.text_of("<p class=\"key\">");
    assert_eq!(pass.len(), 11, "{pass}");
    assert_eq!(site.audited("web:postmaster", "mailbox.access_pass", "ok"), 1);

    let again = begin("user04242@example.com");
    assert_eq!(again["decision"], "enroll", "the next login enrols again: {again}");
    assert_eq!(verify(&again["transaction_id"], &pass)["result"], "accepted", "the pass lets the user in");
}

/// The forms a post-office administrator of example.com might forge to reach other.org.
fn forged_posts(csrf: &str) -> Vec<(&'static str, Vec<(&'static str, String)>)> {
    let mailbox = |action: &'static str| {
        let fields = vec![
            ("csrf", csrf.to_owned()),
            ("address", "bob@other.org".to_owned()),
            ("action", action.to_owned()),
            ("confirmed", "1".to_owned()),
            ("minutes", "60".to_owned()),
            ("name", "phone".to_owned()),
        ];
        ("/admin/mailbox/action", fields)
    };
    let mut posts: Vec<_> = [
        "reset-code",
        "reset-countries",
        "unlock",
        "access-pass",
        "recovery-codes",
        "forget-devices",
        "qr",
        "remove-app-password",
    ]
    .into_iter()
    .map(mailbox)
    .collect();
    let with = |fields: &[(&'static str, &str)]| {
        std::iter::once(("csrf", csrf.to_owned())).chain(fields.iter().map(|(k, v)| (*k, (*v).to_owned()))).collect()
    };
    posts.push((
        "/admin/mailbox/settings",
        with(&[("address", "bob@other.org"), ("challenge", "never"), ("provider", "totp")]),
    ));
    posts.push(("/admin/postoffices/other.org", with(&[("challenge", "never"), ("trusted_networks", "0.0.0.0/0")])));
    posts.push(("/admin/providers", with(&[("provider", "totp"), ("enabled", "1")])));
    posts.push(("/admin/settings", with(&[("key", "serve.admin"), ("value", "false")])));
    posts.push(("/admin/settings", with(&[("key", "smtp.password"), ("value", "")])));
    posts.push(("/admin/clients", with(&[("name", "webmail")])));
    posts.push(("/admin/administrators", with(&[("op", "add"), ("name", "evil"), ("role", "platform")])));
    posts.push(("/admin/administrators", with(&[("op", "reset"), ("name", "postmaster")])));
    posts
}

/// The pages a post-office administrator might open by URL to reach other.org or the platform.
const FORGED_URLS: [&str; 7] = [
    "/admin/postoffices/other.org",
    "/admin/mailboxes/bob@other.org",
    "/admin/mailbox/confirm?action=reset-code&address=bob@other.org",
    "/admin/providers",
    "/admin/settings",
    "/admin/clients",
    "/admin/administrators",
];

#[test]
fn a_postoffice_administrator_reaching_another_postoffice_by_url_or_forged_fields_gets_404_and_is_audited() {
    let site = Site::new();
    api_key(&site.env, "webmail", &[]);
    let (web, _) = site.signed_in("postmaster", "postoffice", &["example.com"]);
    let csrf = web.csrf();
    let before = site.env.ok(&["mailbox", "show", "bob@other.org", "--json"]).json();
    for url in FORGED_URLS {
        let page = web.get(url);
        assert_eq!(page.status, 404, "GET {url}: {}", page.html);
        assert!(!page.html.contains("carol"), "GET {url}");
    }
    let posts = forged_posts(&csrf);
    for (url, fields) in &posts {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let page = web.post(url, &fields);
        assert_eq!(page.status, 404, "POST {url} {fields:?}: {}", page.html);
    }
    let refused =
        site.env.raw().int("SELECT count(*) FROM audit WHERE actor = 'web:postmaster' AND outcome = 'refused'");
    assert_eq!(refused, (FORGED_URLS.len() + posts.len()) as i64, "every attempt audited once");
    assert_eq!(site.env.ok(&["mailbox", "show", "bob@other.org", "--json"]).json(), before, "bob is as he was");
    assert_eq!(site.env.ok(&["settings", "show", "--json"]).json()["serve.admin"], "true");
    assert_eq!(site.env.ok(&["client", "list", "--json"]).json().as_array().unwrap().len(), 1);
    assert_eq!(site.env.ok(&["admin", "list", "--json"]).json().as_array().unwrap().len(), 1, "no administrator added");
    assert_eq!(
        site.env.raw().int("SELECT count(*) FROM audit WHERE mailbox = 'bob@other.org' AND outcome = 'ok'"),
        1,
        "only its creation"
    );
    // Their own post office they may change.
    let own =
        web.post("/admin/mailbox/action", &[("csrf", &csrf), ("address", "bob@example.com"), ("action", "unlock")]);
    assert_eq!(own.location(), "/admin/mailboxes/bob@example.com?done=unlock");
}

/// The routes the web administration registers, read from its router, so a route added there
/// and not walked here fails this test.
fn registered_routes() -> Vec<String> {
    include_str!("../../../src/serve/admin/mod.rs")
        .split(".route(\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
        .collect()
}

/// The routes that show no post office's data: signing out, and the set-up link's pages (reached
/// by the link's token, before any session).
const SHOW_NO_POSTOFFICE: [&str; 3] = ["/admin/signout", "/admin/setup/{token}", "/admin/setup/{token}/code"];

/// Whether `url` (with its query) is an address of the route `pattern` (`{name}` a segment).
fn route_matches(pattern: &str, url: &str) -> bool {
    let path = url.split('?').next().unwrap();
    let (pattern, path): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), path.split('/').collect());
    pattern.len() == path.len() && pattern.iter().zip(&path).all(|(p, s)| p.starts_with('{') || p == s)
}

/// A page's text with what the administrator typed (echoed in the filter field) taken out.
fn without_echo(page: &Page, typed: &str) -> String {
    page.html
        .replace(&format!("value=\"{typed}\""), "")
        .replace(&format!("“{typed}”"), "")
        .replace(&format!("filter={typed}"), "")
}

fn every_admin_route_with_a_postoffice_session_shows_nothing_of_another_postoffice() {
    let site = Site::new();
    let (platform, _) = site.signed_in("root", "platform", &[]);
    let csrf = platform.csrf();
    platform.post("/admin/mailbox/action", &[("csrf", &csrf), ("address", "carol@other.org"), ("action", "unlock")]);
    site.env.ok(&["mailbox", "reset", "carol@other.org", "--code"]);
    let (web, _) = site.signed_in("postmaster", "postoffice", &["example.com"]);
    let routes = [
        "/admin",
        "/admin/",
        "/admin/postoffices",
        "/admin/postoffices/example.com",
        "/admin/postoffices/example.com?filter=carol",
        "/admin/postoffices/example.com?filter=a_%25&sort=3&desc=1",
        "/admin/postoffices/example.com?sort=5&desc=1&page=1",
        "/admin/postoffices/other.org",
        "/admin/postoffices/other.org?filter=carol",
        "/admin/mailboxes/alice@example.com",
        "/admin/mailboxes/carol@other.org",
        "/admin/mailbox/confirm?action=reset-code&address=alice@example.com",
        "/admin/mailbox/confirm?action=reset-code&address=carol@other.org",
        "/admin/audit",
        "/admin/audit?filter=carol",
        "/admin/coverage",
        "/admin/coverage.csv",
        "/admin/providers",
        "/admin/settings",
        "/admin/clients",
        "/admin/administrators",
        "/admin/signin",
        "/admin/signin/code",
    ];
    let posted: Vec<&str> = forged_posts("").iter().map(|(url, _)| *url).collect();
    for registered in registered_routes() {
        let covered = routes.iter().chain(&posted).any(|url| route_matches(&registered, url));
        assert!(covered || SHOW_NO_POSTOFFICE.contains(&registered.as_str()), "{registered} is not walked");
    }
    for route in routes {
        let page = web.get(route);
        assert!([200, 303, 404].contains(&page.status), "{route}: {}", page.status);
        let text = without_echo(&page, "carol");
        for other in ["other.org", "carol", "web:root"] {
            assert!(!text.contains(other), "{route} shows {other}: {}", page.html);
        }
    }
    let found = web.get("/admin/postoffices/example.com?filter=ALI");
    assert!(found.html.contains("1 mailboxes matching") && found.html.contains(">alice</a>"), "{}", found.html);
    let by_name_down = web.get("/admin/postoffices/example.com?sort=0&desc=1");
    let (bob, alice) = (by_name_down.html.find(">bob</a>").unwrap(), by_name_down.html.find(">alice</a>").unwrap());
    assert!(bob < alice, "sorted by name, from the end");
    let audit = web.get("/admin/audit");
    assert!(audit.html.contains("admin.signin"), "their own sign-in is in their audit log");
    let platform_audit = platform.get("/admin/audit?filter=carol");
    assert!(platform_audit.html.contains("carol@other.org"), "the platform administrator sees it all");
}

// The pages' own SQL (a page of mailboxes, the audit log of some post offices) on both back ends.
crate::on_each_backend!(every_admin_route_with_a_postoffice_session_shows_nothing_of_another_postoffice);

/// A platform administrator does on the platform pages what the console does; a secret is never
/// sent to the browser, and an empty secret field leaves it as it is.
#[test]
fn a_platform_administrator_changes_providers_settings_and_api_clients() {
    let site = Site::with(|env| {
        env.ok(&["settings", "set", "smtp.password", "hunter2-relay-secret"]);
    });
    api_key(&site.env, "webmail", &[]);
    let (web, _) = site.signed_in("root", "platform", &[]);
    let settings = web.get("/admin/settings");
    assert_eq!(settings.status, 200);
    assert!(!settings.html.contains("hunter2"), "a secret never reaches the browser");
    assert!(settings.html.contains("<textarea"), "templates keep their lines");
    let csrf = web.csrf();
    let set = |key: &str, value: &str| web.post("/admin/settings", &[("csrf", &csrf), ("key", key), ("value", value)]);
    assert_eq!(set("lockout.threshold", "7").location(), "/admin/settings?done=saved");
    assert_eq!(set("smtp.password", "").location(), "/admin/settings?done=saved");
    assert_eq!(set("lockout.threshold", "1000").status, 400, "a value out of range is refused");
    let shown = site.env.ok(&["settings", "show", "--json"]).json();
    assert_eq!((shown["lockout.threshold"].as_str(), shown["smtp.password"].as_str()), (Some("7"), Some("***")));
    let sms = [("csrf", csrf.as_str()), ("provider", "sms"), ("enabled", "1"), ("admin", "1")];
    assert_eq!(web.post("/admin/providers", &sms).location(), "/admin/providers?done=saved");
    let providers = site.env.ok(&["provider", "list", "--json"]).json();
    let sms = providers.as_array().unwrap().iter().find(|p| p["provider"] == "sms").unwrap().clone();
    assert_eq!((sms["enabled"].as_bool(), sms["user_configurable"].as_bool()), (Some(true), Some(false)));
    assert_eq!(
        web.post("/admin/clients", &[("csrf", &csrf), ("name", "webmail")]).location(),
        "/admin/clients?done=removed"
    );
    assert_eq!(site.env.ok(&["client", "list", "--json"]).json().as_array().unwrap().len(), 0);
    for action in ["settings.set", "provider.set", "client.remove"] {
        assert!(site.audited("web:root", action, "ok") >= 1, "{action} as web:root");
    }
}

/// A platform administrator resets another who lost their phone: the old password and session
/// stop working at once, the new set-up link is shown once and sets the account up again.
#[test]
fn a_platform_administrator_resets_another_on_the_web() {
    let site = Site::new();
    let (root, _) = site.signed_in("root", "platform", &[]);
    let (pat, pat_secret) = site.signed_in("pat", "postoffice", &["example.com"]);
    let listed = root.get("/admin/administrators");
    assert!(listed.html.contains(">Reset</button>"), "{}", listed.html);
    let reset = root.post("/admin/administrators", &[("csrf", &root.csrf()), ("op", "reset"), ("name", "pat")]);
    assert_eq!(reset.status, 200, "{}", reset.html);
    assert!(reset.html.contains("Administrator reset") && reset.html.contains("no longer work"), "{}", reset.html);
    let link = reset.text_of("<p class=\"key\">");
    assert!(link.starts_with(&format!("{}/admin/setup/", site.server.base)), "{link}");
    assert_ne!(pat.get("/admin/postoffices").status, 200, "pat's session ended with the reset");
    let code = code_at_step(&pat_secret, step_of(now()) + 2);
    assert_ne!(pat.sign_in("pat", "pat has a long password", &code), 303, "the old password and app are void");
    let setup = Web::new(&site.server.base).get(&link);
    assert_eq!(setup.status, 200, "the new link sets pat up again: {}", setup.html);
    assert_eq!(site.audited("web:root", "admin.reset", "ok"), 1);
}
