//! Profiles: per-source fragments merged into one view of the customer.
//!
//! - [`fragment`]: what one dataset knows about one identity, a last-writer-wins map (a
//!   state-based CRDT: merge is commutative, associative and idempotent).
//! - [`merge`]: merge policies (timestamp-ordered, dataset precedence) and the merged view with
//!   the source of every value.
//! - [`mapping`]: source rows (CSV, JSON Lines) to identities and attributes, with auto-mapping
//!   of standard column names.
//! - [`web`]: the attributes the edge keeps from web events.

pub mod computed;
pub mod fragment;
pub mod mapping;
pub mod merge;
pub mod web;

pub use fragment::{Fragment, Register};
pub use merge::{MergePolicy, Merged, Sourced};

/// The dataset the edge writes web attributes to.
pub const WEB_DATASET: &str = "web";
