//! # `accuracy`: the exhaustive accuracy sweep of the exponential kernels
//!
//! ```text
//! cargo run --release --example accuracy               # all 2^32 inputs, every case, every tier
//! cargo run --release --example accuracy -- --stride 997   # every 997th bit pattern (seconds)
//! cargo run --release --example accuracy -- --only "grad from y"   # the cases whose name contains it
//! ```
//!
//! For every activation of the registry held to ULP bounds rather than bit
//! for bit (ELU, CELU, SELU, each with the registry's sample parameters) and
//! direction (forward; gradient from the input and from the output,
//! with a gradient of 1 and of a pseudo-random value per element), on every
//! tier this CPU has, it runs the kernel over every f32 bit pattern as its
//! input (`x`, or `y` for gradients from the output), compares each result
//! with the f64 oracle of `rectify::accuracy` and prints, per case and tier:
//! the maximum error in ULP and the input where it occurs, how many results
//! are not correctly rounded, and whether the documented bound holds.
//!
//! The FMA tiers (AVX2, AVX-512, NEON) run the same algorithm and must agree
//! bit for bit: where the host has two of them the sweep compares them
//! element by element; in any case it prints a digest of each FMA tier's
//! outputs, so sweeps on different machines can be compared line by line.
//!
//! Exit status 1 if any bound is exceeded or FMA tiers disagree.

use std::process::ExitCode;
use std::time::Instant;

use rayon::prelude::*;
use rectify::accuracy::{backward_bound, exact_backward, exact_forward, forward_bound, ulp_error};
use rectify::{Activation, Isa, Kernels, Saved};

/// Inputs per work item.
const CHUNK: u64 = 1 << 20;

#[derive(Clone, Copy)]
enum Direction {
    Forward,
    /// Gradient from the saved input or (`true`) output.
    Backward {
        from_output: bool,
        random_grad: bool,
    },
}

#[derive(Clone, Copy)]
struct Case {
    act: Activation,
    dir: Direction,
}

impl Case {
    fn label(&self) -> String {
        match self.dir {
            Direction::Forward => format!("{} forward", self.act),
            Direction::Backward {
                from_output,
                random_grad,
            } => format!(
                "{} grad from {}, grad_out = {}",
                self.act,
                if from_output { "y" } else { "x" },
                if random_grad { "random" } else { "1" }
            ),
        }
    }

    fn bound(&self) -> f64 {
        match self.dir {
            Direction::Forward => forward_bound(self.act),
            Direction::Backward { .. } => backward_bound(self.act),
        }
    }
}

/// Every registry sample held to ULP bounds (not bit-exact), forward and
/// from each saved tensor that determines its gradient.
fn cases() -> Vec<Case> {
    let swept: Vec<Activation> = Activation::samples()
        .into_iter()
        .filter(Activation::is_exponential)
        .collect();
    let mut out: Vec<Case> = swept
        .iter()
        .map(|&act| Case {
            act,
            dir: Direction::Forward,
        })
        .collect();
    for from_output in [false, true] {
        for random_grad in [false, true] {
            for &act in &swept {
                if from_output && act.gradient_from_output().is_err() {
                    continue;
                }
                out.push(Case {
                    act,
                    dir: Direction::Backward {
                        from_output,
                        random_grad,
                    },
                });
            }
        }
    }
    out
}

/// A pseudo-random gradient in [-4, 4) for input bits `b` (deterministic).
fn grad_for(b: u32, random: bool) -> f32 {
    if !random {
        return 1.0;
    }
    let mut h = b.wrapping_mul(0x9E37_79B9) ^ 0x5bd1_e995;
    h ^= h >> 15;
    h = h.wrapping_mul(0x2c1b_3c6d);
    h ^= h >> 12;
    f32::from_bits(0x3f80_0000 | (h >> 9)) * 8.0 - 12.0
}

/// Statistics of one tier over part of the sweep.
#[derive(Clone, Copy)]
struct Stats {
    max_ulp: f64,
    worst_input: u32,
    not_correctly_rounded: u64,
    inputs: u64,
    digest: u64,
}

impl Stats {
    const EMPTY: Stats = Stats {
        max_ulp: 0.0,
        worst_input: 0,
        not_correctly_rounded: 0,
        inputs: 0,
        digest: 0,
    };

    /// Merges a later chunk into `self` (the digest is order-dependent).
    fn merge(self, later: Stats) -> Stats {
        let (max_ulp, worst_input) = if later.max_ulp > self.max_ulp {
            (later.max_ulp, later.worst_input)
        } else {
            (self.max_ulp, self.worst_input)
        };
        Stats {
            max_ulp,
            worst_input,
            not_correctly_rounded: self.not_correctly_rounded + later.not_correctly_rounded,
            inputs: self.inputs + later.inputs,
            digest: (self.digest ^ later.digest)
                .wrapping_mul(0x0000_0100_0000_01b3)
                .rotate_left(7),
        }
    }
}

/// FNV-1a over the output bits of a chunk.
fn digest(out: &[f32]) -> u64 {
    out.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, v| {
        (h ^ v.to_bits() as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Runs `case` on `engine` for `inputs`, writing the results to `out`.
fn run(engine: &Kernels, case: &Case, inputs: &[f32], grads: &[f32], out: &mut [f32]) {
    match case.dir {
        Direction::Forward => engine
            .forward_into(case.act, inputs, out)
            .expect("valid case"),
        Direction::Backward { from_output, .. } => {
            let saved = if from_output {
                Saved::Output(inputs)
            } else {
                Saved::Input(inputs)
            };
            engine
                .backward_into(case.act, saved, grads, out)
                .expect("valid case")
        }
    }
}

/// One chunk of the sweep: the stats of every engine, and how many elements
/// the FMA engines disagree on.
fn sweep_chunk(case: &Case, engines: &[Kernels], first: u64, stride: u64) -> (Vec<Stats>, u64) {
    let bits: Vec<u32> = (0..CHUNK)
        .map(|i| first + i * stride)
        .take_while(|&b| b <= u32::MAX as u64)
        .map(|b| b as u32)
        .collect();
    let inputs: Vec<f32> = bits.iter().map(|&b| f32::from_bits(b)).collect();
    let random = matches!(
        case.dir,
        Direction::Backward {
            random_grad: true,
            ..
        }
    );
    let grads: Vec<f32> = bits.iter().map(|&b| grad_for(b, random)).collect();
    let exact: Vec<f64> = inputs
        .iter()
        .zip(&grads)
        .map(|(&v, &g)| match case.dir {
            Direction::Forward => exact_forward(case.act, v),
            Direction::Backward { from_output, .. } => exact_backward(case.act, from_output, v, g),
        })
        .collect();
    let mut out = vec![0.0f32; inputs.len()];
    let mut fma_first: Option<Vec<u32>> = None;
    let mut mismatches = 0u64;
    let stats = engines
        .iter()
        .map(|k| {
            run(k, case, &inputs, &grads, &mut out);
            let mut s = Stats {
                inputs: out.len() as u64,
                digest: digest(&out),
                ..Stats::EMPTY
            };
            for (i, (&r, &e)) in out.iter().zip(&exact).enumerate() {
                let err = ulp_error(r, e);
                if err > s.max_ulp {
                    s.max_ulp = err;
                    s.worst_input = bits[i];
                }
                if r.to_bits() != (e as f32).to_bits() && !(r.is_nan() && e.is_nan()) {
                    s.not_correctly_rounded += 1;
                }
            }
            if is_fma(k.isa()) {
                let now: Vec<u32> = out.iter().map(|v| v.to_bits()).collect();
                match &fma_first {
                    None => fma_first = Some(now),
                    Some(first) => {
                        mismatches += first.iter().zip(&now).filter(|(a, b)| a != b).count() as u64
                    }
                }
            }
            s
        })
        .collect();
    (stats, mismatches)
}

fn is_fma(isa: Isa) -> bool {
    matches!(isa, Isa::Avx2 | Isa::Avx512 | Isa::Neon)
}

fn main() -> ExitCode {
    let mut stride = 1u64;
    let mut only = String::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--stride" => {
                stride = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .filter(|&s| s > 0)
                    .unwrap_or(1)
            }
            "--only" => only = args.next().unwrap_or_default(),
            "--help" | "-h" => {
                println!(
                    "usage: accuracy [--stride N] [--only TEXT]   (N > 1 sweeps every N-th bit \
                     pattern; TEXT keeps the cases whose name contains it)"
                );
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!(
                    "accuracy: unknown argument {other:?}; usage: accuracy [--stride N] [--only TEXT]"
                );
                return ExitCode::from(2);
            }
        }
    }
    let engines: Vec<Kernels> = Isa::available()
        .iter()
        .map(|&isa| Kernels::new(isa).expect("available").serial())
        .collect();
    let fma: Vec<Isa> = engines
        .iter()
        .map(|k| k.isa())
        .filter(|&i| is_fma(i))
        .collect();
    let total = (1u64 << 32).div_ceil(stride);
    println!(
        "rectify accuracy sweep: {} inputs per case ({}), tiers {}, {} rayon threads",
        total,
        if stride == 1 {
            "every f32 bit pattern".to_string()
        } else {
            format!("every {stride}th bit pattern")
        },
        engines
            .iter()
            .map(|k| k.isa().name())
            .collect::<Vec<_>>()
            .join(", "),
        rayon::current_num_threads()
    );
    println!(
        "FMA tiers here: {}",
        match fma.len() {
            0 => "none".to_string(),
            1 => format!("{} only (nothing to compare with here; compare its digests with another machine's)", fma[0]),
            _ => format!("{} (compared element by element)", fma.iter().map(|i| i.name()).collect::<Vec<_>>().join(", ")),
        }
    );
    println!();
    println!("| case | tier | max ULP | at input | not correctly rounded | bound | digest |");
    println!("|---|---|---|---|---|---|---|");
    let mut ok = true;
    let started = Instant::now();
    for case in cases().into_iter().filter(|c| c.label().contains(&only)) {
        let t = Instant::now();
        let chunks = total.div_ceil(CHUNK);
        let (stats, mismatches) = (0..chunks)
            .into_par_iter()
            .map(|c| sweep_chunk(&case, &engines, c * CHUNK * stride, stride))
            .collect::<Vec<_>>()
            .into_iter()
            .fold(
                (vec![Stats::EMPTY; engines.len()], 0u64),
                |(acc, m), (s, mm)| {
                    (
                        acc.iter().zip(&s).map(|(a, b)| a.merge(*b)).collect(),
                        m + mm,
                    )
                },
            );
        let bound = case.bound();
        for (k, s) in engines.iter().zip(&stats) {
            // The scalar reference uses the C library's expm1f/expf; its bound
            // is informational.
            let pass = s.max_ulp <= bound;
            if !pass && k.isa() != Isa::Scalar {
                ok = false;
            }
            let x = f32::from_bits(s.worst_input);
            println!(
                "| {} | {} | {:.3} | {:e} ({:#010x}) | {} ({:.2e}) | {}{} | {} |",
                case.label(),
                k.isa(),
                s.max_ulp,
                x,
                s.worst_input,
                s.not_correctly_rounded,
                s.not_correctly_rounded as f64 / s.inputs as f64,
                bound,
                if pass {
                    ""
                } else if k.isa() == Isa::Scalar {
                    " (exceeded: reference)"
                } else {
                    " EXCEEDED"
                },
                if is_fma(k.isa()) {
                    format!("{:016x}", s.digest)
                } else {
                    "-".into()
                }
            );
        }
        if mismatches > 0 {
            ok = false;
            println!(
                "| {} | FMA tiers | DISAGREE on {mismatches} inputs | | | | |",
                case.label()
            );
        }
        eprintln!("{}: {:.1} s", case.label(), t.elapsed().as_secs_f64());
    }
    println!();
    println!(
        "{} in {:.0} s",
        if ok {
            "all bounds hold"
        } else {
            "BOUNDS EXCEEDED"
        },
        started.elapsed().as_secs_f64()
    );
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
