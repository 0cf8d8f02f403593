//! BERT basic tokenization (uncased), exactly as Hugging Face's `BertNormalizer` +
//! `BertPreTokenizer`: drop control characters, turn whitespace into spaces, isolate CJK
//! ideographs, strip accents (NFD, drop non-spacing marks), lowercase, then split on whitespace
//! and isolate punctuation. Every normalized character remembers the byte range of the source
//! character it came from, so tokens can point back into the user's text.

use unicode_categories::UnicodeCategories;
use unicode_normalization::char::decompose_canonical;

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

/// Normalizes `text` (found at byte `base` of the source) into (char, source span) pairs.
///
/// Accents are stripped one source character at a time; that equals NFD of the whole string
/// except for canonical reordering, which only moves the non-spacing marks that are dropped.
fn normalize(text: &str, base: usize, out: &mut Vec<(char, (usize, usize))>) {
    for (i, c) in text.char_indices() {
        let span = (base + i, base + i + c.len_utf8());
        if c == '\0' || c == '\u{FFFD}' || is_control(c) {
            continue;
        }
        if is_whitespace(c) {
            out.push((' ', span));
        } else {
            // CJK ideographs are isolated before NFD, as in the reference: compatibility
            // ideographs (U+F900..) then decompose into the unified ones the vocabulary holds.
            let cjk = is_cjk(c);
            if cjk {
                out.push((' ', span));
            }
            decompose_canonical(c, |d| {
                if !d.is_mark_nonspacing() {
                    out.extend(d.to_lowercase().map(|l| (l, span)));
                }
            });
            if cjk {
                out.push((' ', span));
            }
        }
    }
}

/// Basic tokenization of `text` (at byte `base` of the source) into words, appended to `words`.
pub fn basic_tokenize(text: &str, base: usize, words: &mut Vec<Word>) {
    let mut chars = Vec::with_capacity(text.len());
    normalize(text, base, &mut chars);
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
    fn spans_point_into_the_source() {
        let mut w = Vec::new();
        basic_tokenize("xé 中", 10, &mut w);
        assert_eq!(w[0].spans, [(10, 11), (11, 13)]);
        assert_eq!(w[1].spans, [(14, 17)]);
    }
}
