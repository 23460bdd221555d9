//! Identities: the ECID (Experience Cloud ID) and the identity cookie that carries it.
//!
//! - [`Ecid`]: 38 decimal digits, minted at the edge from 16 bytes of host entropy.
//! - [`cookie`]: the `kndctr_{org}_identity` cookie, base64 of a protobuf whose field 1 is the
//!   ECID (what the Adobe Web SDK decodes) and whose field 15 is our HMAC, so a forged or
//!   tampered cookie is recognised and replaced instead of trusted.

pub mod cookie;
mod ecid;
pub mod graph;
pub mod namespace;
pub mod resolve;
pub mod simulate;

pub use cookie::{CookieKeys, DecodedIdentityCookie};
pub use ecid::Ecid;
pub use graph::{IdentityKey, LinkRecord};
pub use namespace::{NamespaceConfig, NamespaceKind, Namespaces};

/// Problems with an identity value or an identity cookie.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// An ECID that is not exactly 38 decimal digits.
    #[error("expected an ECID of exactly 38 decimal digits, found {found}")]
    InvalidEcid {
        /// The value given, quoted and cut.
        found: String,
    },
    /// The namespace is not declared (built in or in configuration).
    #[error("the namespace {code} is not declared; declare it under [identity] namespaces in the configuration")]
    UnknownNamespace {
        /// The code given, quoted.
        code: String,
    },
    /// A placeholder value ("", "null", "anonymous", "invalid").
    #[error("{found} is a placeholder, not an identity (blocked values: \"\", \"null\", \"anonymous\", \"invalid\")")]
    BlockedValue {
        /// The value given, quoted.
        found: String,
    },
    /// The value is longer than allowed.
    #[error("the identity value is {len} characters long, over the limit of {limit}")]
    TooLong {
        /// Its length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// Not an email address.
    #[error("expected an email address (local@domain), found {found}")]
    InvalidEmail {
        /// The value given, quoted.
        found: String,
    },
    /// Not a phone number that normalizes to E.164.
    #[error("expected a phone number in E.164 form (+ country code and number, 8 to 15 digits), found {found}")]
    InvalidPhone {
        /// The value given, quoted.
        found: String,
    },
    /// Not a SHA-256 digest.
    #[error("expected a SHA-256 digest (64 hex digits), found {found}")]
    InvalidHash {
        /// The value given, quoted.
        found: String,
    },
    /// The identity cookie is not base64.
    #[error("the identity cookie is not base64")]
    CookieNotBase64,
    /// The identity cookie's bytes are not a protobuf message.
    #[error("the identity cookie is not a protobuf message: {reason}")]
    CookieNotProtobuf {
        /// What was wrong, as a phrase.
        reason: &'static str,
    },
    /// The identity cookie has no ECID in field 1.
    #[error("the identity cookie has no ECID (protobuf field 1)")]
    CookieWithoutEcid,
    /// The identity cookie carries no signature (it was not issued by this edge).
    #[error("the identity cookie is not signed by this edge")]
    CookieUnsigned,
    /// The identity cookie's signature does not match its content: it was forged or altered.
    #[error("the identity cookie's signature does not match: the cookie was forged or altered")]
    CookieSignatureMismatch,
}

impl IdentityError {
    /// A stable machine-readable name of the problem (used by the bindings and test vectors).
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            IdentityError::InvalidEcid { .. } => "invalid_ecid",
            IdentityError::UnknownNamespace { .. } => "unknown_namespace",
            IdentityError::BlockedValue { .. } => "blocked_value",
            IdentityError::TooLong { .. } => "too_long",
            IdentityError::InvalidEmail { .. } => "invalid_email",
            IdentityError::InvalidPhone { .. } => "invalid_phone",
            IdentityError::InvalidHash { .. } => "invalid_hash",
            IdentityError::CookieNotBase64 => "cookie_not_base64",
            IdentityError::CookieNotProtobuf { .. } => "cookie_not_protobuf",
            IdentityError::CookieWithoutEcid => "cookie_without_ecid",
            IdentityError::CookieUnsigned => "cookie_unsigned",
            IdentityError::CookieSignatureMismatch => "cookie_signature_mismatch",
        }
    }
}
