//! The client's errors: one type, [`ClientError`], that keeps what a caller needs to react (the
//! close code and reason, the HTTP status of a refused handshake, the server's error code).

use std::fmt;
use std::time::Duration;

use serde_json::Value;

use crate::tls::CertificateCause;

/// Why a request, a connection or a message failed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ClientError {
    /// The server refused the WebSocket handshake with an HTTP status (e.g. 404 at a wrong path,
    /// 401 or 403 for a credential it wants in a header, 429 or 503 when it is full).
    Refused {
        /// The URL, without its query (which may hold a token).
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The connection could not be opened: nothing listening, a name that does not resolve, a
    /// handshake that is no WebSocket handshake, or one that took too long.
    Connect {
        /// The URL, without its query.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The server's TLS certificate was not accepted (`wss://`): signed by no trusted authority
    /// (self-signed, or a private CA that [`ConnectOptions::ca_cert`] does not name), issued for
    /// another host, expired. Nothing was sent.
    ///
    /// [`ConnectOptions::ca_cert`]: super::ConnectOptions::ca_cert
    Certificate {
        /// The URL, without its query.
        url: String,
        /// Why it was not accepted.
        cause: CertificateCause,
        /// rustls's account of it, e.g. `certificate not valid for name "example.com"; certificate
        /// is only valid for DnsName("localhost")`.
        detail: String,
    },
    /// The connection closed (the server refused the credential, shut down, or dropped it) while
    /// a request waited, or before it was sent.
    Closed {
        /// The close code; 1006 when the connection ended without a close frame, 1005 for a close
        /// frame without a code.
        code: u16,
        /// The close reason.
        reason: String,
    },
    /// No reply (or no next frame of a stream) in time.
    Timeout {
        /// What was waited for.
        what: String,
        /// How long.
        after: Duration,
    },
    /// The server answered a request with the protocol's error message (e.g. General Bots'
    /// `SESSION_NOT_FOUND`). The frame also reaches the client's event streams.
    Server {
        /// The request it answers.
        request: &'static str,
        /// The error message's name, e.g. `error_message`.
        message: &'static str,
        /// The error code, when the frame carries one.
        code: Option<String>,
        /// The whole frame (it passed the checks).
        frame: Box<Value>,
    },
    /// A message needs a session and the client has none.
    Session(String),
    /// A message the caller built breaks its schema: it was not sent.
    Invalid {
        /// The message.
        message: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A frame the server sent in answer fails the protocol's checks.
    Frame(FrameError),
    /// The client is not connected, or is already.
    Usage(String),
}

impl ClientError {
    /// The WebSocket close code, when the connection closed.
    pub fn close_code(&self) -> Option<u16> {
        match self {
            ClientError::Closed { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The close reason, when the connection closed.
    pub fn close_reason(&self) -> Option<&str> {
        match self {
            ClientError::Closed { reason, .. } => Some(reason),
            _ => None,
        }
    }

    /// The HTTP status of a refused handshake.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            ClientError::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Why the server's TLS certificate was not accepted, when it was not.
    pub fn certificate_cause(&self) -> Option<CertificateCause> {
        match self {
            ClientError::Certificate { cause, .. } => Some(*cause),
            _ => None,
        }
    }

    /// The protocol's error code, when the server answered with its error message.
    pub fn server_code(&self) -> Option<&str> {
        match self {
            ClientError::Server { code, .. } => code.as_deref(),
            _ => None,
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Refused { url, status } => {
                write!(
                    f,
                    "HTTP {status} at {url}: the server refused the WebSocket handshake"
                )
            }
            ClientError::Connect { url, reason } => write!(f, "connecting to {url}: {reason}"),
            ClientError::Certificate { url, cause, detail } => {
                write!(
                    f,
                    "connecting to {url}: the server's TLS certificate was not accepted: {cause}"
                )?;
                if *cause == CertificateCause::UnknownIssuer {
                    f.write_str("; trust its CA with ConnectOptions::ca_cert")?;
                }
                write!(f, " ({detail})")
            }
            ClientError::Closed { code, reason } if reason.is_empty() => {
                write!(f, "the connection closed (code {code})")
            }
            ClientError::Closed { code, reason } => {
                write!(f, "the connection closed (code {code}: {reason})")
            }
            ClientError::Timeout { what, after } => {
                write!(f, "{what} within {} ms", after.as_millis())
            }
            ClientError::Server {
                request,
                message,
                code,
                frame,
            } => {
                let shown = shorten(&frame.to_string());
                match code {
                    Some(code) => write!(
                        f,
                        "{request}: the server answered with {message} {code}: {shown}"
                    ),
                    None => write!(f, "{request}: the server answered with {message}: {shown}"),
                }
            }
            ClientError::Session(text) | ClientError::Usage(text) => f.write_str(text),
            ClientError::Invalid { message, reason } => {
                write!(f, "{message} was not sent: {reason}")
            }
            ClientError::Frame(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for ClientError {}

/// A frame the server sent that fails the protocol's checks: not JSON, no message of the
/// protocol, or a message that breaks its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    /// The message the frame's discriminators name, when they name one.
    pub message: Option<&'static str>,
    /// What is wrong.
    pub reason: String,
    /// The frame, cut at 300 characters.
    pub frame: String,
}

impl FrameError {
    pub(crate) fn new(message: Option<&'static str>, reason: String, frame: &str) -> Self {
        Self {
            message,
            reason,
            frame: shorten(frame),
        }
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the server sent an invalid frame: {}: {}",
            self.reason, self.frame
        )
    }
}

impl std::error::Error for FrameError {}

/// A frame's text for a message: its first 300 characters.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}
