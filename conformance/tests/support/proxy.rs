//! A `conformance proxy` process for the tests: started with `--format json`, its first line read
//! within a deadline, its stdout collected line by line, stopped with Ctrl-C.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long a proxy may take to print its first line, and a test to see a line it waits for.
const DEADLINE: Duration = Duration::from_secs(10);

/// A running `conformance proxy`, its stdout collected line by line.
pub struct Proxy {
    child: Child,
    /// `ws://127.0.0.1:PORT`.
    pub url: String,
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    /// Starts `conformance proxy --protocol P --listen 127.0.0.1:0 --upstream U --format json`.
    pub fn start(protocol: &str, upstream: &str, extra: &[&str]) -> Self {
        let mut child = spawn(protocol, upstream, extra);
        let (url, stdout) = banner(&mut child, upstream);
        let lines = Arc::new(Mutex::new(Vec::new()));
        let collected = Arc::clone(&lines);
        let reader = std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                collected.lock().unwrap().push(line);
            }
        });
        Self {
            child,
            url,
            lines,
            reader: Some(reader),
        }
    }

    /// Every JSON line so far.
    pub fn seen(&self) -> Vec<Value> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
            .collect()
    }

    /// Waits (10 s at most) until a line satisfies `wanted`; returns it.
    pub async fn wait_for(&self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(found) = self.seen().into_iter().find(&wanted) {
                return found;
            }
            assert!(Instant::now() < deadline, "no {what} in {:#?}", self.seen());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Ctrl-C: the exit status, every line, and what it said on stderr.
    pub fn stop(mut self) -> (ExitStatus, Vec<Value>, String) {
        interrupt(&self.child);
        let status = wait(&mut self.child, Duration::from_secs(20));
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        let mut stderr = String::new();
        if let Some(mut pipe) = self.child.stderr.take() {
            std::io::Read::read_to_string(&mut pipe, &mut stderr).unwrap();
        }
        (status, self.seen(), stderr)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the process, stdout and stderr piped.
pub fn spawn(protocol: &str, upstream: &str, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_conformance"))
        .args(["proxy", "--protocol", protocol, "--listen", "127.0.0.1:0"])
        .args(["--upstream", upstream, "--format", "json"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("conformance proxy starts")
}

/// Reads the first line, `proxying ws://ADDR -> UPSTREAM`, within 10 s: the URL clients connect
/// to, and stdout to read on (or not).
pub fn banner(child: &mut Child, upstream: &str) -> (String, BufReader<ChildStdout>) {
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut first = String::new();
        let _ = stdout.read_line(&mut first);
        let _ = tx.send((first, stdout));
    });
    let Ok((first, stdout)) = rx.recv_timeout(DEADLINE) else {
        let _ = child.kill();
        panic!("the proxy printed no first line within {DEADLINE:?}");
    };
    let url = first
        .trim()
        .strip_prefix("proxying ")
        .and_then(|rest| rest.strip_suffix(&format!(" -> {upstream}")))
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_string();
    (url, stdout)
}

/// Sends SIGINT, as Ctrl-C does.
pub fn interrupt(child: &Child) {
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
}

/// Waits for the process to end, `within` at most (then kills it and fails).
pub fn wait(child: &mut Child, within: Duration) -> ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("the proxy did not stop within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
