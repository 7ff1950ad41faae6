//! Serving a cached document: encoding negotiation and conditional GET (RFC 9110).
//! Everything here is a lookup; nothing renders.

use super::sendfile::Pending;
use crate::cache::{Entry, Variant};
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Response, StatusCode};

const VARY: HeaderValue = HeaderValue::from_static("Accept-Encoding");

/// The response for a cached document; a body about to be sent is noted in
/// `pending`, so the connection can send it from its file.
pub fn respond(
    method: &Method,
    headers: &HeaderMap,
    entry: &Entry,
    pending: &Pending,
) -> Response<Full<Bytes>> {
    let (variant, encoding) = negotiate(headers, entry);
    let mut resp = Response::new(Full::new(Bytes::new()));
    let h = resp.headers_mut();
    // Room for every header below at once, instead of growing mid-way.
    h.reserve(10);
    h.insert(header::ETAG, variant.etag.clone());
    h.insert(header::CACHE_CONTROL, entry.cache_control.clone());
    h.insert(header::VARY, VARY);
    if let Some(lm) = &entry.last_modified_header {
        h.insert(header::LAST_MODIFIED, lm.clone());
    }
    if entry.cors {
        h.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("ETag, Last-Modified"),
        );
    }
    if not_modified(headers, entry) {
        *resp.status_mut() = StatusCode::NOT_MODIFIED;
        return resp;
    }
    h.insert(header::CONTENT_TYPE, entry.content_type.clone());
    if let Some(enc) = encoding {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(enc));
    }
    h.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(variant.body.len()),
    );
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
fn negotiate<'a>(headers: &HeaderMap, entry: &'a Entry) -> (&'a Variant, Option<&'static str>) {
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
        return (v, Some("br"));
    }
    if let Some(v) = &entry.gzip
        && accepts(gzip)
    {
        return (v, Some("gzip"));
    }
    (&entry.identity, None)
}
