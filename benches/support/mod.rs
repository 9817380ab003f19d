//! What the benchmarks that run the real `mailmfa` binary share: a command on the benchmark's
//! store, and `mailmfa serve` on a free port of 127.0.0.1, stopped when dropped. Each benchmark
//! uses part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::thread;

/// Runs `mailmfa ARGS` on the store `bench.sqlite3` in `dir` (its keys in `dir/keys`), which must
/// succeed.
pub fn mailmfa(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_mailmfa"))
        .args(["--store", dir.join("bench.sqlite3").to_str().unwrap()])
        .args(args)
        .env("MAILMFA_KEY_DIR", dir.join("keys"))
        .output()
        .unwrap();
    assert!(out.status.success(), "mailmfa {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// A running `mailmfa serve`, stopped when dropped (also when the benchmark panics).
pub struct ServerProcess {
    child: Child,
    /// Where it listens, `127.0.0.1:PORT`.
    pub listen: String,
    /// Its base URL, `http://127.0.0.1:PORT`, also its hosted pages' public address.
    pub base: String,
}

impl ServerProcess {
    /// Its process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        drop(self.child.kill());
        drop(self.child.wait());
    }
}

/// Starts `mailmfa serve` with `extra` arguments on a free port of 127.0.0.1, its hosted pages at
/// that address, and waits until it listens.
pub fn start_server(dir: &Path, extra: &[&str]) -> ServerProcess {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    mailmfa(dir, &["settings", "set", "serve.public_url", &format!("http://{listen}/")]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_mailmfa"))
        .args(["--store", dir.join("bench.sqlite3").to_str().unwrap(), "serve", "--listen", &listen])
        .args(extra)
        .env("MAILMFA_KEY_DIR", dir.join("keys"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("serve printed nothing").unwrap();
        if let Some(url) = line.split("listening on ").nth(1) {
            break url.split_whitespace().next().unwrap().to_owned();
        }
    };
    // Keep draining its log so that the server never blocks on a full pipe.
    thread::spawn(move || lines.for_each(drop));
    ServerProcess { child, listen, base }
}
