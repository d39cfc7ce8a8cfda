#!/usr/bin/python3
"""Fit the polynomial of tensor/kernels/vmath.h vnormcdf: Phi(-t) = exp(log(1/2) + t P(t)).

P has degree 8 and is fitted to (log(erfc(t / sqrt 2) / 2) - log(1/2)) / t on [0, 5.5437] by
weighted least squares on Chebyshev nodes, weight Phi(-t) (so the error is absolute in Phi),
reweighted towards the worst points (a poor man's minimax). Prints the coefficients (highest
first, as Horner uses them) and the worst |exp(Q(t)) - Phi(-t)|.
Needs numpy and scipy (Debian: python3-numpy python3-scipy):  /usr/bin/python3 scripts/fit_normcdf.py
"""
import numpy as np
from scipy.special import erfc

T, DEG = 3.92 * np.sqrt(2), 8  # 5.5437: Phi(-T) < 1.5e-8, nothing next to 1 in float
t = np.cos(np.linspace(0, np.pi, 6000)) * T / 2 + T / 2
tail = 0.5 * erfc(t / np.sqrt(2))
y, w = np.log(tail) - np.log(0.5), tail
A = np.stack([t ** k for k in range(1, DEG + 1)], 1)
ww = w.copy()
for _ in range(60):
    c, *_ = np.linalg.lstsq(A * ww[:, None], y * ww, rcond=None)
    e = np.abs((A @ c - y) * w)
    ww = ww * (1 + e / e.max())
tt = np.linspace(0, T, 400001)
AA = np.stack([tt ** k for k in range(1, DEG + 1)], 1)
print("worst |exp(Q) - Phi(-t)| on [0, %.4f]: %.3g" % (T, np.max(np.abs(0.5 * np.exp(AA @ c) - 0.5 * erfc(tt / np.sqrt(2))))))
print("Horner, highest first:", ", ".join("%.10ef" % v for v in c[::-1]))
