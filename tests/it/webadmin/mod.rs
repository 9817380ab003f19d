//! The web administration (DESIGN §12) against the real `mailmfa serve` on a real SQLite file:
//! administrators added from the command line set up their account (in headless Chromium, the QR
//! code read off the screen) and sign in with password and code; a post-office administrator
//! looks after their mailboxes and reaches nothing of another post office, whatever URL or form
//! field they forge; sessions, CSRF tokens and the lock hold. Only loopback, only the test's
//! temporary folder.

mod phone;
mod scope;
mod signin;

use std::collections::BTreeMap;

use mailmfa::domain::totp::{code_at_step, decode_secret, step_of};

use crate::common::TestEnv;
use crate::common::browser::{Browser, free_port};
use crate::common::fixtures::now;
use crate::common::serve::Server;

/// A store with `example.com` (alice, bob) and `other.org` (bob, carol), the web administration
/// on, and the server running.
pub struct Site {
    pub env: TestEnv,
    pub server: Server,
}

impl Site {
    pub fn new() -> Self {
        Self::with(|_| {})
    }

    /// The site, with `prepare` run on the store before the server starts.
    pub fn with(prepare: impl FnOnce(&TestEnv)) -> Self {
        let env = TestEnv::new();
        for po in ["example.com", "other.org"] {
            env.ok(&["postoffice", "add", po]);
        }
        for mb in ["alice@example.com", "bob@example.com", "bob@other.org", "carol@other.org"] {
            env.ok(&["mailbox", "add", mb]);
        }
        env.ok(&["settings", "set", "serve.admin", "true"]);
        let port = free_port();
        env.ok(&["settings", "set", "serve.public_url", &format!("http://127.0.0.1:{port}")]);
        prepare(&env);
        let server = Server::start(&env, &["--listen", &format!("127.0.0.1:{port}")]);
        Site { env, server }
    }

    /// `mailmfa admin add NAME --role ROLE [--postoffice …] --json`: the set-up link.
    pub fn add_admin(&self, name: &str, role: &str, postoffices: &[&str]) -> String {
        let mut args = vec!["admin", "add", name, "--role", role, "--json"];
        let list = postoffices.join(",");
        if !postoffices.is_empty() {
            args.extend(["--postoffice", &list]);
        }
        let added = self.env.ok(&args).json();
        assert_eq!(added["name"], name);
        assert_eq!(added["role"], role);
        let url = added["setup_url"].as_str().unwrap().to_owned();
        assert!(url.starts_with(&format!("{}/admin/setup/", self.server.base)), "{url}");
        url
    }

    /// An administrator added and set up over HTTP: their browser (no session yet) and secret.
    pub fn admin_set_up(&self, name: &str, role: &str, postoffices: &[&str]) -> (Web, Vec<u8>) {
        let (web, secret, _) = self.admin_set_up_with_codes(name, role, postoffices);
        (web, secret)
    }

    /// [`Site::admin_set_up`], and the recovery codes the set-up showed.
    pub fn admin_set_up_with_codes(&self, name: &str, role: &str, postoffices: &[&str]) -> (Web, Vec<u8>, Vec<String>) {
        let url = self.add_admin(name, role, postoffices);
        let web = Web::new(&self.server.base);
        let page = web.get(&url);
        assert_eq!(page.status, 200, "{}", page.html);
        let password = format!("{name} has a long password");
        let posted = web.post(&url, &[("csrf", &page.input("csrf")), ("password", &password), ("again", &password)]);
        assert_eq!(posted.status, 303, "{}", posted.html);
        let page = web.get(&url);
        let key = page.text_of("<p class=\"key\">").replace(' ', "");
        let secret = decode_secret(&key).unwrap().to_vec();
        let code = code_at_step(&secret, step_of(now()));
        let done = web.post(&format!("{url}/code"), &[("csrf", &page.input("csrf")), ("code", &code)]);
        assert_eq!(done.status, 200, "{}", done.html);
        let codes: Vec<String> =
            done.html.split("<li>").skip(1).map(|rest| rest[..rest.find('<').unwrap()].to_owned()).collect();
        assert_eq!(codes.len(), 10, "ten recovery codes: {}", done.html);
        (web, secret, codes)
    }

    /// An administrator set up and signed in: their browser, and their secret.
    pub fn signed_in(&self, name: &str, role: &str, postoffices: &[&str]) -> (Web, Vec<u8>) {
        let (web, secret) = self.admin_set_up(name, role, postoffices);
        let password = format!("{name} has a long password");
        // The set-up took this step's code: the sign-in gives the next one (still in the window).
        let code = code_at_step(&secret, step_of(now()) + 1);
        assert_eq!(web.sign_in(name, &password, &code), 303);
        assert!(web.get("/admin/postoffices").status == 200);
        (web, secret)
    }

    /// The audit entries of `actor` and `action` with this outcome.
    pub fn audited(&self, actor: &str, action: &str, outcome: &str) -> i64 {
        self.env.raw().int(&format!(
            "SELECT count(*) FROM audit WHERE actor = '{actor}' AND action = '{action}' AND outcome = '{outcome}'"
        ))
    }
}

/// A page as a browser without scripts gets it.
pub struct Page {
    pub status: u16,
    pub html: String,
    pub headers: Vec<(String, String)>,
}

impl Page {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The value of the first input named `name`.
    pub fn input(&self, name: &str) -> String {
        let at =
            self.html.find(&format!("name=\"{name}\"")).unwrap_or_else(|| panic!("no input {name}: {}", self.html));
        let rest = &self.html[at..];
        let value = rest.split("value=\"").nth(1).unwrap();
        value[..value.find('"').unwrap()].to_owned()
    }

    /// The text after `marker` up to the next tag.
    pub fn text_of(&self, marker: &str) -> String {
        let at = self.html.find(marker).unwrap_or_else(|| panic!("no {marker}: {}", self.html)) + marker.len();
        let rest = &self.html[at..];
        rest[..rest.find('<').unwrap()].to_owned()
    }

    /// Where a redirect goes.
    pub fn location(&self) -> &str {
        self.header("location").unwrap_or_default()
    }
}

/// A browser without scripts: it keeps its cookies and does not follow redirects.
pub struct Web {
    base: String,
    agent: ureq::Agent,
    cookies: std::cell::RefCell<BTreeMap<String, String>>,
}

impl Web {
    pub fn new(base: &str) -> Self {
        let agent = ureq::Agent::new_with_config(
            ureq::config::Config::builder().http_status_as_error(false).proxy(None).max_redirects(0).build(),
        );
        Web { base: base.to_owned(), agent, cookies: Default::default() }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") { path.to_owned() } else { format!("{}{path}", self.base) }
    }

    fn send(&self, request: ureq::http::request::Builder, body: String) -> Page {
        let cookie: Vec<String> = self.cookies.borrow().iter().map(|(k, v)| format!("{k}={v}")).collect();
        let request = if cookie.is_empty() { request } else { request.header("Cookie", cookie.join("; ")) };
        let response = self.agent.run(request.body(body).unwrap()).unwrap();
        let status = response.status().as_u16();
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
            .collect();
        for (_, value) in headers.iter().filter(|(k, _)| k == "set-cookie") {
            let (pair, attributes) = value.split_once(';').unwrap_or((value, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || attributes.contains("Max-Age=0") {
                self.cookies.borrow_mut().remove(name);
            } else {
                self.cookies.borrow_mut().insert(name.to_owned(), value.to_owned());
            }
        }
        Page { status, html: response.into_body().read_to_string().unwrap_or_default(), headers }
    }

    pub fn get(&self, path: &str) -> Page {
        self.send(ureq::http::Request::get(self.url(path)), String::new())
    }

    pub fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let request =
            ureq::http::Request::post(self.url(path)).header("Content-Type", "application/x-www-form-urlencoded");
        self.send(request, body)
    }

    /// The session's CSRF token, from a page that has the sign-out form.
    pub fn csrf(&self) -> String {
        self.get("/admin/postoffices").input("csrf")
    }

    /// The cookie `name`, if the browser has it.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.borrow().get(name).cloned()
    }

    /// Replaces the cookie `name`.
    pub fn set_cookie(&self, name: &str, value: &str) {
        self.cookies.borrow_mut().insert(name.to_owned(), value.to_owned());
    }

    /// The password form, then — if it let the browser on — the code form: the status of the last.
    pub fn sign_in(&self, name: &str, password: &str, code: &str) -> u16 {
        let form = self.get("/admin/signin");
        let after =
            self.post("/admin/signin", &[("csrf", &form.input("csrf")), ("name", name), ("password", password)]);
        if after.location() != "/admin/signin/code" {
            return 401;
        }
        let form = self.get("/admin/signin/code");
        let done = self.post("/admin/signin/code", &[("csrf", &form.input("csrf")), ("code", code)]);
        if done.location() == "/admin/postoffices" { 303 } else { 401 }
    }
}

/// Types into a field once the page that has it has loaded.
pub fn type_into(b: &Browser, css: &str, text: &str) {
    let field = b.wait_for(css);
    field.clear();
    field.type_text(text);
}

/// Signs in at `/admin/` in the browser with name, password and code; waits for the post offices.
pub fn browser_sign_in(b: &Browser, site: &Site, name: &str, password: &str, code: &str) {
    b.goto(&site.server.url("/admin/"));
    type_into(b, "#name", name);
    type_into(b, "#password", password);
    b.find("button[type=submit]").click();
    type_into(b, "#code", code);
    b.find("button[type=submit]").click();
    b.wait_until("the post offices", |b| b.url().ends_with("/admin/postoffices"));
}
