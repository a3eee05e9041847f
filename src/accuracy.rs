//! Measuring accuracy: the f64 oracle of every activation and the error of
//! an f32 result in ULP, as the accuracy sweep (`examples/accuracy.rs`) and
//! the tests use them.
//!
//! Error in ULP is `|result - exact| / ulp(exact)`, where `exact` is the
//! formula evaluated in f64 from the f32 inputs (and parameters), and
//! `ulp(exact)` is the spacing of f32 values at `exact`'s magnitude
//! (`2^-149` in the subnormal range). A correctly rounded result has an error
//! of at most 0.5.
//!
//! SELU is evaluated with the f32 constants every tier uses
//! ([`crate::reference::SELU_LAMBDA_F32`], [`crate::reference::SELU_LAMBDA_ALPHA_F32`]):
//! the gradient from the output, `y + lambda*alpha`, cancels near saturation,
//! where only the constant that the forward pass used gives the right zero.
//!
//! ```
//! use rectify::accuracy::{exact_forward, ulp_error};
//! use rectify::Activation;
//!
//! let x = -0.5f32;
//! let exact = exact_forward(Activation::Elu { alpha: 1.0 }, x);
//! assert!((exact - (-0.5f64).exp_m1()).abs() < 1e-16);
//! assert!(ulp_error(x.exp_m1(), exact) <= 1.0);
//! assert_eq!(ulp_error(1.0, 1.0), 0.0);
//! assert_eq!(ulp_error(1.0 + f32::EPSILON, 1.0), 1.0);
//! ```

use crate::activation::source;
use crate::Activation;

/// The spacing of f32 values at the magnitude of `exact` (`2^-149` below
/// `f32::MIN_POSITIVE`, `2^104` at the top of the range).
pub fn ulp_of(exact: f64) -> f64 {
    let m = exact.abs();
    if m < f32::MIN_POSITIVE as f64 {
        return f64::from_bits((1023u64 - 149) << 52);
    }
    let e = (((m.to_bits() >> 52) & 0x7ff) as i64 - 1023).min(127);
    f64::from_bits(((1023 + e - 23) as u64) << 52)
}

/// `|result - exact| / ulp(exact)`, with these rules for special values: a NaN
/// result is exact only for a NaN `exact`; an infinite result is exact when
/// `exact` rounds to the same infinity, infinitely wrong otherwise; a zero
/// result must have the sign of `exact` (of a nonzero `exact` that rounds to
/// zero too, as correct rounding gives): a zero of the other sign is
/// infinitely wrong, however close.
///
/// ```
/// use rectify::accuracy::ulp_error;
/// assert_eq!(ulp_error(-0.0, -0.0), 0.0);
/// assert_eq!(ulp_error(0.0, -0.0), f64::INFINITY);
/// // -7e-46 rounds to -0: +0 has the wrong sign.
/// assert_eq!(ulp_error(-0.0, -7e-46), 7e-46 / 2f64.powi(-149));
/// assert_eq!(ulp_error(0.0, -7e-46), f64::INFINITY);
/// ```
pub fn ulp_error(result: f32, exact: f64) -> f64 {
    if exact.is_nan() || result.is_nan() {
        return if exact.is_nan() && result.is_nan() {
            0.0
        } else {
            f64::INFINITY
        };
    }
    if result.is_infinite() || (exact as f32).is_infinite() {
        return if result == exact as f32 {
            0.0
        } else {
            f64::INFINITY
        };
    }
    if result == 0.0 && result.is_sign_negative() != exact.is_sign_negative() {
        return f64::INFINITY;
    }
    (result as f64 - exact).abs() / ulp_of(exact)
}

/// The forward pass in f64 from the f32 input and parameters: the oracle of
/// the activation's registry entry.
///
/// Signs of zero are part of the value: ReLU keeps `-0` (and NaN), its
/// branch decided on the sign bit, so no optimisation can fold it into a
/// `max` whose result for equal zeros is unspecified.
///
/// ```
/// use rectify::accuracy::exact_forward;
/// use rectify::Activation;
/// assert!(exact_forward(Activation::Relu, -0.0).is_sign_negative());
/// assert!(exact_forward(Activation::Relu, -1.0).is_sign_positive());
/// assert!(exact_forward(Activation::Relu, f32::NAN).is_nan());
/// ```
pub fn exact_forward(act: Activation, x: f32) -> f64 {
    act.op().exact(x)
}

/// The gradient `grad * f'(v)` in f64, from the saved input (`from_output ==
/// false`, `v = x`) or output (`v = y`), with the contract's formulas.
pub fn exact_backward(act: Activation, from_output: bool, v: f32, grad: f32) -> f64 {
    act.op().exact_grad(source(from_output), v, grad)
}

/// The documented bound, in ULP, of a tier's forward result for `act`
/// against [`exact_forward`]: 0.5 (correctly rounded, the one rounding of the
/// formula's product) for the ReLU family, whose tiers are also bit-identical
/// to the reference; 1.0 where the kernel is `expm1` itself (ELU and CELU
/// with alpha = 1); 1.5 for the scaled exponential forms.
pub fn forward_bound(act: Activation) -> f64 {
    act.op().forward_bound()
}

/// The documented bound, in ULP, of a tier's gradient for `act` against
/// [`exact_backward`]: 0.5 for the ReLU family, 2 for the exponential ones.
pub fn backward_bound(act: Activation) -> f64 {
    act.op().backward_bound()
}

/// Whether [`backward_bound`] is guaranteed for the saved value `v` and the
/// incoming gradient `grad`: always for the ReLU family and for ELU and SELU
/// from the output. Otherwise where the intermediate the kernels form is in
/// range (results then stay within the bound of the exact product; outside,
/// they are whatever the arithmetic gives, never a fault):
///
/// - from the input of the exponential ops, the multiplier of `exp`,
///   `m = grad * c` (`c` = alpha for ELU, lambda * alpha for SELU, 1 for
///   CELU), has `|m| <= 2^100`; for CELU with alpha < 0 (where `exp`'s
///   argument is positive) also `|grad| >= 2^-120`. The kernels fold `m`
///   into `exp` before its `2^n` scaling, which keeps every digit where
///   `exp(x)` alone would underflow or overflow but the product does not,
///   and clamp `exp`'s argument to a range sized for these multipliers;
/// - CELU from the output: the derivative `(y + alpha) / alpha` is at most
///   `f32::MAX` in magnitude (it is formed before the product), and the
///   product with a finite grad is more than 2 ULP below the overflow
///   threshold (the two roundings can give `±f32::MAX` where the exact
///   result rounds to infinity).
///
/// Outside, an infinite gradient can give NaN where the exact product is
/// infinite, a zero one a zero where it is NaN (`0 * inf`), and a huge one a
/// wrong result where the exact one underflows. NaN gradients are inside.
///
/// ```
/// use rectify::accuracy::gradient_bound_applies;
/// use rectify::Activation;
///
/// let elu = Activation::Elu { alpha: 1.0 };
/// assert!(gradient_bound_applies(elu, false, -1.0, 1e20));
/// assert!(!gradient_bound_applies(elu, false, -1.0, 1e31));
/// assert!(gradient_bound_applies(elu, true, -0.5, f32::INFINITY));
/// let celu = Activation::Celu { alpha: 1e-40 };
/// assert!(!gradient_bound_applies(celu, true, -1.0, 1e-30));
/// ```
pub fn gradient_bound_applies(act: Activation, from_output: bool, v: f32, grad: f32) -> bool {
    act.op()
        .gradient_bound_applies(source(from_output), v, grad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulp_of_matches_f32_spacing() {
        for x in [
            1.0f32,
            1.5,
            3.0,
            1e-30,
            f32::MIN_POSITIVE,
            1e30,
            f32::MAX / 2.0,
            0.1,
        ] {
            let next = f32::from_bits(x.to_bits() + 1);
            assert_eq!(ulp_of(x as f64), (next - x) as f64, "{x:e}");
            assert_eq!(ulp_of(-(x as f64)), (next - x) as f64, "{x:e}");
        }
        assert_eq!(ulp_of(0.0), f32::from_bits(1) as f64);
        assert_eq!(ulp_of(1e-40), f32::from_bits(1) as f64);
    }

    /// Through `black_box`, so that the optimiser sees an unknown input, as
    /// in the sweeps; `cargo test --release` runs this at -O.
    #[test]
    fn exact_relu_keeps_the_sign_of_zero() {
        use std::hint::black_box;
        let relu = |x: f32| exact_forward(Activation::Relu, black_box(x)).to_bits();
        assert_eq!(relu(-0.0), (-0.0f64).to_bits());
        assert_eq!(relu(0.0), 0.0f64.to_bits());
        assert_eq!(relu(-1.0), 0.0f64.to_bits());
        assert_eq!(relu(f32::NEG_INFINITY), 0.0f64.to_bits());
        assert_eq!(relu(-f32::from_bits(1)), 0.0f64.to_bits());
        assert_eq!(relu(2.5), 2.5f64.to_bits());
        assert!(f64::from_bits(relu(-f32::NAN)).is_nan());
        let relu_f32 = |x: f32| crate::reference::relu(black_box(x)).to_bits();
        assert_eq!(relu_f32(-0.0), (-0.0f32).to_bits());
        assert_eq!(relu_f32(-1.0), 0);
    }

    #[test]
    fn ulp_error_special_values() {
        assert_eq!(ulp_error(f32::NAN, f64::NAN), 0.0);
        assert_eq!(ulp_error(1.0, f64::NAN), f64::INFINITY);
        assert_eq!(ulp_error(f32::NAN, 1.0), f64::INFINITY);
        assert_eq!(ulp_error(f32::INFINITY, 1e300), 0.0);
        assert_eq!(ulp_error(f32::MAX, 1e300), f64::INFINITY);
        assert_eq!(ulp_error(-0.0, 0.0), f64::INFINITY);
        assert_eq!(ulp_error(0.0, -0.0), f64::INFINITY);
        assert!(ulp_error(0.0, 1e-50) < 1e-5);
        assert_eq!(ulp_error(0.0, -1e-50), f64::INFINITY);
        assert_eq!(ulp_error(f32::from_bits(1), 0.0), 1.0);
        // Halfway between two floats: 0.5.
        assert_eq!(ulp_error(1.0, 1.0 + f32::EPSILON as f64 / 2.0), 0.5);
    }
}
