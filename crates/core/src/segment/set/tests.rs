use super::*;
use crate::object;
use crate::segment::schema::Ty;
use proptest::prelude::*;

const MIN: i64 = 60_000;
const TYPES: [&str; 3] = ["commerce.productViews", "commerce.productListAdds", "commerce.purchases"];

fn schema() -> Schema {
    let mut s = Schema::standard();
    s.add_profile_attribute("_luma.preferredSize", Ty::String);
    s
}

fn def(id: &str, pql: &str) -> Definition {
    Definition { id: id.into(), name: id.into(), pql: pql.into(), description: String::new() }
}

fn set(defs: &[Definition]) -> SegmentSet {
    let s = SegmentSet::load(defs, &schema(), &Options { exact_buffers: true, ..Options::default() });
    assert!(s.skipped().is_empty(), "{:?}", s.skipped());
    s
}

/// A random definition of the supported shapes; `i` is its index (it may reference earlier ones).
fn arb_pql(i: usize) -> impl Strategy<Value = String> {
    let ty = (0..3usize).prop_map(|t| TYPES[t]);
    let mins = 1..90i64;
    let window = prop_oneof![
        Just(String::new()),
        mins.clone().prop_map(|m| format!(" WHEN(< {m} minutes before now)")),
        mins.clone().prop_map(|m| format!(" WHEN(<= {m} minutes before now)")),
        Just(" WHEN(today)".to_owned()),
    ];
    let step = (ty.clone(), window.clone()).prop_map(|(t, w)| format!("WHAT(eventType = \"{t}\"){w}"));
    let gift = ty.clone().prop_map(|t| {
        format!("WHAT(eventType = \"{t}\" and exists I from productListItems where I._luma.size != Profile._luma.preferredSize)")
    });
    let chain = (
        prop::collection::vec(prop_oneof![3 => step, 1 => gift], 1..4),
        proptest::option::of((ty.clone(), proptest::option::of(1..60i64))),
        proptest::option::of(1..40i64),
        any::<bool>(),
    )
        .prop_map(|(steps, absence, gap, keyed)| {
            let mut parts: Vec<String> = steps.iter().enumerate().map(|(k, s)| format!("S{k}: {s}")).collect();
            if let (Some(g), true) = (gap, parts.len() > 1) {
                let last = parts.len() - 1;
                parts[last] = format!(
                    "{} WHEN(< {g} minutes after S{})",
                    parts[last].split(" WHEN(").next().unwrap_or(""),
                    last - 1
                );
            }
            if let Some((t, d)) = absence {
                let when = d.map(|d| format!(" WHEN(< {d} minutes after S{})", steps.len() - 1)).unwrap_or_default();
                parts.push(format!("N: NOT WHAT(eventType = \"{t}\"){when}"));
            }
            let by = if keyed { " BY commerce.cart.cartID" } else { "" };
            format!("chain(xEvent, timestamp, [{}]{by})", parts.join(", "))
        });
    let count =
        (ty.clone(), mins.clone(), prop_oneof![Just(">="), Just("<"), Just("=")], 0..4u32).prop_map(|(t, m, op, n)| {
            format!("xEvent[eventType = \"{t}\" and timestamp occurs < {m} minutes before now].count() {op} {n}")
        });
    let sum = (ty, mins, 0..200i64).prop_map(|(t, m, n)| {
        format!("xEvent[eventType = \"{t}\" and timestamp occurs < {m} minutes before now].sum(commerce.order.priceTotal) > {n}")
    });
    let profile = prop_oneof![Just("loyalty.tier = \"Gold\"".to_owned()), Just("loyalty.points >= 100".to_owned())];
    let reference = (0..i.max(1))
        .prop_map(move |j| if i == 0 { "loyalty.tier = \"Gold\"".to_owned() } else { format!("inSegment(\"s{j}\")") });
    let atom = prop_oneof![4 => chain, 2 => count, 1 => sum, 1 => profile, 1 => reference];
    (atom.clone(), proptest::option::of((prop_oneof![Just("and"), Just("or")], atom)), any::<bool>()).prop_map(
        |(a, b, neg)| {
            let body = match b {
                Some((op, b)) => format!("{a} {op} {b}"),
                None => a,
            };
            if neg { format!("not({body})") } else { body }
        },
    )
}

fn arb_set() -> impl Strategy<Value = Vec<String>> {
    (arb_pql(0), arb_pql(1), arb_pql(2)).prop_map(|(a, b, c)| vec![a, b, c])
}

/// Events: type, minutes since the previous, cart, price, item size.
fn arb_events() -> impl Strategy<Value = Vec<(usize, i64, u8, i64, bool)>> {
    prop::collection::vec((0..3usize, 0..25i64, 0..2u8, 0..150i64, any::<bool>()), 0..30)
}

fn xdm(ty: usize, cart: u8, price: i64, small: bool) -> Value {
    object! {
        "eventType" => TYPES[ty],
        "commerce" => object! { "cart" => object! { "cartID" => format!("c{cart}") }, "order" => object! { "priceTotal" => price } },
        "productListItems" => vec![object! { "SKU" => "MS-RUN-01", "_luma" => object! { "size" => if small { "S" } else { "L" } } }],
    }
}

fn profile(gold: bool, size: &str) -> ObjectMap<Value> {
    let mut p = ObjectMap::new();
    p.insert("loyalty.tier".into(), Value::from(if gold { "Gold" } else { "Bronze" }));
    p.insert("loyalty.points".into(), Value::from(if gold { 250i64 } else { 40 }));
    p.insert("_luma.preferredSize".into(), Value::from(size));
    p
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// For random segments of the supported shapes (chains with windows, gaps, absences and keys,
    /// counts, sums, profile predicates, inSegment references, event-vs-profile comparisons) and
    /// random event streams cut into random batches, with the state encoded and decoded between
    /// batches and the profile changing between them: the streaming memberships equal the batch
    /// evaluator's over the whole history at the end of every batch, and at a later time.
    #[test]
    fn streaming_equals_batch_for_any_split(pqls in arb_set(), events in arb_events(), cuts in prop::collection::vec(any::<bool>(), 30), probe in 0..200i64, gold in prop::collection::vec(any::<bool>(), 31)) {
        let defs: Vec<Definition> = pqls.iter().enumerate().map(|(i, p)| def(&format!("s{i}"), p)).collect();
        let set = set(&defs);
        let mut state = ProfileSegments::new();
        let base = 20_000 * 86_400_000_i64 + 23 * 3_600_000;
        let mut ts = base;
        let mut xdms = Vec::new();
        let mut orders = Vec::new();
        let mut touched = Touched::default();
        let mut batch = 0;
        let mut clock = base;
        for (n, (ty, gap, cart, price, small)) in events.iter().enumerate() {
            ts += gap * MIN;
            let p = profile(gold[batch], "S");
            xdms.push(xdm(*ty, *cart, *price, *small));
            orders.push(Order { ts: Timestamp(ts), seq: n as u64 + 1 });
            touched.extend(set.on_event(&mut state, &xdms[n], Timestamp(ts), &p));
            let end_of_batch = cuts[n] || n + 1 == events.len();
            if !end_of_batch {
                continue;
            }
            // The batch is synced: decide now and later, then the state travels as bytes.
            batch += 1;
            let p = profile(gold[batch], "S");
            // Time never runs backwards for one profile: a batch may be decided after a later probe.
            for now in [Timestamp(ts.max(clock)), Timestamp(ts.max(clock) + probe * MIN)] {
                clock = now.millis();
                set.evaluate(&mut state, &p, now, &std::mem::take(&mut touched));
                let history: Vec<EventRef<'_>> = xdms.iter().zip(&orders).map(|(xdm, order)| EventRef { xdm, order: *order }).collect();
                let expected = set.evaluate_history(&history, &p, now);
                for seg in set.segments() {
                    let streaming = state.members().any(|(id, _)| id == seg.id());
                    prop_assert_eq!(streaming, expected.get(seg.id()).copied().unwrap_or(false), "{} = {} at {:?} after {} events", seg.id(), seg.definition.pql, now, n + 1);
                }
            }
            #[cfg(feature = "msgpack")]
            {
                let bytes = rmp_serde::to_vec(&state).expect("encodes");
                state = rmp_serde::from_slice(&bytes).expect("decodes");
            }
        }
    }
}

const SEED: &str = r#"(Profile) =>
  Profile.loyalty.tier in ["Bronze", "Silver", "Gold", "Platinum"]
  and chain(xEvent, timestamp, [
    A: WHAT(eventType.equals("commerce.productListAdds", false)
            and exists I from productListItems :
                (I._luma.size != Profile._luma.preferredSize))
       WHEN(< 7 days before now),
    B: NOT WHAT(eventType.equals("commerce.purchases", false))
       WHEN(< 1 hour after A)
  ])"#;

#[test]
fn lifecycle_of_the_abandoned_gift_cart() {
    let set = set(&[def("gift", SEED), def("gift-gold", "inSegment(\"gift\") and loyalty.tier = \"Bronze\"")]);
    let mut st = ProfileSegments::new();
    let t0 = Timestamp(1_800_000_000_000);
    let anonymous = ObjectMap::new();
    // The cart add comes before the login: nothing is known of her yet.
    let touched = set.on_event(&mut st, &xdm(1, 0, 58, false), t0, &anonymous);
    assert_eq!(touched.len(), 1, "only the chain's segment is touched by an add");
    assert!(set.evaluate(&mut st, &anonymous, t0, &touched).is_empty());
    // The login brings her profile: preferred size S, so the L sweatshirt looks like a gift.
    let sarah = profile(false, "S");
    let at_login = t0.plus_millis(60_000);
    assert!(set.evaluate(&mut st, &sarah, at_login, &Touched::default()).is_empty(), "not abandoned yet");
    assert_eq!(set.next_change(&st), Some(t0.plus_millis(3_600_000)), "the timer: an hour after the add");
    // An hour passes with no purchase: she qualifies, timed at the hour, valid for 7 days.
    let later = t0.plus_millis(3_700_000);
    let t = set.evaluate(&mut st, &sarah, later, &Touched::default());
    assert_eq!(t.len(), 2, "{t:?}");
    assert_eq!((t[0].segment.as_str(), t[0].status, t[0].at), ("gift", Status::Realized, t0.plus_millis(3_600_000)));
    assert_eq!(t[0].valid_until, Some(t0.plus_millis(7 * 86_400_000)));
    assert_eq!((t[1].segment.as_str(), t[1].status), ("gift-gold", Status::Realized), "inSegment follows at once");
    assert!(set.evaluate(&mut st, &sarah, later.plus_millis(1), &Touched::default()).is_empty());
    assert_eq!(st.members().map(|(_, m)| m.status).collect::<Vec<_>>(), [Status::Existing, Status::Existing]);
    // She buys: both exit at once, the reference with parent_exited.
    let buy_at = later.plus_millis(10_000);
    let touched = set.on_event(&mut st, &xdm(2, 0, 58, false), buy_at, &sarah);
    let t = set.evaluate(&mut st, &sarah, buy_at, &touched);
    assert_eq!(
        t.iter().map(|t| (t.segment.as_str(), t.status, t.reason)).collect::<Vec<_>>(),
        [
            ("gift", Status::Exited, Some(ExitReason::NegatingEvent)),
            ("gift-gold", Status::Exited, Some(ExitReason::ParentExited))
        ]
    );
    assert_eq!(st.members().count(), 0);
    assert_eq!(st.memberships().count(), 2, "exited memberships stay on record");
}

#[test]
fn windows_expire_and_attributes_change_with_their_reasons() {
    let set = set(&[
        def(
            "recent",
            "chain(xEvent, timestamp, [A: WHAT(eventType = \"commerce.productViews\") WHEN(< 10 minutes before now)])",
        ),
        def("gold", "loyalty.tier = \"Gold\""),
    ]);
    let mut st = ProfileSegments::new();
    let t0 = Timestamp(1_800_000_000_000);
    let gold = profile(true, "S");
    let touched = set.on_event(&mut st, &xdm(0, 0, 0, true), t0, &gold);
    let t = set.evaluate(&mut st, &gold, t0, &touched);
    assert_eq!(t.len(), 2);
    let t = set.evaluate(&mut st, &gold, t0.plus_millis(11 * MIN), &Touched::default());
    assert_eq!(
        (t[0].status, t[0].reason, t[0].at),
        (Status::Exited, Some(ExitReason::WindowExpired), t0.plus_millis(10 * MIN))
    );
    let bronze = profile(false, "S");
    let t = set.evaluate(&mut st, &bronze, t0.plus_millis(12 * MIN), &Touched::default());
    assert_eq!((t[0].segment.as_str(), t[0].reason), ("gold", Some(ExitReason::AttributeChanged)));
}

#[test]
fn loading_is_tolerant_and_says_why() {
    let defs = [
        def("ok", "loyalty.tier = \"Gold\""),
        def("typo", "loyalty.tierr = \"Gold\""),
        def("broken", "loyalty.tier = "),
        def("orphan", "inSegment(\"typo\") and loyalty.points > 3"),
        def("a", "inSegment(\"b\")"),
        def("b", "inSegment(\"a\")"),
        def("bad id!", "loyalty.points > 3"),
    ];
    let s = SegmentSet::load(&defs, &schema(), &Options::default());
    assert_eq!(s.segments().iter().map(Segment::id).collect::<Vec<_>>(), ["ok"]);
    let why: Vec<(String, String)> = s.skipped().iter().map(|k| (k.id.clone(), k.error.to_string())).collect();
    let find = |id: &str| why.iter().find(|(i, _)| i == id).map(|(_, m)| m.clone()).unwrap_or_default();
    assert!(
        find("typo").contains("unknown profile attribute `loyalty.tierr`: did you mean `loyalty.tier`? at 1:1"),
        "{}",
        find("typo")
    );
    assert!(find("broken").contains("1:16"), "{}", find("broken"));
    assert!(find("orphan").contains("typo"), "{}", find("orphan"));
    assert!(find("a").contains("cycle"), "{}", find("a"));
    assert!(find("b").contains("cycle"), "{}", find("b"));
    assert!(find("bad id!").contains("letters, digits"), "{}", find("bad id!"));
}

#[test]
fn a_changed_definition_restarts_its_state_but_keeps_memberships() {
    let v1 = set(&[def("s", "chain(xEvent, timestamp, [A: WHAT(eventType = \"commerce.productViews\")])")]);
    let mut st = ProfileSegments::new();
    let p = ObjectMap::new();
    let t0 = Timestamp(1_800_000_000_000);
    let touched = v1.on_event(&mut st, &xdm(0, 0, 0, true), t0, &p);
    assert_eq!(v1.evaluate(&mut st, &p, t0, &touched).len(), 1);
    // The new version needs a purchase: the origin rebuilds from history, the membership exits.
    let v2 = set(&[def("s", "chain(xEvent, timestamp, [A: WHAT(eventType = \"commerce.purchases\")])")]);
    let e = xdm(0, 0, 0, true);
    let history = [EventRef { xdm: &e, order: Order { ts: t0, seq: 1 } }];
    let t = v2.rebuild(&mut st, &history, &p, t0.plus_millis(1));
    assert_eq!(t.iter().map(|t| t.status).collect::<Vec<_>>(), [Status::Exited]);
}

#[test]
fn event_ids_are_folded_once() {
    let s = set(&[def("two", "xEvent[eventType = \"commerce.productViews\"].count() >= 2")]);
    let mut st = ProfileSegments::new();
    let p = ObjectMap::new();
    let t0 = Timestamp(1_800_000_000_000);
    let view = xdm(0, 0, 0, true);
    assert!(s.on_event_once(&mut st, "e1", &view, t0, &p).is_some());
    assert!(s.on_event_once(&mut st, "e1", &view, t0, &p).is_none(), "the same id again");
    s.evaluate(&mut st, &p, t0, &Touched::default());
    assert_eq!(st.members().count(), 0, "one view so far");
    // Only the last RECENT_EVENTS ids are kept.
    for i in 0..RECENT_EVENTS {
        assert!(st.remember(&format!("x{i}")));
    }
    assert_eq!(st.recent.len(), RECENT_EVENTS);
    assert!(st.remember("e1"), "forgotten after RECENT_EVENTS newer ones");
}

/// The origin stores this state as a msgpack array: every field keeps its place (an empty
/// `realized` before a non-empty `recent`), and a state written before `recent` existed reads.
#[cfg(feature = "msgpack")]
#[test]
fn the_positional_encoding_keeps_every_field_in_place() {
    let mut st = ProfileSegments::new();
    st.remember("e1");
    assert!(st.realized.is_empty());
    let back: ProfileSegments = rmp_serde::from_slice(&rmp_serde::to_vec(&st).unwrap()).unwrap();
    assert_eq!(back, st);
    // An older state: the same array without its last field.
    let old = rmp_serde::to_vec(&(
        0_u64,
        i64::MIN,
        0_u64,
        ObjectMap::<SegmentState>::new(),
        0_u64,
        None::<Timestamp>,
        vec!["s".to_owned()],
    ))
    .unwrap();
    let back: ProfileSegments = rmp_serde::from_slice(&old).unwrap();
    assert_eq!((back.realized, back.recent), (vec!["s".to_owned()], Vec::new()));
}
