//! Shiren's RAM evaluator and Cedar asked the same question in the same run: a typical
//! request (`antcloudauth:InitFaceVerify` with a source-IP and a secure-transport
//! condition) against ten attached policies of five statements each.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "benchmark harness")]

use std::hint::black_box;
use std::str::FromStr;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use shiren_ram::{ContextValue, Decision, ParseOptions, Policy, PolicySet, Request, Scope, keys};

fn statement_block(i: usize) -> String {
    format!(
        r#"{{"Version":"1","Statement":[
            {{"Effect":"Allow","Action":["antcloudauth:Describe*","antcloudauth:List*"],"Resource":"*"}},
            {{"Effect":"Allow","Action":"oss:GetObject","Resource":"acs:oss:*:*:bucket-{i}/*"}},
            {{"Effect":"Deny","Action":"antcloudauth:Delete*","Resource":"*","Condition":{{"NotIpAddress":{{"acs:SourceIp":"10.0.0.0/8"}}}}}},
            {{"Effect":"Allow","Action":"antcloudauth:InitFaceVerify","Resource":"*","Condition":{{"Bool":{{"acs:SecureTransport":"true"}}}}}},
            {{"Effect":"Allow","Action":"ram:Get*","Resource":"*"}}]}}"#
    )
}

fn ten_policies() -> PolicySet {
    PolicySet::new((0..10).map(|i| {
        Arc::new(
            Policy::parse(&format!("policy-{i}"), &statement_block(i), &ParseOptions::identity()).unwrap(),
        )
    }))
}

/// The same ten policies in Cedar. Cedar has no action wildcards, so each wildcard
/// becomes the list of concrete actions it covers in this service.
fn cedar_policies() -> cedar_policy::PolicySet {
    let mut src = String::new();
    for i in 0..10 {
        src.push_str(&format!(
            r#"
            permit(principal == User::"alice", action in [Action::"DescribeFaceVerify", Action::"DescribeOssStatus", Action::"ListScenes"], resource);
            permit(principal == User::"alice", action == Action::"GetObject", resource == Bucket::"bucket-{i}");
            forbid(principal == User::"alice", action in [Action::"DeleteFaceVerifyResult", Action::"DeleteScene"], resource)
                unless {{ context.source_ip.isInRange(ip("10.0.0.0/8")) }};
            permit(principal == User::"alice", action == Action::"InitFaceVerify", resource) when {{ context.secure }};
            permit(principal == User::"alice", action == Action::"GetUser", resource);
            "#
        ));
    }
    src.parse().unwrap()
}

fn ram_vs_cedar(c: &mut Criterion) {
    let ctx = [
        (keys::SOURCE_IP, ContextValue::Str("10.1.2.3")),
        (keys::SECURE_TRANSPORT, ContextValue::Bool(true)),
    ];
    let request = Request::new("antcloudauth:InitFaceVerify", "*").with_context(&ctx);
    let ten = ten_policies();
    assert_eq!(ten.statement_count(), 50);
    assert_eq!(ten.evaluate(Scope::Identity, &request).decision(), Decision::Allow);

    // The same question in Cedar.
    let cedar_set = cedar_policies();
    let authorizer = cedar_policy::Authorizer::new();
    let entities = cedar_policy::Entities::empty();
    let context = cedar_policy::Context::from_pairs([
        ("source_ip".to_string(), cedar_policy::RestrictedExpression::new_ip("10.1.2.3")),
        ("secure".to_string(), cedar_policy::RestrictedExpression::new_bool(true)),
    ])
    .unwrap();
    let cedar_request = cedar_policy::Request::new(
        cedar_policy::EntityUid::from_str(r#"User::"alice""#).unwrap(),
        cedar_policy::EntityUid::from_str(r#"Action::"InitFaceVerify""#).unwrap(),
        cedar_policy::EntityUid::from_str(r#"Service::"antcloudauth""#).unwrap(),
        context,
        None,
    )
    .unwrap();
    assert_eq!(
        authorizer.is_authorized(&cedar_request, &cedar_set, &entities).decision(),
        cedar_policy::Decision::Allow
    );
    let mut group = c.benchmark_group("ram_vs_cedar");
    group.bench_function("shiren_evaluate_10x5", |b| {
        b.iter(|| ten.evaluate(Scope::Identity, black_box(&request)).decision())
    });
    group.bench_function("cedar_same_question_10x5", |b| {
        b.iter(|| authorizer.is_authorized(black_box(&cedar_request), &cedar_set, &entities).decision())
    });
    group.finish();
}

criterion_group!(benches, ram_vs_cedar);
criterion_main!(benches);
