//! Transcripts: what `conformance proxy --record FILE` saw, in JSON Lines, and how a transcript
//! is judged again (`conformance validate FILE`).
//!
//! The first line is a [`Header`] (protocol, upstream, the budgets the proxy judged with); every
//! other line is an [`Entry`]: a connection's number, the entry's sequence number within it, the
//! time in milliseconds since the proxy started (and as a UTC timestamp), who sent it, and what:
//! a connection opened, a handshake the upstream refused, a text frame (verbatim), a binary,
//! ping or pong frame (base64), a close (code and reason), a connection that ended without one.
//! Frames the proxy dropped (`--enforce`) say why; what the proxy said itself (a documented error
//! frame, a close on shutdown) is `"direction": "proxy"`, with `"to"`.
//!
//! [`apply`] is the one mapping from entries to a [`Watch`]'s events: the proxy applies each entry
//! as it records it, and a replay applies the recorded ones, so both give the same findings.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use agentwire_spec::protocol::Direction;
use anyhow::{Context as _, Result, anyhow, bail};
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::report::Tool;
use crate::schemas::Schemas;
use crate::watch::{self, Context, Finding, Inspected, Tally, Watch};

/// The value of the header's `transcript` member: how a file says it is a transcript.
pub const MAGIC: &str = "agentwire-conformance proxy";
/// The version of the format.
pub const VERSION: u32 = 1;
/// Longest line read.
const MAX_LINE_BYTES: usize = 64 << 20;
/// Largest frame a line is sure to hold, whatever the frame: JSON writes a control character in
/// six bytes (base64 takes four for three), and the rest of an entry is far under 4 KiB.
pub const MAX_RECORDED_FRAME_BYTES: usize = (MAX_LINE_BYTES - 4096) / 6;
/// Most bytes read of one file.
const MAX_FILE_BYTES: u64 = 16 << 30;

/// The first line of a transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Always [`MAGIC`].
    pub transcript: String,
    /// The format's version, [`VERSION`].
    pub version: u32,
    /// The protocol the proxy judged the traffic against.
    pub protocol: String,
    /// The upstream, credentials redacted.
    pub upstream: String,
    /// When the proxy started (RFC 3339, UTC): `ms` counts from here.
    pub started: String,
    /// The budgets the proxy judged answers with.
    pub budgets: Budgets,
    /// The tool that wrote it.
    pub tool: Tool,
}

/// How long answers may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budgets {
    /// Answers the server's own logic produces, in milliseconds (`--timeout-ms`).
    pub control_ms: u64,
    /// Answers a model generates, in milliseconds (`--reply-timeout-ms`).
    pub generated_ms: u64,
}

/// Who sent an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    /// The client.
    Client,
    /// The server (the upstream).
    Server,
    /// The proxy itself.
    Proxy,
}

impl From<Direction> for Party {
    fn from(direction: Direction) -> Self {
        match direction {
            Direction::Client => Party::Client,
            Direction::Server => Party::Server,
        }
    }
}

/// One line of a transcript after the header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry<'a> {
    /// The connection, numbered from 1 in the order clients connected.
    pub connection: u64,
    /// The entry's place within its connection, from 0.
    pub seq: u64,
    /// Milliseconds since the proxy started (microseconds as decimals).
    pub ms: f64,
    /// The same moment in UTC (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// Who sent it.
    pub direction: Party,
    /// Whom the proxy said it to, for the proxy's own entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Direction>,
    /// What happened.
    #[serde(flatten, borrow)]
    pub event: Event<'a>,
    /// Why the proxy did not forward the frame (`--enforce`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropped: Option<String>,
}

/// What an entry records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event<'a> {
    /// A client connected, asking for this path (credentials in the query redacted).
    Open {
        /// The client's address.
        peer: String,
        /// The path and query the client asked for.
        path: String,
        /// Where the proxy connected for it, credentials redacted.
        upstream: String,
    },
    /// The upstream refused the handshake (its HTTP status, passed on to the client), or could
    /// not be reached (the status the proxy answered with: 502, or 504 after the timeout).
    Refused {
        /// The HTTP status.
        status: u16,
        /// Why.
        reason: String,
    },
    /// A text frame, verbatim.
    Text(#[serde(borrow)] Cow<'a, str>),
    /// A binary frame, base64.
    Binary(String),
    /// A ping frame's payload, base64.
    Ping(String),
    /// A pong frame's payload, base64.
    Pong(String),
    /// A close frame.
    Close {
        /// Its code; `null` for a close frame without one.
        code: Option<u16>,
        /// Its reason.
        reason: String,
    },
    /// The connection ended without a close frame: how.
    Ended(String),
}

/// Feeds one entry to a connection's watch; `inspected` is the frame already read (the proxy
/// reads each frame once), else it is read here.
pub fn apply(
    watch: &mut Watch,
    ctx: &Context,
    entry: &Entry<'_>,
    inspected: Option<&Inspected>,
) -> Vec<Finding> {
    let at = watch::from_millis(entry.ms);
    let by = match entry.direction {
        Party::Client => Direction::Client,
        Party::Server => Direction::Server,
        Party::Proxy => {
            // The proxy ending a connection (on shutdown) stops the watch; its error frames are
            // not the server's.
            return match entry.event {
                Event::Close { .. } | Event::Ended(_) => watch.stop(at),
                _ => Vec::new(),
            };
        }
    };
    match &entry.event {
        Event::Open { path, .. } => {
            let path = path.split('?').next().unwrap_or_default();
            watch.open(at, path)
        }
        Event::Refused { .. } => watch.stop(at),
        Event::Text(text) => {
            let forwarded = entry.dropped.is_none();
            match inspected {
                Some(frame) => watch.frame(at, by, frame, forwarded),
                None => {
                    let frame = Inspected::text(&ctx.validators, by, text);
                    watch.frame(at, by, &frame, forwarded)
                }
            }
        }
        Event::Binary(base64) => {
            let forwarded = entry.dropped.is_none();
            match inspected {
                Some(frame) => watch.frame(at, by, frame, forwarded),
                None => {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(base64)
                        .map_or(base64.len() / 4 * 3, |b| b.len());
                    watch.frame(at, by, &Inspected::Binary(bytes), forwarded)
                }
            }
        }
        Event::Ping(_) | Event::Pong(_) => watch.tick(at),
        Event::Close { code, reason } => watch.close(at, by, *code, reason),
        Event::Ended(how) => watch.ended(at, by, how),
    }
}

/// What judging a transcript again found.
#[derive(Debug)]
pub struct Judged {
    /// Its header.
    pub header: Header,
    /// Every finding, in the order found.
    pub findings: Vec<Finding>,
    /// The counts.
    pub tally: Tally,
    /// Lines that were no entry (not JSON, not an entry, too long), with their numbers.
    pub bad_lines: Vec<(u64, String)>,
}

/// Whether a file is a transcript: its first line is a header.
pub fn is_transcript(path: &Path) -> bool {
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    let mut line = Vec::new();
    let read = BufReader::new(file)
        .take(1 << 20)
        .read_until(b'\n', &mut line);
    read.is_ok()
        && serde_json::from_slice::<serde_json::Value>(&line)
            .ok()
            .and_then(|v| {
                v.get("transcript")
                    .and_then(|m| m.as_str())
                    .map(|m| m == MAGIC)
            })
            .unwrap_or(false)
}

/// Judges a transcript again against `schemas` (the protocol its header names, unless
/// `protocol` says otherwise), with the budgets the proxy judged with.
pub fn judge(path: &Path, schemas: &Schemas, protocol: Option<&str>) -> Result<Judged> {
    let file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut reader = BufReader::new(file.take(MAX_FILE_BYTES));
    let mut line = Vec::new();
    let mut number = 0u64;
    let header: Header = loop {
        line.clear();
        if read_line(&mut reader, &mut line)? == 0 {
            bail!("{}: empty, no transcript header", path.display());
        }
        number += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        break serde_json::from_slice(&line)
            .with_context(|| format!("{}:{number}: not a transcript header", path.display()))?;
    };
    if header.transcript != MAGIC || header.version != VERSION {
        bail!(
            "{}: a transcript of version {} (this tool reads version {VERSION})",
            path.display(),
            header.version
        );
    }
    let id = protocol.unwrap_or(&header.protocol);
    let description = schemas
        .protocol(id)
        .ok_or_else(|| anyhow!("{}: unknown protocol {id:?}", path.display()))?
        .description
        .clone();
    let ctx = Arc::new(Context {
        description,
        validators: schemas.validators(id).expect("a known protocol"),
        control: Duration::from_millis(header.budgets.control_ms),
        generated: Duration::from_millis(header.budgets.generated_ms),
    });
    let mut watches: HashMap<u64, Watch> = HashMap::new();
    let mut judged = Judged {
        header,
        findings: Vec::new(),
        tally: Tally::default(),
        bad_lines: Vec::new(),
    };
    let mut last = Duration::ZERO;
    loop {
        line.clear();
        let read = read_line(&mut reader, &mut line)?;
        if read == 0 {
            break;
        }
        number += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if line.len() > MAX_LINE_BYTES {
            judged
                .bad_lines
                .push((number, format!("a line over {MAX_LINE_BYTES} bytes")));
            continue;
        }
        let entry: Entry<'_> = match serde_json::from_slice(&line) {
            Ok(entry) => entry,
            Err(error) => {
                judged
                    .bad_lines
                    .push((number, format!("not a transcript entry: {error}")));
                continue;
            }
        };
        last = last.max(watch::from_millis(entry.ms));
        let watch = watches.entry(entry.connection).or_insert_with(|| {
            judged.tally.connections += 1;
            Watch::new(Arc::clone(&ctx), entry.connection)
        });
        count(&mut judged.tally, &entry);
        let findings = apply(watch, &ctx, &entry, None);
        judged.tally.add(&findings);
        judged.findings.extend(findings);
    }
    // A transcript cut short (the proxy killed): what was due is judged, the rest is not.
    let mut open: Vec<_> = watches.into_values().collect();
    open.sort_by_key(Watch::connection);
    for mut watch in open {
        let findings = watch.stop(last);
        judged.tally.add(&findings);
        judged.findings.extend(findings);
    }
    Ok(judged)
}

/// Reads one line of at most [`MAX_LINE_BYTES`] (the rest of a longer one is skipped, and the
/// line returned is over the bound); the bytes read.
fn read_line(reader: &mut impl BufRead, line: &mut Vec<u8>) -> Result<usize> {
    let read = reader
        .take(MAX_LINE_BYTES as u64 + 1)
        .read_until(b'\n', line)
        .context("reading the transcript")?;
    if line.len() > MAX_LINE_BYTES && !line.ends_with(b"\n") {
        let mut skipped = Vec::new();
        loop {
            skipped.clear();
            let more = reader
                .take(64 << 10)
                .read_until(b'\n', &mut skipped)
                .context("reading the transcript")?;
            if more == 0 || skipped.ends_with(b"\n") {
                break;
            }
        }
    }
    Ok(read)
}

/// Counts a data frame entry.
pub fn count(tally: &mut Tally, entry: &Entry<'_>) {
    let by = match entry.direction {
        Party::Client => Direction::Client,
        Party::Server => Direction::Server,
        Party::Proxy => return,
    };
    if matches!(entry.event, Event::Text(_) | Event::Binary(_)) {
        tally.frame(by);
    }
}

/// `conformance validate` on transcripts: every file judged again; the text to print and
/// whether nothing failed (no failing finding, no line that is no entry).
pub fn validate(
    schemas: &Schemas,
    protocol: Option<&str>,
    files: &[std::path::PathBuf],
    json: bool,
) -> Result<(String, bool)> {
    let mut passed = true;
    let mut total = Tally::default();
    let mut lines = Vec::new();
    let mut documents = Vec::new();
    for file in files {
        let judged = judge(file, schemas, protocol)?;
        passed &= !judged.tally.failed() && judged.bad_lines.is_empty();
        total.merge(&judged.tally);
        if json {
            documents.push(serde_json::json!({
                "file": file.display().to_string(),
                "protocol": protocol.unwrap_or(&judged.header.protocol),
                "upstream": judged.header.upstream,
                "started": judged.header.started,
                "summary": judged.tally,
                "findings": judged.findings,
                "invalid_lines": judged.bad_lines.iter().map(|(line, why)| {
                    serde_json::json!({"line": line, "error": why})
                }).collect::<Vec<_>>(),
            }));
            continue;
        }
        lines.push(format!(
            "{}: a transcript of {} (upstream {}, started {})",
            file.display(),
            protocol.unwrap_or(&judged.header.protocol),
            judged.header.upstream,
            judged.header.started
        ));
        for (line, why) in &judged.bad_lines {
            lines.push(format!("{}:{line}: {why}", file.display()));
        }
        lines.extend(
            judged
                .findings
                .iter()
                .filter(|f| f.severity > crate::report::Severity::Info)
                .map(Finding::line),
        );
        lines.push(format!("summary: {}", judged.tally.line()));
    }
    let text = if json {
        serde_json::to_string_pretty(&serde_json::json!({
            "summary": total,
            "transcripts": documents,
        }))? + "\n"
    } else {
        lines.join("\n") + "\n"
    };
    Ok((text, passed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(protocol: &str) -> String {
        serde_json::to_string(&Header {
            transcript: MAGIC.into(),
            version: VERSION,
            protocol: protocol.into(),
            upstream: "ws://127.0.0.1:1".into(),
            started: "2026-01-01T00:00:00.000000Z".into(),
            budgets: Budgets {
                control_ms: 2000,
                generated_ms: 30_000,
            },
            tool: Tool::default(),
        })
        .unwrap()
    }

    #[test]
    fn a_transcript_is_judged_again_and_its_bad_lines_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let lines = [
            header("datagram"),
            r#"{"connection":1,"seq":0,"ms":0.5,"direction":"client","open":{"peer":"p","path":"/","upstream":"u"}}"#.into(),
            r#"{"connection":1,"seq":1,"ms":1.0,"direction":"client","text":"{\"msg\":\"ping\",\"cid\":\"a\",\"content\":null}"}"#.into(),
            "this is no entry".into(),
            r#"{"connection":1,"seq":2,"ms":2.0,"direction":"server","text":"{\"msg\":\"ping\",\"cid\":\"b\",\"content\":null}"}"#.into(),
            r#"{"connection":1,"seq":3,"ms":3.0,"direction":"client","close":{"code":1000,"reason":""}}"#.into(),
        ];
        std::fs::write(&path, lines.join("\n")).unwrap();
        assert!(is_transcript(&path));
        let schemas = Schemas::embedded().unwrap();
        let judged = judge(&path, &schemas, None).unwrap();
        assert_eq!(judged.bad_lines.len(), 1);
        assert_eq!(judged.bad_lines[0].0, 4);
        assert_eq!(judged.tally.connections, 1);
        assert_eq!(
            (judged.tally.client_frames, judged.tally.server_frames),
            (1, 1)
        );
        assert_eq!(judged.tally.server.failed, 1, "{:#?}", judged.findings);
        let (text, passed) = validate(&schemas, None, std::slice::from_ref(&path), false).unwrap();
        assert!(!passed);
        assert!(text.contains("whose /cid is \"b\""), "{text}");
        // A file of frames is no transcript.
        let frames = dir.path().join("frames.jsonl");
        std::fs::write(&frames, r#"{"msg":"ping","cid":"a","content":null}"#).unwrap();
        assert!(!is_transcript(&frames));
    }

    #[test]
    fn entries_read_back_as_written() {
        let entry = Entry {
            connection: 7,
            seq: 3,
            ms: 12.345,
            time: None,
            direction: Party::Proxy,
            to: Some(Direction::Client),
            event: Event::Close {
                code: Some(1001),
                reason: "bye".into(),
            },
            dropped: None,
        };
        let line = serde_json::to_string(&entry).unwrap();
        assert_eq!(
            line,
            r#"{"connection":7,"seq":3,"ms":12.345,"direction":"proxy","to":"client","close":{"code":1001,"reason":"bye"}}"#
        );
        assert_eq!(serde_json::from_str::<Entry<'_>>(&line).unwrap(), entry);
        assert_eq!(watch::from_millis(12.345), Duration::from_micros(12_345));
    }
}
