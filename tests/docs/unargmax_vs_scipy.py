#!/usr/bin/python3
"""`tlm diag unargmax` against independent answers from scipy (ctest: diag_unargmax_scipy).

- No bias: token k is argmaxable iff w_k is a vertex of conv{w_i} (points in general
  position), which scipy.spatial.ConvexHull gives directly.
- With bias: the paper's exact test (arXiv:2203.06462), the Chebyshev-centre LP
  max r s.t. (w_i - w_k)·x + |w_i - w_k| r <= b_k - b_i, x in [-100, 100]^d; argmaxable iff r > 1e-8.

Skips (exit 77) when scipy is not installed.

  /usr/bin/python3 tests/docs/unargmax_vs_scipy.py --tlm build/tlm
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    from scipy.optimize import linprog
    from scipy.spatial import ConvexHull
except ImportError:
    print("scipy not available: skipped")
    sys.exit(77)


def tlm_statuses(tlm, W, b, d):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "w.csv")
        rows = W if b is None else np.hstack([W, b[:, None]])
        np.savetxt(path, rows, delimiter=",", fmt="%.17g")
        args = [tlm, "diag", "unargmax", "--weights", path, "--out", os.path.join(tmp, "u.csv")]
        if b is not None:
            args.append("--with_bias")
        r = subprocess.run(args, capture_output=True, text=True, check=True)
        j = json.loads(r.stdout.strip().splitlines()[-1])
    assert j["dim"] == d and j["undecided"] == [], j
    return set(j["unargmaxable"])


def chebyshev_argmaxable(W, b, k):
    V, d = W.shape
    A, ub = [], []
    for i in range(V):
        if i == k:
            continue
        a = W[i] - W[k]
        A.append(np.concatenate([a, [np.linalg.norm(a)]]))
        ub.append(b[k] - b[i])
    c = np.zeros(d + 1)
    c[-1] = -1.0  # maximise r
    res = linprog(c, A_ub=np.array(A), b_ub=np.array(ub),
                  bounds=[(-100, 100)] * d + [(0, None)], method="highs")
    return res.status == 0 and -res.fun > 1e-8


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tlm", required=True)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    checked = 0
    for V, d in [(60, 2), (120, 3), (200, 4)]:
        W = rng.standard_normal((V, d))
        expected = set(range(V)) - set(ConvexHull(W).vertices.tolist())
        got = tlm_statuses(a.tlm, W, None, d)
        assert got == expected, (V, d, sorted(got ^ expected))
        print(f"no bias, V={V} d={d}: {len(got)} unargmaxable, matches the convex hull")
        checked += V
    for V, d in [(40, 2), (80, 3)]:
        W = rng.standard_normal((V, d))
        b = 0.5 * rng.standard_normal(V)
        expected = {k for k in range(V) if not chebyshev_argmaxable(W, b, k)}
        got = tlm_statuses(a.tlm, W, b, d)
        assert got == expected, (V, d, sorted(got ^ expected))
        print(f"bias, V={V} d={d}: {len(got)} unargmaxable, matches the Chebyshev-centre LP")
        checked += V
    print(f"{checked} tokens agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
