//! Patterns are ECMA-262 regular expressions. `jsonschema` reads them by translating them to
//! Rust's `regex` syntax (`\d` is `[0-9]`, `\w` is `[A-Za-z0-9_]`, `\s` is ECMA's whitespace...);
//! the generated Rust types use the same translation, so that they match what it matches.

/// The Rust `regex` form of an ECMA-262 pattern, or why the generator cannot use it.
pub fn to_rust(pattern: &str) -> Result<String, String> {
    let translated = jsonschema_regex::to_rust_regex(pattern).map_err(|()| {
        format!("pattern {pattern:?} is not a regular expression the generator supports")
    })?;
    regex::Regex::new(&translated).map_err(|e| {
        format!(
            "pattern {pattern:?} is not supported (look-arounds and back-references are not): {e}"
        )
    })?;
    Ok(translated.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_mean_what_ecma_means() {
        let matches = |pattern: &str, text: &str| {
            regex::Regex::new(&to_rust(pattern).unwrap())
                .unwrap()
                .is_match(text)
        };
        assert!(matches(r"^\d+$", "12"));
        assert!(!matches(r"^\d+$", "١٢"));
        assert!(!matches(r"^\w+$", "é"));
        assert!(matches(r"^\s$", "\u{feff}"));
        assert!(!matches(r"^\s$", "\u{85}"));
        assert!(to_rust(r"(?<=a)b").is_err());
    }
}
