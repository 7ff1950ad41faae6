//! The operator console (`/console/`): server-rendered pages for editors, on
//! every instance. An API token with the `sources` scope signs an editor in;
//! the session lives in the store (the SHA-256 of an `HttpOnly`,
//! `SameSite=Strict` cookie, `Secure` behind https), so any instance accepts
//! it. Every form and script sends the session's CSRF token back; failed
//! sign-ins are slowed down and then refused per client address. Pages are
//! minijinja templates, escaped by default, under a policy that allows no
//! inline script or style: whatever a source's title, error or item holds
//! is text.
//!
//! Pages: the sources (status, last fetch, error, items, next fetch;
//! failing first; fetch now), a source (settings, attempt log, items), the
//! preview and scrape editor (live, through `/console/preview.json`), and
//! the timelines (each merged document's first items; new, edit, delete).

use super::problem::{Problem, not_found};
use super::respond::{finish, read_body};
use super::state::State;
use crate::config::Scope;
use crate::model::FeedId;
use bytes::Bytes;
use chrono::Utc;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Method, Request, Response, StatusCode};
use minijinja::value::Serde;
use minijinja::{Value, context};
use std::net::IpAddr;
use std::time::Duration;

mod editor;
pub(super) mod pages;
mod timelines;

use editor::{FIELDS, preview_form, save};

type Resp = Response<Full<Bytes>>;

const COOKIE: &str = "newswire_session";

/// How long a session lasts.
const SESSION: Duration = Duration::from_secs(12 * 3600);

/// The largest form the console reads.
const MAX_FORM: usize = 64 << 10;

/// The policy of every console answer: its own stylesheet and script, its
/// own requests, in no frame.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A signed-in editor.
struct Editor {
    id: String,
    name: String,
    csrf: String,
}

pub async fn handle(state: &State, req: Request<Incoming>, peer: IpAddr) -> Resp {
    let (parts, mut body) = req.into_parts();
    let result = route(state, &parts, &mut body, peer).await;
    let mut resp = finish(&parts, &mut body, result).await;
    let h = resp.headers_mut();
    h.insert("content-security-policy", HeaderValue::from_static(POLICY));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    resp
}

/// Whether the browser says the request comes from another site's page
/// (Fetch Metadata's `Sec-Fetch-Site`, which every current browser sends
/// and no page can set). Forms carry the session's CSRF token too, but the
/// sign-in has no session yet: without this, another site could sign an
/// editor's browser in with its own token (login CSRF). A request without
/// the header (an older browser, a script) is judged by the token alone.
/// Not `Origin` against `Host`: a proxy in front may rewrite `Host`.
fn from_another_site(req: &Parts) -> bool {
    req.headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|site| !matches!(site, "same-origin" | "none"))
}

async fn route(
    state: &State,
    req: &Parts,
    body: &mut Incoming,
    peer: IpAddr,
) -> Result<Resp, Problem> {
    let path = req.uri.path();
    let method = &req.method;
    if path == "/console" {
        return Ok(see_other("/console/"));
    }
    if let Some(asset) = path.strip_prefix("/console/assets/") {
        return asset_of(asset).ok_or_else(|| not_found(path));
    }
    if *method == Method::POST && from_another_site(req) {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "a form sent from another site's page: the console takes its own forms only",
        )
        .field("Sec-Fetch-Site"));
    }
    if path == "/console/signin" {
        return match *method {
            Method::GET => Ok(page(state, "signin.html", context! {})),
            Method::POST => sign_in(state, req, body, peer).await,
            _ => Ok(super::problem::method_not_allowed("GET, POST")),
        };
    }
    let Some(editor) = editor(state, req).await? else {
        return Ok(match *method {
            Method::GET | Method::HEAD => see_other("/console/signin"),
            _ => Problem::new(StatusCode::UNAUTHORIZED, "sign in to the console first")
                .field("Cookie")
                .into_response(),
        });
    };
    if *method == Method::POST {
        // A form's hidden field, or the script's header.
        let (csrf, form) = if path.ends_with(".json") {
            let sent = req
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok());
            (sent.map(str::to_owned), Vec::new())
        } else {
            let form = form(req, body).await?;
            (field(&form, "csrf").map(str::to_owned), form)
        };
        if !csrf.is_some_and(|c| same(c.as_bytes(), editor.csrf.as_bytes())) {
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                "the form's CSRF token is missing or wrong: reload the page",
            )
            .field("csrf"));
        }
        return post(state, req, body, &editor, path, form).await;
    }
    if !matches!(*method, Method::GET | Method::HEAD) {
        return Ok(super::problem::method_not_allowed("GET, HEAD, POST"));
    }
    match path {
        "/console/" => sources(state, &editor, None).await,
        "/console/timelines" => timelines::page_of(state, &editor, None, Default::default()).await,
        "/console/preview" => Ok(page(
            state,
            "preview.html",
            context! { csrf => &editor.csrf, editor => &editor.name, page => "preview",
            form => context! {}, fields => Serde(FIELDS) },
        )),
        _ => match path.strip_prefix("/console/sources/") {
            Some(name) if !name.contains('/') => source(state, &editor, name).await,
            _ => match path.strip_prefix("/console/timelines/") {
                Some(name) if !name.contains('/') => timelines::edit(state, &editor, name).await,
                _ => Err(not_found(path)),
            },
        },
    }
}

async fn post(
    state: &State,
    req: &Parts,
    body: &mut Incoming,
    editor: &Editor,
    path: &str,
    form: Vec<(String, String)>,
) -> Result<Resp, Problem> {
    if path == "/console/signout" {
        state
            .site
            .store
            .end_session(&editor.id)
            .await
            .map_err(|e| super::problem::internal(&e))?;
        let mut resp = see_other("/console/signin");
        resp.headers_mut().insert(
            header::SET_COOKIE,
            HeaderValue::from_str(&format!(
                "{COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0"
            ))
            .expect("ascii"),
        );
        return Ok(resp);
    }
    if path == "/console/preview.json" {
        let ask: crate::sources::preview::Ask =
            super::respond::read_json(req, body, state.site.config().server.max_body).await?;
        return super::sources::preview(state, ask).await;
    }
    if path == "/console/preview" {
        return preview_form(state, editor, form, None).await;
    }
    if path == "/console/timelines/add" {
        return timelines::add(state, editor, form).await;
    }
    if let Some(name) = path
        .strip_prefix("/console/timelines/")
        .and_then(|p| p.strip_suffix("/delete"))
        .filter(|n| !n.contains('/'))
    {
        return timelines::delete(state, editor, name).await;
    }
    if let Some(name) = path
        .strip_prefix("/console/timelines/")
        .and_then(|p| p.strip_suffix("/save"))
        .filter(|n| !n.contains('/'))
    {
        return timelines::save(state, editor, name, form).await;
    }
    if path == "/console/sources/add" || path == "/console/scrapes/add" {
        return save(state, editor, path == "/console/scrapes/add", form).await;
    }
    if let Some(name) = path
        .strip_prefix("/console/sources/")
        .and_then(|p| p.strip_suffix("/delete"))
        .filter(|n| !n.contains('/'))
    {
        let kind = super::sources::source_kind(state, name);
        return match super::catalog::delete(state, kind, name).await {
            Ok(_) => Ok(see_other("/console/")),
            Err(p) => sources(state, editor, Some(format!("{name}: {}", p.detail))).await,
        };
    }
    if let Some((name, action)) = path
        .strip_prefix("/console/sources/")
        .and_then(|p| p.rsplit_once('/'))
        .filter(|(n, a)| !n.contains('/') && matches!(*a, "pause" | "resume"))
    {
        super::sources::pause(state, name, action == "pause").await?;
        return Ok(see_other(&format!("/console/sources/{name}")));
    }
    if let Some(name) = path
        .strip_prefix("/console/sources/")
        .and_then(|p| p.strip_suffix("/fetch"))
        .filter(|n| !n.contains('/'))
    {
        let poller = state.site.poller().map_err(|e| {
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("fetching is unavailable: {e}"),
            )
        })?;
        return match poller.fetch_now(name).await {
            // The attempt log shows how it went.
            Ok(_) | Err(crate::poller::PollError::Document(_)) => {
                Ok(see_other(&format!("/console/sources/{name}")))
            }
            Err(crate::poller::PollError::Unknown(_)) => Err(not_found(path)),
            Err(e) => Err(Problem::new(StatusCode::CONFLICT, e.to_string())),
        };
    }
    Err(not_found(path))
}

async fn sources(state: &State, editor: &Editor, notice: Option<String>) -> Result<Resp, Problem> {
    let states = state
        .site
        .store
        .fetch_states()
        .await
        .map_err(|e| super::problem::internal(&e))?;
    let config = state.site.config();
    let mut rows: Vec<_> = config
        .sources
        .iter()
        .map(|s| super::sources::output(s, &states))
        .collect();
    // Failing sources first, then gone, then the rest, by name.
    rows.sort_by_key(|s| {
        let rank = match s.status {
            crate::model::SourceStatus::Failing => 0,
            crate::model::SourceStatus::Gone => 1,
            crate::model::SourceStatus::Paused => 2,
            _ => 3,
        };
        (rank, s.name)
    });
    Ok(page(
        state,
        "sources.html",
        context! { csrf => &editor.csrf, editor => &editor.name, page => "sources",
        sources => Value::from(Serde(&rows)), notice => notice,
        left_out => left_out(state, &["source", "scrape"]),
        declared => Value::from(Serde(declared_names(&config))) },
    ))
}

/// The managed entries of these kinds the config in force leaves out.
fn left_out(state: &State, kinds: &[&str]) -> Value {
    let left: Vec<crate::site::LeftOut> = state
        .site
        .left_out()
        .into_iter()
        .filter(|l| kinds.contains(&l.kind))
        .collect();
    Value::from(Serde(left))
}

/// The sources the config file declares: the console deletes only the
/// others (those added through it or the API).
fn declared_names(config: &crate::config::Config) -> Vec<&str> {
    config
        .declared
        .iter()
        .filter(|e| e.kind != crate::model::EntryKind::Timeline)
        .map(|e| e.name.as_str())
        .collect()
}

async fn source(state: &State, editor: &Editor, name: &str) -> Result<Resp, Problem> {
    let config = &state.site.config();
    let Some(s) = config.source(name) else {
        return Err(not_found(&format!("/console/sources/{name}")));
    };
    let store = &state.site.store;
    let internal = |e: crate::store::StoreError| super::problem::internal(&e);
    let states = store.fetch_states().await.map_err(internal)?;
    let attempts = store.attempts(name, 20).await.map_err(internal)?;
    let items = store
        .list(&FeedId::Source(name.to_owned()), None, 20)
        .await
        .map_err(internal)?;
    let tz = config.site.timezone;
    let items: Vec<_> = items
        .iter()
        .map(|i| {
            context! { title => &i.title, link => i.link.as_deref(),
            published => crate::localtime::in_zone(i.published, tz).to_rfc3339() }
        })
        .collect();
    let mut settings: Vec<(&str, String)> = vec![
        ("Title", s.title.clone().unwrap_or_default()),
        (
            "Interval",
            format!("{} s", config.fetch.interval_of(s).as_secs()),
        ),
        ("Categories", s.categories.join(", ")),
        ("Keeps at most", config.fetch.max_items_of(s).to_string()),
    ];
    if !s.include.is_empty() {
        settings.push(("Include", s.include.join(", ")));
    }
    if !s.exclude.is_empty() {
        settings.push(("Exclude", s.exclude.join(", ")));
    }
    if let Some(sc) = &s.scrape {
        let l = &sc.list;
        settings.push(("list.item", l.item.clone()));
        for (k, v) in [
            ("list.time", &l.time),
            ("list.title", &l.title),
            ("list.link", &l.link),
        ] {
            if let Some(v) = v {
                settings.push((k, v.clone()));
            }
        }
    }
    Ok(page(
        state,
        "source.html",
        context! { csrf => &editor.csrf, editor => &editor.name, page => "sources",
        s => Value::from(Serde(super::sources::output(s, &states))),
        declared => config.declares(crate::model::EntryKind::Source, name),
        settings => Serde(settings), attempts => Value::from(Serde(&attempts)),
        items => items },
    ))
}

async fn sign_in(
    state: &State,
    req: &Parts,
    body: &mut Incoming,
    peer: IpAddr,
) -> Result<Resp, Problem> {
    let form = form(req, body).await?;
    let token = field(&form, "token").unwrap_or("").trim();
    let name = match state.tokens().named(token, Scope::Sources) {
        Ok(name) => name.to_owned(),
        Err(_) => {
            if let Err(wait) = state.console.signins().take(peer) {
                return Err(Problem::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too many failed sign-ins from this address; wait and try again",
                )
                .retry_after(wait));
            }
            // Each failure costs the guesser time, not the server.
            tokio::time::sleep(Duration::from_millis(400)).await;
            let mut resp = page(
                state,
                "signin.html",
                context! { error => "That token cannot sign in: it is unknown, or it lacks the sources scope." },
            );
            *resp.status_mut() = StatusCode::UNAUTHORIZED;
            return Ok(resp);
        }
    };
    let secret = random_hex();
    let session = crate::store::Session {
        id: crate::hash::hash_hex(secret.as_bytes()),
        token_name: name,
        csrf: random_hex(),
        expires: Utc::now() + chrono::Duration::from_std(SESSION).expect("a few hours"),
    };
    state
        .site
        .store
        .start_session(&session)
        .await
        .map_err(|e| super::problem::internal(&e))?;
    let secure = if state.site.config().site.feeds_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let mut resp = see_other("/console/");
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&format!(
            "{COOKIE}={secret}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
            SESSION.as_secs()
        ))
        .expect("ascii"),
    );
    Ok(resp)
}

/// The editor the request's session cookie names, if it is live.
async fn editor(state: &State, req: &Parts) -> Result<Option<Editor>, Problem> {
    let secret = req
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(COOKIE)?.strip_prefix('='))
        .filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()));
    let Some(secret) = secret else {
        return Ok(None);
    };
    let id = crate::hash::hash_hex(secret.as_bytes());
    let session = state
        .site
        .store
        .session(&id, Utc::now())
        .await
        .map_err(|e| super::problem::internal(&e))?;
    Ok(session.map(|s| Editor {
        id,
        name: s.token_name,
        csrf: s.csrf,
    }))
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the system's random source");
    crate::hash::hex(&bytes)
}

/// Equal bytes, without an early exit that would time how much matched.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn form(req: &Parts, body: &mut Incoming) -> Result<Vec<(String, String)>, Problem> {
    let bytes = read_body(req, body, MAX_FORM).await?;
    Ok(url::form_urlencoded::parse(&bytes).into_owned().collect())
}

fn field<'f>(form: &'f [(String, String)], name: &str) -> Option<&'f str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn page(state: &State, name: &str, ctx: Value) -> Resp {
    let html = state
        .console
        .pages()
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .unwrap_or_else(|e| {
            tracing::error!("console page {name}: {e}");
            "<!doctype html><title>Error</title><p>This page could not be shown.</p>".into()
        });
    let mut resp = Response::new(Full::new(Bytes::from(html)));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}

fn see_other(to: &str) -> Resp {
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = StatusCode::SEE_OTHER;
    resp.headers_mut()
        .insert(header::LOCATION, HeaderValue::from_str(to).expect("a path"));
    resp
}

fn asset_of(name: &str) -> Option<Resp> {
    let (body, content_type): (&'static [u8], &'static str) = match name {
        "console.css" => (
            include_bytes!("assets/console.css"),
            "text/css; charset=utf-8",
        ),
        "console.js" => (
            include_bytes!("assets/console.js"),
            "text/javascript; charset=utf-8",
        ),
        _ => return None,
    };
    let mut resp = Response::new(Full::new(Bytes::from_static(body)));
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    Some(resp)
}
