//! Maxout: `x` viewed as `[outer, k, inner]`, `y[o, i] = max over p of
//! x[o, p, i]`, the winner being the first maximal piece, or the first NaN
//! if any (its value, payload kept, is the output). The backward pass sends
//! the whole gradient to the winner and `+0` to the other pieces.
//!
//! Vectorised along `inner` when it holds at least a vector, and along the
//! outputs for interleaved pieces (`inner == 1`) with `k = 2`, `3` or `4`,
//! the pieces split apart by [`F32Vector::deinterleave2_in_pair_order`] and
//! [`F32Vector::deinterleave3`] (and the gradients zipped back by
//! [`F32Vector::interleave2_from_pair_order`] and
//! [`F32Vector::interleave3`]), the lane-wise work done in the lane order
//! the split leaves (see [`from_piece_order`]). Other shapes (interleaved
//! `k > 4` or `k = 1`, short `inner`) run the scalar reference's loop.

use super::{load_n, store_n};
use crate::reference;
use crate::vector::{Cpu, F32Vector};

/// Where the winning piece indices go.
#[derive(Clone, Copy)]
pub(crate) enum IndexOut {
    None,
    U8(*mut u8),
    U32(*mut u32),
}

/// Where piece `v` takes over from the running winner `best`, per lane: `v`
/// is not `<=` the best (greater, or NaN) and the best is not NaN. So the
/// first maximum, or the first NaN, wins.
#[inline(always)]
fn takes<V: F32Vector>(best: V, v: V) -> V::Mask {
    V::mask_and_not(best.le(best), v.le(best))
}

/// One piece against the running winner, per lane (see [`takes`]). The
/// winner's index is tracked only with `ID` (a forward pass without an
/// index output, where it would be dead, spends a third fewer operations).
/// One select per result: the mask logic runs on any vector pipe, where
/// the nested selects this replaced were blends, which on Zen 3 share two
/// pipes with the compares.
#[inline(always)]
fn step<V: F32Vector, const ID: bool>(best: V, id: V, v: V, p: V) -> (V, V) {
    let take = takes(best, v);
    let best_now = V::select(take, v, best);
    if !ID {
        return (best_now, id);
    }
    (best_now, V::select(take, p, id))
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

/// Vector `v` of the `K * n` interleaved inputs at `src` (`n <= LANES`
/// outputs): how many of its lanes are inputs.
#[inline(always)]
fn lanes_in<V: F32Vector, const K: usize>(v: usize, n: usize) -> usize {
    (K * n).saturating_sub(v * V::LANES).min(V::LANES)
}

/// Vector `v` of the `K * n` interleaved inputs at `src`.
///
/// (Helpers here are functions, not closures: closures cannot be forced
/// inline, and out of line they lose the tier's target features.)
///
/// # Safety
/// `src` valid for `K * n` reads.
#[inline(always)]
unsafe fn interleaved_load<V: F32Vector, const K: usize>(src: *const f32, v: usize, n: usize) -> V {
    // SAFETY: the vector reads `lanes_in(v, n)` elements at `v * LANES`,
    // within `K * n`. Where that is none, `v * LANES` may lie past the end of
    // the buffer: `wrapping_add` forms the (unused) pointer without the
    // in-bounds requirement of `add` (Miri caught `add` here).
    unsafe { load_n::<V>(src.wrapping_add(v * V::LANES), lanes_in::<V, K>(v, n)) }
}

/// Stores vector `v` of the `K * n` interleaved gradients at `dst`.
///
/// # Safety
/// `dst` valid for `K * n` writes.
#[inline(always)]
unsafe fn interleaved_store<V: F32Vector, const K: usize>(d: V, dst: *mut f32, v: usize, n: usize) {
    // SAFETY: as for `interleaved_load` (hence `wrapping_add`).
    unsafe { store_n(d, dst.wrapping_add(v * V::LANES), lanes_in::<V, K>(v, n)) }
}

/// The winners of `n <= LANES` vectors of `k` pieces `stride` apart at
/// `base` (the long-`inner` layout).
///
/// # Safety
/// `base` valid for `n` reads at every `p * stride`, `p < k`.
#[inline(always)]
unsafe fn strided_winners<V: F32Vector, const ID: bool>(
    base: *const f32,
    k: usize,
    stride: usize,
    n: usize,
) -> (V, V) {
    // SAFETY: the CPU has `V`'s ISA, a requirement of every `unsafe fn`
    // of `ops/` (see the module's docs).
    let cpu = unsafe { Cpu::<V>::assume() };
    // SAFETY: forwarded contract.
    unsafe {
        let (mut best, mut id) = (load_n::<V>(base, n), cpu.zero());
        // The piece index as a float, counted (no int-to-float conversion).
        let mut pv = cpu.zero();
        for p in 1..k {
            pv = pv.add(cpu.splat(1.0));
            let v = load_n::<V>(base.add(p * stride), n);
            (best, id) = step::<V, ID>(best, id, v, pv);
        }
        (best, id)
    }
}

/// The winners of the four vectors of outputs at `i` in the long-`inner`
/// layout (pieces `inner` apart from `base`): four independent chains
/// through the pieces, and the loop over the pieces paid once per four.
///
/// # Safety
/// `base` valid for `4 * LANES` reads at `i + p * inner`, every `p < k`.
#[inline(always)]
unsafe fn strided_winners4<V: F32Vector, const ID: bool>(
    base: *const f32,
    k: usize,
    inner: usize,
    i: usize,
) -> ([V; 4], [V; 4]) {
    // SAFETY: the CPU has `V`'s ISA, a requirement of every `unsafe fn`
    // of `ops/` (see the module's docs).
    let cpu = unsafe { Cpu::<V>::assume() };
    let l = V::LANES;
    // SAFETY: (whole block) the reads are those of the contract.
    unsafe {
        let mut best = [cpu.zero(); 4];
        for (q, b) in best.iter_mut().enumerate() {
            *b = V::load(base.add(i + q * l));
        }
        let mut id = [cpu.zero(); 4];
        // The piece index as a float, counted (as in `strided_winners`).
        let mut pv = cpu.zero();
        for p in 1..k {
            pv = pv.add(cpu.splat(1.0));
            let piece = base.add(p * inner + i);
            for q in 0..4 {
                (best[q], id[q]) = step::<V, ID>(best[q], id[q], V::load(piece.add(q * l)), pv);
            }
        }
        (best, id)
    }
}

/// The gradients of `n <= LANES` outputs of the long-`inner` layout.
///
/// # Safety
/// `x` and `gx` valid for `n` elements at every `p * stride`, `p < k`; `gy`
/// for `n`.
#[inline(always)]
unsafe fn strided_grad<V: F32Vector>(
    x: *const f32,
    gy: *const f32,
    gx: *mut f32,
    k: usize,
    stride: usize,
    n: usize,
) {
    // SAFETY: the CPU has `V`'s ISA, a requirement of every `unsafe fn`
    // of `ops/` (see the module's docs).
    let cpu = unsafe { Cpu::<V>::assume() };
    // SAFETY: (whole block) forwarded contract.
    unsafe {
        let (_, id) = strided_winners::<V, true>(x, k, stride, n);
        let g = load_n::<V>(gy, n);
        // The piece index as a float, counted (as in `strided_winners`).
        let mut pv = cpu.zero();
        for p in 0..k {
            store_n(g.keep_where(id.eq(pv)), gx.add(p * stride), n);
            pv = pv.add(cpu.splat(1.0));
        }
    }
}

/// The `K` (2, 3 or 4) pieces of `n <= LANES` outputs interleaved at
/// `src`, split apart in registers: `[p0, p1, ..]` (the entries past `K`
/// unused), each in the tier's lane order for `K` pieces (element order but
/// on AVX2 with `K` = 2 and 4, see [`from_piece_order`]), where pair splits
/// within 128-bit halves save the permutes that would order each piece.
///
/// # Safety
/// `src` valid for `K * n` reads.
#[inline(always)]
unsafe fn interleaved_pieces<V: F32Vector, const K: usize>(src: *const f32, n: usize) -> [V; 4] {
    // SAFETY: vector `v` reads `lanes_in(v, n)` elements at `v * LANES`,
    // all within the `K * n` the caller guarantees.
    unsafe {
        let (v0, v1) = (
            interleaved_load::<V, K>(src, 0, n),
            interleaved_load::<V, K>(src, 1, n),
        );
        if K == 2 {
            let (p0, p1) = V::deinterleave2_in_pair_order(v0, v1);
            [p0, p1, p0, p0]
        } else if K == 3 {
            let v2 = interleaved_load::<V, K>(src, 2, n);
            let (p0, p1, p2) = V::deinterleave3(v0, v1, v2);
            [p0, p1, p2, p0]
        } else {
            let (v2, v3) = (
                interleaved_load::<V, K>(src, 2, n),
                interleaved_load::<V, K>(src, 3, n),
            );
            let (e01, o01) = V::deinterleave2_in_pair_order(v0, v1);
            let (e23, o23) = V::deinterleave2_in_pair_order(v2, v3);
            let (p0, p2) = V::deinterleave2_in_pair_order(e01, e23);
            let (p1, p3) = V::deinterleave2_in_pair_order(o01, o23);
            [p0, p1, p2, p3]
        }
    }
}

/// A vector in the lane order of [`interleaved_pieces`] for `K` pieces put
/// in element order.
#[inline(always)]
fn from_piece_order<V: F32Vector, const K: usize>(v: V) -> V {
    match K {
        2 => V::from_pair_order(v),
        4 => V::from_quad_order(v),
        _ => v,
    }
}

/// A vector in element order put in the lane order of
/// [`interleaved_pieces`] for `K` pieces.
#[inline(always)]
fn to_piece_order<V: F32Vector, const K: usize>(v: V) -> V {
    match K {
        2 => V::to_pair_order(v),
        4 => V::to_quad_order(v),
        _ => v,
    }
}

/// The winners of `n <= LANES` outputs whose `K` (2, 3 or 4) pieces are
/// interleaved at `src`: found lane by lane in the pieces' lane order, then
/// put in element order (one permute each where that order is not
/// element order).
///
/// # Safety
/// `src` valid for `K * n` reads.
#[inline(always)]
unsafe fn interleaved_winners<V: F32Vector, const K: usize, const ID: bool>(
    src: *const f32,
    n: usize,
) -> (V, V) {
    // SAFETY: the CPU has `V`'s ISA, a requirement of every `unsafe fn`
    // of `ops/` (see the module's docs).
    let cpu = unsafe { Cpu::<V>::assume() };
    // SAFETY: forwarded contract.
    let p = unsafe { interleaved_pieces::<V, K>(src, n) };
    let (mut best, mut id) = step::<V, ID>(p[0], cpu.zero(), p[1], cpu.splat(1.0));
    if K >= 3 {
        (best, id) = step::<V, ID>(best, id, p[2], cpu.splat(2.0));
    }
    if K == 4 {
        (best, id) = step::<V, ID>(best, id, p[3], cpu.splat(3.0));
    }
    let id = if ID { from_piece_order::<V, K>(id) } else { id };
    (from_piece_order::<V, K>(best), id)
}

/// Each of the `K` (2, 3 or 4) pieces' gradient: `g` in the lanes the piece
/// wins (see [`takes`]), `+0` in the others. From the masks of where each
/// piece took over, without winner indices: a piece wins where it took
/// over and no later piece did, the first where none did.
#[inline(always)]
fn piece_grads<V: F32Vector, const K: usize>(p: &[V; 4], g: V) -> [V; 4] {
    let t1 = takes(p[0], p[1]);
    if K == 2 {
        return [g.zero_where(t1), g.keep_where(t1), g, g];
    }
    let best = V::select(t1, p[1], p[0]);
    let t2 = takes(best, p[2]);
    if K == 3 {
        return [
            g.zero_where(V::mask_or(t1, t2)),
            g.keep_where(V::mask_and_not(t1, t2)),
            g.keep_where(t2),
            g,
        ];
    }
    let best = V::select(t2, p[2], best);
    let t3 = takes(best, p[3]);
    let after_1 = V::mask_or(t2, t3);
    [
        g.zero_where(V::mask_or(t1, after_1)),
        g.keep_where(V::mask_and_not(t1, after_1)),
        g.keep_where(V::mask_and_not(t2, t3)),
        g.keep_where(t3),
    ]
}

/// Forward for interleaved pieces (`inner == 1`), `K` = 2, 3 or 4.
///
/// # Safety
/// As for [`forward`].
#[inline(always)]
unsafe fn forward_interleaved<V: F32Vector, const K: usize, const ID: bool>(
    x: *const f32,
    y: *mut f32,
    out: IndexOut,
    outer: usize,
) {
    let l = V::LANES;
    let mut j = 0;
    // SAFETY: (whole block) outputs `j..j + n` with `j + n <= outer` and
    // their `K * n` inputs are in the caller's ranges.
    unsafe {
        while j + l <= outer {
            let (best, id) = interleaved_winners::<V, K, ID>(x.add(j * K), l);
            best.store(y.add(j));
            store_index(id, out, j, l);
            j += l;
        }
        if j < outer {
            let n = outer - j;
            let (best, id) = interleaved_winners::<V, K, ID>(x.add(j * K), n);
            store_n(best, y.add(j), n);
            store_index(id, out, j, n);
        }
    }
}

/// Forward along a long `inner` (at least one vector).
///
/// # Safety
/// As for [`forward`], with `inner >= LANES`.
#[inline(always)]
unsafe fn forward_long<V: F32Vector, const ID: bool>(
    x: *const f32,
    y: *mut f32,
    out: IndexOut,
    outer: usize,
    k: usize,
    inner: usize,
) {
    let l = V::LANES;
    // SAFETY: (whole block) each vector reads `n <= inner - i` elements of
    // every piece of group `o` and writes `n` outputs of row `o`.
    unsafe {
        for o in 0..outer {
            let base = x.add(o * k * inner);
            let at = o * inner;
            let mut i = 0;
            // Four vectors of outputs at a time (`strided_winners4`).
            while i + 4 * l <= inner {
                let (best, id) = strided_winners4::<V, ID>(base, k, inner, i);
                for q in 0..4 {
                    best[q].store(y.add(at + i + q * l));
                    store_index(id[q], out, at + i + q * l, l);
                }
                i += 4 * l;
            }
            while i + l <= inner {
                let (best, id) = strided_winners::<V, ID>(base.add(i), k, inner, l);
                best.store(y.add(at + i));
                store_index(id, out, at + i, l);
                i += l;
            }
            if i < inner {
                let n = inner - i;
                let (best, id) = strided_winners::<V, ID>(base.add(i), k, inner, n);
                store_n(best, y.add(at + i), n);
                store_index(id, out, at + i, n);
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
    // SAFETY: forwarded contract.
    unsafe {
        match out {
            IndexOut::None => forward_with::<V, false>(x, y, out, outer, k, inner),
            _ => forward_with::<V, true>(x, y, out, outer, k, inner),
        }
    }
}

/// The most pieces the vector paths take: they count pieces in f32 lanes,
/// exact up to 2^24 (the count stops growing past it, and winners beyond
/// would be misnumbered). More pieces take the scalar reference's loop.
const MAX_VECTOR_PIECES: usize = 1 << 24;

/// [`forward`], tracking the winners' indices only with `ID`.
///
/// # Safety
/// As for [`forward`].
#[inline(always)]
unsafe fn forward_with<V: F32Vector, const ID: bool>(
    x: *const f32,
    y: *mut f32,
    out: IndexOut,
    outer: usize,
    k: usize,
    inner: usize,
) {
    // SAFETY: forwarded contract; each path's own condition holds.
    unsafe {
        match (k, inner) {
            (2, 1) => forward_interleaved::<V, 2, ID>(x, y, out, outer),
            (3, 1) => forward_interleaved::<V, 3, ID>(x, y, out, outer),
            (4, 1) => forward_interleaved::<V, 4, ID>(x, y, out, outer),
            _ if inner >= V::LANES && k <= MAX_VECTOR_PIECES => {
                forward_long::<V, ID>(x, y, out, outer, k, inner)
            }
            // The shapes without a vector path: the scalar reference's loop.
            _ => {
                let (idx, bytes) = match out {
                    IndexOut::None => (core::ptr::null_mut(), 0),
                    IndexOut::U8(p) => (p, 1),
                    IndexOut::U32(p) => (p.cast::<u8>(), 4),
                };
                reference::maxout_forward_raw(x, y, idx, bytes, outer, k, inner)
            }
        }
    }
}

/// Backward for interleaved pieces (`inner == 1`), `K` = 2, 3 or 4: the
/// per-piece gradients are zipped back into the interleaved order.
///
/// # Safety
/// As for [`backward`].
#[inline(always)]
unsafe fn backward_interleaved<V: F32Vector, const K: usize>(
    x: *const f32,
    gy: *const f32,
    gx: *mut f32,
    outer: usize,
) {
    let l = V::LANES;
    let mut j = 0;
    // SAFETY: (whole block) outputs `j..j + n` with `j + n <= outer`, and
    // their `K * n` inputs and gradients, are in the caller's ranges.
    unsafe {
        while j + l <= outer {
            interleaved_grad::<V, K>(x.add(j * K), gy.add(j), gx.add(j * K), l);
            j += l;
        }
        if j < outer {
            interleaved_grad::<V, K>(x.add(j * K), gy.add(j), gx.add(j * K), outer - j);
        }
    }
}

/// The gradients of `n <= LANES` interleaved outputs: the pieces split
/// apart as in the forward pass, the output gradient put in their lane
/// order, the per-piece gradients ([`piece_grads`]) zipped back into the
/// interleaved order (for `K` = 2 and 4 by the inverse of the pair splits,
/// which lands in element order).
///
/// # Safety
/// `x` and `gx` valid for `K * n` elements, `gy` for `n`.
#[inline(always)]
unsafe fn interleaved_grad<V: F32Vector, const K: usize>(
    x: *const f32,
    gy: *const f32,
    gx: *mut f32,
    n: usize,
) {
    // SAFETY: (whole block) forwarded contract.
    unsafe {
        let g = to_piece_order::<V, K>(load_n::<V>(gy, n));
        let d = piece_grads::<V, K>(&interleaved_pieces::<V, K>(x, n), g);
        if K == 2 {
            let (a, b) = V::interleave2_from_pair_order(d[0], d[1]);
            interleaved_store::<V, K>(a, gx, 0, n);
            interleaved_store::<V, K>(b, gx, 1, n);
        } else if K == 3 {
            let (a, b, c) = V::interleave3(d[0], d[1], d[2]);
            interleaved_store::<V, K>(a, gx, 0, n);
            interleaved_store::<V, K>(b, gx, 1, n);
            interleaved_store::<V, K>(c, gx, 2, n);
        } else {
            let (e01, e23) = V::interleave2_from_pair_order(d[0], d[2]);
            let (o01, o23) = V::interleave2_from_pair_order(d[1], d[3]);
            let (v0, v1) = V::interleave2_from_pair_order(e01, o01);
            let (v2, v3) = V::interleave2_from_pair_order(e23, o23);
            interleaved_store::<V, K>(v0, gx, 0, n);
            interleaved_store::<V, K>(v1, gx, 1, n);
            interleaved_store::<V, K>(v2, gx, 2, n);
            interleaved_store::<V, K>(v3, gx, 3, n);
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
    // SAFETY: the CPU has `V`'s ISA, a requirement of every `unsafe fn`
    // of `ops/` (see the module's docs).
    let cpu = unsafe { Cpu::<V>::assume() };
    let l = V::LANES;
    // SAFETY: (whole function) as in `forward`.
    unsafe {
        match (k, inner) {
            (2, 1) => return backward_interleaved::<V, 2>(x, gy, gx, outer),
            (3, 1) => return backward_interleaved::<V, 3>(x, gy, gx, outer),
            (4, 1) => return backward_interleaved::<V, 4>(x, gy, gx, outer),
            _ => {}
        }
        if inner < l || k > MAX_VECTOR_PIECES {
            // No vector path: the scalar reference's loop.
            return reference::maxout_backward_raw(x, gy, gx, outer, k, inner);
        }
        for o in 0..outer {
            let (base, out, go) = (
                x.add(o * k * inner),
                gx.add(o * k * inner),
                gy.add(o * inner),
            );
            let mut i = 0;
            // Four vectors of outputs at a time, as in `forward_long`.
            while i + 4 * l <= inner {
                let (_, id) = strided_winners4::<V, true>(base, k, inner, i);
                let mut g = [cpu.zero(); 4];
                for (q, g) in g.iter_mut().enumerate() {
                    *g = V::load(go.add(i + q * l));
                }
                let mut pv = cpu.zero();
                for p in 0..k {
                    let piece = out.add(p * inner + i);
                    for q in 0..4 {
                        g[q].keep_where(id[q].eq(pv)).store(piece.add(q * l));
                    }
                    pv = pv.add(cpu.splat(1.0));
                }
                i += 4 * l;
            }
            while i + l <= inner {
                strided_grad::<V>(base.add(i), go.add(i), out.add(i), k, inner, l);
                i += l;
            }
            if i < inner {
                strided_grad::<V>(base.add(i), go.add(i), out.add(i), k, inner, inner - i);
            }
        }
    }
}
