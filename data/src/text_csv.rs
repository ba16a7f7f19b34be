//! Labelled texts from a CSV file with a header row, plain or gzip-compressed (recognized by its
//! magic bytes): one column of text, one of integer class labels.

use std::path::Path;

use kensho_core::{Error, Result, Tensor};

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
/// row has another number of fields than the header, or a label is not a whole number >= 0
/// (the message gives the line).
pub fn load_labelled_texts(
    path: impl AsRef<Path>,
    text_column: &str,
    label_column: &str,
) -> Result<(Vec<String>, Tensor)> {
    let path = path.as_ref();
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) { crate::idx::gunzip(&raw, path)? } else { raw };
    let fail = |reason: String| Error::parse(path, reason);
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes.as_slice());
    let header: Vec<String> = reader.headers().map_err(|e| fail(e.to_string()))?.iter().map(str::to_string).collect();
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
        let record = record.map_err(|e| fail(e.to_string()))?;
        let line = record.position().map_or(0, |p| p.line());
        let label = record.get(label_at).unwrap_or_default().trim();
        match label.parse::<u32>() {
            Ok(value) => labels.push(value as f32),
            Err(_) => {
                return Err(fail(format!(
                    "line {line}: label {label:?} in column {label_column:?} is not a whole number >= 0"
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
}
