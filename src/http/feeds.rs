//! Serving a cached document: encoding negotiation and conditional GET (RFC 9110).
//! Everything here is a lookup; nothing renders.

use super::sendfile::Pending;
use crate::cache::{Entry, Variant};
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderMap};
use hyper::{Method, Response, StatusCode};

/// The response for a cached document; a body about to be sent is noted in
/// `pending`, so the connection can send it from its file.
pub fn respond(
    method: &Method,
    headers: &HeaderMap,
    entry: &Entry,
    pending: &Pending,
) -> Response<Full<Bytes>> {
    let variant = negotiate(headers, entry);
    let mut resp = Response::new(Full::new(Bytes::new()));
    if not_modified(headers, entry) {
        *resp.status_mut() = StatusCode::NOT_MODIFIED;
        *resp.headers_mut() = variant.not_modified.clone();
        return resp;
    }
    *resp.headers_mut() = variant.headers.clone();
    if method != Method::HEAD {
        pending.set(variant);
        *resp.body_mut() = Full::new(variant.body.clone());
    }
    resp
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
fn negotiate<'a>(headers: &HeaderMap, entry: &'a Entry) -> &'a Variant {
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
    if let Some(v) = &entry.br
        && accepts(br)
    {
        return v;
    }
    if let Some(v) = &entry.gzip
        && accepts(gzip)
    {
        return v;
    }
    &entry.identity
}
