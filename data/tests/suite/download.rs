//! Verified downloads against a tiny HTTP/1.1 server on 127.0.0.1 started by the test itself.
#![cfg(feature = "download")]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;

use kensho_data::download::{download_all, fetch};
use sha2::{Digest, Sha256};

/// Serves `files` (path → body) on a free port until the test ends; `/broken` announces more
/// bytes than it sends. Returns the base URL.
fn serve(files: HashMap<String, Vec<u8>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let mut header = String::new();
            while reader.read_line(&mut header).map(|n| n > 2).unwrap_or(false) {
                header.clear();
            }
            let path = request_line.split_whitespace().nth(1).unwrap_or("/").trim_start_matches('/').to_string();
            let response = match files.get(&path) {
                Some(body) if path == "broken" => {
                    let mut r =
                        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len() * 2)
                            .into_bytes();
                    r.extend_from_slice(body);
                    r
                }
                Some(body) => {
                    let mut r =
                        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len())
                            .into_bytes();
                    r.extend_from_slice(body);
                    r
                }
                None => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
            };
            let _ = stream.write_all(&response);
        }
    });
    base
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

fn body(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

#[test]
fn fetch_downloads_verifies_and_caches() {
    let data = body(200_000);
    let base = serve(HashMap::from([("good.bin".to_string(), data.clone())]));
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let path = fetch(&base, "good.bin", &sha256_hex(&data), &cache).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), data);
    assert_eq!(files_in(&cache), vec!["good.bin"]);
    // cached: a second fetch does not need the server's copy to match any more
    assert_eq!(fetch(&base, "good.bin", &"0".repeat(64), &cache).unwrap(), path);
}

#[test]
fn wrong_checksum_leaves_no_file() {
    let data = body(5000);
    let base = serve(HashMap::from([("tampered.bin".to_string(), data.clone())]));
    let dir = tempfile::tempdir().unwrap();
    let wrong = sha256_hex(b"something else");
    let err = fetch(&base, "tampered.bin", &wrong, dir.path()).unwrap_err().to_string();
    assert!(err.contains("tampered.bin") && err.contains(&wrong) && err.contains(&sha256_hex(&data)), "{err}");
    assert!(files_in(dir.path()).is_empty(), "{:?}", files_in(dir.path()));
}

#[test]
fn broken_and_missing_downloads_leave_no_file() {
    let data = body(5000);
    let base = serve(HashMap::from([("broken".to_string(), data.clone())]));
    let dir = tempfile::tempdir().unwrap();
    let err = fetch(&base, "broken", &sha256_hex(&data), dir.path()).unwrap_err().to_string();
    assert!(err.contains("broken") && err.contains("download failed"), "{err}");
    let err = fetch(&base, "absent.bin", &sha256_hex(&data), dir.path()).unwrap_err().to_string();
    assert!(err.contains("absent.bin") && err.contains("404"), "{err}");
    assert!(files_in(dir.path()).is_empty(), "{:?}", files_in(dir.path()));
}

#[test]
fn downloaded_mnist_style_files_load() {
    // Four tiny IDX files under the canonical names, gzip'd, served and verified, then loaded.
    use flate2::write::GzEncoder;
    let idx = |dims: &[u32], data: Vec<u8>| {
        let mut raw = vec![0, 0, 8, dims.len() as u8];
        dims.iter().for_each(|d| raw.extend_from_slice(&d.to_be_bytes()));
        raw.extend(data);
        let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&raw).unwrap();
        enc.finish().unwrap()
    };
    let files: Vec<(String, Vec<u8>)> = vec![
        ("train-images-idx3-ubyte.gz".into(), idx(&[2, 28, 28], vec![255; 2 * 784])),
        ("train-labels-idx1-ubyte.gz".into(), idx(&[2], vec![7, 1])),
        ("t10k-images-idx3-ubyte.gz".into(), idx(&[1, 28, 28], vec![0; 784])),
        ("t10k-labels-idx1-ubyte.gz".into(), idx(&[1], vec![3])),
    ];
    let sums: Vec<(String, String)> = files.iter().map(|(n, b)| (n.clone(), sha256_hex(b))).collect();
    let base = serve(files.into_iter().collect());
    let dir = tempfile::tempdir().unwrap();
    let list: Vec<(&str, &str)> = sums.iter().map(|(n, s)| (n.as_str(), s.as_str())).collect();
    download_all(dir.path(), &base, &list).unwrap();
    let ((x, y), (_, yt)) = kensho_data::mnist::load_data(Some(dir.path())).unwrap();
    assert_eq!((x.shape(), y.to_vec(), yt.to_vec()), (&[2, 28, 28][..], vec![7.0, 1.0], vec![3.0]));
    assert_eq!(x.to_vec()[0], 255.0); // raw pixel values, as Keras
}
