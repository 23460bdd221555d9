//! Why a page could not be rewritten.

use lol_html::errors::RewritingError;

/// Why rewriting a page failed or stopped. The page itself is never at fault for a panic: every
/// input ends in a result or one of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RewriteError {
    /// The page is larger than [`Limits::max_page_bytes`](crate::Limits::max_page_bytes).
    #[error("the page is {bytes} bytes, more than max_page_bytes ({limit}): serve it unchanged")]
    PageTooLarge {
        /// The page's size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// The rewritten page would be larger than
    /// [`Limits::max_output_bytes`](crate::Limits::max_output_bytes).
    #[error("the rewritten page would be more than max_output_bytes ({limit} bytes): serve it unchanged")]
    OutputTooLarge {
        /// The limit.
        limit: usize,
    },
    /// `lol_html` needed more than [`Limits::max_memory_bytes`](crate::Limits::max_memory_bytes)
    /// (a tag longer than that, or elements nested very deep). A streaming
    /// [`Rewriter`](crate::Rewriter) has passed every byte it was given to its sink, and passes
    /// what follows through unchanged: the page stays whole.
    #[error(
        "rewriting needed more than max_memory_bytes ({limit} bytes) of parser memory (a very long tag or very deep nesting); the rest of the page passes through unchanged"
    )]
    MemoryLimit {
        /// The limit.
        limit: usize,
    },
    /// The page has markup whose parsing context cannot be known in a stream (a text tag such as
    /// `<style>`, `<title>`, `<textarea>` or `<noscript>` inside `<select>`, or one after
    /// `<frameset>`), so `lol_html` refuses to go on. What a streaming
    /// [`Rewriter`](crate::Rewriter) held back is lost: the response must be failed. Conforming
    /// HTML never causes it.
    #[error("the page has markup that cannot be parsed safely in a stream: {detail}")]
    AmbiguousMarkup {
        /// `lol_html`'s explanation.
        detail: String,
    },
    /// The streaming [`Rewriter`](crate::Rewriter) was given more input after an
    /// [`RewriteError::AmbiguousMarkup`] error.
    #[error("rewriting already stopped at an earlier error ({0}); fail the response")]
    Stopped(Box<RewriteError>),
    /// `lol_html` reported an error this crate's handlers never cause.
    #[error("lol_html failed unexpectedly: {detail}")]
    Internal {
        /// `lol_html`'s message.
        detail: String,
    },
}

impl RewriteError {
    /// Whether the output so far plus the rest of the input, unchanged, is the whole page (the
    /// streaming [`Rewriter`](crate::Rewriter) passes the rest through by itself).
    #[must_use]
    pub const fn page_is_whole(&self) -> bool {
        matches!(self, RewriteError::MemoryLimit { .. })
    }

    pub(crate) fn from_lol_html(error: &RewritingError, limit: usize) -> Self {
        match error {
            RewritingError::MemoryLimitExceeded(_) => RewriteError::MemoryLimit { limit },
            RewritingError::ParsingAmbiguity(ambiguity) => {
                RewriteError::AmbiguousMarkup { detail: ambiguity.to_string() }
            }
            other => RewriteError::Internal { detail: other.to_string() },
        }
    }
}
