//! [`Kernels`]: the engine. It owns one ISA tier's kernels and the parallel
//! policy, validates every call, then runs the kernel.

use std::sync::OnceLock;

use rectify_kernels::{Isa, KernelSet};

use crate::error::same_len;
use crate::parallel::{self, DEFAULT_PARALLEL_THRESHOLD};
use crate::{Activation, Error};

/// The tensor saved from the forward pass that a gradient is computed from.
///
/// From the input, any activation works. From the output, the forward pass can
/// run in place (the input is gone), which works when the output determines
/// the derivative (see [`Activation::gradient_from_output`]).
#[derive(Clone, Copy, Debug)]
pub enum Saved<'a> {
    /// The forward pass's input `x`.
    Input(&'a [f32]),
    /// The forward pass's output `y`.
    Output(&'a [f32]),
}

impl<'a> Saved<'a> {
    /// The saved buffer, whichever it is.
    pub fn values(&self) -> &'a [f32] {
        match *self {
            Saved::Input(v) | Saved::Output(v) => v,
        }
    }

    fn is_output(&self) -> bool {
        matches!(self, Saved::Output(_))
    }
}

/// Where a gradient goes: written over a buffer, or added to what it holds
/// (the way frameworks in PyTorch's style accumulate into `.grad`).
///
/// The methods that take one ([`Kernels::prelu_backward`]'s `grad_w`,
/// [`Kernels::maxout_backward`]'s `grad_in`) state how each element is
/// added. A refused call writes nothing, whichever it is.
///
/// ```
/// use rectify::{Grad, Kernels};
/// let k = Kernels::from_env();
/// let x = [1.0f32, 2.0, 5.0, 4.0];
/// let mut grad_in = [0.5f32; 4];
/// k.maxout_backward(&x, 2, 1, &[10.0, 20.0], Grad::Add(&mut grad_in))?;
/// assert_eq!(grad_in, [0.5, 10.5, 20.5, 0.5]); // added to what was there
/// k.maxout_backward(&x, 2, 1, &[10.0, 20.0], Grad::Write(&mut grad_in))?;
/// assert_eq!(grad_in, [0.0, 10.0, 20.0, 0.0]); // written over it
/// # Ok::<(), rectify::Error>(())
/// ```
#[derive(Debug)]
pub enum Grad<'a> {
    /// `buf = gradient`: every element is replaced.
    Write(&'a mut [f32]),
    /// `buf += gradient`: every element gets its contribution added.
    Add(&'a mut [f32]),
}

impl<'a> Grad<'a> {
    /// The buffer's length.
    pub fn len(&self) -> usize {
        match self {
            Grad::Write(b) | Grad::Add(b) => b.len(),
        }
    }

    /// Whether the buffer is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buffer, and whether the gradient is added to it.
    pub(crate) fn into_parts(self) -> (bool, &'a mut [f32]) {
        match self {
            Grad::Write(b) => (false, b),
            Grad::Add(b) => (true, b),
        }
    }
}

/// An activation engine: the kernels of one instruction-set tier plus a
/// parallel policy.
///
/// [`Kernels::from_env`] is the process-wide one: the best tier this CPU has,
/// or the one the `RECTIFY_ISA` environment variable names. Make your own
/// with [`Kernels::new`] to pin a tier (`Kernels::new(Isa::best())` for the
/// best tier whatever the environment says), run serially, or move the
/// parallel threshold.
///
/// ```
/// use rectify::{Activation, Isa, Kernels, Saved};
///
/// let k = Kernels::new(Isa::Scalar)?.serial();
/// let x = vec![-1.0f32, 2.0, -3.0, 4.0];
/// let mut y = vec![0.0; 4];
/// k.forward_into(Activation::Relu, &x, &mut y)?;
/// assert_eq!(y, [0.0, 2.0, 0.0, 4.0]);
///
/// let mut grad = vec![1.0f32; 4];
/// k.backward(Activation::Relu, Saved::Output(&y), &mut grad)?;
/// assert_eq!(grad, [0.0, 1.0, 0.0, 1.0]);
/// # Ok::<(), rectify::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Kernels {
    set: KernelSet,
    parallel_threshold: Option<usize>,
}

impl Kernels {
    /// The engine for `isa`, with the default parallel policy, or
    /// [`Error::IsaUnavailable`] when this CPU lacks it.
    ///
    /// ```
    /// use rectify::{Isa, Kernels};
    /// assert_eq!(Kernels::new(Isa::Portable)?.isa(), Isa::Portable);
    /// # Ok::<(), rectify::Error>(())
    /// ```
    pub fn new(isa: Isa) -> Result<Kernels, Error> {
        let set = KernelSet::new(isa).ok_or(Error::IsaUnavailable {
            isa,
            requires: isa.required_features(),
        })?;
        Ok(Kernels {
            set,
            parallel_threshold: Some(DEFAULT_PARALLEL_THRESHOLD),
        })
    }

    /// The process-wide engine, configured from the environment: the tier
    /// the variable `RECTIFY_ISA` names (`scalar`, `portable`, `avx2`,
    /// `avx512` or `neon`) when this CPU has it, else [`Isa::best`]. An
    /// unknown or unavailable name is reported once on stderr and detection
    /// wins. Decided once, on first use; changing the variable later changes
    /// nothing.
    ///
    /// ```
    /// println!("rectify runs on {}", rectify::Kernels::from_env().isa());
    /// ```
    pub fn from_env() -> &'static Kernels {
        static GLOBAL: OnceLock<Kernels> = OnceLock::new();
        GLOBAL.get_or_init(|| {
            let isa = isa_from_env(std::env::var_os("RECTIFY_ISA"));
            Kernels::new(isa).expect("isa_from_env returns an available tier")
        })
    }

    /// The kernel table this engine calls.
    pub(crate) fn kernel_set(&self) -> &KernelSet {
        &self.set
    }

    /// The tier this engine runs.
    pub fn isa(&self) -> Isa {
        self.set.isa()
    }

    /// The same engine, never splitting across threads.
    pub fn serial(self) -> Kernels {
        Kernels {
            parallel_threshold: None,
            ..self
        }
    }

    /// The same engine, splitting buffers of at least `elements` elements
    /// across the current rayon pool (see [`DEFAULT_PARALLEL_THRESHOLD`]).
    /// Without the `parallel` feature every call is serial regardless.
    ///
    /// ```
    /// let k = rectify::Kernels::new(rectify::Isa::best()).unwrap().with_parallel_threshold(1 << 20);
    /// assert_eq!(k.parallel_threshold(), Some(1 << 20));
    /// ```
    pub fn with_parallel_threshold(self, elements: usize) -> Kernels {
        Kernels {
            parallel_threshold: Some(elements),
            ..self
        }
    }

    /// The element count from which calls are split, `None` when serial.
    pub fn parallel_threshold(&self) -> Option<usize> {
        if cfg!(feature = "parallel") {
            self.parallel_threshold
        } else {
            None
        }
    }

    /// The chunk length, in elements, that a call on `n` elements is split
    /// into across the current rayon pool, or `None` when the call runs on the
    /// calling thread alone (below the threshold, a serial engine, a pool of
    /// one thread, or no `parallel` feature).
    ///
    ///
    /// Hidden from the docs: the report tool's view of the threading, with
    /// no stability promise.
    ///
    /// ```
    /// let k = rectify::Kernels::new(rectify::Isa::best()).unwrap();
    /// assert_eq!(k.serial().split_len(1 << 24), None);
    /// assert_eq!(k.split_len(1000), None); // below the threshold
    /// if let Some(chunk) = k.split_len(1 << 24) {
    ///     assert_eq!(chunk % 16, 0); // whole 64-byte cache lines
    /// }
    /// ```
    #[doc(hidden)]
    pub fn split_len(&self, n: usize) -> Option<usize> {
        parallel::split(self.parallel_threshold, n)
    }

    /// `x = f(x)` in place.
    ///
    /// ```
    /// use rectify::{Activation, Kernels};
    /// let mut x = [-2.0f32, 0.0, 2.0];
    /// Kernels::from_env().forward(Activation::LeakyRelu { slope: 0.5 }, &mut x)?;
    /// assert_eq!(x, [-1.0, 0.0, 2.0]);
    /// # Ok::<(), rectify::Error>(())
    /// ```
    pub fn forward(&self, act: Activation, x: &mut [f32]) -> Result<(), Error> {
        let op = act.forward_op()?;
        parallel::unary(self.parallel_threshold, None, x, |_, x| {
            self.set.forward(op, x)
        });
        Ok(())
    }

    /// `y = f(x)`.
    pub fn forward_into(&self, act: Activation, x: &[f32], y: &mut [f32]) -> Result<(), Error> {
        let op = act.forward_op()?;
        same_len("y", x.len(), y.len())?;
        parallel::unary(self.parallel_threshold, Some(x), y, |x, y| {
            self.set.forward_into(op, x.expect("out of place"), y)
        });
        Ok(())
    }

    /// `grad = grad * f'(saved)` in place, written over `grad`: turns the
    /// gradient of the output into the gradient of the input.
    ///
    /// ```
    /// use rectify::{Activation, Kernels, Saved};
    /// let x = [-2.0f32, 3.0];
    /// let mut grad = [10.0f32, 10.0];
    /// Kernels::from_env().backward(Activation::LeakyRelu { slope: 0.5 }, Saved::Input(&x), &mut grad)?;
    /// assert_eq!(grad, [5.0, 10.0]);
    /// # Ok::<(), rectify::Error>(())
    /// ```
    pub fn backward(
        &self,
        act: Activation,
        saved: Saved<'_>,
        grad: &mut [f32],
    ) -> Result<(), Error> {
        let (op, from) = act.backward_op(saved.is_output())?;
        let v = saved.values();
        same_len("grad", v.len(), grad.len())?;
        parallel::binary(self.parallel_threshold, v, None, grad, |v, _, g| {
            self.set.backward(op, from, v, g)
        });
        Ok(())
    }

    /// `grad_in = grad_out * f'(saved)`: overwrites `grad_in` (a framework
    /// that sums the gradients of several branches adds it to its own
    /// buffer afterwards, or uses [`Kernels::backward`] on a copy).
    ///
    /// ```
    /// use rectify::{Activation, Kernels, Saved};
    /// let x = [-1.0f32, 2.0];
    /// let mut grad_in = [100.0f32; 2];
    /// Kernels::from_env().backward_into(Activation::Relu, Saved::Input(&x), &[3.0, 4.0], &mut grad_in)?;
    /// assert_eq!(grad_in, [0.0, 4.0]); // written, not added to
    /// # Ok::<(), rectify::Error>(())
    /// ```
    pub fn backward_into(
        &self,
        act: Activation,
        saved: Saved<'_>,
        grad_out: &[f32],
        grad_in: &mut [f32],
    ) -> Result<(), Error> {
        let (op, from) = act.backward_op(saved.is_output())?;
        let v = saved.values();
        same_len("grad_out", v.len(), grad_out.len())?;
        same_len("grad_in", v.len(), grad_in.len())?;
        parallel::binary(
            self.parallel_threshold,
            v,
            Some(grad_out),
            grad_in,
            |v, g, d| {
                self.set
                    .backward_into(op, from, v, g.expect("out of place"), d)
            },
        );
        Ok(())
    }
}

/// The tier `RECTIFY_ISA` asks for, if this CPU has it; otherwise the detected
/// best, with one line on stderr saying why.
fn isa_from_env(value: Option<std::ffi::OsString>) -> Isa {
    let best = Isa::best();
    let Some(value) = value else { return best };
    let text = value.to_string_lossy();
    if text.trim().is_empty() {
        return best;
    }
    match text.parse::<Isa>() {
        Ok(isa) if isa.is_available() => isa,
        Ok(isa) => {
            eprintln!(
                "rectify: RECTIFY_ISA={text}: this CPU lacks {isa} (needs {}); using the detected {best}",
                isa.required_features()
            );
            best
        }
        Err(e) => {
            eprintln!("rectify: RECTIFY_ISA: {e}; using the detected {best}");
            best
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_override_picks_available_tiers_and_falls_back_otherwise() {
        let best = Isa::best();
        assert_eq!(isa_from_env(None), best);
        assert_eq!(isa_from_env(Some("".into())), best);
        assert_eq!(isa_from_env(Some("scalar".into())), Isa::Scalar);
        assert_eq!(isa_from_env(Some(" Portable ".into())), Isa::Portable);
        assert_eq!(isa_from_env(Some("sse9".into())), best);
        for isa in Isa::ALL {
            let expected = if isa.is_available() { isa } else { best };
            assert_eq!(isa_from_env(Some(isa.name().into())), expected, "{isa}");
        }
    }
}
