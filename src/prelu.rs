//! PReLU, `y = x > 0 ? x : w[c] * x` with one learned slope per channel, on
//! buffers laid out as `[outer, channels, inner]` ([`ChannelLayout`]). The
//! kernels crate walks spans of a buffer ([`KernelSet::prelu_forward`],
//! [`KernelSet::prelu_backward`]); this module validates, cuts the buffer
//! into spans for rayon and adds the spans' slope-gradient sums.
//!
//! # The slope gradient
//!
//! `grad_w[c] = sum over c's elements of (x > 0 ? 0 : x * grad)`, in the
//! input gradient's pass: terms summed in f32 lanes, at most 32 a lane, then
//! in f64, the total rounded to f32 once. With `u = 2^-24`, `S` the exact
//! sum, `A` the sum of `|x * grad|`, `m` the channel's element count, for
//! channels of up to 2^29 elements where no product overflows f32,
//!
//! `|grad_w[c] - S| <= u |S| + 2^-18 A + m 2^-149 + 2^-150`
//!
//! (`m 2^-149` only where products underflow into f32's subnormals,
//! `2^-150` only where the result is subnormal). At most 34 f32 roundings,
//! each at most `u`, reach a term (a run's 28 products and sums a lane and
//! the two that combine its accumulators; down a column, the product, two
//! pairwise sums and at most 8 block additions; periodic, the product and
//! 31 additions; two more without FMA), `34 u < 2^-18.9`, and the f64 sums
//! of at most 2^24 flushed values a channel add below `2^-29 A`: a 16
//! Mi-element channel keeps its digits. From the saved output (`w > 0`) the
//! terms are `y * grad`, one rounding further, their sum divided by `w[c]`
//! in f64; the same bound holds. A NaN sum gives the canonical quiet NaN,
//! whatever the payloads (which NaN a sum passes on depends on instruction
//! forms).
//!
//! The sums are bit-identical for any number of threads: a span's sums
//! depend only on the layout and where it lies, and the buffer is cut the
//! same way for any thread count: one image at run ends, several in blocks
//! of whole images fixed by the layout (at least 2^18 elements and 64 of
//! each channel), the blocks' sums added in order.

use rectify_kernels::{GradW, KernelSet, Prelu, SlopeGrad};

use crate::error::same_len;
use crate::{parallel, ChannelLayout, Error, Grad, Kernels, Saved};

/// The kernels' view of a buffer of `layout` with slopes `w`. An empty
/// buffer may have `inner == 0`; the kernels need a run of at least 1, and
/// read none of an empty buffer.
fn kernel_view(layout: ChannelLayout, w: &[f32]) -> Prelu<'_> {
    Prelu {
        w,
        inner: layout.inner().max(1),
        len: layout.len(),
    }
}

/// The least elements of a block of whole images (and 64 of each channel:
/// a block's sums are at most a 64th of its elements).
const BLOCK: usize = 1 << 18;

/// The first slope where `bad` holds: a branch-free, vectorised pass, then
/// a search if one is (a `find` took 70% of a one-row forward, Zen 3).
fn first_slope_where(w: &[f32], bad: impl Fn(f32) -> bool) -> Option<f32> {
    if !w.iter().fold(false, |any, &s| any | bad(s)) {
        return None;
    }
    w.iter().copied().find(|&s| bad(s))
}

/// Validates the buffer's layout and PReLU's slopes.
fn validate(
    set: &KernelSet,
    w: &[f32],
    layout: ChannelLayout,
    argument: &'static str,
    len: usize,
) -> Result<(), Error> {
    if len != layout.len() {
        return Err(Error::LayoutMismatch {
            argument,
            len,
            outer: layout.outer(),
            channels: layout.channels(),
            inner: layout.inner(),
        });
    }
    same_len("w", layout.channels(), w.len())?;
    // Many slopes at the tier's width, a few (or all, to find the bad one)
    // by the fold: for few channels the call cost more than it saved.
    let finite = w.len() > 64 && set.all_finite(w);
    match (!finite)
        .then(|| first_slope_where(w, |s| !s.is_finite()))
        .flatten()
    {
        Some(value) => Err(Error::InvalidParameter {
            activation: "prelu",
            parameter: "w",
            value,
            requirement: "every slope must be finite",
        }),
        None => Ok(()),
    }
}

/// Where `span` starts in the buffer at address `base`.
fn offset(base: usize, span: &[f32]) -> usize {
    (span.as_ptr() as usize - base) / size_of::<f32>()
}

/// Runs `f(start, saved, grad_src, dst, sums)` on spans of `len` elements
/// (the last maybe shorter) with `per > 0` sums each, in parallel.
fn each_span(
    (len, per): (usize, usize),
    (v, g): (&[f32], Option<&[f32]>),
    dst: &mut [f32],
    sums: &mut [f64],
    f: impl Fn(usize, &[f32], Option<&[f32]>, &mut [f32], &mut [f64]) + Sync,
) {
    let parts: Vec<_> = dst
        .chunks_mut(len)
        .zip(sums.chunks_mut(per))
        .enumerate()
        .collect();
    parallel::run_parts(parts, |(i, (d, s))| {
        let r = i * len..i * len + d.len();
        f(i * len, &v[r.clone()], g.map(|g| &g[r]), d, s)
    });
}

impl Kernels {
    /// PReLU in place: `x = x > 0 ? x : w[c] * x`, `c` the channel of each
    /// element in `layout`. Refuses, writing nothing, a buffer whose length
    /// is not `layout.len()` ([`Error::LayoutMismatch`]), slopes not one per
    /// channel or not finite.
    ///
    /// ```
    /// use rectify::{ChannelLayout, Kernels};
    /// // NCHW, one image of 2 channels of 1 x 2 elements: slopes 0.5 and 2.
    /// let mut x = [-1.0f32, 1.0, -1.0, 1.0];
    /// Kernels::from_env().prelu(&mut x, &[0.5, 2.0], ChannelLayout::nchw(1, 2, 1, 2)?)?;
    /// assert_eq!(x, [-0.5, 1.0, -2.0, 1.0]);
    /// # Ok::<(), rectify::Error>(())
    /// ```
    pub fn prelu(&self, x: &mut [f32], w: &[f32], layout: ChannelLayout) -> Result<(), Error> {
        validate(self.kernel_set(), w, layout, "x", x.len())?;
        self.prelu_forward(None, w, layout, x);
        Ok(())
    }

    /// PReLU into `y`.
    ///
    /// ```
    /// use rectify::{ChannelLayout, Kernels};
    /// // NHWC (channel fastest): one 1 x 2 image of 2 channels.
    /// let x = [-1.0f32, -1.0, 4.0, -4.0];
    /// let mut y = [0.0f32; 4];
    /// let layout = ChannelLayout::nhwc(1, 1, 2, 2)?;
    /// Kernels::from_env().prelu_into(&x, &[0.5, 0.25], layout, &mut y)?;
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
        self.prelu_forward(Some(x), w, layout, y);
        Ok(())
    }

    /// The forward of a checked call, in spans for rayon.
    fn prelu_forward(&self, x: Option<&[f32]>, w: &[f32], layout: ChannelLayout, y: &mut [f32]) {
        let (set, p, base) = (
            self.kernel_set(),
            kernel_view(layout, w),
            y.as_ptr() as usize,
        );
        parallel::unary(self.parallel_threshold(), x, y, |s, d| {
            set.prelu_forward(p, offset(base, d), s, d)
        });
    }

    /// PReLU backward in place on the gradient: `grad = v > 0 ? grad : w[c] *
    /// grad` (written over `grad`), and, when `grad_w` is given, channel
    /// `c`'s slope gradient `S_c = sum(x > 0 ? 0 : x * grad)` in the same
    /// pass, summed in f64 (see the module docs of [`ChannelLayout`]'s home
    /// for the error bound), then, with one rounding to f32:
    ///
    /// - [`Grad::Write`]: `grad_w[c] = S_c`;
    /// - [`Grad::Add`]: `grad_w[c] = f64(grad_w[c]) + S_c`, the sum in f64
    ///   (no rounding of `S_c` to f32 first).
    ///
    /// From the saved output the terms are `y * grad` and `S_c` is their sum
    /// divided by `w[c]` in f64. A NaN result is `f32::NAN` in either mode.
    /// From the saved output the slopes must be `>= 0` (then `y > 0` exactly
    /// when `x > 0`), and `> 0` for the slope gradient (`x = y / w`).
    ///
    /// ```
    /// use rectify::{ChannelLayout, Grad, Kernels, Saved};
    /// let x = [-2.0f32, 3.0, -1.0, -4.0];
    /// let w = [0.5f32, 0.25];
    /// let k = Kernels::from_env();
    /// let layout = ChannelLayout::nchw(1, 2, 1, 2)?;
    /// let mut grad = [1.0f32; 4];
    /// let mut grad_w = [0.0f32; 2];
    /// k.prelu_backward(Saved::Input(&x), &w, layout, &mut grad, Some(Grad::Write(&mut grad_w)))?;
    /// assert_eq!(grad, [0.5, 1.0, 0.25, 0.25]);
    /// assert_eq!(grad_w, [-2.0, -5.0]);
    /// // A second batch's slope gradient accumulated into the first's.
    /// let mut grad = [1.0f32; 4];
    /// k.prelu_backward(Saved::Input(&x), &w, layout, &mut grad, Some(Grad::Add(&mut grad_w)))?;
    /// assert_eq!(grad_w, [-4.0, -10.0]);
    /// # Ok::<(), rectify::Error>(())
    /// ```
    pub fn prelu_backward(
        &self,
        saved: Saved<'_>,
        w: &[f32],
        layout: ChannelLayout,
        grad: &mut [f32],
        grad_w: Option<Grad<'_>>,
    ) -> Result<(), Error> {
        self.prelu_backward_checked(saved, w, layout, None, grad, grad_w)
    }

    /// PReLU backward into `grad_in`, written over it, and the slope
    /// gradient written or added as [`Kernels::prelu_backward`] states.
    ///
    /// ```
    /// use rectify::{ChannelLayout, Grad, Kernels, Saved};
    /// let x = [-2.0f32, 3.0];
    /// let mut grad_in = [9.0f32; 2];
    /// let mut grad_w = [1.0f32];
    /// let layout = ChannelLayout::rows(2, 1)?;
    /// let k = Kernels::from_env();
    /// k.prelu_backward_into(Saved::Input(&x), &[0.5], layout, &[1.0, 1.0], &mut grad_in, Some(Grad::Add(&mut grad_w)))?;
    /// assert_eq!((grad_in, grad_w), ([0.5, 1.0], [-1.0]));
    /// # Ok::<(), rectify::Error>(())
    /// ```
    pub fn prelu_backward_into(
        &self,
        saved: Saved<'_>,
        w: &[f32],
        layout: ChannelLayout,
        grad_out: &[f32],
        grad_in: &mut [f32],
        grad_w: Option<Grad<'_>>,
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
        grad_w: Option<Grad<'_>>,
    ) -> Result<(), Error> {
        let v = saved.values();
        validate(self.kernel_set(), w, layout, "saved", v.len())?;
        same_len("grad", v.len(), dst.len())?;
        let gw_len = grad_w.as_ref().map_or(w.len(), |g| g.len());
        same_len("grad_w", w.len(), gw_len)?;
        let from_output = matches!(saved, Saved::Output(_));
        let positive = grad_w.is_some();
        let bad = |s: f32| if positive { s <= 0.0 } else { s < 0.0 };
        if let Some(value) = from_output.then(|| first_slope_where(w, bad)).flatten() {
            return Err(Error::GradientFromOutputUndefined {
                activation: "prelu",
                parameter: "w",
                value,
                requirement: if positive {
                    "every slope must be > 0 for the slope gradient (x = y / w)"
                } else {
                    "every slope must be >= 0"
                },
            });
        }
        let p = kernel_view(layout, w);
        let Some((add, gw)) = grad_w.map(Grad::into_parts) else {
            let (set, base) = (self.kernel_set(), dst.as_ptr() as usize);
            parallel::binary(self.parallel_threshold(), v, grad_src, dst, |v, g, d| {
                set.prelu_backward(p, offset(base, d), v, g, d, None)
            });
            return Ok(());
        };
        let out = GradW {
            grad_w: gw,
            from_output,
            add,
        };
        self.prelu_slope_gradient(p, v, grad_src, dst, out);
        Ok(())
    }

    /// The backward and the slope gradient: one span, or spans whose sums
    /// are added in order, then finished.
    fn prelu_slope_gradient(
        &self,
        p: Prelu<'_>,
        v: &[f32],
        g: Option<&[f32]>,
        dst: &mut [f32],
        out: GradW<'_>,
    ) {
        let (set, n, c_len) = (self.kernel_set(), v.len(), p.w.len());
        let (row, split) = (c_len * p.inner, self.split_len(n));
        let images = BLOCK.div_ceil(row).max(64usize.div_ceil(p.inner));
        let block = images.saturating_mul(row);
        if n <= block && !(split.is_some() && n == row) {
            return set.prelu_backward(p, 0, v, g, dst, Some(SlopeGrad::GradW(out)));
        }
        // Spans of a large or threaded call: every channel's sum is set by
        // them (no zeroing needed beyond the allocation's).
        let mut sums = vec![0.0f64; c_len];
        self.prelu_span_sums(p, (row, block, split), (v, g), dst, &mut sums);
        set.prelu_grad_w(&sums, p.w, out);
    }

    /// The backward in spans, each channel's slope-gradient sum written to
    /// `sums`.
    fn prelu_span_sums(
        &self,
        p: Prelu<'_>,
        (row, block, split): (usize, usize, Option<usize>),
        (v, g): (&[f32], Option<&[f32]>),
        dst: &mut [f32],
        sums: &mut [f64],
    ) {
        let (set, n, c_len) = (self.kernel_set(), v.len(), p.w.len());
        let span = |at, v: &[f32], g: Option<&[f32]>, d: &mut [f32], s: &mut [f64]| {
            set.prelu_backward(p, at, v, g, d, Some(SlopeGrad::Sums(s)))
        };
        if let Some(chunk) = split.filter(|_| n == row) {
            // One image cut at run ends: each run's sum is its own slot.
            let chunk = chunk.div_ceil(p.inner) * p.inner;
            return each_span((chunk, chunk / p.inner), (v, g), dst, sums, span);
        }
        // Blocks of whole images, a row of sums each, added in order.
        let blocks = n.div_ceil(block);
        let mut rows = vec![0.0f64; blocks * c_len];
        let per_part = blocks.div_ceil(split.map_or(1, |c| n.div_ceil(c)));
        let cut = (per_part * block, per_part * c_len);
        each_span(cut, (v, g), dst, &mut rows, |at, v, g, d, s| {
            let sums = s.chunks_mut(c_len);
            for (i, (d, s)) in d.chunks_mut(block).zip(sums).enumerate() {
                let r = i * block..i * block + d.len();
                span(at + i * block, &v[r.clone()], g.map(|g| &g[r]), d, s);
            }
        });
        let (first, rest) = rows.split_at(c_len);
        sums.copy_from_slice(first);
        for row in rest.chunks(c_len) {
            sums.iter_mut().zip(row).for_each(|(s, r)| *s += r);
        }
    }
}
