//! # `rectify-report`: measure rectify on this CPU, print a summary, save it as JSON
//!
//! ```text
//! cargo run --release -p rectify-report                  # the summary, about a minute
//! cargo run --release -p rectify-report -- --full        # every size, mode and table, minutes
//! cargo run --release -p rectify-report -- --quick       # a few seconds (what CI runs)
//! cargo run --release -p rectify-report -- --out DIR     # where the JSON goes
//! cargo run --release -p rectify-report -- --save        # and publish it to reports/
//! cargo run --release -p rectify-report -- docs          # reports/ -> docs/performance.md
//! cargo run --release -p rectify-report -- show FILE     # print a saved report again
//! RECTIFY_ISA=portable cargo run --release -p rectify-report   # names the file after that tier
//! cargo run --release -p rectify-report -- compare A.json B.json [C.json ...]
//! cargo run --release -p rectify-report -- --quick --svg charts/report.svg   # + charts
//! cargo run --release -p rectify-report -- compare A.json B.json --svg charts/compare.svg
//! cargo run --release -p rectify-report -- plot          # the activations, docs/activations.svg
//! ```
//!
//! Relative paths (`--out`, `--svg`, the files given to `compare`, `show`
//! and `docs`) are taken from the directory the program runs in, as usual
//! for a command. The defaults are found from this crate's manifest
//! directory, wherever it runs: the JSON goes to
//! `$CARGO_TARGET_DIR/rectify-report/` when `CARGO_TARGET_DIR` is set (a
//! `build.target-dir` of a cargo config file is not visible to the program),
//! else to the repository's `target/rectify-report/` ([`paths`]); `--save`
//! copies it to the repository's `reports/<machine-class>.json`, which
//! `docs` reads to write `docs/performance.md` ([`docs`]); `plot` writes the
//! repository's `docs/activations.svg`.
//!
//! ## The three runs
//!
//! - **default**: the summary's sizes, 4096, 64 Ki and 16 Mi elements (an
//!   L1-, an L2- and a DRAM-sized buffer on most machines), the serial
//!   engines only, 5 to 21 repetitions of ~2 ms batches; about a minute on
//!   two cores. It prints a compact header and the summary ([`glance`]).
//! - `--full`: 4096, 64 Ki, 1 Mi and 16 Mi elements, serial and parallel,
//!   5 to 61 repetitions of ~3 ms batches; minutes. It prints the complete
//!   header, every table, then the summary.
//! - `--quick`: 4096, 64 Ki and 1 Mi elements, serial and parallel, 3 to 7
//!   repetitions of ~1 ms batches; seconds. It prints what the default run
//!   prints.
//!
//! Every run reports its progress on stderr: "n of N" per measured group,
//! the group, the time elapsed and an estimate of the time left
//! ([`progress`]); stdout holds only the tables.
//!
//! ## What it measures
//!
//! 1. **The machine**: CPU model and vendor (`/proc/cpuinfo`), logical cores,
//!    rayon's thread count, cache sizes (`/sys/devices/system/cpu/cpu0/cache`),
//!    the tiers this CPU can run
//!    ([`Isa::available`](rectify::Isa::available)), the tier the free
//!    functions use ([`Kernels::from_env`](rectify::Kernels::from_env), which
//!    honours `RECTIFY_ISA`), and how rectify was built ([`rectify::build`]).
//! 2. **The ceiling**: in-place read-and-write bandwidth, the C library's
//!    `memmove` of the buffer onto itself shifted by one cache line
//!    (`copy_within(16.., 0)`: glibc picks its widest copy loop for this CPU
//!    at run time, so the ceiling does not depend on how rectify or this
//!    program was compiled), on an
//!    L1-sized (16 KiB), L2-sized (256 KiB), L3-sized (4 MiB) and DRAM-sized
//!    (the largest kernel buffer, at least 64 MiB) buffer, on one thread and
//!    (in runs that measure the parallel engines) split over all of rayon's
//!    threads the way rectify splits a call (one chunk per thread, the first
//!    on the calling thread). GB/s count 8 bytes
//!    (one read, one write) per element; GB = 10^9 bytes.
//! 3. **The kernels**: every op (`relu`, `leaky_relu(0.01)`, `elu(1)`,
//!    `celu(2)`, `selu`, and PReLU with 16 channels and slopes
//!    `w[c] = 0.01 + 0.02 c` in two layouts: `prelu_nchw`,
//!    `ChannelLayout::nchw(1, 16, 1, n / 16)`, one slope per contiguous run, and
//!    `prelu_nhwc`, `ChannelLayout::nhwc(1, 1, n / 16, 16)`, the channel varying fastest;
//!    `prelu_nchw_8x8`, `ChannelLayout::nchw(1, n / 64, 1, 64)`, short runs of
//!    many channels (a CNN's late stages); `prelu_nchw_2x2`,
//!    `ChannelLayout::nchw(1, n / 4, 1, 4)`, runs shorter than a vector (a batch
//!    of one at a CNN's last stage); `prelu_rows8`,
//!    `ChannelLayout::rows(8, n / 8)`, a small batch of many features; the
//!    slopes repeat those 16;
//!    and Maxout, `x` viewed as `[outer, k, inner]`: `maxout_k2`, `maxout_k3`
//!    and `maxout_k4`, `inner = 1`, the interleaved pieces of the usual
//!    `reshape(.., units, k).max(-1)`, and `maxout_k2_nchw`, `inner = n / 16`,
//!    long planes of pieces) x direction x available tier x size (the run's,
//!    see above; for Maxout, outputs: `x` has `k` elements per output) x
//!    mode:
//!    - `forward`: `Kernels::forward` (`Kernels::prelu`) in place, 8 B/elem
//!      (read x, write x);
//!    - `backward`: `Kernels::backward(act, Saved::Output(&y), &mut grad)` in
//!      place, 12 B/elem (read y, read grad, write grad); for PReLU
//!      `Kernels::prelu_backward(Saved::Input(&x), &w, layout, &mut grad,
//!      Some(Grad::Write(&mut grad_w)))`, the input gradient and the slope
//!      gradient in one pass, 12 B/elem (read x, read grad, write grad; the
//!      slopes and their sums, at most one per 8 elements, are not counted);
//!    - `backward_from_input` (the exponential ops, whose gradient from the
//!      input needs `exp`): `Saved::Input(&x)`, 12 B/elem;
//!    - Maxout runs out of place, and its Gelem/s and GB/s count per output:
//!      `forward` is `Kernels::maxout(&x, k, inner, &mut y)`, `4 k + 4`
//!      B/output (read `k` pieces, write `y`); `backward` is
//!      `Kernels::maxout_backward(&x, k, inner, &grad_out,
//!      &mut grad_in)`, the winners recomputed from `x`, `8 k + 4` B/output
//!      (read `x` and `grad_out`, write `grad_in`);
//!    - `serial`: the tier's engine made
//!      [`Kernels::serial`](rectify::Kernels::serial);
//!    - `parallel` (`--full`, `--quick`): the default engine of `Kernels::new(isa)`, which splits a
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
//! 2 ms (3 ms with `--full`, 1 ms with `--quick`). Then the members' batches
//! are timed round-robin, R rounds (R chosen so each member gets about
//! 25 ms, clamped to 5..=21 rounds; 60 ms and 5..=61 with `--full`, 8 ms and
//! 3..=7 with `--quick`, each rounded up to a multiple of 3). Each
//! repetition gives one time per call; the table shows the **median** and,
//! in brackets, the slowest and the fastest repetition. Speedups and
//! fractions of bandwidth are medians of the ratios *within* each round,
//! whose members ran moments apart: on a shared machine whose speed changes
//! with its neighbours' load, those ratios stay meaningful even when the
//! absolute numbers drift. The cost of reading the clock (measured at
//! start-up) is subtracted from every timed span.
//!
//! The report places every buffer itself, relative to a 4 KiB page: `x`,
//! the gradient and `y` a cache line aligned, 1 KiB apart; the buffer a call
//! writes at one of three placements, repetition by repetition: aligned and
//! 1 KiB from every input, 16 bytes off a line (what `malloc` gives), and one
//! line past `x`. Where buffers sit modulo 4 KiB decides whether loads wait
//! on stores (4K aliasing), and where the output starts decides a kernel's
//! head; left to the allocator, identical machine code measured up to 1.8
//! times apart from one build to the next. So a median is over placements,
//! the same ones for every build.
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
//! The **summary** (every run prints it; [`glance`]) has a line per op and
//! direction and, for three sizes (the run's, or with `--full` the smallest,
//! the first mostly in L2 and the largest), the serial tier with the
//! highest median: its name when it wins beyond the noise (its median more
//! than 5% above the runner-up's and above the runner-up's fastest
//! repetition) or `tie`, its Gelem/s, `x` (speedup over scalar) and `%bw`
//! (fraction of the bandwidth ceiling), `*` marking a call whose buffers fit
//! a larger level than the column's. A legend under it says the same.
//!
//! The tables of `--full`:
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
//!   as fast as the C library's own copy loop does at that level. The
//!   ceiling is a copy, not a hardware limit: in L1 and L2, where the core
//!   rather than the memory bounds a loop, a kernel can move data faster
//!   than that copy loop does, so `%bw` there can pass 100%; in DRAM about
//!   100% means the kernel is bound by memory. The header's note and the
//!   summary's legend say so.
//! - `par/ser`: parallel over serial median Gelem/s for the same tier (two
//!   groups, so not paired: read it with the noise in mind); about 1 below
//!   the threshold (the call is not split), ideally up to the thread count
//!   above it.
//!
//! The JSON file (`<cpu-model-slug>-<chosen-isa>.json`, schema
//! `rectify-report`, version 1) holds every row (rounded to 4 significant
//! digits), the run's date and kind (`date`, `config.run`; absent in reports
//! written before they were saved, which still load) and `summary`, the
//! tier with the highest serial median per op, direction and size (without
//! the noise rule, which the printed summary applies to the rows), so
//! reports from several machines can be compared and printed again
//! (`show`).
//!
//! ## Comparing reports
//!
//! `compare A.json B.json [C.json ...]` reads saved reports (refusing, with
//! one line and exit code 1, a file that cannot be read, is not JSON, is not
//! a `rectify-report` or is of another `schema_version`) and prints, per op,
//! direction, size and mode, each report's median Gelem/s at *its chosen
//! tier* (the one `Kernels::from_env` runs and its file is named after), the
//! ratio to the first report's, and its fraction of its own measured
//! bandwidth. Columns are tagged `A`, `B`, ... and labelled with the CPU
//! model and chosen tier (the file name when two share those). A case a
//! report lacks shows `-`. A ratio is marked `~` (within the noise) when
//! either median lies inside the other's [min .. max] over its repetitions.
//! A warnings block at the top lists what differs between the builds
//! (profile, opt-level, target features, crate version, rustc) or the runs'
//! settings (the run: quick, default or full).
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
//!
//! ## Activation plots (`plot [FILE]`)
//!
//! `plot` draws every activation and its derivative on [-4, 4] from the
//! library's own kernels into one SVG file (see [`plot`]); the README shows
//! it.

mod bandwidth;
mod cases;
mod chart;
mod cli;
mod compare;
mod docs;
mod format;
mod glance;
mod machine;
mod measure;
mod ops;
mod paths;
mod placed;
mod plot;
mod progress;
mod schema;
mod table;
#[cfg(test)]
mod test_support;
mod timing;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chart::{compare_chart, write_charts, Chart};
use cli::{parse_args, Command, USAGE};
use compare::{compare_reports, print_comparison};
use schema::load_report;
use table::{print_text, report_text};

/// Parses the arguments and runs the command. Exit code 2 on a bad
/// argument; 1 when the JSON, a chart or the docs cannot be written, or
/// when `compare`, `show` or `docs` is given a file that is not a readable
/// rectify report of this schema version.
fn main() -> ExitCode {
    match parse_args(std::env::args().skip(1)) {
        Ok(Command::Help) => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Command::Measure(options)) => measure::measure(options),
        Ok(Command::Compare { paths, svg }) => compare_files(&paths, svg.as_deref()),
        Ok(Command::Plot { out }) => plot::run(out.as_deref()),
        Ok(Command::Docs { reports, out }) => docs::run(reports.as_deref(), out.as_deref()),
        Ok(Command::Show { path, full }) => show(&path, full),
        Err(e) => {
            eprintln!("report: {e}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// Prints a saved report as its run printed it (`full`: every table).
fn show(path: &Path, full: bool) -> ExitCode {
    match load_report(path) {
        Ok(report) => {
            let more = if full {
                ""
            } else {
                "show FILE --full: every table"
            };
            print_text(&report_text(&report, full, more));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("report: {e}");
            ExitCode::FAILURE
        }
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
/// [`schema::SCHEMA_VERSION`].
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
