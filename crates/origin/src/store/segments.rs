//! Segments in SQLite: definitions with their revisions, each profile's segment and
//! computed-attribute state, memberships, and the log of entries and exits.

use edgecdp_core::identity::graph::{GraphConfig, owner_at};
use edgecdp_core::identity::{Ecid, IdentityKey};
use edgecdp_core::profile::MergePolicy;
use edgecdp_core::segment::set::{Definition, ProfileSegments, Transition};
use edgecdp_core::time::Timestamp;
use edgecdp_core::value::Value;
use rusqlite::{Connection, OptionalExtension, params};

use super::graph::{browsers, members_of, person_of};
use super::profile::{fragments_of, merge_fragment};
use super::{MembershipRow, SegmentInput, SegmentMember, SegmentOutcome, StoreError, StoredSegment, TransitionRow};

/// Migration 5.
pub(super) const MIGRATION: &str = "CREATE TABLE segments (
        id          TEXT PRIMARY KEY,
        name        TEXT NOT NULL,
        description TEXT NOT NULL,
        pql         TEXT NOT NULL,
        revision    INTEGER NOT NULL,
        source      TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
     ) STRICT;
     CREATE TABLE segment_revisions (
        id       TEXT NOT NULL,
        revision INTEGER NOT NULL,
        name     TEXT NOT NULL,
        pql      TEXT NOT NULL,
        source   TEXT NOT NULL,
        at       INTEGER NOT NULL,
        PRIMARY KEY (id, revision)
     ) STRICT;
     CREATE TABLE segment_states (
        ns         TEXT NOT NULL,
        id         TEXT NOT NULL,
        state      BLOB NOT NULL,
        computed   BLOB NOT NULL,
        due        INTEGER,
        through    INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (ns, id)
     ) STRICT;
     CREATE INDEX segment_states_due ON segment_states (due) WHERE due IS NOT NULL;
     CREATE TABLE memberships (
        segment_id              TEXT NOT NULL,
        ns                      TEXT NOT NULL,
        id                      TEXT NOT NULL,
        status                  TEXT NOT NULL,
        last_qualification_time INTEGER NOT NULL,
        valid_until             INTEGER,
        exit_reason             TEXT,
        updated_at              INTEGER NOT NULL,
        PRIMARY KEY (segment_id, ns, id)
     ) STRICT;
     CREATE INDEX memberships_by_profile ON memberships (ns, id);
     CREATE TABLE segment_transitions (
        seq         INTEGER PRIMARY KEY,
        segment_id  TEXT NOT NULL,
        version     INTEGER NOT NULL,
        ns          TEXT NOT NULL,
        id          TEXT NOT NULL,
        status      TEXT NOT NULL,
        at          INTEGER NOT NULL,
        reason      TEXT,
        source      TEXT NOT NULL,
        recorded_at INTEGER NOT NULL
     ) STRICT;
     CREATE INDEX segment_transitions_by_segment ON segment_transitions (segment_id, at);";

fn read_segment(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredSegment> {
    Ok(StoredSegment {
        definition: Definition { id: r.get(0)?, name: r.get(1)?, description: r.get(2)?, pql: r.get(3)? },
        revision: r.get::<_, i64>(4)?.try_into().unwrap_or(0),
        source: r.get(5)?,
        created_at: Timestamp(r.get(6)?),
        updated_at: Timestamp(r.get(7)?),
    })
}

const SEGMENT_COLUMNS: &str = "id, name, description, pql, revision, source, created_at, updated_at";

pub(super) fn all(conn: &Connection) -> Result<Vec<StoredSegment>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {SEGMENT_COLUMNS} FROM segments ORDER BY id"))?;
    Ok(stmt.query_map([], read_segment)?.collect::<Result<_, _>>()?)
}

pub(super) fn put(
    conn: &Connection,
    def: &Definition,
    source: &str,
    now: Timestamp,
) -> Result<StoredSegment, StoreError> {
    let existing = conn
        .prepare_cached(&format!("SELECT {SEGMENT_COLUMNS} FROM segments WHERE id = ?1"))?
        .query_row([&def.id], read_segment)
        .optional()?;
    let unchanged = existing.as_ref().is_some_and(|e| e.definition == *def);
    if let (Some(e), true) = (existing.as_ref(), unchanged) {
        return Ok(e.clone());
    }
    let revision = existing.as_ref().map_or(1, |e| e.revision + 1);
    let created_at = existing.as_ref().map_or(now, |e| e.created_at);
    let rev = i64::try_from(revision).unwrap_or(i64::MAX);
    conn.prepare_cached(
        "INSERT INTO segments (id, name, description, pql, revision, source, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (id) DO UPDATE SET name = ?2, description = ?3, pql = ?4, revision = ?5, source = ?6, updated_at = ?8",
    )?
    .execute(params![def.id, def.name, def.description, def.pql, rev, source, created_at.millis(), now.millis()])?;
    conn.prepare_cached(
        "INSERT INTO segment_revisions (id, revision, name, pql, source, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![def.id, rev, def.name, def.pql, source, now.millis()])?;
    Ok(StoredSegment { definition: def.clone(), revision, source: source.to_owned(), created_at, updated_at: now })
}

pub(super) fn delete(conn: &Connection, id: &str) -> Result<bool, StoreError> {
    let n = conn.execute("DELETE FROM segments WHERE id = ?1", [id])?;
    conn.execute("DELETE FROM memberships WHERE segment_id = ?1", [id])?;
    Ok(n > 0)
}

/// The profile holding `key`: its person, else the key itself when something is known of it.
fn profile_of(conn: &Connection, key: &IdentityKey) -> Result<Option<IdentityKey>, StoreError> {
    if let Some(p) = person_of(conn, key)? {
        return Ok(Some(p));
    }
    let known: Option<i64> = conn
        .prepare_cached(
            "SELECT 1 FROM segment_states WHERE ns = ?1 AND id = ?2
             UNION ALL SELECT 1 FROM events WHERE ?1 = 'ECID' AND ecid = ?2
             UNION ALL SELECT 1 FROM events WHERE identity_ns = ?1 AND identity_id = ?2
             UNION ALL SELECT 1 FROM fragments WHERE ns = ?1 AND id = ?2
             LIMIT 1",
        )?
        .query_row(params![key.ns, key.id], |r| r.get(0))
        .optional()?;
    Ok(known.map(|_| key.clone()))
}

/// A profile's events after `through`, oldest first.
fn events_of(
    conn: &Connection,
    profile: &IdentityKey,
    config: &GraphConfig,
    through: i64,
) -> Result<Vec<(i64, Timestamp, Value)>, StoreError> {
    let read = |r: &rusqlite::Row<'_>| Ok((r.get::<_, i64>(0)?, Timestamp(r.get(1)?), r.get::<_, String>(2)?));
    let mut raw = Vec::new();
    let mut by_ecid = conn.prepare_cached("SELECT rowid, ts, xdm FROM events WHERE ecid = ?1 AND rowid > ?2")?;
    let members = members_of(conn, profile, config)?;
    if members.is_empty() {
        if profile.ns == Ecid::NAMESPACE {
            for row in by_ecid.query_map(params![profile.id, through], read)? {
                raw.push(row?);
            }
        }
    } else {
        for (ecid, owners) in browsers(conn, profile, &members, config)? {
            for row in by_ecid.query_map(params![ecid, through], read)? {
                let row = row?;
                if owner_at(&owners, row.1) == Some(profile) {
                    raw.push(row);
                }
            }
        }
    }
    let mut by_identity = conn.prepare_cached(
        "SELECT rowid, ts, xdm FROM events WHERE identity_ns = ?1 AND identity_id = ?2 AND rowid > ?3",
    )?;
    let person_keys: Vec<IdentityKey> = if members.is_empty() {
        vec![profile.clone()]
    } else {
        members.iter().filter(|m| m.kind.is_person()).map(|m| m.key.clone()).collect()
    };
    for k in person_keys {
        for row in by_identity.query_map(params![k.ns, k.id, through], read)? {
            raw.push(row?);
        }
    }
    raw.sort_by_key(|(seq, ts, _)| (*ts, *seq));
    raw.dedup_by_key(|(seq, _, _)| *seq);
    raw.into_iter().map(|(seq, ts, xdm)| Ok((seq, ts, serde_json::from_str::<Value>(&xdm)?))).collect()
}

pub(super) fn input(
    conn: &Connection,
    key: &IdentityKey,
    policy: &MergePolicy,
    config: &GraphConfig,
    from_start: bool,
) -> Result<Option<SegmentInput>, StoreError> {
    let Some(profile) = profile_of(conn, key)? else { return Ok(None) };
    let members = members_of(conn, &profile, config)?;
    let identities: Vec<IdentityKey> =
        if members.is_empty() { vec![profile.clone()] } else { members.iter().map(|m| m.key.clone()).collect() };
    let attributes =
        policy.merge(&fragments_of(conn, &identities)?).into_iter().map(|(path, s)| (path, s.value)).collect();
    let stored: Option<(Vec<u8>, Vec<u8>, i64)> = conn
        .prepare_cached("SELECT state, computed, through FROM segment_states WHERE ns = ?1 AND id = ?2")?
        .query_row(params![profile.ns, profile.id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    // Browsers of this person that were decided while anonymous.
    let mut merged = Vec::new();
    let mut anon = conn.prepare_cached("SELECT 1 FROM segment_states WHERE ns = ?1 AND id = ?2")?;
    for m in members.iter().filter(|m| m.key != profile) {
        if anon.query_row(params![m.key.ns, m.key.id], |r| r.get::<_, i64>(0)).optional()?.is_some() {
            merged.push(m.key.clone());
        }
    }
    let through = if from_start || !merged.is_empty() { 0 } else { stored.as_ref().map_or(0, |s| s.2) };
    let events = events_of(conn, &profile, config, through)?;
    let (state, computed) = match stored {
        Some((s, c, _)) => (Some(s), Some(c)),
        None => (None, None),
    };
    Ok(Some(SegmentInput { profile, attributes, state, computed, through, events, merged }))
}

fn insert_transitions(
    conn: &Connection,
    profile: &IdentityKey,
    transitions: &[Transition],
    source: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO segment_transitions (segment_id, version, ns, id, status, at, reason, source, recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for t in transitions {
        stmt.execute(params![
            t.segment,
            t.version as i64,
            profile.ns,
            profile.id,
            t.status.as_str(),
            t.at.millis(),
            t.reason.map(|r| r.as_str()),
            source,
            now.millis()
        ])?;
    }
    Ok(())
}

pub(super) fn save(conn: &Connection, o: &SegmentOutcome, source: &str, now: Timestamp) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO segment_states (ns, id, state, computed, due, through, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (ns, id) DO UPDATE SET state = ?3, computed = ?4, due = ?5, through = ?6, updated_at = ?7",
    )?
    .execute(params![o.profile.ns, o.profile.id, o.state, o.computed, o.due.map(Timestamp::millis), o.through, now.millis()])?;
    for k in &o.drop {
        conn.execute("DELETE FROM segment_states WHERE ns = ?1 AND id = ?2", params![k.ns, k.id])?;
        conn.execute("DELETE FROM memberships WHERE ns = ?1 AND id = ?2", params![k.ns, k.id])?;
    }
    // Usually only a few records change: rewriting all of a member of dozens of segments on
    // every event was most of a decision's writes.
    if o.replace_memberships {
        conn.prepare_cached("DELETE FROM memberships WHERE ns = ?1 AND id = ?2")?
            .execute(params![o.profile.ns, o.profile.id])?;
    } else {
        let mut gone = conn.prepare_cached("DELETE FROM memberships WHERE segment_id = ?1 AND ns = ?2 AND id = ?3")?;
        for segment in &o.memberships_gone {
            gone.execute(params![segment, o.profile.ns, o.profile.id])?;
        }
    }
    let mut insert = conn.prepare_cached(
        "INSERT OR REPLACE INTO memberships (segment_id, ns, id, status, last_qualification_time, valid_until, exit_reason, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for (segment, m) in &o.memberships {
        insert.execute(params![
            segment,
            o.profile.ns,
            o.profile.id,
            m.status.as_str(),
            m.last_qualification_time.millis(),
            m.valid_until.map(Timestamp::millis),
            m.exit_reason.map(|r| r.as_str()),
            now.millis()
        ])?;
    }
    insert_transitions(conn, &o.profile, &o.transitions, source, now)?;
    if let Some(f) = &o.computed_fragment {
        merge_fragment(conn, f, now)?;
    }
    Ok(())
}

pub(super) fn log(
    conn: &Connection,
    profile: &IdentityKey,
    transitions: &[Transition],
    source: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    insert_transitions(conn, profile, transitions, source, now)
}

pub(super) fn due(conn: &Connection, now: Timestamp, limit: usize) -> Result<Vec<IdentityKey>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT ns, id FROM segment_states WHERE due IS NOT NULL AND due <= ?1 ORDER BY due LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![now.millis(), i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
        Ok(IdentityKey::new(r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn profile_keys(conn: &Connection) -> Result<Vec<IdentityKey>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT person_ns, person_id FROM graph_members
         UNION SELECT 'ECID', ecid FROM events e WHERE ecid != ''
            AND NOT EXISTS (SELECT 1 FROM graph_members g WHERE g.ns = 'ECID' AND g.id = e.ecid)
         UNION SELECT identity_ns, identity_id FROM events e WHERE identity_ns IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM graph_members g WHERE g.ns = e.identity_ns AND g.id = e.identity_id)",
    )?;
    let rows = stmt.query_map([], |r| Ok(IdentityKey::new(r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn members(
    conn: &Connection,
    segment: &str,
    limit: usize,
    after: Option<&IdentityKey>,
) -> Result<(Vec<SegmentMember>, u64), StoreError> {
    let (ns, id) = after.map_or(("", ""), |k| (k.ns.as_str(), k.id.as_str()));
    let mut stmt = conn.prepare_cached(
        "SELECT ns, id, status, last_qualification_time, valid_until FROM memberships
         WHERE segment_id = ?1 AND status != 'exited' AND (ns > ?2 OR (ns = ?2 AND id > ?3))
         ORDER BY ns, id LIMIT ?4",
    )?;
    let rows = stmt.query_map(params![segment, ns, id, i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
        Ok(SegmentMember {
            profile: IdentityKey::new(r.get::<_, String>(0)?, r.get::<_, String>(1)?),
            status: r.get(2)?,
            last_qualification_time: Timestamp(r.get(3)?),
            valid_until: r.get::<_, Option<i64>>(4)?.map(Timestamp),
        })
    })?;
    let page = rows.collect::<Result<_, _>>()?;
    let total: i64 = conn.query_row(
        "SELECT COUNT(*) FROM memberships WHERE segment_id = ?1 AND status != 'exited'",
        [segment],
        |r| r.get(0),
    )?;
    Ok((page, u64::try_from(total).unwrap_or(0)))
}

pub(super) fn history(conn: &Connection, segment: &str) -> Result<Vec<(Timestamp, bool)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT at, status FROM segment_transitions WHERE segment_id = ?1 AND source = 'origin' ORDER BY at, seq",
    )?;
    let rows = stmt.query_map([segment], |r| Ok((Timestamp(r.get(0)?), r.get::<_, String>(1)? == "realized")))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn transitions(conn: &Connection, segment: &str, limit: usize) -> Result<Vec<TransitionRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT ns, id, status, at, reason, source, recorded_at FROM segment_transitions
         WHERE segment_id = ?1 ORDER BY seq DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![segment, i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
        Ok(TransitionRow {
            profile: IdentityKey::new(r.get::<_, String>(0)?, r.get::<_, String>(1)?),
            status: r.get(2)?,
            at: Timestamp(r.get(3)?),
            reason: r.get(4)?,
            source: r.get(5)?,
            recorded_at: Timestamp(r.get(6)?),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn memberships_of(conn: &Connection, profile: &IdentityKey) -> Result<Vec<MembershipRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT segment_id, status, last_qualification_time, valid_until, exit_reason, updated_at
         FROM memberships WHERE ns = ?1 AND id = ?2 ORDER BY segment_id",
    )?;
    let rows = stmt.query_map(params![profile.ns, profile.id], |r| {
        Ok(MembershipRow {
            segment_id: r.get(0)?,
            profile: profile.clone(),
            status: r.get(1)?,
            last_qualification_time: Timestamp(r.get(2)?),
            valid_until: r.get::<_, Option<i64>>(3)?.map(Timestamp),
            exit_reason: r.get(4)?,
            updated_at: Timestamp(r.get(5)?),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The segment state edges get with a profile's fragment.
pub(super) fn edge_state(conn: &Connection, profile: &IdentityKey) -> Result<Option<ProfileSegments>, StoreError> {
    let blob: Option<Vec<u8>> = conn
        .prepare_cached("SELECT state FROM segment_states WHERE ns = ?1 AND id = ?2")?
        .query_row(params![profile.ns, profile.id], |r| r.get(0))
        .optional()?;
    // A state this build cannot read is rebuilt by the origin; the edge starts afresh meanwhile.
    Ok(blob.and_then(|b| rmp_serde::from_slice(&b).ok()))
}
