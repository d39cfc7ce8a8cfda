#!/usr/bin/env python3
"""Data-parallel scaling on one host (docs/distributed.md, bench/RESULTS.md): tokens/s of
`tlm train` with 1 rank x 1 thread and with `mpirun -np 2` x 1 thread each, same config (the
default model, batch_size B per rank), interleaved ROUNDS times so both see the same load;
prints one Markdown row per run, the medians, the 2-rank / 1-rank ratio and the all-reduce time
per step (median over steps, from the trainer's own timing) with its share of the step.

  /usr/bin/python3 bench/mpi_scaling.py [--tlm build/tlm] [--data FILE] [--iters 80] [--rounds 2]
                                         [--bind none|core] [--set key=value ...]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import tlmlib  # noqa: E402  (SHAKESPEARE: the shared data file)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tlm", default=os.path.join(ROOT, "build", "tlm"))
    ap.add_argument("--data", default=tlmlib.SHAKESPEARE)
    ap.add_argument("--iters", type=int, default=80)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--set", action="append", default=[], dest="sets")
    ap.add_argument("--bind", default="none", help="mpirun --bind-to (none | core)")
    a = ap.parse_args()
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    base = [a.tlm, "train", "--set", f"data={a.data}", "--set", f"max_iters={a.iters}",
            "--set", "eval_iters=0", "--set", "threads=1", "--set", "out_dir=/tmp/tlm_mpi_scaling"]
    for kv in a.sets:
        base += ["--set", kv]
    runs = {1: [], 2: []}
    print("| run | ranks | tokens/s | ms/step | all-reduce ms/step | wait for slowest rank ms/step |")
    print("|---|---|---|---|---|---|")
    for r in range(a.rounds):
        for n in (1, 2):
            cmd = base if n == 1 else ["mpirun", "-np", "2", "--bind-to", a.bind, *base]
            p = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if p.returncode != 0:
                sys.exit(f"{' '.join(cmd)} failed:\n{p.stderr[-3000:]}")
            s = json.loads(p.stdout.strip().splitlines()[-1])
            runs[n].append(s)
            print(f"| {r + 1} | {n} | {s['tokens_per_s']:.0f} | {s['ms_per_iter']:.1f} | "
                  f"{s.get('allreduce_ms', 0):.2f} | {s.get('wait_ms', 0):.2f} |", flush=True)
    tps = {n: statistics.median(s["tokens_per_s"] for s in runs[n]) for n in runs}
    ar = statistics.median(s["allreduce_ms"] for s in runs[2])
    ms2 = statistics.median(s["ms_per_iter"] for s in runs[2])
    wait = statistics.median(s["wait_ms"] for s in runs[2])
    print(f"\nmedian tokens/s: 1 rank {tps[1]:.0f}, 2 ranks {tps[2]:.0f}; ratio {tps[2] / tps[1]:.2f}; "
          f"all-reduce {ar:.2f} ms of {ms2:.1f} ms per step ({100 * ar / ms2:.1f}%), waiting for the "
          f"slowest rank {wait:.2f} ms; "
          f"params {runs[1][0]['params']}")
    print(f"load: {open('/proc/loadavg').read().strip()}")


if __name__ == "__main__":
    main()
