//! RAM evaluation benches: a typical request against 10 attached policies of 5
//! statements, 10,000 attached statements, policy parse throughput, and the worst cases
//! the input limits allow: an oversized document (refused at once) and the slowest glob a
//! policy can hold against the longest resource a request may carry. The same question
//! asked of Cedar is in `benches/compare` (`cargo bench -p shiren-compare-bench`), so this
//! package never compiles Cedar.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "benchmark harness")]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use shiren::ram::{
    Caller, ContextValue, Decision, ParseOptions, Policy, PolicyInputs, PolicySet, Request, Scope, authorize,
    keys, system_policy_text,
};

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

/// 2,000 policies × 5 statements = 10,000 statements on the same service, with exact
/// and wildcard actions, conditions and resources.
fn ten_thousand_statements() -> PolicySet {
    PolicySet::new((0..2_000).map(|i| {
        let text = format!(
            r#"{{"Version":"1","Statement":[
                {{"Effect":"Allow","Action":"antcloudauth:Operation{i}","Resource":"*"}},
                {{"Effect":"Allow","Action":"antcloudauth:Op{i}*","Resource":"acs:oss:*:*:bucket-{i}/*"}},
                {{"Effect":"Deny","Action":"antcloudauth:Delete{i}","Resource":"*","Condition":{{"NotIpAddress":{{"acs:SourceIp":"10.0.0.0/8"}}}}}},
                {{"Effect":"Allow","Action":"ram:Get{i}","Resource":"*"}},
                {{"Effect":"Allow","Action":"oss:Put{i}*","Resource":"*"}}]}}"#
        );
        Arc::new(Policy::parse(&format!("p{i}"), &text, &ParseOptions::identity()).unwrap())
    })
    .chain([Arc::new(Policy::parse("init", &statement_block(0), &ParseOptions::identity()).unwrap())]))
}

fn evaluate(c: &mut Criterion) {
    let ctx = [
        (keys::SOURCE_IP, ContextValue::Str("10.1.2.3")),
        (keys::SECURE_TRANSPORT, ContextValue::Bool(true)),
    ];
    let request = Request::new("antcloudauth:InitFaceVerify", "*").with_context(&ctx);

    let ten = ten_policies();
    assert_eq!(ten.statement_count(), 50);
    assert_eq!(ten.evaluate(Scope::Identity, &request).decision(), Decision::Allow);
    let big = ten_thousand_statements();
    assert_eq!(big.statement_count(), 10_005);
    assert_eq!(big.evaluate(Scope::Identity, &request).decision(), Decision::Allow);

    let mut group = c.benchmark_group("ram");
    group.bench_function("evaluate_10_policies_x_5_statements", |b| {
        b.iter(|| ten.evaluate(Scope::Identity, black_box(&request)).decision())
    });
    group.bench_function("authorize_pipeline_10x5", |b| {
        let inputs = PolicyInputs::identity(&ten);
        b.iter(|| authorize(Caller::RamIdentity, &inputs, black_box(&request)).decision())
    });
    group.bench_function("evaluate_10000_statements", |b| {
        b.iter(|| big.evaluate(Scope::Identity, black_box(&request)).decision())
    });
    group.finish();
}

fn parse(c: &mut Criterion) {
    let read_only = system_policy_text("AliyunAntCloudAuthReadOnlyAccess").unwrap();
    let five = statement_block(7);
    let mut group = c.benchmark_group("ram_parse");
    group.throughput(Throughput::Bytes(read_only.len() as u64));
    group.bench_function("system_read_only", |b| {
        b.iter(|| Policy::parse("r", black_box(read_only), &ParseOptions::identity()).unwrap())
    });
    group.throughput(Throughput::Bytes(five.len() as u64));
    group.bench_function("five_statements_with_conditions", |b| {
        b.iter(|| Policy::parse("f", black_box(&five), &ParseOptions::identity()).unwrap())
    });
    group.finish();
}

/// The bounds of issue 18, visible: hostile inputs cost microseconds to milliseconds,
/// never seconds.
fn worst_case(c: &mut Criterion) {
    let mut group = c.benchmark_group("ram_worst_case");
    // 10,000 statements (≈ 500 KB): far over the 6,144-character limit, refused at once.
    let statement = r#"{"Effect":"Allow","Action":"antcloudauth:Describe*","Resource":"*"}"#;
    let huge = format!(r#"{{"Version":"1","Statement":[{}]}}"#, vec![statement; 10_000].join(","));
    group.throughput(Throughput::Bytes(huge.len() as u64));
    group.bench_function("parse_oversized_500kb", |b| {
        b.iter(|| Policy::parse("big", black_box(&huge), &ParseOptions::identity()).is_err())
    });
    // A resource pattern of `?`-separated literals (the matcher's slowest shape, filling
    // the document limit) against a 2,048-character resource (the request limit) that
    // almost matches everywhere.
    let pattern = format!("*{}b*", "a?".repeat(2_900));
    let text = format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"oss:GetObject","Resource":"{pattern}"}}]}}"#
    );
    let set = PolicySet::new([Arc::new(Policy::parse("glob", &text, &ParseOptions::identity()).unwrap())]);
    let resource = "a".repeat(2_048);
    let request = Request::try_new("oss:GetObject", &resource).unwrap();
    assert_eq!(set.evaluate(Scope::Identity, &request).decision(), Decision::ImplicitDeny);
    group.throughput(Throughput::Elements(1));
    group.bench_function("glob_5800_pattern_vs_2048_resource", |b| {
        b.iter(|| set.evaluate(Scope::Identity, black_box(&request)).decision())
    });
    group.finish();
}

criterion_group!(benches, evaluate, parse, worst_case);
criterion_main!(benches);
