//! JavaScript values ⇄ core [`Value`]s, walked by hand with `js-sys`.
//!
//! Not serde-wasm-bindgen: serde's generic error paths format floats, and that code alone is a
//! fifth of the browser core. Numbers cross as doubles, strings as strings, so nothing here
//! formats or parses a number.

use edgecdp_core::value::{Map, Number, Value};
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

/// Why a JavaScript value is not JSON-like.
#[derive(Debug)]
pub(crate) enum ConvertError {
    /// Nested deeper than the limit.
    TooDeep,
    /// A value JSON cannot hold (a function, a symbol, a bigint).
    NotJson(String),
}

/// Converts a JSON-like JavaScript value; `undefined` members are dropped as `JSON.stringify`
/// does.
pub(crate) fn from_js(v: &JsValue, depth_left: usize, path: &mut String) -> Result<Value, ConvertError> {
    if v.is_null() || v.is_undefined() {
        return Ok(Value::Null);
    }
    if let Some(b) = v.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Some(f) = v.as_f64() {
        return Ok(Value::Number(Number::Float(f)));
    }
    if let Some(s) = v.as_string() {
        return Ok(Value::String(s));
    }
    if v.is_function() || v.is_symbol() || v.is_bigint() {
        return Err(ConvertError::NotJson(format!("{} holds a value JSON cannot carry", display(path))));
    }
    let Some(next) = depth_left.checked_sub(1) else {
        return Err(ConvertError::TooDeep);
    };
    let mark = path.len();
    if Array::is_array(v) {
        let arr: &Array = v.unchecked_ref();
        let mut items = Vec::with_capacity(arr.length() as usize);
        for i in 0..arr.length() {
            path.push('[');
            path.push_str(&i.to_string());
            path.push(']');
            items.push(from_js(&arr.get(i), next, path)?);
            path.truncate(mark);
        }
        return Ok(Value::Array(items));
    }
    let obj: &Object = v.unchecked_ref();
    let mut map = Map::new();
    for key in Object::keys(obj).iter() {
        let Some(k) = key.as_string() else { continue };
        let member = Reflect::get(obj, &key).unwrap_or(JsValue::UNDEFINED);
        if member.is_undefined() {
            continue;
        }
        path.push('.');
        path.push_str(&k);
        let value = from_js(&member, next, path)?;
        path.truncate(mark);
        map.insert(k, value);
    }
    Ok(Value::Object(map))
}

fn display(path: &str) -> &str {
    let p = path.trim_start_matches('.');
    if p.is_empty() { "the value" } else { p }
}

/// Converts a core value to a plain JavaScript value (objects, arrays, numbers, strings).
pub(crate) fn to_js(v: &Value) -> JsValue {
    match v {
        Value::Null => JsValue::NULL,
        Value::Bool(b) => JsValue::from_bool(*b),
        Value::Number(n) => JsValue::from_f64(n.as_f64()),
        Value::String(s) => JsValue::from_str(s),
        Value::Array(items) => items.iter().map(to_js).collect::<Array>().into(),
        Value::Object(map) => {
            let obj = Object::new();
            for (k, item) in map {
                // Setting a property on a fresh plain object cannot fail.
                let _ = Reflect::set(&obj, &JsValue::from_str(k), &to_js(item));
            }
            obj.into()
        }
    }
}
