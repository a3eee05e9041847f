//! Maxout: `x` viewed as `[outer, k, inner]`, `y[o, i] = max over p of
//! x[o, p, i]`, the winner being the first maximal piece, or the first NaN
//! if any (its value, payload kept, is the output). The backward pass sends
//! the whole gradient to the winner and `+0` to the other pieces.
//!
//! Vectorised along `inner` when it holds at least a vector, and along the
//! outputs for interleaved pieces (`inner == 1`) with `k = 2` or `4`, the
//! pieces split apart by [`F32Vector::deinterleave2`]. Other shapes (`k = 3`
//! interleaved, short `inner`) take the scalar loop, which computes the same
//! thing the same way.

use crate::reference::maxout_step;
use crate::vector::F32Vector;

/// Where the winning piece indices go.
#[derive(Clone, Copy)]
pub(crate) enum IndexOut {
    None,
    U8(*mut u8),
    U32(*mut u32),
}

/// One piece against the running winner, per lane: `v` (piece index `p`)
/// takes over where it is not `<=` the best (greater, or NaN) and the best is
/// not NaN: the first maximum, or the first NaN, wins.
#[inline(always)]
fn step<V: F32Vector>(best: V, id: V, v: V, p: V) -> (V, V) {
    let keep = v.le(best);
    let number = best.le(best);
    (
        V::select(keep, best, V::select(number, v, best)),
        V::select(keep, id, V::select(number, p, id)),
    )
}

/// Stores `n` (all when `n == LANES`) winner indices at `at`.
///
/// # Safety
/// `out` valid for `n` writes at `at`.
#[inline(always)]
unsafe fn store_index<V: F32Vector>(id: V, out: IndexOut, at: usize, n: usize) {
    // SAFETY: (whole block) the caller guarantees `n` writable indices at `at`.
    unsafe {
        match out {
            IndexOut::None => {}
            IndexOut::U32(p) => {
                let bits = id.to_u32_bits();
                let p = p.add(at).cast::<f32>();
                if n == V::LANES {
                    bits.store(p)
                } else {
                    bits.store_partial(p, n)
                }
            }
            IndexOut::U8(p) => {
                let mut lanes = [0.0f32; 16];
                id.store(lanes.as_mut_ptr());
                for (l, v) in lanes[..n].iter().enumerate() {
                    *p.add(at + l) = *v as u8;
                }
            }
        }
    }
}

/// The scalar loop for the shapes without a vector path: output `(o, i)` for
/// `o < outer`, `i < inner`.
///
/// # Safety
/// `x` valid for `outer * k * inner` reads, `y` for `outer * inner` writes,
/// `out` for `outer * inner` indices.
unsafe fn forward_scalar(
    x: *const f32,
    y: *mut f32,
    out: IndexOut,
    outer: usize,
    k: usize,
    inner: usize,
) {
    for o in 0..outer {
        for i in 0..inner {
            // SAFETY: every index is inside the caller's ranges.
            unsafe {
                let base = x.add(o * k * inner + i);
                let (mut best, mut id) = (*base, 0usize);
                for p in 1..k {
                    (best, id) = maxout_step(best, id, *base.add(p * inner), p);
                }
                let at = o * inner + i;
                *y.add(at) = best;
                match out {
                    IndexOut::None => {}
                    IndexOut::U8(q) => *q.add(at) = id as u8,
                    IndexOut::U32(q) => *q.add(at) = id as u32,
                }
            }
        }
    }
}

/// Maxout forward over `outer` groups of `k` pieces of `inner` elements.
///
/// # Safety
/// The CPU supports `V`'s ISA; `x` valid for `outer * k * inner` reads, `y`
/// for `outer * inner` writes (disjoint from `x`), `out` for `outer * inner`
/// indices (`u8` only when `k <= 256`); `k >= 1`.
#[inline(always)]
pub(crate) unsafe fn forward<V: F32Vector>(
    x: *const f32,
    y: *mut f32,
    out: IndexOut,
    outer: usize,
    k: usize,
    inner: usize,
) {
    let l = V::LANES;
    // SAFETY: (whole function) every access stays within the ranges the
    // caller guarantees: full vectors where `i + l <= inner` (or `j + l <=
    // outer`), partial ones for the rest.
    unsafe {
        if inner >= l {
            for o in 0..outer {
                let base = x.add(o * k * inner);
                let (yo, at0) = (y.add(o * inner), o * inner);
                let mut i = 0;
                while i < inner {
                    let n = (inner - i).min(l);
                    let load = |p: usize| {
                        let q = base.add(p * inner + i);
                        if n == l {
                            V::load(q)
                        } else {
                            V::load_partial(q, n)
                        }
                    };
                    let (mut best, mut id) = (load(0), V::zero());
                    for p in 1..k {
                        (best, id) = step(best, id, load(p), V::splat(p as f32));
                    }
                    if n == l {
                        best.store(yo.add(i))
                    } else {
                        best.store_partial(yo.add(i), n)
                    }
                    store_index(id, out, at0 + i, n);
                    i += n;
                }
            }
        } else if inner == 1 && (k == 2 || k == 4) {
            let mut j = 0;
            while j < outer {
                let n = (outer - j).min(l);
                // The k*n inputs of outputs j..j+n, as k vectors.
                let src = x.add(j * k);
                let load = |v: usize| {
                    let first = v * l;
                    let count = (k * n).saturating_sub(first).min(l);
                    if count == l {
                        V::load(src.add(first))
                    } else if count == 0 {
                        V::zero()
                    } else {
                        V::load_partial(src.add(first), count)
                    }
                };
                let (best, id) = if k == 2 {
                    let (p0, p1) = V::deinterleave2(load(0), load(1));
                    step(p0, V::zero(), p1, V::splat(1.0))
                } else {
                    let (e01, o01) = V::deinterleave2(load(0), load(1));
                    let (e23, o23) = V::deinterleave2(load(2), load(3));
                    let (p0, p2) = V::deinterleave2(e01, e23);
                    let (p1, p3) = V::deinterleave2(o01, o23);
                    let (b, i) = step(p0, V::zero(), p1, V::splat(1.0));
                    let (b, i) = step(b, i, p2, V::splat(2.0));
                    step(b, i, p3, V::splat(3.0))
                };
                if n == l {
                    best.store(y.add(j))
                } else {
                    best.store_partial(y.add(j), n)
                }
                store_index(id, out, j, n);
                j += n;
            }
        } else {
            forward_scalar(x, y, out, outer, k, inner);
        }
    }
}

/// Maxout backward, the winners recomputed from `x`: `gx[o, p, i] = p is the
/// winner ? gy[o, i] : +0`.
///
/// # Safety
/// The CPU supports `V`'s ISA; `x` and `gx` valid for `outer * k * inner`
/// elements, `gy` for `outer * inner`; `gx` disjoint from both; `k >= 1`.
#[inline(always)]
pub(crate) unsafe fn backward<V: F32Vector>(
    x: *const f32,
    gy: *const f32,
    gx: *mut f32,
    outer: usize,
    k: usize,
    inner: usize,
) {
    let l = V::LANES;
    // SAFETY: (whole function) as in `forward`.
    unsafe {
        if inner < l {
            for o in 0..outer {
                for i in 0..inner {
                    let base = x.add(o * k * inner + i);
                    let (mut best, mut id) = (*base, 0usize);
                    for p in 1..k {
                        (best, id) = maxout_step(best, id, *base.add(p * inner), p);
                    }
                    let g = *gy.add(o * inner + i);
                    for p in 0..k {
                        *gx.add(o * k * inner + p * inner + i) = if p == id { g } else { 0.0 };
                    }
                }
            }
            return;
        }
        for o in 0..outer {
            let (base, out) = (x.add(o * k * inner), gx.add(o * k * inner));
            let mut i = 0;
            while i < inner {
                let n = (inner - i).min(l);
                let load = |q: *const f32| {
                    if n == l {
                        V::load(q)
                    } else {
                        V::load_partial(q, n)
                    }
                };
                let (mut best, mut id) = (load(base.add(i)), V::zero());
                for p in 1..k {
                    (best, id) = step(best, id, load(base.add(p * inner + i)), V::splat(p as f32));
                }
                let g = load(gy.add(o * inner + i));
                for p in 0..k {
                    let pv = V::splat(p as f32);
                    // id == p, for integers: neither below nor above.
                    let d = V::select(id.lt(pv), V::zero(), V::select(pv.lt(id), V::zero(), g));
                    let q = out.add(p * inner + i);
                    if n == l {
                        d.store(q)
                    } else {
                        d.store_partial(q, n)
                    }
                }
                i += n;
            }
        }
    }
}
