//! The login service's log (docs/DESIGN.md §13): `tracing` events written by `tracing-subscriber`,
//! as text or JSON lines, at the level `MAILMFA_LOG` names (`info` unless it says otherwise). On
//! Linux they go to stderr, which journald keeps under the systemd unit; the Windows service adds
//! its own writers (`windows.rs`). What is logged is chosen where it is logged: routes as their
//! templates (never a path with an address or a sign-in id in it), and never a code, a password, a
//! key, a ticket or a cookie.

use std::fmt;
use std::str::FromStr;

use tracing_subscriber::filter::{LevelFilter, Targets};

mod batch;

pub use batch::BatchGuard;

/// The target of the start and stop lines, which the Windows Event Log takes besides warnings and
/// errors.
pub const LIFECYCLE: &str = "mailmfa::lifecycle";

/// The environment variable with the log's level (`warn`, `info`, `debug`; or `target=level,…`).
pub const LEVEL_VARIABLE: &str = "MAILMFA_LOG";

/// How log lines are written: `--log-format text|json`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// One readable line per event.
    #[default]
    Text,
    /// One JSON object per event.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => Err(format!("'{other}' is not a log format: use text or json")),
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Text => "text",
            Self::Json => "json",
        })
    }
}

/// The levels `MAILMFA_LOG` asks for, and what was wrong with it when it could not be read (then
/// the log stays at `info`).
pub fn levels() -> (Targets, Option<String>) {
    let default = Targets::new().with_default(LevelFilter::INFO);
    match std::env::var(LEVEL_VARIABLE) {
        Err(_) => (default, None),
        Ok(raw) if raw.trim().is_empty() => (default, None),
        Ok(raw) => match raw.trim().parse::<Targets>() {
            Ok(targets) => (targets, None),
            Err(e) => (default, Some(format!("{LEVEL_VARIABLE}='{raw}' is not a log level ({e}); logging at info"))),
        },
    }
}

/// Sends the process's log to stderr in `format`. The lines are written by a thread of their own,
/// in batches (`batch.rs`); what is still gathered is written when the returned guard is dropped,
/// so keep it until the process ends. A second call changes nothing (the first subscriber stays).
pub fn to_stderr(format: LogFormat) -> BatchGuard {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let (levels, problem) = levels();
    let (writer, guard) = batch::batched(std::io::stderr());
    let lines = tracing_subscriber::fmt::layer().with_writer(writer).with_ansi(false);
    let installed = match format {
        LogFormat::Text => tracing_subscriber::registry().with(lines.with_filter(levels)).try_init(),
        LogFormat::Json => tracing_subscriber::registry()
            .with(lines.json().flatten_event(true).with_current_span(false).with_filter(levels))
            .try_init(),
    };
    if installed.is_ok()
        && let Some(problem) = problem
    {
        tracing::warn!("{problem}");
    }
    guard
}

/// The Windows service's log: everything (at the levels asked for) in daily files under `folder`,
/// the last 14 kept, written in batches as on stderr (keep the guard until the service ends), and
/// warnings, errors and the start and stop lines in the Windows Event Log.
#[cfg(windows)]
pub fn for_windows_service(format: LogFormat, folder: &std::path::Path) -> Option<BatchGuard> {
    use tracing_appender::rolling::{Builder, Rotation};
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let (levels, problem) = levels();
    let files = Builder::new()
        .rotation(Rotation::DAILY)
        .filename_prefix("mailmfa")
        .filename_suffix("log")
        .max_log_files(14)
        .build(folder);
    let (files, files_problem) = match files {
        Ok(files) => (Some(files), None),
        Err(e) => (None, Some(format!("cannot write the log files in {}: {e}", folder.display()))),
    };
    let (files, guard) = files.map(batch::batched).unzip();
    let lines = files.map(|files| {
        let lines = tracing_subscriber::fmt::layer().with_writer(files).with_ansi(false);
        match format {
            LogFormat::Text => lines.with_filter(levels).boxed(),
            LogFormat::Json => lines.json().flatten_event(true).with_current_span(false).with_filter(levels).boxed(),
        }
    });
    let important = Targets::new().with_default(LevelFilter::WARN).with_target(LIFECYCLE, LevelFilter::INFO);
    let events = super::eventlog::EventLog::open().map(|events| events.with_filter(important));
    if tracing_subscriber::registry().with(lines).with(events).try_init().is_ok() {
        for problem in [problem, files_problem].into_iter().flatten() {
            tracing::warn!("{problem}");
        }
    }
    guard
}
