//! `/breaking/{YYYY-MM-DD}.html`: the ticker of one day, the permanent page
//! ticker items without a page of their own link to. Rendered on demand from
//! the store (on the main runtime, next to it) and answered like any cached
//! document: conditional GET, encodings.

use super::feeds;
use super::problem::{Problem, method_not_allowed, not_found};
use super::router::State;
use super::sendfile::Pending;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};

pub async fn handle(state: &State, req: Request<Incoming>, day: String) -> Response<Full<Bytes>> {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return method_not_allowed("GET, HEAD");
    }
    let path = req.uri().path().to_owned();
    let Ok(day) = chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d") else {
        return not_found(&path).into_response();
    };
    match state.site.ticker_day(day).await {
        Ok(Some(entry)) => {
            // Copied, not sent from a file: this runs off the connection's
            // thread, whose note the sendfile path reads.
            let copied = Pending::default();
            feeds::respond(req.method(), req.headers(), &entry, &copied)
        }
        Ok(None) => not_found(&path).into_response(),
        Err(e) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the store cannot be read: {e}"),
        )
        .into_response(),
    }
}
