//! The `edgecdp` binary, really started on loopback with a real SQLite file: the native edge,
//! bad input, `/v1/sync` and `/v1/snapshot`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use edgecdp_core::identity::Ecid;
use edgecdp_core::object;
use edgecdp_core::snapshot::Snapshot;
use edgecdp_core::sync::{self, CollectedEvent, CollectedEvents, SyncBatch, SyncRecord};
use edgecdp_core::time::Timestamp;
use serde_json::Value;

const SYNC_SECRET: &[u8] = b"demo-sync-secret-not-secret-0001";
const ADMIN_KEY: &str = "demo-admin-key";
const PAGE: &str = "http://localhost:3000";

struct Server {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
    db: std::path::PathBuf,
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("origin.sqlite");
        let mut child = Command::new(env!("CARGO_BIN_EXE_edgecdp"))
            .args(["serve", "--listen", "127.0.0.1:0", "--database"])
            .arg(&db)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let base = line.trim().strip_prefix("edgecdp listening on ").unwrap().to_owned();
        Server { child, base, _dir: dir, db }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn interact(s: &Server, query: &str, body: impl Into<reqwest::Body>, cookie: Option<&str>) -> reqwest::Response {
    let mut req = client()
        .post(s.url(&format!("/ee/v1/interact?{query}")))
        .header("content-type", "text/plain; charset=UTF-8")
        .header("origin", PAGE)
        .body(body);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    req.send().await.unwrap()
}

fn ecid_and_cookie(body: &Value) -> (String, String) {
    let handles = body["handle"].as_array().unwrap();
    let ecid = handles.iter().find(|h| h["type"] == "identity:result").unwrap()["payload"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let store = handles.iter().find(|h| h["type"] == "state:store").unwrap();
    let value = store["payload"][0]["value"].as_str().unwrap().to_owned();
    (ecid, format!("{}={value}", store["payload"][0]["key"].as_str().unwrap()))
}

fn sqlite_events(db: &std::path::Path, ecid: &str) -> Vec<(String, Option<String>)> {
    let conn = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let mut stmt = conn.prepare("SELECT event_id, event_type FROM events WHERE ecid = ?1").unwrap();
    stmt.query_map([ecid], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
}

#[tokio::test]
async fn page_views_land_in_sqlite_under_one_ecid() {
    let s = Server::start();
    let body = r#"{"events":[{"xdm":{"eventType":"web.webpagedetails.pageViews","web":{"webPageDetails":{"URL":"http://localhost:3000/"}}}}]}"#;
    let r = interact(&s, "configId=ds-luma&requestId=a1", body, None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], PAGE);
    let (ecid, cookie) = ecid_and_cookie(&r.json().await.unwrap());
    let r = interact(&s, "configId=ds-luma&requestId=a2", body, Some(&cookie)).await;
    let (again, _) = ecid_and_cookie(&r.json().await.unwrap());
    assert_eq!(again, ecid);
    // A retry of the second request (same requestId) is not stored twice.
    interact(&s, "configId=ds-luma&requestId=a2", body, Some(&cookie)).await;
    let rows = sqlite_events(&s.db, &ecid);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().all(|(_, t)| t.as_deref() == Some("web.webpagedetails.pageViews")));
    // The admin API reads the same rows.
    let api: Value = client()
        .get(s.url(&format!("/api/events?ecid={ecid}")))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(api["events"].as_array().unwrap().len(), 2);
    let unauthorized = client().get(s.url(&format!("/api/events?ecid={ecid}"))).send().await.unwrap();
    assert_eq!(unauthorized.status(), 401);
}

#[tokio::test]
async fn bodies_are_read_whatever_the_media_type_and_cookies_however_they_are_split() {
    let s = Server::start();
    let body = r#"{"events":[{"xdm":{"eventType":"web.webpagedetails.pageViews"}}]}"#;
    let r = interact(&s, "configId=ds-luma&requestId=m0", body, None).await;
    let (ecid, cookie) = ecid_and_cookie(&r.json().await.unwrap());
    // The Web SDK's fetch says `text/plain; charset=UTF-8`, its beacons `text/plain;charset=utf-8`;
    // other clients say JSON or nothing.
    for (i, media) in
        ["TEXT/PLAIN; Charset=UTF-8", "text/plain;charset=utf-8", "application/json", ""].iter().enumerate()
    {
        let mut req = client().post(s.url(&format!("/ee/v1/interact?configId=ds-luma&requestId=m{}", i + 1)));
        if !media.is_empty() {
            req = req.header("content-type", *media);
        }
        let r = req.header("origin", PAGE).header("cookie", &cookie).body(body).send().await.unwrap();
        assert_eq!(r.status(), 200, "{media:?}");
    }
    assert_eq!(sqlite_events(&s.db, &ecid).len(), 5);
    // HTTP/2 clients send each cookie as a field of its own: the consent cookie in the second
    // field still counts.
    let r = client()
        .post(s.url("/ee/v1/interact?configId=ds-luma&requestId=m9"))
        .header("origin", PAGE)
        .header("cookie", &cookie)
        .header("cookie", "kndctr_LUMA123_AdobeOrg_consent=general=out")
        .body(body)
        .send()
        .await
        .unwrap();
    let answer: Value = r.json().await.unwrap();
    assert_eq!(ecid_and_cookie(&answer).0, ecid, "the identity cookie in the first field");
    assert!(answer["warnings"][0]["detail"].as_str().unwrap().contains("consent is out"), "{answer}");
    assert_eq!(sqlite_events(&s.db, &ecid).len(), 5, "nothing stored with consent out");
}

#[tokio::test]
async fn bad_input_gets_4xx_error_bodies_and_the_server_keeps_serving() {
    let s = Server::start();
    let ok = r#"{"events":[{"xdm":{}}]}"#;
    let big_event = format!(r#"{{"events":[{{"xdm":{{"_luma":{{"n":"{}"}}}}}}]}}"#, "x".repeat(11 * 1024));
    let ids: Vec<String> = (0..21).map(|i| format!(r#"{{"id":"user-{i}"}}"#)).collect();
    let many_ids = format!(r#"{{"events":[{{"xdm":{{"identityMap":{{"CRMID":[{}]}}}}}}]}}"#, ids.join(","));
    /// query, body, cookie header, expected status, expected words in the detail
    type Case<'a> = (&'a str, Vec<u8>, Option<&'a str>, u16, &'a str);
    let cases: Vec<Case<'_>> = vec![
        ("configId=ds-luma", b"{not json".to_vec(), None, 400, "not valid JSON"),
        (
            "configId=ds-luma",
            br#"{"events":[{"xdm":{"eventType":5}}]}"#.to_vec(),
            None,
            400,
            "events[0].xdm.eventType: expected a string, found a number",
        ),
        ("configId=ds-luma", vec![b'x'; 70 * 1024], None, 413, "65536 bytes"),
        ("configId=ds-luma", big_event.into_bytes(), None, 400, "over the limit of 10240 bytes"),
        ("configId=ds-luma", many_ids.into_bytes(), None, 400, "21 identities, over the limit of 20"),
        ("configId=unknown", ok.as_bytes().to_vec(), None, 400, "'unknown'"),
        ("", ok.as_bytes().to_vec(), None, 400, "configId"),
        ("configId=ds-luma", ok.as_bytes().to_vec(), Some("kndctr_LUMA123_AdobeOrg_identity=%%%;;=="), 200, ""),
    ];
    for (query, body, cookie, status, detail) in cases {
        let r = interact(&s, query, body, cookie).await;
        assert_eq!(r.status().as_u16(), status, "{query} {detail}");
        let v: Value = r.json().await.unwrap();
        if status >= 400 {
            assert!(v["type"].as_str().unwrap().starts_with("https://ns.edgecdp.dev/errors/ECDP-"), "{v}");
            assert_eq!(v["status"], status);
            assert!(v["detail"].as_str().unwrap().contains(detail), "{v}");
        }
    }
    let get = client().get(s.url("/ee/v1/interact?configId=ds-luma")).send().await.unwrap();
    assert_eq!(get.status(), 405);
    assert_eq!(get.headers()["allow"], "POST, OPTIONS");
    let put = client().put(s.url("/ee/v1/collect?configId=ds-luma")).body(ok).send().await.unwrap();
    assert_eq!(put.status(), 405);
    let health: Value = client().get(s.url("/healthz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
}

fn batch(entropy: u8, ecid: &Ecid) -> SyncBatch {
    SyncBatch::new(
        "worker-test",
        Timestamp(1_790_000_000_000),
        [entropy; 16],
        vec![SyncRecord::Events(CollectedEvents {
            datastream_id: "ds-luma".into(),
            ecid: ecid.clone(),
            received_at: Timestamp(1_790_000_000_000),
            events: vec![CollectedEvent {
                event_id: format!("ev-{entropy}"),
                event_type: Some("web.webpagedetails.pageViews".into()),
                timestamp: Timestamp(1_790_000_000_000),
                xdm: object! { "eventType" => "web.webpagedetails.pageViews" },
                data: None,
            }],
        })],
    )
}

/// The wall clock, as the origin reads it.
fn now() -> Timestamp {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    Timestamp(i64::try_from(ms).unwrap())
}

async fn post_sync(s: &Server, body: &[u8], secret: &[u8]) -> reqwest::Response {
    let at = now();
    client()
        .post(s.url("/v1/sync"))
        .header(sync::TIMESTAMP_HEADER, at.millis().to_string())
        .header(sync::SIGNATURE_HEADER, sync::sign(secret, "POST", "/v1/sync", at, body))
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn sync_batches_are_authenticated_and_applied_once() {
    let s = Server::start();
    let ecid = Ecid::mint([4; 16]);
    let bytes = batch(1, &ecid).encode().unwrap();
    let first: Value = post_sync(&s, &bytes, SYNC_SECRET).await.json().await.unwrap();
    assert_eq!((first["applied"].as_bool(), first["events"].as_u64()), (Some(true), Some(1)));
    let again: Value = post_sync(&s, &bytes, SYNC_SECRET).await.json().await.unwrap();
    assert_eq!((again["applied"].as_bool(), again["events"].as_u64()), (Some(false), Some(0)));
    assert_eq!(sqlite_events(&s.db, ecid.as_str()).len(), 1);
    let forged = post_sync(&s, &batch(2, &ecid).encode().unwrap(), b"not the secret").await;
    assert_eq!(forged.status(), 401);
    let unsigned = client().post(s.url("/v1/sync")).body(bytes.clone()).send().await.unwrap();
    assert_eq!(unsigned.status(), 401);
    let garbage = post_sync(&s, b"\x93garbage", SYNC_SECRET).await;
    assert_eq!(garbage.status(), 400);
    assert_eq!(sqlite_events(&s.db, ecid.as_str()).len(), 1);
}

#[tokio::test]
async fn workers_fetch_the_signed_snapshot() {
    let s = Server::start();
    let at = now();
    let signed = |etag: Option<&str>| {
        let mut r = client()
            .get(s.url("/v1/snapshot"))
            .header(sync::TIMESTAMP_HEADER, at.millis().to_string())
            .header(sync::SIGNATURE_HEADER, sync::sign(SYNC_SECRET, "GET", "/v1/snapshot", at, b""));
        if let Some(e) = etag {
            r = r.header("if-none-match", e);
        }
        r.send()
    };
    let r = signed(None).await.unwrap();
    assert_eq!(r.status(), 200);
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    let snap = Snapshot::decode(&r.bytes().await.unwrap()).unwrap();
    assert!(snap.datastreams.contains_key("ds-luma"));
    assert_eq!(signed(Some(&etag)).await.unwrap().status(), 304);
    assert_eq!(client().get(s.url("/v1/snapshot")).send().await.unwrap().status(), 401);
}

async fn admin_call(s: &Server, method: reqwest::Method, path: &str, body: Option<&str>) -> (u16, Value) {
    let mut req = client().request(method, s.url(path)).bearer_auth(ADMIN_KEY);
    if let Some(b) = body {
        req = req.header("content-type", "application/json").body(b.to_owned());
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_identity_admin_api_names_every_bad_input() {
    use reqwest::Method;
    let s = Server::start();
    // Auth first.
    assert_eq!(client().get(s.url("/api/identities/graph?ns=Email&id=a@b.c")).send().await.unwrap().status(), 401);
    let wrong =
        client().get(s.url("/api/identities/graph?ns=Email&id=a@b.c")).bearer_auth("nope").send().await.unwrap();
    assert_eq!(wrong.status(), 403);
    // Queries.
    let (st, body) = admin_call(&s, Method::GET, "/api/identities/graph?ns=Email", None).await;
    assert_eq!((st, body["error"]["code"].as_str()), (400, Some("missing_identity")));
    let (st, body) = admin_call(&s, Method::GET, "/api/identities/graph?ns=Fax&id=1", None).await;
    assert_eq!(st, 400);
    assert_eq!(body["error"]["errors"][0]["code"], "unknown_namespace");
    let (st, body) = admin_call(&s, Method::GET, "/api/identities/graph?ns=Email&id=nobody%40example.com", None).await;
    assert_eq!((st, body["error"]["code"].as_str()), (404, Some("unknown_identity")));
    assert_eq!(admin_call(&s, Method::DELETE, "/api/profiles?ns=CRMID&id=ghost", None).await.0, 404);
    // Bodies.
    let (st, body) = admin_call(&s, Method::POST, "/api/identities/simulate", Some("{not json")).await;
    assert_eq!((st, body["error"]["code"].as_str()), (400, Some("malformed_json")));
    let (st, body) = admin_call(
        &s,
        Method::POST,
        "/api/identities/simulate",
        Some(r#"{"events":[{"identityMap":{"Email":[{"id":"x"}]}}]}"#),
    )
    .await;
    assert_eq!(st, 400);
    assert_eq!(body["error"]["errors"][0]["path"], "events[0].xdm.identityMap.Email[0].id");
    let (st, body) = admin_call(
        &s,
        Method::POST,
        "/api/identities/simulate",
        Some(r#"{"events":[{"identityMap":{"ECID":[{"id":"11111111111111111111111111111111111111"}],"CRMID":[{"id":"c1","authenticatedState":"authenticated"}]}}]}"#),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(body["persons"][0]["members"].as_array().unwrap().len(), 2);
    let (st, body) = admin_call(
        &s,
        Method::POST,
        "/api/identities/links",
        Some(r#"{"source":"crm","records":[{"at":"2026-01-01T00:00:00Z","identities":[{"ns":"CRMID","id":"c9"},{"ns":"Email","id":"C9@Example.com"}]},{"identities":[]},"x"]}"#),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!((body["accepted"].as_u64(), body["added"].as_u64()), (Some(1), Some(1)));
    let rejected: Vec<u64> =
        body["rejected"].as_array().unwrap().iter().map(|r| r["index"].as_u64().unwrap()).collect();
    assert_eq!(rejected, [1, 2], "each bad row is reported, the good one kept");
    let (st, body) = admin_call(&s, Method::GET, "/api/identities/graph?ns=Email&id=c9%40example.com", None).await;
    assert_eq!(st, 200, "lookups normalize the value like ingestion does: {body}");
    assert_eq!(body["person"]["id"], "c9");
}
