//! Main-account identifiers.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A main account's numeric UID (1–20 digits), e.g. `1234567890123456`. Stored inline
/// (no heap), so it is `Copy` and comparing or hashing it touches no other memory.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountId {
    /// The digits, left-aligned, zero bytes after `len` (so derived order and equality
    /// are those of the text for equal lengths; ordering is by bytes, then length).
    digits: [u8; 20],
    len: u8,
}

/// Not an account UID (holding the input, quoted: see [`crate::quote`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("account ID `{0}` must be 1–20 digits")]
pub struct InvalidAccountId(pub String);

impl AccountId {
    /// Validates `text`.
    pub fn new(text: &str) -> Result<AccountId, InvalidAccountId> {
        let bytes = text.as_bytes();
        if !(1..=20).contains(&bytes.len()) || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(InvalidAccountId(crate::quote(text)));
        }
        let mut digits = [0u8; 20];
        for (d, b) in digits.iter_mut().zip(bytes) {
            *d = *b;
        }
        Ok(AccountId { digits, len: u8::try_from(bytes.len()).unwrap_or(20) })
    }

    /// The UID.
    pub fn as_str(&self) -> &str {
        let digits = self.digits.get(..usize::from(self.len)).unwrap_or_default();
        // Only ASCII digits are ever stored.
        std::str::from_utf8(digits).unwrap_or_default()
    }

    /// The object-storage bucket the service writes this account's photos to.
    pub fn photo_bucket(&self) -> String {
        format!("cn-shanghai-aliyun-cloudauth-{}", self.as_str())
    }
}

impl FromStr for AccountId {
    type Err = InvalidAccountId;
    fn from_str(text: &str) -> Result<AccountId, InvalidAccountId> {
        AccountId::new(text)
    }
}

impl TryFrom<String> for AccountId {
    type Error = InvalidAccountId;
    fn try_from(text: String) -> Result<AccountId, InvalidAccountId> {
        AccountId::new(&text)
    }
}

impl From<AccountId> for String {
    fn from(id: AccountId) -> String {
        id.as_str().to_owned()
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountId({})", self.as_str())
    }
}

/// Three words instead of 21 bytes (consistent with `Eq`: every field is hashed). Account
/// IDs key the hot maps of metering and billing.
impl std::hash::Hash for AccountId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let word = |range: std::ops::Range<usize>| {
            let mut bytes = [0u8; 8];
            for (b, d) in bytes.iter_mut().zip(self.digits.get(range).unwrap_or(&[])) {
                *b = *d;
            }
            u64::from_le_bytes(bytes)
        };
        state.write_u64(word(0..8));
        state.write_u64(word(8..16));
        state.write_u64(word(16..20) | u64::from(self.len) << 32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_ids_behave_like_their_text() {
        let a = AccountId::new("1234567890").unwrap();
        assert_eq!(a.as_str(), "1234567890");
        assert_eq!(a.to_string(), "1234567890");
        assert_eq!(format!("{a:?}"), "AccountId(1234567890)");
        let max = AccountId::new("99999999999999999999").unwrap();
        assert_eq!(max.as_str().len(), 20);
        assert!(AccountId::new("123456789012345678901").is_err());
        assert!(
            AccountId::new("12 3").is_err() && AccountId::new("").is_err() && AccountId::new("١٢").is_err()
        );
        // Same-length IDs order like their text.
        assert!(AccountId::new("1001").unwrap() < AccountId::new("1002").unwrap());
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"1234567890\"");
        assert_eq!(serde_json::from_str::<AccountId>("\"1234567890\"").unwrap(), a);
    }
}
