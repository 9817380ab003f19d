//! The Windows Event Log as a `tracing` layer: each event it is given becomes an entry of the
//! Application log under the source `mailmfa` (which the MSI registers with plain Registry rows),
//! an error, a warning or an information entry by its level. The log's filter decides what comes
//! here: warnings, errors, and the start and stop lines (docs/DESIGN.md §13).
//!
//! The calls into `advapi32` are this module's only `unsafe`: each passes a handle the system gave
//! and strings that live across the call.

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use windows_sys::Win32::System::EventLog::{
    EVENTLOG_ERROR_TYPE, EVENTLOG_INFORMATION_TYPE, EVENTLOG_WARNING_TYPE, RegisterEventSourceW, ReportEventW,
};

/// The event source, as the MSI registers it.
const SOURCE: &str = "mailmfa";

/// A registered event source. The handle is kept as a number: the system's event log handles may
/// be used from any thread, and it stays open for the process's life.
pub struct EventLog {
    source: usize,
}

impl EventLog {
    /// Opens the source `mailmfa` on this machine; `None` when the system refuses.
    pub fn open() -> Option<Self> {
        let name: Vec<u16> = SOURCE.encode_utf16().chain(Some(0)).collect();
        // SAFETY: `name` is a NUL-terminated UTF-16 string that outlives the call; a null server
        // name means this machine.
        let handle = unsafe { RegisterEventSourceW(std::ptr::null(), name.as_ptr()) };
        (!handle.is_null()).then_some(Self { source: handle as usize })
    }

    fn report(&self, level: Level, text: &str) {
        let kind = match level {
            Level::ERROR => EVENTLOG_ERROR_TYPE,
            Level::WARN => EVENTLOG_WARNING_TYPE,
            _ => EVENTLOG_INFORMATION_TYPE,
        };
        let wide: Vec<u16> = text.encode_utf16().chain(Some(0)).collect();
        let strings = [wide.as_ptr()];
        // SAFETY: the handle came from RegisterEventSourceW and is never closed; `strings` holds
        // one NUL-terminated UTF-16 string, alive for the call; no user SID and no raw data.
        // An entry the system does not take is lost: there is nowhere else to say so.
        unsafe {
            ReportEventW(self.source as _, kind, 0, 1, std::ptr::null_mut(), 1, 0, strings.as_ptr(), std::ptr::null());
        }
    }
}

impl<S: Subscriber> Layer<S> for EventLog {
    fn on_event(&self, event: &Event<'_>, _context: Context<'_, S>) {
        let mut text = Text::default();
        event.record(&mut text);
        self.report(*event.metadata().level(), &format!("{}{}", text.message, text.fields));
    }
}

/// An event as one line: its message, then `name=value` for each other field.
#[derive(Default)]
struct Text {
    message: String,
    fields: String,
}

impl Visit for Text {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.fields.push_str(&format!(" {}={value}", field.name()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message.push_str(&format!("{value:?}"));
        } else {
            self.fields.push_str(&format!(" {}={value:?}", field.name()));
        }
    }
}
