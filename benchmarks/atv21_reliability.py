"""Benchmark: how often recover_with_bias certifies at (d, k) = (50, 10) with fewer samples.

Run from the repository root (about 3 minutes of CPU):

    python3 benchmarks/atv21_reliability.py

The instances are those of the biased noiseless (50, 10) setting of
``benchmarks/versus_gd.py`` (network ``rl.random_network(50, 10, 1,
bias_scale=1.0, rng=SEED + i)``, samples from ``rng=SEED + 10**6 + i``, the
tensor call with ``rng=SEED + i``), here with n = 1e5 samples instead of 2e5
(versus_gd reports n = 2e5). It writes ``results/atv21_reliability.json``: per
instance the parameter error, the certificate, the tensor-stage attempts and
the CPU time; the success rate (parameter error <= 1e-6) and the median time.
Single-threaded BLAS, ``--workers`` processes (default 2).
"""

from __future__ import annotations

import argparse
import os
import sys

if __name__ == "__main__":
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = "1"

import json
import multiprocessing
import time
import warnings

import numpy as np
import provenance  # noqa: E402 (benchmarks/provenance.py)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import relulib as rl  # noqa: E402

SEED = 20260  # as in versus_gd.py
D, K, N, INSTANCES = 50, 10, 100_000, 50
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def run(i):
    net = rl.random_network(D, K, 1, bias_scale=1.0, rng=SEED + i)
    X, Y = rl.gaussian_samples(net, N, rng=SEED + 10**6 + i)
    t0 = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rl.CertificateWarning)
        res = rl.recover_with_bias(X, Y, K, rng=SEED + i)
    seconds = time.process_time() - t0
    return dict(instance=i, error=rl.parameter_error(net, res.network), certified=bool(res.certified),
                attempts=int(res.iterations), cpu_seconds=seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default=RESULTS)
    args = parser.parse_args()
    start = provenance.now()
    commit = provenance.commit()  # the code measured: the state at the start
    load = provenance.load_average()
    with multiprocessing.get_context("fork").Pool(args.workers) as pool:
        rows = sorted(pool.map(run, range(INSTANCES), chunksize=1), key=lambda r: r["instance"])
    ok = [r["error"] <= 1e-6 for r in rows]
    summary = dict(d=D, k=K, n=N, instances=INSTANCES, success_rate=float(np.mean(ok)),
                   certified_rate=float(np.mean([r["certified"] for r in rows])),
                   certified_but_wrong=int(sum(r["certified"] and not o for r, o in zip(rows, ok))),
                   median_cpu_seconds=float(np.median([r["cpu_seconds"] for r in rows])),
                   mean_attempts=float(np.mean([r["attempts"] for r in rows])),
                   date=start, loadavg_start=load, workers=args.workers, commit=commit)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "atv21_reliability.json"), "w") as fh:
        json.dump(dict(summary=summary, instances=rows), fh, indent=1)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
