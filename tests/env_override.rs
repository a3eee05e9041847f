//! `RECTIFY_ISA` forcing, tested in subprocesses (the global engine is decided
//! once per process): the test binary re-runs itself with the variable set.

use std::process::Command;

use rectify::{Isa, Kernels};

const CHILD: &str = "RECTIFY_TEST_CHILD";

/// In a child: print the global engine's tier and exercise it. In the parent
/// (normal run): nothing, the other test drives it.
#[test]
fn child_reports_global_isa() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let mut x = [-1.0f32, 2.0, -0.0, f32::NAN];
    rectify::relu(&mut x);
    assert_eq!(x[0].to_bits(), 0);
    assert_eq!(x[2].to_bits(), 0x8000_0000);
    println!("GLOBAL_ISA={}", Kernels::global().isa());
}

/// Runs the child with `RECTIFY_ISA=value`; returns (isa it chose, stderr).
fn run_child(value: &str) -> Option<(Isa, String)> {
    let exe = std::env::current_exe().unwrap();
    let out = match Command::new(&exe)
        .args([
            "--exact",
            "child_reports_global_isa",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env("RECTIFY_ISA", value)
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            // E.g. a cross-compiled test binary under qemu-user without
            // binfmt_misc: the child cannot be started. Say so loudly.
            println!(
                "SKIPPED subprocess check for RECTIFY_ISA={value:?}: cannot start {exe:?}: {e}"
            );
            return None;
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "child failed for RECTIFY_ISA={value:?}:\n{stdout}\n{stderr}"
    );
    let line = stdout
        .lines()
        .find_map(|l| l.split("GLOBAL_ISA=").nth(1))
        .expect("child printed its ISA")
        .trim();
    Some((line.parse().unwrap(), stderr))
}

#[test]
fn rectify_isa_forces_available_tiers_and_never_crashes_on_bad_values() {
    let best = Isa::best();
    for isa in Isa::ALL {
        let Some((chosen, stderr)) = run_child(isa.name()) else {
            return;
        };
        if isa.is_available() {
            assert_eq!(chosen, isa, "forcing {isa}");
            assert!(
                !stderr.contains("rectify:"),
                "no warning for an available tier: {stderr}"
            );
        } else {
            assert_eq!(chosen, best, "unavailable {isa} falls back to detection");
            assert_eq!(
                stderr.matches("rectify: RECTIFY_ISA").count(),
                1,
                "one line: {stderr}"
            );
            assert!(stderr.contains("lacks"), "{stderr}");
        }
    }
    for bad in ["sse9", "AVX-2", "\u{1F600}"] {
        let Some((chosen, stderr)) = run_child(bad) else {
            return;
        };
        assert_eq!(chosen, best, "bad value {bad:?} falls back to detection");
        assert_eq!(
            stderr.matches("rectify: RECTIFY_ISA").count(),
            1,
            "one line: {stderr}"
        );
        assert!(stderr.contains("unknown ISA"), "{stderr}");
    }
    let Some((chosen, _)) = run_child("SCALAR") else {
        return;
    };
    assert_eq!(chosen, Isa::Scalar, "names are case-insensitive");
}
