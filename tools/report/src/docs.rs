//! `docs`: the performance page, generated from the published reports
//!
//! ```text
//! cargo run --release -p rectify-report -- --save   # on each machine: measure, publish
//! cargo run --release -p rectify-report -- docs     # reports/*.json -> docs/performance.md
//! ```
//!
//! Reads every `*.json` in the reports directory (a file that is not a
//! readable report of this schema stops the command, naming it, so no
//! machine's figures are dropped silently), keeps the newest report of each
//! machine class (by its `date`; the classes are
//! [`Machine::class`](crate::machine::Machine::class)), and writes one page:
//! a generated preamble saying how it was made, the summary's legend, and
//! per machine its CPU, tiers, run, build and ceilings and the summary
//! table ([`glance`]). The page depends only on the reports: the same
//! reports give the same bytes.

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::glance::{cell_texts, column_heading, glance, LEGEND};
use crate::paths::{performance_doc, reports_dir};
use crate::schema::{load_report, Report};
use crate::table::{build_text, ceilings_text, cpu_text, isa_text, run_text};

/// A published report and the name of its file.
pub(crate) struct Published {
    pub(crate) file: String,
    pub(crate) report: Report,
}

/// Writes the page from `reports` (default [`reports_dir`]) to `out`
/// (default [`performance_doc`]). Exit code 1, with a one-line message,
/// when a report cannot be read or the page cannot be written.
pub(crate) fn run(reports: Option<&Path>, out: Option<&Path>) -> ExitCode {
    let dir = reports.map_or_else(reports_dir, Path::to_path_buf);
    let page = out.map_or_else(performance_doc, Path::to_path_buf);
    let published = match newest_per_class(&dir) {
        Ok((published, skipped)) => {
            for note in skipped {
                eprintln!("docs: {note}");
            }
            published
        }
        Err(e) => {
            eprintln!("docs: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut command = String::from("cargo run --release -p rectify-report -- docs");
    if let Some(reports) = reports {
        let _ = write!(command, " --reports {}", reports.display());
    }
    if let Some(out) = out {
        let _ = write!(command, " --out {}", out.display());
    }
    let source = match reports {
        Some(dir) => dir.display().to_string(),
        None => "reports".into(),
    };
    let text = markdown(&published, &source, &command);
    let written = page
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(&page, text));
    match written {
        Ok(()) => {
            println!(
                "wrote {} ({} machine{})",
                page.display(),
                published.len(),
                if published.len() == 1 { "" } else { "s" }
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("docs: cannot write {}: {e}", page.display());
            ExitCode::FAILURE
        }
    }
}

/// The reports of `dir` (its `*.json` files), the newest of each machine
/// class, ordered by class; and a note for each older one left out. Any
/// file that does not load is an error naming it.
pub(crate) fn newest_per_class(dir: &Path) -> Result<(Vec<Published>, Vec<String>), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut newest: Vec<(String, Published)> = Vec::new();
    let mut skipped = Vec::new();
    for path in files {
        let report = load_report(&path)?;
        let file = path
            .file_name()
            .map_or_else(String::new, |f| f.to_string_lossy().into_owned());
        let class = report.machine.class();
        let candidate = Published { file, report };
        match newest.iter_mut().find(|(c, _)| *c == class) {
            None => newest.push((class, candidate)),
            Some((_, kept)) => {
                // Undated reports are older than dated ones; on equal dates
                // the later file name wins.
                let (older, newer) = if candidate.report.date >= kept.report.date {
                    (std::mem::replace(kept, candidate), &*kept)
                } else {
                    (candidate, &*kept)
                };
                skipped.push(format!(
                    "{} left out: {} is a newer report of class {class}",
                    older.file, newer.file
                ));
            }
        }
    }
    newest.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((newest.into_iter().map(|(_, p)| p).collect(), skipped))
}

/// The page: preamble, legend, and a section per report. `source` names
/// the reports' directory and `command` the command that regenerates the
/// page, as the preamble states them.
pub(crate) fn markdown(published: &[Published], source: &str, command: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Performance\n");
    let _ = writeln!(
        out,
        "<!-- Generated by `{command}` from {source}/*.json: edit the reports or the generator (tools/report/src/docs.rs), not this file. -->\n"
    );
    let _ = writeln!(
        out,
        "This page is generated from the reports in `{source}/`, one per machine class: `<vendor>-<family>-<isa>` (`amd-epyc-avx512`), the CPU's vendor and family and the tier rectify chose on it, each the newest report of its class. To add or refresh a machine, measure on it and publish its report to `{source}/<machine-class>.json` (add `--full` for every size and the parallel rows):\n"
    );
    let _ = writeln!(
        out,
        "```sh\ncargo run --release -p rectify-report -- --save\n```\n"
    );
    let _ = writeln!(out, "then regenerate this page:\n");
    let _ = writeln!(out, "```sh\n{command}\n```\n");
    let _ = writeln!(
        out,
        "Each machine's table gives, per op and direction, the fastest tier on one thread at an L1-, an L2- and a DRAM-sized buffer (its run line says which run measured it), in place except Maxout, as the report tool prints it:\n"
    );
    for (term, meaning) in LEGEND {
        let _ = writeln!(out, "- `{term}`: {meaning}.");
    }
    for p in published {
        out.push('\n');
        out += &section(p, source);
    }
    out.push('\n');
    out += STREAMS;
    out
}

/// What was found about the DRAM columns, with the measurements behind it
/// (prose kept here, beside the tables it explains).
const STREAMS: &str = "## What bounds a stream from DRAM

Measured on the AMD EPYC (Zen 5) above, one thread, 16 Mi elements in place, interleaved rounds, medians. The virtual machine exposes no hardware counters (`perf` has only `cpu-clock`), so these are timing experiments, each changing one thing.

- **Prefetching.** The hardware prefetchers alone left a single stream short of what the memory moves. A walk with one input (every forward) now asks for the line 16 KiB ahead of each block once the span passes 2^20 elements: ReLU 9.2 -> 9.9 Gelem/s (AVX-512) and 8.7 -> 9.9 (AVX2), Leaky ReLU 8.8 -> 9.9, ELU 7.0 -> 7.4, SELU 6.6 -> 7.1; unchanged at 64 Ki and 1 Mi. Prefetching both inputs of a gradient gained nothing (ReLU's backward lost 4%), so gradients do not.
- **The exponential forwards are bound by their arithmetic, not by memory.** ELU's forward alone, from L2 (64 Ki), runs at 7.9 Gelem/s on AVX-512; from DRAM it runs at 7.55, 96% of that, so the two overlap. ReLU streams at 8.7 to 9.9 from DRAM, so ELU at 0.9 of ReLU would need its arithmetic at 7.8 to 8.9 Gelem/s with no memory at all: at the upper end, beyond the kernel as it stands. AVX2's ELU (3.9 Gelem/s in L2 and in DRAM) never meets the memory limit.
- **PReLU's slope gradient in long runs (AVX2).** Its sum closes a piece every 896 elements (28 terms a lane), and from DRAM each piece's end costs about one memory latency (~100 ns): 3.6 Gelem/s where the same walk without the sum runs at 5.6. With one piece per run (an experiment: sums past the error bound) it runs at 5.6; prefetching every block recovers 5.1 but costs AVX-512 and the other gradients 9 to 13%, so it is not done. What triggers the stall is the piece's last block, which the walk takes outside its plain loop: where pieces end on a block boundary (an aligned output), letting the plain loop take that block and closing the piece at the next call runs at 5.7. As tried, that change cost AVX-512 4 to 8% in L1 and L2, so it is not in yet; an unaligned output still straddles a vector at each piece's end.
";

/// One machine: heading, facts, summary table.
fn section(p: &Published, source: &str) -> String {
    let r = &p.report;
    let m = &r.machine;
    let mut out = String::new();
    let _ = writeln!(out, "## {}: {}, {}\n", m.class(), m.cpu_model, m.isa_chosen);
    let _ = writeln!(out, "From `{source}/{}`.\n", p.file);
    let _ = writeln!(out, "- CPU: {}", cpu_text(m));
    let _ = writeln!(out, "- ISA: {}", isa_text(m));
    let _ = writeln!(out, "- run: {}", run_text(r));
    let _ = writeln!(out, "- build: {}", build_text(r));
    let _ = writeln!(
        out,
        "- ceilings (in-place memmove, 1 thread): {}\n",
        ceilings_text(r)
    );
    let g = glance(r);
    out += "| op / direction |";
    for column in &g.columns {
        let _ = write!(
            out,
            " {} fastest | Gelem/s | x | %bw |",
            column_heading(column)
        );
    }
    out += "\n|---|";
    for _ in &g.columns {
        out += "---|--:|--:|--:|";
    }
    out.push('\n');
    for line in &g.lines {
        let _ = write!(out, "| {}/{} |", line.op, line.direction);
        for cell in &line.cells {
            let [fastest, gelem, x, bw] = cell_texts(cell.as_ref());
            // A lone `*` would start emphasis in Markdown.
            let _ = write!(
                out,
                " {fastest} | {gelem} | {x} | {} |",
                bw.replace('*', "\\*")
            );
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::write_json;
    use crate::test_support::{synthetic_full_report, temp_dir};

    /// Two machines: the synthetic AMD report and an Intel one.
    fn two_machines() -> Vec<Published> {
        let amd = synthetic_full_report();
        let mut intel = synthetic_full_report();
        intel.machine.cpu_model = "Intel(R) Xeon(R) Processor".into();
        intel.machine.vendor = Some("GenuineIntel".into());
        intel.date = None;
        vec![
            Published {
                file: "amd-epyc-avx512.json".into(),
                report: amd,
            },
            Published {
                file: "intel-xeon-avx512.json".into(),
                report: intel,
            },
        ]
    }

    #[test]
    fn page_is_stable_and_complete() {
        let command = "cargo run --release -p rectify-report -- docs";
        let page = markdown(&two_machines(), "reports", command);
        assert_eq!(page, markdown(&two_machines(), "reports", command));
        let lines: Vec<&str> = page.lines().collect();
        assert_eq!(lines[0], "# Performance");
        assert!(lines[2].starts_with(
            "<!-- Generated by `cargo run --release -p rectify-report -- docs` from reports/*.json"
        ));
        assert!(page.contains(&format!("```sh\n{command}\n```")));
        let expected = [
            "## amd-epyc-avx512: AMD EPYC, avx512",
            "From `reports/amd-epyc-avx512.json`.",
            "- CPU: AMD EPYC (AuthenticAMD), 2 logical cores, 2 rayon threads; L1d 32 KiB, L2 1 MiB per core, L3 32 MiB",
            "- ISA: avx512 chosen (RECTIFY_ISA unset); available: scalar, portable, avx2, avx512",
            "- run: default run of 2026-01-02: 4096, 64 Ki, 16 Mi elements, serial, 5-21 repetitions of ~2 ms batches",
            "- build: rectify 0.1.0, rustc 1.95.0, x86_64-unknown-linux-gnu, release (opt-level 3), features fxsr,sse,sse2",
            "- ceilings (in-place memmove, 1 thread): L1 200 GB/s, L2 150 GB/s, L3 100 GB/s, DRAM 40.0 GB/s",
            "| op / direction | 4096 (L1) fastest | Gelem/s | x | %bw | 64 Ki (L2) fastest | Gelem/s | x | %bw | 16 Mi (DRAM) fastest | Gelem/s | x | %bw |",
            "|---|---|--:|--:|--:|---|--:|--:|--:|---|--:|--:|--:|",
            "| relu/forward | avx512 | 10.0 | 5.00 | 40% | avx512 | 10.0 | 5.00 | 53% | avx512 | 10.0 | 5.00 | 200% |",
            "## intel-xeon-avx512: Intel(R) Xeon(R) Processor, avx512",
            "- run: default run (date not recorded): 4096, 64 Ki, 16 Mi elements, serial, 5-21 repetitions of ~2 ms batches",
        ];
        for e in expected {
            assert!(lines.contains(&e), "no line {e:?} in\n{page}");
        }
        // Maxout k4's outputs spill beyond L1: marked, escaped.
        assert!(
            page.contains("| maxout_k4/backward | avx512 | 10.0 | 5.00 | 240%\\* |"),
            "{page}"
        );
    }

    #[test]
    fn the_newest_report_of_each_class_is_kept() {
        let dir = temp_dir("docs");
        let [amd, intel] = <[Published; 2]>::try_from(two_machines())
            .ok()
            .expect("two");
        let mut old_amd = synthetic_full_report();
        old_amd.date = Some("2025-06-01".into());
        write_json(&old_amd, &dir.join("amd-epyc-avx512-old.json")).expect("written");
        write_json(&amd.report, &dir.join("amd-epyc-avx512.json")).expect("written");
        write_json(&intel.report, &dir.join("intel-xeon-avx512.json")).expect("written");
        std::fs::write(dir.join("notes.txt"), "not a report").expect("written");
        let (kept, skipped) = newest_per_class(&dir).expect("loads");
        let files: Vec<&str> = kept.iter().map(|p| &*p.file).collect();
        assert_eq!(files, ["amd-epyc-avx512.json", "intel-xeon-avx512.json"]);
        assert_eq!(
            skipped,
            ["amd-epyc-avx512-old.json left out: amd-epyc-avx512.json is a newer report of class amd-epyc-avx512"]
        );
        // A file that is not a report stops the page, naming it.
        std::fs::write(dir.join("broken.json"), "{").expect("written");
        let e = newest_per_class(&dir).err().expect("refused");
        assert!(e.contains("broken.json: not valid JSON"), "{e}");
        std::fs::remove_dir_all(dir).expect("cleaned");
    }
}
