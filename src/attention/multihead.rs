//! Full multi-head attention from inputs and projection matrices, on any backend.
