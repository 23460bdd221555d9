//! The identity graph in SQLite: link records, their identities, and the members table the core's
//! graph rules produce. Everything here runs inside the caller's transaction.

use std::collections::{BTreeMap, BTreeSet};

use edgecdp_core::identity::graph::{self, GraphConfig, LinkRecord, LinkedIdentity, Member};
use edgecdp_core::identity::{Ecid, IdentityKey, NamespaceKind};
use edgecdp_core::time::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;

/// A rebuild that would read more records than this stops and says so: a pathological shared
/// device must not stall the store. (Never reached by real graphs, which the cap keeps small.)
const MAX_CLOSURE_RECORDS: usize = 50_000;

fn kind_name(k: NamespaceKind) -> &'static str {
    match k {
        NamespaceKind::Cookie => "cookie",
        NamespaceKind::Device => "device",
        NamespaceKind::Person => "person",
    }
}

fn kind_from(s: &str) -> NamespaceKind {
    match s {
        "cookie" => NamespaceKind::Cookie,
        "device" => NamespaceKind::Device,
        _ => NamespaceKind::Person,
    }
}

/// Stores records not seen before; returns them.
pub(super) fn insert_records(
    conn: &Connection,
    records: &[LinkRecord],
    source: &str,
) -> Result<Vec<LinkRecord>, StoreError> {
    let mut new = Vec::new();
    let mut insert = conn.prepare_cached(
        "INSERT OR IGNORE INTO link_records (record_key, at, source, identities) VALUES (?1, ?2, ?3, ?4)",
    )?;
    let mut index = conn
        .prepare_cached("INSERT OR IGNORE INTO record_identities (ns, id, record_key, at) VALUES (?1, ?2, ?3, ?4)")?;
    for r in records {
        let added = insert.execute(params![r.key, r.at.millis(), source, serde_json::to_string(&r.identities)?])?;
        if added == 1 {
            for i in &r.identities {
                index.execute(params![i.key.ns, i.key.id, r.key, r.at.millis()])?;
            }
            new.push(r.clone());
        }
    }
    Ok(new)
}

/// A stored record.
pub(super) fn load_record(conn: &Connection, key: &str) -> Result<Option<LinkRecord>, StoreError> {
    let row: Option<(i64, String)> = conn
        .prepare_cached("SELECT at, identities FROM link_records WHERE record_key = ?1")?
        .query_row([key], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match row {
        Some((at, identities)) => {
            let identities: Vec<LinkedIdentity> = serde_json::from_str(&identities)?;
            Ok(Some(LinkRecord::new(key, Timestamp(at), identities)))
        }
        None => Ok(None),
    }
}

/// Every stored record naming `key`.
pub(super) fn records_of(conn: &Connection, key: &IdentityKey) -> Result<Vec<LinkRecord>, StoreError> {
    let keys: Vec<String> = conn
        .prepare_cached("SELECT record_key FROM record_identities WHERE ns = ?1 AND id = ?2")?
        .query_map(params![key.ns, key.id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(keys.len());
    for k in keys {
        if let Some(r) = load_record(conn, &k)? {
            out.push(r);
        }
    }
    Ok(out)
}

/// The records through which `key` links: all of a person identity's, only the owning record
/// of a cookie or device (last authenticated user).
fn linking_records(conn: &Connection, key: &IdentityKey, config: &GraphConfig) -> Result<Vec<LinkRecord>, StoreError> {
    let ns = &config.namespaces;
    let mut records = records_of(conn, key)?;
    if ns.kind(&key.ns).is_person() {
        return Ok(records);
    }
    records.retain(|r| r.links(ns));
    let any_auth = records.iter().any(|r| r.authenticates(ns));
    let owner = records
        .into_iter()
        .filter(|r| r.authenticates(ns) == any_auth)
        .max_by(|a, b| a.at.cmp(&b.at).then_with(|| a.key.cmp(&b.key)));
    Ok(owner.into_iter().collect())
}

/// Rebuilds the graphs that hold `seeds` (and whatever they link to) with the core's rules and
/// stores their members; evicted identities leave the members table.
pub(super) fn recompute(
    conn: &Connection,
    seeds: impl IntoIterator<Item = IdentityKey>,
    config: &GraphConfig,
) -> Result<(), StoreError> {
    let mut visited: BTreeSet<IdentityKey> = BTreeSet::new();
    let mut queue: Vec<IdentityKey> = Vec::new();
    for s in seeds {
        if visited.insert(s.clone()) {
            queue.push(s);
        }
    }
    let mut record_keys = BTreeSet::new();
    let mut records = Vec::new();
    while let Some(k) = queue.pop() {
        for r in linking_records(conn, &k, config)? {
            if record_keys.insert(r.key.clone()) {
                for i in &r.identities {
                    if visited.insert(i.key.clone()) {
                        queue.push(i.key.clone());
                    }
                }
                records.push(r);
            }
        }
        if records.len() > MAX_CLOSURE_RECORDS {
            tracing::warn!(records = records.len(), "identity graph rebuild stopped at the closure limit");
            break;
        }
    }
    let graphs = graph::build(&records, config);
    let version = bump(conn, "graph_version")?;
    let mut upsert = conn.prepare_cached(
        "INSERT INTO graph_members (ns, id, person_ns, person_id, kind, first_seen, last_seen, version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (ns, id) DO UPDATE SET person_ns = ?3, person_id = ?4, kind = ?5, first_seen = ?6, last_seen = ?7, version = ?8",
    )?;
    let mut remove = conn.prepare_cached("DELETE FROM graph_members WHERE ns = ?1 AND id = ?2")?;
    let mut placed = BTreeSet::new();
    for person in &graphs.persons {
        for m in &person.members {
            upsert.execute(params![
                m.key.ns,
                m.key.id,
                person.key.ns,
                person.key.id,
                kind_name(m.kind),
                m.first_seen.millis(),
                m.last_seen.millis(),
                i64::try_from(version).unwrap_or(i64::MAX),
            ])?;
            placed.insert(&m.key);
        }
    }
    for k in visited.iter().filter(|k| !placed.contains(k)) {
        remove.execute(params![k.ns, k.id])?;
    }
    let mut event = conn.prepare_cached("INSERT OR IGNORE INTO graph_events (event, version) VALUES (?1, ?2)")?;
    for e in &graphs.events {
        let new = event.execute(params![serde_json::to_string(e)?, i64::try_from(version).unwrap_or(i64::MAX)])?;
        if new == 1 {
            // Never silent: each dropped link and each eviction is logged once and kept in
            // graph_events (the graph API lists them).
            tracing::warn!(event = ?e, "identity graph");
        }
    }
    Ok(())
}

/// Increments a counter in `meta`, returning the new value.
pub(super) fn bump(conn: &Connection, key: &str) -> Result<u64, StoreError> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, 1) ON CONFLICT (key) DO UPDATE SET value = value + 1",
        [key],
    )?;
    let v: i64 = conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))?;
    Ok(u64::try_from(v).unwrap_or(0))
}

/// A counter in `meta` (0 when never bumped).
pub(super) fn counter(conn: &Connection, key: &str) -> Result<u64, StoreError> {
    let v: Option<i64> = conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?;
    Ok(v.and_then(|v| u64::try_from(v).ok()).unwrap_or(0))
}

/// The person holding `key`.
pub(super) fn person_of(conn: &Connection, key: &IdentityKey) -> Result<Option<IdentityKey>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT person_ns, person_id FROM graph_members WHERE ns = ?1 AND id = ?2")?
        .query_row(params![key.ns, key.id], |r| Ok(IdentityKey::new(r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .optional()?)
}

/// A person's members, highest-ranking first.
pub(super) fn members_of(
    conn: &Connection,
    person: &IdentityKey,
    config: &GraphConfig,
) -> Result<Vec<Member>, StoreError> {
    let mut members: Vec<Member> = conn
        .prepare_cached(
            "SELECT ns, id, kind, first_seen, last_seen FROM graph_members WHERE person_ns = ?1 AND person_id = ?2",
        )?
        .query_map(params![person.ns, person.id], |r| {
            Ok(Member {
                key: IdentityKey::new(r.get::<_, String>(0)?, r.get::<_, String>(1)?),
                kind: kind_from(&r.get::<_, String>(2)?),
                first_seen: Timestamp(r.get(3)?),
                last_seen: Timestamp(r.get(4)?),
            })
        })?
        .collect::<Result<_, _>>()?;
    members.sort_by_key(|m| (config.namespaces.priority(&m.key.ns), m.key.clone()));
    Ok(members)
}

/// The ECIDs whose events may belong to `person`, each with its owners over time (person keys):
/// the person's browsers now, and browsers they used before someone else logged in on them.
pub(super) fn browsers(
    conn: &Connection,
    person: &IdentityKey,
    members: &[Member],
    config: &GraphConfig,
) -> Result<BTreeMap<String, Vec<(Timestamp, IdentityKey)>>, StoreError> {
    let ns = &config.namespaces;
    let mut ecids: BTreeSet<String> =
        members.iter().filter(|m| m.key.ns == Ecid::NAMESPACE).map(|m| m.key.id.clone()).collect();
    for m in members.iter().filter(|m| m.kind.is_person()) {
        for r in records_of(conn, &m.key)? {
            ecids.extend(r.identities.iter().filter(|i| i.key.ns == Ecid::NAMESPACE).map(|i| i.key.id.clone()));
        }
    }
    let mut out = BTreeMap::new();
    for ecid in ecids {
        let device = IdentityKey::new(Ecid::NAMESPACE, ecid.clone());
        let records = records_of(conn, &device)?;
        let mut segments = Vec::new();
        for (since, identity) in graph::device_owners(&device, &records, ns) {
            let owner = person_of(conn, &identity)?.unwrap_or(identity);
            segments.push((since, owner));
        }
        if segments.is_empty() {
            // Never linked: the browser's events are whoever holds it now.
            if let Some(p) = person_of(conn, &device)? {
                segments.push((Timestamp(i64::MIN), p));
            }
        }
        if segments.iter().any(|(_, p)| p == person) {
            out.insert(ecid, segments);
        }
    }
    Ok(out)
}
