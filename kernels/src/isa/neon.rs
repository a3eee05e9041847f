//! aarch64 Advanced SIMD (NEON): 4 lanes of `float32x4_t`. NEON has no masked
//! loads, so tails go through a zero-filled 4-lane stack buffer and the same
//! vector code.

use core::arch::aarch64::*;

use crate::vector::{pieces_source, read_lanes, triples_source, write_lanes, Cpu, F32Vector};

/// 4 f32 lanes in a q register. Its register is private to this file, and
/// every way to make one needs a `Cpu<Neon>` or a load whose contract
/// includes the ISA (see the soundness section of `vector.rs`).
#[derive(Clone, Copy)]
pub(crate) struct Neon(float32x4_t);

/// `$body`, NEON intrinsics that compute on registers only, given `$cpu:
/// Cpu<Neon>` (an operand's `.cpu()`): the one requirement of the block is
/// that instruction set, and the proof shows the CPU has it.
macro_rules! registers {
    ($cpu:expr, $body:expr) => {{
        let _: Cpu<Neon> = $cpu;
        // SAFETY: a `Cpu<Neon>` exists only on a CPU with NEON (vector.rs),
        // and the intrinsics read and write registers only.
        unsafe { $body }
    }};
}

// The masks are `uint32x4_t`, made only by comparisons of `Neon` vectors;
// NEON is also part of the aarch64 targets' baseline, which this checks.
const _: () = assert!(cfg!(target_feature = "neon"));

impl F32Vector for Neon {
    const FUSED_MUL_ADD: bool = true;
    const LANES: usize = 4;
    // 32 q registers.
    const REGISTERS: usize = 32;
    type Mask = uint32x4_t;

    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: the caller guarantees NEON and 4 readable floats at `p`.
        Neon(unsafe { vld1q_f32(p) })
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: `self` proves NEON; the caller guarantees 4 writable
        // floats at `p`.
        unsafe { vst1q_f32(p, self.0) }
    }
    #[inline(always)]
    unsafe fn load_partial(p: *const f32, n: usize) -> Self {
        // SAFETY: the caller guarantees NEON and `n < 4` readable elements
        // at `p`; the lane array is 4 long.
        unsafe { Neon(vld1q_f32(read_lanes::<4>(p, n).as_ptr())) }
    }
    #[inline(always)]
    unsafe fn store_partial(self, p: *mut f32, n: usize) {
        let mut lanes = [0.0f32; 4];
        // SAFETY: `self` proves NEON; the lane array is 4 long; the caller
        // guarantees `n < 4` writable elements at `p`.
        unsafe {
            vst1q_f32(lanes.as_mut_ptr(), self.0);
            write_lanes(&lanes, p, n)
        }
    }
    #[inline(always)]
    fn splat(cpu: Cpu<Self>, v: f32) -> Self {
        Neon(registers!(cpu, vdupq_n_f32(v)))
    }
    #[inline(always)]
    fn zero(cpu: Cpu<Self>) -> Self {
        Neon(registers!(cpu, vdupq_n_f32(0.0)))
    }
    #[inline(always)]
    fn add(self, rhs: Self) -> Self {
        Neon(registers!(self.cpu(), vaddq_f32(self.0, rhs.0)))
    }
    #[inline(always)]
    fn sub(self, rhs: Self) -> Self {
        Neon(registers!(self.cpu(), vsubq_f32(self.0, rhs.0)))
    }
    #[inline(always)]
    fn div(self, rhs: Self) -> Self {
        Neon(registers!(self.cpu(), vdivq_f32(self.0, rhs.0)))
    }
    #[inline(always)]
    fn mul_add(self, b: Self, c: Self) -> Self {
        Neon(registers!(self.cpu(), vfmaq_f32(c.0, self.0, b.0)))
    }
    #[inline(always)]
    fn max(self, rhs: Self) -> Self {
        Neon(registers!(self.cpu(), vmaxq_f32(self.0, rhs.0)))
    }
    #[inline(always)]
    fn min(self, rhs: Self) -> Self {
        Neon(registers!(self.cpu(), vminq_f32(self.0, rhs.0)))
    }
    #[inline(always)]
    fn to_u32_bits(self) -> Self {
        Neon(registers!(
            self.cpu(),
            vreinterpretq_f32_u32(vcvtq_u32_f32(self.0))
        ))
    }
    #[inline(always)]
    fn add_bits(self, rhs: Self) -> Self {
        Neon(registers!(self.cpu(), {
            vreinterpretq_f32_u32(vaddq_u32(
                vreinterpretq_u32_f32(self.0),
                vreinterpretq_u32_f32(rhs.0),
            ))
        }))
    }
    #[inline(always)]
    fn or_bits(self, rhs: Self) -> Self {
        Neon(registers!(self.cpu(), {
            vreinterpretq_f32_u32(vorrq_u32(
                vreinterpretq_u32_f32(self.0),
                vreinterpretq_u32_f32(rhs.0),
            ))
        }))
    }
    #[inline(always)]
    fn or_sign(self, from: Self) -> Self {
        Neon(registers!(self.cpu(), {
            let sign = vandq_u32(vreinterpretq_u32_f32(from.0), vdupq_n_u32(0x8000_0000));
            vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(self.0), sign))
        }))
    }
    #[inline(always)]
    fn deinterleave2_in_pair_order(a: Self, b: Self) -> (Self, Self) {
        registers!(
            a.cpu(),
            (Neon(vuzp1q_f32(a.0, b.0)), Neon(vuzp2q_f32(a.0, b.0)))
        )
    }
    #[inline(always)]
    fn interleave2_from_pair_order(a: Self, b: Self) -> (Self, Self) {
        registers!(
            a.cpu(),
            (Neon(vzip1q_f32(a.0, b.0)), Neon(vzip2q_f32(a.0, b.0)))
        )
    }
    #[inline(always)]
    fn deinterleave3(a: Self, b: Self, c: Self) -> (Self, Self, Self) {
        let piece = |k| gather3([a, b, c], |j| triples_source(4, k, j));
        (piece(0), piece(1), piece(2))
    }
    #[inline(always)]
    fn interleave3(p0: Self, p1: Self, p2: Self) -> (Self, Self, Self) {
        let out = |r| gather3([p0, p1, p2], |i| pieces_source(4, r, i));
        (out(0), out(1), out(2))
    }
    #[inline(always)]
    fn shl_bits<const K: i32>(self) -> Self {
        Neon(registers!(
            self.cpu(),
            vreinterpretq_f32_u32(vshlq_n_u32::<K>(vreinterpretq_u32_f32(self.0)))
        ))
    }
    #[inline(always)]
    fn mul(self, rhs: Self) -> Self {
        Neon(registers!(self.cpu(), vmulq_f32(self.0, rhs.0)))
    }
    #[inline(always)]
    fn lt(self, rhs: Self) -> uint32x4_t {
        registers!(self.cpu(), vcltq_f32(self.0, rhs.0))
    }
    #[inline(always)]
    fn le(self, rhs: Self) -> uint32x4_t {
        registers!(self.cpu(), vcleq_f32(self.0, rhs.0))
    }
    #[inline(always)]
    fn eq(self, rhs: Self) -> uint32x4_t {
        registers!(self.cpu(), vceqq_f32(self.0, rhs.0))
    }
    #[inline(always)]
    fn gt(self, rhs: Self) -> uint32x4_t {
        registers!(self.cpu(), vcgtq_f32(self.0, rhs.0))
    }
    #[inline(always)]
    fn not_gt(self, rhs: Self) -> uint32x4_t {
        registers!(self.cpu(), vmvnq_u32(vcgtq_f32(self.0, rhs.0)))
    }
    #[inline(always)]
    fn select(mask: uint32x4_t, if_true: Self, if_false: Self) -> Self {
        Neon(registers!(
            if_true.cpu(),
            vbslq_f32(mask, if_true.0, if_false.0)
        ))
    }
    #[inline(always)]
    fn zero_where(self, mask: uint32x4_t) -> Self {
        Neon(registers!(
            self.cpu(),
            vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(self.0), mask))
        ))
    }
    #[inline(always)]
    fn keep_where(self, mask: uint32x4_t) -> Self {
        Neon(registers!(
            self.cpu(),
            vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(self.0), mask))
        ))
    }
    #[inline(always)]
    fn mask_and_not(a: uint32x4_t, b: uint32x4_t) -> uint32x4_t {
        // SAFETY: NEON is in the target's baseline (checked above); the
        // intrinsic reads and writes registers only.
        unsafe { vbicq_u32(a, b) }
    }
    #[inline(always)]
    fn mask_or(a: uint32x4_t, b: uint32x4_t) -> uint32x4_t {
        // SAFETY: NEON is in the target's baseline (checked above); the
        // intrinsic reads and writes registers only.
        unsafe { vorrq_u32(a, b) }
    }
}

entry_points!(Neon, "neon");

/// The vector whose lane `l` is lane `source(l).1` of `from[source(l).0]`:
/// one table lookup over the 48 bytes of the three vectors (`source` is
/// constant, so the byte indices are a constant vector).
#[inline(always)]
fn gather3(from: [Neon; 3], source: impl Fn(usize) -> (usize, usize)) -> Neon {
    let mut idx = [0u8; 16];
    for (b, v) in idx.iter_mut().enumerate() {
        let (s, i) = source(b / 4);
        *v = (16 * s + 4 * i + b % 4) as u8;
    }
    let _: Cpu<Neon> = from[0].cpu();
    // SAFETY: `from` proves NEON; besides registers, the index load reads
    // the 16 bytes of `idx`.
    unsafe {
        let table = uint8x16x3_t(
            vreinterpretq_u8_f32(from[0].0),
            vreinterpretq_u8_f32(from[1].0),
            vreinterpretq_u8_f32(from[2].0),
        );
        Neon(vreinterpretq_f32_u8(vqtbl3q_u8(
            table,
            vld1q_u8(idx.as_ptr()),
        )))
    }
}
