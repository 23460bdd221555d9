//! Decisioning definitions as operators write them: in the configuration file
//! (`[[activities]]`, `[[offers]]`) and through the admin API (the same fields, as JSON).

use serde::{Deserialize, Serialize};

use crate::value::Value;

/// The scope of the whole page (Adobe's page-wide decision scope).
pub const PAGE_SCOPE: &str = "__view__";

/// What an activity does with the visitors it reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    /// Experience targeting: the first experience whose audience holds.
    #[default]
    Targeting,
    /// A/B test: each visitor falls into one experience by a stable hash of their ECID.
    Ab,
}

/// An activity: experiences (groups of offers) for an audience, on a schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Activity {
    /// A stable id (`home-hero`): letters, digits, `-`, `_`, `.`.
    pub id: String,
    /// A display name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Targeting or A/B test.
    #[serde(default)]
    pub kind: ActivityKind,
    /// Higher first: for a named scope only the highest-priority activity answers; on the page,
    /// the higher-priority activity keeps a selector both change.
    #[serde(default)]
    pub priority: i32,
    /// When it starts (RFC 3339); absent: already started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// When it ends (RFC 3339, exclusive); absent: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// Page paths it runs on (`/`, `/men*`; `*` matches any run of characters); empty: every
    /// page.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pages: Vec<String>,
    /// Who it is for: a PQL condition over the profile and segment memberships; absent:
    /// everyone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// The share of visitors (percent, 0–100) who enter the activity; the rest see what the page
    /// has. Decided by a stable hash of the ECID.
    #[serde(default = "all_traffic")]
    pub traffic: u8,
    /// The experiences, in order.
    pub experiences: Vec<Experience>,
    /// Offers shown for a scope when the chosen experience has no eligible offer for it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fallback: Vec<String>,
    /// The event that counts as a conversion, and whether a converted profile stops seeing the
    /// activity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversion: Option<Conversion>,
    /// Also decided in the browser: the edge sends the activity, its offers, the segments it
    /// reads and the visitor's state for them to SDKs that ask (a client bundle), and the SDK
    /// re-decides as the page's events arrive, without a round trip. Only what the activity reads
    /// leaves the edge.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub on_device: bool,
}

impl Activity {
    /// The offers it may show: its experiences' and its fallback.
    pub fn offer_ids(&self) -> impl Iterator<Item = &String> {
        self.experiences.iter().flat_map(|e| &e.offers).chain(&self.fallback)
    }
}

const fn all_traffic() -> u8 {
    100
}

/// One experience of an activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experience {
    /// Its id within the activity (`a`, `running`).
    pub id: String,
    /// A display name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Targeting: who sees this experience (PQL); absent: everyone left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// A/B: the percentage of the activity's visitors who get this experience. Either every
    /// experience has one and they add up to 100, or none has and the split is even.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocation: Option<u8>,
    /// The offers it may show (ids); per scope, the eligible one with the highest priority.
    /// Empty: the page's own content (a control group).
    #[serde(default)]
    pub offers: Vec<String>,
}

/// What counts as a conversion for an activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conversion {
    /// The `eventType` that converts (`commerce.purchases`).
    pub event: String,
    /// Whether a profile that converted no longer sees the activity.
    #[serde(default)]
    pub suppress: bool,
}

/// An offer: content for one scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Offer {
    /// A stable id (`bronze-welcome`).
    pub id: String,
    /// A display name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Where it goes: `__view__` (the page), a named scope the page asks for (`hero-banner`), or,
    /// with `view`, an SPA view.
    #[serde(default = "page_scope")]
    pub scope: String,
    /// The SPA view it belongs to (`cart`): the SDK keeps it and renders it when that view shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view: Option<String>,
    /// Who may get it: a PQL condition over the profile and segment memberships; absent:
    /// everyone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eligibility: Option<String>,
    /// Higher first among an experience's eligible offers for a scope.
    #[serde(default)]
    pub priority: i32,
    /// When it starts (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// When it ends (RFC 3339, exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// Page paths it may show on (as [`Activity::pages`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pages: Vec<String>,
    /// How often one profile may see it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<Cap>,
    /// The content.
    pub items: Vec<Item>,
}

fn page_scope() -> String {
    PAGE_SCOPE.to_owned()
}

/// A frequency cap: at most `max` displays per profile within `window`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cap {
    /// Displays allowed (1–100).
    pub max: u32,
    /// The window: `30m`, `12h`, `7d`; absent: the profile's lifetime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
}

/// One piece of an offer's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    /// A DOM action (`setHtml`, `setText`, `setAttribute`, `setImageSource`, `setStyle`,
    /// `replaceHtml`, `appendHtml`, `prependHtml`, `insertBefore`, `insertAfter`, `remove`,
    /// `click`), or `html` (HTML for a named scope, placed by the page), `json` (data for the
    /// page's code), `default` (the page's own content, counted as shown).
    pub action: String,
    /// The CSS selector DOM actions apply to (Adobe's `:eq(n)` extension included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    /// HTML or text for the `*Html`/`setText`/`html` actions, a URL for `setImageSource`, an
    /// object for `setAttribute`/`setStyle`/`json`.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub content: Value,
    /// The label clicks inside the content are reported with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// The DOM actions an item may name, as Adobe's `dom-action` schema spells them.
pub const DOM_ACTIONS: [&str; 12] = [
    "setHtml",
    "setText",
    "setAttribute",
    "setImageSource",
    "setStyle",
    "replaceHtml",
    "appendHtml",
    "prependHtml",
    "insertBefore",
    "insertAfter",
    "remove",
    "click",
];
