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

use rectify_kernels::{Backward, Forward};

use crate::Error;

/// An activation function and its parameters.
///
/// Build one with the constructors, which validate ([`Activation::leaky_relu`],
/// [`Activation::elu`], ...), or as a literal and let the engine validate it on
/// every call.
///
/// ```
/// use rectify::Activation;
///
/// let relu = Activation::default();
/// assert_eq!(relu, Activation::Relu);
/// let leaky = Activation::leaky_relu(0.2)?;
/// assert_eq!(leaky.to_string(), "leaky_relu(slope=0.2)");
/// assert_eq!(Activation::leaky_relu_default(), Activation::LeakyRelu { slope: 0.01 });
/// assert_eq!(Activation::elu_default(), Activation::Elu { alpha: 1.0 });
/// assert!(Activation::celu(0.0).is_err());
/// # Ok::<(), rectify::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[non_exhaustive]
pub enum Activation {
    /// `max(0, x)` with the contract's special values: `x < 0 ? +0 : x`.
    #[default]
    Relu,
    /// `x > 0 ? x : x * slope`; `slope` must be finite.
    LeakyRelu {
        /// The negative-side slope (PyTorch's `negative_slope`, default 0.01).
        slope: f32,
    },
    /// `x <= 0 ? alpha * expm1(x) : x`; `alpha` finite, 0 or `|alpha| >= 2^-64`.
    Elu {
        /// The negative side saturates at `-alpha` (PyTorch's default 1).
        alpha: f32,
    },
    /// `x <= 0 ? alpha * expm1(x / alpha) : x`; `alpha` finite, `|alpha| >= 2^-64`.
    Celu {
        /// The negative side's scale (PyTorch's default 1).
        alpha: f32,
    },
    /// Self-normalising ELU: `x <= 0 ? lambda*alpha*expm1(x) : lambda*x` with
    /// alpha = 1.6732632423543772848170429916717 and
    /// lambda = 1.0507009873554804934193349852946.
    Selu,
}

/// The smallest non-zero `|alpha|` ELU and CELU accept, 2^-64.
const MIN_ALPHA: f32 = 5.421_011e-20;

impl Activation {
    /// PyTorch's default `negative_slope` for Leaky ReLU.
    pub const DEFAULT_LEAKY_SLOPE: f32 = 0.01;

    /// ReLU.
    pub const fn relu() -> Activation {
        Activation::Relu
    }

    /// Leaky ReLU with `slope`, refused unless it is finite.
    ///
    /// ```
    /// assert!(rectify::Activation::leaky_relu(f32::INFINITY).is_err());
    /// ```
    pub fn leaky_relu(slope: f32) -> Result<Activation, Error> {
        Activation::LeakyRelu { slope }.validated()
    }

    /// Leaky ReLU with PyTorch's default slope, 0.01.
    pub const fn leaky_relu_default() -> Activation {
        Activation::LeakyRelu {
            slope: Activation::DEFAULT_LEAKY_SLOPE,
        }
    }

    /// ELU with `alpha`, refused unless it is finite and 0 or `|alpha| >= 2^-64`.
    ///
    /// ```
    /// let mut x = [-1.0f32, 2.0];
    /// rectify::forward(rectify::Activation::elu(2.0)?, &mut x)?;
    /// assert!((x[0] - 2.0 * (-1.0f32).exp_m1()).abs() < 1e-6);
    /// assert_eq!(x[1], 2.0);
    /// # Ok::<(), rectify::Error>(())
    /// ```
    pub fn elu(alpha: f32) -> Result<Activation, Error> {
        Activation::Elu { alpha }.validated()
    }

    /// ELU with PyTorch's default alpha, 1.
    pub const fn elu_default() -> Activation {
        Activation::Elu { alpha: 1.0 }
    }

    /// CELU with `alpha`, refused unless it is finite and `|alpha| >= 2^-64`.
    pub fn celu(alpha: f32) -> Result<Activation, Error> {
        Activation::Celu { alpha }.validated()
    }

    /// CELU with PyTorch's default alpha, 1.
    pub const fn celu_default() -> Activation {
        Activation::Celu { alpha: 1.0 }
    }

    /// SELU (it has no parameters).
    pub const fn selu() -> Activation {
        Activation::Selu
    }

    /// The function's name, as the report and error messages print it.
    pub const fn name(&self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::LeakyRelu { .. } => "leaky_relu",
            Activation::Elu { .. } => "elu",
            Activation::Celu { .. } => "celu",
            Activation::Selu => "selu",
        }
    }

    /// Whether the function uses an exponential, so that its tiers meet ULP
    /// bounds rather than matching the reference bit for bit.
    pub const fn is_exponential(&self) -> bool {
        matches!(
            self,
            Activation::Elu { .. } | Activation::Celu { .. } | Activation::Selu
        )
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
        match *self {
            Activation::Relu | Activation::Selu => Ok(()),
            Activation::LeakyRelu { slope } => finite(self.name(), "slope", slope),
            Activation::Elu { alpha } => {
                finite(self.name(), "alpha", alpha)?;
                // `alpha * 2^n` inside expm1 must stay normal (n >= -25) to
                // keep the bound; PyTorch's alphas are nowhere near.
                if alpha != 0.0 && alpha.abs() < MIN_ALPHA {
                    return Err(Error::InvalidParameter {
                        activation: self.name(),
                        parameter: "alpha",
                        value: alpha,
                        requirement: "it must be 0 or at least 2^-64 in magnitude",
                    });
                }
                Ok(())
            }
            Activation::Celu { alpha } => {
                finite(self.name(), "alpha", alpha)?;
                if alpha == 0.0 {
                    return Err(Error::InvalidParameter {
                        activation: self.name(),
                        parameter: "alpha",
                        value: alpha,
                        requirement: "it must be non-zero (CELU divides by it)",
                    });
                }
                // A tiny alpha makes x / alpha overflow for nearly every x,
                // and `alpha * expm1(..)` leaves the range the kernels'
                // clamps are sized for (subnormal alphas have no digits).
                if alpha.abs() < MIN_ALPHA {
                    return Err(Error::InvalidParameter {
                        activation: self.name(),
                        parameter: "alpha",
                        value: alpha,
                        requirement: "it must be at least 2^-64 in magnitude",
                    });
                }
                Ok(())
            }
        }
    }

    fn validated(self) -> Result<Activation, Error> {
        self.validate().map(|()| self)
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
        let refuse = |parameter, value, requirement| {
            Err(Error::GradientFromOutputUndefined {
                activation: self.name(),
                parameter,
                value,
                requirement,
            })
        };
        match *self {
            Activation::LeakyRelu { slope } if slope < 0.0 => refuse(
                "slope",
                slope,
                "it must be >= 0 so that y > 0 exactly when x > 0",
            ),
            Activation::Elu { alpha } if alpha < 0.0 => refuse(
                "alpha",
                alpha,
                "it must be >= 0 so that y <= 0 exactly when x <= 0",
            ),
            _ => Ok(()),
        }
    }

    /// The kernel op of the forward pass (parameters already validated).
    pub(crate) fn forward_op(&self) -> Forward {
        match *self {
            Activation::Relu => Forward::Relu,
            Activation::LeakyRelu { slope } => Forward::LeakyRelu { slope },
            Activation::Elu { alpha } => Forward::Elu { alpha },
            Activation::Celu { alpha } => Forward::Celu { alpha },
            Activation::Selu => Forward::Selu,
        }
    }

    /// The kernel op of the gradient, from the input or (`from_output`) the output.
    /// Validates the parameters and, from the output, that the gradient exists.
    pub(crate) fn backward_op(&self, from_output: bool) -> Result<Backward, Error> {
        if from_output {
            self.gradient_from_output()?;
        } else {
            self.validate()?;
        }
        Ok(match (*self, from_output) {
            // For the ReLU family the formula is the same whether `v` is x or
            // y: y > 0 exactly when x > 0 (for leaky, given slope >= 0).
            (Activation::Relu, _) => Backward::Relu,
            (Activation::LeakyRelu { slope }, _) => Backward::LeakyRelu { slope },
            (Activation::Elu { alpha }, false) => Backward::EluFromInput { alpha },
            (Activation::Elu { alpha }, true) => Backward::EluFromOutput { alpha },
            (Activation::Celu { alpha }, false) => Backward::CeluFromInput { alpha },
            (Activation::Celu { alpha }, true) => Backward::CeluFromOutput { alpha },
            (Activation::Selu, false) => Backward::SeluFromInput,
            (Activation::Selu, true) => Backward::SeluFromOutput,
        })
    }
}

fn finite(activation: &'static str, parameter: &'static str, value: f32) -> Result<(), Error> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(Error::InvalidParameter {
            activation,
            parameter,
            value,
            requirement: "it must be finite",
        })
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Activation::Relu => f.write_str("relu"),
            Activation::LeakyRelu { slope } => write!(f, "leaky_relu(slope={slope})"),
            Activation::Elu { alpha } => write!(f, "elu(alpha={alpha})"),
            Activation::Celu { alpha } => write!(f, "celu(alpha={alpha})"),
            Activation::Selu => f.write_str("selu"),
        }
    }
}
