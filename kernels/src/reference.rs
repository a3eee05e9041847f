//! The scalar reference: one element at a time, straight from the formulas of
//! the math contract (DESIGN.md section 5, PyTorch's CPU formulas).
//!
//! This module is independent of the vector code on purpose: it is the oracle
//! that every tier is tested against, bit for bit, and the baseline that the
//! benchmarks measure speedups against. It is plain Rust; LLVM may still
//! auto-vectorise the loops for the build's baseline target (SSE2 on x86_64),
//! which is what a user's own naive loop would get too.
//!
//! ```
//! use rectify_kernels::reference;
//! assert_eq!(reference::relu(-3.0), 0.0);
//! assert_eq!(reference::relu(-0.0).to_bits(), (-0.0f32).to_bits());
//! assert_eq!(reference::leaky_relu(-2.0, 0.25), -0.5);
//! assert_eq!(reference::relu_grad(0.0, 5.0), 0.0);
//! assert_eq!(reference::leaky_relu_grad(-1.0, 4.0, 0.25), 1.0);
//! ```

use crate::{Op, Source};

/// ReLU: `x < 0 ? +0 : x`. NaN stays NaN (payload kept), `-0` stays `-0`.
#[inline]
pub fn relu(x: f32) -> f32 {
    if x < 0.0 {
        0.0
    } else {
        x
    }
}

/// Leaky ReLU: `x > 0 ? x : x * slope`. NaN becomes `NaN * slope` (the payload
/// is kept, quietened).
#[inline]
pub fn leaky_relu(x: f32, slope: f32) -> f32 {
    if x > 0.0 {
        x
    } else {
        x * slope
    }
}

/// ReLU gradient, from the input or the output alike: `v <= 0 ? +0 : grad`.
/// A NaN `v` passes `grad` through.
#[inline]
pub fn relu_grad(v: f32, grad: f32) -> f32 {
    if v <= 0.0 {
        0.0
    } else {
        grad
    }
}

/// Leaky ReLU gradient: `v > 0 ? grad : grad * slope`. From the output only
/// when `slope >= 0` (then `y > 0` exactly when `x > 0`).
#[inline]
pub fn leaky_relu_grad(v: f32, grad: f32, slope: f32) -> f32 {
    if v > 0.0 {
        grad
    } else {
        grad * slope
    }
}

/// SELU's alpha, as DESIGN.md and the SELU paper give it.
pub const SELU_ALPHA: f64 = 1.673_263_242_354_377_284_817_042_991_671_7;
/// SELU's lambda (the scale).
pub const SELU_LAMBDA: f64 = 1.050_700_987_355_480_493_419_334_985_294_6;
/// `lambda` rounded to f32, the positive-side factor every tier uses.
pub const SELU_LAMBDA_F32: f32 = SELU_LAMBDA as f32;
/// `lambda * alpha` computed exactly and rounded once to f32
/// (1.7580993408...), the negative-side factor every tier uses.
pub const SELU_LAMBDA_ALPHA_F32: f32 = (SELU_LAMBDA * SELU_ALPHA) as f32;

/// ELU: `x <= 0 ? alpha * expm1(x) : x` (so `elu(-0) = -0` for `alpha > 0`).
#[inline]
pub fn elu(x: f32, alpha: f32) -> f32 {
    if x <= 0.0 {
        alpha * x.exp_m1()
    } else {
        x
    }
}

/// CELU: `x <= 0 ? alpha * expm1(x / alpha) : x`.
#[inline]
pub fn celu(x: f32, alpha: f32) -> f32 {
    if x <= 0.0 {
        alpha * (x / alpha).exp_m1()
    } else {
        x
    }
}

/// SELU: `x <= 0 ? (lambda * alpha) * expm1(x) : lambda * x`.
#[inline]
pub fn selu(x: f32) -> f32 {
    if x <= 0.0 {
        SELU_LAMBDA_ALPHA_F32 * x.exp_m1()
    } else {
        SELU_LAMBDA_F32 * x
    }
}

/// ELU gradient from the input: `x <= 0 ? grad * (alpha * exp(x)) : grad`.
#[inline]
pub fn elu_grad_input(x: f32, grad: f32, alpha: f32) -> f32 {
    if x <= 0.0 {
        grad * (alpha * x.exp())
    } else {
        grad
    }
}

/// ELU gradient from the output (`alpha >= 0`): `y <= 0 ? grad * (y + alpha) : grad`.
#[inline]
pub fn elu_grad_output(y: f32, grad: f32, alpha: f32) -> f32 {
    if y <= 0.0 {
        grad * (y + alpha)
    } else {
        grad
    }
}

/// CELU gradient from the input: `x <= 0 ? grad * exp(x / alpha) : grad`.
#[inline]
pub fn celu_grad_input(x: f32, grad: f32, alpha: f32) -> f32 {
    if x <= 0.0 {
        grad * (x / alpha).exp()
    } else {
        grad
    }
}

/// CELU gradient from the output: `y <= 0 ? grad * ((y + alpha) / alpha) : grad`
/// (`y / alpha + 1`, arranged so that it does not cancel near `y = -alpha`;
/// `y` and `alpha` scaled by [`celu_output_scale`] so that the sum cannot
/// overflow).
#[inline]
pub fn celu_grad_output(y: f32, grad: f32, alpha: f32) -> f32 {
    if y <= 0.0 {
        let s = celu_output_scale(alpha);
        grad * ((y * s + alpha * s) / (alpha * s))
    } else {
        grad
    }
}

/// The factor CELU's gradient from the output scales `y` and `alpha` by
/// before adding them: 1, or 1/4 where `|alpha| >= 2^100`, where `y + alpha`
/// could overflow (for `|y|` near `f32::MAX`) while `(y + alpha) / alpha`
/// does not. Below, the sum rounds to at most `f32::MAX`.
#[inline]
pub fn celu_output_scale(alpha: f32) -> f32 {
    if alpha.abs() >= f32::from_bits(0x7180_0000) {
        0.25
    } else {
        1.0
    }
}

/// SELU gradient from the input:
/// `x <= 0 ? grad * ((lambda * alpha) * exp(x)) : grad * lambda`.
#[inline]
pub fn selu_grad_input(x: f32, grad: f32) -> f32 {
    if x <= 0.0 {
        grad * (SELU_LAMBDA_ALPHA_F32 * x.exp())
    } else {
        grad * SELU_LAMBDA_F32
    }
}

/// SELU gradient from the output:
/// `y <= 0 ? grad * (y + lambda * alpha) : grad * lambda`.
#[inline]
pub fn selu_grad_output(y: f32, grad: f32) -> f32 {
    if y <= 0.0 {
        grad * (y + SELU_LAMBDA_ALPHA_F32)
    } else {
        grad * SELU_LAMBDA_F32
    }
}

/// Raw entry point of the scalar tier, with the signature every tier shares.
///
/// # Safety
/// `src` valid for `n` reads and `dst` for `n` writes; they are either equal
/// (in place) or do not overlap.
pub(crate) unsafe fn forward_raw(op: Op, src: *const f32, dst: *mut f32, n: usize) {
    // SAFETY: the caller guarantees validity for n elements and that the
    // buffers are identical or disjoint; in the identical case we form only
    // the one mutable slice, so no aliasing references exist.
    unsafe {
        let dst_slice = core::slice::from_raw_parts_mut(dst, n);
        if core::ptr::eq(src, dst) {
            op.reference_slice(None, dst_slice)
        } else {
            op.reference_slice(Some(core::slice::from_raw_parts(src, n)), dst_slice)
        }
    }
}

/// Raw backward entry point of the scalar tier.
///
/// # Safety
/// All pointers valid for `n` elements; `grad_src` equals `grad_dst` or does
/// not overlap it; `saved` does not overlap `grad_dst`.
pub(crate) unsafe fn backward_raw(
    op: Op,
    from: Source,
    saved: *const f32,
    grad_src: *const f32,
    grad_dst: *mut f32,
    n: usize,
) {
    // SAFETY: as for `forward_raw`; `saved` is disjoint from `grad_dst` by the
    // caller's contract, so the shared and mutable slices do not alias.
    unsafe {
        let saved = core::slice::from_raw_parts(saved, n);
        let dst = core::slice::from_raw_parts_mut(grad_dst, n);
        if core::ptr::eq(grad_src, grad_dst) {
            op.reference_grad_slice(from, saved, None, dst)
        } else {
            let grad = core::slice::from_raw_parts(grad_src, n);
            op.reference_grad_slice(from, saved, Some(grad), dst)
        }
    }
}

/// PReLU with slope `w` for this element's channel: `x > 0 ? x : w * x`
/// (Leaky ReLU with a learned slope).
#[inline]
pub fn prelu(x: f32, w: f32) -> f32 {
    leaky_relu(x, w)
}

/// One element's term of PReLU's slope gradient: `v > 0 ? 0 : v * grad`
/// (`v` the saved input, or the saved output, whose sum is then divided by the
/// slope).
#[inline]
pub fn prelu_slope_term(v: f32, grad: f32) -> f32 {
    if v > 0.0 {
        0.0
    } else {
        v * grad
    }
}

/// One step of Maxout's winner search: piece `p` with value `v` replaces the
/// winner so far `(best, id)` where `v` is not `<= best` (greater, or NaN)
/// and `best` is not NaN. So the first maximal piece wins ties (`-0` and
/// `+0` tie), and the first NaN wins over everything.
///
/// ```
/// use rectify_kernels::reference::maxout_step;
/// assert_eq!(maxout_step(1.0, 0, 2.0, 1), (2.0, 1));
/// assert_eq!(maxout_step(2.0, 0, 2.0, 1), (2.0, 0));
/// assert_eq!(maxout_step(2.0, 0, f32::NAN, 1).1, 1);
/// assert_eq!(maxout_step(f32::NAN, 1, 5.0, 2).1, 1);
/// ```
#[inline]
pub fn maxout_step(best: f32, id: usize, v: f32, p: usize) -> (f32, usize) {
    if v <= best || best.is_nan() {
        (best, id)
    } else {
        (v, p)
    }
}

/// Maxout of one output's pieces: the winner's value and index (see
/// [`maxout_step`]).
///
/// # Panics
/// If `pieces` is empty.
pub fn maxout(pieces: &[f32]) -> (f32, usize) {
    assert!(!pieces.is_empty(), "maxout: no pieces");
    let mut winner = (pieces[0], 0);
    for (p, &v) in pieces.iter().enumerate().skip(1) {
        winner = maxout_step(winner.0, winner.1, v, p);
    }
    winner
}

/// The winner of output `(o, i)` of `x` as `[outer, k, inner]`, the pieces
/// read in order (as [`maxout`] does; no buffer of `k` pieces, so nothing is
/// allocated by the size of `k`).
///
/// # Safety
/// `x` valid for the `k` elements `((o * k + p) * inner + i)`, `p < k`,
/// `k >= 1`.
unsafe fn winner_at(x: *const f32, k: usize, o: usize, inner: usize, i: usize) -> (f32, usize) {
    // SAFETY: the caller guarantees these elements (so their indices, below
    // the buffer's length, do not overflow).
    let piece = |p: usize| unsafe { *x.add((o * k + p) * inner + i) };
    (1..k).fold((piece(0), 0), |(best, id), p| {
        maxout_step(best, id, piece(p), p)
    })
}

/// Scalar Maxout forward: `x` as `[outer, k, inner]`, `y` as `[outer, inner]`;
/// `idx` receives the winners' indices (`idx_bytes` 1 or 4, or 0 for none).
///
/// # Safety
/// As for `ops::maxout::forward`, with `idx` valid for `outer * inner`
/// indices of `idx_bytes` bytes when `idx_bytes != 0`.
pub(crate) unsafe fn maxout_forward_raw(
    x: *const f32,
    y: *mut f32,
    idx: *mut u8,
    idx_bytes: usize,
    outer: usize,
    k: usize,
    inner: usize,
) {
    for o in 0..outer {
        for i in 0..inner {
            // SAFETY: every index is inside the caller's ranges.
            unsafe {
                let (best, id) = winner_at(x, k, o, inner, i);
                let at = o * inner + i;
                *y.add(at) = best;
                match idx_bytes {
                    1 => *idx.add(at) = id as u8,
                    4 => *idx.cast::<u32>().add(at) = id as u32,
                    _ => {}
                }
            }
        }
    }
}

/// Scalar check that the `n` values at `p` are all finite.
///
/// # Safety
/// `p` valid for `n` reads.
pub(crate) unsafe fn all_finite_raw(p: *const f32, n: usize) -> bool {
    // SAFETY: forwarded contract.
    unsafe { core::slice::from_raw_parts(p, n) }
        .iter()
        .all(|v| v.is_finite())
}

/// Scalar Maxout backward, winners recomputed from `x`.
///
/// # Safety
/// As for `ops::maxout::backward`.
pub(crate) unsafe fn maxout_backward_raw(
    x: *const f32,
    gy: *const f32,
    gx: *mut f32,
    outer: usize,
    k: usize,
    inner: usize,
) {
    for o in 0..outer {
        for i in 0..inner {
            // SAFETY: every index is inside the caller's ranges.
            unsafe {
                let id = winner_at(x, k, o, inner, i).1;
                let g = *gy.add(o * inner + i);
                for p in 0..k {
                    *gx.add((o * k + p) * inner + i) = if p == id { g } else { 0.0 };
                }
            }
        }
    }
}

/// Maxout backward from saved winner indices (one per output, `< k`):
/// `gx[o, p, i] = p == idx[o, i] ? gy[o, i] : +0`. The same on every tier.
///
/// ```
/// use rectify_kernels::reference::maxout_backward_indexed;
/// // Two outputs of k = 3 pieces in planes of inner = 2.
/// let mut gx = [9.0f32; 6];
/// maxout_backward_indexed(&[2u8, 0], &[10.0, 20.0], &mut gx, 3, 2);
/// assert_eq!(gx, [0.0, 20.0, 0.0, 0.0, 10.0, 0.0]);
/// ```
///
/// # Panics
/// If `k` or `inner` is 0, the lengths do not match `[outer, k, inner]`, or
/// an index is `>= k`.
pub fn maxout_backward_indexed<I: Copy + Into<u64>>(
    idx: &[I],
    gy: &[f32],
    gx: &mut [f32],
    k: usize,
    inner: usize,
) {
    assert_eq!(idx.len(), gy.len(), "maxout: idx and grad_y lengths differ");
    crate::check_maxout_layout(("grad_x", gx.len()), k, inner, ("grad_y", gy.len()));
    // Saturating: where `k * inner` overflows, gx is empty (checked above).
    for (gxo, (idxo, gyo)) in gx
        .chunks_mut(k.saturating_mul(inner))
        .zip(idx.chunks(inner).zip(gy.chunks(inner)))
    {
        for (p, piece) in gxo.chunks_mut(inner).enumerate() {
            for ((d, &id), &g) in piece.iter_mut().zip(idxo).zip(gyo) {
                let id: u64 = id.into();
                assert!(id < k as u64, "maxout: index {id} out of range");
                *d = if id == p as u64 { g } else { 0.0 };
            }
        }
    }
}
