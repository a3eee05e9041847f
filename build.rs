//! Build metadata for reports: the target, rustc version, profile and the
//! compile-time target features, exposed to the crate and its examples as
//! `RECTIFY_BUILD_*` environment variables (read with `env!`).

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    let rustc = var("RUSTC");
    let version = Command::new(if rustc.is_empty() { "rustc" } else { &rustc })
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=RECTIFY_BUILD_RUSTC={version}");
    println!("cargo:rustc-env=RECTIFY_BUILD_TARGET={}", var("TARGET"));
    println!("cargo:rustc-env=RECTIFY_BUILD_PROFILE={}", var("PROFILE"));
    println!(
        "cargo:rustc-env=RECTIFY_BUILD_OPT_LEVEL={}",
        var("OPT_LEVEL")
    );
    println!(
        "cargo:rustc-env=RECTIFY_BUILD_TARGET_FEATURES={}",
        var("CARGO_CFG_TARGET_FEATURE")
    );
}
