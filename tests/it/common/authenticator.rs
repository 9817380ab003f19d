//! A software WebAuthn authenticator for the passkey tests: an ES256 key (p256) that answers the
//! options mailmfa gives with real attestation and assertion objects (CBOR through ciborium), as
//! a browser's `credential.toJSON()` writes them. Each field it signs can be set wrong on purpose.
#![allow(dead_code)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ciborium::Value as Cbor;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// One credential on a software authenticator.
pub struct SoftKey {
    key: SigningKey,
    /// The credential id.
    pub id: Vec<u8>,
    /// The signature counter of the next answer (counted up before each signature).
    pub counter: u32,
    /// The RP ID whose hash it signs.
    pub rp_id: String,
    /// The origin the "browser" reports.
    pub origin: String,
    /// Whether it reports user verification (a PIN or a fingerprint), not only presence.
    pub verifies_user: bool,
    /// The AAGUID it reports.
    pub aaguid: [u8; 16],
}

impl SoftKey {
    /// A new credential for `rp_id`, used from `origin`.
    pub fn new(rp_id: &str, origin: &str) -> Self {
        let mut secret = [0u8; 32];
        let mut id = vec![0u8; 32];
        getrandom::fill(&mut secret).unwrap();
        getrandom::fill(&mut id).unwrap();
        Self {
            key: SigningKey::from_slice(&secret).unwrap(),
            id,
            counter: 0,
            rp_id: rp_id.to_owned(),
            origin: origin.to_owned(),
            verifies_user: true,
            aaguid: *b"mailmfa-testkey!",
        }
    }

    fn flags(&self, attested: bool) -> u8 {
        0x01 | if self.verifies_user { 0x04 } else { 0 } | if attested { 0x40 } else { 0 }
    }

    fn client_data(&self, kind: &str, options: &Value) -> Vec<u8> {
        let challenge = options["challenge"].as_str().expect("a challenge");
        json!({"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": false})
            .to_string()
            .into_bytes()
    }

    /// `navigator.credentials.create` with creation options (`publicKey`): the registration.
    pub fn register(&mut self, options: &Value) -> Value {
        self.counter += 1;
        let point = self.key.verifying_key().to_sec1_point(false);
        let bytes = point.as_bytes();
        let cose = Cbor::Map(vec![
            (Cbor::from(1), Cbor::from(2)),
            (Cbor::from(3), Cbor::from(-7)),
            (Cbor::from(-1), Cbor::from(1)),
            (Cbor::from(-2), Cbor::Bytes(bytes[1..33].to_vec())),
            (Cbor::from(-3), Cbor::Bytes(bytes[33..65].to_vec())),
        ]);
        let mut auth_data = self.auth_data_head(true);
        auth_data.extend_from_slice(&self.aaguid);
        auth_data.extend_from_slice(&u16::try_from(self.id.len()).unwrap().to_be_bytes());
        auth_data.extend_from_slice(&self.id);
        ciborium::into_writer(&cose, &mut auth_data).unwrap();
        let attestation = Cbor::Map(vec![
            (Cbor::from("fmt"), Cbor::from("none")),
            (Cbor::from("attStmt"), Cbor::Map(vec![])),
            (Cbor::from("authData"), Cbor::Bytes(auth_data.clone())),
        ]);
        let mut attestation_object = Vec::new();
        ciborium::into_writer(&attestation, &mut attestation_object).unwrap();
        let client_data = self.client_data("webauthn.create", options);
        json!({
            "id": B64.encode(&self.id), "rawId": B64.encode(&self.id), "type": "public-key",
            "response": {
                "attestationObject": B64.encode(&attestation_object), "clientDataJSON": B64.encode(&client_data),
                "authenticatorData": B64.encode(&auth_data), "transports": ["internal"],
            },
            "clientExtensionResults": {}, "authenticatorAttachment": "platform",
        })
    }

    /// `navigator.credentials.get` with request options (`publicKey`): the assertion.
    pub fn assert(&mut self, options: &Value) -> Value {
        self.counter += 1;
        let auth_data = self.auth_data_head(false);
        let client_data = self.client_data("webauthn.get", options);
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(&client_data));
        let signature: Signature = self.key.sign(&signed);
        json!({
            "id": B64.encode(&self.id), "rawId": B64.encode(&self.id), "type": "public-key",
            "response": {
                "authenticatorData": B64.encode(&auth_data), "clientDataJSON": B64.encode(&client_data),
                "signature": B64.encode(signature.to_der().as_bytes()), "userHandle": null,
            },
            "clientExtensionResults": {}, "authenticatorAttachment": "platform",
        })
    }

    fn auth_data_head(&self, attested: bool) -> Vec<u8> {
        let mut data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        data.push(self.flags(attested));
        data.extend_from_slice(&self.counter.to_be_bytes());
        data
    }
}

/// An assertion whose signature no longer matches: one byte of the signed authenticator data
/// changed (the counter), the signature left as it was.
pub fn tampered(assertion: &Value) -> Value {
    let mut out = assertion.clone();
    let data = out["response"]["authenticatorData"].as_str().unwrap();
    let mut bytes = B64.decode(data).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    out["response"]["authenticatorData"] = B64.encode(&bytes).into();
    out
}
