//! Maxout forward (with no, u8 or u32 indices) and backward (from the input
//! or the indices) over arbitrary `k`, layouts and values, on every tier
//! against the reference, under the contract of `tests/common/contract.rs`.
#![no_main]

mod bytes;
#[path = "../../tests/common/contract.rs"]
mod contract;

use contract::{check, Call, Case, IndexKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut b = bytes::Bytes(data);
    let k = match b.u8() % 8 {
        7 => usize::from(b.u16() % 300),
        r => usize::from(r),
    };
    let inner = match b.u8() % 3 {
        0 => 1,
        1 => usize::from(b.u8() % 16),
        _ => usize::from(b.u16() % 300),
    };
    let outer = usize::from(b.u8() % 32);
    let kind = b.u8();
    let index = [IndexKind::None, IndexKind::U8, IndexKind::U32][usize::from(kind % 3)];
    let (backward, add) = (kind & 4 == 4, kind & 8 == 8);
    let offsets = b.offsets();
    let (ny, nx) = (b.maybe_off(outer * inner), b.maybe_off(outer * k * inner));
    let nidx = b.maybe_off(outer * inner);
    let (call, g_len, out_len) = Call::maxout((backward, add), k, inner, index, nidx, (nx, ny));
    // Indices mostly in range (a stray one must be refused).
    let idx = (0..nidx)
        .map(|_| match b.u8() {
            255 => b.u32(),
            v => u32::from(v) % k.max(1) as u32,
        })
        .collect();
    let case = Case {
        call,
        x: b.f32s(nx),
        g: b.f32s(g_len),
        out: b.f32s(out_len),
        w: Vec::new(),
        idx,
        offsets,
    };
    check(&case);
});
