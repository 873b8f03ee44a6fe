//! `components.messages`: one message per message schema, with its payload, its correlation id
//! and the documents' examples of it.

use agentwire_spec::error::Result;
use agentwire_spec::examples::ValidExample;
use agentwire_spec::union::TagValue;
use serde_json::{Map, Value, json};

use super::correlation::CorrelationIds;
use super::schema::Bundle;
use super::{Context, MessageEntry, first_sentence, to_json};

/// Every message of the protocol, by key, in the context's order.
pub(super) fn messages(
    context: &Context<'_>,
    bundle: &mut Bundle<'_>,
    correlation: &CorrelationIds,
) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    for entry in &context.messages {
        out.insert(
            entry.key.clone(),
            Value::Object(message(context, entry, bundle, correlation)?),
        );
    }
    Ok(out)
}

fn message(
    context: &Context<'_>,
    entry: &MessageEntry<'_>,
    bundle: &mut Bundle<'_>,
    correlation: &CorrelationIds,
) -> Result<Map<String, Value>> {
    let protocol = context.protocol;
    let payload = bundle.schema(entry.schema_uri)?;
    let text = |key: &str| payload.get(key).and_then(Value::as_str).map(str::to_owned);
    let info = &protocol.description.messages[entry.name];

    let mut out = Map::new();
    out.insert("name".into(), json!(entry.name));
    out.insert(
        "title".into(),
        json!(text("title").unwrap_or_else(|| entry.name.into())),
    );
    if let Some(description) = text("description") {
        if let Some(summary) = first_sentence(&description) {
            out.insert("summary".into(), json!(summary));
        }
        out.insert("description".into(), json!(description));
    }
    out.insert("contentType".into(), json!("application/json"));
    let (main, all) = correlation.of_message(entry.name);
    if let Some(main) = main {
        out.insert("correlationId".into(), main);
    }
    out.insert("payload".into(), payload);
    let examples: Vec<Value> = protocol
        .valid_examples()
        .into_iter()
        .filter(|(example, _)| example.message == entry.name)
        .map(|(example, frame)| example_object(context, example, frame))
        .collect();
    if !examples.is_empty() {
        out.insert("examples".into(), Value::Array(examples));
    }

    out.insert("x-agentwire-direction".into(), to_json(&entry.direction));
    out.insert("x-agentwire-rule".into(), to_json(&info.rule));
    let schema_file = info
        .schema
        .clone()
        .unwrap_or_else(|| format!("messages/{}.schema.json", entry.name));
    out.insert(
        "x-agentwire-schema".into(),
        json!(context.source_path(&schema_file)),
    );
    if !entry.variant.when.is_empty() {
        let tests: Vec<Value> = entry
            .variant
            .when
            .iter()
            .map(|test| match &test.value {
                TagValue::Equals(value) => json!({"pointer": test.pointer, "equals": value}),
                TagValue::Absent => json!({"pointer": test.pointer, "absent": true}),
            })
            .collect();
        out.insert("x-agentwire-discriminator".into(), Value::Array(tests));
    }
    if let Some(all) = all {
        out.insert("x-agentwire-correlation-ids".into(), all);
    }
    if let Some(codes) = &protocol.description.error_codes
        && codes.message == entry.name
    {
        out.insert("x-agentwire-error-codes".into(), to_json(codes));
    }
    Ok(out)
}

/// A Message Example Object. It allows no extensions, so the example's sources go into its
/// summary.
fn example_object(context: &Context<'_>, example: &ValidExample, frame: &Value) -> Value {
    let name = example
        .file
        .rsplit_once('.')
        .map_or(example.file.as_str(), |(stem, _)| stem);
    let places: Vec<String> = example
        .sources
        .iter()
        .map(|s| format!("{} line {}", context.source_path(&s.document), s.line))
        .collect();
    let summary = match (&example.derived_from, example.verbatim) {
        (Some(code), false) => format!("Transcribed to JSON from {}: {code}", places.join(", ")),
        (None, false) => format!("Transcribed to JSON from {}.", places.join(", ")),
        _ => format!("Verbatim from {}.", places.join(", ")),
    };
    json!({"name": name, "summary": summary, "payload": frame})
}
