//! Who the visitor is, from what the request carries: the identity cookie (signed) in the
//! `Cookie` header or in `meta.state.entries`, the consent cookie, and a legacy ECID.

use super::{EdgeLog, Entropy};
use crate::codec::percent_decode;
use crate::consent::Consent;
use crate::identity::cookie::{self, cookie_prefix, identity_cookie_name};
use crate::identity::{CookieKeys, Ecid, IdentityError};
use crate::protocol::Meta;
use crate::snapshot::Datastream;
use crate::xdm::IdentityItem;

/// The cookies a request carries.
pub(super) struct Cookies<'a> {
    pub(super) header: &'a str,
    pub(super) meta: &'a Meta,
}

impl Cookies<'_> {
    /// Values of cookie `name`: from the `Cookie` header first (first-party edge), then from
    /// `meta.state.entries` (third-party edge), in order.
    fn values<'m>(&'m self, name: &'m str) -> impl Iterator<Item = String> + 'm {
        let from_header = self.header.split(';').filter_map(move |pair| {
            let (k, v) = pair.split_once('=')?;
            let k = percent_decode(k.trim())?;
            (k == name).then(|| v.trim().trim_matches('"').to_owned())
        });
        let from_entries = self.meta.entries.iter().filter(move |e| e.key == name).map(|e| e.value.clone());
        from_header.chain(from_entries)
    }

    /// The visitor's ECID: a signed identity cookie, else (if the datastream allows) an
    /// unsigned one or a legacy ECID from the request, else a fresh one.
    pub(super) fn ecid(
        &self,
        ds: &Datastream,
        keys: &CookieKeys,
        legacy: Option<&IdentityItem>,
        entropy: &Entropy,
        log: &mut Vec<EdgeLog>,
    ) -> Ecid {
        let name = identity_cookie_name(&ds.org_id);
        let mut refused = None;
        for value in self.values(&name) {
            match keys.verify(&ds.org_id, &value) {
                Ok(ecid) => return ecid,
                Err(IdentityError::CookieUnsigned) if ds.accept_unsigned_ecid => {
                    if let Ok(d) = cookie::decode(&value) {
                        return d.ecid;
                    }
                }
                Err(e) => refused = refused.or(Some(e)),
            }
        }
        if let Some(ecid) = legacy.filter(|_| ds.accept_unsigned_ecid).and_then(|item| Ecid::parse(&item.id).ok()) {
            return ecid;
        }
        log.push(EdgeLog::EcidMinted { refused });
        Ecid::mint(entropy.ecid())
    }

    /// The visitor's consent from the consent cookie, else the datastream default.
    pub(super) fn consent(&self, ds: &Datastream) -> Consent {
        let name = cookie_prefix(&ds.org_id) + "consent";
        self.values(&name)
            .find_map(|v| Consent::from_cookie_value(&percent_decode(&v).unwrap_or(v)))
            .unwrap_or(ds.default_consent)
    }
}
