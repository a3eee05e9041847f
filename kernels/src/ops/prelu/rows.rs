//! Rows: layouts whose slope changes every element or every few (NHWC;
//! runs shorter than a vector).
//!
//! - [`RowSlopes`]: the forward reads NHWC's row of slopes as it is (a
//!   slope pattern built per call was x2.1 to x2.7 slower on one row of
//!   4096 channels, x1.15 to x1.44 on 8 rows, Zen 3).
//! - [`Periodic`]: where the row repeats within 4 vectors, its phases stay
//!   in registers: ReLU's one load and one store a vector, and backward one
//!   f32 sum lane per class `i % q`.
//! - [`columns`]: the backward of other such layouts walks a block of
//!   columns four rows at a time, each column summing its terms in an f32
//!   accumulator (loaded and stored once per four rows: stores were the
//!   bottleneck), flushed to f64 every 32 rows in column order. One row's
//!   column sums are its terms: each channel's sum is `+0 + t0 + t1 + ...`
//!   in element order, the scalar tier's bits.

use super::runs::{lane_picks, Picks, ShortRuns};
use super::{grad_w as grad_w_of, GradW, Grads, Job, Slopes};
use crate::ops::relu::scaled_where;
use crate::ops::{below, head_len, load_n, store_n, walk, wrap_inc, Pass, MAX_UNROLL};
use crate::vector::{Cpu, F32Vector};

/// Rows (periods) a group sums in f32 before f64: 32 roundings at most.
pub(super) const GROUP_ROWS: usize = 32;

/// Columns of a block: their accumulators stay in L1.
const COLS: usize = 4096;

/// The forward's slopes of NHWC: span element `i` takes `w[(start + i) %
/// p]`, the row repeated to `p >= LANES`; `cpu` proves `V`'s ISA.
pub(super) struct RowSlopes<V> {
    w: *const f32,
    p: usize,
    ph: usize,
    cpu: Cpu<V>,
}

impl<V: F32Vector> RowSlopes<V> {
    /// The row of `job`, repeated in `rep` if it is shorter than a vector.
    #[inline(always)]
    pub(super) fn new(job: &Job<'_>, cpu: Cpu<V>, rep: &mut [f32; 32]) -> Self {
        let c_len = job.w.len();
        let p = c_len * V::LANES.div_ceil(c_len);
        for r in rep[..p.min(32)].chunks_exact_mut(c_len) {
            r.copy_from_slice(job.w);
        }
        let w = if p > c_len { &rep[..] } else { job.w }.as_ptr();
        let ph = job.start % p;
        RowSlopes { w, p, ph, cpu }
    }
}

impl<V: F32Vector> Slopes<V> for RowSlopes<V> {
    // Ahead: 8 rows of 131072 channels (L3), 9.1 -> 10.2 Gelem/s (AVX-512).
    const STREAM: bool = true;
    #[inline(always)]
    fn next(&mut self, k: usize) -> V {
        let (l, p) = (V::LANES, self.p);
        // A plain block may have left the phase at the row's end.
        let ph = if self.ph == p { 0 } else { self.ph };
        // SAFETY: `cpu` proves the ISA; every load reads `l` slopes within
        // the row's `p >= l`.
        let s = unsafe {
            if ph + l <= p {
                V::load(self.w.add(ph))
            } else {
                // The row ends `e` lanes on: below `e`, its last vector
                // rotated up by `e` (lane j, `w[p - l + j - e + l]`, is `w[ph
                // + j]`), above, its first rotated.
                let e = p - ph;
                let last = V::load(self.w.add(p - l)).lanes_rotated(e);
                V::select(below(self.cpu, e), last, V::load(self.w).lanes_rotated(e))
            }
        };
        self.ph = if ph + k >= p { ph + k - p } else { ph + k };
        s
    }
    #[inline(always)]
    fn plain(&mut self, max: usize) -> usize {
        // The blocks within the row.
        if self.ph == self.p {
            self.ph = 0;
        }
        ((self.p - self.ph) / (4 * V::LANES)).min(max)
    }
    #[inline(always)]
    fn block<const PLAIN: bool>(&mut self) -> [V; MAX_UNROLL] {
        let (l, ph) = (V::LANES, self.ph);
        if !PLAIN {
            return [self.next(l), self.next(l), self.next(l), self.next(l)];
        }
        // Within the row (`plain`): no wrap here (a test per block was a
        // tenth of the instructions of 8 rows of many channels).
        self.ph = ph + 4 * l;
        let mut s = [self.cpu.zero(); MAX_UNROLL];
        for (q, s) in s.iter_mut().enumerate() {
            // SAFETY: `cpu` proves the ISA; within the row (`plain`).
            *s = unsafe { V::load(self.w.add(ph + q * l)) };
        }
        s
    }
}

/// `[a[1], .., a[P - 1], a[0]]`: the phases after a single vector (indexed
/// by a run-time phase, they lived on the stack).
#[inline(always)]
fn rotated<V: Copy, const P: usize>(a: [V; P]) -> [V; P] {
    let mut r = a;
    r[P - 1] = a[0];
    r[..P - 1].copy_from_slice(&a[1..]);
    r
}

/// The periodic shape, periods of `q = P * LANES`: lane `x` of phase `m` is
/// element `(h + m * LANES + x) % q` of a period (the head's in the last
/// phase's top lanes). With `SUMS` (a span from a row's start) class `i %
/// q` sums its rounded products in f32, a lane each, added to the channels'
/// f64 sums in class order every [`GROUP_ROWS`] periods.
pub(super) struct Periodic<V: F32Vector, const P: usize, const SUMS: bool> {
    /// Slopes and sums of the phases, rotated by `m` (see [`rotated`]).
    s: [V; P],
    acc: [V; P],
    m: usize,
    group_left: usize,
    h: usize,
    /// The row, the run length, the channels, the sums.
    dims: (usize, usize, usize),
    sums: *mut f64,
}

impl<V: F32Vector, const P: usize, const SUMS: bool> Periodic<V, P, SUMS> {
    /// The walk of `job`; zeroes the sums.
    ///
    /// # Safety
    /// With `SUMS`, `job.sums` is valid for `C` writes (the span meets every
    /// channel).
    #[inline(always)]
    pub(super) unsafe fn new(job: &Job<'_>, cpu: Cpu<V>) -> Self {
        let (l, q, c_len) = (V::LANES, P * V::LANES, job.w.len());
        let h = head_len::<V>(job.dst, job.n);
        if SUMS {
            // SAFETY: forwarded.
            unsafe { core::ptr::write_bytes(job.sums, 0, c_len) };
        }
        // The row's slopes repeated to `2 q` (the row divides `q`): the
        // phases load from any class. Written once, then copied (a division
        // per slope took 18% of a 4096-element call).
        let (mut t, mut have) = ([0.0f32; 128], job.row);
        for (c, &w) in job.w.iter().enumerate() {
            t[c * job.inner..(c + 1) * job.inner].fill(w);
        }
        while have < 2 * q {
            let more = have.min(2 * q - have);
            t.copy_within(..more, have);
            have += more;
        }
        let (k0, mut s) = ((job.start + h) % q, [cpu.zero(); P]);
        for (m, s) in s.iter_mut().enumerate() {
            // SAFETY: `k0 + P * l < 2 q <= 128`.
            *s = unsafe { V::load(t.as_ptr().add(k0 + m * l)) };
        }
        let (acc, group_left, dims) =
            ([cpu.zero(); P], GROUP_ROWS * q, (job.row, job.inner, c_len));
        Periodic {
            s,
            acc,
            m: 0,
            group_left,
            h,
            dims,
            sums: job.sums,
        }
    }

    /// The vector of `s[i]`, `acc[i]` (`i` a constant), lanes `from..to`.
    #[inline(always)]
    fn vector(&mut self, i: usize, v: V, g: V, from: usize, to: usize) -> V {
        let scaled = v.not_gt(v.cpu().zero());
        let d = scaled_where(scaled, g, self.s[i]);
        if !SUMS {
            return d;
        }
        // The lanes not loaded hold `+0` terms: no sum changes.
        let (t, n) = (v.mul(g).keep_where(scaled), to - from);
        if n <= self.group_left {
            self.acc[i] = self.acc[i].add(t);
            self.group_left -= n;
            if self.group_left == 0 {
                self.flush();
            }
        } else {
            // The group ends inside the vector (after a head only).
            let (before, rest) = (below(v.cpu(), from + self.group_left), n - self.group_left);
            self.acc[i] = self.acc[i].add(t.keep_where(before));
            self.flush();
            (self.acc[i], self.group_left) = (t.zero_where(before), self.group_left - rest);
        }
        d
    }

    /// Adds the classes' sums to their channels' in class order, and starts
    /// a group. Class vector `m` is phase `m` rotated up by `h`, below `h`
    /// phase `m - 1`, in registers (stored and read back unaligned, they
    /// waited on failed store forwarding).
    #[inline(always)]
    fn flush(&mut self) {
        let (l, q, mut acc, mut classes) = (V::LANES, P * V::LANES, self.acc, [0.0f32; 64]);
        // Phase `j` is `acc[(j - m) % P]`.
        for _ in 0..(P - self.m) % P {
            acc = rotated(acc);
        }
        let (head, mut prev) = (
            below(acc[0].cpu(), self.h),
            acc[P - 1].lanes_rotated(self.h),
        );
        for (m, a) in acc.iter().enumerate() {
            let now = a.lanes_rotated(self.h);
            // SAFETY: `classes` holds `q = P * l <= 64` floats.
            unsafe { V::select(head, prev, now).store(classes.as_mut_ptr().add(m * l)) };
            prev = now;
        }
        let (row, inner, c_len) = self.dims;
        // SAFETY: `sums` holds `C` sums.
        let sums = unsafe { core::slice::from_raw_parts_mut(self.sums, c_len) };
        // The classes in order, row by row, each run to its channel (NHWC
        // vectorised: a scalar update per class was 8% of the loop, AVX2).
        for row in classes[..q].chunks_exact(row) {
            for (s, run) in sums.iter_mut().zip(row.chunks_exact(inner)) {
                if inner == 1 {
                    *s += f64::from(run[0]);
                } else {
                    for &c in run {
                        *s += f64::from(c);
                    }
                }
            }
        }
        (self.acc, self.group_left) = ([acc[0].cpu().zero(); P], GROUP_ROWS * q);
    }
}

impl<V: F32Vector, const P: usize, const SUMS: bool> Grads<V> for Periodic<V, P, SUMS> {
    const UNROLL: usize = P;
    #[inline(always)]
    fn grad(&mut self, v: V, g: V, from: usize, to: usize) -> V {
        if from > 0 {
            return self.vector(P - 1, v, g, from, to);
        }
        let d = self.vector(0, v, g, from, to);
        (self.s, self.acc) = (rotated(self.s), rotated(self.acc));
        self.m = wrap_inc(self.m, P);
        d
    }
    #[inline(always)]
    fn block_vector<const PLAIN: bool>(&mut self, q: usize, v: V, g: V) -> V {
        // Blocks come before single vectors: phase `q` is at `[q]`.
        if !PLAIN {
            return self.vector(q, v, g, 0, V::LANES);
        }
        let scaled = v.not_gt(v.cpu().zero());
        if SUMS {
            self.acc[q] = self.acc[q].add(v.mul(g).keep_where(scaled));
        }
        scaled_where(scaled, g, self.s[q])
    }
    #[inline(always)]
    fn plain(&mut self, max: usize) -> usize {
        if !SUMS {
            return max;
        }
        // The blocks before the one that ends the group.
        let q = P * V::LANES;
        let plain = ((self.group_left - 1) / q).min(max);
        self.group_left -= plain * q;
        plain
    }
    #[inline(always)]
    fn finish(&mut self) {
        if SUMS && self.group_left < GROUP_ROWS * P * V::LANES {
            self.flush();
        }
    }
}

/// `R` rows of a block of columns, from `x`, `g` and `dst` at the block's
/// first row, `row` apart; their slopes from `w` (`DIRECT`: NHWC, the
/// block's channels, `w_len` of them: a constant, where the run-time
/// `shift` of 0 ran 8 rows of 8192 channels at 0.9 of its speed, AVX2),
/// the picks of runs of `2^shift <= LANES`, or the cursor `s`; their f32
/// sums at `acc`, written rather than added to when `FIRST` (a constant:
/// tested per vector, a tenth of a one-row call).
struct Columns<'a, V, const R: usize, const FIRST: bool, const DIRECT: bool> {
    x: *const f32,
    g: *const f32,
    dst: *mut f32,
    row: usize,
    acc: *mut f32,
    w: *const f32,
    w_len: usize,
    /// The block's first column, `shift` and the picks, the cursor.
    b: usize,
    shift: Option<u32>,
    picks: &'a Picks,
    s: ShortRuns<'a, V>,
}

impl<V: F32Vector, const R: usize, const F: bool, const D: bool> Columns<'_, V, R, F, D> {
    /// The slopes of columns `j..j + k`: loaded by the first column's
    /// channel for runs of a power of two up to a vector (a cursor per
    /// vector took a sixth of the time of 8 rows of 8192 channels, AVX2),
    /// else from the cursor.
    #[inline(always)]
    fn slopes(&mut self, j: usize, k: usize) -> V {
        let shift = match (D, self.shift) {
            (true, _) => 0,
            (false, Some(shift)) => shift,
            (false, None) => return self.s.next(k),
        };
        let (col, l) = (self.b + j, V::LANES);
        let c = col >> shift;
        // SAFETY: `c < w_len`, the columns are the row's; the picks (16 >=
        // LANES) of lanes below `k` are of the channels loaded, the others
        // of lanes loaded or zeroed.
        unsafe {
            let s = if c + l <= self.w_len {
                V::load(self.w.add(c))
            } else {
                load_n::<V>(self.w.add(c), self.w_len - c)
            };
            match shift {
                0 => s,
                _ => s.lanes_picked(self.picks[col & ((1 << shift) - 1)].as_ptr()),
            }
        }
    }

    /// Columns `j..j + k` (`k <= LANES`) of every row, all loaded before
    /// any is stored (4K aliasing between rows); each row stored but the
    /// last, whose gradient is returned.
    ///
    /// # Safety
    /// The columns are the block's.
    #[inline(always)]
    unsafe fn rows(&mut self, j: usize, k: usize) -> V {
        let s = self.slopes(j, k);
        let zero = s.cpu().zero();
        let (mut v, mut g, mut t, mut d) = ([zero; R], [zero; R], [zero; 4], zero);
        for q in 0..R {
            // SAFETY: the rows' columns are in the span.
            (v[q], g[q]) = unsafe {
                let at = j + q * self.row;
                (
                    load_n::<V>(self.x.add(at), k),
                    load_n::<V>(self.g.add(at), k),
                )
            };
        }
        for q in 0..R {
            let scaled = v[q].not_gt(zero);
            (d, t[q]) = (
                scaled_where(scaled, g[q], s),
                v[q].mul(g[q]).keep_where(scaled),
            );
            if q + 1 < R {
                // SAFETY: in the span, and read above.
                unsafe { store_n(d, self.dst.add(j + q * self.row), k) };
            }
        }
        // SAFETY: the block's sums hold its columns (written by the first
        // rows before they are read).
        let a = unsafe {
            if F {
                zero
            } else {
                load_n::<V>(self.acc.add(j), k)
            }
        };
        // Pairwise: no chain of roundings down the rows.
        let sum = a.add(t[0].add(t[1]).add(t[2].add(t[3])));
        // SAFETY: as above.
        unsafe { store_n(sum, self.acc.add(j), k) };
        d
    }
}

impl<V: F32Vector, const R: usize, const F: bool, const D: bool> Pass<V>
    for Columns<'_, V, R, F, D>
{
    const AHEAD: bool = false;
    #[inline(always)]
    unsafe fn compute(&mut self, j: usize) -> V {
        // SAFETY: forwarded.
        unsafe { self.rows(j, V::LANES) }
    }
    #[inline(always)]
    unsafe fn part(&mut self, j: usize, k: usize) {
        // SAFETY: forwarded; the last row's columns are in the span.
        unsafe { store_n(self.rows(j, k), self.dst().add(j), k) }
    }
    /// The last row (`rows` stores the others).
    #[inline(always)]
    fn dst(&self) -> *mut f32 {
        self.dst.wrapping_add((R - 1) * self.row)
    }
    #[inline(always)]
    fn inputs(&self) -> [*const f32; 2] {
        [self.x, self.g]
    }
}

/// The backward of NHWC and of short runs down the columns: groups of up
/// to [`GROUP_ROWS`] whole rows (a partial row at either end alone), in
/// blocks of at most [`COLS`] columns flushed in column order.
///
/// # Safety
/// As for [`super::run_backward`], with runs of at most 16.
#[inline(always)]
pub(super) unsafe fn columns<V: F32Vector>(job: &Job<'_>, cpu: Cpu<V>) {
    let (r, n, col0) = (job.row, job.n, job.c0 * job.inner + job.place);
    // Each channel's first sum is written, not added, where the span starts
    // a row or lies in one; else the sums are zeroed first (writing saved a
    // fifth of one image of runs of 4 at 16 Mi).
    let fresh = col0 == 0 || n <= r - col0;
    if !fresh {
        // SAFETY: `sums` holds `touched` slots (not fresh: not `fin`).
        unsafe { core::ptr::write_bytes(job.sums, 0, job.touched) };
    }
    // A block's sums, 2 KiB past the block modulo 4 KiB (so as aligned):
    // where they and the gradient alias 4K apart, the walk ran at 0.35-0.45
    // of Leaky ReLU's speed, elsewhere 0.55-0.65 (Zen 3).
    let mut scratch = core::mem::MaybeUninit::<[f32; COLS + 1024]>::uninit();
    let scratch = scratch.as_mut_ptr().cast::<f32>();
    let (picks, wrap, mut e) = (lane_picks(job.inner), col0 - job.place, 0);
    // A block's finished sums (at most COLS channels), written before read.
    let mut whole = core::mem::MaybeUninit::<[f64; COLS]>::uninit();
    // SAFETY: `sums` holds one slot per channel the span meets, or with
    // `fin` is null and `grad_w` holds C values.
    let (sums, mut fin) = unsafe {
        match job.fin {
            None => (core::slice::from_raw_parts_mut(job.sums, job.touched), None),
            Some((gw, div, add)) => {
                let grad_w = core::slice::from_raw_parts_mut(gw, job.w.len());
                (&mut [][..], Some((grad_w, div, add)))
            }
        }
    };
    while e < n {
        // A group: columns `j0..j1` of `rows` rows from span element `e`.
        let j0 = if e == 0 { col0 } else { 0 };
        let rows = if j0 == 0 {
            ((n - e) / r).clamp(1, GROUP_ROWS)
        } else {
            1
        };
        let j1 = if (n - e) / r > 0 && j0 == 0 {
            r
        } else {
            (j0 + n - e).min(r)
        };
        let mut b = j0;
        while b < j1 {
            // A block `b..b + wd` ends at a run's end and at the first
            // channel's start (its channels' slots in order).
            let p = b % job.inner;
            let wd = if p > 0 {
                job.inner - p
            } else {
                COLS - COLS % job.inner
            };
            let wd = wd.min(j1 - b).min(if b < wrap { wrap - b } else { j1 });
            let at = e + b - j0;
            let d = job.dst.wrapping_add(at) as usize;
            let off = (d + 2048).wrapping_sub(scratch as usize) % 4096 / 4;
            // SAFETY: (whole block) `off < 1024` of the `COLS + 1024`
            // floats; the groups cover the span's elements once; the
            // block's `wd` sums are written by its first rows; its
            // channels, at most `wd` and COLS, are among the span's, their
            // slots from `k` (a block ends at the first channel's start).
            unsafe {
                let (acc, cols) = (scratch.add(off), (b, wd));
                let mut q = match rows {
                    4.. => rect::<V, 4, true>(job, (picks, cpu), at, cols, acc),
                    _ => rect::<V, 1, true>(job, (picks, cpu), at, cols, acc),
                };
                while q + 4 <= rows {
                    q += rect::<V, 4, false>(job, (picks, cpu), at + q * r, cols, acc);
                }
                while q < rows {
                    q += rect::<V, 1, false>(job, (picks, cpu), at + q * r, cols, acc);
                }
                // The block's channels' slots: from `c0` on, then those
                // before it.
                let (c, acc) = (b / job.inner, core::slice::from_raw_parts(acc, wd));
                let (inner, c_len) = (job.inner, job.w.len());
                let k = (c + c_len - job.c0) % c_len;
                match (&mut fin, fresh && e == 0) {
                    // One group: the block's whole channels, finished
                    // (NHWC: from the column sums themselves).
                    (Some((gw, from_output, add)), _) => {
                        let m = wd.div_ceil(inner);
                        let (grad_w, w) = (&mut gw[c..c + m], &job.w[c..c + m]);
                        let (from_output, add) = (*from_output, *add);
                        let out = GradW {
                            grad_w,
                            from_output,
                            add,
                        };
                        if inner == 1 {
                            grad_w_of(acc, w, out);
                        } else {
                            let whole = whole.as_mut_ptr().cast::<f64>();
                            flush_columns::<true>(acc, whole, inner);
                            grad_w_of(core::slice::from_raw_parts(whole, m), w, out);
                        }
                    }
                    (None, true) => flush_columns::<true>(acc, sums[k..].as_mut_ptr(), inner),
                    (None, false) => flush_columns::<false>(acc, sums[k..].as_mut_ptr(), inner),
                }
            }
            b += wd;
        }
        e += rows * (j1 - j0);
    }
}

/// Columns `b..b + wd` of `R` rows from span element `at`, their sums at
/// `acc` (written when `FIRST`); returns `R`.
///
/// # Safety
/// The rows' columns are in the span; `acc` valid for `wd` floats.
#[inline(always)]
unsafe fn rect<V: F32Vector, const R: usize, const FIRST: bool>(
    job: &Job<'_>,
    (picks, cpu): (&Picks, Cpu<V>),
    at: usize,
    (b, wd): (usize, usize),
    acc: *mut f32,
) -> usize {
    let (inner, dst) = (job.inner, job.dst.wrapping_add(at));
    let shift = (inner.is_power_of_two() && inner <= V::LANES).then(|| inner.trailing_zeros());
    let (s, w) = (
        ShortRuns::new(job, picks, (b / inner, b % inner), cpu),
        job.w,
    );
    macro_rules! walk_with {
        ($direct:literal) => {{
            let mut cols = Columns::<V, R, FIRST, $direct> {
                x: job.x.wrapping_add(at),
                g: job.g.wrapping_add(at),
                dst,
                row: job.row,
                acc,
                w: w.as_ptr().wrapping_add(if $direct { b } else { 0 }),
                w_len: w.len() - if $direct { b } else { 0 },
                b: if $direct { 0 } else { b },
                shift,
                picks,
                s,
            };
            // SAFETY: forwarded.
            unsafe { walk::<V>(&mut cols, dst, wd, 1) }
        }};
    }
    if inner == 1 {
        walk_with!(true)
    } else {
        walk_with!(false)
    }
    R
}

/// Adds a block's column sums to the slots of consecutive channels (the first
/// maybe begun, the last maybe cut), their slots from `sums[0]`: each
/// channel's columns added in order to its sum (from +0 with `WRITE`). Four
/// channels at a time, their chains interleaved (one after another: 2.5
/// cycles a term on Zen 3).
///
/// # Safety
/// `sums` is valid for writes of `acc.len().div_ceil(inner)` slots, and
/// initialised unless `WRITE` (whose sums are written, never read).
#[inline(always)]
unsafe fn flush_columns<const WRITE: bool>(acc: &[f32], sums: *mut f64, inner: usize) {
    // SAFETY: slot `i` is one of the block's, initialised (not `WRITE`).
    let start = |i: usize| if WRITE { 0.0 } else { unsafe { *sums.add(i) } };
    // SAFETY: slot `i` is one of the block's.
    let set = |i: usize, s: f64| unsafe { *sums.add(i) = s };
    if inner == 1 {
        for (i, &a) in acc.iter().enumerate() {
            set(i, start(i) + f64::from(a));
        }
        return;
    }
    let quads = acc.len() / (4 * inner);
    for (k, t) in acc.chunks_exact(4 * inner).enumerate() {
        let (t01, t23) = t.split_at(2 * inner);
        let ((t0, t1), (t2, t3)) = (t01.split_at(inner), t23.split_at(inner));
        let mut q = [0, 1, 2, 3].map(|j| start(4 * k + j));
        for (((&a, &b), &c), &d) in t0.iter().zip(t1).zip(t2).zip(t3) {
            (q[0], q[1]) = (q[0] + f64::from(a), q[1] + f64::from(b));
            (q[2], q[3]) = (q[2] + f64::from(c), q[3] + f64::from(d));
        }
        for (j, q) in q.into_iter().enumerate() {
            set(4 * k + j, q);
        }
    }
    let tail = acc[quads * 4 * inner..].chunks(inner);
    for (i, t) in (4 * quads..).zip(tail) {
        set(i, t.iter().fold(start(i), |s, &a| s + f64::from(a)));
    }
}
