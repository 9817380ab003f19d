//! The front door: everything the console, the command line and the login service do goes
//! through [`Service`] — administration, the login gate, test sends, opening and creating stores,
//! key import and export, the audit log — and each action is audited here, once.
//!
//! The store, the login engine and the store key live in private modules below this one, so the
//! faces cannot reach past the service: `ui` and `cli` cannot name `Store`, the engine or the key
//! types, and the compiler holds them to it.

mod admin;
mod api;
mod crypto;
mod engine;
mod error;
mod files;
pub mod folders;
mod import;
mod keys;
mod login;
mod mailprog;
mod notify;
mod passkeys;
mod signin;
mod store;
mod webadmin;
mod world;

use std::sync::Arc;

pub use admin::{
    ACCESS_PASS_MINUTES, IssuedAccessPass, MailboxChanges, MailboxDetails, MailboxPage, MailboxQuery,
    PostOfficeChanges, ResetDone, ResetParts, SettingView,
};
pub use api::{
    AddAppPasswordRequest, ApiClient, ApiJob, ApiOutcome, ApiRequest, AppPasswordsView, BeginPasskeyRequest,
    BeginRequest, Begun, CallBudget, CallContext, Caller, Choice, ClientKey, ClientScope, Done, EnrolmentRequest,
    FinishPasskeyRequest, ForgetDevicesRequest, HttpRefusals, ListAppPasswordsRequest, ListPasskeysRequest,
    MetricsRequest, NewRecoveryCodes, NewRecoveryCodesRequest, PasskeyFinished, PasskeyRegistration, PasskeysView,
    Proof, RemoveAppPasswordRequest, RemovePasskeyRequest, RenamePasskeyRequest, ResendRequest, STEP_UP_SECONDS,
    ShowUserSettingsRequest, Transaction, UserChoices, UserSettings, UserSettingsRequest, UserSettingsView,
    VerifyRequest,
};
pub use error::{CryptoError, ImportProblem, ServiceError, StoreError};
pub use files::IfExists;
pub use import::{COLUMNS as IMPORT_COLUMNS, ImportSummary};
pub use keys::KeyFolder;
pub use login::{CodeDelivery, CountryDatabase, LoginStart, SentCode, TestSend};
pub use mailprog::{
    IssuedAppPassword, MailAuthChecked, MailAuthFailed, MailAuthFailures, MailAuthRequest, MailThrottle, MailUse,
    NewAppPassword,
};
pub use signin::{
    IssuedRecoveryCodes, PageAnswer, PageFacts, PageNote, PageRequest, PageShown, RedeemRequest, SecondStep,
    SigninRequest, SigninStarted, origin_of, path_of, url_within,
};
pub use store::{
    CopySummary, SCHEMA_VERSION, ServerAddress, StoreLocation, StoreMode, StorePlace, default_store_path, display_path,
};
pub use webadmin::{ADMIN_SETUP_HOURS, AdminSession, AdminSetupLink, AdminSignedIn, Scoped, SetupStep};

use self::store::{Store, Tx};
use self::world::World;
use crate::clock::{Clock, SystemClock, UnixTime};
use crate::delivery::CodeSender;
use crate::domain::{Actor, AuditEntry, AuditOutcome};
use crate::geo::CountryLookup;

/// Result of service calls.
pub type ServiceResult<T> = Result<T, ServiceError>;

/// Everything mailmfa does, over one open store, acting as one named administrator.
pub struct Service {
    store: Store,
    actor: Actor,
    clock: Arc<dyn Clock>,
    world: World,
    notifier: notify::Notifier,
}

impl Service {
    /// Opens (creating if needed) the store at `location` with its key from `keys`, acting as the
    /// operating-system user on the command line (`cli:<user>`; each other face says who it is
    /// with [`Service::with_actor`]) on the system clock.
    pub fn open(location: &StoreLocation, keys: &KeyFolder) -> ServiceResult<Self> {
        Ok(Self::over(Store::open(location, keys.ring())?))
    }

    /// A store in memory with a fresh key (previews and tests).
    pub fn open_in_memory() -> ServiceResult<Self> {
        Ok(Self::over(Store::open_in_memory()?))
    }

    fn over(store: Store) -> Self {
        Self {
            store,
            actor: Actor::Cli(os_user()),
            clock: Arc::new(SystemClock),
            world: World::default(),
            notifier: notify::Notifier::default(),
        }
    }

    /// The same service acting as `actor` in the audit log.
    #[must_use]
    pub fn with_actor(mut self, actor: Actor) -> Self {
        self.actor = actor;
        self
    }

    /// The same service on another clock (tests and simulations).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The same service with another country lookup in place of the configured database.
    #[must_use]
    pub fn with_countries(mut self, countries: Arc<dyn CountryLookup>) -> Self {
        self.world.set_countries(countries);
        self
    }

    /// The same service sending codes through `sender` in place of the SMTP relay and SMS
    /// gateway of the settings.
    #[must_use]
    pub fn with_sender(mut self, sender: Arc<dyn CodeSender>) -> Self {
        self.world.set_sender(sender);
        self
    }

    /// Where the store is, or `None` in memory.
    pub fn location(&self) -> Option<&StoreLocation> {
        self.store.location()
    }

    /// Local or shared, as a store file records it; `None` in memory and on a database server.
    pub fn mode(&self) -> Option<StoreMode> {
        self.store.mode()
    }

    /// `local`, `shared`, `server` (a store on a database server), or `memory`.
    pub fn mode_word(&self) -> &'static str {
        match (self.mode(), self.location().map(StoreLocation::place)) {
            (Some(mode), _) => mode.word(),
            (None, Some(StorePlace::Server(_))) => "server",
            (None, _) => "memory",
        }
    }

    /// Switches the store between local (WAL, one server) and shared (rollback journal, a file
    /// several servers use) and records the new mode in the store. No other process may have the
    /// store open meanwhile.
    pub fn set_mode(&mut self, mode: StoreMode) -> ServiceResult<()> {
        let was = self.mode_word();
        let result = self.store.set_mode(mode);
        let detail = match &result {
            Ok(()) => format!("from {was} to {mode}"),
            Err(e) => format!("from {was} to {mode}: {e}"),
        };
        let entry = AuditEntry {
            at: self.now(),
            actor: self.actor.to_string(),
            action: "store.mode".to_owned(),
            outcome: AuditOutcome::of_result(&result),
            detail: Some(detail),
            ..AuditEntry::default()
        };
        self.store.write(|tx| tx.insert_audit(&entry))?;
        Ok(result?)
    }

    /// The store's random id (it names the key file).
    pub fn store_id(&self) -> &str {
        self.store.store_id()
    }

    /// The journal mode SQLite reports (`wal`, `delete`, `memory`).
    pub fn journal_mode(&self) -> ServiceResult<String> {
        Ok(self.store.journal_mode()?)
    }

    /// SQLite's integrity check (`ok` when sound).
    pub fn integrity_check(&self) -> ServiceResult<String> {
        Ok(self.store.integrity_check()?)
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Who the audit log names.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The current time.
    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    /// Runs `f` in one write transaction and records the action in the audit log: `ok` with its
    /// detail on success (in the same transaction), `failed` with the reason otherwise.
    fn audited<T>(
        &self,
        action: &str,
        mailbox: Option<&str>,
        f: impl FnOnce(&Tx<'_>) -> ServiceResult<(T, String)>,
    ) -> ServiceResult<T> {
        self.audited_by(&self.actor, action, mailbox, f)
    }

    /// [`Service::audited`], naming `actor` rather than the service's own.
    fn audited_by<T>(
        &self,
        actor: &Actor,
        action: &str,
        mailbox: Option<&str>,
        f: impl FnOnce(&Tx<'_>) -> ServiceResult<(T, String)>,
    ) -> ServiceResult<T> {
        let now = self.now();
        let entry = |outcome: AuditOutcome, detail: String| AuditEntry {
            at: now,
            actor: actor.to_string(),
            mailbox: mailbox.map(str::to_owned),
            action: action.to_owned(),
            outcome,
            detail: (!detail.is_empty()).then_some(detail),
            ..AuditEntry::default()
        };
        let result: ServiceResult<T> = self.store.write(|tx| {
            let (value, detail) = f(tx)?;
            tx.insert_audit(&entry(AuditOutcome::Ok, detail))?;
            Ok(value)
        });
        if let Err(e) = &result {
            // The action's own error matters more than a failure to record it, so a failure to
            // write this entry is not reported over it.
            let recorded: ServiceResult<()> =
                self.store.write(|tx| Ok(tx.insert_audit(&entry(AuditOutcome::Failed, e.to_string()))?));
            drop(recorded);
        }
        result
    }
}

/// The operating-system user running this process, for the audit log: from the environment,
/// else (on Unix) the password database entry of the process's user id.
pub fn os_user() -> String {
    ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .or_else(unix_user)
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(unix)]
fn unix_user() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    let name = passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_owned())
    });
    Some(name.unwrap_or_else(|| format!("uid {uid}")))
}

#[cfg(not(unix))]
fn unix_user() -> Option<String> {
    None
}
