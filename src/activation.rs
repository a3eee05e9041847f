//! [`Activation`]: which function, with which parameters, and the math
//! contract every tier implements bit for bit.
//!
//! | op | forward | gradient (`grad_in = grad_out * ...`) |
//! |---|---|---|
//! | `Relu` | `x < 0 ? +0 : x` (NaN -> NaN, -0 -> -0) | from y or x: `v <= 0 ? +0 : grad` |
//! | `LeakyRelu { slope }` | `x > 0 ? x : x * slope` | `v > 0 ? grad : grad * slope`; from y needs `slope >= 0` |
//!
//! `?:` uses IEEE comparisons, so a NaN takes the second branch. These are
//! PyTorch's CPU formulas, so a model ported from PyTorch gets the same bits.

use core::fmt;

use rectify_kernels::{Backward, Forward};

use crate::Error;

/// An activation function and its parameters.
///
/// Build one with the constructors, which validate ([`Activation::leaky_relu`]),
/// or as a literal and let the engine validate it on every call.
///
/// ```
/// use rectify::Activation;
///
/// let relu = Activation::default();
/// assert_eq!(relu, Activation::Relu);
/// let leaky = Activation::leaky_relu(0.2)?;
/// assert_eq!(leaky.to_string(), "leaky_relu(slope=0.2)");
/// assert_eq!(Activation::leaky_relu_default(), Activation::LeakyRelu { slope: 0.01 });
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
}

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
        let act = Activation::LeakyRelu { slope };
        act.validate()?;
        Ok(act)
    }

    /// Leaky ReLU with PyTorch's default slope, 0.01.
    pub const fn leaky_relu_default() -> Activation {
        Activation::LeakyRelu {
            slope: Activation::DEFAULT_LEAKY_SLOPE,
        }
    }

    /// The function's name, as the report and error messages print it.
    pub const fn name(&self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::LeakyRelu { .. } => "leaky_relu",
        }
    }

    /// Checks the parameters; every engine call does this first.
    ///
    /// ```
    /// use rectify::Activation;
    /// assert!(Activation::LeakyRelu { slope: -0.5 }.validate().is_ok());
    /// assert!(Activation::LeakyRelu { slope: f32::NAN }.validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<(), Error> {
        match *self {
            Activation::Relu => Ok(()),
            Activation::LeakyRelu { slope } => finite(self.name(), "slope", slope),
        }
    }

    /// Whether the gradient can be computed from the saved output, not only
    /// from the saved input (so the forward pass may run in place).
    ///
    /// ```
    /// use rectify::Activation;
    /// assert!(Activation::Relu.gradient_from_output().is_ok());
    /// assert!(Activation::LeakyRelu { slope: 0.1 }.gradient_from_output().is_ok());
    /// assert!(Activation::LeakyRelu { slope: -0.1 }.gradient_from_output().is_err());
    /// ```
    pub fn gradient_from_output(&self) -> Result<(), Error> {
        self.validate()?;
        match *self {
            Activation::Relu => Ok(()),
            Activation::LeakyRelu { slope } if slope < 0.0 => {
                Err(Error::GradientFromOutputUndefined {
                    activation: self.name(),
                    parameter: "slope",
                    value: slope,
                    requirement: "it must be >= 0 so that y > 0 exactly when x > 0",
                })
            }
            Activation::LeakyRelu { .. } => Ok(()),
        }
    }

    /// The kernel op of the forward pass (parameters already validated).
    pub(crate) fn forward_op(&self) -> Forward {
        match *self {
            Activation::Relu => Forward::Relu,
            Activation::LeakyRelu { slope } => Forward::LeakyRelu { slope },
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
        // For the ReLU family the gradient formula is the same whether `v` is
        // x or y: y > 0 exactly when x > 0 (for leaky, given slope >= 0).
        Ok(match *self {
            Activation::Relu => Backward::Relu,
            Activation::LeakyRelu { slope } => Backward::LeakyRelu { slope },
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
        }
    }
}
