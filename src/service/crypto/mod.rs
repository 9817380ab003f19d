//! The store key and what it protects: secrets sealed with XChaCha20-Poly1305 bound to their row,
//! and keyed hashes of one-time codes. The key itself lives outside the database, in a key file
//! (see [`keyring`]). Private to the service: no face names a key.

pub mod keyring;
mod seal;

pub use keyring::KeyRing;
pub use seal::StoreKey;

use thiserror::Error;

/// What can go wrong with the store key or a sealed value. Messages never contain key material,
/// secrets or codes.
#[derive(Debug, Error)]
pub enum CryptoError {
    /// A sealed value did not decrypt: it was altered, copied to another row, or sealed under
    /// another key.
    #[error("a sealed value ({0}) failed its integrity check: it was altered or belongs to another key")]
    Tampered(String),
    /// The key file exists but cannot be used.
    #[error("the key file {path} is not a valid mailmfa key: {reason}")]
    BadKeyFile {
        /// The key file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading or writing a key file failed.
    #[error("cannot {action} the key file {path}: {source}")]
    Io {
        /// What was attempted.
        action: &'static str,
        /// The key file.
        path: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A key folder or key file that others may read or write, or that is not the owner's.
    #[error("the {what} {path} is not private: {reason}; fix it with `{fix}`, then try again")]
    Exposed {
        /// `key folder` or `key file`.
        what: &'static str,
        /// Where it is.
        path: String,
        /// What is wrong with it.
        reason: String,
        /// The command that fixes it.
        fix: String,
    },
    /// The operating system's random source failed.
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
    /// Windows DPAPI refused to protect or unprotect the key.
    #[error("Windows DPAPI could not {0} the store key")]
    Dpapi(&'static str),
}

/// Fills `buf` from the operating system's CSPRNG.
pub fn random_bytes(buf: &mut [u8]) -> Result<(), CryptoError> {
    getrandom::fill(buf).map_err(|e| CryptoError::Random(e.to_string()))
}

/// Encodes bytes as lower-case hexadecimal.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Decodes hexadecimal (either case); `None` for anything else.
pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| text.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect()
}
