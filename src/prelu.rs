//! PReLU, `y = x > 0 ? x : w[c] * x` with one learned slope per channel, on
//! buffers laid out as `[outer, channels, inner]` ([`ChannelLayout`]).
//!
//! The engine picks a kernel shape from the layout:
//!
//! - one channel, `inner >= 512`, or where the slope pattern would be
//!   costly (rows `C * inner` above 16 Ki elements, or a pattern above a
//!   quarter of the buffer; it is built per call) `inner >= 4` forward and
//!   `inner >= 16` backward: each `(outer, channel)` pair is a contiguous
//!   run with one slope. Both directions walk the whole buffer once, a
//!   vector that straddles two runs taking a slope per lane (and, backward,
//!   giving its terms to both runs' sums), so no run gets a masked head and
//!   tail of its own.
//! - otherwise (NHWC, matrices, small images): the slopes as a per-element
//!   pattern along a row (repeated until the row is at least 1024 elements),
//!   walked like a binary op. The forward pass walks the buffer once, its
//!   stores aligned, through a pattern placed for the buffer (a period of
//!   4 KiB where it can, 2 KiB away from the data modulo 4 KiB; see
//!   [`rectify_kernels::PreluPattern`]), so its speed does not depend on
//!   where the allocator put the buffer. The backward takes the row in
//!   blocks of four rows with one accumulator per column
//!   ([`rectify_kernels::PreluAccumulators`]).
//! - NHWC forward with at least 64 channels and at most 8 rows (a
//!   `[batch, features]` matrix of a small batch): the slopes as they are,
//!   with no pattern to build ([`KernelSet::prelu_rows_forward`]).
//! - where the slope row (`C * inner` slopes) repeats within four vectors
//!   (NHWC with few channels, see [`KernelSet::prelu_periodic_classes`]):
//!   the periodic kernels keep the row's slopes in registers, rotated to
//!   the aligned walk; the forward has ReLU's one load and one store per
//!   vector, and the backward keeps one accumulator lane per class `i % q`
//!   in registers.
//!
//! # The slope gradient
//!
//! `grad_w[c] = sum over c's elements of (x > 0 ? 0 : x * grad)`, computed in
//! the same pass as the input gradient (no full-size temporary): terms are
//! accumulated in f32 vector lanes (by fused multiply-adds; in the pattern
//! shape four rows' products are summed pairwise first; the periodic kernel
//! adds the rounded products), at most
//! [`rectify_kernels::PRELU_ACC_TERMS`] (32) terms per lane, then flushed to
//! f64 and summed in f64, and the total is rounded to f32 once. With `u =
//! 2^-24`, `S` the exact sum, `A` the sum of `|x * grad|` and `m` the
//! number of elements of the channel, the result satisfies, for channels of
//! up to 2^29 elements where no product `x * grad` overflows f32,
//!
//! `|grad_w[c] - S| <= u |S| + 2^-18 A + m 2^-149 + 2^-150`
//!
//! (the `m 2^-149` term only where products underflow into f32's
//! subnormals, the `2^-150` only where the result itself is subnormal: the
//! last rounding there is absolute, half the spacing 2^-149).
//! At most 32 f32 roundings reach a term, 34 on tiers without FMA or where
//! vector lanes are combined (the pattern's blocks of four: the product,
//! two pairwise sums and at most 8 block additions, 11; the periodic
//! kernel: the product and at most 31 additions, 32), each at most `u`
//! (`34 u < 2^-18.9`), and the
//! f64 sum of the flushed values, at most 2^24 of them, adds below `2^-29 A`.
//! A 16 Mi-element channel therefore keeps its digits, where a
//! plain f32 sum could lose all of them. From the saved output (`w > 0`) the
//! terms are `y * grad`, one rounding further (`y = w x`), and their sum is
//! divided by `w[c]` in f64; the same bound holds.
//!
//! A channel whose sum is NaN (a NaN term, or infinite terms of both signs)
//! gets the canonical quiet NaN, `f32::NAN`, whatever the payloads: which
//! NaN a chain of additions passes on depends on the instruction forms the
//! compiler chose, and those may differ between a column's aligned and
//! unaligned code paths.
//!
//! The flush points and the order of every f64 addition depend only on the
//! layout (a fixed tree of pieces), never on the number of threads, so the
//! result is bit-identical for any split.

use std::borrow::Cow;

use rectify_kernels::{
    Isa, KernelSet, PieceSums, PreluAccumulators, PreluPattern, PreluRuns,
    PRELU_ONE_IMAGE_MAX_INNER, PRELU_PATTERN_ROWS,
};

use crate::error::same_len;
use crate::{parallel, Error, Kernels, Saved};

/// How a buffer maps to channels: `[outer, channels, inner]`, with `outer`
/// whatever the length makes it.
///
/// NCHW images are `ChannelLayout::nchw(c, h * w)`; NHWC images and plain
/// `[batch, features]` matrices are `ChannelLayout::nhwc(c)` (inner = 1).
///
/// ```
/// use rectify::ChannelLayout;
/// let nchw = ChannelLayout::nchw(3, 32 * 32);
/// assert_eq!((nchw.channels(), nchw.inner()), (3, 1024));
/// assert_eq!(ChannelLayout::nhwc(16), ChannelLayout::new(16, 1));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChannelLayout {
    channels: usize,
    inner: usize,
}

impl ChannelLayout {
    /// `[outer, channels, inner]`. Both must be at least 1 (checked when used).
    pub const fn new(channels: usize, inner: usize) -> ChannelLayout {
        ChannelLayout { channels, inner }
    }

    /// NCHW: `channels` planes of `spatial = H * W` elements per image.
    pub const fn nchw(channels: usize, spatial: usize) -> ChannelLayout {
        ChannelLayout::new(channels, spatial)
    }

    /// NHWC, or a `[rows, channels]` matrix: the channel varies fastest.
    pub const fn nhwc(channels: usize) -> ChannelLayout {
        ChannelLayout::new(channels, 1)
    }

    /// The number of channels `C`.
    pub const fn channels(&self) -> usize {
        self.channels
    }

    /// The elements of one channel that are contiguous (`H * W` for NCHW, 1 for
    /// NHWC).
    pub const fn inner(&self) -> usize {
        self.inner
    }

    /// `outer` for a buffer of `len` elements, or [`Error::LayoutMismatch`].
    fn outer(&self, argument: &'static str, len: usize) -> Result<usize, Error> {
        let block = self.channels.checked_mul(self.inner).filter(|&b| b > 0);
        match block {
            Some(b) if len.is_multiple_of(b) => Ok(len / b),
            _ => Err(Error::LayoutMismatch {
                argument,
                len,
                channels: self.channels,
                inner: self.inner,
            }),
        }
    }
}

/// From this `inner` up, PReLU always walks each run with one slope.
const RUNS_INNER: usize = 512;
/// From this `inner` up, the forward walks runs where the slope pattern
/// would be costly (see [`runs_inner`]); below it, the pattern is used
/// whatever its length. Measured on Zen 3 (AVX2), one thread, in-process
/// against the pattern, 1024 to 4096 channels, one image: inner 4 x2.6
/// (x1.4 on a misaligned buffer, where every vector holds two or three runs
/// and takes its slopes lane by lane), 8 x2.8, 12 x10.5, 16 x3.7, 25 x9.9,
/// 49 x25 (the pattern, built per call, was as long as the buffer). Since
/// vectors of three runs or more load their slopes from `w` and permute
/// them, runs of 2 and 3 win too: on the AVX-512 Xeon, one thread, in
/// place, `[1, 4096, 2]` x7.2 (5.9 -> 0.82 us), `[1, 2048, 3]` x5.4,
/// `[1, 32768, 2]` x19; AVX2 x3.6, x2.9, x10; portable x1.3 to x4.5.
const FORWARD_RUNS_MIN_INNER: usize = 2;
/// The same for the backward, whose runs each end in a slope-gradient sum:
/// against the pattern, inner 12 x0.84, 16 x1.37, 25 x2.5, 49 x2.2 (runs of
/// 4 and 8: x0.98 and x1.24, both about 0.5 Gelem/s).
const BACKWARD_RUNS_MIN_INNER: usize = 16;
/// Up to this row length (`C * inner`), the slope pattern is used: it stays
/// in L1 next to the data.
const PATTERN_MAX: usize = 16 * 1024;
/// Pattern rows are at least this long (the slope pattern repeated): one
/// kernel call walks a row, so rows must be long enough to pay for it.
const PATTERN_MIN: usize = 1024;
/// Columns of a pattern block: its accumulators stay in L1.
const PATTERN_COLS: usize = 4096;
/// Runs are cut into pieces of this many elements: the leaves of the
/// reduction tree in runs mode, and where a run may be split across threads.
const PIECE: usize = 1 << 14;

/// NHWC calls of at least this many channels and at most [`ROWS_MAX`]
/// rows take the forward's slopes as they are, a row at a time
/// ([`KernelSet::prelu_rows_forward`]), instead of building a slope pattern
/// of at least 1024 slopes per call. Measured on Zen 3 (AVX2, one thread,
/// in-process against the pattern): one row x2.1 (4096 channels) to x2.7
/// (512); 8 rows x1.15 to x1.44 (256 to 4096 channels); rows win up to about
/// 40 rows of 64 or 100 channels, 16 of 1024 or 4096, and lose past that
/// (x0.77 to x0.96 at 64 Ki elements: the pattern's walk has no row ends).
const ROWS_MIN_CHANNELS: usize = 64;
/// See [`ROWS_MIN_CHANNELS`]; also the most rows whose backward takes its
/// slope gradient straight into `grad_w` (see
/// [`Kernels::prelu_backward`]'s one-group case).
const ROWS_MAX: usize = 8;
const _: () = assert!(
    ROWS_MAX <= PRELU_PATTERN_ROWS,
    "one group of the pattern shape"
);

/// Up to this period (or a quarter of the buffer, if less) the forward
/// pattern is lengthened to a multiple of 1024 or 16 elements, for its
/// placement (see [`PreluPattern`]); 16 KiB leave half of L1 to the data.
const FORWARD_PATTERN_MAX: usize = 4096;

/// The kernel shape for a layout (see the module docs).
enum Plan<'w> {
    /// Runs of `inner` elements, channel `k % C` for run `k`.
    Runs { w: &'w [f32], inner: usize },
    /// Rows of `pattern.len()` elements; column `j` is channel
    /// `(j / inner) % C`.
    Pattern {
        pattern: Cow<'w, [f32]>,
        inner: usize,
    },
    /// A row that repeats within a few vectors: `q` classes, class `k` of
    /// channel `(k / inner) % C` (backward only; see
    /// [`KernelSet::prelu_periodic_backward`]). Its tables are built where
    /// they are used, on the stack: no allocation, and no copy of them
    /// with the plan.
    Periodic { q: usize, inner: usize },
    /// One image (`outer == 1`) of runs of `2..=16`, where a pattern would
    /// be as long as the buffer: [`KernelSet::prelu_one_image_backward`],
    /// split at channels (each channel's sum is its own, so any split gives
    /// the same bits, which are the pattern's for one row).
    OneImage { w: &'w [f32], inner: usize },
}

/// Most classes of the periodic shape: 4 vectors of 16 lanes.
const PERIODIC_MAX: usize = 64;

/// A value per class of the periodic shape, `q` classes: class `k` is
/// element `k % r` of the row (`r = C * inner`, which divides `q`), of
/// channel `(k % r) / inner`, and takes that channel's entry of
/// `per_channel`. The row is written once, then repeated (a division per
/// class took 18% of a backward call at 4096 elements, a counting loop 20%
/// of a forward one).
fn periodic_table<T: Copy + Default>(
    per_channel: &[T],
    inner: usize,
    q: usize,
) -> [T; PERIODIC_MAX] {
    let r = per_channel.len() * inner;
    assert!(
        q <= PERIODIC_MAX && r > 0 && q.is_multiple_of(r),
        "at most 4 vectors of 16 lanes, whole rows"
    );
    let mut table = [T::default(); PERIODIC_MAX];
    if inner == 1 {
        // NHWC: the row is the values (a fill per channel of one element
        // each was a tenth of a 2048-element backward).
        table[..r].copy_from_slice(per_channel);
    } else {
        for (c, &v) in per_channel.iter().enumerate() {
            table[c * inner..(c + 1) * inner].fill(v);
        }
    }
    let (row, rest) = table[..q].split_at_mut(r);
    for copy in rest.chunks_exact_mut(r) {
        copy.copy_from_slice(row);
    }
    table
}

/// The channel of each class of the periodic shape (see [`periodic_table`]).
fn periodic_channels(c_len: usize, inner: usize, q: usize) -> [u32; PERIODIC_MAX] {
    let mut ids = [0u32; PERIODIC_MAX];
    for (c, id) in ids.iter_mut().enumerate().take(c_len) {
        *id = c as u32;
    }
    periodic_table(&ids[..c_len], inner, q)
}

/// The run length if a layout of `c` channels takes the runs kernels over
/// `n` elements, runs of fewer than `min_inner` never (the shortest pattern
/// row would be `row * repeat`; see [`Plan`]).
fn runs_inner(c: usize, inner: usize, n: usize, min_inner: usize) -> Option<usize> {
    if c == 1 {
        // One slope: the whole buffer is one run.
        return Some(n.max(1));
    }
    let row = c * inner;
    let repeat = PATTERN_MIN.div_ceil(row);
    // The pattern is built on every call: where it would be large next
    // to the buffer (or not fit L1), runs are cheaper, if long enough.
    let pattern_costly = row > PATTERN_MAX || 4 * row * repeat > n;
    (inner >= RUNS_INNER || (pattern_costly && inner >= min_inner)).then_some(inner)
}

/// One row of slopes: `w[c]` repeated `inner` times each.
fn slope_row(w: &[f32], inner: usize) -> Cow<'_, [f32]> {
    if inner == 1 {
        return Cow::Borrowed(w);
    }
    let mut row = Vec::with_capacity(w.len() * inner);
    for &s in w {
        row.resize(row.len() + inner, s);
    }
    Cow::Owned(row)
}

impl<'w> Plan<'w> {
    /// The backward's plan on `set`'s tier.
    fn new(w: &'w [f32], layout: ChannelLayout, n: usize, set: &KernelSet) -> Plan<'w> {
        if let Some(inner) = runs_inner(w.len(), layout.inner, n, BACKWARD_RUNS_MIN_INNER) {
            return Plan::Runs { w, inner };
        }
        let r = w.len() * layout.inner;
        if let Some(q) = set.prelu_periodic_classes(r) {
            return Plan::Periodic {
                q,
                inner: layout.inner,
            };
        }
        // Its slopes are a permute a vector on AVX2 and AVX-512; through
        // the stack elsewhere, where it lost to the pattern (portable x0.56
        // to x0.82 on the AVX-512 Xeon). The bits are the same either way.
        let permutes = matches!(set.isa(), Isa::Avx2 | Isa::Avx512);
        if permutes && n == r && (2..=PRELU_ONE_IMAGE_MAX_INNER).contains(&layout.inner) {
            return Plan::OneImage {
                w,
                inner: layout.inner,
            };
        }
        let row = slope_row(w, layout.inner);
        let repeat = PATTERN_MIN.div_ceil(row.len());
        let pattern = if repeat == 1 {
            row
        } else {
            Cow::Owned(row.repeat(repeat))
        };
        Plan::Pattern {
            pattern,
            inner: layout.inner,
        }
    }
}

/// The forward kernel shape: runs as in [`Plan`], the periodic slopes in
/// registers where the row repeats within a few vectors, or else the slope
/// pattern placed for the buffer it runs over.
// On the stack for one call, like `Plan`: no box, no allocation.
#[allow(clippy::large_enum_variant)]
enum ForwardPlan<'w> {
    Runs {
        w: &'w [f32],
        inner: usize,
    },
    Periodic {
        slopes: [f32; PERIODIC_MAX],
        q: usize,
    },
    /// NHWC with many channels: the slopes as they are, a row at a time.
    Rows {
        w: &'w [f32],
    },
    Pattern(PreluPattern),
}

impl<'w> ForwardPlan<'w> {
    fn new(w: &'w [f32], layout: ChannelLayout, dst: &[f32], set: &KernelSet) -> ForwardPlan<'w> {
        let n = dst.len();
        if let Some(inner) = runs_inner(w.len(), layout.inner, n, FORWARD_RUNS_MIN_INNER) {
            return ForwardPlan::Runs { w, inner };
        }
        if let Some(q) = set.prelu_periodic_classes(w.len() * layout.inner) {
            let slopes = periodic_table(w, layout.inner, q);
            return ForwardPlan::Periodic { slopes, q };
        }
        if layout.inner == 1 && w.len() >= ROWS_MIN_CHANNELS && n <= ROWS_MAX * w.len() {
            return ForwardPlan::Rows { w };
        }
        let row = slope_row(w, layout.inner);
        let shortest = row.len() * PATTERN_MIN.div_ceil(row.len());
        let max_len = shortest.max(FORWARD_PATTERN_MAX.min(n / 4));
        ForwardPlan::Pattern(PreluPattern::new(&row, PATTERN_MIN, max_len, dst.as_ptr()))
    }

    /// The forward pass over the span of the buffer starting at `start`.
    fn forward(&self, set: &KernelSet, start: usize, src: Option<&[f32]>, dst: &mut [f32]) {
        match self {
            ForwardPlan::Runs { w, inner } => {
                let runs = PreluRuns {
                    w,
                    channel: (start / inner) % w.len(),
                    inner: *inner,
                    offset: start % inner,
                };
                set.prelu_runs_forward(src, dst, runs)
            }
            ForwardPlan::Periodic { slopes, q } => {
                set.prelu_periodic_forward(src, dst, &slopes[..*q], start % q)
            }
            ForwardPlan::Rows { w } => set.prelu_rows_forward(src, dst, w, start % w.len()),
            ForwardPlan::Pattern(pattern) => {
                set.prelu_pattern_forward(src, dst, pattern, start % pattern.period())
            }
        }
    }
}

/// The first slope where `bad` holds, if any: `bad` over every slope in
/// one branch-free pass the compiler vectorises (SSE2 at the baseline
/// target), then a search only if one is bad. A `find` with a branch per
/// slope took 70% of a one-row forward of 4096 channels on Zen 3.
fn first_slope_where(w: &[f32], bad: impl Fn(f32) -> bool) -> Option<f32> {
    if !w.iter().fold(false, |any, &s| any | bad(s)) {
        return None;
    }
    w.iter().copied().find(|&s| bad(s))
}

/// Validates PReLU's slopes and the buffer's layout; returns `outer`.
fn validate(
    set: &KernelSet,
    w: &[f32],
    layout: ChannelLayout,
    argument: &'static str,
    len: usize,
) -> Result<usize, Error> {
    let outer = layout.outer(argument, len)?;
    if w.len() != layout.channels {
        return Err(Error::LengthMismatch {
            argument: "w",
            expected: layout.channels,
            actual: w.len(),
        });
    }
    // Many slopes at the tier's width; a few (or, on failure, all to find
    // the bad one) by the fold the sign checks use: for few channels the
    // call into the tier cost more than it saved.
    let bad = if w.len() > 64 && set.all_finite(w) {
        None
    } else {
        first_slope_where(w, |s| !s.is_finite())
    };
    if let Some(bad) = bad {
        return Err(Error::InvalidParameter {
            activation: "prelu",
            parameter: "w",
            value: bad,
            requirement: "every slope must be finite",
        });
    }
    Ok(outer)
}

impl Kernels {
    /// PReLU in place: `x = x > 0 ? x : w[c] * x`, `c` the channel of each
    /// element in `layout`.
    ///
    /// ```
    /// use rectify::{ChannelLayout, Kernels};
    /// // NCHW, 2 channels of 2 elements: slopes 0.5 and 2.
    /// let mut x = [-1.0f32, 1.0, -1.0, 1.0];
    /// Kernels::from_env().prelu(&mut x, &[0.5, 2.0], ChannelLayout::nchw(2, 2))?;
    /// assert_eq!(x, [-0.5, 1.0, -2.0, 1.0]);
    /// # Ok::<(), rectify::Error>(())
    /// ```
    pub fn prelu(&self, x: &mut [f32], w: &[f32], layout: ChannelLayout) -> Result<(), Error> {
        validate(self.kernel_set(), w, layout, "x", x.len())?;
        self.prelu_forward_span(None, x, w, layout);
        Ok(())
    }

    /// PReLU into `y`.
    ///
    /// ```
    /// use rectify::{ChannelLayout, Kernels};
    /// // NHWC (channel fastest), 2 channels.
    /// let x = [-1.0f32, -1.0, 4.0, -4.0];
    /// let mut y = [0.0f32; 4];
    /// Kernels::from_env().prelu_into(&x, &[0.5, 0.25], ChannelLayout::nhwc(2), &mut y)?;
    /// assert_eq!(y, [-0.5, -0.25, 4.0, -1.0]);
    /// # Ok::<(), rectify::Error>(())
    /// ```
    pub fn prelu_into(
        &self,
        x: &[f32],
        w: &[f32],
        layout: ChannelLayout,
        y: &mut [f32],
    ) -> Result<(), Error> {
        validate(self.kernel_set(), w, layout, "x", x.len())?;
        same_len("y", x.len(), y.len())?;
        self.prelu_forward_span(Some(x), y, w, layout);
        Ok(())
    }

    fn prelu_forward_span(
        &self,
        src: Option<&[f32]>,
        dst: &mut [f32],
        w: &[f32],
        layout: ChannelLayout,
    ) {
        let n = dst.len();
        let set = self.kernel_set();
        let plan = ForwardPlan::new(w, layout, dst, set);
        match self.split_len(n) {
            None => plan.forward(set, 0, src, dst),
            Some(chunk) => {
                let parts: Vec<_> = dst
                    .chunks_mut(chunk)
                    .enumerate()
                    .map(|(i, d)| {
                        let start = i * chunk;
                        (start, src.map(|s| &s[start..start + d.len()]), d)
                    })
                    .collect();
                parallel::run_parts(parts, |(start, s, d)| plan.forward(set, start, s, d));
            }
        }
    }

    /// PReLU backward in place on the gradient: `grad = v > 0 ? grad : w[c] *
    /// grad`, and, when `grad_w` is given, the slope gradient `grad_w[c] =
    /// sum(x > 0 ? 0 : x * grad)` over channel `c`'s elements, in the same pass
    /// (see the module docs of [`ChannelLayout`]'s home for the error bound).
    ///
    /// From the saved output the slopes must be `>= 0` (then `y > 0` exactly
    /// when `x > 0`), and `> 0` for the slope gradient (`x = y / w`).
    ///
    /// ```
    /// use rectify::{ChannelLayout, Kernels, Saved};
    /// let x = [-2.0f32, 3.0, -1.0, -4.0];
    /// let w = [0.5f32, 0.25];
    /// let mut grad = [1.0f32; 4];
    /// let mut grad_w = [0.0f32; 2];
    /// let k = Kernels::from_env();
    /// k.prelu_backward(Saved::Input(&x), &w, ChannelLayout::nchw(2, 2), &mut grad, Some(&mut grad_w))?;
    /// assert_eq!(grad, [0.5, 1.0, 0.25, 0.25]);
    /// assert_eq!(grad_w, [-2.0, -5.0]);
    /// # Ok::<(), rectify::Error>(())
    /// ```
    pub fn prelu_backward(
        &self,
        saved: Saved<'_>,
        w: &[f32],
        layout: ChannelLayout,
        grad: &mut [f32],
        grad_w: Option<&mut [f32]>,
    ) -> Result<(), Error> {
        self.prelu_backward_checked(saved, w, layout, None, grad, grad_w)
    }

    /// PReLU backward into `grad_in` (see [`Kernels::prelu_backward`]).
    pub fn prelu_backward_into(
        &self,
        saved: Saved<'_>,
        w: &[f32],
        layout: ChannelLayout,
        grad_out: &[f32],
        grad_in: &mut [f32],
        grad_w: Option<&mut [f32]>,
    ) -> Result<(), Error> {
        same_len("grad_out", saved.values().len(), grad_out.len())?;
        self.prelu_backward_checked(saved, w, layout, Some(grad_out), grad_in, grad_w)
    }

    fn prelu_backward_checked(
        &self,
        saved: Saved<'_>,
        w: &[f32],
        layout: ChannelLayout,
        grad_src: Option<&[f32]>,
        dst: &mut [f32],
        grad_w: Option<&mut [f32]>,
    ) -> Result<(), Error> {
        let v = saved.values();
        validate(self.kernel_set(), w, layout, "saved", v.len())?;
        same_len("grad", v.len(), dst.len())?;
        if let Some(gw) = &grad_w {
            same_len("grad_w", w.len(), gw.len())?;
        }
        if let Saved::Output(_) = saved {
            let need_positive = grad_w.is_some();
            let bad = if need_positive {
                first_slope_where(w, |s| s <= 0.0)
            } else {
                first_slope_where(w, |s| s < 0.0)
            };
            if let Some(value) = bad {
                return Err(Error::GradientFromOutputUndefined {
                    activation: "prelu",
                    parameter: "w",
                    value,
                    requirement: if need_positive {
                        "every slope must be > 0 for the slope gradient (x = y / w)"
                    } else {
                        "every slope must be >= 0"
                    },
                });
            }
        }
        let Some(gw) = grad_w else {
            self.prelu_backward_span(v, grad_src, dst, w, layout, None);
            return Ok(());
        };
        let from_output = matches!(saved, Saved::Output(_));
        let rows = v.len() / w.len();
        if layout.inner == 1 && w.len() >= PATTERN_MIN && rows <= ROWS_MAX {
            // A small batch of many channels: one group of the pattern
            // shape (up to `PRELU_PATTERN_ROWS` rows) whose columns are the
            // channels, so its f32 column accumulators are the sums (a sum
            // is +0 plus a column's value in f64, and back). Accumulated
            // straight into `grad_w`: no accumulators to place and zero, no
            // f64 sums. On Zen 3 (AVX2): one row of 4096 channels x2.4, 8
            // rows of 1024 x1.7; from 16 rows on the placed accumulators
            // win (32 rows of 1024 or 4096: x0.83 to x0.85 straight into
            // `grad_w`, which may sit anywhere modulo 4 KiB).
            gw.fill(0.0);
            let set = self.kernel_set();
            set.prelu_pattern_backward(v, grad_src, dst, w.len(), rows, w, Some(&mut *gw));
            // The sums from these f32 values (from +0 in f64: a column of
            // -0 gives +0).
            slope_gradients(gw, w, None, from_output);
            return Ok(());
        }
        with_zeroed(w.len(), |sums| {
            self.prelu_backward_span(v, grad_src, dst, w, layout, Some(&mut *sums));
            slope_gradients(gw, w, Some(sums), from_output);
        });
        Ok(())
    }

    /// The backward kernels over the whole buffer, adding the per-channel f64
    /// slope-gradient sums to `sums` (zeroed, one per channel) when given.
    fn prelu_backward_span(
        &self,
        v: &[f32],
        grad_src: Option<&[f32]>,
        dst: &mut [f32],
        w: &[f32],
        layout: ChannelLayout,
        sums: Option<&mut [f64]>,
    ) {
        let n = v.len();
        let set = self.kernel_set();
        let parts = self.split_len(n).map_or(1, |chunk| n.div_ceil(chunk));
        let want_sums = sums.is_some();
        match Plan::new(w, layout, n, set) {
            Plan::Runs { w, inner } => {
                if parts == 1 {
                    // Not split: the pieces' sums go straight to their
                    // channels, in piece order, as the loop below adds them
                    // (no slot per piece: at 64 Ki elements in runs of 200,
                    // zeroing and adding 320 slots cost a tenth of a call).
                    let runs = PreluRuns {
                        w,
                        channel: 0,
                        inner,
                        offset: 0,
                    };
                    let sums = sums.map(PieceSums::PerChannel);
                    set.prelu_runs_backward(v, grad_src, dst, runs, PIECE, sums);
                    return;
                }
                let per_run = inner.div_ceil(PIECE);
                let total = (n / inner) * per_run;
                with_zeroed(if want_sums { total } else { 0 }, |piece_sums| {
                    // Piece p starts at (p / per_run) * inner + (p % per_run) * PIECE.
                    let start_of = |p: usize| (p / per_run) * inner + (p % per_run) * PIECE;
                    // Parts of whole pieces: (element, piece-sum) boundaries.
                    let cuts = || {
                        (0..=parts)
                            .map(|t| total * t / parts)
                            .map(|p| (start_of(p), if want_sums { p } else { 0 }))
                            .collect()
                    };
                    let whole = (0, v, grad_src, &mut *dst, &mut *piece_sums);
                    run_split(parts, whole, cuts, |(start, v, g, d, s)| {
                        let runs = PreluRuns {
                            w,
                            channel: (start / inner) % w.len(),
                            inner,
                            offset: start % inner,
                        };
                        let s = want_sums.then_some(PieceSums::PerPiece(s));
                        set.prelu_runs_backward(v, g, d, runs, PIECE, s);
                    });
                    if let Some(sums) = sums {
                        // Piece p belongs to run p / per_run, of channel (p /
                        // per_run) % C.
                        let mut c = 0;
                        for run_sums in piece_sums.chunks(per_run) {
                            for s in run_sums {
                                sums[c] += s;
                            }
                            c = if c + 1 == w.len() { 0 } else { c + 1 };
                        }
                    }
                });
            }
            Plan::Pattern { pattern, inner } => {
                let (row, c_len) = (pattern.len(), w.len());
                let group_len = row * PRELU_PATTERN_ROWS;
                let pattern = &pattern[..];
                let span = (v, grad_src, dst);
                run_groups(
                    span,
                    group_len,
                    parts,
                    c_len,
                    sums,
                    |(_, v, g, d, partials)| {
                        pattern_groups(set, v, g, d, pattern, inner, c_len, want_sums, partials);
                    },
                );
            }
            Plan::OneImage { w, inner } => {
                let c_len = w.len();
                // Parts of whole channels: (element, sum) boundaries.
                let cuts = || {
                    (0..=parts)
                        .map(|t| c_len * t / parts)
                        .map(|c| (c * inner, if want_sums { c } else { 0 }))
                        .collect()
                };
                let whole = (0, v, grad_src, dst, sums.unwrap_or_default());
                run_split(parts, whole, cuts, |(start, v, g, d, s)| {
                    let c0 = start / inner;
                    let w = &w[c0..c0 + v.len() / inner];
                    let s = want_sums.then_some(s);
                    set.prelu_one_image_backward(v, g, d, w, inner, s);
                });
            }
            Plan::Periodic { q, inner } => {
                let slopes = periodic_table(w, inner, q);
                // NHWC needs no channel table: class k is channel k % C.
                let table = (inner > 1).then(|| periodic_channels(w.len(), inner, q));
                let (slopes, channel) = (&slopes[..q], table.as_ref().map(|t| &t[..q]));
                let group_len = q * PRELU_PATTERN_ROWS;
                let span = (v, grad_src, dst);
                run_groups(
                    span,
                    group_len,
                    parts,
                    w.len(),
                    sums,
                    |(_, v, g, d, partials)| {
                        let partials = if want_sums { Some(partials) } else { None };
                        set.prelu_periodic_backward(v, g, d, slopes, channel, partials);
                    },
                );
            }
        }
    }
}

/// Each channel's slope gradient from its f64 sum: `sums[c]`, or where
/// `sums` is `None`, +0 plus `grad_w[c]` (f32 column sums); of `y * grad`
/// terms `from_output`, divided by the slope. A NaN sum gives the canonical
/// NaN: which of several NaN terms a sum passes on depends on the
/// instruction forms the compiler picked (and so on the code path an
/// address takes). In loops the compiler vectorises: a loop with a branch
/// per channel took two thirds of a one-row backward of 4096 channels.
fn slope_gradients(gw: &mut [f32], w: &[f32], sums: Option<&[f64]>, from_output: bool) {
    let canonical = |g: f32| if g.is_nan() { f32::NAN } else { g };
    match (sums, from_output) {
        (Some(sums), false) => {
            for (g, &s) in gw.iter_mut().zip(sums) {
                *g = canonical(s as f32);
            }
        }
        (Some(sums), true) => {
            for ((g, &s), &slope) in gw.iter_mut().zip(sums).zip(w) {
                *g = canonical((s / f64::from(slope)) as f32);
            }
        }
        // `(0 + g) as f32` is `g + 0` in f32.
        (None, false) => {
            for g in gw.iter_mut() {
                *g = canonical(*g + 0.0);
            }
        }
        (None, true) => {
            for (g, &slope) in gw.iter_mut().zip(w) {
                *g = canonical(((0.0 + f64::from(*g)) / f64::from(slope)) as f32);
            }
        }
    }
}

/// Calls `f` with `len` zeroed f64s: on the stack up to 512 of them, on the
/// heap beyond (the sums of a small call: four allocations, and the cuts
/// below, were a fifth of a 4096-element backward on Zen 3).
fn with_zeroed<R>(len: usize, f: impl FnOnce(&mut [f64]) -> R) -> R {
    // Three sizes: zeroing 512 values costs a call to memset.
    if len <= 16 {
        f(&mut [0.0; 16][..len])
    } else if len <= 64 {
        f(&mut [0.0; 64][..len])
    } else if len <= 512 {
        f(&mut [0.0; 512][..len])
    } else {
        f(&mut vec![0.0; len])
    }
}

/// Runs `kernel` on `whole` (the buffer and all its partial sums, from
/// element 0) in one call when `parts == 1`: no cuts, no allocation, no
/// rayon call. Otherwise on the parts that `cuts()` gives (see [`carve`]),
/// across the pool. One part is what the cuts would give for `parts == 1`,
/// so the sums are the same either way.
fn run_split<'a>(
    parts: usize,
    whole: Part<'a>,
    cuts: impl FnOnce() -> Vec<(usize, usize)>,
    kernel: impl Fn(Part<'_>) + Sync,
) {
    if parts == 1 {
        return kernel(whole);
    }
    let (_, v, g, d, s) = whole;
    parallel::run_parts(carve(v, g, d, s, &cuts()), kernel);
}

/// The backward over groups of `group_len` elements with a row of `c_len`
/// partial sums each (the pattern and periodic shapes): `kernel` over the
/// span's parts of whole groups, then the groups' partials added to `sums`
/// (when given) in group order. A call of one group that is not split
/// flushes into `sums` itself, which gives the same bits only because they
/// are zeroed (as [`Kernels::prelu_backward_span`] has them).
fn run_groups(
    (v, grad_src, dst): (&[f32], Option<&[f32]>, &mut [f32]),
    group_len: usize,
    parts: usize,
    c_len: usize,
    sums: Option<&mut [f64]>,
    kernel: impl Fn(Part<'_>) + Sync,
) {
    let (n, want_sums) = (v.len(), sums.is_some());
    let groups = n.div_ceil(group_len);
    if parts == 1 && groups == 1 {
        // One group, not split: its partial sums go straight to the (zeroed)
        // sums. The bits are the same: a partial is f64 additions from +0,
        // never -0, and +0 plus it is itself (a [1, 4096] backward zeroed
        // and added 4096 partials for nothing).
        let sums = sums.unwrap_or_default();
        return kernel((0, v, grad_src, dst, sums));
    }
    with_zeroed(if want_sums { groups * c_len } else { 0 }, |partials| {
        let cuts = || group_cuts(n, group_len, parts, c_len, want_sums);
        run_split(parts, (0, v, grad_src, dst, &mut *partials), cuts, kernel);
        if let Some(sums) = sums {
            add_groups(sums, partials);
        }
    });
}

/// Cuts `n` elements in groups of `group_len` into at most `parts` parts of
/// whole groups: the `(element, partial sum)` boundaries for [`carve`], the
/// partial sums a row of `c_len` per group (none unless `want_sums`).
fn group_cuts(
    n: usize,
    group_len: usize,
    parts: usize,
    c_len: usize,
    want_sums: bool,
) -> Vec<(usize, usize)> {
    let groups = n.div_ceil(group_len);
    let per_part = groups.div_ceil(parts);
    (0..=groups.div_ceil(per_part.max(1)))
        .map(|t| (t * per_part).min(groups))
        .map(|g| {
            (
                (g * group_len).min(n),
                if want_sums { g * c_len } else { 0 },
            )
        })
        .collect()
}

/// Adds the groups' partial sums (rows of `sums.len()`) to `sums`, in group
/// order.
fn add_groups(sums: &mut [f64], partials: &[f64]) {
    for group in partials.chunks(sums.len().max(1)) {
        for (s, p) in sums.iter_mut().zip(group) {
            *s += p;
        }
    }
}

/// One part of a split backward call: where it starts in the buffer, its
/// slices of the saved values, the incoming gradient (or none: in place) and
/// the output, and its slots of the partial sums.
type Part<'a> = (
    usize,
    &'a [f32],
    Option<&'a [f32]>,
    &'a mut [f32],
    &'a mut [f64],
);

/// Cuts the buffers at `cuts`, increasing `(element, partial sum)` offsets
/// from `(0, 0)` to the ends, into one [`Part`] per pair of neighbours.
fn carve<'a>(
    v: &'a [f32],
    grad_src: Option<&'a [f32]>,
    dst: &'a mut [f32],
    sums: &'a mut [f64],
    cuts: &[(usize, usize)],
) -> Vec<Part<'a>> {
    let (mut v, mut g, mut d, mut s) = (v, grad_src, dst, sums);
    let mut parts = Vec::with_capacity(cuts.len().saturating_sub(1));
    for pair in cuts.windows(2) {
        let ((e0, s0), (e1, s1)) = (pair[0], pair[1]);
        let (v_part, v_rest) = v.split_at(e1 - e0);
        let (g_part, g_rest) = match g {
            Some(g) => {
                let (a, b) = g.split_at(e1 - e0);
                (Some(a), Some(b))
            }
            None => (None, None),
        };
        let (d_part, d_rest) = std::mem::take(&mut d).split_at_mut(e1 - e0);
        let (s_part, s_rest) = std::mem::take(&mut s).split_at_mut(s1 - s0);
        parts.push((e0, v_part, g_part, d_part, s_part));
        (v, g, d, s) = (v_rest, g_rest, d_rest, s_rest);
    }
    parts
}

/// Pattern backward over whole row groups (the span starts at a group
/// boundary): each group of [`PRELU_PATTERN_ROWS`] rows, in column blocks,
/// accumulates in f32, then adds its columns' accumulators in f64, in column
/// order, to its channels' entries of `partials` (one row of `c_len` per
/// group, zeroed).
#[allow(clippy::too_many_arguments)]
fn pattern_groups(
    set: &KernelSet,
    v: &[f32],
    g: Option<&[f32]>,
    d: &mut [f32],
    pattern: &[f32],
    inner: usize,
    c_len: usize,
    want_sums: bool,
    partials: &mut [f64],
) {
    let row = pattern.len();
    let group_len = row * PRELU_PATTERN_ROWS;
    let mut acc = PreluAccumulators::new(
        if want_sums { row.min(PATTERN_COLS) } else { 0 },
        d.as_ptr(),
    );
    let acc = acc.as_mut_slice();
    let mut start = 0;
    let mut group = 0;
    while start < v.len() {
        let len = group_len.min(v.len() - start);
        let (full_rows, last) = (len / row, len % row);
        let mut j0 = 0;
        while j0 < row {
            let width = PATTERN_COLS.min(row - j0);
            // The block's full rows, then the first columns of a last, short
            // row where the buffer ends inside one.
            let short = last.saturating_sub(j0).min(width);
            for (at, rows, w) in [
                (start + j0, full_rows, width),
                (start + full_rows * row + j0, 1, short),
            ] {
                if rows == 0 || w == 0 {
                    continue;
                }
                let acc = if want_sums { Some(&mut acc[..w]) } else { None };
                set.prelu_pattern_backward(
                    &v[at..],
                    g.map(|g| &g[at..]),
                    &mut d[at..],
                    row,
                    rows,
                    &pattern[j0..j0 + w],
                    acc,
                );
            }
            if want_sums {
                let sums = &mut partials[group * c_len..(group + 1) * c_len];
                flush(&mut acc[..width], j0, inner, sums);
            }
            j0 += width;
        }
        start += len;
        group += 1;
    }
}

/// Adds the accumulators of columns `j0..j0 + acc.len()` to their channels'
/// `sums` in f64, in column order, and zeroes them. Column `j` is channel
/// `(j / inner) % sums.len()`: with `inner == 1` each stretch of `C`
/// columns adds lane-wise (the compiler vectorises it), with longer `inner`
/// each run of `inner` columns adds into one sum.
fn flush(acc: &mut [f32], j0: usize, inner: usize, sums: &mut [f64]) {
    let c_len = sums.len();
    let (mut c, mut off) = ((j0 / inner) % c_len, j0 % inner);
    let mut i = 0;
    while i < acc.len() {
        if inner == 1 {
            let take = (c_len - c).min(acc.len() - i);
            for (s, a) in sums[c..c + take].iter_mut().zip(&mut acc[i..i + take]) {
                *s += f64::from(*a);
                *a = 0.0;
            }
            i += take;
            c = 0;
            continue;
        }
        let take = (inner - off).min(acc.len() - i);
        let mut sum = sums[c];
        for a in &mut acc[i..i + take] {
            sum += f64::from(*a);
            *a = 0.0;
        }
        sums[c] = sum;
        i += take;
        off = 0;
        c = if c + 1 == c_len { 0 } else { c + 1 };
    }
}
