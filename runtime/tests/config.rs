//! Configurations at their edges: zero and enormous durations, and values that cannot work.

mod support;

use std::io;
use std::time::Duration;

use agentwire_runtime::server::{ServerConfig, TcpListener, serve};
use support::{TestApp, start, within};

/// Echoes, then nothing for `quiet` (no ping, no close), then echoes again.
async fn served_quietly(config: ServerConfig, quiet: Duration) {
    let server = start(config).await;
    let mut client = server.client().await;
    client.send("echo:a").await;
    assert_eq!(client.recv().await, "a");
    assert_eq!(client.next_event_within(quiet).await, None);
    client.send("echo:b").await;
    assert_eq!(client.recv().await, "b");
}

#[tokio::test]
async fn a_zero_idle_timeout_and_ping_interval_mean_never() {
    // Zero was an instant idle close, and a panic of the connection's task for pings.
    served_quietly(
        ServerConfig {
            idle_timeout: Some(Duration::ZERO),
            ping_interval: Some(Duration::ZERO),
            ..ServerConfig::default()
        },
        Duration::from_millis(300),
    )
    .await;
}

#[tokio::test]
async fn durations_beyond_what_an_instant_holds_mean_never() {
    // `now + Duration::MAX` overflows: it was a panic of the connection's task.
    served_quietly(
        ServerConfig {
            idle_timeout: Some(Duration::MAX),
            ping_interval: Some(Duration::from_secs(u64::MAX)),
            ..ServerConfig::default()
        },
        Duration::from_millis(100),
    )
    .await;
}

#[test]
fn the_largest_message_size_does_not_overflow() {
    let config = ServerConfig::default().with_max_message_bytes(usize::MAX);
    assert_eq!(config.hard_max_message_bytes, usize::MAX);
    assert_eq!(config.validate(), Ok(()));
}

/// A change to the default configuration.
type Change = fn(&mut ServerConfig);

#[tokio::test]
async fn serve_refuses_configurations_that_cannot_work() {
    let cases: [(&str, Change); 9] = [
        ("max_message_bytes is 0", |c| c.max_message_bytes = 0),
        ("below max_message_bytes", |c| {
            c.hard_max_message_bytes = c.max_message_bytes - 1
        }),
        ("max_connections_per_ip is 0", |c| {
            c.max_connections_per_ip = Some(0)
        }),
        ("handshake_timeout is 0", |c| {
            c.handshake_timeout = Duration::ZERO
        }),
        ("send_timeout is 0", |c| c.send_timeout = Duration::ZERO),
        ("max_connections is 0", |c| c.max_connections = Some(0)),
        ("auth_timeout is 0", |c| c.auth_timeout = Duration::ZERO),
        ("max_outbox_bytes is 0", |c| c.max_outbox_bytes = 0),
        ("max_handshakes", |c| c.max_handshakes_per_ip = 0),
    ];
    assert_eq!(ServerConfig::default().validate(), Ok(()));
    for (expected, change) in cases {
        let mut config = ServerConfig::default();
        change(&mut config);
        let error = config.validate().unwrap_err();
        assert!(error.to_string().contains(expected), "{error}");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        // Refused at once, not served until shutdown.
        let served = within(
            serve(
                listener,
                "/ws",
                TestApp::default(),
                config,
                std::future::pending(),
            ),
            "serve to refuse",
        )
        .await;
        let error = served.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert!(error.to_string().contains(expected), "{error}");
    }
}

#[cfg(unix)]
#[tokio::test]
async fn a_listener_that_cannot_accept_ends_serve_with_an_error_naming_it() {
    // A connected socket, not a listening one: accept fails with EINVAL every time.
    let real = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let socket = std::net::TcpStream::connect(real.local_addr().unwrap()).unwrap();
    // Readable, so that the runtime tries to accept on it.
    let (mut peer, _) = real.accept().unwrap();
    std::io::Write::write_all(&mut peer, b"x").unwrap();
    let local = socket.local_addr().unwrap();
    let fd: std::os::fd::OwnedFd = socket.into();
    let broken = std::net::TcpListener::from(fd);
    broken.set_nonblocking(true).unwrap();
    let listener = TcpListener::from_std(broken).unwrap();
    let served = within(
        serve(
            listener,
            "/ws",
            TestApp::default(),
            ServerConfig::default(),
            std::future::pending(),
        ),
        "serve to give up",
    )
    .await;
    let error = served.unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with(&format!("cannot accept connections on {local}: ")),
        "{error}"
    );
}
