"""Benchmark: ATV21's moments and recover_with_bias on Dask, samples generated lazily.

Run from the repository root (with ``pip install "relulib[dask]"``):

    python3 benchmarks/dask_scale.py                 # n = 1e8, d = 50, k = 10
    python3 benchmarks/dask_scale.py --n 10000000    # a smaller run
    python3 benchmarks/dask_scale.py --skip-moments  # recover_with_bias only (its moments included)
    python3 benchmarks/dask_scale.py --report        # the table of the last result file

What it measures. A biased network (d = 50, k = 10, ``bias_scale=1``) and its
samples ``rl.gaussian_samples_dask(net, n, chunk_rows, seed)``: row blocks drawn on the
workers from a seed whenever a task needs them, so the n x d inputs (40 GB at
n = 1e8) never exist anywhere. On a ``distributed.LocalCluster`` of two
single-threaded worker processes (one BLAS thread each):

1. ``rl.projected_moments(X, Y, k)``: the reductions of ATV21's moment stage
   (``T_0, T_1``; ``T_2`` of the residualised labels; then the projected ``T_3`` and
   ``T_4`` from one Gram: three passes);
2. ``rl.recover_with_bias(X, Y, k, rng=...)``: the same reductions on all rows
   but the held-out ones, then the tensor stage, polishing and certificate on
   bounded in-memory subsamples (at most 100 000 held-out rows, 10 000 polishing rows).

For each it records the wall time, the CPU time (user + system of the two worker
processes and of this process, which holds the client and the cluster's scheduler, from
psutil) and the peak resident memory of
each worker process (psutil, sampled every 0.2 s). The samples are generated once
per reduction, and that generation is part of the times. It also
records whether the recovery is certified, its held-out residual and its parameter
error against the planted network. Results go to
``benchmarks/results/dask_scale.json``; the machine is shared, so wall times vary
with its load (CPU times less).

The committed result file is the run at n = 1e8 with ``--skip-moments`` (about 31 minutes
of CPU on the 2-core development machine, which was shared with another benchmark), made on
commit f54ebca, whose moment stage still made four passes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import provenance  # noqa: E402 (benchmarks/provenance.py)

RESULTS = Path(__file__).resolve().parent / "results" / "dask_scale.json"


class WorkerMonitor:
    """Peak RSS of a set of processes, sampled in a background thread."""

    def __init__(self, pids, period=0.2):
        import psutil

        self.procs = {pid: psutil.Process(pid) for pid in pids}
        self.peak = {pid: 0 for pid in pids}
        self.period = period
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            for pid, p in self.procs.items():
                try:
                    self.peak[pid] = max(self.peak[pid], p.memory_info().rss)
                except Exception:  # a worker restarting: skip this sample
                    pass
            self._stop.wait(self.period)

    def cpu(self):
        total = 0.0
        for p in self.procs.values():
            t = p.cpu_times()
            total += t.user + t.system
        return total

    def __enter__(self):
        self.peak = {pid: p.memory_info().rss for pid, p in self.procs.items()}
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def measured(client, fn):
    """Run ``fn()``; wall time, CPU time of workers and client, peak RSS per worker (MiB)."""
    import psutil

    pids = list(client.run(os.getpid).values())
    me = psutil.Process()
    with WorkerMonitor(pids) as mon:
        c0, w0, t0 = me.cpu_times(), mon.cpu(), time.perf_counter()
        out = fn()
        wall = time.perf_counter() - t0
        c1, w1 = me.cpu_times(), mon.cpu()
    return out, {
        "wall_s": wall,
        "cpu_workers_s": w1 - w0,
        "cpu_client_s": (c1.user + c1.system) - (c0.user + c0.system),
        "peak_rss_mib_per_worker": [mon.peak[p] / 2**20 for p in pids],
    }


def run(n, d, k, chunk_rows, seed, moments_alone=True):
    import dask
    import distributed

    import relulib as rl

    commit = provenance.commit()  # the code measured: the state at the start
    net = rl.random_network(d, k, bias_scale=1.0, rng=seed)
    env = {v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=":0", env=env)
    with distributed.Client(cluster) as client:
        X, Y = rl.gaussian_samples_dask(net, n, chunk_rows=chunk_rows, seed=seed + 1)
        idle = [r / 2**20 for r in client.run(lambda: __import__("psutil").Process().memory_info().rss).values()]
        moments = None
        if moments_alone:
            _, moments = measured(client, lambda: rl.projected_moments(X, Y, k))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res, recovery = measured(client, lambda: rl.recover_with_bias(X, Y, k, rng=seed + 2))
    cluster.close()
    return {
        "n": n, "d": d, "k": k, "chunk_rows": chunk_rows, "blocks": len(X.chunks[0]),
        "seed": seed, "workers": 2, "threads_per_worker": 1,
        "input_gib_if_materialised": n * d * 8 / 2**30,
        "idle_rss_mib_per_worker": idle,
        **({"projected_moments": moments} if moments is not None else {}),
        "recover_with_bias": recovery | {
            "certified": bool(res.certified), "residual": float(res.residual),
            "parameter_error": float(rl.parameter_error(net, res.network)),
            "attempts": int(res.iterations), "warnings": [str(w.message) for w in caught],
        },
        "versions": {"dask": dask.__version__, "distributed": distributed.__version__,
                     "numpy": np.__version__, "python": platform.python_version()},
        "machine": {"cpus": os.cpu_count(), "load_average_at_end": os.getloadavg()},
        "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "commit": commit,
    }


def report(path=RESULTS):
    r = json.loads(path.read_text())
    print(f"n = {r['n']:.0e}, d = {r['d']}, k = {r['k']}, {r['blocks']} blocks of {r['chunk_rows']} rows "
          f"(inputs {r['input_gib_if_materialised']:.1f} GiB if materialised), "
          f"{r['workers']} workers x {r['threads_per_worker']} thread, {r['date_utc']} UTC"
          f"{', commit ' + r['commit'] if 'commit' in r else ''}, "
          f"load average {r['machine']['load_average_at_end'][0]:.1f} on "
          f"{r['machine']['cpus']} CPUs at the end")
    print("| call | wall | CPU (workers + client/scheduler) | peak RSS per worker |")
    print("|---|---|---|---|")
    for name in ("projected_moments", "recover_with_bias"):
        if name not in r:  # a run with --skip-moments
            continue
        m = r[name]
        rss = ", ".join(f"{x:.0f}" for x in m["peak_rss_mib_per_worker"])
        print(f"| {name} | {m['wall_s']:.0f} s | {m['cpu_workers_s'] + m['cpu_client_s']:.0f} s | {rss} MiB |")
    rec = r["recover_with_bias"]
    idle = ", ".join(f"{x:.0f}" for x in r["idle_rss_mib_per_worker"])
    print(f"\nidle worker RSS {idle} MiB; recover_with_bias certified={rec['certified']}, "
          f"held-out residual {rec['residual']:.1e}, parameter error {rec['parameter_error']:.1e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=float, default=1e8, help="number of samples (default 1e8)")
    parser.add_argument("--d", type=int, default=50)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--chunk-rows", type=int, default=500_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--report", action="store_true", help="print the table of the result file and exit")
    parser.add_argument("--skip-moments", action="store_true",
                        help="measure recover_with_bias only (its moment stage is the same reductions)")
    args = parser.parse_args()
    if args.report:
        report(args.out)
        return
    result = run(int(args.n), args.d, args.k, args.chunk_rows, args.seed, moments_alone=not args.skip_moments)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    report(args.out)


if __name__ == "__main__":
    main()
