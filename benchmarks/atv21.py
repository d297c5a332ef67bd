"""Benchmark: time and error of ``rl.recover_with_bias`` (ATV21, l = 1, with polishing).

Run from the repository root (about 1-3 minutes on 2 cores):

    OPENBLAS_NUM_THREADS=1 python3 benchmarks/atv21.py

For d in {10, 20, 50} and n in {1e5, 1e6} it draws one random network with
k = 5 units (biases uniform in [-1.5, 1.5], the first three set to the
Hermite roots 0, +1, -1), n noiseless Gaussian samples, and prints

* the wall time of the tensor stage alone (``rl.moment_estimate``) and its
  parameter error (Theorem 3.1 metric);
* the wall time of the whole pipeline (``rl.recover_with_bias``: moments,
  Jennrich on orders 3 and 4, scalars, signs, polishing, held-out certificate)
  and its parameter error.

One BLAS thread is recommended: the polishing step solves many tall, thin
least-squares problems, for which threads only add contention on a busy
2-core machine. The figures are quoted in benchmarks/README.md.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

import relulib as rl


def instance(d, n, seed):
    rng = np.random.default_rng(seed)
    base = rl.random_network(d, 5, bias_scale=1.5, rng=rng)
    net = rl.TwoLayerNetwork(base.U, base.V, np.r_[0.0, 1.0, -1.0, base.b[3:]])
    X, Y = rl.gaussian_samples(net, n, rng=rng)
    return net, X, Y, rng


def main():
    print(f"{'d':>3} {'n':>9} {'tensor stage s':>15} {'tensor err':>11} {'total s':>8} {'final err':>10} {'certified':>9}")
    for d in (10, 20, 50):
        for n in (100_000, 1_000_000):
            net, X, Y, rng = instance(d, n, seed=d)
            t0 = time.perf_counter()
            rough = rl.moment_estimate(X, Y, 5, rng=rng)
            t1 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", rl.CertificateWarning)  # reported by .certified
                est = rl.recover_with_bias(X, Y, 5, rng=rng)
            t2 = time.perf_counter()
            print(
                f"{d:>3} {n:>9,} {t1 - t0:>15.2f} {rl.parameter_error(net, rough):>11.2e} "
                f"{t2 - t1:>8.2f} {rl.parameter_error(net, est.network):>10.1e} {str(est.certified):>9}",
                flush=True,
            )
            del X, Y


if __name__ == "__main__":
    main()
