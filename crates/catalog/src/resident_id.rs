//! Chinese resident ID numbers (居民身份证号码): 18 characters, 17 digits and an ISO 7064
//! MOD 11-2 check character (`0`–`9` or `X`).
//!
//! The number is personal data: `Debug` and `Display` print only the masked form
//! (`110***********123X`: the first three and the last four characters, eleven `*`
//! between). Serialization writes the full number — it is how an embedding service
//! persists it — so callers that log must use the masked form. The digits are
//! overwritten with zeros on drop.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: &[u8; 11] = b"10X98765432";

/// A valid resident ID number.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResidentId {
    /// The 18 ASCII characters, with an upper-case `X`.
    number: [u8; 18],
    birth_date: NaiveDate,
}

/// Why a resident ID number was rejected (call code 401).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResidentIdError {
    /// Not 18 characters.
    #[error("a resident ID number has 18 characters, this one has {0}")]
    Length(usize),
    /// A character other than a digit (or a final `X`).
    #[error("character {position} of the resident ID number must be a digit{}", if *.position == 18 { " or `X`" } else { "" })]
    Character {
        /// 1-based position.
        position: usize,
    },
    /// Characters 7–14 are not a real date.
    #[error("the birth date in the resident ID number is not a valid date")]
    BirthDate,
    /// The check character does not match.
    #[error("the check character of the resident ID number is wrong (expected `{expected}`)")]
    CheckCharacter {
        /// The check character the first 17 digits call for.
        expected: char,
    },
}

/// The check character for the first 17 digits.
fn check_character(digits: &[u8]) -> u8 {
    let sum: u32 = digits.iter().zip(WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
    CHECK_CHARS.get((sum % 11) as usize).copied().unwrap_or(b'?')
}

impl ResidentId {
    /// Parses and validates a number; a lower-case final `x` is accepted.
    pub fn parse(text: &str) -> Result<ResidentId, ResidentIdError> {
        let count = text.chars().count();
        let bytes: [u8; 18] = text.as_bytes().try_into().map_err(|_| ResidentIdError::Length(count))?;
        let mut number = bytes;
        for (i, b) in number.iter_mut().enumerate() {
            match (i, *b) {
                (_, b'0'..=b'9') => {}
                (17, b'x' | b'X') => *b = b'X',
                _ => return Err(ResidentIdError::Character { position: i + 1 }),
            }
        }
        let digits = |range: std::ops::Range<usize>| -> u32 {
            number.get(range).unwrap_or_default().iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0'))
        };
        let birth_date = NaiveDate::from_ymd_opt(digits(6..10) as i32, digits(10..12), digits(12..14))
            .ok_or(ResidentIdError::BirthDate)?;
        let expected = check_character(number.get(..17).unwrap_or_default());
        if number.get(17) != Some(&expected) {
            return Err(ResidentIdError::CheckCharacter { expected: char::from(expected) });
        }
        Ok(ResidentId { number, birth_date })
    }

    /// The full number. Personal data: prefer [`ResidentId::masked`] for display.
    pub fn expose(&self) -> &str {
        std::str::from_utf8(&self.number).unwrap_or_default()
    }

    /// The masked form: first three and last four characters, `*` between.
    pub fn masked(&self) -> String {
        let full = self.expose();
        format!(
            "{}{}{}",
            full.get(..3).unwrap_or_default(),
            "*".repeat(11),
            full.get(14..).unwrap_or_default()
        )
    }

    /// The six-digit administrative region prefix.
    pub fn region_prefix(&self) -> &str {
        self.expose().get(..6).unwrap_or_default()
    }

    /// The date of birth.
    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    /// Age in whole years on `date` (0 before the first birthday).
    pub fn age_on(&self, date: NaiveDate) -> u32 {
        let b = self.birth_date;
        let years = date.year() - b.year() - i32::from((date.month(), date.day()) < (b.month(), b.day()));
        u32::try_from(years).unwrap_or(0)
    }
}

impl FromStr for ResidentId {
    type Err = ResidentIdError;
    fn from_str(text: &str) -> Result<ResidentId, ResidentIdError> {
        ResidentId::parse(text)
    }
}

impl fmt::Debug for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResidentId({})", self.masked())
    }
}

impl fmt::Display for ResidentId {
    /// The masked form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl Drop for ResidentId {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.number);
    }
}

impl Serialize for ResidentId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose())
    }
}

impl<'de> Deserialize<'de> for ResidentId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        ResidentId::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Builds a valid number from 17 digits.
    fn complete(first17: &str) -> String {
        let check = check_character(first17.as_bytes());
        format!("{first17}{}", char::from(check))
    }

    #[test]
    fn known_valid_numbers() {
        // The GB 11643-1999 worked example and a number ending in X.
        let id = ResidentId::parse("11010519491231002X").unwrap();
        assert_eq!(id.birth_date(), NaiveDate::from_ymd_opt(1949, 12, 31).unwrap());
        assert_eq!(id.region_prefix(), "110105");
        assert_eq!(id.masked(), "110***********002X");
        assert_eq!(format!("{id:?}"), "ResidentId(110***********002X)");
        assert_eq!(id.to_string(), "110***********002X");
        assert_eq!(ResidentId::parse("11010519491231002x").unwrap(), id);
        let id = ResidentId::parse("440524188001010014").unwrap();
        assert_eq!(id.birth_date(), NaiveDate::from_ymd_opt(1880, 1, 1).unwrap());
    }

    #[test]
    fn rejections() {
        assert_eq!(ResidentId::parse("1101051949123100"), Err(ResidentIdError::Length(16)));
        assert_eq!(ResidentId::parse("11010519491231002Y"), Err(ResidentIdError::Character { position: 18 }));
        assert_eq!(ResidentId::parse("1101051949123100X2"), Err(ResidentIdError::Character { position: 17 }));
        assert_eq!(ResidentId::parse("110105194913310028"), Err(ResidentIdError::BirthDate));
        assert_eq!(
            ResidentId::parse("110105194912310021"),
            Err(ResidentIdError::CheckCharacter { expected: 'X' })
        );
        assert_eq!(
            ResidentId::parse("１１０１０５１９４９１２３１００２X").unwrap_err(),
            ResidentIdError::Length(18)
        );
    }

    #[test]
    fn age() {
        let id = ResidentId::parse(&complete("11010520120615001")).unwrap();
        assert_eq!(id.age_on(NaiveDate::from_ymd_opt(2026, 6, 14).unwrap()), 13);
        assert_eq!(id.age_on(NaiveDate::from_ymd_opt(2026, 6, 15).unwrap()), 14);
        assert_eq!(id.age_on(NaiveDate::from_ymd_opt(2000, 1, 1).unwrap()), 0);
    }

    proptest! {
        #[test]
        fn every_single_digit_change_is_caught(first in "[1-6][0-9]{5}19[5-9][0-9]0[1-9]1[0-9][0-9]{3}", pos in 0usize..18, delta in 1u8..10) {
            let valid = complete(&first);
            prop_assert!(ResidentId::parse(&valid).is_ok());
            let mut bytes = valid.into_bytes();
            if bytes[pos] == b'X' { bytes[pos] = b'0' + delta % 10; } else { bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10; }
            let changed = String::from_utf8(bytes).unwrap();
            prop_assert!(ResidentId::parse(&changed).is_err());
        }

        #[test]
        fn garbage_never_panics(text in "\\PC{0,24}") {
            let _ = ResidentId::parse(&text);
        }

        #[test]
        fn serde_round_trip(first in "[1-6][0-9]{5}19[5-9][0-9]0[1-9]1[0-9][0-9]{3}") {
            let id = ResidentId::parse(&complete(&first)).unwrap();
            let json = serde_json::to_string(&id).unwrap();
            prop_assert_eq!(serde_json::from_str::<ResidentId>(&json).unwrap(), id);
        }
    }
}
