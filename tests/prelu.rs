//! PReLU on every tier: forward and input gradient bit for bit against the
//! scalar formulas for every small `[outer, C, inner]` layout (every kernel
//! shape), at odd offsets, in place and into, through the engine and through
//! the kernels' spans; the slope gradient within its documented bound of an
//! f64 sum, its order fixed by the layout (never by addresses, thread counts
//! or where a buffer is cut at run ends); the gradient from the output; every
//! refusal leaves the buffers untouched.

#[path = "common/contract.rs"]
mod contract;
#[path = "common/harness.rs"]
mod harness;

use contract::tiers_under_test;

use contract::{assert_within_bound, assert_within_bound_of, exact_sums};
use harness::{bits, drawn, same_for_any_thread_count};
use rectify::reference::{leaky_relu_grad, prelu, prelu_slope_term};
use rectify::{ChannelLayout, Error, Grad, Isa, Kernels, Saved};
use rectify_kernels::{GradW, KernelSet, Prelu, SlopeGrad};

/// Values with special ones mixed in: zeros of both signs, infinities, NaN
/// payloads, subnormals, the largest magnitudes, any bit pattern.
fn data(n: usize, seed: u32) -> Vec<f32> {
    let specials = [
        0.0f32,
        -0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::from_bits(0x7fc0_1234),
        f32::from_bits(0xffa0_0001),
        f32::from_bits(1),
        -f32::from_bits(1),
        f32::MIN_POSITIVE,
        -f32::MAX,
    ];
    drawn(n, seed, |i, s| match i % 7 {
        0 => specials[(s % specials.len() as u32) as usize],
        1 => f32::from_bits(s),
        _ => (s as f32 / u32::MAX as f32) * 8.0 - 4.0,
    })
}

/// Finite values in [-4, 4), for sums compared with an f64 reference.
fn finite(n: usize, seed: u32) -> Vec<f32> {
    drawn(n, seed, |_, s| (s as f32 / u32::MAX as f32) * 8.0 - 4.0)
}

/// Slopes for `c` channels: for a third of the seeds all in `(0, 1]` (where
/// learned slopes live), otherwise a mix with zero, negative, 1 and above 1.
fn slopes(c: usize, seed: u32) -> Vec<f32> {
    let unit = seed.is_multiple_of(3);
    drawn(c, seed, |i, s| {
        let r = s as f32 / u32::MAX as f32;
        match (unit, i % 6) {
            (true, 1) | (false, 2) => 1.0,
            (true, _) => 0.05 + 0.9 * r,
            (false, 0) => 0.0,
            (false, 1) => -0.5,
            (false, 3) => 2.5,
            (false, _) => r * 0.5,
        }
    })
}

fn channel_of(i: usize, c: usize, inner: usize) -> usize {
    (i / inner) % c
}

/// The layout of an `[outer, c, inner]` tensor.
fn shape(outer: usize, c: usize, inner: usize) -> ChannelLayout {
    ChannelLayout::from_shape(&[outer, c, inner], 1).unwrap()
}

/// Layouts covering the kernel shapes: runs (inner of 512 and more, C = 1,
/// or inner of 16 and more where the slope pattern would be long next to
/// the buffer), the periodic rows and the slope pattern (short inner), with
/// outer including 0 and 1.
fn layouts() -> Vec<(usize, usize, usize)> {
    let mut l = Vec::new();
    for outer in [0usize, 1, 2, 3, 5] {
        for c in [1usize, 2, 3, 5, 16, 17] {
            // 16, 20 and 63: runs where the pattern would be costly.
            for inner in [1usize, 2, 3, 7, 16, 20, 63, 64, 65, 130] {
                l.push((outer, c, inner));
            }
        }
    }
    l.push((2, 3, 300));
    l.push((2, 3, 600)); // runs: long inner
    l.push((1, 5, 1030));
    l.push((2, 300, 64)); // runs: rows above the pattern's limit
                          // Runs shorter than a vector on many channels (a batch of one late in
                          // a CNN): the forward's slopes loaded from `w` and picked per lane.
    l.push((1, 1024, 2));
    l.push((2, 700, 3));
    l.push((1, 300, 4));
    l.push((3, 200, 9));
    l.push((2, 20_000, 1)); // pattern rows wider than a column block
    l.push((40, 3, 1)); // more than one group of pattern rows
    l.push((70, 2, 1));
    // Forward patterns over several periods: 1024 (C = 16), 1056 (C = 24,
    // lengthened to a multiple of 16), and a row of 21 taken whatever its
    // length (inner below 64).
    l.push((200, 16, 1));
    l.push((300, 24, 1));
    l.push((50, 7, 3));
    // The forward's rows (at least 64 channels, at most 8 rows), and the
    // pattern just past them.
    l.push((1, 64, 1));
    l.push((8, 100, 1));
    l.push((9, 100, 1));
    l
}

#[test]
fn forward_and_input_gradient_match_the_formulas_on_every_tier() {
    for isa in tiers_under_test() {
        let k = Kernels::new(isa).unwrap().serial();
        for (outer, c, inner) in layouts() {
            let n = outer * c * inner;
            let layout = shape(outer, c, inner);
            let w = slopes(c, (n + c) as u32);
            for offset in [0usize, 1, 3, 5, 15] {
                let base = data(n + offset + 3, (7 * n + offset) as u32);
                let x = &base[offset..offset + n];
                let gbase = data(n + offset, (11 * n + 3) as u32);
                let g = &gbase[offset..offset + n];
                let want: Vec<u32> = (0..n)
                    .map(|i| prelu(x[i], w[channel_of(i, c, inner)]).to_bits())
                    .collect();
                // Forward into, and in place inside a larger buffer.
                let mut y = vec![0.0f32; n];
                k.prelu_into(x, &w, layout, &mut y).unwrap();
                let got = bits(&y);
                assert_eq!(got, want, "{isa} into {outer}x{c}x{inner} offset {offset}");
                let mut inplace = base.clone();
                k.prelu(&mut inplace[offset..offset + n], &w, layout)
                    .unwrap();
                let got = bits(&inplace[offset..offset + n]);
                assert_eq!(
                    got, want,
                    "{isa} in place {outer}x{c}x{inner} offset {offset}"
                );
                assert_eq!(
                    bits(&inplace[..offset]),
                    bits(&base[..offset]),
                    "{isa}: wrote before the start"
                );
                assert_eq!(
                    bits(&inplace[offset + n..]),
                    bits(&base[offset + n..]),
                    "{isa}: wrote past the end"
                );
                // Backward, with and without the slope gradient, in place and into.
                let want_g: Vec<u32> = (0..n)
                    .map(|i| leaky_relu_grad(x[i], g[i], w[channel_of(i, c, inner)]).to_bits())
                    .collect();
                let exact = exact_sums(x, g, c, inner);
                let mut gi = g.to_vec();
                let mut gw = vec![f32::NAN; c];
                k.prelu_backward(
                    Saved::Input(x),
                    &w,
                    layout,
                    &mut gi,
                    Some(Grad::Write(&mut gw)),
                )
                .unwrap();
                let got = bits(&gi);
                assert_eq!(
                    got, want_g,
                    "{isa} backward {outer}x{c}x{inner} offset {offset}"
                );
                assert_within_bound(&gw, &exact, None, &format!("{isa} {outer}x{c}x{inner}"));
                let mut gi2 = vec![0.0f32; n];
                let mut gw2 = vec![0.0f32; c];
                k.prelu_backward_into(
                    Saved::Input(x),
                    &w,
                    layout,
                    g,
                    &mut gi2,
                    Some(Grad::Write(&mut gw2)),
                )
                .unwrap();
                assert_eq!(bits(&gi2), want_g);
                assert_eq!(
                    bits(&gw2),
                    bits(&gw),
                    "{isa}: into and in place disagree {outer}x{c}x{inner} off {offset}"
                );
                let mut gi3 = g.to_vec();
                k.prelu_backward(Saved::Input(x), &w, layout, &mut gi3, None)
                    .unwrap();
                assert_eq!(bits(&gi3), want_g);
            }
        }
    }
}

/// The slopes' finiteness check on every tier: lengths 0..=257 at 16
/// starts, finite values of every kind (zeros, subnormals, the largest)
/// pass, and one infinity or NaN (payloads, either sign) anywhere fails.
#[test]
fn all_finite_finds_every_infinity_and_nan() {
    use rectify_kernels::KernelSet;
    let finite = [
        0.0f32,
        -0.0,
        f32::from_bits(1),
        -f32::MIN_POSITIVE,
        f32::MAX,
        -f32::MAX,
        0.5,
    ];
    let bad = [
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        f32::from_bits(0xffa0_0001),
        f32::from_bits(0x7f80_0001),
    ];
    for isa in tiers_under_test() {
        let k = KernelSet::new(isa).unwrap();
        let base: Vec<f32> = (0..257 + 16).map(|i| finite[i % finite.len()]).collect();
        for n in 0..=257usize {
            for start in 0..16usize {
                let mut v = base.clone();
                assert!(
                    k.all_finite(&v[start..start + n]),
                    "{isa}: n {n} start {start}"
                );
                for (j, &b) in bad.iter().enumerate() {
                    if n == 0 {
                        break;
                    }
                    let at = start + (n * 7 + j * 13 + start) % n;
                    v[at] = b;
                    let what = format!("{isa}: {b:?} at {} of {n}, start {start}", at - start);
                    assert!(!k.all_finite(&v[start..start + n]), "{what}");
                    // Values outside the slice do not count, before it
                    // or just past its end (a partial tail's masked lanes).
                    assert!(k.all_finite(&v[at + 1..start + n]), "{what}");
                    v[at] = base[at];
                    v[start + n] = b;
                    assert!(k.all_finite(&v[start..start + n]), "{what}, past the end");
                    v[start + n] = base[start + n];
                }
            }
        }
    }
}

#[test]
fn gradient_from_the_output_for_positive_slopes() {
    for isa in tiers_under_test() {
        let k = Kernels::new(isa).unwrap().serial();
        for (outer, c, inner) in [
            (3usize, 4usize, 1usize),
            (2, 3, 100),
            (1, 1, 1000),
            (9, 5, 3),
        ] {
            let n = outer * c * inner;
            let layout = shape(outer, c, inner);
            let w: Vec<f32> = (0..c).map(|i| 0.05 + 0.3 * i as f32).collect();
            // Finite inputs: y = w x loses nothing that the bound does not cover.
            let x: Vec<f32> = data(n, 5)
                .iter()
                .map(|v| {
                    if v.is_finite() && v.abs() < 1e30 {
                        *v
                    } else {
                        -1.5
                    }
                })
                .collect();
            let g = data(n, 9)
                .iter()
                .map(|v| {
                    if v.is_finite() && v.abs() < 1e30 {
                        *v
                    } else {
                        0.5
                    }
                })
                .collect::<Vec<_>>();
            let mut y = vec![0.0; n];
            k.prelu_into(&x, &w, layout, &mut y).unwrap();
            let (mut from_x, mut from_y) = (g.clone(), g.clone());
            let (mut gw_x, mut gw_y) = (vec![0.0; c], vec![0.0; c]);
            k.prelu_backward(
                Saved::Input(&x),
                &w,
                layout,
                &mut from_x,
                Some(Grad::Write(&mut gw_x)),
            )
            .unwrap();
            k.prelu_backward(
                Saved::Output(&y),
                &w,
                layout,
                &mut from_y,
                Some(Grad::Write(&mut gw_y)),
            )
            .unwrap();
            assert_eq!(bits(&from_x), bits(&from_y), "{isa}");
            assert_within_bound(
                &gw_y,
                &exact_sums(&x, &g, c, inner),
                None,
                &format!("{isa} from y"),
            );
        }
        // A zero slope: the input gradient from y is fine, the slope gradient is not.
        let w = [0.0f32, 1.0];
        let y = [0.0f32, -1.0, 2.0, 3.0];
        let mut g = [1.0f32; 4];
        let rows2 = ChannelLayout::rows(2, 2).unwrap();
        k.prelu_backward(Saved::Output(&y), &w, rows2, &mut g, None)
            .unwrap();
        assert_eq!(g, [0.0, 1.0, 1.0, 1.0]);
        let mut gw = [0.0f32; 2];
        let err = k
            .prelu_backward(
                Saved::Output(&y),
                &w,
                rows2,
                &mut g,
                Some(Grad::Write(&mut gw)),
            )
            .unwrap_err();
        assert!(matches!(
            err,
            Error::GradientFromOutputUndefined { parameter: "w", .. }
        ));
    }
}

#[test]
fn slope_gradient_is_identical_for_any_thread_count() {
    for isa in tiers_under_test() {
        // Runs (NCHW), runs cut into pieces (one long channel), and pattern
        // (NHWC) shapes, with lengths that split raggedly.
        for (outer, c, inner) in [
            (7usize, 3usize, 1000usize),
            (1, 1, 100_003),
            (3001, 37, 1),
            (5000, 5, 9),
            (3, 300, 64),
            (1, 1024, 49), // short runs: the pattern would be the whole buffer
            (1, 3001, 4),  // one image of runs of 4, split at channels
            (1, 999, 15),
            (2, 4096, 1), // one group of the pattern: partials are the sums
            (1, 300, 1),
            (8, 20_000, 1), // the forward's rows, split inside rows
            (5001, 16, 1),  // the periodic shape
            (7001, 3, 1),
        ] {
            let n = outer * c * inner;
            let layout = shape(outer, c, inner);
            let w = slopes(c, 3);
            let (x, g) = (data(n, 21), data(n, 22));
            let run = |k: &Kernels| {
                let mut y = x.clone();
                k.prelu(&mut y, &w, layout).unwrap();
                let mut gi = g.clone();
                let mut gw = vec![0.0f32; c];
                k.prelu_backward(
                    Saved::Input(&x),
                    &w,
                    layout,
                    &mut gi,
                    Some(Grad::Write(&mut gw)),
                )
                .unwrap();
                (bits(&y), bits(&gi), bits(&gw))
            };
            same_for_any_thread_count(isa, 256, run, &format!("{isa} {outer}x{c}x{inner}"));
        }
    }
}

/// One row of many channels (a batch of one): each channel's slope
/// gradient is its one term, `x > 0 ? +0 : x * grad` rounded once (a
/// product of -0 becomes +0, as in a sum from +0; a NaN becomes the
/// canonical NaN), and from the output the term of `y` divided by the
/// slope in f64; special values (NaN payloads, infinities, zeros,
/// subnormals) among the inputs, on every tier, in place and into.
#[test]
fn one_row_slope_gradient_is_each_channels_term() {
    let c = 1500;
    let (x, g) = (data(c, 41), data(c, 42));
    let w = slopes(c, 3);
    let positive: Vec<f32> = w.iter().map(|s| s.abs().max(0.125)).collect();
    let y: Vec<f32> = x
        .iter()
        .zip(&positive)
        .map(|(&x, &s)| prelu(x, s))
        .collect();
    let want = |saved: &[f32], w: &[f32], from_output: bool| -> Vec<u32> {
        (0..c)
            .map(|i| {
                let t = prelu_slope_term(saved[i], g[i]);
                if t.is_nan() {
                    f32::NAN
                } else if from_output {
                    ((f64::from(t) + 0.0) / f64::from(w[i])) as f32
                } else {
                    t + 0.0
                }
                .to_bits()
            })
            .collect()
    };
    for isa in tiers_under_test() {
        let k = Kernels::new(isa).unwrap();
        let layout = ChannelLayout::rows(1, c).unwrap();
        for (saved, w, from_output) in [
            (Saved::Input(&x), &w, false),
            (Saved::Output(&y), &positive, true),
        ] {
            let want = want(saved.values(), w, from_output);
            let mut gw = vec![f32::NAN; c];
            let mut out = vec![0.0f32; c];
            k.prelu_backward_into(saved, w, layout, &g, &mut out, Some(Grad::Write(&mut gw)))
                .unwrap();
            assert_eq!(bits(&gw), want, "{isa} into, from output {from_output}");
            let (mut gi, mut gw) = (g.clone(), vec![f32::NAN; c]);
            k.prelu_backward(saved, w, layout, &mut gi, Some(Grad::Write(&mut gw)))
                .unwrap();
            assert_eq!(bits(&gw), want, "{isa} in place, from output {from_output}");
            assert_eq!(bits(&gi), bits(&out), "{isa}: in place and into");
        }
    }
}

/// The kernels align their stores to the buffer they are given, so the same
/// values at another address take other code paths (a partial vector here,
/// a whole one there): the slope gradient must come out bit for bit the
/// same, in place and into, for every start offset of the saved input, the
/// gradient and the output.
#[test]
fn slope_gradient_does_not_depend_on_addresses() {
    for isa in tiers_under_test() {
        let k = Kernels::new(isa).unwrap().serial();
        for (outer, c, inner) in [
            (300usize, 16usize, 1usize),
            (200, 3, 5),
            (40, 3, 1),
            (3, 300, 64),
            (2, 20_000, 1),
            (9, 7, 100),
            // Runs longer than a segment of the runs kernel (896 elements
            // on AVX2, 1792 on AVX-512), which its aligned walk straddles.
            (2, 3, 5000),
        ] {
            let n = outer * c * inner;
            let layout = shape(outer, c, inner);
            let w = slopes(c, 5);
            // Finite values (zeros and subnormals included): a NaN or
            // infinite term would make the sums NaN and the test vacuous.
            let finite = |seed| -> Vec<f32> {
                let v = data(n + 16, seed);
                v.into_iter()
                    .map(|v| if v.abs() < 1e3 { v } else { 0.5 })
                    .collect()
            };
            let (xb, gb) = (finite(31), finite(32));
            let mut want = None;
            for (xo, go) in [(0usize, 0usize), (1, 1), (4, 4), (0, 3), (7, 2), (15, 9)] {
                let x = &xb[..n];
                let mut xs = vec![0.0f32; n + 16];
                xs[xo..xo + n].copy_from_slice(x);
                let mut gs = vec![0.0f32; n + 16];
                gs[go..go + n].copy_from_slice(&gb[..n]);
                let mut gw = vec![0.0f32; c];
                let mut out = vec![0.0f32; n + 16];
                k.prelu_backward_into(
                    Saved::Input(&xs[xo..xo + n]),
                    &w,
                    layout,
                    &gs[go..go + n],
                    &mut out[(xo + go) % 16..(xo + go) % 16 + n],
                    Some(Grad::Write(&mut gw)),
                )
                .unwrap();
                let mut gw2 = vec![0.0f32; c];
                k.prelu_backward(
                    Saved::Input(&xs[xo..xo + n]),
                    &w,
                    layout,
                    &mut gs[go..go + n],
                    Some(Grad::Write(&mut gw2)),
                )
                .unwrap();
                assert!(gw.iter().all(|s| s.is_finite()), "{isa}: {gw:?}");
                let got = (bits(&gw), bits(&gw2));
                assert_eq!(got.0, got.1, "{isa} {outer}x{c}x{inner}: into vs in place");
                let want = want.get_or_insert(got.0);
                assert_eq!(
                    &got.1, want,
                    "{isa} {outer}x{c}x{inner} at offsets {xo}, {go}"
                );
            }
        }
    }
}

/// A 16 Mi-element channel: a plain f32 sum would drift far off; the bound
/// holds.
/// The backward with the output placed 4 to 252 bytes past the saved
/// values modulo 4 KiB, where the runs and periodic kernels compute a block
/// ahead of their stores: the same gradient and slope-gradient bits as in
/// separate buffers, in place and into, for runs (NCHW) and periodic (NHWC)
/// layouts.
#[test]
fn backward_written_just_past_the_saved_values_modulo_4k() {
    for isa in tiers_under_test() {
        let k = Kernels::new(isa).unwrap().serial();
        for (outer, c, inner) in [
            (4usize, 16usize, 256usize),
            (3, 5, 700),
            (600, 16, 1),
            (700, 3, 1),
        ] {
            let n = outer * c * inner;
            let layout = shape(outer, c, inner);
            let w = slopes(c, n as u32);
            let x = data(n, 3 * n as u32 + 1);
            let g = data(n, 5 * n as u32 + 2);
            let mut want = g.clone();
            let mut want_w = vec![0.0f32; c];
            k.prelu_backward(
                Saved::Input(&x),
                &w,
                layout,
                &mut want,
                Some(Grad::Write(&mut want_w)),
            )
            .unwrap();
            for d in [1usize, 4, 13, 16, 32, 48, 63] {
                let at = n.div_ceil(1024) * 1024 + 1024 + d;
                let mut arena = vec![0.0f32; at + n];
                arena[..n].copy_from_slice(&x);
                for into in [false, true] {
                    let (head, tail) = arena.split_at_mut(at);
                    let out = &mut tail[..n];
                    let mut gw = vec![0.0f32; c];
                    if into {
                        k.prelu_backward_into(
                            Saved::Input(&head[..n]),
                            &w,
                            layout,
                            &g,
                            out,
                            Some(Grad::Write(&mut gw)),
                        )
                        .unwrap();
                    } else {
                        out.copy_from_slice(&g);
                        k.prelu_backward(
                            Saved::Input(&head[..n]),
                            &w,
                            layout,
                            out,
                            Some(Grad::Write(&mut gw)),
                        )
                        .unwrap();
                    }
                    let what = format!("{isa} {outer}x{c}x{inner}, {d} elements past, into {into}");
                    assert_eq!(bits(out), bits(&want), "gradient, {what}");
                    assert_eq!(bits(&gw), bits(&want_w), "slope gradient, {what}");
                }
            }
        }
    }
}

/// The forward into an output 4 to 252 bytes past the input modulo 4 KiB,
/// where the runs kernel computes a block ahead of its stores: the same
/// bits as in place, for runs (NCHW, several run lengths against the block),
/// periodic and pattern (NHWC) layouts.
#[test]
fn forward_written_just_past_the_input_modulo_4k() {
    for isa in tiers_under_test() {
        let k = Kernels::new(isa).unwrap().serial();
        for (outer, c, inner) in [
            (4usize, 16usize, 256usize),
            (5, 7, 64),
            (3, 5, 700),
            (2, 3, 1 << 12),
            (600, 16, 1),
            (300, 37, 1),
        ] {
            let n = outer * c * inner;
            let layout = shape(outer, c, inner);
            let w = slopes(c, n as u32 + 9);
            let x = data(n, 7 * n as u32 + 3);
            let want: Vec<u32> = (0..n)
                .map(|i| prelu(x[i], w[channel_of(i, c, inner)]).to_bits())
                .collect();
            for d in [1usize, 4, 13, 16, 32, 48, 63] {
                let at = n.div_ceil(1024) * 1024 + 1024 + d;
                let mut arena = vec![0.0f32; at + n];
                arena[..n].copy_from_slice(&x);
                let (head, tail) = arena.split_at_mut(at);
                k.prelu_into(&head[..n], &w, layout, &mut tail[..n])
                    .unwrap();
                let what = format!("{isa} {outer}x{c}x{inner}, {d} elements past");
                assert_eq!(bits(&tail[..n]), want, "{what}");
                assert_eq!(bits(&head[..n]), bits(&x), "input kept, {what}");
            }
        }
    }
}

/// The slope gradient of one channel (`x` and `g` one run), from the input.
fn one_channel_slope_gradient(k: &Kernels, x: &[f32], g: &[f32], slope: f32) -> f32 {
    let (mut gi, mut gw) = (g.to_vec(), [0.0f32]);
    let layout = ChannelLayout::nchw(1, 1, 1, x.len()).unwrap();
    k.prelu_backward(
        Saved::Input(x),
        &[slope],
        layout,
        &mut gi,
        Some(Grad::Write(&mut gw)),
    )
    .unwrap();
    gw[0]
}

/// A run piece's slope-gradient sum by its definition, on a tier of `l`
/// lanes: per segment of 28 iterations of four vectors from the piece's
/// start, element `e` goes to lane `e % l` of f32 accumulator `(e / l) % 4`
/// by fused multiply-adds in element order, the accumulators are added
/// `(a0 + a1) + (a2 + a3)`, then the lanes pairwise in f64; the segments'
/// sums are added in f64 in order, from 0.
fn canonical_piece_sum(x: &[f32], g: &[f32], l: usize) -> f64 {
    let mut sum = 0.0f64;
    for (xs, gs) in x.chunks(4 * 28 * l).zip(g.chunks(4 * 28 * l)) {
        // On the stack: the runs kernel test sums many short pieces (under
        // the AVX-512 emulator, allocations were most of its time).
        let mut acc = [[0.0f32; 16]; 4];
        for (e, (&x, &g)) in xs.iter().zip(gs).enumerate() {
            if x <= 0.0 {
                let a = &mut acc[(e / l) % 4][e % l];
                *a = x.mul_add(g, *a);
            }
        }
        let mut wide = [0.0f64; 16];
        for (j, w) in wide.iter_mut().enumerate().take(l) {
            *w = f64::from((acc[0][j] + acc[1][j]) + (acc[2][j] + acc[3][j]));
        }
        let mut live = l;
        while live > 1 {
            live /= 2;
            for j in 0..live {
                wide[j] = wide[2 * j] + wide[2 * j + 1];
            }
        }
        sum += wide[0];
    }
    sum
}

/// Terms that cancel so that a regrouping shows: +-1, +-2^30 and, in
/// pairs, +-2^60, or in one element of 11 `None` (an element with `x > 0`,
/// no term).
fn cancelling_terms(n: usize, seed: u32) -> Vec<Option<f32>> {
    let big = (2.0f32).powi(60);
    let mut seed = seed | 1;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    let mut t: Vec<Option<f32>> = (0..n)
        .map(|e| {
            let r = next();
            let v = (2.0f32).powi(30 * (r % 2) as i32);
            (e % 11 != 5).then_some(if r % 4 < 2 { -v } else { v })
        })
        .collect();
    for _ in 0..n / 6 {
        let (i, j) = (next() as usize % n, next() as usize % n);
        let free = |v: Option<f32>| v.is_some_and(|v| v.abs() < big);
        if i != j && free(t[i]) && free(t[j]) {
            (t[i], t[j]) = (Some(big), Some(-big));
        }
    }
    t
}

/// Saved inputs and gradients whose slope-gradient terms `x * g` are
/// exactly `terms` (`x <= 0`), or `x > 0` where a term is `None`.
fn with_terms(terms: &[Option<f32>]) -> (Vec<f32>, Vec<f32>) {
    let x = terms.iter().map(|t| t.map_or(1.0, |t| -t.abs())).collect();
    let g = terms
        .iter()
        .map(|t| t.map_or(1.0, |t| if t < 0.0 { 1.0 } else { -1.0 }))
        .collect();
    (x, g)
}

/// A short run's slope-gradient sum is the one its definition gives, bit
/// for bit, on every vector tier: element `e` goes to lane `e % L` of f32
/// accumulator `(e / L) % 4` by fused multiply-adds in element order, the
/// accumulators are added `(a0 + a1) + (a2 + a3)`, then the lanes pairwise
/// in f64. Sums of a few f32 lanes in f64 are nearly always exact, so the
/// terms are made to cancel: 2^60 and -2^60 where a term of 1 between them
/// survives in one grouping and not in another (each case caught a
/// regrouping of the accumulators or of the lanes that every other test
/// passed), and random mixes of those.
#[test]
fn short_run_slope_gradient_follows_its_definition() {
    use rectify::Isa;
    let big = (2.0f32).powi(60);
    for isa in tiers_under_test() {
        // The scalar tier sums each run exactly in f64.
        if isa == Isa::Scalar {
            continue;
        }
        let l = isa.lanes();
        let k = Kernels::new(isa).unwrap().serial();
        // `None` marks an element with x > 0 (no term).
        let mut cases: Vec<Vec<Option<f32>>> = Vec::new();
        let placed = |n: usize, at: &[(usize, f32)]| {
            let mut t = vec![Some(0.0f32); n];
            for &(e, v) in at {
                t[e] = Some(v);
            }
            t
        };
        // The accumulators of one lane: (big + 1) + (-big + 1) is 0,
        // ((big + 1) - big) + 1 would be 1.
        cases.push(placed(
            4 * l,
            &[(0, big), (l, 1.0), (2 * l, -big), (3 * l, 1.0)],
        ));
        // The lanes of one accumulator, at every level of the tree: big
        // and -big `d` lanes apart, a 1 half way to each.
        let mut d = 2;
        while d <= l {
            cases.push(placed(
                l,
                &[(0, big), (d / 2, 1.0), (d, -big), (d + d / 2, 1.0)][..if d < l { 4 } else { 2 }],
            ));
            d *= 2;
        }
        // One segment on every tier (28 iterations of four vectors).
        for n in 1..=4 * 28 * 4usize {
            cases.push(cancelling_terms(n, 0x9e37_79b9 ^ n as u32));
        }
        for t in cases {
            let (x, g) = with_terms(&t);
            let want = canonical_piece_sum(&x, &g, l) as f32;
            let got = one_channel_slope_gradient(&k, &x, &g, 0.5);
            assert_eq!(got.to_bits(), want.to_bits(), "{isa}: terms {t:?}");
        }
    }
}

#[test]
fn a_long_channel_keeps_its_digits() {
    let n = 1 << 24;
    let x: Vec<f32> = (0..n).map(|i| -1.0 - (i % 1000) as f32 * 1e-3).collect();
    let g: Vec<f32> = (0..n).map(|i| 0.1 + (i % 7) as f32 * 0.01).collect();
    let exact = exact_sums(&x, &g, 1, 1);
    let s = &exact.s;
    let mut naive = 0.0f32;
    for i in 0..n {
        naive += prelu_slope_term(x[i], g[i]);
    }
    assert!(
        (f64::from(naive) - s[0]).abs() > 1e-3 * s[0].abs(),
        "the naive sum should drift"
    );
    for isa in tiers_under_test() {
        let k = Kernels::new(isa).unwrap();
        let gw = [one_channel_slope_gradient(&k, &x, &g, 0.25)];
        assert_within_bound(&gw, &exact, None, &format!("{isa} 16Mi"));
        // And in NHWC form: 2^20 rows of 16 channels.
        let w16 = [0.25f32; 16];
        let mut gw16 = [0.0f32; 16];
        let mut gi = g.clone();
        k.prelu_backward(
            Saved::Input(&x),
            &w16,
            ChannelLayout::rows(x.len() / 16, 16).unwrap(),
            &mut gi,
            Some(Grad::Write(&mut gw16)),
        )
        .unwrap();
        assert_within_bound(
            &gw16,
            &exact_sums(&x, &g, 16, 1),
            None,
            &format!("{isa} NHWC 2^20 x 16"),
        );
    }
}

/// An `[8, 64, 56, 56]` NCHW batch: layouts that forget a dimension, or
/// describe a channel-last tensor of another size, are refused before
/// anything is written; the right one gives each element its channel's
/// slope.
#[test]
fn layouts_of_another_length_are_refused_and_the_right_one_is_used() {
    let (n, c, h, w) = (8usize, 64usize, 56usize, 56usize);
    let len = n * c * h * w;
    let x: Vec<f32> = finite(len, 41);
    let slopes: Vec<f32> = (0..c).map(|i| 0.01 * (i + 1) as f32).collect();
    let k = Kernels::from_env();
    let wrong = [
        // h * w forgotten: one element per channel and image.
        ChannelLayout::from_shape(&[n, c], 1).unwrap(),
        // h forgotten.
        ChannelLayout::nchw(n, c, 1, w).unwrap(),
        // Channel-last, the batch forgotten.
        ChannelLayout::nhwc(1, h, w, c).unwrap(),
        // Channel-last, one dimension too many.
        ChannelLayout::nhwc(n, h, w * 2, c).unwrap(),
    ];
    for layout in wrong {
        let mut y = vec![7.0f32; len];
        let err = k.prelu_into(&x, &slopes, layout, &mut y).unwrap_err();
        assert_eq!(
            err,
            Error::LayoutMismatch {
                argument: "x",
                len,
                outer: layout.outer(),
                channels: c,
                inner: layout.inner(),
            }
        );
        assert!(
            y.iter().all(|&v| v == 7.0),
            "{layout:?}: refused but wrote y"
        );
        let mut inplace = x.clone();
        assert!(k.prelu(&mut inplace, &slopes, layout).is_err());
        assert_eq!(bits(&inplace), bits(&x), "{layout:?}: refused but wrote x");
        let (mut grad, mut gw) = (vec![1.0f32; len], vec![3.0f32; c]);
        let r = k.prelu_backward(
            Saved::Input(&x),
            &slopes,
            layout,
            &mut grad,
            Some(Grad::Write(&mut gw)),
        );
        assert!(matches!(
            r,
            Err(Error::LayoutMismatch {
                argument: "saved",
                ..
            })
        ));
        assert!(grad.iter().all(|&v| v == 1.0) && gw.iter().all(|&v| v == 3.0));
    }
    let layout = ChannelLayout::nchw(n, c, h, w).unwrap();
    assert_eq!(layout.len(), len);
    let mut y = vec![0.0f32; len];
    k.prelu_into(&x, &slopes, layout, &mut y).unwrap();
    for (i, (&xi, &yi)) in x.iter().zip(&y).enumerate() {
        let want = prelu(xi, slopes[(i / (h * w)) % c]);
        assert_eq!(yi.to_bits(), want.to_bits(), "element {i}");
    }
    // The same values channel-last: the channel varies fastest.
    let nhwc = ChannelLayout::nhwc(n, h, w, c).unwrap();
    k.prelu_into(&x, &slopes, nhwc, &mut y).unwrap();
    for (i, (&xi, &yi)) in x.iter().zip(&y).enumerate() {
        assert_eq!(
            yi.to_bits(),
            prelu(xi, slopes[i % c]).to_bits(),
            "element {i}"
        );
    }
}

#[test]
fn shapes_no_buffer_has_are_refused_by_the_constructors() {
    assert_eq!(
        ChannelLayout::from_shape(&[2, 3, 4], 3),
        Err(Error::AxisOutOfRange {
            argument: "channel_axis",
            axis: 3,
            rank: 3
        })
    );
    assert!(matches!(
        ChannelLayout::from_shape(&[], 0),
        Err(Error::AxisOutOfRange { rank: 0, .. })
    ));
    let zero = ChannelLayout::nchw(8, 0, 56, 56).unwrap_err();
    assert_eq!(
        zero,
        Error::InvalidShape {
            argument: "shape",
            axis: 1,
            value: 0,
            requirement: "the channel dimension must be at least 1",
        }
    );
    assert_eq!(
        zero.to_string(),
        "shape[1] = 0 is invalid: the channel dimension must be at least 1"
    );
    assert!(ChannelLayout::rows(5, 0).is_err());
    let big = usize::MAX / 2 + 1;
    let overflow = ChannelLayout::nhwc(2, big, 1, 1).unwrap_err();
    assert!(
        matches!(overflow, Error::InvalidShape { axis: 1, value, .. } if value == big),
        "{overflow}"
    );
    assert!(
        overflow.to_string().contains("overflows usize"),
        "{overflow}"
    );
    assert!(ChannelLayout::from_shape(&[1 << 40, 1 << 30, 0], 0).is_err());
    assert!(ChannelLayout::nchw(usize::MAX, 1, 1, 1).is_ok());
    assert!(ChannelLayout::nchw(usize::MAX, 1, 1, 2).is_err());
    let msg = Error::AxisOutOfRange {
        argument: "channel_axis",
        axis: 4,
        rank: 4,
    }
    .to_string();
    assert!(
        msg.contains("channel_axis = 4") && msg.contains("below 4"),
        "{msg}"
    );
}

/// Empty tensors (a batch of 0, or 0 pixels) are accepted: nothing to do,
/// and the slope gradient of no elements is 0.
#[test]
fn empty_shapes_are_accepted() {
    let k = Kernels::from_env();
    for layout in [
        ChannelLayout::nchw(0, 3, 4, 4).unwrap(),
        ChannelLayout::nchw(2, 3, 0, 4).unwrap(),
        ChannelLayout::rows(0, 3).unwrap(),
    ] {
        assert!(layout.is_empty() && layout.channels() == 3);
        let w = [0.5f32; 3];
        k.prelu(&mut [], &w, layout).unwrap();
        k.prelu_into(&[], &w, layout, &mut []).unwrap();
        let mut gw = [9.0f32; 3];
        k.prelu_backward(
            Saved::Input(&[]),
            &w,
            layout,
            &mut [],
            Some(Grad::Write(&mut gw)),
        )
        .unwrap();
        assert_eq!(gw, [0.0; 3]);
        assert!(k.prelu(&mut [1.0], &w, layout).is_err());
    }
}

/// `Grad::Write` replaces what `grad_w` held; `Grad::Add` adds the sum to
/// it, in f64 with one rounding. Small integer data: every sum is exact, so
/// both are compared with the scalar formula bit for bit.
#[test]
fn slope_gradient_written_or_added_matches_the_formula() {
    for isa in tiers_under_test() {
        let k = Kernels::new(isa).unwrap().serial();
        for (outer, c, inner) in [
            (3usize, 4usize, 5usize),
            (50, 16, 1),
            (2, 3, 700),
            (1, 100, 9),
        ] {
            let n = outer * c * inner;
            let layout = shape(outer, c, inner);
            let x: Vec<f32> = drawn(n, 3, |_, s| (s % 9) as f32 - 6.0);
            let g: Vec<f32> = drawn(n, 4, |_, s| (s % 7) as f32 - 3.0);
            let w: Vec<f32> = (0..c).map(|i| 0.25 + i as f32).collect();
            let mut sums = vec![0.0f64; c];
            for i in 0..n {
                sums[channel_of(i, c, inner)] += f64::from(prelu_slope_term(x[i], g[i]));
            }
            let prefill: Vec<f32> = (0..c).map(|i| 0.5 + 1000.0 * i as f32).collect();
            let what = format!("{isa} {outer}x{c}x{inner}");
            for add in [false, true] {
                let want: Vec<u32> = (0..c)
                    .map(|i| {
                        let base = if add { f64::from(prefill[i]) } else { 0.0 };
                        ((base + sums[i]) as f32).to_bits()
                    })
                    .collect();
                let mut gw = prefill.clone();
                let mut gi = g.clone();
                let grad_w = if add {
                    Grad::Add(&mut gw)
                } else {
                    Grad::Write(&mut gw)
                };
                k.prelu_backward(Saved::Input(&x), &w, layout, &mut gi, Some(grad_w))
                    .unwrap();
                assert_eq!(bits(&gw), want, "{what}, add {add}");
                let mut gw2 = prefill.clone();
                let mut out = vec![0.0f32; n];
                let grad_w = if add {
                    Grad::Add(&mut gw2)
                } else {
                    Grad::Write(&mut gw2)
                };
                k.prelu_backward_into(Saved::Input(&x), &w, layout, &g, &mut out, Some(grad_w))
                    .unwrap();
                assert_eq!(bits(&gw2), want, "{what}, into, add {add}");
                // The input gradient is written either way.
                assert_eq!(bits(&out), bits(&gi), "{what}");
            }
        }
    }
}

/// Added: `f64(grad_w) + S` rounds once. From the output `y = -1`, `w = 3`
/// give `S = -1 / 3` in f64; `1 - 1/3` rounded once is 0.6666667, where
/// rounding `S` to f32 first would give 0.6666666.
#[test]
fn added_slope_gradient_rounds_once() {
    for isa in tiers_under_test() {
        let k = Kernels::new(isa).unwrap();
        let layout = ChannelLayout::rows(1, 1).unwrap();
        let (y, w) = ([-1.0f32], [3.0f32]);
        let mut gw = [1.0f32];
        let mut g = [1.0f32];
        k.prelu_backward(
            Saved::Output(&y),
            &w,
            layout,
            &mut g,
            Some(Grad::Add(&mut gw)),
        )
        .unwrap();
        let once = (1.0f64 - 1.0 / 3.0) as f32;
        assert_eq!(gw[0].to_bits(), once.to_bits(), "{isa}");
        assert_ne!(once, 1.0 - (1.0f64 / 3.0) as f32);
        let mut g = [1.0f32];
        k.prelu_backward(
            Saved::Output(&y),
            &w,
            layout,
            &mut g,
            Some(Grad::Write(&mut gw)),
        )
        .unwrap();
        assert_eq!(gw[0], (-1.0f64 / 3.0) as f32, "{isa}");
        // A NaN total is the canonical NaN.
        let mut gw = [f32::from_bits(0x7fc0_1234)];
        let mut g = [1.0f32];
        k.prelu_backward(
            Saved::Output(&y),
            &w,
            layout,
            &mut g,
            Some(Grad::Add(&mut gw)),
        )
        .unwrap();
        assert_eq!(gw[0].to_bits(), f32::NAN.to_bits(), "{isa}");
    }
}

/// Random data, added: within the documented bound of `prefill + S`, the
/// same bits for any thread count, and, above the default parallel
/// threshold, the same as a serial run.
#[test]
fn added_slope_gradient_is_within_the_bound_for_any_thread_count() {
    for isa in tiers_under_test() {
        for (outer, c, inner) in [(40usize, 7usize, 300usize), (3000, 16, 1), (1, 3, 20_000)] {
            let n = outer * c * inner;
            let layout = shape(outer, c, inner);
            let (x, g) = (finite(n, 31), finite(n, 32));
            let w = slopes(c, 3);
            let exact = exact_sums(&x, &g, c, inner);
            let what = format!("{isa} {outer}x{c}x{inner}");
            let run = |k: &Kernels| {
                let (mut gi, mut gw) = (g.clone(), vec![3.5f32; c]);
                let grad_w = Some(Grad::Add(&mut gw));
                k.prelu_backward(Saved::Input(&x), &w, layout, &mut gi, grad_w)
                    .unwrap();
                (bits(&gi), gw)
            };
            let (_, gw) = run(&Kernels::new(isa).unwrap().serial());
            assert_within_bound_of(&gw, &exact, None, Some(3.5), &what);
            let run = |k: &Kernels| {
                let (gi, gw) = run(k);
                (gi, bits(&gw))
            };
            same_for_any_thread_count(isa, 64, run, &what);
        }
    }
    // Above the default threshold, on the process-wide engine.
    let (c, inner) = (8usize, 4096usize);
    let outer = rectify::DEFAULT_PARALLEL_THRESHOLD / (c * inner) * 3 + 1;
    let n = outer * c * inner;
    let layout = shape(outer, c, inner);
    let (x, g) = (finite(n, 41), finite(n, 42));
    let w = slopes(c, 6);
    let run = |k: &Kernels| {
        let (mut gi, mut gw) = (g.clone(), vec![2.0f32; c]);
        k.prelu_backward(
            Saved::Input(&x),
            &w,
            layout,
            &mut gi,
            Some(Grad::Add(&mut gw)),
        )
        .unwrap();
        (bits(&gi), bits(&gw))
    };
    let isa = Kernels::from_env().isa();
    assert_eq!(
        run(Kernels::from_env()),
        run(&Kernels::new(isa).unwrap().serial())
    );
    let gw: Vec<f32> = run(Kernels::from_env())
        .1
        .into_iter()
        .map(f32::from_bits)
        .collect();
    let exact = exact_sums(&x, &g, c, inner);
    assert_within_bound_of(&gw, &exact, None, Some(2.0), "above the threshold");
}

#[test]
fn refusals_write_nothing() {
    let k = Kernels::from_env();
    let x = [1.0f32, -2.0, 3.0, -4.0, 5.0, -6.0];
    let mut y = [9.0f32; 6];
    let w = [0.5f32, 0.25];
    let rows3x2 = ChannelLayout::rows(3, 2).unwrap();
    // Layouts of other lengths: shorter, one that divides the buffer, and
    // an empty one.
    for layout in [
        ChannelLayout::rows(1, 4).unwrap(),
        ChannelLayout::rows(2, 2).unwrap(),
        ChannelLayout::from_shape(&[3, 2, 0], 1).unwrap(),
        ChannelLayout::rows(6, 2).unwrap(),
    ] {
        let err = k.prelu_into(&x, &w, layout, &mut y).unwrap_err();
        assert!(
            matches!(
                err,
                Error::LayoutMismatch {
                    argument: "x",
                    len: 6,
                    ..
                }
            ),
            "{err}"
        );
    }
    // Slopes of the wrong count, or not finite.
    let err = k.prelu_into(&x, &[0.5], rows3x2, &mut y).unwrap_err();
    assert!(matches!(
        err,
        Error::LengthMismatch {
            argument: "w",
            expected: 2,
            actual: 1
        }
    ));
    let err = k
        .prelu_into(&x, &[0.5, f32::NAN], rows3x2, &mut y)
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidParameter {
            activation: "prelu",
            parameter: "w",
            ..
        }
    ));
    // The first slope that is not finite is the one named, past the
    // first chunk of 64 slopes too.
    let mut many = vec![0.25f32; 200];
    (many[150], many[170], many[190]) = (f32::NEG_INFINITY, f32::NAN, f32::INFINITY);
    let mut wide = vec![1.0f32; 400];
    let err = k
        .prelu(&mut wide, &many, ChannelLayout::rows(2, 200).unwrap())
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidParameter { value, .. } if value == f32::NEG_INFINITY),
        "{err:?}"
    );
    assert_eq!(wide, vec![1.0f32; 400]);
    let mut xm = x;
    assert!(k.prelu(&mut xm, &[f32::INFINITY, 1.0], rows3x2).is_err());
    assert_eq!(xm, x);
    assert_eq!(y, [9.0; 6]);
    // Backward: grad_w of the wrong length; negative slopes from the output.
    let mut g = [1.0f32; 6];
    let mut gw = [7.0f32; 3];
    let err = k
        .prelu_backward(
            Saved::Input(&x),
            &w,
            rows3x2,
            &mut g,
            Some(Grad::Write(&mut gw)),
        )
        .unwrap_err();
    assert!(matches!(
        err,
        Error::LengthMismatch {
            argument: "grad_w",
            ..
        }
    ));
    let err = k
        .prelu_backward(Saved::Output(&x), &[0.5, -0.1], rows3x2, &mut g, None)
        .unwrap_err();
    assert!(matches!(
        err,
        Error::GradientFromOutputUndefined {
            activation: "prelu",
            ..
        }
    ));
    let mut gi = [5.0f32; 5];
    let err = k
        .prelu_backward_into(Saved::Input(&x), &w, rows3x2, &g, &mut gi, None)
        .unwrap_err();
    assert!(matches!(
        err,
        Error::LengthMismatch {
            argument: "grad",
            ..
        }
    ));
    // Adding refuses the same calls, writing nothing.
    let mut gw2 = [7.0f32; 2];
    for layout in [rows3x2, ChannelLayout::rows(2, 2).unwrap()] {
        let r = k.prelu_backward(
            Saved::Input(&x),
            &w,
            layout,
            &mut g,
            Some(Grad::Add(&mut gw)),
        );
        assert!(r.is_err());
        let r = k.prelu_backward_into(
            Saved::Input(&x),
            &w,
            layout,
            &g,
            &mut gi,
            Some(Grad::Add(&mut gw2)),
        );
        assert!(r.is_err());
    }
    assert_eq!(gw2, [7.0; 2]);
    assert_eq!(g, [1.0; 6]);
    assert_eq!(gw, [7.0; 3]);
    assert_eq!(gi, [5.0; 5]);
    assert!(err.to_string().contains("grad"));
    let msg = Error::LayoutMismatch {
        argument: "x",
        len: 6,
        outer: 1,
        channels: 4,
        inner: 1,
    }
    .to_string();
    assert!(
        msg.contains("x has 6 elements") && msg.contains("[1, 4, 1] has 4"),
        "{msg}"
    );
}

/// `(C, inner, outer)` and spans `(start, n)` of such a buffer.
type SpanCase = (usize, usize, usize, Vec<(usize, usize)>);

/// The span layouts of the kernel tests: every shape (runs long and short,
/// one channel, the periodic row, rows of NHWC and of short runs, one image
/// and several), and spans from the whole buffer to arbitrary ones.
fn span_cases() -> Vec<SpanCase> {
    let mut cases = Vec::new();
    let mut r = drawn(100_000, 77, |_, s| s as f32)
        .into_iter()
        .map(|v| v as usize);
    for c in [1usize, 2, 3, 4, 5, 16, 17, 100] {
        for inner in [1usize, 2, 3, 4, 7, 8, 15, 16, 17, 33, 64, 65, 300] {
            for outer in [1usize, 2, 5, 40] {
                let len = c * inner * outer;
                if len > 30_000 {
                    continue;
                }
                let mut spans = vec![(0, len), (0, 0), (len, 0)];
                for _ in 0..4 {
                    let start = r.next().unwrap() % (len + 1);
                    spans.push((start, r.next().unwrap() % (len - start + 1)));
                }
                cases.push((c, inner, outer, spans));
            }
        }
    }
    cases
}

/// The kernels' spans on every tier: forward and input gradient bit for bit
/// against the formulas, in place and into, writing nothing outside the
/// span; each sum within the bound of the span's exact per-channel sums, the
/// same at other addresses, and the input gradient the same without sums.
#[test]
fn kernel_spans_match_the_formulas_on_every_tier() {
    for isa in tiers_under_test() {
        let k = KernelSet::new(isa).unwrap();
        for (c, inner, outer, spans) in span_cases() {
            let len = c * inner * outer;
            let w = slopes(c, (len + 1) as u32);
            let (x, g) = (data(len, len as u32), data(len, 3 * len as u32 + 1));
            let (fx, fg) = (finite(len, 5), finite(len, 6));
            let prelu_of = Prelu { w: &w, inner, len };
            let ch = |i: usize| (i / inner) % c;
            for (start, n) in spans {
                let what = format!("{isa} {outer}x{c}x{inner} span {start}+{n}");
                let (xs, gs, span) = (&x[start..start + n], &g[start..start + n], start..start + n);
                let want: Vec<u32> = span
                    .clone()
                    .map(|i| prelu(x[i], w[ch(i)]).to_bits())
                    .collect();
                let mut y = vec![0.0f32; n];
                k.prelu_forward(prelu_of, start, Some(xs), &mut y);
                assert_eq!(bits(&y), want, "forward into, {what}");
                let mut inplace = x.clone();
                k.prelu_forward(prelu_of, start, None, &mut inplace[span.clone()]);
                assert_eq!(
                    bits(&inplace[span.clone()]),
                    want,
                    "forward in place, {what}"
                );
                assert_eq!(bits(&inplace[..start]), bits(&x[..start]), "before, {what}");
                assert_eq!(
                    bits(&inplace[start + n..]),
                    bits(&x[start + n..]),
                    "after, {what}"
                );
                let want: Vec<u32> = span
                    .clone()
                    .map(|i| leaky_relu_grad(x[i], g[i], w[ch(i)]).to_bits())
                    .collect();
                let mut d = gs.to_vec();
                k.prelu_backward(prelu_of, start, xs, None, &mut d, None);
                assert_eq!(bits(&d), want, "backward in place, {what}");
                // The sums, of finite values: within the bound.
                let touched = if n == 0 {
                    0
                } else {
                    ((start % inner + n).div_ceil(inner)).min(c)
                };
                let (mut exact, mut size) = (vec![0.0f64; touched], vec![0.0f64; touched]);
                for i in span.clone() {
                    if fx[i] <= 0.0 {
                        let (slot, t) = (
                            (ch(i) + c - ch(start)) % c,
                            f64::from(fx[i]) * f64::from(fg[i]),
                        );
                        (exact[slot], size[slot]) = (exact[slot] + t, size[slot] + t.abs());
                    }
                }
                let (mut d, mut sums) = (vec![0.0f32; n], vec![f64::NAN; touched]);
                k.prelu_backward(
                    prelu_of,
                    start,
                    &fx[span.clone()],
                    Some(&fg[span.clone()]),
                    &mut d,
                    Some(SlopeGrad::Sums(&mut sums)),
                );
                let want: Vec<u32> = span
                    .clone()
                    .map(|i| leaky_relu_grad(fx[i], fg[i], w[ch(i)]).to_bits())
                    .collect();
                assert_eq!(bits(&d), want, "backward into with sums, {what}");
                for (slot, ((&s, &e), &a)) in sums.iter().zip(&exact).zip(&size).enumerate() {
                    assert!(
                        (s - e).abs() <= a * 2f64.powi(-18),
                        "sum {slot}: {s} for {e}, {what}"
                    );
                }
                // Elsewhere in memory, in place: the same bits.
                let off = 1 + (start + n) % 15;
                let mut v2 = vec![0.0f32; n + off];
                v2[off..].copy_from_slice(&fx[span.clone()]);
                let mut d2 = vec![0.0f32; n + 3];
                d2[3..].copy_from_slice(&fg[span.clone()]);
                let mut sums2 = vec![f64::NAN; touched];
                k.prelu_backward(
                    prelu_of,
                    start,
                    &v2[off..],
                    None,
                    &mut d2[3..],
                    Some(SlopeGrad::Sums(&mut sums2)),
                );
                let sum_bits = |s: &[f64]| s.iter().map(|s| s.to_bits()).collect::<Vec<_>>();
                assert_eq!(sum_bits(&sums2), sum_bits(&sums), "other addresses, {what}");
                assert_eq!(bits(&d2[3..]), bits(&d), "other addresses, {what}");
            }
        }
    }
}

/// A buffer cut into spans at run ends gives each channel the sum of the
/// whole buffer's call, bit for bit, on every tier: in one image every run
/// is whole in its span (how the engine splits one image for threads).
#[test]
fn one_image_cut_at_run_ends_keeps_every_sum() {
    for isa in tiers_under_test() {
        let k = KernelSet::new(isa).unwrap();
        for (c, inner) in [(7usize, 1000usize), (1000, 4), (300, 17), (64, 64), (5, 3)] {
            let len = c * inner;
            let w = slopes(c, 9);
            let (x, g) = (finite(len, 11), finite(len, 12));
            let prelu_of = Prelu { w: &w, inner, len };
            let (mut d, mut whole) = (g.clone(), vec![0.0f64; c]);
            k.prelu_backward(
                prelu_of,
                0,
                &x,
                None,
                &mut d,
                Some(SlopeGrad::Sums(&mut whole)),
            );
            for runs in [1usize, 2, 3, 64] {
                let (mut cut, mut d2) = (vec![0.0f64; c], g.clone());
                for first in (0..c).step_by(runs) {
                    let (span, slots) = (
                        first * inner..(first + runs).min(c) * inner,
                        first..(first + runs).min(c),
                    );
                    k.prelu_backward(
                        prelu_of,
                        span.start,
                        &x[span.clone()],
                        None,
                        &mut d2[span],
                        Some(SlopeGrad::Sums(&mut cut[slots])),
                    );
                }
                let sum_bits = |s: &[f64]| s.iter().map(|s| s.to_bits()).collect::<Vec<_>>();
                assert_eq!(
                    sum_bits(&cut),
                    sum_bits(&whole),
                    "{isa} {c}x{inner} in spans of {runs} runs"
                );
                assert_eq!(bits(&d2), bits(&d));
            }
        }
    }
}

/// A whole buffer's slope gradient straight from the backward
/// (`SlopeGrad::GradW`) is, bit for bit, what `prelu_grad_w` makes of the
/// sums, written or added, of the input or the output, on every tier and
/// every kernel shape (one group of rows down the columns finishes its
/// sums in place; the others go through f64 sums).
#[test]
fn grad_w_of_a_whole_buffer_is_its_sums_finished() {
    let shapes = [
        (16usize, 1usize, 8usize),
        (8192 / 8, 1, 8),
        (300, 1, 40),
        (1000, 4, 1),
        (64, 64, 3),
        (7, 1000, 2),
        (1, 333, 3),
        (5, 3, 0),
    ];
    for isa in tiers_under_test() {
        let k = KernelSet::new(isa).unwrap();
        for (c, inner, outer) in shapes {
            let len = c * inner * outer;
            let w = slopes(c, 3);
            let (x, g) = (data(len, 31), data(len, 32));
            let prelu = Prelu { w: &w, inner, len };
            // An empty buffer meets no channel; its sums are +0.
            let (mut d, mut sums) = (g.clone(), vec![0.0f64; c]);
            let met = if len == 0 {
                &mut sums[..0]
            } else {
                &mut sums[..]
            };
            k.prelu_backward(prelu, 0, &x, None, &mut d, Some(SlopeGrad::Sums(met)));
            for (from_output, add) in [(false, false), (true, false), (false, true), (true, true)] {
                let prior = data(c, 33);
                let mut want = prior.clone();
                let out = |grad_w| GradW {
                    grad_w,
                    from_output,
                    add,
                };
                k.prelu_grad_w(&sums, &w, out(&mut want));
                let (mut got, mut d2) = (prior.clone(), g.clone());
                let whole = Some(SlopeGrad::GradW(out(&mut got)));
                k.prelu_backward(prelu, 0, &x, None, &mut d2, whole);
                let what = format!("{isa} [{outer}, {c}, {inner}] output {from_output} add {add}");
                assert_eq!(bits(&got), bits(&want), "{what}");
                assert_eq!(bits(&d2), bits(&d), "{what}");
                for ((&gw, &s), (&p, &w)) in got.iter().zip(&sums).zip(prior.iter().zip(&w)) {
                    let s = if from_output { s / f64::from(w) } else { s };
                    let s = if add { f64::from(p) + s } else { s };
                    let expect = if s.is_nan() { f32::NAN } else { s as f32 };
                    assert_eq!(gw.to_bits(), expect.to_bits(), "{what}: one rounding");
                }
            }
        }
    }
}

/// On the scalar tier each sum is `+0 + t0 + t1 + ...` in f64, `t` the
/// rounded products in element order; one row of runs shorter than a vector
/// gives those bits on every tier.
#[test]
fn scalar_sums_and_one_row_of_short_runs_follow_the_element_order() {
    for (c, inner) in [(1000usize, 1usize), (300, 3), (129, 4), (77, 7)] {
        let len = c * inner;
        let (x, g, w) = (data(len, 21), data(len, 22), slopes(c, 5));
        let mut want = vec![0.0f64; c];
        for i in 0..len {
            want[i / inner] += f64::from(prelu_slope_term(x[i], g[i]));
        }
        let want: Vec<u64> = want.iter().map(|s| s.to_bits()).collect();
        for isa in tiers_under_test() {
            if isa != Isa::Scalar && inner >= isa.lanes() {
                continue;
            }
            let k = KernelSet::new(isa).unwrap();
            let (mut d, mut sums) = (g.clone(), vec![f64::NAN; c]);
            k.prelu_backward(
                Prelu { w: &w, inner, len },
                0,
                &x,
                None,
                &mut d,
                Some(SlopeGrad::Sums(&mut sums)),
            );
            let got: Vec<u64> = sums.iter().map(|s| s.to_bits()).collect();
            // NaN sums: any NaN.
            for (slot, (got, want)) in got.iter().zip(&want).enumerate() {
                let nan = f64::from_bits(*want).is_nan() && f64::from_bits(*got).is_nan();
                assert!(nan || got == want, "{isa} {c}x{inner} channel {slot}");
            }
        }
    }
}
