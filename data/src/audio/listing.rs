//! Finding class folders and `.wav` files on disk, in Keras' order (sorted sub-folder names;
//! files sorted by folder path, then name).

use std::path::{Path, PathBuf};

use kensho_core::{Error, Result};

/// The class folders of `dir`: its sorted sub-folders not starting with `.`, or `chosen` (each
/// of which must be one of them), in the order given.
pub(crate) fn list_classes(dir: &Path, chosen: Option<&[String]>) -> Result<Vec<String>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') && entry.path().is_dir() {
            found.push(name);
        }
    }
    found.sort();
    if found.is_empty() {
        return Err(Error::parse(
            dir,
            "no class folders: expected one sub-folder per class holding its .wav files \
             (or label_mode None to read the files without labels)",
        ));
    }
    match chosen {
        None => Ok(found),
        Some(names) => {
            if let Some(stray) = names.iter().find(|n| !found.contains(n)) {
                return Err(Error::invalid(
                    "audio_dataset_from_directory: class_names",
                    format!("{names:?} ({stray:?} is not a sub-folder)"),
                    format!("names among the sub-folders {found:?}"),
                ));
            }
            Ok(names.to_vec())
        }
    }
}

/// Every file under `dir` (recursively) whose name ends in `.wav` in any case, sorted by folder
/// path, then name. Symbolic links to files are listed; links to folders are not followed.
pub(crate) fn list_wavs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found: Vec<(String, String, PathBuf)> = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).map_err(|e| Error::io(&folder, e))? {
            let entry = entry.map_err(|e| Error::io(&folder, e))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(|e| Error::io(&path, e))?;
            if kind.is_dir() {
                pending.push(path);
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_file = kind.is_file() || (kind.is_symlink() && path.is_file());
            if is_file && name.to_lowercase().ends_with(".wav") {
                found.push((folder.to_string_lossy().into_owned(), name, path));
            }
        }
    }
    found.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    Ok(found.into_iter().map(|(_, _, path)| path).collect())
}
