//! Personal data handling: the keyed digest that lets records be searched by ID number
//! without keeping the number, and the masks used for display.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use shiren_catalog::ResidentId;

/// The secret key of the ID-number digest. It is configuration of the embedding
/// service (from its secret store), never part of a snapshot, and never printed.
#[derive(Clone)]
pub struct DigestKey([u8; 32]);

impl DigestKey {
    /// A key from 32 secret bytes.
    pub fn new(bytes: [u8; 32]) -> DigestKey {
        DigestKey(bytes)
    }

    /// HMAC-SHA256 of the canonical (upper-case `X`) 18-character number.
    pub fn digest(&self, id: &ResidentId) -> IdDigest {
        // INVARIANT: HMAC accepts keys of any length, so this cannot fail.
        let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0) else {
            return IdDigest([0; 32]);
        };
        mac.update(id.expose().as_bytes());
        let mut out = [0u8; 32];
        for (o, b) in out.iter_mut().zip(mac.finalize().into_bytes()) {
            *o = b;
        }
        IdDigest(out)
    }
}

impl fmt::Debug for DigestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DigestKey(…)")
    }
}

impl Drop for DigestKey {
    fn drop(&mut self) {
        // Best-effort wipe; the optimiser may keep copies elsewhere.
        for b in self.0.iter_mut() {
            *b = 0;
        }
    }
}

/// A keyed digest of an ID number: equal numbers give equal digests under one key; the
/// number cannot be read back without the key. (ID numbers have little entropy, so the
/// key must stay secret: with it, the digest can be brute-forced.)
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IdDigest([u8; 32]);

impl fmt::Debug for IdDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head = self.0.get(..4).unwrap_or_default();
        write!(f, "IdDigest({}…)", head.iter().map(|b| format!("{b:02x}")).collect::<String>())
    }
}

impl Serialize for IdDigest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0.iter().map(|b| format!("{b:02x}")).collect::<String>())
    }
}

impl<'de> Deserialize<'de> for IdDigest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let err = || serde::de::Error::custom("an ID digest is 64 hex characters");
        if text.len() != 64 {
            return Err(err());
        }
        let mut out = [0u8; 32];
        for (o, pair) in out.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
            let hex = std::str::from_utf8(pair).map_err(|_| err())?;
            if !pair.iter().all(u8::is_ascii_hexdigit) {
                return Err(err());
            }
            *o = u8::from_str_radix(hex, 16).map_err(|_| err())?;
        }
        Ok(IdDigest(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_keyed_and_stable() {
        let id = ResidentId::parse("11010519491231002X").unwrap();
        let same = ResidentId::parse("11010519491231002x").unwrap();
        let a = DigestKey::new([1; 32]);
        let b = DigestKey::new([2; 32]);
        assert_eq!(a.digest(&id), a.digest(&same));
        assert_ne!(a.digest(&id), b.digest(&id));
        let json = serde_json::to_string(&a.digest(&id)).unwrap();
        assert_eq!(json.len(), 66);
        assert!(!json.contains("110105"));
        assert_eq!(serde_json::from_str::<IdDigest>(&json).unwrap(), a.digest(&id));
        assert_eq!(format!("{a:?}"), "DigestKey(…)");
        assert!(serde_json::from_str::<IdDigest>("\"zz\"").is_err());
    }
}
