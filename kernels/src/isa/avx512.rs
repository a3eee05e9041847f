//! AVX-512F: 16 lanes of `__m512`, comparisons into `__mmask16` mask registers.
//! Tails use masked loads/stores, which neither read nor write (nor fault on)
//! the masked-off lanes.

use core::arch::x86_64::*;

use crate::vector::{Cpu, F32Vector};

/// 16 f32 lanes in a zmm register. Its register is private to this file,
/// and every way to make one needs a `Cpu<Avx512>` or a load whose contract
/// includes the ISA (see the soundness section of `vector.rs`).
#[derive(Clone, Copy)]
pub(crate) struct Avx512(__m512);

/// `$body`, AVX-512F intrinsics that compute on registers only, given
/// `$cpu: Cpu<Avx512>` (an operand's `.cpu()`): the one requirement of the
/// block is that instruction set, and the proof shows the CPU has it.
macro_rules! registers {
    ($cpu:expr, $body:expr) => {{
        let _: Cpu<Avx512> = $cpu;
        // SAFETY: a `Cpu<Avx512>` exists only on a CPU with AVX-512F
        // (vector.rs), and the intrinsics read and write registers only.
        unsafe { $body }
    }};
}

// The mask registers are plain integers: `__mmask16` is a `u16`, built and
// combined with integer operations that need no proof.

/// The mask of the first `n < 16` lanes.
#[inline(always)]
fn first_lanes(n: usize) -> __mmask16 {
    ((1u32 << n) - 1) as __mmask16
}

/// `0..16` twice: from index `16 - r`, the permute that rotates lanes up by
/// `r`.
static ROTATION: [i32; 32] = {
    let mut t = [0i32; 32];
    let mut j = 0;
    while j < 32 {
        t[j] = (j % 16) as i32;
        j += 1;
    }
    t
};

impl F32Vector for Avx512 {
    const FUSED_MUL_ADD: bool = true;
    const LANES: usize = 16;
    // 32 zmm registers.
    const REGISTERS: usize = 32;
    type Mask = __mmask16;

    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: the caller guarantees AVX-512F and 16 readable floats at `p`.
        Avx512(unsafe { _mm512_loadu_ps(p) })
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: `self` proves AVX-512F; the caller guarantees 16 writable
        // floats at `p`.
        unsafe { _mm512_storeu_ps(p, self.0) }
    }
    #[inline(always)]
    unsafe fn load_partial(p: *const f32, n: usize) -> Self {
        // SAFETY: the caller guarantees AVX-512F and `n` readable floats at
        // `p`; the masked load touches only the first `n` lanes.
        Avx512(unsafe { _mm512_maskz_loadu_ps(first_lanes(n), p) })
    }
    #[inline(always)]
    unsafe fn store_partial(self, p: *mut f32, n: usize) {
        // SAFETY: `self` proves AVX-512F; the caller guarantees `n` writable
        // floats at `p`, and the masked store touches only the first `n`.
        unsafe { _mm512_mask_storeu_ps(p, first_lanes(n), self.0) }
    }
    #[inline(always)]
    fn splat(cpu: Cpu<Self>, v: f32) -> Self {
        Avx512(registers!(cpu, _mm512_set1_ps(v)))
    }
    #[inline(always)]
    fn zero(cpu: Cpu<Self>) -> Self {
        Avx512(registers!(cpu, _mm512_setzero_ps()))
    }
    #[inline(always)]
    fn add(self, rhs: Self) -> Self {
        Avx512(registers!(self.cpu(), _mm512_add_ps(self.0, rhs.0)))
    }
    #[inline(always)]
    fn sub(self, rhs: Self) -> Self {
        Avx512(registers!(self.cpu(), _mm512_sub_ps(self.0, rhs.0)))
    }
    #[inline(always)]
    fn div(self, rhs: Self) -> Self {
        Avx512(registers!(self.cpu(), _mm512_div_ps(self.0, rhs.0)))
    }
    #[inline(always)]
    fn mul_add(self, b: Self, c: Self) -> Self {
        Avx512(registers!(self.cpu(), _mm512_fmadd_ps(self.0, b.0, c.0)))
    }
    #[inline(always)]
    fn max(self, rhs: Self) -> Self {
        Avx512(registers!(self.cpu(), _mm512_max_ps(self.0, rhs.0)))
    }
    #[inline(always)]
    fn min(self, rhs: Self) -> Self {
        Avx512(registers!(self.cpu(), _mm512_min_ps(self.0, rhs.0)))
    }
    #[inline(always)]
    fn to_u32_bits(self) -> Self {
        Avx512(registers!(
            self.cpu(),
            _mm512_castsi512_ps(_mm512_cvttps_epi32(self.0))
        ))
    }
    #[inline(always)]
    fn times_one_plus_pow2(self, p: Self, n: Self) -> Self {
        // `vscalefps` computes `x * 2^floor(n)` rounded once, under the
        // default MXCSR the kernels run with (round to nearest even, no
        // DAZ/FTZ); `n` holds integers, so `floor(n) = n`.
        Avx512(registers!(
            self.cpu(),
            _mm512_scalef_ps(_mm512_fmadd_ps(self.0, p.0, self.0), n.0)
        ))
    }
    #[inline(always)]
    fn add_bits(self, rhs: Self) -> Self {
        Avx512(registers!(self.cpu(), {
            _mm512_castsi512_ps(_mm512_add_epi32(
                _mm512_castps_si512(self.0),
                _mm512_castps_si512(rhs.0),
            ))
        }))
    }
    #[inline(always)]
    fn split_sign(self) -> (Self, Self) {
        // `vminps`/`vmaxps` return their second operand where either is NaN
        // or both are zeros: `min(x, +0)` is +0 there, `max(+0, x)` is `x`.
        registers!(self.cpu(), {
            let zero = _mm512_setzero_ps();
            (
                Avx512(_mm512_min_ps(self.0, zero)),
                Avx512(_mm512_max_ps(zero, self.0)),
            )
        })
    }
    #[inline(always)]
    fn or_bits(self, rhs: Self) -> Self {
        // The integer form: `_mm512_or_ps` would need AVX-512DQ.
        Avx512(registers!(self.cpu(), {
            _mm512_castsi512_ps(_mm512_or_si512(
                _mm512_castps_si512(self.0),
                _mm512_castps_si512(rhs.0),
            ))
        }))
    }
    #[inline(always)]
    fn or_sign(self, from: Self) -> Self {
        // The integer forms: `_mm512_or_ps` would need AVX-512DQ.
        Avx512(registers!(self.cpu(), {
            let sign = _mm512_and_si512(_mm512_castps_si512(from.0), _mm512_set1_epi32(i32::MIN));
            _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(self.0), sign))
        }))
    }
    #[inline(always)]
    fn deinterleave2_in_pair_order(a: Self, b: Self) -> (Self, Self) {
        // Indices 0..16 pick from `a`, 16..32 from `b`.
        registers!(a.cpu(), {
            let even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
            let odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
            (
                Avx512(_mm512_permutex2var_ps(a.0, even, b.0)),
                Avx512(_mm512_permutex2var_ps(a.0, odd, b.0)),
            )
        })
    }
    #[inline(always)]
    fn interleave2_from_pair_order(a: Self, b: Self) -> (Self, Self) {
        // Indices 0..16 pick from `a`, 16..32 from `b`.
        registers!(a.cpu(), {
            let lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
            let hi =
                _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
            (
                Avx512(_mm512_permutex2var_ps(a.0, lo, b.0)),
                Avx512(_mm512_permutex2var_ps(a.0, hi, b.0)),
            )
        })
    }
    /// In registers: both halves widened, the pairs by one unpack each and
    /// an add (`l0 + l1, l8 + l9, l2 + l3, ..`), then each level's halves
    /// added: 12 instructions where the generic tree went through the
    /// stack (a fifth of PReLU's backward over runs of 64).
    #[inline(always)]
    fn pairwise_sum_f64(self) -> f64 {
        // SAFETY: AVX-512F is available (vector.rs invariant); registers only.
        unsafe {
            let lo = _mm512_cvtps_pd(_mm512_castps512_ps256(self.0));
            let high = _mm512_extractf64x4_pd::<1>(_mm512_castps_pd(self.0));
            let hi = _mm512_cvtps_pd(_mm256_castpd_ps(high));
            // [p0, p4, p1, p5 | p2, p6, p3, p7], p_i = l_2i + l_2i+1.
            let pairs = _mm512_add_pd(_mm512_unpacklo_pd(lo, hi), _mm512_unpackhi_pd(lo, hi));
            // [q0, q2, q0, q2 | q1, q3, q1, q3], q_j = p_2j + p_2j+1.
            let quads = _mm512_add_pd(pairs, _mm512_shuffle_f64x2::<0xB1>(pairs, pairs));
            let eights = _mm256_add_pd(
                _mm512_castpd512_pd256(quads),
                _mm512_extractf64x4_pd::<1>(quads),
            );
            let e = _mm256_castpd256_pd128(eights);
            _mm_cvtsd_f64(_mm_add_sd(e, _mm_unpackhi_pd(e, e)))
        }
    }
    #[inline(always)]
    fn lanes_rotated(self, r: usize) -> Self {
        debug_assert!(r < 16);
        // SAFETY: `self` proves AVX-512F; the index load reads
        // `ROTATION[16 - r % 16..][..16]`, within its 32 entries.
        unsafe {
            let idx = _mm512_loadu_si512(ROTATION.as_ptr().add(16 - r % 16).cast());
            Avx512(_mm512_permutexvar_ps(idx, self.0))
        }
    }
    #[inline(always)]
    unsafe fn lanes_picked(self, idx: *const u32) -> Self {
        // SAFETY: `self` proves AVX-512F; the caller guarantees `idx` is
        // readable for 16 indices (`vpermps` takes each
        // index's low 4 bits; they are below 16).
        unsafe {
            Avx512(_mm512_permutexvar_ps(
                _mm512_loadu_si512(idx.cast()),
                self.0,
            ))
        }
    }
    #[inline(always)]
    fn deinterleave3(a: Self, b: Self, c: Self) -> (Self, Self, Self) {
        use crate::vector::triples::{gather_order, piece_mask as m};
        // SAFETY: `a` proves AVX-512F; besides registers, each index load
        // reads the 16 i32 of its `idx` array, 64 bytes.
        // Per piece: two masked blends gather its lanes in place, one
        // permute orders them (as on AVX2).
        unsafe {
            let piece = |k: usize, idx: [i32; 16]| {
                let t = _mm512_mask_blend_ps(m(16, 1, k) as u16, a.0, b.0);
                let t = _mm512_mask_blend_ps(m(16, 2, k) as u16, t, c.0);
                Avx512(_mm512_permutexvar_ps(
                    _mm512_loadu_si512(idx.as_ptr().cast()),
                    t,
                ))
            };
            (
                piece(0, gather_order::<16>(0)),
                piece(1, gather_order::<16>(1)),
                piece(2, gather_order::<16>(2)),
            )
        }
    }
    #[inline(always)]
    fn interleave3(p0: Self, p1: Self, p2: Self) -> (Self, Self, Self) {
        use crate::vector::triples::{piece_mask as m, scatter_order};
        // SAFETY: `p0` proves AVX-512F; besides registers, each index load
        // reads the 16 i32 of its `idx` array, 64 bytes. The inverse of
        // `deinterleave3`.
        unsafe {
            let order = |t: __m512, idx: [i32; 16]| {
                _mm512_permutexvar_ps(_mm512_loadu_si512(idx.as_ptr().cast()), t)
            };
            let u0 = order(p0.0, scatter_order::<16>(0));
            let u1 = order(p1.0, scatter_order::<16>(1));
            let u2 = order(p2.0, scatter_order::<16>(2));
            let out = |r: usize| {
                let t = _mm512_mask_blend_ps(m(16, r, 1) as u16, u0, u1);
                Avx512(_mm512_mask_blend_ps(m(16, r, 2) as u16, t, u2))
            };
            (out(0), out(1), out(2))
        }
    }
    #[inline(always)]
    fn shl_bits<const K: i32>(self) -> Self {
        // (`_mm512_slli_epi32` takes its count as a `u32` const, which a
        // generic `i32` cannot become; the variable shift is one uop too.)
        Avx512(registers!(self.cpu(), {
            _mm512_castsi512_ps(_mm512_sllv_epi32(
                _mm512_castps_si512(self.0),
                _mm512_set1_epi32(K),
            ))
        }))
    }
    #[inline(always)]
    fn mul(self, rhs: Self) -> Self {
        Avx512(registers!(self.cpu(), _mm512_mul_ps(self.0, rhs.0)))
    }
    #[inline(always)]
    fn lt(self, rhs: Self) -> __mmask16 {
        registers!(self.cpu(), _mm512_cmp_ps_mask::<_CMP_LT_OQ>(self.0, rhs.0))
    }
    #[inline(always)]
    fn le(self, rhs: Self) -> __mmask16 {
        registers!(self.cpu(), _mm512_cmp_ps_mask::<_CMP_LE_OQ>(self.0, rhs.0))
    }
    #[inline(always)]
    fn eq(self, rhs: Self) -> __mmask16 {
        registers!(self.cpu(), _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(self.0, rhs.0))
    }
    #[inline(always)]
    fn gt(self, rhs: Self) -> __mmask16 {
        registers!(self.cpu(), _mm512_cmp_ps_mask::<_CMP_GT_OQ>(self.0, rhs.0))
    }
    #[inline(always)]
    fn not_gt(self, rhs: Self) -> __mmask16 {
        registers!(self.cpu(), _mm512_cmp_ps_mask::<_CMP_NGT_UQ>(self.0, rhs.0))
    }
    #[inline(always)]
    fn select(mask: __mmask16, if_true: Self, if_false: Self) -> Self {
        Avx512(registers!(
            if_true.cpu(),
            _mm512_mask_blend_ps(mask, if_false.0, if_true.0)
        ))
    }
    #[inline(always)]
    fn zero_where(self, mask: __mmask16) -> Self {
        Avx512(registers!(self.cpu(), _mm512_maskz_mov_ps(!mask, self.0)))
    }
    #[inline(always)]
    fn keep_where(self, mask: __mmask16) -> Self {
        Avx512(registers!(self.cpu(), _mm512_maskz_mov_ps(mask, self.0)))
    }
    #[inline(always)]
    fn mask_and_not(a: __mmask16, b: __mmask16) -> __mmask16 {
        a & !b
    }
    #[inline(always)]
    fn mask_or(a: __mmask16, b: __mmask16) -> __mmask16 {
        a | b
    }
}

entry_points!(Avx512, "avx512f");
