//! The real `mailmfa serve` in a child process on 127.0.0.1, and a real HTTP client to call it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use serde_json::Value;

use super::TestEnv;

/// A running `mailmfa serve`; killed when dropped.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT` (or https).
    pub base: String,
    /// What it wrote to stderr (its log), line by line.
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts `mailmfa serve --listen 127.0.0.1:0` (plus `args`) on the environment's store and
    /// waits until it listens.
    pub fn start(env: &TestEnv, args: &[&str]) -> Self {
        Self::try_start(env, args).unwrap_or_else(|stderr| panic!("serve did not start: {stderr}"))
    }

    /// [`Server::start`] with these environment variables set too.
    pub fn start_with(env: &TestEnv, args: &[&str], vars: &[(&str, &str)]) -> Self {
        Self::try_start_with(env, args, vars).unwrap_or_else(|stderr| panic!("serve did not start: {stderr}"))
    }

    /// Starts the server, or returns what it printed when it did not listen.
    pub fn try_start(env: &TestEnv, args: &[&str]) -> Result<Self, String> {
        Self::try_start_with(env, args, &[])
    }

    fn try_start_with(env: &TestEnv, args: &[&str], vars: &[(&str, &str)]) -> Result<Self, String> {
        let listen = if args.contains(&"--listen") { vec![] } else { vec!["--listen", "127.0.0.1:0"] };
        let mut child = env
            .command()
            .envs(vars.iter().copied())
            .arg("serve")
            .args(listen)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start mailmfa serve");
        let stderr = child.stderr.take().expect("stderr");
        let (lines, arrived) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let mut seen = String::new();
        loop {
            match arrived.recv_timeout(Duration::from_secs(30)) {
                Ok(line) => {
                    if let Some(url) = line.split("listening on ").nth(1) {
                        let base = url.split_whitespace().next().unwrap_or_default().to_owned();
                        let log = Arc::new(Mutex::new(seen.lines().map(str::to_owned).collect::<Vec<_>>()));
                        // Keep draining stderr so the server never blocks on a full pipe.
                        let kept = Arc::clone(&log);
                        std::thread::spawn(move || {
                            while let Ok(line) = arrived.recv() {
                                kept.lock().unwrap().push(line);
                            }
                        });
                        return Ok(Self { child, base, log });
                    }
                    seen.push_str(&line);
                    seen.push('\n');
                }
                Err(_) => {
                    drop(child.kill());
                    drop(child.wait());
                    return Err(seen);
                }
            }
        }
    }

    /// The URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Its log so far (stderr), waiting until it holds `wanted` (at most ten seconds): the line
    /// of a request is written just after its answer.
    pub fn log_once_it_has(&self, wanted: &str) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.log.lock().unwrap().join("\n");
            if log.contains(wanted) || std::time::Instant::now() > deadline {
                return log;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Asks the server to stop (SIGTERM) and waits; returns its exit status.
    pub fn stop(mut self) -> Option<i32> {
        let status = std::process::Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        assert!(status.is_ok_and(|s| s.success()), "kill -TERM failed");
        self.child.wait().ok().and_then(|s| s.code())
    }

    /// Kills the server at once (SIGKILL), as a crash would.
    pub fn crash(mut self) {
        drop(self.child.kill());
        drop(self.child.wait());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.child.kill());
        drop(self.child.wait());
    }
}

/// An HTTP client that never uses a proxy and returns every status as an answer.
pub fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::config::Config::builder()
            .http_status_as_error(false)
            .proxy(None)
            .timeout_global(Some(Duration::from_secs(30)))
            .build(),
    )
}

/// An answer: its status, its JSON body (Null if none), its `Retry-After` and `X-Request-Id`, and
/// the body as text.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub json: Value,
    pub retry_after: Option<String>,
    pub content_type: Option<String>,
    pub request_id: Option<String>,
    pub text: String,
}

/// Calls `method url` with an optional bearer key and JSON body.
pub fn call(agent: &ureq::Agent, method: &str, url: &str, key: Option<&str>, body: Option<&str>) -> Answer {
    call_with(agent, method, url, key, &[], body)
}

/// [`call`] with more headers.
pub fn call_with(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    key: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Answer {
    let mut request = ureq::http::Request::builder().method(method).uri(url);
    if let Some(key) = key {
        request = request.header("Authorization", format!("Bearer {key}"));
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if body.is_some() {
        request = request.header("Content-Type", "application/json");
    }
    let request = request.body(body.unwrap_or("").to_owned()).expect("request");
    let response = agent.run(request).unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    answer(response)
}

/// The parts of a response the tests look at.
pub fn answer(response: ureq::http::Response<ureq::Body>) -> Answer {
    let status = response.status().as_u16();
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let retry_after = header("retry-after");
    let content_type = header("content-type");
    let request_id = header("x-request-id");
    let text = response.into_body().read_to_string().unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer { status, json, retry_after, content_type, request_id, text }
}

/// A TCP connection to the server from `source`, another loopback address than 127.0.0.1 (as a
/// caller on another host comes).
pub fn connect_from(source: IpAddr, server: &Server) -> TcpStream {
    let target: SocketAddr = server.base.trim_start_matches("http://").parse().expect("the server's address");
    let socket =
        socket2::Socket::new(socket2::Domain::for_address(target), socket2::Type::STREAM, None).expect("socket");
    socket.bind(&SocketAddr::new(source, 0).into()).expect("bind the source address");
    socket.connect(&target.into()).expect("connect");
    socket.into()
}

/// `method path` from `source` over a connection of its own, with `headers` and a JSON `body`.
pub fn call_from(
    source: IpAddr,
    server: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Answer {
    let mut stream = connect_from(source, server);
    stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        request.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    request.push_str(body.unwrap_or(""));
    stream.write_all(request.as_bytes()).expect("send the request");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("read the answer");
    let (head, text) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let header = |name: &str| {
        head.lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
    };
    let json = serde_json::from_str(text).unwrap_or(Value::Null);
    Answer {
        status,
        json,
        retry_after: header("retry-after"),
        content_type: header("content-type"),
        request_id: header("x-request-id"),
        text: text.to_owned(),
    }
}
