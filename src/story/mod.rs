//! Which items tell one story. Two outlets rewrite a wire story in their own
//! words ("Waymo seeks $16 billion to expand its robotaxi service", "Waymo
//! aims to raise 16 billion dollars for autonomous vehicle expansion"); a
//! timeline shows it once. Headlines that only look alike ("Gold hits record
//! high" and "Silver hits record high") stay apart: hiding a distinct story is
//! worse than showing one twice.
//!
//! What an item's story needs is worked out once, when the item is stored:
//! its [`Print`]. A merge then compares prints, never text ([`compare`]).

mod compare;
pub mod link;
pub mod words;

pub use compare::{Apart, Features, Verdict, compare};

use serde::{Deserialize, Serialize};
use words::{Form, Tokens, Word};

/// Bump when [`Print::of`] changes: a stored print of another version is
/// worked out again at merge time.
const VERSION: u8 = 1;
/// Words of a title, and of the lead (summary, then the body's opening),
/// that a print keeps: the opening says what the story is.
const TITLE_WORDS: usize = 24; // at most 32: a title's words are bits of a u32
const LEAD_WORDS: usize = 60;
/// Characters of the body read for the lead (its visible text).
const LEAD_CHARS: usize = 1200;

/// An item's story as compared: hashed stems (xxh3, 32 bits: two stories'
/// few dozen words collide once in millions of pairs) and numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Print {
    #[serde(rename = "v")]
    version: u8,
    /// The item's link as the page it names ([`link::canonical_link`]), and
    /// its title as words (lowercase letters and digits) when it says
    /// enough: either alone is one story. Hashed, 64 bits.
    #[serde(rename = "l", default, skip_serializing_if = "Option::is_none")]
    pub(crate) link: Option<u64>,
    #[serde(rename = "w", default, skip_serializing_if = "Option::is_none")]
    pub(crate) words: Option<u64>,
    /// The title's words in order (numbers and spans hashed by value).
    #[serde(rename = "t")]
    title: Vec<u32>,
    /// Which title words the title itself writes as names (bit i: word i).
    #[serde(rename = "tx", default, skip_serializing_if = "is_zero")]
    title_names: u32,
    /// For each title word in a run of capitalized words, the run's
    /// initials (`United Kingdom`: `uk`), so an acronym elsewhere gives it;
    /// empty when the title has no run.
    #[serde(rename = "ta", default, skip_serializing_if = "Vec::is_empty")]
    title_runs: Vec<u32>,
    /// The title's numbers and spans, in thousandths, in order, and which
    /// title words they are (bit i: word i).
    #[serde(rename = "tn", default, skip_serializing_if = "Vec::is_empty")]
    title_numbers: Vec<i64>,
    #[serde(rename = "td", default, skip_serializing_if = "Vec::is_empty")]
    title_spans: Vec<i64>,
    #[serde(rename = "tnb", default, skip_serializing_if = "is_zero")]
    title_number_bits: u32,
    #[serde(rename = "tdb", default, skip_serializing_if = "is_zero")]
    title_span_bits: u32,
    /// The title is in Title Case or capitals: its capitals say nothing.
    #[serde(rename = "c", default, skip_serializing_if = "std::ops::Not::not")]
    cased: bool,
    /// The title's first word when capitalized: a name or not, it cannot say.
    #[serde(rename = "i", default, skip_serializing_if = "Option::is_none")]
    initial: Option<u32>,
    /// Every word of the title and lead, sorted, once.
    #[serde(rename = "f")]
    terms: Vec<u32>,
    /// What else the item gives a word by: the initials of runs of
    /// capitalized words (`European Central Bank` gives `ECB`) and the
    /// first five letters of capitalized words (`Kenyan` gives `Kenya`),
    /// sorted, those not in `terms`.
    #[serde(rename = "x", default, skip_serializing_if = "Vec::is_empty")]
    extra: Vec<u32>,
    /// Those of the title's own words (prefixes of its capitalized words,
    /// initials of its runs).
    #[serde(rename = "tk", default, skip_serializing_if = "Vec::is_empty")]
    title_extra: Vec<u32>,
    /// A 256-bit filter of `terms` (bit `h % 256` of each): most words a
    /// comparison looks up are not there, and a clear bit says so without a
    /// search. All zero: none kept (a search every time).
    #[serde(rename = "s", default)]
    sig: [u64; 4],
    /// Every number and every span of the title and lead, sorted, once.
    #[serde(rename = "n", default, skip_serializing_if = "Vec::is_empty")]
    numbers: Vec<i64>,
    #[serde(rename = "d", default, skip_serializing_if = "Vec::is_empty")]
    spans: Vec<i64>,
    /// Words this item writes as names anywhere (a capital inside a
    /// sentence of a title in sentence case or of the lead, or all
    /// capitals), sorted.
    #[serde(rename = "a", default, skip_serializing_if = "Vec::is_empty")]
    names: Vec<u32>,
}

/// Shorter titles as words ("Live", "Update") say too little to be a story.
const MIN_TITLE: usize = 12;

/// A title as words: lowercase letters and digits, one space between.
fn title_as_words(title: &str) -> Option<String> {
    let mut out = String::with_capacity(title.len());
    for word in title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    (out.chars().count() >= MIN_TITLE).then_some(out)
}

/// The first five letters of a word: what a name and its adjective share.
fn prefix(t: &str) -> &str {
    t.char_indices().nth(5).map_or(t, |(i, _)| &t[..i])
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn hash(s: &str) -> u32 {
    xxhash_rust::xxh3::xxh3_64(s.as_bytes()) as u32
}

fn number_hash(n: i64) -> u32 {
    hash(&format!("#{n}"))
}

fn span_hash(n: i64) -> u32 {
    hash(&format!("~{n}"))
}

impl Word {
    fn hash(&self) -> u32 {
        match &self.form {
            Form::Term(t) => hash(t),
            Form::Number(n) => number_hash(*n),
            Form::Span(n) => span_hash(*n),
        }
    }
}

impl Print {
    /// The print of an item as the gate admitted it: its title, its summary
    /// (text), its body (HTML the gate sanitized: read as such) and its link.
    pub fn of(title: &str, summary: Option<&str>, body: Option<&str>, link: Option<&str>) -> Print {
        let mut lead = summary.unwrap_or_default().to_owned();
        if let Some(html) = body {
            // The gate's output: read as tokens, not built into a tree again.
            let html = crate::text::truncate_bytes(html, 4 * LEAD_CHARS);
            let text = crate::text::sanitized_text_start(html, LEAD_CHARS);
            lead.push_str(". ");
            lead.push_str(crate::text::truncate_bytes(text.trim(), LEAD_CHARS));
        }
        Print {
            link: link
                .and_then(link::canonical_link)
                .map(|l| xxhash_rust::xxh3::xxh3_64(l.as_bytes())),
            ..Print::from_text(title, &lead)
        }
    }

    /// The print of a title and its lead.
    pub fn from_text(title: &str, lead: &str) -> Print {
        let (mut title_tokens, mut lead_tokens) = (Tokens::new(title), Tokens::new(lead));
        let lang = words::language(&mut [&mut title_tokens, &mut lead_tokens]);
        let title_words = words::words(&mut title_tokens, lang, TITLE_WORDS);
        let lead_words = words::words(&mut lead_tokens, lang, LEAD_WORDS);
        let cased = title_case(title) != Case::Sentence;
        // What the title and the lead write as names.
        let named = |w: &Word, in_title: bool| {
            matches!(w.form, Form::Term(_))
                && ((w.caps && !(in_title && title_case(title) == Case::Capitals))
                    || (w.capital && !w.initial && !(in_title && cased)))
        };
        let mut names: Vec<u32> = Vec::new();
        let mut terms: Vec<u32> = Vec::new();
        let mut extra: Vec<u32> = Vec::new();
        // The title's hashes, once: its words are looked at several times.
        let title_hashes: Vec<u32> = title_words.iter().map(Word::hash).collect();
        for (w, in_title, h) in title_words
            .iter()
            .zip(&title_hashes)
            .map(|(w, &h)| (w, true, h))
            .chain(lead_words.iter().map(|w| (w, false, w.hash())))
        {
            terms.push(h);
            if named(w, in_title) {
                names.push(h);
            }
            // `Kenyan` also gives `Kenya`, `Egyptian` `Egypt`.
            if w.capital
                && let Form::Term(t) = &w.form
            {
                extra.push(hash(prefix(t)));
            }
        }
        if !cased {
            extra.extend(initials(&title_words));
        }
        extra.extend(initials(&lead_words));
        let title_runs = if cased {
            Vec::new()
        } else {
            runs(&title_words)
        };
        // What else the title is known by: what an item published in other
        // words looks it up by (`merge`).
        let mut title_extra: Vec<u32> = title_words
            .iter()
            .filter(|w| w.capital)
            .filter_map(|w| match &w.form {
                Form::Term(t) => Some(hash(prefix(t))),
                _ => None,
            })
            .chain(title_runs.iter().copied().filter(|&r| r != 0))
            .collect();
        title_extra.sort_unstable();
        title_extra.dedup();
        for v in [&mut terms, &mut names, &mut extra] {
            v.sort_unstable();
            v.dedup();
        }
        extra.retain(|h| terms.binary_search(h).is_err());
        title_extra.retain(|h| !title_hashes.contains(h));
        let mut sig = [0u64; 4];
        for &h in terms.iter().chain(&extra) {
            sig[(h as usize >> 6) & 3] |= 1 << (h & 63);
        }
        let values = |words: &[Word], span: bool| -> Vec<i64> {
            words
                .iter()
                .filter_map(|w| match w.form {
                    Form::Number(n) if !span => Some(n),
                    Form::Span(n) if span => Some(n),
                    _ => None,
                })
                .collect()
        };
        let all = |span: bool| {
            let mut v = values(&title_words, span);
            v.extend(values(&lead_words, span));
            v.sort_unstable();
            v.dedup();
            v
        };
        let bits = |keep: &dyn Fn(&Word) -> bool| {
            title_words
                .iter()
                .enumerate()
                .filter(|&(_, w)| keep(w))
                .fold(0u32, |bits, (i, _)| bits | 1 << i)
        };
        let title_names = bits(&|w| named(w, true));
        let title_number_bits = bits(&|w| matches!(w.form, Form::Number(_)));
        let title_span_bits = bits(&|w| matches!(w.form, Form::Span(_)));
        Print {
            version: VERSION,
            link: None,
            words: title_as_words(title).map(|w| xxhash_rust::xxh3::xxh3_64(w.as_bytes())),
            title: title_hashes,
            title_names,
            title_runs: if title_runs.iter().any(|&h| h != 0) {
                title_runs
            } else {
                Vec::new()
            },
            title_numbers: values(&title_words, false),
            title_spans: values(&title_words, true),
            title_number_bits,
            title_span_bits,
            cased,
            initial: title_words
                .first()
                .filter(|w| w.capital && w.initial)
                .map(|w| match &w.form {
                    Form::Term(t) => hash(prefix(t)),
                    _ => w.hash(),
                }),
            terms,
            extra,
            title_extra,
            sig,
            numbers: all(false),
            spans: all(true),
            names,
        }
    }

    /// Every word of the title and lead, and what else gives a word
    /// (initials, prefixes), each once.
    pub fn terms(&self) -> impl Iterator<Item = u32> + '_ {
        self.terms.iter().chain(&self.extra).copied()
    }

    /// Words the item writes as names, anywhere.
    pub fn names(&self) -> impl Iterator<Item = u32> + '_ {
        self.names.iter().copied()
    }

    /// The title's words, each once.
    pub fn title_words(&self) -> impl Iterator<Item = u32> + '_ {
        let t = &self.title;
        (0..t.len())
            .filter(move |&i| !t[..i].contains(&t[i]))
            .map(move |i| t[i])
    }

    /// What the title is known by: its words, the prefixes of its
    /// capitalized words and the initials of its runs, each once.
    pub fn title_keys(&self) -> impl Iterator<Item = u32> + '_ {
        self.title_words().chain(self.title_extra.iter().copied())
    }

    /// Whether the item gives a word (title, lead, initials, prefixes).
    pub(crate) fn uses(&self, h: u32) -> bool {
        let bit = self.sig[(h as usize >> 6) & 3] & (1 << (h & 63)) != 0;
        (bit || self.sig == [0; 4])
            && (self.terms.binary_search(&h).is_ok() || self.extra.binary_search(&h).is_ok())
    }

    /// Whether this print was worked out as [`Print::of`] works it out now.
    pub fn current(&self) -> bool {
        self.version == VERSION
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    Sentence,
    Title,
    Capitals,
}

/// How a title is cased. Title Case capitalizes every longer word (four
/// letters or more), verbs included, and there are at least four; a title
/// with one such word in lowercase is in sentence case, whatever its names.
fn title_case(title: &str) -> Case {
    use unicode_segmentation::UnicodeSegmentation;
    let long: Vec<&str> = title
        .unicode_words()
        .filter(|w| w.chars().filter(|c| c.is_alphabetic()).count() >= 4)
        .collect();
    if long.len() < 4
        || long
            .iter()
            .any(|w| w.chars().next().is_some_and(char::is_lowercase))
    {
        Case::Sentence
    } else if long.iter().all(|w| !w.chars().any(char::is_lowercase)) {
        Case::Capitals
    } else {
        Case::Title
    }
}

/// The initials of every two to four words that a capitalized word opens
/// (`European Central Bank`: `ecb`; `Banque centrale européenne`: `bce`,
/// stop words being gone), so that an acronym elsewhere finds them.
fn initials(words: &[Word]) -> impl Iterator<Item = u32> + '_ {
    (0..words.len())
        .filter(|&i| words[i].capital && !words[i].caps)
        .flat_map(move |start| {
            let mut initials = String::new();
            words[start..]
                .iter()
                .take(4)
                .map_while(|w| match &w.form {
                    Form::Term(t) => t.chars().next(),
                    _ => None,
                })
                .filter_map(move |c| {
                    initials.push(c);
                    (initials.chars().count() >= 2).then(|| hash(&initials))
                })
                .collect::<Vec<u32>>()
        })
}

/// For each title word in a run of two to four capitalized words, the run's
/// initials (`United Kingdom`: `uk`), else 0.
fn runs(words: &[Word]) -> Vec<u32> {
    let mut out = vec![0; words.len()];
    let capital = |w: &Word| w.capital && !w.caps && matches!(w.form, Form::Term(_));
    let mut start = 0;
    while start < words.len() {
        let len = words[start..].iter().take_while(|w| capital(w)).count();
        if (2..=4).contains(&len) {
            let initials: String = words[start..start + len]
                .iter()
                .filter_map(|w| match &w.form {
                    Form::Term(t) => t.chars().next(),
                    _ => None,
                })
                .collect();
            out[start..start + len].fill(hash(&initials));
        }
        start += len.max(1);
    }
    out
}
