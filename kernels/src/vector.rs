//! `F32Vector`: the lane operations every vector ISA provides, so that each
//! activation's algorithm is written once (in `ops/`) and instantiated per ISA.
//!
//! Every method is `#[inline(always)]` in every implementation: the algorithms
//! must inline into the ISA's `#[target_feature]` entry point, where the
//! intrinsics become single instructions. A call left out of line would run
//! the intrinsic without the target feature and be slower than scalar.
//!
//! # Soundness by construction
//!
//! The methods execute the ISA's instructions, so a vector must not exist on
//! a CPU without the ISA. Each ISA's vector type keeps its register private
//! to its file, and a vector comes into being only in two ways:
//!
//! - from a [`Cpu<V>`], a zero-sized proof that the CPU has `V`'s ISA
//!   ([`Cpu::splat`], [`Cpu::zero`]). Only [`Cpu::assume`], an `unsafe fn`,
//!   makes one: the tiers' `#[target_feature]` entry points call it, whose
//!   own contract (they are reached only through a `KernelSet`, which is
//!   built only for detected ISAs) is exactly its requirement;
//! - from memory, by [`F32Vector::load`] and [`F32Vector::load_partial`],
//!   `unsafe` for the pointer and with the ISA in their contract.
//!
//! Every other method takes a vector, whose existence is the proof, so the
//! arithmetic is safe to call, and any vector hands out its proof again
//! ([`F32Vector::cpu`]) for the constants an algorithm needs.

use core::marker::PhantomData;

/// Proof that the running CPU executes vector type `V`'s instructions.
/// Zero-sized; it exists only where [`Cpu::assume`]'s contract was met, or
/// where a vector of type `V` already exists.
pub(crate) struct Cpu<V>(PhantomData<fn() -> V>);

impl<V> Clone for Cpu<V> {
    #[inline(always)]
    fn clone(&self) -> Self {
        *self
    }
}

impl<V> Copy for Cpu<V> {}

impl<V: F32Vector> Cpu<V> {
    /// The proof, on the caller's word.
    ///
    /// # Safety
    /// The running CPU has `V`'s instruction set.
    #[inline(always)]
    pub(crate) unsafe fn assume() -> Cpu<V> {
        Cpu(PhantomData)
    }

    /// Every lane `v`.
    #[inline(always)]
    pub(crate) fn splat(self, v: f32) -> V {
        V::splat(self, v)
    }

    /// Every lane `+0`.
    #[inline(always)]
    pub(crate) fn zero(self) -> V {
        V::zero(self)
    }
}

/// A vector of `LANES` f32 lanes plus a matching lane mask.
///
/// Semantics are IEEE per lane and identical on every ISA (no flush-to-zero, no
/// approximate instructions), which is what makes tiers bit-identical.
pub(crate) trait F32Vector: Copy {
    /// Lanes per vector.
    const LANES: usize;
    /// Vector registers the ISA has (a portable vector made of two
    /// registers counts half): the kernels that keep two blocks in flight
    /// do so only with 32, where they do not spill.
    const REGISTERS: usize;
    /// Whether [`F32Vector::mul_add`] is fused (rounds once).
    const FUSED_MUL_ADD: bool;
    /// The result of a comparison: one boolean per lane.
    type Mask: Copy;

    /// Loads `LANES` elements from `p` (no alignment needed).
    ///
    /// # Safety
    /// The CPU has the ISA (this creates a vector); `p` valid for `LANES`
    /// reads.
    unsafe fn load(p: *const f32) -> Self;
    /// Stores all lanes to `p` (no alignment needed).
    ///
    /// # Safety
    /// `p` valid for `LANES` writes.
    unsafe fn store(self, p: *mut f32);
    /// Loads the first `n` elements from `p`; the other lanes are `+0`.
    ///
    /// # Safety
    /// The CPU has the ISA (this creates a vector); `n < LANES` and `p`
    /// valid for `n` reads. Nothing past `n` is touched.
    unsafe fn load_partial(p: *const f32, n: usize) -> Self;
    /// Stores the first `n` lanes to `p`.
    ///
    /// # Safety
    /// `n < LANES` and `p` valid for `n` writes. Nothing past `n` is touched.
    unsafe fn store_partial(self, p: *mut f32, n: usize);

    /// Every lane `v` (through [`Cpu::splat`]).
    fn splat(cpu: Cpu<Self>, v: f32) -> Self;
    /// Every lane `+0` (through [`Cpu::zero`]).
    fn zero(cpu: Cpu<Self>) -> Self;
    /// The proof that this CPU has the ISA, which `self` carries.
    #[inline(always)]
    fn cpu(self) -> Cpu<Self> {
        // SAFETY: `self` exists, and a vector comes into being only from a
        // `Cpu<Self>` or from a load whose contract includes the ISA (see
        // the module's soundness section).
        unsafe { Cpu::assume() }
    }
    /// `self + rhs`, rounded once.
    fn add(self, rhs: Self) -> Self;
    /// `self - rhs`, rounded once.
    fn sub(self, rhs: Self) -> Self;
    /// `self * rhs`, rounded once.
    fn mul(self, rhs: Self) -> Self;
    /// `self / rhs`, correctly rounded (a real division, never a reciprocal
    /// estimate).
    fn div(self, rhs: Self) -> Self;
    /// `self * b + c`: fused (one rounding) on the FMA tiers (AVX2+FMA,
    /// AVX-512, NEON), which therefore agree bit for bit; the portable tier
    /// fuses only where `wide` compiles to FMA instructions.
    fn mul_add(self, b: Self, c: Self) -> Self;
    /// The larger lane. Which operand a NaN lane yields differs between
    /// ISAs, so use it only where NaN lanes are discarded afterwards.
    fn max(self, rhs: Self) -> Self;
    /// The smaller lane, with [`F32Vector::max`]'s caveat on NaN.
    fn min(self, rhs: Self) -> Self;
    /// The lanes' bit patterns shifted left by `K` bits as `u32`s (used to
    /// build powers of two from a biased integer in the mantissa).
    fn shl_bits<const K: i32>(self) -> Self;
    /// Each lane converted to a `u32` (truncated; lanes must hold integers
    /// in `[0, 2^24]`), returned as the lanes' bit patterns: storing the
    /// vector writes the `u32`s.
    fn to_u32_bits(self) -> Self;
    /// The lanes' bit patterns added as `u32`s (wrapping): with `self` a
    /// power of two `2^n` and `rhs` the bits of `a` less those of 1.0, the
    /// product `a * 2^n` where that is a normal float, in an integer
    /// operation (which the FP multiply pipes do not run).
    fn add_bits(self, rhs: Self) -> Self;
    /// `self * (1 + p) * 2^n`: `self + self * p` rounded once (fused, or
    /// as [`mul_add_accurate`](crate::math::mul_add_accurate) where the tier
    /// has no FMA), then scaled by `2^n` with one more rounding (into the
    /// subnormal range where the result is subnormal), for `n` holding
    /// integers in `[-252, 254]` (other lanes: garbage, never a fault). This
    /// is the last step of `m * exp(x)`. AVX-512 scales with `vscalefps`,
    /// one instruction off the multiply pipes.
    ///
    /// By default `2^n` is applied as two normal factors, `2^a` and then
    /// `2^b` with `b = clamp(n, -126, 127)` and `a = n - b`, so that the
    /// first product is exact and only the second rounds: where `a < 0`,
    /// the first is exact unless it is below 2^-126, and then the result,
    /// below 2^-252, is zero either way; where `a > 0`, it is exact unless
    /// it overflows, and then so does the result. (Scaling `self` by `2^a`
    /// before the sum would shorten the chain by a multiply, and made the
    /// AVX2 gradients 6% faster, but it differs from `vscalefps` where the
    /// sum overflows before its scaling, or is subnormal before a scaling
    /// up: the FMA tiers would no longer agree bit for bit.)
    #[inline(always)]
    fn times_one_plus_pow2(self, p: Self, n: Self) -> Self {
        // 1.5 * 2^23 + 127: added to an integer of magnitude below 2^22, the
        // sum's low significand bits hold the integer plus the exponent bias.
        let cpu = self.cpu();
        let biased = cpu.splat(12_582_912.0 + 127.0);
        let b = n.max(cpu.splat(-126.0)).min(cpu.splat(127.0));
        let a = n.sub(b);
        let sum = crate::math::mul_add_accurate(self, p, self);
        sum.mul(a.add(biased).shl_bits::<23>())
            .mul(b.add(biased).shl_bits::<23>())
    }
    /// `(x < 0 ? x : +0, x < 0 ? +0 : x)` per lane, bit-exact: `-0` and
    /// every NaN (payload and signalling bit intact) go to the second. The
    /// exponential activations take their two branches apart with it and
    /// join them with [`F32Vector::or_bits`], where one of the two is `+0`,
    /// instead of a compare and a select: on x86 it is a min and a max (the
    /// operand order of `minps`/`maxps` gives the zeros and NaNs above),
    /// which run on the add pipes, while AVX-512's compares into a mask
    /// register take the multiply/FMA pipes that bound those kernels.
    #[inline(always)]
    fn split_sign(self) -> (Self, Self) {
        let zero = self.cpu().zero();
        let negative = self.lt(zero);
        (
            Self::select(negative, self, zero),
            self.zero_where(negative),
        )
    }
    /// The lanes' bit patterns OR-ed.
    fn or_bits(self, rhs: Self) -> Self;
    /// `self` with the sign bit of `from` OR-ed in (`self | (from & -0.0)`
    /// bitwise): gives a zero result the sign its product must have.
    fn or_sign(self, from: Self) -> Self;
    /// The even and the odd lanes of `a` followed by `b` (splits pairs
    /// stored interleaved): `([a0, a2, .., b0, b2, ..], [a1, a3, .., b1, b3,
    /// ..])` up to a lane order of the tier's choosing, the same for both,
    /// for code that works lane by lane between this and
    /// [`F32Vector::from_pair_order`] or
    /// [`F32Vector::interleave2_from_pair_order`]. Element order on every
    /// tier but AVX2, which splits pairs within its 128-bit halves: one
    /// permute after the lane-wise work puts a result in order, where
    /// ordering both pieces took two.
    fn deinterleave2_in_pair_order(a: Self, b: Self) -> (Self, Self);
    /// A vector in the lane order of
    /// [`F32Vector::deinterleave2_in_pair_order`] put in element order.
    #[inline(always)]
    fn from_pair_order(v: Self) -> Self {
        v
    }
    /// A vector in element order put in the lane order of
    /// [`F32Vector::deinterleave2_in_pair_order`].
    #[inline(always)]
    fn to_pair_order(v: Self) -> Self {
        v
    }
    /// A vector in the lane order that two rounds of
    /// [`F32Vector::deinterleave2_in_pair_order`] leave (the pieces of four
    /// interleaved ones: the evens and odds of the evens and of the odds)
    /// put in element order.
    #[inline(always)]
    fn from_quad_order(v: Self) -> Self {
        v
    }
    /// A vector in element order put in the lane order of
    /// [`F32Vector::from_quad_order`].
    #[inline(always)]
    fn to_quad_order(v: Self) -> Self {
        v
    }
    /// The inverse of [`F32Vector::deinterleave2_in_pair_order`]: `a` and
    /// `b`, in its lane order, zipped in element order: `([a0, b0, a1, b1,
    /// ..], [.., a_last, b_last])`.
    fn interleave2_from_pair_order(a: Self, b: Self) -> (Self, Self);
    /// Splits triples stored interleaved: with `x` the lanes of `a`, then
    /// `b`, then `c`, piece `k` (of the three returned) is `[x_k, x_(3+k),
    /// x_(6+k), ..]` (see [`triples_source`]).
    fn deinterleave3(a: Self, b: Self, c: Self) -> (Self, Self, Self);
    /// The inverse of [`F32Vector::deinterleave3`]: the pieces zipped into
    /// triples, `[p0_0, p1_0, p2_0, p0_1, ..]` over the three vectors
    /// returned (see [`pieces_source`]).
    fn interleave3(p0: Self, p1: Self, p2: Self) -> (Self, Self, Self);

    /// The lanes summed in f64, pairwise: `((l0 + l1) + (l2 + l3)) + ((l4 +
    /// l5) + (l6 + l7))` and so on up a tree (each lane converted exactly;
    /// the same bits on every tier with as many lanes). The default goes
    /// through the stack; a tier may do it in registers.
    #[inline(always)]
    fn pairwise_sum_f64(self) -> f64 {
        let mut lanes = [0.0f32; 16];
        // SAFETY: `lanes` holds 16 >= LANES floats.
        unsafe { self.store(lanes.as_mut_ptr()) };
        pairwise_f64(&lanes[..Self::LANES])
    }

    /// The lanes picked by index: lane `j` of the result is lane `idx[j]`
    /// of `self`. The default goes through the stack; a tier may do it in
    /// one permute.
    ///
    /// # Safety
    /// `idx` valid for `LANES` reads, each below `LANES`.
    #[inline(always)]
    unsafe fn lanes_picked(self, idx: *const u32) -> Self {
        let (mut lanes, mut picked) = ([0.0f32; 16], [0.0f32; 16]);
        // SAFETY: both arrays hold 16 >= LANES floats; `idx` is valid for
        // `LANES` reads below `LANES` (the caller's contract).
        unsafe {
            self.store(lanes.as_mut_ptr());
            for (j, p) in picked.iter_mut().take(Self::LANES).enumerate() {
                *p = lanes[*idx.add(j) as usize];
            }
            Self::load(picked.as_ptr())
        }
    }

    /// The lanes rotated up by `r < LANES`: lane `j` of the result is lane
    /// `(j - r) % LANES` of `self`. The default goes through the stack; a
    /// tier may do it in one permute.
    #[inline(always)]
    fn lanes_rotated(self, r: usize) -> Self {
        let l = Self::LANES;
        debug_assert!(r < l);
        let mut lanes = [0.0f32; 32];
        // SAFETY: `lanes` holds two vectors of any tier (at most 16 lanes),
        // and `l - r % l + l <= 2 * l` floats are read from it.
        unsafe {
            self.store(lanes.as_mut_ptr());
            self.store(lanes.as_mut_ptr().add(l));
            Self::load(lanes.as_ptr().add(l - r % l))
        }
    }

    /// `self < rhs` (false when either is NaN).
    fn lt(self, rhs: Self) -> Self::Mask;
    /// `self <= rhs` (false when either is NaN).
    fn le(self, rhs: Self) -> Self::Mask;
    /// `self > rhs` (false when either is NaN).
    fn gt(self, rhs: Self) -> Self::Mask;
    /// `self == rhs` (false when either is NaN; `-0 == +0`).
    fn eq(self, rhs: Self) -> Self::Mask;
    /// `!(self > rhs)`: true when either is NaN (one compare, where the
    /// negation of [`F32Vector::gt`] would take a second operation).
    fn not_gt(self, rhs: Self) -> Self::Mask;
    /// `mask ? if_true : if_false`, per lane.
    fn select(mask: Self::Mask, if_true: Self, if_false: Self) -> Self;
    /// `mask ? +0 : self`, per lane: one bitwise op where `select` is a
    /// blend (on x86 a blend competes with the multiplies for two ports; a
    /// logic op has four).
    fn zero_where(self, mask: Self::Mask) -> Self;
    /// `mask ? self : +0`, per lane (one bitwise op, as [`F32Vector::zero_where`]).
    fn keep_where(self, mask: Self::Mask) -> Self;
    /// `a && !b`, per lane.
    fn mask_and_not(a: Self::Mask, b: Self::Mask) -> Self::Mask;
    /// `a || b`, per lane.
    fn mask_or(a: Self::Mask, b: Self::Mask) -> Self::Mask;
}

/// `lanes` (a power of two of them, at most 16) summed in f64 pairwise:
/// `((l0 + l1) + (l2 + l3)) + ..` up a tree, each lane converted exactly
/// (the tree of [`F32Vector::pairwise_sum_f64`]; LLVM vectorises it).
#[inline(always)]
pub(crate) fn pairwise_f64(lanes: &[f32]) -> f64 {
    debug_assert!(lanes.len().is_power_of_two() && lanes.len() <= 16);
    let mut wide = [0.0f64; 16];
    for (w, &x) in wide.iter_mut().zip(lanes) {
        *w = f64::from(x);
    }
    let mut live = lanes.len();
    while live > 1 {
        live /= 2;
        for i in 0..live {
            wide[i] = wide[2 * i] + wide[2 * i + 1];
        }
    }
    wide[0]
}

/// The first `n` elements at `p` in a zero-filled `N`-lane array: the partial
/// load of tiers without masked loads (NEON, portable).
///
/// # Safety
/// `n <= N` and `p` valid for `n` reads.
#[inline(always)]
pub(crate) unsafe fn read_lanes<const N: usize>(p: *const f32, n: usize) -> [f32; N] {
    debug_assert!(n <= N);
    let mut lanes = [0.0f32; N];
    // SAFETY: the caller guarantees `n` readable elements at `p`; `n <= N`
    // fit the stack array, which cannot overlap them.
    unsafe { core::ptr::copy_nonoverlapping(p, lanes.as_mut_ptr(), n) };
    lanes
}

/// Writes the first `n` of `lanes` to `p`: the partial store of tiers without
/// masked stores.
///
/// # Safety
/// `n <= N` and `p` valid for `n` writes.
#[inline(always)]
pub(crate) unsafe fn write_lanes<const N: usize>(lanes: &[f32; N], p: *mut f32, n: usize) {
    debug_assert!(n <= N);
    // SAFETY: the caller guarantees `n` writable elements at `p`; a stack
    // array cannot overlap them.
    unsafe { core::ptr::copy_nonoverlapping(lanes.as_ptr(), p, n) }
}

/// [`F32Vector::deinterleave3`] for `lanes`-lane vectors: where lane `j` of
/// piece `k` comes from, as `(vector, lane)` of the three inputs (element
/// `3j + k` of their concatenation). The tiers build their index tables from
/// it (and the portable tier uses it directly).
pub(crate) const fn triples_source(lanes: usize, k: usize, j: usize) -> (usize, usize) {
    let m = 3 * j + k;
    (m / lanes, m % lanes)
}

/// [`F32Vector::interleave3`] for `lanes`-lane vectors: where lane `i` of
/// output vector `r` comes from, as `(piece, lane)` (element `r * lanes + i`
/// of the triples).
pub(crate) const fn pieces_source(lanes: usize, r: usize, i: usize) -> (usize, usize) {
    let m = r * lanes + i;
    (m % 3, m / 3)
}

/// For the tiers that split triples by blending in place and then permuting
/// within a vector (AVX2, AVX-512). Element `m` of the triples sits at lane
/// `m % lanes` of its vector, and the `lanes` elements of one piece occupy
/// distinct lanes (3 is invertible modulo a power of two), so blending the
/// three vectors lane by lane gathers a piece, scrambled.
#[cfg(target_arch = "x86_64")]
pub(crate) mod triples {
    /// Bit `i` set where element `v * lanes + i` of the triples (lane `i`
    /// of vector `v`) belongs to piece `k`: the blend mask that takes lanes
    /// of input vector `v` into piece `k` (`deinterleave3`), and the one
    /// that takes lanes of piece `k` into output vector `v` (`interleave3`).
    pub(crate) const fn piece_mask(lanes: usize, v: usize, k: usize) -> u32 {
        let mut bits = 0;
        let mut i = 0;
        while i < lanes {
            if (v * lanes + i) % 3 == k {
                bits |= 1 << i;
            }
            i += 1;
        }
        bits
    }

    /// The permutation that orders the blend for piece `k`: lane `j` takes
    /// lane `(3j + k) % lanes`.
    pub(crate) const fn gather_order<const L: usize>(k: usize) -> [i32; L] {
        let mut idx = [0; L];
        let mut j = 0;
        while j < L {
            idx[j] = ((3 * j + k) % L) as i32;
            j += 1;
        }
        idx
    }

    /// The inverse of [`gather_order`]: lane `i` takes the lane `j` with
    /// `(3j + k) % lanes == i`.
    pub(crate) const fn scatter_order<const L: usize>(k: usize) -> [i32; L] {
        let gather = gather_order::<L>(k);
        let mut idx = [0; L];
        let mut j = 0;
        while j < L {
            idx[gather[j] as usize] = j as i32;
            j += 1;
        }
        idx
    }
}
