//! Personal data as events carry it: never plain.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A sealed personal value (ID number, phone): what may be shown, a keyed hash to find it
/// by, and the ciphertext only an authorised read may open.
///
/// The service builds it (encryption and keyed hashing need keys, which are I/O); the domain
/// only carries it. `Debug` leaves the ciphertext out.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Sealed {
    /// e.g. `370305********1234`.
    pub masked: String,
    /// Keyed hash (e.g. HMAC-SHA256, hex) of the normalised plain value, for exact-match search.
    pub lookup_hash: String,
    /// Encrypted plain value, opaque to the domain.
    pub ciphertext: String,
}

impl Sealed {
    /// True when the value has the parts a real sealing produces.
    pub fn is_complete(&self) -> bool {
        !self.masked.trim().is_empty()
            && !self.lookup_hash.trim().is_empty()
            && !self.ciphertext.trim().is_empty()
    }
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealed")
            .field("masked", &self.masked)
            .field("lookup_hash", &self.lookup_hash)
            .finish_non_exhaustive()
    }
}
