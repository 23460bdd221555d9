//! The edge route group: the core's pipeline in, the Worker's response out, records shipped.

use edgecdp_core::edge::{self, EdgeEnv, EdgeLog, Entropy, HttpRequest, HttpResponse, Step, Views};
use edgecdp_core::identity::CookieKeys;
use edgecdp_core::sync::SyncBatch;
use edgecdp_core::time::Timestamp;
use wasm_bindgen::prelude::*;
use worker::{Context, Env, Headers, Request, Response, Result};

use crate::bindings::Bindings;
use crate::{outbox, snapshot, state};

#[wasm_bindgen]
extern "C" {
    /// The Web Crypto CSPRNG (`crypto.getRandomValues`) of the Workers runtime.
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(buf: &mut [u8]);
}

fn entropy<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    get_random_values(&mut buf);
    buf
}

pub(crate) fn now() -> Timestamp {
    #[allow(clippy::cast_possible_truncation)]
    Timestamp(js_sys::Date::now() as i64)
}

/// `GET /healthz`.
pub(crate) async fn health(env: &Env) -> Result<Response> {
    let body = match Bindings::read(env) {
        Ok(b) => match snapshot::current(&b, now()).await {
            Ok(s) => {
                serde_json::json!({ "status": "ok", "edge": b.edge_name, "snapshotVersion": s.version })
            }
            Err(e) => serde_json::json!({ "status": "degraded", "edge": b.edge_name, "error": e }),
        },
        Err(e) => serde_json::json!({ "status": "misconfigured", "error": e.to_string() }),
    };
    let status = if body["status"] == "ok" { 200 } else { 503 };
    Ok(Response::from_json(&body)?.with_status(status))
}

/// Any edge path.
pub(crate) async fn handle(mut req: Request, env: &Env, ctx: &Context) -> Result<Response> {
    let url = req.url()?;
    let query = url.query().unwrap_or("").to_owned();
    let origin = req.headers().get("origin")?;
    let body = req.bytes().await.unwrap_or_default();
    let cookie = req.headers().get("cookie")?;
    let method = req.method().to_string();
    let path = req.path();
    let request = HttpRequest {
        method: &method,
        path: &path,
        query: &query,
        origin: origin.as_deref(),
        cookie: cookie.as_deref(),
        body: &body,
    };
    to_worker(run(&request, env, ctx).await)
}

/// Runs one request through the core's pipeline: the snapshot and the visitor's views from
/// this isolate (else KV, else the origin), views held in the isolate and written to KV before
/// answering (after, in `waitUntil`, when KV's one write a second for a key is used up), and
/// the records shipped to the origin after (`waitUntil`).
pub(crate) async fn run(request: &HttpRequest<'_>, env: &Env, ctx: &Context) -> HttpResponse {
    let (origin, query, path) = (request.origin, request.query, request.path);
    let b = match Bindings::read(env) {
        Ok(b) => b,
        Err(e) => {
            worker::console_error!("{e}");
            return edge::unavailable(origin, query, 5);
        }
    };
    let at = now();
    let snapshot = match snapshot::current(&b, at).await {
        Ok(s) => s,
        Err(e) => {
            worker::console_error!("no definitions snapshot: {e}");
            return edge::unavailable(origin, query, 2);
        }
    };
    // The edge's clock: the wall clock plus a demo's fast-forward (0 outside demos). The outbox
    // keeps the wall clock.
    let edge_at = at.plus_millis(snapshot.clock_offset_ms);
    let mut keys = b.cookie_keys.clone().into_iter();
    let keys = CookieKeys::new(keys.next().unwrap_or_default(), keys.collect());
    let env_core = EdgeEnv { snapshot: &snapshot, cookie_keys: &keys };
    let kv = env.kv("EDGE_STATE");
    let mut visitor_guard = None;
    let mut to_write = Vec::new();
    let outcome = match edge::begin(&env_core, request, edge_at, &Entropy(entropy())) {
        Step::Done(outcome) => outcome,
        Step::Lookup(pending) => {
            // One request of a visitor at a time in this isolate: its views are read, decided
            // and held here before the next one reads them (a page view and a click at once).
            visitor_guard = Some(lock_visitor(pending.ecid().to_string()).await);
            let views = match &kv {
                Ok(kv) => {
                    let (views, from_origin) = state::load(kv, &b, pending.keys(), &snapshot.identity.namespaces).await;
                    to_write = from_origin;
                    views
                }
                Err(e) => {
                    worker::console_error!("the KV binding EDGE_STATE is missing ({e}); serving without person views");
                    Views::new()
                }
            };
            edge::finish(&env_core, pending, &views)
        }
    };
    for entry in &outcome.log {
        if let EdgeLog::Rejected { code, status, detail } = entry {
            worker::console_log!("edge refused {path}: {status} {code} {detail}");
        }
    }
    // The views are held in this isolate before the next request of the visitor reads them (an
    // add to cart, then a login a moment later: the second must find what the first decided,
    // segment state included); the visitor's requests take turns here (the lock above). KV gets
    // them before the answer, for the other isolates, unless KV's one write a second for the key
    // is used up: then after the answer, when the second is over. (Writing every view after the
    // answer made workerd drop keep-alive connections now and then under load in bench-edge; not
    // understood, so not done.)
    let mut later = Vec::new();
    if let Ok(kv) = &kv {
        for view in &outcome.views {
            to_write.extend(state::hold(view));
        }
        for key in to_write {
            if state::due(&key) {
                state::write(kv, &key).await;
            } else {
                later.push(key);
            }
        }
    }
    drop(visitor_guard);
    let kv = kv.ok();
    let records = outcome.records;
    ctx.wait_until(async move {
        let writes = async {
            if let Some(kv) = kv.as_ref() {
                for key in &later {
                    state::write(kv, key).await;
                }
            }
        };
        let shipped = async {
            if !records.is_empty() {
                let batch = SyncBatch::new(&b.edge_name, at, entropy(), records);
                outbox::send(kv.as_ref(), &b, &batch, at).await;
            }
        };
        futures_util::future::join(writes, shipped).await;
        if let Some(kv) = kv.as_ref().filter(|_| outbox::may_hold()) {
            outbox::drain(kv, &b, now()).await;
        }
    });
    outcome.response
}

fn to_worker(r: HttpResponse) -> Result<Response> {
    let headers = Headers::new();
    for (k, v) in &r.headers {
        headers.append(k, v)?;
    }
    let response = if r.body.is_empty() { Response::empty()? } else { Response::from_bytes(r.body)? };
    Ok(response.with_status(r.status).with_headers(headers))
}

/// Sends the outbox's due batches (the cron trigger's work).
pub(crate) async fn drain_outbox(env: &Env) {
    match (Bindings::read(env), env.kv("EDGE_STATE")) {
        (Ok(b), Ok(kv)) => outbox::drain(&kv, &b, now()).await,
        (Err(e), _) => worker::console_error!("{e}"),
        (_, Err(e)) => worker::console_error!("the KV binding EDGE_STATE is missing: {e}"),
    }
}

thread_local! {
    /// Visitors (ECIDs) with a request between reading and writing their views.
    static BUSY: std::cell::RefCell<std::collections::BTreeSet<String>> = const { std::cell::RefCell::new(std::collections::BTreeSet::new()) };
}

/// Held while a request reads, decides and writes a visitor's views.
struct VisitorGuard(Option<String>);

impl Drop for VisitorGuard {
    fn drop(&mut self) {
        if let Some(key) = self.0.take() {
            BUSY.with_borrow_mut(|b| b.remove(&key));
        }
    }
}

/// Waits until no other request of this visitor is between reading and writing its views (in
/// this isolate), for at most two seconds: a stuck request never blocks the visitor for good.
async fn lock_visitor(ecid: String) -> VisitorGuard {
    for _ in 0..1000 {
        if BUSY.with_borrow_mut(|b| b.insert(ecid.clone())) {
            return VisitorGuard(Some(ecid));
        }
        worker::Delay::from(std::time::Duration::from_millis(2)).await;
    }
    VisitorGuard(None)
}
