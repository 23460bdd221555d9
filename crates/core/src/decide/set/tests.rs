use serde_json::json;

use super::*;
use crate::decide::model::Activity;
use crate::segment::set::{SegmentState, Status};

const T0: Timestamp = Timestamp(1_790_000_000_000);
const HOUR: i64 = 3_600_000;

fn defs(v: serde_json::Value) -> Vec<Activity> {
    serde_json::from_value(v).unwrap()
}

fn offers(v: serde_json::Value) -> Vec<Offer> {
    serde_json::from_value(v).unwrap()
}

fn load(activities: serde_json::Value, o: serde_json::Value) -> DecisionSet {
    DecisionSet::load(&defs(activities), &offers(o), &Schema::standard(), &|id| id != "origin-only")
}

fn attrs(pairs: &[(&str, &str)]) -> ObjectMap<Value> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned()))).collect()
}

fn member_of(ids: &[&str]) -> ProfileSegments {
    let mut s = ProfileSegments::new();
    for id in ids {
        s.segments.insert(
            (*id).to_owned(),
            SegmentState {
                version: 1,
                leaves: Vec::new(),
                membership: Some(Membership {
                    status: Status::Existing,
                    last_qualification_time: T0,
                    valid_until: None,
                    exit_reason: None,
                }),
                due: None,
            },
        );
    }
    s
}

fn page() -> Vec<String> {
    vec![PAGE_SCOPE.to_owned()]
}

fn decide(set: &DecisionSet, ecid: &str, scopes: &[String], v: &Visitor<'_>, now: Timestamp) -> Vec<Proposition> {
    set.decide(&Request { ecid, scopes, page: Some("https://www.luma.test/"), now }, v)
}

fn chosen(props: &[Proposition]) -> Vec<String> {
    props.iter().map(|p| format!("{}:{}", p.scope, p.scope_details.offer.id)).collect()
}

fn html(id: &str, selector: &str, content: &str) -> serde_json::Value {
    json!({ "id": id, "items": [{ "action": "setHtml", "selector": selector, "content": content }] })
}

fn luma() -> DecisionSet {
    load(
        json!([
            { "id": "greeting", "priority": 20, "pages": ["/", "/index.html"],
              "experiences": [
                { "id": "gift", "audience": "inSegment(\"gift-cart-abandoners\")", "offers": ["gift-wrap"] },
                { "id": "bronze", "audience": "loyalty.tier = \"Bronze\"", "offers": ["bronze-welcome"] },
                { "id": "everyone", "offers": [] } ] },
            { "id": "hero", "priority": 10,
              "experiences": [
                { "id": "running", "audience": "inSegment(\"running-interest\")", "offers": ["running-hero"] },
                { "id": "default", "offers": ["season-hero"] } ] },
        ]),
        json!([
            html("gift-wrap", "#greeting", "Gift? Free gift wrap for Bronze members"),
            html("bronze-welcome", "#greeting", "Welcome back, Bronze member"),
            html("running-hero", "#hero h1", "Run further"),
            html("season-hero", "#hero h1", "New season"),
        ]),
    )
}

#[test]
fn targeting_picks_the_first_experience_whose_audience_holds() {
    let set = luma();
    assert!(set.warnings().is_empty(), "{:?}", set.warnings());
    let none = ObjectMap::new();
    let anonymous = Visitor { attributes: &none, segments: None, state: None };
    assert_eq!(chosen(&decide(&set, "1", &page(), &anonymous, T0)), ["__view__:season-hero"]);

    let bronze = attrs(&[("loyalty.tier", "Bronze")]);
    let running = member_of(&["running-interest"]);
    let sarah = Visitor { attributes: &bronze, segments: Some(&running), state: None };
    assert_eq!(chosen(&decide(&set, "1", &page(), &sarah, T0)), ["__view__:bronze-welcome", "__view__:running-hero"]);

    let both = member_of(&["running-interest", "gift-cart-abandoners"]);
    let gift = Visitor { attributes: &bronze, segments: Some(&both), state: None };
    assert_eq!(chosen(&decide(&set, "1", &page(), &gift, T0)), ["__view__:gift-wrap", "__view__:running-hero"]);
}

#[test]
fn only_the_scopes_asked_for_are_decided_and_page_rules_hold() {
    let set = luma();
    let none = ObjectMap::new();
    let v = Visitor { attributes: &none, segments: None, state: None };
    assert!(decide(&set, "1", &[], &v, T0).is_empty());
    assert!(decide(&set, "1", &["hero-banner".to_owned()], &v, T0).is_empty());
    let bronze = attrs(&[("loyalty.tier", "Bronze")]);
    let v = Visitor { attributes: &bronze, segments: None, state: None };
    let on_men = set
        .decide(&Request { ecid: "1", scopes: &page(), page: Some("https://www.luma.test/men.html?x=1"), now: T0 }, &v);
    assert_eq!(chosen(&on_men), ["__view__:season-hero"], "the greeting runs on the home page only");
}

#[test]
fn proposition_format_is_adobes() {
    let set = luma();
    let none = ObjectMap::new();
    let v = Visitor { attributes: &none, segments: None, state: None };
    let props = decide(&set, "1", &page(), &v, T0);
    let json = serde_json::to_value(&props[0]).unwrap();
    assert_eq!(json["scope"], "__view__");
    assert_eq!(json["scopeDetails"]["decisionProvider"], "EDGECDP");
    assert_eq!(json["scopeDetails"]["activity"]["id"], "hero");
    assert_eq!(json["scopeDetails"]["experience"]["id"], "default");
    assert_eq!(json["scopeDetails"]["offer"]["id"], "season-hero");
    assert_eq!(json["scopeDetails"]["correlationID"], "hero:default");
    let item = &json["items"][0];
    assert_eq!(item["id"], "season-hero#0");
    assert_eq!(item["schema"], "https://ns.adobe.com/personalization/dom-action");
    assert_eq!(
        item["data"],
        json!({ "type": "setHtml", "selector": "#hero h1", "prehidingSelector": "#hero h1",
        "content": "New season", "format": "application/vnd.adobe.target.dom-action" })
    );
    assert_eq!(json["id"].as_str().unwrap().len(), 16);
    // Stable: the same decision has the same id.
    assert_eq!(decide(&set, "2", &page(), &v, T0)[0].id, props[0].id);
}

#[test]
fn named_scopes_get_the_highest_priority_activity_and_page_selectors_are_not_changed_twice() {
    let set = load(
        json!([
            { "id": "low", "priority": 1, "experiences": [{ "id": "e", "offers": ["banner-low", "page-low"] }] },
            { "id": "high", "priority": 5, "experiences": [{ "id": "e", "offers": ["banner-high", "page-high"] }] },
        ]),
        json!([
            { "id": "banner-low", "scope": "hero-banner", "items": [{ "action": "html", "content": "<b>low</b>" }] },
            { "id": "banner-high", "scope": "hero-banner", "items": [{ "action": "json", "content": { "title": "high" } }] },
            { "id": "page-low", "items": [
                { "action": "setText", "selector": "#a", "content": "low a" },
                { "action": "setText", "selector": "#b", "content": "low b" } ] },
            html("page-high", "#a", "high a"),
        ]),
    );
    assert!(set.warnings().is_empty(), "{:?}", set.warnings());
    let none = ObjectMap::new();
    let v = Visitor { attributes: &none, segments: None, state: None };
    let scopes = vec![PAGE_SCOPE.to_owned(), "hero-banner".to_owned(), "unknown-scope".to_owned()];
    let props = decide(&set, "1", &scopes, &v, T0);
    assert_eq!(chosen(&props), ["__view__:page-high", "hero-banner:banner-high", "__view__:page-low"]);
    let low = &props[2];
    assert_eq!(low.items.len(), 1, "#a belongs to the higher-priority activity");
    assert_eq!(low.items[0].data.selector.as_deref(), Some("#b"));
    assert_eq!(props[1].items[0].schema, schema::JSON);
}

#[test]
fn offer_priority_schedule_and_eligibility() {
    let set = load(
        json!([{ "id": "a", "fallback": ["plain"], "experiences": [{ "id": "e", "offers": ["gold", "future", "plain", "any"] }] }]),
        json!([
            { "id": "gold", "priority": 9, "eligibility": "loyalty.tier = \"Gold\"", "items": [{ "action": "setText", "selector": "#x", "content": "gold" }] },
            { "id": "future", "priority": 8, "start": "2030-01-01T00:00:00Z", "items": [{ "action": "setText", "selector": "#x", "content": "future" }] },
            { "id": "any", "priority": 1, "end": "2026-01-01T00:00:00Z", "items": [{ "action": "setText", "selector": "#x", "content": "expired" }] },
            { "id": "plain", "items": [{ "action": "setText", "selector": "#x", "content": "plain" }] },
        ]),
    );
    assert!(set.warnings().is_empty(), "{:?}", set.warnings());
    let gold = attrs(&[("loyalty.tier", "Gold")]);
    let none = ObjectMap::new();
    let pick = |a: &ObjectMap<Value>, now| {
        chosen(&decide(&set, "1", &page(), &Visitor { attributes: a, segments: None, state: None }, now))
    };
    assert_eq!(pick(&gold, T0), ["__view__:gold"]);
    assert_eq!(pick(&none, T0), ["__view__:plain"]);
    let later = Timestamp::parse_rfc3339("2030-06-01T00:00:00Z").unwrap();
    assert_eq!(pick(&none, later), ["__view__:future"]);
}

fn display(offer: &str) -> Value {
    serde_json::from_value(json!({
        "eventType": DISPLAY_EVENT,
        "_experience": { "decisioning": { "propositionEventType": { "display": 1 },
            "propositions": [{ "id": "p", "scope": "__view__", "scopeDetails": { "offer": { "id": offer } } }] } }
    }))
    .unwrap()
}

#[test]
fn caps_count_display_notifications_once_each_within_their_window() {
    let set = load(
        json!([{ "id": "a", "fallback": ["plain"], "experiences": [{ "id": "e", "offers": ["promo"] }],
                 "conversion": { "event": "commerce.purchases", "suppress": true } }]),
        json!([
            { "id": "promo", "cap": { "max": 2, "window": "1d" }, "items": [{ "action": "setText", "selector": "#x", "content": "promo" }] },
            { "id": "plain", "items": [{ "action": "setText", "selector": "#x", "content": "plain" }] },
        ]),
    );
    assert!(set.warnings().is_empty(), "{:?}", set.warnings());
    let none = ObjectMap::new();
    let mut state = DecisionState::default();
    let pick = |s: &DecisionState, now| {
        chosen(&decide(&set, "1", &page(), &Visitor { attributes: &none, segments: None, state: Some(s) }, now))
    };
    assert_eq!(pick(&state, T0), ["__view__:promo"]);
    assert!(set.record(&mut state, &display("promo"), "ev-1", T0));
    assert!(!set.record(&mut state, &display("promo"), "ev-1", T0), "a retried notification counts once");
    assert_eq!(pick(&state, T0), ["__view__:promo"]);
    assert!(set.record(&mut state, &display("promo"), "ev-2", Timestamp(T0.0 + HOUR)));
    assert_eq!(pick(&state, Timestamp(T0.0 + 2 * HOUR)), ["__view__:plain"], "capped: the fallback shows");
    assert_eq!(pick(&state, Timestamp(T0.0 + 25 * HOUR)), ["__view__:promo"], "one display left the window");
    assert!(set.record(&mut state, &display("promo"), "ev-3", Timestamp(T0.0 + 26 * HOUR)));
    assert_eq!(state.displays["promo"].len(), 2, "only as many as the cap are kept");
    assert!(!set.record(&mut state, &display("plain"), "ev-4", T0), "uncapped offers are not counted");

    let purchase = serde_json::from_value::<Value>(json!({ "eventType": "commerce.purchases" })).unwrap();
    assert!(set.record(&mut state, &purchase, "ev-5", Timestamp(T0.0 + 27 * HOUR)));
    assert!(pick(&state, Timestamp(T0.0 + 28 * HOUR)).is_empty(), "a converted profile no longer sees the activity");

    // Another device's copy joins: united, each display once.
    let mut other = DecisionState::default();
    set.record(&mut other, &display("promo"), "ev-3", Timestamp(T0.0 + 26 * HOUR));
    set.record(&mut other, &display("promo"), "ev-9", Timestamp(T0.0 + 30 * HOUR));
    let mut joined = state.clone();
    joined.absorb(&other);
    let times = |s: &DecisionState| s.displays["promo"].iter().map(|s| s.0.0 - T0.0).collect::<Vec<_>>();
    assert_eq!(times(&joined), [HOUR, 26 * HOUR, 30 * HOUR]);
    set.record(&mut joined, &display("promo"), "ev-10", Timestamp(T0.0 + 31 * HOUR));
    assert_eq!(times(&joined), [30 * HOUR, 31 * HOUR], "the next display trims to the cap");
    assert_eq!(joined.conversions, state.conversions);
}

#[test]
fn recording_reads_only_the_fields_it_names() {
    let set = load(
        json!([{ "id": "a", "experiences": [{ "id": "e", "offers": ["promo"] }],
                 "conversion": { "event": "commerce.purchases", "suppress": true } }]),
        json!([{ "id": "promo", "cap": { "max": 3, "window": "1d" }, "items": [{ "action": "setText", "selector": "#x", "content": "promo" }] }]),
    );
    // Events as the Web SDK sends them: context beside what recording reads.
    let context = json!({ "web": { "webPageDetails": { "URL": "https://www.luma.test/" } },
        "device": { "screenHeight": 900 }, "identityMap": { "ECID": [{ "id": "1" }] }, "timestamp": "2026-01-01T00:00:00Z" });
    let with_context = |xdm: Value| {
        let mut full: serde_json::Value = serde_json::to_value(&xdm).unwrap();
        for (k, v) in context.as_object().unwrap() {
            full[k] = v.clone();
        }
        serde_json::from_value::<Value>(full).unwrap()
    };
    let trimmed = |xdm: &Value| {
        let mut slim = ObjectMap::new();
        for field in RECORD_READS {
            if let Some(v) = xdm.as_object().and_then(|o| o.get(field)) {
                slim.insert(field.to_owned(), v.clone());
            }
        }
        Value::Object(slim)
    };
    let purchase = serde_json::from_value::<Value>(json!({ "eventType": "commerce.purchases" })).unwrap();
    let events = [display("promo"), display("promo"), purchase];
    let (mut full, mut slim) = (DecisionState::default(), DecisionState::default());
    for (i, e) in events.into_iter().enumerate() {
        let e = with_context(e);
        let at = Timestamp(T0.0 + HOUR * i64::try_from(i).unwrap());
        assert_eq!(
            set.record(&mut full, &e, &format!("ev-{i}"), at),
            set.record(&mut slim, &trimmed(&e), &format!("ev-{i}"), at)
        );
    }
    assert_eq!(full.displays["promo"].len(), 2);
    assert_eq!(full.conversions.len(), 1);
    assert_eq!(full, slim, "events trimmed to RECORD_READS record the same state");
}

#[test]
fn ab_split_is_deterministic_and_follows_the_allocation() {
    let set = load(
        json!([{ "id": "cta-test", "kind": "ab", "traffic": 80, "experiences": [
            { "id": "a", "allocation": 25, "offers": ["cta-a"] },
            { "id": "b", "allocation": 75, "offers": ["cta-b"] } ] }]),
        json!([html("cta-a", "#cta", "A"), html("cta-b", "#cta", "B")]),
    );
    assert!(set.warnings().is_empty(), "{:?}", set.warnings());
    let none = ObjectMap::new();
    let v = Visitor { attributes: &none, segments: None, state: None };
    let (mut a, mut b, mut out) = (0_u32, 0_u32, 0_u32);
    let n: u32 = 10_000;
    for i in 0..n {
        let ecid = format!("{:038}", 52_815_286_440_582_716_171_370_361_733_432_581_330_u128 + u128::from(i) * 7919);
        let first = chosen(&decide(&set, &ecid, &page(), &v, T0));
        assert_eq!(first, chosen(&decide(&set, &ecid, &page(), &v, T0)), "the same ECID gets the same experience");
        match first.first().map(String::as_str) {
            Some("__view__:cta-a") => a += 1,
            Some("__view__:cta-b") => b += 1,
            None => out += 1,
            other => panic!("{other:?}"),
        }
    }
    let share = |x: u32| f64::from(x) / f64::from(n);
    assert!((share(out) - 0.20).abs() < 0.02, "outside the test: {}", share(out));
    assert!((share(a) - 0.20).abs() < 0.02, "a: {}", share(a));
    assert!((share(b) - 0.60).abs() < 0.02, "b: {}", share(b));
    // The documented hash.
    let h = sha256(b"cta-test\x001\x00split");
    assert_eq!(bucket("cta-test", "1", "split"), u64::from_be_bytes(h[..8].try_into().unwrap()) % 10_000);
}

#[test]
fn bad_definitions_are_left_out_with_the_field_and_what_was_expected() {
    let set = load(
        json!([
            { "id": "ok", "experiences": [{ "id": "e", "offers": ["fine", "missing"] }] },
            { "id": "bad audience", "experiences": [{ "id": "e" }] },
            { "id": "events", "audience": "chain(xEvent, timestamp, [A: WHAT(eventType = \"x\")])", "experiences": [{ "id": "e" }] },
            { "id": "split", "kind": "ab", "experiences": [{ "id": "a", "allocation": 30 }, { "id": "b", "allocation": 30 }] },
            { "id": "typo", "audience": "loyalty.tierr = \"Gold\"", "experiences": [{ "id": "e" }] },
            { "id": "refs", "audience": "inSegment(\"origin-only\")", "experiences": [{ "id": "e" }] },
        ]),
        json!([
            html("fine", "#x", "x"),
            { "id": "no-selector", "items": [{ "action": "setHtml", "content": "x" }] },
            { "id": "wrong-content", "items": [{ "action": "setStyle", "selector": "#x", "content": "color: red" }] },
            { "id": "bad-action", "items": [{ "action": "explode", "selector": "#x" }] },
            { "id": "bad-cap", "cap": { "max": 2, "window": "2 weeks" }, "items": [{ "action": "remove", "selector": "#x" }] },
            { "id": "bad-page", "pages": ["men.html"], "items": [{ "action": "remove", "selector": "#x" }] },
            { "id": "bad-date", "start": "tomorrow", "items": [{ "action": "remove", "selector": "#x" }] },
            html("fine", "#y", "duplicate"),
        ]),
    );
    let got: Vec<(String, String, bool)> =
        set.warnings().iter().map(|w| (w.id.clone(), w.field.clone(), w.skipped)).collect();
    let want = [
        ("no-selector", "items[0].selector", true),
        ("wrong-content", "items[0].content", true),
        ("bad-action", "items[0].action", true),
        ("bad-cap", "cap.window", true),
        ("bad-page", "pages[0]", true),
        ("bad-date", "start", true),
        ("fine", "id", true),
        ("ok", "experiences[0].offers[1]", false),
        ("bad audience", "id", true),
        ("events", "audience", true),
        ("split", "experiences", true),
        ("typo", "audience", true),
        ("refs", "audience", false),
    ];
    let want: Vec<(String, String, bool)> = want.iter().map(|(a, b, c)| ((*a).into(), (*b).into(), *c)).collect();
    assert_eq!(got, want);
    let message = |id: &str| set.warnings().iter().find(|w| w.id == id).unwrap().message.clone();
    assert!(
        message("wrong-content").contains("expects an object of string values, found a string"),
        "{}",
        message("wrong-content")
    );
    assert!(message("events").contains("inSegment"), "{}", message("events"));
    assert!(message("typo").contains("did you mean `loyalty.tier`"), "{}", message("typo"));
    assert!(message("split").contains("add up to 60"), "{}", message("split"));
    assert_eq!(set.activity_ids().collect::<Vec<_>>(), ["ok", "refs"]);
}

#[test]
fn glob_and_paths() {
    assert_eq!(page_path("https://www.luma.test/men.html?x=1#top"), "/men.html");
    assert_eq!(page_path("https://www.luma.test"), "/");
    assert_eq!(page_path("web://www.luma.test/"), "/");
    assert!(glob("/", "/"));
    assert!(!glob("/", "/men.html"));
    assert!(glob("/men*", "/men.html"));
    assert!(glob("*.html", "/men.html"));
    assert!(glob("/a*b*c", "/axxbyyc"));
    assert!(!glob("/a*b*c", "/axxbyy"));
    assert!(glob("*", ""));
}

#[test]
fn profile_tokens_are_filled_in_and_escaped_in_html() {
    let set = load(
        json!([{ "id": "a", "experiences": [{ "id": "e", "offers": ["hello", "plain"] }] }]),
        json!([
            html("hello", "#greeting", "Hi {{profile.person.name.firstName}}, {{ profile.loyalty.tier }} member: {{profile.loyalty.points}} pts {{other}} {{profile.missing}}."),
            { "id": "plain", "items": [{ "action": "setText", "selector": "#t", "content": "<{{profile.person.name.firstName}}>" }] },
        ]),
    );
    assert!(set.warnings().is_empty(), "{:?}", set.warnings());
    let reads: Vec<&String> = set.profile_reads().collect();
    assert_eq!(reads, ["loyalty.points", "loyalty.tier", "missing", "person.name.firstName"]);
    let mut a = attrs(&[("person.name.firstName", "<Sarah>"), ("loyalty.tier", "Bronze")]);
    a.insert("loyalty.points".into(), serde_json::from_value(json!(1240)).unwrap());
    let v = Visitor { attributes: &a, segments: None, state: None };
    let props = decide(&set, "1", &page(), &v, T0);
    assert_eq!(props[0].items[0].data.content.as_str(), Some("Hi &lt;Sarah&gt;, Bronze member: 1240 pts {{other}} ."));
}
