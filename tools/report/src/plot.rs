//! `plot`: every activation and its derivative, drawn from rectify's kernels
//!
//! ```text
//! cargo run --release -p rectify-report -- plot            # writes docs/activations.svg
//! cargo run --release -p rectify-report -- plot OUT.svg    # somewhere else
//! ```
//!
//! One panel per activation on [-4, 4] with default parameters: the forward
//! pass (solid) and the derivative (dashed), both computed by the library's
//! own kernels on the detected tier (the derivative is the backward pass from
//! the input with an incoming gradient of 1). The file depends only on the
//! values, so regenerating it gives the same bytes. Maxout is not drawn: it
//! takes `k` inputs per output, not one.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use plotters::prelude::*;
use rectify::{Activation, ChannelLayout, Kernels, Saved};

/// Samples on [-4, 4].
const SAMPLES: usize = 801;

/// One panel: a name and the forward and derivative values at `xs`.
struct Curve {
    name: String,
    y: Vec<f32>,
    dy: Vec<f32>,
}

/// The sample points: [`SAMPLES`] evenly spaced on [-4, 4].
fn xs() -> Vec<f32> {
    (0..SAMPLES)
        .map(|i| -4.0 + 8.0 * i as f32 / (SAMPLES - 1) as f32)
        .collect()
}

/// Every activation the registry says to measure, then PReLU and Maxout.
fn curves(k: &Kernels) -> Result<Vec<Curve>, rectify::Error> {
    let x = xs();
    let ones = vec![1.0f32; x.len()];
    let mut out = Vec::new();
    for act in Activation::measured() {
        let mut y = vec![0.0; x.len()];
        k.forward_into(act, &x, &mut y)?;
        let mut dy = vec![0.0; x.len()];
        k.backward_into(act, Saved::Input(&x), &ones, &mut dy)?;
        out.push(Curve {
            name: act.to_string(),
            y,
            dy,
        });
    }
    // PReLU with PyTorch's initial slope, one channel.
    let w = [0.25f32];
    let layout = ChannelLayout::nchw(1, 1, 1, x.len())?;
    let mut y = vec![0.0; x.len()];
    k.prelu_into(&x, &w, layout, &mut y)?;
    let mut dy = vec![0.0; x.len()];
    k.prelu_backward_into(Saved::Input(&x), &w, layout, &ones, &mut dy, None)?;
    out.push(Curve {
        name: "prelu(w=0.25)".to_string(),
        y,
        dy,
    });
    Ok(out)
}

/// Draws the panels into an SVG file.
fn draw(curves: &[Curve], path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let x = xs();
    let root = SVGBackend::new(path, (1500, 900)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(
        "rectify activations on [-4, 4]: f(x) solid, f'(x) dashed",
        ("sans-serif", 26),
    )?;
    let cols = 3;
    let rows = curves.len().div_ceil(cols);
    for (area, curve) in root.split_evenly((rows, cols)).iter().zip(curves) {
        let lo = curve
            .y
            .iter()
            .chain(&curve.dy)
            .fold(f32::MAX, |a, &b| a.min(b));
        let hi = curve
            .y
            .iter()
            .chain(&curve.dy)
            .fold(f32::MIN, |a, &b| a.max(b));
        let pad = 0.05 * (hi - lo);
        let mut chart = ChartBuilder::on(area)
            .caption(&curve.name, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(44)
            .build_cartesian_2d(-4.0f32..4.0f32, (lo - pad)..(hi + pad))?;
        chart
            .configure_mesh()
            .x_desc("x")
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 16))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        let line = |v: &[f32]| x.iter().copied().zip(v.iter().copied()).collect::<Vec<_>>();
        chart
            .draw_series(LineSeries::new(line(&curve.y), BLUE.stroke_width(3)))?
            .label("f(x)")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE.stroke_width(3)));
        chart
            .draw_series(DashedLineSeries::new(
                line(&curve.dy),
                8,
                6,
                RED.stroke_width(2),
            ))?
            .label("f'(x)")
            .legend(|(x, y)| {
                // Dashed in the legend too: two short strokes.
                EmptyElement::at((x, y))
                    + PathElement::new([(0, 0), (8, 0)], RED.stroke_width(2))
                    + PathElement::new([(12, 0), (20, 0)], RED.stroke_width(2))
            });
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(("sans-serif", 15))
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK.mix(0.3))
            .draw()?;
    }
    root.present()?;
    Ok(())
}

/// The file `plot` writes by default: `docs/activations.svg` at the
/// repository's root (two levels above this crate), whatever directory the
/// program runs in, since the README shows that file.
pub(crate) fn default_path() -> PathBuf {
    crate::paths::workspace_root()
        .join("docs")
        .join("activations.svg")
}

/// Draws the curves of the detected tier to `out` (or [`default_path`]) and
/// prints the file written; exit code 1, with a one-line message, when it
/// cannot.
pub(crate) fn run(out: Option<&Path>) -> ExitCode {
    let path = out.map_or_else(default_path, Path::to_path_buf);
    let k = Kernels::from_env();
    match curves(k)
        .map_err(|e| e.into())
        .and_then(|c| draw(&c, &path))
    {
        Ok(()) => {
            println!("wrote {} ({} tier)", path.display(), k.isa());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("report: cannot draw {}: {e}", path.display());
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plot is well-formed SVG, names every activation, and the same
    /// twice (deterministic).
    #[test]
    fn plot_is_well_formed_and_deterministic() {
        let dir = std::env::temp_dir().join(format!("rectify-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let k = Kernels::new(rectify::Isa::best()).unwrap();
        let c = curves(&k).unwrap();
        let (a, b) = (dir.join("a.svg"), dir.join("b.svg"));
        draw(&c, &a).unwrap();
        draw(&c, &b).unwrap();
        let text = std::fs::read_to_string(&a).unwrap();
        assert_eq!(text, std::fs::read_to_string(&b).unwrap());
        let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        for name in ["relu", "leaky_relu", "elu", "celu", "selu", "prelu"] {
            assert!(text.contains(name), "{name} missing");
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    /// The default file is the one the README shows, at the repository's
    /// root.
    #[test]
    fn default_path_is_the_readmes_figure() {
        let path = default_path();
        assert!(path.ends_with("docs/activations.svg"), "{}", path.display());
        let root = path.parent().and_then(Path::parent).expect("a root");
        assert!(root.join("README.md").is_file(), "{}", root.display());
        assert!(root.join("tools/report/Cargo.toml").is_file());
    }

    /// The curves are the kernels' values: spot checks.
    #[test]
    fn curves_come_from_the_kernels() {
        let c = curves(&Kernels::new(rectify::Isa::best()).unwrap()).unwrap();
        let x = xs();
        let at = |v: f32| x.iter().position(|&t| t == v).unwrap();
        assert_eq!(c[0].y[at(-1.0)], 0.0); // relu
        assert_eq!(c[0].dy[at(2.0)], 1.0);
        assert_eq!(c[5].y[at(-4.0)], -1.0); // prelu, w = 0.25
        assert_eq!(c[5].dy[at(-4.0)], 0.25);
    }
}
