//! One file per instruction set: each implements `F32Vector` with that ISA's
//! intrinsics and instantiates the shared algorithms of `ops/` in thin entry
//! points compiled for the ISA (`entry_points!`).

/// Defines the raw entry points of one tier (`forward`, `backward`, Maxout's,
/// PReLU's and `all_finite`):
/// the generic algorithms of `ops/` instantiated for vector type `$vec`, compiled
/// with `#[target_feature(enable = $features)]` when the tier needs features.
macro_rules! entry_points {
    ($vec:ty $(, $features:literal)?) => {
        /// Forward kernel of this tier: `dst[i] = f(src[i])` for `i < n`.
        ///
        /// # Safety
        /// The CPU has this tier's features (a `KernelSet` exists for it);
        /// `src` valid for `n` reads and `dst` for `n` writes; equal or disjoint.
        $(#[target_feature(enable = $features)])?
        pub(crate) unsafe fn forward(op: $crate::Op, src: *const f32, dst: *mut f32, n: usize) {
            // SAFETY: the caller's contract is exactly the registry entry's,
            // and this function is compiled for the ISA whose vectors it
            // creates.
            unsafe { op.vector_forward::<$vec>(src, dst, n) }
        }

        /// Backward kernel of this tier: `dst[i] = grad[i] * f'(saved[i])`, with
        /// `saved` the input or the output as `from` says.
        ///
        /// # Safety
        /// The CPU has this tier's features; the pointers are valid for `n`
        /// elements; `grad` equals `dst` or is disjoint from it; `saved` is
        /// disjoint from `dst`.
        $(#[target_feature(enable = $features)])?
        pub(crate) unsafe fn backward(
            op: $crate::Op,
            from: $crate::Source,
            saved: *const f32,
            grad: *const f32,
            dst: *mut f32,
            n: usize,
        ) {
            // SAFETY: as for `forward`.
            unsafe { op.vector_backward::<$vec>(from, saved, grad, dst, n) }
        }

        /// Maxout forward of this tier (see `ops::maxout::forward`); `idx`
        /// receives indices of `idx_bytes` bytes (1 or 4; 0 for none).
        ///
        /// # Safety
        /// The CPU has this tier's features; the rest as for
        /// `ops::maxout::forward`.
        $(#[target_feature(enable = $features)])?
        pub(crate) unsafe fn maxout_forward(
            x: *const f32,
            y: *mut f32,
            idx: *mut u8,
            idx_bytes: usize,
            outer: usize,
            k: usize,
            inner: usize,
        ) {
            use $crate::ops::maxout::IndexOut;
            let out = match idx_bytes {
                1 => IndexOut::U8(idx),
                4 => IndexOut::U32(idx.cast()),
                _ => IndexOut::None,
            };
            // SAFETY: forwarded contract; compiled for this tier's ISA.
            unsafe { $crate::ops::maxout::forward::<$vec>(x, y, out, outer, k, inner) }
        }

        /// Whether the `n` values at `p` are all finite (see
        /// `ops::finite::all_finite`).
        ///
        /// # Safety
        /// The CPU has this tier's features; `p` valid for `n` reads.
        $(#[target_feature(enable = $features)])?
        pub(crate) unsafe fn all_finite(p: *const f32, n: usize) -> bool {
            // SAFETY: forwarded contract; compiled for this tier's ISA.
            unsafe { $crate::ops::finite::all_finite::<$vec>(p, n) }
        }

        /// Maxout backward of this tier (see `ops::maxout::backward`).
        ///
        /// # Safety
        /// The CPU has this tier's features; the rest as for
        /// `ops::maxout::backward`.
        $(#[target_feature(enable = $features)])?
        pub(crate) unsafe fn maxout_backward(
            x: *const f32,
            gy: *const f32,
            gx: *mut f32,
            outer: usize,
            k: usize,
            inner: usize,
        ) {
            // SAFETY: forwarded contract; compiled for this tier's ISA.
            unsafe { $crate::ops::maxout::backward::<$vec>(x, gy, gx, outer, k, inner) }
        }

        /// PReLU forward over one span on this tier (see
        /// `ops::prelu::run_slopes`).
        ///
        /// # Safety
        /// The CPU has this tier's features; the rest as for
        /// `ops::prelu::run_slopes`.
        $(#[target_feature(enable = $features)])?
        pub(crate) unsafe fn prelu_forward(job: &$crate::ops::prelu::Job<'_>) {
            // SAFETY: forwarded contract; compiled for this tier's ISA.
            unsafe { $crate::ops::prelu::run_slopes::<$vec, true>(job) }
        }

        /// PReLU's slope gradient from its sums on this tier (see
        /// `ops::prelu::grad_w`).
        ///
        /// # Safety
        /// The CPU has this tier's features.
        $(#[target_feature(enable = $features)])?
        pub(crate) unsafe fn prelu_grad_w(
            sums: &[f64],
            w: &[f32],
            out: $crate::ops::prelu::GradW<'_>,
        ) {
            $crate::ops::prelu::grad_w(sums, w, out)
        }

        /// PReLU backward over one span on this tier (see
        /// `ops::prelu::run_backward`).
        ///
        /// # Safety
        /// The CPU has this tier's features; the rest as for
        /// `ops::prelu::run_backward`.
        $(#[target_feature(enable = $features)])?
        pub(crate) unsafe fn prelu_backward(job: &$crate::ops::prelu::Job<'_>) {
            // SAFETY: forwarded contract; compiled for this tier's ISA.
            unsafe { $crate::ops::prelu::run_backward::<$vec>(job) }
        }
    };
}

pub(crate) mod portable;

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2;
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512;

#[cfg(target_arch = "aarch64")]
pub(crate) mod neon;
