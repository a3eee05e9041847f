//! Criterion benchmarks: every op and direction, every available tier, at
//! L1 (4096), L2 (65536), L3-ish (1 Mi) and DRAM (16 Mi elements) sizes, one
//! thread, with the scalar reference in every group as the baseline.
//!
//! Ids are stable across machines: `<op>/<direction>/<isa>/<elements>`, so
//! baselines saved on two CPUs can be compared (see the README).
//! Throughput counts bytes read plus written: 8 per element forward, 12 for a
//! gradient. Set `RECTIFY_BENCH_SIZES` to a comma-separated list of element
//! counts to change the sizes.
//!
//! The ReLU family runs in place (`forward`, `backward`), as training code
//! calls it. The exponential ops run out of place (`forward_into`,
//! `backward_into`) so that every call sees the same data: repeated in place,
//! ELU would drive its inputs towards 0 and into subnormals, which measures
//! the CPU's subnormal penalty instead of the kernel. PReLU, on 16 channels
//! in NCHW (`prelu_nchw`, inner = n / 16) and NHWC (`prelu_nhwc`) layouts,
//! runs both ways: in place (`forward`, `backward`: comparable with the ReLU
//! family's rows), with the buffer restored after at most 8 calls, untimed,
//! because repeated `w * x` decays towards subnormals; and out of place
//! (`forward_into`, `backward_into`). Its backward computes the input
//! gradient and the slope gradient in one pass.
//!
//! Maxout (`maxout_k2`, `maxout_k4`: `inner = 1`, the interleaved pieces of
//! `reshape(.., units, k).max(-1)`) runs out of place, and its sizes count
//! outputs: `x` has `k` elements per output. Its throughput is `4 k + 4`
//! bytes per output forward (read `k` pieces, write `y`) and `8 k + 4`
//! backward (from the saved input: read `x` and `grad_out`, write `grad_in`).

use criterion::{criterion_group, criterion_main, Bencher, BenchmarkId, Criterion, Throughput};
use rectify::{Activation, ChannelLayout, Grad, Isa, Kernels, Saved};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn sizes() -> Vec<usize> {
    match std::env::var("RECTIFY_BENCH_SIZES") {
        Ok(s) => s.split(',').filter_map(|t| t.trim().parse().ok()).collect(),
        Err(_) => vec![4096, 65536, 1 << 20, 1 << 24],
    }
}

/// Inputs in [-4, 4) (half negative), deterministic.
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

/// What the registry says to measure.
fn activations() -> Vec<Activation> {
    Activation::measured()
}

fn forward(c: &mut Criterion) {
    for act in activations() {
        let mut group = c.benchmark_group(format!("{}/forward", act.name()));
        for n in sizes() {
            group.throughput(Throughput::Bytes(8 * n as u64));
            let x = data(n);
            let mut y = x.clone();
            for k in engines() {
                group.bench_with_input(BenchmarkId::new(k.isa().name(), n), &n, |b, _| {
                    if act.is_exponential() {
                        b.iter(|| {
                            k.forward_into(act, black_box(&x), black_box(&mut y))
                                .unwrap()
                        })
                    } else {
                        b.iter(|| k.forward(act, black_box(&mut y)).unwrap())
                    }
                });
            }
        }
        group.finish();
    }
}

fn backward(c: &mut Criterion) {
    for act in activations() {
        // The ReLU family has one gradient formula for the input and the output.
        let forms: &[(&str, bool)] = if act.is_exponential() {
            &[("backward", true), ("backward_from_input", false)]
        } else {
            &[("backward", true)]
        };
        for &(direction, from_output) in forms {
            let mut group = c.benchmark_group(format!("{}/{direction}", act.name()));
            for n in sizes() {
                group.throughput(Throughput::Bytes(12 * n as u64));
                // From the output: the forward pass's output, as in training.
                let mut saved = data(n);
                if from_output {
                    Kernels::new(Isa::Scalar)
                        .unwrap()
                        .forward(act, &mut saved)
                        .unwrap();
                }
                let grad_out = data(n);
                let mut grad = grad_out.clone();
                for k in engines() {
                    group.bench_with_input(BenchmarkId::new(k.isa().name(), n), &n, |b, _| {
                        b.iter(|| {
                            let s = black_box(&saved[..]);
                            let s = if from_output {
                                Saved::Output(s)
                            } else {
                                Saved::Input(s)
                            };
                            if act.is_exponential() {
                                k.backward_into(act, s, black_box(&grad_out), black_box(&mut grad))
                            } else {
                                k.backward(act, s, black_box(&mut grad))
                            }
                            .unwrap()
                        })
                    });
                }
            }
            group.finish();
        }
    }
}

/// PReLU's layouts, 16 channels: NCHW (the runs shape) and NHWC (the
/// periodic shape).
fn prelu_layouts(n: usize) -> [(&'static str, ChannelLayout); 2] {
    [
        ("prelu_nchw", ChannelLayout::nchw(1, 16, 1, n / 16)),
        ("prelu_nhwc", ChannelLayout::nhwc(1, 1, n / 16, 16)),
    ]
    .map(|(name, layout)| (name, layout.expect("a shape of n elements")))
}

/// Calls between two restores of a buffer that PReLU scales in place: at
/// most 8, so repeated scaling by the slopes (at most 0.31) keeps the data
/// far from subnormals (inputs are at least about 2e-9 in magnitude).
const CALLS_BETWEEN_RESTORES: u64 = 8;

/// Times `call` on `buf` in place, `iters` times in all, in bursts of at
/// most [`CALLS_BETWEEN_RESTORES`] calls after `buf` is restored from
/// `pristine` (the restores are not timed; they leave `buf` in cache, as
/// the calls before them would).
fn in_place_bursts(
    iters: u64,
    buf: &mut [f32],
    pristine: &[f32],
    mut call: impl FnMut(&mut [f32]),
) -> Duration {
    let (mut total, mut done) = (Duration::ZERO, 0);
    while done < iters {
        buf.copy_from_slice(pristine);
        let burst = CALLS_BETWEEN_RESTORES.min(iters - done);
        let start = Instant::now();
        for _ in 0..burst {
            call(black_box(&mut *buf));
        }
        total += start.elapsed();
        done += burst;
    }
    total
}

/// One PReLU group, `<name>/<direction>`: every size (a multiple of the 16
/// channels) and engine, `bytes` per element, `bench` timing one engine at
/// one size (its buffers made there, outside the timed calls).
fn prelu_group(
    c: &mut Criterion,
    layout_index: usize,
    direction: &str,
    bytes: u64,
    mut bench: impl FnMut(&mut Bencher<'_>, &Kernels, ChannelLayout, usize),
) {
    let name = prelu_layouts(16)[layout_index].0;
    let mut group = c.benchmark_group(format!("{name}/{direction}"));
    for n in sizes().into_iter().filter(|n| n % 16 == 0) {
        let layout = prelu_layouts(n)[layout_index].1;
        group.throughput(Throughput::Bytes(bytes * n as u64));
        for k in engines() {
            group.bench_with_input(BenchmarkId::new(k.isa().name(), n), &n, |b, &n| {
                bench(b, &k, layout, n)
            });
        }
    }
    group.finish();
}

fn prelu(c: &mut Criterion) {
    let w: Vec<f32> = (0..16).map(|i| 0.01 + 0.02 * i as f32).collect();
    for layout_index in 0..2 {
        prelu_group(c, layout_index, "forward", 8, |b, k, layout, n| {
            let x = data(n);
            let mut buf = x.clone();
            b.iter_custom(|iters| {
                in_place_bursts(iters, &mut buf, &x, |buf| k.prelu(buf, &w, layout).unwrap())
            })
        });
        prelu_group(c, layout_index, "forward_into", 8, |b, k, layout, n| {
            let x = data(n);
            let mut y = x.clone();
            b.iter(|| {
                k.prelu_into(black_box(&x), &w, layout, black_box(&mut y))
                    .unwrap()
            })
        });
        prelu_group(c, layout_index, "backward", 12, |b, k, layout, n| {
            let (x, grad_out) = (data(n), data(n));
            let mut grad = grad_out.clone();
            let mut grad_w = vec![0.0f32; 16];
            b.iter_custom(|iters| {
                in_place_bursts(iters, &mut grad, &grad_out, |grad| {
                    let saved = Saved::Input(black_box(&x));
                    k.prelu_backward(saved, &w, layout, grad, Some(Grad::Write(&mut grad_w)))
                        .unwrap()
                })
            })
        });
        prelu_group(c, layout_index, "backward_into", 12, |b, k, layout, n| {
            let (x, grad_out) = (data(n), data(n));
            let mut grad = grad_out.clone();
            let mut grad_w = vec![0.0f32; 16];
            b.iter(|| {
                k.prelu_backward_into(
                    Saved::Input(black_box(&x)),
                    &w,
                    layout,
                    black_box(&grad_out),
                    black_box(&mut grad),
                    Some(Grad::Write(&mut grad_w)),
                )
                .unwrap()
            })
        });
    }
}

/// Maxout with interleaved pieces (`inner = 1`): forward for `k` = 2, 3 and
/// 4, backward from the saved input for `k` = 2 and 3 and from saved `u8`
/// indices for `k` = 2 and 4. Sizes count outputs.
fn maxout(c: &mut Criterion) {
    for k in [2, 3, 4] {
        let mut group = c.benchmark_group(format!("maxout_k{k}/forward"));
        for n in sizes() {
            group.throughput(Throughput::Bytes(((4 * k + 4) * n) as u64));
            let x = data(k * n);
            let mut y = vec![0.0f32; n];
            for e in engines() {
                group.bench_with_input(BenchmarkId::new(e.isa().name(), n), &n, |b, _| {
                    b.iter(|| e.maxout(black_box(&x), k, 1, black_box(&mut y)).unwrap())
                });
            }
        }
        group.finish();
    }
    // From saved u8 indices (the winners need not be found again).
    for k in [2, 4] {
        let mut group = c.benchmark_group(format!("maxout_k{k}/backward_indexed"));
        for n in sizes() {
            group.throughput(Throughput::Bytes(((4 * k + 5) * n) as u64));
            let (x, grad_out) = (data(k * n), data(n));
            let (mut y, mut idx) = (vec![0.0f32; n], vec![0u8; n]);
            let mut grad_in = vec![0.0f32; k * n];
            for e in engines() {
                e.maxout_with_index(&x, k, 1, &mut y, &mut idx).unwrap();
                group.bench_with_input(BenchmarkId::new(e.isa().name(), n), &n, |b, _| {
                    b.iter(|| {
                        e.maxout_backward_indexed(
                            black_box(&idx),
                            k,
                            1,
                            black_box(&grad_out),
                            black_box(Grad::Write(&mut grad_in)),
                        )
                        .unwrap()
                    })
                });
            }
        }
        group.finish();
    }
    for k in [2, 3] {
        let mut group = c.benchmark_group(format!("maxout_k{k}/backward"));
        for n in sizes() {
            group.throughput(Throughput::Bytes(((8 * k + 4) * n) as u64));
            let (x, grad_out) = (data(k * n), data(n));
            let mut grad_in = vec![0.0f32; k * n];
            for e in engines() {
                group.bench_with_input(BenchmarkId::new(e.isa().name(), n), &n, |b, _| {
                    b.iter(|| {
                        e.maxout_backward(
                            black_box(&x),
                            k,
                            1,
                            black_box(&grad_out),
                            black_box(Grad::Write(&mut grad_in)),
                        )
                        .unwrap()
                    })
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, forward, backward, prelu, maxout);
criterion_main!(benches);
