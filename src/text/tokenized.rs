//! The text of markup the gate's sanitizer wrote, read by html5ever's
//! tokenizer: what [`super::sanitized`] reads by hand, kept as the reading
//! its tests hold it to (the tokenizer is HTML's own, the scanner is fast).

use super::{block, hidden, truncate_bytes};

/// Reads markup `piece` bytes at a time (html5ever's tokenizer reads a
/// stream: the text is the same whatever the pieces), until the text holds
/// more than `enough` bytes between its first and last visible character;
/// with `first_paragraph`, the text of the first `<p>` with any, which ends
/// the read, else the whole text's start.
pub(super) fn read(html: &str, enough: usize, piece: usize, first_paragraph: bool) -> String {
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
                    if hidden(name) {
                        let h = self.hidden.get();
                        self.hidden
                            .set(if opening { h + 1 } else { h.saturating_sub(1) });
                    } else if self.hidden.get() == 0 && block(name) {
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
