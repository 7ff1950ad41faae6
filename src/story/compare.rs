//! Two prints, one story or two. Precision first: anything that disagrees
//! keeps them apart, and only then is the likeness weighed.
//!
//! What keeps two items apart ([`Apart`]):
//! - **numbers**: each title has a number the other item never gives (spans
//!   of time, `28-year high`, are weighed only against other spans: the same
//!   span is often written as a year);
//! - **names**: each title names someone or somewhere the other never does,
//!   and they agree on at most one name;
//! - **order**: two names or numbers both titles give, swapped around the same
//!   words (`Arsenal beat Tottenham`, `Tottenham beat Arsenal`);
//! - **slot**: one headline with one part changed (`Gold hits record high`,
//!   `Silver hits record high`): the titles are mostly the same words in the
//!   same order, and each has a word the other item never uses;
//! - **weak**: nothing disagrees, but too little is shared beyond who the
//!   titles are about (`Pope Francis admitted to hospital`, `Pope Francis
//!   visits Indonesia`: two stories about the same people).
//!
//! "Never gives" means nowhere in the other's title, summary or the opening
//! of its body: an outlet that leaves a detail out of its headline usually
//! gives it below.
//!
//! A comparison is a few hundred operations on the two prints' title words
//! as bits of a `u32`, with no allocation: a merge makes thousands.

use super::Print;

/// The outcome of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Same,
    Apart(Apart),
}

/// Why two items are two stories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Apart {
    Numbers,
    Names,
    Order,
    Slot,
    Weak,
}

impl Apart {
    pub fn as_str(self) -> &'static str {
        match self {
            Apart::Numbers => "numbers",
            Apart::Names => "names",
            Apart::Order => "order",
            Apart::Slot => "slot",
            Apart::Weak => "weak",
        }
    }
}

/// Titles that share this share of their words in order are one headline
/// with a part changed, not two outlets' own words.
const TEMPLATE: f64 = 0.6;

pub fn compare(a: &Print, b: &Print) -> Verdict {
    // The cheapest first: most titles that share words but not a story
    // differ in a number.
    if lone_number(a, b) && lone_number(b, a) {
        return Verdict::Apart(Apart::Numbers);
    }
    let (ab, ba) = (Side::new(a, b), Side::new(b, a));
    if ab.lone_names() > 0 && ba.lone_names() > 0 && shared_names(&ab, &ba) < 2 {
        return Verdict::Apart(Apart::Names);
    }
    let template = template(a, b);
    if swapped(&ab, &ba, template) {
        return Verdict::Apart(Apart::Order);
    }
    if template && ab.lone_words() > 0 && ba.lone_words() > 0 {
        return Verdict::Apart(Apart::Slot);
    }
    let (event, event_cover) = event(&ab, &ba);
    if likeness(event, event_cover) {
        Verdict::Same
    } else {
        Verdict::Apart(Apart::Weak)
    }
}

/// Whether two items that nothing sets apart share enough of one event:
/// names or numbers beyond who the titles are about, and words.
fn likeness(event: usize, cover: f64) -> bool {
    (event >= 2 && cover >= 0.3) || (event >= 1 && cover >= 0.35) || cover >= 0.5
}

/// What a comparison weighs, for reports (`examples/stories.rs`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Features {
    /// Whether each title has a number (or a span) the other never gives.
    pub lone_numbers: (bool, bool),
    /// Names in each title the other item never gives, and names of either
    /// title that the other gives.
    pub lone_names: (usize, usize),
    pub shared_names: usize,
    /// Two names or numbers (any two words, in a template or two titles in
    /// Title Case) both titles give, swapped around the same words.
    pub swapped: bool,
    /// The titles are one headline with a part changed.
    pub template: bool,
    /// Words (not numbers) in each title that the other item never uses.
    pub lone_words: (usize, usize),
    /// Names and numbers of either title that the other item gives, and
    /// specific numbers both leads give, beyond the titles' common subject.
    pub event: usize,
    /// The share of the titles' words, their common subject aside, that the
    /// other item gives.
    pub event_cover: f64,
}

impl Features {
    pub fn of(a: &Print, b: &Print) -> Features {
        let (ab, ba) = (Side::new(a, b), Side::new(b, a));
        let template = template(a, b);
        let (event, event_cover) = event(&ab, &ba);
        Features {
            lone_numbers: (lone_number(a, b), lone_number(b, a)),
            lone_names: (ab.lone_names(), ba.lone_names()),
            shared_names: shared_names(&ab, &ba),
            swapped: swapped(&ab, &ba, template),
            template,
            lone_words: (ab.lone_words(), ba.lone_words()),
            event,
            event_cover,
        }
    }
}

/// One side of a comparison: `x`'s title as `y` reads it, each title word a
/// bit.
struct Side<'a> {
    x: &'a Print,
    /// The first place of each word (a word may recur).
    first: u32,
    /// Words that are names, numbers, spans; and those `y` gives.
    name: u32,
    number: u32,
    span: u32,
    given: u32,
}

impl<'a> Side<'a> {
    fn new(x: &'a Print, y: &'a Print) -> Self {
        let t = &x.title;
        let (mut first, mut name, mut given) = (0u32, 0u32, 0u32);
        let (mut numbers, mut spans) = (x.title_numbers.iter(), x.title_spans.iter());
        for (i, &h) in t.iter().enumerate().take(32) {
            let bit = 1u32 << i;
            if !t[..i].contains(&h) {
                first |= bit;
            }
            // A word is a name as its title writes it; where the title's
            // capitals say nothing (its first word, Title Case), as either
            // item writes it elsewhere.
            let elsewhere = (i == 0 && x.initial.is_some()) || x.cased;
            if x.title_names & bit != 0
                || elsewhere
                    && (x.names.binary_search(&h).is_ok() || y.names.binary_search(&h).is_ok())
            {
                name |= bit;
            }
            let gives = if x.title_number_bits & bit != 0 {
                numbers.next().is_some_and(|&n| gives_number(y, n))
            } else if x.title_span_bits & bit != 0 {
                spans.next().is_some_and(|n| y.spans.contains(n))
            } else {
                y.uses(h) || x.title_runs.get(i).is_some_and(|&r| r != 0 && y.uses(r))
            };
            if gives {
                given |= bit;
            }
        }
        let words = if t.len() >= 32 {
            u32::MAX
        } else {
            (1u32 << t.len()) - 1
        };
        Side {
            x,
            first: first & words,
            name: name & !(x.title_number_bits | x.title_span_bits),
            number: x.title_number_bits,
            span: x.title_span_bits,
            given,
        }
    }

    fn anchors(&self) -> u32 {
        self.name | self.number | self.span
    }

    fn lone_names(&self) -> usize {
        (self.first & self.name & !self.given).count_ones() as usize
    }

    fn lone_words(&self) -> usize {
        (self.first & !(self.number | self.span) & !self.given).count_ones() as usize
    }

    /// Who the title is about: its words up to the end of its first run of
    /// names, when that run starts among its first three words (`Pope
    /// Francis`, `Le pape François`, `Kenya: William Ruto`).
    fn subject(&self) -> &'a [u32] {
        let t = &self.x.title;
        let Some(start) = (0..t.len().min(3)).find(|&i| self.name & (1 << i) != 0) else {
            return &[];
        };
        let end = (start..t.len().min(32))
            .take_while(|&i| self.name & (1 << i) != 0)
            .last()
            .unwrap_or(start);
        &t[..=end]
    }

    /// Positions of `bits`, in order.
    fn at(bits: u32) -> impl Iterator<Item = usize> {
        (0..32).filter(move |&i| bits & (1 << i) != 0)
    }
}

/// Whether `x`'s title has a number (or a span) that `y` never gives.
fn lone_number(x: &Print, y: &Print) -> bool {
    x.title_numbers.iter().any(|&n| !gives_number(y, n))
        || !y.spans.is_empty() && x.title_spans.iter().any(|n| !y.spans.contains(n))
}

/// Names of either title that the other item gives, each once.
fn shared_names(ab: &Side, ba: &Side) -> usize {
    let mine = ab.first & ab.name & ab.given;
    let theirs = Side::at(ba.first & ba.name & ba.given)
        .filter(|&i| {
            let h = ba.x.title[i];
            !Side::at(mine).any(|j| ab.x.title[j] == h)
        })
        .count();
    mine.count_ones() as usize + theirs
}

/// Anchors given by the other item, beyond the subject both titles share,
/// plus specific numbers of the leads both give; and the share of title
/// words outside that subject that the other gives.
fn event(ab: &Side, ba: &Side) -> (usize, f64) {
    let (sa, sb) = (ab.subject(), ba.subject());
    let common = |h: &u32| sa.contains(h) && sb.contains(h);
    let outside = |s: &Side| {
        Side::at(s.first)
            .filter(|&i| !common(&s.x.title[i]))
            .fold(0u32, |bits, i| bits | 1 << i)
    };
    let (oa, ob) = (outside(ab), outside(ba));
    let given_a = oa & ab.anchors() & ab.given;
    let given_b = Side::at(ob & ba.anchors() & ba.given)
        .filter(|&i| {
            let h = ba.x.title[i];
            !Side::at(given_a).any(|j| ab.x.title[j] == h)
        })
        .count();
    let (a, b) = (ab.x, ba.x);
    let lead_numbers = a
        .numbers
        .iter()
        .filter(|&&n| specific(n) && !a.title_numbers.contains(&n) && !b.title_numbers.contains(&n))
        .filter(|&&n| gives_number(b, n))
        .count();
    let words = (oa.count_ones() + ob.count_ones()) as usize;
    let given = ((oa & ab.given).count_ones() + (ob & ba.given).count_ones()) as usize;
    (
        given_a.count_ones() as usize + given_b + lead_numbers,
        given as f64 / words.max(1) as f64,
    )
}

/// Whether a print gives a number: the same, or within 1% for numbers of
/// 100 and more, which outlets round (`239,000` and `nearly 240,000`).
fn gives_number(p: &Print, n: i64) -> bool {
    p.numbers.iter().any(|&m| close(m, n))
}

fn close(a: i64, b: i64) -> bool {
    a == b || (a.abs().min(b.abs()) >= 100_000 && (a - b).abs() * 100 <= a.abs().max(b.abs()))
}

/// A number that says which story it is: with decimals or in the hundreds
/// and more, and not a year.
fn specific(n: i64) -> bool {
    let whole = n % 1000 == 0;
    !whole || (n >= 100_000 && !(1_900_000..=2_100_000).contains(&n))
}

/// Whether the titles are one headline with a part changed: most of their
/// words in the same order.
fn template(a: &Print, b: &Print) -> bool {
    let common = lcs(&a.title, &b.title);
    let longest = a.title.len().max(b.title.len());
    common >= 2 && common as f64 >= TEMPLATE * longest as f64
}

/// The length of the longest common subsequence of two titles (of at most
/// 32 words each).
fn lcs(a: &[u32], b: &[u32]) -> usize {
    let b = &b[..b.len().min(32)];
    let mut row = [0u8; 33];
    for &x in a.iter().take(32) {
        let mut diagonal = 0;
        for (j, &y) in b.iter().enumerate() {
            let up = row[j + 1];
            row[j + 1] = if x == y { diagonal + 1 } else { up.max(row[j]) };
            diagonal = up;
        }
    }
    usize::from(row[b.len()])
}

/// Whether two words both titles give appear in swapped order with the same
/// words between them, names and numbers aside: `Real Madrid 3-1 Barcelona`
/// and `Barcelona 3-1 Real Madrid`. The words weighed are names and numbers;
/// in a template any word (`Silver climbs as gold rallies`); in two titles in
/// Title Case any word too, and then only numbers count between (a name of
/// several words is words between two others).
fn swapped(ab: &Side, ba: &Side, template: bool) -> bool {
    let (a, b) = (&ab.x.title, &ba.x.title);
    let cased = ab.x.cased && ba.x.cased;
    let anchor_a = |i: usize| ab.anchors() & (1 << i) != 0;
    let anchor_b = |j: usize| ba.anchors() & (1 << j) != 0;
    // Words in both titles (first places), weighed.
    let mut pairs: [(u8, u8); 32] = [(0, 0); 32];
    let mut n = 0;
    for i in Side::at(ab.first) {
        let Some(j) = b.iter().take(32).position(|&h| h == a[i]) else {
            continue;
        };
        if template || cased || anchor_a(i) || anchor_b(j) {
            pairs[n] = (i as u8, j as u8);
            n += 1;
        }
    }
    let pairs = &pairs[..n];
    // What lies between two places: words that are not anchors (of either
    // title: a word is an anchor if either says so); in Title Case, numbers.
    let anchor = |h: u32| {
        a.iter()
            .enumerate()
            .take(32)
            .any(|(i, &x)| x == h && anchor_a(i))
            || b.iter()
                .enumerate()
                .take(32)
                .any(|(j, &x)| x == h && anchor_b(j))
    };
    let keep_a = |k: usize| {
        if cased {
            ab.number & (1 << k) != 0
        } else {
            !anchor(a[k])
        }
    };
    let keep_b = |k: usize| {
        if cased {
            ba.number & (1 << k) != 0
        } else {
            !anchor(b[k])
        }
    };
    pairs.iter().any(|&(ai, bi)| {
        pairs.iter().any(|&(aj, bj)| {
            let (ai, bi, aj, bj) = (ai as usize, bi as usize, aj as usize, bj as usize);
            ai < aj
                && bj < bi
                && (ai + 1..aj)
                    .filter(|&k| keep_a(k))
                    .map(|k| a[k])
                    .eq((bj + 1..bi).filter(|&k| keep_b(k)).map(|k| b[k]))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(a: &str, b: &str) -> Verdict {
        compare(&Print::from_text(a, ""), &Print::from_text(b, ""))
    }

    #[test]
    fn each_disagreement_keeps_two_stories_apart() {
        let apart = |a, b| match verdict(a, b) {
            Verdict::Apart(why) => why,
            Verdict::Same => panic!("merged: {a} / {b}"),
        };
        assert_eq!(
            apart(
                "Egypt bus accident kills twelve in Minya",
                "Egypt bus accident kills nine in Minya"
            ),
            Apart::Numbers
        );
        assert_eq!(
            apart(
                "Rail strike halts trains across France",
                "Rail strike halts trains across Belgium"
            ),
            Apart::Names
        );
        assert_eq!(
            apart(
                "Arsenal beat Tottenham 2-1 in the derby",
                "Tottenham beat Arsenal 2-1 in the derby"
            ),
            Apart::Order
        );
        assert_eq!(
            apart(
                "Gold hits record high as investors seek safety",
                "Silver hits record high as investors seek safety"
            ),
            Apart::Slot
        );
        assert_eq!(
            apart(
                "Pope Francis admitted to hospital with bronchitis",
                "Pope Francis visits Indonesia at start of Asia tour"
            ),
            Apart::Weak
        );
    }

    #[test]
    fn the_same_story_in_other_words_is_one() {
        let a = Print::from_text(
            "Egypt bus accident kills twelve in Minya",
            "A minibus collided with a lorry on the desert road, killing twelve people.",
        );
        let b = Print::from_text(
            "Twelve killed as minibus hits truck in Egypt's Minya",
            "Eight others were hurt in the crash on the Western Desert road, officials said.",
        );
        assert_eq!(compare(&a, &b), Verdict::Same);
        assert_eq!(compare(&b, &a), Verdict::Same, "either way round");
        // Rounded the way outlets round: 239,000 is nearly 240,000.
        assert_eq!(
            verdict(
                "Tesla recalls 239,000 vehicles over camera fault",
                "Tesla recalls nearly 240,000 vehicles over camera fault"
            ),
            Verdict::Same
        );
    }
}
