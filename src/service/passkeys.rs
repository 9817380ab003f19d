//! A mailbox's passkeys as administrators handle them: listed (never the keys), and removed one
//! by one, audited. Registering and signing in with them is the login gate's (`engine`).

use super::admin::existing_mailbox;
use super::{Service, ServiceError, ServiceResult};
use crate::domain::{MailboxAddress, Passkey, PasskeyName};

impl Service {
    /// The mailbox's passkeys, by name.
    pub fn passkeys(&self, address: &MailboxAddress) -> ServiceResult<Vec<Passkey>> {
        self.store.read(|tx| {
            let mailbox = existing_mailbox(tx, address)?;
            Ok(tx.passkeys(mailbox.id)?.into_iter().map(|row| row.shown).collect())
        })
    }

    /// Removes a passkey: the next sign-in with it is refused, on every server. Audited. A passkey
    /// mailbox left without one registers a new passkey at its next login.
    pub fn remove_passkey(&self, address: &MailboxAddress, name: &PasskeyName) -> ServiceResult<()> {
        let shown = address.to_string();
        self.audited("mailbox.passkey_remove", Some(&shown), |tx| {
            let mailbox = existing_mailbox(tx, address)?;
            if !tx.delete_passkey(mailbox.id, name)? {
                return Err(ServiceError::NoPasskey { address: address.clone(), name: name.clone() });
            }
            Ok(((), format!("name={:?}", name.as_str())))
        })
    }
}
