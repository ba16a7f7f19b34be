//! [`load_csv`] refuses what would silently give a wrong tensor or a puzzling message: numbers
//! that are not finite or out of `f32` range, an empty file, a column name used twice. Each
//! error names the file, the line (the header being line 1, as in a text editor), the column by
//! name and 1-based position, and the text seen.

use std::path::{Path, PathBuf};

use kensho_data::{load_csv, read_csv, CsvOptions, Missing};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn load_err(dir: &Path, name: &str, text: &str, options: &CsvOptions) -> String {
    load_csv(write(dir, name, text.as_bytes()), options).unwrap_err().to_string()
}

#[test]
fn infinite_and_not_a_number_cells_are_refused_naming_line_column_and_text() {
    let dir = tempfile::tempdir().unwrap();
    for cell in ["inf", "-inf", "+Infinity", "NAN", "-nan", "INF"] {
        let text = format!("a,b,target\n1,2,0\n3,{cell},1\n");
        // Even with a filling policy: these are not the missing-value spellings.
        let err = load_err(dir.path(), "odd.csv", &text, &CsvOptions::new("target").missing(Missing::Mean));
        assert!(err.contains("odd.csv"), "{err}");
        assert!(err.contains("line 3, column \"b\" (#2)"), "{err}");
        assert!(err.contains(&format!("{cell:?}")) && err.contains("not a finite number"), "{err}");
    }
    // A non-finite target is refused the same way.
    let err = load_err(dir.path(), "t.csv", "a,target\n1,0\n2,-inf\n", &CsvOptions::new("target"));
    assert!(err.contains("t.csv: line 3, column \"target\" (#2)") && err.contains("\"-inf\""), "{err}");
}

#[test]
fn the_missing_value_spellings_of_nan_stay_missing_values() {
    // `NaN` and `nan` are in the documented missing-value list (as pandas reads them): the
    // default policy reports them as missing, Missing::Mean fills them.
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "gaps.csv", b"a,target\nNaN,0\n3,1\nnan,1\n");
    let err = load_csv(&path, &CsvOptions::new("target")).unwrap_err().to_string();
    assert!(err.contains("gaps.csv: line 2, column \"a\" (#1): missing value"), "{err}");
    let filled = load_csv(&path, &CsvOptions::new("target").missing(Missing::Mean)).unwrap();
    assert_eq!(filled.x.to_vec(), [3.0, 3.0, 3.0]);
}

#[test]
fn numbers_beyond_the_f32_range_are_refused_not_made_infinite() {
    let dir = tempfile::tempdir().unwrap();
    for cell in ["1e39", "-1e39", "3.5e38", "1e400"] {
        let text = format!("x,y,target\n1,2,0\n1,{cell},1\n");
        let err = load_err(dir.path(), "big.csv", &text, &CsvOptions::new("target"));
        assert!(err.contains("big.csv: line 3, column \"y\" (#2)") && err.contains(&format!("{cell:?}")), "{err}");
        assert!(err.contains("out of the range of f32"), "{err}");
    }
    // The largest f32 and numbers that round to zero are fine.
    let path = write(dir.path(), "edge.csv", b"x,target\n3.4028235e38,0\n1e-50,1\n");
    assert_eq!(load_csv(&path, &CsvOptions::new("target")).unwrap().x.to_vec(), [f32::MAX, 0.0]);
}

#[test]
fn line_numbers_count_the_header_as_line_one_and_follow_multi_line_fields() {
    let dir = tempfile::tempdir().unwrap();
    let text = "a,note,target\n1,\"two\nlines\",0\n2,x,1\n3,y,oops\n";
    let err = load_err(dir.path(), "lines.csv", text, &CsvOptions::new("target").categorical(&["note"]));
    assert!(err.contains("line 5, column \"target\" (#3)") && err.contains("\"oops\""), "{err}");
}

#[test]
fn an_empty_file_says_it_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [("zero.csv", &b""[..]), ("spaces.csv", b"  \n\n \t \n"), ("newline.csv", b"\n")] {
        let err = load_csv(write(dir.path(), name, bytes), &CsvOptions::new("target")).unwrap_err().to_string();
        assert!(err.contains(name) && err.contains("the file is empty (0 bytes or only whitespace)"), "{err}");
        assert!(!err.contains("no target column"), "{err}");
    }
    let err = read_csv(&b""[..], "memory.csv", &CsvOptions::new("target")).unwrap_err().to_string();
    assert!(err.contains("memory.csv") && err.contains("empty"), "{err}");
    // A blank header above data is not an empty file.
    let err = load_err(dir.path(), "blank.csv", " \n1,2\n", &CsvOptions::new("target"));
    assert!(err.contains("line 1: the header row is blank"), "{err}");
}

#[test]
fn a_column_name_used_twice_is_an_error_giving_both_positions() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_err(dir.path(), "dup.csv", "a,b,a,target\n1,2,3,0\n", &CsvOptions::new("target"));
    assert!(err.contains("dup.csv: line 1: the column name \"a\" appears twice, as column 1 and column 3"), "{err}");
    // Also when the duplicate is the target, which was silently the first of the two.
    let err = load_err(dir.path(), "dup2.csv", "target,x,target\n1,2,3\n", &CsvOptions::new("target"));
    assert!(err.contains("\"target\" appears twice, as column 1 and column 3"), "{err}");
}
