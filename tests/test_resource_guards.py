"""Resource guards (issue 15, step 3): memory budgets of the full-tensor estimators and the
candidate cap and time limit of the FPT search."""

import time
import tracemalloc

import numpy as np
import pytest

import relulib as rl
from relulib import moments


def _peak_bytes(call):
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_empirical_hermite_tensor_chunks_follow_the_output_size(monkeypatch):
    # d = 60, order 3: 37 820 distinct entries; 20 000 samples per chunk were 5.6 GiB of
    # work arrays. With a 16 MiB budget the peak stays near the budget plus the output.
    # Here d = 40 (11 480 distinct entries) and a 4 MiB budget keep the test fast.
    monkeypatch.setattr(moments, "WORK_MEMORY_BUDGET", 4 * 2**20)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 40))
    y = X[:, 0] * X[:, 1] * X[:, 2]
    peak = _peak_bytes(lambda: rl.empirical_hermite_tensor(X, y, 3))
    # Beyond the budget: arrays of the output's size (tensor, index maps: ~10 per entry).
    assert peak < 4 * 2**20 + 10 * 40**3 * 8 + 2**20, peak
    # The chunking does not change the estimate (against one unchunked pass).
    Xs, ys = X[:50, :10], y[:50]
    ref = rl.empirical_hermite_tensor(Xs, ys, 3, chunk_size=50)
    monkeypatch.setattr(moments, "WORK_MEMORY_BUDGET", 8 * 700)  # forces chunks of 1 sample
    assert np.allclose(rl.empirical_hermite_tensor(Xs, ys, 3), ref, rtol=1e-12, atol=1e-13)


def test_hermite_monte_carlo_chunks_follow_the_output_size(monkeypatch):
    monkeypatch.setattr(moments, "WORK_MEMORY_BUDGET", 2 * 2**20)
    rng = np.random.default_rng(1)
    X = rng.standard_normal((2000, 12))
    peak = _peak_bytes(lambda: rl.hermite_coefficient_monte_carlo(X, X[:, 0], 4))
    assert peak < 2 * 2**20 + 10 * 12**4 * 8 + 2**20, peak


def test_recover_fpt_refuses_an_exponential_search_and_says_how_to_override():
    net = rl.random_network(12, 12, m=1, rng=0)
    X, Y = rl.gaussian_samples(net, 1500, rng=1)
    start = time.monotonic()
    with pytest.raises(ValueError, match=r"n_candidates: the search would try 2,125,764 "
                                         r"candidates.*max_candidates=30,000.*time_limit"):
        rl.recover_fpt(X, Y, 12)
    assert time.monotonic() - start < 10


def test_recover_fpt_time_limit_stops_the_search():
    net = rl.random_network(6, 3, m=1, rng=0)
    X, Y = rl.gaussian_samples(net, 3000, noise=0.5, rng=1)
    start = time.monotonic()
    with pytest.warns(RuntimeWarning, match="time_limit reached after"):
        rl.recover_fpt(X, Y, 3, n_candidates=5000, early_stop=False, time_limit=0.5, rng=2)
    assert time.monotonic() - start < 15
    with pytest.raises(ValueError, match="time_limit: expected a positive number of seconds"):
        rl.recover_fpt(X, Y, 3, time_limit=0.0)
