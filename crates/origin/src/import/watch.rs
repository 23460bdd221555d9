//! Scheduled import: `edgecdp serve` scans each dataset's `watch_dir` every `interval_secs`
//! and imports each new `.csv`, `.jsonl` or `.ndjson` file once.
//!
//! A file is imported once its size and modification time are the same in two scans in a row
//! (so a file still being written is left alone), and only if the store's import log has no
//! file of the same content for the dataset. Names starting with `.` are skipped: write
//! `.contacts.csv.tmp` and rename it when complete.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use edgecdp_core::identity::Namespaces;
use edgecdp_core::profile::mapping::content_hash;

use super::{Format, ImportError, MappingChoice, prepare, run};
use crate::config::DatasetConfig;
use crate::store::Store;

/// A file's size and modification time.
type Stamp = (u64, Option<SystemTime>);

/// Starts one watcher task per dataset with a `watch_dir` (call inside the Tokio runtime).
pub fn spawn(datasets: &[DatasetConfig], store: &Arc<dyn Store>, namespaces: &Namespaces) {
    for dataset in datasets.iter().filter(|d| d.watch_dir.is_some()) {
        let mut watcher = Watcher {
            dataset: dataset.clone(),
            namespaces: namespaces.clone(),
            seen: HashMap::new(),
            done: HashMap::new(),
            missing_reported: false,
        };
        let store = Arc::clone(store);
        tracing::info!(dataset = %dataset.id, dir = ?dataset.watch_dir, every_secs = dataset.interval_secs, "watching a folder for new files");
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(watcher.dataset.interval_secs));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let store = Arc::clone(&store);
                match tokio::task::spawn_blocking(move || {
                    watcher.scan(store.as_ref());
                    watcher
                })
                .await
                {
                    Ok(w) => watcher = w,
                    Err(e) => {
                        tracing::error!(error = %e, "the folder watcher stopped");
                        return;
                    }
                }
            }
        });
    }
}

/// One dataset's folder.
struct Watcher {
    dataset: DatasetConfig,
    namespaces: Namespaces,
    /// What the previous scan saw.
    seen: HashMap<PathBuf, Stamp>,
    /// Files handled (imported, known, or refused) as they were then.
    done: HashMap<PathBuf, Stamp>,
    missing_reported: bool,
}

impl Watcher {
    fn scan(&mut self, store: &dyn Store) {
        let Some(dir) = self.dataset.watch_dir.clone() else {
            return;
        };
        let files = match candidates(&dir) {
            Ok(files) => {
                self.missing_reported = false;
                files
            }
            Err(e) => {
                if !self.missing_reported {
                    tracing::warn!(dataset = %self.dataset.id, dir = %dir.display(), error = %e, "cannot read the watched folder");
                    self.missing_reported = true;
                }
                return;
            }
        };
        let mut seen = HashMap::new();
        for (path, stamp) in files {
            let stable = self.seen.get(&path) == Some(&stamp);
            let handled = self.done.get(&path) == Some(&stamp);
            seen.insert(path.clone(), stamp);
            if !stable || handled {
                continue;
            }
            match self.import(&path, store) {
                Ok(()) => {
                    self.done.insert(path, stamp);
                }
                // The store may come back: try again on the next scan.
                Err(ImportError::Store(e)) => {
                    tracing::error!(dataset = %self.dataset.id, file = %path.display(), error = %e, "import failed; will retry");
                }
                // The file itself is wrong: report once, try again when it changes.
                Err(e) => {
                    tracing::error!(dataset = %self.dataset.id, file = %path.display(), "import refused: {e}");
                    self.done.insert(path, stamp);
                }
            }
        }
        self.done.retain(|p, _| seen.contains_key(p));
        self.seen = seen;
    }

    fn import(&self, path: &Path, store: &dyn Store) -> Result<(), ImportError> {
        let started = Instant::now();
        let Some(format) = Format::from_path(path) else {
            return Ok(());
        };
        let bytes =
            std::fs::read(path).map_err(|source| ImportError::File { path: path.display().to_string(), source })?;
        if store.imported_file(&self.dataset.id, &content_hash(&bytes))?.is_some() {
            tracing::debug!(dataset = %self.dataset.id, file = %path.display(), "already imported");
            return Ok(());
        }
        let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
        let choice = MappingChoice::pick(None, self.dataset.mapping.as_deref());
        let prepared =
            prepare(&self.dataset.id, Some(self.dataset.kind), &bytes, format, choice, &self.namespaces, &name)?;
        let s = run(store, &prepared, crate::server::now(), started, &mut |_| {})?;
        tracing::info!(
            dataset = %s.dataset, file = %s.file, rows = s.rows_read, imported = s.imported,
            already_imported = s.already_imported, quarantined = s.quarantined, "file imported"
        );
        for r in s.quarantined_rows.iter().take(5) {
            tracing::warn!(dataset = %s.dataset, file = %s.file, row = r.row, "row quarantined: {}", r.reasons.join("; "));
        }
        Ok(())
    }
}

/// The importable files of a folder, by name, with their stamps.
fn candidates(dir: &Path) -> std::io::Result<Vec<(PathBuf, Stamp)>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if hidden || Format::from_path(&path).is_none() {
            continue;
        }
        let meta = entry.metadata()?;
        if meta.is_file() {
            files.push((path, (meta.len(), meta.modified().ok())));
        }
    }
    files.sort();
    Ok(files)
}
