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
        return (gzip(body), brotli(body));
    }
    std::thread::scope(|s| {
        let gz = s.spawn(|| gzip(body));
        let br = brotli(body);
        (gz.join().expect("gzip to a Vec does not panic"), br)
    })
}

/// A content coding (RFC 9110 8.4.1) a document is served in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Coding {
    Identity,
    Gzip,
    Brotli,
}

impl Coding {
    pub(super) fn compress(self, body: &[u8]) -> Vec<u8> {
        match self {
            Coding::Identity => body.to_vec(),
            Coding::Gzip => gzip(body),
            Coding::Brotli => brotli(body),
        }
    }
}

pub(super) fn gzip(body: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 3),
        flate2::Compression::new(6),
    );
    enc.write_all(body).expect("writing to a Vec cannot fail");
    enc.finish().expect("writing to a Vec cannot fail")
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
