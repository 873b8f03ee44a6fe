//! Closes and refusals: what a close code means, when a server's close breaks an exchange, and
//! what to tell the user when no handshake succeeds at all.

use std::time::Duration;

use agentwire_spec::protocol::ProtocolDescription;

use crate::connection::DialError;
use crate::judge::Finding;
use crate::report::Severity;

/// A connection the server ended (with a close frame, or without one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    /// The close code, when a close frame carried one.
    pub code: Option<u16>,
    /// The close reason, or how the connection ended without a close frame.
    pub reason: String,
    /// How long after the request (or the connection's start) it ended.
    pub after: Duration,
}

impl Closed {
    /// `closed with 1011 (internal error: boom) after 9 ms`.
    pub fn describe(&self) -> String {
        format!(
            "{} after {} ms",
            describe_close(self.code, &self.reason),
            self.after.as_millis()
        )
    }
}

/// The name RFC 6455 (and the IANA registry) gives a close code.
pub fn close_code_name(code: u16) -> Option<&'static str> {
    Some(match code {
        1000 => "normal closure",
        1001 => "going away",
        1002 => "protocol error",
        1003 => "unsupported data",
        1005 => "no status received",
        1006 => "abnormal closure",
        1007 => "invalid payload data",
        1008 => "policy violation",
        1009 => "message too big",
        1010 => "mandatory extension",
        1011 => "internal error",
        1012 => "service restart",
        1013 => "try again later",
        1014 => "bad gateway",
        1015 => "TLS handshake failure",
        _ => return None,
    })
}

/// `closed with 1011 (internal error: boom)`, or `ended: a close frame without a code`.
pub fn describe_close(code: Option<u16>, reason: &str) -> String {
    match code {
        Some(code) => {
            let name = close_code_name(code).unwrap_or("unregistered code");
            if reason.is_empty() {
                format!("closed with {code} ({name})")
            } else {
                format!(
                    "closed with {code} ({name}: {})",
                    crate::util::prefix(reason, 120)
                )
            }
        }
        None => format!("ended: {}", crate::util::prefix(reason, 160)),
    }
}

/// A server that closes the connection in answer to `message`, a valid documented client
/// message, breaks the exchange whatever its level: a failure, unless the document says that
/// message (or the reply `after`, a server message) may end the connection.
pub fn closed_in_answer(
    description: &ProtocolDescription,
    message: &str,
    after: Option<&str>,
    closed: &Closed,
) -> Option<Finding> {
    let ends = |name: &str| {
        description
            .messages
            .get(name)
            .and_then(|m| m.ends_connection.as_ref())
    };
    if ends(message).is_some() || after.and_then(ends).is_some() {
        return None;
    }
    let then = after.map_or(String::new(), |reply| format!(" after its `{reply}`"));
    Some(Finding {
        severity: Severity::Fail,
        message: format!(
            "the server {} in answer to `{message}`, a valid documented message{then}",
            describe_close(closed.code, &closed.reason)
        ),
        expected: Some(format!(
            "the connection stays open after `{message}` (the document does not say it ends it)"
        )),
        received: Some(format!("the connection {}", closed.describe())),
        elapsed: Some(closed.after),
    })
}

/// Why a refused handshake means the endpoint could not be tested, and what to change; `None`
/// for a refusal that is a verdict (no handshake within the deadline: the server hangs; a 404 at
/// the path the document requires).
pub fn untestable(
    error: &DialError,
    path: &str,
    path_required: bool,
    credentialed: bool,
) -> Option<(String, String)> {
    let hint = match error {
        DialError::Timeout => return None,
        DialError::Refused(404) if path_required => return None,
        DialError::Refused(401) if !credentialed => {
            "the server wants a credential: pass --token (or --jwt-secret for JWTs)".to_string()
        }
        DialError::Refused(401) => {
            "the credential was not accepted: check --token (or --jwt-secret)".to_string()
        }
        DialError::Refused(403) => {
            "the server may want an `Origin` header (browsers send one), see --header \
             'Origin: http://HOST'; or a credential, see --token"
                .to_string()
        }
        DialError::Refused(404) => format!(
            "nothing at {path}, which the document does not name as the path: pass the server's \
             path in --url"
        ),
        DialError::Refused(status) => format!(
            "HTTP {status} is no WebSocket upgrade: check the URL, and whether a proxy in between \
             wants headers (see --header)"
        ),
        DialError::Unreachable(_) => {
            "nothing answered at that host and port: is the server running, and is --url right?"
                .to_string()
        }
        DialError::Tls(_) => "for a server whose certificate a private CA signed, pass --ca-cert \
             FILE (PEM); --insecure skips verifying the certificate"
            .to_string(),
        DialError::Failed(_) => "check --url, and --header values the server may need".to_string(),
    };
    Some((error.to_string(), hint))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn closed(code: Option<u16>, reason: &str) -> Closed {
        Closed {
            code,
            reason: reason.into(),
            after: Duration::from_millis(9),
        }
    }

    #[test]
    fn closes_are_named_with_code_reason_and_time() {
        for (code, reason, described) in [
            (
                Some(1011),
                "boom",
                "closed with 1011 (internal error: boom) after 9 ms",
            ),
            (
                Some(1002),
                "",
                "closed with 1002 (protocol error) after 9 ms",
            ),
            (
                Some(4000),
                "app",
                "closed with 4000 (unregistered code: app) after 9 ms",
            ),
            (None, "reset", "ended: reset after 9 ms"),
        ] {
            assert_eq!(closed(code, reason).describe(), described);
        }
    }

    #[test]
    fn a_close_in_answer_fails_unless_the_document_allows_it() {
        let schemas = crate::Schemas::embedded().expect("schemas");
        let socializer = &schemas.protocol("socializer").unwrap().description;
        let rixa = &schemas.protocol("rixa").unwrap().description;
        let crash = closed(Some(1011), "boom");
        for (description, message, after, fails) in [
            (rixa, "get_chat_modes", None, true),
            (rixa, "get_chat_modes", Some("response"), true),
            (socializer, "chat_message", Some("ai_response"), true),
            // "the server will send an error message and may close the connection"
            (socializer, "chat_message", Some("error_message"), false),
        ] {
            let finding = closed_in_answer(description, message, after, &crash);
            assert_eq!(finding.is_some(), fails, "{message} then {after:?}");
            if let Some(finding) = finding {
                assert_eq!(finding.severity, Severity::Fail);
                assert!(
                    finding.message.contains("1011 (internal error"),
                    "{finding:?}"
                );
            }
        }
    }

    #[test]
    fn refusals_that_say_nothing_of_the_server_get_a_hint() {
        let cases = [
            (DialError::Refused(403), true, true, Some("`Origin` header")),
            (DialError::Refused(401), true, false, Some("pass --token")),
            (DialError::Refused(401), true, true, Some("check --token")),
            (
                DialError::Refused(404),
                false,
                true,
                Some("pass the server's path"),
            ),
            (DialError::Refused(404), true, true, None),
            (DialError::Refused(502), true, true, Some("HTTP 502")),
            (
                DialError::Unreachable("connection refused".into()),
                true,
                true,
                Some("is the server running"),
            ),
            (DialError::Timeout, true, true, None),
        ];
        for (error, path_required, credentialed, hint) in cases {
            let found = untestable(&error, "/ws", path_required, credentialed);
            match (found, hint) {
                (Some((_, found)), Some(hint)) => assert!(found.contains(hint), "{found}"),
                (None, None) => {}
                (found, hint) => panic!("{error:?}: {found:?}, wanted {hint:?}"),
            }
        }
    }
}
