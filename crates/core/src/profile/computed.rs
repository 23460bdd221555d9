//! Computed attributes: per-profile aggregates over a window of events, maintained
//! incrementally as events arrive (Luma's `preferredCategory` = the most frequent category of
//! its purchases over 365 days).
//!
//! State is kept by UTC day: a window of `N` days holds today and the `N − 1` days before, and
//! each aggregate keeps at most one entry per day (per value, for `most_frequent`), so a profile's
//! state is bounded by the window, not by its history. The origin computes them and writes them
//! to the profile (dataset [`COMPUTED_DATASET`]), where segments and edges read them like any
//! attribute.

use serde::{Deserialize, Serialize};

use crate::map::ObjectMap;
use crate::segment::compile::{CompileError, Options};
use crate::segment::expr::{CExpr, Scope};
use crate::segment::schema::Schema;
use crate::time::Timestamp;
use crate::value::{Number, Value};

/// The dataset computed attributes are written to.
pub const COMPUTED_DATASET: &str = "computed";

const DAY_MS: i64 = 86_400_000;

/// The aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Function {
    /// How many events.
    Count,
    /// The sum of a numeric field.
    Sum,
    /// Its smallest value.
    Min,
    /// Its largest value.
    Max,
    /// The latest value.
    Last,
    /// The value seen most often (ties: the most recently seen, then the smallest).
    MostFrequent,
}

/// A computed attribute, as an operator writes it (`[[computed]]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct ComputedConfig {
    /// The attribute it writes (`_luma.preferredCategory`).
    pub path: String,
    /// The aggregate.
    pub function: Function,
    /// The event field it aggregates, through arrays (`productListItems._luma.category`); not
    /// for `count`.
    #[serde(default)]
    pub of: Option<String>,
    /// Which events count: a PQL condition on the event (`eventType = "commerce.purchases"`).
    #[serde(default)]
    pub events: Option<String>,
    /// The window in days (default 365).
    #[serde(default = "default_days")]
    pub window_days: u32,
}

fn default_days() -> u32 {
    365
}

/// Why a computed attribute was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComputedError {
    /// `of` is missing, or given to `count`.
    #[error("computed attribute {path}: {message}")]
    Config {
        /// The attribute.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The `events` condition does not compile.
    #[error("computed attribute {path}: events: {error}")]
    Condition {
        /// The attribute.
        path: String,
        /// The compiler's error.
        error: String,
    },
}

#[derive(Debug, Clone)]
struct Attr {
    config: ComputedConfig,
    events: Option<CExpr>,
    of: Vec<String>,
}

/// Compiled computed attributes.
#[derive(Debug, Clone, Default)]
pub struct Computed {
    attrs: Vec<Attr>,
}

/// One profile's state for its computed attributes, by attribute path.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ComputedState(ObjectMap<AttrState>);

/// One attribute's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum AttrState {
    /// `(day, count, sum)` per day.
    Days(Vec<(i64, u64, f64)>),
    /// `(time, value)`, monotonic: the extreme at the front.
    Extremes(Vec<(Timestamp, f64)>),
    /// The latest value.
    Last(Option<(Timestamp, Value)>),
    /// Per value, `(day, count)` per day, and when it was last seen.
    Frequent(Vec<Tally>),
}

/// One value's counts by day, and when it was last seen.
type Tally = (String, Vec<(i64, u64)>, Timestamp);

/// The values at a path, through arrays (`productListItems._luma.category`).
fn values_at<'a>(v: &'a Value, path: &[String], out: &mut Vec<&'a Value>) {
    match (v, path.split_first()) {
        (Value::Array(items), _) => items.iter().for_each(|i| values_at(i, path, out)),
        (v, None) => out.push(v),
        (Value::Object(m), Some((first, rest))) => {
            if let Some(x) = m.get(first) {
                values_at(x, rest, out);
            }
        }
        _ => {}
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => Some(n.as_f64()),
        _ => None,
    }
}

fn key_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.as_f64().to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Computed {
    /// Compiles the configured attributes; the ones that do not compile are returned with why.
    #[must_use]
    pub fn compile(configs: &[ComputedConfig], schema: &Schema) -> (Computed, Vec<ComputedError>) {
        let mut attrs = Vec::new();
        let mut errors = Vec::new();
        for c in configs {
            let err = |message: &str| ComputedError::Config { path: c.path.clone(), message: message.into() };
            match (c.function, &c.of) {
                (Function::Count, Some(_)) => {
                    errors.push(err("`count` counts events: drop `of`"));
                    continue;
                }
                (f, None) if f != Function::Count => {
                    errors.push(err("`of` names the event field to aggregate"));
                    continue;
                }
                _ => {}
            }
            if c.window_days == 0 {
                errors.push(err("window_days must be at least 1"));
                continue;
            }
            let events = match c.events.as_deref().map(|text| event_condition(text, schema)) {
                None => None,
                Some(Ok(e)) => Some(e),
                Some(Err(e)) => {
                    errors.push(ComputedError::Condition { path: c.path.clone(), error: e.to_string() });
                    continue;
                }
            };
            let of = c.of.as_deref().map(|o| o.split('.').map(String::from).collect()).unwrap_or_default();
            attrs.push(Attr { config: c.clone(), events, of });
        }
        (Computed { attrs }, errors)
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.attrs.is_empty()
    }

    /// The attribute paths written.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.attrs.iter().map(|a| a.config.path.as_str())
    }

    /// Folds one event (in time order) into the state.
    pub fn fold(&self, state: &mut ComputedState, xdm: &Value, ts: Timestamp) {
        let empty = ObjectMap::new();
        let day = ts.millis().div_euclid(DAY_MS);
        for a in &self.attrs {
            if a.events.as_ref().is_some_and(|e| !e.holds(&Scope { event: Some(xdm), profile: &empty })) {
                continue;
            }
            let mut vals = Vec::new();
            if a.config.function != Function::Count {
                values_at(xdm, &a.of, &mut vals);
                vals.retain(|v| !matches!(v, Value::Null));
                if vals.is_empty() {
                    continue;
                }
            }
            let st = state.0.get_or_insert_with(&a.config.path, || match a.config.function {
                Function::Count | Function::Sum => AttrState::Days(Vec::new()),
                Function::Min | Function::Max => AttrState::Extremes(Vec::new()),
                Function::Last => AttrState::Last(None),
                Function::MostFrequent => AttrState::Frequent(Vec::new()),
            });
            match st {
                AttrState::Days(days) => {
                    let sum: f64 = vals.iter().filter_map(|v| number(v)).sum();
                    match days.last_mut() {
                        Some((d, count, total)) if *d == day => {
                            *count += 1;
                            *total += sum;
                        }
                        _ => days.push((day, 1, sum)),
                    }
                }
                AttrState::Extremes(deque) => {
                    let is_max = a.config.function == Function::Max;
                    for x in vals.iter().filter_map(|v| number(v)) {
                        // Drop entries the new value dominates: they can never be the extreme again.
                        while deque.last().is_some_and(|(_, y)| if is_max { *y <= x } else { *y >= x }) {
                            deque.pop();
                        }
                        deque.push((ts, x));
                    }
                }
                AttrState::Last(last) => {
                    if last.as_ref().is_none_or(|(t, _)| *t <= ts) {
                        *last = vals.last().map(|v| (ts, (*v).clone()));
                    }
                }
                AttrState::Frequent(counts) => {
                    for key in vals.iter().filter_map(|v| key_of(v)) {
                        match counts.iter_mut().find(|(k, _, _)| *k == key) {
                            Some((_, days, seen)) => {
                                match days.last_mut() {
                                    Some((d, n)) if *d == day => *n += 1,
                                    _ => days.push((day, 1)),
                                }
                                *seen = (*seen).max(ts);
                            }
                            None => counts.push((key, vec![(day, 1)], ts)),
                        }
                    }
                }
            }
            evict(st, a.config.window_days, ts);
        }
    }

    /// The attributes' values at `now` (an attribute with nothing in its window is absent).
    #[must_use]
    pub fn values(&self, state: &ComputedState, now: Timestamp) -> ObjectMap<Value> {
        let mut out = ObjectMap::new();
        for a in &self.attrs {
            let Some(st) = state.0.get(&a.config.path) else { continue };
            let mut st = st.clone();
            evict(&mut st, a.config.window_days, now);
            let v = match (&st, a.config.function) {
                (AttrState::Days(days), Function::Count) => {
                    Some(Value::Number(Number::PosInt(days.iter().map(|(_, c, _)| c).sum())))
                }
                (AttrState::Days(days), _) if !days.is_empty() => {
                    Some(Value::Number(Number::Float(days.iter().map(|(_, _, s)| s).sum())))
                }
                (AttrState::Extremes(deque), _) => deque.first().map(|(_, x)| Value::Number(Number::Float(*x))),
                (AttrState::Last(last), _) => last.as_ref().map(|(_, v)| v.clone()),
                (AttrState::Frequent(counts), _) => counts
                    .iter()
                    .map(|(k, days, seen)| (days.iter().map(|(_, n)| n).sum::<u64>(), *seen, k))
                    .filter(|(n, _, _)| *n > 0)
                    .max_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)).then(b.2.cmp(a.2)))
                    .map(|(_, _, k)| Value::String(k.clone())),
                _ => None,
            };
            if let Some(v) = v {
                out.insert(a.config.path.clone(), v);
            }
        }
        out
    }

    /// The earliest time a value can change without new events (an entry leaving its window).
    #[must_use]
    pub fn next_change(&self, state: &ComputedState, now: Timestamp) -> Option<Timestamp> {
        let mut next: Option<i64> = None;
        for a in &self.attrs {
            let Some(st) = state.0.get(&a.config.path) else { continue };
            let oldest_day = match st {
                AttrState::Days(days) => days.first().map(|(d, _, _)| *d),
                AttrState::Extremes(deque) => deque.first().map(|(t, _)| t.millis().div_euclid(DAY_MS)),
                AttrState::Last(last) => last.as_ref().map(|(t, _)| t.millis().div_euclid(DAY_MS)),
                AttrState::Frequent(counts) => {
                    counts.iter().filter_map(|(_, d, _)| d.first().map(|(day, _)| *day)).min()
                }
            };
            if let Some(d) = oldest_day {
                let leaves = (d + i64::from(a.config.window_days)) * DAY_MS;
                if leaves > now.millis() {
                    next = Some(next.map_or(leaves, |n| n.min(leaves)));
                }
            }
        }
        next.map(Timestamp)
    }
}

/// Drops what is older than the window at `now`.
fn evict(st: &mut AttrState, window_days: u32, now: Timestamp) {
    let first_day = now.millis().div_euclid(DAY_MS) - i64::from(window_days) + 1;
    match st {
        AttrState::Days(days) => days.retain(|(d, _, _)| *d >= first_day),
        AttrState::Extremes(deque) => deque.retain(|(t, _)| t.millis().div_euclid(DAY_MS) >= first_day),
        AttrState::Last(last) => {
            if last.as_ref().is_some_and(|(t, _)| t.millis().div_euclid(DAY_MS) < first_day) {
                *last = None;
            }
        }
        AttrState::Frequent(counts) => {
            for (_, days, _) in counts.iter_mut() {
                days.retain(|(d, _)| *d >= first_day);
            }
            counts.retain(|(_, days, _)| !days.is_empty());
        }
    }
}

/// Compiles a PQL condition on one event (what a chain step's `WHAT(...)` holds).
///
/// # Errors
/// The parser's or the compiler's error, with its position.
pub fn event_condition(text: &str, schema: &Schema) -> Result<CExpr, Box<dyn std::error::Error + Send + Sync>> {
    let wrapped = format!("chain(xEvent, timestamp, [A: WHAT({text})])");
    let query = crate::segment::parse(&wrapped).map_err(|e| format!("{e} (in `{text}`)"))?;
    let program = crate::segment::compile::compile(&query, &wrapped, schema, &Options::default())
        .map_err(|e: CompileError| format!("{} (in `{text}`)", e.message))?;
    match program.leaves.into_iter().next().map(|l| l.leaf) {
        Some(crate::segment::program::Leaf::Chain(mut c)) if c.steps.len() == 1 => Ok(c.steps.remove(0)),
        _ => Err("expected a condition on one event".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object;

    fn purchase(category: &str, size: &str) -> Value {
        object! {
            "eventType" => "commerce.purchases",
            "commerce" => object! { "order" => object! { "priceTotal" => 40.0 } },
            "productListItems" => vec![object! { "_luma" => object! { "category" => category, "size" => size } }],
        }
    }

    fn luma() -> Computed {
        let config = |path: &str, function, of: Option<&str>| ComputedConfig {
            path: path.into(),
            function,
            of: of.map(String::from),
            events: Some("eventType = \"commerce.purchases\"".into()),
            window_days: 365,
        };
        let (c, errors) = Computed::compile(
            &[
                config("_luma.preferredCategory", Function::MostFrequent, Some("productListItems._luma.category")),
                config("_luma.preferredSize", Function::MostFrequent, Some("productListItems._luma.size")),
                config("_luma.purchases365", Function::Count, None),
                config("_luma.spend365", Function::Sum, Some("commerce.order.priceTotal")),
                config("_luma.biggestOrder", Function::Max, Some("commerce.order.priceTotal")),
                config("_luma.lastCategory", Function::Last, Some("productListItems._luma.category")),
            ],
            &Schema::standard(),
        );
        assert!(errors.is_empty(), "{errors:?}");
        c
    }

    #[test]
    fn most_frequent_over_a_window_with_eviction() {
        let c = luma();
        let mut st = ComputedState::default();
        let day = |d: i64| Timestamp(20_000 * DAY_MS + d * DAY_MS);
        c.fold(&mut st, &purchase("women", "S"), day(0));
        c.fold(&mut st, &purchase("women", "S"), day(1));
        c.fold(&mut st, &purchase("men", "L"), day(300));
        c.fold(&mut st, &object! { "eventType" => "commerce.productViews", "productListItems" => vec![object! { "_luma" => object! { "category" => "gear" } }] }, day(301));
        let v = c.values(&st, day(301));
        assert_eq!(v.get("_luma.preferredCategory"), Some(&Value::from("women")));
        assert_eq!(v.get("_luma.preferredSize"), Some(&Value::from("S")));
        assert_eq!(v.get("_luma.purchases365"), Some(&Value::from(3u64)));
        assert_eq!(v.get("_luma.spend365"), Some(&Value::from(120.0)));
        assert_eq!(v.get("_luma.lastCategory"), Some(&Value::from("men")), "views do not count");
        assert_eq!(c.next_change(&st, day(301)), Some(day(365)), "the first purchase leaves the window");
        // A year after the first purchases only the men's one is left.
        let v = c.values(&st, day(366));
        assert_eq!(v.get("_luma.preferredCategory"), Some(&Value::from("men")));
        assert_eq!(v.get("_luma.purchases365"), Some(&Value::from(1u64)));
    }

    #[test]
    fn max_keeps_a_monotonic_queue() {
        let c = luma();
        let mut st = ComputedState::default();
        let order = |p: f64| object! { "eventType" => "commerce.purchases", "commerce" => object! { "order" => object! { "priceTotal" => p } } };
        for (d, p) in [(0, 90.0), (10, 30.0), (20, 50.0)] {
            c.fold(&mut st, &order(p), Timestamp(d * DAY_MS));
        }
        assert_eq!(c.values(&st, Timestamp(30 * DAY_MS)).get("_luma.biggestOrder"), Some(&Value::from(90.0)));
        assert_eq!(
            c.values(&st, Timestamp(366 * DAY_MS)).get("_luma.biggestOrder"),
            Some(&Value::from(50.0)),
            "90 left the window"
        );
        let AttrState::Extremes(q) = st.0.get("_luma.biggestOrder").unwrap() else { panic!() };
        assert_eq!(q.len(), 2, "30 can never be the maximum again");
    }

    #[test]
    fn bad_configs_say_why() {
        let (_, errors) = Computed::compile(
            &[
                ComputedConfig { path: "a".into(), function: Function::Sum, of: None, events: None, window_days: 7 },
                ComputedConfig {
                    path: "b".into(),
                    function: Function::Count,
                    of: None,
                    events: Some("eventTyp = 1".into()),
                    window_days: 7,
                },
            ],
            &Schema::standard(),
        );
        assert_eq!(errors.len(), 2);
        assert!(errors[1].to_string().contains("eventTyp"), "{}", errors[1]);
    }
}
