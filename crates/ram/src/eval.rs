//! Evaluation: an indexed set of policies answers Allow / ExplicitDeny / ImplicitDeny
//! and names the statements that decided; `authorize` runs the full pipeline (control
//! policies → session policy → identity policies → resource policies).
//!
//! Invariants: any applicable Deny wins; no applicable Allow is ImplicitDeny; the order
//! of policies and statements and duplicates never change a decision; evaluation never
//! allocates. The index only narrows the candidates — every candidate is still matched
//! in full, so the index can never grant anything by itself.

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::context::{MAX_ACTION_BYTES, MAX_RESOURCE_BYTES, Request};
use crate::document::{CompiledStatement, Effect, Policy};

/// Deterministic hashing (no per-process random keys); policy text is trusted input.
type FixedState = BuildHasherDefault<std::hash::DefaultHasher>;

/// The outcome of an authorization question. Complete by definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Decision {
    /// Some statement allows and none denies.
    Allow,
    /// A statement explicitly denies.
    ExplicitDeny,
    /// Nothing allows.
    ImplicitDeny,
}

impl Decision {
    /// Whether the request may proceed.
    pub fn is_allowed(self) -> bool {
        self == Decision::Allow
    }
}

/// Where in the pipeline a policy sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Scope {
    /// Resource-directory control policies.
    Control,
    /// A session policy passed when assuming a role.
    Session,
    /// Identity policies at account scope.
    Identity,
    /// Identity policies at resource-group scope.
    ResourceGroup,
    /// Policies attached to the resource.
    Resource,
    /// A role's trust policy.
    Trust,
}

/// One statement that decided a request.
#[derive(Clone, Copy, Debug)]
pub struct Determining<'a> {
    /// The pipeline stage of its policy.
    pub scope: Scope,
    /// Its policy.
    pub policy: &'a Policy,
    /// Its index within the policy's `Statement` list.
    pub statement: usize,
}

impl PartialEq for Determining<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.scope == other.scope
            && std::ptr::eq(self.policy, other.policy)
            && self.statement == other.statement
    }
}

/// How many determining statements a response keeps inline (more are counted).
pub const MAX_REASONS: usize = 8;

/// A fixed-capacity list of determining statements, so responses never allocate.
#[derive(Clone, Copy, Debug, Default)]
struct Reasons<'a> {
    items: [Option<Determining<'a>>; MAX_REASONS],
    len: usize,
    omitted: usize,
}

impl<'a> Reasons<'a> {
    fn push(&mut self, reason: Determining<'a>) {
        if self.items.iter().flatten().any(|r| *r == reason) {
            return;
        }
        match self.items.get_mut(self.len) {
            Some(slot) => {
                *slot = Some(reason);
                self.len += 1;
            }
            None => self.omitted += 1,
        }
    }

    fn iter(&self) -> impl Iterator<Item = &Determining<'a>> {
        self.items.iter().flatten()
    }
}

/// The answer to an authorization question. Never an error: anything that cannot be
/// decided denies.
#[derive(Clone, Copy, Debug)]
pub struct Response<'a> {
    decision: Decision,
    reasons: Reasons<'a>,
    main_account: bool,
}

impl<'a> Response<'a> {
    fn new(decision: Decision, reasons: Reasons<'a>) -> Response<'a> {
        Response { decision, reasons, main_account: false }
    }

    /// The decision.
    pub fn decision(&self) -> Decision {
        self.decision
    }

    /// The statements that decided: the matching Deny statements for ExplicitDeny, the
    /// matching Allow statements for Allow, none for ImplicitDeny.
    pub fn reasons(&self) -> impl Iterator<Item = &Determining<'a>> {
        self.reasons.iter()
    }

    /// Determining statements beyond [`MAX_REASONS`] that were counted but not kept.
    pub fn omitted_reasons(&self) -> usize {
        self.reasons.omitted
    }

    /// Whether the main account's unrestricted identity decided the identity stage.
    pub fn by_main_account(&self) -> bool {
        self.main_account
    }

    /// A sentence a person can read: what was asked, the decision, and why.
    pub fn explain(&self, request: &Request<'_>) -> String {
        let mut out = String::new();
        if let Err(why) = request.check() {
            let _ = write!(out, "the request is implicitly denied: {why}");
            return out;
        }
        let verdict = match self.decision {
            Decision::Allow => "allowed",
            Decision::ExplicitDeny => "explicitly denied",
            Decision::ImplicitDeny => "implicitly denied",
        };
        let _ = write!(out, "`{}` on `{}` is {verdict}", request.action, request.resource);
        if self.decision == Decision::ImplicitDeny {
            out.push_str(": no statement allows it");
            return out;
        }
        let mut reasons = self.reasons().peekable();
        if reasons.peek().is_none() && self.main_account {
            out.push_str(": the main account is not restricted by identity policies");
            return out;
        }
        out.push_str(" by ");
        let mut first = true;
        for r in reasons {
            if !first {
                out.push_str(", ");
            }
            first = false;
            let _ = write!(out, "{} policy `{}` Statement[{}]", r.scope, r.policy.name(), r.statement);
        }
        if self.reasons.omitted > 0 {
            let _ = write!(out, " and {} more", self.reasons.omitted);
        }
        out
    }

    /// The reasons as owned data, for logs and JSON output.
    pub fn to_report(&self) -> DecisionReport {
        DecisionReport {
            decision: self.decision,
            determining: self
                .reasons()
                .map(|r| StatementId {
                    scope: r.scope,
                    policy: r.policy.name().to_owned(),
                    statement: r.statement,
                })
                .collect(),
            omitted: self.reasons.omitted,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scope::Control => "control",
            Scope::Session => "session",
            Scope::Identity => "identity",
            Scope::ResourceGroup => "resource-group",
            Scope::Resource => "resource",
            Scope::Trust => "trust",
        })
    }
}

/// Owned form of a determining statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementId {
    /// Pipeline stage.
    pub scope: Scope,
    /// Policy name.
    pub policy: String,
    /// Statement index.
    pub statement: usize,
}

/// Owned form of a response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionReport {
    /// The decision.
    pub decision: Decision,
    /// The statements that decided.
    pub determining: Vec<StatementId>,
    /// Determining statements not listed.
    pub omitted: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct StatementRef {
    policy: u32,
    statement: u32,
}

#[derive(Clone, Debug, Default)]
struct ServiceIndex {
    /// Lower-cased action name → statements naming it exactly.
    exact: HashMap<Box<str>, Vec<StatementRef>, FixedState>,
    /// Lower-cased literal prefix of a wildcard action name → statements.
    prefixed: HashMap<Box<str>, Vec<StatementRef>, FixedState>,
    /// The distinct prefix lengths in `prefixed`, ascending.
    prefix_lengths: Vec<usize>,
}

#[derive(Clone, Debug, Default)]
struct Index {
    /// Lower-cased service code → its statements.
    services: HashMap<Box<str>, ServiceIndex, FixedState>,
    /// Statements that may match any service: `NotAction`, `*`, wildcard services.
    any_service: Vec<StatementRef>,
}

fn push_unique(list: &mut Vec<StatementRef>, item: StatementRef) {
    if list.last() != Some(&item) {
        list.push(item);
    }
}

impl Index {
    fn build(policies: &[Arc<Policy>]) -> Index {
        let mut index = Index::default();
        for (p, policy) in policies.iter().enumerate() {
            for (s, statement) in policy.statements.iter().enumerate() {
                let item = StatementRef {
                    policy: u32::try_from(p).unwrap_or(u32::MAX),
                    statement: u32::try_from(s).unwrap_or(u32::MAX),
                };
                if statement.not_action {
                    push_unique(&mut index.any_service, item);
                    continue;
                }
                for pattern in &statement.actions {
                    let literal = pattern.literal_prefix();
                    let Some((service, name)) = literal.split_once(':') else {
                        push_unique(&mut index.any_service, item);
                        continue;
                    };
                    let entry = index.services.entry(service.into()).or_default();
                    if pattern.is_wildcard() {
                        push_unique(entry.prefixed.entry(name.into()).or_default(), item);
                        if let Err(at) = entry.prefix_lengths.binary_search(&name.len()) {
                            entry.prefix_lengths.insert(at, name.len());
                        }
                    } else {
                        push_unique(entry.exact.entry(name.into()).or_default(), item);
                    }
                }
            }
        }
        index
    }
}

/// Longest action whose candidates are looked up through the index: every action within
/// the request limits. A longer one (unreachable: evaluation denies it first) would be
/// checked against every statement.
const MAX_INDEXED_ACTION: usize = MAX_ACTION_BYTES;

/// An immutable, indexed set of policies that is evaluated as one.
#[derive(Clone, Debug, Default)]
pub struct PolicySet {
    policies: Vec<Arc<Policy>>,
    index: Index,
}

impl PolicySet {
    /// Builds the set and its index.
    pub fn new(policies: impl IntoIterator<Item = Arc<Policy>>) -> PolicySet {
        let policies: Vec<Arc<Policy>> = policies.into_iter().collect();
        let index = Index::build(&policies);
        PolicySet { policies, index }
    }

    /// The policies, in the order given.
    pub fn policies(&self) -> &[Arc<Policy>] {
        &self.policies
    }

    /// Total number of statements.
    pub fn statement_count(&self) -> usize {
        self.policies.iter().map(|p| p.len()).sum()
    }

    /// Whether the set holds no policies.
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    fn statement(&self, r: StatementRef) -> Option<(&Policy, &CompiledStatement)> {
        let policy = self.policies.get(r.policy as usize)?;
        Some((policy, policy.statements.get(r.statement as usize)?))
    }

    /// Evaluates `request` against this set alone (deny wins, else allow, else
    /// implicit deny), labelling determining statements with `scope`.
    pub fn evaluate(&self, scope: Scope, request: &Request<'_>) -> Response<'_> {
        self.evaluate_with(scope, request, |_| true)
    }

    /// Evaluates with an extra per-statement filter (used for trust principals).
    fn evaluate_with(
        &self,
        scope: Scope,
        request: &Request<'_>,
        accept: impl Fn(&CompiledStatement) -> bool,
    ) -> Response<'_> {
        if request.check().is_err() {
            // Over the limits: denied before any statement is looked at.
            return Response::new(Decision::ImplicitDeny, Reasons::default());
        }
        let mut allows = Reasons::default();
        let mut denies = Reasons::default();
        let mut visit = |r: StatementRef| {
            let Some((policy, statement)) = self.statement(r) else { return };
            if !statement.applies(request) || !accept(statement) {
                return;
            }
            let reason = Determining { scope, policy, statement: r.statement as usize };
            match statement.effect {
                Effect::Allow => allows.push(reason),
                Effect::Deny => denies.push(reason),
            }
        };
        for &r in &self.index.any_service {
            visit(r);
        }
        let mut buffer = [0u8; MAX_INDEXED_ACTION];
        match lowercase_into(request.action, &mut buffer) {
            Some(action) => {
                if let Some((service, name)) = action.split_once(':')
                    && let Some(entry) = self.index.services.get(service)
                {
                    for &r in entry.exact.get(name).into_iter().flatten() {
                        visit(r);
                    }
                    for &len in &entry.prefix_lengths {
                        let Some(prefix) = name.get(..len) else { continue };
                        for &r in entry.prefixed.get(prefix).into_iter().flatten() {
                            visit(r);
                        }
                    }
                }
            }
            None => {
                // Too long for the index: check every statement.
                for (p, policy) in self.policies.iter().enumerate() {
                    for s in 0..policy.statements.len() {
                        visit(StatementRef {
                            policy: u32::try_from(p).unwrap_or(u32::MAX),
                            statement: u32::try_from(s).unwrap_or(u32::MAX),
                        });
                    }
                }
            }
        }
        if denies.len > 0 || denies.omitted > 0 {
            Response::new(Decision::ExplicitDeny, denies)
        } else if allows.len > 0 || allows.omitted > 0 {
            Response::new(Decision::Allow, allows)
        } else {
            Response::new(Decision::ImplicitDeny, Reasons::default())
        }
    }

    /// Evaluates a trust policy set: statements apply only when their `Principal` names
    /// `caller`.
    /// A caller whose names are longer than [`MAX_RESOURCE_BYTES`] is denied.
    pub fn evaluate_trust(&self, request: &Request<'_>, caller: &TrustedCaller<'_>) -> Response<'_> {
        let names = [caller.arn, caller.account, caller.service, caller.federated];
        if names.iter().flatten().any(|name| name.len() > MAX_RESOURCE_BYTES) {
            return Response::new(Decision::ImplicitDeny, Reasons::default());
        }
        self.evaluate_with(Scope::Trust, request, |statement| {
            statement.principals.as_ref().is_some_and(|p| {
                let ram = caller.arn.is_some_and(|arn| p.ram.iter().any(|pat| pat.matches(arn)))
                    || caller.account.is_some_and(|account| {
                        p.ram.iter().any(|pat| {
                            pat.as_str().strip_prefix("acs:ram::").and_then(|r| r.strip_suffix(":root"))
                                == Some(account)
                        })
                    });
                let service = caller.service.is_some_and(|s| p.service.iter().any(|pat| pat.matches(s)));
                let federated =
                    caller.federated.is_some_and(|f| p.federated.iter().any(|pat| pat.matches(f)));
                ram || service || federated
            })
        })
    }
}

/// ASCII-lower-cases `text` into `buffer`; `None` if it does not fit.
fn lowercase_into<'b>(text: &str, buffer: &'b mut [u8; MAX_INDEXED_ACTION]) -> Option<&'b str> {
    let out = buffer.get_mut(..text.len())?;
    for (o, b) in out.iter_mut().zip(text.bytes()) {
        *o = b.to_ascii_lowercase();
    }
    // Lower-casing ASCII bytes keeps UTF-8 valid.
    std::str::from_utf8(out).ok()
}

/// Who is asking to assume a role, as a trust policy sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrustedCaller<'a> {
    /// The caller's ARN, e.g. `acs:ram::123:user/alice`.
    pub arn: Option<&'a str>,
    /// The caller's account ID (matches `acs:ram::<account>:root`).
    pub account: Option<&'a str>,
    /// A cloud service, e.g. `ecs.aliyuncs.com`.
    pub service: Option<&'a str>,
    /// An identity provider.
    pub federated: Option<&'a str>,
}

/// Who is calling, for the pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Caller {
    /// The main account: identity policies do not restrict it; control policies and
    /// explicit Deny in resource policies still apply.
    MainAccount,
    /// A RAM user or role session: every stage applies.
    RamIdentity,
}

/// The policy sets of one authorization question, by pipeline stage.
#[derive(Clone, Copy, Debug)]
pub struct PolicyInputs<'a> {
    /// Control policies (if the account is in a resource directory): must allow.
    pub control: Option<&'a PolicySet>,
    /// Session policy (role sessions): must allow.
    pub session: Option<&'a PolicySet>,
    /// Identity policies at account scope (own ∪ groups).
    pub identity: &'a PolicySet,
    /// Identity policies at resource-group scope, consulted on ImplicitDeny only.
    pub resource_group: Option<&'a PolicySet>,
    /// Policies attached to the resource.
    pub resource: Option<&'a PolicySet>,
}

impl<'a> PolicyInputs<'a> {
    /// Only identity policies.
    pub fn identity(identity: &'a PolicySet) -> PolicyInputs<'a> {
        PolicyInputs { control: None, session: None, identity, resource_group: None, resource: None }
    }
}

/// Runs the full pipeline:
/// 1. control policies, if any, must allow (else their deny is the answer);
/// 2. a session policy, if any, must allow;
/// 3. identity policies at account scope, then — only on ImplicitDeny — at
///    resource-group scope (the main account skips this stage: unrestricted);
/// 4. combined with resource policies: an explicit Deny anywhere wins, else any Allow.
///
/// A request over the limits ([`Request::check`]) is denied (ImplicitDeny) for every
/// caller, the main account included.
pub fn authorize<'a>(caller: Caller, inputs: &PolicyInputs<'a>, request: &Request<'_>) -> Response<'a> {
    if request.check().is_err() {
        return Response::new(Decision::ImplicitDeny, Reasons::default());
    }
    for (set, scope) in [(inputs.control, Scope::Control), (inputs.session, Scope::Session)] {
        if let Some(set) = set {
            let r = set.evaluate(scope, request);
            if r.decision != Decision::Allow {
                return r;
            }
        }
    }
    let identity = match caller {
        Caller::MainAccount => {
            Response { main_account: true, ..Response::new(Decision::Allow, Reasons::default()) }
        }
        Caller::RamIdentity => {
            let account = inputs.identity.evaluate(Scope::Identity, request);
            match (account.decision, inputs.resource_group) {
                (Decision::ImplicitDeny, Some(group)) => group.evaluate(Scope::ResourceGroup, request),
                _ => account,
            }
        }
    };
    let resource = inputs.resource.map(|set| set.evaluate(Scope::Resource, request));
    match resource {
        None => identity,
        Some(resource) => match (identity.decision, resource.decision) {
            (Decision::ExplicitDeny, _) => identity,
            (_, Decision::ExplicitDeny) => resource,
            (Decision::Allow, _) => identity,
            (_, Decision::Allow) => resource,
            _ => identity,
        },
    }
}

/// Role assumption: the caller's identity policies must allow `sts:AssumeRole` on the
/// role, and the role's trust policy must allow the caller. Returns the first stage
/// that does not allow, or the trust policy's Allow.
pub fn authorize_assume_role<'a>(
    caller: Caller,
    identity: &PolicyInputs<'a>,
    trust: &'a PolicySet,
    trusted: &TrustedCaller<'_>,
    request: &Request<'_>,
) -> Response<'a> {
    let by_identity = authorize(caller, identity, request);
    if by_identity.decision != Decision::Allow {
        return by_identity;
    }
    trust.evaluate_trust(request, trusted)
}
