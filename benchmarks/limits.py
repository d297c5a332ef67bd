"""Benchmark: where recover_exact and recover_with_bias stop working.

Run from the repository root (one command, one process, one BLAS thread):

    python3 benchmarks/limits.py                      # about 5 minutes of CPU time
    python3 benchmarks/limits.py --quick --out /tmp   # smoke run, 3 instances per setting

It writes ``benchmarks/results/limits.json``, read by the chapter "Limits of the
methods" (``book/limits.ipynb``). The file records, for every setting, the
number of instances, how many were *certified* (the result's ``certified``
field), how many were *correct* (parameter error at most ``SUCCESS_TOL`` =
1e-6 after matching units), how many were wrong *and* certified (a silent
failure; the certificate is meant to make this zero), and the median
parameter error; plus the command, the CPU time and wall time of the run,
the date and the library versions.

Settings (``BASE`` unless varied; ``N_INSTANCES`` = 20 seeded instances per
setting; instance ``i`` of a setting draws its network with
``rng=SEED + i`` and its samples with ``rng=SEED + 10**6 + i``):

* ``recover_with_bias``: one output, ``d = 8``, ``k = 4``, biases uniform in
  ``[-1, 1]``, ``n = 10**5`` samples.

  - conditioning of ``V``: condition number 1, 10, 100 (construction below);
  - bias size: ``|b_i|`` uniform in ``[0, 1]``, ``[1, 2]``, ``[2, 3]``,
    ``[3, 4]`` with random signs, at ``n = 10**5`` and at ``n = 10**6``;
  - width: ``k = 2, 4, 6, 7, 8`` at ``d = 8`` (rows of ``V`` uniform on the
    sphere, as in ``rl.random_network``: at ``k = d`` such a matrix is often
    badly conditioned, and the median condition number is recorded);
  - samples: ``n = 900`` (the minimum: ``20 k (d + 1)`` training samples
    after the 20 % held out), 2000, ``10**4``, ``10**5``.

* ``recover_exact``: ``m = k`` outputs, no bias, ``d = 8``, ``k = 4``,
  ``n = 5000``.

  - conditioning of ``V``: 1, 10, 100;
  - width: ``k = 2, 4, 6, 7, 8``;
  - samples: ``n = 320`` (the minimum ``10 d k``), 500, 1000, 2000, 5000.

Conditioning: ``V`` with unit rows and condition number exactly ``kappa``:
``k`` orthonormal rows (a random orthogonal matrix), of which the second is
replaced by ``c v_1 + sqrt(1 - c^2) v_2`` with
``c = (kappa^2 - 1) / (kappa^2 + 1)``. The Gram matrix then has eigenvalues
``1 - c``, ``1`` (``k - 2`` times) and ``1 + c``, so the singular values of
``V`` are ``sqrt(1 -+ c)`` and ``kappa = sqrt((1 + c) / (1 - c))``: one pair
of units at angle ``arccos c`` (11.4 degrees at ``kappa = 10``, 1.15
degrees at ``kappa = 100``), the others orthogonal. Output
weights as in ``rl.random_network`` (random signs, magnitudes in [0.5, 1.5]).

BLAS threads: the ``recover_with_bias`` instances of the bias setting
``[2, 3]`` at ``n = 10**5`` and of ``kappa = 100`` are run a second time with
two BLAS threads (``threadpoolctl.threadpool_limits(2)``); the file records
the largest difference of the recovered parameters and of the residuals
between the two runs, and how many instances changed their certificate.
"""

from __future__ import annotations

import argparse
import os
import sys

if __name__ == "__main__":  # single-threaded BLAS, set before numpy is imported
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = "1"

import json
import platform
import time
import warnings

import numpy as np
import provenance  # noqa: E402 (benchmarks/provenance.py)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import relulib as rl  # noqa: E402

SEED = 15_000
N_INSTANCES = 20
SUCCESS_TOL = 1e-6
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
BASE = {
    "recover_with_bias": dict(d=8, k=4, n=100_000, kappa=None, bias=(0.0, 1.0)),
    "recover_exact": dict(d=8, k=4, n=5000, kappa=None, bias=None),
}


def conditioned_rows(d, k, kappa, rng):
    """``k x d`` matrix with unit rows and condition number ``kappa`` (docstring)."""
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    V = Q[:k].copy()
    if k >= 2 and kappa > 1:
        c = (kappa**2 - 1) / (kappa**2 + 1)
        V[1] = c * Q[0] + np.sqrt(1 - c * c) * Q[1]
    return V


def instance(method, setting, i):
    """The network and samples of instance ``i`` of a setting."""
    rng = np.random.default_rng(SEED + i)
    d, k = setting["d"], setting["k"]
    m = 1 if method == "recover_with_bias" else k
    if setting["kappa"] is None:
        V = rng.standard_normal((k, d))
        V /= np.linalg.norm(V, axis=1, keepdims=True)
    else:
        V = conditioned_rows(d, k, setting["kappa"], rng)
    U = rng.choice([-1.0, 1.0], size=(m, k)) * rng.uniform(0.5, 1.5, size=(m, k))
    if setting["bias"] is None:
        b = np.zeros(k)
    else:
        lo, hi = setting["bias"]
        b = rng.choice([-1.0, 1.0], size=k) * rng.uniform(lo, hi, size=k)
    net = rl.TwoLayerNetwork(U, V, b)
    X, Y = rl.gaussian_samples(net, setting["n"], rng=SEED + 10**6 + i)
    return net, X, Y


def run_one(method, net, X, Y, k, i):
    fn = getattr(rl, method)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = fn(X, Y, k, rng=SEED + 2 * 10**6 + i)
        except ValueError as exc:  # e.g. too few samples for the method
            return None, str(exc)
    return res, None


def run_setting(method, axis, value, setting, n_inst, threads_check):
    rows = []
    conds = []
    errors_msg = None
    thread_stats = {"max_param_diff": 0.0, "max_residual_rel_diff": 0.0, "flips": 0, "instances": 0}
    for i in range(n_inst):
        net, X, Y = instance(method, setting, i)
        conds.append(float(np.linalg.cond(net.V)))
        res, msg = run_one(method, net, X, Y, setting["k"], i)
        if res is None:
            rows.append(None)
            errors_msg = msg
            continue
        err = float(rl.parameter_error(net, res.network))
        rows.append((bool(res.certified), err))
        if threads_check:
            from threadpoolctl import threadpool_limits

            with threadpool_limits(2):
                res2, _ = run_one(method, net, X, Y, setting["k"], i)
            diff = float(max(np.max(np.abs(res.network.V - res2.network.V)),
                             np.max(np.abs(res.network.U - res2.network.U)),
                             np.max(np.abs(res.network.b - res2.network.b))))
            rel = abs(res.residual - res2.residual) / max(res.residual, 1e-300)
            thread_stats["instances"] += 1
            thread_stats["max_param_diff"] = max(thread_stats["max_param_diff"], diff)
            thread_stats["max_residual_rel_diff"] = max(thread_stats["max_residual_rel_diff"], float(rel))
            thread_stats["flips"] += int(res.certified != res2.certified)
    done = [r for r in rows if r is not None]
    out = {
        "method": method,
        "axis": axis,
        "value": value,
        "d": setting["d"],
        "k": setting["k"],
        "n": setting["n"],
        "kappa": setting["kappa"],
        "bias": list(setting["bias"]) if setting["bias"] is not None else None,
        "instances": n_inst,
        "refused": n_inst - len(done),
        "refused_message": errors_msg,
        "certified": sum(c for c, _ in done),
        "correct": sum(e <= SUCCESS_TOL for _, e in done),
        "silent_failures": sum(c and e > SUCCESS_TOL for c, e in done),
        "median_error": float(np.median([e for _, e in done])) if done else None,
        "median_cond": float(np.median(conds)),
    }
    if threads_check:
        out["threads"] = thread_stats
    return out


def settings():
    """(method, axis, value, setting, threads_check) for every setting of the docstring."""
    for method in ("recover_with_bias", "recover_exact"):
        base = BASE[method]
        for kappa in (1.0, 10.0, 100.0):
            yield method, "kappa", kappa, {**base, "kappa": kappa}, (
                method == "recover_with_bias" and kappa == 100.0)
        if method == "recover_with_bias":
            for n in (100_000, 1_000_000):
                for lo in (0, 1, 2, 3):
                    yield method, f"bias_n{n}", [lo, lo + 1], {**base, "n": n, "bias": (lo, lo + 1)}, (
                        n == 100_000 and lo == 2)
        for k in (2, 4, 6, 7, 8):
            yield method, "k", k, {**base, "k": k}, False
        ns = ((900, 2000, 10_000, 100_000) if method == "recover_with_bias"
              else (320, 500, 1000, 2000, 5000))
        for n in ns:
            yield method, "n", n, {**base, "n": n}, False


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 instances per setting")
    parser.add_argument("--out", default=RESULTS, help="output directory")
    args = parser.parse_args(argv)
    n_inst = 3 if args.quick else N_INSTANCES
    cpu0, wall0 = time.process_time(), time.time()
    commit = provenance.commit()  # the code measured: the state at the start
    results = []
    for method, axis, value, setting, threads_check in settings():
        t = time.process_time()
        row = run_setting(method, axis, value, setting, n_inst, threads_check)
        row["cpu_seconds"] = round(time.process_time() - t, 1)
        results.append(row)
        print(f"{method:18s} {axis:12s} {str(value):12s} certified {row['certified']:2d}/"
              f"{n_inst} correct {row['correct']:2d} silent {row['silent_failures']} "
              f"refused {row['refused']} ({row['cpu_seconds']} s)", flush=True)
    import threadpoolctl

    summary = {
        "command": "python3 benchmarks/limits.py" + (" --quick" if args.quick else ""),
        "date": provenance.now(),
        "commit": commit,
        "cpu_seconds": round(time.process_time() - cpu0, 1),
        "wall_seconds": round(time.time() - wall0, 1),
        "blas_threads": 1,
        "seed": SEED,
        "instances_per_setting": n_inst,
        "success_tol": SUCCESS_TOL,
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "threadpoolctl": threadpoolctl.__version__},
        "settings": results,
    }
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "limits.json")
    with open(path, "w") as fh:
        json.dump(summary, fh, indent=1)
        fh.write("\n")
    print(f"wrote {path}: {summary['cpu_seconds']} s CPU, {summary['wall_seconds']} s wall")


if __name__ == "__main__":
    main()
