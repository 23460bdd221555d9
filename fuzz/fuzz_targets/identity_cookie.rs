//! Identity cookie decoding and verification on arbitrary text.
#![no_main]

use edgecdp_core::identity::{CookieKeys, cookie};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|value: &str| {
    let _ = cookie::decode(value);
    let _ = CookieKeys::new(b"fuzz".to_vec(), vec![]).verify("ORG@AdobeOrg", value);
});
