//! Laws: `parse(print(q)) == q` for random trees of every supported shape, and no input makes
//! the parser panic.

use proptest::prelude::*;
use proptest::sample::select;

use super::super::ast::{
    AggFn, Binding, Chain, CmpOp, Direction, Expr, ExprKind, Literal, OccursSpec, PathExpr, PathRoot, PathSegment,
    QuantifierKind, Query, RelativeTime, Span, Step, TimeRef, Unit, When,
};
use super::super::{parse, print};
use super::tests::{EXAMPLES, SEED};

fn e(kind: ExprKind) -> Expr {
    Expr::new(kind, Span::default())
}

fn strings(pool: &'static [&'static str]) -> impl Strategy<Value = String> {
    select(pool).prop_map(String::from)
}

/// Path roots: includes words that are keywords elsewhere (`count`, `date`, `now`, `where`).
fn root_name() -> impl Strategy<Value = String> {
    strings(&["a", "eventType", "_luma", "Profile", "x_2", "count", "sum", "date", "if", "chain", "now", "where", "BY"])
}

/// After a `.`, any word goes.
fn field_name() -> impl Strategy<Value = String> {
    strings(&["b", "category", "in", "and", "count", "WHEN", "exists", "over", "null", "xEvent"])
}

fn var() -> impl Strategy<Value = String> {
    strings(&["X", "I", "K", "G", "S"])
}

fn label() -> impl Strategy<Value = String> {
    strings(&["A", "B", "C0", "step_2"])
}

fn literal() -> impl Strategy<Value = Literal> {
    let scalar = prop_oneof![
        any::<String>().prop_map(Literal::String),
        any::<i64>().prop_map(Literal::Int),
        any::<f64>().prop_filter("finite", |x| x.is_finite()).prop_map(Literal::Float),
        any::<bool>().prop_map(Literal::Bool),
        Just(Literal::Null),
        (any::<i32>(), 1u32..=12, 1u32..=31).prop_map(|(year, month, day)| Literal::Date { year, month, day }),
    ];
    scalar.prop_recursive(2, 8, 3, |inner| prop::collection::vec(inner, 0..3).prop_map(Literal::Array))
}

fn unit() -> impl Strategy<Value = Unit> {
    select(&[
        Unit::Millisecond,
        Unit::Second,
        Unit::Minute,
        Unit::Hour,
        Unit::Day,
        Unit::Week,
        Unit::Month,
        Unit::Year,
        Unit::Decade,
        Unit::Century,
        Unit::Millennium,
    ])
}

fn cmp_op() -> impl Strategy<Value = CmpOp> {
    select(&[CmpOp::Eq, CmpOp::Ne, CmpOp::Lt, CmpOp::Le, CmpOp::Gt, CmpOp::Ge])
}

fn direction() -> impl Strategy<Value = Direction> {
    select(&[Direction::Before, Direction::After, Direction::From])
}

/// A path of fields only, with at least `min_fields` of them.
fn field_path(min_fields: usize) -> impl Strategy<Value = PathExpr> {
    let root = prop_oneof![
        4 => root_name().prop_map(PathRoot::Name),
        1 => any::<u32>().prop_map(PathRoot::Positional),
        1 => Just(PathRoot::XEvent),
        1 => (1u8..=3).prop_map(PathRoot::Up),
    ];
    (root, prop::collection::vec(field_name(), min_fields..min_fields + 3))
        .prop_map(|(root, names)| PathExpr { root, segments: names.into_iter().map(PathSegment::Field).collect() })
}

/// A time; `in_when` allows step labels, and then paths need a field (a bare name is a label).
fn time(in_when: bool) -> BoxedStrategy<TimeRef> {
    let fixed = prop_oneof![
        Just(TimeRef::Now),
        Just(TimeRef::Today),
        Just(TimeRef::Yesterday),
        Just(TimeRef::Tomorrow),
        unit().prop_map(TimeRef::This),
        unit().prop_map(TimeRef::Last),
        unit().prop_map(TimeRef::Next),
        (any::<i32>(), 1u32..=12, 1u32..=31).prop_map(|(year, month, day)| TimeRef::Date { year, month, day }),
    ];
    if in_when {
        prop_oneof![fixed, field_path(1).prop_map(TimeRef::Path), label().prop_map(TimeRef::Step)].boxed()
    } else {
        let bare = strings(&["launch", "x_2", "Profile"])
            .prop_map(|name| TimeRef::Path(PathExpr { root: PathRoot::Name(name), segments: vec![] }));
        prop_oneof![fixed, field_path(1).prop_map(TimeRef::Path), bare].boxed()
    }
}

fn relative(in_when: bool) -> impl Strategy<Value = RelativeTime> {
    (cmp_op(), any::<i64>(), unit(), direction(), time(in_when))
        .prop_map(|(op, amount, unit, direction, anchor)| RelativeTime { op, amount, unit, direction, anchor })
}

fn occurs_spec() -> impl Strategy<Value = OccursSpec> {
    prop_oneof![
        relative(false).prop_map(OccursSpec::Relative),
        (direction(), time(false)).prop_map(|(direction, time)| OccursSpec::Direction { direction, time }),
        time(false).prop_map(OccursSpec::On),
        (time(false), time(false)).prop_map(|(from, to)| OccursSpec::Between(from, to)),
    ]
}

fn when() -> impl Strategy<Value = When> {
    prop_oneof![time(true).prop_map(When::In), relative(true).prop_map(When::Relative)]
}

fn step(inner: BoxedStrategy<Expr>) -> impl Strategy<Value = Step> {
    (
        label(),
        any::<bool>(),
        inner.clone(),
        prop::option::of(when()),
        prop::option::of(any::<u32>()),
        prop::option::of(inner),
    )
        .prop_map(|(label, negated, what, when, count, where_)| Step {
            label,
            negated,
            what,
            when,
            count,
            where_,
            span: Span::default(),
        })
}

fn expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        literal().prop_map(|l| e(ExprKind::Literal(l))),
        field_path(0).prop_map(|p| e(ExprKind::Path(p))),
        any::<String>().prop_map(|id| e(ExprKind::InSegment(id))),
    ];
    leaf.prop_recursive(4, 48, 4, |inner| {
        let args = prop::collection::vec(inner.clone(), 0..3);
        let boxed = inner.clone().prop_map(Box::new);
        prop_oneof![
            (field_path(0), prop::collection::vec(inner.clone(), 1..3)).prop_map(|(mut path, filters)| {
                path.segments.extend(filters.into_iter().map(|f| PathSegment::Filter(Box::new(f))));
                e(ExprKind::Path(path))
            }),
            boxed.clone().prop_map(|x| e(ExprKind::Not(x))),
            prop::collection::vec(inner.clone(), 2..4).prop_map(|xs| e(ExprKind::And(xs))),
            prop::collection::vec(inner.clone(), 2..4).prop_map(|xs| e(ExprKind::Or(xs))),
            (cmp_op(), boxed.clone(), boxed.clone()).prop_map(|(op, lhs, rhs)| e(ExprKind::Compare { op, lhs, rhs })),
            (any::<bool>(), boxed.clone(), boxed.clone()).prop_map(|(negated, lhs, rhs)| e(ExprKind::In {
                negated,
                lhs,
                rhs
            })),
            (boxed.clone(), any::<String>()).prop_map(|(lhs, pattern)| e(ExprKind::Like { lhs, pattern })),
            (boxed.clone(), occurs_spec()).prop_map(|(lhs, spec)| e(ExprKind::Occurs { lhs, spec })),
            (boxed.clone(), field_name(), args.clone()).prop_map(|(target, name, args)| e(ExprKind::Call {
                target,
                name,
                args
            })),
            (boxed.clone(), boxed.clone(), boxed.clone()).prop_map(|(test, then, otherwise)| e(ExprKind::If {
                test,
                then,
                otherwise
            })),
            (
                select(&[QuantifierKind::Exists, QuantifierKind::Forall]),
                prop::collection::vec((var(), inner.clone(), prop::option::of(inner.clone())), 1..3)
            )
                .prop_map(|(kind, bindings)| {
                    let bindings = bindings.into_iter().map(|(var, from, pred)| Binding { var, from, pred }).collect();
                    e(ExprKind::Quantifier { kind, bindings })
                }),
            (var(), boxed.clone(), boxed.clone()).prop_map(|(var, from, pred)| e(ExprKind::Select { var, from, pred })),
            (prop::collection::vec(step(inner.clone().boxed()), 1..4), prop::option::of(field_path(0)))
                .prop_map(|(steps, by)| e(ExprKind::Chain(Chain { steps, by, span: Span::default() }))),
            (var(), boxed.clone(), boxed.clone()).prop_map(|(name, value, body)| e(ExprKind::Let {
                name,
                value,
                body
            })),
            (
                select(&[AggFn::Count, AggFn::Sum, AggFn::Min, AggFn::Max, AggFn::Average]),
                prop::option::of(boxed.clone()),
                var(),
                boxed.clone(),
                prop::option::of(boxed.clone())
            )
                .prop_map(|(func, expr, var, from, pred)| e(ExprKind::Aggregate {
                    func,
                    expr,
                    var,
                    from,
                    pred
                })),
            (prop::collection::vec(var(), 1..3), boxed).prop_map(|(params, body)| e(ExprKind::Lambda { params, body })),
            (strings(&["mapEntry", "currentMonth", "f", "sum", "count"]), args)
                .prop_map(|(name, args)| e(ExprKind::Function { name, args })),
        ]
    })
}

fn query() -> impl Strategy<Value = Query> {
    (prop::collection::vec(strings(&["Profile", "P", "K"]), 0..3), expr())
        .prop_map(|(params, body)| Query { params, body })
}

/// Bits of PQL, to glue into plausible-looking nonsense.
const TOKENS: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    ",",
    ".",
    ":",
    "^",
    "^^",
    "!",
    "=",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "=>",
    "and",
    "OR",
    "not",
    "in",
    "notIn",
    "like",
    "occurs",
    "chain",
    "xEvent",
    "timestamp",
    "A",
    "B",
    "WHAT",
    "WHEN",
    "COUNT",
    "WHERE",
    "NOT",
    "BY",
    "exists",
    "forall",
    "select",
    "from",
    "where",
    "let",
    "sum",
    "count",
    "over",
    "if",
    "inSegment",
    "date",
    "now",
    "today",
    "last",
    "week",
    "24",
    "hours",
    "before",
    "after",
    "between",
    "on",
    "1",
    "-2",
    "3.5",
    "1e3",
    "\"s\"",
    "'t'",
    "'\\u{41}'",
    "\"\\",
    "$1",
    "true",
    "null",
    "--c\n",
    "\n",
    "x",
    "y.z",
    "(K, G) =>",
    "é",
    "#",
];

fn mutated_example() -> impl Strategy<Value = String> {
    let sources: Vec<String> = EXAMPLES.iter().map(|(_, s)| (*s).to_string()).chain([SEED.to_string()]).collect();
    (select(sources), prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, select(TOKENS)), 1..4)).prop_map(
        |(source, edits)| {
            let mut chars: Vec<char> = source.chars().collect();
            for (at, op, token) in edits {
                let i = at.index(chars.len() + 1);
                match op {
                    0 if i < chars.len() => {
                        chars.remove(i);
                    }
                    1 => chars.splice(i..i, token.chars()).for_each(drop),
                    _ => chars.truncate(i),
                }
            }
            chars.into_iter().collect()
        },
    )
}

/// Whatever `source` is, parsing returns; if it succeeds, the tree round-trips.
fn parses_or_errs(source: &str) -> Result<(), TestCaseError> {
    if let Ok(query) = parse(source) {
        let printed = print(&query);
        prop_assert_eq!(parse(&printed).ok(), Some(query), "{:?} printed as {:?}", source, printed);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn print_then_parse_gives_the_tree_back(query in query()) {
        let printed = print(&query);
        let parsed = parse(&printed);
        prop_assert!(parsed.is_ok(), "{:?}\nprinted as\n{}\nfails: {:?}", query, printed, parsed.err());
        let parsed = parsed.ok();
        prop_assert_eq!(parsed.as_ref(), Some(&query), "printed as\n{}", printed);
        prop_assert_eq!(parsed.map(|q| print(&q)), Some(printed));
    }

    #[test]
    fn arbitrary_text_never_panics(source in any::<String>()) {
        parses_or_errs(&source)?;
    }

    #[test]
    fn pql_alphabet_soup_never_panics(source in "[a-zA-Z0-9_ ()\\[\\],.:^!=<>\"'$\\\\-]{0,120}") {
        parses_or_errs(&source)?;
    }

    #[test]
    fn token_soup_never_panics(tokens in prop::collection::vec(select(TOKENS), 0..60), glue in select(&[" ", ""])) {
        parses_or_errs(&tokens.join(glue))?;
    }

    #[test]
    fn mutated_examples_never_panic(source in mutated_example()) {
        parses_or_errs(&source)?;
    }
}
