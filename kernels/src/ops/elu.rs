//! ELU, CELU and SELU, forward and backward (from the input and from the
//! output), over the shared `expm1` / `exp` of `math/`. The formulas are the
//! contract's (PyTorch's), evaluated in the same order as the scalar
//! reference; NaN takes the second branch, so it never reaches the
//! exponential.

use super::{BinaryOp, UnaryOp};
use crate::math::{exp_scaled_rr2_p7, expm1_rr2_p7, mul_add_accurate, two_product, two_sum};
use crate::reference::{SELU_LAMBDA_ALPHA_F32, SELU_LAMBDA_F32};
use crate::vector::F32Vector;

/// Four vectors per iteration: the exponential's dependency chain is ~15
/// operations long, so four independent chains keep both FMA pipes busy.
const UNROLL: usize = 4;

/// `x <= 0 ? alpha * expm1(x) : x`.
#[derive(Clone, Copy)]
pub(crate) struct Elu {
    pub(crate) alpha: f32,
}

impl UnaryOp for Elu {
    const UNROLL: usize = UNROLL;
    #[inline(always)]
    fn apply<V: F32Vector>(self, x: V) -> V {
        let neg = expm1_rr2_p7(x, None).scaled(x, V::splat(self.alpha));
        V::select(x.le(V::zero()), neg, x)
    }
}

/// `t = x / alpha` and the relative remainder `d = (x - t*alpha) / alpha`, so
/// that `x / alpha = t + d` to first order.
///
/// The quotient is rounded, and the exponential magnifies that rounding by
/// up to the argument's size (43 ULP at `x / alpha = 82` when ignored), so
/// CELU passes `d` to the exponential as a correction of its reduced
/// argument. The remainder is exact: one FMA on the FMA tiers, Dekker's
/// product otherwise. `d` is dropped (set to 0) where `|d| > 2^-16` or it is
/// NaN: wherever the result is finite and non-zero, `|t| < 176` and `|d| <=
/// |t| * 2^-24 < 2^-16`, so this changes nothing there, and for huge or
/// infinite `t` (a saturated result) it keeps the correction out.
#[inline(always)]
fn divide<V: F32Vector>(x: V, alpha: f32) -> (V, V) {
    let t = x.div(V::splat(alpha));
    let r = exact_remainder(x, t, alpha);
    let d = r.mul(V::splat(1.0 / alpha));
    // |d| <= 2^-16, tested as d*d <= 2^-32: false for NaN too (the max/min of
    // x86 and NEON treat NaN differently, a comparison does not).
    let in_range = d.mul(d).le(V::splat(1.0 / 4_294_967_296.0));
    (t, V::select(in_range, d, V::zero()))
}

/// `x - t*alpha`, exactly (it is representable when `t` is the rounded
/// quotient `x / alpha`): one FMA, or Dekker's product where `mul_add` is not
/// fused (`x - p` is exact by Sterbenz's lemma, and so is the result).
#[inline(always)]
fn exact_remainder<V: F32Vector>(x: V, t: V, alpha: f32) -> V {
    if V::FUSED_MUL_ADD {
        return t.mul_add(V::splat(-alpha), x);
    }
    let (p, e) = two_product(t, V::splat(alpha));
    x.sub(p).sub(e)
}

/// `alpha * expm1(x / alpha)` through `expm1`, rounded once. The division's
/// remainder enters as `alpha * expm1(t + d) = alpha * expm1(t) + alpha*d*e^t`
/// inside the final rounding (more accurate here than adding `d` to the
/// reduced argument, which would round it once more).
#[inline(always)]
fn celu_expm1<V: F32Vector>(x: V, alpha: f32) -> V {
    let (t, d) = divide(x, alpha);
    let e = expm1_rr2_p7(t, None);
    let a = V::splat(alpha);
    let correction = a.mul(d).mul(e.exp());
    // Where |x / alpha| < 2^-25, alpha * expm1(x / alpha) rounds to x.
    V::select(e.tiny, x, e.scaled_plus(x, a, correction))
}

/// `x <= 0 ? alpha * expm1(x / alpha) : x` for `alpha > 0` (then `x / alpha <= 0`).
#[derive(Clone, Copy)]
pub(crate) struct Celu {
    pub(crate) alpha: f32,
}

impl UnaryOp for Celu {
    const UNROLL: usize = UNROLL;
    #[inline(always)]
    fn apply<V: F32Vector>(self, x: V) -> V {
        V::select(x.le(V::zero()), celu_expm1(x, self.alpha), x)
    }
}

/// `x <= 0 ? alpha * expm1(x / alpha) : x` for `alpha < 0`, where `x / alpha`
/// is positive and unbounded: above 64, `alpha * expm1(t)` is `alpha * e^t`
/// to within `e^-64`, computed by `exp_scaled` whose range reaches past the
/// overflow of `alpha * e^t` for every normal alpha.
#[derive(Clone, Copy)]
pub(crate) struct CeluNegativeAlpha {
    pub(crate) alpha: f32,
}

impl UnaryOp for CeluNegativeAlpha {
    const UNROLL: usize = UNROLL;
    #[inline(always)]
    fn apply<V: F32Vector>(self, x: V) -> V {
        let small = celu_expm1(x, self.alpha);
        let (t, d) = divide(x, self.alpha);
        let big = exp_scaled_rr2_p7(t, Some(d), V::splat(self.alpha));
        let neg = V::select(t.gt(V::splat(64.0)), big, small);
        V::select(x.le(V::zero()), neg, x)
    }
}

/// `x <= 0 ? (lambda * alpha) * expm1(x) : lambda * x`.
#[derive(Clone, Copy)]
pub(crate) struct Selu;

impl UnaryOp for Selu {
    const UNROLL: usize = UNROLL;
    #[inline(always)]
    fn apply<V: F32Vector>(self, x: V) -> V {
        let neg = expm1_rr2_p7(x, None).scaled(x, V::splat(SELU_LAMBDA_ALPHA_F32));
        V::select(x.le(V::zero()), neg, x.mul(V::splat(SELU_LAMBDA_F32)))
    }
}

/// From the input: `x <= 0 ? grad * (alpha * exp(x)) : grad`, evaluated as
/// `(grad * alpha) * exp(x)` with the product applied before exp's last
/// power-of-two scaling, so a subnormal `exp(x)` loses no digits.
#[derive(Clone, Copy)]
pub(crate) struct EluGradInput {
    pub(crate) alpha: f32,
}

impl BinaryOp for EluGradInput {
    const UNROLL: usize = UNROLL;
    #[inline(always)]
    fn apply<V: F32Vector>(self, x: V, grad: V) -> V {
        let d = exp_scaled_rr2_p7(x, None, grad.mul(V::splat(self.alpha)));
        V::select(x.le(V::zero()), d, grad)
    }
}

/// From the output (alpha >= 0): `y <= 0 ? grad * (y + alpha) : grad`.
#[derive(Clone, Copy)]
pub(crate) struct EluGradOutput {
    pub(crate) alpha: f32,
}

impl BinaryOp for EluGradOutput {
    const UNROLL: usize = 2;
    #[inline(always)]
    fn apply<V: F32Vector>(self, y: V, grad: V) -> V {
        let d = y.add(V::splat(self.alpha));
        V::select(y.le(V::zero()), grad.mul(d), grad)
    }
}

/// From the input: `x <= 0 ? grad * exp(x / alpha) : grad`, with the
/// division's remainder as a correction (see [`divide`]).
#[derive(Clone, Copy)]
pub(crate) struct CeluGradInput {
    pub(crate) alpha: f32,
}

impl BinaryOp for CeluGradInput {
    const UNROLL: usize = UNROLL;
    #[inline(always)]
    fn apply<V: F32Vector>(self, x: V, grad: V) -> V {
        let (t, d) = divide(x, self.alpha);
        V::select(x.le(V::zero()), exp_scaled_rr2_p7(t, Some(d), grad), grad)
    }
}

/// From the output: `y <= 0 ? grad * ((y + alpha) / alpha) : grad` (that is
/// `y / alpha + 1`, but without the cancellation near `y = -alpha`), evaluated
/// as `grad * ((y + alpha) / alpha)` with the sum kept exact (TwoSum) and its
/// error term carried into the product, so two roundings in all.
#[derive(Clone, Copy)]
pub(crate) struct CeluGradOutput {
    pub(crate) alpha: f32,
}

impl BinaryOp for CeluGradOutput {
    const UNROLL: usize = 2;
    #[inline(always)]
    fn apply<V: F32Vector>(self, y: V, grad: V) -> V {
        let a = V::splat(self.alpha);
        let (s, e) = two_sum(y, a);
        // The error term is NaN where the sum is infinite; it is 0 there.
        let e = V::select(e.le(e), e, V::zero());
        // Divide before multiplying, so that a huge y cannot overflow early.
        let d = mul_add_accurate(grad, s.div(a), grad.mul(e.div(a)));
        V::select(y.le(V::zero()), d, grad)
    }
}

/// From the input: `x <= 0 ? grad * ((lambda * alpha) * exp(x)) : grad * lambda`.
#[derive(Clone, Copy)]
pub(crate) struct SeluGradInput;

impl BinaryOp for SeluGradInput {
    const UNROLL: usize = UNROLL;
    #[inline(always)]
    fn apply<V: F32Vector>(self, x: V, grad: V) -> V {
        let d = exp_scaled_rr2_p7(x, None, grad.mul(V::splat(SELU_LAMBDA_ALPHA_F32)));
        V::select(x.le(V::zero()), d, grad.mul(V::splat(SELU_LAMBDA_F32)))
    }
}

/// From the output: `y <= 0 ? grad * (y + lambda * alpha) : grad * lambda`.
#[derive(Clone, Copy)]
pub(crate) struct SeluGradOutput;

impl BinaryOp for SeluGradOutput {
    const UNROLL: usize = 2;
    #[inline(always)]
    fn apply<V: F32Vector>(self, y: V, grad: V) -> V {
        let d = y.add(V::splat(SELU_LAMBDA_ALPHA_F32));
        V::select(
            y.le(V::zero()),
            grad.mul(d),
            grad.mul(V::splat(SELU_LAMBDA_F32)),
        )
    }
}
