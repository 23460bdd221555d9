//! Consent: what the visitor allows, read from the standards the Web SDK sends and kept in the
//! `kndctr_{org}_consent` cookie as `general=in|out`.
//!
//! | standard | version | value | reads as |
//! |---|---|---|---|
//! | `Adobe` | `1.0` | `{ "general": "in" \| "out" }` | as given |
//! | `Adobe` | `2.0` | `{ "collect": { "val": "y" \| "n" } }` | `y` → in, `n` → out |
//! | `IAB TCF` | `2.0` | TC string, `gdprApplies` | in when GDPR does not apply, or when purpose 1 (store and access information on a device) is consented in the TC string's core segment; else out |
//!
//! When a request carries several entries the most restrictive wins: any `out` makes it out.

use serde::{Deserialize, Serialize};

use crate::codec::base64_decode;
use crate::field::{Errors, FieldError, Path, quote};
use crate::value::Value;

/// The general collection consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Consent {
    /// Collection allowed.
    #[default]
    In,
    /// Collection refused: the edge stores no event.
    Out,
}

/// `maxAge` of the consent cookie: 180 days (Adobe's choice too).
pub const CONSENT_COOKIE_MAX_AGE: u32 = 180 * 86_400;

impl Consent {
    /// `in` or `out`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Consent::In => "in",
            Consent::Out => "out",
        }
    }

    /// The consent cookie's value: `general=in|out`.
    #[must_use]
    pub fn cookie_value(self) -> String {
        format!("general={}", self.as_str())
    }

    /// Reads a consent cookie value (`general=out`, possibly among other `;`-separated pairs).
    #[must_use]
    pub fn from_cookie_value(value: &str) -> Option<Consent> {
        value.split(';').find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            if k.trim() != "general" {
                return None;
            }
            match v.trim() {
                "in" => Some(Consent::In),
                "out" => Some(Consent::Out),
                _ => None,
            }
        })
    }

    /// Reads the `consent` array of a set-consent request.
    ///
    /// # Errors
    /// A [`FieldError`] for each entry whose standard, version or value is not understood.
    pub fn from_request(entries: &[Value]) -> Result<Consent, Vec<FieldError>> {
        let mut errs = Errors::new();
        let root = Path::Root("consent");
        let mut result = Consent::In;
        for (i, entry) in entries.iter().enumerate() {
            let path = root.index(i);
            if read_entry(entry, &path, &mut errs) == Some(Consent::Out) {
                result = Consent::Out;
            }
        }
        errs.finish(result)
    }
}

fn read_entry(entry: &Value, path: &Path<'_>, errs: &mut Errors) -> Option<Consent> {
    let Some(obj) = entry.as_object() else {
        errs.wrong_type(path, "an object", entry);
        return None;
    };
    let standard = obj.get("standard").and_then(Value::as_str);
    let version = obj.get("version").and_then(Value::as_str);
    let value = obj.get("value");
    let invalid = |errs: &mut Errors, field: &str, expected: &str, found: String| {
        errs.push(FieldError::InvalidValue { path: path.key(field).to_string(), expected: expected.into(), found });
    };
    match (standard, version) {
        (Some("Adobe"), Some("1.0")) => match value.and_then(|v| v.pointer("general")).and_then(Value::as_str) {
            Some("in") => Some(Consent::In),
            Some("out") => Some(Consent::Out),
            other => {
                invalid(errs, "value", "{ \"general\": \"in\" | \"out\" }", describe(other));
                None
            }
        },
        (Some("Adobe"), Some("2.0")) => match value.and_then(|v| v.pointer("collect.val")).and_then(Value::as_str) {
            Some("y") => Some(Consent::In),
            Some("n") => Some(Consent::Out),
            other => {
                invalid(errs, "value", "{ \"collect\": { \"val\": \"y\" | \"n\" } }", describe(other));
                None
            }
        },
        (Some("IAB TCF"), Some("2.0")) => {
            if obj.get("gdprApplies") == Some(&Value::Bool(false)) {
                return Some(Consent::In);
            }
            let Some(tc) = value.and_then(Value::as_str) else {
                invalid(errs, "value", "a TC string", describe(None));
                return None;
            };
            match tcf_purpose_consented(tc, 1) {
                Some(true) => Some(Consent::In),
                Some(false) => Some(Consent::Out),
                None => {
                    invalid(errs, "value", "a TCF 2.x TC string", quote(tc));
                    None
                }
            }
        }
        _ => {
            invalid(
                errs,
                "standard",
                "standard \"Adobe\" version \"1.0\" or \"2.0\", or \"IAB TCF\" version \"2.0\"",
                format!(
                    "{} version {}",
                    standard.map_or_else(|| "none".into(), quote),
                    version.map_or_else(|| "none".into(), quote)
                ),
            );
            None
        }
    }
}

fn describe(found: Option<&str>) -> String {
    found.map_or_else(|| "nothing usable".into(), quote)
}

/// Whether `purpose` (1–24) is consented in a TCF v2 TC string's core segment; `None` when the
/// string is not a TCF v2 core segment.
fn tcf_purpose_consented(tc: &str, purpose: usize) -> Option<bool> {
    // Core segment layout: Version(6) Created(36) LastUpdated(36) CmpId(12) CmpVersion(12)
    // ConsentScreen(6) ConsentLanguage(12) VendorListVersion(12) TcfPolicyVersion(6)
    // IsServiceSpecific(1) UseNonStandardTexts(1) SpecialFeatureOptIns(12) PurposesConsent(24).
    const PURPOSES_AT: usize = 152;
    let core = tc.split('.').next()?;
    let bytes = base64_decode(core)?;
    let bit = |i: usize| -> Option<bool> { Some(bytes.get(i / 8)? & (0x80 >> (i % 8)) != 0) };
    let version = (0..6).try_fold(0u8, |v, i| Some(v << 1 | u8::from(bit(i)?)))?;
    if version != 2 || !(1..=24).contains(&purpose) {
        return None;
    }
    bit(PURPOSES_AT + purpose - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::base64_encode;

    fn parse(text: &str) -> Result<Consent, Vec<FieldError>> {
        let v: Value = serde_json::from_str(text).unwrap();
        Consent::from_request(v.as_array().unwrap())
    }

    /// A TCF v2 core segment with only the version and purpose 1 bits set as asked.
    fn tc_string(purpose1: bool) -> String {
        let mut bits = vec![0u8; 30];
        bits[0] = 0b0000_1000; // version 2 in the first six bits
        if purpose1 {
            bits[152 / 8] |= 0x80; // bit 152 is the first of byte 19
        }
        base64_encode(&bits).replace('+', "-").replace('/', "_").trim_end_matches('=').to_owned()
    }

    #[test]
    fn reads_each_standard() {
        assert_eq!(parse(r#"[{"standard":"Adobe","version":"1.0","value":{"general":"out"}}]"#), Ok(Consent::Out));
        assert_eq!(parse(r#"[{"standard":"Adobe","version":"2.0","value":{"collect":{"val":"y"}}}]"#), Ok(Consent::In));
        let tc_in =
            format!(r#"[{{"standard":"IAB TCF","version":"2.0","value":"{}","gdprApplies":true}}]"#, tc_string(true));
        let tc_out =
            format!(r#"[{{"standard":"IAB TCF","version":"2.0","value":"{}","gdprApplies":true}}]"#, tc_string(false));
        assert_eq!(parse(&tc_in), Ok(Consent::In));
        assert_eq!(parse(&tc_out), Ok(Consent::Out));
        assert_eq!(
            parse(r#"[{"standard":"IAB TCF","version":"2.0","value":"x","gdprApplies":false}]"#),
            Ok(Consent::In)
        );
    }

    #[test]
    fn any_out_wins() {
        assert_eq!(
            parse(
                r#"[{"standard":"Adobe","version":"1.0","value":{"general":"in"}},{"standard":"Adobe","version":"2.0","value":{"collect":{"val":"n"}}}]"#
            ),
            Ok(Consent::Out)
        );
    }

    #[test]
    fn unknown_forms_are_errors_naming_the_entry() {
        let errs = parse(r#"[{"standard":"Adobe","version":"1.0","value":{"general":"maybe"}},{"standard":"Other"}]"#)
            .unwrap_err();
        assert_eq!(errs[0].path(), "consent[0].value");
        assert_eq!(errs[1].path(), "consent[1].standard");
        assert!(parse(r#"[{"standard":"IAB TCF","version":"2.0","value":"!!","gdprApplies":true}]"#).is_err());
    }

    #[test]
    fn cookie_value_round_trips() {
        for c in [Consent::In, Consent::Out] {
            assert_eq!(Consent::from_cookie_value(&c.cookie_value()), Some(c));
        }
        assert_eq!(Consent::from_cookie_value("x=1; general=out"), Some(Consent::Out));
        assert_eq!(Consent::from_cookie_value("garbage"), None);
    }
}
