//! The scalar reference against the math contract of DESIGN.md section 5,
//! written out value by value (the tiers are then tested against the
//! reference in `tiers.rs`).

#[path = "common/tiers.rs"]
mod under_test;

use rectify::{reference, Activation, Isa, Kernels, Saved};
use under_test::tiers_under_test;

const NEG_ZERO: u32 = 0x8000_0000;

fn nans() -> [f32; 5] {
    [
        0x7fc0_0000u32,
        0xffc0_0000,
        0x7fc0_1234,
        0xffc5_4321,
        0x7fff_ffff,
    ]
    .map(f32::from_bits)
}

#[test]
fn relu_forward_special_values() {
    assert_eq!(reference::relu(-1.0).to_bits(), 0, "negative -> +0");
    assert_eq!(reference::relu(f32::NEG_INFINITY).to_bits(), 0);
    assert_eq!(reference::relu(-f32::MAX).to_bits(), 0);
    assert_eq!(
        reference::relu(-f32::from_bits(1)).to_bits(),
        0,
        "negative subnormal -> +0"
    );
    assert_eq!(reference::relu(-0.0).to_bits(), NEG_ZERO, "relu(-0) = -0");
    assert_eq!(reference::relu(0.0).to_bits(), 0);
    assert_eq!(reference::relu(f32::INFINITY), f32::INFINITY);
    assert_eq!(
        reference::relu(f32::from_bits(1)).to_bits(),
        1,
        "subnormals pass"
    );
    for nan in nans() {
        assert_eq!(
            reference::relu(nan).to_bits(),
            nan.to_bits(),
            "NaN payload and sign survive"
        );
    }
}

#[test]
fn leaky_relu_forward_special_values() {
    let s = 0.01f32;
    assert_eq!(reference::leaky_relu(2.0, s), 2.0);
    assert_eq!(reference::leaky_relu(-2.0, s), -2.0 * s);
    assert_eq!(
        reference::leaky_relu(-0.0, s).to_bits(),
        NEG_ZERO,
        "-0 * 0.01 = -0"
    );
    assert_eq!(reference::leaky_relu(0.0, s).to_bits(), 0);
    assert_eq!(
        reference::leaky_relu(f32::NEG_INFINITY, s),
        f32::NEG_INFINITY
    );
    assert_eq!(
        reference::leaky_relu(-1.0, 0.0).to_bits(),
        NEG_ZERO,
        "slope 0: -1 * 0 = -0"
    );
    for nan in nans() {
        assert!(reference::leaky_relu(nan, s).is_nan());
        // The payload is kept (quietened) through the multiply.
        assert_eq!(
            reference::leaky_relu(nan, s).to_bits() & 0x003f_ffff,
            nan.to_bits() & 0x003f_ffff
        );
    }
}

#[test]
fn relu_gradient_special_values() {
    assert_eq!(
        reference::relu_grad(0.0, 5.0).to_bits(),
        0,
        "gradient at 0 is 0"
    );
    assert_eq!(
        reference::relu_grad(-0.0, 5.0).to_bits(),
        0,
        "gradient at -0 is +0"
    );
    assert_eq!(reference::relu_grad(-3.0, -5.0).to_bits(), 0);
    assert_eq!(reference::relu_grad(3.0, -5.0), -5.0);
    assert_eq!(
        reference::relu_grad(f32::from_bits(1), 7.0),
        7.0,
        "tiny positive passes"
    );
    for nan in nans() {
        assert_eq!(
            reference::relu_grad(nan, 7.0),
            7.0,
            "NaN saved value passes grad"
        );
        assert_eq!(
            reference::relu_grad(1.0, nan).to_bits(),
            nan.to_bits(),
            "NaN grad passes"
        );
        assert_eq!(
            reference::relu_grad(-1.0, nan).to_bits(),
            0,
            "blocked NaN grad is +0"
        );
    }
}

#[test]
fn leaky_relu_gradient_special_values() {
    let s = 0.25f32;
    assert_eq!(
        reference::leaky_relu_grad(0.0, 4.0, s),
        1.0,
        "gradient at 0 is the slope"
    );
    assert_eq!(reference::leaky_relu_grad(-2.0, 4.0, s), 1.0);
    assert_eq!(reference::leaky_relu_grad(2.0, 4.0, s), 4.0);
    assert_eq!(
        reference::leaky_relu_grad(f32::NAN, 4.0, s),
        1.0,
        "NaN takes the second branch"
    );
}

#[test]
fn reference_slices_equal_the_elementwise_formulas() {
    let xs: Vec<f32> = (0..4096u32)
        .map(|i| f32::from_bits(i.wrapping_mul(0x9E37_79B9)))
        .collect();
    let k = Kernels::new(Isa::Scalar).unwrap().serial();
    for act in [Activation::Relu, Activation::LeakyRelu { slope: 0.3 }] {
        let f = |x: f32| match act {
            Activation::LeakyRelu { slope } => reference::leaky_relu(x, slope),
            _ => reference::relu(x),
        };
        let df = |v: f32, g: f32| match act {
            Activation::LeakyRelu { slope } => reference::leaky_relu_grad(v, g, slope),
            _ => reference::relu_grad(v, g),
        };
        let mut y = xs.clone();
        k.forward(act, &mut y).unwrap();
        let mut y2 = vec![0.0; xs.len()];
        k.forward_into(act, &xs, &mut y2).unwrap();
        let g: Vec<f32> = xs.iter().rev().copied().collect();
        let mut gi = g.clone();
        k.backward(act, Saved::Input(&xs), &mut gi).unwrap();
        let mut gi2 = vec![0.0; xs.len()];
        k.backward_into(act, Saved::Input(&xs), &g, &mut gi2)
            .unwrap();
        for i in 0..xs.len() {
            assert_eq!(y[i].to_bits(), f(xs[i]).to_bits());
            assert_eq!(y2[i].to_bits(), f(xs[i]).to_bits());
            assert_eq!(gi[i].to_bits(), df(xs[i], g[i]).to_bits());
            assert_eq!(gi2[i].to_bits(), df(xs[i], g[i]).to_bits());
        }
    }
}

/// Leaky ReLU with slope >= 0: the gradient from the output equals the
/// gradient from the input for every input, which is what makes the in-place
/// forward + backward-from-output pattern exact.
#[test]
fn gradient_from_output_equals_gradient_from_input() {
    let xs: Vec<f32> = (0..65536u32)
        .map(|i| f32::from_bits(i.wrapping_mul(0x9E37_79B9) ^ 0x5555))
        .collect();
    let g: Vec<f32> = (0..xs.len()).map(|i| i as f32 - 1000.0).collect();
    let k = Kernels::new(Isa::best()).unwrap();
    for act in [
        Activation::Relu,
        Activation::LeakyRelu { slope: 0.0 },
        Activation::LeakyRelu { slope: 0.01 },
        Activation::LeakyRelu { slope: 3.0 },
    ] {
        let mut y = xs.clone();
        k.forward(act, &mut y).unwrap();
        let (mut from_x, mut from_y) = (g.clone(), g.clone());
        k.backward(act, Saved::Input(&xs), &mut from_x).unwrap();
        k.backward(act, Saved::Output(&y), &mut from_y).unwrap();
        for i in 0..xs.len() {
            assert_eq!(
                from_x[i].to_bits(),
                from_y[i].to_bits(),
                "{act} x={:e}",
                xs[i]
            );
        }
    }
}

/// The exponential ops' special values, on every tier.
#[test]
fn exponential_special_values_on_every_tier() {
    for isa in tiers_under_test() {
        let k = Kernels::new(isa).unwrap().serial();
        let f = |act: Activation, x: f32| {
            let mut v = [x];
            k.forward(act, &mut v).unwrap();
            v[0]
        };
        let g = |act: Activation, saved: Saved, grad: f32| {
            let mut v = [grad];
            k.backward(act, saved, &mut v).unwrap();
            v[0]
        };
        let elu = Activation::Elu { alpha: 1.0 };
        let elu2 = Activation::Elu { alpha: 2.0 };
        let celu = Activation::Celu { alpha: 2.0 };
        let selu = Activation::Selu;
        // -0 stays -0 (alpha > 0), +0 stays +0.
        for act in [elu, elu2, celu, selu] {
            assert_eq!(f(act, -0.0).to_bits(), NEG_ZERO, "{act} on {isa}: f(-0)");
            assert_eq!(f(act, 0.0).to_bits(), 0, "{act} on {isa}: f(+0)");
        }
        // ELU with a negative alpha: alpha * expm1(-0) = +0.
        assert_eq!(
            f(Activation::Elu { alpha: -1.0 }, -0.0).to_bits(),
            0,
            "{isa}"
        );
        // Saturation: exactly -alpha (or -lambda*alpha) far below, and at -inf.
        for x in [-17.5f32, -20.0, -100.0, -1e30, f32::NEG_INFINITY] {
            assert_eq!(f(elu, x), -1.0, "elu({x}) on {isa}");
            assert_eq!(f(elu2, x), -2.0, "elu2({x}) on {isa}");
            assert_eq!(
                f(selu, x),
                -reference::SELU_LAMBDA_ALPHA_F32,
                "selu({x}) on {isa}"
            );
        }
        assert_eq!(f(celu, f32::NEG_INFINITY), -2.0, "celu(-inf) on {isa}");
        // CELU with a negative alpha: x/alpha grows, and so does the result.
        let celu_neg = Activation::Celu { alpha: -1.0 };
        assert_eq!(f(celu_neg, f32::NEG_INFINITY), f32::NEG_INFINITY, "{isa}");
        assert_eq!(f(celu_neg, -1000.0), f32::NEG_INFINITY, "{isa}");
        // The positive side is linear; +inf stays +inf.
        assert_eq!(f(elu, f32::INFINITY), f32::INFINITY);
        assert_eq!(f(selu, 1.0), reference::SELU_LAMBDA_F32);
        // Tiny negatives: expm1(x) rounds to x.
        let tiny = -f32::from_bits(1);
        assert_eq!(
            f(elu, tiny).to_bits(),
            tiny.to_bits(),
            "{isa}: subnormal passes"
        );
        assert_eq!(f(elu, -1e-30), -1e-30, "{isa}");
        // CELU near 0 rounds to x for every alpha, subnormal x included (the
        // quotient x / alpha underflows there, the result must not). Not the
        // scalar reference: it evaluates the formula in f32, quotient first.
        let vector_tier = isa != Isa::Scalar;
        for alpha in [2.5f32, 10.0, 1e6, -1.5, -10.0]
            .into_iter()
            .filter(|_| vector_tier)
        {
            let act = Activation::Celu { alpha };
            for x in [tiny, -1e-40, -1e-30, -1e-9 * alpha.abs()] {
                assert_eq!(f(act, x).to_bits(), x.to_bits(), "{act}({x:e}) on {isa}");
            }
        }
        // ELU with alpha = 0 is 0 * expm1(x): -0 below 0.
        let elu0 = Activation::Elu { alpha: 0.0 };
        assert_eq!(f(elu0, -3.0).to_bits(), NEG_ZERO, "{isa}");
        assert_eq!(f(elu0, -0.0).to_bits(), NEG_ZERO, "{isa}");
        assert_eq!(f(elu0, f32::NEG_INFINITY).to_bits(), NEG_ZERO, "{isa}");
        let elu0_neg = Activation::Elu { alpha: -0.0 };
        assert_eq!(f(elu0_neg, -3.0).to_bits(), 0, "{isa}");
        assert_eq!(f(elu0_neg, -0.0).to_bits(), 0, "{isa}");
        // NaN takes the second branch: passes through (ELU, CELU) or is
        // quietened by lambda * x (SELU), payload kept.
        for nan in nans() {
            assert_eq!(f(elu, nan).to_bits(), nan.to_bits(), "{isa}");
            assert_eq!(f(celu, nan).to_bits(), nan.to_bits(), "{isa}");
            assert_eq!(
                f(selu, nan).to_bits() & 0x003f_ffff,
                nan.to_bits() & 0x003f_ffff,
                "{isa}"
            );
        }
        // Gradients: at 0 the negative branch (x <= 0): alpha * exp(0) = alpha.
        assert_eq!(g(elu2, Saved::Input(&[0.0]), 3.0), 6.0, "{isa}");
        assert_eq!(g(elu2, Saved::Output(&[0.0]), 3.0), 6.0, "{isa}");
        assert_eq!(g(celu, Saved::Input(&[0.0]), 3.0), 3.0, "{isa}");
        assert_eq!(
            g(celu, Saved::Output(&[-2.0]), 3.0),
            0.0,
            "{isa}: saturated"
        );
        assert_eq!(
            g(selu, Saved::Input(&[1.0]), 2.0),
            2.0 * reference::SELU_LAMBDA_F32,
            "{isa}"
        );
        // Far below, exp underflows: the gradient is exactly +0 (grad > 0).
        assert_eq!(g(elu, Saved::Input(&[-200.0]), 3.0).to_bits(), 0, "{isa}");
        assert_eq!(
            g(selu, Saved::Input(&[f32::NEG_INFINITY]), 3.0).to_bits(),
            0,
            "{isa}"
        );
        // NaN saved value: the positive branch.
        assert_eq!(g(elu, Saved::Input(&[f32::NAN]), 3.0), 3.0, "{isa}");
        assert_eq!(
            g(selu, Saved::Output(&[f32::NAN]), 1.0),
            reference::SELU_LAMBDA_F32,
            "{isa}"
        );
    }
}
