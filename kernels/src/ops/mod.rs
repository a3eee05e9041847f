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
//! (PReLU's walk over short runs of whole vectors peels to align its vectors
//! with the runs instead: then no vector holds two runs.)
//!
//! Every `unsafe fn` here and in the op files that is generic over
//! `V: F32Vector` has one requirement besides those its `# Safety` section
//! lists: the CPU has `V`'s instruction set. They run only inside a tier's
//! `#[target_feature]` entry point (`isa/`), whose contract that is; where
//! such a function needs vectors before it has one, it takes the proof
//! (`Cpu::assume`) on the strength of it.

use crate::vector::{Cpu, F32Vector};

pub(crate) mod elu;
pub(crate) mod finite;
pub(crate) mod maxout;
pub(crate) mod prelu;
pub(crate) mod relu;

/// One forward activation over a vector of lanes.
pub(crate) trait UnaryOp: Copy {
    /// Vectors per loop iteration: enough independent work to keep the loads
    /// and the store port busy every cycle (4 for the ReLU family, measured).
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
pub(crate) fn head_len<V: F32Vector>(dst: *mut f32, n: usize) -> usize {
    let width = V::LANES * core::mem::size_of::<f32>();
    let misaligned = dst as usize % width;
    if misaligned == 0 {
        0
    } else {
        ((width - misaligned) / core::mem::size_of::<f32>()).min(n)
    }
}

/// `(i + 1) % len` for `i < len`, without division.
#[inline(always)]
pub(crate) fn wrap_inc(i: usize, len: usize) -> usize {
    (i + 1) * usize::from(i + 1 != len)
}

/// The mask of lanes `0..k`, `k <= LANES`.
#[inline(always)]
pub(crate) fn below<V: F32Vector>(cpu: Cpu<V>, k: usize) -> V::Mask {
    let ones = [1.0f32; 16];
    // SAFETY: `cpu` proves the ISA; `k <= LANES <= 16` lanes of `ones`.
    unsafe { load_n::<V>(ones.as_ptr(), k) }.gt(cpu.zero())
}

/// Loads `n` elements (`n <= LANES`; all when `n == LANES`, none when 0).
///
/// # Safety
/// `p` valid for `n` reads.
#[inline(always)]
pub(crate) unsafe fn load_n<V: F32Vector>(p: *const f32, n: usize) -> V {
    // SAFETY: the CPU has `V`'s ISA, a requirement of every `unsafe fn`
    // of `ops/` (see the module's docs).
    let cpu = unsafe { Cpu::<V>::assume() };
    // SAFETY: forwarded contract.
    unsafe {
        if n == V::LANES {
            V::load(p)
        } else if n == 0 {
            cpu.zero()
        } else {
            V::load_partial(p, n)
        }
    }
}

/// Stores the first `n` lanes (`n <= LANES`).
///
/// # Safety
/// `p` valid for `n` writes.
#[inline(always)]
pub(crate) unsafe fn store_n<V: F32Vector>(v: V, p: *mut f32, n: usize) {
    // SAFETY: forwarded contract.
    unsafe {
        if n == V::LANES {
            v.store(p)
        } else if n > 0 {
            v.store_partial(p, n)
        }
    }
}

/// One pass of an op over buffers, as the shared loop in [`walk`] drives it.
/// (A trait rather than closures: closures cannot be marked
/// `#[inline(always)]`, and an out-of-line call would lose the ISA's target
/// features.) The loop visits indices in increasing order, each once, so a
/// pass may keep state from one vector to the next (PReLU's slope cursors).
pub(crate) trait Pass<V: F32Vector> {
    /// Whether [`blocks`] may compute a block before storing the one
    /// before it (see there): false for a pass whose `compute` stores.
    const AHEAD: bool = true;
    /// Whether [`blocks`] computes ahead (where [`Pass::AHEAD`] allows)
    /// at every placement, not only where stores would stall loads: a
    /// pass that streams a third buffer (PReLU's row of slopes) keeps more
    /// loads in flight that way.
    const ALWAYS_AHEAD: bool = false;
    /// Whether a long walk prefetches its input (see [`PREFETCH_FROM`]):
    /// for passes with one input, the others left without the loop's
    /// second copy.
    const PREFETCH: bool = false;
    /// The op on the `LANES` elements at index `at`, not stored.
    ///
    /// # Safety
    /// `at + LANES <= n`, the length the pass was made for.
    unsafe fn compute(&mut self, at: usize) -> V;
    /// Processes the `k < LANES` elements at index `at`.
    ///
    /// # Safety
    /// `k < LANES` and `at + k <= n`.
    unsafe fn part(&mut self, at: usize, k: usize);
    /// The output.
    fn dst(&self) -> *mut f32;
    /// The inputs read (the same one twice for a single input).
    fn inputs(&self) -> [*const f32; 2];
    /// Processes the `LANES` elements at index `at`.
    ///
    /// # Safety
    /// `at + LANES <= n`, the length the pass was made for.
    #[inline(always)]
    unsafe fn full(&mut self, at: usize) {
        // SAFETY: forwarded; each element is loaded before it is stored, so
        // the in-place form reads every input before overwriting it.
        unsafe { self.compute(at).store(self.dst().add(at)) }
    }
    /// The `unroll` vectors from index `at`, computed, not stored (a pass
    /// may look at the block as a whole, as PReLU's slopes do once a block).
    ///
    /// # Safety
    /// `at + unroll * LANES <= n`; `unroll <= MAX_UNROLL`.
    #[inline(always)]
    unsafe fn compute_block(&mut self, at: usize, unroll: usize) -> [V; MAX_UNROLL] {
        // SAFETY: the CPU has `V`'s ISA, a requirement of every `unsafe fn`
        // of `ops/` (see the module's docs).
        let mut r = [unsafe { Cpu::<V>::assume() }.zero(); MAX_UNROLL];
        for (k, r) in r.iter_mut().enumerate().take(unroll) {
            // SAFETY: forwarded.
            *r = unsafe { self.compute(at + k * V::LANES) };
        }
        r
    }
    /// Processes the `unroll` vectors from index `at`: by default vector by
    /// vector, each stored after it is computed.
    ///
    /// # Safety
    /// As for [`Pass::compute_block`].
    #[inline(always)]
    unsafe fn block(&mut self, at: usize, unroll: usize) {
        for k in 0..unroll {
            // SAFETY: forwarded.
            unsafe { self.full(at + k * V::LANES) };
        }
    }
    /// How many of the next `max` whole blocks are plain: nothing in them
    /// to look at (PReLU: no run's end, no sum to flush), so [`blocks`]
    /// runs them in a loop of their own through [`Pass::plain_block`], and
    /// the next one (if any) through [`Pass::block`]. By default all are.
    #[inline(always)]
    fn plain_blocks(&mut self, max: usize) -> usize {
        max
    }
    /// One of the blocks [`Pass::plain_blocks`] counted; by default
    /// [`Pass::block`].
    ///
    /// # Safety
    /// As for [`Pass::compute_block`].
    #[inline(always)]
    unsafe fn plain_block(&mut self, at: usize, unroll: usize) {
        // SAFETY: forwarded.
        unsafe { self.block(at, unroll) }
    }
    /// [`Pass::compute_block`] of a block [`Pass::plain_blocks`] counted;
    /// by default [`Pass::compute_block`].
    ///
    /// # Safety
    /// As for [`Pass::compute_block`].
    #[inline(always)]
    unsafe fn plain_compute_block(&mut self, at: usize, unroll: usize) -> [V; MAX_UNROLL] {
        // SAFETY: forwarded.
        unsafe { self.compute_block(at, unroll) }
    }
}

/// Most vectors per block of the pipelined loop in [`blocks`].
pub(crate) const MAX_UNROLL: usize = 4;

/// Whole blocks of `unroll` vectors from `i` while they fit in `n`; returns
/// where they end.
///
/// Where the output sits less than one block past an input modulo 4 KiB, the
/// input's loads would wait on the stores just made (4K aliasing: the store
/// and the load look alike in the low 12 address bits). Then the next block
/// is loaded and computed before this one is stored, so the loads run ahead
/// of the stores they would wait on. Measured on Zen 4, AVX-512 ReLU
/// backward in place with the output 64 B past the saved values: 5.7 ->
/// 21.1 Gelem/s at 4096 elements, 8.7 -> 14.4 at 64 Ki. Other placements
/// keep the plain loop (vector by vector), which was up to 10% faster on
/// L1-resident buffers.
///
/// # Safety
/// `i <= n`, the length `pass` was made for; `unroll <= MAX_UNROLL`.
#[inline(always)]
unsafe fn blocks<V: F32Vector>(
    pass: &mut impl Pass<V>,
    mut i: usize,
    n: usize,
    unroll: usize,
) -> usize {
    let l = V::LANES;
    let step = l * unroll;
    debug_assert!(unroll <= MAX_UNROLL);
    let block_bytes = step * core::mem::size_of::<f32>();
    let [a, b] = pass.inputs();
    let dst = pass.dst();
    let trailing = trails(dst, a, block_bytes) || trails(dst, b, block_bytes);
    if i + step > n || !(pass_ahead(pass) && (trailing || pass_always_ahead(pass))) {
        // SAFETY: forwarded.
        return unsafe {
            if pass_prefetch(pass) && a == b && n - i >= PREFETCH_FROM {
                in_turn::<V, true>(pass, i, n, unroll)
            } else {
                in_turn::<V, false>(pass, i, n, unroll)
            }
        };
    }
    // The plain stretches computed ahead of their stores, the block after
    // each as it comes.
    let mut left = (n - i) / step;
    while left > 0 {
        let plain = pass.plain_blocks(left);
        let end = i + plain * step;
        // SAFETY: forwarded; the blocks from `i` to `end <= n`.
        unsafe {
            let mut blocks = PassBlocks {
                pass: &mut *pass,
                unroll,
                vector: core::marker::PhantomData,
            };
            i = ahead(&mut blocks, i, end, step);
        }
        left -= plain;
        if left > 0 {
            // SAFETY: `i + step <= n`.
            unsafe { pass.block(i, unroll) };
            i += step;
            left -= 1;
        }
    }
    i
}

/// Elements from which a pass with one input prefetches it (4 MiB in
/// place, past L2 on the machines measured), and how far ahead.
///
/// The hardware prefetchers alone left a stream from DRAM below what the
/// memory moves: on Zen 5, one thread, 16 Mi elements in place, ReLU ran
/// at 9.2 Gelem/s (AVX-512) and 8.7 (AVX2), 9.9 with these prefetches (ELU
/// 7.0 -> 7.4, AVX-512); at 64 Ki they cost ReLU 7%, hence the threshold.
/// Both inputs of a gradient prefetched gained nothing at 16 Mi (ReLU's
/// backward lost 4%).
const PREFETCH_FROM: usize = 1 << 20;
const PREFETCH_AHEAD: usize = 4096;

/// The blocks of [`blocks`] from `i`, each stored as it is computed; with
/// `PREFETCH`, the input's lines [`PREFETCH_AHEAD`] elements on are asked
/// for with each block.
///
/// # Safety
/// As for [`blocks`].
#[inline(always)]
unsafe fn in_turn<V: F32Vector, const PREFETCH: bool>(
    pass: &mut impl Pass<V>,
    mut i: usize,
    n: usize,
    unroll: usize,
) -> usize {
    let (step, input) = (V::LANES * unroll, pass.inputs()[0]);
    let mut left = (n - i) / step;
    while left > 0 {
        let plain = pass.plain_blocks(left);
        debug_assert!(plain <= left);
        for _ in 0..plain {
            if PREFETCH {
                // A cache line holds 16 floats.
                for line in (0..step).step_by(16) {
                    prefetch(input.wrapping_add(i + PREFETCH_AHEAD + line));
                }
            }
            // SAFETY: `i + step <= n` (`left` blocks are).
            unsafe { pass.plain_block(i, unroll) };
            i += step;
        }
        left -= plain;
        if left > 0 {
            // SAFETY: as above.
            unsafe { pass.block(i, unroll) };
            i += step;
            left -= 1;
        }
    }
    i
}

/// Asks for the cache line holding `p` (any address: a prefetch neither
/// faults nor changes what a program computes).
#[inline(always)]
fn prefetch(p: *const f32) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: SSE, which every x86-64 CPU has; a hint, no access.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast()) };
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: `prfm` is a hint that never faults, reads nothing the program
    // sees, and touches no register but its address operand.
    unsafe {
        core::arch::asm!("prfm pldl1keep, [{p}]", p = in(reg) p, options(nostack, preserves_flags, readonly));
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let _ = p;
}

/// [`Pass::AHEAD`] of a pass value's type.
#[inline(always)]
fn pass_ahead<V: F32Vector, P: Pass<V>>(_: &P) -> bool {
    P::AHEAD
}

/// [`Pass::PREFETCH`] of a pass value's type.
#[inline(always)]
fn pass_prefetch<V: F32Vector, P: Pass<V>>(_: &P) -> bool {
    P::PREFETCH
}

/// [`Pass::ALWAYS_AHEAD`] of a pass value's type.
#[inline(always)]
fn pass_always_ahead<V: F32Vector, P: Pass<V>>(_: &P) -> bool {
    P::ALWAYS_AHEAD
}

/// A loop whose blocks can be computed (loaded) apart from being stored, so
/// that [`ahead`] can compute one block ahead of the stores.
pub(crate) trait Ahead {
    /// A computed block, not yet stored.
    type Block;
    /// Computes the block at element `at` (and whatever the loop keeps, such
    /// as accumulators, in element order).
    ///
    /// # Safety
    /// The block at `at` lies within the loop's elements.
    unsafe fn compute(&mut self, at: usize) -> Self::Block;
    /// Stores the block computed for element `at`.
    ///
    /// # Safety
    /// As for `compute`; the block was computed before.
    unsafe fn store(&mut self, at: usize, block: &Self::Block);
}

/// Blocks of `step` elements from `i` while they end at most at `end`, each
/// computed before the previous one is stored (4K aliasing: see
/// [`blocks`]); returns where they end.
///
/// # Safety
/// The blocks from `i` to `end` lie within the loop's elements.
#[inline(always)]
pub(crate) unsafe fn ahead<A: Ahead>(a: &mut A, mut i: usize, end: usize, step: usize) -> usize {
    if i + step > end {
        return i;
    }
    // SAFETY: (whole block) every block computed or stored ends at most at
    // `end`; each is computed (read) before it is stored.
    unsafe {
        let mut cur = a.compute(i);
        while i + 2 * step <= end {
            let next = a.compute(i + step);
            a.store(i, &cur);
            cur = next;
            i += step;
        }
        a.store(i, &cur);
    }
    i + step
}

/// The plain blocks of `unroll` vectors of a pass over vectors `V`, for
/// [`ahead`].
struct PassBlocks<'a, P, V> {
    pass: &'a mut P,
    unroll: usize,
    vector: core::marker::PhantomData<V>,
}

impl<V: F32Vector, P: Pass<V>> Ahead for PassBlocks<'_, P, V> {
    type Block = [V; MAX_UNROLL];
    #[inline(always)]
    unsafe fn compute(&mut self, at: usize) -> [V; MAX_UNROLL] {
        // SAFETY: forwarded (a plain block: see `blocks`).
        unsafe { self.pass.plain_compute_block(at, self.unroll) }
    }
    #[inline(always)]
    unsafe fn store(&mut self, at: usize, r: &[V; MAX_UNROLL]) {
        for (k, r) in r.iter().enumerate().take(self.unroll) {
            // SAFETY: forwarded.
            unsafe { r.store(self.pass.dst().add(at + k * V::LANES)) };
        }
    }
}

/// Whether `dst` sits `1..window` bytes past `input` modulo 4 KiB.
#[inline(always)]
fn trails(dst: *mut f32, input: *const f32, window: usize) -> bool {
    let ahead = (dst as usize).wrapping_sub(input as usize) % 4096;
    ahead != 0 && ahead < window
}

/// The loop every driver shares, over `n` elements with the output at `dst`:
/// a peeled head that aligns `dst` to the vector width, then [`walk_body`].
/// Indices are visited in increasing order and each exactly once.
///
/// # Safety
/// `pass` was made for `n` elements with its output at `dst`.
#[inline(always)]
pub(crate) unsafe fn walk<V: F32Vector>(
    pass: &mut impl Pass<V>,
    dst: *mut f32,
    n: usize,
    unroll: usize,
) {
    // SAFETY: forwarded.
    unsafe { walk_from(pass, head_len::<V>(dst, n), n, unroll) }
}

/// [`walk`] with a head of `head < LANES` elements (at most `n`) chosen by
/// the caller.
///
/// # Safety
/// As for [`walk`].
#[inline(always)]
pub(crate) unsafe fn walk_from<V: F32Vector>(
    pass: &mut impl Pass<V>,
    head: usize,
    n: usize,
    unroll: usize,
) {
    // SAFETY: the head has `head < LANES` elements and `head <= n`; then
    // forwarded contract.
    unsafe {
        if head > 0 {
            pass.part(0, head);
        }
        walk_body(pass, head, n, unroll);
    }
}

/// Indices `i..n` of a pass, in increasing order: an unrolled body of
/// `unroll` full vectors, single full vectors, then a partial tail.
///
/// # Safety
/// `pass` was made for `n` elements; `i <= n`.
#[inline(always)]
unsafe fn walk_body<V: F32Vector>(pass: &mut impl Pass<V>, mut i: usize, n: usize, unroll: usize) {
    let lanes = V::LANES;
    // SAFETY: the loops keep `at + lanes <= n`; the tail has `n - i < lanes`
    // elements.
    unsafe {
        i = blocks(pass, i, n, unroll);
        while i + lanes <= n {
            pass.full(i);
            i += lanes;
        }
        if i < n {
            pass.part(i, n - i);
        }
    }
}

/// A forward pass: `dst[i] = op(src[i])`.
struct UnaryPass<O> {
    op: O,
    src: *const f32,
    dst: *mut f32,
}

impl<V: F32Vector, O: UnaryOp> Pass<V> for UnaryPass<O> {
    const PREFETCH: bool = true;
    #[inline(always)]
    unsafe fn compute(&mut self, at: usize) -> V {
        // SAFETY: in range by the method's contract and `map_unary`'s.
        self.op.apply(unsafe { V::load(self.src.add(at)) })
    }
    #[inline(always)]
    fn dst(&self) -> *mut f32 {
        self.dst
    }
    #[inline(always)]
    fn inputs(&self) -> [*const f32; 2] {
        [self.src, self.src]
    }
    #[inline(always)]
    unsafe fn part(&mut self, at: usize, k: usize) {
        // SAFETY: as in `compute`, with `k < LANES` elements, each loaded
        // before it is stored.
        unsafe {
            let x = V::load_partial(self.src.add(at), k);
            self.op.apply(x).store_partial(self.dst.add(at), k)
        }
    }
}

/// A gradient pass: `dst[i] = op(saved[i], grad[i])`.
struct BinaryPass<O> {
    op: O,
    saved: *const f32,
    grad: *const f32,
    dst: *mut f32,
}

impl<V: F32Vector, O: BinaryOp> Pass<V> for BinaryPass<O> {
    #[inline(always)]
    unsafe fn compute(&mut self, at: usize) -> V {
        // SAFETY: as in `UnaryPass::compute`.
        unsafe {
            let (v, g) = (V::load(self.saved.add(at)), V::load(self.grad.add(at)));
            self.op.apply(v, g)
        }
    }
    #[inline(always)]
    fn dst(&self) -> *mut f32 {
        self.dst
    }
    #[inline(always)]
    fn inputs(&self) -> [*const f32; 2] {
        [self.saved, self.grad]
    }
    #[inline(always)]
    unsafe fn part(&mut self, at: usize, k: usize) {
        // SAFETY: as in `UnaryPass::part`.
        unsafe {
            let v = V::load_partial(self.saved.add(at), k);
            let g = V::load_partial(self.grad.add(at), k);
            self.op.apply(v, g).store_partial(self.dst.add(at), k)
        }
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
    const {
        assert!(
            O::UNROLL <= MAX_UNROLL,
            "a block holds at most MAX_UNROLL vectors"
        )
    };
    // SAFETY: the pass is made for these `n` elements; forwarded contract.
    unsafe { walk::<V>(&mut UnaryPass { op, src, dst }, dst, n, O::UNROLL) }
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
    const {
        assert!(
            O::UNROLL <= MAX_UNROLL,
            "a gradient block holds at most MAX_UNROLL vectors"
        )
    };
    let mut pass = BinaryPass {
        op,
        saved,
        grad,
        dst,
    };
    // SAFETY: the pass is made for these `n` elements; forwarded contract.
    unsafe { walk::<V>(&mut pass, dst, n, O::UNROLL) }
}
