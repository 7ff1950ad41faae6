//! Text read out of HTML as a browser shows it, and text cut to a size:
//! what every stage that turns markup into words needs (the gate for
//! summaries, scraping, feed parsing, story prints), and nothing else.
//! Markup from anywhere is read as a tree ([`html_text`]); markup the gate's
//! sanitizer wrote, by a scanner of its few shapes (`sanitized.rs`).

use ego_tree::iter::Edge;
use scraper::{ElementRef, Node};
use std::sync::LazyLock;

mod sanitized;
#[cfg(test)]
mod tokenized;

pub use sanitized::{sanitized_opening, sanitized_text, sanitized_text_start};

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

/// Elements whose content a browser does not show as text. (A `match`, not
/// a list searched: a body's every tag is looked up here and in [`block`].)
fn hidden(name: &str) -> bool {
    matches!(
        name,
        "script" | "style" | "template" | "noscript" | "head" | "title"
    )
}

/// Elements that end a line where they open and close.
fn block(name: &str) -> bool {
    matches!(
        name,
        "address"
            | "article"
            | "aside"
            | "blockquote"
            | "br"
            | "caption"
            | "dd"
            | "details"
            | "div"
            | "dl"
            | "dt"
            | "fieldset"
            | "figcaption"
            | "figure"
            | "footer"
            | "form"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "header"
            | "hr"
            | "li"
            | "main"
            | "nav"
            | "ol"
            | "p"
            | "pre"
            | "section"
            | "summary"
            | "table"
            | "tbody"
            | "td"
            | "tfoot"
            | "th"
            | "thead"
            | "tr"
            | "ul"
    )
}

/// The text under `el`, walked in document order without recursion.
fn visible_text(el: ElementRef<'_>) -> String {
    let mut out = String::new();
    let mut hiding = 0usize;
    for edge in el.traverse() {
        let (node, opening) = match edge {
            Edge::Open(node) => (node, true),
            Edge::Close(node) => (node, false),
        };
        match node.value() {
            Node::Element(e) if hidden(e.name()) => {
                if opening {
                    hiding += 1;
                } else {
                    hiding -= 1;
                }
            }
            Node::Element(e)
                if hiding == 0 && block(e.name()) && !out.ends_with(' ') && !out.is_empty() =>
            {
                out.push(' ');
            }
            Node::Text(t) if hiding == 0 && opening => out.push_str(t),
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

    /// An opening is the first paragraph that has text (its inline markup
    /// and line breaks read as a browser shows them), else the whole text;
    /// a paragraph found ends the read.
    #[test]
    fn an_opening_is_the_first_paragraph_with_text() {
        let html = "<div>Intro</div><p> </p><p>Para <b>one</b><br>two</p><p>three</p>";
        assert_eq!(sanitized_opening(html).trim(), "Para one two");
        assert_eq!(html_text(html, true).trim(), "Para one two");
        let none = "<div>No</div><ul><li>paragraph</li></ul>";
        assert_eq!(sanitized_opening(none).trim(), "No paragraph");
        // Cut short inside the first paragraph: what it holds so far.
        assert_eq!(
            sanitized_opening("<div>x</div><p>Half a para").trim(),
            "Half a para"
        );
    }

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
}
