//! Labelled texts from a CSV file with a header row, plain or gzip-compressed (recognized by its
//! magic bytes): one column of text, one of integer class labels.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use kensho_core::{Error, Result, Tensor};

use crate::csv_header::{describe, read_header};

/// Reads the texts of column `text_column` and the class labels of column `label_column`
/// (whole numbers >= 0) of a CSV file, in file order. Quoted fields may hold commas and line
/// breaks.
///
/// ```no_run
/// use kensho_data::load_labelled_texts;
/// let (texts, labels) = load_labelled_texts("rotten_tomatoes.csv.gz", "text", "label")?;
/// assert_eq!(texts.len(), labels.shape()[0]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; [`Error::Parse`] naming the file if it is not
/// valid gzip (a truncated download), has no such column (the message lists the columns), a
/// row has another number of fields than the header, or a label is not a whole number from 0
/// to 2^24 (the message gives the line), or if the file is empty or its header names a column
/// twice. A gzip'd file is inflated as it is read, never held whole.
pub fn load_labelled_texts(
    path: impl AsRef<Path>,
    text_column: &str,
    label_column: &str,
) -> Result<(Vec<String>, Tensor)> {
    let path = path.as_ref();
    let mut file = BufReader::new(File::open(path).map_err(|e| Error::io(path, e))?);
    if file.fill_buf().map_err(|e| Error::io(path, e))?.starts_with(&[0x1f, 0x8b]) {
        // Streamed: the inflated text is never held whole, only the texts read from it.
        read_texts(MultiGzDecoder::new(file), path, true, text_column, label_column)
    } else {
        read_texts(file, path, false, text_column, label_column)
    }
}

/// The largest label kept exactly by an `f32` (2^24): above it, neighbouring integers merge.
const MAX_LABEL: u32 = 1 << 24;

fn read_texts(
    input: impl Read,
    path: &Path,
    gzip: bool,
    text_column: &str,
    label_column: &str,
) -> Result<(Vec<String>, Tensor)> {
    let fail = |reason: String| Error::parse(path, reason);
    let mut reader = csv::ReaderBuilder::new().from_reader(input);
    let header = read_header(&mut reader, path, gzip)?;
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| fail(format!("no column {name:?}; the columns are {header:?}")))
    };
    let (text_at, label_at) = (column(text_column)?, column(label_column)?);
    let mut texts = Vec::new();
    let mut labels = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| fail(describe(&e, gzip)))?;
        let line = record.position().map_or(0, |p| p.line());
        let label = record.get(label_at).unwrap_or_default().trim();
        match label.parse::<u32>() {
            Ok(value) if value <= MAX_LABEL => labels.push(value as f32),
            _ => {
                return Err(fail(format!(
                    "line {line}, column {label_column:?} (#{}): label {label:?} is not a whole number \
                     from 0 to {MAX_LABEL} (class labels are stored exactly as f32)",
                    label_at + 1
                )))
            }
        }
        texts.push(record.get(text_at).unwrap_or_default().to_string());
    }
    let n = labels.len();
    Ok((texts, Tensor::from_vec(labels, &[n])?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    const CSV: &[u8] = b"label,text\n1,\"Funny, warm and wise.\"\n0,A mess.\n1,\"Two\nlines\"\n";

    #[test]
    fn plain_and_gzip_files_give_the_texts_and_labels_in_order() {
        let dir = tempfile::tempdir().unwrap();
        for path in [write(dir.path(), "plain.csv", CSV), write(dir.path(), "packed.csv.gz", &gzip(CSV))] {
            let (texts, labels) = load_labelled_texts(&path, "text", "label").unwrap();
            assert_eq!(texts, ["Funny, warm and wise.", "A mess.", "Two\nlines"]);
            assert_eq!(labels.to_vec(), [1.0, 0.0, 1.0]);
        }
    }

    #[test]
    fn truncated_and_malformed_files_are_errors_naming_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let packed = gzip(CSV);
        let truncated = write(dir.path(), "cut.csv.gz", &packed[..packed.len() / 2]);
        let err = load_labelled_texts(&truncated, "text", "label").unwrap_err().to_string();
        assert!(err.contains("cut.csv.gz") && err.contains("gzip"), "{err}");
        let plain = write(dir.path(), "plain.csv", CSV);
        let err = load_labelled_texts(&plain, "review", "label").unwrap_err().to_string();
        assert!(err.contains("\"review\"") && err.contains("[\"label\", \"text\"]"), "{err}");
        let bad = write(dir.path(), "bad.csv", b"label,text\n1,fine\nfresh,oops\n");
        let err = load_labelled_texts(&bad, "text", "label").unwrap_err().to_string();
        assert!(err.contains("line 3") && err.contains("\"fresh\""), "{err}");
        let ragged = write(dir.path(), "ragged.csv", b"label,text\n1,a,b\n");
        assert!(load_labelled_texts(&ragged, "text", "label").is_err());
        assert!(load_labelled_texts(dir.path().join("missing.csv"), "text", "label").is_err());
    }

    #[test]
    fn an_empty_file_says_so_in_both_forms() {
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in [("empty.csv", &b""[..]), ("blank.csv", b" \n\n  \t\n")] {
            for path in [write(dir.path(), name, bytes), write(dir.path(), &format!("{name}.gz"), &gzip(bytes))] {
                let err = load_labelled_texts(&path, "text", "label").unwrap_err().to_string();
                assert!(err.contains(name) && err.contains("the file is empty"), "{err}");
            }
        }
    }

    #[test]
    fn a_column_named_twice_is_an_error_giving_both_positions() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "twice.csv", b"label,text,label\n1,a,0\n");
        let err = load_labelled_texts(&path, "text", "label").unwrap_err().to_string();
        assert!(
            err.contains("twice.csv") && err.contains("\"label\" appears twice, as column 1 and column 3"),
            "{err}"
        );
    }

    #[test]
    fn labels_that_f32_cannot_hold_exactly_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let fine = write(dir.path(), "fine.csv", b"label,text\n16777216,a\n");
        assert_eq!(load_labelled_texts(&fine, "text", "label").unwrap().1.to_vec(), [16_777_216.0]);
        // 16777217 would become 16777216 as f32: silently another class.
        let big = write(dir.path(), "big.csv", b"label,text\n0,a\n16777217,b\n");
        let err = load_labelled_texts(&big, "text", "label").unwrap_err().to_string();
        assert!(err.contains("big.csv") && err.contains("line 3") && err.contains("\"16777217\""), "{err}");
    }
}
