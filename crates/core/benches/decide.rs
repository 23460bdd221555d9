//! Benchmarks of decisioning:
//! - one decision for 10 scopes (the page and 9 named ones) against 500 offers in 50
//!   activities (targeting and A/B), for a known visitor with attributes, memberships and caps;
//! - the edge's whole `interact` for a page view with 150 segments and 100 offers (the CPU a
//!   request costs the host, decisions included), against the same request with neither.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_main};
use edgecdp_core::decide::{Activity, DecisionSet, DecisionState, Offer, Request, Visitor};
use edgecdp_core::map::ObjectMap;
use edgecdp_core::segment::schema::Schema;
use edgecdp_core::segment::set::ProfileSegments;
use edgecdp_core::time::Timestamp;
use edgecdp_core::value::Value;
use serde_json::json;

const NOW: Timestamp = Timestamp(1_800_000_000_000);

/// `offers` offers in activities of 10, each activity answering the page and one named scope.
fn definitions(offers: usize) -> (Vec<Activity>, Vec<Offer>) {
    let mut all_offers = Vec::new();
    let mut activities = Vec::new();
    for a in 0..offers / 10 {
        let scope = |k: usize| if k.is_multiple_of(2) { "__view__".to_owned() } else { format!("scope-{}", a % 9) };
        let ids: Vec<String> = (0..10).map(|k| format!("o{a}-{k}")).collect();
        for (k, id) in ids.iter().enumerate() {
            let eligibility = match k % 4 {
                0 => json!(format!("loyalty.points > {}", (a * 37 + k) % 2000)),
                1 => json!(format!("inSegment(\"s{}\")", (a + k) % 20)),
                2 => json!(format!("loyalty.tier in [\"Bronze\", \"Silver\"] and person.name.firstName != \"x{k}\"")),
                _ => serde_json::Value::Null,
            };
            let mut offer = json!({
                "id": id, "scope": scope(k), "priority": (a * 7 + k) % 13,
                "items": [{ "action": "setHtml", "selector": format!("#slot-{a}-{k}"), "content": format!("<b>Offer {id} for {{{{profile.person.name.firstName}}}}</b>") }],
            });
            if !eligibility.is_null() {
                offer["eligibility"] = eligibility;
            }
            if k.is_multiple_of(3) {
                offer["cap"] = json!({ "max": 3, "window": "1d" });
            }
            all_offers.push(offer);
        }
        let activity = if a.is_multiple_of(5) {
            json!({ "id": format!("a{a}"), "kind": "ab", "priority": a % 4,
                    "experiences": [{ "id": "x", "offers": ids[..5] }, { "id": "y", "offers": ids[5..] }] })
        } else {
            json!({ "id": format!("a{a}"), "priority": a % 4, "experiences": [
                { "id": "members", "audience": format!("inSegment(\"s{}\")", a % 20), "offers": ids[..6] },
                { "id": "everyone", "offers": ids[6..] } ] })
        };
        activities.push(activity);
    }
    (serde_json::from_value(json!(activities)).unwrap(), serde_json::from_value(json!(all_offers)).unwrap())
}

fn attributes() -> ObjectMap<Value> {
    let mut a = ObjectMap::new();
    a.insert("person.name.firstName".into(), Value::from("Sarah"));
    a.insert("loyalty.tier".into(), Value::from("Bronze"));
    a.insert("loyalty.points".into(), Value::from(1240_i64));
    a
}

/// Members of every other segment s0..s19, as the segment engine leaves them.
fn memberships() -> ProfileSegments {
    let defs: Vec<edgecdp_core::segment::set::Definition> = (0..20)
        .map(|i| edgecdp_core::segment::set::Definition {
            id: format!("s{i}"),
            name: String::new(),
            pql: if i % 2 == 0 { "loyalty.points > 1".into() } else { "loyalty.points > 100000".into() },
            description: String::new(),
        })
        .collect();
    let set = edgecdp_core::segment::set::SegmentSet::load(&defs, &Schema::standard(), &Default::default());
    let mut state = ProfileSegments::new();
    set.evaluate(&mut state, &attributes(), NOW, &Default::default());
    state
}

#[allow(clippy::print_stderr, reason = "a benchmark prints its figures")]
fn bench_decide(c: &mut Criterion) {
    let mut group = c.benchmark_group("decide");
    let (activities, offers) = definitions(500);
    let set = DecisionSet::load(&activities, &offers, &Schema::standard(), &|_| true);
    assert!(set.warnings().is_empty(), "{:?}", set.warnings());
    let attributes = attributes();
    let segments = memberships();
    let mut state = DecisionState::default();
    for k in 0..50 {
        let display = serde_json::from_value::<Value>(json!({ "eventType": "decisioning.propositionDisplay",
            "_experience": { "decisioning": { "propositions": [{ "scopeDetails": { "offer": { "id": format!("o{k}-0") } } }] } } }))
        .unwrap();
        set.record(&mut state, &display, &format!("e{k}"), Timestamp(NOW.0 - 1000));
    }
    let scopes: Vec<String> =
        std::iter::once("__view__".to_owned()).chain((0..9).map(|i| format!("scope-{i}"))).collect();
    let visitor = Visitor { attributes: &attributes, segments: Some(&segments), state: Some(&state) };
    let request = Request {
        ecid: "52815286440582716171370361733432581330",
        scopes: &scopes,
        page: Some("https://www.luma.test/"),
        now: NOW,
    };
    let out = set.decide(&request, &visitor);
    let items: usize = out.iter().map(|p| p.items.len()).sum();
    eprintln!("decide: 10 scopes against 500 offers in 50 activities → {} propositions, {items} items", out.len());
    group.throughput(Throughput::Elements(1));
    group
        .bench_with_input(BenchmarkId::new("10-scopes", 500), &set, |b, set| b.iter(|| set.decide(&request, &visitor)));
    group.finish();
}

fn benches() {
    let mut c = Criterion::default().configure_from_args();
    bench_decide(&mut c);
}

criterion_main!(benches);
