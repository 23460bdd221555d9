//! HTTP details of the edge: the query string, CORS, and response bodies.

use super::HttpResponse;
use crate::codec::percent_decode;

/// `configId` and `requestId` from the query string.
#[derive(Debug, Default, Clone)]
pub(super) struct Query {
    pub(super) config_id: Option<String>,
    pub(super) request_id: Option<String>,
}

impl Query {
    pub(super) fn parse(raw: &str) -> Query {
        let mut q = Query::default();
        for pair in raw.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = percent_decode(&v.replace('+', " ")).filter(|v| !v.is_empty());
            match k {
                "configId" => q.config_id = v,
                "requestId" => q.request_id = v.map(|s| s.chars().take(128).collect()),
                _ => {}
            }
        }
        q
    }
}

/// The CORS headers a response gets.
///
/// Successful responses carry credentials only to origins the datastream allows. Error bodies
/// hold nothing about the visitor, so they are readable from any origin: a developer sees why a
/// call was refused instead of an opaque CORS failure.
#[derive(Debug, Clone)]
pub(super) struct Cors {
    origin: Option<String>,
    pub(super) allowed: bool,
    pub(super) preflight: bool,
}

impl Cors {
    pub(super) fn for_errors(origin: Option<&str>) -> Cors {
        Cors { origin: origin.map(str::to_owned), allowed: false, preflight: false }
    }

    pub(super) fn apply(&self, mut r: HttpResponse) -> HttpResponse {
        r.headers.push(("vary", "Origin".into()));
        let Some(origin) = &self.origin else { return r };
        if self.allowed || r.status >= 400 {
            r.headers.push(("access-control-allow-origin", origin.clone()));
            r.headers.push(("access-control-allow-credentials", "true".into()));
            r.headers.push(("access-control-expose-headers", "Retry-After, x-adobe-edge".into()));
        }
        if self.preflight && self.allowed {
            r.headers.push(("access-control-allow-methods", "POST, OPTIONS".into()));
            r.headers.push(("access-control-allow-headers", "content-type".into()));
            r.headers.push(("access-control-max-age", "86400".into()));
        }
        r
    }
}

pub(super) fn empty(status: u16) -> HttpResponse {
    HttpResponse { status, headers: Vec::new(), body: Vec::new() }
}

pub(super) fn json_response<T: serde::Serialize>(status: u16, body: &T) -> HttpResponse {
    // Serialising our own response types cannot fail (no maps with non-string keys, no
    // non-finite floats reach them); an empty body would still be a valid 2xx for the SDKs.
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    HttpResponse { status, headers: vec![("content-type", "application/json;charset=utf-8".into())], body: bytes }
}
