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
    /// Answer with `Connection: close`: the request's body was not read to its end.
    #[serde(skip)]
    pub close: bool,
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Problem {
        Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: detail.into(),
            field: None,
            close: false,
        }
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
        resp
    }
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
