//! Calls to the origin, signed with the shared secret (`edgecdp_core::sync::sign`).

use std::time::Duration;

use edgecdp_core::sync::{SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};
use futures_util::future::{Either, select};
use worker::{AbortController, Delay, Fetch, Headers, Method, Request, RequestInit, Response};

use crate::bindings::Bindings;

/// How long a call a visitor's request waits for (the snapshot, a view) may take: an origin
/// that hangs must not hang the edge (a failed snapshot refresh serves the last good one, a
/// view not fetched serves the visitor as unknown).
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a sync batch may take to be acknowledged (after the answer; one that is not waits
/// in the outbox).
pub(crate) const SYNC_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends `method path` (the path with its query, which the signature covers) to the origin with
/// the signature headers and `extra` headers, giving up (and aborting the fetch) after
/// `timeout`; errors are sentences naming the URL.
pub(crate) async fn call(
    b: &Bindings,
    method: Method,
    path: &str,
    body: Option<&[u8]>,
    extra: &[(&str, &str)],
    timeout: Duration,
) -> Result<Response, String> {
    let at = crate::edge::now();
    let url = format!("{}{path}", b.origin_url);
    let headers = Headers::new();
    let signature = sign(&b.sync_secret, method.as_ref(), path, at, body.unwrap_or_default());
    for (k, v) in [(TIMESTAMP_HEADER, at.millis().to_string().as_str()), (SIGNATURE_HEADER, signature.as_str())]
        .into_iter()
        .chain(extra.iter().copied())
    {
        headers.set(k, v).map_err(|e| format!("header {k}: {e}"))?;
    }
    let mut init = RequestInit::new();
    init.with_method(method).with_headers(headers);
    if let Some(bytes) = body {
        init.with_body(Some(js_sys::Uint8Array::from(bytes).into()));
    }
    let request = Request::new_with_init(&url, &init).map_err(|e| format!("bad origin URL {url}: {e}"))?;
    let controller = AbortController::default();
    let signal = controller.signal();
    let fetch = Fetch::Request(request);
    let sent = std::pin::pin!(fetch.send_with_signal(&signal));
    match select(sent, std::pin::pin!(Delay::from(timeout))).await {
        Either::Left((answer, _)) => answer.map_err(|e| format!("{url} failed: {e}")),
        Either::Right(_) => {
            controller.abort();
            Err(format!("{url} did not answer within {} s", timeout.as_secs()))
        }
    }
}

/// A response's status and body text, for an error message.
pub(crate) async fn unexpected(mut response: Response) -> String {
    format!("origin answered {}: {}", response.status_code(), response.text().await.unwrap_or_default())
}
