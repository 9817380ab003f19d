//! RFC 6238 time-based codes as every authenticator app understands them (SHA-1, 6 digits, 30 s),
//! the enrolment URI, and verification with a ±1 step window that never accepts a step twice. Pure
//! arithmetic: the secret comes in, the time comes in as an argument.

use totp_rs::{Algorithm, Builder};
use zeroize::Zeroizing;

use super::{Code, DomainError, MailboxAddress};
use crate::clock::UnixTime;

/// Secret length in bytes (160 bits, RFC 4226's recommendation).
pub const SECRET_LEN: usize = 20;
/// Time step in seconds.
pub const STEP_SECONDS: i64 = 30;
/// Digits in a code.
pub const DIGITS: u8 = 6;
/// Steps accepted either side of the current one (network delay, RFC 6238 §5.2).
pub const WINDOW: i64 = 1;

/// The secret as upper-case Base32 without padding, as authenticator apps take it.
pub fn secret_base32(secret: &[u8]) -> Zeroizing<String> {
    Zeroizing::new(base32::encode(base32::Alphabet::Rfc4648 { padding: false }, secret))
}

/// Reads a Base32 secret (spaces and case ignored), refusing anything under 128 bits.
pub fn decode_secret(text: &str) -> Result<Zeroizing<Vec<u8>>, DomainError> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
    if compact.is_empty() {
        return Err(DomainError::Empty("TOTP secret"));
    }
    let bytes = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, compact.trim_end_matches('='))
        .filter(|_| compact.chars().all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c) || c == '='))
        .ok_or(DomainError::InvalidSetting { key: "TOTP secret", reason: "it is not valid Base32".to_owned() })?;
    if bytes.len() < 16 {
        return Err(DomainError::InvalidSetting {
            key: "TOTP secret",
            reason: format!("it has {} bits; at least 128 are required", bytes.len() * 8),
        });
    }
    Ok(Zeroizing::new(bytes))
}

/// The `otpauth://` key URI that the enrolment QR code carries:
/// `otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=ISSUER&algorithm=SHA1&digits=6&period=30`.
pub fn otpauth_uri(issuer: &str, account: &MailboxAddress, secret: &[u8]) -> Zeroizing<String> {
    otpauth_uri_for(issuer, &account.to_string(), secret)
}

/// [`otpauth_uri`] for any account label (a web administrator's is `admin:NAME`).
pub fn otpauth_uri_for(issuer: &str, account: &str, secret: &[u8]) -> Zeroizing<String> {
    let issuer = encode(issuer);
    Zeroizing::new(format!(
        "otpauth://totp/{issuer}:{}?secret={}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        encode(account),
        secret_base32(secret).as_str(),
    ))
}

/// Percent-encodes everything but RFC 3986's unreserved characters and `@` (spaces as `%20`).
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~@".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The time step containing `time`.
pub fn step_of(time: UnixTime) -> i64 {
    time.div_euclid(STEP_SECONDS)
}

/// A code for any algorithm and length at `time` (for the RFC test vectors).
pub fn code_with(algorithm: Algorithm, digits: u8, secret: &[u8], step_seconds: u64, time: u64) -> String {
    Builder::new()
        .with_algorithm(algorithm)
        .with_digits(digits)
        .with_step_duration(step_seconds)
        .with_secret(secret.to_vec())
        .build_noncompliant()
        .generate(time)
        .to_string()
}

/// The 6-digit SHA-1 code of one time step.
pub fn code_at_step(secret: &[u8], step: i64) -> String {
    code_with(Algorithm::SHA1, DIGITS, secret, STEP_SECONDS as u64, (step.max(0) * STEP_SECONDS) as u64)
}

/// The step `code` belongs to, if it matches the current step ±1 and is later than `last_step`
/// (RFC 6238 §5.2: a code once accepted is never accepted again, nor any earlier one). Every
/// candidate is compared in constant time.
pub fn matching_step(secret: &[u8], code: &Code, now: UnixTime, last_step: Option<i64>) -> Option<i64> {
    let current = step_of(now);
    let mut found = None;
    for step in current - WINDOW..=current + WINDOW {
        let candidate = code_at_step(secret, step);
        let equal = constant_time_eq(candidate.as_bytes(), code.digits().as_bytes());
        if equal && last_step.is_none_or(|last| step > last) && step >= 0 {
            found = Some(step);
        }
    }
    found
}

/// Whether two byte strings are equal, in a time that does not depend on where they differ: for
/// codes, tokens and keys compared with what was sent.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
