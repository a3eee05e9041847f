//! AVX2 + FMA: 8 lanes of `__m256`. Tails use `vmaskmovps`, which neither reads
//! nor writes (nor faults on) the masked-off lanes.

use core::arch::x86_64::*;

use crate::vector::{Cpu, F32Vector};

/// 8 f32 lanes in a ymm register. Its register is private to this file,
/// and every way to make one needs a `Cpu<Avx2>` or a load whose contract
/// includes the ISA (see the soundness section of `vector.rs`).
#[derive(Clone, Copy)]
pub(crate) struct Avx2(__m256);

/// `$body`, AVX2 and FMA intrinsics that compute on registers only, given
/// `$cpu: Cpu<Avx2>` (an operand's `.cpu()`): the one requirement of the
/// block is that instruction set, and the proof shows the CPU has it.
macro_rules! registers {
    ($cpu:expr, $body:expr) => {{
        let _: Cpu<Avx2> = $cpu;
        // SAFETY: a `Cpu<Avx2>` exists only on a CPU with AVX2 and FMA
        // (vector.rs), and the intrinsics read and write registers only.
        unsafe { $body }
    }};
}

/// A mask of `n` leading lanes set, for `vmaskmovps` (sign bit of each i32 lane).
#[inline(always)]
fn first_lanes(cpu: Cpu<Avx2>, n: usize) -> __m256i {
    registers!(cpu, {
        _mm256_cmpgt_epi32(
            _mm256_set1_epi32(n as i32),
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
        )
    })
}

/// `v`'s lanes permuted: lane `j` of the result is lane `idx[j]` of `v`
/// (one `vpermps`; the index vector a constant).
#[inline(always)]
fn permuted(v: Avx2, idx: [i32; 8]) -> Avx2 {
    let _: Cpu<Avx2> = v.cpu();
    // SAFETY: `v` proves AVX2 (vector.rs); the index load reads the 8 i32
    // of `idx`, 32 bytes, as `_mm256_loadu_si256` needs (no alignment).
    Avx2(unsafe { _mm256_permutevar8x32_ps(v.0, _mm256_loadu_si256(idx.as_ptr().cast())) })
}

/// `0..8` twice: from index `8 - r`, the permute that rotates lanes up by `r`.
static ROTATION: [i32; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7];

impl F32Vector for Avx2 {
    const FUSED_MUL_ADD: bool = true;
    const LANES: usize = 8;
    // 16 ymm registers.
    const REGISTERS: usize = 16;
    // A vector of all-ones or all-zeros lanes: a mask is an `Avx2` too, so
    // the mask operations carry the proof that AVX2 is there.
    type Mask = Avx2;

    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: the caller guarantees AVX2 and 8 readable floats at `p`.
        Avx2(unsafe { _mm256_loadu_ps(p) })
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: `self` proves AVX2; the caller guarantees 8 writable
        // floats at `p`.
        unsafe { _mm256_storeu_ps(p, self.0) }
    }
    #[inline(always)]
    unsafe fn load_partial(p: *const f32, n: usize) -> Self {
        // SAFETY: the caller guarantees AVX2 (so the proof may be assumed)
        // and `n` readable floats at `p`; `vmaskmovps` touches only the
        // first `n` lanes.
        unsafe {
            let cpu = Cpu::assume();
            Avx2(_mm256_maskload_ps(p, first_lanes(cpu, n)))
        }
    }
    #[inline(always)]
    unsafe fn store_partial(self, p: *mut f32, n: usize) {
        let mask = first_lanes(self.cpu(), n);
        // SAFETY: `self` proves AVX2; the caller guarantees `n` writable
        // floats at `p`, and `vmaskmovps` touches only the first `n` lanes.
        unsafe { _mm256_maskstore_ps(p, mask, self.0) }
    }
    #[inline(always)]
    fn splat(cpu: Cpu<Self>, v: f32) -> Self {
        Avx2(registers!(cpu, _mm256_set1_ps(v)))
    }
    #[inline(always)]
    fn zero(cpu: Cpu<Self>) -> Self {
        Avx2(registers!(cpu, _mm256_setzero_ps()))
    }
    #[inline(always)]
    fn add(self, rhs: Self) -> Self {
        Avx2(registers!(self.cpu(), _mm256_add_ps(self.0, rhs.0)))
    }
    #[inline(always)]
    fn sub(self, rhs: Self) -> Self {
        Avx2(registers!(self.cpu(), _mm256_sub_ps(self.0, rhs.0)))
    }
    #[inline(always)]
    fn div(self, rhs: Self) -> Self {
        Avx2(registers!(self.cpu(), _mm256_div_ps(self.0, rhs.0)))
    }
    #[inline(always)]
    fn mul_add(self, b: Self, c: Self) -> Self {
        Avx2(registers!(self.cpu(), _mm256_fmadd_ps(self.0, b.0, c.0)))
    }
    #[inline(always)]
    fn max(self, rhs: Self) -> Self {
        Avx2(registers!(self.cpu(), _mm256_max_ps(self.0, rhs.0)))
    }
    #[inline(always)]
    fn min(self, rhs: Self) -> Self {
        Avx2(registers!(self.cpu(), _mm256_min_ps(self.0, rhs.0)))
    }
    #[inline(always)]
    fn to_u32_bits(self) -> Self {
        Avx2(registers!(
            self.cpu(),
            _mm256_castsi256_ps(_mm256_cvttps_epi32(self.0))
        ))
    }
    #[inline(always)]
    fn add_bits(self, rhs: Self) -> Self {
        Avx2(registers!(self.cpu(), {
            _mm256_castsi256_ps(_mm256_add_epi32(
                _mm256_castps_si256(self.0),
                _mm256_castps_si256(rhs.0),
            ))
        }))
    }
    #[inline(always)]
    fn split_sign(self) -> (Self, Self) {
        // `vminps`/`vmaxps` return their second operand where either is NaN
        // or both are zeros: `min(x, +0)` is +0 there, `max(+0, x)` is `x`.
        registers!(self.cpu(), {
            let zero = _mm256_setzero_ps();
            (
                Avx2(_mm256_min_ps(self.0, zero)),
                Avx2(_mm256_max_ps(zero, self.0)),
            )
        })
    }
    #[inline(always)]
    fn or_bits(self, rhs: Self) -> Self {
        Avx2(registers!(self.cpu(), _mm256_or_ps(self.0, rhs.0)))
    }
    #[inline(always)]
    fn or_sign(self, from: Self) -> Self {
        Avx2(registers!(
            self.cpu(),
            _mm256_or_ps(self.0, _mm256_and_ps(from.0, _mm256_set1_ps(-0.0)))
        ))
    }
    /// Pairs split within the 128-bit halves: lanes in the order `[0, 1, 4,
    /// 5 | 2, 3, 6, 7]` of the pairs (`a`'s pairs 0-3, `b`'s 4-7).
    #[inline(always)]
    fn deinterleave2_in_pair_order(a: Self, b: Self) -> (Self, Self) {
        registers!(a.cpu(), {
            (
                Avx2(_mm256_shuffle_ps::<0b10_00_10_00>(a.0, b.0)),
                Avx2(_mm256_shuffle_ps::<0b11_01_11_01>(a.0, b.0)),
            )
        })
    }
    /// The 64-bit chunks 1 and 2 swapped: its own inverse.
    #[inline(always)]
    fn from_pair_order(v: Self) -> Self {
        registers!(v.cpu(), {
            Avx2(_mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(
                _mm256_castps_pd(v.0),
            )))
        })
    }
    #[inline(always)]
    fn to_pair_order(v: Self) -> Self {
        Self::from_pair_order(v)
    }
    /// Two rounds of pair splits leave the pieces of four in the order `[0,
    /// 2, 4, 6 | 1, 3, 5, 7]` of the outputs: one `vpermps` each way.
    #[inline(always)]
    fn from_quad_order(v: Self) -> Self {
        permuted(v, [0, 4, 1, 5, 2, 6, 3, 7])
    }
    #[inline(always)]
    fn to_quad_order(v: Self) -> Self {
        permuted(v, [0, 2, 4, 6, 1, 3, 5, 7])
    }
    /// Zipped within the halves: pairs `[0, 1 | 2, 3]` and `[4, 5 | 6, 7]`.
    #[inline(always)]
    fn interleave2_from_pair_order(a: Self, b: Self) -> (Self, Self) {
        registers!(a.cpu(), {
            (
                Avx2(_mm256_unpacklo_ps(a.0, b.0)),
                Avx2(_mm256_unpackhi_ps(a.0, b.0)),
            )
        })
    }
    /// In registers: both halves widened, one horizontal add makes the
    /// pairs `(l0 + l1, l4 + l5 | l2 + l3, l6 + l7)`, then the halves and
    /// the two sums (8 instructions, where the generic tree compiled to 17:
    /// the runs backward's sum per piece, a quarter of its time on runs of
    /// 256 in L1).
    #[inline(always)]
    fn pairwise_sum_f64(self) -> f64 {
        registers!(self.cpu(), {
            let lo = _mm256_cvtps_pd(_mm256_castps256_ps128(self.0));
            let hi = _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(self.0));
            let pairs = _mm256_hadd_pd(lo, hi);
            let quads = _mm_add_pd(
                _mm256_castpd256_pd128(pairs),
                _mm256_extractf128_pd::<1>(pairs),
            );
            _mm_cvtsd_f64(_mm_add_sd(quads, _mm_unpackhi_pd(quads, quads)))
        })
    }
    #[inline(always)]
    fn lanes_rotated(self, r: usize) -> Self {
        debug_assert!(r < 8);
        // SAFETY: `self` proves AVX2; the index load reads
        // `ROTATION[8 - r % 8..][..8]`, within its 16 entries.
        unsafe {
            let idx = _mm256_loadu_si256(ROTATION.as_ptr().add(8 - r % 8).cast());
            Avx2(_mm256_permutevar8x32_ps(self.0, idx))
        }
    }
    #[inline(always)]
    unsafe fn lanes_picked(self, idx: *const u32) -> Self {
        // SAFETY: `self` proves AVX2; the caller guarantees `idx` is
        // readable for 8 indices (`vpermps` takes each index's low 3 bits;
        // they are below 8).
        unsafe {
            Avx2(_mm256_permutevar8x32_ps(
                self.0,
                _mm256_loadu_si256(idx.cast()),
            ))
        }
    }
    #[inline(always)]
    fn deinterleave3(a: Self, b: Self, c: Self) -> (Self, Self, Self) {
        use crate::vector::triples::{gather_order, piece_mask as m};
        // Per piece: two blends gather its lanes in place, one permute
        // orders them.
        let (t0, t1, t2) = registers!(a.cpu(), {
            let t0 = _mm256_blend_ps::<{ m(8, 2, 0) as i32 }>(
                _mm256_blend_ps::<{ m(8, 1, 0) as i32 }>(a.0, b.0),
                c.0,
            );
            let t1 = _mm256_blend_ps::<{ m(8, 2, 1) as i32 }>(
                _mm256_blend_ps::<{ m(8, 1, 1) as i32 }>(a.0, b.0),
                c.0,
            );
            let t2 = _mm256_blend_ps::<{ m(8, 2, 2) as i32 }>(
                _mm256_blend_ps::<{ m(8, 1, 2) as i32 }>(a.0, b.0),
                c.0,
            );
            (Avx2(t0), Avx2(t1), Avx2(t2))
        });
        (
            permuted(t0, gather_order::<8>(0)),
            permuted(t1, gather_order::<8>(1)),
            permuted(t2, gather_order::<8>(2)),
        )
    }
    #[inline(always)]
    fn interleave3(p0: Self, p1: Self, p2: Self) -> (Self, Self, Self) {
        use crate::vector::triples::{piece_mask as m, scatter_order};
        // The inverse of `deinterleave3`: permute each piece's lanes into
        // place, then blend.
        let u0 = permuted(p0, scatter_order::<8>(0)).0;
        let u1 = permuted(p1, scatter_order::<8>(1)).0;
        let u2 = permuted(p2, scatter_order::<8>(2)).0;
        registers!(p0.cpu(), {
            (
                Avx2(_mm256_blend_ps::<{ m(8, 0, 2) as i32 }>(
                    _mm256_blend_ps::<{ m(8, 0, 1) as i32 }>(u0, u1),
                    u2,
                )),
                Avx2(_mm256_blend_ps::<{ m(8, 1, 2) as i32 }>(
                    _mm256_blend_ps::<{ m(8, 1, 1) as i32 }>(u0, u1),
                    u2,
                )),
                Avx2(_mm256_blend_ps::<{ m(8, 2, 2) as i32 }>(
                    _mm256_blend_ps::<{ m(8, 2, 1) as i32 }>(u0, u1),
                    u2,
                )),
            )
        })
    }
    #[inline(always)]
    fn shl_bits<const K: i32>(self) -> Self {
        Avx2(registers!(
            self.cpu(),
            _mm256_castsi256_ps(_mm256_slli_epi32::<K>(_mm256_castps_si256(self.0)))
        ))
    }
    #[inline(always)]
    fn mul(self, rhs: Self) -> Self {
        Avx2(registers!(self.cpu(), _mm256_mul_ps(self.0, rhs.0)))
    }
    #[inline(always)]
    fn lt(self, rhs: Self) -> Avx2 {
        Avx2(registers!(
            self.cpu(),
            _mm256_cmp_ps::<_CMP_LT_OQ>(self.0, rhs.0)
        ))
    }
    #[inline(always)]
    fn le(self, rhs: Self) -> Avx2 {
        Avx2(registers!(
            self.cpu(),
            _mm256_cmp_ps::<_CMP_LE_OQ>(self.0, rhs.0)
        ))
    }
    #[inline(always)]
    fn eq(self, rhs: Self) -> Avx2 {
        Avx2(registers!(
            self.cpu(),
            _mm256_cmp_ps::<_CMP_EQ_OQ>(self.0, rhs.0)
        ))
    }
    #[inline(always)]
    fn gt(self, rhs: Self) -> Avx2 {
        Avx2(registers!(
            self.cpu(),
            _mm256_cmp_ps::<_CMP_GT_OQ>(self.0, rhs.0)
        ))
    }
    #[inline(always)]
    fn not_gt(self, rhs: Self) -> Avx2 {
        Avx2(registers!(
            self.cpu(),
            _mm256_cmp_ps::<_CMP_NGT_UQ>(self.0, rhs.0)
        ))
    }
    #[inline(always)]
    fn select(mask: Avx2, if_true: Self, if_false: Self) -> Self {
        Avx2(registers!(
            mask.cpu(),
            _mm256_blendv_ps(if_false.0, if_true.0, mask.0)
        ))
    }
    #[inline(always)]
    fn zero_where(self, mask: Avx2) -> Self {
        Avx2(registers!(self.cpu(), _mm256_andnot_ps(mask.0, self.0)))
    }
    #[inline(always)]
    fn keep_where(self, mask: Avx2) -> Self {
        Avx2(registers!(self.cpu(), _mm256_and_ps(mask.0, self.0)))
    }
    #[inline(always)]
    fn mask_and_not(a: Avx2, b: Avx2) -> Avx2 {
        Avx2(registers!(a.cpu(), _mm256_andnot_ps(b.0, a.0)))
    }
    #[inline(always)]
    fn mask_or(a: Avx2, b: Avx2) -> Avx2 {
        a.or_bits(b)
    }
}

entry_points!(Avx2, "avx2,fma");
