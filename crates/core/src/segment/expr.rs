//! Compiled expressions: the stateless part of a segment, evaluated over one event and the
//! profile (attributes by path), with PQL's three-valued logic collapsed at the boundary: a
//! comparison with a missing value (`null`) is false, `notIn` too (it also needs both sides).

use std::cmp::Ordering;

use crate::map::ObjectMap;
use crate::value::{Number, Value};

/// Where a path starts.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// The event being evaluated (`eventType`, `productListItems` inside a chain step).
    Event,
    /// The profile (`loyalty.tier`, `Profile.loyalty.tier`).
    Profile,
    /// A variable bound by `exists`/`select`/`forall` (innermost first: 0 is the latest bound).
    Var(usize),
}

/// A compiled expression.
#[derive(Debug, Clone, PartialEq)]
pub enum CExpr {
    /// A constant.
    Const(Value),
    /// A path read from a source.
    Path(Source, Vec<String>),
    /// A comparison (false when either side is missing).
    Compare(crate::segment::ast::CmpOp, Box<CExpr>, Box<CExpr>),
    /// `a in [..]` / `a notIn [..]`.
    In {
        /// `notIn`.
        negated: bool,
        /// The value.
        value: Box<CExpr>,
        /// The collection.
        set: Box<CExpr>,
    },
    /// `like`, as a compiled pattern.
    Like(Box<CExpr>, Vec<LikePart>),
    /// A string method: `equals`, `startsWith`, `contains`, ... with its case flag.
    Str {
        /// Which test.
        func: StrFn,
        /// The string.
        target: Box<CExpr>,
        /// The argument.
        arg: Box<CExpr>,
        /// Compare case-sensitively (PQL's default).
        case_sensitive: bool,
    },
    /// Logical and.
    And(Vec<CExpr>),
    /// Logical or.
    Or(Vec<CExpr>),
    /// Logical not.
    Not(Box<CExpr>),
    /// Some element of an array satisfies the predicate (bound as `Var(0)`).
    Exists(Box<CExpr>, Box<CExpr>),
    /// Every element satisfies the predicate.
    Forall(Box<CExpr>, Box<CExpr>),
    /// `if(test, a, b)`.
    If(Box<CExpr>, Box<CExpr>, Box<CExpr>),
    /// An array's length (`arr.count()`).
    Count(Box<CExpr>),
    /// How many elements of an array satisfy the predicate (`arr[p].count()`).
    CountWhere(Box<CExpr>, Box<CExpr>),
    /// A map's values, as a collection (`m.values()`).
    Values(Box<CExpr>),
    /// A map's entry (`m.get("k")`).
    Get(Box<CExpr>, String),
    /// The value is missing or `null` (`x.isNull()`).
    IsNull(Box<CExpr>),
}

/// A string test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrFn {
    /// `equals`.
    Equals,
    /// `notEqualTo`.
    NotEqualTo,
    /// `startsWith`.
    StartsWith,
    /// `doesNotStartWith`.
    DoesNotStartWith,
    /// `endsWith`.
    EndsWith,
    /// `doesNotEndWith`.
    DoesNotEndWith,
    /// `contains`.
    Contains,
    /// `doesNotContain`.
    DoesNotContain,
}

/// A piece of a `like` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LikePart {
    /// Literal text.
    Text(String),
    /// `_`: exactly one character.
    One,
    /// `%`: any run of characters.
    Any,
}

/// What an expression is evaluated against.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// The event (its XDM), when evaluating inside an event predicate.
    pub event: Option<&'a Value>,
    /// The profile's attributes by path.
    pub profile: &'a ObjectMap<Value>,
}

/// Reads a profile attribute by path segments: an exact flat path (`loyalty.tier`) or a prefix
/// whose value holds the rest (`_luma` → `{preferences: {...}}`).
pub(crate) fn profile_get<'a>(profile: &'a ObjectMap<Value>, path: &[String]) -> Option<&'a Value> {
    for split in (1..=path.len()).rev() {
        if let Some(v) = profile.get(&path[..split].join(".")) {
            return path[split..].iter().try_fold(v, |v, k| v.as_object()?.get(k));
        }
    }
    None
}

fn value_get<'a>(root: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(root, |v, k| v.as_object()?.get(k))
}

/// A value read or computed: borrowed from the input, owned, or a collection of borrowed values.
enum Val<'a> {
    Ref(&'a Value),
    Own(Value),
    Many(Vec<&'a Value>),
    Missing,
}

impl<'a> Val<'a> {
    fn get(&self) -> Option<&Value> {
        match self {
            Val::Ref(v) => Some(*v),
            Val::Own(v) => Some(v),
            Val::Many(_) | Val::Missing => None,
        }
        .filter(|v| !matches!(v, Value::Null))
    }

    /// The elements, for quantifiers and counts: an array's, a map's values, a scalar alone.
    fn items(&self) -> Vec<&'a Value> {
        match self {
            Val::Ref(Value::Array(a)) => a.iter().collect(),
            Val::Ref(Value::Null) | Val::Missing | Val::Own(_) => Vec::new(),
            Val::Ref(v) => vec![*v],
            Val::Many(items) => items.clone(),
        }
    }
}

fn cmp_values(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64().partial_cmp(&y.as_f64()),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y,
        _ => a == b,
    }
}

fn like(text: &str, parts: &[LikePart]) -> bool {
    let chars: Vec<char> = text.chars().collect();
    // Classic wildcard matching with backtracking over `%`.
    fn go(t: &[char], p: &[LikePart]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some((LikePart::Any, rest)) => (0..=t.len()).any(|i| go(&t[i..], rest)),
            Some((LikePart::One, rest)) => !t.is_empty() && go(&t[1..], rest),
            Some((LikePart::Text(s), rest)) => {
                let s: Vec<char> = s.chars().collect();
                t.len() >= s.len() && t[..s.len()] == s[..] && go(&t[s.len()..], rest)
            }
        }
    }
    go(&chars, parts)
}

fn str_test(func: StrFn, s: &str, arg: &str, case_sensitive: bool) -> bool {
    // Case-insensitive compares fold ASCII letters (as identity normalization does), the same on
    // every host without Unicode case tables.
    let (s, arg) = if case_sensitive {
        (s.to_owned(), arg.to_owned())
    } else {
        (s.to_ascii_lowercase(), arg.to_ascii_lowercase())
    };
    match func {
        StrFn::Equals => s == arg,
        StrFn::NotEqualTo => s != arg,
        StrFn::StartsWith => s.starts_with(&arg),
        StrFn::DoesNotStartWith => !s.starts_with(&arg),
        StrFn::EndsWith => s.ends_with(&arg),
        StrFn::DoesNotEndWith => !s.ends_with(&arg),
        StrFn::Contains => s.contains(&arg),
        StrFn::DoesNotContain => !s.contains(&arg),
    }
}

impl CExpr {
    /// Whether the expression holds (anything but `true` is false).
    #[must_use]
    pub fn holds(&self, scope: &Scope<'_>) -> bool {
        self.test(scope, &mut Vec::new())
    }

    /// Whether the expression holds with one variable bound (`Var(0)`: an aggregate's value).
    #[must_use]
    pub fn holds_with(&self, scope: &Scope<'_>, var: &Value) -> bool {
        self.test(scope, &mut vec![var])
    }

    /// Evaluates to a value (`None`: missing), for correlation keys and aggregates.
    #[must_use]
    pub fn value(&self, scope: &Scope<'_>) -> Option<Value> {
        self.eval(scope, &mut Vec::new()).get().cloned()
    }

    /// Evaluates to the values it denotes: an array's elements, or the value alone.
    #[must_use]
    pub fn values(&self, scope: &Scope<'_>) -> Vec<Value> {
        self.eval(scope, &mut Vec::new()).items().into_iter().cloned().collect()
    }

    /// Whether the expression reads the profile.
    #[must_use]
    pub fn reads_profile(&self) -> bool {
        let mut found = false;
        self.visit(&mut |e| found |= matches!(e, CExpr::Path(Source::Profile, _)));
        found
    }

    /// The number of nodes: the static cost of one evaluation.
    #[must_use]
    pub fn size(&self) -> usize {
        let mut n = 0;
        self.visit(&mut |_| n += 1);
        n
    }

    /// Calls `f` on every node, parents first.
    pub fn visit(&self, f: &mut dyn FnMut(&CExpr)) {
        f(self);
        match self {
            CExpr::Const(_) | CExpr::Path(..) => {}
            CExpr::Compare(_, a, b) | CExpr::Exists(a, b) | CExpr::Forall(a, b) | CExpr::CountWhere(a, b) => {
                a.visit(f);
                b.visit(f);
            }
            CExpr::In { value, set, .. } => {
                value.visit(f);
                set.visit(f);
            }
            CExpr::Str { target, arg, .. } => {
                target.visit(f);
                arg.visit(f);
            }
            CExpr::Like(e, _)
            | CExpr::Not(e)
            | CExpr::Count(e)
            | CExpr::Values(e)
            | CExpr::Get(e, _)
            | CExpr::IsNull(e) => {
                e.visit(f);
            }
            CExpr::And(list) | CExpr::Or(list) => list.iter().for_each(|e| e.visit(f)),
            CExpr::If(a, b, c) => {
                a.visit(f);
                b.visit(f);
                c.visit(f);
            }
        }
    }

    fn test<'a>(&'a self, scope: &Scope<'a>, vars: &mut Vec<&'a Value>) -> bool {
        match self {
            CExpr::And(list) => list.iter().all(|e| e.test(scope, vars)),
            CExpr::Or(list) => list.iter().any(|e| e.test(scope, vars)),
            CExpr::Not(e) => !e.test(scope, vars),
            CExpr::Compare(op, a, b) => {
                let (a, b) = (a.eval(scope, vars), b.eval(scope, vars));
                let (Some(a), Some(b)) = (a.get(), b.get()) else { return false };
                use crate::segment::ast::CmpOp;
                match op {
                    CmpOp::Eq => equal(a, b),
                    CmpOp::Ne => !equal(a, b),
                    CmpOp::Lt => cmp_values(a, b) == Some(Ordering::Less),
                    CmpOp::Le => matches!(cmp_values(a, b), Some(Ordering::Less | Ordering::Equal)),
                    CmpOp::Gt => cmp_values(a, b) == Some(Ordering::Greater),
                    CmpOp::Ge => matches!(cmp_values(a, b), Some(Ordering::Greater | Ordering::Equal)),
                }
            }
            CExpr::In { negated, value, set } => {
                let (v, s) = (value.eval(scope, vars), set.eval(scope, vars));
                let (Some(v), Some(Value::Array(items))) = (v.get(), s.get()) else { return false };
                let found = items.iter().any(|i| equal(i, v));
                found != *negated
            }
            CExpr::Like(e, parts) => match e.eval(scope, vars).get() {
                Some(Value::String(s)) => like(s, parts),
                _ => false,
            },
            CExpr::Str { func, target, arg, case_sensitive } => {
                match (target.eval(scope, vars).get(), arg.eval(scope, vars).get()) {
                    (Some(Value::String(s)), Some(Value::String(a))) => str_test(*func, s, a, *case_sensitive),
                    _ => false,
                }
            }
            CExpr::IsNull(e) => e.eval(scope, vars).get().is_none() && !matches!(e.eval(scope, vars), Val::Many(_)),
            CExpr::Exists(from, pred) | CExpr::Forall(from, pred) => {
                let all = matches!(self, CExpr::Forall(..));
                let items = from.eval(scope, vars).items();
                let check = |item: &'a Value, vars: &mut Vec<&'a Value>| {
                    vars.push(item);
                    let r = pred.test(scope, vars);
                    vars.pop();
                    r
                };
                if all { items.into_iter().all(|i| check(i, vars)) } else { items.into_iter().any(|i| check(i, vars)) }
            }
            other => matches!(other.eval(scope, vars).get(), Some(Value::Bool(true))),
        }
    }

    fn eval<'a>(&'a self, scope: &Scope<'a>, vars: &mut Vec<&'a Value>) -> Val<'a> {
        match self {
            CExpr::Const(v) => Val::Ref(v),
            CExpr::Path(Source::Event, path) => match scope.event.and_then(|e| value_get(e, path)) {
                Some(v) => Val::Ref(v),
                None => Val::Missing,
            },
            CExpr::Path(Source::Profile, path) => match profile_get(scope.profile, path) {
                Some(v) => Val::Ref(v),
                None => Val::Missing,
            },
            CExpr::Path(Source::Var(i), path) => {
                match vars.len().checked_sub(i + 1).and_then(|at| vars.get(at)).and_then(|v| value_get(v, path)) {
                    Some(v) => Val::Ref(v),
                    None => Val::Missing,
                }
            }
            CExpr::If(test, a, b) => {
                if test.test(scope, vars) {
                    a.eval(scope, vars)
                } else {
                    b.eval(scope, vars)
                }
            }
            CExpr::Count(e) => Val::Own(Value::Number(Number::PosInt(e.eval(scope, vars).items().len() as u64))),
            CExpr::CountWhere(from, pred) => {
                let items = from.eval(scope, vars).items();
                let n = items
                    .into_iter()
                    .filter(|item| {
                        vars.push(item);
                        let r = pred.test(scope, vars);
                        vars.pop();
                        r
                    })
                    .count();
                Val::Own(Value::Number(Number::PosInt(n as u64)))
            }
            CExpr::Values(e) => match e.eval(scope, vars) {
                Val::Ref(Value::Object(m)) => Val::Many(m.values().collect()),
                other => Val::Many(other.items()),
            },
            CExpr::Get(e, key) => match e.eval(scope, vars) {
                Val::Ref(Value::Object(m)) => m.get(key).map_or(Val::Missing, Val::Ref),
                _ => Val::Missing,
            },
            boolean => Val::Own(Value::Bool(boolean.test(scope, vars))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object;
    use crate::segment::ast::CmpOp;

    fn path(src: Source, p: &str) -> Box<CExpr> {
        Box::new(CExpr::Path(src, p.split('.').map(String::from).collect()))
    }

    fn konst(v: impl Into<Value>) -> Box<CExpr> {
        Box::new(CExpr::Const(v.into()))
    }

    #[test]
    fn event_versus_profile_and_nested_items() {
        let event = object! {
            "eventType" => "commerce.productListAdds",
            "productListItems" => vec![object! { "_luma" => object! { "category" => "men", "size" => "L" } }],
        };
        let mut profile = ObjectMap::new();
        profile.insert("_luma.preferences.category".into(), Value::from("women"));
        profile.insert("loyalty.tier".into(), Value::from("Bronze"));
        let scope = Scope { event: Some(&event), profile: &profile };
        let gift = CExpr::Exists(
            path(Source::Event, "productListItems"),
            Box::new(CExpr::Compare(
                CmpOp::Ne,
                path(Source::Var(0), "_luma.category"),
                path(Source::Profile, "_luma.preferences.category"),
            )),
        );
        assert!(gift.holds(&scope));
        let tier = CExpr::In {
            negated: false,
            value: path(Source::Profile, "loyalty.tier"),
            set: konst(vec![Value::from("Bronze"), Value::from("Gold")]),
        };
        assert!(tier.holds(&scope));
        let missing = CExpr::Compare(CmpOp::Ne, path(Source::Profile, "nope"), konst("x"));
        assert!(!missing.holds(&scope), "a comparison with a missing value is false");
        let not_in_missing =
            CExpr::In { negated: true, value: path(Source::Profile, "nope"), set: konst(vec![Value::from("x")]) };
        assert!(!not_in_missing.holds(&scope), "notIn needs both sides");
        let eq_ci = CExpr::Str {
            func: StrFn::Equals,
            target: path(Source::Event, "eventType"),
            arg: konst("COMMERCE.productListAdds"),
            case_sensitive: false,
        };
        assert!(eq_ci.holds(&scope));
    }

    #[test]
    fn like_patterns() {
        let parts = vec![LikePart::Text("men".into()), LikePart::Any, LikePart::One, LikePart::Text("s".into())];
        assert!(like("men/sweatshirts", &parts));
        assert!(!like("women/tops", &parts));
        assert!(like("men/xs", &parts));
    }
}
