//! Text read out of HTML as a browser shows it, and text cut to a size:
//! what every stage that turns markup into words needs (the gate for
//! summaries, scraping, feed parsing, story prints), and nothing else.

use ego_tree::iter::Edge;
use scraper::{ElementRef, Node};
use std::sync::LazyLock;

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

/// The text of HTML that came out of the gate's sanitizer, as
/// [`html_text`] reads it (the same words, in the same order), from
/// html5ever's tokenizer alone: markup the sanitizer wrote back from a
/// tree is already in tree order, every element closed, so building a tree
/// again (what `html_text` does for markup from anywhere) only costs. A
/// story print reads every new item's body this way (`story::Print::of`).
pub fn sanitized_text(html: &str) -> String {
    sanitized_text_from(html, usize::MAX, usize::MAX)
}

/// The start of [`sanitized_text`]: trimmed and cut to `enough` bytes, the
/// same as the whole text trimmed and cut, read from only as much markup as
/// that takes. A story print reads a body's first 1,200 characters, of
/// markup it was cut at 4,800.
pub fn sanitized_text_start(html: &str, enough: usize) -> String {
    sanitized_text_from(html, enough, PIECE)
}

/// [`html_text`] with `first_paragraph`, of HTML that came out of the
/// gate's sanitizer, from the tokenizer alone (as [`sanitized_text`]): the
/// text of the first `<p>` that has any (read no further), else the whole
/// text. What an RSS item without a summary shows as its description, at
/// every render: building each body's tree for it took 24 µs of a 2.3 KB
/// body against 7 for its tokens.
pub fn sanitized_opening(html: &str) -> String {
    read_sanitized(html, usize::MAX, PIECE, true)
}

/// Reads markup `piece` bytes at a time (html5ever's tokenizer reads a
/// stream: the text is the same whatever the pieces), until the text holds
/// more than `enough` bytes between its first and last visible character.
pub(crate) fn sanitized_text_from(html: &str, enough: usize, piece: usize) -> String {
    read_sanitized(html, enough, piece, false)
}

/// [`sanitized_text_from`], or with `first_paragraph` [`sanitized_opening`]:
/// the text of the first `<p>` with any, which ends the read, else (read to
/// the end, in case one comes) the whole text's start.
fn read_sanitized(html: &str, enough: usize, piece: usize, first_paragraph: bool) -> String {
    use html5ever::tokenizer::{
        BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer,
    };
    use std::cell::{Cell, RefCell};

    struct Text {
        out: RefCell<String>,
        hidden: Cell<usize>,
        /// The paragraph being read, in first-paragraph mode.
        paragraph: RefCell<Option<String>>,
        /// The first paragraph with text, once read.
        found: RefCell<Option<String>>,
        first_paragraph: bool,
    }
    /// A space where a line ends, unless there is one (or nothing) already.
    fn space(out: &mut String) {
        if !out.ends_with(' ') && !out.is_empty() {
            out.push(' ');
        }
    }
    impl TokenSink for Text {
        type Handle = ();
        fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
            match token {
                Token::TagToken(tag) => {
                    let name: &str = &tag.name;
                    let opening = tag.kind == TagKind::StartTag;
                    if HIDDEN.contains(&name) {
                        let h = self.hidden.get();
                        self.hidden
                            .set(if opening { h + 1 } else { h.saturating_sub(1) });
                    } else if self.hidden.get() == 0 && BLOCKS.contains(&name) {
                        space(&mut self.out.borrow_mut());
                        let mut paragraph = self.paragraph.borrow_mut();
                        if name == "p" && self.first_paragraph && self.found.borrow().is_none() {
                            // A paragraph ends at its end tag (or, in markup
                            // cut short, where the next one starts).
                            let ended = paragraph.take().filter(|p| !p.trim().is_empty());
                            *self.found.borrow_mut() = ended;
                            if opening {
                                *paragraph = Some(String::new());
                            }
                        } else if let Some(p) = paragraph.as_mut() {
                            space(p);
                        }
                    }
                    // Raw text is text until its end tag, as a tree builder
                    // would have the tokenizer read it.
                    if opening && !tag.self_closing {
                        use html5ever::tokenizer::states::RawKind;
                        let raw = match name {
                            "script" => Some(RawKind::ScriptData),
                            "style" | "xmp" | "iframe" | "noembed" | "noframes" | "noscript" => {
                                Some(RawKind::Rawtext)
                            }
                            "textarea" | "title" => Some(RawKind::Rcdata),
                            _ => None,
                        };
                        if let Some(kind) = raw {
                            return TokenSinkResult::RawData(kind);
                        }
                    }
                }
                Token::CharacterTokens(t) if self.hidden.get() == 0 => {
                    if let Some(p) = self.paragraph.borrow_mut().as_mut() {
                        p.push_str(&t);
                    }
                    self.out.borrow_mut().push_str(&t);
                }
                _ => {}
            }
            TokenSinkResult::Continue
        }
    }

    let sink = Text {
        out: RefCell::new(String::with_capacity(html.len())),
        hidden: Cell::new(0),
        paragraph: RefCell::new(None),
        found: RefCell::new(None),
        first_paragraph,
    };
    let input = BufferQueue::default();
    let tokenizer = Tokenizer::new(sink, Default::default());
    let mut rest = html;
    loop {
        if rest.is_empty() {
            tokenizer.end();
            break;
        }
        let next = match truncate_bytes(rest, piece) {
            // A piece smaller than the next character: the character.
            "" => &rest[..rest.chars().next().map_or(0, char::len_utf8)],
            next => next,
        };
        rest = &rest[next.len()..];
        input.push_back(next.into());
        let _ = tokenizer.feed(&input);
        if tokenizer.sink.out.borrow().trim().len() > enough
            || tokenizer.sink.found.borrow().is_some()
        {
            break;
        }
    }
    // A paragraph the markup (cut short) left open ends with it.
    let open = tokenizer.sink.paragraph.take();
    let found = (tokenizer.sink.found.take()).or(open.filter(|p| !p.trim().is_empty()));
    let mut out = match found {
        Some(paragraph) => paragraph,
        None => tokenizer.sink.out.into_inner(),
    };
    let end = out.trim_end().len();
    out.truncate(end);
    out
}

/// Markup fed to the tokenizer at a time when only the text's start is wanted.
const PIECE: usize = 1024;

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
            Node::Element(e)
                if hidden == 0
                    && BLOCKS.contains(&e.name())
                    && !out.ends_with(' ')
                    && !out.is_empty() =>
            {
                out.push(' ');
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
