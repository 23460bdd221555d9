//! Decisioning: which content a visitor gets, decided at the edge (or in the browser) from their
//! profile, segment memberships and what they were already shown.
//!
//! - [`model`]: activities, experiences and offers as operators write them;
//! - [`set`]: the definitions checked and compiled ([`DecisionSet`]), and the decision itself;
//! - [`state`]: per-profile displays of capped offers and conversions;
//! - [`proposition`]: the output, in Adobe's proposition format;
//! - [`device`]: the client bundle and the browser's decider (on-device decisions).
//!
//! A decision is a pure function of the definitions, the visitor (ECID, attributes, memberships,
//! state) and the request (scopes, page, time): the edge, the origin's native edge and the
//! browser's Wasm core give the same answer for the same inputs.

pub mod device;
pub mod model;
pub mod proposition;
pub mod set;
pub mod state;

pub use model::{Activity, Offer, PAGE_SCOPE};
pub use proposition::Proposition;
pub use set::{DISPLAY_EVENT, DecisionSet, DecisionWarning, INTERACT_EVENT, RECORD_READS, Request, Visitor, bucket};
pub use state::DecisionState;
