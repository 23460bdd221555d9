//! The graph simulator: events in, the graphs they make out (Adobe's identity graph simulator,
//! for trying linking rules on sample data). Also the reader of link records that sources
//! (CRM, loyalty) send to the origin.

use super::graph::{AuthState, GraphConfig, Graphs, IdentityKey, LinkRecord, LinkedIdentity, build};
use crate::field::{Errors, FieldError, Path};
use crate::limits::Limits;
use crate::time::Timestamp;
use crate::value::Value;
use crate::xdm::Event;

/// Reads events (`{ "xdm": {...} }` or bare XDM `{ "identityMap", "timestamp" }`) into link
/// records; an event without a timestamp takes its position (0, 1, 2, ... milliseconds), so a
/// list reads in order.
///
/// # Errors
/// Every problem, naming `events[i]...`.
pub fn records_from_events(events: &[Value], config: &GraphConfig) -> Result<Vec<LinkRecord>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut records = Vec::with_capacity(events.len());
    let root = Path::Root("events");
    let limits = Limits::new();
    for (i, value) in events.iter().enumerate() {
        let path = root.index(i);
        let wrapped = match value {
            Value::Object(m) if m.contains_key("xdm") => value.clone(),
            other => crate::object! { "xdm" => other.clone() },
        };
        match Event::read(wrapped, &path, &limits, &config.namespaces) {
            Ok(event) => {
                let at = event.xdm.timestamp.unwrap_or(Timestamp(i64::try_from(i).unwrap_or(i64::MAX)));
                let key = event.xdm.id.clone().unwrap_or_else(|| format!("events[{i}]"));
                let identities = event.xdm.identity_map.iter().flat_map(|(ns, items)| {
                    items.iter().map(move |item| LinkedIdentity {
                        key: IdentityKey::new(ns.clone(), item.id.clone()),
                        state: item.authenticated_state.into(),
                    })
                });
                records.push(LinkRecord::new(key, at, identities));
            }
            Err(e) => errors.extend(e),
        }
    }
    if errors.is_empty() { Ok(records) } else { Err(errors) }
}

/// Simulates: the graphs a list of events makes.
///
/// # Errors
/// Every problem with the events, naming `events[i]...`.
pub fn simulate(events: &[Value], config: &GraphConfig) -> Result<Graphs, Vec<FieldError>> {
    records_from_events(events, config).map(|records| build(&records, config))
}

/// Reads one link record sent by a source: `{ "key"?, "at", "identities": [{ "ns", "id",
/// "state"? }] }` (`state` defaults to authenticated: a source system knows its customers).
/// Values are normalized; `key` defaults to `default_key`.
///
/// # Errors
/// Every problem with the record, naming its fields under `path`.
pub fn read_link_record(
    value: Value,
    path: &Path<'_>,
    default_key: &str,
    config: &GraphConfig,
) -> Result<LinkRecord, Vec<FieldError>> {
    let mut errs = Errors::new();
    let Some(mut m) = errs.object(value, path) else {
        return Err(errs.into_vec());
    };
    let key = errs.take_str(&mut m, "key", path).unwrap_or_else(|| default_key.to_owned());
    let at = match errs.take_str(&mut m, "at", path) {
        Some(t) => Timestamp::parse_rfc3339(&t)
            .map_err(|e| {
                errs.push(FieldError::InvalidValue {
                    path: path.key("at").to_string(),
                    expected: "an RFC 3339 date-time".into(),
                    found: crate::field::quote(&e.found),
                });
            })
            .ok(),
        None => {
            errs.push(FieldError::Missing { path: path.key("at").to_string() });
            None
        }
    };
    let list = errs.take_array(&mut m, "identities", path).unwrap_or_default();
    let list_path = path.key("identities");
    let mut identities = Vec::new();
    for (i, item) in list.into_iter().enumerate() {
        let p = list_path.index(i);
        let Some(mut o) = errs.object(item, &p) else {
            continue;
        };
        let ns = errs.take_str(&mut o, "ns", &p);
        let id = errs.take_str(&mut o, "id", &p);
        let state = match errs.take_str(&mut o, "state", &p).as_deref() {
            None | Some("authenticated") => Some(AuthState::Authenticated),
            Some("ambiguous") => Some(AuthState::Ambiguous),
            Some("loggedOut") => Some(AuthState::LoggedOut),
            Some(other) => {
                errs.push(FieldError::InvalidValue {
                    path: p.key("state").to_string(),
                    expected: "one of \"authenticated\", \"ambiguous\", \"loggedOut\"".into(),
                    found: crate::field::quote(other),
                });
                None
            }
        };
        let (Some(ns), Some(id), Some(state)) = (ns, id, state) else {
            if !o.is_empty() || errs.is_empty() {
                errs.push(FieldError::Missing { path: p.key("ns").to_string() });
            }
            continue;
        };
        match config.namespaces.normalize(&ns, &id) {
            Ok(id) => identities.push(LinkedIdentity { key: IdentityKey::new(ns, id), state }),
            Err(source) => errs.push(FieldError::Identity { path: p.key("id").to_string(), source }),
        }
    }
    if identities.len() < 2 && errs.is_empty() {
        errs.push(FieldError::InvalidValue {
            path: list_path.to_string(),
            expected: "at least two identities to link".into(),
            found: format!("{}", identities.len()),
        });
    }
    let at = at.unwrap_or(Timestamp(0));
    errs.finish(LinkRecord::new(key, at, identities))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<Value> {
        serde_json::from_str::<Value>(text).unwrap().as_array().unwrap().to_vec()
    }

    #[test]
    fn simulates_the_luma_story_from_events() {
        let events = parse(
            r#"[
            {"identityMap":{"ECID":[{"id":"11111111111111111111111111111111111111"}]}},
            {"identityMap":{"ECID":[{"id":"11111111111111111111111111111111111111"}],"Email":[{"id":"Sarah.Rose@example.com","authenticatedState":"authenticated"}],"CRMID":[{"id":"crm-1042","authenticatedState":"authenticated"}]}},
            {"xdm":{"identityMap":{"ECID":[{"id":"22222222222222222222222222222222222222"}],"Email":[{"id":"sarah.rose@example.com"}]}}}
        ]"#,
        );
        let g = simulate(&events, &GraphConfig::default()).unwrap();
        assert_eq!(g.persons.len(), 1);
        assert_eq!(g.persons[0].members.len(), 4);
    }

    #[test]
    fn bad_events_are_named() {
        let events = parse(r#"[{"identityMap":{"Email":[{"id":"nope"}]}},{"identityMap":{"Fax":[{"id":"1"}]}}]"#);
        let errors = simulate(&events, &GraphConfig::default()).unwrap_err();
        let paths: Vec<&str> = errors.iter().map(FieldError::path).collect();
        assert_eq!(paths, ["events[0].xdm.identityMap.Email[0].id", "events[1].xdm.identityMap.Fax"]);
    }

    #[test]
    fn source_link_records_are_read_and_checked() {
        let v: Value = serde_json::from_str(r#"{"at":"2026-07-01T00:00:00Z","identities":[{"ns":"CRMID","id":"crm-1042"},{"ns":"LoyaltyID","id":" LY-778 "}]}"#).unwrap();
        let r = read_link_record(v, &Path::Root("row 1"), "loyalty:1", &GraphConfig::default()).unwrap();
        assert_eq!(r.key, "loyalty:1");
        assert_eq!(r.identities[1].key, IdentityKey::new("LoyaltyID", "LY-778"));
        let bad: Value = serde_json::from_str(
            r#"{"identities":[{"ns":"CRMID","id":"null"},{"ns":"Nope","id":"x","state":"maybe"}]}"#,
        )
        .unwrap();
        let errors = read_link_record(bad, &Path::Root("row 2"), "k", &GraphConfig::default()).unwrap_err();
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(messages[0].starts_with("row 2.at: is required"), "{messages:?}");
        assert!(messages.iter().any(|m| m.contains("identities[0].id") && m.contains("placeholder")), "{messages:?}");
        assert!(messages.iter().any(|m| m.contains("identities[1].state")), "{messages:?}");
    }
}
