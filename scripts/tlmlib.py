"""Helpers shared by the ablation scripts: run `tlm train` with overrides, collect the JSON
line it prints last, and write CSV, Markdown and PNG results.

Every script drives the real command line (build/tlm), so what it measures is what a user
gets. Runs are sequential (2 cores: one run at a time, each using both).
"""
import csv
import hashlib
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TLM = os.environ.get("TLM", os.path.join(ROOT, "build", "tlm"))
# Tiny Shakespeare ships in the repository (data/); TLM_SHAKESPEARE overrides.
SHAKESPEARE = os.environ.get("TLM_SHAKESPEARE") or os.path.join(ROOT, "data", "tinyshakespeare.txt")


def ensure_built():
    if not os.path.exists(TLM):
        subprocess.run(["make", "-C", ROOT, "build"], check=True)


# Set to "1" (scripts' --reuse_runs flag) to keep finished runs: see run_tlm.
REUSE_ENV = "TLM_REUSE_RUNS"


def binary_digest(path=None):
    """sha256 of the tlm binary, so a kept run is reused only by the same build."""
    h = hashlib.sha256()
    with open(path or TLM, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def run_tlm(overrides, out_dir, log_path=None, extra_args=()):
    """Runs `tlm train --set k=v ...` (through run_in_dir); returns the final JSON dict (plus
    'wall_s', 'log' = the per-step JSONL records, 'failed' and 'error' when the run did not
    finish)."""
    args = ["train"]
    for k, v in overrides.items():
        args += ["--set", f"{k}={v}"]
    args += ["--set", f"out_dir={out_dir}"]
    args += list(extra_args)
    if "--resume" not in extra_args:
        args += ["--overwrite"]  # a fresh run replaces its own run dir; a resume continues it
    result = run_in_dir(args, out_dir, log_path)
    result["log"] = read_log(os.path.join(out_dir, "log.jsonl"))
    return result


def run_in_dir(args, out_dir, log_path=None):
    """Runs `tlm <args...>`, a command that writes its run into out_dir, and returns its result
    (run_tlm_cmd). A finished run leaves out_dir/result.json (its arguments, the binary's sha256,
    the result). With TLM_REUSE_RUNS=1 (the scripts' --reuse_runs) a run whose result.json has
    the same arguments and the same binary is not run again: its stored result is returned, so
    an interrupted study continues where it stopped. Anything else (no file, other arguments,
    another build, a failed run) runs afresh."""
    stamp_path = os.path.join(out_dir, "result.json")
    stamp = {"args": list(args), "tlm_sha256": binary_digest()}
    if os.environ.get(REUSE_ENV) == "1" and os.path.exists(stamp_path):
        with open(stamp_path) as f:
            kept = json.load(f)
        if {k: kept.get(k) for k in stamp} == stamp:
            print(f"  reusing {out_dir} (same arguments and build)", file=sys.stderr, flush=True)
            return kept["result"]
    if os.path.exists(stamp_path):
        os.remove(stamp_path)  # the run below replaces what it described
    result, _ = run_tlm_cmd(args, log_path)
    if not result["failed"]:
        os.makedirs(out_dir, exist_ok=True)
        tmp = stamp_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(dict(stamp, result=result), f)
        os.replace(tmp, stamp_path)
    return result


def read_log(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def write_csv(path, rows, columns):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow(r)


def read_csv(path, text_columns=()):
    """The rows write_csv wrote, values parsed back: "" -> None, True/False -> bool, then int,
    then float; a value that is none of these, or a column in text_columns, stays a string."""
    def value(k, v):
        if k in text_columns:
            return v
        if v == "":
            return None
        if v in ("True", "False"):
            return v == "True"
        for parse in (int, float):
            try:
                return parse(v)
            except ValueError:
                pass
        return v
    with open(path, newline="") as f:
        return [{k: value(k, v) for k, v in r.items()} for r in csv.DictReader(f)]


def write_markdown(path, rows, columns, title, command, notes=""):
    def fmt(v):
        if isinstance(v, float):
            return f"{v:.4f}"
        return "" if v is None else str(v)
    with open(path, "w") as f:
        f.write(f"# {title}\n\nCommand: `{command}`\n\n")
        f.write("| " + " | ".join(columns) + " |\n")
        f.write("|" + "---|" * len(columns) + "\n")
        for r in rows:
            f.write("| " + " | ".join(fmt(r.get(c)) for c in columns) + " |\n")
        if notes:
            f.write("\n" + notes + "\n")


def plot_curves(path, series, xkey, ykey, title, xlabel, ylabel, logy=False, logx=False):
    """series: list of (label, records) where records are dicts with xkey/ykey. Past ten
    series (the colour cycle) lines are dashed, so no two look the same."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is missing: apt-get install -y python3-matplotlib (no plot written)",
              file=sys.stderr)
        return False
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, (label, recs) in enumerate(series):
        xs = [r[xkey] for r in recs if r.get(ykey) is not None]
        ys = [r[ykey] for r in recs if r.get(ykey) is not None]
        if xs:
            ax.plot(xs, ys, label=label, linestyle="-" if i < 10 else "--",
                    marker="o" if len(xs) <= 12 else None)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if logx:
        ax.set_xscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def run_tlm_cmd(args, log_path=None):
    """Runs `tlm <args...>` and returns (the last JSON line of stdout as a dict, or {} with
    'failed'/'error' set, the full stdout)."""
    t0 = time.time()
    with open(log_path or os.devnull, "w") as log:
        p = subprocess.run([TLM] + list(args), stdout=subprocess.PIPE, stderr=log, text=True)
    result = {}
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    if lines:
        result = json.loads(lines[-1])
    result["wall_s"] = round(time.time() - t0, 2)
    result["failed"] = p.returncode != 0
    if p.returncode != 0:
        result["error"] = f"exit {p.returncode}; see {log_path}"
    return result, p.stdout
