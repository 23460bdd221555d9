//! The definitions snapshot: everything an edge needs to serve, versioned, built by the origin
//! and shipped to every edge.
//!
//! It holds the datastreams (what a `configId` means: which org names the cookies, which page
//! origins may call with credentials), the request limits, the identity rules, recent deletions,
//! the profile settings, and the edge-eligible segment definitions (compiled by each edge when
//! it loads the snapshot). Later capabilities add activities and policies.
//!
//! A snapshot is *built* from a [`SnapshotConfig`]: loading is tolerant, so one bad datastream
//! is skipped with a [`SnapshotWarning`] naming it and the rest keep serving.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::consent::Consent;
use crate::decide::device::DeviceDefinitions;
use crate::decide::{Activity, DecisionSet, DecisionWarning, Offer};
use crate::identity::graph::GraphConfig;
use crate::identity::resolve::EdgeFragment;
use crate::identity::{IdentityKey, NamespaceConfig, Namespaces};
use crate::limits::Limits;
use crate::profile::MergePolicy;
use crate::segment::compile::Options;
use crate::segment::schema::{Schema, Ty};
use crate::segment::set::{Definition, SegmentSet, Skipped};
use crate::time::Timestamp;

/// The configuration of one datastream, as written by an operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct DatastreamConfig {
    /// The id SDKs send as `configId` (`datastreamId` in their config).
    pub id: String,
    /// The IMS org id (`LUMA123@AdobeOrg`): it names the `kndctr_{org}_*` cookies. The Web SDK
    /// never sends it, so the edge learns it here.
    pub org_id: String,
    /// Page origins allowed to call the edge with credentials: exact (`https://www.luma.test`),
    /// any port (`http://localhost:*`), any subdomain (`https://*.luma.test`), or `*` for any
    /// origin. Calls without an `Origin` header (server-side) are always allowed.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Trust ECIDs that carry no signature of ours: identity cookies written by another edge
    /// (Adobe's) and a request-level `xdm.identityMap.ECID` (legacy migration). Off by default,
    /// because anyone can claim an unsigned ECID.
    #[serde(default)]
    pub accept_unsigned_ecid: bool,
    /// Consent assumed before the visitor sets any (`in` or `out`).
    #[serde(default)]
    pub default_consent: Consent,
}

/// Everything the snapshot is built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct SnapshotConfig {
    /// The datastreams.
    #[serde(default)]
    pub datastreams: Vec<DatastreamConfig>,
    /// Request limits (defaults in [`Limits::new`]).
    #[serde(default)]
    pub limits: Limits,
    /// Identity namespaces and the graph cap.
    #[serde(default)]
    pub identity: IdentityConfig,
    /// How profiles merge and what edges keep of them.
    #[serde(default)]
    pub profile: ProfileConfig,
}

/// Profile settings, as written by an operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct ProfileConfig {
    /// How fragments merge: `"timestamp"` (latest write wins) or
    /// `{ dataset_precedence = ["crm-contacts", "loyalty", "web"] }`.
    #[serde(default)]
    pub merge_policy: MergePolicy,
    /// Attributes the edge keeps in a person's fragment (the merged values of these paths).
    /// Segments and offers add the attributes they read.
    #[serde(default = "default_edge_attributes")]
    pub edge_attributes: Vec<String>,
}

fn default_edge_attributes() -> Vec<String> {
    ["person.name.firstName", "loyalty.tier", "loyalty.points", "_luma.preferences.size", "_luma.preferences.category"]
        .map(String::from)
        .to_vec()
}

impl Default for ProfileConfig {
    fn default() -> Self {
        ProfileConfig { merge_policy: MergePolicy::default(), edge_attributes: default_edge_attributes() }
    }
}

/// The identity settings, as written by an operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct IdentityConfig {
    /// Namespaces added to (or replacing) the built-in ones (CRMID, Email, Email_LC_SHA256,
    /// LoyaltyID, Phone, ECID).
    #[serde(default)]
    pub namespaces: Vec<NamespaceConfig>,
    /// Most identities in one graph (default 50); beyond it identities are evicted and reported.
    #[serde(default = "default_max_identities")]
    pub max_identities: usize,
}

fn default_max_identities() -> usize {
    50
}

impl Default for IdentityConfig {
    fn default() -> Self {
        IdentityConfig { namespaces: Vec::new(), max_identities: default_max_identities() }
    }
}

/// An identity deleted at the origin (right to be forgotten): edges drop what they cached
/// about it before that time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tombstone {
    /// The deleted identity.
    pub key: IdentityKey,
    /// When it was deleted.
    pub deleted_at: Timestamp,
}

/// A datastream, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Datastream {
    /// The `configId`.
    pub id: String,
    /// The org id naming the cookies.
    pub org_id: String,
    /// Allowed page origins.
    pub allowed_origins: Vec<OriginPattern>,
    /// See [`DatastreamConfig::accept_unsigned_ecid`].
    pub accept_unsigned_ecid: bool,
    /// See [`DatastreamConfig::default_consent`].
    pub default_consent: Consent,
}

/// A pattern an `Origin` header is matched against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OriginPattern {
    text: String,
    kind: PatternKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PatternKind {
    Any,
    /// scheme, host (lower-case; a leading `*.` means any subdomain), port (`None` = any).
    Parts {
        scheme: String,
        host: String,
        port: Option<String>,
    },
}

/// A problem in the snapshot configuration; the item it names is skipped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotWarning {
    /// An allowed origin that is not a pattern.
    #[error(
        "datastreams[{index}].allowed_origins: {found:?} is not an origin pattern (expected \"https://host\", \"http://host:*\", \"https://*.host\" or \"*\"); datastream {id:?} skipped"
    )]
    BadOrigin {
        /// Position of the datastream.
        index: usize,
        /// Its id.
        id: String,
        /// The pattern.
        found: String,
    },
    /// A datastream id used twice.
    #[error("datastreams[{index}].id: {id:?} is already defined; this second definition is skipped")]
    DuplicateId {
        /// Position of the duplicate.
        index: usize,
        /// The id.
        id: String,
    },
    /// An empty or malformed id or org id.
    #[error("datastreams[{index}].{field}: {found:?} is not valid ({expected}); datastream skipped")]
    BadField {
        /// Position of the datastream.
        index: usize,
        /// The field.
        field: &'static str,
        /// What was given.
        found: String,
        /// What is expected.
        expected: &'static str,
    },
}

impl OriginPattern {
    /// Parses a pattern (see [`DatastreamConfig::allowed_origins`]).
    ///
    /// # Errors
    /// The text back when it is not a pattern.
    pub fn parse(text: &str) -> Result<OriginPattern, String> {
        if text == "*" {
            return Ok(OriginPattern { text: text.into(), kind: PatternKind::Any });
        }
        let (scheme, rest) = text.split_once("://").ok_or_else(|| text.to_owned())?;
        if !matches!(scheme, "http" | "https") || rest.is_empty() || rest.contains(['/', '?', '#', '@']) {
            return Err(text.into());
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, "*")) => (h, None),
            Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => (h, Some(p.to_owned())),
            Some(_) => return Err(text.into()),
            None => (rest, Some(default_port(scheme).to_owned())),
        };
        let bare = host.strip_prefix("*.").unwrap_or(host);
        if bare.is_empty() || !bare.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-') {
            return Err(text.into());
        }
        Ok(OriginPattern {
            text: text.into(),
            kind: PatternKind::Parts { scheme: scheme.into(), host: host.to_ascii_lowercase(), port },
        })
    }

    /// Whether an `Origin` header value matches.
    #[must_use]
    pub fn matches(&self, origin: &str) -> bool {
        let PatternKind::Parts { scheme, host, port } = &self.kind else {
            return true;
        };
        let Some((o_scheme, rest)) = origin.split_once("://") else {
            return false;
        };
        if o_scheme != scheme {
            return false;
        }
        let (o_host, o_port) = match rest.rsplit_once(':') {
            Some((h, p)) => (h, p),
            None => (rest, default_port(o_scheme)),
        };
        let o_host = o_host.to_ascii_lowercase();
        let host_ok = match host.strip_prefix("*.") {
            Some(parent) => {
                o_host.len() > parent.len() + 1
                    && o_host.ends_with(parent)
                    && o_host[..o_host.len() - parent.len()].ends_with('.')
            }
            None => &o_host == host,
        };
        host_ok && port.as_deref().is_none_or(|p| p == o_port)
    }
}

fn default_port(scheme: &str) -> &'static str {
    if scheme == "https" { "443" } else { "80" }
}

impl fmt::Display for OriginPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl TryFrom<String> for OriginPattern {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        OriginPattern::parse(&s).map_err(|bad| format!("{bad:?} is not an origin pattern"))
    }
}

impl From<OriginPattern> for String {
    fn from(p: OriginPattern) -> String {
        p.text
    }
}

impl Datastream {
    /// Whether a page at `origin` may call this datastream with credentials.
    #[must_use]
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|p| p.matches(origin))
    }
}

/// The definitions every edge serves from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Snapshot {
    /// Increases with every change the origin publishes; edges replace theirs only by a newer one.
    pub version: u64,
    /// Datastreams by id.
    pub datastreams: BTreeMap<String, Datastream>,
    /// Request limits.
    pub limits: Limits,
    /// Namespaces and graph rules.
    pub identity: GraphConfig,
    /// Identities deleted recently, sorted by key (kept for longer than any edge caches a view).
    pub tombstones: Vec<Tombstone>,
    /// How profiles merge and what edges keep of them.
    pub profile: ProfileConfig,
    /// The segments edges evaluate (edge-eligible ones), compiled when the snapshot is built or
    /// decoded ([`Snapshot::segment_set`]).
    #[serde(default)]
    pub segments: Vec<Definition>,
    /// Added to the edge's clock: a demo's fast-forward (always 0 outside demos).
    #[serde(default)]
    pub clock_offset_ms: i64,
    /// The activities edges decide (compiled with [`Snapshot::offers`] when the snapshot is
    /// built or decoded: [`Snapshot::decisions`]).
    #[serde(default)]
    pub activities: Vec<Activity>,
    /// The offers activities show.
    #[serde(default)]
    pub offers: Vec<Offer>,
    #[serde(skip)]
    compiled: CompiledSegments,
}

/// The compiled form of [`Snapshot::segments`], [`Snapshot::activities`] and
/// [`Snapshot::offers`] (not shipped: each edge compiles the text).
#[derive(Debug, Clone, Default)]
struct CompiledSegments(std::sync::Arc<SegmentSet>, std::sync::Arc<DecisionSet>, std::sync::Arc<DeviceDefinitions>);

impl PartialEq for CompiledSegments {
    /// Derived from `segments`, which equality already compares.
    fn eq(&self, _: &CompiledSegments) -> bool {
        true
    }
}

impl Eq for CompiledSegments {}

/// Why a snapshot could not be decoded.
#[cfg(feature = "msgpack")]
#[derive(Debug, thiserror::Error)]
#[error("the definitions snapshot could not be decoded: {0}")]
pub struct SnapshotDecodeError(#[from] rmp_serde::decode::Error);

impl Snapshot {
    /// Builds a snapshot, skipping (and reporting) what is invalid.
    #[must_use]
    pub fn build(config: &SnapshotConfig, version: u64) -> (Snapshot, Vec<SnapshotWarning>) {
        let mut warnings = Vec::new();
        let mut datastreams = BTreeMap::new();
        for (index, ds) in config.datastreams.iter().enumerate() {
            match build_datastream(index, ds) {
                Ok(built) => {
                    if datastreams.contains_key(&built.id) {
                        warnings.push(SnapshotWarning::DuplicateId { index, id: built.id });
                    } else {
                        datastreams.insert(built.id.clone(), built);
                    }
                }
                Err(w) => warnings.push(w),
            }
        }
        (
            Snapshot {
                version,
                datastreams,
                limits: config.limits,
                identity: GraphConfig {
                    namespaces: Namespaces::with(&config.identity.namespaces),
                    max_identities: config.identity.max_identities.max(2),
                },
                tombstones: Vec::new(),
                profile: config.profile.clone(),
                segments: Vec::new(),
                clock_offset_ms: 0,
                activities: Vec::new(),
                offers: Vec::new(),
                compiled: CompiledSegments::default(),
            },
            warnings,
        )
    }

    /// The snapshot with the segments edges evaluate (the origin passes the edge-eligible
    /// ones). Returns the segments that did not compile here, which the edge skips.
    #[must_use]
    pub fn with_segments(mut self, segments: Vec<Definition>) -> (Snapshot, Vec<Skipped>) {
        self.segments = segments;
        let skipped = self.compile_segments();
        (self, skipped)
    }

    fn compile_segments(&mut self) -> Vec<Skipped> {
        // The origin checked every path against the full schema; edges compile with open
        // profile fields (a program does not depend on the types, only errors do).
        let schema = Schema { event: Schema::standard().event, profile: Ty::Any };
        let set = SegmentSet::load(&self.segments, &schema, &Options::default());
        let skipped = set.skipped().to_vec();
        let decisions = DecisionSet::load(&self.activities, &self.offers, &schema, &|id| set.get(id).is_some());
        let device = DeviceDefinitions::new(&decisions, &self.activities, &self.offers, &set);
        self.compiled =
            CompiledSegments(std::sync::Arc::new(set), std::sync::Arc::new(decisions), std::sync::Arc::new(device));
        skipped
    }

    /// The snapshot with the activities and offers edges decide (the origin passes the valid
    /// ones). Returns what did not load here (the edge leaves it out).
    #[must_use]
    pub fn with_decisions(mut self, activities: Vec<Activity>, offers: Vec<Offer>) -> (Snapshot, Vec<DecisionWarning>) {
        self.activities = activities;
        self.offers = offers;
        self.compile_segments();
        let warnings = self.decisions().warnings().to_vec();
        (self, warnings)
    }

    /// The compiled activities and offers.
    #[must_use]
    pub fn decisions(&self) -> &DecisionSet {
        &self.compiled.1
    }

    /// What client bundles carry (the on-device activities and what they read).
    #[must_use]
    pub fn device(&self) -> &DeviceDefinitions {
        &self.compiled.2
    }

    /// The compiled segments.
    #[must_use]
    pub fn segment_set(&self) -> &SegmentSet {
        &self.compiled.0
    }

    /// Whether a cached view must be ignored: it holds an identity deleted after the view was
    /// made.
    #[must_use]
    pub fn voids(&self, view: &EdgeFragment) -> bool {
        view.identities.iter().any(|k| {
            self.tombstones
                .binary_search_by(|t| t.key.cmp(k))
                .is_ok_and(|i| self.tombstones[i].deleted_at >= view.updated_at)
        })
    }

    /// The snapshot with these tombstones (sorted, one per identity, the latest deletion kept).
    #[must_use]
    pub fn with_tombstones(mut self, mut tombstones: Vec<Tombstone>) -> Snapshot {
        tombstones.sort_by(|a, b| a.key.cmp(&b.key).then(b.deleted_at.cmp(&a.deleted_at)));
        tombstones.dedup_by(|later, first| later.key == first.key);
        self.tombstones = tombstones;
        self
    }

    /// Encodes the snapshot for shipping to edges (msgpack with field names).
    ///
    /// # Errors
    /// Never for a built snapshot; the error type is the encoder's.
    #[cfg(feature = "msgpack")]
    pub fn encode(&self) -> Result<Vec<u8>, rmp_serde::encode::Error> {
        rmp_serde::to_vec_named(self)
    }

    /// Decodes a snapshot shipped by the origin.
    ///
    /// # Errors
    /// [`SnapshotDecodeError`] when the bytes are not a snapshot.
    #[cfg(feature = "msgpack")]
    pub fn decode(bytes: &[u8]) -> Result<Snapshot, SnapshotDecodeError> {
        let mut snapshot: Snapshot = rmp_serde::from_slice(bytes)?;
        snapshot.compile_segments();
        Ok(snapshot)
    }
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b))
}

fn build_datastream(index: usize, ds: &DatastreamConfig) -> Result<Datastream, SnapshotWarning> {
    if !is_token(&ds.id) {
        return Err(SnapshotWarning::BadField {
            index,
            field: "id",
            found: ds.id.clone(),
            expected: "1-128 letters, digits, '-', '_', '.' or '@'",
        });
    }
    if !is_token(&ds.org_id) {
        return Err(SnapshotWarning::BadField {
            index,
            field: "org_id",
            found: ds.org_id.clone(),
            expected: "an org id such as \"LUMA123@AdobeOrg\"",
        });
    }
    let allowed_origins = ds
        .allowed_origins
        .iter()
        .map(|o| {
            OriginPattern::parse(o).map_err(|found| SnapshotWarning::BadOrigin { index, id: ds.id.clone(), found })
        })
        .collect::<Result<_, _>>()?;
    Ok(Datastream {
        id: ds.id.clone(),
        org_id: ds.org_id.clone(),
        allowed_origins,
        accept_unsigned_ecid: ds.accept_unsigned_ecid,
        default_consent: ds.default_consent,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ds(id: &str, origins: &[&str]) -> DatastreamConfig {
        DatastreamConfig {
            id: id.into(),
            org_id: "LUMA123@AdobeOrg".into(),
            allowed_origins: origins.iter().map(|s| (*s).to_owned()).collect(),
            accept_unsigned_ecid: false,
            default_consent: Consent::In,
        }
    }

    #[test]
    fn origin_patterns_match() {
        let p = |s| OriginPattern::parse(s).unwrap();
        assert!(p("https://www.luma.test").matches("https://www.luma.test"));
        assert!(p("https://www.luma.test").matches("https://www.luma.test:443"));
        assert!(!p("https://www.luma.test").matches("http://www.luma.test"));
        assert!(!p("https://www.luma.test").matches("https://www.luma.test:8443"));
        assert!(p("http://localhost:*").matches("http://localhost:41234"));
        assert!(p("http://localhost:*").matches("http://localhost"));
        assert!(!p("http://localhost:*").matches("http://localhost.evil.test:80"));
        assert!(p("https://*.luma.test").matches("https://shop.luma.test"));
        assert!(!p("https://*.luma.test").matches("https://luma.test"));
        assert!(!p("https://*.luma.test").matches("https://evilluma.test"));
        assert!(p("*").matches("null"));
        for bad in ["luma.test", "ftp://x", "https://x/path", "https://", "https://x:abc", "https://a b"] {
            assert!(OriginPattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn build_skips_bad_datastreams_and_keeps_the_rest() {
        let config = SnapshotConfig {
            datastreams: vec![
                ds("ds-luma", &["https://www.luma.test"]),
                ds("bad", &["nope"]),
                ds("ds-luma", &[]),
                ds("", &[]),
            ],
            ..SnapshotConfig::default()
        };
        let (snap, warnings) = Snapshot::build(&config, 3);
        assert_eq!(snap.datastreams.len(), 1);
        assert_eq!(warnings.len(), 3);
        assert!(warnings[0].to_string().starts_with("datastreams[1].allowed_origins"));
        assert!(warnings[1].to_string().contains("already defined"));
    }

    #[test]
    fn snapshot_round_trips_through_msgpack() {
        let (snap, _) = Snapshot::build(
            &SnapshotConfig { datastreams: vec![ds("ds-luma", &["http://localhost:*"])], ..SnapshotConfig::default() },
            7,
        );
        let back = Snapshot::decode(&snap.encode().unwrap()).unwrap();
        assert_eq!(back, snap);
        assert!(Snapshot::decode(b"\x01garbage").is_err());
    }
}
