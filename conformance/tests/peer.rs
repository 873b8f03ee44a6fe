//! The suite is a well-behaved WebSocket peer: it answers a server's close frame (completing the
//! closing handshake), masks every frame it sends, and closes its own connections with 1000.
//! Servers log peers that do otherwise, and some treat them as broken clients.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use support::{Ws, run_only, start_with};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// What the double saw of the suite, one line per connection.
type Log = Arc<Mutex<Vec<String>>>;

/// The log once the double's connections have written it: each writes when its closing handshake
/// ends, which may be just after the suite's run returns.
async fn settled(log: &Log) -> Vec<String> {
    let mut last = Vec::new();
    for _ in 0..40 {
        let now = log.lock().unwrap().clone();
        if !now.is_empty() && now == last {
            break;
        }
        last = now;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    last
}

/// Answers a RIXA command the documented way.
fn answer(frame: &Value) -> Message {
    let command = frame["type"].as_str().unwrap_or("");
    Message::text(json!({"role": "info", "content": {"command": command}}).to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_answers_a_servers_close() {
    let log: Log = Arc::default();
    let seen = Arc::clone(&log);
    let double = start_with(move |mut ws: Ws| {
        let seen = Arc::clone(&seen);
        async move {
            // Answer the first command, then close as a crashing server would.
            let Some(Ok(Message::Text(text))) = ws.next().await else {
                return;
            };
            let frame: Value = serde_json::from_str(text.as_str()).unwrap_or_default();
            let _ = ws.send(answer(&frame)).await;
            let close = CloseFrame {
                code: CloseCode::Error,
                reason: "boom".into(),
            };
            let _ = ws.close(Some(close)).await;
            let reply = tokio::time::timeout(Duration::from_secs(2), ws.next()).await;
            let what = match reply {
                Ok(Some(Ok(Message::Close(_)))) => "answered".to_string(),
                other => format!("not answered: {other:?}"),
            };
            seen.lock().unwrap().push(what);
        }
    })
    .await;
    run_only("rixa", &double.url, 500, &["exchange.get_global_settings"]).await;
    let log = settled(&log).await;
    assert!(!log.is_empty(), "the double saw no connection");
    assert!(log.iter().all(|l| l == "answered"), "{log:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_closes_with_1000_and_masks_its_frames() {
    let log: Log = Arc::default();
    let seen = Arc::clone(&log);
    let double = start_with(move |mut ws: Ws| {
        let seen = Arc::clone(&seen);
        async move {
            // tungstenite's server refuses an unmasked client frame with an error.
            let what = loop {
                match ws.next().await {
                    Some(Ok(Message::Text(text))) => {
                        let frame: Value = serde_json::from_str(text.as_str()).unwrap_or_default();
                        let _ = ws.send(answer(&frame)).await;
                    }
                    Some(Ok(Message::Close(Some(frame)))) => {
                        break format!("closed with {}", u16::from(frame.code));
                    }
                    Some(Ok(Message::Close(None))) => break "closed without a code".into(),
                    Some(Ok(_)) => {}
                    Some(Err(error)) => break format!("error: {error}"),
                    None => break "ended without a close frame".into(),
                }
            };
            seen.lock().unwrap().push(what);
        }
    })
    .await;
    run_only("rixa", &double.url, 500, &["exchange"]).await;
    let log = settled(&log).await;
    assert!(log.len() >= 13, "{log:?}");
    assert!(log.iter().all(|l| l == "closed with 1000"), "{log:?}");
}
