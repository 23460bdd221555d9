//! The browser ⇄ edge wire protocol: Adobe Experience Edge compatible.
//!
//! Requests are JSON bodies posted to `/{basePath}[/{locationHint}]/v1/{action}`; responses are
//! `{ "requestId", "handle": [...] }` or, for a refused request, an error body
//! `{ "type", "status", "title", "detail", "report" }`. The request readers here validate the
//! envelope and every event, naming each bad field; they never panic on any input.

use serde::{Deserialize, Serialize};

use crate::field::{Errors, FieldError, Path};
use crate::limits::Limits;
use crate::value::{Map, Value};
use crate::xdm::{Event, IdentityMap, read_identity_map};

/// One `{ key, value }` of `meta.state.entries`: the cookies the SDK forwards when the edge is
/// not on the page's own domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateEntry {
    /// The cookie name.
    pub key: String,
    /// The cookie value.
    pub value: String,
}

/// `meta` of a request: what the SDK says about the page's state.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Meta {
    /// `meta.state.domain`: the page's apex domain (empty on localhost).
    pub domain: Option<String>,
    /// `meta.state.entries`.
    pub entries: Vec<StateEntry>,
}

/// One event of an `interact` or `collect` request.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestEvent {
    /// The event.
    pub event: Event,
    /// The event's `query` (personalization scopes and schemas), kept for decisioning.
    pub query: Option<Map>,
}

/// The body of `/v1/interact` and `/v1/collect`.
#[derive(Debug, Clone, PartialEq)]
pub struct InteractRequest {
    /// `events[]`.
    pub events: Vec<RequestEvent>,
    /// `meta`.
    pub meta: Meta,
    /// Request-level `xdm.identityMap`: a legacy ECID the SDK migrates (AMCV, `s_ecid`).
    pub identity_map: IdentityMap,
}

/// The body of `/v1/privacy/set-consent`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsentRequest {
    /// `consent[]`, each `{ standard, version, value }`, read by [`crate::consent`].
    pub consent: Vec<Value>,
    /// Top-level `identityMap` (login identities given with the consent).
    pub identity_map: IdentityMap,
    /// `meta`.
    pub meta: Meta,
}

/// The body of `/v1/identity/acquire`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AcquireRequest {
    /// `meta`.
    pub meta: Meta,
}

fn read_meta(map: &mut Map, path: &Path<'_>, errs: &mut Errors) -> Meta {
    let Some(mut meta) = errs.take_object(map, "meta", path) else {
        return Meta::default();
    };
    let meta_path = path.key("meta");
    let Some(mut state) = errs.take_object(&mut meta, "state", &meta_path) else {
        return Meta::default();
    };
    let state_path = meta_path.key("state");
    let domain = errs.take_str(&mut state, "domain", &state_path);
    let mut entries = Vec::new();
    if let Some(list) = errs.take_array(&mut state, "entries", &state_path) {
        let list_path = state_path.key("entries");
        for (i, item) in list.into_iter().enumerate() {
            let p = list_path.index(i);
            let Some(mut o) = errs.object(item, &p) else {
                continue;
            };
            for required in ["key", "value"] {
                if matches!(o.get(required), None | Some(Value::Null)) {
                    errs.push(FieldError::Missing { path: p.key(required).to_string() });
                }
            }
            let key = errs.take_str(&mut o, "key", &p);
            let value = errs.take_str(&mut o, "value", &p);
            if let (Some(key), Some(value)) = (key, value) {
                entries.push(StateEntry { key, value });
            }
        }
    }
    Meta { domain, entries }
}

fn read_request_identity_map(map: &mut Map, path: &Path<'_>, limits: &Limits, errs: &mut Errors) -> IdentityMap {
    let Some(mut xdm) = errs.take_object(map, "xdm", path) else {
        return IdentityMap::new();
    };
    let xdm_path = path.key("xdm");
    errs.take_object(&mut xdm, "identityMap", &xdm_path)
        .map(|im| read_identity_map(im, &xdm_path.key("identityMap"), limits, errs))
        .unwrap_or_default()
}

fn body_object(body: Value, errs: &mut Errors) -> Map {
    errs.object(body, &Path::Root("body")).unwrap_or_default()
}

impl InteractRequest {
    /// Reads an `interact`/`collect` body.
    ///
    /// # Errors
    /// Every problem found in the envelope and in each event, each naming its field
    /// (`events[0].xdm.timestamp`).
    pub fn from_value(body: Value, limits: &Limits) -> Result<InteractRequest, Vec<FieldError>> {
        let mut errs = Errors::new();
        let mut map = body_object(body, &mut errs);
        let root = Path::Root("");
        let meta = read_meta(&mut map, &root, &mut errs);
        let identity_map = read_request_identity_map(&mut map, &root, limits, &mut errs);
        let events_path = root.key("events");
        let mut events = Vec::new();
        match map.remove("events") {
            None | Some(Value::Null) => errs.push(FieldError::Missing { path: "events".into() }),
            Some(Value::Array(list)) => {
                if list.is_empty() {
                    errs.push(FieldError::InvalidValue {
                        path: "events".into(),
                        expected: "at least one event".into(),
                        found: "an empty array".into(),
                    });
                }
                if list.len() > limits.max_events_per_request {
                    errs.push(FieldError::TooManyItems {
                        path: "events".into(),
                        len: list.len(),
                        limit: limits.max_events_per_request,
                    });
                } else {
                    for (i, item) in list.into_iter().enumerate() {
                        let p = events_path.index(i);
                        let Some(mut obj) = errs.object(item, &p) else {
                            continue;
                        };
                        let query = errs.take_object(&mut obj, "query", &p);
                        match Event::from_value(Value::Object(obj), &p, limits) {
                            Ok(event) => events.push(RequestEvent { event, query }),
                            Err(list) => list.into_iter().for_each(|e| errs.push(e)),
                        }
                    }
                }
            }
            Some(other) => errs.wrong_type(&events_path, "an array of events", &other),
        }
        errs.finish(InteractRequest { events, meta, identity_map })
    }
}

impl ConsentRequest {
    /// Reads a `privacy/set-consent` body.
    ///
    /// # Errors
    /// Every problem found, each naming its field.
    pub fn from_value(body: Value, limits: &Limits) -> Result<ConsentRequest, Vec<FieldError>> {
        let mut errs = Errors::new();
        let mut map = body_object(body, &mut errs);
        let root = Path::Root("");
        let meta = read_meta(&mut map, &root, &mut errs);
        let identity_map = errs
            .take_object(&mut map, "identityMap", &root)
            .map(|im| read_identity_map(im, &root.key("identityMap"), limits, &mut errs))
            .unwrap_or_default();
        let consent = match errs.take_array(&mut map, "consent", &root) {
            Some(list) if !list.is_empty() => list,
            Some(_) => {
                errs.push(FieldError::InvalidValue {
                    path: "consent".into(),
                    expected: "at least one consent entry".into(),
                    found: "an empty array".into(),
                });
                Vec::new()
            }
            None => {
                if !map.contains_key("consent") {
                    errs.push(FieldError::Missing { path: "consent".into() });
                }
                Vec::new()
            }
        };
        errs.finish(ConsentRequest { consent, identity_map, meta })
    }
}

impl AcquireRequest {
    /// Reads an `identity/acquire` body (an empty body is allowed).
    ///
    /// # Errors
    /// Every problem found, each naming its field.
    pub fn from_value(body: Value) -> Result<AcquireRequest, Vec<FieldError>> {
        let mut errs = Errors::new();
        let mut map = body_object(body, &mut errs);
        let meta = read_meta(&mut map, &Path::Root(""), &mut errs);
        errs.finish(AcquireRequest { meta })
    }
}

/// A successful response body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseBody {
    /// The request's `requestId` (echoed when given, else one the edge made).
    pub request_id: String,
    /// The handles: what the SDK acts on.
    pub handle: Vec<Handle>,
    /// Non-fatal remarks (the SDK logs them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
}

/// One handle of a response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "payload")]
pub enum Handle {
    /// `identity:result`: identities resolved for the visitor (the ECID first).
    #[serde(rename = "identity:result")]
    IdentityResult(Vec<IdentityResult>),
    /// `state:store`: cookies the SDK writes on the page's domain.
    #[serde(rename = "state:store")]
    StateStore(Vec<StoreEntry>),
    /// `edgecdp:profile`: the known visitor's profile attributes the edge keeps (an edgecdp
    /// extension; the Adobe Web SDK ignores handle types it does not know).
    #[serde(rename = "edgecdp:profile")]
    Profile(Vec<ProfilePayload>),
    /// `personalization:decisions`: the propositions decided for the scopes the request asked
    /// for (Adobe's format, which the Adobe Web SDK and sdk-js render).
    #[serde(rename = "personalization:decisions")]
    Decisions(Vec<crate::decide::Proposition>),
    /// `edgecdp:bundle`: what the browser needs to decide the on-device activities itself (an
    /// edgecdp extension, sent when an event asks with `query.personalization.onDevice: true`).
    #[serde(rename = "edgecdp:bundle")]
    Bundle(Vec<crate::decide::device::Bundle>),
}

/// A payload item of `edgecdp:profile`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfilePayload {
    /// The person's key, `ns:id` (`CRMID:crm-1042`).
    pub person: String,
    /// The attributes, nested (`{ "loyalty": { "tier": "Bronze" } }`).
    pub attributes: Value,
    /// The segments the profile is in (edge segments), as decided at this request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<SegmentMembership>,
}

/// A segment membership in `edgecdp:profile` (XDM `segmentMembership` fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SegmentMembership {
    /// The segment's id.
    pub id: String,
    /// `realized` (entered at this request) or `existing`.
    pub status: String,
    /// When it last qualified (RFC 3339).
    pub last_qualification_time: String,
    /// Until when it holds without new events (RFC 3339), when that is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
}

/// A payload item of `identity:result`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentityResult {
    /// The identity value.
    pub id: String,
    /// Its namespace.
    pub namespace: NamespaceRef,
}

/// `{ "code": "ECID" }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamespaceRef {
    /// The namespace code.
    pub code: String,
}

/// A payload item of `state:store`: one cookie for the SDK to write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreEntry {
    /// Cookie name.
    pub key: String,
    /// Cookie value.
    pub value: String,
    /// Lifetime in seconds.
    pub max_age: u32,
}

/// A non-fatal remark in a response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Warning {
    /// A URI naming the kind of remark.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short stable code.
    pub code: String,
    /// A short title.
    pub title: String,
    /// A sentence saying what happened.
    pub detail: String,
}

/// The error body of a refused request (Adobe Experience Edge format).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A URI naming the error (`https://ns.edgecdp.dev/errors/ECDP-0003-400`).
    #[serde(rename = "type")]
    pub kind: String,
    /// The HTTP status.
    pub status: u16,
    /// A short title.
    pub title: String,
    /// A sentence naming the problem.
    pub detail: String,
    /// The request and the field errors.
    pub report: ErrorReport,
}

/// `report` of an error body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorReport {
    /// The request's `requestId`, when it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Each field problem.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ReportedError>,
}

/// One field problem in an error report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportedError {
    /// The field's path (`events[0].xdm.timestamp`).
    pub path: String,
    /// The kind of problem (`wrong_type`, `too_many_identities`, ...).
    pub code: String,
    /// The problem as a sentence.
    pub message: String,
}

impl From<&FieldError> for ReportedError {
    fn from(e: &FieldError) -> Self {
        ReportedError { path: e.path().to_owned(), code: e.code().to_owned(), message: e.to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<InteractRequest, Vec<FieldError>> {
        InteractRequest::from_value(serde_json::from_str(text).unwrap(), &Limits::new())
    }

    #[test]
    fn reads_the_alloy_page_view_request() {
        let r = parse(
            r#"{"events":[{"xdm":{"eventType":"web.webpagedetails.pageViews","web":{"webPageDetails":{"URL":"https://www.luma.test/"}},
                "timestamp":"2026-07-22T16:00:00.000Z","implementationDetails":{"name":"https://ns.adobe.com/experience/alloy","version":"2.33.1"}},
                "query":{"personalization":{"decisionScopes":["__view__"]}}}],
               "query":{"identity":{"fetch":["ECID"]}},
               "meta":{"state":{"domain":"luma.test","cookiesEnabled":true,"entries":[{"key":"kndctr_LUMA123_AdobeOrg_identity","value":"CiY1"}]},"queueTimeMillis":3}}"#,
        )
        .unwrap();
        assert_eq!(r.events.len(), 1);
        assert_eq!(r.meta.domain.as_deref(), Some("luma.test"));
        assert_eq!(r.meta.entries[0].key, "kndctr_LUMA123_AdobeOrg_identity");
        assert!(r.events[0].query.is_some());
    }

    #[test]
    fn envelope_errors_name_fields() {
        let errs = parse(r#"{"events":"x","meta":{"state":{"entries":[{"value":"v"}]}}}"#).unwrap_err();
        let paths: Vec<_> = errs.iter().map(FieldError::path).collect();
        assert_eq!(paths, ["meta.state.entries[0].key", "events"]);
        let errs = parse(r#"{"events":[{}],"meta":{"state":{"entries":[{"key":1,"value":"v"}]}}}"#).unwrap_err();
        assert_eq!(errs[0].to_string(), "meta.state.entries[0].key: expected a string, found a number");
        assert_eq!(errs.len(), 1);
        assert!(parse(r#"{"events":[]}"#).unwrap_err()[0].to_string().contains("at least one event"));
        assert_eq!(parse(r#"{}"#).unwrap_err()[0].to_string(), "events: is required");
        assert_eq!(parse(r#"[1]"#).unwrap_err()[0].to_string(), "body: expected an object, found an array");
    }

    #[test]
    fn event_errors_are_prefixed_with_the_event() {
        let errs = parse(r#"{"events":[{"xdm":{}},{"xdm":{"timestamp":1}}]}"#).unwrap_err();
        assert_eq!(errs[0].to_string(), "events[1].xdm.timestamp: expected a string, found a number");
    }

    #[test]
    fn handles_serialise_in_the_adobe_shape() {
        let body = ResponseBody {
            request_id: "r1".into(),
            handle: vec![
                Handle::IdentityResult(vec![IdentityResult {
                    id: "1".into(),
                    namespace: NamespaceRef { code: "ECID".into() },
                }]),
                Handle::StateStore(vec![StoreEntry { key: "k".into(), value: "v".into(), max_age: 60 }]),
            ],
            warnings: vec![],
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"requestId":"r1","handle":[{"type":"identity:result","payload":[{"id":"1","namespace":{"code":"ECID"}}]},{"type":"state:store","payload":[{"key":"k","value":"v","maxAge":60}]}]}"#
        );
    }
}
