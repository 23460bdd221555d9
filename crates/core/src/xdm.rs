//! The XDM ExperienceEvent model: typed where the engine reads a field, verbatim elsewhere.
//!
//! Field names are XDM's own (`eventType`, `timestamp`, `identityMap`, `web.webPageDetails`,
//! `commerce`, `productListItems`, ...). Every object keeps the members it does not know in
//! `other`, so tenant fields (`_luma.*`), `device`, `environment`, `placeContext`,
//! `_experience` and anything newer travel through the edge untouched.
//!
//! [`Event::from_value`] reads and validates one event against [`Limits`], collecting every
//! problem as a [`FieldError`] naming its path; [`Event::to_value`] writes it back.

use crate::field::{Errors, FieldError, Path, quote};
use crate::identity::Namespaces;
use crate::identity::resolve::normalize_identity_map;
use crate::limits::Limits;
use crate::time::Timestamp;
use crate::value::{Map, Value};

/// One event as the edge receives it: XDM plus free-form `data`.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The XDM ExperienceEvent.
    pub xdm: ExperienceEvent,
    /// Free-form data sent beside XDM (`sendEvent({ data })`).
    pub data: Option<Map>,
}

/// An XDM ExperienceEvent.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExperienceEvent {
    /// `_id`: the event's unique id (the edge assigns one when absent).
    pub id: Option<String>,
    /// `eventType`, e.g. `web.webpagedetails.pageViews`, `commerce.productListAdds`.
    pub event_type: Option<String>,
    /// `timestamp`: when the event happened (the edge fills in its receive time when absent).
    pub timestamp: Option<Timestamp>,
    /// `identityMap`: identities by namespace.
    pub identity_map: IdentityMap,
    /// `web`: page and referrer.
    pub web: Option<Web>,
    /// `commerce`: commerce measures and order.
    pub commerce: Option<Commerce>,
    /// `productListItems`: the products the event is about.
    pub product_list_items: Vec<ProductListItem>,
    /// Every other member, verbatim.
    pub other: Map,
}

/// `identityMap`: namespace code → identities.
pub type IdentityMap = crate::map::ObjectMap<Vec<IdentityItem>>;

/// One entry of an `identityMap`.
#[derive(Debug, Clone, PartialEq)]
pub struct IdentityItem {
    /// `id`: the identity value.
    pub id: String,
    /// `authenticatedState`.
    pub authenticated_state: AuthenticatedState,
    /// `primary`: whether this is the event's primary identity.
    pub primary: bool,
    /// Every other member, verbatim.
    pub other: Map,
}

/// `authenticatedState` of an identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
pub enum AuthenticatedState {
    /// `ambiguous` (the default): not known whether the visitor is logged in.
    #[default]
    Ambiguous,
    /// `authenticated`: the visitor proved this identity (logged in).
    Authenticated,
    /// `loggedOut`: the visitor was authenticated and logged out.
    LoggedOut,
}

impl AuthenticatedState {
    /// The XDM spelling.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            AuthenticatedState::Ambiguous => "ambiguous",
            AuthenticatedState::Authenticated => "authenticated",
            AuthenticatedState::LoggedOut => "loggedOut",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "ambiguous" => Some(AuthenticatedState::Ambiguous),
            "authenticated" => Some(AuthenticatedState::Authenticated),
            "loggedOut" => Some(AuthenticatedState::LoggedOut),
            _ => None,
        }
    }
}

/// `web`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Web {
    /// `web.webPageDetails`.
    pub web_page_details: Option<WebPageDetails>,
    /// `web.webReferrer.URL`.
    pub referrer_url: Option<String>,
    /// Every other member of `web` (and of `webReferrer` under its key), verbatim.
    pub other: Map,
}

/// `web.webPageDetails`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WebPageDetails {
    /// `URL`.
    pub url: Option<String>,
    /// `name`: the page name.
    pub name: Option<String>,
    /// `viewName`: the SPA view.
    pub view_name: Option<String>,
    /// Every other member, verbatim (`pageViews`, `siteSection`, ...).
    pub other: Map,
}

/// `commerce`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Commerce {
    /// The commerce measures present (`productViews`, `productListAdds`, `purchases`, ...),
    /// by XDM name, with their `value`.
    pub measures: crate::map::ObjectMap<f64>,
    /// `order`.
    pub order: Option<Order>,
    /// Every other member, verbatim (measures keep their other members here too).
    pub other: Map,
}

/// The XDM commerce measures the engine reads (each `{ "value": number }`).
pub const COMMERCE_MEASURES: [&str; 9] = [
    "productViews",
    "productListViews",
    "productListOpens",
    "productListAdds",
    "productListRemovals",
    "productListReopens",
    "saveForLaters",
    "checkouts",
    "purchases",
];

/// `commerce.order`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Order {
    /// `purchaseID`.
    pub purchase_id: Option<String>,
    /// `priceTotal`.
    pub price_total: Option<f64>,
    /// `currencyCode` (ISO 4217).
    pub currency_code: Option<String>,
    /// Every other member, verbatim.
    pub other: Map,
}

/// One element of `productListItems`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProductListItem {
    /// `SKU`.
    pub sku: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// `quantity` (a non-negative integer).
    pub quantity: Option<i64>,
    /// `priceTotal`.
    pub price_total: Option<f64>,
    /// `currencyCode`.
    pub currency_code: Option<String>,
    /// `productCategories[].categoryID`, in order.
    pub product_categories: Vec<String>,
    /// Every other member, verbatim (categories keep their other members under their key).
    pub other: Map,
}

impl Event {
    /// Reads one event like [`Event::from_value`], then checks and normalizes its identities
    /// against the declared namespaces (unknown namespaces, blocked values, malformed emails,
    /// phones, hashes and ECIDs are errors naming the identity's path).
    ///
    /// # Errors
    /// Every problem found, each naming its field.
    pub fn read(
        value: Value,
        path: &Path<'_>,
        limits: &Limits,
        namespaces: &Namespaces,
    ) -> Result<Event, Vec<FieldError>> {
        let mut errs = Errors::new();
        let mut event = Event::parse(value, path, limits, &mut errs);
        let xdm_path = path.key("xdm");
        for e in normalize_identity_map(&mut event.xdm.identity_map, namespaces, &xdm_path.key("identityMap")) {
            errs.push(e);
        }
        errs.finish(event)
    }

    /// Reads one event (`{ "xdm": {...}, "data": {...} }`) and checks it against `limits`.
    ///
    /// `path` names the event in errors (`events[0]`). Members of the event object other than
    /// `xdm` and `data` (such as `query`) are the protocol's business and are ignored here.
    ///
    /// # Errors
    /// Every problem found, each naming its field.
    pub fn from_value(value: Value, path: &Path<'_>, limits: &Limits) -> Result<Event, Vec<FieldError>> {
        let mut errs = Errors::new();
        let event = Event::parse(value, path, limits, &mut errs);
        errs.finish(event)
    }

    /// Reads what it can, recording every problem.
    fn parse(value: Value, path: &Path<'_>, limits: &Limits, errs: &mut Errors) -> Event {
        let Some(mut map) = errs.object(value, path) else {
            return Event::empty();
        };
        let xdm_value = map.remove("xdm").unwrap_or(Value::Object(Map::new()));
        let data_value = map.remove("data");
        check_size_and_shape(&xdm_value, data_value.as_ref(), path, limits, errs);
        let xdm_path = path.key("xdm");
        let xdm = match errs.object(xdm_value, &xdm_path) {
            Some(m) => ExperienceEvent::read(m, &xdm_path, limits, errs),
            None => ExperienceEvent::default(),
        };
        let data = match data_value {
            None | Some(Value::Null) => None,
            Some(v) => errs.object(v, &path.key("data")),
        };
        Event { xdm, data }
    }

    fn empty() -> Event {
        Event { xdm: ExperienceEvent::default(), data: None }
    }

    /// Writes the event back as `{ "xdm": {...}, "data": {...} }`.
    #[must_use]
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("xdm".into(), self.xdm.to_value());
        if let Some(data) = &self.data {
            m.insert("data".into(), Value::Object(data.clone()));
        }
        Value::Object(m)
    }
}

/// Size, array lengths and number finiteness over the whole event, before typed reading.
fn check_size_and_shape(xdm: &Value, data: Option<&Value>, path: &Path<'_>, limits: &Limits, errs: &mut Errors) {
    // `{"xdm":` + xdm + `,"data":` + data + `}`
    let bytes = 8 + xdm.json_len() + data.map_or(0, |d| 8 + d.json_len());
    if bytes > limits.max_event_bytes {
        errs.push(FieldError::EventTooLarge { path: path.to_string(), bytes, limit: limits.max_event_bytes });
    }
    walk_arrays(xdm, &path.key("xdm"), limits, errs);
    if let Some(d) = data {
        walk_arrays(d, &path.key("data"), limits, errs);
    }
}

fn walk_arrays(v: &Value, path: &Path<'_>, limits: &Limits, errs: &mut Errors) {
    match v {
        Value::Array(items) => {
            if items.len() > limits.max_array_items {
                errs.push(FieldError::TooManyItems {
                    path: path.to_string(),
                    len: items.len(),
                    limit: limits.max_array_items,
                });
            }
            for (i, item) in items.iter().enumerate() {
                walk_arrays(item, &path.index(i), limits, errs);
            }
        }
        Value::Object(m) => {
            for (k, item) in m {
                walk_arrays(item, &path.key(k), limits, errs);
            }
        }
        Value::Number(n) if !n.is_finite() => errs.push(FieldError::InvalidValue {
            path: path.to_string(),
            expected: "a finite number".into(),
            found: "NaN or infinity".into(),
        }),
        _ => {}
    }
}

impl ExperienceEvent {
    fn read(mut m: Map, path: &Path<'_>, limits: &Limits, errs: &mut Errors) -> ExperienceEvent {
        let id = errs.take_str(&mut m, "_id", path);
        let event_type = errs.take_str(&mut m, "eventType", path);
        let timestamp = errs.take_str(&mut m, "timestamp", path).and_then(|t| {
            Timestamp::parse_rfc3339(&t)
                .map_err(|e| {
                    errs.push(FieldError::InvalidValue {
                        path: path.key("timestamp").to_string(),
                        expected: "an RFC 3339 date-time such as \"2026-07-22T16:00:00.000Z\"".into(),
                        found: quote(&e.found),
                    });
                })
                .ok()
        });
        let identity_map = errs
            .take_object(&mut m, "identityMap", path)
            .map(|im| read_identity_map(im, &path.key("identityMap"), limits, errs))
            .unwrap_or_default();
        let web = errs.take_object(&mut m, "web", path).map(|w| Web::read(w, &path.key("web"), errs));
        let commerce =
            errs.take_object(&mut m, "commerce", path).map(|c| Commerce::read(c, &path.key("commerce"), errs));
        let product_list_items = errs
            .take_array(&mut m, "productListItems", path)
            .map(|items| {
                let items_path = path.key("productListItems");
                items
                    .into_iter()
                    .enumerate()
                    .filter_map(|(i, item)| {
                        let p = items_path.index(i);
                        errs.object(item, &p).map(|o| ProductListItem::read(o, &p, errs))
                    })
                    .collect()
            })
            .unwrap_or_default();
        ExperienceEvent { id, event_type, timestamp, identity_map, web, commerce, product_list_items, other: m }
    }

    /// Writes the event back as XDM JSON (timestamps in UTC with milliseconds).
    #[must_use]
    pub fn to_value(&self) -> Value {
        let mut m = self.other.clone();
        put_str(&mut m, "_id", self.id.as_ref());
        put_str(&mut m, "eventType", self.event_type.as_ref());
        if let Some(t) = self.timestamp {
            m.insert("timestamp".into(), Value::String(t.to_rfc3339()));
        }
        if !self.identity_map.is_empty() {
            m.insert("identityMap".into(), identity_map_to_value(&self.identity_map));
        }
        if let Some(web) = &self.web {
            m.insert("web".into(), web.to_value());
        }
        if let Some(c) = &self.commerce {
            m.insert("commerce".into(), c.to_value());
        }
        if !self.product_list_items.is_empty() {
            m.insert(
                "productListItems".into(),
                Value::Array(self.product_list_items.iter().map(ProductListItem::to_value).collect()),
            );
        }
        Value::Object(m)
    }

    /// The page URL (`web.webPageDetails.URL`), if given.
    #[must_use]
    pub fn page_url(&self) -> Option<&str> {
        self.web.as_ref()?.web_page_details.as_ref()?.url.as_deref()
    }

    /// The number of identities over all namespaces.
    #[must_use]
    pub fn identity_count(&self) -> usize {
        self.identity_map.values().map(Vec::len).sum()
    }
}

fn put_str(m: &mut Map, key: &str, v: Option<&String>) {
    if let Some(s) = v {
        m.insert(key.into(), Value::String(s.clone()));
    }
}

fn put_f64(m: &mut Map, key: &str, v: Option<f64>) {
    if let Some(f) = v {
        m.insert(key.into(), Value::from(f));
    }
}

/// A namespace code: letters, digits, `_`, `-` and `.`, starting with a letter or `_`.
fn valid_namespace(ns: &str) -> bool {
    let mut chars = ns.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Reads an `identityMap` object, checking namespaces, values and the identity count.
pub(crate) fn read_identity_map(m: Map, path: &Path<'_>, limits: &Limits, errs: &mut Errors) -> IdentityMap {
    let count: usize = m.values().map(|v| v.as_array().map_or(1, <[Value]>::len)).sum();
    if count > limits.max_identities_per_event {
        errs.push(FieldError::TooManyIdentities {
            path: path.to_string(),
            count,
            limit: limits.max_identities_per_event,
        });
    }
    let mut out = IdentityMap::new();
    let mut primaries = Vec::new();
    for (ns, items) in m {
        let ns_path = path.key(&ns);
        if ns.chars().count() > limits.max_namespace_len {
            errs.push(FieldError::TooLong {
                path: ns_path.to_string(),
                len: ns.chars().count(),
                limit: limits.max_namespace_len,
            });
            continue;
        }
        if !valid_namespace(&ns) {
            errs.push(FieldError::InvalidValue {
                path: ns_path.to_string(),
                expected: "a namespace code of letters, digits, '_', '-' or '.'".into(),
                found: quote(&ns),
            });
            continue;
        }
        let Value::Array(items) = items else {
            errs.wrong_type(&ns_path, "an array of identities", &items);
            continue;
        };
        let mut list = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            let item_path = ns_path.index(i);
            let Some(obj) = errs.object(item, &item_path) else {
                continue;
            };
            if let Some(item) = IdentityItem::read(obj, &item_path, limits, errs) {
                if item.primary {
                    primaries.push(item_path.to_string());
                }
                list.push(item);
            }
        }
        out.insert(ns, list);
    }
    if primaries.len() > 1 {
        errs.push(FieldError::InvalidValue {
            path: path.to_string(),
            expected: "at most one identity marked primary".into(),
            found: format!("{} ({})", primaries.len(), primaries.join(", ")),
        });
    }
    out
}

/// Writes an `identityMap` back as XDM JSON.
#[must_use]
pub fn identity_map_to_value(im: &IdentityMap) -> Value {
    Value::Object(
        im.iter()
            .map(|(ns, items)| (ns.clone(), Value::Array(items.iter().map(IdentityItem::to_value).collect())))
            .collect(),
    )
}

impl IdentityItem {
    fn read(mut m: Map, path: &Path<'_>, limits: &Limits, errs: &mut Errors) -> Option<IdentityItem> {
        let id = match m.remove("id") {
            None | Some(Value::Null) => {
                errs.push(FieldError::Missing { path: path.key("id").to_string() });
                None
            }
            Some(Value::String(s)) => Some(s),
            Some(other) => {
                errs.wrong_type(&path.key("id"), "a string", &other);
                None
            }
        };
        let state = errs
            .take_str(&mut m, "authenticatedState", path)
            .and_then(|s| {
                let parsed = AuthenticatedState::parse(&s);
                if parsed.is_none() {
                    errs.push(FieldError::InvalidValue {
                        path: path.key("authenticatedState").to_string(),
                        expected: "one of \"ambiguous\", \"authenticated\", \"loggedOut\"".into(),
                        found: quote(&s),
                    });
                }
                parsed
            })
            .unwrap_or_default();
        let primary = errs.take_bool(&mut m, "primary", path).unwrap_or(false);
        let id = id?;
        let id_path = path.key("id");
        let len = id.chars().count();
        if id.trim().is_empty() {
            errs.push(FieldError::InvalidValue {
                path: id_path.to_string(),
                expected: "a non-empty identity value".into(),
                found: quote(&id),
            });
            return None;
        }
        if len > limits.max_identity_len {
            errs.push(FieldError::TooLong { path: id_path.to_string(), len, limit: limits.max_identity_len });
            return None;
        }
        Some(IdentityItem { id, authenticated_state: state, primary, other: m })
    }

    /// Writes the item back as XDM JSON.
    #[must_use]
    pub fn to_value(&self) -> Value {
        let mut m = self.other.clone();
        m.insert("id".into(), Value::String(self.id.clone()));
        m.insert("authenticatedState".into(), Value::from(self.authenticated_state.as_str()));
        m.insert("primary".into(), Value::Bool(self.primary));
        Value::Object(m)
    }
}

impl Web {
    fn read(mut m: Map, path: &Path<'_>, errs: &mut Errors) -> Web {
        let web_page_details = errs.take_object(&mut m, "webPageDetails", path).map(|mut d| {
            let p = path.key("webPageDetails");
            WebPageDetails {
                url: errs.take_str(&mut d, "URL", &p),
                name: errs.take_str(&mut d, "name", &p),
                view_name: errs.take_str(&mut d, "viewName", &p),
                other: d,
            }
        });
        let mut referrer_url = None;
        if let Some(mut r) = errs.take_object(&mut m, "webReferrer", path) {
            referrer_url = errs.take_str(&mut r, "URL", &path.key("webReferrer"));
            if !r.is_empty() {
                m.insert("webReferrer".into(), Value::Object(r));
            }
        }
        Web { web_page_details, referrer_url, other: m }
    }

    fn to_value(&self) -> Value {
        let mut m = self.other.clone();
        if let Some(d) = &self.web_page_details {
            let mut dm = d.other.clone();
            put_str(&mut dm, "URL", d.url.as_ref());
            put_str(&mut dm, "name", d.name.as_ref());
            put_str(&mut dm, "viewName", d.view_name.as_ref());
            m.insert("webPageDetails".into(), Value::Object(dm));
        }
        if let Some(url) = &self.referrer_url {
            let entry = m.get_or_insert_with("webReferrer", || Value::Object(Map::new()));
            if let Value::Object(r) = entry {
                r.insert("URL".into(), Value::String(url.clone()));
            }
        }
        Value::Object(m)
    }
}

impl Commerce {
    fn read(mut m: Map, path: &Path<'_>, errs: &mut Errors) -> Commerce {
        let mut measures = crate::map::ObjectMap::new();
        for name in COMMERCE_MEASURES {
            let Some(mut measure) = errs.take_object(&mut m, name, path) else {
                continue;
            };
            let p = path.key(name);
            // `{ "value": 1 }`; a measure present without a value counts once, as in XDM.
            let value = errs.take_f64(&mut measure, "value", &p).unwrap_or(1.0);
            measures.insert(name.to_owned(), value);
            if !measure.is_empty() {
                m.insert(name.to_owned(), Value::Object(measure));
            }
        }
        let order = errs.take_object(&mut m, "order", path).map(|mut o| {
            let p = path.key("order");
            Order {
                purchase_id: errs.take_str(&mut o, "purchaseID", &p),
                price_total: errs.take_f64(&mut o, "priceTotal", &p),
                currency_code: errs.take_str(&mut o, "currencyCode", &p),
                other: o,
            }
        });
        Commerce { measures, order, other: m }
    }

    fn to_value(&self) -> Value {
        let mut m = self.other.clone();
        for (name, value) in &self.measures {
            let entry = m.get_or_insert_with(name, || Value::Object(Map::new()));
            if let Value::Object(o) = entry {
                o.insert("value".into(), Value::from(*value));
            }
        }
        if let Some(o) = &self.order {
            let mut om = o.other.clone();
            put_str(&mut om, "purchaseID", o.purchase_id.as_ref());
            put_f64(&mut om, "priceTotal", o.price_total);
            put_str(&mut om, "currencyCode", o.currency_code.as_ref());
            m.insert("order".into(), Value::Object(om));
        }
        Value::Object(m)
    }
}

impl ProductListItem {
    fn read(mut m: Map, path: &Path<'_>, errs: &mut Errors) -> ProductListItem {
        let quantity = errs.take_i64(&mut m, "quantity", path).and_then(|q| {
            if q < 0 {
                errs.push(FieldError::InvalidValue {
                    path: path.key("quantity").to_string(),
                    expected: "a non-negative integer".into(),
                    found: q.to_string(),
                });
                None
            } else {
                Some(q)
            }
        });
        let mut product_categories = Vec::new();
        if let Some(cats) = errs.take_array(&mut m, "productCategories", path) {
            let cats_path = path.key("productCategories");
            let mut kept = Vec::with_capacity(cats.len());
            for (i, cat) in cats.into_iter().enumerate() {
                let p = cats_path.index(i);
                let Some(mut c) = errs.object(cat, &p) else {
                    continue;
                };
                if let Some(id) = errs.take_str(&mut c, "categoryID", &p) {
                    product_categories.push(id);
                }
                kept.push(Value::Object(c));
            }
            if kept.iter().any(|c| c.as_object().is_some_and(|o| !o.is_empty())) {
                m.insert("productCategories".into(), Value::Array(kept));
            }
        }
        ProductListItem {
            sku: errs.take_str(&mut m, "SKU", path),
            name: errs.take_str(&mut m, "name", path),
            quantity,
            price_total: errs.take_f64(&mut m, "priceTotal", path),
            currency_code: errs.take_str(&mut m, "currencyCode", path),
            product_categories,
            other: m,
        }
    }

    fn to_value(&self) -> Value {
        let mut m = self.other.clone();
        put_str(&mut m, "SKU", self.sku.as_ref());
        put_str(&mut m, "name", self.name.as_ref());
        if let Some(q) = self.quantity {
            m.insert("quantity".into(), Value::from(q));
        }
        put_f64(&mut m, "priceTotal", self.price_total);
        put_str(&mut m, "currencyCode", self.currency_code.as_ref());
        if !self.product_categories.is_empty() {
            let kept = match m.remove("productCategories") {
                Some(Value::Array(a)) => a,
                _ => Vec::new(),
            };
            let cats = self
                .product_categories
                .iter()
                .enumerate()
                .map(|(i, id)| {
                    let mut c = kept.get(i).and_then(Value::as_object).cloned().unwrap_or_default();
                    c.insert("categoryID".into(), Value::String(id.clone()));
                    Value::Object(c)
                })
                .collect();
            m.insert("productCategories".into(), Value::Array(cats));
        }
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object;

    fn parse(v: &str) -> Result<Event, Vec<FieldError>> {
        let value: Value = serde_json::from_str(v).unwrap();
        Event::read(value, &Path::Root("event"), &Limits::new(), &Namespaces::defaults())
    }

    #[test]
    fn reads_known_fields_and_keeps_the_rest() {
        let e = parse(
            r#"{"xdm":{"eventType":"commerce.productListAdds","timestamp":"2026-07-22T16:00:00Z",
                "identityMap":{"Email":[{"id":"sarah.rose@example.com","authenticatedState":"authenticated","primary":true}]},
                "web":{"webPageDetails":{"URL":"https://luma.test/men","name":"men","siteSection":"m"},"webReferrer":{"URL":"https://q"}},
                "commerce":{"productListAdds":{"value":1},"order":{"priceTotal":59.5,"currencyCode":"USD"}},
                "productListItems":[{"SKU":"MS-01","quantity":1,"priceTotal":59.5,"productCategories":[{"categoryID":"men/sweatshirts"}],"_luma":{"size":"L"}}],
                "_luma":{"loyalty":"bronze"},"device":{"screenWidth":1280}},
               "data":{"free":"form"}}"#,
        )
        .unwrap();
        assert_eq!(e.xdm.event_type.as_deref(), Some("commerce.productListAdds"));
        assert_eq!(e.xdm.page_url(), Some("https://luma.test/men"));
        assert_eq!(e.xdm.identity_map.get("Email").unwrap()[0].authenticated_state, AuthenticatedState::Authenticated);
        assert_eq!(*e.xdm.commerce.as_ref().unwrap().measures.get("productListAdds").unwrap(), 1.0);
        let item = &e.xdm.product_list_items[0];
        assert_eq!(item.sku.as_deref(), Some("MS-01"));
        assert_eq!(item.product_categories, vec!["men/sweatshirts".to_string()]);
        assert_eq!(item.other.get("_luma"), Some(&object! { "size" => "L" }));
        assert!(e.xdm.other.contains_key("_luma") && e.xdm.other.contains_key("device"));
        assert_eq!(e.data.as_ref().unwrap().get("free"), Some(&Value::from("form")));
    }

    #[test]
    fn writing_back_keeps_every_member() {
        let text = r#"{"xdm":{"_id":"e1","eventType":"web.webpagedetails.pageViews","timestamp":"2026-07-22T16:00:00.000Z",
            "identityMap":{"ECID":[{"id":"52815286440582716171370361733432581330","authenticatedState":"ambiguous","primary":false}]},
            "web":{"webPageDetails":{"URL":"https://luma.test/","pageViews":{"value":1}},"webReferrer":{"URL":"https://r","x":1}},
            "commerce":{"purchases":{"value":1,"id":"p"},"order":{"purchaseID":"o-1","priceTotal":10.5,"payments":[]}},
            "productListItems":[{"SKU":"A","quantity":2,"productCategories":[{"categoryID":"c","schema":"s"}]}],
            "_luma":{"a":[1,2,3]}},"data":{"k":null}}"#;
        let original: Value = serde_json::from_str(text).unwrap();
        let e = Event::from_value(original.clone(), &Path::Root("event"), &Limits::new()).unwrap();
        assert_eq!(e.to_value(), original);
    }

    #[test]
    fn names_every_bad_field() {
        let errs = parse(
            r#"{"xdm":{"eventType":7,"timestamp":"noon",
                "identityMap":{"Email":[{"id":""}],"CRMID":[{"id":"u1","authenticatedState":"maybe"}],"ECID":[{"id":"123"}],"bad ns":[{"id":"x"}]},
                "productListItems":[{"quantity":-1},{"quantity":1.5},"nope"]}}"#,
        )
        .unwrap_err();
        let paths: Vec<&str> = errs.iter().map(FieldError::path).collect();
        for expected in [
            "event.xdm.eventType",
            "event.xdm.timestamp",
            "event.xdm.identityMap.Email[0].id",
            "event.xdm.identityMap.CRMID[0].authenticatedState",
            "event.xdm.identityMap.ECID[0].id",
            "event.xdm.identityMap[\"bad ns\"]",
            "event.xdm.productListItems[0].quantity",
            "event.xdm.productListItems[1].quantity",
            "event.xdm.productListItems[2]",
        ] {
            assert!(paths.contains(&expected), "missing {expected} in {paths:?}");
        }
        let msg = errs[0].to_string();
        assert!(msg.starts_with("event.xdm."), "{msg}");
    }

    #[test]
    fn enforces_limits() {
        let ids: Vec<Value> = (0..21).map(|i| object! { "id" => format!("u{i}") }).collect();
        let big = "x".repeat(11 * 1024);
        let v = object! {
            "xdm" => object! { "identityMap" => object! { "CRMID" => Value::Array(ids) }, "_big" => big.as_str() },
        };
        let errs = Event::from_value(v, &Path::Root("event"), &Limits::new()).unwrap_err();
        assert!(errs.iter().any(|e| matches!(e, FieldError::TooManyIdentities { count: 21, limit: 20, .. })));
        assert!(errs.iter().any(|e| matches!(e, FieldError::EventTooLarge { limit: 10240, .. })));
    }

    #[test]
    fn two_primaries_are_refused() {
        let errs = parse(
            r#"{"xdm":{"identityMap":{"Email":[{"id":"a@x","primary":true}],"CRMID":[{"id":"1","primary":true}]}}}"#,
        )
        .unwrap_err();
        assert!(errs[0].to_string().contains("at most one identity marked primary"));
    }
}
