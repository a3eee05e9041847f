//! Calls into `rectify_kernels`' safe API with arbitrary sizes, and what
//! must come of them: shared by `tests/kernel_sizes.rs` (a grid of extreme
//! sizes, in debug and in release builds) and the `kernels` fuzz target
//! (arbitrary ones, built with `-O`, where integer overflow wraps).
//!
//! Every safe function of the kernels crate either refuses a call with a
//! panic that names its operation ("maxout: ...", "prelu: ...") or runs it
//! within its slices. So for each call this module:
//!
//! - works out in `u128`, independently of the crate's own checks, whether
//!   the arguments are valid by the method's documentation;
//! - makes the call and catches a refusal;
//! - fails unless a valid call ran and an invalid one was refused with a
//!   named message (a wrapped size that slipped through, an arithmetic
//!   overflow or an indexing panic all fail);
//! - checks the guard elements after every f32 slice (no write past its
//!   end); the fuzz build runs under AddressSanitizer, which also catches
//!   reads, and writes past the index, sum and partial buffers.
//!
//! Slices are short (at most a few hundred elements) while the sizes that
//! describe them (`k`, `inner`, `stride`, `rows`, ...) range over all of
//! `usize`: the bugs this hunts are size computations that wrap. The calls
//! themselves are drawn by `kernel_draw.rs`.

#![allow(dead_code)] // each user takes a part

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use rectify_kernels::{
    KernelSet, MaxoutIndex, Op, PieceSums, PreluAccumulators, PreluPattern, PreluRuns, Source,
    PRELU_ONE_IMAGE_MAX_INNER, PRELU_PATTERN_ROWS,
};

/// A value no kernel writes: the guards after each slice hold it.
const GUARD: f32 = f32::from_bits(0x7fc0_dead);
/// Guard elements after each slice.
const GUARDS: usize = 16;

/// Where a slope gradient goes in a runs backward call.
#[derive(Clone, Copy, Debug)]
pub enum Sums {
    None,
    PerPiece(usize),
    PerChannel(usize),
}

/// One call of the kernels crate, with every length and size spelled out.
/// `*_len` fields are the lengths of real (short) slices; the other sizes
/// are any `usize`.
#[derive(Clone, Debug)]
pub enum KernelCall {
    /// `forward_into(Relu, x, y)`.
    ForwardInto { x_len: usize, y_len: usize },
    /// `backward_into(LeakyRelu, saved, grad_out, grad_in)`.
    BackwardInto {
        saved_len: usize,
        grad_len: usize,
        out_len: usize,
    },
    /// `maxout_forward(x, k, inner, y, idx)`; `index` 0 none, 1 u8, 2 u32.
    MaxoutForward {
        x_len: usize,
        k: usize,
        inner: usize,
        y_len: usize,
        index: u8,
        idx_len: usize,
    },
    /// `maxout_backward(x, k, inner, grad_y, grad_x)`.
    MaxoutBackward {
        x_len: usize,
        k: usize,
        inner: usize,
        gy_len: usize,
        gx_len: usize,
    },
    /// `reference::maxout_backward_indexed(idx, gy, gx, k, inner)`, every
    /// index 0.
    MaxoutIndexed {
        idx_len: usize,
        gy_len: usize,
        gx_len: usize,
        k: usize,
        inner: usize,
    },
    /// `prelu_pattern_backward(saved, grad, dst, stride, rows, pattern, acc)`.
    PatternBackward {
        saved_len: usize,
        grad_len: Option<usize>,
        dst_len: usize,
        stride: usize,
        rows: usize,
        width: usize,
        acc_len: Option<usize>,
    },
    /// `prelu_one_image_backward(saved, grad, dst, w, inner, sums)`.
    OneImageBackward {
        saved_len: usize,
        grad_len: Option<usize>,
        dst_len: usize,
        w_len: usize,
        inner: usize,
        sums_len: Option<usize>,
    },
    /// `prelu_runs_forward(src, dst, runs)`.
    RunsForward {
        src_len: Option<usize>,
        dst_len: usize,
        w_len: usize,
        channel: usize,
        inner: usize,
        offset: usize,
    },
    /// `prelu_runs_backward(saved, grad, dst, runs, piece, sums)`.
    RunsBackward {
        saved_len: usize,
        grad_len: Option<usize>,
        dst_len: usize,
        w_len: usize,
        channel: usize,
        inner: usize,
        offset: usize,
        piece: usize,
        sums: Sums,
    },
    /// `PreluRuns::pieces(n, piece)`.
    Pieces {
        w_len: usize,
        channel: usize,
        inner: usize,
        offset: usize,
        n: usize,
        piece: usize,
    },
    /// `prelu_rows_forward(src, dst, w, offset)`.
    RowsForward {
        src_len: Option<usize>,
        dst_len: usize,
        w_len: usize,
        offset: usize,
    },
    /// `prelu_periodic_forward(src, dst, slopes, offset)`.
    PeriodicForward {
        src_len: Option<usize>,
        dst_len: usize,
        q: usize,
        offset: usize,
    },
    /// `prelu_periodic_backward(saved, grad, dst, slopes, None, partials)`.
    PeriodicBackward {
        saved_len: usize,
        grad_len: Option<usize>,
        dst_len: usize,
        q: usize,
        partials_len: Option<usize>,
    },
    /// `PreluPattern::new(row, min_len, max_len, dst)`, then
    /// `prelu_pattern_forward(src, dst, pattern, offset)`.
    PatternForward {
        row_len: usize,
        min_len: usize,
        max_len: usize,
        src_len: Option<usize>,
        dst_len: usize,
        offset: usize,
    },
    /// `PreluAccumulators::new(len, dst)`.
    Accumulators { len: usize },
}

/// The longest slice (and `Pieces`' span) a generator should ask for: the
/// `*_len` fields are allocated as they are. Keeps every case quick.
pub const MAX_SLICE: usize = 600;

impl KernelCall {
    /// Whether the call is valid by its method's documentation, in `u128`
    /// (no product of two `usize` overflows it).
    pub fn is_valid(&self, set: &KernelSet) -> bool {
        let lanes = set.isa().lanes() as u128;
        let w = |v: usize| v as u128;
        let period_ok = |q: usize| match set.isa() {
            rectify_kernels::Isa::Scalar => q > 0,
            _ => w(q) == 3 * lanes || w(q) == 4 * lanes,
        };
        let same = |a: Option<usize>, n: usize| a.is_none_or(|a| a == n);
        match *self {
            KernelCall::ForwardInto { x_len, y_len } => x_len == y_len,
            KernelCall::BackwardInto {
                saved_len,
                grad_len,
                out_len,
            } => saved_len == grad_len && saved_len == out_len,
            KernelCall::MaxoutForward {
                x_len,
                k,
                inner,
                y_len,
                index,
                idx_len,
            } => {
                let index_ok = match index {
                    0 => true,
                    1 => w(k) <= 256 && idx_len == y_len,
                    _ => w(k) <= 1 << 32 && idx_len == y_len,
                };
                k > 0 && inner > 0 && w(x_len) == w(y_len) * w(k) && y_len % inner == 0 && index_ok
            }
            KernelCall::MaxoutBackward {
                x_len,
                k,
                inner,
                gy_len,
                gx_len,
            } => {
                k > 0
                    && inner > 0
                    && w(x_len) == w(gy_len) * w(k)
                    && gx_len == x_len
                    && gy_len % inner == 0
            }
            KernelCall::MaxoutIndexed {
                idx_len,
                gy_len,
                gx_len,
                k,
                inner,
            } => {
                idx_len == gy_len
                    && k > 0
                    && inner > 0
                    && w(gx_len) == w(gy_len) * w(k)
                    && gy_len % inner == 0
            }
            KernelCall::PatternBackward {
                saved_len,
                grad_len,
                dst_len,
                stride,
                rows,
                width,
                acc_len,
            } => {
                let need = match rows {
                    0 => 0,
                    r => w(r - 1) * w(stride) + w(width),
                };
                let holds = |len: usize| w(len) >= need;
                (rows <= 1 || stride >= width)
                    && holds(saved_len)
                    && holds(dst_len)
                    && grad_len.is_none_or(holds)
                    && same(acc_len, width)
            }
            KernelCall::OneImageBackward {
                saved_len,
                grad_len,
                dst_len,
                w_len,
                inner,
                sums_len,
            } => {
                saved_len == dst_len
                    && same(grad_len, dst_len)
                    && (1..=PRELU_ONE_IMAGE_MAX_INNER).contains(&inner)
                    && w(w_len) * w(inner) == w(dst_len)
                    && same(sums_len, w_len)
            }
            KernelCall::RunsForward {
                src_len,
                dst_len,
                w_len,
                channel,
                inner,
                offset,
            } => inner > 0 && channel < w_len && offset < inner && same(src_len, dst_len),
            KernelCall::RunsBackward {
                saved_len,
                grad_len,
                dst_len,
                w_len,
                channel,
                inner,
                offset,
                piece,
                sums,
            } => {
                let runs_ok = inner > 0 && channel < w_len && offset < inner;
                let piece_ok = piece > 0 && offset % piece == 0;
                runs_ok
                    && piece_ok
                    && saved_len == dst_len
                    && same(grad_len, dst_len)
                    && match sums {
                        Sums::None => true,
                        Sums::PerPiece(len) => w(len) == pieces(dst_len, inner, offset, piece),
                        Sums::PerChannel(len) => len == w_len,
                    }
            }
            KernelCall::Pieces {
                w_len,
                channel,
                inner,
                offset,
                piece,
                ..
            } => inner > 0 && channel < w_len && offset < inner && piece > 0,
            KernelCall::RowsForward {
                src_len,
                dst_len,
                w_len,
                offset,
            } => offset < w_len && w(w_len) >= lanes && same(src_len, dst_len),
            KernelCall::PeriodicForward {
                src_len,
                dst_len,
                q,
                offset,
            } => period_ok(q) && offset < q && same(src_len, dst_len),
            KernelCall::PeriodicBackward {
                saved_len,
                grad_len,
                dst_len,
                q,
                partials_len,
            } => {
                let groups = w(dst_len).div_ceil(PRELU_PATTERN_ROWS as u128 * w(q).max(1));
                let partials_ok = match partials_len {
                    None => true,
                    Some(p) => {
                        let c_len = w(p).checked_div(groups).unwrap_or(0);
                        w(p) == groups * c_len && (groups == 0 || (c_len > 0 && w(q) % c_len == 0))
                    }
                };
                period_ok(q) && saved_len == dst_len && same(grad_len, dst_len) && partials_ok
            }
            KernelCall::PatternForward {
                row_len,
                src_len,
                dst_len,
                ..
            } => row_len > 0 && same(src_len, dst_len),
            KernelCall::Accumulators { len } => len <= PreluAccumulators::MAX_LEN,
        }
    }
}

/// How many pieces a span of `n` elements (a slice's length) is cut into,
/// at run ends and every `piece` elements of a run, the span starting
/// `offset` into a run of `inner`: the elements that start a piece, counted
/// one by one (independently of `PreluRuns::pieces`' closed form). In the
/// first run pieces start at the span's start and every `piece` after it.
pub fn pieces(n: usize, inner: usize, offset: usize, piece: usize) -> u128 {
    let first = inner - offset;
    (0..n)
        .filter(|&i| {
            if i < first {
                i.is_multiple_of(piece)
            } else {
                ((i - first) % inner).is_multiple_of(piece)
            }
        })
        .count() as u128
}

/// A slice of `len` values with guards after it.
struct Guarded {
    data: Vec<f32>,
    len: usize,
}

impl Guarded {
    fn new(len: usize, seed: u32) -> Guarded {
        let mut data: Vec<f32> = (0..len as u32)
            .map(|i| {
                let h = (i ^ seed).wrapping_mul(0x9E37_79B9).rotate_left(11);
                (h % 2001) as f32 / 250.0 - 4.0
            })
            .collect();
        data.resize(len + GUARDS, GUARD);
        Guarded { data, len }
    }

    fn get(&self) -> &[f32] {
        &self.data[..self.len]
    }

    fn get_mut(&mut self) -> &mut [f32] {
        &mut self.data[..self.len]
    }

    fn guards_intact(&self) -> bool {
        self.data[self.len..]
            .iter()
            .all(|v| v.to_bits() == GUARD.to_bits())
    }
}

thread_local! {
    /// Set while a call that may refuse runs: its panic is expected, and
    /// the hook stays quiet.
    static EXPECTING: Cell<bool> = const { Cell::new(false) };
}

/// Installs, once, a panic hook that stays quiet for expected refusals and
/// hands every other panic to the hook that was there before (the test
/// harness's, or the fuzzer's, which aborts).
fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !EXPECTING.with(Cell::get) {
                previous(info);
            }
        }));
    });
}

/// Runs `f`, which may refuse: `Err` with the panic message if it did.
pub fn refusal<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    install_hook();
    EXPECTING.with(|e| e.set(true));
    let r = panic::catch_unwind(AssertUnwindSafe(f));
    EXPECTING.with(|e| e.set(false));
    r.map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    })
}

/// Makes the call on `set` and checks what must come of it (see the module
/// docs); panics with a description of the call where that fails. Returns
/// whether the call ran (it was valid).
pub fn check(set: &KernelSet, call: &KernelCall) -> bool {
    let valid = call.is_valid(set);
    let mut bufs: Vec<Guarded> = Vec::new();
    let outcome = run(set, call, &mut bufs);
    let isa = set.isa();
    match &outcome {
        Ok(()) => assert!(valid, "{isa}: accepted an invalid call: {call:?}"),
        Err(message) => {
            assert!(!valid, "{isa}: refused a valid call ({message}): {call:?}");
            let text = message
                .strip_prefix("assertion `left == right` failed: ")
                .unwrap_or(message);
            let named = ["maxout:", "prelu:", "forward_into:", "backward_into:"]
                .iter()
                .any(|p| text.starts_with(p));
            assert!(
                named,
                "{isa}: refused with an unnamed panic ({message}): {call:?}"
            );
        }
    }
    for (i, b) in bufs.iter().enumerate() {
        assert!(
            b.guards_intact(),
            "{isa}: a write past the end of slice {i}: {call:?}"
        );
    }
    valid
}

impl KernelCall {
    /// The method's name, for tallies.
    pub fn name(&self) -> &'static str {
        match self {
            KernelCall::ForwardInto { .. } => "forward_into",
            KernelCall::BackwardInto { .. } => "backward_into",
            KernelCall::MaxoutForward { .. } => "maxout_forward",
            KernelCall::MaxoutBackward { .. } => "maxout_backward",
            KernelCall::MaxoutIndexed { .. } => "maxout_backward_indexed",
            KernelCall::PatternBackward { .. } => "prelu_pattern_backward",
            KernelCall::OneImageBackward { .. } => "prelu_one_image_backward",
            KernelCall::RunsForward { .. } => "prelu_runs_forward",
            KernelCall::RunsBackward { .. } => "prelu_runs_backward",
            KernelCall::Pieces { .. } => "PreluRuns::pieces",
            KernelCall::RowsForward { .. } => "prelu_rows_forward",
            KernelCall::PeriodicForward { .. } => "prelu_periodic_forward",
            KernelCall::PeriodicBackward { .. } => "prelu_periodic_backward",
            KernelCall::PatternForward { .. } => "prelu_pattern_forward",
            KernelCall::Accumulators { .. } => "PreluAccumulators::new",
        }
    }
}

/// Builds the call's slices (into `bufs`, so the guards can be checked
/// afterwards) and makes it.
fn run(set: &KernelSet, call: &KernelCall, bufs: &mut Vec<Guarded>) -> Result<(), String> {
    let g = |len: usize, seed: u32| Guarded::new(len, seed);
    match *call {
        KernelCall::ForwardInto { x_len, y_len } => {
            let (x, mut y) = (g(x_len, 1), g(y_len, 2));
            let r = refusal(|| set.forward_into(Op::Relu, x.get(), y.get_mut()));
            bufs.extend([x, y]);
            r
        }
        KernelCall::BackwardInto {
            saved_len,
            grad_len,
            out_len,
        } => {
            let (s, gr, mut o) = (g(saved_len, 1), g(grad_len, 2), g(out_len, 3));
            let op = Op::LeakyRelu { slope: 0.25 };
            let r =
                refusal(|| set.backward_into(op, Source::Input, s.get(), gr.get(), o.get_mut()));
            bufs.extend([s, gr, o]);
            r
        }
        KernelCall::MaxoutForward {
            x_len,
            k,
            inner,
            y_len,
            index,
            idx_len,
        } => {
            let (x, mut y) = (g(x_len, 1), g(y_len, 2));
            let mut i8 = vec![0u8; idx_len];
            let mut i32 = vec![0u32; idx_len];
            let idx = match index {
                0 => MaxoutIndex::None,
                1 => MaxoutIndex::U8(&mut i8),
                _ => MaxoutIndex::U32(&mut i32),
            };
            let r = refusal(|| set.maxout_forward(x.get(), k, inner, y.get_mut(), idx));
            bufs.extend([x, y]);
            r
        }
        KernelCall::MaxoutBackward {
            x_len,
            k,
            inner,
            gy_len,
            gx_len,
        } => {
            let (x, gy, mut gx) = (g(x_len, 1), g(gy_len, 2), g(gx_len, 3));
            let r = refusal(|| set.maxout_backward(x.get(), k, inner, gy.get(), gx.get_mut()));
            bufs.extend([x, gy, gx]);
            r
        }
        KernelCall::MaxoutIndexed {
            idx_len,
            gy_len,
            gx_len,
            k,
            inner,
        } => {
            let idx = vec![0u8; idx_len];
            let (gy, mut gx) = (g(gy_len, 2), g(gx_len, 3));
            let r = refusal(|| {
                rectify_kernels::reference::maxout_backward_indexed(
                    &idx,
                    gy.get(),
                    gx.get_mut(),
                    k,
                    inner,
                )
            });
            bufs.extend([gy, gx]);
            r
        }
        KernelCall::PatternBackward {
            saved_len,
            grad_len,
            dst_len,
            stride,
            rows,
            width,
            acc_len,
        } => {
            let (s, pattern, mut d) = (g(saved_len, 1), g(width, 4), g(dst_len, 3));
            let gr = grad_len.map(|l| g(l, 2));
            let mut acc = acc_len.map(|l| g(l, 5));
            let r = refusal(|| {
                set.prelu_pattern_backward(
                    s.get(),
                    gr.as_ref().map(Guarded::get),
                    d.get_mut(),
                    stride,
                    rows,
                    pattern.get(),
                    acc.as_mut().map(Guarded::get_mut),
                )
            });
            bufs.extend([s, pattern, d].into_iter().chain(gr).chain(acc));
            r
        }
        KernelCall::OneImageBackward {
            saved_len,
            grad_len,
            dst_len,
            w_len,
            inner,
            sums_len,
        } => {
            let (s, wb, mut d) = (g(saved_len, 1), g(w_len, 4), g(dst_len, 3));
            let gr = grad_len.map(|l| g(l, 2));
            let mut sums = sums_len.map(|l| vec![0.0f64; l]);
            let r = refusal(|| {
                set.prelu_one_image_backward(
                    s.get(),
                    gr.as_ref().map(Guarded::get),
                    d.get_mut(),
                    wb.get(),
                    inner,
                    sums.as_deref_mut(),
                )
            });
            bufs.extend([s, wb, d].into_iter().chain(gr));
            r
        }
        KernelCall::RunsForward {
            src_len,
            dst_len,
            w_len,
            channel,
            inner,
            offset,
        } => {
            let (wb, mut d) = (g(w_len, 4), g(dst_len, 3));
            let src = src_len.map(|l| g(l, 1));
            let r = refusal(|| {
                let runs = PreluRuns {
                    w: wb.get(),
                    channel,
                    inner,
                    offset,
                };
                set.prelu_runs_forward(src.as_ref().map(Guarded::get), d.get_mut(), runs)
            });
            bufs.extend([wb, d].into_iter().chain(src));
            r
        }
        KernelCall::RunsBackward {
            saved_len,
            grad_len,
            dst_len,
            w_len,
            channel,
            inner,
            offset,
            piece,
            sums,
        } => {
            let (s, wb, mut d) = (g(saved_len, 1), g(w_len, 4), g(dst_len, 3));
            let gr = grad_len.map(|l| g(l, 2));
            let mut slots = match sums {
                Sums::None => Vec::new(),
                Sums::PerPiece(l) | Sums::PerChannel(l) => vec![0.0f64; l],
            };
            let r = refusal(|| {
                let runs = PreluRuns {
                    w: wb.get(),
                    channel,
                    inner,
                    offset,
                };
                let sums = match sums {
                    Sums::None => None,
                    Sums::PerPiece(_) => Some(PieceSums::PerPiece(&mut slots)),
                    Sums::PerChannel(_) => Some(PieceSums::PerChannel(&mut slots)),
                };
                set.prelu_runs_backward(
                    s.get(),
                    gr.as_ref().map(Guarded::get),
                    d.get_mut(),
                    runs,
                    piece,
                    sums,
                )
            });
            bufs.extend([s, wb, d].into_iter().chain(gr));
            r
        }
        KernelCall::Pieces {
            w_len,
            channel,
            inner,
            offset,
            n,
            piece,
        } => {
            let wb = g(w_len, 4);
            let counted = refusal(|| {
                PreluRuns {
                    w: wb.get(),
                    channel,
                    inner,
                    offset,
                }
                .pieces(n, piece)
            });
            if let Ok(count) = counted {
                assert_eq!(
                    count as u128,
                    pieces(n, inner, offset, piece),
                    "pieces miscounted: {call:?}"
                );
            }
            bufs.push(wb);
            counted.map(|_| ())
        }
        KernelCall::RowsForward {
            src_len,
            dst_len,
            w_len,
            offset,
        } => {
            let (wb, mut d) = (g(w_len, 4), g(dst_len, 3));
            let src = src_len.map(|l| g(l, 1));
            let r = refusal(|| {
                set.prelu_rows_forward(
                    src.as_ref().map(Guarded::get),
                    d.get_mut(),
                    wb.get(),
                    offset,
                )
            });
            bufs.extend([wb, d].into_iter().chain(src));
            r
        }
        KernelCall::PeriodicForward {
            src_len,
            dst_len,
            q,
            offset,
        } => {
            let (slopes, mut d) = (g(q, 4), g(dst_len, 3));
            let src = src_len.map(|l| g(l, 1));
            let r = refusal(|| {
                set.prelu_periodic_forward(
                    src.as_ref().map(Guarded::get),
                    d.get_mut(),
                    slopes.get(),
                    offset,
                )
            });
            bufs.extend([slopes, d].into_iter().chain(src));
            r
        }
        KernelCall::PeriodicBackward {
            saved_len,
            grad_len,
            dst_len,
            q,
            partials_len,
        } => {
            let (s, slopes, mut d) = (g(saved_len, 1), g(q, 4), g(dst_len, 3));
            let gr = grad_len.map(|l| g(l, 2));
            let mut partials = partials_len.map(|l| vec![0.0f64; l]);
            let r = refusal(|| {
                set.prelu_periodic_backward(
                    s.get(),
                    gr.as_ref().map(Guarded::get),
                    d.get_mut(),
                    slopes.get(),
                    None,
                    partials.as_deref_mut(),
                )
            });
            bufs.extend([s, slopes, d].into_iter().chain(gr));
            r
        }
        KernelCall::PatternForward {
            row_len,
            min_len,
            max_len,
            src_len,
            dst_len,
            offset,
        } => {
            let (row, mut d) = (g(row_len, 4), g(dst_len, 3));
            let src = src_len.map(|l| g(l, 1));
            let r = refusal(|| {
                let pattern = PreluPattern::new(row.get(), min_len, max_len, d.get().as_ptr());
                let period = pattern.period();
                let most = PreluPattern::MAX_MIN_LEN + 1024 * row_len;
                assert!(
                    period.is_multiple_of(row_len) && period >= PreluPattern::PAD && period <= most,
                    "pattern: a period of {period} for rows of {row_len}"
                );
                set.prelu_pattern_forward(
                    src.as_ref().map(Guarded::get),
                    d.get_mut(),
                    &pattern,
                    offset % period,
                )
            });
            bufs.extend([row, d].into_iter().chain(src));
            r
        }
        KernelCall::Accumulators { len } => {
            let d = g(16, 3);
            let r = refusal(|| {
                let mut acc = PreluAccumulators::new(len, d.get().as_ptr());
                assert_eq!(acc.as_mut_slice().len(), len, "accumulators: wrong length");
            });
            bufs.push(d);
            r
        }
    }
}
