//! HTML through the gate: bodies sanitized under one ammonia allow-list,
//! relative URLs made absolute against the base the document gives them;
//! and text read out of HTML as a browser shows it.

use super::{MAX_HTML, strip_forbidden, xml_char};
use ego_tree::iter::Edge;
use scraper::{ElementRef, Node};
use std::borrow::Cow;
use std::sync::LazyLock;

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
        truncate_bytes(html, MAX_HTML),
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

/// At most `max` bytes of `s`, cut at a character boundary.
pub fn truncate_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The text of an HTML fragment as a browser shows it, through html5ever (a
/// `>` inside an attribute or a comment is not text): no comments, nothing of
/// `script`, `style`, `template` or `noscript`, and a space where a block or a
/// line ends, so words of two paragraphs do not run together. With
/// `first_paragraph`, only the first non-empty `<p>`, else the whole fragment.
pub fn html_text(html: &str, first_paragraph: bool) -> String {
    let doc =
        scraper::Html::parse_fragment(crate::depth::cut_html(html, crate::depth::MAX_FRAGMENT));
    static P: LazyLock<scraper::Selector> =
        LazyLock::new(|| scraper::Selector::parse("p").expect("a valid selector"));
    if first_paragraph {
        for p in doc.select(&P) {
            let text = visible_text(p);
            if !text.trim().is_empty() {
                return text;
            }
        }
    }
    visible_text(doc.root_element())
}

/// Elements whose content a browser does not show as text.
const HIDDEN: &[&str] = &["script", "style", "template", "noscript", "head", "title"];

/// Elements that end a line where they open and close.
const BLOCKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "caption",
    "dd",
    "details",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "ul",
];

/// The text under `el`, walked in document order without recursion.
fn visible_text(el: ElementRef<'_>) -> String {
    let mut out = String::new();
    let mut hidden = 0usize;
    for edge in el.traverse() {
        let (node, opening) = match edge {
            Edge::Open(node) => (node, true),
            Edge::Close(node) => (node, false),
        };
        match node.value() {
            Node::Element(e) if HIDDEN.contains(&e.name()) => {
                if opening {
                    hidden += 1;
                } else {
                    hidden -= 1;
                }
            }
            Node::Element(e) if hidden == 0 && BLOCKS.contains(&e.name()) => {
                if !out.ends_with(' ') && !out.is_empty() {
                    out.push(' ');
                }
            }
            Node::Text(t) if hidden == 0 && opening => out.push_str(t),
            _ => {}
        }
    }
    let end = out.trim_end().len();
    out.truncate(end);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_what_a_browser_shows() {
        assert_eq!(
            html_text(r#"<p title="a > b">A &amp; <b>B</b></p><p>C</p>"#, true),
            "A & B"
        );
        assert_eq!(html_text("<!-- > -->x<p></p>", false).trim(), "x");
        // No script, style, template or noscript; no comments.
        let text = html_text(
            "<p>The plan.<script>alert('x1')</script></p><style>p{}</style><template>t</template>\
             <noscript>n</noscript><!-- c -->",
            false,
        );
        assert_eq!(text.trim(), "The plan.");
        // Blocks and breaks end words.
        let text = html_text(
            "<p>One</p><p>two<br>three</p><ul><li>four</li><li>five</li></ul>",
            false,
        );
        assert_eq!(
            text.split_whitespace().collect::<Vec<_>>(),
            ["One", "two", "three", "four", "five"]
        );
        // Inline markup does not.
        assert_eq!(
            html_text("<p>un<b>break</b>able</p>", false).trim(),
            "unbreakable"
        );
    }

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
