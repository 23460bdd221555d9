//! Compiled segments: a boolean condition over profile predicates, `inSegment` references and
//! event-history *leaves*, each leaf with bounded per-profile state.
//!
//! | leaf | state | true when | changes by itself at |
//! |---|---|---|---|
//! | chain of steps (one step = "an event matching P") | latest start of each matched prefix | a complete match starts inside the window | the start leaving the window |
//! | chain ending in an absence step `NOT WHAT(q) WHEN(< d after L)` | the latest completion of the positive steps, and whether `q` followed it | it was not followed by `q` and `d` has passed | `end + d` (qualifies), then the window |
//! | count of matching events in a window compared with `n` | the last `n + 1` matching times | the number inside the window compares | the oldest counted event leaving the window |
//! | anything else (per-step gaps, correlation keys, aggregates, predicates that compare the event with the profile) | the latest `cap` relevant events, projected to the fields read | evaluated over them at `now` with the current profile | a buffered event leaving the window, or reaching a delay |
//!
//! Semantics (documented, and the same in [`Leaf::on_event`] and the history evaluator
//! [`Leaf::evaluate_history`]):
//! - events are ordered by `(timestamp, arrival)`; a chain's events are in that strict order, so
//!   one event fills at most one step of a given match;
//! - a chain's window (`WHEN(< N unit before now)` on any step; the smallest if several) bounds
//!   the chain's *first* event: `(now − N, now]` (`<=`: `[now − N, now]`); `WHEN(today)` bounds
//!   it to the current UTC day;
//! - an absence step looks at the most recent completion of the steps before it: any later
//!   matching event cancels it (an exit), `d` (0 without `WHEN`) must pass before it holds;
//! - `COUNT(n)` on a step means at least `n` matching events for that step, in order;
//! - a per-step gap (`B: WHAT(..) WHEN(< 30 minutes after A)`) bounds the time from the previous
//!   step's event; a correlation key (`BY cart`) makes every step of a match, and the absence
//!   step, share the key's value (each key is judged on its most recent completion);
//! - predicates read the profile as it is at evaluation time (`now`), not as it was when the
//!   event arrived: a cart added anonymously becomes a gift the moment the login brings the
//!   preferred size. Such leaves keep their relevant events (see [`Buffer`]).

use serde::{Deserialize, Serialize};

use super::ast::{AggFn, CmpOp};
use super::expr::{CExpr, Scope};
use crate::map::ObjectMap;
use crate::time::Timestamp;
use crate::value::{Number, Value};

const DAY_MS: i64 = 86_400_000;

/// An event's place in a profile's history: its time, then its arrival.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Order {
    /// Event time.
    pub ts: Timestamp,
    /// Arrival number (ties between equal times).
    pub seq: u64,
}

/// How far back an event may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Window {
    /// Any time.
    All,
    /// `(now − ms, now]`.
    Within(i64),
    /// `[now − ms, now]`.
    WithinInclusive(i64),
    /// The current UTC day.
    Today,
}

impl Window {
    /// Whether an event at `ts` is inside the window at `now`.
    #[must_use]
    pub fn contains(self, ts: Timestamp, now: Timestamp) -> bool {
        if ts > now {
            return false;
        }
        match self {
            Window::All => true,
            Window::Within(ms) => ts.millis() > now.millis().saturating_sub(ms),
            Window::WithinInclusive(ms) => ts.millis() >= now.millis().saturating_sub(ms),
            Window::Today => ts.millis().div_euclid(DAY_MS) == now.millis().div_euclid(DAY_MS),
        }
    }

    /// When an event at `ts` leaves the window (`None`: never).
    #[must_use]
    pub fn expiry(self, ts: Timestamp) -> Option<Timestamp> {
        match self {
            Window::All => None,
            Window::Within(ms) => Some(ts.plus_millis(ms)),
            Window::WithinInclusive(ms) => Some(ts.plus_millis(ms).plus_millis(1)),
            Window::Today => Some(Timestamp((ts.millis().div_euclid(DAY_MS) + 1) * DAY_MS)),
        }
    }

    /// The narrower of two windows (for a chain with several step windows).
    #[must_use]
    pub fn narrower(self, other: Window) -> Window {
        let width = |w: Window| match w {
            Window::All => i64::MAX,
            Window::Within(ms) => ms,
            Window::WithinInclusive(ms) => ms.saturating_add(1),
            Window::Today => DAY_MS,
        };
        if width(other) < width(self) { other } else { self }
    }
}

/// A per-step gap: the time from the previous step's event is below (or at most) this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    /// Milliseconds.
    pub ms: i64,
    /// `<=` rather than `<`.
    pub inclusive: bool,
}

impl Gap {
    fn allows(self, from: Timestamp, to: Timestamp) -> bool {
        let d = to.millis().saturating_sub(from.millis());
        if self.inclusive { d <= self.ms } else { d < self.ms }
    }
}

/// A chain of steps.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainLeaf {
    /// The positive steps, `COUNT(n)` expanded into `n` steps.
    pub steps: Vec<CExpr>,
    /// Per step, its gap from the previous step (the first is always `None`).
    pub gaps: Vec<Option<Gap>>,
    /// The correlation key, read from each event.
    pub key: Option<CExpr>,
    /// An absence step after them: the predicate and its delay in milliseconds.
    pub absence: Option<(CExpr, i64)>,
    /// The window on the chain's first event.
    pub window: Window,
}

impl ChainLeaf {
    /// A chain without gaps or key.
    #[must_use]
    pub fn new(steps: Vec<CExpr>, absence: Option<(CExpr, i64)>, window: Window) -> ChainLeaf {
        let gaps = vec![None; steps.len()];
        ChainLeaf { steps, gaps, key: None, absence, window }
    }

    /// Whether the streaming fold is exact for this chain (no gaps, no key).
    #[must_use]
    pub fn foldable(&self) -> bool {
        self.key.is_none() && self.gaps.iter().all(Option::is_none)
    }
}

/// A count of matching events in a window, compared with a constant.
#[derive(Debug, Clone, PartialEq)]
pub struct CountLeaf {
    /// Which events count.
    pub pred: CExpr,
    /// How far back.
    pub window: Window,
    /// The comparison.
    pub op: CmpOp,
    /// The constant.
    pub n: u32,
}

/// An aggregate of matching events in a window, tested (`sum(...) > 100`).
#[derive(Debug, Clone, PartialEq)]
pub struct AggLeaf {
    /// The function.
    pub func: AggFn,
    /// What is aggregated, read from each event (absent for `count`).
    pub value: Option<CExpr>,
    /// Which events count.
    pub pred: CExpr,
    /// How far back.
    pub window: Window,
    /// The test, with the aggregate bound as `Var(0)` (`null` when no event matched, except
    /// `count` and `sum`, which are 0).
    pub test: CExpr,
}

/// An event-history predicate.
#[derive(Debug, Clone, PartialEq)]
pub enum Leaf {
    /// A chain (one step: "an event matching P").
    Chain(ChainLeaf),
    /// A windowed count.
    Count(CountLeaf),
    /// A windowed aggregate.
    Agg(AggLeaf),
}

/// A leaf's per-profile state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LeafState {
    /// Of a folded chain.
    Chain {
        /// `best[i]`: the latest start among matched prefixes of `i + 1` steps, with the order
        /// of their last event.
        best: Vec<Option<(Timestamp, Order)>>,
        /// The latest completion of the positive steps: (start, end).
        done: Option<(Timestamp, Order)>,
        /// Whether an absence-step event followed `done`.
        cancelled: bool,
    },
    /// Of a folded count: the latest `n + 1` matching times, oldest first.
    Count(Vec<Timestamp>),
    /// Of a buffered leaf: its relevant events, oldest first, packed to the fields read.
    Buffer(Vec<(Order, Value)>),
}

/// How a buffered leaf keeps events.
#[derive(Debug, Clone, PartialEq)]
pub struct Buffer {
    /// At most this many events (the oldest are dropped).
    pub cap: usize,
    /// Which events can matter (a profile-free over-approximation of the leaf's predicates).
    pub relevant: CExpr,
    /// The event fields kept.
    pub keep: Keep,
    /// Events older than the window (at the newest event's time) are dropped.
    pub window: Window,
}

/// Which fields of an event a buffer keeps.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Keep {
    /// Nothing (the event's time is kept beside it).
    #[default]
    Nothing,
    /// The whole value.
    All,
    /// These fields (through arrays: each element keeps them).
    Fields(ObjectMap<Keep>),
}

impl Keep {
    /// Adds a path read from the event.
    pub fn add(&mut self, path: &[String]) {
        match (path.split_first(), &mut *self) {
            (_, Keep::All) => {}
            (None, _) => *self = Keep::All,
            (Some((first, rest)), Keep::Fields(f)) => f.get_or_insert_with(first, || Keep::Nothing).add(rest),
            (Some((first, rest)), Keep::Nothing) => {
                let mut f = ObjectMap::new();
                let mut child = Keep::Nothing;
                child.add(rest);
                f.insert(first.clone(), child);
                *self = Keep::Fields(f);
            }
        }
    }

    /// The part of `v` kept, packed by position (the field names are in the `Keep`, not in each
    /// buffered event): an object becomes the array of its kept fields' values, an array
    /// `{"*": [...]}` of its packed elements.
    #[must_use]
    pub fn pack(&self, v: &Value) -> Value {
        match (self, v) {
            (Keep::All, v) => v.clone(),
            (Keep::Nothing, _) => Value::Null,
            (Keep::Fields(f), Value::Object(m)) => {
                Value::Array(f.iter().map(|(k, keep)| m.get(k).map_or(Value::Null, |x| keep.pack(x))).collect())
            }
            (Keep::Fields(_), Value::Array(a)) => {
                let mut tagged = ObjectMap::new();
                tagged.insert("*".into(), Value::Array(a.iter().map(|x| self.pack(x)).collect()));
                Value::Object(tagged)
            }
            (Keep::Fields(_), other) => other.clone(),
        }
    }

    /// The inverse of [`Keep::pack`] (fields that were missing come back absent).
    #[must_use]
    pub fn unpack(&self, v: &Value) -> Value {
        match (self, v) {
            (Keep::All | Keep::Nothing, v) => v.clone(),
            (Keep::Fields(f), Value::Array(values)) => {
                let mut out = ObjectMap::new();
                for ((k, keep), x) in f.iter().zip(values) {
                    if !matches!(x, Value::Null) {
                        out.insert(k.clone(), keep.unpack(x));
                    }
                }
                Value::Object(out)
            }
            (Keep::Fields(_), Value::Object(tagged)) => match tagged.get("*") {
                Some(Value::Array(items)) => Value::Array(items.iter().map(|x| self.unpack(x)).collect()),
                _ => Value::Null,
            },
            (Keep::Fields(_), other) => other.clone(),
        }
    }
}

/// How a leaf is evaluated.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// Folded into O(steps) state, exactly.
    Fold,
    /// Over a bounded buffer of its relevant events.
    Buffer(Buffer),
    /// Over the whole history only (the origin's batch evaluator): an unbounded aggregate.
    History,
}

/// A leaf and how it is evaluated.
#[derive(Debug, Clone, PartialEq)]
pub struct LeafProgram {
    /// The predicate.
    pub leaf: Leaf,
    /// How.
    pub mode: Mode,
}

/// One event as leaves see it.
#[derive(Debug, Clone, Copy)]
pub struct EventRef<'a> {
    /// Its XDM.
    pub xdm: &'a Value,
    /// Its order.
    pub order: Order,
}

impl LeafProgram {
    /// The state of a profile that has seen no event.
    #[must_use]
    pub fn initial(&self) -> LeafState {
        match self.mode {
            Mode::Fold => self.leaf.initial(),
            Mode::Buffer(_) | Mode::History => LeafState::Buffer(Vec::new()),
        }
    }

    /// Folds one event (in order) into the state.
    pub fn on_event(&self, state: &mut LeafState, event: EventRef<'_>, profile: &ObjectMap<Value>) {
        match (&self.mode, &mut *state) {
            (Mode::Fold, _) => self.leaf.on_event(state, event, profile),
            (Mode::Buffer(b), LeafState::Buffer(events)) => {
                if !b.relevant.holds(&Scope { event: Some(event.xdm), profile }) {
                    return;
                }
                events.push((event.order, b.keep.pack(event.xdm)));
                let newest = event.order.ts;
                events.retain(|(o, _)| b.window.expiry(o.ts).is_none_or(|end| end > newest));
                if events.len() > b.cap {
                    events.drain(..events.len() - b.cap);
                }
            }
            (Mode::History, _) => {}
            (_, state) => *state = self.initial(),
        }
    }

    /// The leaf's value at `now` with the current profile.
    #[must_use]
    pub fn value(&self, state: &LeafState, profile: &ObjectMap<Value>, now: Timestamp) -> bool {
        match (&self.mode, state) {
            (Mode::Fold, _) => self.leaf.value(state, now),
            (mode, LeafState::Buffer(events)) => {
                let unpacked: Vec<Value> = match mode {
                    Mode::Buffer(b) => events.iter().map(|(_, v)| b.keep.unpack(v)).collect(),
                    _ => events.iter().map(|(_, v)| v.clone()).collect(),
                };
                let refs: Vec<EventRef<'_>> =
                    events.iter().zip(&unpacked).map(|((order, _), xdm)| EventRef { xdm, order: *order }).collect();
                self.leaf.evaluate_history(&refs, profile, now)
            }
            _ => false,
        }
    }

    /// A time after `now` before which the value cannot change without a new event (the exact
    /// next change for folded leaves; for buffered ones the next event expiry or delay, which
    /// may change nothing).
    #[must_use]
    pub fn next_change(&self, state: &LeafState, now: Timestamp) -> Option<Timestamp> {
        match (&self.mode, state) {
            (Mode::Fold, _) => self.leaf.next_change(state, now),
            (_, LeafState::Buffer(events)) => {
                let (window, delay) = match &self.leaf {
                    Leaf::Chain(c) => (c.window, c.absence.as_ref().map(|(_, d)| *d)),
                    Leaf::Count(c) => (c.window, None),
                    Leaf::Agg(a) => (a.window, None),
                };
                events
                    .iter()
                    .flat_map(|(o, _)| [window.expiry(o.ts), delay.map(|d| o.ts.plus_millis(d))])
                    .flatten()
                    .filter(|t| *t > now)
                    .min()
            }
            _ => None,
        }
    }
}

impl Leaf {
    /// The folded state of a profile that has seen no event.
    #[must_use]
    pub fn initial(&self) -> LeafState {
        match self {
            Leaf::Chain(c) => LeafState::Chain { best: vec![None; c.steps.len()], done: None, cancelled: false },
            Leaf::Count(_) => LeafState::Count(Vec::new()),
            Leaf::Agg(_) => LeafState::Buffer(Vec::new()),
        }
    }

    /// Bytes the folded state takes at most when encoded (for the static report).
    #[must_use]
    pub fn fold_bytes(&self) -> usize {
        match self {
            Leaf::Chain(c) => 4 + (c.steps.len() + 1) * 26 + 1,
            Leaf::Count(c) => 4 + (c.n as usize + 1) * 9,
            Leaf::Agg(_) => 0,
        }
    }

    /// Folds one event (in order) into the state. Only for foldable leaves (see [`Mode::Fold`]).
    pub fn on_event(&self, state: &mut LeafState, event: EventRef<'_>, profile: &ObjectMap<Value>) {
        let scope = Scope { event: Some(event.xdm), profile };
        match (self, state) {
            (Leaf::Chain(c), LeafState::Chain { best, done, cancelled }) => {
                let ts = event.order.ts;
                if let Some((q, _)) = &c.absence
                    && done.is_some_and(|(_, end)| end < event.order)
                    && q.holds(&scope)
                {
                    *cancelled = true;
                }
                // From the last step to the first, so each step extends prefixes made of earlier
                // events only (one event is never two steps of one match).
                for i in (0..c.steps.len()).rev() {
                    let start = if i == 0 {
                        Some(ts)
                    } else {
                        best[i - 1].filter(|(_, last)| *last < event.order).map(|(start, _)| start)
                    };
                    let Some(start) = start else { continue };
                    if !c.steps[i].holds(&scope) {
                        continue;
                    }
                    if best[i].is_none_or(|(s, _)| start >= s) {
                        best[i] = Some((start, event.order));
                    }
                    if i + 1 == c.steps.len() {
                        *done = Some((start, event.order));
                        *cancelled = false;
                    }
                }
            }
            (Leaf::Count(c), LeafState::Count(times)) => {
                if c.pred.holds(&scope) {
                    times.push(event.order.ts);
                    let keep = c.n as usize + 1;
                    if times.len() > keep {
                        times.drain(..times.len() - keep);
                    }
                }
            }
            (leaf, state) => *state = leaf.initial(),
        }
    }

    /// The folded state's value at `now`.
    #[must_use]
    pub fn value(&self, state: &LeafState, now: Timestamp) -> bool {
        match (self, state) {
            (Leaf::Chain(c), LeafState::Chain { done, cancelled, .. }) => match (done, &c.absence) {
                (Some((start, _)), None) => c.window.contains(*start, now),
                (Some((start, end)), Some((_, delay))) => {
                    !cancelled && now >= end.ts.plus_millis(*delay) && c.window.contains(*start, now)
                }
                (None, _) => false,
            },
            (Leaf::Count(c), LeafState::Count(times)) => {
                let count = times.iter().filter(|t| c.window.contains(**t, now)).count();
                compare(count as u64, c.op, u64::from(c.n))
            }
            _ => false,
        }
    }

    /// The earliest time after `now` at which the folded value can change with no new event.
    #[must_use]
    pub fn next_change(&self, state: &LeafState, now: Timestamp) -> Option<Timestamp> {
        match (self, state) {
            (Leaf::Chain(c), LeafState::Chain { done: Some((start, end)), cancelled, .. }) => {
                let mut times = vec![];
                if let Some((_, delay)) = &c.absence {
                    if *cancelled {
                        return None;
                    }
                    times.push(end.ts.plus_millis(*delay));
                }
                times.extend(c.window.expiry(*start));
                times.into_iter().filter(|t| *t > now).min()
            }
            (Leaf::Count(c), LeafState::Count(times)) => times
                .iter()
                .filter(|t| c.window.contains(**t, now))
                .filter_map(|t| c.window.expiry(*t))
                .filter(|t| *t > now)
                .min(),
            _ => None,
        }
    }

    /// The leaf's value at `now` over a whole history (events in order) and the current profile,
    /// computed directly from the definition rather than by folding state: the reference the
    /// streaming state is tested against, and the origin's evaluator over stored history.
    #[must_use]
    pub fn evaluate_history(&self, events: &[EventRef<'_>], profile: &ObjectMap<Value>, now: Timestamp) -> bool {
        let visible: Vec<&EventRef<'_>> = events.iter().filter(|e| e.order.ts <= now).collect();
        let holds = |p: &CExpr, e: &EventRef<'_>| p.holds(&Scope { event: Some(e.xdm), profile });
        match self {
            Leaf::Count(c) => {
                let count = visible.iter().filter(|e| c.window.contains(e.order.ts, now) && holds(&c.pred, e)).count();
                compare(count as u64, c.op, u64::from(c.n))
            }
            Leaf::Agg(a) => {
                let matching = visible.iter().filter(|e| a.window.contains(e.order.ts, now) && holds(&a.pred, e));
                let values: Vec<f64> = match &a.value {
                    None => matching.map(|_| 1.0).collect(),
                    Some(v) => matching
                        .flat_map(|e| v.values(&Scope { event: Some(e.xdm), profile }))
                        .filter_map(|x| match x {
                            Value::Number(n) => Some(n.as_f64()),
                            _ => None,
                        })
                        .collect(),
                };
                let result = aggregate(a.func, &values);
                a.test.holds_with(&Scope { event: None, profile }, &result)
            }
            Leaf::Chain(c) => chain_history(c, &visible, profile, now),
        }
    }
}

/// An aggregate's value: `count`/`sum` of nothing are 0, the others `null`.
fn aggregate(func: AggFn, values: &[f64]) -> Value {
    let number = |x: f64| Value::Number(Number::Float(x));
    match func {
        AggFn::Count => Value::Number(Number::PosInt(values.len() as u64)),
        AggFn::Sum => number(values.iter().sum()),
        _ if values.is_empty() => Value::Null,
        AggFn::Min => number(values.iter().copied().fold(f64::INFINITY, f64::min)),
        AggFn::Max => number(values.iter().copied().fold(f64::NEG_INFINITY, f64::max)),
        AggFn::Average => number(values.iter().sum::<f64>() / values.len() as f64),
    }
}

/// A chain over a history by dynamic programming: `start[i][j]` is the latest start of a match
/// of the first `i + 1` steps whose step `i` is event `j`. Independent of the fold, which the
/// property tests compare it with.
fn chain_history(c: &ChainLeaf, events: &[&EventRef<'_>], profile: &ObjectMap<Value>, now: Timestamp) -> bool {
    fn scope<'a>(e: &EventRef<'a>, profile: &'a ObjectMap<Value>) -> Scope<'a> {
        Scope { event: Some(e.xdm), profile }
    }
    let keys: Vec<Option<Value>> =
        events.iter().map(|e| c.key.as_ref().and_then(|k| k.value(&scope(e, profile)))).collect();
    let same_key = |a: usize, b: usize| c.key.is_none() || (keys[a].is_some() && keys[a] == keys[b]);
    let k = c.steps.len();
    // With a key, an event without one takes no step.
    let step_holds =
        |i: usize, j: usize| (c.key.is_none() || keys[j].is_some()) && c.steps[i].holds(&scope(events[j], profile));
    let mut start: Vec<Option<Timestamp>> =
        (0..events.len()).map(|j| step_holds(0, j).then_some(events[j].order.ts)).collect();
    for i in 1..k {
        let next: Vec<Option<Timestamp>> = (0..events.len())
            .map(|j| {
                if !step_holds(i, j) {
                    return None;
                }
                (0..j)
                    .filter(|&p| events[p].order < events[j].order && same_key(p, j))
                    .filter(|&p| c.gaps[i].is_none_or(|g| g.allows(events[p].order.ts, events[j].order.ts)))
                    .filter_map(|p| start[p])
                    .max()
            })
            .collect();
        start = next;
    }
    match &c.absence {
        None => start.iter().flatten().max().is_some_and(|s| c.window.contains(*s, now)),
        Some((q, delay)) => {
            // Each key (one group without a key) is judged on its most recent completion.
            let ends: Vec<usize> = (0..events.len()).filter(|&j| start[j].is_some()).collect();
            ends.iter().filter(|&&j| !ends.iter().any(|&l| l > j && same_key(l, j))).any(|&j| {
                let cancelled = (j + 1..events.len()).any(|l| {
                    same_key(j, l) && events[j].order < events[l].order && q.holds(&scope(events[l], profile))
                });
                !cancelled
                    && now >= events[j].order.ts.plus_millis(*delay)
                    && start[j].is_some_and(|s| c.window.contains(s, now))
            })
        }
    }
}

fn compare(count: u64, op: CmpOp, n: u64) -> bool {
    match op {
        CmpOp::Eq => count == n,
        CmpOp::Ne => count != n,
        CmpOp::Lt => count < n,
        CmpOp::Le => count <= n,
        CmpOp::Gt => count > n,
        CmpOp::Ge => count >= n,
    }
}

/// A segment's condition: profile predicates, `inSegment`, and leaves (by index).
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// A constant.
    Const(bool),
    /// A predicate over the profile alone.
    Profile(CExpr),
    /// Membership of another segment (by id).
    InSegment(String),
    /// An event-history leaf, by index into the program's leaves.
    Leaf(usize),
    /// Negation.
    Not(Box<Cond>),
    /// Conjunction.
    And(Vec<Cond>),
    /// Disjunction.
    Or(Vec<Cond>),
}

impl Cond {
    /// The condition's value, given each leaf's value and each referenced segment's membership.
    #[must_use]
    pub fn value(
        &self,
        profile: &ObjectMap<Value>,
        leaf: &dyn Fn(usize) -> bool,
        member: &dyn Fn(&str) -> bool,
    ) -> bool {
        match self {
            Cond::Const(b) => *b,
            Cond::Profile(e) => e.holds(&Scope { event: None, profile }),
            Cond::InSegment(id) => member(id),
            Cond::Leaf(i) => leaf(*i),
            Cond::Not(c) => !c.value(profile, leaf, member),
            Cond::And(list) => list.iter().all(|c| c.value(profile, leaf, member)),
            Cond::Or(list) => list.iter().any(|c| c.value(profile, leaf, member)),
        }
    }
}

#[cfg(test)]
mod tests;
