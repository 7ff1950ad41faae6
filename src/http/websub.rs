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
use crate::websub::subscriber::{PushError, Subscriber};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header;
use hyper::http::request::Parts;
use hyper::{Method, Request, Response, StatusCode};

type Resp = Response<Full<Bytes>>;

pub async fn handle(state: &State, req: Request<Incoming>, peer: std::net::IpAddr) -> Resp {
    let (req, mut body) = req.into_parts();
    let result = answer(state, &req, &mut body, peer).await;
    finish(&req, &mut body, result).await
}

/// A hub calling back about `source`, with the token of the callback URL
/// we gave it (`/websub/callback/{source}/{token}`).
pub async fn callback(
    state: &State,
    req: Request<Incoming>,
    source: String,
    token: String,
) -> Resp {
    let (req, mut body) = req.into_parts();
    let result = called(state, &req, &mut body, &source, &token).await;
    finish(&req, &mut body, result).await
}

/// A call back is checked before any of it is read: the source must be ours
/// and the token its subscription's (no one else knows the URL), a
/// verification must answer a request we sent and the hub has not answered,
/// and a delivery must carry a signature we can check, its body at most what
/// a polled document may be.
async fn called(
    state: &State,
    req: &Parts,
    body: &mut Incoming,
    source: &str,
    token: &str,
) -> Result<Resp, Problem> {
    let not_ours = || {
        Problem::new(
            StatusCode::NOT_FOUND,
            format!("no subscription of source {source:?} here"),
        )
    };
    if state.site.config().source(source).is_none() {
        return Err(not_ours());
    }
    let poller = state.site.poller().map_err(|e| {
        tracing::error!("the poller cannot run: {e}");
        Problem::new(StatusCode::SERVICE_UNAVAILABLE, "the poller cannot run")
    })?;
    let remote = match poller.subscriber().expected(source, token).await {
        Ok(remote) => remote,
        Err(PushError::Store(e)) => return Err(super::problem::internal(&e)),
        Err(_) => return Err(not_ours()),
    };
    match req.method {
        Method::GET => {
            let query: Vec<(String, String)> =
                url::form_urlencoded::parse(req.uri.query().unwrap_or_default().as_bytes())
                    .into_owned()
                    .collect();
            let challenge = poller
                .subscriber()
                .verify(remote, &query)
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
            let signature = req
                .headers
                .get("x-hub-signature")
                .and_then(|v| v.to_str().ok());
            let refused = |e: PushError| {
                tracing::warn!(source, "a WebSub delivery refused: {e}");
                Problem::new(StatusCode::FORBIDDEN, e.to_string()).field("X-Hub-Signature")
            };
            let signature = Subscriber::signed(signature).map_err(refused)?.to_owned();
            let bytes = read_body(req, body, state.site.config().fetch.max_body).await?;
            Subscriber::authentic(&remote, &bytes, &signature).map_err(refused)?;
            let content_type = req
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok());
            poller
                .pushed(source, &bytes, content_type)
                .await
                .map_err(|e| match e {
                    crate::poller::PollError::Store(e) => super::problem::internal(&e),
                    e => {
                        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()).field("body")
                    }
                })?;
            let mut resp = Response::new(Full::new(Bytes::new()));
            *resp.status_mut() = StatusCode::NO_CONTENT;
            Ok(resp)
        }
        _ => Ok(method_not_allowed("GET, POST")),
    }
}

async fn answer(
    state: &State,
    req: &Parts,
    body: &mut Incoming,
    peer: std::net::IpAddr,
) -> Result<Resp, Problem> {
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
    let hub = state.site.hub().map_err(|e| {
        tracing::error!("the hub cannot run: {e}");
        Problem::new(StatusCode::SERVICE_UNAVAILABLE, "the hub cannot run")
    })?;
    hub.rate(peer).map_err(refused)?;
    let bytes = read_body(req, body, MAX_REQUEST).await?;
    let request = hub.request(&bytes).map_err(refused)?;
    hub.bounds(&request, peer).await.map_err(refused)?;
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
        match hub.verify(request, peer).await {
            Ok(()) => tracing::info!(?mode, topic, callback, "WebSub request verified"),
            Err(e) => tracing::info!(?mode, topic, callback, "WebSub request not verified: {e}"),
        }
    });
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = StatusCode::ACCEPTED;
    Ok(resp)
}

/// A subscription request the hub will not take, as its answer says.
fn refused(e: HubError) -> Problem {
    match e {
        HubError::Refused(m) => Problem::new(StatusCode::BAD_REQUEST, m),
        e @ HubError::UnknownTopic(_) => {
            Problem::new(StatusCode::NOT_FOUND, e.to_string()).field("hub.topic")
        }
        e @ HubError::TooMany(_) => Problem::new(StatusCode::TOO_MANY_REQUESTS, e.to_string()),
        HubError::TooOften(wait) => Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            HubError::TooOften(wait).to_string(),
        )
        .retry_after(wait),
        HubError::Store(e) => super::problem::internal(&e),
    }
}
