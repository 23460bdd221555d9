//! Runs the shared test vectors (`tests/spec/`) against the core; the Wasm bindings and sdk-js
//! run the same files.

// This test is a host: it reads the vector files and hands their contents to the core.
#![allow(clippy::disallowed_methods)]

use std::path::PathBuf;

use edgecdp_core::decide::device::{Bundle, Device};
use edgecdp_core::field::{FieldError, Path};
use edgecdp_core::identity::graph::{GraphConfig, GraphEvent, Graphs};
use edgecdp_core::identity::simulate::simulate;
use edgecdp_core::identity::{CookieKeys, Namespaces, cookie};
use edgecdp_core::limits::Limits;
use edgecdp_core::time::Timestamp;
use edgecdp_core::value::Value;
use edgecdp_core::xdm::Event;
use serde_json::{Value as Json, json};

fn spec_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/spec")
}

fn read(name: &str) -> Json {
    let text = std::fs::read_to_string(spec_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn field_errors(errors: &[FieldError]) -> Json {
    Json::Array(errors.iter().map(|e| json!({ "path": e.path(), "code": e.code() })).collect())
}

/// The outcome of one case, in the vectors' terms.
fn run(function: &str, input: &Json) -> Json {
    match function {
        "decodeIdentityCookie" => match cookie::decode(input.as_str().unwrap()) {
            Ok(d) => {
                json!({ "ok": true, "value": { "ecid": d.ecid.as_str(), "signed": d.mac.is_some() } })
            }
            Err(e) => json!({ "ok": false, "error": e.code() }),
        },
        "verifyIdentityCookie" => {
            let keys = CookieKeys::new(input["key"].as_str().unwrap().as_bytes().to_vec(), vec![]);
            match keys.verify(input["orgId"].as_str().unwrap(), input["value"].as_str().unwrap()) {
                Ok(ecid) => json!({ "ok": true, "value": { "ecid": ecid.as_str() } }),
                Err(e) => json!({ "ok": false, "error": e.code() }),
            }
        }
        "identityCookieName" => {
            json!({ "ok": true, "value": cookie::identity_cookie_name(input.as_str().unwrap()) })
        }
        "validateEvent" => {
            let value: Value = serde_json::from_value(input.clone()).unwrap();
            match Event::read(value, &Path::Root(""), &Limits::new(), &Namespaces::defaults()) {
                Ok(_) => json!({ "ok": true }),
                Err(errors) => json!({ "ok": false, "errors": field_errors(&errors) }),
            }
        }
        "normalizeIdentity" => {
            match Namespaces::defaults().normalize(input["ns"].as_str().unwrap(), input["id"].as_str().unwrap()) {
                Ok(v) => json!({ "ok": true, "value": v }),
                Err(e) => json!({ "ok": false, "error": e.code() }),
            }
        }
        "buildIdentityGraph" => {
            let events: Vec<Value> = serde_json::from_value(input["events"].clone()).unwrap();
            let mut config = GraphConfig::default();
            if let Some(cap) = input.get("maxIdentities").and_then(Json::as_u64) {
                config.max_identities = usize::try_from(cap).unwrap();
            }
            match simulate(&events, &config) {
                Ok(g) => json!({ "ok": true, "value": graphs_json(&g) }),
                Err(errors) => json!({ "ok": false, "errors": field_errors(&errors) }),
            }
        }
        "decide" => {
            let bundle: Bundle = serde_json::from_value(input["bundle"].clone()).unwrap();
            let (mut device, skipped) = Device::new(bundle);
            assert!(skipped.is_empty(), "{skipped:?}");
            for e in input["events"].as_array().unwrap() {
                let xdm: Value = serde_json::from_value(e["xdm"].clone()).unwrap();
                device.on_event(&xdm, e["id"].as_str().unwrap(), Timestamp(e["at"].as_i64().unwrap()));
            }
            let scopes: Vec<String> = serde_json::from_value(input["scopes"].clone()).unwrap();
            let propositions =
                device.decide(&scopes, input["page"].as_str(), Timestamp(input["now"].as_i64().unwrap()));
            let segments: Vec<&String> = device.members().collect();
            json!({ "ok": true, "value": { "segments": segments, "propositions": propositions } })
        }
        other => panic!("the vectors name a function the core runner does not know: {other}"),
    }
}

/// Graphs in the vectors' projection: members as `ns:id`, times as RFC 3339.
fn graphs_json(g: &Graphs) -> Json {
    let persons: Vec<Json> = g
        .persons
        .iter()
        .map(|p| Json::Array(p.members.iter().map(|m| Json::String(m.key.to_string())).collect()))
        .collect();
    let events: Vec<Json> = g
        .events
        .iter()
        .map(|e| match e {
            GraphEvent::LinkDropped { record, identity, namespace, kept } => json!({
                "type": "linkDropped", "record": record, "identity": identity.to_string(), "namespace": namespace, "kept": kept.to_string()
            }),
            GraphEvent::Evicted { person, identity, cap } => json!({
                "type": "evicted", "person": person.to_string(), "identity": identity.to_string(), "cap": cap
            }),
        })
        .collect();
    let owners: serde_json::Map<String, Json> = g
        .owners
        .iter()
        .map(|o| {
            let segments = o.owners.iter().map(|(t, p)| json!([t.to_rfc3339(), p.to_string()])).collect();
            (o.device.to_string(), segments)
        })
        .collect();
    json!({ "persons": persons, "events": events, "owners": owners })
}

/// Keeps only what `expected` states (a success without `value` checks only `ok`).
fn comparable(actual: &Json, expected: &Json) -> Json {
    match (actual, expected.get("value")) {
        (Json::Object(a), None) if expected["ok"] == true => json!({ "ok": a["ok"] }),
        _ => actual.clone(),
    }
}

#[test]
fn shared_vectors_pass_in_the_core() {
    let index = read("index.json");
    assert_eq!(index["specVersion"], json!(edgecdp_core::SPEC_VERSION), "tests/spec is for another SPEC_VERSION");
    let mut ran = 0;
    let mut failures = Vec::new();
    for file in index["files"].as_array().unwrap() {
        let file = file.as_str().unwrap();
        let doc = read(file);
        let cases = doc["cases"].as_array().unwrap();
        assert!(!cases.is_empty(), "{file} has no cases");
        for case in cases {
            let runs_here = case.get("runtimes").is_none_or(|rt| rt.as_array().unwrap().iter().any(|r| r == "core"));
            if !runs_here {
                continue;
            }
            let actual = run(case["fn"].as_str().unwrap(), &case["input"]);
            let expected = &case["expected"];
            if &comparable(&actual, expected) != expected {
                failures.push(format!("{file} / {}: expected {expected}, got {actual}", case["name"]));
            }
            ran += 1;
        }
    }
    assert!(failures.is_empty(), "{} of {ran} vectors failed:\n{}", failures.len(), failures.join("\n"));
    assert!(ran >= 50, "only {ran} vectors ran");
}
