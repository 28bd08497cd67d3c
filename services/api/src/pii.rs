//! Personal data at rest: ID and phone numbers are sealed before they enter an event.
//!
//! A sealed value keeps three things (see `dixian_domain::Sealed`): the masked form that lists
//! and dossiers show, a keyed hash (HMAC-SHA256) that `householdByIdNumber` and duplicate
//! detection search by, and the XChaCha20-Poly1305 ciphertext that only an authorised,
//! logged read opens. Both keys derive from one configured secret (`DIXIAN_PII_KEY`).
//! What is not here yet: per-person keys for crypto-shredding (destroying a key to erase a
//! person while the chain still verifies); the ciphertext format carries a version for it.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use dixian_domain::{IdNumber, Sealed};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

const CIPHERTEXT_VERSION: &str = "x1";

/// The keys that seal and open personal data. `Debug` never shows them.
#[derive(Clone)]
pub struct PiiKeys {
    cipher: XChaCha20Poly1305,
    mac_key: [u8; 32],
}

impl std::fmt::Debug for PiiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PiiKeys(<redacted>)")
    }
}

impl PiiKeys {
    /// Derives the encryption and lookup keys from one secret (at least 16 characters).
    pub fn from_secret(secret: &str) -> Result<Self, ApiError> {
        if secret.len() < 16 {
            return Err(ApiError::bad_input(
                "DIXIAN_PII_KEY",
                "the personal-data key needs at least 16 characters",
            ));
        }
        let derive = |label: &str| -> [u8; 32] {
            let mut h = Sha256::new();
            h.update(label.as_bytes());
            h.update(secret.as_bytes());
            h.finalize().into()
        };
        let enc = derive("dixian-pii-encryption-v1|");
        Ok(Self {
            cipher: XChaCha20Poly1305::new(&enc.into()),
            mac_key: derive("dixian-pii-lookup-v1|"),
        })
    }

    /// The keyed hash of a normalised value (upper-case, no spaces): equal inputs, equal hashes;
    /// without the key, no dictionary attack over the 18-digit space.
    pub fn lookup_hash(&self, plain: &str) -> String {
        let normal: String = plain
            .chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_uppercase)
            .collect();
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.mac_key)
            .expect("HMAC takes any key length");
        mac.update(normal.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    fn encrypt(&self, plain: &str) -> String {
        let nonce_bytes: [u8; 24] = rand::random();
        let nonce = XNonce::from(nonce_bytes);
        let ct = self
            .cipher
            .encrypt(&nonce, plain.as_bytes())
            .expect("encryption of a short value cannot fail");
        format!(
            "{CIPHERTEXT_VERSION}:{}{}",
            hex::encode(nonce_bytes),
            hex::encode(ct)
        )
    }

    /// Seals a validated resident ID number.
    pub fn seal_id(&self, id: &IdNumber) -> Sealed {
        Sealed {
            masked: id.masked(),
            lookup_hash: self.lookup_hash(id.expose()),
            ciphertext: self.encrypt(id.expose()),
        }
    }

    /// Seals a phone number (digits, optionally a leading +), masked as `138****5678`.
    pub fn seal_phone(&self, phone: &str) -> Result<Sealed, ApiError> {
        let digits: String = phone
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        let body = digits.strip_prefix('+').unwrap_or(&digits);
        if body.len() < 7 || body.len() > 15 || !body.chars().all(|c| c.is_ascii_digit()) {
            return Err(ApiError::bad_input(
                "phone",
                "a phone number has 7 to 15 digits",
            ));
        }
        let masked = format!("{}****{}", &digits[..3], &digits[digits.len() - 4..]);
        Ok(Sealed {
            masked,
            lookup_hash: self.lookup_hash(&digits),
            ciphertext: self.encrypt(&digits),
        })
    }

    /// Opens a sealed value. Callers record the read in the access log first.
    pub fn open(&self, sealed: &Sealed) -> Result<String, ApiError> {
        let body = sealed
            .ciphertext
            .strip_prefix(&format!("{CIPHERTEXT_VERSION}:"))
            .ok_or_else(|| ApiError::internal("unknown ciphertext version"))?;
        let bytes = hex::decode(body).map_err(ApiError::internal)?;
        if bytes.len() < 24 {
            return Err(ApiError::internal("ciphertext too short"));
        }
        let (nonce, ct) = bytes.split_at(24);
        let plain = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), ct)
            .map_err(|_| ApiError::internal("personal data does not open with this key"))?;
        String::from_utf8(plain).map_err(ApiError::internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> IdNumber {
        let first17 = "37030519800101123";
        let check = IdNumber::check_digit(first17).unwrap();
        IdNumber::parse(&format!("{first17}{check}")).unwrap()
    }

    #[test]
    fn a_sealed_id_is_masked_searchable_and_opens_only_with_the_key() {
        let keys = PiiKeys::from_secret("a-test-key-of-sufficient-length").unwrap();
        let id = id();
        let sealed = keys.seal_id(&id);
        assert_eq!(sealed.masked, id.masked());
        assert!(!sealed.ciphertext.contains(id.expose()));
        assert_eq!(sealed.lookup_hash, keys.lookup_hash(id.expose()));
        assert_eq!(keys.open(&sealed).unwrap(), id.expose());
        assert_ne!(
            keys.seal_id(&id).ciphertext,
            sealed.ciphertext,
            "fresh nonce each time"
        );
        let other = PiiKeys::from_secret("another-key-of-sufficient-length").unwrap();
        assert!(other.open(&sealed).is_err());
        assert_ne!(other.lookup_hash(id.expose()), sealed.lookup_hash);
    }

    #[test]
    fn phones_are_masked_and_validated() {
        let keys = PiiKeys::from_secret("a-test-key-of-sufficient-length").unwrap();
        let s = keys.seal_phone("138 0013 5678").unwrap();
        assert_eq!(s.masked, "138****5678");
        assert_eq!(keys.open(&s).unwrap(), "13800135678");
        assert!(keys.seal_phone("12ab").is_err());
    }
}
