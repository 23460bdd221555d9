//! The streaming rewriter: `lol_html` handlers that run a [`Plan`] over one page.
//!
//! Handlers share one [`Run`]: counts, `:eq` levels, where the head HTML went. Several edits on
//! one element combine as a browser applying them in order would: `lol_html`'s `set_inner_content`
//! and `replace` drop what earlier edits prepended or appended, and an element an edit removed or
//! replaced is skipped by the edits after it.
//!
//! `lol_html` does not know optional end tags: an element without its end tag (`<li>` before the
//! next `<li>`, `<p>` before a `<div>`) runs, in its eyes, up to the end tag of an ancestor. An
//! edit that depends on where the element ends (its content replaced, something appended or put
//! after it) is then reported [`UnsupportedReason::NoEndTag`], and
//! [`Plan::rewrite`](crate::Plan::rewrite) rewrites the page again without it. Content for the
//! end of an element the page never closes (no `</body>`) is written at the end of the page.

use std::borrow::Cow;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use lol_html::html_content::{ContentType, DocumentEnd, EndTag};
use lol_html::send::{DocumentContentHandlers, Element, ElementContentHandlers, HtmlRewriter, Settings};
use lol_html::{HandlerResult, OutputSink};

use crate::edit::MARK_ATTRIBUTE;
use crate::error::RewriteError;
use crate::markup::{escape_attribute, memory_settings, unescape_attribute};
use crate::plan::{Compiled, Op, Plan, PlanInner};
use crate::report::{EditResult, InjectedAt, Report, UnsupportedReason};
use crate::selector::{Relation, Target};
use crate::style;

/// Rewrites one page as it streams: [`write`](Rewriter::write) each chunk as it arrives, then
/// [`end`](Rewriter::end). The output goes to the sink as soon as `lol_html` can emit it (it holds
/// back at most a tag cut between chunks), never as an empty chunk.
///
/// The output does not depend on how the page is cut into chunks.
pub struct Rewriter<O: FnMut(&[u8])> {
    mode: Mode<O>,
    run: Arc<Mutex<Run>>,
    memory_limit: usize,
}

enum Mode<O: FnMut(&[u8])> {
    Rewriting(Box<HtmlRewriter<'static, SharedSink<O>>>, Arc<Mutex<O>>),
    /// After a graceful stop: the rest of the page goes to the sink unchanged.
    PassingThrough(Arc<Mutex<O>>),
    /// After an error that left the output incomplete.
    Failed(RewriteError),
}

/// The sink, shared so it can be taken back from `lol_html` after a graceful stop.
struct SharedSink<O>(Arc<Mutex<O>>);

impl<O: FnMut(&[u8])> OutputSink for SharedSink<O> {
    fn handle_chunk(&mut self, chunk: &[u8]) {
        if !chunk.is_empty() {
            (lock(&self.0))(chunk);
        }
    }
}

impl<O: FnMut(&[u8])> Rewriter<O> {
    /// Compiles `edits` (see [`Plan::new`]) and starts a page that writes its output to `sink`.
    pub fn new(edits: &[crate::Edit], head_inject: Option<&str>, sink: O) -> Self {
        Plan::new(edits, head_inject).rewriter(sink)
    }

    pub(crate) fn from_plan(plan: &Plan, sink: O) -> Self {
        Rewriter::from_inner(&plan.inner, sink)
    }

    pub(crate) fn from_inner(inner: &PlanInner, sink: O) -> Self {
        let run = Arc::new(Mutex::new(Run::new(&inner.edits)));
        let mut settings = Settings::new_send().with_memory_settings(memory_settings(&inner.limits));
        if let Some(head) = &inner.head {
            let (html, on_head) = (Arc::clone(&head.html), Arc::clone(&run));
            settings = settings.append_element_content_handler((
                Cow::Borrowed(&head.head),
                ElementContentHandlers::default().element(move |el: &mut Element<'_, '_>| -> HandlerResult {
                    if let Some(handlers) = el.end_tag_handlers() {
                        let (html, run) = (Arc::clone(&html), Arc::clone(&on_head));
                        handlers.push(Box::new(move |end: &mut EndTag<'_>| -> HandlerResult {
                            if lock(&run).inject(InjectedAt::EndOfHead) {
                                end.before(&html, ContentType::Html);
                            }
                            Ok(())
                        }));
                    }
                    Ok(())
                }),
            ));
            let (html, on_body) = (Arc::clone(&head.html), Arc::clone(&run));
            settings = settings.append_element_content_handler((
                Cow::Borrowed(&head.body),
                ElementContentHandlers::default().element(move |el: &mut Element<'_, '_>| -> HandlerResult {
                    if lock(&on_body).inject(InjectedAt::BeforeBody) {
                        el.before(&html, ContentType::Html);
                    }
                    Ok(())
                }),
            ));
            let (html, on_end) = (Arc::clone(&head.html), Arc::clone(&run));
            settings = settings.append_document_content_handler(DocumentContentHandlers::default().end(
                move |end: &mut DocumentEnd<'_>| -> HandlerResult {
                    if lock(&on_end).inject(InjectedAt::EndOfDocument) {
                        end.append(&html, ContentType::Html);
                    }
                    Ok(())
                },
            ));
        }
        let on_end = Arc::clone(&run);
        settings = settings.append_document_content_handler(DocumentContentHandlers::default().end(
            move |end: &mut DocumentEnd<'_>| -> HandlerResult {
                // Elements the page never closed, innermost first.
                let pending = std::mem::take(&mut lock(&on_end).pending);
                for pending in pending.iter().rev() {
                    for html in pending.append.iter().chain(&pending.after) {
                        end.append(html, ContentType::Html);
                    }
                }
                Ok(())
            },
        ));
        for (index, edit) in inner.edits.iter().enumerate() {
            let Ok(edit) = edit else { continue };
            match &edit.target {
                Target::Plain(selector) => {
                    let (edit, run) = (Arc::clone(edit), Arc::clone(&run));
                    settings = settings.append_element_content_handler((
                        Cow::Borrowed(selector),
                        ElementContentHandlers::default().element(move |el: &mut Element<'_, '_>| -> HandlerResult {
                            let mut guard = lock(&run);
                            if guard.visible(index, el) {
                                guard.apply(&run, index, &edit, el);
                            }
                            Ok(())
                        }),
                    ));
                }
                Target::Chain(levels) => {
                    // Later levels first: lol_html runs an element's handlers in the order they
                    // were added, so an element a level accepts is never counted inside itself.
                    for (number, level) in levels.iter().enumerate().rev() {
                        let step = Step {
                            edit: index,
                            number,
                            relation: level.relation,
                            index: level.index,
                            feeds: level.feeds,
                        };
                        let (edit, run) = (Arc::clone(edit), Arc::clone(&run));
                        settings = settings.append_element_content_handler((
                            Cow::Borrowed(&level.selector),
                            ElementContentHandlers::default().element(
                                move |el: &mut Element<'_, '_>| -> HandlerResult {
                                    Run::step(&run, step, &edit, el);
                                    Ok(())
                                },
                            ),
                        ));
                    }
                }
            }
        }
        let sink = Arc::new(Mutex::new(sink));
        let html = Box::new(HtmlRewriter::new(settings, SharedSink(Arc::clone(&sink))));
        Rewriter { mode: Mode::Rewriting(html, sink), run, memory_limit: inner.limits.max_memory_bytes }
    }

    /// Rewrites the next chunk of the page.
    ///
    /// # Errors
    ///
    /// The error that stopped rewriting, once. After [`RewriteError::MemoryLimit`] the page stays
    /// whole: everything written so far has reached the sink and later chunks pass through
    /// unchanged. After [`RewriteError::AmbiguousMarkup`] the output is incomplete and later calls
    /// return [`RewriteError::Stopped`]: fail the response.
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), RewriteError> {
        match &mut self.mode {
            Mode::Rewriting(html, _) => match html.write(chunk) {
                Ok(()) => Ok(()),
                Err(error) => Err(self.stop(&RewriteError::from_lol_html(&error, self.memory_limit))),
            },
            Mode::PassingThrough(sink) => {
                if !chunk.is_empty() {
                    (lock(sink))(chunk);
                }
                Ok(())
            }
            Mode::Failed(error) => Err(RewriteError::Stopped(Box::new(error.clone()))),
        }
    }

    /// Finishes the page and reports what each edit did.
    ///
    /// # Errors
    ///
    /// When the output is incomplete ([`RewriteError::AmbiguousMarkup`], now or in an earlier
    /// [`write`](Rewriter::write)). A graceful stop is not an error here: the report says where
    /// rewriting stopped ([`Report::stopped`]).
    pub fn end(self) -> Result<Report, RewriteError> {
        let Rewriter { mode, run, memory_limit } = self;
        match mode {
            Mode::Rewriting(html, _) => {
                if let Err(error) = html.end() {
                    let error = RewriteError::from_lol_html(&error, memory_limit);
                    if !error.page_is_whole() {
                        return Err(error);
                    }
                    lock(&run).stopped.get_or_insert(error);
                }
            }
            Mode::PassingThrough(_) => {}
            Mode::Failed(error) => return Err(error),
        }
        Ok(lock(&run).report())
    }

    /// Records why rewriting stopped and switches to passing through or failed.
    fn stop(&mut self, error: &RewriteError) -> RewriteError {
        let mode = std::mem::replace(&mut self.mode, Mode::Failed(error.clone()));
        if error.page_is_whole()
            && let Mode::Rewriting(_, sink) = mode
        {
            self.mode = Mode::PassingThrough(sink);
        }
        lock(&self.run).stopped.get_or_insert_with(|| error.clone());
        error.clone()
    }
}

impl<O: FnMut(&[u8])> std::fmt::Debug for Rewriter<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match &self.mode {
            Mode::Rewriting(..) => "rewriting",
            Mode::PassingThrough(_) => "passing through",
            Mode::Failed(_) => "failed",
        };
        f.debug_struct("Rewriter").field("mode", &mode).finish_non_exhaustive()
    }
}

/// Locks, ignoring poisoning: no handler panics while holding a lock, and a report is better
/// than a second panic.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What one page's handlers share.
struct Run {
    outcomes: Vec<Outcome>,
    /// Per edit, one state per `:eq` level (none for plain selectors).
    chains: Vec<Vec<LevelState>>,
    head: Option<InjectedAt>,
    stopped: Option<RewriteError>,
    /// The open regions edits removed, outermost first: an element inside one is gone for the
    /// edits after the one that removed it, there for the edits before.
    removed: Vec<Removed>,
    /// The last element removed or replaced (by its start tag's offset) and by which edit.
    removed_last: Option<(usize, usize)>,
    /// What open elements get at their end, in the order they opened.
    pending: Vec<Pending>,
}

/// Content for the end of an element (appended inside it, or put after it). `lol_html` writes it
/// at the element's end tag; it is kept here too, so an element the page never closes (no
/// `</body>`) gets it at the end of the page instead of losing it.
struct Pending {
    /// The element's start tag offset.
    at: usize,
    append: Vec<Arc<str>>,
    after: Vec<Arc<str>>,
}

enum Outcome {
    Changed(usize),
    Unsupported(UnsupportedReason),
}

/// What one `:eq` level knows of its elements so far.
#[derive(Default)]
struct LevelState {
    /// Elements matched in scope, for the `:eq` index.
    seen: usize,
    /// Accepted elements whose end tag has not come (for a descendant level next).
    open_accepted: usize,
    /// Every open element the level matched, accepted or not, innermost last (for a child level
    /// next: a child's parent is the innermost).
    open: Vec<bool>,
}

/// Content an edit removed: an element's (`setHtml`, `setText`), or the element with it.
struct Removed {
    /// The edit.
    by: usize,
    /// The element's start tag offset.
    at: usize,
    with_element: bool,
}

/// Where a level's handler sits in its chain.
#[derive(Clone, Copy)]
struct Step {
    edit: usize,
    number: usize,
    relation: Relation,
    index: Option<usize>,
    feeds: Option<Relation>,
}

impl Run {
    fn new(edits: &[Result<Arc<Compiled>, UnsupportedReason>]) -> Self {
        let outcomes = edits
            .iter()
            .map(|edit| match edit {
                Ok(_) => Outcome::Changed(0),
                Err(reason) => Outcome::Unsupported(reason.clone()),
            })
            .collect();
        let chains = edits
            .iter()
            .map(|edit| match edit {
                Ok(edit) => match &edit.target {
                    Target::Chain(levels) => levels.iter().map(|_| LevelState::default()).collect(),
                    Target::Plain(_) => Vec::new(),
                },
                Err(_) => Vec::new(),
            })
            .collect();
        Run {
            outcomes,
            chains,
            head: None,
            stopped: None,
            removed: Vec::new(),
            removed_last: None,
            pending: Vec::new(),
        }
    }

    fn report(&self) -> Report {
        let edits = self
            .outcomes
            .iter()
            .map(|outcome| match outcome {
                Outcome::Changed(0) => EditResult::NoMatch,
                Outcome::Changed(elements) => EditResult::Applied { elements: *elements },
                Outcome::Unsupported(reason) => EditResult::Unsupported { reason: reason.clone() },
            })
            .collect();
        Report { edits, head: self.head, stopped: self.stopped.clone() }
    }

    /// Whether `el` is in the page as `edit` would find it applied after the edits before it: not
    /// removed by one of them (it may be removed by a later one, which the browser would apply
    /// after this edit).
    fn visible(&self, edit: usize, el: &Element<'_, '_>) -> bool {
        let at = el.source_location().bytes().start;
        let gone = |region: &Removed| region.by < edit && (region.at != at || region.with_element);
        if self.removed.iter().any(gone) {
            return false;
        }
        !(el.removed() && self.removed_last.is_some_and(|(removed_at, by)| by < edit && removed_at == at))
    }

    /// Claims the head HTML's placement; `false` when it already has one.
    fn inject(&mut self, at: InjectedAt) -> bool {
        if self.head.is_some() || self.stopped.is_some() {
            return false;
        }
        self.head = Some(at);
        true
    }

    /// One `:eq` level's handler.
    fn step(run: &Arc<Mutex<Run>>, step: Step, edit: &Compiled, el: &mut Element<'_, '_>) {
        let mut guard = lock(run);
        if !guard.visible(step.edit, el) {
            return;
        }
        let Some(levels) = guard.chains.get_mut(step.edit) else { return };
        let previous = step.number.checked_sub(1).and_then(|previous| levels.get(previous));
        let in_scope = match step.relation {
            Relation::Document => true,
            Relation::Descendant => previous.is_some_and(|level| level.open_accepted > 0),
            Relation::Child => previous.is_some_and(|level| level.open.last() == Some(&true)),
        };
        let Some(state) = levels.get_mut(step.number) else { return };
        let accepted = in_scope
            && step.index.is_none_or(|index| {
                let hit = state.seen == index;
                state.seen = state.seen.saturating_add(1);
                hit
            });
        let track = match step.feeds {
            None => {
                if accepted {
                    guard.apply(run, step.edit, edit, el);
                }
                return;
            }
            Some(Relation::Child) => true,
            Some(Relation::Descendant | Relation::Document) => accepted,
        };
        let Some(handlers) = el.end_tag_handlers().filter(|_| track) else { return };
        match step.feeds {
            Some(Relation::Child) => state.open.push(accepted),
            _ => state.open_accepted += 1,
        }
        let run = Arc::clone(run);
        handlers.push(Box::new(move |_: &mut EndTag<'_>| -> HandlerResult {
            if let Some(state) = lock(&run).chains.get_mut(step.edit).and_then(|levels| levels.get_mut(step.number)) {
                match step.feeds {
                    Some(Relation::Child) => {
                        state.open.pop();
                    }
                    _ => state.open_accepted = state.open_accepted.saturating_sub(1),
                }
            }
            Ok(())
        }));
    }

    /// Watches the end of `el` after `edit` changed it: ends the removed region it opened
    /// (`removes_content`), and reports the edit [`UnsupportedReason::NoEndTag`] if the element
    /// turns out to end at another element's end tag. When the edit removed the element's end tag
    /// (`removes_element`), that other end tag is put back, so at least the structure of a streamed
    /// page survives.
    fn watch_end(
        &mut self,
        run: &Arc<Mutex<Run>>,
        edit: usize,
        removes_content: bool,
        removes_element: bool,
        el: &mut Element<'_, '_>,
    ) {
        let (tag, at) = (el.tag_name(), el.source_location().bytes().start);
        let Some(handlers) = el.end_tag_handlers() else { return };
        if removes_content {
            self.removed.push(Removed { by: edit, at, with_element: removes_element });
        }
        let run = Arc::clone(run);
        handlers.push(Box::new(move |end: &mut EndTag<'_>| -> HandlerResult {
            let mut run = lock(&run);
            if removes_content {
                run.removed.pop();
            }
            // `<body>` and `<html>` run to their parent's end (or the page's) in browsers too.
            if end.name().eq_ignore_ascii_case(&tag) || tag == "body" || tag == "html" {
                return Ok(());
            }
            if removes_element {
                let restored = format!("</{}>", end.name_preserve_case());
                end.replace(&restored, ContentType::Html);
            }
            if let Some(outcome) = run.outcomes.get_mut(edit) {
                *outcome = Outcome::Unsupported(UnsupportedReason::NoEndTag { tag });
            }
            Ok(())
        }));
    }

    /// Updates what `el` gets at its end, as `lol_html` just did for its end tag.
    fn pending_end(&mut self, run: &Arc<Mutex<Run>>, el: &mut Element<'_, '_>, update: impl FnOnce(&mut Pending)) {
        let at = el.source_location().bytes().start;
        // Every handler of an element runs before the next element starts: its entry is last.
        if let Some(pending) = self.pending.last_mut().filter(|pending| pending.at == at) {
            update(pending);
            return;
        }
        let Some(handlers) = el.end_tag_handlers() else { return };
        let run = Arc::clone(run);
        handlers.push(Box::new(move |_: &mut EndTag<'_>| -> HandlerResult {
            lock(&run).pending.retain(|pending| pending.at != at);
            Ok(())
        }));
        let mut pending = Pending { at, append: Vec::new(), after: Vec::new() };
        update(&mut pending);
        self.pending.push(pending);
    }

    /// Applies `edit` to `el`, counting it when the action applies to this kind of element.
    fn apply(&mut self, shared: &Arc<Mutex<Run>>, index: usize, edit: &Compiled, el: &mut Element<'_, '_>) {
        let content = el.can_have_content();
        let changed = match &edit.op {
            Op::SetContent(chunk) if content => {
                el.set_inner_content(&chunk.text, chunk.kind);
                self.pending_end(shared, el, |pending| pending.append.clear());
                true
            }
            Op::Prepend(html) if content => {
                el.prepend(html, ContentType::Html);
                true
            }
            Op::Append(html) if content => {
                el.append(html, ContentType::Html);
                self.pending_end(shared, el, |pending| pending.append.push(Arc::clone(html)));
                true
            }
            Op::Before(html) => {
                el.before(html, ContentType::Html);
                true
            }
            Op::After(html) => {
                el.after(html, ContentType::Html);
                if content {
                    self.pending_end(shared, el, |pending| pending.after.insert(0, Arc::clone(html)));
                }
                true
            }
            Op::Replace(html) => {
                el.replace(html, ContentType::Html);
                self.pending_end(shared, el, |pending| pending.append.clear());
                true
            }
            Op::Remove => {
                el.remove();
                self.pending_end(shared, el, |pending| pending.append.clear());
                true
            }
            Op::Attributes(attributes) => {
                for (name, value) in attributes {
                    // Names were checked when the plan was built.
                    let _ = el.set_attribute(name, &escape_attribute(value));
                }
                true
            }
            Op::Style(properties) => {
                let existing = el.get_attribute("style");
                let merged = style::merge(existing.as_deref().map(unescape_attribute).as_deref(), properties);
                let _ = el.set_attribute("style", &escape_attribute(&merged));
                true
            }
            Op::ImageSource(source) if el.tag_name().eq_ignore_ascii_case("img") => {
                let _ = el.set_attribute("src", &escape_attribute(source));
                // A srcset would win over the new src (the browser SDK removes it too).
                el.remove_attribute("srcset");
                true
            }
            // Content for an element that cannot have any, a source for what is not an image.
            Op::SetContent(_) | Op::Prepend(_) | Op::Append(_) | Op::ImageSource(_) => false,
        };
        if !changed {
            return;
        }
        if let (Op::SetContent(_) | Op::Style(_) | Op::Attributes(_) | Op::ImageSource(_), Some(mark)) =
            (&edit.op, &edit.mark)
        {
            let _ = el.set_attribute(MARK_ATTRIBUTE, mark);
        }
        if let Some(Outcome::Changed(count)) = self.outcomes.get_mut(index) {
            *count += 1;
        }
        let removes_element = matches!(edit.op, Op::Replace(_) | Op::Remove);
        if removes_element {
            self.removed_last = Some((el.source_location().bytes().start, index));
        }
        if matches!(edit.op, Op::SetContent(_) | Op::Append(_) | Op::After(_) | Op::Replace(_) | Op::Remove) {
            let removes_content = removes_element || matches!(edit.op, Op::SetContent(_));
            self.watch_end(shared, index, removes_content, removes_element, el);
        }
    }
}
