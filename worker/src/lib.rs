//! # edgecdp-worker
//!
//! The edgecdp edge as a Cloudflare Worker: glue around `edgecdp_core::edge`, nothing else.
//! Per request it reads the body, calls the core with the clock and fresh entropy, answers, and
//! ships the accepted records to the origin (`POST /v1/sync`, signed) with `waitUntil`, so the
//! visitor never waits for the origin; batches the origin does not acknowledge wait in a KV
//! outbox and are retried with backoff (`outbox`).
//!
//! Route groups: `GET /healthz` here; in proxy mode every other `GET` is a storefront page
//! (`pages`); every other request goes to the core, which routes the edge
//! protocol itself (so the native host and the worker route identically, and unknown paths get
//! the same Adobe-format 404 on both) — which is why there is no `worker::Router` table here.
//!
//! Bindings (`wrangler.toml` / `.dev.vars` / `wrangler secret put`):
//!
//! | binding | kind | what |
//! |---|---|---|
//! | `EDGECDP_ORIGIN_URL` | var | the origin (`https://origin.example`) |
//! | `EDGECDP_EDGE_NAME` | var | this edge's name in batches (default `worker`) |
//! | `EDGECDP_SYNC_SECRET` | secret | signs `/v1/sync` and `/v1/snapshot` calls |
//! | `EDGECDP_COOKIE_KEYS` | secret | identity cookie keys, comma-separated, first signs |
//! | `EDGECDP_SNAPSHOT_RECHECK_SECS` | var | how long a snapshot serves before the origin is asked again (default 30) |
//! | `EDGECDP_UPSTREAM_URL` | var | proxy mode: the storefront; `GET`s are fetched from it and HTML pages personalized (`pages`) |
//! | `EDGECDP_PAGES_DATASTREAM` | var | proxy mode: the datastream page views go through (default: the snapshot's first) |
//! | `EDGE_STATE` | KV namespace | person views, cached per identity |
//!
//! The definitions snapshot is fetched from the origin and kept per isolate, rechecked every 30
//! seconds (`EDGECDP_SNAPSHOT_RECHECK_SECS`) with `If-None-Match` by one request while the
//! others serve the cached one; a failed refresh keeps serving the last good snapshot.
//! Deletions reach the edge this way, as tombstones. Calls to the origin time out: 2 s for the
//! snapshot and views a request waits for, 10 s for sync batches (then kept in the outbox), so
//! an origin that hangs does not hang the edge.

#![cfg(target_arch = "wasm32")]

mod bindings;
mod edge;
mod origin;
mod outbox;
mod pages;
mod snapshot;
mod state;

use worker::{Context, Env, Request, Response, Result, event};

/// The cron trigger: drains the sync outbox even when no request comes.
#[event(scheduled)]
pub async fn scheduled(_event: worker::ScheduledEvent, env: Env, _ctx: worker::ScheduleContext) {
    edge::drain_outbox(&env).await;
}

/// The Worker's fetch handler.
#[event(fetch)]
pub async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    if req.path() == "/healthz" {
        return edge::health(&env).await;
    }
    // Proxy mode: pages come from the storefront, personalized on their way.
    if req.method() == worker::Method::Get
        && let Ok(upstream) = env.var(pages::UPSTREAM).map(|v| v.to_string())
        && !upstream.is_empty()
    {
        return pages::handle(req, &env, &ctx, &upstream).await;
    }
    edge::handle(req, &env, &ctx).await
}
