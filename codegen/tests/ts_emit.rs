//! The TypeScript emitter on its own: byte-identical output from run to run, a subpath per
//! protocol, nothing protocol-specific in the shared runtime, and (when `AGENTWIRE_TS_OUT` names a
//! folder) the package of any schema folder written out for `tsc` to check.

use std::path::{Path, PathBuf};

use agentwire_codegen::emit::ts;
use agentwire_codegen::model::ProtocolModel;
use agentwire_spec::Workspace;

fn models(schema: &Path) -> Vec<ProtocolModel> {
    let workspace = Workspace::load(schema).unwrap();
    ProtocolModel::build_all(&workspace).unwrap()
}

fn schema_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema")
}

#[test]
fn output_is_identical_from_run_to_run() {
    let models = models(&schema_root());
    assert_eq!(ts::emit(&models).unwrap(), ts::emit(&models).unwrap());
}

#[test]
fn every_protocol_is_a_subpath_with_its_four_modules() {
    let models = models(&schema_root());
    let files = ts::emit(&models).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&files[&format!("{}/package.json", ts::GENERATED_DIR)]).unwrap();
    assert_eq!(manifest["name"], ts::PACKAGE_NAME);
    assert_eq!(
        manifest["devDependencies"]["typescript"],
        ts::TYPESCRIPT_VERSION
    );
    for model in &models {
        // ES modules for `import`, CommonJS for `require`, each with its declarations.
        let export = &manifest["exports"][format!("./{}", model.id)];
        for (condition, build) in [("import", "esm"), ("require", "cjs")] {
            assert_eq!(
                export[condition]["types"],
                format!("./dist/{build}/{}/index.d.ts", model.id),
                "{} {condition}",
                model.id
            );
            assert_eq!(
                export[condition]["default"],
                format!("./dist/{build}/{}/index.js", model.id),
                "{} {condition}",
                model.id
            );
        }
        for module in ["types", "guards", "client", "index"] {
            let path = format!("{}/src/{}/{module}.ts", ts::GENERATED_DIR, model.id);
            assert!(files.contains_key(&path), "{path} is missing");
        }
    }
}

#[test]
fn the_shared_runtime_names_no_protocol() {
    let models = models(&schema_root());
    let files = ts::emit(&models).unwrap();
    for (path, bytes) in &files {
        if !path.contains("/src/runtime/") {
            continue;
        }
        let text = String::from_utf8_lossy(bytes);
        for model in &models {
            assert!(
                !text.contains(&format!("\"{}\"", model.id)),
                "{path} names the protocol {}",
                model.id
            );
        }
    }
}

/// The README's example is written from the model: a protocol with a streamed reply, a request
/// that needs no argument, and the streamed request with the document's example input, less what
/// the client fills in (the discriminator, the session id). consumer.test.mjs type-checks it.
#[test]
fn the_readme_example_calls_a_request_and_a_stream_from_the_documents_examples() {
    let models = models(&schema_root());
    let files = ts::emit(&models).unwrap();
    let readme = String::from_utf8_lossy(&files[&format!("{}/README.md", ts::GENERATED_DIR)]);
    assert!(readme.contains(r#"import { connect } from "@agentwire/protocols/generalbots";"#));
    assert!(readme.contains("await client.ping();"), "{readme}");
    assert!(
        readme.contains(r#"client.chatMessage({ content: "Hello, I need help with my order" })"#),
        "{readme}"
    );
    assert!(
        !readme.contains("session_id"),
        "the client fills the session in"
    );
}

/// Every construct the generator supports, in one synthetic protocol (when the checkout has it).
#[test]
fn the_synthetic_protocol_emits() {
    let synthetic = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/synthetic/schema");
    if !synthetic.is_dir() {
        return;
    }
    let models = models(&synthetic);
    let files = ts::emit(&models).unwrap();
    // Every type gets a check of its own, written out as code; each union a decoder that
    // switches on its discriminators (guards.test.mjs runs them on the synthetic corpus).
    for model in &models {
        let path = format!("{}/src/{}/guards.ts", ts::GENERATED_DIR, model.id);
        let guards = String::from_utf8_lossy(&files[&path]);
        for def in &model.types {
            let signature = format!(
                "export function check{}(value: unknown, pointer = \"\"): rt.Failure | undefined {{\n",
                def.name
            );
            let body = guards
                .split(&signature)
                .nth(1)
                .unwrap_or_else(|| panic!("{path} has no check of {}", def.name));
            let body = &body[..body.find("\n}\n").unwrap()];
            // It can fail, with a failure of its own making.
            assert!(body.contains("return rt."), "check{}: {body}", def.name);
        }
        for union in [&model.client, &model.server] {
            let decoder = guards
                .split(&format!("export function decode{}(", union.name))
                .nth(1)
                .unwrap_or_else(|| panic!("{path} has no decoder of {}", union.name));
            let decoder = &decoder[..decoder.find("\n}\n").unwrap()];
            assert!(decoder.contains("switch ("), "{}: {decoder}", union.name);
        }
    }
    if let Some(out) = std::env::var_os("AGENTWIRE_TS_OUT") {
        let out = PathBuf::from(out);
        for (path, bytes) in &files {
            let relative = path.strip_prefix(ts::GENERATED_DIR).unwrap();
            let target = out.join(relative.trim_start_matches('/'));
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::write(target, bytes).unwrap();
        }
    }
}
