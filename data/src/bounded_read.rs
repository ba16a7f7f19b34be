//! Reading from files whose sizes come from the files themselves: memory grows with the bytes
//! actually read (doubling, from 64 KiB), never with a size the file only claims, and never past
//! a limit the caller has checked.

use std::io::{ErrorKind, Read};

/// Bytes read per call, and the first capacity reserved.
const CHUNK: usize = 64 * 1024;

/// Reads until `buf` is full or the input ends; returns how many bytes were read.
pub(crate) fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Reads at most `limit` bytes (fewer if the input ends first).
///
/// The capacity doubles as bytes arrive and never exceeds `limit` or twice the bytes read (plus
/// 64 KiB), so a `limit` taken from a lying header costs nothing until the bytes exist.
pub(crate) fn read_at_most(reader: &mut impl Read, limit: usize) -> std::io::Result<Vec<u8>> {
    let mut out: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; CHUNK.min(limit)];
    while out.len() < limit {
        let want = chunk.len().min(limit - out.len());
        let n = match reader.read(&mut chunk[..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if out.capacity() - out.len() < n {
            let grow = out.len().max(CHUNK).min(limit - out.len()).max(n);
            out.reserve_exact(grow);
        }
        out.extend_from_slice(&chunk[..n]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_at_most_stops_at_the_limit_and_at_the_end() {
        let data: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        assert_eq!(read_at_most(&mut data.as_slice(), 1000).unwrap(), data[..1000]);
        assert_eq!(read_at_most(&mut data.as_slice(), 1 << 40).unwrap(), data);
        assert_eq!(read_at_most(&mut data.as_slice(), 0).unwrap(), Vec::<u8>::new());
        let out = read_at_most(&mut data.as_slice(), 150_001).unwrap();
        assert_eq!(out.len(), 150_001);
        assert!(out.capacity() <= 150_001, "capacity {} beyond the limit", out.capacity());
    }

    #[test]
    fn read_full_reports_a_short_input() {
        let mut buf = [0u8; 8];
        assert_eq!(read_full(&mut &b"abc"[..], &mut buf).unwrap(), 3);
        assert_eq!(&buf[..3], b"abc");
    }
}
