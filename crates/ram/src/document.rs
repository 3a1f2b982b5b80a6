//! Policy documents: the RAM JSON grammar, the validator that reports every finding at
//! once, the canonical JSON form, and the compiled `Policy` that evaluation uses.
//!
//! Owns the grammar and its findings. Evaluation order and decisions live in `eval`;
//! wildcard matching in `glob`; operator semantics in `condition`.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::condition::{Condition, Family, Number, Operator, parse_number};
use crate::context::Request;
use crate::glob::{Case, Pattern};
use crate::json::{self, LineIndex, Member, Node, Position, Value};

/// The default document size limit, in characters.
pub const DEFAULT_MAX_CHARS: usize = 6_144;

/// Service codes known to the validator; an action of another service is a lint.
pub const KNOWN_SERVICES: &[&str] = &[
    "antcloudauth",
    "yundun-cloudauth",
    "yundun-saf",
    "cloudauth",
    "ram",
    "sts",
    "oss",
    "ecs",
    "kms",
    "log",
    "actiontrail",
    "resourcemanager",
    "vpc",
    "bss",
];

/// `Allow` or `Deny`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Effect {
    /// Grants the matched actions.
    Allow,
    /// Forbids the matched actions; beats any Allow.
    Deny,
}

/// Which kind of policy a document is; decides which members are required.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PolicyKind {
    /// Attached to users, groups and roles (also control and session policies):
    /// `Resource` required, no `Principal`.
    Identity,
    /// A role's trust policy: `Principal` required, no `Resource`.
    Trust,
    /// Attached to a resource: `Principal` and `Resource` required.
    Resource,
}

/// How strictly to parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseOptions {
    /// The kind of document.
    pub kind: PolicyKind,
    /// Size limit in characters (Unicode scalar values of the text as given).
    pub max_chars: usize,
    /// In strict mode an unknown condition operator is an error; otherwise a lint, and
    /// the statement fails closed (an Allow never applies, a Deny always does).
    pub strict: bool,
}

impl ParseOptions {
    /// Identity policy, default size limit, strict.
    pub fn identity() -> ParseOptions {
        ParseOptions { kind: PolicyKind::Identity, max_chars: DEFAULT_MAX_CHARS, strict: true }
    }

    /// Trust policy, default size limit, strict.
    pub fn trust() -> ParseOptions {
        ParseOptions { kind: PolicyKind::Trust, ..ParseOptions::identity() }
    }

    /// Resource policy, default size limit, strict.
    pub fn resource() -> ParseOptions {
        ParseOptions { kind: PolicyKind::Resource, ..ParseOptions::identity() }
    }

    /// The same options with another size limit.
    pub fn with_max_chars(self, max_chars: usize) -> ParseOptions {
        ParseOptions { max_chars, ..self }
    }

    /// The same options, lenient about unknown operators.
    pub fn lenient(self) -> ParseOptions {
        ParseOptions { strict: false, ..self }
    }
}

/// Whether a finding blocks the document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Severity {
    /// The document is rejected.
    Error,
    /// Accepted, but probably not what the author meant.
    Lint,
}

/// One validator finding, located by JSON path and position.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Error or lint.
    pub severity: Severity,
    /// JSON path of the offending value, e.g. `Statement[2].Condition.IpAddress`.
    pub path: String,
    /// Where it starts in the text.
    pub position: Position,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Lint => "lint",
        };
        let path = if self.path.is_empty() { "document" } else { &self.path };
        write!(f, "{severity} at {path} ({}): {}", self.position, self.message)
    }
}

/// A document that could not be accepted, with every finding (errors and lints).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid policy document: {}", summary(.findings))]
pub struct PolicyError {
    findings: Vec<Finding>,
}

fn summary(findings: &[Finding]) -> String {
    let errors: Vec<String> =
        findings.iter().filter(|f| f.severity == Severity::Error).map(ToString::to_string).collect();
    errors.join("; ")
}

impl PolicyError {
    /// All findings, errors first, in document order.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// Only the errors.
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.severity == Severity::Error)
    }
}

/// `Action` or `NotAction`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ActionSpec {
    /// Matches the listed actions.
    Action(Vec<String>),
    /// Matches every action except the listed ones.
    NotAction(Vec<String>),
}

/// `Resource` or `NotResource`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ResourceSpec {
    /// Matches the listed resources.
    Resource(Vec<String>),
    /// Matches every resource except the listed ones.
    NotResource(Vec<String>),
}

/// `Principal` of a trust or resource policy: lists per principal type.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Principal {
    /// `RAM`: account roots (`acs:ram::<uid>:root`) or principal ARNs.
    pub ram: Vec<String>,
    /// `Service`: cloud services, e.g. `ecs.aliyuncs.com`.
    pub service: Vec<String>,
    /// `Federated`: identity providers.
    pub federated: Vec<String>,
}

/// One statement as written (after normalising single values to lists).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Statement {
    /// Allow or Deny.
    pub effect: Effect,
    /// The actions it covers.
    pub action: ActionSpec,
    /// The resources it covers (`None` in trust policies).
    pub resource: Option<ResourceSpec>,
    /// Who it applies to (trust and resource policies).
    pub principal: Option<Principal>,
    /// Operator name → key → values.
    pub condition: BTreeMap<String, BTreeMap<String, Vec<String>>>,
}

/// A policy document as written, in canonical form.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PolicyDocument {
    /// The statements, in document order.
    pub statements: Vec<Statement>,
}

impl PolicyDocument {
    /// The canonical JSON value: `Version` "1", members sorted by name, every value
    /// list written as a JSON list of strings.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        let list = |items: &[String]| J::Array(items.iter().cloned().map(J::String).collect());
        let statements = self
            .statements
            .iter()
            .map(|s| {
                let mut members: Vec<(String, J)> = Vec::new();
                let effect = match s.effect {
                    Effect::Allow => "Allow",
                    Effect::Deny => "Deny",
                };
                members.push(("Effect".into(), J::String(effect.into())));
                members.push(match &s.action {
                    ActionSpec::Action(a) => ("Action".into(), list(a)),
                    ActionSpec::NotAction(a) => ("NotAction".into(), list(a)),
                });
                match &s.resource {
                    Some(ResourceSpec::Resource(r)) => members.push(("Resource".into(), list(r))),
                    Some(ResourceSpec::NotResource(r)) => members.push(("NotResource".into(), list(r))),
                    None => {}
                }
                if let Some(p) = &s.principal {
                    let principal = [("RAM", &p.ram), ("Service", &p.service), ("Federated", &p.federated)]
                        .into_iter()
                        .filter(|(_, items)| !items.is_empty())
                        .map(|(name, items)| (name.to_owned(), list(items)))
                        .collect();
                    members.push(("Principal".into(), sorted_object(principal)));
                }
                if !s.condition.is_empty() {
                    let operators = s
                        .condition
                        .iter()
                        .map(|(op, keys)| {
                            let keys = keys.iter().map(|(k, v)| (k.clone(), list(v))).collect();
                            (op.clone(), sorted_object(keys))
                        })
                        .collect();
                    members.push(("Condition".into(), sorted_object(operators)));
                }
                sorted_object(members)
            })
            .collect();
        sorted_object(vec![
            ("Statement".into(), J::Array(statements)),
            ("Version".into(), J::String("1".into())),
        ])
    }
}

/// A JSON object with its members in byte order of their names. Built explicitly so
/// the canonical form does not depend on whether some other crate in the build turned
/// on serde_json's `preserve_order` feature.
fn sorted_object(mut members: Vec<(String, serde_json::Value)>) -> serde_json::Value {
    members.sort_by(|a, b| a.0.cmp(&b.0));
    serde_json::Value::Object(members.into_iter().collect())
}

impl fmt::Display for PolicyDocument {
    /// The canonical compact JSON text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

/// A statement compiled for evaluation.
#[derive(Clone, Debug)]
pub(crate) struct CompiledStatement {
    pub(crate) effect: Effect,
    pub(crate) actions: Vec<Pattern>,
    pub(crate) not_action: bool,
    /// `None`: no resource element (trust policies), matches any resource.
    pub(crate) resources: Option<Vec<Pattern>>,
    pub(crate) not_resource: bool,
    pub(crate) principals: Option<CompiledPrincipal>,
    pub(crate) conditions: Vec<Condition>,
    /// An unknown operator was accepted leniently: the statement fails closed.
    pub(crate) unknown_condition: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct CompiledPrincipal {
    pub(crate) ram: Vec<Pattern>,
    pub(crate) service: Vec<Pattern>,
    pub(crate) federated: Vec<Pattern>,
}

impl CompiledStatement {
    pub(crate) fn matches_action(&self, action: &str) -> bool {
        self.actions.iter().any(|p| p.matches(action)) != self.not_action
    }

    pub(crate) fn matches_resource(&self, resource: &str) -> bool {
        match &self.resources {
            None => true,
            Some(patterns) => patterns.iter().any(|p| p.matches(resource)) != self.not_resource,
        }
    }

    /// Whether this statement applies to `request` (action, resource and conditions).
    pub(crate) fn applies(&self, request: &Request<'_>) -> bool {
        if !self.matches_action(request.action) || !self.matches_resource(request.resource) {
            return false;
        }
        if self.unknown_condition {
            // Fail closed: an Allow we cannot understand never grants, a Deny always denies.
            return self.effect == Effect::Deny;
        }
        let mut all_hold = true;
        for condition in &self.conditions {
            match condition.holds(&request.context) {
                Some(holds) => all_hold &= holds,
                // A condition that cannot be decided fails closed, like an unknown
                // operator, whatever the other conditions say.
                None => return self.effect == Effect::Deny,
            }
        }
        all_hold
    }
}

/// A parsed, validated and compiled policy: immutable, cheap to share (`Arc`).
#[derive(Clone, Debug)]
pub struct Policy {
    name: Arc<str>,
    document: PolicyDocument,
    pub(crate) statements: Vec<CompiledStatement>,
    lints: Vec<Finding>,
}

impl Policy {
    /// Parses and compiles `text`. On failure the error lists every finding.
    pub fn parse(name: &str, text: &str, options: &ParseOptions) -> Result<Policy, PolicyError> {
        let mut checker = Checker { text, options, findings: Vec::new(), lines: None };
        let document = checker.document();
        let findings = checker.findings;
        match document {
            Some(document) if !findings.iter().any(|f| f.severity == Severity::Error) => {
                let statements = compile(&document);
                Ok(Policy { name: name.into(), document, statements, lints: findings })
            }
            _ => {
                let mut findings = findings;
                findings.sort_by_key(|f| f.severity);
                Err(PolicyError { findings })
            }
        }
    }

    /// The policy's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The document as written (canonical form).
    pub fn document(&self) -> &PolicyDocument {
        &self.document
    }

    /// Lints found while parsing (the document was accepted).
    pub fn lints(&self) -> &[Finding] {
        &self.lints
    }

    /// Number of statements.
    pub fn len(&self) -> usize {
        self.statements.len()
    }

    /// Whether the policy has no statements.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }
}

/// Reports every finding of `text` (errors and lints) without compiling.
pub fn validate(text: &str, options: &ParseOptions) -> Vec<Finding> {
    match Policy::parse("", text, options) {
        Ok(policy) => policy.lints,
        Err(err) => err.findings,
    }
}

fn compile(document: &PolicyDocument) -> Vec<CompiledStatement> {
    let patterns = |items: &[String], case| items.iter().map(|i| Pattern::new(i, case)).collect::<Vec<_>>();
    document
        .statements
        .iter()
        .map(|s| {
            let (actions, not_action) = match &s.action {
                ActionSpec::Action(a) => (patterns(a, Case::AsciiInsensitive), false),
                ActionSpec::NotAction(a) => (patterns(a, Case::AsciiInsensitive), true),
            };
            let (resources, not_resource) = match &s.resource {
                Some(ResourceSpec::Resource(r)) => (Some(patterns(r, Case::Sensitive)), false),
                Some(ResourceSpec::NotResource(r)) => (Some(patterns(r, Case::Sensitive)), true),
                None => (None, false),
            };
            let principals = s.principal.as_ref().map(|p| CompiledPrincipal {
                ram: patterns(&p.ram, Case::Sensitive),
                service: patterns(&p.service, Case::AsciiInsensitive),
                federated: patterns(&p.federated, Case::Sensitive),
            });
            let mut conditions = Vec::new();
            let mut unknown_condition = false;
            for (op, keys) in &s.condition {
                let Ok(operator) = op.parse::<Operator>() else {
                    unknown_condition = true;
                    continue;
                };
                for (key, values) in keys {
                    // Values were validated by the checker; a failure here cannot happen,
                    // but if it did the statement fails closed rather than widening.
                    match Condition::compile(operator, key, values) {
                        Ok(c) => conditions.push(c),
                        Err(_) => unknown_condition = true,
                    }
                }
            }
            CompiledStatement {
                effect: s.effect,
                actions,
                not_action,
                resources,
                not_resource,
                principals,
                conditions,
                unknown_condition,
            }
        })
        .collect()
}

/// Walks the JSON tree, building the document and collecting findings.
///
/// Every finding costs O(log lines) for its position (one line table, built on the first
/// finding) plus the length of its own path and message; paths are rendered only for
/// findings. The size limit is checked first and stops all work.
struct Checker<'a> {
    text: &'a str,
    options: &'a ParseOptions,
    findings: Vec<Finding>,
    lines: Option<LineIndex>,
}

impl Checker<'_> {
    fn report(&mut self, severity: Severity, path: Path<'_>, offset: usize, message: impl Into<String>) {
        let lines = self.lines.get_or_insert_with(|| LineIndex::new(self.text));
        let position = lines.position(self.text, offset);
        self.findings.push(Finding { severity, path: path.to_string(), position, message: message.into() });
    }

    fn error(&mut self, path: Path<'_>, offset: usize, message: impl Into<String>) {
        self.report(Severity::Error, path, offset, message);
    }

    fn lint(&mut self, path: Path<'_>, offset: usize, message: impl Into<String>) {
        self.report(Severity::Lint, path, offset, message);
    }

    fn document(&mut self) -> Option<PolicyDocument> {
        let top = Path::Root;
        let limit = self.options.max_chars;
        // A character takes at least one byte: only a longer text can be over the limit,
        // and counting stops at the first character beyond it.
        if self.text.len() > limit
            && let Some((beyond, _)) = self.text.char_indices().nth(limit)
        {
            // Nothing else is read: the document is refused before any parsing.
            self.findings.push(Finding {
                severity: Severity::Error,
                path: String::new(),
                position: Position::at(self.text, beyond),
                message: format!("document has more than {limit} characters; the limit is {limit}"),
            });
            return None;
        }
        let root = match json::parse(self.text) {
            Ok(root) => root,
            Err(e) => {
                self.error(top, e.offset, format!("not valid JSON: {}", e.message));
                return None;
            }
        };
        let members = self.object(&root, top)?;
        let mut version = None;
        let mut statements = None;
        for m in self.unique(members, top) {
            match m.key.as_str() {
                "Version" => version = Some(&m.value),
                "Statement" => statements = Some(&m.value),
                other => self.error(
                    top.member(other),
                    m.key_offset,
                    format!("unknown member `{other}`; a policy has `Version` and `Statement`"),
                ),
            }
        }
        match version.map(|v| &v.value) {
            None => self.error(top, root.offset, "missing `Version`; write \"Version\": \"1\""),
            Some(Value::String(v)) if v == "1" => {}
            Some(_) => {
                let offset = version.map_or(0, |v| v.offset);
                self.error(top.member("Version"), offset, "`Version` must be the string \"1\"");
            }
        }
        let Some(statements) = statements else {
            self.error(top, root.offset, "missing `Statement`");
            return None;
        };
        let statements_path = top.member("Statement");
        let items: Vec<&Node> = match &statements.value {
            Value::Array(items) => items.iter().collect(),
            Value::Object(_) => vec![statements],
            other => {
                let kind = other.kind();
                self.error(
                    statements_path,
                    statements.offset,
                    format!("`Statement` must be a list of objects, not {kind}"),
                );
                return None;
            }
        };
        if items.is_empty() {
            self.lint(statements_path, statements.offset, "the policy has no statements and allows nothing");
        }
        let parsed: Vec<Option<Statement>> =
            items.iter().enumerate().map(|(i, node)| self.statement(node, statements_path.item(i))).collect();
        parsed.into_iter().collect::<Option<Vec<_>>>().map(|statements| PolicyDocument { statements })
    }

    fn object<'n>(&mut self, node: &'n Node, path: Path<'_>) -> Option<&'n [Member]> {
        match &node.value {
            Value::Object(members) => Some(members),
            other => {
                let kind = other.kind();
                self.error(path, node.offset, format!("expected an object, found {kind}"));
                None
            }
        }
    }

    /// Members of an object, reporting duplicated names (the later one is ignored).
    fn unique<'n>(&mut self, members: &'n [Member], path: Path<'_>) -> Vec<&'n Member> {
        let mut names: HashSet<&str> = HashSet::with_capacity(members.len());
        let mut seen: Vec<&'n Member> = Vec::with_capacity(members.len());
        for m in members {
            if names.insert(&m.key) {
                seen.push(m);
            } else {
                self.error(path.member(&m.key), m.key_offset, format!("member `{}` appears twice", m.key));
            }
        }
        seen
    }

    /// A string or list of strings; bare numbers and booleans are accepted with a lint.
    fn strings(&mut self, node: &Node, path: Path<'_>) -> Option<Vec<String>> {
        let one = |this: &mut Self, node: &Node, path: Path<'_>| -> Option<String> {
            match &node.value {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => {
                    this.lint(path, node.offset, format!("write the number as a string: \"{n}\""));
                    Some(n.clone())
                }
                Value::Bool(b) => {
                    this.lint(path, node.offset, format!("write the boolean as a string: \"{b}\""));
                    Some(b.to_string())
                }
                other => {
                    let kind = other.kind();
                    this.error(path, node.offset, format!("expected a string, found {kind}"));
                    None
                }
            }
        };
        match &node.value {
            Value::Array(items) => {
                let values: Vec<Option<String>> =
                    items.iter().enumerate().map(|(i, item)| one(self, item, path.item(i))).collect();
                values.into_iter().collect()
            }
            _ => one(self, node, path).map(|v| vec![v]),
        }
    }

    fn statement(&mut self, node: &Node, path: Path<'_>) -> Option<Statement> {
        let members = self.object(node, path)?;
        let mut effect = None;
        let mut action = None;
        let mut not_action = None;
        let mut resource = None;
        let mut not_resource = None;
        let mut principal = None;
        let mut condition = BTreeMap::new();
        let mut ok = true;
        for m in self.unique(members, path) {
            let p = path.member(&m.key);
            match m.key.as_str() {
                "Effect" => match &m.value.value {
                    Value::String(e) if e == "Allow" => effect = Some(Effect::Allow),
                    Value::String(e) if e == "Deny" => effect = Some(Effect::Deny),
                    _ => {
                        self.error(p, m.value.offset, "`Effect` must be \"Allow\" or \"Deny\"");
                        ok = false;
                    }
                },
                "Action" => action = Some(self.actions(&m.value, p)),
                "NotAction" => not_action = Some(self.actions(&m.value, p)),
                "Resource" => resource = Some(self.resources(&m.value, p)),
                "NotResource" => not_resource = Some(self.resources(&m.value, p)),
                "Principal" => principal = Some(self.principal(&m.value, p)),
                "Condition" => match self.condition(&m.value, p) {
                    Some(c) => condition = c,
                    None => ok = false,
                },
                other => {
                    self.error(
                        p,
                        m.key_offset,
                        format!(
                            "unknown member `{other}`; a statement has Effect, Action or NotAction, \
                             Resource or NotResource, Principal and Condition"
                        ),
                    );
                    ok = false;
                }
            }
        }
        if effect.is_none() && ok {
            self.error(path, node.offset, "missing `Effect`");
            ok = false;
        }
        let action = match (action, not_action) {
            (Some(_), Some(_)) => {
                self.error(path, node.offset, "a statement has `Action` or `NotAction`, not both");
                None
            }
            (Some(a), None) => a.map(ActionSpec::Action),
            (None, Some(a)) => a.map(ActionSpec::NotAction),
            (None, None) => {
                self.error(path, node.offset, "missing `Action` (or `NotAction`)");
                None
            }
        };
        // Whether the statement names its resources at all, even if malformed: a bad
        // `Resource` is reported once, not also as a missing one.
        let resource_written = resource.is_some() || not_resource.is_some();
        let resource = match (resource, not_resource) {
            (Some(_), Some(_)) => {
                self.error(path, node.offset, "a statement has `Resource` or `NotResource`, not both");
                ok = false;
                None
            }
            (Some(r), None) | (None, Some(r)) if r.is_none() => {
                ok = false;
                None
            }
            (Some(r), None) => r.map(ResourceSpec::Resource),
            (None, Some(r)) => r.map(ResourceSpec::NotResource),
            (None, None) => None,
        };
        let kind = self.options.kind;
        match (kind, resource_written) {
            (PolicyKind::Identity | PolicyKind::Resource, false) if ok => {
                self.error(path, node.offset, "missing `Resource`; use \"*\" for every resource");
                ok = false;
            }
            (PolicyKind::Trust, true) => {
                self.error(path, node.offset, "a trust policy has no `Resource`");
                ok = false;
            }
            _ => {}
        }
        match (kind, principal.is_some()) {
            (PolicyKind::Identity, true) => {
                self.error(path, node.offset, "`Principal` belongs in trust and resource policies only");
                ok = false;
            }
            (PolicyKind::Trust | PolicyKind::Resource, false) => {
                self.error(path, node.offset, "missing `Principal`");
                ok = false;
            }
            _ => {}
        }
        let principal = match principal {
            Some(Some(p)) => Some(p),
            Some(None) => {
                ok = false;
                None
            }
            None => None,
        };
        if !ok {
            return None;
        }
        Some(Statement { effect: effect?, action: action?, resource, principal, condition })
    }

    fn actions(&mut self, node: &Node, path: Path<'_>) -> Option<Vec<String>> {
        let actions = self.strings(node, path)?;
        if actions.is_empty() {
            self.error(path, node.offset, "the action list must not be empty");
            return None;
        }
        let mut ok = true;
        for (i, action) in actions.iter().enumerate() {
            let item_path = path.item_of(node, i);
            let offset = item_offset(node, i);
            if action.chars().all(|c| c == '*') && !action.is_empty() {
                continue;
            }
            match action.split_once(':') {
                Some((service, name)) if !service.is_empty() && !name.is_empty() => {
                    let wild = service.contains(['*', '?']);
                    if !wild && !KNOWN_SERVICES.iter().any(|k| k.eq_ignore_ascii_case(service)) {
                        self.lint(
                            item_path,
                            offset,
                            format!("unknown service code `{service}` in action `{action}`"),
                        );
                    }
                }
                _ if action.contains(['*', '?']) => self.lint(
                    item_path,
                    offset,
                    format!(
                        "action pattern `{action}` is not `<service-code>:<ActionName>`; it is matched \
                         as written, as a wildcard over the whole action name"
                    ),
                ),
                _ => {
                    self.error(
                        item_path,
                        offset,
                        format!("action `{action}` must be `<service-code>:<ActionName>` or `*`"),
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(actions)
    }

    fn resources(&mut self, node: &Node, path: Path<'_>) -> Option<Vec<String>> {
        let resources = self.strings(node, path)?;
        if resources.is_empty() {
            self.error(path, node.offset, "the resource list must not be empty");
            return None;
        }
        let mut ok = true;
        for (i, resource) in resources.iter().enumerate() {
            let item_path = path.item_of(node, i);
            if resource.chars().all(|c| c == '*') && !resource.is_empty() {
                continue;
            }
            if let Err(why) = crate::arn::Arn::check_pattern(resource) {
                if resource.contains(['*', '?']) {
                    // Wildcards may stand anywhere, even for whole fields [doc]: the pattern
                    // is decided as written, over the whole resource name.
                    self.lint(
                        item_path,
                        item_offset(node, i),
                        format!(
                            "resource pattern `{resource}` is not of the form \
                             `acs:<service>:<region>:<account-id>:<relative-id>`; it is matched as \
                             written, as a wildcard over the whole resource name"
                        ),
                    );
                } else {
                    self.error(item_path, item_offset(node, i), why);
                    ok = false;
                }
            }
        }
        ok.then_some(resources)
    }

    fn principal(&mut self, node: &Node, path: Path<'_>) -> Option<Principal> {
        if let Value::String(s) = &node.value
            && s == "*"
        {
            self.lint(path, node.offset, "`Principal: \"*\"` trusts everyone; name the accounts instead");
            return Some(Principal { ram: vec!["*".into()], ..Principal::default() });
        }
        let members = self.object(node, path)?;
        let mut principal = Principal::default();
        let mut ok = true;
        for m in self.unique(members, path) {
            let p = path.member(&m.key);
            let values = self.strings(&m.value, p);
            let slot = match m.key.as_str() {
                "RAM" => &mut principal.ram,
                "Service" => &mut principal.service,
                "Federated" => &mut principal.federated,
                other => {
                    self.error(
                        p,
                        m.key_offset,
                        format!("unknown principal type `{other}`; use RAM, Service or Federated"),
                    );
                    ok = false;
                    continue;
                }
            };
            match values {
                Some(v) => *slot = v,
                None => ok = false,
            }
        }
        if principal.ram.is_empty() && principal.service.is_empty() && principal.federated.is_empty() && ok {
            self.error(path, node.offset, "`Principal` names nobody");
            ok = false;
        }
        ok.then_some(principal)
    }

    fn condition(
        &mut self,
        node: &Node,
        path: Path<'_>,
    ) -> Option<BTreeMap<String, BTreeMap<String, Vec<String>>>> {
        let members = self.object(node, path)?;
        let mut out = BTreeMap::new();
        let mut ok = true;
        for m in self.unique(members, path) {
            let op_path = path.member(&m.key);
            let operator = m.key.parse::<Operator>().ok();
            if operator.is_none() {
                let message = format!("unknown condition operator `{}`", m.key);
                if self.options.strict {
                    self.error(op_path, m.key_offset, message);
                    ok = false;
                } else {
                    self.lint(op_path, m.key_offset, format!("{message}; the statement fails closed"));
                }
            }
            let Some(keys) = self.object(&m.value, op_path) else {
                ok = false;
                continue;
            };
            if keys.is_empty() {
                self.error(op_path, m.value.offset, "a condition operator needs at least one key");
                ok = false;
            }
            let mut key_map = BTreeMap::new();
            for k in self.unique(keys, op_path) {
                let key_path = op_path.member(&k.key);
                let Some(values) = self.strings(&k.value, key_path) else {
                    ok = false;
                    continue;
                };
                if values.is_empty() {
                    self.error(key_path, k.value.offset, "a condition key needs at least one value");
                    ok = false;
                    continue;
                }
                if let Some(operator) = operator
                    && let Err((i, why)) = Condition::compile(operator, &k.key, &values)
                {
                    self.error(key_path.item_of(&k.value, i), item_offset(&k.value, i), why);
                    ok = false;
                    continue;
                }
                if operator.is_some_and(|o| o.family() == Family::Numeric) {
                    for (i, v) in values.iter().enumerate() {
                        if parse_number(v) == Some(Number::OutOfRange) {
                            self.lint(
                                key_path.item_of(&k.value, i),
                                item_offset(&k.value, i),
                                format!(
                                    "`{v}` does not fit an exact decimal (at most 28 decimal places, \
                                     magnitude below 7.9e28); a comparison that needs it cannot be \
                                     decided, so the statement fails closed"
                                ),
                            );
                        }
                    }
                }
                key_map.insert(k.key.clone(), values);
            }
            out.insert(m.key.clone(), key_map);
        }
        ok.then_some(out)
    }
}

/// A JSON path (`Statement[2].Condition.IpAddress`), kept as borrowed links and written
/// out only when a finding needs it, so walking a document copies no path text.
#[derive(Clone, Copy, Debug)]
enum Path<'p> {
    /// The document itself (written as an empty path).
    Root,
    /// A member of an object.
    Member(&'p Path<'p>, &'p str),
    /// An item of a list.
    Item(&'p Path<'p>, usize),
}

impl<'p> Path<'p> {
    fn member(&'p self, key: &'p str) -> Path<'p> {
        Path::Member(self, key)
    }

    fn item(&'p self, index: usize) -> Path<'p> {
        Path::Item(self, index)
    }

    /// Item `index` of a list node; a single value stands for its own one-item list.
    fn item_of(&'p self, node: &Node, index: usize) -> Path<'p> {
        match node.value {
            Value::Array(_) => Path::Item(self, index),
            _ => *self,
        }
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Member(Path::Root, key) => f.write_str(key),
            Path::Member(parent, key) => write!(f, "{parent}.{key}"),
            Path::Item(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

/// The offset of item `i` of a list node, or the node itself for a single value.
fn item_offset(node: &Node, i: usize) -> usize {
    match &node.value {
        Value::Array(items) => items.get(i).map_or(node.offset, |n| n.offset),
        _ => node.offset,
    }
}

/// Serialized as the canonical policy JSON.
impl Serialize for PolicyDocument {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

/// Deserialized through the validating parser (identity grammar; trust and resource
/// documents are accepted too, by their `Principal`).
impl<'de> Deserialize<'de> for PolicyDocument {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        let text = value.to_string();
        let has_principal = value
            .get("Statement")
            .and_then(|s| s.as_array())
            .is_some_and(|list| list.iter().any(|s| s.get("Principal").is_some()));
        let has_resource = value.get("Statement").and_then(|s| s.as_array()).is_some_and(|list| {
            list.iter().any(|s| s.get("Resource").is_some() || s.get("NotResource").is_some())
        });
        let options = match (has_principal, has_resource) {
            (true, true) => ParseOptions::resource(),
            (true, false) => ParseOptions::trust(),
            _ => ParseOptions::identity(),
        }
        .lenient()
        .with_max_chars(usize::MAX);
        Policy::parse("", &text, &options).map(|p| p.document).map_err(serde::de::Error::custom)
    }
}

/// A policy persists as its name, kind and canonical document, and is recompiled on load.
#[derive(Serialize, Deserialize)]
struct PolicyRepr {
    name: String,
    document: PolicyDocument,
}

impl Serialize for Policy {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        PolicyRepr { name: self.name.to_string(), document: self.document.clone() }.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Policy {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let repr = PolicyRepr::deserialize(deserializer)?;
        let statements = compile(&repr.document);
        Ok(Policy { name: repr.name.into(), document: repr.document, statements, lints: Vec::new() })
    }
}

impl PartialEq for Policy {
    fn eq(&self, other: &Policy) -> bool {
        self.name == other.name && self.document == other.document
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<Finding> {
        Policy::parse("p", text, &ParseOptions::identity()).unwrap_err().findings
    }

    #[test]
    fn single_value_equals_one_element_list() {
        let a = Policy::parse(
            "a",
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:Get*","Resource":"*"}]}"#,
            &ParseOptions::identity(),
        )
        .unwrap();
        let b = Policy::parse(
            "a",
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":["ram:Get*"],"Resource":["*"]}]}"#,
            &ParseOptions::identity(),
        )
        .unwrap();
        assert_eq!(a.document(), b.document());
    }

    #[test]
    fn path_and_position_of_a_bad_cidr() {
        let text = "{\"Version\":\"1\",\"Statement\":[\n{\"Effect\":\"Allow\",\"Action\":\"ram:*\",\"Resource\":\"*\"},\n{\"Effect\":\"Allow\",\"Action\":\"ram:*\",\"Resource\":\"*\"},\n{\"Effect\":\"Deny\",\"Action\":\"ram:*\",\"Resource\":\"*\",\n \"Condition\":{\"IpAddress\":{\"acs:SourceIp\":[\"10.0.0.0/8\",\"300.1.1.1\"]}}}]}";
        let found = errors(text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].path, "Statement[2].Condition.IpAddress.acs:SourceIp[1]");
        assert_eq!(found[0].position, Position { line: 5, column: 57 });
        assert!(found[0].to_string().contains("`300.1.1.1` is not an IP address"), "{}", found[0]);
    }

    #[test]
    fn validator_reports_every_finding() {
        let text = r#"{"Version":"1","Statement":[
            {"Effect":"Allow","Action":"ram:Get","NotAction":"ram:List","Resource":"*"},
            {"Effect":"Allow","Action":"nosuchsvc:Get","Resource":"*","Condition":{"StringEqualz":{"k":"v"}}},
            {"Effect":"Allow","Action":"ram:Get","Resource":"arn:bad","Condition":{"NumericEquals":{"k":5}}},
            {"Effect":"Allow","Action":"ram:Get","Resource":"*","Condition":{"DateLessThan":{"acs:CurrentTime":"tomorrow"}}}
        ]}"#;
        let found = validate(text, &ParseOptions::identity());
        let messages: Vec<String> = found.iter().map(ToString::to_string).collect();
        let has = |needle: &str| messages.iter().any(|m| m.contains(needle));
        assert!(has("`Action` or `NotAction`, not both"), "{messages:#?}");
        assert!(has("unknown service code `nosuchsvc`"), "{messages:#?}");
        assert!(has("unknown condition operator `StringEqualz`"), "{messages:#?}");
        assert!(has("Statement[2].Resource"), "{messages:#?}");
        assert!(has("write the number as a string"), "{messages:#?}");
        assert!(has("`tomorrow` is not an ISO 8601 date"), "{messages:#?}");
        assert_eq!(found.iter().filter(|f| f.severity == Severity::Lint).count(), 2, "{messages:#?}");
    }

    fn statement(action: &str, resource: &str) -> String {
        format!(
            r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"{resource}"}}]}}"#
        )
    }

    #[test]
    fn wildcard_patterns_the_language_allows_are_lints_not_errors() {
        // (action, resource, lints): every pattern is accepted; those that are not of the
        // documented shape get a lint each.
        for (action, resource, lints) in [
            ("antcloudauth:*", "*scene*", 1),
            ("antcloudauth:*", "*:antcloudauth:*:*:scene/*", 1),
            ("antcloudauth:*", "ac?:antcloudauth:*:*:scene/*", 1),
            ("antcloudauth:*", "acs:antcloudauth:*", 1),
            ("antcloudauth:*", "acs:*", 1),
            ("antcloudauth:*", "acs:*:*cn-beijing*:*:*", 0),
            ("antcloudauth*", "*", 1),
            ("antcloudauth?InitFaceVerify", "*scene*", 2),
            ("*:Describe*", "*", 0),
            ("antcloud?uth:Init*", "*", 0),
        ] {
            let text = statement(action, resource);
            let policy = Policy::parse("p", &text, &ParseOptions::identity())
                .unwrap_or_else(|e| panic!("{action} / {resource}: {e}"));
            assert_eq!(policy.lints().len(), lints, "{action} / {resource}: {:#?}", policy.lints());
            assert!(
                policy.lints().iter().all(|l| l.message.contains("matched as written")),
                "{:#?}",
                policy.lints()
            );
        }
    }

    #[test]
    fn literal_non_arn_resources_and_non_actions_stay_errors() {
        for (action, resource, needle) in [
            ("ram:*", "acs:ram:cn", "acs:<service>:<region>:<account-id>:<relative-id>"),
            ("ram:*", "scene", "acs:<service>:<region>:<account-id>:<relative-id>"),
            ("antcloudauth", "*", "<service-code>:<ActionName>"),
            ("antcloudauth:", "*", "<service-code>:<ActionName>"),
        ] {
            let found = errors(&statement(action, resource));
            assert!(found.iter().any(|f| f.message.contains(needle)), "{action} / {resource}: {found:#?}");
        }
    }

    #[test]
    fn a_malformed_resource_is_not_also_missing() {
        for member in ["Resource", "NotResource"] {
            let text = format!(
                r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"ram:*","{member}":["*","acs:ram:cn"]}}]}}"#
            );
            let found = errors(&text);
            assert_eq!(found.len(), 1, "{found:#?}");
            assert_eq!(found[0].path, format!("Statement[0].{member}[1]"));
            let found = errors(&format!(
                r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"ram:*","{member}":[]}}]}}"#
            ));
            assert_eq!(found.len(), 1, "{found:#?}");
            assert!(found[0].message.contains("must not be empty"), "{found:#?}");
        }
    }

    #[test]
    fn the_size_limit_stops_all_work_with_one_finding() {
        // Far over the limit and full of errors: only the size is reported, located at
        // the first character beyond the limit.
        let bad = r#"{"Effect":"Allow","Action":"bad","Resource":"acs:bad","Conditon":{}}"#;
        let text = format!("{{\"Version\":\"2\",\"Statement\":[\n{}]}}", vec![bad; 1_000].join(",\n"));
        let found = validate(&text, &ParseOptions::identity());
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].message, "document has more than 6144 characters; the limit is 6144");
        assert_eq!(
            found[0].position,
            Position::at(&text, text.char_indices().nth(DEFAULT_MAX_CHARS).unwrap().0)
        );
        // Not even valid JSON: still only the size.
        let found = validate(&"[".repeat(10_000), &ParseOptions::identity());
        assert_eq!(found.len(), 1, "{found:#?}");
        // The limit counts characters, not bytes.
        let name = "名".repeat(40);
        let text = format!(
            r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"ram:*","Resource":"acs:ram::1:user/{name}"}}]}}"#
        );
        let chars = text.chars().count();
        assert!(text.len() > chars + 40);
        assert!(Policy::parse("p", &text, &ParseOptions::identity().with_max_chars(chars)).is_ok());
        assert!(Policy::parse("p", &text, &ParseOptions::identity().with_max_chars(chars - 1)).is_err());
    }

    #[test]
    fn many_findings_and_duplicates_are_all_reported_in_order() {
        // One line, a thousand distinct members and a thousand duplicates: each duplicate
        // is reported once, after the first, with its own column.
        let members: Vec<String> = (0..1_000).map(|i| format!(r#""k{i}":"v""#)).collect();
        let keys = format!("{},{}", members.join(","), members.join(","));
        let text = format!(
            r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"ram:*","Resource":"*","Condition":{{"StringEquals":{{{keys}}}}}}}]}}"#
        );
        let found = validate(&text, &ParseOptions::identity().with_max_chars(usize::MAX));
        assert_eq!(found.len(), 1_000, "{:#?}", &found[..3]);
        assert!(found.iter().all(|f| f.message.ends_with("appears twice")));
        assert_eq!(found[0].path, "Statement[0].Condition.StringEquals.k0");
        assert_eq!(found[999].path, "Statement[0].Condition.StringEquals.k999");
        for f in &found {
            let offset = text.rfind(&format!(r#""{}":"#, f.path.rsplit('.').next().unwrap())).unwrap();
            assert_eq!(f.position, Position::at(&text, offset), "{}", f.path);
        }
        assert!(found.windows(2).all(|w| w[0].position < w[1].position));
    }

    #[test]
    fn strict_and_lenient_unknown_operator() {
        let text = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:*","Resource":"*","Condition":{"StringEqualsIfExists":{"k":"v"}}}]}"#;
        assert!(Policy::parse("p", text, &ParseOptions::identity()).is_err());
        let lenient = Policy::parse("p", text, &ParseOptions::identity().lenient()).unwrap();
        assert_eq!(lenient.lints().len(), 1);
        assert!(lenient.statements[0].unknown_condition);
    }

    #[test]
    fn structural_errors() {
        let cases = [
            (r#"{"Statement":[]}"#, "missing `Version`"),
            (r#"{"Version":"2","Statement":[]}"#, "must be the string \"1\""),
            (r#"{"Version":1,"Statement":[]}"#, "must be the string \"1\""),
            (r#"{"Version":"1"}"#, "missing `Statement`"),
            (
                r#"{"Version":"1","Statement":[{"Effect":"allow","Action":"ram:*","Resource":"*"}]}"#,
                "\"Allow\" or \"Deny\"",
            ),
            (r#"{"Version":"1","Statement":[{"Effect":"Allow","Resource":"*"}]}"#, "missing `Action`"),
            (r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:*"}]}"#, "missing `Resource`"),
            (
                r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":[],"Resource":"*"}]}"#,
                "must not be empty",
            ),
            (
                r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"InitFaceVerify","Resource":"*"}]}"#,
                "<service-code>:<ActionName>",
            ),
            (
                r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:*","Resource":"*","Conditon":{}}]}"#,
                "unknown member `Conditon`",
            ),
            (
                r#"{"Version":"1","Statement":[{"Effect":"Allow","Effect":"Deny","Action":"ram:*","Resource":"*"}]}"#,
                "appears twice",
            ),
            (
                r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:*","Resource":"acs:ram:cn"}]}"#,
                "acs:<service>:<region>:<account-id>:<relative-id>",
            ),
            (
                r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:*","Resource":"*","Principal":{"RAM":"*"}}]}"#,
                "trust and resource policies only",
            ),
            (
                r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:*","Resource":"*","Condition":{"Bool":{"k":"yes"}}}]}"#,
                "not `true` or `false`",
            ),
            (
                r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:*","Resource":"*","Condition":{"Bool":{}}}]}"#,
                "at least one key",
            ),
            (
                r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":{"a":1},"Resource":"*"}]}"#,
                "expected a string, found an object",
            ),
            ("[1,2", "not valid JSON"),
        ];
        for (text, needle) in cases {
            let found = errors(text);
            assert!(found.iter().any(|f| f.message.contains(needle)), "{text}: {found:#?}");
        }
    }

    #[test]
    fn trust_policy_grammar() {
        let trust = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["acs:ram::123456789012:root"]}}]}"#;
        let policy = Policy::parse("t", trust, &ParseOptions::trust()).unwrap();
        assert_eq!(policy.document().statements[0].principal.as_ref().unwrap().ram.len(), 1);
        assert!(Policy::parse("t", trust, &ParseOptions::identity()).is_err());
        let with_resource = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*","Principal":{"RAM":"x"}}]}"#;
        assert!(Policy::parse("t", with_resource, &ParseOptions::trust()).is_err());
    }

    #[test]
    fn canonical_print_parse_identity() {
        let text = r#"{"Statement":[{"Resource":"*","Action":"antcloudauth:Describe*","Effect":"Allow",
            "Condition":{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"},"Bool":{"acs:SecureTransport":true}}}],"Version":"1"}"#;
        let first = Policy::parse("p", text, &ParseOptions::identity()).unwrap();
        let printed = first.document().to_string();
        assert_eq!(
            printed,
            r#"{"Statement":[{"Action":["antcloudauth:Describe*"],"Condition":{"Bool":{"acs:SecureTransport":["true"]},"IpAddress":{"acs:SourceIp":["10.0.0.0/8"]}},"Effect":"Allow","Resource":["*"]}],"Version":"1"}"#
        );
        let second = Policy::parse("p", &printed, &ParseOptions::identity()).unwrap();
        assert_eq!(first.document(), second.document());
        assert!(second.lints().is_empty());
    }
}
