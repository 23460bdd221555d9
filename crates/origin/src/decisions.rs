//! Activities and offers at the origin: stored with revisions, checked against the full schema
//! and the segments, published in the snapshot edges decide from; and the decisioning state
//! (caps, conversions) rebuilt from stored events for the edges' views.

use std::sync::{Arc, RwLock};

use serde::Deserialize;

use edgecdp_core::decide::{Activity, DecisionSet, DecisionState, DecisionWarning, Offer};
use edgecdp_core::identity::IdentityKey;
use edgecdp_core::identity::resolve::EdgeFragment;
use edgecdp_core::segment::schema::Schema;
use edgecdp_core::snapshot::ProfileConfig;
use edgecdp_core::time::Timestamp;

use crate::config::Config;
use crate::segments::schema_for;
use crate::store::{Store, StoreError, StoredDefinition};

/// The stored kinds.
pub const ACTIVITY: &str = "activity";
/// The stored kinds.
pub const OFFER: &str = "offer";

/// How many recorded events (displays, conversions) a state is rebuilt from at most.
const STATE_EVENTS: usize = 1_000;

/// Why a change was refused.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The definition has problems (each with its field).
    #[error("the definition is invalid: {}", .0.iter().map(|w| format!("{}: {}", w.field, w.message)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<DecisionWarning>),
    /// The JSON is not a definition.
    #[error("{0}")]
    Shape(String),
    /// Activities still show the offer.
    #[error("activities {0:?} show this offer; change them first")]
    InUse(Vec<String>),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The definitions and the store they live in.
pub struct Decisioning {
    store: Arc<dyn Store>,
    schema: Schema,
    current: RwLock<(Vec<Activity>, Vec<Offer>)>,
}

impl Decisioning {
    /// Stores the configuration's activities and offers (new ones, and changes to ones the
    /// configuration wrote before; API-made ones are left alone) and loads what is stored.
    ///
    /// # Errors
    /// When the store fails.
    pub fn open(store: Arc<dyn Store>, config: &Config, now: Timestamp) -> Result<Decisioning, StoreError> {
        let put = |kind: &str, id: &str, body: serde_json::Value| -> Result<(), StoreError> {
            let stored = store.definitions(kind)?;
            let current = stored.iter().find(|d| d.id == id);
            if current.is_none_or(|d| d.source == "config" && d.body != body) {
                store.put_definition(kind, id, &body, "config", now)?;
            }
            Ok(())
        };
        for a in &config.activities {
            put(ACTIVITY, &a.id, serde_json::to_value(a).unwrap_or_default())?;
        }
        for o in &config.offers {
            put(OFFER, &o.id, serde_json::to_value(o).unwrap_or_default())?;
        }
        let d = Decisioning { store, schema: schema_for(config), current: RwLock::new((Vec::new(), Vec::new())) };
        d.reload()?;
        Ok(d)
    }

    fn reload(&self) -> Result<(), StoreError> {
        let activities = parse_all::<Activity>(&self.store.definitions(ACTIVITY)?);
        let offers = parse_all::<Offer>(&self.store.definitions(OFFER)?);
        match self.current.write() {
            Ok(mut c) => *c = (activities, offers),
            Err(poisoned) => *poisoned.into_inner() = (activities, offers),
        }
        Ok(())
    }

    /// The stored activities and offers.
    #[must_use]
    pub fn definitions(&self) -> (Vec<Activity>, Vec<Offer>) {
        match self.current.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Compiles definitions as the origin checks them: against the full schema, with the
    /// segments edges evaluate.
    #[must_use]
    pub fn compile(&self, activities: &[Activity], offers: &[Offer], edge_segments: &[String]) -> DecisionSet {
        DecisionSet::load(activities, offers, &self.schema, &|id| edge_segments.iter().any(|s| s == id))
    }

    /// The stored rows of a kind.
    ///
    /// # Errors
    /// When the store fails.
    pub fn stored(&self, kind: &str) -> Result<Vec<StoredDefinition>, StoreError> {
        self.store.definitions(kind)
    }

    /// Creates or replaces an activity (`kind` [`ACTIVITY`]) or offer ([`OFFER`]) from its JSON.
    /// Refused when it would be left out (the problems name their fields); returns what was
    /// stored and the remarks that do not refuse it (e.g. a segment the edge does not evaluate).
    ///
    /// # Errors
    /// [`ChangeError`].
    pub fn upsert(
        &self,
        kind: &str,
        body: &serde_json::Value,
        edge_segments: &[String],
        now: Timestamp,
    ) -> Result<(StoredDefinition, Vec<DecisionWarning>), ChangeError> {
        let (mut activities, mut offers) = self.definitions();
        let id = match kind {
            ACTIVITY => {
                let a: Activity =
                    serde_json::from_value(body.clone()).map_err(|e| ChangeError::Shape(e.to_string()))?;
                let id = a.id.clone();
                activities.retain(|x| x.id != id);
                activities.push(a);
                id
            }
            _ => {
                let o: Offer = serde_json::from_value(body.clone()).map_err(|e| ChangeError::Shape(e.to_string()))?;
                let id = o.id.clone();
                offers.retain(|x| x.id != id);
                offers.push(o);
                id
            }
        };
        let set = self.compile(&activities, &offers, edge_segments);
        let mine: Vec<DecisionWarning> =
            set.warnings().iter().filter(|w| w.kind == kind && w.id == id).cloned().collect();
        if mine.iter().any(|w| w.skipped) {
            return Err(ChangeError::Invalid(mine.into_iter().filter(|w| w.skipped).collect()));
        }
        let stored = self.store.put_definition(kind, &id, body, "api", now)?;
        self.reload()?;
        Ok((stored, mine))
    }

    /// Deletes an activity or an offer (an offer still shown by activities is refused).
    ///
    /// # Errors
    /// [`ChangeError`].
    pub fn delete(&self, kind: &str, id: &str, now: Timestamp) -> Result<bool, ChangeError> {
        if kind == OFFER {
            let (activities, _) = self.definitions();
            let users: Vec<String> =
                activities.iter().filter(|a| a.offer_ids().any(|o| o == id)).map(|a| a.id.clone()).collect();
            if !users.is_empty() {
                return Err(ChangeError::InUse(users));
            }
        }
        let deleted = self.store.delete_definition(kind, id, "api", now)?;
        self.reload()?;
        Ok(deleted)
    }
}

fn parse_all<T: serde::de::DeserializeOwned>(rows: &[StoredDefinition]) -> Vec<T> {
    rows.iter()
        .filter_map(|r| match serde_json::from_value(r.body.clone()) {
            Ok(d) => Some(d),
            Err(e) => {
                tracing::warn!(id = r.id, error = %e, "stored definition no longer reads; left out");
                None
            }
        })
        .collect()
}

/// The decisioning state of the profile holding `key`, rebuilt from its stored display
/// notifications and conversions (none: nothing recorded).
///
/// # Errors
/// When the store fails.
pub fn state_of(store: &dyn Store, key: &IdentityKey, set: &DecisionSet) -> Result<Option<DecisionState>, StoreError> {
    if set.is_empty() {
        return Ok(None);
    }
    let mut events = store.decisioning_events(key, &set.recorded_types(), STATE_EVENTS)?;
    events.reverse();
    let mut state = DecisionState::default();
    for e in &events {
        let Ok(at) = Timestamp::parse_rfc3339(&e.timestamp) else { continue };
        // The store trimmed the XDM to what recording reads; converted in place, not cloned.
        let xdm = edgecdp_core::value::Value::deserialize(&e.xdm).unwrap_or_default();
        set.record(&mut state, &xdm, &e.event_id, at);
    }
    Ok((!state.is_empty()).then_some(state))
}

/// The edge view of `key` (see [`Store::edge_fragment`]) with its decisioning state; an
/// anonymous browser with only decisioning state gets a view of its own.
///
/// # Errors
/// When the store fails.
pub fn edge_fragment(
    store: &dyn Store,
    key: &IdentityKey,
    now: Timestamp,
    profile: &ProfileConfig,
    set: &DecisionSet,
) -> Result<Option<EdgeFragment>, StoreError> {
    let fragment = store.edge_fragment(key, now, profile)?;
    let holder = fragment.as_ref().map_or(key, |f| &f.person);
    let state = state_of(store, holder, set)?;
    Ok(match (fragment, state) {
        (Some(mut f), state) => {
            f.decisions = state;
            Some(f)
        }
        (None, Some(state)) => Some(EdgeFragment {
            person: key.clone(),
            identities: vec![key.clone()],
            attributes: Default::default(),
            version: 0,
            updated_at: now,
            segments: None,
            decisions: Some(state),
        }),
        (None, None) => None,
    })
}
