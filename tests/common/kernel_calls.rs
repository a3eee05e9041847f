//! Calls into `rectify_kernels`' safe API with arbitrary sizes, and what
//! must come of them: shared by `tests/kernel_sizes.rs` (a grid of extreme
//! sizes, in debug and in release builds) and the `kernels` fuzz target
//! (arbitrary ones, built with overflow checks).
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
//! - checks the guard elements after every f32 slice and PReLU's f64 sums
//!   (no write past their ends); the fuzz build runs under
//!   AddressSanitizer, which also catches reads, and writes past the index
//!   buffers.
//!
//! Slices are short (at most a few hundred elements) while the sizes that
//! describe them (`k`, `inner`, PReLU's `len` and `start`, ...) range over
//! all of `usize`: the bugs this hunts are size computations that wrap. The
//! calls themselves are drawn by `kernel_draw.rs`.

#![allow(dead_code)] // each user takes a part

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use rectify_kernels::{GradW, KernelSet, MaxoutIndex, Op, Prelu, SlopeGrad, Source};

/// A value no kernel writes: the guards after each slice hold it.
const GUARD: f32 = f32::from_bits(0x7fc0_dead);
/// Guard elements after each slice.
const GUARDS: usize = 16;

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
    /// `prelu_forward(Prelu { w, inner, len }, start, src, dst)`.
    PreluForward {
        w_len: usize,
        inner: usize,
        len: usize,
        start: usize,
        src_len: Option<usize>,
        dst_len: usize,
    },
    /// `prelu_backward(Prelu { w, inner, len }, start, saved, grad, dst,
    /// slope)`.
    PreluBackward {
        w_len: usize,
        inner: usize,
        len: usize,
        start: usize,
        saved_len: usize,
        grad_len: Option<usize>,
        dst_len: usize,
        slope: Option<Slope>,
    },
    /// `prelu_grad_w(sums, w, GradW { grad_w, from_output, add })`.
    PreluGradW {
        sums_len: usize,
        w_len: usize,
        gw_len: usize,
        from_output: bool,
        add: bool,
    },
}

/// The slope gradient a PReLU backward call asks for.
#[derive(Clone, Copy, Debug)]
pub enum Slope {
    /// `SlopeGrad::Sums` of this length.
    Sums(usize),
    /// `SlopeGrad::GradW`, `grad_w` of this length.
    GradW {
        len: usize,
        from_output: bool,
        add: bool,
    },
}

/// The longest slice a generator should ask for: the
/// `*_len` fields are allocated as they are. Keeps every case quick.
pub const MAX_SLICE: usize = 600;

impl KernelCall {
    /// Whether the call is valid by its method's documentation, in `u128`
    /// (no product of two `usize` overflows it).
    pub fn is_valid(&self) -> bool {
        let w = |v: usize| v as u128;
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
            KernelCall::PreluForward {
                w_len,
                inner,
                len,
                start,
                src_len,
                dst_len,
            } => prelu_span_ok(w_len, inner, len, start, dst_len) && same(src_len, dst_len),
            KernelCall::PreluBackward {
                w_len,
                inner,
                len,
                start,
                saved_len,
                grad_len,
                dst_len,
                slope,
            } => {
                prelu_span_ok(w_len, inner, len, start, dst_len)
                    && saved_len == dst_len
                    && same(grad_len, dst_len)
                    && match slope {
                        None => true,
                        Some(Slope::Sums(s)) => w(s) == channels_met(w_len, inner, start, dst_len),
                        Some(Slope::GradW { len: g, .. }) => {
                            start == 0 && dst_len == len && g == w_len
                        }
                    }
            }
            KernelCall::PreluGradW {
                sums_len,
                w_len,
                gw_len,
                ..
            } => sums_len == gw_len && w_len == gw_len,
        }
    }
}

/// Whether `n` elements from `start` are a span of a PReLU buffer of `len`
/// elements in rows of `w_len` channels of `inner`, a row's length a
/// `usize` (in `u128`).
fn prelu_span_ok(w_len: usize, inner: usize, len: usize, start: usize, n: usize) -> bool {
    let row = w_len as u128 * inner as u128;
    let row_ok = row > 0 && row <= usize::MAX as u128;
    row_ok && (len as u128).is_multiple_of(row) && start as u128 + n as u128 <= len as u128
}

/// The channels `n` elements from `start` meet in runs of `inner` (at most
/// `w_len`): their first element's, and one more per element that starts a
/// run, counted one by one in `u128`.
pub fn channels_met(w_len: usize, inner: usize, start: usize, n: usize) -> u128 {
    let starts = (1..n as u128).filter(|&i| (start as u128 + i).is_multiple_of(inner as u128));
    (u128::from(n > 0) + starts.count() as u128).min(w_len as u128)
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
    let valid = call.is_valid();
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
            KernelCall::PreluForward { .. } => "prelu_forward",
            KernelCall::PreluBackward { .. } => "prelu_backward",
            KernelCall::PreluGradW { .. } => "prelu_grad_w",
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
        KernelCall::PreluForward {
            w_len,
            inner,
            len,
            start,
            src_len,
            dst_len,
        } => {
            let (w, src, mut d) = (g(w_len, 4), src_len.map(|l| g(l, 1)), g(dst_len, 3));
            let prelu = Prelu {
                w: w.get(),
                inner,
                len,
            };
            let r = refusal(|| {
                set.prelu_forward(prelu, start, src.as_ref().map(Guarded::get), d.get_mut())
            });
            bufs.extend([w, d].into_iter().chain(src));
            r
        }
        KernelCall::PreluBackward {
            w_len,
            inner,
            len,
            start,
            saved_len,
            grad_len,
            dst_len,
            slope,
        } => {
            let (w, s, mut d) = (g(w_len, 4), g(saved_len, 1), g(dst_len, 3));
            let gr = grad_len.map(|l| g(l, 2));
            // The sums, with guards after them too.
            let guard = f64::from_bits(0x7ff8_dead_dead_dead);
            let sums_len = match slope {
                Some(Slope::Sums(l)) => Some(l),
                _ => None,
            };
            let mut sums = sums_len.map(|l| vec![guard; l + GUARDS]);
            let mut gw = match slope {
                Some(Slope::GradW { len, .. }) => Some(g(len, 5)),
                _ => None,
            };
            let prelu = Prelu {
                w: w.get(),
                inner,
                len,
            };
            let r = refusal(|| {
                let sums = sums.as_mut().zip(sums_len).map(|(s, l)| &mut s[..l]);
                let slope = match (slope, sums, gw.as_mut()) {
                    (Some(Slope::Sums(_)), Some(s), _) => Some(SlopeGrad::Sums(s)),
                    (
                        Some(Slope::GradW {
                            from_output, add, ..
                        }),
                        _,
                        Some(gw),
                    ) => Some(SlopeGrad::GradW(GradW {
                        grad_w: gw.get_mut(),
                        from_output,
                        add,
                    })),
                    _ => None,
                };
                set.prelu_backward(
                    prelu,
                    start,
                    s.get(),
                    gr.as_ref().map(Guarded::get),
                    d.get_mut(),
                    slope,
                )
            });
            if let (Some(sums), Some(l)) = (sums, sums_len) {
                let intact = sums[l..].iter().all(|s| s.to_bits() == guard.to_bits());
                assert!(intact, "a write past the end of the sums");
            }
            bufs.extend([w, s, d].into_iter().chain(gr).chain(gw));
            r
        }
        KernelCall::PreluGradW {
            sums_len,
            w_len,
            gw_len,
            from_output,
            add,
        } => {
            let (sums, w, mut gw) = (vec![0.5f64; sums_len], g(w_len, 4), g(gw_len, 3));
            let r = refusal(|| {
                let out = GradW {
                    grad_w: gw.get_mut(),
                    from_output,
                    add,
                };
                set.prelu_grad_w(&sums, w.get(), out)
            });
            bufs.extend([gw, w]);
            r
        }
    }
}
