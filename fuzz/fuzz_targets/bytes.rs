//! Turning the fuzzer's raw bytes into a call: a little reader that never
//! fails (missing bytes read as zeros), so every input is a case.

#![allow(dead_code)] // each target uses a part

use rectify::Activation;

pub struct Bytes<'a>(pub &'a [u8]);

impl Bytes<'_> {
    pub fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    /// Any bit pattern.
    pub fn f32(&mut self) -> f32 {
        f32::from_bits(self.u32())
    }

    /// `n` values, the rest of the input cycled (any bit patterns).
    pub fn f32s(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.f32()).collect()
    }

    /// `n` now and then off by one or two, so that refusals are reached.
    pub fn maybe_off(&mut self, n: usize) -> usize {
        match self.u8() {
            0 => n + 1,
            1 => n.saturating_sub(1),
            2 => n + 2,
            _ => n,
        }
    }

    pub fn offsets(&mut self) -> [usize; 3] {
        [0, 1, 2].map(|_| usize::from(self.u8() % 16))
    }

    /// Any activation of the registry, its parameters any bit patterns.
    pub fn activation(&mut self) -> Activation {
        let kind = usize::from(self.u8()) % Activation::NAMES.len();
        Activation::from_kind(kind, || self.f32()).expect("kind is in range")
    }
}
