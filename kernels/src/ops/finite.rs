//! Scans that check values rather than transform them.

use super::load_n;
use crate::vector::{Cpu, F32Vector};

/// Whether the `n` values at `p` are all finite: `x - x` is NaN exactly
/// where `x` is not, so sums of those differences are NaN exactly when a
/// value is not finite (an SSE2 pass took longer than a one-row forward of
/// the 4096 slopes it checked).
///
/// # Safety
/// The CPU supports `V`'s ISA; `p` valid for `n` reads.
#[inline(always)]
pub(crate) unsafe fn all_finite<V: F32Vector>(p: *const f32, n: usize) -> bool {
    // SAFETY: the CPU has `V`'s ISA (every `unsafe fn` of `ops/`).
    let (l, mut acc, mut i) = (V::LANES, [unsafe { Cpu::<V>::assume() }.zero(); 4], 0);
    // SAFETY: (whole block) every read is below `n`.
    unsafe {
        while i + 4 * l <= n {
            for (q, a) in acc.iter_mut().enumerate() {
                let x = V::load(p.add(i + q * l));
                *a = a.add(x.sub(x));
            }
            i += 4 * l;
        }
        while i < n {
            // The lanes past `n` are loaded as +0.
            let x = load_n::<V>(p.add(i), l.min(n - i));
            acc[0] = acc[0].add(x.sub(x));
            i += l;
        }
    }
    let total = acc[0].add(acc[1]).add(acc[2].add(acc[3]));
    !total.pairwise_sum_f64().is_nan()
}
