//! PQL text → tokens.
//!
//! Words are not classified here: `and`, `WHEN` or `count` are keywords in some places and names
//! in others (`x.count()`, a field called `count`), so the parser decides. The lexer handles
//! strings (double or single quotes, escapes), numbers (a leading `-` belongs to the number:
//! PQL has no subtraction), `$1` parameters, operators and `--` comments (an extension, so that
//! definitions can carry notes; the printer drops them).
//!
//! The first bad character ends the token list with an [`Tok::Invalid`] carrying its error. The
//! parser only reports it if it gets that far, so an earlier syntax error wins.

use crate::segment::ast::Span;
use crate::segment::error::{SegmentError, line_col};

/// Punctuation and operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum P {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Colon,
    Caret,
    Bang,
    /// `=` or `==`.
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `=>`.
    Arrow,
}

/// A token's kind and value.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok<'a> {
    /// A word: `[A-Za-z_][A-Za-z0-9_]*`.
    Ident(&'a str),
    /// A string, unescaped.
    Str(String),
    /// An integer.
    Int(i64),
    /// A finite number with a fraction or an exponent.
    Float(f64),
    /// `$n`.
    Param(u32),
    /// Punctuation.
    Punct(P),
    /// The end of the text.
    Eof,
    /// A character or literal the lexer could not read; always the last token.
    Invalid(SegmentError),
}

/// A token and where it is.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token<'a> {
    pub(super) tok: Tok<'a>,
    pub(super) span: Span,
}

/// The tokens of `source`, then a last token that is [`Tok::Eof`] or [`Tok::Invalid`].
pub(super) fn lex(source: &str) -> (Vec<Token<'_>>, Token<'_>) {
    let mut lexer = Lexer { src: source, pos: 0 };
    let mut tokens = Vec::new();
    loop {
        match lexer.next_token() {
            Ok(Some(token)) => tokens.push(token),
            Ok(None) => {
                let end = Span::new(source.len(), source.len());
                return (tokens, Token { tok: Tok::Eof, span: end });
            }
            Err(error) => {
                let at = Span::new(lexer.pos, lexer.pos);
                return (tokens, Token { tok: Tok::Invalid(error), span: at });
            }
        }
    }
}

struct Lexer<'a> {
    src: &'a str,
    /// Always on a character boundary.
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn byte(&self, at: usize) -> Option<u8> {
        self.src.as_bytes().get(at).copied()
    }

    fn char_at(&self, at: usize) -> Option<char> {
        self.src.get(at..).and_then(|rest| rest.chars().next())
    }

    fn error(&self, at: usize, expected: &str, found: String) -> SegmentError {
        let (line, column) = line_col(self.src, at);
        SegmentError::Parse { line, column, expected: expected.into(), found }
    }

    fn out_of_range(&self, at: usize, what: &str, value: &str, allowed: &str) -> SegmentError {
        let (line, column) = line_col(self.src, at);
        SegmentError::OutOfRange { line, column, what: what.into(), value: value.into(), allowed: allowed.into() }
    }

    /// Skips whitespace and `--` comments.
    fn skip_trivia(&mut self) {
        while let Some(c) = self.char_at(self.pos) {
            if c.is_whitespace() {
                self.pos += c.len_utf8();
            } else if c == '-' && self.byte(self.pos + 1) == Some(b'-') {
                while let Some(c) = self.char_at(self.pos) {
                    if c == '\n' {
                        break;
                    }
                    self.pos += c.len_utf8();
                }
            } else {
                break;
            }
        }
    }

    fn next_token(&mut self) -> Result<Option<Token<'a>>, SegmentError> {
        self.skip_trivia();
        let start = self.pos;
        let Some(c) = self.char_at(start) else { return Ok(None) };
        let next = self.byte(start + 1);
        let tok = match c {
            'a'..='z' | 'A'..='Z' | '_' => {
                let mut end = start + 1;
                while let Some(b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_') = self.byte(end) {
                    end += 1;
                }
                self.pos = end;
                Tok::Ident(self.src.get(start..end).unwrap_or_default())
            }
            '0'..='9' => self.number(start)?,
            '-' if matches!(next, Some(b'0'..=b'9')) => self.number(start)?,
            '"' | '\'' => Tok::Str(self.string(start, c)?),
            '$' => {
                let mut end = start + 1;
                while let Some(b'0'..=b'9') = self.byte(end) {
                    end += 1;
                }
                let digits = self.src.get(start + 1..end).unwrap_or_default();
                if digits.is_empty() {
                    let found = self.found_char(start);
                    return Err(self.error(start, "a parameter number after '$' such as `$1`", found));
                }
                let n = digits
                    .parse::<u32>()
                    .map_err(|_| self.out_of_range(start, "parameter", &format!("${digits}"), "$0 to $4294967295"))?;
                self.pos = end;
                Tok::Param(n)
            }
            _ => {
                let (p, len) = match (c, next) {
                    ('=', Some(b'>')) => (P::Arrow, 2),
                    ('=', Some(b'=')) => (P::Eq, 2),
                    ('=', _) => (P::Eq, 1),
                    ('!', Some(b'=')) => (P::Ne, 2),
                    ('!', _) => (P::Bang, 1),
                    ('<', Some(b'=')) => (P::Le, 2),
                    ('<', _) => (P::Lt, 1),
                    ('>', Some(b'=')) => (P::Ge, 2),
                    ('>', _) => (P::Gt, 1),
                    ('(', _) => (P::LParen, 1),
                    (')', _) => (P::RParen, 1),
                    ('[', _) => (P::LBracket, 1),
                    (']', _) => (P::RBracket, 1),
                    (',', _) => (P::Comma, 1),
                    ('.', _) => (P::Dot, 1),
                    (':', _) => (P::Colon, 1),
                    ('^', _) => (P::Caret, 1),
                    _ => {
                        let found = self.found_char(start);
                        return Err(self.error(start, "a PQL token", found));
                    }
                };
                self.pos = start + len;
                Tok::Punct(p)
            }
        };
        Ok(Some(Token { tok, span: Span::new(start, self.pos) }))
    }

    fn found_char(&self, at: usize) -> String {
        self.char_at(at).map_or_else(|| "the end of the text".into(), |c| format!("{:?}", c.to_string()))
    }

    /// `-?digits(.digits)?([eE][+-]?digits)?`.
    fn number(&mut self, start: usize) -> Result<Tok<'a>, SegmentError> {
        let digits_from = |lexer: &Self, mut at: usize| {
            while let Some(b'0'..=b'9') = lexer.byte(at) {
                at += 1;
            }
            at
        };
        let mut end = digits_from(self, if self.byte(start) == Some(b'-') { start + 1 } else { start });
        let mut float = false;
        if self.byte(end) == Some(b'.') && matches!(self.byte(end + 1), Some(b'0'..=b'9')) {
            end = digits_from(self, end + 1);
            float = true;
        }
        if matches!(self.byte(end), Some(b'e' | b'E')) {
            let digits_at = if matches!(self.byte(end + 1), Some(b'+' | b'-')) { end + 2 } else { end + 1 };
            if matches!(self.byte(digits_at), Some(b'0'..=b'9')) {
                end = digits_from(self, digits_at);
                float = true;
            }
        }
        let text = self.src.get(start..end).unwrap_or_default();
        let tok = if float {
            match text.parse::<f64>() {
                Ok(x) if x.is_finite() => Tok::Float(x),
                _ => return Err(self.out_of_range(start, "number", text, "a finite 64-bit float")),
            }
        } else {
            match text.parse::<i64>() {
                Ok(n) => Tok::Int(n),
                Err(_) => {
                    let allowed = "from -9223372036854775808 to 9223372036854775807";
                    return Err(self.out_of_range(start, "integer", text, allowed));
                }
            }
        };
        self.pos = end;
        Ok(tok)
    }

    /// A string opened by `quote` at `start`.
    fn string(&mut self, start: usize, quote: char) -> Result<String, SegmentError> {
        let mut out = String::new();
        let mut at = start + 1;
        loop {
            let Some(c) = self.char_at(at) else {
                let (line, column) = line_col(self.src, start);
                let expected = format!("{quote:?} to close the string that starts at {line}:{column}");
                self.pos = self.src.len();
                return Err(self.error(self.src.len(), &expected, "the end of the text".into()));
            };
            at += c.len_utf8();
            if c == quote {
                break;
            }
            if c != '\\' {
                out.push(c);
                continue;
            }
            let escape_at = at - 1;
            let bad = |lexer: &Self, upto: usize| {
                let text = lexer.src.get(escape_at..upto).unwrap_or("\\");
                lexer.error(
                    escape_at,
                    "an escape such as `\\n`, `\\t`, `\\\"`, `\\'`, `\\\\`, `\\u00e9` or `\\u{1F600}`",
                    format!("{text:?}"),
                )
            };
            let Some(e) = self.char_at(at) else { return Err(bad(self, at)) };
            at += e.len_utf8();
            match e {
                '"' | '\'' | '\\' | '/' => out.push(e),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                '0' => out.push('\0'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'u' => {
                    let (c, next) = self.unicode_escape(at).ok_or_else(|| bad(self, at))?;
                    out.push(c);
                    at = next;
                }
                _ => return Err(bad(self, at)),
            }
        }
        self.pos = at;
        Ok(out)
    }

    /// After `\u` at `at`: `{1–6 hex}`, or `XXXX` (a surrogate pair as two `\uXXXX`).
    fn unicode_escape(&self, at: usize) -> Option<(char, usize)> {
        let hex = |from: usize, to: usize| {
            let text = self.src.get(from..to)?;
            if text.bytes().all(|b| b.is_ascii_hexdigit()) { u32::from_str_radix(text, 16).ok() } else { None }
        };
        if self.byte(at) == Some(b'{') {
            let close = (at + 2..=at + 7).find(|&i| self.byte(i) == Some(b'}'))?;
            return Some((char::from_u32(hex(at + 1, close)?)?, close + 1));
        }
        let unit = hex(at, at + 4)?;
        if (0xD800..0xDC00).contains(&unit) {
            if self.src.get(at + 4..at + 6)? != "\\u" {
                return None;
            }
            let low = hex(at + 6, at + 10)?;
            if !(0xDC00..0xE000).contains(&low) {
                return None;
            }
            let c = char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))?;
            return Some((c, at + 10));
        }
        Some((char::from_u32(unit)?, at + 4))
    }
}
