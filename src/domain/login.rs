//! What the login gate answers: `login begin`'s decision with its reason, and `login verify`'s
//! result. The CLI prints these as JSON and the login service sends them as they are.

use serde::Serialize;

use super::words::words;
use super::{LetterCode, Provider};

words! {
    /// Why the engine decided as it did (the `reason` of the JSON answers).
    pub enum Reason ("reason") {
        /// The mailbox's mode is Never.
        Never = "never",
        /// The mailbox's mode is Prompt Always.
        Always = "always",
        /// The IP address is already known for the mailbox.
        KnownIp = "known_ip",
        /// The IP address is new for the mailbox.
        NewIp = "new_ip",
        /// The country is already known for the mailbox.
        KnownCountry = "known_country",
        /// The IP address is in a trusted network (of the platform or the post office).
        TrustedNetwork = "trusted_network",
        /// The login comes from a device the user had remembered after an accepted code.
        RememberedDevice = "remembered_device",
        /// The country is new for the mailbox.
        NewCountry = "new_country",
        /// The country of the address could not be resolved.
        UnknownCountry = "unknown_country",
        /// Too many codes were sent to the mailbox in the last hour.
        SendLimit = "send_limit",
        /// Too many wrong codes: the mailbox is locked.
        Locked = "locked",
        /// No enabled provider has the data to reach the mailbox.
        NoUsableProvider = "no_usable_provider",
        /// A fresh second step was asked for before a sensitive change, whatever the mode.
        StepUp = "step_up",
    }
}

words! {
    /// Why a login transaction is begun.
    #[derive(Default)]
    pub enum Purpose ("purpose") {
        /// A sign-in: the mode in force decides whether to challenge.
        #[default]
        Login = "login",
        /// A fresh second step before a sensitive change (a new provider, SMS number or alternate
        /// address, new recovery codes, forgetting devices, an app password): always challenged.
        StepUp = "step_up",
    }
}

impl Reason {
    /// The reason in an administrator's words.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Never => "the mailbox is never challenged",
            Self::Always => "the mailbox is challenged on every login",
            Self::KnownIp => "the IP address is known for this mailbox",
            Self::NewIp => "the IP address is new for this mailbox",
            Self::KnownCountry => "the country is known for this mailbox",
            Self::TrustedNetwork => "the IP address is in a trusted network",
            Self::RememberedDevice => "the device was remembered after an accepted code",
            Self::NewCountry => "the country is new for this mailbox",
            Self::UnknownCountry => "the country of the IP address is unknown",
            Self::SendLimit => "too many codes were sent in the last hour",
            Self::Locked => "too many wrong codes",
            Self::NoUsableProvider => "no enabled provider can reach this mailbox",
            Self::StepUp => "a fresh second step was asked for before a sensitive change",
        }
    }
}

/// What `login begin` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum BeginAnswer {
    /// Let the login through without a second factor.
    Allow {
        /// Why.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<Reason>,
    },
    /// Ask for a code: from the TOTP app, or the one just sent by SMS or e-mail.
    Challenge {
        /// Where the code comes from.
        provider: Provider,
        /// The masked destination of a sent code.
        #[serde(skip_serializing_if = "Option::is_none")]
        sent_to: Option<String>,
        /// Why.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<Reason>,
    },
    /// Show the QR code of a new TOTP secret, then ask for the first code from it.
    Enroll {
        /// Always TOTP.
        provider: Provider,
        /// The key URI the QR code carries (left out where it is empty: the hosted pages show
        /// the QR code themselves, and the webmail gets none).
        #[serde(skip_serializing_if = "String::is_empty")]
        otpauth_uri: String,
        /// Why a challenge is due.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<Reason>,
    },
    /// Refuse for now: the mailbox is locked (or sent too many codes).
    Locked {
        /// Seconds until the lock ends.
        retry_after_s: i64,
        /// Why.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<Reason>,
    },
    /// Refuse: the mailbox must be challenged but no enabled provider can reach it.
    Refused {
        /// Why.
        reason: Reason,
    },
}

impl BeginAnswer {
    /// The `decision` word.
    pub fn decision(&self) -> &'static str {
        match self {
            Self::Allow { .. } => "allow",
            Self::Challenge { .. } => "challenge",
            Self::Enroll { .. } => "enroll",
            Self::Locked { .. } => "locked",
            Self::Refused { .. } => "refused",
        }
    }

    /// The provider a challenge or an enrolment is for.
    pub fn provider(&self) -> Option<Provider> {
        match self {
            Self::Challenge { provider, .. } | Self::Enroll { provider, .. } => Some(*provider),
            Self::Allow { .. } | Self::Locked { .. } | Self::Refused { .. } => None,
        }
    }

    /// The reason, if any.
    pub fn reason(&self) -> Option<Reason> {
        match self {
            Self::Allow { reason } | Self::Challenge { reason, .. } | Self::Enroll { reason, .. } => *reason,
            Self::Locked { reason, .. } => *reason,
            Self::Refused { reason } => Some(*reason),
        }
    }

    /// Whether the login may go on (allowed, or waiting for a code).
    pub fn proceeds(&self) -> bool {
        !matches!(self, Self::Locked { .. } | Self::Refused { .. })
    }
}

words! {
    /// Why a code was refused (the `reason` of `login verify`).
    pub enum RejectReason ("reject reason") {
        /// Wrong, replayed or out-of-window code.
        InvalidCode = "invalid_code",
        /// The mailbox is locked: by this wrong code, or before (then the code was not even looked at).
        Locked = "locked",
        /// The one-time code expired.
        Expired = "expired",
        /// Nothing was asked of this mailbox.
        NoChallenge = "no_challenge",
    }
}

/// What `login verify` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum VerifyAnswer {
    /// The code is right: the login may go on.
    Accepted,
    /// The code is refused.
    Rejected {
        /// Why.
        reason: RejectReason,
    },
}

/// `login verify`'s whole answer: the result, and what an accepted code hands its user once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verified {
    /// Accepted or rejected, and why.
    #[serde(flatten)]
    pub answer: VerifyAnswer,
    /// New recovery codes, issued when this code completed a TOTP enrolment. Shown to the user
    /// this once: only their keyed hashes are kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_codes: Option<Vec<LetterCode>>,
    /// The token of a device the user asked to remember: a later `begin` that brings it is let
    /// through until it expires or is revoked. Only its keyed hash is kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_token: Option<String>,
    /// After a step-up code: the token that lets the client make sensitive changes to the mailbox
    /// for a few minutes. Only its keyed hash is kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_up_token: Option<String>,
}

impl Verified {
    /// A result that hands nothing out.
    pub fn only(answer: VerifyAnswer) -> Self {
        Self { answer, recovery_codes: None, device_token: None, step_up_token: None }
    }
}
