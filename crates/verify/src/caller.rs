//! Who is calling, and what they may do: the authenticated principal of a request and
//! the [`Permissions`] question "may this principal call this action?" (call code 411
//! when not). Authentication itself — signatures, replay — is `shiren-auth`'s;
//! [`authenticate_rpc`] joins the two.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shiren_auth::{AccessKeys, AuthError, NonceStore, verify_rpc};
use shiren_catalog::AccountId;
use shiren_ram::{Caller as RamCaller, Decision, Directory, PolicyInputs, PolicySet, Request, authorize};

/// The principal a request runs as.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Principal {
    /// The main account itself (its own AccessKey).
    MainAccount,
    /// A RAM user of the main account, by name.
    RamUser(String),
}

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Caller {
    /// The main account the request acts for (and bills).
    pub account: AccountId,
    /// Who signed it.
    pub principal: Principal,
}

impl Caller {
    /// The main account calling for itself.
    pub fn main_account(account: AccountId) -> Caller {
        Caller { account, principal: Principal::MainAccount }
    }

    /// A RAM user of `account`.
    pub fn ram_user(account: AccountId, user: &str) -> Caller {
        Caller { account, principal: Principal::RamUser(user.to_owned()) }
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

/// Whether a caller may call an action (no I/O: implement it over any policy source).
pub trait Permissions {
    /// `true` when RAM allows `caller` to call `action` on every resource (`*`).
    fn allows(&self, caller: &Caller, action: &str) -> bool;
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
    fn allows(&self, caller: &Caller, action: &str) -> bool {
        if caller.account != self.account {
            return false;
        }
        let request = Request::new(action, "*");
        match &caller.principal {
            // No control policies are modelled here, so RAM lets the main account do
            // everything on its own resources.
            Principal::MainAccount => true,
            Principal::RamUser(name) => self.users.get(&name.to_ascii_lowercase()).is_some_and(|set| {
                authorize(RamCaller::RamIdentity, &PolicyInputs::identity(set), &request).decision()
                    == Decision::Allow
            }),
        }
    }
}

/// Authenticates an RPC-signed request (`shiren-auth`) and names its caller: the RAM
/// user owning the AccessKey, acting for `account`. Authentication errors are the
/// cloud's (`SignatureDoesNotMatch`, `InvalidAccessKeyId.NotFound`, …), distinct from
/// the 411 a permitted-but-denied caller gets later.
pub fn authenticate_rpc(
    account: AccountId,
    method: &str,
    raw_query: &str,
    keys: &impl AccessKeys,
    nonces: &mut impl NonceStore,
    now: DateTime<Utc>,
) -> Result<(Caller, String), AuthError> {
    let who = verify_rpc(method, raw_query, keys, nonces, now)?;
    Ok((Caller::ram_user(account, &who.user), who.action))
}
