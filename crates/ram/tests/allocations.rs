//! Evaluation allocates nothing: a typical request against ten attached policies of
//! five statements, and the full pipeline.
#![allow(clippy::unwrap_used, reason = "tests")]

use std::sync::Arc;

use shiren_ram::*;

fn ten_policies() -> PolicySet {
    PolicySet::new((0..10).map(|i| {
        let text = format!(
            r#"{{"Version":"1","Statement":[
                {{"Effect":"Allow","Action":["antcloudauth:Describe*","antcloudauth:List*"],"Resource":"*"}},
                {{"Effect":"Allow","Action":"oss:GetObject","Resource":"acs:oss:*:*:bucket-{i}/*"}},
                {{"Effect":"Deny","Action":"antcloudauth:Delete*","Resource":"*","Condition":{{"NotIpAddress":{{"acs:SourceIp":"10.0.0.0/8"}}}}}},
                {{"Effect":"Allow","Action":"antcloudauth:InitFaceVerify","Resource":"*","Condition":{{"Bool":{{"acs:SecureTransport":"true"}}}}}},
                {{"Effect":"Allow","Action":"ram:Get*","Resource":"*"}}]}}"#
        );
        Arc::new(Policy::parse(&format!("policy-{i}"), &text, &ParseOptions::identity()).unwrap())
    }))
}

#[test]
fn the_counter_sees_allocations() {
    let info = allocation_counter::measure(|| {
        std::hint::black_box(Vec::<u8>::with_capacity(16));
    });
    assert!(info.count_total >= 1, "the allocation counter is not installed");
}

#[test]
fn evaluation_does_not_allocate() {
    let set = ten_policies();
    let ctx = [
        (keys::SOURCE_IP, ContextValue::Str("10.1.2.3")),
        (keys::SECURE_TRANSPORT, ContextValue::Bool(true)),
    ];
    let request = Request::new("antcloudauth:InitFaceVerify", "*").with_context(&ctx);
    assert_eq!(set.evaluate(Scope::Identity, &request).decision(), Decision::Allow);
    let info = allocation_counter::measure(|| {
        let r = set.evaluate(Scope::Identity, &request);
        std::hint::black_box(r.decision());
        let inputs = PolicyInputs { control: Some(&set), ..PolicyInputs::identity(&set) };
        let r = authorize(Caller::RamIdentity, &inputs, &request);
        std::hint::black_box(r.decision());
    });
    assert_eq!(info.count_total, 0, "evaluation allocated {} times", info.count_total);
}

#[test]
fn numeric_conditions_do_not_allocate() {
    let set = PolicySet::new([Arc::new(
        Policy::parse(
            "n",
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"antcloudauth:*","Resource":"*",
                "Condition":{"NumericLessThan":{"k":["9007199254740993","1e40"]}}}]}"#,
            &ParseOptions::identity(),
        )
        .unwrap(),
    )]);
    let values =
        [ContextValue::Str("9007199254740992"), ContextValue::Number(0.1), ContextValue::Number(1e300)];
    let info = allocation_counter::measure(|| {
        for value in values {
            let ctx = [("k", value)];
            let request = Request::new("antcloudauth:InitFaceVerify", "*").with_context(&ctx);
            std::hint::black_box(set.evaluate(Scope::Identity, &request).decision());
        }
    });
    assert_eq!(info.count_total, 0, "evaluation allocated {} times", info.count_total);
}

#[test]
fn denying_an_oversized_request_does_not_allocate() {
    let set = ten_policies();
    let resource = "r".repeat(MAX_RESOURCE_BYTES + 1);
    let request = Request::new("antcloudauth:InitFaceVerify", &resource);
    let info = allocation_counter::measure(|| {
        let r = set.evaluate(Scope::Identity, &request);
        std::hint::black_box(r.decision());
        let r = authorize(Caller::MainAccount, &PolicyInputs::identity(&set), &request);
        std::hint::black_box(r.decision());
    });
    assert_eq!(info.count_total, 0, "evaluation allocated {} times", info.count_total);
    assert_eq!(set.evaluate(Scope::Identity, &request).decision(), Decision::ImplicitDeny);
}
