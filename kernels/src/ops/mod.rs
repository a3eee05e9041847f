//! The activation algorithms, written once over [`F32Vector`] and shared by
//! every vector tier, plus the loop drivers that walk a buffer.
//!
//! An op only says what happens to one vector of lanes ([`UnaryOp`] for the
//! forward pass, [`BinaryOp`] for a gradient). The drivers own the loop: an
//! unrolled main body, single vectors, then one partial vector for the tail
//! through the same op (masked loads/stores or a lane buffer), so an element's
//! result never depends on where it sits in the buffer.
//!
//! Before the main loop the drivers peel a partial vector so that the output
//! pointer is aligned to the vector width: allocators hand out 16-byte aligned
//! buffers, and on AVX2/AVX-512 every other unaligned store would then split a
//! cache line. The peeled head goes through the same op as everything else.

use crate::vector::F32Vector;
use crate::{Backward, Forward};

mod relu;

/// One forward activation over a vector of lanes.
pub(crate) trait UnaryOp: Copy {
    /// Vectors per loop iteration (2 for the ReLU family: enough independent
    /// work to keep two loads and a store in flight every cycle).
    const UNROLL: usize;
    /// `f(x)` for every lane.
    fn apply<V: F32Vector>(self, x: V) -> V;
}

/// One gradient over a vector of lanes: `grad * f'(saved)`.
pub(crate) trait BinaryOp: Copy {
    /// Vectors per loop iteration.
    const UNROLL: usize;
    /// The incoming gradient times the derivative, for every lane.
    fn apply<V: F32Vector>(self, saved: V, grad: V) -> V;
}

/// How many leading elements to peel (`< V::LANES`, at most `n`) so that
/// `dst.add(peel)` is aligned to the vector width.
#[inline(always)]
fn head_len<V: F32Vector>(dst: *mut f32, n: usize) -> usize {
    let width = V::LANES * core::mem::size_of::<f32>();
    let misaligned = dst as usize % width;
    if misaligned == 0 {
        0
    } else {
        ((width - misaligned) / core::mem::size_of::<f32>()).min(n)
    }
}

/// `dst[i] = op(src[i])` for `i < n`.
///
/// # Safety
/// The CPU supports `V`'s ISA; `src` valid for `n` reads, `dst` for `n`
/// writes; `src == dst` or the two do not overlap.
#[inline(always)]
pub(crate) unsafe fn map_unary<V: F32Vector, O: UnaryOp>(
    op: O,
    src: *const f32,
    dst: *mut f32,
    n: usize,
) {
    let lanes = V::LANES;
    let step = lanes * O::UNROLL;
    let mut i = head_len::<V>(dst, n);
    // SAFETY (all blocks below): every access is at an index below `n`
    // (the head of `i < lanes` elements, `i + step <= n`, `i + lanes <= n`, or
    // the partial tail of `n - i < lanes` elements), within the caller's valid
    // ranges. Element i is loaded before it is stored, so the in-place form
    // reads every input before overwriting it.
    if i > 0 {
        unsafe { op.apply(V::load_partial(src, i)).store_partial(dst, i) };
    }
    while i + step <= n {
        for k in 0..O::UNROLL {
            let at = i + k * lanes;
            unsafe { op.apply(V::load(src.add(at))).store(dst.add(at)) };
        }
        i += step;
    }
    while i + lanes <= n {
        unsafe { op.apply(V::load(src.add(i))).store(dst.add(i)) };
        i += lanes;
    }
    if i < n {
        let rest = n - i;
        unsafe {
            op.apply(V::load_partial(src.add(i), rest))
                .store_partial(dst.add(i), rest)
        };
    }
}

/// `dst[i] = op(saved[i], grad[i])` for `i < n`.
///
/// # Safety
/// The CPU supports `V`'s ISA; `saved` and `grad` valid for `n` reads, `dst`
/// for `n` writes; `grad == dst` or the two do not overlap; `saved` does not
/// overlap `dst`.
#[inline(always)]
pub(crate) unsafe fn map_binary<V: F32Vector, O: BinaryOp>(
    op: O,
    saved: *const f32,
    grad: *const f32,
    dst: *mut f32,
    n: usize,
) {
    let lanes = V::LANES;
    let step = lanes * O::UNROLL;
    let mut i = head_len::<V>(dst, n);
    // SAFETY (all blocks below): as in `map_unary`, every index is below `n`.
    if i > 0 {
        unsafe {
            op.apply(V::load_partial(saved, i), V::load_partial(grad, i))
                .store_partial(dst, i)
        };
    }
    while i + step <= n {
        for k in 0..O::UNROLL {
            let at = i + k * lanes;
            unsafe {
                op.apply(V::load(saved.add(at)), V::load(grad.add(at)))
                    .store(dst.add(at))
            };
        }
        i += step;
    }
    while i + lanes <= n {
        unsafe {
            op.apply(V::load(saved.add(i)), V::load(grad.add(i)))
                .store(dst.add(i))
        };
        i += lanes;
    }
    if i < n {
        let rest = n - i;
        unsafe {
            op.apply(
                V::load_partial(saved.add(i), rest),
                V::load_partial(grad.add(i), rest),
            )
            .store_partial(dst.add(i), rest)
        };
    }
}

/// Every forward op on vector type `V`: what each ISA's `forward` entry point
/// instantiates.
///
/// # Safety
/// As for [`map_unary`].
#[inline(always)]
pub(crate) unsafe fn forward<V: F32Vector>(op: Forward, src: *const f32, dst: *mut f32, n: usize) {
    // SAFETY: forwarded from the caller.
    unsafe {
        match op {
            Forward::Relu => map_unary::<V, _>(relu::Relu, src, dst, n),
            Forward::LeakyRelu { slope } => {
                map_unary::<V, _>(relu::LeakyRelu { slope }, src, dst, n)
            }
        }
    }
}

/// Every gradient op on vector type `V`.
///
/// # Safety
/// As for [`map_binary`].
#[inline(always)]
pub(crate) unsafe fn backward<V: F32Vector>(
    op: Backward,
    saved: *const f32,
    grad: *const f32,
    dst: *mut f32,
    n: usize,
) {
    // SAFETY: forwarded from the caller.
    unsafe {
        match op {
            Backward::Relu => map_binary::<V, _>(relu::ReluGrad, saved, grad, dst, n),
            Backward::LeakyRelu { slope } => {
                map_binary::<V, _>(relu::LeakyReluGrad { slope }, saved, grad, dst, n)
            }
        }
    }
}
