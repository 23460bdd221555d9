//! Reading source files into rows: CSV (a header row naming the columns is required) and JSON
//! Lines (one JSON object a line; for profile datasets each object is flattened to dotted
//! column names by the core).

use std::collections::HashMap;
use std::path::Path;

use edgecdp_core::profile::mapping::{DatasetKind, flatten_object};
use edgecdp_core::value::Value;

/// A source file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object a line (`.jsonl`, `.ndjson`).
    JsonLines,
}

impl Format {
    /// The format a file name says (`.csv`, `.jsonl`, `.ndjson`, any case).
    #[must_use]
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(Format::Csv),
            "jsonl" | "ndjson" => Some(Format::JsonLines),
            _ => None,
        }
    }

    /// The format of a `content-type` (`text/csv`, `application/x-ndjson`, `application/jsonl`).
    #[must_use]
    pub fn from_content_type(content_type: &str) -> Option<Format> {
        let media = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match media.as_str() {
            "text/csv" => Some(Format::Csv),
            "application/x-ndjson" | "application/jsonl" | "application/x-jsonlines" => Some(Format::JsonLines),
            _ => None,
        }
    }

    /// Short name (`csv`, `jsonl`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::JsonLines => "jsonl",
        }
    }
}

/// What a row holds once read.
#[derive(Debug, Clone, PartialEq)]
pub enum RowContent {
    /// Cells in column order (profile datasets).
    Cells(Vec<String>),
    /// One event (events datasets).
    Event(Value),
    /// The row could not be read; it is quarantined with this reason.
    Unreadable(String),
}

/// One data row.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRow {
    /// Its number: 1 = the first data row (a CSV header is not counted; in JSON Lines, the
    /// line number).
    pub number: usize,
    /// The row as the file has it (kept for quarantine).
    pub raw: String,
    /// What was read.
    pub content: RowContent,
}

/// A file read into rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Its format.
    pub format: Format,
    /// The columns (CSV header, or every flattened name in a JSON Lines profile file, in order
    /// of first appearance); none for events.
    pub columns: Vec<String>,
    /// The data rows.
    pub rows: Vec<SourceRow>,
}

/// A file that cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// An empty CSV file.
    #[error("the CSV file has no header row: its first line must name the columns")]
    NoHeader,
    /// A header cell that is not UTF-8.
    #[error("the CSV header's column {0} is not UTF-8 text")]
    HeaderNotUtf8(usize),
    /// A CSV file given for an events dataset.
    #[error("an events dataset is read from JSON Lines (one XDM event a line), not CSV")]
    EventsFromCsv,
}

/// Reads a file's rows. Rows that cannot be read (not UTF-8, not JSON, not an object) are kept
/// as [`RowContent::Unreadable`] so they are quarantined, not dropped.
///
/// # Errors
/// [`ReadError`] when the file as a whole cannot be read.
pub fn read_table(bytes: &[u8], format: Format, kind: DatasetKind) -> Result<Table, ReadError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match format {
        Format::Csv if kind == DatasetKind::Events => Err(ReadError::EventsFromCsv),
        Format::Csv => read_csv(bytes),
        Format::JsonLines => Ok(read_json_lines(bytes, kind)),
    }
}

fn read_csv(bytes: &[u8]) -> Result<Table, ReadError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).has_headers(true).from_reader(bytes);
    let header = reader.byte_headers().map_err(|_| ReadError::NoHeader)?.clone();
    if header.is_empty() {
        return Err(ReadError::NoHeader);
    }
    let columns = header
        .iter()
        .enumerate()
        .map(|(i, c)| std::str::from_utf8(c).map(|c| c.trim().to_owned()).map_err(|_| ReadError::HeaderNotUtf8(i + 1)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut rows = Vec::new();
    for (i, record) in reader.byte_records().enumerate() {
        let number = i + 1;
        let row = match record {
            Ok(record) => {
                let cells: Result<Vec<String>, _> =
                    record.iter().map(|c| std::str::from_utf8(c).map(str::to_owned)).collect();
                match cells {
                    Ok(cells) => SourceRow { number, raw: csv_line(&cells), content: RowContent::Cells(cells) },
                    Err(_) => SourceRow {
                        number,
                        raw: record.iter().map(String::from_utf8_lossy).collect::<Vec<_>>().join(","),
                        content: RowContent::Unreadable("the row is not UTF-8 text".into()),
                    },
                }
            }
            Err(e) => SourceRow {
                number,
                raw: String::new(),
                content: RowContent::Unreadable(format!("the row cannot be read as CSV: {e}")),
            },
        };
        rows.push(row);
    }
    Ok(Table { format: Format::Csv, columns, rows })
}

/// Cells written back as one CSV line (for quarantine).
fn csv_line(cells: &[String]) -> String {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    if w.write_record(cells).is_err() {
        return cells.join(",");
    }
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8_lossy(&bytes).trim_end_matches('\n').to_owned()
}

fn read_json_lines(bytes: &[u8], kind: DatasetKind) -> Table {
    enum Read {
        Flat(Vec<(String, String)>),
        Done(RowContent),
    }
    let text = String::from_utf8_lossy(bytes);
    let mut columns: Vec<String> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut read = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let content = match serde_json::from_str::<Value>(line) {
            Err(e) => Read::Done(RowContent::Unreadable(format!("the line is not JSON: {e}"))),
            Ok(value) if kind == DatasetKind::Events => Read::Done(RowContent::Event(value)),
            Ok(value) => match flatten_object(&value) {
                Ok(cells) => {
                    for (name, _) in &cells {
                        if !index.contains_key(name) {
                            index.insert(name.clone(), columns.len());
                            columns.push(name.clone());
                        }
                    }
                    Read::Flat(cells)
                }
                Err(problem) => Read::Done(RowContent::Unreadable(problem.to_string())),
            },
        };
        read.push((i + 1, line.to_owned(), content));
    }
    let rows = read
        .into_iter()
        .map(|(number, raw, content)| {
            let content = match content {
                Read::Done(c) => c,
                Read::Flat(cells) => {
                    let mut row = vec![String::new(); columns.len()];
                    for (name, value) in cells {
                        if let Some(&i) = index.get(&name) {
                            row[i] = value;
                        }
                    }
                    RowContent::Cells(row)
                }
            };
            SourceRow { number, raw, content }
        })
        .collect();
    Table { format: Format::JsonLines, columns, rows }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_keep_their_numbers_and_bad_rows_stay() {
        let bytes = b"\xEF\xBB\xBFcrm_id, email\ncrm-1,a@example.com\n\"crm,2\",\"b\"\"q\"\ncrm-3,\xFF\n";
        let t = read_table(bytes, Format::Csv, DatasetKind::Profile).unwrap();
        assert_eq!(t.columns, ["crm_id", "email"]);
        assert_eq!(t.rows.len(), 3);
        assert_eq!(t.rows[1].content, RowContent::Cells(vec!["crm,2".into(), "b\"q".into()]));
        assert_eq!(t.rows[1].raw, "\"crm,2\",\"b\"\"q\"");
        assert_eq!(
            (t.rows[2].number, &t.rows[2].content),
            (3, &RowContent::Unreadable("the row is not UTF-8 text".into()))
        );
        assert_eq!(read_table(b"", Format::Csv, DatasetKind::Profile), Err(ReadError::NoHeader));
        assert_eq!(read_table(b"a\n", Format::Csv, DatasetKind::Events), Err(ReadError::EventsFromCsv));
    }

    #[test]
    fn json_lines_flatten_for_profiles_and_stay_whole_for_events() {
        let text =
            b"{\"crmId\":\"c1\",\"loyalty\":{\"tier\":\"Gold\"}}\n\nnot json\n{\"crmId\":\"c2\",\"points\":3}\n[1]\n";
        let t = read_table(text, Format::JsonLines, DatasetKind::Profile).unwrap();
        assert_eq!(t.columns, ["crmId", "loyalty.tier", "points"]);
        let numbers: Vec<usize> = t.rows.iter().map(|r| r.number).collect();
        assert_eq!(numbers, [1, 3, 4, 5], "line numbers; blank lines skipped");
        assert_eq!(t.rows[2].content, RowContent::Cells(vec!["c2".into(), String::new(), "3".into()]));
        assert!(matches!(&t.rows[1].content, RowContent::Unreadable(r) if r.starts_with("the line is not JSON")));
        assert_eq!(t.rows[3].content, RowContent::Unreadable("expected a JSON object, found an array".into()));
        let events = read_table(text, Format::JsonLines, DatasetKind::Events).unwrap();
        assert!(events.columns.is_empty());
        assert!(matches!(events.rows[0].content, RowContent::Event(_)));
    }

    #[test]
    fn formats_come_from_names_and_content_types() {
        assert_eq!(Format::from_path(Path::new("a/B.CSV")), Some(Format::Csv));
        assert_eq!(Format::from_path(Path::new("x.ndjson")), Some(Format::JsonLines));
        assert_eq!(Format::from_path(Path::new("x.json")), None);
        assert_eq!(Format::from_content_type("text/csv; charset=utf-8"), Some(Format::Csv));
        assert_eq!(Format::from_content_type("application/x-ndjson"), Some(Format::JsonLines));
        assert_eq!(Format::from_content_type("application/json"), None);
    }
}
