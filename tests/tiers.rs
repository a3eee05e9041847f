//! The shared runner: every ISA tier this host has, every kernel and direction,
//! against the scalar reference, bit for bit for the ReLU family. The
//! exponential ops (ELU, CELU, SELU) are accurate to a ULP bound rather than
//! equal to the reference (`tests/exp_accuracy.rs` checks that); here each
//! tier must give, at every length, offset and form, exactly the bits it
//! gives for the same inputs in one plain out-of-place call: an element's
//! result never depends on where it sits or how it is called.
//!
//! For each tier it walks every length 0..=257 at every start offset 0..16,
//! over buffers of special values (NaN with several payloads and both signs,
//! signalling NaNs, ±0, ±inf, subnormals, ±FLT_MIN, ±FLT_MAX) and random bit
//! patterns, in place and out of place, with `Saved::Input` and
//! `Saved::Output`. Guard elements around every output check that no kernel
//! writes outside its slice. It prints which tiers ran and which were skipped
//! and why; a skipped tier is never silent.

#[path = "common/tiers.rs"]
mod under_test;

use rectify::{Activation, Isa, Kernels, Saved};
use under_test::tiers_under_test;

/// Special values first, so that short lengths see them all.
fn specials() -> Vec<f32> {
    let bits: [u32; 30] = [
        0x0000_0000, // +0
        0x8000_0000, // -0
        0x7f80_0000, // +inf
        0xff80_0000, // -inf
        0x7fc0_0000, // canonical quiet NaN
        0xffc0_0000, // negative quiet NaN
        0x7fc0_1234, // quiet NaN with payload
        0xffc5_4321, // negative quiet NaN with payload
        0x7f80_0001, // signalling NaN
        0xff81_2345, // negative signalling NaN with payload
        0x7fff_ffff, // NaN, all payload bits
        0xffff_ffff, // negative NaN, all payload bits
        0x0000_0001, // smallest subnormal
        0x8000_0001, // negative smallest subnormal
        0x007f_ffff, // largest subnormal
        0x807f_ffff, // negative largest subnormal
        0x0040_0000, // mid subnormal
        0x8040_0000,
        0x0080_0000, // FLT_MIN
        0x8080_0000, // -FLT_MIN
        0x7f7f_ffff, // FLT_MAX
        0xff7f_ffff, // -FLT_MAX
        0x3f80_0000, // 1
        0xbf80_0000, // -1
        0x3f00_0000, // 0.5
        0xbf00_0000, // -0.5
        0x3380_0000, // 2^-24
        0xb380_0000,
        0x4b80_0000, // 2^24
        0xcb80_0000,
    ];
    bits.iter().map(|&b| f32::from_bits(b)).collect()
}

/// Deterministic xorshift32.
struct Rng(u32);

impl Rng {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }
    /// Any bit pattern half of the time, a "nice" value in [-4, 4) otherwise.
    fn value(&mut self) -> f32 {
        let r = self.next();
        if r & 1 == 0 {
            f32::from_bits(self.next())
        } else {
            (self.next() as f32 / u32::MAX as f32) * 8.0 - 4.0
        }
    }
}

/// A pool of `n` values: the specials, then random ones, rotated by `seed`.
fn values(n: usize, seed: u32) -> Vec<f32> {
    let sp = specials();
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9) | 1);
    let mut v: Vec<f32> = (0..n)
        .map(|i| if i < sp.len() { sp[i] } else { rng.value() })
        .collect();
    if !v.is_empty() {
        let k = seed as usize % v.len();
        v.rotate_left(k);
    }
    v
}

fn activations() -> Vec<Activation> {
    Activation::samples()
}

/// The tiers to test, with a printed line per tier: ran or skipped, and why.
fn tiers(test: &str) -> Vec<Kernels> {
    let mut out = Vec::new();
    let under_test = tiers_under_test();
    for isa in Isa::ALL {
        match Kernels::new(isa) {
            Ok(_) if !under_test.contains(&isa) => {
                println!("[{test}] tier {isa}: skipped (not in RECTIFY_TEST_TIERS)")
            }
            Ok(k) => {
                println!("[{test}] tier {isa}: ran");
                out.push(k.serial());
            }
            Err(e) => println!("[{test}] tier {isa}: skipped ({e})"),
        }
    }
    out
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

const GUARD: usize = 16;
const GUARD_BITS: u32 = 0x7fbe_efed; // a NaN no kernel produces

/// A buffer of `GUARD + offset + data.len() + GUARD` elements with `data` at
/// `GUARD + offset` and guard NaNs elsewhere.
fn guarded(data: &[f32], offset: usize) -> Vec<f32> {
    let mut buf = vec![f32::from_bits(GUARD_BITS); 2 * GUARD + offset + data.len()];
    buf[GUARD + offset..GUARD + offset + data.len()].copy_from_slice(data);
    buf
}

fn check_guards(buf: &[f32], offset: usize, n: usize, what: &str) {
    let (start, end) = (GUARD + offset, GUARD + offset + n);
    for (i, x) in buf.iter().enumerate() {
        if i < start || i >= end {
            assert_eq!(
                x.to_bits(),
                GUARD_BITS,
                "{what}: wrote outside its slice at {i} (slice {start}..{end})"
            );
        }
    }
}

/// What a call computes, for the canonical run of the exponential ops.
#[derive(Clone, Copy)]
enum Form {
    Forward,
    Backward { from_output: bool },
}

/// The tier's own result for `x` (and gradient `g`) in one plain
/// out-of-place call.
fn canonical(k: &Kernels, act: Activation, form: Form, x: &[f32], g: &[f32]) -> Vec<u32> {
    let mut out = vec![0.0; x.len()];
    match form {
        Form::Forward => k.forward_into(act, x, &mut out).unwrap(),
        Form::Backward { from_output } => {
            let saved = if from_output {
                Saved::Output(x)
            } else {
                Saved::Input(x)
            };
            k.backward_into(act, saved, g, &mut out).unwrap()
        }
    }
    bits(&out)
}

/// Runs `run(engine, x, g, offset)` over every length and offset for
/// every tier and compares it with the expected bits: the reference's for the
/// ReLU family, the tier's own canonical call for the exponential ops.
fn sweep(
    test: &str,
    act: Activation,
    form: Form,
    mut run: impl FnMut(&Kernels, &[f32], &[f32], usize) -> Vec<u32>,
) {
    let reference = Kernels::new(Isa::Scalar).unwrap().serial();
    let tiers = tiers(test);
    let mut checked = 0usize;
    for n in 0..=257usize {
        let x = values(n, n as u32 + 1);
        let g = values(n, n as u32 * 7 + 3);
        for offset in 0..16 {
            let reference_bits = (!act.is_exponential()).then(|| run(&reference, &x, &g, offset));
            for k in &tiers {
                let want = match &reference_bits {
                    Some(bits) => bits.clone(),
                    None => canonical(k, act, form, &x, &g),
                };
                let got = run(k, &x, &g, offset);
                if got != want {
                    let i = got.iter().zip(&want).position(|(a, b)| a != b).unwrap_or(0);
                    panic!(
                        "[{test}] tier {} differs from the expected bits at n={n} offset={offset} index {i}: \
                         x={:#010x} g={:#010x} got {:#010x} want {:#010x}",
                        k.isa(),
                        x[i].to_bits(),
                        g.get(i).map_or(0, |v| v.to_bits()),
                        got[i],
                        want[i]
                    );
                }
                checked += 1;
            }
        }
    }
    println!("[{test}] {checked} (tier, length, offset) cases as expected");
}

#[test]
fn forward_in_place_matches_reference_on_every_tier() {
    for act in activations() {
        sweep(
            &format!("forward {act}"),
            act,
            Form::Forward,
            |k, x, _, offset| {
                let mut buf = guarded(x, offset);
                k.forward(act, &mut buf[GUARD + offset..GUARD + offset + x.len()])
                    .unwrap();
                check_guards(&buf, offset, x.len(), "forward");
                bits(&buf[GUARD + offset..GUARD + offset + x.len()])
            },
        );
    }
}

#[test]
fn forward_into_matches_reference_on_every_tier() {
    for act in activations() {
        sweep(
            &format!("forward_into {act}"),
            act,
            Form::Forward,
            |k, x, _, offset| {
                // Offset the input by `offset` and the output by a different one,
                // so input and output alignments differ.
                let src = guarded(x, offset);
                let out_off = (offset * 7 + 3) % 16;
                let mut out = guarded(&vec![0.0; x.len()], out_off);
                k.forward_into(
                    act,
                    &src[GUARD + offset..GUARD + offset + x.len()],
                    &mut out[GUARD + out_off..GUARD + out_off + x.len()],
                )
                .unwrap();
                check_guards(&out, out_off, x.len(), "forward_into");
                assert_eq!(
                    bits(&src[GUARD + offset..GUARD + offset + x.len()]),
                    bits(x),
                    "forward_into changed its input"
                );
                bits(&out[GUARD + out_off..GUARD + out_off + x.len()])
            },
        );
    }
}

fn saved_forms() -> [(&'static str, bool); 2] {
    [("input", false), ("output", true)]
}

/// Whether the gradient from the output is defined for `act`; if not, the
/// engine must refuse it (tested in `errors`), so the sweep skips it.
fn allowed(act: Activation, from_output: bool) -> bool {
    !from_output || act.gradient_from_output().is_ok()
}

#[test]
fn backward_in_place_matches_reference_on_every_tier() {
    for act in activations() {
        for (form, from_output) in saved_forms() {
            if !allowed(act, from_output) {
                continue;
            }
            sweep(
                &format!("backward {act} from {form}"),
                act,
                Form::Backward { from_output },
                |k, x, g, offset| {
                    let n = x.len();
                    let saved_buf = guarded(x, (offset + 5) % 16);
                    let s = &saved_buf[GUARD + (offset + 5) % 16..][..n];
                    let saved = if from_output {
                        Saved::Output(s)
                    } else {
                        Saved::Input(s)
                    };
                    let mut grad = guarded(g, offset);
                    k.backward(act, saved, &mut grad[GUARD + offset..GUARD + offset + n])
                        .unwrap();
                    check_guards(&grad, offset, n, "backward");
                    bits(&grad[GUARD + offset..GUARD + offset + n])
                },
            );
        }
    }
}

#[test]
fn backward_into_matches_reference_on_every_tier() {
    for act in activations() {
        for (form, from_output) in saved_forms() {
            if !allowed(act, from_output) {
                continue;
            }
            sweep(
                &format!("backward_into {act} from {form}"),
                act,
                Form::Backward { from_output },
                |k, x, g, offset| {
                    let n = x.len();
                    let saved = if from_output {
                        Saved::Output(x)
                    } else {
                        Saved::Input(x)
                    };
                    let gbuf = guarded(g, (offset + 9) % 16);
                    let mut out = guarded(&vec![0.0; n], offset);
                    k.backward_into(
                        act,
                        saved,
                        &gbuf[GUARD + (offset + 9) % 16..][..n],
                        &mut out[GUARD + offset..GUARD + offset + n],
                    )
                    .unwrap();
                    check_guards(&out, offset, n, "backward_into");
                    bits(&out[GUARD + offset..GUARD + offset + n])
                },
            );
        }
    }
}

/// Runs `write(input, output)` with both in one arena: `x` at its start,
/// the output `4096 + 4 * d` bytes further on (so `d` elements past it
/// modulo 4 KiB), guards everywhere else; checks the guards and returns the
/// output's bits.
fn written_past(x: &[f32], d: usize, write: impl FnOnce(&[f32], &mut [f32])) -> Vec<u32> {
    let (n, at) = (x.len(), 1024 + d);
    let mut buf = vec![f32::from_bits(GUARD_BITS); at + n + GUARD];
    buf[..n].copy_from_slice(x);
    let before = buf.clone();
    let (head, tail) = buf.split_at_mut(at);
    write(&head[..n], &mut tail[..n]);
    for (i, (a, b)) in buf.iter().zip(&before).enumerate() {
        if i < at || i >= at + n {
            assert_eq!(a.to_bits(), b.to_bits(), "wrote outside its slice at {i}");
        }
    }
    bits(&buf[at..at + n])
}

/// The output of `forward_into` written 4 to 244 bytes past the input
/// modulo 4 KiB (offset `o` puts it `1 + 4 * o` elements past): the
/// placements where the kernels load a block ahead of their stores.
#[test]
fn forward_into_written_just_past_the_input_modulo_4k() {
    for act in activations() {
        sweep(
            &format!("forward_into {act}, past the input"),
            act,
            Form::Forward,
            |k, x, _, offset| {
                written_past(x, 1 + 4 * offset, |x, out| {
                    k.forward_into(act, x, out).unwrap()
                })
            },
        );
    }
}

/// The gradient written 4 to 244 bytes past the saved values modulo 4 KiB
/// (offset `o` puts it `1 + 4 * o` elements past): the placements where the
/// gradient kernels load a block ahead of their stores (4K aliasing), in
/// place and into.
#[test]
fn backward_written_just_past_the_saved_values_modulo_4k() {
    for act in activations() {
        for (form, from_output) in saved_forms() {
            if !allowed(act, from_output) {
                continue;
            }
            for into in [false, true] {
                sweep(
                    &format!("backward {act} from {form}, into {into}, past the saved values"),
                    act,
                    Form::Backward { from_output },
                    |k, x, g, offset| {
                        written_past(x, 1 + 4 * offset, |s, out| {
                            let saved = if from_output {
                                Saved::Output(s)
                            } else {
                                Saved::Input(s)
                            };
                            if into {
                                k.backward_into(act, saved, g, out).unwrap();
                            } else {
                                out.copy_from_slice(g);
                                k.backward(act, saved, out).unwrap();
                            }
                        })
                    },
                );
            }
        }
    }
}

/// Large random buffers (any bit pattern) on every tier: the unrolled main
/// loop, not only the short cases.
#[test]
fn long_random_buffers_match_reference_on_every_tier() {
    let reference = Kernels::new(Isa::Scalar).unwrap().serial();
    let mut rng = Rng(12345);
    let n = 100_003;
    let x: Vec<f32> = (0..n).map(|_| f32::from_bits(rng.next())).collect();
    let g: Vec<f32> = (0..n).map(|_| rng.value()).collect();
    for k in tiers("long random") {
        for act in activations() {
            // The reference's bits for the ReLU family, the tier's own
            // canonical call for the exponential ops (in place vs out of place).
            let engine = if act.is_exponential() { k } else { reference };
            let mut got = x.clone();
            k.forward(act, &mut got).unwrap();
            let want = canonical(&engine, act, Form::Forward, &x, &g);
            assert_eq!(bits(&got), want, "forward {act} on {}", k.isa());
            let mut got = g.clone();
            k.backward(act, Saved::Input(&x), &mut got).unwrap();
            let want = canonical(&engine, act, Form::Backward { from_output: false }, &x, &g);
            assert_eq!(bits(&got), want, "backward {act} on {}", k.isa());
        }
    }
}

/// A buffer long enough for the walk to prefetch its input (past 2^20
/// elements) gives the bits of the same tier's calls on short pieces of it,
/// forward and backward, in place.
#[test]
fn buffers_long_enough_to_prefetch_match_short_calls() {
    let mut rng = Rng(777);
    let n = (1 << 20) + 1003;
    let x: Vec<f32> = (0..n).map(|_| rng.value()).collect();
    let g: Vec<f32> = (0..n).map(|_| rng.value()).collect();
    let piece = 1 << 16;
    for k in tiers("prefetching") {
        for act in activations() {
            let (mut long, mut short) = (x.clone(), x.clone());
            k.forward(act, &mut long).unwrap();
            for p in short.chunks_mut(piece) {
                k.forward(act, p).unwrap();
            }
            assert!(bits(&long) == bits(&short), "forward {act} on {}", k.isa());
            let (mut long, mut short) = (g.clone(), g.clone());
            k.backward(act, Saved::Input(&x), &mut long).unwrap();
            for (p, v) in short.chunks_mut(piece).zip(x.chunks(piece)) {
                k.backward(act, Saved::Input(v), p).unwrap();
            }
            assert!(bits(&long) == bits(&short), "backward {act} on {}", k.isa());
        }
    }
}
