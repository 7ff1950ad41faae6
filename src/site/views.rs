//! Views of feeds ([`crate::view`]) and the embeddable widget, rendered when
//! asked for from what the feed's subscription document shows now, and kept
//! (a bounded number of them) until one of the feed's stored feeds changes.
//! The plain feed keeps its pre-rendered path: a view costs a store read and
//! a render once per change, then a lookup.

use super::Site;
use super::memo::OnDemandError;
use crate::cache::Entry;
use crate::lock::lock;
use crate::model::{FeedId, Format};
use crate::render::{self, FeedData, widget};
use crate::view::Query;
use hyper::header::{HeaderName, HeaderValue};
use std::sync::Arc;

/// Views kept rendered; more are rendered again on demand.
pub(super) const VIEWS: usize = 1024;

/// And at most this many bytes of them (uncompressed).
pub(super) const VIEW_BYTES: usize = 32 << 20;

/// What is asked of a feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// The feed's own document in a format, its items selected.
    Feed(Format),
    /// The widget's page, for an `<iframe>` (`/embed/{feed}.html`).
    EmbedPage,
    /// The widget's data, for its script (`/embed/{feed}.json`).
    EmbedData,
}

/// A view of a served feed, in a shape.
#[derive(Debug, Clone)]
pub struct Ask {
    pub feed: FeedId,
    pub shape: Shape,
    pub query: Query,
}

impl Ask {
    fn path(&self) -> String {
        match self.shape {
            Shape::Feed(format) => render::feed_path(&self.feed, format),
            Shape::EmbedPage => widget::path(&self.feed, "html"),
            Shape::EmbedData => widget::path(&self.feed, "json"),
        }
    }

    /// The view's query in its one spelling: a feed's self link carries it.
    fn canonical(&self) -> String {
        self.query.canonical(!matches!(self.shape, Shape::Feed(_)))
    }

    /// One key per document, however its query was spelled.
    fn key(&self) -> String {
        format!("{}?{}", self.path(), self.canonical())
    }
}

impl Site {
    /// The sum of the versions of a feed's stored feeds, as rendered: a
    /// change to any of them makes a new sum, and what was rendered from
    /// the old one is not served again.
    pub(super) fn rendered_version(&self, feed: &FeedId) -> i64 {
        let members = self.members(feed);
        let rendered = lock(&self.rendered);
        members
            .iter()
            .map(|m| rendered.get(m).copied().unwrap_or(0))
            .sum()
    }

    /// The view, if it is kept rendered for the feed as it is: answered
    /// without leaving the connection's thread.
    pub fn view_kept(&self, ask: &Ask) -> Option<Arc<Entry>> {
        let version = self.rendered_version(&ask.feed);
        self.views.kept(&ask.key(), version).flatten()
    }

    /// The view, kept or rendered now.
    pub async fn view(&self, ask: &Ask) -> Result<Arc<Entry>, OnDemandError> {
        let version = self.rendered_version(&ask.feed);
        let entry = self
            .views
            .get(ask.key(), version, &self.renders, || async {
                self.metrics.on_demand_renders.inc();
                let versions = self.store.versions().await?;
                let current = self.current(&ask.feed, &versions).await?;
                let (config, ask) = (self.config(), ask.clone());
                let entry = tokio::task::spawn_blocking(move || {
                    let items = ask.query.view.apply(&current.items);
                    let query = ask.canonical();
                    let data = FeedData {
                        items: &items,
                        ..current.data(&config, &ask.feed, &query)
                    };
                    render_view(&data, ask.shape, ask.query.look)
                })
                .await
                .expect("rendering does not panic");
                Ok(Some(Arc::new(entry)))
            })
            .await?;
        Ok(entry.expect("a view always renders"))
    }
}

fn render_view(data: &FeedData<'_>, shape: Shape, look: crate::view::Look) -> Entry {
    let config = data.config;
    let max_age = config.site.ttl * 60;
    let modified = data.modified.or_else(|| data.last_modified());
    match shape {
        Shape::Feed(format) => Entry::from(render::feed_document(data, format)),
        Shape::EmbedPage => Entry::new(
            Format::Html.content_type(),
            widget::page(data, look),
            modified,
            max_age,
            false,
            false,
            None,
        )
        .with_header(
            HeaderName::from_static("content-security-policy"),
            page_policy(&config.embed.frame_ancestors),
        )
        .with_header(
            HeaderName::from_static("x-content-type-options"),
            HeaderValue::from_static("nosniff"),
        ),
        Shape::EmbedData => Entry::new(
            "application/json",
            widget::data(data, look),
            modified,
            max_age,
            true,
            false,
            None,
        ),
    }
}

/// The widget page's policy: its own stylesheet and script, images from the
/// web, nothing else; framed by the sites `embed.frame-ancestors` names, or
/// by any site.
fn page_policy(ancestors: &[String]) -> HeaderValue {
    let mut policy = String::from(
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src http: https: data:; \
         base-uri 'none'; form-action 'none'",
    );
    if !ancestors.is_empty() {
        policy.push_str("; frame-ancestors ");
        policy.push_str(&ancestors.join(" "));
    }
    // The config checked each source is printable ASCII.
    HeaderValue::from_str(&policy).unwrap_or(HeaderValue::from_static("default-src 'none'"))
}

impl Site {
    /// The first `n` items a feed's subscription document shows now, as it
    /// shows them (a timeline's copies of one story merged): what the
    /// console previews.
    pub async fn latest(
        &self,
        feed: &FeedId,
        n: usize,
    ) -> Result<Vec<crate::model::Item>, crate::store::StoreError> {
        let versions = self.store.versions().await?;
        let mut items = self.current(feed, &versions).await?.items;
        items.truncate(n);
        Ok(items)
    }
}
