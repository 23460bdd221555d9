//! The outbox: sync batches the origin has not acknowledged, kept in KV (`EDGE_STATE`, keys
//! `outbox/{created}-{batch id}`) and retried with exponential backoff (1 s, 2 s, 4 s, ... up to
//! 5 minutes) until the origin answers 200. The origin applies a batch id once, so a batch sent
//! twice (a retry racing an acknowledgement) is still stored once.
//!
//! Requests of one isolate share batches: a request's records are queued after it answers, and
//! one request at a time (the shipper) sends everything queued as one batch, again and again
//! while more comes in, so under load one `/v1/sync` call carries many requests' records and
//! under no load each request sends its own at once. Every request waits (in its `waitUntil`)
//! until its own records are acknowledged or kept in the outbox, so the runtime keeps the
//! isolate for them; a shipper leaves the rest to the waiting requests after [`SHIP_FOR_MS`],
//! so no `waitUntil` outlives its limit.
//!
//! After responding, an edge request drains due batches (a few at a time) when this isolate may
//! have left some (it started, or a send failed, or the last drain did not empty the outbox),
//! so a healthy edge does not list KV on every request; the cron trigger (`scheduled`) drains
//! whatever other isolates left, so batches go out even when traffic stops.

use std::cell::RefCell;

use edgecdp_core::sync::{SyncBatch, SyncRecord};
use edgecdp_core::time::Timestamp;
use serde::{Deserialize, Serialize};
use worker::Method;
use worker::kv::KvStore;

use crate::bindings::Bindings;
use crate::origin;

const PREFIX: &str = "outbox/";

/// Whether this isolate may have left batches in the outbox (true at start: a previous isolate
/// may have).
static MAY_HOLD: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// How long one request ships others' records before handing over (a `waitUntil` may run 30
/// seconds after its response).
const SHIP_FOR_MS: i64 = 10_000;
/// Most records one batch takes.
const BATCH_RECORDS: usize = 1000;

/// How often a request whose records another one ships looks whether they went. (Requests
/// never wake each other: the Workers runtime cancels a continuation that another request's
/// context resolves, so each one waits on its own timer.)
const POLL_MS: u64 = 5;

/// The records waiting to be shipped, in arrival order, numbered per request.
#[derive(Default)]
struct Queue {
    queued: Vec<(u64, Vec<SyncRecord>)>,
    /// The number the next request gets.
    next: u64,
    /// Requests numbered below this one are shipped (acknowledged or kept in the outbox).
    done: u64,
    /// A request is shipping.
    shipping: bool,
}

thread_local! {
    static QUEUE: RefCell<Queue> = RefCell::new(Queue::default());
}

/// Ships a request's records with whatever else is queued: returns once they are acknowledged
/// by the origin or kept in the outbox.
pub(crate) async fn ship(kv: Option<&KvStore>, b: &Bindings, records: Vec<SyncRecord>) {
    if records.is_empty() {
        return;
    }
    let mine = QUEUE.with_borrow_mut(|q| {
        let n = q.next;
        q.next += 1;
        q.queued.push((n, records));
        n
    });
    loop {
        let (shipped, ships) = QUEUE.with_borrow_mut(|q| {
            let shipped = q.done > mine;
            let ships = !shipped && !std::mem::replace(&mut q.shipping, true);
            (shipped, ships)
        });
        if shipped {
            return;
        }
        if ships {
            ship_queued(kv, b).await;
        } else {
            worker::Delay::from(std::time::Duration::from_millis(POLL_MS)).await;
        }
    }
}

/// The shipper's work: sends what is queued as batches while any is left, for at most
/// [`SHIP_FOR_MS`], then leaves the rest to the requests waiting for it.
async fn ship_queued(kv: Option<&KvStore>, b: &Bindings) {
    let started = crate::edge::now();
    loop {
        let now = crate::edge::now();
        let next = QUEUE.with_borrow_mut(|q| {
            if q.queued.is_empty() || now.millis() - started.millis() >= SHIP_FOR_MS {
                q.shipping = false;
                return None;
            }
            let mut records = Vec::new();
            let mut taken = 0;
            for (_, r) in &mut q.queued {
                if taken > 0 && records.len() + r.len() > BATCH_RECORDS {
                    break;
                }
                records.append(r);
                taken += 1;
            }
            let through = q.queued.drain(..taken).next_back().map_or(q.done, |(n, _)| n + 1);
            Some((records, through))
        });
        let Some((records, through)) = next else { return };
        let batch = SyncBatch::new(&b.edge_name, now, crate::edge::entropy(), records);
        send(kv, b, &batch, now).await;
        QUEUE.with_borrow_mut(|q| q.done = q.done.max(through));
    }
}

/// Whether a request should drain the outbox after responding.
pub(crate) fn may_hold() -> bool {
    MAY_HOLD.load(std::sync::atomic::Ordering::Relaxed)
}
/// How long an unacknowledged batch is kept (a week: longer than any origin outage we plan for).
const KEEP_SECS: u64 = 7 * 86_400;
/// Most batches one drain sends (a request's `waitUntil` budget is limited).
const DRAIN_MAX: u64 = 25;
/// Longest wait between attempts.
const MAX_BACKOFF_MS: i64 = 300_000;

/// What the outbox keeps beside a batch.
#[derive(Debug, Serialize, Deserialize)]
struct Attempts {
    attempts: u32,
    next_try: i64,
}

fn backoff_ms(attempts: u32) -> i64 {
    1000_i64.saturating_mul(1 << attempts.min(20)).min(MAX_BACKOFF_MS)
}

/// Posts a batch to `/v1/sync`; `Ok` only when the origin acknowledged it (after its commit).
async fn post(b: &Bindings, body: &[u8]) -> Result<(), String> {
    let response =
        origin::call(b, Method::Post, "/v1/sync", Some(body), &[("content-type", "application/msgpack")]).await?;
    if response.status_code() == 200 { Ok(()) } else { Err(origin::unexpected(response).await) }
}

async fn keep(kv: &KvStore, key: &str, body: &[u8], attempts: Attempts) -> Result<(), String> {
    kv.put_bytes(key, body)
        .map_err(|e| e.to_string())?
        .metadata(attempts)
        .map_err(|e| e.to_string())?
        .expiration_ttl(KEEP_SECS)
        .execute()
        .await
        .map_err(|e| e.to_string())
}

/// Sends a batch now; if the origin does not acknowledge it, keeps it in the outbox.
async fn send(kv: Option<&KvStore>, b: &Bindings, batch: &SyncBatch, now: Timestamp) {
    let body = match batch.encode() {
        Ok(body) => body,
        Err(e) => {
            worker::console_error!("sync batch {} could not be encoded: {e}", batch.batch_id);
            return;
        }
    };
    let Err(e) = post(b, &body).await else { return };
    let Some(kv) = kv else {
        worker::console_error!(
            "sync batch {} ({} events) lost: {e}; no EDGE_STATE binding to keep it",
            batch.batch_id,
            batch.event_count()
        );
        return;
    };
    MAY_HOLD.store(true, std::sync::atomic::Ordering::Relaxed);
    let key = format!("{PREFIX}{:013}-{}", now.millis().max(0), batch.batch_id);
    match keep(kv, &key, &body, Attempts { attempts: 1, next_try: now.millis() + backoff_ms(0) }).await {
        Ok(()) => worker::console_log!("sync batch {} kept in the outbox: {e}", batch.batch_id),
        Err(k) => worker::console_error!("sync batch {} lost: {e}; keeping it failed: {k}", batch.batch_id),
    }
}

/// Sends the outbox's due batches (oldest first), removing the acknowledged ones.
pub(crate) async fn drain(kv: &KvStore, b: &Bindings, now: Timestamp) {
    let listed = match kv.list().prefix(PREFIX.to_owned()).limit(DRAIN_MAX).execute().await {
        Ok(l) => l,
        Err(e) => {
            worker::console_error!("outbox not listed: {e}");
            return;
        }
    };
    let mut left = !listed.list_complete;
    for key in listed.keys {
        left = true;
        let attempts: Attempts =
            key.metadata.and_then(|m| serde_json::from_value(m).ok()).unwrap_or(Attempts { attempts: 0, next_try: 0 });
        if attempts.next_try > now.millis() {
            continue;
        }
        let Ok(Some(body)) = kv.get(&key.name).bytes().await else { continue };
        match post(b, &body).await {
            Ok(()) => {
                if let Err(e) = kv.delete(&key.name).await {
                    worker::console_error!("outbox entry {} sent but not removed: {e}", key.name);
                }
            }
            Err(e) => {
                let next = Attempts {
                    attempts: attempts.attempts + 1,
                    next_try: now.millis() + backoff_ms(attempts.attempts),
                };
                worker::console_log!(
                    "outbox entry {} still not acknowledged (attempt {}): {e}",
                    key.name,
                    next.attempts
                );
                if let Err(k) = keep(kv, &key.name, &body, next).await {
                    worker::console_error!("outbox entry {} not updated: {k}", key.name);
                }
            }
        }
    }
    // Entries were found (sent now or not yet due): look again next time; none: this isolate is
    // done until a send fails.
    MAY_HOLD.store(left, std::sync::atomic::Ordering::Relaxed);
}
