//! HTML through the gate: bodies sanitized under one ammonia allow-list,
//! relative URLs made absolute against the base the document gives them.

use super::{MAX_HTML, strip_forbidden, without_forbidden, xml_clean};
use std::borrow::Cow;

/// The allow-list: ammonia's defaults (which already exclude script, style,
/// iframe, object, embed, form and every `on*` attribute), with URL schemes cut
/// to http, https and mailto, and `srcset` on images with each of its URLs
/// resolved and checked as `src` is. Relative URLs are resolved against the
/// fragment's base, which differs per item: it is set on the thread's one
/// builder before each clean ([`sanitize_html`]), and `srcset`'s filter reads
/// it from [`BASE`]. (An ammonia `Builder` cannot be cloned, and making one
/// per item, its tag and attribute sets filled and dropped, was a tenth of
/// the sanitizer's time.)
fn policy() -> ammonia::Builder<'static> {
    let mut b = ammonia::Builder::default();
    b.url_schemes(["http", "https", "mailto"].into())
        .link_rel(Some("noopener noreferrer"))
        .strip_comments(true)
        .add_tag_attributes("img", ["srcset"])
        .add_tag_attributes("source", ["srcset"])
        .attribute_filter(|_, attribute, value| match attribute {
            "srcset" => BASE
                .with_borrow(|base| srcset(value, base.as_ref()))
                .map(Cow::Owned),
            _ => Some(Cow::Borrowed(value)),
        });
    b
}

thread_local! {
    /// This thread's sanitizer (see [`policy`]).
    static POLICY: std::cell::RefCell<ammonia::Builder<'static>> =
        std::cell::RefCell::new(policy());
    /// The base of the fragment being cleaned on this thread.
    static BASE: std::cell::RefCell<Option<url::Url>> = const { std::cell::RefCell::new(None) };
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
    let html = without_forbidden(crate::depth::cut_html(
        crate::text::truncate_bytes(html, MAX_HTML),
        crate::depth::MAX_FRAGMENT,
    ));
    let base = base.and_then(|b| url::Url::parse(b).ok());
    let clean = POLICY.with_borrow_mut(|policy| {
        policy.url_relative(match base.clone() {
            Some(base) => ammonia::UrlRelative::RewriteWithBase(base),
            None => ammonia::UrlRelative::Deny,
        });
        BASE.set(base);
        // Written straight into the string's buffer: `to_string` serialized
        // into a buffer of its own, then copied it through a formatter.
        let mut out = Vec::with_capacity(html.len());
        // A `Vec` takes every write, and html5ever writes UTF-8.
        let _ = policy.clean(&html).write_to(&mut out);
        String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    });
    // A character reference (`&#x1;`) decodes to the character itself, which the
    // serializer then writes raw: what XML forbids is removed once more.
    if xml_clean(&clean) {
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
        // The thread's sanitizer takes each call's base, never the last one's.
        let out = sanitize_html(r#"<img src="p.jpg" srcset="p-2.jpg 2x">"#, None);
        assert_eq!(out, "<img>");
        let out = sanitize_html(r#"<a href="x">x</a>"#, Some("https://other.example/"));
        assert!(out.contains(r#"href="https://other.example/x""#), "{out}");
    }

    /// What the story print reads of a sanitized body: read as tokens, the
    /// same print as from the tree a browser builds, whatever markup went
    /// in, and wherever the print's cut of the markup falls (a cut can
    /// leave a `<` that a tree puts elsewhere, never another word).
    #[test]
    fn sanitized_bodies_read_as_tokens_give_the_tree_s_print() {
        use crate::story::Print;
        use proptest::prelude::*;
        const BITS: &[&str] = &[
            "<p>",
            "</p>",
            "<div>",
            "</div>",
            "<b>",
            "</b>",
            "<i>",
            "<a href=x>",
            "</a>",
            "<table>",
            "<tr>",
            "<td>",
            "</td>",
            "</table>",
            "<li>",
            "<ul>",
            "</ul>",
            "<br>",
            "<pre>\n",
            "</pre>",
            "<script>alert(1)</script>",
            "<style>p{}</style>",
            "<template>t</template>",
            "<noscript>n</noscript>",
            "<textarea>x<y</textarea>",
            "<!-- c > -->",
            "&amp;",
            "&lt;b&gt;",
            "&nbsp;",
            "&#x41;",
            "&bogus;",
            "<",
            ">",
            "\"",
            "word",
            " ",
            "Two words",
            "<img src=x alt=\"a > b\">",
            "<title>t</title>",
            "<h2>",
            "</h2>",
            "<select><option>o</select>",
            "<svg><p>s</svg>",
            "<math><mi>m</mi></math>",
            "<blockquote>",
            "<q>",
            "\u{e9}t\u{e9}",
            "1 000. ",
            "Ministry",
            "Aden",
            "U.S.",
            "3.5%",
            "-",
            "EU",
        ];
        // The lead as `Print::of` makes it from a body's text.
        let print = |text: String| {
            let lead = format!(". {}", crate::text::truncate_bytes(text.trim(), 1200));
            Print::from_text("Minister visits the port of Aden", &lead)
        };
        proptest!(ProptestConfig::with_cases(500), |(
            parts in proptest::collection::vec(0..BITS.len(), 0..50),
            cut in 0usize..400,
        )| {
            let html: String = parts.iter().map(|&i| BITS[i]).collect();
            let clean = sanitize_html(&html, Some("http://host/a/"));
            let cut = crate::text::truncate_bytes(&clean, cut);
            // An RSS description's opening, of the whole sanitized body (a
            // description reads no cut markup): the first paragraph with
            // text, else the whole text, as a tree reads it (runs of white
            // space aside, which the description collapses).
            let words = |t: String| t.split_whitespace().collect::<Vec<_>>().join(" ");
            prop_assert_eq!(
                words(crate::text::sanitized_opening(&clean)),
                words(crate::text::html_text(&clean, true)),
                "{} -> {}", html, clean
            );
            for markup in [clean.as_str(), cut] {
                let full = crate::text::sanitized_text(markup);
                prop_assert_eq!(
                    print(full.clone()),
                    print(crate::text::html_text(markup, false)),
                    "{} -> {}", html, markup
                );
                // The start of the text, read until it holds enough.
                for enough in [0, 3, 20, 120] {
                    let start = crate::text::sanitized_text_start(markup, enough);
                    let cut = |t: &str| crate::text::truncate_bytes(t.trim(), enough).to_owned();
                    prop_assert_eq!(cut(&start), cut(&full), "{} up to {}", markup, enough);
                    prop_assert!(full.starts_with(start.as_str()));
                }
            }
        });
    }
}
