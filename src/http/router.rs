//! Which handler a request goes to. Feeds, pages and OPML are cache lookups by path.

use super::auth::{ENV_TOKEN, Tokens};
use super::problem::{Problem, method_not_allowed, not_found};
use super::sendfile::Pending;
use super::{api, feeds};
use crate::site::Site;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tracing::Instrument;

pub struct State {
    pub site: Arc<Site>,
    pub tokens: Tokens,
    /// The runtime the store's connections and background tasks live on. API
    /// requests run there; connection workers only serve cached bytes.
    main: tokio::runtime::Handle,
}

impl State {
    /// Must be called on the main runtime.
    pub fn new(site: Arc<Site>) -> State {
        let tokens = Tokens::new(&site.config, std::env::var(ENV_TOKEN).ok());
        State {
            site,
            tokens,
            main: tokio::runtime::Handle::current(),
        }
    }
}

/// An answer, or the API call that will give one.
pub enum Routed {
    /// Cached documents, health, errors: answered on the connection's thread.
    Now(Response<Full<Bytes>>),
    /// API requests, which run on the main runtime next to the store.
    Later(Pin<Box<dyn Future<Output = Response<Full<Bytes>>> + Send>>),
}

pub fn route(state: &Arc<State>, pending: &Pending, req: Request<Incoming>) -> Routed {
    let span = tracing::debug_span!("request", method = %req.method(), path = %req.uri().path());
    let Some(rest) = req.uri().path().strip_prefix("/api/v1/") else {
        return span.in_scope(|| {
            let resp = static_like(state, pending, &req, req.uri().path());
            tracing::debug!(status = resp.status().as_u16(), "answered");
            Routed::Now(resp)
        });
    };
    let rest = rest.to_owned();
    let api_state = state.clone();
    let call = async move { api::handle(&api_state, req, &rest).await };
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

fn static_like(
    state: &State,
    pending: &Pending,
    req: &Request<Incoming>,
    path: &str,
) -> Response<Full<Bytes>> {
    if path == "/healthz" {
        return match *req.method() {
            Method::GET | Method::HEAD => health(state),
            _ => method_not_allowed("GET, HEAD"),
        };
    }
    let answer = state.site.cache.with(path, |entry| match *req.method() {
        Method::GET | Method::HEAD => feeds::respond(req.method(), req.headers(), entry, pending),
        Method::OPTIONS if entry.cors => preflight(),
        _ => method_not_allowed("GET, HEAD, OPTIONS"),
    });
    answer.unwrap_or_else(|| not_found(path).into_response())
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

fn health(state: &State) -> Response<Full<Bytes>> {
    let problems = state.site.diagnostics.lock().map(|d| d.len()).unwrap_or(0);
    let body = serde_json::json!({ "status": "ok", "documents": state.site.cache.paths().len(), "content_problems": problems });
    let mut resp = Response::new(Full::new(Bytes::from(body.to_string())));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

pub fn json_response(status: StatusCode, value: &impl serde::Serialize) -> Response<Full<Bytes>> {
    let body = serde_json::to_vec_pretty(value).expect("serializes");
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

impl From<Problem> for Response<Full<Bytes>> {
    fn from(p: Problem) -> Self {
        p.into_response()
    }
}
