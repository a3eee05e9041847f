//! Vector math written once over [`F32Vector`] and
//! shared by every vector tier: the exponentials behind ELU, CELU and SELU.
//!
//! `derive_constants.py` beside this file derives every constant (run it with
//! mpmath installed); the accuracy these functions reach over all 2^32
//! inputs is measured by `cargo run --release --example accuracy`.

mod exp;

pub(crate) use exp::{
    exp_scaled_in_units, exp_scaled_rr2_p7, expm1_in_units, expm1_rr2_p7, Units, EXPM1_MIN,
    EXP_MAX, EXP_MIN,
};

use crate::vector::F32Vector;

/// `a * b + c` rounded once (to within a fraction of an ULP on tiers without
/// a fused multiply-add): `mul_add` where it is fused, otherwise Dekker's
/// exact product and Knuth's exact sum, rounded at the end (falling back to
/// the plain `a * b + c` where the splits overflow, beyond 2^115, and where
/// the product is below 2^-74 and its error term would underflow; there,
/// with `c` zero, the rounded product itself, as the fused operation gives).
/// Where the product is tiny and `c` is not zero, the sum is rounded twice
/// and a result that rounds to zero may have either sign; where the product
/// overflows and `c` brings the sum back into range, the result is
/// infinite or NaN. Neither happens for this crate's callers: their `c` is
/// zero or far larger than a tiny product, and their products stay in
/// range.
#[inline(always)]
pub(crate) fn mul_add_accurate<V: F32Vector>(a: V, b: V, c: V) -> V {
    let cpu = a.cpu();
    if V::FUSED_MUL_ADD {
        return a.mul_add(b, c);
    }
    let zero = cpu.zero();
    let (p, e) = two_product(a, b);
    let (s, es) = two_sum(p, c);
    let r = s.add(es.add(e));
    let plain = a.mul_add(b, c);
    // A zero `c` leaves the rounded product, whose sign is the exact
    // product's even where it underflows to zero: `p + c` would give +0 for
    // `p = -0` and `c = +0`, where the fused result is -0. Only an exactly
    // zero product (a zero factor) takes the sum's rule for zeros.
    let exact_zero = V::mask_or(a.eq(zero), b.eq(zero));
    let tiny = V::select(c.eq(zero), V::select(exact_zero, plain, p), plain);
    // The product's error term `e` is exact only if it does not underflow:
    // `p*p > 0` holds for `|p| >= 2^-74.5`, far enough. Below, `a*b + c`
    // (with a nonzero `c`) is tiny and rounded twice, like the result of any
    // non-fused tier.
    let r = V::select(p.mul(p).gt(zero), r, tiny);
    // `r <= r` is false only for NaN.
    V::select(r.le(r), r, plain)
}

/// `a * b = p + e` exactly (Dekker, with Veltkamp's splits; no FMA needed).
/// Exact unless `a` or `b` is beyond 2^115 (the split overflows).
#[inline(always)]
pub(crate) fn two_product<V: F32Vector>(a: V, b: V) -> (V, V) {
    two_product_split(a, b, split(a), split(b))
}

/// Veltkamp's split `v = hi + lo`, `hi` with 12 significant bits (exact
/// unless `v` is beyond 2^115).
#[inline(always)]
pub(crate) fn split<V: F32Vector>(v: V) -> (V, V) {
    let cpu = v.cpu();
    let c = v.mul(cpu.splat(4097.0));
    let hi = c.sub(c.sub(v));
    (hi, v.sub(hi))
}

/// Veltkamp's split of a constant, `b = hi + lo` with `hi` of 12 significant
/// bits, for every finite `b`: scaled down by 2^32 around the split where
/// `4097 * b` would overflow (scaling by a power of two is exact there).
pub(crate) fn split_constant(b: f32) -> (f32, f32) {
    let scale = if b.abs() > 2f32.powi(100) {
        2f32.powi(-32)
    } else {
        1.0
    };
    let v = b * scale;
    let c = v * 4097.0;
    let hi = c - (c - v);
    (hi / scale, (v - hi) / scale)
}

/// `a * b = p + e` exactly, with the splits of both factors given (see
/// [`split_constant`] for a constant factor).
#[inline(always)]
pub(crate) fn two_product_split<V: F32Vector>(
    a: V,
    b: V,
    (ah, al): (V, V),
    (bh, bl): (V, V),
) -> (V, V) {
    let p = a.mul(b);
    let e = ah
        .mul(bh)
        .sub(p)
        .add(ah.mul(bl))
        .add(al.mul(bh))
        .add(al.mul(bl));
    (p, e)
}

/// `a + b = s + e` exactly (Knuth's TwoSum, any magnitudes).
#[inline(always)]
pub(crate) fn two_sum<V: F32Vector>(a: V, b: V) -> (V, V) {
    let s = a.add(b);
    let bb = s.sub(a);
    let e = a.sub(s.sub(bb)).add(b.sub(bb));
    (s, e)
}
