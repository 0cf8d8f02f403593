//! Whether an attention call's buffers fit where they will live, checked before anything is
//! allocated: a size that cannot fit is an error that says how much it needs, never a failed
//! allocation (in wasm a trap, which poisons the module).
//!
//! Every size is computed in u64 with checked arithmetic. The limits are the real ones: wasm32's
//! address space (one allocation under 2 GiB, as `Vec` needs its size in an `isize`; 4 GiB in
//! all), `isize` natively, and a GPU device's `maxBufferSize` / `maxStorageBufferBindingSize`.

use super::flash;
use super::spec::{AttentionDims, AttentionSpec, Score};
use crate::error::Result;

/// How much one call may hold.
#[derive(Clone, Debug, PartialEq)]
pub struct MemoryLimits {
    /// Largest single buffer, bytes.
    pub per_buffer: u64,
    /// All of one call's buffers together, bytes.
    pub total: u64,
    /// Where the limit comes from, for the message.
    pub source: String,
}

impl MemoryLimits {
    /// This process's memory: wasm32 or the native address space.
    pub fn host() -> MemoryLimits {
        if cfg!(target_pointer_width = "32") {
            MemoryLimits { per_buffer: i32::MAX as u64, total: 1 << 32, source: "wasm32 memory allows one buffer under 2 GiB and 4 GiB in all".into() }
        } else {
            MemoryLimits { per_buffer: isize::MAX as u64, total: isize::MAX as u64, source: "the address space".into() }
        }
    }

    /// A GPU device's limits for one storage buffer.
    pub fn gpu(max_buffer_size: u64, max_storage_binding: u64) -> MemoryLimits {
        let per_buffer = max_buffer_size.min(max_storage_binding);
        MemoryLimits { per_buffer, total: u64::MAX, source: format!("this GPU allows {} per buffer (maxStorageBufferBindingSize, maxBufferSize)", bytes(per_buffer)) }
    }
}

/// `n` bytes in the largest binary unit that keeps it ≥ 1, one decimal.
pub fn bytes(n: u64) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} bytes")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

/// The buffers one call allocates on the host (CPU backend, or a GPU result read back), by
/// name and size in bytes; `None` when a size overflows u64.
fn host_buffers(d: &AttentionDims, spec: &AttentionSpec, fused: bool) -> Option<Vec<(&'static str, u64)>> {
    let (h, sq, sk, hd) = (d.heads as u64, d.seq_q as u64, d.seq_k as u64, d.head_dim as u64);
    let f = |n: Option<u64>| n.and_then(|n| n.checked_mul(4));
    let rows = sq.max(sk);
    let mut v = vec![("output", f(h.checked_mul(sq)?.checked_mul(hd))?)];
    if fused {
        // One head's gathered q, k and v.
        v.push(("per-head operand copies", f(rows.checked_mul(hd)?.checked_mul(3))?));
    } else {
        let weights = f(h.checked_mul(sq)?.checked_mul(sk))?;
        if spec.return_weights {
            // The weights, and the copy a read hands back.
            v.push(("weights", weights));
            v.push(("weights", weights));
        } else {
            v.push(("score block", f(64u64.checked_mul(sk))?));
        }
        // One head's q, k, v and kᵀ copies (packing pads rows to a few values more).
        v.push(("per-head operand copies", f(rows.checked_add(16)?.checked_mul(hd.checked_add(16)?)?.checked_mul(4))?));
        if let Score::Additive(a) = &spec.score {
            v.push(("additive projections", f(rows.checked_mul(a.hidden as u64)?.checked_mul(2))?));
        }
        if spec.stats {
            v.push(("stats", f(h.checked_mul(sq.checked_add(sk)?)?.checked_mul(2))?));
        }
    }
    Some(v)
}

/// The buffers the GPU backend allocates on the device, by name and size in bytes.
fn gpu_buffers(d: &AttentionDims, spec: &AttentionSpec, fused: bool) -> Option<Vec<(&'static str, u64)>> {
    let (h, sq, sk, hd) = (d.heads as u64, d.seq_q as u64, d.seq_k as u64, d.head_dim as u64);
    let f = |n: Option<u64>| n.and_then(|n| n.checked_mul(4));
    let mut v = vec![("output", f(h.checked_mul(sq)?.checked_mul(hd))?), ("q", f(h.checked_mul(sq)?.checked_mul(hd))?), ("k", f(h.checked_mul(sk)?.checked_mul(hd))?)];
    if fused {
        v.push(("running state", f(h.checked_mul(sq)?.checked_mul(hd.checked_add(2)?))?));
    } else {
        v.push(("weights", f(h.checked_mul(sq)?.checked_mul(sk))?));
        if let Score::Additive(a) = &spec.score {
            v.push(("additive projections", f(h.checked_mul(rows(d))?.checked_mul(a.hidden as u64))?));
        }
    }
    Some(v)
}

fn rows(d: &AttentionDims) -> u64 {
    d.seq_q.max(d.seq_k) as u64
}

/// Whether a backend computes `spec` for `dims` on the fused path.
pub fn fused(spec: &AttentionSpec, dims: &AttentionDims) -> bool {
    !spec.return_weights && flash::supports(spec) && flash::supports_dims(dims)
}

/// Which buffers a device allocates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    Host,
    Gpu,
}

/// The first buffer, or the total, that does not fit `limits`: (what, bytes needed).
fn overflow(d: &AttentionDims, spec: &AttentionSpec, fused: bool, place: Place, limits: &MemoryLimits) -> Option<(String, u64)> {
    let list = match place {
        Place::Host => host_buffers(d, spec, fused),
        Place::Gpu => gpu_buffers(d, spec, fused),
    };
    let Some(list) = list else {
        return Some(("its buffers".into(), u64::MAX));
    };
    if let Some((name, n)) = list.iter().find(|(_, n)| *n > limits.per_buffer) {
        return Some((format!("{} of {name}", bytes(*n)), *n));
    }
    let total = list.iter().try_fold(0u64, |a, (_, n)| a.checked_add(*n)).unwrap_or(u64::MAX);
    let (name, largest) = list.iter().max_by_key(|(_, n)| *n)?;
    (total > limits.total).then(|| (format!("{} in all, {} of {name}", bytes(total), bytes(*largest)), total))
}

/// Refuses sizes whose buffers cannot fit `limits`, naming what they need and, when only the
/// weights are in the way, suggesting the fused path.
pub fn check(dims: &AttentionDims, spec: &AttentionSpec, place: Place, limits: &MemoryLimits) -> Result<()> {
    let is_fused = fused(spec, dims);
    let Some((need, _)) = overflow(dims, spec, is_fused, place, limits) else {
        return Ok(());
    };
    let AttentionDims { heads, seq_q, seq_k, head_dim } = *dims;
    let mut msg = format!(
        "too large: heads × seqQ × seqK × headDim = {heads} × {seq_q} × {seq_k} × {head_dim} needs {need}; {}",
        limits.source
    );
    let alt = AttentionSpec { return_weights: false, ..spec.clone() };
    if !is_fused && fused(&alt, dims) && overflow(dims, &alt, true, place, limits).is_none() {
        msg.push_str("; returnWeights: false would fit (the fused kernel never stores the weights)");
    }
    Err(crate::error::Error::Invalid(msg))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dims(heads: usize, seq_q: usize, seq_k: usize, head_dim: usize) -> AttentionDims {
        AttentionDims { heads, seq_q, seq_k, head_dim }
    }

    #[test]
    fn wasm32_refuses_two_gib_of_weights_and_suggests_the_fused_path() {
        let wasm = MemoryLimits { per_buffer: i32::MAX as u64, total: 1 << 32, source: "wasm32".into() };
        let spec = AttentionSpec::default();
        for d in [dims(2, 16384, 16384, 1), dims(1, 23170, 23170, 1)] {
            let e = check(&d, &spec, Place::Host, &wasm).unwrap_err().to_string();
            assert!(e.contains("too large:") && e.contains("2.0 GiB of weights") && e.contains("returnWeights: false"), "{e}");
        }
        assert!(check(&dims(1, 16384, 16384, 1), &spec, Place::Host, &wasm).is_ok(), "1 GiB of weights and its copy fit");
        assert!(check(&dims(3, 16384, 16384, 1), &spec, Place::Host, &wasm).is_err());
        assert!(check(&dims(1, 8192, 8192, 64), &spec, Place::Host, &wasm).is_ok());
        // Where the fused path cannot run (sparsemax), nothing is suggested.
        let sparse = AttentionSpec { normalizer: crate::attention::Normalizer::Sparsemax, ..spec };
        let e = check(&dims(2, 16384, 16384, 1), &sparse, Place::Host, &wasm).unwrap_err().to_string();
        assert!(!e.contains("returnWeights"), "{e}");
    }

    #[test]
    fn sizes_that_overflow_u64_are_refused() {
        let spec = AttentionSpec::default();
        let e = check(&dims(usize::MAX, usize::MAX, 2, 2), &spec, Place::Host, &MemoryLimits::host()).unwrap_err().to_string();
        assert!(e.contains("too large"), "{e}");
    }

    #[test]
    fn gpu_limits_come_from_the_device() {
        let gpu = MemoryLimits::gpu(256 << 20, 128 << 20);
        let spec = AttentionSpec::default();
        let e = check(&dims(1, 8192, 8192, 64), &spec, Place::Gpu, &gpu).unwrap_err().to_string();
        assert!(e.contains("needs 256.0 MiB of weights") && e.contains("128.0 MiB per buffer") && e.contains("returnWeights: false"), "{e}");
        assert!(check(&dims(1, 8192, 8192, 64), &AttentionSpec { return_weights: false, ..spec }, Place::Gpu, &gpu).is_ok());
    }

    #[test]
    fn byte_counts_read_well() {
        assert_eq!(bytes(1 << 31), "2.0 GiB");
        assert_eq!(bytes(536_848_900 * 4), "2.0 GiB");
        assert_eq!(bytes(12), "12 bytes");
    }
}
