//! The sources' answers, which the API (`/api/v1/sources…`, `/api/v1/preview`)
//! and the console both give: a source as listed, one with its attempt log,
//! a fetch now, and a preview.

use super::problem::{Problem, not_found};
use super::respond::json_response;
use super::state::State;
use crate::model::{FetchState, SourceStatus};
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use serde::Serialize;

type Resp = Response<Full<Bytes>>;

fn store_problem(e: crate::store::StoreError) -> Problem {
    super::problem::internal(&e)
}

/// One source as `GET /api/v1/sources` lists it.
#[derive(Serialize)]
pub struct SourceOutput<'a> {
    pub(super) name: &'a str,
    /// `feed` (`[[sources]]`) or `scrape` (`[[scrapes]]`).
    kind: &'static str,
    /// Where it is fetched from now (after permanent redirects).
    url: &'a str,
    configured_url: &'a str,
    pub(super) status: SourceStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_fetch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    failures: u32,
    next_fetch: String,
    items: u64,
}

/// Attempts `GET /api/v1/sources/{name}` shows.
const ATTEMPTS_SHOWN: usize = 20;

pub fn output<'a>(
    s: &'a crate::config::SourceConfig,
    states: &'a [FetchState],
) -> SourceOutput<'a> {
    let st = states.iter().find(|st| st.source == s.name);
    SourceOutput {
        name: &s.name,
        kind: if s.scrape.is_some() { "scrape" } else { "feed" },
        url: st.map_or(s.url.as_str(), |st| st.url.as_str()),
        configured_url: &s.url,
        status: st.map_or(SourceStatus::New, FetchState::status),
        last_fetch: st.and_then(|st| st.last_fetch).map(|t| t.to_rfc3339()),
        http_status: st.and_then(|st| st.last_status),
        error: st.and_then(|st| st.last_error.as_deref()),
        failures: st.map_or(0, |st| st.failures),
        next_fetch: st.map_or_else(String::new, |st| st.next_fetch.to_rfc3339()),
        items: st.map_or(0, |st| st.items),
    }
}

/// `GET /api/v1/sources`.
pub async fn list(state: &State) -> Result<Resp, Problem> {
    let config = &state.site.config();
    let states = state
        .site
        .store
        .fetch_states()
        .await
        .map_err(store_problem)?;
    let out: Vec<SourceOutput> = config.sources.iter().map(|s| output(s, &states)).collect();
    Ok(json_response(StatusCode::OK, &out))
}

/// A source's kind in the config in force (a feed when unknown).
pub fn source_kind(state: &State, name: &str) -> crate::model::EntryKind {
    match state.site.config().source(name) {
        Some(s) if s.scrape.is_some() => crate::model::EntryKind::Scrape,
        Some(_) => crate::model::EntryKind::Source,
        // One the config in force leaves out: its catalog kind.
        None => state
            .site
            .left_out()
            .iter()
            .find(|l| l.name == name && l.kind == "scrape")
            .map_or(crate::model::EntryKind::Source, |_| {
                crate::model::EntryKind::Scrape
            }),
    }
}

/// One source's state, with its last polls (newest first): when, HTTP
/// status, bytes, milliseconds, outcome and error.
pub async fn detail(state: &State, name: &str) -> Result<serde_json::Value, Problem> {
    #[derive(Serialize)]
    struct Detail<'a> {
        #[serde(flatten)]
        source: SourceOutput<'a>,
        attempts: Vec<crate::model::FetchAttempt>,
    }
    let config = state.site.config();
    let Some(source) = config.source(name) else {
        return Err(not_found(&format!("/api/v1/sources/{name}")));
    };
    let store = &state.site.store;
    let states = store.fetch_states().await.map_err(store_problem)?;
    let attempts = store
        .attempts(name, ATTEMPTS_SHOWN)
        .await
        .map_err(store_problem)?;
    Ok(serde_json::to_value(Detail {
        source: output(source, &states),
        attempts,
    })
    .unwrap_or_default())
}

/// `POST /api/v1/sources/{name}/fetch`.
pub async fn fetch_now(state: &State, name: &str) -> Result<Resp, Problem> {
    use crate::poller::PollError;
    let poller = state.site.poller().map_err(|e| {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("fetching is unavailable: {e}"),
        )
    })?;
    match poller.fetch_now(name).await {
        Ok(report) => Ok(json_response(StatusCode::OK, &report)),
        Err(PollError::Unknown(_)) => Err(not_found(&format!("/api/v1/sources/{name}/fetch"))),
        Err(e @ PollError::Busy(_)) => Err(Problem::new(StatusCode::CONFLICT, e.to_string())),
        Err(PollError::Store(e)) => Err(store_problem(e)),
        Err(e @ (PollError::NeverFetched(_) | PollError::Document(_) | PollError::Overrun(_))) => {
            Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                e.to_string(),
            ))
        }
    }
}

/// Pauses a declared source (the schedule leaves it alone on every
/// instance; its items stay) or resumes it.
pub async fn pause(state: &State, name: &str, paused: bool) -> Result<(), Problem> {
    if state.site.config().source(name).is_none() {
        return Err(not_found(&format!("/api/v1/sources/{name}")));
    }
    let poller = state.site.poller().map_err(|e| {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("fetching is unavailable: {e}"),
        )
    })?;
    // The source's row exists once the poller registered the config's.
    poller.register().await.map_err(store_problem)?;
    let when = paused.then(chrono::Utc::now);
    if !state
        .site
        .store
        .set_paused(name, when)
        .await
        .map_err(store_problem)?
    {
        return Err(not_found(&format!("/api/v1/sources/{name}")));
    }
    Ok(())
}

/// What a feed or a scrape would store, nothing written; a site's page
/// gives the feeds it names. Refusals name the request's field.
pub async fn preview_of(
    state: &State,
    ask: crate::sources::preview::Ask,
) -> Result<crate::sources::preview::Preview, Problem> {
    use crate::sources::preview::{self, PreviewError};
    let config = &state.site.config();
    let poller = state.site.poller().map_err(|e| {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("fetching is unavailable: {e}"),
        )
    })?;
    preview::preview(config, poller.fetcher(), ask, chrono::Utc::now())
        .await
        .map_err(|e| {
            let status = match e {
                PreviewError::Url(_) | PreviewError::Selector { .. } => StatusCode::BAD_REQUEST,
                PreviewError::Fetch { .. } => StatusCode::BAD_GATEWAY,
                PreviewError::NotPublic(_)
                | PreviewError::NoFeed { .. }
                | PreviewError::Scrape { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            };
            Problem::new(status, e.to_string()).field(e.field())
        })
}

/// `POST /api/v1/preview` (and the console's live preview).
pub async fn preview(state: &State, ask: crate::sources::preview::Ask) -> Result<Resp, Problem> {
    let p = preview_of(state, ask).await?;
    Ok(json_response(StatusCode::OK, &p))
}
