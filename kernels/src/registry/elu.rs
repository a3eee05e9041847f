//! The registry entries of ELU, CELU and SELU: the exponential family, whose
//! vector tiers meet ULP bounds against the f64 oracle (the FMA tiers bit
//! for bit alike) rather than matching the scalar reference.

use super::{finite, require, Entry, Refusal, Source};
use crate::ops::elu as op;
use crate::ops::{map_binary, map_unary};
use crate::reference::{self, SELU_LAMBDA_ALPHA_F32, SELU_LAMBDA_F32};
use crate::vector::F32Vector;

/// ELU.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Elu {
    pub(crate) alpha: f32,
}

/// CELU.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Celu {
    pub(crate) alpha: f32,
}

/// SELU.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Selu;

/// The smallest non-zero `|alpha|` ELU and CELU accept, 2^-64: `alpha *
/// 2^n` inside `expm1` must stay normal (n >= -25) to keep the bound, and a
/// tiny CELU alpha makes `x / alpha` overflow for nearly every x (subnormal
/// alphas have no digits). PyTorch's alphas are nowhere near.
const MIN_ALPHA: f32 = 5.421_011e-20;

/// `v <= 0 ? neg : pos` (NaN takes `pos`).
fn pick(v: f64, neg: f64, pos: f64) -> f64 {
    if v <= 0.0 {
        neg
    } else {
        pos
    }
}

/// The bound of a scaled `expm1`: 1 ULP where the kernel is `expm1` itself
/// (alpha = 1), 1.5 where its result is scaled.
fn expm1_bound(alpha: f32) -> f64 {
    if alpha == 1.0 {
        1.0
    } else {
        1.5
    }
}

/// Whether the exponential gradients' bound holds for the multiplier of
/// `exp`, `m = grad * c`: `|m| <= 2^100` (the kernels fold `m` into `exp`
/// before its `2^n` scaling, which keeps every digit where `exp(x)` alone
/// would underflow or overflow but the product does not, and clamp `exp`'s
/// argument to a range sized for these multipliers). NaN is inside.
fn multiplier_in_range(grad: f32, c: f32) -> bool {
    let m = f64::from(grad) * f64::from(c);
    m.is_nan() || m.abs() <= 2f64.powi(100)
}

impl Entry for Elu {
    const NAME: &'static str = "elu";
    const SAMPLES: &'static [Self] = &[Elu { alpha: 1.0 }, Elu { alpha: 0.3 }, Elu { alpha: -0.7 }];
    const MEASURED: &'static [Self] = &[Elu { alpha: 1.0 }];
    const BIT_EXACT: bool = false;

    fn check(self) -> Result<(), Refusal> {
        finite("alpha", self.alpha)?;
        let ok = self.alpha == 0.0 || self.alpha.abs() >= MIN_ALPHA;
        require(
            ok,
            "alpha",
            self.alpha,
            "it must be 0 or at least 2^-64 in magnitude",
        )
    }
    fn check_from_output(self) -> Result<(), Refusal> {
        let requirement = "it must be >= 0 so that y <= 0 exactly when x <= 0";
        require(self.alpha >= 0.0, "alpha", self.alpha, requirement)
    }
    fn reference(self, x: f32) -> f32 {
        reference::elu(x, self.alpha)
    }
    fn reference_grad(self, from: Source, v: f32, grad: f32) -> f32 {
        match from {
            Source::Input => reference::elu_grad_input(v, grad, self.alpha),
            Source::Output => reference::elu_grad_output(v, grad, self.alpha),
        }
    }
    fn exact(self, x: f32) -> f64 {
        let x = f64::from(x);
        pick(x, f64::from(self.alpha) * x.exp_m1(), x)
    }
    fn exact_grad(self, from: Source, v: f32, grad: f32) -> f64 {
        let (v, g, a) = (f64::from(v), f64::from(grad), f64::from(self.alpha));
        match from {
            Source::Input => pick(v, g * a * v.exp(), g),
            Source::Output => pick(v, g * (v + a), g),
        }
    }
    fn forward_bound(self) -> f64 {
        expm1_bound(self.alpha)
    }
    fn backward_bound(self) -> f64 {
        2.0
    }
    fn gradient_bound_applies(self, from: Source, _: f32, grad: f32) -> bool {
        from == Source::Output || multiplier_in_range(grad, self.alpha)
    }
    #[inline(always)]
    unsafe fn forward<V: F32Vector>(self, src: *const f32, dst: *mut f32, n: usize) {
        let alpha = self.alpha;
        // SAFETY: each call below forwards the caller's contract.
        unsafe {
            if alpha == 1.0 {
                map_unary::<V, _>(op::EluUnit, src, dst, n)
            } else if alpha > 0.0 {
                map_unary::<V, _>(op::Elu::<true>::new(alpha), src, dst, n)
            } else {
                map_unary::<V, _>(op::Elu::<false>::new(alpha), src, dst, n)
            }
        }
    }
    #[inline(always)]
    unsafe fn backward<V: F32Vector>(
        self,
        from: Source,
        saved: *const f32,
        grad: *const f32,
        dst: *mut f32,
        n: usize,
    ) {
        let alpha = self.alpha;
        // SAFETY: each call below forwards the caller's contract.
        unsafe {
            match from {
                Source::Input if alpha == 1.0 => {
                    let op = op::EluGradInput::<true> { alpha };
                    map_binary::<V, _>(op, saved, grad, dst, n)
                }
                Source::Input => {
                    let op = op::EluGradInput::<false> { alpha };
                    map_binary::<V, _>(op, saved, grad, dst, n)
                }
                Source::Output => {
                    map_binary::<V, _>(op::EluGradOutput { alpha }, saved, grad, dst, n)
                }
            }
        }
    }
}

impl Entry for Celu {
    const NAME: &'static str = "celu";
    const SAMPLES: &'static [Self] = &[
        Celu { alpha: 1.0 },
        Celu { alpha: 2.0 },
        Celu { alpha: 2.5 },
        Celu { alpha: -1.5 },
    ];
    // alpha = 1 is ELU's kernel: measure a scaled one.
    const MEASURED: &'static [Self] = &[Celu { alpha: 2.0 }];
    const BIT_EXACT: bool = false;

    fn check(self) -> Result<(), Refusal> {
        finite("alpha", self.alpha)?;
        let (alpha, nonzero) = (self.alpha, "it must be non-zero (CELU divides by it)");
        require(alpha != 0.0, "alpha", alpha, nonzero)?;
        require(
            alpha.abs() >= MIN_ALPHA,
            "alpha",
            alpha,
            "it must be at least 2^-64 in magnitude",
        )
    }
    // CELU is invertible for every alpha != 0: the default from-output check.
    fn reference(self, x: f32) -> f32 {
        reference::celu(x, self.alpha)
    }
    fn reference_grad(self, from: Source, v: f32, grad: f32) -> f32 {
        match from {
            Source::Input => reference::celu_grad_input(v, grad, self.alpha),
            Source::Output => reference::celu_grad_output(v, grad, self.alpha),
        }
    }
    fn exact(self, x: f32) -> f64 {
        let (x, a) = (f64::from(x), f64::from(self.alpha));
        pick(x, a * (x / a).exp_m1(), x)
    }
    fn exact_grad(self, from: Source, v: f32, grad: f32) -> f64 {
        let (v, g, a) = (f64::from(v), f64::from(grad), f64::from(self.alpha));
        match from {
            Source::Input => pick(v, g * (v / a).exp(), g),
            Source::Output => pick(v, g * ((v + a) / a), g),
        }
    }
    fn forward_bound(self) -> f64 {
        expm1_bound(self.alpha)
    }
    fn backward_bound(self) -> f64 {
        2.0
    }
    /// From the input: where `exp`'s multiplier (`grad`) is in range, and
    /// for alpha < 0 (a positive argument) `|grad| >= 2^-120`. From the
    /// output: where the derivative `(y + alpha) / alpha` is at most
    /// `f32::MAX` in magnitude (it is formed before the product) and the
    /// product is more than 2 ULP below the overflow threshold (its two
    /// roundings can give `±f32::MAX` where the exact product rounds to
    /// infinity).
    fn gradient_bound_applies(self, from: Source, v: f32, grad: f32) -> bool {
        let alpha = self.alpha;
        if from == Source::Input {
            if alpha < 0.0 && grad.abs() < 2f32.powi(-120) {
                return false;
            }
            return multiplier_in_range(grad, 1.0);
        }
        let a = f64::from(alpha);
        let k = (f64::from(v) + a) / a;
        if v > 0.0 || v.is_nan() || k.is_nan() {
            return true;
        }
        let p = (f64::from(grad) * k).abs();
        let limit = f64::from(f32::MAX) * (1.0 - 2f64.powi(-22));
        k.abs() <= f64::from(f32::MAX) && (p.is_nan() || p <= limit || grad.is_infinite())
    }
    #[inline(always)]
    unsafe fn forward<V: F32Vector>(self, src: *const f32, dst: *mut f32, n: usize) {
        let alpha = self.alpha;
        // SAFETY: each call below forwards the caller's contract.
        unsafe {
            // x / 1 is exact: alpha = 1 is ELU's shorter path.
            if alpha == 1.0 {
                return map_unary::<V, _>(op::EluUnit, src, dst, n);
            }
            // Each op over a divisor comes in two variants (see `is_huge`).
            let huge = op::Divisor::is_huge(alpha);
            if alpha > 0.0 {
                if let Some(op) = op::CeluInUnits::new(alpha) {
                    return map_unary::<V, _>(op, src, dst, n);
                }
                let div = op::Divisor::new(alpha);
                if huge {
                    map_unary::<V, _>(op::Celu::<true> { div }, src, dst, n)
                } else {
                    map_unary::<V, _>(op::Celu::<false> { div }, src, dst, n)
                }
            } else if huge {
                map_unary::<V, _>(op::CeluNegativeAlpha::<true>::new(alpha), src, dst, n)
            } else {
                map_unary::<V, _>(op::CeluNegativeAlpha::<false>::new(alpha), src, dst, n)
            }
        }
    }
    #[inline(always)]
    unsafe fn backward<V: F32Vector>(
        self,
        from: Source,
        saved: *const f32,
        grad: *const f32,
        dst: *mut f32,
        n: usize,
    ) {
        let alpha = self.alpha;
        // SAFETY: each call below forwards the caller's contract.
        unsafe {
            if from == Source::Output {
                use op::CeluGradOutput as Op;
                return if Op::<true>::scaled(alpha) {
                    map_binary::<V, _>(Op::<true>::new(alpha), saved, grad, dst, n)
                } else {
                    map_binary::<V, _>(Op::<false>::new(alpha), saved, grad, dst, n)
                };
            }
            if alpha == 1.0 {
                let op = op::EluGradInput::<true> { alpha };
                return map_binary::<V, _>(op, saved, grad, dst, n);
            }
            if let Some(op) = op::CeluInUnits::new(alpha) {
                return map_binary::<V, _>(op, saved, grad, dst, n);
            }
            let div = op::Divisor::new(alpha);
            if op::Divisor::is_huge(alpha) {
                map_binary::<V, _>(op::CeluGradInput::<true> { div }, saved, grad, dst, n)
            } else {
                map_binary::<V, _>(op::CeluGradInput::<false> { div }, saved, grad, dst, n)
            }
        }
    }
}

impl Entry for Selu {
    const NAME: &'static str = "selu";
    const SAMPLES: &'static [Self] = &[Selu];
    const MEASURED: &'static [Self] = &[Selu];
    const BIT_EXACT: bool = false;

    fn check(self) -> Result<(), Refusal> {
        Ok(())
    }
    fn reference(self, x: f32) -> f32 {
        reference::selu(x)
    }
    fn reference_grad(self, from: Source, v: f32, grad: f32) -> f32 {
        match from {
            Source::Input => reference::selu_grad_input(v, grad),
            Source::Output => reference::selu_grad_output(v, grad),
        }
    }
    /// With the f32 constants every tier uses: the gradient from the
    /// output, `y + lambda*alpha`, cancels near saturation, where only the
    /// constant that the forward pass used gives the right zero.
    fn exact(self, x: f32) -> f64 {
        let x = f64::from(x);
        let (l, la) = (f64::from(SELU_LAMBDA_F32), f64::from(SELU_LAMBDA_ALPHA_F32));
        pick(x, la * x.exp_m1(), l * x)
    }
    fn exact_grad(self, from: Source, v: f32, grad: f32) -> f64 {
        let (v, g) = (f64::from(v), f64::from(grad));
        let (l, la) = (f64::from(SELU_LAMBDA_F32), f64::from(SELU_LAMBDA_ALPHA_F32));
        match from {
            Source::Input => pick(v, g * la * v.exp(), g * l),
            Source::Output => pick(v, g * (v + la), g * l),
        }
    }
    fn forward_bound(self) -> f64 {
        1.5
    }
    fn backward_bound(self) -> f64 {
        2.0
    }
    fn gradient_bound_applies(self, from: Source, _: f32, grad: f32) -> bool {
        from == Source::Output || multiplier_in_range(grad, SELU_LAMBDA_ALPHA_F32)
    }
    #[inline(always)]
    unsafe fn forward<V: F32Vector>(self, src: *const f32, dst: *mut f32, n: usize) {
        // SAFETY: forwarded contract.
        unsafe { map_unary::<V, _>(op::Selu, src, dst, n) }
    }
    #[inline(always)]
    unsafe fn backward<V: F32Vector>(
        self,
        from: Source,
        saved: *const f32,
        grad: *const f32,
        dst: *mut f32,
        n: usize,
    ) {
        // SAFETY: each call below forwards the caller's contract.
        unsafe {
            match from {
                Source::Input => map_binary::<V, _>(op::SeluGradInput, saved, grad, dst, n),
                Source::Output => map_binary::<V, _>(op::SeluGradOutput, saved, grad, dst, n),
            }
        }
    }
}
