//! Concurrency and state: many threads calling the global engine at once (its
//! one-time initialisation included), with and without rayon splitting, get
//! exactly the results of a serial run; and no call changes the
//! floating-point control state (rounding mode, flush-to-zero,
//! denormals-are-zero, exception masks: MXCSR on x86_64, FPCR on aarch64) of
//! the calling thread or of rayon's workers.

#[path = "common/contract.rs"]
mod contract;

use contract::tiers_under_test;

use contract::pseudo_random as data;
use std::sync::Barrier;

use rectify::{Activation, ChannelLayout, Grad, Isa, Kernels, Saved};

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// The floating-point control register of the calling thread (FPCR on
/// aarch64 holds control only; its flags live in FPSR).
fn fp_control() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        let mut csr = 0u32;
        // SAFETY: stmxcsr stores the 32-bit MXCSR to the valid, aligned u32.
        unsafe { std::arch::asm!("stmxcsr [{}]", in(reg) &mut csr, options(nostack)) };
        // Bits 0-5 are the sticky exception flags (a NaN compare sets
        // "invalid"): status, not control. The rest is DAZ, the masks, the
        // rounding mode and FTZ.
        u64::from(csr & !0x3f)
    }
    #[cfg(target_arch = "aarch64")]
    {
        let fpcr: u64;
        // SAFETY: reading FPCR has no side effects.
        unsafe { std::arch::asm!("mrs {}, fpcr", out(reg) fpcr, options(nomem, nostack)) };
        fpcr
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        0
    }
}

/// The control state of this thread and of every rayon worker.
fn fp_state() -> (u64, Vec<u64>) {
    (fp_control(), rayon::broadcast(|_| fp_control()))
}

/// Every entry point once on `k` (or on the global engine when `k` is None),
/// all outputs concatenated. Large enough to split across threads.
fn run_everything(k: Option<Kernels>, x: &[f32], g: &[f32]) -> Vec<u32> {
    let n = x.len();
    let engine = k.unwrap_or(*Kernels::from_env());
    let mut out = Vec::new();
    let before = fp_state();
    for act in Activation::measured() {
        let mut y = x.to_vec();
        match k {
            Some(k) => k.forward(act, &mut y).unwrap(),
            None => Kernels::from_env().forward(act, &mut y).unwrap(),
        }
        assert_eq!(
            fp_state(),
            before,
            "forward {act} changed the FP control state"
        );
        out.extend(bits(&y));
        let mut grad = g.to_vec();
        match k {
            Some(k) => k.backward(act, Saved::Input(x), &mut grad).unwrap(),
            None => Kernels::from_env()
                .backward(act, Saved::Input(x), &mut grad)
                .unwrap(),
        }
        assert_eq!(
            fp_state(),
            before,
            "backward {act} changed the FP control state"
        );
        out.extend(bits(&grad));
    }
    let w: Vec<f32> = (0..16).map(|c| 0.01 * c as f32).collect();
    let layout = ChannelLayout::nchw(4, 16, 1, n / 64).unwrap();
    let mut y = x.to_vec();
    engine.prelu(&mut y, &w, layout).unwrap();
    out.extend(bits(&y));
    let (mut grad, mut gw) = (g.to_vec(), vec![0.0; 16]);
    engine
        .prelu_backward(
            Saved::Input(x),
            &w,
            layout,
            &mut grad,
            Some(Grad::Write(&mut gw)),
        )
        .unwrap();
    out.extend(bits(&grad));
    out.extend(bits(&gw));
    let mut m = vec![0.0; n / 2];
    let mut idx = vec![0u8; n / 2];
    engine.maxout_with_index(x, 2, 1, &mut m, &mut idx).unwrap();
    let mut gx = vec![0.0; n];
    engine
        .maxout_backward_indexed(&idx, 2, 1, &g[..n / 2], Grad::Write(&mut gx))
        .unwrap();
    out.extend(bits(&m));
    out.extend(bits(&gx));
    assert_eq!(
        fp_state(),
        before,
        "PReLU/Maxout changed the FP control state"
    );
    out
}

#[test]
fn many_threads_on_the_global_engine_match_a_serial_run() {
    // Above the parallel threshold, so the global engine splits with rayon
    // while eight threads call it at once.
    let n = 1 << 18;
    let (x, g) = (data(n, 7), data(n, 11));
    let serial = Kernels::new(Isa::best()).unwrap().serial();
    let want = run_everything(Some(serial), &x, &g);
    let threads = 8;
    let barrier = Barrier::new(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (x, g, barrier, want) = (&x, &g, &barrier, &want);
                s.spawn(move || {
                    barrier.wait(); // first calls race the global engine's initialisation
                    for round in 0..3 {
                        let k = match (t + round) % 3 {
                            0 => None,                               // the process-wide engine
                            1 => Some(Kernels::from_env().serial()), // no rayon
                            _ => Some(*Kernels::from_env()),         // rayon splitting
                        };
                        assert!(run_everything(k, x, g) == *want, "thread {t} round {round}");
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });
    println!(
        "{threads} threads x 3 rounds on {} matched the serial run",
        Kernels::from_env().isa()
    );
}

#[test]
fn calls_from_inside_rayon_tasks_match_a_serial_run() {
    let n = 1 << 17;
    let (x, g) = (data(n, 3), data(n, 5));
    let want = run_everything(Some(Kernels::new(Isa::best()).unwrap().serial()), &x, &g);
    // Nested: every task calls the (splitting) global engine from a worker.
    let results: Vec<Vec<u32>> = rayon::broadcast(|_| run_everything(None, &x, &g));
    for (i, r) in results.iter().enumerate() {
        assert!(*r == want, "rayon worker {i}");
    }
}

#[test]
fn every_tier_leaves_the_fp_control_state_alone() {
    let n = 4099;
    let (x, g) = (data(n * 64 / 64, 13), data(n, 17));
    let x = &x[..n / 64 * 64];
    let g = &g[..x.len()];
    for isa in tiers_under_test() {
        let before = fp_state();
        run_everything(Some(Kernels::new(isa).unwrap()), x, g);
        assert_eq!(fp_state(), before, "{isa}");
        println!("tier {isa}: FP control state {:#x} unchanged", before.0);
    }
}
