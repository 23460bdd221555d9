//! Env bindings, looked up by name; a missing one is an error that names it.

use worker::Env;

/// What the worker reads from its bindings.
pub(crate) struct Bindings {
    pub(crate) origin_url: String,
    pub(crate) edge_name: String,
    pub(crate) sync_secret: Vec<u8>,
    pub(crate) cookie_keys: Vec<Vec<u8>>,
    /// How long a definitions snapshot serves before the origin is asked again, in ms.
    pub(crate) snapshot_recheck_ms: i64,
}

/// A binding that is missing or empty.
#[derive(Debug)]
pub(crate) struct MissingBinding(pub(crate) &'static str);

impl std::fmt::Display for MissingBinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the worker binding {} is missing or empty (set it in wrangler.toml, .dev.vars or with `wrangler secret put`)",
            self.0
        )
    }
}

fn text(env: &Env, name: &'static str) -> Result<String, MissingBinding> {
    env.var(name)
        .map(|v| v.to_string())
        .or_else(|_| env.secret(name).map(|s| s.to_string()))
        .ok()
        .filter(|s| !s.trim().is_empty())
        .ok_or(MissingBinding(name))
}

impl Bindings {
    /// Reads every binding.
    pub(crate) fn read(env: &Env) -> Result<Bindings, MissingBinding> {
        let cookie_keys: Vec<Vec<u8>> = text(env, "EDGECDP_COOKIE_KEYS")?
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(|k| k.as_bytes().to_vec())
            .collect();
        Ok(Bindings {
            origin_url: text(env, "EDGECDP_ORIGIN_URL")?.trim_end_matches('/').to_owned(),
            edge_name: text(env, "EDGECDP_EDGE_NAME").unwrap_or_else(|_| "worker".into()),
            sync_secret: text(env, "EDGECDP_SYNC_SECRET")?.into_bytes(),
            cookie_keys,
            snapshot_recheck_ms: text(env, "EDGECDP_SNAPSHOT_RECHECK_SECS")
                .ok()
                .and_then(|s| s.trim().parse::<i64>().ok())
                .filter(|s| *s >= 0)
                .map_or(30_000, |s| s * 1000),
        })
    }
}
