//! The handshake: the endpoint's URL (with or without the documented path), the credential in
//! the query or a cookie, and the request.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};

use super::error::ClientError;
use super::options::ConnectOptions;
use super::spec::{AuthMethod, AuthVia, ProtocolSpec};

/// What `encodeURIComponent` leaves as it is: letters, digits and `-._~!'()*`.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*');

/// The way the credential is passed: the one asked for, else the first documented, query
/// parameter preferred, then first message, then cookie (which a caller must choose knowingly).
pub(crate) fn auth_method(
    spec: &ProtocolSpec,
    via: Option<AuthVia>,
) -> Result<Option<&'static AuthMethod>, ClientError> {
    let methods = spec.auth.map_or(&[][..], |auth| auth.methods);
    if let Some(via) = via {
        return match methods.iter().find(|m| m.via() == via) {
            Some(method) => Ok(Some(method)),
            None => {
                let known: Vec<String> = methods.iter().map(|m| m.via().to_string()).collect();
                Err(ClientError::Usage(format!(
                    "the {} protocol does not authenticate by {via} (it does by: {})",
                    spec.id,
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                )))
            }
        };
    }
    Ok([
        AuthVia::QueryParameter,
        AuthVia::FirstMessage,
        AuthVia::Cookie,
    ]
    .into_iter()
    .find_map(|via| methods.iter().find(|m| m.via() == via)))
}

/// The URL to connect to: the given one with the endpoint's path appended when it has no path of
/// its own, and the token as a query parameter when it goes there.
pub(crate) fn endpoint_url(
    spec: &ProtocolSpec,
    options: &ConnectOptions,
    method: Option<&AuthMethod>,
) -> Result<String, ClientError> {
    let given = options.url.trim();
    let Some(scheme_end) = given.find("://") else {
        return Err(ClientError::Usage(format!(
            "{}: not a WebSocket URL (ws://host:port or wss://host:port)",
            redact(given)
        )));
    };
    let after_scheme = scheme_end + 3;
    let rest = &given[after_scheme..];
    let authority_end = rest
        .find(['/', '?', '#'])
        .map_or(given.len(), |i| after_scheme + i);
    let query_start = given[authority_end..]
        .find(['?', '#'])
        .map_or(given.len(), |i| authority_end + i);
    let (origin, path, query) = (
        &given[..authority_end],
        &given[authority_end..query_start],
        &given[query_start..],
    );
    let mut url = if path.is_empty() || path == "/" {
        format!("{origin}{}{query}", fill_path(spec, options)?)
    } else {
        given.to_string()
    };
    if let (Some(AuthMethod::QueryParameter { name }), Some(token)) = (method, &options.token) {
        let separator = if url.contains('?') { '&' } else { '?' };
        url.push(separator);
        url.extend(utf8_percent_encode(name, COMPONENT));
        url.push('=');
        url.extend(utf8_percent_encode(token, COMPONENT));
    }
    Ok(url)
}

/// The endpoint's path with its parameters filled in.
fn fill_path(spec: &ProtocolSpec, options: &ConnectOptions) -> Result<String, ClientError> {
    let mut out = String::new();
    let mut rest = spec.path;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|i| open + i) else {
            break;
        };
        out.push_str(&rest[..open]);
        let name = &rest[open + 1..close];
        let value = options.params.get(name).ok_or_else(|| {
            ClientError::Usage(format!(
                "the {} endpoint ({}) needs the path parameter {name}: give it with `param`, or give the whole URL",
                spec.id, spec.path
            ))
        })?;
        out.extend(utf8_percent_encode(value, COMPONENT));
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The handshake request: the URL, the cookie that carries the credential, other headers.
pub(crate) fn request(
    url: &str,
    options: &ConnectOptions,
    method: Option<&AuthMethod>,
) -> Result<Request, ClientError> {
    let mut request = url
        .into_client_request()
        .map_err(|e| ClientError::Connect {
            url: redact(url),
            reason: format!("not a WebSocket URL: {e}"),
        })?;
    let headers = request.headers_mut();
    for (name, value) in &options.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| ClientError::Usage(format!("{name:?} is not a header name")))?;
        let value = HeaderValue::from_str(value).map_err(|_| {
            ClientError::Usage(format!(
                "the value of the {name} header is not a header value"
            ))
        })?;
        headers.append(name, value);
    }
    if let (Some(AuthMethod::Cookie { name }), Some(token)) = (method, &options.token) {
        let cookie = format!("{}={}", name, utf8_percent_encode(token, COMPONENT));
        let value = HeaderValue::from_str(&cookie)
            .map_err(|_| ClientError::Usage("the token cannot be sent in a cookie".into()))?;
        headers.append("cookie", value);
    }
    Ok(request)
}

/// A URL without its query string, which may hold a token.
pub(crate) fn redact(url: &str) -> String {
    match url.find('?') {
        Some(query) => format!("{}?…", &url[..query]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::spec::Auth;

    const METHODS: &[AuthMethod] = &[
        AuthMethod::Cookie {
            name: "access_token",
        },
        AuthMethod::QueryParameter { name: "token" },
    ];

    fn spec(path: &'static str) -> ProtocolSpec {
        ProtocolSpec {
            id: "test",
            path,
            auth: Some(Auth {
                required: true,
                methods: METHODS,
            }),
            outgoing: &[],
            exchanges: &[],
            sessions: None,
            close_codes: &[],
            errors: None,
        }
    }

    fn url(path: &'static str, options: &ConnectOptions) -> Result<String, ClientError> {
        let spec = spec(path);
        let method = auth_method(&spec, options.auth_via)?;
        endpoint_url(&spec, options, method)
    }

    #[test]
    fn the_path_is_appended_only_to_a_url_without_one() {
        let plain = ConnectOptions::new("ws://127.0.0.1:8080");
        assert_eq!(url("/ws", &plain).unwrap(), "ws://127.0.0.1:8080/ws");
        let slash = ConnectOptions::new("ws://127.0.0.1:8080/");
        assert_eq!(url("/ws", &slash).unwrap(), "ws://127.0.0.1:8080/ws");
        let whole = ConnectOptions::new("ws://127.0.0.1:8080/ws");
        assert_eq!(url("/ws", &whole).unwrap(), "ws://127.0.0.1:8080/ws");
        let prefixed = ConnectOptions::new("wss://example.com/api/ws");
        assert_eq!(url("/ws", &prefixed).unwrap(), "wss://example.com/api/ws");
        let query = ConnectOptions::new("ws://h:1?lang=en");
        assert_eq!(url("/ws", &query).unwrap(), "ws://h:1/ws?lang=en");
    }

    #[test]
    fn path_parameters_and_the_token_are_encoded() {
        let options = ConnectOptions::new("ws://h:1")
            .param("client_id", "a b/c")
            .token("t&=?");
        assert_eq!(
            url("/chat/{client_id}", &options).unwrap(),
            "ws://h:1/chat/a%20b%2Fc?token=t%26%3D%3F"
        );
        let missing = url("/chat/{client_id}", &ConnectOptions::new("ws://h:1")).unwrap_err();
        assert!(missing.to_string().contains("client_id"), "{missing}");
        // A URL with its own path needs no parameters.
        let whole = ConnectOptions::new("ws://h:1/chat/me?x=1").token("t");
        assert_eq!(
            url("/chat/{client_id}", &whole).unwrap(),
            "ws://h:1/chat/me?x=1&token=t"
        );
    }

    #[test]
    fn the_credential_goes_the_way_asked_or_the_preferred_way() {
        let spec = spec("/ws");
        assert_eq!(
            auth_method(&spec, None).unwrap(),
            Some(&AuthMethod::QueryParameter { name: "token" })
        );
        assert_eq!(
            auth_method(&spec, Some(AuthVia::Cookie)).unwrap(),
            Some(&AuthMethod::Cookie {
                name: "access_token"
            })
        );
        let error = auth_method(&spec, Some(AuthVia::FirstMessage)).unwrap_err();
        assert!(error.to_string().contains("query_parameter"), "{error}");
        let options = ConnectOptions::new("ws://h:1")
            .token("a b")
            .auth_via(AuthVia::Cookie);
        let method = auth_method(&spec, options.auth_via).unwrap();
        let target = endpoint_url(&spec, &options, method).unwrap();
        assert_eq!(target, "ws://h:1/ws", "no token in the URL");
        let request = request(&target, &options, method).unwrap();
        assert_eq!(request.headers()["cookie"], "access_token=a%20b");
    }

    #[test]
    fn urls_are_shown_without_their_query() {
        assert_eq!(redact("ws://h/ws?token=secret"), "ws://h/ws?…");
        let error = url("/ws", &ConnectOptions::new("localhost:8080?token=secret")).unwrap_err();
        assert!(!error.to_string().contains("secret"), "{error}");
    }
}
