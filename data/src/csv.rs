//! Tabular data from CSV files with a header row: choose the target column by name, parse
//! numeric features, label-encode categorical columns, and report or fill missing values.

use std::io::Read;
use std::path::Path;

use kensho_core::{Error, Result, Tensor};

use crate::csv_header::{describe, read_header};
use crate::LabelEncoder;

/// What to do with a missing cell: an empty cell or one of `NA`, `N/A`, `NaN`, `nan`, `null`, `?`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Missing {
    /// Fail with an error naming the line and the column (the default).
    #[default]
    Error,
    /// Fill a numeric feature with the mean of its present values.
    Mean,
    /// Fill a numeric feature with this value.
    Constant(f32),
    /// Drop every row with a missing cell.
    DropRow,
}

/// How to read a CSV file: see [`load_csv`].
#[derive(Clone, Debug, PartialEq)]
pub struct CsvOptions {
    /// The name of the target column; every other column is a feature.
    pub target: String,
    /// Columns holding categories (strings) rather than numbers; they are label-encoded
    /// (sorted category → index 0, 1, ...). The target may be one of them.
    pub categorical: Vec<String>,
    /// The missing-value policy. Missing targets and missing categorical cells can only be
    /// dropped ([`Missing::DropRow`]); the other policies report them as errors.
    pub missing: Missing,
    /// The field delimiter (default `b','`).
    pub delimiter: u8,
}

impl CsvOptions {
    /// Options with `target` as the target column, all other columns numeric, missing values
    /// reported as errors, comma-delimited.
    pub fn new(target: impl Into<String>) -> Self {
        CsvOptions { target: target.into(), categorical: Vec::new(), missing: Missing::Error, delimiter: b',' }
    }

    /// Declares categorical columns.
    pub fn categorical(mut self, columns: &[&str]) -> Self {
        self.categorical = columns.iter().map(|c| c.to_string()).collect();
        self
    }

    /// Sets the missing-value policy.
    pub fn missing(mut self, policy: Missing) -> Self {
        self.missing = policy;
        self
    }

    /// Sets the field delimiter.
    pub fn delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }
}

/// A table read by [`load_csv`].
#[derive(Clone, Debug)]
pub struct CsvData {
    /// Features `[rows, features]`, in file column order without the target.
    pub x: Tensor,
    /// Targets `[rows]`: numbers, or class indices into `class_names` for a categorical target.
    pub y: Tensor,
    /// The feature column names, in the column order of `x`.
    pub feature_names: Vec<String>,
    /// For a categorical target, the class of each index.
    pub class_names: Option<Vec<String>>,
    /// For each categorical feature, its name and the category of each index.
    pub categories: Vec<(String, Vec<String>)>,
}

const MISSING: [&str; 7] = ["", "NA", "N/A", "NaN", "nan", "null", "?"];

#[derive(Clone)]
enum Cell {
    Num(f32),
    Text(String),
    Missing,
}

/// Reads a CSV file with a header row, as described by `options`.
///
/// # Errors
/// The file cannot be read; an empty file (0 bytes or only whitespace); a column name that
/// appears twice in the header (the error gives both positions); a target or categorical column
/// that is not in the header (the error lists the columns); a cell in a numeric column that is
/// not a finite `f32` (text, `inf`, or out of range like `1e39`) or a row with the wrong number
/// of fields (the error names the file, the line counting the header as line 1, and the column
/// by name and 1-based position); a missing value the policy does not fill; no data rows.
///
/// The spellings of [`Missing`] (`NaN`, `nan`, `NA`, ...) are missing values, handled by the
/// policy; any other non-finite number (`inf`, `-NaN`, `1e39`) is an error.
///
/// ```no_run
/// use kensho_data::{load_csv, CsvOptions, Missing};
/// let data = load_csv("houses.csv", &CsvOptions::new("price").categorical(&["city"]).missing(Missing::Mean))?;
/// println!("{} rows of {:?}", data.x.shape()[0], data.feature_names);
/// # Ok::<(), kensho_core::Error>(())
/// ```
pub fn load_csv(path: impl AsRef<Path>, options: &CsvOptions) -> Result<CsvData> {
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    read_csv(std::io::BufReader::new(file), path, options)
}

/// Like [`load_csv`], from any reader; `source` names it in error messages.
///
/// # Errors
/// As [`load_csv`].
pub fn read_csv(reader: impl Read, source: impl AsRef<Path>, options: &CsvOptions) -> Result<CsvData> {
    let source = source.as_ref();
    let fail = |reason: String| Error::parse(source, reason);
    let mut rdr = csv::ReaderBuilder::new().delimiter(options.delimiter).trim(csv::Trim::All).from_reader(reader);
    let header = read_header(&mut rdr, source, false)?;
    let find = |name: &str, role: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| fail(format!("no {role} column {name:?}; the columns are {header:?}")))
    };
    let target = find(&options.target, "target")?;
    let is_cat: Vec<bool> = {
        let mut v = vec![false; header.len()];
        for name in &options.categorical {
            v[find(name, "categorical")?] = true;
        }
        v
    };

    let mut rows: Vec<(u64, Vec<Cell>)> = Vec::new();
    for record in rdr.records() {
        let record = record.map_err(|e| fail(describe(&e, false)))?;
        let line = record.position().map_or(0, |p| p.line());
        let cells = record
            .iter()
            .zip(&header)
            .zip(&is_cat)
            .enumerate()
            .map(|(j, ((cell, name), &cat))| match cell {
                c if MISSING.contains(&c) => Ok(Cell::Missing),
                c if cat => Ok(Cell::Text(c.to_string())),
                c => number(c)
                    .map(Cell::Num)
                    .map_err(|why| fail(format!("line {line}, column {name:?} (#{}): {why}", j + 1))),
            })
            .collect::<Result<Vec<_>>>()?;
        rows.push((line, cells));
    }
    fill_missing(&mut rows, &header, &is_cat, target, options.missing).map_err(fail)?;
    if rows.is_empty() {
        return Err(fail("no data rows after the header".to_string()));
    }
    Ok(assemble(&rows, &header, &is_cat, target))
}

/// A numeric cell as a finite `f32`, or why it is not one.
fn number(cell: &str) -> std::result::Result<f32, String> {
    // `inf`, `nan`, `infinity` (any case, signed) are words; a digit-led literal that parses
    // as infinite has overflowed the f32 range.
    let is_word = cell.trim_start_matches(['+', '-']).starts_with(|c: char| c.is_ascii_alphabetic());
    match cell.parse::<f32>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) if is_word => Err(format!(
            "{cell:?} is not a finite number; write a missing value as an empty cell or NA and choose a Missing policy"
        )),
        Ok(_) => Err(format!(
            "{cell:?} is out of the range of f32 (about ±3.4e38); rescale the column (e.g. change its unit)"
        )),
        Err(_) => Err(format!("{cell:?} is not a number (declare the column categorical if it holds categories)")),
    }
}

/// Applies the missing-value policy in place.
fn fill_missing(
    rows: &mut Vec<(u64, Vec<Cell>)>,
    header: &[String],
    is_cat: &[bool],
    target: usize,
    policy: Missing,
) -> std::result::Result<(), String> {
    if policy == Missing::DropRow {
        rows.retain(|(_, cells)| !cells.iter().any(|c| matches!(c, Cell::Missing)));
        return Ok(());
    }
    let fillable = |j: usize| j != target && !is_cat[j] && policy != Missing::Error;
    for (line, cells) in rows.iter() {
        if let Some(j) = (0..header.len()).find(|&j| matches!(cells[j], Cell::Missing) && !fillable(j)) {
            let how = if j == target || is_cat[j] { "use Missing::DropRow" } else { "choose a Missing policy" };
            return Err(format!("line {line}, column {:?} (#{}): missing value ({how})", header[j], j + 1));
        }
    }
    for j in (0..header.len()).filter(|&j| fillable(j)) {
        let fill = match policy {
            Missing::Constant(c) => c,
            _ => {
                let present: Vec<f32> =
                    rows.iter().filter_map(|(_, c)| if let Cell::Num(v) = c[j] { Some(v) } else { None }).collect();
                (present.iter().map(|&v| f64::from(v)).sum::<f64>() / present.len().max(1) as f64) as f32
            }
        };
        rows.iter_mut().filter(|(_, c)| matches!(c[j], Cell::Missing)).for_each(|(_, c)| c[j] = Cell::Num(fill));
    }
    Ok(())
}

/// Builds the tensors; every cell is present and typed by now.
fn assemble(rows: &[(u64, Vec<Cell>)], header: &[String], is_cat: &[bool], target: usize) -> CsvData {
    let encoders: Vec<Option<LabelEncoder>> = (0..header.len())
        .map(|j| {
            is_cat[j].then(|| {
                let labels: Vec<&str> =
                    rows.iter().map(|(_, c)| if let Cell::Text(s) = &c[j] { s.as_str() } else { "" }).collect();
                let mut enc = LabelEncoder::new();
                enc.fit(&labels);
                enc
            })
        })
        .collect();
    let value = |j: usize, cell: &Cell| match (cell, &encoders[j]) {
        (Cell::Num(v), _) => *v,
        (Cell::Text(s), Some(enc)) => enc.index_of(s).expect("fitted on this column") as f32,
        _ => unreachable!("missing values were filled or dropped"),
    };
    let features: Vec<usize> = (0..header.len()).filter(|&j| j != target).collect();
    let mut x = Vec::with_capacity(rows.len() * features.len());
    let mut y = Vec::with_capacity(rows.len());
    for (_, cells) in rows {
        features.iter().for_each(|&j| x.push(value(j, &cells[j])));
        y.push(value(target, &cells[target]));
    }
    let n = rows.len();
    CsvData {
        x: Tensor::from_vec(x, &[n, features.len()]).expect("sizes built above"),
        y: Tensor::from_vec(y, &[n]).expect("sizes built above"),
        feature_names: features.iter().map(|&j| header[j].clone()).collect(),
        class_names: encoders[target].as_ref().map(|e| e.classes().to_vec()),
        categories: features
            .iter()
            .filter_map(|&j| encoders[j].as_ref().map(|e| (header[j].clone(), e.classes().to_vec())))
            .collect(),
    }
}
