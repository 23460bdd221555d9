//! PQL text → [`Query`]: a hand-written recursive-descent parser over the tokens of the lexer.
//!
//! # Grammar
//!
//! The subset of Adobe's Profile Query Language in `reference/segmentation.md` (a), plus our
//! extensions (e)2. `{ }` repeats, `[ ]` is optional, `|` separates choices.
//!
//! ```text
//! query      = [ "(" ident { "," ident } ")" "=>" ] expr
//! expr       = and { "or" and }                                 -- or < and < not < comparison < path/call
//! and        = not { "and" not }
//! not        = ( "not" | "!" ) not | cmp                         -- `not(x)` is `not` applied to `(x)`
//! cmp        = postfix [ cmpOp postfix | ("in" | "notIn") postfix | "like" string | "occurs" occurs ]
//! cmpOp      = "=" | "==" | "!=" | "<" | "<=" | ">" | ">="
//! postfix    = primary { "." ident "(" [ args ] ")" | "." ident | "[" expr "]" }
//!                                                                 -- fields and filters only while it is a path
//! primary    = literal | path-root | "(" expr ")" | lambda | ident "(" [ args ] ")"
//!            | "if" "(" expr "," expr "," expr ")" | "inSegment" "(" string ")"
//!            | ("exists" | "forall") binding { "," binding }
//!            | "select" ident "from" postfix ("where" | ":") expr
//!            | "let" ident "=" postfix "in" "(" expr ")"
//!            | agg [ postfix ] "over" ident "from" postfix [ ("where" | ":") expr ]
//!            | chain
//! lambda     = "(" ident { "," ident } ")" "=>" expr
//! binding    = ident "from" postfix [ ("where" | ":") expr ]
//! agg        = "sum" | "count" | "min" | "max" | "average"
//! literal    = string | int | float | "true" | "false" | "null" | date | "[" [ literal { "," literal } ] "]"
//! date       = "date" "(" int "," int "," int ")"
//! path-root  = ident | "xEvent" | "$" int | "^" { "^" }
//! chain      = "chain" "(" "xEvent" "," "timestamp" "," "[" step { "," step } "]" [ "BY" path ] ")"
//! step       = ident ":" [ "NOT" ] "WHAT" "(" expr ")"            -- then, in any order, each at most once:
//!              [ "WHEN" "(" when ")" ] [ "COUNT" "(" int ")" ] [ "WHERE" "(" expr ")" ]
//! when       = cmpOp int unit direction time | time
//! occurs     = cmpOp int unit direction time | direction time | "between" time "and" time | [ "on" ] time
//! time       = "now" | "today" | "yesterday" | "tomorrow" | ("this" | "last" | "next") unit | date | path
//! path       = path-root { "." ident | "[" expr "]" }
//! direction  = "before" | "after" | "from"
//! unit       = millisecond(s) | second(s) | minute(s) | hour(s) | day(s) | week(s) | month(s) | year(s)
//!            | decade(s) | century | centuries | millennium | millennia
//! ```
//!
//! # Decisions
//!
//! - **Case.** `and`, `or`, `not`, `chain`, the step words `WHAT`, `WHEN`, `COUNT`, `WHERE`, `NOT`,
//!   `BY`, and the time words (`now`, `today`, `last`, units, `before`, `between`, `on`, ...) are
//!   case-insensitive. Everything else is written as PQL writes it (`in`, `notIn`, `like`,
//!   `occurs`, `exists`, `select`, `let`, `true`, `xEvent`, ...).
//! - **Correlation keys** are written after the step list, inside the parentheses:
//!   `chain(xEvent, timestamp, [A: ..., B: ...] BY commerce.cart.cartID)`. The key is a path
//!   read on each step's event.
//! - **Step anchors.** Inside `WHEN(...)`, a bare name is a step label (`WHEN(< 1 hour after A)`
//!   → [`TimeRef::Step`]); a dotted path is a [`TimeRef::Path`]. Outside a chain (`occurs`) a bare
//!   name is a path. Whether the label names an earlier step is the compiler's to check.
//! - **`not`** is a prefix operator between `and` and comparisons, so `not(x)` and `not x = 1`
//!   both work and `not a = b` is `not (a = b)`.
//! - **`let X = v in (body)`**: `v` is a single value (a path, a call, a literal, a
//!   parenthesized expression or an aggregate), because `in` is also the membership operator.
//! - **Aggregates** (`sum e over X from a where p`) are recognised when an aggregate word is
//!   followed by a value or by `over`; otherwise `sum`, `count`, ... are ordinary names (fields,
//!   `x.count()`, a free function `sum(x)`).
//! - **Quantifier bindings** continue after a `,` only when it is followed by `name from`, so a
//!   quantifier can be a function argument.
//! - **Free functions** such as `mapEntry(K, G.count())` are [`ExprKind::Function`]; `if`,
//!   `inSegment`, `date` and `chain` keep their own nodes.
//! - **Comments**: `--` to the end of the line is ignored (an extension; the reference's seed is
//!   written with them).
//! - **Limits**: nesting is capped at [`MAX_NESTING`] levels (parentheses, calls, filters, `not`s,
//!   nested literals, chains; not the parentheses right around a quantifier, `select`, aggregate
//!   or lambda, which the printer may add, so that it never nests deeper than its source), and no
//!   input can exhaust the stack: at the cap, parsing, printing and dropping the tree take under
//!   384 KiB of stack in a release build (1 MiB in a debug build).
//!   The parser never panics; the first error is returned.

#[cfg(test)]
mod proptests;
#[cfg(test)]
pub(crate) mod tests;

use super::ast::{
    AggFn, Binding, Chain, CmpOp, Direction, Expr, ExprKind, Literal, OccursSpec, PathExpr, PathRoot, PathSegment,
    QuantifierKind, Query, RelativeTime, Span, Step, TimeRef, Unit, When,
};
use super::error::{SegmentError, line_col};
use super::lexer::{self, P, Tok, Token};

/// The deepest nesting a definition may have (see [`SegmentError::TooDeep`]).
pub const MAX_NESTING: usize = 64;

/// Parses a segment definition.
///
/// ```
/// use edgecdp_core::segment::{parse, print};
///
/// let query = parse(r#"homeAddress.countryCode = "US" and chain(xEvent, timestamp, [A: WHAT(eventType = "addToCart")])"#)?;
/// assert_eq!(parse(&print(&query))?, query);
///
/// let error = parse(r#"inSegment("s" and x)"#).unwrap_err();
/// assert_eq!(error.to_string(), r#"expected ')' at 1:15, found "and""#);
/// assert_eq!(error.position(), Some((1, 15)));
/// # Ok::<(), edgecdp_core::segment::SegmentError>(())
/// ```
///
/// # Errors
///
/// [`SegmentError::Parse`] with the line, column, what was expected and what was found;
/// [`SegmentError::TooDeep`] past [`MAX_NESTING`]; [`SegmentError::OutOfRange`] for numbers that
/// do not fit (`date(2024, 13, 1)`, `COUNT(-1)`, 2^64).
pub fn parse(source: &str) -> Result<Query, SegmentError> {
    let (tokens, end) = lexer::lex(source);
    let mut parser = Parser { src: source, tokens, end, pos: 0, prev_end: 0, depth: 0, pending: None };
    parser.query().map_err(|e| *e)
}

/// Errors are boxed inside the parser, which keeps the recursive functions' frames small.
type R<T> = Result<T, Box<SegmentError>>;

/// Words that end a value: after an aggregate word they mean it is a plain name (`count in x`).
pub(super) fn ends_value(word: &str) -> bool {
    word.eq_ignore_ascii_case("and")
        || word.eq_ignore_ascii_case("or")
        || matches!(word, "in" | "notIn" | "like" | "occurs" | "where" | "from" | "over")
}

/// Words that can never start a value.
fn is_operator_word(word: &str) -> bool {
    ["and", "or", "not"].iter().any(|w| word.eq_ignore_ascii_case(w))
        || matches!(word, "in" | "notIn" | "like" | "occurs")
}

fn unit_of(word: &str) -> Option<Unit> {
    let unit = match word.to_ascii_lowercase().as_str() {
        "millisecond" | "milliseconds" => Unit::Millisecond,
        "second" | "seconds" => Unit::Second,
        "minute" | "minutes" => Unit::Minute,
        "hour" | "hours" => Unit::Hour,
        "day" | "days" => Unit::Day,
        "week" | "weeks" => Unit::Week,
        "month" | "months" => Unit::Month,
        "year" | "years" => Unit::Year,
        "decade" | "decades" => Unit::Decade,
        "century" | "centuries" => Unit::Century,
        "millennium" | "millennia" => Unit::Millennium,
        _ => return None,
    };
    Some(unit)
}

fn direction_of(word: &str) -> Option<Direction> {
    match word.to_ascii_lowercase().as_str() {
        "before" => Some(Direction::Before),
        "after" => Some(Direction::After),
        "from" => Some(Direction::From),
        _ => None,
    }
}

pub(super) fn agg_of(word: &str) -> Option<AggFn> {
    match word {
        "sum" => Some(AggFn::Sum),
        "count" => Some(AggFn::Count),
        "min" => Some(AggFn::Min),
        "max" => Some(AggFn::Max),
        "average" => Some(AggFn::Average),
        _ => None,
    }
}

/// At most 40 characters of `text`, for error messages.
fn short(text: &str) -> String {
    if text.chars().count() <= 40 { text.to_string() } else { text.chars().take(37).chain("...".chars()).collect() }
}

struct Parser<'a> {
    src: &'a str,
    tokens: Vec<Token<'a>>,
    /// [`Tok::Eof`] or [`Tok::Invalid`]: what lies past the last token.
    end: Token<'a>,
    pos: usize,
    /// The end of the last token consumed, for spans.
    prev_end: usize,
    depth: usize,
    /// A primary already parsed, that the next [`Parser::primary`] returns (see [`Parser::paren`]).
    pending: Option<Expr>,
}

impl<'a> Parser<'a> {
    // ---- tokens ----------------------------------------------------------------------------

    fn peek_at(&self, n: usize) -> &Token<'a> {
        self.tokens.get(self.pos.saturating_add(n)).unwrap_or(&self.end)
    }

    fn peek(&self) -> &Token<'a> {
        self.peek_at(0)
    }

    fn start(&self) -> usize {
        self.pending.as_ref().map_or_else(|| self.peek().span.start, |pending| pending.span.start)
    }

    fn bump(&mut self) {
        if let Some(token) = self.tokens.get(self.pos) {
            self.prev_end = token.span.end;
            self.pos += 1;
        }
    }

    fn span_from(&self, start: usize) -> Span {
        Span::new(start, self.prev_end.max(start))
    }

    fn punct_at(&self, n: usize, p: P) -> bool {
        matches!(self.peek_at(n).tok, Tok::Punct(q) if q == p)
    }

    fn at(&self, p: P) -> bool {
        self.punct_at(0, p)
    }

    fn eat(&mut self, p: P) -> bool {
        let here = self.at(p);
        if here {
            self.bump();
        }
        here
    }

    fn expect(&mut self, p: P, what: &str) -> R<()> {
        if self.eat(p) { Ok(()) } else { Err(self.expected(what)) }
    }

    fn word_at(&self, n: usize) -> Option<&'a str> {
        match self.peek_at(n).tok {
            Tok::Ident(word) => Some(word),
            _ => None,
        }
    }

    /// The next token is `word`, exactly.
    fn at_word(&self, word: &str) -> bool {
        self.word_at(0) == Some(word)
    }

    /// The next token is `word`, in any case.
    fn at_kw(&self, word: &str) -> bool {
        self.word_at(0).is_some_and(|w| w.eq_ignore_ascii_case(word))
    }

    fn eat_word(&mut self, word: &str) -> bool {
        let here = self.at_word(word);
        if here {
            self.bump();
        }
        here
    }

    fn eat_kw(&mut self, word: &str) -> bool {
        let here = self.at_kw(word);
        if here {
            self.bump();
        }
        here
    }

    fn ident(&mut self, what: &str) -> R<String> {
        match self.word_at(0) {
            Some(word) => {
                self.bump();
                Ok(word.to_string())
            }
            None => Err(self.expected(what)),
        }
    }

    fn cmp_op(&self) -> Option<CmpOp> {
        match self.peek().tok {
            Tok::Punct(P::Eq) => Some(CmpOp::Eq),
            Tok::Punct(P::Ne) => Some(CmpOp::Ne),
            Tok::Punct(P::Lt) => Some(CmpOp::Lt),
            Tok::Punct(P::Le) => Some(CmpOp::Le),
            Tok::Punct(P::Gt) => Some(CmpOp::Gt),
            Tok::Punct(P::Ge) => Some(CmpOp::Ge),
            _ => None,
        }
    }

    /// An integer token, with its source text (for range errors).
    fn int(&mut self, what: &str) -> R<(i64, usize)> {
        match self.peek().tok {
            Tok::Int(n) => {
                let at = self.start();
                self.bump();
                Ok((n, at))
            }
            _ => Err(self.expected(what)),
        }
    }

    // ---- errors ----------------------------------------------------------------------------

    /// "expected `what` at line:column, found <the next token>", or the lexer's error if the
    /// next token is the character it could not read.
    fn expected(&self, what: impl Into<String>) -> Box<SegmentError> {
        let token = self.peek();
        let found = match &token.tok {
            Tok::Invalid(error) => return Box::new(error.clone()),
            Tok::Eof => "the end of the text".to_string(),
            Tok::Str(s) => format!("the string {:?}", short(s)),
            _ => format!("{:?}", short(self.src.get(token.span.start..token.span.end).unwrap_or_default())),
        };
        let (line, column) = line_col(self.src, token.span.start);
        Box::new(SegmentError::Parse { line, column, expected: what.into(), found })
    }

    fn out_of_range(&self, at: usize, what: &str, value: &dyn std::fmt::Display, allowed: &str) -> Box<SegmentError> {
        let (line, column) = line_col(self.src, at);
        Box::new(SegmentError::OutOfRange {
            line,
            column,
            what: what.into(),
            value: value.to_string(),
            allowed: allowed.into(),
        })
    }

    /// One level deeper; an error past [`MAX_NESTING`]. Errors end the parse, so only the
    /// successful paths call [`Parser::leave`].
    fn enter(&mut self) -> R<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            let (line, column) = line_col(self.src, self.start());
            return Err(Box::new(SegmentError::TooDeep { line, column, limit: MAX_NESTING }));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    // ---- the query and expressions ------------------------------------------------------------

    fn query(&mut self) -> R<Query> {
        let params = if self.lambda_ahead() { self.lambda_params()? } else { Vec::new() };
        let body = self.expr()?;
        if !matches!(self.peek().tok, Tok::Eof) {
            return Err(self.expected("`and`, `or` or the end of the text"));
        }
        Ok(Query { params, body })
    }

    /// `( ident {, ident} ) =>` comes next.
    fn lambda_ahead(&self) -> bool {
        self.lambda_at(0)
    }

    /// `( ident {, ident} ) =>` starts `at` tokens ahead.
    fn lambda_at(&self, at: usize) -> bool {
        if !self.punct_at(at, P::LParen) {
            return false;
        }
        let mut i = at + 1;
        loop {
            if self.word_at(i).is_none() {
                return false;
            }
            i += 1;
            if self.punct_at(i, P::Comma) {
                i += 1;
            } else {
                return self.punct_at(i, P::RParen) && self.punct_at(i + 1, P::Arrow);
            }
        }
    }

    /// An open-ended construct starts `at` tokens ahead: a quantifier, `select`, an aggregate
    /// or a lambda, each of which extends as far right as it can.
    fn open_at(&self, at: usize) -> bool {
        match self.word_at(at) {
            Some("exists" | "forall" | "select") => true,
            Some(word) => agg_of(word).is_some() && self.aggregate_at(at),
            None => self.lambda_at(at),
        }
    }

    fn lambda_params(&mut self) -> R<Vec<String>> {
        self.expect(P::LParen, "'('")?;
        let mut params = vec![self.ident("a parameter name")?];
        while self.eat(P::Comma) {
            params.push(self.ident("a parameter name")?);
        }
        self.expect(P::RParen, "')'")?;
        self.expect(P::Arrow, "'=>'")?;
        Ok(params)
    }

    // The functions from here to `word` are the recursive path: each is split into a small head
    // that recurses and a tail for the rarer work, so that frames stay small even in a debug
    // build; rare forms have their own functions.

    fn expr(&mut self) -> R<Expr> {
        let start = self.start();
        let first = self.and()?;
        if self.at_kw("or") { self.or_rest(start, first) } else { Ok(first) }
    }

    fn or_rest(&mut self, start: usize, first: Expr) -> R<Expr> {
        let mut items = vec![first];
        while self.eat_kw("or") {
            items.push(self.and()?);
        }
        Ok(Expr::new(ExprKind::Or(items), self.span_from(start)))
    }

    fn and(&mut self) -> R<Expr> {
        let start = self.start();
        let first = self.not()?;
        if self.at_kw("and") { self.and_rest(start, first) } else { Ok(first) }
    }

    fn and_rest(&mut self, start: usize, first: Expr) -> R<Expr> {
        let mut items = vec![first];
        while self.eat_kw("and") {
            items.push(self.not()?);
        }
        Ok(Expr::new(ExprKind::And(items), self.span_from(start)))
    }

    fn not(&mut self) -> R<Expr> {
        if self.pending.is_some() || !(self.at_kw("not") || self.at(P::Bang)) {
            return self.cmp();
        }
        let start = self.start();
        // `not(x)` nests once, like `not x`: the parenthesis counts.
        let counted = !self.punct_at(1, P::LParen);
        if counted {
            self.enter()?;
        }
        self.bump();
        let inner = self.not()?;
        if counted {
            self.leave();
        }
        Ok(Expr::new(ExprKind::Not(Box::new(inner)), self.span_from(start)))
    }

    fn cmp(&mut self) -> R<Expr> {
        let start = self.start();
        let lhs = self.postfix()?;
        let operator = self.cmp_op().is_some() || ["in", "notIn", "like", "occurs"].iter().any(|w| self.at_word(w));
        if operator { self.cmp_rest(start, lhs) } else { Ok(lhs) }
    }

    fn cmp_rest(&mut self, start: usize, lhs: Expr) -> R<Expr> {
        let kind = if let Some(op) = self.cmp_op() {
            self.bump();
            let rhs = self.postfix()?;
            ExprKind::Compare { op, lhs: Box::new(lhs), rhs: Box::new(rhs) }
        } else if self.at_word("in") || self.at_word("notIn") {
            let negated = self.at_word("notIn");
            self.bump();
            let rhs = self.postfix()?;
            ExprKind::In { negated, lhs: Box::new(lhs), rhs: Box::new(rhs) }
        } else {
            self.like_or_occurs(lhs)?
        };
        Ok(Expr::new(kind, self.span_from(start)))
    }

    fn like_or_occurs(&mut self, lhs: Expr) -> R<ExprKind> {
        if self.eat_word("occurs") {
            return Ok(ExprKind::Occurs { lhs: Box::new(lhs), spec: self.occurs()? });
        }
        self.bump();
        let Tok::Str(pattern) = &self.peek().tok else {
            return Err(self.expected("a pattern string such as `\"%shoe%\"`"));
        };
        let pattern = pattern.clone();
        self.bump();
        Ok(ExprKind::Like { lhs: Box::new(lhs), pattern })
    }

    fn postfix(&mut self) -> R<Expr> {
        let start = self.start();
        let expr = self.primary()?;
        if self.at(P::Dot) || self.at(P::LBracket) { self.postfix_rest(start, expr) } else { Ok(expr) }
    }

    fn postfix_rest(&mut self, start: usize, mut expr: Expr) -> R<Expr> {
        let mut calls = 0;
        loop {
            if self.at(P::Dot) {
                if self.punct_at(2, P::LParen) {
                    // A chain of calls nests like parentheses do.
                    self.enter()?;
                    calls += 1;
                }
                expr = self.member(expr, start)?;
            } else if self.at(P::LBracket) && matches!(expr.kind, ExprKind::Path(_)) {
                expr = self.filter(expr, start)?;
            } else {
                break;
            }
        }
        self.depth = self.depth.saturating_sub(calls);
        Ok(expr)
    }

    /// `.name(args)` or `.name` after `expr`.
    fn member(&mut self, mut expr: Expr, start: usize) -> R<Expr> {
        self.bump();
        let Some(name) = self.word_at(0) else {
            return Err(self.expected("a field or method name"));
        };
        self.bump();
        if self.at(P::LParen) {
            let args = self.args()?;
            let kind = ExprKind::Call { target: Box::new(expr), name: name.to_string(), args };
            return Ok(Expr::new(kind, self.span_from(start)));
        }
        let ExprKind::Path(path) = &mut expr.kind else {
            return Err(self.expected("'(' (only a method call can follow a call or a parenthesized value)"));
        };
        path.segments.push(PathSegment::Field(name.to_string()));
        expr.span = self.span_from(start);
        Ok(expr)
    }

    /// `[condition]` after a path.
    fn filter(&mut self, mut expr: Expr, start: usize) -> R<Expr> {
        self.enter()?;
        self.bump();
        let filter = self.expr()?;
        self.expect(P::RBracket, "']'")?;
        self.leave();
        if let ExprKind::Path(path) = &mut expr.kind {
            path.segments.push(PathSegment::Filter(Box::new(filter)));
        }
        expr.span = self.span_from(start);
        Ok(expr)
    }

    fn args(&mut self) -> R<Vec<Expr>> {
        self.expect(P::LParen, "'('")?;
        let mut args = Vec::new();
        if self.eat(P::RParen) {
            return Ok(args);
        }
        loop {
            args.push(self.expr()?);
            if self.eat(P::Comma) {
                continue;
            }
            if self.eat(P::RParen) {
                return Ok(args);
            }
            return Err(self.expected("',' or ')'"));
        }
    }

    fn primary(&mut self) -> R<Expr> {
        if let Some(pending) = self.pending.take() {
            return Ok(pending);
        }
        let paren = self.at(P::LParen) && !self.lambda_ahead();
        // Parentheses around an open-ended construct (`(exists ...)`, `((K) => ...)`) do not
        // count: the construct itself does, right after. The printer adds exactly those where a
        // source may have none, so printing never nests deeper than what was parsed.
        let counted = !(paren && self.open_at(1));
        if counted {
            self.enter()?;
        }
        let expr = if paren {
            self.paren()?
        } else {
            let start = self.start();
            let kind = self.primary_kind()?;
            Expr::new(kind, self.span_from(start))
        };
        if counted {
            self.leave();
        }
        Ok(expr)
    }

    /// `(expr)`: the expression itself (a tree has no parentheses).
    fn paren(&mut self) -> R<Expr> {
        self.bump();
        if self.open_at(0) {
            // `(exists ...)`, as the printer writes it: parse the construct right here, without a
            // chain of expression levels on the stack in between; if more follows it inside the
            // parentheses (`(exists X from a = b)`), the expression levels start from it.
            let first = self.primary()?;
            if self.eat(P::RParen) {
                return Ok(first);
            }
            self.pending = Some(first);
        }
        let inner = self.expr()?;
        self.expect(P::RParen, "')'")?;
        Ok(inner)
    }

    fn primary_kind(&mut self) -> R<ExprKind> {
        match self.peek().tok {
            Tok::Str(_) | Tok::Int(_) | Tok::Float(_) | Tok::Punct(P::LBracket) => {
                self.literal().map(ExprKind::Literal)
            }
            Tok::Param(n) => {
                self.bump();
                Ok(ExprKind::Path(PathExpr { root: PathRoot::Positional(n), segments: Vec::new() }))
            }
            Tok::Punct(P::Caret) => {
                let root = self.up()?;
                Ok(ExprKind::Path(PathExpr { root, segments: Vec::new() }))
            }
            Tok::Punct(P::LParen) => self.lambda(),
            Tok::Ident(word) => self.word(word),
            _ => Err(self.expected("an expression")),
        }
    }

    /// `(K, G) => body`.
    fn lambda(&mut self) -> R<ExprKind> {
        let params = self.lambda_params()?;
        let body = self.expr()?;
        Ok(ExprKind::Lambda { params, body: Box::new(body) })
    }

    /// A primary that starts with a word.
    fn word(&mut self, word: &'a str) -> R<ExprKind> {
        let call = self.punct_at(1, P::LParen);
        match word {
            "true" | "false" | "null" => self.literal().map(ExprKind::Literal),
            "xEvent" => {
                self.bump();
                Ok(ExprKind::Path(PathExpr { root: PathRoot::XEvent, segments: Vec::new() }))
            }
            "exists" | "forall" => self.quantifier(),
            "select" => self.select(),
            "let" => self.let_in(),
            "date" if call => self.literal().map(ExprKind::Literal),
            "if" if call => self.if_else(),
            "inSegment" if call => self.in_segment(),
            _ if call && word.eq_ignore_ascii_case("chain") => self.chain().map(ExprKind::Chain),
            _ if agg_of(word).is_some() && self.aggregate_ahead() => self.aggregate(),
            _ if is_operator_word(word) => Err(self.expected("an expression")),
            _ if call => self.function(word),
            _ => {
                self.bump();
                Ok(ExprKind::Path(PathExpr { root: PathRoot::Name(word.to_string()), segments: Vec::new() }))
            }
        }
    }

    fn if_else(&mut self) -> R<ExprKind> {
        self.bump();
        self.expect(P::LParen, "'('")?;
        let test = self.expr()?;
        self.expect(P::Comma, "','")?;
        let then = self.expr()?;
        self.expect(P::Comma, "','")?;
        let otherwise = self.expr()?;
        self.expect(P::RParen, "')'")?;
        Ok(ExprKind::If { test: Box::new(test), then: Box::new(then), otherwise: Box::new(otherwise) })
    }

    fn in_segment(&mut self) -> R<ExprKind> {
        self.bump();
        self.expect(P::LParen, "'('")?;
        let Tok::Str(id) = &self.peek().tok else {
            return Err(self.expected("the segment's id as a string"));
        };
        let id = id.clone();
        self.bump();
        self.expect(P::RParen, "')'")?;
        Ok(ExprKind::InSegment(id))
    }

    fn function(&mut self, name: &str) -> R<ExprKind> {
        self.bump();
        let args = self.args()?;
        Ok(ExprKind::Function { name: name.to_string(), args })
    }

    fn literal(&mut self) -> R<Literal> {
        let literal = match &self.peek().tok {
            Tok::Str(s) => Literal::String(s.clone()),
            Tok::Int(n) => Literal::Int(*n),
            Tok::Float(x) => Literal::Float(*x),
            Tok::Ident("true") => Literal::Bool(true),
            Tok::Ident("false") => Literal::Bool(false),
            Tok::Ident("null") => Literal::Null,
            Tok::Ident("date") if self.punct_at(1, P::LParen) => return self.date_literal(),
            Tok::Punct(P::LBracket) => {
                self.enter()?;
                self.bump();
                let mut items = Vec::new();
                if !self.eat(P::RBracket) {
                    loop {
                        items.push(self.literal()?);
                        if self.eat(P::Comma) {
                            continue;
                        }
                        if self.eat(P::RBracket) {
                            break;
                        }
                        return Err(self.expected("',' or ']'"));
                    }
                }
                self.leave();
                return Ok(Literal::Array(items));
            }
            _ => {
                return Err(self
                    .expected("a literal (a string, a number, `true`, `false`, `null`, `date(y, m, d)` or an array)"));
            }
        };
        self.bump();
        Ok(literal)
    }

    fn date_literal(&mut self) -> R<Literal> {
        let (year, month, day) = self.date()?;
        Ok(Literal::Date { year, month, day })
    }

    /// `date(y, m, d)`.
    fn date(&mut self) -> R<(i32, u32, u32)> {
        self.bump();
        self.expect(P::LParen, "'('")?;
        let (year, at) = self.int("a year such as `2024`")?;
        let year =
            i32::try_from(year).map_err(|_| self.out_of_range(at, "year", &year, "from -2147483648 to 2147483647"))?;
        self.expect(P::Comma, "','")?;
        let (month, at) = self.int("a month from 1 to 12")?;
        let month = u32::try_from(month)
            .ok()
            .filter(|m| (1..=12).contains(m))
            .ok_or_else(|| self.out_of_range(at, "month", &month, "from 1 to 12"))?;
        self.expect(P::Comma, "','")?;
        let (day, at) = self.int("a day of the month from 1 to 31")?;
        let day = u32::try_from(day)
            .ok()
            .filter(|d| (1..=31).contains(d))
            .ok_or_else(|| self.out_of_range(at, "day", &day, "from 1 to 31"))?;
        self.expect(P::RParen, "')'")?;
        Ok((year, month, day))
    }

    /// `^`, `^^`, ...
    fn up(&mut self) -> R<PathRoot> {
        let at = self.start();
        let mut levels: usize = 0;
        while self.eat(P::Caret) {
            levels += 1;
        }
        let levels =
            u8::try_from(levels).map_err(|_| self.out_of_range(at, "number of `^`", &levels, "at most 255"))?;
        Ok(PathRoot::Up(levels))
    }

    /// `exists X from a where p, Y from b where q` (also `forall`, and `:` for `where`).
    fn quantifier(&mut self) -> R<ExprKind> {
        let kind = if self.at_word("exists") { QuantifierKind::Exists } else { QuantifierKind::Forall };
        self.bump();
        let mut bindings = Vec::new();
        loop {
            let var = self.ident("a variable name such as `X`")?;
            self.expect_word("from")?;
            let from = self.postfix()?;
            let pred = if self.eat_word("where") || self.eat(P::Colon) { Some(self.expr()?) } else { None };
            bindings.push(Binding { var, from, pred });
            let another = self.at(P::Comma) && self.word_at(1).is_some() && self.word_at(2) == Some("from");
            if !another {
                return Ok(ExprKind::Quantifier { kind, bindings });
            }
            self.bump();
        }
    }

    fn expect_word(&mut self, word: &str) -> R<()> {
        if self.eat_word(word) { Ok(()) } else { Err(self.expected(format!("`{word}`"))) }
    }

    /// `select X from a where p`.
    fn select(&mut self) -> R<ExprKind> {
        self.bump();
        let var = self.ident("a variable name such as `X`")?;
        self.expect_word("from")?;
        let from = self.postfix()?;
        if !(self.eat_word("where") || self.eat(P::Colon)) {
            return Err(self.expected("`where`"));
        }
        let pred = self.expr()?;
        Ok(ExprKind::Select { var, from: Box::new(from), pred: Box::new(pred) })
    }

    /// `let X = v in (body)`.
    fn let_in(&mut self) -> R<ExprKind> {
        self.bump();
        let name = self.ident("a name such as `S`")?;
        self.expect(P::Eq, "'='")?;
        let value = self.postfix()?;
        self.expect_word("in")?;
        self.expect(P::LParen, "'(' (the body of `let` is parenthesized)")?;
        let body = self.expr()?;
        self.expect(P::RParen, "')'")?;
        Ok(ExprKind::Let { name, value: Box::new(value), body: Box::new(body) })
    }

    /// After an aggregate word: a value or `over` follows (`sum X.a over ...`, `count over ...`),
    /// rather than an operator, a filter or a call.
    fn aggregate_ahead(&self) -> bool {
        self.aggregate_at(0)
    }

    /// [`Parser::aggregate_ahead`] for an aggregate word `at` tokens ahead.
    fn aggregate_at(&self, at: usize) -> bool {
        match &self.peek_at(at + 1).tok {
            Tok::Ident(word) => *word == "over" || !ends_value(word),
            Tok::Str(_) | Tok::Int(_) | Tok::Float(_) | Tok::Param(_) | Tok::Punct(P::Caret) => true,
            // `sum(x)` is a function unless `over` follows the parentheses: `sum (x.a) over ...`.
            Tok::Punct(P::LParen) => {
                let mut open = 0usize;
                let mut i = at + 1;
                loop {
                    match self.peek_at(i).tok {
                        Tok::Punct(P::LParen) => open += 1,
                        Tok::Punct(P::RParen) => {
                            open = open.saturating_sub(1);
                            if open == 0 {
                                return self.word_at(i + 1) == Some("over");
                            }
                        }
                        Tok::Eof | Tok::Invalid(_) => return false,
                        _ => {}
                    }
                    i += 1;
                }
            }
            _ => false,
        }
    }

    /// `sum e over X from a where p`.
    fn aggregate(&mut self) -> R<ExprKind> {
        let func = self.word_at(0).and_then(agg_of).unwrap_or(AggFn::Count);
        self.bump();
        let expr = if self.at_word("over") { None } else { Some(Box::new(self.postfix()?)) };
        self.expect_word("over")?;
        let var = self.ident("a variable name such as `X`")?;
        self.expect_word("from")?;
        let from = self.postfix()?;
        let pred = if self.eat_word("where") || self.eat(P::Colon) { Some(Box::new(self.expr()?)) } else { None };
        Ok(ExprKind::Aggregate { func, expr, var, from: Box::new(from), pred })
    }

    // ---- chains ----------------------------------------------------------------------------

    fn chain(&mut self) -> R<Chain> {
        let start = self.start();
        // A chain counts as one more level: its steps hold whole expressions in brackets.
        self.enter()?;
        self.bump();
        self.expect(P::LParen, "'('")?;
        self.expect_word("xEvent")?;
        self.expect(P::Comma, "','")?;
        self.expect_word("timestamp")?;
        self.expect(P::Comma, "','")?;
        self.expect(P::LBracket, "'[' and the chain's steps")?;
        let mut steps = vec![self.step()?];
        while self.eat(P::Comma) {
            steps.push(self.step()?);
        }
        self.expect(P::RBracket, "',' or ']'")?;
        let by = if self.eat_kw("by") { Some(self.path()?) } else { None };
        self.expect(P::RParen, if by.is_some() { "')'" } else { "`BY` or ')'" })?;
        self.leave();
        Ok(Chain { steps, by, span: self.span_from(start) })
    }

    fn step(&mut self) -> R<Step> {
        let start = self.start();
        let label = match self.word_at(0) {
            Some(label) if self.punct_at(1, P::Colon) => label.to_string(),
            _ => return Err(self.expected("a step label such as `A:`")),
        };
        self.bump();
        self.bump();
        let negated = self.eat_kw("not");
        if !self.at_kw("what") {
            return Err(self.expected(if negated { "`WHAT`" } else { "`WHAT` or `NOT WHAT`" }));
        }
        self.bump();
        let what = self.parenthesized()?;
        let (mut when, mut count, mut where_) = (None, None, None);
        loop {
            if when.is_none() && self.eat_kw("when") {
                self.expect(P::LParen, "'('")?;
                when = Some(self.when()?);
                self.expect(P::RParen, "')'")?;
            } else if count.is_none() && self.eat_kw("count") {
                self.expect(P::LParen, "'('")?;
                let (n, at) = self.int("a whole number of events such as `5`")?;
                let n =
                    u32::try_from(n).map_err(|_| self.out_of_range(at, "step count", &n, "from 0 to 4294967295"))?;
                count = Some(n);
                self.expect(P::RParen, "')'")?;
            } else if where_.is_none() && self.eat_kw("where") {
                where_ = Some(self.parenthesized()?);
            } else if self.at(P::Comma) || self.at(P::RBracket) {
                break;
            } else {
                let mut expected: Vec<&str> = Vec::new();
                for (clause, seen) in
                    [("`WHEN`", when.is_some()), ("`COUNT`", count.is_some()), ("`WHERE`", where_.is_some())]
                {
                    if !seen {
                        expected.push(clause);
                    }
                }
                expected.push("','");
                return Err(self.expected(format!("{} or ']'", expected.join(", "))));
            }
        }
        Ok(Step { label, negated, what, when, count, where_, span: self.span_from(start) })
    }

    /// `( expr )`.
    fn parenthesized(&mut self) -> R<Expr> {
        self.expect(P::LParen, "'('")?;
        let expr = self.expr()?;
        self.expect(P::RParen, "')'")?;
        Ok(expr)
    }

    fn when(&mut self) -> R<When> {
        if let Some(op) = self.cmp_op() {
            self.bump();
            Ok(When::Relative(self.relative(op, true)?))
        } else {
            Ok(When::In(self.time(true)?))
        }
    }

    // ---- time ------------------------------------------------------------------------------

    fn occurs(&mut self) -> R<OccursSpec> {
        if let Some(op) = self.cmp_op() {
            self.bump();
            return Ok(OccursSpec::Relative(self.relative(op, false)?));
        }
        if let Some(direction) = self.word_at(0).and_then(direction_of) {
            self.bump();
            return Ok(OccursSpec::Direction { direction, time: self.time(false)? });
        }
        if self.eat_kw("between") {
            let from = self.time(false)?;
            if !self.eat_kw("and") {
                return Err(self.expected("`and`"));
            }
            return Ok(OccursSpec::Between(from, self.time(false)?));
        }
        self.eat_kw("on");
        Ok(OccursSpec::On(self.time(false)?))
    }

    /// `24 hours before now`, after the operator.
    fn relative(&mut self, op: CmpOp, in_when: bool) -> R<RelativeTime> {
        let (amount, _) = self.int("a whole number of units such as `24`")?;
        let unit = self.unit()?;
        let Some(direction) = self.word_at(0).and_then(direction_of) else {
            return Err(self.expected("`before`, `after` or `from`"));
        };
        self.bump();
        let anchor = self.time(in_when)?;
        Ok(RelativeTime { op, amount, unit, direction, anchor })
    }

    fn unit(&mut self) -> R<Unit> {
        match self.word_at(0).and_then(unit_of) {
            Some(unit) => {
                self.bump();
                Ok(unit)
            }
            None => Err(self.expected("a time unit such as `hours` or `days`")),
        }
    }

    /// A point or period in time; inside `WHEN(...)` a bare name is a step label.
    fn time(&mut self, in_when: bool) -> R<TimeRef> {
        let followed_like_a_path = self.punct_at(1, P::Dot) || self.punct_at(1, P::LBracket);
        if let Some(word) = self.word_at(0)
            && !followed_like_a_path
        {
            let fixed = match word.to_ascii_lowercase().as_str() {
                "now" => Some(TimeRef::Now),
                "today" => Some(TimeRef::Today),
                "yesterday" => Some(TimeRef::Yesterday),
                "tomorrow" => Some(TimeRef::Tomorrow),
                "date" if self.punct_at(1, P::LParen) => {
                    let (year, month, day) = self.date()?;
                    return Ok(TimeRef::Date { year, month, day });
                }
                period @ ("this" | "last" | "next") => match self.word_at(1).and_then(unit_of) {
                    Some(unit) => {
                        self.bump();
                        Some(match period {
                            "this" => TimeRef::This(unit),
                            "last" => TimeRef::Last(unit),
                            _ => TimeRef::Next(unit),
                        })
                    }
                    None => None,
                },
                _ => None,
            };
            if let Some(time) = fixed {
                self.bump();
                return Ok(time);
            }
        }
        let starts_path = match self.peek().tok {
            Tok::Ident(word) => !is_operator_word(word),
            Tok::Param(_) | Tok::Punct(P::Caret) => true,
            _ => false,
        };
        if !starts_path {
            return Err(self.expected(if in_when {
                "a time such as `today`, `< 24 hours before now` or `< 1 hour after A`"
            } else {
                "a time such as `now`, `today`, `last week` or `date(2024, 1, 31)`"
            }));
        }
        let path = self.path()?;
        Ok(match path {
            PathExpr { root: PathRoot::Name(label), segments } if in_when && segments.is_empty() => {
                TimeRef::Step(label)
            }
            path => TimeRef::Path(path),
        })
    }

    /// A path without calls: for `BY` keys and times.
    fn path(&mut self) -> R<PathExpr> {
        let root = match self.peek().tok {
            Tok::Ident("xEvent") => {
                self.bump();
                PathRoot::XEvent
            }
            Tok::Ident(word) if !is_operator_word(word) => {
                self.bump();
                PathRoot::Name(word.to_string())
            }
            Tok::Param(n) => {
                self.bump();
                PathRoot::Positional(n)
            }
            Tok::Punct(P::Caret) => self.up()?,
            _ => return Err(self.expected("a path such as `commerce.cart.cartID`")),
        };
        let mut segments = Vec::new();
        loop {
            if self.eat(P::Dot) {
                segments.push(PathSegment::Field(self.ident("a field name")?));
            } else if self.at(P::LBracket) {
                self.enter()?;
                self.bump();
                let filter = self.expr()?;
                self.expect(P::RBracket, "']'")?;
                self.leave();
                segments.push(PathSegment::Filter(Box::new(filter)));
            } else {
                return Ok(PathExpr { root, segments });
            }
        }
    }
}
