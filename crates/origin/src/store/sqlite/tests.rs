use super::*;
use edgecdp_core::identity::graph::{AuthState, LinkedIdentity};
use edgecdp_core::object;
use edgecdp_core::sync::{CollectedEvent, CollectedEvents, IdentityLinks};

const A: &str = "11111111111111111111111111111111111111";
const B: &str = "22222222222222222222222222222222222222";

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("sub/s.sqlite"), GraphConfig::default()).unwrap();
    (dir, s)
}

fn k(ns: &str, id: &str) -> IdentityKey {
    IdentityKey::new(ns, id)
}

fn li(ns: &str, id: &str, state: AuthState) -> LinkedIdentity {
    LinkedIdentity { key: k(ns, id), state }
}

/// A batch as an edge sends it: one event on `ecid` at `at`, with its link record when the
/// event names people.
fn visit(n: u8, ecid: &str, at: i64, people: &[(&str, &str, AuthState)]) -> SyncBatch {
    let event_id = format!("ev-{n}");
    let mut records = vec![SyncRecord::Events(CollectedEvents {
        datastream_id: "ds".into(),
        ecid: Ecid::parse(ecid).unwrap(),
        received_at: Timestamp(at),
        events: vec![CollectedEvent {
            event_id: event_id.clone(),
            event_type: Some("web.webpagedetails.pageViews".into()),
            timestamp: Timestamp(at),
            xdm: object! { "eventType" => "web.webpagedetails.pageViews" },
            data: None,
        }],
    })];
    if !people.is_empty() {
        let mut ids: Vec<LinkedIdentity> = people.iter().map(|(ns, id, s)| li(ns, id, *s)).collect();
        ids.push(li("ECID", ecid, AuthState::Ambiguous));
        records.push(SyncRecord::Links(IdentityLinks {
            source: "ds".into(),
            records: vec![LinkRecord::new(event_id, Timestamp(at), ids)],
        }));
    }
    SyncBatch::new("test", Timestamp(at), [n; 16], records)
}

fn batch_of(n: u8, events: &[&str]) -> SyncBatch {
    SyncBatch::new(
        "test",
        Timestamp(1),
        [n; 16],
        vec![SyncRecord::Events(CollectedEvents {
            datastream_id: "ds".into(),
            ecid: Ecid::parse(A).unwrap(),
            received_at: Timestamp(2),
            events: events
                .iter()
                .map(|id| CollectedEvent {
                    event_id: (*id).into(),
                    event_type: Some("t".into()),
                    timestamp: Timestamp(3),
                    xdm: object! { "eventType" => "t" },
                    data: None,
                })
                .collect(),
        })],
    )
}

#[test]
fn a_batch_applies_once_and_events_are_unique() {
    let (_d, store) = store();
    let b = batch_of(1, &["e1", "e2"]);
    assert_eq!(store.apply_batch(&b, Timestamp(5)).unwrap(), Applied { applied: true, events: 2, forgotten: 0 });
    assert_eq!(store.apply_batch(&b, Timestamp(6)).unwrap(), Applied { applied: false, events: 0, forgotten: 0 });
    assert_eq!(store.apply_batch(&batch_of(2, &["e2", "e3"]), Timestamp(7)).unwrap().events, 1);
    assert_eq!(store.stats().unwrap().events, 3);
    assert_eq!(store.events_for_ecid(A, 10).unwrap().len(), 3);
}

#[test]
fn reopening_keeps_data_and_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    SqliteStore::open(&path, GraphConfig::default()).unwrap().apply_batch(&batch_of(1, &["e1"]), Timestamp(5)).unwrap();
    let again = SqliteStore::open(&path, GraphConfig::default()).unwrap();
    assert_eq!(again.stats().unwrap().events, 1);
    let version: i64 = again.conn().unwrap().pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
    assert_eq!(version, i64::try_from(MIGRATIONS.len()).unwrap());
    assert!(again.next_snapshot_version().unwrap() < again.next_snapshot_version().unwrap());
}

/// Luma steps 1–2 and 6, then a second person on Sarah's laptop.
fn luma(store: &SqliteStore) {
    use AuthState::{Ambiguous, Authenticated};
    store.apply_batch(&visit(1, A, 100, &[]), Timestamp(100)).unwrap();
    store
        .apply_batch(
            &visit(
                2,
                A,
                200,
                &[("Email", "sarah.rose@example.com", Authenticated), ("CRMID", "crm-1042", Authenticated)],
            ),
            Timestamp(200),
        )
        .unwrap();
    let loyalty = LinkRecord::new(
        "loyalty:LY-778",
        Timestamp(150),
        [li("CRMID", "crm-1042", Authenticated), li("LoyaltyID", "LY-778", Authenticated)],
    );
    assert_eq!(store.add_link_records(&[loyalty.clone(), loyalty], "loyalty").unwrap(), 1);
    store.apply_batch(&visit(3, B, 300, &[("Email", "sarah.rose@example.com", Ambiguous)]), Timestamp(300)).unwrap();
}

#[test]
fn stitching_across_browsers_and_sources() {
    let (_d, store) = store();
    luma(&store);
    let g = store.graph(&k("Email", "sarah.rose@example.com")).unwrap().unwrap();
    assert_eq!(g.person, k("CRMID", "crm-1042"));
    let ids: Vec<String> = g.identities.iter().map(|m| m.key.to_string()).collect();
    assert_eq!(
        ids,
        [
            "CRMID:crm-1042",
            "Email:sarah.rose@example.com",
            "LoyaltyID:LY-778",
            &format!("ECID:{A}"),
            &format!("ECID:{B}")
        ]
    );
    let view = store.edge_fragment(&k("ECID", B), Timestamp(999), &ProfileConfig::default()).unwrap().unwrap();
    assert_eq!(view.person, k("CRMID", "crm-1042"));
    assert!(view.version > 0);
    let history = store.person_events(&k("LoyaltyID", "LY-778"), 100).unwrap().unwrap();
    assert_eq!(history.len(), 3, "the anonymous view before login is hers too");
}

#[test]
fn a_second_person_on_the_laptop_takes_it_and_sarah_keeps_her_history() {
    let (_d, store) = store();
    luma(&store);
    store.apply_batch(&visit(4, A, 400, &[("CRMID", "crm-7", AuthState::Authenticated)]), Timestamp(400)).unwrap();
    store.apply_batch(&visit(5, A, 500, &[]), Timestamp(500)).unwrap();
    assert_eq!(store.graph(&k("ECID", A)).unwrap().unwrap().person, k("CRMID", "crm-7"));
    let sarah = store.graph(&k("CRMID", "crm-1042")).unwrap().unwrap();
    assert!(!sarah.identities.iter().any(|m| m.key.id == A));
    let sarah_events: Vec<String> =
        store.person_events(&k("CRMID", "crm-1042"), 100).unwrap().unwrap().into_iter().map(|e| e.event_id).collect();
    assert_eq!(sarah_events, ["ev-3", "ev-2", "ev-1"], "her laptop history up to the second login stays hers");
    let bob_events: Vec<String> =
        store.person_events(&k("CRMID", "crm-7"), 100).unwrap().unwrap().into_iter().map(|e| e.event_id).collect();
    assert_eq!(bob_events, ["ev-5", "ev-4"]);
}

#[test]
fn deletion_forgets_everything_and_late_deliveries_stay_forgotten() {
    let (_d, store) = store();
    luma(&store);
    let report =
        store.delete_person(&k("Email", "sarah.rose@example.com"), "admin-test", Timestamp(1000)).unwrap().unwrap();
    assert_eq!(report.identities.len(), 5);
    assert_eq!(report.events, 3);
    assert_eq!(report.link_records, 3);
    assert!(store.graph(&k("CRMID", "crm-1042")).unwrap().is_none());
    assert!(store.edge_fragment(&k("ECID", A), Timestamp(1001), &ProfileConfig::default()).unwrap().is_none());
    assert_eq!(store.events_for_ecid(A, 10).unwrap().len(), 0);
    assert_eq!(store.tombstones(Timestamp(0)).unwrap().len(), 5);
    // A batch an edge held back arrives after the deletion: nothing of it comes back.
    let late = visit(9, A, 250, &[("CRMID", "crm-1042", AuthState::Authenticated)]);
    assert_eq!(store.apply_batch(&late, Timestamp(1100)).unwrap().forgotten, 1);
    assert!(store.graph(&k("CRMID", "crm-1042")).unwrap().is_none());
    // The browser goes on with a fresh, anonymous profile.
    store.apply_batch(&visit(10, A, 1200, &[]), Timestamp(1200)).unwrap();
    assert_eq!(store.events_for_ecid(A, 10).unwrap().len(), 1);
    let audit: i64 = store.conn().unwrap().query_row("SELECT count(*) FROM deletions", [], |r| r.get(0)).unwrap();
    assert_eq!(audit, 1);
}

/// One event of `ecid` at `at` (milliseconds) with the XDM given as JSON.
fn event_of(n: u8, ecid: &str, at: i64, xdm: &serde_json::Value) -> SyncBatch {
    crate::store::testing::event_batch(n, ecid, Timestamp(at), xdm)
}

#[test]
fn activity_reports_count_displays_clicks_visitors_and_conversions_after_a_display() {
    let (_d, store) = store();
    let note = |kind: &str, experience: &str| {
        serde_json::json!({ "eventType": format!("decisioning.proposition{kind}"), "_experience": { "decisioning": {
            "propositions": [{ "id": "p", "scope": "__view__", "scopeDetails": { "activity": { "id": "cta" }, "experience": { "id": experience } } }] } } })
    };
    let purchase = serde_json::json!({ "eventType": "commerce.purchases" });
    // A saw experience a, clicked, then bought; B bought before seeing b; C saw b twice, never bought.
    let batches = [
        event_of(1, A, 10, &note("Display", "a")),
        event_of(2, A, 11, &note("Interact", "a")),
        event_of(3, A, 20, &purchase),
        event_of(4, B, 5, &purchase),
        event_of(5, B, 10, &note("Display", "b")),
        event_of(6, "33333333333333333333333333333333333333", 10, &note("Display", "b")),
        event_of(7, "33333333333333333333333333333333333333", 12, &note("Display", "b")),
    ];
    for b in &batches {
        store.apply_batch(b, Timestamp(100)).unwrap();
    }
    let counts = store.activity_counts("cta", Some("commerce.purchases")).unwrap();
    let row = |e: &str| {
        counts.iter().find(|c| c.experience == e).map(|c| (c.displays, c.interactions, c.visitors, c.conversions))
    };
    assert_eq!(row("a"), Some((1, 1, 1, 1)));
    assert_eq!(row("b"), Some((3, 0, 2, 0)), "a purchase before the display does not count");
    let without = store.activity_counts("cta", None).unwrap();
    assert!(without.iter().all(|c| c.conversions == 0));
    assert!(store.activity_counts("other", Some("commerce.purchases")).unwrap().is_empty());
}

#[test]
fn batches_applied_together_are_each_answered_and_a_repeat_in_the_group_is_applied_once() {
    let (_d, store) = store();
    let a = batch_of(1, &["g1", "g2"]);
    let b = batch_of(2, &["g2", "g3"]);
    let answers = store.apply_batches(&[(&a, Timestamp(5)), (&b, Timestamp(5)), (&a, Timestamp(6))]).unwrap();
    let applied: Vec<(bool, usize)> = answers.iter().map(|x| (x.applied, x.events)).collect();
    assert_eq!(applied, [(true, 2), (true, 1), (false, 0)], "events are unique by id, batches by batch id");
    assert_eq!(store.events_for_ecid(A, 10).unwrap().len(), 3);
}

#[test]
fn decisioning_events_are_the_newest_of_those_types_for_a_browser_and_for_a_person() {
    let (_d, store) = store();
    let typed = |t: &str| serde_json::json!({ "eventType": t, "web": { "webPageDetails": { "name": "home" } } });
    const C: &str = "33333333333333333333333333333333333333";
    // Browser C, anonymous: page views with a display and a purchase among them.
    for n in 0..20u8 {
        let t = match n {
            3 | 9 | 15 => "decisioning.propositionDisplay",
            12 => "commerce.purchases",
            _ => "web.webpagedetails.pageViews",
        };
        store.apply_batch(&event_of(100 + n, C, 1000 + i64::from(n), &typed(t)), Timestamp(2000)).unwrap();
    }
    let types = ["decisioning.propositionDisplay".to_owned(), "commerce.purchases".to_owned()];
    let ids = |events: Vec<StoredEvent>| events.into_iter().map(|e| e.event_id).collect::<Vec<_>>();
    let id = |n: u8| format!("ev-{}", 100 + n);
    assert_eq!(ids(store.decisioning_events(&k("ECID", C), &types, 10).unwrap()), [id(15), id(12), id(9), id(3)]);
    assert_eq!(ids(store.decisioning_events(&k("ECID", C), &types, 2).unwrap()), [id(15), id(12)], "the newest two");
    assert!(store.decisioning_events(&k("ECID", C), &["commerce.productViews".to_owned()], 10).unwrap().is_empty());
    let newest = &store.decisioning_events(&k("ECID", C), &types, 1).unwrap()[0];
    assert_eq!(
        newest.xdm,
        serde_json::json!({ "eventType": "decisioning.propositionDisplay", "_experience": null }),
        "the XDM is trimmed to what recording reads"
    );
    // A person: Sarah's laptop (A) was taken by a second person after her; her events of a type
    // are hers only, even past the limit's first pick.
    luma(&store);
    store.apply_batch(&visit(4, A, 400, &[("CRMID", "crm-7", AuthState::Authenticated)]), Timestamp(400)).unwrap();
    store.apply_batch(&visit(5, A, 500, &[]), Timestamp(500)).unwrap();
    let views = ["web.webpagedetails.pageViews".to_owned()];
    let sarah: Vec<String> = ids(store.decisioning_events(&k("CRMID", "crm-1042"), &views, 2).unwrap());
    assert_eq!(sarah, ["ev-3", "ev-2"]);
    let bob: Vec<String> = ids(store.decisioning_events(&k("CRMID", "crm-7"), &views, 1).unwrap());
    assert_eq!(bob, ["ev-5"]);
}
