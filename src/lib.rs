//! # rectify
//!
//! Fast, exact-by-contract activation kernels for `f32` buffers: ReLU, Leaky
//! ReLU, ELU, CELU and SELU, forward and backward (from the saved input or
//! output), PReLU with its per-channel slope gradient
//! ([`Kernels::prelu_backward`], layouts by [`ChannelLayout`]) and Maxout
//! ([`Kernels::maxout`]), on the best instruction set this CPU has (AVX-512,
//! AVX2+FMA, NEON, or a portable `wide` tier), chosen at run time, with large
//! buffers split across rayon's threads.
//!
//! The formulas are PyTorch's CPU formulas (see [`Activation`] for the table).
//! For the ReLU family every tier returns the same bits as the scalar
//! reference ([`rectify_kernels::reference`]); the exponential ones are within
//! 1 to 2 ULP of the exact result on every vector tier (portable, AVX2,
//! AVX-512, NEON; [`accuracy`]), and the FMA tiers agree bit for bit. The
//! scalar reference computes them with the C library's `expm1f`/`expf` and
//! is not held to those bounds (it is the baseline, not an accurate tier).
//!
//! ```
//! use rectify::{Activation, Saved};
//!
//! // Forward in place on the best tier; the gradient from the saved output.
//! let mut x = vec![-2.0f32, -0.5, 0.0, 1.5, 3.0];
//! rectify::relu(&mut x);
//! assert_eq!(x, [0.0, 0.0, 0.0, 1.5, 3.0]);
//!
//! let mut grad = vec![1.0f32; 5];
//! rectify::backward(Activation::Relu, Saved::Output(&x), &mut grad)?;
//! assert_eq!(grad, [0.0, 0.0, 0.0, 1.0, 1.0]);
//!
//! // Leaky ReLU into a second buffer.
//! let x = [-2.0f32, 2.0];
//! let mut y = [0.0f32; 2];
//! rectify::forward_into(Activation::leaky_relu(0.1)?, &x, &mut y)?;
//! assert_eq!(y, [-0.2, 2.0]);
//! # Ok::<(), rectify::Error>(())
//! ```
//!
//! - [`Kernels`] is the engine: pin a tier with [`Kernels::new`], run
//!   serially with [`Kernels::serial`]. The free functions use
//!   [`Kernels::global`], which honours the `RECTIFY_ISA` environment variable.
//! - Every call validates first and writes nothing when it returns an
//!   [`Error`].
//! - Feature `parallel` (default) splits buffers of at least
//!   [`DEFAULT_PARALLEL_THRESHOLD`] elements across the current rayon pool;
//!   results are bit-identical to a serial run.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod accuracy;
mod activation;
mod engine;
mod error;
mod maxout;
mod parallel;
mod prelu;

pub use activation::Activation;
pub use engine::{Kernels, Saved};
pub use error::Error;
pub use maxout::{MaxoutIndex, MaxoutSaved};
pub use parallel::DEFAULT_PARALLEL_THRESHOLD;
pub use prelu::ChannelLayout;
pub use rectify_kernels::{reference, Isa, ParseIsaError};

/// ReLU in place on the global engine: `x = max(0, x)` with the contract's
/// special values (NaN stays NaN, `-0` stays `-0`).
///
/// ```
/// let mut x = [-1.0f32, f32::NAN, 2.0];
/// rectify::relu(&mut x);
/// assert_eq!(x[0], 0.0);
/// assert!(x[1].is_nan());
/// assert_eq!(x[2], 2.0);
/// ```
pub fn relu(x: &mut [f32]) {
    Kernels::global()
        .forward(Activation::Relu, x)
        .expect("relu has no parameters to refuse")
}

/// Leaky ReLU in place on the global engine; refuses a non-finite slope.
///
/// ```
/// let mut x = [-1.0f32, 2.0];
/// rectify::leaky_relu(&mut x, 0.01)?;
/// assert_eq!(x, [-0.01, 2.0]);
/// # Ok::<(), rectify::Error>(())
/// ```
pub fn leaky_relu(x: &mut [f32], slope: f32) -> Result<(), Error> {
    Kernels::global().forward(Activation::LeakyRelu { slope }, x)
}

/// `x = f(x)` in place on the global engine. See [`Kernels::forward`].
///
/// ```
/// let mut x = [-4.0f32, 4.0];
/// rectify::forward(rectify::Activation::leaky_relu(0.25)?, &mut x)?;
/// assert_eq!(x, [-1.0, 4.0]);
/// # Ok::<(), rectify::Error>(())
/// ```
pub fn forward(act: Activation, x: &mut [f32]) -> Result<(), Error> {
    Kernels::global().forward(act, x)
}

/// `y = f(x)` on the global engine. See [`Kernels::forward_into`].
///
/// ```
/// let mut y = [0.0f32; 2];
/// let err = rectify::forward_into(rectify::Activation::Relu, &[1.0, 2.0, 3.0], &mut y).unwrap_err();
/// assert!(matches!(err, rectify::Error::LengthMismatch { argument: "y", expected: 3, actual: 2 }));
/// assert_eq!(y, [0.0, 0.0]); // refused calls write nothing
/// ```
pub fn forward_into(act: Activation, x: &[f32], y: &mut [f32]) -> Result<(), Error> {
    Kernels::global().forward_into(act, x, y)
}

/// `grad = grad * f'(saved)` in place on the global engine. See [`Kernels::backward`].
///
/// ```
/// use rectify::{Activation, Saved};
/// let y = [0.0f32, 2.0];
/// let mut grad = [3.0f32, 3.0];
/// rectify::backward(Activation::Relu, Saved::Output(&y), &mut grad)?;
/// assert_eq!(grad, [0.0, 3.0]);
/// # Ok::<(), rectify::Error>(())
/// ```
pub fn backward(act: Activation, saved: Saved<'_>, grad: &mut [f32]) -> Result<(), Error> {
    Kernels::global().backward(act, saved, grad)
}

/// `grad_in = grad_out * f'(saved)` on the global engine. See [`Kernels::backward_into`].
///
/// ```
/// use rectify::{Activation, Error, Saved};
/// let y = [0.0f32, 2.0];
/// let mut grad_in = [0.0f32; 2];
/// // Leaky ReLU with a negative slope cannot be differentiated from its output.
/// let act = Activation::leaky_relu(-0.5)?;
/// let err = rectify::backward_into(act, Saved::Output(&y), &[1.0, 1.0], &mut grad_in).unwrap_err();
/// assert!(matches!(err, Error::GradientFromOutputUndefined { .. }));
/// # Ok::<(), rectify::Error>(())
/// ```
pub fn backward_into(
    act: Activation,
    saved: Saved<'_>,
    grad_out: &[f32],
    grad_in: &mut [f32],
) -> Result<(), Error> {
    Kernels::global().backward_into(act, saved, grad_out, grad_in)
}

/// How this copy of rectify was built, for reports that compare machines.
///
/// ```
/// assert!(!rectify::build::TARGET.is_empty());
/// println!("{} {} ({})", rectify::build::VERSION, rectify::build::RUSTC, rectify::build::PROFILE);
/// ```
pub mod build {
    /// The crate version.
    pub const VERSION: &str = env!("CARGO_PKG_VERSION");
    /// `rustc --version` of the compiler that built the crate.
    pub const RUSTC: &str = env!("RECTIFY_BUILD_RUSTC");
    /// The target triple, e.g. `x86_64-unknown-linux-gnu`.
    pub const TARGET: &str = env!("RECTIFY_BUILD_TARGET");
    /// Cargo's profile name as build scripts see it (`release` or `debug`).
    pub const PROFILE: &str = env!("RECTIFY_BUILD_PROFILE");
    /// The optimisation level (`0`..`3`, `s`, `z`).
    pub const OPT_LEVEL: &str = env!("RECTIFY_BUILD_OPT_LEVEL");
    /// Compile-time target features, comma-separated (the run-time tiers are
    /// chosen independently of these).
    pub const TARGET_FEATURES: &str = env!("RECTIFY_BUILD_TARGET_FEATURES");
}

/// The README's Rust examples run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
