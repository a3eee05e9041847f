//! The summary that reads at a glance: per op and direction, one line with
//! the fastest tier on one thread at an L1-, an L2- and a DRAM-sized
//! buffer, its Gelem/s, its speedup over scalar and its fraction of the
//! measured bandwidth. At a DRAM size every op should stream at ReLU's
//! rate: a cell below [`STREAM_MARGIN`] of ReLU's GB/s there is flagged.
//! The default run prints it, `docs` writes it as Markdown, and it is
//! computed from a report's rows, so it reads reports of every run and of
//! older builds alike.

use std::fmt::Write;

use crate::format::{human_elements, wrap};
use crate::schema::{Report, Row};

/// A tier is named fastest only when its median beats the runner-up's by
/// more than this fraction (and beats the runner-up's fastest repetition):
/// below it, two tiers swap places from run to run on a shared machine.
pub(crate) const TIE_MARGIN: f64 = 0.05;

/// At a DRAM size, a cell whose GB/s is below this fraction of ReLU's (in
/// the same direction, forward or backward) is flagged: it does not
/// stream at the rate the machine showed it can.
pub(crate) const STREAM_MARGIN: f64 = 0.9;

/// The legend of the summary, (term, meaning), shared by the printed table
/// and the generated docs.
pub(crate) const LEGEND: [(&str, &str); 7] = [
    ("fastest", "the tier with the highest median, named when that median is more than 5% above the runner-up's and above the runner-up's fastest repetition, else \"tie\" (the numbers are the highest median's)"),
    ("Gelem/s", "10^9 elements (Maxout: outputs) per second, the median over the repetitions"),
    ("x", "speedup over the scalar tier, the median over rounds of scalar time / this tier's time"),
    ("%bw", "GB/s over the level's ceiling, glibc's memmove of a buffer onto itself timed beside the call (DRAM: the run's largest buffer, at least 64 MiB). A copy, not a hardware limit: kernels can beat it, most in L1 and L2 (above 100% is common there); near or above 100% in DRAM means bound by memory"),
    ("*", "the call's buffers fit a larger level than the column's (Maxout reads k inputs per output); its %bw is against that level's ceiling"),
    ("!", "a DRAM size where the op moves less than 0.9 of ReLU's GB/s in the same direction (forward against relu/forward, both backwards against relu/backward): memory-bound, it should stream at ReLU's rate"),
    ("levels", "this machine's cache sizes (sysfs); a column is named after the level most of its rows fit in"),
];

/// Which tier is fastest for one case.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Fastest {
    /// This tier wins beyond the noise.
    Tier(String),
    /// The best median does not beat the runner-up beyond the noise.
    Tie,
}

impl Fastest {
    /// The tier's name, or `tie`.
    pub(crate) fn label(&self) -> &str {
        match self {
            Fastest::Tier(isa) => isa,
            Fastest::Tie => "tie",
        }
    }
}

/// The fastest of the rows of one case (one op, direction, size and mode,
/// one row per tier) and the row with the highest median: a tier is named
/// when its median is more than [`TIE_MARGIN`] above the runner-up's and
/// above the runner-up's fastest repetition (`gelem_s_max`), else it is a
/// tie. `None` when there are no rows.
pub(crate) fn fastest<'a>(rows: &[&'a Row]) -> Option<(Fastest, &'a Row)> {
    let mut sorted = rows.to_vec();
    sorted.sort_by(|a, b| b.gelem_s_median.total_cmp(&a.gelem_s_median));
    let best = *sorted.first()?;
    let wins = match sorted.get(1) {
        None => true,
        Some(second) => {
            best.gelem_s_median > second.gelem_s_median * (1.0 + TIE_MARGIN)
                && best.gelem_s_median > second.gelem_s_max
        }
    };
    let fastest = if wins {
        Fastest::Tier(best.isa.clone())
    } else {
        Fastest::Tie
    };
    Some((fastest, best))
}

/// One size of the summary: its element count and the level most of its
/// rows fit in.
#[derive(Debug, PartialEq)]
pub(crate) struct Column {
    pub(crate) elements: usize,
    pub(crate) level: String,
}

/// One op, direction and size.
#[derive(Debug, PartialEq)]
pub(crate) struct Cell {
    pub(crate) fastest: Fastest,
    /// The highest median's.
    pub(crate) gelem_s: f64,
    pub(crate) speedup_vs_scalar: f64,
    pub(crate) fraction_of_bandwidth: f64,
    pub(crate) gb_s: f64,
    /// The row's level differs from the column's.
    pub(crate) other_level: bool,
    /// A DRAM column's cell below [`STREAM_MARGIN`] of ReLU's GB/s.
    pub(crate) slow_stream: bool,
}

/// One op and direction, a cell per column (`None` where not measured).
#[derive(Debug, PartialEq)]
pub(crate) struct Line {
    pub(crate) op: String,
    pub(crate) direction: String,
    pub(crate) cells: Vec<Option<Cell>>,
}

/// The summary of a report.
#[derive(Debug, PartialEq)]
pub(crate) struct Glance {
    pub(crate) columns: Vec<Column>,
    pub(crate) lines: Vec<Line>,
}

/// The sizes the summary shows: all of them when there are at most three,
/// else the smallest, the first mostly in L2 (else the second) and the
/// largest.
fn column_sizes(report: &Report) -> Vec<usize> {
    let sizes = &report.config.sizes;
    if sizes.len() <= 3 {
        return sizes.clone();
    }
    let l2 = sizes[1..sizes.len() - 1]
        .iter()
        .copied()
        .find(|&n| majority_level(report, n) == "L2")
        .unwrap_or(sizes[1]);
    vec![sizes[0], l2, sizes[sizes.len() - 1]]
}

/// The level most serial rows of size `n` fit in (the first seen on a tie).
fn majority_level(report: &Report, n: usize) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for r in serial(report).filter(|r| r.elements == n) {
        match counts.iter_mut().find(|(l, _)| *l == r.bandwidth_class) {
            Some((_, c)) => *c += 1,
            None => counts.push((&r.bandwidth_class, 1)),
        }
    }
    let mut best: Option<(&str, usize)> = None;
    for (level, count) in counts {
        if best.is_none_or(|(_, c)| count > c) {
            best = Some((level, count));
        }
    }
    best.map_or("?".into(), |(l, _)| l.to_string())
}

/// The report's serial rows: the summary is about one thread.
fn serial(report: &Report) -> impl Iterator<Item = &Row> {
    report.results.iter().filter(|r| r.mode == "serial")
}

/// The summary of `report`: per op and direction (in the order measured),
/// the fastest serial tier at each of [`column_sizes`].
pub(crate) fn glance(report: &Report) -> Glance {
    let columns: Vec<Column> = column_sizes(report)
        .into_iter()
        .map(|elements| Column {
            elements,
            level: majority_level(report, elements),
        })
        .collect();
    let mut keys: Vec<(&str, &str)> = Vec::new();
    for r in serial(report) {
        if !keys.contains(&(&r.op, &r.direction)) {
            keys.push((&r.op, &r.direction));
        }
    }
    let lines = keys
        .into_iter()
        .map(|(op, direction)| {
            let cells = columns
                .iter()
                .map(|column| {
                    let rows: Vec<&Row> = serial(report)
                        .filter(|r| r.case() == (op, direction, column.elements))
                        .collect();
                    let (fastest, best) = fastest(&rows)?;
                    Some(Cell {
                        fastest,
                        gelem_s: best.gelem_s_median,
                        speedup_vs_scalar: best.speedup_vs_scalar,
                        fraction_of_bandwidth: best.fraction_of_bandwidth,
                        gb_s: best.gb_s_median,
                        other_level: best.bandwidth_class != column.level,
                        slow_stream: false,
                    })
                })
                .collect();
            Line {
                op: op.into(),
                direction: direction.into(),
                cells,
            }
        })
        .collect();
    let mut g = Glance { columns, lines };
    flag_slow_streams(&mut g);
    g
}

/// Flags the DRAM columns' cells below [`STREAM_MARGIN`] of ReLU's GB/s in
/// the same direction (none where ReLU was not measured).
fn flag_slow_streams(g: &mut Glance) {
    let reference = |g: &Glance, direction: &str, k: usize| {
        let relu = if direction == "forward" {
            "forward"
        } else {
            "backward"
        };
        let line = g
            .lines
            .iter()
            .find(|l| l.op == "relu" && l.direction == relu)?;
        line.cells[k].as_ref().map(|c| c.gb_s)
    };
    for k in 0..g.columns.len() {
        if g.columns[k].level != "DRAM" {
            continue;
        }
        for i in 0..g.lines.len() {
            let Some(relu) = reference(g, &g.lines[i].direction, k) else {
                continue;
            };
            if let Some(cell) = g.lines[i].cells[k].as_mut() {
                cell.slow_stream = cell.gb_s < STREAM_MARGIN * relu;
            }
        }
    }
}

/// Three significant digits, without exponent: `21.9`, `0.512`, `112`.
pub(crate) fn three_digits(v: f64) -> String {
    match v.abs() {
        a if a >= 100.0 => format!("{v:.0}"),
        a if a >= 10.0 => format!("{v:.1}"),
        a if a >= 1.0 => format!("{v:.2}"),
        _ => format!("{v:.3}"),
    }
}

/// A cell's texts: fastest, Gelem/s, speedup, %bw (with `*` when its level
/// is not the column's, `!` when it streams slower than ReLU); `-` for
/// each when absent.
pub(crate) fn cell_texts(cell: Option<&Cell>) -> [String; 4] {
    match cell {
        Some(c) => [
            c.fastest.label().to_string(),
            three_digits(c.gelem_s),
            three_digits(c.speedup_vs_scalar),
            format!(
                "{:.0}%{}{}",
                c.fraction_of_bandwidth * 100.0,
                if c.other_level { "*" } else { "" },
                if c.slow_stream { "!" } else { "" }
            ),
        ],
        None => ["-", "-", "-", "-"].map(String::from),
    }
}

/// The column's heading: `4096 (L1)`, `16 Mi (DRAM)`.
pub(crate) fn column_heading(column: &Column) -> String {
    format!("{} ({})", human_elements(column.elements), column.level)
}

/// The summary as text: a title, two heading lines, a line per op and
/// direction, and the legend.
pub(crate) fn glance_text(g: &Glance) -> String {
    let label = |l: &Line| format!("{}/{}", l.op, l.direction);
    let width = g.lines.iter().map(|l| label(l).len()).max().unwrap_or(0);
    let width = width.max("op / direction".len());
    let mut out = String::new();
    let _ = writeln!(
        out,
        "summary: the fastest tier on one thread per op / direction and size"
    );
    let _ = write!(out, "{:<width$}", "");
    for column in &g.columns {
        let _ = write!(out, "  {:<28}", column_heading(column));
    }
    let _ = write!(out, "\n{:<width$}", "op / direction");
    for _ in &g.columns {
        let _ = write!(
            out,
            "  {:<8} {:>7} {:>5} {:>5}",
            "fastest", "Gelem/s", "x", "%bw"
        );
    }
    out.push('\n');
    for line in &g.lines {
        let _ = write!(out, "{:<width$}", label(line));
        for cell in &line.cells {
            let [fastest, gelem, x, bw] = cell_texts(cell.as_ref());
            let _ = write!(out, "  {fastest:<8} {gelem:>7} {x:>5} {bw:>5}");
        }
        out.push('\n');
    }
    // The headings pad their last column.
    let mut out: String = out
        .lines()
        .map(|l| l.trim_end().to_string() + "\n")
        .collect();
    out.push('\n');
    for (term, meaning) in LEGEND {
        out += &wrap(&format!("{term}: {meaning}"), TEXT_WIDTH, "  ");
    }
    out
}

/// The width the summary's text lines are wrapped to: about the table's,
/// for three columns.
pub(crate) const TEXT_WIDTH: usize = 110;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{row, synthetic_full_report};

    #[test]
    fn a_tier_is_named_only_beyond_the_noise() {
        // (isa, median, fastest repetition)
        let rows =
            |a: (&str, f64, f64), b: (&str, f64, f64)| [row(a.0, a.1, a.2), row(b.0, b.1, b.2)];
        let verdict = |rows: &[Row]| {
            let refs: Vec<&Row> = rows.iter().collect();
            let (f, best) = fastest(&refs).expect("rows");
            (f, best.isa.clone())
        };
        // Clearly faster: named.
        let r = rows(("scalar", 10.0, 10.5), ("avx2", 20.0, 20.4));
        assert_eq!(verdict(&r), (Fastest::Tier("avx2".into()), "avx2".into()));
        // 3% apart: within the margin, a tie (the best median is still shown).
        let r = rows(("scalar", 10.0, 10.1), ("portable", 10.3, 10.4));
        assert_eq!(verdict(&r), (Fastest::Tie, "portable".into()));
        // 10% apart, but the runner-up's fastest repetition beats the median.
        let r = rows(("scalar", 10.0, 11.5), ("portable", 11.0, 11.2));
        assert_eq!(verdict(&r), (Fastest::Tie, "portable".into()));
        // A single tier wins by default; no rows, no verdict.
        let one = [row("scalar", 1.0, 1.0)];
        assert_eq!(verdict(&one).0, Fastest::Tier("scalar".into()));
        assert_eq!(fastest(&[]), None);
    }

    #[test]
    fn summary_fits_a_screen() {
        let report = synthetic_full_report();
        let g = glance(&report);
        let sizes: Vec<usize> = g.columns.iter().map(|c| c.elements).collect();
        assert_eq!(sizes, [4096, 65536, 1 << 24]);
        let levels: Vec<&str> = g.columns.iter().map(|c| &*c.level).collect();
        assert_eq!(levels, ["L1", "L2", "DRAM"]);
        let text = glance_text(&g);
        let lines: Vec<&str> = text.lines().collect();
        // Under 50, so the run's header and the files written fit in 60.
        assert!(lines.len() <= 50, "{} lines:\n{text}", lines.len());
        assert!(lines.iter().all(|l| l.len() <= 120), "{text}");
        // Every op and direction measured has its line, all cells filled.
        assert!(g.lines.len() >= 30);
        assert!(g.lines.iter().all(|l| l.cells.iter().all(Option::is_some)));
        let relu = lines
            .iter()
            .find(|l| l.starts_with("relu/forward "))
            .expect("relu");
        assert!(relu.contains("avx512"), "{relu}");
        // Maxout k4's 4096 outputs read 64 KiB: beyond L1, marked.
        let k4 = lines
            .iter()
            .find(|l| l.starts_with("maxout_k4/backward "))
            .expect("k4");
        assert!(k4.contains("%*"), "{k4}");
    }

    #[test]
    fn ops_streaming_slower_than_relu_in_dram_are_flagged() {
        let mut report = synthetic_full_report();
        // ELU forward at 0.85 of ReLU's bytes per second in every tier and
        // size, its backward from the input at 0.95.
        let relu = |r: &Row, report: &Report| {
            let dir = if r.direction == "forward" {
                "forward"
            } else {
                "backward"
            };
            let same = |q: &&Row| q.case() == ("relu", dir, r.elements) && q.isa == r.isa;
            report.results.iter().find(same).expect("relu").gb_s_median
        };
        let scaled: Vec<(usize, f64)> = (report.results.iter().enumerate())
            .filter(|(_, r)| r.op == "elu" && r.direction != "backward")
            .map(|(i, r)| {
                let f = if r.direction == "forward" { 0.85 } else { 0.95 };
                (i, f * relu(r, &report) / r.gb_s_median)
            })
            .collect();
        for (i, f) in scaled {
            let r = &mut report.results[i];
            (r.gb_s_median, r.gelem_s_median) = (r.gb_s_median * f, r.gelem_s_median * f);
        }
        let g = glance(&report);
        let line = |op: &str, dir: &str| {
            let l = g.lines.iter().find(|l| l.op == op && l.direction == dir);
            l.expect("line")
                .cells
                .iter()
                .map(|c| c.as_ref().expect("cell").slow_stream)
        };
        // Flagged in the DRAM column only, and only below 0.9.
        assert!(line("elu", "forward").eq([false, false, true]));
        assert!(line("elu", "backward_from_input").eq([false, false, false]));
        assert!(line("relu", "forward").eq([false, false, false]));
        let text = glance_text(&g);
        let elu = text
            .lines()
            .find(|l| l.starts_with("elu/forward "))
            .expect("elu");
        assert!(elu.ends_with('!'), "{elu}");
    }

    #[test]
    fn columns_of_a_full_report_are_l1_l2_and_the_largest() {
        let mut report = synthetic_full_report();
        report.config.sizes = vec![4096, 65536, 1 << 20, 1 << 24];
        assert_eq!(column_sizes(&report), [4096, 65536, 1 << 24]);
        report.config.sizes = vec![4096, 65536, 1 << 20];
        assert_eq!(column_sizes(&report), [4096, 65536, 1 << 20]);
        assert_eq!(three_digits(21.94), "21.9");
        assert_eq!(three_digits(0.51234), "0.512");
        assert_eq!(three_digits(112.4), "112");
        assert_eq!(three_digits(1.849), "1.85");
    }
}
