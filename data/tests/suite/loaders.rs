//! The file loaders on small files in their real formats, written here into a temp dir,
//! including malformed ones: every error must name the file and what was wrong.

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use kensho_data::{cifar, idx, load_csv, mnist, CsvOptions, Dataset, Missing, StreamDataset};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// An IDX file of unsigned bytes with the given dimensions and data.
fn idx_bytes(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    dims.iter().for_each(|d| out.extend_from_slice(&d.to_be_bytes()));
    out.extend_from_slice(data);
    out
}

fn err_of<T: std::fmt::Debug>(r: kensho_data::Result<T>) -> String {
    r.unwrap_err().to_string()
}

// ---------- CSV ----------

const HOUSES: &str = "size,city,rooms,kind\n50,paris,2,flat\n120, lyon ,5,house\n80,paris,3,flat\n";

#[test]
fn csv_reads_numeric_and_categorical_columns_with_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "houses.csv", HOUSES.as_bytes());
    let data = load_csv(&path, &CsvOptions::new("kind").categorical(&["city", "kind"])).unwrap();
    assert_eq!(data.feature_names, vec!["size", "city", "rooms"]);
    assert_eq!(data.x.shape(), &[3, 3]);
    assert_eq!(data.x.to_vec(), vec![50.0, 1.0, 2.0, 120.0, 0.0, 5.0, 80.0, 1.0, 3.0]);
    assert_eq!(data.y.to_vec(), vec![0.0, 1.0, 0.0]);
    assert_eq!(data.class_names, Some(vec!["flat".to_string(), "house".to_string()]));
    assert_eq!(data.categories, vec![("city".to_string(), vec!["lyon".to_string(), "paris".to_string()])]);
}

#[test]
fn csv_numeric_target_and_unknown_columns() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "houses.csv", HOUSES.as_bytes());
    let data = load_csv(&path, &CsvOptions::new("rooms").categorical(&["city", "kind"])).unwrap();
    assert_eq!(data.y.to_vec(), vec![2.0, 5.0, 3.0]);
    assert!(data.class_names.is_none());
    let err = err_of(load_csv(&path, &CsvOptions::new("price")));
    assert!(err.contains("houses.csv") && err.contains("\"price\"") && err.contains("\"rooms\""), "{err}");
}

#[test]
fn csv_non_numeric_cell_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "bad.csv", b"a,b,target\n1,2,0\n3,oops,1\n");
    let err = err_of(load_csv(&path, &CsvOptions::new("target")));
    assert!(
        err.contains("bad.csv") && err.contains("line 3") && err.contains("\"b\"") && err.contains("oops"),
        "{err}"
    );
}

#[test]
fn csv_row_with_wrong_field_count_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "short.csv", b"a,b,target\n1,2,0\n3,1\n");
    let err = err_of(load_csv(&path, &CsvOptions::new("target")));
    assert!(err.contains("short.csv") && err.contains("line 3") && err.contains("2 fields"), "{err}");
}

#[test]
fn csv_missing_values_reported_or_filled_by_policy() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "gaps.csv", b"a,b,target\n1,,0\n3,4,1\nNA,8,1\n");
    let err = err_of(load_csv(&path, &CsvOptions::new("target")));
    assert!(
        err.contains("gaps.csv") && err.contains("line 2") && err.contains("\"b\"") && err.contains("missing"),
        "{err}"
    );

    let mean = load_csv(&path, &CsvOptions::new("target").missing(Missing::Mean)).unwrap();
    assert_eq!(mean.x.to_vec(), vec![1.0, 6.0, 3.0, 4.0, 2.0, 8.0]);
    let constant = load_csv(&path, &CsvOptions::new("target").missing(Missing::Constant(-1.0))).unwrap();
    assert_eq!(constant.x.to_vec(), vec![1.0, -1.0, 3.0, 4.0, -1.0, 8.0]);
    let dropped = load_csv(&path, &CsvOptions::new("target").missing(Missing::DropRow)).unwrap();
    assert_eq!((dropped.x.to_vec(), dropped.y.to_vec()), (vec![3.0, 4.0], vec![1.0]));

    let no_label = write(dir.path(), "nolabel.csv", b"a,target\n1,\n2,1\n");
    let err = err_of(load_csv(&no_label, &CsvOptions::new("target").missing(Missing::Mean)));
    assert!(err.contains("nolabel.csv") && err.contains("\"target\"") && err.contains("DropRow"), "{err}");
}

#[test]
fn csv_missing_file_and_empty_table_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let err = err_of(load_csv(dir.path().join("nope.csv"), &CsvOptions::new("y")));
    assert!(err.contains("nope.csv"), "{err}");
    let path = write(dir.path(), "empty.csv", b"a,y\n");
    assert!(err_of(load_csv(&path, &CsvOptions::new("y"))).contains("no data rows"));
}

// ---------- IDX / MNIST ----------

/// Writes the four MNIST files (gzip'd or plain) with `n_train` / `n_test` 28x28 images whose
/// pixels are `(image + position) % 256`, and labels `image % 10`.
fn write_mnist(dir: &Path, n_train: u32, n_test: u32, gz: bool) {
    let sets = [("train", n_train), ("t10k", n_test)];
    for (prefix, n) in sets {
        let pixels: Vec<u8> = (0..n * 784).map(|i| ((i / 784 + i % 784) % 256) as u8).collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        let files = [
            (format!("{prefix}-images-idx3-ubyte"), idx_bytes(&[n, 28, 28], &pixels)),
            (format!("{prefix}-labels-idx1-ubyte"), idx_bytes(&[n], &labels)),
        ];
        for (name, bytes) in files {
            if gz {
                write(dir, &format!("{name}.gz"), &gzip(&bytes));
            } else {
                write(dir, &name, &bytes);
            }
        }
    }
}

#[test]
fn mnist_loads_gzipped_and_plain_files_from_an_explicit_folder() {
    for gz in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        write_mnist(dir.path(), 5, 3, gz);
        let ((x, y), (xt, yt)) = mnist::load_data(Some(dir.path())).unwrap();
        assert_eq!((x.shape(), y.shape()), (&[5, 28, 28][..], &[5][..]));
        assert_eq!((xt.shape(), yt.shape()), (&[3, 28, 28][..], &[3][..]));
        assert_eq!(y.to_vec(), vec![0.0, 1.0, 2.0, 3.0, 4.0]);
        // The raw pixel values, as Keras' `mnist.load_data()`: not scaled to [0, 1].
        let v = x.to_vec();
        assert_eq!(v[784 + 2], 3.0); // image 1, pixel 2
        assert_eq!(v[255], 255.0);
        assert!(v.iter().all(|p| (0.0..=255.0).contains(p) && p.fract() == 0.0));
        // Scaling once, as a Keras program does, gives [0, 1] (no double scaling anywhere).
        let scaled = (x / 255.0).to_vec();
        assert_eq!((scaled[784 + 2], scaled[255]), (3.0 / 255.0, 1.0));
    }
}

#[test]
fn idx_wrong_magic_truncated_and_bad_gzip_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let labels = write(dir.path(), "labels", &idx_bytes(&[3], &[1, 2, 3]));
    let err = err_of(idx::load_images(&labels));
    assert!(err.contains("labels") && err.contains("magic") && err.contains("0x00000801"), "{err}");

    let mut not_idx = idx_bytes(&[3], &[1, 2, 3]);
    not_idx[2] = 0x0D; // float data
    let path = write(dir.path(), "floats", &not_idx);
    assert!(err_of(idx::read_idx(&path)).contains("magic number 0x00000d01"));

    let full = idx_bytes(&[2, 28, 28], &[7; 2 * 784]);
    let path = write(dir.path(), "short-images", &full[..full.len() - 10]);
    let err = err_of(idx::load_images(&path));
    assert!(err.contains("short-images") && err.contains("truncated") && err.contains("1558"), "{err}");
    let path = write(dir.path(), "short-header", &full[..9]);
    assert!(err_of(idx::read_idx(&path)).contains("truncated header"));

    let gz = gzip(&full);
    let path = write(dir.path(), "cut.gz", &gz[..gz.len() / 2]);
    let err = err_of(idx::read_idx(&path));
    assert!(err.contains("cut.gz") && err.contains("gzip"), "{err}");

    let path = write(dir.path(), "long", &[&full[..], &[0, 0]].concat());
    assert!(err_of(idx::read_idx(&path)).contains("disagree"));
}

#[test]
fn mnist_image_and_label_counts_must_agree() {
    let dir = tempfile::tempdir().unwrap();
    write_mnist(dir.path(), 5, 3, false);
    write(dir.path(), "train-labels-idx1-ubyte", &idx_bytes(&[4], &[0, 1, 2, 3]));
    let err = err_of(mnist::load_data(Some(dir.path())));
    assert!(err.contains("train-labels-idx1-ubyte") && err.contains("4 labels") && err.contains("5 images"), "{err}");
}

#[test]
fn mnist_not_found_lists_the_places_tried_and_the_fix() {
    // The places are given explicitly: whatever $KENSHO_DATA and $HOME hold on this machine
    // (even a real MNIST) plays no part, and the test changes no environment variable.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "train-images-idx3-ubyte.gz", b"");
    let (root, home) = (dir.path().join("data-root"), dir.path().join("home"));
    let places = mnist::search_dirs_in(Some(dir.path()), "mnist", Some(&root), Some(&home));
    assert_eq!(places, vec![dir.path().to_path_buf(), root.join("mnist"), home.join(".cache/kensho/mnist")]);
    let err = err_of(mnist::load_from(&places, "mnist"));
    let here = dir.path().display().to_string();
    assert!(err.contains(&here) && err.contains("missing train-labels-idx1-ubyte"), "{err}");
    let tried =
        [root.join("mnist"), home.join(".cache/kensho/mnist")].map(|p| format!("{} (no such folder)", p.display()));
    assert!(tried.iter().all(|t| err.contains(t.as_str())), "{err}");
    assert!(err.contains("KENSHO_DATA") && err.contains(".cache/kensho/mnist"), "{err}");
    assert_eq!(mnist::search_dirs(Some(dir.path()), "mnist")[0], dir.path());
    assert_eq!(mnist::search_dirs_in(None, "fashion_mnist", None, None), Vec::<PathBuf>::new());
}

#[test]
fn mnist_loads_from_the_first_place_that_holds_the_files() {
    let (empty, full) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_mnist(full.path(), 2, 1, true);
    let places = [empty.path().to_path_buf(), full.path().to_path_buf()];
    let ((x, _), (xt, _)) = mnist::load_from(&places, "mnist").unwrap();
    assert_eq!((x.shape()[0], xt.shape()[0]), (2, 1));
}

// ---------- CIFAR-10 ----------

fn cifar_records(labels: &[u8]) -> Vec<u8> {
    labels
        .iter()
        .flat_map(|&l| std::iter::once(l).chain((0..3072).map(move |p| ((p / 1024) * 100 + usize::from(l)) as u8)))
        .collect()
}

#[test]
fn cifar_batch_loads_channels_first_with_raw_pixel_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "data_batch_1.bin", &cifar_records(&[3, 9]));
    let (x, y) = cifar::load_batch(&path).unwrap();
    assert_eq!((x.shape(), y.shape()), (&[2, 3, 32, 32][..], &[2][..]));
    assert_eq!(y.to_vec(), vec![3.0, 9.0]);
    let v = x.to_vec();
    assert_eq!((v[0], v[1024], v[2048]), (3.0, 103.0, 203.0)); // raw 0..=255, as Keras
    assert_eq!(v[3072 + 2047], 109.0);
}

#[test]
fn cifar_truncated_file_and_bad_label_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let records = cifar_records(&[1, 2]);
    let path = write(dir.path(), "cut.bin", &records[..records.len() - 1]);
    let err = err_of(cifar::load_batch(&path));
    assert!(err.contains("cut.bin") && err.contains("6145 bytes") && err.contains("3073"), "{err}");
    let mut records = cifar_records(&[1, 2]);
    records[cifar::RECORD_LEN] = 12;
    let path = write(dir.path(), "label.bin", &records);
    let err = err_of(cifar::load_batch(&path));
    assert!(err.contains("label.bin") && err.contains("record 1") && err.contains("label 12"), "{err}");
    assert!(err_of(cifar::load_data(dir.path())).contains("data_batch_1.bin"));
}

#[test]
fn cifar_load_data_concatenates_the_five_training_batches() {
    let dir = tempfile::tempdir().unwrap();
    for i in 1..=5u8 {
        write(dir.path(), &format!("data_batch_{i}.bin"), &cifar_records(&[i, i]));
    }
    write(dir.path(), "test_batch.bin", &cifar_records(&[0]));
    let ((x, y), (xt, yt)) = cifar::load_data(dir.path()).unwrap();
    assert_eq!((x.shape()[0], xt.shape()[0], yt.to_vec()), (10, 1, vec![0.0]));
    assert_eq!(y.to_vec(), vec![1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0, 5.0, 5.0]);
}

// ---------- streaming from a file ----------

#[test]
fn stream_dataset_reads_records_from_a_file_on_demand() {
    use std::io::{Read, Seek, SeekFrom};
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "records.bin", &cifar_records(&[4, 7, 1]));
    let file = std::sync::Mutex::new(std::fs::File::open(&path).unwrap());
    let ds = StreamDataset::new(3, &[3, 32, 32], &[], move |i| {
        let mut record = vec![0u8; cifar::RECORD_LEN];
        let mut f = file.lock().unwrap();
        f.seek(SeekFrom::Start((i * cifar::RECORD_LEN) as u64))
            .map_err(|e| kensho_data::Error::io("records.bin", e))?;
        f.read_exact(&mut record).map_err(|e| kensho_data::Error::io("records.bin", e))?;
        Ok((record[1..].iter().map(|&b| f32::from(b)).collect(), vec![f32::from(record[0])]))
    });
    let batch = ds.batch(&[2, 0]).unwrap();
    assert_eq!((batch.inputs.len(), batch.targets.len()), (1, 1));
    let (x, y) = (&batch.inputs[0], &batch.targets[0]);
    assert_eq!(y.to_vec(), vec![1.0, 4.0]);
    let (all_x, _) = cifar::load_batch(&path).unwrap();
    assert_eq!(x.to_vec(), all_x.index_select(0, &[2, 0]).to_vec());
}

// ---------- the real MNIST files, when the shared data folder is next to the checkout ----------

#[test]
fn real_mnist_matches_its_readme_when_present() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/datasets/mnist");
    if mnist::find_files(&dir).is_err() {
        eprintln!("skipped: no MNIST files in {}", dir.display());
        return;
    }
    let ((x, y), (xt, yt)) = mnist::load_data(Some(&dir)).unwrap();
    assert_eq!((x.shape(), y.shape()), (&[60000, 28, 28][..], &[60000][..]));
    assert_eq!((xt.shape(), yt.shape()), (&[10000, 28, 28][..], &[10000][..]));
    assert_eq!(y.to_vec()[..10], [5.0, 0.0, 4.0, 1.0, 9.0, 2.0, 1.0, 3.0, 1.0, 4.0]);
    assert_eq!(yt.to_vec()[..10], [7.0, 2.0, 1.0, 0.0, 4.0, 1.0, 4.0, 9.0, 5.0, 9.0]);
    // README: mean training pixel 33.318 (0.1307 once divided by 255); pixels are raw 0..=255
    assert!((x.mean_all() - 33.318).abs() < 0.01, "{}", x.mean_all());
    assert_eq!(x.iter().fold(0.0f32, f32::max), 255.0);
}
