//! Quotes of the documents: rules quote sentences with their whitespace normalised (a run of
//! spaces, tabs and line breaks is one space), so a quote is found, and its lines located, in the
//! document normalised the same way.

/// `text` with every run of whitespace made one space, and none at either end.
pub fn normalise(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The lines (1-based, first and last) a quote spans in a text, whitespace normalised on both
/// sides; its first occurrence, as the loader's check finds it. `None` when it is not there.
pub fn lines_of(text: &str, quote: &str) -> Option<(usize, usize)> {
    let wanted = normalise(quote);
    if wanted.is_empty() {
        return None;
    }
    // The normalised text, and the line of each of its bytes.
    let mut normalised = String::with_capacity(text.len());
    let mut line_of = Vec::with_capacity(text.len());
    let mut line = 1;
    let mut gap = false;
    for c in text.chars() {
        if c.is_whitespace() {
            if c == '\n' {
                line += 1;
            }
            gap = !normalised.is_empty();
            continue;
        }
        if gap {
            normalised.push(' ');
            line_of.push(line);
            gap = false;
        }
        normalised.push(c);
        line_of.extend(std::iter::repeat_n(line, c.len_utf8()));
    }
    let start = normalised.find(&wanted)?;
    Some((line_of[start], line_of[start + wanted.len() - 1]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_found_across_lines_and_spacing() {
        let text =
            "# Title\n\nThe server  MUST\n   close the\r\nconnection.\nÉtat: prêt\n\nLast line";
        let cases = [
            ("The server MUST close the connection.", Some((3, 5))),
            ("The   server\tMUST", Some((3, 3))),
            ("close the connection.", Some((4, 5))),
            ("État: prêt", Some((6, 6))),
            ("Last line", Some((8, 8))),
            ("# Title", Some((1, 1))),
            ("not there", None),
            ("   ", None),
        ];
        for (quote, lines) in cases {
            assert_eq!(lines_of(text, quote), lines, "{quote:?}");
        }
        assert_eq!(normalise("  a \n\t b  "), "a b");
    }
}
