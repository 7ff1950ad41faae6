//! The console's editor of sources: the preview of an address (a feed, a
//! site naming its feeds, or a page read with the selectors typed), and the
//! save of what was previewed as a managed source or scrape, through the
//! API's checks.

use super::*;

/// The scrape editor's selector fields: form name and label.
pub(super) const FIELDS: [(&str, &str); 4] = [
    ("list.item", "Item"),
    ("list.time", "Time (HH:MM)"),
    ("list.title", "Title"),
    ("list.link", "Link"),
];

/// Saves the previewed feed (or scrape, with the form's selectors) as a
/// managed source: fetched once, then shown on its page. A refusal is
/// shown on the form, beside what was typed.
pub(super) async fn save(
    state: &State,
    editor: &Editor,
    scrape: bool,
    form: Vec<(String, String)>,
) -> Result<Resp, Problem> {
    let get = |k: &str| field(&form, k).map(str::trim).filter(|v| !v.is_empty());
    let mut body = serde_json::Map::new();
    for key in ["url", "name", "title"] {
        if let Some(v) = get(key) {
            body.insert(key.into(), v.into());
        }
    }
    let result = if scrape {
        let mut list = serde_json::Map::new();
        for (name, _) in FIELDS {
            if let Some(v) = get(name) {
                list.insert(name.trim_start_matches("list.").into(), v.into());
            }
        }
        body.insert("list".into(), serde_json::Value::Object(list));
        body.insert("category".into(), get("category").unwrap_or("").into());
        crate::http::catalog::add_scrape(state, body).await
    } else {
        let categories: Vec<&str> = get("categories")
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        if !categories.is_empty() {
            body.insert("categories".into(), categories.into());
        }
        crate::http::catalog::add_source(state, body).await
    };
    match result {
        Ok(resp) if resp.status() == StatusCode::CREATED => {
            let to = resp
                .headers()
                .get(header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| l.rsplit('/').next())
                .unwrap_or_default();
            Ok(see_other(&format!("/console/sources/{to}")))
        }
        Ok(_) => {
            preview_form(
                state,
                editor,
                form,
                Some("the address names several feeds: preview one and save it".into()),
            )
            .await
        }
        Err(p) => preview_form(state, editor, form, Some(refusal(&p))).await,
    }
}

/// Why the API refused a form's entry, as the form shows it: the field
/// first, when the refusal names one.
pub(super) fn refusal(p: &Problem) -> String {
    match &p.field {
        Some(f) if !f.is_empty() => format!("{f}: {}", p.detail),
        _ => p.detail.clone(),
    }
}

/// The preview of the form's address and selectors, in the page (with
/// why a save was refused, when it was).
pub(super) async fn preview_form(
    state: &State,
    editor: &Editor,
    form: Vec<(String, String)>,
    refused: Option<String>,
) -> Result<Resp, Problem> {
    let get = |k: &str| field(&form, k).map(str::trim).filter(|v| !v.is_empty());
    let mut list = serde_json::Map::new();
    for (name, _) in FIELDS {
        if let Some(v) = get(name) {
            list.insert(name.trim_start_matches("list.").into(), v.into());
        }
    }
    let mut ask = serde_json::json!({ "url": get("url").unwrap_or("") });
    if !list.is_empty() {
        ask["scrape"] = serde_json::json!({ "list": list });
        if let Some(c) = get("category") {
            ask["scrape"]["category"] = c.into();
        }
    }
    let values: std::collections::BTreeMap<&str, &str> =
        form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (result, problem) = match serde_json::from_value::<crate::sources::preview::Ask>(ask) {
        Err(e) => (None, Some(format!("scrape.list: {e}"))),
        Ok(ask) => match crate::http::sources::preview_of(state, ask).await {
            Ok(p) => (Some(Value::from(Serde(&p))), None),
            Err(e) => (
                None,
                Some(format!("{}: {}", e.field.unwrap_or_default(), e.detail)),
            ),
        },
    };
    Ok(page(
        state,
        "preview.html",
        context! { csrf => &editor.csrf, editor => &editor.name, page => "preview",
        form => Serde(values), fields => Serde(FIELDS), result => result,
        problem => refused.or(problem),
        suggest => suggested_name(field(&form, "url").unwrap_or("")) },
    ))
}

/// A source name for a feed's address: its host without `www.`, as a slug
/// (`news.example.org` is `news-example-org`).
fn suggested_name(url: &str) -> String {
    let host = url::Url::parse(url.trim())
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    let slug: String = host
        .trim_start_matches("www.")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let slug = slug.trim_matches('-').to_owned();
    if slug.is_empty() {
        "source".into()
    } else {
        slug
    }
}
