//! The element-wise entry points (forward and backward, in place and into,
//! from the input and the output, the process-wide engine) on every tier against
//! the reference, under the contract of `tests/common/contract.rs`.
#![no_main]

mod bytes;
#[path = "../../tests/common/contract.rs"]
mod contract;

use contract::{check, Call, Case};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut b = bytes::Bytes(data);
    let act = b.activation();
    let form = b.u8();
    let (from_output, into) = (form & 1 == 1, form & 2 == 2);
    let call = if form & 4 == 4 {
        Call::Forward { act, into }
    } else {
        Call::Backward {
            act,
            from_output,
            into,
        }
    };
    let n = usize::from(b.u16() % 1100);
    let offsets = b.offsets();
    let (ng, nout) = (b.maybe_off(n), b.maybe_off(n));
    let case = Case {
        call,
        x: b.f32s(n),
        g: b.f32s(ng),
        out: b.f32s(nout),
        w: Vec::new(),
        idx: Vec::new(),
        offsets,
    };
    check(&case);
});
