//! BERT-family encoder (all-MiniLM-L6-v2): embeddings, 6 post-LN layers, mean pooling.
