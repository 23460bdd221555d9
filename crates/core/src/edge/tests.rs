use super::*;
use crate::snapshot::{DatastreamConfig, SnapshotConfig};

const ORG: &str = "LUMA123@AdobeOrg";
const ID_COOKIE: &str = "kndctr_LUMA123_AdobeOrg_identity";
const PAGE: &str = "https://www.luma.test";
const NOW: Timestamp = Timestamp(1_790_000_000_000);

fn snapshot() -> Snapshot {
    let (s, w) = Snapshot::build(
        &SnapshotConfig {
            datastreams: vec![
                DatastreamConfig {
                    id: "ds-luma".into(),
                    org_id: ORG.into(),
                    allowed_origins: vec![PAGE.into()],
                    accept_unsigned_ecid: false,
                    default_consent: Consent::In,
                },
                DatastreamConfig {
                    id: "ds-migrate".into(),
                    org_id: ORG.into(),
                    allowed_origins: vec!["*".into()],
                    accept_unsigned_ecid: true,
                    default_consent: Consent::In,
                },
            ],
            ..Default::default()
        },
        1,
    );
    assert!(w.is_empty());
    s
}

fn keys() -> CookieKeys {
    CookieKeys::new(b"edge test key".to_vec(), vec![])
}

struct Call<'a> {
    method: &'a str,
    path: &'a str,
    query: &'a str,
    origin: Option<&'a str>,
    cookie: Option<&'a str>,
    body: &'a [u8],
    entropy: u8,
}

impl Default for Call<'_> {
    fn default() -> Self {
        Call {
            method: "POST",
            path: "/ee/v1/interact",
            query: "configId=ds-luma&requestId=req-1",
            origin: Some(PAGE),
            cookie: None,
            body: br#"{"events":[{"xdm":{"eventType":"web.webpagedetails.pageViews","web":{"webPageDetails":{"URL":"https://www.luma.test/"}}}}]}"#,
            entropy: 1,
        }
    }
}

impl Call<'_> {
    fn run(&self) -> Outcome {
        let snap = snapshot();
        let keys = keys();
        let env = EdgeEnv { snapshot: &snap, cookie_keys: &keys };
        let req = HttpRequest {
            method: self.method,
            path: self.path,
            query: self.query,
            origin: self.origin,
            cookie: self.cookie,
            body: self.body,
        };
        handle(&env, &req, NOW, &Entropy([self.entropy; 32]))
    }
}

fn json(r: &HttpResponse) -> serde_json::Value {
    serde_json::from_slice(&r.body).unwrap()
}

fn ecid_of(r: &HttpResponse) -> String {
    let body = json(r);
    let handles = body["handle"].as_array().unwrap();
    let ids = handles.iter().find(|h| h["type"] == "identity:result").unwrap();
    ids["payload"][0]["id"].as_str().unwrap().to_owned()
}

fn cookie_of(r: &HttpResponse, name: &str) -> Option<String> {
    let body = json(r);
    body["handle"]
        .as_array()?
        .iter()
        .filter(|h| h["type"] == "state:store")
        .flat_map(|h| h["payload"].as_array().unwrap().iter())
        .find(|e| e["key"] == name)
        .map(|e| e["value"].as_str().unwrap().to_owned())
}

fn events(o: &Outcome) -> Vec<&CollectedEvent> {
    o.records
        .iter()
        .flat_map(|r| match r {
            SyncRecord::Events(e) => e.events.iter().collect(),
            _ => Vec::new(),
        })
        .collect()
}

fn assert_error(o: &Outcome, status: u16, code: &str, detail_has: &str) {
    assert_eq!(o.response.status, status, "{}", String::from_utf8_lossy(&o.response.body));
    let body = json(&o.response);
    assert_eq!(body["type"], format!("{ERROR_TYPE_PREFIX}{code}"));
    assert_eq!(body["status"], status);
    assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()));
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains(detail_has), "detail {detail:?} lacks {detail_has:?}");
    assert!(o.records.is_empty(), "a refused request ships nothing");
    assert!(matches!(o.log.last(), Some(EdgeLog::Rejected { .. })));
}

#[test]
fn first_visit_mints_an_ecid_and_returns_the_signed_cookie() {
    let o = Call::default().run();
    assert_eq!(o.response.status, 200);
    let ecid = ecid_of(&o.response);
    assert_eq!(ecid.len(), 38);
    let cookie = cookie_of(&o.response, ID_COOKIE).unwrap();
    assert_eq!(keys().verify(ORG, &cookie).unwrap().as_str(), ecid);
    assert!(matches!(o.log[0], EdgeLog::EcidMinted { refused: None }));
    let stored = events(&o);
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].xdm.pointer("identityMap.ECID").unwrap().as_array().unwrap()[0].pointer("id").unwrap().as_str(),
        Some(ecid.as_str())
    );
    assert_eq!(stored[0].timestamp, NOW, "a missing timestamp is the receive time");
    assert_eq!(o.response.header("access-control-allow-origin"), Some(PAGE));
    assert_eq!(o.response.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(o.response.header("vary"), Some("Origin"));
    assert_eq!(o.response.header("access-control-expose-headers"), Some("Retry-After, x-adobe-edge"));
}

#[test]
fn the_cookie_keeps_the_visitor_from_header_or_state_entries() {
    let first = Call::default().run();
    let ecid = ecid_of(&first.response);
    let cookie = cookie_of(&first.response, ID_COOKIE).unwrap();
    let header = format!("other=1; {ID_COOKIE}={cookie}");
    let again = Call { cookie: Some(&header), entropy: 2, ..Call::default() }.run();
    assert_eq!(ecid_of(&again.response), ecid);
    assert!(!again.log.iter().any(|l| matches!(l, EdgeLog::EcidMinted { .. })));
    let body = format!(
        r#"{{"events":[{{"xdm":{{}}}}],"meta":{{"state":{{"entries":[{{"key":"{ID_COOKIE}","value":"{cookie}"}}]}}}}}}"#
    );
    let via_entries = Call { body: body.as_bytes(), entropy: 3, ..Call::default() }.run();
    assert_eq!(ecid_of(&via_entries.response), ecid);
}

#[test]
fn a_forged_cookie_is_replaced_not_trusted() {
    let victim = "52815286440582716171370361733432581330";
    // Adobe's unsigned form, then one signed with another key.
    let unsigned = "CiY1MjgxNTI4NjQ0MDU4MjcxNjE3MTM3MDM2MTczMzQzMjU4MTMzMA==";
    let other_key = CookieKeys::new(b"attacker".to_vec(), vec![]).encode(ORG, &Ecid::parse(victim).unwrap());
    for (forged, reason) in [
        (unsigned.to_owned(), IdentityError::CookieUnsigned),
        (other_key, IdentityError::CookieSignatureMismatch),
        ("%%garbage".to_owned(), IdentityError::CookieNotBase64),
    ] {
        let header = format!("{ID_COOKIE}={forged}");
        let o = Call { cookie: Some(&header), ..Call::default() }.run();
        assert_eq!(o.response.status, 200);
        let ecid = ecid_of(&o.response);
        assert_ne!(ecid, victim);
        assert_eq!(o.log[0], EdgeLog::EcidMinted { refused: Some(reason) });
        assert_eq!(keys().verify(ORG, &cookie_of(&o.response, ID_COOKIE).unwrap()).unwrap().as_str(), ecid);
    }
}

#[test]
fn unsigned_ecids_are_accepted_only_where_the_datastream_opts_in() {
    let unsigned = "CiY1MjgxNTI4NjQ0MDU4MjcxNjE3MTM3MDM2MTczMzQzMjU4MTMzMA==";
    let header = format!("{ID_COOKIE}={unsigned}");
    let o = Call { query: "configId=ds-migrate", cookie: Some(&header), ..Call::default() }.run();
    assert_eq!(ecid_of(&o.response), "52815286440582716171370361733432581330");
    let legacy =
        br#"{"xdm":{"identityMap":{"ECID":[{"id":"11111111111111111111111111111111111111"}]}},"events":[{"xdm":{}}]}"#;
    let o = Call { query: "configId=ds-migrate", body: legacy, ..Call::default() }.run();
    assert_eq!(ecid_of(&o.response), "11111111111111111111111111111111111111");
    let o = Call { body: legacy, ..Call::default() }.run();
    assert_ne!(ecid_of(&o.response), "11111111111111111111111111111111111111");
}

#[test]
fn retries_with_the_same_request_id_give_the_same_event_ids() {
    let first = Call::default().run();
    let cookie = format!("{ID_COOKIE}={}", cookie_of(&first.response, ID_COOKIE).unwrap());
    let a = Call { cookie: Some(&cookie), entropy: 5, ..Call::default() }.run();
    let b = Call { cookie: Some(&cookie), entropy: 6, ..Call::default() }.run();
    let c = Call { cookie: Some(&cookie), query: "configId=ds-luma&requestId=req-2", ..Call::default() }.run();
    assert_eq!(events(&a)[0].event_id, events(&b)[0].event_id);
    assert_ne!(events(&a)[0].event_id, events(&c)[0].event_id);
    assert_eq!(events(&a)[0].xdm.pointer("_id").and_then(Value::as_str), Some(events(&a)[0].event_id.as_str()));
}

#[test]
fn consent_out_collects_nothing_and_says_so() {
    let o = Call {
        path: "/ee/v1/privacy/set-consent",
        body: br#"{"consent":[{"standard":"Adobe","version":"1.0","value":{"general":"out"}}]}"#,
        ..Call::default()
    }
    .run();
    assert_eq!(o.response.status, 200);
    assert_eq!(cookie_of(&o.response, "kndctr_LUMA123_AdobeOrg_consent").as_deref(), Some("general=out"));
    assert!(matches!(&o.records[..], [SyncRecord::Consent(c)] if c.consent == Consent::Out));
    let id = cookie_of(&o.response, ID_COOKIE).unwrap();
    let header = format!("{ID_COOKIE}={id}; kndctr_LUMA123_AdobeOrg_consent=general=out");
    let after = Call { cookie: Some(&header), ..Call::default() }.run();
    assert_eq!(after.response.status, 200);
    assert!(after.records.is_empty());
    assert_eq!(json(&after.response)["warnings"][0]["code"], "ECDP-W001");
    let header = format!("{ID_COOKIE}={id}; kndctr_LUMA123_AdobeOrg_consent=general%3Din");
    assert_eq!(events(&Call { cookie: Some(&header), ..Call::default() }.run()).len(), 1);
}

#[test]
fn collect_answers_204_and_stores() {
    let o = Call { path: "/ee/or2/v1/collect", ..Call::default() }.run();
    assert_eq!(o.response.status, 204);
    assert!(o.response.body.is_empty());
    assert_eq!(events(&o).len(), 1);
}

#[test]
fn identity_acquire_accepts_an_empty_body() {
    let o = Call { path: "/ee/v1/identity/acquire", body: b"", ..Call::default() }.run();
    assert_eq!(o.response.status, 200);
    assert_eq!(ecid_of(&o.response).len(), 38);
    assert!(o.records.is_empty());
}

#[test]
fn preflight_is_answered_for_allowed_origins() {
    let o = Call { method: "OPTIONS", body: b"", ..Call::default() }.run();
    assert_eq!(o.response.status, 204);
    assert_eq!(o.response.header("access-control-allow-methods"), Some("POST, OPTIONS"));
    let o = Call { method: "OPTIONS", origin: Some("https://evil.test"), body: b"", ..Call::default() }.run();
    assert_eq!(o.response.status, 403);
}

#[test]
fn bad_requests_get_adobe_format_errors() {
    assert_error(&Call { path: "/nope", ..Call::default() }.run(), 404, "ECDP-0001-404", "/nope");
    let o = Call { method: "GET", ..Call::default() }.run();
    assert_error(&o, 405, "ECDP-0002-405", "GET");
    assert_eq!(o.response.header("allow"), Some("POST, OPTIONS"));
    assert_error(&Call { query: "", ..Call::default() }.run(), 400, "ECDP-0003-400", "configId");
    let o = Call { query: "configId=nope&requestId=r9", ..Call::default() }.run();
    assert_error(&o, 400, "ECDP-0004-400", "'nope'");
    assert_eq!(json(&o.response)["report"]["requestId"], "r9");
    assert_eq!(o.response.header("access-control-allow-origin"), Some(PAGE), "errors are readable cross-origin");
    assert_error(
        &Call { origin: Some("https://evil.test"), ..Call::default() }.run(),
        403,
        "ECDP-0005-403",
        "https://evil.test",
    );
    let big = vec![b' '; 64 * 1024 + 1];
    assert_error(&Call { body: &big, ..Call::default() }.run(), 413, "ECDP-0006-413", "65536");
    assert_error(&Call { body: b"{\"events\": [", ..Call::default() }.run(), 400, "ECDP-0007-400", "line 1 column");
    assert_error(&Call { body: b"\xff\xfe", ..Call::default() }.run(), 400, "ECDP-0007-400", "not valid JSON");
    let deep = format!("{{\"events\":[{{\"xdm\":{}1{}}}]}}", "[".repeat(40), "]".repeat(40));
    assert_error(
        &Call { body: deep.as_bytes(), ..Call::default() }.run(),
        400,
        "ECDP-0007-400",
        "nesting is deeper than the limit of 32 levels",
    );
    let o = Call { body: br#"{"events":[{"xdm":{"eventType":["x"],"timestamp":"soon"}}]}"#, ..Call::default() }.run();
    assert_error(&o, 400, "ECDP-0008-400", "events[0].xdm.eventType: expected a string, found an array");
    let report = &json(&o.response)["report"]["errors"];
    assert_eq!(report.as_array().unwrap().len(), 2);
    assert_eq!(report[1]["path"], "events[0].xdm.timestamp");
    assert_eq!(report[1]["code"], "invalid_value");
    let big_event = format!(r#"{{"events":[{{"xdm":{{"_luma":{{"note":"{}"}}}}}}]}}"#, "x".repeat(11_000));
    assert_error(
        &Call { body: big_event.as_bytes(), ..Call::default() }.run(),
        400,
        "ECDP-0008-400",
        "over the limit of 10240 bytes",
    );
    let ids: Vec<String> = (0..21).map(|i| format!(r#"{{"id":"u{i}"}}"#)).collect();
    let many = format!(r#"{{"events":[{{"xdm":{{"identityMap":{{"CRMID":[{}]}}}}}}]}}"#, ids.join(","));
    assert_error(
        &Call { body: many.as_bytes(), ..Call::default() }.run(),
        400,
        "ECDP-0008-400",
        "has 21 identities, over the limit of 20",
    );
    let o = Call {
        path: "/ee/v1/privacy/set-consent",
        body: br#"{"consent":[{"standard":"Adobe","version":"1.0","value":{"general":"perhaps"}}]}"#,
        ..Call::default()
    }
    .run();
    assert_error(&o, 400, "ECDP-0009-400", "consent[0].value");
}

#[test]
fn garbage_cookies_never_break_a_request() {
    for header in [
        "",
        ";;;",
        "=",
        "kndctr_LUMA123_AdobeOrg_identity",
        "kndctr_LUMA123_AdobeOrg_identity=",
        "a=b=c; kndctr_LUMA123_AdobeOrg_identity=CiY",
        "kndctr_LUMA123_AdobeOrg_consent=%ZZ",
        "\u{0}\u{7f}é=ü",
    ] {
        let o = Call { cookie: Some(header), ..Call::default() }.run();
        assert_eq!(o.response.status, 200, "{header:?}");
    }
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn on_arbitrary_requests(
            method in prop_oneof![Just("POST".to_owned()), Just("GET".to_owned()), Just("OPTIONS".to_owned()), "[A-Z]{0,8}"],
            path in prop_oneof![Just("/ee/v1/interact".to_owned()), Just("/ee/v1/privacy/set-consent".to_owned()), Just("/ee/x/v1/collect".to_owned()), ".{0,30}"],
            query in prop_oneof![Just("configId=ds-luma".to_owned()), ".{0,30}"],
            cookie in proptest::option::of(".{0,60}"),
            body in prop_oneof![
                prop::collection::vec(any::<u8>(), 0..200),
                Just(br#"{"events":[{"xdm":{}}]}"#.to_vec()),
                "\\{\"events\":\\[\\{\"xdm\":\\{\"[a-zA-Z]{1,8}\":[0-9\\[\\]{}\",a-z]{0,30}\\}\\}\\]\\}".prop_map(String::into_bytes),
            ],
        ) {
            let o = Call { method: &method, path: &path, query: &query, origin: Some(PAGE), cookie: cookie.as_deref(), body: &body, entropy: 9 }.run();
            prop_assert!((200..500).contains(&o.response.status));
            if o.response.status >= 400 {
                let v: serde_json::Value = serde_json::from_slice(&o.response.body).unwrap();
                prop_assert!(v["detail"].is_string());
            }
        }
    }
}

#[test]
fn unavailable_is_a_retryable_adobe_error() {
    let r = unavailable(Some(PAGE), "configId=ds-luma&requestId=r7", 2);
    assert_eq!(r.status, 503);
    assert_eq!(r.header("retry-after"), Some("2"));
    assert_eq!(r.header("access-control-allow-origin"), Some(PAGE));
    let body = json(&r);
    assert_eq!(body["type"], format!("{ERROR_TYPE_PREFIX}ECDP-0010-503"));
    assert_eq!(body["report"]["requestId"], "r7");
}

mod identity {
    use super::*;
    use crate::identity::resolve::EdgeFragment;
    use crate::snapshot::Tombstone;

    fn login_body() -> &'static [u8] {
        br#"{"events":[{"xdm":{"eventType":"userAccount.login","identityMap":{
            "Email":[{"id":" Sarah.Rose@Example.com ","authenticatedState":"authenticated","primary":true}],
            "CRMID":[{"id":"crm-1042","authenticatedState":"authenticated"}]}}}]}"#
    }

    fn known_sarah(updated_at: i64) -> EdgeFragment {
        let mut attributes = crate::map::ObjectMap::new();
        attributes.insert("person.name.firstName".into(), Value::from("Sarah"));
        attributes.insert("loyalty.tier".into(), Value::from("Bronze"));
        EdgeFragment {
            person: IdentityKey::new("CRMID", "crm-1042"),
            identities: vec![
                IdentityKey::new("CRMID", "crm-1042"),
                IdentityKey::new("Email", "sarah.rose@example.com"),
                IdentityKey::new("LoyaltyID", "LY-778"),
            ],
            attributes,
            version: 3,
            updated_at: Timestamp(updated_at),
            segments: None,
            decisions: None,
        }
    }

    fn run_with(body: &[u8], snap: &Snapshot, views: &Views) -> Outcome {
        let keys = keys();
        let env = EdgeEnv { snapshot: snap, cookie_keys: &keys };
        let req = HttpRequest {
            method: "POST",
            path: "/ee/v1/interact",
            query: "configId=ds-luma&requestId=login-1",
            origin: Some(PAGE),
            cookie: None,
            body,
        };
        match begin(&env, &req, NOW, &Entropy([4; 32])) {
            Step::Lookup(p) => {
                let keys: Vec<String> = p.keys().iter().map(ToString::to_string).collect();
                assert_eq!(
                    keys[1..],
                    ["CRMID:crm-1042".to_owned(), "Email:sarah.rose@example.com".to_owned()],
                    "the ECID, then the person identities, normalized"
                );
                finish(&env, p, views)
            }
            Step::Done(o) => o,
        }
    }

    fn identity_results(o: &Outcome) -> Vec<String> {
        let body = json(&o.response);
        let h = body["handle"].as_array().unwrap().iter().find(|h| h["type"] == "identity:result").unwrap().clone();
        h["payload"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| format!("{}:{}", p["namespace"]["code"].as_str().unwrap(), p["id"].as_str().unwrap()))
            .collect()
    }

    #[test]
    fn a_login_is_stitched_at_once_with_what_the_origin_knows() {
        let snap = snapshot();
        let views: Views = [(IdentityKey::new("CRMID", "crm-1042"), known_sarah(1))].into();
        let o = run_with(login_body(), &snap, &views);
        assert_eq!(o.response.status, 200);
        let ecid = ecid_of(&o.response);
        assert_eq!(
            identity_results(&o),
            [
                format!("ECID:{ecid}"),
                "CRMID:crm-1042".into(),
                "Email:sarah.rose@example.com".into(),
                "LoyaltyID:LY-778".into()
            ]
        );
        assert_eq!(o.views.len(), 1);
        assert!(
            o.view_writes().any(|(k, v)| k.ns == "ECID" && v.person.id == "crm-1042"),
            "the browser now points at Sarah"
        );
        assert!(o.log.iter().any(|l| matches!(l, EdgeLog::Stitched { person } if person.id == "crm-1042")));
        let profile =
            json(&o.response)["handle"].as_array().unwrap().iter().find(|h| h["type"] == "edgecdp:profile").cloned();
        let profile = profile.expect("the login answer carries her profile");
        assert_eq!(profile["payload"][0]["person"], "CRMID:crm-1042");
        assert_eq!(profile["payload"][0]["attributes"]["person"]["name"]["firstName"], "Sarah");
        assert_eq!(profile["payload"][0]["attributes"]["loyalty"]["tier"], "Bronze");
        let web = o.records.iter().find_map(|r| match r {
            SyncRecord::Fragments(f) => Some(&f.fragments[0]),
            _ => None,
        });
        let web = web.expect("the edge ships the web fragment update");
        assert_eq!(web.dataset, "web");
        assert_eq!(web.identity.ns, "ECID");
        assert!(web.attrs.contains_key("web.lastSeen"));
        let stored = &events(&o)[0].xdm;
        assert_eq!(
            stored.pointer("identityMap.Email").unwrap().as_array().unwrap()[0].pointer("id").and_then(Value::as_str),
            Some("sarah.rose@example.com"),
            "stored normalized"
        );
    }

    #[test]
    fn views_of_deleted_identities_are_ignored() {
        let snap = snapshot().with_tombstones(vec![Tombstone {
            key: IdentityKey::new("LoyaltyID", "LY-778"),
            deleted_at: Timestamp(5),
        }]);
        let views: Views = [(IdentityKey::new("CRMID", "crm-1042"), known_sarah(1))].into();
        let o = run_with(login_body(), &snap, &views);
        assert!(
            !identity_results(&o).iter().any(|i| i.starts_with("LoyaltyID")),
            "the view made before the deletion is void"
        );
        let fresh: Views = [(IdentityKey::new("CRMID", "crm-1042"), known_sarah(9))].into();
        assert!(
            identity_results(&run_with(login_body(), &snap, &fresh)).iter().any(|i| i.starts_with("LoyaltyID")),
            "a view made after it counts"
        );
    }

    #[test]
    fn identities_that_do_not_normalize_are_400s_naming_them() {
        let body = br#"{"events":[{"xdm":{"identityMap":{"Twitter":[{"id":"x"}],"Email":[{"id":"not-an-email"}],"CRMID":[{"id":"null"}],"Phone":[{"id":"555"}]}}}]}"#;
        let o = Call { body, ..Call::default() }.run();
        assert_error(&o, 400, "ECDP-0008-400", "events[0].xdm.identityMap");
        let report = json(&o.response)["report"]["errors"].clone();
        let got: Vec<(String, String)> = report
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["path"].as_str().unwrap().to_owned(), e["code"].as_str().unwrap().to_owned()))
            .collect();
        assert_eq!(
            got,
            [
                ("events[0].xdm.identityMap.CRMID[0].id".to_owned(), "blocked_value".to_owned()),
                ("events[0].xdm.identityMap.Email[0].id".to_owned(), "invalid_email".to_owned()),
                ("events[0].xdm.identityMap.Phone[0].id".to_owned(), "invalid_phone".to_owned()),
                ("events[0].xdm.identityMap.Twitter".to_owned(), "unknown_namespace".to_owned()),
            ]
        );
    }
}

mod decisions {
    use serde_json::json;

    use super::*;
    use crate::decide::{Activity, Offer};

    fn with_offers() -> Snapshot {
        let activities: Vec<Activity> = serde_json::from_value(json!([
            { "id": "greeting", "priority": 5, "experiences": [
                { "id": "bronze", "audience": "loyalty.tier = \"Bronze\"", "offers": ["bronze-welcome"] },
                { "id": "everyone", "offers": ["welcome"] } ] },
            { "id": "banner", "experiences": [{ "id": "e", "offers": ["hero-json"] }] },
        ]))
        .unwrap();
        let offers: Vec<Offer> = serde_json::from_value(json!([
            { "id": "bronze-welcome", "items": [{ "action": "setHtml", "selector": "#greeting", "content": "Welcome back, Bronze member" }] },
            { "id": "welcome", "cap": { "max": 1 }, "items": [{ "action": "setHtml", "selector": "#greeting", "content": "Welcome!" }] },
            { "id": "hero-json", "scope": "hero-banner", "items": [{ "action": "json", "content": { "title": "Run" } }] },
        ]))
        .unwrap();
        let (s, warnings) = snapshot().with_decisions(activities, offers);
        assert!(warnings.is_empty(), "{warnings:?}");
        s
    }

    fn run(snap: &Snapshot, body: &[u8], views: &Views) -> Outcome {
        run_request(snap, "r-d", body, views)
    }

    /// One interact request with `request_id` (the browser's ECID comes from the fixed entropy).
    fn run_request(snap: &Snapshot, request_id: &str, body: &[u8], views: &Views) -> Outcome {
        let keys = keys();
        let env = EdgeEnv { snapshot: snap, cookie_keys: &keys };
        let query = format!("configId=ds-luma&requestId={request_id}");
        let req = HttpRequest {
            method: "POST",
            path: "/ee/v1/interact",
            query: &query,
            origin: Some(PAGE),
            cookie: None,
            body,
        };
        match begin(&env, &req, NOW, &Entropy([9; 32])) {
            Step::Lookup(p) => finish(&env, p, views),
            Step::Done(o) => o,
        }
    }

    fn propositions(o: &Outcome) -> Vec<serde_json::Value> {
        let body = json(&o.response);
        body["handle"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["type"] == "personalization:decisions")
            .flat_map(|h| h["payload"].as_array().unwrap().clone())
            .collect()
    }

    const PAGE_VIEW: &[u8] = br#"{"events":[{"xdm":{"eventType":"web.webpagedetails.pageViews",
        "web":{"webPageDetails":{"URL":"https://www.luma.test/"}}},
        "query":{"personalization":{"decisionScopes":["__view__","hero-banner"]}}}]}"#;

    #[test]
    fn the_scopes_asked_for_are_decided_in_adobes_format() {
        let snap = with_offers();
        let o = run(&snap, PAGE_VIEW, &Views::new());
        let props = propositions(&o);
        assert_eq!(props.len(), 2, "{props:?}");
        assert_eq!(props[0]["scope"], "__view__");
        assert_eq!(props[0]["scopeDetails"]["offer"]["id"], "welcome");
        assert_eq!(props[0]["items"][0]["data"]["type"], "setHtml");
        assert_eq!(props[1]["scope"], "hero-banner");
        assert_eq!(props[1]["items"][0]["schema"], "https://ns.adobe.com/personalization/json-content-item");
        assert_eq!(props[1]["items"][0]["data"]["content"], json!({ "title": "Run" }));

        // Without query.personalization nothing is decided.
        let o = Call::default().run();
        assert!(propositions(&o).is_empty());
    }

    #[test]
    fn a_known_visitor_gets_their_audiences_content() {
        let snap = with_offers();
        let mut attributes = crate::map::ObjectMap::new();
        attributes.insert("loyalty.tier".into(), Value::from("Bronze"));
        let me = IdentityKey::new(Ecid::NAMESPACE, ecid_of(&run(&snap, PAGE_VIEW, &Views::new()).response));
        let view = EdgeFragment {
            person: IdentityKey::new("CRMID", "crm-1042"),
            identities: vec![IdentityKey::new("CRMID", "crm-1042"), me.clone()],
            attributes,
            version: 1,
            updated_at: NOW,
            segments: None,
            decisions: None,
        };
        let views: Views = [(me, view)].into_iter().collect();
        let props = propositions(&run(&snap, PAGE_VIEW, &views));
        assert_eq!(props[0]["scopeDetails"]["offer"]["id"], "bronze-welcome");
        assert_eq!(props[0]["items"][0]["data"]["content"], "Welcome back, Bronze member");
    }

    #[test]
    fn display_notifications_are_collected_and_feed_caps() {
        let snap = with_offers();
        let first = run(&snap, PAGE_VIEW, &Views::new());
        let prop = propositions(&first)[0].clone();
        let notification = json!({ "events": [{ "xdm": {
            "eventType": "decisioning.propositionDisplay",
            "_experience": { "decisioning": { "propositionEventType": { "display": 1 },
                "propositions": [{ "id": prop["id"], "scope": prop["scope"], "scopeDetails": prop["scopeDetails"] }] } } } }] });
        let o = run(&snap, notification.to_string().as_bytes(), &Views::new());
        assert_eq!(o.response.status, 200);
        assert_eq!(events(&o).len(), 1, "the notification is an event the origin stores (reporting)");
        let view = o.views.first().expect("the browser's state is written");
        let state = view.decisions.as_ref().unwrap();
        assert_eq!(state.displays["welcome"].len(), 1);
        // The next page: the capped offer is not shown again.
        let views: Views = view.identities.iter().map(|k| (k.clone(), view.clone())).collect();
        let props = propositions(&run(&snap, PAGE_VIEW, &views));
        assert_eq!(props.len(), 1, "{props:?}");
        assert_eq!(props[0]["scope"], "hero-banner");
    }

    #[test]
    fn a_retried_request_is_folded_into_segments_once() {
        use crate::segment::set::Definition;
        let (snap, skipped) = snapshot().with_segments(vec![Definition {
            id: "two-views".into(),
            name: String::new(),
            pql: r#"xEvent[eventType = "web.webpagedetails.pageViews"].count() >= 2"#.into(),
            description: String::new(),
        }]);
        assert!(skipped.is_empty(), "{skipped:?}");
        let member = |o: &Outcome| {
            let view = o.views.first().expect("the state is written");
            view.segments.as_ref().is_some_and(|s| s.members().any(|(id, _)| id == "two-views"))
        };
        let first = run(&snap, PAGE_VIEW, &Views::new());
        assert!(!member(&first));
        let view = first.views[0].clone();
        let views: Views = view.identities.iter().map(|k| (k.clone(), view.clone())).collect();
        // The same request again (an SDK retry after a lost answer: same requestId, same events).
        let retried = run(&snap, PAGE_VIEW, &views);
        assert_eq!(events(&retried)[0].event_id, events(&first)[0].event_id);
        assert!(retried.views.is_empty(), "nothing folded, nothing to write: {:?}", retried.views);
        // A second page view of its own (another requestId) does count.
        let next = run_request(&snap, "r-next", PAGE_VIEW, &views);
        assert!(member(&next), "two distinct page views");
    }

    #[test]
    fn sdks_that_ask_get_the_client_bundle_of_on_device_activities() {
        let mut snap = with_offers();
        snap.activities[1].on_device = true;
        let (snap, warnings) = snap.clone().with_decisions(snap.activities.clone(), snap.offers.clone());
        assert!(warnings.is_empty());
        let ask = br#"{"events":[{"xdm":{"eventType":"web.webpagedetails.pageViews"},
            "query":{"personalization":{"decisionScopes":["__view__"],"onDevice":true}}}]}"#;
        let body = json(&run(&snap, ask, &Views::new()).response);
        let bundles: Vec<&serde_json::Value> =
            body["handle"].as_array().unwrap().iter().filter(|h| h["type"] == "edgecdp:bundle").collect();
        assert_eq!(bundles.len(), 1);
        let bundle = &bundles[0]["payload"][0];
        assert_eq!(bundle["activities"].as_array().unwrap().len(), 1);
        assert_eq!(bundle["activities"][0]["id"], "banner");
        assert_eq!(bundle["offers"][0]["id"], "hero-json");
        assert_eq!(bundle["ecid"], body["handle"][0]["payload"][0]["id"]);
        // Without asking, no bundle.
        let body = json(&run(&snap, PAGE_VIEW, &Views::new()).response);
        assert!(!body["handle"].as_array().unwrap().iter().any(|h| h["type"] == "edgecdp:bundle"));
    }

    #[test]
    fn consent_out_gets_no_decisions() {
        let snap = with_offers();
        let keys = keys();
        let env = EdgeEnv { snapshot: &snap, cookie_keys: &keys };
        let req = HttpRequest {
            method: "POST",
            path: "/ee/v1/interact",
            query: "configId=ds-luma",
            origin: Some(PAGE),
            cookie: Some("kndctr_LUMA123_AdobeOrg_consent=general=out"),
            body: PAGE_VIEW,
        };
        let o = handle(&env, &req, NOW, &Entropy([3; 32]));
        assert_eq!(o.response.status, 200);
        assert!(propositions(&o).is_empty());
    }
}
