use std::fmt;

use serde::{Deserialize, Serialize};

use super::IdentityError;
use crate::field::quote;

/// An Experience Cloud ID: exactly 38 decimal digits.
///
/// The format is Adobe's; keeping it means the legacy `AMCV_` cookie reader and every tool that
/// expects an ECID accept ours.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Ecid(String);

/// 10^37: the smallest 38-digit number.
const MIN: u128 = 10_000_000_000_000_000_000_000_000_000_000_000_000;
/// How many 38-digit numbers there are (9 × 10^37).
const SPAN: u128 = 9 * MIN;

impl Ecid {
    /// The identity namespace code of ECIDs.
    pub const NAMESPACE: &'static str = "ECID";

    /// Mints an ECID from 16 bytes of entropy from the host's secure random source.
    ///
    /// The 128-bit number is reduced into the 38-digit range (no leading zero); the reduction's
    /// bias is below 2^-127 per value, far beneath anything observable.
    #[must_use]
    pub fn mint(entropy: [u8; 16]) -> Ecid {
        let n = u128::from_be_bytes(entropy) % SPAN + MIN;
        Ecid(n.to_string())
    }

    /// Checks that `s` is an ECID.
    ///
    /// # Errors
    /// [`IdentityError::InvalidEcid`] unless `s` is exactly 38 ASCII digits.
    pub fn parse(s: &str) -> Result<Ecid, IdentityError> {
        if s.len() == 38 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Ecid(s.to_owned()))
        } else {
            Err(IdentityError::InvalidEcid { found: quote(s) })
        }
    }

    /// The 38 digits.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Ecid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Ecid {
    type Error = IdentityError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Ecid::parse(&s)
    }
}

impl From<Ecid> for String {
    fn from(e: Ecid) -> String {
        e.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn extremes_stay_38_digits() {
        assert_eq!(Ecid::mint([0; 16]).as_str(), format!("1{}", "0".repeat(37)));
        assert_eq!(Ecid::mint([0xff; 16]).as_str().len(), 38);
    }

    #[test]
    fn parse_refuses_other_shapes() {
        for bad in ["", "123", &"1".repeat(39), &format!("{}a", "1".repeat(37)), &format!("{}٣", "1".repeat(36))] {
            assert!(Ecid::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn minted_ecids_parse(bytes in any::<[u8; 16]>()) {
            let e = Ecid::mint(bytes);
            prop_assert_eq!(e.as_str().len(), 38);
            prop_assert_eq!(Ecid::parse(e.as_str()).unwrap(), e);
        }
    }
}
