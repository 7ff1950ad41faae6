//! A reader's selection of a feed, named in the query of its URL
//! (`?limit=5&filter=morocco&filterout=sport`), and how an embedded widget
//! shows it (`theme`, `summary`, `image`, `time`). A view is a subset of the
//! feed's document, in its order with its ids: it selects, never re-sorts
//! or rewrites, so a reader following a view and the full feed sees the same
//! items as the same items.
//!
//! Everything here comes from whoever asks, so it is bounded: values of at
//! most [`MAX_VALUE`] characters, at most [`MAX_TERMS`] of each repeatable
//! parameter. The query is put back in one canonical spelling, which keys the
//! rendered views and is their self link: two spellings of one view are one
//! document.

use crate::model::Item;
use chrono::{DateTime, SecondsFormat, Utc};

/// The longest value a parameter may have, in characters.
pub const MAX_VALUE: usize = 200;

/// The most values a repeatable parameter (`filter`, `filterout`,
/// `category`) may have.
pub const MAX_TERMS: usize = 16;

/// Which items of a feed a view shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct View {
    /// At most this many (after the filters), from the newest.
    pub limit: Option<usize>,
    /// Items naming any of these words or phrases (lower case, spaces made
    /// one), in their title, summary or categories.
    pub filter: Vec<String>,
    /// Items naming none of these.
    pub filterout: Vec<String>,
    /// Items in any of these categories (their own, a tag, or the local
    /// category their source feeds).
    pub category: Vec<String>,
    /// Items published at this time or after.
    pub since: Option<DateTime<Utc>>,
}

/// How a widget shows a view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Look {
    pub theme: Theme,
    pub summary: bool,
    pub image: bool,
    pub time: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    Light,
    Dark,
    /// The reader's own preference (`prefers-color-scheme`).
    Auto,
}

impl Theme {
    pub fn as_str(self) -> &'static str {
        match self {
            Theme::Light => "light",
            Theme::Dark => "dark",
            Theme::Auto => "auto",
        }
    }
}

impl Default for Look {
    fn default() -> Self {
        Look {
            theme: Theme::Auto,
            summary: false,
            image: false,
            time: true,
        }
    }
}

/// A parameter that names a view but cannot be one: which, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("parameter `{param}`: {message}")]
pub struct ViewError {
    pub param: &'static str,
    pub message: String,
}

fn bad(param: &'static str, message: impl Into<String>) -> ViewError {
    ViewError {
        param,
        message: message.into(),
    }
}

/// A view and a look read from a URL's query. Parameters it does not know are
/// left alone, as caches and link trackers expect (`utm_source`, `_=`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub view: View,
    pub look: Look,
    /// Whether any parameter of a view was given: without one the URL is the
    /// plain document.
    pub selects: bool,
    /// Whether any parameter of a look was given.
    pub styles: bool,
}

impl Query {
    /// The parameters of a view in `query`, and of a look when `with_look`
    /// (a widget's address; a feed's has no look, and ignores its names).
    pub fn parse(query: &str, with_look: bool) -> Result<Query, ViewError> {
        let mut q = Query::default();
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let param: &'static str = match name.as_ref() {
                "limit" => "limit",
                "filter" => "filter",
                "filterout" => "filterout",
                "category" => "category",
                "since" => "since",
                "theme" if with_look => "theme",
                "summary" if with_look => "summary",
                "image" if with_look => "image",
                "time" if with_look => "time",
                _ => continue,
            };
            if value.chars().count() > MAX_VALUE {
                return Err(bad(
                    param,
                    format!("a value is at most {MAX_VALUE} characters long"),
                ));
            }
            if value.chars().any(char::is_control) {
                return Err(bad(param, "a value holds no control characters"));
            }
            let value = value.trim();
            // An empty value is no value (a form's empty field), but for a
            // switch, where naming it is saying yes (`?summary`).
            if value.is_empty() && !matches!(param, "summary" | "image" | "time") {
                continue;
            }
            match param {
                "limit" => {
                    let n = value
                        .parse::<usize>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| bad(param, "a whole number from 1 is expected"))?;
                    q.view.limit = Some(n);
                }
                "filter" | "filterout" | "category" => {
                    let term = words(value);
                    let list = match param {
                        "filter" => &mut q.view.filter,
                        "filterout" => &mut q.view.filterout,
                        _ => &mut q.view.category,
                    };
                    if list.len() == MAX_TERMS {
                        return Err(bad(param, format!("at most {MAX_TERMS} values")));
                    }
                    if !list.contains(&term) {
                        list.push(term);
                    }
                }
                "since" => {
                    let t = DateTime::parse_from_rfc3339(value).map_err(|_| {
                        bad(param, "an RFC 3339 time is expected (2026-03-01T08:00:00Z)")
                    })?;
                    q.view.since = Some(t.with_timezone(&Utc));
                }
                "theme" => {
                    q.look.theme = match value {
                        "light" => Theme::Light,
                        "dark" => Theme::Dark,
                        "auto" => Theme::Auto,
                        _ => return Err(bad(param, "light, dark or auto is expected")),
                    };
                }
                _ => {
                    let on = match value {
                        "" | "1" | "true" | "yes" | "on" => true,
                        "0" | "false" | "no" | "off" => false,
                        _ => return Err(bad(param, "1 or 0 is expected")),
                    };
                    match param {
                        "summary" => q.look.summary = on,
                        "image" => q.look.image = on,
                        _ => q.look.time = on,
                    }
                }
            }
            if matches!(param, "theme" | "summary" | "image" | "time") {
                q.styles = true;
            } else {
                q.selects = true;
            }
        }
        q.view.filter.sort();
        q.view.filterout.sort();
        q.view.category.sort();
        Ok(q)
    }

    /// The view's query in its one spelling: parameters in a fixed order,
    /// repeated values sorted, a look's parameters only where they differ
    /// from the default. Empty for the plain document.
    pub fn canonical(&self, with_look: bool) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        let v = &self.view;
        if let Some(n) = v.limit {
            out.append_pair("limit", &n.to_string());
        }
        for c in &v.category {
            out.append_pair("category", c);
        }
        for f in &v.filter {
            out.append_pair("filter", f);
        }
        for f in &v.filterout {
            out.append_pair("filterout", f);
        }
        if let Some(t) = v.since {
            out.append_pair("since", &t.to_rfc3339_opts(SecondsFormat::AutoSi, true));
        }
        if with_look {
            let (l, d) = (self.look, Look::default());
            if l.theme != d.theme {
                out.append_pair("theme", l.theme.as_str());
            }
            for (name, on, default) in [
                ("summary", l.summary, d.summary),
                ("image", l.image, d.image),
                ("time", l.time, d.time),
            ] {
                if on != default {
                    out.append_pair(name, if on { "1" } else { "0" });
                }
            }
        }
        out.finish()
    }
}

impl View {
    /// The items of `items` (a feed's document, in its order) this view
    /// shows, in the same order.
    pub fn apply(&self, items: &[Item]) -> Vec<Item> {
        let limit = self.limit.unwrap_or(usize::MAX);
        items
            .iter()
            .filter(|i| self.shows(i))
            .take(limit)
            .cloned()
            .collect()
    }

    fn shows(&self, item: &Item) -> bool {
        if self.since.is_some_and(|s| item.published < s) {
            return false;
        }
        if !self.category.is_empty() {
            let origin = item.origin.iter().flat_map(|o| &o.categories);
            let mut cats = item.category.iter().chain(&item.tags).chain(origin);
            if !cats.any(|c| self.category.contains(&words(c))) {
                return false;
            }
        }
        if self.filter.is_empty() && self.filterout.is_empty() {
            return true;
        }
        let text = haystack(item);
        let names = |t: &String| contains_words(&text, t);
        (self.filter.is_empty() || self.filter.iter().any(names))
            && !self.filterout.iter().any(names)
    }
}

/// What a filter reads of an item: its title, summary and categories, in
/// lower case with spaces made one.
fn haystack(item: &Item) -> String {
    let mut text = String::with_capacity(256);
    for part in std::iter::once(&item.title)
        .chain(&item.summary)
        .chain(&item.category)
        .chain(&item.tags)
    {
        text.push_str(part);
        text.push(' ');
    }
    words(&text)
}

/// Lower case, one space between words, none at the ends.
fn words(s: &str) -> String {
    s.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `term` is in `text` as whole words: `war` names "the war ends"
/// but not "software", `new york` names "New York's mayor".
fn contains_words(text: &str, term: &str) -> bool {
    text.match_indices(term).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + term.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(title: &str, summary: Option<&str>, category: &str) -> Item {
        let mut i = Item::sample(title, chrono::Utc::now());
        i.summary = summary.map(Into::into);
        i.category = Some(category.into());
        i
    }

    #[test]
    fn filters_match_whole_words_in_any_case_and_keep_the_order() {
        let items = [
            item("Morocco wins the cup", None, "sports"),
            item("New software for schools", Some("The WAR on paper"), "tech"),
            item("Rabat: rain", None, "morocco"),
            item("Markets", Some("Oil in New  York"), "economy"),
        ];
        let titles = |q: &str| -> Vec<String> {
            let q = Query::parse(q, false).unwrap();
            q.view.apply(&items).into_iter().map(|i| i.title).collect()
        };
        assert_eq!(
            titles("filter=MOROCCO"),
            ["Morocco wins the cup", "Rabat: rain"]
        );
        assert_eq!(titles("filter=war"), ["New software for schools"]);
        assert_eq!(titles("filter=soft"), Vec::<String>::new());
        assert_eq!(titles("filter=new+york"), ["Markets"]);
        assert_eq!(titles("filter=morocco&filterout=cup"), ["Rabat: rain"]);
        assert_eq!(
            titles("filterout=morocco&limit=1"),
            ["New software for schools"]
        );
        assert_eq!(titles("category=Tech&category=economy").len(), 2);
        assert_eq!(
            titles("utm_source=x").len(),
            4,
            "unknown parameters are ignored"
        );
    }

    #[test]
    fn malformed_parameters_are_named() {
        for (q, param) in [
            ("limit=0", "limit"),
            ("limit=abc", "limit"),
            ("limit=-3", "limit"),
            ("since=yesterday", "since"),
            ("filter=%01", "filter"),
            ("theme=pink", "theme"),
            ("summary=maybe", "summary"),
        ] {
            assert_eq!(Query::parse(q, true).unwrap_err().param, param, "{q}");
        }
        let long = format!("filter={}", "a".repeat(MAX_VALUE + 1));
        assert_eq!(Query::parse(&long, true).unwrap_err().param, "filter");
        let many: Vec<String> = (0..=MAX_TERMS).map(|i| format!("filter=w{i}")).collect();
        assert_eq!(
            Query::parse(&many.join("&"), true).unwrap_err().param,
            "filter"
        );
    }

    #[test]
    fn one_spelling_per_view() {
        let a = Query::parse(
            "filter=B&filter=a&limit=5&since=2026-03-01T09:00:00%2B01:00&x=1&theme=x",
            false,
        )
        .unwrap();
        let b = Query::parse(
            "since=2026-03-01T08:00:00Z&limit=5&filter=a&filter=b&filter=",
            false,
        )
        .unwrap();
        assert_eq!(a.canonical(false), b.canonical(false));
        assert_eq!(
            a.canonical(false),
            "limit=5&filter=a&filter=b&since=2026-03-01T08%3A00%3A00Z"
        );
        assert!(a.selects && !a.styles);
        let look = Query::parse("theme=dark&summary&time=1", true).unwrap();
        assert_eq!(look.canonical(true), "theme=dark&summary=1");
        assert_eq!(look.canonical(false), "");
        assert!(!look.selects && look.styles);
    }
}
