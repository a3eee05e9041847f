//! Criterion benchmarks: every op and direction, every available tier, at
//! L1 (4096), L2 (65536), L3-ish (1 Mi) and DRAM (16 Mi elements) sizes, one
//! thread, with the scalar reference in every group as the baseline.
//!
//! Ids are stable across machines: `<op>/<direction>/<isa>/<elements>`, so
//! baselines saved on two CPUs can be compared (see the README).
//! Throughput counts bytes read plus written. Set `RECTIFY_BENCH_SIZES` to a
//! comma-separated list of element counts to change the sizes.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rectify::{Activation, Isa, Kernels, Saved};
use std::hint::black_box;

fn sizes() -> Vec<usize> {
    match std::env::var("RECTIFY_BENCH_SIZES") {
        Ok(s) => s.split(',').filter_map(|t| t.trim().parse().ok()).collect(),
        Err(_) => vec![4096, 65536, 1 << 20, 1 << 24],
    }
}

/// Inputs with both signs (half negative), deterministic.
fn data(n: usize) -> Vec<f32> {
    let mut state = 0x9E37_79B9u32;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state as f32 / u32::MAX as f32) * 8.0 - 4.0
        })
        .collect()
}

fn engines() -> Vec<Kernels> {
    Isa::available()
        .iter()
        .map(|&isa| Kernels::new(isa).expect("available").serial())
        .collect()
}

fn activations() -> [Activation; 2] {
    [Activation::Relu, Activation::leaky_relu_default()]
}

fn forward(c: &mut Criterion) {
    for act in activations() {
        let mut group = c.benchmark_group(format!("{}/forward", act.name()));
        for n in sizes() {
            // In place: read + write one buffer.
            group.throughput(Throughput::Bytes(8 * n as u64));
            let mut x = data(n);
            for k in engines() {
                group.bench_with_input(BenchmarkId::new(k.isa().name(), n), &n, |b, _| {
                    b.iter(|| k.forward(act, black_box(&mut x)).unwrap())
                });
            }
        }
        group.finish();
    }
}

fn backward(c: &mut Criterion) {
    for act in activations() {
        let mut group = c.benchmark_group(format!("{}/backward", act.name()));
        for n in sizes() {
            // In place on the gradient: read saved + grad, write grad.
            group.throughput(Throughput::Bytes(12 * n as u64));
            let y = data(n);
            let mut grad = data(n);
            for k in engines() {
                group.bench_with_input(BenchmarkId::new(k.isa().name(), n), &n, |b, _| {
                    b.iter(|| {
                        k.backward(act, Saved::Output(black_box(&y)), black_box(&mut grad))
                            .unwrap()
                    })
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, forward, backward);
criterion_main!(benches);
