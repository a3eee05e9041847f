//! Every refusal: the right `Error` variant and message, and no buffer changed.

use rectify::{Activation, Error, Isa, Kernels, Saved};

const SENTINEL: f32 = 42.5;

fn buf(n: usize) -> Vec<f32> {
    vec![SENTINEL; n]
}

fn untouched(v: &[f32]) -> bool {
    v.iter().all(|&x| x == SENTINEL)
}

fn engines() -> Vec<Kernels> {
    Isa::available()
        .iter()
        .map(|&isa| Kernels::new(isa).unwrap())
        .collect()
}

#[test]
fn non_finite_parameters_are_refused_everywhere_without_writing() {
    for k in engines() {
        for slope in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let act = Activation::LeakyRelu { slope };
            let expect = |e: Error| {
                assert!(
                    matches!(
                        e,
                        Error::InvalidParameter {
                            activation: "leaky_relu",
                            parameter: "slope",
                            ..
                        }
                    ),
                    "{e:?}"
                );
                assert!(e.to_string().contains("slope"), "{e}");
            };
            let (mut x, mut y, mut g) = (buf(40), buf(40), buf(40));
            expect(k.forward(act, &mut x).unwrap_err());
            expect(k.forward_into(act, &buf(40), &mut y).unwrap_err());
            expect(k.backward(act, Saved::Input(&buf(40)), &mut g).unwrap_err());
            expect(
                k.backward_into(act, Saved::Output(&buf(40)), &buf(40), &mut y)
                    .unwrap_err(),
            );
            assert!(untouched(&x) && untouched(&y) && untouched(&g));
            expect(Activation::LeakyRelu { slope }.validate().unwrap_err());
        }
    }
}

#[test]
fn length_mismatches_are_refused_without_writing() {
    for k in engines() {
        let x = buf(33);
        let mut y = buf(32);
        let e = k.forward_into(Activation::Relu, &x, &mut y).unwrap_err();
        assert_eq!(
            e,
            Error::LengthMismatch {
                argument: "y",
                expected: 33,
                actual: 32
            }
        );
        assert_eq!(
            e.to_string(),
            "length mismatch: y has 32 elements, expected 33"
        );
        assert!(untouched(&y));

        let mut g = buf(34);
        let e = k
            .backward(Activation::Relu, Saved::Input(&x), &mut g)
            .unwrap_err();
        assert_eq!(
            e,
            Error::LengthMismatch {
                argument: "grad",
                expected: 33,
                actual: 34
            }
        );
        assert!(untouched(&g));

        let mut gi = buf(33);
        let e = k
            .backward_into(Activation::Relu, Saved::Output(&x), &buf(31), &mut gi)
            .unwrap_err();
        assert_eq!(
            e,
            Error::LengthMismatch {
                argument: "grad_out",
                expected: 33,
                actual: 31
            }
        );
        assert!(untouched(&gi));

        let mut gi = buf(30);
        let e = k
            .backward_into(Activation::Relu, Saved::Output(&x), &buf(33), &mut gi)
            .unwrap_err();
        assert_eq!(
            e,
            Error::LengthMismatch {
                argument: "grad_in",
                expected: 33,
                actual: 30
            }
        );
        assert!(untouched(&gi));
    }
}

#[test]
fn gradient_from_output_with_negative_slope_is_refused_without_writing() {
    for k in engines() {
        let act = Activation::LeakyRelu { slope: -0.5 };
        let y = buf(20);
        let mut g = buf(20);
        let e = k.backward(act, Saved::Output(&y), &mut g).unwrap_err();
        assert!(
            matches!(e, Error::GradientFromOutputUndefined { activation: "leaky_relu", parameter: "slope", value, .. } if value == -0.5),
            "{e:?}"
        );
        assert!(e.to_string().contains("Saved::Input"), "{e}");
        assert!(untouched(&g));
        let mut gi = buf(20);
        assert!(k
            .backward_into(act, Saved::Output(&y), &buf(20), &mut gi)
            .is_err());
        assert!(untouched(&gi));
        // From the input it is fine.
        k.backward(act, Saved::Input(&y), &mut g).unwrap();
        assert!(
            g.iter().all(|&v| v == SENTINEL),
            "42.5 > 0, so the gradient passes"
        );
    }
}

#[test]
fn unavailable_isa_is_an_error_naming_its_features() {
    for isa in Isa::ALL {
        match Kernels::new(isa) {
            Ok(k) => assert!(isa.is_available() && k.isa() == isa),
            Err(e) => {
                assert!(!isa.is_available());
                assert_eq!(
                    e,
                    Error::IsaUnavailable {
                        isa,
                        requires: isa.required_features()
                    }
                );
                assert!(e.to_string().contains(isa.name()), "{e}");
            }
        }
    }
    // On any one architecture at least one hand-written tier cannot exist.
    assert!(Isa::ALL.iter().any(|isa| Kernels::new(*isa).is_err()));
}

#[test]
fn isa_names_round_trip() {
    for isa in Isa::ALL {
        assert_eq!(isa.to_string().parse::<Isa>().unwrap(), isa);
        assert_eq!(isa.name().to_uppercase().parse::<Isa>().unwrap(), isa);
    }
    let e = "avx1024".parse::<Isa>().unwrap_err();
    assert!(e.to_string().contains("avx1024"), "{e}");
    assert_eq!(Isa::available()[..2], [Isa::Scalar, Isa::Portable]);
    assert!(Isa::best().is_available());
}

#[test]
fn exponential_parameters_are_validated_without_writing() {
    for k in engines() {
        for act in [
            Activation::Elu { alpha: f32::NAN },
            Activation::Elu {
                alpha: f32::INFINITY,
            },
            Activation::Celu { alpha: 0.0 },
            Activation::Celu { alpha: -0.0 },
            Activation::Celu {
                alpha: f32::NEG_INFINITY,
            },
        ] {
            let mut x = buf(19);
            let e = k.forward(act, &mut x).unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::InvalidParameter {
                        parameter: "alpha",
                        ..
                    }
                ),
                "{e:?}"
            );
            assert!(e.to_string().contains("alpha"), "{e}");
            assert!(untouched(&x));
            let mut g = buf(19);
            assert!(k.backward(act, Saved::Input(&buf(19)), &mut g).is_err());
            assert!(untouched(&g));
        }
        assert!(Activation::Elu { alpha: f32::NAN }.validate().is_err());
        assert!(Activation::Celu { alpha: 0.0 }.validate().is_err());
        // ELU with alpha < 0: the output does not determine the gradient.
        let act = Activation::Elu { alpha: -0.5 };
        let mut g = buf(19);
        let e = k
            .backward(act, Saved::Output(&buf(19)), &mut g)
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::GradientFromOutputUndefined {
                    parameter: "alpha",
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(untouched(&g));
        // CELU is invertible for any alpha != 0; SELU always.
        assert!(Activation::Celu { alpha: -0.5 }
            .gradient_from_output()
            .is_ok());
        assert!(Activation::Selu.gradient_from_output().is_ok());
    }
}
