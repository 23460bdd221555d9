//! Sync ingest at the origin against the floor: a batch of 1,000 page views applied with
//! `Store::apply_batch` (batch dedup, tombstone check, unique event ids, one transaction),
//! next to a plain SQLite insert of the same rows into the same schema with a prepared
//! statement in one transaction, on the same machine. The target is at least half the plain
//! rate.

use criterion::{Criterion, Throughput, criterion_main};
use edgecdp_core::identity::Ecid;
use edgecdp_core::identity::graph::GraphConfig;
use edgecdp_core::object;
use edgecdp_core::sync::{CollectedEvent, CollectedEvents, SyncBatch, SyncRecord};
use edgecdp_core::time::Timestamp;
use edgecdp_origin::store::{SqliteStore, Store};
use rusqlite::{Connection, params};

const ROWS: usize = 1000;

fn events(offset: usize) -> Vec<CollectedEvent> {
    (offset..offset + ROWS)
        .map(|i| CollectedEvent {
            event_id: format!("ev-{i:08}"),
            event_type: Some("web.webpagedetails.pageViews".into()),
            timestamp: Timestamp(1_790_000_000_000 + i as i64),
            xdm: object! { "eventType" => "web.webpagedetails.pageViews", "web" => object! { "webPageDetails" => object! { "URL" => format!("https://www.luma.test/p/{i}") } } },
            data: None,
        })
        .collect()
}

fn bench_ingest(c: &mut Criterion) {
    let ecid = Ecid::mint([3; 16]);
    let mut group = c.benchmark_group("ingest");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.sample_size(20);

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store =
        SqliteStore::open(&dir.path().join("store.sqlite"), GraphConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    let mut n = 0usize;
    group.bench_function("apply-batch-1000-events", |b| {
        b.iter(|| {
            n += 1;
            let batch = SyncBatch::new(
                "bench",
                Timestamp(0),
                (n as u128).to_be_bytes(),
                vec![SyncRecord::Events(CollectedEvents {
                    datastream_id: "ds".into(),
                    ecid: ecid.clone(),
                    received_at: Timestamp(0),
                    events: events(n * ROWS),
                })],
            );
            store.apply_batch(&batch, Timestamp(0)).unwrap_or_else(|e| panic!("{e}"))
        })
    });

    // The floor: the same rows, the same table, one prepared INSERT in one transaction.
    let plain = dir.path().join("plain.sqlite");
    drop(SqliteStore::open(&plain, GraphConfig::default()).unwrap_or_else(|e| panic!("{e}")));
    let mut conn = Connection::open(&plain).unwrap_or_else(|e| panic!("{e}"));
    conn.pragma_update(None, "journal_mode", "WAL").unwrap_or_else(|e| panic!("{e}"));
    conn.pragma_update(None, "synchronous", "FULL").unwrap_or_else(|e| panic!("{e}"));
    let mut m = 0usize;
    group.bench_function("plain-sqlite-insert-1000-rows", |b| {
        b.iter(|| {
            m += 1;
            let tx = conn.transaction().unwrap_or_else(|e| panic!("{e}"));
            {
                let mut stmt = tx
                    .prepare_cached(
                        "INSERT INTO events (event_id, datastream_id, ecid, event_type, ts, received_at, batch_id, source, xdm, data)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                    )
                    .unwrap_or_else(|e| panic!("{e}"));
                for e in events(m * ROWS) {
                    stmt.execute(params![
                        e.event_id,
                        "ds",
                        ecid.as_str(),
                        e.event_type,
                        e.timestamp.millis(),
                        0,
                        "b",
                        "bench",
                        serde_json::to_string(&e.xdm).unwrap_or_default(),
                        Option::<String>::None
                    ])
                    .unwrap_or_else(|e| panic!("{e}"));
                }
            }
            tx.commit().unwrap_or_else(|e| panic!("{e}"));
        })
    });
    group.finish();
}

// criterion_group! expands to an undocumented public function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench_ingest);
}
use group::benches;
criterion_main!(benches);
