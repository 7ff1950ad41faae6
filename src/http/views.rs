//! Feed URLs with a view in their query (`/feeds/world.rss?limit=5`), and
//! the widget's page and data (`/embed/world.html`, `/embed/world.json`):
//! which view a request names, or the `400` that says which parameter is
//! wrong. A view kept rendered is answered on the connection's thread like
//! any cached document; one to render goes to the main runtime.

use super::feeds;
use super::problem::{Problem, internal};
use super::sendfile::Pending;
use super::state::State;
use crate::model::{FeedId, Format};
use crate::site::{Ask, OnDemandError, Shape};
use crate::view::Query;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};

/// What a request asks for: a view, a refusal of its parameters, or `None`
/// for anything else (a plain feed URL, the widget's script, any path that
/// is no feed's), which the cache answers.
pub fn asked(
    state: &State,
    req: &Request<Incoming>,
    html: bool,
) -> Option<Result<Ask, Response<Full<Bytes>>>> {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return None;
    }
    let config = &state.site.config();
    let path = req.uri().path();
    let query = req.uri().query().unwrap_or("");
    let (feed, shape) = if let Some(rest) = path.strip_prefix("/embed/") {
        let (name, ext) = rest.rsplit_once('.')?;
        let feed = match name.strip_prefix("timelines/") {
            Some(timeline) => FeedId::Timeline(timeline.to_owned()),
            None => FeedId::named(name),
        };
        let shape = match ext {
            "html" => Shape::EmbedPage,
            "json" => Shape::EmbedData,
            _ => return None,
        };
        (feed, shape)
    } else {
        if query.is_empty() {
            return None;
        }
        let (stem, ext) = path.rsplit_once('.')?;
        let feed = if let Some(slug) = stem.strip_prefix("/feeds/") {
            FeedId::named(slug)
        } else {
            FeedId::Timeline(stem.strip_prefix("/timelines/")?.to_owned())
        };
        let format = Format::from_ext(ext)?;
        // A browser at a feed's URL gets the page of the same view.
        let format = if html && format != Format::Html {
            Format::Html
        } else {
            format
        };
        (feed, Shape::Feed(format))
    };
    if !crate::catalog::exists(config, &feed) {
        return None;
    }
    let with_look = !matches!(shape, Shape::Feed(_));
    let query = match Query::parse(query, with_look) {
        Ok(q) => q,
        Err(e) => {
            return Some(Err(Problem::new(StatusCode::BAD_REQUEST, e.to_string())
                .field(e.param)
                .into_response()));
        }
    };
    if !query.selects && !with_look {
        return None;
    }
    Some(Ok(Ask { feed, shape, query }))
}

/// The view kept rendered, answered now; `None` when it must be rendered.
pub fn kept(
    state: &State,
    req: &Request<Incoming>,
    ask: &Ask,
    pending: &Pending,
) -> Option<Response<Full<Bytes>>> {
    let entry = state.site.view_kept(ask)?;
    Some(feeds::respond(req.method(), req.headers(), &entry, pending))
}

/// The view, rendered now (on the main runtime).
pub async fn render(state: &State, req: Request<Incoming>, ask: Ask) -> Response<Full<Bytes>> {
    match state.site.view(&ask).await {
        // Copied, not sent from a file: this runs off the connection's thread.
        Ok(entry) => feeds::respond(req.method(), req.headers(), &entry, &Pending::default()),
        Err(OnDemandError::Store(e)) => internal(&e).into_response(),
        Err(e @ OnDemandError::Busy) => {
            Problem::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
                .retry_after(std::time::Duration::from_secs(5))
                .into_response()
        }
    }
}
