//! Both handshakes of a proxied connection: the client's upgrade request is read (bounded, with a
//! deadline), the upstream is dialled with its path, query and headers, and only then is the
//! client answered: with the upstream's own refusal (status and body) when it refuses, so a
//! client sees what it would have seen without the proxy; with 502 or 504 when the upstream
//! cannot be reached (or its TLS certificate is not trusted); with 101 when it accepts.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue, Uri};
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use crate::target::REDACTED;

/// Largest request head read from a client.
const MAX_HEAD_BYTES: usize = 16 << 10;
/// Most headers read from a client.
const MAX_HEADERS: usize = 64;
/// Most bytes of an upstream refusal's body passed on to the client.
const MAX_REFUSAL_BODY: usize = 64 << 10;

/// Headers of the client's request that belong to one hop (RFC 9110, 7.6.1) or to its WebSocket
/// handshake: the proxy makes its own for the upstream. Extensions (compression) are not
/// offered: the proxy reads every frame.
const NOT_FORWARDED: &[&str] = &[
    "host",
    "connection",
    "upgrade",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "content-length",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-extensions",
    "sec-websocket-accept",
];

/// Where the proxy connects: `ws://HOST[:PORT][/PREFIX]` or `wss://...`; each client's path and
/// query follow. Clients always reach the proxy itself over plain `ws://`.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// `ws://host:port` or `wss://host:port`.
    origin: String,
    /// A path put before each client's path, without a trailing slash (often empty).
    prefix: String,
    /// For `wss://`: how the server's certificate is checked (Mozilla's roots unless
    /// [`trusting`](Self::trusting) says otherwise).
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Upstream {
    /// Reads `--upstream`. User info is a usage error (it would show in the record); so are a
    /// query or a fragment (each client's own is forwarded).
    pub fn parse(url: &str) -> Result<Self, String> {
        let uri: Uri = url.parse().map_err(|e| format!("{url}: not a URL ({e})"))?;
        let (scheme, tls) = match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
            Some("ws") => ("ws", None),
            Some("wss") => ("wss", Some(crate::tls::default_config())),
            _ => {
                return Err(format!(
                    "{url}: not a WebSocket URL (it must start with ws:// or wss://)"
                ));
            }
        };
        let authority = uri.authority().ok_or_else(|| format!("{url}: no host"))?;
        if authority.as_str().contains('@') {
            return Err(format!(
                "{url}: user info in the URL is not supported (it would show in the record); \
                 pass credentials with --header"
            ));
        }
        if authority.host().is_empty() {
            return Err(format!("{url}: no host"));
        }
        if authority.port_u16() == Some(0) || (authority.as_str().ends_with(':')) {
            return Err(format!("{url}: the port is not a number from 1 to 65535"));
        }
        if uri.query().is_some() || url.contains('#') {
            return Err(format!(
                "{url}: --upstream takes no query or fragment: each client's own query is \
                 forwarded"
            ));
        }
        Ok(Self {
            origin: format!("{scheme}://{authority}"),
            prefix: uri.path().trim_end_matches('/').to_string(),
            tls,
        })
    }

    /// Whether the upstream is `wss://`.
    pub fn is_secure(&self) -> bool {
        self.tls.is_some()
    }

    /// The same `wss://` upstream, its certificate checked with `config` (`--ca-cert`,
    /// `--insecure`). A `ws://` upstream stays as it is.
    pub fn trusting(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        if self.tls.is_some() {
            self.tls = Some(config);
        }
        self
    }

    /// The upstream URL for a client's path and query.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{}{path_and_query}", self.origin, self.prefix)
    }

    /// `ws[s]://host:port[/prefix]`, as printed and recorded.
    pub fn shown(&self) -> String {
        format!("{}{}", self.origin, self.prefix)
    }
}

/// A client's upgrade request.
#[derive(Debug, Clone)]
pub struct ClientRequest {
    /// The path and query, as sent.
    pub target: String,
    /// The headers to forward, in order.
    pub headers: Vec<(String, Vec<u8>)>,
    /// `Sec-WebSocket-Key`.
    key: Vec<u8>,
    /// Bytes the client sent after its request head (frames it did not wait to send).
    leftover: Vec<u8>,
}

impl ClientRequest {
    /// The path and query with the values of the query parameters named `secrets` redacted.
    pub fn shown_target(&self, secrets: &[&str]) -> String {
        redact_query(&self.target, secrets)
    }
}

/// A request the proxy answers itself, with an HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The status.
    pub status: u16,
    /// Why, for the body and the report.
    pub reason: String,
    /// An extra header (`Upgrade: websocket` with 426).
    header: Option<(&'static str, &'static str)>,
}

impl Rejection {
    /// A rejection with this status and reason.
    pub fn new(status: u16, reason: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.into(),
            header: None,
        }
    }
}

/// Reads a client's request head within `timeout`; a request that is no WebSocket upgrade is
/// rejected with the status that says why.
pub async fn read_request(
    stream: &mut TcpStream,
    timeout: Duration,
) -> Result<ClientRequest, Rejection> {
    match tokio::time::timeout(timeout, read_head(stream)).await {
        Ok(result) => result,
        Err(_) => Err(Rejection::new(
            408,
            format!("no complete request within {} ms", timeout.as_millis()),
        )),
    }
}

async fn read_head(stream: &mut TcpStream) -> Result<ClientRequest, Rejection> {
    let mut buffer = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let read = stream
            .read(&mut chunk)
            .await
            .map_err(|e| Rejection::new(400, format!("reading the request: {e}")))?;
        if read == 0 {
            return Err(Rejection::new(400, "the connection ended before a request"));
        }
        buffer.extend_from_slice(&chunk[..read]);
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&buffer) {
            Ok(httparse::Status::Complete(length)) => {
                let parsed = upgrade_request(&request)?;
                return Ok(ClientRequest {
                    leftover: buffer[length..].to_vec(),
                    ..parsed
                });
            }
            Ok(httparse::Status::Partial) if buffer.len() < MAX_HEAD_BYTES => {}
            Ok(httparse::Status::Partial) => {
                return Err(Rejection::new(
                    431,
                    format!("a request head over {MAX_HEAD_BYTES} bytes"),
                ));
            }
            Err(httparse::Error::TooManyHeaders) => {
                return Err(Rejection::new(
                    431,
                    format!("more than {MAX_HEADERS} headers"),
                ));
            }
            Err(e) => return Err(Rejection::new(400, format!("not an HTTP request: {e}"))),
        }
    }
}

fn upgrade_request(request: &httparse::Request<'_, '_>) -> Result<ClientRequest, Rejection> {
    if request.method != Some("GET") {
        return Err(Rejection::new(
            405,
            "a WebSocket handshake is a GET request",
        ));
    }
    let header = |name: &str| {
        request
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).to_string())
    };
    let upgrade = header("upgrade").unwrap_or_default();
    if !upgrade
        .split(',')
        .any(|token| token.trim().eq_ignore_ascii_case("websocket"))
    {
        return Err(Rejection {
            header: Some(("Upgrade", "websocket")),
            ..Rejection::new(
                426,
                "this is a WebSocket proxy (conformance proxy): connect with a WebSocket client",
            )
        });
    }
    if header("sec-websocket-version").as_deref().map(str::trim) != Some("13") {
        return Err(Rejection {
            header: Some(("Sec-WebSocket-Version", "13")),
            ..Rejection::new(426, "only WebSocket version 13 is spoken")
        });
    }
    let key = header("sec-websocket-key")
        .filter(|k| !k.trim().is_empty())
        .ok_or_else(|| Rejection::new(400, "no Sec-WebSocket-Key"))?;
    let target = request.path.unwrap_or("/").to_string();
    if !target.starts_with('/') {
        return Err(Rejection::new(
            400,
            "the request target is not a path (origin form)",
        ));
    }
    let headers = request
        .headers
        .iter()
        .filter(|h| {
            !NOT_FORWARDED
                .iter()
                .any(|skip| h.name.eq_ignore_ascii_case(skip))
        })
        .map(|h| (h.name.to_string(), h.value.to_vec()))
        .collect();
    Ok(ClientRequest {
        target,
        headers,
        key: key.trim().as_bytes().to_vec(),
        leftover: Vec::new(),
    })
}

/// Why the upstream did not accept.
#[derive(Debug)]
pub enum Refused {
    /// It answered the handshake with this status: passed on to the client.
    Status {
        /// The status.
        status: u16,
        /// Its body, clipped.
        body: Vec<u8>,
        /// Its content type and `WWW-Authenticate`, passed on.
        headers: Vec<(String, Vec<u8>)>,
    },
    /// It could not be reached, or the handshake failed otherwise: 502.
    Unreachable(String),
    /// No handshake within the connect timeout: 504.
    Timeout,
}

impl Refused {
    /// The status the client gets.
    pub fn status(&self) -> u16 {
        match self {
            Refused::Status { status, .. } => *status,
            Refused::Unreachable(_) => 502,
            Refused::Timeout => 504,
        }
    }

    /// Why, in words.
    pub fn reason(&self, timeout: Duration) -> String {
        match self {
            Refused::Status { status, .. } => {
                format!("the upstream refused the handshake with HTTP {status}")
            }
            Refused::Unreachable(why) => format!("the upstream could not be reached: {why}"),
            Refused::Timeout => format!(
                "the upstream did not complete the handshake within {} ms",
                timeout.as_millis()
            ),
        }
    }
}

/// One side of a proxied connection: the client's is always plain, the upstream's may be TLS.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The upstream's connection and the subprotocol it chose.
pub type Accepted = (Socket, Option<Vec<u8>>);

/// Dials the upstream for a client's request, with `--header`s added, within `timeout`.
pub async fn dial(
    upstream: &Upstream,
    request: &ClientRequest,
    extra: &[(String, String)],
    config: WebSocketConfig,
    timeout: Duration,
) -> Result<Accepted, Refused> {
    match tokio::time::timeout(timeout, dial_now(upstream, request, extra, config)).await {
        Ok(result) => result,
        Err(_) => Err(Refused::Timeout),
    }
}

async fn dial_now(
    upstream: &Upstream,
    request: &ClientRequest,
    extra: &[(String, String)],
    config: WebSocketConfig,
) -> Result<Accepted, Refused> {
    let url = upstream.url(&request.target);
    let mut outgoing = url
        .as_str()
        .into_client_request()
        .map_err(|e| Refused::Unreachable(format!("the client's path makes no URL: {e}")))?;
    let headers = request
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_slice()))
        .chain(extra.iter().map(|(n, v)| (n.as_str(), v.as_bytes())));
    for (name, value) in headers {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value),
        ) else {
            continue;
        };
        outgoing.headers_mut().append(name, value);
    }
    let host = outgoing
        .uri()
        .authority()
        .map(|a| {
            let port = a
                .port_u16()
                .unwrap_or(if upstream.is_secure() { 443 } else { 80 });
            format!(
                "{}:{port}",
                a.host().trim_start_matches('[').trim_end_matches(']')
            )
        })
        .ok_or_else(|| Refused::Unreachable("no host".into()))?;
    let tcp = TcpStream::connect(&host)
        .await
        .map_err(|e| Refused::Unreachable(format!("{host}: {e}")))?;
    let _ = tcp.set_nodelay(true);
    // The server name (SNI, and the name the certificate must carry) is the URL's host.
    let connector = match &upstream.tls {
        Some(tls) => Connector::Rustls(Arc::clone(tls)),
        None => Connector::Plain,
    };
    let handshake = tokio_tungstenite::client_async_tls_with_config(
        outgoing,
        tcp,
        Some(config),
        Some(connector),
    );
    match handshake.await {
        Ok((ws, response)) => {
            let protocol = response
                .headers()
                .get("sec-websocket-protocol")
                .map(|v| v.as_bytes().to_vec());
            Ok((ws, protocol))
        }
        Err(WsError::Http(response)) => {
            let status = response.status().as_u16();
            let mut body = response.body().clone().unwrap_or_default();
            body.truncate(MAX_REFUSAL_BODY);
            let headers = ["content-type", "www-authenticate", "retry-after"]
                .iter()
                .filter_map(|name| {
                    let value = response.headers().get(*name)?;
                    Some((name.to_string(), value.as_bytes().to_vec()))
                })
                .collect();
            Err(Refused::Status {
                status,
                body,
                headers,
            })
        }
        Err(WsError::Io(error)) => Err(Refused::Unreachable(
            crate::tls::tls_failure(&error).unwrap_or_else(|| error.to_string()),
        )),
        Err(other) => Err(Refused::Unreachable(other.to_string())),
    }
}

/// Answers the client's handshake with 101 and takes its connection as a WebSocket.
pub async fn accept(
    mut stream: TcpStream,
    request: ClientRequest,
    protocol: Option<&[u8]>,
    config: WebSocketConfig,
) -> std::io::Result<Socket> {
    let mut head = format!(
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Accept: {}\r\n",
        derive_accept_key(&request.key)
    )
    .into_bytes();
    if let Some(protocol) = protocol {
        head.extend_from_slice(b"Sec-WebSocket-Protocol: ");
        head.extend_from_slice(protocol);
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    stream.write_all(&head).await?;
    let _ = stream.set_nodelay(true);
    Ok(WebSocketStream::from_partially_read(
        MaybeTlsStream::Plain(stream),
        request.leftover,
        Role::Server,
        Some(config),
    )
    .await)
}

/// Answers the client with the upstream's refusal.
pub async fn pass_on(stream: &mut TcpStream, refused: &Refused, reason: &str) {
    let (body, headers) = match refused {
        Refused::Status { body, headers, .. } => (body.clone(), headers.clone()),
        _ => (
            format!("{reason}\n").into_bytes(),
            vec![(
                "content-type".to_string(),
                b"text/plain; charset=utf-8".to_vec(),
            )],
        ),
    };
    respond(stream, refused.status(), &headers, &body).await;
}

/// Answers the client with a rejection of the proxy's own.
pub async fn reject(stream: &mut TcpStream, rejection: &Rejection) {
    let mut headers = vec![(
        "content-type".to_string(),
        b"text/plain; charset=utf-8".to_vec(),
    )];
    if let Some((name, value)) = rejection.header {
        headers.push((name.to_string(), value.as_bytes().to_vec()));
    }
    let body = format!("{}\n", rejection.reason).into_bytes();
    respond(stream, rejection.status, &headers, &body).await;
}

async fn respond(stream: &mut TcpStream, status: u16, headers: &[(String, Vec<u8>)], body: &[u8]) {
    let reason = tokio_tungstenite::tungstenite::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let mut head = format!("HTTP/1.1 {status} {reason}\r\n").into_bytes();
    for (name, value) in headers {
        head.extend_from_slice(name.as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value);
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(
        format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    head.extend_from_slice(body);
    // A client that is gone, or does not read, loses its answer: the write has a deadline.
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        let _ = stream.write_all(&head).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

/// A path and query with the values of the named query parameters redacted.
pub fn redact_query(target: &str, secrets: &[&str]) -> String {
    let Some((path, query)) = target.split_once('?') else {
        return target.to_string();
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if secrets.contains(&name) => {
                format!("{name}={REDACTED}")
            }
            _ => pair.to_string(),
        })
        .collect();
    format!("{path}?{}", pairs.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstreams_are_plain_websocket_origins_with_an_optional_prefix() {
        let up = Upstream::parse("ws://127.0.0.1:9000").unwrap();
        assert_eq!(up.url("/ws?token=x"), "ws://127.0.0.1:9000/ws?token=x");
        let up = Upstream::parse("ws://h:1/base/").unwrap();
        assert_eq!(up.url("/ws"), "ws://h:1/base/ws");
        assert_eq!(up.shown(), "ws://h:1/base");
        let plain = Upstream::parse("ws://h:1").unwrap();
        assert!(!plain.is_secure());
        let secure = Upstream::parse("WSS://h/base").unwrap();
        assert!(secure.is_secure());
        assert_eq!(secure.url("/ws"), "wss://h/base/ws");
        let trusted = plain.trusting(crate::tls::default_config());
        assert!(
            !trusted.is_secure(),
            "trusting a CA makes no ws:// upstream secure"
        );
        for bad in [
            "http://h",
            "ws://",
            "ws://u:p@h:1",
            "ws://h:1/?x=1",
            "ws://h:1/#x",
            "ws://h:0",
            "h:1",
        ] {
            assert!(Upstream::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn credentials_in_the_query_are_redacted() {
        assert_eq!(
            redact_query("/ws?token=abc&x=1", &["token"]),
            "/ws?token=<redacted>&x=1"
        );
        assert_eq!(redact_query("/ws", &["token"]), "/ws");
    }
}
