//! Measures where splitting across threads starts to pay, to choose
//! `rectify::DEFAULT_PARALLEL_THRESHOLD`.
//!
//! For ReLU forward (in place, 8 bytes per element) and ReLU backward (in
//! place on the gradient, 12 bytes per element) on the best tier, at sizes from
//! 2^12 to 2^24 elements, it times a serial engine and an engine that always
//! splits (threshold 0) over the current rayon pool, and prints the median of
//! many batches for each and the parallel/serial speedup. The threshold is the
//! smallest size from which the speedup stays above 1.
//!
//! ```text
//! cargo run --release --example threshold
//! ```

use std::hint::black_box;
use std::time::Instant;

use rectify::{Activation, Kernels, Saved};

/// Median seconds per call of `f`, over `reps` batches of calls each lasting
/// about 2 ms.
fn median_secs(reps: usize, mut f: impl FnMut()) -> f64 {
    let t = Instant::now();
    f();
    let one = t.elapsed().as_secs_f64().max(1e-8);
    let batch = ((2e-3 / one) as usize).clamp(1, 100_000);
    let mut samples: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..batch {
                f();
            }
            t.elapsed().as_secs_f64() / batch as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let best = Kernels::from_env();
    let serial = best.serial();
    let split = best.with_parallel_threshold(0);
    println!(
        "tier {}, {} rayon threads; median of 31 batches; speedup = serial time / parallel time",
        best.isa(),
        rayon::current_num_threads()
    );
    println!(
        "{:>10} {:>10} | {:>12} {:>12} {:>8} | {:>12} {:>12} {:>8}",
        "elements",
        "bytes",
        "fwd serial",
        "fwd split",
        "speedup",
        "bwd serial",
        "bwd split",
        "speedup"
    );
    for log2 in 12..=24 {
        let n = 1usize << log2;
        let mut x: Vec<f32> = (0..n).map(|i| (i % 17) as f32 - 8.0).collect();
        let y = x.clone();
        let mut g = vec![1.0f32; n];
        let mut fwd = |k: &Kernels| {
            median_secs(31, || {
                k.forward(Activation::Relu, black_box(&mut x)).unwrap()
            })
        };
        let (fs, fp) = (fwd(&serial), fwd(&split));
        let mut bwd = |k: &Kernels| {
            median_secs(31, || {
                k.backward(Activation::Relu, Saved::Output(&y), black_box(&mut g))
                    .unwrap()
            })
        };
        let (bs, bp) = (bwd(&serial), bwd(&split));
        println!(
            "{n:>10} {:>10} | {:>10.1}us {:>10.1}us {:>7.2}x | {:>10.1}us {:>10.1}us {:>7.2}x",
            n * 4,
            fs * 1e6,
            fp * 1e6,
            fs / fp,
            bs * 1e6,
            bp * 1e6,
            bs / bp
        );
    }
}
