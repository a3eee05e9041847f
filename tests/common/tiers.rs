//! The tiers a test runs: every tier this host has, or only the ones named in
//! `RECTIFY_TEST_TIERS` (comma-separated, as `RECTIFY_ISA` spells them, for
//! example `avx512`). The AVX-512 run under the Bochs emulator
//! (`.ci/avx512-vm`) uses it to spend its slow cycles on the one tier it
//! exists for; a name the host cannot run fails the test, so such a run can
//! never pass by testing nothing.

#![allow(dead_code)] // each test binary uses a part

use rectify::Isa;

/// [`Isa::available`], narrowed by `RECTIFY_TEST_TIERS` when it is set.
///
/// # Panics
///
/// If the variable names a tier that is not known or not available here.
pub fn tiers_under_test() -> Vec<Isa> {
    let Ok(names) = std::env::var("RECTIFY_TEST_TIERS") else {
        return Isa::available().to_vec();
    };
    let wanted: Vec<Isa> = names
        .split(',')
        .map(|name| {
            let isa: Isa = name
                .parse()
                .unwrap_or_else(|e| panic!("RECTIFY_TEST_TIERS={names:?}: {e}"));
            assert!(
                isa.is_available(),
                "RECTIFY_TEST_TIERS={names:?}: this CPU cannot run the {isa} tier"
            );
            isa
        })
        .collect();
    Isa::available()
        .iter()
        .copied()
        .filter(|isa| wanted.contains(isa))
        .collect()
}
