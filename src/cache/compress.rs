//! A document's compressed bodies: gzip and brotli, with the settings every
//! instance uses, so that an encoding's bytes follow its identity bytes.

use std::io::Write;

/// Bodies from this size are compressed both ways at once (see [`compress`]).
pub(super) const PARALLEL_COMPRESS: usize = 128 << 10;

/// A body's gzip and brotli, side by side on two cores when it is large:
/// a large document is an archive page or a big timeline, rendered while a
/// reader waits for it, and its two encodings are most of that wait. A
/// small one is not worth a thread.
pub(super) fn compress(body: &[u8]) -> (Vec<u8>, Vec<u8>) {
    if body.len() < PARALLEL_COMPRESS {
        return (gzip(body, GzipLevel::DEFAULT), brotli(body));
    }
    std::thread::scope(|s| {
        let gz = s.spawn(|| gzip(body, GzipLevel::DEFAULT));
        let br = brotli(body);
        (gz.join().expect("gzip to a Vec does not panic"), br)
    })
}

/// A content coding (RFC 9110 8.4.1) a document is served in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Coding {
    Identity,
    Gzip(GzipLevel),
    Brotli,
}

impl Coding {
    pub(super) fn compress(self, body: &[u8]) -> Vec<u8> {
        match self {
            Coding::Identity => body.to_vec(),
            // A reader waits for it: on every core.
            Coding::Gzip(level) => gzip_beside(body, level, crate::cores::cores(), || ()).0,
            Coding::Brotli => brotli(body),
        }
    }
}

/// A gzip's level. A document's gzip is made at one level wherever it is
/// made (render pass, first request, finishing, any instance), so that its
/// bytes follow from its identity bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct GzipLevel(u32);

impl GzipLevel {
    /// zlib's default: every document but those below.
    pub(super) const DEFAULT: GzipLevel = GzipLevel(6);
    /// A document rendered because a reader asked for it (a closed archive
    /// page; see `Entry::asked_first`), who waits for its gzip. Level 4
    /// took 1.6 ms against 3.6-3.9 at 6 on a page of the benchmark's
    /// timeline (1.4-1.8 MB of RSS, Atom or JSON Feed) for 4-7% more bytes,
    /// and 5.2 ms against 7.3 on 520 KB of prose (licences and READMEs)
    /// for 2.3% more. Level 3 saved little more time for 6% more bytes
    /// on prose. Brotli, made just after the answer, serves every reader
    /// that takes it from then on.
    pub(super) const ASKED: GzipLevel = GzipLevel(4);
}

/// Bodies from twice this size are gzipped in parts of this size (see
/// [`gzip_beside`]).
pub(super) const GZIP_PART: usize = 256 << 10;

/// Deflate's window: what a part is given of the bytes before it.
const WINDOW: usize = 32 << 10;

/// A body's gzip, on this thread (see [`gzip_beside`] for the bytes).
pub(super) fn gzip(body: &[u8], level: GzipLevel) -> Vec<u8> {
    gzip_beside(body, level, 1, || ()).0
}

/// A body's gzip made on up to `threads` cores, and `beside` run on this
/// one first. A large body (an archive page, 1.4 MB of RSS) is gzipped in
/// parts that are made at once, the way pigz does it: each part deflated on
/// its own with the 32 KiB before it as its dictionary, ended on a byte
/// boundary by a sync flush (the last by the final block), the parts' CRCs
/// combined. It is one ordinary gzip member, as small as one stream's
/// (46,071 against 46,112 bytes on such a page), made in 2.9 ms on two
/// cores against 6.6 on one. Its bytes follow from the body alone, not
/// from how many threads made it, so every instance and every path serves
/// the same bytes under one ETag. A body under two parts is one stream,
/// as before.
pub(super) fn gzip_beside<R>(
    body: &[u8],
    level: GzipLevel,
    threads: usize,
    beside: impl FnOnce() -> R,
) -> (Vec<u8>, R) {
    let parts = body.len() / GZIP_PART;
    if parts < 2 {
        if threads < 2 {
            let r = beside();
            return (whole(body, level), r);
        }
        return std::thread::scope(|s| {
            let gz = s.spawn(|| whole(body, level));
            let r = beside();
            (gz.join().expect("gzip to a Vec does not panic"), r)
        });
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let made: Vec<std::sync::OnceLock<(Vec<u8>, crc32fast::Hasher)>> =
        (0..parts).map(|_| std::sync::OnceLock::new()).collect();
    let work = || {
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(cell) = made.get(i) else { break };
            let _ = cell.set(part(body, level, i, i + 1 == parts));
        }
    };
    let r = std::thread::scope(|s| {
        for _ in 1..threads.min(parts) {
            s.spawn(work);
        }
        let r = beside();
        work();
        r
    });
    let mut out = Vec::with_capacity(body.len() / 3);
    // RFC 1952's header as flate2 writes it: no name, no time, unknown OS.
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    let mut crc = crc32fast::Hasher::new();
    for cell in made {
        let (deflated, part_crc) = cell.into_inner().expect("every part is made");
        out.extend_from_slice(&deflated);
        crc.combine(&part_crc);
    }
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    // ISIZE: the length modulo 2^32 (RFC 1952 2.3.1).
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    (out, r)
}

/// One stream, as flate2 writes it.
fn whole(body: &[u8], level: GzipLevel) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 3),
        flate2::Compression::new(level.0),
    );
    enc.write_all(body).expect("writing to a Vec cannot fail");
    enc.finish().expect("writing to a Vec cannot fail")
}

/// Part `i` of a body gzipped in parts, deflated, with its CRC. The last
/// part takes the rest of the body.
fn part(body: &[u8], level: GzipLevel, i: usize, last: bool) -> (Vec<u8>, crc32fast::Hasher) {
    use flate2::{Compress, Compression, FlushCompress, Status};
    let start = i * GZIP_PART;
    let input = if last {
        &body[start..]
    } else {
        &body[start..start + GZIP_PART]
    };
    let mut deflate = Compress::new(Compression::new(level.0), false);
    if start > 0 {
        deflate
            .set_dictionary(&body[start - WINDOW.min(start)..start])
            .expect("a dictionary before any input is taken");
    }
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut out = Vec::with_capacity(input.len() / 3 + 64);
    loop {
        if out.capacity() - out.len() < 64 {
            out.reserve(out.capacity());
        }
        let read = usize::try_from(deflate.total_in()).unwrap_or(input.len());
        let status = deflate
            .compress_vec(&input[read.min(input.len())..], &mut out, flush)
            .expect("deflating bytes in memory does not fail");
        let taken = deflate.total_in() == input.len() as u64;
        // A flush is done when it left room in the output (zlib's rule).
        let done = match flush {
            FlushCompress::Finish => status == Status::StreamEnd,
            _ => taken && out.len() < out.capacity(),
        };
        if done {
            break;
        }
    }
    let mut crc = crc32fast::Hasher::new();
    crc.update(input);
    (out, crc)
}

/// Brotli quality 5 with a window sized to the document: a fixed 4 MiB window
/// (lgwin 22) spends most of the time clearing tables a feed never fills. At
/// most 1 MiB (lgwin 20): a feed repeats itself item by item, not across
/// megabytes, and the encoder's buffers for a 4 MiB window were the largest
/// part of a render pass's peak memory. Quality 5, not 6: on rendered feeds
/// of 2 KB to 200 KB it took 25-45% less time for bodies within 1.5% of
/// quality 6's (its hash table is half the size, and clearing quality 6's
/// 2 MiB table was a tenth of a render pass); a render pass compresses every
/// document it changes, so this is most of a write's rendering cost.
/// (A window of 64 KiB or less picks another hasher, ten times slower here.)
pub(super) fn brotli(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() / 3);
    let bits = usize::BITS - body.len().max(1).leading_zeros();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 5,
        lgwin: (bits as i32 + 1).clamp(18, 20),
        size_hint: body.len(),
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &body[..], &mut out, &params)
        .expect("writing to a Vec cannot fail");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn gunzip(gz: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(gz)
            .read_to_end(&mut out)
            .expect("a valid gzip member");
        out
    }

    /// Bytes that do not compress: a block of them repeated is only
    /// small when deflate finds the block again.
    fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    #[test]
    fn a_body_in_parts_gunzips_to_itself_with_one_crc_and_length() {
        let text: Vec<u8> = (0..40_000)
            .flat_map(|i| format!("<item><title>Story {i}</title></item>").into_bytes())
            .collect();
        for len in [
            0,
            1,
            GZIP_PART - 1,
            2 * GZIP_PART - 1,
            2 * GZIP_PART,
            2 * GZIP_PART + 1,
            5 * GZIP_PART + 12_345,
        ] {
            for (body, level) in [
                (text[..len.min(text.len())].to_vec(), GzipLevel::DEFAULT),
                (noise(len, len as u64), GzipLevel::ASKED),
            ] {
                let gz = gzip(&body, level);
                assert_eq!(gunzip(&gz), body, "{len} bytes");
                // A single member: the trailer is the whole body's.
                let crc = u32::from_le_bytes(gz[gz.len() - 8..gz.len() - 4].try_into().unwrap());
                assert_eq!(crc, crc32fast::hash(&body), "{len} bytes");
                let size = u32::from_le_bytes(gz[gz.len() - 4..].try_into().unwrap());
                assert_eq!(size as usize, body.len());
            }
        }
    }

    /// At each level: the level is a property of the document, so every
    /// path that makes it gets the same bytes.
    #[test]
    fn the_bytes_follow_from_the_body_not_from_the_threads() {
        let body = noise(3 * GZIP_PART + 77, 7).repeat(2);
        for level in [GzipLevel::DEFAULT, GzipLevel::ASKED] {
            let one = gzip(&body, level);
            for threads in [2, 3, 8] {
                let (many, beside) = gzip_beside(&body, level, threads, || 42);
                assert_eq!(many, one, "{threads} threads");
                assert_eq!(beside, 42);
            }
            assert_eq!(Coding::Gzip(level).compress(&body), one);
        }
        // The levels do make different bytes.
        let text = b"<item><title>A story</title><description>told once</description></item>";
        let text: Vec<u8> = (0..20_000u32)
            .flat_map(|i| [&text[..], &i.to_le_bytes()[..]].concat())
            .collect();
        assert_ne!(
            gzip(&text, GzipLevel::DEFAULT),
            gzip(&text, GzipLevel::ASKED)
        );
    }

    #[test]
    fn each_part_sees_the_window_before_it() {
        // 16 KiB of noise over and over: found again across every part's
        // start only if the part was given the bytes before it. Without
        // them each part would pay the block once more (16 KB a part).
        let body = noise(16 << 10, 3).repeat(6 * GZIP_PART / (16 << 10));
        let parted = gzip(&body, GzipLevel::DEFAULT);
        let whole = whole(&body, GzipLevel::DEFAULT);
        assert!(
            parted.len() < whole.len() + 1024,
            "{} bytes in parts against {} whole",
            parted.len(),
            whole.len()
        );
    }

    #[test]
    fn a_small_body_is_one_stream_as_before() {
        let body = b"<rss><channel><title>t</title></channel></rss>".repeat(2000);
        assert!(body.len() < 2 * GZIP_PART);
        for level in [GzipLevel::DEFAULT, GzipLevel::ASKED] {
            assert_eq!(gzip(&body, level), whole(&body, level));
            assert_eq!(gzip_beside(&body, level, 2, || ()).0, whole(&body, level));
        }
    }
}
