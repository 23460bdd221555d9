//! On-device decisions: the edge hands a browser what it needs to re-decide by itself (a
//! [`Bundle`]: the on-device activities, their offers, the segments they read and the visitor's
//! state for those), and the browser's Wasm core keeps deciding as the page's events arrive
//! ([`Device`]), with the same code as the edge: the same inputs give the same propositions.
//!
//! Only what on-device activities read leaves the edge: their definitions, the segments they
//! reference (and the segments those reference), the profile attributes all of these read, and
//! the visitor's state of those segments and of those offers' caps.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::model::{Activity, Offer};
use super::proposition::Proposition;
use super::set::{DecisionSet, Request, Visitor};
use super::state::DecisionState;
use crate::map::ObjectMap;
use crate::segment::compile::Options;
use crate::segment::schema::{Schema, Ty};
use crate::segment::set::{Definition, ProfileSegments, SegmentSet, Skipped, Touched, Transition};
use crate::time::Timestamp;
use crate::value::Value;

/// What a browser needs to decide on-device activities for one visitor (the `edgecdp:bundle`
/// handle).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    /// The snapshot version it was made from.
    pub version: u64,
    /// The visitor's ECID (A/B buckets).
    pub ecid: String,
    /// The segments the activities read, directly or through other segments.
    #[serde(default)]
    pub segments: Vec<Definition>,
    /// The on-device activities.
    #[serde(default)]
    pub activities: Vec<Activity>,
    /// The offers they may show.
    #[serde(default)]
    pub offers: Vec<Offer>,
    /// The profile attributes all of these read.
    #[serde(default)]
    pub attributes: ObjectMap<Value>,
    /// The visitor's state of those segments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ProfileSegments>,
    /// The visitor's displays of those offers (caps) and conversions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decisions: Option<DecisionState>,
}

/// The definitions part of bundles, computed once per snapshot.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeviceDefinitions {
    /// The segments, in the snapshot's order.
    pub segments: Vec<Definition>,
    /// The activities.
    pub activities: Vec<Activity>,
    /// The offers.
    pub offers: Vec<Offer>,
    /// The profile attributes read.
    pub reads: BTreeSet<String>,
}

impl DeviceDefinitions {
    /// What the on-device activities of `decisions` need, from the definitions they were
    /// compiled from and the segment set they read.
    #[must_use]
    pub fn new(decisions: &DecisionSet, activities: &[Activity], offers: &[Offer], segments: &SegmentSet) -> Self {
        let needs = decisions.device_needs();
        if needs.activities.is_empty() {
            return DeviceDefinitions::default();
        }
        // Segments referenced by segments come along (a reference must resolve in the browser).
        let mut wanted: BTreeSet<String> = BTreeSet::new();
        let mut todo: Vec<String> = needs.segments.iter().cloned().collect();
        while let Some(id) = todo.pop() {
            if let Some(seg) = segments.get(&id)
                && wanted.insert(id)
            {
                todo.extend(seg.report().depends_on.iter().cloned());
            }
        }
        let mut reads = needs.reads.clone();
        let mut kept = Vec::new();
        for seg in segments.segments().iter().filter(|s| wanted.contains(s.id())) {
            reads.extend(seg.report().profile_reads.iter().cloned());
            kept.push(seg.definition.clone());
        }
        DeviceDefinitions {
            segments: kept,
            activities: activities.iter().filter(|a| needs.activities.contains(&a.id)).cloned().collect(),
            offers: offers.iter().filter(|o| needs.offers.contains(&o.id)).cloned().collect(),
            reads,
        }
    }

    /// Whether there is nothing to decide on-device.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.activities.is_empty()
    }

    /// A visitor's bundle: these definitions with the visitor's attributes and states, cut to
    /// what the definitions read.
    #[must_use]
    pub fn bundle(
        &self,
        version: u64,
        ecid: &str,
        attributes: &ObjectMap<Value>,
        state: Option<&ProfileSegments>,
        decisions: Option<&DecisionState>,
    ) -> Bundle {
        let reads = |path: &str| {
            self.reads.iter().any(|r| {
                path == r
                    || path.strip_prefix(r.as_str()).is_some_and(|rest| rest.starts_with('.'))
                    || r.strip_prefix(path).is_some_and(|rest| rest.starts_with('.'))
            })
        };
        let ids: BTreeSet<&str> = self.segments.iter().map(|d| d.id.as_str()).collect();
        let state = state.map(|s| {
            let mut s = s.clone();
            s.segments.retain(|id, _| ids.contains(id.as_str()));
            s.realized.retain(|id| ids.contains(id.as_str()));
            s
        });
        let offers: BTreeSet<&str> = self.offers.iter().map(|o| o.id.as_str()).collect();
        let activities: BTreeSet<&str> = self.activities.iter().map(|a| a.id.as_str()).collect();
        let decisions = decisions.map(|d| {
            let mut d = d.clone();
            d.displays.retain(|id, _| offers.contains(id.as_str()));
            d.conversions.retain(|id, _| activities.contains(id.as_str()));
            d
        });
        Bundle {
            version,
            ecid: ecid.to_owned(),
            segments: self.segments.clone(),
            activities: self.activities.clone(),
            offers: self.offers.clone(),
            attributes: attributes.iter().filter(|(k, _)| reads(k)).map(|(k, v)| (k.clone(), v.clone())).collect(),
            state,
            decisions: decisions.filter(|d| !d.is_empty()),
        }
    }
}

/// A browser's decider: the bundle compiled, and the visitor's state moving with the page's
/// events.
#[derive(Debug)]
pub struct Device {
    ecid: String,
    segments: SegmentSet,
    decisions: DecisionSet,
    attributes: ObjectMap<Value>,
    state: ProfileSegments,
    decision_state: DecisionState,
    touched: Touched,
}

impl Device {
    /// Compiles a bundle (as the edge compiles its snapshot: open profile fields). Definitions
    /// that do not compile here are left out; they are returned.
    #[must_use]
    pub fn new(bundle: Bundle) -> (Device, Vec<Skipped>) {
        let schema = Schema { event: Schema::standard().event, profile: Ty::Any };
        let segments = SegmentSet::load(&bundle.segments, &schema, &Options::default());
        let skipped = segments.skipped().to_vec();
        let decisions =
            DecisionSet::load(&bundle.activities, &bundle.offers, &schema, &|id| segments.get(id).is_some());
        let device = Device {
            ecid: bundle.ecid,
            segments,
            decisions,
            attributes: bundle.attributes,
            state: bundle.state.unwrap_or_default(),
            decision_state: bundle.decisions.unwrap_or_default(),
            touched: Touched::default(),
        };
        (device, skipped)
    }

    /// Folds one of the page's events (as sent to the edge, with its time): segment state, and
    /// display notifications towards caps. Returns the segment entries and exits it caused.
    pub fn on_event(&mut self, xdm: &Value, event_id: &str, at: Timestamp) -> Vec<Transition> {
        self.decisions.record(&mut self.decision_state, xdm, event_id, at);
        let touched = self.segments.on_event(&mut self.state, xdm, at, &self.attributes);
        self.touched.extend(touched);
        let touched = std::mem::take(&mut self.touched);
        self.segments.evaluate(&mut self.state, &self.attributes, at, &touched)
    }

    /// Decides the scopes asked for at `now`, from the state so far.
    pub fn decide(&mut self, scopes: &[String], page: Option<&str>, now: Timestamp) -> Vec<Proposition> {
        // Time passes in the browser too: windows close, delays end.
        let touched = std::mem::take(&mut self.touched);
        self.segments.evaluate(&mut self.state, &self.attributes, now, &touched);
        let visitor =
            Visitor { attributes: &self.attributes, segments: Some(&self.state), state: Some(&self.decision_state) };
        self.decisions.decide(&Request { ecid: &self.ecid, scopes, page, now }, &visitor)
    }

    /// The segments the visitor is in, as decided last.
    pub fn members(&self) -> impl Iterator<Item = &String> {
        self.state.members().map(|(id, _)| id)
    }
}

#[cfg(test)]
mod tests;
