//! The identity cookie `kndctr_{org}_identity`.
//!
//! Its value is base64 of a protobuf message:
//!
//! | field | wire type | content |
//! |---|---|---|
//! | 1 | length-delimited | the ECID as ASCII digits (what the Adobe Web SDK decodes) |
//! | 15 | length-delimited | 16 bytes: HMAC-SHA256(key, context ‖ org ‖ 0 ‖ ecid), truncated |
//!
//! Other fields are skipped when decoding (Adobe's own cookies carry 10, 20–22 and 30), so
//! cookies written by the Adobe edge decode too; whether an unsigned one is trusted is the
//! datastream's choice ([`Datastream::accept_unsigned_ecid`](crate::snapshot::Datastream)).

use super::{Ecid, IdentityError};
use crate::codec::{base64_decode, base64_encode, get_varint, percent_decode, put_varint};
use crate::mac::{constant_time_eq, hmac_sha256};

/// Field number of the ECID.
const FIELD_ECID: u64 = 1;
/// Field number of our signature.
const FIELD_MAC: u64 = 15;
/// Bytes of the HMAC kept in the cookie (128 bits).
const MAC_LEN: usize = 16;
/// Domain separation: a signature made for anything else never verifies as a cookie.
const MAC_CONTEXT: &[u8] = b"edgecdp identity cookie v1\0";
/// `maxAge` of the identity cookie: 390 days (a little under Adobe's 395, and within the
/// 13-month ceiling many cookie policies set).
pub const IDENTITY_COOKIE_MAX_AGE: u32 = 390 * 86_400;

/// The cookie-name prefix for an org: `kndctr_{orgId with '@' → '_'}_`.
#[must_use]
pub fn cookie_prefix(org_id: &str) -> String {
    format!("kndctr_{}_", org_id.replace('@', "_"))
}

/// The identity cookie's name for an org.
#[must_use]
pub fn identity_cookie_name(org_id: &str) -> String {
    cookie_prefix(org_id) + "identity"
}

/// The secret keys that sign identity cookies: the current one signs, every one verifies, so a
/// key can be rotated without logging every visitor out.
#[derive(Clone)]
pub struct CookieKeys {
    current: Vec<u8>,
    previous: Vec<Vec<u8>>,
}

impl std::fmt::Debug for CookieKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CookieKeys").field("previous", &self.previous.len()).finish_non_exhaustive()
    }
}

impl CookieKeys {
    /// Keys from the current secret and older ones still accepted.
    #[must_use]
    pub fn new(current: impl Into<Vec<u8>>, previous: Vec<Vec<u8>>) -> Self {
        CookieKeys { current: current.into(), previous }
    }

    fn mac(key: &[u8], org_id: &str, ecid: &Ecid) -> [u8; MAC_LEN] {
        let full = hmac_sha256(key, &[MAC_CONTEXT, org_id.as_bytes(), &[0], ecid.as_str().as_bytes()]);
        let mut out = [0; MAC_LEN];
        out.copy_from_slice(&full[..MAC_LEN]);
        out
    }

    /// The cookie value carrying `ecid`, signed with the current key.
    #[must_use]
    pub fn encode(&self, org_id: &str, ecid: &Ecid) -> String {
        let mac = Self::mac(&self.current, org_id, ecid);
        let mut buf = Vec::with_capacity(60);
        put_field(&mut buf, FIELD_ECID, ecid.as_str().as_bytes());
        put_field(&mut buf, FIELD_MAC, &mac);
        base64_encode(&buf)
    }

    /// Decodes a cookie value and checks its signature against every key.
    ///
    /// # Errors
    /// Whatever [`decode`] finds, [`IdentityError::CookieUnsigned`] when it has no signature and
    /// [`IdentityError::CookieSignatureMismatch`] when no key made its signature.
    pub fn verify(&self, org_id: &str, value: &str) -> Result<Ecid, IdentityError> {
        let decoded = decode(value)?;
        let Some(mac) = decoded.mac else {
            return Err(IdentityError::CookieUnsigned);
        };
        let ok = std::iter::once(&self.current)
            .chain(&self.previous)
            .any(|key| constant_time_eq(&Self::mac(key, org_id, &decoded.ecid), &mac));
        if ok { Ok(decoded.ecid) } else { Err(IdentityError::CookieSignatureMismatch) }
    }
}

fn put_field(buf: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put_varint(buf, field << 3 | 2);
    put_varint(buf, bytes.len() as u64);
    buf.extend_from_slice(bytes);
}

/// What an identity cookie carries, before its signature is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedIdentityCookie {
    /// The ECID in field 1.
    pub ecid: Ecid,
    /// Our signature in field 15, when present.
    pub mac: Option<Vec<u8>>,
}

/// Decodes an identity cookie value without checking its signature (what a browser can do).
///
/// Accepts the forms browsers and SDKs hand around: percent-encoded, standard or URL-safe
/// base64, with or without padding.
///
/// # Errors
/// [`IdentityError`] naming what is wrong with the value.
pub fn decode(value: &str) -> Result<DecodedIdentityCookie, IdentityError> {
    let text = percent_decode(value.trim()).ok_or(IdentityError::CookieNotBase64)?;
    let bytes = base64_decode(&text).ok_or(IdentityError::CookieNotBase64)?;
    let mut pos = 0;
    let mut ecid = None;
    let mut mac = None;
    let truncated = IdentityError::CookieNotProtobuf { reason: "a field is cut short" };
    while pos < bytes.len() {
        let key = get_varint(&bytes, &mut pos).ok_or(truncated.clone())?;
        let (field, wire) = (key >> 3, key & 7);
        if field == 0 {
            return Err(IdentityError::CookieNotProtobuf { reason: "field number 0 is not allowed" });
        }
        match wire {
            0 => {
                get_varint(&bytes, &mut pos).ok_or(truncated.clone())?;
            }
            1 | 5 => {
                pos += if wire == 1 { 8 } else { 4 };
                if pos > bytes.len() {
                    return Err(truncated);
                }
            }
            2 => {
                let len = usize::try_from(get_varint(&bytes, &mut pos).ok_or(truncated.clone())?)
                    .map_err(|_| truncated.clone())?;
                let end = pos.checked_add(len).filter(|&e| e <= bytes.len()).ok_or(truncated.clone())?;
                let content = &bytes[pos..end];
                pos = end;
                match field {
                    FIELD_ECID => {
                        let s = std::str::from_utf8(content)
                            .map_err(|_| IdentityError::CookieNotProtobuf { reason: "field 1 is not UTF-8 text" })?;
                        ecid = Some(Ecid::parse(s)?);
                    }
                    FIELD_MAC => mac = Some(content.to_vec()),
                    _ => {}
                }
            }
            _ => {
                return Err(IdentityError::CookieNotProtobuf { reason: "an unknown wire type" });
            }
        }
    }
    Ok(DecodedIdentityCookie { ecid: ecid.ok_or(IdentityError::CookieWithoutEcid)?, mac })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ORG: &str = "LUMA123@AdobeOrg";

    fn keys() -> CookieKeys {
        CookieKeys::new(b"test secret".to_vec(), vec![])
    }

    #[test]
    fn reads_the_adobe_minimal_cookie() {
        // base64(0x0A, 38, digits): the minimal form from the protocol reference.
        let d = decode("CiY1MjgxNTI4NjQ0MDU4MjcxNjE3MTM3MDM2MTczMzQzMjU4MTMzMA==").unwrap();
        assert_eq!(d.ecid.as_str(), "52815286440582716171370361733432581330");
        assert_eq!(d.mac, None);
        assert_eq!(
            keys().verify(ORG, "CiY1MjgxNTI4NjQ0MDU4MjcxNjE3MTM3MDM2MTczMzQzMjU4MTMzMA"),
            Err(IdentityError::CookieUnsigned)
        );
    }

    #[test]
    fn signed_cookie_verifies_and_starts_like_adobes() {
        let ecid = Ecid::mint([7; 16]);
        let value = keys().encode(ORG, &ecid);
        assert!(value.starts_with("CiY"), "field 1 first, as the Web SDK expects: {value}");
        assert_eq!(keys().verify(ORG, &value).unwrap(), ecid);
        assert_eq!(decode(&value).unwrap().ecid, ecid);
    }

    #[test]
    fn other_key_or_org_or_ecid_is_a_forgery() {
        let ecid = Ecid::mint([7; 16]);
        let value = keys().encode(ORG, &ecid);
        let other = CookieKeys::new(b"another".to_vec(), vec![]);
        assert_eq!(other.verify(ORG, &value), Err(IdentityError::CookieSignatureMismatch));
        assert_eq!(keys().verify("OTHER@AdobeOrg", &value), Err(IdentityError::CookieSignatureMismatch));
        // Swap the ECID but keep the signature.
        let mut bytes = base64_decode(&value).unwrap();
        bytes[2] = if bytes[2] == b'9' { b'8' } else { b'9' };
        assert_eq!(keys().verify(ORG, &base64_encode(&bytes)), Err(IdentityError::CookieSignatureMismatch));
    }

    #[test]
    fn rotated_keys_still_verify() {
        let ecid = Ecid::mint([1; 16]);
        let old = CookieKeys::new(b"old".to_vec(), vec![]).encode(ORG, &ecid);
        let rotated = CookieKeys::new(b"new".to_vec(), vec![b"old".to_vec()]);
        assert_eq!(rotated.verify(ORG, &old).unwrap(), ecid);
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        assert_eq!(decode("not base64!"), Err(IdentityError::CookieNotBase64));
        assert_eq!(decode(""), Err(IdentityError::CookieWithoutEcid));
        assert!(matches!(decode("CiY1"), Err(IdentityError::CookieNotProtobuf { .. })));
        assert!(matches!(decode(&base64_encode(b"\x0a\x03abc")), Err(IdentityError::InvalidEcid { .. })));
    }

    #[test]
    fn cookie_names_follow_the_org() {
        assert_eq!(identity_cookie_name(ORG), "kndctr_LUMA123_AdobeOrg_identity");
    }

    proptest! {
        #[test]
        fn decode_never_panics(s in ".{0,80}") {
            let _ = decode(&s);
        }

        #[test]
        fn decode_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..80)) {
            let _ = decode(&base64_encode(&bytes));
        }
    }
}
