//! The embedded SQLite store.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use edgecdp_core::identity::graph::{GraphConfig, GraphEvent, owner_at};
use edgecdp_core::identity::resolve::EdgeFragment;
use edgecdp_core::identity::{Ecid, IdentityKey, LinkRecord};
use edgecdp_core::profile::MergePolicy;
use edgecdp_core::snapshot::{ProfileConfig, Tombstone};
use edgecdp_core::sync::{SyncBatch, SyncRecord};
use edgecdp_core::time::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

use super::graph::{self, browsers, counter, insert_records, members_of, person_of, recompute, records_of};
use super::profile::{self, fragments_of};
use super::{
    Applied, DeletionReport, EventsPage, GraphReport, ProfileView, QuarantinedRow, SegmentInput, SegmentMember,
    SegmentOutcome, Stats, Store, StoreError, StoredEvent, StoredSegment, segments,
};
use edgecdp_core::decide::RECORD_READS;
use edgecdp_core::segment::set::{Definition, Transition};

/// The embedded SQLite store: one connection writes (and reads what must wait for writes),
/// more connections read what an edge request needs, beside it.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    readers: Arc<Readers>,
    graph: Arc<GraphConfig>,
}

/// Connections for the reads an edge request makes (its visitor's view and decisioning
/// events). In WAL mode readers run beside the one writer, each seeing the commits made before
/// its read began, so a request's view read does not wait for a commit under way.
struct Readers {
    /// The database file; none for a read-only store (its one connection reads).
    path: Option<std::path::PathBuf>,
    idle: Mutex<Vec<Connection>>,
}

/// Most reader connections kept open while idle.
const IDLE_READERS: usize = 8;

fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let open_err = |source| StoreError::Open { path: path.display().to_string(), source };
    let conn = Connection::open(path).map_err(open_err)?;
    conn.pragma_update(None, "query_only", true).map_err(open_err)?;
    conn.set_prepared_statement_cache_capacity(128);
    conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(open_err)?;
    Ok(conn)
}

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    // 1: batches, events, consent changes.
    "CREATE TABLE batches (
        batch_id    TEXT PRIMARY KEY,
        source      TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        records     INTEGER NOT NULL
     ) STRICT;
     CREATE TABLE events (
        event_id      TEXT PRIMARY KEY,
        datastream_id TEXT NOT NULL,
        ecid          TEXT NOT NULL,
        event_type    TEXT,
        ts            INTEGER NOT NULL,
        received_at   INTEGER NOT NULL,
        batch_id      TEXT NOT NULL,
        source        TEXT NOT NULL,
        xdm           TEXT NOT NULL,
        data          TEXT
     ) STRICT;
     CREATE INDEX events_by_ecid ON events (ecid, ts DESC);
     CREATE TABLE consent_changes (
        id            INTEGER PRIMARY KEY,
        datastream_id TEXT NOT NULL,
        ecid          TEXT NOT NULL,
        consent       TEXT NOT NULL,
        at            INTEGER NOT NULL,
        raw           TEXT NOT NULL,
        batch_id      TEXT NOT NULL
     ) STRICT;
     CREATE INDEX consent_by_ecid ON consent_changes (ecid, at DESC);",
    // 2: the identity graph, deletions.
    "CREATE TABLE link_records (
        record_key TEXT PRIMARY KEY,
        at         INTEGER NOT NULL,
        source     TEXT NOT NULL,
        identities TEXT NOT NULL
     ) STRICT;
     CREATE TABLE record_identities (
        ns         TEXT NOT NULL,
        id         TEXT NOT NULL,
        record_key TEXT NOT NULL,
        at         INTEGER NOT NULL,
        PRIMARY KEY (ns, id, record_key)
     ) STRICT, WITHOUT ROWID;
     CREATE INDEX record_identities_by_record ON record_identities (record_key);
     CREATE TABLE graph_members (
        ns         TEXT NOT NULL,
        id         TEXT NOT NULL,
        person_ns  TEXT NOT NULL,
        person_id  TEXT NOT NULL,
        kind       TEXT NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen  INTEGER NOT NULL,
        version    INTEGER NOT NULL,
        PRIMARY KEY (ns, id)
     ) STRICT;
     CREATE INDEX graph_members_by_person ON graph_members (person_ns, person_id);
     CREATE TABLE graph_events (
        id      INTEGER PRIMARY KEY,
        event   TEXT NOT NULL UNIQUE,
        version INTEGER NOT NULL
     ) STRICT;
     CREATE TABLE deletions (
        id           INTEGER PRIMARY KEY,
        at           INTEGER NOT NULL,
        requested_by TEXT NOT NULL,
        requested    TEXT NOT NULL,
        identities   TEXT NOT NULL,
        counts       TEXT NOT NULL
     ) STRICT;
     CREATE TABLE tombstones (
        ns         TEXT NOT NULL,
        id         TEXT NOT NULL,
        deleted_at INTEGER NOT NULL,
        PRIMARY KEY (ns, id)
     ) STRICT;
     CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT;",
    // 3: profile fragments, events keyed by a person identity, quarantined source rows.
    "CREATE TABLE fragments (
        dataset    TEXT NOT NULL,
        ns         TEXT NOT NULL,
        id         TEXT NOT NULL,
        attrs      TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (dataset, ns, id)
     ) STRICT;
     CREATE INDEX fragments_by_identity ON fragments (ns, id);
     ALTER TABLE events ADD COLUMN identity_ns TEXT;
     ALTER TABLE events ADD COLUMN identity_id TEXT;
     CREATE INDEX events_by_identity ON events (identity_ns, identity_id, ts DESC);
     CREATE TABLE quarantine (
        dataset  TEXT NOT NULL,
        batch_id TEXT NOT NULL,
        row      INTEGER NOT NULL,
        reason   TEXT NOT NULL,
        raw      TEXT NOT NULL,
        at       INTEGER NOT NULL,
        PRIMARY KEY (dataset, batch_id, row)
     ) STRICT;",
    // 4: the import log (files imported into each dataset, by content).
    "CREATE TABLE imports (
        dataset      TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        file         TEXT NOT NULL,
        at           INTEGER NOT NULL,
        rows         INTEGER NOT NULL,
        quarantined  INTEGER NOT NULL,
        PRIMARY KEY (dataset, content_hash)
     ) STRICT;",
    // 5: segments, segment and computed-attribute state, memberships, entries and exits.
    super::segments::MIGRATION,
    // 6: activities and offers, events by type.
    super::decisions::MIGRATION,
    // 7: a browser's or a person's events of some types, newest first (the decisioning state
    // reads the newest notifications without scanning the visitor's whole history).
    "CREATE INDEX events_by_ecid_type ON events (ecid, event_type, ts DESC);
     CREATE INDEX events_by_identity_type ON events (identity_ns, identity_id, event_type, ts DESC);",
];

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it.
    ///
    /// # Errors
    /// [`StoreError::Open`] when the file cannot be opened or migrated.
    pub fn open(path: &Path, graph: GraphConfig) -> Result<SqliteStore, StoreError> {
        let open_err = |source| StoreError::Open { path: path.display().to_string(), source };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|source| StoreError::CreateDir { path: dir.display().to_string(), source })?;
        }
        let mut conn = Connection::open(path).map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(open_err)?;
        // The store's queries outnumber rusqlite's default cache of 16: re-preparing them cost
        // about a tenth of an edge request.
        conn.set_prepared_statement_cache_capacity(128);
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(open_err)?;
        migrate(&mut conn).map_err(open_err)?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            readers: Arc::new(Readers { path: Some(path.to_owned()), idle: Mutex::new(Vec::new()) }),
            graph: Arc::new(graph),
        })
    }

    /// Opens an existing database read-only (for inspection while a server writes to it).
    ///
    /// # Errors
    /// [`StoreError::Open`] when the file is missing or not a database.
    pub fn open_read_only(path: &Path, graph: GraphConfig) -> Result<SqliteStore, StoreError> {
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|source| StoreError::Open { path: path.display().to_string(), source })?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            readers: Arc::new(Readers { path: None, idle: Mutex::new(Vec::new()) }),
            graph: Arc::new(graph),
        })
    }

    fn conn(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.conn.lock().map_err(|_| StoreError::Poisoned)
    }

    /// Runs `read` on a reader connection (an idle one, else a new one).
    fn read<T>(&self, read: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let Some(path) = &self.readers.path else { return read(&*self.conn()?) };
        let idle = self.readers.idle.lock().map_err(|_| StoreError::Poisoned)?.pop();
        let conn = match idle {
            Some(conn) => conn,
            None => open_reader(path)?,
        };
        let out = read(&conn);
        let mut idle = self.readers.idle.lock().map_err(|_| StoreError::Poisoned)?;
        if idle.len() < IDLE_READERS {
            idle.push(conn);
        }
        out
    }
}

fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let done: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(done) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// The time of a fragment's latest write (what a tombstone is compared with).
fn latest_write(f: &edgecdp_core::profile::Fragment) -> Timestamp {
    f.attrs.values().map(|r| r.at).max().unwrap_or(Timestamp(i64::MIN))
}

/// When `key` was deleted, if it was.
fn deleted_at(conn: &Connection, key: &IdentityKey) -> Result<Option<Timestamp>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT deleted_at FROM tombstones WHERE ns = ?1 AND id = ?2")?
        .query_row(params![key.ns, key.id], |r| r.get(0))
        .optional()?
        .map(Timestamp))
}

/// Whether a record is about a deleted identity from before its deletion (a late delivery).
fn forgotten(
    conn: &Connection,
    identities: impl IntoIterator<Item = IdentityKey>,
    at: Timestamp,
) -> Result<bool, StoreError> {
    for k in identities {
        if deleted_at(conn, &k)?.is_some_and(|d| at <= d) {
            return Ok(true);
        }
    }
    Ok(false)
}

fn read_event(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredEvent> {
    let xdm: String = r.get(8)?;
    let data: Option<String> = r.get(9)?;
    Ok(StoredEvent {
        event_id: r.get(0)?,
        datastream_id: r.get(1)?,
        ecid: r.get(2)?,
        event_type: r.get(3)?,
        timestamp: Timestamp(r.get(4)?).to_rfc3339(),
        received_at: Timestamp(r.get(5)?).to_rfc3339(),
        batch_id: r.get(6)?,
        source: r.get(7)?,
        xdm: serde_json::from_str(&xdm).unwrap_or(serde_json::Value::Null),
        data: data.and_then(|d| serde_json::from_str(&d).ok()),
    })
}

const EVENT_COLUMNS: &str = "event_id, datastream_id, ecid, event_type, ts, received_at, batch_id, source, xdm, data";

/// [`EVENT_COLUMNS`] for decisioning state: the XDM trimmed in SQLite to what recording reads
/// ([`RECORD_READS`]), so an active visitor's notifications are not parsed whole.
static TRIMMED_COLUMNS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let fields: Vec<String> = RECORD_READS.iter().map(|f| format!("'{f}', xdm -> '$.{f}'")).collect();
    format!(
        "event_id, datastream_id, ecid, event_type, ts, received_at, batch_id, source, json_object({}), NULL",
        fields.join(", ")
    )
});

/// Where a source's events are: a browser's, or a person identity's (imported events).
enum Source<'a> {
    Browser(&'a str),
    Identity(&'a IdentityKey),
}

/// The newest `limit` events of a source, newest first, through the `(…, ts DESC)` indexes: all
/// of them, or, with `kinds`, those of each of these types (XDM trimmed, [`TRIMMED_COLUMNS`]).
fn newest_events(
    conn: &Connection,
    source: &Source<'_>,
    kinds: Option<&[String]>,
    limit: i64,
) -> rusqlite::Result<Vec<StoredEvent>> {
    let (filter, mut args): (&str, Vec<&dyn rusqlite::ToSql>) = match source {
        Source::Browser(ecid) => ("ecid = ?1", vec![ecid]),
        Source::Identity(key) => ("identity_ns = ?1 AND identity_id = ?2", vec![&key.ns, &key.id]),
    };
    args.push(&limit);
    let limit_at = args.len();
    let Some(kinds) = kinds else {
        let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE {filter} ORDER BY ts DESC LIMIT ?{limit_at}");
        return conn.prepare_cached(&sql)?.query_map(rusqlite::params_from_iter(args), read_event)?.collect();
    };
    let sql = format!(
        "SELECT {} FROM events WHERE {filter} AND event_type = ?{} ORDER BY ts DESC LIMIT ?{limit_at}",
        *TRIMMED_COLUMNS,
        limit_at + 1
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = Vec::new();
    for kind in kinds {
        let with_kind = args.iter().copied().chain([kind as &dyn rusqlite::ToSql]);
        rows.extend(stmt.query_map(rusqlite::params_from_iter(with_kind), read_event)?.collect::<Result<Vec<_>, _>>()?);
    }
    Ok(rows)
}

/// Events of the person on each of their browsers while the browser was theirs, newest first.
fn person_events_in(
    conn: &Connection,
    person: &IdentityKey,
    config: &GraphConfig,
    limit: usize,
) -> Result<Vec<StoredEvent>, StoreError> {
    person_events_of(conn, person, config, limit, None)
}

/// [`person_events_in`], or, when `types` is given, only events of these types with their XDM
/// trimmed for decisioning state ([`TRIMMED_COLUMNS`]), read through the `…_type` indexes.
fn person_events_of(
    conn: &Connection,
    person: &IdentityKey,
    config: &GraphConfig,
    limit: usize,
    types: Option<&[String]>,
) -> Result<Vec<StoredEvent>, StoreError> {
    let members = members_of(conn, person, config)?;
    let mut events = Vec::new();
    // Each source gives its newest `limit` of each type (the merged newest `limit` are among
    // them), walking the (…, event_type, ts) indexes: a long history is not read whole.
    let sql_limit = i64::try_from(limit).unwrap_or(i64::MAX);
    for (ecid, segments) in browsers(conn, person, &members, config)? {
        let mut rows = newest_events(conn, &Source::Browser(&ecid), types, sql_limit)?;
        let owned = |e: &StoredEvent| {
            owner_at(&segments, Timestamp::parse_rfc3339(&e.timestamp).unwrap_or(Timestamp(0))) == Some(person)
        };
        // A browser shared with another person: its newest `limit` less the other's may miss
        // older events of this one; read it whole then.
        if rows.len() >= limit && !rows.iter().all(owned) {
            rows = newest_events(conn, &Source::Browser(&ecid), types, i64::MAX)?;
        }
        events.extend(rows.into_iter().filter(|e| owned(e)));
    }
    for m in members.iter().filter(|m| m.kind.is_person()) {
        events.extend(newest_events(conn, &Source::Identity(&m.key), types, sql_limit)?);
    }
    events.sort_by(|a, b| b.timestamp.cmp(&a.timestamp).then_with(|| a.event_id.cmp(&b.event_id)));
    events.truncate(limit);
    Ok(events)
}

impl SqliteStore {
    /// Applies one batch inside `tx` (not committed): a batch id seen before is not applied again.
    fn apply_in(
        &self,
        tx: &rusqlite::Transaction<'_>,
        batch: &SyncBatch,
        received_at: Timestamp,
    ) -> Result<Applied, StoreError> {
        let seen: Option<i64> =
            tx.query_row("SELECT 1 FROM batches WHERE batch_id = ?1", [&batch.batch_id], |r| r.get(0)).optional()?;
        if seen.is_some() {
            return Ok(Applied { applied: false, events: 0, forgotten: 0 });
        }
        let mut events = 0;
        let mut dropped = 0;
        let mut seeds = BTreeSet::new();
        {
            let mut insert_event = tx.prepare_cached(&format!(
                "INSERT OR IGNORE INTO events ({EVENT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
            ))?;
            let mut insert_consent = tx.prepare_cached(
                "INSERT INTO consent_changes (datastream_id, ecid, consent, at, raw, batch_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for record in &batch.records {
                match record {
                    SyncRecord::Events(c) => {
                        // One tombstone lookup per visitor, not per event.
                        let device = IdentityKey::new(Ecid::NAMESPACE, c.ecid.as_str());
                        let deleted = deleted_at(tx, &device)?;
                        for e in &c.events {
                            if deleted.is_some_and(|d| e.timestamp <= d) {
                                dropped += 1;
                                continue;
                            }
                            let data = e.data.as_ref().map(serde_json::to_string).transpose()?;
                            events += insert_event.execute(params![
                                e.event_id,
                                c.datastream_id,
                                c.ecid.as_str(),
                                e.event_type,
                                e.timestamp.millis(),
                                c.received_at.millis(),
                                batch.batch_id,
                                batch.source,
                                serde_json::to_string(&e.xdm)?,
                                data,
                            ])?;
                        }
                    }
                    SyncRecord::Consent(c) => {
                        insert_consent.execute(params![
                            c.datastream_id,
                            c.ecid.as_str(),
                            c.consent.as_str(),
                            c.at.millis(),
                            serde_json::to_string(&c.raw)?,
                            batch.batch_id,
                        ])?;
                    }
                    SyncRecord::Fragments(updates) => {
                        for f in &updates.fragments {
                            if forgotten(tx, [f.identity.clone()], latest_write(f))? {
                                continue;
                            }
                            profile::merge_fragment(tx, f, received_at)?;
                        }
                    }
                    SyncRecord::IdentifiedEvents(imported) => {
                        let mut insert = tx.prepare_cached(&format!(
                            "INSERT OR IGNORE INTO events ({EVENT_COLUMNS}, identity_ns, identity_id)
                             VALUES (?1, ?2, '', ?3, ?4, ?5, ?6, ?7, ?8, NULL, ?9, ?10)"
                        ))?;
                        for e in &imported.events {
                            if forgotten(tx, [e.identity.clone()], e.timestamp)? {
                                dropped += 1;
                                continue;
                            }
                            events += insert.execute(params![
                                e.event_id,
                                imported.dataset,
                                e.event_type,
                                e.timestamp.millis(),
                                received_at.millis(),
                                batch.batch_id,
                                batch.source,
                                serde_json::to_string(&e.xdm)?,
                                e.identity.ns,
                                e.identity.id,
                            ])?;
                        }
                    }
                    // Decided by the segment engine after the batch is stored (it logs them).
                    SyncRecord::Memberships(_) => {}
                    SyncRecord::Links(links) => {
                        let mut keep = Vec::with_capacity(links.records.len());
                        for r in &links.records {
                            if !forgotten(tx, r.identities.iter().map(|i| i.key.clone()), r.at)? {
                                keep.push(r.clone());
                            }
                        }
                        for r in insert_records(tx, &keep, &links.source)? {
                            seeds.extend(r.identities.into_iter().map(|i| i.key));
                        }
                    }
                }
            }
        }
        if !seeds.is_empty() {
            recompute(tx, seeds, &self.graph)?;
        }
        tx.execute(
            "INSERT INTO batches (batch_id, source, created_at, received_at, records) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                batch.batch_id,
                batch.source,
                batch.created_at.millis(),
                received_at.millis(),
                i64::try_from(batch.records.len()).unwrap_or(i64::MAX)
            ],
        )?;
        Ok(Applied { applied: true, events, forgotten: dropped })
    }
}

impl Store for SqliteStore {
    fn apply_batch(&self, batch: &SyncBatch, received_at: Timestamp) -> Result<Applied, StoreError> {
        Ok(self.apply_batches(&[(batch, received_at)])?.pop().unwrap_or(Applied {
            applied: false,
            events: 0,
            forgotten: 0,
        }))
    }

    fn apply_batches(&self, batches: &[(&SyncBatch, Timestamp)]) -> Result<Vec<Applied>, StoreError> {
        let mut conn = self.conn()?;
        // Takes the write lock first: a read transaction that upgrades while another process
        // (a backup, a migration) writes gets SQLITE_BUSY at once, without the busy timeout.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let applied = batches.iter().map(|(b, at)| self.apply_in(&tx, b, *at)).collect::<Result<Vec<_>, _>>()?;
        tx.commit()?;
        Ok(applied)
    }

    fn add_link_records(&self, records: &[LinkRecord], source: &str) -> Result<usize, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let new = insert_records(&tx, records, source)?;
        let seeds: BTreeSet<IdentityKey> =
            new.iter().flat_map(|r| r.identities.iter().map(|i| i.key.clone())).collect();
        if !seeds.is_empty() {
            recompute(&tx, seeds, &self.graph)?;
        }
        tx.commit()?;
        Ok(new.len())
    }

    fn events_for_ecid(&self, ecid: &str, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE ecid = ?1 ORDER BY ts DESC, event_id LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![ecid, i64::try_from(limit).unwrap_or(i64::MAX)], read_event)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn decisioning_events(
        &self,
        key: &IdentityKey,
        types: &[String],
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.read(|conn| {
            let mut events = match person_of(conn, key)? {
                Some(person) => person_events_of(conn, &person, &self.graph, limit, Some(types))?,
                None if key.ns == "ECID" => newest_events(
                    conn,
                    &Source::Browser(&key.id),
                    Some(types),
                    i64::try_from(limit).unwrap_or(i64::MAX),
                )?,
                None => Vec::new(),
            };
            events.sort_by(|a, b| b.timestamp.cmp(&a.timestamp).then_with(|| a.event_id.cmp(&b.event_id)));
            events.truncate(limit);
            Ok(events)
        })
    }

    fn definitions(&self, kind: &str) -> Result<Vec<super::StoredDefinition>, StoreError> {
        super::decisions::all(&*self.conn()?, kind)
    }

    fn put_definition(
        &self,
        kind: &str,
        id: &str,
        body: &serde_json::Value,
        source: &str,
        now: Timestamp,
    ) -> Result<super::StoredDefinition, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let stored = super::decisions::put(&tx, kind, id, body, source, now)?;
        tx.commit()?;
        Ok(stored)
    }

    fn delete_definition(&self, kind: &str, id: &str, source: &str, now: Timestamp) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let deleted = super::decisions::delete(&tx, kind, id, source, now)?;
        tx.commit()?;
        Ok(deleted)
    }

    fn activity_counts(
        &self,
        activity: &str,
        conversion: Option<&str>,
    ) -> Result<Vec<super::ExperienceCounts>, StoreError> {
        super::decisions::counts(&*self.conn()?, activity, conversion)
    }

    fn edge_fragment(
        &self,
        key: &IdentityKey,
        now: Timestamp,
        profile: &ProfileConfig,
    ) -> Result<Option<EdgeFragment>, StoreError> {
        self.read(|conn| {
            let Some(person) = person_of(conn, key)? else {
                // An anonymous browser: only its segment state, when the origin decided one.
                return Ok(segments::edge_state(conn, key)?.map(|state| EdgeFragment {
                    person: key.clone(),
                    identities: vec![key.clone()],
                    attributes: Default::default(),
                    version: 0,
                    updated_at: now,
                    segments: Some(state),
                    decisions: None,
                }));
            };
            let members = members_of(conn, &person, &self.graph)?;
            let identities: Vec<IdentityKey> = members.into_iter().map(|m| m.key).collect();
            let merged = profile.merge_policy.merge(&fragments_of(conn, &identities)?);
            let wanted = |path: &str| {
                profile
                    .edge_attributes
                    .iter()
                    .any(|p| path == p || path.strip_prefix(p.as_str()).is_some_and(|r| r.starts_with('.')))
            };
            let attributes =
                merged.into_iter().filter(|(path, _)| wanted(path)).map(|(path, s)| (path, s.value)).collect();
            let segments = segments::edge_state(conn, &person)?;
            Ok(Some(EdgeFragment {
                person,
                identities,
                attributes,
                version: counter(conn, "graph_version")?,
                updated_at: now,
                segments,
                decisions: None,
            }))
        })
    }

    fn profile(
        &self,
        key: &IdentityKey,
        policy: &MergePolicy,
        page: EventsPage,
    ) -> Result<Option<ProfileView>, StoreError> {
        let conn = self.conn()?;
        let Some(person) = person_of(&conn, key)? else {
            return Ok(None);
        };
        let members = members_of(&conn, &person, &self.graph)?;
        let keys: Vec<IdentityKey> = members.iter().map(|m| m.key.clone()).collect();
        let fragments = fragments_of(&conn, &keys)?;
        let mut events = person_events_in(&conn, &person, &self.graph, usize::MAX)?;
        if let Some(before) = page.before {
            events.retain(|e| Timestamp::parse_rfc3339(&e.timestamp).is_ok_and(|t| t < before));
        }
        let more = events.len() > page.limit;
        events.truncate(page.limit);
        let next_before = if more { events.last().map(|e| e.timestamp.clone()) } else { None };
        let memberships = segments::memberships_of(&conn, &person)?;
        Ok(Some(ProfileView {
            attributes: policy.merge(&fragments),
            merge_policy: policy.clone(),
            person,
            identities: members,
            fragments,
            events,
            next_before,
            memberships,
        }))
    }

    fn graph(&self, key: &IdentityKey) -> Result<Option<GraphReport>, StoreError> {
        let conn = self.conn()?;
        let Some(person) = person_of(&conn, key)? else {
            return Ok(None);
        };
        let members = members_of(&conn, &person, &self.graph)?;
        let keys: BTreeSet<&IdentityKey> = members.iter().map(|m| &m.key).collect();
        let mut events = Vec::new();
        let mut stmt = conn.prepare_cached("SELECT event FROM graph_events ORDER BY id")?;
        for row in stmt.query_map([], |r| r.get::<_, String>(0))? {
            let event: GraphEvent = serde_json::from_str(&row?)?;
            let concerns = match &event {
                GraphEvent::LinkDropped { identity, kept, .. } => keys.contains(identity) || keys.contains(kept),
                GraphEvent::Evicted { person: p, .. } => keys.contains(p),
            };
            if concerns {
                events.push(event);
            }
        }
        Ok(Some(GraphReport { person, identities: members, events, version: counter(&conn, "graph_version")? }))
    }

    fn person_events(&self, key: &IdentityKey, limit: usize) -> Result<Option<Vec<StoredEvent>>, StoreError> {
        let conn = self.conn()?;
        let Some(person) = person_of(&conn, key)? else {
            return Ok(None);
        };
        person_events_in(&conn, &person, &self.graph, limit).map(Some)
    }

    fn delete_person(
        &self,
        key: &IdentityKey,
        requested_by: &str,
        now: Timestamp,
    ) -> Result<Option<DeletionReport>, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let Some(person) = person_of(&tx, key)? else {
            return Ok(None);
        };
        let members = members_of(&tx, &person, &self.graph)?;
        let identities: Vec<IdentityKey> = members.iter().map(|m| m.key.clone()).collect();
        // Events: everything on their browsers while the browsers were theirs.
        let events = person_events_in(&tx, &person, &self.graph, usize::MAX)?;
        for e in &events {
            tx.execute("DELETE FROM events WHERE event_id = ?1", [&e.event_id])?;
        }
        // Link records: every observation of their person identities, and of their browsers.
        let mut records = BTreeSet::new();
        for m in &members {
            for r in records_of(&tx, &m.key)? {
                let theirs = m.kind.is_person()
                    || r.identities
                        .iter()
                        .all(|i| !self.graph.namespaces.kind(&i.key.ns).is_person() || identities.contains(&i.key));
                if theirs {
                    records.insert(r.key);
                }
            }
        }
        let mut touched = BTreeSet::new();
        for r in &records {
            if let Some(rec) = graph::load_record(&tx, r)? {
                touched.extend(rec.identities.into_iter().map(|i| i.key).filter(|k| !identities.contains(k)));
            }
            tx.execute("DELETE FROM record_identities WHERE record_key = ?1", [r])?;
            tx.execute("DELETE FROM link_records WHERE record_key = ?1", [r])?;
        }
        let mut fragments = 0;
        for k in &identities {
            fragments += tx.execute("DELETE FROM fragments WHERE ns = ?1 AND id = ?2", params![k.ns, k.id])?;
        }
        let mut consents = 0;
        for k in identities.iter().filter(|k| k.ns == Ecid::NAMESPACE) {
            consents += tx.execute("DELETE FROM consent_changes WHERE ecid = ?1", [&k.id])?;
        }
        for k in &identities {
            // Segment state, memberships and their log name the person too.
            tx.execute("DELETE FROM segment_states WHERE ns = ?1 AND id = ?2", params![k.ns, k.id])?;
            tx.execute("DELETE FROM memberships WHERE ns = ?1 AND id = ?2", params![k.ns, k.id])?;
            tx.execute("DELETE FROM segment_transitions WHERE ns = ?1 AND id = ?2", params![k.ns, k.id])?;
            tx.execute("DELETE FROM graph_members WHERE ns = ?1 AND id = ?2", params![k.ns, k.id])?;
            tx.execute(
                "INSERT INTO tombstones (ns, id, deleted_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (ns, id) DO UPDATE SET deleted_at = ?3",
                params![k.ns, k.id, now.millis()],
            )?;
        }
        if !touched.is_empty() {
            recompute(&tx, touched, &self.graph)?;
        }
        let counts = serde_json::json!({ "events": events.len(), "linkRecords": records.len(), "consents": consents, "fragments": fragments });
        tx.execute(
            "INSERT INTO deletions (at, requested_by, requested, identities, counts) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                now.millis(),
                requested_by,
                key.to_string(),
                serde_json::to_string(&identities)?,
                counts.to_string()
            ],
        )?;
        let deletion_id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(Some(DeletionReport {
            deletion_id,
            at: now.to_rfc3339(),
            requested: key.clone(),
            identities,
            events: events.len(),
            link_records: records.len(),
            consents,
            fragments,
        }))
    }

    fn quarantine(&self, dataset: &str, batch_id: &str, rows: &[QuarantinedRow]) -> Result<usize, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let mut added = 0;
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO quarantine (dataset, batch_id, row, reason, raw, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            let at = crate::server::now();
            for r in rows {
                let row = i64::try_from(r.row).unwrap_or(i64::MAX);
                added += insert.execute(params![dataset, batch_id, row, r.reason, r.raw, at.millis()])?;
            }
        }
        tx.commit()?;
        Ok(added)
    }

    fn quarantined(&self, dataset: &str, limit: usize) -> Result<Vec<(String, QuarantinedRow)>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(
            "SELECT batch_id, row, reason, raw FROM quarantine WHERE dataset = ?1 ORDER BY at DESC, batch_id, row LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![dataset, i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
            Ok((
                r.get::<_, String>(0)?,
                QuarantinedRow {
                    row: usize::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                    reason: r.get(2)?,
                    raw: r.get(3)?,
                },
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn tombstones(&self, since: Timestamp) -> Result<Vec<Tombstone>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached("SELECT ns, id, deleted_at FROM tombstones WHERE deleted_at >= ?1")?;
        let rows = stmt.query_map([since.millis()], |r| {
            Ok(Tombstone {
                key: IdentityKey::new(r.get::<_, String>(0)?, r.get::<_, String>(1)?),
                deleted_at: Timestamp(r.get(2)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn next_snapshot_version(&self) -> Result<u64, StoreError> {
        let conn = self.conn()?;
        graph::bump(&conn, "snapshot_version")
    }

    fn stats(&self) -> Result<Stats, StoreError> {
        let conn = self.conn()?;
        let count = |sql: &str| -> Result<u64, StoreError> {
            let n: i64 = conn.query_row(sql, [], |r| r.get(0))?;
            Ok(u64::try_from(n).unwrap_or(0))
        };
        Ok(Stats {
            events: count("SELECT count(*) FROM events")?,
            batches: count("SELECT count(*) FROM batches")?,
            identities: count("SELECT count(*) FROM graph_members")?,
            link_records: count("SELECT count(*) FROM link_records")?,
        })
    }

    fn imported_file(&self, dataset: &str, content_hash: &str) -> Result<Option<super::ImportedFile>, StoreError> {
        super::imports::imported_file(&*self.conn()?, dataset, content_hash)
    }

    fn segments(&self) -> Result<Vec<StoredSegment>, StoreError> {
        segments::all(&*self.conn()?)
    }

    fn put_segment(&self, definition: &Definition, source: &str, now: Timestamp) -> Result<StoredSegment, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let stored = segments::put(&tx, definition, source, now)?;
        tx.commit()?;
        Ok(stored)
    }

    fn delete_segment(&self, id: &str) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let deleted = segments::delete(&tx, id)?;
        tx.commit()?;
        Ok(deleted)
    }

    fn segment_input(
        &self,
        key: &IdentityKey,
        policy: &MergePolicy,
        from_start: bool,
    ) -> Result<Option<SegmentInput>, StoreError> {
        segments::input(&*self.conn()?, key, policy, &self.graph, from_start)
    }

    fn save_segment_outcomes(
        &self,
        outcomes: &[SegmentOutcome],
        source: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        // A decision is derived from events already committed (with fsync) and saved with the
        // point it folded up to: if a power cut loses it, the next decision redoes it. So it is
        // committed without waiting for the disk (WAL, synchronous = NORMAL); the next FULL
        // commit makes it durable too.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let saved = (|| -> Result<(), StoreError> {
            let tx = conn.transaction()?;
            for outcome in outcomes {
                segments::save(&tx, outcome, source, now)?;
            }
            tx.commit()?;
            Ok(())
        })();
        conn.pragma_update(None, "synchronous", "FULL")?;
        saved
    }

    fn log_transitions(
        &self,
        profile: &IdentityKey,
        transitions: &[Transition],
        source: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        segments::log(&*self.conn()?, profile, transitions, source, now)
    }

    fn due_profiles(&self, now: Timestamp, limit: usize) -> Result<Vec<IdentityKey>, StoreError> {
        segments::due(&*self.conn()?, now, limit)
    }

    fn profile_keys(&self) -> Result<Vec<IdentityKey>, StoreError> {
        segments::profile_keys(&*self.conn()?)
    }

    fn segment_members(
        &self,
        segment: &str,
        limit: usize,
        after: Option<&IdentityKey>,
    ) -> Result<(Vec<SegmentMember>, u64), StoreError> {
        segments::members(&*self.conn()?, segment, limit, after)
    }

    fn segment_history(&self, segment: &str) -> Result<Vec<(Timestamp, bool)>, StoreError> {
        segments::history(&*self.conn()?, segment)
    }

    fn segment_transitions(&self, segment: &str, limit: usize) -> Result<Vec<super::TransitionRow>, StoreError> {
        segments::transitions(&*self.conn()?, segment, limit)
    }

    fn meta(&self, key: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.conn()?.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
    }

    fn set_meta(&self, key: &str, value: i64) -> Result<(), StoreError> {
        self.conn()?.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2",
            params![key, value],
        )?;
        Ok(())
    }

    fn record_import(&self, dataset: &str, file: &super::ImportedFile) -> Result<bool, StoreError> {
        super::imports::record_import(&*self.conn()?, dataset, file)
    }
}

#[cfg(test)]
mod tests;
