//! The origin merging link records into its SQLite graph: 10,000 records from 2,000 people in
//! one call (a source import), and a login batch from an edge into a store that already holds
//! those 10,000.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_main};
use edgecdp_core::identity::graph::{AuthState, GraphConfig, LinkedIdentity};
use edgecdp_core::identity::{IdentityKey, LinkRecord};
use edgecdp_core::time::Timestamp;
use edgecdp_origin::store::{SqliteStore, Store};

fn ecid(i: u64) -> String {
    format!("{:038}", 10u128.pow(37) + u128::from(i))
}

fn li(ns: &str, id: &str, state: AuthState) -> LinkedIdentity {
    LinkedIdentity { key: IdentityKey::new(ns, id), state }
}

fn records(n: usize, offset: usize) -> Vec<LinkRecord> {
    (offset..offset + n)
        .map(|i| {
            let person = i % 2000;
            let mut ids = vec![
                li("ECID", &ecid(i as u64), AuthState::Ambiguous),
                li("CRMID", &format!("crm-{person}"), AuthState::Authenticated),
            ];
            if i % 5 == 0 {
                ids.push(li("Email", &format!("p{person}@example.com"), AuthState::Authenticated));
            }
            LinkRecord::new(format!("r{i}"), Timestamp(i as i64 * 1000), ids)
        })
        .collect()
}

fn bench_merge(c: &mut Criterion) {
    let mut group = c.benchmark_group("origin");
    group.sample_size(10);
    let batch = records(10_000, 0);
    group.throughput(Throughput::Elements(batch.len() as u64));
    group.bench_function(BenchmarkId::new("merge-link-records-into-empty-store", batch.len()), |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
                let store = SqliteStore::open(&dir.path().join("bench.sqlite"), GraphConfig::default())
                    .unwrap_or_else(|e| panic!("{e}"));
                (dir, store)
            },
            |(_dir, store)| store.add_link_records(&batch, "bench").unwrap_or_else(|e| panic!("{e}")),
            criterion::BatchSize::PerIteration,
        );
    });
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store =
        SqliteStore::open(&dir.path().join("full.sqlite"), GraphConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    store.add_link_records(&batch, "bench").unwrap_or_else(|e| panic!("{e}"));
    let mut next = 10_000;
    group.throughput(Throughput::Elements(1));
    group.sample_size(50);
    group.bench_function("one-login-into-a-store-of-10000-records", |b| {
        b.iter(|| {
            next += 1;
            store.add_link_records(&records(1, next), "bench").unwrap_or_else(|e| panic!("{e}"))
        });
    });
    group.finish();
}

// criterion_group! expands to an undocumented public function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench_merge);
}
use group::benches;
criterion_main!(benches);
