//! Content hashes: ETags, derived ids and the store's change detection all hash
//! bytes the same way, so they live here rather than in any one of those layers.

use sha2::{Digest, Sha256};

/// The SHA-256 of `bytes` in lowercase hex.
pub fn hash_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lowercase hex, by table: `write!("{:02x}")` per byte was a fifth of the
/// cost of reading a feed.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 15)]);
    }
    String::from_utf8(out).expect("hex digits are ASCII")
}

/// A fingerprint of `bytes` for change detection (has this upstream body
/// changed since the last poll?), not for anything published: XXH3-128, which
/// runs near memory speed where SHA-256 was a fifth of the cost of reading a
/// feed. Nobody gains by a collision but the upstream that crafts it, whose
/// own change would go unseen. (Ids and ETags stay SHA-256: they are
/// published, and must not change across versions.)
pub fn fingerprint(bytes: &[u8]) -> String {
    hex(&xxhash_rust::xxh3::xxh3_128(bytes).to_le_bytes())
}

/// [`fingerprint`] of several fields: each field's length and hash, hashed,
/// so that no two lists of fields hash alike (`["ab", "c"]` and `["a", "bc"]`
/// differ). Field by field rather than streamed: the streaming hasher copies
/// its input into a buffer first.
pub fn fingerprint_fields<'a>(fields: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut each = Vec::with_capacity(16 * 24);
    for f in fields {
        each.extend_from_slice(&(f.len() as u64).to_le_bytes());
        each.extend_from_slice(&xxhash_rust::xxh3::xxh3_128(f).to_le_bytes());
    }
    fingerprint(&each)
}
