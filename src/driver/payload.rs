//! Deterministic payloads: every object's bytes follow from (seed, stream, key,
//! version), and the version travels in a header, so any GET can be verified
//! without keeping data in memory.

use bytes::{BufMut, Bytes, BytesMut};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

const MAGIC: &[u8; 4] = b"SSEB";
/// Bytes of header in front of payloads longer than it.
pub const HEADER: usize = 24;

fn body_rng(seed: u64, stream: u32, key: u64, version: u64) -> ChaCha8Rng {
    let mut s = [0u8; 32];
    s[..8].copy_from_slice(&seed.to_le_bytes());
    s[8..12].copy_from_slice(&stream.to_le_bytes());
    s[12..20].copy_from_slice(&key.to_le_bytes());
    s[20..28].copy_from_slice(&version.to_le_bytes());
    ChaCha8Rng::from_seed(s)
}

/// The payload of `key` at `version` with `size` bytes.
pub fn generate(seed: u64, stream: u32, key: u64, version: u64, size: usize) -> Bytes {
    let mut buf = BytesMut::with_capacity(size);
    // A payload with no room for body bytes after the header could not detect a changed version.
    if size <= HEADER {
        buf.resize(size, 0);
        body_rng(seed, stream, key, 0).fill_bytes(&mut buf);
        return buf.freeze();
    }
    buf.put_slice(MAGIC);
    buf.put_u32_le(stream);
    buf.put_u64_le(key);
    buf.put_u64_le(version);
    buf.resize(size, 0);
    body_rng(seed, stream, key, version).fill_bytes(&mut buf[HEADER..]);
    buf.freeze()
}

/// Why a payload failed verification.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum IntegrityError {
    /// The header names another stream or key.
    #[error("object carries the header of another key")]
    WrongKey,
    /// The bytes differ from what the header's version implies.
    #[error("object bytes differ from the payload written")]
    Mismatch,
}

/// Checks that `data` is exactly what was written for `key`.
pub fn verify(seed: u64, stream: u32, key: u64, data: &[u8]) -> Result<(), IntegrityError> {
    if data.len() <= HEADER {
        return if generate(seed, stream, key, 0, data.len()) == data {
            Ok(())
        } else {
            Err(IntegrityError::Mismatch)
        };
    }
    if &data[..4] != MAGIC {
        return Err(IntegrityError::Mismatch);
    }
    let h_stream = u32::from_le_bytes(data[4..8].try_into().unwrap_or_default());
    let h_key = u64::from_le_bytes(data[8..16].try_into().unwrap_or_default());
    let version = u64::from_le_bytes(data[16..24].try_into().unwrap_or_default());
    if (h_stream, h_key) != (stream, key) {
        return Err(IntegrityError::WrongKey);
    }
    let mut rng = body_rng(seed, stream, key, version);
    // Compare in blocks so verification allocates nothing per GET.
    let mut block = [0u8; 4096];
    for chunk in data[HEADER..].chunks(block.len()) {
        rng.fill_bytes(&mut block[..chunk.len()]);
        if chunk != &block[..chunk.len()] {
            return Err(IntegrityError::Mismatch);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_verify_and_detect_changes() {
        for size in [0, 5, 24, 1000, 70_000] {
            let p = generate(1, 2, 3, 4, size);
            assert_eq!(p.len(), size);
            assert_eq!(verify(1, 2, 3, &p), Ok(()));
            if size > 0 {
                let mut bad = p.to_vec();
                let i = size - 1;
                bad[i] ^= 1;
                assert!(verify(1, 2, 3, &bad).is_err(), "size {size}");
            }
        }
        let p = generate(1, 2, 3, 4, 100);
        assert_eq!(verify(1, 2, 9, &p), Err(IntegrityError::WrongKey));
        assert_ne!(
            generate(1, 2, 3, 4, 100),
            generate(1, 2, 3, 5, 100),
            "versions differ"
        );
    }
}
