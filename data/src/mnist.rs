//! MNIST and Fashion-MNIST from their IDX files (see [`crate::idx`]), found in a folder the
//! caller names, then `$KENSHO_DATA/<name>`, then `~/.cache/kensho/<name>`.
//!
//! As Keras' `mnist.load_data()`, the images hold the raw pixel values 0..=255 (as `f32`, where
//! Keras has `uint8`): scale them yourself, as a Keras program does.
//!
//! ```no_run
//! use kensho_data::mnist;
//! let ((x_train, y_train), (x_test, y_test)) = mnist::load_data(None)?;
//! let (x_train, x_test) = (x_train / 255.0, x_test / 255.0); // pixels to [0, 1]
//! # let _ = (x_train, y_train, x_test, y_test);
//! # Ok::<(), kensho_core::Error>(())
//! ```
//!
//! The files keep their canonical names (`train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
//! `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`), gzip'd (`.gz`) or not. MNIST is by
//! Y. LeCun, C. Cortes and C. J. C. Burges (CC BY-SA 3.0); it is not shipped with kensho.

use std::path::{Path, PathBuf};

use kensho_core::{Error, Result, Tensor};

use crate::idx::{load_images, load_labels};

/// The canonical base names of the four files: train images, train labels, test images, test labels.
pub const FILES: [&str; 4] =
    ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

/// `((x_train, y_train), (x_test, y_test))`, images `[n, rows, cols]` and labels `[n]`.
pub type Split = ((Tensor, Tensor), (Tensor, Tensor));

/// Loads MNIST as Keras' `mnist.load_data()` does: images `[60000, 28, 28]` and
/// `[10000, 28, 28]` with the raw pixel values 0..=255 (not scaled: divide by 255 for `[0, 1]`),
/// and labels `[n]`, the digits 0..=9, both as `f32`.
///
/// Looks in `dir` if given, then `$KENSHO_DATA/mnist`, then `~/.cache/kensho/mnist`, and uses the
/// first folder that holds all four files ([`search_dirs`], then [`load_from`]).
///
/// # Errors
/// No folder holds the four files (the error lists the places tried and how to fix it), or a
/// file is malformed or its image and label counts disagree.
pub fn load_data(dir: Option<&Path>) -> Result<Split> {
    load_from(&search_dirs(dir, "mnist"), "mnist")
}

/// Loads Fashion-MNIST (same format, shapes and raw 0..=255 pixels as [`load_data`]), looking in
/// `dir`, then `$KENSHO_DATA/fashion_mnist`, then `~/.cache/kensho/fashion_mnist`.
///
/// # Errors
/// As [`load_data`].
pub fn load_fashion_data(dir: Option<&Path>) -> Result<Split> {
    load_from(&search_dirs(dir, "fashion_mnist"), "fashion_mnist")
}

/// Loads the data set `name` (as [`load_data`]) from the first of `places` that holds the four
/// files, reading no environment variable: the places are exactly the ones given.
///
/// # Errors
/// As [`load_data`]; the error lists each place and what it lacks.
pub fn load_from(places: &[PathBuf], name: &str) -> Result<Split> {
    match places.iter().find_map(|p| find_files(p).ok()) {
        Some(files) => load_files(&files),
        None => Err(not_found(places, name)),
    }
}

/// The folders searched for the data set `name`, in order: `dir`, `$KENSHO_DATA/<name>`,
/// `~/.cache/kensho/<name>` (`$HOME`, else `%USERPROFILE%`). This is the one place that reads
/// the environment; [`search_dirs_in`] takes those two roots as arguments.
pub fn search_dirs(dir: Option<&Path>, name: &str) -> Vec<PathBuf> {
    let data_root = std::env::var_os("KENSHO_DATA").filter(|v| !v.is_empty()).map(PathBuf::from);
    let home = std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE")).map(PathBuf::from);
    search_dirs_in(dir, name, data_root.as_deref(), home.as_deref())
}

/// [`search_dirs`] with the data root (what `$KENSHO_DATA` would hold) and the home folder
/// given: `dir`, `data_root/<name>`, `home/.cache/kensho/<name>`, skipping the ones that are `None`.
pub fn search_dirs_in(dir: Option<&Path>, name: &str, data_root: Option<&Path>, home: Option<&Path>) -> Vec<PathBuf> {
    let mut places: Vec<PathBuf> = dir.map(Path::to_path_buf).into_iter().collect();
    places.extend(data_root.map(|root| root.join(name)));
    places.extend(home.map(|home| home.join(".cache").join("kensho").join(name)));
    places
}
/// The paths of the four files in `dir` (each as `NAME.gz` or `NAME`), or the names missing there.
pub fn find_files(dir: &Path) -> std::result::Result<[PathBuf; 4], Vec<&'static str>> {
    let found = FILES.map(|f| [dir.join(format!("{f}.gz")), dir.join(f)].into_iter().find(|p| p.is_file()));
    if found.iter().all(Option::is_some) {
        Ok(found.map(Option::unwrap))
    } else {
        Err(FILES.iter().zip(&found).filter(|(_, p)| p.is_none()).map(|(f, _)| *f).collect())
    }
}

/// Loads and cross-checks the four files (train images, train labels, test images, test labels).
///
/// # Errors
/// A malformed file, or image and label counts that disagree.
pub fn load_files(files: &[PathBuf; 4]) -> Result<Split> {
    let pair = |images: &Path, labels: &Path| -> Result<(Tensor, Tensor)> {
        let x = load_images(images)?;
        let y = load_labels(labels)?;
        if x.shape()[0] != y.shape()[0] {
            return Err(Error::parse(
                labels,
                format!("{} labels, but {} has {} images", y.shape()[0], images.display(), x.shape()[0]),
            ));
        }
        Ok((x, y))
    };
    Ok((pair(&files[0], &files[1])?, pair(&files[2], &files[3])?))
}

fn not_found(places: &[PathBuf], name: &str) -> Error {
    let tried: Vec<String> = places
        .iter()
        .map(|p| match find_files(p) {
            Err(missing) if p.is_dir() => format!("{} (missing {})", p.display(), missing.join(", ")),
            _ => format!("{} (no such folder)", p.display()),
        })
        .collect();
    Error::invalid(
        format!("{name} data"),
        format!("not found; looked in: {}", tried.join("; ")),
        format!(
            "the files {} (each NAME or NAME.gz) in one folder: pass it as `dir`, or put them in \
             $KENSHO_DATA/{name} or ~/.cache/kensho/{name} (with the `download` feature, \
             `kensho_data::download` can fetch MNIST)",
            FILES.join(", ")
        ),
    )
}
