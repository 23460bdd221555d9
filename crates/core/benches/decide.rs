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

/// Segment `i` of 150, of mixed shapes (as in `benches/segments.rs`), some reading page views.
fn segment(i: usize) -> edgecdp_core::segment::set::Definition {
    let t =
        |k: usize| if k.is_multiple_of(7) { "web.webpagedetails.pageViews".to_owned() } else { format!("t{}", k % 40) };
    let pql = match i % 5 {
        0 => format!("loyalty.points > {}", i % 500),
        1 => format!(
            "chain(xEvent, timestamp, [A: WHAT(eventType = \"{}\") WHEN(< {} hours before now)])",
            t(i),
            1 + i % 72
        ),
        2 => format!(
            "chain(xEvent, timestamp, [A: WHAT(eventType = \"{}\"), B: WHAT(eventType = \"{}\") WHEN(< 7 days before now)])",
            t(i),
            t(i + 1)
        ),
        3 => format!(
            "xEvent[eventType = \"{}\" and timestamp occurs < 24 hours before now].count() >= {}",
            t(i),
            1 + i % 5
        ),
        _ => format!(
            "loyalty.tier in [\"Bronze\", \"Gold\"] and chain(xEvent, timestamp, [A: WHAT(eventType = \"{}\") WHEN(< 7 days before now), B: NOT WHAT(eventType = \"{}\") WHEN(< 1 hour after A)])",
            t(i),
            t(i + 3)
        ),
    };
    edgecdp_core::segment::set::Definition { id: format!("s{i}"), name: String::new(), pql, description: String::new() }
}

/// The edge's whole interact (parse, validate, cookie, collect, segments, decisions, response)
/// for a returning visitor's page view with 150 segments and 100 offers: the core's CPU per
/// request, without any host I/O.
#[allow(clippy::print_stderr, reason = "a benchmark prints its figures")]
fn bench_interact(c: &mut Criterion) {
    use edgecdp_core::edge::{EdgeEnv, Entropy, HttpRequest};
    use edgecdp_core::identity::{CookieKeys, Ecid};
    use edgecdp_core::snapshot::{DatastreamConfig, Snapshot, SnapshotConfig};
    let config = SnapshotConfig {
        datastreams: vec![DatastreamConfig {
            id: "ds-luma".into(),
            org_id: "LUMA123@AdobeOrg".into(),
            allowed_origins: vec!["https://www.luma.test".into()],
            accept_unsigned_ecid: false,
            default_consent: Default::default(),
        }],
        ..Default::default()
    };
    let (activities, offers) = definitions(100);
    let (snapshot, skipped) = Snapshot::build(&config, 1).0.with_segments((0..150).map(segment).collect());
    assert!(skipped.is_empty(), "{skipped:?}");
    let (snapshot, warnings) = snapshot.with_decisions(activities, offers);
    assert!(warnings.is_empty(), "{warnings:?}");
    let keys = CookieKeys::new(b"bench secret".to_vec(), vec![]);
    let env = EdgeEnv { snapshot: &snapshot, cookie_keys: &keys };
    let cookie = format!("kndctr_LUMA123_AdobeOrg_identity={}", keys.encode("LUMA123@AdobeOrg", &Ecid::mint([3; 16])));
    let body = br#"{"events":[{"xdm":{"eventType":"web.webpagedetails.pageViews","web":{"webPageDetails":{"URL":"https://www.luma.test/"}}},"query":{"personalization":{"decisionScopes":["__view__"]}}}],"query":{"identity":{"fetch":["ECID"]}}}"#;
    // Each page view is a request of its own (a requestId the same as the first's would be a
    // retry, whose events are not folded again).
    let request = |query: &'static str| HttpRequest {
        method: "POST",
        path: "/ee/v1/interact",
        query,
        origin: Some("https://www.luma.test"),
        cookie: Some(&cookie),
        body,
    };
    // A returning, known visitor: her view (attributes and an empty segment state) as a host
    // would load it.
    let me = edgecdp_core::identity::IdentityKey::new("ECID", Ecid::mint([3; 16]).as_str());
    let view = edgecdp_core::identity::resolve::EdgeFragment {
        person: me.clone(),
        identities: vec![me.clone()],
        attributes: attributes(),
        version: 1,
        updated_at: NOW,
        segments: None,
        decisions: None,
    };
    let first: edgecdp_core::edge::Views = [(me.clone(), view)].into_iter().collect();
    let once = |views: &edgecdp_core::edge::Views, query: &'static str| match edgecdp_core::edge::begin(
        &env,
        &request(query),
        NOW,
        &Entropy([5; 32]),
    ) {
        edgecdp_core::edge::Step::Lookup(p) => edgecdp_core::edge::finish(&env, p, views),
        edgecdp_core::edge::Step::Done(o) => o,
    };
    // Returning: her view as the first page view left it (segment state for the whole set).
    let written = once(&first, "configId=ds-luma&requestId=first")
        .views
        .into_iter()
        .next()
        .expect("the first page view writes her view");
    let views: edgecdp_core::edge::Views = [(me, written)].into_iter().collect();
    let run = || once(&views, "configId=ds-luma&requestId=next");
    let out = run();
    assert_eq!(out.response.status, 200);
    let answer: serde_json::Value = serde_json::from_slice(&out.response.body).unwrap();
    let decided: usize = answer["handle"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["type"] == "personalization:decisions")
        .map(|h| h["payload"].as_array().unwrap().len())
        .sum();
    assert!(decided > 0, "the visitor gets decisions");
    eprintln!(
        "edge interact with 150 segments and 100 offers: {} bytes answered, {decided} propositions",
        out.response.body.len()
    );
    let mut group = c.benchmark_group("edge-interact");
    group.throughput(Throughput::Elements(1));
    group.bench_function("150-segments-100-offers", |b| b.iter(run));
    group.finish();
}

fn benches() {
    let mut c = Criterion::default().configure_from_args();
    bench_decide(&mut c);
    bench_interact(&mut c);
}

criterion_main!(benches);
