//! Profile fragments: what one dataset knows about one identity, as a state-based CRDT.
//!
//! A [`Fragment`] maps attribute paths (`person.name.firstName`, `loyalty.tier`) to
//! last-writer-wins [`Register`]s. [`Fragment::merge`] keeps, for every attribute, the register
//! that wins by `(at, writer, value)`, a total order: merge is commutative, associative and
//! idempotent, so an edge and the origin that have seen the same updates hold the same fragment
//! whatever order, grouping or duplication the updates came in. A `null` value is a deletion
//! that wins like any other write (a tombstone), so a removed attribute does not come back
//! from an older copy.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::identity::IdentityKey;
use crate::map::ObjectMap;
use crate::time::Timestamp;
use crate::value::Value;

/// One attribute's value with when and by whom it was written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Register {
    /// The value (`null`: the attribute was removed).
    pub value: Value,
    /// When the source says the value became true (a row's update time, an event's time).
    pub at: Timestamp,
    /// Who wrote it (an edge, an import batch): breaks ties between writes at the same time.
    pub writer: String,
}

impl Register {
    /// The total order registers win by: later time, then writer, then value.
    #[must_use]
    pub fn order(&self, other: &Register) -> Ordering {
        self.at
            .cmp(&other.at)
            .then_with(|| self.writer.cmp(&other.writer))
            .then_with(|| self.value.canonical_cmp(&other.value))
    }
}

/// What one dataset knows about one identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fragment {
    /// The dataset (`web`, `crm-contacts`, `loyalty`).
    pub dataset: String,
    /// The identity the dataset keys the record by.
    pub identity: IdentityKey,
    /// Attribute path → register.
    pub attrs: ObjectMap<Register>,
}

impl Fragment {
    /// An empty fragment.
    #[must_use]
    pub fn new(dataset: impl Into<String>, identity: IdentityKey) -> Fragment {
        Fragment { dataset: dataset.into(), identity, attrs: ObjectMap::new() }
    }

    /// Writes one attribute (kept only if it wins over what is there).
    pub fn set(&mut self, path: &str, value: Value, at: Timestamp, writer: &str) {
        self.put(path, Register { value, at, writer: writer.to_owned() });
    }

    fn put(&mut self, path: &str, register: Register) {
        match self.attrs.get_mut(path) {
            Some(current) => {
                if register.order(current) == Ordering::Greater {
                    *current = register;
                }
            }
            None => {
                self.attrs.insert(path.to_owned(), register);
            }
        }
    }

    /// Joins `other` into this fragment (the CRDT merge). Fragments of another dataset or
    /// identity are not merged: the call returns `false` and changes nothing.
    pub fn merge(&mut self, other: &Fragment) -> bool {
        if self.dataset != other.dataset || self.identity != other.identity {
            return false;
        }
        for (path, register) in &other.attrs {
            self.put(path, register.clone());
        }
        true
    }

    /// The live attributes (deletions left out).
    pub fn values(&self) -> impl Iterator<Item = (&String, &Register)> {
        self.attrs.iter().filter(|(_, r)| r.value != Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key() -> IdentityKey {
        IdentityKey::new("CRMID", "crm-1042")
    }

    fn arb_fragment() -> impl Strategy<Value = Fragment> {
        let register = (
            prop_oneof![Just(Value::Null), "[a-c]{1,2}".prop_map(Value::String), (0..3u64).prop_map(Value::from)],
            0..4i64,
            prop_oneof![Just("edge-a"), Just("edge-b"), Just("import-1")],
        )
            .prop_map(|(value, at, writer)| Register { value, at: Timestamp(at), writer: writer.to_owned() });
        prop::collection::vec((prop_oneof![Just("a"), Just("b"), Just("c.d")], register), 0..6).prop_map(|writes| {
            let mut f = Fragment::new("crm", key());
            for (path, r) in writes {
                f.put(path, r);
            }
            f
        })
    }

    fn merged(a: &Fragment, b: &Fragment) -> Fragment {
        let mut m = a.clone();
        assert!(m.merge(b));
        m
    }

    proptest! {
        #[test]
        fn merge_is_commutative(a in arb_fragment(), b in arb_fragment()) {
            prop_assert_eq!(merged(&a, &b), merged(&b, &a));
        }

        #[test]
        fn merge_is_associative(a in arb_fragment(), b in arb_fragment(), c in arb_fragment()) {
            prop_assert_eq!(merged(&merged(&a, &b), &c), merged(&a, &merged(&b, &c)));
        }

        #[test]
        fn merge_is_idempotent(a in arb_fragment(), b in arb_fragment()) {
            prop_assert_eq!(merged(&a, &a), a.clone());
            let ab = merged(&a, &b);
            prop_assert_eq!(merged(&ab, &b), ab);
        }
    }

    #[test]
    fn later_writes_win_and_deletions_stick() {
        let mut f = Fragment::new("loyalty", key());
        f.set("loyalty.tier", Value::from("Bronze"), Timestamp(10), "import-1");
        f.set("loyalty.tier", Value::from("Silver"), Timestamp(5), "import-0");
        assert_eq!(f.attrs.get("loyalty.tier").unwrap().value, Value::from("Bronze"), "an older write loses");
        f.set("loyalty.tier", Value::Null, Timestamp(20), "import-2");
        let mut stale = Fragment::new("loyalty", key());
        stale.set("loyalty.tier", Value::from("Gold"), Timestamp(15), "import-9");
        f.merge(&stale);
        assert_eq!(f.values().count(), 0, "the deletion is newer than the stale copy");
    }

    #[test]
    fn fragments_of_other_datasets_do_not_merge() {
        let mut a = Fragment::new("crm", key());
        assert!(!a.merge(&Fragment::new("web", key())));
        assert!(!a.merge(&Fragment::new("crm", IdentityKey::new("Email", "x@y.z"))));
    }
}
