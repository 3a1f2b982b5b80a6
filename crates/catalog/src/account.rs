//! Main-account identifiers.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A main account's numeric UID (1–20 digits), e.g. `1234567890123456`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountId(String);

/// Not an account UID.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("account ID `{0}` must be 1–20 digits")]
pub struct InvalidAccountId(pub String);

impl AccountId {
    /// Validates `text`.
    pub fn new(text: &str) -> Result<AccountId, InvalidAccountId> {
        if (1..=20).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit()) {
            Ok(AccountId(text.to_owned()))
        } else {
            Err(InvalidAccountId(text.to_owned()))
        }
    }

    /// The UID.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The object-storage bucket the service writes this account's photos to.
    pub fn photo_bucket(&self) -> String {
        format!("cn-shanghai-aliyun-cloudauth-{}", self.0)
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
        id.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
