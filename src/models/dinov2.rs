//! DINOv2 ViT-S/14 with layer scale, interpolated position grid and the saliency decoder.
