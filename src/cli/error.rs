//! [`CliError`]: a failed command's exit status, its message, and a hint in the command line's own
//! terms (`--with-mailboxes`, `mailmfa key import`). The service states what went wrong; what to
//! type about it is this face's to say, as the console says it with its own menus.

use crate::domain::DomainError;
use crate::service::{ServiceError, StoreError, StoreMode};

/// A failed command.
#[derive(Debug)]
pub struct CliError {
    /// 1 for a refusal, 2 for anything else.
    pub status: u8,
    /// What went wrong, on one line.
    pub message: String,
    /// What to type about it, if anything helps.
    pub hint: Option<String>,
}

impl CliError {
    /// Bad use of a command (exit status 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self { status: 2, message: message.into(), hint: None }
    }

    /// A failure inside mailmfa (exit status 2).
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self { status: 2, message: format!("internal error: {e}"), hint: None }
    }

    /// Prints the message and the hint to stderr.
    pub fn print(&self) {
        super::output::print_error(&self.message, self.hint.as_deref());
    }
}

impl From<ServiceError> for CliError {
    fn from(e: ServiceError) -> Self {
        let status = if e.is_refusal() { 1 } else { 2 };
        Self { status, message: one_line(&e.to_string()), hint: hint(&e) }
    }
}

impl From<DomainError> for CliError {
    fn from(e: DomainError) -> Self {
        ServiceError::from(e).into()
    }
}

/// Keeps a message on one line, whatever a lower layer put in it.
pub fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What the command line suggests for an error, if anything.
fn hint(e: &ServiceError) -> Option<String> {
    Some(match e {
        ServiceError::UnknownPostOffice(name) => format!("add it with `mailmfa postoffice add {name}`"),
        ServiceError::PostOfficeNotEmpty { name, .. } => {
            format!("remove its mailboxes first, or with it: `mailmfa postoffice remove {name} --with-mailboxes`")
        }
        ServiceError::NotAStore(_) => "point --store at the shared store this key belongs to".to_owned(),
        ServiceError::Store(store) => return store_hint(store),
        _ => return None,
    })
}

fn store_hint(e: &StoreError) -> Option<String> {
    Some(match e {
        StoreError::MissingKey { .. } => "import it with `mailmfa key import FILE`, using a file made by \
                                          `mailmfa key export FILE` on a server that opens this store"
            .to_owned(),
        StoreError::WrongKey { .. } => "import the right key with `mailmfa key import FILE`".to_owned(),
        StoreError::NotAStore { .. } => "point --store at a mailmfa store, or at a path where none exists yet \
                                         (or an empty database) to create one"
            .to_owned(),
        StoreError::ModeMismatch { recorded, .. } => format!(
            "switch it with `mailmfa store mode {}` on the one server that uses it now, or open it {}",
            recorded.other(),
            match recorded {
                StoreMode::Local => "without --shared",
                StoreMode::Shared => "with --shared",
            }
        ),
        StoreError::NotEmpty { .. } => {
            "copy into a new file or an empty database, or give --replace to replace what it holds".to_owned()
        }
        _ => return None,
    })
}
