//! Source rows to identities and attributes: the rules of batch import.
//!
//! A dataset (`crm-contacts`, `loyalty`, `web-history`) is imported from files whose rows a
//! [`MappingConfig`] describes:
//!
//! - **profile datasets** hold one record a row (a CSV line, or a JSON object flattened to
//!   dotted column names by [`flatten_object`]). Identity columns name the row's identities
//!   (the first one present keys the row's [`Fragment`]: the *primary* identity; all of them are
//!   linked, authenticated, as one [`LinkRecord`]); attribute columns give XDM paths typed
//!   values; an optional timestamp column says when the row was true (else the import time).
//! - **events datasets** hold XDM events (`identityMap`, `timestamp`, `eventType`, ...), each
//!   keyed by its highest-priority person identity.
//!
//! [`auto_mapping`] maps standard column names (email, first name, phone, loyalty tier, ...);
//! [`MappingConfig::build`] checks a mapping against a file's header and compiles it into a
//! [`Mapping`], which maps rows ([`Mapping::map_row`], [`Mapping::map_event`]) into what the
//! origin stores, each problem naming its column. [`import_batch`] packs mapped rows into a
//! [`SyncBatch`] whose id depends only on the dataset, the file's content and the chunk, so
//! importing the same file twice changes nothing.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::fragment::Fragment;
use crate::codec::hex;
use crate::field::{FieldError, Path, quote};
use crate::identity::graph::{AuthState, LinkRecord, LinkedIdentity};
use crate::identity::{IdentityError, IdentityKey, Namespaces};
use crate::limits::Limits;
use crate::mac::sha256;
use crate::map::ObjectMap;
use crate::sync::{FragmentUpdates, IdentifiedEvent, IdentifiedEvents, IdentityLinks, SyncBatch, SyncRecord};
use crate::time::Timestamp;
use crate::value::{Number, Value};
use crate::xdm::Event;

/// Most data rows in one import batch: each chunk of a file is stored in one transaction.
pub const CHUNK_ROWS: usize = 1000;

/// What a dataset holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatasetKind {
    /// Records about people (CRM contacts, loyalty accounts): one row, one record.
    #[default]
    Profile,
    /// XDM ExperienceEvents (order history, offline purchases), keyed by a person identity.
    Events,
}

impl DatasetKind {
    /// The configuration spelling (`profile`, `events`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            DatasetKind::Profile => "profile",
            DatasetKind::Events => "events",
        }
    }
}

impl fmt::Display for DatasetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The type a column's text is read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueType {
    /// Text, trimmed.
    #[default]
    String,
    /// A whole number (`1240`, `-3`).
    Integer,
    /// Any finite number (`12.5`).
    Number,
    /// `true`/`false` (also `yes`/`no`, `y`/`n`, `1`/`0`, any case).
    Boolean,
    /// A calendar date, `YYYY-MM-DD`, kept as that text (XDM `date`).
    Date,
}

impl ValueType {
    /// The mapping-file spelling (`string`, `integer`, ...).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::Integer => "integer",
            ValueType::Number => "number",
            ValueType::Boolean => "boolean",
            ValueType::Date => "date",
        }
    }

    /// What a cell of this type must look like, as a phrase.
    #[must_use]
    pub const fn expected(self) -> &'static str {
        match self {
            ValueType::String => "text",
            ValueType::Integer => "an integer",
            ValueType::Number => "a number",
            ValueType::Boolean => "true or false",
            ValueType::Date => "a date (YYYY-MM-DD)",
        }
    }

    /// Reads a trimmed, non-empty cell.
    fn read(self, text: &str) -> Option<Value> {
        match self {
            ValueType::String => Some(Value::from(text)),
            ValueType::Integer => {
                let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                text.parse::<i64>().ok().map(Value::from)
            }
            ValueType::Number => {
                let ok = text.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
                let n = text.parse::<f64>().ok().filter(|f| ok && f.is_finite())?;
                Some(match text.parse::<i64>() {
                    Ok(i) => Value::from(i),
                    Err(_) => Value::from(n),
                })
            }
            ValueType::Boolean => match text.to_ascii_lowercase().as_str() {
                "true" | "yes" | "y" | "1" => Some(Value::Bool(true)),
                "false" | "no" | "n" | "0" => Some(Value::Bool(false)),
                _ => None,
            },
            ValueType::Date => parse_date(text).map(|_| Value::from(text)),
        }
    }
}

/// `YYYY-MM-DD` as midnight UTC.
fn parse_date(text: &str) -> Option<Timestamp> {
    if text.len() != 10 {
        return None;
    }
    Timestamp::parse_rfc3339(&format!("{text}T00:00:00Z")).ok()
}

/// A row's time: an RFC 3339 date-time, or a date (midnight UTC).
fn parse_row_time(text: &str) -> Option<Timestamp> {
    parse_date(text).or_else(|| Timestamp::parse_rfc3339(text).ok())
}

/// One identity column of a profile dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityColumn {
    /// The namespace code (`CRMID`, `Email`, ...); values are normalized as it requires.
    pub ns: String,
    /// The column holding the values.
    pub column: String,
}

/// Where an attribute's value comes from. In JSON: a column name (read as text), or
/// `{ "column": "points", "type": "integer" }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeColumn {
    /// The column holding the values.
    pub column: String,
    /// How its text is read.
    pub value_type: ValueType,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TypedColumn {
    column: String,
    #[serde(default, rename = "type")]
    value_type: ValueType,
}

impl Serialize for AttributeColumn {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.value_type == ValueType::String {
            serializer.serialize_str(&self.column)
        } else {
            TypedColumn { column: self.column.clone(), value_type: self.value_type }.serialize(serializer)
        }
    }
}

impl<'de> Deserialize<'de> for AttributeColumn {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ColumnVisitor;
        impl<'de> Visitor<'de> for ColumnVisitor {
            type Value = AttributeColumn;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a column name, or { \"column\": \"...\", \"type\": \"string|integer|number|boolean|date\" }",
                )
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<AttributeColumn, E> {
                Ok(AttributeColumn { column: s.to_owned(), value_type: ValueType::String })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<AttributeColumn, A::Error> {
                let t = TypedColumn::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(AttributeColumn { column: t.column, value_type: t.value_type })
            }
        }
        deserializer.deserialize_any(ColumnVisitor)
    }
}

/// How a dataset's rows become identities and attributes (a mapping file, JSON).
///
/// ```json
/// { "kind": "profile",
///   "identities": [{ "ns": "CRMID", "column": "crm_id" }, { "ns": "Email", "column": "email" }],
///   "attributes": { "person.name.firstName": "first_name",
///                   "loyalty.points": { "column": "points", "type": "integer" } },
///   "timestamp": "updated_at" }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingConfig {
    /// What the dataset holds (`profile`, the default, or `events`).
    #[serde(default)]
    pub kind: DatasetKind,
    /// Profile datasets: the identity columns. The first one present in a row keys the row's
    /// fragment (its primary identity); every identity of a row is linked to the others.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identities: Vec<IdentityColumn>,
    /// Profile datasets: XDM attribute path (`person.name.firstName`) → the column it is read from.
    #[serde(default, skip_serializing_if = "ObjectMap::is_empty")]
    pub attributes: ObjectMap<AttributeColumn>,
    /// Profile datasets: the column saying when a row was last true (RFC 3339 or `YYYY-MM-DD`);
    /// rows without it, or mappings without it, take the import's time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
}

/// A mapping that does not fit the file it is used with. Messages name the mapping field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MappingError {
    /// The mapping names a column the file does not have.
    #[error("{field}: the column {column} is not in the file (its columns: {available})")]
    UnknownColumn {
        /// The mapping field (`identities[0].column`).
        field: String,
        /// The column, quoted.
        column: String,
        /// The file's columns, listed.
        available: String,
    },
    /// The file's header has the column more than once.
    #[error("{field}: the column {column} appears {count} times in the header, so which one to read is unclear")]
    AmbiguousColumn {
        /// The mapping field.
        field: String,
        /// The column, quoted.
        column: String,
        /// How many times it appears.
        count: usize,
    },
    /// An identity column names a namespace nobody declared.
    #[error("{field}: {source}")]
    Namespace {
        /// The mapping field (`identities[0].ns`).
        field: String,
        /// Why.
        source: IdentityError,
    },
    /// A profile mapping without identity columns: rows could not be keyed.
    #[error(
        "identities: a profile dataset needs at least one identity column to key its rows by, such as {{ \"ns\": \"CRMID\", \"column\": \"crm_id\" }}"
    )]
    NoIdentity,
    /// An attribute path that is not dot-separated names.
    #[error(
        "{field}: expected an XDM path of dot-separated field names such as \"person.name.firstName\", found {found}"
    )]
    InvalidPath {
        /// The mapping field.
        field: String,
        /// The path, quoted.
        found: String,
    },
    /// An events mapping with profile-only fields.
    #[error("{field}: an events dataset takes identities, attributes and times from each event's XDM; remove {field}")]
    NotForEvents {
        /// The field (`identities`, `attributes`, `timestamp`).
        field: &'static str,
    },
}

/// Why a row (or an event) was not imported. Messages name the column and what was expected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RowProblem {
    /// The row does not have as many cells as the header.
    #[error("the row has {found} cells where the header has {expected}")]
    Width {
        /// Cells in the header.
        expected: usize,
        /// Cells in the row.
        found: usize,
    },
    /// An identity value is refused by its namespace.
    #[error("column {column}: {source}")]
    Identity {
        /// The column.
        column: String,
        /// Why (the identity service's reason).
        source: IdentityError,
    },
    /// A cell is not of its attribute's type.
    #[error("column {column}: expected {expected}, found {found}")]
    Value {
        /// The column.
        column: String,
        /// What was expected, as a phrase.
        expected: &'static str,
        /// The cell, quoted.
        found: String,
    },
    /// Every identity column of the row is empty: the row belongs to nobody.
    #[error("no identity: the identity columns ({columns}) are all empty")]
    NoIdentity {
        /// The identity columns, listed.
        columns: String,
    },
    /// An event field is wrong (the message names its path).
    #[error("{0}")]
    Field(FieldError),
    /// An event without a person identity to key it by.
    #[error(
        "xdm.identityMap: an imported event needs a person identity (such as CRMID or Email) to key it by, found none"
    )]
    NoPersonIdentity,
    /// An event with free-form `data`, which imported events do not keep.
    #[error("data: imported events keep only their XDM; move these fields under xdm (e.g. under _yourTenant)")]
    Data,
    /// A line that is not a JSON object.
    #[error("expected a JSON object, found {found}")]
    NotAnObject {
        /// The JSON type found.
        found: &'static str,
    },
    /// A row given to a mapping of the other kind of dataset.
    #[error("the mapping is for {kind} datasets; this row is of the other kind")]
    WrongKind {
        /// The mapping's kind.
        kind: DatasetKind,
    },
}

/// A profile row, mapped.
#[derive(Debug, Clone, PartialEq)]
pub struct MappedRow {
    /// Every identity of the row, the primary one (which keys the fragment) first.
    pub identities: Vec<IdentityKey>,
    /// The attributes, in the dataset's fragment of the primary identity, written at the row's
    /// time by the import.
    pub fragment: Fragment,
    /// The row's identities linked (authenticated: a source system knows its customers), when
    /// it has at least two.
    pub link: Option<LinkRecord>,
}

/// An event of an events dataset, mapped.
#[derive(Debug, Clone, PartialEq)]
pub struct MappedEvent {
    /// The event, keyed by its highest-priority person identity.
    pub event: IdentifiedEvent,
    /// The event's identities linked (with their `authenticatedState`), when it has several.
    pub link: Option<LinkRecord>,
}

#[derive(Debug, Clone)]
struct Bound<T> {
    index: usize,
    column: String,
    what: T,
}

/// A mapping checked against a file's header, ready to map rows.
#[derive(Debug, Clone)]
pub struct Mapping {
    kind: DatasetKind,
    width: usize,
    identities: Vec<Bound<String>>,
    attributes: Vec<Bound<(String, ValueType)>>,
    timestamp: Option<Bound<()>>,
    namespaces: Namespaces,
    limits: Limits,
}

fn valid_path(path: &str) -> bool {
    !path.is_empty()
        && path.split('.').all(|part| {
            !part.is_empty() && part.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '@' | '$'))
        })
}

impl MappingConfig {
    /// The mapping of an events dataset (events carry their own identities and times).
    #[must_use]
    pub fn events() -> MappingConfig {
        MappingConfig { kind: DatasetKind::Events, ..MappingConfig::default() }
    }

    /// What each column is mapped to, as `(column, target)` lines for people to read:
    /// `("crm_id", "identity CRMID")`, `("points", "loyalty.points (integer)")`.
    #[must_use]
    pub fn targets(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> =
            self.identities.iter().map(|i| (i.column.clone(), format!("identity {}", i.ns))).collect();
        for (path, a) in &self.attributes {
            let target = match a.value_type {
                ValueType::String => path.clone(),
                t => format!("{path} ({})", t.as_str()),
            };
            out.push((a.column.clone(), target));
        }
        if let Some(t) = &self.timestamp {
            out.push((t.clone(), "the row's time".to_owned()));
        }
        out
    }

    /// Checks the mapping against a file's header and compiles it.
    ///
    /// # Errors
    /// Every problem: columns the header lacks or repeats, undeclared namespaces, a profile
    /// mapping without identities, malformed attribute paths, profile fields in an events
    /// mapping.
    pub fn build(&self, columns: &[impl AsRef<str>], namespaces: &Namespaces) -> Result<Mapping, Vec<MappingError>> {
        let columns: Vec<&str> = columns.iter().map(AsRef::as_ref).collect();
        let mut errors = Vec::new();
        let find = |field: String, column: &str, errors: &mut Vec<MappingError>| -> Option<usize> {
            let positions: Vec<usize> =
                columns.iter().enumerate().filter(|(_, c)| **c == column).map(|(i, _)| i).collect();
            match positions.as_slice() {
                [one] => Some(*one),
                [] => {
                    let available = columns.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", ");
                    errors.push(MappingError::UnknownColumn { field, column: quote(column), available });
                    None
                }
                many => {
                    errors.push(MappingError::AmbiguousColumn { field, column: quote(column), count: many.len() });
                    None
                }
            }
        };
        let mut mapping = Mapping {
            kind: self.kind,
            width: columns.len(),
            identities: Vec::new(),
            attributes: Vec::new(),
            timestamp: None,
            namespaces: namespaces.clone(),
            limits: Limits::new(),
        };
        if self.kind == DatasetKind::Events {
            if !self.identities.is_empty() {
                errors.push(MappingError::NotForEvents { field: "identities" });
            }
            if !self.attributes.is_empty() {
                errors.push(MappingError::NotForEvents { field: "attributes" });
            }
            if self.timestamp.is_some() {
                errors.push(MappingError::NotForEvents { field: "timestamp" });
            }
            return if errors.is_empty() { Ok(mapping) } else { Err(errors) };
        }
        if self.identities.is_empty() {
            errors.push(MappingError::NoIdentity);
        }
        for (i, id) in self.identities.iter().enumerate() {
            if namespaces.get(&id.ns).is_none() {
                errors.push(MappingError::Namespace {
                    field: format!("identities[{i}].ns"),
                    source: IdentityError::UnknownNamespace { code: quote(&id.ns) },
                });
            }
            if let Some(index) = find(format!("identities[{i}].column"), &id.column, &mut errors) {
                mapping.identities.push(Bound { index, column: id.column.clone(), what: id.ns.clone() });
            }
        }
        for (path, a) in &self.attributes {
            let field = format!("attributes[{path:?}]");
            if !valid_path(path) {
                errors.push(MappingError::InvalidPath { field: field.clone(), found: quote(path) });
            }
            if let Some(index) = find(field, &a.column, &mut errors) {
                mapping.attributes.push(Bound { index, column: a.column.clone(), what: (path.clone(), a.value_type) });
            }
        }
        if let Some(column) = &self.timestamp
            && let Some(index) = find("timestamp".to_owned(), column, &mut errors)
        {
            mapping.timestamp = Some(Bound { index, column: column.clone(), what: () });
        }
        if errors.is_empty() { Ok(mapping) } else { Err(errors) }
    }
}

impl Mapping {
    /// What the dataset holds.
    #[must_use]
    pub fn kind(&self) -> DatasetKind {
        self.kind
    }

    /// Maps one profile row: its cells in header order (empty cells are absent values, neither
    /// errors nor deletions). `writer` names the import in the fragment's registers; rows
    /// without a time of their own are written at `import_time`. The row's link record is keyed
    /// by its dataset and identities ([`import_link_key`]).
    ///
    /// # Errors
    /// Every problem with the row, each naming its column.
    pub fn map_row(
        &self,
        row: &[impl AsRef<str>],
        dataset: &str,
        writer: &str,
        import_time: Timestamp,
    ) -> Result<MappedRow, Vec<RowProblem>> {
        if self.kind != DatasetKind::Profile {
            return Err(vec![RowProblem::WrongKind { kind: self.kind }]);
        }
        if row.len() != self.width {
            return Err(vec![RowProblem::Width { expected: self.width, found: row.len() }]);
        }
        let cell = |i: usize| row[i].as_ref().trim();
        let mut problems = Vec::new();
        let mut identities = Vec::new();
        for b in &self.identities {
            let text = cell(b.index);
            if text.is_empty() {
                continue;
            }
            match self.namespaces.normalize(&b.what, text) {
                Ok(id) => identities.push(IdentityKey::new(b.what.clone(), id)),
                Err(source) => problems.push(RowProblem::Identity { column: b.column.clone(), source }),
            }
        }
        if identities.is_empty() && problems.is_empty() {
            let columns = self.identities.iter().map(|b| b.column.as_str()).collect::<Vec<_>>().join(", ");
            problems.push(RowProblem::NoIdentity { columns });
        }
        let mut at = import_time;
        if let Some(b) = &self.timestamp {
            let text = cell(b.index);
            if !text.is_empty() {
                match parse_row_time(text) {
                    Some(t) => at = t,
                    None => problems.push(RowProblem::Value {
                        column: b.column.clone(),
                        expected: "an RFC 3339 date-time (2026-07-22T16:00:00Z) or a date (2026-07-22)",
                        found: quote(text),
                    }),
                }
            }
        }
        let mut values = Vec::with_capacity(self.attributes.len());
        for b in &self.attributes {
            let text = cell(b.index);
            if text.is_empty() {
                continue;
            }
            let (path, value_type) = &b.what;
            match value_type.read(text) {
                Some(v) => values.push((path.as_str(), v)),
                None => problems.push(RowProblem::Value {
                    column: b.column.clone(),
                    expected: value_type.expected(),
                    found: quote(text),
                }),
            }
        }
        let Some(primary) = identities.first().cloned().filter(|_| problems.is_empty()) else {
            return Err(problems);
        };
        let mut fragment = Fragment::new(dataset, primary);
        for (path, value) in values {
            fragment.set(path, value, at, writer);
        }
        let record = LinkRecord::new(
            import_link_key(dataset, &identities),
            at,
            identities.iter().map(|key| LinkedIdentity { key: key.clone(), state: AuthState::Authenticated }),
        );
        let link = (record.identities.len() > 1).then_some(record);
        Ok(MappedRow { identities, fragment, link })
    }

    /// Maps one event of an events dataset (`{ "xdm": {...} }` or bare XDM). Its identities are
    /// checked and normalized; it is keyed by its highest-priority person identity; events
    /// without `timestamp` happened at `import_time`; events without `_id` get one derived from
    /// the dataset and `row_key` (so the same row imported again is the same event).
    ///
    /// # Errors
    /// Every problem with the event, each naming its field.
    pub fn map_event(
        &self,
        value: Value,
        dataset: &str,
        import_time: Timestamp,
        row_key: &str,
    ) -> Result<MappedEvent, Vec<RowProblem>> {
        if self.kind != DatasetKind::Events {
            return Err(vec![RowProblem::WrongKind { kind: self.kind }]);
        }
        let wrapped = match value {
            Value::Object(m) if m.contains_key("xdm") => Value::Object(m),
            Value::Object(m) => crate::object! { "xdm" => Value::Object(m) },
            other => return Err(vec![RowProblem::NotAnObject { found: other.kind() }]),
        };
        let mut event = Event::read(wrapped, &Path::Root(""), &self.limits, &self.namespaces)
            .map_err(|errors| errors.into_iter().map(RowProblem::Field).collect::<Vec<_>>())?;
        if event.data.as_ref().is_some_and(|d| !d.is_empty()) {
            return Err(vec![RowProblem::Data]);
        }
        let xdm = &mut event.xdm;
        let identities: Vec<LinkedIdentity> = xdm
            .identity_map
            .iter()
            .flat_map(|(ns, items)| {
                items.iter().map(move |item| LinkedIdentity {
                    key: IdentityKey::new(ns.clone(), item.id.clone()),
                    state: item.authenticated_state.into(),
                })
            })
            .collect();
        let Some(person) = identities
            .iter()
            .filter(|i| self.namespaces.kind(&i.key.ns).is_person() && i.state != AuthState::LoggedOut)
            .min_by(|a, b| {
                self.namespaces.priority(&a.key.ns).cmp(&self.namespaces.priority(&b.key.ns)).then(a.key.cmp(&b.key))
            })
            .map(|i| i.key.clone())
        else {
            return Err(vec![RowProblem::NoPersonIdentity]);
        };
        let event_id = xdm.id.clone().unwrap_or_else(|| import_event_id(dataset, row_key));
        let timestamp = xdm.timestamp.unwrap_or(import_time);
        xdm.id = Some(event_id.clone());
        xdm.timestamp = Some(timestamp);
        let record = LinkRecord::new(event_id.clone(), timestamp, identities);
        let link = record.links(&self.namespaces).then_some(record);
        let event = IdentifiedEvent {
            event_id,
            identity: person,
            event_type: xdm.event_type.clone(),
            timestamp,
            xdm: xdm.to_value(),
        };
        Ok(MappedEvent { event, link })
    }
}

/// The standard column names [`auto_mapping`] knows: normalized names, then what they map to.
struct Standard {
    names: &'static [&'static str],
    identity: Option<&'static str>,
    attribute: Option<(&'static str, ValueType)>,
    timestamp: bool,
}

const fn std_col(
    names: &'static [&'static str],
    identity: Option<&'static str>,
    attribute: Option<(&'static str, ValueType)>,
) -> Standard {
    Standard { names, identity, attribute, timestamp: false }
}

const STANDARD: &[Standard] = &[
    std_col(&["email", "emailaddress"], Some("Email"), Some(("personalEmail.address", ValueType::String))),
    std_col(&["firstname", "givenname"], None, Some(("person.name.firstName", ValueType::String))),
    std_col(&["lastname", "surname", "familyname"], None, Some(("person.name.lastName", ValueType::String))),
    std_col(
        &["phone", "mobile", "phonenumber", "mobilephone"],
        Some("Phone"),
        Some(("mobilePhone.number", ValueType::String)),
    ),
    std_col(&["crmid", "customerid"], Some("CRMID"), None),
    std_col(
        &["loyaltyid", "loyaltynumber", "memberid"],
        Some("LoyaltyID"),
        Some(("loyalty.loyaltyID", ValueType::String)),
    ),
    std_col(&["tier", "loyaltytier"], None, Some(("loyalty.tier", ValueType::String))),
    std_col(&["points", "loyaltypoints"], None, Some(("loyalty.points", ValueType::Integer))),
    std_col(&["birthdate", "dateofbirth"], None, Some(("person.birthDate", ValueType::Date))),
    std_col(&["city"], None, Some(("homeAddress.city", ValueType::String))),
    std_col(&["country"], None, Some(("homeAddress.country", ValueType::String))),
    std_col(&["postalcode", "zip", "zipcode"], None, Some(("homeAddress.postalCode", ValueType::String))),
    std_col(&["preferredsize"], None, Some(("_luma.preferences.size", ValueType::String))),
    std_col(&["preferredcategory"], None, Some(("_luma.preferences.category", ValueType::String))),
    Standard { names: &["updatedat", "lastmodified", "modifiedat"], identity: None, attribute: None, timestamp: true },
];

/// A column name as auto-mapping compares it: lower-case letters and digits only
/// (`First Name`, `first_name` and `firstName` are all `firstname`).
#[must_use]
pub fn normalize_column(name: &str) -> String {
    name.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

fn standard_for(column: &str) -> Option<&'static Standard> {
    let by_name = |n: &str| STANDARD.iter().find(|s| s.names.contains(&n));
    by_name(&normalize_column(column))
        .or_else(|| STANDARD.iter().find(|s| s.attribute.is_some_and(|(path, _)| path == column)))
        .or_else(|| column.rsplit_once('.').and_then(|(_, last)| by_name(&normalize_column(last))))
}

/// A profile mapping for a header of standard column names (table in the README): identities
/// ordered by namespace priority (CRMID first), each target taken by the first column that
/// names it. Also returns the columns left unmapped. Flattened JSON names work too: a column
/// that is a target path (`loyalty.tier`) maps to it, and `person.name.firstName` maps by its
/// last part.
#[must_use]
pub fn auto_mapping(columns: &[impl AsRef<str>], namespaces: &Namespaces) -> (MappingConfig, Vec<String>) {
    let mut config = MappingConfig::default();
    let mut unmapped = Vec::new();
    for column in columns.iter().map(AsRef::as_ref) {
        let mut used = false;
        if let Some(s) = standard_for(column) {
            if let Some(ns) = s.identity
                && namespaces.get(ns).is_some()
                && !config.identities.iter().any(|i| i.ns == ns)
            {
                config.identities.push(IdentityColumn { ns: ns.to_owned(), column: column.to_owned() });
                used = true;
            }
            if let Some((path, value_type)) = s.attribute
                && !config.attributes.contains_key(path)
            {
                config.attributes.insert(path.to_owned(), AttributeColumn { column: column.to_owned(), value_type });
                used = true;
            }
            if s.timestamp && config.timestamp.is_none() {
                config.timestamp = Some(column.to_owned());
                used = true;
            }
        }
        if !used {
            unmapped.push(column.to_owned());
        }
    }
    config.identities.sort_by_key(|i| namespaces.priority(&i.ns));
    (config, unmapped)
}

/// A JSON object as named cells for a profile mapping: nested members joined with dots
/// (`person.name.firstName`), array elements by index (`tags.0`), scalars as text, `null` as an
/// empty (absent) cell.
///
/// # Errors
/// [`RowProblem::NotAnObject`] when the value is not an object.
pub fn flatten_object(value: &Value) -> Result<Vec<(String, String)>, RowProblem> {
    fn walk(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
        let join = |k: &str| if prefix.is_empty() { k.to_owned() } else { format!("{prefix}.{k}") };
        match v {
            Value::Object(m) => m.iter().for_each(|(k, v)| walk(&join(k), v, out)),
            Value::Array(items) => items.iter().enumerate().for_each(|(i, v)| walk(&join(&i.to_string()), v, out)),
            Value::Null => out.push((prefix.to_owned(), String::new())),
            Value::Bool(b) => out.push((prefix.to_owned(), b.to_string())),
            Value::String(s) => out.push((prefix.to_owned(), s.clone())),
            Value::Number(n) => out.push((
                prefix.to_owned(),
                match n {
                    Number::PosInt(u) => u.to_string(),
                    Number::NegInt(i) => i.to_string(),
                    Number::Float(f) => f.to_string(),
                },
            )),
        }
    }
    match value {
        Value::Object(_) => {
            let mut out = Vec::new();
            walk("", value, &mut out);
            Ok(out)
        }
        other => Err(RowProblem::NotAnObject { found: other.kind() }),
    }
}

fn short_hash(parts: &[&str]) -> String {
    hex(&sha256(parts.join("\n").as_bytes())[..16])
}

/// The hash of a file's content, which import batch ids derive from (SHA-256, hex).
#[must_use]
pub fn content_hash(bytes: &[u8]) -> String {
    hex(&sha256(bytes))
}

/// The id of chunk `chunk` (0, 1, ...) of a file's import into `dataset`: the same file
/// imported again gives the same ids, which the origin applies once.
#[must_use]
pub fn import_batch_id(dataset: &str, content_hash: &str, chunk: usize) -> String {
    format!("import-{}", short_hash(&["edgecdp import batch", dataset, content_hash, &chunk.to_string()]))
}

/// The id of an imported event without `_id`.
#[must_use]
pub fn import_event_id(dataset: &str, row_key: &str) -> String {
    short_hash(&["edgecdp import event", dataset, row_key])
}

/// The writer name of a file's import (in fragment registers and as the batch source).
#[must_use]
pub fn import_writer(content_hash: &str) -> String {
    format!("import-{}", content_hash.get(..16).unwrap_or(content_hash))
}

/// The key of a profile row's link record: the dataset and the identities it links, so the
/// same customer in every daily export is one observation (kept at its first time) rather
/// than one more record per file.
#[must_use]
pub fn import_link_key(dataset: &str, identities: &[IdentityKey]) -> String {
    let mut sorted: Vec<String> = identities.iter().map(ToString::to_string).collect();
    sorted.sort();
    let parts: Vec<&str> = std::iter::once(dataset).chain(sorted.iter().map(String::as_str)).collect();
    format!("{dataset}:{}", short_hash(&parts))
}

/// The key of a row: the dataset, the file, the row number.
#[must_use]
pub fn import_row_key(dataset: &str, content_hash: &str, row: usize) -> String {
    format!("{dataset}:{}:{row}", content_hash.get(..16).unwrap_or(content_hash))
}

/// One chunk of an import as a sync batch: the links first (so the graph knows the person),
/// then the fragments (rows of the same identity joined), then the events.
#[must_use]
pub fn import_batch(
    dataset: &str,
    content_hash: &str,
    chunk: usize,
    created_at: Timestamp,
    rows: Vec<MappedRow>,
    events: Vec<MappedEvent>,
) -> SyncBatch {
    let writer = import_writer(content_hash);
    let mut links = Vec::new();
    let mut fragments: Vec<Fragment> = Vec::new();
    for row in rows {
        links.extend(row.link);
        if row.fragment.attrs.is_empty() {
            continue;
        }
        match fragments.iter_mut().find(|f| f.identity == row.fragment.identity) {
            Some(f) => {
                f.merge(&row.fragment);
            }
            None => fragments.push(row.fragment),
        }
    }
    let mut identified = Vec::with_capacity(events.len());
    for e in events {
        links.extend(e.link);
        identified.push(e.event);
    }
    let mut records = Vec::new();
    if !links.is_empty() {
        records.push(SyncRecord::Links(IdentityLinks { source: dataset.to_owned(), records: links }));
    }
    if !fragments.is_empty() {
        records.push(SyncRecord::Fragments(FragmentUpdates { source: writer.clone(), fragments }));
    }
    if !identified.is_empty() {
        records
            .push(SyncRecord::IdentifiedEvents(IdentifiedEvents { dataset: dataset.to_owned(), events: identified }));
    }
    SyncBatch {
        v: crate::sync::SYNC_VERSION,
        batch_id: import_batch_id(dataset, content_hash, chunk),
        source: writer,
        created_at,
        records,
    }
}

#[cfg(test)]
mod tests;
