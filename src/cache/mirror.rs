//! Large bodies kept in a file that `sendfile(2)` sends from, and read
//! through a mapping of it instead of a copy in the process's memory.

use super::FileRange;
use bytes::Bytes;
use std::io::Write;
use std::sync::Arc;

/// Bodies under this size are copied: one copy costs less than the extra system
/// call of sending the head and the body apart.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
const MIN_MIRROR: usize = 16 * 1024;

/// A large body as its file holds it: where, and the same bytes mapped from
/// the file, which the entry keeps instead of its own copy.
#[derive(Clone)]
pub(super) struct Mirrored {
    pub(super) range: FileRange,
    pub(super) bytes: Bytes,
}

/// Writes a document's large bodies, one after the other, into one unlinked
/// temporary file: one descriptor per document, whatever its encodings. A
/// page-cache file, not a memfd: tmpfs splices page by page and costs more than
/// the copy it saves. The bodies are then read back through a mapping of the
/// file, and the rendered copies dropped: the bytes live in the page cache,
/// as nginx's static files do, and the sendfile path never touches them, so a
/// 1,000-item timeline in four formats and three encodings (a few tens of
/// MiB) is not held in the process's own memory. Without a file (no writable
/// temp dir) bodies are kept and copied as usual, so a failure is only logged.
#[cfg(target_os = "linux")]
pub(super) fn mirror(bodies: &[&[u8]]) -> Vec<Option<Mirrored>> {
    let mut mirrored = vec![None; bodies.len()];
    if bodies.iter().all(|b| b.len() < MIN_MIRROR) {
        return mirrored;
    }
    let written = tempfile::tempfile().and_then(|mut file| {
        let mut at = Vec::with_capacity(bodies.len());
        let mut offset = 0;
        for body in bodies {
            if body.len() >= MIN_MIRROR {
                file.write_all(body)?;
                at.push(Some((offset, body.len())));
                offset += body.len() as u64;
            } else {
                at.push(None);
            }
        }
        // SAFETY: a mapping is sound while nothing changes the file under it.
        // This one is unlinked from its creation and only this process holds
        // it; it was written in full above and is never written again.
        let map = unsafe { memmap2::Mmap::map(&file) }?;
        Ok((Arc::new(file), at, Bytes::from_owner(map)))
    });
    match written {
        Ok((file, at, map)) => {
            for (slot, at) in mirrored.iter_mut().zip(at) {
                *slot = at.map(|(offset, len)| {
                    let start = usize::try_from(offset).expect("a body fits in memory");
                    Mirrored {
                        range: FileRange {
                            file: file.clone(),
                            offset,
                        },
                        bytes: map.slice(start..start + len),
                    }
                });
            }
        }
        Err(e) => tracing::debug!("no file for a document, copying it: {e}"),
    }
    mirrored
}

/// Elsewhere there is no sendfile path (`http/sendfile.rs`): bodies are copied.
#[cfg(not(target_os = "linux"))]
pub(super) fn mirror(bodies: &[&[u8]]) -> Vec<Option<Mirrored>> {
    vec![None; bodies.len()]
}
