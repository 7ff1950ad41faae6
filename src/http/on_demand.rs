//! Documents rendered on demand from the store (on the main runtime, next to
//! it) rather than at every change, and answered like any cached document
//! (conditional GET, encodings): `/breaking/{YYYY-MM-DD}.html`, the ticker of
//! one day, the permanent page ticker items without a page of their own link
//! to; and the closed RFC 5005 archive pages of every feed.

use super::feeds;
use super::problem::{Problem, method_not_allowed, not_found};
use super::sendfile::Pending;
use super::state::State;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response};

/// `/feeds/{feed}/archive/{n}.{rss,atom,json}` (and under `/timelines/`):
/// a closed archive page.
pub async fn archive(
    state: &State,
    req: Request<Incoming>,
    feed: crate::model::FeedId,
    page: &str,
) -> Response<Full<Bytes>> {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return method_not_allowed("GET, HEAD");
    }
    let path = req.uri().path().to_owned();
    let Some((n, format)) = page.split_once('.').and_then(|(n, ext)| {
        // One spelling per page (no `03`, no `+3`): one URL, one cache entry.
        let n = n
            .parse::<u64>()
            .ok()
            .filter(|p| *p > 0 && p.to_string() == n)?;
        let format = crate::model::Format::FEEDS
            .into_iter()
            .find(|f| f.ext() == ext)?;
        Some((n, format))
    }) else {
        return not_found(&path).into_response();
    };
    match state.site.archive(&feed, n, format).await {
        // The page after the newest closed one, which that page names as its
        // `next-archive`: until it closes, its entries are in the
        // subscription document.
        Ok(None)
            if n > 1 && matches!(state.site.archive(&feed, n - 1, format).await, Ok(Some(_))) =>
        {
            let current = crate::render::feed_url(&state.site.config(), &feed, format);
            Response::builder()
                .status(hyper::StatusCode::FOUND)
                .header(hyper::header::LOCATION, current)
                .header(hyper::header::CACHE_CONTROL, "no-cache")
                .body(Full::new(Bytes::new()))
                .expect("a valid response")
        }
        rendered => answer(req, rendered).await,
    }
}

/// `/breaking/{YYYY-MM-DD}.html`.
pub async fn ticker_day(
    state: &State,
    req: Request<Incoming>,
    day: String,
) -> Response<Full<Bytes>> {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return method_not_allowed("GET, HEAD");
    }
    let path = req.uri().path().to_owned();
    let Ok(day) = chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d") else {
        return not_found(&path).into_response();
    };
    answer(req, state.site.ticker_day(day).await).await
}

/// A document rendered on demand, or why there is none. The encoding the
/// request takes is made first if it is not yet, off the async workers.
async fn answer(
    req: Request<Incoming>,
    rendered: Result<Option<std::sync::Arc<crate::cache::Entry>>, crate::site::OnDemandError>,
) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    match rendered {
        Ok(Some(entry)) => {
            if feeds::compression_due(req.method(), req.headers(), &entry) {
                let (made, headers) = (entry.clone(), req.headers().clone());
                tokio::task::spawn_blocking(move || feeds::make_due(&headers, &made))
                    .await
                    .expect("compressing does not panic");
            }
            // Copied, not sent from a file: this runs off the connection's
            // thread, whose note the sendfile path reads.
            let copied = Pending::default();
            feeds::respond(req.method(), req.headers(), &entry, &copied)
        }
        Ok(None) => not_found(&path).into_response(),
        Err(crate::site::OnDemandError::Store(e)) => super::problem::internal(&e).into_response(),
        Err(e @ crate::site::OnDemandError::Busy) => {
            Problem::new(hyper::StatusCode::SERVICE_UNAVAILABLE, e.to_string())
                .retry_after(std::time::Duration::from_secs(5))
                .into_response()
        }
    }
}
