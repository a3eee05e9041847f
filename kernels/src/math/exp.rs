//! `expm1` and `exp` for f32 lanes: one-step Cody-Waite range reduction with a
//! split ln2 (two FMAs: "rr2"), a degree-7 polynomial for `expm1` on
//! `[-ln2/2, ln2/2]` ("p7"), and reconstruction through the exponent bits.
//!
//! Both reduce `x = n*ln2 + t`, `n = round(x / ln2)`, `|t| <= ln2/2 (+ a
//! rounding)`, and evaluate `q(t) ~ (expm1(t) - t) / t^2` (degree 5,
//! Estrin), so `expm1(t) = t + t^2 q(t)` keeps full relative precision near 0
//! (never `exp(t) - 1`, which loses every digit there).
//!
//! `n` is rounded with the "magic bias" trick: `x * log2(e) + 1.5 * 2^23`
//! rounds to an integer in the low significand bits (ties to even), and
//! shifting those bits left by 23 places `n + bias` in the exponent field,
//! which is `2^n` without any float-to-int conversion.
//!
//! Both take arguments already clamped to their range by the caller, which
//! clamps only the side its arguments can reach (an ELU never passes a
//! positive argument on): lanes outside the range, NaN included, produce
//! garbage, never a fault, and the activations select another branch there.
//! The kernels are bound by the FP multiply/FMA pipes, so every operation
//! saved there counts: an ELU vector costs 11 of them and about 10 more on
//! the add pipes and elsewhere (on Zen 4 a compare into an AVX-512 mask
//! register also takes the multiply pipes, while `vscalefps`, min/max, adds
//! and integer operations do not). A table-based variant
//! (16 entries of 2^(k/16), degree 4) was measured against this one and lost
//! on AVX2, and missed the 1-ULP bound as built: `docs/expm1-table-experiment.md`.

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

/// `(t, n)` with `z + dz = n*ln2 + t`, `n = round(z / ln2)`, for `z` in
/// `[-2^21, 2^21]`. `dz` is a small correction of the argument (`|dz| <=
/// 2^-12`, CELU's division remainder), added to the reduced argument where
/// it costs only a rounding relative to `|t| < 0.35`.
///
/// With [`Units`] other than `Units::ONE`, `ln2` is `alpha*ln2`: the reduced
/// argument is then `w = alpha * t`.
#[inline(always)]
fn reduce<V: F32Vector>(z: V, dz: Option<V>, units: &Units) -> (V, V) {
    let cpu = z.cpu();
    let magic = cpu.splat(MAGIC);
    let n = z.mul_add(cpu.splat(units.inv_ln2), magic).sub(magic);
    let t = n.mul_add(cpu.splat(-units.ln2_hi), z);
    let t = n.mul_add(cpu.splat(-units.ln2_lo), t);
    (dz.map_or(t, |d| t.add(d)), n)
}

/// `q(t) ~ (expm1(t) - t) / t^2`, evaluated in Estrin's scheme: three
/// independent FMAs, then two on `t^2`, so the chain is three FMAs deep
/// instead of Horner's five (the kernels are latency-bound: the FP scheduler
/// fills with waiting operations before it runs out of work).
#[inline(always)]
fn poly<V: F32Vector>(t: V) -> (V, V) {
    poly_with(t, &Units::ONE.q)
}

/// [`poly`] with the coefficients `q = [c2, .., c7]`.
#[inline(always)]
fn poly_with<V: F32Vector>(t: V, q: &[f32; 6]) -> (V, V) {
    let cpu = t.cpu();
    let t2 = t.mul(t);
    let a = cpu.splat(q[1]).mul_add(t, cpu.splat(q[0]));
    let b = cpu.splat(q[3]).mul_add(t, cpu.splat(q[2]));
    let c = cpu.splat(q[5]).mul_add(t, cpu.splat(q[4]));
    (t2, c.mul_add(t2, b).mul_add(t2, a))
}

/// The constants of `expm1`'s reduction and polynomial with the argument
/// measured in units of `alpha`: `alpha * expm1(x / alpha)` without the
/// division (CELU).
///
/// With `w = x - n * alpha*ln2 = alpha * t`, `alpha * expm1(t) = alpha*(t +
/// t^2 q(t)) = w + w^2 q_alpha(w)`, where `q_alpha(w) = q(w / alpha) /
/// alpha` has the coefficients `c_k / alpha^(k-1)`. `alpha*ln2` is split as
/// ln2 is (`ln2_hi` with its 12 low significand bits clear, so `n * ln2_hi`
/// is exact and `x - n * ln2_hi` is too, by Sterbenz's lemma), and `n` is
/// rounded from `x * (1 / (alpha*ln2))`: within an ULP of the nearest
/// integer to `x / (alpha*ln2)`, which widens `|t| <= ln2/2` by as little.
/// Every coefficient is rounded once from its exact value (a relative
/// 2^-24 in a term below a sixth of the result), so the evaluation is
/// `expm1`'s, scaled by `alpha`, with the same error.
#[derive(Clone, Copy)]
pub(crate) struct Units {
    /// `1 / alpha`.
    inv: f32,
    /// `1 / (alpha*ln2)`.
    inv_ln2: f32,
    ln2_hi: f32,
    ln2_lo: f32,
    /// `c_2 / alpha, .., c_7 / alpha^6`.
    q: [f32; 6],
}

impl Units {
    /// `alpha = 1`: plain `expm1`.
    const ONE: Units = Units {
        inv: 1.0,
        inv_ln2: LOG2E,
        ln2_hi: LN2_HI,
        ln2_lo: LN2_LO,
        q: [C2, C3, C4, C5, C6, C7],
    };

    /// The constants for `alpha` in `[2^-16, 2^16]`, where none of them
    /// overflows or underflows and every product the evaluation forms stays
    /// normal; `None` outside.
    pub(crate) fn new(alpha: f32) -> Option<Units> {
        if !(2f32.powi(-16)..=2f32.powi(16)).contains(&alpha) {
            return None;
        }
        let a = f64::from(alpha);
        let ln2 = core::f64::consts::LN_2;
        let ln2_a = a * ln2;
        let hi = f32::from_bits((ln2_a as f32).to_bits() & !0xfff);
        let mut q = Units::ONE.q;
        let mut power = 1.0;
        for c in &mut q {
            power *= a;
            *c = (f64::from(*c) / power) as f32;
        }
        Some(Units {
            inv: (1.0 / a) as f32,
            inv_ln2: (1.0 / ln2_a) as f32,
            ln2_hi: hi,
            ln2_lo: (ln2_a - f64::from(hi)) as f32,
            q,
        })
    }
}

/// `expm1(z) = s*t_hi + s*r - (1 - s)` for the reduction `z = n*ln2 + t`,
/// `s = 2^n`: `s*t_hi` and `1 - s` are exact (for `-24 <= n <= 24`), and
/// `s*r`, the small rest (`r = t_lo + t^2 q(t)`, rounded once), is below a
/// sixth of `s*t_hi`. Callers scale and add the three with one rounding of the
/// leading terms ([`Expm1::scaled`]).
#[derive(Clone, Copy)]
pub(crate) struct Expm1<V: F32Vector> {
    s: V,
    one_minus_s: V,
    t_hi: V,
    r: V,
}

impl<V: F32Vector> Expm1<V> {
    /// `a * expm1(z)`, for `a * 2^n` a normal float wherever a lane's result
    /// is kept (true of every use: `|a| >= 2^-64` with `n >= -25`, and the
    /// CELU cuts bound `a * 2^n` from above).
    ///
    /// `a*s*t_hi + a*s*r` is rounded once (`a*s` is exact: `s` is a power of
    /// two, and `a*s` is formed by adding `n` to the exponent of `a`, an
    /// integer operation that spares the multiply pipes), and then its sum
    /// with `-a * (1 - s)`:
    /// where `n = 0` the latter is zero and the result is rounded once; where
    /// `n != 0`, the first sum is below 0.72 of the result. (Both steps are
    /// fused multiply-adds, or exact products and one rounding where the tier
    /// has no FMA.)
    ///
    /// Signs of zero: where `n = 0`, `1 - s` is `+0`, so `-a * (1 - s)` has the
    /// sign of `-a`, which is the sign of `a * expm1(z)` for `z < 0`: a result
    /// that underflows keeps its sign.
    #[inline(always)]
    pub(crate) fn scaled(self, a: f32) -> V {
        let cpu = self.s.cpu();
        let a_bits_less_one = f32::from_bits(a.to_bits().wrapping_sub(1f32.to_bits()));
        let a_s = self.s.add_bits(cpu.splat(a_bits_less_one));
        let inner = mul_add_accurate(a_s, self.t_hi, a_s.mul(self.r));
        mul_add_accurate(cpu.splat(-a), self.one_minus_s, inner)
    }

    /// `alpha * expm1(x / alpha)` from [`expm1_in_units`]'s terms, which are
    /// already `alpha` times [`Expm1::unscaled`]'s: `s * (t_hi + r)`, exact
    /// but for the sum's rounding as there, and `-alpha * (1 - s)` added
    /// with one rounding (a fused multiply-add, or Dekker's product and one
    /// rounding where the tier has no FMA).
    #[inline(always)]
    pub(crate) fn in_units(self, alpha: f32) -> V {
        let cpu = self.s.cpu();
        let u = self.t_hi.add(self.r);
        mul_add_accurate(cpu.splat(-alpha), self.one_minus_s, self.s.mul(u))
    }

    /// `expm1(z)` itself: [`Expm1::scaled`] with `a = 1`, the same bits in
    /// one multiply instead of a multiply and an FMA (the multiply/FMA pipes
    /// bound the kernels).
    ///
    /// `s*t_hi + s*r` rounded once is `s * (t_hi + r)` rounded once: scaling
    /// by a power of two commutes with rounding while the result stays
    /// normal, which it does (`|t_hi + r|` is above 2^-66 wherever `n != 0`,
    /// and `n = 0` scales by 1). So the sum `u = t_hi + r` is taken first, on
    /// the add pipes, and `s * u` is exact: `s * u - (1 - s)` is then rounded
    /// once, on every tier, fused or not. (Forming `s * u` in the exponent
    /// bits instead, an integer add, spares the multiply but was slower: the
    /// chain is long enough that its latency, and the bypass between the
    /// integer and FP domains, count.)
    #[inline(always)]
    pub(crate) fn unscaled(self) -> V {
        let u = self.t_hi.add(self.r);
        self.s.mul(u).sub(self.one_minus_s)
    }
}

/// Below this, `expm1` is -1 in f32 (`e^z < 2^-25` already at -17.33); inputs
/// are clamped here (n = -25), where the formula yields -1 after the caller's
/// rounding.
pub(crate) const EXPM1_MIN: f32 = -17.5;

/// `expm1(z + dz)` per lane as an [`Expm1`], for `z` in `[EXPM1_MIN, 88]`
/// (lanes outside give garbage), `dz` a small correction as for [`reduce`].
///
/// The reduced argument is kept as `t_hi + t_lo`: `t_hi = z - n*LN2_HI` is
/// exact (Sterbenz), and `t_lo = dz - n*LN2_LO` is below 2^-5 for every `n`
/// the activations use, so its own rounding costs below 2^-29 of the result.
/// The rounded sum `t` feeds only the polynomial term `t^2 q(t)`, so the
/// reduction's rounding error enters at a third of its size (the old
/// reduction's error cost up to 0.35 ULP). `s*t_hi` is exact (`s` is a power of
/// two) and `s*r` is rounded once, with `r` below a sixth of `t_hi` where `n`
/// is 0 (then `expm1` of a tiny or subnormal `z` is `z`, exactly, with no
/// special path).
#[inline(always)]
pub(crate) fn expm1_rr2_p7<V: F32Vector>(z: V, dz: Option<V>) -> Expm1<V> {
    expm1_in_units(z, dz, &Units::ONE)
}

/// [`expm1_rr2_p7`] with the argument in units of `alpha` ([`Units`]):
/// for `x` in `[EXPM1_MIN * alpha, 0]`, the terms of `alpha * expm1(x /
/// alpha)`, which [`Expm1::in_units`] sums.
#[inline(always)]
pub(crate) fn expm1_in_units<V: F32Vector>(z: V, dz: Option<V>, units: &Units) -> Expm1<V> {
    let cpu = z.cpu();
    let magic = cpu.splat(MAGIC + 127.0);
    let nb = z.mul_add(cpu.splat(units.inv_ln2), magic);
    let n = nb.sub(magic);
    let s = nb.shl_bits::<23>();
    let t_hi = n.mul_add(cpu.splat(-units.ln2_hi), z);
    let t_lo = match dz {
        Some(d) => n.mul_add(cpu.splat(-units.ln2_lo), d),
        None => n.mul(cpu.splat(-units.ln2_lo)),
    };
    let t = t_hi.add(t_lo);
    let (t2, q) = poly_with(t, &units.q);
    Expm1 {
        s,
        one_minus_s: cpu.splat(1.0).sub(s),
        t_hi,
        r: q.mul_add(t2, t_lo),
    }
}

/// The lowest argument of [`exp_scaled_rr2_p7`]: `n >= -251`, where both
/// factors of `2^n` are normal. Below -103.97 `exp` alone underflows; the
/// margin keeps `m * exp(x)` right for multipliers up to e^70.
pub(crate) const EXP_MIN: f32 = -174.0;
/// The highest argument of [`exp_scaled_rr2_p7`]: `n <= 254`. Above 88.72
/// `exp` alone overflows; the margin keeps `m * exp(x)` right for
/// multipliers down to e^-87 (f32::MIN_POSITIVE).
pub(crate) const EXP_MAX: f32 = 176.0;

/// `m * exp(z + dz)` per lane (see [`reduce`] for `dz`), including subnormal
/// results, for `z` in `[EXP_MIN, EXP_MAX]`: the callers clamp (only the
/// side their arguments can reach) and discard other lanes.
///
/// `m * e^t = m + m*(t + t^2 q(t))` is one FMA, rounded once, then scaled
/// by `2^n` ([`F32Vector::times_one_plus_pow2`]), for every `n` in [-251, 254], with one
/// more rounding, into the subnormal range when the result is subnormal
/// (scaling by `m` first keeps a gradient's digits where `exp(z)` alone
/// would be subnormal or overflow).
#[inline(always)]
pub(crate) fn exp_scaled_rr2_p7<V: F32Vector>(z: V, dz: Option<V>, m: V) -> V {
    let (t, n) = reduce(z, dz, &Units::ONE);
    exp_scaled_tail(t, n, m)
}

/// [`exp_scaled_rr2_p7`] with the argument in units of `alpha`
/// ([`Units`]): `m * exp(z / alpha)` for `z / alpha` in `[EXP_MIN, 0]`, no
/// division. `w = z - n * alpha*ln2` is reduced as `t` is there (its first
/// step exact), and `t = w * (1 / alpha)` adds a rounding of its own and
/// the reciprocal's: about a ULP of `t`, which reaches the result at
/// `|t| <= 0.35` of its size.
#[inline(always)]
pub(crate) fn exp_scaled_in_units<V: F32Vector>(z: V, units: &Units, m: V) -> V {
    let cpu = z.cpu();
    let (w, n) = reduce(z, None, units);
    exp_scaled_tail(w.mul(cpu.splat(units.inv)), n, m)
}

/// `m * e^t * 2^n`, the common end of the two.
#[inline(always)]
fn exp_scaled_tail<V: F32Vector>(t: V, n: V, m: V) -> V {
    let (t2, q) = poly(t);
    // `m * e^t` has the sign of `m`, but `m + m*(e^t - 1)` is +0 for m = -0
    // where `e^t < 1`: the sign bit of `m` restores it (a no-op elsewhere).
    m.times_one_plus_pow2(q.mul_add(t2, t), n).or_sign(m)
}
