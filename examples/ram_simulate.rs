//! Policy simulator: `cargo run --example ram_simulate -- POLICIES.json REQUESTS.json`
//! prints one JSON line per request with the decision, the statements that decided and
//! an explanation. The file formats are documented in `crates/ram/README.md`.

#![allow(clippy::disallowed_methods, reason = "an example is edge code: it reads the files it is given")]

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use serde::Deserialize;
use shiren::ram::{
    Caller, ContextValue, ParseOptions, Policy, PolicyInputs, PolicySet, Request, authorize, system_policy,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyEntry {
    name: String,
    #[serde(default)]
    system: bool,
    document: Option<serde_json::Value>,
    #[serde(default)]
    scope: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestEntry {
    action: String,
    #[serde(default = "star")]
    resource: String,
    #[serde(default)]
    caller: Option<String>,
    #[serde(default)]
    context: BTreeMap<String, serde_json::Value>,
}

fn star() -> String {
    "*".into()
}

fn main() {
    if let Err(err) = try_main() {
        eprintln!("ram_simulate: {err:#}");
        std::process::exit(1);
    }
}

fn load_policy(entry: &PolicyEntry) -> anyhow::Result<Policy> {
    match (&entry.document, entry.system) {
        (None, true) => system_policy(&entry.name)
            .with_context(|| format!("`{}` is not a system policy", entry.name))?
            .map_err(Into::into),
        (Some(doc), false) => {
            let options = if entry.scope.as_deref() == Some("resource") {
                ParseOptions::resource()
            } else {
                ParseOptions::identity()
            };
            let policy = Policy::parse(&entry.name, &doc.to_string(), &options)?;
            for lint in policy.lints() {
                eprintln!("policy `{}`: {lint}", entry.name);
            }
            Ok(policy)
        }
        _ => bail!("policy `{}` needs either \"system\": true or a \"document\"", entry.name),
    }
}

/// Owned context values; IPs, dates and numbers stay strings, which the engine reads as
/// needed — numbers exactly (as decimals), never through `f64`.
enum Owned {
    Str(String),
    Bool(bool),
}

fn context_values(
    key: &str,
    value: &serde_json::Value,
    out: &mut Vec<(String, Owned)>,
) -> anyhow::Result<()> {
    match value {
        serde_json::Value::String(s) => out.push((key.into(), Owned::Str(s.clone()))),
        serde_json::Value::Bool(b) => out.push((key.into(), Owned::Bool(*b))),
        serde_json::Value::Number(n) => out.push((key.into(), Owned::Str(n.to_string()))),
        serde_json::Value::Array(items) => {
            for item in items {
                context_values(key, item, out)?;
            }
        }
        other => bail!("context key `{key}`: {other} is not a string, boolean, number or list"),
    }
    Ok(())
}

fn try_main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [policies_path, requests_path] = args.as_slice() else {
        bail!("usage: ram_simulate POLICIES.json REQUESTS.json");
    };
    let policies: Vec<PolicyEntry> = serde_json::from_str(
        &std::fs::read_to_string(policies_path).with_context(|| format!("reading {policies_path}"))?,
    )
    .with_context(|| format!("parsing {policies_path}"))?;
    let requests: Vec<RequestEntry> = serde_json::from_str(
        &std::fs::read_to_string(requests_path).with_context(|| format!("reading {requests_path}"))?,
    )
    .with_context(|| format!("parsing {requests_path}"))?;

    let mut by_scope: BTreeMap<&str, Vec<Arc<Policy>>> = BTreeMap::new();
    for entry in &policies {
        let scope = entry.scope.as_deref().unwrap_or("identity");
        if !["identity", "control", "session", "resource_group", "resource"].contains(&scope) {
            bail!("policy `{}`: unknown scope `{scope}`", entry.name);
        }
        let policy = load_policy(entry).with_context(|| format!("policy `{}`", entry.name))?;
        by_scope.entry(scope).or_default().push(Arc::new(policy));
    }
    let set = |scope: &str| by_scope.get(scope).map(|p| PolicySet::new(p.iter().cloned()));
    let identity = set("identity").unwrap_or_default();
    let (control, session, group, resource) =
        (set("control"), set("session"), set("resource_group"), set("resource"));
    let inputs = PolicyInputs {
        control: control.as_ref(),
        session: session.as_ref(),
        identity: &identity,
        resource_group: group.as_ref(),
        resource: resource.as_ref(),
    };

    for entry in &requests {
        let caller = match entry.caller.as_deref() {
            None | Some("ram") => Caller::RamIdentity,
            Some("main_account") => Caller::MainAccount,
            Some(other) => bail!("unknown caller `{other}`; use `ram` or `main_account`"),
        };
        let mut owned = Vec::new();
        for (key, value) in &entry.context {
            context_values(key, value, &mut owned)?;
        }
        let context: Vec<(&str, ContextValue<'_>)> = owned
            .iter()
            .map(|(k, v)| {
                let value = match v {
                    Owned::Str(s) => ContextValue::Str(s),
                    Owned::Bool(b) => ContextValue::Bool(*b),
                };
                (k.as_str(), value)
            })
            .collect();
        let request = Request::try_new(&entry.action, &entry.resource)
            .and_then(|r| r.try_with_context(&context))
            .with_context(|| format!("request `{}` on `{}`", entry.action, entry.resource))?;
        let response = authorize(caller, &inputs, &request);
        let line = serde_json::json!({
            "action": entry.action,
            "resource": entry.resource,
            "decision": response.decision(),
            "determining": response.to_report().determining,
            "explanation": response.explain(&request),
        });
        println!("{line}");
    }
    Ok(())
}
