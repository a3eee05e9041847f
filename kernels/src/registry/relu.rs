//! The registry entries of ReLU and Leaky ReLU: a compare and a select, so
//! every tier matches the scalar reference bit for bit.

use super::{finite, require, Entry, Refusal, Source};
use crate::ops::relu::{LeakyRelu as LeakyOp, LeakyReluGrad, Relu as ReluOp, ReluGrad};
use crate::ops::{map_binary, map_unary};
use crate::reference;
use crate::vector::F32Vector;

/// ReLU.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Relu;

/// Leaky ReLU.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct LeakyRelu {
    pub(crate) slope: f32,
}

/// `v <= 0 ? neg : pos` in f64 (NaN takes `pos`).
fn unless_positive(v: f64, neg: f64, pos: f64) -> f64 {
    if v > 0.0 {
        pos
    } else {
        neg
    }
}

/// `x < 0`, decided on the bits: the sign bit set, and neither a zero nor a
/// NaN. Written as a float comparison, ReLU's `x < 0 ? 0.0 : x` (and even a
/// select between the two bit patterns) is folded at -O into a float max,
/// which returns +0 for -0.
fn is_below_zero(x: f64) -> bool {
    let bits = x.to_bits();
    let magnitude = bits & !(1 << 63);
    bits >> 63 == 1 && magnitude != 0 && magnitude <= f64::INFINITY.to_bits()
}

impl Entry for Relu {
    const NAME: &'static str = "relu";
    const SAMPLES: &'static [Self] = &[Relu];
    const MEASURED: &'static [Self] = &[Relu];
    const BIT_EXACT: bool = true;

    fn check(self) -> Result<(), Refusal> {
        Ok(())
    }
    fn reference(self, x: f32) -> f32 {
        reference::relu(x)
    }
    /// The same formula from either saved tensor: `y > 0` exactly when
    /// `x > 0`.
    fn reference_grad(self, _: Source, v: f32, grad: f32) -> f32 {
        reference::relu_grad(v, grad)
    }
    fn exact(self, x: f32) -> f64 {
        let x = f64::from(x);
        if is_below_zero(x) {
            0.0
        } else {
            x
        }
    }
    fn exact_grad(self, _: Source, v: f32, grad: f32) -> f64 {
        // NaN takes the second branch: the gradient passes.
        if v <= 0.0 {
            0.0
        } else {
            f64::from(grad)
        }
    }
    fn forward_bound(self) -> f64 {
        0.5
    }
    fn backward_bound(self) -> f64 {
        0.5
    }
    #[inline(always)]
    unsafe fn forward<V: F32Vector>(self, src: *const f32, dst: *mut f32, n: usize) {
        // SAFETY: forwarded contract.
        unsafe { map_unary::<V, _>(ReluOp, src, dst, n) }
    }
    #[inline(always)]
    unsafe fn backward<V: F32Vector>(
        self,
        _: Source,
        saved: *const f32,
        grad: *const f32,
        dst: *mut f32,
        n: usize,
    ) {
        // SAFETY: forwarded contract.
        unsafe { map_binary::<V, _>(ReluGrad, saved, grad, dst, n) }
    }
}

impl Entry for LeakyRelu {
    const NAME: &'static str = "leaky_relu";
    const SAMPLES: &'static [Self] = &[
        LeakyRelu { slope: 0.01 },
        LeakyRelu { slope: 0.0 },
        LeakyRelu { slope: -0.0 },
        LeakyRelu { slope: 1.0 },
        LeakyRelu { slope: 1.5 },
        LeakyRelu { slope: -0.25 },
        LeakyRelu { slope: f32::MAX },
        LeakyRelu {
            slope: f32::from_bits(1),
        },
    ];
    const MEASURED: &'static [Self] = &[LeakyRelu { slope: 0.01 }];
    const BIT_EXACT: bool = true;

    fn check(self) -> Result<(), Refusal> {
        finite("slope", self.slope)
    }
    fn check_from_output(self) -> Result<(), Refusal> {
        let requirement = "it must be >= 0 so that y > 0 exactly when x > 0";
        require(self.slope >= 0.0, "slope", self.slope, requirement)
    }
    fn reference(self, x: f32) -> f32 {
        reference::leaky_relu(x, self.slope)
    }
    /// The same formula from either saved tensor, given `slope >= 0` from
    /// the output.
    fn reference_grad(self, _: Source, v: f32, grad: f32) -> f32 {
        reference::leaky_relu_grad(v, grad, self.slope)
    }
    fn exact(self, x: f32) -> f64 {
        let x = f64::from(x);
        unless_positive(x, x * f64::from(self.slope), x)
    }
    fn exact_grad(self, _: Source, v: f32, grad: f32) -> f64 {
        let g = f64::from(grad);
        unless_positive(f64::from(v), g * f64::from(self.slope), g)
    }
    fn forward_bound(self) -> f64 {
        0.5
    }
    fn backward_bound(self) -> f64 {
        0.5
    }
    #[inline(always)]
    unsafe fn forward<V: F32Vector>(self, src: *const f32, dst: *mut f32, n: usize) {
        let op = LeakyOp { slope: self.slope };
        // SAFETY: forwarded contract.
        unsafe { map_unary::<V, _>(op, src, dst, n) }
    }
    #[inline(always)]
    unsafe fn backward<V: F32Vector>(
        self,
        _: Source,
        saved: *const f32,
        grad: *const f32,
        dst: *mut f32,
        n: usize,
    ) {
        let op = LeakyReluGrad { slope: self.slope };
        // SAFETY: forwarded contract.
        unsafe { map_binary::<V, _>(op, saved, grad, dst, n) }
    }
}
