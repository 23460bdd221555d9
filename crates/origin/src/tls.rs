//! HTTPS for the native host: the certificate and key files (`tls_cert`, `tls_key`), and a
//! listener that hands `axum::serve` connections whose TLS handshake is already done.
//!
//! Handshakes never run in [`TlsListener::accept`]: a task accepts TCP connections and gives
//! each handshake its own task with a deadline ([`HANDSHAKE_TIMEOUT`]), so a slow or silent
//! client cannot hold up anyone else. Finished connections reach `accept` through a bounded
//! queue; failed handshakes (a plain-HTTP request on the TLS port, a client that distrusts the
//! certificate, a timeout) are logged at debug level and dropped.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long a client has to finish its TLS handshake after connecting.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshakes in progress at once; past this, new TCP connections wait in the kernel's backlog.
const MAX_HANDSHAKES: usize = 1024;

/// Finished connections waiting for `axum::serve` to take them.
const QUEUE: usize = 64;

/// The protocols offered by ALPN, preferred first.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// Reads the certificate chain and private key (PEM) and makes the server's TLS configuration
/// (ring provider, TLS 1.2 and 1.3, ALPN `h2` and `http/1.1`).
///
/// # Errors
/// Naming the file: when it cannot be read, is not PEM, holds no certificate (`cert`) or no
/// private key (`key`); or when the key does not match the certificate.
pub fn server_config(cert: &Path, key: &Path) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let chain = read_certificates(cert)?;
    let private_key = read_private_key(key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("the TLS provider supports no protocol version")?
        .with_no_client_auth()
        .with_single_cert(chain, private_key)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => anyhow!(
                "the TLS private key in {} does not match the certificate in {} (the first certificate must be the key's)",
                key.display(),
                cert.display()
            ),
            e => anyhow!("cannot use the TLS certificate {} with the private key {}: {e}", cert.display(), key.display()),
        })?;
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

fn read_certificates(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read the TLS certificate file {}", path.display()))?;
    let chain = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow!("the TLS certificate file {} is not valid PEM: {e}", path.display()))?;
    if chain.is_empty() {
        bail!(
            "the TLS certificate file {} holds no certificate (expected PEM \"-----BEGIN CERTIFICATE-----\" blocks)",
            path.display()
        );
    }
    Ok(chain)
}

fn read_private_key(path: &Path) -> anyhow::Result<PrivateKeyDer<'static>> {
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read the TLS private key file {}", path.display()))?;
    match PrivateKeyDer::from_pem_slice(&bytes) {
        Ok(key) => Ok(key),
        Err(pem::Error::NoItemsFound) if contains(&bytes, b"ENCRYPTED PRIVATE KEY") => bail!(
            "the TLS private key file {} holds an encrypted key; decrypt it first (openssl pkey -in KEY -out PLAIN)",
            path.display()
        ),
        Err(pem::Error::NoItemsFound) => bail!(
            "the TLS private key file {} holds no private key (expected a PEM \"PRIVATE KEY\", \"RSA PRIVATE KEY\" or \"EC PRIVATE KEY\" block)",
            path.display()
        ),
        Err(e) => bail!("the TLS private key file {} is not valid PEM: {e}", path.display()),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A TCP listener whose connections come out TLS-terminated, for `axum::serve`.
///
/// Dropping it (as `axum::serve` does when a graceful shutdown starts) stops accepting and
/// abandons the handshakes in progress.
#[derive(Debug)]
pub struct TlsListener {
    incoming: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local_addr: SocketAddr,
    acceptor: tokio::task::AbortHandle,
}

impl TlsListener {
    /// Starts accepting on `tcp` with `config`, each handshake limited to `handshake_timeout`.
    /// Must be called within a Tokio runtime.
    ///
    /// # Errors
    /// When the listener's local address cannot be read.
    pub fn new(
        tcp: TcpListener,
        config: Arc<rustls::ServerConfig>,
        handshake_timeout: Duration,
    ) -> io::Result<TlsListener> {
        let local_addr = tcp.local_addr()?;
        let (tx, incoming) = mpsc::channel(QUEUE);
        let acceptor = tokio::spawn(accept_loop(tcp, TlsAcceptor::from(config), tx, handshake_timeout)).abort_handle();
        Ok(TlsListener { incoming, local_addr, acceptor })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        if let Some(connection) = self.incoming.recv().await {
            return connection;
        }
        // Only if the accept task died (it loops until the listener is dropped).
        tracing::error!("the TLS accept task stopped: no new connections are accepted");
        std::future::pending().await
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}

/// Accepts TCP connections and runs each handshake in its own task (owned by a [`JoinSet`], so
/// aborting this task aborts them), sending the finished ones to `tx`.
async fn accept_loop(
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    tx: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
    handshake_timeout: Duration,
) {
    let mut handshakes = JoinSet::new();
    loop {
        while handshakes.try_join_next().is_some() {}
        if handshakes.len() >= MAX_HANDSHAKES {
            handshakes.join_next().await;
            continue;
        }
        let (stream, peer) = tokio::select! {
            accepted = tcp.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
            () = tx.closed() => return,
        };
        let acceptor = acceptor.clone();
        let tx = tx.clone();
        handshakes.spawn(async move {
            match tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    // Fails only when the listener is gone (shutting down): the connection is dropped.
                    let _ = tx.send((tls, peer)).await;
                }
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

/// As `axum::serve` does for TCP: a connection that went away is nothing; anything else (out of
/// file descriptors, say) is logged and retried after a pause.
async fn accept_error(e: io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "cannot accept a connection");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// A self-signed certificate for localhost and 127.0.0.1: (certificate PEM, key PEM).
    fn self_signed() -> (String, String) {
        let c = rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        (c.cert.pem(), c.signing_key.serialize_pem())
    }

    fn error(cert: &Path, key: &Path) -> String {
        format!("{:#}", server_config(cert, key).unwrap_err())
    }

    #[test]
    fn files_that_cannot_be_used_are_named_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        let (cert_pem, key_pem) = self_signed();
        let cert = file("cert.pem", &cert_pem);
        let key = file("key.pem", &key_pem);
        assert!(server_config(&cert, &key).is_ok());
        // Both in one file works too.
        let both = file("both.pem", &format!("{cert_pem}{key_pem}"));
        assert!(server_config(&both, &both).is_ok());

        let missing = dir.path().join("missing.pem");
        let err = error(&missing, &key);
        assert!(err.contains("cannot read the TLS certificate file") && err.contains("missing.pem"), "{err}");
        let err = error(&cert, &missing);
        assert!(err.contains("cannot read the TLS private key file") && err.contains("missing.pem"), "{err}");

        let err = error(&key, &key);
        assert!(err.contains("key.pem holds no certificate"), "{err}");
        let err = error(&cert, &cert);
        assert!(err.contains("cert.pem holds no private key"), "{err}");
        let empty = file("empty.pem", "");
        assert!(error(&empty, &key).contains("empty.pem holds no certificate"));

        let encrypted =
            file("enc.pem", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n");
        let err = error(&cert, &encrypted);
        assert!(err.contains("enc.pem holds an encrypted key"), "{err}");
        let broken = file("broken.pem", "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n");
        let err = error(&broken, &key);
        assert!(err.contains("broken.pem is not valid PEM"), "{err}");

        let (_, other_key_pem) = self_signed();
        let other_key = file("other-key.pem", &other_key_pem);
        let err = error(&cert, &other_key);
        assert!(err.contains("other-key.pem does not match the certificate in") && err.contains("cert.pem"), "{err}");
    }

    /// A silent TCP client holds no one up, and its connection is closed at the deadline.
    #[tokio::test]
    async fn handshakes_run_beside_the_accept_loop_with_a_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let (cert_pem, key_pem) = self_signed();
        let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        std::fs::write(&cert, &cert_pem).unwrap();
        std::fs::write(&key, key_pem).unwrap();
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let listener = TlsListener::new(tcp, server_config(&cert, &key).unwrap(), Duration::from_secs(2)).unwrap();
        let addr = axum::serve::Listener::local_addr(&listener).unwrap();
        let app = axum::Router::new().route("/healthz", axum::routing::get(|| async { "ok" }));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
        });

        let mut silent = TcpStream::connect(addr).await.unwrap();
        let client = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap())
            .build()
            .unwrap();
        let url = format!("https://localhost:{}/healthz", addr.port());
        let started = std::time::Instant::now();
        let r = client.get(&url).send().await.unwrap();
        assert_eq!(r.version(), reqwest::Version::HTTP_2);
        assert_eq!(r.text().await.unwrap(), "ok");
        assert!(started.elapsed() < Duration::from_millis(1500), "waited for the silent client");

        // The silent client is dropped at the deadline: it reads end of file.
        let mut buf = [0u8; 16];
        let n = tokio::time::timeout(Duration::from_secs(5), silent.read(&mut buf)).await.unwrap().unwrap_or(0);
        assert_eq!(n, 0);

        stop.send(()).unwrap();
        drop(client);
        tokio::time::timeout(Duration::from_secs(5), server).await.unwrap().unwrap().unwrap();
    }
}
