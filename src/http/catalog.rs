//! The catalog's writes over HTTP (`/api/v1/sources`, `/api/v1/scrapes`,
//! `/api/v1/timelines`): each entry is checked against the config in force
//! before anything is written, written in one transaction, and put in force
//! on this instance before the answer (every other one follows within its
//! next catalog check). A source added by its site's address is found
//! through the page's feeds, and fetched once before the answer.

use super::problem::{Problem, not_found};
use super::respond::{json_response, no_content};
use super::state::State;
use crate::config::{Config, EntryError};
use crate::model::{CatalogEntry, EntryKind, Source};
use crate::sources::preview::{Ask, Kind, PreviewError};
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, LOCATION};
use hyper::{Response, StatusCode};
use serde::Serialize;
use serde_json::{Map, Value};

type Resp = Response<Full<Bytes>>;

/// Outlines one OPML import takes: a reader's export is a few hundred.
pub const MAX_OUTLINES: usize = 1000;

/// The longest name an entry takes: it is a URL's path segment and a
/// metric's label.
pub const MAX_NAME: usize = 64;

/// A name for a source from its title (or else its host), free in the
/// config in force, and short enough.
fn name_for(config: &Config, title: &str, url: &str) -> String {
    let taken = |n: &str| config.source(n).is_some();
    let title: String = title.chars().take(MAX_NAME - 4).collect();
    let name = crate::sources::opml::unique_slug(&title, url, taken);
    if name.len() <= MAX_NAME {
        return name;
    }
    // A long host: cut, then made free again (a slug is ASCII).
    crate::sources::opml::unique_slug(&name[..MAX_NAME - 4], url, taken)
}

fn refused(e: EntryError) -> Problem {
    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, e.message).field(e.field)
}

fn store_problem(e: crate::store::StoreError) -> Problem {
    super::problem::internal(&e)
}

/// The API path of an entry.
pub fn path_of(kind: EntryKind, name: &str) -> String {
    let collection = match kind {
        EntryKind::Source => "sources",
        EntryKind::Scrape => "scrapes",
        EntryKind::Timeline => "timelines",
    };
    format!("/api/v1/{collection}/{name}")
}

/// The entry of this kind and name in the config in force, with whether
/// the file declares it.
fn current(
    config: &Config,
    catalog: &[CatalogEntry],
    kind: EntryKind,
    name: &str,
) -> Option<CatalogEntry> {
    let of_kind = |e: &&CatalogEntry| e.kind == kind && e.name == name;
    let entry = config
        .declared
        .iter()
        .find(of_kind)
        .or_else(|| catalog.iter().find(of_kind))?;
    in_force(config, kind, name).then(|| entry.clone())
}

/// Whether the config in force has an entry of this kind and name:
/// declared by its file, or a managed one that fit.
fn in_force(config: &Config, kind: EntryKind, name: &str) -> bool {
    match kind {
        EntryKind::Timeline => config.timeline(name).is_some(),
        EntryKind::Scrape => config.source(name).is_some_and(|s| s.scrape.is_some()),
        EntryKind::Source => config.source(name).is_some_and(|s| s.scrape.is_none()),
    }
}

/// An object body, named: its `name` must be the path's when both are given.
fn named(mut body: Map<String, Value>, name: Option<&str>) -> Result<(String, Value), Problem> {
    let given = body.get("name").map(|n| n.as_str().map(str::to_owned));
    let name = match (given, name) {
        (Some(None), _) => {
            return Err(
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "expected a string").field("name"),
            );
        }
        (Some(Some(g)), Some(n)) if g != n => {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("the body names {g:?}, the path {n:?}"),
            )
            .field("name"));
        }
        (Some(Some(g)), _) => g,
        (None, Some(n)) => n.to_owned(),
        (None, None) => {
            return Err(
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "a name is required").field("name"),
            );
        }
    };
    if name.chars().count() > MAX_NAME {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("a name is at most {MAX_NAME} characters"),
        )
        .field("name"));
    }
    body.insert("name".into(), Value::String(name.clone()));
    Ok((name, Value::Object(body)))
}

/// A managed entry of `kind` from a request's body (see [`named`]).
fn managed(
    kind: EntryKind,
    body: Map<String, Value>,
    name: Option<&str>,
) -> Result<CatalogEntry, Problem> {
    let (name, body) = named(body, name)?;
    Ok(CatalogEntry {
        kind,
        name,
        body,
        declared: false,
    })
}

/// How long a source created through the API waits for its first fetch,
/// which the answer makes itself: the schedule takes it only if that one
/// never ran (the instance stopped first).
const FIRST_FETCH: chrono::Duration = chrono::Duration::seconds(30);

/// When a written entry's source is due: after the answer's first fetch,
/// or at once for the schedule.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Due {
    /// The answer fetches it.
    Answer,
    Schedule,
}

/// Checks an entry against the config in force, writes it and puts the
/// catalog in force here. `create` refuses a taken name with 409.
async fn write(
    state: &State,
    entry: &CatalogEntry,
    create: bool,
    due: Due,
) -> Result<bool, Problem> {
    let config = state.site.config();
    if create && taken(&config, entry.kind, &entry.name) {
        return Err(
            Problem::new(StatusCode::CONFLICT, format!("{:?} is taken", entry.name)).field("name"),
        );
    }
    let existed = taken(&config, entry.kind, &entry.name);
    if entry.kind != EntryKind::Timeline
        && let Some(url) = entry.body.get("url").and_then(Value::as_str)
        && let Ok(parsed) = url::Url::parse(url)
        && let Err(e) =
            crate::sources::fetch::check_literal(&parsed, config.fetch.allow_private_networks)
    {
        return Err(Problem::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()).field("url"));
    }
    config
        .try_entry(entry)
        .map_err(|e| match e.field.as_str() {
            "name" if config.declares(entry.kind, &entry.name) => {
                Problem::new(StatusCode::CONFLICT, e.message).field("name")
            }
            _ => refused(e),
        })?;
    let store = &state.site.store;
    let now = chrono::Utc::now();
    let due = match due {
        Due::Answer => now + FIRST_FETCH,
        Due::Schedule => now,
    };
    if !store
        .catalog_put(entry, create, due)
        .await
        .map_err(store_problem)?
    {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            format!(
                "{:?} is taken (by another instance's write, or the config file)",
                entry.name
            ),
        )
        .field("name"));
    }
    state.site.follow_catalog().await.map_err(store_problem)?;
    Ok(!existed)
}

/// Whether a name of this kind's namespace is in use.
fn taken(config: &Config, kind: EntryKind, name: &str) -> bool {
    match kind {
        EntryKind::Timeline => config.timeline(name).is_some(),
        _ => config.source(name).is_some(),
    }
}

/// `POST /api/v1/sources` with JSON: `{"url": …}` and the optional keys of
/// `[[sources]]`. A page is searched for its feeds: one is created (201,
/// with the first fetch's outcome), several are listed (300), none is 422.
pub async fn add_source(state: &State, body: Map<String, Value>) -> Result<Resp, Problem> {
    let Some(Value::String(url)) = body.get("url").cloned() else {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "expected the address of a feed or of a site's page",
        )
        .field("url"));
    };
    let preview = super::sources::preview_of(state, Ask { url, scrape: None }).await?;
    let (url, title) = match preview.kind {
        Kind::Page => match preview.feeds.as_slice() {
            [one] => (one.url.clone(), one.title.clone().or(preview.title.clone())),
            [] => {
                return Err(Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    PreviewError::NoFeed {
                        url: preview.url,
                        paths: "the usual paths".into(),
                    }
                    .to_string(),
                )
                .field("url"));
            }
            several => {
                #[derive(Serialize)]
                struct Choices<'a> {
                    detail: String,
                    feeds: &'a [crate::sources::discover::Found],
                }
                return Ok(json_response(
                    StatusCode::MULTIPLE_CHOICES,
                    &Choices {
                        detail: format!(
                            "{} names {} feeds: post again with the \"url\" of one",
                            preview.url,
                            several.len()
                        ),
                        feeds: several,
                    },
                ));
            }
        },
        _ => (preview.url.clone(), preview.title.clone()),
    };
    let config = state.site.config();
    if let Some(s) = config.sources.iter().find(|s| s.url == url) {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            format!("{url} is source {:?} already", s.name),
        )
        .field("url"));
    }
    let mut body = body;
    body.insert("url".into(), Value::String(url.clone()));
    if !body.contains_key("name") {
        let name = name_for(&config, title.as_deref().unwrap_or_default(), &url);
        body.insert("name".into(), Value::String(name));
    }
    let entry = managed(EntryKind::Source, body, None)?;
    write(state, &entry, true, Due::Answer).await?;
    created(state, EntryKind::Source, &entry.name, preview.fetched).await
}

/// `POST /api/v1/scrapes`: a scrape with its selectors, as `[[scrapes]]`.
pub async fn add_scrape(state: &State, body: Map<String, Value>) -> Result<Resp, Problem> {
    let entry = managed(EntryKind::Scrape, body, None)?;
    write(state, &entry, true, Due::Answer).await?;
    created(state, EntryKind::Scrape, &entry.name, None).await
}

/// A created source, fetched once: 201 with `Location`, the source as
/// `GET` shows it, and the first fetch's outcome.
async fn created(
    state: &State,
    kind: EntryKind,
    name: &str,
    fetched: Option<crate::sources::fetch::Outcome>,
) -> Result<Resp, Problem> {
    let first = match state.site.poller() {
        Ok(poller) => match match fetched {
            Some(fetched) => poller.first_fetch(name, fetched).await,
            None => poller.fetch_now(name).await,
        } {
            Ok(report) => serde_json::json!({ "ok": true, "report": report }),
            Err(e) => serde_json::json!({ "ok": false, "error": e.to_string() }),
        },
        Err(e) => serde_json::json!({ "ok": false, "error": e.to_string() }),
    };
    let mut out = detail(state, kind, name).await?;
    out.insert("first_fetch".into(), first);
    let mut resp = json_response(StatusCode::CREATED, &out);
    if let Ok(v) = HeaderValue::from_str(&path_of(kind, name)) {
        resp.headers_mut().insert(LOCATION, v);
    }
    Ok(resp)
}

/// An entry as `GET` shows it: its keys, whether the file declares it, and
/// for a source its state and last attempts.
pub async fn detail(
    state: &State,
    kind: EntryKind,
    name: &str,
) -> Result<Map<String, Value>, Problem> {
    let config = state.site.config();
    let catalog = state.site.store.catalog().await.map_err(store_problem)?;
    let Some(entry) = current(&config, &catalog.entries, kind, name) else {
        return Err(not_found(&path_of(kind, name)));
    };
    let mut out = match kind {
        EntryKind::Timeline => Map::new(),
        _ => match serde_json::to_value(super::sources::detail(state, name).await?) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        },
    };
    out.insert("name".into(), Value::String(name.to_owned()));
    out.insert("declared".into(), Value::Bool(entry.declared));
    out.insert("entry".into(), entry.body);
    Ok(out)
}

/// `GET /api/v1/{sources|scrapes|timelines}/{name}`.
pub async fn get(state: &State, kind: EntryKind, name: &str) -> Result<Resp, Problem> {
    Ok(json_response(
        StatusCode::OK,
        &detail(state, kind, name).await?,
    ))
}

/// `GET /api/v1/timelines`: every timeline's entry.
pub async fn timelines(state: &State) -> Result<Resp, Problem> {
    let config = state.site.config();
    let catalog = state.site.store.catalog().await.map_err(store_problem)?;
    let out: Vec<Value> = config
        .timelines
        .iter()
        .filter_map(|t| current(&config, &catalog.entries, EntryKind::Timeline, &t.name))
        .map(|e| serde_json::json!({ "name": e.name, "declared": e.declared, "entry": e.body }))
        .collect();
    Ok(json_response(StatusCode::OK, &out))
}

/// `POST /api/v1/timelines`.
pub async fn add_timeline(state: &State, body: Map<String, Value>) -> Result<Resp, Problem> {
    let entry = managed(EntryKind::Timeline, body, None)?;
    let name = entry.name.clone();
    write(state, &entry, true, Due::Schedule).await?;
    let mut resp = json_response(
        StatusCode::CREATED,
        &detail(state, EntryKind::Timeline, &name).await?,
    );
    if let Ok(v) = HeaderValue::from_str(&path_of(EntryKind::Timeline, &name)) {
        resp.headers_mut().insert(LOCATION, v);
    }
    Ok(resp)
}

/// `PUT` (the whole entry) or `PATCH` (a JSON merge patch, RFC 7396, over
/// the entry in force) of a managed entry; `PUT` of a free name creates it.
pub async fn replace(
    state: &State,
    kind: EntryKind,
    name: &str,
    body: Map<String, Value>,
    patch: bool,
) -> Result<Resp, Problem> {
    let body = if patch {
        let config = state.site.config();
        let catalog = state.site.store.catalog().await.map_err(store_problem)?;
        let Some(entry) = current(&config, &catalog.entries, kind, name) else {
            return Err(not_found(&path_of(kind, name)));
        };
        let mut merged = entry.body;
        merge_patch(&mut merged, Value::Object(body));
        match merged {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    } else {
        body
    };
    let entry = managed(kind, body, Some(name))?;
    let name = entry.name.clone();
    let made = write(state, &entry, false, Due::Schedule).await?;
    let status = if made {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json_response(status, &detail(state, kind, &name).await?))
}

/// RFC 7396: objects merge key by key, `null` removes a key, anything
/// else replaces.
fn merge_patch(target: &mut Value, patch: Value) {
    let Value::Object(patch) = patch else {
        *target = patch;
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(map) = target else { return };
    for (k, v) in patch {
        if v.is_null() {
            map.remove(&k);
        } else {
            merge_patch(map.entry(k).or_insert(Value::Null), v);
        }
    }
}

/// `DELETE` of a managed entry. A source's items leave the feeds and
/// timelines it fed, each with a tombstone; archive pages keep their bytes.
pub async fn delete(state: &State, kind: EntryKind, name: &str) -> Result<Resp, Problem> {
    let config = state.site.config();
    if !in_force(&config, kind, name) {
        return delete_left_out(state, kind, name).await;
    }
    config
        .without_entry(kind, name)
        .map_err(|e| Problem::new(StatusCode::CONFLICT, e.message).field(e.field))?;
    let store = &state.site.store;
    // (A timeline may share a source's name: they have a namespace each.)
    let source = match kind {
        EntryKind::Timeline => None,
        _ => config.source(name).map(|s| s.item_source()),
    };
    if !store
        .catalog_delete(kind, name)
        .await
        .map_err(store_problem)?
    {
        return Err(not_found(&path_of(kind, name)));
    }
    state.site.follow_catalog().await.map_err(store_problem)?;
    if let Some(source) = source {
        withdraw(state, &source).await?;
    }
    Ok(no_content())
}

/// `DELETE` of a managed entry the config in force leaves out (it no longer
/// fits the file): otherwise it could be neither seen nor removed through
/// the API. A source's items go as a deleted source's do.
async fn delete_left_out(state: &State, kind: EntryKind, name: &str) -> Result<Resp, Problem> {
    let left_out = state
        .site
        .left_out()
        .into_iter()
        .any(|l| l.kind == kind.as_str() && l.name == name);
    if !left_out
        || !state
            .site
            .store
            .catalog_delete(kind, name)
            .await
            .map_err(store_problem)?
    {
        return Err(not_found(&path_of(kind, name)));
    }
    state.site.follow_catalog().await.map_err(store_problem)?;
    let source = match kind {
        EntryKind::Timeline => None,
        EntryKind::Source => Some(Source::Feed(name.to_owned())),
        EntryKind::Scrape => Some(Source::Scrape(name.to_owned())),
    };
    if let Some(source) = source {
        withdraw(state, &source).await?;
    }
    Ok(no_content())
}

/// Withdraws every item of a deleted source, leaving tombstones where
/// documents showed them; closed archive pages keep their bytes.
async fn withdraw(state: &State, source: &Source) -> Result<(), Problem> {
    let written = state
        .site
        .store
        .withdraw_source(source)
        .await
        .map_err(store_problem)?;
    state.site.mark(&written);
    Ok(())
}

/// What an OPML import did with each outline.
#[derive(Serialize, Default)]
pub struct Imported {
    pub created: Vec<Value>,
    pub existing: Vec<Value>,
    pub refused: Vec<Value>,
}

/// `POST /api/v1/sources` with `Content-Type: text/x-opml`: a reader's
/// export. Each outline with an `xmlUrl` becomes a source unless one has
/// its URL already; those that do not fit are refused with why. Nothing is
/// fetched here: the schedule fetches the new sources at once.
pub async fn import_opml(state: &State, text: &str) -> Result<Resp, Problem> {
    let outlines = crate::sources::opml::sources(text).map_err(|e| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("not an OPML document: {e}"),
        )
        .field("body")
    })?;
    if outlines.len() > MAX_OUTLINES {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "{} outlines; at most {MAX_OUTLINES} at a time",
                outlines.len()
            ),
        )
        .field("body"));
    }
    let mut out = Imported::default();
    for (title, url) in outlines {
        let config = state.site.config();
        if let Some(s) = config.sources.iter().find(|s| s.url == url) {
            out.existing
                .push(serde_json::json!({ "name": s.name, "url": url }));
            continue;
        }
        let name = name_for(&config, &title, &url);
        let mut body = Map::new();
        body.insert("name".into(), Value::String(name.clone()));
        body.insert("url".into(), Value::String(url.clone()));
        if !title.is_empty() {
            body.insert("title".into(), Value::String(title.clone()));
        }
        let public = url::Url::parse(&url)
            .map_err(|e| e.to_string())
            .and_then(|u| {
                crate::sources::fetch::check_literal(&u, config.fetch.allow_private_networks)
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = public {
            out.refused
                .push(serde_json::json!({ "url": url, "field": "url", "error": e }));
            continue;
        }
        let entry = managed(EntryKind::Source, body, None)?;
        match write(state, &entry, true, Due::Schedule).await {
            Ok(_) => out
                .created
                .push(serde_json::json!({ "name": name, "url": url })),
            Err(p) => out
                .refused
                .push(serde_json::json!({ "url": url, "field": p.field, "error": p.detail })),
        }
    }
    Ok(json_response(StatusCode::OK, &out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut doc = serde_json::json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(&mut doc, serde_json::json!({"a": "z", "c": {"f": null}}));
        assert_eq!(doc, serde_json::json!({"a": "z", "c": {"d": "e"}}));
        merge_patch(&mut doc, serde_json::json!({"c": [1]}));
        assert_eq!(doc, serde_json::json!({"a": "z", "c": [1]}));
    }
}
