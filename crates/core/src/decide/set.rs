//! Definitions checked and compiled into the object every decision runs against.
//!
//! Loading is tolerant, like segment sets: an invalid offer or activity is left out with a
//! warning naming the field and what was expected, and everything else still runs. The admin
//! API refuses a definition that would produce a warning.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::model::{Activity, ActivityKind, DOM_ACTIONS, Item, Offer, PAGE_SCOPE};
use super::proposition::{
    Characteristics, DECISION_PROVIDER, IdRef, ItemCharacteristics, ItemData, Proposition, PropositionItem,
    ScopeDetails, schema,
};
use super::state::{DecisionState, Seen};
use crate::mac::sha256;
use crate::map::ObjectMap;
use crate::segment::compile::{Options, compile};
use crate::segment::parse;
use crate::segment::program::Cond;
use crate::segment::schema::Schema;
use crate::segment::set::{Membership, ProfileSegments};
use crate::time::Timestamp;
use crate::value::Value;

/// The event type of display notifications.
pub const DISPLAY_EVENT: &str = "decisioning.propositionDisplay";
/// The event type of interact notifications.
pub const INTERACT_EVENT: &str = "decisioning.propositionInteract";
/// The top-level XDM fields [`DecisionSet::record`] reads: a host may hand it events trimmed to
/// these (the origin's store does, so an active visitor's notifications are not read whole).
pub const RECORD_READS: [&str; 2] = ["eventType", "_experience"];

/// The most items an offer may have.
pub const MAX_ITEMS: usize = 20;
/// The most bytes an offer's content may take (as JSON).
pub const MAX_OFFER_BYTES: usize = 64 * 1024;
/// The most named scopes one request is decided for (the rest are ignored).
pub const MAX_SCOPES: usize = 30;

/// Buckets per activity: allocations are decided to 0.01 %.
const BUCKETS: u64 = 10_000;

/// A problem with a definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DecisionWarning {
    /// `activity` or `offer`.
    pub kind: &'static str,
    /// Its id.
    pub id: String,
    /// The field, as a path (`experiences[1].audience`, `items[0].selector`).
    pub field: String,
    /// What is wrong and what was expected.
    pub message: String,
    /// Whether the whole definition was left out (else only the named part).
    pub skipped: bool,
}

/// A compiled condition: the PQL text's program, which reads the profile and memberships only.
#[derive(Debug, Clone, PartialEq)]
struct Condition {
    cond: Cond,
    /// The segments it reads.
    segments: Vec<String>,
    /// The profile attributes it reads.
    reads: Vec<String>,
}

/// A time window of a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Schedule {
    start: Option<Timestamp>,
    end: Option<Timestamp>,
}

impl Schedule {
    fn live(self, now: Timestamp) -> bool {
        self.start.is_none_or(|s| now >= s) && self.end.is_none_or(|e| now < e)
    }
}

#[derive(Debug, Clone, PartialEq)]
struct CompiledOffer {
    def: Offer,
    schedule: Schedule,
    pages: Vec<String>,
    eligibility: Option<Condition>,
    /// `(max, window in ms)`.
    cap: Option<(u32, Option<i64>)>,
    items: Vec<PropositionItem>,
    /// The attributes its content's `{{profile.*}}` tokens read.
    token_reads: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct CompiledExperience {
    id: String,
    audience: Option<Condition>,
    offers: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq)]
struct CompiledActivity {
    id: String,
    name: String,
    kind: ActivityKind,
    schedule: Schedule,
    pages: Vec<String>,
    audience: Option<Condition>,
    traffic: u64,
    /// A/B: each experience's upper bucket bound (cumulative).
    split: Vec<u64>,
    experiences: Vec<CompiledExperience>,
    fallback: Vec<usize>,
    suppress_on_conversion: bool,
    on_device: bool,
}

/// Activities and offers, compiled.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DecisionSet {
    /// By priority, highest first (then by id).
    activities: Vec<CompiledActivity>,
    offers: Vec<CompiledOffer>,
    /// Conversion event type → activity indices.
    conversions: BTreeMap<String, Vec<usize>>,
    warnings: Vec<DecisionWarning>,
    profile_reads: BTreeSet<String>,
}

/// See [`DecisionSet::device_needs`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceNeeds {
    /// Activity ids.
    pub activities: BTreeSet<String>,
    /// Offer ids.
    pub offers: BTreeSet<String>,
    /// Segment ids read directly (references between segments are the caller's to follow).
    pub segments: BTreeSet<String>,
    /// Profile attribute paths.
    pub reads: BTreeSet<String>,
}

/// What a decision is made for.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The visitor's ECID (A/B buckets).
    pub ecid: &'a str,
    /// The scopes asked for: `__view__` for the page, named scopes.
    pub scopes: &'a [String],
    /// The page's URL (or `web://` surface), for page rules.
    pub page: Option<&'a str>,
    /// When.
    pub now: Timestamp,
}

/// Who it is made for.
#[derive(Debug, Clone, Copy)]
pub struct Visitor<'a> {
    /// The profile attributes (the edge's projection).
    pub attributes: &'a ObjectMap<Value>,
    /// Segment memberships.
    pub segments: Option<&'a ProfileSegments>,
    /// Displays and conversions so far.
    pub state: Option<&'a DecisionState>,
}

impl DecisionSet {
    /// Checks and compiles definitions. Conditions are compiled against `schema`; references to
    /// segments outside `segments` (ids the edge evaluates) are reported, and such a membership
    /// counts as not held.
    #[must_use]
    pub fn load(activities: &[Activity], offers: &[Offer], schema: &Schema, segments: &dyn Fn(&str) -> bool) -> Self {
        let mut set = DecisionSet::default();
        let mut offer_index = BTreeMap::new();
        for offer in offers {
            if offer_index.contains_key(&offer.id) {
                set.warn("offer", &offer.id, "id", "a second offer has this id; the first one is kept".into(), true);
                continue;
            }
            match set.compile_offer(offer, schema, segments) {
                Ok(compiled) => {
                    offer_index.insert(offer.id.clone(), set.offers.len());
                    set.offers.push(compiled);
                }
                Err((field, message)) => set.warn("offer", &offer.id, &field, message, true),
            }
        }
        let mut seen = BTreeSet::new();
        let mut compiled = Vec::new();
        for activity in activities {
            if !seen.insert(activity.id.clone()) {
                set.warn(
                    "activity",
                    &activity.id,
                    "id",
                    "a second activity has this id; the first one is kept".into(),
                    true,
                );
                continue;
            }
            match set.compile_activity(activity, schema, segments, &offer_index) {
                Ok(a) => compiled.push((activity.priority, a)),
                Err((field, message)) => set.warn("activity", &activity.id, &field, message, true),
            }
        }
        compiled.sort_by(|(pa, a), (pb, b)| pb.cmp(pa).then_with(|| a.id.cmp(&b.id)));
        for (i, (_, a)) in compiled.iter().enumerate() {
            if let Some(c) = activities.iter().find(|d| d.id == a.id).and_then(|d| d.conversion.as_ref()) {
                set.conversions.entry(c.event.clone()).or_default().push(i);
            }
        }
        set.activities = compiled.into_iter().map(|(_, a)| a).collect();
        set
    }

    /// Whether there is nothing to decide.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.activities.is_empty()
    }

    /// Every problem found while loading.
    #[must_use]
    pub fn warnings(&self) -> &[DecisionWarning] {
        &self.warnings
    }

    /// The profile attributes the conditions read (the edge must keep them).
    pub fn profile_reads(&self) -> impl Iterator<Item = &String> {
        self.profile_reads.iter()
    }

    /// The ids of the activities that run, highest priority first.
    pub fn activity_ids(&self) -> impl Iterator<Item = &str> {
        self.activities.iter().map(|a| a.id.as_str())
    }

    fn warn(&mut self, kind: &'static str, id: &str, field: &str, message: String, skipped: bool) {
        self.warnings.push(DecisionWarning { kind, id: id.to_owned(), field: field.to_owned(), message, skipped });
    }

    fn condition(
        &mut self,
        text: &str,
        schema: &Schema,
        segments: &dyn Fn(&str) -> bool,
        kind: &'static str,
        id: &str,
        field: &str,
    ) -> Result<Condition, (String, String)> {
        let query = parse(text).map_err(|e| (field.to_owned(), format!("not PQL: {e}")))?;
        let program =
            compile(&query, text, schema, &Options::default()).map_err(|e| (field.to_owned(), e.to_string()))?;
        if !program.leaves.is_empty() {
            return Err((
                field.to_owned(),
                "reads events; a decision reads the profile and segment memberships only: put the event \
                 condition in a segment and use inSegment(\"...\") here"
                    .into(),
            ));
        }
        for dep in &program.report.depends_on {
            if !segments(dep) {
                self.warn(
                    kind,
                    id,
                    field,
                    format!("reads segment {dep:?}, which the edge does not evaluate: it counts as not held"),
                    false,
                );
            }
        }
        self.profile_reads.extend(program.report.profile_reads.iter().cloned());
        Ok(Condition { cond: program.cond, segments: program.report.depends_on, reads: program.report.profile_reads })
    }

    fn compile_offer(
        &mut self,
        offer: &Offer,
        schema: &Schema,
        segments: &dyn Fn(&str) -> bool,
    ) -> Result<CompiledOffer, (String, String)> {
        check_id(&offer.id)?;
        if offer.scope.is_empty() || offer.scope.len() > 128 {
            return Err(("scope".into(), "expected `__view__` or a scope name of 1–128 characters".into()));
        }
        if let Some(view) = &offer.view
            && (view.is_empty() || view.len() > 128)
        {
            return Err(("view".into(), "expected a view name of 1–128 characters".into()));
        }
        let schedule = schedule(offer.start.as_deref(), offer.end.as_deref())?;
        let pages = check_pages(&offer.pages)?;
        if offer.items.is_empty() || offer.items.len() > MAX_ITEMS {
            return Err(("items".into(), format!("expected 1–{MAX_ITEMS} items, found {}", offer.items.len())));
        }
        let bytes: usize = offer
            .items
            .iter()
            .map(|i| {
                i.content.json_len()
                    + i.selector.as_ref().map_or(0, String::len)
                    + i.label.as_ref().map_or(0, String::len)
            })
            .sum();
        if bytes > MAX_OFFER_BYTES {
            return Err((
                "items".into(),
                format!("the content is {bytes} bytes; at most {MAX_OFFER_BYTES} are accepted"),
            ));
        }
        let cap = match &offer.cap {
            None => None,
            Some(c) => {
                if !(1..=100).contains(&c.max) {
                    return Err(("cap.max".into(), format!("expected 1–100 displays, found {}", c.max)));
                }
                let window = c
                    .window
                    .as_deref()
                    .map(|w| {
                        parse_window(w).ok_or((
                            "cap.window".to_owned(),
                            format!(
                                "expected a window such as \"30m\", \"12h\" or \"7d\" (at most 365 days), found {w:?}"
                            ),
                        ))
                    })
                    .transpose()?;
                Some((c.max, window))
            }
        };
        let items = offer
            .items
            .iter()
            .enumerate()
            .map(|(i, item)| build_item(offer, i, item).map_err(|(f, m)| (format!("items[{i}].{f}"), m)))
            .collect::<Result<Vec<_>, _>>()?;
        let token_reads: Vec<String> =
            items.iter().filter_map(|i| i.data.content.as_str()).flat_map(tokens).map(str::to_owned).collect();
        self.profile_reads.extend(token_reads.iter().cloned());
        let eligibility = offer
            .eligibility
            .as_deref()
            .map(|t| self.condition(t, schema, segments, "offer", &offer.id, "eligibility"))
            .transpose()?;
        Ok(CompiledOffer { def: offer.clone(), schedule, pages, eligibility, cap, items, token_reads })
    }

    fn compile_activity(
        &mut self,
        a: &Activity,
        schema: &Schema,
        segments: &dyn Fn(&str) -> bool,
        offers: &BTreeMap<String, usize>,
    ) -> Result<CompiledActivity, (String, String)> {
        check_id(&a.id)?;
        let schedule = schedule(a.start.as_deref(), a.end.as_deref())?;
        let pages = check_pages(&a.pages)?;
        if a.traffic > 100 {
            return Err(("traffic".into(), format!("expected a percentage 0–100, found {}", a.traffic)));
        }
        if a.experiences.is_empty() || a.experiences.len() > 50 {
            return Err(("experiences".into(), format!("expected 1–50 experiences, found {}", a.experiences.len())));
        }
        let mut ids = BTreeSet::new();
        for (i, e) in a.experiences.iter().enumerate() {
            check_id(&e.id).map_err(|(_, m)| (format!("experiences[{i}].id"), m))?;
            if !ids.insert(&e.id) {
                return Err((format!("experiences[{i}].id"), format!("experience id {:?} is used twice", e.id)));
            }
        }
        let split = match a.kind {
            ActivityKind::Targeting => Vec::new(),
            ActivityKind::Ab => split(a)?,
        };
        if a.conversion.as_ref().is_some_and(|c| c.event.is_empty()) {
            return Err(("conversion.event".into(), "expected an eventType such as \"commerce.purchases\"".into()));
        }
        let audience = a
            .audience
            .as_deref()
            .map(|t| self.condition(t, schema, segments, "activity", &a.id, "audience"))
            .transpose()?;
        let mut experiences = Vec::new();
        for (i, e) in a.experiences.iter().enumerate() {
            let field = format!("experiences[{i}].audience");
            let audience = match (&e.audience, a.kind) {
                (Some(t), ActivityKind::Targeting) => {
                    Some(self.condition(t, schema, segments, "activity", &a.id, &field)?)
                }
                (Some(_), ActivityKind::Ab) => {
                    return Err((field, "an A/B test splits by ECID; use the activity's audience instead".into()));
                }
                (None, _) => None,
            };
            let mut offers = self.offer_refs(&a.id, &format!("experiences[{i}].offers"), &e.offers, offers);
            // Highest priority first; equal priorities keep their listed order.
            offers.sort_by_key(|&o| std::cmp::Reverse(self.offers[o].def.priority));
            experiences.push(CompiledExperience { id: e.id.clone(), audience, offers });
        }
        let fallback = self.offer_refs(&a.id, "fallback", &a.fallback, offers);
        Ok(CompiledActivity {
            id: a.id.clone(),
            name: a.name.clone(),
            kind: a.kind,
            schedule,
            pages,
            audience,
            traffic: u64::from(a.traffic) * BUCKETS / 100,
            split,
            experiences,
            fallback,
            suppress_on_conversion: a.conversion.as_ref().is_some_and(|c| c.suppress),
            on_device: a.on_device,
        })
    }

    fn offer_refs(
        &mut self,
        activity: &str,
        field: &str,
        ids: &[String],
        offers: &BTreeMap<String, usize>,
    ) -> Vec<usize> {
        let mut out = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            match offers.get(id) {
                Some(&o) => out.push(o),
                None => self.warn(
                    "activity",
                    activity,
                    &format!("{field}[{i}]"),
                    format!("offer {id:?} is not defined (or was left out); it is ignored"),
                    false,
                ),
            }
        }
        out
    }

    /// Decides the propositions for a request: per activity (highest priority first) that is
    /// live, on this page, for this visitor and not suppressed, its experience (the first whose
    /// audience holds, or the visitor's A/B bucket), then per scope asked for the experience's
    /// eligible offer with the highest priority, else the activity's fallback. A named scope
    /// gets one proposition (the highest-priority activity's); on the page, a selector changed
    /// by a higher-priority activity is left to it.
    #[must_use]
    pub fn decide(&self, req: &Request<'_>, visitor: &Visitor<'_>) -> Vec<Proposition> {
        let page_wanted = req.scopes.iter().any(|s| s == PAGE_SCOPE);
        let named: Vec<&str> =
            req.scopes.iter().filter(|s| *s != PAGE_SCOPE).map(String::as_str).take(MAX_SCOPES).collect();
        if !page_wanted && named.is_empty() {
            return Vec::new();
        }
        let path = req.page.map(page_path);
        let member = |id: &str| {
            visitor
                .segments
                .and_then(|s| s.segments.get(id))
                .and_then(|st| st.membership.as_ref())
                .is_some_and(Membership::is_member)
        };
        let holds =
            |c: &Option<Condition>| c.as_ref().is_none_or(|c| c.cond.value(visitor.attributes, &|_| false, &member));
        let mut answered: BTreeSet<String> = BTreeSet::new();
        let mut selectors: BTreeSet<String> = BTreeSet::new();
        let mut out = Vec::new();
        for a in &self.activities {
            if !a.schedule.live(req.now) || !on_page(&a.pages, path.as_deref()) || !holds(&a.audience) {
                continue;
            }
            if a.suppress_on_conversion && visitor.state.is_some_and(|s| s.conversions.contains_key(&a.id)) {
                continue;
            }
            let Some(e) = self.experience(a, req.ecid, &holds) else { continue };
            let eligible = |o: &&usize| {
                let offer = &self.offers[**o];
                offer.schedule.live(req.now)
                    && on_page(&offer.pages, path.as_deref())
                    && holds(&offer.eligibility)
                    && offer.cap.is_none_or(|(max, window)| {
                        let since = window.map(|w| Timestamp(req.now.millis().saturating_sub(w)));
                        visitor.state.map_or(0, |s| s.displays_since(&offer.def.id, since)) < max as usize
                    })
            };
            // The scopes this activity answers: each (scope, is_view) with its best offer.
            let mut scopes: Vec<(String, bool)> = Vec::new();
            if page_wanted {
                scopes.push((PAGE_SCOPE.to_owned(), false));
                for &o in e.offers.iter().chain(&a.fallback) {
                    if let Some(view) = &self.offers[o].def.view
                        && !scopes.iter().any(|(s, v)| *v && s == view)
                    {
                        scopes.push((view.clone(), true));
                    }
                }
            }
            scopes.extend(named.iter().filter(|s| !answered.contains(**s)).map(|s| ((*s).to_owned(), false)));
            for (scope, is_view) in scopes {
                let fits = |o: &&usize| {
                    let d = &self.offers[**o].def;
                    if is_view {
                        d.view.as_deref() == Some(scope.as_str())
                    } else {
                        d.view.is_none() && d.scope == scope
                    }
                };
                // Offers are kept by priority: the first that fits and is eligible is the best.
                let best = e
                    .offers
                    .iter()
                    .find(|o| fits(o) && eligible(o))
                    .or_else(|| a.fallback.iter().find(|o| fits(o) && eligible(o)));
                let Some(&o) = best else { continue };
                let offer = &self.offers[o];
                let page_scope = scope == PAGE_SCOPE;
                let items: Vec<PropositionItem> = offer
                    .items
                    .iter()
                    .filter(|item| {
                        !page_scope || item.data.selector.as_ref().is_none_or(|s| selectors.insert(s.clone()))
                    })
                    .map(|item| {
                        let mut item = item.clone();
                        let html = is_html(&item);
                        if let Value::String(text) = &mut item.data.content
                            && text.contains("{{")
                        {
                            *text = fill(text, visitor.attributes, html);
                        }
                        if !a.name.is_empty() {
                            item.meta.insert("activity.name".into(), a.name.clone());
                        }
                        item
                    })
                    .collect();
                if items.is_empty() {
                    continue;
                }
                if !page_scope && !is_view {
                    answered.insert(scope.clone());
                }
                out.push(proposition(a, e, offer, scope, is_view, items));
            }
        }
        out
    }

    fn experience<'s>(
        &'s self,
        a: &'s CompiledActivity,
        ecid: &str,
        holds: &dyn Fn(&Option<Condition>) -> bool,
    ) -> Option<&'s CompiledExperience> {
        match a.kind {
            ActivityKind::Targeting => a.experiences.iter().find(|e| holds(&e.audience)),
            ActivityKind::Ab => {
                if bucket(&a.id, ecid, "traffic") >= a.traffic {
                    return None;
                }
                let b = bucket(&a.id, ecid, "split");
                a.split.iter().position(|&upper| b < upper).map(|i| &a.experiences[i])
            }
        }
    }

    /// Folds one stored or collected event into a profile's state: a display notification
    /// counts towards the caps of the offers it names, a conversion event marks the activities
    /// it converts. Returns whether the state changed. Reads only [`RECORD_READS`].
    pub fn record(&self, state: &mut DecisionState, xdm: &Value, event_id: &str, at: Timestamp) -> bool {
        let Some(kind) = xdm.as_object().and_then(|o| o.get("eventType")).and_then(Value::as_str) else {
            return false;
        };
        let mut changed = false;
        if kind == DISPLAY_EVENT {
            let props = xdm.pointer("_experience.decisioning.propositions").and_then(Value::as_array).unwrap_or(&[]);
            for (i, p) in props.iter().enumerate() {
                let Some(offer) = p.pointer("scopeDetails.offer.id").and_then(Value::as_str) else { continue };
                let Some((max, _)) = self.offers.iter().find(|o| o.def.id == offer).and_then(|o| o.cap) else {
                    continue;
                };
                let tag = u32::from_be_bytes(prefix(&sha256(format!("{event_id}\0{i}").as_bytes())));
                changed |= state.record_display(offer, Seen(at, tag), max as usize);
            }
        }
        for &i in self.conversions.get(kind).into_iter().flatten() {
            let a = &self.activities[i];
            if a.suppress_on_conversion {
                changed |= state.record_conversion(&a.id, at);
            }
        }
        changed
    }

    /// What the on-device activities need in a browser: their ids, the ids of the offers they
    /// may show, the segments their conditions read (directly) and the profile attributes their
    /// conditions and content read.
    #[must_use]
    pub fn device_needs(&self) -> DeviceNeeds {
        let mut needs = DeviceNeeds::default();
        let add = |c: &Option<Condition>, needs: &mut DeviceNeeds| {
            if let Some(c) = c {
                needs.segments.extend(c.segments.iter().cloned());
                needs.reads.extend(c.reads.iter().cloned());
            }
        };
        for a in self.activities.iter().filter(|a| a.on_device) {
            needs.activities.insert(a.id.clone());
            add(&a.audience, &mut needs);
            for e in &a.experiences {
                add(&e.audience, &mut needs);
            }
            for &o in a.experiences.iter().flat_map(|e| &e.offers).chain(&a.fallback) {
                let offer = &self.offers[o];
                needs.offers.insert(offer.def.id.clone());
                add(&offer.eligibility, &mut needs);
                needs.reads.extend(offer.token_reads.iter().cloned());
            }
        }
        needs
    }

    /// The event types [`DecisionSet::record`] reads: display notifications and conversions.
    #[must_use]
    pub fn recorded_types(&self) -> Vec<String> {
        std::iter::once(DISPLAY_EVENT.to_owned()).chain(self.conversions.keys().cloned()).collect()
    }

    /// Whether events of this type may change a state (display notifications, conversions).
    #[must_use]
    pub fn records(&self, event_type: &str) -> bool {
        event_type == DISPLAY_EVENT || self.conversions.contains_key(event_type)
    }
}

fn prefix<const N: usize>(hash: &[u8; 32]) -> [u8; N] {
    let mut b = [0; N];
    b.copy_from_slice(&hash[..N]);
    b
}

/// The visitor's bucket for an activity, 0–9,999: the first 8 bytes of
/// SHA-256(`"{activity}\0{ecid}\0{salt}"`) as a big-endian integer, modulo 10,000. The traffic
/// decision and the experience split use different salts, so they are independent; the same ECID
/// always lands in the same experience of the same activity, on every host.
#[must_use]
pub fn bucket(activity: &str, ecid: &str, salt: &str) -> u64 {
    u64::from_be_bytes(prefix(&sha256(format!("{activity}\0{ecid}\0{salt}").as_bytes()))) % BUCKETS
}

fn proposition(
    a: &CompiledActivity,
    e: &CompiledExperience,
    offer: &CompiledOffer,
    scope: String,
    is_view: bool,
    items: Vec<PropositionItem>,
) -> Proposition {
    let id = format!("{:016x}", fnv([a.id.as_str(), &e.id, &offer.def.id, &scope]));
    Proposition {
        id,
        scope,
        scope_details: ScopeDetails {
            decision_provider: DECISION_PROVIDER.into(),
            activity: IdRef { id: a.id.clone() },
            experience: IdRef { id: e.id.clone() },
            offer: IdRef { id: offer.def.id.clone() },
            correlation_id: format!("{}:{}", a.id, e.id),
            characteristics: Characteristics { scope_type: is_view.then(|| "view".to_owned()) },
        },
        items,
    }
}

/// The profile paths of `{{profile.path}}` tokens in content.
fn tokens(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        if let Some(path) = after[..end].trim().strip_prefix("profile.") {
            out.push(path);
        }
        rest = &after[end + 2..];
    }
    out
}

/// Replaces `{{profile.path}}` tokens with the visitor's attribute (HTML-escaped in HTML content;
/// empty when the profile has no such attribute).
fn fill(text: &str, attributes: &ObjectMap<Value>, html: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            rest = &rest[start..];
            break;
        };
        let token = after[..end].trim();
        match token.strip_prefix("profile.") {
            Some(path) => {
                let parts: Vec<String> = path.split('.').map(str::to_owned).collect();
                let value = match crate::segment::expr::profile_get(attributes, &parts) {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Number(n)) => n.as_i64().map_or_else(|| n.as_f64().to_string(), |i| i.to_string()),
                    Some(Value::Bool(b)) => b.to_string(),
                    _ => String::new(),
                };
                if html {
                    escape_into(&mut out, &value);
                } else {
                    out.push_str(&value);
                }
            }
            None => out.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

fn is_html(item: &PropositionItem) -> bool {
    item.schema == schema::HTML
        || item.data.kind.as_deref().is_some_and(|k| k.ends_with("Html") || k.starts_with("insert"))
}

/// FNV-1a over parts separated by NUL: proposition ids, stable across hosts and versions.
fn fnv<'a>(parts: impl IntoIterator<Item = &'a str>) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325_u64;
    for (i, part) in parts.into_iter().enumerate() {
        if i > 0 {
            h = h.wrapping_mul(0x0100_0000_01b3); // a NUL byte between parts
        }
        for b in part.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

fn check_id(id: &str) -> Result<(), (String, String)> {
    let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if id.is_empty() || id.len() > 128 || !id.chars().all(valid) {
        return Err(("id".into(), format!("the id {id:?} must be 1–128 letters, digits, '-', '_' or '.'")));
    }
    Ok(())
}

fn schedule(start: Option<&str>, end: Option<&str>) -> Result<Schedule, (String, String)> {
    let at = |field: &str, t: Option<&str>| {
        t.map(|t| Timestamp::parse_rfc3339(t).map_err(|e| (field.to_owned(), e.to_string()))).transpose()
    };
    let s = Schedule { start: at("start", start)?, end: at("end", end)? };
    if let (Some(a), Some(b)) = (s.start, s.end)
        && b <= a
    {
        return Err(("end".into(), "expected an end after the start".into()));
    }
    Ok(s)
}

fn check_pages(pages: &[String]) -> Result<Vec<String>, (String, String)> {
    for (i, p) in pages.iter().enumerate() {
        if !p.starts_with('/') || p.len() > 512 {
            return Err((
                format!("pages[{i}]"),
                format!("expected a path starting with '/' (`*` for any run of characters), found {p:?}"),
            ));
        }
    }
    Ok(pages.to_vec())
}

fn parse_window(text: &str) -> Option<i64> {
    let unit = match text.chars().last()? {
        'm' => 60_000,
        'h' => 3_600_000,
        'd' => 86_400_000,
        _ => return None,
    };
    let n: i64 = text[..text.len() - 1].parse().ok().filter(|n| *n > 0)?;
    let ms = n.checked_mul(unit)?;
    (ms <= 365 * 86_400_000).then_some(ms)
}

fn split(a: &Activity) -> Result<Vec<u64>, (String, String)> {
    let given: Vec<Option<u8>> = a.experiences.iter().map(|e| e.allocation).collect();
    let n = given.len() as u64;
    if given.iter().all(Option::is_none) {
        return Ok((1..=n).map(|i| i * BUCKETS / n).collect());
    }
    if given.iter().any(Option::is_none) {
        return Err(("experiences".into(), "give every experience an allocation, or none (an even split)".into()));
    }
    let sum: u64 = given.iter().flatten().map(|&p| u64::from(p)).sum();
    if sum != 100 {
        return Err(("experiences".into(), format!("the allocations add up to {sum}; expected 100")));
    }
    let mut upper = 0;
    Ok(given
        .iter()
        .flatten()
        .map(|&p| {
            upper += u64::from(p) * BUCKETS / 100;
            upper
        })
        .collect())
}

/// The path of a URL or surface (`https://luma.test/men.html?x#y` → `/men.html`).
fn page_path(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r.find('/').map_or("/", |i| &r[i..]));
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    let path = &rest[..end];
    if path.is_empty() { "/".into() } else { path.into() }
}

fn on_page(pages: &[String], path: Option<&str>) -> bool {
    pages.is_empty() || path.is_some_and(|p| pages.iter().any(|pat| glob(pat, p)))
}

/// `*` matches any run of characters; everything else matches itself.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, rest) = parts.split_first().map_or(("", &[][..]), |(f, r)| (*f, r));
    let Some(mut t) = text.strip_prefix(first) else { return false };
    let Some((last, middle)) = rest.split_last() else { return t.is_empty() };
    for part in middle {
        match t.find(part) {
            Some(i) => t = &t[i + part.len()..],
            None => return false,
        }
    }
    t.len() >= last.len() && t.ends_with(last)
}

fn build_item(offer: &Offer, index: usize, item: &Item) -> Result<PropositionItem, (String, String)> {
    let action = item.action.as_str();
    let dom = DOM_ACTIONS.contains(&action);
    let schema = match action {
        _ if dom => schema::DOM_ACTION,
        "html" => schema::HTML,
        "json" => schema::JSON,
        "default" => schema::DEFAULT,
        _ => {
            return Err((
                "action".into(),
                format!("expected one of {}, html, json, default; found {action:?}", DOM_ACTIONS.join(", ")),
            ));
        }
    };
    if let Some(s) = &item.selector
        && (s.trim().is_empty() || s.len() > 1024)
    {
        return Err(("selector".into(), "expected a CSS selector of 1–1024 characters".into()));
    }
    if dom && item.selector.is_none() {
        return Err(("selector".into(), format!("a {action} action needs a CSS selector")));
    }
    let content_ok = match action {
        "setAttribute" | "setStyle" => {
            item.content.as_object().is_some_and(|o| !o.is_empty() && o.values().all(|v| v.as_str().is_some()))
        }
        "remove" | "click" | "default" => item.content.is_null(),
        "json" => !item.content.is_null(),
        _ => item.content.as_str().is_some(),
    };
    if !content_ok {
        let expected = match action {
            "setAttribute" | "setStyle" => "an object of string values",
            "remove" | "click" | "default" => "no content",
            "json" => "any JSON value",
            "setImageSource" => "an image URL",
            "setText" => "text",
            _ => "an HTML string",
        };
        return Err(("content".into(), format!("a {action} item expects {expected}, found {}", item.content.kind())));
    }
    let changes_content = dom && !matches!(action, "click" | "remove");
    Ok(PropositionItem {
        id: format!("{}#{index}", offer.id),
        schema: schema.into(),
        meta: {
            let mut m = ObjectMap::new();
            if !offer.name.is_empty() {
                m.insert("offer.name".into(), offer.name.clone());
            }
            m
        },
        characteristics: item.label.clone().map(|l| ItemCharacteristics { tracking_label: l }),
        data: ItemData {
            kind: dom.then(|| action.to_owned()),
            selector: item.selector.clone(),
            prehiding_selector: item.selector.clone().filter(|_| changes_content),
            content: item.content.clone(),
            format: match action {
                "json" => Some("application/json".into()),
                "html" => Some("text/html".into()),
                _ if dom => Some("application/vnd.adobe.target.dom-action".into()),
                _ => None,
            },
        },
    })
}

#[cfg(test)]
mod tests;
