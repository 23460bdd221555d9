//! `edgecdp serve --tls-cert --tls-key`, really started on loopback with a certificate made for
//! the test: HTTPS over HTTP/1.1 and HTTP/2, plain HTTP refused without harm, and configuration
//! mistakes named at start.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A self-signed certificate for localhost and 127.0.0.1, written as `cert.pem` and `key.pem`.
struct Certificate {
    dir: tempfile::TempDir,
    pem: String,
}

impl Certificate {
    fn new() -> Certificate {
        let c = rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cert.pem"), c.cert.pem()).unwrap();
        std::fs::write(dir.path().join("key.pem"), c.signing_key.serialize_pem()).unwrap();
        Certificate { dir, pem: c.cert.pem() }
    }

    fn cert(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    fn key(&self) -> PathBuf {
        self.dir.path().join("key.pem")
    }

    /// A client that trusts only this certificate.
    fn client(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(self.pem.as_bytes()).unwrap())
    }
}

fn edgecdp(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_edgecdp"));
    cmd.arg("serve")
        .args(["--listen", "127.0.0.1:0", "--database"])
        .arg(dir.join("origin.sqlite"))
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .env_remove("EDGECDP_TLS_CERT")
        .env_remove("EDGECDP_TLS_KEY");
    cmd
}

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(mut cmd: Command) -> Server {
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let base = line.trim().strip_prefix("edgecdp listening on ").unwrap_or_else(|| panic!("{line:?}")).to_owned();
        Server { child, base }
    }

    fn port(&self) -> u16 {
        self.base.rsplit(':').next().unwrap().parse().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a command expected to fail at start; its standard error.
fn refused(mut cmd: Command) -> String {
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "started: {err}");
    err
}

#[tokio::test]
async fn https_serves_http1_and_http2_with_the_given_certificate() {
    let c = Certificate::new();
    let s = Server::start(edgecdp(c.dir.path(), &["--tls-cert", "cert.pem", "--tls-key", "key.pem"]));
    assert!(s.base.starts_with("https://127.0.0.1:"), "{}", s.base);
    for host in ["localhost", "127.0.0.1"] {
        let url = format!("https://{host}:{}/healthz", s.port());
        let r = c.client().build().unwrap().get(&url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.version(), reqwest::Version::HTTP_2);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["status"], "ok");
        let r = c.client().http1_only().build().unwrap().get(&url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.version(), reqwest::Version::HTTP_11);
    }
    // A client that does not trust the certificate is refused.
    let untrusting = Certificate::new().client().build().unwrap();
    assert!(untrusting.get(format!("{}/healthz", s.base)).send().await.is_err());
}

#[tokio::test]
async fn plain_http_on_the_tls_port_fails_and_the_server_keeps_serving() {
    let c = Certificate::new();
    let mut s = Server::start(edgecdp(c.dir.path(), &["--tls-cert", "cert.pem", "--tls-key", "key.pem"]));
    let plain = reqwest::Client::new().get(format!("http://127.0.0.1:{}/healthz", s.port())).send().await;
    assert!(plain.is_err(), "{plain:?}");
    // A client that connects and says nothing does not hold up the next one.
    let _silent = std::net::TcpStream::connect(("127.0.0.1", s.port())).unwrap();
    let r = c.client().build().unwrap().get(format!("{}/healthz", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(s.child.try_wait().unwrap().is_none(), "the server stopped");
}

#[tokio::test]
async fn the_environment_and_the_configuration_file_give_the_files_too() {
    let c = Certificate::new();
    // Environment variables.
    let mut cmd = edgecdp(c.dir.path(), &[]);
    cmd.env("EDGECDP_TLS_CERT", c.cert()).env("EDGECDP_TLS_KEY", c.key());
    let s = Server::start(cmd);
    assert!(s.base.starts_with("https://"), "{}", s.base);
    let r = c.client().build().unwrap().get(format!("{}/healthz", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    drop(s);
    // The configuration file, paths relative to the working directory like `database`.
    let config = c.dir.path().join("edgecdp.toml");
    let text = format!("tls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n{}", edgecdp_origin::config::DEMO_CONFIG);
    std::fs::write(&config, text).unwrap();
    let s = Server::start(edgecdp(c.dir.path(), &["--config", "edgecdp.toml"]));
    assert!(s.base.starts_with("https://"), "{}", s.base);
    let r = c.client().build().unwrap().get(format!("{}/healthz", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    drop(s);
    // Without them: plain HTTP, as always.
    let s = Server::start(edgecdp(c.dir.path(), &[]));
    assert!(s.base.starts_with("http://127.0.0.1:"), "{}", s.base);
    let r = reqwest::get(format!("{}/healthz", s.base)).await.unwrap();
    assert_eq!(r.status(), 200);
}

#[test]
fn one_tls_flag_without_the_other_is_refused_naming_the_other() {
    let c = Certificate::new();
    let err = refused(edgecdp(c.dir.path(), &["--tls-cert", "cert.pem"]));
    assert!(err.contains("tls_key is not") && err.contains("--tls-key"), "{err}");
    let mut cmd = edgecdp(c.dir.path(), &[]);
    cmd.env("EDGECDP_TLS_KEY", c.key());
    let err = refused(cmd);
    assert!(err.contains("tls_cert is not") && err.contains("--tls-cert"), "{err}");
}

#[test]
fn unusable_tls_files_are_refused_naming_the_file() {
    let c = Certificate::new();
    // A key file holding only a certificate.
    let err = refused(edgecdp(c.dir.path(), &["--tls-cert", "cert.pem", "--tls-key", "cert.pem"]));
    assert!(err.contains("the TLS private key file cert.pem holds no private key"), "{err}");
    let err = refused(edgecdp(c.dir.path(), &["--tls-cert", "nowhere.pem", "--tls-key", "key.pem"]));
    assert!(err.contains("cannot read the TLS certificate file nowhere.pem"), "{err}");
    let other = Certificate::new();
    let mut cmd = edgecdp(c.dir.path(), &["--tls-cert", "cert.pem", "--tls-key"]);
    cmd.arg(other.key());
    let err = refused(cmd);
    assert!(err.contains("does not match the certificate in cert.pem"), "{err}");
    // Refused before the database is created.
    assert!(!c.dir.path().join("origin.sqlite").exists());
}
