//! Selectors: plain CSS for `lol_html`, and the `:eq(n)` extension as a chain of levels.
//!
//! `:eq(n)` is read as the browser SDK reads it (`select` in sdk-js), so the edge changes the
//! element the browser would: the selector is cut at each `:eq(n)`; the first part is matched in
//! the document and its `n`-th match (0-based, document order) becomes the scope; each later part
//! is matched as `:scope <part>` inside the scope (a leading `>` keeps its meaning: children of
//! the scope), and so on. A last part after the last `:eq` applies to all its matches in the
//! scope; with none, the edit applies to the last chosen element.
//!
//! In a stream this is a chain of levels, one per compound selector after the first part, each
//! related to the one before by a child or descendant combinator. A level's handler sees its
//! matches in document order; it knows whether the previous level accepted an open ancestor
//! (descendant) or the parent (child), by counting the previous level's open elements with their
//! end tags. `lol_html` runs the handlers, so "ancestor" and "parent" are what its selectors see.

use std::str::FromStr;

use lol_html::Selector;

use crate::report::UnsupportedReason;

/// What an edit's selector compiles to.
pub(crate) enum Target {
    /// A selector `lol_html` matches by itself.
    Plain(Selector),
    /// An `:eq(n)` selector: levels matched one inside the other.
    Chain(Vec<Level>),
}

/// How a level's elements relate to the previous level's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Relation {
    /// The first level: anywhere in the document.
    Document,
    /// Inside an element the previous level accepted.
    Descendant,
    /// A child of an element the previous level accepted.
    Child,
}

/// One level of a chain.
pub(crate) struct Level {
    /// What `lol_html` matches for this level: the first part, a compound, or, for a child level,
    /// the previous level's selector `> compound` (so the parent is one of the previous level's
    /// elements).
    pub(crate) selector: Selector,
    pub(crate) relation: Relation,
    /// The `:eq` index ending this level's part: only that match (0-based) is accepted.
    pub(crate) index: Option<usize>,
    /// How the next level relates to this one (`None` on the last level, which applies the edit).
    pub(crate) feeds: Option<Relation>,
}

/// A level before its selector is parsed.
struct Spec {
    text: String,
    relation: Relation,
    index: Option<usize>,
}

const EQ_OPEN: &str = ":eq(";

impl Target {
    /// Compiles `raw`, naming what the edge cannot match.
    pub(crate) fn parse(raw: &str) -> Result<Target, UnsupportedReason> {
        if !raw.contains(EQ_OPEN) {
            return parse_selector(raw).map(Target::Plain);
        }
        let (parts, tail) = split_eq(raw.trim());
        let mut specs: Vec<Spec> = Vec::new();
        for (number, (css, digits)) in parts.into_iter().enumerate() {
            let css = css.trim();
            if css.is_empty() && number > 0 && (digits == "0" || digits == "-1") {
                // ":eq(0)" of the one-element scope is the scope itself.
                continue;
            }
            if css.is_empty() {
                return Err(UnsupportedReason::EmptyEqPart { selector: raw.to_owned(), index: digits.to_owned() });
            }
            if digits.starts_with('-') {
                return Err(UnsupportedReason::EqFromEnd { selector: raw.to_owned(), index: digits.to_owned() });
            }
            let index = digits.parse::<usize>().map_err(|_| UnsupportedReason::EqIndexTooLarge {
                selector: raw.to_owned(),
                index: digits.to_owned(),
            })?;
            if number == 0 {
                parse_selector(css)?;
                specs.push(Spec { text: css.to_owned(), relation: Relation::Document, index: Some(index) });
            } else {
                add_part(&mut specs, raw, css, Some(index))?;
            }
        }
        let tail = tail.trim();
        if !tail.is_empty() {
            add_part(&mut specs, raw, tail, None)?;
        }
        let mut levels: Vec<Level> = Vec::with_capacity(specs.len());
        let mut previous: Option<String> = None;
        for spec in specs {
            let text = match (spec.relation, &previous) {
                (Relation::Child, Some(parent)) => {
                    if has_top_level(parent, ',') {
                        return Err(UnsupportedReason::EqSelectorList { selector: raw.to_owned() });
                    }
                    format!("{parent} > {}", spec.text)
                }
                _ => spec.text,
            };
            if let Some(last) = levels.last_mut() {
                last.feeds = Some(spec.relation);
            }
            levels.push(Level {
                selector: parse_selector(&text)?,
                relation: spec.relation,
                index: spec.index,
                feeds: None,
            });
            previous = Some(text);
        }
        Ok(Target::Chain(levels))
    }
}

fn parse_selector(text: &str) -> Result<Selector, UnsupportedReason> {
    Selector::from_str(text).map_err(|source| UnsupportedReason::Selector { selector: text.to_owned(), source })
}

/// Adds the levels of a part after an `:eq`: one per compound selector.
fn add_part(specs: &mut Vec<Spec>, raw: &str, css: &str, index: Option<usize>) -> Result<(), UnsupportedReason> {
    // lol_html names what it cannot match (sibling combinators, pseudo-classes, ...).
    parse_selector(css.strip_prefix('>').unwrap_or(css).trim())?;
    if has_top_level(css, ',') {
        return Err(UnsupportedReason::EqSelectorList { selector: raw.to_owned() });
    }
    let compounds = split_compounds(css);
    let count = compounds.len();
    for (number, (relation, compound)) in compounds.into_iter().enumerate() {
        specs.push(Spec { text: compound.to_owned(), relation, index: if number + 1 == count { index } else { None } });
    }
    Ok(())
}

/// Splits at each `:eq(<digits>)` (digits possibly negative): the parts before each, with the
/// digits, and what follows the last. An `:eq(` not followed by digits and `)` stays in its part
/// (`lol_html` then rejects it).
fn split_eq(selector: &str) -> (Vec<(&str, &str)>, &str) {
    let mut parts = Vec::new();
    let mut rest = selector;
    let mut searched = 0;
    while let Some(found) = rest.get(searched..).and_then(|s| s.find(EQ_OPEN)) {
        let open = searched + found;
        let after = open + EQ_OPEN.len();
        let tail = rest.get(after..).unwrap_or_default();
        let sign = usize::from(tail.starts_with('-'));
        let digits = tail.bytes().skip(sign).take_while(u8::is_ascii_digit).count();
        let close = after + sign + digits;
        if digits > 0
            && rest.get(close..).is_some_and(|s| s.starts_with(')'))
            && let (Some(part), Some(index), Some(next)) =
                (rest.get(..open), rest.get(after..close), rest.get(close + 1..))
        {
            parts.push((part, index));
            rest = next;
            searched = 0;
            continue;
        }
        searched = after;
    }
    (parts, rest)
}

/// The compound selectors of a part (already checked by `lol_html`, so its only combinators are
/// descendant and child), each with its relation to what precedes it (the scope, for the first).
fn split_compounds(css: &str) -> Vec<(Relation, &str)> {
    let mut compounds = Vec::new();
    let mut relation = Relation::Descendant;
    let mut start: Option<usize> = None;
    let mut scanner = Scanner::default();
    for (at, c) in css.char_indices() {
        if scanner.at_top() && (c.is_whitespace() || c == '>') {
            if let Some(from) = start.take() {
                compounds.push((relation, css.get(from..at).unwrap_or_default()));
                relation = Relation::Descendant;
            }
            if c == '>' {
                relation = Relation::Child;
            }
        } else {
            start.get_or_insert(at);
        }
        scanner.next(c);
    }
    if let Some(from) = start {
        compounds.push((relation, css.get(from..).unwrap_or_default()));
    }
    compounds
}

/// Whether `c` occurs in `css` outside brackets, quotes and escapes.
fn has_top_level(css: &str, c: char) -> bool {
    let mut scanner = Scanner::default();
    css.chars().any(|next| {
        let found = next == c && scanner.at_top();
        scanner.next(next);
        found
    })
}

/// Tracks brackets, quotes and escapes while reading a selector.
#[derive(Default)]
struct Scanner {
    depth: usize,
    quote: Option<char>,
    escaped: bool,
}

impl Scanner {
    fn at_top(&self) -> bool {
        self.depth == 0 && self.quote.is_none() && !self.escaped
    }

    fn next(&mut self, c: char) {
        if self.escaped {
            self.escaped = false;
        } else if c == '\\' {
            self.escaped = true;
        } else if let Some(quote) = self.quote {
            if c == quote {
                self.quote = None;
            }
        } else {
            match c {
                '"' | '\'' => self.quote = Some(c),
                '[' | '(' => self.depth += 1,
                ']' | ')' => self.depth = self.depth.saturating_sub(1),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each level as (relation, index, feeds).
    fn levels(raw: &str) -> Vec<(Relation, Option<usize>, Option<Relation>)> {
        match Target::parse(raw) {
            Ok(Target::Chain(levels)) => {
                levels.iter().map(|level| (level.relation, level.index, level.feeds)).collect()
            }
            Ok(Target::Plain(_)) => vec![],
            Err(error) => panic!("{raw}: {error}"),
        }
    }

    use Relation::{Child, Descendant, Document};

    #[test]
    fn plain_selectors_stay_plain() {
        assert!(matches!(Target::parse("ul.nav > li a[href^='/men'], h1"), Ok(Target::Plain(_))));
    }

    #[test]
    fn eq_splits_into_levels() {
        assert_eq!(
            levels("HTML > BODY > DIV:eq(0) > DIV:eq(2) > H1:eq(0)"),
            [(Document, Some(0), Some(Child)), (Child, Some(2), Some(Child)), (Child, Some(0), None)]
        );
        assert_eq!(levels("ul li:eq(3)"), [(Document, Some(3), None)]);
        assert_eq!(levels("#main .card:eq(1) a"), [(Document, Some(1), Some(Descendant)), (Descendant, None, None)]);
        assert_eq!(
            levels("#list:eq(0) > ul li[data-x='a b']:eq(1)"),
            [(Document, Some(0), Some(Child)), (Child, None, Some(Descendant)), (Descendant, Some(1), None)]
        );
        assert_eq!(levels("li:eq(12)  "), [(Document, Some(12), None)]);
        assert_eq!(levels("li:eq(1):eq(0)"), [(Document, Some(1), None)]);
    }

    #[test]
    fn child_levels_extend_the_previous_selector() {
        let Ok(Target::Chain(levels)) = Target::parse("div.a:eq(0) > p > b") else { panic!("not a chain") };
        assert_eq!(levels.len(), 3);
        assert!(matches!(Target::parse("a, b:eq(0) > i"), Err(UnsupportedReason::EqSelectorList { .. })));
        assert!(matches!(Target::parse("a, b:eq(0) i"), Ok(Target::Chain(_))));
        assert!(matches!(Target::parse("b:eq(0) i, u"), Err(UnsupportedReason::EqSelectorList { .. })));
    }

    #[test]
    fn split_keeps_malformed_eq_in_the_part() {
        assert_eq!(split_eq("a:eq(1)b:eq(x)c"), (vec![("a", "1")], "b:eq(x)c"));
        assert_eq!(split_eq("a:eq(-2) b"), (vec![("a", "-2")], " b"));
        assert_eq!(split_eq("a:eq()"), (vec![], "a:eq()"));
        assert_eq!(split_eq("a:eq(4"), (vec![], "a:eq(4"));
        assert_eq!(split_eq("a:eq(-)"), (vec![], "a:eq(-)"));
    }

    #[test]
    fn compounds_split_at_top_level_combinators() {
        assert_eq!(
            split_compounds("> ul>li  a[title='x > y'] b\\ c"),
            [(Child, "ul"), (Child, "li"), (Descendant, "a[title='x > y']"), (Descendant, "b\\ c")]
        );
    }

    #[test]
    fn bad_eq_selectors_are_reported() {
        assert!(matches!(Target::parse(":eq(0) > a"), Err(UnsupportedReason::EmptyEqPart { .. })));
        assert!(matches!(Target::parse("a:eq(0):eq(1)"), Err(UnsupportedReason::EmptyEqPart { .. })));
        assert!(matches!(Target::parse("a:eq(-1)"), Err(UnsupportedReason::EqFromEnd { .. })));
        assert!(matches!(
            Target::parse("a:eq(99999999999999999999999)"),
            Err(UnsupportedReason::EqIndexTooLarge { .. })
        ));
        assert!(matches!(Target::parse("a:eq(0) + b"), Err(UnsupportedReason::Selector { .. })));
        assert!(matches!(Target::parse("> a:eq(0)"), Err(UnsupportedReason::Selector { .. })));
        assert!(matches!(Target::parse("a:eq(0) b:hover"), Err(UnsupportedReason::Selector { .. })));
    }
}
