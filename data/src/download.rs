//! Verified downloads (cargo feature `download`): fetch a file over HTTP(S), check its SHA-256
//! and cache it atomically — it is written to a temporary file in the destination folder,
//! verified, then renamed, so a broken or mismatching download never leaves a file behind.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use kensho_core::{Error, Result};
use sha2::{Digest, Sha256};

use crate::mnist;

/// Where MNIST is downloaded from by default (the mirror Keras and TensorFlow use).
pub const MNIST_BASE_URL: &str = "https://storage.googleapis.com/cvdf-datasets/mnist/";

/// The four MNIST files as published (gzip'd) and their SHA-256 checksums.
pub const MNIST_FILES: [(&str, &str); 4] = [
    ("train-images-idx3-ubyte.gz", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
    ("train-labels-idx1-ubyte.gz", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
    ("t10k-images-idx3-ubyte.gz", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
    ("t10k-labels-idx1-ubyte.gz", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
];

/// Downloads `base_url` + `name` into `dir/name` unless that file exists, checking that its
/// SHA-256 is `sha256` (lower-case hex). Returns the path of the cached file.
///
/// # Errors
/// The folder cannot be created, the request fails (the error names the URL), the checksum does
/// not match (the error gives both sums), or the file cannot be written. No file is left behind.
pub fn fetch(base_url: &str, name: &str, sha256: &str, dir: &Path) -> Result<PathBuf> {
    let dest = dir.join(name);
    if dest.is_file() {
        return Ok(dest);
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let url = format!("{}/{name}", base_url.trim_end_matches('/'));
    let tmp = dir.join(format!(".{name}.{}.part", std::process::id()));
    let result = download_to(&url, &tmp).and_then(|digest| {
        if digest != sha256.to_ascii_lowercase() {
            return Err(Error::parse(
                &url,
                format!("SHA-256 {digest} does not match the expected {sha256}; the download was discarded"),
            ));
        }
        std::fs::rename(&tmp, &dest).map_err(|e| Error::io(&dest, e))
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map(|()| dest)
}

/// Streams `url` into `tmp`, returning the hex SHA-256 of what was written.
fn download_to(url: &str, tmp: &Path) -> Result<String> {
    let net = |e: &dyn std::fmt::Display| Error::io(url, std::io::Error::other(format!("download failed: {e}")));
    let response = ureq::get(url).call().map_err(|e| net(&e))?;
    let mut body = response.into_body().into_reader();
    let mut file = std::fs::File::create(tmp).map_err(|e| Error::io(tmp, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = body.read(&mut buf).map_err(|e| net(&e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n]).map_err(|e| Error::io(tmp, e))?;
    }
    file.sync_all().map_err(|e| Error::io(tmp, e))?;
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Downloads the MNIST files missing from `dir` from `base_url` (e.g. [`MNIST_BASE_URL`]),
/// verified against [`MNIST_FILES`].
///
/// # Errors
/// As [`fetch`].
pub fn download_mnist(dir: &Path, base_url: &str) -> Result<()> {
    download_all(dir, base_url, &MNIST_FILES)
}

/// Downloads each `(name, sha256)` of `files` missing from `dir`, as [`fetch`]. A file already
/// present uncompressed (`name` without `.gz`) counts as present.
///
/// # Errors
/// As [`fetch`].
pub fn download_all(dir: &Path, base_url: &str, files: &[(&str, &str)]) -> Result<()> {
    for (name, sha) in files {
        if !dir.join(name.trim_end_matches(".gz")).is_file() {
            fetch(base_url, name, sha, dir)?;
        }
    }
    Ok(())
}

/// MNIST as [`mnist::load_data`], downloading it first (into `dir`, else `$KENSHO_DATA/mnist`,
/// else `~/.cache/kensho/mnist`) when no searched folder holds it.
///
/// # Errors
/// As [`download_mnist`] and [`mnist::load_data`].
pub fn load_mnist_or_download(dir: Option<&Path>, base_url: &str) -> Result<mnist::Split> {
    let places = mnist::search_dirs(dir, "mnist");
    if let Some(files) = places.iter().find_map(|p| mnist::find_files(p).ok()) {
        return mnist::load_files(&files);
    }
    let target = places.first().ok_or_else(|| {
        Error::invalid("MNIST download folder", "none", "a folder: pass `dir` or set KENSHO_DATA or HOME")
    })?;
    download_mnist(target, base_url)?;
    mnist::load_data(Some(target))
}
