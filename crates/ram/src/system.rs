//! The system policies this service ships, verbatim, available by name.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use crate::document::{ParseOptions, Policy, PolicyError};

/// `(name, document)` of every system policy, verbatim from the service's documentation.
pub const SYSTEM_POLICIES: &[(&str, &str)] = &[
    (
        "AliyunAntCloudAuthFullAccess",
        r#"{"Version":"1","Statement":[{"Action":["antcloudauth:*"],"Resource":"*","Effect":"Allow"}]}"#,
    ),
    (
        "AliyunAntCloudAuthReadOnlyAccess",
        r#"{"Version":"1","Statement":[{"Action":["antcloudauth:Describe*","antcloudauth:List*","antcloudauth:Query*","antcloudauth:Get*"],"Resource":"*","Effect":"Allow"}]}"#,
    ),
    (
        "AliyunYundunCloudAuthFullAccess",
        r#"{"Version":"1","Statement":[{"Action":"yundun-cloudauth:*","Resource":"*","Effect":"Allow"}]}"#,
    ),
    (
        "AliyunYundunCloudAuthReadOnlyAccess",
        r#"{"Version":"1","Statement":[{"Action":["yundun-cloudauth:Get*","yundun-cloudauth:Describe*","yundun-cloudauth:Query*","yundun-cloudauth:List*"],"Resource":"*","Effect":"Allow"}]}"#,
    ),
    (
        "AliyunYundunSAFFullAccess",
        r#"{"Version":"1","Statement":[{"Action":["yundun-saf:*","ram:ListUserBasicInfos"],"Resource":"*","Effect":"Allow"}]}"#,
    ),
];

/// The verbatim document of system policy `name`.
pub fn system_policy_text(name: &str) -> Option<&'static str> {
    SYSTEM_POLICIES.iter().find(|(n, _)| *n == name).map(|(_, text)| *text)
}

/// System policy `name`, compiled; `None` if there is no such system policy.
pub fn system_policy(name: &str) -> Option<Result<Policy, PolicyError>> {
    system_policy_text(name).map(|text| Policy::parse(name, text, &ParseOptions::identity()))
}

/// System policy `name`, compiled once per process and shared.
pub(crate) fn shared_system_policy(name: &str) -> Option<Result<Arc<Policy>, PolicyError>> {
    static COMPILED: OnceLock<BTreeMap<&'static str, Result<Arc<Policy>, PolicyError>>> = OnceLock::new();
    let compiled = COMPILED.get_or_init(|| {
        SYSTEM_POLICIES
            .iter()
            .map(|(name, text)| (*name, Policy::parse(name, text, &ParseOptions::identity()).map(Arc::new)))
            .collect()
    });
    compiled.get(name).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_system_policy_parses_without_lints() {
        for (name, _) in SYSTEM_POLICIES {
            let policy = system_policy(name).unwrap().unwrap();
            assert!(policy.lints().is_empty(), "{name}: {:?}", policy.lints());
            assert_eq!(policy.name(), *name);
        }
        assert!(system_policy("NoSuchPolicy").is_none());
    }
}
