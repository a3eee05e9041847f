//! [`Activation`]: which function, with which parameters, and the math
//! contract every tier implements.
//!
//! | op | forward | gradient (`grad_in = grad_out * ...`) |
//! |---|---|---|
//! | `Relu` | `x < 0 ? +0 : x` (NaN -> NaN, -0 -> -0) | from y or x: `v <= 0 ? +0 : grad` |
//! | `LeakyRelu { slope }` | `x > 0 ? x : x * slope` | `v > 0 ? grad : grad * slope`; from y needs `slope >= 0` |
//! | `Elu { alpha }` | `x <= 0 ? alpha * expm1(x) : x` | from x: `x <= 0 ? grad * (alpha * exp(x)) : grad`; from y (`alpha >= 0`): `y <= 0 ? grad * (y + alpha) : grad` |
//! | `Celu { alpha }` | `x <= 0 ? alpha * expm1(x / alpha) : x`, `alpha != 0` | from x: `x <= 0 ? grad * exp(x / alpha) : grad`; from y: `y <= 0 ? grad * ((y + alpha) / alpha) : grad` |
//! | `Selu` | `x <= 0 ? la * expm1(x) : l * x` | from x: `x <= 0 ? grad * (la * exp(x)) : grad * l`; from y: `y <= 0 ? grad * (y + la) : grad * l` |
//!
//! The variants come from the activation registry of the kernels crate
//! (`rectify_kernels::for_each_activation!`), which also holds each one's
//! validation, references and bounds; this module turns its refusals into
//! [`Error`]s.
//!
//! `?:` uses IEEE comparisons, so a NaN takes the second branch. These are
//! PyTorch's CPU formulas. SELU's `l` and `la` are lambda and lambda * alpha
//! rounded to f32 ([`crate::reference::SELU_LAMBDA_F32`],
//! [`crate::reference::SELU_LAMBDA_ALPHA_F32`]).
//!
//! The ReLU family is bit-identical to the scalar reference on every tier.
//! The exponential ones are accurate to a bound in ULP against an f64 oracle
//! ([`crate::accuracy`]) on every vector tier (portable, AVX2, AVX-512,
//! NEON): 1 ULP for `expm1` itself (ELU and CELU with alpha = 1), 1.5 for
//! the scaled forms, 2 for gradients; the FMA tiers agree with each other
//! bit for bit. The scalar reference is the C library's `expm1f`/`expf`
//! with a plain division: not held to these bounds (CELU's rounded
//! `x / alpha` costs it up to 53 ULP, and its gradient can overflow where
//! the exact value is finite, as for CELU(alpha = -1) at x = -89.4).

use core::fmt;

use rectify_kernels::{Op, Refusal, Source};

use crate::Error;

/// Generates [`Activation`] from the registry's list, with the same variants
/// and fields as the kernels' [`Op`], and the conversions between the two.
macro_rules! define_activation {
    ($(
        $(#[$attr:meta])*
        $variant:ident $({ $( $(#[$field_attr:meta])* $field:ident ),* $(,)? })? = $entry:ident
    ),* $(,)?) => {
        /// An activation function and its parameters, written as a literal
        /// (`Activation::LeakyRelu { slope: 0.01 }`; each field's docs give
        /// PyTorch's default). Every engine call validates the parameters
        /// first; [`Activation::validate`] checks them ahead of time.
        ///
        /// ```
        /// use rectify::Activation;
        ///
        /// let leaky = Activation::LeakyRelu { slope: 0.2 };
        /// assert_eq!(leaky.to_string(), "leaky_relu(slope=0.2)");
        /// assert!(leaky.validate().is_ok());
        /// assert!(Activation::Celu { alpha: 0.0 }.validate().is_err());
        /// ```
        #[derive(Clone, Copy, Debug, PartialEq)]
        #[non_exhaustive]
        pub enum Activation {
            $(
                $(#[$attr])*
                $variant $({ $( $(#[$field_attr])* $field: f32 ),* })?,
            )*
        }

        impl Activation {
            /// The kernel op with these parameters (not validated).
            pub(crate) fn op(self) -> Op {
                match self {
                    $( Activation::$variant $({ $($field),* })? => Op::$variant $({ $($field),* })?, )*
                }
            }

            /// The activation of a kernel op.
            pub(crate) fn from_op(op: Op) -> Activation {
                match op {
                    $( Op::$variant $({ $($field),* })? => Activation::$variant $({ $($field),* })?, )*
                    #[allow(unreachable_patterns)]
                    _ => unreachable!("the registry generates both enums"),
                }
            }
        }
    };
}

rectify_kernels::for_each_activation!(define_activation);

impl Activation {
    /// Every registered activation with each parameter choice the tests
    /// cover, PyTorch's defaults first within each activation.
    ///
    /// ```
    /// use rectify::Activation;
    /// assert!(Activation::samples().contains(&Activation::Selu));
    /// assert!(Activation::samples().iter().all(|a| a.validate().is_ok()));
    /// ```
    pub fn samples() -> Vec<Activation> {
        Op::samples().into_iter().map(Activation::from_op).collect()
    }

    /// The activations the benches, the report and the plots measure: every
    /// registered activation, once or a few times, in registry order.
    ///
    /// ```
    /// let names: Vec<_> = rectify::Activation::measured().iter().map(|a| a.name()).collect();
    /// assert!(names.contains(&"relu") && names.contains(&"selu"));
    /// ```
    pub fn measured() -> Vec<Activation> {
        Op::measured()
            .into_iter()
            .map(Activation::from_op)
            .collect()
    }

    /// Every registered activation's name, in registry order.
    pub const NAMES: &'static [&'static str] = Op::NAMES;

    /// The activation named `Activation::NAMES[kind]` with its parameters
    /// drawn from `param` in declaration order (not validated), or `None`
    /// past the end: for generators such as property tests and fuzzers.
    ///
    /// ```
    /// use rectify::Activation;
    /// assert_eq!(Activation::from_kind(0, || 1.0), Some(Activation::Relu));
    /// assert_eq!(Activation::from_kind(Activation::NAMES.len(), || 1.0), None);
    /// ```
    pub fn from_kind(kind: usize, param: impl FnMut() -> f32) -> Option<Activation> {
        Op::from_kind(kind, param).map(Activation::from_op)
    }

    /// The function's name, as the report and error messages print it.
    pub fn name(&self) -> &'static str {
        self.op().name()
    }

    /// The parameters as `(name, value)` pairs, in declaration order.
    ///
    /// ```
    /// assert_eq!(rectify::Activation::Elu { alpha: 0.5 }.params(), vec![("alpha", 0.5)]);
    /// ```
    pub fn params(&self) -> Vec<(&'static str, f32)> {
        self.op().params()
    }

    /// Whether the vector tiers meet ULP bounds ([`crate::accuracy`])
    /// rather than matching the scalar reference bit for bit (the ReLU
    /// family).
    pub fn is_exponential(&self) -> bool {
        !self.op().is_bit_exact()
    }

    /// Checks the parameters; every engine call does this first.
    ///
    /// ```
    /// use rectify::Activation;
    /// assert!(Activation::LeakyRelu { slope: -0.5 }.validate().is_ok());
    /// assert!(Activation::LeakyRelu { slope: f32::NAN }.validate().is_err());
    /// assert!(Activation::Celu { alpha: 0.0 }.validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<(), Error> {
        self.op().check().map_err(|r| Error::InvalidParameter {
            activation: self.name(),
            parameter: r.parameter,
            value: r.value,
            requirement: r.requirement,
        })
    }

    /// Whether the gradient can be computed from the saved output, not only
    /// from the saved input (so the forward pass may run in place). Refused
    /// where two inputs of different derivative give the same output: Leaky
    /// ReLU with `slope < 0` and ELU with `alpha < 0` (their negative side
    /// then maps onto positive outputs). CELU is invertible for every
    /// `alpha != 0`, SELU and ReLU always.
    ///
    /// ```
    /// use rectify::Activation;
    /// assert!(Activation::Relu.gradient_from_output().is_ok());
    /// assert!(Activation::LeakyRelu { slope: 0.1 }.gradient_from_output().is_ok());
    /// assert!(Activation::LeakyRelu { slope: -0.1 }.gradient_from_output().is_err());
    /// assert!(Activation::Elu { alpha: -1.0 }.gradient_from_output().is_err());
    /// assert!(Activation::Celu { alpha: -1.0 }.gradient_from_output().is_ok());
    /// ```
    pub fn gradient_from_output(&self) -> Result<(), Error> {
        self.validate()?;
        let refused = |r: Refusal| Error::GradientFromOutputUndefined {
            activation: self.name(),
            parameter: r.parameter,
            value: r.value,
            requirement: r.requirement,
        };
        self.op().check_from_output().map_err(refused)
    }

    /// The kernel op of the forward pass, after validating the parameters.
    pub(crate) fn forward_op(&self) -> Result<Op, Error> {
        self.validate().map(|()| self.op())
    }

    /// The kernel op of the gradient and the saved tensor it reads, after
    /// validating the parameters and, from the output, that the gradient
    /// exists.
    pub(crate) fn backward_op(&self, from_output: bool) -> Result<(Op, Source), Error> {
        if from_output {
            self.gradient_from_output()?;
        } else {
            self.validate()?;
        }
        Ok((self.op(), source(from_output)))
    }
}

/// The saved tensor a gradient reads: the output or the input.
pub(crate) fn source(from_output: bool) -> Source {
    if from_output {
        Source::Output
    } else {
        Source::Input
    }
}

/// `name` or `name(p=v, ...)`, e.g. `leaky_relu(slope=0.2)`.
impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.op(), f)
    }
}
