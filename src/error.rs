//! The project's error type. Bad input is a normal path: every fallible operation returns
//! `Result<T>`, and the wasm boundary turns an `Error` into a `JsError` carrying its message.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The caller passed something wrong: a shape, a length, an option name or value.
    Invalid(String),
    /// No usable GPU (no adapter, no device, a limit too small for the request).
    GpuUnavailable(String),
    /// The GPU device was lost or failed while in use; the caller should fall back to the CPU.
    DeviceLost(String),
    /// A weight file (or its source) is malformed, truncated or does not match the model.
    Weights(String),
    /// An image could not be used (zero or absurd size, wrong buffer length).
    Image(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Invalid(m) => write!(f, "invalid input: {m}"),
            Error::GpuUnavailable(m) => write!(f, "WebGPU unavailable: {m}"),
            Error::DeviceLost(m) => write!(f, "GPU device lost: {m}"),
            Error::Weights(m) => write!(f, "bad weights: {m}"),
            Error::Image(m) => write!(f, "bad image: {m}"),
        }
    }
}

impl std::error::Error for Error {}

/// `invalid!("seqQ must be > 0, got {}", n)` — shorthand for an `Error::Invalid`.
#[macro_export]
macro_rules! invalid {
    ($($arg:tt)*) => { $crate::error::Error::Invalid(format!($($arg)*)) };
}

/// Fails with `Error::Invalid` unless the condition holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => {
        if !$cond { return Err($crate::invalid!($($arg)*)); }
    };
}
