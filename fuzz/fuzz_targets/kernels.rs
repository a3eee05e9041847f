//! The kernels crate's safe API driven directly, with sizes anywhere in
//! `usize` and short slices, on every tier: each call must run within its
//! slices or be refused with a panic that names it (see
//! `tests/common/kernel_calls.rs`). CI builds it with overflow checks, so a
//! size computation that wraps panics without a name (a failure), and
//! AddressSanitizer reports any access past a slice; the release build of
//! the same checks is `tests/kernel_sizes.rs` under `cargo test --release`.
#![no_main]

#[path = "../../tests/common/kernel_calls.rs"]
mod kernel_calls;
#[path = "../../tests/common/kernel_draw.rs"]
mod kernel_draw;

use kernel_calls::check;
use kernel_draw::Draw;
use libfuzzer_sys::fuzz_target;
use rectify_kernels::{Isa, KernelSet};

fuzz_target!(|data: &[u8]| {
    let mut bytes = data.iter().copied();
    let mut draw = Draw(move || bytes.next().unwrap_or(0));
    for _ in 0..4 {
        let call = draw.call();
        for &isa in Isa::available() {
            check(&KernelSet::new(isa).unwrap(), &call);
        }
    }
});
