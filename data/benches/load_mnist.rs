//! Benchmark: load the 60,000 MNIST training images and labels (IDX, gzip'd or not) three
//! times and print the median time in seconds.
//!
//! `cargo bench -p kensho-data --bench load_mnist -- <mnist-folder>` (default `$KENSHO_DATA/mnist`).
//! Cargo runs benchmarks from the crate folder (`data/`): give an absolute path, or one relative
//! to that folder.

use std::path::PathBuf;
use std::time::Instant;

use kensho_data::idx::{load_images, load_labels};
use kensho_data::mnist;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `cargo bench` passes `--bench`; the folder is the first argument that is not a flag.
    let dir = match std::env::args().skip(1).find(|a| !a.starts_with("--")) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("KENSHO_DATA").ok_or("give the MNIST folder or set KENSHO_DATA")?)
            .join("mnist"),
    };
    let files = mnist::find_files(&dir)
        .map_err(|missing| format!("{} (from {:?}): missing {missing:?}", dir.display(), std::env::current_dir()))?;
    let mut times = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        let x = load_images(&files[0])?;
        let y = load_labels(&files[1])?;
        times.push(start.elapsed().as_secs_f64());
        assert_eq!((x.shape(), y.shape()), (&[60000, 28, 28][..], &[60000][..]));
    }
    times.sort_by(f64::total_cmp);
    println!("load_mnist: 60000 training images + labels from {}: median of 3 = {:.3} s", dir.display(), times[1]);
    Ok(())
}
