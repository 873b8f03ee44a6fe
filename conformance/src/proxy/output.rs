//! Where the proxy says what it sees: stdout (one line per finding for people, or JSON Lines for
//! tools) and the transcript file (`--record`). Each is written by a thread of its own behind a
//! bounded queue. A slow disk slows the proxy (the record is complete or says it is not); a slow
//! reader of stdout does not: lines it cannot take are counted, and the count is said at the end.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context as _, Result};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::transcript::Header;
use crate::watch::{Finding, Tally};

/// Lines of stdout queued at most.
const REPORT_QUEUE: usize = 16_384;
/// How long the end waits for stdout to take the lines still queued and the summary.
const STDOUT_DEADLINE: Duration = Duration::from_secs(2);
/// Lines of the transcript queued at most.
const RECORD_QUEUE: usize = 4096;

/// How stdout reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One line per finding (warnings and failures), opened and closed connections, a summary.
    Human,
    /// One JSON object per frame, finding and connection event.
    Json,
}

/// The stdout side.
#[derive(Debug)]
pub struct Report {
    format: Format,
    tx: Option<mpsc::Sender<String>>,
    dropped: AtomicU64,
    thread: Option<JoinHandle<()>>,
}

impl Report {
    /// Writes to `out` (stdout, or a buffer in tests) in `format`.
    pub fn start(format: Format, mut out: Box<dyn Write + Send>) -> Self {
        let (tx, mut rx) = mpsc::channel::<String>(REPORT_QUEUE);
        let thread = std::thread::spawn(move || {
            while let Some(line) = rx.blocking_recv() {
                if writeln!(out, "{line}").is_err() {
                    // A closed pipe: nothing more can be said there.
                    break;
                }
                if rx.is_empty() {
                    let _ = out.flush();
                }
            }
            let _ = out.flush();
        });
        Self {
            format,
            tx: Some(tx),
            dropped: AtomicU64::new(0),
            thread: Some(thread),
        }
    }

    /// The format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Queues a line; one the queue cannot take is counted.
    pub fn line(&self, line: String) {
        let Some(tx) = &self.tx else { return };
        if tx.try_send(line).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A finding: every one in JSON, warnings and failures for people.
    pub fn finding(&self, finding: &Finding) {
        match self.format {
            Format::Human if finding.severity > crate::report::Severity::Info => {
                self.line(finding.line());
            }
            Format::Human => {}
            Format::Json => {
                let mut value = serde_json::to_value(finding).unwrap_or(Value::Null);
                if let Value::Object(map) = &mut value {
                    map.insert("kind".into(), json!("finding"));
                }
                self.line(value.to_string());
            }
        }
    }

    /// A connection event: `text` for people, `value` (with its `kind`) for tools.
    pub fn event(&self, text: impl FnOnce() -> String, value: impl FnOnce() -> Value) {
        match self.format {
            Format::Human => self.line(text()),
            Format::Json => self.line(value().to_string()),
        }
    }

    /// A frame: for tools only.
    pub fn frame(&self, value: impl FnOnce() -> Value) {
        if self.format == Format::Json {
            self.line(value().to_string());
        }
    }

    /// Says the summary, waits (a bounded time: a reader that stopped reading must not keep the
    /// proxy from exiting) for every line to be written, and says how many were lost.
    pub fn finish(mut self, tally: &Tally) {
        match self.format {
            Format::Human => self.line(format!("summary: {}", tally.line())),
            Format::Json => {
                let mut value = serde_json::to_value(tally).unwrap_or(Value::Null);
                if let Value::Object(map) = &mut value {
                    map.insert("kind".into(), json!("summary"));
                }
                self.line(value.to_string());
            }
        }
        let unwritten = self
            .tx
            .take()
            .map_or(0, |tx| tx.max_capacity() - tx.capacity());
        let deadline = std::time::Instant::now() + STDOUT_DEADLINE;
        let thread = self.thread.take();
        while thread.as_ref().is_some_and(|t| !t.is_finished())
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        if thread.as_ref().is_some_and(|t| !t.is_finished()) {
            eprintln!(
                "conformance proxy: stdout did not take the last lines within {} s: up to {unwritten} line(s), the \
                 summary among them, were not printed (the record, if any, is complete)",
                STDOUT_DEADLINE.as_secs()
            );
            return;
        }
        let dropped = self.dropped.load(Ordering::Relaxed);
        if dropped > 0 {
            eprintln!(
                "conformance proxy: {dropped} output line(s) were not printed: stdout was not read \
                 fast enough (the record, if any, is complete)"
            );
        }
    }
}

/// The transcript file (`--record`).
#[derive(Debug)]
pub struct Record {
    tx: mpsc::Sender<String>,
    thread: JoinHandle<std::io::Result<()>>,
}

impl Record {
    /// Creates (or truncates) `path` and writes the header.
    pub fn create(path: &Path, header: &Header) -> Result<Self> {
        let file = File::create(path)
            .with_context(|| format!("--record {}: cannot create", path.display()))?;
        let mut out = BufWriter::with_capacity(64 << 10, file);
        writeln!(out, "{}", serde_json::to_string(header)?)
            .with_context(|| format!("--record {}: cannot write", path.display()))?;
        let (tx, mut rx) = mpsc::channel::<String>(RECORD_QUEUE);
        let thread = std::thread::spawn(move || {
            while let Some(line) = rx.blocking_recv() {
                writeln!(out, "{line}")?;
                if rx.is_empty() {
                    out.flush()?;
                }
            }
            out.flush()?;
            out.get_ref().sync_data()
        });
        Ok(Self { tx, thread })
    }

    /// Queues an entry's line, waiting while the queue is full; false once the file cannot be
    /// written any more.
    pub async fn write(&self, line: String) -> bool {
        self.tx.send(line).await.is_ok()
    }

    /// Writes what is queued and closes the file.
    pub fn finish(self) -> std::io::Result<()> {
        drop(self.tx);
        self.thread
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the record's writer panicked")))
    }
}
