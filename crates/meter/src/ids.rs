//! Pack IDs: `cloudauthflowbag-` + 32 digits, minted through an injected `IdSource`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use shiren_catalog::{Quoted, quote_prefix};

/// The prefix of every pack ID.
pub const PACK_ID_PREFIX: &str = "cloudauthflowbag-";
const TEN_TO_32: u128 = 100_000_000_000_000_000_000_000_000_000_000;

/// Where new pack numbers come from. The meter never draws randomness itself: a service
/// passes a source backed by its RNG; tests pass [`SequentialIds`].
pub trait IdSource {
    /// A number for the next pack; only its last 32 decimal digits are used.
    fn next_pack_number(&mut self) -> u128;
}

/// Deterministic pack numbers 1, 2, 3, … from a starting point.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SequentialIds {
    /// The next number handed out.
    pub next: u128,
}

impl IdSource for SequentialIds {
    fn next_pack_number(&mut self) -> u128 {
        self.next = self.next.wrapping_add(1);
        self.next
    }
}

/// A pack ID: `cloudauthflowbag-` and 32 digits. Stored as the number (so it is
/// `Copy`); ordering by number equals ordering the fixed-width text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PackId(u128);

/// Not a pack ID. Holds the start of the rejected text (at most
/// [`QUOTE_LIMIT`](crate::QUOTE_LIMIT) characters and one more to mark the cut); the
/// message quotes it escaped, so hostile input cannot bloat it or forge log lines.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{}` is not a pack ID (`cloudauthflowbag-` followed by 32 digits)", Quoted(.0))]
pub struct InvalidPackId(pub String);

impl InvalidPackId {
    fn of(text: &str) -> InvalidPackId {
        InvalidPackId(quote_prefix(text))
    }
}

impl PackId {
    /// The pack ID for `number` (its last 32 decimal digits, zero-padded).
    pub fn from_number(number: u128) -> PackId {
        PackId(number % TEN_TO_32)
    }

    /// The 32-digit number after the prefix.
    pub fn number(self) -> u128 {
        self.0
    }
}

impl FromStr for PackId {
    type Err = InvalidPackId;
    fn from_str(text: &str) -> Result<PackId, InvalidPackId> {
        match text.strip_prefix(PACK_ID_PREFIX) {
            Some(digits) if digits.len() == 32 && digits.bytes().all(|b| b.is_ascii_digit()) => {
                digits.parse().map(PackId).map_err(|_| InvalidPackId::of(text))
            }
            _ => Err(InvalidPackId::of(text)),
        }
    }
}

impl TryFrom<String> for PackId {
    type Error = InvalidPackId;
    fn try_from(text: String) -> Result<PackId, InvalidPackId> {
        text.parse()
    }
}

impl From<PackId> for String {
    fn from(id: PackId) -> String {
        id.to_string()
    }
}

impl fmt::Display for PackId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PACK_ID_PREFIX}{:032}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_ids() {
        let id = PackId::from_number(42);
        assert_eq!(id.to_string(), "cloudauthflowbag-00000000000000000000000000000042");
        assert_eq!(id.to_string().parse::<PackId>().unwrap(), id);
        assert_eq!(PackId::from_number(u128::MAX).to_string().len(), PACK_ID_PREFIX.len() + 32);
        assert!(PackId::from_number(9) < PackId::from_number(10));
        for bad in [
            "",
            "cloudauthflowbag-1",
            "flowbag-00000000000000000000000000000042",
            "cloudauthflowbag-0000000000000000000000000000004x",
        ] {
            assert!(bad.parse::<PackId>().is_err(), "{bad}");
        }
    }
}
