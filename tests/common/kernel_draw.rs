//! Drawing calls of the kernels crate (`kernel_calls.rs`) from a stream of
//! bytes: the fuzzer's input, or a seeded generator's in
//! `tests/kernel_sizes.rs`.

#![allow(dead_code)] // each user takes a part

use crate::kernel_calls::{channels_met, KernelCall, Slope, MAX_SLICE};

/// Sizes where arithmetic goes wrong: small ones, powers of two and their
/// neighbours, and the top of `usize`, where products and sums wrap.
pub const EDGE_SIZES: [usize; 20] = [
    0,
    1,
    2,
    3,
    4,
    7,
    8,
    16,
    17,
    64,
    256,
    257,
    1 << 24,
    (1 << 24) + 2,
    1 << 32,
    (1 << 32) + 1,
    (1 << 60) + 1,
    (1 << 62) + 1,
    usize::MAX / 2 + 1,
    usize::MAX,
];

/// Draws calls from a stream of bytes (the fuzzer's input, or a seeded
/// generator's): sizes from [`EDGE_SIZES`] or any `usize`, slice lengths up
/// to [`MAX_SLICE`], often consistent with the sizes so that valid calls
/// are common too.
pub struct Draw<F: FnMut() -> u8>(pub F);

impl<F: FnMut() -> u8> Draw<F> {
    fn byte(&mut self) -> u8 {
        (self.0)()
    }

    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        [0; N].map(|_| self.byte())
    }

    /// Any size, edges most often.
    pub fn size(&mut self) -> usize {
        match self.byte() % 26 {
            i @ 0..20 => EDGE_SIZES[usize::from(i)],
            20 => usize::MAX - usize::from(self.byte()),
            21 => usize::from(self.byte()),
            22 => usize::from(u16::from_le_bytes(self.bytes())),
            23 => u32::from_le_bytes(self.bytes()) as usize,
            _ => u64::from_le_bytes(self.bytes()) as usize,
        }
    }

    /// A slice length.
    pub fn len(&mut self) -> usize {
        match self.byte() % 4 {
            0 => usize::from(self.byte() % 4),
            1 => [16, 17, 48, 64][usize::from(self.byte() % 4)],
            _ => usize::from(u16::from_le_bytes(self.bytes())) % (MAX_SLICE + 1),
        }
    }

    /// `want` when it is a slice length and the next byte says so, else
    /// another length: consistent calls are common, not the rule.
    fn len_like(&mut self, want: Option<usize>) -> usize {
        match want {
            Some(w) if w <= MAX_SLICE && !self.byte().is_multiple_of(4) => w,
            _ => self.len(),
        }
    }

    /// A Maxout output length: a few rows of `inner` when that is a slice
    /// length (and the next byte says so), else another length.
    fn maxout_out_len(&mut self, inner: usize) -> usize {
        let rows = usize::from(self.byte() % 4);
        self.len_like(inner.checked_mul(rows))
    }

    fn maybe<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> Option<T> {
        if self.byte().is_multiple_of(2) {
            Some(f(self))
        } else {
            None
        }
    }

    /// One call.
    pub fn call(&mut self) -> KernelCall {
        match self.byte() % 16 {
            0 => {
                let x_len = self.len();
                KernelCall::ForwardInto {
                    x_len,
                    y_len: self.len_like(Some(x_len)),
                }
            }
            1 => {
                let saved_len = self.len();
                KernelCall::BackwardInto {
                    saved_len,
                    grad_len: self.len_like(Some(saved_len)),
                    out_len: self.len_like(Some(saved_len)),
                }
            }
            2 | 3 => {
                let (k, inner) = (self.size(), self.size());
                let y_len = self.maxout_out_len(inner);
                let x_len = self.len_like(y_len.checked_mul(k));
                let index = self.byte() % 3;
                KernelCall::MaxoutForward {
                    x_len,
                    k,
                    inner,
                    y_len,
                    index,
                    idx_len: self.len_like(Some(y_len)),
                }
            }
            4 => {
                let (k, inner) = (self.size(), self.size());
                let gy_len = self.maxout_out_len(inner);
                let x_len = self.len_like(gy_len.checked_mul(k));
                KernelCall::MaxoutBackward {
                    x_len,
                    k,
                    inner,
                    gy_len,
                    gx_len: self.len_like(Some(x_len)),
                }
            }
            5 => {
                let (k, inner) = (self.size(), self.size());
                let gy_len = self.maxout_out_len(inner);
                KernelCall::MaxoutIndexed {
                    idx_len: self.len_like(Some(gy_len)),
                    gy_len,
                    gx_len: self.len_like(gy_len.checked_mul(k)),
                    k,
                    inner,
                }
            }
            6..=9 => {
                let (w_len, inner, len, start, dst_len) = self.prelu_span();
                KernelCall::PreluForward {
                    w_len,
                    inner,
                    len,
                    start,
                    src_len: self.maybe(|d| d.len_like(Some(dst_len))),
                    dst_len,
                }
            }
            10..=14 => {
                let (w_len, inner, len, start, dst_len) = self.prelu_span();
                let met = (inner > 0).then(|| channels_met(w_len, inner, start, dst_len) as usize);
                KernelCall::PreluBackward {
                    w_len,
                    inner,
                    len,
                    start,
                    saved_len: self.len_like(Some(dst_len)),
                    grad_len: self.maybe(|d| d.len_like(Some(dst_len))),
                    dst_len,
                    slope: match self.byte() % 3 {
                        0 => None,
                        1 => Some(Slope::Sums(self.len_like(met))),
                        _ => Some(Slope::GradW {
                            len: self.len_like(Some(w_len)),
                            from_output: self.byte().is_multiple_of(2),
                            add: self.byte().is_multiple_of(2),
                        }),
                    },
                }
            }
            _ => {
                let gw_len = self.len();
                KernelCall::PreluGradW {
                    sums_len: self.len_like(Some(gw_len)),
                    w_len: self.len_like(Some(gw_len)),
                    gw_len,
                    from_output: self.byte().is_multiple_of(2),
                    add: self.byte().is_multiple_of(2),
                }
            }
        }
    }

    /// A PReLU buffer and a span of it: `(w_len, inner, len, start, n)`,
    /// the slopes a slice, `inner` small or any size, the length often
    /// whole rows and the span often inside it.
    fn prelu_span(&mut self) -> (usize, usize, usize, usize, usize) {
        let few = usize::from(self.byte() % 40);
        let w_len = self.len_like(Some(few));
        let inner = match self.byte() % 2 {
            0 => usize::from(self.byte() % 40),
            _ => self.size(),
        };
        let rows = self.size();
        let whole = w_len.checked_mul(inner).and_then(|r| r.checked_mul(rows));
        let len = match whole {
            Some(len) if !self.byte().is_multiple_of(4) => len,
            _ => self.size(),
        };
        let n = self.len();
        let room = len.checked_sub(n).and_then(|r| r.checked_add(1));
        let start = match room {
            Some(room) if !self.byte().is_multiple_of(4) => self.size() % room,
            _ => self.size(),
        };
        (w_len, inner, len, start, n)
    }
}
