//! Property tests: every public entry point with arbitrary lengths (0 to a few
//! thousand), start offsets, bit patterns (any `u32` as an `f32`, not only
//! "nice" floats), parameters (NaN, ±inf, ±0, negative, huge, subnormal) and
//! layouts, some of them deliberately inconsistent. `tests/common/contract.rs`
//! runs each case on every tier this host has, serial and threaded, and on
//! the process-wide engine, and checks it against the scalar reference under the
//! contract: bit-exact, or within the documented ULP bound; refusals return
//! the reference's `Error` and leave every buffer untouched.
//!
//! proptest shrinks a failure to a minimal case and records its seed in
//! `tests/properties.proptest-regressions`; commit that file, so the case is
//! replayed first on every later run. `PROPTEST_CASES=n` sets the number of
//! cases per property (256 by default).

#[path = "common/contract.rs"]
mod contract;

use contract::{check, Call, Case, IndexKind, SPECIAL_BITS};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use rectify::Activation;

/// The special values (`SPECIAL_BITS`), then the exponential's saturation
/// points and ±2^-25.
fn special() -> impl Strategy<Value = f32> {
    let edges = [
        0xc18a_a122, // -17.33, expm1 saturates
        0xc2ae_ac50, // -87.34, exp goes subnormal
        0xc2cf_f1b5, // -103.97, exp underflows
        0x42b1_7218, // 88.72, exp overflows
        0x3300_0000, // 2^-25
        0xb300_0000,
    ];
    let bits: Vec<u32> = SPECIAL_BITS.iter().chain(&edges).copied().collect();
    select(bits).prop_map(f32::from_bits)
}

/// Any f32: raw bit patterns, ordinary values, the saturation range, specials.
fn any_f32() -> impl Strategy<Value = f32> {
    prop_oneof![
        3 => any::<u32>().prop_map(f32::from_bits),
        3 => -8.0f32..8.0,
        1 => -120.0f32..0.0,
        2 => special(),
    ]
}

/// Values that tie often: Maxout's first-winner rule must hold on every tier.
fn tie_heavy() -> impl Strategy<Value = f32> {
    prop_oneof![
        1 => any_f32(),
        2 => select(&[0x0000_0000u32, 0x8000_0000, 0x3f80_0000, 0xbf80_0000, 0x7fc0_0001, 0xffc0_0002, 0x7f80_0000, 0xff80_0000][..])
            .prop_map(f32::from_bits),
    ]
}

/// An activation parameter: ordinary, special, or any bit pattern.
fn param() -> impl Strategy<Value = f32> {
    prop_oneof![
        4 => -3.0f32..3.0,
        2 => special(),
        1 => any::<u32>().prop_map(f32::from_bits),
        1 => Just(1.0f32),
    ]
}

/// Any activation of the registry, each parameter drawn by [`param`].
fn activation() -> impl Strategy<Value = Activation> {
    (
        0..Activation::NAMES.len(),
        proptest::collection::vec(param(), 4),
    )
        .prop_map(|(kind, ps)| {
            let mut ps = ps.into_iter();
            Activation::from_kind(kind, || ps.next().unwrap_or(1.0)).expect("kind is in range")
        })
}

/// Mostly short lengths (the tails), sometimes up to a few thousand (under
/// Miri, which interprets every instruction, up to 40).
fn length() -> impl Strategy<Value = usize> {
    let long = if cfg!(miri) { 40 } else { 3000 };
    prop_oneof![3 => 0usize..80.min(long), 1 => 0usize..long]
}

/// `n`, or now and then a length off by 1 to 3 that the call must refuse.
fn maybe_off(n: usize) -> impl Strategy<Value = usize> {
    prop_oneof![
        12 => Just(n),
        1 => (1usize..4).prop_map(move |d| n + d),
        1 => (1usize..4).prop_map(move |d| n.saturating_sub(d)),
    ]
}

fn offsets() -> impl Strategy<Value = [usize; 3]> {
    [0usize..16, 0usize..16, 0usize..16]
}

fn elementwise() -> impl Strategy<Value = Case> {
    (activation(), 0u8..6, length(), offsets()).prop_flat_map(|(act, form, n, offsets)| {
        let (from_output, into) = (form & 1 == 1, form & 2 == 2);
        let call = if form < 4 {
            Call::Backward {
                act,
                from_output,
                into,
            }
        } else {
            Call::Forward { act, into }
        };
        (maybe_off(n), maybe_off(n)).prop_flat_map(move |(ng, nout)| {
            let call = call.clone();
            (vec(any_f32(), n), vec(any_f32(), ng), vec(any_f32(), nout)).prop_map(
                move |(x, g, out)| Case {
                    call: call.clone(),
                    x,
                    g,
                    out,
                    w: Vec::new(),
                    idx: Vec::new(),
                    offsets,
                },
            )
        })
    })
}

/// `inner`: 1 (NHWC), short, or long enough for PReLU's per-run kernels.
/// (Under Miri the long ones stop at 72, just past PReLU's run threshold.)
fn inner() -> impl Strategy<Value = usize> {
    let (mid, long): (std::ops::Range<usize>, std::ops::Range<usize>) = if cfg!(miri) {
        (12..24, 64..72)
    } else {
        (12..100, 64..700)
    };
    prop_oneof![3 => Just(1usize), 3 => 1usize..12, 2 => mid, 1 => long, 1 => Just(0usize)]
}

/// An `outer` that keeps `outer * group` to a few thousand elements (a few
/// hundred under Miri).
fn outer_for(group: usize) -> impl Strategy<Value = usize> {
    let most = if cfg!(miri) { 200 } else { 4000 };
    0..=(most / group.max(1)).clamp(1, 40)
}

/// A slope: ordinary, now and then special (NaN and ±inf are refused).
fn slope() -> impl Strategy<Value = f32> {
    prop_oneof![12 => -2.0f32..2.0, 1 => special(), 1 => any::<u32>().prop_map(f32::from_bits)]
}

fn prelu() -> impl Strategy<Value = Case> {
    (
        0usize..if cfg!(miri) { 6 } else { 20 },
        inner(),
        0u8..8,
        prop::option::weighted(0.8, maybe_off_strategy()),
        offsets(),
    )
        .prop_flat_map(|(channels, inner, form, gw_off, offsets)| {
            outer_for(channels * inner).prop_flat_map(move |outer| {
                let n = outer * channels * inner;
                let (from_output, into) = (form & 1 == 1, form & 2 == 2);
                let backward = form != 0 || gw_off.is_some();
                let call = if backward {
                    Call::PreluBackward {
                        outer,
                        channels,
                        inner,
                        from_output,
                        into,
                        grad_w: gw_off.map(|d| (channels as isize + d).max(0) as usize),
                        add: form & 4 == 4,
                    }
                } else {
                    Call::Prelu {
                        outer,
                        channels,
                        inner,
                        into: form & 2 == 2,
                    }
                };
                (maybe_off(n), maybe_off(n), maybe_off(channels)).prop_flat_map(
                    move |(nx, nout, nw)| {
                        let call = call.clone();
                        (
                            vec(any_f32(), nx),
                            vec(any_f32(), n),
                            vec(any_f32(), nout),
                            vec(slope(), nw),
                        )
                            .prop_map(move |(x, g, out, w)| Case {
                                call: call.clone(),
                                x,
                                g,
                                out,
                                w,
                                idx: Vec::new(),
                                offsets,
                            })
                    },
                )
            })
        })
}

/// grad_w's length relative to the channel count: mostly exact.
fn maybe_off_strategy() -> impl Strategy<Value = isize> {
    prop_oneof![12 => Just(0isize), 1 => Just(1isize), 1 => Just(-1isize)]
}

/// The number of pieces: the common 1 to 5, now and then 0 (refused) or many
/// (more than 256 refuses u8 indices).
fn pieces() -> impl Strategy<Value = usize> {
    prop_oneof![12 => 1usize..6, 1 => Just(0usize), 1 => 6usize..300]
}

fn index_kind() -> impl Strategy<Value = IndexKind> {
    prop_oneof![
        Just(IndexKind::None),
        Just(IndexKind::U8),
        Just(IndexKind::U32)
    ]
}

fn maxout() -> impl Strategy<Value = Case> {
    (pieces(), inner(), index_kind(), 0u8..4, offsets()).prop_flat_map(
        |(k, inner, index, form, offsets)| {
            let (backward, add) = (form & 1 == 1, form & 2 == 2);
            outer_for(k * inner).prop_flat_map(move |outer| {
                let (ny, nx) = (outer * inner, outer * k * inner);
                (maybe_off(nx), maybe_off(ny), maybe_off(ny)).prop_flat_map(
                    move |(nx2, ny2, nidx)| {
                        let (call, g_len, out_len) =
                            Call::maxout((backward, add), k, inner, index, nidx, (nx2, ny2));
                        let idx = vec(
                            prop_oneof![20 => 0..k.max(1) as u32, 1 => any::<u32>()],
                            nidx,
                        );
                        (
                            vec(tie_heavy(), nx2),
                            vec(any_f32(), g_len),
                            vec(any_f32(), out_len),
                            idx,
                        )
                            .prop_map(move |(x, g, out, idx)| Case {
                                call: call.clone(),
                                x,
                                g,
                                out,
                                w: Vec::new(),
                                idx,
                                offsets,
                            })
                    },
                )
            })
        },
    )
}

/// The default configuration (`PROPTEST_CASES` honoured); under Miri the
/// recorded regression seeds are not replayed (several are thousands of
/// elements long, hours under the interpreter).
fn config() -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if cfg!(miri) {
        config.failure_persistence = None;
    }
    config
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn elementwise_entry_points_keep_the_contract(case in elementwise()) {
        check(&case);
    }

    #[test]
    fn prelu_entry_points_keep_the_contract(case in prelu()) {
        check(&case);
    }

    #[test]
    fn maxout_entry_points_keep_the_contract(case in maxout()) {
        check(&case);
    }
}
