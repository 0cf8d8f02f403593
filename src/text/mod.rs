//! Text input: BERT uncased WordPiece tokenization, the same tokens as Hugging Face `tokenizers`.

pub mod normalize;
pub mod wordpiece;

pub use wordpiece::{Encoding, Tokenizer, MAX_TOKENS};
