//! Each protocol's generated client holds its whole conversation (see the library) with the
//! protocol's reference server, started in-process.

mod support;

use agentwire_client_tests::converse;

async fn conversation(protocol: &str) {
    let (running, target) = support::reference(protocol).await;
    converse(protocol, &target).await;
    running.stop().await.expect("the server stops cleanly");
}

#[tokio::test]
async fn rixa() {
    conversation("rixa").await;
}

#[tokio::test]
async fn datagram() {
    conversation("datagram").await;
}

#[tokio::test]
async fn socializer() {
    conversation("socializer").await;
}

#[tokio::test]
async fn generalbots() {
    conversation("generalbots").await;
}

#[tokio::test]
async fn generalbots_meet() {
    conversation("generalbots-meet").await;
}
