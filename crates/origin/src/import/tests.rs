use std::fmt::Write as _;

use edgecdp_core::identity::IdentityKey;
use edgecdp_core::identity::graph::GraphConfig;

use super::*;
use crate::store::SqliteStore;

fn ns() -> Namespaces {
    Namespaces::defaults()
}

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("s.sqlite"), GraphConfig::default()).unwrap();
    (dir, s)
}

fn contacts(n: usize) -> Vec<u8> {
    let mut csv = String::from("Customer ID,E-mail,First Name,Points,Notes\n");
    for i in 0..n {
        let _ = writeln!(csv, "c-{i},p{i}@example.com,P{i},{i},x");
    }
    csv.into_bytes()
}

fn prepared(bytes: &[u8]) -> Prepared {
    prepare("crm", Some(DatasetKind::Profile), bytes, Format::Csv, MappingChoice::Auto, &ns(), "contacts.csv").unwrap()
}

#[test]
fn a_file_imports_in_chunks_of_a_thousand_rows_once() {
    let (_d, store) = store();
    let p = prepared(&contacts(2500));
    assert_eq!(p.report.unmapped, ["Notes"]);
    let mut seen = Vec::new();
    let s = run(&store, &p, Timestamp(1_000), Instant::now(), &mut |done| seen.push(done)).unwrap();
    assert_eq!(seen, [1000, 2000, 2500]);
    assert_eq!((s.rows_read, s.imported, s.quarantined, s.batches_applied), (2500, 2500, 0, 3));
    assert_eq!(store.stats().unwrap().link_records, 2500);
    let again = run(&store, &prepared(&contacts(2500)), Timestamp(2_000), Instant::now(), &mut |_| {}).unwrap();
    assert_eq!((again.imported, again.already_imported, again.batches_already_applied), (0, 2500, 3));
    assert_eq!(store.stats().unwrap().link_records, 2500, "nothing twice");
    let logged = store.imported_file("crm", &p.content_hash).unwrap().unwrap();
    assert_eq!((logged.rows, logged.file.as_str(), logged.at), (2500, "contacts.csv", Timestamp(1_000)));
    let graph = store.graph(&IdentityKey::new("Email", "p2499@example.com")).unwrap().unwrap();
    assert_eq!(graph.person, IdentityKey::new("CRMID", "c-2499"));
}

#[test]
fn bad_rows_are_quarantined_with_their_reasons_and_the_rest_imported() {
    let (_d, store) = store();
    let csv = "crm_id,email,points\nc-1,a@example.com,10\nc-2,not-an-email,abc\n,,5\nc-4,d@example.com\n";
    let s = run(&store, &prepared(csv.as_bytes()), Timestamp(1), Instant::now(), &mut |_| {}).unwrap();
    assert_eq!((s.rows_read, s.imported, s.quarantined), (4, 1, 3));
    let rows: Vec<(usize, Vec<String>)> = s.quarantined_rows.iter().map(|r| (r.row, r.reasons.clone())).collect();
    assert_eq!(
        rows,
        [
            (
                2,
                vec![
                    "column email: expected an email address (local@domain), found \"not-an-email\"".to_owned(),
                    "column points: expected an integer, found \"abc\"".to_owned()
                ]
            ),
            (3, vec!["no identity: the identity columns (crm_id, email) are all empty".to_owned()]),
            (4, vec!["the row has 2 cells where the header has 3".to_owned()]),
        ]
    );
    let stored = store.quarantined("crm", 10).unwrap();
    assert_eq!(stored.len(), 3);
    let row2 = stored.iter().map(|(_, r)| r).find(|r| r.row == 2).unwrap();
    assert_eq!(row2.raw, "c-2,not-an-email,abc");
    assert_eq!(row2.reason.lines().count(), 2);
    assert!(store.graph(&IdentityKey::new("CRMID", "c-1")).unwrap().is_some(), "the good row is kept");
    let text = describe_summary(&s, 1);
    assert!(text.contains("quarantined row 2: column email"), "{text}");
    assert!(text.contains("... and 2 more"), "{text}");
}

#[test]
fn mapping_files_are_checked_against_the_dataset_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let csv = b"id,mail\n1,a@example.com\n";
    let events = file("events.json", r#"{ "kind": "events" }"#);
    let err = prepare("crm", Some(DatasetKind::Profile), csv, Format::Csv, MappingChoice::File(&events), &ns(), "f")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("the dataset crm holds profile but the mapping") && err.ends_with("is for events"),
        "{err}"
    );
    let broken = file("broken.json", r#"{ "kind": "profile", "identites": [] }"#);
    let err = prepare("crm", None, csv, Format::Csv, MappingChoice::Dataset(&broken), &ns(), "f").unwrap_err();
    assert!(err.to_string().contains("unknown field `identites`"), "{err}");
    let wrong = file("wrong.json", r#"{ "identities": [{ "ns": "CRMID", "column": "crm_id" }] }"#);
    let err = prepare("crm", None, csv, Format::Csv, MappingChoice::File(&wrong), &ns(), "f").unwrap_err();
    assert_eq!(
        err.to_string(),
        "the mapping does not fit the file:\n  - identities[0].column: the column \"crm_id\" is not in the file (its columns: \"id\", \"mail\")"
    );
    let good = file("good.json", r#"{ "identities": [{ "ns": "CRMID", "column": "id" }] }"#);
    let p = prepare("x", None, csv, Format::Csv, MappingChoice::File(&good), &ns(), "f").unwrap();
    assert_eq!((p.report.source, p.report.unmapped.as_slice()), ("file", ["mail".to_owned()].as_slice()));
    let missing = dir.path().join("missing.json");
    let err = prepare("x", None, csv, Format::Csv, MappingChoice::File(&missing), &ns(), "f").unwrap_err();
    assert!(matches!(err, ImportError::MappingFile { .. }), "{err}");
}

#[test]
fn a_dry_run_previews_rows_and_counts_without_a_store() {
    let csv = "crm_id,email,tier\nc-1,a@example.com,Gold\nc-2,bad,Silver\n";
    let text = preview(&prepared(csv.as_bytes()), Timestamp(0), 1);
    assert!(text.contains("  email -> identity Email, personalEmail.address\n"), "{text}");
    assert!(text.contains("row 1: CRMID:c-1, Email:a@example.com\n    loyalty.tier = \"Gold\""), "{text}");
    assert!(!text.contains("row 2"), "only the first rows are shown: {text}");
    assert!(
        text.ends_with("dry run: 2 rows read, 1 would import, 1 would be quarantined; nothing written\n"),
        "{text}"
    );
}
