//! The edge → origin sync envelope and the signature on edge ⇄ origin calls.
//!
//! An edge ships what it accepted (events, consent changes, and later identity links and
//! profile deltas) in [`SyncBatch`]es: msgpack with field names (so older and newer peers can
//! read each other), versioned, and identified by a batch id so that the origin applies a
//! batch at most once however often it is delivered.
//!
//! Every edge ⇄ origin call is signed with a shared secret: [`sign`] gives the
//! `x-edgecdp-signature` header over the method, path, timestamp and body hash, and [`verify`]
//! checks it within a clock-skew window.

use serde::{Deserialize, Serialize};

use crate::codec::{hex, unhex};
use crate::consent::Consent;
use crate::identity::Ecid;
use crate::mac::{constant_time_eq, hmac_sha256, sha256};
use crate::time::Timestamp;
use crate::value::Value;

/// The envelope version this build writes and reads.
pub const SYNC_VERSION: u16 = 1;

/// Header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-edgecdp-signature";
/// Header carrying the signing time (milliseconds since the epoch).
pub const TIMESTAMP_HEADER: &str = "x-edgecdp-timestamp";
/// How far a signing time may be from the verifier's clock (5 minutes).
pub const MAX_SKEW_MS: i64 = 5 * 60 * 1000;

/// A batch of changes from one edge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncBatch {
    /// Envelope version ([`SYNC_VERSION`]).
    pub v: u16,
    /// Unique id: the origin applies a batch id once.
    pub batch_id: String,
    /// Which edge sent it (for logs).
    pub source: String,
    /// When the edge made it.
    pub created_at: Timestamp,
    /// The changes, in the order they happened.
    pub records: Vec<SyncRecord>,
}

/// One change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncRecord {
    /// Events accepted for one visitor.
    Events(CollectedEvents),
    /// A visitor set their consent.
    Consent(ConsentChange),
    /// Identities seen together (from events that link, or from a source).
    Links(IdentityLinks),
    /// Profile attributes written (merged into the stored fragments, a CRDT join).
    Fragments(FragmentUpdates),
    /// Events keyed by a person's identity rather than a browser (imported history).
    IdentifiedEvents(IdentifiedEvents),
    /// Segment entries and exits an edge decided for one profile.
    Memberships(MembershipChanges),
}

/// Segment entries and exits an edge decided for one profile (for the origin's log and for
/// activation; the origin also decides them itself from the same events).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MembershipChanges {
    /// The profile's key (the person's, or the visitor's ECID while anonymous).
    pub profile: crate::identity::IdentityKey,
    /// The visitor whose request decided them.
    pub ecid: crate::identity::Ecid,
    /// The changes, in order.
    pub transitions: Vec<crate::segment::set::Transition>,
}

/// Fragment updates from one writer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FragmentUpdates {
    /// Who wrote them (an edge, an import batch).
    pub source: String,
    /// The fragments (each a partial fragment: the attributes written).
    pub fragments: Vec<crate::profile::Fragment>,
}

/// Events of a dataset keyed by a person identity (CRM order history, offline purchases).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentifiedEvents {
    /// The dataset.
    pub dataset: String,
    /// The events.
    pub events: Vec<IdentifiedEvent>,
}

/// One event keyed by a person identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentifiedEvent {
    /// Unique id (stored once).
    pub event_id: String,
    /// Whose event it is.
    pub identity: crate::identity::IdentityKey,
    /// `eventType`.
    pub event_type: Option<String>,
    /// When it happened.
    pub timestamp: Timestamp,
    /// The XDM.
    pub xdm: Value,
}

/// Link records from one request or source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentityLinks {
    /// Where they came from (a datastream id, or a source dataset).
    pub source: String,
    /// The records.
    pub records: Vec<crate::identity::LinkRecord>,
}

/// Events accepted in one request, all for one visitor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectedEvents {
    /// The datastream they came through.
    pub datastream_id: String,
    /// The visitor's ECID.
    pub ecid: Ecid,
    /// When the edge received them.
    pub received_at: Timestamp,
    /// The events.
    pub events: Vec<CollectedEvent>,
}

/// One accepted event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectedEvent {
    /// Unique id (the XDM `_id`): the origin stores an id once, so retries do not double-count.
    pub event_id: String,
    /// `eventType`, when given.
    pub event_type: Option<String>,
    /// When it happened.
    pub timestamp: Timestamp,
    /// The full XDM, as validated.
    pub xdm: Value,
    /// The free-form `data`, when given.
    pub data: Option<Value>,
}

/// A consent change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentChange {
    /// The datastream it came through.
    pub datastream_id: String,
    /// The visitor's ECID.
    pub ecid: Ecid,
    /// The resulting general consent.
    pub consent: Consent,
    /// When it was set.
    pub at: Timestamp,
    /// The consent entries as the SDK sent them (for audit).
    pub raw: Value,
}

/// Problems with a sync batch or a signature.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The bytes are not a sync batch.
    #[error("the sync batch could not be decoded: {0}")]
    Decode(String),
    /// The batch was written by an envelope version this build does not read.
    #[error("the sync batch has envelope version {found}; this origin reads version {SYNC_VERSION}")]
    UnsupportedVersion {
        /// The batch's version.
        found: u16,
    },
    /// The signature header is missing or malformed.
    #[error("the request has no valid {SIGNATURE_HEADER} / {TIMESTAMP_HEADER} headers")]
    MissingSignature,
    /// The signing time is too far from now.
    #[error("the request was signed at {signed_at}, more than 5 minutes from the origin's clock ({now})")]
    Stale {
        /// Signing time.
        signed_at: Timestamp,
        /// Verifier's time.
        now: Timestamp,
    },
    /// The signature does not match: wrong secret, or the request was altered.
    #[error("the request signature does not match (wrong shared secret, or the request was altered)")]
    BadSignature,
}

impl SyncBatch {
    /// A new batch; `entropy` makes its id.
    #[must_use]
    pub fn new(source: &str, created_at: Timestamp, entropy: [u8; 16], records: Vec<SyncRecord>) -> SyncBatch {
        SyncBatch { v: SYNC_VERSION, batch_id: hex(&entropy), source: source.to_owned(), created_at, records }
    }

    /// Encodes the batch (msgpack with field names).
    ///
    /// # Errors
    /// Never for batches built by this crate; the error is the encoder's.
    #[cfg(feature = "msgpack")]
    pub fn encode(&self) -> Result<Vec<u8>, SyncError> {
        rmp_serde::to_vec_named(self).map_err(|e| SyncError::Decode(e.to_string()))
    }

    /// Decodes a batch, refusing versions this build does not read.
    ///
    /// # Errors
    /// [`SyncError::Decode`] or [`SyncError::UnsupportedVersion`].
    #[cfg(feature = "msgpack")]
    pub fn decode(bytes: &[u8]) -> Result<SyncBatch, SyncError> {
        #[derive(Deserialize)]
        struct Header {
            v: u16,
        }
        let header: Header = rmp_serde::from_slice(bytes).map_err(|e| SyncError::Decode(e.to_string()))?;
        if header.v != SYNC_VERSION {
            return Err(SyncError::UnsupportedVersion { found: header.v });
        }
        rmp_serde::from_slice(bytes).map_err(|e| SyncError::Decode(e.to_string()))
    }

    /// The number of events in the batch.
    #[must_use]
    pub fn event_count(&self) -> usize {
        self.records
            .iter()
            .map(|r| match r {
                SyncRecord::Events(e) => e.events.len(),
                SyncRecord::IdentifiedEvents(e) => e.events.len(),
                SyncRecord::Consent(_)
                | SyncRecord::Links(_)
                | SyncRecord::Fragments(_)
                | SyncRecord::Memberships(_) => 0,
            })
            .sum()
    }
}

fn signature(secret: &[u8], method: &str, path: &str, at: Timestamp, body: &[u8]) -> [u8; 32] {
    let ts = at.millis().to_string();
    hmac_sha256(
        secret,
        &[b"edgecdp sync v1\n", method.as_bytes(), b"\n", path.as_bytes(), b"\n", ts.as_bytes(), b"\n", &sha256(body)],
    )
}

/// The `x-edgecdp-signature` value for a request (`at` goes in `x-edgecdp-timestamp`).
#[must_use]
pub fn sign(secret: &[u8], method: &str, path: &str, at: Timestamp, body: &[u8]) -> String {
    hex(&signature(secret, method, path, at, body))
}

/// Checks a request's signature headers.
///
/// # Errors
/// [`SyncError::MissingSignature`], [`SyncError::Stale`] or [`SyncError::BadSignature`].
pub fn verify(
    secret: &[u8],
    method: &str,
    path: &str,
    timestamp_header: Option<&str>,
    signature_header: Option<&str>,
    body: &[u8],
    now: Timestamp,
) -> Result<(), SyncError> {
    let at = timestamp_header
        .and_then(|t| t.trim().parse::<i64>().ok())
        .map(Timestamp)
        .ok_or(SyncError::MissingSignature)?;
    let given = signature_header.and_then(|s| unhex(s.trim())).ok_or(SyncError::MissingSignature)?;
    if (now.millis() - at.millis()).abs() > MAX_SKEW_MS {
        return Err(SyncError::Stale { signed_at: at, now });
    }
    if constant_time_eq(&signature(secret, method, path, at, body), &given) {
        Ok(())
    } else {
        Err(SyncError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object;

    fn batch() -> SyncBatch {
        SyncBatch::new(
            "edge-test",
            Timestamp(1_000),
            [9; 16],
            vec![
                SyncRecord::Events(CollectedEvents {
                    datastream_id: "ds".into(),
                    ecid: Ecid::mint([1; 16]),
                    received_at: Timestamp(1_000),
                    events: vec![CollectedEvent {
                        event_id: "e1".into(),
                        event_type: Some("web.webpagedetails.pageViews".into()),
                        timestamp: Timestamp(900),
                        xdm: object! { "eventType" => "web.webpagedetails.pageViews", "n" => 1.5 },
                        data: None,
                    }],
                }),
                SyncRecord::Consent(ConsentChange {
                    datastream_id: "ds".into(),
                    ecid: Ecid::mint([1; 16]),
                    consent: Consent::Out,
                    at: Timestamp(1_000),
                    raw: Value::Array(vec![]),
                }),
            ],
        )
    }

    #[test]
    fn batch_round_trips() {
        let b = batch();
        assert_eq!(SyncBatch::decode(&b.encode().unwrap()).unwrap(), b);
        assert_eq!(b.event_count(), 1);
        assert_eq!(b.batch_id, "09".repeat(16));
    }

    #[test]
    fn other_versions_and_garbage_are_refused() {
        let mut b = batch();
        b.v = 99;
        let bytes = rmp_serde::to_vec_named(&b).unwrap();
        assert!(matches!(SyncBatch::decode(&bytes), Err(SyncError::UnsupportedVersion { found: 99 })));
        assert!(matches!(SyncBatch::decode(b"\xc1"), Err(SyncError::Decode(_))));
    }

    #[test]
    fn signatures_bind_method_path_time_and_body() {
        let now = Timestamp(10_000_000);
        let sig = sign(b"s", "POST", "/v1/sync", now, b"body");
        let ts = now.millis().to_string();
        let check = |secret: &[u8], path: &str, body: &[u8], at: &str, sig: &str, now| {
            verify(secret, "POST", path, Some(at), Some(sig), body, now)
        };
        assert!(check(b"s", "/v1/sync", b"body", &ts, &sig, now).is_ok());
        assert!(matches!(check(b"x", "/v1/sync", b"body", &ts, &sig, now), Err(SyncError::BadSignature)));
        assert!(matches!(check(b"s", "/v1/other", b"body", &ts, &sig, now), Err(SyncError::BadSignature)));
        assert!(matches!(check(b"s", "/v1/sync", b"bodY", &ts, &sig, now), Err(SyncError::BadSignature)));
        assert!(matches!(
            check(b"s", "/v1/sync", b"body", &ts, &sig, now.plus_millis(MAX_SKEW_MS + 1)),
            Err(SyncError::Stale { .. })
        ));
        assert!(matches!(check(b"s", "/v1/sync", b"body", "soon", &sig, now), Err(SyncError::MissingSignature)));
    }
}
