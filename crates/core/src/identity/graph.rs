//! The identity graph: which identities are one person, built from link records by rules
//! modelled on Adobe's identity graph linking rules.
//!
//! A [`LinkRecord`] is one observation: the identities seen together in one event (or one
//! source row), with their `authenticatedState` and the time. [`build`] turns a set of records
//! into persons:
//!
//! 1. **Linking.** A record links its identities when it carries at least one person identity
//!    (CRMID, Email, ...) that is `authenticated` or `ambiguous`. `loggedOut` identities are kept
//!    on the event but link nothing; a record of cookies and devices alone links nothing.
//! 2. **Last authenticated user.** A cookie or device belongs to one person at a time: it links
//!    only through its *owning record*, the newest record that authenticates a person on it (or,
//!    when none ever did, the newest that names one ambiguously). When a second person logs in on
//!    a shared browser, the browser moves to them; the first person keeps everything else.
//! 3. **Unique namespaces.** A graph holds at most one identity of a unique namespace (CRMID by
//!    default). Links are applied newest first; a link that would bring a second CRMID into a
//!    graph is dropped and reported ([`GraphEvent::LinkDropped`]), so the most recent link wins.
//! 4. **Cap.** A graph keeps at most `max_identities` (50); beyond that identities are evicted
//!    cookies first, then devices, then person identities, least recently seen first, each
//!    reported ([`GraphEvent::Evicted`]), never silently.
//!
//! The result depends only on the *set* of records: any arrival order, any duplication, gives
//! the same graph (ties are broken by time, then by the record key, then by identity).
//!
//! History follows the same rules in time ([`Graphs::owner_at`]): an event on a cookie at time
//! `t` belongs to the person whose owning-type record on it is the latest at or before `t`; the
//! anonymous history before the first login belongs to the first person who logged in.

use std::cmp::{Ordering, Reverse};
use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::namespace::{NamespaceKind, Namespaces};
use crate::time::Timestamp;
use crate::xdm::AuthenticatedState;

/// An identity: a namespace code and a normalized value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct IdentityKey {
    /// Namespace code (`Email`).
    pub ns: String,
    /// Normalized value.
    pub id: String,
}

impl IdentityKey {
    /// An identity key.
    #[must_use]
    pub fn new(ns: impl Into<String>, id: impl Into<String>) -> Self {
        IdentityKey { ns: ns.into(), id: id.into() }
    }
}

impl fmt::Display for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.ns, self.id)
    }
}

/// An identity as a record saw it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LinkedIdentity {
    /// The identity.
    pub key: IdentityKey,
    /// How it was asserted.
    pub state: AuthState,
}

/// `authenticatedState`, serialisable (the XDM type keeps its JSON spelling elsewhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AuthState {
    /// Not proven.
    Ambiguous,
    /// Proven by a login.
    Authenticated,
    /// The visitor logged out.
    LoggedOut,
}

impl From<AuthenticatedState> for AuthState {
    fn from(s: AuthenticatedState) -> Self {
        match s {
            AuthenticatedState::Ambiguous => AuthState::Ambiguous,
            AuthenticatedState::Authenticated => AuthState::Authenticated,
            AuthenticatedState::LoggedOut => AuthState::LoggedOut,
        }
    }
}

/// Identities seen together once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRecord {
    /// Unique key of the observation (the event id): a record seen twice counts once.
    pub key: String,
    /// When.
    pub at: Timestamp,
    /// The identities, sorted by key, each once.
    pub identities: Vec<LinkedIdentity>,
}

impl LinkRecord {
    /// A record; identities are sorted and deduplicated (an identity given twice keeps its
    /// strongest state: authenticated, then ambiguous, then loggedOut).
    #[must_use]
    pub fn new(key: impl Into<String>, at: Timestamp, identities: impl IntoIterator<Item = LinkedIdentity>) -> Self {
        let mut list: Vec<LinkedIdentity> = identities.into_iter().collect();
        list.sort_by(|a, b| a.key.cmp(&b.key).then(strength(a.state).cmp(&strength(b.state))));
        list.dedup_by(|later, first| later.key == first.key);
        LinkRecord { key: key.into(), at, identities: list }
    }

    fn persons<'a>(&'a self, ns: &'a Namespaces) -> impl Iterator<Item = &'a LinkedIdentity> + 'a {
        self.identities.iter().filter(move |i| ns.kind(&i.key.ns).is_person())
    }

    /// Whether this record authenticates a person.
    #[must_use]
    pub fn authenticates(&self, ns: &Namespaces) -> bool {
        self.persons(ns).any(|i| i.state == AuthState::Authenticated)
    }

    /// Whether this record links identities at all (a person identity, authenticated or
    /// ambiguous, and something else beside it).
    #[must_use]
    pub fn links(&self, ns: &Namespaces) -> bool {
        self.identities.len() > 1 && self.persons(ns).any(|i| i.state != AuthState::LoggedOut)
    }
}

/// Sort rank of a state: strongest first.
fn strength(s: AuthState) -> u8 {
    match s {
        AuthState::Authenticated => 0,
        AuthState::Ambiguous => 1,
        AuthState::LoggedOut => 2,
    }
}

/// Settings of the graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphConfig {
    /// The namespaces.
    pub namespaces: Namespaces,
    /// Most identities in one graph (Adobe's hard limit is 50).
    pub max_identities: usize,
}

impl Default for GraphConfig {
    fn default() -> Self {
        GraphConfig { namespaces: Namespaces::defaults(), max_identities: 50 }
    }
}

/// An identity in a person's graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    /// The identity.
    pub key: IdentityKey,
    /// Its namespace's kind.
    pub kind: NamespaceKind,
    /// First record that saw it.
    pub first_seen: Timestamp,
    /// Last record that saw it.
    pub last_seen: Timestamp,
}

/// One person: a graph of identities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// The highest-ranking identity (lowest priority number, then smallest key): the graph's name.
    pub key: IdentityKey,
    /// Every identity, highest-ranking first.
    pub members: Vec<Member>,
}

impl Person {
    /// Whether this person holds `key`.
    #[must_use]
    pub fn contains(&self, key: &IdentityKey) -> bool {
        self.members.iter().any(|m| &m.key == key)
    }

    /// Whether any identity identifies a person (not only cookies and devices: an anonymous
    /// visitor's graph has none).
    #[must_use]
    pub fn is_known(&self) -> bool {
        self.members.iter().any(|m| m.kind.is_person())
    }
}

/// Something the graph did that a person should be told about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum GraphEvent {
    /// A link was not applied: it would have put two identities of a unique namespace in one
    /// graph, and a newer link already holds that namespace.
    #[serde(rename_all = "camelCase")]
    LinkDropped {
        /// The record whose link was dropped.
        record: String,
        /// The identity it would have linked.
        identity: IdentityKey,
        /// The unique namespace in conflict.
        namespace: String,
        /// The identity of that namespace the graph keeps.
        kept: IdentityKey,
    },
    /// An identity was removed because its graph reached the cap.
    #[serde(rename_all = "camelCase")]
    Evicted {
        /// The graph it was in.
        person: IdentityKey,
        /// The identity removed.
        identity: IdentityKey,
        /// The cap.
        cap: usize,
    },
}

/// The graphs built from a set of records.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Graphs {
    /// Every person, by key.
    pub persons: Vec<Person>,
    /// What was dropped or evicted, in a stable order.
    pub events: Vec<GraphEvent>,
    /// For each cookie or device that ever linked (sorted by device): its owners over time,
    /// for attributing history.
    pub owners: Vec<DeviceOwners>,
}

impl Graphs {
    /// The person holding `key`.
    #[must_use]
    pub fn person_of(&self, key: &IdentityKey) -> Option<&Person> {
        self.persons.iter().find(|p| p.contains(key))
    }

    /// The person an event on cookie/device `key` at time `at` belongs to: the owner at that
    /// time, the first owner for anonymous history before any login, or the graph holding `key`
    /// when it never linked.
    #[must_use]
    pub fn owner_at(&self, key: &IdentityKey, at: Timestamp) -> Option<&IdentityKey> {
        let found = self.owners.binary_search_by(|o| o.device.cmp(key)).ok().map(|i| &self.owners[i].owners);
        match found {
            Some(segments) if !segments.is_empty() => owner_at(segments, at),
            _ => self.person_of(key).map(|p| &p.key),
        }
    }
}

/// A cookie's or device's owners over time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceOwners {
    /// The cookie or device.
    pub device: IdentityKey,
    /// `(since, person key)`, oldest first.
    pub owners: Vec<(Timestamp, IdentityKey)>,
}

/// Union-find over identity indices, each root holding its unique-namespace identities.
struct Components {
    parent: Vec<usize>,
    unique: Vec<BTreeMap<String, usize>>,
}

impl Components {
    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    /// Merges the components of `a` and `b` unless that puts two identities of one unique
    /// namespace together; then returns the namespace and the identity it keeps.
    fn union(&mut self, a: usize, b: usize) -> Result<(), (String, usize)> {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return Ok(());
        }
        for (ns, &held) in &self.unique[ra] {
            if self.unique[rb].get(ns).is_some_and(|&other| other != held) {
                return Err((ns.clone(), held));
            }
        }
        let (big, small) = if self.unique[ra].len() >= self.unique[rb].len() { (ra, rb) } else { (rb, ra) };
        let moved = std::mem::take(&mut self.unique[small]);
        self.unique[big].extend(moved);
        self.parent[small] = big;
        Ok(())
    }
}

/// Builds the graphs of a set of records (see the module documentation for the rules).
#[must_use]
pub fn build(records: &[LinkRecord], config: &GraphConfig) -> Graphs {
    let ns = &config.namespaces;
    // Newest first; duplicates of a record key counted once (the largest copy, whatever order
    // they came in).
    let mut sorted: Vec<&LinkRecord> = records.iter().collect();
    sorted
        .sort_by(|a, b| b.at.cmp(&a.at).then_with(|| b.key.cmp(&a.key)).then_with(|| b.identities.cmp(&a.identities)));
    sorted.dedup_by(|later, first| later.key == first.key);

    // Every identity, with when it was first and last seen.
    let mut seen: BTreeMap<&IdentityKey, (Timestamp, Timestamp)> = BTreeMap::new();
    for r in &sorted {
        for i in &r.identities {
            let e = seen.entry(&i.key).or_insert((r.at, r.at));
            e.0 = e.0.min(r.at);
            e.1 = e.1.max(r.at);
        }
    }
    let keys: Vec<&IdentityKey> = seen.keys().copied().collect();
    let index = |k: &IdentityKey| keys.binary_search(&k).unwrap_or(0);

    // Owning records of cookies and devices: authenticated ones if any exist, else ambiguous.
    let mut owning: BTreeMap<&IdentityKey, (bool, Vec<&LinkRecord>)> = BTreeMap::new();
    for r in sorted.iter().copied().filter(|r| r.links(ns)) {
        let auth = r.authenticates(ns);
        for d in r.identities.iter().filter(|i| !ns.kind(&i.key.ns).is_person()) {
            let entry = owning.entry(&d.key).or_insert((auth, Vec::new()));
            if auth && !entry.0 {
                *entry = (true, Vec::new());
            }
            if auth == entry.0 {
                entry.1.push(r);
            }
        }
    }
    let owner_record = |d: &IdentityKey| owning.get(d).and_then(|(_, rs)| rs.first()).map(|r| r.key.as_str());

    let mut comps = Components {
        parent: (0..keys.len()).collect(),
        unique: keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let mut m = BTreeMap::new();
                if ns.is_unique(&k.ns) {
                    m.insert(k.ns.clone(), i);
                }
                m
            })
            .collect(),
    };
    let rank = |k: &IdentityKey| (ns.priority(&k.ns), k.clone());
    let mut events = Vec::new();
    for r in sorted.iter().copied().filter(|r| r.links(ns)) {
        let mut participants: Vec<&IdentityKey> = r
            .identities
            .iter()
            .filter(|i| {
                if ns.kind(&i.key.ns).is_person() {
                    i.state != AuthState::LoggedOut
                } else {
                    owner_record(&i.key) == Some(r.key.as_str())
                }
            })
            .map(|i| &i.key)
            .collect();
        if participants.len() < 2 || !participants.iter().any(|k| ns.kind(&k.ns).is_person()) {
            continue;
        }
        participants.sort_by_key(|k| rank(k));
        let anchor = index(participants[0]);
        for other in &participants[1..] {
            if let Err((namespace, kept)) = comps.union(anchor, index(other)) {
                events.push(GraphEvent::LinkDropped {
                    record: r.key.clone(),
                    identity: (*other).clone(),
                    namespace,
                    kept: keys[kept].clone(),
                });
            }
        }
    }

    // Components → persons, capped.
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..keys.len() {
        let root = comps.find(i);
        groups.entry(root).or_default().push(i);
    }
    let member = |i: usize| {
        let (first, last) = seen[keys[i]];
        Member { key: keys[i].clone(), kind: ns.kind(&keys[i].ns), first_seen: first, last_seen: last }
    };
    let mut persons = Vec::with_capacity(groups.len());
    for (_, idx) in groups {
        let mut members: Vec<Member> = idx.into_iter().map(member).collect();
        members.sort_by_key(|m| rank(&m.key));
        let name = members[0].key.clone();
        if members.len() > config.max_identities {
            let mut by_eviction: Vec<&Member> = members.iter().collect();
            by_eviction.sort_by(|a, b| eviction_order(a, b, ns));
            let evicted: Vec<IdentityKey> =
                by_eviction[..members.len() - config.max_identities].iter().map(|m| m.key.clone()).collect();
            for identity in &evicted {
                events.push(GraphEvent::Evicted {
                    person: name.clone(),
                    identity: identity.clone(),
                    cap: config.max_identities,
                });
            }
            members.retain(|m| !evicted.contains(&m.key));
        }
        if let Some(first) = members.first() {
            persons.push(Person { key: first.key.clone(), members });
        }
    }
    persons.sort_by(|a, b| a.key.cmp(&b.key));

    // Owners over time, for history: each owning record's best person identity, mapped to the
    // graph that holds it now.
    let graphs_so_far = Graphs { persons, events: Vec::new(), owners: Vec::new() };
    let mut owners = Vec::with_capacity(owning.len());
    for (device, (_, records)) in &owning {
        let mut segments: Vec<(Timestamp, IdentityKey)> = records
            .iter()
            .filter_map(|r| {
                let person = record_person(r, ns)?;
                Some((r.at, graphs_so_far.person_of(&person).map_or(person, |p| p.key.clone())))
            })
            .collect();
        segments.sort();
        segments.dedup();
        owners.push(DeviceOwners { device: (*device).clone(), owners: segments });
    }
    events.sort_by(event_order);
    Graphs { persons: graphs_so_far.persons, events, owners }
}

/// The best-ranked person identity a record asserts (not logged out).
#[must_use]
pub fn record_person(r: &LinkRecord, ns: &Namespaces) -> Option<IdentityKey> {
    r.persons(ns)
        .filter(|i| i.state != AuthState::LoggedOut)
        .map(|i| &i.key)
        .min_by_key(|k| (ns.priority(&k.ns), (*k).clone()))
        .cloned()
}

/// The owners of a cookie or device over time, oldest first: `(since, person identity of the
/// owning record)`, from any set of records that contains it (see [`build`] for which records
/// own). Hosts map each identity to the graph that holds it now.
#[must_use]
pub fn device_owners(device: &IdentityKey, records: &[LinkRecord], ns: &Namespaces) -> Vec<(Timestamp, IdentityKey)> {
    let linking: Vec<&LinkRecord> =
        records.iter().filter(|r| r.links(ns) && r.identities.iter().any(|i| &i.key == device)).collect();
    let any_auth = linking.iter().any(|r| r.authenticates(ns));
    let mut segments: Vec<(Timestamp, IdentityKey)> = linking
        .into_iter()
        .filter(|r| r.authenticates(ns) == any_auth)
        .filter_map(|r| Some((r.at, record_person(r, ns)?)))
        .collect();
    segments.sort();
    segments.dedup();
    segments
}

/// Who owned a device at `at`, given its [`device_owners`] segments: the latest owner at or
/// before `at`, else (anonymous history before the first login) the first owner.
#[must_use]
pub fn owner_at(segments: &[(Timestamp, IdentityKey)], at: Timestamp) -> Option<&IdentityKey> {
    segments.iter().rev().find(|(since, _)| *since <= at).or_else(|| segments.first()).map(|(_, person)| person)
}

fn kind_rank(k: NamespaceKind) -> u8 {
    match k {
        NamespaceKind::Cookie => 0,
        NamespaceKind::Device => 1,
        NamespaceKind::Person => 2,
    }
}

/// Cookies first, then devices, then person identities; least recently seen first; then the
/// lowest-ranking namespace; then by key.
fn eviction_order(a: &Member, b: &Member, ns: &Namespaces) -> Ordering {
    kind_rank(a.kind)
        .cmp(&kind_rank(b.kind))
        .then(a.last_seen.cmp(&b.last_seen))
        .then(Reverse(ns.priority(&a.key.ns)).cmp(&Reverse(ns.priority(&b.key.ns))))
        .then_with(|| a.key.cmp(&b.key))
}

fn event_order(a: &GraphEvent, b: &GraphEvent) -> Ordering {
    fn key(e: &GraphEvent) -> (u8, &str, &IdentityKey, &IdentityKey) {
        match e {
            GraphEvent::LinkDropped { record, identity, kept, .. } => (0, record.as_str(), identity, kept),
            GraphEvent::Evicted { person, identity, .. } => (1, "", person, identity),
        }
    }
    key(a).cmp(&key(b))
}

#[cfg(test)]
mod tests;
