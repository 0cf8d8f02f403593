//! WordPiece (greedy longest match, `##` continuations) and the full BERT encoder around it:
//! special tokens found verbatim in the input, [CLS] A [SEP] (B [SEP]), token types and
//! longest-first truncation — the behaviour of Hugging Face `tokenizers` for BERT uncased.

use std::collections::HashMap;

use super::normalize::{basic_tokenize_with, Normalization, Word};
use crate::ensure;
use crate::error::{Error, Result};

/// Words longer than this (in characters) become [UNK], as in BERT.
const MAX_CHARS_PER_WORD: usize = 100;
/// BERT's position table: at most this many tokens, specials included.
pub const MAX_TOKENS: usize = 512;
/// Special tokens matched verbatim in the raw input (they are never normalized or split).
const SPECIALS: [&str; 5] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

/// A tokenized input, ready for the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encoding {
    /// Token strings, with [CLS]/[SEP].
    pub tokens: Vec<String>,
    pub ids: Vec<u32>,
    /// 0 for [CLS], segment A and its [SEP]; 1 for segment B and its [SEP].
    pub type_ids: Vec<u32>,
    /// Byte range of each token in its own segment's text; (0, 0) for [CLS]/[SEP].
    pub offsets: Vec<(usize, usize)>,
    /// Tokens were dropped to fit `MAX_TOKENS`.
    pub truncated: bool,
}

/// One piece of segment text as WordPiece output.
#[derive(Clone, Debug)]
struct Piece {
    token: String,
    id: u32,
    offsets: (usize, usize),
}

pub struct Tokenizer {
    vocab: Vec<String>,
    ids: HashMap<String, u32>,
    unk: u32,
    cls: u32,
    sep: u32,
    /// Specials present in the vocabulary, longest first for leftmost-longest matching.
    specials: Vec<(&'static str, u32)>,
    norm: Normalization,
}

impl Tokenizer {
    /// Builds a tokenizer from `vocab.txt` contents: one token per line, id = line number.
    pub fn from_vocab_txt(vocab_txt: &str) -> Result<Tokenizer> {
        let vocab: Vec<String> = vocab_txt.lines().map(|l| l.trim_end_matches('\r').to_string()).collect();
        Tokenizer::new(vocab)
    }

    /// An uncased tokenizer (lowercase, strip accents), as BERT uncased and MiniLM use.
    pub fn new(vocab: Vec<String>) -> Result<Tokenizer> {
        Tokenizer::with_normalization(vocab, Normalization::UNCASED)
    }

    pub fn with_normalization(vocab: Vec<String>, norm: Normalization) -> Result<Tokenizer> {
        ensure!(!vocab.is_empty(), "the vocabulary is empty");
        let mut ids = HashMap::with_capacity(vocab.len());
        for (i, t) in vocab.iter().enumerate() {
            // First occurrence wins, like HF's vocab.txt loader reading duplicates.
            ids.entry(t.clone()).or_insert(i as u32);
        }
        let need = |t: &str| ids.get(t).copied().ok_or_else(|| Error::Invalid(format!("the vocabulary has no {t} token")));
        let (unk, cls, sep) = (need("[UNK]")?, need("[CLS]")?, need("[SEP]")?);
        let mut specials: Vec<(&'static str, u32)> = SPECIALS.iter().filter_map(|s| ids.get(*s).map(|&id| (*s, id))).collect();
        specials.sort_by_key(|(s, _)| std::cmp::Reverse(s.len()));
        Ok(Tokenizer { vocab, ids, unk, cls, sep, specials, norm })
    }

    pub fn vocab_size(&self) -> usize {
        self.vocab.len()
    }

    pub fn token(&self, id: u32) -> Option<&str> {
        self.vocab.get(id as usize).map(String::as_str)
    }

    pub fn id(&self, token: &str) -> Option<u32> {
        self.ids.get(token).copied()
    }

    /// Tokenizes one or two segments into `[CLS] a [SEP] (b [SEP])`, truncated to 512 tokens.
    pub fn encode(&self, a: &str, b: Option<&str>) -> Encoding {
        self.encode_max(a, b, MAX_TOKENS)
    }

    /// `encode` with another limit (≥ the number of special tokens).
    pub fn encode_max(&self, a: &str, b: Option<&str>, max_tokens: usize) -> Encoding {
        let mut pa = self.segment(a);
        let mut pb = b.map(|b| self.segment(b));
        let added = if pb.is_some() { 3 } else { 2 };
        let budget = max_tokens.saturating_sub(added);
        let (na, nb) = truncated_lengths(pa.len(), pb.as_ref().map(Vec::len), budget);
        let truncated = na < pa.len() || pb.as_ref().is_some_and(|p| nb < p.len());
        pa.truncate(na);
        if let Some(p) = pb.as_mut() {
            p.truncate(nb);
        }

        let mut e = Encoding { tokens: vec![], ids: vec![], type_ids: vec![], offsets: vec![], truncated };
        let push = |e: &mut Encoding, token: &str, id: u32, ty: u32, off: (usize, usize)| {
            e.tokens.push(token.to_string());
            e.ids.push(id);
            e.type_ids.push(ty);
            e.offsets.push(off);
        };
        push(&mut e, "[CLS]", self.cls, 0, (0, 0));
        for (ty, seg) in std::iter::once(&pa).chain(pb.as_ref()).enumerate() {
            for p in seg {
                push(&mut e, &p.token, p.id, ty as u32, p.offsets);
            }
            push(&mut e, "[SEP]", self.sep, ty as u32, (0, 0));
        }
        e
    }

    /// WordPiece tokens of one segment, without specials added.
    fn segment(&self, text: &str) -> Vec<Piece> {
        let mut out = Vec::new();
        let mut rest_start = 0;
        // Specials typed by the user ("[MASK]") are tokens, as in the reference.
        while let Some((at, special, id)) = self.find_special(&text[rest_start..]) {
            self.words(&text[rest_start..rest_start + at], rest_start, &mut out);
            let s = rest_start + at;
            out.push(Piece { token: special.to_string(), id, offsets: (s, s + special.len()) });
            rest_start = s + special.len();
        }
        self.words(&text[rest_start..], rest_start, &mut out);
        out
    }

    /// The leftmost (then longest) special token in `text`: (byte position, token, id).
    fn find_special(&self, text: &str) -> Option<(usize, &'static str, u32)> {
        let mut from = 0;
        while let Some(i) = text[from..].find('[') {
            let at = from + i;
            if let Some(&(s, id)) = self.specials.iter().find(|(s, _)| text[at..].starts_with(s)) {
                return Some((at, s, id));
            }
            from = at + 1;
        }
        None
    }

    fn words(&self, text: &str, base: usize, out: &mut Vec<Piece>) {
        let mut words = Vec::new();
        basic_tokenize_with(text, base, self.norm, &mut words);
        for w in &words {
            self.wordpiece(w, out);
        }
    }

    /// Greedy longest-match-first WordPiece of one word; the whole word is [UNK] when it is too
    /// long or some part of it matches nothing.
    fn wordpiece(&self, word: &Word, out: &mut Vec<Piece>) {
        let span = |from: usize, to: usize| (word.spans[from].0, word.spans[to - 1].1);
        let chars: Vec<(usize, char)> = word.text.char_indices().collect();
        let n = chars.len();
        let unk = Piece { token: "[UNK]".into(), id: self.unk, offsets: span(0, n) };
        if n > MAX_CHARS_PER_WORD {
            out.push(unk);
            return;
        }
        let byte = |ci: usize| chars.get(ci).map_or(word.text.len(), |c| c.0);
        let mut pieces = Vec::new();
        let mut start = 0;
        let mut candidate = String::new();
        while start < n {
            let mut end = n;
            let found = loop {
                if end == start {
                    break None;
                }
                candidate.clear();
                if start > 0 {
                    candidate.push_str("##");
                }
                candidate.push_str(&word.text[byte(start)..byte(end)]);
                if let Some(&id) = self.ids.get(&candidate) {
                    break Some(id);
                }
                end -= 1;
            };
            match found {
                Some(id) => pieces.push(Piece { token: candidate.clone(), id, offsets: span(start, end) }),
                None => {
                    out.push(unk);
                    return;
                }
            }
            start = end;
        }
        out.extend(pieces);
    }
}

/// Longest-first truncation of segment lengths to `budget` tokens (specials excluded), with the
/// reference's exact rule for pairs: the shorter segment keeps its length when the longer can
/// absorb the cut; otherwise both get half (the longer one the odd token).
fn truncated_lengths(na: usize, nb: Option<usize>, budget: usize) -> (usize, usize) {
    let Some(nb) = nb else { return (na.min(budget), 0) };
    if na + nb <= budget {
        return (na, nb);
    }
    let mut short = na.min(nb);
    let mut long = if short > budget { short } else { short.max(budget - short) };
    if short + long > budget {
        short = budget / 2;
        long = short + budget % 2;
    }
    if na > nb {
        (long.min(na), short.min(nb))
    } else {
        (short.min(na), long.min(nb))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> Tokenizer {
        let v = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nun\n##aff\n##able\nthe\n,\nrunning\nrun\n##ning\n##n\n";
        Tokenizer::from_vocab_txt(v).unwrap()
    }

    #[test]
    fn greedy_longest_match_and_unk() {
        let t = toy();
        let e = t.encode("Unaffable, the RUNNING runnx", None);
        assert_eq!(e.tokens, ["[CLS]", "un", "##aff", "##able", ",", "the", "running", "[UNK]", "[SEP]"]);
        assert_eq!(e.ids, [2, 5, 6, 7, 9, 8, 10, 1, 3]);
        assert_eq!(e.offsets[1..4], [(0, 2), (2, 5), (5, 9)]);
        assert_eq!(e.offsets[7], (23, 28));
        assert!(!e.truncated);
    }

    #[test]
    fn specials_in_text_pairs_and_truncation() {
        let t = toy();
        let e = t.encode("the[MASK]un", Some("run"));
        assert_eq!(e.tokens, ["[CLS]", "the", "[MASK]", "un", "[SEP]", "run", "[SEP]"]);
        assert_eq!(e.type_ids, [0, 0, 0, 0, 0, 1, 1]);
        let long = "the ".repeat(10);
        let e = t.encode_max(&long, Some("run run"), 9);
        assert_eq!(e.tokens.len(), 9);
        assert!(e.truncated);
        assert_eq!(e.type_ids.iter().filter(|&&x| x == 1).count(), 3);
        assert!(Tokenizer::from_vocab_txt("a\nb").is_err());
    }

    #[test]
    fn truncation_rule_matches_reference_cases() {
        assert_eq!(truncated_lengths(600, None, 510), (510, 0));
        assert_eq!(truncated_lengths(10, Some(600), 509), (10, 499));
        assert_eq!(truncated_lengths(600, Some(10), 509), (499, 10));
        assert_eq!(truncated_lengths(300, Some(400), 509), (254, 255));
        assert_eq!(truncated_lengths(400, Some(300), 509), (255, 254));
        assert_eq!(truncated_lengths(3, Some(4), 509), (3, 4));
    }
}
