//! # rectify-kernels
//!
//! The unsafe implementation crate of [rectify](https://docs.rs/rectify):
//! every SIMD instruction and every `unsafe` line of the project lives here,
//! behind safe entry points. Use rectify, which validates and documents the
//! contract; this crate promises no stability beyond [`Isa`] and may change
//! any other item in any release.
//!
//! - [`Isa`] names the instruction-set tiers (scalar reference, portable `wide`,
//!   AVX2+FMA, AVX-512F, NEON) and detects at run time which ones this CPU has.
//! - [`KernelSet`] is the table of kernels of one tier. It can only be built for
//!   a tier that was detected ([`KernelSet::new`] returns `None` otherwise), so
//!   no caller can reach an AVX-512 instruction on a CPU without AVX-512.
//! - [`Op`] says which element-wise activation (and parameters) a kernel call
//!   computes, and [`Source`] which saved tensor a gradient reads. `Op` is
//!   generated from the activation registry (`registry/`), which also holds
//!   each activation's validation ([`Op::check`]), scalar reference, f64
//!   oracle and accuracy bounds. Kernel calls do not validate: the safe
//!   `rectify` crate checks parameters and lengths and documents the
//!   contract.
//! - [`Prelu`] describes the buffer a PReLU call works on a span of
//!   ([`KernelSet::prelu_forward`], [`KernelSet::prelu_backward`], which
//!   gives the slope gradient as [`SlopeGrad`] says: a span's sums, which
//!   [`KernelSet::prelu_grad_w`] turns into the gradient, or a whole
//!   buffer's gradient, [`GradW`]); [`MaxoutIndex`] says where Maxout
//!   writes its winners.
//!
//! Inside, each activation's vector algorithm is written once in `ops/`,
//! generic over the crate-private `F32Vector` trait (`vector.rs`), and each ISA
//! file in `isa/` implements that trait and instantiates the algorithms in thin
//! `#[target_feature]` functions. `reference.rs` is the scalar oracle, written
//! independently from the formulas.
//!
//! ```
//! use rectify_kernels::{Isa, KernelSet, Op};
//!
//! let k = KernelSet::new(Isa::best()).expect("the detected best tier is available");
//! let mut x = [-1.0f32, 0.5, -0.0, 3.0];
//! k.forward(Op::Relu, &mut x);
//! assert_eq!(x, [0.0, 0.5, -0.0, 3.0]);
//! ```
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

use core::fmt;
use core::str::FromStr;
use std::sync::OnceLock;

mod isa;
mod math;
mod ops;
pub mod reference;
mod registry;
mod vector;

pub use ops::prelu::{GradW, Prelu, SlopeGrad};
pub use registry::{Op, Refusal, Source};

/// An instruction-set tier that rectify has kernels for.
///
/// Ordered from the plainest to the widest; [`Isa::best`] is the widest one the
/// running CPU supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Isa {
    /// The scalar reference: one element at a time, straight from the formulas.
    /// Always available; the test oracle and the benchmark baseline.
    Scalar,
    /// The portable tier on `wide::f32x8` (SSE2 on x86_64, NEON on aarch64,
    /// simd128 on wasm, plain arrays elsewhere, as `wide` picks at compile time).
    /// Always available.
    Portable,
    /// x86_64 AVX2 with FMA, 8 lanes of `__m256`; masked loads/stores for tails.
    Avx2,
    /// x86_64 AVX-512F, 16 lanes of `__m512`; `__mmask16` mask registers for tails.
    Avx512,
    /// aarch64 Advanced SIMD, 4 lanes of `float32x4_t`.
    Neon,
}

impl Isa {
    /// Every tier, available or not, in a fixed order.
    pub const ALL: [Isa; 5] = [
        Isa::Scalar,
        Isa::Portable,
        Isa::Avx2,
        Isa::Avx512,
        Isa::Neon,
    ];

    /// The lower-case name used by `RECTIFY_ISA`, [`Display`](fmt::Display) and
    /// [`FromStr`].
    ///
    /// ```
    /// assert_eq!(rectify_kernels::Isa::Avx512.name(), "avx512");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Portable => "portable",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
            Isa::Neon => "neon",
        }
    }

    /// The CPU features the tier needs, as the detection macros name them.
    ///
    /// ```
    /// assert_eq!(rectify_kernels::Isa::Avx2.required_features(), "avx2+fma");
    /// ```
    pub const fn required_features(self) -> &'static str {
        match self {
            Isa::Scalar | Isa::Portable => "none",
            Isa::Avx2 => "avx2+fma",
            Isa::Avx512 => "avx512f",
            Isa::Neon => "neon",
        }
    }

    /// Vector width in f32 lanes (1 for the scalar reference).
    pub const fn lanes(self) -> usize {
        match self {
            Isa::Scalar => 1,
            Isa::Portable | Isa::Avx2 => 8,
            Isa::Avx512 => 16,
            Isa::Neon => 4,
        }
    }

    /// Whether this CPU can run the tier. Detection runs once per process and
    /// is cached.
    ///
    /// ```
    /// use rectify_kernels::Isa;
    /// assert!(Isa::Scalar.is_available());
    /// assert!(Isa::Portable.is_available());
    /// ```
    pub fn is_available(self) -> bool {
        Isa::available().contains(&self)
    }

    /// The tiers this CPU can run, plainest first (always starts with
    /// `Scalar, Portable`).
    pub fn available() -> &'static [Isa] {
        static AVAILABLE: OnceLock<Vec<Isa>> = OnceLock::new();
        AVAILABLE.get_or_init(|| Isa::ALL.into_iter().filter(|isa| isa.detect()).collect())
    }

    /// The widest tier this CPU can run: AVX-512 > AVX2 > NEON > portable.
    ///
    /// ```
    /// let best = rectify_kernels::Isa::best();
    /// assert!(best.is_available());
    /// ```
    pub fn best() -> Isa {
        *Isa::available().last().expect("Scalar is always available")
    }

    /// Asks the CPU (uncached).
    fn detect(self) -> bool {
        match self {
            Isa::Scalar | Isa::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => std::arch::is_x86_feature_detected!("avx512f"),
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => std::arch::is_aarch64_feature_detected!("neon"),
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// The error of parsing an [`Isa`] name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseIsaError(pub String);

impl fmt::Display for ParseIsaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown ISA {:?}: expected one of scalar, portable, avx2, avx512, neon",
            self.0
        )
    }
}

impl std::error::Error for ParseIsaError {}

impl FromStr for Isa {
    type Err = ParseIsaError;

    /// Parses a name as `RECTIFY_ISA` takes it (case-insensitive, surrounding
    /// blanks ignored).
    ///
    /// ```
    /// use rectify_kernels::Isa;
    /// assert_eq!(" AVX2 ".parse::<Isa>(), Ok(Isa::Avx2));
    /// assert!("sse9".parse::<Isa>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        Isa::ALL
            .into_iter()
            .find(|isa| isa.name().eq_ignore_ascii_case(t))
            .ok_or_else(|| ParseIsaError(s.to_string()))
    }
}

/// `forward(op, src, dst, n)`: `dst[i] = f(src[i])` for `i < n`; `src == dst` allowed.
type ForwardFn = unsafe fn(Op, *const f32, *mut f32, usize);
/// `backward(op, from, saved, grad_src, grad_dst, n)`; `grad_src == grad_dst` allowed.
type BackwardFn = unsafe fn(Op, Source, *const f32, *const f32, *mut f32, usize);

/// `maxout_forward(x, y, idx, idx_bytes, outer, k, inner)`.
type MaxoutForwardFn = unsafe fn(*const f32, *mut f32, *mut u8, usize, usize, usize, usize);
/// `maxout_backward(x, gy, gx, outer, k, inner)`.
type MaxoutBackwardFn = unsafe fn(*const f32, *const f32, *mut f32, usize, usize, usize);

/// The PReLU and Maxout kernels of one tier.
#[derive(Clone, Copy)]
struct LayoutFns {
    /// `prelu_forward(job)`, `prelu_backward(job)`: one checked span (see
    /// `ops::prelu::run_slopes` and `run_backward`).
    prelu_forward: unsafe fn(&ops::prelu::Job<'_>),
    prelu_backward: unsafe fn(&ops::prelu::Job<'_>),
    /// `prelu_grad_w(sums, w, out)` (see `ops::prelu::grad_w`).
    prelu_grad_w: unsafe fn(&[f64], &[f32], ops::prelu::GradW<'_>),
    maxout_forward: MaxoutForwardFn,
    maxout_backward: MaxoutBackwardFn,
    /// `all_finite(p, n)`.
    all_finite: unsafe fn(*const f32, usize) -> bool,
}

macro_rules! layout_fns {
    ($m:path) => {{
        use $m as m;
        LayoutFns {
            prelu_forward: m::prelu_forward,
            prelu_backward: m::prelu_backward,
            prelu_grad_w: m::prelu_grad_w,
            maxout_forward: m::maxout_forward,
            maxout_backward: m::maxout_backward,
            all_finite: m::all_finite,
        }
    }};
}

/// Where Maxout writes the winning piece of each output, if anywhere.
#[derive(Debug)]
pub enum MaxoutIndex<'a> {
    /// No indices.
    None,
    /// One byte per output (needs `k <= 256`).
    U8(&'a mut [u8]),
    /// Four bytes per output.
    U32(&'a mut [u32]),
}

/// The kernels of one instruction-set tier, safe to call.
///
/// Only constructible for a tier the CPU has (see [`KernelSet::new`]). Methods
/// process one contiguous slice on the calling thread; splitting across
/// threads is the safe crate's job. Every method panics if the slice lengths
/// differ (the safe crate validates before it calls).
///
/// ```
/// use rectify_kernels::{Isa, KernelSet, Op, Source};
///
/// let k = KernelSet::new(Isa::Scalar).unwrap();
/// let x = [-2.0f32, 2.0];
/// let mut y = [0.0f32; 2];
/// k.forward_into(Op::LeakyRelu { slope: 0.5 }, &x, &mut y);
/// assert_eq!(y, [-1.0, 2.0]);
///
/// let mut g = [1.0f32, 1.0];
/// k.backward(Op::LeakyRelu { slope: 0.5 }, Source::Input, &x, &mut g);
/// assert_eq!(g, [0.5, 1.0]);
/// ```
#[derive(Clone, Copy)]
pub struct KernelSet {
    isa: Isa,
    forward: ForwardFn,
    backward: BackwardFn,
    layout: LayoutFns,
}

impl fmt::Debug for KernelSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KernelSet")
            .field("isa", &self.isa)
            .finish_non_exhaustive()
    }
}

impl KernelSet {
    /// The kernels of `isa`, or `None` when this CPU lacks it (or it does not
    /// exist on this architecture).
    ///
    /// ```
    /// use rectify_kernels::{Isa, KernelSet};
    /// for isa in Isa::ALL {
    ///     assert_eq!(KernelSet::new(isa).is_some(), isa.is_available());
    /// }
    /// ```
    pub fn new(isa: Isa) -> Option<KernelSet> {
        if !isa.is_available() {
            return None;
        }
        let (forward, backward, layout): (ForwardFn, BackwardFn, LayoutFns) = match isa {
            Isa::Scalar => (
                reference::forward_raw,
                reference::backward_raw,
                LayoutFns {
                    prelu_forward: ops::prelu::scalar::<false>,
                    prelu_backward: ops::prelu::scalar::<true>,
                    prelu_grad_w: ops::prelu::grad_w,
                    maxout_forward: reference::maxout_forward_raw,
                    maxout_backward: reference::maxout_backward_raw,
                    all_finite: reference::all_finite_raw,
                },
            ),
            Isa::Portable => (
                isa::portable::forward,
                isa::portable::backward,
                layout_fns!(isa::portable),
            ),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => (
                isa::avx2::forward,
                isa::avx2::backward,
                layout_fns!(isa::avx2),
            ),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => (
                isa::avx512::forward,
                isa::avx512::backward,
                layout_fns!(isa::avx512),
            ),
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => (
                isa::neon::forward,
                isa::neon::backward,
                layout_fns!(isa::neon),
            ),
            #[allow(unreachable_patterns)]
            _ => return None,
        };
        Some(KernelSet {
            isa,
            forward,
            backward,
            layout,
        })
    }

    /// The tier these kernels run on.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// `x[i] = f(x[i])` in place.
    pub fn forward(&self, op: Op, x: &mut [f32]) {
        let p = x.as_mut_ptr();
        // SAFETY: `self` exists only for a detected ISA (see `new`), so the
        // kernel's instructions are supported; src and dst are the same valid
        // slice of `x.len()` elements, and every kernel reads element i before
        // it writes element i and touches no other index for it.
        unsafe { (self.forward)(op, p, p, x.len()) }
    }

    /// `y[i] = f(x[i])`.
    ///
    /// # Panics
    /// If `x.len() != y.len()`.
    pub fn forward_into(&self, op: Op, x: &[f32], y: &mut [f32]) {
        assert_eq!(x.len(), y.len(), "forward_into: x and y lengths differ");
        // SAFETY: detected ISA (see `new`); x and y are valid for `x.len()`
        // elements and cannot overlap (a shared and a mutable borrow).
        unsafe { (self.forward)(op, x.as_ptr(), y.as_mut_ptr(), x.len()) }
    }

    /// `grad[i] = grad[i] * f'(saved[i])` in place, with `saved` the input
    /// or the output as `from` says (from the output only where
    /// [`Op::check_from_output`] passes; otherwise the result is whatever
    /// the formula gives, never undefined behaviour).
    ///
    /// # Panics
    /// If `saved.len() != grad.len()`.
    pub fn backward(&self, op: Op, from: Source, saved: &[f32], grad: &mut [f32]) {
        assert_eq!(
            saved.len(),
            grad.len(),
            "backward: saved and grad lengths differ"
        );
        let g = grad.as_mut_ptr();
        // SAFETY: detected ISA; all three pointers are valid for `saved.len()`
        // elements; grad_src == grad_dst is the in-place form every kernel
        // supports (element i is read before it is written), and `saved`
        // cannot overlap `grad` (shared vs mutable borrow).
        unsafe { (self.backward)(op, from, saved.as_ptr(), g, g, saved.len()) }
    }

    /// `grad_in[i] = grad_out[i] * f'(saved[i])`.
    ///
    /// # Panics
    /// If the three lengths differ.
    pub fn backward_into(
        &self,
        op: Op,
        from: Source,
        saved: &[f32],
        grad_out: &[f32],
        grad_in: &mut [f32],
    ) {
        assert_eq!(
            saved.len(),
            grad_out.len(),
            "backward_into: saved and grad_out lengths differ"
        );
        assert_eq!(
            saved.len(),
            grad_in.len(),
            "backward_into: saved and grad_in lengths differ"
        );
        // SAFETY: detected ISA; the pointers are valid for `saved.len()`
        // elements and grad_in cannot overlap the two shared inputs.
        unsafe {
            (self.backward)(
                op,
                from,
                saved.as_ptr(),
                grad_out.as_ptr(),
                grad_in.as_mut_ptr(),
                saved.len(),
            )
        }
    }

    /// Maxout forward: `x` as `[outer, k, inner]`, `y[o, i]` = the winning
    /// piece's value (the first maximal piece, or the first NaN), its index
    /// written to `idx` unless [`MaxoutIndex::None`].
    ///
    /// # Panics
    /// If `k == 0`, `inner == 0`, the lengths do not match the layout, `U8`
    /// indices are asked for with `k > 256`, or `U32` indices with `k >
    /// 2^32`.
    pub fn maxout_forward(
        &self,
        x: &[f32],
        k: usize,
        inner: usize,
        y: &mut [f32],
        idx: MaxoutIndex<'_>,
    ) {
        check_maxout_layout(("x", x.len()), k, inner, ("y", y.len()));
        let outer = y.len() / inner;
        let (p, bytes) = match idx {
            MaxoutIndex::None => (core::ptr::null_mut(), 0),
            MaxoutIndex::U8(i) => {
                assert!(k <= 256, "maxout: u8 indices need k <= 256");
                assert_eq!(i.len(), y.len(), "maxout: one index per output");
                (i.as_mut_ptr(), 1)
            }
            MaxoutIndex::U32(i) => {
                assert!(k as u64 <= 1 << 32, "maxout: u32 indices need k <= 2^32");
                assert_eq!(i.len(), y.len(), "maxout: one index per output");
                (i.as_mut_ptr().cast::<u8>(), 4)
            }
        };
        // SAFETY: detected ISA; x holds outer * k * inner elements, y and the
        // indices outer * inner (checked above without overflow, so these
        // products fit in usize); y and the indices are exclusive borrows,
        // disjoint from x and from each other.
        unsafe {
            (self.layout.maxout_forward)(x.as_ptr(), y.as_mut_ptr(), p, bytes, outer, k, inner)
        }
    }

    /// Maxout backward, the winners recomputed from `x`: `grad_x[o, p, i] =
    /// p wins ? grad_y[o, i] : +0`.
    ///
    /// # Panics
    /// If `k == 0`, `inner == 0`, or the lengths do not match the layout.
    pub fn maxout_backward(
        &self,
        x: &[f32],
        k: usize,
        inner: usize,
        grad_y: &[f32],
        grad_x: &mut [f32],
    ) {
        check_maxout_layout(("x", x.len()), k, inner, ("grad_y", grad_y.len()));
        assert_eq!(grad_x.len(), x.len(), "maxout: grad_x and x lengths differ");
        let outer = grad_y.len() / inner;
        // SAFETY: detected ISA; x and grad_x hold outer * k * inner elements,
        // grad_y outer * inner (checked above without overflow); grad_x is
        // an exclusive borrow, disjoint from x and grad_y.
        unsafe {
            (self.layout.maxout_backward)(
                x.as_ptr(),
                grad_y.as_ptr(),
                grad_x.as_mut_ptr(),
                outer,
                k,
                inner,
            )
        }
    }

    /// Whether every value is finite (no infinity, no NaN): how PReLU's
    /// slopes are checked before any write, at the tier's width (a scalar
    /// pass over 4096 slopes took longer than the forward over one row of
    /// them).
    ///
    /// ```
    /// use rectify_kernels::{Isa, KernelSet};
    /// let k = KernelSet::new(Isa::best()).unwrap();
    /// let mut w = vec![0.25f32; 100];
    /// assert!(k.all_finite(&w));
    /// w[97] = f32::NEG_INFINITY;
    /// assert!(!k.all_finite(&w));
    /// ```
    pub fn all_finite(&self, v: &[f32]) -> bool {
        // SAFETY: detected ISA; `v` is valid for its length.
        unsafe { (self.layout.all_finite)(v.as_ptr(), v.len()) }
    }
}

/// Panics unless `k` and `inner` are positive and the pieces' buffer
/// (`pieces`: its name and length) is `[outer, k, inner]` for an output
/// buffer (`out`) of `outer * inner` elements. The product `out.1 * k` is
/// checked, not wrapped: in a release build a wrapped product could match
/// and let a kernel walk far past the pieces.
pub(crate) fn check_maxout_layout(
    (name, len): (&str, usize),
    k: usize,
    inner: usize,
    (out, out_len): (&str, usize),
) {
    assert!(k > 0 && inner > 0, "maxout: k and inner must be at least 1");
    assert!(
        out_len.checked_mul(k) == Some(len),
        "maxout: {name} ({len} elements) is not k = {k} times {out} ({out_len} elements)"
    );
    assert!(
        out_len.is_multiple_of(inner),
        "maxout: {out} ({out_len} elements) is not whole rows of inner = {inner}"
    );
}

/// The input of an in-place-or-into call: `src`, or `dst` itself. `dst` is
/// the output's pointer from its one `as_mut_ptr`: deriving the input from it
/// (not from a second borrow of the slice, which that `as_mut_ptr` would
/// invalidate under Stacked Borrows; Miri caught it) keeps both valid.
///
/// # Panics
/// If `src` is not `n` long, with `message`.
#[inline(always)]
fn source(src: Option<&[f32]>, dst: *mut f32, n: usize, message: &str) -> *const f32 {
    src.map_or(dst.cast_const(), |s| {
        assert_eq!(s.len(), n, "{message}");
        s.as_ptr()
    })
}
