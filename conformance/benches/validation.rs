//! Frame validation throughput: the suite's validator (the discriminator picks the one message
//! schema, a residual schema checks the rest) next to a raw `jsonschema` validator of the whole
//! `server.schema.json`, on the same frames, in the same run.
//!
//! `cargo bench -p agentwire-conformance --bench validation` prints frames/s and ns/frame per
//! protocol and overall.

use std::hint::black_box;
use std::time::{Duration, Instant};

use agentwire_conformance::schemas::Schemas;
use agentwire_spec::protocol::Direction;
use agentwire_spec::source::validator_in;
use serde_json::Value;

/// How long each measurement runs.
const MEASURE: Duration = Duration::from_millis(700);

fn measure(frames: &[Value], mut f: impl FnMut(&Value) -> bool) -> (f64, usize) {
    // Warm up, then count whole passes over the frames until the time is up.
    for frame in frames {
        black_box(f(frame));
    }
    let started = Instant::now();
    let mut done = 0usize;
    let mut valid = 0usize;
    while started.elapsed() < MEASURE {
        for frame in frames {
            if black_box(f(black_box(frame))) {
                valid += 1;
            }
        }
        done += frames.len();
    }
    let ns = started.elapsed().as_nanos() as f64 / done as f64;
    (ns, valid)
}

fn line(label: &str, ns: f64, baseline: f64) {
    println!(
        "  {label:<34} {:>12.0} frames/s {:>9.0} ns/frame  {:>6.1}% of raw time",
        1e9 / ns,
        ns,
        ns / baseline * 100.0
    );
}

fn main() {
    let schemas = Schemas::embedded().expect("the embedded schemas load");
    let registry = schemas.workspace.schemas.registry().expect("registry");
    println!(
        "frame validation: suite (discriminator-selected) vs raw jsonschema on server.schema.json"
    );
    let mut totals = [0f64; 3];
    for protocol in &schemas.workspace.protocols {
        let validators = schemas.validators(&protocol.id).expect("validators");
        let suite = validators.of(Direction::Server);
        let raw = validator_in(&registry, &protocol.server.uri).expect("raw validator");
        let mut frames: Vec<Value> = protocol
            .valid_examples()
            .into_iter()
            .filter(|(e, _)| e.direction == Direction::Server)
            .map(|(_, v)| v.clone())
            .collect();
        let invalid: Vec<Value> = protocol
            .invalid_examples()
            .into_iter()
            .filter(|(e, _)| e.direction == Direction::Server)
            .map(|(_, v)| v.clone())
            .collect();
        if frames.is_empty() {
            // generalbots-meet's document shows no server frame: use its invalid ones and the
            // relayed shapes the suite receives.
            frames.push(serde_json::json!({"type": "join", "room_id": "r", "participant_name": "n", "participant_id": "p"}));
            frames.push(serde_json::json!({"type": "signal", "room_id": "r", "target_id": "p", "signal": {"sdp": "x"}, "sender_id": "q"}));
            frames
                .push(serde_json::json!({"type": "leave", "room_id": "r", "participant_id": "p"}));
        }
        // Mostly valid traffic, as on a conforming server, with the invalid examples mixed in.
        let mut mixed = Vec::new();
        for _ in 0..4 {
            mixed.extend(frames.iter().cloned());
        }
        mixed.extend(invalid.iter().cloned());
        for frame in &mixed {
            assert_eq!(
                suite.is_valid(frame),
                raw.is_valid(frame),
                "the paths disagree on {frame}"
            );
        }
        let (raw_ns, _) = measure(&mixed, |f| raw.is_valid(f));
        let (fast_ns, _) = measure(&mixed, |f| suite.is_valid(f));
        let (full_ns, _) = measure(&mixed, |f| suite.validate(f).is_valid());
        // On valid frames alone, where no error is collected: the cost of a verdict itself.
        let (raw_valid_ns, _) = measure(&frames, |f| raw.is_valid(f));
        let (full_valid_ns, _) = measure(&frames, |f| suite.validate(f).is_valid());
        println!(
            "{} ({} frames, {} invalid):",
            protocol.id,
            mixed.len(),
            invalid.len()
        );
        line("raw jsonschema is_valid", raw_ns, raw_ns);
        line("suite is_valid", fast_ns, raw_ns);
        line("suite validate (verdict + base64)", full_ns, raw_ns);
        line("valid frames: raw is_valid", raw_valid_ns, raw_valid_ns);
        line("valid frames: suite validate", full_valid_ns, raw_valid_ns);
        totals[0] += raw_ns;
        totals[1] += fast_ns;
        totals[2] += full_ns;
    }
    // Each protocol weighs the same, whatever its number of frames.
    let count = schemas.workspace.protocols.len().max(1) as f64;
    let [raw, fast, full] = totals.map(|total| total / count);
    println!("mean over protocols (ns per frame averaged, each protocol weighing the same):");
    line("raw jsonschema is_valid", raw, raw);
    line("suite is_valid", fast, raw);
    line("suite validate (verdict + base64)", full, raw);
}
