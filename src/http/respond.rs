//! Answers every handler builds alike: JSON bodies, `204`, and a request's
//! body read within its limits (and read away when it is refused).

use super::problem::Problem;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Response, StatusCode};
use std::time::Duration;

/// A client gets this long to send its whole body.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);

type Resp = Response<Full<Bytes>>;

pub fn json_response(status: StatusCode, value: &impl serde::Serialize) -> Response<Full<Bytes>> {
    let body = serde_json::to_vec_pretty(value).expect("serializes");
    let mut resp = uncached(body, "application/json");
    *resp.status_mut() = status;
    resp
}

/// A `200` with `body` of `content_type` that no cache keeps: answers about
/// this instance now (health, metrics, the API).
pub fn uncached(body: impl Into<Bytes>, content_type: &'static str) -> Resp {
    let mut resp = Response::new(Full::new(body.into()));
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// The answer to a request whose body may be unread, with the body read away
/// first as said below.
pub async fn finish(req: &Parts, body: &mut Incoming, result: Result<Resp, Problem>) -> Resp {
    let mut resp = match result {
        Ok(r) => r,
        Err(p) => p.into_response(),
    };
    // An answer given before the body was read to its end (a refused token, a
    // wrong type, a body over the limit) reads the rest away first, as nginx's
    // lingering close does: a client that writes its whole body before reading
    // (urllib, many CMS plugins) would otherwise be reset mid-upload and never
    // see the answer. A client waiting for `100 Continue` has sent nothing more
    // and gets the answer at once.
    // A body too slow to arrive in time is not waited for again.
    let slow = resp.status() == StatusCode::REQUEST_TIMEOUT;
    if !hyper::body::Body::is_end_stream(&*body) {
        let waits = slow
            || req
                .headers
                .get(header::EXPECT)
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        if waits || !linger(body).await {
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
    }
    resp
}

/// A request's body, at most `max` bytes, within [`BODY_TIMEOUT`].
pub async fn read_body(req: &Parts, body: &mut Incoming, max: usize) -> Result<Bytes, Problem> {
    let too_large = || {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is over the limit of {max} bytes"),
        )
        .field("body")
    };
    let declared = req
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        // `handle` reads the rest away before answering.
        return Err(too_large());
    }
    let collected = tokio::time::timeout(BODY_TIMEOUT, Limited::new(&mut *body, max).collect())
        .await
        .map_err(|_| {
            Problem::new(
                StatusCode::REQUEST_TIMEOUT,
                "the body took too long to arrive",
            )
            .field("body")
        })?;
    let bytes = match collected {
        Ok(c) => c.to_bytes(),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            return Err(too_large());
        }
        Err(e) => {
            return Err(Problem::new(
                StatusCode::BAD_REQUEST,
                format!("cannot read the body: {e}"),
            )
            .field("body")
            .close());
        }
    };
    Ok(bytes)
}

/// How much of a refused body is read and thrown away, and for how long, before
/// the answer: nginx's lingering close, bounded so that a client cannot keep a
/// connection busy by sending forever.
const LINGER_BYTES: u64 = 64 << 20;
const LINGER_TIME: Duration = Duration::from_secs(10);

/// Reads a body to its end within the bounds; true if it got there.
async fn linger(body: &mut Incoming) -> bool {
    let mut read = 0u64;
    let drain = async {
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { return false };
            if let Some(data) = frame.data_ref() {
                read += data.len() as u64;
                if read > LINGER_BYTES {
                    return false;
                }
            }
        }
        true
    };
    tokio::time::timeout(LINGER_TIME, drain)
        .await
        .unwrap_or(false)
}

pub fn no_content() -> Resp {
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = StatusCode::NO_CONTENT;
    resp
}

/// A JSON body of at most `max` bytes, as `T`; a refusal names the field
/// at fault (the first named step of serde's path), or `body`.
pub async fn read_json<T: serde::de::DeserializeOwned>(
    req: &Parts,
    body: &mut Incoming,
    max: usize,
) -> Result<T, Problem> {
    if let Some(ct) = req.headers.get(header::CONTENT_TYPE)
        && !ct.to_str().is_ok_and(|c| c.contains("json"))
    {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "expected Content-Type: application/json",
        )
        .field("Content-Type"));
    }
    let bytes = read_body(req, body, max).await?;
    let de = &mut serde_json::Deserializer::from_slice(&bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        // The field is the first named step of the path (`[2].headline` is a
        // ticker item's `headline`, `tags[3]` is `tags`); a syntax error, or a
        // value with no named step, is the body's.
        let named = e.path().iter().find_map(|seg| match seg {
            serde_path_to_error::Segment::Map { key } => Some(key.clone()),
            _ => None,
        });
        let inner = e.into_inner();
        let field = match named {
            Some(name) if !(inner.is_syntax() || inner.is_eof()) => name,
            _ => "body".to_owned(),
        };
        // An unknown field is named by serde in its message, not in the path.
        let field = match inner.to_string().split('`').nth(1) {
            Some(name) if inner.to_string().starts_with("unknown field") => name.to_owned(),
            _ => field,
        };
        Problem::new(StatusCode::BAD_REQUEST, format!("invalid JSON: {inner}")).field(field)
    })
}
