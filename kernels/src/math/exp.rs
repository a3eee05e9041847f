//! `expm1` and `exp` for f32 lanes: one-step Cody-Waite range reduction with a
//! split ln2 (two FMAs: "rr2"), a degree-7 polynomial for `expm1` on
//! `[-ln2/2, ln2/2]` ("p7"), and reconstruction through the exponent bits.
//!
//! Both reduce `x = n*ln2 + t`, `n = round(x / ln2)`, `|t| <= ln2/2 (+ a
//! rounding)`, and evaluate `q(t) ~ (expm1(t) - t) / t^2` (degree 5, Horner),
//! so `expm1(t) = t + t^2 q(t)` keeps full relative precision near 0 (never
//! `exp(t) - 1`, which loses every digit there).
//!
//! `n` is rounded with the "magic bias" trick: `x * log2(e) + 1.5 * 2^23`
//! rounds to an integer in the low significand bits (ties to even), and
//! shifting those bits left by 23 places `n + bias` in the exponent field,
//! which is `2^n` without any float-to-int conversion.
//!
//! Neither handles NaN lanes (the activations select another branch for
//! NaN); every other input, including ±inf and ±0, is in range.

use super::mul_add_accurate;
use crate::vector::F32Vector;

/// `f32(1 / ln 2)`.
const LOG2E: f32 = f32::from_bits(0x3fb8_aa3b); // 0x1.715476p+0
/// ln2 with its 12 low significand bits cleared: `n * LN2_HI` is exact for
/// every `|n| < 2^12`.
const LN2_HI: f32 = f32::from_bits(0x3f31_7000); // 0x1.62e000p-1
/// `f32(ln2 - LN2_HI)`.
const LN2_LO: f32 = f32::from_bits(0x3805_fdf4); // 0x1.0bfbe8p-15
/// 1.5 * 2^23: added to a value of magnitude < 2^22, rounds it to an integer
/// held in the low significand bits.
const MAGIC: f32 = 12_582_912.0;

/// Coefficients of `q(t) ~ (expm1(t) - t) / t^2` on `[-ln2/2, ln2/2]`, degree 5
/// (`derive_constants.py`: Chebyshev fit, rounded to f32; relative error of
/// `t + t^2 q(t)` 0.028 x 2^-24 before evaluation rounding).
const C2: f32 = 0.5;
const C3: f32 = f32::from_bits(0x3e2a_aaab); // 0x1.555556p-3
const C4: f32 = f32::from_bits(0x3d2a_aa75); // 0x1.5554eap-5
const C5: f32 = f32::from_bits(0x3c08_8870); // 0x1.1110e0p-7
const C6: f32 = f32::from_bits(0x3ab6_a18b); // 0x1.6d4316p-10
const C7: f32 = f32::from_bits(0x3950_9272); // 0x1.a124e4p-13

/// `(t, n)` with `z + dz = n*ln2 + t`, and `nb`, the float whose low
/// significand bits hold `n + bias` (for `shl_bits::<23>`), for `z` in
/// `[-2^21, 2^21]`. `dz` is a small correction of the argument (`|dz| <=
/// 2^-16`, CELU's division remainder), added to the reduced argument where
/// it costs only a rounding relative to `|t| < 0.35`.
#[inline(always)]
fn reduce<V: F32Vector>(z: V, dz: Option<V>, bias: f32) -> (V, V, V) {
    let magic = V::splat(MAGIC + bias);
    let nb = z.mul_add(V::splat(LOG2E), magic);
    let n = nb.sub(magic);
    let t = n.mul_add(V::splat(-LN2_HI), z);
    let t = n.mul_add(V::splat(-LN2_LO), t);
    (dz.map_or(t, |d| t.add(d)), n, nb)
}

/// `q(t) ~ (expm1(t) - t) / t^2`, evaluated in Estrin's scheme: three
/// independent FMAs, then two on `t^2`, so the chain is three FMAs deep
/// instead of Horner's five (the kernels are latency-bound: the FP scheduler
/// fills with waiting operations before it runs out of work).
#[inline(always)]
fn poly<V: F32Vector>(t: V) -> V {
    let t2 = t.mul(t);
    let a = V::splat(C3).mul_add(t, V::splat(C2));
    let b = V::splat(C5).mul_add(t, V::splat(C4));
    let c = V::splat(C7).mul_add(t, V::splat(C6));
    c.mul_add(t2, b).mul_add(t2, a)
}

/// 2^-50: `expm1(x)` rounds to `x` for `|x| < 2^-25`.
const TINY_SQUARED: f32 = f32::from_bits((127 - 50) << 23);

/// `expm1(x)` as an unevaluated sum, `expm1(x) = 4 * (hi + lo)` with `hi` the
/// leading part and `lo` a correction below a tenth of it, so that a caller can
/// scale it and round only once ([`Expm1::scaled`]); `tiny` marks the lanes
/// with `|x| < 2^-25`, where `expm1(x)` rounds to `x` itself.
#[derive(Clone, Copy)]
pub(crate) struct Expm1<V: F32Vector> {
    pub(crate) hi: V,
    pub(crate) lo: V,
    pub(crate) tiny: V::Mask,
}

impl<V: F32Vector> Expm1<V> {
    /// `a * expm1(x)` with a single final rounding: `fma(4a, hi, 4a*lo)`, or
    /// `a * x` on tiny lanes (which keeps `-0` and subnormals exact).
    #[inline(always)]
    pub(crate) fn scaled(self, x: V, a: V) -> V {
        self.scaled_plus(x, a, V::splat(-0.0))
    }

    /// `a * expm1(x) + extra` (a small correction) rounded once, or `a * x`
    /// on tiny lanes.
    #[inline(always)]
    pub(crate) fn scaled_plus(self, x: V, a: V, extra: V) -> V {
        let a4 = a.mul(V::splat(4.0));
        let sum = mul_add_accurate(a4, self.hi, a4.mul_add(self.lo, extra));
        V::select(self.tiny, x.mul(a), sum)
    }

    /// `e^x = 1 + expm1(x)`, rounded: for first-order corrections. (`hi`
    /// alone is not enough: `lo` holds up to a tenth of the value.)
    #[inline(always)]
    pub(crate) fn exp(self) -> V {
        self.hi.add(self.lo).mul_add(V::splat(4.0), V::splat(1.0))
    }
}

/// Below this, `expm1` is -1 in f32 (`e^x < 2^-25` already at -17.33); inputs
/// are clamped here, where the formula yields -1 after the caller's rounding.
const EXPM1_MIN: f32 = -17.5;
/// Above ln(2^128) = 88.72 `expm1` overflows; inputs are clamped here
/// (n = 128), where `hi` is still finite and the caller's scaling overflows.
const EXPM1_MAX: f32 = 88.8;

/// `expm1(x + dx) = e^(x + dx) - 1` per lane (see [`reduce`] for `dx`), as an
/// [`Expm1`] sum.
///
/// Reconstruction, with `h = 2^(n-2)` (so that `n = 128` keeps `hi` finite):
/// `expm1(x) / 4 = (h - 1/4) + h*t + h*t^2*q(t)`. `h*t` is exact and so is
/// `h - 1/4` for `n >= -24` (at `n = -25`, only reached below -17.33, it is
/// off by 2^-27, which the caller's rounding to -1 absorbs). The first sum is
/// error-free (Fast2Sum, `|h - 1/4| >= |h*t|` whenever `h != 1/4`, and `h -
/// 1/4 = 0` when `h = 1/4`): `hi + e = (h - 1/4) + h*t`, computed alongside
/// the polynomial. The small term `h*t^2*q` (below a sixteenth of the result)
/// and the correction for the reduced argument's own rounding join `e` in
/// `lo`, so before the caller's single rounding only they carry rounding
/// errors, each at most 2^-24 relative to them.
#[inline(always)]
pub(crate) fn expm1_rr2_p7<V: F32Vector>(x: V, dx: Option<V>) -> Expm1<V> {
    let z = x.max(V::splat(EXPM1_MIN)).min(V::splat(EXPM1_MAX));
    // Bias 125, not 127: the exponent field becomes n - 2.
    let magic = V::splat(MAGIC + 125.0);
    let nb = z.mul_add(V::splat(LOG2E), magic);
    let n = nb.sub(magic);
    // t + te = z - n*ln2 (+ dx), keeping the rounding error te of the reduced
    // argument: where e^t dominates the result (large n) that error would
    // otherwise cost up to half an ULP. (t_hi is exact: Sterbenz.)
    let t_hi = n.mul_add(V::splat(-LN2_HI), z);
    let t_lo = n.mul(V::splat(-LN2_LO));
    let t_lo = dx.map_or(t_lo, |d| t_lo.add(d));
    let t = t_hi.add(t_lo);
    let te = t_hi.sub(t).add(t_lo);
    let h = nb.shl_bits::<23>();
    let ht = t.mul(h);
    let c = h.sub(V::splat(0.25));
    let hi = c.add(ht);
    let e = c.sub(hi).add(ht);
    let small = poly(t).mul(t.mul(ht));
    // h * te * e^t, to first order in t (te is below 2^-25).
    let teh = te.mul(h);
    let lo = e.add(small).add(teh.mul_add(t, teh));
    // x*x < 2^-50 exactly when |x| < 2^-25 (false for NaN).
    let tiny = x.mul(x).lt(V::splat(TINY_SQUARED));
    Expm1 { hi, lo, tiny }
}

/// `exp` inputs are clamped to [EXP_MIN, EXP_MAX]: n in [-251, 254], where
/// both factors of `2^n` are normal. Below -103.97 `exp` alone underflows;
/// the margin keeps `m * exp(x)` right for multipliers up to e^70.
const EXP_MIN: f32 = -174.0;
/// Above 88.72 `exp` alone overflows; the margin keeps `m * exp(x)` right for
/// multipliers down to e^-87 (f32::MIN_POSITIVE).
const EXP_MAX: f32 = 176.0;

/// `m * exp(x + dx)` per lane (see [`reduce`] for `dx`), including subnormal
/// results.
///
/// `m * e^t = m + m*(t + t*p(t))` is one FMA, rounded once,
/// then `2^n` is applied as two factors `2^n1 * 2^(n-n1)`, `n1 = round(n/2)`,
/// each a normal float for every `n` in [-251, 254], so the only rounding
/// after `m * e^t` is the last multiply's, into the subnormal range when the
/// result is subnormal (scaling by `m` first keeps a gradient's digits where
/// `exp(x)` alone would be subnormal or overflow).
#[inline(always)]
pub(crate) fn exp_scaled_rr2_p7<V: F32Vector>(x: V, dx: Option<V>, m: V) -> V {
    let z = x.max(V::splat(EXP_MIN)).min(V::splat(EXP_MAX));
    let (t, n, _) = reduce(z, dx, 0.0);
    let met = mul_add_accurate(m, poly(t).mul(t.mul(t)).add(t), m);
    let biased = V::splat(MAGIC + 127.0);
    let n1b = n.mul_add(V::splat(0.5), biased);
    let n1 = n1b.sub(biased);
    let s1 = n1b.shl_bits::<23>();
    let s2 = n.sub(n1).add(biased).shl_bits::<23>();
    met.mul(s1).mul(s2)
}
