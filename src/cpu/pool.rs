//! Where the CPU path runs its independent pieces of work: on a rayon thread pool when there is
//! one (natively; in wasm, the `threads` build after `initThreads`), else one after another.
//!
//! Callers split their work into pieces fixed by the shapes alone (never by the thread count),
//! each computed by the same code whichever thread runs it, so results are bit-identical for
//! every number of threads. Pieces write disjoint parts of shared outputs through [`Shared`].

#[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
use std::sync::atomic::{AtomicUsize, Ordering};

/// How many threads the pieces may use outside a rayon pool: 1 (one after another) until
/// [`set_threads`] says more.
#[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
static THREADS: AtomicUsize = AtomicUsize::new(1);

/// Sets how many threads the CPU path uses: 1 runs every piece on the calling thread; more runs
/// them on rayon's global pool (in wasm, the pool `initThreads` started), clamped to its size.
pub fn set_threads(n: usize) {
    #[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
    THREADS.store(n.clamp(1, rayon::current_num_threads().max(1)), Ordering::Relaxed);
    #[cfg(not(any(not(target_arch = "wasm32"), feature = "threads")))]
    let _ = n;
}

/// How many threads the CPU path uses now (inside a rayon pool's `install`: that pool's size).
pub fn threads() -> usize {
    #[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
    {
        if rayon::current_thread_index().is_some() {
            return rayon::current_num_threads();
        }
        THREADS.load(Ordering::Relaxed)
    }
    #[cfg(not(any(not(target_arch = "wasm32"), feature = "threads")))]
    1
}

/// Work (multiply-adds, or element operations of like cost) below which [`for_each`] keeps its
/// pieces on the calling thread, by default: about 0.5 ms on one core. In a browser, waking a
/// pool thread and waiting for it cost about as much CPU (measured: a 17-token MiniLM forward,
/// whose matmuls are 3–10 M multiply-adds, took twice the CPU time on two threads). Which thread
/// runs a piece never changes its bits, so this changes no result.
pub const MIN_PARALLEL_WORK: usize = 1 << 24;

#[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
static MIN_WORK: AtomicUsize = AtomicUsize::new(MIN_PARALLEL_WORK);

/// Sets the work below which [`for_each`] stays on the calling thread (tests set 0, so that
/// small shapes split too).
pub fn set_min_parallel_work(work: usize) {
    #[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
    MIN_WORK.store(work, Ordering::Relaxed);
    #[cfg(not(any(not(target_arch = "wasm32"), feature = "threads")))]
    let _ = work;
}

/// Runs `piece(i)` for i in 0..pieces, in parallel when more than one thread is in use and the
/// pieces' `work` in all is worth sharing (see [`MIN_PARALLEL_WORK`]).
pub fn for_each(pieces: usize, work: usize, piece: impl Fn(usize) + Sync + Send) {
    #[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
    if pieces > 1 && work >= MIN_WORK.load(Ordering::Relaxed) && threads() > 1 {
        use rayon::prelude::*;
        // One piece per rayon task: the pieces are already as coarse as the shapes allow.
        (0..pieces).into_par_iter().with_max_len(1).for_each(piece);
        return;
    }
    #[cfg(not(any(not(target_arch = "wasm32"), feature = "threads")))]
    let _ = work;
    (0..pieces).for_each(piece);
}

/// A buffer the pieces of one [`for_each`] write in disjoint parts.
pub struct Shared<'a> {
    ptr: *mut f32,
    len: usize,
    _buffer: std::marker::PhantomData<&'a mut [f32]>,
}

// SAFETY: pieces only write through `Shared::slice`, whose callers promise disjoint ranges.
unsafe impl Send for Shared<'_> {}
unsafe impl Sync for Shared<'_> {}

impl<'a> Shared<'a> {
    pub fn new(buffer: &'a mut [f32]) -> Self {
        Shared { ptr: buffer.as_mut_ptr(), len: buffer.len(), _buffer: std::marker::PhantomData }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// A buffer of `capacity` values that the pieces zero, each its own part, with
    /// [`Shared::zeroed`] before they write it: the zeroing is split too. `set_len` it once every
    /// part has been zeroed.
    pub fn spare(buffer: &'a mut Vec<f32>) -> Self {
        Shared { ptr: buffer.as_mut_ptr(), len: buffer.capacity(), _buffer: std::marker::PhantomData }
    }

    /// buffer[range], zeroed first (also where [`Shared::spare`] left it uninitialized).
    ///
    /// # Safety
    /// As [`Shared::slice`].
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn zeroed(&self, range: std::ops::Range<usize>) -> &mut [f32] {
        assert!(range.start <= range.end && range.end <= self.len, "Shared::zeroed: {range:?} outside {}", self.len);
        std::ptr::write_bytes(self.ptr.add(range.start), 0, range.end - range.start);
        std::slice::from_raw_parts_mut(self.ptr.add(range.start), range.end - range.start)
    }

    /// buffer[range] to write.
    ///
    /// # Safety
    /// No other piece may hold a slice overlapping `range` while this one lives.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn slice(&self, range: std::ops::Range<usize>) -> &mut [f32] {
        assert!(range.start <= range.end && range.end <= self.len, "Shared::slice: {range:?} outside {}", self.len);
        std::slice::from_raw_parts_mut(self.ptr.add(range.start), range.end - range.start)
    }
}
