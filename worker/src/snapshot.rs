//! The definitions snapshot, fetched from the origin and cached per isolate.

use std::cell::RefCell;
use std::rc::Rc;

use edgecdp_core::snapshot::Snapshot;
use edgecdp_core::time::Timestamp;
use worker::Method;

use crate::bindings::Bindings;
use crate::origin;

struct Cached {
    snapshot: Rc<Snapshot>,
    etag: Option<String>,
    checked_at: Timestamp,
}

thread_local! {
    static CACHE: RefCell<Option<Cached>> = const { RefCell::new(None) };
}

/// The snapshot to serve with: the cached one while fresh, else the origin's (a failed refresh
/// keeps the last good one). One request refreshes a stale snapshot; the others serve the cached
/// one meanwhile, and after a failed refresh until the next recheck, so an origin that hangs
/// costs one request its timeout per recheck, not every request.
///
/// # Errors
/// A sentence when there is no snapshot at all (first request and the origin unreachable).
pub(crate) async fn current(b: &Bindings, now: Timestamp) -> Result<Rc<Snapshot>, String> {
    let (cached, etag) = CACHE.with_borrow_mut(|c| match c {
        Some(c) if now.millis() - c.checked_at.millis() < b.snapshot_recheck_ms => (Some(Rc::clone(&c.snapshot)), None),
        Some(c) => {
            c.checked_at = now;
            (None, Some(c.etag.clone()))
        }
        None => (None, None),
    });
    if let Some(s) = cached {
        return Ok(s);
    }
    match fetch(b, etag.flatten().as_deref()).await {
        Ok(Some((snapshot, etag))) => {
            let snapshot = Rc::new(snapshot);
            CACHE.with_borrow_mut(|c| {
                // Never replace a snapshot with an older one.
                let newer = c.as_ref().is_none_or(|old| snapshot.version >= old.snapshot.version);
                if newer {
                    *c = Some(Cached { snapshot: Rc::clone(&snapshot), etag, checked_at: now });
                }
            });
            Ok(CACHE.with_borrow(|c| c.as_ref().map(|c| Rc::clone(&c.snapshot))).unwrap_or(snapshot))
        }
        Ok(None) => CACHE.with_borrow_mut(|c| match c {
            Some(c) => {
                c.checked_at = now;
                Ok(Rc::clone(&c.snapshot))
            }
            None => Err("the origin answered 304 to a first snapshot request".to_owned()),
        }),
        Err(e) => CACHE.with_borrow(|c| match c {
            Some(c) => {
                worker::console_error!("snapshot refresh failed, serving version {}: {e}", c.snapshot.version);
                Ok(Rc::clone(&c.snapshot))
            }
            None => Err(e),
        }),
    }
}

/// The snapshot and its ETag, or `None` when unchanged (304).
async fn fetch(b: &Bindings, etag: Option<&str>) -> Result<Option<(Snapshot, Option<String>)>, String> {
    let extra: Vec<(&str, &str)> = etag.map(|e| ("if-none-match", e)).into_iter().collect();
    let mut response = origin::call(b, Method::Get, "/v1/snapshot", None, &extra, origin::REQUEST_TIMEOUT).await?;
    match response.status_code() {
        200 => {
            let etag = response.headers().get("etag").ok().flatten();
            let bytes = response.bytes().await.map_err(|e| e.to_string())?;
            let snapshot = Snapshot::decode(&bytes).map_err(|e| e.to_string())?;
            Ok(Some((snapshot, etag)))
        }
        304 => Ok(None),
        _ => Err(origin::unexpected(response).await),
    }
}
