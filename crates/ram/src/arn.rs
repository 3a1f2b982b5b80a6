//! Resource names: `acs:<service>:<region>:<account-id>:<relative-id>`. Five fields and
//! no partition; region and account may be empty or `*`; the relative id may itself
//! contain `:` (everything after the fourth colon belongs to it).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A parsed resource name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Arn {
    text: String,
    service_end: usize,
    region_end: usize,
    account_end: usize,
}

/// Why a text is not a resource name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a resource name: expected `acs:<service>:<region>:<account-id>:<relative-id>`")]
pub struct ArnError {
    text: String,
}

impl Arn {
    /// Parses `text`; the service and relative id must not be empty.
    pub fn parse(text: &str) -> Result<Arn, ArnError> {
        let err = || ArnError { text: text.to_owned() };
        let rest = text.strip_prefix("acs:").ok_or_else(err)?;
        let mut fields = rest.splitn(4, ':');
        let service = fields.next().ok_or_else(err)?;
        let region = fields.next().ok_or_else(err)?;
        let account = fields.next().ok_or_else(err)?;
        let relative = fields.next().ok_or_else(err)?;
        if service.is_empty() || relative.is_empty() {
            return Err(err());
        }
        let service_end = 4 + service.len();
        let region_end = service_end + 1 + region.len();
        let account_end = region_end + 1 + account.len();
        Ok(Arn { text: text.to_owned(), service_end, region_end, account_end })
    }

    /// Checks a resource *pattern* from a policy: it must have the five ARN fields
    /// (wildcards allowed anywhere, even in the service).
    pub(crate) fn check_pattern(text: &str) -> Result<(), String> {
        Arn::parse(text).map(|_| ()).map_err(|e| format!("{e}, or `*`"))
    }

    fn field(&self, start: usize, end: usize) -> &str {
        self.text.get(start..end).unwrap_or_default()
    }

    /// The service code.
    pub fn service(&self) -> &str {
        self.field(4, self.service_end)
    }

    /// The region (may be empty or `*`).
    pub fn region(&self) -> &str {
        self.field(self.service_end + 1, self.region_end)
    }

    /// The account ID (may be empty or `*`).
    pub fn account(&self) -> &str {
        self.field(self.region_end + 1, self.account_end)
    }

    /// The relative ID, which may contain `:`.
    pub fn relative_id(&self) -> &str {
        self.field(self.account_end + 1, self.text.len())
    }

    /// The whole name.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl FromStr for Arn {
    type Err = ArnError;
    fn from_str(text: &str) -> Result<Arn, ArnError> {
        Arn::parse(text)
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Arn {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Arn {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Arn::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields() {
        let arn = Arn::parse("acs:oss:cn-shanghai:123456:bucket/photos/a:b.jpeg").unwrap();
        assert_eq!(arn.service(), "oss");
        assert_eq!(arn.region(), "cn-shanghai");
        assert_eq!(arn.account(), "123456");
        assert_eq!(arn.relative_id(), "bucket/photos/a:b.jpeg");
    }

    #[test]
    fn empty_region_and_account() {
        let arn = Arn::parse("acs:ram::123456789012:root").unwrap();
        assert_eq!(arn.region(), "");
        assert_eq!(arn.account(), "123456789012");
        assert_eq!(arn.relative_id(), "root");
    }

    #[test]
    fn rejects_malformed() {
        for bad in ["", "acs", "acs:oss", "acs:oss:r:a", "acs::r:a:x", "acs:oss:r:a:", "arn:aws:s3:::b"] {
            assert!(Arn::parse(bad).is_err(), "{bad}");
        }
        assert!(Arn::check_pattern("acs:*:*cn-beijing*:*:*").is_ok());
    }

    #[test]
    fn serde_round_trip() {
        let arn = Arn::parse("acs:ram::1:role/a:b").unwrap();
        let json = serde_json::to_string(&arn).unwrap();
        assert_eq!(serde_json::from_str::<Arn>(&json).unwrap(), arn);
    }
}
