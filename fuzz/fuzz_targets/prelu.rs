//! PReLU forward and backward (with and without the slope gradient, from the
//! input and the output, in place and into) over arbitrary layouts and
//! slopes, on every tier against the reference and the slope gradient's
//! bound, under the contract of `tests/common/contract.rs`.
#![no_main]

mod bytes;
#[path = "../../tests/common/contract.rs"]
mod contract;

use contract::{check, Call, Case};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut b = bytes::Bytes(data);
    let channels = usize::from(b.u8() % 24);
    let inner = match b.u8() % 4 {
        0 => 1,
        1 => usize::from(b.u8() % 16),
        _ => usize::from(b.u16() % 700),
    };
    let outer = usize::from(b.u8() % 8);
    let n = outer * channels * inner;
    let form = b.u8();
    let (from_output, into) = (form & 1 == 1, form & 2 == 2);
    let call = if form & 4 == 4 {
        Call::Prelu {
            outer,
            channels,
            inner,
            into,
        }
    } else {
        Call::PreluBackward {
            outer,
            channels,
            inner,
            from_output,
            into,
            grad_w: (form & 8 == 8).then(|| b.maybe_off(channels)),
            add: form & 16 == 16,
        }
    };
    let offsets = b.offsets();
    let (nx, nout, nw) = (b.maybe_off(n), b.maybe_off(n), b.maybe_off(channels));
    let case = Case {
        call,
        w: b.f32s(nw),
        x: b.f32s(nx),
        g: b.f32s(n),
        out: b.f32s(nout),
        idx: Vec::new(),
        offsets,
    };
    check(&case);
});
