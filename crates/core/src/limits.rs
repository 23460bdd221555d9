//! Typed limits on what the edge accepts.
//!
//! Each limit has a documented default taken from the reference systems' published guardrails
//! (Adobe Experience Platform: 10 KB per ExperienceEvent, 64 KB per Edge Network request, 20
//! identities per XDM record, 1,024 characters per identity value). Exceeding one is always a
//! dedicated error naming the field and the limit, never a silent truncation.

use serde::{Deserialize, Serialize};

/// Limits applied while parsing and validating requests and events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body, in bytes (default 64 KiB, Adobe's Edge Network limit).
    pub max_request_bytes: usize,
    /// Largest event (`xdm` plus `data`), in bytes of its compact JSON encoding (default 10 KiB,
    /// Adobe's hard limit per ExperienceEvent).
    pub max_event_bytes: usize,
    /// Most events in one request (default 50; browsers send one, server-side batchers more).
    pub max_events_per_request: usize,
    /// Most identities in one event's `identityMap`, summed over namespaces (default 20).
    pub max_identities_per_event: usize,
    /// Deepest nesting of objects and arrays in a request body, counted from the body itself
    /// (default 32).
    pub max_depth: usize,
    /// Most elements in any one array of an event (default 500, Adobe's array cardinality per
    /// profile fragment).
    pub max_array_items: usize,
    /// Longest identity value, in characters (default 1,024).
    pub max_identity_len: usize,
    /// Longest namespace code in an `identityMap` (default 64).
    pub max_namespace_len: usize,
}

impl Limits {
    /// The defaults listed on each field.
    #[must_use]
    pub const fn new() -> Self {
        Limits {
            max_request_bytes: 64 * 1024,
            max_event_bytes: 10 * 1024,
            max_events_per_request: 50,
            max_identities_per_event: 20,
            max_depth: 32,
            max_array_items: 500,
            max_identity_len: 1024,
            max_namespace_len: 64,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::new()
    }
}
