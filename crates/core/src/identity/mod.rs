//! Identities: the ECID (Experience Cloud ID) and the identity cookie that carries it.
//!
//! - [`Ecid`]: 38 decimal digits, minted at the edge from 16 bytes of host entropy.
//! - [`cookie`]: the `kndctr_{org}_identity` cookie, base64 of a protobuf whose field 1 is the
//!   ECID (what the Adobe Web SDK decodes) and whose field 15 is our HMAC, so a forged or
//!   tampered cookie is recognised and replaced instead of trusted.

pub mod cookie;
mod ecid;

pub use cookie::{CookieKeys, DecodedIdentityCookie};
pub use ecid::Ecid;

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
            IdentityError::CookieNotBase64 => "cookie_not_base64",
            IdentityError::CookieNotProtobuf { .. } => "cookie_not_protobuf",
            IdentityError::CookieWithoutEcid => "cookie_without_ecid",
            IdentityError::CookieUnsigned => "cookie_unsigned",
            IdentityError::CookieSignatureMismatch => "cookie_signature_mismatch",
        }
    }
}
