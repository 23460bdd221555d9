//! Batch sources end to end: the real `edgecdp` binary importing files into a real SQLite file
//! (CLI, dry run, quarantine), the datasets API of `edgecdp serve`, and a watched folder.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use edgecdp_core::identity::IdentityKey;
use edgecdp_core::identity::graph::GraphConfig;
use edgecdp_origin::store::{SqliteStore, Store};
use serde_json::Value;

const ADMIN_KEY: &str = "demo-admin-key";
const DEMO_CONFIG: &str = include_str!("../demo.toml");

fn demo_data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo-data").join(name)
}

fn edgecdp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edgecdp"))
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("EDGECDP_DATABASE")
        .env_remove("EDGECDP_CONFIG")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn import_json(db: &Path, dataset: &str, file: &Path) -> Value {
    let out = edgecdp(&["import", "--json", "--dataset", dataset, "--database", path(db), path(file)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn store(db: &Path) -> SqliteStore {
    SqliteStore::open_read_only(db, GraphConfig::default()).unwrap()
}

#[test]
fn the_cli_imports_the_crm_file_auto_mapped_and_a_second_time_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("origin.sqlite");
    let crm = demo_data("crm-contacts.csv");
    let out = edgecdp(&["import", "--dataset", "crm-contacts", "--database", path(&db), path(&crm)]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.starts_with("mapping: auto-mapped from standard column names\n"), "{stdout}");
    assert!(stdout.contains("\n  email -> identity Email, personalEmail.address\n"), "{stdout}");
    assert!(stdout.contains("\n  updated_at -> the row's time\n"), "{stdout}");
    assert!(stdout.contains("1002 rows read from"), "{stdout}");
    assert!(stdout.contains(": 1002 imported, 0 already imported before, 0 quarantined"), "{stdout}");
    let before = store(&db).stats().unwrap();
    assert_eq!(before.link_records, 1002);

    let again = import_json(&db, "crm-contacts", &crm);
    assert_eq!(again["rowsRead"], 1002);
    assert_eq!(again["imported"], 0);
    assert_eq!(again["alreadyImported"], 1002);
    assert_eq!((again["batchesApplied"].as_u64(), again["batchesAlreadyApplied"].as_u64()), (Some(0), Some(2)));
    assert_eq!(store(&db).stats().unwrap(), before, "the same file again changes nothing");

    let graph =
        edgecdp(&["identity", "graph", "--database", path(&db), "--ns", "Email", "--id", "Sarah.Rose@example.com"]);
    let graph: Value = serde_json::from_slice(&graph.stdout).unwrap();
    assert_eq!(graph["person"], serde_json::json!({ "ns": "CRMID", "id": "crm-1042" }));
    let namespaces: Vec<&str> =
        graph["identities"].as_array().unwrap().iter().map(|m| m["key"]["ns"].as_str().unwrap()).collect();
    assert_eq!(namespaces, ["CRMID", "Email", "Phone"]);
}

#[test]
fn bad_rows_are_quarantined_with_reasons_and_the_good_rows_kept() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("origin.sqlite");
    let file = dir.path().join("loyalty.csv");
    std::fs::write(
        &file,
        "loyalty_id,crm_id,tier,points\nLY-1,crm-1,Gold,100\nLY-2,crm-2,Gold,abc\nLY-3,,Silver,5\n,,Bronze,1\nLY-5,crm-5,Bronze,7\n",
    )
    .unwrap();
    let out = edgecdp(&["import", "--dataset", "loyalty", "--database", path(&db), path(&file)]);
    let stdout = text(&out.stdout);
    assert!(!out.status.success(), "quarantined rows make the command fail");
    assert!(text(&out.stderr).contains("2 row(s) quarantined (the other rows were imported)"), "{}", text(&out.stderr));
    assert!(stdout.contains("5 rows read from"), "{stdout}");
    assert!(stdout.contains(": 3 imported, 0 already imported before, 2 quarantined"), "{stdout}");
    assert!(stdout.contains("quarantined row 2: column points: expected an integer, found \"abc\""), "{stdout}");
    assert!(
        stdout.contains("quarantined row 4: no identity: the identity columns (crm_id, loyalty_id) are all empty"),
        "{stdout}"
    );

    let s = store(&db);
    let mut rows: Vec<(usize, String, String)> =
        s.quarantined("loyalty", 10).unwrap().into_iter().map(|(_, r)| (r.row, r.reason, r.raw)).collect();
    rows.sort();
    assert_eq!(
        rows[0],
        (2, "column points: expected an integer, found \"abc\"".to_owned(), "LY-2,crm-2,Gold,abc".to_owned())
    );
    assert_eq!(rows[1].0, 4);
    let lone = s.graph(&IdentityKey::new("LoyaltyID", "LY-3")).unwrap();
    assert!(lone.is_none(), "a row with one identity links nothing");
    let graph = s.graph(&IdentityKey::new("LoyaltyID", "LY-5")).unwrap().unwrap();
    assert_eq!(graph.person, IdentityKey::new("CRMID", "crm-5"));
}

#[test]
fn a_dry_run_shows_the_mapping_and_rows_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("never.sqlite");
    let out = edgecdp(&[
        "import",
        "--dry-run",
        "--dataset",
        "loyalty",
        "--database",
        path(&db),
        path(&demo_data("loyalty.csv")),
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("\n  points -> loyalty.points (integer)\n"), "{stdout}");
    assert!(stdout.contains("row 1: CRMID:crm-1042, LoyaltyID:LY-778\n"), "{stdout}");
    assert!(stdout.contains("    loyalty.tier = \"Bronze\"  (at 2026-11-02T08:00:00.000Z)\n"), "{stdout}");
    assert!(stdout.contains("    loyalty.points = 1240  (at"), "{stdout}");
    assert_eq!(stdout.matches("\nrow ").count(), 10, "the first 10 rows: {stdout}");
    assert!(stdout.ends_with("would be quarantined; nothing written\n"), "{stdout}");
    assert!(!db.exists(), "no database was created");

    let out = edgecdp(&["import", "--dataset", "nope", "--database", path(&db), path(&demo_data("loyalty.csv"))]);
    assert!(text(&out.stderr).contains("the dataset \"nope\" is not declared"), "{}", text(&out.stderr));
    assert!(!db.exists());
}

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(db: &Path, config: Option<&Path>) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_edgecdp"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--database"]).arg(db);
        if let Some(c) = config {
            cmd.arg("--config").arg(c);
        }
        let mut child = cmd.env("RUST_LOG", "warn").stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let base = line.trim().strip_prefix("edgecdp listening on ").unwrap().to_owned();
        Server { child, base }
    }

    async fn call(&self, method: reqwest::Method, path: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
        let r = reqwest::Client::new()
            .request(method, format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {ADMIN_KEY}"))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn upload(&self, dataset: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
        self.call(reqwest::Method::POST, &format!("/api/datasets/{dataset}/batches"), content_type, body).await
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, "text/plain", Vec::new()).await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn the_datasets_api_imports_uploads_and_lists_quarantined_rows() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("origin.sqlite"), None);
    let read = |name: &str| std::fs::read(demo_data(name)).unwrap();

    let (status, crm) = s.upload("crm-contacts", "text/csv", read("crm-contacts.csv")).await;
    assert_eq!(status, 200, "{crm}");
    assert_eq!(
        (crm["rowsRead"].as_u64(), crm["imported"].as_u64(), crm["quarantined"].as_u64()),
        (Some(1002), Some(1002), Some(0))
    );
    assert_eq!(crm["mapping"]["source"], "auto");
    let (_, loyalty) = s.upload("loyalty", "text/csv; charset=utf-8", read("loyalty.csv")).await;
    assert_eq!(loyalty["imported"], loyalty["rowsRead"]);
    let (status, history) = s.upload("web-history", "application/x-ndjson", read("web-history.jsonl")).await;
    assert_eq!(status, 200, "{history}");
    assert_eq!((history["kind"].as_str(), history["eventsStored"].as_u64()), (Some("events"), Some(36)));
    let (_, again) = s.upload("web-history", "application/x-ndjson", read("web-history.jsonl")).await;
    assert_eq!((again["eventsStored"].as_u64(), again["batchesAlreadyApplied"].as_u64()), (Some(0), Some(1)));

    let (status, graph) = s.get("/api/identities/graph?ns=CRMID&id=crm-1042").await;
    assert_eq!(status, 200, "{graph}");
    let namespaces: Vec<&str> =
        graph["identities"].as_array().unwrap().iter().map(|m| m["key"]["ns"].as_str().unwrap()).collect();
    assert_eq!(namespaces, ["CRMID", "Email", "LoyaltyID", "Phone"]);

    let bad = b"crm_id,email\ncrm-9,nine@example.com\ncrm-10,ten-at-example\n".to_vec();
    let (status, summary) = s.upload("crm-contacts", "text/csv", bad).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(
        summary["quarantinedRows"],
        serde_json::json!([{ "row": 2, "reasons": ["column email: expected an email address (local@domain), found \"ten-at-example\""] }])
    );
    let (status, listed) = s.get("/api/datasets/crm-contacts/quarantine").await;
    assert_eq!(status, 200);
    let rows = listed["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0]["row"].as_u64(), rows[0]["raw"].as_str()), (Some(2), Some("crm-10,ten-at-example")));
    assert_eq!(rows[0]["reasons"][0], summary["quarantinedRows"][0]["reasons"][0]);

    let (status, e) = s.upload("crm-contacts", "application/json", b"{}".to_vec()).await;
    assert_eq!((status, e["error"]["code"].as_str()), (415, Some("unsupported_media_type")));
    let (status, e) = s.upload("orders", "text/csv", b"a\n".to_vec()).await;
    assert_eq!((status, e["error"]["code"].as_str()), (404, Some("unknown_dataset")));
    let (status, e) = s.upload("web-history", "text/csv", b"a\n".to_vec()).await;
    assert_eq!((status, e["error"]["code"].as_str()), (400, Some("invalid_file")), "{e}");
    let (status, e) = s.upload("crm-contacts", "text/csv", b"name,city\nx,y\n".to_vec()).await;
    assert_eq!(status, 400, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("needs at least one identity column"), "{e}");
    let r = reqwest::Client::new()
        .post(format!("{}/api/datasets/crm-contacts/batches", s.base))
        .header("content-type", "text/csv")
        .body("crm_id\nx\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
}

#[tokio::test]
async fn a_watched_folder_imports_each_new_file_once() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    let config = dir.path().join("edgecdp.toml");
    let extra = format!(
        "\n[[datasets]]\nid = \"crm-inbox\"\nkind = \"profile\"\nwatch_dir = {:?}\ninterval_secs = 1\n",
        path(&inbox)
    );
    std::fs::write(&config, format!("{DEMO_CONFIG}{extra}")).unwrap();
    let s = Server::start(&dir.path().join("origin.sqlite"), Some(&config));

    std::fs::write(inbox.join(".hidden.csv"), "crm_id,email\nw-0,zero@example.com\n").unwrap();
    std::fs::write(inbox.join(".contacts.csv.tmp"), "crm_id,email\nw-1,one@example.com\n").unwrap();
    std::fs::rename(inbox.join(".contacts.csv.tmp"), inbox.join("contacts.csv")).unwrap();
    let started = Instant::now();
    loop {
        let (status, graph) = s.get("/api/identities/graph?ns=Email&id=one%40example.com").await;
        if status == 200 {
            assert_eq!(graph["person"], serde_json::json!({ "ns": "CRMID", "id": "w-1" }));
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the watcher did not import the file: {status} {graph}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The same content under another name is recognised; a hidden file is never read.
    std::fs::copy(inbox.join("contacts.csv"), inbox.join("contacts-again.csv")).unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (status, _) = s.get("/api/identities/graph?ns=Email&id=zero%40example.com").await;
    assert_eq!(status, 404, "files whose names start with a dot are skipped");
    drop(s);
    let store = SqliteStore::open_read_only(&dir.path().join("origin.sqlite"), GraphConfig::default()).unwrap();
    let hash = edgecdp_core::profile::mapping::content_hash(&std::fs::read(inbox.join("contacts.csv")).unwrap());
    let logged = store.imported_file("crm-inbox", &hash).unwrap().unwrap();
    assert_eq!((logged.file.as_str(), logged.rows), ("contacts.csv", 1), "imported once, under its first name");
    assert_eq!(store.stats().unwrap().batches, 1);
}
