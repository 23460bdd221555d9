//! The Luma segment set of the embedded demo configuration at the edge: Sarah's journey (views,
//! an anonymous add in size L, the login that brings her preferences, an hour passing, the
//! purchase) through the edge's compiled set, with the size of her segment state printed at each
//! step (the budget is 1 KB), and the time of one event through the whole set.

use criterion::{Criterion, Throughput, criterion_main};
use edgecdp_core::map::ObjectMap;
use edgecdp_core::object;
use edgecdp_core::segment::compile::Options;
use edgecdp_core::segment::set::{ProfileSegments, SegmentSet, Touched};
use edgecdp_core::time::Timestamp;
use edgecdp_core::value::Value;
use edgecdp_origin::config::Config;

fn item(size: &str) -> Value {
    object! {
        "SKU" => format!("MS-RUN-01-{size}"), "name" => "Aero Run Sweatshirt", "priceTotal" => 58.0, "quantity" => 1u64,
        "productCategories" => vec![object! { "categoryID" => "men/sweatshirts" }],
        "_luma" => object! { "category" => "men", "size" => size },
    }
}

fn event(ty: &str) -> Value {
    object! { "eventType" => ty, "productListItems" => vec![item("L")], "commerce" => object! { "order" => object! { "priceTotal" => 58.0 } } }
}

fn sarah() -> ObjectMap<Value> {
    let mut p = ObjectMap::new();
    p.insert("loyalty.tier".into(), Value::from("Bronze"));
    p.insert("_luma.preferredCategory".into(), Value::from("women"));
    p.insert("_luma.preferredSize".into(), Value::from("S"));
    p
}

// A benchmark prints its figures.
#[allow(clippy::print_stderr)]
fn bench_luma(c: &mut Criterion) {
    let config = Config::load(None, &Default::default()).expect("the embedded demo configuration loads");
    let schema = edgecdp_origin::segments::schema_for(&config);
    let all = SegmentSet::load(&config.segments, &schema, &Options::default());
    let edge = all.edge_subset();
    eprintln!("luma: {} segments, {} evaluated at the edge", all.segments().len(), edge.segments().len());
    let size = |st: &ProfileSegments| rmp_serde::to_vec(st).map_or(0, |b| b.len());
    let anonymous = ObjectMap::new();
    let t0 = 1_800_000_000_000_i64;
    let mut st = ProfileSegments::new();
    let mut largest = 0;
    let mut step = |st: &mut ProfileSegments, what: &str, xdm: Option<Value>, profile: &ObjectMap<Value>, at: i64| {
        let touched = xdm.map_or_else(Touched::default, |x| edge.on_event(st, &x, Timestamp(at), profile));
        let t = edge.evaluate(st, profile, Timestamp(at), &touched);
        let bytes = size(st);
        largest = largest.max(bytes);
        eprintln!(
            "luma: {what}: {bytes} bytes of segment state{}",
            if t.is_empty() { String::new() } else { format!(" ({} transitions)", t.len()) }
        );
    };
    step(&mut st, "two product views", Some(event("commerce.productViews")), &anonymous, t0);
    step(&mut st, "and the second", Some(event("commerce.productViews")), &anonymous, t0 + 20_000);
    step(&mut st, "an anonymous add in size L", Some(event("commerce.productListAdds")), &anonymous, t0 + 60_000);
    step(&mut st, "the login", Some(object! { "eventType" => "userAccount.login" }), &sarah(), t0 + 90_000);
    step(&mut st, "an hour later", None, &sarah(), t0 + 3_700_000);
    step(&mut st, "the purchase", Some(event("commerce.purchases")), &sarah(), t0 + 3_800_000);
    eprintln!("luma: the largest segment state on the way: {largest} bytes (budget 1,024)");

    let mut group = c.benchmark_group("luma");
    group.throughput(Throughput::Elements(edge.segments().len() as u64));
    let base = st.clone();
    group.bench_function("one-event-through-the-luma-edge-set", |b| {
        let mut st = base.clone();
        let mut k = 0i64;
        let p = sarah();
        b.iter(|| {
            k += 1;
            let at = Timestamp(t0 + 4_000_000 + k * 1000);
            let touched = edge.on_event(&mut st, &event("commerce.productViews"), at, &p);
            edge.evaluate(&mut st, &p, at, &touched)
        });
    });
    group.finish();
}

#[allow(missing_docs)]
fn benches() {
    let mut c = Criterion::default().configure_from_args();
    bench_luma(&mut c);
}

criterion_main!(benches);
