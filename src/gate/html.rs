//! HTML through the gate: bodies sanitized under one ammonia allow-list,
//! relative URLs made absolute against the base the document gives them.

use super::{MAX_HTML, strip_forbidden, xml_char};
use std::borrow::Cow;

/// The allow-list: ammonia's defaults (which already exclude script, style,
/// iframe, object, embed, form and every `on*` attribute), with URL schemes cut
/// to http, https and mailto, and `srcset` on images with each of its URLs
/// resolved and checked as `src` is. (An ammonia `Builder` cannot be cloned,
/// and the base differs per item, so each call builds one: a few set inserts
/// beside the parse.)
fn policy(base: Option<url::Url>) -> ammonia::Builder<'static> {
    let mut b = ammonia::Builder::default();
    b.url_schemes(["http", "https", "mailto"].into())
        .link_rel(Some("noopener noreferrer"))
        .strip_comments(true)
        .add_tag_attributes("img", ["srcset"])
        .add_tag_attributes("source", ["srcset"])
        .url_relative(match base.clone() {
            Some(base) => ammonia::UrlRelative::RewriteWithBase(base),
            None => ammonia::UrlRelative::Deny,
        })
        .attribute_filter(move |_, attribute, value| match attribute {
            "srcset" => srcset(value, base.as_ref()).map(Cow::Owned),
            _ => Some(Cow::Borrowed(value)),
        });
    b
}

/// A `srcset` with every candidate's URL made absolute against `base` and
/// kept only when http(s); `None` when none is left.
fn srcset(value: &str, base: Option<&url::Url>) -> Option<String> {
    let candidates: Vec<String> = value
        .split(',')
        .filter_map(|candidate| {
            let mut parts = candidate.split_whitespace();
            let url = parts.next()?;
            let url = match base {
                Some(base) => base.join(url).ok()?,
                None => url::Url::parse(url).ok()?,
            };
            if !matches!(url.scheme(), "http" | "https") {
                return None;
            }
            let descriptor: Vec<&str> = parts.collect();
            Some(if descriptor.is_empty() {
                url.to_string()
            } else {
                format!("{url} {}", descriptor.join(" "))
            })
        })
        .collect();
    (!candidates.is_empty()).then(|| candidates.join(", "))
}

/// Sanitizes an HTML fragment under the one policy. Relative URLs are made
/// absolute against `base` (where the document says the fragment is: its
/// `xml:base` in scope, else the item's page); without a base they are
/// removed, since a reader would resolve them against the feed, not the
/// article.
pub fn sanitize_html(html: &str, base: Option<&str>) -> String {
    let html = strip_forbidden(crate::depth::cut_html(
        crate::text::truncate_bytes(html, MAX_HTML),
        crate::depth::MAX_FRAGMENT,
    ));
    let clean = policy(base.and_then(|b| url::Url::parse(b).ok()))
        .clean(&html)
        .to_string();
    // A character reference (`&#x1;`) decodes to the character itself, which the
    // serializer then writes raw: what XML forbids is removed once more.
    if clean.chars().all(xml_char) {
        clean
    } else {
        strip_forbidden(&clean)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srcset_candidates_are_resolved_and_checked() {
        let base = url::Url::parse("http://host/blog/posts/").unwrap();
        assert_eq!(
            srcset("a.jpg 1x, /b.jpg 2x, javascript:x 3x", Some(&base)).as_deref(),
            Some("http://host/blog/posts/a.jpg 1x, http://host/b.jpg 2x")
        );
        assert_eq!(srcset("javascript:x", Some(&base)), None);
        let out = sanitize_html(
            r#"<img src="p.jpg" srcset="p-2.jpg 2x, data:x 3x">"#,
            Some("http://host/blog/posts/"),
        );
        assert!(
            out.contains(r#"src="http://host/blog/posts/p.jpg""#),
            "{out}"
        );
        assert!(
            out.contains(r#"srcset="http://host/blog/posts/p-2.jpg 2x""#),
            "{out}"
        );
    }
}
