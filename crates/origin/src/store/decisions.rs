//! Activities and offers as stored (each change a new revision), the events decisioning state
//! is rebuilt from, and the per-experience counts of display and interact notifications.

use edgecdp_core::decide::{DISPLAY_EVENT, INTERACT_EVENT};
use edgecdp_core::time::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

use super::{ExperienceCounts, StoreError, StoredDefinition};

/// Migration 6.
pub(super) const MIGRATION: &str = "CREATE TABLE definitions (
        kind       TEXT NOT NULL,
        id         TEXT NOT NULL,
        body       TEXT NOT NULL,
        revision   INTEGER NOT NULL,
        source     TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (kind, id)
     ) STRICT;
     CREATE TABLE definition_revisions (
        kind     TEXT NOT NULL,
        id       TEXT NOT NULL,
        revision INTEGER NOT NULL,
        body     TEXT,
        source   TEXT NOT NULL,
        at       INTEGER NOT NULL,
        PRIMARY KEY (kind, id, revision)
     ) STRICT;
     CREATE INDEX events_by_type ON events (event_type, ts);";

fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredDefinition> {
    let body: String = r.get(1)?;
    Ok(StoredDefinition {
        id: r.get(0)?,
        body: serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
        revision: r.get::<_, i64>(2)?.try_into().unwrap_or(0),
        source: r.get(3)?,
        created_at: Timestamp(r.get(4)?),
        updated_at: Timestamp(r.get(5)?),
    })
}

const COLUMNS: &str = "id, body, revision, source, created_at, updated_at";

pub(super) fn all(conn: &Connection, kind: &str) -> Result<Vec<StoredDefinition>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM definitions WHERE kind = ?1 ORDER BY id"))?;
    Ok(stmt.query_map([kind], read)?.collect::<Result<_, _>>()?)
}

pub(super) fn put(
    conn: &Connection,
    kind: &str,
    id: &str,
    body: &serde_json::Value,
    source: &str,
    now: Timestamp,
) -> Result<StoredDefinition, StoreError> {
    let existing = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM definitions WHERE kind = ?1 AND id = ?2"))?
        .query_row([kind, id], read)
        .optional()?;
    if let Some(e) = existing.as_ref().filter(|e| e.body == *body) {
        return Ok(e.clone());
    }
    let revision = existing.as_ref().map_or(1, |e| e.revision + 1);
    let created_at = existing.as_ref().map_or(now, |e| e.created_at);
    let rev = i64::try_from(revision).unwrap_or(i64::MAX);
    let text = body.to_string();
    conn.prepare_cached(
        "INSERT INTO definitions (kind, id, body, revision, source, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (kind, id) DO UPDATE SET body = ?3, revision = ?4, source = ?5, updated_at = ?7",
    )?
    .execute(params![kind, id, text, rev, source, created_at.millis(), now.millis()])?;
    conn.prepare_cached(
        "INSERT INTO definition_revisions (kind, id, revision, body, source, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![kind, id, rev, text, source, now.millis()])?;
    Ok(StoredDefinition {
        id: id.to_owned(),
        body: body.clone(),
        revision,
        source: source.to_owned(),
        created_at,
        updated_at: now,
    })
}

pub(super) fn delete(
    conn: &Connection,
    kind: &str,
    id: &str,
    source: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let revision: Option<i64> = conn
        .prepare_cached("SELECT revision FROM definitions WHERE kind = ?1 AND id = ?2")?
        .query_row([kind, id], |r| r.get(0))
        .optional()?;
    let Some(revision) = revision else { return Ok(false) };
    conn.execute("DELETE FROM definitions WHERE kind = ?1 AND id = ?2", [kind, id])?;
    conn.prepare_cached(
        "INSERT INTO definition_revisions (kind, id, revision, body, source, at) VALUES (?1, ?2, ?3, NULL, ?4, ?5)",
    )?
    .execute(params![kind, id, revision + 1, source, now.millis()])?;
    Ok(true)
}

/// Display and interact notifications naming `activity`, per experience; with `conversion`
/// (the activity's conversion event type), the browsers that sent it at or after their first
/// display of the experience.
pub(super) fn counts(
    conn: &Connection,
    activity: &str,
    conversion: Option<&str>,
) -> Result<Vec<ExperienceCounts>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "WITH notes AS (
            SELECT json_extract(p.value, '$.scopeDetails.experience.id') AS experience,
                   e.ecid, e.ts, e.event_type
            FROM events e, json_each(e.xdm, '$._experience.decisioning.propositions') p
            WHERE e.event_type IN (?2, ?3)
              AND json_extract(p.value, '$.scopeDetails.activity.id') = ?1),
         shown AS (
            SELECT experience, ecid, min(ts) AS first FROM notes WHERE event_type = ?2 GROUP BY experience, ecid),
         converted AS (
            SELECT s.experience, count(*) AS n FROM shown s
            WHERE ?4 IS NOT NULL
              AND EXISTS (SELECT 1 FROM events c WHERE c.ecid = s.ecid AND c.event_type = ?4 AND c.ts >= s.first)
            GROUP BY s.experience)
         SELECT n.experience, sum(n.event_type = ?2), sum(n.event_type = ?3), count(DISTINCT n.ecid),
                coalesce((SELECT c.n FROM converted c WHERE c.experience IS n.experience), 0)
         FROM notes n GROUP BY n.experience ORDER BY n.experience",
    )?;
    let rows = stmt.query_map(params![activity, DISPLAY_EVENT, INTERACT_EVENT, conversion], |r| {
        Ok(ExperienceCounts {
            experience: r.get::<_, Option<String>>(0)?.unwrap_or_default(),
            displays: r.get::<_, i64>(1)?.try_into().unwrap_or(0),
            interactions: r.get::<_, i64>(2)?.try_into().unwrap_or(0),
            visitors: r.get::<_, i64>(3)?.try_into().unwrap_or(0),
            conversions: r.get::<_, i64>(4)?.try_into().unwrap_or(0),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
