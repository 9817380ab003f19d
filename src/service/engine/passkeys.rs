//! Passkeys and security keys: the WebAuthn ceremony a login transaction waits for — a
//! registration when the mailbox has no passkey yet, else an assertion with its passkeys — and its
//! check. Every check of the response (the single-use challenge, the origin, the RP ID hash, user
//! presence and verification, the signature, the counter) is the `webauthn-rs` crate's; this file
//! chooses its policy, keeps its state and records what came of it.
//!
//! The ceremony's state lives in its login transaction's row, sealed to it (`Tx::hold_ceremony`),
//! and is taken out by the first verify that reads it, whatever that verify answers: a challenge
//! is answered once. A passkey added outside a login (a webmail's settings page) registers through
//! the same checks: [`start_registration`] and [`finish_registration`], whose state its caller
//! keeps sealed in a ceremony of its own (`Tx::hold_registration`).

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{
    Credential, PublicKeyCredential, RegisterPublicKeyCredential, SecurityKey, SecurityKeyAuthentication,
    SecurityKeyRegistration, Url, Uuid, Webauthn, WebauthnBuilder, WebauthnError,
};
use webauthn_rs_core::internals::AuthenticatorData;
use webauthn_rs_core::proto::Registration;

use super::verify::{Accepted, CheckOutcome, Checked};
use super::{Context, EngineError};
use crate::domain::{Mailbox, MailboxId, Passkey, PasskeyName, RejectReason, VerifyAnswer, WebOrigin};
use crate::service::store::{PasskeyRow, Tx};

/// Who a ceremony is for: the RP ID (a domain the origins are on) and the origins whose responses
/// are accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelyingParty {
    /// The RP ID: the host of the first origin.
    pub id: String,
    /// The origins, as browsers write them.
    pub origins: Vec<String>,
}

impl RelyingParty {
    /// The relying party of these origins: the first one's host is the RP ID; every other origin
    /// must be on it (the host itself or a subdomain), as WebAuthn requires. `None` without origins.
    pub fn of(origins: &[WebOrigin]) -> Result<Option<Self>, EngineError> {
        let Some(first) = origins.first() else { return Ok(None) };
        let id = first.host().to_owned();
        for origin in origins {
            let host = origin.host();
            if host != id && !host.ends_with(&format!(".{id}")) {
                return Err(EngineError::Passkey(format!("the origin {origin} is not on the RP ID {id}")));
            }
        }
        Ok(Some(Self { id, origins: origins.iter().map(|o| o.as_str().to_owned()).collect() }))
    }

    /// The `webauthn-rs` instance that checks responses for this relying party.
    fn webauthn(&self, name: &str) -> Result<Webauthn, EngineError> {
        let bad = |e: &dyn std::fmt::Display| EngineError::Passkey(format!("relying party {}: {e}", self.id));
        let urls = self.origins.iter().map(|o| Url::parse(o).map_err(|e| bad(&e))).collect::<Result<Vec<_>, _>>()?;
        let (first, rest) = urls.split_first().ok_or_else(|| bad(&"no origin"))?;
        let mut builder = WebauthnBuilder::new(&self.id, first).map_err(|e| bad(&e))?.rp_name(name);
        for url in rest {
            builder = builder.append_allowed_origin(url);
        }
        builder.build().map_err(|e| bad(&e))
    }
}

/// What a login transaction keeps of its ceremony until the response comes.
#[derive(Serialize, Deserialize)]
struct Ceremony {
    mailbox: i64,
    relying_party: RelyingParty,
    step: Step,
}

impl Ceremony {
    /// A state kept sealed, read back.
    fn read(state: &[u8]) -> Result<Self, EngineError> {
        serde_json::from_slice(state).map_err(|e| corrupt(&format!("a passkey state: {e}")))
    }
}

/// The store gave back what mailmfa could not have written.
fn corrupt(what: &str) -> EngineError {
    EngineError::Store(crate::service::store::StoreError::Corrupt(what.to_owned()))
}

#[derive(Serialize, Deserialize)]
enum Step {
    Register(SecurityKeyRegistration),
    Authenticate(SecurityKeyAuthentication),
}

/// A ceremony begun: the options for the browser (`parseCreationOptionsFromJSON` or
/// `parseRequestOptionsFromJSON`) and the state its transaction keeps.
pub struct CeremonyStart {
    /// The `publicKey` options, as JSON.
    pub options: serde_json::Value,
    /// The state, to be kept sealed in the transaction.
    pub state: Vec<u8>,
}

/// Begins the ceremony of a login of `mb`: a registration when it has no passkey yet, else an
/// assertion with its passkeys.
///
/// `webauthn-rs`'s security-key ceremonies are used: mailmfa is a second factor after the mailbox
/// password, which is what they are for, and they ask for user verification without insisting
/// on it. With `passkey.require_uv` the options ask for it and the check insists.
pub fn start_ceremony(
    tx: &Tx<'_>,
    cx: &Context<'_>,
    mb: &Mailbox,
    relying_party: &RelyingParty,
) -> Result<CeremonyStart, EngineError> {
    let keys: Vec<SecurityKey> = stored_keys(tx, mb.id)?.into_iter().map(|(_, key)| key).collect();
    if keys.is_empty() {
        return registration(tx, cx, mb, relying_party, &keys);
    }
    let webauthn = relying_party.webauthn(&cx.settings.issuer)?;
    let (options, state) = webauthn
        .start_securitykey_authentication(&keys)
        .map_err(|e| EngineError::Passkey(format!("the passkey challenge could not be made: {e}")))?;
    ceremony_start(cx, mb, relying_party, serde_json::to_value(options), Step::Authenticate(state))
}

/// The options for the browser and the state to keep, of a ceremony just begun.
fn ceremony_start(
    cx: &Context<'_>,
    mb: &Mailbox,
    relying_party: &RelyingParty,
    options: serde_json::Result<serde_json::Value>,
    step: Step,
) -> Result<CeremonyStart, EngineError> {
    let mut options = options.map_err(|e| EngineError::Passkey(e.to_string()))?;
    let mut public_key = options.get_mut("publicKey").map(serde_json::Value::take).unwrap_or_default();
    shape_options(&mut public_key, cx.settings.passkey_require_uv);
    let ceremony = Ceremony { mailbox: mb.id.0, relying_party: relying_party.clone(), step };
    let state = serde_json::to_vec(&ceremony).map_err(|e| EngineError::Passkey(e.to_string()))?;
    Ok(CeremonyStart { options: public_key, state })
}

/// Begins the registration of another passkey of `mb`, outside a login: creation options that
/// exclude the passkeys it has (an authenticator holds one of the mailbox's credentials at most).
pub fn start_registration(
    tx: &Tx<'_>,
    cx: &Context<'_>,
    mb: &Mailbox,
    relying_party: &RelyingParty,
) -> Result<CeremonyStart, EngineError> {
    let held: Vec<SecurityKey> = stored_keys(tx, mb.id)?.into_iter().map(|(_, key)| key).collect();
    registration(tx, cx, mb, relying_party, &held)
}

/// A registration of a passkey of `mb` that none of the `held` ones' authenticators may make.
fn registration(
    tx: &Tx<'_>,
    cx: &Context<'_>,
    mb: &Mailbox,
    relying_party: &RelyingParty,
    held: &[SecurityKey],
) -> Result<CeremonyStart, EngineError> {
    let webauthn = relying_party.webauthn(&cx.settings.issuer)?;
    let exclude = (!held.is_empty()).then(|| held.iter().map(|key| key.cred_id().clone()).collect());
    let address = mb.address.to_string();
    let (options, state) = webauthn
        .start_securitykey_registration(user_handle(tx, mb.id), &address, &address, exclude, None, None)
        .map_err(|e| EngineError::Passkey(format!("the passkey registration could not be made: {e}")))?;
    ceremony_start(cx, mb, relying_party, serde_json::to_value(options), Step::Register(state))
}

/// Checks the browser's answer to a registration begun by [`start_registration`] (its `state`,
/// which the caller has already taken out) and adds the passkey as `name`: the name, or why the
/// answer was refused (for the audit log).
pub fn finish_registration(
    tx: &Tx<'_>,
    cx: &Context<'_>,
    mb: &Mailbox,
    state: &[u8],
    response: &serde_json::Value,
    name: &PasskeyName,
) -> Result<Result<PasskeyName, String>, EngineError> {
    let ceremony = Ceremony::read(state)?;
    let Step::Register(registration) = &ceremony.step else {
        return Ok(Err("the passkey ceremony was not a registration".to_owned()));
    };
    if ceremony.mailbox != mb.id.0 {
        return Ok(Err("the passkey registration was for another mailbox".to_owned()));
    }
    let webauthn = ceremony.relying_party.webauthn(&cx.settings.issuer)?;
    add_passkey(tx, cx, mb, (&webauthn, registration), response, Some(name.clone()))
}

/// The options as this login asks them: any kind of passkey (the security-key ceremony hints at
/// a security key, which would hide a phone or Windows Hello), and user verification required
/// where the platform requires it. Unless it is required, a registration does not ask the
/// authenticator to insist on it either (the security-key ceremony's `credProtect` extension
/// asks for `userVerificationRequired`): browsers refuse that request while user verification is
/// only preferred (Chromium: "Requested protection policy is inconsistent…", `NotSupportedError`).
fn shape_options(public_key: &mut serde_json::Value, require_uv: bool) {
    let Some(options) = public_key.as_object_mut() else { return };
    options.remove("hints");
    if !require_uv && let Some(extensions) = options.get_mut("extensions").and_then(serde_json::Value::as_object_mut) {
        extensions.remove("credentialProtectionPolicy");
        extensions.remove("enforceCredentialProtectionPolicy");
    }
    if require_uv {
        let selection = options.get_mut("authenticatorSelection").and_then(serde_json::Value::as_object_mut);
        match selection {
            Some(selection) => selection.insert("userVerification".to_owned(), "required".into()),
            None => options.insert("userVerification".to_owned(), "required".into()),
        };
    }
}

/// The WebAuthn user handle of a mailbox: stable, and telling nothing of the address (a keyed
/// hash of its id).
fn user_handle(tx: &Tx<'_>, mailbox: MailboxId) -> Uuid {
    let hash = tx.key().code_hash(&format!("webauthn_user:{}", mailbox.0), "");
    let mut bytes = [0u8; 16];
    bytes.iter_mut().zip(&hash).for_each(|(b, h)| *b = *h);
    Uuid::from_bytes(bytes)
}

/// The mailbox's passkeys as the library reads them, each with its stored row.
fn stored_keys(tx: &Tx<'_>, mailbox: MailboxId) -> Result<Vec<(PasskeyRow, SecurityKey)>, EngineError> {
    tx.passkeys(mailbox)?
        .into_iter()
        .map(|row| {
            let credential: Credential =
                serde_json::from_str(&row.credential).map_err(|e| corrupt(&format!("a stored passkey: {e}")))?;
            Ok((row, SecurityKey::from(credential)))
        })
        .collect()
}

/// Checks the browser's answer to the ceremony of transaction `transaction`: the state is taken
/// out first, so it answers once, whatever comes of it. A registration adds the passkey (and is
/// the enrolment that brings recovery codes); an assertion updates the counter and last use.
pub(super) fn check_ceremony(
    tx: &Tx<'_>,
    cx: &Context<'_>,
    mb: &Mailbox,
    transaction: &str,
    response: &serde_json::Value,
) -> Result<Checked, EngineError> {
    let no_challenge =
        |detail: &str| Checked::Answer(VerifyAnswer::Rejected { reason: RejectReason::NoChallenge }, detail.to_owned());
    let Some(state) = tx.take_ceremony(transaction)? else {
        return Ok(no_challenge("no passkey challenge outstanding (already answered, or never asked)"));
    };
    let ceremony = Ceremony::read(&state)?;
    if ceremony.mailbox != mb.id.0 {
        return Ok(no_challenge("the passkey challenge was for another mailbox"));
    }
    let webauthn = ceremony.relying_party.webauthn(&cx.settings.issuer)?;
    let outcome = match &ceremony.step {
        Step::Register(state) => match add_passkey(tx, cx, mb, (&webauthn, state), response, None)? {
            Ok(name) => Ok(Accepted {
                detail: Some(format!("passkey \"{name}\" registered")),
                enrolled: true,
                access_pass: false,
            }),
            Err(detail) => refused(detail),
        },
        Step::Authenticate(state) => authenticate(tx, cx, mb, &webauthn, state, response)?,
    };
    Ok(Checked::Outcome(outcome))
}

fn refused(detail: String) -> CheckOutcome {
    Err((RejectReason::InvalidCode, detail))
}

/// Checks a registration and adds its passkey to `mb` as `name` (else as the first free
/// `Passkey N`): the name it got, or why the registration was refused.
fn add_passkey(
    tx: &Tx<'_>,
    cx: &Context<'_>,
    mb: &Mailbox,
    (webauthn, state): (&Webauthn, &SecurityKeyRegistration),
    response: &serde_json::Value,
    name: Option<PasskeyName>,
) -> Result<Result<PasskeyName, String>, EngineError> {
    let Ok(credential) = serde_json::from_value::<RegisterPublicKeyCredential>(response.clone()) else {
        return Ok(Err("malformed passkey registration".to_owned()));
    };
    let key = match webauthn.finish_securitykey_registration(&credential, state) {
        Ok(key) => key,
        Err(e) => return Ok(Err(format!("passkey registration refused: {e}"))),
    };
    let stored = Credential::from(key);
    if cx.settings.passkey_require_uv && !stored.user_verified {
        return Ok(Err("passkey registration refused: user verification required".to_owned()));
    }
    let credential_id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&stored.cred_id);
    if tx.passkey_owner(&credential_id)?.is_some() {
        return Ok(Err("passkey registration refused: the credential is already registered".to_owned()));
    }
    let taken: Vec<PasskeyName> = tx.passkeys(mb.id)?.into_iter().map(|row| row.shown.name).collect();
    let name = name.filter(|n| !taken.contains(n)).unwrap_or_else(|| PasskeyName::first_free(&taken));
    let row = PasskeyRow {
        credential_id,
        credential: serde_json::to_string(&stored).map_err(|e| EngineError::Passkey(e.to_string()))?,
        shown: Passkey {
            name: name.clone(),
            aaguid: reported_aaguid(response, &stored.cred_id),
            counter: stored.counter,
            created_at: cx.now,
            last_used_at: Some(cx.now),
        },
    };
    tx.insert_passkey(mb.id, &row)?;
    Ok(Ok(name))
}

/// The AAGUID (the authenticator's model) in the authenticator data the browser reports beside the
/// attestation (`response.authenticatorData` of `toJSON()`), read with the library's parser and
/// taken only when it describes the credential just registered. Informational: attestation is not
/// asked for, so nothing vouches for it.
fn reported_aaguid(response: &serde_json::Value, credential_id: &[u8]) -> Option<String> {
    let encoded = response.get("response")?.get("authenticatorData")?.as_str()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded.trim_end_matches('=')).ok()?;
    let data = AuthenticatorData::<Registration>::try_from(bytes.as_slice()).ok()?;
    let acd = data.acd.filter(|acd| acd.credential_id == credential_id)?;
    Some(Uuid::from_bytes(acd.aaguid).to_string())
}

fn authenticate(
    tx: &Tx<'_>,
    cx: &Context<'_>,
    mb: &Mailbox,
    webauthn: &Webauthn,
    state: &SecurityKeyAuthentication,
    response: &serde_json::Value,
) -> Result<CheckOutcome, EngineError> {
    let Ok(credential) = serde_json::from_value::<PublicKeyCredential>(response.clone()) else {
        return Ok(refused("malformed passkey assertion".to_owned()));
    };
    let result = match webauthn.finish_securitykey_authentication(&credential, state) {
        Ok(result) => result,
        Err(WebauthnError::CredentialPossibleCompromise) => {
            return Ok(refused(
                "passkey signature counter went back: possible clone of the authenticator; refused".to_owned(),
            ));
        }
        Err(WebauthnError::CredentialNotFound) => {
            return Ok(refused("passkey assertion refused: not a credential of this mailbox".to_owned()));
        }
        Err(e) => return Ok(refused(format!("passkey assertion refused: {e}"))),
    };
    if cx.settings.passkey_require_uv && !result.user_verified() {
        return Ok(refused("passkey assertion refused: user verification required".to_owned()));
    }
    let used = stored_keys(tx, mb.id)?.into_iter().find(|(_, key)| key.cred_id() == result.cred_id());
    let Some((row, mut key)) = used else {
        return Ok(refused("passkey assertion refused: the passkey was removed meanwhile".to_owned()));
    };
    key.update_credential(&result);
    let stored = Credential::from(key);
    let credential = serde_json::to_string(&stored).map_err(|e| EngineError::Passkey(e.to_string()))?;
    tx.record_passkey_use(mb.id, &row.credential_id, &credential, stored.counter, cx.now)?;
    let verified = if result.user_verified() { "user verified" } else { "user present" };
    Ok(Ok(Accepted {
        detail: Some(format!("passkey \"{}\"; {verified}", row.shown.name)),
        enrolled: false,
        access_pass: false,
    }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::shape_options;

    /// What `webauthn-rs` 0.6 asks for in a security key's registration.
    fn registration() -> serde_json::Value {
        json!({
            "challenge": "AAAA",
            "authenticatorSelection": {"residentKey": "discouraged", "userVerification": "preferred"},
            "extensions": {
                "credentialProtectionPolicy": "userVerificationRequired",
                "enforceCredentialProtectionPolicy": false,
                "uvm": true,
                "credProps": true,
            },
            "hints": ["security-key"],
        })
    }

    #[test]
    fn options_ask_only_for_what_browsers_accept_together() {
        let mut preferred = registration();
        shape_options(&mut preferred, false);
        assert!(preferred.get("hints").is_none(), "{preferred}");
        assert_eq!(preferred["extensions"], json!({"uvm": true, "credProps": true}), "no credProtect without UV");
        assert_eq!(preferred["authenticatorSelection"]["userVerification"], "preferred");

        let mut required = registration();
        shape_options(&mut required, true);
        assert_eq!(required["authenticatorSelection"]["userVerification"], "required");
        assert_eq!(required["extensions"]["credentialProtectionPolicy"], "userVerificationRequired", "{required}");
    }
}
