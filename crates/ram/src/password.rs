//! Console login passwords: the rule a new password must meet, and its stored form — an
//! argon2id hash in the PHC string format (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
//!
//! Owns hashing and verification only. No I/O and no randomness: the caller draws the
//! salt (16 bytes from a CSPRNG) and passes it in. The clear password is never kept, and
//! neither the password nor the hash is printed by `Debug`.

use std::fmt;

use argon2::password_hash::phc::PasswordHash as Phc;
use argon2::{Algorithm, Argon2, PasswordHasher as _, PasswordVerifier as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Bytes of salt the caller draws for each new hash.
pub const PASSWORD_SALT_BYTES: usize = 16;
/// The shortest password accepted (characters).
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The longest password accepted (characters).
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Why a password could not be set, or a stored hash not read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// The new password is too short or too long.
    #[error("a login password must be {MIN_PASSWORD_CHARS}–{MAX_PASSWORD_CHARS} characters")]
    Length,
    /// The new password lacks variety.
    #[error("a login password must mix at least three of: upper-case, lower-case, digits, symbols")]
    Weak,
    /// A stored hash is not an argon2id PHC string.
    #[error("the stored login password is not an argon2id PHC string")]
    Format,
    /// The hasher refused (a parameter out of range).
    #[error("hashing failed: {0}")]
    Hash(String),
}

/// A login password's argon2id hash, as its PHC string.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(argon2id, …)")
    }
}

/// Whether `password` meets the rule: 8–128 characters, three of four character classes.
pub fn check_password_rule(password: &str) -> Result<(), PasswordError> {
    let chars = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        return Err(PasswordError::Length);
    }
    let classes = [
        password.chars().any(|c| c.is_uppercase()),
        password.chars().any(|c| c.is_lowercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_alphanumeric()),
    ];
    if classes.iter().filter(|c| **c).count() < 3 {
        return Err(PasswordError::Weak);
    }
    Ok(())
}

impl PasswordHash {
    /// Hashes a new password (which must meet [`check_password_rule`]) with argon2id at
    /// the library's recommended cost (19 MiB, 2 passes, 1 lane) and the caller's salt.
    pub fn new(password: &str, salt: &[u8; PASSWORD_SALT_BYTES]) -> Result<PasswordHash, PasswordError> {
        check_password_rule(password)?;
        let hash = Argon2::default()
            .hash_password_with_salt(password.as_bytes(), salt)
            .map_err(|e| PasswordError::Hash(e.to_string()))?;
        Ok(PasswordHash(hash.to_string()))
    }

    /// A stored PHC string, checked to be argon2id.
    pub fn parse(phc: &str) -> Result<PasswordHash, PasswordError> {
        let parsed = Phc::new(phc).map_err(|_| PasswordError::Format)?;
        let algorithm = Algorithm::try_from(parsed.algorithm.as_str()).map_err(|_| PasswordError::Format)?;
        if algorithm != Algorithm::Argon2id || parsed.salt.is_none() || parsed.hash.is_none() {
            return Err(PasswordError::Format);
        }
        Ok(PasswordHash(phc.to_owned()))
    }

    /// Whether `password` is the one hashed (the comparison is the hasher's, in
    /// constant time).
    pub fn verify(&self, password: &str) -> bool {
        Argon2::default().verify_password(password.as_bytes(), self.0.as_str()).is_ok()
    }

    /// A hash of no one's password, to verify against when a sign-in names no one (so
    /// that an unknown name takes as long as a wrong password).
    pub(crate) fn decoy() -> &'static PasswordHash {
        static DECOY: std::sync::OnceLock<PasswordHash> = std::sync::OnceLock::new();
        DECOY.get_or_init(|| {
            PasswordHash::new("Decoy-password-0", &[0; PASSWORD_SALT_BYTES])
                .unwrap_or_else(|_| PasswordHash(String::new()))
        })
    }

    /// The PHC string (to store; it reveals no password but is still not for logs).
    pub fn as_phc(&self) -> &str {
        &self.0
    }
}

impl Serialize for PasswordHash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PasswordHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<PasswordHash, D::Error> {
        let text = String::deserialize(deserializer)?;
        PasswordHash::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SALT: [u8; PASSWORD_SALT_BYTES] = [7; PASSWORD_SALT_BYTES];

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hash = PasswordHash::new("Correct-horse-1", &SALT).unwrap();
        assert!(hash.as_phc().starts_with("$argon2id$v=19$"), "{}", hash.as_phc());
        assert!(hash.verify("Correct-horse-1"));
        assert!(!hash.verify("Correct-horse-2"));
        assert!(!hash.verify(""));
        // Another salt, another hash of the same password.
        let other = PasswordHash::new("Correct-horse-1", &[8; PASSWORD_SALT_BYTES]).unwrap();
        assert_ne!(hash, other);
        assert!(other.verify("Correct-horse-1"));
    }

    #[test]
    fn debug_and_serde_never_show_the_password_and_debug_not_the_hash() {
        let hash = PasswordHash::new("Correct-horse-1", &SALT).unwrap();
        let debug = format!("{hash:?}");
        assert!(!debug.contains(hash.as_phc()) && !debug.contains("Correct"), "{debug}");
        let json = serde_json::to_string(&hash).unwrap();
        assert!(!json.contains("Correct"));
        let back: PasswordHash = serde_json::from_str(&json).unwrap();
        assert!(back.verify("Correct-horse-1"));
    }

    #[test]
    fn weak_passwords_and_foreign_hashes_are_refused() {
        assert_eq!(PasswordHash::new("Sh0rt!", &SALT), Err(PasswordError::Length));
        assert_eq!(PasswordHash::new("alllowercaseletters", &SALT), Err(PasswordError::Weak));
        assert_eq!(PasswordHash::new(&"Aa1!".repeat(40), &SALT), Err(PasswordError::Length));
        for stored in ["", "plain", "$argon2i$v=19$m=19456,t=2,p=1$BwcHBwcHBwcHBwcHBwcHBw$abc", "$md5$x"] {
            assert_eq!(PasswordHash::parse(stored), Err(PasswordError::Format), "{stored}");
            let json = serde_json::to_string(stored).unwrap();
            assert!(serde_json::from_str::<PasswordHash>(&json).is_err(), "{stored}");
        }
    }
}
