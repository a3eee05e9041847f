//! A measuring run: the machine, the bandwidth ceilings and every kernel
//! case of the plan, with progress on stderr; then the printed report, its
//! JSON, optionally its charts and its published copy (`--save`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::bandwidth::{ProbeBuffers, ProbeSamples};
use crate::cases::{kernel_work, measure_kernels, Context};
use crate::chart::{report_chart, write_charts};
use crate::cli::Options;
use crate::format::slug;
use crate::machine::Machine;
use crate::ops::ops;
use crate::paths::{default_out_dir, reports_dir};
use crate::progress::Progress;
use crate::schema::{assemble, Report};
use crate::table::{print_text, report_text};
use crate::timing::{Plan, Run};

/// Measures, prints, writes the JSON (and the charts, and the published
/// copy, when asked). Exit code 1 when a file cannot be written.
pub(crate) fn measure(options: Options) -> ExitCode {
    if rectify::build::PROFILE != "release" {
        eprintln!(
            "report: warning: rectify was built with profile {:?}; run with --release for meaningful numbers",
            rectify::build::PROFILE
        );
    }
    // Wake rayon's pool before anything is timed.
    rayon::broadcast(|_| ());
    let plan = Plan::new(options.run);
    let machine = Machine::detect();
    let ctx = Context {
        plan: &plan,
        caches: machine.caches,
    };
    let ops = if options.only.is_empty() {
        ops()
    } else {
        options.only.clone()
    };
    let mut probes = ProbeBuffers::new(&plan.sizes);
    let (probe_steps, probe_weight) = probes.standalone_work(&plan, machine.rayon_threads);
    let (kernel_steps, kernel_weight) = kernel_work(&plan, &ops);
    let mut progress = Progress::new(probe_steps + kernel_steps, probe_weight + kernel_weight);
    let mut probe_samples =
        ProbeSamples::standalone(&plan, &mut probes, machine.rayon_threads, &mut progress);
    let mut rows = Vec::new();
    for op in ops {
        for &dir in op.directions() {
            measure_kernels(
                &ctx,
                (op, dir),
                &mut probes,
                &mut probe_samples,
                &mut progress,
                &mut rows,
            );
        }
    }
    progress.finish();
    drop(probes);
    let report = assemble(&plan, machine, probe_samples.table(), rows);
    // The files first, so that a reader of stdout who leaves early (`| head`)
    // loses none of them.
    let written = write_files(&report, &options);
    let more = if plan.run == Run::Full {
        ""
    } else {
        "--full: every size and mode, every table"
    };
    print_text(&report_text(&report, plan.run == Run::Full, more));
    match written {
        Ok(files) => {
            print_text("\n");
            for file in files {
                print_text(&format!("wrote {}\n", file.display()));
            }
            if options.save {
                print_text(
                    "regenerate the docs with: cargo run --release -p rectify-report -- docs\n",
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("report: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Writes the run's files: the JSON to `--out` (or [`default_out_dir`]),
/// its published copy with `--save`, the charts with `--svg`. Returns the
/// files written, or the first error (naming its file).
fn write_files(report: &Report, options: &Options) -> Result<Vec<PathBuf>, String> {
    let dir = options.out.clone().unwrap_or_else(default_out_dir);
    let path = dir.join(format!(
        "{}-{}.json",
        slug(&report.machine.cpu_model),
        report.machine.isa_chosen
    ));
    write_json(report, &path)?;
    let mut files = vec![path];
    if options.save {
        let published = published_path(&reports_dir(), report);
        write_json(report, &published)?;
        files.push(published);
    }
    if let Some(svg) = &options.svg {
        files.extend(write_charts(&report_chart(report), svg)?);
    }
    Ok(files)
}

/// Where `--save` publishes `report` in `reports`: `<machine-class>.json`.
pub(crate) fn published_path(reports: &Path, report: &Report) -> PathBuf {
    reports.join(format!("{}.json", report.machine.class()))
}

/// Writes `report` as pretty JSON to `path`, creating its directory; the
/// error names the file.
pub(crate) fn write_json(report: &Report, path: &Path) -> Result<(), String> {
    let json = serde_json::to_string_pretty(report).expect("the report serializes");
    path.parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(path, json + "\n"))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::load_report;
    use crate::test_support::{synthetic_full_report, temp_dir};

    #[test]
    fn save_publishes_under_the_machine_class() {
        let report = synthetic_full_report();
        let dir = temp_dir("save");
        let path = published_path(&dir.join("reports"), &report);
        assert_eq!(path, dir.join("reports/amd-epyc-avx512.json"));
        write_json(&report, &path).expect("written");
        assert_eq!(load_report(&path).expect("loads"), report);
        std::fs::remove_dir_all(dir).expect("cleaned");
    }
}
