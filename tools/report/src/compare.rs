//! `compare`: saved reports side by side, each at its chosen tier, with
//! ratios to the first, noise marks and the ways the builds differ.

use std::path::{Path, PathBuf};

use crate::format::human_elements;
use crate::schema::{Report, Row};

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
pub(crate) struct Comparison {
    /// Per report: its tag (`A`, `B`, ...), its label (CPU model and chosen
    /// tier, the file's name when that is not unique) and a note (threads,
    /// run, path).
    pub(crate) columns: Vec<(String, String, String)>,
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
    /// The rows of the tier the report chose (the tier `Kernels::from_env` runs).
    pub(crate) fn chosen_rows(&self) -> impl Iterator<Item = &Row> {
        self.results
            .iter()
            .filter(|row| row.isa == self.machine.isa_chosen)
    }
}

/// Compares the reports case by case, each at its chosen tier (the one its
/// `Kernels::from_env` runs and its file is named after): every case of any
/// report, in the order they first appear.
pub(crate) fn compare_reports(reports: &[(PathBuf, Report)]) -> Comparison {
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
                r.config.run_name(),
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
            let run = c.run_name();
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
pub(crate) fn print_comparison(c: &Comparison) {
    println!("rectify reports compared: Gelem/s median per op / direction / size / mode, each report at its");
    println!("chosen ISA (the tier `Kernels::from_env` runs, the one its file is named after); the first is the reference");
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::schema::parse_report;
    use crate::test_support::synthetic_report;

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
}
