//! What fields segments may read, with their types: the XDM ExperienceEvent fields the engine
//! knows, the profile's attributes (standard XDM profile fields, configured dataset mappings,
//! computed attributes), and free-form subtrees (tenant fields `_luma.*`, `data.*`, field groups
//! the engine passes through verbatim). A path outside the schema is a compile error, as is a
//! comparison between types that can never be equal.

use std::fmt;

use crate::map::ObjectMap;

/// A field's type.
#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    /// Anything (free-form subtrees, values computed at run time).
    Any,
    /// Text.
    String,
    /// A number.
    Number,
    /// `true` / `false`.
    Bool,
    /// A time (RFC 3339 text or a date).
    Time,
    /// An object with known fields.
    Object(ObjectMap<Ty>),
    /// An array of elements of a type.
    Array(Box<Ty>),
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Ty::Any => "a value",
            Ty::String => "a string",
            Ty::Number => "a number",
            Ty::Bool => "a boolean",
            Ty::Time => "a time",
            Ty::Object(_) => "an object",
            Ty::Array(_) => "an array",
        })
    }
}

impl Ty {
    /// Whether values of the two types can ever compare equal.
    #[must_use]
    pub fn comparable(&self, other: &Ty) -> bool {
        match (self, other) {
            (Ty::Any, _) | (_, Ty::Any) => true,
            (Ty::Time, Ty::String) | (Ty::String, Ty::Time) => true,
            (Ty::Object(_), Ty::Object(_)) | (Ty::Array(_), Ty::Array(_)) => true,
            (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b),
        }
    }

    /// The element type, for arrays (a scalar stands for itself, as XDM paths through arrays do).
    #[must_use]
    pub fn element(&self) -> Ty {
        match self {
            Ty::Array(t) => (**t).clone(),
            other => other.clone(),
        }
    }

    /// Looks a field up: `Ok(type)`, or `Err(known field names)` when the field does not exist.
    ///
    /// # Errors
    /// The names that do exist at this level, for the message.
    pub fn field(&self, name: &str) -> Result<Ty, Vec<String>> {
        match self {
            Ty::Any => Ok(Ty::Any),
            Ty::Object(fields) => fields.get(name).cloned().ok_or_else(|| fields.keys().cloned().collect()),
            Ty::Array(t) => t.field(name),
            _ => Err(Vec::new()),
        }
    }

    fn insert(&mut self, path: &[&str], leaf: Ty) {
        let Ty::Object(fields) = self else { return };
        match path {
            [] => {}
            [last] => {
                fields.insert((*last).to_owned(), leaf);
            }
            [first, rest @ ..] => {
                let (name, array) = match first.strip_suffix("[]") {
                    Some(n) => (n, true),
                    None => (*first, false),
                };
                let child = fields.get_or_insert_with(name, || {
                    let obj = Ty::Object(ObjectMap::new());
                    if array { Ty::Array(Box::new(obj)) } else { obj }
                });
                match child {
                    Ty::Array(inner) => inner.insert(rest, leaf),
                    other => other.insert(rest, leaf),
                }
            }
        }
    }
}

/// The fields segments can read.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// The event (inside chain steps and `xEvent[...]`).
    pub event: Ty,
    /// The profile.
    pub profile: Ty,
}

/// `path: type`, one per line; `[]` marks arrays, `*` a free-form subtree.
const EVENT_FIELDS: &str = "
_id: string
eventType: string
timestamp: time
identityMap: *
web.webPageDetails.URL: string
web.webPageDetails.name: string
web.webPageDetails.viewName: string
web.webPageDetails.siteSection: string
web.webPageDetails.server: string
web.webPageDetails.isHomePage: bool
web.webPageDetails.isErrorPage: bool
web.webPageDetails.pageViews.value: number
web.webReferrer.URL: string
web.webReferrer.type: string
web.webInteraction.name: string
web.webInteraction.type: string
web.webInteraction.URL: string
web.webInteraction.linkClicks.value: number
siteSearch.q: string
commerce.productViews.value: number
commerce.productListViews.value: number
commerce.productListOpens.value: number
commerce.productListAdds.value: number
commerce.productListRemovals.value: number
commerce.productListReopens.value: number
commerce.saveForLaters.value: number
commerce.checkouts.value: number
commerce.purchases.value: number
commerce.cartAbandons.value: number
commerce.order.purchaseID: string
commerce.order.priceTotal: number
commerce.order.currencyCode: string
commerce.order.payments: *
commerce.cart.cartID: string
productListItems[].SKU: string
productListItems[].name: string
productListItems[].quantity: number
productListItems[].priceTotal: number
productListItems[].currencyCode: string
productListItems[].productCategories[].categoryID: string
productListItems[].productCategories[].categoryName: string
productListItems[].productAddMethod: string
productListItems[].selectedOptions: *
productListItems[].product: *
device: *
environment: *
placeContext: *
marketing: *
channel: *
application: *
_experience: *
data: *
";

/// The XDM Individual Profile fields the engine and its importers know.
const PROFILE_FIELDS: &str = "
person.name.firstName: string
person.name.lastName: string
person.name.fullName: string
person.birthDate: time
person.gender: string
personalEmail.address: string
mobilePhone.number: string
homeAddress.street1: string
homeAddress.city: string
homeAddress.stateProvince: string
homeAddress.postalCode: string
homeAddress.country: string
homeAddress.countryCode: string
workAddress.street1: string
workAddress.city: string
workAddress.stateProvince: string
workAddress.postalCode: string
workAddress.country: string
workAddress.countryCode: string
loyalty.loyaltyID: string
loyalty.tier: string
loyalty.points: number
loyalty.status: string
loyalty.joinDate: time
consents: *
identityMap: *
segmentMembership: *
";

fn parse_ty(t: &str) -> Ty {
    match t {
        "string" => Ty::String,
        "number" => Ty::Number,
        "bool" => Ty::Bool,
        "time" => Ty::Time,
        _ => Ty::Any,
    }
}

fn build(fields: &str) -> Ty {
    let mut root = Ty::Object(ObjectMap::new());
    for line in fields.lines().filter(|l| !l.trim().is_empty()) {
        let (path, ty) = line.split_once(':').unwrap_or((line, "*"));
        let parts: Vec<&str> = path.trim().split('.').collect();
        root.insert(&parts, parse_ty(ty.trim()));
    }
    root
}

impl Default for Schema {
    fn default() -> Self {
        Schema::standard()
    }
}

impl Schema {
    /// The standard XDM event and profile fields.
    #[must_use]
    pub fn standard() -> Schema {
        Schema { event: build(EVENT_FIELDS), profile: build(PROFILE_FIELDS) }
    }

    /// Adds a profile attribute (a dataset mapping's target, a computed attribute).
    pub fn add_profile_attribute(&mut self, path: &str, ty: Ty) {
        let parts: Vec<&str> = path.split('.').collect();
        self.profile.insert(&parts, ty);
    }

    /// Whether a top-level name is a tenant namespace (`_luma`): free-form everywhere.
    #[must_use]
    pub fn is_tenant(name: &str) -> bool {
        name.len() > 1 && name.starts_with('_') && name != "_experience" && name != "_id"
    }

    /// The type at a path from a root, or the error: the first unknown segment's index and the
    /// names known at that level.
    ///
    /// # Errors
    /// `(index of the unknown segment, the known names there)`.
    pub fn lookup(root: &Ty, path: &[String]) -> Result<Ty, (usize, Vec<String>)> {
        let mut ty = root.clone();
        for (i, name) in path.iter().enumerate() {
            if Schema::is_tenant(name) {
                return Ok(Ty::Any);
            }
            ty = ty.field(name).map_err(|known| (i, known))?;
        }
        Ok(ty)
    }
}

/// The closest known name to `name` (edit distance ≤ a third of its length), for "did you mean".
#[must_use]
pub fn closest<'a>(name: &str, known: &'a [String]) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    known
        .iter()
        .map(|k| (edit_distance(&name.to_ascii_lowercase(), &k.to_ascii_lowercase()), k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.as_str())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Vec<String> {
        s.split('.').map(String::from).collect()
    }

    #[test]
    fn knows_xdm_fields_through_arrays_and_tenant_subtrees() {
        let s = Schema::standard();
        assert_eq!(Schema::lookup(&s.event, &p("productListItems.SKU")), Ok(Ty::String));
        assert_eq!(Schema::lookup(&s.event, &p("productListItems._luma.size")), Ok(Ty::Any));
        assert_eq!(Schema::lookup(&s.event, &p("timestamp")), Ok(Ty::Time));
        assert_eq!(Schema::lookup(&s.event, &p("device.type")), Ok(Ty::Any));
        let (at, known) = Schema::lookup(&s.event, &p("productListItems.sku")).unwrap_err();
        assert_eq!(at, 1);
        assert_eq!(closest("sku", &known), Some("SKU"));
        assert_eq!(
            closest("productListItem", &["productListItems".to_owned(), "eventType".to_owned()]),
            Some("productListItems")
        );
        assert!(Schema::lookup(&s.profile, &p("loyalty.tierr")).is_err());
        let mut s = s;
        s.add_profile_attribute("_luma.preferredSize", Ty::String);
        s.add_profile_attribute("crm.segment", Ty::String);
        assert_eq!(Schema::lookup(&s.profile, &p("crm.segment")), Ok(Ty::String));
    }

    #[test]
    fn comparability() {
        assert!(Ty::String.comparable(&Ty::Time));
        assert!(!Ty::String.comparable(&Ty::Number));
        assert!(Ty::Any.comparable(&Ty::Bool));
    }
}
