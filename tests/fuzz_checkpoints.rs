//! Property tests of every parser of outside bytes in the checkpoint code (issue 14): weights
//! files in kensho's and PyTorch's layouts (`load_tensors`, `load_weights_with`) and whole-model
//! files with their JSON (`load_model`), fed arbitrary bytes, every truncation of a small valid
//! file, random bit flips and byte changes, lying sizes in the safetensors header, and mutated
//! architecture JSON.
//!
//! Each case asserts: no panic (proptest reports one as a failure; an abort would end the run),
//! each failure an error whose message names the file, and a bounded allocation. This binary
//! counts the bytes each thread has allocated with a `#[global_allocator]`; the peak above the
//! start of a case must stay within [`bound`]: 16 times the file's size plus 8 MiB. (A load
//! reads the file, converts its tensors to f32 (twice the bytes for F16 and BF16), builds the
//! architecture under a budget of the values the file holds plus 64 Ki values (256 KiB), and
//! copies the matched tensors; the 8 MiB cover the model's own structures and that slack.) The
//! valid files are a few hundred bytes to ~2 KB, so an architecture asking for 10^11 units
//! (400 GB) or a header claiming 2^62 elements would exceed the bound by orders of magnitude.
//!
//! Case counts (debug build, 2 shared cores: about 11 s for the whole binary): every truncation of the
//! three files (~3,000 loads), 256 arbitrary byte strings, 256 mutated files, 256 lying headers,
//! 256 JSON mutations of the Dense model's file, and 256 of a convolutional and a sequence
//! model's files.

use kensho::checkpoint::load_tensors;
use kensho::prelude::*;
use kensho::{LoadOptions, WeightsLayout};
use proptest::prelude::*;
use serde_json::Value;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::{Path, PathBuf};

/// Counts the bytes live and the peak per thread (const-initialised thread locals, which do not
/// allocate).
struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn add(n: usize) {
    let _ = LIVE.try_with(|l| {
        let now = l.get().saturating_add(n);
        l.set(now);
        let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
    });
}

fn sub(n: usize) {
    let _ = LIVE.try_with(|l| l.set(l.get().saturating_sub(n)));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        sub(layout.size());
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        add(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        add(new_size);
        sub(layout.size());
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The most a load of a file of `len` bytes may allocate above the start of the case.
fn bound(len: usize) -> usize {
    16 * len + (8 << 20)
}

/// Runs `f` and returns its result with the peak bytes it allocated on this thread.
fn measured<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let start = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(start));
    let out = f();
    (out, PEAK.with(Cell::get) - start)
}

/// The tiny models whose files are mutated: Input 4 -> Dense 3 (relu) -> Dense 2.
fn tiny() -> Sequential {
    Sequential::new().add(Input::new(&[4])).add(Dense::new(3).activation(Activation::Relu)).add(Dense::new(2))
}

/// The three valid files: kensho weights, PyTorch weights, whole model (compiled with Adam),
/// saved once; and a fresh folder for the cases of one test.
struct Files {
    dir: tempfile::TempDir,
    weights: Vec<u8>,
    torch: Vec<u8>,
    model: Vec<u8>,
}

impl Files {
    /// Where a case writes its bytes.
    fn case(&self) -> PathBuf {
        self.dir.path().join("case.safetensors")
    }
}

fn files() -> Files {
    static VALID: std::sync::OnceLock<[Vec<u8>; 3]> = std::sync::OnceLock::new();
    let [weights, torch, model] = VALID
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let mut model = tiny();
            model.compile(Adam::new(0.01), losses::MeanSquaredError, vec![]).unwrap();
            let (w, t, m) = (dir.path().join("w"), dir.path().join("t"), dir.path().join("m"));
            model.save_weights(&w).unwrap();
            model.save_weights_with(&t, WeightsLayout::PyTorch).unwrap();
            model.save(&m).unwrap();
            [w, t, m].map(|p| std::fs::read(p).unwrap())
        })
        .clone();
    Files { dir: tempfile::tempdir().unwrap(), weights, torch, model }
}

/// Every parser on `bytes`: no panic, errors name the file, allocation within the bound.
/// Returns how many parsers accepted the bytes.
fn check_all_parsers(path: &Path, bytes: &[u8]) -> usize {
    std::fs::write(path, bytes).unwrap();
    let name = path.display().to_string();
    let mut accepted = 0;
    let mut verdict = |what: &str, result: kensho::Result<()>, peak: usize| {
        assert!(peak <= bound(bytes.len()), "{what}: {peak} bytes allocated for a {}-byte file", bytes.len());
        match result {
            Ok(()) => accepted += 1,
            Err(e) => assert!(e.to_string().contains(&name), "{what}: the error does not name the file: {e}"),
        }
    };
    let (r, peak) = measured(|| load_tensors(path).map(|_| ()));
    verdict("load_tensors", r, peak);
    let (r, peak) = measured(|| kensho::load_model(path).map(|_| ()));
    verdict("load_model", r, peak);
    for layout in [WeightsLayout::Kensho, WeightsLayout::PyTorch] {
        for strict in [true, false] {
            let mut model = tiny();
            let options = LoadOptions::default().layout(layout).strict(strict);
            let (r, peak) = measured(|| model.load_weights_with(path, options).map(|_| ()));
            verdict("load_weights_with", r, peak);
        }
    }
    accepted
}

/// Every truncation of each valid file: 3 x ~1-2 KB prefixes, each through all 6 parsers.
#[test]
fn every_truncation_is_an_error_naming_the_file() {
    let f = files();
    for (what, bytes) in [("weights", &f.weights), ("torch", &f.torch), ("model", &f.model)] {
        for len in 0..bytes.len() {
            assert_eq!(check_all_parsers(&f.case(), &bytes[..len]), 0, "{what} cut at {len} loaded");
        }
        assert!(check_all_parsers(&f.case(), bytes) > 0, "{what} whole should load");
    }
}

/// The safetensors header JSON and the data of `bytes` (a valid file).
fn split(bytes: &[u8]) -> (serde_json::Map<String, Value>, Vec<u8>) {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    (serde_json::from_slice(&bytes[8..8 + n]).unwrap(), bytes[8 + n..].to_vec())
}

fn join(header: &serde_json::Map<String, Value>, data: &[u8]) -> Vec<u8> {
    let text = serde_json::to_string(header).unwrap();
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(data);
    out
}

/// Sizes a lying header may claim: off by one, zero, and values whose products wrap.
const LIES: [u64; 9] = [0, 1, 3, 4, 5, 1 << 31, 1 << 32, 1 << 62, u64::MAX];

/// Every numeric leaf of a JSON value, as a JSON pointer.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => map.iter().for_each(|(k, c)| pointers(c, format!("{at}/{k}"), out)),
        Value::Array(items) => items.iter().enumerate().for_each(|(i, c)| pointers(c, format!("{at}/{i}"), out)),
        _ => out.push(at),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// 256 arbitrary byte strings of up to 600 bytes, half of them behind a plausible length.
    #[test]
    fn arbitrary_bytes_are_errors(bytes in proptest::collection::vec(any::<u8>(), 0..600), framed: bool) {
        let f = files();
        let bytes = if framed { [(bytes.len() as u64 / 2).to_le_bytes().to_vec(), bytes].concat() } else { bytes };
        check_all_parsers(&f.case(), &bytes);
    }

    /// 256 valid files with 1 to 8 random bit flips or byte changes each.
    #[test]
    fn mutated_files_never_panic(which in 0..3usize, edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<bool>()), 1..8)) {
        let f = files();
        let mut bytes = [&f.weights, &f.torch, &f.model][which].clone();
        let len = bytes.len();
        for (at, value, flip) in edits {
            if flip { bytes[at % len] ^= 1 << (value % 8) } else { bytes[at % len] = value }
        }
        check_all_parsers(&f.case(), &bytes);
    }

    /// 256 headers that lie about a tensor's shape or offsets (set to 0, off by one, 2^31,
    /// 2^32, 2^62, u64::MAX, or a dimension added).
    #[test]
    fn lying_headers_are_errors(which in 0..3usize, tensor in any::<usize>(), field in 0..4usize, lie in 0..LIES.len()) {
        let f = files();
        let (mut header, data) = split([&f.weights, &f.torch, &f.model][which]);
        let names: Vec<String> = header.keys().filter(|k| *k != "__metadata__").cloned().collect();
        let entry = header.get_mut(&names[tensor % names.len()]).unwrap();
        let lie = Value::from(LIES[lie]);
        match field {
            0 => entry["shape"][0] = lie,
            1 => entry["data_offsets"][0] = lie,
            2 => entry["data_offsets"][1] = lie,
            _ => entry["shape"].as_array_mut().unwrap().push(lie),
        }
        let bytes = join(&header, &data);
        check_all_parsers(&f.case(), &bytes);
    }

    /// 256 model files whose architecture JSON has one leaf set to a huge, zero, negative,
    /// 2^62, fractional, string or null value, or removed.
    #[test]
    fn mutated_model_json_is_checked(leaf in any::<usize>(), change in 0..9usize) {
        let f = files();
        check_all_parsers(&f.case(), &mutate_architecture(&f.model, leaf, change));
    }

    /// 256 mutations as above of the architectures of a convolutional model (Conv2D, batch
    /// normalization, pooling, dropout, flatten) and a sequence model (Embedding with a mask,
    /// bidirectional LSTM, GRU, layer normalization), read by `load_model`: their layers' sizes,
    /// strides, rates and shapes come from the file too.
    #[test]
    fn mutated_architectures_of_conv_and_sequence_models_are_checked(
        which in 0..2usize, leaf in any::<usize>(), change in 0..9usize,
    ) {
        let f = files();
        let path = f.case();
        let bytes = mutate_architecture(&rich_model_files()[which], leaf, change);
        std::fs::write(&path, &bytes).unwrap();
        let (r, peak) = measured(|| kensho::load_model(&path).map(|_| ()));
        prop_assert!(peak <= bound(bytes.len()), "{peak} bytes allocated for a {}-byte file", bytes.len());
        if let Err(e) = r {
            prop_assert!(e.to_string().contains(&path.display().to_string()), "the error does not name the file: {e}");
        }
    }
}

/// A model file (`bytes`, valid) whose architecture JSON has leaf number `leaf` (modulo their
/// count) replaced by the `change`-th hostile value, or removed (`change` 8).
fn mutate_architecture(bytes: &[u8], leaf: usize, change: usize) -> Vec<u8> {
    let (mut header, data) = split(bytes);
    let mut json: Value = serde_json::from_str(header["__metadata__"]["kensho.model"].as_str().unwrap()).unwrap();
    let mut leaves = Vec::new();
    pointers(&json, String::new(), &mut leaves);
    let at = &leaves[leaf % leaves.len()];
    let new = [
        serde_json::json!(100_000_000_000u64),
        serde_json::json!(0),
        serde_json::json!(-1),
        serde_json::json!(1u64 << 62),
        serde_json::json!(u64::MAX),
        serde_json::json!(1.5),
        serde_json::json!("x"),
        Value::Null,
    ];
    if change < new.len() {
        *json.pointer_mut(at).unwrap() = new[change].clone();
    } else {
        let (parent, key) = at.rsplit_once('/').unwrap();
        match json.pointer_mut(parent).unwrap() {
            Value::Object(map) => {
                map.remove(key);
            }
            Value::Array(items) => {
                items.remove(key.parse::<usize>().unwrap());
            }
            _ => unreachable!(),
        }
    }
    header["__metadata__"]["kensho.model"] = Value::from(json.to_string());
    join(&header, &data)
}

/// Whole-model files of a small convolutional and a small sequence model, saved once.
fn rich_model_files() -> &'static [Vec<u8>; 2] {
    static FILES: std::sync::OnceLock<[Vec<u8>; 2]> = std::sync::OnceLock::new();
    FILES.get_or_init(|| {
        let conv = Sequential::new()
            .add(Input::new(&[6, 6, 1]))
            .add(Conv2d::new(2, [3, 3]).strides([1, 1]).activation(Activation::Relu))
            .add(BatchNormalization::new())
            .add(MaxPooling2d::new([2, 2]))
            .add(Dropout::new(0.25))
            .add(Flatten::new())
            .add(Dense::new(2));
        let sequence = Sequential::new()
            .add(Input::new(&[5]))
            .add(Embedding::new(10, 3).mask_zero(true))
            .add(Bidirectional::new(Lstm::new(2).return_sequences(true)))
            .add(Gru::new(2))
            .add(LayerNormalization::new())
            .add(Dense::new(1));
        let dir = tempfile::tempdir().unwrap();
        [conv, sequence].map(|mut model| {
            model.compile(Adam::new(0.01), losses::MeanSquaredError, vec![]).unwrap();
            let path = dir.path().join("m");
            model.save(&path).unwrap();
            std::fs::read(path).unwrap()
        })
    })
}
