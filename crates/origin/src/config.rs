//! The origin's configuration: a TOML file, overridden by environment variables, overridden by
//! command-line flags. Without a file the embedded Luma demo configuration is used.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use edgecdp_core::limits::Limits;
use edgecdp_core::profile::mapping::DatasetKind;
use edgecdp_core::snapshot::{DatastreamConfig, IdentityConfig, ProfileConfig, SnapshotConfig};
use serde::Deserialize;

/// The embedded demo configuration (`cargo xtask demo`); its secrets are public, so it warns.
pub const DEMO_CONFIG: &str = include_str!("../demo.toml");

/// The configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on (`127.0.0.1:8080`; port 0 picks a free port).
    pub listen: SocketAddr,
    /// The SQLite database file (created if missing).
    pub database: PathBuf,
    /// A directory served at `/` (the storefront), if any.
    #[serde(default)]
    pub site_dir: Option<PathBuf>,
    /// A directory served at `/sdk/` (the built sdk-js), if any.
    #[serde(default)]
    pub sdk_dir: Option<PathBuf>,
    /// The TLS certificate chain (PEM), leaf first. With `tls_key`, the host serves HTTPS
    /// (HTTP/1.1 and HTTP/2); give both or neither. Relative to the working directory, like
    /// `database`.
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    /// The TLS certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1, unencrypted).
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// The name this native edge gives itself in sync batches and logs.
    #[serde(default = "default_edge_name")]
    pub edge_name: String,
    /// Secrets.
    pub secrets: Secrets,
    /// Datastreams served by the edges.
    #[serde(default)]
    pub datastreams: Vec<DatastreamConfig>,
    /// Request limits at the edges.
    #[serde(default)]
    pub limits: Limits,
    /// Identity namespaces and the graph cap.
    #[serde(default)]
    pub identity: IdentityConfig,
    /// Merge policy and the attributes edges keep.
    #[serde(default)]
    pub profile: ProfileConfig,
    /// Batch sources: datasets imported from files (`edgecdp import`, `POST
    /// /api/datasets/{id}/batches`, watched folders).
    #[serde(default)]
    pub datasets: Vec<DatasetConfig>,
    /// Segments (`[[segments]]`: id, name, pql, description), stored at start; the admin API
    /// changes them afterwards.
    #[serde(default)]
    pub segments: Vec<edgecdp_core::segment::set::Definition>,
    /// Computed attributes (`[[computed]]`: path, function, of, events, window_days).
    #[serde(default)]
    pub computed: Vec<edgecdp_core::profile::computed::ComputedConfig>,
    /// Activities (`[[activities]]`), stored at start; the admin API changes them afterwards.
    #[serde(default)]
    pub activities: Vec<edgecdp_core::decide::Activity>,
    /// Offers (`[[offers]]`), stored at start; the admin API changes them afterwards.
    #[serde(default)]
    pub offers: Vec<edgecdp_core::decide::Offer>,
    /// Storefront pages the native edge personalizes before serving them (`[pages]`).
    #[serde(default)]
    pub pages: PagesConfig,
    /// Set only by the embedded demo file: secrets are public, and the demo clock can be moved
    /// forward (`POST /api/clock`).
    #[serde(default)]
    pub demo: bool,
}

/// `[pages]`: the native edge's proxy mode. With `personalize = true`, every HTML page served
/// from `site_dir` is a page view through `datastream`: the edge decides the page's offers,
/// applies their DOM actions to the HTML and inlines its answer, so the page arrives personalized
/// (no flicker, no JavaScript needed) and sdk-js does not ask again.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PagesConfig {
    /// Personalize pages (`--personalize-pages`).
    #[serde(default)]
    pub personalize: bool,
    /// The datastream page views go through (default: the first one).
    #[serde(default)]
    pub datastream: Option<String>,
}

/// A dataset imported from files (`[[datasets]]`). Paths are relative to the working
/// directory, like `database`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetConfig {
    /// The dataset's id (`crm-contacts`): names its fragments, its events and its API path.
    pub id: String,
    /// What it holds: `profile` (one record a row) or `events` (XDM events, JSON Lines).
    pub kind: DatasetKind,
    /// A mapping file (JSON, see the README); without it, standard column names are auto-mapped.
    #[serde(default)]
    pub mapping: Option<PathBuf>,
    /// A folder `edgecdp serve` watches: each new `.csv`, `.jsonl` or `.ndjson` file in it is
    /// imported once (files are recognised by content; names starting with `.` are skipped,
    /// so write `.name.tmp` and rename when complete).
    #[serde(default)]
    pub watch_dir: Option<PathBuf>,
    /// How often the folder is scanned, in seconds (default 60). A file is imported once it
    /// has not changed between two scans.
    #[serde(default = "default_interval_secs")]
    pub interval_secs: u64,
}

fn default_interval_secs() -> u64 {
    60
}

/// Secrets shared with the edges.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Secrets {
    /// Keys that sign identity cookies: the first signs, every one verifies (rotation).
    pub cookie_keys: Vec<String>,
    /// The secret edges sign `/v1/sync` and `/v1/snapshot` calls with.
    pub sync_secret: String,
    /// API keys accepted by the admin API (`Authorization: Bearer <key>`).
    #[serde(default)]
    pub admin_api_keys: Vec<String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("cookie_keys", &format_args!("[{} redacted]", self.cookie_keys.len()))
            .field("sync_secret", &"redacted")
            .field("admin_api_keys", &format_args!("[{} redacted]", self.admin_api_keys.len()))
            .finish()
    }
}

fn default_edge_name() -> String {
    "native".into()
}

/// Values given on the command line or in the environment; each replaces the file's.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--listen` / `EDGECDP_LISTEN`.
    pub listen: Option<SocketAddr>,
    /// `--database` / `EDGECDP_DATABASE`.
    pub database: Option<PathBuf>,
    /// `--site-dir` / `EDGECDP_SITE_DIR`.
    pub site_dir: Option<PathBuf>,
    /// `--sdk-dir` / `EDGECDP_SDK_DIR`.
    pub sdk_dir: Option<PathBuf>,
    /// `--tls-cert` / `EDGECDP_TLS_CERT`.
    pub tls_cert: Option<PathBuf>,
    /// `--tls-key` / `EDGECDP_TLS_KEY`.
    pub tls_key: Option<PathBuf>,
    /// `--personalize-pages`: turns `[pages] personalize` on.
    pub personalize_pages: bool,
    /// `EDGECDP_COOKIE_KEYS` (comma-separated).
    pub cookie_keys: Option<String>,
    /// `EDGECDP_SYNC_SECRET`.
    pub sync_secret: Option<String>,
    /// `EDGECDP_ADMIN_API_KEYS` (comma-separated).
    pub admin_api_keys: Option<String>,
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

impl Config {
    /// Reads `path`, or the embedded demo configuration when `None`, then applies `overrides`.
    ///
    /// # Errors
    /// When the file cannot be read or parsed, or the result is not usable.
    pub fn load(path: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Config> {
        let (text, origin) = match path {
            Some(p) => (
                std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read the configuration file {}", p.display()))?,
                p.display().to_string(),
            ),
            None => (DEMO_CONFIG.to_owned(), "the embedded demo configuration".to_owned()),
        };
        let mut config: Config = toml::from_str(&text).with_context(|| format!("invalid configuration in {origin}"))?;
        config.apply(overrides);
        config.validate()?;
        Ok(config)
    }

    fn apply(&mut self, o: &Overrides) {
        if let Some(v) = o.listen {
            self.listen = v;
        }
        if let Some(v) = &o.database {
            self.database.clone_from(v);
        }
        if let Some(v) = &o.site_dir {
            self.site_dir = Some(v.clone());
        }
        if let Some(v) = &o.sdk_dir {
            self.sdk_dir = Some(v.clone());
        }
        if let Some(v) = &o.tls_cert {
            self.tls_cert = Some(v.clone());
        }
        if let Some(v) = &o.tls_key {
            self.tls_key = Some(v.clone());
        }
        if o.personalize_pages {
            self.pages.personalize = true;
        }
        if let Some(v) = &o.cookie_keys {
            self.secrets.cookie_keys = split_list(v);
        }
        if let Some(v) = &o.sync_secret {
            self.secrets.sync_secret.clone_from(v);
        }
        if let Some(v) = &o.admin_api_keys {
            self.secrets.admin_api_keys = split_list(v);
        }
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.secrets.cookie_keys.is_empty() {
            bail!("secrets.cookie_keys is empty: give at least one key (or EDGECDP_COOKIE_KEYS)");
        }
        if let Some(short) = self.secrets.cookie_keys.iter().find(|k| k.len() < 16) {
            bail!(
                "secrets.cookie_keys: a key of {} characters is too short; use at least 16 random characters",
                short.len()
            );
        }
        if self.secrets.sync_secret.len() < 16 {
            bail!("secrets.sync_secret must be at least 16 characters (or set EDGECDP_SYNC_SECRET)");
        }
        self.tls()?;
        if let Some(ds) = &self.pages.datastream
            && !self.datastreams.iter().any(|d| &d.id == ds)
        {
            bail!("pages.datastream: no datastream has the id {ds:?}");
        }
        for (i, d) in self.datasets.iter().enumerate() {
            let valid =
                !d.id.is_empty() && d.id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !valid {
                bail!("datasets[{i}].id: expected letters, digits, '-', '_' or '.', found {:?}", d.id);
            }
            if self.datasets[..i].iter().any(|e| e.id == d.id) {
                bail!("datasets[{i}].id: the dataset {:?} is declared twice", d.id);
            }
            if d.interval_secs == 0 {
                bail!("datasets[{i}].interval_secs: expected at least 1 second");
            }
        }
        Ok(())
    }

    /// The TLS certificate and key files, when HTTPS is configured.
    ///
    /// # Errors
    /// When only one of the two is given.
    pub fn tls(&self) -> anyhow::Result<Option<(&Path, &Path)>> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Ok(Some((cert, key))),
            (None, None) => Ok(None),
            (Some(_), None) => bail!(
                "tls_cert is set but tls_key is not: HTTPS needs both the certificate and its private key (--tls-key, EDGECDP_TLS_KEY or tls_key)"
            ),
            (None, Some(_)) => bail!(
                "tls_key is set but tls_cert is not: HTTPS needs both the certificate and its private key (--tls-cert, EDGECDP_TLS_CERT or tls_cert)"
            ),
        }
    }

    /// The dataset declared with this id.
    #[must_use]
    pub fn dataset(&self, id: &str) -> Option<&DatasetConfig> {
        self.datasets.iter().find(|d| d.id == id)
    }

    /// The part of the configuration that becomes the edges' definitions snapshot.
    #[must_use]
    pub fn snapshot_config(&self) -> SnapshotConfig {
        SnapshotConfig {
            datastreams: self.datastreams.clone(),
            limits: self.limits,
            identity: self.identity.clone(),
            profile: self.profile.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_demo_configuration_loads() {
        let c = Config::load(None, &Overrides::default()).unwrap();
        assert!(c.demo);
        assert_eq!(c.datastreams[0].id, "ds-luma");
        let (snap, warnings) = edgecdp_core::snapshot::Snapshot::build(&c.snapshot_config(), 1);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(snap.datastreams["ds-luma"].allows_origin("http://localhost:8080"));
    }

    #[test]
    fn overrides_replace_file_values() {
        let o = Overrides {
            listen: Some("127.0.0.1:0".parse().unwrap()),
            cookie_keys: Some("0123456789abcdef0123, older-key-0123456789".into()),
            ..Overrides::default()
        };
        let c = Config::load(None, &o).unwrap();
        assert_eq!(c.listen.port(), 0);
        assert_eq!(c.secrets.cookie_keys.len(), 2);
    }

    #[test]
    fn datasets_are_declared_once_with_usable_ids() {
        let c = Config::load(None, &Overrides::default()).unwrap();
        assert_eq!(c.dataset("crm-contacts").map(|d| d.kind), Some(DatasetKind::Profile));
        assert_eq!(c.dataset("web-history").map(|d| d.kind), Some(DatasetKind::Events));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        for (extra, complaint) in [
            ("[[datasets]]\nid = \"crm-contacts\"\nkind = \"profile\"\n", "declared twice"),
            ("[[datasets]]\nid = \"a b\"\nkind = \"profile\"\n", "datasets[3].id"),
            ("[[datasets]]\nid = \"x\"\nkind = \"profile\"\ninterval_secs = 0\n", "interval_secs"),
            ("[[datasets]]\nid = \"x\"\nkind = \"people\"\n", "people"),
            ("[[datasets]]\nid = \"x\"\nkind = \"profile\"\nwatch = \"in\"\n", "watch"),
        ] {
            std::fs::write(&p, format!("{DEMO_CONFIG}\n{extra}")).unwrap();
            let err = format!("{:#}", Config::load(Some(&p), &Overrides::default()).unwrap_err());
            assert!(err.contains(complaint), "{err}");
        }
    }

    #[test]
    fn tls_needs_both_the_certificate_and_the_key() {
        let c = Config::load(None, &Overrides::default()).unwrap();
        assert!(c.tls().unwrap().is_none());
        let o = Overrides { tls_cert: Some("c.pem".into()), ..Overrides::default() };
        let err = Config::load(None, &o).unwrap_err().to_string();
        assert!(err.contains("tls_key") && err.contains("--tls-key"), "{err}");
        let o = Overrides { tls_key: Some("k.pem".into()), ..Overrides::default() };
        let err = Config::load(None, &o).unwrap_err().to_string();
        assert!(err.contains("tls_cert") && err.contains("--tls-cert"), "{err}");
        // The file's keys, completed or replaced by overrides.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, format!("tls_cert = \"certs/c.pem\"\n{DEMO_CONFIG}")).unwrap();
        let err = Config::load(Some(&p), &Overrides::default()).unwrap_err().to_string();
        assert!(err.contains("tls_key"), "{err}");
        let o = Overrides { tls_key: Some("k.pem".into()), ..Overrides::default() };
        let c = Config::load(Some(&p), &o).unwrap();
        assert_eq!(c.tls().unwrap(), Some((Path::new("certs/c.pem"), Path::new("k.pem"))));
    }

    #[test]
    fn unknown_keys_and_weak_secrets_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, DEMO_CONFIG.replace("listen =", "lisen =")).unwrap();
        let err = format!("{:#}", Config::load(Some(&p), &Overrides::default()).unwrap_err());
        assert!(err.contains("lisen"), "{err}");
        let o = Overrides { sync_secret: Some("short".into()), ..Overrides::default() };
        let err = Config::load(None, &o).unwrap_err().to_string();
        assert!(err.contains("sync_secret"), "{err}");
    }
}
