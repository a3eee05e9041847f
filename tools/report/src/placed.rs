//! Buffers placed at chosen addresses modulo 4 KiB.
//!
//! Where a kernel's buffers sit relative to each other modulo 4 KiB decides
//! whether its loads wait on its stores (4K aliasing), and where its output
//! starts in a cache line decides its head and its tail. Left to the
//! allocator, those placements follow every other allocation of the
//! process: with identical machine code, one Maxout case measured 0.55 of
//! its speed in one build and 1.0 in the next. So the report places every
//! buffer itself: the inputs at fixed offsets, the output at each of
//! [`OUTPUT_PLACEMENTS`] in turn, one per repetition, so that a median is
//! over placements and the same for every build.

/// A page: the period of 4K aliasing.
const PAGE: usize = 4096;

/// The inputs' offsets in bytes modulo [`PAGE`]: `x`, the gradient, `y`,
/// each a cache line aligned and 1 KiB from the others.
pub(crate) const INPUT_PLACEMENTS: [usize; 3] = [0, 1024, 2048];

/// The output's offsets, repetition by repetition: a cache line aligned and
/// 1 KiB from every input (the case a caller that aligns gets); 16 bytes
/// off a line (what `malloc` gives a small buffer); one line past `x` (an
/// output just past its input, where stores meet the next loads).
pub(crate) const OUTPUT_PLACEMENTS: [usize; 3] = [3072, 3072 + 16, 64];

/// `len` floats starting `offset` bytes past a page boundary, in a buffer
/// with room for any offset.
pub(crate) struct Placed {
    buf: Vec<f32>,
    start: usize,
    len: usize,
}

impl Placed {
    /// A copy of `data` placed at `offset`.
    pub(crate) fn new(data: &[f32], offset: usize) -> Placed {
        let mut p = Placed {
            buf: vec![0.0; data.len() + PAGE / 4],
            start: 0,
            len: data.len(),
        };
        p.place(offset);
        p.get_mut().copy_from_slice(data);
        p
    }

    /// Moves the view to `offset` bytes (a multiple of 4) past a page
    /// boundary; what it holds there is unspecified.
    pub(crate) fn place(&mut self, offset: usize) {
        let base = self.buf.as_ptr() as usize;
        self.start = (offset % PAGE + PAGE - base % PAGE) % PAGE / 4;
    }

    pub(crate) fn get(&self) -> &[f32] {
        &self.buf[self.start..self.start + self.len]
    }

    pub(crate) fn get_mut(&mut self) -> &mut [f32] {
        &mut self.buf[self.start..self.start + self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_start_at_their_offset_and_keep_the_data() {
        let data: Vec<f32> = (0..1000).map(|i| i as f32).collect();
        for offset in INPUT_PLACEMENTS.into_iter().chain(OUTPUT_PLACEMENTS) {
            let mut p = Placed::new(&data, offset);
            assert_eq!(p.get(), &data[..]);
            assert_eq!(p.get().as_ptr() as usize % PAGE, offset);
            p.place(100);
            assert_eq!(p.get_mut().as_ptr() as usize % PAGE, 100);
            assert_eq!(p.get().len(), 1000);
        }
    }
}
