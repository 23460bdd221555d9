//! The syntax tree of segment definitions (PQL and our extensions).
//!
//! Every expression node carries the [`Span`] of the source text it came from, so that
//! compile errors can point at `line:column`. Spans are ignored by equality (`PartialEq`
//! compares structure only), which is what the print∘parse round trip needs.

use serde::{Deserialize, Serialize};

/// A byte range of the source text.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl PartialEq for Span {
    /// Spans never make two trees different.
    fn eq(&self, _: &Span) -> bool {
        true
    }
}

impl Span {
    /// A span.
    #[must_use]
    pub const fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The 1-based `(line, column)` of the span's start in `source` (columns count characters).
    /// A start past the end or inside a character never panics: it counts up to there.
    #[must_use]
    pub fn line_col(&self, source: &str) -> (usize, usize) {
        super::error::line_col(source, self.start)
    }
}

/// A whole definition: `expr`, or `(Profile) => expr`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Query {
    /// The lambda's parameters (`["Profile"]`); empty without a lambda.
    pub params: Vec<String>,
    /// The body.
    pub body: Expr,
}

/// An expression with where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where it is in the source.
    pub span: Span,
}

impl Expr {
    /// An expression at `span`.
    #[must_use]
    pub fn new(kind: ExprKind, span: Span) -> Expr {
        Expr { kind, span }
    }
}

/// The kinds of expressions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ExprKind {
    /// A literal value.
    Literal(Literal),
    /// A path into the profile, the current event, or a bound variable.
    Path(PathExpr),
    /// `not(e)` / `!(e)`.
    Not(Box<Expr>),
    /// `a and b and ...` (two or more).
    And(Vec<Expr>),
    /// `a or b or ...` (two or more).
    Or(Vec<Expr>),
    /// `a = b`, `a != b`, `a < b`, ...
    Compare {
        /// The operator.
        op: CmpOp,
        /// Left side.
        lhs: Box<Expr>,
        /// Right side.
        rhs: Box<Expr>,
    },
    /// `a in b` / `a notIn b`.
    In {
        /// `notIn`.
        negated: bool,
        /// The value.
        lhs: Box<Expr>,
        /// The collection.
        rhs: Box<Expr>,
    },
    /// `a like "pat%tern_"` (`%` any run, `_` one character).
    Like {
        /// The value.
        lhs: Box<Expr>,
        /// The pattern.
        pattern: String,
    },
    /// `ts occurs ...`.
    Occurs {
        /// The time value.
        lhs: Box<Expr>,
        /// When it must occur.
        spec: OccursSpec,
    },
    /// A method call: `x.equals("US", false)`, `arr.exists(p)`, `xEvent[f].count()`.
    Call {
        /// What the method is called on.
        target: Box<Expr>,
        /// The method's name.
        name: String,
        /// Its arguments.
        args: Vec<Expr>,
    },
    /// `if(test, then, else)`.
    If {
        /// The test.
        test: Box<Expr>,
        /// The value when true.
        then: Box<Expr>,
        /// The value otherwise.
        otherwise: Box<Expr>,
    },
    /// `inSegment("id")`.
    InSegment(String),
    /// `exists X from a where p, Y from X.b where q` / `forall ...` (`:` is accepted for `where`).
    Quantifier {
        /// `exists` or `forall`.
        kind: QuantifierKind,
        /// The bindings, in order (later ones may use earlier variables).
        bindings: Vec<Binding>,
    },
    /// `select X from a where p`: "some X of a such that p" (true or false).
    Select {
        /// The variable.
        var: String,
        /// The collection.
        from: Box<Expr>,
        /// The condition.
        pred: Box<Expr>,
    },
    /// `chain(xEvent, timestamp, [steps])`.
    Chain(Chain),
    /// `let X = v in (body)`.
    Let {
        /// The name.
        name: String,
        /// Its value.
        value: Box<Expr>,
        /// Where it is used.
        body: Box<Expr>,
    },
    /// `sum e over X from a where p` (also `count`, `min`, `max`, `average`).
    Aggregate {
        /// The function.
        func: AggFn,
        /// What is aggregated (absent for `count`).
        expr: Option<Box<Expr>>,
        /// The variable.
        var: String,
        /// The collection.
        from: Box<Expr>,
        /// The condition.
        pred: Option<Box<Expr>>,
    },
    /// `(K, G) => body`, as the argument of `map(...)` and similar.
    Lambda {
        /// The parameters.
        params: Vec<String>,
        /// The body.
        body: Box<Expr>,
    },
    /// A free function call: `mapEntry(K, G.count())`, `currentMonth()`.
    ///
    /// Added with the parser: PQL has functions that are not methods of a value (#20 of the
    /// reference builds its map with `mapEntry(K, G.count())`). `if`, `inSegment`, `date` and
    /// `chain` keep their own nodes and are never parsed as a `Function`.
    Function {
        /// The function's name.
        name: String,
        /// Its arguments.
        args: Vec<Expr>,
    },
}

/// A literal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Literal {
    /// `"text"` (double or single quotes in the source).
    String(String),
    /// An integer.
    Int(i64),
    /// A number with a fraction or an exponent.
    Float(f64),
    /// `true` / `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// `date(y, m, d)`.
    Date {
        /// Year.
        year: i32,
        /// Month (1–12).
        month: u32,
        /// Day (1–31).
        day: u32,
    },
    /// `[a, b, ...]` (elements are literals).
    Array(Vec<Literal>),
}

/// A path: a root, then fields and filters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathExpr {
    /// Where the path starts.
    pub root: PathRoot,
    /// What follows, in order.
    pub segments: Vec<PathSegment>,
}

/// The start of a path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PathRoot {
    /// A name: a field of the context (the profile, or the event inside a chain step or
    /// filter), or a bound variable / lambda parameter (`Profile`, `X`).
    Name(String),
    /// `$1`, `$2`: positional parameters.
    Positional(u32),
    /// `xEvent`: the profile's events.
    XEvent,
    /// `^` (one level up) or `^^` (two levels up) inside a filter.
    Up(u8),
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PathSegment {
    /// `.name`.
    Field(String),
    /// `[condition]`: keeps the elements for which it holds.
    Filter(Box<Expr>),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CmpOp {
    /// `=`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
}

/// `exists` or `forall`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum QuantifierKind {
    /// Some element.
    Exists,
    /// Every element.
    Forall,
}

/// `X from a where p`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Binding {
    /// The variable.
    pub var: String,
    /// The collection.
    pub from: Expr,
    /// The condition (absent: any element).
    pub pred: Option<Expr>,
}

/// Aggregation functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AggFn {
    /// `count`.
    Count,
    /// `sum`.
    Sum,
    /// `min`.
    Min,
    /// `max`.
    Max,
    /// `average`.
    Average,
}

/// `chain(xEvent, timestamp, [...])`, with our extensions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chain {
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// Extension: a correlation key (`BY cartId` after the step list): a later step only matches
    /// events with the same key as the earlier ones.
    pub by: Option<PathExpr>,
    /// Where the chain is in the source.
    pub span: Span,
}

/// One step: `L: [NOT] WHAT(p) [WHEN(t)] [COUNT(n)] [WHERE(p)]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// The label (`A`, `C0`).
    pub label: String,
    /// Extension: an absence step (no matching event `WHEN(...)`).
    pub negated: bool,
    /// What the event must be.
    pub what: Expr,
    /// When it must happen.
    pub when: Option<When>,
    /// At least this many matching events (Adobe's `COUNT(n)` means ≥ n).
    pub count: Option<u32>,
    /// A further condition on the event.
    pub where_: Option<Expr>,
    /// Where the step is in the source.
    pub span: Span,
}

/// A step's `WHEN(...)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum When {
    /// `WHEN(today)`, `WHEN(this week)`, ...: the event is in that period.
    In(TimeRef),
    /// `WHEN(< 24 hours before now)`, `WHEN(< 1 hour after A)` (extension: a previous step's label).
    Relative(RelativeTime),
}

/// `< 24 hours before now`: an amount of time relative to an anchor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelativeTime {
    /// How the distance compares (`<`, `<=`, `=`, ...).
    pub op: CmpOp,
    /// How many units.
    pub amount: i64,
    /// The unit.
    pub unit: Unit,
    /// `before`, `after` or `from`.
    pub direction: Direction,
    /// Relative to what.
    pub anchor: TimeRef,
}

/// What `occurs` checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OccursSpec {
    /// `occurs <= 3 days before now`.
    Relative(RelativeTime),
    /// `occurs before today` / `after yesterday`.
    Direction {
        /// `before`, `after` or `from`.
        direction: Direction,
        /// The anchor.
        time: TimeRef,
    },
    /// `occurs last week` / `occurs on date(2019, 12, 31)`.
    On(TimeRef),
    /// `occurs between date(...) and date(...)`.
    Between(TimeRef, TimeRef),
}

/// A point or period in time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TimeRef {
    /// `now`: the time of evaluation.
    Now,
    /// `today`: the start of the day of evaluation.
    Today,
    /// `yesterday`.
    Yesterday,
    /// `tomorrow`.
    Tomorrow,
    /// `this <unit>`.
    This(Unit),
    /// `last <unit>`.
    Last(Unit),
    /// `next <unit>`.
    Next(Unit),
    /// `date(y, m, d)`.
    Date {
        /// Year.
        year: i32,
        /// Month.
        month: u32,
        /// Day.
        day: u32,
    },
    /// A path holding a time (`product.saleDate`).
    Path(PathExpr),
    /// Extension: the time of a previous chain step's event (`after A`).
    Step(String),
}

/// `before` / `after` / `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    /// `before`.
    Before,
    /// `after`.
    After,
    /// `from` (treated as `after`).
    From,
}

/// Time units (plural or singular in the source).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unit {
    /// `millisecond(s)`.
    Millisecond,
    /// `second(s)`.
    Second,
    /// `minute(s)`.
    Minute,
    /// `hour(s)`.
    Hour,
    /// `day(s)`.
    Day,
    /// `week(s)`.
    Week,
    /// `month(s)` (30 days for windows).
    Month,
    /// `year(s)` (365 days for windows).
    Year,
    /// `decade(s)`.
    Decade,
    /// `century` / `centuries`.
    Century,
    /// `millennium` / `millennia`.
    Millennium,
}

impl Unit {
    /// The unit's length in milliseconds, for windows (months are 30 days, years 365 days).
    #[must_use]
    pub const fn millis(self) -> i64 {
        const DAY: i64 = 86_400_000;
        match self {
            Unit::Millisecond => 1,
            Unit::Second => 1000,
            Unit::Minute => 60_000,
            Unit::Hour => 3_600_000,
            Unit::Day => DAY,
            Unit::Week => 7 * DAY,
            Unit::Month => 30 * DAY,
            Unit::Year => 365 * DAY,
            Unit::Decade => 3650 * DAY,
            Unit::Century => 36_500 * DAY,
            Unit::Millennium => 365_000 * DAY,
        }
    }
}
