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

use kernel_calls::{check, KernelCall, Slope};
use kernel_draw::{Draw, EDGE_SIZES};
use rectify_kernels::{KernelSet, MaxoutIndex, Prelu, SlopeGrad};
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

/// A row of `C * inner` that wraps, and a span whose end wraps, are refused
/// before any write.
#[test]
fn prelu_sizes_that_wrap_are_refused() {
    for k in sets() {
        let huge = Prelu {
            w: &[0.5; 2],
            inner: usize::MAX / 2 + 1,
            len: 0,
        };
        let message = refusal(|| k.prelu_forward(huge, 0, None, &mut []));
        assert!(
            message.starts_with("prelu: 0 is not rows of 2 x"),
            "{message}"
        );
        let mut dst = [1.0f32; 2];
        let span = Prelu {
            w: &[0.5],
            inner: 1,
            len: usize::MAX,
        };
        let message = refusal(|| k.prelu_forward(span, usize::MAX - 1, None, &mut dst));
        assert!(message.starts_with("prelu: 2 elements from"), "{message}");
        let message =
            refusal(|| k.prelu_backward(span, usize::MAX, &[-1.0; 2], None, &mut dst, None));
        assert!(message.starts_with("prelu: 2 elements from"), "{message}");
        assert_eq!(dst, [1.0, 1.0]);
    }
}

/// A span at the very end of a buffer of `usize::MAX` elements, and empty
/// spans of buffers of any size, run.
#[test]
fn prelu_spans_at_the_top_of_usize_run() {
    for k in sets() {
        let mut dst = [-2.0f32; 3];
        let top = Prelu {
            w: &[0.5],
            inner: 1,
            len: usize::MAX,
        };
        k.prelu_forward(top, usize::MAX - 3, None, &mut dst);
        assert_eq!(dst, [-1.0; 3]);
        let mut sums = [f64::NAN; 1];
        let runs = Prelu {
            w: &[0.5, 0.25],
            inner: usize::MAX / 2,
            len: usize::MAX - 1,
        };
        k.prelu_backward(
            runs,
            usize::MAX - 4,
            &[-1.0; 3],
            None,
            &mut dst,
            Some(SlopeGrad::Sums(&mut sums)),
        );
        assert_eq!((dst, sums), ([-0.25; 3], [3.0]));
        for len in [0, usize::MAX] {
            let any = Prelu {
                w: &[0.5],
                inner: usize::MAX,
                len: len - len % usize::MAX,
            };
            k.prelu_backward(any, 0, &[], None, &mut [], Some(SlopeGrad::Sums(&mut [])));
        }
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
            engine
                .maxout_backward(&[], k, 1, &[], rectify::Grad::Write(&mut []))
                .unwrap();
            engine
                .maxout_backward_indexed(&[0u32; 0], k, 5, &[], rectify::Grad::Write(&mut []))
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
    assert_eq!(tally.len(), 8, "every method is drawn");
    // Each edge size as Maxout's `k`, and as PReLU's `inner`, `len` and
    // `start`, explicitly.
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
            for (w_len, inner, len, start) in [
                (3, s, s, 0),
                (1, 1, s, s),
                (2, 8, s, 16),
                (4, s, s.wrapping_mul(4), s),
            ] {
                let whole = Slope::GradW {
                    len: w_len,
                    from_output: false,
                    add: true,
                };
                let slopes = [
                    Some(Slope::Sums(0)),
                    Some(Slope::Sums(1)),
                    Some(Slope::Sums(2)),
                ];
                for (dst_len, slope) in [0, 16, 16, 16, 16]
                    .into_iter()
                    .zip(slopes.into_iter().chain([None, Some(whole)]))
                {
                    check(
                        set,
                        &KernelCall::PreluForward {
                            w_len,
                            inner,
                            len,
                            start,
                            src_len: None,
                            dst_len,
                        },
                    );
                    let call = KernelCall::PreluBackward {
                        w_len,
                        inner,
                        len,
                        start,
                        saved_len: dst_len,
                        grad_len: Some(dst_len),
                        dst_len,
                        slope,
                    };
                    check(set, &call);
                }
            }
        }
    }
}
