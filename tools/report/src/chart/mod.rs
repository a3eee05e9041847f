//! The charts of `--svg`: what they draw (a report's tiers or the compared
//! reports, per op and direction) and the two files written.

mod render;
mod style;

use std::path::{Path, PathBuf};

use crate::compare::Comparison;
use crate::schema::{Report, Row};
use render::{render_bars, render_lines};

/// What the charts draw: one panel per op and direction, each with points
/// of several series (a report's ISAs, or the compared reports).
pub(crate) struct Chart {
    /// The first line of the header.
    title: String,
    /// The legend's labels, one per series; series `i` is drawn in
    /// [`series_color`](style::series_color)`(i)`.
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
pub(crate) fn report_chart(report: &Report) -> Chart {
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
            report.config.run_name(),
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
pub(crate) fn compare_chart(reports: &[(PathBuf, Report)], comparison: &Comparison) -> Chart {
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
pub(crate) fn write_charts(chart: &Chart, path: &Path) -> Result<[PathBuf; 2], String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::compare_reports;
    use crate::test_support::{assert_has, svg_texts, synthetic_report, temp_dir};

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
    fn bars_path_puts_bars_before_the_extension() {
        assert_eq!(bars_path(Path::new("x/r.svg")), Path::new("x/r-bars.svg"));
        assert_eq!(bars_path(Path::new("r.v2.svg")), Path::new("r.v2-bars.svg"));
        assert_eq!(bars_path(Path::new("r")), Path::new("r-bars"));
    }
}
