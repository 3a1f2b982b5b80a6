//! Who is calling, and what they may do: the [`Requester`] of a request — account,
//! signer, the Action its signature was made for, and the request context RAM
//! conditions read — and the [`Permissions`] question "may this requester call this
//! action now?" (call code 411 when not). Authentication itself — signatures, replay —
//! is `shiren-auth`'s; [`authenticate_rpc`] joins the two. No I/O: the context is what
//! the HTTP edge saw.

use std::collections::HashMap;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shiren_auth::{AccessKeys, AuthError, Authenticated, NonceStore, verify_rpc};
use shiren_catalog::AccountId;
use shiren_ram::{
    Caller as RamCaller, ContextValue, Decision, Directory, PolicyInputs, PolicySet, Request, authorize,
};

/// Who signed a request.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Signer {
    /// The main account itself (its own AccessKey).
    MainAccount,
    /// A RAM user of the main account, by name.
    RamUser(String),
}

/// What the HTTP edge knows about the request, for RAM conditions: `acs:SourceIp`,
/// `acs:SecureTransport` (`acs:CurrentTime` is the call's `now`). Unknown values are
/// left out, so a condition on them does not match (and an Allow that needs it does
/// not apply: the decision fails closed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RequestContext {
    /// The client's address, as the edge saw it.
    pub source_ip: Option<IpAddr>,
    /// Whether the request came over TLS.
    pub secure_transport: Option<bool>,
}

/// An authenticated requester.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Requester {
    /// The main account the request acts for (and bills).
    pub account: AccountId,
    /// Who signed it.
    pub signer: Signer,
    /// The RAM action the signature was made for (`antcloudauth:InitFaceVerify`), when
    /// the request was signed for one: an operation other than it is refused (411).
    /// `None` for requesters the embedding service vouches for itself.
    pub signed_action: Option<String>,
    /// The request context RAM conditions read.
    pub context: RequestContext,
}

impl Requester {
    /// The main account calling for itself, with no signed action and no context.
    pub fn main_account(account: AccountId) -> Requester {
        Requester {
            account,
            signer: Signer::MainAccount,
            signed_action: None,
            context: RequestContext::default(),
        }
    }

    /// A RAM user of `account`, with no signed action and no context.
    pub fn ram_user(account: AccountId, user: &str) -> Requester {
        Requester {
            account,
            signer: Signer::RamUser(user.to_owned()),
            signed_action: None,
            context: RequestContext::default(),
        }
    }

    /// The requester of a request `shiren-auth` authenticated: the RAM user owning the
    /// AccessKey, acting for `account`, bound to the Action it signed
    /// (`antcloudauth:<Action>`), with the edge's request `context`.
    pub fn signed(account: AccountId, who: Authenticated, context: RequestContext) -> Requester {
        Requester {
            account,
            signer: Signer::RamUser(who.user),
            signed_action: Some(format!("antcloudauth:{}", who.action)),
            context,
        }
    }

    /// The same requester with this request context.
    #[must_use]
    pub fn with_context(self, context: RequestContext) -> Requester {
        Requester { context, ..self }
    }
}

/// The API actions, as RAM names them.
pub mod actions {
    /// `InitFaceVerify`.
    pub const INIT: &str = "antcloudauth:InitFaceVerify";
    /// `DescribeFaceVerify`.
    pub const DESCRIBE: &str = "antcloudauth:DescribeFaceVerify";
    /// `ContrastFaceVerify`.
    pub const CONTRAST: &str = "antcloudauth:ContrastFaceVerify";
    /// `CompareFaceVerify`.
    pub const COMPARE: &str = "antcloudauth:CompareFaceVerify";
    /// `LivenessFaceVerify`.
    pub const LIVENESS: &str = "antcloudauth:LivenessFaceVerify";
    /// `DeleteFaceVerifyResult`.
    pub const DELETE: &str = "antcloudauth:DeleteFaceVerifyResult";
}

/// Whether a requester may call an action (no I/O: implement it over any policy
/// source). Shared by every worker, so `&self`.
pub trait Permissions {
    /// `true` when RAM allows `requester` to call `action` on every resource (`*`) at
    /// `now`, under the requester's context.
    fn allows(&self, requester: &Requester, action: &str, now: DateTime<Utc>) -> bool;
}

/// Permissions from a RAM [`Directory`]: each user's identity policies compiled once.
/// The main account is unrestricted by identity policies (RAM's rule); a user the
/// directory does not know may do nothing. Rebuild it after changing the directory.
#[derive(Clone, Debug)]
pub struct DirectoryPermissions {
    account: AccountId,
    users: HashMap<String, PolicySet>,
}

impl DirectoryPermissions {
    /// Compiles the policies of every user of `directory`, which belongs to `account`.
    pub fn new(account: AccountId, directory: &Directory) -> DirectoryPermissions {
        let users = directory
            .users()
            .filter_map(|u| {
                directory.user_policies(&u.name).ok().map(|set| (u.name.to_ascii_lowercase(), set))
            })
            .collect();
        DirectoryPermissions { account, users }
    }
}

impl Permissions for DirectoryPermissions {
    fn allows(&self, requester: &Requester, action: &str, now: DateTime<Utc>) -> bool {
        if requester.account != self.account {
            return false;
        }
        let name = match &requester.signer {
            // No control policies are modelled here, so RAM lets the main account do
            // everything on its own resources.
            Signer::MainAccount => return true,
            Signer::RamUser(name) => name,
        };
        let Some(set) = self.users.get(&name.to_ascii_lowercase()) else { return false };
        let mut context = Vec::with_capacity(3);
        context.push(("acs:CurrentTime", ContextValue::Date(now)));
        if let Some(ip) = requester.context.source_ip {
            context.push(("acs:SourceIp", ContextValue::Ip(ip)));
        }
        if let Some(secure) = requester.context.secure_transport {
            context.push(("acs:SecureTransport", ContextValue::Bool(secure)));
        }
        // An action beyond RAM's limits is not an action anyone may call.
        let Ok(request) = Request::try_new(action, "*").and_then(|r| r.try_with_context(&context)) else {
            return false;
        };
        authorize(RamCaller::RamIdentity, &PolicyInputs::identity(set), &request).decision()
            == Decision::Allow
    }
}

/// Authenticates an RPC-signed request (`shiren-auth`) and names its requester: the
/// RAM user owning the AccessKey, acting for `account`, bound to the Action it signed
/// (`antcloudauth:<Action>`), with the edge's request `context`. Authentication errors
/// are the cloud's (`SignatureDoesNotMatch`, `InvalidAccessKeyId.NotFound`, …),
/// distinct from the 411 a permitted-but-denied requester gets later.
pub fn authenticate_rpc(
    account: AccountId,
    method: &str,
    raw_query: &str,
    keys: &impl AccessKeys,
    nonces: &mut impl NonceStore,
    context: RequestContext,
    now: DateTime<Utc>,
) -> Result<Requester, AuthError> {
    let who = verify_rpc(method, raw_query, keys, nonces, now)?;
    Ok(Requester::signed(account, who, context))
}
