//! Proxy mode: with `EDGECDP_UPSTREAM_URL` set, the worker stands in front of the storefront.
//! A `GET` is fetched from the upstream; an HTML page is then a page view through the edge (the
//! visitor's cookies, their profile and segments, as `POST /ee/v1/interact` would be), the
//! page-scope offers' DOM actions are applied to the HTML before it reaches the browser (marked,
//! so sdk-js never applies them twice), the edge's answer is inlined in `<head>` (sdk-js does
//! not ask again), and the identity cookies are set by the response itself. Anything else passes
//! through unchanged; when personalizing fails, the page is served as the upstream sent it.

use edgecdp_core::edge::HttpRequest;
use edgecdp_core::edge::page::{page_view, set_cookies};
use worker::{Context, Env, Fetch, Headers, Request, Response, Result, Url};

use crate::edge;

/// The binding naming the storefront.
pub(crate) const UPSTREAM: &str = "EDGECDP_UPSTREAM_URL";

/// A `GET` in proxy mode.
pub(crate) async fn handle(req: Request, env: &Env, ctx: &Context, upstream: &str) -> Result<Response> {
    let url = req.url()?;
    let path_and_query = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    let target = Url::parse(&format!("{}{path_and_query}", upstream.trim_end_matches('/')))?;
    let mut answer = Fetch::Url(target).send().await?;
    let is_html =
        answer.headers().get("content-type")?.is_some_and(|t| t.to_ascii_lowercase().starts_with("text/html"));
    if answer.status_code() != 200 || !is_html {
        return Ok(answer);
    }
    let html = answer.bytes().await?;
    let origin = url.origin().ascii_serialization();
    let datastream = match env.var("EDGECDP_PAGES_DATASTREAM") {
        Ok(v) => v.to_string(),
        Err(_) => String::new(),
    };
    let datastream = if datastream.is_empty() { first_datastream(env).await } else { datastream };
    let view = page_view(url.as_str(), req.headers().get("referer")?.as_deref(), &datastream);
    let cookie = req.headers().get("cookie")?;
    let request = HttpRequest {
        method: "POST",
        path: "/ee/v1/interact",
        query: &view.query,
        origin: Some(&origin),
        cookie: cookie.as_deref(),
        body: &view.body,
    };
    let decided = edge::run(&request, env, ctx).await;
    let personalized = edgecdp_rewrite::page::personalize(&html, decided.status, &decided.body)
        .inspect_err(|e| worker::console_error!("page {} served without personalization: {e}", url.path()))
        .ok();
    let headers = Headers::new();
    headers.set("content-type", "text/html; charset=utf-8")?;
    // The page is this visitor's: no shared cache may keep it.
    headers.set("cache-control", "private, no-store")?;
    headers.set("vary", "Cookie")?;
    let body = match personalized {
        Some(out) => {
            for c in set_cookies(&decided.body) {
                headers.append("set-cookie", &c)?;
            }
            out
        }
        None => html,
    };
    Ok(Response::from_bytes(body)?.with_headers(headers))
}

/// The snapshot's first datastream (by id), when `EDGECDP_PAGES_DATASTREAM` names none.
async fn first_datastream(env: &Env) -> String {
    let Ok(b) = crate::bindings::Bindings::read(env) else { return String::new() };
    match crate::snapshot::current(&b, edge::now()).await {
        Ok(s) => s.datastreams.keys().next().cloned().unwrap_or_default(),
        Err(_) => String::new(),
    }
}
