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
