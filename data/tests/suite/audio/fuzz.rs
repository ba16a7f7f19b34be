//! `read_wav` on hostile bytes: bit flips in valid files of each width and canonical headers
//! with random fields and sizes. Each must give a consistent clip or an error naming the file,
//! never a panic, and a header announcing more data than the file holds must not reserve it.

use proptest::collection::vec;
use proptest::prelude::*;

use kensho_data::audio::read_wav;

use super::{write_wav, Samples};
use crate::common::{config, flip, ok_or_names_file, write};

/// Reads `bytes` as `dir/name`: `Ok` must hold whole frames at a positive rate, `Err` must
/// name the file.
fn check(dir: &std::path::Path, name: &str, bytes: &[u8]) {
    let path = write(dir, name, bytes);
    let result = read_wav(&path);
    if let Ok(clip) = &result {
        assert!(clip.channels >= 1 && clip.sample_rate > 0);
        assert_eq!(clip.samples.len() % clip.channels, 0);
    }
    ok_or_names_file(result, &path);
}

/// A canonical 44-byte header (`fmt ` of 16 bytes, then `data`) with these fields.
fn header(tag: u16, channels: u16, rate: u32, block_align: u16, bits: u16, data_len: u32) -> Vec<u8> {
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&tag.to_le_bytes());
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate.wrapping_mul(u32::from(block_align))).to_le_bytes());
    out.extend_from_slice(&block_align.to_le_bytes());
    out.extend_from_slice(&bits.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    out
}

proptest! {
    #![proptest_config(config(256))]

    /// 256 cases: 1 to 4 bit flips in small valid files of 8, 16, 24 and 32 bits, PCM and float.
    #[test]
    fn wav_bit_flips_never_panic(flips in vec((any::<usize>(), any::<u8>()), 1..=4), header_only in any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        let values = [1, -2, 3, -4, 5, -6];
        let files = [
            write_wav(dir.path(), "u8.wav", 8, 2, 8000, Samples::Int(&values)),
            write_wav(dir.path(), "s16.wav", 16, 1, 8000, Samples::Int(&values)),
            write_wav(dir.path(), "s24.wav", 24, 3, 8000, Samples::Int(&values)),
            write_wav(dir.path(), "s32.wav", 32, 2, 8000, Samples::Int(&values)),
            write_wav(dir.path(), "f32.wav", 32, 1, 8000, Samples::Float(&[0.5, -0.5, 0.25])),
        ];
        for path in &files {
            let mut bytes = std::fs::read(path).unwrap();
            for &(at, bit) in &flips {
                // Most flips in the 44 header bytes, where the decisions are made.
                let at = if header_only { at % 44 } else { at };
                flip(&mut bytes, at, bit);
            }
            check(dir.path(), "flipped.wav", &bytes);
        }
    }

    /// 256 cases: canonical headers with random format tag, channels, rate, block alignment,
    /// bits and data length (up to 4 GiB announced), followed by 0 to 64 random bytes.
    #[test]
    fn wav_random_headers_never_panic(
        tag in prop_oneof![Just(1u16), Just(3), Just(0xfffe), any::<u16>()],
        channels in prop_oneof![0u16..=3, any::<u16>()],
        rate in prop_oneof![Just(0u32), Just(8000), any::<u32>()],
        block_align in 0u16..=16,
        bits in prop_oneof![Just(8u16), Just(16), Just(24), Just(32), Just(64), any::<u16>()],
        data_len in prop_oneof![0u32..=64, any::<u32>()],
        data in vec(any::<u8>(), 0..64),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let bytes = [header(tag, channels, rate, block_align, bits, data_len), data].concat();
        check(dir.path(), "random.wav", &bytes);
    }
}
