//! The built-in hub's endpoint, `POST /websub/hub`: a form, answered at once
//! (`202 Accepted` when the request is sound, 4xx with the reason when not).
//! Intent is verified afterwards, in the background, as the spec has it.

use super::api;
use super::problem::{Problem, method_not_allowed};
use super::router::State;
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
    api::finish(&req, &mut body, result).await
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
    let bytes = api::read_body(req, body, MAX_REQUEST).await?;
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
    tokio::spawn(async move {
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
