//! This device's Ed25519 signing key: a non-extractable WebCrypto key where
//! the browser has WebCrypto Ed25519, else (the fallback) the key's bytes
//! held by the app.
//!
//! A non-extractable `CryptoKey` signs when asked, but no script can read
//! its bytes: `exportKey` refuses, and storing it in IndexedDB keeps it a
//! key object (structured clone preserves `extractable: false`). Signing
//! is asynchronous, so callers get the signature first and then write it
//! (see [`accord_shared::model::signoff::statement_to_sign`] and
//! [`accord_shared::model::device_keys::needs_attestation`]). Ed25519
//! signatures are over the same bytes whichever side makes them, and every
//! signature the browser returns is checked against the public key before
//! it is used.

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CryptoKey, SubtleCrypto};

use crate::browser::{self, describe};

/// The PKCS #8 encoding of an Ed25519 private key (RFC 8410) is this
/// header followed by the 32-byte seed.
const PKCS8_HEADER: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
/// What an imported key signs to prove it is the key of the seed it came
/// from.
const PROBE: &[u8] = b"accord/device-key/import-check/v1";

/// Why the device key could not be made, read or used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum KeyError {
    /// This browser has no WebCrypto Ed25519 (an older browser, or a page
    /// not served from a secure origin, where `crypto.subtle` is missing).
    #[error("this browser has no WebCrypto Ed25519: {0}")]
    Unsupported(String),
    /// The browser's key operation failed or answered something unusable.
    #[error("the browser's key failed: {0}")]
    Browser(String),
}

/// The device's signing key.
#[derive(Clone)]
pub enum DeviceKey {
    /// A non-extractable WebCrypto key and its public key.
    Browser {
        /// The private key object (`extractable: false`, usage `sign`).
        private: CryptoKey,
        /// Its public key.
        public: VerifyingKey,
    },
    /// The fallback for browsers without WebCrypto Ed25519: the app holds
    /// the key's bytes (stored as hex in IndexedDB, as before).
    Raw(SigningKey),
}

impl DeviceKey {
    /// A new non-extractable key from the browser.
    pub async fn generate() -> Result<Self, KeyError> {
        let subtle = subtle()?;
        let promise = subtle
            .generate_key_with_object(&algorithm(), false, &usages(&["sign", "verify"]))
            .map_err(classify)?;
        // A `CryptoKeyPair` is a plain dictionary: read its two keys.
        let pair = JsFuture::from(promise).await.map_err(classify)?;
        let key_in = |field: &str| {
            js_sys::Reflect::get(&pair, &JsValue::from_str(field))
                .ok()
                .and_then(|key| key.dyn_into::<CryptoKey>().ok())
                .ok_or_else(|| KeyError::Browser(format!("the key pair has no {field}")))
        };
        let (private, public_key) = (key_in("privateKey")?, key_in("publicKey")?);
        let exported = JsFuture::from(subtle.export_key("raw", &public_key).map_err(classify)?)
            .await
            .map_err(classify)?;
        let bytes: [u8; 32] = js_sys::Uint8Array::new(&exported)
            .to_vec()
            .try_into()
            .map_err(|_| KeyError::Browser("the public key is not 32 bytes".into()))?;
        let public = VerifyingKey::from_bytes(&bytes)
            .map_err(|e| KeyError::Browser(format!("the public key is invalid: {e}")))?;
        Ok(Self::Browser { private, public })
    }

    /// The key of `seed` imported as a non-extractable WebCrypto key (an
    /// existing device moving off its stored bytes): the same public key,
    /// checked by signing a probe.
    pub async fn import(seed: &[u8; 32]) -> Result<Self, KeyError> {
        let subtle = subtle()?;
        let mut pkcs8 = PKCS8_HEADER.to_vec();
        pkcs8.extend_from_slice(seed);
        let data = js_sys::Uint8Array::from(pkcs8.as_slice());
        let promise = subtle
            .import_key_with_object("pkcs8", &data, &algorithm(), false, &usages(&["sign"]))
            .map_err(classify)?;
        let private: CryptoKey = JsFuture::from(promise)
            .await
            .map_err(classify)?
            .dyn_into()
            .map_err(|v| KeyError::Browser(format!("not a key: {}", describe(&v))))?;
        let key = Self::Browser {
            private,
            public: SigningKey::from_bytes(seed).verifying_key(),
        };
        key.sign(PROBE).await?;
        Ok(key)
    }

    /// A key object read back from IndexedDB with its public key.
    pub fn stored(private: CryptoKey, public: VerifyingKey) -> Self {
        Self::Browser { private, public }
    }

    /// The public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        match self {
            Self::Browser { public, .. } => *public,
            Self::Raw(key) => key.verifying_key(),
        }
    }

    /// Signs `message` (the exact bytes; Ed25519 hashes them itself). A
    /// signature the browser returns that does not verify under the public
    /// key is an error, never used.
    pub async fn sign(&self, message: &[u8]) -> Result<Signature, KeyError> {
        let (private, public) = match self {
            Self::Raw(key) => return Ok(key.sign(message)),
            Self::Browser { private, public } => (private, public),
        };
        let promise = subtle()?
            .sign_with_object_and_u8_array(&algorithm(), private, message)
            .map_err(classify)?;
        let buffer = JsFuture::from(promise).await.map_err(classify)?;
        let bytes: [u8; 64] = js_sys::Uint8Array::new(&buffer)
            .to_vec()
            .try_into()
            .map_err(|_| KeyError::Browser("a signature is not 64 bytes".into()))?;
        let signature = Signature::from_bytes(&bytes);
        public
            .verify_strict(message, &signature)
            .map_err(|_| KeyError::Browser("the signature does not verify".into()))?;
        Ok(signature)
    }
}

/// `crypto.subtle`, where the page has it (secure origins only).
fn subtle() -> Result<SubtleCrypto, KeyError> {
    let crypto = browser::window()
        .and_then(|w| w.crypto().map_err(Into::into))
        .map_err(|e| KeyError::Unsupported(e.to_string()))?;
    let subtle = js_sys::Reflect::get(&crypto, &JsValue::from_str("subtle"))
        .map_err(|e| KeyError::Unsupported(describe(&e)))?;
    if subtle.is_undefined() || subtle.is_null() {
        return Err(KeyError::Unsupported(
            "crypto.subtle is missing (is the page served over https?)".into(),
        ));
    }
    Ok(subtle.unchecked_into())
}

/// `{ name: "Ed25519" }`.
fn algorithm() -> js_sys::Object {
    let object = js_sys::Object::new();
    // Setting a property on a fresh plain object cannot fail.
    let _ = js_sys::Reflect::set(&object, &"name".into(), &"Ed25519".into());
    object
}

fn usages(names: &[&str]) -> JsValue {
    names
        .iter()
        .map(|n| JsValue::from_str(n))
        .collect::<js_sys::Array>()
        .into()
}

/// A rejected WebCrypto call: `NotSupportedError` means no Ed25519 here.
fn classify(error: JsValue) -> KeyError {
    let name = js_sys::Reflect::get(&error, &"name".into())
        .ok()
        .and_then(|n| n.as_string())
        .unwrap_or_default();
    let message = browser::BrowserError::from(error).to_string();
    if name == "NotSupportedError" {
        KeyError::Unsupported(message)
    } else {
        KeyError::Browser(format!("{name}: {message}"))
    }
}
