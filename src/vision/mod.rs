//! Image input: resizing and ImageNet normalization to the model grid.
