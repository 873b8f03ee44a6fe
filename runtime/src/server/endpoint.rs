//! Matching a request's path against an endpoint template, and reading its query and cookies.

/// An endpoint path template such as `/ws/ai/ai-chat/{client_id}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathTemplate {
    segments: Vec<Segment>,
    trailing_slash: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
}

impl PathTemplate {
    /// Parses a template: `/`-separated segments, `{name}` for a parameter.
    pub fn new(template: &str) -> Self {
        let trimmed = template.trim_start_matches('/');
        let trailing_slash = trimmed.ends_with('/') && !trimmed.is_empty();
        let segments = trimmed
            .trim_end_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .map(
                |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(name) => Segment::Param(name.to_string()),
                    None => Segment::Literal(s.to_string()),
                },
            )
            .collect();
        Self {
            segments,
            trailing_slash,
        }
    }

    /// The path parameters of `path` when it matches the template. Parameters are
    /// percent-decoded and must not be empty. A trailing slash is optional either way.
    pub fn matches(&self, path: &str) -> Option<Vec<(String, String)>> {
        let parts: Vec<&str> = path
            .trim_start_matches('/')
            .trim_end_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        if parts.len() != self.segments.len() {
            return None;
        }
        let mut params = Vec::new();
        for (segment, part) in self.segments.iter().zip(parts) {
            match segment {
                Segment::Literal(literal) if literal == part => {}
                Segment::Literal(_) => return None,
                Segment::Param(name) => {
                    let value = percent_decode(part)?;
                    params.push((name.clone(), value));
                }
            }
        }
        Some(params)
    }

    /// The names of the template's parameters, in order.
    pub fn params(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Param(name) => Some(name.as_str()),
            Segment::Literal(_) => None,
        })
    }

    /// The template with its parameters filled in.
    pub fn fill(&self, params: &[(&str, &str)]) -> String {
        let mut out = String::new();
        for segment in &self.segments {
            out.push('/');
            match segment {
                Segment::Literal(literal) => out.push_str(literal),
                Segment::Param(name) => {
                    let value = params
                        .iter()
                        .find(|(n, _)| n == name)
                        .map_or("", |(_, v)| v);
                    out.extend(form_urlencoded::byte_serialize(value.as_bytes()));
                }
            }
        }
        if self.trailing_slash || out.is_empty() {
            out.push('/');
        }
        out
    }
}

/// The decoded pairs of a query string (`a=1&b=two`).
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The pairs of `Cookie` header values (`a=1; b=2`), in order.
pub fn cookie_pairs<'a>(headers: impl Iterator<Item = &'a str>) -> Vec<(String, String)> {
    headers
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| {
            let (name, value) = pair.split_once('=')?;
            let value = value.trim().trim_matches('"');
            Some((name.trim().to_string(), value.to_string()))
        })
        .collect()
}

fn percent_decode(part: &str) -> Option<String> {
    // A path segment is decoded like a query value, except that `+` stays a plus.
    let escaped = part.replace('+', "%2B");
    let decoded: String = form_urlencoded::parse(format!("v={escaped}").as_bytes())
        .next()?
        .1
        .into_owned();
    (!decoded.is_empty()).then_some(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_paths_and_take_parameters() {
        let template = PathTemplate::new("/ws/ai/ai-chat/{client_id}");
        assert_eq!(
            template.matches("/ws/ai/ai-chat/client-1"),
            Some(vec![("client_id".into(), "client-1".into())])
        );
        assert_eq!(
            template.matches("/ws/ai/ai-chat/a%20b/"),
            Some(vec![("client_id".into(), "a b".into())])
        );
        assert_eq!(template.matches("/ws/ai/ai-chat/"), None);
        assert_eq!(template.matches("/ws/ai/other/x"), None);
        assert_eq!(template.matches("/ws/ai/ai-chat/x/y"), None);
        assert_eq!(template.fill(&[("client_id", "a b")]), "/ws/ai/ai-chat/a+b");
        let root = PathTemplate::new("/");
        assert_eq!(root.matches("/"), Some(vec![]));
        assert_eq!(root.fill(&[]), "/");
        let rixa = PathTemplate::new("/ws/");
        assert_eq!(rixa.matches("/ws"), Some(vec![]));
        assert_eq!(rixa.fill(&[]), "/ws/");
    }

    #[test]
    fn queries_and_cookies_are_read() {
        assert_eq!(
            query_pairs("token=a%2Bb&x=1"),
            vec![("token".into(), "a+b".into()), ("x".into(), "1".into())]
        );
        let cookies = cookie_pairs(["access_token=abc; theme=dark", "other=\"q\""].into_iter());
        assert_eq!(cookies[0], ("access_token".into(), "abc".into()));
        assert_eq!(cookies[2], ("other".into(), "q".into()));
    }
}
