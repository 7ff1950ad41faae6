//! Serving a cached document: encoding negotiation and conditional GET (RFC 9110).
//! Everything here is a lookup; nothing renders.

use super::sendfile::Pending;
use crate::cache::{Encoding, Entry, Variant};
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderMap};
use hyper::{Method, Response, StatusCode};

/// The response for a cached document; a body about to be sent is noted in
/// `pending`, so the connection can send it from its file. A compressed body
/// not made yet is made here, which blocks: on a connection's thread, answer
/// only when [`compression_due`] is false.
pub fn respond(
    method: &Method,
    headers: &HeaderMap,
    entry: &Entry,
    pending: &Pending,
) -> Response<Full<Bytes>> {
    let pick = negotiate(headers, entry);
    let mut resp = Response::new(Full::new(Bytes::new()));
    if not_modified(headers, entry) {
        *resp.status_mut() = StatusCode::NOT_MODIFIED;
        *resp.headers_mut() = match pick {
            Pick::Made(v) => v.not_modified.clone(),
            Pick::Later(e) => e.not_modified.clone(),
        };
        return resp;
    }
    let variant = match pick {
        Pick::Made(v) => v,
        Pick::Later(e) => entry.make(e),
    };
    *resp.headers_mut() = variant.headers.clone();
    if method != Method::HEAD {
        pending.set(variant);
        *resp.body_mut() = Full::new(variant.body.clone());
    }
    resp
}

/// Whether answering would first compress the document: a `200` in an
/// encoding not made yet ([`Entry::rendered`]). Then the request is answered
/// off the connection's thread, which other connections share, after
/// [`make_due`].
pub fn compression_due(method: &Method, headers: &HeaderMap, entry: &Entry) -> bool {
    // Once made, a document is answered without reading Accept-Encoding twice.
    let later = |e: &Option<Encoding>| e.as_ref().is_some_and(|e| e.get().is_none());
    (later(&entry.gzip) || later(&entry.br))
        && matches!(*method, Method::GET | Method::HEAD)
        && matches!(negotiate(headers, entry), Pick::Later(_))
        && !not_modified(headers, entry)
}

/// Makes the encoding the request takes, if it is not made yet. Blocks for
/// the compression.
pub fn make_due(headers: &HeaderMap, entry: &Entry) {
    if let Pick::Later(e) = negotiate(headers, entry) {
        entry.make(e);
    }
}

/// The encoding an answer is in.
enum Pick<'a> {
    Made(&'a Variant),
    /// One whose bytes are not made yet.
    Later(&'a Encoding),
}

/// If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2). Any encoding's tag
/// matches: they name the same content.
fn not_modified(headers: &HeaderMap, entry: &Entry) -> bool {
    if let Some(inm) = headers.get(header::IF_NONE_MATCH) {
        let Ok(inm) = inm.to_str() else { return false };
        return inm
            .split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == "*" || entry.etags().any(|e| e.as_bytes() == t.as_bytes()));
    }
    match (
        headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok()),
        entry.last_modified,
    ) {
        (Some(ims), Some(lm)) => httpdate::parse_http_date(ims).is_ok_and(|since| {
            lm.timestamp()
                <= since
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64)
        }),
        _ => false,
    }
}

/// Brotli, then gzip, then identity, as far as the client accepts them. Runs on
/// every request, so it reads the header in place without allocating.
fn negotiate<'a>(headers: &HeaderMap, entry: &'a Entry) -> Pick<'a> {
    let (mut br, mut gzip, mut any) = (None, None, None);
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for part in value.split(',') {
            let mut it = part.split(';');
            let coding = it.next().unwrap_or("").trim();
            let q = it
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            if coding.eq_ignore_ascii_case("br") {
                br = Some(q);
            } else if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
                gzip = Some(q);
            } else if coding == "*" {
                any = Some(q);
            }
        }
    }
    let accepts = |q: Option<f32>| q.or(any).is_some_and(|q| q > 0.0);
    let pick = |e: &'a Encoding| e.get().map_or(Pick::Later(e), Pick::Made);
    let br = entry.br.as_ref().filter(|_| accepts(br));
    let gzip = entry.gzip.as_ref().filter(|_| accepts(gzip));
    // A document made for its first asker: brotli once it is made, else
    // gzip, quicker to make (see `Entry::asked_first`).
    if entry.gzip_first
        && let Some(g) = gzip
        && br.is_none_or(|b| b.get().is_none())
    {
        return pick(g);
    }
    match (br, gzip) {
        (Some(b), _) => pick(b),
        (None, Some(g)) => pick(g),
        (None, None) => Pick::Made(&entry.identity),
    }
}
