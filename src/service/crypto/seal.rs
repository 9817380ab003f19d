//! The 256-bit store key: sealing secrets with XChaCha20-Poly1305 under associated data that names
//! the row and column they belong to, and hashing one-time codes with HMAC-SHA256.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::{CryptoError, random_bytes};

/// Format byte at the front of every sealed value, so the format can change later.
const SEAL_VERSION: u8 = 1;
const NONCE_LEN: usize = 24;

/// The store key. Its bytes are wiped when it is dropped and never printed.
#[derive(Clone)]
pub struct StoreKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreKey(…)")
    }
}

impl StoreKey {
    /// A fresh key from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, CryptoError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        random_bytes(bytes.as_mut())?;
        Ok(Self(bytes))
    }

    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The key's bytes, for writing the key file.
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Encrypts `plaintext` so it can be opened only with this key and the same `context`
    /// (for example `mailbox:42:totp_secret`): a value moved to another row fails to open.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let cipher = XChaCha20Poly1305::new(self.0.as_ref().into());
        let mut nonce = [0u8; NONCE_LEN];
        random_bytes(&mut nonce)?;
        let sealed = cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad: context.as_bytes() })
            .map_err(|_| CryptoError::Tampered(context.to_owned()))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(SEAL_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Decrypts a value sealed by [`StoreKey::seal`] with the same context.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let tampered = || CryptoError::Tampered(context.to_owned());
        let (&version, rest) = sealed.split_first().ok_or_else(tampered)?;
        if version != SEAL_VERSION || rest.len() < NONCE_LEN + 16 {
            return Err(tampered());
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let cipher = XChaCha20Poly1305::new(self.0.as_ref().into());
        cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: context.as_bytes() })
            .map(Zeroizing::new)
            .map_err(|_| tampered())
    }

    /// A keyed hash of a one-time code bound to its context (mailbox and login attempt), so the
    /// database holds nothing a code could be read back from.
    pub fn code_hash(&self, context: &str, code: &str) -> Vec<u8> {
        let mut derive = <Hmac<Sha256> as Mac>::new_from_slice(self.0.as_ref())
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        derive.update(b"mailmfa one-time code hash v1");
        let subkey: Zeroizing<[u8; 32]> = Zeroizing::new(derive.finalize().into_bytes().into());
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(subkey.as_ref())
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(context.as_bytes());
        mac.update(&[0]);
        mac.update(code.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// Checks a code against a stored hash in constant time.
    pub fn code_matches(&self, context: &str, code: &str, stored: &[u8]) -> bool {
        let candidate = self.code_hash(context, code);
        crate::domain::constant_time_eq(&candidate, stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_value_opens_only_in_its_context() {
        let key = StoreKey::generate().unwrap();
        let sealed = key.seal("mailbox:1:totp_secret", b"secret bytes").unwrap();
        assert_eq!(key.open("mailbox:1:totp_secret", &sealed).unwrap().as_slice(), b"secret bytes");
        assert!(matches!(key.open("mailbox:2:totp_secret", &sealed), Err(CryptoError::Tampered(_))));
        assert!(!sealed.windows(12).any(|w| w == b"secret bytes"));
    }

    #[test]
    fn tampering_and_wrong_key_are_detected() {
        let key = StoreKey::generate().unwrap();
        let mut sealed = key.seal("ctx", b"value").unwrap();
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert!(key.open("ctx", &sealed).is_err());
        let other = StoreKey::generate().unwrap();
        let good = key.seal("ctx", b"value").unwrap();
        assert!(other.open("ctx", &good).is_err());
        assert!(key.open("ctx", &[]).is_err());
        assert!(key.open("ctx", &[1, 2, 3]).is_err());
    }

    #[test]
    fn code_hash_is_keyed_and_bound() {
        let key = StoreKey::from_bytes([7; 32]);
        let hash = key.code_hash("mailbox:1:attempt", "123456");
        assert!(key.code_matches("mailbox:1:attempt", "123456", &hash));
        assert!(!key.code_matches("mailbox:1:attempt", "123457", &hash));
        assert!(!key.code_matches("mailbox:2:attempt", "123456", &hash));
        assert!(!StoreKey::from_bytes([8; 32]).code_matches("mailbox:1:attempt", "123456", &hash));
    }
}
