//! What the ingest API does, without HTTP: payloads to items, corrections that keep
//! ids, withdrawals. The HTTP layer maps [`IngestError`] to status codes.

use crate::config::Config;
use crate::content::article::{Body, Draft, FieldError, check_key};
use crate::content::files::breaking_item;
use crate::content::ticker::TickerItem;
use crate::localtime;
use crate::model::{Item, ItemKind, Source};
use crate::store::{Outcome, Ownership, Store, StoreError, Written};
use chrono::{NaiveDate, NaiveTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Field(#[from] FieldError),
    #[error("no {0} with id {1:?}")]
    NotFound(&'static str, String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An article as the API takes it. Unknown fields are refused so a typo is not
/// silently dropped.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ArticleInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub published: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_html: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_markdown: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

fn required(value: Option<String>, name: &'static str) -> Result<String, FieldError> {
    value.filter(|v| !v.trim().is_empty()).ok_or(FieldError {
        field: name,
        message: "is required".into(),
    })
}

impl ArticleInput {
    fn into_draft(self) -> Result<Draft, FieldError> {
        let body = match (self.content_html, self.content_markdown) {
            (Some(_), Some(_)) => {
                return Err(FieldError {
                    field: "content_html",
                    message: "give content_html or content_markdown, not both".into(),
                });
            }
            (Some(h), None) => Body::Html(h),
            (None, Some(m)) => Body::Markdown(m),
            (None, None) => Body::Html(String::new()),
        };
        Ok(Draft {
            key: self.id,
            title: required(self.title, "title")?,
            category: required(self.category, "category")?,
            published: required(self.published, "published")?,
            updated: self.updated,
            author: self.author,
            summary: self.summary,
            body,
            link: self.link,
            image: self.image,
            tags: self.tags,
        })
    }

    /// The article as an item, through the gate, without touching the store.
    pub fn into_item(self, ing: &Ingest) -> Result<Item, FieldError> {
        self.into_draft()?.into_item(&ing.config, Source::Api)
    }

    /// The stored article in input form, so a PATCH can be applied to it.
    pub fn from_item(item: &Item) -> ArticleInput {
        ArticleInput {
            id: Some(item.key.clone()),
            title: Some(item.title.clone()),
            category: item.category.clone(),
            published: Some(item.published.to_rfc3339()),
            updated: Some(item.updated.to_rfc3339()),
            author: item.authors.first().map(|a| a.name.clone()),
            summary: item.summary.clone(),
            content_html: item.content_html.clone(),
            content_markdown: None,
            link: item.link.clone(),
            image: item.image.clone(),
            tags: item.tags.clone(),
        }
    }
}

/// What the API's writes need: the site's config, the store, and whom to tell of
/// a committed change (the renderer, which redoes the feeds it touched). Not the
/// running site: ingest knows nothing of caches, tasks or HTTP.
#[derive(Clone)]
pub struct Ingest {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub changed: Arc<dyn Fn(&Written) + Send + Sync>,
}

/// How an article write should treat an existing article with the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// POST: create; repeating the identical request is fine, a different one conflicts.
    Create,
    /// PUT/PATCH: create or replace.
    Replace,
}

fn article_id(ing: &Ingest, key: &str) -> String {
    format!("{}article/{key}", ing.config.tag_prefix())
}

fn breaking_id(ing: &Ingest, key: &str) -> String {
    format!("{}breaking/{key}", ing.config.tag_prefix())
}

/// Stores an article and queues its feeds. `path_key` is the id in the URL, if any.
pub async fn put_article(
    ing: &Ingest,
    mut input: ArticleInput,
    path_key: Option<&str>,
    mode: Mode,
) -> Result<(Item, Outcome), IngestError> {
    if let Some(k) = path_key {
        match &input.id {
            Some(id) if id != k => {
                return Err(FieldError {
                    field: "id",
                    message: format!("{id:?} differs from the id in the URL, {k:?}"),
                }
                .into());
            }
            _ => input.id = Some(k.to_owned()),
        }
    }
    let explicit_updated = input.updated.is_some();
    let mut item = input.into_draft()?.into_item(&ing.config, Source::Api)?;
    if mode == Mode::Create {
        return create_article(ing, item, explicit_updated).await;
    }
    let existing = ing.store.get(&item.id).await?;
    if let Some(old) = &existing {
        if old.kind != ItemKind::Article {
            return Err(not_an_article(&item));
        }
        // (An article stored before story prints were kept is the same.)
        if same_but_updated(&item, old) && !explicit_updated {
            item.updated = old.updated;
        } else if !explicit_updated {
            // A correction: readers see it updated in place, under the same id.
            item.updated = Utc::now().trunc_subsecs(0).max(item.published);
        }
    }
    let written = ing
        .store
        .upsert(std::slice::from_ref(&item), Ownership::Take)
        .await?;
    (ing.changed)(&written);
    Ok((item, written.outcomes[0]))
}

/// A POST: most often a new article, so it is written first and the stored
/// one read only when there was one (a repeat to answer with its date, or a
/// conflict to explain): a round trip less per new article. The store decides
/// a create atomically: of two concurrent POSTs of one id with different
/// content, the one that commits second gets a conflict.
async fn create_article(
    ing: &Ingest,
    mut item: Item,
    explicit_updated: bool,
) -> Result<(Item, Outcome), IngestError> {
    let written = ing
        .store
        .upsert(std::slice::from_ref(&item), Ownership::Create)
        .await?;
    let outcome = written.outcomes[0];
    if outcome != Outcome::Created {
        let Some(old) = ing.store.get(&item.id).await? else {
            return Err(conflict(&item.key));
        };
        if old.kind != ItemKind::Article {
            return Err(not_an_article(&item));
        }
        if outcome == Outcome::Conflict || !same_but_updated(&item, &old) {
            return Err(conflict(&item.key));
        }
        // The identical request again: answered with the stored date.
        if !explicit_updated {
            item.updated = old.updated;
        }
    }
    (ing.changed)(&written);
    Ok((item, outcome))
}

/// The same article but for its `updated` (and its story print, which an
/// article stored before prints were kept lacks).
fn same_but_updated(item: &Item, old: &Item) -> bool {
    Item {
        updated: old.updated,
        story: old.story.clone(),
        ..item.clone()
    } == *old
}

fn not_an_article(item: &Item) -> IngestError {
    IngestError::Conflict(format!("{:?} is not an article", item.key))
}

fn conflict(key: &str) -> IngestError {
    IngestError::Conflict(format!(
        "an article with id {key:?} exists with other content; PUT /api/v1/articles/{key} replaces it"
    ))
}

/// Applies a JSON merge patch (RFC 7396, top level) to a stored article.
pub async fn patch_article(
    ing: &Ingest,
    key: &str,
    patch: serde_json::Map<String, serde_json::Value>,
) -> Result<(Item, Outcome), IngestError> {
    let old = get_article(ing, key).await?;
    let mut merged = serde_json::to_value(ArticleInput::from_item(&old)).expect("serializes");
    let obj = merged.as_object_mut().expect("an object");
    if patch.contains_key("content_markdown") {
        obj.remove("content_html");
    }
    // Without an explicit `updated`, a patch that changes the article is a correction
    // dated now (put_article decides).
    if !patch.contains_key("updated") {
        obj.remove("updated");
    }
    for (k, v) in patch {
        if v.is_null() {
            obj.remove(&k)
        } else {
            obj.insert(k, v)
        };
    }
    let input: ArticleInput = serde_json::from_value(merged).map_err(|e| FieldError {
        field: "body",
        message: e.to_string(),
    })?;
    put_article(ing, input, Some(key), Mode::Replace).await
}

pub async fn get_article(ing: &Ingest, key: &str) -> Result<Item, IngestError> {
    check_key(key).map_err(|m| FieldError {
        field: "id",
        message: m.to_string(),
    })?;
    match ing.store.get(&article_id(ing, key)).await? {
        Some(item) if item.kind == ItemKind::Article => Ok(item),
        _ => Err(IngestError::NotFound("article", key.to_owned())),
    }
}

pub async fn delete_article(ing: &Ingest, key: &str) -> Result<(), IngestError> {
    let item = get_article(ing, key).await?;
    refuse_file_owned(ing, &item)?;
    withdraw(ing, &article_id(ing, key), "article", key).await
}

/// An item that a content file owns would come back at the next file sync; the
/// author withdraws it by deleting the file (or its ticker line) instead.
fn refuse_file_owned(ing: &Ingest, item: &Item) -> Result<(), IngestError> {
    match &item.source {
        Source::File(path) => Err(IngestError::Conflict(format!(
            "{:?} comes from the content file {path} (next to {}); delete it there, or the next file sync brings it back",
            item.key,
            ing.config.file.display()
        ))),
        _ => Ok(()),
    }
}

async fn withdraw(
    ing: &Ingest,
    id: &str,
    what: &'static str,
    key: &str,
) -> Result<(), IngestError> {
    match ing.store.delete(id, Utc::now().trunc_subsecs(0)).await? {
        Some(written) => {
            (ing.changed)(&written);
            Ok(())
        }
        None => Err(IngestError::NotFound(what, key.to_owned())),
    }
}

/// One ticker item as the API takes it: a local `date` and `time`, or a full `published`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakingInput {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub time: Option<String>,
    #[serde(default)]
    pub published: Option<String>,
    #[serde(default)]
    pub headline: Option<String>,
    #[serde(default)]
    pub link: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
}

impl BreakingInput {
    /// Checks and dates one item. Without an id, the key is the local date and time
    /// plus a short hash of the headline, so posting the same item twice makes one.
    pub fn into_item(self, ing: &Ingest) -> Result<Item, FieldError> {
        let tz = ing.config.site.timezone;
        let headline = required(self.headline, "headline")?;
        let published = match (self.published, self.date, self.time) {
            (Some(p), None, None) => localtime::parse_date(&p, tz).map_err(|e| FieldError {
                field: "published",
                message: e.to_string(),
            })?,
            (None, Some(d), Some(t)) => {
                let date = NaiveDate::parse_from_str(&d, "%Y-%m-%d").map_err(|_| FieldError {
                    field: "date",
                    message: format!("expected YYYY-MM-DD, got {d:?}"),
                })?;
                let time = NaiveTime::parse_from_str(&t, "%H:%M").map_err(|_| FieldError {
                    field: "time",
                    message: format!("expected HH:MM, got {t:?}"),
                })?;
                localtime::local_date_time(date, time, tz).map_err(|e| FieldError {
                    field: "time",
                    message: e.to_string(),
                })?
            }
            _ => {
                return Err(FieldError {
                    field: "published",
                    message: "give either published, or date and time".into(),
                });
            }
        };
        let key = match self.id {
            Some(id) => {
                check_key(&id).map_err(|m| FieldError {
                    field: "id",
                    message: m.to_string(),
                })?;
                id
            }
            None => {
                let local = localtime::in_zone(published, tz);
                format!(
                    "{}-{}",
                    local.format("%Y-%m-%d-%H%M"),
                    &crate::hash::hash_hex(headline.trim().as_bytes())[..8]
                )
            }
        };
        let t = TickerItem {
            key,
            headline: headline.trim().to_owned(),
            published,
            link: self.link,
            category: self.category,
            line: 0,
        };
        breaking_item(&ing.config, t, Source::Api)
    }
}

/// Stores ticker items, all or none: one bad item refuses the batch, naming it.
pub async fn add_breaking(
    ing: &Ingest,
    inputs: Vec<BreakingInput>,
) -> Result<Vec<(Item, Outcome)>, IngestError> {
    let mut items = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.into_iter().enumerate() {
        items.push(input.into_item(ing).map_err(|e| {
            if i == 0 {
                e
            } else {
                FieldError {
                    field: e.field,
                    message: format!("item {i}: {}", e.message),
                }
            }
        })?);
    }
    let written = ing.store.upsert(&items, Ownership::Take).await?;
    (ing.changed)(&written);
    Ok(items.into_iter().zip(written.outcomes).collect())
}

pub async fn delete_breaking(ing: &Ingest, key: &str) -> Result<(), IngestError> {
    let id = breaking_id(ing, key);
    match ing.store.get(&id).await? {
        Some(item) if item.kind == ItemKind::Breaking => {
            refuse_file_owned(ing, &item)?;
            withdraw(ing, &id, "breaking item", key).await
        }
        _ => Err(IngestError::NotFound("breaking item", key.to_owned())),
    }
}
