//! What decisioning remembers per profile: recent displays of capped offers and conversions.
//! Kept in the edge fragment beside the segment state, and rebuilt by the origin from the
//! stored events (the display notifications and conversion events), so nothing is lost when an
//! edge drops its copy.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// A profile's decisioning state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DecisionState {
    /// Displays of capped offers, per offer id, oldest first: at most the cap's `max` newest
    /// within its window are kept.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub displays: BTreeMap<String, Vec<Seen>>,
    /// The latest conversion, per activity id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub conversions: BTreeMap<String, Timestamp>,
}

/// One display: when, and a tag of the notification (the same notification retried is counted
/// once).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Seen(pub Timestamp, pub u32);

impl DecisionState {
    /// Whether there is nothing to keep.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.displays.is_empty() && self.conversions.is_empty()
    }

    /// Displays of `offer` at or after `since`.
    #[must_use]
    pub fn displays_since(&self, offer: &str, since: Option<Timestamp>) -> usize {
        self.displays.get(offer).map_or(0, |seen| seen.iter().filter(|s| since.is_none_or(|t| s.0 >= t)).count())
    }

    /// Records a display, keeping the `keep` newest. Returns whether anything changed.
    pub fn record_display(&mut self, offer: &str, seen: Seen, keep: usize) -> bool {
        let list = self.displays.entry(offer.to_owned()).or_default();
        if list.contains(&seen) {
            return false;
        }
        list.push(seen);
        list.sort_unstable();
        let excess = list.len().saturating_sub(keep);
        list.drain(..excess);
        true
    }

    /// Records a conversion. Returns whether anything changed.
    pub fn record_conversion(&mut self, activity: &str, at: Timestamp) -> bool {
        match self.conversions.get_mut(activity) {
            Some(t) if *t >= at => false,
            Some(t) => {
                *t = at;
                true
            }
            None => {
                self.conversions.insert(activity.to_owned(), at);
                true
            }
        }
    }

    /// Joins another copy of the same profile's state (another device's, or one a concurrent
    /// request wrote): displays are united (each counted once; the next display recorded trims
    /// to the cap), the later conversion kept.
    pub fn absorb(&mut self, other: &DecisionState) {
        for (offer, seen) in &other.displays {
            let list = self.displays.entry(offer.clone()).or_default();
            list.extend(seen.iter().copied());
            list.sort_unstable();
            list.dedup();
        }
        for (activity, at) in &other.conversions {
            self.record_conversion(activity, *at);
        }
    }
}
