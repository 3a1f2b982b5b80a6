//! AccessKey secrets and where the verifier finds them.

use std::collections::HashMap;
use std::fmt;

use hmac::{Hmac, KeyInit};
use sha1::Sha1;
use shiren_ram::{AccessKeyStatus, Directory};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::{AuthError, Quoted};

/// An AccessKey secret. Never in `Debug`, `Display`, serde output or error messages;
/// compared in constant time; wiped from memory on drop.
///
/// It also keeps the RPC signature's HMAC-SHA1 state keyed with `secret + "&"`, made
/// once here so that each RPC signature skips the key schedule (two SHA-1 blocks). That
/// state is as secret as the key and is wiped on drop too (the `zeroize` features of
/// `hmac` and `sha1`).
#[derive(Clone)]
pub struct AccessKeySecret {
    bytes: Zeroizing<Vec<u8>>,
    /// Always `Some`: HMAC accepts keys of any length. Were it `None`, no RPC signature
    /// would be made or accepted with this key.
    rpc_mac: Option<Hmac<Sha1>>,
}

impl AccessKeySecret {
    /// Wraps a secret (the text is moved in and wiped with the value).
    pub fn new(secret: String) -> AccessKeySecret {
        let bytes = Zeroizing::new(secret.into_bytes());
        let mut rpc_key = Zeroizing::new(Vec::with_capacity(bytes.len() + 1));
        rpc_key.extend_from_slice(&bytes);
        rpc_key.push(b'&');
        let rpc_mac = <Hmac<Sha1> as KeyInit>::new_from_slice(&rpc_key).ok();
        AccessKeySecret { bytes, rpc_mac }
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// A fresh RPC signature MAC, already keyed.
    pub(crate) fn rpc_mac(&self) -> Option<Hmac<Sha1>> {
        self.rpc_mac.clone()
    }

    /// Constant-time equality (the length is not secret).
    pub fn ct_eq(&self, other: &AccessKeySecret) -> bool {
        bool::from(self.bytes.as_slice().ct_eq(other.bytes.as_slice()))
    }
}

impl fmt::Debug for AccessKeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessKeySecret(…)")
    }
}

/// An active key: the main account and RAM user it belongs to, and its secret.
#[derive(Clone, Copy, Debug)]
pub struct ActiveKey<'a> {
    /// The main account owning the key (its account ID): the tenant whose share of the
    /// nonce store the key's requests use.
    pub account: &'a str,
    /// The owning RAM user's name.
    pub user: &'a str,
    /// The secret.
    pub secret: &'a AccessKeySecret,
}

/// Finds the active key for an AccessKey ID (no I/O; implement it over a secret store).
pub trait AccessKeys {
    /// The active key, or `AccessKeyNotFound` / `AccessKeyInactive`.
    fn active_key(&self, access_key_id: &str) -> Result<ActiveKey<'_>, AuthError>;
}

/// Secrets by AccessKey ID, kept apart from the directory's key records.
#[derive(Clone, Debug, Default)]
pub struct SecretVault {
    secrets: HashMap<String, AccessKeySecret>,
}

impl SecretVault {
    /// Stores the secret of `access_key_id`.
    pub fn insert(&mut self, access_key_id: &str, secret: AccessKeySecret) {
        self.secrets.insert(access_key_id.to_owned(), secret);
    }

    /// The secret of `access_key_id`.
    pub fn get(&self, access_key_id: &str) -> Option<&AccessKeySecret> {
        self.secrets.get(access_key_id)
    }
}

/// The RAM directory's key records (owner, status) joined with a vault's secrets.
#[derive(Clone, Copy, Debug)]
pub struct DirectoryKeys<'a> {
    /// Who owns which key, and whether it is active.
    pub directory: &'a Directory,
    /// The secrets.
    pub vault: &'a SecretVault,
}

impl<'a> DirectoryKeys<'a> {
    /// The active key for an AccessKey ID, borrowing the directory and the vault (not
    /// this pair), so a caller holding both elsewhere can return it.
    pub fn find(self, access_key_id: &str) -> Result<ActiveKey<'a>, AuthError> {
        let not_found = || AuthError::AccessKeyNotFound(Quoted::new(access_key_id));
        let (user, key) = self.directory.access_key(access_key_id).ok_or_else(not_found)?;
        if key.status == AccessKeyStatus::Inactive {
            return Err(AuthError::AccessKeyInactive(Quoted::new(access_key_id)));
        }
        let secret = self.vault.get(access_key_id).ok_or_else(not_found)?;
        Ok(ActiveKey { account: self.directory.account_id(), user: &user.name, secret })
    }
}

impl AccessKeys for DirectoryKeys<'_> {
    fn active_key(&self, access_key_id: &str) -> Result<ActiveKey<'_>, AuthError> {
        self.find(access_key_id)
    }
}

/// Compares two signatures in constant time (lengths are public). An empty signature
/// never matches: a signature that could not be computed is empty, and so is a missing
/// one.
pub(crate) fn signatures_equal(a: &[u8], b: &[u8]) -> bool {
    !a.is_empty() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_signatures_never_match() {
        assert!(!signatures_equal(b"", b""));
        assert!(!signatures_equal(b"", b"x"));
        assert!(signatures_equal(b"abc", b"abc"));
        assert!(!signatures_equal(b"abc", b"abd"));
    }
}
