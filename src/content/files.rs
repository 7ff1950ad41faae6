//! The content directory next to `newswire.toml`: `articles/*.md` (or `.html`) with
//! TOML front matter, and `breaking/YYYY-MM-DD.txt` ticker lists.
//!
//! Loading never stops at the first problem: every file that reads well becomes
//! items, every one that does not becomes a [`Diagnostic`] and is listed in
//! [`Loaded::failed`], so the store keeps its last good version instead of
//! withdrawing it.

use super::Diagnostic;
use super::article::{Body, Draft};
use super::ticker;
use crate::config::{Config, line_of};
use crate::gate::{FieldError, Trust};
use crate::model::{Item, ItemKind, Source};
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Default)]
pub struct Loaded {
    pub items: Vec<Item>,
    pub diagnostics: Vec<Diagnostic>,
    /// Sources (files) that could not be read completely.
    pub failed: Vec<Source>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    id: Option<String>,
    title: String,
    date: String,
    updated: Option<String>,
    category: String,
    author: Option<String>,
    summary: Option<String>,
    link: Option<String>,
    image: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
}

pub const ARTICLES_DIR: &str = "articles";
pub const BREAKING_DIR: &str = "breaking";

pub fn load(config: &Config) -> Loaded {
    let root = config.root();
    let mut loaded = Loaded::default();
    for path in list(
        &root.join(ARTICLES_DIR),
        &["md", "markdown", "html"],
        &mut loaded,
    ) {
        let source = source_of(&root, &path);
        match read(&path)
            .and_then(|text| article(config, &path, &text, source.clone()).map_err(|d| vec![d]))
        {
            Ok(item) => loaded.items.push(item),
            Err(diags) => fail(&mut loaded, &path, source, diags),
        }
    }
    for path in list(&root.join(BREAKING_DIR), &["txt"], &mut loaded) {
        let source = source_of(&root, &path);
        let day = path
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(ticker::day_of_file);
        let Some(day) = day else {
            fail(
                &mut loaded,
                &path,
                source,
                vec![Diagnostic::at(
                    1,
                    "ticker file name must be the list's date, YYYY-MM-DD.txt",
                )],
            );
            continue;
        };
        let text = match read(&path) {
            Ok(t) => t,
            Err(d) => {
                fail(&mut loaded, &path, source, d);
                continue;
            }
        };
        let (items, mut diags) = ticker::parse(&text, day, config.site.timezone);
        for t in items {
            let line = t.line;
            match breaking_item(config, t, source.clone()) {
                Ok(item) => loaded.items.push(item),
                Err(e) => diags.push(Diagnostic::at(line, e.to_string())),
            }
        }
        if !diags.is_empty() {
            fail(&mut loaded, &path, source, diags);
        }
    }
    loaded
}

/// A ticker item as a feed item, through the gate. One without a page of its own
/// links to its anchor in the ticker of its day (`/breaking/2026-02-01.html`), a
/// page that stays, unlike the breaking feed's page, which moves on with the
/// ticker. It has no body: its headline is all there is, and repeating it as a
/// description would show readers the same line twice.
pub fn breaking_item(
    config: &Config,
    t: ticker::TickerItem,
    source: Source,
) -> Result<Item, FieldError> {
    if let Some(c) = &t.category
        && config.category(c).is_none()
    {
        return Err(FieldError::new(
            "category",
            format!("unknown category {c:?}"),
        ));
    }
    let link = t.link.unwrap_or_else(|| {
        format!(
            "{}{}#{}",
            config.feeds_base(),
            ticker_day_path(
                crate::localtime::in_zone(t.published, config.site.timezone).date_naive()
            ),
            crate::model::anchor(&t.key)
        )
    });
    let item = Item {
        id: format!("{}breaking/{}", config.tag_prefix(), t.key),
        key: t.key,
        kind: ItemKind::Breaking,
        source,
        category: t.category,
        title: t.headline,
        link: Some(link),
        summary: None,
        content_html: None,
        published: t.published,
        updated: t.published,
        authors: Vec::new(),
        tags: Vec::new(),
        image: None,
        origin: None,
        story: None,
    };
    crate::gate::admit(item, Trust::FirstParty, chrono::Utc::now()).map_err(|e| match e.field {
        "title" => FieldError::new("headline", e.message),
        _ => e,
    })
}

/// The page of one day's ticker, in the site's zone.
pub fn ticker_day_path(day: chrono::NaiveDate) -> String {
    format!("/breaking/{}.html", day.format("%Y-%m-%d"))
}

/// Reads one article file. `Err` carries the file:line problem.
pub fn article(
    config: &Config,
    path: &Path,
    text: &str,
    source: Source,
) -> Result<Item, Diagnostic> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (front, body, _) = split_front_matter(text).map_err(|(line, m)| Diagnostic::at(line, m))?;
    let fm: FrontMatter = toml::from_str(front).map_err(|e| {
        let line = e.span().map(|s| line_of(front, s.start)).unwrap_or(1) + 1;
        Diagnostic::at(line, format!("front matter: {}", e.message()))
    })?;
    let key = fm
        .id
        .or_else(|| path.file_stem().and_then(|s| s.to_str()).map(str::to_owned));
    let html = path.extension().is_some_and(|e| e == "html");
    let draft = Draft {
        key,
        title: fm.title,
        category: fm.category,
        published: fm.date,
        updated: fm.updated,
        author: fm.author,
        summary: fm.summary,
        body: if html {
            Body::Html(body.to_owned())
        } else {
            Body::Markdown(body.to_owned())
        },
        link: fm.link,
        image: fm.image,
        tags: fm.tags,
    };
    draft.into_item(config, source).map_err(|e| {
        let name = if e.field == "published" {
            "date"
        } else {
            e.field
        };
        let line = front
            .lines()
            .position(|l| l.trim_start().starts_with(name))
            .map(|i| i + 2)
            .unwrap_or(1);
        Diagnostic::at(line, e.to_string().replacen("published", "date", 1))
    })
}

/// `+++\n<toml>\n+++\n<body>` -> (toml, body, first line of body).
fn split_front_matter(text: &str) -> Result<(&str, &str, usize), (usize, String)> {
    let Some(rest) = text
        .strip_prefix("+++")
        .and_then(|r| r.strip_prefix('\n').or_else(|| r.strip_prefix("\r\n")))
    else {
        return Err((
            1,
            "expected front matter: a first line of exactly +++".into(),
        ));
    };
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "+++" {
            let front = &rest[..offset];
            let body = &rest[offset + line.len()..];
            return Ok((front, body, front.lines().count() + 3));
        }
        offset += line.len();
    }
    Err((1, "front matter is not closed: no second +++ line".into()))
}

fn list(dir: &Path, extensions: &[&str], loaded: &mut Loaded) -> Vec<PathBuf> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            loaded
                .diagnostics
                .push(Diagnostic::at(0, format!("cannot list: {e}")).in_file(dir.to_owned()));
            return Vec::new();
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| extensions.contains(&e))
        })
        .collect();
    paths.sort();
    paths
}

fn read(path: &Path) -> Result<String, Vec<Diagnostic>> {
    let bytes =
        std::fs::read(path).map_err(|e| vec![Diagnostic::at(0, format!("cannot read: {e}"))])?;
    String::from_utf8(bytes).map_err(|e| {
        let line = line_of(
            &String::from_utf8_lossy(&e.as_bytes()[..e.utf8_error().valid_up_to()]),
            usize::MAX,
        );
        vec![Diagnostic::at(line, "not UTF-8 text")]
    })
}

fn source_of(root: &Path, path: &Path) -> Source {
    let rel = path.strip_prefix(root).unwrap_or(path);
    Source::File(rel.to_string_lossy().replace('\\', "/"))
}

fn fail(loaded: &mut Loaded, path: &Path, source: Source, diags: Vec<Diagnostic>) {
    loaded
        .diagnostics
        .extend(diags.into_iter().map(|d| d.in_file(path.to_owned())));
    if !loaded.failed.contains(&source) {
        loaded.failed.push(source);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_split_reports_unclosed() {
        assert_eq!(
            split_front_matter("+++\na = 1\n+++\nbody\n").unwrap(),
            ("a = 1\n", "body\n", 4)
        );
        assert!(split_front_matter("+++\na = 1\n").is_err());
        assert!(split_front_matter("title: x\n").is_err());
    }
}
