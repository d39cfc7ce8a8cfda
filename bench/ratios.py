#!/usr/bin/env python3
"""Prints the ratios of bench/RESULTS.md from Google Benchmark JSON files (median of the
repetitions): tensor-API matmul vs raw sgemm, elementwise ops vs the STREAM triad."""
import glob
import json
import os
import sys


def medians(directory):
    out = {}
    for path in glob.glob(os.path.join(directory, "*.json")):
        try:
            with open(path) as f:
                data = json.load(f)
        except ValueError:  # a binary whose benchmarks were all filtered out writes nothing
            continue
        for b in data.get("benchmarks", []):
            if b.get("aggregate_name") not in (None, "median"):
                continue
            name = b.get("run_name", b["name"]).replace("/real_time", "")
            out[name] = b
    return out


def main():
    m = medians(sys.argv[1] if len(sys.argv) > 1 else "build/bench-results")
    if "BM_MatmulTensorAPI/512" in m:
        print("\nmatmul through the tensor API vs raw cblas_sgemm (GFLOP/s, median):")
        for n in (512, 1024, 2048):
            api, apit, raw = (m.get(f"{k}/{n}") for k in
                              ("BM_MatmulTensorAPI", "BM_MatmulTensorAPITransposed", "BM_RawSgemm"))
            if api and raw:
                print(f"  {n:5d}: api {api['GFLOP/s']/1e0:8.1f}  api(b^T) {apit['GFLOP/s']:8.1f}"
                      f"  raw {raw['GFLOP/s']:8.1f}  ratio {api['GFLOP/s']/raw['GFLOP/s']:.3f}"
                      f" / {apit['GFLOP/s']/raw['GFLOP/s']:.3f}")
    triad = m.get("BM_StreamTriad")
    if triad:
        bw = triad["GB/s"]
        print(f"\nmemory bandwidth (STREAM triad, same run): {bw:.1f} GB/s"
              f"  (copy {m['BM_StreamCopy']['GB/s']:.1f} GB/s)")
        for k in ("BM_Add16M", "BM_MulScalar16M", "BM_Exp16M", "BM_Gelu16M", "BM_AxpyInPlace16M",
                  "BM_SumAll16M", "BM_RowMeanLayerNormStyle/128", "BM_RowMeanLayerNormStyle/768",
                  "BM_SoftmaxRows/64", "BM_SoftmaxRows/256", "BM_SoftmaxRows/1024"):
            if k in m:
                print(f"  {k:32s} {m[k]['GB/s']:7.1f} GB/s  = {m[k]['GB/s']/bw:.2f} x triad")


if __name__ == "__main__":
    main()
