//! The edge pipeline: sans-IO, from an HTTP request to an HTTP response plus the changes to
//! ship to the origin and the state to keep.
//!
//! ```text
//! begin:  route → method → datastream (configId) → origin check → body size → JSON → validate
//!         → identities normalized → ECID (signed cookie / state entries / mint) → consent
//!         → events given ids and times → link records → the identities whose views it needs
//! finish: views (cached or fetched by the host) → whose profile this is (login stitching,
//!         last authenticated user) → respond with identity:result and state:store
//! ```
//!
//! Hosts (the native edge in `edgecdp serve`, the Cloudflare Worker) turn their request into an
//! [`HttpRequest`] and call [`begin`] with the clock and fresh entropy. When it returns
//! [`Step::Lookup`], they load the [`EdgeFragment`]s of [`Pending::keys`] (from their cache, else
//! from the origin) and call [`finish`]. Then they write the [`HttpResponse`], ship
//! [`Outcome::records`] to the origin and store [`Outcome::views`]. Every rule (CORS, error
//! bodies, which ECID to trust, what is collected, who the visitor is) lives here, so both hosts
//! behave the same, byte for byte.

mod error;
mod http;
pub mod page;
mod route;
mod visitor;

pub use error::{ERROR_TYPE_PREFIX, EdgeError};
pub use route::{Action, Route, route};

use std::collections::BTreeMap;

use serde::de::DeserializeSeed;

use self::http::{Cors, Query, empty, json_response};
use self::visitor::Cookies;
use crate::codec::hex;
use crate::consent::{CONSENT_COOKIE_MAX_AGE, Consent};
use crate::decide::{PAGE_SCOPE, Proposition, Request, Visitor};
use crate::field::Path;
use crate::identity::cookie::{IDENTITY_COOKIE_MAX_AGE, cookie_prefix, identity_cookie_name};
use crate::identity::resolve::{
    EdgeFragment, Resolution, link_record, normalize_identity_map, resolve, result_identities,
};
use crate::identity::{CookieKeys, Ecid, IdentityError, IdentityKey, LinkRecord};
use crate::mac::sha256;
use crate::map::ObjectMap;
use crate::profile::merge::nest;
use crate::profile::web::web_update;
use crate::protocol::{
    AcquireRequest, ConsentRequest, Handle, IdentityResult, InteractRequest, NamespaceRef, ProfilePayload,
    ResponseBody, SegmentMembership, StoreEntry, Warning,
};
use crate::segment::set::{ProfileSegments, Touched};
use crate::snapshot::{Datastream, Snapshot};
use crate::sync::{
    CollectedEvent, CollectedEvents, ConsentChange, FragmentUpdates, IdentityLinks, MembershipChanges, SyncRecord,
};
use crate::time::Timestamp;
use crate::value::{Value, ValueSeed};
use crate::xdm::{AuthenticatedState, Event, ExperienceEvent, IdentityItem};

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
        self.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
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
    /// The request stitched the browser to a known person.
    Stitched {
        /// The person's key.
        person: IdentityKey,
    },
}

/// The result of handling one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The response to send.
    pub response: HttpResponse,
    /// Changes to ship to the origin, in order.
    pub records: Vec<SyncRecord>,
    /// Person views to store, each under every one of its identities
    /// ([`Outcome::view_writes`]).
    pub views: Vec<EdgeFragment>,
    /// What happened.
    pub log: Vec<EdgeLog>,
}

impl Outcome {
    /// Each view to store, keyed by each identity it holds.
    pub fn view_writes(&self) -> impl Iterator<Item = (&IdentityKey, &EdgeFragment)> {
        self.views.iter().flat_map(|v| v.identities.iter().map(move |k| (k, v)))
    }
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

/// The views a host loaded for [`Pending::keys`]; a key absent here is unknown.
pub type Views = BTreeMap<IdentityKey, EdgeFragment>;

/// After [`begin`]: either the outcome, or what to load before [`finish`].
#[derive(Debug)]
pub enum Step {
    /// Finished (a refusal, a preflight, a beacon or a request that needs no state).
    Done(Outcome),
    /// The views of [`Pending::keys`] are needed.
    Lookup(Pending),
}

/// A request waiting for person views.
#[derive(Debug)]
pub struct Pending {
    keys: Vec<IdentityKey>,
    cors: Cors,
    log: Vec<EdgeLog>,
    ds: Datastream,
    ecid: Ecid,
    request_id: String,
    now: Timestamp,
    links: Vec<LinkRecord>,
    records: Vec<SyncRecord>,
    store: Vec<StoreEntry>,
    warnings: Vec<Warning>,
    respond: bool,
    personalize: Option<Box<Personalize>>,
}

/// What a request asks to be decided: the scopes of its events' `query.personalization`
/// (`decisionScopes`; a page `surfaces` entry asks for the page scope), and the page.
#[derive(Debug, Default)]
struct Personalize {
    scopes: Vec<String>,
    page: Option<String>,
    /// The SDK asks for a client bundle (`onDevice: true`).
    on_device: bool,
}

impl Personalize {
    fn from_events(events: &[crate::protocol::RequestEvent]) -> Option<Personalize> {
        let mut p = Personalize::default();
        let mut asked = false;
        for e in events {
            let Some(q) = e.query.as_ref().and_then(|q| q.get("personalization")).and_then(Value::as_object) else {
                continue;
            };
            asked = true;
            p.on_device |= q.get("onDevice").is_some_and(|v| *v == Value::Bool(true));
            let strings = |key: &str| {
                q.get(key)
                    .and_then(Value::as_array)
                    .unwrap_or(&[])
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            };
            for scope in strings("decisionScopes") {
                if !p.scopes.contains(&scope) {
                    p.scopes.push(scope);
                }
            }
            for surface in strings("surfaces") {
                if surface.starts_with("web://") && !surface.contains('#') {
                    if !p.scopes.iter().any(|s| s == PAGE_SCOPE) {
                        p.scopes.push(PAGE_SCOPE.to_owned());
                    }
                    p.page.get_or_insert(surface);
                }
            }
            let url = e.event.xdm.web.as_ref().and_then(|w| w.web_page_details.as_ref()).and_then(|d| d.url.clone());
            if let Some(url) = url {
                p.page = Some(url);
            }
        }
        asked.then_some(p)
    }
}

impl Pending {
    /// The identities whose person views [`finish`] needs: the visitor's ECID and every person
    /// identity the request names.
    #[must_use]
    pub fn keys(&self) -> &[IdentityKey] {
        &self.keys
    }

    /// The visitor's ECID.
    #[must_use]
    pub fn ecid(&self) -> &Ecid {
        &self.ecid
    }
}

/// Handles one request without any stored state (every visitor is as the request shows them).
#[must_use]
pub fn handle(env: &EdgeEnv<'_>, req: &HttpRequest<'_>, now: Timestamp, entropy: &Entropy) -> Outcome {
    match begin(env, req, now, entropy) {
        Step::Done(o) => o,
        Step::Lookup(p) => finish(env, p, &Views::new()),
    }
}

/// Runs a request up to the point where it needs stored state.
#[must_use]
pub fn begin(env: &EdgeEnv<'_>, req: &HttpRequest<'_>, now: Timestamp, entropy: &Entropy) -> Step {
    let query = Query::parse(req.query);
    let mut log = Vec::new();
    let mut cors = Cors::for_errors(req.origin);
    match run(env, req, &query, now, entropy, &mut log, &mut cors) {
        Ok(Next::Respond(response)) => {
            Step::Done(Outcome { response: cors.apply(response), records: Vec::new(), views: Vec::new(), log })
        }
        Ok(Next::Lookup(mut pending)) => {
            pending.cors = cors;
            pending.log = log;
            Step::Lookup(*pending)
        }
        Err(err) => {
            log.push(EdgeLog::Rejected { code: err.code(), status: err.status(), detail: err.to_string() });
            Step::Done(Outcome {
                response: cors.apply(error_response(&err, query.request_id.as_deref())),
                records: Vec::new(),
                views: Vec::new(),
                log,
            })
        }
    }
}

/// Completes a request with the views the host loaded for [`Pending::keys`].
#[must_use]
pub fn finish(env: &EdgeEnv<'_>, pending: Pending, views: &Views) -> Outcome {
    let Pending {
        cors,
        mut log,
        ds,
        ecid,
        request_id,
        now,
        links,
        mut records,
        mut store,
        warnings,
        respond,
        personalize,
        ..
    } = pending;
    let snapshot = env.snapshot;
    let namespaces = &snapshot.identity.namespaces;
    let lookup = |k: &IdentityKey| views.get(k).filter(|v| !snapshot.voids(v)).cloned();
    let resolution = resolve(&ecid, &links, &lookup, namespaces, now);
    if let Some(v) = resolution.view.as_ref().filter(|v| v.is_known(namespaces) && !resolution.writes.is_empty()) {
        log.push(EdgeLog::Stitched { person: v.person.clone() });
    }
    let (resolution, segments_changed) = decide_segments(snapshot, &ecid, resolution, &mut records, now, views);
    let (resolution, propositions, decisions_changed) =
        decide_content(snapshot, &ecid, resolution, &records, personalize.as_deref(), now);
    let bundle = personalize.filter(|p| p.on_device && !snapshot.device().is_empty()).map(|_| {
        let view = resolution.view.as_ref();
        let empty = ObjectMap::new();
        snapshot.device().bundle(
            snapshot.version,
            ecid.as_str(),
            view.map_or(&empty, |v| &v.attributes),
            view.and_then(|v| v.segments.as_ref()),
            view.and_then(|v| v.decisions.as_ref()),
        )
    });
    let response = if respond {
        store.insert(
            0,
            StoreEntry {
                key: identity_cookie_name(&ds.org_id),
                value: env.cookie_keys.encode(&ds.org_id, &ecid),
                max_age: IDENTITY_COOKIE_MAX_AGE,
            },
        );
        let identities = result_identities(&ecid, resolution.view.as_ref(), namespaces)
            .into_iter()
            .map(|k| IdentityResult { id: k.id, namespace: NamespaceRef { code: k.ns } })
            .collect();
        let mut handle = vec![Handle::IdentityResult(identities), Handle::StateStore(store)];
        if let Some(v) = resolution.view.as_ref() {
            let segments: Vec<SegmentMembership> = v
                .segments
                .iter()
                .flat_map(ProfileSegments::members)
                .map(|(id, m)| SegmentMembership {
                    id: id.clone(),
                    status: m.status.as_str().to_owned(),
                    last_qualification_time: m.last_qualification_time.to_rfc3339(),
                    valid_until: m.valid_until.map(Timestamp::to_rfc3339),
                })
                .collect();
            if !v.attributes.is_empty() || !segments.is_empty() {
                handle.push(Handle::Profile(vec![ProfilePayload {
                    person: v.person.to_string(),
                    attributes: nest(v.attributes.iter().map(|(k, v)| (k.clone(), v.clone()))),
                    segments,
                }]));
            }
        }
        if !propositions.is_empty() {
            handle.push(Handle::Decisions(propositions));
        }
        if let Some(bundle) = bundle {
            handle.push(Handle::Bundle(vec![bundle]));
        }
        json_response(200, &ResponseBody { request_id, handle, warnings })
    } else {
        empty(204)
    };
    // The visitor's view, as this request left it, is written when it changed: moved here, after
    // the answer is built from it, rather than copied at each step.
    let Resolution { view, mut writes } = resolution;
    if let Some(v) = view.filter(|_| segments_changed || decisions_changed) {
        write(&mut writes, v);
    }
    Outcome { response: cors.apply(response), records, views: writes, log }
}

/// Folds the request's events into the profile's segment state (the person's, or the browser's
/// while anonymous) and decides its memberships at `now`: the edge evaluates lazily, at each
/// request, so exits and late qualifications that happened with time show at the next one.
/// Entries and exits go to the origin; returns whether the view changed (and must be written).
fn decide_segments(
    snapshot: &Snapshot,
    ecid: &Ecid,
    resolution: Resolution,
    records: &mut Vec<SyncRecord>,
    now: Timestamp,
    views: &Views,
) -> (Resolution, bool) {
    let set = snapshot.segment_set();
    if set.is_empty() {
        return (resolution, false);
    }
    let Resolution { view, writes } = resolution;
    let mut v = view.unwrap_or_else(|| device_view(ecid, now));
    let mut state = v.segments.take().unwrap_or_default();
    let mut touched = Touched::default();
    for r in records.iter() {
        if let SyncRecord::Events(c) = r {
            for e in &c.events {
                // A retried request (same requestId, so the same event ids) is folded once.
                if let Some(t) = set.on_event_once(&mut state, &e.event_id, &e.xdm, e.timestamp, &v.attributes) {
                    touched.extend(t);
                }
            }
        }
    }
    let transitions = set.evaluate(&mut state, &v.attributes, now, &touched);
    v.segments = Some(state);
    // Written back unless it is the stored view with the same state (compared with the host's
    // copy rather than a clone made here: a person's state is the largest part of a request).
    let stored = views.values().find(|o| o.person == v.person && !snapshot.voids(o)).and_then(|o| o.segments.as_ref());
    let unchanged = stored.is_some() && stored == v.segments.as_ref() && !writes.iter().any(|w| w.person == v.person);
    if !transitions.is_empty() {
        records.push(SyncRecord::Memberships(MembershipChanges {
            profile: v.person.clone(),
            ecid: ecid.clone(),
            transitions,
        }));
    }
    (Resolution { view: Some(v), writes }, !unchanged)
}

/// The view of a browser nobody is known on yet.
fn device_view(ecid: &Ecid, now: Timestamp) -> EdgeFragment {
    let device = IdentityKey::new(Ecid::NAMESPACE, ecid.as_str());
    EdgeFragment {
        person: device.clone(),
        identities: vec![device],
        attributes: ObjectMap::new(),
        version: 0,
        updated_at: now,
        segments: None,
        decisions: None,
    }
}

/// Adds or replaces a view among the writes.
fn write(writes: &mut Vec<EdgeFragment>, v: EdgeFragment) {
    match writes.iter_mut().find(|w| w.person == v.person) {
        Some(w) => *w = v,
        None => writes.push(v),
    }
}

/// Folds the request's display notifications and conversions into the visitor's decisioning
/// state (caps, suppression), then decides the scopes the request asked for, from the profile,
/// memberships and state as they are after this request. Also returns whether the state changed.
fn decide_content(
    snapshot: &Snapshot,
    ecid: &Ecid,
    resolution: Resolution,
    records: &[SyncRecord],
    personalize: Option<&Personalize>,
    now: Timestamp,
) -> (Resolution, Vec<Proposition>, bool) {
    let set = snapshot.decisions();
    if set.is_empty() {
        return (resolution, Vec::new(), false);
    }
    let Resolution { mut view, writes } = resolution;
    let mut changed = false;
    let mut relevant = records
        .iter()
        .filter_map(|r| if let SyncRecord::Events(c) = r { Some(&c.events) } else { None })
        .flatten()
        .filter(|e| e.event_type.as_deref().is_some_and(|t| set.records(t)))
        .peekable();
    if relevant.peek().is_some() {
        let v = view.get_or_insert_with(|| device_view(ecid, now));
        let mut state = v.decisions.take().unwrap_or_default();
        for e in relevant {
            changed |= set.record(&mut state, &e.xdm, &e.event_id, e.timestamp);
        }
        v.decisions = (!state.is_empty()).then_some(state);
    }
    let propositions = personalize.map_or_else(Vec::new, |p| {
        let empty = ObjectMap::new();
        let visitor = Visitor {
            attributes: view.as_ref().map_or(&empty, |v| &v.attributes),
            segments: view.as_ref().and_then(|v| v.segments.as_ref()),
            state: view.as_ref().and_then(|v| v.decisions.as_ref()),
        };
        set.decide(&Request { ecid: ecid.as_str(), scopes: &p.scopes, page: p.page.as_deref(), now }, &visitor)
    });
    (Resolution { view, writes }, propositions, changed)
}

enum Next {
    Respond(HttpResponse),
    Lookup(Box<Pending>),
}

#[allow(clippy::too_many_lines)]
fn run(
    env: &EdgeEnv<'_>,
    req: &HttpRequest<'_>,
    query: &Query,
    now: Timestamp,
    entropy: &Entropy,
    log: &mut Vec<EdgeLog>,
    cors: &mut Cors,
) -> Result<Next, EdgeError> {
    let Some(route) = route(req.path) else {
        return Err(EdgeError::NotFound { path: req.path.chars().take(200).collect() });
    };
    let method = req.method.to_ascii_uppercase();
    if method != "POST" && method != "OPTIONS" {
        return Err(EdgeError::MethodNotAllowed { method });
    }
    let ds_id = query.config_id.as_deref().ok_or(EdgeError::MissingConfigId)?;
    let ds = env
        .snapshot
        .datastreams
        .get(ds_id)
        .ok_or_else(|| EdgeError::UnknownDatastream { id: ds_id.chars().take(128).collect() })?;
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
        return Ok(Next::Respond(empty(204)));
    }
    let limits = &env.snapshot.limits;
    if req.body.len() > limits.max_request_bytes {
        return Err(EdgeError::BodyTooLarge { limit: limits.max_request_bytes });
    }
    let body = parse_body(req.body, limits.max_depth, route.action == Action::IdentityAcquire)?;
    let namespaces = &env.snapshot.identity.namespaces;
    let mut pending = Pending {
        keys: Vec::new(),
        cors: cors.clone(),
        log: Vec::new(),
        ds: ds.clone(),
        ecid: Ecid::mint([0; 16]),
        request_id: query.request_id.clone().unwrap_or_else(|| entropy.token()),
        now,
        links: Vec::new(),
        records: Vec::new(),
        store: Vec::new(),
        warnings: Vec::new(),
        respond: route.action != Action::Collect,
        personalize: None,
    };
    match route.action {
        Action::Interact | Action::Collect => {
            let mut request =
                InteractRequest::from_value(body, limits).map_err(|errors| EdgeError::InvalidRequest { errors })?;
            let mut errors = Vec::new();
            for (i, e) in request.events.iter_mut().enumerate() {
                let events = Path::Root("events");
                let event = events.index(i);
                let xdm = event.key("xdm");
                errors.extend(normalize_identity_map(
                    &mut e.event.xdm.identity_map,
                    namespaces,
                    &xdm.key("identityMap"),
                ));
            }
            if !errors.is_empty() {
                return Err(EdgeError::InvalidRequest { errors });
            }
            let cookies = Cookies { header: req.cookie.unwrap_or(""), meta: &request.meta };
            let legacy = request.identity_map.get(Ecid::NAMESPACE).and_then(|v| v.first());
            pending.ecid = cookies.ecid(ds, env.cookie_keys, legacy, entropy, log);
            let consent = cookies.consent(ds);
            let count = request.events.len();
            if consent != Consent::Out && route.action == Action::Interact {
                pending.personalize = Personalize::from_events(&request.events).map(Box::new);
            }
            if consent == Consent::Out {
                log.push(EdgeLog::ConsentOut { events: count });
                pending.warnings.push(Warning {
                    kind: format!("{ERROR_TYPE_PREFIX}ECDP-W001"),
                    code: "ECDP-W001".into(),
                    title: "Events not collected".into(),
                    detail: format!("{count} event(s) were not collected: the visitor's consent is out."),
                });
            } else {
                let ctx = EventCtx { ds_id: &ds.id, ecid: &pending.ecid, request_id: &pending.request_id, now };
                let collected: Vec<Collected> =
                    request.events.into_iter().enumerate().map(|(i, e)| collect(&ctx, i, e.event)).collect();
                let timed: Vec<(&ExperienceEvent, Timestamp)> =
                    collected.iter().map(|c| (&c.xdm, c.event.timestamp)).collect();
                let web = web_update(&pending.ecid, &timed, &format!("edge/{}", ds.id));
                let (events, links): (Vec<CollectedEvent>, Vec<LinkRecord>) =
                    collected.into_iter().map(|c| (c.event, c.link)).unzip();
                pending.links = links;
                log.push(EdgeLog::Collected { datastream: ds.id.clone(), events: count });
                pending.records.push(SyncRecord::Events(CollectedEvents {
                    datastream_id: ds.id.clone(),
                    ecid: pending.ecid.clone(),
                    received_at: now,
                    events,
                }));
                if let Some(web) = web {
                    pending
                        .records
                        .push(SyncRecord::Fragments(FragmentUpdates { source: ds.id.clone(), fragments: vec![web] }));
                }
                let linking: Vec<LinkRecord> = pending.links.iter().filter(|r| r.links(namespaces)).cloned().collect();
                if !linking.is_empty() {
                    pending.records.push(SyncRecord::Links(IdentityLinks { source: ds.id.clone(), records: linking }));
                }
            }
        }
        Action::IdentityAcquire => {
            let request = AcquireRequest::from_value(body).map_err(|errors| EdgeError::InvalidRequest { errors })?;
            let cookies = Cookies { header: req.cookie.unwrap_or(""), meta: &request.meta };
            pending.ecid = cookies.ecid(ds, env.cookie_keys, None, entropy, log);
        }
        Action::SetConsent => {
            let mut request =
                ConsentRequest::from_value(body, limits).map_err(|errors| EdgeError::InvalidRequest { errors })?;
            let consent =
                Consent::from_request(&request.consent).map_err(|errors| EdgeError::InvalidConsent { errors })?;
            let errors =
                normalize_identity_map(&mut request.identity_map, namespaces, &Path::Root("").key("identityMap"));
            if !errors.is_empty() {
                return Err(EdgeError::InvalidRequest { errors });
            }
            let cookies = Cookies { header: req.cookie.unwrap_or(""), meta: &request.meta };
            pending.ecid = cookies.ecid(ds, env.cookie_keys, None, entropy, log);
            log.push(EdgeLog::ConsentSet { consent });
            pending.store.push(StoreEntry {
                key: cookie_prefix(&ds.org_id) + "consent",
                value: consent.cookie_value(),
                max_age: CONSENT_COOKIE_MAX_AGE,
            });
            pending.records.push(SyncRecord::Consent(ConsentChange {
                datastream_id: ds.id.clone(),
                ecid: pending.ecid.clone(),
                consent,
                at: now,
                raw: Value::Array(request.consent),
            }));
        }
    }
    let mut keys = vec![IdentityKey::new(Ecid::NAMESPACE, pending.ecid.as_str())];
    for link in &pending.links {
        for i in &link.identities {
            if namespaces.kind(&i.key.ns).is_person() && !keys.contains(&i.key) {
                keys.push(i.key.clone());
            }
        }
    }
    pending.keys = keys;
    Ok(Next::Lookup(Box::new(pending)))
}

fn parse_body(body: &[u8], max_depth: usize, empty_ok: bool) -> Result<Value, EdgeError> {
    if empty_ok && body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    ValueSeed::new(max_depth)
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| EdgeError::MalformedJson { detail: e.to_string() })
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
        detail: "The edge cannot store the request right now; retry it with the same requestId.".into(),
        report: crate::protocol::ErrorReport { request_id: query.request_id, errors: Vec::new() },
    };
    let mut r = json_response(503, &body);
    r.headers.push(("retry-after", retry_after_secs.to_string()));
    Cors::for_errors(origin).apply(r)
}

/// What [`collect`] needs to know about the request.
struct EventCtx<'a> {
    ds_id: &'a str,
    ecid: &'a Ecid,
    request_id: &'a str,
    now: Timestamp,
}

struct Collected {
    event: CollectedEvent,
    link: LinkRecord,
    xdm: ExperienceEvent,
}

/// Gives the event its id and time, adds the visitor's ECID to its identity map, and makes its
/// link record.
fn collect(ctx: &EventCtx<'_>, index: usize, mut event: Event) -> Collected {
    let xdm = &mut event.xdm;
    let event_id = event_id(ctx, index, xdm.id.as_deref());
    if xdm.id.is_none() {
        xdm.id = Some(event_id.clone());
    }
    let timestamp = *xdm.timestamp.get_or_insert(ctx.now);
    let has_primary = xdm.identity_map.values().flatten().any(|i| i.primary);
    let ecids = xdm.identity_map.get_or_insert_with(Ecid::NAMESPACE, Vec::new);
    if !ecids.iter().any(|i| i.id == ctx.ecid.as_str()) {
        ecids.insert(
            0,
            IdentityItem {
                id: ctx.ecid.to_string(),
                authenticated_state: AuthenticatedState::Ambiguous,
                primary: !has_primary,
                other: Default::default(),
            },
        );
    }
    Collected {
        link: link_record(&event_id, timestamp, ctx.ecid, &xdm.identity_map),
        event: CollectedEvent {
            event_id,
            event_type: xdm.event_type.clone(),
            timestamp,
            xdm: xdm.to_value(),
            data: event.data.map(Value::Object),
        },
        xdm: event.xdm,
    }
}

/// A stable id per (datastream, visitor, request, position) or per client `_id`, so that a
/// retried request (same `requestId`) yields the same ids and is stored once.
fn event_id(ctx: &EventCtx<'_>, index: usize, given: Option<&str>) -> String {
    let key = match given {
        Some(id) => format!("id\0{}\0{}\0{id}", ctx.ds_id, ctx.ecid),
        None => format!("rq\0{}\0{}\0{}\0{index}", ctx.ds_id, ctx.ecid, ctx.request_id),
    };
    hex(&sha256(key.as_bytes())[..16])
}

#[cfg(test)]
mod tests;
