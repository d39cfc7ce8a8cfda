#!/usr/bin/python3
"""Fit the polynomial of tensor/kernels/vmath.h verf: log erfc(z) ~ P(z) = sum_{k=1..9} c_k z^k.

Weighted least squares on Chebyshev nodes of [0, 3.92], weight erfc(z) (so the error is absolute
in erf = 1 - exp(P)), reweighted towards the worst points (a poor man's minimax). Prints the
coefficients (highest first, as Horner uses them) and the worst |exp(P(z)) - erfc(z)|.
Needs numpy and scipy (Debian: python3-numpy python3-scipy):  /usr/bin/python3 scripts/fit_erf.py
"""
import numpy as np
from scipy.special import erfc

Z, DEG = 3.92, 9
z = np.cos(np.linspace(0, np.pi, 6000)) * Z / 2 + Z / 2
y, w = np.log(erfc(z)), erfc(z)
A = np.stack([z ** k for k in range(1, DEG + 1)], 1)
ww = w.copy()
for _ in range(60):
    c, *_ = np.linalg.lstsq(A * ww[:, None], y * ww, rcond=None)
    e = np.abs((A @ c - y) * w)
    ww = ww * (1 + e / e.max())
zz = np.linspace(0, Z, 400001)
AA = np.stack([zz ** k for k in range(1, DEG + 1)], 1)
print("worst |exp(P) - erfc| on [0, %.2f]: %.3g" % (Z, np.max(np.abs(np.exp(AA @ c) - erfc(zz)))))
print("Horner, highest first:", ", ".join("%.10ef" % v for v in c[::-1]))
