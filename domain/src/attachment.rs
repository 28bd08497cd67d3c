//! Evidence files are referenced by their SHA-256, so the log proves which file was meant.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{DomainError, ErrorKind};

/// The hex SHA-256 of an attached file (photo of the signed form, minutes, notice…).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AttachmentHash(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("attachment hash must be 64 hexadecimal characters (SHA-256), got {len} characters")]
pub struct AttachmentHashError {
    pub len: usize,
}

impl DomainError for AttachmentHashError {
    fn code(&self) -> &'static str {
        "INVALID_ATTACHMENT_HASH"
    }
    fn kind(&self) -> ErrorKind {
        ErrorKind::Input
    }
    fn field(&self) -> Option<&'static str> {
        Some("attachments")
    }
}

impl AttachmentHash {
    /// Accepts 64 hex digits in either case and stores them lowercase.
    pub fn parse(s: &str) -> Result<Self, AttachmentHashError> {
        if s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit()) {
            Ok(Self(s.to_ascii_lowercase()))
        } else {
            Err(AttachmentHashError {
                len: s.chars().count(),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AttachmentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AttachmentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AttachmentHash({}…)", &self.0[..8])
    }
}

impl FromStr for AttachmentHash {
    type Err = AttachmentHashError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for AttachmentHash {
    type Error = AttachmentHashError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<AttachmentHash> for String {
    fn from(hash: AttachmentHash) -> Self {
        hash.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sha256_in_any_case_is_stored_lowercase() {
        let upper = "AB".repeat(32);
        assert_eq!(
            AttachmentHash::parse(&upper).unwrap().as_str(),
            "ab".repeat(32)
        );
    }

    #[test]
    fn anything_but_64_hex_digits_is_rejected_naming_the_field() {
        for bad in ["", "abc", &"g".repeat(64), &"a".repeat(63), &"a".repeat(65)] {
            let err = AttachmentHash::parse(bad).unwrap_err();
            assert_eq!(err.field(), Some("attachments"));
            assert_eq!(err.code(), "INVALID_ATTACHMENT_HASH");
        }
    }
}
