//! A generated client over `wss://` (the crate's feature `tls`), against a reference server behind
//! a TLS-terminating front on loopback whose self-signed certificate is made at test time, as a
//! team with a private CA or a test server has it: untrusted, `connect` fails naming the cause
//! before anything reaches the server; trusted with `ConnectOptions::ca_cert`, requests get their
//! replies, and a lost connection is reopened over TLS; a certificate for another name, or CA text
//! that holds no certificate, fails as such.

mod support;

use std::time::Duration;

use agentwire_client_tests::soon;
use agentwire_datagram::client::{
    CertificateCause, Client, ClientError, ConnectOptions, PingInput,
};
use agentwire_reference::Running;
use agentwire_testkit::TlsFront;

/// A TLS front for `server` whose certificate is valid for `name` alone.
async fn tls_front(server: &Running, name: &str) -> TlsFront {
    TlsFront::start(server.addr, &[name], "agentwire client test server").await
}

async fn datagram_server() -> Running {
    support::reference_with("datagram", |_| {}).await
}

fn options(url: &str) -> ConnectOptions {
    ConnectOptions::new(url).timeout(Duration::from_secs(5))
}

#[tokio::test]
async fn an_untrusted_self_signed_certificate_is_refused_before_anything_is_sent() {
    let server = datagram_server().await;
    let front = tls_front(&server, "localhost").await;
    let client = Client::new(options(&front.origin()));
    let error = soon(client.connect(), "connecting").await.unwrap_err();
    let ClientError::Certificate { url, cause, .. } = &error else {
        panic!("a certificate error, not: {error}");
    };
    assert_eq!(*cause, CertificateCause::UnknownIssuer, "{error}");
    assert_eq!(
        error.certificate_cause(),
        Some(CertificateCause::UnknownIssuer)
    );
    assert!(url.starts_with(&front.origin()), "{url}");
    let shown = error.to_string();
    assert!(shown.contains("ConnectOptions::ca_cert"), "{shown}");
    assert!(!client.is_connected());
    assert_eq!(front.accepted(), 1, "it did try");
    assert_eq!(front.relayed(), 0, "nothing reached the server");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn with_its_certificate_trusted_requests_get_their_replies_and_reconnection_keeps_tls() {
    let server = support::idle_closing_datagram().await;
    let front = tls_front(&server, "localhost").await;
    let client = Client::new(
        options(&front.origin())
            .ca_cert(front.pem())
            .reconnect(support::quick_reconnect()),
    );
    let mut events = client.events();
    soon(client.connect(), "connecting")
        .await
        .expect("the certificate is trusted");
    let pong = client
        .ping(PingInput::new().with_cid("over-tls"))
        .await
        .expect("a pong over TLS");
    assert_eq!(pong.cid, "over-tls");

    support::idle_close_and_reopening(&mut events).await;
    client
        .ping(PingInput::new())
        .await
        .expect("a pong on the reopened connection");
    assert_eq!(front.relayed(), 2, "both over TLS");
    assert_eq!(
        front.server_names(),
        ["localhost", "localhost"],
        "the URL's host is the server name sent"
    );
    client.close().await;
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_certificate_for_another_name_is_not_valid_for_the_url_host() {
    let server = datagram_server().await;
    let front = tls_front(&server, "chat.example.com").await;
    // Its issuer trusted, only the name is wrong.
    let client = Client::new(options(&front.origin()).ca_cert(front.pem()));
    let error = soon(client.connect(), "connecting").await.unwrap_err();
    assert_eq!(
        error.certificate_cause(),
        Some(CertificateCause::NotValidForName),
        "{error}"
    );
    let shown = error.to_string();
    assert!(shown.contains("\"localhost\""), "names the host: {shown}");
    assert!(
        shown.contains("chat.example.com"),
        "and the certificate's: {shown}"
    );
    assert_eq!(front.relayed(), 0);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn certificate_authority_text_without_a_certificate_is_a_usage_error() {
    let server = datagram_server().await;
    let front = tls_front(&server, "localhost").await;
    let key_only = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    let client = Client::new(
        options(&front.origin())
            .ca_cert(front.pem())
            .ca_cert(key_only),
    );
    let error = soon(client.connect(), "connecting").await.unwrap_err();
    let ClientError::Usage(text) = &error else {
        panic!("a usage error, not: {error}");
    };
    assert!(
        text.starts_with("ConnectOptions::ca_cert #2: no PEM certificate"),
        "{text}"
    );
    assert_eq!(front.accepted(), 0, "refused before connecting");
    assert!(!client.is_connected());
    server.stop().await.unwrap();
}
