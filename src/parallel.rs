//! Splitting one kernel call across rayon's threads.
//!
//! - A buffer is split only when it has at least the engine's threshold of
//!   elements ([`DEFAULT_PARALLEL_THRESHOLD`] unless changed); below it no
//!   rayon call is made at all.
//! - Chunks are whole multiples of 16 elements (64 bytes, one cache line), one
//!   per thread of the current rayon pool (so `ThreadPool::install` controls it).
//! - Every op so far is element-wise, and every tier computes an element the
//!   same way wherever it sits, so the result is bit-identical to a serial run
//!   for any thread count.
//!
//! The threshold was measured with `cargo run --release --example report`
//! on a 2-core AMD EPYC (Zen 3) KVM guest: see the README's results section.

/// Elements per chunk granule: 16 f32 = 64 bytes.
pub(crate) const GRANULE: usize = 16;

/// Default number of elements from which a call is split across threads.
///
/// Measured (README, "Choosing the parallel threshold"): below about 2^18
/// elements (1 MiB per buffer) the cost of waking a second thread is not
/// repaid for memory-bound kernels, above it two threads win.
pub const DEFAULT_PARALLEL_THRESHOLD: usize = 1 << 18;

/// Chunk length for `n` elements over `threads` threads: `ceil(n / threads)`
/// rounded up to a whole granule.
#[cfg_attr(not(feature = "parallel"), allow(dead_code))]
pub(crate) fn chunk_len(n: usize, threads: usize) -> usize {
    n.div_ceil(threads.max(1)).div_ceil(GRANULE) * GRANULE
}

/// Whether a call of `n` elements is split, given the engine's threshold.
#[cfg(feature = "parallel")]
fn split(threshold: Option<usize>, n: usize) -> Option<usize> {
    let threshold = threshold?;
    if n < threshold.max(2 * GRANULE) {
        return None;
    }
    let threads = rayon::current_num_threads();
    (threads > 1).then(|| chunk_len(n, threads))
}

/// `kernel(src_chunk, dst_chunk)` over matching chunks of `src` (or in place
/// when `src` is `None`) and `dst`.
pub(crate) fn unary<F>(threshold: Option<usize>, src: Option<&[f32]>, dst: &mut [f32], kernel: F)
where
    F: Fn(Option<&[f32]>, &mut [f32]) + Sync,
{
    #[cfg(feature = "parallel")]
    if let Some(chunk) = split(threshold, dst.len()) {
        use rayon::prelude::*;
        match src {
            Some(src) => dst
                .par_chunks_mut(chunk)
                .zip(src.par_chunks(chunk))
                .for_each(|(d, s)| kernel(Some(s), d)),
            None => dst.par_chunks_mut(chunk).for_each(|d| kernel(None, d)),
        }
        return;
    }
    let _ = threshold;
    kernel(src, dst)
}

/// `kernel(saved_chunk, grad_src_chunk, dst_chunk)` over matching chunks.
pub(crate) fn binary<F>(
    threshold: Option<usize>,
    saved: &[f32],
    grad_src: Option<&[f32]>,
    dst: &mut [f32],
    kernel: F,
) where
    F: Fn(&[f32], Option<&[f32]>, &mut [f32]) + Sync,
{
    #[cfg(feature = "parallel")]
    if let Some(chunk) = split(threshold, dst.len()) {
        use rayon::prelude::*;
        match grad_src {
            Some(g) => dst
                .par_chunks_mut(chunk)
                .zip(saved.par_chunks(chunk).zip(g.par_chunks(chunk)))
                .for_each(|(d, (v, g))| kernel(v, Some(g), d)),
            None => dst
                .par_chunks_mut(chunk)
                .zip(saved.par_chunks(chunk))
                .for_each(|(d, v)| kernel(v, None, d)),
        }
        return;
    }
    let _ = threshold;
    kernel(saved, grad_src, dst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_whole_cache_lines_and_cover_the_buffer() {
        for n in [1usize, 15, 16, 17, 1000, 1 << 20, (1 << 20) + 3] {
            for threads in 1..=9 {
                let c = chunk_len(n, threads);
                assert_eq!(c % GRANULE, 0, "n={n} threads={threads}");
                assert!(c * threads >= n, "n={n} threads={threads}");
                assert!(c < n.div_ceil(threads) + GRANULE, "n={n} threads={threads}");
            }
        }
    }
}
