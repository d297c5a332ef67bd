"""Benchmark: the contracted and projected Hermite moments against the cost of one Gram pass.

Run from the repository root:

    python3 benchmarks/moments.py            # n = 2e5, d in {20, 50, 100}, 7 rounds; streamed n = 1e7
    python3 benchmarks/moments.py --quick    # n = 5e4, 3 rounds, no streamed run (a smoke test)
    python3 benchmarks/moments.py --report   # print the README table from the result file

Everything runs with one BLAS thread (``threadpoolctl.threadpool_limits(1)``) and is
timed in CPU time (``time.process_time``). For each d, every round runs each of
the following once, on the same data, in a rotated order:

* the *floors*: one Gram pass ``X.T @ (y[:, None] * X)`` over all samples
  (unchunked), and the same pass over chunks of rows of the library's chunk
  policy (``relulib.moments.chunk_rows``, work arrays of about 4 MiB), which is
  the faster of the two and the floor the ratios are taken against;
* ``rl.moment_matrix(X, y, 3, g)``, the contraction ``T_3[., ., g]``;
* ``rl.moment_matrix(X, y, 4, g, h)``, the contraction ``T_4[., ., g, h]``;
* ``rl.HermiteMomentAccumulator(d, g3=g, g4=g, h4=h)``: ``T_2``, ``T_3[., ., g]``
  and ``T_4[., ., g, h]`` streamed together;
* ``rl.ProjectedMomentAccumulator(P)`` with ``k = d / 5`` orthonormal columns:
  the projected ``T_2, T_3, T_4`` of ATV21's moment stage from one weighted
  Gram of the monomials of ``z = P^T x`` up to degree 2;
* ``rl.projected_moments(X, y, k)``: ATV21's whole moment stage (a ``T_0 .. T_2``
  pass, the residualisation, the eigenvectors and the projected moments).

The ratio of a method is the median over rounds of its CPU time divided by the
chunked floor's CPU time in the same round. Results go to
``benchmarks/results/moments.json``. The streamed run feeds n = 1e7 samples,
drawn chunk by chunk, to ``rl.HermiteMomentAccumulator`` and reports the peak
of traced memory.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

import relulib as rl
from relulib.moments import chunk_rows

RESULTS = Path(__file__).resolve().parent / "results" / "moments.json"

METHODS = {
    "gram_unchunked": "X.T @ (y X), all samples at once",
    "gram_chunked": "X.T @ (y X), chunked (the floor)",
    "T3": "T_3[., ., g]",
    "T4": "T_4[., ., g, h]",
    "T234": "T_2 + T_3[., ., g] + T_4[., ., g, h] streamed",
    "projected": "projected T_2, T_3, T_4 (one Gram, k = d/5)",
    "moment_stage": "projected_moments (ATV21 moment stage)",
}


def gram_unchunked(X, y):
    return X.T @ (y[:, None] * X)


def gram_chunked(X, y):
    """The floor: the Gram pass over chunks of rows of the library's chunk policy."""
    d = X.shape[1]
    step = chunk_rows(d)
    G = np.zeros((d, d))
    for start in range(0, X.shape[0], step):
        Xc = X[start : start + step]
        G += Xc.T @ (y[start : start + step, None] * Xc)
    return G


def streamed_234(X, y, g, h):
    acc = rl.HermiteMomentAccumulator(X.shape[1], g3=g, g4=g, h4=h).update(X, y)
    return acc.T2(), acc.T3(), acc.T4()


def one_setting(n: int, d: int, rounds: int) -> dict:
    rng = np.random.default_rng(1000 + d)
    k = max(2, d // 5)
    net = rl.random_network(d, k, bias_scale=1.0, rng=rng)
    X, Y = rl.gaussian_samples(net, n, rng=rng)
    y = Y[:, 0]
    g, h = rng.standard_normal((2, d))
    P = np.linalg.qr(rng.standard_normal((d, k)))[0]
    r = y - y.mean()
    calls = {
        "gram_unchunked": lambda: gram_unchunked(X, y),
        "gram_chunked": lambda: gram_chunked(X, y),
        "T3": lambda: rl.moment_matrix(X, y, 3, g),
        "T4": lambda: rl.moment_matrix(X, y, 4, g, h),
        "T234": lambda: streamed_234(X, y, g, h),
        "projected": lambda: rl.ProjectedMomentAccumulator(P).update(X, r).moments(),
        "moment_stage": lambda: rl.projected_moments(X, y, k),
    }
    names = list(calls)
    for name in names:  # warm-up (allocations, caches)
        calls[name]()
    times = {name: [] for name in names}
    for j in range(rounds):
        order = names[j % len(names):] + names[: j % len(names)]
        for name in order:
            t0 = time.process_time()
            calls[name]()
            times[name].append(time.process_time() - t0)
    floor = np.array(times["gram_chunked"])
    row = dict(d=d, n=n, k=k, chunk_rows=chunk_rows(d))
    for name in names:
        t = np.array(times[name])
        row[name] = dict(median_cpu_s=float(np.median(t)), ratio_to_chunked=float(np.median(t / floor)),
                         times=[float(v) for v in t])
    return row


def stream_moments(d: int, n: int, rng, chunk: int):
    """Stream ``n`` samples, drawn chunk by chunk, into a ``HermiteMomentAccumulator``.

    The accumulator holds ``T_0 .. T_2`` and one contraction of ``T_3`` and of
    ``T_4`` (vectors ``g``, ``h``). Returns ``(net, g, T3, T4, seconds, peak)``:
    the network (``min(5, d)`` units), ``g``, the contractions, the wall time
    (sampling included) and the peak traced memory in bytes.
    Also used by ``versus_gd.py``.
    """
    net = rl.random_network(d, min(5, d), bias_scale=1.0, rng=rng)
    g, h = rng.standard_normal((2, d))
    acc = rl.HermiteMomentAccumulator(d, g3=g, g4=g, h4=h)
    tracemalloc.start()
    t0 = time.perf_counter()
    done = 0
    while done < n:
        X, y = rl.gaussian_samples(net, min(chunk, n - done), rng=rng)
        acc.update(X, y)
        done += X.shape[0]
    T3, T4 = acc.T3()[0, 0], acc.T4()[0, 0]
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return net, g, T3, T4, seconds, peak


def streamed(n: int, d: int, chunk: int = 200_000) -> dict:
    net, g, T3, T4, elapsed, peak = stream_moments(d, n, np.random.default_rng(0), chunk)
    W = rl.hermite_coefficient_factors(net, 3)
    P3 = np.einsum("r,ri,rj,r->ij", W[0][0], W[1], W[1], W[1] @ g)
    err = np.linalg.norm(T3 - P3) / np.linalg.norm(P3)
    assert T4.shape == (d, d)
    return dict(n=n, d=d, chunk=chunk, wall_s=elapsed, peak_traced_bytes=peak,
                n_by_d2_bytes=n * d * d * 8, t3_relative_error=float(err))


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run(n: int, dims, rounds: int, with_stream: bool) -> dict:
    out = dict(
        date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        commit=_commit(), nproc=os.cpu_count(), python=platform.python_version(),
        numpy=np.__version__, load_average_start=list(os.getloadavg()), rounds=rounds,
        timing="CPU time (time.process_time), one BLAS thread (threadpoolctl), warm-up run first; "
               "ratio = median over rounds of time / chunked-floor time in the same round",
        methods=METHODS, settings=[],
    )
    with threadpool_limits(1):
        out["blas"] = [dict(api=i.get("internal_api"), threads=i.get("num_threads")) for i in threadpool_info()]
        for d in dims:
            row = one_setting(n, d, rounds)
            out["settings"].append(row)
            print(f"d={d}: " + ", ".join(f"{m} {row[m]['ratio_to_chunked']:.2f}" for m in METHODS), flush=True)
        if with_stream:
            out["streamed"] = streamed(10_000_000, 50)
    out["load_average_end"] = list(os.getloadavg())
    return out


def report(path: Path = RESULTS) -> str:
    res = json.loads(path.read_text())
    lines = [
        f"Run of `python3 benchmarks/moments.py` on {res['date']} (commit {res['commit']}), "
        f"nproc = {res['nproc']}, load average {' '.join(f'{v:.2f}' for v in res['load_average_start'])} "
        f"at start; one BLAS thread, CPU time, medians of {res['rounds']} rounds; "
        f"n = {res['settings'][0]['n']:.0e}. Ratios are to the chunked Gram pass (the floor) in the same round.",
        "",
        "| d | chunked floor | unchunked `X.T @ (y X)` | T_3[.,.,g] | T_4[.,.,g,h] "
        "| T_2+T_3+T_4 streamed | projected T_2..T_4 (k = d/5) | whole ATV21 moment stage |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in res["settings"]:
        cells = [f"{row['gram_chunked']['median_cpu_s'] * 1e3:.0f} ms"]
        for m in ("gram_unchunked", "T3", "T4", "T234", "projected", "moment_stage"):
            cells.append(f"{row[m]['ratio_to_chunked']:.2f}")
        lines.append(f"| {row['d']} | " + " | ".join(cells) + " |")
    if "streamed" in res:
        s = res["streamed"]
        lines += ["", f"Streamed, n = {s['n']:.0e}, d = {s['d']}, chunks of {s['chunk']} drawn on the fly: "
                  f"{s['wall_s']:.1f} s wall (sampling included), peak traced memory "
                  f"{s['peak_traced_bytes'] / 2**20:.0f} MiB (an n x d^2 array would be "
                  f"{s['n_by_d2_bytes'] / 2**30:.0f} GiB); relative error of T_3[.,.,g] vs Lemma 3.5: "
                  f"{s['t3_relative_error']:.1e}."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="n = 5e4, 3 rounds, no streamed run")
    parser.add_argument("--report", action="store_true", help="print the README table from the result file")
    parser.add_argument("--out", type=Path, default=RESULTS, help="result file (default: %(default)s)")
    args = parser.parse_args()
    if args.report:
        print(report(args.out))
        return
    if args.quick:
        res = run(50_000, (20, 50, 100), rounds=3, with_stream=False)
    else:
        res = run(200_000, (20, 50, 100), rounds=7, with_stream=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    print(report(args.out))


if __name__ == "__main__":
    main()
