//! # `two_layer`: rectify inside a small network's training step
//!
//! ```text
//! cargo run --release --example two_layer
//! ```
//!
//! How an engine author wires rectify into a layer: a two-layer perceptron
//! `y = W2 act(W1 x + b1) + b2`, trained by plain gradient descent on one
//! fixed batch of a synthetic regression task, with
//!
//! - ELU as the hidden activation, applied in place, its gradient taken from
//!   the saved **output** (so the pre-activation never has to be kept);
//! - or PReLU with one learned slope per hidden unit (`[batch, features]` is
//!   the channels-last layout), whose backward pass gives the input gradient
//!   and the slope gradient in one pass.
//!
//! The matrix products are plain Rust loops: rectify does the activations,
//! whatever does the products. The program prints the loss every 50 steps
//! and checks that both networks learn (the loss falls by 10x or more).

use rectify::{Activation, ChannelLayout, Grad, Kernels, Saved};

const BATCH: usize = 64;
const INPUTS: usize = 4;
const HIDDEN: usize = 32;
const STEPS: usize = 400;
const RATE: f32 = 0.05;

/// `out[i][j] = sum_k a[i][k] * b[k][j]` for row-major `a: [n, m]`,
/// `b: [m, p]`, `out: [n, p]`.
fn matmul(a: &[f32], b: &[f32], out: &mut [f32], n: usize, m: usize, p: usize) {
    out.fill(0.0);
    for i in 0..n {
        for k in 0..m {
            let aik = a[i * m + k];
            for j in 0..p {
                out[i * p + j] += aik * b[k * p + j];
            }
        }
    }
}

/// `out = a^T b` for `a: [n, m]`, `b: [n, p]`, `out: [m, p]`.
fn matmul_at_b(a: &[f32], b: &[f32], out: &mut [f32], n: usize, m: usize, p: usize) {
    out.fill(0.0);
    for i in 0..n {
        for k in 0..m {
            let aik = a[i * m + k];
            for j in 0..p {
                out[k * p + j] += aik * b[i * p + j];
            }
        }
    }
}

/// `out = a b^T` for `a: [n, p]`, `b: [m, p]`, `out: [n, m]`.
fn matmul_a_bt(a: &[f32], b: &[f32], out: &mut [f32], n: usize, p: usize, m: usize) {
    for i in 0..n {
        for k in 0..m {
            out[i * m + k] = (0..p).map(|j| a[i * p + j] * b[k * p + j]).sum();
        }
    }
}

/// A deterministic value in [-1, 1) for seed `i`.
fn noise(i: usize) -> f32 {
    let h = (i as u32).wrapping_mul(0x9E37_79B9).rotate_left(13) ^ 0x5bd1_e995;
    f32::from_bits(0x3f80_0000 | (h.wrapping_mul(0x2c1b_3c6d) >> 9)) * 2.0 - 3.0
}

/// The hidden activation and its learned parameters.
enum Hidden {
    Fixed(Activation),
    /// PReLU's slopes, one per hidden unit, and their gradient.
    Prelu {
        w: Vec<f32>,
        grad_w: Vec<f32>,
    },
}

/// Trains the network with the hidden activation `hidden` and returns the
/// loss before and after.
fn train(k: &Kernels, mut hidden: Hidden) -> Result<(f32, f32), rectify::Error> {
    // The task: y = sin(x0) + x1 * x2 - |x3|, on one batch of inputs.
    let x: Vec<f32> = (0..BATCH * INPUTS).map(|i| 2.0 * noise(i)).collect();
    let target: Vec<f32> = x
        .chunks(INPUTS)
        .map(|r| r[0].sin() + r[1] * r[2] - r[3].abs())
        .collect();
    let mut w1: Vec<f32> = (0..INPUTS * HIDDEN)
        .map(|i| 0.7 * noise(1000 + i))
        .collect();
    let mut b1 = vec![0.0f32; HIDDEN];
    let mut w2: Vec<f32> = (0..HIDDEN).map(|i| 0.3 * noise(5000 + i)).collect();
    let mut b2 = 0.0f32;
    // Features are the last axis of `[batch, hidden]`: one PReLU channel per
    // hidden unit.
    let layout = ChannelLayout::rows(BATCH, HIDDEN)?;

    let (mut a, mut y) = (vec![0.0f32; BATCH * HIDDEN], vec![0.0f32; BATCH]);
    let (mut grad_a, mut grad_w1, mut grad_w2) = (
        vec![0.0f32; BATCH * HIDDEN],
        vec![0.0f32; INPUTS * HIDDEN],
        vec![0.0f32; HIDDEN],
    );
    let mut first_loss = None;
    let mut loss = 0.0;
    for step in 0..=STEPS {
        // Forward: a = act(x W1 + b1), in place in `a`; y = a W2 + b2.
        matmul(&x, &w1, &mut a, BATCH, INPUTS, HIDDEN);
        a.chunks_mut(HIDDEN)
            .for_each(|row| row.iter_mut().zip(&b1).for_each(|(v, b)| *v += b));
        // PReLU's gradient needs the pre-activation (its slope gradient sums
        // x * grad); ELU's comes from the output, so ELU runs in place.
        let pre = a.clone();
        match &hidden {
            Hidden::Fixed(act) => k.forward(*act, &mut a)?,
            Hidden::Prelu { w, .. } => k.prelu(&mut a, w, layout)?,
        }
        matmul(&a, &w2, &mut y, BATCH, HIDDEN, 1);
        y.iter_mut().for_each(|v| *v += b2);

        // Mean squared error and its gradient with respect to y.
        let grad_y: Vec<f32> = y
            .iter()
            .zip(&target)
            .map(|(p, t)| 2.0 * (p - t) / BATCH as f32)
            .collect();
        loss = y
            .iter()
            .zip(&target)
            .map(|(p, t)| (p - t) * (p - t))
            .sum::<f32>()
            / BATCH as f32;
        first_loss.get_or_insert(loss);
        if step % 50 == 0 {
            println!("  step {step:3}: loss {loss:.5}");
        }
        if step == STEPS {
            break;
        }

        // Backward: grad_a = grad_y W2^T; then through the activation in
        // place, turning it into the gradient of the pre-activation.
        matmul_at_b(&a, &grad_y, &mut grad_w2, BATCH, HIDDEN, 1);
        let grad_b2: f32 = grad_y.iter().sum();
        matmul_a_bt(&grad_y, &w2, &mut grad_a, BATCH, 1, HIDDEN);
        match &mut hidden {
            Hidden::Fixed(act) => k.backward(*act, Saved::Output(&a), &mut grad_a)?,
            Hidden::Prelu { w, grad_w } => k.prelu_backward(
                Saved::Input(&pre),
                w,
                layout,
                &mut grad_a,
                Some(Grad::Write(grad_w)),
            )?,
        }
        matmul_at_b(&x, &grad_a, &mut grad_w1, BATCH, INPUTS, HIDDEN);
        let grad_b1: Vec<f32> = (0..HIDDEN)
            .map(|j| (0..BATCH).map(|i| grad_a[i * HIDDEN + j]).sum())
            .collect();

        // Plain gradient descent.
        let descend =
            |p: &mut [f32], g: &[f32]| p.iter_mut().zip(g).for_each(|(p, g)| *p -= RATE * g);
        descend(&mut w1, &grad_w1);
        descend(&mut b1, &grad_b1);
        descend(&mut w2, &grad_w2);
        b2 -= RATE * grad_b2;
        if let Hidden::Prelu { w, grad_w } = &mut hidden {
            descend(w, grad_w);
        }
    }
    Ok((first_loss.unwrap_or(loss), loss))
}

fn main() -> Result<(), rectify::Error> {
    let k = Kernels::from_env();
    println!("rectify on the {} tier", k.isa());
    println!("hidden activation: ELU (gradient from the saved output)");
    let elu = train(k, Hidden::Fixed(Activation::Elu { alpha: 1.0 }))?;
    println!("hidden activation: PReLU (slopes learned, 0.25 to start)");
    let prelu = train(
        k,
        Hidden::Prelu {
            w: vec![0.25; HIDDEN],
            grad_w: vec![0.0; HIDDEN],
        },
    )?;
    for (name, (before, after)) in [("ELU", elu), ("PReLU", prelu)] {
        println!("{name}: loss {before:.4} -> {after:.4}");
        assert!(after * 10.0 <= before, "{name} did not learn");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_networks_learn() {
        let k = Kernels::from_env();
        let (before, after) = train(k, Hidden::Fixed(Activation::Elu { alpha: 1.0 })).unwrap();
        assert!(after * 10.0 <= before, "ELU: {before} -> {after}");
        let prelu = Hidden::Prelu {
            w: vec![0.25; HIDDEN],
            grad_w: vec![0.0; HIDDEN],
        };
        let (before, after) = train(k, prelu).unwrap();
        assert!(after * 10.0 <= before, "PReLU: {before} -> {after}");
    }
}
