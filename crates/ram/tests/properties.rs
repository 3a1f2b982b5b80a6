//! Property tests: the Cedar theorems (deny wins, default deny, order and duplicate
//! independence, monotonicity), a differential test of the indexed evaluator against a
//! naive oracle, canonical round trips, and garbage that must never panic the parser.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, reason = "tests")]

use std::sync::Arc;

use proptest::prelude::*;
use shiren_ram::*;

const ACTION_PATTERNS: &[&str] = &[
    "*",
    "antcloudauth:*",
    "antcloudauth:Init*",
    "antcloudauth:InitFaceVerify",
    "AntCloudAuth:initfaceverify",
    "antcloudauth:Describe*",
    "antcloudauth:????FaceVerify",
    "antcloudauth:*Verify",
    "ram:*",
    "*:Describe*",
];
const ACTIONS: &[&str] = &[
    "antcloudauth:InitFaceVerify",
    "antcloudauth:DescribeFaceVerify",
    "antcloudauth:DeleteFaceVerifyResult",
    "ram:ListUsers",
    "ram:DescribeX",
];
const RESOURCE_PATTERNS: &[&str] = &["*", "acs:oss:*:*:bucket/*", "acs:oss:r:1:bucket/a:b", "acs:*:*:*:*"];
const RESOURCES: &[&str] = &["*", "acs:oss:r:1:bucket/a:b", "acs:oss:r:1:other/x"];
const CONDITIONS: &[&str] = &[
    "",
    r#","Condition":{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"}}"#,
    r#","Condition":{"NotIpAddress":{"acs:SourceIp":"10.0.0.0/8"}}"#,
    r#","Condition":{"Bool":{"acs:SecureTransport":"true"}}"#,
];
const IPS: &[Option<&str>] = &[None, Some("10.1.1.1"), Some("8.8.8.8")];

#[derive(Clone, Debug)]
struct Stmt {
    deny: bool,
    not_action: bool,
    actions: Vec<usize>,
    resources: Vec<usize>,
    condition: usize,
}

impl Stmt {
    fn json(&self) -> String {
        let actions: Vec<String> =
            self.actions.iter().map(|&a| format!("{:?}", ACTION_PATTERNS[a])).collect();
        let resources: Vec<String> =
            self.resources.iter().map(|&r| format!("{:?}", RESOURCE_PATTERNS[r])).collect();
        format!(
            r#"{{"Effect":"{}","{}":[{}],"Resource":[{}]{}}}"#,
            if self.deny { "Deny" } else { "Allow" },
            if self.not_action { "NotAction" } else { "Action" },
            actions.join(","),
            resources.join(","),
            CONDITIONS[self.condition]
        )
    }
}

fn stmt() -> impl Strategy<Value = Stmt> {
    (
        any::<bool>(),
        prop::bool::weighted(0.15),
        prop::collection::vec(0..ACTION_PATTERNS.len(), 1..3),
        prop::collection::vec(0..RESOURCE_PATTERNS.len(), 1..3),
        0..CONDITIONS.len(),
    )
        .prop_map(|(deny, not_action, actions, resources, condition)| Stmt {
            deny,
            not_action,
            actions,
            resources,
            condition,
        })
}

/// Policies as lists of statements.
fn policies() -> impl Strategy<Value = Vec<Vec<Stmt>>> {
    prop::collection::vec(prop::collection::vec(stmt(), 0..4), 0..4)
}

#[derive(Clone, Copy, Debug)]
struct Req {
    action: usize,
    resource: usize,
    ip: usize,
    secure: Option<bool>,
}

fn req() -> impl Strategy<Value = Req> {
    (0..ACTIONS.len(), 0..RESOURCES.len(), 0..IPS.len(), prop::option::of(any::<bool>()))
        .prop_map(|(action, resource, ip, secure)| Req { action, resource, ip, secure })
}

fn build(policies: &[Vec<Stmt>]) -> PolicySet {
    PolicySet::new(policies.iter().enumerate().map(|(i, statements)| {
        let body: Vec<String> = statements.iter().map(Stmt::json).collect();
        let text = format!(r#"{{"Version":"1","Statement":[{}]}}"#, body.join(","));
        Arc::new(Policy::parse(&format!("p{i}"), &text, &ParseOptions::identity()).unwrap())
    }))
}

fn decide(set: &PolicySet, r: Req) -> Decision {
    let mut ctx: Vec<(&str, ContextValue<'_>)> = Vec::new();
    if let Some(ip) = IPS[r.ip] {
        ctx.push((keys::SOURCE_IP, ContextValue::Str(ip)));
    }
    if let Some(secure) = r.secure {
        ctx.push((keys::SECURE_TRANSPORT, ContextValue::Bool(secure)));
    }
    let request = Request::new(ACTIONS[r.action], RESOURCES[r.resource]).with_context(&ctx);
    set.evaluate(Scope::Identity, &request).decision()
}

/// The naive oracle: regexes for wildcards, hand-written conditions, no index.
fn oracle(policies: &[Vec<Stmt>], r: Req) -> Decision {
    let glob = |pattern: &str, text: &str, insensitive: bool| {
        let mut re = String::from(if insensitive { "(?si)^" } else { "(?s)^" });
        for c in pattern.chars() {
            match c {
                '*' => re.push_str(".*"),
                '?' => re.push('.'),
                c => re.push_str(&regex::escape(&c.to_string())),
            }
        }
        re.push('$');
        regex::Regex::new(&re).unwrap().is_match(text)
    };
    let in_ten = IPS[r.ip].map(|ip| ip.starts_with("10."));
    let mut allow = false;
    for s in policies.iter().flatten() {
        let action_hit =
            s.actions.iter().any(|&a| glob(ACTION_PATTERNS[a], ACTIONS[r.action], true)) != s.not_action;
        let resource_hit =
            s.resources.iter().any(|&p| glob(RESOURCE_PATTERNS[p], RESOURCES[r.resource], false));
        let condition = match s.condition {
            0 => true,
            1 => in_ten == Some(true),
            2 => in_ten != Some(true),
            _ => r.secure == Some(true),
        };
        if action_hit && resource_hit && condition {
            if s.deny {
                return Decision::ExplicitDeny;
            }
            allow = true;
        }
    }
    if allow { Decision::Allow } else { Decision::ImplicitDeny }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn indexed_evaluation_equals_naive_oracle(p in policies(), r in req()) {
        prop_assert_eq!(decide(&build(&p), r), oracle(&p, r));
    }

    #[test]
    fn deny_wins(p in policies(), r in req()) {
        let mut with_deny = p.clone();
        with_deny.push(vec![Stmt { deny: true, not_action: false, actions: vec![0], resources: vec![0], condition: 0 }]);
        prop_assert_eq!(decide(&build(&with_deny), r), Decision::ExplicitDeny);
    }

    #[test]
    fn default_deny(p in policies(), r in req()) {
        let only_denies: Vec<Vec<Stmt>> =
            p.into_iter().map(|s| s.into_iter().map(|s| Stmt { deny: true, ..s }).collect()).collect();
        prop_assert_ne!(decide(&build(&only_denies), r), Decision::Allow);
        prop_assert_eq!(decide(&PolicySet::default(), r), Decision::ImplicitDeny);
    }

    #[test]
    fn order_and_duplicates_never_matter(p in policies(), r in req(), seed in any::<u64>()) {
        let expected = decide(&build(&p), r);
        // Flatten, duplicate some statements, and redistribute in another order.
        let mut all: Vec<Stmt> = p.iter().flatten().cloned().collect();
        let extra: Vec<Stmt> = all.iter().step_by(2).cloned().collect();
        all.extend(extra);
        let mut state = seed | 1;
        for i in (1..all.len()).rev() {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            all.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let regrouped: Vec<Vec<Stmt>> = all.chunks(3).map(<[Stmt]>::to_vec).collect();
        prop_assert_eq!(decide(&build(&regrouped), r), expected);
        let mut doubled = p.clone();
        doubled.extend(p.iter().cloned());
        prop_assert_eq!(decide(&build(&doubled), r), expected);
    }

    #[test]
    fn adding_an_allow_never_turns_allow_into_deny(p in policies(), extra in stmt(), r in req()) {
        let before = decide(&build(&p), r);
        let mut more = p.clone();
        more.push(vec![Stmt { deny: false, ..extra }]);
        let after = decide(&build(&more), r);
        if before == Decision::Allow { prop_assert_eq!(after, Decision::Allow); }
        if before == Decision::ExplicitDeny { prop_assert_eq!(after, Decision::ExplicitDeny); }
    }

    #[test]
    fn adding_a_deny_never_turns_deny_into_allow(p in policies(), extra in stmt(), r in req()) {
        let before = decide(&build(&p), r);
        let mut more = p.clone();
        more.push(vec![Stmt { deny: true, ..extra }]);
        let after = decide(&build(&more), r);
        if before != Decision::Allow { prop_assert_ne!(after, Decision::Allow); }
    }

    #[test]
    fn canonical_print_parse_is_identity(p in policies()) {
        for policy in build(&p).policies() {
            let printed = policy.document().to_string();
            let again = Policy::parse("p", &printed, &ParseOptions::identity()).unwrap();
            prop_assert_eq!(again.document(), policy.document());
            prop_assert_eq!(again.document().to_string(), printed);
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        if let Err(err) = Policy::parse("g", &text, &ParseOptions::identity()) {
            prop_assert!(err.errors().count() > 0);
        }
    }

    #[test]
    fn random_json_never_panics_and_errors_say_where(value in arbitrary_json()) {
        let text = serde_json::to_string(&value).unwrap();
        for options in [ParseOptions::identity(), ParseOptions::trust().lenient(), ParseOptions::resource()] {
            if let Err(err) = Policy::parse("g", &text, &options) {
                for finding in err.findings() {
                    let shown = finding.to_string();
                    prop_assert!(shown.contains(" at ") && shown.contains("line "), "{}", shown);
                    prop_assert!(finding.position.line >= 1 && finding.position.column >= 1);
                }
            }
        }
    }

    #[test]
    fn mutated_policies_never_panic(p in policies(), cut in any::<usize>(), byte in any::<u8>()) {
        for policy in build(&p).policies() {
            let mut text = policy.document().to_string().into_bytes();
            if !text.is_empty() {
                let at = cut % text.len();
                text[at] = byte;
            }
            let text = String::from_utf8_lossy(&text);
            let _ = Policy::parse("m", &text, &ParseOptions::identity());
        }
    }
}

/// The whole-string glob as a regular expression: the oracle for pattern decisions.
fn glob_regex(pattern: &str) -> regex::Regex {
    let mut re = String::from("(?s)^");
    for c in pattern.chars() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            other => re.push_str(&regex::escape(&other.to_string())),
        }
    }
    re.push('$');
    regex::Regex::new(&re).unwrap()
}

proptest! {
    /// Any wildcard pattern is accepted as a Resource or an Action — whatever its
    /// fields — and decided as written: a whole-string glob, `*` crossing `:` and `/`.
    #[test]
    fn wildcard_patterns_are_accepted_and_decided_as_written(
        resource_pattern in "[acs:ob/*?]{0,12}[*?][acs:ob/*?]{0,12}",
        action_pattern in "[aAbB:*?]{0,6}[*?][aAbB:*?]{0,6}",
        resource in "[acs:ob/]{0,16}",
        action in "[aAbB:]{1,10}",
    ) {
        let text = format!(
            r#"{{"Version":"1","Statement":[{{"Effect":"Deny","Action":"{action_pattern}","Resource":"{resource_pattern}"}}]}}"#
        );
        let policy = Policy::parse("w", &text, &ParseOptions::identity());
        prop_assert!(policy.is_ok(), "{}: {:?}", text, policy.err());
        let set = PolicySet::new([Arc::new(policy.unwrap())]);
        let expected = glob_regex(&resource_pattern).is_match(&resource)
            && glob_regex(&action_pattern.to_ascii_lowercase()).is_match(&action.to_ascii_lowercase());
        let decision = set.evaluate(Scope::Identity, &Request::new(&action, &resource)).decision();
        prop_assert_eq!(decision == Decision::ExplicitDeny, expected, "{} on {}", action, resource);
    }
}

proptest! {
    /// A request is refused at construction exactly when evaluation would deny it for
    /// being over the limits: everything within them is decided by the policies.
    #[test]
    fn limits_at_construction_and_at_evaluation_agree(
        action_len in (MAX_ACTION_BYTES - 2)..(MAX_ACTION_BYTES + 2),
        resource_len in (MAX_RESOURCE_BYTES - 2)..(MAX_RESOURCE_BYTES + 2),
        entries in (MAX_CONTEXT_ENTRIES - 2)..(MAX_CONTEXT_ENTRIES + 2),
        value_len in (MAX_CONTEXT_VALUE_BYTES - 2)..(MAX_CONTEXT_VALUE_BYTES + 2),
        small in 0usize..4,
    ) {
        // Usually only one dimension sits at the edge; `small` picks which stay short.
        let action = format!("ram:{}", "A".repeat(if small == 0 { action_len - 4 } else { 10 }));
        let resource = "r".repeat(if small == 1 { resource_len } else { 10 });
        let value = "v".repeat(if small == 2 { value_len } else { 10 });
        let context: Vec<(&str, ContextValue<'_>)> =
            vec![("k", ContextValue::Str(&value)); if small == 3 { entries } else { 1 }];
        let built = Request::try_new(&action, &resource).and_then(|r| r.try_with_context(&context));
        let unchecked = Request::new(&action, &resource).with_context(&context);
        let set = PolicySet::new([Arc::new(
            Policy::parse("all", r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#, &ParseOptions::identity()).unwrap(),
        )]);
        let decision = set.evaluate(Scope::Identity, &unchecked).decision();
        prop_assert_eq!(built.is_ok(), decision == Decision::Allow, "{:?}", built.err());
        prop_assert_eq!(built.is_ok(), unchecked.check().is_ok());
    }
}

/// JSON values biased towards the policy grammar's member names.
fn arbitrary_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value as J;
    let names = prop::sample::select(vec![
        "Version",
        "Statement",
        "Effect",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
        "Principal",
        "RAM",
        "IpAddress",
        "Bool",
        "StringLike",
        "DateLessThan",
        "acs:SourceIp",
        "x",
    ]);
    let leaf = prop_oneof![
        Just(J::Null),
        any::<bool>().prop_map(J::Bool),
        any::<i32>().prop_map(J::from),
        prop::sample::select(vec![
            "1",
            "Allow",
            "Deny",
            "*",
            "antcloudauth:*",
            "10.0.0.0/8",
            "acs:a:b:c:d",
            ""
        ])
        .prop_map(|s| J::String(s.into())),
        ".{0,12}".prop_map(J::String),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(J::Array),
            prop::collection::vec((names.clone(), inner), 0..5).prop_map(|members| J::Object(
                members.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
            )),
        ]
    })
}
