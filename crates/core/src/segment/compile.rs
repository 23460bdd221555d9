//! The compiler: [`Query`] → [`Program`], a boolean [`Cond`] over profile predicates,
//! `inSegment` references and event-history leaves, with a static [`Report`].
//!
//! Names resolve like PQL: inside a chain step or an `xEvent[...]` filter a bare name is a field
//! of the event, elsewhere of the profile; `Profile.x` (with the `(Profile) =>` lambda) is always
//! the profile; `X.y` reads a variable bound by `exists`/`select`/`forall`/`let`; inside an array
//! filter `a[...]` bare names are fields of the element, `^` the level above, `^^` two above.
//! Every path is checked against the [`Schema`] and every comparison for types that can meet.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use super::ast::{
    AggFn, Chain, CmpOp, Direction, Expr, ExprKind, Literal, OccursSpec, PathExpr, PathRoot, PathSegment,
    QuantifierKind, Query, RelativeTime, Span, TimeRef, Unit, When,
};
use super::expr::{CExpr, LikePart, Source, StrFn};
use super::program::{AggLeaf, Buffer, ChainLeaf, Cond, CountLeaf, Gap, Keep, Leaf, LeafProgram, Mode, Window};
use super::schema::{Schema, Ty, closest};
use crate::value::{Number, Value};

const DAY_MS: i64 = 86_400_000;

/// A definition the compiler refused: what, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CompileError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong and what was expected.
    pub message: String,
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {}:{}", self.message, self.line, self.column)
    }
}

impl std::error::Error for CompileError {}

/// Compiler settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The longest window the edge evaluates (default 90 days).
    pub max_edge_window_ms: i64,
    /// How many relevant events a buffered leaf keeps (default 8).
    pub buffer_cap: usize,
    /// The most state bytes per profile a segment may take at the edge (default 1,024).
    pub edge_state_budget: usize,
    /// Keep every relevant event in buffers (the origin, which must be exact and keeps
    /// history anyway); the report still gives the edge's cost with `buffer_cap`.
    pub exact_buffers: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { max_edge_window_ms: 90 * DAY_MS, buffer_cap: 8, edge_state_budget: 1024, exact_buffers: false }
    }
}

/// What the compiler found out about a segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Whether the edge evaluates it (else only the origin does).
    pub edge_eligible: bool,
    /// Why not, when not.
    pub not_at_edge: Vec<String>,
    /// The most bytes of state it keeps per profile.
    pub state_bytes: usize,
    /// Expression nodes evaluated for one event that touches it.
    pub ops_per_event: usize,
    /// How each part is evaluated, in words.
    pub parts: Vec<String>,
    /// The event types that can change it (lower case); `None`: any event.
    pub event_types: Option<Vec<String>>,
    /// The profile attributes it reads.
    pub profile_reads: Vec<String>,
    /// The segments it references.
    pub depends_on: Vec<String>,
}

/// A compiled segment.
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    /// The event-history leaves.
    pub leaves: Vec<LeafProgram>,
    /// The condition over them.
    pub cond: Cond,
    /// What the compiler found out.
    pub report: Report,
}

/// Compiles a parsed definition. `source` is the text it was parsed from (for positions).
///
/// # Errors
/// The first problem: an unknown field (with the closest known name), a type mismatch, a
/// construct that is not supported here, each with `line:column`.
pub fn compile(query: &Query, source: &str, schema: &Schema, options: &Options) -> Result<Program, CompileError> {
    let mut c = Compiler {
        schema,
        source,
        options,
        profile_param: Some(query.params.first().cloned().unwrap_or_else(|| "Profile".to_owned())),
        leaves: Vec::new(),
        depends: BTreeSet::new(),
        profile_reads: BTreeSet::new(),
        event_reads: Keep::Nothing,
        parts: Vec::new(),
    };
    if query.params.len() > 1 {
        return Err(c.error(query.body.span, "a definition takes one parameter, the profile: `(Profile) => ...`"));
    }
    let cond = c.cond(&query.body)?;
    if c.leaves.is_empty() && matches!(cond, Cond::Profile(_)) {
        c.parts.push("profile predicate (stateless)".into());
    }
    Ok(c.finish(cond))
}

#[derive(Debug, Clone)]
enum Base {
    Event(Vec<String>),
    Profile(Vec<String>),
    Other,
}

#[derive(Debug, Clone)]
enum Frame {
    /// Bare names are profile fields.
    Profile,
    /// Bare names are event fields.
    Event,
    /// A name for the event itself (`exists E from xEvent`).
    EventAlias(String),
    /// An element bound at run time: named (`exists I from ...`) or, unnamed, a filter's element
    /// (bare names are its fields).
    Elem { name: Option<String>, ty: Ty, base: Base },
}

struct Compiler<'a> {
    schema: &'a Schema,
    source: &'a str,
    options: &'a Options,
    profile_param: Option<String>,
    leaves: Vec<LeafProgram>,
    depends: BTreeSet<String>,
    profile_reads: BTreeSet<String>,
    event_reads: Keep,
    parts: Vec<String>,
}

fn path_text(p: &[String]) -> String {
    p.join(".")
}

fn date_text(year: i32, month: u32, day: u32, plus_days: i64) -> String {
    let days = crate::time::days_from_civil(i64::from(year), i64::from(month), i64::from(day)) + plus_days;
    crate::time::Timestamp(days * DAY_MS).to_rfc3339()[..10].to_owned()
}

fn flatten_and(e: &Expr) -> Vec<&Expr> {
    match &e.kind {
        ExprKind::And(list) => list.iter().flat_map(flatten_and).collect(),
        _ => vec![e],
    }
}

fn and_of(mut list: Vec<CExpr>) -> CExpr {
    match list.len() {
        0 => CExpr::Const(Value::Bool(true)),
        1 => list.remove(0),
        _ => CExpr::And(list),
    }
}

/// A profile-free over-approximation: parts that read the profile become `true` where that is
/// sound (under `and`/`or`), anything else reading it makes the whole `true`.
fn relevant(e: &CExpr) -> CExpr {
    if !e.reads_profile() {
        return e.clone();
    }
    match e {
        CExpr::And(list) => CExpr::And(list.iter().map(relevant).collect()),
        CExpr::Or(list) => CExpr::Or(list.iter().map(relevant).collect()),
        _ => CExpr::Const(Value::Bool(true)),
    }
}

/// The event types an event must have for `e` to hold (lower case), when `e` says.
fn required_types(e: &CExpr) -> Option<BTreeSet<String>> {
    let is_type =
        |p: &CExpr| matches!(p, CExpr::Path(Source::Event, path) if path.len() == 1 && path[0] == "eventType");
    let text = |c: &CExpr| match c {
        CExpr::Const(Value::String(s)) => Some(s.to_ascii_lowercase()),
        _ => None,
    };
    match e {
        CExpr::Str { func: StrFn::Equals, target, arg, .. } if is_type(target) => {
            text(arg).map(|t| BTreeSet::from([t]))
        }
        CExpr::Compare(CmpOp::Eq, a, b) if is_type(a) => text(b).map(|t| BTreeSet::from([t])),
        CExpr::Compare(CmpOp::Eq, a, b) if is_type(b) => text(a).map(|t| BTreeSet::from([t])),
        CExpr::In { negated: false, value, set } if is_type(value) => match &**set {
            CExpr::Const(Value::Array(items)) => items
                .iter()
                .map(|i| match i {
                    Value::String(s) => Some(s.to_ascii_lowercase()),
                    _ => None,
                })
                .collect(),
            _ => None,
        },
        CExpr::And(list) => list.iter().find_map(required_types),
        CExpr::Or(list) => list.iter().map(required_types).try_fold(BTreeSet::new(), |mut acc, t| {
            acc.extend(t?);
            Some(acc)
        }),
        _ => None,
    }
}

fn leaf_types(leaf: &Leaf) -> Option<BTreeSet<String>> {
    let preds: Vec<&CExpr> = match leaf {
        Leaf::Chain(c) => c.steps.iter().chain(c.absence.as_ref().map(|(q, _)| q)).collect(),
        Leaf::Count(c) => vec![&c.pred],
        Leaf::Agg(a) => vec![&a.pred],
    };
    preds.into_iter().map(required_types).try_fold(BTreeSet::new(), |mut acc, t| {
        acc.extend(t?);
        Some(acc)
    })
}

fn keep_paths(k: &Keep) -> usize {
    match k {
        Keep::Nothing => 0,
        Keep::All => 8,
        Keep::Fields(f) => f
            .values()
            .map(|c| match c {
                Keep::All | Keep::Nothing => 1,
                c => keep_paths(c),
            })
            .sum(),
    }
}

fn window_width(w: Window) -> Option<i64> {
    match w {
        Window::All => None,
        Window::Within(ms) | Window::WithinInclusive(ms) => Some(ms),
        Window::Today => Some(DAY_MS),
    }
}

fn window_text(w: Window) -> String {
    match w {
        Window::All => "any time".into(),
        Window::Today => "today".into(),
        Window::Within(ms) => format!("within {}", duration_text(ms)),
        Window::WithinInclusive(ms) => format!("within {} (inclusive)", duration_text(ms)),
    }
}

fn duration_text(ms: i64) -> String {
    for (unit, name) in [(DAY_MS, "day"), (3_600_000, "hour"), (60_000, "minute"), (1000, "second")] {
        if ms % unit == 0 && ms >= unit {
            let n = ms / unit;
            return format!("{n} {name}{}", if n == 1 { "" } else { "s" });
        }
    }
    format!("{ms} ms")
}

impl Compiler<'_> {
    fn error(&self, span: Span, message: impl Into<String>) -> CompileError {
        let (line, column) = super::error::line_col(self.source, span.start);
        CompileError { line, column, message: message.into() }
    }

    fn text(&self, span: Span) -> &str {
        self.source.get(span.start..span.end).unwrap_or("this")
    }

    fn finish(self, cond: Cond) -> Program {
        let Compiler { leaves, depends, profile_reads, mut parts, options, .. } = self;
        let mut not_at_edge = Vec::new();
        let mut state_bytes = 0;
        let mut ops = 0;
        let mut types: Option<BTreeSet<String>> = Some(BTreeSet::new());
        for lp in &leaves {
            let (bytes, leaf_ops) = match &lp.mode {
                Mode::Fold => (lp.leaf.fold_bytes(), 0),
                Mode::Buffer(b) => (4 + options.buffer_cap * (12 + 20 * keep_paths(&b.keep).max(1)), b.relevant.size()),
                Mode::History => {
                    not_at_edge.push("an aggregate over every event needs the whole history: bound it with `timestamp occurs < N days before now`".into());
                    (0, 0)
                }
            };
            state_bytes += bytes;
            ops += leaf_ops
                + match &lp.leaf {
                    Leaf::Chain(c) => {
                        c.steps.iter().chain(c.absence.as_ref().map(|(q, _)| q)).map(CExpr::size).sum::<usize>()
                    }
                    Leaf::Count(c) => c.pred.size(),
                    Leaf::Agg(a) => a.pred.size() + a.value.as_ref().map_or(0, CExpr::size),
                };
            let window = match &lp.leaf {
                Leaf::Chain(c) => c.window,
                Leaf::Count(c) => c.window,
                Leaf::Agg(a) => a.window,
            };
            if let Some(w) = window_width(window).filter(|w| *w > options.max_edge_window_ms) {
                not_at_edge.push(format!(
                    "its window of {} is longer than the edge's {}",
                    duration_text(w),
                    duration_text(options.max_edge_window_ms)
                ));
            }
            types = match (types, leaf_types(&lp.leaf)) {
                (Some(mut a), Some(b)) => {
                    a.extend(b);
                    Some(a)
                }
                _ => None,
            };
        }
        ops += cond_size(&cond);
        // A membership record: status, times, reason.
        state_bytes += 32;
        if state_bytes > options.edge_state_budget {
            not_at_edge.push(format!(
                "its state ({state_bytes} bytes per profile) is over the edge budget of {} bytes",
                options.edge_state_budget
            ));
        }
        if leaves.is_empty() {
            parts.dedup();
        }
        let report = Report {
            edge_eligible: not_at_edge.is_empty(),
            not_at_edge,
            state_bytes,
            ops_per_event: ops,
            parts,
            event_types: types.map(|t| t.into_iter().collect()),
            profile_reads: profile_reads.into_iter().collect(),
            depends_on: depends.into_iter().collect(),
        };
        Program { leaves, cond, report }
    }

    // ---- the top level: conditions over leaves -------------------------------------------

    fn cond(&mut self, e: &Expr) -> Result<Cond, CompileError> {
        match &e.kind {
            ExprKind::And(list) => Ok(Cond::And(list.iter().map(|x| self.cond(x)).collect::<Result<_, _>>()?)),
            ExprKind::Or(list) => Ok(Cond::Or(list.iter().map(|x| self.cond(x)).collect::<Result<_, _>>()?)),
            ExprKind::Not(x) => Ok(Cond::Not(Box::new(self.cond(x)?))),
            ExprKind::InSegment(id) => {
                self.depends.insert(id.clone());
                Ok(Cond::InSegment(id.clone()))
            }
            ExprKind::Chain(chain) => self.chain(chain),
            ExprKind::Quantifier { kind, bindings } if bindings.first().is_some_and(|b| is_xevent(&b.from)) => {
                let first = &bindings[0];
                let frames = vec![Frame::Profile, Frame::Event, Frame::EventAlias(first.var.clone())];
                let negate = *kind == QuantifierKind::Forall;
                if negate && bindings.len() > 1 {
                    return Err(self.error(e.span, "`forall` over xEvent takes one binding"));
                }
                self.event_exists(first.pred.as_ref(), &bindings[1..], &frames, negate, e.span)
            }
            ExprKind::Select { var, from, pred } if is_xevent(from) => {
                let frames = vec![Frame::Profile, Frame::Event, Frame::EventAlias(var.clone())];
                self.event_exists(Some(pred), &[], &frames, false, e.span)
            }
            ExprKind::Path(PathExpr { root: PathRoot::XEvent, segments }) => match segments.as_slice() {
                [PathSegment::Filter(f)] => {
                    self.event_exists(Some(f), &[], &[Frame::Profile, Frame::Event], false, e.span)
                }
                _ => {
                    Err(self.error(e.span, "expected `xEvent[condition]` (the profile's events matching a condition)"))
                }
            },
            ExprKind::Compare { op, lhs, rhs } if history_value(lhs).is_some() || history_value(rhs).is_some() => {
                let (op, agg, other) =
                    if history_value(lhs).is_some() { (*op, lhs, rhs) } else { (flip(*op), rhs, lhs) };
                self.history_compare(agg, op, other, e.span)
            }
            _ if history_value(e).is_some() => Err(self.error(
                e.span,
                "an aggregate over xEvent is a number, not a condition: compare it (`... > 100`), or define it as a computed attribute",
            )),
            ExprKind::Let { name, value, body } if history_value(value).is_some() => {
                let frames =
                    vec![Frame::Profile, Frame::Elem { name: Some(name.clone()), ty: Ty::Any, base: Base::Other }];
                let (test, _) = self.expr(body, &frames)?;
                self.history_leaf(value, test)
            }
            _ => {
                let (expr, ty) = self.expr(e, &[Frame::Profile])?;
                if !matches!(ty, Ty::Bool | Ty::Any) {
                    return Err(self.error(
                        e.span,
                        format!("a segment must be true or false, but `{}` is {ty}", self.text(e.span)),
                    ));
                }
                Ok(Cond::Profile(expr))
            }
        }
    }

    /// `exists E from xEvent where p, I from E.x where q` and friends: a one-step chain.
    fn event_exists(
        &mut self,
        pred: Option<&Expr>,
        more: &[super::ast::Binding],
        frames: &[Frame],
        negate: bool,
        span: Span,
    ) -> Result<Cond, CompileError> {
        self.event_reads = Keep::Nothing;
        let mut window = Window::All;
        let mut conds = Vec::new();
        if let Some(p) = pred {
            let (w, rest) = self.split_window(p)?;
            window = w;
            for r in rest {
                conds.push(self.bool_expr(r, frames)?);
            }
        }
        if !more.is_empty() {
            conds.push(self.bindings(more, frames, QuantifierKind::Exists)?);
        }
        let mut step = and_of(conds);
        if negate {
            step = CExpr::Not(Box::new(step));
        }
        let leaf = Leaf::Chain(ChainLeaf::new(vec![step], None, window));
        let i = self.push_leaf(leaf, span)?;
        Ok(if negate { Cond::Not(Box::new(Cond::Leaf(i))) } else { Cond::Leaf(i) })
    }

    /// Pulls `timestamp occurs < N unit before now` (and `occurs today`) out of a filter.
    fn split_window<'e>(&self, p: &'e Expr) -> Result<(Window, Vec<&'e Expr>), CompileError> {
        let mut window = Window::All;
        let mut rest = Vec::new();
        for conj in flatten_and(p) {
            let conj_inner = match &conj.kind {
                ExprKind::Occurs { lhs, spec } if is_timestamp(lhs) => Some(spec),
                _ => None,
            };
            match conj_inner {
                Some(OccursSpec::Relative(rel)) if matches!(rel.anchor, TimeRef::Now) => {
                    window = window.narrower(self.before_now(rel, conj.span)?);
                }
                Some(OccursSpec::On(TimeRef::Today | TimeRef::This(Unit::Day))) => {
                    window = window.narrower(Window::Today)
                }
                _ => rest.push(conj),
            }
        }
        Ok((window, rest))
    }

    fn before_now(&self, rel: &RelativeTime, span: Span) -> Result<Window, CompileError> {
        let ms = rel.amount.saturating_mul(rel.unit.millis());
        match (rel.op, rel.direction) {
            (CmpOp::Lt, Direction::Before) => Ok(Window::Within(ms)),
            (CmpOp::Le, Direction::Before) => Ok(Window::WithinInclusive(ms)),
            _ => Err(self.error(span, "expected a window such as `< 7 days before now` or `<= 24 hours before now`")),
        }
    }

    fn push_leaf(&mut self, leaf: Leaf, _span: Span) -> Result<usize, CompileError> {
        let reads = std::mem::take(&mut self.event_reads);
        let reads_profile = match &leaf {
            Leaf::Chain(c) => {
                c.steps.iter().chain(c.absence.as_ref().map(|(q, _)| q)).chain(c.key.as_ref()).any(CExpr::reads_profile)
            }
            Leaf::Count(c) => c.pred.reads_profile(),
            Leaf::Agg(_) => true,
        };
        let window = match &leaf {
            Leaf::Chain(c) => c.window,
            Leaf::Count(c) => c.window,
            Leaf::Agg(a) => a.window,
        };
        let foldable = match &leaf {
            Leaf::Chain(c) => c.foldable(),
            Leaf::Count(_) => true,
            Leaf::Agg(_) => false,
        };
        let mode = if matches!(leaf, Leaf::Agg(_)) && window == Window::All {
            Mode::History
        } else if foldable && !reads_profile {
            Mode::Fold
        } else {
            let relevant = match &leaf {
                Leaf::Chain(c) => {
                    CExpr::Or(c.steps.iter().chain(c.absence.as_ref().map(|(q, _)| q)).map(relevant).collect())
                }
                Leaf::Count(c) => relevant(&c.pred),
                Leaf::Agg(a) => relevant(&a.pred),
            };
            let cap = if self.options.exact_buffers { usize::MAX } else { self.options.buffer_cap };
            Mode::Buffer(Buffer { cap, relevant, keep: reads, window })
        };
        let how = match &mode {
            Mode::Fold => "folded (exact, O(steps) state)".to_owned(),
            Mode::Buffer(_) => format!("buffered (the latest {} relevant events at the edge)", self.options.buffer_cap),
            Mode::History => "over the whole history (origin only)".to_owned(),
        };
        let what = match &leaf {
            Leaf::Chain(c) => format!(
                "chain of {} step{}{}{}, {}",
                c.steps.len(),
                if c.steps.len() == 1 { "" } else { "s" },
                if c.absence.is_some() { " then an absence" } else { "" },
                if c.key.is_some() { " by key" } else { "" },
                window_text(c.window)
            ),
            Leaf::Count(c) => format!("count of events {}", window_text(c.window)),
            Leaf::Agg(a) => format!("{:?} of events {}", a.func, window_text(a.window)).to_lowercase(),
        };
        self.parts.push(format!("{what}: {how}"));
        self.leaves.push(LeafProgram { leaf, mode });
        Ok(self.leaves.len() - 1)
    }

    fn chain(&mut self, chain: &Chain) -> Result<Cond, CompileError> {
        self.event_reads = Keep::Nothing;
        let frames = vec![Frame::Profile, Frame::Event];
        let mut steps = Vec::new();
        let mut gaps = Vec::new();
        let mut window = Window::All;
        let mut absence = None;
        let mut labels: Vec<&str> = Vec::new();
        for (i, step) in chain.steps.iter().enumerate() {
            if labels.contains(&step.label.as_str()) {
                return Err(self.error(step.span, format!("the step label `{}` is used twice", step.label)));
            }
            let mut pred = vec![self.bool_expr(&step.what, &frames)?];
            if let Some(w) = &step.where_ {
                pred.push(self.bool_expr(w, &frames)?);
            }
            let pred = and_of(pred);
            let previous = labels.last().copied();
            labels.push(&step.label);
            if step.negated {
                if i + 1 != chain.steps.len() {
                    return Err(
                        self.error(step.span, "an absence step (`NOT WHAT(...)`) must be the chain's last step")
                    );
                }
                if steps.is_empty() {
                    return Err(self.error(step.span, "an absence step needs a positive step before it"));
                }
                if step.count.is_some() {
                    return Err(self.error(step.span, "an absence step takes no COUNT(...)"));
                }
                let delay = match &step.when {
                    None => 0,
                    Some(When::Relative(rel)) if self.after_previous(rel, previous) => {
                        let ms = rel.amount.saturating_mul(rel.unit.millis());
                        if rel.op == CmpOp::Le { ms.saturating_add(1) } else { ms }
                    }
                    Some(_) => {
                        return Err(self.error(
                            step.span,
                            format!(
                                "an absence step's WHEN must be `< N unit after {}` (the step before it)",
                                previous.unwrap_or("A")
                            ),
                        ));
                    }
                };
                absence = Some((pred, delay));
                continue;
            }
            let mut gap = None;
            match &step.when {
                None => {}
                Some(When::In(TimeRef::Today | TimeRef::This(Unit::Day))) => window = window.narrower(Window::Today),
                Some(When::Relative(rel)) if matches!(rel.anchor, TimeRef::Now) => {
                    window = window.narrower(self.before_now(rel, step.span)?)
                }
                Some(When::Relative(rel)) if self.after_previous(rel, previous) => {
                    let ms = rel.amount.saturating_mul(rel.unit.millis());
                    gap = Some(Gap { ms, inclusive: rel.op == CmpOp::Le });
                }
                Some(_) => {
                    return Err(self.error(
                        step.span,
                        "expected WHEN(today), WHEN(< N unit before now) or WHEN(< N unit after <the previous step>)",
                    ));
                }
            }
            for copy in 0..step.count.unwrap_or(1).max(1) {
                steps.push(pred.clone());
                gaps.push(if copy == 0 { gap } else { None });
            }
        }
        if steps.is_empty() {
            return Err(self.error(chain.span, "a chain needs at least one step"));
        }
        gaps[0] = None;
        let key = match &chain.by {
            None => None,
            Some(p) => Some(self.path(p, chain.span, &frames)?.0),
        };
        let leaf = Leaf::Chain(ChainLeaf { steps, gaps, key, absence, window });
        Ok(Cond::Leaf(self.push_leaf(leaf, chain.span)?))
    }

    fn after_previous(&self, rel: &RelativeTime, previous: Option<&str>) -> bool {
        matches!((&rel.anchor, previous), (TimeRef::Step(l), Some(p)) if l == p)
            && matches!(rel.direction, Direction::After | Direction::From)
            && matches!(rel.op, CmpOp::Lt | CmpOp::Le)
    }

    /// `xEvent[p].count() > 3`, `sum X.v over X from xEvent where p >= 100`, ...
    fn history_compare(&mut self, agg: &Expr, op: CmpOp, other: &Expr, span: Span) -> Result<Cond, CompileError> {
        let (rhs, rty) = self.expr(other, &[Frame::Profile])?;
        if !matches!(rty, Ty::Number | Ty::Any) {
            return Err(self.error(other.span, format!("expected a number to compare the aggregate with, found {rty}")));
        }
        // A count against an integer constant folds exactly.
        if let (Some(HistoryValue { func: AggFn::Count, .. }), CExpr::Const(Value::Number(n))) =
            (history_value(agg), &rhs)
            && let Some(n) = n.as_i64().and_then(|n| u32::try_from(n).ok())
        {
            {
                let (pred, window) = self.history_pred(agg)?;
                let _ = span;
                return Ok(Cond::Leaf(self.push_leaf(Leaf::Count(CountLeaf { pred, window, op, n }), agg.span)?));
            }
        }
        let test = CExpr::Compare(op, Box::new(CExpr::Path(Source::Var(0), Vec::new())), Box::new(rhs));
        self.history_leaf(agg, test)
    }

    fn history_leaf(&mut self, agg: &Expr, test: CExpr) -> Result<Cond, CompileError> {
        let hv = history_value(agg).ok_or_else(|| self.error(agg.span, "expected an aggregate over xEvent"))?;
        let (pred, window) = self.history_pred(agg)?;
        let value = match hv.value {
            None => None,
            Some((e, var)) => {
                let frames: Vec<Frame> = match var {
                    Some(v) => vec![Frame::Profile, Frame::Event, Frame::EventAlias(v.to_owned())],
                    None => vec![Frame::Profile, Frame::Event],
                };
                let (v, ty) = self.expr(e, &frames)?;
                if !matches!(ty, Ty::Number | Ty::Any) {
                    return Err(self.error(
                        e.span,
                        format!("expected a number to aggregate, but `{}` is {ty}", self.text(e.span)),
                    ));
                }
                Some(v)
            }
        };
        let leaf = Leaf::Agg(AggLeaf { func: hv.func, value, pred, window, test });
        Ok(Cond::Leaf(self.push_leaf(leaf, agg.span)?))
    }

    /// The event filter of an aggregate, with its window pulled out.
    fn history_pred(&mut self, agg: &Expr) -> Result<(CExpr, Window), CompileError> {
        self.event_reads = Keep::Nothing;
        let hv = history_value(agg).ok_or_else(|| self.error(agg.span, "expected an aggregate over xEvent"))?;
        let frames: Vec<Frame> = match hv.var {
            Some(v) => vec![Frame::Profile, Frame::Event, Frame::EventAlias(v.to_owned())],
            None => vec![Frame::Profile, Frame::Event],
        };
        let Some(filter) = hv.filter else { return Ok((CExpr::Const(Value::Bool(true)), Window::All)) };
        let (window, rest) = self.split_window(filter)?;
        let conds = rest.into_iter().map(|r| self.bool_expr(r, &frames)).collect::<Result<Vec<_>, _>>()?;
        Ok((and_of(conds), window))
    }

    // ---- expressions --------------------------------------------------------------------

    fn bool_expr(&mut self, e: &Expr, frames: &[Frame]) -> Result<CExpr, CompileError> {
        let (x, ty) = self.expr(e, frames)?;
        if matches!(ty, Ty::Bool | Ty::Any) {
            Ok(x)
        } else {
            Err(self.error(e.span, format!("expected a condition, but `{}` is {ty}", self.text(e.span))))
        }
    }

    fn expr(&mut self, e: &Expr, frames: &[Frame]) -> Result<(CExpr, Ty), CompileError> {
        match &e.kind {
            ExprKind::Literal(l) => Ok(literal(l)),
            ExprKind::Path(p) => self.path(p, e.span, frames),
            ExprKind::Not(x) => Ok((CExpr::Not(Box::new(self.bool_expr(x, frames)?)), Ty::Bool)),
            ExprKind::And(list) => Ok((CExpr::And(list.iter().map(|x| self.bool_expr(x, frames)).collect::<Result<_, _>>()?), Ty::Bool)),
            ExprKind::Or(list) => Ok((CExpr::Or(list.iter().map(|x| self.bool_expr(x, frames)).collect::<Result<_, _>>()?), Ty::Bool)),
            ExprKind::Compare { op, lhs, rhs } => {
                let (a, at) = self.scalar(lhs, frames)?;
                let (b, bt) = self.scalar(rhs, frames)?;
                if !at.comparable(&bt) {
                    return Err(self.error(
                        e.span,
                        format!("cannot compare `{}` ({at}) with `{}` ({bt})", self.text(lhs.span), self.text(rhs.span)),
                    ));
                }
                Ok((CExpr::Compare(*op, Box::new(a), Box::new(b)), Ty::Bool))
            }
            ExprKind::In { negated, lhs, rhs } => {
                let (a, at) = self.scalar(lhs, frames)?;
                let (b, bt) = self.expr(rhs, frames)?;
                match &bt {
                    Ty::Array(elem) if !at.comparable(elem) => {
                        return Err(self.error(e.span, format!("`{}` is {at}, but the list holds {elem}", self.text(lhs.span))));
                    }
                    Ty::Array(_) | Ty::Any => {}
                    other => return Err(self.error(rhs.span, format!("expected a list after `in`, found {other}"))),
                }
                Ok((CExpr::In { negated: *negated, value: Box::new(a), set: Box::new(b) }, Ty::Bool))
            }
            ExprKind::Like { lhs, pattern } => {
                let (a, at) = self.scalar(lhs, frames)?;
                self.expect_text(&at, lhs)?;
                Ok((CExpr::Like(Box::new(a), like_parts(pattern)), Ty::Bool))
            }
            ExprKind::Occurs { lhs, spec } => self.occurs(lhs, spec, e.span, frames),
            ExprKind::Call { target, name, args } => self.call(target, name, args, e.span, frames),
            ExprKind::If { test, then, otherwise } => {
                let t = self.bool_expr(test, frames)?;
                let (a, at) = self.expr(then, frames)?;
                let (b, bt) = self.expr(otherwise, frames)?;
                let ty = if at == bt { at } else { Ty::Any };
                Ok((CExpr::If(Box::new(t), Box::new(a), Box::new(b)), ty))
            }
            ExprKind::Quantifier { kind, bindings } => {
                if bindings.iter().any(|b| is_xevent(&b.from)) {
                    return Err(self.error(e.span, "a quantifier over xEvent must stand on its own at the top level, not inside another condition"));
                }
                Ok((self.bindings(bindings, frames, *kind)?, Ty::Bool))
            }
            ExprKind::Select { var, from, pred } => {
                if is_xevent(from) {
                    return Err(self.error(e.span, "`select ... from xEvent` must stand on its own at the top level"));
                }
                let b = super::ast::Binding { var: var.clone(), from: (**from).clone(), pred: Some((**pred).clone()) };
                Ok((self.bindings(std::slice::from_ref(&b), frames, QuantifierKind::Exists)?, Ty::Bool))
            }
            ExprKind::InSegment(_) => Err(self.error(e.span, "inSegment(...) must stand at the top level of a definition, not inside an event or array condition")),
            ExprKind::Chain(_) => Err(self.error(e.span, "chain(...) must stand at the top level of a definition, combined with and/or/not")),
            ExprKind::Aggregate { .. } => Err(self.error(e.span, "an aggregate over xEvent must be compared with a number at the top level (`... > 100`)")),
            ExprKind::Let { .. } => Err(self.error(e.span, "`let` binds an aggregate over xEvent at the top level: `let S = (sum ... over X from xEvent ...) in (S > 100)`")),
            ExprKind::Function { name, .. } => Err(self.error(
                e.span,
                format!("the function `{name}(...)` is not supported in segments: affinity maps and rankings are computed attributes"),
            )),
            ExprKind::Lambda { .. } => Err(self.error(e.span, "a lambda is only allowed as the argument of map(...), which segments do not support")),
        }
    }

    /// A value operand: not a collection reached through an array.
    fn scalar(&mut self, e: &Expr, frames: &[Frame]) -> Result<(CExpr, Ty), CompileError> {
        if let ExprKind::Path(p) = &e.kind
            && let Some(array) = self.array_crossed(p, frames)
        {
            {
                return Err(self.error(
                    e.span,
                    format!(
                        "`{}` reads through the array `{array}`: use `exists I from {array} where I.…`",
                        self.text(e.span)
                    ),
                ));
            }
        }
        self.expr(e, frames)
    }

    fn expect_text(&self, ty: &Ty, e: &Expr) -> Result<(), CompileError> {
        if matches!(ty, Ty::String | Ty::Any | Ty::Time) {
            Ok(())
        } else {
            Err(self.error(e.span, format!("expected a string, but `{}` is {ty}", self.text(e.span))))
        }
    }

    fn bindings(
        &mut self,
        bindings: &[super::ast::Binding],
        frames: &[Frame],
        kind: QuantifierKind,
    ) -> Result<CExpr, CompileError> {
        let Some((b, rest)) = bindings.split_first() else { return Ok(CExpr::Const(Value::Bool(true))) };
        if kind == QuantifierKind::Forall && !rest.is_empty() {
            return Err(self.error(b.from.span, "`forall` takes one binding"));
        }
        let (from, ty, base) = self.collection(&b.from, frames)?;
        let mut inner = frames.to_vec();
        inner.push(Frame::Elem { name: Some(b.var.clone()), ty: ty.element(), base });
        let mut conds = Vec::new();
        if let Some(p) = &b.pred {
            conds.push(self.bool_expr(p, &inner)?);
        }
        if !rest.is_empty() {
            conds.push(self.bindings(rest, &inner, kind)?);
        }
        let pred = Box::new(and_of(conds));
        Ok(match kind {
            QuantifierKind::Exists => CExpr::Exists(Box::new(from), pred),
            QuantifierKind::Forall => CExpr::Forall(Box::new(from), pred),
        })
    }

    /// A collection to bind elements of: a path (its type and where it is read from).
    fn collection(&mut self, e: &Expr, frames: &[Frame]) -> Result<(CExpr, Ty, Base), CompileError> {
        match &e.kind {
            ExprKind::Path(p) if p.segments.iter().all(|s| matches!(s, PathSegment::Field(_))) => {
                let (x, ty) = self.path(p, e.span, frames)?;
                let base = match &x {
                    CExpr::Path(Source::Event, path) => Base::Event(path.clone()),
                    CExpr::Path(Source::Profile, path) => Base::Profile(path.clone()),
                    CExpr::Path(Source::Var(i), path) => match self.var_base(frames, *i) {
                        Base::Event(mut b) => {
                            b.extend(path.iter().cloned());
                            Base::Event(b)
                        }
                        Base::Profile(mut b) => {
                            b.extend(path.iter().cloned());
                            Base::Profile(b)
                        }
                        Base::Other => Base::Other,
                    },
                    _ => Base::Other,
                };
                if !matches!(ty, Ty::Array(_) | Ty::Any | Ty::Object(_)) {
                    return Err(self.error(
                        e.span,
                        format!("expected an array to range over, but `{}` is {ty}", self.text(e.span)),
                    ));
                }
                Ok((x, ty, base))
            }
            ExprKind::Call { target, name, args } if name == "values" && args.is_empty() => {
                let (x, _, base) = self.collection(target, frames)?;
                Ok((CExpr::Values(Box::new(x)), Ty::Any, base))
            }
            _ => {
                let (x, ty) = self.expr(e, frames)?;
                Ok((x, ty, Base::Other))
            }
        }
    }

    fn var_base(&self, frames: &[Frame], index: usize) -> Base {
        frames
            .iter()
            .rev()
            .filter_map(|f| match f {
                Frame::Elem { base, .. } => Some(base.clone()),
                _ => None,
            })
            .nth(index)
            .unwrap_or(Base::Other)
    }

    /// The first array a plain path crosses before its last field, if any.
    fn array_crossed(&self, p: &PathExpr, frames: &[Frame]) -> Option<String> {
        let fields: Vec<&str> = p
            .segments
            .iter()
            .map_while(|s| match s {
                PathSegment::Field(f) => Some(f.as_str()),
                PathSegment::Filter(_) => None,
            })
            .collect();
        if fields.len() != p.segments.len() {
            return None;
        }
        let PathRoot::Name(root) = &p.root else { return None };
        let (mut ty, names): (Ty, Vec<&str>) = match self.resolve_root(root, frames) {
            Resolved::Var { ty, .. } => (ty, fields),
            Resolved::Event => (self.schema.event.clone(), std::iter::once(root.as_str()).chain(fields).collect()),
            Resolved::Profile { named } => (
                self.schema.profile.clone(),
                if named { fields } else { std::iter::once(root.as_str()).chain(fields).collect() },
            ),
            Resolved::EventAlias => (self.schema.event.clone(), fields),
        };
        for (i, name) in names.iter().enumerate() {
            if Schema::is_tenant(name) {
                return None;
            }
            ty = ty.field(name).ok()?;
            if matches!(ty, Ty::Array(_)) && i + 1 < names.len() {
                return Some(names[..=i].join("."));
            }
        }
        None
    }

    fn resolve_root(&self, name: &str, frames: &[Frame]) -> Resolved {
        let mut elems = 0;
        for f in frames.iter().rev() {
            match f {
                Frame::Elem { name: Some(n), ty, .. } if n == name => {
                    return Resolved::Var { index: elems, ty: ty.clone(), bare: false };
                }
                Frame::EventAlias(n) if n == name => return Resolved::EventAlias,
                Frame::Elem { .. } => elems += 1,
                _ => {}
            }
        }
        if self.profile_param.as_deref() == Some(name) {
            return Resolved::Profile { named: true };
        }
        self.context(frames, 0)
    }

    /// The `up`-th enclosing context (0: the innermost): where bare names resolve.
    fn context(&self, frames: &[Frame], up: usize) -> Resolved {
        let mut elems = 0;
        let mut seen = 0;
        for f in frames.iter().rev() {
            let found = match f {
                Frame::Elem { name: None, ty, .. } => Some(Resolved::Var { index: elems, ty: ty.clone(), bare: true }),
                Frame::Event => Some(Resolved::Event),
                Frame::Profile => Some(Resolved::Profile { named: false }),
                Frame::Elem { .. } | Frame::EventAlias(_) => None,
            };
            if matches!(f, Frame::Elem { .. }) {
                elems += 1;
            }
            if let Some(r) = found {
                if seen == up {
                    return r;
                }
                seen += 1;
            }
        }
        Resolved::Profile { named: false }
    }

    fn path(&mut self, p: &PathExpr, span: Span, frames: &[Frame]) -> Result<(CExpr, Ty), CompileError> {
        if let Some(at) = p.segments.iter().position(|s| matches!(s, PathSegment::Filter(_))) {
            // `a.b[cond]`: some element of `a.b` satisfies `cond` (bare names: its fields).
            if at + 1 != p.segments.len() {
                return Err(self.error(span, "a path cannot continue after a filter `[...]`"));
            }
            let Some(PathSegment::Filter(cond)) = p.segments.get(at) else {
                return Err(self.error(span, "expected a filter `[...]`"));
            };
            let coll_path = PathExpr { root: p.root.clone(), segments: p.segments[..at].to_vec() };
            let coll = Expr::new(ExprKind::Path(coll_path), span);
            let (from, ty, base) = self.collection(&coll, frames)?;
            let mut inner = frames.to_vec();
            inner.push(Frame::Elem { name: None, ty: ty.element(), base });
            let pred = self.bool_expr(cond, &inner)?;
            return Ok((CExpr::Exists(Box::new(from), Box::new(pred)), Ty::Bool));
        }
        let fields: Vec<String> = p
            .segments
            .iter()
            .map(|s| match s {
                PathSegment::Field(f) => f.clone(),
                PathSegment::Filter(_) => String::new(),
            })
            .collect();
        let (resolved, path) = match &p.root {
            PathRoot::XEvent => {
                return Err(self.error(
                    span,
                    "xEvent (the profile's events) is used as chain(xEvent, timestamp, [...]), `exists X from xEvent where ...` or `xEvent[...].count()`",
                ))
            }
            PathRoot::Positional(n) => return Err(self.error(span, format!("positional parameters (`${n}`) are not supported in segment definitions"))),
            PathRoot::Up(k) => {
                let r = self.context(frames, usize::from(*k));
                (r, fields)
            }
            PathRoot::Name(name) => {
                let r = self.resolve_root(name, frames);
                let path = match &r {
                    Resolved::Var { bare: false, .. } | Resolved::EventAlias | Resolved::Profile { named: true } => fields,
                    _ => std::iter::once(name.clone()).chain(fields).collect(),
                };
                (r, path)
            }
        };
        let (source, root_ty, what) = match &resolved {
            Resolved::Var { index, ty, .. } => (Source::Var(*index), ty.clone(), "field"),
            Resolved::Event | Resolved::EventAlias => (Source::Event, self.schema.event.clone(), "event field"),
            Resolved::Profile { .. } => (Source::Profile, self.schema.profile.clone(), "profile attribute"),
        };
        if path.is_empty() && !matches!(source, Source::Var(_)) {
            return Err(self.error(span, "expected a field after the name, such as `Profile.loyalty.tier`"));
        }
        let ty = Schema::lookup(&root_ty, &path).map_err(|(at, known)| {
            let name = &path[at];
            let hint = closest(name, &known)
                .map(|k| format!(": did you mean `{}`?", path_text(&[&path[..at], &[k.to_owned()]].concat())));
            let hint = hint.unwrap_or_else(|| {
                if known.is_empty() { String::new() } else { format!(" (known here: {})", known.join(", ")) }
            });
            self.error(span, format!("unknown {what} `{}`{hint}", path_text(&path[..=at])))
        })?;
        // Record what is read: profile attributes for the edge projection, event fields for buffers.
        match &source {
            Source::Event => self.event_reads.add(&path),
            Source::Profile => {
                self.profile_reads.insert(path_text(&path));
            }
            Source::Var(i) => match self.var_base(frames, *i) {
                Base::Event(b) => self.event_reads.add(&[b, path.clone()].concat()),
                Base::Profile(b) => {
                    self.profile_reads.insert(path_text(&[b, path.clone()].concat()));
                }
                Base::Other => {}
            },
        }
        Ok((CExpr::Path(source, path), ty))
    }

    fn occurs(
        &mut self,
        lhs: &Expr,
        spec: &OccursSpec,
        span: Span,
        frames: &[Frame],
    ) -> Result<(CExpr, Ty), CompileError> {
        let (value, ty) = self.scalar(lhs, frames)?;
        if !matches!(ty, Ty::Time | Ty::String | Ty::Any) {
            return Err(self.error(lhs.span, format!("`occurs` needs a time, but `{}` is {ty}", self.text(lhs.span))));
        }
        let date = |t: &TimeRef, plus: i64| match t {
            TimeRef::Date { year, month, day } => {
                Some(CExpr::Const(Value::String(date_text(*year, *month, *day, plus))))
            }
            _ => None,
        };
        let cmp = |op: CmpOp, bound: CExpr| CExpr::Compare(op, Box::new(value.clone()), Box::new(bound));
        let relative = || {
            self.error(
                span,
                "`occurs` relative to now only bounds the events of xEvent (`timestamp occurs < 7 days before now` in a filter); here use dates",
            )
        };
        let out = match spec {
            OccursSpec::Direction { direction: Direction::Before, time } => {
                cmp(CmpOp::Lt, date(time, 0).ok_or_else(relative)?)
            }
            OccursSpec::Direction { time, .. } => cmp(CmpOp::Ge, date(time, 1).ok_or_else(relative)?),
            OccursSpec::On(time) => CExpr::And(vec![
                cmp(CmpOp::Ge, date(time, 0).ok_or_else(relative)?),
                cmp(CmpOp::Lt, date(time, 1).ok_or_else(relative)?),
            ]),
            OccursSpec::Between(a, b) => CExpr::And(vec![
                cmp(CmpOp::Ge, date(a, 0).ok_or_else(relative)?),
                cmp(CmpOp::Lt, date(b, 1).ok_or_else(relative)?),
            ]),
            OccursSpec::Relative(_) => return Err(relative()),
        };
        Ok((out, Ty::Bool))
    }

    fn call(
        &mut self,
        target: &Expr,
        name: &str,
        args: &[Expr],
        span: Span,
        frames: &[Frame],
    ) -> Result<(CExpr, Ty), CompileError> {
        let str_fn = match name {
            "equals" => Some(StrFn::Equals),
            "notEqualTo" => Some(StrFn::NotEqualTo),
            "startsWith" => Some(StrFn::StartsWith),
            "doesNotStartWith" => Some(StrFn::DoesNotStartWith),
            "endsWith" => Some(StrFn::EndsWith),
            "doesNotEndWith" => Some(StrFn::DoesNotEndWith),
            "contains" => Some(StrFn::Contains),
            "doesNotContain" => Some(StrFn::DoesNotContain),
            _ => None,
        };
        if let Some(func) = str_fn {
            let (t, tt) = self.scalar(target, frames)?;
            self.expect_text(&tt, target)?;
            let (arg, case_sensitive) = match args {
                [a] => (a, true),
                [a, Expr { kind: ExprKind::Literal(Literal::Bool(b)), .. }] => (a, *b),
                _ => {
                    return Err(self.error(
                        span,
                        format!("expected {name}(\"text\") or {name}(\"text\", false) (case-insensitive)"),
                    ));
                }
            };
            let (a, at) = self.scalar(arg, frames)?;
            self.expect_text(&at, arg)?;
            return Ok((CExpr::Str { func, target: Box::new(t), arg: Box::new(a), case_sensitive }, Ty::Bool));
        }
        match (name, args) {
            ("exists", [pred]) => {
                let (from, ty, base) = self.collection(target, frames)?;
                let mut inner = frames.to_vec();
                inner.push(Frame::Elem { name: None, ty: ty.element(), base });
                let p = self.bool_expr(pred, &inner)?;
                Ok((CExpr::Exists(Box::new(from), Box::new(p)), Ty::Bool))
            }
            ("count", []) => {
                if let ExprKind::Path(p) = &target.kind
                    && let Some(PathSegment::Filter(cond)) = p.segments.last()
                {
                    {
                        let coll = Expr::new(
                            ExprKind::Path(PathExpr { root: p.root.clone(), segments: p.segments[..p.segments.len() - 1].to_vec() }),
                            target.span,
                        );
                        let (from, ty, base) = self.collection(&coll, frames)?;
                        let mut inner = frames.to_vec();
                        inner.push(Frame::Elem { name: None, ty: ty.element(), base });
                        let pred = self.bool_expr(cond, &inner)?;
                        return Ok((CExpr::CountWhere(Box::new(from), Box::new(pred)), Ty::Number));
                    }
                }
                let (from, _, _) = self.collection(target, frames)?;
                Ok((CExpr::Count(Box::new(from)), Ty::Number))
            }
            ("values", []) => {
                let (from, _, _) = self.collection(target, frames)?;
                Ok((CExpr::Values(Box::new(from)), Ty::Array(Box::new(Ty::Any))))
            }
            ("get", [Expr { kind: ExprKind::Literal(Literal::String(key)), .. }]) => {
                let (from, _) = self.expr(target, frames)?;
                Ok((CExpr::Get(Box::new(from), key.clone()), Ty::Any))
            }
            ("isNull" | "isNotNull", []) => {
                let (x, _) = self.expr(target, frames)?;
                let test = CExpr::IsNull(Box::new(x));
                Ok((if name == "isNull" { test } else { CExpr::Not(Box::new(test)) }, Ty::Bool))
            }
            ("sum" | "min" | "max" | "average", _) => Err(self.error(span, format!("{name}(...) aggregates xEvent[...] at the top level, compared with a number"))),
            ("groupBy" | "map" | "mapEntry" | "topN" | "bottomN" | "head" | "intersection" | "matches", _) => Err(self.error(
                span,
                format!("`{name}` is not supported in segments: affinity maps and rankings are computed attributes (define one and read it here)"),
            )),
            _ => Err(self.error(
                span,
                format!(
                    "unknown function `{name}` with {} argument{}: expected equals, notEqualTo, startsWith, endsWith, contains (and their negations), exists, count, values, get, isNull, isNotNull",
                    args.len(),
                    if args.len() == 1 { "" } else { "s" }
                ),
            )),
        }
    }
}

enum Resolved {
    Var { index: usize, ty: Ty, bare: bool },
    Event,
    EventAlias,
    Profile { named: bool },
}

fn literal(l: &Literal) -> (CExpr, Ty) {
    let (v, ty) = literal_value(l);
    (CExpr::Const(v), ty)
}

fn literal_value(l: &Literal) -> (Value, Ty) {
    match l {
        Literal::String(s) => (Value::String(s.clone()), Ty::String),
        Literal::Int(n) => {
            (Value::Number(if *n >= 0 { Number::PosInt(n.unsigned_abs()) } else { Number::NegInt(*n) }), Ty::Number)
        }
        Literal::Float(f) => (Value::Number(Number::Float(*f)), Ty::Number),
        Literal::Bool(b) => (Value::Bool(*b), Ty::Bool),
        Literal::Null => (Value::Null, Ty::Any),
        Literal::Date { year, month, day } => (Value::String(date_text(*year, *month, *day, 0)), Ty::Time),
        Literal::Array(items) => {
            let values: Vec<(Value, Ty)> = items.iter().map(literal_value).collect();
            let elem = values.first().map_or(Ty::Any, |(_, t)| t.clone());
            let elem = if values.iter().all(|(_, t)| *t == elem) { elem } else { Ty::Any };
            (Value::Array(values.into_iter().map(|(v, _)| v).collect()), Ty::Array(Box::new(elem)))
        }
    }
}

fn like_parts(pattern: &str) -> Vec<LikePart> {
    let mut parts = Vec::new();
    let mut text = String::new();
    for c in pattern.chars() {
        let wild = match c {
            '%' => Some(LikePart::Any),
            '_' => Some(LikePart::One),
            _ => None,
        };
        match wild {
            Some(w) => {
                if !text.is_empty() {
                    parts.push(LikePart::Text(std::mem::take(&mut text)));
                }
                parts.push(w);
            }
            None => text.push(c),
        }
    }
    if !text.is_empty() {
        parts.push(LikePart::Text(text));
    }
    parts
}

fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        other => other,
    }
}

fn is_xevent(e: &Expr) -> bool {
    matches!(&e.kind, ExprKind::Path(PathExpr { root: PathRoot::XEvent, segments }) if segments.is_empty())
}

fn is_timestamp(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Path(PathExpr { root: PathRoot::Name(n), segments }) => {
            (n == "timestamp" && segments.is_empty())
                || matches!(segments.as_slice(), [PathSegment::Field(f)] if f == "timestamp")
        }
        _ => false,
    }
}

/// An aggregate over the profile's events, in any of its spellings.
struct HistoryValue<'e> {
    func: AggFn,
    /// What is aggregated, and the variable it may name the event by.
    value: Option<(&'e Expr, Option<&'e str>)>,
    /// The variable naming the event in the filter.
    var: Option<&'e str>,
    /// The filter.
    filter: Option<&'e Expr>,
}

fn history_value(e: &Expr) -> Option<HistoryValue<'_>> {
    match &e.kind {
        ExprKind::Call { target, name, args } => {
            let ExprKind::Path(PathExpr { root: PathRoot::XEvent, segments }) = &target.kind else { return None };
            let filter = match segments.as_slice() {
                [] => None,
                [PathSegment::Filter(f)] => Some(&**f),
                _ => return None,
            };
            let func = match name.as_str() {
                "count" => AggFn::Count,
                "sum" => AggFn::Sum,
                "min" => AggFn::Min,
                "max" => AggFn::Max,
                "average" => AggFn::Average,
                _ => return None,
            };
            let value = match (func, args.as_slice()) {
                (AggFn::Count, []) => None,
                (AggFn::Count, _) => return None,
                (_, [v]) => Some((v, None)),
                _ => return None,
            };
            Some(HistoryValue { func, value, var: None, filter })
        }
        ExprKind::Aggregate { func, expr, var, from, pred } if is_xevent(from) => Some(HistoryValue {
            func: *func,
            value: expr.as_deref().map(|x| (x, Some(var.as_str()))),
            var: Some(var.as_str()),
            filter: pred.as_deref(),
        }),
        _ => None,
    }
}

fn cond_size(c: &Cond) -> usize {
    match c {
        Cond::Const(_) | Cond::InSegment(_) | Cond::Leaf(_) => 1,
        Cond::Profile(e) => e.size(),
        Cond::Not(x) => 1 + cond_size(x),
        Cond::And(l) | Cond::Or(l) => 1 + l.iter().map(cond_size).sum::<usize>(),
    }
}

#[cfg(test)]
mod tests;
