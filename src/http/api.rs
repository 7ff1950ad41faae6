//! The ingest API (`/api/v1/…`): JSON in, JSON or problem+json out. Bodies are read
//! with a size limit and a time limit; the work itself is `crate::ingest`.

use super::problem::{Problem, method_not_allowed, not_found};
use super::respond::{finish, json_response, no_content, read_json};
use super::state::State;
use super::{catalog, sources};
use crate::config::Scope;
use crate::ingest::{self, ArticleInput, BreakingInput, IngestError, Mode};
use crate::model::{EntryKind, FeedId, Format, Item, ItemKind};
use crate::render::feed_url;
use crate::store::{Outcome, StoreError};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Method, Request, Response, StatusCode};
use serde::Serialize;

const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 500;

type Resp = Response<Full<Bytes>>;

pub async fn handle(state: &State, req: Request<Incoming>, rest: &str) -> Resp {
    let (req, mut body) = req.into_parts();
    let result = route(state, &req, &mut body, rest).await;
    finish(&req, &mut body, result).await
}

async fn route(
    state: &State,
    req: &Parts,
    body: &mut Incoming,
    rest: &str,
) -> Result<Resp, Problem> {
    let segments: Vec<&str> = rest.split('/').collect();
    let method = req.method.clone();
    match (segments.as_slice(), &method) {
        (["articles"], &Method::GET) => list_articles(state, req.uri.query()).await,
        (["articles"], &Method::POST) => {
            state.tokens().check(&req.headers, Scope::Articles)?;
            let input: ArticleInput =
                read_json(req, body, state.site.config().server.max_body).await?;
            let (item, outcome) = ingest::put_article(&state.ingest(), input, None, Mode::Create)
                .await
                .map_err(problem)?;
            Ok(article_response(state, &item, outcome))
        }
        (["articles"], _) => Ok(method_not_allowed("GET, POST")),
        (["articles", key], &Method::GET) => {
            let item = ingest::get_article(&state.ingest(), key)
                .await
                .map_err(problem)?;
            Ok(json_response(
                StatusCode::OK,
                &ArticleOutput::new(state, &item, None),
            ))
        }
        (["articles", key], &Method::PUT) => {
            state.tokens().check(&req.headers, Scope::Articles)?;
            let input: ArticleInput =
                read_json(req, body, state.site.config().server.max_body).await?;
            let (item, outcome) =
                ingest::put_article(&state.ingest(), input, Some(key), Mode::Replace)
                    .await
                    .map_err(problem)?;
            Ok(article_response(state, &item, outcome))
        }
        (["articles", key], &Method::PATCH) => {
            state.tokens().check(&req.headers, Scope::Articles)?;
            let patch: serde_json::Map<String, serde_json::Value> =
                read_json(req, body, state.site.config().server.max_body).await?;
            let (item, outcome) = ingest::patch_article(&state.ingest(), key, patch)
                .await
                .map_err(problem)?;
            Ok(article_response(state, &item, outcome))
        }
        (["articles", key], &Method::DELETE) => {
            state.tokens().check(&req.headers, Scope::Articles)?;
            ingest::delete_article(&state.ingest(), key)
                .await
                .map_err(problem)?;
            Ok(no_content())
        }
        (["articles", _], _) => Ok(method_not_allowed("GET, PUT, PATCH, DELETE")),
        (["breaking"], &Method::POST) => {
            state.tokens().check(&req.headers, Scope::Breaking)?;
            let body: OneOrMany = read_json(req, body, state.site.config().server.max_body).await?;
            let inputs = match body {
                OneOrMany::One(b) => vec![b],
                OneOrMany::Many(v) => v,
            };
            if inputs.is_empty() {
                return Err(
                    Problem::new(StatusCode::BAD_REQUEST, "no ticker items given").field("body"),
                );
            }
            let stored = ingest::add_breaking(&state.ingest(), inputs)
                .await
                .map_err(problem)?;
            let created = stored.iter().any(|(_, o)| *o == Outcome::Created);
            let out: Vec<_> = stored
                .iter()
                .map(|(item, o)| ArticleOutput::new(state, item, Some(*o)))
                .collect();
            Ok(json_response(
                if created {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                },
                &out,
            ))
        }
        (["breaking"], _) => Ok(method_not_allowed("POST")),
        (["breaking", key @ ..], &Method::DELETE) if !key.is_empty() => {
            state.tokens().check(&req.headers, Scope::Breaking)?;
            ingest::delete_breaking(&state.ingest(), &key.join("/"))
                .await
                .map_err(problem)?;
            Ok(no_content())
        }
        (["breaking", ..], _) => Ok(method_not_allowed("DELETE")),
        (["sources"], &Method::GET) => {
            state.tokens().check(&req.headers, Scope::Sources)?;
            sources::list(state).await
        }
        (["sources"], &Method::POST) => {
            state.tokens().check(&req.headers, Scope::Sources)?;
            let max = state.site.config().server.max_body;
            if is_opml(req) {
                let bytes = super::respond::read_body(req, body, max).await?;
                let text = std::str::from_utf8(&bytes).map_err(|_| {
                    Problem::new(StatusCode::BAD_REQUEST, "an OPML document in UTF-8").field("body")
                })?;
                catalog::import_opml(state, text).await
            } else {
                catalog::add_source(state, read_json(req, body, max).await?).await
            }
        }
        (["sources"], _) => Ok(method_not_allowed("GET, POST")),
        (["sources", name], _) => {
            state.tokens().check(&req.headers, Scope::Sources)?;
            let kind = sources::source_kind(state, name);
            entry(state, req, body, kind, name).await
        }
        (["scrapes"], &Method::POST) => {
            state.tokens().check(&req.headers, Scope::Sources)?;
            let max = state.site.config().server.max_body;
            catalog::add_scrape(state, read_json(req, body, max).await?).await
        }
        (["scrapes"], _) => Ok(method_not_allowed("POST")),
        (["scrapes", name], _) => {
            state.tokens().check(&req.headers, Scope::Sources)?;
            entry(state, req, body, EntryKind::Scrape, name).await
        }
        (["timelines"], &Method::GET) => {
            state.tokens().check(&req.headers, Scope::Sources)?;
            catalog::timelines(state).await
        }
        (["timelines"], &Method::POST) => {
            state.tokens().check(&req.headers, Scope::Sources)?;
            let max = state.site.config().server.max_body;
            catalog::add_timeline(state, read_json(req, body, max).await?).await
        }
        (["timelines"], _) => Ok(method_not_allowed("GET, POST")),
        (["timelines", name], _) => {
            state.tokens().check(&req.headers, Scope::Sources)?;
            entry(state, req, body, EntryKind::Timeline, name).await
        }
        (["sources.opml"], &Method::GET) => {
            state.tokens().check(&req.headers, Scope::Sources)?;
            Ok(super::respond::uncached(
                crate::render::opml::sources(&state.site.config()),
                crate::render::OPML_TYPE,
            ))
        }
        (["sources.opml"], _) => Ok(method_not_allowed("GET")),
        (["preview"], &Method::POST) => {
            state.tokens().check(&req.headers, Scope::Sources)?;
            let ask: crate::sources::preview::Ask =
                read_json(req, body, state.site.config().server.max_body).await?;
            sources::preview(state, ask).await
        }
        (["preview"], _) => Ok(method_not_allowed("POST")),
        (["sources", name, "fetch"], &Method::POST) => {
            state.tokens().check(&req.headers, Scope::Sources)?;
            sources::fetch_now(state, name).await
        }
        (["sources", _, "fetch"], _) => Ok(method_not_allowed("POST")),
        (["sources", name, action @ ("pause" | "resume")], &Method::POST) => {
            state.tokens().check(&req.headers, Scope::Sources)?;
            sources::pause(state, name, *action == "pause").await?;
            catalog::get(state, sources::source_kind(state, name), name).await
        }
        (["sources", _, "pause" | "resume"], _) => Ok(method_not_allowed("POST")),
        _ => Err(not_found(&format!("/api/v1/{rest}"))),
    }
}

/// An entry of the catalog: `GET`, `PUT`, `PATCH` (a JSON merge patch)
/// and `DELETE`.
async fn entry(
    state: &State,
    req: &Parts,
    body: &mut Incoming,
    kind: EntryKind,
    name: &str,
) -> Result<Resp, Problem> {
    let max = state.site.config().server.max_body;
    match req.method {
        Method::GET => catalog::get(state, kind, name).await,
        Method::PUT => {
            catalog::replace(state, kind, name, read_json(req, body, max).await?, false).await
        }
        Method::PATCH => {
            catalog::replace(state, kind, name, read_json(req, body, max).await?, true).await
        }
        Method::DELETE => catalog::delete(state, kind, name).await,
        _ => Ok(method_not_allowed("GET, PUT, PATCH, DELETE")),
    }
}

/// Whether a body is an OPML document (`text/x-opml`, or XML).
fn is_opml(req: &Parts) -> bool {
    req.headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .is_some_and(|v| matches!(v.as_str(), "text/x-opml" | "text/xml" | "application/xml"))
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    Many(Vec<BreakingInput>),
    One(BreakingInput),
}

fn problem(e: IngestError) -> Problem {
    match e {
        IngestError::Field(f) => {
            Problem::new(StatusCode::BAD_REQUEST, f.to_string()).field(f.field)
        }
        IngestError::NotFound(..) => Problem::new(StatusCode::NOT_FOUND, e.to_string()).field("id"),
        IngestError::Conflict(m) => Problem::new(StatusCode::CONFLICT, m).field("id"),
        IngestError::Store(e) => store_problem(e),
    }
}

fn store_problem(e: StoreError) -> Problem {
    super::problem::internal(&e)
}

async fn list_articles(state: &State, query: Option<&str>) -> Result<Resp, Problem> {
    let mut feed = FeedId::all();
    let mut limit = DEFAULT_LIMIT;
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match &*k {
            "category" if !v.is_empty() => {
                if state.site.config().category(&v).is_none() {
                    return Err(Problem::new(
                        StatusCode::BAD_REQUEST,
                        format!("unknown category {v:?}"),
                    )
                    .field("category"));
                }
                feed = FeedId::named(&v);
            }
            "category" => {}
            "limit" => {
                limit = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        Problem::new(
                            StatusCode::BAD_REQUEST,
                            format!("expected a number from 1 to {MAX_LIMIT}, got {v:?}"),
                        )
                        .field("limit")
                    })?;
            }
            other => {
                return Err(Problem::new(
                    StatusCode::BAD_REQUEST,
                    format!("unknown parameter {other:?}"),
                )
                .field(other.to_owned()));
            }
        }
    }
    let items = state
        .site
        .store
        .list(&feed, Some(ItemKind::Article), limit)
        .await
        .map_err(|e| problem(e.into()))?;
    let out: Vec<_> = items
        .iter()
        .map(|i| ArticleOutput::new(state, i, None))
        .collect();
    Ok(json_response(StatusCode::OK, &out))
}

/// An item as the API shows it: its short id, permanent id and the feeds it is in.
#[derive(Serialize)]
struct ArticleOutput<'a> {
    id: &'a str,
    guid: &'a str,
    kind: ItemKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<Outcome>,
    title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    category: Option<&'a str>,
    published: String,
    updated: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    author: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_html: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    link: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<&'a str>,
    tags: &'a [String],
    source: String,
    feeds: Vec<String>,
}

impl<'a> ArticleOutput<'a> {
    fn new(state: &State, item: &'a Item, outcome: Option<Outcome>) -> Self {
        let config = &state.site.config();
        let tz = config.site.timezone;
        ArticleOutput {
            id: &item.key,
            guid: &item.id,
            kind: item.kind,
            outcome,
            title: &item.title,
            category: item.category.as_deref(),
            published: crate::localtime::in_zone(item.published, tz).to_rfc3339(),
            updated: crate::localtime::in_zone(item.updated, tz).to_rfc3339(),
            author: item.authors.first().map(|a| a.name.as_str()),
            summary: item.summary.as_deref(),
            content_html: item.content_html.as_deref(),
            link: item.link.as_deref(),
            image: item.image.as_deref(),
            tags: &item.tags,
            source: item.source.to_string(),
            feeds: crate::catalog::item_feeds(item)
                .iter()
                .filter(|f| crate::catalog::exists(config, f))
                .flat_map(|f| Format::FEEDS.map(|format| feed_url(config, f, format)))
                .collect(),
        }
    }
}

fn article_response(state: &State, item: &Item, outcome: Outcome) -> Resp {
    let status = if outcome == Outcome::Created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut resp = json_response(status, &ArticleOutput::new(state, item, Some(outcome)));
    if status == StatusCode::CREATED {
        let location = format!("/api/v1/articles/{}", item.key);
        if let Ok(v) = HeaderValue::from_str(&location) {
            resp.headers_mut().insert(header::LOCATION, v);
        }
    }
    resp
}
