"""The multi-output family (BJW19) of ``versus_gd.py``, alone, with a (100, 20) setting.

Until ``versus_gd.py`` has a ``--family`` filter, this script measures the
``multi`` settings only (``Y = U* relu(V* X)``, ``m = k`` outputs, no bias):
the same instances (``versus_gd._instance``), the same per-instance runner
(``versus_gd.run_instance``: the tensor method, ``relulib.fit_adam``, GD +
refinement, the oracle with noise) and the same summary (``versus_gd.summarise``),
plus the CPU time of the tensor method and of Adam measured in the worker
(``time.process_time``; wall times on a shared machine follow its load).

    python3 benchmarks/multi_family.py                     # all settings, 50 instances each
    python3 benchmarks/multi_family.py --noiseless-only --instances 20 --skip-gd-refinement
    python3 benchmarks/multi_family.py --noisy-only --instances 10

The (100, 20) setting is noiseless only, with ``N_SAMPLES_100_20`` samples and
``GD_STEPS_100_20`` Adam steps (used when ``versus_gd.py`` does not define them).
``--skip-gd-refinement`` leaves out GD + activation-pattern refinement in the
noiseless settings (one refinement at (100, 20) solves 20 000 x 2 000 least-squares
problems); its columns are then NaN. Writes
``multi_family[_noiseless|_noisy]_summary.json`` and ``..._instances.csv`` into ``--out``
(default ``benchmarks/results/``).
"""

from __future__ import annotations

import argparse
import os
import sys

if __name__ == "__main__":  # single-threaded BLAS in this process and in its workers
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = "1"

import csv
import functools
import json
import multiprocessing
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import versus_gd as vg  # noqa: E402

N_SAMPLES_100_20 = 400_000
GD_STEPS_100_20 = 10_000
TIME_LIMIT_100_20 = 300
for table, value in ((vg.N_SAMPLES, N_SAMPLES_100_20), (vg.GD_STEPS, GD_STEPS_100_20),
                     (vg.TENSOR_TIME_LIMIT, TIME_LIMIT_100_20)):
    table.setdefault((100, 20), value)


_CPU = []
_timed = vg._timed


def _timed_with_cpu(fn, limit=None):
    """``versus_gd._timed``, also recording the CPU time of the call (in ``_CPU``)."""
    t0 = time.process_time()
    out = _timed(fn, limit)
    _CPU.append(time.process_time() - t0)
    return out


class _Skipped(Exception):
    pass


def _no_refinement(*args, **kwargs):
    raise _Skipped("GD + refinement skipped (--skip-gd-refinement)")


def run(task, skip_refinement=False):
    """``versus_gd.run_instance`` with the CPU times of the tensor method and of Adam added.

    Its first two timed calls are the tensor method and Adam (then GD + refinement).
    With ``skip_refinement`` (noiseless settings only: the oracle of the noisy ones
    needs the refinement) the GD + refinement columns are NaN, not measured.
    """
    _CPU.clear()
    vg._timed = _timed_with_cpu
    family, d, k, noisy, i, steps = task
    if skip_refinement and not noisy:
        vg.rl.refine_by_patterns = _no_refinement
    row = vg.run_instance(task)
    if skip_refinement and not noisy:
        row.update(gd_refined_error=float("nan"), gd_refined_seconds=float("nan"))
    row.update(tensor_cpu_seconds=_CPU[0], gd_cpu_seconds=_CPU[1])
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sizes", default="8,4;20,6;50,10;100,20")
    parser.add_argument("--noiseless-only", action="store_true")
    parser.add_argument("--noisy-only", action="store_true")
    parser.add_argument("--out", default=vg.RESULTS)
    parser.add_argument("--skip-gd-refinement", action="store_true",
                        help="noiseless settings: do not run GD + refinement (slow at (100, 20))")
    args = parser.parse_args()
    sizes = [tuple(int(v) for v in s.split(",")) for s in args.sizes.split(";")]
    tasks = [("multi", d, k, noisy, i, vg.GD_STEPS[(d, k)])
             for (d, k) in reversed(sizes) for noisy in (True, False)
             if not (noisy and (args.noiseless_only or (d, k) == (100, 20)))
             and not (args.noisy_only and not noisy)
             for i in range(args.instances)]
    start, t0 = vg.machine(), time.perf_counter()
    print(f"{len(tasks)} instances on {args.workers} workers", flush=True)
    with multiprocessing.get_context("fork").Pool(args.workers) as pool:
        rows = list(pool.imap_unordered(functools.partial(run, skip_refinement=args.skip_gd_refinement),
                                        tasks, chunksize=1))
    rows.sort(key=lambda r: (r["d"], r["noisy"], r["instance"]))
    summary = vg.summarise(rows)
    for s in summary:
        rs = [r for r in rows if (r["d"], r["k"], r["noisy"]) == (s["d"], s["k"], s["noisy"])]
        s["tensor_median_cpu_seconds"] = float(np.median([r["tensor_cpu_seconds"] for r in rs]))
        s["gd_median_cpu_seconds"] = float(np.median([r["gd_cpu_seconds"] for r in rs]))
        s["median_cpu_ratio_gd_over_tensor"] = float(np.median(
            [r["gd_cpu_seconds"] / r["tensor_cpu_seconds"] for r in rs]))
        line = (f"d={s['d']:3d} k={s['k']:2d} noisy={s['noisy']} [{s['instances']}] {s['tensor_method']}: "
                f"success {s['tensor_success_rate']:.2f} (GD {s['gd_success_rate']:.2f}); median wall "
                f"{s['tensor_median_seconds']:.3f} s vs Adam {s['gd_median_seconds']:.3f} s (ratio "
                f"{s['median_time_ratio_gd_over_tensor']:.1f}); median CPU {s['tensor_median_cpu_seconds']:.3f} s "
                f"vs {s['gd_median_cpu_seconds']:.3f} s (ratio {s['median_cpu_ratio_gd_over_tensor']:.1f})")
        if s["noisy"]:
            line += f"; within 2x oracle {s['tensor_within_2x_oracle_rate']:.2f}"
        print(line, flush=True)
    meta = dict(command="python3 benchmarks/multi_family.py " + " ".join(sys.argv[1:]), machine_start=start,
                machine_end=vg.machine(), workers=args.workers, blas_threads=1, seconds=time.perf_counter() - t0,
                n_samples={f"{d},{k}": vg.N_SAMPLES[(d, k)] for d, k in sizes},
                n_samples_noisy=vg.N_SAMPLES_NOISY, gd_steps={f"{d},{k}": vg.GD_STEPS[(d, k)] for d, k in sizes})
    os.makedirs(args.out, exist_ok=True)
    tag = "_noisy" if args.noisy_only else "_noiseless" if args.noiseless_only else ""
    with open(os.path.join(args.out, f"multi_family{tag}_summary.json"), "w") as fh:
        json.dump(dict(meta=meta, settings=summary), fh, indent=1)
    with open(os.path.join(args.out, f"multi_family{tag}_instances.csv"), "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        for r in rows:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})


if __name__ == "__main__":
    main()
