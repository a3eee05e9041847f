//! The printed report: machine and bandwidth header, one table per op and
//! direction, and the summary.

use crate::format::{human_bytes, human_elements, opt};
use crate::ops::{Direction, Op};
use crate::schema::{Report, Row, Summary};
use crate::timing::Plan;

/// Prints the machine, build, method and bandwidth table.
pub(crate) fn print_header(report: &Report, plan: &Plan) {
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
        plan.run.name(),
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
pub(crate) fn print_table(rows: &[Row]) {
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
pub(crate) fn print_summary(summary: &[Summary]) {
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
