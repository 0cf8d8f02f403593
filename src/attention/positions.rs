//! Positional schemes applied by position index: RoPE, ALiBi slopes, relative bias, and the sinusoidal table.
