//! TypeScript names and comments for the model's names and descriptions.

use crate::model::naming::pascal_case;

/// Whether a name can be written bare as a property key or an identifier part.
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// A property key: bare when it is an identifier, quoted otherwise.
pub fn property_key(wire: &str) -> String {
    if is_identifier(wire) {
        wire.to_string()
    } else {
        string_literal(wire)
    }
}

/// A string literal (JSON's escaping is valid TypeScript).
pub fn string_literal(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

/// `session_create` → `sessionCreate`.
pub fn camel_case(name: &str) -> String {
    let pascal = pascal_case(name);
    let mut chars = pascal.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// A TSDoc comment at an indentation, ending with a newline; empty for no text.
pub fn doc_comment(text: &str, indent: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    // `*/` would end the comment early.
    let text = text.replace("*/", "*\\/");
    let lines: Vec<&str> = text.lines().collect();
    if let [line] = lines.as_slice() {
        return format!("{indent}/** {line} */\n");
    }
    let mut out = format!("{indent}/**\n");
    for line in lines {
        if line.trim().is_empty() {
            out.push_str(&format!("{indent} *\n"));
        } else {
            out.push_str(&format!("{indent} * {}\n", line.trim_end()));
        }
    }
    out.push_str(&format!("{indent} */\n"));
    out
}

/// Joins a description and notes into one comment text, separated by blank lines.
pub fn paragraphs<'a>(parts: impl IntoIterator<Item = Option<&'a str>>) -> String {
    parts
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// A JSON value as a TypeScript literal starting at column `indent`: on one line when it fits
/// in `width` columns, otherwise one member per line.
pub fn json_literal(value: &serde_json::Value, indent: usize, width: usize) -> String {
    render(value, indent, indent, width)
}

/// `indent` is the indentation of the line the value starts on, `column` where it starts.
fn render(value: &serde_json::Value, indent: usize, column: usize, width: usize) -> String {
    use serde_json::Value;
    let flat = flat(value);
    if column + flat.chars().count() < width {
        return flat;
    }
    let inner = " ".repeat(indent + 2);
    let (open, close, lines): (&str, &str, Vec<String>) = match value {
        Value::Array(items) if !items.is_empty() => (
            "[",
            "]",
            items
                .iter()
                .map(|item| format!("{inner}{},\n", render(item, indent + 2, indent + 2, width)))
                .collect(),
        ),
        Value::Object(map) if !map.is_empty() => (
            "{",
            "}",
            map.iter()
                .map(|(key, item)| {
                    let key = property_key(key);
                    let column = indent + 2 + key.len() + 2;
                    format!(
                        "{inner}{key}: {},\n",
                        render(item, indent + 2, column, width)
                    )
                })
                .collect(),
        ),
        _ => return flat,
    };
    format!("{open}\n{}{}{close}", lines.concat(), " ".repeat(indent))
}

/// A JSON value on one line, in TypeScript's usual spacing.
fn flat(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(flat).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) if map.is_empty() => "{}".into(),
        Value::Object(map) => {
            let members: Vec<String> = map
                .iter()
                .map(|(key, item)| format!("{}: {}", property_key(key), flat(item)))
                .collect();
            format!("{{ {} }}", members.join(", "))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_comments() {
        assert_eq!(camel_case("session_create"), "sessionCreate");
        assert_eq!(camel_case("ping"), "ping");
        assert_eq!(property_key("type"), "type");
        assert_eq!(property_key("content-type"), "\"content-type\"");
        assert_eq!(doc_comment("", ""), "");
        assert_eq!(doc_comment("One line.", "  "), "  /** One line. */\n");
        assert_eq!(
            doc_comment("a */ b\n\nc", ""),
            "/**\n * a *\\/ b\n *\n * c\n */\n"
        );
    }
}
