//! Edge profile fragments: cached in KV (`EDGE_STATE`), fetched from the origin on a miss.
//!
//! Keys are `view/{ns}/{id}`, values `EdgeFragment::encode`d (a version byte, then msgpack),
//! kept a day. A browser's cookie id
//! that nobody knows is remembered as unknown for a minute (`none/{ns}/{id}`), so an anonymous
//! visitor's page views do not each ask the origin.

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

/// Loads the views of `keys`: KV, else the origin (cookies only when not recently unknown).
pub(crate) async fn load(kv: &KvStore, b: &Bindings, keys: &[IdentityKey], namespaces: &Namespaces) -> Views {
    let mut views = Views::new();
    for key in keys {
        if let Some(view) = cached(kv, key).await {
            views.insert(key.clone(), view);
            continue;
        }
        let person = namespaces.kind(&key.ns).is_person();
        if !person && matches!(kv.get(&kv_key("none", key)).text().await, Ok(Some(_))) {
            continue;
        }
        match fetch(b, key).await {
            Ok(Some(view)) => {
                store(kv, key, &view).await;
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
    views
}

/// The view cached under `key`, if any.
pub(crate) async fn cached(kv: &KvStore, key: &IdentityKey) -> Option<EdgeFragment> {
    let bytes = kv.get(&kv_key("view", key)).bytes().await.ok().flatten()?;
    EdgeFragment::decode(&bytes).ok()
}

/// Caches a view under one identity.
pub(crate) async fn store(kv: &KvStore, key: &IdentityKey, view: &EdgeFragment) {
    let Ok(bytes) = view.encode() else {
        return;
    };
    match kv.put_bytes(&kv_key("view", key), &bytes) {
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
    let mut response = origin::call(b, Method::Get, &path, None, &[]).await?;
    match response.status_code() {
        200 => {
            let bytes = response.bytes().await.map_err(|e| e.to_string())?;
            EdgeFragment::decode(&bytes).map(Some).map_err(|e| e.to_string())
        }
        404 => Ok(None),
        _ => Err(origin::unexpected(response).await),
    }
}
