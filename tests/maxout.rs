//! Maxout on every tier against the scalar formula: values (NaN payloads
//! included) and winning indices bit for bit, ties and NaNs among the pieces,
//! every small `[outer, k, inner]` (vector and scalar paths, tails), at odd
//! offsets; the backward pass from the input and from saved indices; any
//! thread count; refusals that write nothing.

#[path = "common/harness.rs"]
mod harness;
#[path = "common/tiers.rs"]
mod under_test;

use harness::{bits, drawn, same_for_any_thread_count};
use rectify::reference::maxout;
use rectify::{Error, Grad, Kernels};
use under_test::tiers_under_test;

/// Values drawn from a small set, so that ties (also -0 against +0) and
/// NaNs among the pieces are common, mixed with random ones.
fn data(n: usize, seed: u32) -> Vec<f32> {
    let set = [
        -1.0f32,
        0.0,
        -0.0,
        1.0,
        2.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::from_bits(0x7fc0_0042),
        f32::from_bits(0xffc1_2345),
        f32::from_bits(0x7f80_0001),
    ];
    drawn(n, seed, |_, s| {
        if s.is_multiple_of(3) {
            (s >> 8) as f32 / 16_777_216.0 * 4.0 - 2.0
        } else {
            // Mostly the tie-prone values, NaNs rarer.
            set[((s >> 4) % if s.is_multiple_of(5) { 10 } else { 7 }) as usize]
        }
    })
}

/// The reference winners: (value bits, index) per output.
fn expected(x: &[f32], k: usize, inner: usize) -> (Vec<u32>, Vec<u32>) {
    let outer = x.len() / (k * inner);
    let (mut y, mut idx) = (Vec::new(), Vec::new());
    for o in 0..outer {
        for i in 0..inner {
            let pieces: Vec<f32> = (0..k).map(|p| x[(o * k + p) * inner + i]).collect();
            let (v, id) = maxout(&pieces);
            y.push(v.to_bits());
            idx.push(id as u32);
        }
    }
    (y, idx)
}

/// Forward (values, u32 and u8 indices) and backward (from the input and
/// from both index kinds) of `x` as `[.., k, inner]`, against the formula.
fn check(kern: &Kernels, x: &[f32], k: usize, inner: usize, what: &str) {
    let n = x.len();
    let m = n / k;
    let (want_y, want_idx) = expected(x, k, inner);
    let mut y = vec![0.0f32; m];
    kern.maxout(x, k, inner, &mut y).unwrap();
    assert_eq!(bits(&y), want_y, "{what}");
    let mut idx32 = vec![u32::MAX; m];
    let mut y2 = vec![0.0f32; m];
    kern.maxout_with_index(x, k, inner, &mut y2, &mut idx32)
        .unwrap();
    assert_eq!(bits(&y2), want_y, "{what}");
    assert_eq!(idx32, want_idx, "{what}: u32 indices");
    let mut idx8 = vec![u8::MAX; m];
    kern.maxout_with_index(x, k, inner, &mut y2, &mut idx8)
        .unwrap();
    let idx8_wide: Vec<u32> = idx8.iter().map(|&i| u32::from(i)).collect();
    assert_eq!(idx8_wide, want_idx, "{what}: u8 indices");
    // Backward three ways, all equal to the formula.
    let gy = data(m, 99 + m as u32);
    let mut want_gx = vec![0u32; n];
    for o in 0..m / inner.max(1) {
        for i in 0..inner {
            let id = want_idx[o * inner + i] as usize;
            want_gx[(o * k + id) * inner + i] = gy[o * inner + i].to_bits();
        }
    }
    for saved in ["x", "u32 indices", "u8 indices"] {
        let mut gx = vec![f32::NAN; n];
        match saved {
            "x" => kern.maxout_backward(x, k, inner, &gy, Grad::Write(&mut gx)),
            "u32 indices" => {
                kern.maxout_backward_indexed(&idx32, k, inner, &gy, Grad::Write(&mut gx))
            }
            _ => kern.maxout_backward_indexed(&idx8, k, inner, &gy, Grad::Write(&mut gx)),
        }
        .unwrap();
        assert_eq!(bits(&gx), want_gx, "{what}: backward from {saved}");
    }
    // Added to a prefilled buffer (zeros of both signs, NaNs, infinities):
    // every element gets its contribution, +0 for the losers, in f32.
    let prefill = data(n, 7 + n as u32);
    let want_add = added(&prefill, &want_gx);
    for saved in ["x", "u32 indices", "u8 indices"] {
        let mut gx = prefill.clone();
        match saved {
            "x" => kern.maxout_backward(x, k, inner, &gy, Grad::Add(&mut gx)),
            "u32 indices" => {
                kern.maxout_backward_indexed(&idx32, k, inner, &gy, Grad::Add(&mut gx))
            }
            _ => kern.maxout_backward_indexed(&idx8, k, inner, &gy, Grad::Add(&mut gx)),
        }
        .unwrap();
        assert_same(&gx, &want_add, &format!("{what}: added, from {saved}"));
    }
}

/// `prefill[i] + c[i]` in f32, `c` given as bits.
fn added(prefill: &[f32], c: &[u32]) -> Vec<f32> {
    prefill
        .iter()
        .zip(c)
        .map(|(&p, &c)| p + f32::from_bits(c))
        .collect()
}

/// The same bits, except that any NaN matches any NaN (which of two NaN
/// operands an addition passes on is the compiler's choice).
fn assert_same(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let same = g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan());
        assert!(
            same,
            "{what}: element {i} is {g:?} ({:#010x}), want {w:?} ({:#010x})",
            g.to_bits(),
            w.to_bits()
        );
    }
}

/// The contributions of the backward pass as bits: each output's gradient
/// at its winner, +0 at the other pieces.
fn contributions(x: &[f32], k: usize, inner: usize, gy: &[f32]) -> Vec<u32> {
    let (_, idx) = expected(x, k, inner);
    let mut c = vec![0u32; x.len()];
    for (j, (&id, &g)) in idx.iter().zip(gy).enumerate() {
        let (o, i) = (j / inner, j % inner);
        c[(o * k + id as usize) * inner + i] = g.to_bits();
    }
    c
}

/// Adding goes through a bounded scratch: groups of `k * inner` that fit
/// it, planes of pieces cut into column tiles when a group does not, and
/// more pieces than it holds; each against the formula, serially and
/// split across threads.
#[test]
fn added_gradients_of_every_group_size_match_the_formula() {
    for isa in tiers_under_test() {
        for (outer, k, inner) in [
            (700usize, 2usize, 1usize), // many groups a scratch
            (3, 4, 300),                // 1200 > 1024: column tiles of 256
            (2, 1000, 3),               // tiles of one column
            (3, 1500, 1),               // more pieces than the scratch
            (2, 1100, 2),
            (5, 7, 1000),
        ] {
            let n = outer * k * inner;
            let x = data(n, (n + k) as u32);
            let gy = data(outer * inner, 17);
            let prefill = data(n, 23);
            let want = added(&prefill, &contributions(&x, k, inner, &gy));
            let what = format!("{isa} {outer}x{k}x{inner}");
            let run = |kern: &Kernels| {
                let mut gx = prefill.clone();
                kern.maxout_backward(&x, k, inner, &gy, Grad::Add(&mut gx))
                    .unwrap();
                assert_same(&gx, &want, &what);
                bits(&gx)
            };
            same_for_any_thread_count(isa, 64, run, &what);
        }
    }
}

/// Above the default parallel threshold, from the input and the indices.
#[test]
fn added_gradients_above_the_parallel_threshold() {
    let (k, inner) = (2usize, 1usize);
    let n = 2 * rectify::DEFAULT_PARALLEL_THRESHOLD + 2 * 1000;
    let x = data(n, 3);
    let gy = data(n / k, 4);
    let prefill = data(n, 5);
    let want = added(&prefill, &contributions(&x, k, inner, &gy));
    let kern = Kernels::from_env();
    let mut gx = prefill.clone();
    kern.maxout_backward(&x, k, inner, &gy, Grad::Add(&mut gx))
        .unwrap();
    assert_same(&gx, &want, "added from x");
    let (mut y, mut idx) = (vec![0.0f32; n / k], vec![0u32; n / k]);
    kern.maxout_with_index(&x, k, inner, &mut y, &mut idx)
        .unwrap();
    let mut gx = prefill.clone();
    kern.maxout_backward_indexed(&idx, k, inner, &gy, Grad::Add(&mut gx))
        .unwrap();
    assert_same(&gx, &want, "added from indices");
    // Written: the contributions alone.
    kern.maxout_backward(&x, k, inner, &gy, Grad::Write(&mut gx))
        .unwrap();
    assert_eq!(bits(&gx), contributions(&x, k, inner, &gy));
}

/// `-0` held where a piece loses becomes `+0`; elsewhere adding `+0`
/// changes nothing.
#[test]
fn adding_to_a_loser_turns_minus_zero_into_plus_zero() {
    let kern = Kernels::from_env();
    let x = [1.0f32, 2.0, 3.0, -1.0];
    let mut gx = [-0.0f32, -0.0, -0.0, 5.0];
    kern.maxout_backward(&x, 2, 1, &[-0.0, 1.0], Grad::Add(&mut gx))
        .unwrap();
    assert_eq!(bits(&gx), bits(&[0.0, -0.0, 1.0, 5.0]));
}

/// Every shape against the formula: `inner` from 1 to past four vectors of
/// the widest tier (the long-`inner` kernels take four vectors at a time),
/// `k` from 1 to 17, odd start offsets.
#[test]
fn forward_and_backward_match_the_formula_on_every_tier() {
    for isa in tiers_under_test() {
        let kern = Kernels::new(isa).unwrap().serial();
        for outer in [0usize, 1, 2, 3, 5, 19] {
            for k in [1usize, 2, 3, 4, 5, 17] {
                for inner in [1usize, 2, 3, 4, 7, 8, 9, 16, 17, 33, 64, 131] {
                    let n = outer * k * inner;
                    for offset in [0usize, 1, 3] {
                        let base = data(n + offset, (n * 31 + k * 7 + inner + offset) as u32);
                        let what =
                            format!("{isa} outer {outer} k {k} inner {inner} offset {offset}");
                        check(&kern, &base[offset..], k, inner, &what);
                    }
                }
            }
        }
    }
}

/// The interleaved layouts with a vector path (`inner == 1`, k = 2, 3, 4):
/// every output count 0..=257 (every tail of every tier) at every start
/// offset 0..16.
#[test]
fn interleaved_pieces_every_length_and_offset() {
    for isa in tiers_under_test() {
        let kern = Kernels::new(isa).unwrap().serial();
        for k in [2usize, 3, 4] {
            for outer in 0..=257usize {
                let n = outer * k;
                let base = data(n + 16, (n * 7 + k) as u32);
                for offset in 0..16 {
                    let what = format!("{isa} outer {outer} k {k} inner 1 offset {offset}");
                    check(&kern, &base[offset..offset + n], k, 1, &what);
                }
            }
        }
    }
}

#[test]
fn any_thread_count_gives_the_same_bits() {
    for isa in tiers_under_test() {
        for (outer, k, inner) in [
            (5000usize, 2usize, 1usize),
            (777, 4, 1),
            (300, 3, 1),
            (37, 3, 40),
        ] {
            let n = outer * k * inner;
            let x = data(n, 5);
            let gy = data(outer * inner, 6);
            let run = |kern: &Kernels| {
                let mut y = vec![0.0f32; outer * inner];
                let mut idx = vec![0u32; outer * inner];
                kern.maxout_with_index(&x, k, inner, &mut y, &mut idx)
                    .unwrap();
                let mut gx = vec![0.0f32; n];
                kern.maxout_backward(&x, k, inner, &gy, Grad::Write(&mut gx))
                    .unwrap();
                (bits(&y), idx, bits(&gx))
            };
            same_for_any_thread_count(isa, 64, run, &format!("{isa} {outer}x{k}x{inner}"));
        }
    }
}

#[test]
fn refusals_write_nothing() {
    let kern = Kernels::from_env();
    let x = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
    let mut y = [9.0f32; 3];
    let err = kern.maxout(&x, 0, 1, &mut y).unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidSize {
            operation: "maxout",
            parameter: "k",
            value: 0,
            ..
        }
    ));
    let err = kern.maxout(&x, 4, 1, &mut y).unwrap_err();
    assert!(
        matches!(
            err,
            Error::PiecesMismatch {
                argument: "x",
                len: 6,
                k: 4,
                inner: 1
            }
        ),
        "{err}"
    );
    let err = kern.maxout(&x, 2, 0, &mut y).unwrap_err();
    assert!(matches!(err, Error::PiecesMismatch { .. }));
    let mut y2 = [9.0f32; 2];
    let err = kern.maxout(&x, 2, 1, &mut y2).unwrap_err();
    assert!(matches!(
        err,
        Error::LengthMismatch {
            argument: "y",
            expected: 3,
            actual: 2
        }
    ));
    let mut idx = [7u8; 2];
    let err = kern
        .maxout_with_index(&x, 2, 1, &mut y, &mut idx)
        .unwrap_err();
    assert!(matches!(
        err,
        Error::LengthMismatch {
            argument: "idx",
            ..
        }
    ));
    let big = vec![0.0f32; 300];
    let mut one = [5.0f32];
    let mut idx1 = [7u8];
    let err = kern
        .maxout_with_index(&big, 300, 1, &mut one, &mut idx1)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidSize {
                parameter: "k",
                value: 300,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!((one, idx1), ([5.0], [7]));
    assert_eq!(y, [9.0; 3]);
    assert_eq!(idx, [7; 2]);
    // Backward: an index out of range, lengths that do not match.
    let mut gx = [9.0f32; 6];
    let err = kern
        .maxout_backward_indexed(&[0u32, 2, 1], 2, 1, &[1.0; 3], Grad::Write(&mut gx))
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::IndexOutOfRange {
                argument: "idx",
                position: 1,
                index: 2,
                k: 2
            }
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "idx[1] = 2 is not a piece of 2: every index must be below k"
    );
    let err = kern
        .maxout_backward(&x[..4], 2, 1, &[1.0; 3], Grad::Write(&mut gx))
        .unwrap_err();
    assert!(matches!(err, Error::LengthMismatch { argument: "x", .. }));
    let err = kern
        .maxout_backward_indexed(&[0u8, 1], 2, 1, &[1.0; 3], Grad::Write(&mut gx))
        .unwrap_err();
    assert!(matches!(
        err,
        Error::LengthMismatch {
            argument: "idx",
            ..
        }
    ));
    assert_eq!(gx, [9.0; 6]);
    // Adding refuses the same calls, writing nothing.
    assert!(kern
        .maxout_backward_indexed(&[0u32, 2, 1], 2, 1, &[1.0; 3], Grad::Add(&mut gx))
        .is_err());
    assert!(kern
        .maxout_backward(&x[..4], 2, 1, &[1.0; 3], Grad::Add(&mut gx))
        .is_err());
    assert!(kern
        .maxout_backward(&x, 4, 1, &[1.0; 3], Grad::Add(&mut gx))
        .is_err());
    assert_eq!(gx, [9.0; 6]);
}
