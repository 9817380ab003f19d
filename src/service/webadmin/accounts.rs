//! Web administrators' accounts: added with a one-time set-up link (24 hours, single use; only its
//! keyed hash is kept), listed, removed, and reset (a new link; the password, the app, the
//! recovery codes and the sessions are forgotten). Each change audited.

use zeroize::Zeroizing;

use super::new_token;
use crate::domain::{AdminName, AdminRole, Administrator, PostOfficeName, check_admin_scope};
use crate::service::admin::existing_postoffice;
use crate::service::{Service, ServiceError, ServiceResult};

/// How long a set-up link works.
pub const ADMIN_SETUP_HOURS: i64 = 24;

/// What binds a set-up token's keyed hash.
pub(super) const SETUP_CONTEXT: &str = "admin_setup";

/// An administrator just added or reset, and the token of their set-up link (shown this once).
pub struct AdminSetupLink {
    /// The administrator.
    pub admin: Administrator,
    /// The token: the link is `…/admin/setup/TOKEN`.
    pub token: Zeroizing<String>,
}

impl AdminSetupLink {
    /// The link under `base` (the public URL, or `http://` and the listen address).
    pub fn url(&self, base: &str) -> String {
        format!("{}/admin/setup/{}", base.trim_end_matches('/'), self.token.as_str())
    }
}

impl Service {
    /// Adds a web administrator and returns their set-up link.
    pub fn add_admin(
        &self,
        name: &AdminName,
        role: AdminRole,
        postoffices: &[PostOfficeName],
    ) -> ServiceResult<AdminSetupLink> {
        check_admin_scope(role, postoffices)?;
        let token = new_token(self)?;
        let now = self.now();
        let admin = Administrator {
            name: name.clone(),
            role,
            postoffices: postoffices.to_vec(),
            set_up: false,
            created_at: now,
            locked_until: None,
        };
        self.audited("admin.add", None, |tx| {
            for postoffice in postoffices {
                existing_postoffice(tx, postoffice)?;
            }
            let hash = tx.key().code_hash(SETUP_CONTEXT, &token);
            if !tx.insert_admin(&admin, &hash, now + ADMIN_SETUP_HOURS * 3600)? {
                return Err(ServiceError::AdminExists(name.clone()));
            }
            Ok(((), format!("admin={name} role={role} postoffices={}", shown_postoffices(postoffices))))
        })?;
        Ok(AdminSetupLink { admin, token })
    }

    /// The absolute address of a set-up link: under `serve.public_url`, else `http://` and
    /// `serve.listen` (what a browser reaches the service at, as far as the store knows).
    pub fn admin_setup_url(&self, link: &AdminSetupLink) -> ServiceResult<String> {
        let settings = self.typed_settings()?;
        let base = match settings.serve_public_url.trim_end_matches('/') {
            "" => format!("http://{}", settings.serve_listen),
            url => url.to_owned(),
        };
        Ok(link.url(&base))
    }

    /// Every web administrator, by name.
    pub fn admins(&self) -> ServiceResult<Vec<Administrator>> {
        Ok(self.store.read(|tx| tx.admins())?.into_iter().map(|row| row.admin).collect())
    }

    /// Removes a web administrator: their sessions end at once.
    pub fn remove_admin(&self, name: &AdminName) -> ServiceResult<()> {
        self.audited("admin.remove", None, |tx| {
            if !tx.delete_admin(name)? {
                return Err(ServiceError::NoAdmin(name.clone()));
            }
            Ok(((), format!("admin={name}")))
        })
    }

    /// Starts an administrator's set-up again (a lost phone, a forgotten password): a new link;
    /// their password, app, recovery codes and sessions stop working at once.
    pub fn reset_admin(&self, name: &AdminName) -> ServiceResult<AdminSetupLink> {
        let token = new_token(self)?;
        let now = self.now();
        let admin = self.audited("admin.reset", None, |tx| {
            let hash = tx.key().code_hash(SETUP_CONTEXT, &token);
            if !tx.reset_admin(name, &hash, now + ADMIN_SETUP_HOURS * 3600)? {
                return Err(ServiceError::NoAdmin(name.clone()));
            }
            let row = tx.admin(name)?.ok_or_else(|| ServiceError::NoAdmin(name.clone()))?;
            Ok((row.admin, format!("admin={name}; a new set-up link, the old credentials void")))
        })?;
        Ok(AdminSetupLink { admin, token })
    }
}

/// Post offices as the audit log shows them.
fn shown_postoffices(postoffices: &[PostOfficeName]) -> String {
    if postoffices.is_empty() {
        "all".to_owned()
    } else {
        postoffices.iter().map(PostOfficeName::as_str).collect::<Vec<_>>().join(",")
    }
}
