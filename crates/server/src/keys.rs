//! The server's master key and what is derived from it: AccessKey IDs and secrets of
//! the accounts' RAM users, and the per-session device tokens. Nothing secret is stored
//! in the database: every process given the same master key derives the same secrets,
//! so several processes share one PostgreSQL without sharing a secret store. Owns no
//! domain rule; the directory decides who owns which key and whether it is active.

use std::path::Path;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use shiren_auth::AccessKeySecret;
use shiren_catalog::{AccountId, CertifyId};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Bytes of the master key.
pub(crate) const MASTER_KEY_BYTES: usize = 32;

/// The master key: 32 bytes, wiped on drop, never printed.
pub(crate) struct MasterKey(Zeroizing<[u8; MASTER_KEY_BYTES]>);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(…)")
    }
}

/// Why the master key could not be had.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MasterKeyError {
    /// Not 64 hex characters.
    #[error("the master key must be 64 hexadecimal characters (32 bytes)")]
    Format,
    /// The key file could not be read or created.
    #[error("master key file {path}: {source}")]
    File {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

impl MasterKey {
    /// From 64 hex characters (surrounding white space ignored).
    pub(crate) fn from_hex(text: &str) -> Result<MasterKey, MasterKeyError> {
        let text = text.trim().as_bytes();
        if text.len() != 2 * MASTER_KEY_BYTES {
            return Err(MasterKeyError::Format);
        }
        let mut key = Zeroizing::new([0u8; MASTER_KEY_BYTES]);
        for (byte, pair) in key.iter_mut().zip(text.chunks_exact(2)) {
            let digit = |c: u8| char::from(c).to_digit(16).ok_or(MasterKeyError::Format);
            let (high, low) = match pair {
                [h, l] => (digit(*h)?, digit(*l)?),
                _ => return Err(MasterKeyError::Format),
            };
            *byte = u8::try_from(high * 16 + low).map_err(|_| MasterKeyError::Format)?;
        }
        Ok(MasterKey(key))
    }

    /// Reads the key from `path`, creating it (random, owner-only) when absent: the
    /// embedded SQLite default keeps its key beside its database.
    pub(crate) fn load_or_create(path: &Path) -> Result<MasterKey, MasterKeyError> {
        let file_error = |source| MasterKeyError::File { path: path.display().to_string(), source };
        match std::fs::read_to_string(path) {
            Ok(text) => return MasterKey::from_hex(&Zeroizing::new(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(file_error(e)),
        }
        let bytes: [u8; MASTER_KEY_BYTES] = rand::random();
        let bytes = Zeroizing::new(bytes);
        let hex = Zeroizing::new(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>());
        write_private(path, hex.as_bytes()).map_err(file_error)?;
        Ok(MasterKey(bytes))
    }

    /// HMAC-SHA256 of the parts (each length-prefixed, so no two lists collide).
    fn derive(&self, label: &str, parts: &[&[u8]]) -> [u8; 32] {
        let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(&*self.0) else {
            // HMAC takes keys of any length; unreachable, and an all-zero output would
            // only make every derived secret unusable, never guessable from outside.
            return [0; 32];
        };
        for part in std::iter::once(label.as_bytes()).chain(parts.iter().copied()) {
            mac.update(&u64::try_from(part.len()).unwrap_or(u64::MAX).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// The AccessKey ID of `user` of `account`: `LTAI` and 20 letters and digits.
    pub(crate) fn access_key_id(&self, account: &AccountId, user: &str) -> String {
        let digest = self.derive("access-key-id", &[account.as_str().as_bytes(), user.as_bytes()]);
        format!("LTAI{}", alphanumeric(&digest, 20))
    }

    /// The secret of an AccessKey ID: 30 letters and digits.
    pub(crate) fn access_key_secret(&self, access_key_id: &str) -> AccessKeySecret {
        AccessKeySecret::new(self.access_key_secret_text(access_key_id).to_string())
    }

    /// The secret as text, to hand to its owner once (the demo file); wiped on drop.
    pub(crate) fn access_key_secret_text(&self, access_key_id: &str) -> Zeroizing<String> {
        let digest = Zeroizing::new(self.derive("access-key-secret", &[access_key_id.as_bytes()]));
        Zeroizing::new(alphanumeric(&digest, 30))
    }

    /// The key of the records' ID-number digest.
    pub(crate) fn digest_key(&self) -> [u8; 32] {
        self.derive("records-id-digest", &[])
    }

    /// The MAC of a console session cookie's payload (HMAC-SHA256 under a key of its own).
    pub(crate) fn console_session_mac(&self, payload: &[u8]) -> [u8; 32] {
        self.derive("console-session", &[payload])
    }

    /// The CSRF token of a console session: a MAC of the session cookie, so it changes
    /// with every sign-in and needs no server-side state.
    pub(crate) fn console_csrf_token(&self, session_cookie: &str) -> String {
        let digest = self.derive("console-csrf", &[session_cookie.as_bytes()]);
        digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
    }

    /// The AccessKey ID the console signs `account`'s photo links with (its secret is
    /// [`MasterKey::access_key_secret`] of it, like every derived key).
    pub(crate) fn photo_reader_key_id(&self, account: &AccountId) -> String {
        self.access_key_id(account, "console-photo-reader")
    }

    /// The demo console password of `user` of `account` (`None`: the main account):
    /// derived like the AccessKey secrets, so every process agrees without storing it;
    /// handed out once in the demo file. Mixes upper and lower case, digits and `-`.
    pub(crate) fn demo_password(&self, account: &AccountId, user: Option<&str>) -> Zeroizing<String> {
        let digest =
            Zeroizing::new(self.derive(
                "demo-console-password",
                &[account.as_str().as_bytes(), user.unwrap_or("").as_bytes()],
            ));
        Zeroizing::new(format!("Sr-{}-7", alphanumeric(&digest, 16)))
    }

    /// The device token of a session: what the person's device presents to submit its
    /// photo (returned inside `CertifyUrl`), never the caller's AccessKey.
    pub(crate) fn device_token(&self, id: CertifyId) -> String {
        let digest = self.derive("device-token", &[&id.to_bytes()]);
        digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
    }

    /// Whether `token` is the device token of `id` (constant time).
    pub(crate) fn device_token_matches(&self, id: CertifyId, token: &str) -> bool {
        let expected = self.device_token(id);
        bool::from(expected.as_bytes().ct_eq(token.as_bytes()))
    }
}

/// `n` letters and digits from a digest (62 symbols; a byte modulo 62 is slightly
/// biased, which costs under 0.1 bit of the 179 bits of a 30-character secret).
fn alphanumeric(digest: &[u8; 32], n: usize) -> String {
    const SYMBOLS: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    digest
        .iter()
        .take(n)
        .map(|b| char::from(SYMBOLS.get(usize::from(*b) % SYMBOLS.len()).copied().unwrap_or(b'A')))
        .collect()
}

/// Writes a new file readable by its owner only.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Result<MasterKey, MasterKeyError> {
        MasterKey::from_hex(&"ab".repeat(32))
    }

    #[test]
    fn derivations_are_stable_and_distinct() -> anyhow::Result<()> {
        let key = key()?;
        let account = AccountId::new("1234567890123456")?;
        let id = key.access_key_id(&account, "kyc-service");
        assert_eq!(id, key.access_key_id(&account, "kyc-service"));
        assert_ne!(id, key.access_key_id(&account, "intern"));
        assert_eq!(id.len(), 24);
        assert!(id.starts_with("LTAI"));
        let a = key.access_key_secret(&id);
        assert!(a.ct_eq(&key.access_key_secret(&id)));
        assert!(!a.ct_eq(&key.access_key_secret("LTAIother")));
        Ok(())
    }

    #[test]
    fn device_tokens_check_in_constant_time() -> anyhow::Result<()> {
        let key = key()?;
        let id = CertifyId::from_bytes([7; 16]);
        let token = key.device_token(id);
        assert!(key.device_token_matches(id, &token));
        assert!(!key.device_token_matches(CertifyId::from_bytes([8; 16]), &token));
        assert!(!key.device_token_matches(id, ""));
        assert!(!key.device_token_matches(id, &token[1..]));
        Ok(())
    }

    #[test]
    fn bad_master_keys_are_refused() {
        for text in ["", "ab", &"zz".repeat(32), &"ab".repeat(33)] {
            assert!(MasterKey::from_hex(text).is_err(), "{text}");
        }
    }
}
