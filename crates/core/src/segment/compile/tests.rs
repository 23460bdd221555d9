use super::*;
use crate::segment::parse;

pub(crate) const SEED: &str = r#"(Profile) =>
  Profile.loyalty.tier in ["Bronze", "Silver", "Gold", "Platinum"]
  and chain(xEvent, timestamp, [
    A: WHAT(eventType.equals("commerce.productListAdds", false)
            and exists I from productListItems :
                (I._luma.category != Profile._luma.preferredCategory
                 and I._luma.size != Profile._luma.preferredSize))
       WHEN(< 7 days before now),
    B: NOT WHAT(eventType.equals("commerce.purchases", false))
       WHEN(< 1 hour after A)
  ])"#;

fn schema() -> Schema {
    let mut s = Schema::standard();
    s.add_profile_attribute("_luma.preferredCategory", Ty::String);
    s.add_profile_attribute("_luma.preferredSize", Ty::String);
    s
}

fn compile_text(text: &str) -> Result<Program, CompileError> {
    let q = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    compile(&q, text, &schema(), &Options::default())
}

fn error(text: &str) -> String {
    compile_text(text).expect_err(text).to_string()
}

#[test]
fn the_seed_segment_compiles_to_one_buffered_chain() {
    let p = compile_text(SEED).unwrap();
    assert_eq!(p.leaves.len(), 1);
    let Mode::Buffer(b) = &p.leaves[0].mode else { panic!("{:?}", p.leaves[0].mode) };
    assert_eq!(b.window, Window::Within(7 * DAY_MS));
    let Leaf::Chain(c) = &p.leaves[0].leaf else { panic!() };
    assert_eq!(c.absence.as_ref().map(|(_, d)| *d), Some(3_600_000));
    assert!(p.report.edge_eligible, "{:?}", p.report);
    assert_eq!(
        p.report.event_types,
        Some(vec!["commerce.productlistadds".to_owned(), "commerce.purchases".to_owned()])
    );
    assert_eq!(p.report.profile_reads, ["_luma.preferredCategory", "_luma.preferredSize", "loyalty.tier"]);
    assert!(p.report.state_bytes <= 1024, "{}", p.report.state_bytes);
}

#[test]
fn unknown_fields_and_type_errors_are_positioned() {
    assert_eq!(
        error("loyalty.tier = \"Gold\"\nand chain(xEvent, timestamp, [A: WHAT(eventTyp = \"commerce.purchases\")])"),
        "unknown event field `eventTyp`: did you mean `eventType`? at 2:39"
    );
    assert_eq!(
        error("loyalty.points = \"many\""),
        "cannot compare `loyalty.points` (a number) with `\"many\"` (a string) at 1:1"
    );
    assert_eq!(error("homeAddress.city.equals(3)"), "expected a string, but `3` is a number at 1:25");
    assert!(error("productListItems.SKU = \"X\"").contains("unknown profile attribute `productListItems`"));
    assert!(error("chain(xEvent, timestamp, [A: WHAT(productListItems.SKU = \"X\")])").contains(
        "reads through the array `productListItems`: use `exists I from productListItems where I.…` at 1:35"
    ),);
    assert_eq!(
        error("if(loyalty.points > 3, \"a\", \"b\")"),
        "a segment must be true or false, but `if(loyalty.points > 3, \"a\", \"b\")` is a string at 1:1"
    );
    assert!(error("chain(xEvent, timestamp, [A: WHAT(eventType = \"a\"), B: NOT WHAT(eventType = \"b\") WHEN(< 1 hour after X)])").contains("after A"));
    assert!(error("xEvent[eventType = \"a\"].groupBy(x)").contains("computed attributes"));
}

#[test]
fn shapes_and_reports() {
    let fold =
        compile_text("chain(xEvent, timestamp, [A: WHAT(eventType = \"a\") WHEN(< 24 hours before now) COUNT(5)])")
            .unwrap();
    let Leaf::Chain(c) = &fold.leaves[0].leaf else { panic!() };
    assert_eq!(c.steps.len(), 5, "COUNT(5) is five steps");
    assert_eq!(fold.leaves[0].mode, Mode::Fold);
    assert!(fold.report.edge_eligible);

    let count =
        compile_text("xEvent[eventType = \"a\" and timestamp occurs < 7 days before now].count() >= 3").unwrap();
    assert!(matches!(
        count.leaves[0].leaf,
        Leaf::Count(CountLeaf { n: 3, op: CmpOp::Ge, window: Window::Within(_), .. })
    ));

    let long = compile_text(
        "xEvent[eventType = \"a\" and timestamp occurs < 365 days before now].sum(commerce.order.priceTotal) > 500",
    )
    .unwrap();
    assert!(!long.report.edge_eligible);
    assert_eq!(long.report.not_at_edge, ["its window of 365 days is longer than the edge's 90 days"]);

    let unbounded = compile_text("let S = (sum X.commerce.order.priceTotal over X from xEvent where X.commerce.order.currencyCode = \"USD\") in (S > 100 and S < 1000)").unwrap();
    assert_eq!(unbounded.leaves[0].mode, Mode::History);
    assert!(!unbounded.report.edge_eligible);

    let nine = (0..9).map(|i| format!("S{i}: WHAT(eventType = \"t{i}\")")).collect::<Vec<_>>().join(", ");
    let long_chain = compile_text(&format!("chain(xEvent, timestamp, [{nine}])")).unwrap();
    assert!(long_chain.report.edge_eligible, "nine steps at the edge: Adobe stops at six");
    assert_eq!(long_chain.report.event_types.as_ref().map(Vec::len), Some(9));

    let keyed = compile_text("chain(xEvent, timestamp, [A: WHAT(eventType = \"add\"), B: NOT WHAT(eventType = \"buy\") WHEN(< 2 hours after A)] BY commerce.cart.cartID)").unwrap();
    assert!(matches!(keyed.leaves[0].mode, Mode::Buffer(_)), "a key needs the events");
}

/// What the compiler makes of each verbatim example of the reference (they all parse): the ones
/// that name fields outside XDM, compute values instead of conditions, or build affinity maps
/// are refused with a reason; the rest compile to the expected shapes.
#[test]
fn every_verbatim_example_compiles_or_is_refused_with_a_reason() {
    use crate::segment::parser::tests::EXAMPLES;
    let expected: &[(&str, Result<&str, &str>)] = &[
        ("1", Ok("chain of 1 step, today: folded")),
        ("2", Ok("profile predicate")),
        ("3", Ok("chain of 1 step, today: folded")),
        ("4", Ok("chain of 2 steps, today: folded")),
        ("5", Ok("chain of 1 step, within 1 day (inclusive): folded")),
        ("6", Ok("")),
        ("7", Ok("chain of 1 step, any time: folded")),
        ("8", Ok("chain of 1 step, any time: folded")),
        ("9", Ok("chain of 1 step, any time: folded")),
        ("10", Ok("chain of 1 step, within 1 day: folded")),
        ("11", Ok("chain of 1 step, within 1 day: folded")),
        ("12", Ok("chain of 5 steps, within 1 day: folded")),
        ("13", Ok("chain of 5 steps, within 1 day: folded")),
        ("14", Ok("chain of 1 step, within 1 day: folded")),
        ("15", Ok("")),
        ("16", Err("unknown event field `externalSegmentMapProperty`")),
        ("17", Ok("chain of 1 step, within 7 days: folded")),
        ("18", Err("is a number, not a condition")),
        ("19", Err("is a number, not a condition")),
        ("20", Err("not supported in segments")),
        ("21", Err("a segment must be true or false")),
        ("22", Ok("chain of 3 steps, any time: folded")),
        ("23", Err("unknown event field `commerce.item`")),
        ("24", Ok("chain of 1 step, any time: buffered")),
        ("25", Ok("sum of events any time: over the whole history (origin only)")),
        ("26a", Err("unknown profile attribute `X`")),
        ("26b", Err("unknown profile attribute `product`")),
        ("26c", Err("unknown profile attribute `product`")),
        ("27", Ok("chain of 1 step, any time: folded")),
        ("28", Ok("chain of 1 step, any time: folded")),
    ];
    assert_eq!(expected.len(), EXAMPLES.len());
    for ((n, text), (m, want)) in EXAMPLES.iter().zip(expected) {
        assert_eq!(n, m);
        match (compile_text(text), want) {
            (Ok(p), Ok("")) => assert!(p.leaves.is_empty() && !p.report.depends_on.is_empty(), "#{n}: {:?}", p.report),
            (Ok(p), Ok(part)) => {
                assert!(
                    p.report.parts.iter().any(|x| x.starts_with(part)),
                    "#{n}: {:?} has no part starting {part:?}",
                    p.report.parts
                )
            }
            (Err(e), Err(why)) => assert!(e.message.contains(why), "#{n}: {e} does not say {why:?}"),
            (got, _) => panic!("#{n}: {text}: unexpected {got:?}"),
        }
    }
}
