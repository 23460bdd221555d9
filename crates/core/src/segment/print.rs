//! [`Query`] → canonical PQL text.
//!
//! The output parses back to an equal tree (`parse(print(q)) == q`, spans aside) for every tree
//! [`parse`](super::parse) produces. Canonical means: lowercase `chain`, `and`, `or`, `not(...)`
//! and time words, uppercase step words (`WHAT`, `WHEN`, `COUNT`, `WHERE`, `NOT`, `BY`), double
//! quotes, one space around operators, `, ` between items, parentheses where precedence needs
//! them (and around a quantifier, `select`, aggregate or lambda unless brackets or the end of the
//! text close it), and step clauses in the order `WHAT WHEN COUNT WHERE`. Comments are not kept.
//!
//! Hand-built trees round-trip too when they respect what the parser can express: `And`/`Or`
//! with two or more operands, non-empty parameter and step lists, `Up(n)` with `n ≥ 1`, names that
//! are identifiers and not reserved words, finite floats, dates in range, [`TimeRef::Step`] only
//! inside `WHEN`, and, inside `WHEN`, no [`TimeRef::Path`] that is a bare name (it reads back as a
//! step label).

use super::ast::{
    AggFn, Binding, Chain, CmpOp, Direction, Expr, ExprKind, Literal, OccursSpec, PathExpr, PathRoot, PathSegment,
    QuantifierKind, Query, RelativeTime, Step, TimeRef, Unit, When,
};
use super::parser::{agg_of, ends_value};

/// Prints a definition as canonical PQL.
///
/// ```
/// use edgecdp_core::segment::{parse, print};
///
/// let query = parse("CHAIN(xEvent, timestamp, [C0: WHAT(eventType.equals('commerce.checkouts', false)) WHEN(TODAY)])")?;
/// assert_eq!(
///     print(&query),
///     r#"chain(xEvent, timestamp, [C0: WHAT(eventType.equals("commerce.checkouts", false)) WHEN(today)])"#
/// );
/// # Ok::<(), edgecdp_core::segment::SegmentError>(())
/// ```
#[must_use]
pub fn print(query: &Query) -> String {
    let mut printer = Printer { out: String::new() };
    if !query.params.is_empty() {
        printer.out.push('(');
        printer.names(&query.params);
        printer.out.push_str(") => ");
        printer.expr(&query.body, Level::Open);
    } else if matches!(query.body.kind, ExprKind::Lambda { .. }) {
        // A bare lambda at the top would read back as the query's own parameters.
        printer.expr(&query.body, Level::Or);
    } else {
        printer.expr(&query.body, Level::Open);
    }
    printer.out
}

/// How tightly an expression binds; a child printed where a higher level is needed gets
/// parentheses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    /// Ends in an expression that extends as far right as it can: lambdas, quantifiers,
    /// `select`, aggregates.
    Open,
    Or,
    And,
    Not,
    /// Comparisons, `in`, `like`, `occurs`: their operands are postfix values.
    Cmp,
    /// Literals, paths, calls, and everything closed by its own brackets.
    Postfix,
}

fn level(expr: &Expr) -> Level {
    match &expr.kind {
        ExprKind::Lambda { .. }
        | ExprKind::Quantifier { .. }
        | ExprKind::Select { .. }
        | ExprKind::Aggregate { .. } => Level::Open,
        ExprKind::Or(_) => Level::Or,
        ExprKind::And(_) => Level::And,
        ExprKind::Not(_) => Level::Not,
        ExprKind::Compare { .. } | ExprKind::In { .. } | ExprKind::Like { .. } | ExprKind::Occurs { .. } => Level::Cmp,
        ExprKind::Literal(_)
        | ExprKind::Path(_)
        | ExprKind::Call { .. }
        | ExprKind::If { .. }
        | ExprKind::InSegment(_)
        | ExprKind::Chain(_)
        | ExprKind::Let { .. }
        | ExprKind::Function { .. } => Level::Postfix,
    }
}

struct Printer {
    out: String,
}

impl Printer {
    fn push(&mut self, text: &str) {
        self.out.push_str(text);
    }

    fn names(&mut self, names: &[String]) {
        self.push(&names.join(", "));
    }

    /// `expr`, parenthesized if it binds less tightly than `min`.
    fn expr(&mut self, expr: &Expr, min: Level) {
        if level(expr) < min {
            self.out.push('(');
            self.kind(&expr.kind);
            self.out.push(')');
        } else {
            self.kind(&expr.kind);
        }
    }

    fn list(&mut self, items: &[Expr], separator: &str, min: Level) {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.push(separator);
            }
            self.expr(item, min);
        }
    }

    fn args(&mut self, args: &[Expr]) {
        self.out.push('(');
        self.list(args, ", ", Level::Open);
        self.out.push(')');
    }

    fn kind(&mut self, kind: &ExprKind) {
        match kind {
            ExprKind::Literal(literal) => self.literal(literal),
            ExprKind::Path(path) => self.path(path),
            ExprKind::Not(inner) => {
                self.push("not(");
                self.expr(inner, Level::Open);
                self.out.push(')');
            }
            ExprKind::And(items) => self.list(items, " and ", Level::Not),
            ExprKind::Or(items) => self.list(items, " or ", Level::And),
            ExprKind::Compare { op, lhs, rhs } => {
                self.expr(lhs, Level::Postfix);
                self.out.push(' ');
                self.push(cmp_op(*op));
                self.out.push(' ');
                self.expr(rhs, Level::Postfix);
            }
            ExprKind::In { negated, lhs, rhs } => {
                self.expr(lhs, Level::Postfix);
                self.push(if *negated { " notIn " } else { " in " });
                self.expr(rhs, Level::Postfix);
            }
            ExprKind::Like { lhs, pattern } => {
                self.expr(lhs, Level::Postfix);
                self.push(" like ");
                self.string(pattern);
            }
            ExprKind::Occurs { lhs, spec } => {
                self.expr(lhs, Level::Postfix);
                self.push(" occurs ");
                self.occurs(spec);
            }
            ExprKind::Call { target, name, args } => {
                self.expr(target, Level::Postfix);
                self.out.push('.');
                self.push(name);
                self.args(args);
            }
            ExprKind::If { test, then, otherwise } => {
                self.push("if(");
                self.expr(test, Level::Open);
                self.push(", ");
                self.expr(then, Level::Open);
                self.push(", ");
                self.expr(otherwise, Level::Open);
                self.out.push(')');
            }
            ExprKind::InSegment(id) => {
                self.push("inSegment(");
                self.string(id);
                self.out.push(')');
            }
            ExprKind::Quantifier { kind, bindings } => {
                self.push(match kind {
                    QuantifierKind::Exists => "exists ",
                    QuantifierKind::Forall => "forall ",
                });
                self.bindings(bindings);
            }
            ExprKind::Select { var, from, pred } => {
                self.push("select ");
                self.push(var);
                self.push(" from ");
                self.expr(from, Level::Postfix);
                self.push(" where ");
                self.expr(pred, Level::Open);
            }
            ExprKind::Chain(chain) => self.chain(chain),
            ExprKind::Let { name, value, body } => {
                self.push("let ");
                self.push(name);
                self.push(" = ");
                self.expr(value, Level::Postfix);
                self.push(" in (");
                self.expr(body, Level::Open);
                self.out.push(')');
            }
            ExprKind::Aggregate { func, expr, var, from, pred } => {
                self.push(agg_name(*func));
                if let Some(expr) = expr {
                    self.out.push(' ');
                    if bare_aggregate_value(expr) {
                        self.expr(expr, Level::Postfix);
                    } else {
                        self.out.push('(');
                        self.expr(expr, Level::Open);
                        self.out.push(')');
                    }
                }
                self.push(" over ");
                self.push(var);
                self.push(" from ");
                self.expr(from, Level::Postfix);
                if let Some(pred) = pred {
                    self.push(" where ");
                    self.expr(pred, Level::Open);
                }
            }
            ExprKind::Lambda { params, body } => {
                self.out.push('(');
                self.names(params);
                self.push(") => ");
                self.expr(body, Level::Open);
            }
            ExprKind::Function { name, args } => {
                self.push(name);
                self.args(args);
            }
        }
    }

    fn bindings(&mut self, bindings: &[Binding]) {
        for (i, binding) in bindings.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.push(&binding.var);
            self.push(" from ");
            self.expr(&binding.from, Level::Postfix);
            if let Some(pred) = &binding.pred {
                self.push(" where ");
                // Before another binding, an open expression (a nested quantifier) would take
                // the next binding as its own.
                let last = i + 1 == bindings.len();
                self.expr(pred, if last { Level::Open } else { Level::Or });
            }
        }
    }

    fn literal(&mut self, literal: &Literal) {
        match literal {
            Literal::String(s) => self.string(s),
            Literal::Int(n) => self.push(&n.to_string()),
            // `Debug` is the shortest text that reads back to the same float, and always has a
            // `.` or an exponent, so it never reads back as an integer.
            Literal::Float(x) => self.push(&format!("{x:?}")),
            Literal::Bool(b) => self.push(if *b { "true" } else { "false" }),
            Literal::Null => self.push("null"),
            Literal::Date { year, month, day } => self.date(*year, *month, *day),
            Literal::Array(items) => {
                self.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.push(", ");
                    }
                    self.literal(item);
                }
                self.out.push(']');
            }
        }
    }

    fn date(&mut self, year: i32, month: u32, day: u32) {
        self.push(&format!("date({year}, {month}, {day})"));
    }

    fn string(&mut self, s: &str) {
        self.out.push('"');
        for c in s.chars() {
            match c {
                '"' => self.push("\\\""),
                '\\' => self.push("\\\\"),
                '\n' => self.push("\\n"),
                '\r' => self.push("\\r"),
                '\t' => self.push("\\t"),
                c if c.is_control() => self.push(&format!("\\u{{{:x}}}", u32::from(c))),
                c => self.out.push(c),
            }
        }
        self.out.push('"');
    }

    fn path(&mut self, path: &PathExpr) {
        match &path.root {
            PathRoot::Name(name) => self.push(name),
            PathRoot::Positional(n) => self.push(&format!("${n}")),
            PathRoot::XEvent => self.push("xEvent"),
            PathRoot::Up(levels) => {
                for _ in 0..*levels {
                    self.out.push('^');
                }
            }
        }
        for segment in &path.segments {
            match segment {
                PathSegment::Field(name) => {
                    self.out.push('.');
                    self.push(name);
                }
                PathSegment::Filter(filter) => {
                    self.out.push('[');
                    self.expr(filter, Level::Open);
                    self.out.push(']');
                }
            }
        }
    }

    fn chain(&mut self, chain: &Chain) {
        self.push("chain(xEvent, timestamp, [");
        for (i, step) in chain.steps.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.step(step);
        }
        self.out.push(']');
        if let Some(by) = &chain.by {
            self.push(" BY ");
            self.path(by);
        }
        self.out.push(')');
    }

    fn step(&mut self, step: &Step) {
        self.push(&step.label);
        self.push(if step.negated { ": NOT WHAT(" } else { ": WHAT(" });
        self.expr(&step.what, Level::Open);
        self.out.push(')');
        if let Some(when) = &step.when {
            self.push(" WHEN(");
            match when {
                When::In(time) => self.time(time),
                When::Relative(relative) => self.relative(relative),
            }
            self.out.push(')');
        }
        if let Some(count) = step.count {
            self.push(&format!(" COUNT({count})"));
        }
        if let Some(where_) = &step.where_ {
            self.push(" WHERE(");
            self.expr(where_, Level::Open);
            self.out.push(')');
        }
    }

    fn occurs(&mut self, spec: &OccursSpec) {
        match spec {
            OccursSpec::Relative(relative) => self.relative(relative),
            OccursSpec::Direction { direction, time } => {
                self.push(direction_name(*direction));
                self.out.push(' ');
                self.time(time);
            }
            OccursSpec::On(time) => {
                if matches!(time, TimeRef::Date { .. } | TimeRef::Path(_)) {
                    self.push("on ");
                }
                self.time(time);
            }
            OccursSpec::Between(from, to) => {
                self.push("between ");
                self.time(from);
                self.push(" and ");
                self.time(to);
            }
        }
    }

    fn relative(&mut self, relative: &RelativeTime) {
        let RelativeTime { op, amount, unit, direction, anchor } = relative;
        let unit = if *amount == 1 { unit_name(*unit) } else { unit_plural(*unit) };
        self.push(&format!("{} {amount} {unit} {} ", cmp_op(*op), direction_name(*direction)));
        self.time(anchor);
    }

    fn time(&mut self, time: &TimeRef) {
        match time {
            TimeRef::Now => self.push("now"),
            TimeRef::Today => self.push("today"),
            TimeRef::Yesterday => self.push("yesterday"),
            TimeRef::Tomorrow => self.push("tomorrow"),
            TimeRef::This(unit) => self.push(&format!("this {}", unit_name(*unit))),
            TimeRef::Last(unit) => self.push(&format!("last {}", unit_name(*unit))),
            TimeRef::Next(unit) => self.push(&format!("next {}", unit_name(*unit))),
            TimeRef::Date { year, month, day } => self.date(*year, *month, *day),
            TimeRef::Path(path) => self.path(path),
            TimeRef::Step(label) => self.push(label),
        }
    }
}

fn cmp_op(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "=",
        CmpOp::Ne => "!=",
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
        CmpOp::Gt => ">",
        CmpOp::Ge => ">=",
    }
}

fn agg_name(func: AggFn) -> &'static str {
    match func {
        AggFn::Count => "count",
        AggFn::Sum => "sum",
        AggFn::Min => "min",
        AggFn::Max => "max",
        AggFn::Average => "average",
    }
}

/// Whether `expr` reads back as an aggregate's value without parentheses (`sum X.a over ...`).
///
/// Parentheses are added only where the source must have had them too, so printing never nests
/// deeper than what was parsed (and never crosses [`MAX_NESTING`](super::parser::MAX_NESTING)).
fn bare_aggregate_value(expr: &Expr) -> bool {
    if level(expr) < Level::Postfix || starts_with_bracket(expr) {
        return false;
    }
    match first_word(expr) {
        // `sum count over ...`: `count over ...` would be an aggregate of its own; `sum (x) over`
        // and `count where` would not be read as aggregates at all.
        Some(word) => {
            let own_aggregate = match &expr.kind {
                ExprKind::Path(path) => path.segments.is_empty() && agg_of(word).is_some(),
                ExprKind::Function { .. } => agg_of(word).is_some(),
                _ => false,
            };
            !own_aggregate && !ends_value(word)
        }
        None => true,
    }
}

/// The printed expression starts with `(` or `[`.
fn starts_with_bracket(expr: &Expr) -> bool {
    match &expr.kind {
        ExprKind::Call { target, .. } => level(target) < Level::Postfix || starts_with_bracket(target),
        ExprKind::Literal(Literal::Array(_)) | ExprKind::Lambda { .. } => true,
        _ => false,
    }
}

/// The word the printed expression starts with, if that word is a name.
fn first_word(expr: &Expr) -> Option<&str> {
    match &expr.kind {
        ExprKind::Path(PathExpr { root: PathRoot::Name(name), .. }) | ExprKind::Function { name, .. } => Some(name),
        ExprKind::Call { target, .. } if level(target) == Level::Postfix => first_word(target),
        _ => None,
    }
}

fn direction_name(direction: Direction) -> &'static str {
    match direction {
        Direction::Before => "before",
        Direction::After => "after",
        Direction::From => "from",
    }
}

fn unit_name(unit: Unit) -> &'static str {
    match unit {
        Unit::Millisecond => "millisecond",
        Unit::Second => "second",
        Unit::Minute => "minute",
        Unit::Hour => "hour",
        Unit::Day => "day",
        Unit::Week => "week",
        Unit::Month => "month",
        Unit::Year => "year",
        Unit::Decade => "decade",
        Unit::Century => "century",
        Unit::Millennium => "millennium",
    }
}

fn unit_plural(unit: Unit) -> &'static str {
    match unit {
        Unit::Millisecond => "milliseconds",
        Unit::Second => "seconds",
        Unit::Minute => "minutes",
        Unit::Hour => "hours",
        Unit::Day => "days",
        Unit::Week => "weeks",
        Unit::Month => "months",
        Unit::Year => "years",
        Unit::Decade => "decades",
        Unit::Century => "centuries",
        Unit::Millennium => "millennia",
    }
}
