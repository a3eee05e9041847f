//! The activation registry is complete: every entry has samples that
//! validate and something to measure, a scalar reference that follows its
//! f64 oracle, bounds that make sense, and every tier within them; and the
//! benches, the report and the plots walk the registry instead of naming
//! activations by hand, so a new entry reaches all of them.
//!
//! (An entry without a reference, an oracle or a bound does not compile:
//! those are required items of the registry's `Entry` trait.)

#[path = "common/contract.rs"]
mod contract;

use std::path::Path;

use contract::{tiers_under_test, SPECIAL_BITS};
use rectify::accuracy::{backward_bound, exact_backward, exact_forward, forward_bound, ulp_error};
use rectify::{Activation, Isa, Kernels, Saved};

/// The registry's samples grouped by name, in registry order.
fn by_name() -> Vec<(&'static str, Vec<Activation>, Vec<Activation>)> {
    let (samples, measured) = (Activation::samples(), Activation::measured());
    Activation::NAMES
        .iter()
        .map(|&name| {
            let of = |v: &[Activation]| v.iter().copied().filter(|a| a.name() == name).collect();
            (name, of(&samples), of(&measured))
        })
        .collect()
}

/// Inputs: the contract's special values and a spread of ordinary ones.
fn inputs() -> Vec<f32> {
    let mut v: Vec<f32> = SPECIAL_BITS.iter().map(|&b| f32::from_bits(b)).collect();
    v.extend((-400..=400).map(|i| i as f32 * 0.0625));
    v.extend((0..200).map(|i| -(1.13f32.powi(i)) * 1e-6));
    v
}

#[test]
fn every_entry_has_samples_that_validate_and_something_measured() {
    let names = Activation::NAMES;
    for (i, n) in names.iter().enumerate() {
        assert!(!names[..i].contains(n), "{n} is registered twice");
        let kind = Activation::from_kind(i, || 1.0).expect("every name has a kind");
        assert_eq!(kind.name(), *n, "from_kind({i}) is not {n}");
    }
    assert_eq!(Activation::from_kind(names.len(), || 1.0), None);
    for (name, samples, measured) in by_name() {
        assert!(
            !samples.is_empty(),
            "{name} has no samples: no test would cover it"
        );
        assert!(
            !measured.is_empty(),
            "{name} has nothing measured: the benches, the report and the plots would skip it"
        );
        for a in &samples {
            assert!(a.validate().is_ok(), "{name}: sample {a} does not validate");
            assert!(
                a.to_string().starts_with(name),
                "{a} does not print its name"
            );
        }
        for a in &measured {
            assert!(
                samples.contains(a),
                "{name}: measured {a} is not among the samples"
            );
        }
    }
}

#[test]
fn bounds_make_sense_and_the_reference_follows_the_oracle() {
    let xs = inputs();
    let reference = Kernels::new(Isa::Scalar).unwrap().serial();
    for act in Activation::samples() {
        let (fb, bb) = (forward_bound(act), backward_bound(act));
        assert!((0.5..=4.0).contains(&fb), "{act}: forward bound {fb}");
        assert!((0.5..=4.0).contains(&bb), "{act}: gradient bound {bb}");
        if !act.is_exponential() {
            assert_eq!(
                (fb, bb),
                (0.5, 0.5),
                "{act}: bit-exact but bounds {fb}, {bb}"
            );
        }
        // The scalar reference is plain f32 arithmetic (the C library's
        // expm1f for the exponential ones, and a rounded x / alpha for
        // CELU): not held to the vector tiers' bounds, but within 64 ULP of
        // the oracle on ordinary inputs, and exact for the bit-exact ones.
        let slack = if act.is_exponential() { 64.0 } else { 0.5 };
        let mut y = vec![0.0; xs.len()];
        reference.forward_into(act, &xs, &mut y).unwrap();
        for (&x, &r) in xs.iter().zip(&y) {
            let e = ulp_error(r, exact_forward(act, x));
            assert!(e <= slack, "{act}: reference({x:e}) = {r:e} is {e} ULP off");
        }
        for from_output in [false, true] {
            if from_output && act.gradient_from_output().is_err() {
                continue;
            }
            let saved = if from_output {
                Saved::Output(&y)
            } else {
                Saved::Input(&xs)
            };
            let v = saved.values().to_vec();
            let g: Vec<f32> = (0..v.len()).map(|i| 0.75 + (i % 5) as f32).collect();
            let mut out = vec![0.0; v.len()];
            reference.backward_into(act, saved, &g, &mut out).unwrap();
            for i in 0..v.len() {
                let exact = exact_backward(act, from_output, v[i], g[i]);
                let e = ulp_error(out[i], exact);
                assert!(
                    e <= slack || !v[i].is_finite(),
                    "{act}: reference gradient (from output: {from_output}) at {:e} is {e} ULP off",
                    v[i]
                );
            }
        }
    }
}

#[test]
fn every_tier_meets_every_entrys_bound() {
    let xs = inputs();
    for isa in tiers_under_test() {
        if isa == Isa::Scalar {
            continue;
        }
        let k = Kernels::new(isa).unwrap().serial();
        for act in Activation::samples() {
            let mut y = vec![0.0; xs.len()];
            k.forward_into(act, &xs, &mut y).unwrap();
            for (&x, &r) in xs.iter().zip(&y) {
                let e = ulp_error(r, exact_forward(act, x));
                assert!(
                    e <= forward_bound(act),
                    "{act} on {isa}: f({x:e}) is {e} ULP off"
                );
            }
            let g: Vec<f32> = (0..xs.len()).map(|i| 0.75 + (i % 5) as f32).collect();
            let mut out = vec![0.0; xs.len()];
            k.backward_into(act, Saved::Input(&xs), &g, &mut out)
                .unwrap();
            for i in 0..xs.len() {
                let e = ulp_error(out[i], exact_backward(act, false, xs[i], g[i]));
                assert!(
                    e <= backward_bound(act),
                    "{act} on {isa}: gradient at {:e} is {e} ULP off",
                    xs[i]
                );
            }
        }
    }
}

/// The sources that measure, plot or sweep activations: each takes its
/// activations from the registry (`Activation::measured()` or
/// `Activation::samples()`) and names none by hand.
#[test]
fn benches_report_and_plots_walk_the_registry() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let walkers = [
        "benches/activations.rs",
        "examples/accuracy.rs",
        "tools/report/src/ops.rs",
        "tools/report/src/plot.rs",
    ];
    let variants: Vec<String> = Activation::samples()
        .iter()
        .map(|a| {
            format!("{a:?}")
                .split([' ', '{'])
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    for file in walkers {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        assert!(
            text.contains("Activation::measured()") || text.contains("Activation::samples()"),
            "{file} does not take its activations from the registry"
        );
        let by_hand: Vec<&String> = variants
            .iter()
            .filter(|v| {
                let named = format!("Activation::{v}");
                text.match_indices(&named).any(|(i, _)| {
                    !text[i + named.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
                })
            })
            .collect();
        assert!(by_hand.is_empty(), "{file} names {by_hand:?} by hand");
    }
}
