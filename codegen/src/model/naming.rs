//! Names: PascalCase type names, snake_case field names, identifiers that are valid in the
//! languages the emitters write.

/// `session_create`, `AUTH_FAILED`, `ai-chat` → `SessionCreate`, `AuthFailed`, `AiChat`.
pub fn pascal_case(text: &str) -> String {
    let mut out = String::new();
    for word in words(text) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(&chars.as_str().to_lowercase());
        }
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'V');
    }
    out
}

/// `sessionId`, `session-id`, `Session ID` → `session_id`.
pub fn snake_case(text: &str) -> String {
    let mut out = words(text)
        .map(|w| w.to_lowercase())
        .collect::<Vec<_>>()
        .join("_");
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// Splits on anything that is not an ASCII letter or digit, and between a lower-case letter
/// and an upper-case one (`camelCase`), keeping runs of capitals together (`HTTPServer`).
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    let mut words = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1).copied();
        let boundary = c.is_ascii_uppercase()
            && prev.is_some_and(|p| {
                p.is_ascii_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_ascii_uppercase() && next.is_some_and(|n| n.is_ascii_lowercase()))
            });
        if boundary && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words.into_iter()
}

/// Whether a name is usable as a type name: PascalCase ASCII starting with a letter.
pub fn is_type_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_uppercase())
        && name.chars().all(|c| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_convert() {
        assert_eq!(pascal_case("session_create"), "SessionCreate");
        assert_eq!(pascal_case("AUTH_FAILED"), "AuthFailed");
        assert_eq!(pascal_case("ai-chat"), "AiChat");
        assert_eq!(pascal_case("2fa"), "V2fa");
        assert_eq!(snake_case("sessionId"), "session_id");
        assert_eq!(snake_case("HTTPServer"), "http_server");
        assert_eq!(snake_case("$schema"), "schema");
        assert_eq!(snake_case("3d"), "_3d");
        assert!(is_type_name("ChatMessage"));
        assert!(!is_type_name("chat_message"));
    }
}
