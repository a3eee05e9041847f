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
//! The threshold was measured with `cargo run --release --example threshold`
//! on a 2-core AMD EPYC (Zen 3) KVM guest: see docs/parallel-threshold.md.

/// Elements per chunk granule: 16 f32 = 64 bytes.
pub(crate) const GRANULE: usize = 16;

/// Default number of elements from which a call is split across threads.
///
/// 2^20 elements (4 MiB per buffer). Measured with `examples/threshold.rs`
/// on a 2-core AMD EPYC (Zen 3) KVM guest, AVX2 tier, ReLU in place: waking a
/// pool thread costs about 20 us, so splitting loses below 2^19 elements
/// (0.5x at 2^18), breaks even at 2^19 and wins from 2^20 (1.65x forward,
/// 1.75x backward); docs/parallel-threshold.md has the full table.
pub const DEFAULT_PARALLEL_THRESHOLD: usize = 1 << 20;

/// Chunk length for `n` elements over `threads` threads: `ceil(n / threads)`
/// rounded up to a whole granule.
#[cfg_attr(not(feature = "parallel"), allow(dead_code))]
pub(crate) fn chunk_len(n: usize, threads: usize) -> usize {
    n.div_ceil(threads.max(1)).div_ceil(GRANULE) * GRANULE
}

/// The chunk length a call of `n` elements is split into, given the
/// engine's threshold, or `None` when it is not split.
#[cfg(feature = "parallel")]
pub(crate) fn split(threshold: Option<usize>, n: usize) -> Option<usize> {
    let threshold = threshold?;
    if n < threshold.max(2 * GRANULE) {
        return None;
    }
    let threads = rayon::current_num_threads();
    (threads > 1).then(|| chunk_len(n, threads))
}

/// Without the `parallel` feature nothing is split.
#[cfg(not(feature = "parallel"))]
pub(crate) fn split(_threshold: Option<usize>, _n: usize) -> Option<usize> {
    None
}

/// Runs the first piece on the calling thread and hands the others to the
/// current rayon pool, returning when all are done.
///
/// The caller works instead of only waiting: with `T` pool threads on `T`
/// cores, `T - 1` of them are woken, and no thread competes with a spinning
/// worker for a core. (Measured on 2 cores: handing every chunk to the pool
/// with `par_chunks_mut` left the caller blocked and cost about 20 us per call,
/// this costs a few; see `examples/threshold.rs`.)
#[cfg(feature = "parallel")]
fn run_pieces<I, P>(pieces: I)
where
    I: Iterator<Item = P>,
    P: FnOnce() + Send,
{
    rayon::in_place_scope(|scope| {
        let mut pieces = pieces;
        let first = pieces.next();
        for piece in pieces {
            scope.spawn(move |_| piece());
        }
        if let Some(piece) = first {
            piece();
        }
    });
}

/// `kernel(src_chunk, dst_chunk)` over matching chunks of `src` (or in place
/// when `src` is `None`) and `dst`.
pub(crate) fn unary<F>(threshold: Option<usize>, src: Option<&[f32]>, dst: &mut [f32], kernel: F)
where
    F: Fn(Option<&[f32]>, &mut [f32]) + Sync,
{
    #[cfg(feature = "parallel")]
    if let Some(chunk) = split(threshold, dst.len()) {
        let kernel = &kernel;
        let pieces = dst.chunks_mut(chunk).enumerate().map(|(i, d)| {
            let s = src.map(|s| &s[i * chunk..i * chunk + d.len()]);
            move || kernel(s, d)
        });
        run_pieces(pieces);
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
        let kernel = &kernel;
        let pieces = dst.chunks_mut(chunk).enumerate().map(|(i, d)| {
            let range = i * chunk..i * chunk + d.len();
            let (v, g) = (&saved[range.clone()], grad_src.map(|g| &g[range]));
            move || kernel(v, g, d)
        });
        run_pieces(pieces);
        return;
    }
    let _ = threshold;
    kernel(saved, grad_src, dst)
}

/// Runs `f` on every part, the first on the calling thread and the others
/// on the current rayon pool (serially without the `parallel` feature).
///
/// A single part runs directly: an empty `rayon::in_place_scope` cost 0.5
/// to 1.7 us per call on Zen 3 (PReLU NCHW backward at 64 Ki elements,
/// serial: 5.4 against 7.1 Gelem/s), as much as the kernel at 4096
/// elements.
pub(crate) fn run_parts<T, F>(parts: Vec<T>, f: F)
where
    T: Send,
    F: Fn(T) + Sync,
{
    #[cfg(feature = "parallel")]
    if parts.len() > 1 {
        let f = &f;
        run_pieces(parts.into_iter().map(|part| move || f(part)));
        return;
    }
    parts.into_iter().for_each(f);
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
