//! Text to the words a story is compared by: Unicode word boundaries
//! (unicode-segmentation, UAX #29), stop words dropped (NLTK's lists, from
//! stop-words), Snowball stems (rust-stemmers), numbers read as values
//! whether written `12`, `twelve`, `douze`, `1,000` or `2 790`, and each
//! word's capitalization, which says whether it may be a name.

use foldhash::fast::{FixedState, RandomState};
use rust_stemmers::{Algorithm, Stemmer};
use std::borrow::Cow;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::LazyLock;
use unicode_segmentation::UnicodeSegmentation;

/// The languages a story's words are stemmed in. Text in any other language
/// is compared by its lowercase words (English rules find nothing to cut).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Fr,
}

/// One word of a text, as compared.
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    pub form: Form,
    /// Written with a capital: a name, unless it starts a sentence.
    pub capital: bool,
    /// The first word of a sentence (its capital says nothing).
    pub initial: bool,
    /// Written in capitals (`UK`, `WHO`, `RSF`): an acronym, a name.
    pub caps: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Form {
    /// A stem, lowercase: shared with the thread's kept stems, not copied
    /// from them (a copy for each word was a twentieth of a print).
    Term(Rc<str>),
    /// A number, in thousandths (`3.2` is 3200), exact for what headlines
    /// print.
    Number(i64),
    /// A number of years, months, days... (`28-year high`, `depuis 14 ans`):
    /// the same span is often written as a date (`since 1996`), so it is
    /// compared only with other spans.
    Span(i64),
}

/// Stop words, each with the languages it is one in (English, French): one
/// lookup for both, as [`language`] asks for every word. Hashed with
/// foldhash's fixed state, not SipHash: a table of our own words, looked up
/// a few hundred times an item, where SipHash was a fiftieth of a first
/// poll; lookups of upstream words cannot flood a table nothing inserts in.
static STOPS: LazyLock<HashMap<&'static str, (bool, bool), FixedState>> = LazyLock::new(|| {
    let mut stops = HashMap::default();
    for &w in stop_words::get("en") {
        stops.entry(w).or_insert((false, false)).0 = true;
    }
    for &w in stop_words::get("fr") {
        stops.entry(w).or_insert((false, false)).1 = true;
    }
    stops
});

fn stop(lower: &str, lang: Lang) -> bool {
    STOPS
        .get(lower)
        .is_some_and(|&(en, fr)| if lang == Lang::En { en } else { fr })
}

/// A word lowercase, copied only when that changes it (most words of a
/// text have no capital): exactly `str::to_lowercase`.
fn lowercase(word: &str) -> Cow<'_, str> {
    let unchanged = |c: char| {
        let mut lower = c.to_lowercase();
        lower.next() == Some(c) && lower.next().is_none()
    };
    if word.bytes().all(|b| !b.is_ascii_uppercase())
        && (word.is_ascii() || word.chars().all(unchanged))
    {
        Cow::Borrowed(word)
    } else {
        Cow::Owned(word.to_lowercase())
    }
}
static STEM_EN: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::English));
static STEM_FR: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::French));

/// A text's words as UAX #29 bounds them, segmented as far as they are
/// read and kept: the language and the words read the same ones, and
/// segmenting was half of what the language cost.
pub struct Tokens<'a> {
    text: &'a str,
    rest: unicode_segmentation::UnicodeWordIndices<'a>,
    read: Vec<(usize, &'a str)>,
}

impl<'a> Tokens<'a> {
    pub fn new(text: &'a str) -> Tokens<'a> {
        Tokens {
            text,
            rest: text.unicode_word_indices(),
            read: Vec::new(),
        }
    }

    /// Word `i` and where it starts, if the text has that many.
    fn get(&mut self, i: usize) -> Option<(usize, &'a str)> {
        while self.read.len() <= i {
            self.read.push(self.rest.next()?);
        }
        Some(self.read[i])
    }
}

/// Words the language is told from.
const LANGUAGE_WORDS: usize = 200;

/// The language of texts read one after the other (a title, then its lead):
/// the one whose stop words they use more (English when neither shows).
pub fn language(texts: &mut [&mut Tokens<'_>]) -> Lang {
    let (mut en, mut fr) = (0usize, 0usize);
    let mut left = LANGUAGE_WORDS;
    for tokens in texts.iter_mut() {
        let mut i = 0;
        while left > 0
            && let Some((_, w)) = tokens.get(i)
        {
            for part in w.split(APOSTROPHES) {
                if let Some(&(e, f)) = STOPS.get(lowercase(part).as_ref()) {
                    en += usize::from(e);
                    fr += usize::from(f);
                }
            }
            (i, left) = (i + 1, left - 1);
        }
    }
    if fr > en { Lang::Fr } else { Lang::En }
}

const APOSTROPHES: &[char] = &['\'', '\u{2019}', '\u{02BC}'];

/// Spaces that may separate thousands (`2 790`, `100 000`).
fn thousands_gap(gap: &str) -> bool {
    matches!(gap, " " | "\u{a0}" | "\u{202f}" | "\u{2009}")
}

/// The words of a text, at most `max` of them, in order.
pub fn words(tokens: &mut Tokens<'_>, lang: Lang, max: usize) -> Vec<Word> {
    let text = tokens.text;
    let mut out: Vec<Word> = Vec::new();
    let mut initial = true;
    let mut after_number = false;
    let mut end = 0;
    let mut next = 0;
    while out.len() < max {
        let Some((start, token)) = tokens.get(next) else {
            break;
        };
        next += 1;
        if text[end..start].contains(['.', '!', '?']) {
            initial = true;
        }
        // Digits grouped by spaces are one number.
        let mut number = String::new();
        if token.bytes().all(|b| b.is_ascii_digit()) && token.len() <= 3 {
            number.push_str(token);
            let mut last = start + token.len();
            while let Some((s, t)) = tokens.get(next)
                && t.len() == 3
                && t.bytes().all(|b| b.is_ascii_digit())
                && thousands_gap(&text[last..s])
            {
                number.push_str(t);
                last = s + t.len();
                next += 1;
            }
            end = last;
        } else {
            end = start + token.len();
        }
        let token = if number.is_empty() {
            token
        } else {
            number.as_str()
        };
        // A span's unit follows its number (`14 ans`, `28-year`).
        if after_number
            && SPANS.contains(&token.to_lowercase().as_str())
            && let Some(last) = out.last_mut()
            && let Form::Number(n) = last.form
        {
            last.form = Form::Span(n);
        }
        let before = out.len();
        for part in token.split(APOSTROPHES).filter(|p| !p.is_empty()) {
            word(part, lang, initial, &mut out);
        }
        after_number = out.len() > before && matches!(out[out.len() - 1].form, Form::Number(_));
        initial = false;
    }
    out.truncate(max);
    out
}

/// Units of time: a number before one is a [`Form::Span`]. (They are no
/// stop words, so they also stay words of their own.)
const SPANS: &[&str] = &[
    "year",
    "years",
    "yr",
    "yrs",
    "month",
    "months",
    "week",
    "weeks",
    "day",
    "days",
    "hour",
    "hours",
    "decade",
    "decades",
    "an",
    "ans",
    "année",
    "années",
    "mois",
    "semaine",
    "semaines",
    "jour",
    "jours",
    "heure",
    "heures",
    "décennie",
    "décennies",
];

/// Reads one word (no apostrophe) into `out`: a number, a unit after one
/// (`16bn`), or a stem; stop words and single letters give nothing.
fn word(part: &str, lang: Lang, initial: bool, out: &mut Vec<Word>) {
    let digits = part
        .char_indices()
        .take_while(|(_, c)| c.is_ascii_digit() || *c == '.' || *c == ',')
        .last()
        .map_or(0, |(i, c)| i + c.len_utf8());
    if digits > 0 && part.as_bytes()[0].is_ascii_digit() {
        let unit = &part[digits..];
        // `100k` is 100,000, as it would be written out.
        let thousands = unit.eq_ignore_ascii_case("k");
        if let Some(n) = number(&part[..digits]) {
            out.push(Word {
                form: Form::Number(if thousands { n.saturating_mul(1000) } else { n }),
                capital: false,
                initial,
                caps: false,
            });
        }
        if unit.chars().count() >= 2 {
            word(unit, lang, false, out);
        }
        return;
    }
    let capital = part.chars().next().is_some_and(char::is_uppercase);
    let letters = part.chars().filter(|c| c.is_alphabetic()).count();
    let caps = letters >= 2 && !part.chars().any(char::is_lowercase);
    let lower = lowercase(part);
    if let Some(n) = number_word(&lower) {
        out.push(Word {
            form: Form::Number(n * 1000),
            capital: false,
            initial,
            caps: false,
        });
        return;
    }
    // `US` is a name, `us` a stop word.
    if (stop(&lower, lang) && !caps) || letters < 2 {
        return;
    }
    let lower = unit_word(&lower).unwrap_or(&lower);
    out.push(Word {
        form: Form::Term(stem(lower, lang)),
        capital,
        initial,
        caps,
    });
}

/// Stems this thread has made, per language, at most [`STEMS_KEPT`] each: a
/// news text's words repeat from item to item, and a lookup costs a fraction
/// of Snowball's rules (stemming was a sixth of a new item's print).
const STEMS_KEPT: usize = 16_384;

thread_local! {
    /// Keyed by upstream words: foldhash seeded per process, not fixed.
    static STEMS: std::cell::RefCell<[HashMap<String, Rc<str>, RandomState>; 2]> =
        std::cell::RefCell::new([HashMap::default(), HashMap::default()]);
}

/// The stem of a lowercase word.
fn stem(lower: &str, lang: Lang) -> Rc<str> {
    STEMS.with_borrow_mut(|stems| {
        let kept = &mut stems[lang as usize];
        if let Some(stem) = kept.get(lower) {
            return stem.clone();
        }
        let stem: Rc<str> = match lang {
            Lang::En => STEM_EN.stem(lower),
            Lang::Fr => STEM_FR.stem(lower),
        }
        .into();
        if kept.len() >= STEMS_KEPT {
            kept.clear();
        }
        kept.insert(lower.to_owned(), stem.clone());
        stem
    })
}

/// A number as printed: `1,000` and `1.000.000` group thousands, `3.2` and
/// `34,2` have decimals. In thousandths; `None` past what an i64 holds.
fn number(s: &str) -> Option<i64> {
    let s = s.trim_end_matches(['.', ',']);
    let groups_of_three = |sep: char| s.split(sep).skip(1).all(|g| g.len() == 3) && s.contains(sep);
    let plain: String = if s.contains(',') && s.contains('.') {
        // 1,234.5 or 1.234,5: the last separator is the decimal one.
        let (thousands, decimal) = if s.rfind('.') > s.rfind(',') {
            (',', '.')
        } else {
            ('.', ',')
        };
        s.replace(thousands, "").replace(decimal, ".")
    } else if groups_of_three(',') && s.matches(',').count() >= 1 && !s.starts_with('0') {
        s.replace(',', "")
    } else if s.matches('.').count() > 1 && groups_of_three('.') {
        s.replace('.', "")
    } else {
        s.replace(',', ".")
    };
    let value: f64 = plain.parse().ok()?;
    let milli = (value * 1000.0).round();
    (milli.is_finite() && milli.abs() < 9e15).then_some(milli as i64)
}

/// Numbers written as words, in the languages stories are compared in.
/// (`one`, `un`, `une` are left out: they are more often articles.)
fn number_word(lower: &str) -> Option<i64> {
    Some(match lower {
        "two" | "deux" => 2,
        "three" | "trois" => 3,
        "four" | "quatre" => 4,
        "five" | "cinq" => 5,
        "six" => 6,
        "seven" | "sept" => 7,
        "eight" | "huit" => 8,
        "nine" | "neuf" => 9,
        "ten" | "dix" => 10,
        "eleven" | "onze" => 11,
        "twelve" | "douze" => 12,
        "thirteen" | "treize" => 13,
        "fourteen" | "quatorze" => 14,
        "fifteen" | "quinze" => 15,
        "sixteen" | "seize" => 16,
        "seventeen" => 17,
        "eighteen" => 18,
        "nineteen" => 19,
        "twenty" | "vingt" => 20,
        "thirty" | "trente" => 30,
        "forty" | "quarante" => 40,
        "fifty" | "cinquante" => 50,
        "sixty" | "soixante" => 60,
        "seventy" => 70,
        "eighty" => 80,
        "ninety" => 90,
        "hundred" | "cent" => 100,
        "thousand" | "mille" => 1000,
        // Ordinals, as `13th` and `13e` read: `first` and `second` are left
        // out (a second is also a unit, `premier` a prime minister).
        "third" | "troisième" => 3,
        "fourth" | "quatrième" => 4,
        "fifth" | "cinquième" => 5,
        "sixth" | "sixième" => 6,
        "seventh" | "septième" => 7,
        "eighth" | "huitième" => 8,
        "ninth" | "neuvième" => 9,
        "tenth" | "dixième" => 10,
        "eleventh" | "onzième" => 11,
        "twelfth" | "douzième" => 12,
        "thirteenth" | "treizième" => 13,
        "fourteenth" | "quatorzième" => 14,
        "fifteenth" | "quinzième" => 15,
        "twentieth" | "vingtième" => 20,
        _ => return None,
    })
}

/// Abbreviated units written after a number, as their words.
fn unit_word(lower: &str) -> Option<&'static str> {
    Some(match lower {
        "bn" => "billion",
        "tn" => "trillion",
        "mn" => "million",
        "md" | "mds" | "mrd" | "mrds" => "milliard",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forms(text: &str, lang: Lang) -> Vec<Form> {
        words(&mut Tokens::new(text), lang, 100)
            .into_iter()
            .map(|w| w.form)
            .collect()
    }

    fn language_of(text: &str) -> Lang {
        language(&mut [&mut Tokens::new(text)])
    }
    fn term(s: &str) -> Form {
        Form::Term(s.into())
    }

    #[test]
    fn numbers_as_values_however_printed() {
        let n = |s: &str| forms(s, Lang::En);
        assert_eq!(
            n("1,000 and 1 000"),
            [Form::Number(1_000_000), Form::Number(1_000_000)]
        );
        assert_eq!(n("3.2%"), [Form::Number(3_200)]);
        assert_eq!(n("twelve"), n("12"));
        assert_eq!(n("$16bn"), [Form::Number(16_000), term("billion")]);
        assert_eq!(
            forms("34,2 % et 2 790 dollars, douze", Lang::Fr)[..3],
            [
                Form::Number(34_200),
                Form::Number(2_790_000),
                term("dollar"),
            ]
        );
        assert_eq!(n("4.25%-4.5%"), [Form::Number(4_250), Form::Number(4_500)]);
        assert_eq!(n("99999999999999999999"), []);
    }

    #[test]
    fn capitals_stop_words_elisions() {
        let w = words(
            &mut Tokens::new("Alphabet's Waymo seeks funds. Then US and UK talks"),
            Lang::En,
            20,
        );
        let names: Vec<(&Form, bool, bool)> = w
            .iter()
            .map(|w| (&w.form, w.capital && !w.initial, w.caps))
            .collect();
        assert_eq!(
            names,
            [
                (&term("alphabet"), false, false),
                (&term("waymo"), true, false),
                (&term("seek"), false, false),
                (&term("fund"), false, false),
                (&term("us"), true, true),
                (&term("uk"), true, true),
                (&term("talk"), false, false),
            ]
        );
        assert_eq!(
            forms("l'aéroport d'Heathrow", Lang::Fr),
            [term("aéroport"), term("heathrow")]
        );
    }

    #[test]
    fn kept_stems_are_snowball_s() {
        let direct = |w: &str| STEM_EN.stem(w).into_owned();
        assert_eq!(&*stem("running", Lang::En), direct("running"));
        assert_eq!(&*stem("running", Lang::En), "run");
        // Past the bound the kept ones go, and stems stay right.
        for k in 0..=STEMS_KEPT {
            stem(&format!("walks{k}"), Lang::En);
        }
        assert_eq!(&*stem("running", Lang::En), "run");
        assert_eq!(&*stem("vols", Lang::Fr), STEM_FR.stem("vols"));
    }

    #[test]
    fn lowercase_is_str_to_lowercase() {
        for w in [
            "plain",
            "Capital",
            "ÉTÉ",
            "été",
            "ǅungla",
            "ΟΔΟΣ",
            "ⓐⒶ",
            "İstanbul",
            "x1",
        ] {
            assert_eq!(lowercase(w), w.to_lowercase(), "{w}");
        }
        assert!(matches!(lowercase("été"), Cow::Borrowed(_)));
    }

    #[test]
    fn language_by_stop_words() {
        assert_eq!(
            language_of("Les vols reprennent à l'aéroport de Khartoum"),
            Lang::Fr
        );
        assert_eq!(
            language_of("Flights return to the airport in Khartoum"),
            Lang::En
        );
        assert_eq!(language_of("Khartoum"), Lang::En);
    }

    /// The language of a title and its lead read one after the other is the
    /// language of the two joined by a space, read as one text, as it was
    /// told before their words were segmented once for both.
    #[test]
    fn language_of_title_then_lead_is_that_of_both_joined() {
        use proptest::prelude::*;
        fn joined(text: &str) -> Lang {
            let (mut en, mut fr) = (0usize, 0usize);
            for w in text.unicode_words().take(LANGUAGE_WORDS) {
                for part in w.split(APOSTROPHES) {
                    if let Some(&(e, f)) = STOPS.get(part.to_lowercase().as_str()) {
                        en += usize::from(e);
                        fr += usize::from(f);
                    }
                }
            }
            if fr > en { Lang::Fr } else { Lang::En }
        }
        const BITS: &[&str] = &[
            "the ",
            "of ",
            "le ",
            "la ",
            "des ",
            "et ",
            "and ",
            "l'",
            "d\u{2019}",
            "Khartoum ",
            "vols ",
            "flights ",
            "1,000 ",
            ". ",
            "-",
            "\u{e9}t\u{e9} ",
            "THE ",
            "Les ",
            " ",
        ];
        // The window spans both: the title's word and the lead's 199th
        // are the 200th read, the one after is past it.
        let neutral = "Khartoum ".repeat(198);
        for (lead, lang) in [
            (format!("{neutral}le"), Lang::Fr),
            (format!("{neutral}Khartoum le"), Lang::En),
        ] {
            let apart = language(&mut [&mut Tokens::new("Khartoum"), &mut Tokens::new(&lead)]);
            assert_eq!((apart, joined(&format!("Khartoum {lead}"))), (lang, lang));
        }
        proptest!(ProptestConfig::with_cases(500), |(
            title in proptest::collection::vec(0..BITS.len(), 0..30),
            lead in proptest::collection::vec(0..BITS.len(), 0..300),
        )| {
            let title: String = title.iter().map(|&i| BITS[i]).collect();
            let lead: String = lead.iter().map(|&i| BITS[i]).collect();
            let apart = language(&mut [&mut Tokens::new(&title), &mut Tokens::new(&lead)]);
            prop_assert_eq!(apart, joined(&format!("{title} {lead}")), "{:?} {:?}", title, lead);
        });
    }
}
