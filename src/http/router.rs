//! Which handler a request goes to. Feeds, pages and OPML are cache lookups by path.

use super::problem::{Problem, method_not_allowed, not_found};
use super::respond::{json_response, uncached};
use super::sendfile::Pending;
use super::state::State;
use super::{api, feeds, views};
use crate::model::Format;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tracing::Instrument;

/// An answer, or the API call that will give one.
pub enum Routed {
    /// Cached documents, health, errors: answered on the connection's thread.
    Now(Response<Full<Bytes>>),
    /// API requests, which run on the main runtime next to the store.
    Later(Pin<Box<dyn Future<Output = Response<Full<Bytes>>> + Send>>),
}

pub fn route(
    state: &Arc<State>,
    pending: &Pending,
    req: Request<Incoming>,
    peer: std::net::IpAddr,
) -> Routed {
    let span = tracing::debug_span!("request", method = %req.method(), path = %req.uri().path());
    if let Some(rest) = req
        .uri()
        .path()
        .strip_prefix(crate::websub::subscriber::CALLBACK_PREFIX)
    {
        // `{source}/{token}`; without a token it is no callback of ours.
        let (source, token) = rest.split_once('/').unwrap_or((rest, ""));
        let (hub_state, source, token) = (state.clone(), source.to_owned(), token.to_owned());
        return later(state, span, async move {
            super::websub::callback(&hub_state, req, source, token).await
        });
    }
    if let Some(day) = req
        .uri()
        .path()
        .strip_prefix("/breaking/")
        .and_then(|p| p.strip_suffix(".html"))
    {
        let (day_state, day) = (state.clone(), day.to_owned());
        return later(state, span, async move {
            super::on_demand::ticker_day(&day_state, req, day).await
        });
    }
    if let Some((feed, page)) = archive_page(&state.site.config(), req.uri().path()) {
        let (archive_state, page) = (state.clone(), page.to_owned());
        return later(state, span, async move {
            super::on_demand::archive(&archive_state, req, feed, &page).await
        });
    }
    if req.uri().path() == crate::config::HUB_PATH && state.site.config().websub.hub {
        let hub_state = state.clone();
        return later(state, span, async move {
            super::websub::handle(&hub_state, req, peer).await
        });
    }
    if req.uri().path() == "/console" || req.uri().path().starts_with("/console/") {
        let console_state = state.clone();
        return later(state, span, async move {
            super::console::handle(&console_state, req, peer).await
        });
    }
    let html = req
        .headers()
        .get(header::ACCEPT)
        .is_some_and(|a| prefers_html(a.as_bytes()));
    if let Some(asked) = views::asked(state, &req, html) {
        let ask = match asked {
            Ok(ask) => ask,
            Err(refused) => return Routed::Now(refused),
        };
        if let Some(resp) = views::kept(state, &req, &ask, pending) {
            return Routed::Now(resp);
        }
        let view_state = state.clone();
        return later(state, span, async move {
            views::render(&view_state, req, ask).await
        });
    }
    let Some(rest) = req.uri().path().strip_prefix("/api/v1/") else {
        let answer = span.in_scope(|| static_like(state, pending, &req, req.uri().path()));
        return match answer {
            Static::Now(resp) => {
                span.in_scope(|| tracing::debug!(status = resp.status().as_u16(), "answered"));
                Routed::Now(resp)
            }
            // Compressed on the main runtime's blocking threads, once for
            // every request of the document; answered from memory.
            Static::Compress(entry) => {
                let (method, headers) = (req.method().clone(), req.headers().clone());
                later(state, span, async move {
                    let (made, asked) = (entry.clone(), headers.clone());
                    if let Err(e) = tokio::task::spawn_blocking(move || {
                        feeds::make_due(&asked, &made);
                    })
                    .await
                    {
                        tracing::error!("compressing failed: {e}");
                    }
                    feeds::respond(&method, &headers, &entry, &Pending::default())
                })
            }
        };
    };
    let rest = rest.to_owned();
    let api_state = state.clone();
    later(state, span, async move {
        api::handle(&api_state, req, &rest).await
    })
}

/// `/feeds/world/archive/3.atom`: the served feed and `3.atom`.
fn archive_page<'p>(
    config: &crate::config::Config,
    path: &'p str,
) -> Option<(crate::model::FeedId, &'p str)> {
    let (name, page) = path.rsplit_once("/archive/")?;
    let feed = if let Some(slug) = name.strip_prefix("/feeds/") {
        crate::model::FeedId::named(slug)
    } else {
        crate::model::FeedId::Timeline(name.strip_prefix("/timelines/")?.to_owned())
    };
    crate::catalog::exists(config, &feed).then_some((feed, page))
}

/// A call answered on the main runtime, next to the store.
fn later(
    state: &State,
    span: tracing::Span,
    call: impl Future<Output = Response<Full<Bytes>>> + Send + 'static,
) -> Routed {
    let main = state.main.clone();
    Routed::Later(Box::pin(
        async move {
            let resp = match main.spawn(call.in_current_span()).await {
                Ok(resp) => resp,
                Err(e) => {
                    tracing::error!("API request failed: {e}");
                    Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "the request failed")
                        .into_response()
                }
            };
            tracing::debug!(status = resp.status().as_u16(), "answered");
            resp
        }
        .instrument(span),
    ))
}

/// A cache lookup's answer, or the document to compress first.
enum Static {
    Now(Response<Full<Bytes>>),
    Compress(Arc<crate::cache::Entry>),
}

fn static_like(state: &State, pending: &Pending, req: &Request<Incoming>, path: &str) -> Static {
    if path == "/healthz" {
        return Static::Now(match *req.method() {
            Method::GET | Method::HEAD => health(state),
            _ => method_not_allowed("GET, HEAD"),
        });
    }
    if path == "/metrics" && state.site.config().server.metrics {
        return Static::Now(match *req.method() {
            Method::GET | Method::HEAD => metrics(state),
            _ => method_not_allowed("GET, HEAD"),
        });
    }
    // A browser opening a feed URL gets the feed's page: XSLT is leaving browsers,
    // so the readable view is rendered on the server. Feed readers name feed types
    // or send `*/*`, and get the feed.
    let page;
    let path = match req.headers().get(header::ACCEPT) {
        Some(accept) if prefers_html(accept.as_bytes()) => match html_alternate(path) {
            Some(p) => {
                page = p;
                page.as_str()
            }
            None => path,
        },
        _ => path,
    };
    let answer = state.site.cache.with(path, |entry| match *req.method() {
        _ if feeds::compression_due(req.method(), req.headers(), entry) => None,
        Method::GET | Method::HEAD => {
            Some(feeds::respond(req.method(), req.headers(), entry, pending))
        }
        Method::OPTIONS if entry.cors => Some(preflight()),
        _ => Some(method_not_allowed("GET, HEAD, OPTIONS")),
    });
    match answer {
        Some(Some(resp)) => Static::Now(resp),
        // The entry may have been replaced since; then the new one is answered.
        Some(None) => match state.site.cache.get(path) {
            Some(entry) => Static::Compress(entry),
            None => Static::Now(not_found(path).into_response()),
        },
        None => Static::Now(not_found(path).into_response()),
    }
}

/// True when an Accept header asks for HTML and names no feed type: what browsers
/// send (`text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8`), and
/// never what feed readers send (feed types, or `*/*` alone).
fn prefers_html(accept: &[u8]) -> bool {
    let has = |needle: &[u8]| {
        accept
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
    };
    let html = accept.split(|&b| b == b',').any(|part| {
        let mut params = part.split(|&b| b == b';');
        let range = params.next().unwrap_or_default().trim_ascii();
        range.eq_ignore_ascii_case(b"text/html")
            && !params.any(|p| {
                let p = p.trim_ascii();
                p.len() >= 3
                    && p[..2].eq_ignore_ascii_case(b"q=")
                    && p[2..].iter().all(|&b| b == b'0' || b == b'.')
            })
    });
    html && ![
        &b"rss"[..],
        b"atom",
        b"rdf",
        b"feed+json",
        b"application/json",
    ]
    .iter()
    .any(|t| has(t))
}

/// `/feeds/world.html` for `/feeds/world.rss`, `.atom` or `.json` (and alike
/// under `/timelines/`).
fn html_alternate(path: &str) -> Option<String> {
    let (stem, ext) = path.rsplit_once('.')?;
    let folder = ["/feeds/", "/timelines/"]
        .iter()
        .any(|f| stem.starts_with(f));
    let feed = Format::from_ext(ext).filter(|f| folder && Format::FEEDS.contains(f));
    feed.map(|_| format!("{stem}.{}", Format::Html.ext()))
}

/// CORS preflight: any site may read the feeds, conditionally.
fn preflight() -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = StatusCode::NO_CONTENT;
    let h = resp.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, HEAD, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("If-None-Match, If-Modified-Since"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    h.insert(
        header::ALLOW,
        HeaderValue::from_static("GET, HEAD, OPTIONS"),
    );
    resp
}

/// Always 200 while the process serves: a degraded instance (its database
/// unreachable, say) still serves its last rendered feeds, and load balancers
/// should keep sending it readers. The body says what is wrong.
fn health(state: &State) -> Response<Full<Bytes>> {
    json_response(StatusCode::OK, &state.site.health())
}

fn metrics(state: &State) -> Response<Full<Bytes>> {
    uncached(
        state.site.metrics.encode(),
        "application/openmetrics-text; version=1.0.0; charset=utf-8",
    )
}

impl From<Problem> for Response<Full<Bytes>> {
    fn from(p: Problem) -> Self {
        p.into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_get_html_and_readers_get_feeds() {
        for browser in [
            "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "TEXT/HTML",
        ] {
            assert!(prefers_html(browser.as_bytes()), "{browser}");
        }
        for reader in [
            "*/*",
            "application/atom+xml,application/rdf+xml,application/rss+xml,application/x-netcdf,application/xml;q=0.9,text/xml;q=0.2,*/*;q=0.1",
            "application/rss+xml, text/html;q=0.5",
            "application/feed+json, text/html",
            "text/html;q=0, */*",
            "text/html;q=0.0",
            "",
        ] {
            assert!(!prefers_html(reader.as_bytes()), "{reader}");
        }
        assert_eq!(
            html_alternate("/feeds/world.rss").as_deref(),
            Some("/feeds/world.html")
        );
        assert_eq!(html_alternate("/feeds/world.html"), None);
        assert_eq!(html_alternate("/feeds.opml"), None);
        assert_eq!(
            html_alternate("/timelines/wire.json").as_deref(),
            Some("/timelines/wire.html")
        );
        assert_eq!(html_alternate("/elsewhere/x.rss"), None);
    }
}
