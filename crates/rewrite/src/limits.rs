//! Typed limits on one rewrite. Exceeding one is a dedicated error, never a silent truncation.

/// Bounds on what one page's rewrite may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest page [`rewrite`](crate::rewrite) accepts, in bytes (default 8 MiB). The streaming
    /// [`Rewriter`](crate::Rewriter) holds no whole page, so it does not apply there.
    pub max_page_bytes: usize,
    /// Largest page [`rewrite`](crate::rewrite) produces, in bytes (default 16 MiB): edits that
    /// insert HTML into many elements cannot make the output grow without bound.
    pub max_output_bytes: usize,
    /// Most memory `lol_html` may use for its buffers while rewriting one page, in bytes (default
    /// 1 MiB). They grow with a tag cut across input chunks and with the depth of open elements,
    /// not with the page's size. Also bounds the parsing of inserted HTML when it is marked.
    pub max_memory_bytes: usize,
    /// Most edits applied to one page (default 256); the edits after are reported
    /// [`UnsupportedReason::TooManyEdits`](crate::UnsupportedReason::TooManyEdits).
    pub max_edits: usize,
}

impl Limits {
    /// The defaults listed on each field.
    #[must_use]
    pub const fn new() -> Self {
        Limits {
            max_page_bytes: 8 * 1024 * 1024,
            max_output_bytes: 16 * 1024 * 1024,
            max_memory_bytes: 1024 * 1024,
            max_edits: 256,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::new()
    }
}
