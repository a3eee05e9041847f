//! The kernels crate's safe API with sizes anywhere in `usize`: every call
//! is run within its slices or refused with a panic that names it, on every
//! tier (see `common/kernel_calls.rs`). In a release build (`cargo test
//! --release`, run by CI) integer overflow wraps instead of panicking, which
//! is where a size check written as a plain product would let a call pass
//! and walk past its buffers. (64-bit targets: the sizes go up to 2^64.)
#![cfg(target_pointer_width = "64")]

#[path = "common/kernel_calls.rs"]
mod kernel_calls;
#[path = "common/kernel_draw.rs"]
mod kernel_draw;
#[path = "common/tiers.rs"]
mod tiers;

use kernel_calls::{check, KernelCall};
use kernel_draw::{Draw, EDGE_SIZES};
use rectify_kernels::{KernelSet, MaxoutIndex, PreluRuns};
use tiers::tiers_under_test;

fn sets() -> Vec<KernelSet> {
    tiers_under_test()
        .into_iter()
        .map(|isa| KernelSet::new(isa).unwrap())
        .collect()
}

/// The message of the panic `f` raises (the call must be refused).
fn refusal(f: impl FnOnce()) -> String {
    kernel_calls::refusal(f).expect_err("the call was accepted")
}

#[test]
fn maxout_forward_with_k_that_wraps_the_length_check_is_refused() {
    for k in sets() {
        let message = refusal(|| {
            k.maxout_forward(
                &[1.0; 16],
                (1 << 60) + 1,
                16,
                &mut [0.0; 16],
                MaxoutIndex::None,
            )
        });
        assert!(
            message.starts_with("maxout: x (16 elements) is not k"),
            "{message}"
        );
    }
}

#[test]
fn maxout_backward_with_k_that_wraps_the_length_check_is_refused() {
    for k in sets() {
        let message = refusal(|| {
            k.maxout_backward(&[1.0; 16], (1 << 60) + 1, 16, &[1.0; 16], &mut [0.0; 16])
        });
        assert!(
            message.starts_with("maxout: x (16 elements) is not k"),
            "{message}"
        );
    }
}

#[test]
fn prelu_pattern_backward_with_rows_that_wrap_is_refused() {
    for k in sets() {
        let message = refusal(|| {
            k.prelu_pattern_backward(&[-1.0], None, &mut [1.0], 4, (1 << 62) + 1, &[0.5], None)
        });
        assert!(message.contains("do not fit in saved"), "{message}");
        // A stride that wraps `(rows - 1) * stride` back into the buffer.
        let buf = [7.0f32; 2];
        let mut dst = [1.0f32; 2];
        let message = refusal(|| {
            k.prelu_pattern_backward(&buf[1..], None, &mut dst[1..], usize::MAX, 2, &[0.5], None)
        });
        assert!(message.contains("do not fit"), "{message}");
        assert_eq!(dst, [1.0, 1.0]);
    }
}

/// Rows of no elements finish at once, however many.
#[test]
fn prelu_pattern_backward_over_empty_rows_returns() {
    for k in sets() {
        let mut acc: [f32; 0] = [];
        k.prelu_pattern_backward(&[], None, &mut [], 0, usize::MAX, &[], Some(&mut acc));
        k.prelu_pattern_backward(&[], None, &mut [], 0, usize::MAX, &[], None);
    }
}

/// No allocation is sized by `k`: an empty input is `[0, k, inner]` for any
/// `k`, on every tier, through the safe crate and the kernels crate.
#[test]
fn maxout_of_nothing_with_a_huge_k_allocates_nothing() {
    for k in [1usize << 40, 1 << 63, usize::MAX] {
        for set in sets() {
            set.maxout_forward(&[], k, 1, &mut [], MaxoutIndex::None);
            set.maxout_forward(&[], k, 7, &mut [], MaxoutIndex::None);
            set.maxout_backward(&[], k, 1, &[], &mut []);
            let engine = rectify::Kernels::new(set.isa()).unwrap();
            engine.maxout(&[], k, 1, &mut []).unwrap();
            engine.maxout(&[], k, 3, &mut []).unwrap();
            engine.maxout_backward(&[], k, 1, &[], &mut []).unwrap();
            engine
                .maxout_backward_indexed(&[0u32; 0], k, 5, &[], &mut [])
                .unwrap();
        }
    }
}

#[test]
fn u32_maxout_indices_need_k_of_at_most_2_to_the_32() {
    let k = (1usize << 32) + 1;
    for set in sets() {
        let message = refusal(|| set.maxout_forward(&[], k, 1, &mut [], MaxoutIndex::U32(&mut [])));
        assert!(message.contains("u32 indices need k <= 2^32"), "{message}");
        let engine = rectify::Kernels::new(set.isa()).unwrap();
        let err = engine
            .maxout_with_index(&[], k, 1, &mut [], &mut [0u32; 0])
            .unwrap_err();
        assert!(
            err.to_string().contains("u32 indices need k <= 2^32"),
            "{err}"
        );
        // 2^32 pieces still fit (index 2^32 - 1).
        set.maxout_forward(&[], 1 << 32, 1, &mut [], MaxoutIndex::U32(&mut []));
    }
}

#[test]
fn prelu_runs_pieces_refuses_a_zero_piece_instead_of_looping() {
    let runs = PreluRuns {
        w: &[0.5],
        channel: 0,
        inner: 4,
        offset: 0,
    };
    let message = refusal(|| {
        runs.pieces(10, 0);
    });
    assert!(message.contains("piece must be at least 1"), "{message}");
    let empty_runs = PreluRuns { inner: 0, ..runs };
    let message = refusal(|| {
        empty_runs.pieces(10, 1);
    });
    assert!(message.contains("inner must be at least 1"), "{message}");
    assert_eq!(runs.pieces(10, 3), 2 + 2 + 1);
    // Any span, counted without a step per piece.
    assert_eq!(runs.pieces(usize::MAX, 1), usize::MAX);
    assert_eq!(runs.pieces(usize::MAX, 4), usize::MAX / 4 + 1);
}

/// Every size in `EDGE_SIZES` in every size argument of every method, with
/// slices that fit and slices that do not.
#[test]
fn edge_sizes_are_run_or_refused_by_name() {
    let sets = sets();
    // A reproducible stream of bytes (xorshift), as the fuzz target's input.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut draw = Draw(move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 24) as u8
    });
    // Calls that ran and calls refused, per method: both must occur.
    let mut tally = std::collections::BTreeMap::<&str, [usize; 2]>::new();
    for _ in 0..20_000 {
        let call = draw.call();
        for set in &sets {
            let ran = check(set, &call);
            tally.entry(call.name()).or_default()[usize::from(ran)] += 1;
        }
    }
    for (name, [refused, ran]) in &tally {
        println!("{name}: {ran} ran, {refused} refused");
        assert!(
            *ran > 0 && *refused > 0,
            "{name}: {ran} ran, {refused} refused"
        );
    }
    assert_eq!(tally.len(), 15, "every method is drawn");
    // Each edge size as Maxout's `k`, the pattern's `stride` and `rows`,
    // and the one-image `inner`, explicitly.
    for &s in &EDGE_SIZES {
        for set in &sets {
            for (x_len, y_len) in [(0, 0), (16, 16), (16, 1), (32, 16)] {
                for index in 0..3 {
                    let call = KernelCall::MaxoutForward {
                        x_len,
                        k: s,
                        inner: 16,
                        y_len,
                        index,
                        idx_len: y_len,
                    };
                    check(set, &call);
                }
                check(
                    set,
                    &KernelCall::MaxoutBackward {
                        x_len,
                        k: s,
                        inner: 1,
                        gy_len: y_len,
                        gx_len: x_len,
                    },
                );
            }
            for rows in [0, 1, 2, s] {
                for width in [0, 1, 4] {
                    check(
                        set,
                        &KernelCall::PatternBackward {
                            saved_len: 8,
                            grad_len: Some(8),
                            dst_len: 8,
                            stride: s,
                            rows,
                            width,
                            acc_len: Some(width),
                        },
                    );
                }
            }
            check(
                set,
                &KernelCall::OneImageBackward {
                    saved_len: 32,
                    grad_len: None,
                    dst_len: 32,
                    w_len: 8,
                    inner: s,
                    sums_len: Some(8),
                },
            );
        }
    }
}
