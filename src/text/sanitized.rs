//! The text of markup the gate's sanitizer wrote, read as html5ever's
//! tokenizer reads it (the same text, character for character), by a scanner
//! of the few shapes that markup has.
//!
//! Why not the tokenizer itself: a story print reads every new item's body
//! (`story::Print::of`), and html5ever's tokenizer, a character at a time
//! through its state machine, was a twelfth of a first poll's CPU. Why a
//! scanner is enough: the sanitizer's markup is html5ever's serializer
//! writing a tree back, so it has one shape of each thing. Tags are
//! lowercase, every attribute value is in double quotes with `"` written
//! `&quot;`; text escapes only `&`, `<`, `>` and U+00A0; there are no comments
//! (the policy strips them), no CDATA, no raw-text element (the allow-list
//! has none) and no carriage return (the parser made them line feeds). What
//! else HTML allows is still read as the tokenizer reads it where that is a
//! line or two (other quotes, bogus comments, raw text, a markup cut short
//! at any byte), and `tokenized.rs` holds the reading every test compares
//! this one with.

use super::{block, hidden};
use std::borrow::Cow;

/// The text of HTML that came out of the gate's sanitizer, as
/// [`super::html_text`] reads it (the same words, in the same order):
/// markup the sanitizer wrote back from a tree is already in tree order,
/// every element closed, so building a tree again (what `html_text` does
/// for markup from anywhere) only costs.
pub fn sanitized_text(html: &str) -> String {
    read(html, usize::MAX, false)
}

/// The start of [`sanitized_text`]: trimmed and cut to `enough` bytes, the
/// same as the whole text trimmed and cut, read from only as much markup as
/// that takes. A story print reads a body's first 1,200 characters, of
/// markup it was cut at 4,800.
pub fn sanitized_text_start(html: &str, enough: usize) -> String {
    read(html, enough, false)
}

/// [`super::html_text`] with `first_paragraph`, of HTML that came out of
/// the gate's sanitizer (as [`sanitized_text`]): the text of the first `<p>`
/// that has any (read no further), else the whole text. What an RSS item
/// without a summary shows as its description, at every render.
pub fn sanitized_opening(html: &str) -> String {
    read(html, usize::MAX, true)
}

/// Reads markup until the text holds more than `enough` bytes between its
/// first and last visible character; with `first_paragraph`, until the
/// first `<p>` with text has ended, which is then the text.
fn read(html: &str, enough: usize, first_paragraph: bool) -> String {
    let mut text = Text {
        out: String::with_capacity(html.len().min(enough.saturating_add(64))),
        visible: None,
        hidden: 0,
        paragraph: None,
        found: None,
        first_paragraph,
    };
    let mut at = 0;
    while at < html.len() {
        at = match html[at..].find('<') {
            Some(0) => text.markup(html, at),
            found => {
                let end = found.map_or(html.len(), |n| at + n);
                text.push(&html[at..end], true);
                end
            }
        };
        if text
            .visible
            .is_some_and(|(first, end)| end - first > enough)
            || text.found.is_some()
        {
            break;
        }
    }
    // A paragraph the markup (cut short) left open ends with it.
    let open = text.paragraph.take();
    let found = text.found.take().or(open.filter(|p| !p.trim().is_empty()));
    let mut out = found.unwrap_or(text.out);
    let end = out.trim_end().len();
    out.truncate(end);
    out
}

/// What has been read so far.
struct Text {
    out: String,
    /// Where `out`'s first visible character starts and its last ends: its
    /// trimmed length, known without reading it again (markup of many
    /// short pieces and much white space would make that quadratic).
    visible: Option<(usize, usize)>,
    /// Hidden elements open (`script`, `template`...).
    hidden: usize,
    /// The paragraph being read, in first-paragraph mode.
    paragraph: Option<String>,
    /// The first paragraph with text, once read.
    found: Option<String>,
    first_paragraph: bool,
}

impl Text {
    /// Text as it stands in the markup: character references decoded when
    /// `references`, carriage returns made line feeds.
    fn push(&mut self, raw: &str, references: bool) {
        if self.hidden > 0 || raw.is_empty() {
            return;
        }
        let text = if references {
            decode(raw)
        } else {
            Cow::Borrowed(raw)
        };
        let text = match text.contains('\r') {
            true => Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n")),
            false => text,
        };
        if let Some(p) = self.paragraph.as_mut() {
            p.push_str(&text);
        }
        let at = self.out.len();
        self.out.push_str(&text);
        let blank_start = text.len() - text.trim_start().len();
        if blank_start < text.len() {
            let first = self.visible.map_or(at + blank_start, |(first, _)| first);
            self.visible = Some((first, at + text.trim_end().len()));
        }
    }

    /// Reads the markup starting with the `<` at `at`; returns where text
    /// starts again.
    fn markup(&mut self, html: &str, at: usize) -> usize {
        let bytes = html.as_bytes();
        let after = |n: usize| bytes.get(at + n).copied();
        match after(1) {
            Some(b'!') if html[at + 2..].starts_with("--") => comment_end(html, at + 4),
            Some(b'!' | b'?') => past(html, at + 2, ">"),
            Some(b'/') => match after(2) {
                Some(b'>') => at + 3,
                Some(c) if c.is_ascii_alphabetic() => self.tag(html, at + 2, false),
                Some(_) => past(html, at + 2, ">"),
                None => {
                    self.push("</", false);
                    html.len()
                }
            },
            Some(c) if c.is_ascii_alphabetic() => self.tag(html, at + 1, true),
            _ => {
                self.push("<", false);
                at + 1
            }
        }
    }

    /// Reads a tag whose name starts at `at`; returns where text starts
    /// again. A tag the markup ends inside is no tag (nor text).
    fn tag(&mut self, html: &str, at: usize, opening: bool) -> usize {
        let Some((name_end, end, self_closing)) = tag_end(html.as_bytes(), at) else {
            return html.len();
        };
        // The sanitizer writes names lowercase: copied only when not.
        let name = &html[at..name_end];
        let name = match name.bytes().any(|b| b.is_ascii_uppercase()) {
            true => Cow::Owned(name.to_ascii_lowercase()),
            false => Cow::Borrowed(name),
        };
        let name = name.as_ref();
        if hidden(name) {
            self.hidden = if opening {
                self.hidden + 1
            } else {
                self.hidden.saturating_sub(1)
            };
        } else if self.hidden == 0 && block(name) {
            space(&mut self.out);
            if name == "p" && self.first_paragraph && self.found.is_none() {
                // A paragraph ends at its end tag (or, in markup cut short,
                // where the next one starts).
                self.found = self.paragraph.take().filter(|p| !p.trim().is_empty());
                if opening {
                    self.paragraph = Some(String::new());
                }
            } else if let Some(p) = self.paragraph.as_mut() {
                space(p);
            }
        }
        if !opening || self_closing {
            return end;
        }
        // Raw text is text until its end tag, as a tree builder would have
        // the tokenizer read it.
        let references = match name {
            "script" | "style" | "xmp" | "iframe" | "noembed" | "noframes" | "noscript" => false,
            "textarea" | "title" => true,
            _ => return end,
        };
        let close = raw_end(html, end, name);
        self.push(&html[end..close], references);
        close
    }
}

/// A space where a line ends, unless there is one (or nothing) already.
fn space(out: &mut String) {
    if !out.ends_with(' ') && !out.is_empty() {
        out.push(' ');
    }
}

/// Where a tag whose name starts at `at` has its name end, where it ends
/// (past its `>`), and whether it closes itself; `None` when the markup ends
/// first. Attribute values may be quoted either way or not at all, and a
/// quoted one may hold `>`.
fn tag_end(b: &[u8], at: usize) -> Option<(usize, usize, bool)> {
    let blank = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | b'\x0c' | b'\r');
    let mut i = at;
    while i < b.len() && !blank(b[i]) && b[i] != b'/' && b[i] != b'>' {
        i += 1;
    }
    let name_end = i;
    loop {
        // Between attributes: a `/` closes the tag only before its `>`.
        let mut slash = false;
        while i < b.len() && (blank(b[i]) || b[i] == b'/') {
            slash = b[i] == b'/';
            i += 1;
        }
        match b.get(i)? {
            b'>' => return Some((name_end, i + 1, slash)),
            // An attribute's name: its first character may be `=`.
            _ => i += 1,
        }
        while i < b.len() && !blank(b[i]) && !matches!(b[i], b'/' | b'>' | b'=') {
            i += 1;
        }
        while i < b.len() && blank(b[i]) {
            i += 1;
        }
        if b.get(i) != Some(&b'=') {
            continue;
        }
        i += 1;
        while i < b.len() && blank(b[i]) {
            i += 1;
        }
        match b.get(i)? {
            &quote @ (b'"' | b'\'') => {
                i += 1 + b[i + 1..].iter().position(|&c| c == quote)? + 1;
            }
            b'>' => {}
            _ => {
                while i < b.len() && !blank(b[i]) && b[i] != b'>' {
                    i += 1;
                }
            }
        }
    }
}

/// Past the first `end` at or after `at`, or the end of the markup.
fn past(html: &str, at: usize, end: &str) -> usize {
    html.get(at..)
        .and_then(|rest| rest.find(end))
        .map_or(html.len(), |n| at + n + end.len())
}

/// Where a comment whose text starts at `at` ends: `-->` or `--!>`, or at
/// once (`<!-->`, `<!--->`), or with the markup.
fn comment_end(html: &str, at: usize) -> usize {
    let rest = &html[at..];
    if rest.starts_with('>') {
        return at + 1;
    }
    if rest.starts_with("->") {
        return at + 2;
    }
    let close = past(html, at, "-->");
    let bang = past(html, at, "--!>");
    close.min(bang)
}

/// Where the raw text of `name`, starting at `at`, ends: at its end tag
/// (`</name` then a space, `/` or `>`, in any case), or with the markup.
fn raw_end(html: &str, at: usize, name: &str) -> usize {
    let b = html.as_bytes();
    let mut from = at;
    while let Some(n) = html[from..].find("</") {
        let start = from + n;
        let tail = start + 2 + name.len();
        if b.get(start + 2..tail)
            .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
            && matches!(
                b.get(tail),
                Some(b' ' | b'\t' | b'\n' | b'\x0c' | b'\r' | b'/' | b'>')
            )
        {
            return start;
        }
        from = start + 2;
    }
    html.len()
}

/// The character references the serializer writes, in text, decoded; with
/// or without their `;`, as a tokenizer reads them (and so a markup cut
/// inside one): any other `&` is itself.
fn decode(raw: &str) -> Cow<'_, str> {
    if !raw.contains('&') {
        return Cow::Borrowed(raw);
    }
    const NAMED: [(&str, char); 5] = [
        ("amp", '&'),
        ("lt", '<'),
        ("gt", '>'),
        ("quot", '"'),
        ("nbsp", '\u{a0}'),
    ];
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(n) = rest.find('&') {
        out.push_str(&rest[..n]);
        rest = &rest[n + 1..];
        match NAMED.iter().find(|(name, _)| rest.starts_with(name)) {
            Some(&(name, c)) => {
                out.push(c);
                rest = &rest[name.len()..];
                rest = rest.strip_prefix(';').unwrap_or(rest);
            }
            None => out.push('&'),
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Markup as the sanitizer writes it and as it never does: every
    /// reading is the tokenizer's, character for character, wherever the
    /// markup is cut and however much is asked for.
    #[test]
    fn the_scanner_reads_what_the_tokenizer_reads() {
        const BITS: &[&str] = &[
            "<p>",
            "</p>",
            "<div class=\"a > b\">",
            "</div>",
            "<b>",
            "</b>",
            "<a href=\"http://host/?a=1&amp;b=&quot;2&quot;\" rel=\"noopener noreferrer\">",
            "</a>",
            "<br>",
            "<br/>",
            "<img src='x>y' alt=z>",
            "<img src=\"p.jpg\">",
            "<li>",
            "</li>",
            "<TD>",
            "</Td >",
            "<pre>\n",
            "</pre>",
            "<script>if (a</b) x()</script>",
            "<style>p{}</style>",
            "<textarea>x&lt;y</textarea>",
            "<title>t</title>",
            "<template>t</template>",
            "<noscript>n</noscript>",
            "<!-- c > -->",
            "<!-->",
            "<!DOCTYPE html>",
            "<?pi x?>",
            "</>",
            "</ x>",
            "&amp;",
            "&lt;b&gt;",
            "&nbsp;",
            "&quot;",
            "&ampx",
            "&am",
            "&",
            "<",
            "< b",
            ">",
            "\"",
            "'",
            "=",
            "word",
            " ",
            "\r\n",
            "Two words",
            "\u{e9}t\u{e9}",
            "\u{a0}",
        ];
        proptest!(ProptestConfig::with_cases(2000), |(
            parts in proptest::collection::vec(0..BITS.len(), 0..40),
            cut in 0usize..600,
            enough in prop_oneof![Just(usize::MAX), 0usize..200],
        )| {
            let html: String = parts.iter().map(|&i| BITS[i]).collect();
            // As written, and as the sanitizer writes it back.
            let clean = crate::gate::sanitize_html(&html, Some("http://host/a/"));
            let cuts = [
                crate::text::truncate_bytes(&html, cut),
                crate::text::truncate_bytes(&clean, cut),
            ];
            for markup in [html.as_str(), clean.as_str(), cuts[0], cuts[1]] {
                prop_assert_eq!(
                    sanitized_opening(markup),
                    super::super::tokenized::read(markup, usize::MAX, 1024, true),
                    "opening of {:?}", markup
                );
                let full = sanitized_text(markup);
                prop_assert_eq!(
                    &full,
                    &super::super::tokenized::read(markup, usize::MAX, usize::MAX, false),
                    "text of {:?}", markup
                );
                // The start: cut to what was asked, the whole text's start.
                let start = sanitized_text_start(markup, enough);
                let trimmed = |t: &str| crate::text::truncate_bytes(t.trim(), enough).to_owned();
                prop_assert_eq!(trimmed(&start), trimmed(&full), "start of {:?}", markup);
                prop_assert!(full.starts_with(start.as_str()));
            }
        });
    }

    /// Markup of many short pieces after much white space: 400,000 tags
    /// and texts after 500 KB of spaces, where measuring the trimmed text
    /// again after each would have read 200 GB.
    #[test]
    fn many_pieces_after_much_white_space() {
        let html = " ".repeat(500_000) + &"<b>x</b> ".repeat(100_000);
        let text = sanitized_text(&html);
        assert_eq!(text.trim_start(), "x ".repeat(100_000).trim_end());
        // Read until the visible text is past 1,000 bytes: 501 words.
        assert_eq!(
            sanitized_text_start(&html, 1000).trim(),
            "x ".repeat(501).trim_end()
        );
    }

    #[test]
    fn sanitized_markup_reads_as_its_text() {
        let html = crate::gate::sanitize_html(
            "<p>Fish &amp; chips<script>x</script> at <a href=\"/m?a=1&b=2\" title='1 > 0'>Mo\u{e9}'s</a></p>\
             <ul><li>one&nbsp;two</li><li>&lt;three&gt;</li></ul><!-- gone -->",
            Some("http://host/"),
        );
        assert_eq!(
            sanitized_text(&html),
            "Fish & chips at Mo\u{e9}'s one\u{a0}two <three>"
        );
        assert_eq!(sanitized_opening(&html), "Fish & chips at Mo\u{e9}'s");
        // Read no further than the text asked for.
        assert_eq!(sanitized_text_start(&html, 5), "Fish & chips at");
    }
}
