//! The origin's segment engine: decides every segment (edge-eligible or not) and every computed
//! attribute for each profile as its events arrive, as time passes (a timer over each profile's
//! next change), and over whole histories when definitions change (backfill).
//!
//! Decisions are derived data: a profile's state records the last event it folded (`through`, a
//! store-wide sequence), so a decision interrupted by a crash is redone from the stored events on
//! the profile's next decision. Events that arrive late (older than the newest folded) and
//! logins that merge an anonymous browser into a person rebuild the state from the history.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use edgecdp_core::identity::IdentityKey;
use edgecdp_core::map::ObjectMap;
use edgecdp_core::profile::computed::{COMPUTED_DATASET, Computed, ComputedState};
use edgecdp_core::profile::{Fragment, MergePolicy};
use edgecdp_core::segment::compile::{Options, Report};
use edgecdp_core::segment::program::{EventRef, Order};
use edgecdp_core::segment::schema::{Schema, Ty};
use edgecdp_core::segment::set::{
    Definition, DefinitionError, Membership, ProfileSegments, RECENT_EVENTS, SegmentSet, Skipped, Touched, Transition,
    compile_definition,
};
use edgecdp_core::sync::{SyncBatch, SyncRecord};
use edgecdp_core::time::Timestamp;
use edgecdp_core::value::Value;
use serde::Serialize;

use crate::config::Config;
use crate::store::{SegmentOutcome, Store, StoreError, StoredSegment};

/// Who the origin's own decisions are logged as.
pub const ORIGIN_SOURCE: &str = "origin";

/// Most profile outcomes one transaction saves (a big batch or a backfill commits in steps).
const SAVE_CHUNK: usize = 256;

/// The engine.
pub struct Engine {
    store: Arc<dyn Store>,
    schema: Schema,
    options: Options,
    computed: Computed,
    policy: MergePolicy,
    inner: Mutex<Inner>,
    /// One decision at a time: a profile is never decided twice at once.
    serial: Mutex<()>,
    /// A demo's fast-forward, added to the wall clock (0 outside demos).
    clock_offset: std::sync::atomic::AtomicI64,
}

struct Inner {
    set: Arc<SegmentSet>,
    stored: Vec<StoredSegment>,
}

/// The result of creating or changing a segment.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Upserted {
    /// The stored definition.
    pub segment: StoredSegment,
    /// The version edges and states carry (a hash of the text).
    pub version: String,
    /// What the compiler found out.
    pub report: Report,
    /// Profiles in it now (after re-deciding every profile with the new definition).
    pub audience_size: u64,
    /// Profiles decided.
    pub profiles_evaluated: usize,
}

/// Why a segment change was refused.
#[derive(Debug)]
pub enum UpsertError {
    /// The definition does not compile (or references what does not exist, or makes a cycle).
    Invalid(DefinitionError),
    /// The store failed.
    Store(StoreError),
}

impl From<StoreError> for UpsertError {
    fn from(e: StoreError) -> Self {
        UpsertError::Store(e)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The schema definitions are checked against: the standard fields plus the configured
/// attributes (edge attributes, computed attributes).
#[must_use]
pub fn schema_for(config: &Config) -> Schema {
    let mut schema = Schema::standard();
    for path in &config.profile.edge_attributes {
        if Schema::lookup(&schema.profile, &path.split('.').map(String::from).collect::<Vec<_>>()).is_err() {
            schema.add_profile_attribute(path, Ty::Any);
        }
    }
    for c in &config.computed {
        schema.add_profile_attribute(&c.path, Ty::Any);
    }
    schema
}

impl Engine {
    /// Opens the engine: stores the configuration's segments (new ones, and changes to ones the
    /// configuration wrote before; segments made through the API are left alone) and compiles
    /// the stored set. Definitions that do not compile are skipped with a warning.
    ///
    /// # Errors
    /// When the store fails, or a configured computed attribute does not compile.
    pub fn open(store: Arc<dyn Store>, config: &Config, now: Timestamp) -> anyhow::Result<Engine> {
        let schema = schema_for(config);
        let (computed, errors) = Computed::compile(&config.computed, &schema);
        if let Some(e) = errors.first() {
            anyhow::bail!("{e}");
        }
        let stored = store.segments()?;
        for def in &config.segments {
            let current = stored.iter().find(|s| s.definition.id == def.id);
            if current.is_none_or(|s| s.source == "config" && s.definition != *def) {
                store.put_segment(def, "config", now)?;
            }
        }
        let engine = Engine {
            store,
            schema,
            // The origin keeps every relevant event a buffered leaf reads: its answers are exact.
            options: Options { exact_buffers: true, ..Options::default() },
            computed,
            policy: config.profile.merge_policy.clone(),
            inner: Mutex::new(Inner { set: Arc::new(SegmentSet::default()), stored: Vec::new() }),
            serial: Mutex::new(()),
            clock_offset: std::sync::atomic::AtomicI64::new(0),
        };
        for s in engine.reload()? {
            tracing::warn!(segment = s.id, error = %s.error, "segment skipped");
        }
        Ok(engine)
    }

    /// The origin's clock: the wall clock plus the demo offset.
    pub fn now(&self) -> Timestamp {
        crate::server::now().plus_millis(self.clock_offset())
    }

    /// The demo offset in milliseconds.
    pub fn clock_offset(&self) -> i64 {
        self.clock_offset.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Moves the demo clock forward (never back).
    pub fn advance_clock(&self, ms: i64) -> i64 {
        let ms = ms.max(0);
        self.clock_offset.fetch_add(ms, std::sync::atomic::Ordering::Relaxed) + ms
    }

    /// A fingerprint of the compiled set (ids and versions): states decided under another one
    /// are rebuilt at start ([`Engine::catch_up`]).
    pub fn fingerprint(&self) -> i64 {
        let set = self.set();
        let text: String = set.segments().iter().map(|s| format!("{}:{:x};", s.id(), s.version)).collect();
        let text = format!("{text}|{}", self.computed.paths().collect::<Vec<_>>().join(","));
        i64::from_le_bytes(edgecdp_core::mac::sha256(text.as_bytes())[..8].try_into().unwrap_or([0; 8]))
    }

    /// Re-decides every profile from its history when the definitions changed since the states
    /// were decided (a new configuration, a segment changed while the origin was down).
    ///
    /// # Errors
    /// When the store fails.
    pub fn catch_up(&self) -> Result<Option<usize>, StoreError> {
        let fingerprint = self.fingerprint();
        if self.store.meta("segments_fingerprint")? == Some(fingerprint) {
            return Ok(None);
        }
        let n = self.backfill(self.now())?;
        self.store.set_meta("segments_fingerprint", fingerprint)?;
        Ok(Some(n))
    }

    /// Decides the profiles holding these identities, each once.
    ///
    /// # Errors
    /// When the store fails.
    pub fn decide_keys(&self, keys: &[IdentityKey], now: Timestamp) -> Result<usize, StoreError> {
        let _serial = lock(&self.serial);
        self.decide_all(keys, now, false)
    }

    /// Decides the profiles holding `keys`, each once, saving their outcomes [`SAVE_CHUNK`] at
    /// a time (one transaction each); returns how many profiles were decided.
    fn decide_all(&self, keys: &[IdentityKey], now: Timestamp, from_start: bool) -> Result<usize, StoreError> {
        let mut decided: Vec<IdentityKey> = Vec::new();
        let mut pending: Vec<SegmentOutcome> = Vec::new();
        for k in keys {
            // A key of a profile already decided here has nothing new to fold.
            if decided.contains(k) {
                continue;
            }
            // Two keys of one person give the same outcome (nothing is saved in between): the
            // first is kept.
            if let Some(outcome) = self.decide_profile(k, now, from_start)?
                && !decided.contains(&outcome.profile)
            {
                decided.push(outcome.profile.clone());
                pending.push(outcome);
                if pending.len() == SAVE_CHUNK {
                    self.save(&pending, now)?;
                    pending.clear();
                }
            }
        }
        self.save(&pending, now)?;
        Ok(decided.len())
    }

    /// Saves outcomes in one transaction, then logs their transitions.
    fn save(&self, outcomes: &[SegmentOutcome], now: Timestamp) -> Result<(), StoreError> {
        if outcomes.is_empty() {
            return Ok(());
        }
        self.store.save_segment_outcomes(outcomes, ORIGIN_SOURCE, now)?;
        for o in outcomes {
            for t in &o.transitions {
                tracing::info!(segment = t.segment, profile = %o.profile, status = t.status.as_str(), reason = t.reason.map(|r| r.as_str()), "segment membership");
            }
        }
        Ok(())
    }

    /// Recompiles the stored definitions; returns the ones skipped.
    fn reload(&self) -> Result<Vec<Skipped>, StoreError> {
        let stored = self.store.segments()?;
        let defs: Vec<Definition> = stored.iter().map(|s| s.definition.clone()).collect();
        let set = SegmentSet::load(&defs, &self.schema, &self.options);
        let skipped = set.skipped().to_vec();
        let mut inner = lock(&self.inner);
        inner.set = Arc::new(set);
        inner.stored = stored;
        Ok(skipped)
    }

    /// The store decisions read and write.
    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// The compiled set.
    pub fn set(&self) -> Arc<SegmentSet> {
        Arc::clone(&lock(&self.inner).set)
    }

    /// The stored definitions.
    pub fn stored(&self) -> Vec<StoredSegment> {
        lock(&self.inner).stored.clone()
    }

    /// The definitions edges evaluate (edge-eligible, with their references).
    pub fn edge_definitions(&self) -> Vec<Definition> {
        self.set().edge_subset().segments().iter().map(|s| s.definition.clone()).collect()
    }

    /// Profile attributes segments and offers read (edges keep them).
    pub fn profile_reads(&self) -> Vec<String> {
        self.set().profile_reads()
    }

    /// Decides the profile holding `key` at `now`: folds its events not yet folded (or its whole
    /// history when `from_start`, after a late event, or after a login merged a browser into it),
    /// updates its computed attributes, and saves state, memberships and transitions at once.
    ///
    /// # Errors
    /// When the store fails (nothing is saved; the next decision redoes it).
    pub fn decide(&self, key: &IdentityKey, now: Timestamp, from_start: bool) -> Result<Vec<Transition>, StoreError> {
        let Some(outcome) = self.decide_profile(key, now, from_start)? else { return Ok(Vec::new()) };
        self.save(std::slice::from_ref(&outcome), now)?;
        Ok(outcome.transitions)
    }

    /// What [`Engine::decide`] saves, not saved yet (none: nothing is known of `key`).
    fn decide_profile(
        &self,
        key: &IdentityKey,
        now: Timestamp,
        from_start: bool,
    ) -> Result<Option<SegmentOutcome>, StoreError> {
        let set = self.set();
        let Some(mut input) = self.store.segment_input(key, &self.policy, from_start)? else { return Ok(None) };
        let decode_state =
            |b: &Option<Vec<u8>>| b.as_ref().and_then(|b| rmp_serde::from_slice::<ProfileSegments>(b).ok());
        let stored_state = decode_state(&input.state);
        let late = stored_state.as_ref().is_some_and(|s| input.events.first().is_some_and(|(_, ts, _)| *ts < s.newest));
        let rebuild = from_start || input.through == 0 || late || !input.merged.is_empty() || stored_state.is_none();
        if rebuild && input.through != 0 {
            input = match self.store.segment_input(key, &self.policy, true)? {
                Some(i) => i,
                None => return Ok(None),
            };
        }
        let mut computed_state: ComputedState = if rebuild {
            ComputedState::default()
        } else {
            input.computed.as_ref().and_then(|b| rmp_serde::from_slice(b).ok()).unwrap_or_default()
        };
        for (_, ts, xdm) in &input.events {
            self.computed.fold(&mut computed_state, xdm, *ts);
        }
        // The profile as segments see it: merged attributes with the computed ones now.
        let mut attributes = input.attributes.clone();
        let values = self.computed.values(&computed_state, now);
        for path in self.computed.paths() {
            match values.get(path) {
                Some(v) => attributes.insert(path.to_owned(), v.clone()),
                None => attributes.remove(path),
            };
        }
        let mut state = stored_state.unwrap_or_default();
        // What the store holds now, to write only the records that change.
        let before: BTreeMap<String, Membership> = if rebuild {
            BTreeMap::new()
        } else {
            state.memberships().map(|(id, m)| (id.clone(), m.clone())).collect()
        };
        let transitions = if rebuild {
            let refs: Vec<EventRef<'_>> = input
                .events
                .iter()
                .enumerate()
                .map(|(i, (_, ts, xdm))| EventRef { xdm, order: Order { ts: *ts, seq: i as u64 + 1 } })
                .collect();
            set.rebuild(&mut state, &refs, &attributes, now)
        } else {
            let mut touched = Touched::default();
            for (_, ts, xdm) in &input.events {
                touched.extend(set.on_event(&mut state, xdm, *ts, &attributes));
            }
            set.evaluate(&mut state, &attributes, now, &touched)
        };
        // The edge beside this store reads this state: with the ids of what was folded, it does
        // not fold a retried request's events (same requestId, same ids) a second time.
        let newest = input.events.len().saturating_sub(RECENT_EVENTS);
        for (_, _, xdm) in &input.events[newest..] {
            if let Some(id) = xdm.pointer("_id").and_then(Value::as_str) {
                state.remember(id);
            }
        }
        let due =
            [set.next_change(&state), self.computed.next_change(&computed_state, now)].into_iter().flatten().min();
        let through = input.events.iter().map(|(seq, _, _)| *seq).max().unwrap_or(input.through).max(input.through);
        // Computed values that changed are written to the profile, where views and edges read them.
        let mut fragment = Fragment::new(COMPUTED_DATASET, input.profile.clone());
        for path in self.computed.paths() {
            let now_value = values.get(path).cloned().unwrap_or(Value::Null);
            let before = input.attributes.get(path).cloned().unwrap_or(Value::Null);
            if now_value != before {
                fragment.set(path, now_value, now, ORIGIN_SOURCE);
            }
        }
        let outcome = SegmentOutcome {
            profile: input.profile.clone(),
            state: rmp_serde::to_vec(&state).map_err(|e| StoreError::State(e.to_string()))?,
            computed: rmp_serde::to_vec(&computed_state).map_err(|e| StoreError::State(e.to_string()))?,
            due,
            through,
            memberships: state
                .memberships()
                .filter(|(id, m)| rebuild || before.get(*id) != Some(*m))
                .map(|(id, m)| (id.clone(), m.clone()))
                .collect(),
            memberships_gone: before
                .keys()
                .filter(|id| state.segments.get(id.as_str()).and_then(|s| s.membership.as_ref()).is_none())
                .cloned()
                .collect(),
            replace_memberships: rebuild,
            transitions,
            computed_fragment: (!fragment.attrs.is_empty()).then_some(fragment),
            drop: input.merged.clone(),
        };
        Ok(Some(outcome))
    }

    /// Decides the profiles stored batches touched (each once, their outcomes saved together),
    /// and logs the memberships edges reported.
    ///
    /// # Errors
    /// When the store fails (the batches are stored; their profiles are redone on their next
    /// decision).
    pub fn after_batches(&self, batches: &[&SyncBatch], now: Timestamp) -> Result<usize, StoreError> {
        let _serial = lock(&self.serial);
        let mut keys: Vec<IdentityKey> = Vec::new();
        let mut push = |k: IdentityKey| {
            if !keys.contains(&k) {
                keys.push(k);
            }
        };
        for (batch, record) in batches.iter().flat_map(|b| b.records.iter().map(move |r| (b, r))) {
            match record {
                SyncRecord::Events(c) => push(IdentityKey::new("ECID", c.ecid.as_str())),
                SyncRecord::IdentifiedEvents(e) => e.events.iter().for_each(|e| push(e.identity.clone())),
                SyncRecord::Fragments(f) => f.fragments.iter().for_each(|f| push(f.identity.clone())),
                SyncRecord::Links(l) => l.records.iter().flat_map(|r| &r.identities).for_each(|i| push(i.key.clone())),
                SyncRecord::Memberships(m) => {
                    self.store.log_transitions(&m.profile, &m.transitions, &format!("edge:{}", batch.source), now)?;
                }
                SyncRecord::Consent(_) => {}
            }
        }
        // Several identities of one person decide it once.
        self.decide_all(&keys, now, false)
    }

    /// Decides the profiles whose memberships can change by time now (the timer).
    ///
    /// # Errors
    /// When the store fails.
    pub fn tick(&self, now: Timestamp) -> Result<usize, StoreError> {
        let _serial = lock(&self.serial);
        let due = self.store.due_profiles(now, 1000)?;
        self.decide_all(&due, now, false)?;
        Ok(due.len())
    }

    /// Re-decides every profile from its whole history (after definitions changed).
    ///
    /// # Errors
    /// When the store fails.
    pub fn backfill(&self, now: Timestamp) -> Result<usize, StoreError> {
        let _serial = lock(&self.serial);
        let keys = self.store.profile_keys()?;
        self.decide_all(&keys, now, true)?;
        Ok(keys.len())
    }

    /// Creates or changes a segment: checks it (compile errors with positions, references,
    /// cycles), stores a new revision, re-decides every profile with it and returns the report
    /// and the audience size.
    ///
    /// # Errors
    /// [`UpsertError::Invalid`] without storing anything, or a store failure.
    pub fn upsert(&self, def: &Definition, now: Timestamp) -> Result<Upserted, UpsertError> {
        let program = compile_definition(def, &self.schema, &self.options).map_err(UpsertError::Invalid)?;
        // The set with the change must load it: its references exist and make no cycle.
        let mut defs: Vec<Definition> =
            self.stored().into_iter().map(|s| s.definition).filter(|d| d.id != def.id).collect();
        defs.push(def.clone());
        let trial = SegmentSet::load(&defs, &self.schema, &self.options);
        if let Some(s) = trial.skipped().iter().find(|s| s.id == def.id) {
            return Err(UpsertError::Invalid(s.error.clone()));
        }
        let segment = self.store.put_segment(def, "api", now)?;
        self.reload()?;
        let profiles_evaluated = self.backfill(now)?;
        self.store.set_meta("segments_fingerprint", self.fingerprint())?;
        let (_, audience_size) = self.store.segment_members(&def.id, 0, None)?;
        Ok(Upserted {
            segment,
            version: format!("{:016x}", def.version()),
            report: program.report,
            audience_size,
            profiles_evaluated,
        })
    }

    /// Deletes a segment; false when there was none.
    ///
    /// # Errors
    /// When the store fails.
    pub fn delete(&self, id: &str) -> Result<bool, StoreError> {
        let deleted = self.store.delete_segment(id)?;
        if deleted {
            self.reload()?;
            self.store.set_meta("segments_fingerprint", self.fingerprint())?;
        }
        Ok(deleted)
    }

    /// The compiler's report for a stored segment (`None` when it does not compile now).
    pub fn report(&self, id: &str) -> Option<Report> {
        self.set().get(id).map(|s| s.report().clone())
    }

    /// The current profile attributes with computed ones, for tests and tools.
    pub fn attributes_of(&self, key: &IdentityKey, now: Timestamp) -> Result<Option<ObjectMap<Value>>, StoreError> {
        let Some(input) = self.store.segment_input(key, &self.policy, true)? else { return Ok(None) };
        let mut st = ComputedState::default();
        for (_, ts, xdm) in &input.events {
            self.computed.fold(&mut st, xdm, *ts);
        }
        let mut attributes = input.attributes;
        for (k, v) in self.computed.values(&st, now).iter() {
            attributes.insert(k.clone(), v.clone());
        }
        Ok(Some(attributes))
    }
}

/// A store that decides segments after every write that can change them: batches (from edges,
/// imports, the native edge) and link records. Every writer goes through it, so no path
/// forgets to decide. A failed decision is logged and redone on the profile's next one; the
/// write itself has succeeded.
pub struct DecidingStore {
    inner: Arc<dyn Store>,
    engine: Arc<Engine>,
}

impl DecidingStore {
    /// Wraps `inner`; `engine` must decide over the same store.
    pub fn new(inner: Arc<dyn Store>, engine: Arc<Engine>) -> DecidingStore {
        DecidingStore { inner, engine }
    }

    /// Decides the profiles of the batches that were applied (a failure is logged: the writes
    /// stand).
    fn decide_after(&self, batches: &[&SyncBatch]) {
        if batches.is_empty() {
            return;
        }
        if let Err(e) = self.engine.after_batches(batches, self.engine.now()) {
            let ids: Vec<&str> = batches.iter().map(|b| b.batch_id.as_str()).collect();
            tracing::error!(error = %e, batches = ?ids, "segment decisions failed; redone on the profiles' next decision");
        }
    }
}

macro_rules! delegate {
    ($($name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)*) => {
        $(fn $name(&self $(, $arg: $ty)*) -> $ret { self.inner.$name($($arg),*) })*
    };
}

impl Store for DecidingStore {
    fn apply_batch(&self, batch: &SyncBatch, received_at: Timestamp) -> Result<crate::store::Applied, StoreError> {
        let applied = self.inner.apply_batch(batch, received_at)?;
        if applied.applied {
            self.decide_after(&[batch]);
        }
        Ok(applied)
    }

    fn apply_batches(&self, batches: &[(&SyncBatch, Timestamp)]) -> Result<Vec<crate::store::Applied>, StoreError> {
        let applied = self.inner.apply_batches(batches)?;
        // The whole group's profiles are decided together: their outcomes share one commit.
        let stored: Vec<&SyncBatch> =
            batches.iter().zip(&applied).filter(|(_, a)| a.applied).map(|((batch, _), _)| *batch).collect();
        self.decide_after(&stored);
        Ok(applied)
    }

    fn add_link_records(
        &self,
        records: &[edgecdp_core::identity::LinkRecord],
        source: &str,
    ) -> Result<usize, StoreError> {
        let added = self.inner.add_link_records(records, source)?;
        if added > 0 {
            let keys: Vec<IdentityKey> =
                records.iter().flat_map(|r| r.identities.iter().map(|i| i.key.clone())).collect();
            if let Err(e) = self.engine.decide_keys(&keys, self.engine.now()) {
                tracing::error!(error = %e, "segment decisions failed; redone on the profiles' next decision");
            }
        }
        Ok(added)
    }

    delegate! {
        events_for_ecid(&self, ecid: &str, limit: usize) -> Result<Vec<crate::store::StoredEvent>, StoreError>;
        decisioning_events(&self, key: &IdentityKey, types: &[String], limit: usize) -> Result<Vec<crate::store::StoredEvent>, StoreError>;
        definitions(&self, kind: &str) -> Result<Vec<crate::store::StoredDefinition>, StoreError>;
        put_definition(&self, kind: &str, id: &str, body: &serde_json::Value, source: &str, now: Timestamp) -> Result<crate::store::StoredDefinition, StoreError>;
        delete_definition(&self, kind: &str, id: &str, source: &str, now: Timestamp) -> Result<bool, StoreError>;
        activity_counts(&self, activity: &str, conversion: Option<&str>) -> Result<Vec<crate::store::ExperienceCounts>, StoreError>;
        edge_fragment(&self, key: &IdentityKey, now: Timestamp, profile: &edgecdp_core::snapshot::ProfileConfig) -> Result<Option<edgecdp_core::identity::resolve::EdgeFragment>, StoreError>;
        profile(&self, key: &IdentityKey, policy: &MergePolicy, page: crate::store::EventsPage) -> Result<Option<crate::store::ProfileView>, StoreError>;
        graph(&self, key: &IdentityKey) -> Result<Option<crate::store::GraphReport>, StoreError>;
        person_events(&self, key: &IdentityKey, limit: usize) -> Result<Option<Vec<crate::store::StoredEvent>>, StoreError>;
        delete_person(&self, key: &IdentityKey, requested_by: &str, now: Timestamp) -> Result<Option<crate::store::DeletionReport>, StoreError>;
        quarantine(&self, dataset: &str, batch_id: &str, rows: &[crate::store::QuarantinedRow]) -> Result<usize, StoreError>;
        quarantined(&self, dataset: &str, limit: usize) -> Result<Vec<(String, crate::store::QuarantinedRow)>, StoreError>;
        tombstones(&self, since: Timestamp) -> Result<Vec<edgecdp_core::snapshot::Tombstone>, StoreError>;
        next_snapshot_version(&self) -> Result<u64, StoreError>;
        stats(&self) -> Result<crate::store::Stats, StoreError>;
        imported_file(&self, dataset: &str, content_hash: &str) -> Result<Option<crate::store::ImportedFile>, StoreError>;
        record_import(&self, dataset: &str, file: &crate::store::ImportedFile) -> Result<bool, StoreError>;
        segments(&self) -> Result<Vec<StoredSegment>, StoreError>;
        put_segment(&self, definition: &Definition, source: &str, now: Timestamp) -> Result<StoredSegment, StoreError>;
        delete_segment(&self, id: &str) -> Result<bool, StoreError>;
        segment_input(&self, key: &IdentityKey, policy: &MergePolicy, from_start: bool) -> Result<Option<crate::store::SegmentInput>, StoreError>;
        save_segment_outcomes(&self, outcomes: &[SegmentOutcome], source: &str, now: Timestamp) -> Result<(), StoreError>;
        log_transitions(&self, profile: &IdentityKey, transitions: &[Transition], source: &str, now: Timestamp) -> Result<(), StoreError>;
        due_profiles(&self, now: Timestamp, limit: usize) -> Result<Vec<IdentityKey>, StoreError>;
        profile_keys(&self) -> Result<Vec<IdentityKey>, StoreError>;
        segment_members(&self, segment: &str, limit: usize, after: Option<&IdentityKey>) -> Result<(Vec<crate::store::SegmentMember>, u64), StoreError>;
        segment_history(&self, segment: &str) -> Result<Vec<(Timestamp, bool)>, StoreError>;
        segment_transitions(&self, segment: &str, limit: usize) -> Result<Vec<crate::store::TransitionRow>, StoreError>;
        meta(&self, key: &str) -> Result<Option<i64>, StoreError>;
        set_meta(&self, key: &str, value: i64) -> Result<(), StoreError>;
    }
}

#[cfg(test)]
mod tests {
    use edgecdp_core::identity::graph::GraphConfig;

    use super::*;
    use crate::config::Overrides;
    use crate::store::SqliteStore;

    const A: &str = "11111111111111111111111111111111111111";
    const DAY: i64 = 86_400_000;

    /// A running product view of browser A at `at` (a batch of its own).
    fn running_view(n: u8, at: Timestamp) -> SyncBatch {
        let xdm = serde_json::json!({ "eventType": "commerce.productViews",
            "productListItems": [{ "SKU": "MS-RUN-01", "productCategories": [{ "categoryID": "running" }] }] });
        crate::store::testing::event_batch(n, A, at, &xdm)
    }

    #[test]
    fn membership_records_follow_each_decision() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&dir.path().join("s.sqlite"), GraphConfig::default()).unwrap());
        let config = Config::load(None, &Overrides::default()).unwrap();
        let t0 = Timestamp(1_800_000_000_000);
        let engine = Engine::open(Arc::clone(&store), &config, t0).unwrap();
        let members = || {
            let (rows, _) = store.segment_members("running-interest", 10, None).unwrap();
            rows.into_iter().map(|m| (m.profile.id, m.status)).collect::<Vec<_>>()
        };
        let step = |n: u8, at: Timestamp| {
            let batch = running_view(n, at);
            store.apply_batch(&batch, at).unwrap();
            engine.after_batches(&[&batch], at).unwrap();
        };
        step(1, t0);
        assert_eq!(members(), [], "one running product view");
        step(2, t0.plus_millis(1000));
        assert_eq!(members(), [(A.to_owned(), "realized".to_owned())]);
        // A third view changes the record (realized → existing), not the set.
        step(3, t0.plus_millis(2000));
        assert_eq!(members(), [(A.to_owned(), "existing".to_owned())]);
        // A month later without events, the timer decides the exit.
        assert!(engine.tick(t0.plus_millis(31 * DAY)).unwrap() >= 1);
        assert_eq!(members(), []);
        let log: Vec<String> =
            store.segment_transitions("running-interest", 10).unwrap().into_iter().map(|t| t.status).collect();
        assert_eq!(log.len(), 2, "{log:?}");
        assert!(log.contains(&"realized".to_owned()) && log.contains(&"exited".to_owned()), "{log:?}");
    }
}
