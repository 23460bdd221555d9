//! # edgecdp-wasm-device
//!
//! On-device decisions in the browser: a [`Decider`] is made from the client bundle the edge
//! sends (`edgecdp:bundle`), folds the page's events as they are sent, and decides the on-device
//! activities again without a round trip, with the core's own code (the edge gives the same
//! answer for the same inputs; the shared vectors in `tests/spec/` check it).
//!
//! A separate module from the browser core (`edgecdp-wasm`): it carries the segment compiler,
//! which pages that do not decide on-device should not download. Values cross as JSON text.
//!
//! ```text
//! const d = new Decider(JSON.stringify(bundle));        // throws a message when it is not one
//! d.onEvent(JSON.stringify(xdm), eventId, Date.now());  // → JSON of the segment transitions
//! d.decide(JSON.stringify(["__view__"]), location.href, Date.now());  // → JSON propositions
//! ```

use edgecdp_core::decide::device::{Bundle, Device};
use edgecdp_core::time::Timestamp;
use edgecdp_core::value::Value;
use wasm_bindgen::prelude::*;

/// A visitor's on-device decider.
#[wasm_bindgen]
pub struct Decider {
    device: Device,
    skipped: String,
}

#[allow(clippy::cast_possible_truncation, reason = "JavaScript times are whole milliseconds")]
fn at(ms: f64) -> Timestamp {
    Timestamp(ms as i64)
}

#[wasm_bindgen]
impl Decider {
    /// Compiles a client bundle (its JSON text).
    ///
    /// # Errors
    /// A message when the text is not a bundle.
    #[wasm_bindgen(constructor)]
    pub fn new(bundle: &str) -> Result<Decider, JsError> {
        let bundle: Bundle =
            serde_json::from_str(bundle).map_err(|e| JsError::new(&format!("not a client bundle: {e}")))?;
        let (device, skipped) = Device::new(bundle);
        let skipped = serde_json::to_string(&skipped).unwrap_or_else(|_| "[]".into());
        Ok(Decider { device, skipped })
    }

    /// The definitions this build could not compile (JSON `[{id, error}]`; normally `[]`).
    #[must_use]
    pub fn skipped(&self) -> String {
        self.skipped.clone()
    }

    /// Folds one of the page's events (its `xdm` as JSON text) sent at `at_ms`; returns the
    /// segment entries and exits it caused (JSON).
    ///
    /// # Errors
    /// A message when the text is not a JSON object.
    #[wasm_bindgen(js_name = onEvent)]
    pub fn on_event(&mut self, xdm: &str, event_id: &str, at_ms: f64) -> Result<String, JsError> {
        let xdm: Value = serde_json::from_str(xdm).map_err(|e| JsError::new(&format!("not an event: {e}")))?;
        if xdm.as_object().is_none() {
            return Err(JsError::new("not an event: expected a JSON object"));
        }
        let transitions = self.device.on_event(&xdm, event_id, at(at_ms));
        Ok(serde_json::to_string(&transitions).unwrap_or_else(|_| "[]".into()))
    }

    /// Decides the scopes (a JSON array of strings) for the page at `now_ms`: JSON propositions,
    /// in the edge's format.
    ///
    /// # Errors
    /// A message when `scopes` is not a JSON array of strings.
    #[allow(clippy::needless_pass_by_value, reason = "wasm-bindgen passes an optional string owned")]
    pub fn decide(&mut self, scopes: &str, page: Option<String>, now_ms: f64) -> Result<String, JsError> {
        let scopes: Vec<String> = serde_json::from_str(scopes)
            .map_err(|e| JsError::new(&format!("scopes: expected a JSON array of strings: {e}")))?;
        let propositions = self.device.decide(&scopes, page.as_deref(), at(now_ms));
        Ok(serde_json::to_string(&propositions).unwrap_or_else(|_| "[]".into()))
    }

    /// The segments the visitor is in, as decided last (JSON array of ids).
    #[must_use]
    pub fn segments(&self) -> String {
        serde_json::to_string(&self.device.members().collect::<Vec<_>>()).unwrap_or_else(|_| "[]".into())
    }
}
