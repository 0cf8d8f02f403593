//! BERT basic tokenization (uncased), exactly as Hugging Face's `BertNormalizer` +
//! `BertPreTokenizer`: drop control characters, turn whitespace into spaces, isolate CJK
//! ideographs, strip accents (NFD, drop non-spacing marks), lowercase, then split on whitespace
//! and isolate punctuation. Every normalized character remembers the byte range of the source
//! character it came from, so tokens can point back into the user's text.

use unicode_categories::UnicodeCategories;
use unicode_normalization_alignments::char::{canonical_combining_class, decompose_canonical};

/// What the normalizer does besides cleaning: HF `BertNormalizer`'s `lowercase` and
/// `strip_accents` (uncased models: both; cased models such as bert-base-cased: neither).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Normalization {
    pub lowercase: bool,
    pub strip_accents: bool,
}

impl Normalization {
    /// BERT uncased (MiniLM): lowercase, strip accents.
    pub const UNCASED: Normalization = Normalization { lowercase: true, strip_accents: true };
}

impl Default for Normalization {
    fn default() -> Normalization {
        Normalization::UNCASED
    }
}

/// A word after basic tokenization: its normalized text, and for each of its characters the
/// byte range in the source text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub spans: Vec<(usize, usize)>,
}

/// Whitespace as BERT sees it: \t \n \r count although they are control characters.
fn is_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || c.is_whitespace()
}

/// Control (and other invisible) characters BERT drops: categories Cc, Cf, Cn, Co.
fn is_control(c: char) -> bool {
    !matches!(c, '\t' | '\n' | '\r') && c.is_other()
}

/// CJK ideographs, each of which becomes its own word (Hangul, kana etc. do not).
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0x2A700..=0x2B73F
        | 0x2B740..=0x2B81F | 0x2B920..=0x2CEAF | 0xF900..=0xFAFF | 0x2F800..=0x2FA1F)
}

/// BERT's punctuation: all ASCII non-alphanumeric printables (so `$`, `+`, `^` count) plus
/// every Unicode P* character. The `unicode_categories` tables are the ones the reference uses.
pub fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation() || c.is_punctuation()
}

/// Normalizes `text` (found at byte `base` of the source) into (char, source span) pairs, in the
/// reference's order: clean, isolate CJK, NFD and drop non-spacing marks (when stripping
/// accents), lowercase (when lowercasing).
fn normalize(text: &str, base: usize, norm: Normalization, out: &mut Vec<(char, (usize, usize))>) {
    let mut cleaned: Vec<(char, (usize, usize))> = Vec::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        let span = (base + i, base + i + c.len_utf8());
        if c == '\0' || c == '\u{FFFD}' || is_control(c) {
            continue;
        }
        if is_whitespace(c) {
            cleaned.push((' ', span));
        } else if is_cjk(c) {
            // Isolated before NFD, as in the reference: compatibility ideographs (U+F900..)
            // then decompose into the unified ones the vocabulary holds.
            cleaned.extend([(' ', span), (c, span), (' ', span)]);
        } else {
            cleaned.push((c, span));
        }
    }
    if !norm.strip_accents {
        for (c, span) in cleaned {
            match norm.lowercase {
                true => out.extend(c.to_lowercase().map(|l| (l, span))),
                false => out.push((c, span)),
            }
        }
        return;
    }
    // NFD: (char, whether it is the first char of its decomposition).
    let mut nfd: Vec<(char, bool)> = Vec::with_capacity(cleaned.len());
    for &(c, _) in &cleaned {
        let mut first = true;
        decompose_canonical(c, |d| {
            nfd.push((d, first));
            first = false;
        });
    }
    canonical_reorder(&mut nfd);
    // Spans follow the reference's alignment tracking: after reordering, each first char takes
    // the next source char's span and each added char the span of the last one taken. So a kept
    // spacing mark (e.g. U+302E) moved past a stripped accent takes the accent's span.
    let mut next = 0;
    for (c, first) in nfd {
        if first {
            next += 1;
        }
        let span = cleaned[next.max(1) - 1].1;
        if c.is_mark_nonspacing() {
            continue;
        }
        match norm.lowercase {
            true => out.extend(c.to_lowercase().map(|l| (l, span))),
            false => out.push((c, span)),
        }
    }
}

/// NFD's canonical ordering: each run of combining characters is stably sorted by combining
/// class (with Unicode 9 tables, as the reference).
fn canonical_reorder(chars: &mut [(char, bool)]) {
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        while i < chars.len() && canonical_combining_class(chars[i].0) != 0 {
            i += 1;
        }
        chars[start..i].sort_by_key(|c| canonical_combining_class(c.0));
        i += 1;
    }
}

/// Basic tokenization of `text` (at byte `base` of the source) into words, appended to `words`.
pub fn basic_tokenize(text: &str, base: usize, words: &mut Vec<Word>) {
    basic_tokenize_with(text, base, Normalization::UNCASED, words)
}

/// [`basic_tokenize`] with the normalizer's settings of a given model.
pub fn basic_tokenize_with(text: &str, base: usize, norm: Normalization, words: &mut Vec<Word>) {
    let mut chars = Vec::with_capacity(text.len());
    normalize(text, base, norm, &mut chars);
    let mut cur = Word { text: String::new(), spans: Vec::new() };
    let flush = |cur: &mut Word, words: &mut Vec<Word>| {
        if !cur.text.is_empty() {
            words.push(std::mem::replace(cur, Word { text: String::new(), spans: Vec::new() }));
        }
    };
    for (c, span) in chars {
        if c.is_whitespace() {
            flush(&mut cur, words);
        } else if is_punctuation(c) {
            flush(&mut cur, words);
            words.push(Word { text: c.to_string(), spans: vec![span] });
        } else {
            cur.text.push(c);
            cur.spans.push(span);
        }
    }
    flush(&mut cur, words);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        let mut w = Vec::new();
        basic_tokenize(s, 0, &mut w);
        w.into_iter().map(|w| w.text).collect()
    }

    #[test]
    fn cleans_lowercases_strips_and_splits() {
        assert_eq!(words("Héllo,  WORLD!"), ["hello", ",", "world", "!"]);
        assert_eq!(words("a\u{0}b\u{200B}c\u{FFFD}d\te"), ["abcd", "e"]);
        assert_eq!(words("我爱nlp"), ["我", "爱", "nlp"]);
        // U+F9C9 is a compatibility ideograph whose canonical decomposition is U+67F3.
        assert_eq!(words("a\u{F9C9}b"), ["a", "\u{67F3}", "b"]);
        assert_eq!(words("$5+3^2"), ["$", "5", "+", "3", "^", "2"]);
        assert_eq!(words("İstanbul «ok»"), ["istanbul", "«", "ok", "»"]);
        assert!(words(" \n\t ").is_empty());
    }

    #[test]
    fn cased_models_keep_case_and_accents() {
        let words = |s: &str, lowercase, strip_accents| {
            let mut w = Vec::new();
            basic_tokenize_with(s, 0, Normalization { lowercase, strip_accents }, &mut w);
            w.into_iter().map(|w| w.text).collect::<Vec<_>>()
        };
        assert_eq!(words("Héllo, WORLD", false, false), ["Héllo", ",", "WORLD"]);
        assert_eq!(words("Héllo, WORLD", true, false), ["héllo", ",", "world"]);
        assert_eq!(words("Héllo, WORLD", false, true), ["Hello", ",", "WORLD"]);
    }

    #[test]
    fn spans_point_into_the_source() {
        let mut w = Vec::new();
        basic_tokenize("xé 中", 10, &mut w);
        assert_eq!(w[0].spans, [(10, 11), (11, 13)]);
        assert_eq!(w[1].spans, [(14, 17)]);
        // U+0361 (class 234) and U+302E (class 224) swap places under NFD; the spans do not.
        let mut w = Vec::new();
        basic_tokenize("a\u{361}\u{302E}", 0, &mut w);
        assert_eq!(w[0].text, "a\u{302E}");
        assert_eq!(w[0].spans, [(0, 1), (1, 3)]);
        // ň = n + U+030C (class 230, added by the decomposition) moves after U+302F (class 224),
        // which keeps its own span.
        let mut w = Vec::new();
        basic_tokenize("\u{148}\u{302F}", 0, &mut w);
        assert_eq!(w[0].text, "n\u{302F}");
        assert_eq!(w[0].spans, [(0, 2), (2, 5)]);
    }
}
