//! RFC 9457 problem details: every error the service answers is
//! `application/problem+json`, naming the field that was wrong when there is one.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// RFC 9457's `instance`: for an internal error, the id its log line
    /// carries (`urn:newswire:error:…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Answer with `Connection: close`: the request's body was not read to its end.
    #[serde(skip)]
    pub close: bool,
    /// `Retry-After`, in seconds.
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Problem {
        Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: detail.into(),
            field: None,
            instance: None,
            close: false,
            retry_after: None,
        }
    }

    /// Asks the client to come back after `wait` (`Retry-After`).
    pub fn retry_after(mut self, wait: std::time::Duration) -> Problem {
        self.retry_after = Some(wait.as_secs().max(1));
        self
    }

    pub fn field(mut self, field: impl Into<String>) -> Problem {
        self.field = Some(field.into());
        self
    }

    pub fn close(mut self) -> Problem {
        self.close = true;
        self
    }

    pub fn into_response(self) -> Response<Full<Bytes>> {
        let body = serde_json::to_vec(&self).expect("a problem always serializes");
        let mut resp = Response::new(Full::new(Bytes::from(body)));
        *resp.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        resp.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.close {
            resp.headers_mut()
                .insert(hyper::header::CONNECTION, HeaderValue::from_static("close"));
        }
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(hyper::header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

/// An error of the store (or another layer below) as a client sees it: what
/// kind of failure, never the driver's text, which is logged with an id the
/// answer carries. A store that cannot be reached is a `503` (come back), any
/// other failure a `500`.
pub fn internal(e: &crate::store::StoreError) -> Problem {
    let id = error_id();
    let unavailable = match e {
        crate::store::StoreError::Unavailable(_) => true,
        crate::store::StoreError::Database(d) => matches!(
            d,
            sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Tls(_)
                | sqlx::Error::Protocol(_)
        ),
        _ => false,
    };
    tracing::error!(error_id = id, "store error: {e}");
    let mut p = if unavailable {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the database is unavailable; retry later",
        )
        .retry_after(std::time::Duration::from_secs(5))
    } else {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the request failed; nothing was stored",
        )
    };
    p.instance = Some(format!("urn:newswire:error:{id}"));
    p
}

/// An id for one error, to find its log line.
fn error_id() -> String {
    let mut bytes = [0u8; 8];
    // Without a random source the id is the time, which still finds the line.
    if getrandom::fill(&mut bytes).is_err() {
        bytes = (chrono::Utc::now().timestamp_micros() as u64).to_be_bytes();
    }
    crate::hash::hex(&bytes)
}

pub fn not_found(path: &str) -> Problem {
    Problem::new(StatusCode::NOT_FOUND, format!("nothing at {path}"))
}

pub fn method_not_allowed(allow: &'static str) -> Response<Full<Bytes>> {
    let mut resp = Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("allowed methods: {allow}"),
    )
    .into_response();
    resp.headers_mut()
        .insert(hyper::header::ALLOW, HeaderValue::from_static(allow));
    resp
}
