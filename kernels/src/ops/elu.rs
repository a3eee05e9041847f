//! ELU, CELU and SELU, forward and backward (from the input and from the
//! output), over the shared `expm1` / `exp` of `math/`. The formulas are the
//! contract's (PyTorch's), evaluated in the same order as the scalar
//! reference; NaN takes the second branch, so the exponential's garbage on
//! NaN lanes is discarded.

use super::{BinaryOp, UnaryOp};
use crate::math::{
    exp_scaled_in_units, exp_scaled_rr2_p7, expm1_in_units, expm1_rr2_p7, mul_add_accurate, split,
    split_constant, two_product_split, two_sum, Units, EXPM1_MIN, EXP_MAX, EXP_MIN,
};
use crate::reference::{SELU_LAMBDA_ALPHA_F32, SELU_LAMBDA_F32};
use crate::vector::F32Vector;

/// Two vectors per iteration: two independent chains of the exponential
/// (each ~15 operations deep) interleave in the FP pipes.
const UNROLL: usize = 2;

/// `x <= 0 ? alpha * expm1(x) : x`. `POSITIVE` says `alpha > 0`, the
/// usual case, fixed per call so that the loop tests nothing about alpha
/// (LLVM does not unswitch loops this size): zeros and positive inputs are
/// then the identity branch, and the product is a plain scaling.
#[derive(Clone, Copy)]
pub(crate) struct Elu<const POSITIVE: bool> {
    pub(crate) alpha: f32,
}

impl<const POSITIVE: bool> Elu<POSITIVE> {
    pub(crate) fn new(alpha: f32) -> Self {
        debug_assert_eq!(POSITIVE, alpha > 0.0);
        Elu { alpha }
    }
}

impl<const POSITIVE: bool> Elu<POSITIVE> {
    /// `alpha * expm1(x)`, x clamped at the saturation point (a method, not
    /// a closure: the closure did not inline into the tiers'
    /// `#[target_feature]` functions, and each vector paid an out-of-line
    /// call compiled without the tier's features).
    #[inline(always)]
    fn scaled<V: F32Vector>(self, x: V) -> V {
        let cpu = x.cpu();
        expm1_rr2_p7(x.max(cpu.splat(EXPM1_MIN)), None).scaled(self.alpha)
    }
}

impl<const POSITIVE: bool> UnaryOp for Elu<POSITIVE> {
    const UNROLL: usize = UNROLL;
    #[inline(always)]
    fn apply<V: F32Vector>(self, x: V) -> V {
        let cpu = x.cpu();
        let zero = cpu.zero();
        if POSITIVE {
            // `alpha * expm1(+0)` is +0: see `EluUnit`.
            let (negative, rest) = x.split_sign();
            return self.scaled(negative).or_bits(rest);
        }
        let neg = if self.alpha == 0.0 {
            // `±0 * expm1(x)`, x < 0: a zero of the sign opposite to alpha's,
            // which the sum below would lose.
            cpu.splat(if self.alpha.is_sign_positive() {
                -0.0
            } else {
                0.0
            })
        } else {
            self.scaled(x)
        };
        // Zeros map to `alpha * ±0`: themselves for alpha = +0; the opposite
        // zero for a negative alpha (or -0), which the expm1 sum does not
        // give (its last term adds +0).
        let at_least_zero = if self.alpha.is_sign_negative() {
            V::select(x.le(zero), x.mul(cpu.splat(self.alpha)), x)
        } else {
            x
        };
        V::select(x.lt(zero), neg, at_least_zero)
    }
}

/// ELU (and CELU) with `alpha = 1`, PyTorch's default: `x < 0 ? expm1(x) :
/// x`, the same bits as [`Elu`] with `alpha = 1` in fewer operations.
///
/// The branches are taken apart by sign ([`F32Vector::split_sign`]) instead
/// of a compare and a select: the exponential runs on the negative part,
/// which is +0 in the lanes of the other branch, where `expm1(+0)` comes out
/// as +0 exactly, and OR-ing the two parts gives each lane its branch's bits.
#[derive(Clone, Copy)]
pub(crate) struct EluUnit;

impl UnaryOp for EluUnit {
    const UNROLL: usize = UNROLL;
    #[inline(always)]
    fn apply<V: F32Vector>(self, x: V) -> V {
        let cpu = x.cpu();
        let (negative, rest) = x.split_sign();
        let neg = expm1_rr2_p7(negative.max(cpu.splat(EXPM1_MIN)), None).unscaled();
        neg.or_bits(rest)
    }
}

/// Division by CELU's fixed `alpha`: `x / alpha = t + d` to first order,
/// with `t` the rounded quotient and `d = (x - t*alpha) / alpha` its relative
/// remainder.
///
/// The exponential magnifies an error in its argument by up to the
/// argument's size (43 ULP at `x / alpha = 82` when ignored), so CELU passes
/// `d` to the exponential as a correction of its reduced argument. With it,
/// `t` needs only to be close: it is `x * (1/alpha)` (within 1.5 ULP of the
/// quotient) wherever `1/alpha` is a normal float, and a division otherwise
/// (`|alpha|` below about 2^-128 or above 2^126). The remainder is one FMA on
/// the FMA tiers, Dekker's product otherwise.
#[derive(Clone, Copy)]
pub(crate) struct Divisor {
    by: By,
    /// For the remainder on tiers without FMA: `x` and `alpha` are scaled
    /// by `rem_scale` (1, or 2^-32 where `|alpha| > 2^100`, so that neither
    /// Dekker's product `t * alpha` nor its splits can overflow), and divided
    /// by the scaled `alpha`.
    rem_scale: f32,
    rem_by: By,
    /// The scaled `alpha`'s Veltkamp split.
    rem_split: (f32, f32),
}

/// Division by a constant: by its reciprocal where that is a normal float.
#[derive(Clone, Copy)]
struct By {
    alpha: f32,
    inv: f32,
    by_reciprocal: bool,
}

impl By {
    fn new(alpha: f32) -> By {
        let inv = 1.0 / alpha;
        By {
            alpha,
            inv,
            by_reciprocal: inv.is_normal(),
        }
    }

    /// `x / alpha`; by the reciprocal for every alpha up to 2^88 (`!HUGE`)
    /// without a test.
    #[inline(always)]
    fn divide<V: F32Vector, const HUGE: bool>(self, x: V) -> V {
        let cpu = x.cpu();
        if !HUGE || self.by_reciprocal {
            x.mul(cpu.splat(self.inv))
        } else {
            x.div(cpu.splat(self.alpha))
        }
    }
}

impl Divisor {
    pub(crate) fn new(alpha: f32) -> Divisor {
        let rem_scale = if alpha.abs() > 2f32.powi(100) {
            2f32.powi(-32)
        } else {
            1.0
        };
        let div = Divisor {
            by: By::new(alpha),
            rem_scale,
            rem_by: By::new(alpha * rem_scale),
            rem_split: split_constant(alpha * rem_scale),
        };
        // What `!HUGE` takes for granted (CELU's |alpha| is at least 2^-64).
        debug_assert!(
            Self::is_huge(alpha)
                || (div.by.by_reciprocal && div.rem_by.by_reciprocal && rem_scale == 1.0)
        );
        div
    }

    pub(crate) fn alpha(self) -> f32 {
        self.by.alpha
    }

    /// Whether `|alpha| > 2^88`. Below, the reciprocal is normal, no bound is
    /// out of range and nothing needs rescaling: the ops over a divisor take
    /// `HUGE` as a const parameter, so the common case has no test of these
    /// in its loop (LLVM does not unswitch loops this size).
    pub(crate) fn is_huge(alpha: f32) -> bool {
        alpha.abs() > 2f32.powi(88)
    }

    /// `t`, close to `x / alpha`.
    #[inline(always)]
    fn quotient<V: F32Vector, const HUGE: bool>(self, x: V) -> V {
        self.by.divide::<V, HUGE>(x)
    }

    /// `d = (x - t*alpha) / alpha`: the remainder `x - t*alpha`, to within a
    /// rounding of its own (exact when `t` is the correctly rounded
    /// quotient), is one FMA, or Dekker's product where `mul_add` is not
    /// fused (`x - p` is exact by Sterbenz's lemma).
    #[inline(always)]
    fn remainder<V: F32Vector, const HUGE: bool>(self, x: V, t: V) -> V {
        let cpu = x.cpu();
        if V::FUSED_MUL_ADD {
            return self
                .by
                .divide::<V, HUGE>(t.mul_add(cpu.splat(-self.by.alpha), x));
        }
        let (ah, al) = self.rem_split;
        let alpha = cpu.splat(self.rem_by.alpha);
        let (p, e) = two_product_split(t, alpha, split(t), (cpu.splat(ah), cpu.splat(al)));
        let x = if HUGE {
            x.mul(cpu.splat(self.rem_scale))
        } else {
            x
        };
        self.rem_by.divide::<V, HUGE>(x.sub(p).sub(e))
    }

    /// `(t, d)` for `x` clamped from below at `lowest * |alpha|` (`lowest
    /// < 0`), so that `|t| <= |lowest|` to within 1.5 ULP and `d` is small
    /// and finite: the lanes clamped are those where the result saturates, or
    /// are not selected.
    ///
    /// Where `lowest * |alpha|` overflows, every finite `x` has its quotient
    /// in range, and `x = -inf` gets the saturated `t = lowest * sign(alpha)`,
    /// `d = 0`.
    #[inline(always)]
    fn bounded_quotient<V: F32Vector, const HUGE: bool>(self, x: V, lowest: f32) -> (V, V) {
        let cpu = x.cpu();
        let alpha = self.by.alpha;
        let floor = lowest * alpha.abs();
        if !HUGE || floor.is_finite() {
            let xc = x.max(cpu.splat(floor));
            let t = self.quotient::<V, HUGE>(xc);
            return (t, self.remainder::<V, HUGE>(xc, t));
        }
        let xc = x.max(cpu.splat(-f32::MAX));
        let t = self.quotient::<V, HUGE>(xc);
        let d = self.remainder::<V, HUGE>(xc, t);
        let minus_inf = x.lt(cpu.splat(-f32::MAX));
        (
            V::select(minus_inf, cpu.splat(lowest * alpha.signum()), t),
            V::select(minus_inf, cpu.zero(), d),
        )
    }
}

/// CELU is the identity, once rounded, from this bound (`-2^-25 |alpha|`) up
/// to 0: there `alpha * expm1(x / alpha) = x (1 + x / (2 alpha) + ...)` differs
/// from `x` by less than half the gap to its neighbours (a quarter ULP where
/// `x` is a power of two). Selecting `x` itself there spares the quotient and
/// its remainder from underflowing (where `x` is subnormal, the remainder has
/// too few digits to correct the quotient), and maps -0 to itself.
#[inline(always)]
fn celu_identity_bound(alpha: f32) -> f32 {
    -alpha.abs() * (1.0 / 33_554_432.0)
}

/// `x <= 0 ? alpha * expm1(x / alpha) : x` for `alpha > 0` (then `x / alpha <= 0`).
#[derive(Clone, Copy)]
pub(crate) struct Celu<const HUGE: bool> {
    pub(crate) div: Divisor,
}

impl<const HUGE: bool> UnaryOp for Celu<HUGE> {
    const UNROLL: usize = UNROLL;
    #[inline(always)]
    fn apply<V: F32Vector>(self, x: V) -> V {
        let cpu = x.cpu();
        let alpha = self.div.alpha();
        // Below EXPM1_MIN * alpha the result is -alpha.
        let (t, d) = self.div.bounded_quotient::<V, HUGE>(x, EXPM1_MIN);
        let neg = expm1_rr2_p7(t, Some(d)).scaled(alpha);
        V::select(x.lt(cpu.splat(celu_identity_bound(alpha))), neg, x)
    }
}

/// CELU for `alpha` in `[2^-16, 2^16]` (every CELU in practice), forward
/// and gradient from the input. Forward: `x <= 0 ? alpha * expm1(x /
/// alpha) : x`, with no division: the exponential's reduction
/// and polynomial take the argument in units of `alpha` ([`Units`]), so the
/// cost is `EluUnit`'s and an FMA. No band near zero is needed either: for
/// `n = 0` the result is `x + w^2 q(w)` rounded once, which is `x` itself
/// wherever CELU is the identity once rounded, subnormals included.
#[derive(Clone, Copy)]
pub(crate) struct CeluInUnits {
    alpha: f32,
    units: Units,
}

impl CeluInUnits {
    /// `None` for `alpha` outside `[2^-16, 2^16]` (take [`Celu`] and
    /// [`CeluGradInput`]).
    pub(crate) fn new(alpha: f32) -> Option<CeluInUnits> {
        Some(CeluInUnits {
            alpha,
            units: Units::new(alpha)?,
        })
    }
}

impl UnaryOp for CeluInUnits {
    const UNROLL: usize = UNROLL;
    #[inline(always)]
    fn apply<V: F32Vector>(self, x: V) -> V {
        let cpu = x.cpu();
        // As `EluUnit`: the result for a `+0` argument is `+0`.
        let (negative, rest) = x.split_sign();
        let z = negative.max(cpu.splat(EXPM1_MIN * self.alpha));
        let neg = expm1_in_units(z, None, &self.units).in_units(self.alpha);
        neg.or_bits(rest)
    }
}

/// `x <= 0 ? alpha * expm1(x / alpha) : x` for `alpha < 0`, where `x / alpha`
/// is positive and unbounded: above 64, `alpha * expm1(t)` is `alpha * e^t`
/// to within `e^-64`, computed by `exp_scaled` whose range reaches past the
/// overflow of `alpha * e^t` for every normal alpha.
///
/// `expm1`'s reconstruction forms `alpha * 2^n`, which must not overflow
/// where the result does not (nor turn into `inf - inf` where it does):
/// - `|alpha| < 2^34`: `n <= 93` below the cut at `t = 64`, fine;
/// - larger alphas cut at `t = 24` (`e^-24` is far below an ULP, so `exp`
///   alone is `expm1` there), `n <= 36`, fine up to `|alpha| = 2^88`;
/// - above 2^88 `expm1` runs on `alpha * 2^-40` and the result is scaled
///   back (exactly: results there are far above the subnormal range, as the
///   identity band takes the small `x`).
#[derive(Clone, Copy)]
pub(crate) struct CeluNegativeAlpha<const HUGE: bool> {
    div: Divisor,
    cut: f32,
    rescale: f32,
}

impl<const HUGE: bool> CeluNegativeAlpha<HUGE> {
    pub(crate) fn new(alpha: f32) -> CeluNegativeAlpha<HUGE> {
        let m = alpha.abs();
        CeluNegativeAlpha {
            div: Divisor::new(alpha),
            cut: if m < 2f32.powi(34) { 64.0 } else { 24.0 },
            rescale: if m > 2f32.powi(88) {
                2f32.powi(40)
            } else {
                1.0
            },
        }
    }
}

impl<const HUGE: bool> UnaryOp for CeluNegativeAlpha<HUGE> {
    const UNROLL: usize = UNROLL;
    #[inline(always)]
    fn apply<V: F32Vector>(self, x: V) -> V {
        let cpu = x.cpu();
        let a = self.div.alpha();
        // t >= 0; above EXP_MAX, alpha * e^t overflows for every normal alpha.
        let (t, d) = self.div.bounded_quotient::<V, HUGE>(x, -EXP_MAX);
        let small = if !HUGE || self.rescale == 1.0 {
            expm1_rr2_p7(t, Some(d)).scaled(a)
        } else {
            let a = a / self.rescale;
            let small = expm1_rr2_p7(t, Some(d)).scaled(a);
            small.mul(cpu.splat(self.rescale))
        };
        let big = exp_scaled_rr2_p7(t, Some(d), cpu.splat(a));
        let neg = V::select(t.gt(cpu.splat(self.cut)), big, small);
        V::select(x.lt(cpu.splat(celu_identity_bound(a))), neg, x)
    }
}

/// `x <= 0 ? (lambda * alpha) * expm1(x) : lambda * x`.
#[derive(Clone, Copy)]
pub(crate) struct Selu;

impl UnaryOp for Selu {
    const UNROLL: usize = UNROLL;
    #[inline(always)]
    fn apply<V: F32Vector>(self, x: V) -> V {
        let cpu = x.cpu();
        // As `EluUnit`: `lambda * rest` is +0 where `negative` is kept, and
        // the scaled `expm1(+0)` is +0 where it is not.
        let (negative, rest) = x.split_sign();
        let z = negative.max(cpu.splat(EXPM1_MIN));
        let neg = expm1_rr2_p7(z, None).scaled(SELU_LAMBDA_ALPHA_F32);
        neg.or_bits(rest.mul(cpu.splat(SELU_LAMBDA_F32)))
    }
}

/// From the input: `x <= 0 ? grad * (alpha * exp(x)) : grad`, evaluated as
/// `(grad * alpha) * exp(x)` with the product applied before exp's last
/// power-of-two scaling, so a subnormal `exp(x)` loses no digits.
///
/// `UNIT` says `alpha = 1` (PyTorch's default, and CELU's gradient with
/// alpha = 1, the same formula): `grad` itself is the multiplier, one
/// multiply fewer per vector, fixed per call so that the loop tests nothing.
#[derive(Clone, Copy)]
pub(crate) struct EluGradInput<const UNIT: bool> {
    pub(crate) alpha: f32,
}

impl<const UNIT: bool> BinaryOp for EluGradInput<UNIT> {
    const UNROLL: usize = UNROLL;
    #[inline(always)]
    fn apply<V: F32Vector>(self, x: V, grad: V) -> V {
        let cpu = x.cpu();
        let z = x.max(cpu.splat(EXP_MIN));
        let m = if UNIT {
            grad
        } else {
            grad.mul(cpu.splat(self.alpha))
        };
        let d = exp_scaled_rr2_p7(z, None, m);
        V::select(x.le(cpu.zero()), d, grad)
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
        let cpu = y.cpu();
        let d = y.add(cpu.splat(self.alpha));
        V::select(y.le(cpu.zero()), grad.mul(d), grad)
    }
}

/// From the input: `x <= 0 ? grad * exp(x / alpha) : grad`, with the
/// division's remainder as a correction (see [`By::divide`]).
#[derive(Clone, Copy)]
pub(crate) struct CeluGradInput<const HUGE: bool> {
    pub(crate) div: Divisor,
}

/// From the input, for `alpha` in `[2^-16, 2^16]`: as [`CeluGradInput`],
/// with the exponential's argument in units of alpha ([`Units`]) instead of
/// a division and its remainder.
impl BinaryOp for CeluInUnits {
    const UNROLL: usize = UNROLL;
    #[inline(always)]
    fn apply<V: F32Vector>(self, x: V, grad: V) -> V {
        let cpu = x.cpu();
        let z = x.max(cpu.splat(EXP_MIN * self.alpha));
        let d = exp_scaled_in_units(z, &self.units, grad);
        V::select(x.le(cpu.zero()), d, grad)
    }
}

impl<const HUGE: bool> BinaryOp for CeluGradInput<HUGE> {
    const UNROLL: usize = UNROLL;
    #[inline(always)]
    fn apply<V: F32Vector>(self, x: V, grad: V) -> V {
        let cpu = x.cpu();
        // exp's range on the side x / alpha reaches (x <= 0).
        let lowest = if self.div.alpha() > 0.0 {
            EXP_MIN
        } else {
            -EXP_MAX
        };
        let (t, d) = self.div.bounded_quotient::<V, HUGE>(x, lowest);
        V::select(x.le(cpu.zero()), exp_scaled_rr2_p7(t, Some(d), grad), grad)
    }
}

/// From the output: `y <= 0 ? grad * ((y + alpha) / alpha) : grad` (that is
/// `y / alpha + 1`, but without the cancellation near `y = -alpha`), with the
/// sum kept exact (TwoSum, `y + alpha = s + e`) and the quotient `(s + e) /
/// alpha` rounded about once, then multiplied by `grad`: two roundings in
/// all, and the signs of zeros, infinities and NaNs of a plain product.
///
/// On the FMA tiers there is no division (it costs as much as the rest of
/// the kernel together): with `r = 1/alpha` (a normal float for every
/// accepted alpha), `q0 = s * r` and the quotient's remainder `s - q0 *
/// alpha` is one FMA (exact, or within a rounding of its own, 2^-23 below
/// `q0`), so `q0 + (s - q0 * alpha + e) * r` is the quotient to within about
/// 2^-46 before its last rounding. Tiers without FMA divide, and multiply
/// `s / alpha + e / alpha` by `grad` with one rounding of the sum (Dekker
/// and Knuth), falling back to the plain product where the result is zero,
/// infinite or NaN.
///
/// Where `|alpha| >= 2^100` (`SCALED`), `y + alpha` could overflow although
/// the result does not: `y` and `alpha` are both scaled by 1/4 first
/// (exactly, but for bits of `y` far below the sum's last digit), which
/// leaves the quotient as it was. The dispatch picks the variant, so the
/// common one spends no multiply on it.
#[derive(Clone, Copy)]
pub(crate) struct CeluGradOutput<const SCALED: bool> {
    scale: f32,
    /// By the scaled alpha.
    div: Divisor,
}

impl<const SCALED: bool> CeluGradOutput<SCALED> {
    /// Whether `alpha` needs the `SCALED` variant.
    pub(crate) fn scaled(alpha: f32) -> bool {
        crate::reference::celu_output_scale(alpha) != 1.0
    }

    pub(crate) fn new(alpha: f32) -> CeluGradOutput<SCALED> {
        debug_assert_eq!(SCALED, Self::scaled(alpha));
        let scale = crate::reference::celu_output_scale(alpha);
        let div = Divisor::new(alpha * scale);
        // CELU's alpha is at least 2^-64 in magnitude, and at most 2^126
        // once scaled.
        debug_assert!(div.by.by_reciprocal);
        CeluGradOutput { scale, div }
    }
}

impl<const SCALED: bool> BinaryOp for CeluGradOutput<SCALED> {
    const UNROLL: usize = 2;
    #[inline(always)]
    fn apply<V: F32Vector>(self, y: V, grad: V) -> V {
        let cpu = y.cpu();
        let alpha = self.div.alpha();
        let ys = if SCALED {
            y.mul(cpu.splat(self.scale))
        } else {
            y
        };
        let (s, e) = two_sum(ys, cpu.splat(alpha));
        let zero = cpu.zero();
        if V::FUSED_MUL_ADD {
            let r = cpu.splat(self.div.by.inv);
            let q0 = s.mul(r);
            let c = q0.mul_add(cpu.splat(-alpha), s).add(e).mul(r);
            // `c` is NaN where the sum is infinite (`y = -inf`): `q0` is the
            // quotient there. (`q <= q` is false only for NaN.)
            let q = q0.add(c);
            let q = V::select(q.le(q), q, q0);
            return V::select(y.le(zero), grad.mul(q), grad);
        }
        // Divide before multiplying, so that a huge y cannot overflow early.
        let a = cpu.splat(alpha);
        let q = s.div(a);
        let d = mul_add_accurate(grad, q, grad.mul(e.div(a)));
        // Where the result is NaN, zero or infinite, the correction can only
        // hurt, and the plain product is right: an infinite sum or grad makes
        // `inf - inf` or `inf * 0` (`e` is NaN where the sum is infinite), a
        // zero grad's sum of two zeros loses its sign, and where the product
        // overflows by far, the correction's product may overflow with the
        // opposite sign.
        let plain = grad.mul(q);
        let d = V::select(d.lt(zero), d, V::select(d.gt(zero), d, plain));
        // `plain - plain <= 0` is false only for an infinite or NaN `plain`.
        let d = V::select(plain.sub(plain).le(zero), d, plain);
        V::select(y.le(zero), d, grad)
    }
}

/// From the input: `x <= 0 ? grad * ((lambda * alpha) * exp(x)) : grad * lambda`.
#[derive(Clone, Copy)]
pub(crate) struct SeluGradInput;

impl BinaryOp for SeluGradInput {
    const UNROLL: usize = UNROLL;
    #[inline(always)]
    fn apply<V: F32Vector>(self, x: V, grad: V) -> V {
        let cpu = x.cpu();
        let z = x.max(cpu.splat(EXP_MIN));
        let d = exp_scaled_rr2_p7(z, None, grad.mul(cpu.splat(SELU_LAMBDA_ALPHA_F32)));
        V::select(x.le(cpu.zero()), d, grad.mul(cpu.splat(SELU_LAMBDA_F32)))
    }
}

/// From the output: `y <= 0 ? grad * (y + lambda * alpha) : grad * lambda`.
#[derive(Clone, Copy)]
pub(crate) struct SeluGradOutput;

impl BinaryOp for SeluGradOutput {
    const UNROLL: usize = 2;
    #[inline(always)]
    fn apply<V: F32Vector>(self, y: V, grad: V) -> V {
        let cpu = y.cpu();
        let d = y.add(cpu.splat(SELU_LAMBDA_ALPHA_F32));
        V::select(
            y.le(cpu.zero()),
            grad.mul(d),
            grad.mul(cpu.splat(SELU_LAMBDA_F32)),
        )
    }
}
