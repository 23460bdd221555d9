use super::*;
use crate::object;

const CRM_HEADER: [&str; 13] = [
    "crm_id",
    "Email",
    "First Name",
    "last_name",
    "phone",
    "city",
    "country",
    "postal_code",
    "birth_date",
    "preferred_size",
    "preferred_category",
    "updated_at",
    "notes",
];

const SARAH: [&str; 13] = [
    "crm-1042",
    "Sarah.Rose@Example.com",
    "Sarah",
    "Rose",
    "+1 415 555 0142",
    "San Francisco",
    "US",
    "94110",
    "1991-04-12",
    "S",
    "women",
    "2026-06-01T09:30:00Z",
    "",
];

fn ns() -> Namespaces {
    Namespaces::defaults()
}

fn crm() -> Mapping {
    auto_mapping(&CRM_HEADER, &ns()).0.build(&CRM_HEADER, &ns()).unwrap()
}

fn messages(problems: &[RowProblem]) -> Vec<String> {
    problems.iter().map(ToString::to_string).collect()
}

#[test]
fn auto_maps_a_crm_header() {
    let (config, unmapped) = auto_mapping(&CRM_HEADER, &ns());
    assert_eq!(unmapped, ["notes"]);
    let ids: Vec<(&str, &str)> = config.identities.iter().map(|i| (i.ns.as_str(), i.column.as_str())).collect();
    assert_eq!(ids, [("CRMID", "crm_id"), ("Email", "Email"), ("Phone", "phone")], "by namespace priority");
    let attr = |path: &str| config.attributes.get(path).map(|a| (a.column.as_str(), a.value_type));
    assert_eq!(attr("personalEmail.address"), Some(("Email", ValueType::String)));
    assert_eq!(attr("person.name.firstName"), Some(("First Name", ValueType::String)));
    assert_eq!(attr("person.name.lastName"), Some(("last_name", ValueType::String)));
    assert_eq!(attr("mobilePhone.number"), Some(("phone", ValueType::String)));
    assert_eq!(attr("homeAddress.postalCode"), Some(("postal_code", ValueType::String)));
    assert_eq!(attr("person.birthDate"), Some(("birth_date", ValueType::Date)));
    assert_eq!(attr("_luma.preferences.size"), Some(("preferred_size", ValueType::String)));
    assert_eq!(attr("_luma.preferences.category"), Some(("preferred_category", ValueType::String)));
    assert_eq!(config.timestamp.as_deref(), Some("updated_at"));
    assert_eq!(config.attributes.len(), 10);
}

#[test]
fn auto_maps_a_loyalty_header_and_flattened_json_names() {
    let header = ["loyalty_id", "crm_id", "Tier", "points", "email_address", "EMAIL"];
    let (config, unmapped) = auto_mapping(&header, &ns());
    let ids: Vec<&str> = config.identities.iter().map(|i| i.ns.as_str()).collect();
    assert_eq!(ids, ["CRMID", "Email", "LoyaltyID"]);
    assert_eq!(config.attributes.get("loyalty.points").unwrap().value_type, ValueType::Integer);
    assert_eq!(config.attributes.get("loyalty.tier").unwrap().column, "Tier");
    assert_eq!(config.attributes.get("loyalty.loyaltyID").unwrap().column, "loyalty_id");
    assert_eq!(unmapped, ["EMAIL"], "a second email column has nothing left to map to");

    let flattened = ["person.name.firstName", "loyalty.tier", "identity.crmId", "misc.flag"];
    let (config, unmapped) = auto_mapping(&flattened, &ns());
    assert_eq!(config.attributes.get("person.name.firstName").unwrap().column, "person.name.firstName");
    assert_eq!(config.attributes.get("loyalty.tier").unwrap().column, "loyalty.tier");
    assert_eq!(config.identities[0].column, "identity.crmId");
    assert_eq!(unmapped, ["misc.flag"]);
}

#[test]
fn maps_a_row_into_a_fragment_and_a_link() {
    let row = crm().map_row(&SARAH, "crm-contacts", "import-1", Timestamp(5)).unwrap();
    let at = Timestamp::parse_rfc3339("2026-06-01T09:30:00Z").unwrap();
    assert_eq!(row.fragment.identity, IdentityKey::new("CRMID", "crm-1042"));
    assert_eq!(row.fragment.dataset, "crm-contacts");
    let reg = row.fragment.attrs.get("person.name.firstName").unwrap();
    assert_eq!((&reg.value, reg.at, reg.writer.as_str()), (&Value::from("Sarah"), at, "import-1"));
    assert_eq!(row.fragment.attrs.get("person.birthDate").unwrap().value, Value::from("1991-04-12"));
    assert_eq!(row.fragment.attrs.get("_luma.preferences.size").unwrap().value, Value::from("S"));
    assert_eq!(row.identities[1], IdentityKey::new("Email", "sarah.rose@example.com"), "normalized");
    assert_eq!(row.identities[2], IdentityKey::new("Phone", "+14155550142"));
    let link = row.link.unwrap();
    let ids: Vec<IdentityKey> = link.identities.iter().map(|i| i.key.clone()).collect();
    assert_eq!(link.key, import_link_key("crm-contacts", &ids), "keyed by dataset and identities, not by file");
    assert!(link.key.starts_with("crm-contacts:"));
    assert_eq!((link.at, link.identities.len()), (at, 3));
    assert!(link.identities.iter().all(|i| i.state == AuthState::Authenticated));
}

#[test]
fn empty_cells_are_absent_and_the_import_time_stands_in() {
    let mut cells = SARAH;
    cells[0] = "";
    cells[2] = "  ";
    cells[4] = "";
    cells[11] = "";
    let row = crm().map_row(&cells, "crm-contacts", "w", Timestamp(7)).unwrap();
    assert_eq!(row.fragment.identity.ns, "Email", "the first identity present keys the row");
    assert!(!row.fragment.attrs.contains_key("person.name.firstName"));
    assert!(!row.fragment.attrs.contains_key("mobilePhone.number"));
    assert!(row.fragment.attrs.values().all(|r| r.at == Timestamp(7)));
    assert!(row.link.is_none(), "one identity links nothing");
}

#[test]
fn bad_rows_name_the_column_and_what_was_expected() {
    let header = ["loyalty_id", "crm_id", "tier", "points", "updated_at"];
    let mapping = auto_mapping(&header, &ns()).0.build(&header, &ns()).unwrap();
    let problems =
        mapping.map_row(&["LY-1", "crm-1", "Gold", "abc", "yesterday"], "loyalty", "w", Timestamp(0)).unwrap_err();
    assert_eq!(
        messages(&problems),
        [
            "column updated_at: expected an RFC 3339 date-time (2026-07-22T16:00:00Z) or a date (2026-07-22), found \"yesterday\"",
            "column points: expected an integer, found \"abc\"",
        ]
    );
    let problems = mapping.map_row(&["", "", "Gold", "1", ""], "loyalty", "w", Timestamp(0)).unwrap_err();
    assert_eq!(messages(&problems), ["no identity: the identity columns (crm_id, loyalty_id) are all empty"]);
    let problems = mapping.map_row(&["LY-1", "null"], "loyalty", "w", Timestamp(0)).unwrap_err();
    assert_eq!(messages(&problems), ["the row has 2 cells where the header has 5"]);
    let ok = mapping.map_row(&["LY-1", "crm-1", "Gold", " 1240 ", "2026-01-02"], "loyalty", "w", Timestamp(0));
    let ok = ok.unwrap();
    assert_eq!(ok.fragment.attrs.get("loyalty.points").unwrap().value, Value::from(1240i64));
    assert_eq!(
        ok.fragment.attrs.get("loyalty.points").unwrap().at,
        Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap()
    );

    let mut cells = SARAH;
    cells[1] = "sarah-at-example";
    let problems = crm().map_row(&cells, "crm-contacts", "w", Timestamp(0)).unwrap_err();
    assert_eq!(
        messages(&problems),
        ["column Email: expected an email address (local@domain), found \"sarah-at-example\""]
    );
}

#[test]
fn typed_values_read_strictly() {
    let cases: &[(ValueType, &str, Option<Value>)] = &[
        (ValueType::Integer, "-3", Some(Value::from(-3i64))),
        (ValueType::Integer, "1.5", None),
        (ValueType::Integer, "1,240", None),
        (ValueType::Number, "12.5", Some(Value::from(12.5))),
        (ValueType::Number, "7", Some(Value::from(7i64))),
        (ValueType::Number, "NaN", None),
        (ValueType::Number, "inf", None),
        (ValueType::Boolean, "Yes", Some(Value::Bool(true))),
        (ValueType::Boolean, "0", Some(Value::Bool(false))),
        (ValueType::Boolean, "maybe", None),
        (ValueType::Date, "2024-02-29", Some(Value::from("2024-02-29"))),
        (ValueType::Date, "2025-02-29", None),
        (ValueType::Date, "2024-02-29T00:00:00Z", None),
    ];
    for (t, text, want) in cases {
        assert_eq!(&t.read(text), want, "{t:?} {text}");
    }
}

#[test]
fn mapping_files_read_bare_and_typed_columns_and_refuse_unknown_fields() {
    let text = r#"{ "kind": "profile",
        "identities": [{ "ns": "CRMID", "column": "crm_id" }],
        "attributes": { "loyalty.tier": "tier", "loyalty.points": { "column": "points", "type": "integer" } },
        "timestamp": "updated_at" }"#;
    let config: MappingConfig = serde_json::from_str(text).unwrap();
    assert_eq!(config.attributes.get("loyalty.tier").unwrap().value_type, ValueType::String);
    assert_eq!(config.attributes.get("loyalty.points").unwrap().value_type, ValueType::Integer);
    let again: MappingConfig = serde_json::from_str(&serde_json::to_string(&config).unwrap()).unwrap();
    assert_eq!(again, config);
    assert_eq!(
        config.targets(),
        [
            ("crm_id".to_owned(), "identity CRMID".to_owned()),
            ("points".to_owned(), "loyalty.points (integer)".to_owned()),
            ("tier".to_owned(), "loyalty.tier".to_owned()),
            ("updated_at".to_owned(), "the row's time".to_owned()),
        ]
    );
    for bad in [
        r#"{ "kind": "profile", "identity": [] }"#,
        r#"{ "kind": "people" }"#,
        r#"{ "attributes": { "a": { "column": "x", "typ": "integer" } } }"#,
        r#"{ "attributes": { "a": { "column": "x", "type": "money" } } }"#,
    ] {
        assert!(serde_json::from_str::<MappingConfig>(bad).is_err(), "{bad}");
    }
}

#[test]
fn mappings_that_do_not_fit_the_file_are_refused_with_every_reason() {
    let config: MappingConfig = serde_json::from_str(
        r#"{ "identities": [{ "ns": "Fax", "column": "fax" }, { "ns": "CRMID", "column": "id" }],
             "attributes": { "person..name": "name", "loyalty.tier": "tier" },
             "timestamp": "when" }"#,
    )
    .unwrap();
    let errors = config.build(&["id", "name", "tier", "tier"], &ns()).unwrap_err();
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "identities[0].ns: the namespace \"Fax\" is not declared; declare it under [identity] namespaces in the configuration",
            "identities[0].column: the column \"fax\" is not in the file (its columns: \"id\", \"name\", \"tier\", \"tier\")",
            "attributes[\"loyalty.tier\"]: the column \"tier\" appears 2 times in the header, so which one to read is unclear",
            "attributes[\"person..name\"]: expected an XDM path of dot-separated field names such as \"person.name.firstName\", found \"person..name\"",
            "timestamp: the column \"when\" is not in the file (its columns: \"id\", \"name\", \"tier\", \"tier\")",
        ]
    );
    assert_eq!(MappingConfig::default().build(&["a"], &ns()).unwrap_err(), [MappingError::NoIdentity]);
    let events = MappingConfig { timestamp: Some("t".into()), ..MappingConfig::events() };
    assert_eq!(events.build(&[] as &[&str], &ns()).unwrap_err(), [MappingError::NotForEvents { field: "timestamp" }]);
}

fn history() -> Mapping {
    MappingConfig::events().build(&[] as &[&str], &ns()).unwrap()
}

#[test]
fn events_are_keyed_by_their_highest_priority_person_identity() {
    let event = object! {
        "eventType" => "commerce.purchases",
        "timestamp" => "2026-03-14T12:00:00Z",
        "identityMap" => object! {
            "Email" => vec![object! { "id" => "Sarah.Rose@example.com" }],
            "CRMID" => vec![object! { "id" => "crm-1042", "authenticatedState" => "authenticated" }],
        },
        "productListItems" => vec![object! { "SKU" => "WT09", "_luma" => object! { "size" => "S" } }],
    };
    let mapped = history().map_event(event.clone(), "web-history", Timestamp(1), "web-history:f:1").unwrap();
    assert_eq!(mapped.event.identity, IdentityKey::new("CRMID", "crm-1042"));
    assert_eq!(mapped.event.event_type.as_deref(), Some("commerce.purchases"));
    assert_eq!(mapped.event.timestamp, Timestamp::parse_rfc3339("2026-03-14T12:00:00Z").unwrap());
    assert_eq!(mapped.event.event_id, import_event_id("web-history", "web-history:f:1"));
    assert_eq!(mapped.event.xdm.pointer("_id"), Some(&Value::from(mapped.event.event_id.as_str())));
    assert_eq!(mapped.event.xdm.pointer("identityMap.Email").and_then(Value::as_array).unwrap().len(), 1);
    assert_eq!(
        mapped.event.xdm.as_object().unwrap().get("productListItems").unwrap().as_array().unwrap()[0]
            .pointer("_luma.size"),
        Some(&Value::from("S"))
    );
    assert_eq!(mapped.link.unwrap().identities.len(), 2);
    let again =
        history().map_event(object! { "xdm" => event }, "web-history", Timestamp(2), "web-history:f:1").unwrap();
    assert_eq!(again.event.event_id, mapped.event.event_id, "the same row is the same event");

    let with_id = object! { "_id" => "order-1", "identityMap" => object! { "CRMID" => vec![object! { "id" => "c" }] } };
    let mapped = history().map_event(with_id, "web-history", Timestamp(9), "k").unwrap();
    assert_eq!((mapped.event.event_id.as_str(), mapped.event.timestamp), ("order-1", Timestamp(9)));
    assert!(mapped.link.is_none());
}

#[test]
fn bad_events_are_refused_with_their_paths() {
    let ecid_only = object! { "identityMap" => object! { "ECID" => vec![object! { "id" => "1".repeat(38) }] } };
    assert_eq!(history().map_event(ecid_only, "h", Timestamp(0), "k").unwrap_err(), [RowProblem::NoPersonIdentity]);
    let bad =
        object! { "timestamp" => "noon", "identityMap" => object! { "Email" => vec![object! { "id" => "nope" }] } };
    let text = messages(&history().map_event(bad, "h", Timestamp(0), "k").unwrap_err());
    assert!(text[0].starts_with("xdm.timestamp: expected an RFC 3339 date-time"), "{text:?}");
    assert!(text[1].starts_with("xdm.identityMap.Email[0].id: expected an email address"), "{text:?}");
    assert_eq!(
        history().map_event(Value::from("x"), "h", Timestamp(0), "k").unwrap_err(),
        [RowProblem::NotAnObject { found: "a string" }]
    );
    let with_data = object! { "xdm" => object! { "identityMap" => object! { "CRMID" => vec![object! { "id" => "c" }] } }, "data" => object! { "a" => 1u64 } };
    assert_eq!(history().map_event(with_data, "h", Timestamp(0), "k").unwrap_err(), [RowProblem::Data]);
    assert_eq!(
        crm().map_event(object! {}, "h", Timestamp(0), "k").unwrap_err(),
        [RowProblem::WrongKind { kind: DatasetKind::Profile }]
    );
}

#[test]
fn json_objects_flatten_to_dotted_columns() {
    let v = object! {
        "crmId" => "crm-1",
        "person" => object! { "name" => object! { "firstName" => "Sarah" } },
        "loyalty" => object! { "points" => 1240u64, "ratio" => 0.5, "member" => true },
        "tags" => vec![Value::from("a"), Value::from("b")],
        "gone" => Value::Null,
    };
    let cells = flatten_object(&v).unwrap();
    let want = [
        ("crmId", "crm-1"),
        ("gone", ""),
        ("loyalty.member", "true"),
        ("loyalty.points", "1240"),
        ("loyalty.ratio", "0.5"),
        ("person.name.firstName", "Sarah"),
        ("tags.0", "a"),
        ("tags.1", "b"),
    ];
    let got: Vec<(&str, &str)> = cells.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(got, want);
    assert_eq!(flatten_object(&Value::from(3u64)).unwrap_err(), RowProblem::NotAnObject { found: "a number" });
}

#[test]
fn an_import_chunk_is_one_batch_with_a_stable_id() {
    let hash = content_hash(b"the file");
    assert_eq!(import_batch_id("crm", &hash, 0), import_batch_id("crm", &hash, 0));
    assert_ne!(import_batch_id("crm", &hash, 0), import_batch_id("crm", &hash, 1));
    assert_ne!(import_batch_id("crm", &hash, 0), import_batch_id("loyalty", &hash, 0));
    let mapping = crm();
    let mut second = SARAH;
    second[5] = "Oakland";
    second[11] = "2026-06-02T00:00:00Z";
    let rows: Vec<MappedRow> = [SARAH, second]
        .iter()
        .map(|cells| mapping.map_row(cells, "crm", &import_writer(&hash), Timestamp(0)).unwrap())
        .collect();
    let batch = import_batch("crm", &hash, 0, Timestamp(3), rows, Vec::new());
    assert_eq!(batch.batch_id, import_batch_id("crm", &hash, 0));
    assert_eq!(batch.source, import_writer(&hash));
    let [SyncRecord::Links(links), SyncRecord::Fragments(fragments)] = batch.records.as_slice() else {
        panic!("links then fragments: {:?}", batch.records);
    };
    assert_eq!(links.records.len(), 2);
    assert_eq!(fragments.fragments.len(), 1, "rows of one identity are joined");
    assert_eq!(fragments.fragments[0].attrs.get("homeAddress.city").unwrap().value, Value::from("Oakland"));
}
