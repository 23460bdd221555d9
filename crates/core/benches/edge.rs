//! Benchmarks of the edge pipeline on a realistic category-page view (`data/pageview.json`,
//! the body the Adobe Web SDK sends): a first visit (mints an ECID) and a returning visitor
//! (verifies the signed cookie), plus the parts on their own.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_main};
use edgecdp_core::edge::{EdgeEnv, Entropy, HttpRequest, handle};
use edgecdp_core::identity::{CookieKeys, Ecid};
use edgecdp_core::limits::Limits;
use edgecdp_core::protocol::InteractRequest;
use edgecdp_core::snapshot::{DatastreamConfig, Snapshot, SnapshotConfig};
use edgecdp_core::sync::{SyncBatch, SyncRecord};
use edgecdp_core::time::Timestamp;
use edgecdp_core::value::Value;

const BODY: &[u8] = include_bytes!("data/pageview.json");
const ORG: &str = "LUMA123@AdobeOrg";

fn snapshot() -> Snapshot {
    Snapshot::build(
        &SnapshotConfig {
            datastreams: vec![DatastreamConfig {
                id: "ds-luma".into(),
                org_id: ORG.into(),
                allowed_origins: vec!["https://www.luma.test".into()],
                accept_unsigned_ecid: false,
                default_consent: Default::default(),
            }],
            ..Default::default()
        },
        1,
    )
    .0
}

fn bench_edge(c: &mut Criterion) {
    let snap = snapshot();
    let keys = CookieKeys::new(b"bench secret".to_vec(), vec![]);
    let env = EdgeEnv { snapshot: &snap, cookie_keys: &keys };
    let cookie = format!("kndctr_LUMA123_AdobeOrg_identity={}", keys.encode(ORG, &Ecid::mint([3; 16])));
    let mut group = c.benchmark_group("edge/interact");
    group.throughput(Throughput::Elements(1));
    for (name, cookie) in [("first-visit", None), ("returning", Some(cookie.as_str()))] {
        let req = HttpRequest {
            method: "POST",
            path: "/ee/v1/interact",
            query: "configId=ds-luma&requestId=0c7f7e3a-1f0e-4a53-9a55-3f2f4b3c9d10",
            origin: Some("https://www.luma.test"),
            cookie,
            body: BODY,
        };
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| handle(&env, &req, Timestamp(1_790_000_000_000), &Entropy([5; 32])));
        });
    }
    group.finish();

    let mut group = c.benchmark_group("edge/parts");
    group.throughput(Throughput::Elements(1));
    group.bench_function("parse-json", |b| b.iter(|| serde_json::from_slice::<Value>(BODY)));
    let value: Value = serde_json::from_slice(BODY).unwrap_or_default();
    group.bench_function("validate-request", |b| b.iter(|| InteractRequest::from_value(value.clone(), &Limits::new())));
    let cookie_value = keys.encode(ORG, &Ecid::mint([3; 16]));
    group.bench_function("verify-cookie", |b| b.iter(|| keys.verify(ORG, &cookie_value)));
    let outcome = handle(
        &env,
        &HttpRequest {
            method: "POST",
            path: "/ee/v1/interact",
            query: "configId=ds-luma",
            origin: None,
            cookie: None,
            body: BODY,
        },
        Timestamp(1_790_000_000_000),
        &Entropy([5; 32]),
    );
    let records: Vec<SyncRecord> = (0..50).flat_map(|_| outcome.records.clone()).collect();
    let batch = SyncBatch::new("bench", Timestamp(0), [1; 16], records);
    group.throughput(Throughput::Elements(50));
    group.bench_function("encode-sync-batch-50-events", |b| b.iter(|| batch.encode()));
    group.finish();
}

// criterion_group! expands to an undocumented public function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench_edge);
}
use group::benches;
criterion_main!(benches);
