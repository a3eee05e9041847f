//! What several modules' tests share: a synthetic report of this machine,
//! fresh temporary directories, and reading back SVG files.

use std::path::{Path, PathBuf};

use rectify::Activation;

use crate::machine::Machine;
use crate::ops::{Direction, Op};
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
