//! Benchmarks of profiles: merging fragments (the CRDT join), merging a person's fragments
//! into one view, and encoding/decoding Sarah's edge fragment (whose size is printed: the
//! budget is 1 KB).

use criterion::{Criterion, Throughput, criterion_main};
use edgecdp_core::identity::IdentityKey;
use edgecdp_core::identity::resolve::EdgeFragment;
use edgecdp_core::map::ObjectMap;
use edgecdp_core::profile::{Fragment, MergePolicy};
use edgecdp_core::time::Timestamp;
use edgecdp_core::value::Value;

fn fragment(dataset: &str, attrs: usize, at: i64, writer: &str) -> Fragment {
    let mut f = Fragment::new(dataset, IdentityKey::new("CRMID", "crm-1042"));
    for i in 0..attrs {
        f.set(&format!("_luma.attr{i}"), Value::from(format!("value {i} at {at}")), Timestamp(at + i as i64), writer);
    }
    f
}

/// Sarah's edge fragment as the demo builds it: her person identities, the browsers she used,
/// and the attributes the edge keeps by default.
fn sarah() -> EdgeFragment {
    let mut attributes = ObjectMap::new();
    attributes.insert("person.name.firstName".into(), Value::from("Sarah"));
    attributes.insert("loyalty.tier".into(), Value::from("Bronze"));
    attributes.insert("loyalty.points".into(), Value::from(1240u64));
    attributes.insert("_luma.preferences.size".into(), Value::from("S"));
    attributes.insert("_luma.preferences.category".into(), Value::from("women"));
    let mut identities = vec![
        IdentityKey::new("CRMID", "crm-1042"),
        IdentityKey::new("Email", "sarah.rose@example.com"),
        IdentityKey::new("LoyaltyID", "LY-778"),
        IdentityKey::new("Phone", "+14155550142"),
    ];
    identities.extend(
        (0..3).map(|i| {
            IdentityKey::new("ECID", format!("{}", 52_815_286_440_582_716_171_370_361_733_432_581_330u128 + i))
        }),
    );
    EdgeFragment {
        person: IdentityKey::new("CRMID", "crm-1042"),
        identities,
        attributes,
        version: 42,
        updated_at: Timestamp(1_790_000_000_000),
        segments: None,
        decisions: None,
    }
}

fn bench_profile(c: &mut Criterion) {
    let mut group = c.benchmark_group("profile");
    let a = fragment("crm-contacts", 20, 100, "import-1");
    let b = fragment("crm-contacts", 20, 150, "import-2");
    group.throughput(Throughput::Elements(20));
    group.bench_function("merge-two-20-attribute-fragments", |bench| {
        bench.iter(|| {
            let mut m = a.clone();
            m.merge(&b);
            m
        })
    });
    let fragments =
        vec![fragment("crm-contacts", 10, 100, "i"), fragment("loyalty", 10, 200, "i"), fragment("web", 10, 300, "e")];
    let precedence = MergePolicy::DatasetPrecedence(vec!["crm-contacts".into(), "loyalty".into()]);
    group.throughput(Throughput::Elements(1));
    group.bench_function("merge-profile-3-fragments-timestamp", |bench| {
        bench.iter(|| MergePolicy::Timestamp.merge(&fragments))
    });
    group.bench_function("merge-profile-3-fragments-precedence", |bench| bench.iter(|| precedence.merge(&fragments)));
    let sarah = sarah();
    let bytes = sarah.encode().unwrap_or_default();
    // A figure for the report, not a timing: the bench prints it.
    #[allow(clippy::print_stderr)]
    {
        eprintln!("Sarah's edge fragment: {} bytes encoded (budget 1024)", bytes.len());
    }
    group.bench_function("encode-edge-fragment", |bench| bench.iter(|| sarah.encode()));
    group.bench_function("decode-edge-fragment", |bench| bench.iter(|| EdgeFragment::decode(&bytes)));
    group.finish();
}

// criterion_group! expands to an undocumented public function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench_profile);
}
use group::benches;
criterion_main!(benches);
