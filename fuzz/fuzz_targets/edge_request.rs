//! The whole edge pipeline on arbitrary request bodies and cookie headers: it must answer every
//! input with a 2xx or 4xx and never panic.
#![no_main]

use edgecdp_core::edge::{EdgeEnv, Entropy, HttpRequest, handle};
use edgecdp_core::identity::CookieKeys;
use edgecdp_core::snapshot::{DatastreamConfig, Snapshot, SnapshotConfig};
use edgecdp_core::time::Timestamp;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&[u8], &str, u8)| {
    let (body, cookie, action) = input;
    let (snapshot, _) = Snapshot::build(
        &SnapshotConfig {
            datastreams: vec![DatastreamConfig {
                id: "ds".into(),
                org_id: "ORG@AdobeOrg".into(),
                allowed_origins: vec!["*".into()],
                accept_unsigned_ecid: action & 1 == 1,
                default_consent: Default::default(),
            }],
            ..Default::default()
        },
        1,
    );
    let keys = CookieKeys::new(b"fuzz".to_vec(), vec![]);
    let path = ["/ee/v1/interact", "/ee/v1/collect", "/ee/v1/privacy/set-consent", "/ee/v1/identity/acquire"]
        [usize::from(action >> 1) % 4];
    let outcome = handle(
        &EdgeEnv { snapshot: &snapshot, cookie_keys: &keys },
        &HttpRequest {
            method: "POST",
            path,
            query: "configId=ds",
            origin: Some("https://x.test"),
            cookie: Some(cookie),
            body,
        },
        Timestamp(1_790_000_000_000),
        &Entropy([7; 32]),
    );
    assert!((200..500).contains(&outcome.response.status));
});
