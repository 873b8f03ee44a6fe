//! The model reads the schemas as they mean: names, optional versus nullable, constraints.

use std::path::Path;

use agentwire_codegen::Workspace;
use agentwire_codegen::model::{Constrained, Encoding, Format, ProtocolModel, Ty, TypeKind};

fn models() -> Vec<ProtocolModel> {
    let workspace =
        Workspace::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema")).unwrap();
    ProtocolModel::build_all(&workspace).unwrap_or_else(|e| panic!("{e}"))
}

fn model(id: &str) -> ProtocolModel {
    models().into_iter().find(|m| m.id == id).unwrap()
}

#[test]
fn dump() {
    for m in models() {
        eprintln!("== {}", m.id);
        for t in &m.types {
            eprintln!("  {} = {:?}", t.name, t.kind);
        }
    }
}

#[test]
fn datagram_reads_as_documented() {
    let m = model("datagram");
    let error = m.type_def("ErrorField").unwrap();
    assert_eq!(
        error.kind,
        TypeKind::OneOfKinds(vec![Ty::Bool, Ty::String, Ty::Null])
    );
    let TypeKind::Constrained(Constrained::String(rules)) = &m.type_def("Base64Text").unwrap().kind
    else {
        panic!()
    };
    assert_eq!(rules.encoding, Some(Encoding::Base64));
    let TypeKind::Struct(response) = &m.type_def("SessionResponseContent").unwrap().kind else {
        panic!()
    };
    let session_id = response
        .fields
        .iter()
        .find(|f| f.wire == "session_id")
        .unwrap();
    assert!(!session_id.required);
    assert_eq!(session_id.ty, Ty::Named("SessionId".into()));
    let TypeKind::Struct(ping) = &m.type_def("Ping").unwrap().kind else {
        panic!()
    };
    assert_eq!(ping.fields[2].ty, Ty::Null);
    assert!(ping.fields[2].required);
}

#[test]
fn generalbots_timestamps_are_date_times() {
    let m = model("generalbots");
    let TypeKind::Constrained(Constrained::String(rules)) = &m.type_def("Timestamp").unwrap().kind
    else {
        panic!()
    };
    assert_eq!(rules.format, Some(Format::DateTime));
    assert_eq!(
        m.type_def("ErrorCode").unwrap().kind,
        TypeKind::StringEnum(vec![
            "AUTH_FAILED".into(),
            "SESSION_NOT_FOUND".into(),
            "RATE_LIMITED".into(),
            "MESSAGE_TOO_LARGE".into(),
            "INVALID_FORMAT".into(),
            "SUBSCRIPTION_FAILED".into(),
        ])
    );
}
