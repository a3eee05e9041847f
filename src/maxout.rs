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
//! reading the indices the forward pass wrote. Every tier picks the same
//! winners.

pub use rectify_kernels::MaxoutIndex;

use crate::error::same_len;
use crate::{parallel, Error, Kernels};

/// What the Maxout backward pass computes the winners from.
#[derive(Clone, Copy, Debug)]
pub enum MaxoutSaved<'a> {
    /// The forward pass's input `x` (`k` times the output's length).
    Input(&'a [f32]),
    /// The winners' indices written by [`Kernels::maxout_with_index`].
    IndexU8(&'a [u8]),
    /// The same, four bytes each.
    IndexU32(&'a [u32]),
}

/// Checks `k`, `inner` and that `x` is `[outer, k, inner]` for the output
/// length `y_len`.
fn validate(k: usize, inner: usize, x_len: usize, y_len: usize) -> Result<(), Error> {
    if k == 0 {
        return Err(Error::InvalidParameter {
            activation: "maxout",
            parameter: "k",
            value: 0.0,
            requirement: "it must be at least 1",
        });
    }
    // Saturating: a group past usize is longer than any buffer, so only an
    // empty x is whole groups of it (`[0, k, inner]`).
    let group = k.saturating_mul(inner);
    if group == 0 || !x_len.is_multiple_of(group) {
        return Err(Error::LayoutMismatch {
            argument: "x",
            len: x_len,
            channels: k,
            inner,
        });
    }
    if y_len != x_len / k {
        return Err(Error::LengthMismatch {
            argument: "y",
            expected: x_len / k,
            actual: y_len,
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
        self.maxout_with_index(x, k, inner, y, MaxoutIndex::None)
    }

    /// Maxout that also writes each output's winning piece (`u8` indices need
    /// `k <= 256`), for [`Kernels::maxout_backward`] with
    /// [`MaxoutSaved::IndexU8`] or [`MaxoutSaved::IndexU32`].
    ///
    /// ```
    /// use rectify::{Kernels, MaxoutIndex};
    /// // Two outputs of k = 3 pieces, pieces in planes of inner = 2.
    /// let x = [1.0f32, 9.0, 7.0, 9.0, 3.0, 2.0];
    /// let (mut y, mut idx) = ([0.0f32; 2], [0u8; 2]);
    /// Kernels::from_env().maxout_with_index(&x, 3, 2, &mut y, MaxoutIndex::U8(&mut idx))?;
    /// assert_eq!(y, [7.0, 9.0]);
    /// assert_eq!(idx, [1, 0]); // ties go to the first maximal piece
    /// # Ok::<(), rectify::Error>(())
    /// ```
    pub fn maxout_with_index(
        &self,
        x: &[f32],
        k: usize,
        inner: usize,
        y: &mut [f32],
        idx: MaxoutIndex<'_>,
    ) -> Result<(), Error> {
        validate(k, inner, x.len(), y.len())?;
        match &idx {
            MaxoutIndex::U8(_) if k > 256 => {
                return Err(Error::InvalidParameter {
                    activation: "maxout",
                    parameter: "k",
                    value: k as f32,
                    requirement: "u8 indices need k <= 256",
                });
            }
            MaxoutIndex::U32(_) if k as u64 > 1 << 32 => {
                return Err(Error::InvalidParameter {
                    activation: "maxout",
                    parameter: "k",
                    value: k as f32,
                    requirement: "u32 indices need k <= 2^32",
                });
            }
            MaxoutIndex::U8(i) => same_len("idx", y.len(), i.len())?,
            MaxoutIndex::U32(i) => same_len("idx", y.len(), i.len())?,
            MaxoutIndex::None => {}
        }
        if y.is_empty() {
            // `[0, k, inner]`: nothing to do, for any k and inner (whose
            // product may not even fit in usize).
            return Ok(());
        }
        let outer = y.len() / inner;
        let (parts, rows) = parts(self, outer, k * inner);
        let set = self.kernel_set();
        if parts <= 1 {
            set.maxout_forward(x, k, inner, y, idx);
            return Ok(());
        }
        let out = inner * rows;
        let pieces: Vec<_> = match idx {
            MaxoutIndex::None => y
                .chunks_mut(out)
                .zip(x.chunks(out * k))
                .map(|(y, x)| (x, y, MaxoutIndex::None))
                .collect(),
            MaxoutIndex::U8(i) => y
                .chunks_mut(out)
                .zip(x.chunks(out * k).zip(i.chunks_mut(out)))
                .map(|(y, (x, i))| (x, y, MaxoutIndex::U8(i)))
                .collect(),
            MaxoutIndex::U32(i) => y
                .chunks_mut(out)
                .zip(x.chunks(out * k).zip(i.chunks_mut(out)))
                .map(|(y, (x, i))| (x, y, MaxoutIndex::U32(i)))
                .collect(),
        };
        parallel::run_parts(pieces, |(x, y, i)| set.maxout_forward(x, k, inner, y, i));
        Ok(())
    }

    /// Maxout backward: `grad_x[o, p, i] = p won ? grad_y[o, i] : +0`, the
    /// winners recomputed from the saved input or read from saved indices.
    ///
    /// ```
    /// use rectify::{Kernels, MaxoutSaved};
    /// let x = [1.0f32, 2.0, 5.0, 5.0];
    /// let mut grad_x = [9.0f32; 4];
    /// Kernels::from_env().maxout_backward(MaxoutSaved::Input(&x), 2, 1, &[10.0, 20.0], &mut grad_x)?;
    /// assert_eq!(grad_x, [0.0, 10.0, 20.0, 0.0]);
    /// # Ok::<(), rectify::Error>(())
    /// ```
    pub fn maxout_backward(
        &self,
        saved: MaxoutSaved<'_>,
        k: usize,
        inner: usize,
        grad_y: &[f32],
        grad_x: &mut [f32],
    ) -> Result<(), Error> {
        validate(k, inner, grad_x.len(), grad_y.len())?;
        let set = self.kernel_set();
        match saved {
            MaxoutSaved::Input(x) => {
                same_len("x", grad_x.len(), x.len())?;
                if grad_x.is_empty() {
                    // `[0, k, inner]`, for any k and inner.
                    return Ok(());
                }
                let outer = grad_y.len() / inner;
                let (parts, rows) = parts(self, outer, k * inner);
                let out = inner * rows;
                let pieces: Vec<_> = grad_x
                    .chunks_mut(out * k)
                    .zip(x.chunks(out * k).zip(grad_y.chunks(out)))
                    .map(|(gx, (x, gy))| (x, gy, gx))
                    .collect();
                if parts <= 1 {
                    pieces
                        .into_iter()
                        .for_each(|(x, gy, gx)| set.maxout_backward(x, k, inner, gy, gx));
                } else {
                    parallel::run_parts(pieces, |(x, gy, gx)| {
                        set.maxout_backward(x, k, inner, gy, gx)
                    });
                }
            }
            MaxoutSaved::IndexU8(idx) => indexed(idx, k, inner, grad_y, grad_x)?,
            MaxoutSaved::IndexU32(idx) => indexed(idx, k, inner, grad_y, grad_x)?,
        }
        Ok(())
    }
}

/// The backward pass from saved indices, after checking them.
fn indexed<I: Copy + Ord + Into<u64>>(
    idx: &[I],
    k: usize,
    inner: usize,
    grad_y: &[f32],
    grad_x: &mut [f32],
) -> Result<(), Error> {
    same_len("idx", grad_y.len(), idx.len())?;
    // The largest index first (a vectorised max in the index type), the
    // first bad one only for the message.
    if idx
        .iter()
        .copied()
        .max()
        .is_some_and(|m| m.into() >= k as u64)
    {
        let bad = idx.iter().find(|&&i| i.into() >= k as u64).copied();
        return Err(Error::InvalidParameter {
            activation: "maxout",
            parameter: "idx",
            value: bad.map_or(f32::NAN, |b| b.into() as f32),
            requirement: "every index must be below k",
        });
    }
    if grad_x.is_empty() {
        // `[0, k, inner]`, for any k and inner.
        return Ok(());
    }
    match (k, inner) {
        (2, 1) => interleaved::<I, 2>(idx, grad_y, grad_x),
        (3, 1) => interleaved::<I, 3>(idx, grad_y, grad_x),
        (4, 1) => interleaved::<I, 4>(idx, grad_y, grad_x),
        (_, 1) => {
            grad_x.fill(0.0);
            for ((gxo, &id), &g) in grad_x.chunks_exact_mut(k).zip(idx).zip(grad_y) {
                // An index below k (checked), so within the group.
                gxo[id.into() as usize] = g;
            }
        }
        _ => planes(idx, grad_y, grad_x, k, inner),
    }
    Ok(())
}

/// The reference's `maxout_backward_indexed` (`+0` everywhere, each output's
/// gradient at its winner) for `K` interleaved pieces, written so that LLVM
/// vectorises it: no conversion or check in the loop, a fixed group size.
/// The reference's loop, with its per-element check, neither vectorises nor
/// avoids the branch.
fn interleaved<I: Copy + Into<u64>, const K: usize>(idx: &[I], gy: &[f32], gx: &mut [f32]) {
    for ((gxo, &id), &g) in gx.chunks_exact_mut(K).zip(idx).zip(gy) {
        let id = id.into();
        for (p, d) in gxo.iter_mut().enumerate() {
            *d = grad_if(id == p as u64, g);
        }
    }
}

/// `g` where `won`, else `+0`, without a branch (the winners of real data
/// are unpredictable: a branch here cost 8-12 ns per output in
/// mispredictions) and without arithmetic on `g` (NaN payloads, infinities).
#[inline(always)]
fn grad_if(won: bool, g: f32) -> f32 {
    f32::from_bits(g.to_bits() & 0u32.wrapping_sub(u32::from(won)))
}

/// The same along `inner > 1` (or `inner == 0`), a plane of each piece at a
/// time.
fn planes<I: Copy + Into<u64>>(idx: &[I], gy: &[f32], gx: &mut [f32], k: usize, inner: usize) {
    if inner == 0 {
        return;
    }
    let groups = gx
        .chunks_exact_mut(k * inner)
        .zip(idx.chunks_exact(inner).zip(gy.chunks_exact(inner)));
    for (gxo, (idxo, gyo)) in groups {
        for (p, piece) in gxo.chunks_exact_mut(inner).enumerate() {
            for ((d, &id), &g) in piece.iter_mut().zip(idxo).zip(gyo) {
                *d = grad_if(id.into() == p as u64, g);
            }
        }
    }
}
