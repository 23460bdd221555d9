//! # edgecdp-wasm
//!
//! Browser (and Node) bindings of `edgecdp-core`, built with wasm-bindgen. sdk-js loads them
//! lazily; they only convert, call the core and convert back. Every fallible call returns one
//! envelope, built by [`envelope`]:
//!
//! ```text
//! { ok: true,  value: T }
//! { ok: false, error: { code: string, message: string, errors?: [{ path, code, message }] } }
//! ```
//!
//! Exports (JavaScript names): `version()`, `specVersion()`, `validateEvent(event)`,
//! `decodeIdentityCookie(value)`, `identityCookieName(orgId)`.

use edgecdp_core::field::{FieldError, Path};
use edgecdp_core::identity::cookie;
use edgecdp_core::limits::Limits;
use edgecdp_core::value::{Value, ValueSeed};
use edgecdp_core::xdm::Event;
use serde::Serialize;
use serde::de::DeserializeSeed;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(message: &str);
}

/// Installs the panic hook when the module is instantiated: a panic (there should be none; the
/// core forbids them) is reported on the console with its message before the call throws.
#[wasm_bindgen(start)]
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        console_error(&format!("edgecdp-wasm panicked: {info}"))
    }));
}

/// The error half of the envelope.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BindingError {
    /// A stable code (`invalid_event`, `invalid_cookie`, `bad_input`).
    pub code: &'static str,
    /// A sentence.
    pub message: String,
    /// Field problems, when there are any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

/// One field problem, as JavaScript sees it.
#[derive(Debug, Serialize)]
pub struct FieldProblem {
    /// The field's path (`xdm.identityMap.Email[0].id`).
    pub path: String,
    /// The kind of problem (`wrong_type`, `too_many_identities`, ...).
    pub code: &'static str,
    /// The problem as a sentence.
    pub message: String,
}

impl From<&FieldError> for FieldProblem {
    fn from(e: &FieldError) -> Self {
        FieldProblem {
            path: e.path().to_owned(),
            code: e.code(),
            message: e.to_string(),
        }
    }
}

#[derive(Serialize)]
#[serde(untagged)]
enum Envelope<T> {
    Ok { ok: bool, value: T },
    Err { ok: bool, error: BindingError },
}

/// Builds the result envelope of every binding.
pub fn envelope<T: Serialize>(result: Result<T, BindingError>) -> JsValue {
    let env = match result {
        Ok(value) => Envelope::Ok { ok: true, value },
        Err(error) => Envelope::Err { ok: false, error },
    };
    let serializer = serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true);
    env.serialize(&serializer)
        .unwrap_or_else(|e| JsValue::from_str(&e.to_string()))
}

/// The version of edgecdp-core inside this module.
#[wasm_bindgen]
pub fn version() -> String {
    edgecdp_core::VERSION.to_owned()
}

/// The version of the shared test vectors (`tests/spec/`) this module implements.
#[wasm_bindgen(js_name = specVersion)]
pub fn spec_version() -> u32 {
    edgecdp_core::SPEC_VERSION
}

/// Validates an event `{ xdm, data? }` exactly as the edge will, with the default limits.
///
/// The envelope's value is the event as the edge reads it (unknown fields kept); its error
/// lists every problem with the field's path (`xdm.timestamp`).
#[wasm_bindgen(js_name = validateEvent)]
pub fn validate_event(event: JsValue) -> JsValue {
    envelope(validate(event))
}

fn validate(event: JsValue) -> Result<Value, BindingError> {
    let limits = Limits::new();
    let value = ValueSeed::new(limits.max_depth)
        .deserialize(serde_wasm_bindgen::Deserializer::from(event))
        .map_err(|e| BindingError {
            code: "bad_input",
            message: format!("the event is not a JSON-like object: {e}"),
            errors: Vec::new(),
        })?;
    Event::from_value(value, &Path::Root(""), &limits)
        .map(|e| e.to_value())
        .map_err(|errors| BindingError {
            code: "invalid_event",
            message: match errors.as_slice() {
                [one] => one.to_string(),
                [first, rest @ ..] => format!("{first} (and {} more)", rest.len()),
                [] => "the event is invalid".into(),
            },
            errors: errors.iter().map(FieldProblem::from).collect(),
        })
}

/// What an identity cookie carries.
#[derive(Debug, Serialize)]
pub struct DecodedCookie {
    /// The ECID.
    pub ecid: String,
    /// Whether it carries an edge signature (which only the edge can check).
    pub signed: bool,
}

/// Decodes a `kndctr_{org}_identity` cookie value (the ECID in protobuf field 1).
#[wasm_bindgen(js_name = decodeIdentityCookie)]
pub fn decode_identity_cookie(value: &str) -> JsValue {
    envelope(
        cookie::decode(value)
            .map(|d| DecodedCookie {
                ecid: d.ecid.to_string(),
                signed: d.mac.is_some(),
            })
            .map_err(|e| BindingError {
                code: "invalid_cookie",
                message: e.to_string(),
                errors: Vec::new(),
            }),
    )
}

/// The identity cookie's name for an org id (`kndctr_LUMA123_AdobeOrg_identity`).
#[wasm_bindgen(js_name = identityCookieName)]
pub fn identity_cookie_name(org_id: &str) -> String {
    cookie::identity_cookie_name(org_id)
}
