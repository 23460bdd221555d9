//! The parser on the reference's verbatim examples, our extensions, and its errors.

use super::super::ast::{
    AggFn, CmpOp, Direction, Expr, ExprKind, Literal, OccursSpec, PathExpr, PathRoot, PathSegment, QuantifierKind,
    Query, RelativeTime, TimeRef, Unit, When,
};
use super::super::{SegmentError, parse, print};
use super::MAX_NESTING;

/// Every verbatim example of reference (b), by number; #26 is three expressions.
pub(crate) const EXAMPLES: [(&str, &str); 30] = [
    ("1", r#"CHAIN(xEvent, timestamp, [C0: WHAT(eventType.equals("commerce.checkouts", false)) WHEN(today)])"#),
    ("2", r#"homeAddress.country.equals("US", false)"#),
    (
        "3",
        r#"workAddress.country.equals("US", false) and CHAIN(xEvent, timestamp, [C0: WHAT(eventType.equals("commerce.checkouts", false)) WHEN(today)])"#,
    ),
    (
        "4",
        r#"workAddress.country.equals("US", false) and CHAIN(xEvent, timestamp, [C0: WHAT(eventType.equals("directMarketing.emailClicked", false)) WHEN(today), C1: WHAT(eventType.equals("commerce.checkouts", false)) WHEN(today)])"#,
    ),
    (
        "5",
        r#"inSegment("e3be6d7f-1727-401f-a41e-c296b45f607a") and CHAIN(xEvent, timestamp, [C0: WHAT(eventType.equals("commerce.checkouts", false)) WHEN(<= 24 hours before now)])"#,
    ),
    ("6", r#"inSegment("e3be6d7f-1727-401f-a41e-c296b45f607a") and inSegment("9e1646bb-57ff-4309-ba59-17d6c5bab6a1")"#),
    ("7", r#"chain(xEvent, timestamp, [A: WHAT(eventType = "addToCart")])"#),
    ("8", r#"homeAddress.countryCode = "US" and chain(xEvent, timestamp, [A: WHAT(eventType = "addToCart")])"#),
    ("9", r#"not(chain(xEvent, timestamp, [A: WHAT(eventType = "homePageView")]))"#),
    ("10", r#"chain(xEvent, timestamp, [X: WHAT(eventType = "addToCart") WHEN(< 24 hours before now)])"#),
    (
        "11",
        r#"homeAddress.countryCode = "US" and not(chain(xEvent, timestamp, [X: WHAT(eventType = "addToCart") WHEN(< 24 hours before now)]))"#,
    ),
    ("12", r#"chain(xEvent, timestamp, [A: WHAT(eventType = "homePageView") WHEN(< 24 hours before now) COUNT(5) ] )"#),
    (
        "13",
        r#"not(chain(xEvent, timestamp, [A: WHAT(eventType = "homePageView") WHEN(< 24 hours before now) COUNT(5) ] ))"#,
    ),
    (
        "14",
        r#"homeAddress.countryCode = "US" and chain(xEvent, timestamp, [X: WHAT(eventType = "homePageView") WHEN(< 24 hours before now)]) and chain(xEvent, timestamp, [X: WHAT(eventType = "checkoutPageView") WHEN(< 24 hours before now)])"#,
    ),
    ("15", r#"homeAddress.countryCode = "US" and inSegment("existing segment")"#),
    (
        "16",
        r#"chain(xEvent, timestamp, [A: WHAT(eventType = "addToCart") WHERE(externalSegmentMapProperty.values().exists(stringProperty="active"))])"#,
    ),
    ("17", r#"chain(xEvent, timestamp, [A: WHAT(eventType = "transaction") WHEN(< 7 days before now)])"#),
    (
        "18",
        r#"xEvent[(timestamp occurs < 7 days before now) and eventType="transaction" and category = "sporting goods"].sum(commerce.order.priceTotal)"#,
    ),
    (
        "19",
        r#"xEvent[(timestamp occurs < 7 days before now) and eventType="download" and contentType = "image"].count()"#,
    ),
    (
        "20",
        r#"xEvent[(timestamp occurs < 7 days before now) and eventType="download"].groupBy(product).map((K, G) => mapEntry(K, G.count()))"#,
    ),
    ("21", r#"if(homeAddress.countryCode in ["US","MX","CA"], "NA", "ROW")"#),
    (
        "22",
        r#"chain(xEvent, timestamp, [ A: WHAT(eventType = "productView"), B: WHAT(eventType = "addToCart"), C: WHAT(eventType = "purchase") ])"#,
    ),
    ("23", r#"exists E from xEvent where (E.commerce.item.price > 50), I from E.productListItems where I.SKU = "PS""#),
    ("24", r#"xEvent[productListItems[SKU="PS" or ^^.person.gender="female"]]"#),
    (
        "25",
        r#"let S = (sum X.commerce.order.priceTotal over X from xEvent where X.commerce.order.currencyCode = "USD") in (S > 100 and S < 1000)"#,
    ),
    ("26a", r#"X.timestamp occurs <= 3 days before now"#),
    ("26b", r#"product.saleDate occurs = 3 hours before now"#),
    ("26c", r#"product.saleDate occurs between date(2015, 1, 8) and date(2017, 7, 1)"#),
    (
        "27",
        r#"select var1 from xEvent where var1._experience.analytics.endUser.firstWeb.webPageDetails.isHomePage = true"#,
    ),
    (
        "28",
        r#"person.gender in ["male"] and CHAIN(xEvent, timestamp, [C0: WHAT(productListItems.exists(name.equals("MONTANA WIND JACKET", false)))])"#,
    ),
];

/// Reference (e)4, "gift cart abandoners", with Luma's field names.
pub(super) const SEED: &str = r#"(Profile) =>
  Profile.loyalty.tier in ["silver", "gold", "platinum"]                           -- loyalty member (profile-only)
  and chain(xEvent, timestamp, [
        A: WHAT(eventType.equals("commerce.productListAdds", false)
                and exists I from productListItems :
                      (I._luma.category != Profile._luma.preferences.category
                       and I._luma.size  != Profile._luma.preferences.size))           -- "gift-like" add to cart
           WHEN(< 7 days before now),
        B: NOT WHAT(eventType.equals("commerce.purchases", false))                  -- extension: absence step
           WHEN(< 1 hour after A)                                                  -- "abandoned" = no purchase within 1 h
     ])"#;

/// Reference (e)4's pure-PQL fallback, with `^^` inside a method's lambda-free predicate.
const SEED_FALLBACK: &str = r#"loyalty.tier in ["silver","gold","platinum"]
and chain(xEvent, timestamp, [A: WHAT(eventType.equals("commerce.productListAdds", false)
      and productListItems.exists(_luma.category != ^^._luma.preferences.category
                                  and _luma.size != ^^._luma.preferences.size)) WHEN(< 7 days before now)])
and not(chain(xEvent, timestamp, [P: WHAT(eventType.equals("commerce.purchases", false)) WHEN(< 7 days before now)]))"#;

fn ok(source: &str) -> Query {
    match parse(source) {
        Ok(query) => query,
        Err(error) => panic!("{source}\n  does not parse: {error}"),
    }
}

fn body(source: &str) -> ExprKind {
    ok(source).body.kind
}

fn err(source: &str) -> SegmentError {
    match parse(source) {
        Ok(query) => panic!("{source}\n  parsed: {query:?}"),
        Err(error) => error,
    }
}

fn name(name: &str) -> PathRoot {
    PathRoot::Name(name.into())
}

fn fields(root: PathRoot, names: &[&str]) -> PathExpr {
    PathExpr { root, segments: names.iter().map(|n| PathSegment::Field((*n).into())).collect() }
}

fn path_kind(expr: &Expr) -> Option<&PathExpr> {
    match &expr.kind {
        ExprKind::Path(path) => Some(path),
        _ => None,
    }
}

/// Parses, prints, and checks both that the print reads back to the same tree and that
/// printing is a fixed point.
fn round_trip(source: &str) -> String {
    let query = ok(source);
    let printed = print(&query);
    let again = match parse(&printed) {
        Ok(again) => again,
        Err(error) => panic!("{source}\n  prints as\n{printed}\n  which does not parse: {error}"),
    };
    assert_eq!(again, query, "{source}\n  prints as\n{printed}\n  which reads back differently");
    assert_eq!(print(&again), printed, "print is not a fixed point for {source}");
    printed
}

// ---- the reference's examples ----------------------------------------------------------------

#[test]
fn every_verbatim_example_parses_and_print_is_a_fixed_point() {
    for (number, source) in EXAMPLES {
        let printed = round_trip(source);
        assert!(!printed.is_empty(), "#{number}");
    }
}

#[test]
fn canonical_text_of_some_examples() {
    let canonical = |n: &str| {
        let source = EXAMPLES.iter().find(|(k, _)| *k == n).map(|(_, s)| *s).unwrap_or_default();
        print(&ok(source))
    };
    assert_eq!(
        canonical("12"),
        r#"chain(xEvent, timestamp, [A: WHAT(eventType = "homePageView") WHEN(< 24 hours before now) COUNT(5)])"#
    );
    assert_eq!(
        canonical("20"),
        r#"xEvent[timestamp occurs < 7 days before now and eventType = "download"].groupBy(product).map((K, G) => mapEntry(K, G.count()))"#
    );
    assert_eq!(
        canonical("23"),
        r#"exists E from xEvent where E.commerce.item.price > 50, I from E.productListItems where I.SKU = "PS""#
    );
    assert_eq!(canonical("24"), r#"xEvent[productListItems[SKU = "PS" or ^^.person.gender = "female"]]"#);
    assert_eq!(canonical("25"), EXAMPLES[24].1);
    assert_eq!(canonical("21"), r#"if(homeAddress.countryCode in ["US", "MX", "CA"], "NA", "ROW")"#);
}

#[test]
fn example_1_is_a_chain_with_a_today_window() {
    let ExprKind::Chain(chain) = body(EXAMPLES[0].1) else { panic!("not a chain") };
    assert_eq!(chain.steps.len(), 1);
    let step = &chain.steps[0];
    assert_eq!(step.label, "C0");
    assert!(!step.negated);
    assert_eq!(step.when, Some(When::In(TimeRef::Today)));
    let ExprKind::Call { target, name, args } = &step.what.kind else { panic!("not a call") };
    assert_eq!(name, "equals");
    assert_eq!(path_kind(target), Some(&fields(name_root("eventType"), &[])));
    assert_eq!(args[0].kind, ExprKind::Literal(Literal::String("commerce.checkouts".into())));
    assert_eq!(args[1].kind, ExprKind::Literal(Literal::Bool(false)));
    assert_eq!(chain.by, None);
}

fn name_root(n: &str) -> PathRoot {
    name(n)
}

#[test]
fn example_12_counts_at_least_five_in_a_window() {
    let ExprKind::Chain(chain) = body(EXAMPLES[11].1) else { panic!("not a chain") };
    let step = &chain.steps[0];
    assert_eq!(step.count, Some(5));
    assert_eq!(
        step.when,
        Some(When::Relative(RelativeTime {
            op: CmpOp::Lt,
            amount: 24,
            unit: Unit::Hour,
            direction: Direction::Before,
            anchor: TimeRef::Now,
        }))
    );
}

#[test]
fn example_9_negates_a_whole_chain() {
    let ExprKind::Not(inner) = body(EXAMPLES[8].1) else { panic!("not a negation") };
    assert!(matches!(inner.kind, ExprKind::Chain(_)));
}

#[test]
fn example_14_is_one_and_of_three() {
    let ExprKind::And(items) = body(EXAMPLES[13].1) else { panic!("not an and") };
    assert_eq!(items.len(), 3);
    assert!(matches!(items[0].kind, ExprKind::Compare { op: CmpOp::Eq, .. }));
    assert!(matches!(items[1].kind, ExprKind::Chain(_)));
    assert!(matches!(items[2].kind, ExprKind::Chain(_)));
}

#[test]
fn example_20_groups_and_maps_with_a_lambda() {
    let ExprKind::Call { target, name, args } = body(EXAMPLES[19].1) else { panic!("not a call") };
    assert_eq!(name, "map");
    let ExprKind::Lambda { params, body } = &args[0].kind else { panic!("map's argument is not a lambda") };
    assert_eq!(params, &["K", "G"]);
    let ExprKind::Function { name, args } = &body.kind else { panic!("not a function") };
    assert_eq!(name, "mapEntry");
    assert_eq!(args.len(), 2);
    assert!(matches!(&args[1].kind, ExprKind::Call { name, args, .. } if name == "count" && args.is_empty()));
    let ExprKind::Call { target, name, args } = &target.kind else { panic!("no groupBy") };
    assert_eq!(name, "groupBy");
    assert_eq!(path_kind(&args[0]), Some(&fields(name_root("product"), &[])));
    let Some(PathExpr { root: PathRoot::XEvent, segments }) = path_kind(target) else { panic!("no xEvent") };
    let [PathSegment::Filter(filter)] = segments.as_slice() else { panic!("no filter") };
    let ExprKind::And(conditions) = &filter.kind else { panic!("the filter is not an and") };
    let ExprKind::Occurs { spec, .. } = &conditions[0].kind else { panic!("no occurs") };
    assert!(matches!(spec, OccursSpec::Relative(RelativeTime { amount: 7, unit: Unit::Day, .. })));
}

#[test]
fn example_21_is_an_if_over_an_array() {
    let ExprKind::If { test, then, otherwise } = body(EXAMPLES[20].1) else { panic!("not an if") };
    let ExprKind::In { negated: false, rhs, .. } = &test.kind else { panic!("not in") };
    let strings = ["US", "MX", "CA"].map(|s| Literal::String(s.into())).to_vec();
    assert_eq!(rhs.kind, ExprKind::Literal(Literal::Array(strings)));
    assert_eq!(then.kind, ExprKind::Literal(Literal::String("NA".into())));
    assert_eq!(otherwise.kind, ExprKind::Literal(Literal::String("ROW".into())));
}

#[test]
fn example_23_has_two_bindings() {
    let ExprKind::Quantifier { kind, bindings } = body(EXAMPLES[22].1) else { panic!("not a quantifier") };
    assert_eq!(kind, QuantifierKind::Exists);
    assert_eq!(bindings.len(), 2);
    assert_eq!(bindings[0].var, "E");
    assert_eq!(bindings[1].var, "I");
    assert_eq!(path_kind(&bindings[1].from), Some(&fields(name_root("E"), &["productListItems"])));
    assert!(matches!(bindings[1].pred.as_ref().map(|p| &p.kind), Some(ExprKind::Compare { .. })));
}

#[test]
fn example_24_reaches_two_scopes_up() {
    let ExprKind::Path(PathExpr { root: PathRoot::XEvent, segments }) = body(EXAMPLES[23].1) else { panic!() };
    let [PathSegment::Filter(outer)] = segments.as_slice() else { panic!("no filter") };
    let Some(PathExpr { segments, .. }) = path_kind(outer) else { panic!("not a path") };
    let [PathSegment::Filter(inner)] = segments.as_slice() else { panic!("no inner filter") };
    let ExprKind::Or(sides) = &inner.kind else { panic!("not an or") };
    let ExprKind::Compare { lhs, .. } = &sides[1].kind else { panic!("not a comparison") };
    assert_eq!(path_kind(lhs), Some(&fields(PathRoot::Up(2), &["person", "gender"])));
}

#[test]
fn example_25_lets_an_aggregate() {
    let ExprKind::Let { name, value, body: let_body } = body(EXAMPLES[24].1) else { panic!("not a let") };
    assert_eq!(name, "S");
    let ExprKind::Aggregate { func, expr, var, from, pred } = &value.kind else { panic!("not an aggregate") };
    assert_eq!(*func, AggFn::Sum);
    assert_eq!(
        expr.as_deref().and_then(path_kind),
        Some(&fields(name_root("X"), &["commerce", "order", "priceTotal"]))
    );
    assert_eq!(var, "X");
    assert_eq!(path_kind(from), Some(&fields(PathRoot::XEvent, &[])));
    assert!(pred.is_some());
    assert!(matches!(let_body.kind, ExprKind::And(_)));
}

#[test]
fn example_26_has_three_occurs_forms() {
    let occurs = |source: &str| match body(source) {
        ExprKind::Occurs { spec, .. } => spec,
        other => panic!("not occurs: {other:?}"),
    };
    assert_eq!(
        occurs(EXAMPLES[25].1),
        OccursSpec::Relative(RelativeTime {
            op: CmpOp::Le,
            amount: 3,
            unit: Unit::Day,
            direction: Direction::Before,
            anchor: TimeRef::Now,
        })
    );
    assert!(matches!(occurs(EXAMPLES[26].1), OccursSpec::Relative(RelativeTime { op: CmpOp::Eq, amount: 3, .. })));
    assert_eq!(
        occurs(EXAMPLES[27].1),
        OccursSpec::Between(
            TimeRef::Date { year: 2015, month: 1, day: 8 },
            TimeRef::Date { year: 2017, month: 7, day: 1 }
        )
    );
}

#[test]
fn example_27_is_a_select() {
    let ExprKind::Select { var, from, pred } = body(EXAMPLES[28].1) else { panic!("not a select") };
    assert_eq!(var, "var1");
    assert_eq!(path_kind(&from), Some(&fields(PathRoot::XEvent, &[])));
    assert!(matches!(pred.kind, ExprKind::Compare { op: CmpOp::Eq, .. }));
}

// ---- the seed and our extensions ---------------------------------------------------------------

#[test]
fn the_seed_segment_parses() {
    let query = ok(SEED);
    assert_eq!(query.params, ["Profile"]);
    let ExprKind::And(items) = &query.body.kind else { panic!("not an and") };
    let ExprKind::In { negated: false, lhs, .. } = &items[0].kind else { panic!("no loyalty test") };
    assert_eq!(path_kind(lhs), Some(&fields(name_root("Profile"), &["loyalty", "tier"])));
    let ExprKind::Chain(chain) = &items[1].kind else { panic!("no chain") };
    let [add, purchase] = chain.steps.as_slice() else { panic!("not two steps") };
    assert_eq!((add.label.as_str(), add.negated), ("A", false));
    assert_eq!((purchase.label.as_str(), purchase.negated), ("B", true));
    assert_eq!(
        purchase.when,
        Some(When::Relative(RelativeTime {
            op: CmpOp::Lt,
            amount: 1,
            unit: Unit::Hour,
            direction: Direction::After,
            anchor: TimeRef::Step("A".into()),
        }))
    );
    // The gift test compares the item with the profile through the lambda parameter.
    let ExprKind::And(what) = &add.what.kind else { panic!("A's WHAT is not an and") };
    let ExprKind::Quantifier { bindings, .. } = &what[1].kind else { panic!("no exists") };
    let Some(ExprKind::And(gift)) = bindings[0].pred.as_ref().map(|p| &p.kind) else { panic!("no gift test") };
    let ExprKind::Compare { op: CmpOp::Ne, lhs, rhs } = &gift[0].kind else { panic!("no category test") };
    assert_eq!(path_kind(lhs), Some(&fields(name_root("I"), &["_luma", "category"])));
    assert_eq!(path_kind(rhs), Some(&fields(name_root("Profile"), &["_luma", "preferences", "category"])));
    round_trip(SEED);
}

#[test]
fn the_seed_fallback_parses() {
    let printed = round_trip(SEED_FALLBACK);
    assert!(printed.contains("^^._luma.preferences.size"), "{printed}");
}

#[test]
fn correlation_keys_follow_the_step_list() {
    let source = r#"chain(xEvent, timestamp, [A: WHAT(eventType = "commerce.productListAdds"),
        B: NOT WHAT(eventType = "commerce.purchases") WHEN(< 1 hour after A)] BY commerce.cart.cartID)"#;
    let ExprKind::Chain(chain) = body(source) else { panic!("not a chain") };
    assert_eq!(chain.by, Some(fields(name_root("commerce"), &["cart", "cartID"])));
    let printed = round_trip(source);
    assert!(printed.ends_with("] BY commerce.cart.cartID)"), "{printed}");
    // `by` in any case; a bare key.
    let ExprKind::Chain(chain) = body("chain(xEvent, timestamp, [A: WHAT(x)] by cartId)") else { panic!() };
    assert_eq!(chain.by, Some(fields(name_root("cartId"), &[])));
    let error = err("chain(xEvent, timestamp, [A: WHAT(x)] cartId)");
    assert_eq!(error.to_string(), r#"expected `BY` or ')' at 1:39, found "cartId""#);
}

#[test]
fn chains_take_any_number_of_steps_with_gaps_and_absences() {
    let steps: Vec<String> = (0..10)
        .map(|i| match i {
            0 => "S0: WHAT(eventType = \"e0\") WHEN(< 90 days before now)".to_string(),
            i if i % 3 == 0 => format!("S{i}: NOT WHAT(eventType = \"e{i}\") WHEN(<= 2 hours after S{})", i - 1),
            i => format!("S{i}: WHAT(eventType = \"e{i}\") WHEN(< 30 minutes after S{}) COUNT(2)", i - 1),
        })
        .collect();
    let source = format!("chain(xEvent, timestamp, [{}])", steps.join(",\n"));
    let ExprKind::Chain(chain) = body(&source) else { panic!("not a chain") };
    assert_eq!(chain.steps.len(), 10);
    assert_eq!(chain.steps.iter().filter(|s| s.negated).count(), 3);
    assert!(matches!(
        &chain.steps[4].when,
        Some(When::Relative(RelativeTime { unit: Unit::Minute, anchor: TimeRef::Step(label), .. })) if label == "S3"
    ));
    round_trip(&source);
}

#[test]
fn step_clauses_come_in_any_order_once() {
    let a = ok("chain(xEvent, timestamp, [A: WHAT(x) WHERE(y) COUNT(2) WHEN(today)])");
    let b = ok("chain(xEvent, timestamp, [A: WHAT(x) WHEN(today) COUNT(2) WHERE(y)])");
    assert_eq!(a, b);
    let error = err("chain(xEvent, timestamp, [A: WHAT(x) WHEN(today) WHEN(today)])");
    assert_eq!(error.to_string(), r#"expected `COUNT`, `WHERE`, ',' or ']' at 1:50, found "WHEN""#);
}

#[test]
fn when_anchors_a_bare_name_to_a_step_and_a_dotted_one_to_a_path() {
    let when = |source: &str| match body(source) {
        ExprKind::Chain(chain) => chain.steps.last().and_then(|s| s.when.clone()),
        _ => None,
    };
    let w = when("chain(xEvent, timestamp, [A: WHAT(a), B: WHAT(b) WHEN(A)])");
    assert_eq!(w, Some(When::In(TimeRef::Step("A".into()))));
    let w = when("chain(xEvent, timestamp, [A: WHAT(a) WHEN(> 2 days after Profile.signupDate)])");
    let Some(When::Relative(RelativeTime { anchor: TimeRef::Path(path), .. })) = w else { panic!("{w:?}") };
    assert_eq!(path, fields(name_root("Profile"), &["signupDate"]));
    // Outside a chain a bare name is a path.
    let ExprKind::Occurs { spec, .. } = body("ts occurs before launch") else { panic!() };
    assert_eq!(
        spec,
        OccursSpec::Direction { direction: Direction::Before, time: TimeRef::Path(fields(name("launch"), &[])) }
    );
}

#[test]
fn event_vs_profile_comparisons_use_the_lambda_parameter_or_up() {
    let source = "(Profile) => chain(xEvent, timestamp, [A: WHAT(productListItems.exists(_luma.size != ^^._luma.preferences.size) and I._luma.category != Profile._luma.preferences.category)])";
    let query = ok(source);
    assert_eq!(query.params, ["Profile"]);
    round_trip(source);
    let ExprKind::Path(path) = body("^.a") else { panic!() };
    assert_eq!(path, fields(PathRoot::Up(1), &["a"]));
}

#[test]
fn keywords_are_case_insensitive_where_pql_is() {
    let lower = ok(
        "chain(xEvent, timestamp, [a: not what(x = 1) when(< 2 hours after b) count(3) where(y)] by k) and p or not q",
    );
    let upper = ok(
        "CHAIN(xEvent, timestamp, [a: NOT WHAT(x = 1) WHEN(< 2 HOURS AFTER b) COUNT(3) WHERE(y)] BY k) AND p OR NOT q",
    );
    assert_eq!(lower, upper);
    assert_eq!(body("ts occurs Last Week"), body("ts occurs last week"));
    assert_eq!(body("ts occurs BETWEEN Today AND Tomorrow"), body("ts occurs between today and tomorrow"));
    // `In` is a name, not the operator: PQL writes `in`.
    assert!(parse("a In b").is_err());
}

#[test]
fn units_singular_and_plural() {
    for (word, unit) in [
        ("millisecond", Unit::Millisecond),
        ("seconds", Unit::Second),
        ("minute", Unit::Minute),
        ("hours", Unit::Hour),
        ("day", Unit::Day),
        ("weeks", Unit::Week),
        ("month", Unit::Month),
        ("years", Unit::Year),
        ("decade", Unit::Decade),
        ("centuries", Unit::Century),
        ("century", Unit::Century),
        ("millennia", Unit::Millennium),
        ("millennium", Unit::Millennium),
    ] {
        let ExprKind::Occurs { spec: OccursSpec::Relative(relative), .. } =
            body(&format!("t occurs < 2 {word} before now"))
        else {
            panic!("{word}")
        };
        assert_eq!(relative.unit, unit, "{word}");
        let ExprKind::Occurs { spec, .. } = body(&format!("t occurs this {word}")) else { panic!("{word}") };
        assert_eq!(spec, OccursSpec::On(TimeRef::This(unit)), "{word}");
    }
    assert_eq!(print(&ok("t occurs < 1 hours before now")), "t occurs < 1 hour before now");
    assert_eq!(print(&ok("t occurs < 3 century before now")), "t occurs < 3 centuries before now");
}

#[test]
fn occurs_forms() {
    let spec = |source: &str| match body(source) {
        ExprKind::Occurs { spec, .. } => spec,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        spec("t occurs before today"),
        OccursSpec::Direction { direction: Direction::Before, time: TimeRef::Today }
    );
    assert_eq!(
        spec("t occurs from yesterday"),
        OccursSpec::Direction { direction: Direction::From, time: TimeRef::Yesterday }
    );
    assert_eq!(
        spec("t occurs on date(2019, 12, 31)"),
        OccursSpec::On(TimeRef::Date { year: 2019, month: 12, day: 31 })
    );
    assert_eq!(spec("t occurs date(2019, 12, 31)"), spec("t occurs on date(2019, 12, 31)"));
    assert_eq!(spec("t occurs next month"), OccursSpec::On(TimeRef::Next(Unit::Month)));
    assert_eq!(spec("t occurs >= 2 weeks after $1"), spec("t occurs >= 2 weeks after $1"));
    assert!(matches!(
        spec("t occurs >= 2 weeks after $1"),
        OccursSpec::Relative(RelativeTime {
            anchor: TimeRef::Path(PathExpr { root: PathRoot::Positional(1), .. }),
            ..
        })
    ));
}

// ---- expressions ---------------------------------------------------------------------------------

#[test]
fn precedence_is_or_and_not_comparison_path() {
    let ExprKind::Or(sides) = body("a = 1 or b = 2 and not c.d() = 3") else { panic!("not an or") };
    assert!(matches!(sides[0].kind, ExprKind::Compare { .. }));
    let ExprKind::And(both) = &sides[1].kind else { panic!("not an and") };
    let ExprKind::Not(negated) = &both[1].kind else { panic!("not a not") };
    let ExprKind::Compare { lhs, .. } = &negated.kind else { panic!("not takes the comparison") };
    assert!(matches!(lhs.kind, ExprKind::Call { .. }));
    // `!(...)` and `not(...)` are the same; `not` applies to the comparison after it.
    assert_eq!(body("!(a = 1)"), body("not(a = 1)"));
    assert_eq!(body("not a = 1"), body("not(a = 1)"));
    assert_eq!(body("NOT NOT a"), ExprKind::Not(Box::new(ok("not a").body)));
    // Parentheses group; the printer keeps them where they matter.
    assert_eq!(print(&ok("(a or b) and c")), "(a or b) and c");
    assert_eq!(print(&ok("a or (b and c)")), "a or b and c");
    assert_eq!(print(&ok("(a = b) = c")), "(a = b) = c");
    assert_eq!(print(&ok("not(a) = b")), "not(a = b)");
    assert!(parse("a = b = c").is_err());
}

#[test]
fn literals() {
    let lit = |source: &str| match body(source) {
        ExprKind::Literal(literal) => literal,
        other => panic!("{other:?}"),
    };
    assert_eq!(lit(r#"'it\'s "x"'"#), Literal::String("it's \"x\"".into()));
    assert_eq!(
        lit(r#""tab\there\nline\\ \u00e9 \u{1F600} \ud83d\ude00 \/""#),
        Literal::String("tab\there\nline\\ é 😀 😀 /".into())
    );
    assert_eq!(lit("42"), Literal::Int(42));
    assert_eq!(lit("-42"), Literal::Int(-42));
    assert_eq!(lit("-9223372036854775808"), Literal::Int(i64::MIN));
    assert_eq!(lit("3.25"), Literal::Float(3.25));
    assert_eq!(lit("-1.5e3"), Literal::Float(-1500.0));
    assert_eq!(lit("2E-2"), Literal::Float(0.02));
    assert_eq!(lit("null"), Literal::Null);
    assert_eq!(lit("date(2024, 2, 29)"), Literal::Date { year: 2024, month: 2, day: 29 });
    assert_eq!(
        lit(r#"[1, "a", [true, -2.5], date(2020, 1, 1), []]"#),
        Literal::Array(vec![
            Literal::Int(1),
            Literal::String("a".into()),
            Literal::Array(vec![Literal::Bool(true), Literal::Float(-2.5)]),
            Literal::Date { year: 2020, month: 1, day: 1 },
            Literal::Array(vec![]),
        ])
    );
    assert_eq!(print(&ok("100.0")), "100.0");
    assert_eq!(print(&ok("1e300")), "1e300");
    assert_eq!(print(&ok("'a\u{1}b'")), r#""a\u{1}b""#);
}

#[test]
fn paths_parameters_filters_and_calls() {
    let ExprKind::Compare { lhs, rhs, .. } = body("$1.a[b = 2].c == x.size()") else { panic!() };
    let Some(PathExpr { root: PathRoot::Positional(1), segments }) = path_kind(&lhs) else { panic!("{lhs:?}") };
    assert_eq!(segments.len(), 3);
    assert!(matches!(rhs.kind, ExprKind::Call { ref name, .. } if name == "size"));
    // Fields and methods may be named like keywords.
    round_trip("a.in.count.and = x.not().where(1).count()");
    // Only calls can follow a call.
    let error = err("a.b().c");
    assert_eq!(
        error.to_string(),
        "expected '(' (only a method call can follow a call or a parenthesized value) at 1:8, found the end of the text"
    );
}

#[test]
fn quantifiers_select_let_and_aggregates() {
    assert_eq!(body("exists X from a: X.b"), body("exists X from a where X.b"));
    assert!(matches!(body("forall X from a where X.b > 1"), ExprKind::Quantifier { kind: QuantifierKind::Forall, .. }));
    // A quantifier as an argument: `, 2` is the next argument, not a binding.
    let ExprKind::Function { args, .. } = body("f(exists X from a where X.b, 2)") else { panic!() };
    assert_eq!(args.len(), 2);
    let ExprKind::Aggregate { func: AggFn::Count, expr: None, .. } = body("count over X from xEvent where X.a = 1")
    else {
        panic!()
    };
    assert!(matches!(body("sum (X.a) over X from xEvent"), ExprKind::Aggregate { func: AggFn::Sum, pred: None, .. }));
    // Aggregate words are names unless a value or `over` follows.
    assert!(matches!(body("count = 5"), ExprKind::Compare { .. }));
    assert!(matches!(body("count in [1]"), ExprKind::In { .. }));
    assert!(matches!(body("sum(a, b)"), ExprKind::Function { .. }));
    assert!(matches!(body("xEvent.count()"), ExprKind::Call { .. }));
    round_trip("let X = sum (count) over Y from z in (X)");
    round_trip("let X = count in (count)");
    assert_eq!(
        round_trip("max (sum(1)) over X from a where average X over Y from b"),
        "max (sum(1)) over X from a where average X over Y from b"
    );
    // Without parentheses the inner `sum (1) over ...` takes the rest.
    assert!(parse("max sum(1) over X from a").is_err());
}

#[test]
fn whitespace_newlines_and_comments_are_tolerated() {
    let spaced =
        "\n\t chain ( xEvent ,timestamp,[\r\n A : WHAT ( x )WHEN( <24 hours before now )COUNT( 5 ) ] ) -- done\n";
    assert_eq!(ok(spaced), ok("chain(xEvent, timestamp, [A: WHAT(x) WHEN(< 24 hours before now) COUNT(5)])"));
}

#[test]
fn trailing_input_is_rejected() {
    let error = err(r#"eventType = "a" "b""#);
    assert_eq!(error.to_string(), r#"expected `and`, `or` or the end of the text at 1:17, found the string "b""#);
    let error = err("a)");
    assert_eq!(error.to_string(), r#"expected `and`, `or` or the end of the text at 1:2, found ")""#);
}

#[test]
fn spans_cover_their_source() {
    let source = "a = 1 and\n  b.c(2)";
    let ExprKind::And(items) = body(source) else { panic!() };
    assert_eq!(source.get(items[1].span.start..items[1].span.end), Some("b.c(2)"));
    assert_eq!(items[1].span.line_col(source), (2, 3));
}

// ---- errors ----------------------------------------------------------------------------------

#[test]
fn a_missing_parenthesis_is_reported_where_it_was_expected() {
    let source = r#"chain(xEvent, timestamp, [A: WHAT(eventType = "addToCart"])"#;
    let error = err(source);
    assert_eq!(error.to_string(), r#"expected ')' at 1:58, found "]""#);
    assert_eq!(error.position(), Some((1, 58)));
    let SegmentError::Parse { expected, found, .. } = err("not(chain(xEvent, timestamp, [A: WHAT(x)]) and y") else {
        panic!()
    };
    assert_eq!((expected.as_str(), found.as_str()), ("')'", "the end of the text"));
    assert_eq!(err("(a = 1 and b").to_string(), "expected ')' at 1:13, found the end of the text");
    assert_eq!(err("if(a, b c)").to_string(), r#"expected ',' at 1:9, found "c""#);
}

#[test]
fn an_unknown_step_keyword_names_the_choices() {
    let error = err("chain(xEvent, timestamp, [A: WHAT(x) WHN(today)])");
    assert_eq!(error.to_string(), r#"expected `WHEN`, `COUNT`, `WHERE`, ',' or ']' at 1:38, found "WHN""#);
    let error = err("chain(xEvent, timestamp, [A: WAT(x)])");
    assert_eq!(error.to_string(), r#"expected `WHAT` or `NOT WHAT` at 1:30, found "WAT""#);
    let error = err("chain(xEvent, timestamp, [WHAT(x)])");
    assert_eq!(error.to_string(), r#"expected a step label such as `A:` at 1:27, found "WHAT""#);
    let error = err("chain(xEvent, timestamp, [])");
    assert_eq!(error.to_string(), r#"expected a step label such as `A:` at 1:27, found "]""#);
}

#[test]
fn a_bad_unit_is_reported_on_the_unit() {
    let error = err("chain(xEvent, timestamp, [A: WHAT(x) WHEN(< 24 hourz before now)])");
    assert_eq!(error.to_string(), r#"expected a time unit such as `hours` or `days` at 1:48, found "hourz""#);
    let error = err("ts occurs < 1.5 hours before now");
    assert_eq!(error.to_string(), r#"expected a whole number of units such as `24` at 1:13, found "1.5""#);
}

#[test]
fn an_unterminated_string_points_at_the_end_and_names_its_start() {
    let error = err("a = 1 and\n  b = \"abc");
    assert_eq!(
        error.to_string(),
        r#"expected '"' to close the string that starts at 2:7 at 2:11, found the end of the text"#
    );
    assert_eq!(error.position(), Some((2, 11)));
    // An earlier syntax error wins over a later bad token.
    assert_eq!(err("a = = 'abc").to_string(), r#"expected an expression at 1:5, found "=""#);
}

#[test]
fn lexical_errors() {
    assert_eq!(
        err(r#"a = "x\q""#).to_string(),
        r#"expected an escape such as `\n`, `\t`, `\"`, `\'`, `\\`, `\u00e9` or `\u{1F600}` at 1:7, found "\\q""#
    );
    assert_eq!(err("a = #").to_string(), r##"expected a PQL token at 1:5, found "#""##);
    assert_eq!(err("a = $x").to_string(), r#"expected a parameter number after '$' such as `$1` at 1:5, found "$""#);
    assert_eq!(err("é = 1").to_string(), r#"expected a PQL token at 1:1, found "é""#);
    assert!(matches!(err(r#""\ud800""#), SegmentError::Parse { .. }));
    assert!(matches!(err(r#""\u{110000}""#), SegmentError::Parse { .. }));
}

#[test]
fn numbers_out_of_range() {
    let error = err("a = 9223372036854775808");
    assert_eq!(
        error.to_string(),
        "the integer 9223372036854775808 at 1:5 is out of range: it must be from -9223372036854775808 to 9223372036854775807"
    );
    assert_eq!(
        err("a = 1e999").to_string(),
        "the number 1e999 at 1:5 is out of range: it must be a finite 64-bit float"
    );
    assert_eq!(
        err("d = date(2024, 13, 1)").to_string(),
        "the month 13 at 1:16 is out of range: it must be from 1 to 12"
    );
    assert_eq!(err("d = date(2024, 1, 0)").to_string(), "the day 0 at 1:19 is out of range: it must be from 1 to 31");
    let error = err("chain(xEvent, timestamp, [A: WHAT(x) COUNT(-1)])");
    assert_eq!(error.to_string(), "the step count -1 at 1:44 is out of range: it must be from 0 to 4294967295");
    assert_eq!(error.position(), Some((1, 44)));
}

#[test]
fn nesting_is_capped() {
    let nested = |n: usize| format!("{}a{}", "(".repeat(n), ")".repeat(n));
    ok(&nested(MAX_NESTING - 1));
    let error = err(&nested(MAX_NESTING));
    assert_eq!(error, SegmentError::TooDeep { line: 1, column: 65, limit: MAX_NESTING });
    assert_eq!(error.to_string(), "the definition nests more than 64 levels deep at 1:65; flatten it");
    assert!(matches!(err(&"not ".repeat(100)), SegmentError::TooDeep { .. }));
    assert!(matches!(err(&"not(".repeat(100)), SegmentError::TooDeep { .. }));
    assert!(matches!(err(&format!("{}1{}", "[".repeat(100), "]".repeat(100))), SegmentError::TooDeep { .. }));
    assert!(matches!(err(&format!("a{}", ".f()".repeat(100))), SegmentError::TooDeep { .. }));
    assert!(matches!(err(&"sum ".repeat(100)), SegmentError::TooDeep { .. }));
    assert!(matches!(err(&"exists X from ".repeat(100)), SegmentError::TooDeep { .. }));
    assert!(matches!(err(&"x[".repeat(100)), SegmentError::TooDeep { .. }));
    // Long flat inputs are fine: `and` chains, steps and path segments do not nest.
    ok(&vec!["a = 1"; 10_000].join(" and "));
    ok(&format!("a{}", ".b".repeat(10_000)));
}

/// Found by `cargo fuzz`: an open-ended construct at the end of an `and` needs no parentheses in
/// the source, and the printer's `(exists ...)` must not count as one more level.
#[test]
fn printing_never_nests_deeper_than_the_source() {
    let n = MAX_NESTING - 1;
    let sources = [
        format!("{}b", "a and exists X from y where ".repeat(n)),
        format!("{}b", "a = exists X from y where ".repeat(n)),
        format!("{}b", "a in select X from y where ".repeat(n)),
        format!("{}b", "f(x).g((K) => ".repeat(n / 2)) + &")".repeat(n / 2),
        format!("{}b", "not exists X from y where ".repeat(n / 2)),
        format!("{}y", "exists X from ".repeat(n)),
        format!("{}z = 1", "exists X from y where a or exists X from ".repeat(n / 2)),
    ];
    let handle = std::thread::Builder::new().stack_size(2 << 20).spawn(move || {
        for source in &sources {
            round_trip(source);
        }
    });
    assert!(handle.map(|h| h.join().is_ok()).unwrap_or(false));
    assert_eq!(print(&ok("a and exists X from y where b")), "a and (exists X from y where b)");
    assert_eq!(print(&ok("exists X from y = 1")), "(exists X from y) = 1");
    assert_eq!(print(&ok("(exists X from y where b) = 1")), "(exists X from y where b) = 1");
}

/// At the cap, parsing, printing and dropping the tree fit in a small stack: 512 KiB in a release
/// build (a Wasm host has 1 MiB), 2 MiB in a debug build (a test thread's default). Measured:
/// under 384 KiB and 1 MiB.
#[test]
fn the_deepest_inputs_fit_in_a_small_stack() {
    let n = MAX_NESTING;
    let worst = [
        format!("{}a{}", "(".repeat(n - 1), ")".repeat(n - 1)),
        format!("{}a{}", "f(".repeat(n - 1), ")".repeat(n - 1)),
        format!("{}a{}", "x[".repeat(n - 1), "]".repeat(n - 1)),
        format!("{}a", "not ".repeat(n - 1)),
        format!("{}a{}", "not(".repeat(n - 1), ")".repeat(n - 1)),
        format!("{}a{}", "chain(xEvent, timestamp, [A: WHAT(".repeat(n / 2 - 1), ")])".repeat(n / 2 - 1)),
        format!("{}a", "exists X from y where ".repeat(n - 1)),
        format!("{}a{}", "if(".repeat(n - 1), ", 1, 2)".repeat(n - 1)),
        format!("{}a{}", "a = (".repeat(n - 1), ")".repeat(n - 1)),
        format!("{}a{}", "let X = 1 in (".repeat(n - 1), ")".repeat(n - 1)),
        format!("{}sum a over X from y{}", "sum (".repeat(n - 2), ") over X from y".repeat(n - 2)),
        format!("a{}", ".f(x)".repeat(n - 1)),
        format!("{}1{}", "[".repeat(n - 1), "]".repeat(n - 1)),
        // Parentheses around open-ended constructs are free, so these nest 63 deep too.
        format!("{}a{}", "(exists X from y where ".repeat(n - 1), ")".repeat(n - 1)),
        format!("{}a{}", "(select X from y where ".repeat(n - 1), ")".repeat(n - 1)),
        format!("{}a{}", "(sum a over X from y where ".repeat(n - 1), ")".repeat(n - 1)),
        format!("{}a{}", "((K) => ".repeat(n - 1), ")".repeat(n - 1)),
        format!("{}a{}", "b = (exists X from y where ".repeat(n - 1), ")".repeat(n - 1)),
    ];
    let stack = if cfg!(debug_assertions) { 2 << 20 } else { 512 << 10 };
    let handle = std::thread::Builder::new().stack_size(stack).spawn(move || {
        for source in &worst {
            let query = ok(source);
            assert_eq!(parse(&print(&query)).ok(), Some(query), "{source}");
            assert!(matches!(parse(&format!("((({source})))")), Err(SegmentError::TooDeep { .. })), "{source}");
        }
    });
    assert!(handle.map(|h| h.join().is_ok()).unwrap_or(false));
}
