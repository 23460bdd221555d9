//! Compiling edits once: selectors parsed, contents checked and marked, so each page only runs
//! them.

use std::sync::Arc;

use lol_html::Selector;
use lol_html::html_content::ContentType;

use crate::edit::{Action, Edit};
use crate::error::RewriteError;
use crate::limits::Limits;
use crate::markup::{check_attribute_name, mark_top_level};
use crate::report::{EditResult, Report, UnsupportedReason};
use crate::rewriter::Rewriter;
use crate::selector::Target;
use crate::style;

/// Edits compiled for rewriting pages: build it once per set of edits, then rewrite any number of
/// pages with it, whole ([`Plan::rewrite`]) or streamed ([`Plan::rewriter`]). Cheap to clone.
///
/// Building never fails: an edit the edge cannot apply is kept as
/// [`EditResult::Unsupported`](crate::EditResult::Unsupported) in every report, and the others
/// still apply.
#[derive(Clone)]
pub struct Plan {
    pub(crate) inner: Arc<PlanInner>,
}

pub(crate) struct PlanInner {
    pub(crate) edits: Vec<Result<Arc<Compiled>, UnsupportedReason>>,
    pub(crate) head: Option<HeadInject>,
    pub(crate) limits: Limits,
}

/// The HTML to put at the end of `<head>`, with the selectors that find the place.
#[derive(Clone)]
pub(crate) struct HeadInject {
    pub(crate) html: Arc<str>,
    pub(crate) head: Selector,
    pub(crate) body: Selector,
}

/// One edit, ready to run.
pub(crate) struct Compiled {
    pub(crate) target: Target,
    pub(crate) op: Op,
    /// Already escaped as attribute text.
    pub(crate) mark: Option<String>,
}

/// Content with its kind (HTML, or text that `lol_html` escapes).
#[derive(Clone)]
pub(crate) struct Chunk {
    pub(crate) text: Arc<str>,
    pub(crate) kind: ContentType,
}

/// An [`Action`] in the form the handlers use. HTML that receives the mark is already marked.
pub(crate) enum Op {
    SetContent(Chunk),
    Prepend(Arc<str>),
    Append(Arc<str>),
    Before(Arc<str>),
    After(Arc<str>),
    Replace(Arc<str>),
    Remove,
    Attributes(Vec<(String, String)>),
    Style(Vec<(String, String)>),
    ImageSource(String),
}

impl Plan {
    /// Compiles `edits` with the default [`Limits`]. `head_inject` is HTML to insert at the end of
    /// `<head>` (for the inlined edge response the browser SDK reads instead of fetching again).
    #[must_use]
    pub fn new(edits: &[Edit], head_inject: Option<&str>) -> Self {
        Plan::with_limits(edits, head_inject, Limits::new())
    }

    /// Compiles `edits` with `limits`.
    #[must_use]
    pub fn with_limits(edits: &[Edit], head_inject: Option<&str>, limits: Limits) -> Self {
        let edits = edits
            .iter()
            .enumerate()
            .map(|(index, edit)| {
                if index >= limits.max_edits {
                    Err(UnsupportedReason::TooManyEdits { limit: limits.max_edits })
                } else {
                    compile(edit, &limits).map(Arc::new)
                }
            })
            .collect();
        let head = head_inject.and_then(|html| match ("head".parse(), "body".parse()) {
            (Ok(head), Ok(body)) => Some(HeadInject { html: Arc::from(html), head, body }),
            _ => None,
        });
        Plan { inner: Arc::new(PlanInner { edits, head, limits }) }
    }

    /// The limits the plan was built with.
    #[must_use]
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// Rewrites a whole page.
    ///
    /// An edit whose element turns out to have no end tag ([`UnsupportedReason::NoEndTag`]) is
    /// left out and the page rewritten again, so what follows that element is never changed by
    /// mistake.
    ///
    /// # Errors
    ///
    /// [`RewriteError::PageTooLarge`], [`RewriteError::OutputTooLarge`],
    /// [`RewriteError::MemoryLimit`] at a limit of [`Limits`], and
    /// [`RewriteError::AmbiguousMarkup`] on markup `lol_html` will not parse in a stream. In every
    /// case the page should be served unchanged (the browser SDK then renders the edits).
    pub fn rewrite(&self, html: &[u8]) -> Result<(Vec<u8>, Report), RewriteError> {
        let limits = self.inner.limits;
        if html.len() > limits.max_page_bytes {
            return Err(RewriteError::PageTooLarge { bytes: html.len(), limit: limits.max_page_bytes });
        }
        let mut retry: Option<PlanInner> = None;
        loop {
            let plan = retry.as_ref().unwrap_or(&self.inner);
            let (out, report) = rewrite_once(plan, html)?;
            // Each pass leaves out at least one more edit, so this ends.
            let unclosed: Vec<(usize, UnsupportedReason)> = report
                .edits
                .iter()
                .enumerate()
                .filter_map(|(index, result)| match result {
                    EditResult::Unsupported { reason: reason @ UnsupportedReason::NoEndTag { .. } }
                        if plan.edits.get(index).is_some_and(Result::is_ok) =>
                    {
                        Some((index, reason.clone()))
                    }
                    _ => None,
                })
                .collect();
            if unclosed.is_empty() {
                return Ok((out, report));
            }
            retry = Some(plan.without(unclosed));
        }
    }

    /// A streaming rewriter for one page that writes the result to `sink`.
    pub fn rewriter<O: FnMut(&[u8])>(&self, sink: O) -> Rewriter<O> {
        Rewriter::from_plan(self, sink)
    }
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plan")
            .field("edits", &self.inner.edits.len())
            .field("head_inject", &self.inner.head.is_some())
            .field("limits", &self.inner.limits)
            .finish_non_exhaustive()
    }
}

impl PlanInner {
    /// The same plan with the `excluded` edits reported unsupported instead of applied.
    fn without(&self, excluded: Vec<(usize, UnsupportedReason)>) -> PlanInner {
        let mut edits = self.edits.clone();
        for (index, reason) in excluded {
            if let Some(edit) = edits.get_mut(index) {
                *edit = Err(reason);
            }
        }
        PlanInner { edits, head: self.head.clone(), limits: self.limits }
    }
}

/// One pass of [`Plan::rewrite`].
fn rewrite_once(plan: &PlanInner, html: &[u8]) -> Result<(Vec<u8>, Report), RewriteError> {
    let limits = plan.limits;
    let mut out = Vec::with_capacity(html.len().saturating_add(html.len() / 8).min(limits.max_output_bytes));
    let mut too_large = false;
    let report = {
        let mut rewriter = Rewriter::from_inner(plan, |chunk: &[u8]| {
            if out.len().saturating_add(chunk.len()) > limits.max_output_bytes {
                too_large = true;
            } else if !too_large {
                out.extend_from_slice(chunk);
            }
        });
        rewriter.write(html)?;
        rewriter.end()?
    };
    if too_large {
        return Err(RewriteError::OutputTooLarge { limit: limits.max_output_bytes });
    }
    if let Some(stopped) = report.stopped {
        return Err(stopped);
    }
    Ok((out, report))
}

fn compile(edit: &Edit, limits: &Limits) -> Result<Compiled, UnsupportedReason> {
    let target = Target::parse(&edit.selector)?;
    let name = edit.action.name();
    let marked = |html: &str| match &edit.mark {
        Some(mark) => mark_top_level(html, mark, limits, name),
        None => Ok(Arc::from(html)),
    };
    let op = match &edit.action {
        Action::SetHtml(html) => Op::SetContent(Chunk { text: Arc::from(html.as_str()), kind: ContentType::Html }),
        Action::SetText(text) => Op::SetContent(Chunk { text: Arc::from(text.as_str()), kind: ContentType::Text }),
        Action::ReplaceHtml(html) => Op::Replace(marked(html)?),
        Action::AppendHtml(html) => Op::Append(marked(html)?),
        Action::PrependHtml(html) => Op::Prepend(marked(html)?),
        Action::InsertBefore(html) => Op::Before(marked(html)?),
        Action::InsertAfter(html) => Op::After(marked(html)?),
        Action::Remove => Op::Remove,
        Action::SetAttribute(attributes) => {
            for (name, _) in attributes {
                check_attribute_name(name)?;
            }
            Op::Attributes(attributes.clone())
        }
        Action::SetStyle(properties) => {
            for (property, value) in properties {
                style::check(property, value)?;
            }
            Op::Style(properties.clone())
        }
        Action::SetImageSource(source) => Op::ImageSource(source.clone()),
    };
    let mark = edit.mark.as_deref().map(|mark| crate::markup::escape_attribute(mark).into_owned());
    Ok(Compiled { target, op, mark })
}
