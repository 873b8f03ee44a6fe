//! The TypeScript emitter: one npm package, `@agentwire/protocols`, with a subpath per protocol
//! (`@agentwire/protocols/<id>`) holding its types, guards and typed client, and a shared runtime.
//!
//! Files are rendered from the handlebars templates of `codegen/templates/ts/`; this module only
//! prepares their data from the model (type expressions, check calls, the client's description
//! of the protocol), so the templates hold the layout and nothing protocol-specific. Every list
//! follows the model's order, so output is byte-identical from run to run.
//!
//! The sources are emitted as TypeScript and compiled when the package is packed, so that
//! `cargo xtask codegen` needs no Node.

mod checks;
mod client;
mod code;
mod decoders;
mod guards;
mod names;
mod types;

use std::collections::{BTreeMap, BTreeSet};

use agentwire_spec::error::{Error, Result};
use agentwire_spec::protocol::ReplyForm;
use handlebars::Handlebars;
use serde::Serialize;

use crate::model::ProtocolModel;
use names::{doc_comment, paragraphs, property_key, string_literal};

/// Where the package sits, relative to the repository root.
pub const GENERATED_DIR: &str = "generated/ts";

/// The package's name on npm.
pub const PACKAGE_NAME: &str = "@agentwire/protocols";

/// The TypeScript compiler the package builds with (its only dev dependency), pinned exactly.
pub const TYPESCRIPT_VERSION: &str = "5.9.3";

/// The templates, by name: (name, source).
const TEMPLATES: &[(&str, &str)] = &[
    (
        "package.json",
        include_str!("../../../templates/ts/package.json.hbs"),
    ),
    (
        "tsconfig.json",
        include_str!("../../../templates/ts/tsconfig.json.hbs"),
    ),
    (
        "tsconfig.cjs.json",
        include_str!("../../../templates/ts/tsconfig.cjs.json.hbs"),
    ),
    ("npmrc", include_str!("../../../templates/ts/npmrc.hbs")),
    (
        "README.md",
        include_str!("../../../templates/ts/README.md.hbs"),
    ),
    (
        "index.ts",
        include_str!("../../../templates/ts/index.ts.hbs"),
    ),
    (
        "runtime/json.ts",
        include_str!("../../../templates/ts/runtime/json.ts.hbs"),
    ),
    (
        "runtime/failure.ts",
        include_str!("../../../templates/ts/runtime/failure.ts.hbs"),
    ),
    (
        "runtime/check.ts",
        include_str!("../../../templates/ts/runtime/check.ts.hbs"),
    ),
    (
        "runtime/decode.ts",
        include_str!("../../../templates/ts/runtime/decode.ts.hbs"),
    ),
    (
        "runtime/client.ts",
        include_str!("../../../templates/ts/runtime/client.ts.hbs"),
    ),
    (
        "runtime/index.ts",
        include_str!("../../../templates/ts/runtime/index.ts.hbs"),
    ),
    (
        "protocol/types.ts",
        include_str!("../../../templates/ts/protocol/types.ts.hbs"),
    ),
    (
        "protocol/guards.ts",
        include_str!("../../../templates/ts/protocol/guards.ts.hbs"),
    ),
    (
        "protocol/client.ts",
        include_str!("../../../templates/ts/protocol/client.ts.hbs"),
    ),
    (
        "protocol/index.ts",
        include_str!("../../../templates/ts/protocol/index.ts.hbs"),
    ),
];

/// What the package is called and which versions it names.
#[derive(Debug, Clone)]
pub struct PackageOptions {
    /// The npm package name.
    pub name: String,
    /// The package version.
    pub version: String,
    /// The pinned TypeScript version.
    pub typescript: String,
}

impl Default for PackageOptions {
    fn default() -> Self {
        Self {
            name: PACKAGE_NAME.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            typescript: TYPESCRIPT_VERSION.into(),
        }
    }
}

/// Every file of the package, by path relative to the repository root.
pub fn emit(models: &[ProtocolModel]) -> Result<BTreeMap<String, Vec<u8>>> {
    emit_package(models, &PackageOptions::default())
}

/// Every file of the package with the given options, by path relative to the repository root.
pub fn emit_package(
    models: &[ProtocolModel],
    options: &PackageOptions,
) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut files = emit_shared(models, options)?;
    for model in models {
        files.extend(emit_protocol(model)?);
    }
    Ok(files)
}

/// The package-level files (manifest, README, index, runtime), by path relative to the
/// repository root.
pub fn emit_shared(
    models: &[ProtocolModel],
    options: &PackageOptions,
) -> Result<BTreeMap<String, Vec<u8>>> {
    let package = package_data(models, options);
    let mut files = BTreeMap::new();
    for (path, template) in [
        ("package.json", "package.json"),
        ("tsconfig.json", "tsconfig.json"),
        ("tsconfig.cjs.json", "tsconfig.cjs.json"),
        (".npmrc", "npmrc"),
        ("README.md", "README.md"),
        ("src/index.ts", "index.ts"),
        ("src/runtime/json.ts", "runtime/json.ts"),
        ("src/runtime/failure.ts", "runtime/failure.ts"),
        ("src/runtime/check.ts", "runtime/check.ts"),
        ("src/runtime/decode.ts", "runtime/decode.ts"),
        ("src/runtime/client.ts", "runtime/client.ts"),
        ("src/runtime/index.ts", "runtime/index.ts"),
    ] {
        files.insert(
            format!("{GENERATED_DIR}/{path}"),
            render(template, &package)?,
        );
    }
    Ok(files)
}

/// One protocol's files (`src/<id>/`), by path relative to the repository root.
pub fn emit_protocol(model: &ProtocolModel) -> Result<BTreeMap<String, Vec<u8>>> {
    let data = protocol_data(model)?;
    let mut files = BTreeMap::new();
    for file in ["types", "guards", "client", "index"] {
        let path = format!("{GENERATED_DIR}/src/{}/{file}.ts", model.id);
        files.insert(path, render(&format!("protocol/{file}.ts"), &data)?);
    }
    Ok(files)
}

/// Renders a template with some data.
fn render(template: &str, data: &impl Serialize) -> Result<Vec<u8>> {
    let registry = match REGISTRY.get_or_init(registry) {
        Ok(registry) => registry,
        Err(error) => return Err(error.clone()),
    };
    registry
        .render(template, data)
        .map(String::into_bytes)
        .map_err(|e| Error::message(format!("rendering the {template} template: {e}")))
}

/// The templates, parsed once per process.
static REGISTRY: std::sync::OnceLock<Result<Handlebars<'static>>> = std::sync::OnceLock::new();

/// The templates, strict (a missing value is an error) and without HTML escaping.
fn registry() -> Result<Handlebars<'static>> {
    let mut registry = Handlebars::new();
    registry.set_strict_mode(true);
    registry.register_escape_fn(handlebars::no_escape);
    for (name, source) in TEMPLATES {
        registry
            .register_template_string(name, source)
            .map_err(|e| Error::message(format!("the {name} template: {e}")))?;
    }
    Ok(registry)
}

/// Data of the package-level files.
#[derive(Debug, Serialize)]
struct PackageData {
    header: String,
    package: String,
    version: String,
    typescript: String,
    id_list: String,
    protocols: Vec<ProtocolEntry>,
    example: Example,
}

#[derive(Debug, Serialize)]
struct ProtocolEntry {
    id: String,
    id_literal: String,
    title: String,
    path: String,
}

/// The README's usage example: the first protocol with a streamed reply (else the first with
/// authentication, else the first), with the options it needs and calls of its client.
#[derive(Debug, Serialize)]
struct Example {
    id: String,
    /// The endpoint's URL on the default port, as a string literal.
    url: String,
    /// The same URL.
    url_text: String,
    /// Whether the protocol takes a token.
    token: bool,
    options: String,
    /// A request answered by one message.
    request: Option<client::ExampleCall>,
    /// A request whose reply may be streamed.
    stream: Option<client::ExampleCall>,
}

fn package_data(models: &[ProtocolModel], options: &PackageOptions) -> PackageData {
    let protocols = models
        .iter()
        .map(|m| ProtocolEntry {
            id: m.id.clone(),
            id_literal: string_literal(&m.id),
            title: m.description.title.clone(),
            path: m.description.endpoint.path.clone(),
        })
        .collect();
    let streams = |m: &&ProtocolModel| {
        m.description
            .exchanges
            .iter()
            .flat_map(|e| &e.replies)
            .any(|form| matches!(form, ReplyForm::Stream(_)))
    };
    let example = models
        .iter()
        .find(streams)
        .or_else(|| models.iter().find(|m| m.description.auth.is_some()))
        .or(models.first())
        .map(|m| {
            let mut extra = String::new();
            if m.description.auth.is_some() {
                extra.push_str(", token: process.env.AGENTWIRE_TOKEN ?? \"\"");
            }
            for param in &m.description.endpoint.path_params {
                extra.push_str(&format!(
                    ", params: {{ {}: {} }}",
                    property_key(&param.name),
                    string_literal(&param.example)
                ));
            }
            let (request, stream) = client::example_calls(m).unwrap_or_default();
            // The endpoint's URL as a server prints it; with path parameters, the server's, to
            // which the client appends the path it fills from `params`.
            let endpoint = &m.description.endpoint;
            let url = if endpoint.path_params.is_empty() {
                format!("ws://127.0.0.1:8080{}", endpoint.path)
            } else {
                "ws://127.0.0.1:8080".to_string()
            };
            Example {
                id: m.id.clone(),
                url: string_literal(&url),
                url_text: url,
                token: m.description.auth.is_some(),
                options: extra,
                request,
                stream,
            }
        })
        .unwrap_or(Example {
            id: String::new(),
            url: String::new(),
            url_text: String::new(),
            token: false,
            options: String::new(),
            request: None,
            stream: None,
        });
    PackageData {
        header: "// Generated by `cargo xtask codegen` from codegen/templates/ts/. Do not edit.\n"
            .into(),
        package: options.name.clone(),
        version: options.version.clone(),
        typescript: options.typescript.clone(),
        id_list: models
            .iter()
            .map(|m| m.id.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        protocols,
        example,
    }
}

/// Data of one protocol's files.
#[derive(Debug, Serialize)]
struct ProtocolData {
    header: String,
    module_doc: String,
    /// Whether `types.ts` names a runtime type (`rt.JsonValue`, `rt.JsonObject`).
    uses_runtime: bool,
    title: String,
    id_literal: String,
    path_literal: String,
    types: Vec<types::TypeDecl>,
    unions: Vec<UnionTypes>,
    guards: Vec<guards::Guard>,
    message_guards: Vec<guards::MessageGuard>,
    union_guards: Vec<guards::UnionGuard>,
    client: client::ClientData,
}

/// A union type of `types.ts`.
#[derive(Debug, Serialize)]
struct UnionTypes {
    name: String,
    doc: String,
    members: String,
    entries: Vec<UnionEntry>,
}

#[derive(Debug, Serialize)]
struct UnionEntry {
    key: String,
    type_name: String,
}

fn protocol_data(model: &ProtocolModel) -> Result<ProtocolData> {
    let d = &model.description;
    let unions = [&model.client, &model.server]
        .into_iter()
        .map(|union| {
            let entries: Vec<UnionEntry> = union
                .messages
                .iter()
                .filter_map(|name| model.message(name))
                .map(|m| UnionEntry {
                    key: property_key(&m.name),
                    type_name: m.type_name.clone(),
                })
                .collect();
            UnionTypes {
                name: union.name.clone(),
                doc: doc_comment(&union.doc, ""),
                members: entries
                    .iter()
                    .map(|e| e.type_name.as_str())
                    .collect::<Vec<_>>()
                    .join(" | "),
                entries,
            }
        })
        .collect();
    let declarations = types::declarations(model);
    let uses_runtime = declarations.iter().any(|decl| {
        decl.alias.as_deref().is_some_and(|a| a.contains("rt."))
            || decl
                .interface
                .iter()
                .flat_map(|i| &i.fields)
                .any(|f| f.ty.contains("rt."))
    });
    let data = ProtocolData {
        header: format!(
            "// Generated by `cargo xtask codegen` from schema/{}/. Do not edit.\n",
            model.id
        ),
        module_doc: doc_comment(
            &paragraphs([
                Some(format!("{} (`{}`).", d.title, model.id).as_str()),
                Some(d.summary.as_str()),
                Some("@module"),
            ]),
            "",
        ),
        title: d.title.clone(),
        id_literal: string_literal(&model.id),
        path_literal: string_literal(&d.endpoint.path),
        uses_runtime,
        types: declarations,
        unions,
        guards: guards::guards(model),
        message_guards: guards::message_guards(model),
        union_guards: vec![
            guards::union_guard(model, &model.client, "clientUnion"),
            guards::union_guard(model, &model.server, "serverUnion"),
        ],
        client: client::client(model)?,
    };
    check_exports(model, &data)?;
    Ok(data)
}

/// The protocol's `index.ts` re-exports three modules: their names must not clash.
fn check_exports(model: &ProtocolModel, data: &ProtocolData) -> Result<()> {
    let mut seen = BTreeSet::new();
    let mut names: Vec<String> = data.types.iter().map(|t| t.name.clone()).collect();
    for union in &data.unions {
        names.extend([
            union.name.clone(),
            format!("{}s", union.name),
            format!("{}Name", union.name),
        ]);
    }
    for guard in &data.guards {
        names.push(guard.check.clone());
        if guard.prelude.starts_with("/**") {
            names.push(guards::values_name(&guard.type_name));
        }
    }
    names.extend(data.message_guards.iter().map(|g| g.is.clone()));
    for union in &data.union_guards {
        names.extend([
            union.constant.clone(),
            format!("decode{}", union.name),
            format!("parse{}", union.name),
            format!("is{}", union.name),
        ]);
    }
    names.extend(data.client.inputs.iter().map(|i| i.name.clone()));
    names.extend(
        [
            "PROTOCOL_ID",
            "ENDPOINT_PATH",
            "SPEC",
            "ConnectOptions",
            "Client",
            "connect",
            "ConnectionError",
            "FrameError",
            "ServerError",
            "SessionError",
            "TimeoutError",
        ]
        .map(String::from),
    );
    for name in names {
        if !seen.insert(name.clone()) {
            return Err(Error::message(format!(
                "{}: the TypeScript bindings would export {name} twice; rename a type or message",
                model.id
            )));
        }
    }
    Ok(())
}
