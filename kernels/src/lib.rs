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

pub use registry::{Op, Refusal, Source};

pub use ops::prelu::{
    ACC_TERMS as PRELU_ACC_TERMS, ONE_IMAGE_MAX_INNER as PRELU_ONE_IMAGE_MAX_INNER,
    PATTERN_ROWS as PRELU_PATTERN_ROWS,
};

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

/// `prelu_runs_forward(x, y, n, w, c_len, channel, inner, offset)`.
type PreluRunsForwardFn =
    unsafe fn(*const f32, *mut f32, usize, *const f32, usize, usize, usize, usize);
/// `prelu_pattern_forward(x, y, n, pattern, p, offset)`.
type PreluPatternForwardFn = unsafe fn(*const f32, *mut f32, usize, *const f32, usize, usize);
/// `prelu_runs_backward(v, g, dst, n, w, c_len, channel, inner, offset, piece, sums,
/// by_channel)`.
type PreluRunsBackwardFn = unsafe fn(
    *const f32,
    *const f32,
    *mut f32,
    usize,
    *const f32,
    usize,
    usize,
    usize,
    usize,
    usize,
    *mut f64,
    bool,
);
/// `prelu_pattern_backward(v, g, dst, stride, width, rows, pattern, acc)`.
type PreluPatternBackwardFn =
    unsafe fn(*const f32, *const f32, *mut f32, usize, usize, usize, *const f32, *mut f32);

/// `prelu_one_image_backward(v, g, dst, n, w, inner, sums)`.
type PreluOneImageBackwardFn =
    unsafe fn(*const f32, *const f32, *mut f32, usize, *const f32, usize, *mut f64);

/// `prelu_periodic_backward(v, g, dst, n, slopes, q, channel, c_len, partials)`.
type PreluPeriodicBackwardFn = unsafe fn(
    *const f32,
    *const f32,
    *mut f32,
    usize,
    *const f32,
    usize,
    *const u32,
    usize,
    *mut f64,
);

/// `maxout_forward(x, y, idx, idx_bytes, outer, k, inner)`.
type MaxoutForwardFn = unsafe fn(*const f32, *mut f32, *mut u8, usize, usize, usize, usize);
/// `maxout_backward(x, gy, gx, outer, k, inner)`.
type MaxoutBackwardFn = unsafe fn(*const f32, *const f32, *mut f32, usize, usize, usize);

/// The PReLU and Maxout kernels of one tier.
#[derive(Clone, Copy)]
struct LayoutFns {
    runs_forward: PreluRunsForwardFn,
    pattern_forward: PreluPatternForwardFn,
    /// `(x, y, n, w, p, offset)`: the pattern forward's signature, `w`
    /// without a pad.
    rows_forward: PreluPatternForwardFn,
    /// `(x, y, n, slopes, q, offset)`: the pattern forward's signature.
    periodic_forward: PreluPatternForwardFn,
    runs_backward: PreluRunsBackwardFn,
    pattern_backward: PreluPatternBackwardFn,
    periodic_backward: PreluPeriodicBackwardFn,
    one_image_backward: PreluOneImageBackwardFn,
    maxout_forward: MaxoutForwardFn,
    maxout_backward: MaxoutBackwardFn,
    /// `all_finite(p, n)`.
    all_finite: unsafe fn(*const f32, usize) -> bool,
}

macro_rules! layout_fns {
    ($m:path) => {{
        use $m as m;
        LayoutFns {
            runs_forward: m::prelu_runs_forward,
            pattern_forward: m::prelu_pattern_forward,
            rows_forward: m::prelu_rows_forward,
            periodic_forward: m::prelu_periodic_forward,
            runs_backward: m::prelu_runs_backward,
            pattern_backward: m::prelu_pattern_backward,
            periodic_backward: m::prelu_periodic_backward,
            one_image_backward: m::prelu_one_image_backward,
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

/// Where a span of a PReLU buffer sits in its `[outer, C, inner]` layout, for
/// the "runs" kernels: runs of `inner` elements, one per `(outer, channel)`
/// pair, the span starting `offset` elements into a run of channel `channel`.
#[derive(Clone, Copy, Debug)]
pub struct PreluRuns<'a> {
    /// One slope per channel (`C = w.len()`).
    pub w: &'a [f32],
    /// The channel of the span's first run (`< C`).
    pub channel: usize,
    /// The run length (`inner`, at least 1).
    pub inner: usize,
    /// Where in its run the span starts (`< inner`).
    pub offset: usize,
}

impl PreluRuns<'_> {
    fn check(&self) {
        assert!(self.inner > 0, "prelu: inner must be at least 1");
        assert!(self.channel < self.w.len(), "prelu: channel out of range");
        assert!(self.offset < self.inner, "prelu: offset out of range");
    }

    /// How many pieces [`KernelSet::prelu_runs_backward`] cuts a span of `n`
    /// elements into: at every run's end and every `piece` elements of a run
    /// (`offset` a multiple of `piece`).
    ///
    /// ```
    /// use rectify_kernels::PreluRuns;
    /// let runs = PreluRuns { w: &[0.5, 0.25], channel: 0, inner: 10, offset: 4 };
    /// // 20 elements: the last 6 of a run, a whole run of 10, 4 of the next.
    /// assert_eq!(runs.pieces(20, 2), 3 + 5 + 2);
    /// assert_eq!(runs.pieces(20, 4), 2 + 3 + 1);
    /// ```
    ///
    /// # Panics
    /// If `piece` is 0 or the runs are inconsistent (as for
    /// [`KernelSet::prelu_runs_backward`]).
    pub fn pieces(&self, n: usize, piece: usize) -> usize {
        self.check();
        assert!(piece > 0, "prelu: piece must be at least 1");
        // The rest of the first run, the whole runs after it, and the start
        // of a last one: no step per piece (`n` may be any size), and no sum
        // here can overflow (the count is at most `n`).
        let first = n.min(self.inner - self.offset);
        let rest = n - first;
        first.div_ceil(piece)
            + rest / self.inner * self.inner.div_ceil(piece)
            + (rest % self.inner).div_ceil(piece)
    }
}

/// Where [`KernelSet::prelu_runs_backward`] puts each piece's slope-gradient
/// sum.
#[derive(Debug)]
pub enum PieceSums<'a> {
    /// Written to one slot per piece ([`PreluRuns::pieces`]), in order.
    PerPiece(&'a mut [f64]),
    /// Added to its channel's slot (one per channel), piece after piece in
    /// order: the same bits as the `PerPiece` sums added to these slots in
    /// piece order, without a slot per piece (a call that is not split).
    PerChannel(&'a mut [f64]),
}

/// A PReLU slope pattern laid out for [`KernelSet::prelu_pattern_forward`]:
/// a row of slopes (one per element of a layout row) repeated to a period
/// of at least `min_len` elements (up to [`PreluPattern::MAX_MIN_LEN`]), followed by [`PreluPattern::PAD`] more
/// slopes that continue the cycle, so that a vector starting anywhere in
/// the period reads its slopes without wrapping. The forward kernel walks
/// the buffer once with aligned stores and steps through the pattern in
/// segments between wraps.
///
/// Where the pattern sits in memory matters for speed (never for results),
/// so it is placed for the buffer it will run over (`dst`, whose address is
/// all that is used):
///
/// - the period is, where it stays at most `max_len`, a multiple of 1024
///   elements (4 KiB), else of 16 (64 bytes), else just of the row;
/// - its first slope sits 2 KiB past `dst` modulo 4 KiB.
///
/// With a 4 KiB period, every slope load is then as aligned as the data and
/// 2 KiB away, modulo 4 KiB, from the stores in flight. Before, with the
/// pattern wherever the allocator put it, a pattern just below the data
/// modulo 4 KiB made every load's low 12 bits match a recent store's and
/// the loop ran at half speed (measured on Zen 3: "4K aliasing"), and a
/// buffer 16 bytes off a 32-byte boundary made every slope load misaligned
/// (about 0.75 of ReLU's speed).
///
/// ```
/// use rectify_kernels::{Isa, KernelSet, PreluPattern};
///
/// // NHWC with 2 channels, slopes 0.5 and 0.25.
/// let mut x = [-2.0f32, -2.0, 1.0, -4.0, -8.0];
/// let pattern = PreluPattern::new(&[0.5, 0.25], 2, 2, x.as_ptr());
/// let k = KernelSet::new(Isa::Scalar).unwrap();
/// k.prelu_pattern_forward(None, &mut x, &pattern, 0);
/// assert_eq!(x, [-1.0, -0.5, 1.0, -1.0, -4.0]);
/// ```
#[derive(Clone, Debug)]
pub struct PreluPattern {
    storage: Vec<f32>,
    start: usize,
    period: usize,
}

impl PreluPattern {
    /// Slopes past the period that repeat its start: the widest tier's lanes.
    pub const PAD: usize = 16;

    /// The longest `min_len` honoured: a longer one asks for no longer a
    /// period than this (the period only sets how often the kernels wrap,
    /// never a result), so the pattern's size follows from `row`, never
    /// from an arbitrary request.
    pub const MAX_MIN_LEN: usize = 1 << 16;

    /// The pattern of `row` repeated, placed for a buffer at `dst`: a period
    /// of at least `min(min_len, MAX_MIN_LEN)` slopes (and at least
    /// [`PreluPattern::PAD`]), a whole number of rows.
    ///
    /// # Panics
    /// If `row` is empty, or so long that the period's size overflows.
    pub fn new(row: &[f32], min_len: usize, max_len: usize, dst: *const f32) -> PreluPattern {
        assert!(!row.is_empty(), "prelu: empty slope row");
        let r = row.len();
        let min_len = min_len.clamp(Self::PAD, Self::MAX_MIN_LEN);
        // The shortest period of whole rows that is a multiple of `unit`
        // elements and at least `min_len` long, if its size fits.
        let shortest = |unit: usize| {
            let l = (unit / gcd(r, unit)).checked_mul(r)?;
            l.checked_mul(min_len.div_ceil(l))
        };
        let period = [1024, 16]
            .into_iter()
            .filter_map(shortest)
            .find(|&p| p <= max_len)
            .or_else(|| shortest(1))
            .unwrap_or_else(|| panic!("prelu: a pattern of rows of {r} slopes overflows"));
        let (mut storage, start) = placed(period, Self::PAD, dst, 2048);
        // The row, then doubling copies: memcpy speed (the pattern is built
        // on every call).
        storage.extend_from_slice(row);
        let end = start + period + Self::PAD;
        while storage.len() < end {
            let more = (storage.len() - start).min(end - storage.len());
            storage.extend_from_within(start..start + more);
        }
        PreluPattern {
            storage,
            start,
            period,
        }
    }

    /// The period: element `i` of a buffer takes slope `i % period` (from
    /// the pattern's offset).
    pub fn period(&self) -> usize {
        self.period
    }

    /// The slopes of one period and the [`PreluPattern::PAD`] after it.
    pub fn slopes(&self) -> &[f32] {
        &self.storage[self.start..]
    }
}

/// Column accumulators for [`KernelSet::prelu_pattern_backward`], zeroed,
/// placed for the buffer at `dst` (whose address is all that is used) as
/// [`PreluPattern`] is: aligned as its columns are, 2 KiB away modulo 4 KiB,
/// so that the backward's stores of the accumulators and of the gradient
/// never wait on each other (measured on Zen 3: 0.35-0.45 of Leaky ReLU's
/// speed at the unlucky addresses, 0.55-0.65 at the others).
///
/// ```
/// use rectify_kernels::PreluAccumulators;
/// let x = vec![0.0f32; 64];
/// let mut acc = PreluAccumulators::new(16, x.as_ptr());
/// assert_eq!(acc.as_mut_slice(), &[0.0; 16]);
/// ```
#[derive(Clone, Debug)]
pub struct PreluAccumulators {
    storage: Vec<f32>,
    start: usize,
}

impl PreluAccumulators {
    /// The most accumulators one call makes: a block of columns, not a
    /// buffer (so that no request can size an allocation past this).
    pub const MAX_LEN: usize = 1 << 16;

    /// `len` zeroed accumulators placed for a buffer at `dst`.
    ///
    /// # Panics
    /// If `len` is above [`PreluAccumulators::MAX_LEN`].
    pub fn new(len: usize, dst: *const f32) -> PreluAccumulators {
        assert!(
            len <= Self::MAX_LEN,
            "prelu: {len} accumulators are more than {}",
            Self::MAX_LEN
        );
        let (mut storage, start) = placed(len, 0, dst, 2048);
        storage.resize(start + len, 0.0);
        PreluAccumulators { storage, start }
    }

    /// The accumulators.
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.storage[self.start..]
    }
}

/// An empty vector with room for `start + len + extra` elements, `start`
/// chosen so that element `start` sits `gap` bytes past `dst` modulo 4 KiB
/// (so with `dst`'s alignment modulo 64 when `gap` is a multiple of 64); the
/// first `start` elements are already pushed (zeros).
///
/// # Panics
/// If the size overflows.
fn placed(len: usize, extra: usize, dst: *const f32, gap: usize) -> (Vec<f32>, usize) {
    let size = core::mem::size_of::<f32>();
    // Room to place the start anywhere modulo 4 KiB.
    let room = len
        .checked_add(extra)
        .and_then(|n| n.checked_add(4096 / size))
        .unwrap_or_else(|| panic!("prelu: {len} placed elements overflow"));
    let mut storage = Vec::with_capacity(room);
    let base = storage.as_ptr() as usize;
    let target = (dst as usize).wrapping_add(gap);
    let start = target.wrapping_sub(base) % 4096 / size;
    storage.resize(start, 0.0);
    (storage, start)
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
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
                    runs_forward: reference::prelu_runs_forward_raw,
                    pattern_forward: reference::prelu_pattern_forward_raw,
                    // It reads only slopes `(offset + i) % p`: no pad.
                    rows_forward: reference::prelu_pattern_forward_raw,
                    // Element i takes slope (offset + i) % q: the pattern
                    // loop, with the period as the pattern.
                    periodic_forward: reference::prelu_pattern_forward_raw,
                    runs_backward: reference::prelu_runs_backward_raw,
                    pattern_backward: reference::prelu_pattern_backward_raw,
                    periodic_backward: reference::prelu_periodic_backward_raw,
                    one_image_backward: reference::prelu_one_image_backward_raw,
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

    /// PReLU forward over a span of runs: `y = x > 0 ? x : w[c] * x`, in place
    /// when `src` is `None`.
    ///
    /// # Panics
    /// If `src` and `dst` lengths differ or `runs` is inconsistent.
    pub fn prelu_runs_forward(&self, src: Option<&[f32]>, dst: &mut [f32], runs: PreluRuns<'_>) {
        runs.check();
        let n = dst.len();
        let d = dst.as_mut_ptr();
        let x = source(src, d, n);
        // SAFETY: detected ISA (see `new`); x and d valid for n elements,
        // the same buffer (both from one `as_mut_ptr`) or disjoint (shared vs
        // mutable borrow); `runs` was checked: channel < C = w.len(), offset
        // < inner.
        unsafe {
            (self.layout.runs_forward)(
                x,
                d,
                n,
                runs.w.as_ptr(),
                runs.w.len(),
                runs.channel,
                runs.inner,
                runs.offset,
            )
        }
    }

    /// PReLU forward with one slope per element of a repeating pattern:
    /// element `i` uses slope `(offset + i) % pattern.period()` of the
    /// pattern; in place when `src` is `None`.
    ///
    /// # Panics
    /// If the lengths differ or `offset` is not below the period.
    pub fn prelu_pattern_forward(
        &self,
        src: Option<&[f32]>,
        dst: &mut [f32],
        pattern: &PreluPattern,
        offset: usize,
    ) {
        let p = pattern.period();
        assert!(offset < p, "prelu: pattern offset out of range");
        let n = dst.len();
        let d = dst.as_mut_ptr();
        let x = source(src, d, n);
        let slopes = pattern.slopes();
        debug_assert!(p >= PreluPattern::PAD && slopes.len() == p + PreluPattern::PAD);
        // SAFETY: detected ISA; x and d valid for n, equal (one
        // `as_mut_ptr`) or disjoint; the slopes are valid for p + PAD reads,
        // the PAD after the period repeating its start (`PreluPattern::new`
        // builds them so), p >= PAD; offset < p.
        unsafe { (self.layout.pattern_forward)(x, d, n, slopes.as_ptr(), p, offset) }
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

    /// PReLU forward over the rows of a `[rows, C]` matrix (NHWC): element
    /// `i` uses slope `w[(offset + i) % C]`, `C = w.len()`, the slopes read
    /// as they are (no pattern is built); in place when `src` is `None`.
    ///
    /// ```
    /// use rectify_kernels::{Isa, KernelSet};
    /// let k = KernelSet::new(Isa::Scalar).unwrap();
    /// let w: Vec<f32> = (0..32).map(|c| c as f32).collect();
    /// let mut x = vec![-1.0f32; 70];
    /// k.prelu_rows_forward(None, &mut x, &w, 30);
    /// assert_eq!((x[0], x[1], x[2]), (-30.0, -31.0, -0.0));
    /// ```
    ///
    /// # Panics
    /// If the lengths differ, `offset` is not below `C`, or `C` is below
    /// the tier's vector length ([`Isa::lanes`]).
    pub fn prelu_rows_forward(
        &self,
        src: Option<&[f32]>,
        dst: &mut [f32],
        w: &[f32],
        offset: usize,
    ) {
        let p = w.len();
        assert!(offset < p, "prelu: row offset out of range");
        assert!(
            p >= self.isa.lanes(),
            "prelu: a row of {p} slopes is shorter than the {} tier's vector",
            self.isa
        );
        let n = dst.len();
        let d = dst.as_mut_ptr();
        let x = source(src, d, n);
        // SAFETY: detected ISA; x and d valid for n, equal (one
        // `as_mut_ptr`) or disjoint; w valid for p >= lanes reads; offset <
        // p.
        unsafe { (self.layout.rows_forward)(x, d, n, w.as_ptr(), p, offset) }
    }

    /// PReLU forward with a slope row that repeats within a few vectors:
    /// element `i` uses slope `slopes[(offset + i) % q]`, `q = slopes.len()`
    /// from [`KernelSet::prelu_periodic_classes`]; in place when `src` is
    /// `None`. The slopes stay in registers: no pattern is built or read.
    ///
    /// ```
    /// use rectify_kernels::{Isa, KernelSet};
    /// let k = KernelSet::new(Isa::best()).unwrap();
    /// // NHWC, 2 channels with slopes 0.5 and 0.25.
    /// let q = k.prelu_periodic_classes(2).unwrap();
    /// let slopes: Vec<f32> = (0..q).map(|i| [0.5, 0.25][i % 2]).collect();
    /// let mut x = [-2.0f32, -4.0, 3.0, -1.0];
    /// k.prelu_periodic_forward(None, &mut x, &slopes, 0);
    /// assert_eq!(x, [-1.0, -1.0, 3.0, -0.25]);
    /// ```
    ///
    /// # Panics
    /// If the lengths differ, `q` is not a period this tier takes, or
    /// `offset >= q`.
    pub fn prelu_periodic_forward(
        &self,
        src: Option<&[f32]>,
        dst: &mut [f32],
        slopes: &[f32],
        offset: usize,
    ) {
        let q = slopes.len();
        self.check_period(q);
        assert!(offset < q, "prelu: periodic offset out of range");
        let n = dst.len();
        let d = dst.as_mut_ptr();
        let x = source(src, d, n);
        // SAFETY: detected ISA; x and d valid for n, equal (one
        // `as_mut_ptr`) or disjoint; slopes valid for q, a period of this
        // tier; offset < q.
        unsafe { (self.layout.periodic_forward)(x, d, n, slopes.as_ptr(), q, offset) }
    }

    /// Panics unless `q` classes is a period this tier's periodic kernels
    /// take (3 or 4 vectors; any positive `q` for the scalar tier).
    fn check_period(&self, q: usize) {
        let valid = match self.isa {
            Isa::Scalar => q > 0,
            isa => q == 3 * isa.lanes() || q == 4 * isa.lanes(),
        };
        assert!(
            valid,
            "prelu: {q} classes is not a period of the {} tier",
            self.isa
        );
    }

    /// PReLU backward over a span of runs: `dst = v > 0 ? grad : w[c] * grad`
    /// (`grad` from `grad_src`, or `dst` itself when `None`), and, when `sums`
    /// is given, the slope-gradient sum `sum(v > 0 ? 0 : v * grad)` of each
    /// piece ([`PreluRuns::pieces`]: cut at run ends and every `piece`
    /// elements of a run), in order, per piece or added to its channel's
    /// ([`PieceSums`]). The sums of a piece depend only on the piece, not on
    /// the span it was computed in.
    ///
    /// # Panics
    /// If the lengths differ, `piece` is 0 or does not divide `offset`, or
    /// `sums` has not one slot per piece (`PerPiece`) or per channel
    /// (`PerChannel`).
    pub fn prelu_runs_backward(
        &self,
        saved: &[f32],
        grad_src: Option<&[f32]>,
        dst: &mut [f32],
        runs: PreluRuns<'_>,
        piece: usize,
        sums: Option<PieceSums<'_>>,
    ) {
        runs.check();
        let n = saved.len();
        assert_eq!(dst.len(), n, "prelu: saved and grad lengths differ");
        assert!(
            piece > 0 && runs.offset.is_multiple_of(piece),
            "prelu: piece must be positive and divide offset"
        );
        let d = dst.as_mut_ptr();
        let g = source(grad_src, d, n);
        let (sums, by_channel) = match sums {
            None => (core::ptr::null_mut(), false),
            Some(PieceSums::PerPiece(s)) => {
                assert_eq!(s.len(), runs.pieces(n, piece), "prelu: one sum per piece");
                (s.as_mut_ptr(), false)
            }
            Some(PieceSums::PerChannel(s)) => {
                assert_eq!(s.len(), runs.w.len(), "prelu: one sum per channel");
                (s.as_mut_ptr(), true)
            }
        };
        // SAFETY: detected ISA; saved, g, dst valid for n elements; g is dst
        // or a shared borrow disjoint from it, saved is disjoint from dst;
        // runs checked; sums null, one slot per piece, or (by_channel) one
        // per channel.
        unsafe {
            (self.layout.runs_backward)(
                saved.as_ptr(),
                g,
                d,
                n,
                runs.w.as_ptr(),
                runs.w.len(),
                runs.channel,
                runs.inner,
                runs.offset,
                piece,
                sums,
                by_channel,
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

    /// How many classes [`KernelSet::prelu_periodic_backward`] cycles
    /// through on this tier for a row of `row` slopes, if the periodic
    /// shape suits it: the row repeated to whole vectors (`lcm(row,
    /// lanes)`) must span at most 4 vectors, and is repeated again to 3 or
    /// 4 vectors, so that 3 or 4 independent accumulators hide the latency
    /// of their additions. The scalar tier answers as the 8-lane tiers do.
    ///
    /// ```
    /// use rectify_kernels::{Isa, KernelSet};
    /// let k = KernelSet::new(Isa::Scalar).unwrap();
    /// assert_eq!(k.prelu_periodic_classes(16), Some(32)); // 2 vectors of 8, twice
    /// assert_eq!(k.prelu_periodic_classes(3), Some(24)); // 3 vectors
    /// assert_eq!(k.prelu_periodic_classes(64), None); // 8 vectors: too many
    /// ```
    pub fn prelu_periodic_classes(&self, row: usize) -> Option<usize> {
        let lanes = match self.isa {
            Isa::Scalar => 8,
            isa => isa.lanes(),
        };
        if row == 0 {
            return None;
        }
        let vectors = row / gcd(row, lanes);
        (vectors <= 4).then(|| vectors * 3usize.div_ceil(vectors) * lanes)
    }

    /// PReLU backward over a span of a buffer whose slopes repeat every `q =
    /// slopes.len()` elements (`q` from [`KernelSet::prelu_periodic_classes`];
    /// the span starts at a multiple of `q`): `dst = v > 0 ? grad :
    /// slopes[i % q] * grad` (`grad` from `grad_src`, or `dst` itself when
    /// `None`), and, when `partials` is given, the slope-gradient sums: each
    /// class `k` sums its terms `v > 0 ? +0 : v * grad` in f32 in element
    /// order, and each group of [`PRELU_PATTERN_ROWS`] periods adds its class
    /// sums, in class order, in f64 to `partials[group * c_len + c]`, `c`
    /// the class's channel: `channel[k]`, or with `channel` `None`, `k %
    /// c_len` (NHWC, where `inner == 1`: no table to build or check per
    /// call). Every tier gives the same bits for the same `q`.
    ///
    /// ```
    /// use rectify_kernels::{Isa, KernelSet};
    /// let k = KernelSet::new(Isa::best()).unwrap();
    /// // NHWC, 2 channels with slopes 0.5 and 0.25.
    /// let q = k.prelu_periodic_classes(2).unwrap();
    /// let slopes: Vec<f32> = (0..q).map(|i| [0.5, 0.25][i % 2]).collect();
    /// let x = [-2.0f32, -4.0, 3.0, -1.0];
    /// let mut grad = [1.0f32; 4];
    /// let mut partials = [0.0f64; 2];
    /// k.prelu_periodic_backward(&x, None, &mut grad, &slopes, None, Some(&mut partials));
    /// assert_eq!(grad, [0.5, 0.25, 1.0, 0.25]);
    /// assert_eq!(partials, [-2.0, -5.0]);
    /// // The same with the channel of each class spelled out.
    /// let channel: Vec<u32> = (0..q as u32).map(|i| i % 2).collect();
    /// let (mut grad, mut partials) = ([1.0f32; 4], [0.0f64; 2]);
    /// k.prelu_periodic_backward(&x, None, &mut grad, &slopes, Some(&channel), Some(&mut partials));
    /// assert_eq!(partials, [-2.0, -5.0]);
    /// ```
    ///
    /// # Panics
    /// If the lengths differ, `q` is not a period this tier takes, a channel
    /// is not below `partials`' row length (or, without `channel`, that row
    /// length does not divide `q`), or `partials` is not one row of `c_len`
    /// per group.
    pub fn prelu_periodic_backward(
        &self,
        saved: &[f32],
        grad_src: Option<&[f32]>,
        dst: &mut [f32],
        slopes: &[f32],
        channel: Option<&[u32]>,
        partials: Option<&mut [f64]>,
    ) {
        let (n, q) = (dst.len(), slopes.len());
        assert_eq!(saved.len(), n, "prelu: saved and dst lengths differ");
        self.check_period(q);
        if let Some(channel) = channel {
            assert_eq!(channel.len(), q, "prelu: one channel per class");
        }
        let d = dst.as_mut_ptr();
        let g = source(grad_src, d, n);
        // Saturating: a product past usize is longer than any buffer, so
        // such a call has one group (or none, when empty).
        let groups = n.div_ceil(PRELU_PATTERN_ROWS.saturating_mul(q));
        let (p, c_len) = match partials {
            Some(p) => {
                let c_len = p.len().checked_div(groups).unwrap_or(0);
                assert_eq!(
                    p.len(),
                    groups * c_len,
                    "prelu: one row of partials per group"
                );
                let in_range = match channel {
                    Some(channel) => channel.iter().all(|&c| (c as usize) < c_len),
                    None => c_len > 0 && q.is_multiple_of(c_len),
                };
                assert!(groups == 0 || in_range, "prelu: channel out of range");
                (p.as_mut_ptr(), c_len)
            }
            None => (core::ptr::null_mut(), 0),
        };
        // SAFETY: detected ISA; saved, g and d valid for n (g is d or a
        // separate borrow of n, checked by `source`); slopes valid for q, q a
        // period of this tier; channel null (c_len divides q) or valid for q,
        // every channel below c_len; partials null or one row of c_len per
        // group.
        unsafe {
            (self.layout.periodic_backward)(
                saved.as_ptr(),
                g,
                d,
                n,
                slopes.as_ptr(),
                q,
                channel.map_or(core::ptr::null(), <[u32]>::as_ptr),
                c_len,
                p,
            )
        }
    }

    /// PReLU backward over one image of short runs, `[1, C, inner]` with `C
    /// = w.len()` and `inner <=` [`PRELU_ONE_IMAGE_MAX_INNER`]: `dst = v > 0 ?
    /// grad : grad * w[c]` (`grad` from `grad_src`, or `dst` itself when
    /// `None`) and, when `sums` is given, `sums[c] = +0 + t_0 + t_1 + ...`,
    /// the channel's terms `v > 0 ? +0 : v * grad` (f32 products) added in
    /// f64 in element order. Every tier gives the same bits.
    ///
    /// ```
    /// use rectify_kernels::{Isa, KernelSet};
    /// let k = KernelSet::new(Isa::best()).unwrap();
    /// // Two channels (slopes 0.5 and 0.25) of runs of 3.
    /// let x = [-2.0f32, 1.0, -4.0, -1.0, 3.0, -0.5];
    /// let mut grad = [1.0f32; 6];
    /// let mut sums = [0.0f64; 2];
    /// k.prelu_one_image_backward(&x, None, &mut grad, &[0.5, 0.25], 3, Some(&mut sums));
    /// assert_eq!(grad, [0.5, 1.0, 0.5, 0.25, 1.0, 0.25]);
    /// assert_eq!(sums, [-6.0, -1.5]);
    /// ```
    ///
    /// # Panics
    /// If the lengths differ, `inner` is 0 or above
    /// [`PRELU_ONE_IMAGE_MAX_INNER`], the buffer is not `w.len()` runs of
    /// `inner`, or `sums` is not one per channel.
    pub fn prelu_one_image_backward(
        &self,
        saved: &[f32],
        grad_src: Option<&[f32]>,
        dst: &mut [f32],
        w: &[f32],
        inner: usize,
        sums: Option<&mut [f64]>,
    ) {
        let n = dst.len();
        assert_eq!(saved.len(), n, "prelu: saved and dst lengths differ");
        assert!(
            (1..=PRELU_ONE_IMAGE_MAX_INNER).contains(&inner),
            "prelu: runs of {inner} are not short runs"
        );
        assert!(
            w.len().checked_mul(inner) == Some(n),
            "prelu: {n} elements are not one image of {} runs of {inner}",
            w.len()
        );
        let s = match sums {
            Some(s) => {
                assert_eq!(s.len(), w.len(), "prelu: one sum per channel");
                s.as_mut_ptr()
            }
            None => core::ptr::null_mut(),
        };
        let d = dst.as_mut_ptr();
        let g = source(grad_src, d, n);
        // SAFETY: detected ISA; saved, g and d valid for n (g is d or a
        // separate borrow of n, checked by `source`); 1 <= inner <= 16
        // divides n, w valid for n / inner; s null or valid for w.len().
        unsafe { (self.layout.one_image_backward)(saved.as_ptr(), g, d, n, w.as_ptr(), inner, s) }
    }

    /// PReLU backward over `rows` rows of `pattern.len()` elements, `stride`
    /// apart (slices start at the first row's first element):
    /// `dst = v > 0 ? grad : pattern[j] * grad` and, when `acc` is given,
    /// `acc[j] += v > 0 ? 0 : v * grad`, rows in order.
    ///
    /// # Panics
    /// If a slice is too short for the rows, `stride < pattern.len()` with
    /// more than one row, or `acc` is not `pattern.len()` long.
    #[allow(clippy::too_many_arguments)]
    pub fn prelu_pattern_backward(
        &self,
        saved: &[f32],
        grad_src: Option<&[f32]>,
        dst: &mut [f32],
        stride: usize,
        rows: usize,
        pattern: &[f32],
        acc: Option<&mut [f32]>,
    ) {
        let width = pattern.len();
        // The elements the rows span, `(rows - 1) * stride + width`, or
        // `None` where that overflows (then no slice holds them).
        let need = match rows {
            0 => Some(0),
            r => (r - 1)
                .checked_mul(stride)
                .and_then(|s| s.checked_add(width)),
        };
        assert!(rows <= 1 || stride >= width, "prelu: rows overlap");
        let holds = |len: usize, what: &str| {
            assert!(
                need.is_some_and(|need| len >= need),
                "prelu: {rows} rows of {width}, {stride} apart, do not fit in {what} ({len} elements)"
            );
        };
        holds(saved.len(), "saved");
        holds(dst.len(), "dst");
        let d = dst.as_mut_ptr();
        let g = grad_src.map_or(d.cast_const(), |s| {
            holds(s.len(), "grad_src");
            s.as_ptr()
        });
        let acc = acc.map_or(core::ptr::null_mut(), |a| {
            assert_eq!(a.len(), width, "prelu: one accumulator per column");
            a.as_mut_ptr()
        });
        if width == 0 {
            // Rows of no elements: nothing to do, however many (a walk over
            // `usize::MAX` empty rows would never end).
            return;
        }
        // SAFETY: detected ISA; every row is in range of each slice (checked
        // above); g is dst or disjoint from it; saved and acc are disjoint
        // from dst (separate borrows).
        unsafe {
            (self.layout.pattern_backward)(
                saved.as_ptr(),
                g,
                d,
                stride,
                width,
                rows,
                pattern.as_ptr(),
                acc,
            )
        }
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

/// The input of an in-place-or-into PReLU call: `src`, or `dst` itself.
/// `dst` is the output's pointer from its one `as_mut_ptr`: deriving the
/// input from it (not from a second borrow of the slice, which that
/// `as_mut_ptr` would invalidate under Stacked Borrows; Miri caught it) keeps
/// both valid.
///
/// # Panics
/// If `src` is not `n` long.
fn source(src: Option<&[f32]>, dst: *mut f32, n: usize) -> *const f32 {
    src.map_or(dst.cast_const(), |s| {
        assert_eq!(s.len(), n, "prelu: input and output lengths differ");
        s.as_ptr()
    })
}
