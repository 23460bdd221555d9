use serde_json::json;

use super::*;
use crate::decide::model::PAGE_SCOPE;

const T0: Timestamp = Timestamp(1_790_000_000_000);

fn segment(id: &str, pql: &str) -> Definition {
    Definition { id: id.into(), name: String::new(), pql: pql.into(), description: String::new() }
}

fn luma() -> (Vec<Definition>, Vec<Activity>, Vec<Offer>) {
    let segments = vec![
        segment("loyalty-members", r#"loyalty.tier in ["Bronze", "Silver"]"#),
        segment(
            "running-views",
            r#"xEvent[eventType = "commerce.productViews" and exists I from productListItems where (exists C from I.productCategories where C.categoryID = "running")].count() >= 2"#,
        ),
        segment("running-members", r#"inSegment("running-views") and inSegment("loyalty-members")"#),
        segment("big-spenders", r#"loyalty.points > 5000"#),
    ];
    let activities: Vec<Activity> = serde_json::from_value(json!([
        { "id": "hero", "on_device": true, "experiences": [
            { "id": "running", "audience": "inSegment(\"running-members\")", "offers": ["running-hero"] } ] },
        { "id": "edge-only", "experiences": [{ "id": "e", "audience": "inSegment(\"big-spenders\")", "offers": ["vip"] }] },
    ]))
    .unwrap();
    let offers: Vec<Offer> = serde_json::from_value(json!([
        { "id": "running-hero", "items": [{ "action": "setHtml", "selector": "#hero h1", "content": "Run further, {{profile.person.name.firstName}}" }] },
        { "id": "vip", "items": [{ "action": "setText", "selector": "#vip", "content": "VIP" }] },
    ]))
    .unwrap();
    (segments, activities, offers)
}

fn compiled() -> (SegmentSet, DecisionSet, DeviceDefinitions) {
    let (segments, activities, offers) = luma();
    let schema = Schema::standard();
    let set = SegmentSet::load(&segments, &schema, &Options::default());
    assert!(set.skipped().is_empty(), "{:?}", set.skipped());
    let decisions = DecisionSet::load(&activities, &offers, &schema, &|id| set.get(id).is_some());
    assert!(decisions.warnings().is_empty(), "{:?}", decisions.warnings());
    let device = DeviceDefinitions::new(&decisions, &activities, &offers, &set);
    (set, decisions, device)
}

fn view(sku: &str, category: &str) -> Value {
    serde_json::from_value(json!({ "eventType": "commerce.productViews",
        "productListItems": [{ "SKU": sku, "productCategories": [{ "categoryID": "men/sweatshirts" }, { "categoryID": category }] }] }))
    .unwrap()
}

fn attributes() -> ObjectMap<Value> {
    let mut a = ObjectMap::new();
    a.insert("person.name.firstName".into(), Value::from("Sarah"));
    a.insert("loyalty.tier".into(), Value::from("Bronze"));
    a.insert("loyalty.points".into(), Value::from(1240_i64));
    a.insert("person.birthDate".into(), Value::from("1991-04-12"));
    a
}

#[test]
fn only_what_on_device_activities_read_leaves_the_edge() {
    let (set, _, device) = compiled();
    let ids: Vec<&str> = device.segments.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["loyalty-members", "running-views", "running-members"], "referenced, directly or not");
    assert_eq!(device.activities.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ["hero"]);
    assert_eq!(device.offers.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(), ["running-hero"]);
    let mut state = ProfileSegments::new();
    let attrs = attributes();
    set.evaluate(&mut state, &attrs, T0, &Touched::default());
    let bundle = device.bundle(7, "ecid-1", &attrs, Some(&state), None);
    let paths: Vec<&String> = bundle.attributes.keys().collect();
    assert_eq!(paths, ["loyalty.tier", "person.name.firstName"], "not the birth date nor the points");
    let states: Vec<&String> = bundle.state.as_ref().unwrap().segments.keys().collect();
    assert!(!states.iter().any(|s| *s == "big-spenders"), "{states:?}");
    // It travels as JSON.
    let back: Bundle = serde_json::from_value(serde_json::to_value(&bundle).unwrap()).unwrap();
    assert_eq!(back, bundle);
}

#[test]
fn the_browser_decides_as_the_edge_does_as_events_arrive() {
    let (set, decisions, device) = compiled();
    let attrs = attributes();
    let scopes = vec![PAGE_SCOPE.to_owned()];
    let page = Some("https://www.luma.test/");
    // The edge's state after one running view (the page load).
    let mut edge_state = ProfileSegments::new();
    let t = set.on_event(&mut edge_state, &view("MS-RUN-01", "running"), T0, &attrs);
    set.evaluate(&mut edge_state, &attrs, T0, &t);
    let bundle = device.bundle(1, "ecid-1", &attrs, Some(&edge_state), None);
    let (mut browser, skipped) = Device::new(bundle);
    assert!(skipped.is_empty());
    assert!(browser.decide(&scopes, page, T0).is_empty(), "one running view is not enough");

    // Two more views on the page: the second running one qualifies, without a round trip.
    let later = Timestamp(T0.0 + 60_000);
    browser.on_event(&view("MS-CRW-01", "everyday"), "e2", later);
    assert!(browser.decide(&scopes, page, later).is_empty());
    let entered = browser.on_event(&view("MS-RUN-02", "running"), "e3", Timestamp(later.0 + 1));
    assert!(entered.iter().any(|t| t.segment == "running-members"), "{entered:?}");
    let local = browser.decide(&scopes, page, Timestamp(later.0 + 2));
    assert_eq!(local.len(), 1);
    assert_eq!(local[0].items[0].data.content.as_str(), Some("Run further, Sarah"));

    // The edge, given the same events, decides the same proposition.
    for (xdm, at) in [(view("MS-CRW-01", "everyday"), later), (view("MS-RUN-02", "running"), Timestamp(later.0 + 1))] {
        let t = set.on_event(&mut edge_state, &xdm, at, &attrs);
        set.evaluate(&mut edge_state, &attrs, at, &t);
    }
    let visitor = Visitor { attributes: &attrs, segments: Some(&edge_state), state: None };
    let at_edge =
        decisions.decide(&Request { ecid: "ecid-1", scopes: &scopes, page, now: Timestamp(later.0 + 2) }, &visitor);
    let hero: Vec<&Proposition> = at_edge.iter().filter(|p| p.scope_details.activity.id == "hero").collect();
    assert_eq!(hero, local.iter().collect::<Vec<_>>());
}
