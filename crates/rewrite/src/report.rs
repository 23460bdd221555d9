//! What a rewrite did: per edit, how many elements it changed or why it was left to the browser.

use crate::error::RewriteError;

/// What one rewrite of a page did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// One result per edit, in the order the edits were given.
    pub edits: Vec<EditResult>,
    /// Where the `head_inject` HTML went, or `None` when none was given or the page ended (or
    /// rewriting stopped) first.
    pub head: Option<InjectedAt>,
    /// Why rewriting stopped before the end of the page, when it did: the streaming
    /// [`Rewriter`](crate::Rewriter) passed the rest of the page through unchanged, so edits may
    /// have matched elements further down that were not changed.
    pub stopped: Option<RewriteError>,
}

impl Report {
    /// Whether rewriting reached the end of the page.
    #[must_use]
    pub const fn complete(&self) -> bool {
        self.stopped.is_none()
    }

    /// How many edits changed at least one element.
    #[must_use]
    pub fn applied(&self) -> usize {
        self.edits.iter().filter(|result| matches!(result, EditResult::Applied { .. })).count()
    }
}

/// What became of one edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditResult {
    /// The edit changed this many elements (at least one).
    Applied {
        /// How many elements were changed.
        elements: usize,
    },
    /// No element in the page matched the selector, or none the action applies to (an `<img>`
    /// for [`Action::SetImageSource`](crate::Action::SetImageSource), an element that can have
    /// content for the content actions). The browser SDK may still find one later, in content
    /// the page's scripts add.
    NoMatch,
    /// The edge cannot apply this edit: the browser SDK should render it.
    Unsupported {
        /// Why, as a sentence naming the offending value.
        reason: UnsupportedReason,
    },
}

/// Where the `head_inject` HTML was inserted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InjectedAt {
    /// Just before `</head>`.
    EndOfHead,
    /// Just before `<body>`: the page has no `</head>` before its body (browsers still parse what
    /// is there into the head).
    BeforeBody,
    /// At the end of the document: the page has neither `</head>` nor `<body>`.
    EndOfDocument,
}

/// Why an edit is left to the browser.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnsupportedReason {
    /// `lol_html` cannot parse the selector, or does not support part of it (sibling
    /// combinators, most pseudo-classes, namespaces).
    #[error("the selector {selector:?} cannot be matched at the edge: {source}")]
    Selector {
        /// The selector, or the part of it between `:eq(n)`s.
        selector: String,
        /// `lol_html`'s reason.
        source: lol_html::errors::SelectorError,
    },
    /// A part before an `:eq(n)` is empty, as in `:eq(0) > a` or `a:eq(0):eq(1)`.
    #[error("the selector {selector:?} has nothing before its :eq({index})")]
    EmptyEqPart {
        /// The whole selector.
        selector: String,
        /// The index of the `:eq` with nothing before it.
        index: String,
    },
    /// An `:eq(-n)` index, counted from the end: a stream only knows the last match once it has
    /// passed.
    #[error(
        "the selector {selector:?} counts from the end (:eq({index})), which is only known once the page has passed"
    )]
    EqFromEnd {
        /// The whole selector.
        selector: String,
        /// The index given.
        index: String,
    },
    /// A selector list (`,`) whose parts an `:eq(n)` chain would have to tell apart (after an
    /// `:eq`, or before a `>` that follows one).
    #[error("the selector {selector:?} mixes a selector list (',') with :eq(n)")]
    EqSelectorList {
        /// The whole selector.
        selector: String,
    },
    /// An `:eq(n)` index that does not fit in a `usize`.
    #[error("the index in :eq({index}) of {selector:?} is too large")]
    EqIndexTooLarge {
        /// The whole selector.
        selector: String,
        /// The digits given.
        index: String,
    },
    /// An attribute name that HTML cannot hold.
    #[error(
        "{name:?} is not a valid attribute name (it must be non-empty, without spaces, quotes, '<', '>', '/' or '=')"
    )]
    AttributeName {
        /// The name given.
        name: String,
    },
    /// A CSS property name that is not an identifier.
    #[error("{property:?} is not a CSS property name (letters, digits, '-' and '_' only)")]
    StyleProperty {
        /// The name given.
        property: String,
    },
    /// A CSS value that would leave its declaration (a `;`, `{` or `}` outside quotes, or an
    /// unclosed quote or bracket).
    #[error("the value {value:?} of CSS property {property} is not a single CSS value")]
    StyleValue {
        /// The property it was given for.
        property: String,
        /// The value given.
        value: String,
    },
    /// The HTML to insert could not be parsed to put the mark on its top-level elements.
    #[error("the HTML for {action} could not be parsed to mark it: {detail}")]
    MarkedContent {
        /// The action's name.
        action: &'static str,
        /// `lol_html`'s reason.
        detail: String,
    },
    /// The element has no end tag of its own (like `<li>` before the next `<li>`), so `lol_html`
    /// takes it to run up to its parent's end and the edit would also change what follows it.
    /// [`Plan::rewrite`](crate::Plan::rewrite) rewrites the page again without the edit; a
    /// streaming [`Rewriter`](crate::Rewriter) has already sent the change.
    #[error("the <{tag}> the edit changes has no end tag, so where it ends is not known in a stream")]
    NoEndTag {
        /// The element's tag name.
        tag: String,
    },
    /// More edits than [`Limits::max_edits`](crate::Limits::max_edits).
    #[error("more than {limit} edits (max_edits): this one is left to the browser")]
    TooManyEdits {
        /// The limit.
        limit: usize,
    },
}
