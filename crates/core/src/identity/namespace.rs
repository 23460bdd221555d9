//! Identity namespaces: what kind of identity each is, how it ranks, and how its values are
//! normalized before anything compares them.
//!
//! | code | kind | priority | unique | normalization |
//! |---|---|---|---|---|
//! | `CRMID` | person | 10 | yes | trimmed |
//! | `Email` | person | 20 | no | trimmed, ASCII letters lower-cased, must look like an address |
//! | `Email_LC_SHA256` | person | 30 | no | 64 hex digits, lower-cased |
//! | `LoyaltyID` | person | 40 | no | trimmed |
//! | `Phone` | person | 50 | no | E.164: `+` and 8–15 digits (separators and a `00` prefix accepted) |
//! | `ECID` | cookie | 100 | no | exactly 38 digits |
//!
//! A lower priority number ranks higher: it names a person's graph and is evicted last. Kinds
//! decide eviction order when a graph is full (cookies first, then devices, then person
//! identities) and how devices link ("last authenticated user"). Operators add namespaces or
//! redefine these in configuration; values of a namespace nobody declared are refused.

use serde::{Deserialize, Serialize};

use super::{Ecid, IdentityError};
use crate::field::quote;

/// What an identity stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NamespaceKind {
    /// A browser cookie id (ECID): many per person, short-lived, evicted first.
    Cookie,
    /// A device id (an app install, a set-top box): belongs to one person at a time.
    Device,
    /// Identifies a person across devices (CRM id, email, phone, loyalty number).
    Person,
}

impl NamespaceKind {
    /// Whether identities of this kind follow a person from device to device.
    #[must_use]
    pub const fn is_person(self) -> bool {
        matches!(self, NamespaceKind::Person)
    }
}

/// How a namespace's values are normalized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Normalization {
    /// Surrounding whitespace removed.
    #[default]
    Trim,
    /// Trimmed, ASCII letters lower-cased (other characters kept as given, so every host, the
    /// browser included, normalizes the same way without Unicode case tables), and checked to
    /// look like `local@domain`.
    Email,
    /// E.164: `+` followed by 8–15 digits; spaces, dots, dashes, parentheses and a `00` prefix
    /// are accepted on input.
    Phone,
    /// A SHA-256 digest: 64 hex digits, lower-cased.
    Sha256Hex,
    /// An ECID: exactly 38 decimal digits.
    Ecid,
}

/// One namespace, as configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamespaceConfig {
    /// The code used in `identityMap` (`CRMID`).
    pub code: String,
    /// What the identity stands for.
    pub kind: NamespaceKind,
    /// Rank: lower is more important (names the graph, evicted last).
    pub priority: u16,
    /// At most one identity of this namespace per graph: a newer link that would add a second
    /// one wins and older links are dropped.
    #[serde(default)]
    pub unique: bool,
    /// How values are normalized.
    #[serde(default)]
    pub normalize: Normalization,
}

/// Values no namespace accepts (Adobe's blocked list): they are placeholders, not identities.
pub const BLOCKED_VALUES: [&str; 4] = ["", "null", "anonymous", "invalid"];

/// Longest identity value, in characters.
pub const MAX_ID_LEN: usize = 1024;

/// The namespaces a deployment knows, by code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Namespaces {
    /// Sorted by code.
    list: Vec<NamespaceConfig>,
}

fn ns(code: &str, kind: NamespaceKind, priority: u16, unique: bool, normalize: Normalization) -> NamespaceConfig {
    NamespaceConfig { code: code.into(), kind, priority, unique, normalize }
}

impl Default for Namespaces {
    fn default() -> Self {
        Namespaces::defaults()
    }
}

impl Namespaces {
    /// The built-in namespaces (table in the module documentation).
    #[must_use]
    pub fn defaults() -> Namespaces {
        use NamespaceKind::{Cookie, Person};
        let mut list = vec![
            ns("CRMID", Person, 10, true, Normalization::Trim),
            ns("Email", Person, 20, false, Normalization::Email),
            ns("Email_LC_SHA256", Person, 30, false, Normalization::Sha256Hex),
            ns("LoyaltyID", Person, 40, false, Normalization::Trim),
            ns("Phone", Person, 50, false, Normalization::Phone),
            ns(Ecid::NAMESPACE, Cookie, 100, false, Normalization::Ecid),
        ];
        list.sort_by(|a, b| a.code.cmp(&b.code));
        Namespaces { list }
    }

    /// The defaults with `custom` added; a custom namespace with a built-in code replaces it
    /// (ECID stays a 38-digit cookie id whatever is configured).
    #[must_use]
    pub fn with(custom: &[NamespaceConfig]) -> Namespaces {
        let mut list = Namespaces::defaults().list;
        for c in custom {
            if c.code == Ecid::NAMESPACE {
                continue;
            }
            match list.binary_search_by(|n| n.code.as_str().cmp(&c.code)) {
                Ok(i) => list[i] = c.clone(),
                Err(i) => list.insert(i, c.clone()),
            }
        }
        Namespaces { list }
    }

    /// The namespace with this code.
    #[must_use]
    pub fn get(&self, code: &str) -> Option<&NamespaceConfig> {
        self.list.binary_search_by(|n| n.code.as_str().cmp(code)).ok().map(|i| &self.list[i])
    }

    /// Every namespace, by code.
    pub fn iter(&self) -> impl Iterator<Item = &NamespaceConfig> {
        self.list.iter()
    }

    /// The kind of `code` (unknown codes count as person identities).
    #[must_use]
    pub fn kind(&self, code: &str) -> NamespaceKind {
        self.get(code).map_or(NamespaceKind::Person, |n| n.kind)
    }

    /// The priority of `code` (unknown codes rank last).
    #[must_use]
    pub fn priority(&self, code: &str) -> u16 {
        self.get(code).map_or(u16::MAX, |n| n.priority)
    }

    /// Whether `code` is unique per graph.
    #[must_use]
    pub fn is_unique(&self, code: &str) -> bool {
        self.get(code).is_some_and(|n| n.unique)
    }

    /// Checks and normalizes a value of namespace `code`.
    ///
    /// # Errors
    /// [`IdentityError`] naming what is wrong: an undeclared namespace, a blocked or too long
    /// value, or a value that is not of the namespace's form.
    pub fn normalize(&self, code: &str, id: &str) -> Result<String, IdentityError> {
        let Some(ns) = self.get(code) else {
            return Err(IdentityError::UnknownNamespace { code: quote(code) });
        };
        let len = id.chars().count();
        if len > MAX_ID_LEN {
            return Err(IdentityError::TooLong { len, limit: MAX_ID_LEN });
        }
        let trimmed = id.trim();
        if BLOCKED_VALUES.iter().any(|b| trimmed.eq_ignore_ascii_case(b)) {
            return Err(IdentityError::BlockedValue { found: quote(id) });
        }
        match ns.normalize {
            Normalization::Trim => Ok(trimmed.to_owned()),
            Normalization::Ecid => Ecid::parse(trimmed).map(String::from),
            Normalization::Email => normalize_email(trimmed),
            Normalization::Phone => normalize_phone(trimmed),
            Normalization::Sha256Hex => {
                if trimmed.len() == 64 && trimmed.bytes().all(|b| b.is_ascii_hexdigit()) {
                    Ok(trimmed.to_ascii_lowercase())
                } else {
                    Err(IdentityError::InvalidHash { found: quote(id) })
                }
            }
        }
    }
}

fn normalize_email(s: &str) -> Result<String, IdentityError> {
    let lower = s.to_ascii_lowercase();
    let ok = match lower.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !lower.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if ok { Ok(lower) } else { Err(IdentityError::InvalidEmail { found: quote(s) }) }
}

fn normalize_phone(s: &str) -> Result<String, IdentityError> {
    let compact: String = s.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')')).collect();
    let digits = compact
        .strip_prefix('+')
        .or_else(|| compact.strip_prefix("00"))
        .filter(|d| (8..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0'));
    match digits {
        Some(d) => Ok(format!("+{d}")),
        None => Err(IdentityError::InvalidPhone { found: quote(s) }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_each_built_in_namespace() {
        let n = Namespaces::defaults();
        assert_eq!(n.normalize("Email", "  Sarah.Rose@Example.COM ").unwrap(), "sarah.rose@example.com");
        assert_eq!(n.normalize("Phone", "+1 (415) 555-0100").unwrap(), "+14155550100");
        assert_eq!(n.normalize("Phone", "0044 20 7946 0958").unwrap(), "+442079460958");
        assert_eq!(n.normalize("Email_LC_SHA256", &"AB".repeat(32)).unwrap(), "ab".repeat(32));
        assert_eq!(n.normalize("CRMID", " crm-1042 ").unwrap(), "crm-1042");
        assert!(n.normalize("ECID", "12").is_err());
    }

    #[test]
    fn refuses_with_the_reason() {
        let n = Namespaces::defaults();
        assert!(matches!(n.normalize("Twitter", "x"), Err(IdentityError::UnknownNamespace { .. })));
        for blocked in ["", "  ", "null", "NULL", "anonymous", "Invalid"] {
            assert!(matches!(n.normalize("CRMID", blocked), Err(IdentityError::BlockedValue { .. })), "{blocked:?}");
        }
        assert!(matches!(n.normalize("CRMID", &"x".repeat(1025)), Err(IdentityError::TooLong { len: 1025, .. })));
        for bad in ["sarah", "@example.com", "sarah@", "a@b@c", "sarah rose@example.com", "a@.com"] {
            assert!(matches!(n.normalize("Email", bad), Err(IdentityError::InvalidEmail { .. })), "{bad}");
        }
        for bad in ["4155550100", "+1234", "+01234567890", "+1 415 555 01OO", "+1234567890123456"] {
            assert!(matches!(n.normalize("Phone", bad), Err(IdentityError::InvalidPhone { .. })), "{bad}");
        }
        assert!(matches!(n.normalize("Email_LC_SHA256", "abc"), Err(IdentityError::InvalidHash { .. })));
    }

    #[test]
    fn custom_namespaces_add_or_replace() {
        let n = Namespaces::with(&[
            ns("AppDevice", NamespaceKind::Device, 80, false, Normalization::Trim),
            ns("Email", NamespaceKind::Person, 15, true, Normalization::Email),
            ns("ECID", NamespaceKind::Person, 1, true, Normalization::Trim),
        ]);
        assert_eq!(n.kind("AppDevice"), NamespaceKind::Device);
        assert!(n.is_unique("Email"));
        assert_eq!(n.priority("Email"), 15);
        assert_eq!(n.kind("ECID"), NamespaceKind::Cookie, "ECID cannot be redefined");
        assert!(n.normalize("AppDevice", "dev-1").is_ok());
    }
}
