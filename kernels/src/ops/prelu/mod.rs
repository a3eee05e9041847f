//! PReLU on a buffer viewed as `[outer, C, inner]`: the forward, and the
//! backward with the slope gradient summed in the same pass. Each direction
//! is one walk of `ops` ([`walk`]) whose pass takes each vector's slopes in
//! order from a source that [`Job::new`] picks ([`Slopes`]; [`Grads`] also
//! takes the terms): runs (`runs.rs`), the periodic row or rows (`rows.rs`).
//! Plain blocks (inside a run, a row, a group) run in [`Pass::plain_blocks`].

mod rows;
mod runs;

use super::relu::scaled_unless_positive;
use super::{head_len, load_n, walk_from, Pass, MAX_UNROLL};
use crate::reference::{leaky_relu_grad, prelu};
use crate::vector::{Cpu, F32Vector};
use crate::{source, Isa, KernelSet};

/// PReLU's slopes and the buffer they apply to, `len` elements viewed as
/// `[outer, C, inner]` (`C = w.len()`): element `i` is of channel `(i /
/// inner) % C`.
///
/// ```
/// use rectify_kernels::Prelu;
/// // Two NCHW images of 3 channels of 4x4.
/// let prelu = Prelu { w: &[0.25, 0.5, 0.75], inner: 16, len: 2 * 3 * 16 };
/// assert_eq!(prelu.len % (prelu.w.len() * prelu.inner), 0);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Prelu<'a> {
    /// One slope per channel (at least one).
    pub w: &'a [f32],
    /// The contiguous elements of a channel (`H * W` for NCHW, 1 for NHWC).
    pub inner: usize,
    /// The buffer's length, whole rows of `w.len() * inner`.
    pub len: usize,
}

/// Where [`KernelSet::prelu_backward`] puts the slope gradient.
#[derive(Debug)]
pub enum SlopeGrad<'a> {
    /// Set to the f64 sums of the channels the span meets, a slot each; a
    /// buffer's spans' sums, added in order, go to [`KernelSet::prelu_grad_w`].
    Sums(&'a mut [f64]),
    /// The whole buffer's slope gradient, as [`KernelSet::prelu_grad_w`]
    /// makes it from the sums.
    GradW(GradW<'a>),
}

/// A slope gradient's destination: `grad_w[c]` is set to (or, with `add`,
/// has added to it in f64, rounded once) channel `c`'s sum, divided by
/// `w[c]` in f64 when the terms are of the saved output.
#[derive(Debug)]
pub struct GradW<'a> {
    /// One value per channel.
    pub grad_w: &'a mut [f32],
    /// Whether the terms are `y * g` of the saved output `y = w x`.
    pub from_output: bool,
    /// Whether the gradient is added to `grad_w` rather than written.
    pub add: bool,
}

/// `grad_w[c]` from channel `c`'s sum `s` from `+0` (f64, or one column's
/// f32, whose `-0` becomes `+0` as in an f64 sum): divided by `w` when
/// `div`, added to `old` when given, rounded once; a NaN is `f32::NAN`.
#[inline(always)]
fn finished(s: impl Into<f64>, w: f32, div: bool, old: Option<f32>) -> f32 {
    let s = 0.0 + s.into();
    let s = if div { s / f64::from(w) } else { s };
    let g = old.map_or(s, |o| f64::from(o) + s) as f32;
    if g.is_nan() {
        f32::NAN
    } else {
        g
    }
}

/// The kernel shape: runs, the periodic row (in 3 or 4 vectors), or rows.
#[derive(Clone, Copy)]
enum Shape {
    Runs,
    Periodic3,
    Periodic4,
    Rows,
}

/// A call on a span, checked and planned: what a tier runs.
#[derive(Clone, Copy)]
pub(crate) struct Job<'a> {
    w: &'a [f32],
    /// The run length, the row (`C * inner`); the span's start and length,
    /// its first element's channel and place in its run.
    inner: usize,
    row: usize,
    shape: Shape,
    start: usize,
    n: usize,
    c0: usize,
    place: usize,
    /// Saved values (or input), incoming gradient, output; null or one sum
    /// per channel met (`touched`); or the whole buffer's slope gradient
    /// (`grad_w`, C values, with its division and adding flags).
    x: *const f32,
    g: *const f32,
    dst: *mut f32,
    sums: *mut f64,
    touched: usize,
    fin: Option<(*mut f32, bool, bool)>,
}

impl<'a> Job<'a> {
    /// Checks a call (panics name PReLU) and plans it (inlined: arguments
    /// through memory stalled a 256-element call by a third).
    #[inline(always)]
    fn new(
        isa: Isa,
        p: Prelu<'a>,
        (start, n): (usize, usize),
        (x, g, dst): (*const f32, *const f32, *mut f32),
        slope: Option<SlopeGrad<'_>>,
    ) -> Job<'a> {
        let (w, inner, len, c_len) = (p.w, p.inner, p.len, p.w.len());
        assert!(c_len > 0 && inner > 0, "prelu: no slopes, or inner of 0");
        let row = c_len.checked_mul(inner).filter(|&r| len.is_multiple_of(r));
        let row = row.unwrap_or_else(|| panic!("prelu: {len} is not rows of {c_len} x {inner}"));
        let inside = start.checked_add(n).is_some_and(|end| end <= len);
        assert!(inside, "prelu: {n} elements from {start} past {len}");
        let (c0, place) = match start {
            0 => (0, 0),
            _ => ((start / inner) % c_len, start % inner),
        };
        // The runs met, at most C (`place + n <= start + n <= len`).
        let touched = (place + n).div_ceil(inner).min(c_len * usize::from(n > 0));
        let (sums, fin) = match slope {
            None => (core::ptr::null_mut(), None),
            Some(SlopeGrad::Sums(s)) => {
                assert_eq!(s.len(), touched, "prelu: one sum per channel met");
                (s.as_mut_ptr(), None)
            }
            Some(SlopeGrad::GradW(gw)) => {
                assert!(start == 0 && n == len, "prelu: grad_w of a part");
                assert_eq!(gw.grad_w.len(), c_len, "prelu: one grad_w per channel");
                let fin = (gw.grad_w.as_mut_ptr(), gw.from_output, gw.add);
                (core::ptr::null_mut(), Some(fin))
            }
        };
        let want = !sums.is_null() || fin.is_some();
        // Periodic: the row repeated to whole vectors spans at most 4, then
        // to 3 or 4 (as many accumulators hide their additions' latency).
        let l = isa.lanes();
        let v = row >> row.trailing_zeros().min(l.trailing_zeros());
        let p = if v % 2 == 1 {
            Shape::Periodic3
        } else {
            Shape::Periodic4
        };
        let periodic = (v <= 4 && c_len > 1 && isa != Isa::Scalar).then_some(p);
        let shape = match (periodic, want) {
            (Some(p), false) => p,
            (_, false) if inner == 1 && c_len > 1 => Shape::Rows,
            (_, false) => Shape::Runs,
            // Class sums of every channel: the span starts a row and holds
            // one (one image is cheaper down the columns).
            (Some(p), true) if len > row && n >= row && start.is_multiple_of(row) => p,
            // Runs of a vector and more, long or in a few rows; else down
            // the columns (an f32 sum per column, flushed per channel).
            _ if c_len == 1 || (inner >= l && (inner > 16 || len / row < 4)) => Shape::Runs,
            _ => Shape::Rows,
        };
        // One channel is one endless run.
        let (inner, place) = if c_len > 1 {
            (inner, place)
        } else {
            (usize::MAX, start)
        };
        Job {
            w,
            inner,
            row,
            shape,
            start,
            n,
            c0,
            place,
            x,
            g,
            dst,
            sums,
            touched,
            fin,
        }
    }
}

impl KernelSet {
    /// PReLU forward over the span from element `start` of the buffer
    /// `prelu` describes: `dst[i] = x[i] > 0 ? x[i] : w[c] * x[i]`, `c` the
    /// channel of element `start + i`, `x` from `src` or (`None`) `dst`.
    ///
    /// ```
    /// use rectify_kernels::{Isa, KernelSet, Prelu};
    /// let k = KernelSet::new(Isa::best()).unwrap();
    /// // NCHW, 2 channels of 3, slopes 0.5 and 0.25; the span from element 2.
    /// let prelu = Prelu { w: &[0.5, 0.25], inner: 3, len: 6 };
    /// let mut x = [-2.0f32, -4.0, 8.0, -8.0];
    /// k.prelu_forward(prelu, 2, None, &mut x);
    /// assert_eq!(x, [-1.0, -1.0, 8.0, -2.0]);
    /// ```
    ///
    /// # Panics
    /// If `w` is empty, `inner` is 0, `len` is not whole rows of `w.len() *
    /// inner` (a `usize`), the span ends past `len`, or `src` and `dst`
    /// lengths differ.
    #[inline]
    pub fn prelu_forward(
        &self,
        prelu: Prelu<'_>,
        start: usize,
        src: Option<&[f32]>,
        dst: &mut [f32],
    ) {
        let (n, d) = (dst.len(), dst.as_mut_ptr());
        let x = source(src, d, n, "prelu: src and dst lengths differ");
        let job = Job::new(self.isa, prelu, (start, n), (x, x, d), None);
        // SAFETY: a detected ISA; the layout and span were checked; x and d
        // are valid for n elements, one buffer (one `as_mut_ptr`) or
        // disjoint (a shared and a mutable borrow).
        unsafe { (self.layout.prelu_forward)(&job) }
    }

    /// PReLU backward over a span (as for [`KernelSet::prelu_forward`]):
    /// `dst[i] = v[i] > 0 ? g[i] : w[c] * g[i]`, `v` from `saved`, `g` from
    /// `grad_src` or (`None`) `dst`; and with `slope`, the slope gradient.
    /// [`SlopeGrad::Sums`]: `sums[k]` for the `k`-th channel the span meets
    /// (channel `(c0 + k) % C`) is set to the sum from +0 of its terms `v >
    /// 0 ? +0 : v * g`, in an order fixed by the layout and the span, never
    /// by addresses (f32 lanes of at most 32 terms, then f64; on the scalar
    /// tier, and for one row of runs shorter than a vector, each rounded
    /// product in f64 in element order). [`SlopeGrad::GradW`] (the span is
    /// the whole buffer): the gradient those sums give.
    ///
    /// ```
    /// use rectify_kernels::{GradW, Isa, KernelSet, Prelu, SlopeGrad};
    /// let k = KernelSet::new(Isa::best()).unwrap();
    /// // NHWC, 2 channels, two rows.
    /// let prelu = Prelu { w: &[0.5, 0.25], inner: 1, len: 4 };
    /// let x = [-2.0f32, -4.0, 3.0, -1.0];
    /// let (mut grad, mut sums) = ([1.0f32; 4], [f64::NAN; 2]);
    /// k.prelu_backward(prelu, 0, &x, None, &mut grad, Some(SlopeGrad::Sums(&mut sums)));
    /// assert_eq!(grad, [0.5, 0.25, 1.0, 0.25]);
    /// assert_eq!(sums, [-2.0, -5.0]);
    ///
    /// // The same, the gradient added to what `grad_w` holds.
    /// let (mut grad, mut grad_w) = ([1.0f32; 4], [100.0f32; 2]);
    /// let gw = GradW { grad_w: &mut grad_w, from_output: false, add: true };
    /// k.prelu_backward(prelu, 0, &x, None, &mut grad, Some(SlopeGrad::GradW(gw)));
    /// assert_eq!(grad_w, [98.0, 95.0]);
    /// ```
    ///
    /// # Panics
    /// As for [`KernelSet::prelu_forward`], or if `saved` is not `dst`'s
    /// length, `sums` has not one slot per channel the span meets, or
    /// `grad_w` is not one per channel or the span not the whole buffer.
    #[inline]
    pub fn prelu_backward(
        &self,
        prelu: Prelu<'_>,
        start: usize,
        saved: &[f32],
        grad_src: Option<&[f32]>,
        dst: &mut [f32],
        slope: Option<SlopeGrad<'_>>,
    ) {
        let (n, d, v) = (dst.len(), dst.as_mut_ptr(), saved.as_ptr());
        assert_eq!(saved.len(), n, "prelu: saved and dst lengths differ");
        let g = source(grad_src, d, n, "prelu: grad_src and dst lengths differ");
        let job = Job::new(self.isa, prelu, (start, n), (v, g, d), slope);
        // SAFETY: a detected ISA; the layout, span, sums (one slot per
        // channel met) and grad_w (one per channel) were checked; saved, g
        // and d are valid for n elements, g is d or disjoint from it, saved
        // disjoint from d.
        unsafe { (self.layout.prelu_backward)(&job) }
    }

    /// The slope gradient from [`KernelSet::prelu_backward`]'s sums of a
    /// whole buffer (`sums[c]` channel `c`'s): as [`GradW`] says, with `w`
    /// the slopes. At the tier's width (in SSE2 it took a fifth of an
    /// 8-row backward of 8192 channels).
    ///
    /// ```
    /// use rectify_kernels::{GradW, Isa, KernelSet};
    /// let k = KernelSet::new(Isa::best()).unwrap();
    /// let mut grad_w = [0.0f32; 2];
    /// let gw = GradW { grad_w: &mut grad_w, from_output: true, add: false };
    /// k.prelu_grad_w(&[-3.0, f64::NAN], &[0.5, 2.0], gw);
    /// assert_eq!(grad_w[0], -6.0);
    /// assert_eq!(grad_w[1].to_bits(), f32::NAN.to_bits());
    /// ```
    ///
    /// # Panics
    /// If `sums` or `w` is not `grad_w`'s length.
    pub fn prelu_grad_w(&self, sums: &[f64], w: &[f32], out: GradW<'_>) {
        let n = out.grad_w.len();
        assert!(sums.len() == n && w.len() == n, "prelu: {n} slopes");
        // SAFETY: a detected ISA (the lengths need no check: slices).
        unsafe { (self.layout.prelu_grad_w)(sums, w, out) }
    }
}

/// The loops of [`KernelSet::prelu_grad_w`], vectorised at the tier's width.
#[inline(always)]
pub(crate) fn grad_w<S: Copy + Into<f64>>(sums: &[S], w: &[f32], out: GradW<'_>) {
    let it = out.grad_w.iter_mut().zip(sums).zip(w);
    match (out.from_output, out.add) {
        (false, false) => it.for_each(|((g, &s), &w)| *g = finished(s, w, false, None)),
        (true, false) => it.for_each(|((g, &s), &w)| *g = finished(s, w, true, None)),
        (false, true) => it.for_each(|((g, &s), &w)| *g = finished(s, w, false, Some(*g))),
        (true, true) => it.for_each(|((g, &s), &w)| *g = finished(s, w, true, Some(*g))),
    }
}

/// Stack room for the f64 sums of a [`SlopeGrad::GradW`] job's channels.
type Stack = core::mem::MaybeUninit<[f64; 512]>;

/// A [`SlopeGrad::GradW`] job as one setting f64 sums for every channel (on
/// `stack` up to 512, else in `heap`; an empty buffer's zeroed here), which
/// [`finish`] turns into the gradient (a closure would not inherit a tier's
/// target features).
#[inline(always)]
fn staged<'a>(job: &Job<'a>, stack: &mut Stack, heap: &mut std::vec::Vec<f64>) -> Job<'a> {
    let c_len = job.w.len();
    let sums = if c_len <= 512 {
        let p = stack.as_mut_ptr().cast::<f64>();
        if job.n == 0 {
            // SAFETY: `c_len <= 512` slots of the stack room.
            unsafe { core::ptr::write_bytes(p, 0, c_len) };
        }
        p
    } else {
        *heap = std::vec![0.0; c_len];
        heap.as_mut_ptr()
    };
    let mut j = *job;
    (j.sums, j.fin, j.touched) = (sums, None, c_len);
    j
}

/// The gradient of a [`SlopeGrad::GradW`] `job` from the sums of its
/// [`staged`] job `j`, once `j` ran.
///
/// # Safety
/// `job` is from [`Job::new`] with `fin`; `j` from [`staged`], its storage
/// alive.
#[inline(always)]
unsafe fn finish(job: &Job<'_>, j: &Job<'_>) {
    let (c_len, (gw, from_output, add)) = (job.w.len(), job.fin.expect("grad_w"));
    // SAFETY: `j.sums` holds C initialised sums (`staged`); `grad_w` holds
    // C values (`Job::new`), a borrow distinct from the job's buffers.
    let (sums, out) = unsafe {
        (
            core::slice::from_raw_parts(j.sums, c_len),
            core::slice::from_raw_parts_mut(gw, c_len),
        )
    };
    let out = GradW {
        grad_w: out,
        from_output,
        add,
    };
    grad_w(sums, job.w, out);
}

/// The slopes of a walk's elements, in order.
pub(crate) trait Slopes<V: F32Vector> {
    /// The slopes are a stream of their own ([`Pass::ALWAYS_AHEAD`]).
    const STREAM: bool = false;
    /// The slopes of the next `k <= LANES` elements.
    fn next(&mut self, k: usize) -> V;
    /// How many of the next `max` blocks are plain, moving past them.
    #[inline(always)]
    fn plain(&mut self, _max: usize) -> usize {
        0
    }
    /// The next block's slopes, plain (counted by `plain`) or not.
    #[inline(always)]
    fn block<const PLAIN: bool>(&mut self) -> [V; MAX_UNROLL] {
        let l = V::LANES;
        [self.next(l), self.next(l), self.next(l), self.next(l)]
    }
}

/// A walk's slopes and the home of each slope-gradient term.
pub(crate) trait Grads<V: F32Vector> {
    /// Vectors per block.
    const UNROLL: usize = 4;
    /// As [`Slopes::STREAM`].
    const STREAM: bool = false;
    /// The gradient of lanes `from..to` of `v` and `g` (`from > 0`: the
    /// head, in the top lanes), their terms taken.
    fn grad(&mut self, v: V, g: V, from: usize, to: usize) -> V;
    /// As `grad`, of vector `q` (a constant) of a block.
    fn block_vector<const PLAIN: bool>(&mut self, q: usize, v: V, g: V) -> V;
    /// As [`Slopes::plain`].
    fn plain(&mut self, max: usize) -> usize;
    /// Writes what is left of the sums.
    fn finish(&mut self) {}
}

/// Slopes as [`Grads`] without terms (a block's taken at its first vector).
struct Fwd<V, S>(S, [V; MAX_UNROLL]);

impl<V: F32Vector, S: Slopes<V>> Grads<V> for Fwd<V, S> {
    const STREAM: bool = S::STREAM;
    #[inline(always)]
    fn grad(&mut self, v: V, g: V, from: usize, to: usize) -> V {
        let s = self.0.next(to - from);
        let s = if from > 0 { s.lanes_rotated(from) } else { s };
        scaled_unless_positive(v, g, s)
    }
    #[inline(always)]
    fn block_vector<const PLAIN: bool>(&mut self, q: usize, v: V, g: V) -> V {
        if q == 0 {
            self.1 = self.0.block::<PLAIN>();
        }
        scaled_unless_positive(v, g, self.1[q])
    }
    #[inline(always)]
    fn plain(&mut self, max: usize) -> usize {
        self.0.plain(max)
    }
}

/// A span's walk, `dst = v > 0 ? g : s * g` (slopes and terms by `G`), after
/// a head of `h`; forward (`FWD`), `v = g = x` loaded once.
struct Span<G, const FWD: bool> {
    v: *const f32,
    g: *const f32,
    dst: *mut f32,
    h: usize,
    grads: G,
}

impl<G, const FWD: bool> Span<G, FWD> {
    /// The `k` elements at `at`, whole when `k == LANES`.
    ///
    /// # Safety
    /// In the span.
    #[inline(always)]
    unsafe fn load<V: F32Vector>(&self, at: usize, k: usize) -> (V, V) {
        // Forward, one pointer: the loads are one.
        let g = if FWD { self.v } else { self.g };
        // SAFETY: forwarded.
        unsafe { (load_n::<V>(self.v.add(at), k), load_n::<V>(g.add(at), k)) }
    }

    /// The block at `at`, each vector stored in turn (loading the block
    /// first was slower in L2), unrolled by hand (a loop kept its run-time
    /// index: 2.5 times slower).
    ///
    /// # Safety
    /// The block is within the span.
    #[inline(always)]
    unsafe fn vectors<V: F32Vector, const PLAIN: bool>(&mut self, at: usize, unroll: usize)
    where
        G: Grads<V>,
    {
        // SAFETY: forwarded.
        unsafe {
            self.vector::<V, PLAIN>(at, 0);
            self.vector::<V, PLAIN>(at, 1);
            self.vector::<V, PLAIN>(at, 2);
            if unroll == 4 {
                self.vector::<V, PLAIN>(at, 3);
            }
        }
    }

    /// Vector `q` (a constant) of the block at `at`.
    ///
    /// # Safety
    /// As for [`Span::vectors`].
    #[inline(always)]
    unsafe fn vector<V: F32Vector, const PLAIN: bool>(&mut self, at: usize, q: usize)
    where
        G: Grads<V>,
    {
        let at = at + q * V::LANES;
        // SAFETY: forwarded; loaded before stored.
        let (v, g) = unsafe { self.load::<V>(at, V::LANES) };
        let d = self.grads.block_vector::<PLAIN>(q, v, g);
        // SAFETY: as above.
        unsafe { d.store(self.dst.add(at)) }
    }
}

impl<V: F32Vector, G: Grads<V>, const FWD: bool> Pass<V> for Span<G, FWD> {
    // Backward, two blocks in flight and the sums take 14 registers or
    // more (AVX2 spilled: 8.4 -> 6.5 Gelem/s at 64 Ki, periodic shape).
    const AHEAD: bool = FWD || V::REGISTERS >= 32;
    const ALWAYS_AHEAD: bool = G::STREAM;
    const PREFETCH: bool = FWD;
    #[inline(always)]
    unsafe fn compute(&mut self, at: usize) -> V {
        // SAFETY: `at + LANES <= n` (the walk's contract).
        let (v, g) = unsafe { self.load::<V>(at, V::LANES) };
        self.grads.grad(v, g, 0, V::LANES)
    }
    #[inline(always)]
    unsafe fn part(&mut self, at: usize, k: usize) {
        let l = V::LANES;
        // SAFETY: `at + k <= n`, `k < LANES`; loaded before stored.
        let (v, g) = unsafe { self.load::<V>(at, k) };
        if at == 0 && self.h > 0 {
            // The head, rotated to the top lanes and back.
            let (v, g) = (v.lanes_rotated(l - k), g.lanes_rotated(l - k));
            let d = self.grads.grad(v, g, l - k, l).lanes_rotated(k);
            // SAFETY: as above.
            unsafe { d.store_partial(self.dst, k) };
        } else {
            let d = self.grads.grad(v, g, 0, k);
            // SAFETY: as above.
            unsafe { d.store_partial(self.dst.add(at), k) };
        }
    }
    #[inline(always)]
    fn dst(&self) -> *mut f32 {
        self.dst
    }
    #[inline(always)]
    fn inputs(&self) -> [*const f32; 2] {
        [self.v, self.g]
    }
    #[inline(always)]
    unsafe fn block(&mut self, at: usize, unroll: usize) {
        // SAFETY: forwarded.
        unsafe { self.vectors::<V, false>(at, unroll) }
    }
    #[inline(always)]
    fn plain_blocks(&mut self, max: usize) -> usize {
        self.grads.plain(max)
    }
    #[inline(always)]
    unsafe fn plain_block(&mut self, at: usize, unroll: usize) {
        // SAFETY: forwarded.
        unsafe { self.vectors::<V, true>(at, unroll) }
    }
    #[inline(always)]
    unsafe fn plain_compute_block(&mut self, at: usize, unroll: usize) -> [V; MAX_UNROLL] {
        // SAFETY: the CPU has `V`'s ISA (every `unsafe fn` of `ops/`).
        let mut d = [unsafe { Cpu::<V>::assume() }.zero(); MAX_UNROLL];
        for (q, d) in d.iter_mut().enumerate().take(unroll) {
            // SAFETY: the block is within the span (the walk's contract).
            let (v, g) = unsafe { self.load::<V>(at + q * V::LANES, V::LANES) };
            *d = self.grads.block_vector::<true>(q, v, g);
        }
        d
    }
}

/// The head of `job`'s walk (forward: `FWD`): short runs of whole vectors
/// align the walk's vectors to the runs, so that a run ends with a vector
/// (8x8 maps 16 bytes off a line, backward: AVX2 6.1 -> 7.6 Gelem/s,
/// AVX-512 5.8 -> 7.3); other layouts, and longer runs, align the stores,
/// as a store split across lines then costs more (runs of 256, backward
/// without sums, AVX-512: 22 -> 32 Gelem/s). Short, measured on Zen 5: up
/// to 64 elements forward, 32 backward, `1024 / LANES` with sums (aligned
/// to runs of 128 rather than to the stores, AVX2 ran 10.7 -> 13.5, and
/// AVX-512 12.8 -> 12.0).
#[inline(always)]
pub(super) fn head<V: F32Vector, const FWD: bool>(job: &Job<'_>) -> usize {
    let l = V::LANES;
    let most = match (FWD, job.sums.is_null()) {
        (true, _) => 64,
        (false, true) => 32,
        (false, false) => 1024 / l,
    };
    if matches!(job.shape, Shape::Runs) && job.inner.is_multiple_of(l) && job.inner <= most {
        ((l - job.start % l) % l).min(job.n)
    } else {
        head_len::<V>(job.dst, job.n)
    }
}

/// The walk of `job` with `grads`.
///
/// # Safety
/// The CPU supports `V`'s ISA; `job` is from [`Job::new`].
#[inline(always)]
unsafe fn walk_span<V: F32Vector, G: Grads<V>, const FWD: bool>(job: &Job<'_>, grads: G) {
    let (v, g, dst, h) = (job.x, job.g, job.dst, head::<V, FWD>(job));
    let mut span = Span::<G, FWD> {
        v,
        g,
        dst,
        h,
        grads,
    };
    // SAFETY: forwarded.
    unsafe { walk_from::<V>(&mut span, h, job.n, G::UNROLL) };
    span.grads.finish();
}

/// The walk of `job` with slopes `s`.
///
/// # Safety
/// As for [`walk_span`].
#[inline(always)]
unsafe fn slopes<V: F32Vector, S: Slopes<V>, const FWD: bool>(job: &Job<'_>, s: S, cpu: Cpu<V>) {
    // SAFETY: forwarded.
    unsafe { walk_span::<V, _, FWD>(job, Fwd(s, [cpu.zero(); MAX_UNROLL])) }
}

/// The forward (`FWD`: each tier's `prelu_forward`) or the backward
/// without sums on `V`.
///
/// # Safety
/// As for [`walk_span`].
#[inline(always)]
pub(crate) unsafe fn run_slopes<V: F32Vector, const FWD: bool>(job: &Job<'_>) {
    use rows::{Periodic as P, RowSlopes};
    use runs::{Cursor, ShortRuns};
    // SAFETY: the CPU has `V`'s ISA (every `unsafe fn` of `ops/`).
    let (at, cpu) = ((job.c0, job.place), unsafe { Cpu::<V>::assume() });
    // SAFETY: (whole block) forwarded.
    unsafe {
        match job.shape {
            Shape::Runs if job.inner > V::LANES / 2 => {
                let c = Cursor::<V>::new(job, at, cpu);
                if c.whole_after(head::<V, FWD>(job)) {
                    slopes::<V, _, FWD>(job, Cursor::<V, true>::new(job, at, cpu), cpu)
                } else {
                    slopes::<V, _, FWD>(job, c, cpu)
                }
            }
            Shape::Runs => {
                let picks = runs::lane_picks(job.inner);
                slopes::<V, _, FWD>(job, ShortRuns::new(job, picks, at, cpu), cpu)
            }
            Shape::Periodic3 => walk_span::<V, _, FWD>(job, P::<V, 3, false>::new(job, cpu)),
            Shape::Periodic4 => walk_span::<V, _, FWD>(job, P::<V, 4, false>::new(job, cpu)),
            Shape::Rows => slopes::<V, _, FWD>(job, RowSlopes::new(job, cpu, &mut [0.0; 32]), cpu),
        }
    }
}

/// The backward on `V`: each tier's `prelu_backward`.
///
/// # Safety
/// As for [`walk_span`].
#[inline(always)]
pub(crate) unsafe fn run_backward<V: F32Vector>(job: &Job<'_>) {
    // SAFETY: (whole block) forwarded; `staged` gives sums.
    unsafe {
        match job.shape {
            // One group of rows: its column sums are the channels' sums.
            Shape::Rows
                if job.fin.is_some() && job.n > 0 && job.n <= rows::GROUP_ROWS * job.row =>
            {
                rows::columns::<V>(job, Cpu::<V>::assume())
            }
            _ if job.fin.is_some() => {
                let (mut stack, mut heap) = (Stack::uninit(), std::vec::Vec::new());
                let j = staged(job, &mut stack, &mut heap);
                sums::<V>(&j);
                finish(job, &j);
            }
            _ => sums::<V>(job),
        }
    }
}

/// [`run_backward`] without `fin`: into the sums, if any.
///
/// # Safety
/// As for [`walk_span`], `job.fin` is `None`.
#[inline(always)]
unsafe fn sums<V: F32Vector>(job: &Job<'_>) {
    use rows::Periodic as P;
    // SAFETY: the CPU has `V`'s ISA (every `unsafe fn` of `ops/`).
    let cpu = unsafe { Cpu::<V>::assume() };
    // SAFETY: (whole block) forwarded; past the first arm there are sums.
    unsafe {
        match job.shape {
            _ if job.sums.is_null() => run_slopes::<V, false>(job),
            Shape::Runs => {
                let p = &mut ([cpu.zero(); runs::PENDING], [0; runs::PENDING]);
                walk_span::<V, _, false>(job, runs::RunGrads::new(job, p, cpu))
            }
            Shape::Periodic3 => walk_span::<V, _, false>(job, P::<V, 3, true>::new(job, cpu)),
            Shape::Periodic4 => walk_span::<V, _, false>(job, P::<V, 4, true>::new(job, cpu)),
            Shape::Rows => rows::columns::<V>(job, cpu),
        }
    }
}

/// The scalar tier: each slope-gradient term (an f32 product) added in f64
/// in element order.
///
/// # Safety
/// As for [`walk_span`].
pub(crate) unsafe fn scalar<const BACKWARD: bool>(job: &Job<'_>) {
    if job.fin.is_some() {
        let (mut stack, mut heap) = (Stack::uninit(), std::vec::Vec::new());
        let j = staged(job, &mut stack, &mut heap);
        // SAFETY: forwarded, with sums for every channel.
        return unsafe {
            scalar::<BACKWARD>(&j);
            finish(job, &j);
        };
    }
    let (w, sums) = (job.w, job.sums);
    // SAFETY: (whole block) `i < n`, each element read before it is
    // written; `sums` null or one slot per run met, `k` (`place + i <= len`).
    unsafe {
        if !sums.is_null() {
            core::ptr::write_bytes(sums, 0, job.touched);
        }
        for i in 0..job.n {
            let k = (job.place + i) / job.inner % w.len();
            let (x, w) = (*job.x.add(i), w[(job.c0 + k) % w.len()]);
            if !BACKWARD {
                *job.dst.add(i) = prelu(x, w);
                continue;
            }
            let g = *job.g.add(i);
            *job.dst.add(i) = leaky_relu_grad(x, g, w);
            if !sums.is_null() && (x <= 0.0 || x.is_nan()) {
                *sums.add(k) += f64::from(x * g);
            }
        }
    }
}
