//! The registry of element-wise activations: the one list that the kernel
//! tables of every tier, the public `Activation` type of the safe crate, the
//! tests, the benches, the report, the accuracy sweep and the plots all walk.
//!
//! An activation is a parameter struct (in `relu.rs`, `elu.rs`, ...) that
//! implements [`Entry`]: its name, the validation of its parameters, its
//! forward and gradient kernels (from the input, and from the output where
//! the output determines the derivative), its scalar reference, its f64
//! oracle, its accuracy bound and the parameter choices that the tests and
//! the benchmarks cover. [`for_each_activation!`](crate::for_each_activation)
//! lists the structs once; from that list this module generates [`Op`] and
//! its dispatch, and the safe crate generates its `Activation` enum.
//!
//! # Adding an activation
//!
//! 1. Its vector algorithm, generic over `F32Vector`, in one file under
//!    `ops/` (new vector math, such as a `tanh`, goes in `math/`).
//! 2. Its scalar reference: plain `f32` functions in `reference.rs`,
//!    straight from the formula.
//! 3. Its registry entry: a parameter struct implementing [`Entry`] here
//!    (in the file of its family), and one line in
//!    [`for_each_activation!`](crate::for_each_activation).
//!
//! Everything else follows. The tests (`tests/registry.rs` in the safe
//! crate) check each entry: samples that validate, a reference within its
//! bound of the oracle, kernels on every tier within the bound of the
//! reference, and that the benches, the report and the plots name no
//! activation by hand.

mod elu;
mod relu;

use core::fmt;

pub(crate) use elu::{Celu, Elu, Selu};
pub(crate) use relu::{LeakyRelu, Relu};

use crate::vector::F32Vector;

/// Calls the macro `$callback` with every element-wise activation of the
/// registry, in the order the report lists them:
///
/// ```text
/// $(#[attributes])* Variant { $(#[attributes])* field, ... } = EntryStruct,
/// ```
///
/// (no braces for an activation without parameters; every parameter is an
/// `f32`). The kernels crate builds [`Op`] from it and the safe crate its
/// `Activation` enum, so the two always have the same variants and fields.
#[doc(hidden)]
#[macro_export]
macro_rules! for_each_activation {
    ($callback:ident) => {
        $callback! {
            /// ReLU: `x < 0 ? +0 : x` (NaN stays NaN, `-0` stays `-0`).
            Relu = Relu,
            /// Leaky ReLU: `x > 0 ? x : x * slope`; `slope` must be finite.
            LeakyRelu {
                /// The negative-side slope (PyTorch's `negative_slope`,
                /// default 0.01).
                slope,
            } = LeakyRelu,
            /// ELU: `x <= 0 ? alpha * expm1(x) : x`; `alpha` finite, 0 or
            /// `|alpha| >= 2^-64`.
            Elu {
                /// The negative side saturates at `-alpha` (PyTorch's default 1).
                alpha,
            } = Elu,
            /// CELU: `x <= 0 ? alpha * expm1(x / alpha) : x`; `alpha`
            /// finite, `|alpha| >= 2^-64`.
            Celu {
                /// The negative side's scale (PyTorch's default 1).
                alpha,
            } = Celu,
            /// Self-normalising ELU: `x <= 0 ? lambda*alpha*expm1(x) :
            /// lambda*x` with alpha = 1.6732632423543772848170429916717 and
            /// lambda = 1.0507009873554804934193349852946 (the products
            /// rounded to f32 once).
            Selu = Selu,
        }
    };
}

/// Which saved tensor a gradient is computed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// The forward pass's input `x`.
    Input,
    /// The forward pass's output `y` (so the forward pass may run in place).
    Output,
}

/// Why an activation's parameters were refused: the parameter, its value
/// and the requirement it breaks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Refusal {
    /// The parameter, e.g. `"alpha"`.
    pub parameter: &'static str,
    /// The value given.
    pub value: f32,
    /// What it must satisfy, e.g. `"it must be finite"`.
    pub requirement: &'static str,
}

/// Refuses `value` of `parameter` unless `ok`, saying what it must satisfy.
pub(crate) fn require(
    ok: bool,
    parameter: &'static str,
    value: f32,
    requirement: &'static str,
) -> Result<(), Refusal> {
    if ok {
        Ok(())
    } else {
        Err(Refusal {
            parameter,
            value,
            requirement,
        })
    }
}

/// Refuses `value` unless it is finite.
pub(crate) fn finite(parameter: &'static str, value: f32) -> Result<(), Refusal> {
    require(value.is_finite(), parameter, value, "it must be finite")
}

/// One element-wise activation with its parameters: everything the kernel
/// tables, the safe crate and the tests need to know about it.
pub(crate) trait Entry: Copy + Into<Op> + 'static {
    /// The name the report, the errors and `Display` print.
    const NAME: &'static str;
    /// The parameter values the tests cover, PyTorch's defaults first; they
    /// must pass [`Entry::check`].
    const SAMPLES: &'static [Self];
    /// The parameter values the benches, the report and the plots measure
    /// (a subset of the samples, usually the defaults).
    const MEASURED: &'static [Self];
    /// Whether every tier matches the scalar reference bit for bit (the
    /// ReLU family); otherwise tiers meet the ULP bounds below.
    const BIT_EXACT: bool;

    /// Refuses parameters outside the domain the kernels are proven for.
    fn check(self) -> Result<(), Refusal>;
    /// Refuses parameters for which the output does not determine the
    /// derivative (two inputs of different slopes give the same output).
    /// Called after [`Entry::check`] passed.
    fn check_from_output(self) -> Result<(), Refusal> {
        Ok(())
    }

    /// The scalar reference, `f(x)`.
    fn reference(self, x: f32) -> f32;
    /// The scalar reference of the gradient, `grad * f'(v)`.
    fn reference_grad(self, from: Source, v: f32, grad: f32) -> f32;
    /// `f(x)` in f64 from the f32 input and parameters: the oracle.
    fn exact(self, x: f32) -> f64;
    /// `grad * f'(v)` in f64: the oracle of the gradient.
    fn exact_grad(self, from: Source, v: f32, grad: f32) -> f64;
    /// The bound, in ULP, of a vector tier's forward result against
    /// [`Entry::exact`] (0.5 where bit-exact: one rounding of the formula).
    fn forward_bound(self) -> f64;
    /// The bound, in ULP, of a vector tier's gradient against
    /// [`Entry::exact_grad`].
    fn backward_bound(self) -> f64;
    /// Whether [`Entry::backward_bound`] is guaranteed for `v` and `grad`
    /// (the exponential gradients form intermediates that can leave the
    /// range where it holds).
    fn gradient_bound_applies(self, from: Source, v: f32, grad: f32) -> bool {
        let _ = (from, v, grad);
        true
    }

    /// The forward kernel on vector type `V`: `dst[i] = f(src[i])`.
    ///
    /// # Safety
    /// As for [`crate::ops::map_unary`], inside a function compiled for
    /// `V`'s ISA on a CPU that has it.
    unsafe fn forward<V: F32Vector>(self, src: *const f32, dst: *mut f32, n: usize);
    /// The gradient kernel on vector type `V`:
    /// `dst[i] = grad[i] * f'(saved[i])`.
    ///
    /// # Safety
    /// As for [`crate::ops::map_binary`], inside a function compiled for
    /// `V`'s ISA on a CPU that has it.
    unsafe fn backward<V: F32Vector>(
        self,
        from: Source,
        saved: *const f32,
        grad: *const f32,
        dst: *mut f32,
        n: usize,
    );
}

/// `dst[i] = f(src[i])` (in place when `src` is `None`), one element at a
/// time.
#[inline(always)]
fn map(src: Option<&[f32]>, dst: &mut [f32], f: impl Fn(f32) -> f32) {
    match src {
        Some(src) => dst.iter_mut().zip(src).for_each(|(d, &s)| *d = f(s)),
        None => dst.iter_mut().for_each(|d| *d = f(*d)),
    }
}

/// `dst[i] = g(saved[i], grad[i])` (`grad` is `dst` itself when `grad` is
/// `None`), one element at a time.
#[inline(always)]
fn map2(saved: &[f32], grad: Option<&[f32]>, dst: &mut [f32], g: impl Fn(f32, f32) -> f32) {
    match grad {
        Some(grad) => dst
            .iter_mut()
            .zip(saved.iter().zip(grad))
            .for_each(|(d, (&v, &g0))| *d = g(v, g0)),
        None => dst.iter_mut().zip(saved).for_each(|(d, &v)| *d = g(v, *d)),
    }
}

/// Generates [`Op`] and its dispatch from the registry's list.
macro_rules! define_op {
    ($(
        $(#[$attr:meta])*
        $variant:ident $({ $( $(#[$field_attr:meta])* $field:ident ),* $(,)? })? = $entry:ident
    ),* $(,)?) => {
        /// Which element-wise activation a kernel call computes, with its
        /// parameters (every parameter an `f32`). The registry generates it,
        /// and the safe crate's `Activation` has the same variants.
        ///
        /// It carries no validation: [`Op::check`] says whether the
        /// parameters are in the domain the kernels are proven for, and the
        /// safe crate refuses calls that are not.
        #[derive(Clone, Copy, Debug, PartialEq)]
        #[non_exhaustive]
        pub enum Op {
            $(
                $(#[$attr])*
                $variant $({ $( $(#[$field_attr])* $field: f32 ),* })?,
            )*
        }

        $(
            impl From<$entry> for Op {
                #[inline(always)]
                fn from(e: $entry) -> Op {
                    let $entry { $($($field),*)? } = e;
                    Op::$variant $({ $($field),* })?
                }
            }
        )*

        /// Runs `$body` with `$e` bound to the entry struct of `$op`.
        macro_rules! with_entry {
            ($op:expr, $e:ident => $body:expr) => {
                match $op {
                    $(
                        Op::$variant $({ $($field),* })? => {
                            let $e = $entry { $($($field),*)? };
                            $body
                        }
                    )*
                }
            };
        }

        impl Op {
            /// Every activation's name, in registry order.
            pub const NAMES: &'static [&'static str] = &[$(<$entry as Entry>::NAME),*];

            /// The activation number `kind` of the registry (an index into
            /// [`Op::NAMES`]) with its parameters taken from `param` in
            /// declaration order, or `None` past the end. For generators
            /// (property tests, fuzzing) that draw activations.
            ///
            /// ```
            /// use rectify_kernels::Op;
            /// let kind = Op::NAMES.iter().position(|&n| n == "elu").unwrap();
            /// assert_eq!(Op::from_kind(kind, || 0.5), Some(Op::Elu { alpha: 0.5 }));
            /// ```
            #[allow(unused_mut, unused_variables)]
            pub fn from_kind(kind: usize, mut param: impl FnMut() -> f32) -> Option<Op> {
                let mut i = 0;
                $(
                    if kind == i {
                        $($( let $field = param(); )*)?
                        return Some(Op::$variant $({ $($field),* })?);
                    }
                    i += 1;
                )*
                let _ = i;
                None
            }
        }

        impl Op {
            /// The parameters as `(name, value)` pairs, in declaration order.
            ///
            /// ```
            /// use rectify_kernels::Op;
            /// assert_eq!(Op::Elu { alpha: 2.0 }.params(), vec![("alpha", 2.0)]);
            /// assert!(Op::Relu.params().is_empty());
            /// ```
            #[allow(unused_mut)]
            pub fn params(self) -> Vec<(&'static str, f32)> {
                let mut out = Vec::new();
                match self {
                    $( Op::$variant $({ $($field),* })? => {
                        $($( out.push((stringify!($field), $field)); )*)?
                    } )*
                }
                out
            }

            /// Every registered activation with each parameter choice its
            /// tests cover, PyTorch's defaults first within each activation.
            ///
            /// ```
            /// use rectify_kernels::Op;
            /// assert!(Op::samples().contains(&Op::Relu));
            /// assert!(Op::samples().iter().all(|op| op.check().is_ok()));
            /// ```
            pub fn samples() -> Vec<Op> {
                let mut out = Vec::new();
                $( out.extend(<$entry as Entry>::SAMPLES.iter().map(|&e| Op::from(e))); )*
                out
            }

            /// The activations the benches, the report and the plots
            /// measure: each registered activation once or a few times, in
            /// registry order.
            pub fn measured() -> Vec<Op> {
                let mut out = Vec::new();
                $( out.extend(<$entry as Entry>::MEASURED.iter().map(|&e| Op::from(e))); )*
                out
            }
        }
    };
}

for_each_activation!(define_op);

impl Op {
    /// The name, as the report and the error messages print it.
    ///
    /// ```
    /// assert_eq!(rectify_kernels::Op::LeakyRelu { slope: 0.1 }.name(), "leaky_relu");
    /// ```
    pub fn name(self) -> &'static str {
        fn name<E: Entry>(_: E) -> &'static str {
            E::NAME
        }
        with_entry!(self, e => name(e))
    }

    /// Checks the parameters against the domain the kernels are proven for.
    ///
    /// ```
    /// use rectify_kernels::Op;
    /// assert!(Op::LeakyRelu { slope: -0.5 }.check().is_ok());
    /// assert_eq!(Op::Celu { alpha: 0.0 }.check().unwrap_err().parameter, "alpha");
    /// ```
    pub fn check(self) -> Result<(), Refusal> {
        with_entry!(self, e => e.check())
    }

    /// Checks, after [`Op::check`], that the saved output determines the
    /// derivative (so [`Source::Output`] is defined).
    ///
    /// ```
    /// use rectify_kernels::Op;
    /// assert!(Op::LeakyRelu { slope: 0.1 }.check_from_output().is_ok());
    /// assert!(Op::LeakyRelu { slope: -0.1 }.check_from_output().is_err());
    /// ```
    pub fn check_from_output(self) -> Result<(), Refusal> {
        self.check()?;
        with_entry!(self, e => e.check_from_output())
    }

    /// Whether every tier matches [`Op::reference`] bit for bit (otherwise
    /// the vector tiers meet [`Op::forward_bound`] and
    /// [`Op::backward_bound`]).
    pub fn is_bit_exact(self) -> bool {
        fn exact<E: Entry>(_: E) -> bool {
            E::BIT_EXACT
        }
        with_entry!(self, e => exact(e))
    }

    /// The scalar reference `f(x)`.
    ///
    /// ```
    /// assert_eq!(rectify_kernels::Op::Relu.reference(-3.0), 0.0);
    /// ```
    pub fn reference(self, x: f32) -> f32 {
        with_entry!(self, e => e.reference(x))
    }

    /// The scalar reference gradient `grad * f'(v)`.
    pub fn reference_grad(self, from: Source, v: f32, grad: f32) -> f32 {
        with_entry!(self, e => e.reference_grad(from, v, grad))
    }

    /// `f(x)` evaluated in f64 from the f32 input and parameters: the
    /// oracle the accuracy bounds are measured against.
    pub fn exact(self, x: f32) -> f64 {
        with_entry!(self, e => e.exact(x))
    }

    /// `grad * f'(v)` in f64: the gradient's oracle.
    pub fn exact_grad(self, from: Source, v: f32, grad: f32) -> f64 {
        with_entry!(self, e => e.exact_grad(from, v, grad))
    }

    /// The documented bound, in ULP, of a vector tier's forward result
    /// against [`Op::exact`].
    pub fn forward_bound(self) -> f64 {
        with_entry!(self, e => e.forward_bound())
    }

    /// The documented bound, in ULP, of a vector tier's gradient against
    /// [`Op::exact_grad`].
    pub fn backward_bound(self) -> f64 {
        with_entry!(self, e => e.backward_bound())
    }

    /// Whether [`Op::backward_bound`] is guaranteed for `v` and `grad`.
    pub fn gradient_bound_applies(self, from: Source, v: f32, grad: f32) -> bool {
        with_entry!(self, e => e.gradient_bound_applies(from, v, grad))
    }

    /// The scalar reference over a slice (in place when `src` is `None`):
    /// the scalar tier's forward kernel.
    pub(crate) fn reference_slice(self, src: Option<&[f32]>, dst: &mut [f32]) {
        with_entry!(self, e => map(src, dst, |x| e.reference(x)))
    }

    /// The scalar reference gradient over slices (in place in `dst` when
    /// `grad` is `None`): the scalar tier's backward kernel.
    pub(crate) fn reference_grad_slice(
        self,
        from: Source,
        saved: &[f32],
        grad: Option<&[f32]>,
        dst: &mut [f32],
    ) {
        with_entry!(self, e => map2(saved, grad, dst, |v, g| e.reference_grad(from, v, g)))
    }

    /// The forward kernel on vector type `V`.
    ///
    /// # Safety
    /// As for [`Entry::forward`].
    #[inline(always)]
    pub(crate) unsafe fn vector_forward<V: F32Vector>(
        self,
        src: *const f32,
        dst: *mut f32,
        n: usize,
    ) {
        // SAFETY: the caller's contract is the entry's.
        with_entry!(self, e => unsafe { e.forward::<V>(src, dst, n) })
    }

    /// The gradient kernel on vector type `V`.
    ///
    /// # Safety
    /// As for [`Entry::backward`].
    #[inline(always)]
    pub(crate) unsafe fn vector_backward<V: F32Vector>(
        self,
        from: Source,
        saved: *const f32,
        grad: *const f32,
        dst: *mut f32,
        n: usize,
    ) {
        // SAFETY: the caller's contract is the entry's.
        with_entry!(self, e => unsafe { e.backward::<V>(from, saved, grad, dst, n) })
    }
}

/// `name` or `name(p=v, ...)`, e.g. `leaky_relu(slope=0.2)`.
impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())?;
        let params = self.params();
        if !params.is_empty() {
            f.write_str("(")?;
            for (i, (name, value)) in params.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{name}={value}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}
