//! The edge pipeline: one sans-IO function from an HTTP request to an HTTP response plus the
//! changes to ship to the origin.
//!
//! ```text
//! route → method → datastream (configId) → origin check → body size → JSON → validate
//!       → identity (cookie / state entries / mint) → consent → collect events → respond
//! ```
//!
//! Hosts (the native edge in `edgecdp serve`, the Cloudflare Worker) only turn their requests
//! into an [`HttpRequest`], call [`handle`] with the clock and fresh entropy, write out the
//! [`HttpResponse`] and ship the [`Outcome::records`] to the origin. Every rule (CORS, error
//! bodies, which ECID to trust, what is collected) lives here, so both hosts behave the same,
//! byte for byte.

mod error;
mod route;

pub use error::{ERROR_TYPE_PREFIX, EdgeError};
pub use route::{Action, Route, route};

use serde::de::DeserializeSeed;

use crate::codec::{hex, percent_decode};
use crate::consent::{CONSENT_COOKIE_MAX_AGE, Consent};
use crate::identity::cookie::{IDENTITY_COOKIE_MAX_AGE, cookie_prefix, identity_cookie_name};
use crate::identity::{CookieKeys, Ecid, IdentityError};
use crate::mac::sha256;
use crate::protocol::{
    AcquireRequest, ConsentRequest, Handle, IdentityResult, InteractRequest, Meta, NamespaceRef,
    ResponseBody, StoreEntry, Warning,
};
use crate::snapshot::{Datastream, Snapshot};
use crate::sync::{CollectedEvent, CollectedEvents, ConsentChange, SyncRecord};
use crate::time::Timestamp;
use crate::value::{Value, ValueSeed};
use crate::xdm::{AuthenticatedState, IdentityItem};

/// What the edge needs besides the request: definitions and secrets.
#[derive(Debug, Clone, Copy)]
pub struct EdgeEnv<'a> {
    /// The definitions snapshot.
    pub snapshot: &'a Snapshot,
    /// Keys that sign and verify identity cookies.
    pub cookie_keys: &'a CookieKeys,
}

/// The parts of an HTTP request the edge reads.
#[derive(Debug, Clone, Copy)]
pub struct HttpRequest<'a> {
    /// `POST`, `OPTIONS`, ...
    pub method: &'a str,
    /// The path, without the query.
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: &'a str,
    /// The `Origin` header.
    pub origin: Option<&'a str>,
    /// The `Cookie` header.
    pub cookie: Option<&'a str>,
    /// The body. Hosts read at most `max_request_bytes + 1` bytes of it: anything longer is
    /// refused here as too large.
    pub body: &'a [u8],
}

/// The response to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers, in order.
    pub headers: Vec<(&'static str, String)>,
    /// Body bytes (empty for 204).
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header named `name` (lower-case).
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What happened, for the host's logs and metrics.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum EdgeLog {
    /// The request was refused.
    Rejected {
        /// The error's code.
        code: &'static str,
        /// Its status.
        status: u16,
        /// Its detail sentence.
        detail: String,
    },
    /// A new ECID was minted.
    EcidMinted {
        /// Why no existing one was used: `None` when the request carried none, else why the one
        /// it carried was refused.
        refused: Option<IdentityError>,
    },
    /// Events were accepted.
    Collected {
        /// The datastream.
        datastream: String,
        /// How many.
        events: usize,
    },
    /// Events were not collected because the visitor's consent is out.
    ConsentOut {
        /// How many were dropped.
        events: usize,
    },
    /// The visitor set consent.
    ConsentSet {
        /// The result.
        consent: Consent,
    },
}

/// The result of handling one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The response to send.
    pub response: HttpResponse,
    /// Changes to ship to the origin, in order.
    pub records: Vec<SyncRecord>,
    /// What happened.
    pub log: Vec<EdgeLog>,
}

/// Fresh randomness from the host for one request.
#[derive(Debug, Clone, Copy)]
pub struct Entropy(pub [u8; 32]);

impl Entropy {
    fn ecid(&self) -> [u8; 16] {
        let mut b = [0; 16];
        b.copy_from_slice(&self.0[..16]);
        b
    }

    fn token(&self) -> String {
        hex(&self.0[16..])
    }
}

/// Handles one request to an edge endpoint.
#[must_use]
pub fn handle(
    env: &EdgeEnv<'_>,
    req: &HttpRequest<'_>,
    now: Timestamp,
    entropy: &Entropy,
) -> Outcome {
    let query = Query::parse(req.query);
    let mut log = Vec::new();
    let mut cors = Cors::for_errors(req.origin);
    let (response, records) = match run(env, req, &query, now, entropy, &mut log, &mut cors) {
        Ok(handled) => handled,
        Err(err) => {
            log.push(EdgeLog::Rejected {
                code: err.code(),
                status: err.status(),
                detail: err.to_string(),
            });
            (
                error_response(&err, query.request_id.as_deref()),
                Vec::new(),
            )
        }
    };
    Outcome {
        response: cors.apply(response),
        records,
        log,
    }
}

type Handled = (HttpResponse, Vec<SyncRecord>);

fn run(
    env: &EdgeEnv<'_>,
    req: &HttpRequest<'_>,
    query: &Query,
    now: Timestamp,
    entropy: &Entropy,
    log: &mut Vec<EdgeLog>,
    cors: &mut Cors,
) -> Result<Handled, EdgeError> {
    let Some(route) = route(req.path) else {
        return Err(EdgeError::NotFound {
            path: req.path.chars().take(200).collect(),
        });
    };
    let method = req.method.to_ascii_uppercase();
    if method != "POST" && method != "OPTIONS" {
        return Err(EdgeError::MethodNotAllowed { method });
    }
    let ds_id = query
        .config_id
        .as_deref()
        .ok_or(EdgeError::MissingConfigId)?;
    let ds = env
        .snapshot
        .datastreams
        .get(ds_id)
        .ok_or_else(|| EdgeError::UnknownDatastream {
            id: ds_id.chars().take(128).collect(),
        })?;
    if let Some(origin) = req.origin {
        if !ds.allows_origin(origin) {
            return Err(EdgeError::OriginNotAllowed {
                origin: origin.chars().take(200).collect(),
                datastream: ds.id.clone(),
            });
        }
        cors.allowed = true;
    }
    if method == "OPTIONS" {
        cors.preflight = true;
        return Ok((empty(204), Vec::new()));
    }
    let limits = &env.snapshot.limits;
    if req.body.len() > limits.max_request_bytes {
        return Err(EdgeError::BodyTooLarge {
            limit: limits.max_request_bytes,
        });
    }
    let body = parse_body(
        req.body,
        limits.max_depth,
        route.action == Action::IdentityAcquire,
    )?;
    let ctx = RequestCtx {
        ds,
        keys: env.cookie_keys,
        cookies: req.cookie.unwrap_or(""),
        request_id: query.request_id.clone().unwrap_or_else(|| entropy.token()),
        now,
        entropy,
    };
    match route.action {
        Action::Interact | Action::Collect => {
            let request = InteractRequest::from_value(body, limits)
                .map_err(|errors| EdgeError::InvalidRequest { errors })?;
            Ok(ctx.interact(route.action, request, log))
        }
        Action::IdentityAcquire => {
            let request = AcquireRequest::from_value(body)
                .map_err(|errors| EdgeError::InvalidRequest { errors })?;
            let (ecid, _) = ctx.resolve_ecid(&request.meta, None, log);
            Ok((ctx.respond(&ecid, Vec::new(), Vec::new()), Vec::new()))
        }
        Action::SetConsent => {
            let request = ConsentRequest::from_value(body, limits)
                .map_err(|errors| EdgeError::InvalidRequest { errors })?;
            ctx.set_consent(request, log)
        }
    }
}

fn parse_body(body: &[u8], max_depth: usize, empty_ok: bool) -> Result<Value, EdgeError> {
    if empty_ok && body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = ValueSeed::new(max_depth)
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| EdgeError::MalformedJson {
            detail: e.to_string(),
        })?;
    Ok(value)
}

fn empty(status: u16) -> HttpResponse {
    HttpResponse {
        status,
        headers: Vec::new(),
        body: Vec::new(),
    }
}

fn json_response<T: serde::Serialize>(status: u16, body: &T) -> HttpResponse {
    // Serialising our own response types cannot fail (no maps with non-string keys, no
    // non-finite floats reach them); an empty body would still be a valid 2xx for the SDKs.
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    HttpResponse {
        status,
        headers: vec![("content-type", "application/json;charset=utf-8".into())],
        body: bytes,
    }
}

fn error_response(err: &EdgeError, request_id: Option<&str>) -> HttpResponse {
    let mut r = json_response(err.status(), &err.body(request_id));
    if let EdgeError::MethodNotAllowed { .. } = err {
        r.headers.push(("allow", "POST, OPTIONS".into()));
    }
    r
}

/// The response for a request the host cannot take now (its store is unavailable): a 503 the
/// SDKs retry after `retry_after_secs`, with the same `requestId`, so nothing is lost or counted
/// twice.
#[must_use]
pub fn unavailable(origin: Option<&str>, query: &str, retry_after_secs: u32) -> HttpResponse {
    let query = Query::parse(query);
    let body = crate::protocol::ErrorBody {
        kind: format!("{ERROR_TYPE_PREFIX}ECDP-0010-503"),
        status: 503,
        title: "Service unavailable".into(),
        detail: "The edge cannot store the request right now; retry it with the same requestId."
            .into(),
        report: crate::protocol::ErrorReport {
            request_id: query.request_id,
            errors: Vec::new(),
        },
    };
    let mut r = json_response(503, &body);
    r.headers
        .push(("retry-after", retry_after_secs.to_string()));
    Cors::for_errors(origin).apply(r)
}

/// `configId` and `requestId` from the query string.
#[derive(Debug, Default)]
struct Query {
    config_id: Option<String>,
    request_id: Option<String>,
}

impl Query {
    fn parse(raw: &str) -> Query {
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
#[derive(Debug)]
struct Cors {
    origin: Option<String>,
    allowed: bool,
    preflight: bool,
}

impl Cors {
    fn for_errors(origin: Option<&str>) -> Cors {
        Cors {
            origin: origin.map(str::to_owned),
            allowed: false,
            preflight: false,
        }
    }

    fn apply(&self, mut r: HttpResponse) -> HttpResponse {
        r.headers.push(("vary", "Origin".into()));
        let Some(origin) = &self.origin else { return r };
        let is_error = r.status >= 400;
        if self.allowed || is_error {
            r.headers
                .push(("access-control-allow-origin", origin.clone()));
            r.headers
                .push(("access-control-allow-credentials", "true".into()));
            r.headers.push((
                "access-control-expose-headers",
                "Retry-After, x-adobe-edge".into(),
            ));
        }
        if self.preflight && self.allowed {
            r.headers
                .push(("access-control-allow-methods", "POST, OPTIONS".into()));
            r.headers
                .push(("access-control-allow-headers", "content-type".into()));
            r.headers.push(("access-control-max-age", "86400".into()));
        }
        r
    }
}

/// Per-request state shared by the actions.
struct RequestCtx<'a> {
    ds: &'a Datastream,
    keys: &'a CookieKeys,
    cookies: &'a str,
    request_id: String,
    now: Timestamp,
    entropy: &'a Entropy,
}

impl RequestCtx<'_> {
    /// Values of cookie `name`: from the `Cookie` header first (first-party edge), then from
    /// `meta.state.entries` (third-party edge), in order.
    fn cookie_values<'m>(
        &'m self,
        name: &'m str,
        meta: &'m Meta,
    ) -> impl Iterator<Item = String> + 'm {
        let from_header = self.cookies.split(';').filter_map(move |pair| {
            let (k, v) = pair.split_once('=')?;
            let k = percent_decode(k.trim())?;
            (k == name).then(|| v.trim().trim_matches('"').to_owned())
        });
        let from_entries = meta
            .entries
            .iter()
            .filter(move |e| e.key == name)
            .map(|e| e.value.clone());
        from_header.chain(from_entries)
    }

    /// The visitor's ECID: a signed identity cookie, else (if the datastream allows) an
    /// unsigned one or a legacy ECID from the request, else a fresh one.
    fn resolve_ecid(
        &self,
        meta: &Meta,
        legacy: Option<&IdentityItem>,
        log: &mut Vec<EdgeLog>,
    ) -> (Ecid, bool) {
        let name = identity_cookie_name(&self.ds.org_id);
        let mut refused = None;
        for value in self.cookie_values(&name, meta) {
            match self.keys.verify(&self.ds.org_id, &value) {
                Ok(ecid) => return (ecid, false),
                Err(IdentityError::CookieUnsigned) if self.ds.accept_unsigned_ecid => {
                    if let Ok(d) = crate::identity::cookie::decode(&value) {
                        return (d.ecid, false);
                    }
                }
                Err(e) => refused = refused.or(Some(e)),
            }
        }
        if let Some(ecid) = legacy
            .filter(|_| self.ds.accept_unsigned_ecid)
            .and_then(|item| Ecid::parse(&item.id).ok())
        {
            return (ecid, false);
        }
        log.push(EdgeLog::EcidMinted { refused });
        (Ecid::mint(self.entropy.ecid()), true)
    }

    /// The visitor's consent from the consent cookie, else the datastream default.
    fn consent(&self, meta: &Meta) -> Consent {
        let name = cookie_prefix(&self.ds.org_id) + "consent";
        self.cookie_values(&name, meta)
            .find_map(|v| Consent::from_cookie_value(&percent_decode(&v).unwrap_or(v)))
            .unwrap_or(self.ds.default_consent)
    }

    fn respond(
        &self,
        ecid: &Ecid,
        mut store: Vec<StoreEntry>,
        warnings: Vec<Warning>,
    ) -> HttpResponse {
        store.insert(
            0,
            StoreEntry {
                key: identity_cookie_name(&self.ds.org_id),
                value: self.keys.encode(&self.ds.org_id, ecid),
                max_age: IDENTITY_COOKIE_MAX_AGE,
            },
        );
        json_response(
            200,
            &ResponseBody {
                request_id: self.request_id.clone(),
                handle: vec![
                    Handle::IdentityResult(vec![IdentityResult {
                        id: ecid.to_string(),
                        namespace: NamespaceRef {
                            code: Ecid::NAMESPACE.into(),
                        },
                    }]),
                    Handle::StateStore(store),
                ],
                warnings,
            },
        )
    }

    fn interact(
        &self,
        action: Action,
        request: InteractRequest,
        log: &mut Vec<EdgeLog>,
    ) -> Handled {
        let legacy = request
            .identity_map
            .get(Ecid::NAMESPACE)
            .and_then(|v| v.first());
        let (ecid, _) = self.resolve_ecid(&request.meta, legacy, log);
        let consent = self.consent(&request.meta);
        let mut warnings = Vec::new();
        let mut records = Vec::new();
        let count = request.events.len();
        if consent == Consent::Out {
            log.push(EdgeLog::ConsentOut { events: count });
            warnings.push(Warning {
                kind: format!("{ERROR_TYPE_PREFIX}ECDP-W001"),
                code: "ECDP-W001".into(),
                title: "Events not collected".into(),
                detail: format!(
                    "{count} event(s) were not collected: the visitor's consent is out."
                ),
            });
        } else {
            let events = request
                .events
                .into_iter()
                .enumerate()
                .map(|(i, e)| self.collect(&ecid, i, e.event))
                .collect();
            log.push(EdgeLog::Collected {
                datastream: self.ds.id.clone(),
                events: count,
            });
            records.push(SyncRecord::Events(CollectedEvents {
                datastream_id: self.ds.id.clone(),
                ecid: ecid.clone(),
                received_at: self.now,
                events,
            }));
        }
        let response = if action == Action::Collect {
            empty(204)
        } else {
            self.respond(&ecid, Vec::new(), warnings)
        };
        (response, records)
    }

    /// Gives the event its id and time and adds the visitor's ECID to its identity map.
    fn collect(&self, ecid: &Ecid, index: usize, mut event: crate::xdm::Event) -> CollectedEvent {
        let xdm = &mut event.xdm;
        let event_id = self.event_id(ecid, index, xdm.id.as_deref());
        if xdm.id.is_none() {
            xdm.id = Some(event_id.clone());
        }
        let timestamp = *xdm.timestamp.get_or_insert(self.now);
        let has_primary = xdm.identity_map.values().flatten().any(|i| i.primary);
        let ecids = xdm
            .identity_map
            .get_or_insert_with(Ecid::NAMESPACE, Vec::new);
        if !ecids.iter().any(|i| i.id == ecid.as_str()) {
            ecids.insert(
                0,
                IdentityItem {
                    id: ecid.to_string(),
                    authenticated_state: AuthenticatedState::Ambiguous,
                    primary: !has_primary,
                    other: Default::default(),
                },
            );
        }
        CollectedEvent {
            event_id,
            event_type: xdm.event_type.clone(),
            timestamp,
            xdm: xdm.to_value(),
            data: event.data.map(Value::Object),
        }
    }

    /// A stable id per (datastream, visitor, request, position) or per client `_id`, so that a
    /// retried request (same `requestId`) yields the same ids and is stored once.
    fn event_id(&self, ecid: &Ecid, index: usize, given: Option<&str>) -> String {
        let key = match given {
            Some(id) => format!("id\0{}\0{}\0{id}", self.ds.id, ecid),
            None => format!("rq\0{}\0{}\0{}\0{index}", self.ds.id, ecid, self.request_id),
        };
        hex(&sha256(key.as_bytes())[..16])
    }

    fn set_consent(
        &self,
        request: ConsentRequest,
        log: &mut Vec<EdgeLog>,
    ) -> Result<Handled, EdgeError> {
        let consent = Consent::from_request(&request.consent)
            .map_err(|errors| EdgeError::InvalidConsent { errors })?;
        let (ecid, _) = self.resolve_ecid(&request.meta, None, log);
        log.push(EdgeLog::ConsentSet { consent });
        let store = vec![StoreEntry {
            key: cookie_prefix(&self.ds.org_id) + "consent",
            value: consent.cookie_value(),
            max_age: CONSENT_COOKIE_MAX_AGE,
        }];
        let record = SyncRecord::Consent(ConsentChange {
            datastream_id: self.ds.id.clone(),
            ecid: ecid.clone(),
            consent,
            at: self.now,
            raw: Value::Array(request.consent),
        });
        Ok((self.respond(&ecid, store, Vec::new()), vec![record]))
    }
}

#[cfg(test)]
mod tests;
