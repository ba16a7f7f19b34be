//! What the CSV loaders ([`crate::load_csv`], [`crate::load_labelled_texts`]) share: reading and
//! checking the header row (an empty file, a blank header, duplicate column names), and the
//! wording of the `csv` crate's errors (1-based lines, counting the header as line 1).

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use kensho_core::{Error, Result};

/// Reads the header row and checks it: the file must not be empty (0 bytes or only whitespace),
/// the header not blank, and no column name may appear twice.
///
/// `gzip` says whether the bytes come from a gzip stream, for the wording of read errors.
pub(crate) fn read_header<R: Read>(rdr: &mut csv::Reader<R>, source: &Path, gzip: bool) -> Result<Vec<String>> {
    let fail = |reason: String| Error::parse(source, reason);
    let header: Vec<String> = rdr.headers().map_err(|e| fail(describe(&e, gzip)))?.iter().map(str::to_string).collect();
    if header.iter().all(|h| h.trim().is_empty()) {
        for record in rdr.records() {
            match record {
                Ok(r) if r.iter().all(|c| c.trim().is_empty()) => continue,
                Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_) | csv::ErrorKind::Utf8 { .. }) => {
                    return Err(fail(describe(&e, gzip)))
                }
                _ => {
                    return Err(fail(
                        "line 1: the header row is blank; expected the column names, separated by the delimiter"
                            .to_string(),
                    ))
                }
            }
        }
        return Err(fail(
            "the file is empty (0 bytes or only whitespace): expected a header row naming the columns, \
             then one row per sample"
                .to_string(),
        ));
    }
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(header.len());
    for (j, name) in header.iter().enumerate() {
        if let Some(&first) = seen.get(name.as_str()) {
            return Err(fail(format!(
                "line 1: the column name {name:?} appears twice, as column {} and column {}: \
                 rename one so that each column can be chosen by name",
                first + 1,
                j + 1
            )));
        }
        seen.insert(name, j);
    }
    Ok(header)
}

/// A `csv` crate error as a sentence: a row with the wrong number of fields names its line,
/// a failed read of a gzip stream says the file is probably truncated or corrupt.
pub(crate) fn describe(e: &csv::Error, gzip: bool) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths { pos, expected_len, len } => {
            format!(
                "line {}: {len} fields where the header has {expected_len}",
                pos.as_ref().map_or(0, csv::Position::line)
            )
        }
        csv::ErrorKind::Io(io) if gzip => format!("not a valid gzip stream (truncated or corrupt download?): {io}"),
        csv::ErrorKind::Io(io) => format!("could not read the file: {io}"),
        _ => e.to_string(),
    }
}
