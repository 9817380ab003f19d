//! Headless Chromium for tests, driven like a person drives a browser: a small WebDriver client
//! (W3C protocol over HTTP with ureq) for `chromedriver` from Debian's `chromium-driver`.
//!
//! [`Browser::start`] runs chromedriver on a free port of 127.0.0.1 and opens one session with a
//! fresh profile; dropping the browser ends the session (closing Chromium) and stops chromedriver,
//! also when a test fails. Elements are found by CSS selector; waits poll, because pages load and
//! scripts run on their own time.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

/// The key under which WebDriver names an element.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long waits and page loads may take before a test fails.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The program, found on `PATH` (or as given when it is a path), or a failure that names the
/// Debian packages to install. A test whose tools are missing fails; it never passes by skipping.
pub fn require_program(program: &str, packages: &str) -> PathBuf {
    find_program(program).unwrap_or_else(|| {
        panic!("`{program}` is missing: install it with `apt-get install {packages}` (this test needs it)")
    })
}

/// Where the screenshot makers write: `$MAILMFA_SCREENSHOT_DIR`, else the README's
/// `assets/screenshots/`. Saves a PNG under `name` and says so on stderr.
pub fn screenshot_saver() -> impl Fn(&str, Vec<u8>) {
    let folder = std::env::var_os("MAILMFA_SCREENSHOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/screenshots"));
    std::fs::create_dir_all(&folder).unwrap();
    move |name: &str, png: Vec<u8>| {
        let path = folder.join(name);
        std::fs::write(&path, png).unwrap();
        eprintln!("wrote {}", path.display());
    }
}

/// The program on `PATH`, if there is one.
pub fn find_program(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return Path::new(program).is_file().then(|| PathBuf::from(program));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|candidate| candidate.is_file())
}

/// A port of 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// The text a QR code in a PNG carries.
pub fn decode_qr(png: &[u8]) -> String {
    let image = image::load_from_memory(png).expect("a PNG").to_luma8();
    let (w, h) = image.dimensions();
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w as usize, h as usize, |x, y| {
        image.get_pixel(x as u32, y as u32)[0]
    });
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on the screen");
    grids[0].decode().expect("a readable QR code").1
}

/// What the browser window is like.
#[derive(Debug, Clone, Copy)]
pub struct Screen {
    /// Width in CSS pixels.
    pub width: u32,
    /// Height in CSS pixels.
    pub height: u32,
    /// Device pixels per CSS pixel, and a phone's touch screen and mobile viewport, if set.
    pub phone_pixel_ratio: Option<f64>,
}

impl Screen {
    /// A desktop window.
    pub fn desktop(width: u32, height: u32) -> Self {
        Self { width, height, phone_pixel_ratio: None }
    }

    /// A phone: a mobile viewport with touch, `pixel_ratio` device pixels per CSS pixel.
    pub fn phone(width: u32, height: u32, pixel_ratio: f64) -> Self {
        Self { width, height, phone_pixel_ratio: Some(pixel_ratio) }
    }
}

/// A running chromedriver and one browser session.
pub struct Browser {
    session: String,
    base: String,
    agent: ureq::Agent,
    driver: Child,
    profile: tempfile::TempDir,
}

/// An element of the current page.
pub struct Element<'a> {
    browser: &'a Browser,
    id: String,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session showing `screen`.
    pub fn start(screen: Screen) -> Self {
        Self::start_with(screen, true)
    }

    /// [`Browser::start`] with JavaScript turned off for every page (the browser's content
    /// setting), as a user may have it.
    pub fn start_without_javascript(screen: Screen) -> Self {
        Self::start_with(screen, false)
    }

    fn start_with(screen: Screen, javascript: bool) -> Self {
        let chromedriver = require_program("chromedriver", "chromium chromium-driver");
        let chromium = ["chromium", "chromium-browser", "google-chrome"]
            .iter()
            .find_map(|name| find_program(name))
            .unwrap_or_else(|| require_program("chromium", "chromium chromium-driver"));
        let profile = tempfile::tempdir().expect("browser profile folder");
        let port = free_port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", profile.path().join("chromedriver.log").display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let agent = ureq::Agent::new_with_config(
            ureq::config::Config::builder()
                .http_status_as_error(false)
                .proxy(None)
                .timeout_global(Some(Duration::from_secs(90)))
                .build(),
        );
        let mut browser =
            Browser { session: String::new(), base: format!("http://127.0.0.1:{port}"), agent, driver, profile };
        browser.wait_until_driver_ready();

        let mut args = vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--no-default-browser-check".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--hide-scrollbars".to_owned(),
            "--lang=en-US".to_owned(),
            format!("--user-data-dir={}", browser.profile.path().join("profile").display()),
            format!("--window-size={},{}", screen.width, screen.height),
        ];
        let mut options = json!({"binary": chromium, "args": []});
        if let Some(ratio) = screen.phone_pixel_ratio {
            options["mobileEmulation"] = json!({
                "deviceMetrics": {"width": screen.width, "height": screen.height, "pixelRatio": ratio, "mobile": true, "touch": true},
            });
        } else {
            args.push("--force-device-scale-factor=1".to_owned());
        }
        options["args"] = json!(args);
        if !javascript {
            options["prefs"] = json!({"profile.managed_default_content_settings.javascript": 2});
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": options,
            "pageLoadStrategy": "normal",
            "timeouts": {"pageLoad": PATIENCE.as_millis() as u64, "script": PATIENCE.as_millis() as u64, "implicit": 0},
        }}});
        let created = browser.call("POST", "/session", Some(capabilities));
        browser.session = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromedriver made no session: {created}"))
            .to_owned();
        browser
    }

    /// Waits until chromedriver answers `/status` as ready.
    fn wait_until_driver_ready(&mut self) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let ready = self
                .agent
                .get(format!("{}/status", self.base))
                .call()
                .ok()
                .and_then(|r| r.into_body().read_to_string().ok())
                .and_then(|text| serde_json::from_str::<Value>(&text).ok())
                .is_some_and(|v| v["value"]["ready"] == true);
            if ready {
                return;
            }
            if let Ok(Some(status)) = self.driver.try_wait() {
                panic!("chromedriver exited ({status}): {}", self.driver_log());
            }
            assert!(Instant::now() < deadline, "chromedriver did not get ready: {}", self.driver_log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What chromedriver wrote to its log, for failure messages.
    pub fn driver_log(&self) -> String {
        std::fs::read_to_string(self.profile.path().join("chromedriver.log")).unwrap_or_default()
    }

    /// One WebDriver command; its `value`, or a panic that says what failed.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.try_call(method, path, body).unwrap_or_else(|error| panic!("WebDriver {method} {path}: {error}"))
    }

    /// One WebDriver command: its `value`, or the WebDriver error (`no such element`, …).
    fn try_call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        let request = ureq::http::Request::builder().method(method).uri(&url);
        let request = match body {
            Some(body) => request.header("Content-Type", "application/json").body(body.to_string()),
            None => request.body(String::new()),
        }
        .map_err(|e| e.to_string())?;
        let response = self.agent.run(request).map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let text =
            response.into_body().with_config().limit(64 * 1024 * 1024).read_to_string().map_err(|e| e.to_string())?;
        let answer: Value = serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))?;
        if status == 200 {
            Ok(answer["value"].clone())
        } else {
            Err(format!("{} ({status}): {}", answer["value"]["error"], answer["value"]["message"]))
        }
    }

    /// A command of this session.
    fn session_call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), body)
    }

    /// Opens `url` and waits until it has loaded.
    pub fn goto(&self, url: &str) {
        self.session_call("POST", "/url", Some(json!({"url": url})));
    }

    /// The address of the current page.
    pub fn url(&self) -> String {
        self.session_call("GET", "/url", None).as_str().unwrap_or_default().to_owned()
    }

    /// The current page's title.
    pub fn title(&self) -> String {
        self.session_call("GET", "/title", None).as_str().unwrap_or_default().to_owned()
    }

    /// The current page's HTML as the browser has it now.
    pub fn source(&self) -> String {
        self.session_call("GET", "/source", None).as_str().unwrap_or_default().to_owned()
    }

    /// The first element matching the CSS selector, if any.
    pub fn try_find(&self, css: &str) -> Option<Element<'_>> {
        let path = format!("/session/{}/element", self.session);
        let found = self.try_call("POST", &path, Some(json!({"using": "css selector", "value": css}))).ok()?;
        Some(Element { browser: self, id: found[ELEMENT].as_str()?.to_owned() })
    }

    /// The first element matching the CSS selector; fails the test (showing the page) when none does.
    pub fn find(&self, css: &str) -> Element<'_> {
        self.try_find(css).unwrap_or_else(|| panic!("no `{css}` on {}:\n{}", self.url(), self.visible_text()))
    }

    /// Every element matching the CSS selector.
    pub fn find_all(&self, css: &str) -> Vec<Element<'_>> {
        let found = self.session_call("POST", "/elements", Some(json!({"using": "css selector", "value": css})));
        found
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e[ELEMENT].as_str())
            .map(|id| Element { browser: self, id: id.to_owned() })
            .collect()
    }

    /// Waits until an element matches the CSS selector, and returns it.
    pub fn wait_for(&self, css: &str) -> Element<'_> {
        self.wait_until(&format!("`{css}` to appear"), |b| b.try_find(css).is_some());
        self.find(css)
    }

    /// Waits until `ready` holds for the browser; fails the test, showing the page, when it
    /// does not within [`PATIENCE`].
    pub fn wait_until(&self, what: &str, ready: impl Fn(&Browser) -> bool) {
        let deadline = Instant::now() + PATIENCE;
        while !ready(self) {
            assert!(Instant::now() < deadline, "waited in vain for {what} on {}:\n{}", self.url(), self.visible_text());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The text a person sees on the page.
    pub fn visible_text(&self) -> String {
        self.try_find("body").map(|body| body.text()).unwrap_or_default()
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page, and returns its value.
    pub fn execute(&self, script: &str, args: Value) -> Value {
        self.session_call("POST", "/execute/sync", Some(json!({"script": script, "args": args})))
    }

    /// A PNG of what the window shows now.
    pub fn screenshot(&self) -> Vec<u8> {
        decode_png(&self.session_call("GET", "/screenshot", None))
    }

    /// Resizes the window (CSS pixels, desktop screens), frame included.
    pub fn set_window_size(&self, width: u32, height: u32) {
        self.session_call("POST", "/window/rect", Some(json!({"width": width, "height": height})));
    }

    /// Resizes the window so that the page itself gets `width` × `height` CSS pixels (the
    /// headless window keeps a frame, so its outer size is larger).
    pub fn set_viewport_size(&self, width: u32, height: u32) {
        self.set_window_size(width, height);
        let inner = self.execute("return [window.innerWidth, window.innerHeight];", json!([]));
        let frame = |i: usize, wanted: u32| wanted.saturating_sub(inner[i].as_u64().unwrap_or(wanted.into()) as u32);
        self.set_window_size(width + frame(0, width), height + frame(1, height));
    }

    /// Adds a virtual authenticator (WebDriver's WebAuthn extension): a platform authenticator
    /// that keeps passkeys and verifies its user, as a phone or Windows Hello does. Its id.
    pub fn add_virtual_authenticator(&self) -> String {
        let options = json!({
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": true,
            "hasUserVerification": true,
            "isUserVerified": true,
        });
        let added = self.session_call("POST", "/webauthn/authenticator", Some(options));
        added.as_str().unwrap_or_else(|| panic!("no authenticator id: {added}")).to_owned()
    }

    /// Removes a virtual authenticator, with the passkeys it holds.
    pub fn remove_virtual_authenticator(&self, id: &str) {
        self.session_call("DELETE", &format!("/webauthn/authenticator/{id}"), None);
    }

    /// The credentials a virtual authenticator holds (each with its `credentialId`, `rpId`,
    /// `signCount`).
    pub fn virtual_credentials(&self, authenticator: &str) -> Vec<Value> {
        let held = self.session_call("GET", &format!("/webauthn/authenticator/{authenticator}/credentials"), None);
        held.as_array().cloned().unwrap_or_default()
    }

    /// The browser's cookies of the current page, as `name` → `value`.
    pub fn cookies(&self) -> Vec<(String, String)> {
        let cookies = self.session_call("GET", "/cookie", None);
        cookies
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                (c["name"].as_str().unwrap_or_default().to_owned(), c["value"].as_str().unwrap_or_default().to_owned())
            })
            .collect()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            // Ends Chromium; errors do not matter any more, the driver is stopped next.
            drop(self.try_call("DELETE", &format!("/session/{}", self.session), None));
        }
        drop(self.driver.kill());
        drop(self.driver.wait());
    }
}

impl Element<'_> {
    fn call(&self, method: &str, what: &str, body: Option<Value>) -> Value {
        self.browser.session_call(method, &format!("/element/{}{what}", self.id), body)
    }

    /// Types `text` into the element, as keystrokes.
    pub fn type_text(&self, text: &str) {
        self.call("POST", "/value", Some(json!({"text": text})));
    }

    /// Empties an input.
    pub fn clear(&self) {
        self.call("POST", "/clear", Some(json!({})));
    }

    /// Clicks the element (and waits for a page it opens to load).
    pub fn click(&self) {
        self.call("POST", "/click", Some(json!({})));
    }

    /// The element's visible text.
    pub fn text(&self) -> String {
        self.call("GET", "/text", None).as_str().unwrap_or_default().to_owned()
    }

    /// An attribute as written in the page, if present.
    pub fn attribute(&self, name: &str) -> Option<String> {
        self.call("GET", &format!("/attribute/{name}"), None).as_str().map(str::to_owned)
    }

    /// A DOM property (e.g. `value`, `naturalWidth`).
    pub fn property(&self, name: &str) -> Value {
        self.call("GET", &format!("/property/{name}"), None)
    }

    /// Whether a person can see it.
    pub fn is_displayed(&self) -> bool {
        self.call("GET", "/displayed", None).as_bool().unwrap_or(false)
    }

    /// Its position and size in CSS pixels: (x, y, width, height).
    pub fn rect(&self) -> (f64, f64, f64, f64) {
        let rect = self.call("GET", "/rect", None);
        let number = |key: &str| rect[key].as_f64().unwrap_or_default();
        (number("x"), number("y"), number("width"), number("height"))
    }

    /// A PNG of just this element.
    pub fn screenshot(&self) -> Vec<u8> {
        decode_png(&self.call("GET", "/screenshot", None))
    }

    /// Selects the option with this value in a `<select>`.
    pub fn select_value(&self, value: &str) {
        let option = self
            .browser
            .session_call(
                "POST",
                &format!("/element/{}/element", self.id),
                Some(json!({"using": "css selector", "value": format!("option[value=\"{value}\"]")})),
            )
            .get(ELEMENT)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no option {value}"));
        Element { browser: self.browser, id: option }.click();
    }
}

fn decode_png(value: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(value.as_str().unwrap_or_default()).expect("screenshot base64")
}
