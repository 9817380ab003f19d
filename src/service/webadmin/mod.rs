//! Web administrators (docs/DESIGN.md §12): their accounts (`accounts.rs`: added, listed,
//! removed and reset from the command line, each with a one-time set-up link), the set-up and the
//! sign-in with password and code under the mailboxes' lock rule (`signin.rs`), and what a signed-in
//! administrator may do (`scoped.rs`): every call made for one carries who they are, and a
//! post-office administrator's call outside their post offices is refused here and audited.

mod accounts;
mod scoped;
mod signin;

pub use accounts::{ADMIN_SETUP_HOURS, AdminSetupLink};
pub use scoped::Scoped;
pub use signin::{AdminSession, AdminSignedIn, SetupStep};

use zeroize::Zeroizing;

use super::crypto::to_hex;
use super::{Service, ServiceResult};

/// A random token of 24 bytes as 48 hex digits: set-up links, sessions, CSRF tokens.
fn new_token(service: &Service) -> ServiceResult<Zeroizing<String>> {
    let mut bytes = Zeroizing::new([0u8; 24]);
    service.world.random.fill(bytes.as_mut())?;
    Ok(Zeroizing::new(to_hex(bytes.as_ref())))
}

/// The actor of an administrator's actions in the audit log.
fn actor_of(name: &crate::domain::AdminName) -> crate::domain::Actor {
    crate::domain::Actor::Web(name.to_string())
}
