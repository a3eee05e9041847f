//! What several modules' tests share: a synthetic report of this machine,
//! fresh temporary directories, and reading back SVG files.

use std::path::{Path, PathBuf};

use rectify::Activation;

use crate::machine::{BuildInfo, Caches, Level, Machine};
use crate::ops::{ops, Direction, Op};
use crate::schema::{assemble, Bandwidth, Report, Row};
use crate::timing::{Plan, Run};

/// A report assembled from synthetic rows of this machine's chosen tier
/// (and of `scalar`), at two sizes and both modes.
pub(crate) fn synthetic_report() -> Report {
    let plan = Plan::new(Run::Quick);
    let machine = Machine::detect();
    let chosen = machine.isa_chosen.clone();
    // Another tier, whose rows compare must leave out.
    let other = if chosen == "scalar" {
        "portable"
    } else {
        "scalar"
    };
    let mut rows = Vec::new();
    for (op, dir) in [
        (Op::Act(Activation::Relu), Direction::Forward),
        (Op::named("maxout_k2"), Direction::Backward),
    ] {
        for n in [4096, 1 << 20] {
            for mode in ["serial", "parallel"] {
                for (isa, gelem) in [(other, 2.0), (chosen.as_str(), 8.0)] {
                    let gelem = gelem * if mode == "parallel" { 3.0 } else { 1.0 };
                    rows.push(Row {
                        op: op.name().into(),
                        params: op.params(n),
                        direction: dir.name().into(),
                        isa: isa.into(),
                        elements: n,
                        mode: mode.into(),
                        threads: 1,
                        bytes_per_call: op.bytes_per_element(dir) * n,
                        repetitions: 5,
                        calls_per_repetition: 100,
                        ns_per_call_median: n as f64 / gelem,
                        gelem_s_median: gelem,
                        gelem_s_min: gelem * 0.9,
                        gelem_s_max: gelem * 1.05,
                        gb_s_median: gelem * op.bytes_per_element(dir) as f64,
                        speedup_vs_scalar: gelem / 2.0,
                        bandwidth_class: "L1".into(),
                        bandwidth_gbps: 100.0,
                        fraction_of_bandwidth: 0.123456,
                        parallel_over_serial: None,
                    });
                }
            }
        }
    }
    let bandwidth = vec![Bandwidth {
        label: "L1".into(),
        bytes: 16 << 10,
        threads: 1,
        gbps_median: 100.0,
        gbps_min: 90.0,
        gbps_max: 105.0,
        gbps_median_standalone: 100.0,
        gbps_median_interleaved: None,
    }];
    assemble(&plan, machine, bandwidth, rows)
}

/// A serial row of `relu/forward` at 4096 elements on tier `isa`, with
/// median `median` Gelem/s and fastest repetition `fastest` Gelem/s.
pub(crate) fn row(isa: &str, median: f64, fastest: f64) -> Row {
    let op = Op::Act(Activation::Relu);
    Row {
        op: op.name().into(),
        params: op.params(4096),
        direction: "forward".into(),
        isa: isa.into(),
        elements: 4096,
        mode: "serial".into(),
        threads: 1,
        bytes_per_call: 8 * 4096,
        repetitions: 5,
        calls_per_repetition: 100,
        ns_per_call_median: 4096.0 / median,
        gelem_s_median: median,
        gelem_s_min: median * 0.9,
        gelem_s_max: fastest,
        gb_s_median: median * 8.0,
        speedup_vs_scalar: 1.0,
        bandwidth_class: "L1".into(),
        bandwidth_gbps: 100.0,
        fraction_of_bandwidth: median * 8.0 / 100.0,
        parallel_over_serial: None,
    }
}

/// A machine with fixed facts (not this one's), so that what is made from
/// its reports is the same on every host.
pub(crate) fn fixed_machine() -> Machine {
    Machine {
        cpu_model: "AMD EPYC".into(),
        vendor: Some("AuthenticAMD".into()),
        logical_cores: 2,
        rayon_threads: 2,
        caches: Caches {
            l1d: Some(32 << 10),
            l2: Some(1 << 20),
            l3: Some(32 << 20),
        },
        isas_available: ["scalar", "portable", "avx2", "avx512"]
            .map(String::from)
            .to_vec(),
        isa_chosen: "avx512".into(),
        rectify_isa_env: None,
    }
}

/// A default run's report of [`fixed_machine`]: every op and direction, the
/// default sizes, serial, four tiers (scalar and portable within the noise
/// of each other, avx2 and avx512 clearly faster), with a fixed build and
/// date.
pub(crate) fn synthetic_full_report() -> Report {
    let plan = Plan::new(Run::Default);
    let machine = fixed_machine();
    let tiers = [
        ("scalar", 2.0),
        ("portable", 2.04),
        ("avx2", 6.0),
        ("avx512", 10.0),
    ];
    let mut rows = Vec::new();
    for op in ops() {
        for &dir in op.directions() {
            for &n in &plan.sizes {
                let bytes = op.bytes_per_element(dir);
                let level = machine
                    .caches
                    .level_of(op.footprint_per_element(dir) * n, 1);
                let ceiling = match level {
                    Level::L1 => 200.0,
                    Level::L2 => 150.0,
                    Level::L3 => 100.0,
                    Level::Dram => 40.0,
                };
                for (isa, gelem) in tiers {
                    let gb_s = gelem * bytes as f64;
                    rows.push(Row {
                        op: op.name().into(),
                        params: op.params(n),
                        direction: dir.name().into(),
                        isa: isa.into(),
                        elements: n,
                        mode: "serial".into(),
                        threads: 1,
                        bytes_per_call: bytes * n,
                        repetitions: 9,
                        calls_per_repetition: 10,
                        ns_per_call_median: n as f64 / gelem,
                        gelem_s_median: gelem,
                        gelem_s_min: gelem * 0.95,
                        gelem_s_max: gelem * 1.01,
                        gb_s_median: gb_s,
                        speedup_vs_scalar: gelem / 2.0,
                        bandwidth_class: level.label().into(),
                        bandwidth_gbps: ceiling,
                        fraction_of_bandwidth: gb_s / ceiling,
                        parallel_over_serial: None,
                    });
                }
            }
        }
    }
    let bandwidth = [
        (Level::L1, 200.0),
        (Level::L2, 150.0),
        (Level::L3, 100.0),
        (Level::Dram, 40.0),
    ]
    .into_iter()
    .zip([16 << 10, 256 << 10, 4 << 20, 256 << 20])
    .map(|((level, gbps), bytes)| Bandwidth {
        label: level.label().into(),
        bytes,
        threads: 1,
        gbps_median: gbps,
        gbps_min: gbps * 0.9,
        gbps_max: gbps * 1.05,
        gbps_median_standalone: gbps,
        gbps_median_interleaved: Some(gbps),
    })
    .collect();
    let mut report = assemble(&plan, machine, bandwidth, rows);
    report.date = Some("2026-01-02".into());
    report.config.timer_overhead_ns = 20.0;
    report.build = BuildInfo {
        version: "0.1.0".into(),
        rustc: "rustc 1.95.0".into(),
        target: "x86_64-unknown-linux-gnu".into(),
        profile: "release".into(),
        opt_level: "3".into(),
        target_features: "fxsr,sse,sse2".into(),
    };
    report.crate_version = "0.1.0".into();
    report
}

/// A fresh directory under the system's temporary one.
pub(crate) fn temp_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!(
        "rectify-report-{name}-{}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Parses an SVG file: well-formed XML with an `<svg>` root. Returns
/// its texts, trimmed.
pub(crate) fn svg_texts(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("written");
    let doc = roxmltree::Document::parse(&text)
        .unwrap_or_else(|e| panic!("{} is not well-formed: {e}", path.display()));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg", "{}", path.display());
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    assert!(!text.contains("00000000"), "no float noise (font sizes)");
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .map(|t| t.trim().to_string())
        .collect()
}

/// Asserts that every one of `expected` is among `texts`.
pub(crate) fn assert_has(texts: &[String], expected: &[&str], file: &Path) {
    for e in expected {
        assert!(
            texts.iter().any(|t| t == e),
            "{}: no text {e:?} among {texts:?}",
            file.display()
        );
    }
}
