//! The activations held to ULP bounds (every registry sample that is not
//! bit-exact: ELU, CELU, SELU) on every tier, against the f64 oracle of
//! `rectify::accuracy`, over a strided subset of all 2^32
//! inputs (every bit pattern that is a multiple of 997, plus the special
//! values), forward and both gradients: the CI-sized version of
//! `cargo run --release --example accuracy`.
//!
//! - Every result is within the documented ULP bound; zeros keep their sign
//!   and NaNs their payload where the contract says they pass through.
//! - The FMA tiers (AVX2, AVX-512, NEON) agree bit for bit. One machine has
//!   at most two of them, so each case's outputs are also hashed and compared
//!   with a digest recorded in this file: the x86_64 run (AVX2, AVX-512) and
//!   the aarch64 run under qemu (NEON) check the same numbers.

#[path = "common/contract.rs"]
mod contract;

use contract::{tiers_under_test, SPECIAL_BITS};
use rectify::accuracy::{backward_bound, exact_backward, exact_forward, forward_bound, ulp_error};
use rectify::{Activation, Isa, Kernels, Saved};

const STRIDE: u64 = 997;

#[derive(Clone, Copy, Debug)]
enum Dir {
    Forward,
    FromInput,
    FromOutput,
}

/// The cases: every sample of the registry whose tiers are held to ULP
/// bounds (not bit-exact), forward and from each saved tensor that
/// determines the gradient, plus parameters at the edges of the kernels'
/// algorithms: the ends of the range CELU's forward and gradient reduce in
/// units of alpha (2^-16 ..= 2^16), and just outside it, where they divide.
fn cases() -> Vec<(Activation, Dir)> {
    let mut out = Vec::new();
    for act in Activation::samples() {
        if !act.is_exponential() {
            continue;
        }
        out.push((act, Dir::Forward));
        out.push((act, Dir::FromInput));
        if act.gradient_from_output().is_ok() {
            out.push((act, Dir::FromOutput));
        }
    }
    for alpha in [1.0 / 65536.0, 65536.0, 1.5e-5, 65537.0] {
        out.push((Activation::Celu { alpha }, Dir::Forward));
    }
    for alpha in [1.0 / 65536.0, 65537.0] {
        out.push((Activation::Celu { alpha }, Dir::FromInput));
    }
    out
}

/// The digest of each case's FMA-tier outputs over the strided inputs (see
/// `digest`), as recorded from the AVX2 and AVX-512 tiers, keyed by `"{act}
/// {dir:?}"`. A case without one fails, printing the line to add.
const RECORDED: &[(&str, u64)] = &[
    ("elu(alpha=1) Forward", 0xff94_498e_2212_c89a),
    ("elu(alpha=0.3) Forward", 0xd521_edf5_6208_108b),
    ("celu(alpha=1) Forward", 0xff94_498e_2212_c89a),
    ("celu(alpha=2.5) Forward", 0x3c01_e3fc_1f26_28cf),
    ("celu(alpha=0.000015258789) Forward", 0xaa31_7a3e_778a_9e95),
    ("celu(alpha=65536) Forward", 0x628c_c0d8_3724_a640),
    ("celu(alpha=0.000015) Forward", 0x6750_84b0_e83d_82db),
    ("celu(alpha=65537) Forward", 0x9bf7_6ded_9af1_1d56),
    ("celu(alpha=-1.5) Forward", 0x4e64_fb52_16d7_7ed5),
    ("selu Forward", 0x1c70_5582_7b55_0503),
    ("elu(alpha=1) FromInput", 0xd2b8_0dbb_133f_b1af),
    ("celu(alpha=2.5) FromInput", 0x3ac0_92d2_a388_79ce),
    (
        "celu(alpha=0.000015258789) FromInput",
        0x6159_a3b7_f35b_676b,
    ),
    ("celu(alpha=65537) FromInput", 0xf0d8_0075_86f0_363e),
    ("selu FromInput", 0xdf4a_dedf_19fe_e17e),
    ("elu(alpha=1) FromOutput", 0x973e_19e7_7e80_b644),
    ("celu(alpha=2.5) FromOutput", 0x9380_9d72_3538_f131),
    ("celu(alpha=-1.5) FromOutput", 0xe59b_c028_779f_2717),
    ("selu FromOutput", 0xb1f4_971a_4476_9e8d),
    ("elu(alpha=0.3) FromInput", 0xb692_a6e9_d200_7729),
    ("elu(alpha=0.3) FromOutput", 0xfde0_d90d_fa99_928c),
    ("elu(alpha=-0.7) Forward", 0x89d4_6dca_e524_51a2),
    ("elu(alpha=-0.7) FromInput", 0xe81f_be29_a06f_2fea),
    // CELU with alpha = 1 runs ELU's kernels: ELU's digests.
    ("celu(alpha=1) FromInput", 0xd2b8_0dbb_133f_b1af),
    ("celu(alpha=1) FromOutput", 0x973e_19e7_7e80_b644),
    ("celu(alpha=2) Forward", 0x956e_8557_64df_6d5a),
    ("celu(alpha=2) FromInput", 0xcb0e_2bc7_f516_a294),
    ("celu(alpha=2) FromOutput", 0x0538_fb28_01e1_5257),
    ("celu(alpha=-1.5) FromInput", 0x5e65_0aef_6968_057e),
];

fn specials() -> Vec<f32> {
    // ±2^-25 and ±2^-26, around where expm1(x) starts to round to x.
    let tiny = [0x3300_0000, 0xb300_0000, 0x3280_0000, 0xb280_0000];
    let mut v: Vec<f32> = SPECIAL_BITS
        .iter()
        .chain(&tiny)
        .map(|&b| f32::from_bits(b))
        .collect();
    // The saturation edges: expm1 reaches -1 near -17.33, exp underflows near
    // -87.3 (subnormal) and -103.97 (zero), overflows near 88.72.
    for edge in [
        -17.328_68f32,
        -17.5,
        -87.336_54,
        -103.972_08,
        88.722_84,
        -88.722_84,
    ] {
        let b = edge.to_bits();
        v.extend((b - 3..=b + 3).map(f32::from_bits));
    }
    v
}

/// Every multiple of `STRIDE` as a bit pattern, then the specials.
fn inputs() -> Vec<f32> {
    let mut v: Vec<f32> = (0..=u32::MAX as u64)
        .step_by(STRIDE as usize)
        .map(|b| f32::from_bits(b as u32))
        .collect();
    v.extend(specials());
    v
}

/// A deterministic gradient in [-4, 4) per input.
fn grads(xs: &[f32]) -> Vec<f32> {
    xs.iter()
        .map(|x| {
            let h = x.to_bits().wrapping_mul(0x9E37_79B9).rotate_left(13) ^ 0x5bd1_e995;
            f32::from_bits(0x3f80_0000 | (h >> 9)) * 8.0 - 12.0
        })
        .collect()
}

fn run(k: &Kernels, act: Activation, dir: Dir, xs: &[f32], gs: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0; xs.len()];
    match dir {
        Dir::Forward => k.forward_into(act, xs, &mut out).unwrap(),
        Dir::FromInput => k
            .backward_into(act, Saved::Input(xs), gs, &mut out)
            .unwrap(),
        Dir::FromOutput => k
            .backward_into(act, Saved::Output(xs), gs, &mut out)
            .unwrap(),
    }
    out
}

/// FNV-1a over the output bits, in order.
fn digest(out: &[f32]) -> u64 {
    out.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, v| {
        (h ^ v.to_bits() as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn is_fma(isa: Isa) -> bool {
    matches!(isa, Isa::Avx2 | Isa::Avx512 | Isa::Neon)
}

#[test]
fn exponential_ops_within_bounds_and_fma_tiers_identical() {
    let xs = inputs();
    let gs = grads(&xs);
    let mut digests_seen = Vec::new();
    let mut unrecorded = Vec::new();
    for (act, dir) in cases() {
        let key = format!("{act} {dir:?}");
        let recorded = RECORDED.iter().find(|(k, _)| *k == key).map(|&(_, d)| d);
        let (bound, exact): (f64, Vec<f64>) = match dir {
            Dir::Forward => (
                forward_bound(act),
                xs.iter().map(|&x| exact_forward(act, x)).collect(),
            ),
            Dir::FromInput | Dir::FromOutput => {
                let from_output = matches!(dir, Dir::FromOutput);
                (
                    backward_bound(act),
                    xs.iter()
                        .zip(&gs)
                        .map(|(&v, &g)| exact_backward(act, from_output, v, g))
                        .collect(),
                )
            }
        };
        let mut fma_outputs: Vec<(Isa, Vec<u32>)> = Vec::new();
        let reference = run(&Kernels::new(Isa::Scalar).unwrap(), act, dir, &xs, &gs);
        for isa in tiers_under_test() {
            if isa == Isa::Scalar {
                continue; // the C library's expm1f/expf: informational, see examples/accuracy.rs
            }
            let k = Kernels::new(isa).unwrap().serial();
            let out = run(&k, act, dir, &xs, &gs);
            let mut worst = (0.0f64, 0usize);
            for (i, (&r, &e)) in out.iter().zip(&exact).enumerate() {
                let err = ulp_error(r, e);
                if err > worst.0 {
                    worst = (err, i);
                }
                // Zeros keep their sign; NaNs come out exactly as the
                // reference's (passed through, or quietened by `lambda * x`).
                if e == 0.0 {
                    let want = (e as f32).to_bits();
                    assert_eq!(
                        r.to_bits(),
                        want,
                        "{act} {dir:?} {isa}: x={:e} signed zero",
                        xs[i]
                    );
                }
                if r.is_nan() || reference[i].is_nan() {
                    let (got, want) = (r.to_bits(), reference[i].to_bits());
                    assert_eq!(
                        got,
                        want,
                        "{act} {dir:?} {isa}: NaN from {:#010x}",
                        xs[i].to_bits()
                    );
                }
            }
            let (err, i) = worst;
            println!(
                "{act} {dir:?} {isa}: max {err:.3} ULP at x = {:e} ({:#010x})",
                xs[i],
                xs[i].to_bits()
            );
            assert!(
                err <= bound,
                "{act} {dir:?} on {isa}: {err} ULP > {bound} at x = {:e} ({:#010x})",
                xs[i],
                xs[i].to_bits()
            );
            if is_fma(isa) {
                fma_outputs.push((isa, out.iter().map(|v| v.to_bits()).collect()));
                let d = digest(&out);
                digests_seen.push(format!("{key} {isa}: {d:#018x}"));
                // After a deliberate change of the algorithm, record the new
                // digests with RECTIFY_RECORD_DIGESTS=1 (they are printed).
                match recorded {
                    None => unrecorded.push(format!("(\"{key}\", {d:#018x}),")),
                    Some(r) if std::env::var_os("RECTIFY_RECORD_DIGESTS").is_none() => {
                        assert_eq!(d, r, "{key} on {isa}: digest {d:#018x} differs from the recorded FMA-tier digest");
                    }
                    Some(_) => {}
                }
            }
        }
        for pair in fma_outputs.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            let differing = a.1.iter().zip(&b.1).filter(|(x, y)| x != y).count();
            assert_eq!(
                differing, 0,
                "{act} {dir:?}: {} and {} differ on {differing} inputs",
                a.0, b.0
            );
        }
    }
    println!("FMA digests:\n{}", digests_seen.join("\n"));
    unrecorded.dedup();
    assert!(
        unrecorded.is_empty(),
        "cases without a recorded digest; add to RECORDED:\n{}",
        unrecorded.join("\n")
    );
}

/// The gradients from the input scale `grad * alpha * e^t` by `2^n` last,
/// and that scaling must round once: on AVX-512 it is `vscalefps`, on the
/// other tiers two multiplies by normal powers of two, of which the first
/// must be exact. Where the result is subnormal and the first product is
/// too (a tiny `grad`, `x` a few dozen below zero), rounding it twice can
/// land one subnormal ULP off, and the FMA tiers would disagree.
#[test]
fn gradient_from_input_scaled_into_the_subnormals_rounds_once() {
    let mut xs = Vec::new();
    let mut gs = Vec::new();
    for i in 0..400 {
        let x = -10.0 - i as f32 * 0.277;
        for k in 70..140 {
            for j in 0..5 {
                xs.push(x);
                gs.push(2f32.powi(-k) * (1.0 + j as f32 / 7.0));
                // Large gradients for the growing side (CELU, alpha < 0).
                xs.push(x);
                gs.push(2f32.powi(k - 10) * (1.0 - j as f32 / 9.0));
            }
        }
    }
    for act in Activation::samples() {
        if !act.is_exponential() {
            continue;
        }
        let mut fma_outputs: Vec<(Isa, Vec<u32>)> = Vec::new();
        for isa in tiers_under_test() {
            if isa == Isa::Scalar {
                continue;
            }
            let k = Kernels::new(isa).unwrap().serial();
            let out = run(&k, act, Dir::FromInput, &xs, &gs);
            for (i, &r) in out.iter().enumerate() {
                let (x, g) = (xs[i], gs[i]);
                if !rectify::accuracy::gradient_bound_applies(act, false, x, g) {
                    continue;
                }
                let err = ulp_error(r, exact_backward(act, false, x, g));
                assert!(
                    err <= backward_bound(act),
                    "{act} on {isa}: {err} ULP at x = {x:e}, grad = {g:e}"
                );
            }
            if is_fma(isa) {
                fma_outputs.push((isa, out.iter().map(|v| v.to_bits()).collect()));
            }
        }
        for pair in fma_outputs.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            let first = a.1.iter().zip(&b.1).position(|(x, y)| x != y);
            assert!(
                first.is_none(),
                "{act}: {} and {} differ first at x = {:e}, grad = {:e}",
                a.0,
                b.0,
                xs[first.unwrap()],
                gs[first.unwrap()]
            );
        }
    }
}

/// Negative inputs so small that `alpha * expm1(x)` underflows to zero: the
/// result is -0 (the sign of the exact product), on every tier, for every
/// registry sample whose exact result there is negative and for the alphas
/// whose scaling underflows (0.5 halves the smallest subnormal, 2^-64 every
/// subnormal and the smallest normals), including the tiers without a fused
/// multiply-add, whose exact products are emulated.
#[test]
fn underflowing_negative_results_keep_their_sign() {
    // Every negative subnormal and the smallest negative normals.
    let xs: Vec<f32> = (0x8000_0001u32..=0x8100_0000)
        .step_by(7)
        .chain([0x8000_0001, 0x8000_0002, 0x8000_0003, 0x807f_ffff])
        .map(f32::from_bits)
        .collect();
    let smallest = -f32::from_bits(1);
    let mut acts: Vec<Activation> = Activation::samples()
        .into_iter()
        .filter(|&a| a.is_exponential() && exact_forward(a, smallest) < 0.0)
        .collect();
    acts.extend([
        Activation::Elu { alpha: 0.5 },
        Activation::Elu {
            alpha: 2f32.powi(-64),
        },
        Activation::Celu { alpha: 0.5 },
    ]);
    for isa in tiers_under_test() {
        let k = Kernels::new(isa).unwrap().serial();
        for &act in &acts {
            let out = run(&k, act, Dir::Forward, &xs, &[]);
            for (&x, &r) in xs.iter().zip(&out) {
                let e = exact_forward(act, x);
                assert!(
                    r.is_sign_negative(),
                    "{act} on {isa}: x = {x:e} ({:#010x}) gave {r:e} ({:#010x}), exact {e:e}",
                    x.to_bits(),
                    r.to_bits()
                );
                if isa != Isa::Scalar {
                    let err = ulp_error(r, e);
                    assert!(
                        err <= forward_bound(act),
                        "{act} on {isa}: x = {x:e}: {err} ULP"
                    );
                }
            }
        }
    }
}
