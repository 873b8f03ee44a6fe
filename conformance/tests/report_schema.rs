//! `report.schema.json` is generated from the report types; this test keeps the checked-in copy
//! current (run with `UPDATE_REPORT_SCHEMA=1` to rewrite it).

use agentwire_conformance::ReportDocument;

#[test]
fn checked_in_report_schema_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("report.schema.json");
    let expected = serde_json::to_string_pretty(&ReportDocument::json_schema()).unwrap() + "\n";
    if std::env::var_os("UPDATE_REPORT_SCHEMA").is_some() {
        std::fs::write(&path, &expected).unwrap();
    }
    let found = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        found == expected,
        "{} is stale: run UPDATE_REPORT_SCHEMA=1 cargo test -p agentwire-conformance --test report_schema",
        path.display()
    );
}

#[test]
fn report_schema_is_a_valid_draft_2020_12_schema() {
    let schema = ReportDocument::json_schema();
    jsonschema::draft202012::new(&schema).expect("the report schema compiles");
}
