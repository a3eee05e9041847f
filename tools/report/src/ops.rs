//! What is measured: the ops (activations, PReLU layouts, Maxout shapes),
//! their directions, and what a call of each moves through memory.

use std::collections::BTreeMap;

use rectify::{Activation, ChannelLayout, Kernels};

/// At most this many in-place leaky (or PReLU) calls run between two
/// restores of the buffer, so repeated scaling by the slope never reaches
/// subnormals.
pub(crate) const LEAKY_CALLS_BETWEEN_RESTORES: usize = 8;

/// The channels of the PReLU ops (every size is a multiple of it).
pub(crate) const PRELU_CHANNELS: usize = 16;

/// PReLU's slopes, `w[c] = 0.01 + 0.02 c`: all in (0, 1), like Leaky ReLU's.
pub(crate) const PRELU_SLOPES: [f32; PRELU_CHANNELS] = {
    let mut w = [0.0; PRELU_CHANNELS];
    let mut c = 0;
    while c < PRELU_CHANNELS {
        w[c] = 0.01 + 0.02 * c as f32;
        c += 1;
    }
    w
};

/// `prelu_nchw_8x8`'s run length: 8x8 images of `n / 64` channels (a
/// CNN's late stages: short runs, many channels).
pub(crate) const PRELU_SHORT_RUN: usize = 64;

/// `prelu_nchw_2x2`'s run length: 2x2 maps of `n / 4` channels, one
/// image (runs shorter than any tier's vector).
const PRELU_TINY_RUN: usize = 4;

/// `prelu_rows8`'s rows: a `[8, n / 8]` matrix (a dense layer's output for
/// a small batch).
pub(crate) const PRELU_ROWS: usize = 8;

/// PReLU's slope for channel `c`: [`PRELU_SLOPES`] repeated.
pub(crate) fn prelu_slope(c: usize) -> f32 {
    PRELU_SLOPES[c % PRELU_CHANNELS]
}

/// Maxout NCHW's outer dimension: `x` is `[16, k, n / 16]` (every size is a
/// multiple of it).
pub(crate) const MAXOUT_NCHW_OUTER: usize = 16;

/// The ops measured: the activations the registry says to measure
/// (`Activation::measured()`), then [`LAYOUT_OPS`].
pub(crate) fn ops() -> Vec<Op> {
    Activation::measured()
        .into_iter()
        .map(Op::Act)
        .chain(LAYOUT_OPS)
        .collect()
}

/// PReLU in both layouts, then Maxout with interleaved pieces (`k` = 2, 3
/// and 4) and with long planes.
pub(crate) const LAYOUT_OPS: [Op; 9] = [
    Op::Prelu {
        name: "prelu_nchw",
        layout_of: |n| {
            shape(ChannelLayout::nchw(
                1,
                PRELU_CHANNELS,
                1,
                n / PRELU_CHANNELS,
            ))
        },
    },
    Op::Prelu {
        name: "prelu_nhwc",
        layout_of: |n| {
            shape(ChannelLayout::nhwc(
                1,
                1,
                n / PRELU_CHANNELS,
                PRELU_CHANNELS,
            ))
        },
    },
    Op::Prelu {
        name: "prelu_nchw_8x8",
        layout_of: |n| {
            shape(ChannelLayout::nchw(
                1,
                n / PRELU_SHORT_RUN,
                1,
                PRELU_SHORT_RUN,
            ))
        },
    },
    Op::Prelu {
        name: "prelu_nchw_2x2",
        layout_of: |n| {
            shape(ChannelLayout::nchw(
                1,
                n / PRELU_TINY_RUN,
                1,
                PRELU_TINY_RUN,
            ))
        },
    },
    Op::Prelu {
        name: "prelu_rows8",
        layout_of: |n| shape(ChannelLayout::rows(PRELU_ROWS, n / PRELU_ROWS)),
    },
    Op::Maxout {
        name: "maxout_k2",
        k: 2,
        inner_of: |_| 1,
    },
    Op::Maxout {
        name: "maxout_k3",
        k: 3,
        inner_of: |_| 1,
    },
    Op::Maxout {
        name: "maxout_k4",
        k: 4,
        inner_of: |_| 1,
    },
    Op::Maxout {
        name: "maxout_k2_nchw",
        k: 2,
        inner_of: |n| n / MAXOUT_NCHW_OUTER,
    },
];

/// Forward, or a gradient from the saved output or input.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Forward,
    Backward,
    BackwardFromInput,
}

impl Direction {
    /// The direction's name in the tables and the JSON.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Direction::Forward => "forward",
            Direction::Backward => "backward",
            Direction::BackwardFromInput => "backward_from_input",
        }
    }
    /// The direction named `name`; any unknown name is `Backward`.
    pub(crate) fn from_name(name: &str) -> Direction {
        match name {
            "forward" => Direction::Forward,
            "backward_from_input" => Direction::BackwardFromInput,
            _ => Direction::Backward,
        }
    }
    fn describe(self) -> &'static str {
        match self {
            Direction::Forward => "in place, 8 B/elem: read x, write x",
            Direction::Backward => {
                "in place from the saved output, 12 B/elem: read y and grad, write grad"
            }
            Direction::BackwardFromInput => {
                "in place from the saved input, 12 B/elem: read x and grad, write grad"
            }
        }
    }
}

/// A layout of the report's sizes (multiples of every PReLU shape's
/// period, checked by the cases' tests): never refused.
fn shape(layout: Result<ChannelLayout, rectify::Error>) -> ChannelLayout {
    layout.expect("a PReLU shape of a report size")
}

/// What is measured: an activation, PReLU with [`PRELU_SLOPES`] in a layout
/// that depends on the buffer's length, or Maxout of `k` pieces.
///
/// A size `n` counts elements, and for Maxout outputs: its input has `k n`
/// elements.
#[derive(Clone, Copy)]
pub(crate) enum Op {
    Act(Activation),
    Prelu {
        name: &'static str,
        /// The layout of a buffer of `n` elements (a multiple of the
        /// layout's period).
        layout_of: fn(usize) -> ChannelLayout,
    },
    Maxout {
        name: &'static str,
        /// Pieces per output.
        k: usize,
        /// `inner` of `x` viewed as `[outer, k, inner]`, for `n` outputs.
        inner_of: fn(usize) -> usize,
    },
}

impl Op {
    /// The op's name in the tables, the JSON and `--only`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Op::Act(act) => act.name(),
            Op::Prelu { name, .. } | Op::Maxout { name, .. } => name,
        }
    }

    /// The op of [`ops`] called `name`.
    pub(crate) fn named(name: &str) -> Op {
        ops()
            .into_iter()
            .find(|op| op.name() == name)
            .expect("a measured op")
    }

    /// The directions measured. The ReLU family has one gradient formula for
    /// x and y; PReLU's `backward` is from the input (with the slope
    /// gradient), and so is Maxout's.
    pub(crate) fn directions(self) -> &'static [Direction] {
        match self {
            Op::Act(act) if act.is_exponential() => &[
                Direction::Forward,
                Direction::Backward,
                Direction::BackwardFromInput,
            ],
            _ => &[Direction::Forward, Direction::Backward],
        }
    }

    /// The length of the input of size `n`: `n`, or `k n` for Maxout.
    pub(crate) fn input_len(self, n: usize) -> usize {
        match self {
            Op::Maxout { k, .. } => k * n,
            _ => n,
        }
    }

    /// Bytes a call moves (read plus written) per element of the size.
    pub(crate) fn bytes_per_element(self, dir: Direction) -> usize {
        match (self, dir) {
            // Read k pieces, write the output.
            (Op::Maxout { k, .. }, Direction::Forward) => 4 * k + 4,
            // Read k pieces and grad_out, write k gradients.
            (Op::Maxout { k, .. }, _) => 8 * k + 4,
            (_, Direction::Forward) => 8,
            _ => 12,
        }
    }

    /// Bytes of the buffers a call touches per element of the size (its
    /// cache footprint).
    pub(crate) fn footprint_per_element(self, dir: Direction) -> usize {
        match self {
            // Out of place: every buffer is touched once.
            Op::Maxout { .. } => self.bytes_per_element(dir),
            // In place: the buffer written is one of those read.
            _ => self.bytes_per_element(dir) - 4,
        }
    }

    /// Threads a call of size `n` is split over by engine `k`: one chunk per
    /// thread, as [`Kernels::split_len`] reports; Maxout splits its input
    /// (`k n` elements) at whole `[k, inner]` groups.
    pub(crate) fn threads(self, engine: &Kernels, n: usize) -> usize {
        match self {
            Op::Maxout { k, inner_of, .. } => {
                let outer = n / inner_of(n);
                let parts = split_threads(engine, k * n).min(outer.max(1));
                outer.div_ceil(outer.div_ceil(parts).max(1))
            }
            _ => split_threads(engine, n),
        }
    }

    /// The op's parameters at size `n`, for the JSON.
    pub(crate) fn params(self, n: usize) -> BTreeMap<String, f32> {
        let params: BTreeMap<&str, f32> = match self {
            Op::Act(act) => act.params().into_iter().collect(),
            Op::Prelu { layout_of, .. } => {
                let layout = layout_of(n);
                BTreeMap::from([
                    ("channels", layout.channels() as f32),
                    ("inner", layout.inner() as f32),
                ])
            }
            Op::Maxout { k, inner_of, .. } => {
                BTreeMap::from([("k", k as f32), ("inner", inner_of(n) as f32)])
            }
        };
        params.into_iter().map(|(k, v)| (k.into(), v)).collect()
    }

    /// Calls between restores: unbounded for an idempotent activation
    /// (ReLU: a second call changes nothing) and Maxout (out of place),
    /// capped for the others (each call scales the negative side again:
    /// Leaky ReLU and PReLU by the slope, ELU towards 0; eight calls keep
    /// every value a normal float).
    pub(crate) fn calls_between_restores(self) -> usize {
        match self {
            Op::Act(act) if is_idempotent(act) => usize::MAX,
            Op::Maxout { .. } => usize::MAX,
            _ => LEAKY_CALLS_BETWEEN_RESTORES,
        }
    }

    /// What a call of `dir` does, for the table's headings.
    pub(crate) fn describe(self, dir: Direction) -> String {
        let bytes = self.bytes_per_element(dir);
        match (self, dir) {
            (Op::Prelu { .. }, Direction::Forward) => {
                "in place, 8 B/elem: read x, write x; slopes w[c] = 0.01 + 0.02 c".into()
            }
            (Op::Prelu { .. }, _) => {
                "in place from the saved input with the slope gradient in the same pass, 12 B/elem: read x and grad, write grad".into()
            }
            (Op::Maxout { k, .. }, Direction::Forward) => format!(
                "out of place, elements are outputs, {bytes} B/output: read x ({k} pieces each), write y"
            ),
            (Op::Maxout { k, .. }, _) => format!(
                "out of place from the saved input, elements are outputs, {bytes} B/output: read x ({k} pieces each) and grad_out, write grad_in"
            ),
            (Op::Act(_), _) => dir.describe().into(),
        }
    }
}

/// Whether a second in-place call of `act` changes nothing, on values of
/// both signs, zeros and the range the report's data spans.
fn is_idempotent(act: Activation) -> bool {
    let probe: Vec<f32> = (-40..=40).map(|i| i as f32 * 0.25).chain([-0.0]).collect();
    let once = {
        let mut y = probe.clone();
        rectify::Kernels::from_env()
            .forward(act, &mut y)
            .expect("a measured activation is valid");
        y
    };
    let mut twice = once.clone();
    rectify::Kernels::from_env()
        .forward(act, &mut twice)
        .expect("a measured activation is valid");
    once.iter()
        .zip(&twice)
        .all(|(a, b)| a.to_bits() == b.to_bits())
}

/// Threads a call of `n` elements is split over by engine `k` (one chunk
/// per thread, as [`Kernels::split_len`] reports).
pub(crate) fn split_threads(k: &Kernels, n: usize) -> usize {
    k.split_len(n).map_or(1, |chunk| n.div_ceil(chunk))
}
