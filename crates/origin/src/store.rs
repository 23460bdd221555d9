//! The origin store: the authority for everything the edges accepted.
//!
//! Storage sits behind the [`Store`] trait so that a distributed store can replace SQLite
//! later; [`SqliteStore`] is the embedded default (one file, WAL journal, schema migrations by
//! `user_version`). A batch is applied in one transaction, and its id is recorded in the same
//! transaction: a batch delivered twice is acknowledged without being applied twice.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use edgecdp_core::sync::{SyncBatch, SyncRecord};
use edgecdp_core::time::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

/// A store failure: the caller answers 503 and the sender retries.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite refused an operation.
    #[error("the SQLite store failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database file could not be opened or prepared.
    #[error("cannot open the database {path}: {source}")]
    Open {
        /// The file.
        path: String,
        /// Why.
        source: rusqlite::Error,
    },
    /// The directory for the database file could not be created.
    #[error("cannot create the directory {path} for the database: {source}")]
    CreateDir {
        /// The directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A stored value could not be encoded.
    #[error("a value could not be encoded for storage: {0}")]
    Encode(#[from] serde_json::Error),
    /// The lock around the connection was poisoned by a panic elsewhere.
    #[error("the store is unavailable after an internal failure")]
    Poisoned,
}

/// What applying a batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Applied {
    /// False when the batch id had been applied before (nothing was changed).
    pub applied: bool,
    /// Events newly stored (a retried request's events already stored are not counted).
    pub events: usize,
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredEvent {
    /// Unique id.
    pub event_id: String,
    /// Datastream it came through.
    pub datastream_id: String,
    /// The visitor's ECID.
    pub ecid: String,
    /// `eventType`.
    pub event_type: Option<String>,
    /// When it happened (RFC 3339).
    pub timestamp: String,
    /// When the edge received it (RFC 3339).
    pub received_at: String,
    /// The batch that delivered it.
    pub batch_id: String,
    /// Which edge sent it.
    pub source: String,
    /// The XDM.
    pub xdm: serde_json::Value,
    /// The free-form data.
    pub data: Option<serde_json::Value>,
}

/// Counts for health and dashboards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Events stored.
    pub events: u64,
    /// Batches applied.
    pub batches: u64,
}

/// Where the origin keeps what the edges accepted.
pub trait Store: Send + Sync + 'static {
    /// Applies a batch atomically, once per batch id.
    ///
    /// # Errors
    /// [`StoreError`] when nothing could be stored; then nothing was.
    fn apply_batch(&self, batch: &SyncBatch, received_at: Timestamp)
    -> Result<Applied, StoreError>;

    /// A visitor's events, newest first.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read.
    fn events_for_ecid(&self, ecid: &str, limit: usize) -> Result<Vec<StoredEvent>, StoreError>;

    /// Counts.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read.
    fn stats(&self) -> Result<Stats, StoreError>;
}

/// The embedded SQLite store.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
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
];

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it.
    ///
    /// # Errors
    /// [`StoreError::Open`] when the file cannot be opened or migrated.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let open_err = |source| StoreError::Open {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let mut conn = Connection::open(path).map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(open_err)?;
        migrate(&mut conn).map_err(open_err)?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Opens an existing database read-only (for inspection while a server writes to it).
    ///
    /// # Errors
    /// [`StoreError::Open`] when the file is missing or not a database.
    pub fn open_read_only(path: &Path) -> Result<SqliteStore, StoreError> {
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|source| StoreError::Open {
                path: path.display().to_string(),
                source,
            })?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    fn conn(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.conn.lock().map_err(|_| StoreError::Poisoned)
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

impl Store for SqliteStore {
    fn apply_batch(
        &self,
        batch: &SyncBatch,
        received_at: Timestamp,
    ) -> Result<Applied, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let seen: Option<i64> = tx
            .query_row(
                "SELECT 1 FROM batches WHERE batch_id = ?1",
                [&batch.batch_id],
                |r| r.get(0),
            )
            .optional()?;
        if seen.is_some() {
            return Ok(Applied {
                applied: false,
                events: 0,
            });
        }
        let mut events = 0;
        {
            let mut insert_event = tx.prepare_cached(
                "INSERT OR IGNORE INTO events
                 (event_id, datastream_id, ecid, event_type, ts, received_at, batch_id, source, xdm, data)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            let mut insert_consent = tx.prepare_cached(
                "INSERT INTO consent_changes (datastream_id, ecid, consent, at, raw, batch_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for record in &batch.records {
                match record {
                    SyncRecord::Events(c) => {
                        for e in &c.events {
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
                }
            }
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
        tx.commit()?;
        Ok(Applied {
            applied: true,
            events,
        })
    }

    fn events_for_ecid(&self, ecid: &str, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(
            "SELECT event_id, datastream_id, ecid, event_type, ts, received_at, batch_id, source, xdm, data
             FROM events WHERE ecid = ?1 ORDER BY ts DESC, event_id LIMIT ?2",
        )?;
        let rows = stmt.query_map(
            params![ecid, i64::try_from(limit).unwrap_or(i64::MAX)],
            |r| {
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
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
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
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgecdp_core::identity::Ecid;
    use edgecdp_core::object;
    use edgecdp_core::sync::{CollectedEvent, CollectedEvents};

    fn batch(id: u8, event_ids: &[&str]) -> SyncBatch {
        SyncBatch::new(
            "test",
            Timestamp(1),
            [id; 16],
            vec![SyncRecord::Events(CollectedEvents {
                datastream_id: "ds".into(),
                ecid: Ecid::mint([1; 16]),
                received_at: Timestamp(2),
                events: event_ids
                    .iter()
                    .map(|id| CollectedEvent {
                        event_id: (*id).into(),
                        event_type: Some("t".into()),
                        timestamp: Timestamp(3),
                        xdm: object! { "eventType" => "t" },
                        data: None,
                    })
                    .collect(),
            })],
        )
    }

    #[test]
    fn a_batch_applies_once_and_events_are_unique() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("sub/s.sqlite")).unwrap();
        let b = batch(1, &["e1", "e2"]);
        assert_eq!(
            store.apply_batch(&b, Timestamp(5)).unwrap(),
            Applied {
                applied: true,
                events: 2
            }
        );
        assert_eq!(
            store.apply_batch(&b, Timestamp(6)).unwrap(),
            Applied {
                applied: false,
                events: 0
            }
        );
        // A retried request arrives in another batch: its events are not stored twice.
        assert_eq!(
            store
                .apply_batch(&batch(2, &["e2", "e3"]), Timestamp(7))
                .unwrap()
                .events,
            1
        );
        assert_eq!(
            store.stats().unwrap(),
            Stats {
                events: 3,
                batches: 2
            }
        );
        let ecid = Ecid::mint([1; 16]);
        let events = store.events_for_ecid(ecid.as_str(), 10).unwrap();
        assert_eq!(events.len(), 3);
        assert_eq!(events[0].xdm["eventType"], "t");
    }

    #[test]
    fn reopening_keeps_data_and_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite");
        SqliteStore::open(&path)
            .unwrap()
            .apply_batch(&batch(1, &["e1"]), Timestamp(5))
            .unwrap();
        let again = SqliteStore::open(&path).unwrap();
        assert_eq!(again.stats().unwrap().events, 1);
        let version: i64 = again
            .conn()
            .unwrap()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, i64::try_from(MIGRATIONS.len()).unwrap());
    }
}
