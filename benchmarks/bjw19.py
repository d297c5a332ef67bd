"""Benchmark: BJW19 exact, noisy and FPT recovery; time and error against d, k and n.

Run from the repository root (about two minutes on 2 cores)::

    OMP_NUM_THREADS=1 python3 benchmarks/bjw19.py

Prints three tables (exact recovery against d and k; noisy recovery against n
with the fitted log-log slope; FPT recovery for m = 1 against k and d with the
full net search, ``early_stop=False``). The figures are recorded in
``benchmarks/README.md`` under "BJW19 and FPT recovery".
"""

import time
import warnings

import numpy as np

import relulib as rl


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def exact_table():
    print("## recover_exact (noiseless, m = k + 2, n = max(5000, 20 d k))")
    print(f"{'d':>4} {'k':>3} {'n':>7} {'seconds':>8} {'error':>9} {'certified':>9}")
    for d, k in [(10, 3), (20, 3), (20, 6), (40, 6), (40, 12), (60, 12)]:
        n = max(5000, 20 * d * k)
        net = rl.random_network(d, k, m=k + 2, rng=d + k)
        X, Y = rl.gaussian_samples(net, n, rng=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rl.CertificateWarning)  # reported by .certified
            est, t = timed(lambda: rl.recover_exact(X, Y, k, rng=2))
        print(f"{d:>4} {k:>3} {n:>7} {t:>8.2f} {rl.parameter_error(net, est.network):>9.1e} {est.certified!s:>9}")


def noisy_table():
    print("\n## recover_noisy (d = 10, k = 4, m = 6, noise sigma = 0.3, mean of 3 seeds)")
    print(f"{'n':>7} {'seconds':>8} {'error':>9} {'oracle':>9}")
    net = rl.random_network(10, 4, m=6, rng=1)
    ns, errs = [4000, 16000, 64000], []
    for n in ns:
        e, o, ts = [], [], []
        for rep in range(3):
            X, Y = rl.gaussian_samples(net, n, noise=0.3, rng=100 * rep + n)
            est, t = timed(lambda: rl.recover_noisy(X, Y, 4, n_trials=1, rng=rep))
            e.append(rl.parameter_error(net, est.network))
            o.append(rl.parameter_error(net, rl.refine_by_patterns(net, X, Y, bias=False, max_iter=1).network))
            ts.append(t)
        errs.append(np.mean(e))
        print(f"{n:>7} {np.mean(ts):>8.2f} {np.mean(e):>9.2e} {np.mean(o):>9.2e}")
    print(f"fitted slope of log(error) against log(n): {np.polyfit(np.log(ns), np.log(errs), 1)[0]:.2f}")


def fpt_table():
    print("\n## recover_fpt (m = 1, full search with 2 * 3^k candidates)")
    print(f"{'d':>4} {'k':>3} {'n':>7} {'candidates':>10} {'seconds':>8} {'error':>9}")
    for d, k, n in [(10, 1, 10000), (10, 2, 10000), (10, 3, 10000), (10, 4, 10000), (10, 5, 10000),
                    (20, 2, 4000), (40, 2, 4000), (80, 2, 4000), (160, 2, 6400)]:
        net = rl.random_network(d, k, m=1, rng=d + k)
        X, Y = rl.gaussian_samples(net, n, rng=1)
        res, t = timed(lambda: rl.recover_fpt(X, Y, k, n_candidates=2 * 3**k, early_stop=False, rng=2))
        print(f"{d:>4} {k:>3} {n:>7} {res.iterations:>10} {t:>8.2f} {rl.parameter_error(net, res.network):>9.1e}")


if __name__ == "__main__":
    exact_table()
    noisy_table()
    fpt_table()
