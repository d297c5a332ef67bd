"""Dask scale-out (relulib/scaleout.py): moments as a reduction over row blocks.

On a ``distributed.LocalCluster`` of two single-threaded worker processes (and once on
Dask's default threaded scheduler) the moments of Dask arrays equal the in-memory ones to
1e-12 relative, and ``recover_with_bias`` / ``recover_exact`` recover the same network
as the in-memory call. Skipped where Dask is not installed (it is an optional extra);
the last test checks that the library works without it.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import relulib as rl

ROOT = Path(__file__).resolve().parents[1]

try:
    import dask
    import dask.array as da
    import distributed
except ImportError:  # the optional extra is missing: only the last test runs
    dask = da = distributed = None

needs_dask = pytest.mark.skipif(dask is None, reason="dask[array,distributed] not installed")


def rel(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=":0")
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def biased():
    net = rl.random_network(8, 3, bias_scale=1.0, rng=0)
    X, Y = rl.gaussian_samples_dask(net, 120_000, chunk_rows=17_000, seed=1)
    Xn, Yn = dask.compute(X, Y, scheduler="sync")
    return net, X, Y, Xn, Yn


def _workers_used(client, compute):
    with distributed.get_task_stream(client) as ts:
        out = compute()
    return out, {t["worker"] for t in ts.data}


@needs_dask
def test_moments_on_a_cluster_equal_the_in_memory_ones(client, biased):
    net, X, Y, Xn, Yn = biased
    g = np.random.default_rng(3).standard_normal((2, 8))

    def all_moments():
        return [rl.moment_matrix(X, Y, 2), rl.moment_matrix(X, Y, 3, g),
                rl.moment_matrix(X, Y, 4, g, g[::-1]), rl.projected_moments(X, Y, 3)]

    (T2, T3, T4, pm), workers = _workers_used(client, all_moments)
    assert len(workers) == 2  # the blocks were reduced on both worker processes
    assert T3.shape == (2, 8, 8) and T4.shape == (2, 8, 8)
    assert rel(T2, rl.moment_matrix(Xn, Yn, 2)) < 1e-12
    assert rel(T3, rl.moment_matrix(Xn, Yn, 3, g)) < 1e-12
    assert rel(T4, rl.moment_matrix(Xn, Yn, 4, g, g[::-1])) < 1e-12
    pn = rl.projected_moments(Xn, Yn, 3)
    for field in ("T1", "P", "T2p", "T3p", "T4p"):
        assert rel(getattr(pm, field), getattr(pn, field)) < 1e-12, field
    # the accumulator itself: update with Dask arrays adds the reduction
    acc = rl.HermiteMomentAccumulator(8, g3=g).update(X, Y)
    ref = rl.HermiteMomentAccumulator(8, g3=g).update(Xn, Yn)
    assert acc.n == ref.n == 120_000
    assert rel(acc.T3(), ref.T3()) < 1e-12 and rel(acc.T1(), ref.T1()) < 1e-12
    proj = rl.ProjectedMomentAccumulator(pn.P).update(X, Y)
    for a, b in zip(proj.moments(), rl.ProjectedMomentAccumulator(pn.P).update(Xn, Yn).moments()):
        assert rel(a, b) < 1e-12


@needs_dask
def test_rows_are_refused_with_dask_arrays():
    X, y = da.zeros((100, 3), chunks=50), da.zeros(100, chunks=50)
    with pytest.raises(ValueError, match="rows: expected None with Dask arrays"):
        rl.projected_moments(X, y, 2, rows=np.arange(10))
    with pytest.raises(ValueError, match="rows: expected None with Dask arrays"):
        rl.HermiteMomentAccumulator(3).update(X, y, rows=np.arange(10))


@needs_dask
def test_recover_with_bias_on_a_cluster(client, biased):
    net, X, Y, Xn, Yn = biased
    (est, workers) = _workers_used(client, lambda: rl.recover_with_bias(X, Y, 3, rng=5))
    ref = rl.recover_with_bias(Xn, Yn, 3, rng=5)
    assert len(workers) == 2
    assert est.certified and ref.certified and est.residual < 1e-12
    assert rl.parameter_error(est.network, ref.network) < 1e-12
    assert rl.parameter_error(net, est.network) < 1e-12
    # the estimate of the tensor stage alone, from the same moments
    rough = rl.moment_estimate(X, Y, 3, rng=6)
    assert rl.parameter_error(rough, rl.moment_estimate(Xn, Yn, 3, rng=6)) < 1e-9


@needs_dask
def test_recover_exact_on_a_cluster(client):
    net = rl.random_network(8, 3, m=4, rng=0)
    X, Y = rl.gaussian_samples_dask(net, 30_000, chunk_rows=4_000, seed=2)
    Xn, Yn = dask.compute(X, Y, scheduler="sync")
    est, workers = _workers_used(client, lambda: rl.recover_exact(X, Y, 3, rng=4))
    ref = rl.recover_exact(Xn, Yn, 3, rng=4)
    assert len(workers) == 2
    assert est.certified and ref.certified and est.residual < 1e-12
    assert rl.parameter_error(est.network, ref.network) < 1e-12


@needs_dask
def test_the_default_threaded_scheduler(biased):
    net, X, Y, Xn, Yn = biased
    with dask.config.set(scheduler="threads"):
        assert rel(rl.moment_matrix(X, Y, 2), rl.moment_matrix(Xn, Yn, 2)) < 1e-12
        est = rl.recover_with_bias(X, Y, 3, rng=7)
    ref = rl.recover_with_bias(Xn, Yn, 3, rng=7)
    assert est.certified and ref.certified
    assert rl.parameter_error(est.network, ref.network) < 1e-12


@needs_dask
def test_a_numpy_label_vector_with_dask_samples():
    net = rl.random_network(5, 2, bias_scale=0.5, rng=1)
    X, Y = rl.gaussian_samples_dask(net, 20_000, chunk_rows=6_000, seed=3)
    Xn, Yn = dask.compute(X, Y, scheduler="sync")
    with dask.config.set(scheduler="sync"):
        T2 = rl.moment_matrix(X, Yn[:, 0], 2)  # NumPy labels take X's row chunks
        T2b = rl.moment_matrix(X.rechunk((5_000, 2)), Y.rechunk(7_000), 2)  # chunks realigned
    assert rel(T2, rl.moment_matrix(Xn, Yn, 2)) < 1e-12
    assert rel(T2b, T2) < 1e-12


@needs_dask
def test_each_pass_draws_each_block_of_lazy_samples_once(monkeypatch):
    # X and Y of a block come from one task: a pass must not draw the block twice
    from relulib import scaleout

    calls = []
    draw = scaleout._sample_block
    monkeypatch.setattr(scaleout, "_sample_block", lambda *a: calls.append(a[1]) or draw(*a))
    net = rl.random_network(6, 2, bias_scale=1.0, rng=0)
    X, Y = rl.gaussian_samples_dask(net, 40_000, chunk_rows=10_000, seed=1)
    with dask.config.set(scheduler="sync"):
        rl.projected_moments(X, Y, 2)  # three passes over four blocks
    assert calls == [10_000] * 12


@needs_dask
def test_lazy_samples_are_reproducible_block_by_block():
    net = rl.random_network(4, 2, bias_scale=1.0, rng=0)
    X, Y = rl.gaussian_samples_dask(net, 10_500, chunk_rows=2_000, seed=9)
    assert X.chunks[0] == (2_000,) * 5 + (500,) and Y.shape == (10_500, 1)
    with dask.config.set(scheduler="sync"):
        Xa, Ya = dask.compute(X, Y)
        block3 = X.blocks[3].compute()  # drawn alone: the same numbers
        X2, _ = rl.gaussian_samples_dask(net, 10_500, chunk_rows=2_000, seed=9)
        other, _ = rl.gaussian_samples_dask(net, 10_500, chunk_rows=2_000, seed=10)
        assert np.array_equal(X2.compute(), Xa)
        assert not np.allclose(other.compute(), Xa)
    assert np.array_equal(block3, Xa[6_000:8_000])
    assert np.array_equal(Ya, net.predict(Xa))
    assert abs(float(Xa.mean())) < 0.02 and abs(float(Xa.std()) - 1) < 0.02
    # a SeedSequence seed is not consumed: two calls give the same samples
    ss = np.random.SeedSequence(4)
    a, _ = rl.gaussian_samples_dask(net, 3_000, chunk_rows=1_000, seed=ss)
    b, _ = rl.gaussian_samples_dask(net, 3_000, chunk_rows=1_000, seed=ss)
    assert np.array_equal(a.compute(scheduler="sync"), b.compute(scheduler="sync"))
    _, Yn = rl.gaussian_samples_dask(net, 3_000, chunk_rows=1_000, noise=0.5, seed=ss)
    Xn = a.compute(scheduler="sync")
    assert 0.4 < float(np.std(Yn.compute(scheduler="sync") - net.predict(Xn))) < 0.6


def test_merge_of_accumulators_is_the_accumulator_of_the_union():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3_000, 4))
    Y = np.stack([X[:, 0] ** 2 * X[:, 1], np.maximum(X[:, 2], 0)], axis=1)
    g = rng.standard_normal((2, 4))

    def make():
        return rl.HermiteMomentAccumulator(4, g3=g, g4=g, h4=g[::-1])

    whole = make().update(X, Y)
    parts = [make().update(X[i : i + 700], Y[i : i + 700]) for i in range(0, 3_000, 700)]
    merged = make()  # an empty accumulator is the neutral element
    for p in parts[::-1]:  # any order
        merged.merge(p)
    assert merged.n == whole.n == 3_000
    for T in ("T0", "T1", "T2", "T3", "T4"):
        assert rel(getattr(merged, T)(), getattr(whole, T)()) < 1e-13, T
    with pytest.raises(ValueError, match="^other: expected an accumulator with d=4"):
        make().merge(rl.HermiteMomentAccumulator(5))
    with pytest.raises(ValueError, match="^other: .*g3"):
        make().merge(rl.HermiteMomentAccumulator(4, g3=g[::-1], g4=g, h4=g[::-1]))
    with pytest.raises(TypeError, match="^other: expected a HermiteMomentAccumulator"):
        make().merge(np.zeros(3))


@needs_dask
def test_bad_dask_inputs_name_the_parameter():
    X = da.zeros((100, 3), chunks=(30, 3))
    with pytest.raises(TypeError, match="^X: expected a real array"):
        rl.moment_matrix(X.astype(complex), np.zeros(100), 2)
    with pytest.raises(ValueError, match="^Y: expected 100 labels"):
        rl.moment_matrix(X, da.zeros(99, chunks=30), 2)
    unknown = X[X[:, 0] > -1]  # rows selected by value: chunk sizes unknown
    with pytest.raises(ValueError, match="^X: expected known row chunk sizes"):
        rl.projected_moments(unknown, da.zeros(100, chunks=30), 2)
    with pytest.raises(ValueError, match="^Y: expected a single output"):
        rl.recover_with_bias(X, da.zeros((100, 2), chunks=(30, 2)), 2)
    bad = da.from_array(np.full((100, 3), np.nan), chunks=(30, 3))
    with pytest.raises(ValueError, match="^X: expected finite values"):
        rl.moment_matrix(bad, da.zeros(100, chunks=30), 2)  # raised on a block, in a task
    with pytest.raises(TypeError, match="^accumulator: expected an object with update and merge"):
        rl.reduce_moments(X, da.zeros(100, chunks=30), object())
    with pytest.raises(ValueError, match="^seed: expected a non-negative integer"):
        rl.gaussian_samples_dask(rl.random_network(3, 1, rng=0), 10, seed=-1)


def test_the_library_works_without_dask():
    # dask made unimportable: relulib imports, recovers in memory, and the Dask entry
    # point says how to install the extra
    code = (
        "import sys; sys.modules['dask'] = None; sys.modules['dask.array'] = None\n"
        "import numpy as np, relulib as rl\n"
        "net = rl.random_network(4, 2, bias_scale=1.0, rng=0)\n"
        "X, Y = rl.gaussian_samples(net, 20000, rng=1)\n"
        "assert rl.recover_with_bias(X, Y, 2, rng=2).certified\n"
        "try:\n"
        "    rl.gaussian_samples_dask(net, 10)\n"
        "except ImportError as exc:\n"
        "    assert 'relulib[dask]' in str(exc), exc\n"
        "else:\n"
        "    raise AssertionError('no ImportError')\n"
        "print('ok')\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "ok"
