//! A TLS-terminating front on loopback that relays to a plain server.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A TLS front for a plain server, on a free loopback port, with a self-signed certificate made
/// at start. Each connection whose TLS handshake completes is relayed to the server; one whose
/// client refuses the certificate reaches nothing. Stops when dropped.
#[derive(Debug)]
pub struct TlsFront {
    port: u16,
    pem: String,
    seen: Arc<Seen>,
    task: JoinHandle<()>,
}

/// What the front has seen.
#[derive(Debug, Default)]
struct Seen {
    /// TCP connections accepted.
    accepted: AtomicUsize,
    /// Connections whose TLS handshake completed, and so were relayed.
    relayed: AtomicUsize,
    /// The server names (SNI) clients asked for.
    names: Mutex<Vec<String>>,
}

impl TlsFront {
    /// Starts a front for the server at `backend` whose certificate is valid for `names` (DNS
    /// names or IP addresses) and has the subject `CN=<common_name>`.
    ///
    /// # Panics
    ///
    /// When the certificate cannot be made or no loopback port bound: a test cannot go on.
    pub async fn start(backend: SocketAddr, names: &[&str], common_name: &str) -> TlsFront {
        let key = rcgen::KeyPair::generate().expect("a key pair");
        let mut params = rcgen::CertificateParams::new(
            names
                .iter()
                .map(|name| name.to_string())
                .collect::<Vec<_>>(),
        )
        .expect("certificate names");
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, common_name);
        let certificate = params.self_signed(&key).expect("a self-signed certificate");
        let config = ServerConfig::builder_with_provider(agentwire_runtime::tls::provider())
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(certificate.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .expect("a server configuration");
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("a loopback port");
        let port = listener.local_addr().expect("a bound address").port();
        let seen = Arc::new(Seen::default());
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let task = tokio::spawn(relay_all(listener, acceptor, backend, Arc::clone(&seen)));
        TlsFront {
            port,
            pem: certificate.pem(),
            seen,
            task,
        }
    }

    /// `wss://localhost:PORT`.
    pub fn origin(&self) -> String {
        format!("wss://localhost:{}", self.port)
    }

    /// The port it listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its certificate, PEM: what a client trusts it by.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// How many TCP connections it accepted.
    pub fn accepted(&self) -> usize {
        self.seen.accepted.load(Ordering::SeqCst)
    }

    /// How many connections completed the TLS handshake and were relayed to the server.
    pub fn relayed(&self) -> usize {
        self.seen.relayed.load(Ordering::SeqCst)
    }

    /// The server names (SNI) clients asked for, in order.
    pub fn server_names(&self) -> Vec<String> {
        self.seen.names.lock().expect("not poisoned").clone()
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn relay_all(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    backend: SocketAddr,
    seen: Arc<Seen>,
) {
    while let Ok((socket, _)) = listener.accept().await {
        seen.accepted.fetch_add(1, Ordering::SeqCst);
        let (acceptor, seen) = (acceptor.clone(), Arc::clone(&seen));
        tokio::spawn(async move {
            // A client that refuses the certificate ends the handshake: nothing to relay.
            let Ok(mut tls) = acceptor.accept(socket).await else {
                return;
            };
            let name = tls.get_ref().1.server_name().map(str::to_string);
            seen.names.lock().expect("not poisoned").extend(name);
            seen.relayed.fetch_add(1, Ordering::SeqCst);
            if let Ok(mut plain) = TcpStream::connect(backend).await {
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            }
        });
    }
}
