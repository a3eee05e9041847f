//! Below the parallel threshold no rayon call is made (DESIGN.md, threads):
//! after calls of every entry point on small buffers, rayon's global pool
//! can still be built, so none of them set it up. One test in its own
//! binary: another test of the process could set the pool up first.
//!
//! PReLU and Maxout once opened a `rayon::in_place_scope` for their single
//! part, which sets the global pool up and cost 0.5 to 1.7 us per call.

use rectify::{Activation, ChannelLayout, Grad, Kernels, Saved, DEFAULT_PARALLEL_THRESHOLD};

#[test]
fn small_calls_leave_rayon_alone() {
    let n = 4096;
    assert!(n < DEFAULT_PARALLEL_THRESHOLD);
    let x: Vec<f32> = (0..n).map(|i| (i % 7) as f32 - 3.0).collect();
    let mut out = vec![0.0f32; n];
    let mut grad = vec![1.0f32; n];
    for k in [
        Kernels::from_env(),
        &Kernels::new(rectify::Isa::best()).unwrap(),
    ] {
        k.forward_into(Activation::Relu, &x, &mut out).unwrap();
        k.backward(Activation::Elu { alpha: 1.0 }, Saved::Input(&x), &mut grad)
            .unwrap();
        // Every PReLU shape: runs (NCHW), periodic (NHWC, 16 channels),
        // pattern (NHWC, 100 channels).
        for (w, layout) in [
            (vec![0.25f32; 16], ChannelLayout::nchw(1, 16, 1, n / 16)),
            (vec![0.25f32; 16], ChannelLayout::rows(n / 16, 16)),
            (vec![0.25f32; 1024], ChannelLayout::rows(n / 1024, 1024)),
        ] {
            let layout = layout.unwrap();
            out.copy_from_slice(&x);
            k.prelu(&mut out, &w, layout).unwrap();
            let mut grad_w = vec![0.0f32; w.len()];
            k.prelu_backward(
                Saved::Input(&x),
                &w,
                layout,
                &mut grad,
                Some(Grad::Write(&mut grad_w)),
            )
            .unwrap();
        }
        // Maxout: interleaved and long inner, with and without indices.
        for inner in [1, 64] {
            let (mut y, mut idx) = (vec![0.0f32; n / 2], vec![0u8; n / 2]);
            k.maxout(&x, 2, inner, &mut y).unwrap();
            k.maxout_with_index(&x, 2, inner, &mut y, &mut idx).unwrap();
            k.maxout_backward(&x, 2, inner, &y, Grad::Write(&mut out))
                .unwrap();
            k.maxout_backward_indexed(&idx, 2, inner, &y, Grad::Write(&mut out))
                .unwrap();
        }
    }
    assert!(
        rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build_global()
            .is_ok(),
        "a call below the parallel threshold set up rayon's global pool"
    );
}
