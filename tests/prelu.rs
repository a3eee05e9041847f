//! PReLU on every tier: forward and input gradient bit for bit against the
//! scalar formulas for every small `[outer, C, inner]` layout (both kernel
//! shapes), at odd offsets, in place and into; the slope gradient within its
//! documented bound of an f64 sum, bit-identical for any thread count; the
//! gradient from the output; every refusal leaves the buffers untouched.

#[path = "common/contract.rs"]
mod contract;

use contract::tiers_under_test;

use contract::{assert_within_bound, exact_sums};
use rectify::reference::{leaky_relu_grad, prelu, prelu_slope_term};
use rectify::{ChannelLayout, Error, Kernels, Saved};

fn data(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed | 1;
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
    (0..n)
        .map(|i| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            match i % 7 {
                0 => specials[(s % specials.len() as u32) as usize],
                1 => f32::from_bits(s),
                _ => (s as f32 / u32::MAX as f32) * 8.0 - 4.0,
            }
        })
        .collect()
}

/// Slopes for `c` channels: for a third of the seeds all in `(0, 1]` (where
/// learned slopes live), otherwise a mix with zero, negative, 1 and above 1.
fn slopes(c: usize, seed: u32) -> Vec<f32> {
    let unit = seed.is_multiple_of(3);
    let mut s = seed | 1;
    (0..c)
        .map(|i| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
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
        .collect()
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|f| f.to_bits()).collect()
}

/// Runs a forward kernel over `base[start..start + n]`, into a fresh buffer
/// and in place, and checks both results against `want` and that the in
/// place run wrote nothing outside its span.
fn check_forward_kernel(
    base: &[f32],
    start: usize,
    n: usize,
    want: &[u32],
    what: &str,
    run: impl Fn(Option<&[f32]>, &mut [f32]),
) {
    let mut y = vec![0.0f32; n];
    run(Some(&base[start..start + n]), &mut y);
    assert_eq!(bits(&y), want, "into, {what}");
    let mut inplace = base.to_vec();
    run(None, &mut inplace[start..start + n]);
    assert_eq!(bits(&inplace[start..start + n]), want, "in place, {what}");
    assert_eq!(
        bits(&inplace[..start]),
        bits(&base[..start]),
        "before, {what}"
    );
    assert_eq!(
        bits(&inplace[start + n..]),
        bits(&base[start + n..]),
        "after, {what}"
    );
}

fn channel_of(i: usize, c: usize, inner: usize) -> usize {
    (i / inner) % c
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
            let layout = ChannelLayout::new(c, inner);
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
                k.prelu_backward(Saved::Input(x), &w, layout, &mut gi, Some(&mut gw))
                    .unwrap();
                let got = bits(&gi);
                assert_eq!(
                    got, want_g,
                    "{isa} backward {outer}x{c}x{inner} offset {offset}"
                );
                assert_within_bound(&gw, &exact, None, &format!("{isa} {outer}x{c}x{inner}"));
                let mut gi2 = vec![0.0f32; n];
                let mut gw2 = vec![0.0f32; c];
                k.prelu_backward_into(Saved::Input(x), &w, layout, g, &mut gi2, Some(&mut gw2))
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

/// The pattern forward kernel itself, on short periods so that a buffer
/// wraps many times: every row length 1..=40 with periods from 16 (the
/// shortest, one AVX-512 vector) up, every length 0..=257 at start offsets
/// 0..16 and every pattern offset, in place and into, against the formula.
/// The pattern's placement is varied too (it is placed for one buffer and
/// may run over another).
#[test]
fn pattern_forward_kernel_wraps_at_any_phase() {
    use rectify_kernels::{KernelSet, PreluPattern};
    for isa in tiers_under_test() {
        let k = KernelSet::new(isa).unwrap();
        for r in 1..=40usize {
            let row = slopes(r, r as u32);
            let base = data(257 + 16, r as u32);
            for (min_len, max_len) in [(16, 16), (17, 64), (40, 1 << 20)] {
                let pattern = PreluPattern::new(&row, min_len, max_len, base[r..].as_ptr());
                let p = pattern.period();
                assert!(
                    p >= min_len && p.is_multiple_of(r),
                    "period {p} for row {r}"
                );
                for n in 0..=257usize {
                    for start in 0..16usize {
                        let offset = (n * 7 + start * 3 + r) % p;
                        let x = &base[start..start + n];
                        let want: Vec<u32> = (0..n)
                            .map(|i| prelu(x[i], row[(offset + i) % p % r]).to_bits())
                            .collect();
                        let what = format!("{isa}: row {r} period {p} n {n} start {start}");
                        check_forward_kernel(&base, start, n, &want, &what, |src, dst| {
                            k.prelu_pattern_forward(src, dst, &pattern, offset)
                        });
                    }
                }
            }
        }
    }
}

/// The runs forward kernel itself (one aligned walk; vectors that straddle
/// runs take a slope per lane): run lengths from 1 (several runs in one
/// vector) to past two AVX-512 vectors, every length 0..=257 at start
/// offsets 0..16, starting in any channel and anywhere in its run, in place
/// and into, against the formula. Runs shorter than a vector also on 37
/// and 70 channels: their slopes load whole from `w` while a vector's
/// channels are within it, and the vectors near the last channel (and
/// those that wrap past it) take another way.
#[test]
fn runs_forward_kernel_matches_the_formula() {
    use rectify_kernels::{KernelSet, PreluRuns};
    for isa in tiers_under_test() {
        let k = KernelSet::new(isa).unwrap();
        // Past 4 vectors (64 on AVX-512) runs take the block walk, the run's
        // end inside a block or at its edge.
        for inner in (1..=20usize).chain([31, 32, 33, 47, 63, 64, 65, 96, 100]) {
            let many: &[usize] = if inner < 16 { &[37, 70] } else { &[] };
            for &c_len in [1usize, 3].iter().chain(many) {
                let w = slopes(c_len, (inner * 7 + c_len) as u32);
                let base = data(257 + 16, inner as u32);
                for n in 0..=257usize {
                    for start in 0..16usize {
                        let channel = (n + start) % c_len;
                        let offset = (n * 5 + start * 3) % inner;
                        let runs = PreluRuns {
                            w: &w,
                            channel,
                            inner,
                            offset,
                        };
                        let x = &base[start..start + n];
                        let want: Vec<u32> = (0..n)
                            .map(|i| {
                                let c = (channel + (offset + i) / inner) % c_len;
                                prelu(x[i], w[c]).to_bits()
                            })
                            .collect();
                        let what = format!("{isa}: inner {inner} C {c_len} n {n} start {start}");
                        check_forward_kernel(&base, start, n, &want, &what, |src, dst| {
                            k.prelu_runs_forward(src, dst, runs)
                        });
                    }
                }
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

/// The rows forward kernel itself (a `[rows, C]` matrix's slopes read as
/// they are, the vector that straddles two rows taking its slopes from
/// both ends of the row): rows from one vector long to past several,
/// every length 0..=257 and past three rows, starts 0..16, starting
/// anywhere in a row, in place and into, against the formula; reads of
/// the slopes past the row would show as wrong slopes (the row sits in a
/// larger buffer of other values).
#[test]
fn rows_forward_kernel_matches_the_formula() {
    use rectify_kernels::KernelSet;
    for isa in tiers_under_test() {
        let k = KernelSet::new(isa).unwrap();
        let l = isa.lanes();
        for p in [l, l + 1, 2 * l - 1, 2 * l, 3 * l + 5, 64, 100, 1000] {
            // The row between slopes of 100, which no row has.
            let row = slopes(p, p as u32 + 11);
            let mut fenced = vec![100.0f32; p + 32];
            fenced[16..16 + p].copy_from_slice(&row);
            let w = &fenced[16..16 + p];
            let longest = (3 * p + 20).max(257);
            let base = data(longest + 16, p as u32);
            for n in (0..=257usize).chain([p, 2 * p + 3, longest]) {
                for start in 0..16usize {
                    let offset = (n * 7 + start * 5) % p;
                    let x = &base[start..start + n];
                    let want: Vec<u32> = (0..n)
                        .map(|i| prelu(x[i], row[(offset + i) % p]).to_bits())
                        .collect();
                    let what = format!("{isa}: row {p} n {n} start {start} offset {offset}");
                    check_forward_kernel(&base, start, n, &want, &what, |src, dst| {
                        k.prelu_rows_forward(src, dst, w, offset)
                    });
                }
            }
        }
    }
}

/// The periodic forward kernel itself (the slope row repeated to 3 or 4
/// vectors, held in registers): every row that takes the shape on the
/// tier, lengths 0..=257 and past several periods, starts 0..16, every
/// phase, in place and into, against the formula.
#[test]
fn periodic_forward_kernel_matches_the_formula() {
    use rectify_kernels::KernelSet;
    for isa in tiers_under_test() {
        let k = KernelSet::new(isa).unwrap();
        for r in 1..=64usize {
            let Some(q) = k.prelu_periodic_classes(r) else {
                continue;
            };
            let row = slopes(r, r as u32 + 5);
            let periodic: Vec<f32> = (0..q).map(|i| row[i % r]).collect();
            let base = data(700 + 16, r as u32);
            for n in (0..=257usize).chain([300, 511, 700]) {
                for start in 0..16usize {
                    let offset = (n * 7 + start * 5 + r) % q;
                    let x = &base[start..start + n];
                    let want: Vec<u32> = (0..n)
                        .map(|i| prelu(x[i], periodic[(offset + i) % q]).to_bits())
                        .collect();
                    let what = format!("{isa}: row {r} q {q} n {n} start {start} offset {offset}");
                    check_forward_kernel(&base, start, n, &want, &what, |src, dst| {
                        k.prelu_periodic_forward(src, dst, &periodic, offset)
                    });
                }
            }
        }
    }
}

/// The periodic backward kernel (NHWC with few channels: the slope row
/// repeats within 4 vectors) against the scalar tier's, bit for bit, input
/// gradient and slope-gradient partials alike: the class sums are defined
/// in element order, so every tier gives the same bits for the same period.
/// Every row that takes the shape on the tier, lengths 0..=257 and three
/// groups and more, unaligned starts, in place and into, with and without
/// the sums.
#[test]
fn periodic_backward_kernel_matches_the_scalar_one() {
    use rectify_kernels::{Isa, KernelSet, PRELU_PATTERN_ROWS};
    let scalar = KernelSet::new(Isa::Scalar).unwrap();
    for isa in tiers_under_test() {
        let k = KernelSet::new(isa).unwrap();
        for r in 1..=64usize {
            let Some(q) = k.prelu_periodic_classes(r) else {
                continue;
            };
            let c = r.min(7); // channels: inner = r / c where it divides
            let inner = if r % c == 0 { r / c } else { 1 };
            let c = r / inner;
            let w = slopes(c, r as u32);
            let channel: Vec<u32> = (0..q).map(|i| ((i % r) / inner) as u32).collect();
            let row: Vec<f32> = channel.iter().map(|&ch| w[ch as usize]).collect();
            let group = PRELU_PATTERN_ROWS * q;
            let lens = (0..=257usize).chain([group - 1, group, 3 * group + 5]);
            for n in lens {
                let start = n % 5;
                // Odd lengths with the special values, even ones finite (so
                // that the sums are not all NaN).
                let tame = |v: Vec<f32>| -> Vec<f32> {
                    if n % 2 == 1 {
                        return v;
                    }
                    v.into_iter()
                        .map(|v| if v.abs() < 1e3 { v } else { -0.25 })
                        .collect()
                };
                let x = &tame(data(n + 8, (n + r) as u32))[start..start + n];
                let g = &tame(data(n + 8, (n * 3 + r) as u32))[start..start + n];
                let groups = n.div_ceil(group);
                let run = |set: &KernelSet, into: bool, channel: Option<&[u32]>| {
                    let mut parts = vec![0.0f64; groups * c];
                    let mut buf = vec![0.0f32; n + 8];
                    let d = &mut buf[3..3 + n];
                    if into {
                        set.prelu_periodic_backward(x, Some(g), d, &row, channel, Some(&mut parts));
                    } else {
                        d.copy_from_slice(g);
                        set.prelu_periodic_backward(x, None, d, &row, channel, Some(&mut parts));
                    }
                    // Which NaN a sum passes on is the compiler's choice
                    // (addition commutes): NaN sums compare as one value.
                    let p: Vec<u64> = parts
                        .iter()
                        .map(|s| if s.is_nan() { u64::MAX } else { s.to_bits() })
                        .collect();
                    (bits(d), p)
                };
                let want = run(&scalar, true, Some(&channel));
                assert_eq!(
                    run(&k, true, Some(&channel)),
                    want,
                    "{isa} into: row {r} q {q} n {n}"
                );
                assert_eq!(
                    run(&k, false, Some(&channel)),
                    want,
                    "{isa} in place: row {r} q {q} n {n}"
                );
                if inner == 1 {
                    // Class k is channel k % c: the same bits without the table.
                    assert_eq!(
                        run(&scalar, true, None),
                        want,
                        "scalar cyclic: row {r} n {n}"
                    );
                    assert_eq!(
                        run(&k, true, None),
                        want,
                        "{isa} cyclic into: row {r} n {n}"
                    );
                    assert_eq!(
                        run(&k, false, None),
                        want,
                        "{isa} cyclic in place: row {r} n {n}"
                    );
                }
                let mut d = g.to_vec();
                k.prelu_periodic_backward(x, None, &mut d, &row, Some(&channel), None);
                assert_eq!(bits(&d), want.0, "{isa} without sums: row {r} n {n}");
            }
        }
    }
}

/// Where the period may grow, it becomes a multiple of 1024 elements (4 KiB)
/// or else of 16, and the pattern starts 2 KiB past the buffer modulo 4 KiB:
/// the placement that keeps slope loads aligned and clear of 4K aliasing.
#[test]
fn forward_pattern_is_placed_for_its_buffer() {
    use rectify_kernels::PreluPattern;
    let x = vec![0.0f32; 4096];
    for (row, max_len, want) in [
        (16usize, 4096usize, 1024usize),
        (24, 4096, 3072),
        (24, 2048, 1056),
        (1000, 4096, 2000),
        (3000, 4096, 3000),
        (7, 7, 1029),
    ] {
        let slopes: Vec<f32> = (0..row).map(|i| i as f32).collect();
        for at in [0usize, 1, 4, 12, 100] {
            let dst = x[at..].as_ptr();
            let p = PreluPattern::new(&slopes, 1024, max_len, dst);
            assert_eq!(p.period(), want, "row {row} max {max_len}");
            let s = p.slopes();
            assert_eq!(s.len(), want + PreluPattern::PAD);
            assert!((0..s.len()).all(|i| s[i] == slopes[i % row]));
            assert_eq!(
                (s.as_ptr() as usize).wrapping_sub(dst as usize) % 4096,
                2048
            );
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
            let layout = ChannelLayout::new(c, inner);
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
            k.prelu_backward(Saved::Input(&x), &w, layout, &mut from_x, Some(&mut gw_x))
                .unwrap();
            k.prelu_backward(Saved::Output(&y), &w, layout, &mut from_y, Some(&mut gw_y))
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
        k.prelu_backward(Saved::Output(&y), &w, ChannelLayout::nhwc(2), &mut g, None)
            .unwrap();
        assert_eq!(g, [0.0, 1.0, 1.0, 1.0]);
        let mut gw = [0.0f32; 2];
        let err = k
            .prelu_backward(
                Saved::Output(&y),
                &w,
                ChannelLayout::nhwc(2),
                &mut g,
                Some(&mut gw),
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
        let serial = Kernels::new(isa).unwrap().serial();
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
            let layout = ChannelLayout::new(c, inner);
            let w = slopes(c, 3);
            let (x, g) = (data(n, 21), data(n, 22));
            let run = |k: &Kernels| {
                let mut y = x.clone();
                k.prelu(&mut y, &w, layout).unwrap();
                let mut gi = g.clone();
                let mut gw = vec![0.0f32; c];
                k.prelu_backward(Saved::Input(&x), &w, layout, &mut gi, Some(&mut gw))
                    .unwrap();
                (bits(&y), bits(&gi), bits(&gw))
            };
            let want = run(&serial);
            for threads in [1usize, 2, 3, 4] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let k = Kernels::new(isa).unwrap().with_parallel_threshold(256);
                assert_eq!(
                    pool.install(|| run(&k)),
                    want,
                    "{isa} {outer}x{c}x{inner} on {threads} threads"
                );
            }
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
        let layout = ChannelLayout::nhwc(c);
        for (saved, w, from_output) in [
            (Saved::Input(&x), &w, false),
            (Saved::Output(&y), &positive, true),
        ] {
            let want = want(saved.values(), w, from_output);
            let mut gw = vec![f32::NAN; c];
            let mut out = vec![0.0f32; c];
            k.prelu_backward_into(saved, w, layout, &g, &mut out, Some(&mut gw))
                .unwrap();
            assert_eq!(bits(&gw), want, "{isa} into, from output {from_output}");
            let (mut gi, mut gw) = (g.clone(), vec![f32::NAN; c]);
            k.prelu_backward(saved, w, layout, &mut gi, Some(&mut gw))
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
            let layout = ChannelLayout::new(c, inner);
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
                    Some(&mut gw),
                )
                .unwrap();
                let mut gw2 = vec![0.0f32; c];
                k.prelu_backward(
                    Saved::Input(&xs[xo..xo + n]),
                    &w,
                    layout,
                    &mut gs[go..go + n],
                    Some(&mut gw2),
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
            let layout = ChannelLayout::new(c, inner);
            let w = slopes(c, n as u32);
            let x = data(n, 3 * n as u32 + 1);
            let g = data(n, 5 * n as u32 + 2);
            let mut want = g.clone();
            let mut want_w = vec![0.0f32; c];
            k.prelu_backward(Saved::Input(&x), &w, layout, &mut want, Some(&mut want_w))
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
                            Some(&mut gw),
                        )
                        .unwrap();
                    } else {
                        out.copy_from_slice(&g);
                        k.prelu_backward(Saved::Input(&head[..n]), &w, layout, out, Some(&mut gw))
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
            let layout = ChannelLayout::new(c, inner);
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
    let layout = ChannelLayout::nchw(1, x.len());
    k.prelu_backward(Saved::Input(x), &[slope], layout, &mut gi, Some(&mut gw))
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

/// The runs backward kernel itself on every vector tier: the input
/// gradient against the formula and each piece's sum against its
/// definition ([`canonical_piece_sum`]), bit for bit, per piece and added
/// to channel sums that start non-zero. Runs from shorter than a vector
/// (a vector holds several) to a segment and past it, spans of whole runs
/// (where one aligned walk crosses the runs, a vector that straddles two
/// giving its lanes to both) and spans that start or end inside a run,
/// pieces cut inside runs, the buffers at 16 offsets, in place and into,
/// and the gradient alone without sums.
#[test]
fn runs_backward_kernel_sums_follow_their_definition() {
    use rectify::Isa;
    use rectify_kernels::{KernelSet, PieceSums, PreluRuns};
    for isa in tiers_under_test() {
        // The scalar tier sums each piece exactly in f64.
        if isa == Isa::Scalar {
            continue;
        }
        let (k, l) = (KernelSet::new(isa).unwrap(), isa.lanes());
        let segment = 4 * 28 * l;
        let inners = (1..=20usize)
            .chain([31, 32, 33, 47, 49, 63, 64, 65, 100, 196])
            .chain([segment - 1, segment, segment + 1]);
        for inner in inners {
            // Three channels or six: the runs' sums go to their channels
            // wrapping often or seldom.
            let c_len = if inner % 2 == 0 { 3 } else { 6 };
            let w = slopes(c_len, inner as u32 + 3);
            // Whole runs (one to three, and a run less), a span ending
            // mid-run; for short runs every length up to 257.
            let mut lengths = vec![inner, 2 * inner, 3 * inner, 3 * inner - 1, inner / 2 + 1];
            if inner < 64 {
                lengths.extend(0..=257);
            }
            let longest = lengths.iter().copied().max().unwrap();
            let (xb, gb) = with_terms(&cancelling_terms(longest + 16, inner as u32));
            for &n in &lengths {
                for start in 0..16usize {
                    // Pieces of whole runs, or cut every 8 elements (the
                    // span then starting 8 elements into a run).
                    for (piece, offset) in [(1 << 14, 0), (8, 8 * ((n + start) % 2))] {
                        if offset >= inner {
                            continue;
                        }
                        let channel = (n + start) % c_len;
                        let runs = PreluRuns {
                            w: &w,
                            channel,
                            inner,
                            offset,
                        };
                        let (x, g) = (&xb[start..start + n], &gb[start..start + n]);
                        // The pieces, their channels and their sums.
                        let (mut pieces, mut done, mut off, mut c) = (vec![], 0, offset, channel);
                        while done < n {
                            let len = (inner - off).min(piece).min(n - done);
                            let sum =
                                canonical_piece_sum(&x[done..done + len], &g[done..done + len], l);
                            pieces.push((c, sum));
                            (done, off) = (done + len, off + len);
                            if off == inner {
                                (off, c) = (0, (c + 1) % c_len);
                            }
                        }
                        let want_grad: Vec<u32> = (0..n)
                            .map(|i| {
                                let c = (channel + (offset + i) / inner) % c_len;
                                leaky_relu_grad(x[i], g[i], w[c]).to_bits()
                            })
                            .collect();
                        let what =
                            format!("{isa}: inner {inner} n {n} start {start} piece {piece}");
                        // Per piece, into.
                        let mut out = vec![0.0f32; n];
                        let mut sums = vec![f64::NAN; pieces.len()];
                        let per_piece = Some(PieceSums::PerPiece(&mut sums));
                        k.prelu_runs_backward(x, Some(g), &mut out, runs, piece, per_piece);
                        assert_eq!(bits(&out), want_grad, "grad into, {what}");
                        // No sums: the gradient alone.
                        let mut alone = vec![0.0f32; n];
                        k.prelu_runs_backward(x, Some(g), &mut alone, runs, piece, None);
                        assert_eq!(bits(&alone), want_grad, "grad without sums, {what}");
                        let want: Vec<u64> = pieces.iter().map(|p| p.1.to_bits()).collect();
                        let got: Vec<u64> = sums.iter().map(|s| s.to_bits()).collect();
                        assert_eq!(got, want, "piece sums, {what}");
                        // Per channel, in place, onto sums that start at
                        // 0.5, 1, 1.5.
                        let mut channel_sums: Vec<f64> =
                            (0..c_len).map(|c| 0.5 * (c + 1) as f64).collect();
                        let mut want = channel_sums.clone();
                        for &(c, s) in &pieces {
                            want[c] += s;
                        }
                        let mut inplace = gb.clone();
                        let grad = &mut inplace[start..start + n];
                        let per_channel = Some(PieceSums::PerChannel(&mut channel_sums));
                        k.prelu_runs_backward(x, None, grad, runs, piece, per_channel);
                        assert_eq!(bits(grad), want_grad, "grad in place, {what}");
                        let want: Vec<u64> = want.iter().map(|s| s.to_bits()).collect();
                        let got: Vec<u64> = channel_sums.iter().map(|s| s.to_bits()).collect();
                        assert_eq!(got, want, "channel sums, {what}");
                        assert_eq!(bits(&inplace[..start]), bits(&gb[..start]), "{what}");
                        assert_eq!(
                            bits(&inplace[start + n..]),
                            bits(&gb[start + n..]),
                            "{what}"
                        );
                    }
                }
            }
        }
    }
}

/// The one-image backward kernel (`[1, C, inner]`, runs of 1 to 16) on
/// every tier: the gradient against the formula, and each channel's sum
/// bit for bit its definition, `+0 + t_0 + t_1 + ...` in f64 in element
/// order; into, in place (nothing outside the span written) and without
/// sums; 1 to 70 channels (a vector's channels near `w`'s end), the buffer
/// at 16 start offsets, on terms that cancel (2^60, -2^60 and 1: any other
/// order loses or keeps the 1) and on special values (NaN sums compared as
/// NaN).
#[test]
fn one_image_backward_kernel_sums_follow_their_definition() {
    use rectify_kernels::{KernelSet, PRELU_ONE_IMAGE_MAX_INNER};
    let same = |a: f64, b: f64| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
    for isa in tiers_under_test() {
        let k = KernelSet::new(isa).unwrap();
        for inner in 1..=PRELU_ONE_IMAGE_MAX_INNER {
            for c_len in [1usize, 2, 5, 37, 70] {
                let n = c_len * inner;
                let w = slopes(c_len, (inner * 3 + c_len) as u32);
                let cancelling = with_terms(&cancelling_terms(n + 16, inner as u32));
                let special = (data(n + 16, inner as u32), data(n + 16, 7 + c_len as u32));
                for (xb, gb) in [cancelling, special] {
                    for start in 0..16usize {
                        let (x, g) = (&xb[start..start + n], &gb[start..start + n]);
                        let want_grad: Vec<u32> = (0..n)
                            .map(|i| leaky_relu_grad(x[i], g[i], w[i / inner]).to_bits())
                            .collect();
                        let want_sums: Vec<f64> = (0..c_len)
                            .map(|c| {
                                let mut sum = 0.0f64;
                                for i in c * inner..(c + 1) * inner {
                                    if x[i] <= 0.0 || x[i].is_nan() {
                                        sum += f64::from(x[i] * g[i]);
                                    }
                                }
                                sum
                            })
                            .collect();
                        let what = format!("{isa}: inner {inner} C {c_len} start {start}");
                        let mut out = vec![0.0f32; n];
                        let mut sums = vec![f64::NAN; c_len];
                        k.prelu_one_image_backward(
                            x,
                            Some(g),
                            &mut out,
                            &w,
                            inner,
                            Some(&mut sums),
                        );
                        assert_eq!(bits(&out), want_grad, "grad into, {what}");
                        for (c, (&got, &want)) in sums.iter().zip(&want_sums).enumerate() {
                            assert!(same(got, want), "sum {c}: {got:e} != {want:e}, {what}");
                        }
                        let mut alone = vec![0.0f32; n];
                        k.prelu_one_image_backward(x, Some(g), &mut alone, &w, inner, None);
                        assert_eq!(bits(&alone), want_grad, "grad without sums, {what}");
                        let mut inplace = gb.clone();
                        let grad = &mut inplace[start..start + n];
                        let mut sums = vec![f64::NAN; c_len];
                        k.prelu_one_image_backward(x, None, grad, &w, inner, Some(&mut sums));
                        assert_eq!(bits(grad), want_grad, "grad in place, {what}");
                        for (c, (&got, &want)) in sums.iter().zip(&want_sums).enumerate() {
                            assert!(same(got, want), "in place sum {c}, {what}");
                        }
                        assert_eq!(bits(&inplace[..start]), bits(&gb[..start]), "{what}");
                        assert_eq!(
                            bits(&inplace[start + n..]),
                            bits(&gb[start + n..]),
                            "{what}"
                        );
                    }
                }
            }
        }
    }
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
            ChannelLayout::nhwc(16),
            &mut gi,
            Some(&mut gw16),
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

#[test]
fn refusals_write_nothing() {
    let k = Kernels::from_env();
    let x = [1.0f32, -2.0, 3.0, -4.0, 5.0, -6.0];
    let mut y = [9.0f32; 6];
    let w = [0.5f32, 0.25];
    // A layout that does not divide the buffer, or is empty.
    for layout in [
        ChannelLayout::new(4, 1),
        ChannelLayout::new(0, 1),
        ChannelLayout::new(2, 0),
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
    let err = k
        .prelu_into(&x, &[0.5], ChannelLayout::nhwc(2), &mut y)
        .unwrap_err();
    assert!(matches!(
        err,
        Error::LengthMismatch {
            argument: "w",
            expected: 2,
            actual: 1
        }
    ));
    let err = k
        .prelu_into(&x, &[0.5, f32::NAN], ChannelLayout::nhwc(2), &mut y)
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
        .prelu(&mut wide, &many, ChannelLayout::nhwc(200))
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidParameter { value, .. } if value == f32::NEG_INFINITY),
        "{err:?}"
    );
    assert_eq!(wide, vec![1.0f32; 400]);
    let mut xm = x;
    assert!(k
        .prelu(&mut xm, &[f32::INFINITY, 1.0], ChannelLayout::nhwc(2))
        .is_err());
    assert_eq!(xm, x);
    assert_eq!(y, [9.0; 6]);
    // Backward: grad_w of the wrong length; negative slopes from the output.
    let mut g = [1.0f32; 6];
    let mut gw = [7.0f32; 3];
    let err = k
        .prelu_backward(
            Saved::Input(&x),
            &w,
            ChannelLayout::nhwc(2),
            &mut g,
            Some(&mut gw),
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
        .prelu_backward(
            Saved::Output(&x),
            &[0.5, -0.1],
            ChannelLayout::nhwc(2),
            &mut g,
            None,
        )
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
        .prelu_backward_into(
            Saved::Input(&x),
            &w,
            ChannelLayout::nhwc(2),
            &g,
            &mut gi,
            None,
        )
        .unwrap_err();
    assert!(matches!(
        err,
        Error::LengthMismatch {
            argument: "grad",
            ..
        }
    ));
    assert_eq!(g, [1.0; 6]);
    assert_eq!(gw, [7.0; 3]);
    assert_eq!(gi, [5.0; 5]);
    assert!(err.to_string().contains("grad"));
    let msg = Error::LayoutMismatch {
        argument: "x",
        len: 6,
        channels: 4,
        inner: 1,
    }
    .to_string();
    assert!(msg.contains("6 elements") && msg.contains("4"), "{msg}");
}
