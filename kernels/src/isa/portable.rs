//! The portable tier: `wide::f32x8`, which `wide` lowers at compile time to the
//! best the build target guarantees (two SSE2 registers on baseline x86_64,
//! two NEON registers on aarch64, simd128 on wasm, arrays elsewhere). Tails go
//! through a zero-filled 8-lane buffer and the same vector code.

use wide::{f32x8, u32x8};

use crate::vector::{pieces_source, read_lanes, triples_source, write_lanes, Cpu, F32Vector};

/// 8 f32 lanes as `wide` represents them. Needs no run-time feature.
#[derive(Clone, Copy)]
pub(crate) struct Portable(f32x8);

impl F32Vector for Portable {
    /// `wide` fuses where the build target has FMA (x86 with `fma`, aarch64).
    const FUSED_MUL_ADD: bool = cfg!(any(
        target_feature = "fma",
        all(target_arch = "aarch64", target_feature = "neon")
    ));
    const LANES: usize = 8;
    // two 128-bit registers per vector, 16 on x86-64 and (as counted here) at least that elsewhere.
    const REGISTERS: usize = 8;
    type Mask = f32x8;

    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: the caller guarantees 8 readable elements; unaligned read.
        Portable(f32x8::new(unsafe { p.cast::<[f32; 8]>().read_unaligned() }))
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: the caller guarantees 8 writable elements; unaligned write.
        unsafe { p.cast::<[f32; 8]>().write_unaligned(self.0.to_array()) }
    }
    #[inline(always)]
    unsafe fn load_partial(p: *const f32, n: usize) -> Self {
        // SAFETY: the caller guarantees `n < 8` readable elements at `p`.
        Portable(f32x8::new(unsafe { read_lanes::<8>(p, n) }))
    }
    #[inline(always)]
    unsafe fn store_partial(self, p: *mut f32, n: usize) {
        // SAFETY: the caller guarantees `n < 8` writable elements at `p`.
        unsafe { write_lanes(&self.0.to_array(), p, n) }
    }
    #[inline(always)]
    fn splat(_: Cpu<Self>, v: f32) -> Self {
        Portable(f32x8::splat(v))
    }
    #[inline(always)]
    fn zero(_: Cpu<Self>) -> Self {
        Portable(f32x8::ZERO)
    }
    #[inline(always)]
    fn add(self, rhs: Self) -> Self {
        Portable(self.0 + rhs.0)
    }
    #[inline(always)]
    fn sub(self, rhs: Self) -> Self {
        Portable(self.0 - rhs.0)
    }
    #[inline(always)]
    fn div(self, rhs: Self) -> Self {
        Portable(self.0 / rhs.0)
    }
    #[inline(always)]
    fn mul_add(self, b: Self, c: Self) -> Self {
        Portable(self.0.mul_add(b.0, c.0))
    }
    #[inline(always)]
    fn max(self, rhs: Self) -> Self {
        Portable(self.0.fast_max(rhs.0))
    }
    #[inline(always)]
    fn min(self, rhs: Self) -> Self {
        Portable(self.0.fast_min(rhs.0))
    }
    #[inline(always)]
    fn to_u32_bits(self) -> Self {
        Portable(bytemuck::cast(self.0.trunc_int()))
    }
    #[inline(always)]
    fn add_bits(self, rhs: Self) -> Self {
        let (a, b): (u32x8, u32x8) = (bytemuck::cast(self.0), bytemuck::cast(rhs.0));
        Portable(bytemuck::cast(a + b))
    }
    #[inline(always)]
    fn or_bits(self, rhs: Self) -> Self {
        Portable(self.0 | rhs.0)
    }
    #[inline(always)]
    fn or_sign(self, from: Self) -> Self {
        Portable(self.0 | (from.0 & f32x8::splat(-0.0)))
    }
    #[inline(always)]
    fn deinterleave2_in_pair_order(a: Self, b: Self) -> (Self, Self) {
        let (a, b) = (a.0.to_array(), b.0.to_array());
        let pick = |first: usize| {
            let mut v = [0.0f32; 8];
            for (i, l) in v.iter_mut().enumerate() {
                let j = 2 * i + first;
                *l = if j < 8 { a[j] } else { b[j - 8] };
            }
            Portable(f32x8::new(v))
        };
        (pick(0), pick(1))
    }
    #[inline(always)]
    fn interleave2_from_pair_order(a: Self, b: Self) -> (Self, Self) {
        let (a, b) = (a.0.to_array(), b.0.to_array());
        let zip = |half: usize| {
            let mut v = [0.0f32; 8];
            for (i, l) in v.iter_mut().enumerate() {
                let j = half * 4 + i / 2;
                *l = if i % 2 == 0 { a[j] } else { b[j] };
            }
            Portable(f32x8::new(v))
        };
        (zip(0), zip(1))
    }
    #[inline(always)]
    fn deinterleave3(a: Self, b: Self, c: Self) -> (Self, Self, Self) {
        let piece = |k| gather3([a, b, c], |j| triples_source(8, k, j));
        (piece(0), piece(1), piece(2))
    }
    #[inline(always)]
    fn interleave3(p0: Self, p1: Self, p2: Self) -> (Self, Self, Self) {
        let out = |r| gather3([p0, p1, p2], |i| pieces_source(8, r, i));
        (out(0), out(1), out(2))
    }
    #[inline(always)]
    fn shl_bits<const K: i32>(self) -> Self {
        let bits: u32x8 = bytemuck::cast(self.0);
        Portable(bytemuck::cast(bits << K as u32))
    }
    #[inline(always)]
    fn mul(self, rhs: Self) -> Self {
        Portable(self.0 * rhs.0)
    }
    #[inline(always)]
    fn lt(self, rhs: Self) -> f32x8 {
        self.0.simd_lt(rhs.0)
    }
    #[inline(always)]
    fn le(self, rhs: Self) -> f32x8 {
        self.0.simd_le(rhs.0)
    }
    #[inline(always)]
    fn eq(self, rhs: Self) -> f32x8 {
        self.0.simd_eq(rhs.0)
    }
    #[inline(always)]
    fn gt(self, rhs: Self) -> f32x8 {
        self.0.simd_gt(rhs.0)
    }
    #[inline(always)]
    fn not_gt(self, rhs: Self) -> f32x8 {
        !self.0.simd_gt(rhs.0)
    }
    #[inline(always)]
    fn select(mask: f32x8, if_true: Self, if_false: Self) -> Self {
        Portable(mask.select(if_true.0, if_false.0))
    }
    #[inline(always)]
    fn zero_where(self, mask: f32x8) -> Self {
        Portable(mask.select(f32x8::ZERO, self.0))
    }
    #[inline(always)]
    fn keep_where(self, mask: f32x8) -> Self {
        Portable(mask.select(self.0, f32x8::ZERO))
    }
    #[inline(always)]
    fn mask_and_not(a: f32x8, b: f32x8) -> f32x8 {
        // Masks are all-ones or all-zeros lanes: `b ? 0 : a` is `a & !b`.
        b.select(f32x8::ZERO, a)
    }
    #[inline(always)]
    fn mask_or(a: f32x8, b: f32x8) -> f32x8 {
        a | b
    }
}

entry_points!(Portable);

/// The vector whose lane `l` is lane `source(l).1` of `from[source(l).0]`.
#[inline(always)]
fn gather3(from: [Portable; 3], source: impl Fn(usize) -> (usize, usize)) -> Portable {
    let x = from.map(|v| v.0.to_array());
    let mut v = [0.0f32; 8];
    for (l, out) in v.iter_mut().enumerate() {
        let (s, i) = source(l);
        *out = x[s][i];
    }
    Portable(f32x8::new(v))
}
