"""Benchmark: contracted Hermite moments against one Gram pass.

Run from the repository root:

    python3 benchmarks/moments.py            # n = 1e6, d in {10, 50, 200}; then streamed n = 1e7, d = 50
    python3 benchmarks/moments.py --quick    # n = 1e5 only

For each d it prints the wall time of

* one pass of ``X.T @ (y[:, None] * X)`` (the cost floor of any O(n d^2) moment);
* ``rl.moment_matrix(X, y, 3, g)``, the contracted T_3[., ., g];
* ``rl.moment_matrix(X, y, 4, g, h)``, the contracted T_4[., ., g, h];

and the ratio to the Gram pass. The streamed run feeds n = 1e7 samples to
``rl.HermiteMomentAccumulator`` in chunks drawn on the fly, never holding the
samples (let alone an n x d^2 array), and reports the peak of traced memory.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

import relulib as rl


def best_of(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def table(n: int, dims, repeat: int) -> None:
    print(f"n = {n:.0e}")
    print("| d | X.T @ (y X) | T_3[.,.,g] | ratio | T_4[.,.,g,h] | ratio |")
    print("|---|---|---|---|---|---|")
    for d in dims:
        rng = np.random.default_rng(d)
        net = rl.random_network(d, 5, bias_scale=1.0, rng=rng)
        X, y = rl.gaussian_samples(net, n, rng=rng)
        y = y[:, 0]
        g, h = rng.standard_normal((2, d))
        t_gram = best_of(lambda: X.T @ (y[:, None] * X), repeat)
        t3 = best_of(lambda: rl.moment_matrix(X, y, 3, g), repeat)
        t4 = best_of(lambda: rl.moment_matrix(X, y, 4, g, h), repeat)
        print(
            f"| {d} | {t_gram:.3f} s | {t3:.3f} s | {t3 / t_gram:.1f} | {t4:.3f} s | {t4 / t_gram:.1f} |"
        )


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


def streamed(n: int, d: int, chunk: int = 200_000) -> None:
    net, g, T3, T4, elapsed, peak = stream_moments(d, n, np.random.default_rng(0), chunk)
    W = rl.hermite_coefficient_factors(net, 3)
    P3 = np.einsum("r,ri,rj,r->ij", W[0][0], W[1], W[1], W[1] @ g)
    err = np.linalg.norm(T3 - P3) / np.linalg.norm(P3)
    print(
        f"streamed n = {n:.0e}, d = {d}, chunks of {chunk}: {elapsed:.1f} s "
        f"(sampling included), peak traced memory {peak / 2**20:.0f} MiB "
        f"(an n x d^2 array would be {n * d * d * 8 / 2**30:.0f} GiB); "
        f"relative error of T_3[.,.,g] vs Lemma 3.5: {err:.1e}"
    )
    assert T4.shape == (d, d)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="n = 1e5 and no streamed run")
    args = parser.parse_args()
    if args.quick:
        table(100_000, (10, 50, 200), repeat=1)
        return
    table(1_000_000, (10, 50, 200), repeat=2)
    streamed(10_000_000, 50)


if __name__ == "__main__":
    main()
