//! Runs: each `(outer, channel)` pair is a contiguous run of `inner`
//! elements (NCHW; one channel is one endless run), walked once, never run
//! by run (a masked head and tail per run: AVX-512 runs of 256 2.5 times
//! slower on Zen 4; Leaky ReLU's loop per run, 1.8 times on runs of 64).
//! The forward splats a run's slope, compares lane indices with the run's
//! end in the block that holds it, and permutes `w` by lane picks for runs
//! of at most half a vector (a select per run: 12 times ReLU's time for 2x2
//! runs on AVX-512; the picks 0.4 of it).
//!
//! The backward ([`RunGrads`]) sums a run's terms in four f32 accumulators
//! by fused multiply-adds. The sum is defined on the buffer, not the walk:
//! element `i` goes to lane `i % LANES` of accumulator `(i / LANES) % 4`;
//! each piece of a run within a segment of [`SEGMENT`] vectors from the
//! buffer's start is summed `(a0 + a1) + (a2 + a3)`, its lanes pairwise in
//! f64, and a channel adds its pieces in order (a walk per run was 2.3
//! times slower on 7x7 images of 1024 channels, Zen 3 AVX2).

use super::{Grads, Job, Slopes};
use crate::ops::relu::scaled_where;
use crate::ops::{below, load_n, wrap_inc, MAX_UNROLL};
use crate::vector::{Cpu, F32Vector};

/// Vectors per segment: 28 terms a lane, and with the two additions that
/// combine the accumulators, 30 roundings at most (the bound allows 32).
const SEGMENT: usize = 4 * 28;

/// Pieces kept before they are summed in f64 (a sum after each run was
/// half of the walk's time on Zen 3; 32 of them, runs of 4096, AVX-512 on
/// Zen 5: 0.93 of this speed).
pub(super) const PENDING: usize = 8;

/// Each lane's element index in four vectors.
static ELEMENT_INDEX: [f32; 64] = {
    let (mut index, mut j) = ([0.0f32; 64], 0);
    while j < 64 {
        index[j] = j as f32;
        j += 1;
    }
    index
};

/// Where a walk over runs stands: channel `c < c_len` (`w` holds `c_len`
/// slopes), its slope `s`, `left > 0` elements left in its run; the
/// forward's slopes of runs longer than half a vector. `WHOLE`: the runs
/// are whole blocks and the walk's blocks start at a block's start in a
/// run (a constant: a flag tested in the plain loop cost the AVX2 forward
/// on runs of 128 5 to 7%).
#[derive(Clone, Copy)]
pub(super) struct Cursor<V, const WHOLE: bool = false> {
    w: *const f32,
    c_len: usize,
    inner: usize,
    c: usize,
    left: usize,
    s: V,
}

impl<V: F32Vector, const WHOLE: bool> Cursor<V, WHOLE> {
    /// At place `place` of channel `c`'s run.
    #[inline(always)]
    pub(super) fn new(job: &Job<'_>, (c, place): (usize, usize), cpu: Cpu<V>) -> Self {
        let (w, inner, c_len) = (job.w.as_ptr(), job.inner, job.w.len());
        let (s, left) = (cpu.splat(job.w[c]), inner - place);
        Cursor {
            w,
            c_len,
            inner,
            c,
            left,
            s,
        }
    }

    /// Whether a walk that takes `h` elements, then blocks, meets runs of
    /// whole blocks at a block's start.
    #[inline(always)]
    pub(super) fn whole_after(&self, h: usize) -> bool {
        let l4 = 4 * V::LANES;
        self.inner.is_multiple_of(l4) && self.left % l4 == h % l4
    }

    /// Moves to the next run.
    #[inline(always)]
    fn step(&mut self) {
        (self.c, self.left) = (wrap_inc(self.c, self.c_len), self.inner);
        // SAFETY: `c < c_len`.
        self.s = self.s.cpu().splat(unsafe { *self.w.add(self.c) });
    }
}

impl<V: F32Vector, const WHOLE: bool> Slopes<V> for Cursor<V, WHOLE> {
    /// A select per run's end among the `k` elements.
    #[inline(always)]
    fn next(&mut self, k: usize) -> V {
        if k < self.left {
            self.left -= k;
            return self.s;
        }
        let (mut s, mut done) = (self.s, self.left);
        self.step();
        while done < k {
            s = V::select(below(s.cpu(), done), s, self.s);
            let run = self.left.min(k - done);
            (done, self.left) = (done + run, self.left - run);
            if self.left == 0 {
                self.step();
            }
        }
        s
    }
    #[inline(always)]
    fn block<const PLAIN: bool>(&mut self) -> [V; MAX_UNROLL] {
        let l = V::LANES;
        if PLAIN && !WHOLE {
            return [self.s; MAX_UNROLL];
        }
        if self.left > 4 * l {
            self.left -= 4 * l;
            return [self.s; MAX_UNROLL];
        }
        if PLAIN {
            // Whole blocks: the run ends with this one.
            let s = self.s;
            self.step();
            return [s; MAX_UNROLL];
        }
        if self.inner < 4 * l {
            return [self.next(l), self.next(l), self.next(l), self.next(l)];
        }
        // One run's end in the block: lane `j` of vector `q` takes this
        // run's slope where `q * l + j < left`, else the next run's.
        let (end, this, left) = (self.s.cpu().splat(self.left as f32), self.s, self.left);
        self.step();
        self.left -= 4 * l - left;
        let mut s = [self.s; MAX_UNROLL];
        for (q, s) in s.iter_mut().enumerate() {
            // SAFETY: `this` proves the ISA; `ELEMENT_INDEX` holds 64 >= 4 *
            // LANES indices.
            let index = unsafe { V::load(ELEMENT_INDEX.as_ptr().add(q * l)) };
            *s = V::select(index.lt(end), this, *s);
        }
        s
    }
    #[inline(always)]
    fn plain(&mut self, max: usize) -> usize {
        // Runs of whole blocks met at a block's start: every block, a run's
        // end stepped past after its last (a compare per run's end ran 8x8
        // maps at 0.8 of this speed, AVX2); else the blocks inside a run.
        let l4 = 4 * V::LANES;
        if WHOLE {
            return max;
        }
        let plain = ((self.left - 1) / l4).min(max);
        self.left -= plain * l4;
        plain
    }
}

/// Lane picks: from place `r` in a run of `inner <= 16`, lane `j`'s channel
/// counted from the vector's first, `picks[r][j] = (r + j) / inner`.
pub(super) type Picks = [[u32; 16]; 16];

/// Every [`Picks`], of runs of 1 to 16 (built per call, the table took a
/// tenth of a 4096-element forward of 2x2 maps).
static PICKS: [Picks; 16] = {
    let mut picks = [[[0u32; 16]; 16]; 16];
    let mut inner = 1;
    while inner <= 16 {
        let mut r = 0;
        while r < 16 {
            let mut j = 0;
            while j < 16 {
                picks[inner - 1][r][j] = ((r + j) / inner) as u32;
                j += 1;
            }
            r += 1;
        }
        inner += 1;
    }
    picks
};

/// The [`Picks`] of runs of `inner` (1 to 16): for vectors of `l` lanes,
/// the first `l` of a row are below `l` (`(inner - 1 + l - 1) / inner < l`).
#[inline(always)]
pub(super) fn lane_picks(inner: usize) -> &'static Picks {
    &PICKS[inner - 1]
}

/// `(channel, place)` `runs * inner + more` elements (`more < inner`) on
/// from place `r` of channel `c`, the channel not wrapped.
#[inline(always)]
pub(super) fn places_on(
    c: usize,
    r: usize,
    (runs, more): (usize, usize),
    inner: usize,
) -> (usize, usize) {
    match r + more {
        r if r >= inner => (c + runs + 1, r - inner),
        r => (c + runs, r),
    }
}

/// The forward's slopes of runs of at most half a vector: lane picks, the
/// cursor where a vector wraps past the last channel. Where the runs divide
/// the vector, every vector takes the same picks, and the blocks within `w`
/// run plain (x1.8 to x2.6 for runs of 2 and 4, AVX2).
pub(super) struct ShortRuns<'a, V> {
    cur: Cursor<V>,
    /// Borrowed (in the walk's state, it put it on the stack: 2.5x slower).
    picks: &'a Picks,
    /// A vector's whole runs and the rest.
    runs: (usize, usize),
}

impl<'a, V: F32Vector> ShortRuns<'a, V> {
    /// At place `place` of channel `c`'s run, `picks` from [`lane_picks`].
    #[inline(always)]
    pub(super) fn new(job: &Job<'_>, picks: &'a Picks, at: (usize, usize), cpu: Cpu<V>) -> Self {
        let cur = Cursor::new(job, at, cpu);
        let runs = (V::LANES / job.inner, V::LANES % job.inner);
        ShortRuns { cur, picks, runs }
    }
}

impl<V: F32Vector> Slopes<V> for ShortRuns<'_, V> {
    #[inline(always)]
    fn next(&mut self, k: usize) -> V {
        let (l, cur) = (V::LANES, &mut self.cur);
        if cur.inner == 1 && k == l && cur.c + l <= cur.c_len {
            // NHWC: the slopes as they are (no picks).
            // SAFETY: `cur.s` proves the ISA; `w` holds `c + l` slopes.
            let s = unsafe { V::load(cur.w.add(cur.c)) };
            cur.c = if cur.c + l == cur.c_len { 0 } else { cur.c + l };
            return s;
        }
        let (r, c_len) = (cur.inner - cur.left, cur.c_len);
        // The channels the vector reaches: its last lane's and those before.
        if k == l && cur.c + (self.picks[r][l - 1] as usize) < c_len {
            // SAFETY: `cur.s` proves the ISA; `w` holds the channels
            // reached; the picks (16 >= LANES, below LANES) are of slopes
            // loaded.
            let s = unsafe {
                let s = load_n::<V>(cur.w.add(cur.c), l.min(c_len - cur.c));
                s.lanes_picked(self.picks[r].as_ptr())
            };
            let (c, r) = places_on(cur.c, r, self.runs, cur.inner);
            // The step ends at `c_len` at most, which wraps to 0.
            (cur.c, cur.left) = (if c == c_len { 0 } else { c }, cur.inner - r);
            return s;
        }
        // SAFETY: `c < c_len`; the slope is refreshed only where it is used.
        cur.s = cur.s.cpu().splat(unsafe { *cur.w.add(cur.c) });
        cur.next(k)
    }
    #[inline(always)]
    fn plain(&mut self, max: usize) -> usize {
        // The blocks that load within `w` (a check per vector took a third
        // of the loop).
        let step = self.runs.0;
        let room = self.cur.c_len.checked_sub(self.cur.c + 3 * step + V::LANES);
        let plain = room.map_or(0, |room| room / (4 * step) + 1).min(max);
        if self.runs.1 == 0 {
            plain
        } else {
            0
        }
    }
    #[inline(always)]
    fn block<const PLAIN: bool>(&mut self) -> [V; MAX_UNROLL] {
        let l = V::LANES;
        if !PLAIN {
            return [self.next(l), self.next(l), self.next(l), self.next(l)];
        }
        let (inner, cur) = (self.cur.inner, &mut self.cur);
        let (mut c, r, mut s) = (cur.c, inner - cur.left, [cur.s.cpu().zero(); MAX_UNROLL]);
        let picks = self.picks[r].as_ptr();
        for s in &mut s {
            // SAFETY: `cur.s` proves the ISA; the block's loads end within
            // `w` (`plain`); the picks (16 >= LANES) are below `l`.
            *s = unsafe { V::load(cur.w.add(c)).lanes_picked(picks) };
            c += self.runs.0;
        }
        (cur.c, cur.left) = (if c == cur.c_len { 0 } else { c }, inner - r);
        s
    }
}

/// Pieces' lanes waiting to be summed, and their channels (outside the walk's
/// state, as [`ShortRuns::picks`]).
pub(super) type Pending<V> = ([V; PENDING], [usize; PENDING]);

/// The backward of runs of a vector and more (see the module docs).
pub(super) struct RunGrads<'p, V: F32Vector> {
    cur: Cursor<V>,
    /// The span's first channel (slot 0 of the sums), and the elements
    /// left in the segment.
    c0: usize,
    seg_left: usize,
    /// Rotated after each single vector, the next one's at `acc[0]` (see
    /// [`fma_at`]); `slot`: the walk's accumulator of `acc[0]`.
    acc: [V; 4],
    slot: usize,
    /// Canonical accumulator `a` is the walk's `a - q0` in lanes below
    /// `LANES - rho` (`own`), `a - q0 - 1` above; canonical lane `(rho + x)
    /// % LANES` the walk's lane `x`.
    q0: usize,
    rho: usize,
    own: Option<V::Mask>,
    sums: *mut f64,
    /// The piece's length and the elements left in it (the run's and the
    /// segment's counts move on at its end); the pieces kept.
    piece: usize,
    piece_left: usize,
    pending: (&'p mut Pending<V>, usize),
}

impl<'p, V: F32Vector> RunGrads<'p, V> {
    /// The walk of `job` (its head the walk's vector -1); zeroes the sums.
    ///
    /// # Safety
    /// `job.sums` is valid for `job.touched` writes.
    #[inline(always)]
    pub(super) unsafe fn new(job: &Job<'_>, pending: &'p mut Pending<V>, cpu: Cpu<V>) -> Self {
        let (l, b) = (V::LANES, job.start + super::head::<V, false>(job));
        // SAFETY: forwarded.
        unsafe { core::ptr::write_bytes(job.sums, 0, job.touched) };
        let (rho, cur) = (b % l, Cursor::new(job, (job.c0, job.place), cpu));
        let seg_left = SEGMENT * l - job.start % (SEGMENT * l);
        let piece = cur.left.min(seg_left);
        RunGrads {
            cur,
            c0: job.c0,
            seg_left,
            acc: [cpu.zero(); 4],
            slot: 0,
            q0: (b / l) % 4,
            rho,
            own: (rho > 0).then(|| below(cpu, l - rho)),
            sums: job.sums,
            piece,
            piece_left: piece,
            pending: (pending, 0),
        }
    }

    /// The vector of `acc[i]` (`i` a constant), lanes `from..to`.
    #[inline(always)]
    fn vector(&mut self, i: usize, v: V, g: V, from: usize, to: usize) -> V {
        let scaled = v.not_gt(v.cpu().zero());
        if to - from <= self.piece_left {
            let d = scaled_where(scaled, g, self.cur.s);
            fma_at(&mut self.acc, i, scaled, v, g);
            self.passed(to - from);
            return d;
        }
        // A run or a segment ends inside: each piece's lanes take its slope
        // and go to its sums (lanes outside `from..to` hold `+0` terms).
        let positive = v.gt(v.cpu().zero());
        let (mut s, mut lane, mut done) = (self.cur.s, from, None::<V::Mask>);
        while lane < to {
            let end = lane + self.piece_left;
            let upto = below(v.cpu(), end.min(V::LANES));
            let piece = done.map_or(upto, |done| V::mask_and_not(upto, done));
            s = V::select(piece, self.cur.s, s);
            fma_at(&mut self.acc, i, V::mask_and_not(piece, positive), v, g);
            self.passed(end.min(to) - lane);
            (lane, done) = (end.min(to), Some(upto));
        }
        scaled_where(scaled, g, s)
    }

    /// Moves `n` elements on, to the piece's end at most, where it keeps
    /// the piece's sum and moves to the next.
    #[inline(always)]
    fn passed(&mut self, n: usize) {
        self.piece_left -= n;
        if self.piece_left > 0 {
            return;
        }
        (self.cur.left, self.seg_left) = (self.cur.left - self.piece, self.seg_left - self.piece);
        self.keep();
        if self.pending.1 == PENDING {
            self.flush();
        }
        if self.seg_left == 0 {
            self.seg_left = SEGMENT * V::LANES;
        }
        if self.cur.left == 0 {
            self.cur.step();
        }
        self.piece = self.cur.left.min(self.seg_left);
        self.piece_left = self.piece;
    }

    /// Keeps the piece's `(c0 + c1) + (c2 + c3)` in canonical lanes (see
    /// [`RunGrads::q0`]), in registers (through the stack: 0.82 of Leaky
    /// ReLU's speed, not 0.97), and clears the accumulators.
    #[inline(always)]
    fn keep(&mut self) {
        let a = self.acc;
        let ((p, to), len) = &mut self.pending;
        if self.rho == 0 && (self.q0 + self.slot).is_multiple_of(4) {
            // Canonical already (the common case, kept short: merged with
            // the general path's push below, 8x8 maps backward, AVX2, ran
            // 5% slower).
            self.acc = [a[0].cpu().zero(); 4];
            (p[*len], to[*len], *len) = (a[0].add(a[1]).add(a[2].add(a[3])), self.cur.c, *len + 1);
            return;
        }
        // Physical `acc[i]` is the walk's accumulator `i + slot`.
        let r = match (self.q0 + self.slot) % 4 {
            0 => a,
            1 => [a[3], a[0], a[1], a[2]],
            2 => [a[2], a[3], a[0], a[1]],
            _ => [a[1], a[2], a[3], a[0]],
        };
        let c = match self.own {
            None => r,
            Some(o) => [
                V::select(o, r[0], r[3]),
                V::select(o, r[1], r[0]),
                V::select(o, r[2], r[1]),
                V::select(o, r[3], r[2]),
            ],
        };
        let sum = c[0].add(c[1]).add(c[2].add(c[3]));
        let lanes = if self.rho == 0 {
            sum
        } else {
            sum.lanes_rotated(self.rho)
        };
        self.acc = [sum.cpu().zero(); 4];
        (p[*len], to[*len], *len) = (lanes, self.cur.c, *len + 1);
    }

    /// Adds the kept pieces to their channels' sums, lanes pairwise in f64.
    #[inline(always)]
    fn flush(&mut self) {
        let ((p, to), len) = &mut self.pending;
        let (c0, c_len) = (self.c0, self.cur.c_len);
        for (lanes, &c) in p.iter().zip(&*to).take(*len) {
            let k = if c >= c0 { c - c0 } else { c + c_len - c0 };
            // SAFETY: `sums` holds a slot per channel met, `k` counts them
            // from the span's first.
            unsafe { *self.sums.add(k) += lanes.pairwise_sum_f64() };
        }
        *len = 0;
    }
}

/// `acc[i] = take ? fma(v, g, acc[i]) : acc[i]`, `i` a constant (indexed
/// at run time, even through a `match`, the accumulators lived on the
/// stack: 2.5 times slower).
#[inline(always)]
fn fma_at<V: F32Vector>(acc: &mut [V; 4], i: usize, take: V::Mask, v: V, g: V) {
    acc[i] = V::select(take, v.mul_add(g, acc[i]), acc[i]);
}

impl<V: F32Vector> Grads<V> for RunGrads<'_, V> {
    #[inline(always)]
    fn grad(&mut self, v: V, g: V, from: usize, to: usize) -> V {
        if from > 0 {
            return self.vector(3, v, g, from, to);
        }
        let (d, a) = (self.vector(0, v, g, from, to), self.acc);
        (self.acc, self.slot) = ([a[1], a[2], a[3], a[0]], (self.slot + 1) % 4);
        d
    }
    #[inline(always)]
    fn block_vector<const PLAIN: bool>(&mut self, q: usize, v: V, g: V) -> V {
        // Blocks come before single vectors: no rotation yet.
        debug_assert_eq!(self.slot, 0);
        // Where the piece ends with the block, its vectors from `q` are
        // plain but for the end.
        let l = V::LANES;
        if !PLAIN && self.piece_left != (4 - q) * l {
            return self.vector(q, v, g, 0, l);
        }
        let scaled = v.not_gt(v.cpu().zero());
        fma_at(&mut self.acc, q, scaled, v, g);
        let d = scaled_where(scaled, g, self.cur.s);
        match (PLAIN, q) {
            (true, _) => {}
            (false, 3) => self.passed(l),
            (false, _) => self.piece_left -= l,
        }
        d
    }
    #[inline(always)]
    fn plain(&mut self, max: usize) -> usize {
        // The blocks before the one that holds a run's or a segment's end.
        let l4 = 4 * V::LANES;
        let plain = ((self.piece_left - 1) / l4).min(max);
        self.piece_left -= plain * l4;
        plain
    }
    #[inline(always)]
    fn finish(&mut self) {
        if self.piece_left < self.piece {
            self.keep();
        }
        self.flush();
    }
}
