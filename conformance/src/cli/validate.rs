//! `conformance validate`: recorded frames against a direction's entry point.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use agentwire_spec::protocol::Direction;
use anyhow::Result;
use clap::{Parser, ValueEnum};
use serde_json::{Value, json};

use super::{SimpleFormat, check_protocol, usage, write_out};
use crate::schemas::Schemas;

/// Largest file `validate` reads whole; larger files are read as JSON Lines.
const WHOLE_FILE_BYTES: u64 = 16 << 20;
/// Most bytes `validate` reads of one file (a device or an endless pipe ends here).
const MAX_FILE_BYTES: u64 = 1 << 30;
/// Longest line `validate` accepts.
const MAX_LINE_BYTES: usize = 16 << 20;
/// Most invalid frames `validate` describes in detail.
const MAX_SHOWN_INVALID: usize = 100;

/// Frame directions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DirectionArg {
    /// Frames a client sends (client.schema.json).
    Client,
    /// Frames the server sends (server.schema.json).
    Server,
}

/// Arguments of `validate`.
#[derive(Debug, Parser)]
pub struct ValidateArgs {
    /// The protocol (a transcript names its own).
    #[arg(long)]
    pub protocol: Option<String>,
    /// Who sent the frames (a transcript says, frame by frame).
    #[arg(long, value_enum)]
    pub direction: Option<DirectionArg>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: SimpleFormat,
    /// Files holding one JSON value, or one JSON value per line, or transcripts of
    /// `conformance proxy --record`.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

pub(super) fn validate(schemas: &Schemas, args: &ValidateArgs) -> Result<bool> {
    if let Some(id) = &args.protocol {
        check_protocol(schemas, id)?;
    }
    let transcripts = args
        .files
        .iter()
        .filter(|f| crate::transcript::is_transcript(f))
        .count();
    if transcripts > 0 {
        if transcripts < args.files.len() {
            return Err(usage(
                "transcripts and files of frames are validated in separate runs",
            ));
        }
        let json = args.format == SimpleFormat::Json;
        let (text, passed) =
            crate::transcript::validate(schemas, args.protocol.as_deref(), &args.files, json)
                .map_err(|e| usage(format!("{e:#}")))?;
        write_out(None, &text)?;
        return Ok(passed);
    }
    let (Some(protocol), Some(direction_arg)) = (&args.protocol, args.direction) else {
        return Err(usage(
            "files of frames need --protocol and --direction (a transcript of `conformance \
             proxy --record` names both)",
        ));
    };
    let validators = schemas.validators(protocol).expect("checked");
    let direction = match direction_arg {
        DirectionArg::Client => Direction::Client,
        DirectionArg::Server => Direction::Server,
    };
    let validator = validators.of(direction);
    let (mut valid, mut invalid, mut warnings) = (0u64, 0u64, 0u64);
    let mut lines = Vec::new();
    let mut results = Vec::new();
    for file in &args.files {
        for_each_frame(file, &mut |line, frame| {
            let (ok, message, errors, undecodable, rests_on) = match frame {
                Ok(value) => {
                    let verdict = validator.validate(&value);
                    let errors: Vec<Value> = verdict
                        .errors
                        .iter()
                        .map(|e| {
                            json!({
                                "instance_pointer": e.instance_pointer,
                                "keyword": e.keyword,
                                "schema_location": e.schema_location,
                                "error": e.message,
                            })
                        })
                        .collect();
                    let valid = verdict.is_valid();
                    let rests_on = (!valid).then_some(verdict.quote).flatten();
                    (
                        valid,
                        verdict.message.as_deref().map(str::to_owned),
                        errors,
                        verdict.undecodable,
                        rests_on,
                    )
                }
                Err(why) => {
                    // Text that is no JSON breaks the sentence the framing rests on, if quoted.
                    let rests_on = why
                        .starts_with("not JSON")
                        .then(|| validator.framing().cloned())
                        .flatten();
                    (
                        false,
                        None,
                        vec![json!({"error": why})],
                        Vec::new(),
                        rests_on,
                    )
                }
            };
            if ok {
                valid += 1;
            } else {
                invalid += 1;
            }
            warnings += undecodable.len() as u64;
            let place = format!("{}:{line}", file.display());
            if args.format == SimpleFormat::Json {
                results.push(json!({
                    "file": file.display().to_string(),
                    "line": line,
                    "valid": ok,
                    "message": message,
                    "errors": errors,
                    "rests_on": rests_on.as_deref(),
                    "undecodable_base64": undecodable,
                }));
            } else if !ok
                && invalid as usize <= MAX_SHOWN_INVALID
                && message.is_none()
                && errors.iter().all(|e| e.get("keyword").is_none())
            {
                // Not a frame at all: not JSON, not UTF-8, too long, or no frame in the file.
                for error in &errors {
                    lines.push(format!(
                        "{place}: {}",
                        error["error"].as_str().unwrap_or("")
                    ));
                }
                if let Some(quote) = &rests_on {
                    lines.push(format!("    the framing rests on: \"{quote}\""));
                }
            } else if !ok && invalid as usize <= MAX_SHOWN_INVALID {
                lines.push(format!(
                    "{place}: invalid {}",
                    message
                        .as_deref()
                        .map_or("frame (no message matches)".into(), |m| format!("`{m}`"))
                ));
                for error in &errors {
                    lines.push(format!(
                        "    {} at {:?} ({}): {}",
                        error["keyword"].as_str().unwrap_or("parse"),
                        error["instance_pointer"].as_str().unwrap_or(""),
                        error["schema_location"].as_str().unwrap_or("-"),
                        error["error"].as_str().unwrap_or("")
                    ));
                }
                if let Some(quote) = &rests_on {
                    let what = if message.is_some() {
                        "the message"
                    } else {
                        "a frame of no documented message: the protocol"
                    };
                    lines.push(format!("    {what} rests on: \"{quote}\""));
                }
            }
            for pointer in undecodable {
                if args.format == SimpleFormat::Human {
                    lines.push(format!(
                        "{place}: warning: {pointer} does not decode as base64"
                    ));
                }
            }
        })?;
    }
    let text = if args.format == SimpleFormat::Json {
        serde_json::to_string_pretty(&json!({
            "protocol": protocol,
            "direction": direction_arg.to_possible_value().map(|v| v.get_name().to_string()),
            "summary": {"valid": valid, "invalid": invalid, "warnings": warnings},
            "frames": results,
        }))? + "\n"
    } else {
        if invalid as usize > MAX_SHOWN_INVALID {
            lines.push(format!(
                "... and {} more invalid frames",
                invalid as usize - MAX_SHOWN_INVALID
            ));
        }
        lines.push(format!(
            "{valid} valid, {invalid} invalid, {warnings} warnings"
        ));
        lines.join("\n") + "\n"
    };
    write_out(None, &text)?;
    Ok(invalid == 0)
}

/// Calls `each` with every frame of a file: the whole file when it is one JSON value (and at most
/// [`WHOLE_FILE_BYTES`]), else one per non-empty line (JSON Lines). A line that is not JSON, not
/// UTF-8 or too long is a finding for that frame only; a file with no frame is a finding too, and
/// so is a file over the bound whose first line is not JSON (one finding, not one per line).
/// Memory and the bytes read are bounded, so a huge file, a device or a pipe cannot exhaust them.
fn for_each_frame(path: &Path, each: &mut dyn FnMut(u64, Result<Value, String>)) -> Result<()> {
    let unreadable = |e: std::io::Error| usage(format!("{}: cannot read: {e}", path.display()));
    let file = File::open(path).map_err(unreadable)?;
    if file.metadata().map_err(unreadable)?.is_dir() {
        return Err(usage(format!(
            "{}: a directory, not a file",
            path.display()
        )));
    }
    let mut reader = BufReader::new(file.take(MAX_FILE_BYTES + 1));
    let mut head = Vec::new();
    (&mut reader)
        .take(WHOLE_FILE_BYTES + 1)
        .read_to_end(&mut head)
        .map_err(unreadable)?;
    if head.len() as u64 <= WHOLE_FILE_BYTES
        && !head.iter().all(u8::is_ascii_whitespace)
        && let Ok(value) = serde_json::from_slice::<Value>(&head)
    {
        each(1, Ok(value));
        return Ok(());
    }
    // Over the bound, the file can only be JSON Lines; a first line that is not JSON says it is
    // not (most likely one large value spread over lines), and one finding says so.
    let over_bound = head.len() as u64 > WHOLE_FILE_BYTES;
    let mut reader = std::io::Cursor::new(head).chain(reader);
    let (mut number, mut frames, mut total) = (0u64, 0u64, 0u64);
    let mut line = Vec::new();
    loop {
        if total > MAX_FILE_BYTES {
            frames += 1;
            each(
                number + 1,
                Err(format!(
                    "the file goes on past {MAX_FILE_BYTES} bytes: not read further"
                )),
            );
            break;
        }
        line.clear();
        let read = (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(unreadable)?;
        if read == 0 {
            break;
        }
        number += 1;
        total += read as u64;
        if line.len() > MAX_LINE_BYTES && !line.ends_with(b"\n") {
            frames += 1;
            each(number, Err(format!("a line over {MAX_LINE_BYTES} bytes")));
            total += skip_line(&mut reader).map_err(unreadable)?;
            continue;
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        frames += 1;
        let frame = match std::str::from_utf8(&line) {
            Ok(text) => serde_json::from_str(text).map_err(|e| format!("not JSON: {e}")),
            Err(e) => Err(format!("not UTF-8 text: {e}")),
        };
        if over_bound && frames == 1 && frame.is_err() {
            let why = frame.err().unwrap_or_default();
            each(
                number,
                Err(format!(
                    "the file is over {} MiB, the most read as one JSON value, and is not JSON \
                     Lines either (its first line is {why}): not read further",
                    WHOLE_FILE_BYTES >> 20
                )),
            );
            break;
        }
        each(number, frame);
    }
    if frames == 0 {
        each(
            1,
            Err("the file holds no frame (it is empty or blank)".into()),
        );
    }
    Ok(())
}

/// Reads past the rest of a line, keeping at most 64 KiB of it at a time; the bytes skipped.
fn skip_line(reader: &mut impl BufRead) -> std::io::Result<u64> {
    let mut skipped = 0u64;
    let mut piece = Vec::new();
    loop {
        piece.clear();
        let read = reader.take(64 << 10).read_until(b'\n', &mut piece)?;
        skipped += read as u64;
        if read == 0 || piece.ends_with(b"\n") || skipped > MAX_FILE_BYTES {
            return Ok(skipped);
        }
    }
}
