//! The origin store: the authority for everything the edges accepted and the identity graph.
//!
//! Storage sits behind the [`Store`] trait so that a distributed store can replace SQLite
//! later; [`SqliteStore`] is the embedded default (one file, WAL journal, schema migrations by
//! `user_version`). A batch is applied in one transaction, and its id is recorded in the same
//! transaction: a batch delivered twice is acknowledged without being applied twice.
//!
//! The identity graph follows `edgecdp_core::identity::graph`: link records from every edge and
//! source are kept, and after each change the graphs they touch are rebuilt by the core's rules
//! and stored as members (identity → person), so a person is found by any of their identities.

mod decisions;
mod graph;
mod imports;
mod profile;
mod segments;
mod sqlite;

pub use sqlite::SqliteStore;

use edgecdp_core::identity::graph::{GraphEvent, Member};
use edgecdp_core::identity::resolve::EdgeFragment;
use edgecdp_core::identity::{IdentityKey, LinkRecord};
use edgecdp_core::map::ObjectMap;
use edgecdp_core::profile::{Fragment, MergePolicy, Merged};
use edgecdp_core::segment::set::{Definition, Membership, Transition};
use edgecdp_core::snapshot::{ProfileConfig, Tombstone};
use edgecdp_core::sync::SyncBatch;
use edgecdp_core::time::Timestamp;
use edgecdp_core::value::Value;
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
    /// A stored value could not be encoded or decoded.
    #[error("a stored value could not be encoded or decoded: {0}")]
    Encode(#[from] serde_json::Error),
    /// A segment or computed-attribute state could not be encoded.
    #[error("a profile's segment state could not be encoded: {0}")]
    State(String),
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
    /// Events refused because they belong to a deleted person (late deliveries).
    pub forgotten: usize,
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
    /// Identities in graphs.
    pub identities: u64,
    /// Link records kept.
    pub link_records: u64,
}

/// Which events a profile view lists: newest first, `limit` of them, older than `before` (an
/// RFC 3339 time from the previous page's `nextBefore`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventsPage {
    /// How many.
    pub limit: usize,
    /// Only events strictly older than this.
    pub before: Option<Timestamp>,
}

/// The 360° view of a person.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileView {
    /// The person's key.
    pub person: IdentityKey,
    /// Every identity, highest-ranking first.
    pub identities: Vec<Member>,
    /// Merged attributes by path, each with its source (dataset, identity, time).
    pub attributes: Merged,
    /// The merge policy that made them.
    pub merge_policy: MergePolicy,
    /// Each fragment as stored.
    pub fragments: Vec<Fragment>,
    /// A page of the person's events, newest first.
    pub events: Vec<StoredEvent>,
    /// `before` for the next page, when there may be one.
    pub next_before: Option<String>,
    /// Segment memberships (current and exited), as the origin decided them.
    pub memberships: Vec<MembershipRow>,
}

/// An activity or offer as stored (its JSON definition): every change is a new revision.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredDefinition {
    /// Its id.
    pub id: String,
    /// The definition, as JSON.
    pub body: serde_json::Value,
    /// 1 for the first, then one more for every change.
    pub revision: u64,
    /// Who wrote it: `config` or `api`.
    pub source: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// Notifications naming one experience of an activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExperienceCounts {
    /// The experience's id.
    pub experience: String,
    /// Display notifications.
    pub displays: u64,
    /// Interact notifications (clicks inside the content).
    pub interactions: u64,
    /// Distinct browsers (ECIDs) that sent either.
    pub visitors: u64,
    /// Distinct browsers that sent the activity's conversion event at or after their first
    /// display of this experience (none when the activity has no conversion).
    pub conversions: u64,
}

/// A segment definition as stored: every change is a new revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredSegment {
    /// The definition.
    #[serde(flatten)]
    pub definition: Definition,
    /// 1 for the first, then one more for every change.
    pub revision: u64,
    /// Who wrote it: `config` or `api`.
    pub source: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// A profile's membership of one segment, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MembershipRow {
    /// The segment.
    pub segment_id: String,
    /// The profile (a person, or an anonymous browser's ECID).
    pub profile: IdentityKey,
    /// `realized`, `existing` or `exited`.
    pub status: String,
    /// When it last qualified.
    pub last_qualification_time: Timestamp,
    /// Until when it holds without new events.
    pub valid_until: Option<Timestamp>,
    /// Why it was left.
    pub exit_reason: Option<String>,
    /// When this record last changed.
    pub updated_at: Timestamp,
}

/// What the segment engine needs to decide one profile.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentInput {
    /// The profile: the person holding the identity asked for, or an anonymous ECID.
    pub profile: IdentityKey,
    /// The merged attributes (flat paths).
    pub attributes: ObjectMap<Value>,
    /// The stored segment state (msgpack), if any.
    pub state: Option<Vec<u8>>,
    /// The stored computed-attribute state (msgpack), if any.
    pub computed: Option<Vec<u8>>,
    /// Events are folded up to this one (a store-wide event sequence number).
    pub through: i64,
    /// The profile's events after `through` (all of them when asked from the start), oldest
    /// first: `(sequence, time, XDM)`.
    pub events: Vec<(i64, Timestamp, Value)>,
    /// Other profiles merged into this one since they were decided (anonymous browsers that
    /// logged in): their state is dropped when this one is saved.
    pub merged: Vec<IdentityKey>,
}

/// What the segment engine decided for one profile, saved atomically.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentOutcome {
    /// The profile.
    pub profile: IdentityKey,
    /// Its new segment state (msgpack).
    pub state: Vec<u8>,
    /// Its new computed-attribute state (msgpack).
    pub computed: Vec<u8>,
    /// When to decide again without new events.
    pub due: Option<Timestamp>,
    /// Events folded through this sequence number.
    pub through: i64,
    /// The membership records to write: every one of the profile (`replace_memberships`), or
    /// only those that changed since its stored state.
    pub memberships: Vec<(String, Membership)>,
    /// Segments whose record the profile no longer has (when not replacing).
    pub memberships_gone: Vec<String>,
    /// Whether `memberships` is the profile's whole set (a rebuild, a merge, a first decision).
    pub replace_memberships: bool,
    /// Entries and exits to log.
    pub transitions: Vec<Transition>,
    /// Computed attributes to write to the profile (dataset `computed`), when they changed.
    pub computed_fragment: Option<Fragment>,
    /// Profiles whose state this one absorbed.
    pub drop: Vec<IdentityKey>,
}

/// An entry into or an exit from a segment, as logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransitionRow {
    /// The profile.
    pub profile: IdentityKey,
    /// `realized` or `exited`.
    pub status: String,
    /// When it happened.
    pub at: Timestamp,
    /// Why, for an exit.
    pub reason: Option<String>,
    /// Who decided it: `origin`, or `edge:<name>`.
    pub source: String,
    /// When it was logged.
    pub recorded_at: Timestamp,
}

/// A member of a segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SegmentMember {
    /// The profile.
    pub profile: IdentityKey,
    /// `realized` or `existing`.
    pub status: String,
    /// When it last qualified.
    pub last_qualification_time: Timestamp,
    /// Until when it holds without new events.
    pub valid_until: Option<Timestamp>,
}

/// A person's identity graph, for the admin API.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphReport {
    /// The person's key.
    pub person: IdentityKey,
    /// Every identity, highest-ranking first.
    pub identities: Vec<Member>,
    /// Links dropped and identities evicted that concern this person.
    pub events: Vec<GraphEvent>,
    /// The graph version.
    pub version: u64,
}

/// What a deletion removed (also kept as its audit record).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletionReport {
    /// The audit record's id.
    pub deletion_id: i64,
    /// When.
    pub at: String,
    /// The identity the request named.
    pub requested: IdentityKey,
    /// Every identity removed.
    pub identities: Vec<IdentityKey>,
    /// Events removed.
    pub events: usize,
    /// Link records removed.
    pub link_records: usize,
    /// Consent records removed.
    pub consents: usize,
    /// Profile fragments removed.
    pub fragments: usize,
}

/// A source row that could not be imported, kept with its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuarantinedRow {
    /// Its number in the file (1 = the first data row; CSV headers are not counted).
    pub row: usize,
    /// Why it was not imported (every problem, as sentences).
    pub reason: String,
    /// The row as it was read.
    pub raw: String,
}

/// A file imported into a dataset, as the import log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportedFile {
    /// SHA-256 of its content (hex): how the file is recognised.
    pub content_hash: String,
    /// Its name (or where it came from: `api`).
    pub file: String,
    /// When it was imported.
    pub at: Timestamp,
    /// Data rows read.
    pub rows: usize,
    /// Rows quarantined.
    pub quarantined: usize,
}

/// Where the origin keeps what the edges accepted.
pub trait Store: Send + Sync + 'static {
    /// Applies a batch atomically, once per batch id.
    ///
    /// # Errors
    /// [`StoreError`] when nothing could be stored; then nothing was.
    fn apply_batch(&self, batch: &SyncBatch, received_at: Timestamp) -> Result<Applied, StoreError>;

    /// Applies several batches in one transaction, committed (and synced to disk) once: all or
    /// none (a store without transactions applies them one by one). Answers per batch, in order.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails; nothing is applied.
    fn apply_batches(&self, batches: &[(&SyncBatch, Timestamp)]) -> Result<Vec<Applied>, StoreError> {
        batches.iter().map(|(b, at)| self.apply_batch(b, *at)).collect()
    }

    /// Adds link records from a source (CRM, loyalty), rebuilding the graphs they touch.
    /// Returns how many were new.
    ///
    /// # Errors
    /// [`StoreError`] when nothing could be stored; then nothing was.
    fn add_link_records(&self, records: &[LinkRecord], source: &str) -> Result<usize, StoreError>;

    /// A visitor's events, newest first.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read.
    fn events_for_ecid(&self, ecid: &str, limit: usize) -> Result<Vec<StoredEvent>, StoreError>;

    /// The events of these types of the profile holding `key` (the person's on each of their
    /// browsers, or the browser's own when `key` is an ECID no person holds), newest first, at
    /// most `limit`, for decisioning state: their XDM holds only `eventType` and `_experience`.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read.
    fn decisioning_events(
        &self,
        key: &IdentityKey,
        types: &[String],
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError>;

    /// The stored definitions of a kind (`activity`, `offer`), by id.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read.
    fn definitions(&self, kind: &str) -> Result<Vec<StoredDefinition>, StoreError>;

    /// Creates or replaces a definition; an unchanged one keeps its revision.
    ///
    /// # Errors
    /// [`StoreError`] when nothing could be stored.
    fn put_definition(
        &self,
        kind: &str,
        id: &str,
        body: &serde_json::Value,
        source: &str,
        now: Timestamp,
    ) -> Result<StoredDefinition, StoreError>;

    /// Deletes a definition (its revisions stay); whether it existed.
    ///
    /// # Errors
    /// [`StoreError`] when nothing could be stored.
    fn delete_definition(&self, kind: &str, id: &str, source: &str, now: Timestamp) -> Result<bool, StoreError>;

    /// Display and interact notifications naming an activity, per experience, and the browsers
    /// that sent `conversion` (the activity's conversion event type) after a display.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read.
    fn activity_counts(&self, activity: &str, conversion: Option<&str>) -> Result<Vec<ExperienceCounts>, StoreError>;

    /// The edge profile fragment of the person holding `key`: their identities and the merged
    /// values of `profile.edge_attributes`.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read.
    fn edge_fragment(
        &self,
        key: &IdentityKey,
        now: Timestamp,
        profile: &ProfileConfig,
    ) -> Result<Option<EdgeFragment>, StoreError>;

    /// The 360° view of the person holding `key`; `None` when no graph holds it.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read.
    fn profile(
        &self,
        key: &IdentityKey,
        policy: &MergePolicy,
        page: EventsPage,
    ) -> Result<Option<ProfileView>, StoreError>;

    /// The graph of the person holding `key`.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read.
    fn graph(&self, key: &IdentityKey) -> Result<Option<GraphReport>, StoreError>;

    /// The person's events (on every browser while it was theirs), newest first; `None` when
    /// no graph holds `key`.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read.
    fn person_events(&self, key: &IdentityKey, limit: usize) -> Result<Option<Vec<StoredEvent>>, StoreError>;

    /// Deletes the person holding `key` (right to be forgotten): identities, link records,
    /// events and consent records, with an audit record and tombstones for the edges. `None`
    /// when no graph holds `key`.
    ///
    /// # Errors
    /// [`StoreError`] when nothing could be deleted; then nothing was.
    fn delete_person(
        &self,
        key: &IdentityKey,
        requested_by: &str,
        now: Timestamp,
    ) -> Result<Option<DeletionReport>, StoreError>;

    /// Keeps rows a source import could not use, with their reasons (idempotent per batch and
    /// row). Returns how many were new.
    ///
    /// # Errors
    /// [`StoreError`] when nothing could be stored; then nothing was.
    fn quarantine(&self, dataset: &str, batch_id: &str, rows: &[QuarantinedRow]) -> Result<usize, StoreError>;

    /// Quarantined rows of a dataset, newest batch first.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read.
    fn quarantined(&self, dataset: &str, limit: usize) -> Result<Vec<(String, QuarantinedRow)>, StoreError>;

    /// Identities deleted at or after `since`.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read.
    fn tombstones(&self, since: Timestamp) -> Result<Vec<Tombstone>, StoreError>;

    /// A snapshot version greater than any given before, even across restarts.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be written.
    fn next_snapshot_version(&self) -> Result<u64, StoreError>;

    /// Counts.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read.
    fn stats(&self) -> Result<Stats, StoreError>;

    /// The import of a file into a dataset, if it was recorded (files are known by content).
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read.
    fn imported_file(&self, dataset: &str, content_hash: &str) -> Result<Option<ImportedFile>, StoreError>;

    /// Records that a file was imported into a dataset; false when it was recorded before.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be written.
    fn record_import(&self, dataset: &str, file: &ImportedFile) -> Result<bool, StoreError>;

    /// The segment definitions, by id.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read.
    fn segments(&self) -> Result<Vec<StoredSegment>, StoreError>;

    /// Creates or changes a segment definition (a new revision when its text or name changed).
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be written.
    fn put_segment(&self, definition: &Definition, source: &str, now: Timestamp) -> Result<StoredSegment, StoreError>;

    /// Deletes a segment definition and its memberships; false when there was none.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be written.
    fn delete_segment(&self, id: &str) -> Result<bool, StoreError>;

    /// What the segment engine needs to decide the profile holding `key`; `None` when nothing
    /// is known of it. `from_start` asks for every event instead of the ones not yet folded.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read.
    fn segment_input(
        &self,
        key: &IdentityKey,
        policy: &MergePolicy,
        from_start: bool,
    ) -> Result<Option<SegmentInput>, StoreError>;

    /// Saves what the engine decided for profiles, all in one transaction.
    ///
    /// # Errors
    /// [`StoreError`] when nothing could be saved; then nothing was.
    fn save_segment_outcomes(
        &self,
        outcomes: &[SegmentOutcome],
        source: &str,
        now: Timestamp,
    ) -> Result<(), StoreError>;

    /// Logs entries and exits an edge reported.
    ///
    /// # Errors
    /// [`StoreError`] when nothing could be saved; then nothing was.
    fn log_transitions(
        &self,
        profile: &IdentityKey,
        transitions: &[Transition],
        source: &str,
        now: Timestamp,
    ) -> Result<(), StoreError>;

    /// Profiles whose memberships can change by time at or before `now`, soonest first.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read.
    fn due_profiles(&self, now: Timestamp, limit: usize) -> Result<Vec<IdentityKey>, StoreError>;

    /// Every profile: each person, and each browser no person holds.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read.
    fn profile_keys(&self) -> Result<Vec<IdentityKey>, StoreError>;

    /// A page of a segment's members (by profile key, after `after`), and how many there are.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read.
    fn segment_members(
        &self,
        segment: &str,
        limit: usize,
        after: Option<&IdentityKey>,
    ) -> Result<(Vec<SegmentMember>, u64), StoreError>;

    /// A segment's entries and exits (the origin's), oldest first: `(time, realized?)`, for the
    /// audience size over time.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read.
    fn segment_history(&self, segment: &str) -> Result<Vec<(Timestamp, bool)>, StoreError>;

    /// A segment's latest entries and exits, newest first, from every source (`origin`, and
    /// `edge:<name>` for what edges reported).
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read.
    fn segment_transitions(&self, segment: &str, limit: usize) -> Result<Vec<TransitionRow>, StoreError>;

    /// A number the origin keeps about itself (`segments_fingerprint`).
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read.
    fn meta(&self, key: &str) -> Result<Option<i64>, StoreError>;

    /// Sets such a number.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be written.
    fn set_meta(&self, key: &str, value: i64) -> Result<(), StoreError>;
}

/// What the store's and the engine's tests build batches with.
#[cfg(test)]
pub(crate) mod testing {
    use edgecdp_core::identity::Ecid;
    use edgecdp_core::sync::{CollectedEvent, CollectedEvents, SyncBatch, SyncRecord};
    use edgecdp_core::time::Timestamp;
    use edgecdp_core::value::Value;

    /// A batch (id from `n`) of one event `ev-{n}` of browser `ecid` at `at`, its XDM given as JSON.
    pub(crate) fn event_batch(n: u8, ecid: &str, at: Timestamp, xdm: &serde_json::Value) -> SyncBatch {
        let xdm: Value = serde_json::from_value(xdm.clone()).unwrap();
        SyncBatch::new(
            "test",
            at,
            [n; 16],
            vec![SyncRecord::Events(CollectedEvents {
                datastream_id: "ds".into(),
                ecid: Ecid::parse(ecid).unwrap(),
                received_at: at,
                events: vec![CollectedEvent {
                    event_id: format!("ev-{n}"),
                    event_type: xdm.pointer("eventType").and_then(Value::as_str).map(str::to_owned),
                    timestamp: at,
                    xdm,
                    data: None,
                }],
            })],
        )
    }
}
