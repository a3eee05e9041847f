//! `RECTIFY_ISA` forcing, tested in subprocesses (the global engine is decided
//! once per process): the test binary re-runs itself with the variable set.

use std::process::Command;

use rectify::{Activation, Isa, Kernels};

const CHILD: &str = "RECTIFY_TEST_CHILD";

/// In a child: exercise the global engine and print its tier. In a normal run
/// it does nothing; the other test drives it.
#[test]
fn child_reports_global_isa() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let mut x = [-1.0f32, 2.0, -0.0, f32::NAN];
    Kernels::from_env()
        .forward(Activation::Relu, &mut x)
        .unwrap();
    assert_eq!(x[0].to_bits(), 0);
    assert_eq!(x[2].to_bits(), 0x8000_0000);
    let first = Kernels::from_env().isa();
    println!("GLOBAL_ISA={first}");
    // Read once: changing the variable afterwards changes nothing.
    let other = if first == rectify::Isa::Scalar {
        "portable"
    } else {
        "scalar"
    };
    std::env::set_var("RECTIFY_ISA", other);
    Kernels::from_env()
        .forward(Activation::Relu, &mut x)
        .unwrap();
    assert_eq!(
        Kernels::from_env().isa(),
        first,
        "RECTIFY_ISA was read again"
    );
    println!("GLOBAL_ISA_AFTER_CHANGE={}", Kernels::from_env().isa());
}

/// The command that starts this test binary again. Under a cross runner
/// (qemu-user, see `.cargo/config.toml`) the emulated binary cannot exec an
/// aarch64 file directly, so the runner passes itself in `RECTIFY_TEST_RUNNER`.
fn this_binary() -> Command {
    let exe = std::env::current_exe().unwrap();
    match std::env::var("RECTIFY_TEST_RUNNER") {
        Ok(runner) if !runner.trim().is_empty() => {
            let mut parts = runner.split_whitespace();
            let mut cmd = Command::new(parts.next().unwrap());
            cmd.args(parts).arg(exe);
            cmd
        }
        _ => Command::new(exe),
    }
}

/// Runs the child with `RECTIFY_ISA=value`; returns (the tier it chose, its stderr).
fn run_child(value: &str) -> (Isa, String) {
    let out = this_binary()
        .args([
            "--exact",
            "child_reports_global_isa",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env("RECTIFY_ISA", value)
        .output()
        .expect("start the test binary again");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "child failed for RECTIFY_ISA={value:?} ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let isa = stdout
        .lines()
        .find_map(|l| l.split("GLOBAL_ISA=").nth(1))
        .expect("child printed its ISA")
        .trim();
    let after = stdout
        .lines()
        .find_map(|l| l.split("GLOBAL_ISA_AFTER_CHANGE=").nth(1))
        .expect("child printed its ISA after changing RECTIFY_ISA")
        .trim();
    assert_eq!(
        isa, after,
        "the global engine's tier changed with RECTIFY_ISA"
    );
    (isa.parse().unwrap(), stderr)
}

#[test]
fn rectify_isa_forces_available_tiers_and_never_crashes_on_bad_values() {
    let best = Isa::best();
    for isa in Isa::ALL {
        let (chosen, stderr) = run_child(isa.name());
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
        println!("RECTIFY_ISA={isa} -> {chosen}");
    }
    for bad in ["sse9", "AVX-2", "\u{1F600}"] {
        let (chosen, stderr) = run_child(bad);
        assert_eq!(chosen, best, "bad value {bad:?} falls back to detection");
        assert_eq!(
            stderr.matches("rectify: RECTIFY_ISA").count(),
            1,
            "one line: {stderr}"
        );
        assert!(stderr.contains("unknown ISA"), "{stderr}");
    }
    assert_eq!(
        run_child("SCALAR").0,
        Isa::Scalar,
        "names are case-insensitive"
    );
}
