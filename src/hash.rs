//! Content hashes: ETags, derived ids and the store's change detection all hash
//! bytes the same way, so they live here rather than in any one of those layers.

use sha2::{Digest, Sha256};
use std::fmt::Write;

/// The SHA-256 of `bytes` in lowercase hex.
pub fn hash_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in digest {
        let _ = write!(s, "{b:02x}");
    }
    s
}
