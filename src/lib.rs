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
//! reference; the exponential ones are within 1 to 2 ULP of the exact result
//! on every vector tier (portable, AVX2, AVX-512, NEON), and the FMA tiers
//! agree bit for bit. The scalar reference computes them with the C
//! library's `expm1f`/`expf` and is not held to those bounds (it is the
//! baseline, not an accurate tier).
//!
//! ```
//! use rectify::{Activation, Kernels, Saved};
//!
//! let k = Kernels::from_env(); // the best tier this CPU has (or RECTIFY_ISA's)
//!
//! // Forward in place; the gradient from the saved output.
//! let mut x = vec![-2.0f32, -0.5, 0.0, 1.5, 3.0];
//! k.forward(Activation::Relu, &mut x)?;
//! assert_eq!(x, [0.0, 0.0, 0.0, 1.5, 3.0]);
//!
//! let mut grad = vec![1.0f32; 5];
//! k.backward(Activation::Relu, Saved::Output(&x), &mut grad)?;
//! assert_eq!(grad, [0.0, 0.0, 0.0, 1.0, 1.0]);
//!
//! // Leaky ReLU into a second buffer.
//! let x = [-2.0f32, 2.0];
//! let mut y = [0.0f32; 2];
//! k.forward_into(Activation::LeakyRelu { slope: 0.1 }, &x, &mut y)?;
//! assert_eq!(y, [-0.2, 2.0]);
//! # Ok::<(), rectify::Error>(())
//! ```
//!
//! - [`Kernels`] is the engine, and every family goes through it: element-wise
//!   activations ([`Kernels::forward`], [`Kernels::backward`] and their
//!   `_into` forms), PReLU ([`Kernels::prelu`]) and Maxout
//!   ([`Kernels::maxout`]). [`Kernels::from_env`] honours the `RECTIFY_ISA`
//!   environment variable; pin a tier with [`Kernels::new`], run serially
//!   with [`Kernels::serial`].
//! - Every call validates first and writes nothing when it returns an
//!   [`Error`].
//! - Feature `parallel` (default) splits buffers of at least
//!   [`DEFAULT_PARALLEL_THRESHOLD`] elements across the current rayon pool;
//!   results are bit-identical to a serial run.
//!
//! # Stability
//!
//! The semver promise covers the items documented here: [`Kernels`] and its
//! methods, [`Activation`], [`Saved`], [`Grad`], [`ChannelLayout`], the Maxout index
//! types, [`Error`], [`Isa`] and [`DEFAULT_PARALLEL_THRESHOLD`], and the
//! results the math contract states. Items hidden from these docs (the test
//! oracle, the scalar reference, build facts for the report) and the
//! `rectify-kernels` crate beyond its `Isa` are implementation details that
//! may change in any release.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// The f64 oracle and the ULP measure: what the tests, the accuracy sweep
/// and the report check the kernels against. Hidden from the docs: a
/// testing aid with no stability promise.
#[doc(hidden)]
pub mod accuracy;
mod activation;
mod engine;
mod error;
mod layout;
mod maxout;
mod parallel;
mod prelu;

pub use activation::Activation;
pub use engine::{Grad, Kernels, Saved};
pub use error::Error;
pub use layout::ChannelLayout;
pub use maxout::MaxoutIndex;
pub use parallel::DEFAULT_PARALLEL_THRESHOLD;
/// The scalar reference, one element at a time: the oracle of the ReLU
/// family and the benchmarks' baseline. Hidden from the docs: a testing aid
/// with no stability promise.
#[doc(hidden)]
pub use rectify_kernels::reference;
pub use rectify_kernels::{Isa, ParseIsaError};

/// How this copy of rectify was built, for reports that compare machines.
///
/// Hidden from the docs: it serves the report tool (`tools/report`), not
/// users, and carries no stability promise.
///
/// ```
/// assert!(!rectify::build::TARGET.is_empty());
/// println!("{} {} ({})", rectify::build::VERSION, rectify::build::RUSTC, rectify::build::PROFILE);
/// ```
#[doc(hidden)]
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
