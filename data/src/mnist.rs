//! MNIST and Fashion-MNIST from their IDX files (see [`crate::idx`]), found in a folder the
//! caller names, then `$KENSHO_DATA/<name>`, then `~/.cache/kensho/<name>`.
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

/// Loads MNIST: images `[60000, 28, 28]` and `[10000, 28, 28]` in `[0, 1]`, labels `[n]` as
/// `f32` class indices, as Keras' `mnist.load_data()` (but scaled).
///
/// Looks in `dir` if given, then `$KENSHO_DATA/mnist`, then `~/.cache/kensho/mnist`, and uses the
/// first folder that holds all four files.
///
/// # Errors
/// No folder holds the four files (the error lists the places tried and how to fix it), or a
/// file is malformed or its image and label counts disagree.
pub fn load_data(dir: Option<&Path>) -> Result<Split> {
    load_named(dir, "mnist")
}

/// Loads Fashion-MNIST (same format and shapes as MNIST), looking in `dir`, then
/// `$KENSHO_DATA/fashion_mnist`, then `~/.cache/kensho/fashion_mnist`.
///
/// # Errors
/// As [`load_data`].
pub fn load_fashion_data(dir: Option<&Path>) -> Result<Split> {
    load_named(dir, "fashion_mnist")
}

fn load_named(dir: Option<&Path>, name: &str) -> Result<Split> {
    let places = search_dirs(dir, name);
    match places.iter().find_map(|p| find_files(p).ok()) {
        Some(files) => load_files(&files),
        None => Err(not_found(&places, name)),
    }
}

/// The folders searched for the data set `name`, in order.
pub fn search_dirs(dir: Option<&Path>, name: &str) -> Vec<PathBuf> {
    let mut places: Vec<PathBuf> = dir.map(Path::to_path_buf).into_iter().collect();
    if let Some(root) = std::env::var_os("KENSHO_DATA").filter(|v| !v.is_empty()) {
        places.push(PathBuf::from(root).join(name));
    }
    if let Some(home) = std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE")) {
        places.push(PathBuf::from(home).join(".cache").join("kensho").join(name));
    }
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
