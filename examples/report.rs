//! # `report`: measure rectify on this CPU, print a table, save it as JSON
//!
//! ```text
//! cargo run --release --example report                  # full run, about a minute
//! cargo run --release --example report -- --quick       # a few seconds (what CI runs)
//! cargo run --release --example report -- --out DIR     # where the JSON goes
//! RECTIFY_ISA=portable cargo run --release --example report   # names the file after that tier
//! cargo run --release --example report -- compare A.json B.json [C.json ...]
//! cargo run --release --example report -- --quick --svg charts/report.svg   # + charts
//! cargo run --release --example report -- compare A.json B.json --svg charts/compare.svg
//! ```
//!
//! ## What it measures
//!
//! 1. **The machine**: CPU model and vendor (`/proc/cpuinfo`), logical cores,
//!    rayon's thread count, cache sizes (`/sys/devices/system/cpu/cpu0/cache`),
//!    the tiers this CPU can run ([`Isa::available`]), the tier the free
//!    functions use ([`Kernels::global`], which honours `RECTIFY_ISA`), and how
//!    rectify was built ([`rectify::build`]).
//! 2. **The ceiling**: in-place read-and-write bandwidth, the C library's
//!    `memmove` of the buffer onto itself shifted by one cache line
//!    (`copy_within(16.., 0)`: glibc picks its widest copy loop for this CPU
//!    at run time, so the ceiling does not depend on how rectify or this
//!    example was compiled), on an
//!    L1-sized (16 KiB), L2-sized (256 KiB), L3-sized (4 MiB) and DRAM-sized
//!    (the largest kernel buffer, at least 64 MiB) buffer, on one thread and
//!    split over all of rayon's threads the way rectify splits a call (one
//!    chunk per thread, the first on the calling thread). GB/s count 8 bytes
//!    (one read, one write) per element; GB = 10^9 bytes.
//! 3. **The kernels**: every op (`relu`, `leaky_relu(0.01)`, `elu(1)`,
//!    `celu(2)`, `selu`, and PReLU with 16 channels and slopes
//!    `w[c] = 0.01 + 0.02 c` in two layouts: `prelu_nchw`,
//!    `ChannelLayout::nchw(16, n / 16)`, one slope per contiguous run, and
//!    `prelu_nhwc`, `ChannelLayout::nhwc(16)`, the channel varying fastest;
//!    `prelu_nchw_8x8`, `ChannelLayout::nchw(n / 64, 64)`, short runs of
//!    many channels (a CNN's late stages); `prelu_nchw_2x2`,
//!    `ChannelLayout::nchw(n / 4, 4)`, runs shorter than a vector (a batch
//!    of one at a CNN's last stage); `prelu_rows8`,
//!    `ChannelLayout::nhwc(n / 8)`, a small batch of many features; the
//!    slopes repeat those 16;
//!    and Maxout, `x` viewed as `[outer, k, inner]`: `maxout_k2`, `maxout_k3`
//!    and `maxout_k4`, `inner = 1`, the interleaved pieces of the usual
//!    `reshape(.., units, k).max(-1)`, and `maxout_k2_nchw`, `inner = n / 16`,
//!    long planes of pieces) x direction x available tier x size (4096,
//!    64 Ki, 1 Mi, 16 Mi elements; for Maxout, outputs: `x` has `k` elements
//!    per output) x mode:
//!    - `forward`: `Kernels::forward` (`Kernels::prelu`) in place, 8 B/elem
//!      (read x, write x);
//!    - `backward`: `Kernels::backward(act, Saved::Output(&y), &mut grad)` in
//!      place, 12 B/elem (read y, read grad, write grad); for PReLU
//!      `Kernels::prelu_backward(Saved::Input(&x), &w, layout, &mut grad,
//!      Some(&mut grad_w))`, the input gradient and the slope gradient in one
//!      pass, 12 B/elem (read x, read grad, write grad; the slopes and their
//!      sums, at most one per 8 elements, are not counted);
//!    - `backward_from_input` (the exponential ops, whose gradient from the
//!      input needs `exp`): `Saved::Input(&x)`, 12 B/elem;
//!    - Maxout runs out of place, and its Gelem/s and GB/s count per output:
//!      `forward` is `Kernels::maxout(&x, k, inner, &mut y)`, `4 k + 4`
//!      B/output (read `k` pieces, write `y`); `backward` is
//!      `Kernels::maxout_backward(MaxoutSaved::Input(&x), k, inner, &grad_y,
//!      &mut grad_x)`, the winners recomputed from `x`, `8 k + 4` B/output
//!      (read `x` and `grad_y`, write `grad_x`);
//!    - `serial`: the tier's engine made [`Kernels::serial`];
//!    - `parallel`: the default engine of `Kernels::new(isa)`, which splits a
//!      call across rayon's threads from [`rectify::DEFAULT_PARALLEL_THRESHOLD`]
//!      elements on. Below it the call is not split (column `thr` = 1), so
//!      such a row re-measures the serial call through the parallel engine.
//!
//! ## How it measures
//!
//! Data are deterministic (xorshift64*), uniform in [-4, 4) on a 2^-21 grid,
//! so half the inputs are negative; `y` is the forward output of the same op.
//!
//! Measurements are made in *groups*: one op, direction, size and mode, with
//! every available tier plus the bandwidth probe of the matching memory level
//! (on as many threads as the call is split over). Each member is warmed up
//! and calibrated: the calls per *batch* are chosen so a batch takes about
//! 3 ms (1 ms with `--quick`). Then the members' batches are timed
//! round-robin, R rounds (R chosen so each member gets about 60 ms, clamped
//! to 5..=61 rounds; 3..=7 with `--quick`). Each repetition gives one time
//! per call; the table shows the **median** and, in brackets, the slowest and
//! the fastest repetition. Speedups and fractions of bandwidth are medians of
//! the ratios *within* each round, whose members ran moments apart: on a
//! shared machine whose speed changes with its neighbours' load, those
//! ratios stay meaningful even when the absolute numbers drift. The cost of
//! reading the clock (measured at start-up) is subtracted from every timed
//! span.
//!
//! Every kernel but Maxout works in place, so its buffer is restored from a
//! pristine copy, outside the timed spans, before every repetition (and so
//! is the probe's, so that both are timed alike). Maxout reads its input and
//! overwrites its whole output, so it needs no restore. Leaky ReLU scales
//! the negative side by 0.01 on every call, forward and backward, and PReLU
//! by its slopes (0.01 to 0.31): repeated in place they would drive those
//! values to subnormals (slow on some CPUs) and then to zero. So their timed
//! spans hold at most 8 calls between restores (the smallest nonzero input,
//! 2^-21, becomes at least about 5e-23, still a normal float; so do the
//! products `x * grad` that PReLU sums for the slope gradient), and a batch
//! of more calls is timed as several spans whose times are summed (the
//! exponential ops are capped alike). ReLU is idempotent, so one restore per
//! repetition suffices.
//!
//! ## How to read the output
//!
//! - The bandwidth table pools a standalone pass at the start with every
//!   probe interleaved in a group; its `standalone` and `interleaved` columns
//!   are the two medians apart (a large gap means the machine's load changed).
//! - `Gelem/s`: 10^9 elements (Maxout: outputs) per second, median
//!   [min .. max] over repetitions.
//! - `GB/s`: bytes moved per second (8 or 12 per element, `4 k + 4` or
//!   `8 k + 4` per Maxout output, see above).
//! - `xscalar`: speedup over the scalar reference tier at the same op,
//!   direction, size and mode, the median over rounds of scalar time / tier
//!   time (the scalar reference is plain Rust that LLVM may auto-vectorise
//!   for the baseline target, like a user's own loop).
//! - `ceiling` and `%bw`: the level the call's buffers fit in (L1d, L2 per
//!   core, shared L3, else DRAM; a split call's private levels count per
//!   thread) with the median GB/s of its probe in the same group, and the
//!   median over rounds of kernel GB/s / probe GB/s (so not exactly the
//!   quotient of the two printed medians). Near 100% the kernel moves data
//!   as fast as the C library's own copy loop does at that level: it is
//!   limited by the cache or memory, not by its arithmetic.
//! - `par/ser`: parallel over serial median Gelem/s for the same tier (two
//!   groups, so not paired: read it with the noise in mind); about 1 below
//!   the threshold (the call is not split), ideally up to the thread count
//!   above it.
//!
//! The summary gives, for each op, direction and size, the fastest tier on one
//! thread, its fraction of the bandwidth, and the same tier's parallel
//! Gelem/s. The JSON file (`<cpu-model-slug>-<chosen-isa>.json`, schema
//! `rectify-report`, version 1) holds the same numbers (rounded to 4
//! significant digits), so reports from several machines can be compared.
//!
//! ## Comparing reports
//!
//! `compare A.json B.json [C.json ...]` reads saved reports (refusing, with
//! one line and exit code 1, a file that cannot be read, is not JSON, is not
//! a `rectify-report` or is of another `schema_version`) and prints, per op,
//! direction, size and mode, each report's median Gelem/s at *its chosen
//! tier* (the one its free functions use and its file is named after), the
//! ratio to the first report's, and its fraction of its own measured
//! bandwidth. Columns are tagged `A`, `B`, ... and labelled with the CPU
//! model and chosen tier (the file name when two share those). A case a
//! report lacks shows `-`. A ratio is marked `~` (within the noise) when
//! either median lies inside the other's [min .. max] over its repetitions.
//! A warnings block at the top lists what differs between the builds
//! (profile, opt-level, target features, crate version, rustc) or the runs'
//! settings (quick or full).
//!
//! ## Charts (`--svg FILE`)
//!
//! `--svg FILE`, after a measuring run (with `--quick` and `--out` or
//! without) or after `compare`, also draws the numbers as two SVG files,
//! made with plotters' SVG backend (text is written as SVG `<text>` in the
//! viewer's `sans-serif`, so no font is needed to make them):
//!
//! - `FILE`, **throughput against size**: a grid of panels, one row per op
//!   and one column per direction (`forward`, `backward`,
//!   `backward_from_input`; a cell is empty where an op has no such
//!   direction). Each panel draws the median Gelem/s of the serial mode (y,
//!   logarithmic) against the buffer size in elements (x, logarithmic,
//!   ticks at the measured sizes), a solid line with a dot per measured size
//!   for each series, and the in-place bandwidth ceiling as a dashed line:
//!   the row's `bandwidth_gbps` (its level's `memmove` probe, measured in
//!   the same group) divided by the op's bytes per element (`bytes_per_call`
//!   / `elements`, in the panel's title), in Gelem/s, per size.
//! - `FILE` with `-bars` before its extension (`report.svg` ->
//!   `report-bars.svg`), **grouped bars**: the same grid, each panel a group
//!   of bars per measured size, one bar per series, on a linear Gelem/s axis
//!   from zero, each bar with its value written along it (inside its top,
//!   or above it when the bar is too short) and its bandwidth ceiling as a
//!   black tick across it.
//!
//! For a report the series are its ISAs (in the order of
//! `isas_available`), and each panel has one ceiling (every tier of a group
//! shares its probe). For `compare` the series are the reports (`A`, `B`,
//! ... with the labels of the printed comparison: CPU model and chosen ISA,
//! or the file when those coincide), each at its chosen ISA and serial, and
//! each draws its own ceiling, dashed in its colour (a report lacking a
//! size leaves its bar's place empty). Each file has a header: a title (the
//! CPU, run and chosen ISA, or "reports compared"), two lines saying what
//! is drawn, and one legend for all panels; Maxout's elements are outputs,
//! as in the table. The files hold no timestamp: the same input gives the
//! same bytes.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use plotters::coord::Shift;
use plotters::prelude::{
    BindKeyPoints, ChartBuilder, Circle, Color, DashedLineSeries, DrawingArea, EmptyElement,
    FontStyle, FontTransform, IntoDrawingArea, IntoFont, IntoLogRange, LineSeries, PathElement,
    RGBColor, Rectangle, SVGBackend, Text, TextStyle, BLACK, WHITE,
};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use rectify::{Activation, ChannelLayout, Isa, Kernels, MaxoutSaved, Saved};
use serde::{Deserialize, Serialize};

/// Usage text for `--help` and for argument errors.
const USAGE: &str = "\
usage: cargo run --release --example report -- [--quick] [--only OPS] [--out DIR] [--svg FILE]
       cargo run --release --example report -- compare A.json B.json [C.json ...] [--svg FILE]

Measures rectify's kernels on this CPU (every op, direction, available ISA,
size, serial and parallel) against the in-place memory bandwidth, prints a
table and writes it as JSON to DIR/<cpu-model>-<isa>.json.

compare prints saved reports side by side, each at its chosen ISA: per op,
direction, size and mode, Gelem/s, the ratio to the first report (~ when
within the noise) and the fraction of the report's own bandwidth; it warns
when the builds differ and refuses files that are not rectify reports of
schema_version 1.

options:
  --quick      sizes 4096, 65536 and 1 Mi only, few repetitions (seconds)
  --only OPS   measure only these ops, comma-separated (relu, leaky_relu,
               elu, celu, selu, prelu_nchw, prelu_nhwc, prelu_nchw_8x8,
               prelu_nchw_2x2, prelu_rows8, maxout_k2, maxout_k3, maxout_k4,
               maxout_k2_nchw);
               the bandwidth is measured anyway
  --out DIR    directory for the JSON file (default: target/rectify-report)
  --svg FILE   also draw charts (measuring or compare): FILE, per op and
               direction, serial Gelem/s against size (both axes log) with
               one line per ISA (compare: per report, at its chosen ISA) and
               the bandwidth ceiling dashed; FILE with -bars before the
               extension (report.svg -> report-bars.svg), the same as
               grouped bars per size
  -h, --help   print this help
";

/// The `schema` of the JSON report, and the version this build writes and
/// reads.
const SCHEMA: &str = "rectify-report";
const SCHEMA_VERSION: u32 = 1;

/// Element counts of the full run: L1-, L2-, L3- and DRAM-sized buffers.
const FULL_SIZES: [usize; 4] = [4096, 65536, 1 << 20, 1 << 24];
/// Element counts of `--quick`.
const QUICK_SIZES: [usize; 3] = [4096, 65536, 1 << 20];

/// At most this many in-place leaky (or PReLU) calls run between two
/// restores of the buffer, so repeated scaling by the slope never reaches
/// subnormals.
const LEAKY_CALLS_BETWEEN_RESTORES: usize = 8;

/// The channels of the PReLU ops (every size is a multiple of it).
const PRELU_CHANNELS: usize = 16;

/// PReLU's slopes, `w[c] = 0.01 + 0.02 c`: all in (0, 1), like Leaky ReLU's.
const PRELU_SLOPES: [f32; PRELU_CHANNELS] = {
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
const PRELU_SHORT_RUN: usize = 64;

/// `prelu_nchw_2x2`'s run length: 2x2 maps of `n / 4` channels, one
/// image (runs shorter than any tier's vector).
const PRELU_TINY_RUN: usize = 4;

/// `prelu_rows8`'s rows: a `[8, n / 8]` matrix (a dense layer's output for
/// a small batch).
const PRELU_ROWS: usize = 8;

/// PReLU's slope for channel `c`: [`PRELU_SLOPES`] repeated.
fn prelu_slope(c: usize) -> f32 {
    PRELU_SLOPES[c % PRELU_CHANNELS]
}

/// Maxout NCHW's outer dimension: `x` is `[16, k, n / 16]` (every size is a
/// multiple of it).
const MAXOUT_NCHW_OUTER: usize = 16;

/// The ops measured: the activations with default parameters (CELU with
/// alpha = 2 so that its division is exercised), PReLU in both layouts, then
/// Maxout with interleaved pieces (`k` = 2, 3 and 4) and with long planes.
const OPS: [Op; 14] = [
    Op::Act(Activation::Relu),
    Op::Act(Activation::leaky_relu_default()),
    Op::Act(Activation::elu_default()),
    Op::Act(Activation::Celu { alpha: 2.0 }),
    Op::Act(Activation::Selu),
    Op::Prelu {
        name: "prelu_nchw",
        layout_of: |n| ChannelLayout::nchw(PRELU_CHANNELS, n / PRELU_CHANNELS),
    },
    Op::Prelu {
        name: "prelu_nhwc",
        layout_of: |_| ChannelLayout::nhwc(PRELU_CHANNELS),
    },
    Op::Prelu {
        name: "prelu_nchw_8x8",
        layout_of: |n| ChannelLayout::nchw(n / PRELU_SHORT_RUN, PRELU_SHORT_RUN),
    },
    Op::Prelu {
        name: "prelu_nchw_2x2",
        layout_of: |n| ChannelLayout::nchw(n / PRELU_TINY_RUN, PRELU_TINY_RUN),
    },
    Op::Prelu {
        name: "prelu_rows8",
        layout_of: |n| ChannelLayout::nhwc(n / PRELU_ROWS),
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

/// The cache-sized bandwidth buffers; DRAM's is sized from the kernel sizes.
const CACHE_BANDWIDTH_BUFFERS: [(Level, usize); 3] = [
    (Level::L1, 16 << 10),
    (Level::L2, 256 << 10),
    (Level::L3, 4 << 20),
];
/// The DRAM bandwidth buffer is at least this large (and at least as large as
/// the largest kernel buffer, so both are measured on the same footprint).
const DRAM_MIN_BYTES: usize = 64 << 20;

/// What the command line asks for.
enum Command {
    Help,
    /// Measure this CPU and write its report.
    Measure(Options),
    /// Compare saved reports (at least two), the first as the reference,
    /// and draw the comparison to `svg` if given.
    Compare {
        paths: Vec<PathBuf>,
        svg: Option<PathBuf>,
    },
}

/// Options of a measuring run.
struct Options {
    quick: bool,
    /// The ops to measure (`--only`); all of [`OPS`] when empty.
    only: Vec<Op>,
    out: PathBuf,
    /// Where to draw the charts (`--svg`), if anywhere.
    svg: Option<PathBuf>,
}

/// The value of `--svg FILE` or `--svg=FILE` if `arg` is that option
/// (`Some(Err)` when the file is missing), taking `FILE` from `rest`.
fn svg_option(
    arg: &str,
    rest: &mut impl Iterator<Item = String>,
) -> Option<Result<PathBuf, String>> {
    let file = match arg {
        "--svg" => rest.next(),
        _ => Some(arg.strip_prefix("--svg=")?.to_string()),
    };
    Some(match file {
        Some(file) if !file.is_empty() => Ok(PathBuf::from(file)),
        _ => Err("--svg needs a file".into()),
    })
}

/// The ops named in `--only`'s comma-separated list.
fn only_ops(list: Option<String>) -> Result<Vec<Op>, String> {
    let list = list
        .filter(|l| !l.is_empty())
        .ok_or("--only needs op names")?;
    list.split(',')
        .map(|name| {
            OPS.into_iter()
                .find(|op| op.name() == name)
                .ok_or_else(|| format!("--only: no op named {name:?}"))
        })
        .collect()
}

/// Parses the arguments (after the program name).
fn parse_args(args: impl Iterator<Item = String>) -> Result<Command, String> {
    let mut args = args.peekable();
    if args.next_if(|a| a == "compare").is_some() {
        let mut paths = Vec::new();
        let mut svg = None;
        while let Some(arg) = args.next() {
            if let Some(file) = svg_option(&arg, &mut args) {
                svg = Some(file?);
                continue;
            }
            match arg.as_str() {
                "-h" | "--help" => return Ok(Command::Help),
                _ if arg.starts_with('-') => return Err(format!("unknown argument {arg:?}")),
                _ => paths.push(PathBuf::from(arg)),
            }
        }
        if paths.len() < 2 {
            return Err("compare needs at least two report files".into());
        }
        return Ok(Command::Compare { paths, svg });
    }
    let mut options = Options {
        quick: false,
        only: Vec::new(),
        out: PathBuf::from("target/rectify-report"),
        svg: None,
    };
    while let Some(arg) = args.next() {
        if let Some(file) = svg_option(&arg, &mut args) {
            options.svg = Some(file?);
            continue;
        }
        match arg.as_str() {
            "--quick" => options.quick = true,
            "--only" => options.only = only_ops(args.next())?,
            "-h" | "--help" => return Ok(Command::Help),
            "--out" => match args.next() {
                Some(dir) if !dir.is_empty() => options.out = PathBuf::from(dir),
                _ => return Err("--out needs a directory".into()),
            },
            _ => match (arg.strip_prefix("--out="), arg.strip_prefix("--only=")) {
                (Some(dir), _) if !dir.is_empty() => options.out = PathBuf::from(dir),
                (_, Some(names)) => options.only = only_ops(Some(names.to_string()))?,
                _ => return Err(format!("unknown argument {arg:?}")),
            },
        }
    }
    Ok(Command::Measure(options))
}

/// How long to measure: fixed by `--quick` or not.
struct Plan {
    quick: bool,
    sizes: Vec<usize>,
    /// Wanted duration of one timed batch, seconds.
    target_batch_s: f64,
    /// Wanted duration of all repetitions of one case, seconds.
    case_budget_s: f64,
    min_reps: usize,
    max_reps: usize,
    /// Cost of reading the clock twice, subtracted from every timed span.
    timer_overhead_s: f64,
}

impl Plan {
    fn new(quick: bool) -> Plan {
        let timer_overhead_s = timer_overhead();
        if quick {
            Plan {
                quick,
                sizes: QUICK_SIZES.to_vec(),
                target_batch_s: 1e-3,
                case_budget_s: 8e-3,
                min_reps: 3,
                max_reps: 7,
                timer_overhead_s,
            }
        } else {
            Plan {
                quick,
                sizes: FULL_SIZES.to_vec(),
                target_batch_s: 3e-3,
                case_budget_s: 60e-3,
                min_reps: 5,
                max_reps: 61,
                timer_overhead_s,
            }
        }
    }
}

/// Median cost of `Instant::now()` followed by `elapsed()`, in seconds.
fn timer_overhead() -> f64 {
    let mut samples: Vec<f64> = (0..2001)
        .map(|_| {
            let t = Instant::now();
            black_box(t.elapsed()).as_secs_f64()
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Per-call times of one case, one per repetition, sorted (fastest first).
struct Timing {
    seconds_per_call: Vec<f64>,
    /// The same times in the order of the rounds, to pair with the other
    /// members of the group.
    by_round: Vec<f64>,
    calls_per_rep: usize,
}

impl Timing {
    fn median(&self) -> f64 {
        median(&self.seconds_per_call)
    }
    fn fastest(&self) -> f64 {
        self.seconds_per_call[0]
    }
    fn slowest(&self) -> f64 {
        self.seconds_per_call[self.seconds_per_call.len() - 1]
    }
}

/// Something to time: a kernel call on its buffers, or the bandwidth probe.
trait Subject {
    /// Puts the buffers back in their pristine state (never timed).
    fn restore(&mut self);
    /// One call (timed).
    fn call(&mut self);
    /// At most this many calls run between two restores.
    fn calls_between_restores(&self) -> usize;
}

/// Times `calls` calls of `subject`, in spans of at most
/// `calls_between_restores` calls, each after a restore. Seconds, summed over
/// the spans, each less the clock overhead.
fn run(plan: &Plan, subject: &mut dyn Subject, calls: usize) -> f64 {
    let cap = subject.calls_between_restores().max(1);
    let mut total = 0.0;
    let mut left = calls;
    while left > 0 {
        let k = left.min(cap);
        subject.restore();
        let t = Instant::now();
        for _ in 0..k {
            subject.call();
        }
        total += (t.elapsed().as_secs_f64() - plan.timer_overhead_s).max(0.0);
        left -= k;
    }
    total
}

/// Warms `subject` up, then finds how many calls make a batch of about
/// `plan.target_batch_s`. Returns (calls per batch, estimated seconds per call).
fn calibrate(plan: &Plan, subject: &mut dyn Subject) -> (usize, f64) {
    // Warm-up: page faults, caches, branch predictors, rayon's sleeping threads.
    run(plan, subject, 1);
    run(plan, subject, 2);
    // Double the calls until they take half a batch.
    let mut calls = 1usize;
    let per_call = loop {
        let t = run(plan, subject, calls);
        if t >= plan.target_batch_s / 2.0 || calls >= 1 << 26 {
            break (t / calls as f64).max(1e-12);
        }
        calls *= 2;
    };
    let batch = ((plan.target_batch_s / per_call).ceil() as usize).max(1);
    (batch, per_call)
}

/// Times every subject, interleaved: each is calibrated, then the repetitions
/// go round-robin (the starting subject rotating), so a change in the
/// machine's load during the group affects every subject alike and their
/// ratios stay meaningful on a shared machine.
fn measure_interleaved(plan: &Plan, subjects: &mut [Box<dyn Subject + '_>]) -> Vec<Timing> {
    let calibration: Vec<(usize, f64)> = subjects
        .iter_mut()
        .map(|s| calibrate(plan, s.as_mut()))
        .collect();
    let round_s: f64 = calibration.iter().map(|&(b, t)| b as f64 * t).sum();
    let reps = ((plan.case_budget_s * subjects.len() as f64 / round_s).round() as usize)
        .clamp(plan.min_reps, plan.max_reps);
    let mut samples = vec![Vec::with_capacity(reps); subjects.len()];
    for r in 0..reps {
        for j in 0..subjects.len() {
            let i = (r + j) % subjects.len();
            let batch = calibration[i].0;
            samples[i].push(run(plan, subjects[i].as_mut(), batch) / batch as f64);
        }
    }
    samples
        .into_iter()
        .zip(calibration)
        .map(|(by_round, (calls_per_rep, _))| {
            let mut seconds_per_call = by_round.clone();
            seconds_per_call.sort_by(f64::total_cmp);
            Timing {
                seconds_per_call,
                by_round,
                calls_per_rep,
            }
        })
        .collect()
}

/// `n` values uniform in [-4, 4) on a 2^-21 grid (xorshift64*), half negative.
fn data(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            let r = s.wrapping_mul(0x2545_F491_4F6C_DD1D);
            // The top 24 bits, exactly representable; scaled to [0, 8) - 4.
            (r >> 40) as f32 * (8.0 / (1u64 << 24) as f32) - 4.0
        })
        .collect()
}

/// A memory level, the class of a buffer footprint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Level {
    L1,
    L2,
    L3,
    Dram,
}

impl Level {
    fn label(self) -> &'static str {
        match self {
            Level::L1 => "L1",
            Level::L2 => "L2",
            Level::L3 => "L3",
            Level::Dram => "DRAM",
        }
    }
}

/// Cache sizes in bytes: per core for L1d and L2, shared for L3.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
struct Caches {
    l1d: Option<usize>,
    l2: Option<usize>,
    l3: Option<usize>,
}

impl Caches {
    /// Reads cpu0's caches from sysfs (Linux); unknown levels are `None`.
    fn detect() -> Caches {
        let mut caches = Caches {
            l1d: None,
            l2: None,
            l3: None,
        };
        let Ok(dirs) = std::fs::read_dir("/sys/devices/system/cpu/cpu0/cache") else {
            return caches;
        };
        for dir in dirs.flatten() {
            let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).unwrap_or_default();
            let (level, kind) = (read("level"), read("type"));
            let Some(size) = parse_cache_size(read("size").trim()) else {
                continue;
            };
            match (level.trim(), kind.trim()) {
                ("1", "Data" | "Unified") => caches.l1d = Some(size),
                ("2", "Data" | "Unified") => caches.l2 = Some(size),
                ("3", "Data" | "Unified") => caches.l3 = Some(size),
                _ => {}
            }
        }
        caches
    }

    /// The level a call whose buffers total `bytes` runs from, on `threads`
    /// threads (private levels count per thread). Unknown sizes are assumed
    /// 32 KiB, 512 KiB and 16 MiB.
    fn level_of(&self, bytes: usize, threads: usize) -> Level {
        let per_thread = bytes.div_ceil(threads.max(1));
        if per_thread <= self.l1d.unwrap_or(32 << 10) {
            Level::L1
        } else if per_thread <= self.l2.unwrap_or(512 << 10) {
            Level::L2
        } else if bytes <= self.l3.unwrap_or(16 << 20) {
            Level::L3
        } else {
            Level::Dram
        }
    }
}

/// `"32K"`, `"512K"`, `"32768K"`, `"1M"` -> bytes.
fn parse_cache_size(text: &str) -> Option<usize> {
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, ""),
    };
    let n: usize = digits.parse().ok()?;
    match unit {
        "" | "B" => Some(n),
        "K" | "KB" | "KiB" => Some(n << 10),
        "M" | "MB" | "MiB" => Some(n << 20),
        "G" | "GB" | "GiB" => Some(n << 30),
        _ => None,
    }
}

/// A human size: `16 KiB`, `4 MiB`.
fn human_bytes(bytes: usize) -> String {
    if bytes >= 1 << 30 && bytes.is_multiple_of(1 << 30) {
        format!("{} GiB", bytes >> 30)
    } else if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes.is_multiple_of(1 << 10) {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} B")
    }
}

/// A human element count: `4096`, `64 Ki`, `1 Mi`, `16 Mi`.
fn human_elements(n: usize) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} Mi", n >> 20)
    } else if n >= 1 << 16 && n.is_multiple_of(1 << 10) {
        format!("{} Ki", n >> 10)
    } else {
        n.to_string()
    }
}

/// Rounds to 4 significant digits, so the JSON is readable and diffable (far
/// finer than the run-to-run noise).
fn sig4(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let k = 3 - x.abs().log10().floor() as i32;
    if k >= 0 {
        let p = 10f64.powi(k);
        (x * p).round() / p
    } else {
        let q = 10f64.powi(-k);
        (x / q).round() * q
    }
}

/// `lower-case`, non-alphanumerics to `-`, runs collapsed, ends trimmed.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        "unknown".into()
    } else {
        out
    }
}

/// How rectify was built (`rectify::build`).
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct BuildInfo {
    version: String,
    rustc: String,
    target: String,
    profile: String,
    opt_level: String,
    target_features: String,
}

impl BuildInfo {
    fn get() -> BuildInfo {
        BuildInfo {
            version: rectify::build::VERSION.into(),
            rustc: rectify::build::RUSTC.into(),
            target: rectify::build::TARGET.into(),
            profile: rectify::build::PROFILE.into(),
            opt_level: rectify::build::OPT_LEVEL.into(),
            target_features: rectify::build::TARGET_FEATURES.into(),
        }
    }
}

/// The machine the report ran on.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Machine {
    cpu_model: String,
    vendor: Option<String>,
    logical_cores: usize,
    rayon_threads: usize,
    caches: Caches,
    isas_available: Vec<String>,
    isa_chosen: String,
    rectify_isa_env: Option<String>,
}

impl Machine {
    fn detect() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let field = |key: &str| {
            cpuinfo.lines().find_map(|line| {
                let (k, v) = line.split_once(':')?;
                (k.trim() == key && !v.trim().is_empty()).then(|| v.trim().to_string())
            })
        };
        Machine {
            cpu_model: field("model name").unwrap_or_else(|| "unknown".into()),
            vendor: field("vendor_id").or_else(|| field("CPU implementer")),
            logical_cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            rayon_threads: rayon::current_num_threads(),
            caches: Caches::detect(),
            isas_available: Isa::available()
                .iter()
                .map(|isa| isa.name().into())
                .collect(),
            isa_chosen: Kernels::global().isa().name().into(),
            rectify_isa_env: std::env::var("RECTIFY_ISA").ok(),
        }
    }
}

/// The measurement settings, as saved.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Config {
    sizes: Vec<usize>,
    /// Repetitions per case (fewer when a batch is long, never below `min_repetitions`).
    repetitions: usize,
    min_repetitions: usize,
    quick: bool,
    parallel_threshold: usize,
    target_batch_ms: f64,
    case_budget_ms: f64,
    timer_overhead_ns: f64,
    leaky_calls_between_restores: usize,
}

/// One bandwidth measurement.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Bandwidth {
    label: String,
    bytes: usize,
    threads: usize,
    gbps_median: f64,
    gbps_min: f64,
    gbps_max: f64,
    /// Median of the standalone pass at the start of the run.
    gbps_median_standalone: f64,
    /// Median of the probes interleaved with the kernels whose ceiling this
    /// level is (`null` when no kernel row uses it).
    gbps_median_interleaved: Option<f64>,
}

/// One measured kernel case.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Row {
    op: String,
    params: BTreeMap<String, f32>,
    direction: String,
    isa: String,
    elements: usize,
    /// `serial` or `parallel`.
    mode: String,
    /// Threads the call is split over (1 when not split).
    threads: usize,
    bytes_per_call: usize,
    repetitions: usize,
    calls_per_repetition: usize,
    ns_per_call_median: f64,
    gelem_s_median: f64,
    gelem_s_min: f64,
    gelem_s_max: f64,
    gb_s_median: f64,
    /// Median over rounds of scalar time / this tier's time (same group).
    speedup_vs_scalar: f64,
    /// The memory level the call's buffers fit in: `L1`, `L2`, `L3`, `DRAM`.
    bandwidth_class: String,
    /// Median GB/s of that level's probe, interleaved in the same group.
    bandwidth_gbps: f64,
    /// Median over rounds of this call's GB/s / the probe's GB/s.
    fraction_of_bandwidth: f64,
    /// Parallel over serial median Gelem/s, same tier (parallel rows only).
    parallel_over_serial: Option<f64>,
}

impl Row {
    /// The case the row measures, whatever the tier and mode: op, direction
    /// and size.
    fn case(&self) -> (&str, &str, usize) {
        (&self.op, &self.direction, self.elements)
    }
}

/// The best serial tier for one op, direction and size.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Summary {
    op: String,
    direction: String,
    elements: usize,
    best_serial_isa: String,
    gelem_s: f64,
    gb_s: f64,
    speedup_vs_scalar: f64,
    bandwidth_class: String,
    fraction_of_bandwidth: f64,
    parallel_gelem_s: Option<f64>,
}

/// The whole report, as saved (and as read back by `compare`).
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Report {
    schema: String,
    schema_version: u32,
    crate_version: String,
    build: BuildInfo,
    machine: Machine,
    config: Config,
    bandwidth: Vec<Bandwidth>,
    results: Vec<Row>,
    summary: Vec<Summary>,
}

/// One in-place pass that reads and writes (almost) every element, the
/// bandwidth probe: `memmove` of the buffer onto itself, one cache line
/// (16 elements) down. glibc dispatches `memmove` on the CPU's features, so
/// this is the machine's own best copy loop whatever this binary targets.
/// (An `x += 1` loop compiled for baseline x86_64 is SSE2 and limited by the
/// core, not the cache, in L1 and L2: measured 80 vs 180 GB/s at 16 KiB.)
#[inline(never)]
fn move_in_place(buf: &mut [f32]) {
    let n = buf.len();
    if n > 16 {
        buf.copy_within(16..n, 0);
    }
}

/// [`move_in_place`] split the way rectify splits a call: chunks of `chunk`
/// elements, the first on the calling thread, the others on rayon's pool.
fn move_in_place_split(buf: &mut [f32], chunk: usize) {
    rayon::in_place_scope(|scope| {
        let mut chunks = buf.chunks_mut(chunk);
        let first = chunks.next();
        for c in chunks {
            scope.spawn(move |_| move_in_place(c));
        }
        if let Some(c) = first {
            move_in_place(c);
        }
    });
}

/// The bandwidth probe as a [`Subject`]: in-place `memmove` over a level's buffer, on
/// one thread or split into chunks of `chunk` elements. It is restored from a pristine copy
/// before every repetition like the kernels, not because its values need it
/// but so that both are timed alike: after a DRAM-sized copy, part of the
/// next pass's write-back is left for after the timed span, and the ceiling
/// must see the same advantage as the kernels.
struct Probe<'a> {
    pristine: &'a [f32],
    buf: &'a mut [f32],
    chunk: Option<usize>,
}

impl Subject for Probe<'_> {
    fn restore(&mut self) {
        self.buf.copy_from_slice(self.pristine);
    }
    fn call(&mut self) {
        match self.chunk {
            Some(chunk) => move_in_place_split(black_box(&mut *self.buf), chunk),
            None => move_in_place(black_box(&mut *self.buf)),
        }
    }
    fn calls_between_restores(&self) -> usize {
        usize::MAX
    }
}

/// The probe buffers, one per level: (level, pristine copy, working buffer).
struct ProbeBuffers {
    buffers: Vec<(Level, Vec<f32>, Vec<f32>)>,
}

impl ProbeBuffers {
    /// 16 KiB, 256 KiB, 4 MiB, and for DRAM the largest kernel buffer (of
    /// any op at any size) but at least 64 MiB.
    fn new(sizes: &[usize]) -> ProbeBuffers {
        let largest = sizes
            .iter()
            .flat_map(|&n| OPS.map(|op| op.input_len(n) * 4))
            .max()
            .unwrap_or(0);
        let dram = DRAM_MIN_BYTES.max(largest);
        let buffers = CACHE_BANDWIDTH_BUFFERS
            .into_iter()
            .chain([(Level::Dram, dram)])
            .map(|(level, bytes)| {
                let pristine = data(bytes / 4, 0xB0B);
                (level, pristine.clone(), pristine)
            })
            .collect();
        ProbeBuffers { buffers }
    }
    /// The probe of `level` on one thread, or (`threads > 1`) split the way
    /// rectify splits a call of that many elements over the rayon pool.
    fn probe(&mut self, level: Level, threads: usize) -> Probe<'_> {
        let (_, pristine, buf) = self
            .buffers
            .iter_mut()
            .find(|(l, _, _)| *l == level)
            .expect("a buffer per level");
        let chunk = (threads > 1)
            .then(|| {
                Kernels::best()
                    .with_parallel_threshold(0)
                    .split_len(buf.len())
            })
            .flatten();
        Probe {
            pristine,
            buf,
            chunk,
        }
    }
}

/// Probe samples (seconds per call) per level and thread count.
#[derive(Default)]
struct ProbeSamples {
    standalone: Vec<(Level, usize, usize, Timing)>,
    interleaved: BTreeMap<(&'static str, usize), Vec<f64>>,
}

impl ProbeSamples {
    /// The standalone pass: every level, on one thread and on `threads`.
    fn standalone(plan: &Plan, probes: &mut ProbeBuffers, threads: usize) -> ProbeSamples {
        let mut out = ProbeSamples::default();
        for i in 0..probes.buffers.len() {
            let level = probes.buffers[i].0;
            let thread_counts = if threads > 1 {
                vec![1, threads]
            } else {
                vec![1]
            };
            for t in thread_counts {
                let probe = probes.probe(level, t);
                let bytes = probe.buf.len() * 4;
                eprintln!(
                    "measuring bandwidth {} {} on {t} thread(s) ...",
                    level.label(),
                    human_bytes(bytes)
                );
                let mut subject: [Box<dyn Subject>; 1] = [Box::new(probe)];
                let timing = measure_interleaved(plan, &mut subject)
                    .pop()
                    .expect("one timing");
                out.standalone.push((level, bytes, t, timing));
            }
        }
        out
    }

    /// The bandwidth table: per level and thread count, the standalone and
    /// the interleaved samples pooled.
    fn table(&self) -> Vec<Bandwidth> {
        self.standalone
            .iter()
            .map(|(level, bytes, threads, timing)| {
                let gbps = |s: f64| sig4(2.0 * *bytes as f64 / s / 1e9);
                let interleaved = self.interleaved.get(&(level.label(), *threads));
                let mut pooled = timing.seconds_per_call.clone();
                pooled.extend(interleaved.into_iter().flatten());
                pooled.sort_by(f64::total_cmp);
                let pooled = Timing {
                    seconds_per_call: pooled,
                    by_round: Vec::new(),
                    calls_per_rep: timing.calls_per_rep,
                };
                Bandwidth {
                    label: level.label().into(),
                    bytes: *bytes,
                    threads: *threads,
                    gbps_median: gbps(pooled.median()),
                    gbps_min: gbps(pooled.slowest()),
                    gbps_max: gbps(pooled.fastest()),
                    gbps_median_standalone: gbps(timing.median()),
                    gbps_median_interleaved: interleaved.map(|s| {
                        let mut s = s.clone();
                        s.sort_by(f64::total_cmp);
                        gbps(median(&s))
                    }),
                }
            })
            .collect()
    }
}

/// Median of sorted samples.
fn median(sorted: &[f64]) -> f64 {
    let m = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[m]
    } else {
        (sorted[m - 1] + sorted[m]) / 2.0
    }
}

/// Forward, or a gradient from the saved output or input.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Forward,
    Backward,
    BackwardFromInput,
}

impl Direction {
    fn name(self) -> &'static str {
        match self {
            Direction::Forward => "forward",
            Direction::Backward => "backward",
            Direction::BackwardFromInput => "backward_from_input",
        }
    }
    fn from_name(name: &str) -> Direction {
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

/// What is measured: an activation, PReLU with [`PRELU_SLOPES`] in a layout
/// that depends on the buffer's length, or Maxout of `k` pieces.
///
/// A size `n` counts elements, and for Maxout outputs: its input has `k n`
/// elements.
#[derive(Clone, Copy)]
enum Op {
    Act(Activation),
    Prelu {
        name: &'static str,
        /// The layout of a buffer of `n` elements.
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
    fn name(self) -> &'static str {
        match self {
            Op::Act(act) => act.name(),
            Op::Prelu { name, .. } | Op::Maxout { name, .. } => name,
        }
    }

    /// The op of [`OPS`] called `name`.
    fn named(name: &str) -> Op {
        OPS.into_iter()
            .find(|op| op.name() == name)
            .expect("a measured op")
    }

    /// The directions measured. The ReLU family has one gradient formula for
    /// x and y; PReLU's `backward` is from the input (with the slope
    /// gradient), and so is Maxout's.
    fn directions(self) -> &'static [Direction] {
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
    fn input_len(self, n: usize) -> usize {
        match self {
            Op::Maxout { k, .. } => k * n,
            _ => n,
        }
    }

    /// Bytes a call moves (read plus written) per element of the size.
    fn bytes_per_element(self, dir: Direction) -> usize {
        match (self, dir) {
            // Read k pieces, write the output.
            (Op::Maxout { k, .. }, Direction::Forward) => 4 * k + 4,
            // Read k pieces and grad_y, write k gradients.
            (Op::Maxout { k, .. }, _) => 8 * k + 4,
            (_, Direction::Forward) => 8,
            _ => 12,
        }
    }

    /// Bytes of the buffers a call touches per element of the size (its
    /// cache footprint).
    fn footprint_per_element(self, dir: Direction) -> usize {
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
    fn threads(self, engine: &Kernels, n: usize) -> usize {
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
    fn params(self, n: usize) -> BTreeMap<String, f32> {
        let params: BTreeMap<&str, f32> = match self {
            Op::Act(Activation::LeakyRelu { slope }) => BTreeMap::from([("slope", slope)]),
            Op::Act(Activation::Elu { alpha } | Activation::Celu { alpha }) => {
                BTreeMap::from([("alpha", alpha)])
            }
            Op::Act(_) => BTreeMap::new(),
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

    /// Calls between restores: unbounded for ReLU (idempotent) and Maxout
    /// (out of place), capped for the others (each call scales the negative
    /// side again: Leaky ReLU and PReLU by the slope, ELU towards 0; eight
    /// calls keep every value a normal float).
    fn calls_between_restores(self) -> usize {
        match self {
            Op::Act(Activation::Relu) | Op::Maxout { .. } => usize::MAX,
            _ => LEAKY_CALLS_BETWEEN_RESTORES,
        }
    }

    /// What a call of `dir` does, for the table's headings.
    fn describe(self, dir: Direction) -> String {
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
                "out of place from the saved input, elements are outputs, {bytes} B/output: read x ({k} pieces each) and grad_y, write grad_x"
            ),
            (Op::Act(_), _) => dir.describe().into(),
        }
    }
}

/// Threads a call of `n` elements is split over by engine `k` (one chunk
/// per thread, as [`Kernels::split_len`] reports).
fn split_threads(k: &Kernels, n: usize) -> usize {
    k.split_len(n).map_or(1, |chunk| n.div_ceil(chunk))
}

/// The pristine buffers of one op at one size `n`.
struct Inputs {
    /// The input, `op.input_len(n)` elements.
    x: Vec<f32>,
    /// The activations' forward output of `x`, for `backward` from the saved
    /// output (empty for the other ops).
    y: Vec<f32>,
    /// The incoming gradient, `n` elements (Maxout's `grad_y`).
    grad: Vec<f32>,
}

impl Inputs {
    fn new(op: Op, n: usize) -> Inputs {
        let x = data(op.input_len(n), 0x5EED ^ n as u64);
        let y = match op {
            Op::Act(act) => {
                let mut y = x.clone();
                Kernels::new(Isa::Scalar)
                    .expect("scalar is always available")
                    .serial()
                    .forward(act, &mut y)
                    .expect("valid op");
                y
            }
            _ => Vec::new(),
        };
        Inputs {
            x,
            y,
            grad: data(n, 0x6AD ^ n as u64),
        }
    }

    /// The pristine copy of the buffer an in-place call of `dir` writes: `x`
    /// forward, the gradient backward.
    fn pristine(&self, dir: Direction) -> &[f32] {
        match dir {
            Direction::Forward => &self.x,
            Direction::Backward | Direction::BackwardFromInput => &self.grad,
        }
    }
}

/// One tier's call of an op in one direction. The in-place ops write `out`,
/// restored before every span from its pristine copy (`x` forward, the
/// gradient backward); Maxout reads the inputs and overwrites `out` (`y` or
/// `grad_x`) whole, so nothing is restored.
struct Case<'a> {
    engine: Kernels,
    op: Op,
    dir: Direction,
    inputs: &'a Inputs,
    /// The buffer the call writes.
    out: Vec<f32>,
    /// PReLU's slope gradient (overwritten by every call).
    /// PReLU's slopes, one per channel of the layout, and its slope
    /// gradient (empty for the other ops).
    slopes: Vec<f32>,
    grad_w: Vec<f32>,
}

impl<'a> Case<'a> {
    fn new(engine: Kernels, op: Op, dir: Direction, inputs: &'a Inputs) -> Case<'a> {
        let out = match (op, dir) {
            (Op::Maxout { .. }, Direction::Forward) => vec![0.0; inputs.grad.len()],
            (Op::Maxout { .. }, _) => vec![0.0; inputs.x.len()],
            _ => inputs.pristine(dir).to_vec(),
        };
        let channels = match op {
            Op::Prelu { layout_of, .. } => layout_of(inputs.x.len()).channels(),
            _ => 0,
        };
        Case {
            engine,
            op,
            dir,
            inputs,
            out,
            slopes: (0..channels).map(prelu_slope).collect(),
            grad_w: vec![0.0; channels],
        }
    }
}

impl Subject for Case<'_> {
    fn restore(&mut self) {
        if !matches!(self.op, Op::Maxout { .. }) {
            self.out.copy_from_slice(self.inputs.pristine(self.dir));
        }
    }
    fn call(&mut self) {
        let e = &self.engine;
        let x = black_box(&self.inputs.x[..]);
        let grad = black_box(&self.inputs.grad[..]);
        let out = black_box(&mut self.out[..]);
        match (self.op, self.dir) {
            (Op::Act(act), Direction::Forward) => e.forward(act, out),
            (Op::Act(act), Direction::Backward) => {
                e.backward(act, Saved::Output(black_box(&self.inputs.y)), out)
            }
            (Op::Act(act), Direction::BackwardFromInput) => e.backward(act, Saved::Input(x), out),
            (Op::Prelu { layout_of, .. }, Direction::Forward) => {
                e.prelu(out, &self.slopes, layout_of(out.len()))
            }
            (Op::Prelu { layout_of, .. }, _) => e.prelu_backward(
                Saved::Input(x),
                &self.slopes,
                layout_of(out.len()),
                out,
                Some(black_box(&mut self.grad_w)),
            ),
            (Op::Maxout { k, inner_of, .. }, Direction::Forward) => {
                e.maxout(x, k, inner_of(out.len()), out)
            }
            (Op::Maxout { k, inner_of, .. }, _) => {
                let inner = inner_of(grad.len());
                e.maxout_backward(MaxoutSaved::Input(x), k, inner, grad, out)
            }
        }
        .expect("valid op");
    }
    fn calls_between_restores(&self) -> usize {
        self.op.calls_between_restores()
    }
}

/// Everything one group of measurements needs to know about the run.
struct Context<'p> {
    plan: &'p Plan,
    caches: Caches,
}

/// Measures one op and direction at every size and mode: per (size, mode),
/// the probe of the matching level and every available tier, interleaved.
fn measure_kernels(
    ctx: &Context<'_>,
    op: Op,
    dir: Direction,
    probes: &mut ProbeBuffers,
    probe_samples: &mut ProbeSamples,
    rows: &mut Vec<Row>,
) {
    for &n in &ctx.plan.sizes {
        let inputs = Inputs::new(op, n);
        for mode in ["serial", "parallel"] {
            let engines: Vec<Kernels> = Isa::available()
                .iter()
                .map(|&isa| {
                    let k = Kernels::new(isa).expect("available tier");
                    if mode == "serial" {
                        k.serial()
                    } else {
                        k
                    }
                })
                .collect();
            let threads = op.threads(&engines[0], n);
            let level = ctx
                .caches
                .level_of(op.footprint_per_element(dir) * n, threads);
            eprintln!(
                "measuring {}/{} {} {mode} ({} thread(s)): {} probe, {} ...",
                op.name(),
                dir.name(),
                human_elements(n),
                threads,
                level.label(),
                engines
                    .iter()
                    .map(|k| k.isa().name())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let probe = probes.probe(level, threads);
            let probe_bytes = probe.buf.len() * 4;
            let mut subjects: Vec<Box<dyn Subject + '_>> = vec![Box::new(probe)];
            for &k in &engines {
                subjects.push(Box::new(Case::new(k, op, dir, &inputs)));
            }
            let mut timings = measure_interleaved(ctx.plan, &mut subjects).into_iter();
            drop(subjects);
            let probe = timings.next().expect("the probe's timing");
            let probe_gbps = |s: f64| 2.0 * probe_bytes as f64 / s / 1e9;
            let ceiling = probe_gbps(probe.median());
            let timings: Vec<Timing> = timings.collect();
            let scalar = &timings[0];
            probe_samples
                .interleaved
                .entry((level.label(), threads))
                .or_default()
                .extend(&probe.seconds_per_call);
            for (k, timing) in engines.iter().zip(&timings) {
                let gelem = |s: f64| n as f64 / s / 1e9;
                let bytes = op.bytes_per_element(dir) * n;
                let gb_s = |s: f64| bytes as f64 / s / 1e9;
                // Ratios within a round pair measurements made moments apart.
                let speedup = paired_median(&scalar.by_round, &timing.by_round, |a, b| a / b);
                let fraction = paired_median(&timing.by_round, &probe.by_round, |t, p| {
                    gb_s(t) / probe_gbps(p)
                });
                rows.push(Row {
                    op: op.name().into(),
                    params: op.params(n),
                    direction: dir.name().into(),
                    isa: k.isa().name().into(),
                    elements: n,
                    mode: mode.into(),
                    threads,
                    bytes_per_call: bytes,
                    repetitions: timing.seconds_per_call.len(),
                    calls_per_repetition: timing.calls_per_rep,
                    ns_per_call_median: timing.median() * 1e9,
                    gelem_s_median: gelem(timing.median()),
                    gelem_s_min: gelem(timing.slowest()),
                    gelem_s_max: gelem(timing.fastest()),
                    gb_s_median: gb_s(timing.median()),
                    speedup_vs_scalar: speedup,
                    bandwidth_class: level.label().into(),
                    bandwidth_gbps: ceiling,
                    fraction_of_bandwidth: fraction,
                    parallel_over_serial: None,
                });
            }
        }
    }
}

/// Median over rounds of `f(a[r], b[r])`.
fn paired_median(a: &[f64], b: &[f64], f: impl Fn(f64, f64) -> f64) -> f64 {
    let mut ratios: Vec<f64> = a.iter().zip(b).map(|(&a, &b)| f(a, b)).collect();
    ratios.sort_by(f64::total_cmp);
    median(&ratios)
}

/// Fills the column that compares groups: parallel over serial (same tier,
/// op, direction and size), a ratio of medians since the two modes are
/// measured in different groups.
fn compare(rows: &mut [Row]) {
    let gelem_of = |rows: &[Row], r: &Row, isa: &str, mode: &str| {
        rows.iter()
            .find(|o| o.case() == r.case() && o.isa == isa && o.mode == mode)
            .map(|o| o.gelem_s_median)
    };
    for i in 0..rows.len() {
        let r = &rows[i];
        let par_over_ser = (r.mode == "parallel")
            .then(|| gelem_of(rows, r, &r.isa, "serial"))
            .flatten()
            .map(|s| r.gelem_s_median / s);
        rows[i].parallel_over_serial = par_over_ser;
    }
}

/// Rounds a row's numbers to 4 significant digits for the JSON.
fn round_row(r: &mut Row) {
    for v in [
        &mut r.ns_per_call_median,
        &mut r.gelem_s_median,
        &mut r.gelem_s_min,
        &mut r.gelem_s_max,
        &mut r.gb_s_median,
        &mut r.bandwidth_gbps,
        &mut r.fraction_of_bandwidth,
    ] {
        *v = sig4(*v);
    }
    r.speedup_vs_scalar = sig4(r.speedup_vs_scalar);
    r.parallel_over_serial = r.parallel_over_serial.map(sig4);
}

/// The best serial tier per op, direction and size.
fn summarize(rows: &[Row]) -> Vec<Summary> {
    let mut out: Vec<Summary> = Vec::new();
    for r in rows.iter().filter(|r| r.mode == "serial") {
        let seen = out
            .iter()
            .any(|s| (&*s.op, &*s.direction, s.elements) == r.case());
        if seen {
            continue;
        }
        let best = rows
            .iter()
            .filter(|o| o.mode == "serial" && o.case() == r.case())
            .max_by(|a, b| a.gelem_s_median.total_cmp(&b.gelem_s_median))
            .expect("r itself");
        let parallel = rows
            .iter()
            .find(|o| o.mode == "parallel" && o.isa == best.isa && o.case() == r.case());
        out.push(Summary {
            op: best.op.clone(),
            direction: best.direction.clone(),
            elements: best.elements,
            best_serial_isa: best.isa.clone(),
            gelem_s: best.gelem_s_median,
            gb_s: best.gb_s_median,
            speedup_vs_scalar: best.speedup_vs_scalar,
            bandwidth_class: best.bandwidth_class.clone(),
            fraction_of_bandwidth: best.fraction_of_bandwidth,
            parallel_gelem_s: parallel.map(|p| p.gelem_s_median),
        });
    }
    out
}

/// Formats an optional ratio, `-` when absent.
fn opt(v: Option<f64>, width: usize, precision: usize) -> String {
    match v {
        Some(v) => format!("{v:>width$.precision$}"),
        None => format!("{:>width$}", "-"),
    }
}

/// Prints the machine, build, method and bandwidth table.
fn print_header(report: &Report, plan: &Plan) {
    let m = &report.machine;
    let b = &report.build;
    println!("rectify report (rectify {})", report.crate_version);
    println!(
        "cpu          {}{}",
        m.cpu_model,
        m.vendor
            .as_ref()
            .map_or(String::new(), |v| format!(" ({v})"))
    );
    println!(
        "cores        {} logical, rayon threads {}",
        m.logical_cores, m.rayon_threads
    );
    let cache = |c: Option<usize>| c.map_or("?".into(), human_bytes);
    println!(
        "caches       L1d {}, L2 {} (per core), L3 {}",
        cache(m.caches.l1d),
        cache(m.caches.l2),
        cache(m.caches.l3)
    );
    println!(
        "isa          available: {}; chosen: {} (RECTIFY_ISA {})",
        m.isas_available.join(", "),
        m.isa_chosen,
        m.rectify_isa_env
            .as_ref()
            .map_or("unset".into(), |v| format!("= {v:?}"))
    );
    println!(
        "parallel     split from {} elements ({} per buffer) across {} threads",
        report.config.parallel_threshold,
        human_bytes(report.config.parallel_threshold * 4),
        m.rayon_threads
    );
    println!(
        "build        {}, {}, profile {}, opt-level {}",
        b.rustc, b.target, b.profile, b.opt_level
    );
    println!("features     {}", b.target_features);
    println!(
        "method       {}: sizes {}; batches of ~{} ms, {}-{} repetitions round-robin per group, median [min .. max]; clock overhead {:.0} ns subtracted",
        if plan.quick { "quick" } else { "full" },
        plan.sizes
            .iter()
            .map(|&n| human_elements(n))
            .collect::<Vec<_>>()
            .join(", "),
        plan.target_batch_s * 1e3,
        plan.min_reps,
        plan.max_reps,
        plan.timer_overhead_s * 1e9
    );
    println!();
    println!(
        "in-place bandwidth: memmove of the buffer onto itself, 8 B/elem, GB = 1e9 B; standalone pass at the start"
    );
    println!("and the probes interleaved with the kernels (the rows' ceilings) pooled");
    println!(
        "{:<6} {:>8} {:>7} {:>9}  [{:>8} .. {:>8}] {:>10} {:>11}",
        "level", "buffer", "threads", "GB/s", "min", "max", "standalone", "interleaved"
    );
    for bw in &report.bandwidth {
        println!(
            "{:<6} {:>8} {:>7} {:>9.2}  [{:>8.2} .. {:>8.2}] {:>10.2} {}",
            bw.label,
            human_bytes(bw.bytes),
            bw.threads,
            bw.gbps_median,
            bw.gbps_min,
            bw.gbps_max,
            bw.gbps_median_standalone,
            opt(bw.gbps_median_interleaved, 11, 2)
        );
    }
}

/// Prints the kernel rows, one table per op and direction.
fn print_table(rows: &[Row]) {
    let mut groups: Vec<(&str, &str)> = Vec::new();
    for r in rows {
        if !groups.contains(&(&r.op, &r.direction)) {
            groups.push((&r.op, &r.direction));
        }
    }
    for (op, direction) in groups {
        let dir = Direction::from_name(direction);
        let group = || {
            rows.iter()
                .filter(move |r| r.op == op && r.direction == direction)
        };
        let first = group().next().expect("group has rows");
        // The parameters every row shares (PReLU NCHW's `inner` is the size's).
        let params: Vec<String> = first
            .params
            .iter()
            .filter(|&(k, v)| group().all(|r| r.params.get(k) == Some(v)))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        println!();
        println!(
            "{op}{} / {direction} ({})",
            if params.is_empty() {
                String::new()
            } else {
                format!("({})", params.join(", "))
            },
            Op::named(op).describe(dir)
        );
        println!(
            "{:>8} {:<8} {:>3} {:<8} {:>11} {:>8}  [{:>7} .. {:>7}] {:>8} {:>7} {:>12} {:>6} {:>7}",
            "elements",
            "mode",
            "thr",
            "isa",
            "ns/call",
            "Gelem/s",
            "min",
            "max",
            "GB/s",
            "xscalar",
            "ceiling GB/s",
            "%bw",
            "par/ser"
        );
        let mut last = None;
        for r in group() {
            if last.is_some_and(|n| n != r.elements) {
                println!();
            }
            last = Some(r.elements);
            println!(
                "{:>8} {:<8} {:>3} {:<8} {:>11.1} {:>8.3}  [{:>7.3} .. {:>7.3}] {:>8.2} {:>7.2} {:>4} {:>7.1} {:>5.0}% {}",
                human_elements(r.elements),
                r.mode,
                r.threads,
                r.isa,
                r.ns_per_call_median,
                r.gelem_s_median,
                r.gelem_s_min,
                r.gelem_s_max,
                r.gb_s_median,
                r.speedup_vs_scalar,
                r.bandwidth_class,
                r.bandwidth_gbps,
                r.fraction_of_bandwidth * 100.0,
                opt(r.parallel_over_serial, 7, 2),
            );
        }
    }
}

/// Prints the fastest serial tier per op, direction and size.
fn print_summary(summary: &[Summary]) {
    println!();
    println!("summary: fastest tier on one thread, per op / direction / size");
    println!(
        "{:<24} {:>8} {:<8} {:>8} {:>8} {:>7} {:>10} {:>15}",
        "op / direction", "elements", "best", "Gelem/s", "GB/s", "xscalar", "%bw", "parallel Gel/s"
    );
    for s in summary {
        println!(
            "{:<24} {:>8} {:<8} {:>8.3} {:>8.2} {:>7.2} {:>5.0}% {:<4} {:>14}",
            format!("{}/{}", s.op, s.direction),
            human_elements(s.elements),
            s.best_serial_isa,
            s.gelem_s,
            s.gb_s,
            s.speedup_vs_scalar,
            s.fraction_of_bandwidth * 100.0,
            s.bandwidth_class,
            opt(s.parallel_gelem_s, 14, 3),
        );
    }
}

/// The report of a run: the measured rows completed (`par/ser`), rounded
/// and summarised, with the machine, build and settings.
fn assemble(
    plan: &Plan,
    machine: Machine,
    bandwidth: Vec<Bandwidth>,
    mut rows: Vec<Row>,
) -> Report {
    compare(&mut rows);
    rows.iter_mut().for_each(round_row);
    let summary = summarize(&rows);
    Report {
        schema: SCHEMA.into(),
        schema_version: SCHEMA_VERSION,
        crate_version: rectify::build::VERSION.into(),
        build: BuildInfo::get(),
        config: Config {
            sizes: plan.sizes.clone(),
            repetitions: plan.max_reps,
            min_repetitions: plan.min_reps,
            quick: plan.quick,
            parallel_threshold: rectify::DEFAULT_PARALLEL_THRESHOLD,
            target_batch_ms: plan.target_batch_s * 1e3,
            case_budget_ms: plan.case_budget_s * 1e3,
            timer_overhead_ns: sig4(plan.timer_overhead_s * 1e9),
            leaky_calls_between_restores: LEAKY_CALLS_BETWEEN_RESTORES,
        },
        machine,
        bandwidth,
        results: rows,
        summary,
    }
}

/// Parses the arguments and runs the command. Exit code 2 on a bad
/// argument; 1 when the JSON cannot be written, or when `compare` is given
/// a file that is not a readable rectify report of this schema version.
fn main() -> ExitCode {
    match parse_args(std::env::args().skip(1)) {
        Ok(Command::Help) => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Command::Measure(options)) => measure(options),
        Ok(Command::Compare { paths, svg }) => compare_files(&paths, svg.as_deref()),
        Err(e) => {
            eprintln!("report: {e}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// Measures, prints, writes the JSON.
fn measure(options: Options) -> ExitCode {
    if rectify::build::PROFILE != "release" {
        eprintln!(
            "report: warning: rectify was built with profile {:?}; run with --release for meaningful numbers",
            rectify::build::PROFILE
        );
    }
    // Wake rayon's pool before anything is timed.
    rayon::broadcast(|_| ());
    let plan = Plan::new(options.quick);
    let machine = Machine::detect();
    let ctx = Context {
        plan: &plan,
        caches: machine.caches,
    };
    let mut probes = ProbeBuffers::new(&plan.sizes);
    let mut probe_samples = ProbeSamples::standalone(&plan, &mut probes, machine.rayon_threads);
    let mut rows = Vec::new();
    let ops = if options.only.is_empty() {
        OPS.to_vec()
    } else {
        options.only.clone()
    };
    for op in ops {
        for &dir in op.directions() {
            measure_kernels(&ctx, op, dir, &mut probes, &mut probe_samples, &mut rows);
        }
    }
    drop(probes);
    let report = assemble(&plan, machine, probe_samples.table(), rows);
    print_header(&report, &plan);
    print_table(&report.results);
    print_summary(&report.summary);

    let path = options.out.join(format!(
        "{}-{}.json",
        slug(&report.machine.cpu_model),
        report.machine.isa_chosen
    ));
    let json = serde_json::to_string_pretty(&report).expect("the report serializes");
    let written =
        std::fs::create_dir_all(&options.out).and_then(|()| std::fs::write(&path, json + "\n"));
    if let Err(e) = written {
        eprintln!("report: cannot write {}: {e}", path.display());
        return ExitCode::FAILURE;
    }
    println!();
    println!("wrote {}", path.display());
    match options.svg {
        Some(svg) => write_charts_or_fail(&report_chart(&report), &svg),
        None => ExitCode::SUCCESS,
    }
}

/// Draws `chart` to `svg` (and its `-bars` sibling), printing the files
/// written; exit code 1, with a one-line message, when it cannot.
fn write_charts_or_fail(chart: &Chart, svg: &Path) -> ExitCode {
    match write_charts(chart, svg) {
        Ok(files) => {
            for file in files {
                println!("wrote {}", file.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("report: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Reads the reports, compares them and prints the comparison. Exit code 1,
/// with a one-line message, when a file is not a readable rectify report of
/// [`SCHEMA_VERSION`].
fn compare_files(paths: &[PathBuf], svg: Option<&Path>) -> ExitCode {
    let mut reports = Vec::with_capacity(paths.len());
    for path in paths {
        match load_report(path) {
            Ok(report) => reports.push((path.clone(), report)),
            Err(e) => {
                eprintln!("report: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let comparison = compare_reports(&reports);
    print_comparison(&comparison);
    match svg {
        Some(svg) => {
            println!();
            write_charts_or_fail(&compare_chart(&reports, &comparison), svg)
        }
        None => ExitCode::SUCCESS,
    }
}

/// Reads one saved report and checks it (see [`parse_report`]); the error
/// names the file.
fn load_report(path: &Path) -> Result<Report, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse_report(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Parses a report's JSON: it must be JSON, its `schema` must be
/// [`SCHEMA`] and its `schema_version` [`SCHEMA_VERSION`], and it must have
/// every field this build writes. The error is one line.
fn parse_report(text: &str) -> Result<Report, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not valid JSON ({e})"))?;
    match value.get("schema") {
        Some(serde_json::Value::String(schema)) if schema == SCHEMA => {}
        Some(other) => {
            return Err(format!(
                "not a rectify report (schema {other}, expected \"{SCHEMA}\")"
            ))
        }
        None => {
            return Err(format!(
                "not a rectify report (no \"schema\": \"{SCHEMA}\")"
            ))
        }
    }
    match value.get("schema_version") {
        Some(v) if v.as_u64() == Some(SCHEMA_VERSION.into()) => {}
        Some(v) => {
            return Err(format!(
            "rectify report of schema_version {v}; this build reads version {SCHEMA_VERSION} only"
        ))
        }
        None => return Err("rectify report without a schema_version".into()),
    }
    serde_json::from_value(value).map_err(|e| format!("invalid rectify report ({e})"))
}

/// One report's numbers for one compared case.
#[derive(Debug)]
struct Cell {
    gelem_s: f64,
    fraction_of_bandwidth: f64,
    /// Gelem/s over the first report's; `None` in the first column and when
    /// the first report lacks the case.
    ratio: Option<f64>,
    /// The ratio is within the noise ([`within_noise`]).
    noisy: bool,
}

/// One compared case: op, direction, size and mode, a cell per report
/// (`None` when the report lacks it).
struct CompareLine {
    op: String,
    direction: String,
    elements: usize,
    mode: String,
    cells: Vec<Option<Cell>>,
}

/// Saved reports side by side, the first as the reference.
struct Comparison {
    /// Per report: its tag (`A`, `B`, ...), its label (CPU model and chosen
    /// tier, the file's name when that is not unique) and a note (threads,
    /// run, path).
    columns: Vec<(String, String, String)>,
    /// The ways the builds (or the runs' settings) differ, one per field,
    /// each a few lines.
    warnings: Vec<String>,
    lines: Vec<CompareLine>,
}

/// Column tags: `A` to `Z`, then `R27`, `R28`, ...
fn tag(i: usize) -> String {
    match u8::try_from(i) {
        Ok(i) if i < 26 => char::from(b'A' + i).to_string(),
        _ => format!("R{}", i + 1),
    }
}

/// Whether the ratio of two measurements is within their noise: either
/// median lies inside the other's [min .. max] over its repetitions, so a
/// typical run of one is no faster than some run of the other and the data
/// do not say which is faster. (Identical measurements are within it.)
fn within_noise(a: &Row, b: &Row) -> bool {
    let inside = |x: f64, r: &Row| r.gelem_s_min <= x && x <= r.gelem_s_max;
    inside(a.gelem_s_median, b) || inside(b.gelem_s_median, a)
}

impl Report {
    /// The rows of the tier the report chose (its free functions' tier).
    fn chosen_rows(&self) -> impl Iterator<Item = &Row> {
        self.results
            .iter()
            .filter(|row| row.isa == self.machine.isa_chosen)
    }
}

/// Compares the reports case by case, each at its chosen tier (the one its
/// free functions use and its file is named after): every case of any
/// report, in the order they first appear.
fn compare_reports(reports: &[(PathBuf, Report)]) -> Comparison {
    let cpu = |r: &Report| format!("{} / {}", r.machine.cpu_model, r.machine.isa_chosen);
    let file = |p: &Path| {
        p.file_name()
            .map_or(p.display().to_string(), |f| f.to_string_lossy().into())
    };
    let columns = reports
        .iter()
        .enumerate()
        .map(|(i, (path, r))| {
            let unique = |f: &dyn Fn(usize) -> String| {
                (0..reports.len()).filter(|&j| f(j) == f(i)).count() == 1
            };
            let label = if unique(&|j| cpu(&reports[j].1)) {
                cpu(r)
            } else if unique(&|j| file(&reports[j].0)) {
                file(path)
            } else {
                path.display().to_string()
            };
            let note = format!(
                "{} rayon threads, {} run, rectify {}; {}",
                r.machine.rayon_threads,
                if r.config.quick { "quick" } else { "full" },
                r.crate_version,
                path.display()
            );
            (tag(i), label, note)
        })
        .collect();

    type Field = (&'static str, fn(&Report) -> String);
    let fields: [Field; 6] = [
        ("profile", |r| r.build.profile.clone()),
        ("opt-level", |r| r.build.opt_level.clone()),
        ("target features", |r| r.build.target_features.clone()),
        ("crate version", |r| r.crate_version.clone()),
        ("rustc", |r| r.build.rustc.clone()),
        ("run (repetitions)", |r| {
            let c = &r.config;
            let run = if c.quick { "quick" } else { "full" };
            format!(
                "{run}, {}..={} repetitions",
                c.min_repetitions, c.repetitions
            )
        }),
    ];
    let warnings = fields
        .iter()
        .filter(|(_, get)| reports.iter().any(|(_, r)| get(r) != get(&reports[0].1)))
        .map(|(name, get)| {
            let values = reports
                .iter()
                .enumerate()
                .map(|(i, (_, r))| format!("\n  {:<3} {}", tag(i), get(r)));
            format!("{name} differs:{}", values.collect::<String>())
        })
        .collect();

    let mut keys: Vec<(&str, &str, usize, &str)> = Vec::new();
    for (_, r) in reports {
        for row in r.chosen_rows() {
            let key = (&*row.op, &*row.direction, row.elements, &*row.mode);
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    let lines = keys
        .into_iter()
        .map(|(op, direction, elements, mode)| {
            let found: Vec<Option<&Row>> = reports
                .iter()
                .map(|(_, r)| {
                    r.chosen_rows()
                        .find(|row| row.case() == (op, direction, elements) && row.mode == mode)
                })
                .collect();
            let cells = found
                .iter()
                .enumerate()
                .map(|(i, row)| {
                    let row = (*row)?;
                    let reference = found[0].filter(|_| i > 0);
                    Some(Cell {
                        gelem_s: row.gelem_s_median,
                        fraction_of_bandwidth: row.fraction_of_bandwidth,
                        ratio: reference.map(|a| row.gelem_s_median / a.gelem_s_median),
                        noisy: reference.is_some_and(|a| within_noise(a, row)),
                    })
                })
                .collect();
            CompareLine {
                op: op.into(),
                direction: direction.into(),
                elements,
                mode: mode.into(),
                cells,
            }
        })
        .collect();
    Comparison {
        columns,
        warnings,
        lines,
    }
}

/// Prints the comparison: legend, warnings, one line per case, footnote.
fn print_comparison(c: &Comparison) {
    println!("rectify reports compared: Gelem/s median per op / direction / size / mode, each report at its");
    println!("chosen ISA (the tier its free functions use, the one its file is named after); the first is the reference");
    for (tag, label, note) in &c.columns {
        println!("  {tag:<3} {label}  ({note})");
    }
    if !c.warnings.is_empty() {
        println!();
        println!("warnings: the builds or runs differ, so some differences may come from them:");
        for w in &c.warnings {
            println!("- {w}");
        }
    }
    println!();
    println!("ratio: Gelem/s over {}'s; %bw: fraction of the report's own measured bandwidth (its ceiling)", c.columns[0].0);
    print!("{:<24} {:>8} {:<8}", "op / direction", "elements", "mode");
    for (i, (tag, _, _)) in c.columns.iter().enumerate() {
        let gelem = format!("{tag} Gelem/s");
        if i == 0 {
            print!(" | {gelem:>10} {:>5}", "%bw");
        } else {
            print!(" | {gelem:>10} {:>6} {:>5}", "ratio", "%bw");
        }
    }
    println!();
    let mut last: Option<(&str, &str)> = None;
    let mut noisy = false;
    for line in &c.lines {
        let group = (&*line.op, &*line.direction);
        if last.is_some_and(|g| g != group) {
            println!();
        }
        last = Some(group);
        print!(
            "{:<24} {:>8} {:<8}",
            format!("{}/{}", line.op, line.direction),
            human_elements(line.elements),
            line.mode
        );
        for (i, cell) in line.cells.iter().enumerate() {
            let ratio = match cell.as_ref().and_then(|c| c.ratio.map(|r| (r, c.noisy))) {
                Some((r, true)) => format!("~{r:.2}"),
                Some((r, false)) => format!("{r:.2}"),
                None => "-".into(),
            };
            noisy |= cell.as_ref().is_some_and(|c| c.noisy);
            let (gelem, bw) = match cell {
                Some(c) => (
                    format!("{:.3}", c.gelem_s),
                    format!("{:.0}%", c.fraction_of_bandwidth * 100.0),
                ),
                None => ("-".into(), "-".into()),
            };
            if i == 0 {
                print!(" | {gelem:>10} {bw:>5}");
            } else {
                print!(" | {gelem:>10} {ratio:>6} {bw:>5}");
            }
        }
        println!();
    }
    if noisy {
        println!();
        println!("~ within the noise: one median lies inside the other's [min .. max] over its repetitions, so the");
        println!("  measurements do not say which is faster; read such a ratio as about 1");
    }
}

/// What the charts draw: one panel per op and direction, each with points
/// of several series (a report's ISAs, or the compared reports).
struct Chart {
    /// The first line of the header.
    title: String,
    /// The legend's labels, one per series; series `i` is drawn in
    /// [`series_color`]`(i)`.
    series: Vec<String>,
    /// Whether each series has a ceiling of its own (compare: each report
    /// measured its own bandwidth), or a panel has one (a report: every tier
    /// of a group shares its probe).
    own_ceilings: bool,
    panels: Vec<Panel>,
}

/// One op and direction.
struct Panel {
    op: String,
    direction: String,
    /// Bytes a call moves per element (`bytes_per_call / elements`).
    bytes_per_element: f64,
    points: Vec<Point>,
}

/// One series' serial median at one size.
struct Point {
    series: usize,
    elements: usize,
    gelem_s: f64,
    /// The row's `bandwidth_gbps` over the bytes per element.
    ceiling_gelem_s: f64,
}

/// Groups rows (each with its series) into panels, in the order the op and
/// direction first appear.
fn panels_of<'a>(rows: impl Iterator<Item = (usize, &'a Row)>) -> Vec<Panel> {
    let mut panels: Vec<Panel> = Vec::new();
    for (series, row) in rows {
        if row.elements == 0 {
            continue;
        }
        let i = match panels
            .iter()
            .position(|p| p.op == row.op && p.direction == row.direction)
        {
            Some(i) => i,
            None => {
                panels.push(Panel {
                    op: row.op.clone(),
                    direction: row.direction.clone(),
                    bytes_per_element: row.bytes_per_call as f64 / row.elements as f64,
                    points: Vec::new(),
                });
                panels.len() - 1
            }
        };
        let panel = &mut panels[i];
        panel.points.push(Point {
            series,
            elements: row.elements,
            gelem_s: row.gelem_s_median,
            ceiling_gelem_s: row.bandwidth_gbps / panel.bytes_per_element,
        });
    }
    panels
}

/// A report's charts: its serial rows, one series per ISA (in the order of
/// `isas_available`, then any other the rows name).
fn report_chart(report: &Report) -> Chart {
    let serial = || report.results.iter().filter(|r| r.mode == "serial");
    let mut isas: Vec<&str> = Vec::new();
    for isa in report.machine.isas_available.iter().map(String::as_str) {
        if !isas.contains(&isa) && serial().any(|r| r.isa == isa) {
            isas.push(isa);
        }
    }
    for r in serial() {
        if !isas.contains(&r.isa.as_str()) {
            isas.push(&r.isa);
        }
    }
    let m = &report.machine;
    Chart {
        title: format!(
            "rectify {} on {} ({} run, chosen ISA {}): serial throughput per ISA",
            report.crate_version,
            m.cpu_model,
            if report.config.quick { "quick" } else { "full" },
            m.isa_chosen
        ),
        series: isas.iter().map(|isa| isa.to_string()).collect(),
        own_ceilings: false,
        panels: panels_of(serial().map(|r| {
            let series = isas.iter().position(|&i| i == r.isa).expect("listed");
            (series, r)
        })),
    }
}

/// The charts of a comparison: each report's serial rows at its chosen
/// ISA, one series per report, labelled like the printed columns.
fn compare_chart(reports: &[(PathBuf, Report)], comparison: &Comparison) -> Chart {
    Chart {
        title: "rectify reports compared, each at its chosen ISA".into(),
        series: comparison
            .columns
            .iter()
            .map(|(tag, label, _)| format!("{tag}: {label}"))
            .collect(),
        own_ceilings: true,
        panels: panels_of(reports.iter().enumerate().flat_map(|(i, (_, r))| {
            r.chosen_rows()
                .filter(|row| row.mode == "serial")
                .map(move |row| (i, row))
        })),
    }
}

/// The file of the bar charts: `FILE` with `-bars` before its extension.
fn bars_path(path: &Path) -> PathBuf {
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    let name = match path.extension() {
        Some(ext) => format!("{stem}-bars.{}", ext.to_string_lossy()),
        None => format!("{stem}-bars"),
    };
    path.with_file_name(name)
}

/// Draws both charts: the lines to `path`, the bars to [`bars_path`]
/// (creating the directory). Returns the two files written.
fn write_charts(chart: &Chart, path: &Path) -> Result<[PathBuf; 2], String> {
    let bars = bars_path(path);
    let lines_svg = render_lines(chart).map_err(|e| format!("cannot draw the chart: {e}"))?;
    let bars_svg = render_bars(chart).map_err(|e| format!("cannot draw the bar chart: {e}"))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    for (file, svg) in [(path, lines_svg), (&bars, bars_svg)] {
        std::fs::write(file, svg).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    }
    Ok([path.to_path_buf(), bars])
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;
type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// Width and height of one panel, pixels.
const PANEL_SIZE: (u32, u32) = (520, 340);
/// Margin around the header's text and legend, pixels.
const HEADER_MARGIN: i32 = 16;

/// The series' colours (Tableau 10), repeated past ten.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

fn series_color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// A sans-serif style whose SVG `font-size` is `px` (plotters writes its
/// size divided by 1.24).
fn font(px: f64) -> TextStyle<'static> {
    font_styled(px, FontStyle::Normal)
}

/// [`font`] in `style` (bold, italic).
fn font_styled(px: f64, style: FontStyle) -> TextStyle<'static> {
    ("sans-serif", px * 1.24, style).into_font().color(&BLACK)
}

/// A rough width of `text` at `px` pixels (an average sans-serif glyph is
/// about 0.55 em wide, DejaVu Sans 0.6; this errs wide): enough to lay
/// the header out.
fn text_width(text: &str, px: f64) -> i32 {
    (text.chars().count() as f64 * px * 0.6).ceil() as i32
}

/// A tick label: at most 4 significant digits, no trailing zeros.
fn tick_label(v: f64) -> String {
    format!("{}", sig4(v))
}

/// The panels' places: one row per op (in order of appearance), one column
/// per direction (forward, backward, backward from input).
fn grid(chart: &Chart) -> (Vec<&str>, Vec<&str>) {
    let mut ops: Vec<&str> = Vec::new();
    let mut directions: Vec<&str> = Vec::new();
    for p in &chart.panels {
        if !ops.contains(&p.op.as_str()) {
            ops.push(&p.op);
        }
        if !directions.contains(&p.direction.as_str()) {
            directions.push(&p.direction);
        }
    }
    let rank = |d: &str| match d {
        "forward" => 0,
        "backward" => 1,
        "backward_from_input" => 2,
        _ => 3,
    };
    directions.sort_by_key(|d| rank(d));
    (ops, directions)
}

/// What a legend entry shows next to its label.
#[derive(Clone, Copy)]
enum Swatch {
    /// A series' line with a dot.
    Line(RGBColor),
    /// A dashed ceiling line.
    Dashed(RGBColor),
    /// A series' bar.
    Bar(RGBColor),
    /// The black ceiling tick of the bars.
    Tick,
}

/// Pixels of a legend entry's swatch, and the gap after an entry.
const SWATCH_WIDTH: i32 = 34;
const LEGEND_GAP: i32 = 28;
/// Font sizes, pixels: header title and text, panel titles, axis
/// descriptions, tick labels, bar values. (Each is one whose product by
/// 1.24 divides back exactly, so the SVG says `font-size="14"`, not
/// `13.000000000000002`.)
const TITLE_PX: f64 = 22.0;
const TEXT_PX: f64 = 16.0;
const PANEL_TITLE_PX: f64 = 18.0;
const AXIS_PX: f64 = 14.0;
const TICK_PX: f64 = 14.0;
const VALUE_PX: f64 = 12.0;
/// Height of a legend line and of a header text line, and of a title line.
const LINE_HEIGHT: i32 = 24;
const TITLE_LINE_HEIGHT: i32 = 30;
/// A bold glyph is about this much wider than a regular one.
const BOLD_WIDTH: f64 = 1.1;

/// The legend laid out in lines no wider than `width`: per line, the
/// entries and their x.
fn legend_lines(entries: &[(Swatch, String)], width: i32) -> Vec<Vec<(i32, Swatch, &str)>> {
    let mut lines: Vec<Vec<(i32, Swatch, &str)>> = vec![Vec::new()];
    let mut x = HEADER_MARGIN;
    for (swatch, label) in entries {
        let w = SWATCH_WIDTH + 8 + text_width(label, TEXT_PX);
        let line = lines.last_mut().expect("a line");
        if !line.is_empty() && x + w > width - HEADER_MARGIN {
            lines.push(Vec::new());
            x = HEADER_MARGIN;
        }
        lines.last_mut().expect("a line").push((x, *swatch, label));
        x += w + LEGEND_GAP;
    }
    lines
}

/// `text` broken at spaces into lines of at most `width` pixels (about:
/// see [`text_width`]) at `px` pixels; a word longer than a line gets a
/// line of its own.
fn wrap(text: &str, px: f64, width: i32) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split(' ') {
        match lines.last_mut() {
            Some(line) if text_width(&format!("{line} {word}"), px) <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

/// Draws the header: title and notes (one line each), legend.
fn draw_header(
    area: &Area<'_>,
    title: &[String],
    notes: &[String],
    legend: &[Vec<(i32, Swatch, &str)>],
) -> DrawResult {
    let mut y = HEADER_MARGIN;
    for line in title {
        area.draw(&Text::new(
            line.clone(),
            (HEADER_MARGIN, y),
            font_styled(TITLE_PX, FontStyle::Bold),
        ))?;
        y += TITLE_LINE_HEIGHT;
    }
    y += 8;
    for note in notes {
        area.draw(&Text::new(note.clone(), (HEADER_MARGIN, y), font(TEXT_PX)))?;
        y += LINE_HEIGHT;
    }
    y += 6;
    for line in legend {
        let mid = y + LINE_HEIGHT / 2 - 3;
        for &(x, swatch, label) in line {
            let end = x + SWATCH_WIDTH;
            match swatch {
                Swatch::Line(c) => {
                    area.draw(&PathElement::new(
                        vec![(x, mid), (end, mid)],
                        c.stroke_width(3),
                    ))?;
                    area.draw(&Circle::new((x + SWATCH_WIDTH / 2, mid), 4, c.filled()))?;
                }
                Swatch::Dashed(c) => {
                    for i in 0..3 {
                        let x0 = x + i * 13;
                        area.draw(&PathElement::new(
                            vec![(x0, mid), (x0 + 8, mid)],
                            c.stroke_width(2),
                        ))?;
                    }
                }
                Swatch::Bar(c) => {
                    area.draw(&Rectangle::new(
                        [(x + 6, mid - 8), (end - 6, mid + 8)],
                        c.filled(),
                    ))?;
                }
                Swatch::Tick => {
                    area.draw(&PathElement::new(
                        vec![(x + 4, mid), (end - 4, mid)],
                        BLACK.stroke_width(3),
                    ))?;
                }
            }
            area.draw(&Text::new(
                label.to_string(),
                (end + 8, mid),
                font(TEXT_PX).pos(Pos::new(HPos::Left, VPos::Center)),
            ))?;
        }
        y += LINE_HEIGHT;
    }
    Ok(())
}

/// Which of the two charts.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Lines,
    Bars,
}

/// Renders one of the two charts as SVG text: header, then the grid of
/// panels.
fn render(chart: &Chart, kind: Kind) -> Result<String, Box<dyn std::error::Error>> {
    let (ops, directions) = grid(chart);
    let (rows, cols) = (ops.len().max(1), directions.len().max(1));
    let width = PANEL_SIZE.0 * cols as u32;
    let what = match kind {
        Kind::Lines => "against the buffer size, both axes logarithmic",
        Kind::Bars => "grouped by buffer size, on a linear axis from 0",
    };
    let ceiling = if chart.own_ceilings {
        "each report's own"
    } else {
        "the measured"
    };
    let text_width_px = width as i32 - 2 * HEADER_MARGIN;
    let title = wrap(&chart.title, TITLE_PX * BOLD_WIDTH, text_width_px);
    let notes: Vec<String> = [
        format!("Median Gelem/s on one thread {what}; one panel per op and direction."),
        format!(
            "Ceiling: {ceiling} in-place bandwidth (memmove, GB/s) divided by the op's bytes \
             per element (in the panel's title), in Gelem/s. Maxout: elements are outputs."
        ),
    ]
    .iter()
    .flat_map(|note| wrap(note, TEXT_PX, text_width_px))
    .collect();
    let mut entries: Vec<(Swatch, String)> = chart
        .series
        .iter()
        .enumerate()
        .map(|(i, label)| {
            let c = series_color(i);
            let swatch = match kind {
                Kind::Lines => Swatch::Line(c),
                Kind::Bars => Swatch::Bar(c),
            };
            (swatch, label.clone())
        })
        .collect();
    entries.push(match (kind, chart.own_ceilings) {
        (Kind::Lines, false) => (Swatch::Dashed(BLACK), "bandwidth ceiling".into()),
        (Kind::Lines, true) => (
            Swatch::Dashed(RGBColor(90, 90, 90)),
            "bandwidth ceiling (dashed, in the report's colour)".into(),
        ),
        (Kind::Bars, _) => (
            Swatch::Tick,
            "bandwidth ceiling (of the bar's report)".into(),
        ),
    });
    if kind == Kind::Bars && !chart.own_ceilings {
        entries.last_mut().expect("the ceiling").1 = "bandwidth ceiling".into();
    }
    let legend = legend_lines(&entries, width as i32);
    let header_height = HEADER_MARGIN * 2
        + TITLE_LINE_HEIGHT * title.len() as i32
        + 8
        + LINE_HEIGHT * notes.len() as i32
        + 6
        + LINE_HEIGHT * legend.len() as i32;
    let height = header_height as u32 + PANEL_SIZE.1 * rows as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let (header, body) = root.split_vertically(header_height);
        draw_header(&header, &title, &notes, &legend)?;
        let cells = body.split_evenly((rows, cols));
        for panel in &chart.panels {
            let row = ops.iter().position(|&o| o == panel.op).expect("an op");
            let col = directions
                .iter()
                .position(|&d| d == panel.direction)
                .expect("a direction");
            let cell = &cells[row * cols + col];
            match kind {
                Kind::Lines => draw_lines_panel(cell, chart, panel)?,
                Kind::Bars => draw_bars_panel(cell, panel)?,
            }
        }
        root.present()?;
    }
    Ok(svg)
}

fn render_lines(chart: &Chart) -> Result<String, Box<dyn std::error::Error>> {
    render(chart, Kind::Lines)
}

fn render_bars(chart: &Chart) -> Result<String, Box<dyn std::error::Error>> {
    render(chart, Kind::Bars)
}

/// A panel's title: op, direction and bytes per element.
fn panel_title(panel: &Panel) -> String {
    format!(
        "{} / {} ({} B/elem)",
        panel.op,
        panel.direction,
        sig4(panel.bytes_per_element)
    )
}

/// The measured sizes of a panel, ascending.
fn panel_sizes(panel: &Panel) -> Vec<usize> {
    let mut sizes: Vec<usize> = panel.points.iter().map(|p| p.elements).collect();
    sizes.sort_unstable();
    sizes.dedup();
    sizes
}

/// A ceiling line: its series (`None` for a panel's shared one) and its
/// points (elements, Gelem/s) by size.
type CeilingLine = (Option<usize>, Vec<(f64, f64)>);

/// The panel's ceiling lines: one per series with its own ceilings, else
/// the panel's one.
fn ceiling_lines(chart: &Chart, panel: &Panel) -> Vec<CeilingLine> {
    let line = |series: Option<usize>| {
        let mut points: Vec<(f64, f64)> = Vec::new();
        for size in panel_sizes(panel) {
            let first = panel
                .points
                .iter()
                .filter(|p| series.is_none_or(|s| p.series == s))
                .find(|p| p.elements == size && p.ceiling_gelem_s > 0.0);
            if let Some(p) = first {
                points.push((size as f64, p.ceiling_gelem_s));
            }
        }
        (series, points)
    };
    if chart.own_ceilings {
        (0..chart.series.len()).map(|s| line(Some(s))).collect()
    } else {
        vec![line(None)]
    }
}

/// Height of a panel's plotting area, about, pixels (for spacing ticks).
const PLOT_HEIGHT: f64 = 220.0;
/// Bold ticks of a log axis are at least this far apart, pixels.
const MIN_TICK_GAP: f64 = 22.0;

/// Log-axis ticks in `lo..hi`: the bold ticks (labelled) are the densest of
/// 1-2-3-...-9, 1-2-3-5-7, 1-2-5, 1-3 and 1 times powers of ten whose
/// neighbours are at least [`MIN_TICK_GAP`] apart; the light grid is every
/// 1..9 times a power of ten.
fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    let ticks = |mantissas: &[f64]| {
        let mut out = Vec::new();
        for e in (lo.log10().floor() as i32)..=(hi.log10().ceil() as i32) {
            for &m in mantissas {
                let v = sig4(m * 10f64.powi(e));
                if lo <= v && v <= hi {
                    out.push(v);
                }
            }
        }
        out
    };
    let pixels_per_ln = PLOT_HEIGHT / (hi / lo).ln();
    let all: Vec<f64> = (1..10).map(f64::from).collect();
    let sets: [&[f64]; 5] = [
        &all,
        &[1.0, 2.0, 3.0, 5.0, 7.0],
        &[1.0, 2.0, 5.0],
        &[1.0, 3.0],
        &[1.0],
    ];
    let bold = sets
        .into_iter()
        .map(ticks)
        .find(|t| {
            t.windows(2)
                .all(|w| (w[1] / w[0]).ln() * pixels_per_ln >= MIN_TICK_GAP)
        })
        .unwrap_or_default();
    (bold, ticks(&all))
}

/// Only the positive, finite values (a log axis has no place for others).
fn positive(values: impl Iterator<Item = f64>) -> Vec<f64> {
    values.filter(|v| v.is_finite() && *v > 0.0).collect()
}

/// One panel of the line chart: Gelem/s against elements, both log, a
/// line per series and the dashed ceiling(s).
fn draw_lines_panel(area: &Area<'_>, chart: &Chart, panel: &Panel) -> DrawResult {
    let sizes = panel_sizes(panel);
    let ceilings = ceiling_lines(chart, panel);
    let values = positive(
        panel
            .points
            .iter()
            .map(|p| p.gelem_s)
            .chain(ceilings.iter().flat_map(|(_, l)| l.iter().map(|p| p.1))),
    );
    let (Some(&first), Some(&last)) = (sizes.first(), sizes.last()) else {
        return Ok(());
    };
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(0.0, f64::max);
    if values.is_empty() {
        return Ok(());
    }
    let (x_lo, x_hi) = (first as f64 / 1.6, last as f64 * 1.6);
    let (y_lo, y_hi) = (lo / 1.5, hi * 1.5);
    let x_light: Vec<f64> = (0..64)
        .map(|e| 2f64.powi(e))
        .filter(|&v| x_lo <= v && v <= x_hi)
        .collect();
    let (y_bold, y_light) = log_ticks(y_lo, y_hi);
    let mut c = ChartBuilder::on(area)
        .caption(panel_title(panel), font(PANEL_TITLE_PX))
        .margin(10)
        .margin_right(22)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(
            (x_lo..x_hi)
                .log_scale()
                .with_key_points(sizes.iter().map(|&n| n as f64).collect())
                .with_light_points(x_light),
            (y_lo..y_hi)
                .log_scale()
                .with_key_points(y_bold)
                .with_light_points(y_light),
        )?;
    c.configure_mesh()
        .x_desc("elements (log)")
        .y_desc("Gelem/s (log)")
        .x_label_formatter(&|v| human_elements(v.round() as usize))
        .y_label_formatter(&|v| tick_label(*v))
        .label_style(font(TICK_PX))
        .axis_desc_style(font(AXIS_PX))
        .bold_line_style(BLACK.mix(0.18))
        .light_line_style(BLACK.mix(0.06))
        .draw()?;
    for (series, points) in ceilings {
        let color = series.map_or(BLACK, series_color);
        c.draw_series(DashedLineSeries::new(points, 8, 5, color.stroke_width(2)))?;
    }
    for s in 0..chart.series.len() {
        let mut points: Vec<(f64, f64)> = panel
            .points
            .iter()
            .filter(|p| p.series == s && p.gelem_s.is_finite() && p.gelem_s > 0.0)
            .map(|p| (p.elements as f64, p.gelem_s))
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        let style = series_color(s).filled().stroke_width(2);
        c.draw_series(LineSeries::new(points, style).point_size(4))?;
    }
    Ok(())
}

/// One panel of the bar chart: per size a group of bars, one per series,
/// Gelem/s from 0, each with its value above and its ceiling as a tick.
fn draw_bars_panel(area: &Area<'_>, panel: &Panel) -> DrawResult {
    let sizes = panel_sizes(panel);
    let mut present: Vec<usize> = panel.points.iter().map(|p| p.series).collect();
    present.sort_unstable();
    present.dedup();
    let values = positive(
        panel
            .points
            .iter()
            .flat_map(|p| [p.gelem_s, p.ceiling_gelem_s]),
    );
    let hi = values.iter().copied().fold(0.0, f64::max);
    if sizes.is_empty() || hi <= 0.0 {
        return Ok(());
    }
    // The x axis counts thousandths of a group: integers, whose labels
    // plotters formats through `x_label_formatter` at chosen points.
    let groups = sizes.len() as i32 * 1000;
    let centres: Vec<i32> = (0..groups / 1000).map(|g| g * 1000 + 500).collect();
    let mut c = ChartBuilder::on(area)
        .caption(panel_title(panel), font(PANEL_TITLE_PX))
        .margin(10)
        .margin_right(22)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d((0..groups).with_key_points(centres), 0.0..hi * 1.2)?;
    c.configure_mesh()
        .disable_x_mesh()
        .x_desc("elements")
        .y_desc("Gelem/s")
        .x_label_formatter(&|v| {
            sizes
                .get((v / 1000) as usize)
                .map_or(String::new(), |&n| human_elements(n))
        })
        .y_label_formatter(&|v| tick_label(*v))
        .y_labels(6)
        .label_style(font(TICK_PX))
        .axis_desc_style(font(AXIS_PX))
        .bold_line_style(BLACK.mix(0.15))
        .max_light_lines(0)
        .draw()?;
    let slot = 800 / present.len() as i32;
    // Bars, then ceiling ticks over them, then the values over both.
    let mut labels = Vec::new();
    for p in &panel.points {
        let Some(g) = sizes.iter().position(|&n| n == p.elements) else {
            continue;
        };
        let i = present
            .iter()
            .position(|&s| s == p.series)
            .expect("present");
        let x0 = g as i32 * 1000 + 100 + slot * i as i32;
        let x1 = x0 + slot * 9 / 10;
        let ceiling = Some(p.ceiling_gelem_s).filter(|v| v.is_finite() && *v > 0.0);
        if p.gelem_s.is_finite() && p.gelem_s > 0.0 {
            c.draw_series([Rectangle::new(
                [(x0, 0.0), (x1, p.gelem_s)],
                series_color(p.series).filled(),
            )])?;
            labels.push(((x0 + x1) / 2, p.gelem_s, ceiling));
        }
        if let Some(ceiling) = ceiling {
            c.draw_series([PathElement::new(
                vec![(x0, ceiling), (x1, ceiling)],
                BLACK.stroke_width(3),
            )])?;
        }
    }
    // Each value reads upwards from its bar's top, in white inside the bar
    // when it fits there (below the ceiling tick when that crosses the bar's
    // top), else in black above the bar (and above the tick when that would
    // cross the text).
    for (x, value, ceiling) in labels {
        let text = value_label(value);
        let length = text_width(&text, VALUE_PX) + 4;
        let top = c.backend_coord(&(x, value)).1;
        let bottom = c.backend_coord(&(x, 0.0)).1;
        let tick = ceiling.map(|v| c.backend_coord(&(x, v)).1);
        let vertical = |h| {
            font(VALUE_PX)
                .transform(FontTransform::Rotate270)
                .pos(Pos::new(h, VPos::Center))
        };
        let inside_start = match tick {
            Some(t) if t >= top && t - top < length + 4 => t + 5,
            _ => top + 4,
        };
        let (start, style) = if bottom - inside_start >= length {
            (inside_start, vertical(HPos::Right).color(&WHITE))
        } else {
            let above = match tick {
                Some(t) if t <= top && top - t < length + 4 => t - 5,
                _ => top - 4,
            };
            (above, vertical(HPos::Left))
        };
        c.draw_series([EmptyElement::at((x, value)) + Text::new(text, (0, start - top), style)])?;
    }
    Ok(())
}

/// A bar's value: 3 significant digits (4 from 1000 on).
fn value_label(v: f64) -> String {
    let decimals = match v {
        v if v >= 100.0 => 0,
        v if v >= 10.0 => 1,
        v if v >= 1.0 => 2,
        _ => 3,
    };
    format!("{v:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A report assembled from synthetic rows of this machine's chosen tier
    /// (and of `scalar`), at two sizes and both modes.
    fn synthetic_report() -> Report {
        let plan = Plan::new(true);
        let machine = Machine::detect();
        let chosen = machine.isa_chosen.clone();
        // Another tier, whose rows compare must leave out.
        let other = if chosen == "scalar" {
            "portable"
        } else {
            "scalar"
        };
        let mut rows = Vec::new();
        for (op, dir) in [
            (Op::Act(Activation::Relu), Direction::Forward),
            (Op::named("maxout_k2"), Direction::Backward),
        ] {
            for n in [4096, 1 << 20] {
                for mode in ["serial", "parallel"] {
                    for (isa, gelem) in [(other, 2.0), (chosen.as_str(), 8.0)] {
                        let gelem = gelem * if mode == "parallel" { 3.0 } else { 1.0 };
                        rows.push(Row {
                            op: op.name().into(),
                            params: op.params(n),
                            direction: dir.name().into(),
                            isa: isa.into(),
                            elements: n,
                            mode: mode.into(),
                            threads: 1,
                            bytes_per_call: op.bytes_per_element(dir) * n,
                            repetitions: 5,
                            calls_per_repetition: 100,
                            ns_per_call_median: n as f64 / gelem,
                            gelem_s_median: gelem,
                            gelem_s_min: gelem * 0.9,
                            gelem_s_max: gelem * 1.05,
                            gb_s_median: gelem * op.bytes_per_element(dir) as f64,
                            speedup_vs_scalar: gelem / 2.0,
                            bandwidth_class: "L1".into(),
                            bandwidth_gbps: 100.0,
                            fraction_of_bandwidth: 0.123456,
                            parallel_over_serial: None,
                        });
                    }
                }
            }
        }
        let bandwidth = vec![Bandwidth {
            label: "L1".into(),
            bytes: 16 << 10,
            threads: 1,
            gbps_median: 100.0,
            gbps_min: 90.0,
            gbps_max: 105.0,
            gbps_median_standalone: 100.0,
            gbps_median_interleaved: None,
        }];
        assemble(&plan, machine, bandwidth, rows)
    }

    #[test]
    fn compare_round_trip_gives_ratios_of_one() {
        let report = synthetic_report();
        assert_eq!(report.summary.len(), 4);
        assert_eq!(report.results[0].fraction_of_bandwidth, 0.1235);
        let json = serde_json::to_string_pretty(&report).expect("serializes");
        let back = parse_report(&json).expect("parses back");
        assert_eq!(back, report);
        let reports = [
            (PathBuf::from("a/x.json"), back),
            (
                PathBuf::from("b/x.json"),
                parse_report(&json).expect("parses"),
            ),
        ];
        let c = compare_reports(&reports);
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        // Same CPU, same tier, same file name: the labels are the paths.
        assert_eq!(c.columns[0].0, "A");
        assert_eq!(c.columns[1].1, "b/x.json");
        // The chosen tier's rows only: 2 ops x 2 sizes x 2 modes.
        assert_eq!(c.lines.len(), 8);
        for line in &c.lines {
            let [a, b] = &line.cells[..] else {
                panic!("two cells")
            };
            let (a, b) = (a.as_ref().expect("a"), b.as_ref().expect("b"));
            assert_eq!((a.ratio, a.noisy), (None, false));
            assert_eq!(b.ratio, Some(1.0));
            assert!(b.noisy, "identical measurements are within the noise");
            assert_eq!(b.gelem_s, a.gelem_s);
        }
    }

    #[test]
    fn compare_marks_noise_missing_cases_and_build_differences() {
        let a = synthetic_report();
        let mut b = synthetic_report();
        b.build.rustc = "rustc 0.0.0".into();
        b.machine.cpu_model = "Other CPU".into();
        // Faster beyond the noise, faster within it, and a case missing.
        let chosen = b.machine.isa_chosen.clone();
        let mut rows = b.results.iter_mut().filter(|r| r.isa == chosen);
        let r = rows.next().expect("a row");
        (r.gelem_s_median, r.gelem_s_min, r.gelem_s_max) = (16.0, 15.0, 17.0);
        let r = rows.next().expect("a row");
        r.gelem_s_median *= 1.04;
        let missing = rows.next().expect("a row");
        missing.isa = "none".into();
        let c = compare_reports(&[(PathBuf::from("a.json"), a), (PathBuf::from("b.json"), b)]);
        assert_eq!(c.warnings.len(), 1);
        assert!(
            c.warnings[0].starts_with("rustc differs:"),
            "{}",
            c.warnings[0]
        );
        assert!(c.columns[1].1.starts_with("Other CPU / "));
        let cell = |i: usize| c.lines[i].cells[1].as_ref();
        let first = cell(0).expect("present");
        assert_eq!((first.ratio, first.noisy), (Some(2.0), false));
        assert!(cell(1).expect("present").noisy);
        assert!(cell(2).is_none());
        assert!(c.lines[2].cells[0].is_some());
    }

    #[test]
    fn compare_refuses_other_files() {
        let mut value = serde_json::to_value(synthetic_report()).expect("serializes");
        value["schema_version"] = 2.into();
        assert_eq!(
            parse_report(&value.to_string()).err().as_deref(),
            Some("rectify report of schema_version 2; this build reads version 1 only")
        );
        assert_eq!(
            parse_report(r#"{"a":1}"#).err().as_deref(),
            Some(r#"not a rectify report (no "schema": "rectify-report")"#)
        );
        assert_eq!(
            parse_report(r#"{"schema":"other","schema_version":1}"#)
                .err()
                .as_deref(),
            Some(r#"not a rectify report (schema "other", expected "rectify-report")"#)
        );
        let invalid = parse_report("{").expect_err("refused");
        assert!(invalid.starts_with("not valid JSON ("), "{invalid}");
        let incomplete = parse_report(r#"{"schema":"rectify-report","schema_version":1}"#);
        let incomplete = incomplete.expect_err("refused");
        assert!(
            incomplete.starts_with("invalid rectify report (missing field"),
            "{incomplete}"
        );
        let unreadable = load_report(Path::new("/nonexistent/r.json")).expect_err("refused");
        assert!(
            unreadable.starts_with("cannot read /nonexistent/r.json: "),
            "{unreadable}"
        );
        let args = |a: &[&str]| parse_args(a.iter().map(|s| s.to_string()));
        assert!(matches!(
            args(&["compare", "a", "b"]),
            Ok(Command::Compare { paths, svg: None }) if paths.len() == 2
        ));
        assert!(matches!(
            args(&["compare", "a", "--svg", "c.svg", "b"]),
            Ok(Command::Compare { paths, svg: Some(svg) }) if paths.len() == 2 && svg == Path::new("c.svg")
        ));
        assert!(args(&["compare", "a", "b", "--svg"]).is_err());
        assert!(matches!(
            args(&["--svg=r.svg", "--quick"]),
            Ok(Command::Measure(o)) if o.quick && o.svg.as_deref() == Some(Path::new("r.svg"))
        ));
        assert!(args(&["--svg="]).is_err());
        assert!(args(&["compare", "a"]).is_err());
        assert!(matches!(args(&["--quick"]), Ok(Command::Measure(o)) if o.quick));
        assert!(matches!(
            args(&["--only", "relu,prelu_nhwc"]),
            Ok(Command::Measure(o)) if o.only.iter().map(|op| op.name()).eq(["relu", "prelu_nhwc"])
        ));
        assert!(matches!(
            args(&["--only=maxout_k2"]),
            Ok(Command::Measure(o)) if o.only.len() == 1 && o.only[0].name() == "maxout_k2"
        ));
        assert!(args(&["--only"]).is_err());
        assert!(args(&["--only", "relu,nope"]).is_err());
    }

    /// A fresh directory under the system's temporary one.
    fn temp_dir(name: &str) -> PathBuf {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!(
            "rectify-report-{name}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    /// Parses an SVG file: well-formed XML with an `<svg>` root. Returns
    /// its texts, trimmed.
    fn svg_texts(path: &Path) -> Vec<String> {
        let text = std::fs::read_to_string(path).expect("written");
        let doc = roxmltree::Document::parse(&text)
            .unwrap_or_else(|e| panic!("{} is not well-formed: {e}", path.display()));
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg", "{}", path.display());
        assert_eq!(
            root.tag_name().namespace(),
            Some("http://www.w3.org/2000/svg")
        );
        assert!(!text.contains("00000000"), "no float noise (font sizes)");
        doc.descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| n.text())
            .map(|t| t.trim().to_string())
            .collect()
    }

    /// Asserts that every one of `expected` is among `texts`.
    fn assert_has(texts: &[String], expected: &[&str], file: &Path) {
        for e in expected {
            assert!(
                texts.iter().any(|t| t == e),
                "{}: no text {e:?} among {texts:?}",
                file.display()
            );
        }
    }

    #[test]
    fn report_charts_are_well_formed_svg() {
        let report = synthetic_report();
        let chosen = report.machine.isa_chosen.clone();
        let other = if chosen == "scalar" {
            "portable"
        } else {
            "scalar"
        };
        let chart = report_chart(&report);
        assert_eq!(chart.series.len(), 2);
        assert!(chart.series.contains(&chosen) && chart.series.iter().any(|s| s == other));
        assert_eq!(chart.panels.len(), 2);
        // Serial rows only: 2 tiers x 2 sizes per panel.
        assert_eq!(chart.panels[0].points.len(), 4);
        // relu forward: 100 GB/s over 8 B/elem; maxout_k2 backward: over 20.
        assert_eq!(chart.panels[0].points[0].ceiling_gelem_s, 12.5);
        assert_eq!(chart.panels[1].points[0].ceiling_gelem_s, 5.0);

        let dir = temp_dir("svg");
        let path = dir.join("report.svg");
        let files = write_charts(&chart, &path).expect("writes");
        assert_eq!(files, [path.clone(), dir.join("report-bars.svg")]);
        let common = [
            "relu / forward (8 B/elem)",
            "maxout_k2 / backward (20 B/elem)",
            chosen.as_str(),
            other,
            "bandwidth ceiling",
            "4096",
            "1 Mi",
        ];
        let lines = svg_texts(&files[0]);
        assert_has(&lines, &common, &files[0]);
        assert_has(&lines, &["elements (log)", "Gelem/s (log)"], &files[0]);
        assert!(lines[0].starts_with("rectify "), "{:?}", lines[0]);
        let bars = svg_texts(&files[1]);
        assert_has(&bars, &common, &files[1]);
        assert_has(&bars, &["elements", "Gelem/s", "8.00", "2.00"], &files[1]);

        // The same input gives the same bytes.
        let again = dir.join("again.svg");
        write_charts(&report_chart(&report), &again).expect("writes");
        for (a, b) in [(&files[0], &again), (&files[1], &bars_path(&again))] {
            assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
        }
        std::fs::remove_dir_all(&dir).expect("cleaned up");
    }

    #[test]
    fn compare_charts_are_well_formed_svg() {
        let a = synthetic_report();
        let mut b = synthetic_report();
        b.machine.cpu_model = "Other CPU".into();
        for r in &mut b.results {
            r.gelem_s_median *= 2.0;
        }
        let reports = [(PathBuf::from("a.json"), a), (PathBuf::from("b.json"), b)];
        let comparison = compare_reports(&reports);
        let chart = compare_chart(&reports, &comparison);
        assert!(chart.own_ceilings);
        assert_eq!(chart.series.len(), 2);
        // Each report's chosen tier, serial: 2 reports x 2 sizes per panel.
        assert!(chart.panels.iter().all(|p| p.points.len() == 4));

        let dir = temp_dir("compare-svg");
        let path = dir.join("sub").join("compare");
        let files = write_charts(&chart, &path).expect("writes");
        assert_eq!(files[1], dir.join("sub").join("compare-bars"));
        let chosen = &reports[0].1.machine.isa_chosen;
        let labels = [
            format!("A: {} / {chosen}", reports[0].1.machine.cpu_model),
            format!("B: Other CPU / {chosen}"),
        ];
        for (file, axes) in files
            .iter()
            .zip([["elements (log)", "Gelem/s (log)"], ["elements", "Gelem/s"]])
        {
            let texts = svg_texts(file);
            assert_has(&texts, &[&labels[0], &labels[1]], file);
            assert_has(
                &texts,
                &[
                    "rectify reports compared, each at its chosen ISA",
                    "relu / forward (8 B/elem)",
                    "maxout_k2 / backward (20 B/elem)",
                    axes[0],
                    axes[1],
                ],
                file,
            );
        }
        std::fs::remove_dir_all(&dir).expect("cleaned up");
    }

    #[test]
    fn chart_helpers() {
        assert_eq!(bars_path(Path::new("x/r.svg")), Path::new("x/r-bars.svg"));
        assert_eq!(bars_path(Path::new("r.v2.svg")), Path::new("r.v2-bars.svg"));
        assert_eq!(bars_path(Path::new("r")), Path::new("r-bars"));
        // Two decades: 1-2-5; a narrow range: denser; a wide one: decades.
        assert_eq!(
            log_ticks(0.9, 110.0).0,
            [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0]
        );
        assert_eq!(log_ticks(2.9, 6.2).0, [3.0, 4.0, 5.0, 6.0]);
        assert_eq!(log_ticks(2.5, 9.5).0, [3.0, 5.0, 7.0]);
        assert_eq!(
            log_ticks(0.05, 2000.0).0,
            [0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0]
        );
        assert_eq!(
            log_ticks(0.005, 2000.0).0,
            [0.01, 0.1, 1.0, 10.0, 100.0, 1000.0]
        );
        assert_eq!(wrap("ab cd ef", 10.0, 30), ["ab cd", "ef"]);
        assert_eq!(wrap("abcdefgh ij", 10.0, 30), ["abcdefgh", "ij"]);
        assert_eq!(value_label(12.345), "12.3");
        assert_eq!(value_label(0.08213), "0.082");
        assert_eq!(tick_label(0.30000000000000004), "0.3");
    }

    #[test]
    fn slugs_and_sizes() {
        assert_eq!(
            slug("AMD EPYC 7B13 64-Core Processor"),
            "amd-epyc-7b13-64-core-processor"
        );
        assert_eq!(
            slug("  Intel(R) Xeon(R) @ 2.20GHz "),
            "intel-r-xeon-r-2-20ghz"
        );
        assert_eq!(slug("?!"), "unknown");
        assert_eq!(parse_cache_size("32K"), Some(32 << 10));
        assert_eq!(parse_cache_size("32768K"), Some(32 << 20));
        assert_eq!(parse_cache_size("1M"), Some(1 << 20));
        assert_eq!(sig4(123456.0), 123500.0);
        assert_eq!(sig4(0.012345), 0.01235);
    }

    #[test]
    fn ops_fit_every_size() {
        assert_eq!(PRELU_SLOPES[0], 0.01);
        assert!((PRELU_SLOPES[15] - 0.31).abs() < 1e-6);
        assert!(FULL_SIZES.iter().all(|n| n % PRELU_CHANNELS == 0));
        assert!(FULL_SIZES.iter().all(|n| n % MAXOUT_NCHW_OUTER == 0));
        for op in OPS {
            for n in QUICK_SIZES {
                let inputs = Inputs::new(op, n);
                for &dir in op.directions() {
                    let mut case = Case::new(Kernels::best(), op, dir, &inputs);
                    case.restore();
                    case.call();
                }
            }
        }
        assert_eq!(Op::named("prelu_nhwc").params(4096)["inner"], 1.0);
        assert_eq!(Op::named("prelu_nchw").params(4096)["inner"], 256.0);
        assert_eq!(
            Op::named("prelu_nchw_8x8").params(65536)["channels"],
            1024.0
        );
        assert_eq!(Op::named("prelu_rows8").params(65536)["channels"], 8192.0);
        assert_eq!(Op::named("prelu_nchw_2x2").params(4096)["inner"], 4.0);
        assert!(FULL_SIZES
            .iter()
            .all(|n| n % (PRELU_SHORT_RUN * PRELU_ROWS) == 0));
        assert_eq!(Op::named("maxout_k4").params(4096)["k"], 4.0);
        assert_eq!(Op::named("maxout_k4").params(4096)["inner"], 1.0);
        assert_eq!(Op::named("maxout_k2_nchw").params(4096)["inner"], 256.0);
    }

    #[test]
    fn maxout_cases_count_outputs() {
        let op = Op::named("maxout_k2");
        let inputs = Inputs::new(op, 4096);
        assert_eq!((inputs.x.len(), inputs.grad.len()), (8192, 4096));
        let mut case = Case::new(Kernels::best(), op, Direction::Forward, &inputs);
        case.call();
        let expected: Vec<f32> = inputs.x.chunks(2).map(|p| p[0].max(p[1])).collect();
        assert_eq!(case.out, expected);
        let forward = |op: Op| op.bytes_per_element(Direction::Forward);
        let backward = |op: Op| op.bytes_per_element(Direction::Backward);
        assert_eq!((forward(op), backward(op)), (12, 20));
        let k4 = Op::named("maxout_k4");
        assert_eq!((forward(k4), backward(k4)), (20, 36));
        assert_eq!(k4.footprint_per_element(Direction::Backward), 36);
        let relu = Op::Act(Activation::Relu);
        assert_eq!((forward(relu), backward(relu)), (8, 12));
        assert_eq!(relu.footprint_per_element(Direction::Backward), 8);
        // Serial engines never split; the parallel one splits Maxout by its input.
        let serial = Kernels::best().serial();
        assert_eq!(op.threads(&serial, 1 << 20), 1);
        let parallel = Kernels::best();
        let nchw = Op::named("maxout_k2_nchw");
        assert_eq!(
            nchw.threads(&parallel, 1 << 20),
            split_threads(&parallel, 2 << 20).min(MAXOUT_NCHW_OUTER)
        );
    }

    #[test]
    fn data_is_half_negative_and_in_range() {
        let d = data(1 << 16, 7);
        assert!(d.iter().all(|&v| (-4.0..4.0).contains(&v)));
        let negative = d.iter().filter(|&&v| v < 0.0).count();
        assert!((negative as f64 / d.len() as f64 - 0.5).abs() < 0.02);
    }
}
