"""Benchmark: the contracted and projected Hermite moments against the cost of one Gram pass.

Run from the repository root:

    python3 benchmarks/moments.py            # n = 2e5, d in {20, 50, 100}, 7 rounds; streamed n = 1e7
    python3 benchmarks/moments.py --quick    # n = 5e4, 3 rounds, no streamed run (a smoke test)
    python3 benchmarks/moments.py --keep-streamed  # the full run without the streamed one,
                                             # whose figure (and date) is kept from the result file
    python3 benchmarks/moments.py --report   # print the README table from the result file

Everything runs with one BLAS thread (``threadpoolctl.threadpool_limits(1)``) and is
timed in CPU time (``time.process_time``). For each d, every round runs each of
the following once, on the same data, in a rotated order:

* the *floors*, one Gram pass ``X^T (y X)`` computed three ways: over all
  samples at once (``X.T @ (y[:, None] * X)``, unchunked); over chunks of rows
  of the library's chunk policy (``relulib.moments.chunk_rows``, work arrays of
  about 1 MiB), each chunk one BLAS ``gemm`` ``(y[:, None] * Xc).T @ Xc``; and
  over the same chunks by BLAS ``syrk`` (``scipy.linalg.blas.dsyrk``, one
  triangle: half the flops of ``gemm``), which needs a sign split since ``y``
  has both signs: ``sum_{y > 0} z z^T - sum_{y < 0} z z^T`` with
  ``z = sqrt(|y|) x``, the rows gathered by sign. The *floor* of a round is the
  faster of the two chunked passes in that round (the fastest correct Gram pass
  we have; ``gemm`` at d = 20 and 50, ``syrk`` can win at d = 100). The
  estimators below use ``gemm`` (their weights have both signs too);
* ``rl.moment_matrix(X, y, 3, g)``, the contraction ``T_3[., ., g]``;
* ``rl.moment_matrix(X, y, 4, g, h)``, the contraction ``T_4[., ., g, h]``;
* ``rl.HermiteMomentAccumulator(d, g3=g, g4=g, h4=h)``: ``T_2``, ``T_3[., ., g]``
  and ``T_4[., ., g, h]`` streamed together;
* ``rl.ProjectedMomentAccumulator(P)`` with ``k = d / 5`` orthonormal columns:
  the projected ``T_2, T_3, T_4`` of ATV21's moment stage from one weighted
  Gram of the monomials of ``z = P^T x`` up to degree 2;
* ``rl.projected_moments(X, y, k)``: ATV21's whole moment stage (a ``T_0 .. T_2``
  pass, the residualisation, the eigenvectors and the projected moments).

The ratio of a method (``ratio_to_floor``) is the median over rounds of its CPU
time divided by the floor's CPU time in the same round; ``ratio_to_chunked`` is
the same against the chunked ``gemm`` pass alone. Results go to
``benchmarks/results/moments.json``. The streamed run feeds n = 1e7 samples,
drawn chunk by chunk, to ``rl.HermiteMomentAccumulator`` and reports the peak
of traced memory (a few minutes on a loaded machine: ``--keep-streamed`` skips
it and keeps the previous figure, with the date of its run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import provenance  # noqa: E402 (benchmarks/provenance.py)
from scipy.linalg.blas import dsyrk
from threadpoolctl import threadpool_info, threadpool_limits

import relulib as rl
from relulib.moments import chunk_rows

RESULTS = Path(__file__).resolve().parent / "results" / "moments.json"

METHODS = {
    "gram_unchunked": "X.T @ (y X), all samples at once",
    "gram_chunked": "X^T (y X), chunked, gemm",
    "gram_syrk": "X^T (y X), chunked, syrk on the rows split by the sign of y",
    "T3": "T_3[., ., g]",
    "T4": "T_4[., ., g, h]",
    "T234": "T_2 + T_3[., ., g] + T_4[., ., g, h] streamed",
    "projected": "projected T_2, T_3, T_4 (one Gram, k = d/5)",
    "moment_stage": "projected_moments (ATV21 moment stage)",
}


def gram_unchunked(X, y):
    return X.T @ (y[:, None] * X)


def gram_chunked(X, y):
    """A floor: the Gram pass over chunks of rows of the library's chunk policy, one gemm each."""
    d = X.shape[1]
    step = chunk_rows(d)
    G = np.zeros((d, d))
    for start in range(0, X.shape[0], step):
        Xc = X[start : start + step]
        G += (y[start : start + step, None] * Xc).T @ Xc
    return G


def gram_syrk(X, y):
    """A floor: the same chunks by syrk (one triangle), rows split by the sign of ``y``."""
    d = X.shape[1]
    step = chunk_rows(d)
    G = np.zeros((d, d), order="F")
    for start in range(0, X.shape[0], step):
        Xc, yc = X[start : start + step], y[start : start + step]
        pos = yc > 0
        r = np.sqrt(np.abs(yc))[:, None]
        for mask, sign in ((pos, 1.0), (~pos, -1.0)):
            Z = Xc[mask]
            Z *= r[mask]
            # Z.T is Fortran-ordered (d, rows): syrk(trans=0) adds sign * Z^T Z to the upper triangle
            G = dsyrk(sign, Z.T, beta=1.0, c=G, trans=0, overwrite_c=1)
    return np.triu(G) + np.triu(G, 1).T


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
        "gram_syrk": lambda: gram_syrk(X, y),
        "T3": lambda: rl.moment_matrix(X, y, 3, g),
        "T4": lambda: rl.moment_matrix(X, y, 4, g, h),
        "T234": lambda: streamed_234(X, y, g, h),
        "projected": lambda: rl.ProjectedMomentAccumulator(P).update(X, r).moments(),
        "moment_stage": lambda: rl.projected_moments(X, y, k),
    }
    names = list(calls)
    G = gram_chunked(X, y)
    assert np.allclose(gram_syrk(X, y), G, rtol=1e-10, atol=1e-9 * np.abs(G).max())
    for name in names:  # warm-up (allocations, caches)
        calls[name]()
    times = {name: [] for name in names}
    for j in range(rounds):
        order = names[j % len(names):] + names[: j % len(names)]
        for name in order:
            t0 = time.process_time()
            calls[name]()
            times[name].append(time.process_time() - t0)
    chunked = np.array(times["gram_chunked"])
    floor = np.minimum(chunked, np.array(times["gram_syrk"]))  # the faster chunked pass, per round
    row = dict(d=d, n=n, k=k, chunk_rows=chunk_rows(d), floor_median_cpu_s=float(np.median(floor)))
    for name in names:
        t = np.array(times[name])
        row[name] = dict(median_cpu_s=float(np.median(t)), ratio_to_floor=float(np.median(t / floor)),
                         ratio_to_chunked=float(np.median(t / chunked)), times=[float(v) for v in t])
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
    return dict(date=provenance.now(),
                load_average=list(os.getloadavg()), n=n, d=d, chunk=chunk, wall_s=elapsed, peak_traced_bytes=peak,
                n_by_d2_bytes=n * d * d * 8, t3_relative_error=float(err))


def run(n: int, dims, rounds: int, with_stream: bool, kept_stream: dict | None = None) -> dict:
    out = dict(
        date=provenance.now(),
        commit=provenance.commit(), nproc=os.cpu_count(), python=platform.python_version(),
        numpy=np.__version__, load_average_start=list(os.getloadavg()), rounds=rounds,
        timing="CPU time (time.process_time), one BLAS thread (threadpoolctl), warm-up run first; "
               "ratio_to_floor = median over rounds of time / floor time in the same round, the floor "
               "being the faster of the chunked gemm and syrk Gram passes; ratio_to_chunked: the "
               "same against the chunked gemm pass",
        methods=METHODS, settings=[],
    )
    with threadpool_limits(1):
        out["blas"] = [dict(api=i.get("internal_api"), threads=i.get("num_threads")) for i in threadpool_info()]
        for d in dims:
            row = one_setting(n, d, rounds)
            out["settings"].append(row)
            print(f"d={d}: " + ", ".join(f"{m} {row[m]['ratio_to_floor']:.2f}" for m in METHODS), flush=True)
        if with_stream:
            out["streamed"] = streamed(10_000_000, 50)
        elif kept_stream is not None:
            out["streamed"] = dict(kept_stream, kept_from_earlier_run=True)
    out["load_average_end"] = list(os.getloadavg())
    return out


def report(path: Path = RESULTS) -> str:
    res = json.loads(path.read_text())
    lines = [
        f"Run of `python3 benchmarks/moments.py` on {res['date']} (commit {res['commit']}), "
        f"nproc = {res['nproc']}, load average {' '.join(f'{v:.2f}' for v in res['load_average_start'])} "
        f"at start; one BLAS thread, CPU time, medians of {res['rounds']} rounds; "
        f"n = {res['settings'][0]['n']:.0e}. Ratios are to the floor in the same round: the faster of "
        f"the two chunked Gram passes `X^T (y X)` (gemm, syrk).",
        "",
        "| d | floor | chunked gemm | chunked syrk | unchunked `X.T @ (y X)` | T_3[.,.,g] | T_4[.,.,g,h] "
        "| T_2+T_3+T_4 streamed | projected T_2..T_4 (k = d/5) | whole ATV21 moment stage |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in res["settings"]:
        cells = [f"{row['floor_median_cpu_s'] * 1e3:.0f} ms"]
        for m in ("gram_chunked", "gram_syrk", "gram_unchunked", "T3", "T4", "T234", "projected",
                  "moment_stage"):
            cells.append(f"{row[m]['ratio_to_floor']:.2f}")
        lines.append(f"| {row['d']} | " + " | ".join(cells) + " |")
    if "streamed" in res:
        s = res["streamed"]
        when = s.get("date", "an earlier run")
        kept = f"kept from the run of {when}" if s.get("kept_from_earlier_run") else f"run on {when}"
        lines += ["", f"Streamed ({kept}), n = {s['n']:.0e}, d = {s['d']}, chunks of {s['chunk']} drawn on the fly: "
                  f"{s['wall_s']:.1f} s wall (sampling included), peak traced memory "
                  f"{s['peak_traced_bytes'] / 2**20:.0f} MiB (an n x d^2 array would be "
                  f"{s['n_by_d2_bytes'] / 2**30:.0f} GiB); relative error of T_3[.,.,g] vs Lemma 3.5: "
                  f"{s['t3_relative_error']:.1e}."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="n = 5e4, 3 rounds, no streamed run")
    parser.add_argument("--report", action="store_true", help="print the README table from the result file")
    parser.add_argument("--keep-streamed", action="store_true",
                        help="skip the streamed n = 1e7 run and keep its figure from the result file")
    parser.add_argument("--out", type=Path, default=RESULTS, help="result file (default: %(default)s)")
    args = parser.parse_args()
    if args.report:
        print(report(args.out))
        return
    if args.quick:
        res = run(50_000, (20, 50, 100), rounds=3, with_stream=False)
    else:
        kept = None
        if args.keep_streamed:
            old = json.loads(args.out.read_text()) if args.out.exists() else {}
            if "streamed" not in old:
                parser.error(f"--keep-streamed: no streamed figure in {args.out}")
            kept = dict(old["streamed"])
            kept.setdefault("date", old["date"])
        res = run(200_000, (20, 50, 100), rounds=7, with_stream=not args.keep_streamed, kept_stream=kept)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    print(report(args.out))


if __name__ == "__main__":
    main()
