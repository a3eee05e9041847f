//! PReLU (`x > 0 ? x : w[c] * x`, one slope per channel) on a buffer viewed as
//! `[outer, C, inner]`, forward and backward with the slope gradient reduced
//! in the same pass over memory.
//!
//! Three shapes, which the safe crate picks from the layout:
//!
//! - **Runs**: each `(outer, channel)` pair is a contiguous run of `inner`
//!   elements with one slope, so a run is Leaky ReLU with that slope (the
//!   forward walks blocks with the run's slope, a slope per lane in the
//!   block that holds a run's end, see [`runs_forward`]; runs shorter than a
//!   vector take their slopes from `w` with lanes picked per place in a run,
//!   see [`short_runs_forward`]). For long `inner` (NCHW), and for the
//!   forward of short `inner` where the pattern would be as long as the
//!   buffer (a batch of one).
//! - **Periodic**: the slope row repeats within 3 or 4 vectors; its phase
//!   vectors stay in registers ([`periodic_forward`], [`periodic_backward`]).
//!   NHWC with few channels.
//! - **Pattern**: rows of `p` elements with a slope per element (`p = C` and
//!   the slopes themselves when `inner == 1`, NHWC; the slopes repeated
//!   `inner` times each otherwise), vectorised along the row. For short
//!   `inner` otherwise.
//!
//! The loops that store gradients compute one block ahead of their stores
//! where the output trails an input by less than a block modulo 4 KiB (see
//! [`super::ahead`]).
//!
//! The slope gradient, `sum over c's elements of (v > 0 ? 0 : v * grad)`, is
//! accumulated in f32 lanes for at most [`ACC_TERMS`] terms per lane, then
//! flushed to f64: a run's pieces (fused multiply-adds) every `4 * 28 *
//! LANES` elements, a pattern's column accumulators (blocks of
//! [`ROW_BLOCK`] rows summed pairwise and added, leftover rows by fused
//! multiply-adds) every [`PATTERN_ROWS`] rows (the caller flushes those).
//! The flush points and the grouping depend only on the layout, never on
//! how a call is split or where the buffers are, so the sums are
//! bit-identical for any split and any address.

use super::relu::{scaled_unless_positive, scaled_where, LeakyReluGrad};
use super::{
    ahead, head_len, load_n, map_binary, store_n, trails, walk_body, Ahead, BinaryOp, BinaryPass,
    Pass,
};
use crate::vector::{Cpu, F32Vector};

/// Most terms any f32 accumulator sums before it is flushed to f64 (a run's
/// lanes on the 4-lane NEON tier, fewer on wider tiers; every class of the
/// periodic shape and every column of the pattern): the slope gradient's
/// error bound is stated with it.
pub const ACC_TERMS: usize = 32;

/// Iterations of four vectors a run segment takes before its f32 lanes are
/// flushed to f64: each lane of each accumulator takes one term an
/// iteration, so with the two additions that combine the four
/// accumulators, no term goes through more than `ACC_TERMS` roundings.
const SEGMENT_ITERATIONS: usize = ACC_TERMS - 4;

/// From this many elements up, a run piece's walk is aligned to its stores
/// (see [`run_piece_backward`]).
const ALIGNED_PIECE: usize = 2048;

/// `0, 1, 2, ..`: the element index of each lane of four vectors (of at
/// most 16 lanes), exact in f32.
static ELEMENT_INDEX: [f32; 64] = {
    let mut index = [0.0f32; 64];
    let mut j = 0;
    while j < 64 {
        index[j] = j as f32;
        j += 1;
    }
    index
};

/// Rows a pattern's column accumulators take before the caller flushes them.
pub const PATTERN_ROWS: usize = ACC_TERMS;

/// `x > 0 ? x : x * s`, the slope `s` per lane (pattern forward; `saved` is
/// the slope pattern, `grad` the input).
#[derive(Clone, Copy)]
struct PatternLeaky;

impl BinaryOp for PatternLeaky {
    const UNROLL: usize = 4;
    #[inline(always)]
    fn apply<V: F32Vector>(self, s: V, x: V) -> V {
        scaled_unless_positive(x, x, s)
    }
}

/// Runs forward: the `n` elements from `x` are consecutive runs of `inner`
/// elements (the first starts `offset` elements into its run, of channel
/// `channel`); run of channel `c` uses slope `w[c]`, channels cycling through
/// `c_len`.
///
/// One walk over the buffer, its head peeled so the stores are aligned, in
/// blocks of four vectors where runs are at least that long: the blocks
/// inside a run in a loop with the run's slope, then the block that holds
/// the run's end with a slope per lane (one compare and one select per
/// vector, [`RunSlopes::next`]), and so on; single vectors, a slope per
/// lane, after the last block. No run gets a masked head and tail of its
/// own: a masked store followed by a masked load of the same vector (the
/// next run's head, in place) waits for the store to complete; on Zen 4
/// that made AVX-512 runs of 256 elements 2.5 times slower than aligned
/// ones. Nor does a run restart Leaky ReLU's unrolled loop, which went on
/// to the run's last whole vector one vector at a time and then took the
/// vector straddling the next run apart: on Zen 3 (AVX2, at 4096 elements,
/// buffers placed alike) this walk is 1.27 times as fast on runs of 256
/// and 1.8 times on runs of 64 (0.94 and 0.70 of Leaky ReLU's speed),
/// 1.04 to 1.09 times on runs of 4096 in 64 Ki.
///
/// # Safety
/// The CPU supports `V`'s ISA; `x`, `y` valid for `n` elements, equal or
/// disjoint; `w` valid for `c_len` reads; `channel < c_len`, `offset < inner`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn runs_forward<V: F32Vector>(
    x: *const f32,
    y: *mut f32,
    n: usize,
    w: *const f32,
    c_len: usize,
    channel: usize,
    inner: usize,
    offset: usize,
) {
    // SAFETY: the CPU has `V`'s ISA, a requirement of every `unsafe fn`
    // of `ops/` (see the module's docs).
    let cpu = unsafe { Cpu::<V>::assume() };
    let l = V::LANES;
    let mut at = RunCursor {
        w,
        c_len,
        inner,
        c: channel,
        left: inner - offset,
    };
    let head = head_len::<V>(y, n);
    let mut i = 0;
    // The `forward` calls and blocks take elements `i..i + k` with `i + k
    // <= n`; the cursor keeps its channel below `c_len`.
    if head > 0 {
        // SAFETY: `head <= n`.
        unsafe { at.forward::<V>(x, y, 0, head) };
        i = head;
    }
    // Where runs divide the vector the picks stay in a register, which
    // beats the cursor's select even where vectors hold two runs (AVX2,
    // runs of 4: x2.4).
    let divides = l.is_multiple_of(inner);
    if inner < l && (divides || some_vector_holds_three_runs(inner, l, inner - at.left)) {
        // SAFETY: the cursor is at element `i <= n`; forwarded contract.
        i = unsafe { short_runs_forward::<V>(x, y, n, i, &mut at) };
    }
    let block = 4 * l;
    // A block holds at most one run's end when runs are at least a block
    // long (always but for a single channel's short buffer).
    if inner >= block && n - i >= block {
        let mut slopes = RunSlopes {
            w,
            c_len,
            inner,
            c: at.c,
            left: at.left,
            s: cpu.splat(at.slope()),
        };
        // Where the output trails the input by less than a block modulo 4
        // KiB, compute the next block before storing this one (see
        // `ops::blocks`); otherwise vector by vector.
        if trails(y, x, block * core::mem::size_of::<f32>()) {
            let mut blocks = RunBlocks { x, y, slopes };
            // SAFETY: the blocks from `i` to `n` are the call's.
            i = unsafe { ahead(&mut blocks, i, n, block) };
            slopes = blocks.slopes;
        } else {
            while n - i >= block {
                // The whole blocks before the one that holds the run's end,
                // with the run's slope, in a loop of their own (one that
                // also took the block at the run's end kept four copies of
                // the slope, copied again each block: 0.75 of Leaky ReLU's
                // loop).
                let inside = (slopes.left - 1).min(n - i) / block * block;
                let s = slopes.s;
                let end = i + inside;
                while i < end {
                    for q in 0..4 {
                        let j = i + q * l;
                        // SAFETY: `j + l <= end <= n`; loaded before stored.
                        unsafe { PatternLeaky.apply(s, V::load(x.add(j))).store(y.add(j)) };
                    }
                    i += block;
                }
                slopes.left -= inside;
                if n - i < block {
                    break;
                }
                // The block that holds the run's end, computed before it
                // is stored.
                // SAFETY: `i + block <= n`.
                unsafe {
                    let d = slopes.forward_block(x, i);
                    for (q, d) in d.iter().enumerate() {
                        d.store(y.add(i + q * l));
                    }
                }
                i += block;
            }
        }
        (at.c, at.left) = (slopes.c, slopes.left);
    }
    while n - i >= l {
        // SAFETY: `i + l <= n`.
        unsafe { at.forward::<V>(x, y, i, l) };
        i += l;
    }
    if i < n {
        // SAFETY: the last `n - i < l` elements.
        unsafe { at.forward::<V>(x, y, i, n - i) };
    }
}

/// Whether a walk of `l`-lane vectors over runs of `inner`, the first
/// vector at place `r` in its run, meets a vector that holds three runs or
/// more. (Where none does, the cursor's one select per vector beats
/// [`short_runs_forward`]'s loads: runs of 12 on AVX-512, 734 against 861
/// ns for `[1, 512, 12]`.)
#[inline(always)]
fn some_vector_holds_three_runs(inner: usize, l: usize, mut r: usize) -> bool {
    // The places repeat within `inner` vectors.
    for _ in 0..inner {
        if r + l > 2 * inner {
            return true;
        }
        r = (r + l) % inner;
    }
    false
}

/// [`runs_forward`]'s whole vectors from element `i` (the cursor `at` at
/// it) for runs shorter than a vector (`inner < LANES`): a vector's slopes
/// are `w` loaded from its first element's channel, lanes picked by that
/// element's place `r` in its run (lane `j` takes the channel `(r + j) /
/// inner` further on; one permute on AVX2 and AVX-512), from tables made
/// once per call. A vector whose channels wrap past the last takes the
/// cursor's slopes. Returns where it stopped (fewer than `LANES` elements
/// left), the cursor moved there.
///
/// (The cursor alone builds such a vector from a splat and a select per
/// run: 12 times slower than ReLU for `[1, 1024, 2, 2]` on the AVX-512
/// Xeon, and 25 times when it wrote the lanes on the stack and reloaded
/// them, which failed store forwarding and waited for every older store
/// to commit.)
///
/// # Safety
/// As for [`runs_forward`], with `inner < LANES`, `i <= n` and the cursor
/// at element `i`.
#[inline(always)]
unsafe fn short_runs_forward<V: F32Vector>(
    x: *const f32,
    y: *mut f32,
    n: usize,
    mut i: usize,
    at: &mut RunCursor,
) -> usize {
    let (l, inner, c_len) = (V::LANES, at.inner, at.c_len);
    debug_assert!(inner < l);
    let picks = lane_picks(inner, l);
    // The next vector starts `l` elements on: whole runs and a place, by
    // arithmetic (a table of next places put a load on the loop's chain).
    let (runs, more) = (l / inner, l % inner);
    let (mut c, mut r) = (at.c, inner - at.left);
    while n - i >= l {
        // A stretch of vectors whose slopes load whole: each moves at most
        // `ceil(l / inner)` channels on, so `c + l <= c_len` holds for all
        // `whole` of them (one division a stretch, no checks inside).
        let whole = if c + l <= c_len {
            ((c_len - c - l) / l.div_ceil(inner) + 1).min((n - i) / l)
        } else {
            0
        };
        if more == 0 {
            // Runs that divide the vector: every vector at the same place,
            // its picks loaded once.
            let picks = &picks[r];
            for _ in 0..whole {
                // SAFETY: `i + l <= n`; `c + l <= c_len`.
                unsafe {
                    let s = picked_slopes::<V>(at.w.add(c), l, picks);
                    PatternLeaky.apply(s, V::load(x.add(i))).store(y.add(i));
                }
                c += runs;
                i += l;
            }
        } else {
            for _ in 0..whole {
                // SAFETY: `i + l <= n`; `c + l <= c_len`.
                unsafe {
                    let s = picked_slopes::<V>(at.w.add(c), l, &picks[r]);
                    PatternLeaky.apply(s, V::load(x.add(i))).store(y.add(i));
                }
                (c, r) = places_on(c, r, runs, more, inner);
                i += l;
            }
        }
        // The last vector's step may end at `c_len` (`c <= c_len - l`
        // before it), which wraps to 0.
        if c == c_len {
            c = 0;
        }
        if n - i < l {
            break;
        }
        // The channels the vector reaches: its last lane's and those before.
        let reach = picks[r][l - 1] as usize + 1;
        if c + reach <= c_len {
            // SAFETY: `i + l <= n`; `w` holds `c + k <= c_len` slopes from
            // `c`, and every pick is below `reach <= k`.
            unsafe {
                let s = picked_slopes::<V>(at.w.add(c), (c_len - c).min(l), &picks[r]);
                PatternLeaky.apply(s, V::load(x.add(i))).store(y.add(i));
            }
            // The channels stepped over, `(r + l) / inner <= reach`:
            // `c` ends at most at `c_len`, which wraps to 0.
            (c, r) = places_on(c, r, runs, more, inner);
            if c == c_len {
                c = 0;
            }
        } else {
            (at.c, at.left) = (c, inner - r);
            // SAFETY: `i + l <= n`.
            unsafe { at.forward::<V>(x, y, i, l) };
            (c, r) = (at.c, inner - at.left);
        }
        i += l;
    }
    (at.c, at.left) = (c, inner - r);
    i
}

/// Per place `r < inner` in a run of `inner <= 16`, the channel of each of
/// `l` lanes from the vector's first: row `r`, lane `j` holds `(r + j) /
/// inner` (rows from `inner` on, and lanes from `l` on, are 0).
#[inline(always)]
fn lane_picks(inner: usize, l: usize) -> [[u32; 16]; 16] {
    let mut picks = [[0u32; 16]; 16];
    for (r, row) in picks.iter_mut().enumerate().take(inner) {
        for (j, p) in row.iter_mut().take(l).enumerate() {
            *p = ((r + j) / inner) as u32;
        }
    }
    picks
}

/// The slopes of a vector of runs shorter than it: `k` slopes loaded from
/// `w` (the vector's first channel on; the lanes past them `+0`), lane `j`
/// taking slope `picks[j]`.
///
/// # Safety
/// `w` valid for `k <= LANES` reads; every `picks[j]` below `k` (for the
/// lanes used) and below LANES.
#[inline(always)]
unsafe fn picked_slopes<V: F32Vector>(w: *const f32, k: usize, picks: &[u32; 16]) -> V {
    // SAFETY: forwarded contract; `picks` holds 16 >= LANES indices.
    unsafe { load_n::<V>(w, k).lanes_picked(picks.as_ptr()) }
}

/// The place `l = runs * inner + more` elements on from place `r` of
/// channel `c`, in runs of `inner`: `(channel, place)`, the channel not
/// wrapped.
#[inline(always)]
fn places_on(c: usize, r: usize, runs: usize, more: usize, inner: usize) -> (usize, usize) {
    let r = r + more;
    if r >= inner {
        (c + runs + 1, r - inner)
    } else {
        (c + runs, r)
    }
}

/// Longest runs `KernelSet::prelu_one_image_backward` takes (and its
/// stack's lane-pick tables hold).
pub const ONE_IMAGE_MAX_INNER: usize = 16;

/// Terms [`one_image_backward`] keeps on the stack between its two passes.
const ONE_IMAGE_TERMS: usize = 1024;

/// The backward of one image of short runs (`[1, C, inner]`, `inner <=`
/// [`ONE_IMAGE_MAX_INNER`], `n = C * inner`): `dst = v > 0 ? grad : grad *
/// w[c]` and, when `sums` is not null, `sums[c] = +0 + t_0 + t_1 + ...` in
/// f64, in element order, over channel `c`'s terms `t_j = v > 0 ? +0 : v *
/// grad` (f32 products). Every tier gives these bits, the pattern shape's
/// for one row.
///
/// In chunks of whole runs and whole vectors (a multiple of `lcm(inner,
/// LANES)`, up to 1024 elements): first the gradient a vector at a time,
/// its slopes loaded from `w` at the vector's first channel and picked per
/// lane by the place in its run (as [`short_runs_forward`] does), the terms
/// stored on the stack; then each run's sum from the stack, scalar, the
/// runs' chains independent of each other. (The pattern it replaces was
/// built per call as long as the buffer, its columns one per element: 42
/// times Leaky ReLU's time for `[1, 1024, 2, 2]` on the AVX-512 Xeon.)
///
/// # Safety
/// The CPU supports `V`'s ISA; `v`, `g`, `dst` valid for `n` elements, `g`
/// and `dst` equal or disjoint; `1 <= inner <= 16` divides `n`; `w` valid
/// for `n / inner` reads; `sums` null or valid for `n / inner` writes.
#[inline(always)]
pub(crate) unsafe fn one_image_backward<V: F32Vector>(
    v: *const f32,
    g: *const f32,
    dst: *mut f32,
    n: usize,
    w: *const f32,
    inner: usize,
    sums: *mut f64,
) {
    // SAFETY: forwarded contract.
    unsafe {
        if sums.is_null() {
            one_image_walk::<V, false>(v, g, dst, n, w, inner, sums)
        } else {
            one_image_walk::<V, true>(v, g, dst, n, w, inner, sums)
        }
    }
}

/// [`one_image_backward`], its sums compiled out without `SUMS`.
///
/// # Safety
/// As for [`one_image_backward`], `sums` valid with `SUMS`.
#[inline(always)]
unsafe fn one_image_walk<V: F32Vector, const SUMS: bool>(
    v: *const f32,
    g: *const f32,
    dst: *mut f32,
    n: usize,
    w: *const f32,
    inner: usize,
    sums: *mut f64,
) {
    // SAFETY: the CPU has `V`'s ISA, a requirement of every `unsafe fn`
    // of `ops/` (see the module's docs).
    let cpu = unsafe { Cpu::<V>::assume() };
    let l = V::LANES;
    debug_assert!((1..=ONE_IMAGE_MAX_INNER).contains(&inner) && n.is_multiple_of(inner));
    let c_len = n / inner;
    let picks = lane_picks(inner, l);
    let period = inner / crate::gcd(inner, l) * l;
    let chunk = ONE_IMAGE_TERMS / period * period;
    let (runs, more) = (l / inner, l % inner);
    let mut terms = [0.0f32; ONE_IMAGE_TERMS];
    let mut e0 = 0;
    while e0 < n {
        let len = chunk.min(n - e0);
        // The chunk starts a run (place 0), at its first element.
        let (mut c, mut r, mut i) = (e0 / inner, 0, 0);
        while i < len {
            let k = l.min(len - i);
            // SAFETY: elements `e0 + i..e0 + i + k` are in range, each read
            // before it is written; channel `c` holds the vector's first
            // element and every pick is below the channels left (the
            // vector's elements are of this image); `i + l <= chunk <=
            // ONE_IMAGE_TERMS` (`chunk` a multiple of `l`).
            unsafe {
                let s = picked_slopes::<V>(w.add(c), l.min(c_len - c), &picks[r]);
                let at = e0 + i;
                let (vv, gg) = (load_n::<V>(v.add(at), k), load_n::<V>(g.add(at), k));
                let scaled = vv.not_gt(cpu.zero());
                store_n(scaled_where(scaled, gg, s), dst.add(at), k);
                if SUMS {
                    vv.mul(gg)
                        .keep_where(scaled)
                        .store(terms.as_mut_ptr().add(i));
                }
            }
            (c, r) = places_on(c, r, runs, more, inner);
            i += l;
        }
        if SUMS {
            // `len` is whole runs: the chunk and the image end at run ends.
            // Four runs at a time, their chains interleaved (one run after
            // another left the adds' latency exposed: 2.5 cycles a term).
            let first = e0 / inner;
            let quads = terms[..len].chunks_exact(4 * inner);
            let rest = quads.remainder();
            for (q, t) in quads.enumerate() {
                let (t01, t23) = t.split_at(2 * inner);
                let ((t0, t1), (t2, t3)) = (t01.split_at(inner), t23.split_at(inner));
                let mut s = [0.0f64; 4];
                for (((&a, &b), &c), &d) in t0.iter().zip(t1).zip(t2).zip(t3) {
                    s[0] += f64::from(a);
                    s[1] += f64::from(b);
                    s[2] += f64::from(c);
                    s[3] += f64::from(d);
                }
                for (m, &s) in s.iter().enumerate() {
                    // SAFETY: run `first + 4 q + m` is a channel of the
                    // image.
                    unsafe { *sums.add(first + 4 * q + m) = s };
                }
            }
            let done = first + (len - rest.len()) / inner;
            for (run, t) in rest.chunks_exact(inner).enumerate() {
                let mut sum = 0.0f64;
                for &t in t {
                    sum += f64::from(t);
                }
                // SAFETY: run `done + run` is a channel of the image.
                unsafe { *sums.add(done + run) = sum };
            }
        }
        e0 += len;
    }
}

/// The slopes of [`runs_forward`]'s blocks of four vectors (runs at least
/// a block long), in element order: at channel `c`, with `left > 0`
/// elements left in its run, slope `s` (splat). Plain values, kept apart
/// from the buffers: a walk whose state sat next to the pointers in a
/// struct that [`ahead`] borrows kept all of it in memory, the pointers
/// and slopes reloaded after every store (0.61 of Leaky ReLU's loop on
/// long runs, Zen 3).
#[derive(Clone, Copy)]
struct RunSlopes<V> {
    w: *const f32,
    c_len: usize,
    inner: usize,
    c: usize,
    left: usize,
    s: V,
}

impl<V: F32Vector> RunSlopes<V> {
    /// The slopes of the next four vectors, a vector each, and moves past
    /// them: the run's slope inside a run; in the block that holds the
    /// run's end (at most one: runs are at least a block long), lane `j` of
    /// vector `q`, element `q * LANES + j` of the block, takes this run's
    /// slope where that is below `left`, else the next run's.
    #[inline(always)]
    fn next(&mut self) -> [V; 4] {
        let (l, block) = (V::LANES, 4 * V::LANES);
        if self.left > block {
            self.left -= block;
            return [self.s; 4];
        }
        let c = if self.c + 1 == self.c_len {
            0
        } else {
            self.c + 1
        };
        // SAFETY: `c < c_len`, and `w` is valid for `c_len` reads
        // (`runs_forward`'s contract).
        let next = self.s.cpu().splat(unsafe { *self.w.add(c) });
        let s = if self.left == block {
            [self.s; 4]
        } else {
            let end = self.s.cpu().splat(self.left as f32);
            // (A loop, not `array::from_fn`: its closure would not inline
            // into the tier's `#[target_feature]` function.)
            let mut s = [next; 4];
            for (q, s) in s.iter_mut().enumerate() {
                // SAFETY: `ELEMENT_INDEX` holds 64 >= 4 * LANES indices.
                let index = unsafe { V::load(ELEMENT_INDEX.as_ptr().add(q * l)) };
                *s = V::select(index.lt(end), self.s, next);
            }
            s
        };
        // `inner >= block`: the next run has `inner - (block - left) > 0`
        // elements left after the block.
        self.left = self.inner - (block - self.left);
        (self.c, self.s) = (c, next);
        s
    }

    /// The forward of the block of four vectors at `i`, not stored, its
    /// slopes from [`RunSlopes::next`].
    ///
    /// # Safety
    /// `x` valid for `4 * LANES` reads at `i`; the slopes at element `i`.
    #[inline(always)]
    unsafe fn forward_block(&mut self, x: *const f32, i: usize) -> [V; 4] {
        let mut d = self.next();
        for (q, d) in d.iter_mut().enumerate() {
            // SAFETY: the four vectors at `i` are in range (the contract).
            *d = PatternLeaky.apply(*d, unsafe { V::load(x.add(i + q * V::LANES)) });
        }
        d
    }
}

/// [`runs_forward`]'s blocks for [`ahead`] (4K aliasing).
struct RunBlocks<V> {
    x: *const f32,
    y: *mut f32,
    slopes: RunSlopes<V>,
}

impl<V: F32Vector> Ahead for RunBlocks<V> {
    type Block = [V; 4];
    #[inline(always)]
    unsafe fn compute(&mut self, i: usize) -> [V; 4] {
        // SAFETY: the block at `i` is within the call (`ahead`).
        unsafe { self.slopes.forward_block(self.x, i) }
    }
    #[inline(always)]
    unsafe fn store(&mut self, i: usize, d: &[V; 4]) {
        for (q, d) in d.iter().enumerate() {
            // SAFETY: as in `compute`.
            unsafe { d.store(self.y.add(i + q * V::LANES)) };
        }
    }
}

/// Where a walk over runs stands: channel `c`, with `left > 0` elements
/// left in its run. Invariant: `w` is valid for `c_len` reads, `c < c_len`.
struct RunCursor {
    w: *const f32,
    c_len: usize,
    inner: usize,
    c: usize,
    left: usize,
}

impl RunCursor {
    /// The slope of the current channel.
    #[inline(always)]
    fn slope(&self) -> f32 {
        // SAFETY: the cursor's invariant: `w` is valid for `c_len` reads
        // (only `runs_forward`, under that contract, makes one) and
        // `advance` keeps `c < c_len`.
        unsafe { *self.w.add(self.c) }
    }

    /// The forward of the `k <= LANES` elements at `i`, a slope per lane
    /// (a method, not a closure: a closure may not inline into the tier's
    /// `#[target_feature]` function).
    ///
    /// # Safety
    /// As for [`runs_forward`], with `i + k <= n`.
    #[inline(always)]
    unsafe fn forward<V: F32Vector>(&mut self, x: *const f32, y: *mut f32, i: usize, k: usize) {
        // SAFETY: forwarded (the contract includes the ISA).
        unsafe {
            let s = self.slopes::<V>(Cpu::assume(), k);
            let xx = load_n::<V>(x.add(i), k);
            store_n(PatternLeaky.apply(s, xx), y.add(i), k);
        }
    }

    /// Moves `k` elements on.
    #[inline(always)]
    fn advance(&mut self, mut k: usize) {
        while k >= self.left {
            k -= self.left;
            self.c = if self.c + 1 == self.c_len {
                0
            } else {
                self.c + 1
            };
            self.left = self.inner;
        }
        self.left -= k;
    }

    /// The slopes of the next `k <= LANES` elements, one per lane, and moves
    /// past them (the lanes past `k` hold some slope or 0; they are never
    /// stored).
    #[inline(always)]
    fn slopes<V: F32Vector>(&mut self, cpu: Cpu<V>, k: usize) -> V {
        let first = cpu.splat(self.slope());
        if k < self.left {
            self.left -= k;
            return first;
        }
        if k - self.left <= self.inner {
            // One boundary: the lanes below `left` are of this run.
            let below = self.left;
            self.advance(below);
            if below == k {
                return first;
            }
            let next = cpu.splat(self.slope());
            self.advance(k - below);
            return V::select(lanes_below::<V>(cpu, below), first, next);
        }
        // Runs shorter than the vector: a splat per run, selected above the
        // lanes before it. (Written lane by lane on the stack and reloaded,
        // the vector failed store forwarding, and each reload waited for
        // every older store to commit: 3 ns a vector, 1/25 of ReLU's speed
        // for `[1, 1024, 2, 2]` on the AVX-512 Xeon.)
        let mut s = first;
        let mut done = self.left;
        self.advance(done);
        while done < k {
            s = V::select(lanes_below::<V>(cpu, done), s, cpu.splat(self.slope()));
            let run = self.left.min(k - done);
            self.advance(run);
            done += run;
        }
        s
    }
}

/// Pattern forward: element `i` of the `n` from `x` uses slope
/// `pattern[(offset + i) % p]`.
///
/// One walk over the buffer, its head peeled so the stores are aligned,
/// then segments of whole vectors that each end where the pattern wraps: a
/// segment starting at phase `ph` takes `ceil((p - ph) / LANES)` vectors,
/// reading up to `LANES - 1` slopes past the period, from the pad that
/// repeats the pattern's start. The phase after a segment is below `LANES`.
///
/// # Safety
/// The CPU supports `V`'s ISA; `x`, `y` valid for `n` elements, equal or
/// disjoint; `pattern` valid for `p + LANES` reads, `pattern[p + j] ==
/// pattern[j]`; `LANES <= p`, `offset < p`.
#[inline(always)]
pub(crate) unsafe fn pattern_forward<V: F32Vector>(
    x: *const f32,
    y: *mut f32,
    n: usize,
    pattern: *const f32,
    p: usize,
    offset: usize,
) {
    let lanes = V::LANES;
    // The pass over the elements from `i`, slopes from phase `ph`.
    let pass_at = |i: usize, ph: usize| {
        // SAFETY: called with `ph < p` and `i <= n`: the pointers stay in
        // their buffers.
        unsafe {
            BinaryPass {
                op: PatternLeaky,
                saved: pattern.add(ph),
                grad: x.add(i),
                dst: y.add(i),
            }
        }
    };
    let head = head_len::<V>(y, n);
    let (mut i, mut ph) = (0, offset);
    // SAFETY: (whole block) each pass reads slopes `ph..ph + len` with `ph <
    // p` and `len <= (p - ph).div_ceil(lanes) * lanes`, so below `p + lanes`;
    // the elements `i..i + len` with `i + len <= n`.
    unsafe {
        if head > 0 {
            Pass::<V>::part(&pass_at(0, ph), 0, head);
            (i, ph) = (head, wrapped(ph + head, p));
        }
        while n - i >= lanes {
            let len = (p - ph).div_ceil(lanes).min((n - i) / lanes) * lanes;
            walk_body::<V>(&pass_at(i, ph), 0, len, PatternLeaky::UNROLL);
            (i, ph) = (i + len, wrapped(ph + len, p));
        }
        if i < n {
            Pass::<V>::part(&pass_at(i, ph), 0, n - i);
        }
    }
}

/// Whether the `n` values at `p` are all finite: `x - x` is NaN exactly
/// where `x` is infinite or NaN (+0 elsewhere), so four accumulators of
/// those differences, their lanes summed in f64 at the end, are NaN exactly
/// when some value is not finite. Two additions a vector and no branch: the
/// baseline's integer pass (SSE2, four lanes) took longer than a one-row
/// forward of the 4096 slopes it checked.
///
/// # Safety
/// The CPU supports `V`'s ISA; `p` valid for `n` reads.
#[inline(always)]
pub(crate) unsafe fn all_finite<V: F32Vector>(p: *const f32, n: usize) -> bool {
    // SAFETY: the CPU has `V`'s ISA, a requirement of every `unsafe fn`
    // of `ops/` (see the module's docs).
    let cpu = unsafe { Cpu::<V>::assume() };
    let l = V::LANES;
    let mut acc = [cpu.zero(); 4];
    let mut i = 0;
    // SAFETY: (whole block) every read is below `n`.
    unsafe {
        while i + 4 * l <= n {
            for (q, a) in acc.iter_mut().enumerate() {
                let x = V::load(p.add(i + q * l));
                *a = a.add(x.sub(x));
            }
            i += 4 * l;
        }
        while i < n {
            // The lanes past `n` are loaded as +0.
            let x = load_n::<V>(p.add(i), l.min(n - i));
            acc[0] = acc[0].add(x.sub(x));
            i += l;
        }
    }
    let total = acc[0].add(acc[1]).add(acc[2].add(acc[3]));
    !total.pairwise_sum_f64().is_nan()
}

/// Rows forward: element `i` of the `n` from `x` uses slope `w[(offset +
/// i) % p]`, `w` the `p >= LANES` slopes of a `[rows, C]` matrix's row as
/// they are, with no pad after them: nothing to build per call (the
/// pattern of [`pattern_forward`] is a copy of the row, which doubled the
/// time of a one-row call of 4096 channels).
///
/// The walk is [`pattern_forward`]'s, stores aligned after a head: runs of
/// whole vectors inside a row with slopes loaded from `w`, as a binary op;
/// the vector that straddles a row's end takes its slopes from two vectors
/// of `w`, its last and its first, rotated into place ([`row_slopes`]).
///
/// # Safety
/// The CPU supports `V`'s ISA; `x`, `y` valid for `n` elements, equal or
/// disjoint; `w` valid for `p` reads; `LANES <= p`, `offset < p`.
#[inline(always)]
pub(crate) unsafe fn rows_forward<V: F32Vector>(
    x: *const f32,
    y: *mut f32,
    n: usize,
    w: *const f32,
    p: usize,
    offset: usize,
) {
    let l = V::LANES;
    debug_assert!(l <= p && offset < p);
    let head = head_len::<V>(y, n);
    let (mut i, mut ph) = (0, offset);
    // SAFETY: (whole block) elements `i..i + k` with `i + k <= n`, each
    // loaded before it is stored; slopes from phase `ph < p`, at most
    // `p - ph` of them from `w + ph` (the rest through `row_slopes`).
    unsafe {
        if head > 0 {
            let xx = V::load_partial(x, head);
            PatternLeaky
                .apply(row_slopes::<V>(w, p, ph), xx)
                .store_partial(y, head);
            // `head < LANES <= p`: one wrap at most.
            (i, ph) = (head, wrapped(ph + head, p));
        }
        while n - i >= l {
            if ph + l <= p {
                // The whole vectors left in this row.
                let len = ((p - ph) / l).min((n - i) / l) * l;
                let pass = BinaryPass {
                    op: PatternLeaky,
                    saved: w.add(ph),
                    grad: x.add(i),
                    dst: y.add(i),
                };
                walk_body::<V>(&pass, 0, len, PatternLeaky::UNROLL);
                (i, ph) = (i + len, wrapped(ph + len, p));
            } else {
                let xx = V::load(x.add(i));
                PatternLeaky
                    .apply(row_slopes::<V>(w, p, ph), xx)
                    .store(y.add(i));
                (i, ph) = (i + l, ph + l - p);
            }
        }
        if i < n {
            let xx = V::load_partial(x.add(i), n - i);
            PatternLeaky
                .apply(row_slopes::<V>(w, p, ph), xx)
                .store_partial(y.add(i), n - i);
        }
    }
}

/// The slopes of the `LANES` elements from phase `ph < p` of a row of `p >=
/// LANES` slopes at `w`, wrapping to the row's start at most once: where
/// the row's end is `k < LANES` lanes on, the row's last vector and its
/// first, each rotated up by `k`, lanes below `k` from the first rotation
/// (lane `j` was `w[p - LANES + (j - k + LANES)] = w[ph + j]`), the others
/// from the second (`w[j - k]`, the next row's).
///
/// # Safety
/// `w` valid for `p` reads; `LANES <= p`, `ph < p`.
#[inline(always)]
unsafe fn row_slopes<V: F32Vector>(w: *const f32, p: usize, ph: usize) -> V {
    let l = V::LANES;
    // SAFETY: every load reads `l` slopes within `w[..p]`.
    unsafe {
        if ph + l <= p {
            return V::load(w.add(ph));
        }
        let k = p - ph;
        let last = V::load(w.add(p - l)).lanes_rotated(k);
        let first = V::load(w).lanes_rotated(k);
        V::select(lanes_below::<V>(last.cpu(), k), last, first)
    }
}

/// Periodic forward: element `i` of the `n` uses slope `slopes[(offset +
/// i) % q]`, `q = P * LANES` (a slope row that repeats within a few
/// vectors: NHWC with few channels). The `P` phase vectors of slopes stay in
/// registers, so the loop has ReLU's one load and one store per vector (the
/// pattern walk loads a slope vector too); the stores are aligned after a
/// head, the phases rotated to match.
///
/// # Safety
/// The CPU supports `V`'s ISA; `x`, `y` valid for `n` elements, equal or
/// disjoint; `slopes` valid for `P * LANES` reads; `offset < P * LANES`.
#[inline(always)]
pub(crate) unsafe fn periodic_forward<V: F32Vector, const P: usize>(
    x: *const f32,
    y: *mut f32,
    n: usize,
    slopes: *const f32,
    offset: usize,
) {
    // SAFETY: the CPU has `V`'s ISA, a requirement of every `unsafe fn`
    // of `ops/` (see the module's docs).
    let cpu = unsafe { Cpu::<V>::assume() };
    let l = V::LANES;
    let q = P * l;
    let h = head_len::<V>(y, n);
    // Lane x of phase m, at element h + m * l + x of a period: slope
    // (offset + h + m * l + x) % q. The head's lanes x < h: (offset + x) % q.
    let (mut rotated, mut head) = ([0.0f32; 64], [0.0f32; 16]);
    let mut k = offset;
    // SAFETY: `k < q` throughout; `slopes` holds `q`.
    unsafe {
        for hs in head.iter_mut().take(h) {
            *hs = *slopes.add(k);
            k = wrapped(k + 1, q);
        }
        for r in rotated.iter_mut().take(q) {
            *r = *slopes.add(k);
            k = wrapped(k + 1, q);
        }
    }
    let mut s = [cpu.zero(); P];
    for (m, sm) in s.iter_mut().enumerate() {
        // SAFETY: `rotated` holds `q = P * l` slopes.
        *sm = unsafe { V::load(rotated.as_ptr().add(m * l)) };
    }
    // SAFETY: (whole block) every access is to elements below `n`, each
    // loaded before it is stored; `head` holds 16 >= LANES slopes.
    unsafe {
        if h > 0 {
            let xx = V::load_partial(x, h);
            let hs = V::load(head.as_ptr());
            scaled_unless_positive(xx, xx, hs).store_partial(y, h);
        }
        let mut i = h;
        while i + q <= n {
            for (m, &sm) in s.iter().enumerate() {
                let at = i + m * l;
                let xx = V::load(x.add(at));
                scaled_unless_positive(xx, xx, sm).store(y.add(at));
            }
            i += q;
        }
        let mut m = 0;
        while i < n {
            let k = l.min(n - i);
            let xx = load_n::<V>(x.add(i), k);
            store_n(scaled_unless_positive(xx, xx, s[m]), y.add(i), k);
            i += k;
            m += 1;
        }
    }
}

/// The phase `ph < 2 * p` brought below the period `p`.
#[inline(always)]
fn wrapped(ph: usize, p: usize) -> usize {
    if ph >= p {
        ph - p
    } else {
        ph
    }
}

/// `v > 0 ? grad : grad * s` for `LANES` (or `k`) elements, returning the
/// slope-gradient term accumulated: `acc` where `v > 0`, else `fma(v, grad,
/// acc)` (so a `v > 0` lane adds nothing, even with an infinite `grad`).
#[inline(always)]
fn grad_and_term<V: F32Vector>(v: V, g: V, s: V, acc: V) -> (V, V) {
    let cpu = v.cpu();
    // The lanes that change, selected directly (`v <= 0` or NaN): on
    // AVX-512 the selects become a masked multiply and a masked FMA into
    // the accumulator, where `v > 0` and a blend after each took one
    // operation more per product.
    let scaled = v.not_gt(cpu.zero());
    (
        scaled_where(scaled, g, s),
        V::select(scaled, v.mul_add(g, acc), acc),
    )
}

/// One piece of a run, `n` elements with slope `s`: `dst = v > 0 ? grad :
/// grad * s`, and the piece's slope-gradient sum. The sum is defined by the
/// element's place in the piece alone (a fresh buffer must give the same
/// bits at any address): element `e` goes to lane `e % LANES` of
/// accumulator `(e / LANES) % 4`, a chain of fused multiply-adds in element
/// order, and every segment of `4 * SEGMENT_ITERATIONS` vectors from the
/// piece's start adds its accumulators `(a0 + a1) + (a2 + a3)`, then the
/// lanes pairwise in f64 ([`F32Vector::pairwise_sum_f64`]: a chain in lane
/// order made every flush a latency chain of `LANES` additions, 29% of the
/// runs kernel at 4096 elements in runs of 256 on AVX-512).
///
/// The walk is aligned to the stores all the same. After a head of `h`
/// elements, vector `j` holds elements `h + j * LANES + x` in lane `x`, and
/// goes to accumulator `j % 4` (the head is vector -1, in the top lanes of
/// the last one). Lane `x` of walk accumulator `m` then holds the chain of
/// canonical lane `(h + x) % LANES` of accumulator `m` (lanes below `LANES -
/// h`) or `m + 1` (the others), so [`canonical_segment_sum`] rotates them
/// back before the sum; a vector that straddles a segment's end gives its
/// lanes below `LANES - h` to this segment and starts the next with the
/// others. On Zen 3 (AVX2, in L2, buffers 4 or 16 bytes off alignment)
/// this walk is 1.09 to 1.11 times as fast as the unaligned one on a run of
/// 16 Ki elements, 1.02 to 1.04 on runs of 16 Ki in 64 Ki; on pieces of
/// 1024 its head, straddles and rotated sums cost more than it wins
/// (0.90 to 0.95), hence [`ALIGNED_PIECE`]. Tiers whose vectors are a
/// cache line wide (AVX-512) split a line on every unaligned access.
///
/// # Safety
/// The CPU supports `V`'s ISA; pointers valid for `n` elements; `grad ==
/// dst` or disjoint; `v` disjoint from `dst`.
#[inline(always)]
unsafe fn run_piece_backward<V: F32Vector>(
    v: *const f32,
    g: *const f32,
    dst: *mut f32,
    n: usize,
    s: f32,
) -> f64 {
    // SAFETY: the CPU has `V`'s ISA, a requirement of every `unsafe fn`
    // of `ops/` (see the module's docs).
    let cpu = unsafe { Cpu::<V>::assume() };
    let l = V::LANES;
    let s = cpu.splat(s);
    // Short pieces walk unaligned (`h = 0`): the head and its partial
    // store cost more than the aligned stores win.
    let h = if n >= ALIGNED_PIECE {
        head_len::<V>(dst, n)
    } else {
        0
    };
    let mut sum = 0.0f64;
    let mut acc = [cpu.zero(); 4];
    // Where the output trails an input by less than the 4 vectors of an
    // iteration modulo 4 KiB, compute the next iteration before storing
    // this one (see `ops::blocks`); the terms go to the accumulators in the
    // same order either way.
    // Two blocks, the accumulators and the slope take 14 registers, so only
    // tiers with 32 do this (AVX2 measured no gain).
    let window = 4 * l * core::mem::size_of::<f32>();
    let pipelined = V::REGISTERS >= 32 && (trails(dst, v, window) || trails(dst, g, window));
    // The lanes of a vector that straddles a segment's end that are before it.
    let before = (h > 0).then(|| lanes_below::<V>(cpu, l - h));
    // SAFETY: (whole block) every index touched is below `n`; each element is
    // read before it is written.
    unsafe {
        if h > 0 {
            acc[3] = run_head(v, g, dst, h, s);
        }
        let (mut at, mut end) = (h, (4 * SEGMENT_ITERATIONS * l).min(n));
        loop {
            // The whole iterations of this segment (the first vector after
            // a segment's start is of accumulator 0), then single vectors.
            if pipelined {
                let mut run = RunAhead {
                    v,
                    g,
                    dst,
                    s,
                    acc: &mut acc,
                };
                at = ahead(&mut run, at, end, 4 * l);
            }
            while at + 4 * l <= end {
                for (k, a) in acc.iter_mut().enumerate() {
                    let i = at + k * l;
                    let (d, t) = grad_and_term(V::load(v.add(i)), V::load(g.add(i)), s, *a);
                    d.store(dst.add(i));
                    *a = t;
                }
                at += 4 * l;
            }
            // Fewer than four vectors are left in the segment: single
            // vectors, the last maybe partial where the piece ends,
            // accumulators 0, 1, 2, 3 in turn (indexed by the loop, not by
            // a counter: a variable index kept the accumulators in memory).
            let stop = if end == n { n } else { at + (end - at) / l * l };
            for a in acc.iter_mut() {
                if at >= stop {
                    break;
                }
                let k = l.min(stop - at);
                let (vv, gg) = (load_n::<V>(v.add(at), k), load_n::<V>(g.add(at), k));
                let (d, t) = grad_and_term(vv, gg, s, *a);
                store_n(d, dst.add(at), k);
                *a = t;
                at += k;
            }
            if end == n {
                return sum + canonical_segment_sum(&acc, h, before);
            }
            let mut next = [cpu.zero(); 4];
            if at < end {
                // The vector at `at` straddles the segment's end (so `h > 0`
                // and it is of accumulator 3): its lanes below `l - h` end
                // this segment, the others start the next one.
                debug_assert!(end - at == l - h);
                let before = before.expect("a vector straddles segments only after a head");
                let k = l.min(n - at);
                let (vv, gg) = (load_n::<V>(v.add(at), k), load_n::<V>(g.add(at), k));
                let (d, t) = grad_and_term(vv, gg, s, acc[3]);
                store_n(d, dst.add(at), k);
                acc[3] = V::select(before, t, acc[3]);
                next[3] = grad_and_term(vv, gg, s, cpu.zero()).1.zero_where(before);
                at += k;
            }
            sum += canonical_segment_sum(&acc, h, before);
            acc = next;
            end = (end + 4 * SEGMENT_ITERATIONS * l).min(n);
            if at >= n {
                // The straddling vector took the piece's last elements.
                return sum + canonical_segment_sum(&acc, h, before);
            }
        }
    }
}

/// The first `0 < h < LANES` elements of a piece (before the first aligned
/// store); returns their terms in the top `h` lanes of a vector (rotated
/// there, one permute on AVX2 and AVX-512), `+0` in the lanes below.
/// (Copying the elements into the top lanes first compiled to masked moves
/// through the stack, each load waiting on a masked store: 60 ns a piece on
/// Zen 3. Moving the terms through the stack, stored at lane `l - h` and
/// reloaded at 0, failed store forwarding: the reload waited for every
/// older store to commit, which out of place on the AVX-512 Xeon cost a
/// quarter of a 64 Ki NCHW call's time.)
///
/// # Safety
/// The CPU supports `V`'s ISA; the pointers are valid for `h` elements, as
/// for [`run_piece_backward`].
#[inline(always)]
unsafe fn run_head<V: F32Vector>(v: *const f32, g: *const f32, dst: *mut f32, h: usize, s: V) -> V {
    let cpu = s.cpu();
    // SAFETY: elements `0..h` are in range, read before written.
    unsafe {
        let (vv, gg) = (V::load_partial(v, h), V::load_partial(g, h));
        // Lanes past `h` take +0 terms (zeros loaded).
        let (d, t) = grad_and_term(vv, gg, s, cpu.zero());
        d.store_partial(dst, h);
        t.lanes_rotated(V::LANES - h)
    }
}

/// A segment's sum from the walk's accumulators (see
/// [`run_piece_backward`]; `own` is lanes below `LANES - h`, `None` when
/// `h == 0`). Lane `x` of `d_a = x < LANES - h ? walk[a] :
/// walk[a - 1]` (mod 4) is canonical accumulator `a`'s lane `(h + x) %
/// LANES`, so `(d0 + d1) + (d2 + d3)` is the canonical `(c0 + c1) + (c2 +
/// c3)` with its lanes rotated by `h`, rotated back by
/// [`F32Vector::lanes_rotated`] (one permute on AVX2 and AVX-512).
/// (Rotating each accumulator back through an unaligned load from the
/// stack stalled store forwarding: 0.82 of Leaky ReLU's speed, against
/// 0.97 aligned.)
#[inline(always)]
fn canonical_segment_sum<V: F32Vector>(acc: &[V; 4], h: usize, own: Option<V::Mask>) -> f64 {
    canonical_segment_lanes(acc, h, own).pairwise_sum_f64()
}

/// The lanes [`canonical_segment_sum`] sums in f64: the canonical `(c0 +
/// c1) + (c2 + c3)`, in canonical lane order.
#[inline(always)]
fn canonical_segment_lanes<V: F32Vector>(acc: &[V; 4], h: usize, own: Option<V::Mask>) -> V {
    let Some(own) = own else {
        return acc[0].add(acc[1]).add(acc[2].add(acc[3]));
    };
    let d: [V; 4] = core::array::from_fn(|a| V::select(own, acc[a], acc[(a + 3) % 4]));
    d[0].add(d[1]).add(d[2].add(d[3])).lanes_rotated(h)
}

/// Iterations of four vectors of [`run_piece_backward`] for [`ahead`]: the
/// gradients computed and the terms accumulated (in element order, as the
/// plain loop does) before the stores.
struct RunAhead<'a, V> {
    v: *const f32,
    g: *const f32,
    dst: *mut f32,
    s: V,
    acc: &'a mut [V; 4],
}

impl<V: F32Vector> Ahead for RunAhead<'_, V> {
    type Block = [V; 4];
    #[inline(always)]
    unsafe fn compute(&mut self, at: usize) -> [V; 4] {
        let mut d = [self.s.cpu().zero(); 4];
        for (k, (d, a)) in d.iter_mut().zip(self.acc.iter_mut()).enumerate() {
            let i = at + k * V::LANES;
            // SAFETY: the four vectors at `at` are in the piece (`ahead`).
            let (vv, gg) = unsafe { (V::load(self.v.add(i)), V::load(self.g.add(i))) };
            (*d, *a) = grad_and_term(vv, gg, self.s, *a);
        }
        d
    }
    #[inline(always)]
    unsafe fn store(&mut self, at: usize, d: &[V; 4]) {
        for (k, d) in d.iter().enumerate() {
            // SAFETY: as in `compute`.
            unsafe { d.store(self.dst.add(at + k * V::LANES)) };
        }
    }
}

/// Runs backward over `n` elements laid out as for [`runs_forward`], cut into
/// pieces at the end of every run and every `piece` elements within a run
/// (counted from the run's start; `offset` is a multiple of `piece`). Writes
/// the gradient, and when `sums` is not null, each piece's slope-gradient sum
/// to `sums[0..]`, in order, or with `by_channel` adds it to `sums[c]`, `c`
/// the piece's channel (the same additions, in the same order, as adding the
/// per-piece sums to zeroed channel sums afterwards).
///
/// # Safety
/// The CPU supports `V`'s ISA; `v`, `g`, `dst` valid for `n` elements, `g ==
/// dst` or disjoint, `v` disjoint from `dst`; `w` valid for `c_len` reads,
/// `channel < c_len`, `offset < inner`; `sums` null or valid for as many
/// reads and writes as there are pieces (`c_len` with `by_channel`);
/// `piece > 0`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn runs_backward<V: F32Vector>(
    v: *const f32,
    g: *const f32,
    dst: *mut f32,
    n: usize,
    w: *const f32,
    c_len: usize,
    channel: usize,
    inner: usize,
    offset: usize,
    piece: usize,
    sums: *mut f64,
    by_channel: bool,
) {
    let short = offset == 0
        && (V::LANES..=short_run_max::<V>().min(piece)).contains(&inner)
        && n > 0
        && n.is_multiple_of(inner);
    if short {
        // SAFETY: the conditions just checked.
        unsafe {
            let walk = ShortRuns { v, g, dst };
            let runs = (w, c_len, channel, inner);
            if sums.is_null() {
                short_runs_backward::<V, false>(walk, n, runs, sums, false)
            } else {
                short_runs_backward::<V, true>(walk, n, runs, sums, by_channel)
            }
        };
        return;
    }
    let (mut done, mut c, mut off, mut k) = (0, channel, offset, 0);
    while done < n {
        let len = (inner - off).min(piece).min(n - done);
        // SAFETY: `done + len <= n`, `c < c_len`, and one sum per piece (or
        // per channel).
        unsafe {
            let s = *w.add(c);
            let piece_sum = if sums.is_null() {
                map_binary::<V, _>(
                    LeakyReluGrad { slope: s },
                    v.add(done),
                    g.add(done),
                    dst.add(done),
                    len,
                );
                0.0
            } else {
                run_piece_backward::<V>(v.add(done), g.add(done), dst.add(done), len, s)
            };
            if !sums.is_null() {
                if by_channel {
                    *sums.add(c) += piece_sum;
                } else {
                    *sums.add(k) = piece_sum;
                }
            }
        }
        k += 1;
        done += len;
        off += len;
        if off == inner {
            off = 0;
            c = if c + 1 == c_len { 0 } else { c + 1 };
        }
    }
}

/// The longest run [`short_runs_backward`] takes: one segment of
/// [`run_piece_backward`], so a run's sum is its accumulators' alone.
#[inline(always)]
fn short_run_max<V: F32Vector>() -> usize {
    4 * SEGMENT_ITERATIONS * V::LANES
}

/// Runs backward with the slope gradient over whole runs of `LANES` to
/// [`short_run_max`] elements (one segment of [`run_piece_backward`]): `n`
/// a multiple of `inner`, the first run of channel `channel`; each run is
/// one piece, its sum to `sums` as in [`runs_backward`]. The bits are those
/// of [`run_piece_backward`] on each run (a run's sum is defined by the
/// element's place in the run); the walk is another: one aligned walk over
/// the buffer, not a walk per run. The vector that holds a run's end takes
/// each lane's slope from its run, is stored whole, gives its lanes below
/// the end to this run's accumulator and starts the next run's with the
/// others, as the head of [`run_piece_backward`]'s aligned walk does (runs
/// are at least a vector long, so a vector holds at most two runs'
/// elements). The runs' lanes are summed in f64 in batches
/// ([`PendingSums`]), away from the walk.
///
/// A walk per run gave each run a masked tail (its `vmaskmovps` store was a
/// fifth of the time) and a latency chain of f64 additions. On Zen 3 (AVX2,
/// one thread, one image in L2), against the walk per run: 7x7 with 1024
/// channels x2.3 (0.42 of Leaky ReLU's backward, was 0.19 to 0.21), 14x14
/// with 256 x1.44 (0.69), 28x28 with 64 x1.27 (0.78); without the sums
/// x2.5 and x1.28.
///
/// Without `SUMS` (`sums` unused, null) only the gradient: the terms are
/// never computed, and the walk still saves each run a masked tail.
///
/// The buffers come as `walk`, the runs as `(w, c_len, channel, inner)`.
///
/// # Safety
/// As for [`runs_backward`], with `sums` not null if `SUMS`, `offset == 0`,
/// `n > 0` a multiple of `inner` and `LANES <= inner <= short_run_max`.
#[inline(always)]
unsafe fn short_runs_backward<V: F32Vector, const SUMS: bool>(
    walk: ShortRuns,
    n: usize,
    (w, c_len, channel, inner): (*const f32, usize, usize, usize),
    sums: *mut f64,
    by_channel: bool,
) {
    // SAFETY: the CPU has `V`'s ISA, a requirement of every `unsafe fn`
    // of `ops/` (see the module's docs).
    let cpu = unsafe { Cpu::<V>::assume() };
    let l = V::LANES;
    debug_assert!(l <= inner && inner <= short_run_max::<V>() && n.is_multiple_of(inner));
    let ShortRuns { v, g, dst } = walk;
    let mut pending = PendingSums {
        lanes: [cpu.zero(); PENDING_SUMS],
        len: 0,
        c: channel,
        k: 0,
    };
    let mut c = channel;
    // SAFETY: (whole block) `c < c_len` throughout; every element index is
    // below `n` (the run ends `end <= n`), each read before it is written;
    // one sum per run (or per channel).
    unsafe {
        let mut s = cpu.splat(*w.add(c));
        let mut acc = [cpu.zero(); 4];
        // The current run's elements before its first aligned vector, and
        // with `h > 0` its lanes below `l - h` (the rest of a walk vector
        // is of the run before).
        let mut h = head_len::<V>(dst, n);
        let mut own = None;
        if h > 0 {
            acc[3] = run_head(v, g, dst, h, s);
            own = Some(lanes_below::<V>(cpu, l - h));
        }
        let (mut at, mut end) = (h, inner);
        loop {
            while at + 4 * l <= end {
                for (q, a) in acc.iter_mut().enumerate() {
                    *a = walk.whole(*a, at + q * l, s);
                }
                at += 4 * l;
            }
            // At most three whole vectors, then the one that holds the
            // run's end (constant indices: a variable one kept the
            // accumulators in memory).
            let whole = (end - at) / l;
            if whole > 0 {
                acc[0] = walk.whole(acc[0], at, s);
            }
            if whole > 1 {
                acc[1] = walk.whole(acc[1], at + l, s);
            }
            if whole > 2 {
                acc[2] = walk.whole(acc[2], at + 2 * l, s);
            }
            at += whole * l;
            let next_c = if c + 1 == c_len { 0 } else { c + 1 };
            let (mut next_head, mut next_h, mut next_own) = (cpu.zero(), 0, None);
            if at < end {
                let below = end - at;
                let next_s = if end == n {
                    None
                } else {
                    next_h = l - below;
                    Some(cpu.splat(*w.add(next_c)))
                };
                let a = match whole {
                    0 => acc[0],
                    1 => acc[1],
                    2 => acc[2],
                    _ => acc[3],
                };
                let (a, head, this) = walk.end(a, at, below, s, next_s);
                match whole {
                    0 => acc[0] = a,
                    1 => acc[1] = a,
                    2 => acc[2] = a,
                    _ => acc[3] = a,
                }
                // The next run's own lanes are those below `l - next_h`.
                (next_head, next_own) = (head, this);
                at += l;
            }
            if SUMS {
                pending.push(
                    canonical_segment_lanes(&acc, h, own),
                    c_len,
                    sums,
                    by_channel,
                );
            }
            if end == n {
                if SUMS {
                    pending.flush(c_len, sums, by_channel);
                }
                return;
            }
            (c, h, own, end) = (next_c, next_h, next_own, end + inner);
            s = cpu.splat(*w.add(c));
            acc = [cpu.zero(), cpu.zero(), cpu.zero(), next_head];
        }
    }
}

/// The buffers of [`short_runs_backward`].
struct ShortRuns {
    v: *const f32,
    g: *const f32,
    dst: *mut f32,
}

impl ShortRuns {
    /// The whole vector at `at`, with slope `s`, its terms into `acc`.
    ///
    /// # Safety
    /// The `LANES` elements at `at` are in the buffers.
    #[inline(always)]
    unsafe fn whole<V: F32Vector>(&self, acc: V, at: usize, s: V) -> V {
        // SAFETY: forwarded; each element is read before it is written.
        unsafe {
            let (d, t) = grad_and_term(V::load(self.v.add(at)), V::load(self.g.add(at)), s, acc);
            d.store(self.dst.add(at));
            t
        }
    }

    /// The vector at `at` that holds a run's end, `below < LANES` elements
    /// on: its terms there into `acc`; with the next run's slope `next`,
    /// the lanes from `below` are the next run's head, whose terms are
    /// returned (in those lanes, +0 in the others) with the mask of the
    /// lanes below `below`, else (the call's end) the vector is partial.
    ///
    /// # Safety
    /// The `below` elements at `at` are in the buffers, and with `next` all
    /// `LANES`.
    #[inline(always)]
    unsafe fn end<V: F32Vector>(
        &self,
        acc: V,
        at: usize,
        below: usize,
        s: V,
        next: Option<V>,
    ) -> (V, V, Option<V::Mask>) {
        let cpu = acc.cpu();
        let (v, g, dst) = (self.v, self.g, self.dst);
        // SAFETY: forwarded; each element is read before it is written.
        unsafe {
            let Some(next) = next else {
                let (vv, gg) = (
                    V::load_partial(v.add(at), below),
                    V::load_partial(g.add(at), below),
                );
                let (d, t) = grad_and_term(vv, gg, s, acc);
                d.store_partial(dst.add(at), below);
                return (t, cpu.zero(), None);
            };
            let this = lanes_below::<V>(cpu, below);
            let slopes = V::select(this, s, next);
            let (vv, gg) = (V::load(v.add(at)), V::load(g.add(at)));
            let (d, t) = grad_and_term(vv, gg, slopes, acc);
            d.store(dst.add(at));
            let head = grad_and_term(vv, gg, slopes, cpu.zero()).1.zero_where(this);
            (V::select(this, t, acc), head, Some(this))
        }
    }
}

/// Runs whose canonical lanes [`short_runs_backward`] keeps before it sums
/// them in f64: away from the walk, the sums' latency chains overlap (one
/// chain per run, after its last vector, was half of the walk's time on
/// Zen 3).
const PENDING_SUMS: usize = 32;

/// The canonical lanes of up to [`PENDING_SUMS`] runs, the first of
/// channel `c`, piece `k`, not yet summed.
struct PendingSums<V> {
    lanes: [V; PENDING_SUMS],
    len: usize,
    c: usize,
    k: usize,
}

impl<V: F32Vector> PendingSums<V> {
    /// Keeps a run's lanes; sums all of them when full.
    ///
    /// # Safety
    /// As for [`PendingSums::flush`].
    #[inline(always)]
    unsafe fn push(&mut self, lanes: V, c_len: usize, sums: *mut f64, by_channel: bool) {
        self.lanes[self.len] = lanes;
        self.len += 1;
        if self.len == PENDING_SUMS {
            // SAFETY: forwarded.
            unsafe { self.flush(c_len, sums, by_channel) };
        }
    }

    /// Sums the runs kept: each run's lanes pairwise in f64, written to
    /// `sums[k]` or, `by_channel`, added to `sums[c]`, for runs `k`, `k +
    /// 1`, .. of channels `c`, `c + 1`, .. (mod `c_len`).
    ///
    /// # Safety
    /// `c < c_len`; `sums` valid as for [`runs_backward`].
    #[inline(always)]
    unsafe fn flush(&mut self, c_len: usize, sums: *mut f64, by_channel: bool) {
        for lanes in &self.lanes[..self.len] {
            let sum = lanes.pairwise_sum_f64();
            // SAFETY: `c < c_len`; one sum per run (or per channel).
            unsafe {
                if by_channel {
                    *sums.add(self.c) += sum;
                } else {
                    *sums.add(self.k) = sum;
                }
            }
            self.c = if self.c + 1 == c_len { 0 } else { self.c + 1 };
            self.k += 1;
        }
        self.len = 0;
    }
}

/// Rows the pattern backward takes at once: each column's accumulator is
/// loaded and stored once per block instead of once per row (stores were
/// the bottleneck: two per vector against Leaky ReLU's one).
const ROW_BLOCK: usize = 4;
const _: () = assert!(
    ROW_BLOCK.is_power_of_two(),
    "the block's terms are summed pairwise"
);

/// Pattern backward over `rows` rows of `width` elements, `stride` elements
/// apart (the rows of a column block): `dst = v > 0 ? grad : grad * s[j]`,
/// and `acc[j] += (v > 0 ? 0 : v * grad)` for each column `j`, in row order.
/// `acc` may be null (no slope gradient).
///
/// Which lane a column sits in does not change its sum (each column has its
/// own accumulator, a chain of fused multiply-adds down the rows), so the
/// columns are cut where the stores are aligned: a partial vector, whole
/// vectors, a partial tail. With `acc`, rows go in blocks of
/// [`ROW_BLOCK`]: per column vector the accumulator is loaded once, takes
/// the block's rows in order (the same chain as row by row, so the same
/// bits), and is stored once.
///
/// # Safety
/// The CPU supports `V`'s ISA; every row `r < rows` of `v`, `g`, `dst` valid
/// for `width` elements at `r * stride`; `g == dst` or disjoint, `v` disjoint
/// from `dst`; `pattern` valid for `width` reads, `acc` null or valid for
/// `width` reads and writes and disjoint from the rest.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn pattern_backward<V: F32Vector>(
    v: *const f32,
    g: *const f32,
    dst: *mut f32,
    stride: usize,
    width: usize,
    rows: usize,
    pattern: *const f32,
    acc: *mut f32,
) {
    let mut r = 0;
    // SAFETY: (both loops) the rows passed are below `rows`; forwarded
    // contract.
    unsafe {
        if !acc.is_null() {
            while r + ROW_BLOCK <= rows {
                let at = r * stride;
                let rows = Rows::<ROW_BLOCK> {
                    v: v.add(at),
                    g: g.add(at),
                    dst: dst.add(at),
                    stride,
                };
                rows.walk::<V>(width, pattern, acc);
                r += ROW_BLOCK;
            }
        }
        while r < rows {
            let at = r * stride;
            let row = Rows::<1> {
                v: v.add(at),
                g: g.add(at),
                dst: dst.add(at),
                stride,
            };
            row.walk::<V>(width, pattern, acc);
            r += 1;
        }
    }
}

/// `B` rows of the pattern backward, `stride` elements apart.
struct Rows<const B: usize> {
    v: *const f32,
    g: *const f32,
    dst: *mut f32,
    stride: usize,
}

impl<const B: usize> Rows<B> {
    /// The rows' `width` columns: a partial vector up to where the first
    /// row's stores are aligned, whole vectors, a partial tail.
    ///
    /// # Safety
    /// As for [`pattern_backward`], for these `B` rows.
    #[inline(always)]
    unsafe fn walk<V: F32Vector>(&self, width: usize, pattern: *const f32, acc: *mut f32) {
        let l = V::LANES;
        let head = head_len::<V>(self.dst, width);
        // SAFETY: (whole block) every call covers columns below `width`.
        unsafe {
            if head > 0 {
                self.columns::<V>(0, head, pattern, acc);
            }
            let mut j = head;
            while j + l <= width {
                self.columns::<V>(j, l, pattern, acc);
                j += l;
            }
            if j < width {
                self.columns::<V>(j, width - j, pattern, acc);
            }
        }
    }

    /// Columns `j..j + k` (`k <= LANES`; whole vectors when `k == LANES`)
    /// of every row. Loads every row before storing any: with rows 4 KiB
    /// apart, a load after a store to another row's same column would wait
    /// on 4K aliasing.
    ///
    /// # Safety
    /// As for [`pattern_backward`], with `j + k <= width`.
    #[inline(always)]
    unsafe fn columns<V: F32Vector>(&self, j: usize, k: usize, pattern: *const f32, acc: *mut f32) {
        // SAFETY: the CPU has `V`'s ISA, a requirement of every `unsafe fn`
        // of `ops/` (see the module's docs).
        let cpu = unsafe { Cpu::<V>::assume() };
        // SAFETY: (whole block) column `j + k <= width` of rows below `B`.
        unsafe {
            let load = |p: *const f32| load_n::<V>(p, k);
            let store = |x: V, p: *mut f32| store_n(x, p, k);
            let at = |row: usize| row * self.stride + j;
            let s = load(pattern.add(j));
            let (mut vv, mut gg) = ([cpu.zero(); B], [cpu.zero(); B]);
            for row in 0..B {
                vv[row] = load(self.v.add(at(row)));
                gg[row] = load(self.g.add(at(row)));
            }
            if acc.is_null() {
                for row in 0..B {
                    store(
                        scaled_unless_positive(vv[row], gg[row], s),
                        self.dst.add(at(row)),
                    );
                }
                return;
            }
            let a = load(acc.add(j));
            if B == 1 {
                let (d, t) = grad_and_term(vv[0], gg[0], s, a);
                store(d, self.dst.add(at(0)));
                store(t, acc.add(j));
                return;
            }
            // The block's terms, `+0` where `v > 0` (whatever `grad` is),
            // summed pairwise: no chain of dependent roundings runs through
            // the rows.
            let mut t = [cpu.zero(); B];
            for row in 0..B {
                let scaled = vv[row].not_gt(cpu.zero());
                store(scaled_where(scaled, gg[row], s), self.dst.add(at(row)));
                t[row] = vv[row].mul(gg[row]).keep_where(scaled);
            }
            let mut live = B;
            while live > 1 {
                for i in 0..live / 2 {
                    t[i] = t[2 * i].add(t[2 * i + 1]);
                }
                live /= 2;
            }
            store(a.add(t[0]), acc.add(j));
        }
    }
}

/// Periodic backward: element `i` of the `n` (counted from a group
/// boundary) is of class `k = i % (P * LANES)`, with slope `slopes[k]` and
/// channel `channel[k]`; `dst = v > 0 ? grad : grad * slopes[k]`. When
/// `partials` is not null, each class sums its terms `v > 0 ? +0 : v * grad`
/// in f32 (in element order, one vector lane per class: `P` accumulators
/// cycling), and every group of [`PATTERN_ROWS`] periods (the last one
/// maybe short) adds its class sums, in class order, in f64 to
/// `partials[group * c_len + channel[k]]`.
///
/// The layout shapes where a row of slopes repeats within a few vectors
/// (NHWC with few channels) take this instead of the column accumulators
/// of [`pattern_backward`]: the accumulators stay in registers, so the
/// loop has Leaky ReLU's loads and stores.
///
/// The stores are aligned: after a head of `h` elements every vector is,
/// and its lane `x` of phase `m` holds class `(h + m * LANES + x) % q`. A
/// class's sum does not depend on which lane holds it, only on its terms
/// and their order, so the head (classes `0..h`) is computed in the top
/// lanes of a last-phase vector, and a vector that straddles a group's end
/// adds its lanes before the end to this group and starts the next group
/// with the others. The bits are those of the scalar loop at any address.
///
/// # Safety
/// The CPU supports `V`'s ISA; `v`, `g`, `dst` valid for `n` elements, `g ==
/// dst` or disjoint, `v` disjoint from `dst`; `slopes` valid for `P * LANES`
/// reads; `channel` null (class `k` is of channel `k % c_len`, and `c_len`
/// divides `P * LANES`; NHWC) or valid for `P * LANES` reads, every channel
/// below `c_len`; `partials` null or
/// valid for `n.div_ceil(PATTERN_ROWS * P * LANES) * c_len` reads and
/// writes, disjoint from the rest.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn periodic_backward<V: F32Vector, const P: usize>(
    v: *const f32,
    g: *const f32,
    dst: *mut f32,
    n: usize,
    slopes: *const f32,
    channel: *const u32,
    c_len: usize,
    partials: *mut f64,
) {
    // SAFETY: the CPU has `V`'s ISA, a requirement of every `unsafe fn`
    // of `ops/` (see the module's docs).
    let cpu = unsafe { Cpu::<V>::assume() };
    let l = V::LANES;
    let q = P * l;
    // The stores are aligned after a head of `h` elements: the vector at
    // element `h + j * l` is of phase `j % P`, its lane `x` holding class
    // `(h + j * l + x) % q`. So the phase slopes are the slopes from class
    // `h` on, and the head (classes `0..h`) goes into the last phase's top
    // lanes, as does the top of every vector that straddles a group's end.
    let h = head_len::<V>(dst, n);
    let mut rotated = [0.0f32; 64];
    // Class `(h + x) % q`, counted with a wrapping class (a `%` per lane, by
    // a divisor known only at run time, was most of a small call's setup).
    let mut k = h % q;
    for r in &mut rotated[..q] {
        // SAFETY: `k < q`.
        *r = unsafe { *slopes.add(k) };
        k = wrapped(k + 1, q);
    }
    let walk = PeriodicWalk::<V, P> {
        v,
        g,
        dst,
        // SAFETY: `rotated` holds `q` slopes.
        s: core::array::from_fn(|m| unsafe { V::load(rotated.as_ptr().add(m * l)) }),
        sums: !partials.is_null(),
        h,
        head_lanes: lanes_below::<V>(cpu, h),
        cyclic: channel.is_null(),
        channel,
        c_len,
        partials,
    };
    // Lanes below `l - h`: the part of a straddling vector before the
    // group's end.
    let before = (h > 0).then(|| lanes_below::<V>(cpu, l - h));
    let mut acc = [cpu.zero(); P];
    if h > 0 {
        // SAFETY: `h <= n` elements, copied into the top lanes of a
        // vector on the stack and back.
        unsafe { walk.head(&mut acc[P - 1], h, l) };
    }
    let group_len = PATTERN_ROWS * q;
    // Where the output trails an input by less than a period modulo 4 KiB,
    // compute the next period before storing this one (see `ops::blocks`).
    // Two periods, the accumulators and the slopes take 4P registers and
    // more, so only tiers with 32 do this (AVX2 spilled: 8.4 -> 6.5
    // Gelem/s at 64 Ki).
    let window = q * core::mem::size_of::<f32>();
    let pipelined = V::REGISTERS >= 32 && (trails(dst, v, window) || trails(dst, g, window));
    let (mut i, mut group) = (h, 0);
    while i < n {
        let end = ((group + 1) * group_len).min(n);
        if pipelined {
            // SAFETY: the periods from `i` to `end <= n` are the call's.
            i = unsafe {
                ahead(
                    &mut PeriodAhead {
                        walk: &walk,
                        acc: &mut acc,
                    },
                    i,
                    end,
                    q,
                )
            };
        }
        // Whole vectors of this group (its first is of phase 0).
        while i + q <= end {
            for m in 0..P {
                // SAFETY: `i + q <= end <= n`.
                unsafe { walk.step(&mut acc, i + m * l, m, l) };
            }
            i += q;
        }
        let mut m = 0;
        while i + l <= end {
            // SAFETY: `i + l <= end <= n`.
            unsafe { walk.step(&mut acc, i, m, l) };
            i += l;
            m += 1;
        }
        if end == n {
            if i < n {
                // SAFETY: `i + (n - i) <= n`, `n - i < l`.
                unsafe { walk.step(&mut acc, i, m, n - i) };
            }
            // SAFETY: `group` is a group of this call (it has elements).
            unsafe { walk.flush(&acc, group) };
            return;
        }
        if i == end {
            // Without a head, vectors end where groups do.
            // SAFETY: `group` is a group of this call (it has elements).
            unsafe { walk.flush(&acc, group) };
            acc = [cpu.zero(); P];
            group += 1;
            continue;
        }
        // The vector at `i` straddles the group's end (`i < end < i + l`,
        // so `h > 0`): its lanes below `l - h` end this group, the others
        // (as many as there are elements) start the next one.
        let k = l.min(n - i);
        let before = before.expect("a vector straddles groups only after a head");
        let mut next = [cpu.zero(); P];
        // SAFETY: `i + k <= n`.
        unsafe { walk.straddle(&mut acc, &mut next, before, i, m, k) };
        // SAFETY: `group` is a group of this call (it has elements).
        unsafe { walk.flush(&acc, group) };
        acc = next;
        i += k;
        group += 1;
    }
    // Reached when the head or a straddling vector took the last elements.
    if n > 0 {
        // SAFETY: `group` is a group of this call (it has elements).
        unsafe { walk.flush(&acc, group) };
    }
}

/// The buffers and slopes of one [`periodic_backward`] call.
struct PeriodicWalk<V: F32Vector, const P: usize> {
    v: *const f32,
    g: *const f32,
    dst: *mut f32,
    /// The slopes of each phase of the period.
    s: [V; P],
    /// Whether the class sums are wanted.
    sums: bool,
    /// The head's length: lane `j` of the phases holds class `(h + j) % q`.
    h: usize,
    /// The lanes below `h` (made once per call, not per flush).
    head_lanes: V::Mask,
    /// Whether class `k` is of channel `k % c_len` (NHWC: `inner == 1`;
    /// `channel` is null then).
    cyclic: bool,
    channel: *const u32,
    c_len: usize,
    partials: *mut f64,
}

impl<V: F32Vector, const P: usize> PeriodicWalk<V, P> {
    /// Adds the class sums of `acc` to group `group`'s partials, in class
    /// order (a method, not a closure: a closure would not inline into the
    /// tier's `#[target_feature]` function).
    ///
    /// # Safety
    /// `group` is a group of the call.
    #[inline(always)]
    unsafe fn flush(&self, acc: &[V; P], group: usize) {
        if !self.sums {
            return;
        }
        let (l, q) = (V::LANES, P * V::LANES);
        // Classes `0..q` are the accumulators' `q` lanes from lane `q - h`
        // on, cyclically: vector `m` of them is accumulator `m - 1`'s (mod
        // `P`) top `h` lanes below accumulator `m`'s low `l - h` lanes, two
        // rotations by `h` and a select, in registers. (Read unaligned from
        // two stored copies, they waited on failed store forwarding, that
        // is for every older store to commit.)
        let mut classes = [0.0f32; 64];
        // SAFETY: `classes` holds `q <= 64` floats (at most 4 phases of 16
        // lanes); `channel` is valid for `q` reads, each below `c_len`;
        // `partials` for this group's `c_len` entries, disjoint from the
        // stack.
        unsafe {
            let mut prev = acc[P - 1].lanes_rotated(self.h);
            for (m, a) in acc.iter().enumerate() {
                let now = a.lanes_rotated(self.h);
                V::select(self.head_lanes, prev, now).store(classes.as_mut_ptr().add(m * l));
                prev = now;
            }
            let classes = &classes[..q];
            let row = self.partials.add(group * self.c_len);
            if self.cyclic {
                // Each channel's classes in class order, as below, but a
                // row of channels at a time (vectorised: a scalar
                // read-modify-write per class cost 8% of the loop at 16
                // channels on AVX2).
                let row = core::slice::from_raw_parts_mut(row, self.c_len);
                for block in classes.chunks_exact(self.c_len) {
                    for (r, &s) in row.iter_mut().zip(block) {
                        *r += f64::from(s);
                    }
                }
            } else {
                for (k, &s) in classes.iter().enumerate() {
                    *row.add(*self.channel.add(k) as usize) += f64::from(s);
                }
            }
        }
    }

    /// The first `h < LANES` elements, classes `0..h`, computed in the top
    /// `h` lanes of a vector of the last phase (through copies on the
    /// stack: the lanes their classes have in every aligned vector), their
    /// terms starting `acc`.
    ///
    /// # Safety
    /// `h` is within the call's `n` elements; `l == LANES`.
    #[inline(always)]
    unsafe fn head(&self, acc: &mut V, h: usize, l: usize) {
        // SAFETY: the CPU has `V`'s ISA, a requirement of every `unsafe fn`
        // of `ops/` (see the module's docs).
        let cpu = unsafe { Cpu::<V>::assume() };
        let (mut vb, mut gb, mut db) = ([0.0f32; 16], [0.0f32; 16], [0.0f32; 16]);
        // SAFETY: elements `0..h` are in range, read before written; the
        // stack arrays hold 16 >= LANES floats.
        unsafe {
            for x in 0..h {
                vb[l - h + x] = *self.v.add(x);
                gb[l - h + x] = *self.g.add(x);
            }
            let (vv, gg) = (V::load(vb.as_ptr()), V::load(gb.as_ptr()));
            let scaled = vv.not_gt(cpu.zero());
            scaled_where(scaled, gg, self.s[P - 1]).store(db.as_mut_ptr());
            for x in 0..h {
                *self.dst.add(x) = db[l - h + x];
            }
            if self.sums {
                // The lanes below `l - h` hold zeros: `+0` terms into `+0`.
                *acc = cpu.zero().add(vv.mul(gg).keep_where(scaled));
            }
        }
    }

    /// The vector of phase `m` at element `i` (`k` lanes loaded) that
    /// straddles a group's end: its terms in the lanes of `before` end
    /// `acc`, the others start `next`.
    ///
    /// # Safety
    /// `i + k` is within the call's `n` elements.
    #[inline(always)]
    unsafe fn straddle(
        &self,
        acc: &mut [V; P],
        next: &mut [V; P],
        before: V::Mask,
        i: usize,
        m: usize,
        k: usize,
    ) {
        // SAFETY: the CPU has `V`'s ISA, a requirement of every `unsafe fn`
        // of `ops/` (see the module's docs).
        let cpu = unsafe { Cpu::<V>::assume() };
        // SAFETY: forwarded.
        let terms = unsafe { self.grad(i, m, k) };
        if self.sums {
            // Phase `m` found by constant indices (see `step`).
            for (j, (a, next)) in acc.iter_mut().zip(next.iter_mut()).enumerate() {
                if j == m {
                    *a = V::select(before, a.add(terms), *a);
                    // Lanes past `k` take `+0` terms into `+0`: still `+0`.
                    *next = cpu.zero().add(terms).zero_where(before);
                }
            }
        }
    }

    /// The gradient of the vector of phase `m` at element `i`, `k` lanes (a
    /// whole vector when `k == LANES`), not stored, and its slope-gradient
    /// terms, `v > 0 ? +0 : v * grad` (`+0` in lanes past `k`).
    ///
    /// # Safety
    /// `i + k` is within the call's `n` elements.
    #[inline(always)]
    unsafe fn compute(&self, i: usize, m: usize, k: usize) -> (V, V) {
        // SAFETY: the CPU has `V`'s ISA, a requirement of every `unsafe fn`
        // of `ops/` (see the module's docs).
        let cpu = unsafe { Cpu::<V>::assume() };
        // SAFETY: elements `i..i + k` are in range.
        let (vv, gg) = unsafe { (load_n::<V>(self.v.add(i), k), load_n::<V>(self.g.add(i), k)) };
        // As in `grad_and_term`: the lanes that change, selected directly
        // (a masked multiply each on AVX-512).
        let scaled = vv.not_gt(cpu.zero());
        (
            scaled_where(scaled, gg, self.s[m]),
            vv.mul(gg).keep_where(scaled),
        )
    }

    /// [`Self::compute`] with the gradient stored; returns the terms.
    ///
    /// # Safety
    /// `i + k` is within the call's `n` elements.
    #[inline(always)]
    unsafe fn grad(&self, i: usize, m: usize, k: usize) -> V {
        // SAFETY: elements `i..i + k` are in range; each is read (by
        // `compute`) before it is written.
        unsafe {
            let (d, terms) = self.compute(i, m, k);
            store_n(d, self.dst.add(i), k);
            terms
        }
    }

    /// One vector of phase `m` at element `i`, `k` lanes (a whole vector
    /// when `k == LANES`), its terms added to `acc[m]`.
    ///
    /// # Safety
    /// `i + k` is within the call's `n` elements.
    #[inline(always)]
    unsafe fn step(&self, acc: &mut [V; P], i: usize, m: usize, k: usize) {
        // SAFETY: forwarded.
        let terms = unsafe { self.grad(i, m, k) };
        if self.sums {
            // The phase found by constant indices, a comparison each (folded
            // where `m` is a constant): indexed by a run-time `m`, the
            // accumulators lived on the stack, and a select became a masked
            // store there whose reload (by the next step or by `flush`)
            // store forwarding cannot serve. It waited for every older store
            // to commit: out of place, with the output not in L1, 12% of an
            // AVX-512 call on 16-byte-aligned buffers.
            for (j, a) in acc.iter_mut().enumerate() {
                if j == m {
                    let sum = a.add(terms);
                    *a = if k == V::LANES {
                        sum
                    } else {
                        // Only the `k` lanes loaded take a term (a `+0` would
                        // turn a `-0` sum into `+0`).
                        V::select(lanes_below::<V>(sum.cpu(), k), sum, *a)
                    };
                }
            }
        }
    }
}

/// Whole periods of [`periodic_backward`] for [`ahead`]: the gradients
/// computed and the terms added to the accumulators (as `step` adds them)
/// before the stores.
struct PeriodAhead<'a, V: F32Vector, const P: usize> {
    walk: &'a PeriodicWalk<V, P>,
    acc: &'a mut [V; P],
}

impl<V: F32Vector, const P: usize> Ahead for PeriodAhead<'_, V, P> {
    type Block = [V; P];
    #[inline(always)]
    unsafe fn compute(&mut self, i: usize) -> [V; P] {
        let w = self.walk;
        let mut out = [self.acc[0].cpu().zero(); P];
        for (m, (o, a)) in out.iter_mut().zip(self.acc.iter_mut()).enumerate() {
            // SAFETY: the period at `i` is within the call (`ahead`).
            let (d, terms) = unsafe { w.compute(i + m * V::LANES, m, V::LANES) };
            *o = d;
            if w.sums {
                *a = a.add(terms);
            }
        }
        out
    }
    #[inline(always)]
    unsafe fn store(&mut self, i: usize, grads: &[V; P]) {
        for (m, d) in grads.iter().enumerate() {
            // SAFETY: as in `compute`.
            unsafe { d.store(self.walk.dst.add(i + m * V::LANES)) };
        }
    }
}

/// The mask of lanes `0..k`, `k < LANES`.
#[inline(always)]
fn lanes_below<V: F32Vector>(cpu: Cpu<V>, k: usize) -> V::Mask {
    debug_assert!(k < V::LANES);
    let ones = [1.0f32; 16];
    // SAFETY: `cpu` proves the ISA; `k < LANES <= 16` lanes of `ones`.
    unsafe { V::load_partial(ones.as_ptr(), k) }.gt(cpu.zero())
}
