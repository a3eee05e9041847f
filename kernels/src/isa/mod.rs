//! One file per instruction set: each implements `F32Vector` with that ISA's
//! intrinsics and instantiates the shared algorithms of `ops/` in thin entry
//! points compiled for the ISA (`entry_points!`).

/// Defines `forward` and `backward`, the two raw entry points of one tier:
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
        pub(crate) unsafe fn forward(op: $crate::Forward, src: *const f32, dst: *mut f32, n: usize) {
            // SAFETY: the caller's contract is exactly `ops::forward`'s, and
            // this function is compiled for the ISA whose vectors it creates.
            unsafe { $crate::ops::forward::<$vec>(op, src, dst, n) }
        }

        /// Backward kernel of this tier: `dst[i] = grad[i] * f'(saved[i])`.
        ///
        /// # Safety
        /// The CPU has this tier's features; the pointers are valid for `n`
        /// elements; `grad` equals `dst` or is disjoint from it; `saved` is
        /// disjoint from `dst`.
        $(#[target_feature(enable = $features)])?
        pub(crate) unsafe fn backward(
            op: $crate::Backward,
            saved: *const f32,
            grad: *const f32,
            dst: *mut f32,
            n: usize,
        ) {
            // SAFETY: as for `forward`.
            unsafe { $crate::ops::backward::<$vec>(op, saved, grad, dst, n) }
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
