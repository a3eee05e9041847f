//! The saved report: its JSON schema, how a run's rows become a report
//! (parallel over serial, rounding, the summary) and how a saved one is read
//! back and checked.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::format::{sig4, utc_date};
use crate::machine::{BuildInfo, Machine};
use crate::ops::LEAKY_CALLS_BETWEEN_RESTORES;
use crate::timing::{Plan, Run};

/// The `schema` of the JSON report, and the version this build writes and
/// reads.
pub(crate) const SCHEMA: &str = "rectify-report";
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// The measurement settings, as saved.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Config {
    pub(crate) sizes: Vec<usize>,
    /// Repetitions per case (fewer when a batch is long, never below `min_repetitions`).
    pub(crate) repetitions: usize,
    pub(crate) min_repetitions: usize,
    /// Whether the run was `--quick` (kept beside `run` for the readers of
    /// reports written before it).
    pub(crate) quick: bool,
    /// The run: `quick`, `default` or `full` ([`Run::name`]); absent in
    /// reports written before it, see [`Config::run_name`].
    #[serde(default)]
    pub(crate) run: Option<String>,
    pub(crate) parallel_threshold: usize,
    pub(crate) target_batch_ms: f64,
    pub(crate) case_budget_ms: f64,
    pub(crate) timer_overhead_ns: f64,
    pub(crate) leaky_calls_between_restores: usize,
}

impl Config {
    /// The run's name: `run` when saved, else `quick` or `full` (the only
    /// runs there were before `run` was saved).
    pub(crate) fn run_name(&self) -> &str {
        match &self.run {
            Some(run) => run,
            None if self.quick => "quick",
            None => "full",
        }
    }
}

/// One bandwidth measurement.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Bandwidth {
    pub(crate) label: String,
    pub(crate) bytes: usize,
    pub(crate) threads: usize,
    pub(crate) gbps_median: f64,
    pub(crate) gbps_min: f64,
    pub(crate) gbps_max: f64,
    /// Median of the standalone pass at the start of the run.
    pub(crate) gbps_median_standalone: f64,
    /// Median of the probes interleaved with the kernels whose ceiling this
    /// level is (`null` when no kernel row uses it).
    pub(crate) gbps_median_interleaved: Option<f64>,
}

/// One measured kernel case.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Row {
    pub(crate) op: String,
    pub(crate) params: BTreeMap<String, f32>,
    pub(crate) direction: String,
    pub(crate) isa: String,
    pub(crate) elements: usize,
    /// `serial` or `parallel`.
    pub(crate) mode: String,
    /// Threads the call is split over (1 when not split).
    pub(crate) threads: usize,
    pub(crate) bytes_per_call: usize,
    pub(crate) repetitions: usize,
    pub(crate) calls_per_repetition: usize,
    pub(crate) ns_per_call_median: f64,
    pub(crate) gelem_s_median: f64,
    pub(crate) gelem_s_min: f64,
    pub(crate) gelem_s_max: f64,
    pub(crate) gb_s_median: f64,
    /// Median over rounds of scalar time / this tier's time (same group).
    pub(crate) speedup_vs_scalar: f64,
    /// The memory level the call's buffers fit in: `L1`, `L2`, `L3`, `DRAM`.
    pub(crate) bandwidth_class: String,
    /// Median GB/s of that level's probe, interleaved in the same group.
    pub(crate) bandwidth_gbps: f64,
    /// Median over rounds of this call's GB/s / the probe's GB/s.
    pub(crate) fraction_of_bandwidth: f64,
    /// Parallel over serial median Gelem/s, same tier (parallel rows only).
    pub(crate) parallel_over_serial: Option<f64>,
}

impl Row {
    /// The case the row measures, whatever the tier and mode: op, direction
    /// and size.
    pub(crate) fn case(&self) -> (&str, &str, usize) {
        (&self.op, &self.direction, self.elements)
    }
}

/// The best serial tier for one op, direction and size.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Summary {
    pub(crate) op: String,
    pub(crate) direction: String,
    pub(crate) elements: usize,
    pub(crate) best_serial_isa: String,
    pub(crate) gelem_s: f64,
    pub(crate) gb_s: f64,
    pub(crate) speedup_vs_scalar: f64,
    pub(crate) bandwidth_class: String,
    pub(crate) fraction_of_bandwidth: f64,
    pub(crate) parallel_gelem_s: Option<f64>,
}

/// The whole report, as saved (and as read back by `compare`).
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Report {
    pub(crate) schema: String,
    pub(crate) schema_version: u32,
    pub(crate) crate_version: String,
    /// The day of the run (when its measurements ended), UTC,
    /// `YYYY-MM-DD`; absent in reports written before it was saved.
    #[serde(default)]
    pub(crate) date: Option<String>,
    pub(crate) build: BuildInfo,
    pub(crate) machine: Machine,
    pub(crate) config: Config,
    pub(crate) bandwidth: Vec<Bandwidth>,
    pub(crate) results: Vec<Row>,
    pub(crate) summary: Vec<Summary>,
}

/// Fills the column that compares groups: parallel over serial (same tier,
/// op, direction and size), a ratio of medians since the two modes are
/// measured in different groups.
fn compare(rows: &mut [Row]) {
    let gelem_of = |rows: &[Row], r: &Row, isa: &str, mode: &str| {
        rows.iter()
            .find(|o| o.case() == r.case() && o.isa == isa && o.mode == mode)
            .map(|o| o.gelem_s_median)
    };
    for i in 0..rows.len() {
        let r = &rows[i];
        let par_over_ser = (r.mode == "parallel")
            .then(|| gelem_of(rows, r, &r.isa, "serial"))
            .flatten()
            .map(|s| r.gelem_s_median / s);
        rows[i].parallel_over_serial = par_over_ser;
    }
}

/// Rounds a row's numbers to 4 significant digits for the JSON.
fn round_row(r: &mut Row) {
    for v in [
        &mut r.ns_per_call_median,
        &mut r.gelem_s_median,
        &mut r.gelem_s_min,
        &mut r.gelem_s_max,
        &mut r.gb_s_median,
        &mut r.bandwidth_gbps,
        &mut r.fraction_of_bandwidth,
    ] {
        *v = sig4(*v);
    }
    r.speedup_vs_scalar = sig4(r.speedup_vs_scalar);
    r.parallel_over_serial = r.parallel_over_serial.map(sig4);
}

/// The best serial tier per op, direction and size.
fn summarize(rows: &[Row]) -> Vec<Summary> {
    let mut out: Vec<Summary> = Vec::new();
    for r in rows.iter().filter(|r| r.mode == "serial") {
        let seen = out
            .iter()
            .any(|s| (&*s.op, &*s.direction, s.elements) == r.case());
        if seen {
            continue;
        }
        let best = rows
            .iter()
            .filter(|o| o.mode == "serial" && o.case() == r.case())
            .max_by(|a, b| a.gelem_s_median.total_cmp(&b.gelem_s_median))
            .expect("r itself");
        let parallel = rows
            .iter()
            .find(|o| o.mode == "parallel" && o.isa == best.isa && o.case() == r.case());
        out.push(Summary {
            op: best.op.clone(),
            direction: best.direction.clone(),
            elements: best.elements,
            best_serial_isa: best.isa.clone(),
            gelem_s: best.gelem_s_median,
            gb_s: best.gb_s_median,
            speedup_vs_scalar: best.speedup_vs_scalar,
            bandwidth_class: best.bandwidth_class.clone(),
            fraction_of_bandwidth: best.fraction_of_bandwidth,
            parallel_gelem_s: parallel.map(|p| p.gelem_s_median),
        });
    }
    out
}

/// The report of a run: the measured rows completed (`par/ser`), rounded
/// and summarised, with the machine, build and settings.
pub(crate) fn assemble(
    plan: &Plan,
    machine: Machine,
    bandwidth: Vec<Bandwidth>,
    mut rows: Vec<Row>,
) -> Report {
    compare(&mut rows);
    rows.iter_mut().for_each(round_row);
    let summary = summarize(&rows);
    Report {
        schema: SCHEMA.into(),
        schema_version: SCHEMA_VERSION,
        crate_version: rectify::build::VERSION.into(),
        date: Some(utc_date(std::time::SystemTime::now())),
        build: BuildInfo::get(),
        config: Config {
            sizes: plan.sizes.clone(),
            repetitions: plan.max_reps,
            min_repetitions: plan.min_reps,
            quick: plan.run == Run::Quick,
            run: Some(plan.run.name().into()),
            parallel_threshold: rectify::DEFAULT_PARALLEL_THRESHOLD,
            target_batch_ms: plan.target_batch_s * 1e3,
            case_budget_ms: plan.case_budget_s * 1e3,
            timer_overhead_ns: sig4(plan.timer_overhead_s * 1e9),
            leaky_calls_between_restores: LEAKY_CALLS_BETWEEN_RESTORES,
        },
        machine,
        bandwidth,
        results: rows,
        summary,
    }
}

/// Reads one saved report and checks it (see [`parse_report`]); the error
/// names the file.
pub(crate) fn load_report(path: &Path) -> Result<Report, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse_report(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Parses a report's JSON: it must be JSON, its `schema` must be
/// [`SCHEMA`] and its `schema_version` [`SCHEMA_VERSION`], and it must have
/// every field this build writes. The error is one line.
pub(crate) fn parse_report(text: &str) -> Result<Report, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not valid JSON ({e})"))?;
    match value.get("schema") {
        Some(serde_json::Value::String(schema)) if schema == SCHEMA => {}
        Some(other) => {
            return Err(format!(
                "not a rectify report (schema {other}, expected \"{SCHEMA}\")"
            ))
        }
        None => {
            return Err(format!(
                "not a rectify report (no \"schema\": \"{SCHEMA}\")"
            ))
        }
    }
    match value.get("schema_version") {
        Some(v) if v.as_u64() == Some(SCHEMA_VERSION.into()) => {}
        Some(v) => {
            return Err(format!(
            "rectify report of schema_version {v}; this build reads version {SCHEMA_VERSION} only"
        ))
        }
        None => return Err("rectify report without a schema_version".into()),
    }
    serde_json::from_value(value).map_err(|e| format!("invalid rectify report ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::synthetic_report;

    #[test]
    fn compare_refuses_other_files() {
        let mut value = serde_json::to_value(synthetic_report()).expect("serializes");
        value["schema_version"] = 2.into();
        assert_eq!(
            parse_report(&value.to_string()).err().as_deref(),
            Some("rectify report of schema_version 2; this build reads version 1 only")
        );
        assert_eq!(
            parse_report(r#"{"a":1}"#).err().as_deref(),
            Some(r#"not a rectify report (no "schema": "rectify-report")"#)
        );
        assert_eq!(
            parse_report(r#"{"schema":"other","schema_version":1}"#)
                .err()
                .as_deref(),
            Some(r#"not a rectify report (schema "other", expected "rectify-report")"#)
        );
        let invalid = parse_report("{").expect_err("refused");
        assert!(invalid.starts_with("not valid JSON ("), "{invalid}");
        let incomplete = parse_report(r#"{"schema":"rectify-report","schema_version":1}"#);
        let incomplete = incomplete.expect_err("refused");
        assert!(
            incomplete.starts_with("invalid rectify report (missing field"),
            "{incomplete}"
        );
        let unreadable = load_report(Path::new("/nonexistent/r.json")).expect_err("refused");
        assert!(
            unreadable.starts_with("cannot read /nonexistent/r.json: "),
            "{unreadable}"
        );
    }
}
