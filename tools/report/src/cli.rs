//! The command line: what to run and with which options.

use std::path::PathBuf;

use crate::ops::{ops, Op};
use crate::timing::Run;

/// Usage text for `--help` and for argument errors.
pub(crate) const USAGE: &str = "\
usage: cargo run --release -p rectify-report -- [--quick | --full] [--only OPS] [--out DIR] [--svg FILE] [--save]
       cargo run --release -p rectify-report -- docs [--reports DIR] [--out FILE]
       cargo run --release -p rectify-report -- show FILE [--full]
       cargo run --release -p rectify-report -- compare A.json B.json [C.json ...] [--svg FILE]
       cargo run --release -p rectify-report -- plot [FILE]

Measures rectify's kernels on this CPU (every op, direction and available
ISA) against the in-place memory bandwidth, prints a summary (per op and
direction, the fastest ISA on one thread at an L1, an L2 and a DRAM size:
Gelem/s, speedup over scalar, fraction of the bandwidth) and writes the
report as JSON to DIR/<cpu-model>-<isa>.json. Progress, with an estimate of
the time left, goes to stderr. The default run takes about a minute on two
cores.

docs writes the performance page (default: the repository's
docs/performance.md) from the reports in DIR (default: the repository's
reports/), one per machine class: the newest of each.

show prints a saved report as the run printed it (--full: every table).

compare prints saved reports side by side, each at its chosen ISA: per op,
direction, size and mode, Gelem/s, the ratio to the first report (~ when
within the noise) and the fraction of the report's own bandwidth; it warns
when the builds differ and refuses files that are not rectify reports of
schema_version 1.

plot draws every activation and its derivative on [-4, 4], computed by
rectify's kernels, to FILE (default: the repository's docs/activations.svg).

options of a measuring run:
  --quick      sizes 4096, 64 Ki and 1 Mi, serial and parallel, few
               repetitions (seconds; what CI runs)
  --full       sizes 4096, 64 Ki, 1 Mi and 16 Mi, serial and parallel, many
               repetitions (minutes); prints every table, then the summary
  --only OPS   measure only these ops, comma-separated (relu, leaky_relu,
               elu, celu, selu, prelu_nchw, prelu_nhwc, prelu_nchw_8x8,
               prelu_nchw_2x2, prelu_rows8, maxout_k2, maxout_k3, maxout_k4,
               maxout_k2_nchw);
               the bandwidth is measured anyway
  --out DIR    directory for the JSON file (default: $CARGO_TARGET_DIR/
               rectify-report when CARGO_TARGET_DIR is set, else the
               repository's target/rectify-report)
  --svg FILE   also draw charts (measuring or compare): FILE, per op and
               direction, serial Gelem/s against size (both axes log) with
               one line per ISA (compare: per report, at its chosen ISA) and
               the bandwidth ceiling dashed; FILE with -bars before the
               extension (report.svg -> report-bars.svg), the same as
               grouped bars per size
  --save       also copy the JSON to the repository's
               reports/<machine-class>.json (e.g. amd-epyc-avx512.json),
               the file docs reads; not with --quick or --only
  -h, --help   print this help
";

/// What the command line asks for.
pub(crate) enum Command {
    /// Print the usage.
    Help,
    /// Measure this CPU and write its report.
    Measure(Options),
    /// Compare saved reports (at least two), the first as the reference,
    /// and draw the comparison to `svg` if given.
    Compare {
        paths: Vec<PathBuf>,
        svg: Option<PathBuf>,
    },
    /// Draw the activations and their derivatives to `out`, or to
    /// [`plot::default_path`](crate::plot::default_path).
    Plot { out: Option<PathBuf> },
    /// Write the performance page from the published reports (defaults:
    /// [`paths::reports_dir`](crate::paths::reports_dir) and
    /// [`paths::performance_doc`](crate::paths::performance_doc)).
    Docs {
        reports: Option<PathBuf>,
        out: Option<PathBuf>,
    },
    /// Print a saved report, the summary or (`full`) every table.
    Show { path: PathBuf, full: bool },
}

/// Options of a measuring run.
pub(crate) struct Options {
    /// `--quick`, `--full` or neither.
    pub(crate) run: Run,
    /// The ops to measure (`--only`); all of [`ops`] when empty.
    pub(crate) only: Vec<Op>,
    /// The directory of the JSON file (`--out`); when `None`,
    /// [`paths::default_out_dir`](crate::paths::default_out_dir).
    pub(crate) out: Option<PathBuf>,
    /// Where to draw the charts (`--svg`), if anywhere.
    pub(crate) svg: Option<PathBuf>,
    /// `--save`: publish the JSON to `reports/<machine-class>.json`.
    pub(crate) save: bool,
}

/// The value of option `name` (`--name VALUE` or `--name=VALUE`) if `arg`
/// is that option (`Some(Err)` when the value is missing or empty, the
/// message naming `what`), taking `VALUE` from `rest`.
fn value_option(
    name: &str,
    what: &str,
    arg: &str,
    rest: &mut impl Iterator<Item = String>,
) -> Option<Result<String, String>> {
    let value = if arg == name {
        rest.next()
    } else {
        Some(arg.strip_prefix(name)?.strip_prefix('=')?.to_string())
    };
    Some(match value {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(format!("{name} needs {what}")),
    })
}

/// The ops named in `--only`'s comma-separated list.
fn only_ops(list: &str) -> Result<Vec<Op>, String> {
    list.split(',')
        .map(|name| {
            ops()
                .into_iter()
                .find(|op| op.name() == name)
                .ok_or_else(|| format!("--only: no op named {name:?}"))
        })
        .collect()
}

/// Parses the arguments of `docs`.
fn parse_docs(mut args: impl Iterator<Item = String>) -> Result<Command, String> {
    let (mut reports, mut out) = (None, None);
    while let Some(arg) = args.next() {
        if let Some(dir) = value_option("--reports", "a directory", &arg, &mut args) {
            reports = Some(PathBuf::from(dir?));
        } else if let Some(file) = value_option("--out", "a file", &arg, &mut args) {
            out = Some(PathBuf::from(file?));
        } else if arg == "-h" || arg == "--help" {
            return Ok(Command::Help);
        } else {
            return Err(format!("docs: unknown argument {arg:?}"));
        }
    }
    Ok(Command::Docs { reports, out })
}

/// Parses the arguments of `show`.
fn parse_show(args: impl Iterator<Item = String>) -> Result<Command, String> {
    let (mut path, mut full) = (None, false);
    for arg in args {
        match arg.as_str() {
            "--full" => full = true,
            "-h" | "--help" => return Ok(Command::Help),
            _ if arg.starts_with('-') => return Err(format!("show: unknown argument {arg:?}")),
            _ if path.is_some() => return Err("show takes one file".into()),
            _ => path = Some(PathBuf::from(arg)),
        }
    }
    let path = path.ok_or("show needs a report file")?;
    Ok(Command::Show { path, full })
}

/// Parses the arguments of a measuring run.
fn parse_measure(mut args: impl Iterator<Item = String>) -> Result<Command, String> {
    let mut options = Options {
        run: Run::Default,
        only: Vec::new(),
        out: None,
        svg: None,
        save: false,
    };
    let (mut quick, mut full) = (false, false);
    while let Some(arg) = args.next() {
        if let Some(file) = value_option("--svg", "a file", &arg, &mut args) {
            options.svg = Some(PathBuf::from(file?));
        } else if let Some(dir) = value_option("--out", "a directory", &arg, &mut args) {
            options.out = Some(PathBuf::from(dir?));
        } else if let Some(names) = value_option("--only", "op names", &arg, &mut args) {
            options.only = only_ops(&names?)?;
        } else {
            match arg.as_str() {
                "--quick" => quick = true,
                "--full" => full = true,
                "--save" => options.save = true,
                "-h" | "--help" => return Ok(Command::Help),
                _ => return Err(format!("unknown argument {arg:?}")),
            }
        }
    }
    options.run = match (quick, full) {
        (true, true) => return Err("--quick and --full exclude each other".into()),
        (true, false) => Run::Quick,
        (false, true) => Run::Full,
        (false, false) => Run::Default,
    };
    if options.save && (quick || !options.only.is_empty()) {
        return Err(
            "--save publishes a complete report: not with --quick (too few repetitions) or --only"
                .into(),
        );
    }
    Ok(Command::Measure(options))
}

/// Parses the arguments (after the program name).
pub(crate) fn parse_args(args: impl Iterator<Item = String>) -> Result<Command, String> {
    let mut args = args.peekable();
    if args.next_if(|a| a == "plot").is_some() {
        let mut out = None;
        for arg in args {
            match arg.as_str() {
                "-h" | "--help" => return Ok(Command::Help),
                _ if arg.starts_with('-') => return Err(format!("unknown argument {arg:?}")),
                _ if out.is_some() => return Err("plot takes one file".into()),
                _ => out = Some(PathBuf::from(arg)),
            }
        }
        return Ok(Command::Plot { out });
    }
    if args.next_if(|a| a == "docs").is_some() {
        return parse_docs(args);
    }
    if args.next_if(|a| a == "show").is_some() {
        return parse_show(args);
    }
    if args.next_if(|a| a == "compare").is_some() {
        let mut paths = Vec::new();
        let mut svg = None;
        while let Some(arg) = args.next() {
            if let Some(file) = value_option("--svg", "a file", &arg, &mut args) {
                svg = Some(PathBuf::from(file?));
                continue;
            }
            match arg.as_str() {
                "-h" | "--help" => return Ok(Command::Help),
                _ if arg.starts_with('-') => return Err(format!("unknown argument {arg:?}")),
                _ => paths.push(PathBuf::from(arg)),
            }
        }
        if paths.len() < 2 {
            return Err("compare needs at least two report files".into());
        }
        return Ok(Command::Compare { paths, svg });
    }
    parse_measure(args)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn arguments_parse() {
        let args = |a: &[&str]| parse_args(a.iter().map(|s| s.to_string()));
        assert!(matches!(
            args(&["compare", "a", "b"]),
            Ok(Command::Compare { paths, svg: None }) if paths.len() == 2
        ));
        assert!(matches!(
            args(&["compare", "a", "--svg", "c.svg", "b"]),
            Ok(Command::Compare { paths, svg: Some(svg) }) if paths.len() == 2 && svg == Path::new("c.svg")
        ));
        assert!(args(&["compare", "a", "b", "--svg"]).is_err());
        assert!(matches!(
            args(&["--svg=r.svg", "--quick"]),
            Ok(Command::Measure(o)) if o.run == Run::Quick && o.svg.as_deref() == Some(Path::new("r.svg"))
        ));
        assert!(args(&["--svg="]).is_err());
        assert!(args(&["compare", "a"]).is_err());
        assert!(matches!(args(&["--quick"]), Ok(Command::Measure(o)) if o.run == Run::Quick));
        assert!(matches!(
            args(&["--only", "relu,prelu_nhwc"]),
            Ok(Command::Measure(o)) if o.only.iter().map(|op| op.name()).eq(["relu", "prelu_nhwc"])
        ));
        assert!(matches!(
            args(&["--only=maxout_k2"]),
            Ok(Command::Measure(o)) if o.only.len() == 1 && o.only[0].name() == "maxout_k2"
        ));
        assert!(args(&["--only"]).is_err());
        assert!(args(&["--only", "relu,nope"]).is_err());
        assert!(matches!(args(&["plot"]), Ok(Command::Plot { out: None })));
        assert!(matches!(
            args(&["plot", "a.svg"]),
            Ok(Command::Plot { out: Some(out) }) if out == Path::new("a.svg")
        ));
        assert!(args(&["plot", "a.svg", "b.svg"]).is_err());
        assert!(args(&["plot", "--quick"]).is_err());
    }

    #[test]
    fn runs_docs_show_and_save_parse() {
        let args = |a: &[&str]| parse_args(a.iter().map(|s| s.to_string()));
        assert!(matches!(
            args(&[]),
            Ok(Command::Measure(o)) if o.run == Run::Default && o.out.is_none() && !o.save
        ));
        assert!(matches!(
            args(&["--full", "--save", "--out=d"]),
            Ok(Command::Measure(o)) if o.run == Run::Full && o.save && o.out.as_deref() == Some(Path::new("d"))
        ));
        assert!(args(&["--quick", "--full"]).is_err());
        assert!(args(&["--quick", "--save"]).is_err());
        assert!(args(&["--only", "relu", "--save"]).is_err());
        assert!(args(&["--out"]).is_err());
        assert!(matches!(
            args(&["docs"]),
            Ok(Command::Docs {
                reports: None,
                out: None
            })
        ));
        assert!(matches!(
            args(&["docs", "--reports", "r", "--out=p.md"]),
            Ok(Command::Docs { reports: Some(r), out: Some(o) })
                if r == Path::new("r") && o == Path::new("p.md")
        ));
        assert!(args(&["docs", "extra"]).is_err());
        assert!(matches!(
            args(&["show", "a.json", "--full"]),
            Ok(Command::Show { path, full: true }) if path == Path::new("a.json")
        ));
        assert!(args(&["show"]).is_err());
        assert!(args(&["show", "a", "b"]).is_err());
    }
}
