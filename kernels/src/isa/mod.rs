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
        /// `ops::prelu::all_finite`).
        ///
        /// # Safety
        /// The CPU has this tier's features; `p` valid for `n` reads.
        $(#[target_feature(enable = $features)])?
        pub(crate) unsafe fn all_finite(p: *const f32, n: usize) -> bool {
            // SAFETY: forwarded contract; compiled for this tier's ISA.
            unsafe { $crate::ops::prelu::all_finite::<$vec>(p, n) }
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

        /// PReLU runs forward of this tier (see `ops::prelu::runs_forward`).
        ///
        /// # Safety
        /// The CPU has this tier's features; the rest as for
        /// `ops::prelu::runs_forward`.
        $(#[target_feature(enable = $features)])?
        #[allow(clippy::too_many_arguments)]
        pub(crate) unsafe fn prelu_runs_forward(
            x: *const f32,
            y: *mut f32,
            n: usize,
            w: *const f32,
            c_len: usize,
            channel: usize,
            inner: usize,
            offset: usize,
        ) {
            // SAFETY: forwarded contract; compiled for this tier's ISA.
            unsafe {
                $crate::ops::prelu::runs_forward::<$vec>(x, y, n, w, c_len, channel, inner, offset)
            }
        }

        /// PReLU pattern forward of this tier (see
        /// `ops::prelu::pattern_forward`).
        ///
        /// # Safety
        /// The CPU has this tier's features; the rest as for
        /// `ops::prelu::pattern_forward`.
        $(#[target_feature(enable = $features)])?
        pub(crate) unsafe fn prelu_pattern_forward(
            x: *const f32,
            y: *mut f32,
            n: usize,
            pattern: *const f32,
            p: usize,
            offset: usize,
        ) {
            // SAFETY: forwarded contract; compiled for this tier's ISA.
            unsafe { $crate::ops::prelu::pattern_forward::<$vec>(x, y, n, pattern, p, offset) }
        }

        /// PReLU rows forward of this tier (see `ops::prelu::rows_forward`).
        ///
        /// # Safety
        /// The CPU has this tier's features; the rest as for
        /// `ops::prelu::rows_forward`.
        $(#[target_feature(enable = $features)])?
        pub(crate) unsafe fn prelu_rows_forward(
            x: *const f32,
            y: *mut f32,
            n: usize,
            w: *const f32,
            p: usize,
            offset: usize,
        ) {
            // SAFETY: forwarded contract; compiled for this tier's ISA.
            unsafe { $crate::ops::prelu::rows_forward::<$vec>(x, y, n, w, p, offset) }
        }

        /// PReLU periodic forward of this tier (see
        /// `ops::prelu::periodic_forward`), for periods of 3 or 4 vectors.
        ///
        /// # Safety
        /// The CPU has this tier's features; `q` is 3 or 4 times the lanes;
        /// the rest as for `ops::prelu::periodic_forward`.
        $(#[target_feature(enable = $features)])?
        pub(crate) unsafe fn prelu_periodic_forward(
            x: *const f32,
            y: *mut f32,
            n: usize,
            slopes: *const f32,
            q: usize,
            offset: usize,
        ) {
            use $crate::ops::prelu::periodic_forward;
            use $crate::vector::F32Vector;
            // SAFETY: forwarded contract; compiled for this tier's ISA.
            unsafe {
                if q == 3 * <$vec>::LANES {
                    periodic_forward::<$vec, 3>(x, y, n, slopes, offset)
                } else {
                    debug_assert_eq!(q, 4 * <$vec>::LANES);
                    periodic_forward::<$vec, 4>(x, y, n, slopes, offset)
                }
            }
        }

        /// PReLU runs backward of this tier (see `ops::prelu::runs_backward`).
        ///
        /// # Safety
        /// The CPU has this tier's features; the rest as for
        /// `ops::prelu::runs_backward`.
        $(#[target_feature(enable = $features)])?
        #[allow(clippy::too_many_arguments)]
        pub(crate) unsafe fn prelu_runs_backward(
            v: *const f32,
            g: *const f32,
            dst: *mut f32,
            n: usize,
            w: *const f32,
            c_len: usize,
            channel: usize,
            inner: usize,
            offset: usize,
            piece: usize,
            sums: *mut f64,
            by_channel: bool,
        ) {
            // SAFETY: forwarded contract; compiled for this tier's ISA.
            unsafe {
                $crate::ops::prelu::runs_backward::<$vec>(
                    v, g, dst, n, w, c_len, channel, inner, offset, piece, sums, by_channel,
                )
            }
        }

        /// PReLU pattern backward of this tier (see
        /// `ops::prelu::pattern_backward`).
        ///
        /// # Safety
        /// The CPU has this tier's features; the rest as for
        /// `ops::prelu::pattern_backward`.
        $(#[target_feature(enable = $features)])?
        #[allow(clippy::too_many_arguments)]
        pub(crate) unsafe fn prelu_pattern_backward(
            v: *const f32,
            g: *const f32,
            dst: *mut f32,
            stride: usize,
            width: usize,
            rows: usize,
            pattern: *const f32,
            acc: *mut f32,
        ) {
            // SAFETY: forwarded contract; compiled for this tier's ISA.
            unsafe {
                $crate::ops::prelu::pattern_backward::<$vec>(
                    v, g, dst, stride, width, rows, pattern, acc,
                )
            }
        }

        /// PReLU backward of one image of short runs of this tier (see
        /// `ops::prelu::one_image_backward`).
        ///
        /// # Safety
        /// The CPU has this tier's features; the rest as for
        /// `ops::prelu::one_image_backward`.
        $(#[target_feature(enable = $features)])?
        pub(crate) unsafe fn prelu_one_image_backward(
            v: *const f32,
            g: *const f32,
            dst: *mut f32,
            n: usize,
            w: *const f32,
            inner: usize,
            sums: *mut f64,
        ) {
            // SAFETY: forwarded contract; compiled for this tier's ISA.
            unsafe { $crate::ops::prelu::one_image_backward::<$vec>(v, g, dst, n, w, inner, sums) }
        }

        /// PReLU periodic backward of this tier (see
        /// `ops::prelu::periodic_backward`), for periods of 3 or 4 vectors.
        ///
        /// # Safety
        /// The CPU has this tier's features; `q` is 3 or 4 times the lanes;
        /// the rest as for `ops::prelu::periodic_backward`.
        $(#[target_feature(enable = $features)])?
        #[allow(clippy::too_many_arguments)]
        pub(crate) unsafe fn prelu_periodic_backward(
            v: *const f32,
            g: *const f32,
            dst: *mut f32,
            n: usize,
            slopes: *const f32,
            q: usize,
            channel: *const u32,
            c_len: usize,
            partials: *mut f64,
        ) {
            use $crate::ops::prelu::periodic_backward;
            use $crate::vector::F32Vector;
            // SAFETY: forwarded contract; compiled for this tier's ISA.
            unsafe {
                if q == 3 * <$vec>::LANES {
                    periodic_backward::<$vec, 3>(v, g, dst, n, slopes, channel, c_len, partials)
                } else {
                    debug_assert_eq!(q, 4 * <$vec>::LANES);
                    periodic_backward::<$vec, 4>(v, g, dst, n, slopes, channel, c_len, partials)
                }
            }
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
