//! The connection: servers, the channel's address and path parameters, the `ws` channel binding
//! (the handshake's query parameters and headers) and the security schemes.

use agentwire_spec::error::{Error, Result};
use agentwire_spec::protocol::{Auth, AuthMethod, Credential, Endpoint, Rule};
use serde_json::{Map, Value, json};

use super::{Context, component_key, to_json};

/// Version of the WebSockets bindings the `ws` binding follows.
const WS_BINDING_VERSION: &str = "0.1.0";

/// What the connection contributes to the document.
#[derive(Debug)]
pub(super) struct Connection {
    /// The `servers` map.
    pub servers: Map<String, Value>,
    /// The channel, without its `messages` and extensions.
    pub channel: Map<String, Value>,
    /// `components.securitySchemes`.
    pub security_schemes: Map<String, Value>,
}

impl Connection {
    pub(super) fn of(context: &Context<'_>) -> Result<Self> {
        let description = &context.protocol.description;
        let auth = description.auth.as_ref();
        let security_schemes = auth.map(security_schemes).unwrap_or_default();
        let security: Vec<Value> = match auth {
            Some(auth) if auth.required => security_schemes
                .keys()
                .map(|key| json!({"$ref": format!("#/components/securitySchemes/{key}")}))
                .collect(),
            _ => Vec::new(),
        };
        let mut servers = servers(&description.endpoint);
        for server in servers.values_mut() {
            if let Some(extra) = auth.and_then(first_message_note) {
                let text = server["description"].as_str().unwrap_or_default();
                server["description"] = json!(format!("{text}\n\n{extra}"));
            }
            if !security.is_empty() {
                server["security"] = json!(security);
            }
        }

        let mut channel = Map::new();
        channel.insert("address".into(), json!(description.endpoint.path));
        channel.insert("title".into(), json!(description.title));
        channel.insert(
            "description".into(),
            json!(channel_description(&description.endpoint, auth)),
        );
        let parameters = parameters(context, &description.endpoint)?;
        if !parameters.is_empty() {
            channel.insert("parameters".into(), Value::Object(parameters));
        }
        channel.insert("bindings".into(), json!({"ws": ws_binding(auth)}));
        Ok(Self {
            servers,
            channel,
            security_schemes,
        })
    }
}

/// One server per distinct scheme, host and path prefix of the documented URLs, or `localhost`
/// when the document shows none.
fn servers(endpoint: &Endpoint) -> Map<String, Value> {
    let mut found: Vec<(Url<'_>, Vec<&str>)> = Vec::new();
    for example in &endpoint.examples {
        let Some(url) = Url::parse(example, &endpoint.path) else {
            continue;
        };
        match found.iter_mut().find(|(seen, _)| *seen == url) {
            Some((_, shown)) => shown.push(example),
            None => found.push((url, vec![example])),
        }
    }
    let mut servers = Map::new();
    if found.is_empty() {
        servers.insert(
            "localhost".into(),
            json!({
                "host": "localhost",
                "protocol": "ws",
                "description": "The document names no server URL; `localhost` stands in for the server's host.",
            }),
        );
        return servers;
    }
    for (url, shown) in found {
        let mut key = component_key(&url.host.replace(':', "-"));
        if servers.contains_key(&key) {
            key = format!("{key}-{}", component_key(url.scheme));
        }
        let base = key.clone();
        let mut n = 2;
        while servers.contains_key(&key) {
            key = format!("{base}-{n}");
            n += 1;
        }
        let shown: Vec<String> = shown.iter().map(|s| format!("`{s}`")).collect();
        let mut server = Map::new();
        server.insert("host".into(), json!(url.host));
        if !url.pathname.is_empty() {
            server.insert("pathname".into(), json!(url.pathname));
        }
        server.insert("protocol".into(), json!(url.scheme.to_ascii_lowercase()));
        server.insert(
            "description".into(),
            json!(format!("The document shows {}.", shown.join(" and "))),
        );
        servers.insert(key, Value::Object(server));
    }
    servers
}

/// The parts of a documented URL that make a server.
#[derive(Debug, PartialEq, Eq)]
struct Url<'a> {
    scheme: &'a str,
    host: &'a str,
    /// What precedes the endpoint's path in the URL's path, if the URL's path ends with it.
    pathname: &'a str,
}

impl<'a> Url<'a> {
    /// Reads `scheme://host/path?query`; `None` for anything else.
    fn parse(url: &'a str, endpoint_path: &str) -> Option<Self> {
        let (scheme, rest) = url.split_once("://")?;
        let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (host, tail) = rest.split_at(host_end);
        let path = &tail[..tail.find(['?', '#']).unwrap_or(tail.len())];
        let pathname = path
            .strip_suffix(endpoint_path)
            .filter(|prefix| !prefix.is_empty() && *prefix != "/")
            .unwrap_or_default();
        (!scheme.is_empty() && !host.is_empty()).then_some(Self {
            scheme,
            host,
            pathname,
        })
    }
}

/// The channel parameters of `{name}` segments; each must be described in `path_params`.
fn parameters(context: &Context<'_>, endpoint: &Endpoint) -> Result<Map<String, Value>> {
    let file = context.protocol.dir.join("protocol.json");
    let mut out = Map::new();
    let mut rest = endpoint.path.as_str();
    while let Some(start) = rest.find('{') {
        let end = rest[start..]
            .find('}')
            .ok_or_else(|| Error::at(&file, "/endpoint/path", "a `{` without its `}`"))?
            + start;
        let name = &rest[start + 1..end];
        let param = endpoint
            .path_params
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| {
                Error::at(
                    &file,
                    "/endpoint/path_params",
                    format!("the path parameter {name:?} is not described"),
                )
            })?;
        out.insert(
            name.into(),
            json!({"description": param.description, "examples": [param.example]}),
        );
        rest = &rest[end + 1..];
    }
    if let Some(stray) = endpoint
        .path_params
        .iter()
        .position(|p| !out.contains_key(&p.name))
    {
        return Err(Error::at(
            &file,
            format!("/endpoint/path_params/{stray}"),
            "this parameter does not occur in the path",
        ));
    }
    Ok(out)
}

/// The `ws` binding: a GET handshake with the credential's query parameters and cookies.
fn ws_binding(auth: Option<&Auth>) -> Value {
    let mut query = Map::new();
    let mut cookies = Vec::new();
    let methods = auth.map(|a| a.methods.as_slice()).unwrap_or_default();
    for method in methods {
        match method {
            AuthMethod::QueryParameter { name, rule } => {
                let credential = credential(auth.map(|a| a.credential));
                query.insert(
                    name.clone(),
                    json!({
                        "type": "string",
                        "description": format!("{credential}.\n\n{}", quote(rule)),
                    }),
                );
            }
            AuthMethod::Cookie { name, rule } => cookies.push((name, rule)),
            AuthMethod::FirstMessage { .. } => {}
        }
    }
    // A lone way of passing a required credential is itself required.
    let required = auth.is_some_and(|a| a.required) && methods.len() == 1;
    let mut binding = Map::new();
    binding.insert("method".into(), json!("GET"));
    if !query.is_empty() {
        let names: Vec<String> = query.keys().cloned().collect();
        let mut schema = json!({"type": "object", "properties": query});
        if required {
            schema["required"] = json!(names);
        }
        binding.insert("query".into(), schema);
    }
    if !cookies.is_empty() {
        let lines: Vec<String> = cookies
            .iter()
            .map(|(name, rule)| format!("The `{name}` cookie.\n\n{}", quote(rule)))
            .collect();
        let mut schema = json!({
            "type": "object",
            "properties": {"Cookie": {"type": "string", "description": lines.join("\n\n")}}
        });
        if required {
            schema["required"] = json!(["Cookie"]);
        }
        binding.insert("headers".into(), schema);
    }
    binding.insert("bindingVersion".into(), json!(WS_BINDING_VERSION));
    Value::Object(binding)
}

/// A `httpApiKey` scheme per query parameter or cookie; the first message has no AsyncAPI
/// scheme and is described in the server's and channel's descriptions instead.
fn security_schemes(auth: &Auth) -> Map<String, Value> {
    let mut out = Map::new();
    for method in &auth.methods {
        let (place, name, rule) = match method {
            AuthMethod::QueryParameter { name, rule } => ("query", name, rule),
            AuthMethod::Cookie { name, rule } => ("cookie", name, rule),
            AuthMethod::FirstMessage { .. } => continue,
        };
        let place_text = match place {
            "query" => "query parameter",
            _ => "cookie",
        };
        out.insert(
            component_key(&format!("{place}-{name}")),
            json!({
                "type": "httpApiKey",
                "name": name,
                "in": place,
                "description": format!(
                    "{}, passed as the `{name}` {place_text} of the handshake.\n\n{}",
                    credential(Some(auth.credential)),
                    quote(rule)
                ),
                "x-agentwire-rule": to_json(rule),
            }),
        );
    }
    out
}

/// What the channel is, in words: the endpoint and how clients authenticate.
fn channel_description(endpoint: &Endpoint, auth: Option<&Auth>) -> String {
    let mut parts = vec![format!(
        "The WebSocket endpoint `{}`.\n\n{}",
        endpoint.path,
        quote(&endpoint.rule)
    )];
    if let Some(auth) = auth {
        let ways: Vec<String> = auth
            .methods
            .iter()
            .map(|method| match method {
                AuthMethod::QueryParameter { name, .. } => format!("the `{name}` query parameter"),
                AuthMethod::Cookie { name, .. } => format!("the `{name}` cookie"),
                AuthMethod::FirstMessage {
                    message, pointer, ..
                } => format!("the first message, `{message}` (at `{pointer}`)"),
            })
            .collect();
        let need = if auth.required {
            "required"
        } else {
            "optional"
        };
        parts.push(format!(
            "Authentication is {need}: {} in {}.\n\n{}",
            lowercase_first(credential(Some(auth.credential))),
            ways.join(", or "),
            quote(&auth.rule)
        ));
    }
    parts.join("\n\n")
}

/// A note for servers when the credential may also come in the first message, which no
/// AsyncAPI security scheme can express.
fn first_message_note(auth: &Auth) -> Option<String> {
    auth.methods.iter().find_map(|method| match method {
        AuthMethod::FirstMessage {
            message, pointer, ..
        } => Some(format!(
            "Instead of a handshake credential, the client may send it in its first message, \
             `{message}`, at `{pointer}`."
        )),
        _ => None,
    })
}

/// "A JSON Web Token" → "a JSON Web Token".
fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_lowercase().chain(chars).collect())
        .unwrap_or_default()
}

fn credential(credential: Option<Credential>) -> &'static str {
    match credential {
        Some(Credential::Jwt) => "A JSON Web Token",
        _ => "The auth token",
    }
}

/// A rule as a Markdown quote with its level and reading.
pub(super) fn quote(rule: &Rule) -> String {
    let mut text = format!("> {}\n\n({}", rule.quote.replace('\n', "\n> "), level(rule));
    if let Some(document) = &rule.document {
        text.push_str(&format!("; quoted from {document}"));
    }
    if let Some(reading) = &rule.reading {
        text.push_str(&format!("; our reading: {reading}"));
    }
    text.push(')');
    text
}

fn level(rule: &Rule) -> &'static str {
    match rule.level {
        agentwire_spec::protocol::Level::Required => "required",
        agentwire_spec::protocol::Level::Open => "open",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_give_scheme_host_and_prefix() {
        let url = Url::parse("wss://example.com:8443/api/ws?token=x", "/ws").unwrap();
        assert_eq!(
            url,
            Url {
                scheme: "wss",
                host: "example.com:8443",
                pathname: "/api"
            }
        );
        let url = Url::parse("ws://h/ws/ai/{client_id}", "/ws/ai/{client_id}").unwrap();
        assert_eq!(url.pathname, "");
        assert!(Url::parse("not a url", "/").is_none());
    }
}
