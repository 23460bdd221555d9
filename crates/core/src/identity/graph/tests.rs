use super::*;
use proptest::prelude::*;

const A: &str = "11111111111111111111111111111111111111";
const B: &str = "22222222222222222222222222222222222222";

fn k(ns: &str, id: &str) -> IdentityKey {
    IdentityKey::new(ns, id)
}

fn auth(ns: &str, id: &str) -> LinkedIdentity {
    LinkedIdentity { key: k(ns, id), state: AuthState::Authenticated }
}

fn amb(ns: &str, id: &str) -> LinkedIdentity {
    LinkedIdentity { key: k(ns, id), state: AuthState::Ambiguous }
}

fn rec(key: &str, at: i64, ids: Vec<LinkedIdentity>) -> LinkRecord {
    LinkRecord::new(key, Timestamp(at), ids)
}

fn ids(p: &Person) -> Vec<String> {
    p.members.iter().map(|m| m.key.to_string()).collect()
}

/// Luma: Sarah browses anonymously on A, logs in on A, opens the email link on her phone B;
/// loyalty data links her CRMID to a loyalty number; later Bob logs in on A.
fn luma() -> Vec<LinkRecord> {
    vec![
        rec("a-anon", 100, vec![amb("ECID", A)]),
        rec(
            "a-login-sarah",
            200,
            vec![amb("ECID", A), auth("Email", "sarah.rose@example.com"), auth("CRMID", "crm-1042")],
        ),
        rec("loyalty-row-7", 250, vec![auth("CRMID", "crm-1042"), auth("LoyaltyID", "LY-778")]),
        rec("b-email-link", 300, vec![amb("ECID", B), amb("Email", "sarah.rose@example.com")]),
        rec("a-login-bob", 400, vec![amb("ECID", A), auth("Email", "bob@example.com"), auth("CRMID", "crm-7")]),
    ]
}

#[test]
fn luma_stitching_and_the_shared_browser() {
    let g = build(&luma(), &GraphConfig::default());
    let sarah = g.person_of(&k("CRMID", "crm-1042")).unwrap();
    assert_eq!(sarah.key, k("CRMID", "crm-1042"), "the CRMID names the graph");
    assert_eq!(
        ids(sarah),
        ["CRMID:crm-1042", "Email:sarah.rose@example.com", "LoyaltyID:LY-778", &format!("ECID:{B}")]
    );
    let bob = g.person_of(&k("ECID", A)).unwrap();
    assert_eq!(bob.key, k("CRMID", "crm-7"), "browser A moved to the last authenticated user");
    assert!(g.events.is_empty(), "device ownership is not a conflict: {:?}", g.events);
    // History: A's anonymous browsing and Sarah's session stay hers; after Bob's login, Bob's.
    assert_eq!(g.owner_at(&k("ECID", A), Timestamp(100)), Some(&k("CRMID", "crm-1042")));
    assert_eq!(g.owner_at(&k("ECID", A), Timestamp(350)), Some(&k("CRMID", "crm-1042")));
    assert_eq!(g.owner_at(&k("ECID", A), Timestamp(400)), Some(&k("CRMID", "crm-7")));
    assert_eq!(g.owner_at(&k("ECID", B), Timestamp(10)), Some(&k("CRMID", "crm-1042")));
}

#[test]
fn anonymous_visitors_are_their_own_graph() {
    let g = build(&[rec("x", 1, vec![amb("ECID", A)])], &GraphConfig::default());
    assert_eq!(g.persons.len(), 1);
    assert!(!g.persons[0].is_known());
    assert_eq!(g.owner_at(&k("ECID", A), Timestamp(5)), Some(&k("ECID", A)));
}

#[test]
fn a_second_crmid_is_dropped_and_reported_newest_wins() {
    // One email used by two CRM accounts: the newer link keeps it.
    let records = vec![
        rec("r1", 100, vec![auth("CRMID", "c1"), auth("Email", "shared@example.com")]),
        rec("r2", 200, vec![auth("CRMID", "c2"), auth("Email", "shared@example.com")]),
    ];
    let g = build(&records, &GraphConfig::default());
    assert_eq!(ids(g.person_of(&k("CRMID", "c2")).unwrap()), ["CRMID:c2", "Email:shared@example.com"]);
    assert_eq!(ids(g.person_of(&k("CRMID", "c1")).unwrap()), ["CRMID:c1"]);
    assert_eq!(
        g.events,
        vec![GraphEvent::LinkDropped {
            record: "r1".into(),
            identity: k("Email", "shared@example.com"),
            namespace: "CRMID".into(),
            kept: k("CRMID", "c1"),
        }]
    );
}

#[test]
fn logged_out_identities_link_nothing_and_ambiguous_does_not_steal_a_device() {
    let records = vec![
        rec("login", 100, vec![amb("ECID", A), auth("CRMID", "c1")]),
        rec("logout", 200, vec![amb("ECID", A), LinkedIdentity { key: k("CRMID", "c1"), state: AuthState::LoggedOut }]),
        rec("newsletter", 300, vec![amb("ECID", A), amb("Email", "other@example.com")]),
    ];
    let g = build(&records, &GraphConfig::default());
    assert_eq!(g.person_of(&k("ECID", A)).unwrap().key, k("CRMID", "c1"));
    assert_eq!(ids(g.person_of(&k("Email", "other@example.com")).unwrap()), ["Email:other@example.com"]);
}

#[test]
fn the_cap_evicts_cookies_first_oldest_first_and_says_so() {
    let config = GraphConfig { max_identities: 4, ..GraphConfig::default() };
    let mut records = Vec::new();
    for i in 0..5 {
        records.push(rec(
            &format!("r{i}"),
            100 + i,
            vec![amb("ECID", &format!("{i}{}", "0".repeat(37))), auth("CRMID", "c1")],
        ));
    }
    records.push(rec("e", 50, vec![auth("CRMID", "c1"), auth("Email", "a@example.com")]));
    let g = build(&records, &config);
    let p = g.person_of(&k("CRMID", "c1")).unwrap();
    assert_eq!(p.members.len(), 4);
    assert!(p.contains(&k("Email", "a@example.com")), "person identities are evicted last");
    let evicted: Vec<_> = g
        .events
        .iter()
        .map(|e| match e {
            GraphEvent::Evicted { identity, cap: 4, .. } => identity.id.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    let cookie = |i: u8| format!("{i}{}", "0".repeat(37));
    assert_eq!(
        evicted,
        [cookie(0), cookie(1), cookie(2)],
        "7 identities, cap 4: the three least recently seen cookies"
    );
}

fn arb_records() -> impl Strategy<Value = Vec<LinkRecord>> {
    let identity = prop_oneof![
        (0..4u8).prop_map(|i| ("ECID", format!("{i}{}", "1".repeat(37)))),
        (0..3u8).prop_map(|i| ("CRMID", format!("c{i}"))),
        (0..3u8).prop_map(|i| ("Email", format!("e{i}@x.test"))),
        (0..2u8).prop_map(|i| ("LoyaltyID", format!("l{i}"))),
    ];
    let state = prop_oneof![Just(AuthState::Authenticated), Just(AuthState::Ambiguous), Just(AuthState::LoggedOut)];
    let linked = (identity, state).prop_map(|((ns, id), state)| LinkedIdentity { key: k(ns, &id), state });
    let record = (0..6i64, prop::collection::vec(linked, 1..4), 0..1000u32)
        .prop_map(|(at, ids, n)| rec(&format!("r{n}"), at, ids));
    prop::collection::vec(record, 0..14)
}

proptest! {
    #[test]
    fn any_order_and_any_duplication_give_the_same_graph(records in arb_records(), seed in any::<u64>()) {
        let config = GraphConfig { max_identities: 5, ..GraphConfig::default() };
        let expected = build(&records, &config);
        let mut shuffled = records.clone();
        // A deterministic shuffle from the seed, and every record delivered twice.
        let mut s = seed;
        for i in (1..shuffled.len()).rev() {
            s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            shuffled.swap(i, (s >> 33) as usize % (i + 1));
        }
        shuffled.extend(records.iter().cloned());
        prop_assert_eq!(build(&shuffled, &config), expected);
    }

    #[test]
    fn graphs_respect_unique_namespaces_and_the_cap(records in arb_records()) {
        let config = GraphConfig { max_identities: 5, ..GraphConfig::default() };
        let g = build(&records, &config);
        let mut seen = std::collections::BTreeSet::new();
        for p in &g.persons {
            prop_assert!(p.members.len() <= 5);
            prop_assert!(p.members.iter().filter(|m| m.key.ns == "CRMID").count() <= 1);
            for m in &p.members {
                prop_assert!(seen.insert(m.key.clone()), "{} is in two graphs", m.key);
            }
        }
    }
}
