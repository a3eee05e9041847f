//! Maxout: the maximum of `k` pieces. `x` is viewed as `[outer, k, inner]`
//! and `y` as `[outer, inner]`: `y[o, i] = max over p of x[o, p, i]`.
//!
//! - `inner == 1` is the usual `reshape(.., units, k).max(-1)` layout, pieces
//!   interleaved; vectorised for `k = 2` and `4` (the pieces split apart in
//!   registers), scalar for other `k`.
//! - Longer `inner` (channel groups in NCHW) is vectorised along `inner`.
//!
//! The winner is the first maximal piece (`-0` and `+0` tie, so the first of
//! them wins), or the first NaN if any piece is NaN: its value, payload kept,
//! is the output. The backward pass sends the whole gradient to the winner and
//! `+0` to the other pieces, recomputing the winners from the saved input or
//! reading the indices the forward pass wrote, and writes those shares over
//! `grad_in` or adds them to it ([`Grad`]). Every tier picks the same
//! winners.

use rectify_kernels::reference::maxout_step;
use rectify_kernels::{KernelSet, MaxoutIndex as KernelIndex};

use crate::error::same_len;
use crate::{parallel, Error, Grad, Kernels};

mod sealed {
    pub trait Sealed {}
    impl Sealed for u8 {}
    impl Sealed for u32 {}
}

/// The element type of a buffer of Maxout winners: `u8` (for `k <= 256`)
/// or `u32` (for `k <= 2^32`). [`Kernels::maxout_with_index`] writes one
/// per output; [`Kernels::maxout_backward_indexed`] reads them.
pub trait MaxoutIndex: Copy + Ord + Into<u64> + Send + Sync + sealed::Sealed {
    /// The largest `k` whose winners this type holds.
    const MAX_K: u64;
    /// The kernels' view of a buffer of these.
    #[doc(hidden)]
    fn kernel_index(idx: &mut [Self]) -> KernelIndex<'_>;
}

impl MaxoutIndex for u8 {
    const MAX_K: u64 = 256;
    fn kernel_index(idx: &mut [u8]) -> KernelIndex<'_> {
        KernelIndex::U8(idx)
    }
}

impl MaxoutIndex for u32 {
    const MAX_K: u64 = 1 << 32;
    fn kernel_index(idx: &mut [u32]) -> KernelIndex<'_> {
        KernelIndex::U32(idx)
    }
}

/// Checks `k`, `inner` and that `x` (named `argument`) is `[outer, k,
/// inner]` for the output length `y_len` (named `output`).
fn validate(
    (argument, x_len): (&'static str, usize),
    k: usize,
    inner: usize,
    (output, y_len): (&'static str, usize),
) -> Result<(), Error> {
    if k == 0 {
        return Err(Error::InvalidSize {
            operation: "maxout",
            parameter: "k",
            value: 0,
            requirement: "it must be at least 1",
        });
    }
    // Saturating: a group past usize is longer than any buffer, so only an
    // empty x is whole groups of it (`[0, k, inner]`).
    let group = k.saturating_mul(inner);
    if group == 0 || !x_len.is_multiple_of(group) {
        return Err(Error::PiecesMismatch {
            argument,
            len: x_len,
            k,
            inner,
        });
    }
    same_len(output, x_len / k, y_len)
}

/// Refuses an index type too narrow for `k`.
fn index_holds<I: MaxoutIndex>(k: usize) -> Result<(), Error> {
    if k as u64 > I::MAX_K {
        return Err(Error::InvalidSize {
            operation: "maxout",
            parameter: "k",
            value: k,
            requirement: if I::MAX_K == 256 {
                "u8 indices need k <= 256"
            } else {
                "u32 indices need k <= 2^32"
            },
        });
    }
    Ok(())
}

/// The number of pieces a call on `outer` groups of `group` elements is split
/// into, and the groups per piece.
fn parts(k: &Kernels, outer: usize, group: usize) -> (usize, usize) {
    let parts = k
        .split_len(outer * group)
        .map_or(1, |chunk| (outer * group).div_ceil(chunk))
        .min(outer.max(1));
    (parts, outer.div_ceil(parts).max(1))
}

impl Kernels {
    /// Maxout: `y[o, i] = max over p < k of x[o, p, i]`, for `x` viewed as
    /// `[outer, k, inner]` (`inner = 1`: `k` consecutive pieces per output).
    ///
    /// ```
    /// use rectify::Kernels;
    /// // Three outputs of k = 2 interleaved pieces.
    /// let x = [1.0f32, 2.0, -3.0, -4.0, 5.0, f32::NAN];
    /// let mut y = [0.0f32; 3];
    /// Kernels::from_env().maxout(&x, 2, 1, &mut y)?;
    /// assert_eq!(&y[..2], &[2.0, -3.0]);
    /// assert!(y[2].is_nan()); // NaN propagates
    /// # Ok::<(), rectify::Error>(())
    /// ```
    pub fn maxout(&self, x: &[f32], k: usize, inner: usize, y: &mut [f32]) -> Result<(), Error> {
        validate(("x", x.len()), k, inner, ("y", y.len()))?;
        self.maxout_checked(x, k, inner, y, KernelIndex::None);
        Ok(())
    }

    /// Maxout that also writes each output's winning piece into `idx`, one
    /// per output (`u8` indices need `k <= 256`), for
    /// [`Kernels::maxout_backward_indexed`].
    ///
    /// ```
    /// use rectify::Kernels;
    /// // Two outputs of k = 3 pieces, pieces in planes of inner = 2.
    /// let x = [1.0f32, 9.0, 7.0, 9.0, 3.0, 2.0];
    /// let (mut y, mut idx) = ([0.0f32; 2], [0u8; 2]);
    /// Kernels::from_env().maxout_with_index(&x, 3, 2, &mut y, &mut idx)?;
    /// assert_eq!(y, [7.0, 9.0]);
    /// assert_eq!(idx, [1, 0]); // ties go to the first maximal piece
    /// # Ok::<(), rectify::Error>(())
    /// ```
    pub fn maxout_with_index<I: MaxoutIndex>(
        &self,
        x: &[f32],
        k: usize,
        inner: usize,
        y: &mut [f32],
        idx: &mut [I],
    ) -> Result<(), Error> {
        validate(("x", x.len()), k, inner, ("y", y.len()))?;
        index_holds::<I>(k)?;
        same_len("idx", y.len(), idx.len())?;
        self.maxout_checked(x, k, inner, y, I::kernel_index(idx));
        Ok(())
    }

    /// The forward pass after validation, split across threads.
    fn maxout_checked(
        &self,
        x: &[f32],
        k: usize,
        inner: usize,
        y: &mut [f32],
        idx: KernelIndex<'_>,
    ) {
        if y.is_empty() {
            // `[0, k, inner]`: nothing to do, for any k and inner (whose
            // product may not even fit in usize).
            return;
        }
        let outer = y.len() / inner;
        let (parts, rows) = parts(self, outer, k * inner);
        let set = self.kernel_set();
        if parts <= 1 {
            set.maxout_forward(x, k, inner, y, idx);
            return;
        }
        let out = inner * rows;
        let pieces: Vec<_> = match idx {
            KernelIndex::None => y
                .chunks_mut(out)
                .zip(x.chunks(out * k))
                .map(|(y, x)| (x, y, KernelIndex::None))
                .collect(),
            KernelIndex::U8(i) => y
                .chunks_mut(out)
                .zip(x.chunks(out * k).zip(i.chunks_mut(out)))
                .map(|(y, (x, i))| (x, y, KernelIndex::U8(i)))
                .collect(),
            KernelIndex::U32(i) => y
                .chunks_mut(out)
                .zip(x.chunks(out * k).zip(i.chunks_mut(out)))
                .map(|(y, (x, i))| (x, y, KernelIndex::U32(i)))
                .collect(),
        };
        parallel::run_parts(pieces, |(x, y, i)| set.maxout_forward(x, k, inner, y, i));
    }

    /// Maxout backward from the saved input: piece `p` of output `(o, i)`
    /// gets `c[o, p, i] = p won ? grad_out[o, i] : +0`, the winners
    /// recomputed from `x`, and
    ///
    /// - [`Grad::Write`]: `grad_in[o, p, i] = c[o, p, i]` (every element is
    ///   written);
    /// - [`Grad::Add`]: `grad_in[o, p, i] += c[o, p, i]`, in f32, for every
    ///   element: a loser gets `+0` added, which leaves every value as it is
    ///   except `-0`, which becomes `+0` (IEEE `-0 + +0 = +0`).
    ///
    /// ```
    /// use rectify::{Grad, Kernels};
    /// let x = [1.0f32, 2.0, 5.0, 5.0];
    /// let k = Kernels::from_env();
    /// let mut grad_in = [9.0f32; 4];
    /// k.maxout_backward(&x, 2, 1, &[10.0, 20.0], Grad::Write(&mut grad_in))?;
    /// assert_eq!(grad_in, [0.0, 10.0, 20.0, 0.0]);
    /// k.maxout_backward(&x, 2, 1, &[1.0, 2.0], Grad::Add(&mut grad_in))?;
    /// assert_eq!(grad_in, [0.0, 11.0, 22.0, 0.0]);
    /// # Ok::<(), rectify::Error>(())
    /// ```
    pub fn maxout_backward(
        &self,
        x: &[f32],
        k: usize,
        inner: usize,
        grad_out: &[f32],
        grad_in: Grad<'_>,
    ) -> Result<(), Error> {
        let (add, grad_in) = grad_in.into_parts();
        validate(
            ("grad_in", grad_in.len()),
            k,
            inner,
            ("grad_out", grad_out.len()),
        )?;
        same_len("x", grad_in.len(), x.len())?;
        if grad_in.is_empty() {
            // `[0, k, inner]`, for any k and inner.
            return Ok(());
        }
        let set = self.kernel_set();
        let outer = grad_out.len() / inner;
        let (parts, rows) = parts(self, outer, k * inner);
        let out = inner * rows;
        let pieces: Vec<_> = grad_in
            .chunks_mut(out * k)
            .zip(x.chunks(out * k).zip(grad_out.chunks(out)))
            .map(|(gx, (x, gy))| (x, gy, gx))
            .collect();
        let run = |(x, gy, gx): (&[f32], &[f32], &mut [f32])| {
            if add {
                added(set, x, (k, inner), gy, gx)
            } else {
                set.maxout_backward(x, k, inner, gy, gx)
            }
        };
        if parts <= 1 {
            pieces.into_iter().for_each(run);
        } else {
            parallel::run_parts(pieces, run);
        }
        Ok(())
    }

    /// Maxout backward from the winners [`Kernels::maxout_with_index`]
    /// saved: piece `p` of output `(o, i)` gets `c[o, p, i] = p == idx[o, i]
    /// ? grad_out[o, i] : +0`, written over `grad_in` or added to it as
    /// [`Kernels::maxout_backward`] states. Refuses an index not below `k`.
    ///
    /// ```
    /// use rectify::{Grad, Kernels};
    /// let k = Kernels::from_env();
    /// let mut grad_in = [9.0f32; 4];
    /// k.maxout_backward_indexed(&[1u8, 0], 2, 1, &[10.0, 20.0], Grad::Write(&mut grad_in))?;
    /// assert_eq!(grad_in, [0.0, 10.0, 20.0, 0.0]);
    /// k.maxout_backward_indexed(&[0u8, 0], 2, 1, &[1.0, 2.0], Grad::Add(&mut grad_in))?;
    /// assert_eq!(grad_in, [1.0, 10.0, 22.0, 0.0]);
    /// # Ok::<(), rectify::Error>(())
    /// ```
    pub fn maxout_backward_indexed<I: MaxoutIndex>(
        &self,
        idx: &[I],
        k: usize,
        inner: usize,
        grad_out: &[f32],
        grad_in: Grad<'_>,
    ) -> Result<(), Error> {
        let (add, grad_in) = grad_in.into_parts();
        validate(
            ("grad_in", grad_in.len()),
            k,
            inner,
            ("grad_out", grad_out.len()),
        )?;
        if add {
            indexed::<I, true>(idx, k, inner, grad_out, grad_in)
        } else {
            indexed::<I, false>(idx, k, inner, grad_out, grad_in)
        }
    }
}

/// The elements of the scratch an added gradient goes through: 4 KiB on
/// the stack, whatever the call's size.
const SCRATCH: usize = 1024;

/// `gx += c` for the contributions `c` the kernel writes, whole groups of
/// `k * inner` (validated, nonempty) at a time through a bounded scratch.
fn added(set: &KernelSet, x: &[f32], (k, inner): (usize, usize), gy: &[f32], gx: &mut [f32]) {
    let group = k * inner;
    let mut c = [0.0f32; SCRATCH];
    if group <= SCRATCH {
        let per = SCRATCH / group;
        let chunks = x.chunks(per * group).zip(gy.chunks(per * inner));
        for ((x, gy), gx) in chunks.zip(gx.chunks_mut(per * group)) {
            let c = &mut c[..gx.len()];
            set.maxout_backward(x, k, inner, gy, c);
            add_to(gx, c);
        }
        return;
    }
    let groups = x.chunks_exact(group).zip(gy.chunks_exact(inner));
    if k <= SCRATCH {
        // Column tiles: `cols` of each piece's plane gathered, so the
        // kernel sees `[1, k, cols]` (a winner depends only on its column).
        let (cols, mut xs) = (SCRATCH / k, [0.0f32; SCRATCH]);
        for ((x, gy), gx) in groups.zip(gx.chunks_exact_mut(group)) {
            for c0 in (0..inner).step_by(cols) {
                let n = cols.min(inner - c0);
                let planes = xs.chunks_exact_mut(n).zip(x[c0..].chunks(inner));
                planes.for_each(|(t, x)| t.copy_from_slice(&x[..n]));
                set.maxout_backward(&xs[..k * n], k, n, &gy[c0..c0 + n], &mut c[..k * n]);
                for (g, c) in gx[c0..].chunks_mut(inner).zip(c.chunks_exact(n)) {
                    add_to(&mut g[..n], c);
                }
            }
        }
        return;
    }
    // More pieces than the scratch holds: each column's winner by the
    // rule every tier follows, its pieces read in order.
    for ((x, gy), gx) in groups.zip(gx.chunks_exact_mut(group)) {
        for (i, &g) in gy.iter().enumerate() {
            let (_, won) = (1..k).fold((x[i], 0), |(best, id), p| {
                maxout_step(best, id, x[p * inner + i], p)
            });
            for p in 0..k {
                gx[p * inner + i] += grad_if(p == won, g);
            }
        }
    }
}

/// `gx[i] += c[i]`, in f32.
fn add_to(gx: &mut [f32], c: &[f32]) {
    gx.iter_mut().zip(c).for_each(|(g, c)| *g += c);
}

/// The backward pass from saved indices, after checking them: the
/// contributions written over `grad_in`, or added to it when `ADD`.
fn indexed<I: Copy + Ord + Into<u64>, const ADD: bool>(
    idx: &[I],
    k: usize,
    inner: usize,
    grad_out: &[f32],
    grad_in: &mut [f32],
) -> Result<(), Error> {
    same_len("idx", grad_out.len(), idx.len())?;
    // The largest index first (a vectorised max in the index type), the
    // first bad one only for the message.
    if idx
        .iter()
        .copied()
        .max()
        .is_some_and(|m| m.into() >= k as u64)
    {
        let position = idx.iter().position(|&i| i.into() >= k as u64);
        let position = position.expect("the maximum is out of range");
        return Err(Error::IndexOutOfRange {
            argument: "idx",
            position,
            index: idx[position].into(),
            k,
        });
    }
    if grad_in.is_empty() {
        // `[0, k, inner]`, for any k and inner.
        return Ok(());
    }
    match (k, inner) {
        (2, 1) => interleaved::<I, 2, ADD>(idx, grad_out, grad_in),
        (3, 1) => interleaved::<I, 3, ADD>(idx, grad_out, grad_in),
        (4, 1) => interleaved::<I, 4, ADD>(idx, grad_out, grad_in),
        (_, 1) if !ADD => {
            grad_in.fill(0.0);
            for ((gxo, &id), &g) in grad_in.chunks_exact_mut(k).zip(idx).zip(grad_out) {
                // An index below k (checked), so within the group.
                gxo[id.into() as usize] = g;
            }
        }
        _ => planes::<I, ADD>(idx, grad_out, grad_in, k, inner),
    }
    Ok(())
}

/// The reference's `maxout_backward_indexed` (`+0` everywhere, each output's
/// gradient at its winner) for `K` interleaved pieces, written so that LLVM
/// vectorises it: no conversion or check in the loop, a fixed group size.
/// The reference's loop, with its per-element check, neither vectorises nor
/// avoids the branch.
fn interleaved<I: Copy + Into<u64>, const K: usize, const ADD: bool>(
    idx: &[I],
    gy: &[f32],
    gx: &mut [f32],
) {
    for ((gxo, &id), &g) in gx.chunks_exact_mut(K).zip(idx).zip(gy) {
        let id = id.into();
        for (p, d) in gxo.iter_mut().enumerate() {
            put::<ADD>(d, grad_if(id == p as u64, g));
        }
    }
}

/// `*d = c`, or `*d += c` when `ADD`.
#[inline(always)]
fn put<const ADD: bool>(d: &mut f32, c: f32) {
    *d = if ADD { *d + c } else { c };
}

/// `g` where `won`, else `+0`, without a branch (the winners of real data
/// are unpredictable: a branch here cost 8-12 ns per output in
/// mispredictions) and without arithmetic on `g` (NaN payloads, infinities).
#[inline(always)]
fn grad_if(won: bool, g: f32) -> f32 {
    f32::from_bits(g.to_bits() & 0u32.wrapping_sub(u32::from(won)))
}

/// The same along `inner > 1` (or `inner == 0`, or for any `k` when
/// adding), a plane of each piece at a time.
fn planes<I: Copy + Into<u64>, const ADD: bool>(
    idx: &[I],
    gy: &[f32],
    gx: &mut [f32],
    k: usize,
    inner: usize,
) {
    if inner == 0 {
        return;
    }
    let groups = gx
        .chunks_exact_mut(k * inner)
        .zip(idx.chunks_exact(inner).zip(gy.chunks_exact(inner)));
    for (gxo, (idxo, gyo)) in groups {
        for (p, piece) in gxo.chunks_exact_mut(inner).enumerate() {
            for ((d, &id), &g) in piece.iter_mut().zip(idxo).zip(gyo) {
                put::<ADD>(d, grad_if(id.into() == p as u64, g));
            }
        }
    }
}
