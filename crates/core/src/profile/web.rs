//! The attributes the edge keeps from web events, in the `web` dataset of the visitor's ECID:
//! when they were last seen, the last page, the last product they looked at.

use super::WEB_DATASET;
use super::fragment::Fragment;
use crate::identity::{Ecid, IdentityKey};
use crate::time::Timestamp;
use crate::value::Value;
use crate::xdm::ExperienceEvent;

/// The web fragment update an event makes, written by `writer` (the edge).
#[must_use]
pub fn web_update(ecid: &Ecid, events: &[(&ExperienceEvent, Timestamp)], writer: &str) -> Option<Fragment> {
    if events.is_empty() {
        return None;
    }
    let mut f = Fragment::new(WEB_DATASET, IdentityKey::new(Ecid::NAMESPACE, ecid.as_str()));
    for (xdm, at) in events {
        f.set("web.lastSeen", Value::from(at.to_rfc3339()), *at, writer);
        if let Some(url) = xdm.page_url() {
            f.set("web.lastPageURL", Value::from(url), *at, writer);
        }
        if let Some(sku) = xdm.product_list_items.first().and_then(|p| p.sku.as_deref()) {
            f.set("web.lastProductSKU", Value::from(sku), *at, writer);
        }
    }
    Some(f)
}
