//! CIFAR-10 in its binary version (`data_batch_1.bin` .. `data_batch_5.bin`, `test_batch.bin`):
//! records of 1 label byte followed by 3072 pixel bytes (1024 red, 1024 green, 1024 blue, each
//! 32x32 row-major). Pixels keep their raw values 0..=255, as with Keras and [`crate::mnist`].

use std::path::Path;

use kensho_core::{Error, Result, Tensor};

/// Bytes in one CIFAR-10 record: 1 label + 3 x 32 x 32 pixels.
pub const RECORD_LEN: usize = 1 + 3 * 32 * 32;

/// The ten CIFAR-10 classes, by index.
pub const CLASS_NAMES: [&str; 10] =
    ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

/// One binary batch file: images `[n, 3, 32, 32]` (channels first, as stored) with the raw
/// pixel values 0..=255 as `f32` (not scaled, as Keras' `cifar10.load_data()`: divide by 255 for
/// `[0, 1]`), and labels `[n]` (class indices).
///
/// # Errors
/// The file cannot be read, is empty, is not a whole number of records (truncated), or holds a
/// label above 9. The error names the file.
pub fn load_batch(path: impl AsRef<Path>) -> Result<(Tensor, Tensor)> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if bytes.is_empty() || bytes.len() % RECORD_LEN != 0 {
        return Err(Error::parse(
            path,
            format!(
                "{} bytes is not a whole number of {RECORD_LEN}-byte records (1 label + 3072 pixels): truncated or not a CIFAR-10 binary batch",
                bytes.len()
            ),
        ));
    }
    let n = bytes.len() / RECORD_LEN;
    let mut labels = Vec::with_capacity(n);
    for (i, record) in bytes.chunks_exact(RECORD_LEN).enumerate() {
        if record[0] > 9 {
            return Err(Error::parse(
                path,
                format!("record {i} (byte {}): label {}, expected a class 0..9", i * RECORD_LEN, record[0]),
            ));
        }
        labels.push(f32::from(record[0]));
    }
    // Checked first, converted straight to f32: no intermediate copy of the pixels.
    let mut pixels = Vec::with_capacity(n * (RECORD_LEN - 1)); // n comes from the file's real length
    for record in bytes.chunks_exact(RECORD_LEN) {
        pixels.extend(record[1..].iter().map(|&b| f32::from(b)));
    }
    Ok((Tensor::from_vec(pixels, &[n, 3, 32, 32])?, Tensor::from_vec(labels, &[n])?))
}

/// The whole data set from a folder holding `data_batch_1.bin` .. `data_batch_5.bin` and
/// `test_batch.bin` (the `cifar-10-batches-bin` folder of the official archive):
/// `((x_train, y_train), (x_test, y_test))` with 50,000 and 10,000 images.
///
/// # Errors
/// A missing or malformed batch file (see [`load_batch`]).
pub fn load_data(dir: impl AsRef<Path>) -> Result<((Tensor, Tensor), (Tensor, Tensor))> {
    let dir = dir.as_ref();
    let batches = (1..=5).map(|i| load_batch(dir.join(format!("data_batch_{i}.bin")))).collect::<Result<Vec<_>>>()?;
    let (xs, ys): (Vec<Tensor>, Vec<Tensor>) = batches.into_iter().unzip();
    let train = (Tensor::concat(&xs, 0), Tensor::concat(&ys, 0));
    Ok((train, load_batch(dir.join("test_batch.bin"))?))
}
