"""Benchmark: how much the residualised labels cut the sampling error of ATV21's moments.

Run from the repository root (about 3 minutes of CPU):

    python3 benchmarks/residualisation.py

On the instances of the biased noiseless (50, 10) setting of ``versus_gd.py``
(n = 2e5 samples, the 80 % of them a ``recover_with_bias`` call uses for its
moments), it compares, in the coordinates ``z = P^T x`` of the span ``P`` that the
moment stage estimates, the relative error (Frobenius, against the population
tensors projected on the same ``P``) of the projected ``T_3`` and ``T_4`` estimated from

* the labels ``y`` themselves;
* ``r = y - T_0 - x.T_1`` (degrees 0 and 1 removed);
* ``r - <T_2, He_2(z)> / 2`` (degree 2 removed too): what ``relulib.projected_moments``
  computes, both tensors from one Gram;
* for ``T_4`` also that minus ``<T_3, He_3(z)> / 6``, the estimated degree-3 part: a
  fourth pass the library does not make.

It writes ``results/residualisation.json`` (per instance and medians) and prints
the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import provenance  # noqa: E402 (benchmarks/provenance.py)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import relulib as rl  # noqa: E402
from relulib.atv21 import _hermite2_form, _sample_moments  # noqa: E402
from relulib.moments import chunk_rows  # noqa: E402

SEED = 20260  # as in versus_gd.py
D, K, N, INSTANCES = 50, 10, 200_000, 10
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
COLUMNS = ("T3_labels", "T3_degrees_0_1_removed", "T3_library",
           "T4_labels", "T4_degrees_0_1_removed", "T4_library", "T4_degree_3_removed_too")


def run(i: int) -> dict:
    net = rl.random_network(D, K, 1, bias_scale=1.0, rng=SEED + i)
    X, Y = rl.gaussian_samples(net, N, rng=SEED + 10**6 + i)
    train = np.sort(np.random.default_rng(i).permutation(N)[: int(0.8 * N)])
    X, y = X[train], Y[train, 0]
    mom = _sample_moments(X, y, K, chunk_rows(D))
    # population tensors in the coordinates of P: exact in those of the true span Q, then
    # contracted with Q^T P on every index (the units lie in span Q)
    Q = np.linalg.qr(net.V.T)[0]
    M = Q.T @ mom.P
    netQ = rl.TwoLayerNetwork(net.U, net.V @ Q, net.b)
    f3 = np.asarray(rl.hermite_coefficients(netQ, 3)).reshape((K,) * 3)
    f4 = np.asarray(rl.hermite_coefficients(netQ, 4)).reshape((K,) * 4)
    f3 = np.einsum("abc,ai,bj,ck->ijk", f3, M, M, M, optimize=True)
    f4 = np.einsum("abcd,ai,bj,ck,dl->ijkl", f4, M, M, M, M, optimize=True)
    Z = X @ mom.P
    r1 = y - y.mean() - X @ (X.T @ y / X.shape[0])
    r3 = r1 - 0.5 * _hermite2_form(Z, mom.T2p)
    # <T_3, He_3(z)> per sample, with the library's Hermite tensors (in chunks of rows)
    degree3 = np.concatenate([np.einsum("ijl,nijl->n", mom.T3p, rl.hermite_tensor(Zc, 3))
                              for Zc in np.array_split(Z, 16)])
    r4 = r3 - degree3 / 6

    def error(T, f):
        return float(np.linalg.norm(T - f) / np.linalg.norm(f))

    def est(labels, order):
        return rl.empirical_hermite_tensor(Z, labels, order)

    values = (error(est(y, 3), f3), error(est(r1, 3), f3), error(mom.T3p, f3),
              error(est(y, 4), f4), error(est(r1, 4), f4), error(mom.T4p, f4), error(est(r4, 4), f4))
    return dict(instance=i, **dict(zip(COLUMNS, values)))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=RESULTS)
    args = parser.parse_args()
    meta = dict(date=provenance.now(), commit=provenance.commit(), loadavg_start=provenance.load_average(),
                d=D, k=K, n=N, training_rows=int(0.8 * N), instances=INSTANCES, seed=SEED)
    rows = []
    for i in range(INSTANCES):
        rows.append(run(i))
        print(i, " ".join(f"{rows[-1][c]:.3f}" for c in COLUMNS), flush=True)
    medians = {c: float(np.median([r[c] for r in rows])) for c in COLUMNS}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "residualisation.json"), "w") as fh:
        json.dump(dict(meta=meta, medians=medians, instances=rows), fh, indent=1)
    print("relative errors, medians over", INSTANCES, "instances:")
    for c in COLUMNS:
        print(f"  {c:<26} {medians[c]:.3f}")


if __name__ == "__main__":
    main()
