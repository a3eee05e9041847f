//! The contract checker shared by the property tests (`tests/properties.rs`)
//! and the fuzz targets (`fuzz/`): one [`Case`] is one call of a public entry
//! point with arbitrary buffers and parameters, and [`check`] runs it on the
//! scalar reference and on every tier this host has (serial and split across
//! threads, plus the process-wide engine), then asserts the
//! contract:
//!
//! - a refused call returns the reference's `Error` on every tier and leaves
//!   every buffer, inputs and outputs, bit for bit as it was;
//! - an accepted call gives the reference's bits for the ReLU family, PReLU
//!   and Maxout (values, indices and gradients), results within the
//!   documented ULP bound of the f64 oracle for the exponential ops (with the
//!   reference's signed zeros and NaN payloads), and slope gradients within
//!   PReLU's documented bound of the exact sum, bit-identical whether the
//!   call ran on one thread or several;
//! - inputs are never written, and nothing outside the output slices is.
//!
//! Every buffer a kernel sees ends flush against the end of its allocation
//! ([`Flush`]), so under AddressSanitizer a read or write one element past
//! the end is reported, not absorbed by slack.

#![allow(dead_code)] // each test binary or fuzz target uses a part

#[path = "tiers.rs"]
mod under_test;
pub use under_test::tiers_under_test;

use rectify::accuracy::{
    backward_bound, exact_backward, exact_forward, forward_bound, gradient_bound_applies, ulp_error,
};
use rectify::{Activation, ChannelLayout, Error, Grad, Isa, Kernels, Saved};

/// Bit patterns of the special values every suite starts from: zeros,
/// infinities, NaNs with payloads (quiet and signalling, both signs),
/// subnormals, the normal range's ends, ±1. Suites append their own edges.
pub const SPECIAL_BITS: [u32; 20] = [
    0x0000_0000,
    0x8000_0000,
    0x7f80_0000,
    0xff80_0000,
    0x7fc0_0000,
    0xffc0_0000,
    0x7fc0_1234,
    0xffc5_4321,
    0x7f80_0001,
    0xff81_2345,
    0x0000_0001,
    0x8000_0001,
    0x007f_ffff,
    0x807f_ffff,
    0x0080_0000,
    0x8080_0000,
    0x7f7f_ffff,
    0xff7f_ffff,
    0x3f80_0000,
    0xbf80_0000,
];

/// A NaN no kernel produces from the inputs the checker builds: the fill of
/// the elements in front of every slice, checked after each call.
pub const GUARD_BITS: u32 = 0x7fbe_efed;

/// `offset` guard elements followed by the data, in an allocation of exactly
/// `offset + len` elements: the data's slice ends where the allocation ends.
pub struct Flush<T> {
    buf: Vec<T>,
    offset: usize,
    guard: T,
}

impl<T: bytemuck::Pod> Flush<T> {
    pub fn new(data: &[T], offset: usize, guard: T) -> Flush<T> {
        let mut buf = Vec::with_capacity(offset + data.len());
        buf.resize(offset, guard);
        buf.extend_from_slice(data);
        debug_assert_eq!(buf.capacity(), buf.len());
        Flush { buf, offset, guard }
    }

    pub fn data(&self) -> &[T] {
        &self.buf[self.offset..]
    }

    pub fn data_mut(&mut self) -> &mut [T] {
        &mut self.buf[self.offset..]
    }

    fn guards_intact(&self) -> bool {
        let guard = bytemuck::bytes_of(&self.guard);
        bytemuck::cast_slice::<T, u8>(&self.buf[..self.offset])
            .chunks(guard.len())
            .all(|g| g == guard)
    }
}

fn flush_f32(data: &[f32], offset: usize) -> Flush<f32> {
    Flush::new(data, offset, f32::from_bits(GUARD_BITS))
}

/// Which winners' index buffer a Maxout call writes or reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexKind {
    None,
    U8,
    U32,
}

/// One call of a public entry point. Lengths that do not fit each other are
/// allowed on purpose: the call must then be refused.
#[derive(Clone, Debug)]
pub enum Call {
    /// `forward` (in place) or `forward_into(x, out)`.
    Forward { act: Activation, into: bool },
    /// `backward(saved = x, grad = g)` or `backward_into(x, g, out)`.
    Backward {
        act: Activation,
        from_output: bool,
        into: bool,
    },
    /// `prelu(x, w)` or `prelu_into(x, w, out)` over the layout of shape
    /// `[outer, channels, inner]` (when it has one: else its `Error`).
    Prelu {
        outer: usize,
        channels: usize,
        inner: usize,
        into: bool,
    },
    /// `prelu_backward(saved = x, w, grad = g, grad_w)` or the `_into` form
    /// writing `out`, over the layout of shape `[outer, channels, inner]`;
    /// `grad_w` has `grad_w` elements when given, and is added to (it
    /// starts as [`GW_FILL`]) rather than written when `add`.
    PreluBackward {
        outer: usize,
        channels: usize,
        inner: usize,
        from_output: bool,
        into: bool,
        grad_w: Option<usize>,
        add: bool,
    },
    /// `maxout_with_index(x, k, inner, out, index)`, the index buffer having
    /// `idx_len` elements.
    Maxout {
        k: usize,
        inner: usize,
        index: IndexKind,
        idx_len: usize,
    },
    /// `maxout_backward(saved, k, inner, grad_out = g, grad_in = out)`, saved
    /// being `x` or the indices `idx` (`IndexKind::None` means the input);
    /// the gradient added to `out` rather than written when `add`.
    MaxoutBackward {
        k: usize,
        inner: usize,
        saved: IndexKind,
        add: bool,
    },
}

impl Call {
    /// Maxout forward (`index` written, `idx_len` elements) or backward
    /// (from the input for `IndexKind::None`, else from the indices; added
    /// to its output when `add`), with
    /// the output and gradient lengths the layout implies: `(call, g_len,
    /// out_len)` for `ny` outputs and `nx` inputs.
    pub fn maxout(
        (backward, add): (bool, bool),
        k: usize,
        inner: usize,
        index: IndexKind,
        idx_len: usize,
        (nx, ny): (usize, usize),
    ) -> (Call, usize, usize) {
        if backward {
            // grad_out = g (ny) -> grad_in = out (nx).
            let call = Call::MaxoutBackward {
                k,
                inner,
                saved: index,
                add,
            };
            (call, ny, nx)
        } else {
            let call = Call::Maxout {
                k,
                inner,
                index,
                idx_len,
            };
            (call, 0, ny)
        }
    }
}

/// Deterministic test data (xorshift32): every third value any bit pattern,
/// the others in [-4, 4).
pub fn pseudo_random(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed | 1;
    (0..n)
        .map(|i| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            if i % 3 == 0 {
                f32::from_bits(s)
            } else {
                (s as f32 / u32::MAX as f32) * 8.0 - 4.0
            }
        })
        .collect()
}

/// A call with its buffers. `x` is the input (or the saved tensor), `g` the
/// incoming gradient, `out` the output buffer's initial contents (its length
/// is the output's length), `w` PReLU's slopes, `idx` Maxout's saved
/// indices; `offsets` are the guard counts in front of x, g/out and w/idx.
#[derive(Clone, Debug)]
pub struct Case {
    pub call: Call,
    pub x: Vec<f32>,
    pub g: Vec<f32>,
    pub out: Vec<f32>,
    pub w: Vec<f32>,
    pub idx: Vec<u32>,
    pub offsets: [usize; 3],
}

/// Who runs a call: an engine made for the test, or the process-wide one
/// (`Kernels::from_env()`, shared by every thread).
#[derive(Clone, Copy, Debug)]
enum Runner {
    Engine(Kernels),
    Global,
}

impl Runner {
    fn isa(&self) -> Isa {
        match self {
            Runner::Engine(k) => k.isa(),
            Runner::Global => Kernels::from_env().isa(),
        }
    }
    fn engine(&self) -> Kernels {
        match self {
            Runner::Engine(k) => *k,
            Runner::Global => *Kernels::from_env(),
        }
    }
    fn is_parallel(&self) -> bool {
        match self {
            Runner::Engine(k) => k.parallel_threshold().is_some(),
            Runner::Global => Kernels::from_env().parallel_threshold().is_some(),
        }
    }
}

/// Every buffer of one run, after the call, with its result.
struct Run {
    result: Result<(), Error>,
    x: Flush<f32>,
    g: Flush<f32>,
    out: Flush<f32>,
    w: Flush<f32>,
    gw: Flush<f32>,
    idx8: Flush<u8>,
    idx32: Flush<u32>,
}

/// The initial contents of PReLU's slope-gradient buffer.
const GW_FILL: f32 = 1234.5;

fn run(case: &Case, runner: Runner) -> Run {
    let [ox, og, ow] = case.offsets;
    let idx8: Vec<u8> = case.idx.iter().map(|&i| i as u8).collect();
    let mut r = Run {
        result: Ok(()),
        x: flush_f32(&case.x, ox),
        g: flush_f32(&case.g, og),
        out: flush_f32(&case.out, (og + 5) % 16),
        w: flush_f32(&case.w, ow),
        gw: flush_f32(&[], 0),
        idx8: Flush::new(&idx8, ow, 0xa5),
        idx32: Flush::new(&case.idx, ow, 0xa5a5_a5a5),
    };
    let k = runner.engine();
    r.result = match case.call {
        Call::Forward { act, into: false } => k.forward(act, r.x.data_mut()),
        Call::Forward { act, into: true } => k.forward_into(act, r.x.data(), r.out.data_mut()),
        Call::Backward {
            act,
            from_output,
            into,
        } => {
            let saved = saved(r.x.data(), from_output);
            if into {
                k.backward_into(act, saved, r.g.data(), r.out.data_mut())
            } else {
                k.backward(act, saved, r.g.data_mut())
            }
        }
        Call::Prelu {
            outer,
            channels,
            inner,
            into,
        } => ChannelLayout::from_shape(&[outer, channels, inner], 1).and_then(|layout| {
            if into {
                k.prelu_into(r.x.data(), r.w.data(), layout, r.out.data_mut())
            } else {
                k.prelu(r.x.data_mut(), r.w.data(), layout)
            }
        }),
        Call::PreluBackward {
            outer,
            channels,
            inner,
            from_output,
            into,
            grad_w,
            add,
        } => {
            let layout = ChannelLayout::from_shape(&[outer, channels, inner], 1);
            let saved = saved(r.x.data(), from_output);
            if let Some(n) = grad_w {
                r.gw = flush_f32(&vec![GW_FILL; n], (ow + 3) % 16);
            }
            let gw = grad_w.map(|_| grad(r.gw.data_mut(), add));
            layout.and_then(|layout| {
                if into {
                    let (g, out) = (r.g.data(), r.out.data_mut());
                    k.prelu_backward_into(saved, r.w.data(), layout, g, out, gw)
                } else {
                    k.prelu_backward(saved, r.w.data(), layout, r.g.data_mut(), gw)
                }
            })
        }
        Call::Maxout {
            k: pieces,
            inner,
            index,
            idx_len,
        } => {
            r.idx8 = Flush::new(&vec![0xa5; idx_len], ow, 0xa5);
            r.idx32 = Flush::new(&vec![0xa5a5_a5a5; idx_len], ow, 0xa5a5_a5a5);
            let (x, y) = (r.x.data(), r.out.data_mut());
            match index {
                IndexKind::None => k.maxout(x, pieces, inner, y),
                IndexKind::U8 => k.maxout_with_index(x, pieces, inner, y, r.idx8.data_mut()),
                IndexKind::U32 => k.maxout_with_index(x, pieces, inner, y, r.idx32.data_mut()),
            }
        }
        Call::MaxoutBackward {
            k: pieces,
            inner,
            saved,
            add,
        } => {
            let (g, out) = (r.g.data(), grad(r.out.data_mut(), add));
            match saved {
                IndexKind::None => k.maxout_backward(r.x.data(), pieces, inner, g, out),
                IndexKind::U8 => k.maxout_backward_indexed(r.idx8.data(), pieces, inner, g, out),
                IndexKind::U32 => k.maxout_backward_indexed(r.idx32.data(), pieces, inner, g, out),
            }
        }
    };
    r
}

fn grad(buf: &mut [f32], add: bool) -> Grad<'_> {
    if add {
        Grad::Add(buf)
    } else {
        Grad::Write(buf)
    }
}

fn saved(v: &[f32], from_output: bool) -> Saved<'_> {
    if from_output {
        Saved::Output(v)
    } else {
        Saved::Input(v)
    }
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|f| f.to_bits()).collect()
}

/// The runners: every tier this host has, serial and split across threads
/// (from 64 elements, in chunks the engine picks), and the process-wide engine.
fn runners() -> Vec<Runner> {
    let mut v = Vec::new();
    for isa in tiers_under_test() {
        let k = Kernels::new(isa).expect("an available tier");
        v.push(Runner::Engine(k.serial()));
        // Without the `parallel` feature this one runs serially too. Under
        // Miri rayon's workers spin for minutes, and crossbeam-epoch trips
        // Stacked Borrows: the split is left to the native and ASan runs.
        if !cfg!(miri) {
            v.push(Runner::Engine(k.with_parallel_threshold(64)));
        }
    }
    v.push(Runner::Global);
    v
}

/// What one [`check`] compared: tier runs and output elements.
#[derive(Clone, Copy, Debug, Default)]
pub struct Checked {
    pub runs: usize,
    pub elements: usize,
    pub refused: bool,
}

/// Runs `case` on the reference and every runner and asserts the contract
/// (see the module docs); panics with a description of the first violation.
pub fn check(case: &Case) -> Checked {
    let reference = run(
        case,
        Runner::Engine(Kernels::new(Isa::Scalar).unwrap().serial()),
    );
    let mut checked = Checked {
        refused: reference.result.is_err(),
        ..Checked::default()
    };
    let mut serial_gw: Vec<(Isa, Vec<u32>)> = Vec::new();
    for runner in runners() {
        let got = run(case, runner);
        let what = format!("{:?} on {} ({runner:?})", case.call, runner.isa());
        // Debug strings: an `Error` may carry a NaN parameter, never equal to itself.
        assert_eq!(
            format!("{:?}", got.result),
            format!("{:?}", reference.result),
            "{what}: result differs from the reference's"
        );
        assert_untouched_inputs(case, &got, &what);
        if got.result.is_err() {
            assert_eq!(
                bits(got.out.data()),
                bits(&case.out),
                "{what}: refused but wrote its output"
            );
            assert_eq!(
                bits(got.g.data()),
                bits(&case.g),
                "{what}: refused but wrote the gradient"
            );
            assert_eq!(
                bits(got.x.data()),
                bits(&case.x),
                "{what}: refused but wrote x"
            );
            assert!(
                got.gw
                    .data()
                    .iter()
                    .all(|v| v.to_bits() == GW_FILL.to_bits()),
                "{what}: refused but wrote grad_w"
            );
            if matches!(case.call, Call::Maxout { .. }) {
                assert!(
                    got.idx8.data().iter().all(|&i| i == 0xa5),
                    "{what}: refused but wrote idx"
                );
                assert!(
                    got.idx32.data().iter().all(|&i| i == 0xa5a5_a5a5),
                    "{what}: refused but wrote idx"
                );
            }
        } else {
            checked.elements += compare_outputs(case, &reference, &got, runner.isa(), &what);
            if let Call::PreluBackward {
                grad_w: Some(_), ..
            } = case.call
            {
                let gw = bits(got.gw.data());
                if runner.is_parallel() {
                    if let Some((_, serial)) =
                        serial_gw.iter().find(|(isa, _)| *isa == runner.isa())
                    {
                        assert_eq!(
                            &gw, serial,
                            "{what}: slope gradient differs from the serial run's"
                        );
                    }
                } else {
                    serial_gw.push((runner.isa(), gw));
                }
            }
        }
        checked.runs += 1;
    }
    checked
}

/// Inputs are never written, and nothing in front of any slice is.
fn assert_untouched_inputs(case: &Case, got: &Run, what: &str) {
    let in_place_x = matches!(
        case.call,
        Call::Forward { into: false, .. } | Call::Prelu { into: false, .. }
    );
    if !in_place_x {
        assert_eq!(
            bits(got.x.data()),
            bits(&case.x),
            "{what}: wrote its input x"
        );
    }
    let in_place_g = matches!(
        case.call,
        Call::Backward { into: false, .. } | Call::PreluBackward { into: false, .. }
    );
    if !in_place_g {
        assert_eq!(
            bits(got.g.data()),
            bits(&case.g),
            "{what}: wrote its input gradient"
        );
    }
    assert_eq!(
        bits(got.w.data()),
        bits(&case.w),
        "{what}: wrote the slopes"
    );
    if matches!(case.call, Call::MaxoutBackward { .. }) {
        assert_eq!(got.idx32.data(), &case.idx[..], "{what}: wrote the indices");
    }
    for (name, ok) in [
        ("x", got.x.guards_intact()),
        ("g", got.g.guards_intact()),
        ("out", got.out.guards_intact()),
        ("w", got.w.guards_intact()),
        ("grad_w", got.gw.guards_intact()),
        ("idx u8", got.idx8.guards_intact()),
        ("idx u32", got.idx32.guards_intact()),
    ] {
        assert!(ok, "{what}: wrote in front of the {name} slice");
    }
}

/// The buffer a call wrote its result to.
fn result_of<'a>(case: &Case, r: &'a Run) -> &'a [f32] {
    match case.call {
        Call::Forward { into: false, .. } | Call::Prelu { into: false, .. } => r.x.data(),
        Call::Backward { into: false, .. } | Call::PreluBackward { into: false, .. } => r.g.data(),
        _ => r.out.data(),
    }
}

/// Compares an accepted call's outputs with the reference's; returns how many
/// elements it compared.
fn compare_outputs(case: &Case, reference: &Run, got: &Run, isa: Isa, what: &str) -> usize {
    let (want, have) = (result_of(case, reference), result_of(case, got));
    let exponential = match case.call {
        Call::Forward { act, .. } | Call::Backward { act, .. } => act.is_exponential(),
        _ => false,
    };
    if exponential && isa != Isa::Scalar {
        within_oracle(case, want, have, what);
    } else if exponential && cfg!(miri) {
        // The scalar tier's exponentials are the C library's; Miri perturbs
        // their results on purpose (a few ULP, differently on every call),
        // so two runs of the reference need not agree there.
    } else {
        assert_bits_eq(want, have, what, &case.x);
    }
    let mut n = have.len();
    match case.call {
        Call::Maxout {
            index: IndexKind::U8,
            ..
        } => {
            assert_eq!(
                got.idx8.data(),
                reference.idx8.data(),
                "{what}: u8 indices differ"
            );
            n += got.idx8.data().len();
        }
        Call::Maxout {
            index: IndexKind::U32,
            ..
        } => {
            assert_eq!(
                got.idx32.data(),
                reference.idx32.data(),
                "{what}: u32 indices differ"
            );
            n += got.idx32.data().len();
        }
        Call::PreluBackward {
            channels,
            inner,
            from_output,
            grad_w: Some(_),
            add,
            ..
        } => {
            let e = exact_sums(&case.x, &case.g, channels, inner);
            let divisor = from_output.then_some(&case.w[..]);
            let base = add.then_some(GW_FILL);
            assert_within_bound_of(got.gw.data(), &e, divisor, base, what);
            n += channels;
        }
        _ => {}
    }
    n
}

/// The same value bit for bit. Under Miri, any NaN equals any NaN: Rust
/// leaves the sign and payload of a NaN that arithmetic produces
/// unspecified, and Miri picks them at random (hardware is deterministic,
/// and the native runs compare every bit).
fn same_bits(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (cfg!(miri) && a.is_nan() && b.is_nan())
}

fn assert_bits_eq(want: &[f32], have: &[f32], what: &str, x: &[f32]) {
    if let Some(i) = (0..want.len()).find(|&i| !same_bits(want[i], have[i])) {
        panic!(
            "{what}: element {i} of {} is {:#010x}, the reference gives {:#010x} (x there {:?})",
            want.len(),
            have[i].to_bits(),
            want[i].to_bits(),
            x.get(i).map(|v| format!("{:#010x}", v.to_bits()))
        );
    }
}

/// The exponential ops: within the documented bound of the f64 oracle, with
/// the reference's NaN payloads and signed zeros, wherever the bound is
/// guaranteed ([`gradient_bound_applies`]).
fn within_oracle(case: &Case, want: &[f32], have: &[f32], what: &str) {
    let (act, bound, from_output) = match case.call {
        Call::Forward { act, .. } => (act, forward_bound(act), None),
        Call::Backward {
            act, from_output, ..
        } => (act, backward_bound(act), Some(from_output)),
        _ => unreachable!("only the element-wise ops are exponential"),
    };
    for i in 0..have.len() {
        let e = match from_output {
            None => exact_forward(act, case.x[i]),
            Some(from_output) => {
                if !gradient_bound_applies(act, from_output, case.x[i], case.g[i]) {
                    continue;
                }
                exact_backward(act, from_output, case.x[i], case.g[i])
            }
        };
        let err = ulp_error(have[i], e);
        let nan_or_zero = have[i].is_nan() || want[i].is_nan() || e == 0.0;
        assert!(
            err <= bound && (!nan_or_zero || same_bits(have[i], want[i])),
            "{what}: element {i}: x = {:#010x}, g = {:?}: got {:e} ({:#010x}), exact {e:e}, \
             reference {:#010x}: {err} ULP (bound {bound})",
            case.x[i].to_bits(),
            case.g.get(i).map(|g| g.to_bits()),
            have[i],
            have[i].to_bits(),
            want[i].to_bits()
        );
    }
}

/// `got[c]` against the exact sums `e`: `|gw - S| <= 2^-24 |S| + 2^-18 A +
/// count * 2^-149` where no term overflows f32, NaN exactly where `S` is NaN;
/// each sum divided by `divisor[c]` when given (the slope gradient from the
/// output, `sum(y * g) / w`).
pub fn assert_within_bound(got: &[f32], e: &ExactSums, divisor: Option<&[f32]>, what: &str) {
    assert_within_bound_of(got, e, divisor, None, what);
}

/// [`assert_within_bound`] for a slope gradient added to `base` (every
/// element started as `base`): `S` is `base + sum`, and the bound's `2^-24
/// |S|` term covers the one rounding of that total.
pub fn assert_within_bound_of(
    got: &[f32],
    e: &ExactSums,
    divisor: Option<&[f32]>,
    base: Option<f32>,
    what: &str,
) {
    for (c, &got_c) in got.iter().enumerate() {
        let (mut s, mut a, mut max, mut tiny) = (e.s[c], e.a[c], e.max[c], 2f64.powi(-149));
        if let Some(w) = divisor {
            // The sum of y * g in f64, divided by w once.
            let wc = f64::from(w[c]);
            (s, a, max, tiny) = (s / wc, a / wc.abs(), max / wc.abs(), tiny / wc.abs());
        }
        s += base.map_or(0.0, f64::from);
        if s.is_nan() || max.is_nan() {
            assert!(
                got_c.is_nan(),
                "{what}: grad_w[{c}] = {got_c:e}, exact sum NaN"
            );
            continue;
        }
        if max > f64::from(f32::MAX) || e.max[c] > f64::from(f32::MAX) {
            continue; // a term overflows f32: outside the guarantee
        }
        // The last term: the final rounding where the result is subnormal
        // (half its spacing, 2^-149, which no relative term covers).
        let bound = s.abs() * 2f64.powi(-24)
            + a * 2f64.powi(-18)
            + e.count[c] as f64 * tiny
            + 2f64.powi(-150);
        if got_c.is_infinite() {
            assert!(
                got_c.signum() as f64 == s.signum() && s.abs() + bound >= f64::from(f32::MAX),
                "{what}: grad_w[{c}] = {got_c:e}, exact {s:e}"
            );
            continue;
        }
        let err = (f64::from(got_c) - s).abs();
        assert!(
            err <= bound,
            "{what}: grad_w[{c}] = {got_c:e}, exact {s:e}: error {err:e} > bound {bound:e}"
        );
    }
}

/// Per channel: the slope gradient's exact sum `S` of `v * g` over the
/// elements with `v <= 0` or NaN, `A = sum |term|`, the element count and
/// the largest `|term|`, in f64 (products of two f32 are exact in f64; the
/// sums' own error is far below the bound).
pub struct ExactSums {
    pub s: Vec<f64>,
    pub a: Vec<f64>,
    pub count: Vec<usize>,
    pub max: Vec<f64>,
}

pub fn exact_sums(v: &[f32], g: &[f32], channels: usize, inner: usize) -> ExactSums {
    let mut e = ExactSums {
        s: vec![0.0; channels],
        a: vec![0.0; channels],
        count: vec![0; channels],
        max: vec![0.0; channels],
    };
    for i in 0..v.len() {
        let ch = (i / inner) % channels;
        e.count[ch] += 1;
        if v[i] <= 0.0 || v[i].is_nan() {
            let t = f64::from(v[i]) * f64::from(g[i]);
            e.s[ch] += t;
            e.a[ch] += t.abs();
            e.max[ch] = e.max[ch].max(t.abs());
        }
    }
    e
}
