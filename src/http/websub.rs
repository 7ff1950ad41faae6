//! WebSub's endpoints. The built-in hub's, `POST /websub/hub`: a form,
//! answered at once (`202 Accepted` when the request is sound, 4xx with the
//! reason when not); intent is verified afterwards, in the background, as the
//! spec has it. And the subscriber's callbacks, `/websub/callback/{source}`:
//! a hub's verification (`GET`, the challenge echoed) and its deliveries
//! (`POST`, taken once their signature is ours).

use super::problem::{Problem, method_not_allowed};
use super::respond::{finish, read_body};
use super::state::State;
use crate::websub::hub::{HubError, MAX_REQUEST};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header;
use hyper::http::request::Parts;
use hyper::{Method, Request, Response, StatusCode};

type Resp = Response<Full<Bytes>>;

pub async fn handle(state: &State, req: Request<Incoming>) -> Resp {
    let (req, mut body) = req.into_parts();
    let result = answer(state, &req, &mut body).await;
    finish(&req, &mut body, result).await
}

/// A hub calling back about `source`.
pub async fn callback(state: &State, req: Request<Incoming>, source: String) -> Resp {
    let (req, mut body) = req.into_parts();
    let result = called(state, &req, &mut body, &source).await;
    finish(&req, &mut body, result).await
}

async fn called(
    state: &State,
    req: &Parts,
    body: &mut Incoming,
    source: &str,
) -> Result<Resp, Problem> {
    let not_ours = || {
        Problem::new(
            StatusCode::NOT_FOUND,
            format!("no subscription of source {source:?} here"),
        )
    };
    if state.site.config.source(source).is_none() {
        return Err(not_ours());
    }
    let poller = state.site.poller().map_err(|e| {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the poller cannot run: {e}"),
        )
    })?;
    match req.method {
        Method::GET => {
            let query: Vec<(String, String)> =
                url::form_urlencoded::parse(req.uri.query().unwrap_or_default().as_bytes())
                    .into_owned()
                    .collect();
            let challenge = poller
                .subscriber()
                .verify(source, &query)
                .await
                .ok_or_else(not_ours)?;
            let mut resp = Response::new(Full::new(Bytes::from(challenge)));
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("text/plain"),
            );
            Ok(resp)
        }
        Method::POST => {
            let bytes = read_body(req, body, state.site.config.fetch.max_body).await?;
            let signature = req
                .headers
                .get("x-hub-signature")
                .and_then(|v| v.to_str().ok());
            poller
                .subscriber()
                .authentic(source, &bytes, signature)
                .await
                .map_err(|e| {
                    tracing::warn!(source, "a WebSub delivery refused: {e}");
                    Problem::new(StatusCode::FORBIDDEN, e.to_string()).field("X-Hub-Signature")
                })?;
            let content_type = req
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok());
            poller
                .pushed(source, &bytes, content_type)
                .await
                .map_err(|e| {
                    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()).field("body")
                })?;
            let mut resp = Response::new(Full::new(Bytes::new()));
            *resp.status_mut() = StatusCode::NO_CONTENT;
            Ok(resp)
        }
        _ => Ok(method_not_allowed("GET, POST")),
    }
}

async fn answer(state: &State, req: &Parts, body: &mut Incoming) -> Result<Resp, Problem> {
    if req.method != Method::POST {
        return Ok(method_not_allowed("POST"));
    }
    let form = req
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "expected Content-Type: application/x-www-form-urlencoded",
        )
        .field("Content-Type"));
    }
    let bytes = read_body(req, body, MAX_REQUEST).await?;
    let hub = state.site.hub().map_err(|e| {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the hub cannot run: {e}"),
        )
    })?;
    let request = hub.request(&bytes).map_err(|e| match e {
        HubError::Refused(m) => Problem::new(StatusCode::BAD_REQUEST, m),
        e @ HubError::UnknownTopic(_) => {
            Problem::new(StatusCode::NOT_FOUND, e.to_string()).field("hub.topic")
        }
    })?;
    let Some(place) = hub.admit() else {
        let mut busy = Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many subscription requests are being verified; try again shortly",
        )
        .into_response();
        busy.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("10"));
        return Ok(busy);
    };
    tokio::spawn(async move {
        let _place = place;
        let (mode, topic, callback) = (
            request.mode,
            request.topic.clone(),
            request.callback.clone(),
        );
        match hub.verify(request).await {
            Ok(()) => tracing::info!(?mode, topic, callback, "WebSub request verified"),
            Err(e) => tracing::info!(?mode, topic, callback, "WebSub request not verified: {e}"),
        }
    });
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = StatusCode::ACCEPTED;
    Ok(resp)
}
