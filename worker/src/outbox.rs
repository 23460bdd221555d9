//! The outbox: sync batches the origin has not acknowledged, kept in KV (`EDGE_STATE`, keys
//! `outbox/{created}-{batch id}`) and retried with exponential backoff (1 s, 2 s, 4 s, ... up to
//! 5 minutes) until the origin answers 200. The origin applies a batch id once, so a batch sent
//! twice (a retry racing an acknowledgement) is still stored once.
//!
//! After responding, an edge request drains due batches (a few at a time) when this isolate may
//! have left some (it started, or a send failed, or the last drain did not empty the outbox),
//! so a healthy edge does not list KV on every request; the cron trigger (`scheduled`) drains
//! whatever other isolates left, so batches go out even when traffic stops.

use edgecdp_core::sync::SyncBatch;
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
    let response = origin::call(
        b,
        Method::Post,
        "/v1/sync",
        Some(body),
        &[("content-type", "application/msgpack")],
        origin::SYNC_TIMEOUT,
    )
    .await?;
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
pub(crate) async fn send(kv: Option<&KvStore>, b: &Bindings, batch: &SyncBatch, now: Timestamp) {
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
