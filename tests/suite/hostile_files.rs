//! Model and weights files that lie (issue 14): an architecture asking for more weights than the
//! file holds, shapes whose product overflows, settings out of range, tensors that do not match
//! the architecture, corrupt safetensors headers. Each must give an error naming the file (no
//! abort, no panic, no allocation of what the file claims).

use kensho::checkpoint::{load_tensors, save_tensors};
use kensho::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A tiny compiled model (Input 4 -> Dense 3, Adam) saved to `dir/name`.
fn tiny_model_file(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let mut model = Sequential::new().add(Input::new(&[4])).add(Dense::new(3).activation(Activation::Relu));
    model.compile(Adam::new(0.01), losses::MeanSquaredError, vec![]).unwrap();
    model.save(&path).unwrap();
    path
}

/// The model file at `path` with its architecture JSON changed by `edit`, saved as `out`.
fn with_json(path: &Path, out: &Path, edit: impl FnOnce(&mut Value)) {
    let (tensors, mut metadata) = load_tensors(path).unwrap();
    let mut json: Value = serde_json::from_str(&metadata["kensho.model"]).unwrap();
    edit(&mut json);
    metadata.insert("kensho.model".into(), json.to_string());
    save_tensors(out, &tensors, Some(metadata)).unwrap();
}

/// The Dense layer's config in the JSON.
fn dense(json: &mut Value) -> &mut Value {
    let layers = json["layers"].as_array_mut().unwrap();
    let layer = layers.iter_mut().find(|l| l.to_string().contains("\"units\"")).expect("a Dense layer");
    find_object_with(layer, "units").expect("units")
}

/// The innermost object holding `key`.
fn find_object_with<'a>(v: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    if v.get(key).is_some() {
        return Some(v);
    }
    match v {
        Value::Object(map) => map.values_mut().find_map(|c| find_object_with(c, key)),
        Value::Array(items) => items.iter_mut().find_map(|c| find_object_with(c, key)),
        _ => None,
    }
}

fn load_err(path: &Path) -> String {
    let Err(err) = kensho::load_model(path) else { panic!("{}: the load should fail", path.display()) };
    let err = err.to_string();
    assert!(err.contains(&path.display().to_string()), "the message names the file: {err}");
    err
}

#[test]
fn an_architecture_larger_than_the_file_fails_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let good = tiny_model_file(dir.path(), "good.safetensors");
    let bad = dir.path().join("huge.safetensors");
    // 10^11 units: the kernel [4, 10^11] is 1.6 TB; before the fix the process aborted with
    // "memory allocation of 1600000000000 bytes failed".
    with_json(&good, &bad, |j| dense(j)["units"] = 100_000_000_000u64.into());
    let err = load_err(&bad);
    assert!(err.contains("dense.kernel") && err.contains("[4, 100000000000]"), "{err}");
    assert!(err.contains("4.0e11") && err.contains("values that"), "{err}");
    assert!(err.contains("corrupt or not a kensho model file"), "{err}");
    // 2^62 units: the shape product wraps around; before the fix a panic in Tensor::from_vec.
    with_json(&good, &bad, |j| dense(j)["units"] = (1u64 << 62).into());
    let err = load_err(&bad);
    assert!(err.contains("dense.kernel") && err.contains("4611686018427387904"), "{err}");
    // The same through the input shape.
    with_json(&good, &bad, |j| j["input_shapes"] = serde_json::json!([[1u64 << 62]]));
    load_err(&bad);
    with_json(&good, &bad, |j| j["input_shapes"] = serde_json::json!([[100_000_000_000u64]]));
    load_err(&bad);
}

#[test]
fn an_architecture_that_fits_the_budget_must_still_match_the_tensors() {
    let dir = tempfile::tempdir().unwrap();
    let good = tiny_model_file(dir.path(), "good.safetensors");
    let bad = dir.path().join("other.safetensors");
    // 2 units instead of 3: fewer values than the file holds, so the budget lets it through;
    // the strict match of names and shapes refuses it.
    with_json(&good, &bad, |j| dense(j)["units"] = 2.into());
    let err = load_err(&bad);
    assert!(err.contains("dense.kernel") && err.contains("[4, 3]") && err.contains("[4, 2]"), "{err}");
    // A renamed layer: the file's tensors are unexpected, the model's missing.
    with_json(&good, &bad, |j| dense(j)["name"] = "head".into());
    let err = load_err(&bad);
    assert!(err.contains("head.kernel") && err.contains("missing"), "{err}");
}

#[test]
fn layer_settings_from_a_file_are_checked_as_the_builders_check_them() {
    let dir = tempfile::tempdir().unwrap();
    let good = tiny_model_file(dir.path(), "good.safetensors");
    let bad = dir.path().join("bad.safetensors");
    for units in [serde_json::json!(0), serde_json::json!(-3), serde_json::json!("ten"), serde_json::json!(1.5)] {
        with_json(&good, &bad, |j| dense(j)["units"] = units.clone());
        load_err(&bad);
    }
    // A Dropout layer with rate 5 (Keras refuses rates outside [0, 1)).
    let path = dir.path().join("dropout.safetensors");
    let mut model = Sequential::new().add(Input::new(&[4])).add(Dropout::new(0.5)).add(Dense::new(3));
    model.compile(Sgd::new(0.1), losses::MeanSquaredError, vec![]).unwrap();
    model.save(&path).unwrap();
    with_json(&path, &bad, |j| find_object_with(j, "rate").unwrap()["rate"] = 5.0.into());
    let err = load_err(&bad);
    assert!(err.contains("Dropout") && err.contains("rate") && err.contains('5'), "{err}");
    // An initializer whose numbers the fill cannot use (a negative standard deviation).
    with_json(&good, &bad, |j| {
        dense(j)["kernel_initializer"] = serde_json::json!({"RandomNormal": {"mean": 0.0, "std": -1.0}})
    });
    load_err(&bad);
}

#[test]
fn optimizer_settings_from_a_file_are_checked_as_the_constructors_check_them() {
    let dir = tempfile::tempdir().unwrap();
    let good = tiny_model_file(dir.path(), "good.safetensors");
    let bad = dir.path().join("bad.safetensors");
    // Before the fix both loaded, and training went the wrong way or diverged.
    with_json(&good, &bad, |j| j["compile"]["optimizer"]["learning_rate"]["learning_rate"] = (-1.0).into());
    let err = load_err(&bad);
    assert!(err.contains("learning_rate") && err.contains("-1"), "{err}");
    with_json(&good, &bad, |j| j["compile"]["optimizer"]["beta_1"] = 5.0.into());
    let err = load_err(&bad);
    assert!(err.contains("beta_1") && err.contains('5') && err.contains("[0, 1)"), "{err}");
    // The original still loads.
    kensho::load_model(&good).unwrap();
}

/// Issue 14: after `kill -9` during a save, hidden temporary files stayed forever.
#[test]
fn a_save_removes_the_temporary_files_that_killed_writers_left() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let file = |name: &str| dir.path().join(name);
    // 4000000000 is above any pid_max, so no process has it; pid 1 is always alive on unix.
    let stale = [".m.safetensors.4000000000.0.tmp", ".m.safetensors.4000000000.17.tmp"];
    let own = format!(".m.safetensors.{}.99999.tmp", std::process::id()); // this process's: may be in flight
    let keep = [
        own.as_str(),
        ".other.safetensors.4000000000.0.tmp", // another target's
        ".m.safetensors.notes.tmp",            // not named like a temporary file
        "m.safetensors.4000000000.0.tmp",      // not hidden
        ".m.safetensors.4000000000.0.tmp.bak",
    ];
    for name in stale.iter().chain(&keep) {
        std::fs::write(file(name), b"partial").unwrap();
    }
    if cfg!(target_os = "linux") {
        std::fs::write(file(".m.safetensors.1.3.tmp"), b"a live writer's").unwrap();
    }
    let model = Sequential::new().add(Input::new(&[2])).add(Dense::new(1));
    model.save_weights(&path).unwrap();
    for name in stale {
        assert!(!file(name).exists(), "{name} should be removed");
    }
    for name in keep {
        assert!(file(name).exists(), "{name} should stay");
    }
    if cfg!(target_os = "linux") {
        assert!(file(".m.safetensors.1.3.tmp").exists(), "a live process's temporary file stays");
    }
    let mut names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert!(names.contains(&"m.safetensors".to_string()), "{names:?}");
}

/// The bytes of a safetensors file with this header JSON and `data` bytes after it.
fn raw_file(header: &str, data: &[u8]) -> Vec<u8> {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

/// Issue 14: safetensors errors showed the library's variant names (`TensorInvalidInfo`) instead
/// of the tensor and the byte counts.
#[test]
fn corrupt_headers_are_described_with_the_tensor_and_the_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.safetensors");
    let f32s = |n: usize| vec![0u8; 4 * n];
    let entry = |name: &str, shape: &str, begin: usize, end: usize| {
        format!(r#""{name}":{{"dtype":"F32","shape":{shape},"data_offsets":[{begin},{end}]}}"#)
    };
    let cases: Vec<(Vec<u8>, Vec<&str>)> = vec![
        // Shape [4, 3] needs 48 bytes; the offsets give 40 (was: TensorInvalidInfo).
        (
            raw_file(&format!("{{{}}}", entry("dense.kernel", "[4,3]", 0, 40)), &f32s(10)),
            vec!["dense.kernel", "48", "40"],
        ),
        // Offsets past the end of the file (a lying size).
        (
            raw_file(&format!("{{{}}}", entry("dense.kernel", "[4,3]", 0, 48)), &f32s(5)),
            vec!["dense.kernel", "48", "20", "truncated"],
        ),
        // A gap between two tensors (was: InvalidOffset).
        (
            raw_file(&format!("{{{},{}}}", entry("a", "[2]", 0, 8), entry("b", "[2]", 12, 20)), &f32s(5)),
            vec!["\"b\"", "12", "8"],
        ),
        // A shape whose byte size overflows (was: ValidationOverflow).
        (raw_file(&format!("{{{}}}", entry("big", "[4611686018427387904,4]", 0, 0)), &[]), vec!["big", "overflows"]),
        // Bytes after the last tensor (was: MetadataIncompleteBuffer).
        (raw_file(&format!("{{{}}}", entry("a", "[2]", 0, 8)), &f32s(3)), vec!["8", "12", "4 bytes after"]),
        // A dtype safetensors does not define.
        (raw_file(r#"{"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,1]}}"#, &[0]), vec!["\"a\"", "Q4"]),
        // A header length past the end, and one beyond the limit.
        (raw_file("{}", &[])[..9].to_vec(), vec!["2 bytes", "1 bytes follow"]),
        (u64::MAX.to_le_bytes().to_vec(), vec!["18446744073709551615", "100000000"]),
        (vec![1, 2, 3], vec!["3 bytes long"]),
        (raw_file("{\"a\":3}", &[]), vec!["\"a\"", "data_offsets"]),
        (raw_file("not json", &[]), vec!["not a JSON object"]),
    ];
    for (bytes, wanted) in cases {
        std::fs::write(&path, &bytes).unwrap();
        let err = kensho::checkpoint::load_tensors(&path).unwrap_err().to_string();
        assert!(err.starts_with(&path.display().to_string()), "{err}");
        for w in wanted {
            assert!(err.contains(w), "{w:?} not in: {err}");
        }
        assert!(!err.contains("TensorInvalidInfo") && !err.contains("InvalidOffset"), "{err}");
    }
}
