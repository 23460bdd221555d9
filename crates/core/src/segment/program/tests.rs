use super::*;
use crate::object;
use crate::segment::expr::{Source, StrFn};
use proptest::prelude::*;

fn event_type(t: &str) -> CExpr {
    CExpr::Str {
        func: StrFn::Equals,
        target: Box::new(CExpr::Path(Source::Event, vec!["eventType".into()])),
        arg: Box::new(CExpr::Const(Value::from(t))),
        case_sensitive: true,
    }
}

const TYPES: [&str; 3] = ["view", "add", "buy"];

fn arb_window() -> impl Strategy<Value = Window> {
    prop_oneof![
        Just(Window::All),
        (1..40i64).prop_map(Window::Within),
        (1..40i64).prop_map(Window::WithinInclusive),
        Just(Window::Today),
    ]
}

fn arb_op() -> impl Strategy<Value = CmpOp> {
    prop_oneof![Just(CmpOp::Eq), Just(CmpOp::Ne), Just(CmpOp::Lt), Just(CmpOp::Le), Just(CmpOp::Gt), Just(CmpOp::Ge)]
}

fn step() -> impl Strategy<Value = CExpr> {
    (0..3usize).prop_map(|i| event_type(TYPES[i]))
}

/// Chains the fold handles: no gaps, no key.
fn arb_foldable() -> impl Strategy<Value = Leaf> {
    let chain = (prop::collection::vec(step(), 1..4), proptest::option::of((step(), 0..15i64)), arb_window())
        .prop_map(|(steps, absence, window)| Leaf::Chain(ChainLeaf::new(steps, absence, window)));
    let count = (step(), arb_window(), arb_op(), 0..4u32)
        .prop_map(|(pred, window, op, n)| Leaf::Count(CountLeaf { pred, window, op, n }));
    prop_oneof![chain, count]
}

/// Any leaf, including gaps, correlation keys and aggregates (evaluated over a buffer).
fn arb_leaf() -> impl Strategy<Value = Leaf> {
    let gap = proptest::option::of((1..12i64, any::<bool>()).prop_map(|(ms, inclusive)| Gap { ms, inclusive }));
    let chain = (
        prop::collection::vec((step(), gap), 1..4),
        any::<bool>(),
        proptest::option::of((step(), 0..15i64)),
        arb_window(),
    )
        .prop_map(|(steps, keyed, absence, window)| {
            let (steps, mut gaps): (Vec<CExpr>, Vec<Option<Gap>>) = steps.into_iter().unzip();
            gaps[0] = None;
            let key = keyed.then(|| CExpr::Path(Source::Event, vec!["cart".into()]));
            Leaf::Chain(ChainLeaf { steps, gaps, key, absence, window })
        });
    let func =
        prop_oneof![Just(AggFn::Count), Just(AggFn::Sum), Just(AggFn::Min), Just(AggFn::Max), Just(AggFn::Average)];
    let agg = (func, step(), arb_window(), arb_op(), 0..8i64).prop_map(|(func, pred, window, op, n)| {
        let value = (func != AggFn::Count).then(|| CExpr::Path(Source::Event, vec!["amount".into()]));
        let test =
            CExpr::Compare(op, Box::new(CExpr::Path(Source::Var(0), vec![])), Box::new(CExpr::Const(Value::from(n))));
        Leaf::Agg(AggLeaf { func, value, pred, window, test })
    });
    prop_oneof![arb_foldable(), chain, agg]
}

/// Events: a type, a time gap from the previous one (0 makes equal times), a cart, an amount.
fn arb_events() -> impl Strategy<Value = Vec<(usize, i64, i64, i64)>> {
    prop::collection::vec((0..3usize, 0..8i64, 0..2i64, 0..5i64), 0..24)
}

struct Stream {
    xdms: Vec<Value>,
    orders: Vec<Order>,
    base: i64,
}

fn stream(events: &[(usize, i64, i64, i64)], start_day: i64) -> Stream {
    let base = start_day * 86_400_000 - 20;
    let mut xdms = Vec::new();
    let mut orders = Vec::new();
    let mut ts = base;
    for (seq, (ty, gap, cart, amount)) in events.iter().enumerate() {
        ts += gap;
        xdms.push(object! { "eventType" => TYPES[*ty], "cart" => *cart, "amount" => *amount });
        orders.push(Order { ts: Timestamp(ts), seq: seq as u64 });
    }
    Stream { xdms, orders, base }
}

/// Runs the program over the stream and checks, after every event and at probe times in between,
/// that its value equals the history evaluator's and that nothing flips before `next_change`.
fn check(program: &LeafProgram, s: &Stream, probes: &[i64]) -> Result<(), TestCaseError> {
    let profile = ObjectMap::new();
    let mut state = program.initial();
    for i in 0..=s.xdms.len() {
        if i > 0 {
            program.on_event(&mut state, EventRef { xdm: &s.xdms[i - 1], order: s.orders[i - 1] }, &profile);
        }
        let history: Vec<EventRef<'_>> = (0..i).map(|j| EventRef { xdm: &s.xdms[j], order: s.orders[j] }).collect();
        let last = s.orders.get(i.wrapping_sub(1)).map_or(Timestamp(s.base), |o| o.ts);
        let next_ts = s.orders.get(i).map_or(Timestamp(i64::MAX), |o| o.ts);
        for probe in probes {
            let now = last.plus_millis(*probe);
            if now >= next_ts {
                continue;
            }
            let streaming = program.value(&state, &profile, now);
            prop_assert_eq!(
                streaming,
                program.leaf.evaluate_history(&history, &profile, now),
                "after {} events at {:?}",
                i,
                now
            );
            let horizon = program.next_change(&state, now).map_or(now.plus_millis(100), |t| t.plus_millis(-1));
            if horizon >= now && horizon < next_ts {
                prop_assert_eq!(
                    program.value(&state, &profile, horizon),
                    streaming,
                    "flipped before next_change at {:?}",
                    horizon
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// The fold (O(steps) state) equals the history evaluator (dynamic programming over every
    /// event) after every event and at times in between, and never flips before `next_change`.
    #[test]
    fn fold_equals_history(leaf in arb_foldable(), events in arb_events(), probes in prop::collection::vec(0..30i64, 1..4), day in 0..3i64) {
        check(&LeafProgram { leaf, mode: Mode::Fold }, &stream(&events, day), &probes)?;
    }

    /// A buffer that holds every relevant event equals the history evaluator, for every leaf
    /// shape (gaps, keys, aggregates included).
    #[test]
    fn buffer_equals_history(leaf in arb_leaf(), events in arb_events(), probes in prop::collection::vec(0..30i64, 1..4), day in 0..3i64) {
        let window = match &leaf {
            Leaf::Chain(c) => c.window,
            Leaf::Count(c) => c.window,
            Leaf::Agg(a) => a.window,
        };
        let mut keep = Keep::Nothing;
        for f in ["eventType", "cart", "amount"] {
            keep.add(&[f.to_owned()]);
        }
        let buffer = Buffer { cap: 64, relevant: CExpr::Const(Value::Bool(true)), keep, window };
        check(&LeafProgram { leaf, mode: Mode::Buffer(buffer) }, &stream(&events, day), &probes)?;
    }
}

#[test]
fn abandonment_qualifies_after_the_delay_and_exits_on_purchase() {
    let leaf = Leaf::Chain(ChainLeaf::new(
        vec![event_type("add")],
        Some((event_type("buy"), 3_600_000)),
        Window::Within(7 * 86_400_000),
    ));
    let profile = ObjectMap::new();
    let mut st = leaf.initial();
    let add = object! { "eventType" => "add" };
    let buy = object! { "eventType" => "buy" };
    leaf.on_event(&mut st, EventRef { xdm: &add, order: Order { ts: Timestamp(0), seq: 0 } }, &profile);
    assert!(!leaf.value(&st, Timestamp(3_599_999)));
    assert_eq!(leaf.next_change(&st, Timestamp(10)), Some(Timestamp(3_600_000)));
    assert!(leaf.value(&st, Timestamp(3_600_000)), "an hour without a purchase: abandoned");
    assert_eq!(leaf.next_change(&st, Timestamp(3_600_000)), Some(Timestamp(7 * 86_400_000)), "then the 7-day window");
    leaf.on_event(&mut st, EventRef { xdm: &buy, order: Order { ts: Timestamp(5_000_000), seq: 1 } }, &profile);
    assert!(!leaf.value(&st, Timestamp(5_000_000)), "a purchase after the add exits at once");
    assert_eq!(leaf.next_change(&st, Timestamp(5_000_000)), None);
}

#[test]
fn a_correlation_key_cancels_only_its_own_cart() {
    let key = CExpr::Path(Source::Event, vec!["cart".into()]);
    let leaf = Leaf::Chain(ChainLeaf {
        steps: vec![event_type("add")],
        gaps: vec![None],
        key: Some(key),
        absence: Some((event_type("buy"), 10)),
        window: Window::All,
    });
    let profile = ObjectMap::new();
    let evs = [
        object! { "eventType" => "add", "cart" => 1i64 },
        object! { "eventType" => "add", "cart" => 2i64 },
        object! { "eventType" => "buy", "cart" => 2i64 },
    ];
    let refs: Vec<EventRef<'_>> = evs
        .iter()
        .enumerate()
        .map(|(i, xdm)| EventRef { xdm, order: Order { ts: Timestamp(i as i64), seq: i as u64 } })
        .collect();
    assert!(leaf.evaluate_history(&refs, &profile, Timestamp(100)), "cart 1 is still abandoned");
    let unkeyed = Leaf::Chain(ChainLeaf::new(vec![event_type("add")], Some((event_type("buy"), 10)), Window::All));
    assert!(!unkeyed.evaluate_history(&refs, &profile, Timestamp(100)), "without a key any purchase cancels");
}

#[test]
fn a_step_gap_bounds_the_time_from_the_previous_step() {
    let leaf = Leaf::Chain(ChainLeaf {
        steps: vec![event_type("view"), event_type("add")],
        gaps: vec![None, Some(Gap { ms: 50, inclusive: false })],
        key: None,
        absence: None,
        window: Window::All,
    });
    let profile = ObjectMap::new();
    let at = |t: &str, ts: i64, seq: u64| (object! { "eventType" => t }, Order { ts: Timestamp(ts), seq });
    let evs = [at("view", 0, 0), at("add", 10, 1), at("add", 100, 2)];
    let refs: Vec<EventRef<'_>> = evs.iter().map(|(xdm, order)| EventRef { xdm, order: *order }).collect();
    assert!(leaf.evaluate_history(&refs, &profile, Timestamp(200)), "view then add 10 ms later");
    assert!(
        !leaf.evaluate_history(
            &refs[..1].iter().chain(&refs[2..]).copied().collect::<Vec<_>>(),
            &profile,
            Timestamp(200)
        ),
        "100 ms is too late"
    );
    // The bound itself: `< 50` excludes 50 ms, `<= 50` includes it.
    let edge = [at("view", 0, 0), at("add", 50, 1)];
    let refs: Vec<EventRef<'_>> = edge.iter().map(|(xdm, order)| EventRef { xdm, order: *order }).collect();
    assert!(!leaf.evaluate_history(&refs, &profile, Timestamp(200)));
    let Leaf::Chain(mut c) = leaf else { unreachable!() };
    c.gaps[1] = Some(Gap { ms: 50, inclusive: true });
    assert!(Leaf::Chain(c).evaluate_history(&refs, &profile, Timestamp(200)));
}

#[test]
fn buffered_events_keep_only_the_fields_read_packed_by_position() {
    let mut keep = Keep::Nothing;
    keep.add(&["eventType".to_owned()]);
    keep.add(&["productListItems".to_owned(), "_luma".to_owned(), "size".to_owned()]);
    let event = object! {
        "eventType" => "commerce.productListAdds",
        "web" => object! { "webPageDetails" => object! { "URL" => "https://luma.test/men" } },
        "productListItems" => vec![
            object! { "SKU" => "MS-RUN-01", "_luma" => object! { "size" => "L", "category" => "men" } },
            object! { "SKU" => "X" },
        ],
    };
    let packed = keep.pack(&event);
    assert!(packed.json_len() < 60, "packed: {packed:?}");
    let expected = object! {
        "eventType" => "commerce.productListAdds",
        "productListItems" => vec![object! { "_luma" => object! { "size" => "L" } }, object! {}],
    };
    assert_eq!(keep.unpack(&packed), expected);
}
