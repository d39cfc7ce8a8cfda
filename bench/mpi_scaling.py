#!/usr/bin/env python3
"""Data-parallel scaling on one host (docs/distributed.md, bench/RESULTS.md): tokens/s of
`tlm train` with 1 rank x 1 thread and with `mpirun -np 2` x 1 thread each, same config (the
default model, batch_size B per rank), interleaved ROUNDS times so both see the same load;
prints one Markdown row per run, the medians, the 2-rank / 1-rank ratio and the all-reduce time
per step (median over steps, from the trainer's own timing) with its share of the step;
--buckets runs the 2-rank case once per all-reduce bucket size (0: one all-reduce per tensor).

  /usr/bin/python3 bench/mpi_scaling.py [--tlm build/tlm] [--data FILE] [--iters 80] [--rounds 2]
                                         [--bind none|core] [--buckets 0,2,64]
                                         [--set key=value ...]
"""
import argparse
import json
import os
import resource
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
    ap.add_argument("--buckets", default="64", help="dist_bucket_mb values of the 2-rank runs")
    a = ap.parse_args()
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    base = [a.tlm, "train", "--set", f"data={a.data}", "--set", f"max_iters={a.iters}",
            "--set", "eval_iters=0", "--set", "threads=1", "--set", "out_dir=/tmp/tlm_mpi_scaling"]
    for kv in a.sets:
        base += ["--set", kv]
    buckets = [float(x) for x in a.buckets.split(",")]
    runs = {1: [], **{mb: [] for mb in buckets}}  # key: 1 = one rank, else the bucket MiB
    print("| run | ranks | dist_bucket_mb | tokens/s | tokens per CPU s | ms/step | all-reduce ms/step (median, min) | wait for slowest rank ms/step |")
    print("|---|---|---|---|---|---|---|---|")
    for r in range(a.rounds):
        for key in [1, *buckets]:
            cmd = base if key == 1 else ["mpirun", "-np", "2", "--bind-to", a.bind, *base,
                                         "--set", f"dist_bucket_mb={key:g}"]
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            p = subprocess.run(cmd, capture_output=True, text=True, env=env)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if p.returncode != 0:
                sys.exit(f"{' '.join(cmd)} failed:\n{p.stderr[-3000:]}")
            s = json.loads(p.stdout.strip().splitlines()[-1])
            # CPU seconds of the whole run (every rank, start-up included): tokens per CPU second
            # is what a shared machine's scheduler cannot distort.
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            s["tokens_per_cpu_s"] = s["iters"] * s["tokens_per_s"] * s["ms_per_iter"] / 1000 / cpu
            # The fastest step's all-reduce: its cost when neither rank was descheduled mid-way.
            with open("/tmp/tlm_mpi_scaling/log.jsonl") as f:
                ar = [json.loads(l).get("allreduce_ms") for l in f if '"step"' in l]
            s["allreduce_min_ms"] = min(ar) if ar and ar[0] is not None else 0.0
            runs[key].append(s)
            print(f"| {r + 1} | {s.get('ranks', 1)} | {'-' if key == 1 else f'{key:g}'} | "
                  f"{s['tokens_per_s']:.0f} | {s['tokens_per_cpu_s']:.0f} | {s['ms_per_iter']:.1f} | {s.get('allreduce_ms', 0):.2f}, {s['allreduce_min_ms']:.2f} | "
                  f"{s.get('wait_ms', 0):.2f} |", flush=True)
    med = lambda key, field: statistics.median(s[field] for s in runs[key])  # noqa: E731
    print(f"\nparams {runs[1][0]['params']}; median tokens/s, 1 rank: {med(1, 'tokens_per_s'):.0f} "
          f"({med(1, 'tokens_per_cpu_s'):.0f} per CPU s)")
    for mb in buckets:
        print(f"2 ranks, dist_bucket_mb={mb:g}: {med(mb, 'tokens_per_s'):.0f} tokens/s "
              f"(ratio {med(mb, 'tokens_per_s') / med(1, 'tokens_per_s'):.2f}; per CPU s "
              f"{med(mb, 'tokens_per_cpu_s'):.0f}, ratio {med(mb, 'tokens_per_cpu_s') / med(1, 'tokens_per_cpu_s'):.2f}), all-reduce "
              f"{med(mb, 'allreduce_ms'):.2f} ms (fastest step {min(s['allreduce_min_ms'] for s in runs[mb]):.2f} ms) of "
              f"{med(mb, 'ms_per_iter'):.1f} ms per step "
              f"({100 * med(mb, 'allreduce_ms') / med(mb, 'ms_per_iter'):.1f}%), waiting for the "
              f"slowest rank {med(mb, 'wait_ms'):.2f} ms")
    print(f"load: {open('/proc/loadavg').read().strip()}")


if __name__ == "__main__":
    main()
