//! The measuring harness: the run's plan, calibrated batches timed
//! round-robin within a group, medians, and the deterministic input data.

use std::hint::black_box;
use std::time::Instant;

use crate::placed::OUTPUT_PLACEMENTS;

/// Element counts of `--full`: L1-, L2-, L3- and DRAM-sized buffers.
pub(crate) const FULL_SIZES: [usize; 4] = [4096, 65536, 1 << 20, 1 << 24];
/// Element counts of the default run: an L1-, an L2- and a DRAM-sized
/// buffer, the three columns of the summary.
pub(crate) const DEFAULT_SIZES: [usize; 3] = [4096, 65536, 1 << 24];
/// Element counts of `--quick`.
pub(crate) const QUICK_SIZES: [usize; 3] = [4096, 65536, 1 << 20];

/// Which run the command line asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Run {
    /// `--quick`: small sizes, serial and parallel, few repetitions
    /// (seconds; what CI runs).
    Quick,
    /// No option: the summary's three sizes, serial only (about a minute
    /// on two cores).
    Default,
    /// `--full`: every size, serial and parallel, many repetitions
    /// (minutes).
    Full,
}

impl Run {
    /// The run's name in the output and the JSON (`config.run`).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Run::Quick => "quick",
            Run::Default => "default",
            Run::Full => "full",
        }
    }
}

/// How long to measure: fixed by the [`Run`].
pub(crate) struct Plan {
    pub(crate) run: Run,
    pub(crate) sizes: Vec<usize>,
    /// The engines measured: `serial` and, except in the default run,
    /// `parallel`.
    pub(crate) modes: Vec<&'static str>,
    /// Wanted duration of one timed batch, seconds.
    pub(crate) target_batch_s: f64,
    /// Wanted duration of all repetitions of one case, seconds.
    pub(crate) case_budget_s: f64,
    pub(crate) min_reps: usize,
    pub(crate) max_reps: usize,
    /// Cost of reading the clock twice, subtracted from every timed span.
    pub(crate) timer_overhead_s: f64,
}

impl Plan {
    /// The plan of `run`; measures the clock's overhead.
    pub(crate) fn new(run: Run) -> Plan {
        let timer_overhead_s = timer_overhead();
        let plan = |sizes: &[usize],
                    modes: &[&'static str],
                    batch_ms: f64,
                    budget_ms: f64,
                    reps: (usize, usize)| Plan {
            run,
            sizes: sizes.to_vec(),
            modes: modes.to_vec(),
            target_batch_s: batch_ms * 1e-3,
            case_budget_s: budget_ms * 1e-3,
            min_reps: reps.0,
            max_reps: reps.1,
            timer_overhead_s,
        };
        match run {
            Run::Quick => plan(&QUICK_SIZES, &["serial", "parallel"], 1.0, 8.0, (3, 7)),
            Run::Default => plan(&DEFAULT_SIZES, &["serial"], 2.0, 25.0, (5, 21)),
            Run::Full => plan(&FULL_SIZES, &["serial", "parallel"], 3.0, 60.0, (5, 61)),
        }
    }

    /// Whether the plan measures the parallel engines.
    pub(crate) fn parallel(&self) -> bool {
        self.modes.contains(&"parallel")
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
pub(crate) struct Timing {
    pub(crate) seconds_per_call: Vec<f64>,
    /// The same times in the order of the rounds, to pair with the other
    /// members of the group.
    pub(crate) by_round: Vec<f64>,
    pub(crate) calls_per_rep: usize,
}

impl Timing {
    /// Median seconds per call.
    pub(crate) fn median(&self) -> f64 {
        median(&self.seconds_per_call)
    }
    /// Seconds per call of the fastest repetition.
    pub(crate) fn fastest(&self) -> f64 {
        self.seconds_per_call[0]
    }
    /// Seconds per call of the slowest repetition.
    pub(crate) fn slowest(&self) -> f64 {
        self.seconds_per_call[self.seconds_per_call.len() - 1]
    }
}

/// Something to time: a kernel call on its buffers, or the bandwidth probe.
pub(crate) trait Subject {
    /// Puts the buffers back in their pristine state (never timed).
    fn restore(&mut self);
    /// Moves the buffers to their placement for `repetition` (the next
    /// restore fills them); by default they stay where they are.
    fn place(&mut self, _repetition: usize) {}
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
/// ratios stay meaningful on a shared machine. Repetition `r` of a subject
/// runs at its placement `r` ([`Subject::place`]), and every placement
/// runs equally often.
pub(crate) fn measure_interleaved(
    plan: &Plan,
    subjects: &mut [Box<dyn Subject + '_>],
) -> Vec<Timing> {
    let calibration: Vec<(usize, f64)> = subjects
        .iter_mut()
        .map(|s| calibrate(plan, s.as_mut()))
        .collect();
    let round_s: f64 = calibration.iter().map(|&(b, t)| b as f64 * t).sum();
    let reps = ((plan.case_budget_s * subjects.len() as f64 / round_s).round() as usize)
        .clamp(plan.min_reps, plan.max_reps)
        .next_multiple_of(OUTPUT_PLACEMENTS.len());
    let mut samples = vec![Vec::with_capacity(reps); subjects.len()];
    for r in 0..reps {
        for j in 0..subjects.len() {
            let i = (r + j) % subjects.len();
            let batch = calibration[i].0;
            subjects[i].place(r);
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
pub(crate) fn data(n: usize, seed: u64) -> Vec<f32> {
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

/// Median of sorted samples.
pub(crate) fn median(sorted: &[f64]) -> f64 {
    let m = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[m]
    } else {
        (sorted[m - 1] + sorted[m]) / 2.0
    }
}

/// Median over rounds of `f(a[r], b[r])`.
pub(crate) fn paired_median(a: &[f64], b: &[f64], f: impl Fn(f64, f64) -> f64) -> f64 {
    let mut ratios: Vec<f64> = a.iter().zip(b).map(|(&a, &b)| f(a, b)).collect();
    ratios.sort_by(f64::total_cmp);
    median(&ratios)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_half_negative_and_in_range() {
        let d = data(1 << 16, 7);
        assert!(d.iter().all(|&v| (-4.0..4.0).contains(&v)));
        let negative = d.iter().filter(|&&v| v < 0.0).count();
        assert!((negative as f64 / d.len() as f64 - 0.5).abs() < 0.02);
    }
}
