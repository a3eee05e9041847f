//! Drawing calls of the kernels crate (`kernel_calls.rs`) from a stream of
//! bytes: the fuzzer's input, or a seeded generator's in
//! `tests/kernel_sizes.rs`.

#![allow(dead_code)] // each user takes a part

use crate::kernel_calls::{pieces, KernelCall, Sums, MAX_SLICE};

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
            6 | 7 => {
                let (stride, rows) = (self.size(), self.size());
                let width = usize::from(self.byte() % 20);
                let width = self.len_like(Some(width));
                let need = match rows {
                    0 => Some(0),
                    r => (r - 1)
                        .checked_mul(stride)
                        .and_then(|s| s.checked_add(width)),
                };
                let saved_len = self.len_like(need);
                KernelCall::PatternBackward {
                    saved_len,
                    grad_len: self.maybe(|d| d.len_like(Some(saved_len))),
                    dst_len: self.len_like(Some(saved_len)),
                    stride,
                    rows,
                    width,
                    acc_len: self.maybe(|d| d.len_like(Some(width))),
                }
            }
            8 => {
                let inner = self.size();
                let w_len = usize::from(self.byte() % 40);
                let w_len = self.len_like(Some(w_len));
                let dst_len = self.len_like(w_len.checked_mul(inner));
                KernelCall::OneImageBackward {
                    saved_len: self.len_like(Some(dst_len)),
                    grad_len: self.maybe(|d| d.len_like(Some(dst_len))),
                    dst_len,
                    w_len,
                    inner,
                    sums_len: self.maybe(|d| d.len_like(Some(w_len))),
                }
            }
            9 => {
                let dst_len = self.len();
                KernelCall::RunsForward {
                    src_len: self.maybe(|d| d.len_like(Some(dst_len))),
                    dst_len,
                    w_len: self.len(),
                    channel: self.size(),
                    inner: self.size(),
                    offset: self.size(),
                }
            }
            10 | 11 => {
                let dst_len = self.len();
                let w_len = usize::from(self.byte() % 8) + 1;
                let (w_len, channel, inner, offset, piece) = (
                    self.len_like(Some(w_len)),
                    self.size(),
                    self.size(),
                    self.size(),
                    self.size(),
                );
                let counted = (inner > 0 && offset < inner && piece > 0)
                    .then(|| pieces(dst_len, inner, offset, piece) as usize);
                let sums = match self.byte() % 3 {
                    0 => Sums::None,
                    1 => Sums::PerPiece(self.len_like(counted)),
                    _ => Sums::PerChannel(self.len_like(Some(w_len))),
                };
                KernelCall::RunsBackward {
                    saved_len: self.len_like(Some(dst_len)),
                    grad_len: self.maybe(|d| d.len_like(Some(dst_len))),
                    dst_len,
                    w_len,
                    channel: channel % w_len.max(1),
                    inner,
                    offset,
                    piece,
                    sums,
                }
            }
            12 => KernelCall::Pieces {
                w_len: self.len(),
                channel: self.size(),
                inner: self.size(),
                offset: self.size(),
                n: self.len(),
                piece: self.size(),
            },
            13 => {
                let dst_len = self.len();
                KernelCall::RowsForward {
                    src_len: self.maybe(|d| d.len_like(Some(dst_len))),
                    dst_len,
                    w_len: self.len(),
                    offset: self.size(),
                }
            }
            14 => {
                let dst_len = self.len();
                let q = [24, 32, 48, 64, 12, 16][usize::from(self.byte() % 6)];
                let q = self.len_like(Some(q));
                if self.byte().is_multiple_of(2) {
                    KernelCall::PeriodicForward {
                        src_len: self.maybe(|d| d.len_like(Some(dst_len))),
                        dst_len,
                        q,
                        offset: self.size(),
                    }
                } else {
                    KernelCall::PeriodicBackward {
                        saved_len: self.len_like(Some(dst_len)),
                        grad_len: self.maybe(|d| d.len_like(Some(dst_len))),
                        dst_len,
                        q,
                        partials_len: self.maybe(|d| d.len()),
                    }
                }
            }
            _ => {
                if self.byte().is_multiple_of(4) {
                    return KernelCall::Accumulators { len: self.size() };
                }
                let dst_len = self.len();
                KernelCall::PatternForward {
                    row_len: self.len(),
                    min_len: self.size(),
                    max_len: self.size(),
                    src_len: self.maybe(|d| d.len_like(Some(dst_len))),
                    dst_len,
                    offset: self.size(),
                }
            }
        }
    }
}
