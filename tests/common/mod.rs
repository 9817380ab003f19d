//! Helpers shared by the integration tests: a temporary store and key folder, and the real
//! `mailmfa` binary run against them.
#![allow(dead_code)]

pub mod http_server;
pub mod serve;
pub mod smtp_server;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use mailmfa::clock::FixedClock;
use mailmfa::service::{KeyFolder, Service, StoreLocation};

/// A temporary folder holding a store file and a key folder.
pub struct TestEnv {
    pub dir: tempfile::TempDir,
}

/// What one run of the binary printed.
pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The stdout parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }
}

impl TestEnv {
    pub fn new() -> Self {
        Self { dir: tempfile::tempdir().expect("temp dir") }
    }

    pub fn store_path(&self) -> PathBuf {
        self.dir.path().join("store.sqlite3")
    }

    pub fn key_dir(&self) -> PathBuf {
        self.dir.path().join("keys")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn keys(&self) -> KeyFolder {
        KeyFolder::new(self.key_dir())
    }

    pub fn location(&self) -> StoreLocation {
        StoreLocation::new(self.store_path(), false)
    }

    /// Opens the store in-process, as an administrator named `test` at a fixed time.
    pub fn service(&self, now: i64) -> Service {
        self.service_on(Arc::new(FixedClock::new(now)))
    }

    /// Opens the store in-process, as an administrator named `test` on `clock`.
    pub fn service_on(&self, clock: Arc<FixedClock>) -> Service {
        Service::open(&self.location(), &self.keys()).expect("open store").with_actor("test").with_clock(clock)
    }

    /// The binary with this environment's store and key folder.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mailmfa"));
        cmd.env("MAILMFA_STORE", self.store_path()).env("MAILMFA_KEY_DIR", self.key_dir()).env_remove("MAILMFA_CLOCK");
        cmd
    }

    /// Runs the binary with `args`.
    pub fn run(&self, args: &[&str]) -> Run {
        output(self.command().args(args).output().expect("run mailmfa"))
    }

    /// Runs and insists on exit status 0.
    pub fn ok(&self, args: &[&str]) -> Run {
        let run = self.run(args);
        assert_eq!(run.status, 0, "mailmfa {args:?} failed: {}{}", run.stdout, run.stderr);
        run
    }
}

pub fn output(out: Output) -> Run {
    Run {
        status: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Every byte of a file, to search for leaked secrets.
pub fn file_bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_default()
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Runs the binary on this environment's store made read-only: the store file is mode 0400 and,
/// when the tests run as root (whom file modes do not stop), the run is as the unprivileged user
/// `nobody`, owning the environment's files.
#[cfg(unix)]
pub fn run_read_only(env: &TestEnv, args: &[&str]) -> Run {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    const NOBODY: u32 = 65534;
    std::fs::set_permissions(env.store_path(), std::fs::Permissions::from_mode(0o400)).expect("chmod the store");
    let root = std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false);
    let mut cmd = if root {
        chown_tree(env.dir.path(), NOBODY);
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]).arg(env!("CARGO_BIN_EXE_mailmfa"));
        cmd
    } else {
        Command::new(env!("CARGO_BIN_EXE_mailmfa"))
    };
    cmd.env("MAILMFA_STORE", env.store_path()).env("MAILMFA_KEY_DIR", env.key_dir()).env_remove("MAILMFA_CLOCK");
    let run = output(cmd.args(args).output().expect("run mailmfa (setpriv is in util-linux)"));
    if root {
        chown_tree(env.dir.path(), 0);
    }
    run
}

#[cfg(unix)]
fn chown_tree(path: &Path, uid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(uid)).expect("chown");
    if path.is_dir() && !path.is_symlink() {
        for entry in std::fs::read_dir(path).expect("read dir") {
            chown_tree(&entry.expect("dir entry").path(), uid);
        }
    }
}
