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
//! `decodeIdentityCookie(value)`, `identityCookieName(orgId)`, `normalizeIdentity(ns, id)`.
//! Identity rules use the built-in namespaces. (The identity graph itself is built at the
//! origin; the browser never needs it, so its code stays out of this module.)

mod convert;

use edgecdp_core::field::{FieldError, Path};
use edgecdp_core::identity::{Namespaces, cookie};
use edgecdp_core::limits::Limits;
use edgecdp_core::object;
use edgecdp_core::value::Value;
use edgecdp_core::xdm::Event;
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
    std::panic::set_hook(Box::new(|info| console_error(&format!("edgecdp-wasm panicked: {info}"))));
}

/// The error half of the envelope.
#[derive(Debug)]
pub struct BindingError {
    /// A stable code (`invalid_event`, `bad_input`, or the identity error's code such as
    /// `cookie_not_base64`).
    pub code: &'static str,
    /// A sentence.
    pub message: String,
    /// Field problems, when there are any.
    pub errors: Vec<FieldError>,
}

impl BindingError {
    fn to_value(&self) -> Value {
        let mut e = object! { "code" => self.code, "message" => self.message.as_str() };
        if let (Value::Object(m), false) = (&mut e, self.errors.is_empty()) {
            let list = self
                .errors
                .iter()
                .map(|f| object! { "path" => f.path(), "code" => f.code(), "message" => f.to_string() })
                .collect::<Vec<_>>();
            m.insert("errors".into(), Value::Array(list));
        }
        e
    }
}

/// Builds the result envelope of every binding.
pub fn envelope(result: Result<Value, BindingError>) -> JsValue {
    let env = match result {
        Ok(value) => object! { "ok" => true, "value" => value },
        Err(error) => object! { "ok" => false, "error" => error.to_value() },
    };
    convert::to_js(&env)
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
pub fn validate_event(event: &JsValue) -> JsValue {
    envelope(validate(event))
}

fn validate(event: &JsValue) -> Result<Value, BindingError> {
    let limits = Limits::new();
    let mut path = String::new();
    let value = convert::from_js(event, limits.max_depth, &mut path).map_err(|e| BindingError {
        code: "bad_input",
        message: match e {
            convert::ConvertError::TooDeep => {
                format!("the event nests deeper than the limit of {} levels", limits.max_depth)
            }
            convert::ConvertError::NotJson(m) => m,
        },
        errors: Vec::new(),
    })?;
    Event::read(value, &Path::Root(""), &limits, &Namespaces::defaults()).map(|e| e.to_value()).map_err(|errors| {
        BindingError {
            code: "invalid_event",
            message: match errors.as_slice() {
                [one] => one.to_string(),
                [first, rest @ ..] => format!("{first} (and {} more)", rest.len()),
                [] => "the event is invalid".into(),
            },
            errors,
        }
    })
}

/// Decodes a `kndctr_{org}_identity` cookie value (the ECID in protobuf field 1). The value is
/// `{ ecid, signed }`: `signed` says it carries an edge signature, which only the edge can check.
#[wasm_bindgen(js_name = decodeIdentityCookie)]
pub fn decode_identity_cookie(value: &str) -> JsValue {
    envelope(
        cookie::decode(value)
            .map(|d| object! { "ecid" => d.ecid.to_string(), "signed" => d.mac.is_some() })
            .map_err(|e| BindingError { code: e.code(), message: e.to_string(), errors: Vec::new() }),
    )
}

/// The identity cookie's name for an org id (`kndctr_LUMA123_AdobeOrg_identity`).
#[wasm_bindgen(js_name = identityCookieName)]
pub fn identity_cookie_name(org_id: &str) -> String {
    cookie::identity_cookie_name(org_id)
}

/// Normalizes an identity value of a built-in namespace (emails lower-cased, phones to E.164,
/// ...); the error names what is wrong (`unknown_namespace`, `blocked_value`, `invalid_email`, ...).
#[wasm_bindgen(js_name = normalizeIdentity)]
pub fn normalize_identity(ns: &str, id: &str) -> JsValue {
    envelope(Namespaces::defaults().normalize(ns, id).map(Value::String).map_err(|e| BindingError {
        code: e.code(),
        message: e.to_string(),
        errors: Vec::new(),
    }))
}
