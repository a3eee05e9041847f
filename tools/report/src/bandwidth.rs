//! The bandwidth ceiling: an in-place `memmove` probe per memory level, on
//! one thread or split like a rectify call, and its table.

use std::collections::BTreeMap;
use std::hint::black_box;

use rectify::Kernels;

use crate::format::{human_bytes, sig4};
use crate::machine::Level;
use crate::ops::ops;
use crate::progress::Progress;
use crate::schema::Bandwidth;
use crate::timing::{data, measure_interleaved, median, Plan, Subject, Timing};

/// The cache-sized bandwidth buffers; DRAM's is sized from the kernel sizes.
const CACHE_BANDWIDTH_BUFFERS: [(Level, usize); 3] = [
    (Level::L1, 16 << 10),
    (Level::L2, 256 << 10),
    (Level::L3, 4 << 20),
];
/// The DRAM bandwidth buffer is at least this large (and at least as large as
/// the largest kernel buffer, so both are measured on the same footprint).
const DRAM_MIN_BYTES: usize = 64 << 20;

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
pub(crate) struct Probe<'a> {
    pristine: &'a [f32],
    pub(crate) buf: &'a mut [f32],
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
pub(crate) struct ProbeBuffers {
    buffers: Vec<(Level, Vec<f32>, Vec<f32>)>,
}

impl ProbeBuffers {
    /// 16 KiB, 256 KiB, 4 MiB, and for DRAM the largest kernel buffer (of
    /// any op at any size) but at least 64 MiB.
    pub(crate) fn new(sizes: &[usize]) -> ProbeBuffers {
        let largest = sizes
            .iter()
            .flat_map(|&n| ops().into_iter().map(move |op| op.input_len(n) * 4))
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
    pub(crate) fn probe(&mut self, level: Level, threads: usize) -> Probe<'_> {
        let (_, pristine, buf) = self
            .buffers
            .iter_mut()
            .find(|(l, _, _)| *l == level)
            .expect("a buffer per level");
        let chunk = (threads > 1)
            .then(|| {
                Kernels::new(rectify::Isa::best())
                    .unwrap()
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
pub(crate) struct ProbeSamples {
    standalone: Vec<(Level, usize, usize, Timing)>,
    pub(crate) interleaved: BTreeMap<(&'static str, usize), Vec<f64>>,
}

/// The thread counts of the standalone pass: one, and rayon's `threads`
/// when the plan measures parallel calls.
fn standalone_threads(plan: &Plan, threads: usize) -> Vec<usize> {
    if plan.parallel() && threads > 1 {
        vec![1, threads]
    } else {
        vec![1]
    }
}

/// The rough cost of timing one probe of `bytes` alone, for the progress
/// estimate (see `cases::group_weight`).
fn probe_weight(plan: &Plan, bytes: usize) -> f64 {
    let calls = (plan.min_reps + 4) as f64;
    plan.case_budget_s + 2.0 * plan.target_batch_s + calls * 2.0 * bytes as f64 / 10e9
}

impl ProbeBuffers {
    /// The steps of the standalone pass on `threads` threads: how many, and
    /// their weights summed.
    pub(crate) fn standalone_work(&self, plan: &Plan, threads: usize) -> (usize, f64) {
        let counts = standalone_threads(plan, threads).len();
        let weight: f64 = self
            .buffers
            .iter()
            .map(|(_, buf, _)| probe_weight(plan, buf.len() * 4))
            .sum();
        (self.buffers.len() * counts, weight * counts as f64)
    }
}

impl ProbeSamples {
    /// The standalone pass: every level, on one thread and (when the plan
    /// measures parallel calls) on `threads`; one progress step per probe.
    pub(crate) fn standalone(
        plan: &Plan,
        probes: &mut ProbeBuffers,
        threads: usize,
        progress: &mut Progress,
    ) -> ProbeSamples {
        let mut out = ProbeSamples::default();
        for i in 0..probes.buffers.len() {
            let level = probes.buffers[i].0;
            for t in standalone_threads(plan, threads) {
                let probe = probes.probe(level, t);
                let bytes = probe.buf.len() * 4;
                progress.step(
                    &format!(
                        "bandwidth {} {} on {t} thread{}",
                        level.label(),
                        human_bytes(bytes),
                        if t == 1 { "" } else { "s" }
                    ),
                    probe_weight(plan, bytes),
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
    pub(crate) fn table(&self) -> Vec<Bandwidth> {
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
