//! Batch sources: a dataset's files read ([`read`]), mapped by the core's rules
//! (`edgecdp_core::profile::mapping`) and stored in chunks of up to 1,000 rows, each one sync
//! batch applied in one transaction. Batch ids derive from the dataset, the file's content and
//! the chunk, so importing the same file again changes nothing. Rows that cannot be imported
//! are quarantined with their reasons and reported, never dropped. [`watch`] imports new files
//! dropped in a dataset's folder.
//!
//! Used by `edgecdp import`, `POST /api/datasets/{id}/batches` and the folder watcher alike.

pub mod read;
pub mod watch;

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use edgecdp_core::identity::Namespaces;
use edgecdp_core::profile::mapping::{
    self, CHUNK_ROWS, DatasetKind, MappedEvent, MappedRow, Mapping, MappingConfig, MappingError,
};
use edgecdp_core::time::Timestamp;
use serde::Serialize;

pub use read::{Format, ReadError, RowContent, SourceRow, Table, read_table};

use crate::store::{ImportedFile, QuarantinedRow, Store, StoreError};

/// Why a file could not be imported at all (row problems quarantine rows instead).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The source file cannot be read.
    #[error("cannot read {path}: {source}")]
    File {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The mapping file cannot be read.
    #[error("cannot read the mapping file {path}: {source}")]
    MappingFile {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The mapping file is not a mapping.
    #[error("the mapping file {path} is not a valid mapping: {source}")]
    MappingJson {
        /// The file.
        path: String,
        /// Why.
        source: serde_json::Error,
    },
    /// The mapping is for the other kind of dataset.
    #[error("the dataset {dataset} holds {declared} but the mapping {path} is for {mapping}")]
    KindMismatch {
        /// The dataset.
        dataset: String,
        /// Its configured kind.
        declared: DatasetKind,
        /// The mapping's kind.
        mapping: DatasetKind,
        /// The mapping file.
        path: String,
    },
    /// The file cannot be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The mapping does not fit the file.
    #[error("the mapping does not fit the file:{}", .0.iter().map(|e| format!("\n  - {e}")).collect::<String>())]
    Mapping(Vec<MappingError>),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where a dataset's mapping comes from.
#[derive(Debug, Clone, Copy)]
pub enum MappingChoice<'a> {
    /// A mapping file given for this import (`--mapping`).
    File(&'a Path),
    /// The dataset's configured mapping file.
    Dataset(&'a Path),
    /// Standard column names (profile datasets); events carry their own identities.
    Auto,
}

impl<'a> MappingChoice<'a> {
    /// `--mapping` if given, else the dataset's mapping, else auto-mapping.
    #[must_use]
    pub fn pick(explicit: Option<&'a Path>, configured: Option<&'a Path>) -> MappingChoice<'a> {
        match (explicit, configured) {
            (Some(p), _) => MappingChoice::File(p),
            (None, Some(p)) => MappingChoice::Dataset(p),
            (None, None) => MappingChoice::Auto,
        }
    }

    /// The mapping file's content, if the choice is a file.
    ///
    /// # Errors
    /// [`ImportError::MappingFile`] or [`ImportError::MappingJson`].
    pub fn load(self) -> Result<Option<MappingConfig>, ImportError> {
        let (MappingChoice::File(path) | MappingChoice::Dataset(path)) = self else {
            return Ok(None);
        };
        let shown = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|source| ImportError::MappingFile { path: shown.clone(), source })?;
        serde_json::from_str(&text).map(Some).map_err(|source| ImportError::MappingJson { path: shown, source })
    }
}

/// A column and what it maps to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnTarget {
    /// The column.
    pub column: String,
    /// `identity CRMID`, `loyalty.points (integer)`, `the row's time`.
    pub target: String,
}

/// The mapping an import used.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MappingReport {
    /// `file` (given for the import), `dataset` (configured) or `auto`.
    pub source: &'static str,
    /// The mapping file, when there was one.
    pub path: Option<String>,
    /// What each mapped column became.
    pub columns: Vec<ColumnTarget>,
    /// Columns nothing reads.
    pub unmapped: Vec<String>,
    /// The mapping itself (the format of a mapping file).
    pub mapping: MappingConfig,
}

/// A file ready to import: its rows and the mapping that reads them.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The dataset.
    pub dataset: String,
    /// Its kind.
    pub kind: DatasetKind,
    /// The rows.
    pub table: Table,
    /// The compiled mapping.
    pub mapping: Mapping,
    /// What mapping it is.
    pub report: MappingReport,
    /// SHA-256 of the file's bytes (hex).
    pub content_hash: String,
    /// Where the file came from (a file name, `api`).
    pub origin: String,
}

/// Reads a file of `dataset` and builds its mapping. `kind` is the dataset's configured kind;
/// `None` when the dataset is not configured (then a mapping file must give it).
///
/// # Errors
/// [`ImportError`] when the mapping cannot be loaded or does not fit, or the file cannot be read.
pub fn prepare(
    dataset: &str,
    kind: Option<DatasetKind>,
    bytes: &[u8],
    format: Format,
    choice: MappingChoice<'_>,
    namespaces: &Namespaces,
    origin: &str,
) -> Result<Prepared, ImportError> {
    let loaded = choice.load()?;
    let path = match choice {
        MappingChoice::File(p) | MappingChoice::Dataset(p) => Some(p.display().to_string()),
        MappingChoice::Auto => None,
    };
    if let (Some(declared), Some(m)) = (kind, &loaded)
        && declared != m.kind
    {
        return Err(ImportError::KindMismatch {
            dataset: dataset.to_owned(),
            declared,
            mapping: m.kind,
            path: path.unwrap_or_default(),
        });
    }
    let kind = loaded.as_ref().map_or(kind.unwrap_or_default(), |m| m.kind);
    let table = read_table(bytes, format, kind)?;
    let (config, unmapped, source) = match loaded {
        Some(config) => {
            let used: Vec<String> = config.targets().into_iter().map(|(c, _)| c).collect();
            let unmapped = table.columns.iter().filter(|c| !used.contains(c)).cloned().collect();
            let source = if matches!(choice, MappingChoice::File(_)) { "file" } else { "dataset" };
            (config, unmapped, source)
        }
        None if kind == DatasetKind::Events => (MappingConfig::events(), Vec::new(), "auto"),
        None => {
            let (config, unmapped) = mapping::auto_mapping(&table.columns, namespaces);
            (config, unmapped, "auto")
        }
    };
    let mapping = config.build(&table.columns, namespaces).map_err(ImportError::Mapping)?;
    let mut columns =
        config.targets().into_iter().map(|(column, target)| ColumnTarget { column, target }).collect::<Vec<_>>();
    columns.sort_by_key(|c| table.columns.iter().position(|h| *h == c.column));
    Ok(Prepared {
        dataset: dataset.to_owned(),
        kind,
        table,
        mapping,
        report: MappingReport { source, path, columns, unmapped, mapping: config },
        content_hash: mapping::content_hash(bytes),
        origin: origin.to_owned(),
    })
}

/// A quarantined row, for reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowReport {
    /// Its number (1 = the first data row).
    pub row: usize,
    /// Every problem.
    pub reasons: Vec<String>,
}

/// What an import did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// The dataset.
    pub dataset: String,
    /// Its kind.
    pub kind: DatasetKind,
    /// `csv` or `jsonl`.
    pub format: &'static str,
    /// Where the file came from.
    pub file: String,
    /// SHA-256 of the file (hex).
    pub content_hash: String,
    /// Data rows read.
    pub rows_read: usize,
    /// Rows stored by this import.
    pub imported: usize,
    /// Rows whose batch an earlier import of the same file had stored (nothing changed).
    pub already_imported: usize,
    /// Rows quarantined.
    pub quarantined: usize,
    /// The quarantined rows with their reasons.
    pub quarantined_rows: Vec<RowReport>,
    /// Batches applied now.
    pub batches_applied: usize,
    /// Batches applied before (by an earlier import of the same file).
    pub batches_already_applied: usize,
    /// Events newly stored (events datasets).
    pub events_stored: usize,
    /// How long the import took, in seconds.
    pub seconds: f64,
    /// Rows read per second.
    pub rows_per_second: f64,
    /// The mapping used.
    pub mapping: MappingReport,
}

/// One row, mapped or not.
enum Outcome {
    Row(MappedRow),
    Event(MappedEvent),
    Bad(Vec<String>),
}

fn map_one(p: &Prepared, row: &SourceRow, now: Timestamp) -> Outcome {
    let key = mapping::import_row_key(&p.dataset, &p.content_hash, row.number);
    let reasons = |problems: Vec<mapping::RowProblem>| Outcome::Bad(problems.iter().map(ToString::to_string).collect());
    match &row.content {
        RowContent::Cells(cells) => {
            let writer = mapping::import_writer(&p.content_hash);
            match p.mapping.map_row(cells, &p.dataset, &writer, now) {
                Ok(r) => Outcome::Row(r),
                Err(problems) => reasons(problems),
            }
        }
        RowContent::Event(value) => match p.mapping.map_event(value.clone(), &p.dataset, now, &key) {
            Ok(e) => Outcome::Event(e),
            Err(problems) => reasons(problems),
        },
        RowContent::Unreadable(reason) => Outcome::Bad(vec![reason.clone()]),
    }
}

/// Imports a prepared file into the store, chunk by chunk; `progress` is told the rows done
/// after each chunk. Rows without a time of their own are written at `now`. The import is
/// recorded in the store's import log.
///
/// # Errors
/// [`StoreError`] when the store fails; chunks stored before stay stored (importing the file
/// again completes it without repeating them).
pub fn run(
    store: &dyn Store,
    p: &Prepared,
    now: Timestamp,
    started: Instant,
    progress: &mut dyn FnMut(usize),
) -> Result<Summary, StoreError> {
    let mut s = Summary {
        dataset: p.dataset.clone(),
        kind: p.kind,
        format: p.table.format.as_str(),
        file: p.origin.clone(),
        content_hash: p.content_hash.clone(),
        rows_read: p.table.rows.len(),
        imported: 0,
        already_imported: 0,
        quarantined: 0,
        quarantined_rows: Vec::new(),
        batches_applied: 0,
        batches_already_applied: 0,
        events_stored: 0,
        seconds: 0.0,
        rows_per_second: 0.0,
        mapping: p.report.clone(),
    };
    let mut done = 0;
    for (chunk, rows) in p.table.rows.chunks(CHUNK_ROWS).enumerate() {
        let mut mapped = Vec::new();
        let mut events = Vec::new();
        let mut bad = Vec::new();
        for row in rows {
            match map_one(p, row, now) {
                Outcome::Row(r) => mapped.push(r),
                Outcome::Event(e) => events.push(e),
                Outcome::Bad(reasons) => {
                    bad.push(QuarantinedRow { row: row.number, reason: reasons.join("\n"), raw: row.raw.clone() });
                    s.quarantined_rows.push(RowReport { row: row.number, reasons });
                }
            }
        }
        let good = mapped.len() + events.len();
        let batch = mapping::import_batch(&p.dataset, &p.content_hash, chunk, now, mapped, events);
        if !bad.is_empty() {
            store.quarantine(&p.dataset, &batch.batch_id, &bad)?;
        }
        let applied = store.apply_batch(&batch, now)?;
        if applied.applied {
            s.batches_applied += 1;
            s.imported += good;
            s.events_stored += applied.events;
        } else {
            s.batches_already_applied += 1;
            s.already_imported += good;
        }
        s.quarantined += bad.len();
        done += rows.len();
        progress(done);
    }
    store.record_import(
        &p.dataset,
        &ImportedFile {
            content_hash: p.content_hash.clone(),
            file: p.origin.clone(),
            at: now,
            rows: s.rows_read,
            quarantined: s.quarantined,
        },
    )?;
    s.seconds = started.elapsed().as_secs_f64();
    #[allow(clippy::cast_precision_loss)]
    let rows = s.rows_read as f64;
    s.rows_per_second = if s.seconds > 0.0 { rows / s.seconds } else { 0.0 };
    Ok(s)
}

/// The mapping in words: one line per mapped column, then the unmapped ones.
#[must_use]
pub fn describe_mapping(r: &MappingReport) -> String {
    let mut out = match (&r.path, r.source) {
        (Some(path), _) => format!("mapping: {path}\n"),
        (None, _) if r.columns.is_empty() => "mapping: events carry their own identities and times\n".to_owned(),
        (None, _) => "mapping: auto-mapped from standard column names\n".to_owned(),
    };
    for (i, c) in r.columns.iter().enumerate() {
        if i > 0 && r.columns[i - 1].column == c.column {
            let _ = write!(out, ", {}", c.target);
        } else {
            let _ = write!(out, "{}  {} -> {}", if i > 0 { "\n" } else { "" }, c.column, c.target);
        }
    }
    if !r.columns.is_empty() {
        out.push('\n');
    }
    if !r.unmapped.is_empty() {
        let _ = writeln!(out, "  not mapped: {}", r.unmapped.join(", "));
    }
    out
}

/// What a dry run shows: the mapping, the first `n` rows as mapped (identities and attributes,
/// or the reasons they would be quarantined), and how many rows would import.
#[must_use]
pub fn preview(p: &Prepared, now: Timestamp, n: usize) -> String {
    let mut out = describe_mapping(&p.report);
    let mut good = 0;
    let mut bad = 0;
    for (i, row) in p.table.rows.iter().enumerate() {
        let outcome = map_one(p, row, now);
        if matches!(outcome, Outcome::Bad(_)) {
            bad += 1;
        } else {
            good += 1;
        }
        if i >= n {
            continue;
        }
        let _ = write!(out, "row {}: ", row.number);
        match outcome {
            Outcome::Row(r) => {
                let ids: Vec<String> = r.identities.iter().map(ToString::to_string).collect();
                let _ = writeln!(out, "{}", ids.join(", "));
                for (path, reg) in &r.fragment.attrs {
                    let value = serde_json::to_string(&reg.value).unwrap_or_default();
                    let _ = writeln!(out, "    {path} = {value}  (at {})", reg.at);
                }
            }
            Outcome::Event(e) => {
                let ev = &e.event;
                let kind = ev.event_type.as_deref().unwrap_or("(no eventType)");
                let _ = writeln!(out, "{} {kind} at {} (event {})", ev.identity, ev.timestamp, ev.event_id);
            }
            Outcome::Bad(reasons) => {
                let _ = writeln!(out, "would be quarantined: {}", reasons.join("; "));
            }
        }
    }
    let _ = writeln!(
        out,
        "dry run: {} rows read, {good} would import, {bad} would be quarantined; nothing written",
        good + bad
    );
    out
}

/// The summary in words, with the first `reasons` quarantined rows.
#[must_use]
pub fn describe_summary(s: &Summary, reasons: usize) -> String {
    let mut out = format!(
        "{}: {} rows read from {}: {} imported, {} already imported before, {} quarantined\n",
        s.dataset, s.rows_read, s.file, s.imported, s.already_imported, s.quarantined
    );
    let _ = writeln!(
        out,
        "batches: {} applied, {} already applied (unchanged); {} events stored; {:.2} s, {:.0} rows/s",
        s.batches_applied, s.batches_already_applied, s.events_stored, s.seconds, s.rows_per_second
    );
    for r in s.quarantined_rows.iter().take(reasons) {
        let _ = writeln!(out, "  quarantined row {}: {}", r.row, r.reasons.join("; "));
    }
    if s.quarantined_rows.len() > reasons {
        let _ = writeln!(
            out,
            "  ... and {} more (GET /api/datasets/{}/quarantine lists them all)",
            s.quarantined_rows.len() - reasons,
            s.dataset
        );
    }
    out
}

#[cfg(test)]
mod tests;
