//! The console's timelines: each with its members, its limit and the first
//! items of its merged document; a form that makes a new one of the sources
//! and local feeds in force, or edits one made here or through the API, and
//! its delete. All go through the API's own checks, and a refusal is shown
//! beside what was typed.

use super::*;
use crate::model::EntryKind;

/// Items a timeline's card previews.
const PREVIEWED: usize = 10;

/// The form as the page shows it: what was sent (or what the timeline
/// being edited holds), why it was refused, and which timeline it edits.
#[derive(Default)]
pub(super) struct Filled {
    form: Vec<(String, String)>,
    problem: Option<String>,
    editing: Option<String>,
}

/// The page with the form filled: to edit `editing`, or after a refusal.
async fn filled(
    state: &State,
    editor: &Editor,
    form: Vec<(String, String)>,
    problem: Option<String>,
    editing: Option<&str>,
) -> Result<Resp, Problem> {
    let editing = editing.map(str::to_owned);
    let filled = Filled {
        form,
        problem,
        editing,
    };
    page_of(state, editor, None, filled).await
}

/// The timeline entry a form describes, as the API takes it.
fn entry_of(form: &[(String, String)]) -> serde_json::Map<String, serde_json::Value> {
    let get = |k: &str| field(form, k).map(str::trim).filter(|v| !v.is_empty());
    let mut body = serde_json::Map::new();
    for key in ["name", "title", "description"] {
        if let Some(v) = get(key) {
            body.insert(key.into(), v.into());
        }
    }
    body.insert(
        "sources".into(),
        serde_json::Value::Array(all_json(form, "sources")),
    );
    body.insert(
        "categories".into(),
        serde_json::Value::Array(all_json(form, "categories")),
    );
    if let Some(limit) = get("limit") {
        // A number as a number; anything else as typed, for the API to
        // refuse by name.
        let limit = limit
            .parse::<u64>()
            .map_or_else(|_| serde_json::Value::from(limit), serde_json::Value::from);
        body.insert("limit".into(), limit);
    }
    body
}

/// `POST /console/timelines/add`: the form's timeline through the API's
/// `POST /api/v1/timelines`.
pub(super) async fn add(
    state: &State,
    editor: &Editor,
    form: Vec<(String, String)>,
) -> Result<Resp, Problem> {
    match crate::http::catalog::add_timeline(state, entry_of(&form)).await {
        Ok(_) => Ok(see_other("/console/timelines")),
        Err(p) => filled(state, editor, form, Some(super::editor::refusal(&p)), None).await,
    }
}

/// `GET /console/timelines/{name}`: the page with the form filled with
/// what the timeline holds, to edit it; for one the config file declares,
/// the page says so and offers no form (its save would be refused).
pub(super) async fn edit(state: &State, editor: &Editor, name: &str) -> Result<Resp, Problem> {
    let config = state.site.config();
    let Some(t) = config.timeline(name) else {
        return Err(not_found(&format!("/console/timelines/{name}")));
    };
    if declared(&config).any(|d| d == name) {
        let notice = format!(
            "{name} is declared in newswire.toml: change it there (the console edits the \
             timelines made here or through the API)"
        );
        return page_of(state, editor, Some(notice), Filled::default()).await;
    }
    let mut form: Vec<(String, String)> = vec![
        ("name".into(), t.name.clone()),
        ("title".into(), t.title.clone()),
        (
            "description".into(),
            t.description.clone().unwrap_or_default(),
        ),
        ("limit".into(), t.limit.to_string()),
    ];
    form.extend(t.sources.iter().map(|s| ("sources".into(), s.clone())));
    form.extend(
        t.categories
            .iter()
            .map(|c| ("categories".into(), c.clone())),
    );
    filled(state, editor, form, None, Some(name)).await
}

/// `POST /console/timelines/{name}/save`: the form's entry in place of the
/// managed timeline, through the API's `PUT /api/v1/timelines/{name}`.
pub(super) async fn save(
    state: &State,
    editor: &Editor,
    name: &str,
    mut form: Vec<(String, String)>,
) -> Result<Resp, Problem> {
    if state.site.config().timeline(name).is_none() {
        return Err(not_found(&format!("/console/timelines/{name}")));
    }
    // The name is the page's, whatever the form says.
    form.retain(|(k, _)| k != "name");
    form.push(("name".into(), name.to_owned()));
    let replaced =
        crate::http::catalog::replace(state, EntryKind::Timeline, name, entry_of(&form), false)
            .await;
    match replaced {
        Ok(_) => Ok(see_other("/console/timelines")),
        Err(p) => {
            filled(
                state,
                editor,
                form,
                Some(super::editor::refusal(&p)),
                Some(name),
            )
            .await
        }
    }
}

/// The timelines the config file declares.
fn declared(config: &crate::config::Config) -> impl Iterator<Item = &str> {
    config
        .declared
        .iter()
        .filter(|e| e.kind == EntryKind::Timeline)
        .map(|e| e.name.as_str())
}

/// The values of a field a form sends once per checked box.
fn all_json(form: &[(String, String)], key: &str) -> Vec<serde_json::Value> {
    form.iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| serde_json::Value::from(v.trim()))
        .collect()
}

/// `POST /console/timelines/{name}/delete`: a managed timeline, through
/// the API's `DELETE`; a declared one is refused, and the page says why.
pub(super) async fn delete(state: &State, editor: &Editor, name: &str) -> Result<Resp, Problem> {
    match crate::http::catalog::delete(state, EntryKind::Timeline, name).await {
        Ok(_) => Ok(see_other("/console/timelines")),
        Err(p) => {
            let notice = Some(format!("{name}: {}", p.detail));
            page_of(state, editor, notice, Filled::default()).await
        }
    }
}

/// `GET /console/timelines`.
pub(super) async fn page_of(
    state: &State,
    editor: &Editor,
    notice: Option<String>,
    filled: Filled,
) -> Result<Resp, Problem> {
    let config = &state.site.config();
    let internal = |e: crate::store::StoreError| super::super::problem::internal(&e);
    let states = state.site.store.fetch_states().await.map_err(internal)?;
    let tz = config.site.timezone;
    let declared: Vec<&str> = declared(config).collect();
    let mut cards = Vec::new();
    for t in &config.timelines {
        let feed = FeedId::Timeline(t.name.clone());
        let items = state
            .site
            .latest(&feed, PREVIEWED)
            .await
            .map_err(internal)?;
        let members: Vec<Value> = t
            .categories
            .iter()
            .map(|c| context! { name => c, source => false })
            .chain(t.sources.iter().map(|s| {
                let status = states.iter().find(|st| &st.source == s).map_or(
                    crate::model::SourceStatus::New,
                    crate::model::FetchState::status,
                );
                context! { name => s, source => true, status => Value::from(Serde(status)) }
            }))
            .collect();
        let items: Vec<Value> = items
            .iter()
            .map(|i| {
                let source = i
                    .origin
                    .as_ref()
                    .map_or(config.site.title.as_str(), |o| o.source.as_str());
                context! { title => &i.title, link => i.link.as_deref(), source => source,
                published => crate::localtime::in_zone(i.published, tz).to_rfc3339() }
            })
            .collect();
        cards.push(context! {
            name => &t.name, title => &t.title, limit => t.limit, members => members, items => items,
            declared => declared.contains(&t.name.as_str()),
            url => crate::render::feed_url(config, &feed, crate::model::Format::Html),
        });
    }
    // What the form offers: every source in force, and the local feeds.
    let Filled {
        form,
        problem,
        editing,
    } = filled;
    let checked = |key: &str, value: &str| form.iter().any(|(k, v)| k == key && v == value);
    let sources: Vec<Value> = config
        .sources
        .iter()
        .map(|s| context! { name => &s.name, checked => checked("sources", &s.name) })
        .collect();
    let locals: Vec<Value> = config
        .categories
        .iter()
        .map(|c| c.slug.as_str())
        .chain(["breaking", "all"])
        .map(|c| context! { name => c, checked => checked("categories", c) })
        .collect();
    let typed: std::collections::BTreeMap<&str, &str> = form
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "sources" | "categories" | "csrf"))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    Ok(page(
        state,
        "timelines.html",
        context! { csrf => &editor.csrf, editor => &editor.name, page => "timelines",
        timelines => cards, notice => notice, problem => problem, form => Serde(typed),
        editing => editing, left_out => super::left_out(state, &["timeline"]),
        sources => sources, locals => locals,
        default_limit => crate::config::default_timeline_limit() },
    ))
}
