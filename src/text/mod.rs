//! Text input: BERT uncased WordPiece tokenization.
