//! Decisions in Adobe's proposition format (the `personalization:decisions` handle; see
//! `edge-protocol.md` §3.4), which the Adobe Web SDK and sdk-js render.

use serde::{Deserialize, Serialize};

use crate::value::Value;

/// `scopeDetails.decisionProvider` of our propositions. Opaque to SDKs except that Adobe's SDK
/// turns click tracking on by default for `AJO` only; sdk-js tracks clicks for ours.
pub const DECISION_PROVIDER: &str = "EDGECDP";

/// The item schemas.
pub mod schema {
    /// A DOM action (`data.type`, `data.selector`, `data.content`).
    pub const DOM_ACTION: &str = "https://ns.adobe.com/personalization/dom-action";
    /// HTML for a scope (placed by the page through `applyPropositions`).
    pub const HTML: &str = "https://ns.adobe.com/personalization/html-content-item";
    /// JSON data for the page's code.
    pub const JSON: &str = "https://ns.adobe.com/personalization/json-content-item";
    /// The page's own content (a control experience): nothing to render, counted as shown.
    pub const DEFAULT: &str = "https://ns.adobe.com/personalization/default-content-item";
}

/// One decision: an offer for a scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Proposition {
    /// Stable for the same activity, experience, offer and scope (the SDKs echo it back).
    pub id: String,
    /// `__view__`, a named scope, or an SPA view name.
    pub scope: String,
    /// Echoed back verbatim in display and interact notifications.
    pub scope_details: ScopeDetails,
    /// The content.
    pub items: Vec<PropositionItem>,
}

/// What a proposition came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopeDetails {
    /// [`DECISION_PROVIDER`].
    pub decision_provider: String,
    /// The activity.
    pub activity: IdRef,
    /// The experience.
    pub experience: IdRef,
    /// The offer (an edgecdp extension; display notifications bring it back for caps).
    pub offer: IdRef,
    /// `activity:experience`.
    #[serde(rename = "correlationID")]
    pub correlation_id: String,
    /// `scopeType: "view"` for SPA view propositions.
    #[serde(default)]
    pub characteristics: Characteristics,
}

/// An id wrapper, as Adobe nests them (`{"id": "a1"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdRef {
    /// The id.
    pub id: String,
}

/// `scopeDetails.characteristics`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Characteristics {
    /// `view` for an SPA view's proposition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope_type: Option<String>,
}

/// One content item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropositionItem {
    /// `{offer}#{index}`.
    pub id: String,
    /// One of [`schema`].
    pub schema: String,
    /// Names for the caller (`activity.name`, `offer.name`).
    #[serde(default, skip_serializing_if = "crate::map::ObjectMap::is_empty")]
    pub meta: crate::map::ObjectMap<String>,
    /// `trackingLabel`, when the item has a label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub characteristics: Option<ItemCharacteristics>,
    /// What to render.
    pub data: ItemData,
}

/// An item's `characteristics`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemCharacteristics {
    /// Clicks inside the content are reported with this label.
    pub tracking_label: String,
}

/// An item's `data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemData {
    /// The DOM action (dom-action items).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The CSS selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    /// Hidden until the item is rendered (the selector itself for content-changing actions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prehiding_selector: Option<String>,
    /// The content.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub content: Value,
    /// `text/html`, `application/json`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}
