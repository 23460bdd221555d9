//! What to change: an [`Edit`] is a selector, an [`Action`] and an optional mark.

/// The attribute an [`Edit`]'s mark is written to. The browser SDK finds rendered items by it:
/// it tracks clicks on them and does not apply an item whose mark is already in the page.
pub const MARK_ATTRIBUTE: &str = "data-edgecdp-interact-id";

/// One personalization change: which elements, what to do to each, and how to mark them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// A CSS selector (see the crate documentation for what is supported), optionally with
    /// Adobe's `:eq(n)` extension.
    pub selector: String,
    /// What to do to each matched element.
    pub action: Action,
    /// When `Some`, the elements that show the edit get [`MARK_ATTRIBUTE`]`="<mark>"`, the ones
    /// the browser SDK decorates: the matched element for the `Set*` actions, the top-level
    /// elements of the inserted HTML for [`Action::ReplaceHtml`], [`Action::AppendHtml`],
    /// [`Action::PrependHtml`], [`Action::InsertBefore`] and [`Action::InsertAfter`].
    /// [`Action::Remove`] leaves nothing to mark.
    pub mark: Option<String>,
}

impl Edit {
    /// An edit without a mark.
    #[must_use]
    pub fn new(selector: impl Into<String>, action: Action) -> Self {
        Edit { selector: selector.into(), action, mark: None }
    }

    /// The same edit, marking what it changes with `mark`.
    #[must_use]
    pub fn with_mark(mut self, mark: impl Into<String>) -> Self {
        self.mark = Some(mark.into());
        self
    }
}

/// What an [`Edit`] does to each element it matches. These are the Adobe Target and Journey
/// Optimizer DOM actions that can be carried out while the page streams past.
///
/// Edits apply in order, as a browser applying them one after the other would, with two
/// exceptions that come from rewriting in one pass (see the crate documentation, "Limits").
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Replaces the element's content with this HTML (`innerHTML`).
    SetHtml(String),
    /// Replaces the element's content with this text, escaped (`textContent`).
    SetText(String),
    /// Replaces the whole element with this HTML (`outerHTML`).
    ReplaceHtml(String),
    /// Adds this HTML at the end of the element's content.
    AppendHtml(String),
    /// Adds this HTML at the start of the element's content.
    PrependHtml(String),
    /// Inserts this HTML just before the element.
    InsertBefore(String),
    /// Inserts this HTML just after the element.
    InsertAfter(String),
    /// Removes the element and its content.
    Remove,
    /// Sets these attributes, in order (an attribute already there gets the new value).
    SetAttribute(Vec<(String, String)>),
    /// Sets these CSS properties in the element's `style` attribute, keeping the others. A value
    /// may end with `!important`; an empty value removes the property, as
    /// `style.setProperty(name, "")` does.
    SetStyle(Vec<(String, String)>),
    /// Sets `src` on `<img>` elements; other elements are left alone (Adobe's `swapImage`).
    SetImageSource(String),
}

impl Action {
    /// The action's name in reports and errors (Adobe's names where they exist).
    #[must_use]
    pub const fn name(&self) -> &'static str {
        match self {
            Action::SetHtml(_) => "setHtml",
            Action::SetText(_) => "setText",
            Action::ReplaceHtml(_) => "replaceHtml",
            Action::AppendHtml(_) => "appendHtml",
            Action::PrependHtml(_) => "prependHtml",
            Action::InsertBefore(_) => "insertBefore",
            Action::InsertAfter(_) => "insertAfter",
            Action::Remove => "remove",
            Action::SetAttribute(_) => "setAttribute",
            Action::SetStyle(_) => "setStyle",
            Action::SetImageSource(_) => "swapImage",
        }
    }
}
