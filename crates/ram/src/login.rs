//! RAM user login names in their three forms:
//! 1. `<user>@<account-alias>.onaliyun.com` — the default domain,
//! 2. `<user>@<account-alias>` — the account alias,
//! 3. `<user>@<domain-alias>` — a verified domain alias such as `example.com`.
//!
//! Parsing says which form was used; `Directory::resolve_login` maps all three to the
//! same user. An account alias has no dot, a domain alias has at least one.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The suffix of the default login domain.
pub const DEFAULT_DOMAIN_SUFFIX: &str = ".onaliyun.com";

/// Which of the three login-name forms was used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LoginForm {
    /// `<user>@<account-alias>.onaliyun.com`.
    DefaultDomain,
    /// `<user>@<account-alias>`.
    AccountAlias,
    /// `<user>@<domain-alias>`.
    DomainAlias,
}

/// A parsed login name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LoginName {
    user: String,
    domain: String,
    form: LoginForm,
}

/// Why a login name was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LoginNameError {
    /// No `@`, or more than one.
    #[error("login name `{0}` must have exactly one `@`, as in `alice@example.onaliyun.com`")]
    Shape(String),
    /// The user part breaks the naming rules.
    #[error("user name `{0}` must be 1–64 characters of letters, digits, `.`, `_` and `-`")]
    User(String),
    /// The part after `@` is not an alias or domain.
    #[error("`{0}` is not an account alias (3–32 lower-case letters, digits, `-`) or a domain name")]
    Domain(String),
}

fn valid_user(user: &str) -> bool {
    (1..=64).contains(&user.len()) && user.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

fn valid_alias(alias: &str) -> bool {
    (3..=32).contains(&alias.len())
        && alias.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !alias.starts_with('-')
        && !alias.ends_with('-')
}

fn valid_domain(domain: &str) -> bool {
    domain.len() <= 253
        && domain.contains('.')
        && domain.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

impl LoginName {
    /// Parses a login name. The domain part is case-insensitive and stored lower-cased.
    pub fn parse(text: &str) -> Result<LoginName, LoginNameError> {
        let mut parts = text.split('@');
        let (Some(user), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(LoginNameError::Shape(text.to_owned()));
        };
        if !valid_user(user) {
            return Err(LoginNameError::User(user.to_owned()));
        }
        let domain = domain.to_ascii_lowercase();
        let form = if let Some(alias) = domain.strip_suffix(DEFAULT_DOMAIN_SUFFIX) {
            if !valid_alias(alias) {
                return Err(LoginNameError::Domain(domain));
            }
            LoginForm::DefaultDomain
        } else if valid_alias(&domain) {
            LoginForm::AccountAlias
        } else if valid_domain(&domain) {
            LoginForm::DomainAlias
        } else {
            return Err(LoginNameError::Domain(domain));
        };
        Ok(LoginName { user: user.to_owned(), domain, form })
    }

    /// The user part, before `@`.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// Which form was used.
    pub fn form(&self) -> LoginForm {
        self.form
    }

    /// The account alias for the first two forms; `None` for a domain alias.
    pub fn account_alias(&self) -> Option<&str> {
        match self.form {
            LoginForm::DefaultDomain => self.domain.strip_suffix(DEFAULT_DOMAIN_SUFFIX),
            LoginForm::AccountAlias => Some(&self.domain),
            LoginForm::DomainAlias => None,
        }
    }

    /// The domain alias for the third form.
    pub fn domain_alias(&self) -> Option<&str> {
        (self.form == LoginForm::DomainAlias).then_some(self.domain.as_str())
    }
}

impl FromStr for LoginName {
    type Err = LoginNameError;
    fn from_str(text: &str) -> Result<LoginName, LoginNameError> {
        LoginName::parse(text)
    }
}

impl fmt::Display for LoginName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.user, self.domain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_forms() {
        let a = LoginName::parse("alice@corp.onaliyun.com").unwrap();
        assert_eq!((a.form(), a.account_alias()), (LoginForm::DefaultDomain, Some("corp")));
        let b = LoginName::parse("alice@corp").unwrap();
        assert_eq!((b.form(), b.account_alias()), (LoginForm::AccountAlias, Some("corp")));
        let c = LoginName::parse("alice@Example.com").unwrap();
        assert_eq!((c.form(), c.domain_alias()), (LoginForm::DomainAlias, Some("example.com")));
        assert_eq!(c.to_string(), "alice@example.com");
    }

    #[test]
    fn malformed_names_are_rejected_with_the_reason() {
        type Check = fn(&LoginNameError) -> bool;
        let cases: &[(&str, Check)] = &[
            ("alice", |e| matches!(e, LoginNameError::Shape(_))),
            ("a@b@c.com", |e| matches!(e, LoginNameError::Shape(_))),
            ("@corp", |e| matches!(e, LoginNameError::User(_))),
            ("al ice@corp", |e| matches!(e, LoginNameError::User(_))),
            ("alice@", |e| matches!(e, LoginNameError::Domain(_))),
            ("alice@co", |e| matches!(e, LoginNameError::Domain(_))),
            ("alice@-corp.onaliyun.com", |e| matches!(e, LoginNameError::Domain(_))),
            ("alice@exa..mple.com", |e| matches!(e, LoginNameError::Domain(_))),
        ];
        for (text, check) in cases {
            let err = LoginName::parse(text).unwrap_err();
            assert!(check(&err), "{text}: {err}");
        }
    }
}
