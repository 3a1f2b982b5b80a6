#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod arn;
mod condition;
mod context;
mod document;
mod eval;
mod glob;
mod identity;
mod json;
mod login;
mod password;
mod system;

pub use crate::arn::{Arn, ArnError};
pub use crate::condition::{Family, IpNet, Operator};
pub use crate::context::{
    Context, ContextValue, MAX_ACTION_BYTES, MAX_CONTEXT_ENTRIES, MAX_CONTEXT_KEY_BYTES,
    MAX_CONTEXT_VALUE_BYTES, MAX_RESOURCE_BYTES, Request, RequestError, keys,
};
pub use crate::document::{
    ActionSpec, DEFAULT_MAX_CHARS, Effect, Finding, KNOWN_SERVICES, ParseOptions, Policy, PolicyDocument,
    PolicyError, PolicyKind, Principal, ResourceSpec, Severity, Statement, validate,
};
pub use crate::eval::{
    Caller, Decision, DecisionReport, Determining, MAX_REASONS, PolicyInputs, PolicySet, Response, Scope,
    StatementId, TrustedCaller, authorize, authorize_assume_role,
};
pub use crate::glob::{Case, Pattern};
pub use crate::identity::{
    AccessKey, AccessKeyStatus, Directory, DirectoryError, Group, PolicyRef, PolicyType, Quotas, Role,
    SignInError, SignedIn, Target, User,
};
pub use crate::json::Position;
pub use crate::login::{DEFAULT_DOMAIN_SUFFIX, LoginForm, LoginName, LoginNameError};
pub use crate::password::{
    MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, PASSWORD_SALT_BYTES, PasswordError, PasswordHash,
    check_password_rule,
};
pub use crate::system::{SYSTEM_POLICIES, system_policy, system_policy_text};
