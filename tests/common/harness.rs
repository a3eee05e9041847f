//! The harness `tests/prelu.rs` and `tests/maxout.rs` share: deterministic
//! data, exact bit patterns, and the check that a result does not depend on
//! the number of rayon threads.

#![allow(dead_code)] // each test binary uses a part

use std::fmt::Debug;

use rectify::{Isa, Kernels};

/// `n` values from a xorshift32 stream seeded by `seed`: value `i` is `f(i,
/// s)`, `s` the stream's next state.
pub fn drawn(n: usize, seed: u32, mut f: impl FnMut(usize, u32) -> f32) -> Vec<f32> {
    let mut s = seed | 1;
    (0..n)
        .map(|i| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            f(i, s)
        })
        .collect()
}

/// Each value's bit pattern: NaN payloads and the signs of zeros compared
/// exactly.
pub fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|f| f.to_bits()).collect()
}

/// `run` on tier `isa` gives the same result serially and on 1 to 4 rayon
/// threads with calls split from `threshold` elements on.
pub fn same_for_any_thread_count<T: PartialEq + Debug + Send>(
    isa: Isa,
    threshold: usize,
    run: impl Fn(&Kernels) -> T + Sync,
    what: &str,
) {
    let want = run(&Kernels::new(isa).unwrap().serial());
    for threads in 1..=4 {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let k = Kernels::new(isa)
            .unwrap()
            .with_parallel_threshold(threshold);
        assert_eq!(
            pool.install(|| run(&k)),
            want,
            "{what} on {threads} threads"
        );
    }
}
