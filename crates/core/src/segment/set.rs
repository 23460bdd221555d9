//! A set of segments and one profile's state for it: events folded in as they arrive,
//! memberships decided at `now` with their lifecycle, `inSegment` references evaluated in
//! dependency order, and the batch evaluator over a whole history.
//!
//! Lifecycle (XDM's segment membership): a profile entering a segment is `realized`, staying in
//! it `existing`, leaving it `exited`, with `lastQualificationTime`, `validUntil` (the time the
//! answer can next change by itself) and, on exit, why: a window passed (`window_expired`), an
//! event negated it (`negating_event`), a profile attribute changed (`attribute_changed`), or a
//! segment it references was left (`parent_exited`). Entering and leaving are [`Transition`]s,
//! which hosts sync to the origin and activate.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::SegmentError;
use super::compile::{CompileError, Options, Program, Report, compile};
use super::parser::parse;
use super::program::{EventRef, LeafState, Mode, Order};
use super::schema::Schema;
use crate::map::ObjectMap;
use crate::time::Timestamp;
use crate::value::Value;

/// A segment as an operator writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    /// A stable id (`gift-cart-abandoners`).
    pub id: String,
    /// A display name.
    #[serde(default)]
    pub name: String,
    /// The PQL text.
    pub pql: String,
    /// What it is for.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

impl Definition {
    /// The definition's version: a hash of its PQL text (state is kept per version).
    #[must_use]
    pub fn version(&self) -> u64 {
        fnv(self.pql.as_bytes())
    }
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// Why a definition was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum DefinitionError {
    /// The text is not PQL.
    #[error("{message}")]
    Parse {
        /// 1-based line, when the error has a place.
        line: Option<usize>,
        /// 1-based column.
        column: Option<usize>,
        /// The parser's message.
        message: String,
    },
    /// It parses but does not compile.
    #[error("{0}")]
    Compile(CompileError),
    /// It references segments that do not exist (or were refused).
    #[error("it references {missing:?}, which {} not defined", if missing.len() == 1 { "is" } else { "are" })]
    MissingReference {
        /// The ids.
        missing: Vec<String>,
    },
    /// It is part of an `inSegment` cycle.
    #[error("inSegment references form a cycle: {}", cycle.join(" → "))]
    Cycle {
        /// The ids around the cycle.
        cycle: Vec<String>,
    },
    /// The text is longer than [`MAX_DEFINITION_BYTES`].
    #[error("the definition is {bytes} bytes long; at most {MAX_DEFINITION_BYTES} are accepted")]
    TooLong {
        /// Its length.
        bytes: usize,
    },
    /// Its id is empty, too long or has characters other than letters, digits, `-`, `_`, `.`.
    #[error("the id {id:?} must be 1–128 letters, digits, '-', '_' or '.'")]
    BadId {
        /// The id.
        id: String,
    },
}

impl From<SegmentError> for DefinitionError {
    fn from(e: SegmentError) -> Self {
        let (line, column) = e.position().map_or((None, None), |(l, c)| (Some(l), Some(c)));
        DefinitionError::Parse { line, column, message: e.to_string() }
    }
}

/// A compiled segment of a set.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// The definition.
    pub definition: Definition,
    /// Its version.
    pub version: u64,
    /// The program.
    pub program: Program,
    /// Whether any part reads the profile.
    reads_profile: bool,
    /// Indices (in the set) of the segments it references.
    deps: Vec<usize>,
}

impl Segment {
    /// The segment's id.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.definition.id
    }

    /// The compiler's report.
    #[must_use]
    pub fn report(&self) -> &Report {
        &self.program.report
    }
}

/// A definition the set left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// The segment's id.
    pub id: String,
    /// Why.
    pub error: DefinitionError,
}

/// The longest definition text accepted (64 KiB): parsing memory grows with the text.
pub const MAX_DEFINITION_BYTES: usize = 64 * 1024;

/// Compiles one definition on its own (references are not checked).
///
/// # Errors
/// [`DefinitionError`] with the position of the problem.
pub fn compile_definition(def: &Definition, schema: &Schema, options: &Options) -> Result<Program, DefinitionError> {
    let valid_id = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if def.id.is_empty() || def.id.len() > 128 || !def.id.chars().all(valid_id) {
        return Err(DefinitionError::BadId { id: def.id.clone() });
    }
    if def.pql.len() > MAX_DEFINITION_BYTES {
        return Err(DefinitionError::TooLong { bytes: def.pql.len() });
    }
    let query = parse(&def.pql)?;
    compile(&query, &def.pql, schema, options).map_err(DefinitionError::Compile)
}

/// Segments compiled together, in dependency order, indexed by the event types that touch them.
#[derive(Debug, Clone, Default)]
pub struct SegmentSet {
    segments: Vec<Segment>,
    by_id: ObjectMap<usize>,
    /// Per segment, the segments referencing it.
    dependents: Vec<Vec<usize>>,
    /// The segments reading the profile.
    profile_readers: Vec<usize>,
    /// A hash of the ids and versions, in order.
    fingerprint: u64,
    by_type: ObjectMap<Vec<usize>>,
    any_event: Vec<usize>,
    profile_reads: Vec<Vec<String>>,
    skipped: Vec<Skipped>,
}

/// The set's answer for one profile, one event: which segments it touched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Touched(BTreeSet<usize>);

impl Touched {
    /// How many segments the event touched.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it touched none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds what another event touched.
    pub fn extend(&mut self, other: Touched) {
        self.0.extend(other.0);
    }
}

impl SegmentSet {
    /// Compiles a set of definitions, tolerantly: a definition that does not compile, references
    /// a missing segment or sits on a reference cycle is skipped (see [`SegmentSet::skipped`]),
    /// and so are the segments that reference it; the rest load.
    #[must_use]
    pub fn load(defs: &[Definition], schema: &Schema, options: &Options) -> SegmentSet {
        let mut skipped = Vec::new();
        let mut compiled: Vec<(Definition, Program)> = Vec::new();
        let mut seen = BTreeSet::new();
        for def in defs {
            if !seen.insert(def.id.clone()) {
                skipped.push(Skipped {
                    id: def.id.clone(),
                    error: DefinitionError::BadId { id: format!("{} (defined twice; the first is kept)", def.id) },
                });
                continue;
            }
            match compile_definition(def, schema, options) {
                Ok(p) => compiled.push((def.clone(), p)),
                Err(error) => skipped.push(Skipped { id: def.id.clone(), error }),
            }
        }
        // Drop segments whose references are missing, until none are (a drop can orphan others).
        loop {
            let ids: BTreeSet<&str> = compiled.iter().map(|(d, _)| d.id.as_str()).collect();
            let bad: Vec<(usize, Vec<String>)> = compiled
                .iter()
                .enumerate()
                .filter_map(|(i, (_, p))| {
                    let missing: Vec<String> =
                        p.report.depends_on.iter().filter(|d| !ids.contains(d.as_str())).cloned().collect();
                    (!missing.is_empty()).then_some((i, missing))
                })
                .collect();
            if bad.is_empty() {
                break;
            }
            for (i, missing) in bad.into_iter().rev() {
                let (def, _) = compiled.remove(i);
                skipped.push(Skipped { id: def.id, error: DefinitionError::MissingReference { missing } });
            }
        }
        // Topological order (Kahn); what remains sits on or behind a cycle.
        let index: ObjectMap<usize> = compiled.iter().enumerate().map(|(i, (d, _))| (d.id.clone(), i)).collect();
        let deps: Vec<Vec<usize>> = compiled
            .iter()
            .map(|(_, p)| p.report.depends_on.iter().filter_map(|d| index.get(d).copied()).collect())
            .collect();
        let mut order = Vec::new();
        let mut placed = vec![false; compiled.len()];
        while order.len() < compiled.len() {
            let ready: Vec<usize> =
                (0..compiled.len()).filter(|&i| !placed[i] && deps[i].iter().all(|&d| placed[d])).collect();
            if ready.is_empty() {
                break;
            }
            for i in ready {
                placed[i] = true;
                order.push(i);
            }
        }
        for i in (0..compiled.len()).filter(|&i| !placed[i]) {
            let cycle = find_cycle(i, &deps, &placed).into_iter().map(|j| compiled[j].0.id.clone()).collect();
            skipped.push(Skipped { id: compiled[i].0.id.clone(), error: DefinitionError::Cycle { cycle } });
        }
        let mut set = SegmentSet { skipped, ..SegmentSet::default() };
        let mut slots: Vec<Option<(Definition, Program)>> = compiled.into_iter().map(Some).collect();
        for old in order {
            if let Some((definition, program)) = slots[old].take() {
                set.push(definition, program);
            }
        }
        set
    }

    fn push(&mut self, definition: Definition, program: Program) {
        let i = self.segments.len();
        let deps: Vec<usize> = program.report.depends_on.iter().filter_map(|d| self.by_id.get(d).copied()).collect();
        match &program.report.event_types {
            Some(types) => types.iter().for_each(|t| self.by_type.get_or_insert_with(t, Vec::new).push(i)),
            None if !program.leaves.is_empty() => self.any_event.push(i),
            None => {}
        }
        let reads_profile = !program.report.profile_reads.is_empty();
        for path in &program.report.profile_reads {
            let segs: Vec<String> = path.split('.').map(String::from).collect();
            if !self.profile_reads.contains(&segs) {
                self.profile_reads.push(segs);
            }
        }
        self.by_id.insert(definition.id.clone(), i);
        let version = definition.version();
        self.dependents.push(Vec::new());
        for &d in &deps {
            self.dependents[d].push(i);
        }
        if reads_profile {
            self.profile_readers.push(i);
        }
        self.fingerprint = fnv(format!("{:x}:{}:{version:x}", self.fingerprint, definition.id).as_bytes());
        self.segments.push(Segment { definition, version, program, reads_profile, deps });
    }

    /// Whether the set has no segments.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// The segments, in dependency order.
    #[must_use]
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// A segment by id.
    #[must_use]
    pub fn get(&self, id: &str) -> Option<&Segment> {
        self.by_id.get(id).map(|i| &self.segments[*i])
    }

    /// The definitions left out, with why.
    #[must_use]
    pub fn skipped(&self) -> &[Skipped] {
        &self.skipped
    }

    /// The profile attributes any segment reads (what the edge must keep).
    #[must_use]
    pub fn profile_reads(&self) -> Vec<String> {
        self.profile_reads.iter().map(|p| p.join(".")).collect()
    }

    /// The subset the edge evaluates: edge-eligible segments whose references are too.
    #[must_use]
    pub fn edge_subset(&self) -> SegmentSet {
        let mut set = SegmentSet::default();
        for s in &self.segments {
            if s.program.report.edge_eligible && s.program.report.depends_on.iter().all(|d| set.by_id.contains_key(d)) {
                set.push(s.definition.clone(), s.program.clone());
            }
        }
        set
    }

    /// Folds one event into a profile's state, touching only the segments whose leaves it can
    /// affect (by event type). Events are folded in arrival order; one older than the newest
    /// folded event is folded at the newest's time (the origin rebuilds from history instead).
    pub fn on_event(
        &self,
        state: &mut ProfileSegments,
        xdm: &Value,
        ts: Timestamp,
        profile: &ObjectMap<Value>,
    ) -> Touched {
        let ty = xdm.as_object().and_then(|m| m.get("eventType")).and_then(Value::as_str).map(str::to_ascii_lowercase);
        let typed = ty.as_deref().and_then(|t| self.by_type.get(t)).map_or(&[][..], Vec::as_slice);
        let mut touched = BTreeSet::new();
        state.seq += 1;
        let ts = ts.max(state.newest);
        state.newest = ts;
        let order = Order { ts, seq: state.seq };
        for &i in typed.iter().chain(&self.any_event) {
            let seg = &self.segments[i];
            let st = state.slot(seg);
            for (leaf, ls) in seg.program.leaves.iter().zip(&mut st.leaves) {
                leaf.on_event(ls, EventRef { xdm, order }, profile);
            }
            touched.insert(i);
        }
        Touched(touched)
    }

    /// [`Self::on_event`] for an event with an id, unless that id was folded recently (a
    /// retried request): then nothing is folded and `None` is returned.
    pub fn on_event_once(
        &self,
        state: &mut ProfileSegments,
        event_id: &str,
        xdm: &Value,
        ts: Timestamp,
        profile: &ObjectMap<Value>,
    ) -> Option<Touched> {
        state.remember(event_id).then(|| self.on_event(state, xdm, ts, profile))
    }

    /// Decides memberships at `now`: the segments touched by events since the last call, those
    /// due by time, those reading a profile attribute that changed, new or changed definitions,
    /// and those referencing a segment whose membership changed. Returns the entries and exits.
    pub fn evaluate(
        &self,
        state: &mut ProfileSegments,
        profile: &ObjectMap<Value>,
        now: Timestamp,
        touched: &Touched,
    ) -> Vec<Transition> {
        let profile_hash = self.profile_hash(profile);
        let profile_changed = state.profile_hash != profile_hash;
        state.profile_hash = profile_hash;
        // Entered at the previous evaluation: now staying.
        for id in std::mem::take(&mut state.realized) {
            if let Some(m) = state.segments.get_mut(&id).and_then(|s| s.membership.as_mut()) {
                m.status = Status::Existing;
            }
        }
        // Only the segments that can have changed are looked at: touched by an event, due by
        // time, reading a changed attribute, new or changed (a set this state has not seen), or
        // referencing one that changed (added as found: dependents come later in the order).
        let all = state.set_fingerprint != self.fingerprint;
        let mut candidates: BTreeSet<usize> = if all { (0..self.segments.len()).collect() } else { touched.0.clone() };
        if profile_changed {
            candidates.extend(self.profile_readers.iter().copied());
        }
        if state.due_min.is_some_and(|d| d <= now) {
            for (id, st) in state.segments.iter() {
                if st.due.is_some_and(|d| d <= now) {
                    candidates.extend(self.by_id.get(id).copied());
                }
            }
        }
        state.set_fingerprint = self.fingerprint;
        let scanned = all || state.due_min.is_some_and(|d| d <= now);
        let mut new_dues: Option<Timestamp> = None;
        let mut exited = vec![false; self.segments.len()];
        let mut out = Vec::new();
        while let Some(i) = candidates.pop_first() {
            let seg = &self.segments[i];
            let st = state.slot(seg);
            let due = st.due.filter(|d| *d <= now);
            let leaves: Vec<bool> =
                seg.program.leaves.iter().zip(&st.leaves).map(|(l, s)| l.value(s, profile, now)).collect();
            let value = {
                let member = |id: &str| {
                    state.segments.get(id).and_then(|s| s.membership.as_ref()).is_some_and(Membership::is_member)
                };
                seg.program.cond.value(profile, &|l| leaves.get(l).copied().unwrap_or(false), &member)
            };
            let Some(st) = state.segments.get_mut(seg.id()) else { continue };
            let next = seg.program.leaves.iter().zip(&st.leaves).filter_map(|(l, s)| l.next_change(s, now)).min();
            st.due = next;
            new_dues = match (new_dues, next) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let was = st.membership.as_ref().is_some_and(Membership::is_member);
            // A change found because time passed happened when it fell due, not when we looked.
            let at = if touched.0.contains(&i) || profile_changed { now } else { due.unwrap_or(now) };
            match (was, value) {
                (false, true) => {
                    st.membership = Some(Membership {
                        status: Status::Realized,
                        last_qualification_time: at,
                        valid_until: next,
                        exit_reason: None,
                    });
                    candidates.extend(self.dependents[i].iter().copied());
                    state.realized.push(seg.id().to_owned());
                    out.push(Transition {
                        segment: seg.id().to_owned(),
                        version: seg.version,
                        status: Status::Realized,
                        at,
                        valid_until: next,
                        reason: None,
                    });
                }
                (true, false) => {
                    let reason = if seg.deps.iter().any(|&d| exited[d]) {
                        ExitReason::ParentExited
                    } else if touched.0.contains(&i) {
                        ExitReason::NegatingEvent
                    } else if profile_changed && seg.reads_profile {
                        ExitReason::AttributeChanged
                    } else {
                        ExitReason::WindowExpired
                    };
                    if let Some(m) = st.membership.as_mut() {
                        m.status = Status::Exited;
                        m.valid_until = None;
                        m.exit_reason = Some(reason);
                    }
                    candidates.extend(self.dependents[i].iter().copied());
                    exited[i] = true;
                    out.push(Transition {
                        segment: seg.id().to_owned(),
                        version: seg.version,
                        status: Status::Exited,
                        at,
                        valid_until: None,
                        reason: Some(reason),
                    });
                }
                (true, true) => {
                    if let Some(m) = st.membership.as_mut() {
                        m.status = Status::Existing;
                        m.valid_until = next;
                    }
                }
                (false, false) => {}
            }
        }
        if all {
            // Segments removed from the set leave no state behind.
            state.segments.retain(|id, _| self.by_id.contains_key(id));
        }
        state.due_min = if scanned {
            state.segments.values().filter_map(|s| s.due).min()
        } else {
            match (state.due_min, new_dues) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        };
        out
    }

    /// The earliest time a membership can change without a new event (the origin's timer).
    #[must_use]
    pub fn next_change(&self, state: &ProfileSegments) -> Option<Timestamp> {
        state.segments.values().filter_map(|s| s.due).min()
    }

    /// Batch evaluation over a whole history (events in order) and the current profile: each
    /// segment's membership at `now`, computed from the definitions rather than from state.
    #[must_use]
    pub fn evaluate_history(
        &self,
        events: &[EventRef<'_>],
        profile: &ObjectMap<Value>,
        now: Timestamp,
    ) -> ObjectMap<bool> {
        let mut out: ObjectMap<bool> = ObjectMap::new();
        for seg in &self.segments {
            let leaf = |l: usize| seg.program.leaves[l].leaf.evaluate_history(events, profile, now);
            let member = |id: &str| out.get(id).copied().unwrap_or(false);
            let v = seg.program.cond.value(profile, &leaf, &member);
            out.insert(seg.id().to_owned(), v);
        }
        out
    }

    /// Rebuilds a profile's state from its history (a new or changed definition, a late event):
    /// folds every event in order, then decides at `now`, keeping memberships so that only real
    /// changes become transitions.
    pub fn rebuild(
        &self,
        state: &mut ProfileSegments,
        events: &[EventRef<'_>],
        profile: &ObjectMap<Value>,
        now: Timestamp,
    ) -> Vec<Transition> {
        let mut fresh = ProfileSegments { profile_hash: state.profile_hash, ..ProfileSegments::new() };
        for (id, s) in state.segments.iter() {
            fresh.segments.insert(
                id.clone(),
                SegmentState { version: 0, leaves: Vec::new(), membership: s.membership.clone(), due: None },
            );
        }
        let mut touched = Touched::default();
        for e in events {
            touched.extend(self.on_event(&mut fresh, e.xdm, e.order.ts, profile));
        }
        // History-only leaves are decided over the whole history here.
        let out = self.evaluate(&mut fresh, profile, now, &touched);
        *state = fresh;
        out
    }

    /// Whether some segment's leaf is evaluated only over the whole history (origin batch).
    #[must_use]
    pub fn has_history_leaves(&self) -> bool {
        self.segments.iter().any(|s| s.program.leaves.iter().any(|l| l.mode == Mode::History))
    }

    fn profile_hash(&self, profile: &ObjectMap<Value>) -> u64 {
        let scope = super::expr::Scope { event: None, profile };
        let mut h = 0xcbf2_9ce4_8422_2325_u64;
        for path in &self.profile_reads {
            let v = super::expr::CExpr::Path(super::expr::Source::Profile, path.clone()).value(&scope);
            h = hash_value(h, v.as_ref());
        }
        h
    }
}

fn hash_value(mut h: u64, v: Option<&Value>) -> u64 {
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    };
    match v {
        None | Some(Value::Null) => eat(b"\x00"),
        Some(Value::Bool(b)) => eat(&[1, u8::from(*b)]),
        Some(Value::Number(n)) => eat(&n.as_f64().to_bits().to_le_bytes()),
        Some(Value::String(s)) => {
            eat(b"\x03");
            eat(s.as_bytes());
            eat(b"\xff");
        }
        Some(Value::Array(a)) => {
            eat(b"\x04");
            for x in a {
                h = hash_value(h, Some(x));
            }
        }
        Some(Value::Object(m)) => {
            eat(b"\x05");
            for (k, x) in m.iter() {
                h = hash_value(h, Some(&Value::String(k.clone())));
                h = hash_value(h, Some(x));
            }
        }
    }
    h
}

fn find_cycle(start: usize, deps: &[Vec<usize>], placed: &[bool]) -> Vec<usize> {
    // Follow unplaced dependencies until one repeats: that loop is a cycle.
    let mut path = vec![start];
    let mut at = start;
    loop {
        let Some(&next) = deps[at].iter().find(|&&d| !placed[d]) else { return path };
        if let Some(pos) = path.iter().position(|&p| p == next) {
            let mut cycle = path[pos..].to_vec();
            cycle.push(next);
            return cycle;
        }
        path.push(next);
        at = next;
    }
}

/// A membership's status (XDM `segmentMembership[...].status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Entering the segment.
    Realized,
    /// Staying in it.
    Existing,
    /// Leaving it.
    Exited,
}

impl Status {
    /// The XDM name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Realized => "realized",
            Status::Existing => "existing",
            Status::Exited => "exited",
        }
    }
}

/// Why a profile left a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitReason {
    /// A window passed.
    WindowExpired,
    /// An event negated it (a purchase after the cart add).
    NegatingEvent,
    /// A profile attribute it reads changed.
    AttributeChanged,
    /// A segment it references was left.
    ParentExited,
}

impl ExitReason {
    /// The name used in APIs.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            ExitReason::WindowExpired => "window_expired",
            ExitReason::NegatingEvent => "negating_event",
            ExitReason::AttributeChanged => "attribute_changed",
            ExitReason::ParentExited => "parent_exited",
        }
    }
}

/// A profile's membership of one segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    /// The status.
    #[serde(rename = "s")]
    pub status: Status,
    /// When it last qualified.
    #[serde(rename = "q")]
    pub last_qualification_time: Timestamp,
    /// Until when it holds without new events (`None`: until something happens).
    #[serde(rename = "u", default)]
    pub valid_until: Option<Timestamp>,
    /// Why it was left.
    #[serde(rename = "r", default)]
    pub exit_reason: Option<ExitReason>,
}

impl Membership {
    /// `realized` or `existing`.
    #[must_use]
    pub fn is_member(&self) -> bool {
        self.status != Status::Exited
    }
}

/// An entry into or an exit from a segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transition {
    /// The segment's id.
    pub segment: String,
    /// The definition's version.
    pub version: u64,
    /// `realized` or `exited`.
    pub status: Status,
    /// When.
    pub at: Timestamp,
    /// Until when the entry holds without new events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Timestamp>,
    /// Why, for an exit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<ExitReason>,
}

/// One segment's state for one profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentState {
    /// The definition version the leaves belong to.
    #[serde(rename = "v")]
    pub version: u64,
    /// Per leaf.
    #[serde(rename = "l")]
    pub leaves: Vec<LeafState>,
    /// The membership.
    #[serde(rename = "m", default)]
    pub membership: Option<Membership>,
    /// When to look again without new events.
    #[serde(rename = "d", default)]
    pub due: Option<Timestamp>,
}

/// One profile's state for a whole set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileSegments {
    /// Events folded so far (orders ties).
    #[serde(rename = "n", default)]
    pub seq: u64,
    /// The newest event time folded.
    #[serde(rename = "t", default = "epoch")]
    pub newest: Timestamp,
    /// A hash of the profile attributes the set reads, at the last evaluation.
    #[serde(rename = "h", default)]
    pub profile_hash: u64,
    /// Per segment id.
    #[serde(rename = "s", default)]
    pub segments: ObjectMap<SegmentState>,
    /// The set the state was last decided with (a new one looks at every segment once).
    #[serde(rename = "f", default)]
    pub set_fingerprint: u64,
    /// The earliest `due` of any segment, or earlier.
    #[serde(rename = "m", default)]
    pub due_min: Option<Timestamp>,
    /// Segments entered at the last evaluation (`realized`, `existing` from the next one).
    ///
    /// The origin stores this state positionally (msgpack arrays): no field may be skipped
    /// when empty, or the next one would be read in its place. A field added later goes last
    /// with `default`, so that older states (shorter arrays) still read.
    #[serde(rename = "r", default)]
    pub realized: Vec<String>,
    /// Hashes of the ids of the last [`RECENT_EVENTS`] events folded, newest last: a request
    /// retried with the same `requestId` carries the same event ids and is not folded twice.
    #[serde(rename = "e", default)]
    pub recent: Vec<u64>,
}

/// How many folded event ids a profile's state remembers (a retry comes within seconds).
pub const RECENT_EVENTS: usize = 64;

fn epoch() -> Timestamp {
    Timestamp(i64::MIN)
}

impl Default for ProfileSegments {
    fn default() -> Self {
        ProfileSegments::new()
    }
}

impl ProfileSegments {
    /// A profile that has seen nothing.
    #[must_use]
    pub fn new() -> ProfileSegments {
        ProfileSegments {
            seq: 0,
            newest: epoch(),
            profile_hash: 0,
            segments: ObjectMap::new(),
            set_fingerprint: 0,
            due_min: None,
            realized: Vec::new(),
            recent: Vec::new(),
        }
    }

    /// The state slot for a segment, reset when its definition changed (memberships are kept,
    /// so that a changed definition exits or enters only where the answer changed).
    fn slot(&mut self, seg: &Segment) -> &mut SegmentState {
        let st = self.segments.get_or_insert_with(seg.id(), || SegmentState {
            version: 0,
            leaves: Vec::new(),
            membership: None,
            due: None,
        });
        if st.version != seg.version {
            st.version = seg.version;
            st.leaves = seg.program.leaves.iter().map(super::program::LeafProgram::initial).collect();
            st.due = None;
        }
        st
    }

    /// Notes an event id as folded (see [`SegmentSet::on_event_once`]); `false` when it was
    /// among the recent ones already.
    pub fn remember(&mut self, event_id: &str) -> bool {
        let tag = fnv(event_id.as_bytes());
        if self.recent.contains(&tag) {
            return false;
        }
        if self.recent.len() >= RECENT_EVENTS {
            self.recent.drain(..=self.recent.len() - RECENT_EVENTS);
        }
        self.recent.push(tag);
        true
    }

    /// The memberships held (`realized`/`existing`), by segment id.
    pub fn members(&self) -> impl Iterator<Item = (&String, &Membership)> {
        self.segments.iter().filter_map(|(id, s)| s.membership.as_ref().filter(|m| m.is_member()).map(|m| (id, m)))
    }

    /// Every membership record, exited ones too.
    pub fn memberships(&self) -> impl Iterator<Item = (&String, &Membership)> {
        self.segments.iter().filter_map(|(id, s)| s.membership.as_ref().map(|m| (id, m)))
    }

    /// Merges another profile's state into this one (an identity merge): per segment, the
    /// newer membership; leaf states are rebuilt by the next evaluation from what each kept.
    pub fn absorb(&mut self, other: &ProfileSegments) {
        for tag in &other.recent {
            if !self.recent.contains(tag) {
                self.recent.push(*tag);
            }
        }
        let excess = self.recent.len().saturating_sub(RECENT_EVENTS);
        self.recent.drain(..excess);
        self.seq = self.seq.max(other.seq);
        self.newest = self.newest.max(other.newest);
        for (id, theirs) in other.segments.iter() {
            match self.segments.get_mut(id) {
                None => {
                    self.segments.insert(id.clone(), theirs.clone());
                    self.set_fingerprint = 0;
                }
                Some(ours) if ours.version == theirs.version => {
                    for (a, b) in ours.leaves.iter_mut().zip(&theirs.leaves) {
                        merge_leaf(a, b);
                    }
                    ours.due = match (ours.due, theirs.due) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                    // Force a fresh decision of every segment with the merged state.
                    self.set_fingerprint = 0;
                }
                Some(_) => {}
            }
        }
    }
}

/// Merges two states of one leaf (two devices' histories becoming one person's).
fn merge_leaf(a: &mut LeafState, b: &LeafState) {
    match (a, b) {
        (LeafState::Buffer(x), LeafState::Buffer(y)) => {
            x.extend(y.iter().cloned());
            x.sort_by_key(|(o, _)| *o);
            x.dedup_by_key(|(o, _)| *o);
        }
        (LeafState::Count(x), LeafState::Count(y)) => {
            let keep = x.len().max(y.len());
            x.extend(y.iter().copied());
            x.sort();
            // The same state seen twice (one person's view under two identities) counts once.
            x.dedup();
            let drop = x.len().saturating_sub(keep);
            x.drain(..drop);
        }
        (
            LeafState::Chain { best: ba, done: da, cancelled: ca },
            LeafState::Chain { best: bb, done: db, cancelled: cb },
        ) => {
            for (x, y) in ba.iter_mut().zip(bb) {
                if y.is_some_and(|(s, _)| x.is_none_or(|(t, _)| s > t)) {
                    *x = *y;
                }
            }
            if db.is_some_and(|(_, e)| da.is_none_or(|(_, f)| e > f)) {
                *da = *db;
                *ca = *cb;
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests;
