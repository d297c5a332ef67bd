"""Benchmark: the provable pipelines against gradient descent, and their scaling.

Run from the repository root:

    python3 benchmarks/versus_gd.py                          # everything (the budget: see below)

    python3 benchmarks/versus_gd.py --family biased          # one model family ...
    python3 benchmarks/versus_gd.py --settings '50,10;100,20,noiseless'   # ... or some sizes
    python3 benchmarks/versus_gd.py --quick --out /tmp/vgd   # smoke run, at most 2 instances per setting
    python3 benchmarks/versus_gd.py --report                 # the README's tables, from the result files

A run restricted by ``--family`` or ``--settings`` replaces the rows of its
settings in the existing result files and keeps the others (the summary's
``meta.runs`` lists which run produced which settings); it skips the scaling
measurements unless ``--scaling`` is given.

Budget: a run of everything must finish within 35 minutes on 2 cores (2
workers, single-threaded BLAS, an otherwise idle machine). The summary records
``instance_pair_seconds_all_settings`` (the sum of every instance pair's CPU
time, whichever run produced it) and the comparison time it implies on 2
cores of an idle machine; the scaling measurements add about one
minute.

It writes into ``benchmarks/results/`` (committed; the chapter "Against
gradient descent" and the README quote these files):

* ``versus_gd_instances.csv``: one row per (setting, instance): parameter
  error and wall time of the tensor method, of the gradient-descent baseline
  (``relulib.fit_adam``), of the baseline followed by activation-pattern
  refinement, and, with noise, of the oracle (pattern least squares started at
  the truth); the time ratio GD / tensor of the instance pair.
* ``versus_gd_summary.json``: per setting, success rates (parameter error
  <= 1e-6), median times, the ratio GD / tensor of the median times (above 1:
  the tensor method is faster) and the median of the instance pairs' ratios,
  plus, per run, the machine (date, commit, ``nproc``, load average at start
  and end), the instance counts and budgets actually used.
* ``scaling.json``: time against n and d, with fitted exponents
  (least-squares slope of log time on log n or log d) and peak traced memory:
  moment estimation (``rl.HermiteMomentAccumulator``: T_0..T_2 and one
  contraction of T_3 and of T_4) streamed over n = 1e4 ... 1e7 samples drawn
  chunk by chunk (d = 20), and over d = 10 ... 200 (n = 1e5); the full
  pipelines (``recover_with_bias``, ``recover_exact``, and ``fit_adam`` with
  2000 mini-batch steps) over n = 1e4 ... 1e7 (d = 8, k = 4; they take the
  samples in memory: 640 MB at n = 1e7) and over d = 10 ... 200 (n = 5e4,
  k = 5). Each pipeline call has a 20 s limit (``SCALING_TIME_LIMIT``); a
  sequence stops at the first call that hits it, and the exponent is fitted
  to the calls that finished. Times are taken without tracemalloc (its hook
  slows small-array code); the memory peak comes from a second, traced call,
  made when the timed one took under 5 s. For every pipeline call the
  high-water mark of the worker's resident memory is also recorded
  (``rss_peak_mib``): each sequence runs in a fresh process, in increasing
  size, so it is the peak of the largest call so far, samples and the
  interpreter included.

Settings. Two model families, each with the paper's method:

* ``biased``: ``f(x) = a^T relu(W^T x + b)``, one output, biases uniform in
  [-1, 1] (ATV21). Noiseless: ``rl.recover_with_bias``; noisy:
  ``rl.recover_noisy(..., bias=True)``.
* ``multi``: ``Y = U* relu(V* X)``, ``m = k`` outputs, no bias (BJW19).
  Noiseless: ``rl.recover_exact``; noisy: ``rl.recover_noisy``.

for (d, k) in {(8, 4), (20, 6), (50, 10)}, noiseless and with label noise of
standard deviation 0.1, and (d, k) = (100, 20) noiseless. Noiseless settings
use n = 2e4, 1e5, 2e5, 4e5 samples for the four sizes (``N_SAMPLES``); noisy
ones n = 2e4 (``N_SAMPLES_NOISY``).
Instance ``i`` of a setting is the network
``rl.random_network(d, k, m, rng=SEED + i)`` with samples from
``rng=SEED + 10**6 + i``; both methods get the *same* samples.

Gradient descent: Adam, learning rate 1e-2, mini-batches of 256, true width,
random start (seeded), a step budget per setting (``GD_STEPS``), stopping
early when a mini-batch loss falls below 1e-20 (noiseless). A step budget,
not a wall-clock budget, keeps the runs deterministic.

Instance counts: 50 seeded instances per setting, 10 at (100, 20) for each
family (``N_INSTANCES``); the same instances for every method. Each tensor call has a CPU-time limit (``TENSOR_TIME_LIMIT``: 60, 90,
150, 300 s for the four sizes; ``ITIMER_PROF`` in the worker, so the load of
the machine does not change which calls hit it); a call that hits it is a
failure with its time recorded as the limit, and the summary counts such
calls.
Pattern refinement after GD and the oracle run at most ``REFINE_MAX_ITER`` = 10
least-squares solves on the first ``REFINE_SAMPLES`` = 20 000 samples.

Timing: every instance runs in one of ``--workers`` processes (default 2,
one per core) with single-threaded BLAS (``OPENBLAS_NUM_THREADS=1`` etc., set
before numpy is imported), the same for both methods. The times of the
comparison (``*_seconds`` columns) are **CPU times** of the worker process
(``time.process_time``): with one thread they measure the work done, and a
loaded machine (other processes on the same cores) does not inflate them as it
inflates wall times; cache contention still does a little. The summary records
the load average. The scaling measurements use wall time.
"""

from __future__ import annotations

import argparse
import os
import sys

if __name__ == "__main__":  # single-threaded BLAS in this process and in its workers
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = "1"

import csv
import json
import multiprocessing
import resource
import signal
import time
import tracemalloc
import warnings

import numpy as np
import provenance  # noqa: E402 (benchmarks/provenance.py)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import relulib as rl  # noqa: E402
from moments import stream_moments  # noqa: E402  (benchmarks/moments.py, beside this script)

SEED = 20260
SIZES = [(8, 4), (20, 6), (50, 10), (100, 20)]
FAMILIES = ("biased", "multi")
NOISE = 0.1
SUCCESS_TOL = 1e-6
# The settings (family, d, k, noisy): every size noiseless, the three smaller ones also
# with label noise. (100, 20) is noiseless only.
NOISY_SIZES = [(8, 4), (20, 6), (50, 10)]
SETTINGS = [(family, d, k, noisy) for family in FAMILIES for (d, k) in SIZES
            for noisy in (False, True) if not noisy or (d, k) in NOISY_SIZES]
# Instances per (family, size, noisy): the same seeded instances for every method; 50
# except at (100, 20), where 10 per family keep the whole run within its budget (see the
# module docstring).
N_INSTANCES = {(family, size, noisy): 50 for family in FAMILIES for size in SIZES
               for noisy in (False, True)}
N_INSTANCES[("multi", (100, 20), False)] = 10
N_INSTANCES[("biased", (100, 20), False)] = 10
# Pattern refinement after GD and the oracle use the first REFINE_SAMPLES samples
# (like recover_with_bias, whose polishing uses a bounded subsample): on all 2e5
# samples at (50, 10) one least-squares solve has a 2e5 x 510 design matrix.
REFINE_SAMPLES = 20_000
REFINE_MAX_ITER = 10  # with noise the pattern iteration may cycle; 10 solves suffice from a good start
# Noisy settings use n = 20 000 at every size, so that the oracle (pattern least
# squares from the truth, on the same REFINE_SAMPLES = n samples) is the
# statistical benchmark for exactly the data the methods see.
N_SAMPLES_NOISY = 20_000
N_SAMPLES = {(8, 4): 20_000, (20, 6): 100_000, (50, 10): 200_000, (100, 20): 400_000}
GD_STEPS = {(8, 4): 4000, (20, 6): 6000, (50, 10): 8000, (100, 20): 8000}
# CPU-time limit of one tensor-method call (SIGPROF from ITIMER_PROF in the worker). A call that
# hits it counts as a failure, with its time recorded as the limit (censored).
TENSOR_TIME_LIMIT = {(8, 4): 60, (20, 6): 90, (50, 10): 150, (100, 20): 300}
SCALING_TIME_LIMIT = 20
BUDGET_CORES = 2  # the budget: a run of everything within 35 minutes on 2 cores
GD = dict(learning_rate=1e-2, batch_size=256)
GD_LOSS_TOL = 1e-20
# The comparison's clock: CPU time of the worker process (single-threaded BLAS, so it
# is the work done, and it does not grow with the load of a shared machine).
CPU = time.process_time
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def _has(name):
    return hasattr(rl, name)


def tensor_method(family, noisy):
    """Name of the relulib function for a setting, or None if it is not available."""
    if noisy:
        return "recover_noisy" if _has("recover_noisy") else None
    name = "recover_with_bias" if family == "biased" else "recover_exact"
    return name if _has(name) else None


def _instance(family, d, k, noisy, i):
    m = 1 if family == "biased" else k
    net = rl.random_network(d, k, m, bias_scale=1.0 if family == "biased" else 0.0, rng=SEED + i)
    n = N_SAMPLES_NOISY if noisy else N_SAMPLES[(d, k)]
    X, Y = rl.gaussian_samples(net, n, noise=NOISE if noisy else 0.0, rng=SEED + 10**6 + i)
    return net, X, Y


class _TimeLimit(Exception):
    pass


def _on_alarm(signum, frame):
    raise _TimeLimit("CPU-time limit hit")


def _timed(fn, limit=None, clock=time.perf_counter):
    t0 = clock()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if limit is not None:
            signal.signal(signal.SIGPROF, _on_alarm)
            signal.setitimer(signal.ITIMER_PROF, float(limit))
        try:
            out = fn()
            failed = ""
        except Exception as exc:  # a failure counts as a failed instance, and is recorded
            out, failed = None, f"{type(exc).__name__}: {exc}"[:200]
        finally:
            if limit is not None:
                signal.setitimer(signal.ITIMER_PROF, 0.0)
    return out, clock() - t0, len(caught), failed


def run_instance(task):
    t_start = time.process_time()
    family, d, k, noisy, i, gd_steps = task
    net, X, Y = _instance(family, d, k, noisy, i)
    bias = family == "biased"
    row = dict(family=family, d=d, k=k, noisy=int(noisy), instance=i, n=X.shape[0])
    method = tensor_method(family, noisy)
    row["tensor_method"] = method or "missing"
    if method is not None:
        fn = getattr(rl, method)
        kwargs = dict(rng=SEED + i)
        if method == "recover_noisy":
            kwargs["bias"] = bias
        est, t, nwarn, failed = _timed(lambda: fn(X, Y, k, **kwargs), TENSOR_TIME_LIMIT[(d, k)], CPU)
        row.update(tensor_error=rl.parameter_error(net, est.network) if est is not None else float("inf"),
                   tensor_seconds=t, tensor_warnings=nwarn, tensor_failure=failed)
    else:
        row.update(tensor_error=float("nan"), tensor_seconds=float("nan"), tensor_warnings=0, tensor_failure="missing")
    res, t, _, _ = _timed(lambda: rl.fit_adam(
        X, Y, k, bias=bias, max_steps=gd_steps, loss_tol=0.0 if noisy else GD_LOSS_TOL, rng=SEED + 2 * 10**6 + i, **GD), clock=CPU)
    row.update(gd_error=rl.parameter_error(net, res.network), gd_seconds=t, gd_steps=res.steps,
               gd_stopped_by=res.stopped_by, gd_final_loss=res.final_loss)
    Xr, Yr = X[:REFINE_SAMPLES], Y[:REFINE_SAMPLES]
    ref, t2, _, _ = _timed(lambda: rl.refine_by_patterns(res.network, Xr, Yr, bias=bias, max_iter=REFINE_MAX_ITER), clock=CPU)
    row.update(gd_refined_error=rl.parameter_error(net, ref.network) if ref is not None else float("inf"),
               gd_refined_seconds=t + t2)
    if noisy:  # the statistical benchmark: pattern least squares from the truth
        orc = rl.refine_by_patterns(net, Xr, Yr, bias=bias, max_iter=REFINE_MAX_ITER)
        row["oracle_error"] = rl.parameter_error(net, orc.network)
    else:
        row["oracle_error"] = 0.0
    row["time_ratio_gd_over_tensor"] = row["gd_seconds"] / row["tensor_seconds"]
    row["instance_seconds"] = time.process_time() - t_start  # CPU, the whole pair: data, methods, oracle
    return row


def _median(values):
    values = [v for v in values if np.isfinite(v)]
    return float(np.median(values)) if values else float("nan")


def summarise(rows):
    out = []
    keys = sorted({(r["family"], r["d"], r["k"], r["noisy"]) for r in rows})
    for family, d, k, noisy in keys:
        rs = [r for r in rows if (r["family"], r["d"], r["k"], r["noisy"]) == (family, d, k, noisy)]
        s = dict(family=family, d=d, k=k, noisy=noisy, instances=len(rs), n=rs[0]["n"],
                 tensor_method=rs[0]["tensor_method"], gd_steps_budget=GD_STEPS[(d, k)],
                 tensor_time_limit=TENSOR_TIME_LIMIT[(d, k)],
                 tensor_hit_time_limit=int(sum("limit" in r["tensor_failure"] for r in rs)),
                 tensor_failures=int(sum(bool(r["tensor_failure"]) for r in rs)))
        for who in ("tensor", "gd", "gd_refined"):
            errs = [r[f"{who}_error"] for r in rs]
            s[f"{who}_success_rate"] = float(np.mean([e <= SUCCESS_TOL for e in errs]))
            s[f"{who}_median_error"] = _median(errs)
        for who in ("tensor", "gd", "gd_refined"):
            s[f"{who}_median_seconds"] = _median([r[f"{who}_seconds"] for r in rs])
        s["median_time_ratio_gd_over_tensor"] = _median([r["time_ratio_gd_over_tensor"] for r in rs])
        s["ratio_of_median_times_gd_over_tensor"] = s["gd_median_seconds"] / s["tensor_median_seconds"]
        s["tensor_faster_than_gd"] = bool(s["ratio_of_median_times_gd_over_tensor"] > 1)
        # CPU budget of the setting: the sum of its instance pairs' CPU times (one worker each)
        times = [r.get("instance_seconds", float("nan")) for r in rs]
        s["instance_seconds_total"] = float(sum(times)) if all(np.isfinite(times)) else None  # older runs: none
        s["run"] = rs[0].get("run", "")
        s["gd_stopped_by_budget"] = int(sum(r["gd_stopped_by"] == "steps" for r in rs))
        if noisy:
            s["oracle_median_error"] = _median([r["oracle_error"] for r in rs])
            for who in ("tensor", "gd", "gd_refined"):
                s[f"{who}_within_2x_oracle_rate"] = float(np.mean(
                    [r[f"{who}_error"] <= 2 * r["oracle_error"] for r in rs]))
        out.append(s)
    return out


# ---------------------------------------------------------------- scaling
def _fit_exponent(xs, ts):
    xs, ts = np.asarray(xs, float), np.asarray(ts, float)
    ok = np.isfinite(ts) & (ts > 0)
    return float(np.polyfit(np.log(xs[ok]), np.log(ts[ok]), 1)[0]) if ok.sum() >= 2 else float("nan")


def _pipeline_run(name, d, k, n, rng_seed):
    family = "multi" if name == "recover_exact" else "biased"
    m = k if family == "multi" else 1
    net = rl.random_network(d, k, m, bias_scale=1.0 if family == "biased" else 0.0, rng=rng_seed)
    X, Y = rl.gaussian_samples(net, n, rng=rng_seed + 1)
    if name == "fit_adam":
        fn = lambda: rl.fit_adam(X, Y, k, max_steps=2000, rng=rng_seed, **GD)  # noqa: E731
    else:
        fn = lambda: getattr(rl, name)(X, Y, k, rng=rng_seed)  # noqa: E731
    # Timed without tracemalloc (its per-allocation hook slows small-array code, e.g.
    # 2000 Adam steps by a factor ~10); the peak memory comes from a second, traced
    # run, made only when the timed one took under 5 s.
    out, seconds, _, failed = _timed(fn, SCALING_TIME_LIMIT)
    peak = float("nan")
    if not failed and seconds < 5:
        tracemalloc.start()
        _timed(fn, SCALING_TIME_LIMIT)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    est = out.network if out is not None else None  # FitResult or RecoveryResult
    err = rl.parameter_error(net, est) if est is not None else float("inf")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return dict(seconds=seconds, peak_mib=peak, rss_peak_mib=rss, error=err, failure=failed)


def pipeline_sequence(task):
    """Time one method along a grid of n (d = 8, k = 4) or of d (n = 5e4, k = 5).

    Stops the sequence at the first call that hits the time limit (larger sizes cost more).
    """
    name, axis, grid = task
    rows = []
    for v in grid:
        n, d, k = (v, 8, 4) if axis == "n" else (50_000, v, 5)
        r = _pipeline_run(name, d, k, n, SEED + v % 997)
        rows.append(dict(n=n, d=d, k=k, **r))
        if r["failure"]:
            break
    ok = [r for r in rows if not r["failure"]]
    exponent = _fit_exponent([r[axis] for r in ok], [r["seconds"] for r in ok])
    return f"{name}_vs_{axis}", dict(rows=rows, exponent=exponent, points_fitted=len(ok))


def scaling(quick, workers):
    out = {}
    rng = np.random.default_rng(SEED)
    ns = [10_000, 100_000, 1_000_000] if quick else [10_000, 100_000, 1_000_000, 10_000_000]
    rows = []
    for n in ns:
        *_, t, peak = stream_moments(20, n, rng, 100_000)
        rows.append(dict(n=n, d=20, seconds=t, peak_mib=peak / 2**20))
        print(f"  moments n={n:.0e} d=20: {t:.2f} s, peak {peak / 2**20:.1f} MiB", flush=True)
    out["moments_vs_n"] = dict(rows=rows, exponent=_fit_exponent(ns, [r["seconds"] for r in rows]))
    ds = [10, 20, 50] if quick else [10, 20, 50, 100, 200]
    rows = []
    for d in ds:
        *_, t, peak = stream_moments(d, 100_000, rng, 100_000)
        rows.append(dict(n=100_000, d=d, seconds=t, peak_mib=peak / 2**20))
        print(f"  moments n=1e5 d={d}: {t:.2f} s, peak {peak / 2**20:.1f} MiB", flush=True)
    out["moments_vs_d"] = dict(rows=rows, exponent=_fit_exponent(ds, [r["seconds"] for r in rows]))

    methods = [m for m in ("recover_with_bias", "recover_exact") if _has(m)] + ["fit_adam"]
    out["pipelines_missing"] = [m for m in ("recover_with_bias", "recover_exact") if not _has(m)]
    pn = [10_000, 30_000, 100_000] if quick else [10_000, 30_000, 100_000, 300_000, 1_000_000, 10_000_000]
    pd = [10, 20, 50] if quick else [10, 20, 50, 100, 200]
    tasks = [(name, "n", pn) for name in methods] + [(name, "d", pd) for name in methods]
    # a fresh process per sequence, so that its resident-memory high-water mark is its own
    with multiprocessing.get_context("fork").Pool(workers, maxtasksperchild=1) as pool:
        for key, val in pool.imap_unordered(pipeline_sequence, tasks, chunksize=1):
            out[key] = val
            for r in val["rows"]:
                print(f"  {key} n={r['n']:.0e} d={r['d']} k={r['k']}: {r['seconds']:.2f} s, "
                      f"error {r['error']:.1e}, peak {r['peak_mib']:.0f} MiB traced, {r['rss_peak_mib']:.0f} MiB "
                      f"resident {r['failure'][:40]}", flush=True)
    return out


def machine():
    return dict(date=provenance.now(), nproc=os.cpu_count(), loadavg=provenance.load_average(),
                numpy=np.__version__, git_head=provenance.commit())


def report(folder):
    """Markdown tables of committed result files (what the README quotes)."""
    with open(os.path.join(folder, "versus_gd_summary.json")) as fh:
        summary = json.load(fh)
    scaling_json = os.path.join(folder, "scaling.json")
    scal = {}
    if os.path.exists(scaling_json):
        with open(scaling_json) as fh:
            scal = json.load(fh)
    meta = summary["meta"]
    fmt = lambda x, spec: "n/a" if x != x else format(x, spec)  # noqa: E731  NaN: no call finished
    runs = meta.get("runs") or [dict(command=meta["command"], machine_start=meta["machine_start"],
                                     machine_end=meta["machine_end"], comparison_seconds=meta["comparison_seconds"],
                                     total_seconds=meta["total_seconds"], settings=["all"])]
    lines = []
    for run in runs:
        start, end = run["machine_start"], run["machine_end"]
        lines.append(
            f"Run of `{run['command']}` on {start['date']} (commit {start['git_head']}), nproc = {start['nproc']}, "
            f"load average {start['loadavg']} at start and {end['loadavg']} at end, "
            f"{run.get('workers', meta['workers'])} worker processes with single-threaded BLAS; times are "
            f"{run.get('clock', 'wall time')}; comparison {run['comparison_seconds']:.0f} s, total "
            f"{run['total_seconds']:.0f} s; settings: {', '.join(run['settings'])}.")
        lines.append("")
    if "estimated_comparison_seconds_all_settings" in meta:
        missing = meta.get("settings_without_pair_times") or []
        lines += [f"Sum of the instance pairs' CPU times over the settings that recorded them: "
                  f"{meta['instance_pair_seconds_all_settings'] / 60:.1f} min, i.e. about "
                  f"{meta['estimated_comparison_seconds_all_settings'] / 60:.1f} min of comparison on "
                  f"{BUDGET_CORES} cores"
                  + (f" (not recorded by older runs: {', '.join(missing)})." if missing else "."), ""]
    lines += [
        "| family | d | k | noisy | instances | n | tensor method | success tensor | success GD "
        "| success GD + refinement | median s tensor | median s GD | GD/tensor (medians) "
        "| median pair ratio GD/tensor | tensor faster |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summary["settings"]:
        ratio = s.get("ratio_of_median_times_gd_over_tensor", s["gd_median_seconds"] / s["tensor_median_seconds"])
        lines.append(
            f"| {s['family']} | {s['d']} | {s['k']} | {'yes' if s['noisy'] else 'no'} | {s['instances']} | {s['n']:,} "
            f"| `{s['tensor_method']}` | {s['tensor_success_rate']:.2f} | {s['gd_success_rate']:.2f} "
            f"| {s['gd_refined_success_rate']:.2f} | {s['tensor_median_seconds']:.2f} | {s['gd_median_seconds']:.2f} "
            f"| {fmt(ratio, '.2f')} | {fmt(s['median_time_ratio_gd_over_tensor'], '.2f')} "
            f"| {'yes' if ratio > 1 else 'no'} |")
    lines += [
        "",
        "Noisy settings (label noise 0.1): median parameter errors and the share of instances within twice "
        "the oracle's error:",
        "",
        "| family | d | k | instances | oracle | tensor | GD | GD + refinement "
        "| within 2x oracle (tensor / GD / GD + ref.) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summary["settings"]:
        if s["noisy"]:
            lines.append(
                f"| {s['family']} | {s['d']} | {s['k']} | {s['instances']} | {s['oracle_median_error']:.3f} "
                f"| {fmt(s['tensor_median_error'], '.3f')} | {s['gd_median_error']:.3f} "
                f"| {s['gd_refined_median_error']:.3f} | {s['tensor_within_2x_oracle_rate']:.2f} / "
                f"{s['gd_within_2x_oracle_rate']:.2f} / {s['gd_refined_within_2x_oracle_rate']:.2f} |")
    if not scal:
        return "\n".join(lines)
    lines += [
        "",
        "Scaling (fitted exponent = least-squares slope of log time against log n or log d; peak traced memory, "
        "measured by a second, traced call only where the timed call took under 5 s; for the pipelines also the "
        "resident-memory high-water mark of the worker process, samples and interpreter included):",
        "",
        "| measurement | grid | exponent | peak traced memory (MiB) | peak resident memory (MiB) "
        "| runs that hit the time limit |",
        "|---|---|---|---|---|---|",
    ]
    for key in sorted(k for k in scal if k.endswith(("_vs_n", "_vs_d"))):
        rows = scal[key]["rows"]
        axis = key[-1]
        fixed = f"d = {rows[0]['d']}" if axis == "n" else f"n = {rows[0]['n']}"
        peaks = [r["peak_mib"] for r in rows if r["peak_mib"] == r["peak_mib"]]
        rss = [r["rss_peak_mib"] for r in rows if "rss_peak_mib" in r]
        hit = [f"{axis}={r[axis]:g}" for r in rows if r.get("failure")]
        lines.append(f"| {key} | {axis} = {', '.join(f'{r[axis]:g}' for r in rows)} ({fixed}) "
                     f"| {scal[key]['exponent']:.2f} | {max(peaks):.0f} | {f'{max(rss):.0f}' if rss else 'n/a'} "
                     f"| {', '.join(hit) or 'none'} |")
    return "\n".join(lines)


def parse_settings(family, settings):
    """The settings selected by ``--family`` and ``--settings`` (default: all of SETTINGS).

    ``settings`` is a ``;``-separated list of ``d,k`` (noiseless and noisy, where defined),
    ``d,k,noiseless`` or ``d,k,noisy``.
    """
    chosen = [s for s in SETTINGS if family in (None, "all", s[0])]
    if settings:
        wanted = set()
        for item in settings.split(";"):
            parts = [p.strip() for p in item.split(",")]
            if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] not in ("noisy", "noiseless")):
                raise SystemExit(f"--settings: expected items 'd,k' or 'd,k,noisy|noiseless', got {item!r}")
            d, k = int(parts[0]), int(parts[1])
            for noisy in ((False, True) if len(parts) == 2 else (parts[2] == "noisy",)):
                wanted.add((d, k, noisy))
        chosen = [s for s in chosen if s[1:] in wanted]
    if not chosen:
        raise SystemExit("no setting matches --family/--settings; settings are " + ", ".join(
            f"{f}:{d},{k},{'noisy' if nz else 'noiseless'}" for f, d, k, nz in SETTINGS))
    return chosen


def _typed(row):
    """A row read back from versus_gd_instances.csv, with numbers as numbers."""
    out = {}
    for key, value in row.items():
        if key in ("d", "k", "noisy", "instance", "n", "tensor_warnings", "gd_steps"):
            out[key] = int(value)
        elif key in ("family", "tensor_method", "tensor_failure", "gd_stopped_by", "run"):
            out[key] = value
        else:
            out[key] = float(value) if value != "" else float("nan")
    return out


def _runs_of(meta, rows):
    """The runs of a summary's meta; files from before runs were recorded hold one run."""
    if meta.get("runs"):
        return meta["runs"]
    start = meta["machine_start"]
    settings = sorted({f"{r['family']}:{r['d']},{r['k']},{'noisy' if r['noisy'] else 'noiseless'}" for r in rows})
    return [dict(run=f"{start['date']} {start['git_head']}", command=meta["command"], machine_start=start,
                 workers=meta["workers"], clock="wall time (runs before CPU times were recorded)",
                 machine_end=meta["machine_end"], comparison_seconds=meta["comparison_seconds"],
                 total_seconds=meta["total_seconds"], settings=settings)]


def _budget(summary):
    """Summed instance-pair CPU seconds over the settings that recorded them, and the others."""
    measured = [s for s in summary if s.get("instance_seconds_total") is not None]
    unmeasured = [f"{s['family']}:{s['d']},{s['k']},{'noisy' if s['noisy'] else 'noiseless'}"
                  for s in summary if s.get("instance_seconds_total") is None]
    return float(sum(s["instance_seconds_total"] for s in measured)), unmeasured


def resummarise(folder):
    """Recompute versus_gd_summary.json's settings from versus_gd_instances.csv (same data)."""
    with open(os.path.join(folder, "versus_gd_instances.csv"), newline="") as fh:
        rows = [_typed(r) for r in csv.DictReader(fh)]
    path = os.path.join(folder, "versus_gd_summary.json")
    with open(path) as fh:
        meta = json.load(fh)["meta"]
    summary = summarise(rows)
    all_pairs, unmeasured = _budget(summary)
    meta.update(instance_pair_seconds_all_settings=all_pairs, settings_without_pair_times=unmeasured,
                estimated_comparison_seconds_all_settings=all_pairs / BUDGET_CORES)
    with open(path, "w") as fh:
        json.dump(dict(meta=meta, settings=summary), fh, indent=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 instances per setting, small scaling grid")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--out", default=RESULTS, help="output folder (default benchmarks/results)")
    parser.add_argument("--family", choices=("all",) + FAMILIES, default="all",
                        help="run only this model family (its rows replace those in the result files)")
    parser.add_argument("--settings", default=None,
                        help="run only these sizes, e.g. '50,10;100,20' or '50,10,noisy' "
                             "(their rows replace those in the result files)")
    parser.add_argument("--scaling", action="store_true",
                        help="also run the scaling measurements (default: only on a run of all settings)")
    parser.add_argument("--skip-scaling", action="store_true", help="never run the scaling measurements")
    parser.add_argument("--resummarise", action="store_true",
                        help="only recompute the summary file from the instances file in --out")
    parser.add_argument("--report", action="store_true",
                        help="only print the README's markdown tables from the result files in --out")
    args = parser.parse_args()
    if args.report:
        print(report(args.out))
        return
    if args.resummarise:
        resummarise(args.out)
        return
    chosen = parse_settings(args.family, args.settings)
    partial = len(chosen) < len(SETTINGS)
    os.makedirs(args.out, exist_ok=True)
    start = machine()
    run_id = f"{start['date']} {start['git_head']}"
    t0 = time.perf_counter()
    counts = {}
    for f, d, k, nz in chosen:
        count = N_INSTANCES[(f, (d, k), bool(nz))]
        if args.quick:  # a smoke run: at most two instances per setting
            count = min(count, 2)
        counts[(f, d, k, nz)] = count
    # the slowest tasks first, so that the two workers finish together
    order = sorted(chosen, key=lambda s: (-s[1], not s[3], s[0]))
    tasks = [(f, d, k, nz, i, GD_STEPS[(d, k)]) for f, d, k, nz in order for i in range(counts[(f, d, k, nz)])]
    print(f"{len(tasks)} instance pairs in {len(chosen)} settings on {args.workers} workers", flush=True)
    rows = []
    with multiprocessing.get_context("fork").Pool(args.workers) as pool:
        for j, row in enumerate(pool.imap_unordered(run_instance, tasks, chunksize=1)):
            row["run"] = run_id
            rows.append(row)
            if (j + 1) % 20 == 0:
                print(f"  {j + 1}/{len(tasks)} done, {time.perf_counter() - t0:.0f} s", flush=True)
    comparison_seconds = time.perf_counter() - t0
    instances_csv = os.path.join(args.out, "versus_gd_instances.csv")
    summary_json = os.path.join(args.out, "versus_gd_summary.json")
    previous_runs = []
    if partial and os.path.exists(instances_csv):  # merge: keep the rows of the settings not rerun
        with open(instances_csv, newline="") as fh:
            old = [_typed(r) for r in csv.DictReader(fh)]
        rerun = set(chosen)
        kept = [r for r in old if (r["family"], r["d"], r["k"], bool(r["noisy"])) not in rerun]
        rows += kept
        if os.path.exists(summary_json):
            with open(summary_json) as fh:
                previous_runs = _runs_of(json.load(fh)["meta"], old)
        for r in kept:  # rows of files written before runs were recorded
            r["run"] = r.get("run") or previous_runs[0]["run"]
        live = {r["run"] for r in kept}
        previous_runs = [r for r in previous_runs if r["run"] in live]
    rows.sort(key=lambda r: (r["family"], r["d"], r["noisy"], r["instance"]))
    fields = list(dict.fromkeys(key for r in rows for key in r))
    with open(instances_csv, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, restval="")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    summary = summarise(rows)
    for s in summary:
        print(f"{s['family']:6s} d={s['d']:3d} k={s['k']:2d} noisy={s['noisy']} [{s['instances']}]: "
              f"{s['tensor_method']} success {s['tensor_success_rate']:.2f} median {s['tensor_median_seconds']:.2f} s | "
              f"GD success {s['gd_success_rate']:.2f} median {s['gd_median_seconds']:.2f} s | "
              f"GD+refine {s['gd_refined_success_rate']:.2f} | ratio GD/tensor of medians "
              f"{s['ratio_of_median_times_gd_over_tensor']:.2f}", flush=True)
    run_scaling = not args.skip_scaling and (args.scaling or not partial)
    scal = scaling(args.quick, args.workers) if run_scaling else {}
    for key, val in scal.items():
        if isinstance(val, dict) and "exponent" in val:
            print(f"  exponent {key}: {val['exponent']:.2f}")
    end = machine()
    command = "python3 benchmarks/versus_gd.py" + " ".join(
        [""] + (["--quick"] if args.quick else []) + ([f"--family {args.family}"] if args.family != "all" else [])
        + ([f"--settings '{args.settings}'"] if args.settings else []))
    this_run = dict(run=run_id, command=command, machine_start=start, machine_end=end, workers=args.workers,
                    clock="CPU time of the worker process",
                    comparison_seconds=comparison_seconds, total_seconds=time.perf_counter() - t0,
                    settings=[f"{f}:{d},{k},{'noisy' if nz else 'noiseless'}" for f, d, k, nz in chosen])
    runs = previous_runs + [this_run]
    # The budget of a run of all settings on `workers` processes, from the instance pairs'
    # wall times (each on one worker), whichever run they came from.
    all_pairs, unmeasured = _budget(summary)
    meta = dict(command=command, machine_start=start, machine_end=end, workers=args.workers, blas_threads=1,
                comparison_seconds=comparison_seconds, total_seconds=time.perf_counter() - t0,
                runs=runs, merged=len(runs) > 1,
                instance_pair_seconds_all_settings=all_pairs, settings_without_pair_times=unmeasured,
                estimated_comparison_seconds_all_settings=all_pairs / BUDGET_CORES,
                instances={f"{f}:{d},{k},{'noisy' if nz else 'noiseless'}": c for (f, d, k, nz), c in counts.items()},
                tensor_time_limit={f"{d},{k}": TENSOR_TIME_LIMIT[(d, k)] for d, k in SIZES},
                scaling_time_limit=SCALING_TIME_LIMIT, n_samples={f"{d},{k}": N_SAMPLES[(d, k)] for d, k in SIZES},
                n_samples_noisy=N_SAMPLES_NOISY, refine_samples=REFINE_SAMPLES,
                gd_steps={f"{d},{k}": GD_STEPS[(d, k)] for d, k in SIZES}, gd=dict(GD, loss_tol=GD_LOSS_TOL),
                noise=NOISE, success_tol=SUCCESS_TOL,
                missing=[m for m in ("recover_with_bias", "recover_exact", "recover_noisy") if not _has(m)],
                note="Timings depend on the load of the machine; see loadavg at start and end of each run.")
    if runs and len(runs) > 1:
        meta["instances"] = {f"{s['family']}:{s['d']},{s['k']},{'noisy' if s['noisy'] else 'noiseless'}":
                             s["instances"] for s in summary}
    with open(summary_json, "w") as fh:
        json.dump(dict(meta=meta, settings=summary), fh, indent=1)
    if scal:
        with open(os.path.join(args.out, "scaling.json"), "w") as fh:
            json.dump(dict(meta=meta, **scal), fh, indent=1)
    print(f"done in {time.perf_counter() - t0:.0f} s; results in {args.out}")


if __name__ == "__main__":
    main()
