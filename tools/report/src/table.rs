//! The printed report: the default run's compact header and summary, or
//! (`--full`) the machine and bandwidth header, one table per op and
//! direction, and the summary.

use std::fmt::Write as _;
use std::io::Write as _;

use crate::format::{human_bytes, human_elements, opt, wrap};
use crate::glance::{glance, glance_text, three_digits, TEXT_WIDTH};
use crate::machine::Machine;
use crate::ops::{Direction, Op};
use crate::schema::{Report, Row};

/// What the bandwidth ceilings are, and why a fraction of them can pass 100%.
const CEILING_NOTE: &str = "in-place bandwidth: glibc's memmove of a buffer onto itself (8 B/elem, GB = 1e9 B), per memory level: the ceiling of %bw.\nIt is a copy, not a hardware limit: kernels can beat it, most in L1 and L2 (%bw above 100%); near or above 100% in DRAM means bound by memory.";

/// The printed report of a run (or of a saved report, `show`): the compact
/// header, whose run line ends with `more` (how to see more) when not
/// empty, and the summary; with `full`, the complete header, every table
/// and then the summary.
pub(crate) fn report_text(report: &Report, full: bool, more: &str) -> String {
    let mut out = String::new();
    if full {
        out += &header_text(report);
        out += &tables_text(&report.results);
    } else {
        out += &compact_header_text(report, more);
    }
    out.push('\n');
    out += &glance_text(&glance(report));
    out
}

/// Writes `text` to stdout. A reader that has gone (`| head`) is not an
/// error: what is left unprinted was not wanted.
pub(crate) fn print_text(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// The run's sizes, `4096, 64 Ki, 16 Mi`.
fn sizes_text(report: &Report) -> String {
    report
        .config
        .sizes
        .iter()
        .map(|&n| human_elements(n))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The CPU: model, vendor, cores and caches, one line.
pub(crate) fn cpu_text(m: &Machine) -> String {
    let cache = |c: Option<usize>| c.map_or("?".into(), human_bytes);
    format!(
        "{}{}, {} logical cores, {} rayon threads; L1d {}, L2 {} per core, L3 {}",
        m.cpu_model,
        m.vendor
            .as_ref()
            .map_or(String::new(), |v| format!(" ({v})")),
        m.logical_cores,
        m.rayon_threads,
        cache(m.caches.l1d),
        cache(m.caches.l2),
        cache(m.caches.l3)
    )
}

/// The tiers: available and chosen.
pub(crate) fn isa_text(m: &Machine) -> String {
    format!(
        "{} chosen (RECTIFY_ISA {}); available: {}",
        m.isa_chosen,
        m.rectify_isa_env
            .as_ref()
            .map_or("unset".into(), |v| format!("= {v:?}")),
        m.isas_available.join(", ")
    )
}

/// How rectify was built.
pub(crate) fn build_text(report: &Report) -> String {
    let b = &report.build;
    format!(
        "rectify {}, {}, {}, {} (opt-level {}), features {}",
        report.crate_version, b.rustc, b.target, b.profile, b.opt_level, b.target_features
    )
}

/// The run: kind, date, sizes, modes and repetitions.
pub(crate) fn run_text(report: &Report) -> String {
    let c = &report.config;
    let modes = if report.results.iter().any(|r| r.mode == "parallel") {
        "serial and parallel"
    } else {
        "serial"
    };
    format!(
        "{} run {}: {} elements, {modes}, {}-{} repetitions of ~{} ms batches",
        c.run_name(),
        report
            .date
            .as_ref()
            .map_or("(date not recorded)".into(), |d| format!("of {d}")),
        sizes_text(report),
        c.min_repetitions,
        c.repetitions,
        c.target_batch_ms,
    )
}

/// The one-thread ceilings, `L1 203 GB/s, L2 220 GB/s, ...`.
pub(crate) fn ceilings_text(report: &Report) -> String {
    report
        .bandwidth
        .iter()
        .filter(|b| b.threads == 1)
        .map(|b| format!("{} {} GB/s", b.label, three_digits(b.gbps_median)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The default run's header: machine, tiers, build, run (and `more`) and
/// the one-thread ceilings, a line each.
fn compact_header_text(report: &Report, more: &str) -> String {
    let more = if more.is_empty() {
        String::new()
    } else {
        format!(" ({more})")
    };
    [
        format!("cpu      {}", cpu_text(&report.machine)),
        format!("isa      {}", isa_text(&report.machine)),
        format!("build    {}", build_text(report)),
        format!("run      {}{more}", run_text(report)),
        format!(
            "ceiling  in-place memmove, 1 thread: {}",
            ceilings_text(report)
        ),
    ]
    .iter()
    .map(|line| wrap(line, TEXT_WIDTH, "         "))
    .collect()
}

/// The complete header: machine, build, method and the bandwidth table.
fn header_text(report: &Report) -> String {
    let m = &report.machine;
    let mut out = String::new();
    let _ = writeln!(out, "rectify report (rectify {})", report.crate_version);
    let _ = writeln!(out, "cpu          {}", cpu_text(m));
    let _ = writeln!(out, "isa          {}", isa_text(m));
    let _ = writeln!(
        out,
        "parallel     split from {} elements ({} per buffer) across {} threads",
        report.config.parallel_threshold,
        human_bytes(report.config.parallel_threshold * 4),
        m.rayon_threads
    );
    let _ = writeln!(out, "build        {}", build_text(report));
    let _ = writeln!(
        out,
        "method       {}, median [min .. max]; clock overhead {:.0} ns subtracted",
        run_text(report),
        report.config.timer_overhead_ns
    );
    out.push('\n');
    let _ = writeln!(out, "{CEILING_NOTE}");
    let _ = writeln!(
        out,
        "standalone: a pass at the start; interleaved: the probes timed beside the kernels; GB/s: both pooled"
    );
    let _ = writeln!(
        out,
        "{:<6} {:>8} {:>7} {:>9}  [{:>8} .. {:>8}] {:>10} {:>11}",
        "level", "buffer", "threads", "GB/s", "min", "max", "standalone", "interleaved"
    );
    for bw in &report.bandwidth {
        let _ = writeln!(
            out,
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
    out
}

/// The kernel rows, one table per op and direction.
fn tables_text(rows: &[Row]) -> String {
    let mut out = String::new();
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
        out.push('\n');
        let _ = writeln!(
            out,
            "{op}{} / {direction} ({})",
            if params.is_empty() {
                String::new()
            } else {
                format!("({})", params.join(", "))
            },
            Op::named(op).describe(dir)
        );
        let _ = writeln!(
            out,
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
                out.push('\n');
            }
            last = Some(r.elements);
            let _ = writeln!(
                out,
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
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::synthetic_full_report;

    #[test]
    fn default_output_is_short_and_full_output_has_every_row() {
        let report = synthetic_full_report();
        let short = report_text(&report, false, "--full: every size and mode, every table");
        // With the two lines of the files written, within 60.
        assert!(short.lines().count() <= 58, "{short}");
        assert!(short.lines().all(|l| l.len() <= 120), "{short}");
        assert!(short.contains("ceiling  in-place memmove, 1 thread: L1 200 GB/s, L2 150 GB/s, L3 100 GB/s, DRAM 40.0 GB/s"), "{short}");
        assert!(
            short.contains(
                "run      default run of 2026-01-02: 4096, 64 Ki, 16 Mi elements, serial, 5-21 repetitions of ~2 ms batches\n         (--full: every size and mode, every table)\n"
            ),
            "{short}"
        );
        let full = report_text(&report, true, "");
        assert!(full.contains(CEILING_NOTE));
        assert!(full.lines().count() > report.results.len());
        assert!(full.ends_with(&glance_text(&glance(&report))));
    }
}
