//! [`Error`]: one variant per way a call can be refused. Every entry point
//! validates before it writes, so a refused call leaves every buffer untouched.

use core::fmt;

use crate::Isa;

/// Why rectify refused a call. Nothing was written when one is returned.
///
/// ```
/// use rectify::{Activation, Error};
///
/// let err = Activation::LeakyRelu { slope: f32::NAN }.validate().unwrap_err();
/// assert!(matches!(err, Error::InvalidParameter { parameter: "slope", .. }));
/// assert_eq!(err.to_string(), "leaky_relu: parameter slope = NaN is invalid: it must be finite");
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// Two buffers that must have the same length do not.
    LengthMismatch {
        /// The argument whose length is wrong.
        argument: &'static str,
        /// The length it must have (that of the first buffer of the call).
        expected: usize,
        /// The length it has.
        actual: usize,
    },
    /// An activation parameter is outside its domain.
    InvalidParameter {
        /// The activation, e.g. `"leaky_relu"`.
        activation: &'static str,
        /// The parameter, e.g. `"slope"`.
        parameter: &'static str,
        /// The value given.
        value: f32,
        /// What the value must satisfy, e.g. `"it must be finite"`.
        requirement: &'static str,
    },
    /// The gradient cannot be recovered from the saved output for these
    /// parameters (e.g. Leaky ReLU with a negative slope maps positive and
    /// negative inputs to outputs of the same sign). Save the input instead.
    GradientFromOutputUndefined {
        /// The activation.
        activation: &'static str,
        /// The parameter that makes it ambiguous.
        parameter: &'static str,
        /// Its value.
        value: f32,
        /// What the parameter would have to satisfy.
        requirement: &'static str,
    },
    /// A buffer's length is not that of its [`ChannelLayout`](crate::ChannelLayout),
    /// `outer * channels * inner`.
    LayoutMismatch {
        /// The buffer, e.g. `"x"`.
        argument: &'static str,
        /// Its length.
        len: usize,
        /// The layout's outer extent (images, rows).
        outer: usize,
        /// The layout's channels.
        channels: usize,
        /// The layout's inner extent.
        inner: usize,
    },
    /// A channel axis that is not an axis of the shape.
    AxisOutOfRange {
        /// The argument, e.g. `"channel_axis"`.
        argument: &'static str,
        /// The axis given.
        axis: usize,
        /// The shape's number of dimensions: the axis must be below it.
        rank: usize,
    },
    /// A shape no layout can describe: a channel dimension of 0, or
    /// dimensions whose product overflows `usize`.
    InvalidShape {
        /// The argument, e.g. `"shape"`.
        argument: &'static str,
        /// The dimension at fault.
        axis: usize,
        /// Its extent.
        value: usize,
        /// What it must satisfy.
        requirement: &'static str,
    },
    /// A size parameter (Maxout's `k`) outside what the operation accepts.
    InvalidSize {
        /// The operation, e.g. `"maxout"`.
        operation: &'static str,
        /// The parameter, e.g. `"k"`.
        parameter: &'static str,
        /// The value given.
        value: usize,
        /// What it must satisfy, e.g. `"it must be at least 1"`.
        requirement: &'static str,
    },
    /// A buffer is not `[outer, k, inner]` for Maxout's `k` pieces: its
    /// length is not a multiple of `k * inner`, or `inner` is 0.
    PiecesMismatch {
        /// The buffer, e.g. `"x"`.
        argument: &'static str,
        /// Its length.
        len: usize,
        /// The pieces per output.
        k: usize,
        /// The pieces' inner extent.
        inner: usize,
    },
    /// A saved Maxout winner that is not one of the `k` pieces.
    IndexOutOfRange {
        /// The buffer, e.g. `"idx"`.
        argument: &'static str,
        /// Where in it the first such index is.
        position: usize,
        /// The index found there.
        index: u64,
        /// The pieces per output: every index must be below it.
        k: usize,
    },
    /// A forced instruction-set tier that this CPU does not have.
    IsaUnavailable {
        /// The tier asked for.
        isa: Isa,
        /// The CPU features it needs.
        requires: &'static str,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::LengthMismatch {
                argument,
                expected,
                actual,
            } => write!(
                f,
                "length mismatch: {argument} has {actual} elements, expected {expected}"
            ),
            Error::InvalidParameter {
                activation,
                parameter,
                value,
                requirement,
            } => write!(
                f,
                "{activation}: parameter {parameter} = {value} is invalid: {requirement}"
            ),
            Error::GradientFromOutputUndefined {
                activation,
                parameter,
                value,
                requirement,
            } => write!(
                f,
                "{activation}: the gradient is not defined from the saved output when \
                 {parameter} = {value} ({requirement}); pass Saved::Input instead"
            ),
            Error::LayoutMismatch {
                argument,
                len,
                outer,
                channels,
                inner,
            } => write!(
                f,
                "layout mismatch: {argument} has {len} elements, but its layout [outer, \
                 channels, inner] = [{outer}, {channels}, {inner}] has {}",
                // A layout's product fits in usize (its constructors check).
                outer.saturating_mul(*channels).saturating_mul(*inner)
            ),
            Error::AxisOutOfRange {
                argument,
                axis,
                rank,
            } => write!(
                f,
                "{argument} = {axis} is not an axis of a shape of {rank} dimensions (it must \
                 be below {rank})"
            ),
            Error::InvalidShape {
                argument,
                axis,
                value,
                requirement,
            } => write!(f, "{argument}[{axis}] = {value} is invalid: {requirement}"),
            Error::InvalidSize {
                operation,
                parameter,
                value,
                requirement,
            } => write!(
                f,
                "{operation}: {parameter} = {value} is invalid: {requirement}"
            ),
            Error::PiecesMismatch {
                argument,
                len,
                k,
                inner,
            } => write!(
                f,
                "shape mismatch: {argument} has {len} elements, which is not [outer, {k} \
                 pieces, {inner}] for any outer (inner must be at least 1 and k * inner \
                 divide the length)"
            ),
            Error::IndexOutOfRange {
                argument,
                position,
                index,
                k,
            } => write!(
                f,
                "{argument}[{position}] = {index} is not a piece of {k}: every index must be \
                 below k"
            ),
            Error::IsaUnavailable { isa, requires } => {
                write!(
                    f,
                    "instruction set {isa} is not available on this CPU (it needs {requires})"
                )
            }
        }
    }
}

impl std::error::Error for Error {}

/// `Ok` when a buffer has the length it must have, else
/// [`Error::LengthMismatch`] naming it.
pub(crate) fn same_len(
    argument: &'static str,
    expected: usize,
    actual: usize,
) -> Result<(), Error> {
    if expected == actual {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            argument,
            expected,
            actual,
        })
    }
}
