//! Identity at the edge: normalizing an event's `identityMap` against the declared namespaces,
//! turning it into a [`LinkRecord`], and deciding, from what the edge knows ([`EdgeFragment`]s
//! cached per identity or fetched from the origin), whose profile the request belongs to.
//!
//! The edge applies the graph rules to the request at hand so the visitor is stitched at once
//! (the login response already names the person); the origin, which sees every record from
//! every edge, is the authority and its views replace the edge's on the next fetch.

use serde::{Deserialize, Serialize};

use super::graph::{AuthState, IdentityKey, LinkRecord, LinkedIdentity};
use super::namespace::Namespaces;
use super::{Ecid, IdentityError};
use crate::field::{FieldError, Path};
use crate::map::ObjectMap;
use crate::time::Timestamp;
use crate::value::Value;
use crate::xdm::{AuthenticatedState, IdentityMap};

/// The edge profile fragment: what an edge knows about the person an identity belongs to —
/// their identities and the merged attributes the edge needs (`edge_attributes`; segments and
/// offers add theirs). Cached under each of the person's identities, encoded with a version
/// header ([`EdgeFragment::encode`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EdgeFragment {
    /// The person's key (their highest-ranking identity).
    pub person: IdentityKey,
    /// Every identity of the person, highest-ranking first.
    pub identities: Vec<IdentityKey>,
    /// Merged profile attributes the edge keeps, by path (`loyalty.tier`).
    #[serde(default)]
    pub attributes: ObjectMap<Value>,
    /// The origin's version this fragment came from; 0 for one the edge made itself.
    pub version: u64,
    /// When the fragment was made: a deletion after this time voids it.
    pub updated_at: Timestamp,
    /// The profile's segment state and memberships (edge segments only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segments: Option<crate::segment::set::ProfileSegments>,
    /// The profile's decisioning state: displays of capped offers, conversions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decisions: Option<crate::decide::DecisionState>,
}

/// The encoding version [`EdgeFragment::encode`] writes as its first byte.
pub const EDGE_FRAGMENT_VERSION: u8 = 1;

/// Why bytes are not an edge fragment.
#[cfg(feature = "msgpack")]
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FragmentDecodeError {
    /// The version byte is not one this build reads.
    #[error("the edge fragment has encoding version {found:?}; this build reads version {EDGE_FRAGMENT_VERSION}")]
    UnsupportedVersion {
        /// The first byte, if any.
        found: Option<u8>,
    },
    /// The body is not a fragment.
    #[error("the edge fragment could not be decoded: {0}")]
    Decode(#[from] rmp_serde::decode::Error),
}

#[cfg(feature = "msgpack")]
impl EdgeFragment {
    /// The version byte, then the fragment as msgpack with field names.
    ///
    /// # Errors
    /// Never for fragments built by this crate; the error is the encoder's.
    pub fn encode(&self) -> Result<Vec<u8>, rmp_serde::encode::Error> {
        let mut out = vec![EDGE_FRAGMENT_VERSION];
        rmp_serde::encode::write_named(&mut out, self)?;
        Ok(out)
    }

    /// Reads what [`EdgeFragment::encode`] wrote.
    ///
    /// # Errors
    /// [`FragmentDecodeError`] for another version or bytes that are not a fragment.
    pub fn decode(bytes: &[u8]) -> Result<EdgeFragment, FragmentDecodeError> {
        match bytes.split_first() {
            Some((&EDGE_FRAGMENT_VERSION, body)) => Ok(rmp_serde::from_slice(body)?),
            other => Err(FragmentDecodeError::UnsupportedVersion { found: other.map(|(v, _)| *v) }),
        }
    }
}

impl EdgeFragment {
    /// Whether the view names a person (not only cookies and devices).
    #[must_use]
    pub fn is_known(&self, ns: &Namespaces) -> bool {
        self.identities.iter().any(|k| ns.kind(&k.ns).is_person())
    }

    fn unique_conflict(&self, other: &[IdentityKey], ns: &Namespaces) -> bool {
        self.identities
            .iter()
            .filter(|k| ns.is_unique(&k.ns))
            .any(|mine| other.iter().any(|o| o.ns == mine.ns && o.id != mine.id))
    }
}

/// Normalizes every identity of an `identityMap` in place (emails lower-cased, phones to E.164,
/// ...), returning a [`FieldError`] for each value that is refused.
pub fn normalize_identity_map(map: &mut IdentityMap, namespaces: &Namespaces, path: &Path<'_>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (code, items) in map.iter_mut() {
        let ns_path = path.key(code);
        if namespaces.get(code).is_none() {
            errors.push(FieldError::Identity {
                path: ns_path.to_string(),
                source: IdentityError::UnknownNamespace { code: crate::field::quote(code) },
            });
            continue;
        }
        for (i, item) in items.iter_mut().enumerate() {
            match namespaces.normalize(code, &item.id) {
                Ok(id) => item.id = id,
                Err(source) => {
                    errors.push(FieldError::Identity { path: ns_path.index(i).key("id").to_string(), source })
                }
            }
        }
    }
    errors
}

/// The link record of an event: the visitor's ECID (ambiguous) and every identity in the
/// event's (normalized) `identityMap`.
#[must_use]
pub fn link_record(event_id: &str, at: Timestamp, ecid: &Ecid, map: &IdentityMap) -> LinkRecord {
    let from_map = map.iter().flat_map(|(ns, items)| {
        items.iter().map(move |i| LinkedIdentity {
            key: IdentityKey::new(ns.clone(), i.id.clone()),
            state: i.authenticated_state.into(),
        })
    });
    let ecid = LinkedIdentity { key: IdentityKey::new(Ecid::NAMESPACE, ecid.as_str()), state: AuthState::Ambiguous };
    LinkRecord::new(event_id, at, std::iter::once(ecid).chain(from_map))
}

/// What the edge decided about a request's identities.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Resolution {
    /// The person the request now belongs to (`None`: an anonymous visitor unknown anywhere).
    pub view: Option<EdgeFragment>,
    /// Views to store, under each identity of the person.
    pub writes: Vec<EdgeFragment>,
}

/// Applies the request's link records, in order, to the views the edge has, for the visitor's
/// cookie `ecid` (see the module documentation of [`super::graph`] for the rules).
///
/// `lookup` gives the view cached or fetched for an identity (already filtered for deletions).
#[must_use]
pub fn resolve(
    ecid: &Ecid,
    records: &[LinkRecord],
    lookup: &dyn Fn(&IdentityKey) -> Option<EdgeFragment>,
    namespaces: &Namespaces,
    now: Timestamp,
) -> Resolution {
    let device = IdentityKey::new(Ecid::NAMESPACE, ecid.as_str());
    let mut current = lookup(&device);
    let mut changed = false;
    for record in records.iter().filter(|r| r.links(namespaces)) {
        let persons: Vec<&LinkedIdentity> = record
            .identities
            .iter()
            .filter(|i| namespaces.kind(&i.key.ns).is_person() && i.state != AuthState::LoggedOut)
            .collect();
        let asserted: Vec<IdentityKey> = persons.iter().map(|i| i.key.clone()).collect();
        // The person the record names: its own identities and the views of them that do not
        // contradict it on a unique namespace (a newer link wins over what was known).
        let mut identities = asserted.clone();
        let mut attributes = ObjectMap::new();
        let mut segments: Option<crate::segment::set::ProfileSegments> = None;
        let mut decisions: Option<crate::decide::DecisionState> = None;
        let mut absorb = |v: &EdgeFragment, identities: &mut Vec<IdentityKey>| {
            identities.extend(v.identities.iter().cloned());
            // Two devices' segment states become one person's (the login stitches them).
            if let Some(theirs) = &v.segments {
                match segments.as_mut() {
                    Some(ours) => ours.absorb(theirs),
                    None => segments = Some(theirs.clone()),
                }
            }
            if let Some(theirs) = &v.decisions {
                match decisions.as_mut() {
                    Some(ours) => ours.absorb(theirs),
                    None => decisions = Some(theirs.clone()),
                }
            }
            for (path, value) in &v.attributes {
                if !attributes.contains_key(path) {
                    attributes.insert(path.clone(), value.clone());
                }
            }
        };
        for key in &asserted {
            if let Some(v) = lookup(key).filter(|v| !v.unique_conflict(&asserted, namespaces)) {
                absorb(&v, &mut identities);
            }
        }
        if let Some(v) = current
            .as_ref()
            .filter(|v| v.identities.iter().any(|k| asserted.contains(k)) && !v.unique_conflict(&asserted, namespaces))
        {
            absorb(v, &mut identities);
        }
        let authenticated = record.authenticates(namespaces);
        // Last authenticated user: a login takes the browser; an ambiguous mention only claims
        // a browser nobody is logged in on.
        let takes_device = authenticated || current.as_ref().is_none_or(|v| !v.is_known(namespaces));
        if takes_device {
            identities.push(device.clone());
            // What the browser did anonymously (its segment state) becomes the person's.
            if let Some(v) = current
                .as_ref()
                .filter(|v| !v.is_known(namespaces) && !v.identities.iter().any(|k| asserted.contains(k)))
            {
                absorb(v, &mut identities);
            }
        }
        let mut view = make_view(identities, namespaces, now);
        view.attributes = attributes;
        view.segments = segments;
        view.decisions = decisions;
        if takes_device {
            current = Some(view.clone());
            changed = true;
        }
        if !takes_device {
            // The mentioned person is still learned (their own graph grows), the browser stays.
            return Resolution { writes: vec![view], view: current };
        }
    }
    Resolution { writes: if changed { current.iter().cloned().collect() } else { Vec::new() }, view: current }
}

fn make_view(identities: Vec<IdentityKey>, ns: &Namespaces, now: Timestamp) -> EdgeFragment {
    // Rank once (priority, then key), then one pass keeps the first of each identity and at
    // most one identity of each unique namespace (the best-ranked).
    let mut ranked: Vec<(u16, IdentityKey)> = identities.into_iter().map(|k| (ns.priority(&k.ns), k)).collect();
    ranked.sort_unstable();
    ranked.dedup();
    let mut unique_seen: Vec<&str> = Vec::new();
    let mut keep = vec![true; ranked.len()];
    for (i, (_, k)) in ranked.iter().enumerate() {
        if ns.is_unique(&k.ns) {
            if unique_seen.contains(&k.ns.as_str()) {
                keep[i] = false;
            } else {
                unique_seen.push(&k.ns);
            }
        }
    }
    let kept: Vec<IdentityKey> = ranked.into_iter().zip(keep).filter_map(|((_, k), keep)| keep.then_some(k)).collect();
    EdgeFragment {
        person: kept.first().cloned().unwrap_or_else(|| IdentityKey::new("", "")),
        identities: kept,
        attributes: ObjectMap::new(),
        version: 0,
        updated_at: now,
        segments: None,
        decisions: None,
    }
}

/// The `identity:result` identities for a visitor: the ECID first, then the person's own
/// identities (not their other browsers' cookies).
#[must_use]
pub fn result_identities(ecid: &Ecid, view: Option<&EdgeFragment>, namespaces: &Namespaces) -> Vec<IdentityKey> {
    let mut out = vec![IdentityKey::new(Ecid::NAMESPACE, ecid.as_str())];
    if let Some(v) = view {
        out.extend(v.identities.iter().filter(|k| namespaces.kind(&k.ns).is_person()).cloned());
    }
    out
}

/// Whether an event's identities authenticate anyone (for callers that only need to know).
#[must_use]
pub fn is_login(map: &IdentityMap) -> bool {
    map.values().flatten().any(|i| i.authenticated_state == AuthenticatedState::Authenticated)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const A: &str = "11111111111111111111111111111111111111";

    fn key(ns: &str, id: &str) -> IdentityKey {
        IdentityKey::new(ns, id)
    }

    fn record(at: i64, ids: &[(&str, &str, AuthState)]) -> LinkRecord {
        let mut all: Vec<LinkedIdentity> =
            ids.iter().map(|(ns, id, state)| LinkedIdentity { key: key(ns, id), state: *state }).collect();
        all.push(LinkedIdentity { key: key("ECID", A), state: AuthState::Ambiguous });
        LinkRecord::new(format!("r{at}"), Timestamp(at), all)
    }

    fn view(ids: &[(&str, &str)]) -> EdgeFragment {
        make_view(ids.iter().map(|(n, i)| key(n, i)).collect(), &Namespaces::defaults(), Timestamp(1))
    }

    #[test]
    fn a_login_stitches_the_browser_to_what_the_origin_knows() {
        let ecid = Ecid::parse(A).unwrap();
        let known: BTreeMap<IdentityKey, EdgeFragment> = [(
            key("CRMID", "crm-1042"),
            view(&[("CRMID", "crm-1042"), ("LoyaltyID", "LY-778"), ("Email", "sarah.rose@example.com")]),
        )]
        .into();
        let lookup = |k: &IdentityKey| known.get(k).cloned();
        let login = record(
            10,
            &[
                ("Email", "sarah.rose@example.com", AuthState::Authenticated),
                ("CRMID", "crm-1042", AuthState::Authenticated),
            ],
        );
        let r = resolve(&ecid, &[login], &lookup, &Namespaces::defaults(), Timestamp(10));
        let v = r.view.unwrap();
        assert_eq!(v.person, key("CRMID", "crm-1042"));
        let ids: Vec<String> = v.identities.iter().map(ToString::to_string).collect();
        assert_eq!(ids, ["CRMID:crm-1042", "Email:sarah.rose@example.com", "LoyaltyID:LY-778", &format!("ECID:{A}")]);
        assert_eq!(r.writes.len(), 1);
        let result: Vec<String> =
            result_identities(&ecid, Some(&v), &Namespaces::defaults()).iter().map(ToString::to_string).collect();
        assert_eq!(
            result,
            [
                format!("ECID:{A}"),
                "CRMID:crm-1042".into(),
                "Email:sarah.rose@example.com".into(),
                "LoyaltyID:LY-778".into()
            ]
        );
    }

    #[test]
    fn a_second_login_takes_the_browser_and_keeps_the_first_person_apart() {
        let ecid = Ecid::parse(A).unwrap();
        let sarah = view(&[("CRMID", "crm-1042"), ("ECID", A)]);
        let known: BTreeMap<IdentityKey, EdgeFragment> =
            [(key("ECID", A), sarah.clone()), (key("CRMID", "crm-1042"), sarah)].into();
        let lookup = |k: &IdentityKey| known.get(k).cloned();
        let bob = record(20, &[("CRMID", "crm-7", AuthState::Authenticated)]);
        let v = resolve(&ecid, &[bob], &lookup, &Namespaces::defaults(), Timestamp(20)).view.unwrap();
        assert_eq!(v.person, key("CRMID", "crm-7"));
        assert!(!v.identities.contains(&key("CRMID", "crm-1042")), "one CRMID per graph");
    }

    #[test]
    fn an_ambiguous_mention_does_not_take_a_logged_in_browser() {
        let ecid = Ecid::parse(A).unwrap();
        let sarah = view(&[("CRMID", "crm-1042"), ("ECID", A)]);
        let known: BTreeMap<IdentityKey, EdgeFragment> = [(key("ECID", A), sarah.clone())].into();
        let lookup = |k: &IdentityKey| known.get(k).cloned();
        let mention = record(30, &[("Email", "friend@example.com", AuthState::Ambiguous)]);
        let r = resolve(&ecid, &[mention], &lookup, &Namespaces::defaults(), Timestamp(30));
        assert_eq!(r.view.unwrap().person, key("CRMID", "crm-1042"));
        assert_eq!(r.writes[0].person, key("Email", "friend@example.com"));
        assert!(!r.writes[0].identities.contains(&key("ECID", A)));
    }

    #[test]
    fn an_anonymous_request_changes_nothing() {
        let ecid = Ecid::parse(A).unwrap();
        let r = resolve(&ecid, &[record(1, &[])], &|_| None, &Namespaces::defaults(), Timestamp(1));
        assert_eq!(r, Resolution::default());
    }
}
