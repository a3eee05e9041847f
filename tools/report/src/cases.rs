//! The kernel cases: one op, direction, size and mode on every available
//! tier, measured in a group with the bandwidth probe of its memory level.

use std::hint::black_box;

use rectify::{Grad, Isa, Kernels, Saved};

use crate::bandwidth::{ProbeBuffers, ProbeSamples};
use crate::format::human_elements;
use crate::machine::Caches;
use crate::ops::{prelu_slope, Direction, Op};
use crate::placed::{Placed, INPUT_PLACEMENTS, OUTPUT_PLACEMENTS};
use crate::progress::Progress;
use crate::schema::Row;
use crate::timing::{data, measure_interleaved, paired_median, Plan, Subject, Timing};

/// The pristine buffers of one op at one size `n`.
struct Inputs {
    /// The input, `op.input_len(n)` elements.
    x: Placed,
    /// The activations' forward output of `x`, for `backward` from the saved
    /// output (empty for the other ops).
    y: Placed,
    /// The incoming gradient, `n` elements (Maxout's `grad_out`).
    grad: Placed,
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
        let [at_x, at_grad, at_y] = INPUT_PLACEMENTS;
        Inputs {
            x: Placed::new(&x, at_x),
            y: Placed::new(&y, at_y),
            grad: Placed::new(&data(n, 0x6AD ^ n as u64), at_grad),
        }
    }

    /// The pristine copy of the buffer an in-place call of `dir` writes: `x`
    /// forward, the gradient backward.
    fn pristine(&self, dir: Direction) -> &[f32] {
        match dir {
            Direction::Forward => self.x.get(),
            Direction::Backward | Direction::BackwardFromInput => self.grad.get(),
        }
    }
}

/// One tier's call of an op in one direction. The in-place ops write `out`,
/// restored before every span from its pristine copy (`x` forward, the
/// gradient backward); Maxout reads the inputs and overwrites `out` (`y` or
/// `grad_in`) whole, so nothing is restored.
struct Case<'a> {
    engine: Kernels,
    op: Op,
    dir: Direction,
    inputs: &'a Inputs,
    /// The buffer the call writes, placed at each of the
    /// `OUTPUT_PLACEMENTS` in turn.
    out: Placed,
    /// PReLU's slopes, one per channel of the layout (empty for the other
    /// ops).
    slopes: Vec<f32>,
    /// PReLU's slope gradient, overwritten by every call (empty for the
    /// other ops).
    grad_w: Vec<f32>,
    /// `op.calls_between_restores()`, found once: for an activation it
    /// runs the activation to see whether it is idempotent.
    calls_between_restores: usize,
}

impl<'a> Case<'a> {
    fn new(engine: Kernels, op: Op, dir: Direction, inputs: &'a Inputs) -> Case<'a> {
        let out = match (op, dir) {
            (Op::Maxout { .. }, Direction::Forward) => vec![0.0; inputs.grad.get().len()],
            (Op::Maxout { .. }, _) => vec![0.0; inputs.x.get().len()],
            _ => inputs.pristine(dir).to_vec(),
        };
        let out = Placed::new(&out, OUTPUT_PLACEMENTS[0]);
        let channels = match op {
            Op::Prelu { layout_of, .. } => layout_of(inputs.x.get().len()).channels(),
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
            calls_between_restores: op.calls_between_restores(),
        }
    }
}

impl Subject for Case<'_> {
    fn restore(&mut self) {
        if !matches!(self.op, Op::Maxout { .. }) {
            self.out
                .get_mut()
                .copy_from_slice(self.inputs.pristine(self.dir));
        }
    }
    fn place(&mut self, repetition: usize) {
        self.out
            .place(OUTPUT_PLACEMENTS[repetition % OUTPUT_PLACEMENTS.len()]);
    }
    fn call(&mut self) {
        let e = &self.engine;
        let x = black_box(self.inputs.x.get());
        let grad = black_box(self.inputs.grad.get());
        let out = black_box(self.out.get_mut());
        match (self.op, self.dir) {
            (Op::Act(act), Direction::Forward) => e.forward(act, out),
            (Op::Act(act), Direction::Backward) => {
                e.backward(act, Saved::Output(black_box(self.inputs.y.get())), out)
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
                Some(Grad::Write(black_box(&mut self.grad_w))),
            ),
            (Op::Maxout { k, inner_of, .. }, Direction::Forward) => {
                e.maxout(x, k, inner_of(out.len()), out)
            }
            (Op::Maxout { k, inner_of, .. }, _) => {
                let inner = inner_of(grad.len());
                e.maxout_backward(x, k, inner, grad, Grad::Write(out))
            }
        }
        .expect("valid op");
    }
    fn calls_between_restores(&self) -> usize {
        self.calls_between_restores
    }
}

/// Everything one group of measurements needs to know about the run.
pub(crate) struct Context<'p> {
    pub(crate) plan: &'p Plan,
    pub(crate) caches: Caches,
}

/// The rough cost of one group (one op, direction, size and mode, every
/// tier and the probe), for the progress estimate: each subject's budget and
/// calibration, its calls at an assumed 10 GB/s when a call outlasts a batch,
/// and making the inputs.
fn group_weight(plan: &Plan, op: Op, dir: Direction, n: usize) -> f64 {
    let subjects = (Isa::available().len() + 1) as f64;
    let call_s = (op.bytes_per_element(dir) * n) as f64 / 10e9;
    let calls = (plan.min_reps + 4) as f64;
    let inputs_s = (op.input_len(n) + n) as f64 * 4.0 * 5.0 / 1e9;
    subjects * (plan.case_budget_s + 2.0 * plan.target_batch_s + calls * call_s) + inputs_s
}

/// The groups [`measure_kernels`] measures for `ops` (every direction, size
/// and mode of the plan): how many, and their weights summed.
pub(crate) fn kernel_work(plan: &Plan, ops: &[Op]) -> (usize, f64) {
    let mut work = (0, 0.0);
    for &op in ops {
        for &dir in op.directions() {
            for &n in &plan.sizes {
                work.0 += plan.modes.len();
                work.1 += plan.modes.len() as f64 * group_weight(plan, op, dir, n);
            }
        }
    }
    work
}

/// Measures one op and direction at every size and mode of the plan: per
/// (size, mode), the probe of the matching level and every available tier,
/// interleaved; one progress step per group.
pub(crate) fn measure_kernels(
    ctx: &Context<'_>,
    (op, dir): (Op, Direction),
    probes: &mut ProbeBuffers,
    probe_samples: &mut ProbeSamples,
    progress: &mut Progress,
    rows: &mut Vec<Row>,
) {
    for &n in &ctx.plan.sizes {
        let inputs = Inputs::new(op, n);
        for &mode in &ctx.plan.modes {
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
            progress.step(
                &format!(
                    "{}/{} {} {mode}, {threads} thread{}, {} ceiling",
                    op.name(),
                    dir.name(),
                    human_elements(n),
                    if threads == 1 { "" } else { "s" },
                    level.label(),
                ),
                group_weight(ctx.plan, op, dir, n),
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

#[cfg(test)]
mod tests {
    use rectify::Activation;

    use super::*;
    use crate::ops::{
        ops, split_threads, MAXOUT_NCHW_OUTER, PRELU_CHANNELS, PRELU_ROWS, PRELU_SHORT_RUN,
        PRELU_SLOPES,
    };
    use crate::timing::{FULL_SIZES, QUICK_SIZES};

    #[test]
    fn ops_fit_every_size() {
        assert_eq!(PRELU_SLOPES[0], 0.01);
        assert!((PRELU_SLOPES[15] - 0.31).abs() < 1e-6);
        assert!(FULL_SIZES.iter().all(|n| n % PRELU_CHANNELS == 0));
        assert!(FULL_SIZES.iter().all(|n| n % MAXOUT_NCHW_OUTER == 0));
        for op in ops() {
            for n in QUICK_SIZES {
                let inputs = Inputs::new(op, n);
                for &dir in op.directions() {
                    let mut case = Case::new(Kernels::new(Isa::best()).unwrap(), op, dir, &inputs);
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
        assert_eq!(
            (inputs.x.get().len(), inputs.grad.get().len()),
            (8192, 4096)
        );
        let mut case = Case::new(
            Kernels::new(Isa::best()).unwrap(),
            op,
            Direction::Forward,
            &inputs,
        );
        case.call();
        let expected: Vec<f32> = inputs.x.get().chunks(2).map(|p| p[0].max(p[1])).collect();
        assert_eq!(case.out.get(), expected);
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
        let serial = Kernels::new(Isa::best()).unwrap().serial();
        assert_eq!(op.threads(&serial, 1 << 20), 1);
        let parallel = Kernels::new(Isa::best()).unwrap();
        let nchw = Op::named("maxout_k2_nchw");
        assert_eq!(
            nchw.threads(&parallel, 1 << 20),
            split_threads(&parallel, 2 << 20).min(MAXOUT_NCHW_OUTER)
        );
    }
}
