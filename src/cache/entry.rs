//! A document in every encoding: its bytes, tags and headers, each
//! compressed once, made when the entry is or on the first request that
//! takes it.

use super::compress::{self, Coding, GzipLevel, PARALLEL_COMPRESS, compress};
use super::mirror::mirror;
use crate::hash::hash_hex;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use hyper::header::{self, HeaderMap, HeaderValue};
use std::fs::File;
use std::sync::Arc;

/// One encoding of a document, with its own strong ETag.
#[derive(Debug, Clone)]
pub struct Variant {
    pub body: Bytes,
    pub etag: HeaderValue,
    /// Where the same bytes lie in a file, for large bodies on Linux, so the HTTP
    /// layer can `sendfile(2)` them instead of copying them into every socket.
    pub file: Option<FileRange>,
    /// Every header of a `200` answer with this variant, and of a `304` naming it,
    /// built once here: a request clones a map instead of building one, which
    /// was a fifth of the user-space cost of serving a feed.
    pub headers: HeaderMap,
    pub not_modified: HeaderMap,
}

/// A body's bytes in a file: the file (shared by a document's encodings) and the
/// offset they start at.
#[derive(Debug, Clone)]
pub struct FileRange {
    pub file: Arc<File>,
    pub offset: u64,
}

/// A document in every encoding, with the headers of each.
#[derive(Debug)]
pub struct Entry {
    pub identity: Variant,
    pub gzip: Option<Encoding>,
    pub br: Option<Encoding>,
    pub last_modified: Option<DateTime<Utc>>,
    /// Feeds may be read by other sites' browser code.
    pub cors: bool,
    /// Which encoding a request that takes both makes when neither is made
    /// (see [`Entry::asked_first`]).
    pub gzip_first: bool,
}

/// One encoding of a document: its tag and headers, and its bytes once made.
/// They are made when the entry is (archive pages, views) or on the first
/// request that takes them ([`Entry::rendered`]): a render pass replaces a
/// changed feed's documents, and during a stream of writes most of them are
/// replaced before anyone asks for them. Made at once, brotli was a quarter
/// of a write's CPU, and gzip then an eighth of what was left. The tag and
/// the `304` headers are known before the bytes: a conditional request never
/// waits for them.
#[derive(Debug)]
pub struct Encoding {
    made: std::sync::OnceLock<Variant>,
    coding: Coding,
    pub etag: HeaderValue,
    pub not_modified: HeaderMap,
    /// A `200`'s headers but its Content-Length.
    headers: HeaderMap,
}

impl Encoding {
    /// The variant, if made.
    pub fn get(&self) -> Option<&Variant> {
        self.made.get()
    }

    /// The variant, made now from the document's `identity` bytes if it was
    /// not: compressed once, whoever asks first; others asking meanwhile
    /// wait for it. Blocks for the compression: call it off the
    /// connection's thread. A large body gets a file of its own to be sent
    /// from, as the entry's others have.
    fn make(&self, identity: &[u8]) -> &Variant {
        self.made.get_or_init(|| {
            let body = self.coding.compress(identity);
            match mirror(&[&body]).pop().flatten() {
                Some(m) => self.variant(m.bytes, Some(m.range)),
                None => self.variant(body.into(), None),
            }
        })
    }

    fn variant(&self, body: Bytes, file: Option<FileRange>) -> Variant {
        let mut headers = self.headers.clone();
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        Variant {
            body,
            etag: self.etag.clone(),
            file,
            headers,
            not_modified: self.not_modified.clone(),
        }
    }
}

/// Documents under this size are not worth compressing.
const MIN_COMPRESS: usize = 256;

impl From<crate::render::Document> for Entry {
    fn from(d: crate::render::Document) -> Entry {
        Entry::compressed_as(d, None)
    }
}

/// How an entry gets its compressed bodies.
enum Compress {
    /// Both made before (a kept archive page's): gzip, brotli.
    Made(Vec<u8>, Vec<u8>),
    /// Both now.
    Now,
    /// Each when first asked for.
    Later,
    /// Each when first asked for, gzip before brotli.
    GzipFirst,
}

impl Entry {
    pub fn new(
        content_type: &'static str,
        body: Vec<u8>,
        last_modified: Option<DateTime<Utc>>,
        max_age: u32,
        cors: bool,
        negotiated: bool,
        link: Option<&str>,
    ) -> Entry {
        let d = crate::render::Document {
            path: String::new(),
            content_type,
            body,
            last_modified,
            max_age,
            shared: cors,
            negotiated,
            link: link.map(str::to_owned),
        };
        Entry::compressed_as(d, None)
    }

    /// A document's entry with its compressed bodies (gzip, brotli) as
    /// made before (a kept archive page's), or made now when not given.
    pub fn compressed_as(d: crate::render::Document, made: Option<(Vec<u8>, Vec<u8>)>) -> Entry {
        match made {
            Some((gz, br)) => Entry::build(d, Compress::Made(gz, br)),
            None => Entry::build(d, Compress::Now),
        }
    }

    /// A render pass's entry: each encoding made on the first request that
    /// takes it ([`Entry::make`]).
    pub fn rendered(d: crate::render::Document) -> Entry {
        Entry::build(d, Compress::Later)
    }

    /// A document rendered because a request asked for it (a closed archive
    /// page): each encoding made on the first request that takes it, and
    /// gzip when that request takes both. The reader waits for it, and
    /// gzip is made in a third of brotli's time (1.4 MB of RSS: 4 ms
    /// against 8-12 ms on the benchmark machine), at a lower level than
    /// other documents' ([`GzipLevel::ASKED`]); the page's brotli is made
    /// just after the answer, and taken from then on.
    pub fn asked_first(d: crate::render::Document) -> Entry {
        Entry::build(d, Compress::GzipFirst)
    }

    fn build(d: crate::render::Document, how: Compress) -> Entry {
        let crate::render::Document {
            content_type,
            body,
            last_modified,
            max_age,
            shared: cors,
            negotiated,
            link,
            ..
        } = d;
        let link = link.as_deref();
        let gzip_first = matches!(how, Compress::GzipFirst);
        // A large document asked for first: its gzip is what the reader
        // waits for (every reader takes it, and the page's finishing makes
        // it for the rest), so it is made on every core: its parts on the
        // others, and on this one too once it has hashed and mirrored the
        // body.
        let level = if gzip_first {
            GzipLevel::ASKED
        } else {
            GzipLevel::DEFAULT
        };
        let (tag, ranges, gzipped) = if gzip_first && body.len() >= PARALLEL_COMPRESS {
            let (gz, (tag, ranges)) =
                compress::gzip_beside(&body, level, crate::cores::cores(), || {
                    (hash_hex(&body), mirror(&[&body]))
                });
            let mirrored = mirror(&[&gz]).pop().flatten();
            (tag, ranges, Some((gz, mirrored)))
        } else {
            (hash_hex(&body), Vec::new(), None)
        };
        let tag = &tag[..32];
        // The compressed bodies made now, if any (gzip, brotli); `None`
        // for a document too small to compress.
        let compressed = match how {
            _ if body.len() < MIN_COMPRESS => None,
            Compress::Made(gz, br) => Some(Some((gz, br))),
            Compress::Now => Some(Some(compress(&body))),
            Compress::Later | Compress::GzipFirst => Some(None),
        };
        let ranges = match &compressed {
            _ if gzipped.is_some() => ranges,
            Some(Some((gz, br))) => mirror(&[&body, gz, br]),
            _ => mirror(&[&body]),
        };
        // What every answer about the document says, 304s included (RFC 9110 15.4.5).
        let mut common = HeaderMap::with_capacity(8);
        // A feed's URL answers browsers with its HTML page (`negotiated`), so caches
        // must key those answers on Accept too.
        common.insert(
            header::VARY,
            HeaderValue::from_static(if negotiated {
                "Accept, Accept-Encoding"
            } else {
                "Accept-Encoding"
            }),
        );
        // An archive page (RFC 5005) is never to change: RFC 8246's
        // `immutable` spares readers even the revalidation.
        let immutable = if max_age == crate::render::ARCHIVE_MAX_AGE {
            ", immutable"
        } else {
            ""
        };
        common.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_str(&format!("public, max-age={max_age}{immutable}")).expect("ascii"),
        );
        if let Some(t) = last_modified {
            let date = httpdate::fmt_http_date(t.into());
            common.insert(
                header::LAST_MODIFIED,
                HeaderValue::from_str(&date).expect("an HTTP date is a valid header"),
            );
        }
        if let Some(link) = link.and_then(|l| HeaderValue::from_str(l).ok()) {
            common.insert(header::LINK, link);
        }
        if cors {
            common.insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
            common.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static("ETag, Last-Modified, Link"),
            );
        }
        // An encoding's tag and headers, before its bytes.
        let template = |coding: Coding| {
            let (suffix, name) = match coding {
                Coding::Identity => ("", None),
                Coding::Gzip(_) => ("-gz", Some("gzip")),
                Coding::Brotli => ("-br", Some("br")),
            };
            let etag = etag(tag, suffix);
            let mut not_modified = common.clone();
            not_modified.insert(header::ETAG, etag.clone());
            let mut headers = not_modified.clone();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            if let Some(name) = name {
                headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(name));
            }
            Encoding {
                made: std::sync::OnceLock::new(),
                coding,
                etag,
                not_modified,
                headers,
            }
        };
        let mut ranges = ranges.into_iter();
        let mut variant = |t: &Encoding, body: Vec<u8>| match ranges.next().flatten() {
            Some(m) => t.variant(m.bytes, Some(m.range)),
            None => t.variant(body.into(), None),
        };
        let identity = variant(&template(Coding::Identity), body);
        let (gzip, br) = (template(Coding::Gzip(level)), template(Coding::Brotli));
        let (gzip, br) = match compressed {
            Some(made) => {
                if let Some((gz, b)) = made {
                    let gz = variant(&gzip, gz);
                    gzip.made.set(gz).expect("a new cell");
                    let b = variant(&br, b);
                    br.made.set(b).expect("a new cell");
                }
                (Some(gzip), Some(br))
            }
            None => (None, None),
        };
        if let (Some(encoding), Some((gz, mirrored))) = (&gzip, gzipped) {
            let made = match mirrored {
                Some(m) => encoding.variant(m.bytes, Some(m.range)),
                None => encoding.variant(gz.into(), None),
            };
            encoding.made.set(made).expect("a new cell");
        }
        Entry {
            identity,
            gzip,
            br,
            last_modified,
            cors,
            gzip_first,
        }
    }

    /// The same document with one more header on every answer, `304`s
    /// included: a page's own policy (CSP), which a feed has no use for.
    pub fn with_header(mut self, name: header::HeaderName, value: HeaderValue) -> Entry {
        for e in [self.gzip.as_mut(), self.br.as_mut()].into_iter().flatten() {
            e.headers.insert(name.clone(), value.clone());
            e.not_modified.insert(name.clone(), value.clone());
            if let Some(v) = e.made.get_mut() {
                v.headers.insert(name.clone(), value.clone());
                v.not_modified.insert(name.clone(), value.clone());
            }
        }
        let v = &mut self.identity;
        v.headers.insert(name.clone(), value.clone());
        v.not_modified.insert(name, value);
        self
    }

    /// The compressed bodies (gzip, brotli), if both are made.
    pub fn compressed(&self) -> Option<(&[u8], &[u8])> {
        let gz = self.gzip.as_ref()?.get()?;
        let br = self.br.as_ref()?.get()?;
        Some((&gz.body[..], &br.body[..]))
    }

    /// The variant of `encoding`, one of this entry's, made now if it was
    /// not (see [`Encoding`]). Blocks for the compression: call it off the
    /// connection's thread.
    pub fn make<'a>(&'a self, encoding: &'a Encoding) -> &'a Variant {
        encoding.make(&self.identity.body)
    }

    /// Every ETag this document is served under, in any encoding (those
    /// not made yet too: another instance may have served them).
    pub fn etags(&self) -> impl Iterator<Item = &HeaderValue> {
        std::iter::once(&self.identity.etag)
            .chain(self.gzip.iter().map(|e| &e.etag))
            .chain(self.br.iter().map(|e| &e.etag))
    }
}

fn etag(tag: &str, suffix: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{tag}{suffix}\"")).expect("hex is a valid header")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// A feed document of `body`, cached five minutes.
    fn rss(body: Vec<u8>) -> Entry {
        Entry::new("application/rss+xml", body, None, 300, true, true, None)
    }

    #[test]
    fn variants_decompress_to_the_same_bytes_and_tags_follow_content() {
        // A small body, and one compressed both ways at once.
        let large = items(PARALLEL_COMPRESS as u32 / 8, "i");
        assert!(large.len() >= PARALLEL_COMPRESS);
        for body in [large, "<rss>".repeat(200).into_bytes()] {
            let e = rss(body.clone());
            let mut plain = Vec::new();
            flate2::read::GzDecoder::new(&gz(&e).body[..])
                .read_to_end(&mut plain)
                .unwrap();
            assert_eq!(plain, body);
            let mut plain = Vec::new();
            brotli::BrotliDecompress(&mut &br(&e).body[..], &mut plain).unwrap();
            assert_eq!(plain, body);
        }
        let body = "<rss>".repeat(200).into_bytes();
        let e = rss(body.clone());
        let again = rss(body);
        assert_eq!(again.identity.etag, e.identity.etag);
        let other = rss(b"<rss/>".repeat(100));
        assert_ne!(other.identity.etag, e.identity.etag);
        assert_eq!(e.etags().count(), 3);
    }

    #[test]
    fn archive_pages_are_immutable_and_feeds_are_not() {
        let cache_control = |e: &Entry| e.identity.headers[header::CACHE_CONTROL].clone();
        assert_eq!(
            cache_control(&rss(b"<rss/>".to_vec())),
            "public, max-age=300"
        );
        let page = Entry::new(
            "application/atom+xml",
            b"<feed/>".to_vec(),
            None,
            crate::render::ARCHIVE_MAX_AGE,
            true,
            false,
            None,
        );
        assert_eq!(cache_control(&page), "public, max-age=31536000, immutable");
    }

    /// A large document's bodies are read back from its file: the same bytes
    /// in every encoding, each where its range says.
    #[cfg(target_os = "linux")]
    #[test]
    fn large_bodies_are_their_files_bytes() {
        let body = items(200_000, "item");
        let e = rss(body.clone());
        assert_eq!(&e.identity.body[..], &body[..]);
        for v in [&e.identity, gz(&e), br(&e)] {
            assert_on_disk(v);
        }
        let mut plain = Vec::new();
        brotli::BrotliDecompress(&mut &br(&e).body[..], &mut plain).unwrap();
        assert_eq!(plain, body);
    }

    /// An entry's brotli variant, made when the entry was.
    fn br(e: &Entry) -> &Variant {
        e.br.as_ref().unwrap().get().expect("made with the entry")
    }

    /// An entry's gzip variant, made when the entry was.
    fn gz(e: &Entry) -> &Variant {
        e.gzip.as_ref().unwrap().get().expect("made with the entry")
    }

    /// A body of `items` items that compresses about as a feed does.
    fn items(items: u32, tag: &str) -> Vec<u8> {
        (0..items)
            .flat_map(|i| format!("<{tag}>{}</{tag}>", i * 7919 % 100_003).into_bytes())
            .collect()
    }

    /// The variant's file holds its bytes where it says.
    #[cfg(target_os = "linux")]
    fn assert_on_disk(v: &Variant) {
        use std::os::unix::fs::FileExt;
        let range = v.file.as_ref().expect("a large body has a file");
        let mut on_disk = vec![0; v.body.len()];
        range
            .file
            .read_exact_at(&mut on_disk, range.offset)
            .unwrap();
        assert_eq!(on_disk, &v.body[..]);
    }

    fn document(body: &[u8]) -> crate::render::Document {
        crate::render::Document {
            path: "/feeds/world.rss".into(),
            content_type: "application/rss+xml",
            body: body.to_vec(),
            last_modified: None,
            max_age: 300,
            shared: true,
            negotiated: true,
            link: None,
        }
    }

    /// A render pass's entry has every encoding's tag and headers at once,
    /// and each one's bytes once asked for: the same as an entry made at
    /// once, headers added before included.
    #[test]
    fn rendered_entries_make_each_encoding_when_first_asked() {
        let body = "<rss><item>x</item></rss>".repeat(100).into_bytes();
        let csp = header::CONTENT_SECURITY_POLICY;
        let at_once =
            Entry::from(document(&body)).with_header(csp.clone(), HeaderValue::from_static("x"));
        let later = Entry::rendered(document(&body))
            .with_header(csp.clone(), HeaderValue::from_static("x"));
        assert_eq!(
            later.etags().collect::<Vec<_>>(),
            at_once.etags().collect::<Vec<_>>()
        );
        assert!(later.compressed().is_none());
        for (lazy, made_at_once) in [
            (later.gzip.as_ref().unwrap(), gz(&at_once)),
            (later.br.as_ref().unwrap(), br(&at_once)),
        ] {
            assert!(lazy.get().is_none());
            assert_eq!(lazy.etag, made_at_once.etag);
            assert_eq!(lazy.not_modified, made_at_once.not_modified);
            let made = later.make(lazy);
            assert_eq!(made.body, made_at_once.body);
            assert_eq!(made.headers, made_at_once.headers);
            assert_eq!(made.headers[&csp], "x");
            assert!(std::ptr::eq(made, later.make(lazy)), "made once");
        }
        assert!(later.compressed().is_some());
        // Too small to compress: no encodings at all.
        let small = Entry::rendered(document(b"<rss/>"));
        assert!(small.gzip.is_none() && small.br.is_none());
    }

    /// A large document asked for first comes with its gzip made (beside
    /// its hash, on another core), byte for byte the gzip made on one
    /// thread at its level, under the tag and headers of a rendered
    /// document's, and from a file of its own; brotli is left to the
    /// page's finishing. A small one makes nothing ahead, and its gzip,
    /// made later, is at the same level.
    #[test]
    fn a_large_document_asked_for_first_has_its_gzip_made() {
        let large = items(PARALLEL_COMPRESS as u32 / 8, "i");
        let first = Entry::asked_first(document(&large));
        let later = Entry::rendered(document(&large));
        let made = first
            .gzip
            .as_ref()
            .unwrap()
            .get()
            .expect("gzip made with the entry");
        let asked = later.make(later.gzip.as_ref().unwrap());
        assert_eq!(made.body, compress::gzip(&large, GzipLevel::ASKED));
        assert_ne!(
            made.body, asked.body,
            "a rendered document's is at the default level"
        );
        assert_eq!(made.etag, asked.etag);
        let but_length = |v: &Variant| {
            let mut h = v.headers.clone();
            h.remove(header::CONTENT_LENGTH);
            h
        };
        assert_eq!(but_length(made), but_length(asked));
        assert_eq!(
            made.headers[header::CONTENT_LENGTH],
            made.body.len().to_string()
        );
        #[cfg(target_os = "linux")]
        assert!(made.file.is_some(), "sent from a file");
        assert!(first.br.as_ref().unwrap().get().is_none());
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(&made.body[..])
            .read_to_end(&mut plain)
            .unwrap();
        assert_eq!(plain, large);
        let small_body = items(PARALLEL_COMPRESS as u32 / 64, "s");
        assert!(small_body.len() < PARALLEL_COMPRESS);
        let small = Entry::asked_first(document(&small_body));
        assert!(small.gzip.as_ref().unwrap().get().is_none());
        let gz = small.make(small.gzip.as_ref().unwrap());
        assert_eq!(gz.body, compress::gzip(&small_body, GzipLevel::ASKED));
    }

    /// An encoding made on request is sent from a file of its own when large,
    /// as those made with the entry are.
    #[cfg(target_os = "linux")]
    #[test]
    fn encodings_made_later_have_files_when_large() {
        let body = items(100_000, "item");
        let e = Entry::rendered(document(&body));
        let made = e.make(e.gzip.as_ref().unwrap());
        assert_on_disk(made);
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(&made.body[..])
            .read_to_end(&mut plain)
            .unwrap();
        assert_eq!(plain, body);
    }
}
