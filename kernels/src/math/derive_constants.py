#!/usr/bin/env python3
"""Derives the constants of kernels/src/math/exp.rs (needs mpmath: pip install mpmath).

- ln2 split for the one-step Cody-Waite reduction t = x - n*ln2 done with two
  FMAs: LN2_HI has its low 12 significand bits zero, so n*LN2_HI is exact for
  |n| < 2^12, and LN2_LO = f32(ln2 - LN2_HI).
- q(t) ~ (expm1(t) - t) / t^2 on [-ln2/2, ln2/2], degree 5, so that
  expm1(t) = t + t^2 q(t) and exp(t) = 1 + t + t^2 q(t) (a degree-7
  polynomial overall: "p7"). Fitted by Chebyshev interpolation of q (near
  minimax for a smooth function), each coefficient rounded to f32; the script
  prints the relative error of t + t^2 q(t) with the rounded coefficients,
  in units of 2^-24 (half an ULP is 0.5), ignoring evaluation rounding.
  Degree 4 ("p6") was measured at 0.39 such units, too close to the 1 ULP
  budget once the evaluation adds its own half ULP; degree 5 gives 0.03.
"""
import struct

import mpmath as mp

mp.mp.dps = 60


def f32(x):
    return struct.unpack("<f", struct.pack("<f", float(x)))[0]


def f32_hex(x):
    return float.hex(f32(x))


ln2 = mp.log(2)
bits = struct.unpack("<I", struct.pack("<f", f32(ln2)))[0]
hi = struct.unpack("<f", struct.pack("<I", bits & ~0xFFF))[0]
lo = f32(ln2 - mp.mpf(hi))
print("LOG2E  =", f32_hex(1 / ln2))
print("LN2_HI =", float.hex(hi), "(low 12 bits zero)")
print("LN2_LO =", float.hex(lo))

L = ln2 / 2


def q(t):
    return mp.mpf(1) / 2 if t == 0 else (mp.expm1(t) - t) / t**2


poly, _ = mp.chebyfit(q, [-L, L], 6, error=True)
coeffs = [f32(c) for c in reversed(poly)]  # c2, c3, ..., c7
for k, c in enumerate(coeffs, start=2):
    print(f"C{k}     = {float.hex(c)}  ({c:.9g})")

worst = 0
for i in range(4001):
    t = -L + 2 * L * i / 4000
    if t == 0:
        continue
    approx = t + t * t * sum(mp.mpf(c) * t**k for k, c in enumerate(coeffs))
    worst = max(worst, abs(approx - mp.expm1(t)) / abs(mp.expm1(t)))
print("max relative error of expm1(t) on [-ln2/2, ln2/2]:", mp.nstr(worst * 2**24, 3), "x 2^-24")
