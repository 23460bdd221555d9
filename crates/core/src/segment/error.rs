//! The segment module's errors: what went wrong in a definition, and where.
//!
//! Parse errors are produced by [`parser`](super::parser); compile errors (unknown fields, type
//! errors, ...) join this enum as the compiler grows. Every variant with a place in the source
//! reports it through [`SegmentError::position`].

/// Why a segment definition was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SegmentError {
    /// The text is not PQL: at `line:column` the parser wanted `expected` and read `found`.
    ///
    /// Renders as `expected ')' at 1:34, found "and"`.
    #[error("expected {expected} at {line}:{column}, found {found}")]
    Parse {
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// What the parser wanted there: `')'`, "a step label such as `A:`", "an expression".
        expected: String,
        /// What it read: a quoted token (`"and"`), `the string "…"`, or `the end of the text`.
        found: String,
    },
    /// The definition nests deeper than the parser allows (parentheses, calls, filters, `not`s,
    /// arrays, ... count as one level each), which keeps parsing within a bounded stack.
    #[error("the definition nests more than {limit} levels deep at {line}:{column}; flatten it")]
    TooDeep {
        /// 1-based line of the construct that went one level too deep.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// The limit ([`MAX_NESTING`](super::parser::MAX_NESTING)).
        limit: usize,
    },
    /// A number that does not fit where it is written: an integer beyond 64 bits, a month of
    /// 13, a `COUNT(-1)`, a float that overflows to infinity.
    #[error("the {what} {value} at {line}:{column} is out of range: it must be {allowed}")]
    OutOfRange {
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// What the number is (`integer`, `month`, `step count`, ...).
        what: String,
        /// The number as written.
        value: String,
        /// The allowed range, as words (`1 to 12`).
        allowed: String,
    },
}

impl SegmentError {
    /// The 1-based `(line, column)` the error points at, if it has a place in the source.
    #[must_use]
    pub fn position(&self) -> Option<(usize, usize)> {
        match self {
            SegmentError::Parse { line, column, .. }
            | SegmentError::TooDeep { line, column, .. }
            | SegmentError::OutOfRange { line, column, .. } => Some((*line, *column)),
        }
    }
}

/// The 1-based `(line, column)` of byte `offset` in `source`; columns count characters. An
/// offset past the end gives the position just after the text; one inside a character counts
/// that character as before it. Never panics.
#[must_use]
pub(crate) fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let mut line = 1;
    let mut column = 1;
    for (at, c) in source.char_indices() {
        if at >= offset {
            break;
        }
        if c == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters() {
        assert_eq!(line_col("", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("éé x", 5), (1, 4)); // two 2-byte characters and a space
        assert_eq!(line_col("é", 1), (1, 2)); // inside a character: no panic
        assert_eq!(line_col("ab", 99), (1, 3));
    }

    #[test]
    fn parse_errors_render_as_the_brief_says() {
        let e = SegmentError::Parse { line: 1, column: 34, expected: "')'".into(), found: "\"and\"".into() };
        assert_eq!(e.to_string(), "expected ')' at 1:34, found \"and\"");
        assert_eq!(e.position(), Some((1, 34)));
    }
}
