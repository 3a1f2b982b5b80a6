//! Identifiers of a verification session: the certify ID the service issues and the
//! outer order number the client supplies.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A verification's certify ID: 32 hex characters, kept as 16 bytes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CertifyId([u8; 16]);

/// Not a certify ID.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a certify ID (32 hex characters)")]
pub struct InvalidCertifyId(pub String);

impl CertifyId {
    /// From 16 raw bytes.
    pub const fn from_bytes(bytes: [u8; 16]) -> CertifyId {
        CertifyId(bytes)
    }

    /// The 16 bytes.
    pub fn to_bytes(self) -> [u8; 16] {
        self.0
    }
}

impl FromStr for CertifyId {
    type Err = InvalidCertifyId;
    /// Parses 32 hex characters in either case.
    fn from_str(text: &str) -> Result<CertifyId, InvalidCertifyId> {
        let err = || InvalidCertifyId(crate::quote(text));
        if text.len() != 32 {
            return Err(err());
        }
        let nibble = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        };
        let mut bytes = [0u8; 16];
        for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
            let (Some(&hi), Some(&lo)) = (pair.first(), pair.get(1)) else { return Err(err()) };
            *byte = (nibble(hi).ok_or_else(err)? << 4) | nibble(lo).ok_or_else(err)?;
        }
        Ok(CertifyId(bytes))
    }
}

impl fmt::Display for CertifyId {
    /// Lower-case hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One write of 32 characters (every response and record names the ID; sixteen
        // `{:02x}` writes cost ten times as much).
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut text = [0u8; 32];
        for (pair, byte) in text.chunks_exact_mut(2).zip(self.0) {
            if let [high, low] = pair {
                *high = HEX.get(usize::from(byte >> 4)).copied().unwrap_or(b'0');
                *low = HEX.get(usize::from(byte & 15)).copied().unwrap_or(b'0');
            }
        }
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for CertifyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CertifyId({self})")
    }
}

impl Serialize for CertifyId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CertifyId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?.parse().map_err(serde::de::Error::custom)
    }
}

/// The client's outer order number: 1–32 ASCII letters and digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OuterOrderNo {
    bytes: [u8; 32],
    len: u8,
}

/// Not an outer order number (call code 401).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("outer order number `{0}` must be 1–32 letters and digits")]
pub struct InvalidOuterOrderNo(pub String);

impl OuterOrderNo {
    /// Validates `text`.
    pub fn new(text: &str) -> Result<OuterOrderNo, InvalidOuterOrderNo> {
        let raw = text.as_bytes();
        if !(1..=32).contains(&raw.len()) || !raw.iter().all(u8::is_ascii_alphanumeric) {
            return Err(InvalidOuterOrderNo(crate::quote(text)));
        }
        let mut bytes = [0u8; 32];
        for (b, r) in bytes.iter_mut().zip(raw) {
            *b = *r;
        }
        Ok(OuterOrderNo { bytes, len: u8::try_from(raw.len()).unwrap_or(32) })
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.bytes.get(..usize::from(self.len)).unwrap_or_default()).unwrap_or_default()
    }
}

impl FromStr for OuterOrderNo {
    type Err = InvalidOuterOrderNo;
    fn from_str(text: &str) -> Result<OuterOrderNo, InvalidOuterOrderNo> {
        OuterOrderNo::new(text)
    }
}

impl TryFrom<String> for OuterOrderNo {
    type Error = InvalidOuterOrderNo;
    fn try_from(text: String) -> Result<OuterOrderNo, InvalidOuterOrderNo> {
        OuterOrderNo::new(&text)
    }
}

impl From<OuterOrderNo> for String {
    fn from(no: OuterOrderNo) -> String {
        no.as_str().to_owned()
    }
}

impl fmt::Display for OuterOrderNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for OuterOrderNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OuterOrderNo({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certify_ids() {
        let text = "0123456789abcdefABCDEF0123456789";
        let id: CertifyId = text.parse().unwrap();
        assert_eq!(id.to_string(), text.to_lowercase());
        for bad in [
            "",
            "0123",
            "0123456789abcdefABCDEF012345678g",
            "+123456789abcdefABCDEF0123456789",
            "é123456789abcdefABCDEF012345678",
        ] {
            assert!(bad.parse::<CertifyId>().is_err(), "{bad}");
        }
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<CertifyId>(&json).unwrap(), id);
    }

    #[test]
    fn outer_order_numbers() {
        let no = OuterOrderNo::new("order2026A").unwrap();
        assert_eq!(no.as_str(), "order2026A");
        assert!(OuterOrderNo::new(&"a".repeat(32)).is_ok());
        for bad in ["", "order-1", "订单1", &"a".repeat(33)] {
            assert!(OuterOrderNo::new(bad).is_err(), "{bad}");
        }
        assert_eq!(serde_json::to_string(&no).unwrap(), "\"order2026A\"");
    }
}
