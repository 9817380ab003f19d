//! How command results reach the terminal: a table or sentence for people, one JSON value for
//! scripts. The only place in the crate that writes to stdout and stderr. A reader that goes away
//! early (`mailmfa audit | head -1`) is not an error: the rest of the output is dropped and the exit
//! status stays the command's.

use std::io::Write;

use serde_json::Value;

use crate::clock::{UnixTime, format_utc};

/// A command's result, printable both ways.
#[derive(Debug)]
pub struct Output {
    text: String,
    json: Value,
    status: u8,
}

impl Output {
    /// A result that is a table or a block of text.
    pub fn data(text: String, json: Value) -> Self {
        Self { text, json, status: 0 }
    }

    /// A result that is one sentence.
    pub fn done(sentence: String, json: Value) -> Self {
        Self { text: format!("{sentence}\n"), json, status: 0 }
    }

    /// A refusal (exit status 1) that still prints its answer.
    pub fn refused(text: String, json: Value) -> Self {
        Self { text: format!("{text}\n"), json, status: 1 }
    }

    /// A value as the JSON a command prints.
    pub fn json_of(value: &impl serde::Serialize) -> Result<Value, super::CliError> {
        serde_json::to_value(value).map_err(super::CliError::internal)
    }

    /// The exit status.
    pub fn status(&self) -> u8 {
        self.status
    }

    /// Prints to stdout.
    pub fn print(&self, json: bool) {
        let mut out = std::io::stdout().lock();
        let written = if json { writeln!(out, "{}", self.json) } else { write!(out, "{}", self.text) };
        // A closed stdout (the reader went away) leaves nothing to report to.
        drop(written.and_then(|()| out.flush()));
    }
}

/// Prints a line about what a long-running command is doing to stderr.
pub fn print_note(message: &str) {
    drop(writeln!(std::io::stderr().lock(), "mailmfa: {message}"));
}

/// Prints an error, and the hint that goes with it, to stderr: one line, as a script reads it.
pub fn print_error(message: &str, hint: Option<&str>) {
    let line = match hint {
        Some(hint) => format!("mailmfa: {message} — {hint}"),
        None => format!("mailmfa: {message}"),
    };
    drop(writeln!(std::io::stderr().lock(), "{line}"));
}

/// A time as the tables show it.
pub fn when(t: UnixTime) -> String {
    format_utc(t)
}

/// `text` cut to `width` characters, with `…` where it was cut.
pub fn shorten(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    text.chars().take(width.saturating_sub(1)).collect::<String>() + "…"
}

/// `text` broken between words into lines of at most `width` characters (a longer word gets a
/// line of its own).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_owned()),
        }
    }
    lines
}

/// Lays out rows under headers, columns padded to their widest cell.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (cell, w) in cells.zip(&widths) {
            text.push_str(cell);
            text.push_str(&" ".repeat(w.saturating_sub(cell.chars().count()) + 2));
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut headers.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
    if rows.is_empty() {
        out.push_str("(none)\n");
    }
    out
}
