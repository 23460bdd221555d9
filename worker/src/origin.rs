//! Calls to the origin, signed with the shared secret (`edgecdp_core::sync::sign`).

use edgecdp_core::sync::{SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};
use worker::{Fetch, Headers, Method, Request, RequestInit, Response};

use crate::bindings::Bindings;

/// Sends `method path` (the path with its query, which the signature covers) to the origin with
/// the signature headers and `extra` headers; errors are sentences naming the URL.
pub(crate) async fn call(
    b: &Bindings,
    method: Method,
    path: &str,
    body: Option<&[u8]>,
    extra: &[(&str, &str)],
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
    Fetch::Request(request).send().await.map_err(|e| format!("{url} failed: {e}"))
}

/// A response's status and body text, for an error message.
pub(crate) async fn unexpected(mut response: Response) -> String {
    format!("origin answered {}: {}", response.status_code(), response.text().await.unwrap_or_default())
}
