//! # edgecdp-core
//!
//! The engine of edgecdp, an open, self-hostable real-time customer data platform whose engine
//! runs at the edge. This crate holds every rule of the domain; hosts (the browser through
//! `edgecdp-wasm`, the Cloudflare Worker, the native origin) only move bytes, keep state, read
//! the clock and randomness, and call it.
//!
//! It is pure: no I/O, no clock, no ambient randomness (enforced by `clippy.toml`), no unsafe
//! code and no panics on any input. What it offers:
//!
//! - [`edge`]: the edge pipeline, `handle(request, now, entropy) → response + sync records`,
//!   speaking the Adobe Experience Edge protocol ([`protocol`]).
//! - [`xdm`]: the XDM ExperienceEvent model with validation against typed [`limits`], errors
//!   naming each field ([`field`]).
//! - [`identity`]: ECID minting and the signed `kndctr_{org}_identity` cookie.
//! - [`consent`]: consent standards to `general=in|out`.
//! - [`snapshot`]: the versioned definitions (datastreams) every edge serves from.
//! - [`profile`]: per-source fragments (CRDTs), merge policies, source-row mapping.
//! - [`segment`]: PQL segments compiled to bounded per-profile state, evaluated per event.
//! - [`decide`]: activities and offers, decided per request into Adobe-format propositions.
//! - [`sync`]: the msgpack edge → origin batch envelope and request signatures.
//!
//! ```
//! use edgecdp_core::edge::{handle, EdgeEnv, Entropy, HttpRequest};
//! use edgecdp_core::identity::CookieKeys;
//! use edgecdp_core::snapshot::{DatastreamConfig, Snapshot, SnapshotConfig};
//! use edgecdp_core::time::Timestamp;
//!
//! let config = SnapshotConfig {
//!     datastreams: vec![DatastreamConfig {
//!         id: "ds-luma".into(),
//!         org_id: "LUMA123@AdobeOrg".into(),
//!         allowed_origins: vec!["https://www.luma.test".into()],
//!         accept_unsigned_ecid: false,
//!         default_consent: Default::default(),
//!     }],
//!     ..Default::default()
//! };
//! let (snapshot, warnings) = Snapshot::build(&config, 1);
//! assert!(warnings.is_empty());
//! let keys = CookieKeys::new(b"a secret from the host's configuration".to_vec(), vec![]);
//! let env = EdgeEnv { snapshot: &snapshot, cookie_keys: &keys };
//! let request = HttpRequest {
//!     method: "POST",
//!     path: "/ee/v1/interact",
//!     query: "configId=ds-luma&requestId=r-1",
//!     origin: Some("https://www.luma.test"),
//!     cookie: None,
//!     body: br#"{"events":[{"xdm":{"eventType":"web.webpagedetails.pageViews"}}]}"#,
//! };
//! let outcome = handle(&env, &request, Timestamp(1_790_000_000_000), &Entropy([7; 32]));
//! assert_eq!(outcome.response.status, 200);
//! assert_eq!(outcome.records.len(), 2); // the page view and the web profile update, for the origin
//! ```

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod codec;
pub mod consent;
pub mod decide;
#[cfg(feature = "json")]
pub mod edge;
pub mod field;
pub mod identity;
pub mod limits;
pub mod mac;
pub mod map;
pub mod profile;
pub mod protocol;
pub mod segment;
pub mod snapshot;
pub mod sync;
pub mod time;
pub mod value;
pub mod xdm;

/// The errors of every module, in one place.
pub mod errors {
    #[cfg(feature = "json")]
    pub use crate::edge::EdgeError;
    pub use crate::field::FieldError;
    pub use crate::identity::IdentityError;
    #[cfg(feature = "msgpack")]
    pub use crate::snapshot::SnapshotDecodeError;
    pub use crate::snapshot::SnapshotWarning;
    pub use crate::sync::SyncError;
    pub use crate::time::TimestampError;
}

/// This crate's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The version of the shared test vectors (`tests/spec/`) this build implements.
pub const SPEC_VERSION: u32 = 1;
