//! Evaluation through the public API: system policies against real action names, the
//! bugs seen in other engines, the pipeline, role assumption and the directory.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use shiren_ram::*;

fn policy(text: &str) -> Arc<Policy> {
    Arc::new(Policy::parse("p", text, &ParseOptions::identity()).unwrap())
}

fn named(name: &str, text: &str) -> Arc<Policy> {
    Arc::new(Policy::parse(name, text, &ParseOptions::identity()).unwrap())
}

fn system(name: &str) -> Arc<Policy> {
    Arc::new(system_policy(name).unwrap().unwrap())
}

fn decide(set: &PolicySet, action: &str, resource: &str) -> Decision {
    set.evaluate(Scope::Identity, &Request::new(action, resource)).decision()
}

const SERVICE_ACTIONS: &[&str] = &[
    "antcloudauth:InitFaceVerify",
    "antcloudauth:DescribeFaceVerify",
    "antcloudauth:ContrastFaceVerify",
    "antcloudauth:CompareFaceVerify",
    "antcloudauth:LivenessFaceVerify",
    "antcloudauth:DeleteFaceVerifyResult",
    "antcloudauth:CreateAntCloudAuthScene",
    "antcloudauth:UpdateAntCloudAuthScene",
    "antcloudauth:DeleteAntCloudAuthScene",
    "antcloudauth:DescribeListAntCloudAuthScenes",
    "antcloudauth:QueryVerifyFlowPackage",
    "antcloudauth:DescribeOssStatus",
];

#[test]
fn full_access_allows_every_service_action_and_nothing_else() {
    let set = PolicySet::new([system("AliyunAntCloudAuthFullAccess")]);
    for action in SERVICE_ACTIONS {
        assert_eq!(decide(&set, action, "*"), Decision::Allow, "{action}");
    }
    assert_eq!(decide(&set, "ram:CreateUser", "*"), Decision::ImplicitDeny);
    assert_eq!(decide(&set, "yundun-cloudauth:DescribeVerifyRecords", "*"), Decision::ImplicitDeny);
}

#[test]
fn read_only_allows_reads_and_denies_writes() {
    let set = PolicySet::new([system("AliyunAntCloudAuthReadOnlyAccess")]);
    let reads = [
        "antcloudauth:DescribeFaceVerify",
        "antcloudauth:DescribeListAntCloudAuthScenes",
        "antcloudauth:QueryVerifyFlowPackage",
        "antcloudauth:DescribeOssStatus",
        "antcloudauth:ListScenes",
        "antcloudauth:GetStatistics",
    ];
    for action in reads {
        assert_eq!(decide(&set, action, "*"), Decision::Allow, "{action}");
    }
    let writes = [
        "antcloudauth:InitFaceVerify",
        "antcloudauth:ContrastFaceVerify",
        "antcloudauth:CompareFaceVerify",
        "antcloudauth:LivenessFaceVerify",
        "antcloudauth:DeleteFaceVerifyResult",
        "antcloudauth:CreateAntCloudAuthScene",
        "antcloudauth:UpdateAntCloudAuthScene",
        "antcloudauth:DeleteAntCloudAuthScene",
    ];
    for action in writes {
        assert_eq!(decide(&set, action, "*"), Decision::ImplicitDeny, "{action}");
    }
}

#[test]
fn console_and_saf_system_policies() {
    let full = PolicySet::new([system("AliyunYundunCloudAuthFullAccess")]);
    assert_eq!(decide(&full, "yundun-cloudauth:CreateScene", "*"), Decision::Allow);
    assert_eq!(decide(&full, "antcloudauth:InitFaceVerify", "*"), Decision::ImplicitDeny);
    let read = PolicySet::new([system("AliyunYundunCloudAuthReadOnlyAccess")]);
    assert_eq!(decide(&read, "yundun-cloudauth:DescribeScenes", "*"), Decision::Allow);
    assert_eq!(decide(&read, "yundun-cloudauth:CreateScene", "*"), Decision::ImplicitDeny);
    let saf = PolicySet::new([system("AliyunYundunSAFFullAccess")]);
    assert_eq!(decide(&saf, "yundun-saf:ExecuteRequest", "*"), Decision::Allow);
    assert_eq!(decide(&saf, "ram:ListUserBasicInfos", "*"), Decision::Allow);
    assert_eq!(decide(&saf, "ram:ListUsers", "*"), Decision::ImplicitDeny);
}

// ---- Bugs seen in other engines -------------------------------------------------

#[test]
fn star_crosses_slash_and_colon_in_resources() {
    let set = PolicySet::new([policy(
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:GetObject","Resource":"acs:oss:*:*:bucket/*"}]}"#,
    )]);
    assert_eq!(
        decide(&set, "oss:GetObject", "acs:oss:cn-shanghai:1:bucket/verify/a/b:c.jpeg"),
        Decision::Allow
    );
    assert_eq!(decide(&set, "oss:GetObject", "acs:oss:cn-shanghai:1:other/x"), Decision::ImplicitDeny);
}

#[test]
fn question_only_action_pattern_is_a_wildcard() {
    let set = PolicySet::new([policy(
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"antcloudauth:????FaceVerify","Resource":"*"}]}"#,
    )]);
    assert_eq!(decide(&set, "antcloudauth:InitFaceVerify", "*"), Decision::Allow);
    assert_eq!(decide(&set, "antcloudauth:DescribeFaceVerify", "*"), Decision::ImplicitDeny);
}

#[test]
fn wildcard_patterns_of_any_shape_are_decided_as_written() {
    let options = ParseOptions::identity();
    let parse = |text: &str| Arc::new(Policy::parse("w", text, &options).unwrap());
    let set = PolicySet::new([
        parse(
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"antcloudauth*","Resource":"*scene*"}]}"#,
        ),
        parse(
            r#"{"Version":"1","Statement":[{"Effect":"Deny","Action":"ANTCLOUDAUTH*","Resource":"acs:antcloudauth:*"}]}"#,
        ),
    ]);
    assert_eq!(decide(&set, "antcloudauth:UpdateAntCloudAuthScene", "scene/1"), Decision::Allow);
    assert_eq!(decide(&set, "AntCloudAuth:InitFaceVerify", "my-scene-2"), Decision::Allow);
    assert_eq!(decide(&set, "antcloudauth:InitFaceVerify", "acs:oss:cn:1:bucket"), Decision::ImplicitDeny);
    assert_eq!(decide(&set, "ram:ListScenes", "scene/1"), Decision::ImplicitDeny);
    // The Deny (fewer fields, action without a colon) still applies across `:` and `/`.
    assert_eq!(
        decide(&set, "antcloudauth:UpdateAntCloudAuthScene", "acs:antcloudauth:cn:1:scene/1"),
        Decision::ExplicitDeny
    );
    let any_prefix = parse(
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*:*","Resource":"*:oss:*:*:bucket/*"}]}"#,
    );
    let set = PolicySet::new([any_prefix]);
    assert_eq!(decide(&set, "oss:GetObject", "acs:oss:cn:1:bucket/a:b"), Decision::Allow);
    assert_eq!(decide(&set, "oss:GetObject", "acs:oss:cn:1:other/a"), Decision::ImplicitDeny);
}

#[test]
fn actions_match_case_insensitively() {
    let set = PolicySet::new([policy(
        r#"{"Version":"1","Statement":[{"Effect":"Deny","Action":"AntCloudAuth:initfaceverify","Resource":"*"},
            {"Effect":"Allow","Action":"antcloudauth:*","Resource":"*"}]}"#,
    )]);
    assert_eq!(decide(&set, "antcloudauth:InitFaceVerify", "*"), Decision::ExplicitDeny);
    assert_eq!(decide(&set, "ANTCLOUDAUTH:INITFACEVERIFY", "*"), Decision::ExplicitDeny);
    assert_eq!(decide(&set, "antcloudauth:DescribeFaceVerify", "*"), Decision::Allow);
}

#[test]
fn arn_with_colon_in_relative_id_always_matches_itself_so_deny_holds() {
    let arn = "acs:oss:cn-shanghai:1234:cn-shanghai-aliyun-cloudauth-1234/verify/1234/a:b.jpeg";
    let text = format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Deny","Action":"oss:GetObject","Resource":"{arn}"}},
            {{"Effect":"Allow","Action":"oss:*","Resource":"*"}}]}}"#
    );
    let set = PolicySet::new([policy(&text)]);
    assert_eq!(decide(&set, "oss:GetObject", arn), Decision::ExplicitDeny);
}

#[test]
fn resources_match_case_sensitively() {
    let set = PolicySet::new([policy(
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:*","Resource":"acs:oss:*:*:Bucket/*"}]}"#,
    )]);
    assert_eq!(decide(&set, "oss:GetObject", "acs:oss:r:1:Bucket/x"), Decision::Allow);
    assert_eq!(decide(&set, "oss:GetObject", "acs:oss:r:1:bucket/x"), Decision::ImplicitDeny);
}

#[test]
fn bool_deny_does_not_fail_open_on_string_context() {
    let set = PolicySet::new([policy(
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"antcloudauth:*","Resource":"*"},
            {"Effect":"Deny","Action":"antcloudauth:*","Resource":"*","Condition":{"Bool":{"acs:SecureTransport":"false"}}}]}"#,
    )]);
    let check = |value: ContextValue<'_>| {
        let ctx = [(keys::SECURE_TRANSPORT, value)];
        set.evaluate(Scope::Identity, &Request::new("antcloudauth:InitFaceVerify", "*").with_context(&ctx))
            .decision()
    };
    assert_eq!(check(ContextValue::Bool(false)), Decision::ExplicitDeny);
    assert_eq!(check(ContextValue::Str("false")), Decision::ExplicitDeny);
    assert_eq!(check(ContextValue::Str("FALSE")), Decision::ExplicitDeny);
    assert_eq!(check(ContextValue::Bool(true)), Decision::Allow);
    // Not a boolean at all: the Bool condition does not hold, so the Deny does not apply.
    assert_eq!(check(ContextValue::Str("0")), Decision::Allow);
}

#[test]
fn lenient_unknown_operator_fails_closed_both_ways() {
    let options = ParseOptions::identity().lenient();
    let allow = Policy::parse(
        "a",
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"antcloudauth:*","Resource":"*","Condition":{"StringEqualsIfExists":{"k":"v"}}}]}"#,
        &options,
    )
    .unwrap();
    let set = PolicySet::new([Arc::new(allow)]);
    assert_eq!(decide(&set, "antcloudauth:InitFaceVerify", "*"), Decision::ImplicitDeny);
    let deny = Policy::parse(
        "d",
        r#"{"Version":"1","Statement":[{"Effect":"Deny","Action":"antcloudauth:*","Resource":"*","Condition":{"StringEqualsIfExists":{"k":"v"}}}]}"#,
        &options,
    )
    .unwrap();
    let set = PolicySet::new([system("AliyunAntCloudAuthFullAccess"), Arc::new(deny)]);
    assert_eq!(decide(&set, "antcloudauth:InitFaceVerify", "*"), Decision::ExplicitDeny);
}

#[test]
fn numeric_deny_compares_exact_decimals_beyond_f64() {
    // 2^53 + 1 rounds to 2^53 as an f64, so a float comparison let this request through.
    let set = PolicySet::new([
        system("AliyunAntCloudAuthFullAccess"),
        policy(
            r#"{"Version":"1","Statement":[{"Effect":"Deny","Action":"antcloudauth:*","Resource":"*",
                "Condition":{"NumericGreaterThan":{"acs:ResourceTag/quota":"9007199254740992"}}}]}"#,
        ),
    ]);
    let check = |value: &str| {
        let ctx = [("acs:ResourceTag/quota", ContextValue::Str(value))];
        set.evaluate(Scope::Identity, &Request::new("antcloudauth:InitFaceVerify", "*").with_context(&ctx))
            .decision()
    };
    assert_eq!(check("9007199254740993"), Decision::ExplicitDeny);
    assert_eq!(check("9007199254740992.0000000000001"), Decision::ExplicitDeny);
    assert_eq!(check("9007199254740992"), Decision::Allow);
    let equals = PolicySet::new([policy(
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"antcloudauth:*","Resource":"*",
            "Condition":{"NumericEquals":{"k":"9007199254740993"}}}]}"#,
    )]);
    let ctx = [("k", ContextValue::Str("9007199254740992"))];
    let request = Request::new("antcloudauth:InitFaceVerify", "*").with_context(&ctx);
    assert_eq!(equals.evaluate(Scope::Identity, &request).decision(), Decision::ImplicitDeny);
}

#[test]
fn numbers_beyond_a_decimal_fail_closed_both_ways() {
    let statement = |effect: &str, value: &str| {
        format!(
            r#"{{"Version":"1","Statement":[{{"Effect":"{effect}","Action":"antcloudauth:*","Resource":"*",
                "Condition":{{"NumericLessThan":{{"k":"{value}"}},"StringEquals":{{"user":"bob"}}}}}}]}}"#
        )
    };
    let decide_with = |set: &PolicySet, value: ContextValue<'_>| {
        let ctx = [("k", value), ("user", ContextValue::Str("alice"))];
        set.evaluate(Scope::Identity, &Request::new("antcloudauth:InitFaceVerify", "*").with_context(&ctx))
            .decision()
    };
    // In the policy: accepted with a lint, and no comparison with it can be decided.
    let parsed = Policy::parse("p", &statement("Allow", "1e40"), &ParseOptions::identity()).unwrap();
    assert!(
        parsed.lints().iter().any(|l| l.message.contains("does not fit an exact decimal")),
        "{:?}",
        parsed.lints()
    );
    let allow = PolicySet::new([Arc::new(parsed)]);
    assert_eq!(decide_with(&allow, ContextValue::Str("5")), Decision::ImplicitDeny);
    let deny = PolicySet::new([system("AliyunAntCloudAuthFullAccess"), policy(&statement("Deny", "1e40"))]);
    assert_eq!(decide_with(&deny, ContextValue::Str("5")), Decision::ExplicitDeny);
    // In the request: the same, whether written as text or as an f64 that no decimal holds.
    let allow = PolicySet::new([policy(&statement("Allow", "10"))]);
    let deny = PolicySet::new([system("AliyunAntCloudAuthFullAccess"), policy(&statement("Deny", "10"))]);
    for huge in
        [ContextValue::Str("-1e40"), ContextValue::Number(-1e300), ContextValue::Number(f64::NEG_INFINITY)]
    {
        assert_eq!(decide_with(&allow, huge), Decision::ImplicitDeny, "{huge:?}");
        assert_eq!(decide_with(&deny, huge), Decision::ExplicitDeny, "{huge:?}");
    }
    // A number that fits is decided normally (the user is not bob, so the Deny is off).
    assert_eq!(decide_with(&deny, ContextValue::Str("5")), Decision::Allow);
}

// ---- Conditions in full statements ------------------------------------------------

#[test]
fn conditions_are_and_across_operators_and_keys_or_across_values() {
    let set = PolicySet::new([policy(
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"antcloudauth:*","Resource":"*","Condition":{
            "IpAddress":{"acs:SourceIp":["10.0.0.0/8","192.168.0.0/16"]},
            "Bool":{"acs:SecureTransport":"true","acs:MFAPresent":"true"},
            "DateLessThan":{"acs:CurrentTime":"2026-12-31T16:00:00Z"}}}]}"#,
    )]);
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap();
    let later = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
    let ask = |ip: &str, mfa: bool, time| {
        let ctx = [
            (keys::SOURCE_IP, ContextValue::Str(ip)),
            (keys::SECURE_TRANSPORT, ContextValue::Bool(true)),
            (keys::MFA_PRESENT, ContextValue::Bool(mfa)),
            (keys::CURRENT_TIME, ContextValue::Date(time)),
        ];
        set.evaluate(Scope::Identity, &Request::new("antcloudauth:InitFaceVerify", "*").with_context(&ctx))
            .decision()
    };
    assert_eq!(ask("192.168.1.9", true, now), Decision::Allow);
    assert_eq!(ask("10.9.9.9", true, now), Decision::Allow);
    assert_eq!(ask("8.8.8.8", true, now), Decision::ImplicitDeny);
    assert_eq!(ask("10.9.9.9", false, now), Decision::ImplicitDeny);
    assert_eq!(ask("10.9.9.9", true, later), Decision::ImplicitDeny);
}

#[test]
fn absent_key_makes_negated_deny_apply() {
    // AWS semantics: NotIpAddress with no source IP in the request is true, so the Deny applies.
    let set = PolicySet::new([
        system("AliyunAntCloudAuthFullAccess"),
        policy(
            r#"{"Version":"1","Statement":[{"Effect":"Deny","Action":"antcloudauth:*","Resource":"*","Condition":{"NotIpAddress":{"acs:SourceIp":"10.0.0.0/8"}}}]}"#,
        ),
    ]);
    assert_eq!(decide(&set, "antcloudauth:InitFaceVerify", "*"), Decision::ExplicitDeny);
}

#[test]
fn not_action_and_not_resource() {
    let set = PolicySet::new([policy(
        r#"{"Version":"1","Statement":[{"Effect":"Allow","NotAction":"antcloudauth:Delete*","NotResource":"acs:oss:*:*:secret/*"}]}"#,
    )]);
    assert_eq!(decide(&set, "antcloudauth:InitFaceVerify", "*"), Decision::Allow);
    assert_eq!(decide(&set, "antcloudauth:DeleteFaceVerifyResult", "*"), Decision::ImplicitDeny);
    assert_eq!(decide(&set, "ram:ListUsers", "acs:oss:r:1:secret/x"), Decision::ImplicitDeny);
}

// ---- Responses ------------------------------------------------------------------

#[test]
fn response_names_determining_statements_and_explains() {
    let set = PolicySet::new([
        system("AliyunAntCloudAuthReadOnlyAccess"),
        named(
            "no-deletes",
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:*","Resource":"*"},{"Effect":"Deny","Action":"antcloudauth:Describe*","Resource":"*"}]}"#,
        ),
    ]);
    let request = Request::new("antcloudauth:DescribeFaceVerify", "*");
    let response = set.evaluate(Scope::Identity, &request);
    assert_eq!(response.decision(), Decision::ExplicitDeny);
    let report = response.to_report();
    assert_eq!(
        report.determining,
        vec![StatementId { scope: Scope::Identity, policy: "no-deletes".into(), statement: 1 }]
    );
    assert_eq!(
        response.explain(&request),
        "`antcloudauth:DescribeFaceVerify` on `*` is explicitly denied by identity policy `no-deletes` Statement[1]"
    );
    let init = Request::new("antcloudauth:InitFaceVerify", "*");
    let denied = set.evaluate(Scope::Identity, &init);
    assert_eq!(denied.reasons().count(), 0);
    assert!(denied.explain(&init).ends_with("implicitly denied: no statement allows it"));
}

#[test]
fn many_determining_statements_are_counted() {
    let statements: Vec<String> = (0..12)
        .map(|i| {
            format!(
                r#"{{"Effect":"Allow","Action":"antcloudauth:Init{}","Resource":"*"}}"#,
                "*".repeat(i % 2 + 1)
            )
        })
        .collect();
    let text = format!(r#"{{"Version":"1","Statement":[{}]}}"#, statements.join(","));
    let set = PolicySet::new([policy(&text)]);
    let response = set.evaluate(Scope::Identity, &Request::new("antcloudauth:InitFaceVerify", "*"));
    assert_eq!(response.reasons().count(), MAX_REASONS);
    assert_eq!(response.omitted_reasons(), 12 - MAX_REASONS);
}

// ---- Pipeline -----------------------------------------------------------------

#[test]
fn pipeline_control_session_identity_resource() {
    let full = PolicySet::new([system("AliyunAntCloudAuthFullAccess")]);
    let deny_init = PolicySet::new([named(
        "no-init",
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"antcloudauth:InitFaceVerify","Resource":"*"}]}"#,
    )]);
    let read_only = PolicySet::new([system("AliyunAntCloudAuthReadOnlyAccess")]);
    let empty = PolicySet::default();
    let init = Request::new("antcloudauth:InitFaceVerify", "*");
    let describe = Request::new("antcloudauth:DescribeFaceVerify", "*");

    // Control policy denies even the main account.
    let inputs = PolicyInputs { control: Some(&deny_init), ..PolicyInputs::identity(&full) };
    let r = authorize(Caller::MainAccount, &inputs, &init);
    assert_eq!((r.decision(), r.reasons().next().unwrap().scope), (Decision::ExplicitDeny, Scope::Control));
    assert_eq!(authorize(Caller::RamIdentity, &inputs, &describe).decision(), Decision::Allow);

    // A session policy narrows a role session.
    let inputs = PolicyInputs { session: Some(&read_only), ..PolicyInputs::identity(&full) };
    assert_eq!(authorize(Caller::RamIdentity, &inputs, &init).decision(), Decision::ImplicitDeny);
    assert_eq!(authorize(Caller::RamIdentity, &inputs, &describe).decision(), Decision::Allow);

    // The main account is unrestricted by identity policies.
    let inputs = PolicyInputs::identity(&empty);
    let r = authorize(Caller::MainAccount, &inputs, &init);
    assert!(r.decision().is_allowed() && r.by_main_account());
    assert!(r.explain(&init).contains("main account"));
    assert_eq!(authorize(Caller::RamIdentity, &inputs, &init).decision(), Decision::ImplicitDeny);

    // Resource-group scope is consulted only on ImplicitDeny at account scope.
    let inputs = PolicyInputs { resource_group: Some(&full), ..PolicyInputs::identity(&read_only) };
    let r = authorize(Caller::RamIdentity, &inputs, &init);
    assert_eq!((r.decision(), r.reasons().next().unwrap().scope), (Decision::Allow, Scope::ResourceGroup));
    let inputs = PolicyInputs { resource_group: Some(&full), ..PolicyInputs::identity(&deny_init) };
    assert_eq!(authorize(Caller::RamIdentity, &inputs, &init).decision(), Decision::ExplicitDeny);

    // Resource policies: their Allow suffices, their Deny wins, even over the main account.
    let inputs = PolicyInputs { resource: Some(&full), ..PolicyInputs::identity(&empty) };
    assert_eq!(authorize(Caller::RamIdentity, &inputs, &init).decision(), Decision::Allow);
    let inputs = PolicyInputs { resource: Some(&deny_init), ..PolicyInputs::identity(&full) };
    assert_eq!(authorize(Caller::RamIdentity, &inputs, &init).decision(), Decision::ExplicitDeny);
    assert_eq!(authorize(Caller::MainAccount, &inputs, &init).decision(), Decision::ExplicitDeny);
}

#[test]
fn role_assumption_needs_identity_and_trust() {
    let trust = PolicySet::new([Arc::new(
        Policy::parse(
            "trust",
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["acs:ram::1111:root"],"Service":["ecs.aliyuncs.com"]}}]}"#,
            &ParseOptions::trust(),
        )
        .unwrap(),
    )]);
    let may_assume = PolicySet::new([policy(
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"acs:ram::2222:role/kyc-*"}]}"#,
    )]);
    let request = Request::new("sts:AssumeRole", "acs:ram::2222:role/kyc-operator");
    let same_account =
        TrustedCaller { arn: Some("acs:ram::1111:user/alice"), account: Some("1111"), ..Default::default() };
    let other_account =
        TrustedCaller { arn: Some("acs:ram::3333:user/eve"), account: Some("3333"), ..Default::default() };
    let inputs = PolicyInputs::identity(&may_assume);
    let ok = authorize_assume_role(Caller::RamIdentity, &inputs, &trust, &same_account, &request);
    assert_eq!((ok.decision(), ok.reasons().next().unwrap().scope), (Decision::Allow, Scope::Trust));
    let denied = authorize_assume_role(Caller::RamIdentity, &inputs, &trust, &other_account, &request);
    assert_eq!(denied.decision(), Decision::ImplicitDeny);
    let empty = PolicySet::default();
    let no_identity = authorize_assume_role(
        Caller::RamIdentity,
        &PolicyInputs::identity(&empty),
        &trust,
        &same_account,
        &request,
    );
    assert_eq!(no_identity.decision(), Decision::ImplicitDeny);
    let service = TrustedCaller { service: Some("ecs.aliyuncs.com"), ..Default::default() };
    assert_eq!(
        authorize_assume_role(Caller::RamIdentity, &inputs, &trust, &service, &request).decision(),
        Decision::Allow
    );
}

// ---- Directory ------------------------------------------------------------------

// ---- Hostile requests ---------------------------------------------------------------

fn allow_everything() -> PolicySet {
    PolicySet::new([policy(
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    )])
}

#[test]
fn requests_over_the_limits_are_refused_with_typed_errors() {
    let action = "a".repeat(MAX_ACTION_BYTES);
    let resource = "r".repeat(MAX_RESOURCE_BYTES);
    assert!(Request::try_new(&action, &resource).is_ok());
    let long_action = format!("{action}x");
    let long_resource = format!("{resource}x");
    assert_eq!(
        Request::try_new(&long_action, "*"),
        Err(RequestError::ActionTooLong { len: MAX_ACTION_BYTES + 1 })
    );
    assert_eq!(
        Request::try_new("ram:GetUser", &long_resource),
        Err(RequestError::ResourceTooLong { len: MAX_RESOURCE_BYTES + 1 })
    );
    let request = Request::try_new("ram:GetUser", "*").unwrap();
    let many: Vec<(&str, ContextValue<'_>)> = vec![("k", ContextValue::Bool(true)); MAX_CONTEXT_ENTRIES + 1];
    assert_eq!(
        request.try_with_context(&many).unwrap_err(),
        RequestError::TooManyContextEntries { len: MAX_CONTEXT_ENTRIES + 1 }
    );
    assert!(request.try_with_context(&many[1..]).is_ok());
    let key = "k".repeat(MAX_CONTEXT_KEY_BYTES + 1);
    let value = "v".repeat(MAX_CONTEXT_VALUE_BYTES + 1);
    let long_key =
        [("acs:SourceIp", ContextValue::Str("10.0.0.1")), (key.as_str(), ContextValue::Bool(true))];
    assert_eq!(
        Context::try_new(&long_key).unwrap_err(),
        RequestError::ContextKeyTooLong { index: 1, len: MAX_CONTEXT_KEY_BYTES + 1 }
    );
    let long_value = [(keys::USER_AGENT, ContextValue::Str(&value))];
    let err = request.try_with_context(&long_value).unwrap_err();
    assert_eq!(err, RequestError::ContextValueTooLong { index: 0, len: MAX_CONTEXT_VALUE_BYTES + 1 });
    assert_eq!(err.to_string(), "context entry 0 has a value of 2049 bytes; the limit is 2048");
}

#[test]
fn a_request_over_the_limits_is_denied_however_it_was_built() {
    let set = allow_everything();
    let long_resource = format!("acs:oss:cn:1:{}", "a".repeat(MAX_RESOURCE_BYTES));
    let long_action = format!("oss:{}", "A".repeat(MAX_ACTION_BYTES));
    let value = "v".repeat(MAX_CONTEXT_VALUE_BYTES + 1);
    let long_value = [(keys::USER_AGENT, ContextValue::Str(&value))];
    let requests = [
        Request::new("oss:GetObject", &long_resource),
        Request::new(&long_action, "*"),
        Request { action: "oss:GetObject", resource: "*", context: Context::new(&long_value) },
    ];
    assert_eq!(
        set.evaluate(Scope::Identity, &Request::new("oss:GetObject", "*")).decision(),
        Decision::Allow
    );
    for request in &requests {
        assert!(request.check().is_err());
        let response = set.evaluate(Scope::Identity, request);
        assert_eq!(response.decision(), Decision::ImplicitDeny);
        assert!(response.explain(request).contains("the limit is"), "{}", response.explain(request));
        // Not even the main account, which identity policies do not restrict.
        let inputs = PolicyInputs { resource: Some(&set), ..PolicyInputs::identity(&set) };
        assert_eq!(authorize(Caller::MainAccount, &inputs, request).decision(), Decision::ImplicitDeny);
        assert_eq!(authorize(Caller::RamIdentity, &inputs, request).decision(), Decision::ImplicitDeny);
    }
}

#[test]
fn a_trusted_caller_with_an_oversized_name_is_denied() {
    let trust = PolicySet::new([Arc::new(
        Policy::parse(
            "trust",
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":"*"}}]}"#,
            &ParseOptions::trust(),
        )
        .unwrap(),
    )]);
    let request = Request::new("sts:AssumeRole", "acs:ram::2222:role/kyc");
    let arn = format!("acs:ram::1111:user/{}", "x".repeat(MAX_RESOURCE_BYTES));
    let fits = TrustedCaller { arn: Some("acs:ram::1111:user/alice"), ..Default::default() };
    let oversized = TrustedCaller { arn: Some(&arn), ..Default::default() };
    assert_eq!(trust.evaluate_trust(&request, &fits).decision(), Decision::Allow);
    assert_eq!(trust.evaluate_trust(&request, &oversized).decision(), Decision::ImplicitDeny);
}

#[test]
fn worst_case_patterns_decide_correctly() {
    // Patterns built to make a backtracking matcher try every split; the answers must
    // be the same as ever (timings are in the README, not asserted here).
    let long = "a".repeat(3_000);
    let options = ParseOptions::identity().with_max_chars(usize::MAX);
    let deny = format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Deny","Action":"oss:*","Resource":"acs:oss:*:*:*{long}b*"}},
            {{"Effect":"Deny","Action":"oss:*","Resource":"*{q}c"}},
            {{"Effect":"Allow","Action":"oss:*","Resource":"*"}}]}}"#,
        q = "a?".repeat(500)
    );
    let set = PolicySet::new([Arc::new(Policy::parse("w", &deny, &options).unwrap())]);
    let fill = "a".repeat(MAX_RESOURCE_BYTES - 20);
    assert_eq!(decide(&set, "oss:GetObject", &format!("acs:oss:cn:1:{fill}")), Decision::Allow);
    let hit = format!("acs:oss:cn:1:{}c", "ab".repeat(600));
    assert_eq!(decide(&set, "oss:GetObject", &hit), Decision::ExplicitDeny);
}

fn directory() -> Directory {
    Directory::new("1234567890", "corp", Quotas::default()).unwrap()
}

#[test]
fn user_policies_include_groups() {
    let mut dir = directory();
    dir.create_user("alice").unwrap();
    dir.create_group("auditors").unwrap();
    dir.attach_policy(Target::Group("auditors"), PolicyType::System, "AliyunAntCloudAuthReadOnlyAccess")
        .unwrap();
    dir.add_user_to_group("alice", "auditors").unwrap();
    let set = dir.user_policies("alice").unwrap();
    assert_eq!(decide(&set, "antcloudauth:DescribeFaceVerify", "*"), Decision::Allow);
    assert_eq!(decide(&set, "antcloudauth:InitFaceVerify", "*"), Decision::ImplicitDeny);
    dir.attach_policy(Target::User("Alice"), PolicyType::System, "AliyunAntCloudAuthFullAccess").unwrap();
    let set = dir.user_policies("alice").unwrap();
    assert_eq!(decide(&set, "antcloudauth:InitFaceVerify", "*"), Decision::Allow);
}

#[test]
fn quotas_are_enforced_with_clear_errors() {
    let quotas = Quotas { user_system: 2, ..Quotas::default() };
    let mut dir = Directory::new("1", "corp", quotas).unwrap();
    dir.create_user("bob").unwrap();
    for name in ["AliyunAntCloudAuthFullAccess", "AliyunAntCloudAuthReadOnlyAccess"] {
        dir.attach_policy(Target::User("bob"), PolicyType::System, name).unwrap();
    }
    let before = dir.clone();
    let err =
        dir.attach_policy(Target::User("bob"), PolicyType::System, "AliyunYundunSAFFullAccess").unwrap_err();
    assert_eq!(err.to_string(), "quota exceeded: at most 2 system policies per user");
    assert_eq!(dir, before, "a refused operation changes nothing");
    // Re-attaching is a no-op, not a quota error.
    dir.attach_policy(Target::User("bob"), PolicyType::System, "AliyunAntCloudAuthFullAccess").unwrap();

    let mut dir = directory();
    dir.create_user("carol").unwrap();
    for i in 0..5 {
        dir.create_group(&format!("g{i}")).unwrap();
        dir.add_user_to_group("carol", &format!("g{i}")).unwrap();
    }
    dir.create_group("g5").unwrap();
    assert!(matches!(
        dir.add_user_to_group("carol", "g5"),
        Err(DirectoryError::QuotaExceeded { what: "groups per user", limit: 5 })
    ));
}

#[test]
fn twenty_first_system_policy_is_refused() {
    let mut dir = directory();
    dir.create_user("dave").unwrap();
    // Only five system policies ship with this service, so use a directory whose custom
    // policies stand in for the count; the system quota is checked the same way.
    let quotas = Quotas::default();
    assert_eq!(quotas.user_system, 20);
    assert_eq!(quotas.user_custom, 10);
    for i in 0..10 {
        let doc = format!(
            r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"antcloudauth:Describe{i}","Resource":"*"}}]}}"#
        );
        dir.create_policy(&format!("custom-{i}"), &doc).unwrap();
        dir.attach_policy(Target::User("dave"), PolicyType::Custom, &format!("custom-{i}")).unwrap();
    }
    dir.create_policy("custom-10", r#"{"Version":"1","Statement":[]}"#).unwrap();
    let err = dir.attach_policy(Target::User("dave"), PolicyType::Custom, "custom-10").unwrap_err();
    assert_eq!(err.to_string(), "quota exceeded: at most 10 custom policies per user");
}

#[test]
fn directory_errors_name_the_problem() {
    let mut dir = directory();
    assert_eq!(
        dir.create_user("").unwrap_err().to_string().split(':').next().unwrap(),
        "invalid user name ``"
    );
    dir.create_user("erin").unwrap();
    assert!(matches!(dir.create_user("ERIN"), Err(DirectoryError::AlreadyExists { .. })));
    assert_eq!(
        dir.attach_policy(Target::User("erin"), PolicyType::System, "NoSuch").unwrap_err().to_string(),
        "system policy `NoSuch` does not exist"
    );
    let bad = dir.create_policy("bad", r#"{"Version":"1","Statement":[{"Effect":"Allow"}]}"#).unwrap_err();
    assert!(bad.to_string().contains("Statement[0]"), "{bad}");
    assert!(dir.create_policy(&"x".repeat(129), r#"{"Version":"1","Statement":[]}"#).is_err());
}

#[test]
fn access_keys_have_no_secret_and_a_status() {
    let mut dir = directory();
    dir.create_user("svc").unwrap();
    let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    dir.create_access_key("svc", "LTAI4Fexample", t).unwrap();
    dir.create_access_key("svc", "LTAI4Fexample2", t).unwrap();
    assert!(matches!(
        dir.create_access_key("svc", "LTAI4Fexample3", t),
        Err(DirectoryError::QuotaExceeded { .. })
    ));
    dir.set_access_key_status("LTAI4Fexample", AccessKeyStatus::Inactive).unwrap();
    let (user, key) = dir.access_key("LTAI4Fexample").unwrap();
    assert_eq!((user.name.as_str(), key.status), ("svc", AccessKeyStatus::Inactive));
    let json = serde_json::to_string(&dir).unwrap();
    assert!(!json.to_lowercase().contains("secret"));
    let back: Directory = serde_json::from_str(&json).unwrap();
    assert_eq!(back, dir);
}

#[test]
fn login_names_in_three_forms_resolve_to_the_same_user() {
    let mut dir = directory();
    dir.add_domain_alias("example.com").unwrap();
    dir.create_user("alice").unwrap();
    for (text, form) in [
        ("alice@corp.onaliyun.com", LoginForm::DefaultDomain),
        ("alice@corp", LoginForm::AccountAlias),
        ("alice@example.com", LoginForm::DomainAlias),
    ] {
        let login = LoginName::parse(text).unwrap();
        assert_eq!(login.form(), form);
        assert_eq!(dir.resolve_login(&login).unwrap().name, "alice");
    }
    let foreign = LoginName::parse("alice@other.onaliyun.com").unwrap();
    assert!(matches!(dir.resolve_login(&foreign), Err(DirectoryError::ForeignDomain(_))));
    let unknown = LoginName::parse("mallory@corp").unwrap();
    assert!(matches!(dir.resolve_login(&unknown), Err(DirectoryError::NotFound { .. })));
}

#[test]
fn directory_snapshot_round_trips_and_still_evaluates() {
    let mut dir = directory();
    dir.create_user("alice").unwrap();
    dir.create_policy(
        "ip-limited",
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"antcloudauth:*","Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"}}}]}"#,
    )
    .unwrap();
    dir.attach_policy(Target::User("alice"), PolicyType::Custom, "ip-limited").unwrap();
    dir.create_role("kyc", r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":"acs:ram::1234567890:root"}}]}"#).unwrap();
    let json = serde_json::to_string(&dir).unwrap();
    let back: Directory = serde_json::from_str(&json).unwrap();
    assert_eq!(back, dir);
    assert_eq!(serde_json::to_string(&back).unwrap(), json, "byte-identical second snapshot");
    let set = back.user_policies("alice").unwrap();
    let ctx = [(keys::SOURCE_IP, ContextValue::Str("10.0.0.1"))];
    let r =
        set.evaluate(Scope::Identity, &Request::new("antcloudauth:InitFaceVerify", "*").with_context(&ctx));
    assert_eq!(r.decision(), Decision::Allow);
    let (_, trust) = back.role_policies("kyc").unwrap();
    assert_eq!(trust.statement_count(), 1);
}
