//! The charts' look and header: palette, fonts, text widths, the legend
//! and the header drawn above the panels.

use plotters::coord::Shift;
use plotters::prelude::{
    Circle, Color, DrawingArea, FontStyle, IntoFont, PathElement, RGBColor, Rectangle, SVGBackend,
    Text, TextStyle, BLACK,
};
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::format::sig4;

/// What a drawing step returns: plotters' errors, boxed.
pub(crate) type DrawResult = Result<(), Box<dyn std::error::Error>>;
/// A part of an SVG drawing: the header, or one panel's cell.
pub(crate) type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// Width and height of one panel, pixels.
pub(crate) const PANEL_SIZE: (u32, u32) = (520, 340);
/// Margin around the header's text and legend, pixels.
pub(crate) const HEADER_MARGIN: i32 = 16;

/// The series' colours (Tableau 10), repeated past ten.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Series `i`'s colour in [`PALETTE`].
pub(crate) fn series_color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// A sans-serif style whose SVG `font-size` is `px` (plotters writes its
/// size divided by 1.24).
pub(crate) fn font(px: f64) -> TextStyle<'static> {
    font_styled(px, FontStyle::Normal)
}

/// [`font`] in `style` (bold, italic).
fn font_styled(px: f64, style: FontStyle) -> TextStyle<'static> {
    ("sans-serif", px * 1.24, style).into_font().color(&BLACK)
}

/// A rough width of `text` at `px` pixels (an average sans-serif glyph is
/// about 0.55 em wide, DejaVu Sans 0.6; this errs wide): enough to lay
/// the header out.
pub(crate) fn text_width(text: &str, px: f64) -> i32 {
    (text.chars().count() as f64 * px * 0.6).ceil() as i32
}

/// A tick label: at most 4 significant digits, no trailing zeros.
pub(crate) fn tick_label(v: f64) -> String {
    format!("{}", sig4(v))
}

/// What a legend entry shows next to its label.
#[derive(Clone, Copy)]
pub(crate) enum Swatch {
    /// A series' line with a dot.
    Line(RGBColor),
    /// A dashed ceiling line.
    Dashed(RGBColor),
    /// A series' bar.
    Bar(RGBColor),
    /// The black ceiling tick of the bars.
    Tick,
}

/// Pixels of a legend entry's swatch, and the gap after an entry.
const SWATCH_WIDTH: i32 = 34;
const LEGEND_GAP: i32 = 28;
/// Font sizes, pixels: header title and text, panel titles, axis
/// descriptions, tick labels, bar values. (Each is one whose product by
/// 1.24 divides back exactly, so the SVG says `font-size="14"`, not
/// `13.000000000000002`.)
pub(crate) const TITLE_PX: f64 = 22.0;
pub(crate) const TEXT_PX: f64 = 16.0;
pub(crate) const PANEL_TITLE_PX: f64 = 18.0;
pub(crate) const AXIS_PX: f64 = 14.0;
pub(crate) const TICK_PX: f64 = 14.0;
pub(crate) const VALUE_PX: f64 = 12.0;
/// Height of a legend line and of a header text line, and of a title line.
pub(crate) const LINE_HEIGHT: i32 = 24;
pub(crate) const TITLE_LINE_HEIGHT: i32 = 30;
/// A bold glyph is about this much wider than a regular one.
pub(crate) const BOLD_WIDTH: f64 = 1.1;

/// The legend laid out in lines no wider than `width`: per line, the
/// entries and their x.
pub(crate) fn legend_lines(
    entries: &[(Swatch, String)],
    width: i32,
) -> Vec<Vec<(i32, Swatch, &str)>> {
    let mut lines: Vec<Vec<(i32, Swatch, &str)>> = vec![Vec::new()];
    let mut x = HEADER_MARGIN;
    for (swatch, label) in entries {
        let w = SWATCH_WIDTH + 8 + text_width(label, TEXT_PX);
        let line = lines.last_mut().expect("a line");
        if !line.is_empty() && x + w > width - HEADER_MARGIN {
            lines.push(Vec::new());
            x = HEADER_MARGIN;
        }
        lines.last_mut().expect("a line").push((x, *swatch, label));
        x += w + LEGEND_GAP;
    }
    lines
}

/// `text` broken at spaces into lines of at most `width` pixels (about:
/// see [`text_width`]) at `px` pixels; a word longer than a line gets a
/// line of its own.
pub(crate) fn wrap(text: &str, px: f64, width: i32) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split(' ') {
        match lines.last_mut() {
            Some(line) if text_width(&format!("{line} {word}"), px) <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

/// Draws the header: title and notes (one line each), legend.
pub(crate) fn draw_header(
    area: &Area<'_>,
    title: &[String],
    notes: &[String],
    legend: &[Vec<(i32, Swatch, &str)>],
) -> DrawResult {
    let mut y = HEADER_MARGIN;
    for line in title {
        area.draw(&Text::new(
            line.clone(),
            (HEADER_MARGIN, y),
            font_styled(TITLE_PX, FontStyle::Bold),
        ))?;
        y += TITLE_LINE_HEIGHT;
    }
    y += 8;
    for note in notes {
        area.draw(&Text::new(note.clone(), (HEADER_MARGIN, y), font(TEXT_PX)))?;
        y += LINE_HEIGHT;
    }
    y += 6;
    for line in legend {
        let mid = y + LINE_HEIGHT / 2 - 3;
        for &(x, swatch, label) in line {
            let end = x + SWATCH_WIDTH;
            match swatch {
                Swatch::Line(c) => {
                    area.draw(&PathElement::new(
                        vec![(x, mid), (end, mid)],
                        c.stroke_width(3),
                    ))?;
                    area.draw(&Circle::new((x + SWATCH_WIDTH / 2, mid), 4, c.filled()))?;
                }
                Swatch::Dashed(c) => {
                    for i in 0..3 {
                        let x0 = x + i * 13;
                        area.draw(&PathElement::new(
                            vec![(x0, mid), (x0 + 8, mid)],
                            c.stroke_width(2),
                        ))?;
                    }
                }
                Swatch::Bar(c) => {
                    area.draw(&Rectangle::new(
                        [(x + 6, mid - 8), (end - 6, mid + 8)],
                        c.filled(),
                    ))?;
                }
                Swatch::Tick => {
                    area.draw(&PathElement::new(
                        vec![(x + 4, mid), (end - 4, mid)],
                        BLACK.stroke_width(3),
                    ))?;
                }
            }
            area.draw(&Text::new(
                label.to_string(),
                (end + 8, mid),
                font(TEXT_PX).pos(Pos::new(HPos::Left, VPos::Center)),
            ))?;
        }
        y += LINE_HEIGHT;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_and_labels() {
        assert_eq!(wrap("ab cd ef", 10.0, 30), ["ab cd", "ef"]);
        assert_eq!(wrap("abcdefgh ij", 10.0, 30), ["abcdefgh", "ij"]);
        assert_eq!(tick_label(0.30000000000000004), "0.3");
    }
}
