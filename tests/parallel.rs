//! Parallel results equal serial results bit for bit, for any thread count,
//! on buffers above the threshold (and with chunking that leaves ragged ends).

#[path = "common/contract.rs"]
mod contract;

use contract::tiers_under_test;

use contract::pseudo_random as data;
use rectify::{Activation, Kernels, Saved, DEFAULT_PARALLEL_THRESHOLD};

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Runs every op and form with `k`, returning all outputs.
fn run_all(k: &Kernels, x: &[f32], g: &[f32]) -> Vec<Vec<u32>> {
    let mut out = Vec::new();
    for act in Activation::measured() {
        let mut y = x.to_vec();
        k.forward(act, &mut y).unwrap();
        out.push(bits(&y));
        let mut y2 = vec![0.0; x.len()];
        k.forward_into(act, x, &mut y2).unwrap();
        out.push(bits(&y2));
        let mut gi = g.to_vec();
        let saved = if act.gradient_from_output().is_ok() {
            Saved::Output(&y)
        } else {
            Saved::Input(x)
        };
        k.backward(act, saved, &mut gi).unwrap();
        out.push(bits(&gi));
        let mut gi2 = vec![0.0; x.len()];
        k.backward_into(act, Saved::Input(x), g, &mut gi2).unwrap();
        out.push(bits(&gi2));
    }
    out
}

#[test]
fn parallel_equals_serial_for_any_thread_count() {
    for isa in tiers_under_test() {
        let serial = Kernels::new(isa).unwrap().serial();
        for n in [1000usize, 4099, 65_537] {
            let (x, g) = (data(n, 7), data(n, 11));
            let want = run_all(&serial, &x, &g);
            for threads in [1usize, 2, 3, 4, 7] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let k = Kernels::new(isa).unwrap().with_parallel_threshold(64);
                let got = pool.install(|| run_all(&k, &x, &g));
                assert!(
                    got == want,
                    "{isa}: n={n} threads={threads} differs from serial"
                );
            }
        }
    }
}

#[test]
fn default_threshold_splits_large_buffers_identically() {
    let n = DEFAULT_PARALLEL_THRESHOLD * 2 + 13;
    let (x, g) = (data(n, 3), data(n, 5));
    let k = Kernels::new(rectify::Isa::best()).unwrap();
    assert_eq!(k.parallel_threshold().is_some(), cfg!(feature = "parallel"));
    let want = run_all(&k.serial(), &x, &g);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    assert!(pool.install(|| run_all(&k, &x, &g)) == want);
}
