//! Rendering the charts: the grid of panels, the line chart (log-log, with
//! dashed ceilings) and the grouped bar chart.

use plotters::prelude::{
    BindKeyPoints, ChartBuilder, Color, DashedLineSeries, EmptyElement, FontTransform,
    IntoDrawingArea, IntoLogRange, LineSeries, PathElement, RGBColor, Rectangle, SVGBackend, Text,
    BLACK, WHITE,
};
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style::{
    draw_header, font, legend_lines, series_color, text_width, tick_label, wrap, Area, DrawResult,
    Swatch, AXIS_PX, BOLD_WIDTH, HEADER_MARGIN, LINE_HEIGHT, PANEL_SIZE, PANEL_TITLE_PX, TEXT_PX,
    TICK_PX, TITLE_LINE_HEIGHT, TITLE_PX, VALUE_PX,
};
use super::{Chart, Panel};
use crate::format::{human_elements, sig4};

/// The panels' places: one row per op (in order of appearance), one column
/// per direction (forward, backward, backward from input).
fn grid(chart: &Chart) -> (Vec<&str>, Vec<&str>) {
    let mut ops: Vec<&str> = Vec::new();
    let mut directions: Vec<&str> = Vec::new();
    for p in &chart.panels {
        if !ops.contains(&p.op.as_str()) {
            ops.push(&p.op);
        }
        if !directions.contains(&p.direction.as_str()) {
            directions.push(&p.direction);
        }
    }
    let rank = |d: &str| match d {
        "forward" => 0,
        "backward" => 1,
        "backward_from_input" => 2,
        _ => 3,
    };
    directions.sort_by_key(|d| rank(d));
    (ops, directions)
}

/// Which of the two charts.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Lines,
    Bars,
}

/// Renders one of the two charts as SVG text: header, then the grid of
/// panels.
fn render(chart: &Chart, kind: Kind) -> Result<String, Box<dyn std::error::Error>> {
    let (ops, directions) = grid(chart);
    let (rows, cols) = (ops.len().max(1), directions.len().max(1));
    let width = PANEL_SIZE.0 * cols as u32;
    let what = match kind {
        Kind::Lines => "against the buffer size, both axes logarithmic",
        Kind::Bars => "grouped by buffer size, on a linear axis from 0",
    };
    let ceiling = if chart.own_ceilings {
        "each report's own"
    } else {
        "the measured"
    };
    let text_width_px = width as i32 - 2 * HEADER_MARGIN;
    let title = wrap(&chart.title, TITLE_PX * BOLD_WIDTH, text_width_px);
    let notes: Vec<String> = [
        format!("Median Gelem/s on one thread {what}; one panel per op and direction."),
        format!(
            "Ceiling: {ceiling} in-place bandwidth (memmove, GB/s) divided by the op's bytes \
             per element (in the panel's title), in Gelem/s. Maxout: elements are outputs."
        ),
    ]
    .iter()
    .flat_map(|note| wrap(note, TEXT_PX, text_width_px))
    .collect();
    let mut entries: Vec<(Swatch, String)> = chart
        .series
        .iter()
        .enumerate()
        .map(|(i, label)| {
            let c = series_color(i);
            let swatch = match kind {
                Kind::Lines => Swatch::Line(c),
                Kind::Bars => Swatch::Bar(c),
            };
            (swatch, label.clone())
        })
        .collect();
    entries.push(match (kind, chart.own_ceilings) {
        (Kind::Lines, false) => (Swatch::Dashed(BLACK), "bandwidth ceiling".into()),
        (Kind::Lines, true) => (
            Swatch::Dashed(RGBColor(90, 90, 90)),
            "bandwidth ceiling (dashed, in the report's colour)".into(),
        ),
        (Kind::Bars, _) => (
            Swatch::Tick,
            "bandwidth ceiling (of the bar's report)".into(),
        ),
    });
    if kind == Kind::Bars && !chart.own_ceilings {
        entries.last_mut().expect("the ceiling").1 = "bandwidth ceiling".into();
    }
    let legend = legend_lines(&entries, width as i32);
    let header_height = HEADER_MARGIN * 2
        + TITLE_LINE_HEIGHT * title.len() as i32
        + 8
        + LINE_HEIGHT * notes.len() as i32
        + 6
        + LINE_HEIGHT * legend.len() as i32;
    let height = header_height as u32 + PANEL_SIZE.1 * rows as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let (header, body) = root.split_vertically(header_height);
        draw_header(&header, &title, &notes, &legend)?;
        let cells = body.split_evenly((rows, cols));
        for panel in &chart.panels {
            let row = ops.iter().position(|&o| o == panel.op).expect("an op");
            let col = directions
                .iter()
                .position(|&d| d == panel.direction)
                .expect("a direction");
            let cell = &cells[row * cols + col];
            match kind {
                Kind::Lines => draw_lines_panel(cell, chart, panel)?,
                Kind::Bars => draw_bars_panel(cell, panel)?,
            }
        }
        root.present()?;
    }
    Ok(svg)
}

/// The line chart (throughput against size, log-log) as SVG text.
pub(crate) fn render_lines(chart: &Chart) -> Result<String, Box<dyn std::error::Error>> {
    render(chart, Kind::Lines)
}

/// The grouped bar chart as SVG text.
pub(crate) fn render_bars(chart: &Chart) -> Result<String, Box<dyn std::error::Error>> {
    render(chart, Kind::Bars)
}

/// A panel's title: op, direction and bytes per element.
fn panel_title(panel: &Panel) -> String {
    format!(
        "{} / {} ({} B/elem)",
        panel.op,
        panel.direction,
        sig4(panel.bytes_per_element)
    )
}

/// The measured sizes of a panel, ascending.
fn panel_sizes(panel: &Panel) -> Vec<usize> {
    let mut sizes: Vec<usize> = panel.points.iter().map(|p| p.elements).collect();
    sizes.sort_unstable();
    sizes.dedup();
    sizes
}

/// A ceiling line: its series (`None` for a panel's shared one) and its
/// points (elements, Gelem/s) by size.
type CeilingLine = (Option<usize>, Vec<(f64, f64)>);

/// The panel's ceiling lines: one per series with its own ceilings, else
/// the panel's one.
fn ceiling_lines(chart: &Chart, panel: &Panel) -> Vec<CeilingLine> {
    let line = |series: Option<usize>| {
        let mut points: Vec<(f64, f64)> = Vec::new();
        for size in panel_sizes(panel) {
            let first = panel
                .points
                .iter()
                .filter(|p| series.is_none_or(|s| p.series == s))
                .find(|p| p.elements == size && p.ceiling_gelem_s > 0.0);
            if let Some(p) = first {
                points.push((size as f64, p.ceiling_gelem_s));
            }
        }
        (series, points)
    };
    if chart.own_ceilings {
        (0..chart.series.len()).map(|s| line(Some(s))).collect()
    } else {
        vec![line(None)]
    }
}

/// Height of a panel's plotting area, about, pixels (for spacing ticks).
const PLOT_HEIGHT: f64 = 220.0;
/// Bold ticks of a log axis are at least this far apart, pixels.
const MIN_TICK_GAP: f64 = 22.0;

/// Log-axis ticks in `lo..hi`: the bold ticks (labelled) are the densest of
/// 1-2-3-...-9, 1-2-3-5-7, 1-2-5, 1-3 and 1 times powers of ten whose
/// neighbours are at least [`MIN_TICK_GAP`] apart; the light grid is every
/// 1..9 times a power of ten.
fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    let ticks = |mantissas: &[f64]| {
        let mut out = Vec::new();
        for e in (lo.log10().floor() as i32)..=(hi.log10().ceil() as i32) {
            for &m in mantissas {
                let v = sig4(m * 10f64.powi(e));
                if lo <= v && v <= hi {
                    out.push(v);
                }
            }
        }
        out
    };
    let pixels_per_ln = PLOT_HEIGHT / (hi / lo).ln();
    let all: Vec<f64> = (1..10).map(f64::from).collect();
    let sets: [&[f64]; 5] = [
        &all,
        &[1.0, 2.0, 3.0, 5.0, 7.0],
        &[1.0, 2.0, 5.0],
        &[1.0, 3.0],
        &[1.0],
    ];
    let bold = sets
        .into_iter()
        .map(ticks)
        .find(|t| {
            t.windows(2)
                .all(|w| (w[1] / w[0]).ln() * pixels_per_ln >= MIN_TICK_GAP)
        })
        .unwrap_or_default();
    (bold, ticks(&all))
}

/// Only the positive, finite values (a log axis has no place for others).
fn positive(values: impl Iterator<Item = f64>) -> Vec<f64> {
    values.filter(|v| v.is_finite() && *v > 0.0).collect()
}

/// One panel of the line chart: Gelem/s against elements, both log, a
/// line per series and the dashed ceiling(s).
fn draw_lines_panel(area: &Area<'_>, chart: &Chart, panel: &Panel) -> DrawResult {
    let sizes = panel_sizes(panel);
    let ceilings = ceiling_lines(chart, panel);
    let values = positive(
        panel
            .points
            .iter()
            .map(|p| p.gelem_s)
            .chain(ceilings.iter().flat_map(|(_, l)| l.iter().map(|p| p.1))),
    );
    let (Some(&first), Some(&last)) = (sizes.first(), sizes.last()) else {
        return Ok(());
    };
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(0.0, f64::max);
    if values.is_empty() {
        return Ok(());
    }
    let (x_lo, x_hi) = (first as f64 / 1.6, last as f64 * 1.6);
    let (y_lo, y_hi) = (lo / 1.5, hi * 1.5);
    let x_light: Vec<f64> = (0..64)
        .map(|e| 2f64.powi(e))
        .filter(|&v| x_lo <= v && v <= x_hi)
        .collect();
    let (y_bold, y_light) = log_ticks(y_lo, y_hi);
    let mut c = ChartBuilder::on(area)
        .caption(panel_title(panel), font(PANEL_TITLE_PX))
        .margin(10)
        .margin_right(22)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(
            (x_lo..x_hi)
                .log_scale()
                .with_key_points(sizes.iter().map(|&n| n as f64).collect())
                .with_light_points(x_light),
            (y_lo..y_hi)
                .log_scale()
                .with_key_points(y_bold)
                .with_light_points(y_light),
        )?;
    c.configure_mesh()
        .x_desc("elements (log)")
        .y_desc("Gelem/s (log)")
        .x_label_formatter(&|v| human_elements(v.round() as usize))
        .y_label_formatter(&|v| tick_label(*v))
        .label_style(font(TICK_PX))
        .axis_desc_style(font(AXIS_PX))
        .bold_line_style(BLACK.mix(0.18))
        .light_line_style(BLACK.mix(0.06))
        .draw()?;
    for (series, points) in ceilings {
        let color = series.map_or(BLACK, series_color);
        c.draw_series(DashedLineSeries::new(points, 8, 5, color.stroke_width(2)))?;
    }
    for s in 0..chart.series.len() {
        let mut points: Vec<(f64, f64)> = panel
            .points
            .iter()
            .filter(|p| p.series == s && p.gelem_s.is_finite() && p.gelem_s > 0.0)
            .map(|p| (p.elements as f64, p.gelem_s))
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        let style = series_color(s).filled().stroke_width(2);
        c.draw_series(LineSeries::new(points, style).point_size(4))?;
    }
    Ok(())
}

/// One panel of the bar chart: per size a group of bars, one per series,
/// Gelem/s from 0, each with its value above and its ceiling as a tick.
fn draw_bars_panel(area: &Area<'_>, panel: &Panel) -> DrawResult {
    let sizes = panel_sizes(panel);
    let mut present: Vec<usize> = panel.points.iter().map(|p| p.series).collect();
    present.sort_unstable();
    present.dedup();
    let values = positive(
        panel
            .points
            .iter()
            .flat_map(|p| [p.gelem_s, p.ceiling_gelem_s]),
    );
    let hi = values.iter().copied().fold(0.0, f64::max);
    if sizes.is_empty() || hi <= 0.0 {
        return Ok(());
    }
    // The x axis counts thousandths of a group: integers, whose labels
    // plotters formats through `x_label_formatter` at chosen points.
    let groups = sizes.len() as i32 * 1000;
    let centres: Vec<i32> = (0..groups / 1000).map(|g| g * 1000 + 500).collect();
    let mut c = ChartBuilder::on(area)
        .caption(panel_title(panel), font(PANEL_TITLE_PX))
        .margin(10)
        .margin_right(22)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d((0..groups).with_key_points(centres), 0.0..hi * 1.2)?;
    c.configure_mesh()
        .disable_x_mesh()
        .x_desc("elements")
        .y_desc("Gelem/s")
        .x_label_formatter(&|v| {
            sizes
                .get((v / 1000) as usize)
                .map_or(String::new(), |&n| human_elements(n))
        })
        .y_label_formatter(&|v| tick_label(*v))
        .y_labels(6)
        .label_style(font(TICK_PX))
        .axis_desc_style(font(AXIS_PX))
        .bold_line_style(BLACK.mix(0.15))
        .max_light_lines(0)
        .draw()?;
    let slot = 800 / present.len() as i32;
    // Bars, then ceiling ticks over them, then the values over both.
    let mut labels = Vec::new();
    for p in &panel.points {
        let Some(g) = sizes.iter().position(|&n| n == p.elements) else {
            continue;
        };
        let i = present
            .iter()
            .position(|&s| s == p.series)
            .expect("present");
        let x0 = g as i32 * 1000 + 100 + slot * i as i32;
        let x1 = x0 + slot * 9 / 10;
        let ceiling = Some(p.ceiling_gelem_s).filter(|v| v.is_finite() && *v > 0.0);
        if p.gelem_s.is_finite() && p.gelem_s > 0.0 {
            c.draw_series([Rectangle::new(
                [(x0, 0.0), (x1, p.gelem_s)],
                series_color(p.series).filled(),
            )])?;
            labels.push(((x0 + x1) / 2, p.gelem_s, ceiling));
        }
        if let Some(ceiling) = ceiling {
            c.draw_series([PathElement::new(
                vec![(x0, ceiling), (x1, ceiling)],
                BLACK.stroke_width(3),
            )])?;
        }
    }
    // Each value reads upwards from its bar's top, in white inside the bar
    // when it fits there (below the ceiling tick when that crosses the bar's
    // top), else in black above the bar (and above the tick when that would
    // cross the text).
    for (x, value, ceiling) in labels {
        let text = value_label(value);
        let length = text_width(&text, VALUE_PX) + 4;
        let top = c.backend_coord(&(x, value)).1;
        let bottom = c.backend_coord(&(x, 0.0)).1;
        let tick = ceiling.map(|v| c.backend_coord(&(x, v)).1);
        let vertical = |h| {
            font(VALUE_PX)
                .transform(FontTransform::Rotate270)
                .pos(Pos::new(h, VPos::Center))
        };
        let inside_start = match tick {
            Some(t) if t >= top && t - top < length + 4 => t + 5,
            _ => top + 4,
        };
        let (start, style) = if bottom - inside_start >= length {
            (inside_start, vertical(HPos::Right).color(&WHITE))
        } else {
            let above = match tick {
                Some(t) if t <= top && top - t < length + 4 => t - 5,
                _ => top - 4,
            };
            (above, vertical(HPos::Left))
        };
        c.draw_series([EmptyElement::at((x, value)) + Text::new(text, (0, start - top), style)])?;
    }
    Ok(())
}

/// A bar's value: 3 significant digits (4 from 1000 on).
fn value_label(v: f64) -> String {
    let decimals = match v {
        v if v >= 100.0 => 0,
        v if v >= 10.0 => 1,
        v if v >= 1.0 => 2,
        _ => 3,
    };
    format!("{v:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_and_values() {
        // Two decades: 1-2-5; a narrow range: denser; a wide one: decades.
        assert_eq!(
            log_ticks(0.9, 110.0).0,
            [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0]
        );
        assert_eq!(log_ticks(2.9, 6.2).0, [3.0, 4.0, 5.0, 6.0]);
        assert_eq!(log_ticks(2.5, 9.5).0, [3.0, 5.0, 7.0]);
        assert_eq!(
            log_ticks(0.05, 2000.0).0,
            [0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0]
        );
        assert_eq!(
            log_ticks(0.005, 2000.0).0,
            [0.01, 0.1, 1.0, 10.0, 100.0, 1000.0]
        );
        assert_eq!(value_label(12.345), "12.3");
        assert_eq!(value_label(0.08213), "0.082");
    }
}
