//! Field paths and the errors that name them.
//!
//! Validation walks a [`Value`] tree carrying a [`Path`] that costs nothing until an error needs
//! it rendered (`events[0].xdm.identityMap.Email[1].id`). Every problem found is a
//! [`FieldError`]; validators collect all of them rather than stopping at the first, so a
//! developer fixes a payload in one round trip.

use std::fmt;

use crate::value::{Map, Value};

/// A position in a JSON tree, built on the stack as validation descends.
#[derive(Debug, Clone, Copy)]
pub enum Path<'a> {
    /// The top of the tree, named (`"request"`, `"event"`).
    Root(&'a str),
    /// An object member.
    Key(&'a Path<'a>, &'a str),
    /// An array element.
    Index(&'a Path<'a>, usize),
}

impl<'a> Path<'a> {
    /// The path of member `key` below this one.
    #[must_use]
    pub fn key(&'a self, key: &'a str) -> Path<'a> {
        Path::Key(self, key)
    }

    /// The path of element `i` below this one.
    #[must_use]
    pub fn index(&'a self, i: usize) -> Path<'a> {
        Path::Index(self, i)
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root(name) => f.write_str(name),
            Path::Key(parent, key) => {
                let top = matches!(parent, Path::Root(""));
                if !top {
                    write!(f, "{parent}")?;
                }
                if key.is_empty() || !key.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '@') {
                    write!(f, "[{key:?}]")
                } else if top {
                    f.write_str(key)
                } else {
                    write!(f, ".{key}")
                }
            }
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

/// One problem with one field of a payload. Its message is a sentence that starts with the
/// field's path.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FieldError {
    /// The field has the wrong JSON type.
    #[error("{}: expected {expected}, found {found}", shown(path))]
    WrongType {
        /// Where.
        path: String,
        /// The type wanted ("a string").
        expected: &'static str,
        /// The type given ("an array").
        found: &'static str,
    },
    /// A required field is absent.
    #[error("{}: is required", shown(path))]
    Missing {
        /// Where.
        path: String,
    },
    /// The field has the right type but a value outside what is allowed.
    #[error("{}: expected {expected}, found {found}", shown(path))]
    InvalidValue {
        /// Where.
        path: String,
        /// What is allowed, as a phrase ("one of ambiguous, authenticated, loggedOut").
        expected: String,
        /// What was given, quoted and cut to 64 characters.
        found: String,
    },
    /// An event is larger than [`Limits::max_event_bytes`](crate::limits::Limits).
    #[error("{}: is {bytes} bytes, over the limit of {limit} bytes for an event", shown(path))]
    EventTooLarge {
        /// The event.
        path: String,
        /// Its size as compact JSON.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// An array has more elements than allowed.
    #[error("{}: has {len} items, over the limit of {limit}", shown(path))]
    TooManyItems {
        /// The array.
        path: String,
        /// Its length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// An `identityMap` holds more identities than allowed.
    #[error("{}: has {count} identities, over the limit of {limit}", shown(path))]
    TooManyIdentities {
        /// The identity map.
        path: String,
        /// Identities counted over all namespaces.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A string is longer than allowed.
    #[error("{}: is {len} characters long, over the limit of {limit}", shown(path))]
    TooLong {
        /// Where.
        path: String,
        /// Its length in characters.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// An identity value is refused (unknown namespace, blocked value, wrong form).
    #[error("{}: {source}", shown(path))]
    Identity {
        /// Where.
        path: String,
        /// Why.
        source: crate::identity::IdentityError,
    },
    /// Nesting below this field is deeper than allowed.
    #[error("{}: nesting is {depth} levels deep, over the limit of {limit}", shown(path))]
    TooDeep {
        /// Where the limit was crossed.
        path: String,
        /// How deep the value nests, counted from the request body.
        depth: usize,
        /// The limit.
        limit: usize,
    },
}

impl FieldError {
    /// The path of the offending field.
    #[must_use]
    pub fn path(&self) -> &str {
        match self {
            FieldError::WrongType { path, .. }
            | FieldError::Missing { path }
            | FieldError::InvalidValue { path, .. }
            | FieldError::EventTooLarge { path, .. }
            | FieldError::TooManyItems { path, .. }
            | FieldError::TooManyIdentities { path, .. }
            | FieldError::TooLong { path, .. }
            | FieldError::Identity { path, .. }
            | FieldError::TooDeep { path, .. } => path,
        }
    }

    /// A stable machine-readable name of the kind of problem.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            FieldError::WrongType { .. } => "wrong_type",
            FieldError::Missing { .. } => "missing",
            FieldError::InvalidValue { .. } => "invalid_value",
            FieldError::EventTooLarge { .. } => "event_too_large",
            FieldError::TooManyItems { .. } => "too_many_items",
            FieldError::TooManyIdentities { .. } => "too_many_identities",
            FieldError::TooLong { .. } => "too_long",
            FieldError::TooDeep { .. } => "too_deep",
            FieldError::Identity { source, .. } => source.code(),
        }
    }
}

/// A path for a message: the empty path (the value itself) reads "the event".
fn shown(path: &str) -> &str {
    if path.is_empty() { "the event" } else { path }
}

/// Quotes a user-supplied value for an error message, cut so errors stay small.
#[must_use]
pub fn quote(s: &str) -> String {
    const MAX: usize = 64;
    if s.chars().count() <= MAX {
        format!("{s:?}")
    } else {
        let cut: String = s.chars().take(MAX).collect();
        format!("{cut:?}…")
    }
}

/// Collects field errors while reading typed values out of a [`Value`] tree.
#[derive(Debug, Default)]
pub struct Errors {
    errors: Vec<FieldError>,
}

impl Errors {
    /// No errors yet.
    #[must_use]
    pub fn new() -> Self {
        Errors::default()
    }

    /// Records an error.
    pub fn push(&mut self, e: FieldError) {
        self.errors.push(e);
    }

    /// Whether nothing was recorded.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// The errors recorded, in the order found.
    #[must_use]
    pub fn into_vec(self) -> Vec<FieldError> {
        self.errors
    }

    /// `Ok(value)` if nothing was recorded, else every error.
    ///
    /// # Errors
    /// The recorded errors, when there are any.
    pub fn finish<T>(self, value: T) -> Result<T, Vec<FieldError>> {
        if self.errors.is_empty() { Ok(value) } else { Err(self.errors) }
    }

    /// Records that `found` is not of the `expected` type.
    pub fn wrong_type(&mut self, path: &Path<'_>, expected: &'static str, found: &Value) {
        self.push(FieldError::WrongType { path: path.to_string(), expected, found: found.kind() });
    }

    /// Takes an optional string member (absent and `null` are `None`).
    pub fn take_str(&mut self, map: &mut Map, key: &str, path: &Path<'_>) -> Option<String> {
        match map.remove(key)? {
            Value::Null => None,
            Value::String(s) => Some(s),
            other => {
                self.wrong_type(&path.key(key), "a string", &other);
                None
            }
        }
    }

    /// Takes an optional boolean member.
    pub fn take_bool(&mut self, map: &mut Map, key: &str, path: &Path<'_>) -> Option<bool> {
        match map.remove(key)? {
            Value::Null => None,
            Value::Bool(b) => Some(b),
            other => {
                self.wrong_type(&path.key(key), "a boolean", &other);
                None
            }
        }
    }

    /// Takes an optional finite number member.
    pub fn take_f64(&mut self, map: &mut Map, key: &str, path: &Path<'_>) -> Option<f64> {
        match map.remove(key)? {
            Value::Null => None,
            Value::Number(n) if n.is_finite() => Some(n.as_f64()),
            Value::Number(_) => {
                self.push(FieldError::InvalidValue {
                    path: path.key(key).to_string(),
                    expected: "a finite number".into(),
                    found: "NaN or infinity".into(),
                });
                None
            }
            other => {
                self.wrong_type(&path.key(key), "a number", &other);
                None
            }
        }
    }

    /// Takes an optional integer member (a JavaScript double with no fraction counts).
    pub fn take_i64(&mut self, map: &mut Map, key: &str, path: &Path<'_>) -> Option<i64> {
        match map.remove(key)? {
            Value::Null => None,
            Value::Number(n) => match n.as_i64() {
                Some(i) => Some(i),
                None => {
                    self.push(FieldError::InvalidValue {
                        path: path.key(key).to_string(),
                        expected: "an integer".into(),
                        // Described, not printed: formatting floats would cost the browser
                        // core ~20 KB of code.
                        found: "a number with a fraction".into(),
                    });
                    None
                }
            },
            other => {
                self.wrong_type(&path.key(key), "an integer", &other);
                None
            }
        }
    }

    /// Takes an optional object member.
    pub fn take_object(&mut self, map: &mut Map, key: &str, path: &Path<'_>) -> Option<Map> {
        match map.remove(key)? {
            Value::Null => None,
            Value::Object(m) => Some(m),
            other => {
                self.wrong_type(&path.key(key), "an object", &other);
                None
            }
        }
    }

    /// Takes an optional array member.
    pub fn take_array(&mut self, map: &mut Map, key: &str, path: &Path<'_>) -> Option<Vec<Value>> {
        match map.remove(key)? {
            Value::Null => None,
            Value::Array(a) => Some(a),
            other => {
                self.wrong_type(&path.key(key), "an array", &other);
                None
            }
        }
    }

    /// Requires `value` to be an object.
    pub fn object(&mut self, value: Value, path: &Path<'_>) -> Option<Map> {
        match value {
            Value::Object(m) => Some(m),
            other => {
                self.wrong_type(path, "an object", &other);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_render_like_javascript_accessors() {
        let root = Path::Root("events");
        let i = root.index(0);
        let xdm = i.key("xdm");
        let im = xdm.key("identityMap");
        let ns = im.key("Email");
        let first = ns.index(1);
        let id = first.key("id");
        assert_eq!(id.to_string(), "events[0].xdm.identityMap.Email[1].id");
        let odd = xdm.key("a.b");
        assert_eq!(odd.to_string(), "events[0].xdm[\"a.b\"]");
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let q = quote(&"x".repeat(100));
        assert!(q.len() < 80 && q.ends_with('…'));
    }
}
