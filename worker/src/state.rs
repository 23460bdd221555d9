//! Edge profile fragments: held in this isolate's memory, cached in KV (`EDGE_STATE`), fetched
//! from the origin on a miss.
//!
//! KV keys are `view/{ns}/{id}`, values `EdgeFragment::encode`d (a version byte, then msgpack),
//! kept a day. A browser's cookie id that nobody knows is remembered as unknown for a minute
//! (`none/{ns}/{id}`), so an anonymous visitor's page views do not each ask the origin.
//!
//! The isolate keeps the views it read or wrote lately (least recently used first out, at most
//! [`CACHE_BYTES`] of encoded views, each for [`CACHE_SECS`]), so a visitor's next request here
//! reads no KV. KV takes one write per key per second: a view is written before the answer when
//! KV takes it, else once more when the second is over, with whatever is newest then, by the
//! request that found the key busy (inside its `waitUntil`). Several isolates serving one visitor at
//! once could each hold an older view for up to [`CACHE_SECS`]; KV itself caches reads at a
//! location for a minute, so a read from it would not be fresher.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use edgecdp_core::codec::hex;
use edgecdp_core::edge::Views;
use edgecdp_core::identity::resolve::EdgeFragment;
use edgecdp_core::identity::{IdentityKey, Namespaces};
use worker::{Method, kv::KvStore};

use crate::bindings::Bindings;
use crate::origin;

/// How long a view is cached (a day; deletions reach edges sooner through snapshot tombstones).
const VIEW_TTL_SECS: u64 = 86_400;
/// How long "the origin does not know this cookie" is remembered (KV's minimum TTL).
const UNKNOWN_TTL_SECS: u64 = 60;
/// How many bytes of (encoded) views an isolate keeps in memory (isolates have 128 MB).
const CACHE_BYTES: usize = 16 << 20;
/// How long a view held in memory is used before KV is read again.
const CACHE_SECS: i64 = 30;
/// KV's limit: one write per key per second.
const WRITE_INTERVAL_MS: i64 = 1000;
/// How many write records make a view write sweep out the idle ones.
const WRITES_SWEEP_AT: usize = 4096;

/// A view held in memory.
struct Held {
    view: EdgeFragment,
    bytes: usize,
    since_ms: i64,
    used: u64,
}

/// The views this isolate holds, by KV key, and their use order (for eviction).
#[derive(Default)]
struct Cache {
    held: HashMap<String, Held>,
    order: BTreeMap<u64, String>,
    bytes: usize,
    tick: u64,
}

impl Cache {
    fn get(&mut self, kv_key: &str, now_ms: i64) -> Option<EdgeFragment> {
        let fresh = self.held.get(kv_key).is_some_and(|h| now_ms - h.since_ms < CACHE_SECS * 1000);
        if !fresh {
            self.remove(kv_key);
            return None;
        }
        self.tick += 1;
        let tick = self.tick;
        let held = self.held.get_mut(kv_key)?;
        self.order.remove(&held.used);
        held.used = tick;
        self.order.insert(tick, kv_key.to_owned());
        Some(held.view.clone())
    }

    fn put(&mut self, kv_key: String, view: EdgeFragment, bytes: usize, now_ms: i64) {
        self.remove(&kv_key);
        if bytes > CACHE_BYTES / 4 {
            return;
        }
        self.tick += 1;
        self.order.insert(self.tick, kv_key.clone());
        self.bytes += bytes;
        self.held.insert(kv_key, Held { view, bytes, since_ms: now_ms, used: self.tick });
        while self.bytes > CACHE_BYTES {
            let Some((_, oldest)) = self.order.pop_first() else { break };
            if let Some(h) = self.held.remove(&oldest) {
                self.bytes -= h.bytes;
            }
        }
    }

    fn remove(&mut self, kv_key: &str) {
        if let Some(h) = self.held.remove(kv_key) {
            self.order.remove(&h.used);
            self.bytes -= h.bytes;
        }
    }
}

/// A key's KV writes: when the last one was made, and the newest view not written yet.
#[derive(Default)]
struct Writes {
    last_ms: i64,
    newest: Option<Vec<u8>>,
    writing: bool,
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache::default());
    static WRITES: RefCell<HashMap<String, Writes>> = RefCell::new(HashMap::new());
}

/// KV keys must be at most 512 bytes and identity values are up to 1,024 characters: long
/// keys are replaced by a digest.
fn kv_key(prefix: &str, key: &IdentityKey) -> String {
    let raw = format!("{prefix}/{}/{}", key.ns, key.id);
    if raw.len() <= 480 {
        raw
    } else {
        format!("{prefix}/{}/#{}", key.ns, hex(&edgecdp_core::mac::sha256(key.id.as_bytes())))
    }
}

/// Loads the views of `keys`: this isolate's, else KV's, else the origin's (cookies only when
/// not recently unknown). Also returns the identities to [`write`] to KV (views the origin
/// gave), for after the answer.
pub(crate) async fn load(
    kv: &KvStore,
    b: &Bindings,
    keys: &[IdentityKey],
    namespaces: &Namespaces,
) -> (Views, Vec<IdentityKey>) {
    let mut views = Views::new();
    let mut to_write = Vec::new();
    for key in keys {
        let now_ms = crate::edge::now().millis();
        if let Some(view) = CACHE.with_borrow_mut(|c| c.get(&kv_key("view", key), now_ms)) {
            views.insert(key.clone(), view);
            continue;
        }
        if let Some((view, bytes)) = cached(kv, key).await {
            CACHE.with_borrow_mut(|c| c.put(kv_key("view", key), view.clone(), bytes, crate::edge::now().millis()));
            views.insert(key.clone(), view);
            continue;
        }
        let person = namespaces.kind(&key.ns).is_person();
        if !person && matches!(kv.get(&kv_key("none", key)).text().await, Ok(Some(_))) {
            continue;
        }
        match fetch(b, key).await {
            Ok(Some(view)) => {
                to_write.extend(hold(&view));
                views.insert(key.clone(), view);
            }
            Ok(None) if !person => {
                if let Ok(put) = kv.put(&kv_key("none", key), "1") {
                    let _ = put.expiration_ttl(UNKNOWN_TTL_SECS).execute().await;
                }
            }
            Ok(None) => {}
            Err(e) => worker::console_error!("person view of {key} not fetched: {e}"),
        }
    }
    (views, to_write)
}

/// The view KV holds under `key`, if any, and its encoded size.
async fn cached(kv: &KvStore, key: &IdentityKey) -> Option<(EdgeFragment, usize)> {
    let bytes = kv.get(&kv_key("view", key)).bytes().await.ok().flatten()?;
    EdgeFragment::decode(&bytes).ok().map(|v| (v, bytes.len()))
}

/// Holds a view in this isolate under each identity it has, to be written to KV; returns the
/// identities the caller is to write ([`write`]): not those whose write is under way already
/// (it writes this view too).
pub(crate) fn hold(view: &EdgeFragment) -> Vec<IdentityKey> {
    let bytes = match view.encode() {
        Ok(bytes) => bytes,
        Err(e) => {
            worker::console_error!("person view of {} not encoded: {e}", view.person);
            return Vec::new();
        }
    };
    let now_ms = crate::edge::now().millis();
    let mut to_write = Vec::new();
    for key in &view.identities {
        let name = kv_key("view", key);
        CACHE.with_borrow_mut(|c| c.put(name.clone(), view.clone(), bytes.len(), now_ms));
        let idle = WRITES.with_borrow_mut(|w| {
            // Keys written over a second ago and idle need no record; the map stays small.
            if w.len() >= WRITES_SWEEP_AT {
                w.retain(|_, x| x.writing || now_ms - x.last_ms < WRITE_INTERVAL_MS);
            }
            let writes = w.entry(name).or_default();
            writes.newest = Some(bytes.clone());
            !std::mem::replace(&mut writes.writing, true)
        });
        if idle {
            to_write.push(key.clone());
        }
    }
    to_write
}

/// Whether KV takes a write of `key` now (none in the last second).
pub(crate) fn due(key: &IdentityKey) -> bool {
    let now_ms = crate::edge::now().millis();
    WRITES.with_borrow(|w| w.get(&kv_key("view", key)).is_none_or(|x| now_ms - x.last_ms >= WRITE_INTERVAL_MS))
}

/// Writes the held views of `key` to KV, one write a second, until none is left.
pub(crate) async fn write(kv: &KvStore, key: &IdentityKey) {
    let name = kv_key("view", key);
    loop {
        let now_ms = crate::edge::now().millis();
        let (wait_ms, bytes) = WRITES.with_borrow_mut(|w| {
            let Some(writes) = w.get_mut(&name) else { return (0, None) };
            let Some(bytes) = writes.newest.take() else {
                writes.writing = false;
                return (0, None);
            };
            let wait = (writes.last_ms + WRITE_INTERVAL_MS - now_ms).max(0);
            (wait, Some(bytes))
        });
        let Some(mut bytes) = bytes else { return };
        if wait_ms > 0 {
            #[allow(clippy::cast_sign_loss, reason = "wait_ms > 0")]
            worker::Delay::from(std::time::Duration::from_millis(wait_ms as u64)).await;
            // What came meanwhile is newer than what was taken.
            if let Some(newer) = WRITES.with_borrow_mut(|w| w.get_mut(&name).and_then(|x| x.newest.take())) {
                bytes = newer;
            }
        }
        put(kv, key, &name, &bytes).await;
        let at = crate::edge::now().millis();
        WRITES.with_borrow_mut(|w| w.entry(name.clone()).or_default().last_ms = at);
    }
}

async fn put(kv: &KvStore, key: &IdentityKey, name: &str, bytes: &[u8]) {
    match kv.put_bytes(name, bytes) {
        Ok(put) => {
            if let Err(e) = put.expiration_ttl(VIEW_TTL_SECS).execute().await {
                worker::console_error!("person view of {key} not cached: {e}");
            }
        }
        Err(e) => worker::console_error!("person view of {key} not cached: {e}"),
    }
    // A `none/` mark left for this identity needs no delete: views are read before marks, and
    // a mark lives a minute.
}

/// `GET {origin}/v1/fragments?ns=&id=`, signed.
async fn fetch(b: &Bindings, key: &IdentityKey) -> Result<Option<EdgeFragment>, String> {
    let path = format!(
        "/v1/fragments?ns={}&id={}",
        js_sys::encode_uri_component(&key.ns),
        js_sys::encode_uri_component(&key.id)
    );
    let mut response = origin::call(b, Method::Get, &path, None, &[], origin::REQUEST_TIMEOUT).await?;
    match response.status_code() {
        200 => {
            let bytes = response.bytes().await.map_err(|e| e.to_string())?;
            EdgeFragment::decode(&bytes).map(Some).map_err(|e| e.to_string())
        }
        404 => Ok(None),
        _ => Err(origin::unexpected(response).await),
    }
}
