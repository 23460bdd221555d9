//! # edgecdp-rewrite
//!
//! Personalizes HTML pages at the edge: applies the DOM actions of the propositions the edge
//! decided (Adobe Target and Journey Optimizer actions) while the page streams through, with
//! Cloudflare's [`lol_html`], so the visitor sees personalized content in the first paint; and
//! inlines the edge's response at the end of `<head>`, so the browser SDK does not ask again.
//! Independent of the other edgecdp crates; builds for `wasm32-unknown-unknown` (the worker).
//!
//! What it offers:
//!
//! - [`Edit`]: a selector, an [`Action`] (`setHtml`, `setText`, `replaceHtml`, `appendHtml`,
//!   `prependHtml`, `insertBefore`, `insertAfter`, `remove`, `setAttribute`, `setStyle`,
//!   `swapImage`) and a mark ([`MARK_ATTRIBUTE`]) the browser SDK finds rendered items by.
//! - [`rewrite`]: a whole page in; the rewritten page and a [`Report`] out.
//! - [`Plan`]: edits compiled once (selectors parsed, contents checked and marked), for one page
//!   or many; [`Rewriter`]: its streaming form, for hosts that pass chunks through.
//! - [`Report`]: per edit, [`EditResult::Applied`] (how many elements), [`EditResult::NoMatch`] or
//!   [`EditResult::Unsupported`] with an [`UnsupportedReason`]: the browser SDK renders those.
//!   One edit the edge cannot apply never stops the others.
//! - [`Limits`]: page size, output size, parser memory, number of edits; exceeding one is a
//!   [`RewriteError`] (see [`errors`]), never a silent truncation and never a panic.
//!
//! ```
//! use edgecdp_rewrite::{rewrite, Action, Edit, EditResult, InjectedAt};
//!
//! let page = br#"<html><head><title>Luma</title></head><body>
//! <h1 class="hero">Run further</h1><ul id="offers"><li>Free returns</li><li>Rewards</li></ul>
//! </body></html>"#;
//! let edits = [
//!     Edit::new("h1.hero", Action::SetText("Welcome back, runner".into())).with_mark("1"),
//!     Edit::new("#offers li:eq(1)", Action::SetHtml("<b>20% off</b> tops".into())),
//!     Edit::new("h1 + p", Action::Remove), // sibling combinators: left to the browser
//! ];
//! let inline = r#"<script type="application/json" id="edgecdp-response">{"handle":[]}</script>"#;
//! let (html, report) = rewrite(page, &edits, Some(inline))?;
//! let html = String::from_utf8_lossy(&html);
//!
//! assert!(html.contains(r#"<h1 class="hero" data-edgecdp-interact-id="1">Welcome back, runner</h1>"#));
//! assert!(html.contains("<li>Free returns</li><li><b>20% off</b> tops</li>"));
//! assert!(html.contains(r#"{"handle":[]}</script></head>"#));
//! assert_eq!(report.edits[0], EditResult::Applied { elements: 1 });
//! assert!(matches!(report.edits[2], EditResult::Unsupported { .. }));
//! assert_eq!(report.head, Some(InjectedAt::EndOfHead));
//! # Ok::<(), edgecdp_rewrite::RewriteError>(())
//! ```
//!
//! ## Selectors
//!
//! What `lol_html` matches: `*`, `E`, `#id`, `.class`, `[attr]`, `[attr=v]` with `~=`, `^=`,
//! `$=`, `*=`, `|=` and the `i`/`s` flags, `:nth-child(an+b)`, `:first-child`,
//! `:nth-of-type(an+b)`, `:first-of-type`, `:not(...)` of compound selectors, the descendant
//! (`E F`) and child (`E > F`) combinators, and selector lists (`A, B`). Not: sibling
//! combinators (`+`, `~`), `:last-child` and the other pseudo-classes that need what follows,
//! state pseudo-classes (`:hover`), `:has()`, namespaces. An edit with such a selector is
//! reported [`UnsupportedReason::Selector`] with `lol_html`'s reason.
//!
//! On top, `:eq(n)`, as the browser SDK reads it: the selector is cut at each `:eq(n)`; the
//! first part is matched in the document and its `n`-th match (0-based, document order) becomes
//! the scope; each later part is matched as `:scope <part>` inside it (so `li:eq(1) > a` are the
//! links that are children of the second `li`). `HTML > BODY > DIV:eq(1) > H2:eq(0)`, as visual
//! editors write them, works. `:eq(-n)` (from the end) is unsupported: the last match is only
//! known once the page has passed.
//!
//! ## Limits
//!
//! - Edits apply in order, as a browser applying them one after the other would, but content an
//!   edit inserts is not parsed again: other edits do not match inside it.
//! - `lol_html` does not know optional end tags: an element without its end tag (`<li>` before
//!   the next `<li>`, `<p>` before a `<div>`) runs, for it, to its parent's end. An edit that
//!   depends on where such an element ends (its content or itself replaced, something appended
//!   or put after it) is reported [`UnsupportedReason::NoEndTag`]; [`Plan::rewrite`] then
//!   rewrites the page again without it, but a streaming [`Rewriter`] has already sent the
//!   change, and what followed the element up to its parent's end went with it.
//! - The page is read as UTF-8. Bytes that are not pass through unchanged, but inserted content
//!   is written as UTF-8: only rewrite pages served as UTF-8 (or ASCII).
//! - A text tag other than `<script>` inside `<select>` (or any after `<frameset>`) is markup
//!   `lol_html` refuses to parse in a stream ([`RewriteError::AmbiguousMarkup`]): serve the page
//!   unchanged. Conforming HTML never has it.
//! - A streaming [`Rewriter`] holds back at most a tag cut between two chunks; its output does
//!   not depend on where the chunks are cut. It is `Send` when its sink is.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod edit;
mod error;
mod limits;
mod markup;
pub mod page;
mod plan;
mod report;
mod rewriter;
mod selector;
mod style;

pub use edit::{Action, Edit, MARK_ATTRIBUTE};
pub use error::RewriteError;
pub use limits::Limits;
pub use plan::Plan;
pub use report::{EditResult, InjectedAt, Report, UnsupportedReason};
pub use rewriter::Rewriter;

/// The errors of this crate, in one place.
pub mod errors {
    pub use crate::error::RewriteError;
    pub use crate::report::UnsupportedReason;
}

/// Rewrites a whole page: compiles `edits` with the default [`Limits`] and applies them, with
/// `head_inject` (HTML) at the end of `<head>`. See [`Plan`] to compile once for many pages or
/// to stream.
///
/// # Errors
///
/// When the page cannot be rewritten within [`Limits`] or safely ([`Plan::rewrite`]): serve it
/// unchanged, and the browser SDK renders the edits.
pub fn rewrite(html: &[u8], edits: &[Edit], head_inject: Option<&str>) -> Result<(Vec<u8>, Report), RewriteError> {
    Plan::new(edits, head_inject).rewrite(html)
}
