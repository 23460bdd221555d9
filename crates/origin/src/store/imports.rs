//! The import log in SQLite: which files each dataset has imported, known by content hash, so
//! a watched folder imports each new file once.

use edgecdp_core::time::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

use super::{ImportedFile, StoreError};

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The recorded import of a file.
pub(super) fn imported_file(
    conn: &Connection,
    dataset: &str,
    content_hash: &str,
) -> Result<Option<ImportedFile>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT file, at, rows, quarantined FROM imports WHERE dataset = ?1 AND content_hash = ?2")?
        .query_row(params![dataset, content_hash], |r| {
            Ok(ImportedFile {
                content_hash: content_hash.to_owned(),
                file: r.get(0)?,
                at: Timestamp(r.get(1)?),
                rows: usize::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                quarantined: usize::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
            })
        })
        .optional()?)
}

/// Records an import; the first record of a file stays.
pub(super) fn record_import(conn: &Connection, dataset: &str, file: &ImportedFile) -> Result<bool, StoreError> {
    let added = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO imports (dataset, content_hash, file, at, rows, quarantined)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            dataset,
            file.content_hash,
            file.file,
            file.at.millis(),
            count(file.rows),
            count(file.quarantined)
        ])?;
    Ok(added == 1)
}
