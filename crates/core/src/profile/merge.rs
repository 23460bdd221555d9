//! Merge policies: how a person's fragments from every dataset and identity become one view.
//!
//! - [`MergePolicy::Timestamp`]: for each attribute, the latest write anywhere wins.
//! - [`MergePolicy::DatasetPrecedence`]: for each attribute, the value from the first dataset
//!   in the list that has it wins (the latest write within that dataset); datasets not listed
//!   come after, latest first. Typical: trust the CRM for names, loyalty for the tier.
//!
//! Every merged attribute keeps its source (dataset, identity, time), so the 360 view can say
//! where each value came from.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use super::fragment::{Fragment, Register};
use crate::identity::IdentityKey;
use crate::map::ObjectMap;
use crate::time::Timestamp;
use crate::value::Value;

/// How fragments merge into one profile.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MergePolicy {
    /// The latest write wins, whatever dataset made it.
    #[default]
    Timestamp,
    /// The first dataset in the list that has the attribute wins.
    DatasetPrecedence(Vec<String>),
}

/// A merged attribute and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sourced {
    /// The value.
    pub value: Value,
    /// The dataset it came from.
    pub dataset: String,
    /// The identity that dataset keyed it by.
    pub identity: IdentityKey,
    /// When it was written.
    pub at: Timestamp,
}

/// The merged profile: attribute path → value with its source.
pub type Merged = ObjectMap<Sourced>;

impl MergePolicy {
    fn rank(&self, dataset: &str) -> usize {
        match self {
            MergePolicy::Timestamp => 0,
            MergePolicy::DatasetPrecedence(order) => order.iter().position(|d| d == dataset).unwrap_or(order.len()),
        }
    }

    /// Whether candidate `a` beats `b` for one attribute.
    fn beats(&self, a: (&Fragment, &Register), b: (&Fragment, &Register)) -> bool {
        let by_rank = self.rank(&b.0.dataset).cmp(&self.rank(&a.0.dataset));
        let order = by_rank
            .then_with(|| a.1.order(b.1))
            .then_with(|| a.0.dataset.cmp(&b.0.dataset))
            .then_with(|| a.0.identity.cmp(&b.0.identity));
        order == Ordering::Greater
    }

    /// Merges fragments (in any order) into one profile. A winning deletion (`null`) removes
    /// the attribute.
    #[must_use]
    pub fn merge(&self, fragments: &[Fragment]) -> Merged {
        let mut best: ObjectMap<(&Fragment, &Register)> = ObjectMap::new();
        for f in fragments {
            for (path, register) in &f.attrs {
                let candidate = (f, register);
                let slot = best.get_or_insert_with(path, || candidate);
                if self.beats(candidate, *slot) {
                    *slot = candidate;
                }
            }
        }
        best.into_iter()
            .filter(|(_, (_, r))| r.value != Value::Null)
            .map(|(path, (f, r))| {
                (
                    path,
                    Sourced {
                        value: r.value.clone(),
                        dataset: f.dataset.clone(),
                        identity: f.identity.clone(),
                        at: r.at,
                    },
                )
            })
            .collect()
    }
}

/// Writes flat attributes (`person.name.firstName`) as a nested object.
#[must_use]
pub fn nest(attrs: impl IntoIterator<Item = (String, Value)>) -> Value {
    fn insert(node: &mut ObjectMap<Value>, parts: &[&str], value: Value) {
        match parts {
            [] => {}
            [last] => {
                node.insert((*last).to_owned(), value);
            }
            [first, rest @ ..] => {
                let entry = node.get_or_insert_with(first, || Value::Object(ObjectMap::new()));
                if !matches!(entry, Value::Object(_)) {
                    *entry = Value::Object(ObjectMap::new());
                }
                if let Value::Object(next) = entry {
                    insert(next, rest, value);
                }
            }
        }
    }
    let mut root = ObjectMap::new();
    for (path, value) in attrs {
        let parts: Vec<&str> = path.split('.').collect();
        insert(&mut root, &parts, value);
    }
    Value::Object(root)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fragment(dataset: &str, writes: &[(&str, &str, i64)]) -> Fragment {
        let mut f = Fragment::new(dataset, IdentityKey::new("CRMID", "crm-1042"));
        for (path, value, at) in writes {
            f.set(path, Value::from(*value), Timestamp(*at), "w");
        }
        f
    }

    #[test]
    fn timestamp_policy_takes_the_latest_anywhere() {
        let crm = fragment("crm-contacts", &[("person.name.firstName", "Sarah", 10), ("loyalty.tier", "Silver", 1)]);
        let loyalty = fragment("loyalty", &[("loyalty.tier", "Bronze", 20)]);
        let m = MergePolicy::Timestamp.merge(&[crm, loyalty]);
        assert_eq!(m.get("loyalty.tier").unwrap().value, Value::from("Bronze"));
        assert_eq!(m.get("loyalty.tier").unwrap().dataset, "loyalty");
        assert_eq!(m.get("person.name.firstName").unwrap().dataset, "crm-contacts");
    }

    #[test]
    fn precedence_policy_trusts_the_listed_dataset_first() {
        let crm = fragment("crm-contacts", &[("loyalty.tier", "Silver", 1)]);
        let loyalty = fragment("loyalty", &[("loyalty.tier", "Bronze", 20)]);
        let web = fragment("web", &[("loyalty.tier", "Gold", 30)]);
        let policy = MergePolicy::DatasetPrecedence(vec!["crm-contacts".into(), "loyalty".into()]);
        assert_eq!(
            policy.merge(&[web.clone(), loyalty.clone(), crm]).get("loyalty.tier").unwrap().value,
            Value::from("Silver")
        );
        assert_eq!(
            policy.merge(&[web, loyalty]).get("loyalty.tier").unwrap().value,
            Value::from("Bronze"),
            "unlisted datasets come last"
        );
    }

    #[test]
    fn nest_builds_objects_from_paths() {
        let v = nest([
            ("person.name.firstName".into(), Value::from("Sarah")),
            ("loyalty.tier".into(), Value::from("Bronze")),
        ]);
        assert_eq!(v.pointer("person.name.firstName"), Some(&Value::from("Sarah")));
        assert_eq!(v.pointer("loyalty.tier"), Some(&Value::from("Bronze")));
    }

    proptest! {
        #[test]
        fn the_merged_view_does_not_depend_on_fragment_order(
            writes in prop::collection::vec((0..3usize, 0..3usize, "[a-c]", 0..4i64), 0..12),
            precedence in any::<bool>(),
        ) {
            let datasets = ["crm", "loyalty", "web"];
            let paths = ["a", "b", "c"];
            let mut fragments: Vec<Fragment> = datasets.iter().map(|d| Fragment::new(*d, IdentityKey::new("CRMID", "1"))).collect();
            for (d, p, v, at) in writes {
                fragments[d].set(paths[p], Value::from(v), Timestamp(at), "w");
            }
            let policy = if precedence { MergePolicy::DatasetPrecedence(vec!["loyalty".into(), "crm".into()]) } else { MergePolicy::Timestamp };
            let forward = policy.merge(&fragments);
            fragments.reverse();
            prop_assert_eq!(policy.merge(&fragments), forward);
        }
    }
}
