"""Samples that do not fit one machine: the moment stage as a Dask reduction.

Every moment the algorithms use is a *sum over samples*, so the accumulator of
a set of samples is the merge of the accumulators of its parts
(:meth:`relulib.HermiteMomentAccumulator.merge`). With ``X`` (n, d) and ``Y``
given as Dask arrays chunked over rows, each row block becomes an accumulator
of its sums on the workers, and the accumulators are merged pairwise in a tree
(``dask.delayed`` over ``X.to_delayed()``); only the ``O(d^2)`` sums travel.
Whatever scheduler is active runs the graph: Dask's threads by default, a
``distributed`` cluster once a ``Client`` exists.

The entry points accept Dask arrays and come here:

* :func:`relulib.moment_matrix` and :meth:`relulib.HermiteMomentAccumulator.update`
  (one pass);
* :func:`relulib.projected_moments` and :func:`relulib.moment_estimate`
  (ATV21: the same three passes as in memory, each a reduction: ``T_0, T_1``, then
  ``T_2`` of the residualised labels, then with ``P`` from that ``T_2`` the projected
  ``T_3`` and ``T_4`` on ``z = P^T x`` from one Gram; the passes are defined once, in
  :mod:`relulib.atv21`);
* :func:`relulib.recover_with_bias` (the same passes on the training rows;
  polishing and certificate on bounded in-memory subsamples, ``draw_split``);
* :func:`relulib.recover_exact` (BJW19: its steps 1-3 already work on a
  subsample, pulled here in one pass; the certificate over all rows in a second).

What runs in memory is bounded whatever ``n``: at most :data:`SUBSAMPLE_ROWS`
rows for the certificate of :func:`relulib.recover_with_bias` and the exact step
of :func:`relulib.recover_exact`, ``max_polish_samples`` rows for polishing. The
rows of a subsample are drawn uniformly without replacement with the caller's
``rng`` (the counts per block from a multivariate hypergeometric draw, the rows
inside a block from a per-block seed), so a result depends on ``rng`` and on the
row chunks, and equals the in-memory call to rounding whenever both certify.

Dask is an optional dependency (``pip install relulib[dask]``): this module
imports it only inside its functions.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any
import warnings

import numpy as np

from ._validation import (
    InputTypeError, as_network, as_positive_int, as_real_scalar, as_rng, describe, is_dask_array,
)
from . import bjw19
from .certificate import CERTIFICATE_TOL, CertificateWarning, RecoveryResult, as_tolerance
from .moments import HermiteMomentAccumulator
from .networks import TwoLayerNetwork


__all__ = ["gaussian_samples_dask", "reduce_moments"]

#: Largest number of rows a Dask-backed recovery pulls into memory for its
#: certificate (:func:`relulib.recover_with_bias`) or its exact step
#: (:func:`relulib.recover_exact`).
SUBSAMPLE_ROWS = 100_000

#: Most row blocks :func:`gaussian_samples_dask` makes (its task graph grows with them).
MAX_BLOCKS = 10**6


def _require_dask():
    try:
        import dask.array as da  # imports dask itself: fails without the extra
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "relulib.scaleout needs Dask: pip install 'relulib[dask]' (or 'dask[array,distributed]')"
        ) from None
    return da


# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------
def _as_dask_matrix(a, name, da, row_chunks=None):
    if not is_dask_array(a):
        if isinstance(a, (str, bytes, dict, set)) or a is None:
            raise InputTypeError(f"{name}: expected a real array, got {describe(a)}")
        a = np.asarray(a)
        fits = row_chunks is not None and a.ndim >= 1 and a.shape[0] == sum(row_chunks)
        a = da.from_array(a, chunks=(row_chunks,) + a.shape[1:] if fits else "auto")
    if a.dtype.kind == "c":
        raise InputTypeError(f"{name}: expected a real array, got a Dask array of dtype {a.dtype}")
    if a.dtype.kind not in "fiub":
        raise InputTypeError(f"{name}: expected a real array, got a Dask array of dtype {a.dtype}")
    if a.ndim and any(np.isnan(c) for c in a.chunks[0]):
        raise ValueError(f"{name}: expected known row chunk sizes, got unknown ones (call "
                         f"{name}.compute_chunk_sizes() first)")
    return a.astype(float)


def as_dask_samples(X, Y, *, d=None):
    """``X`` (n, d) and ``Y`` (n, m) as float Dask arrays with the same row chunks.

    Columns are merged into one chunk (blocks hold whole rows); a NumPy array
    given with a Dask array is wrapped with the other's row chunks. Values are
    checked for finiteness block by block when the accumulators read them.
    """
    da = _require_dask()
    if is_dask_array(X):
        X = _as_dask_matrix(X, "X", da)
        Y = _as_dask_matrix(Y, "Y", da, X.chunks[0] if X.ndim else None)
    else:
        Y = _as_dask_matrix(Y, "Y", da)
        X = _as_dask_matrix(X, "X", da, Y.chunks[0] if Y.ndim else None)
    if X.ndim != 2:
        raise ValueError(f"X: expected a 2-D array, got a Dask array of shape {X.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"X: expected at least one sample (row), got shape {X.shape}")
    if d is not None and X.shape[1] != d:
        raise ValueError(f"X: expected {d} columns (the input dimension d), got shape {X.shape}")
    if Y.ndim not in (1, 2):
        raise ValueError(f"Y: expected a 1-D or 2-D array, got a Dask array of shape {Y.shape}")
    if Y.shape[0] != X.shape[0]:
        raise ValueError(f"Y: expected {X.shape[0]} labels (one per row of X), got shape {Y.shape}")
    if Y.ndim == 1:
        Y = Y[:, None]
    X = X.rechunk({1: -1})
    Y = Y.rechunk({0: X.chunks[0], 1: -1})
    return X, Y


def _check_k(k, d, message):
    k = as_positive_int(k, "k")
    if k > d:
        raise ValueError(message.format(d=d, k=k))
    return k


def as_dask_problem(X, Y, k, *, k_message, single_output=False):
    """:func:`relulib._validation.as_recovery_problem` for Dask arrays (shapes and ``k``;
    finiteness is checked block by block by the accumulators): ``(X, Y, k)``, with
    ``Y`` of shape (n, m), or (n, 1) checked to be one output when ``single_output``.
    """
    X, Y = as_dask_samples(X, Y)
    if single_output and Y.shape[1] != 1:
        raise ValueError(f"Y: expected a single output, shape (n,) or (n, 1), got shape {Y.shape}")
    return X, Y, _check_k(k, X.shape[1], k_message)


# ---------------------------------------------------------------------------
# The reduction
# ---------------------------------------------------------------------------
def _block_split(spec, rows):
    """Held-out and subsample rows of one block: ``(hold, sample)`` index arrays.

    ``spec = (seed, n_hold, n_sample)``: ``n_hold`` rows drawn without
    replacement, then ``n_sample`` of the remaining rows, from the block's own
    seed (the same on every pass).
    """
    if spec is None:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    seed, n_hold, n_sample = spec
    rng = np.random.default_rng(seed)
    hold = np.sort(rng.choice(rows, size=n_hold, replace=False))
    keep = np.ones(rows, dtype=bool)
    keep[hold] = False
    sample = np.sort(rng.choice(np.flatnonzero(keep), size=n_sample, replace=False))
    return hold, sample


def _block_accumulator(template, xb, yb, spec, transform):
    """A fresh copy of ``template`` updated with the block's training rows."""
    acc = copy.deepcopy(template)
    if spec is not None:
        hold, _ = _block_split(spec, xb.shape[0])
        keep = np.ones(xb.shape[0], dtype=bool)
        keep[hold] = False
        xb, yb = xb[keep], yb[keep]
    if transform is not None:
        xb, yb = transform(xb, yb)
    if xb.shape[0]:
        acc.update(xb, yb)
    return acc


def _merge_pair(a, b):
    return copy.deepcopy(a).merge(b)


def _block_rows(xb, yb, spec):
    """The block's held-out rows and subsample rows: ``(X_hold, Y_hold, X_sample, Y_sample)``."""
    hold, sample = _block_split(spec, xb.shape[0])
    return xb[hold], yb[hold], xb[sample], yb[sample]


def _graph(X, Y, template, *, specs=None, transform=None, rows=False):
    """Delayed objects: the merged accumulator and, with ``rows``, each block's subsample rows."""
    import dask

    # Unoptimised: a block of X and the block of Y computed from the same task (lazy
    # samples, a shared input) keep that task's key, so it runs once per pass, not twice.
    xs = X.to_delayed(optimize_graph=False).ravel()
    ys = Y.to_delayed(optimize_graph=False).ravel()
    specs = [None] * len(xs) if specs is None else specs
    block = dask.delayed(_block_accumulator, pure=True)
    parts = [block(template, xb, yb, spec, transform) for xb, yb, spec in zip(xs, ys, specs)]
    merge = dask.delayed(_merge_pair, pure=True)
    while len(parts) > 1:  # a binary tree of merges: depth log2(blocks)
        parts = [merge(parts[i], parts[i + 1]) if i + 1 < len(parts) else parts[i]
                 for i in range(0, len(parts), 2)]
    if not rows:
        return parts[0], None
    pick = dask.delayed(_block_rows, pure=True, nout=4)
    return parts[0], [pick(xb, yb, spec) for xb, yb, spec in zip(xs, ys, specs)]


def reduce_moments(
    X: Any, Y: Any, accumulator: Any, *,
    transform: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None,
    split: list | None = None,
) -> Any:
    """Run a moment accumulator over the row blocks of Dask arrays: a tree reduction.

    Each row block of ``X`` and ``Y`` is added to a fresh copy of
    ``accumulator`` on the workers (its ``update``), and the copies are merged
    pairwise (its ``merge``) up a binary tree; the graph runs on the active
    Dask scheduler. The result equals ``accumulator.update(X, Y)`` on the
    in-memory arrays to rounding (sums in another order).

    Parameters
    ----------
    X : dask.array.Array of shape (n, d)
        Samples, chunked over rows (a NumPy array is wrapped with ``Y``'s chunks).
    Y : dask.array.Array of shape (n,) or (n, m)
        Labels (rechunked to ``X``'s row chunks if they differ).
    accumulator : HermiteMomentAccumulator or ProjectedMomentAccumulator
        Defines what is summed; any picklable object with ``update(X, Y)`` and
        ``merge(other)`` will do. It is not modified.
    transform : callable, optional
        ``transform(x_block, y_block) -> (inputs, labels)``, applied to each
        block before ``update`` (e.g. projected inputs and residualised labels).
    split : list, optional
        From ``draw_split``: the held-out rows of each block are left out.

    Returns
    -------
    object of the type of ``accumulator``
        A copy of ``accumulator`` with the samples of ``X``, ``Y`` added.

    Raises
    ------
    ImportError
        Without Dask installed.
    ValueError
        On bad shapes, unknown chunk sizes, or (from a worker) non-finite values.

    Examples
    --------
    >>> import relulib as rl
    >>> net = rl.random_network(5, 2, rng=0)
    >>> X, Y = rl.gaussian_samples_dask(net, 40_000, chunk_rows=10_000, seed=1)
    >>> acc = reduce_moments(X, Y, rl.HermiteMomentAccumulator(5, g3=np.eye(5)[0]))
    >>> acc.n, acc.T3().shape
    (40000, (1, 1, 5, 5))
    """
    if not (callable(getattr(accumulator, "update", None)) and callable(getattr(accumulator, "merge", None))):
        raise InputTypeError(f"accumulator: expected an object with update and merge methods "
                             f"(a HermiteMomentAccumulator), got {describe(accumulator)}")
    X, Y = as_dask_samples(X, Y)  # imports Dask, or says how to install it
    import dask

    if transform is not None and not callable(transform):
        raise InputTypeError(f"transform: expected a callable, got {describe(transform)}")
    if split is not None:
        blocks = len(X.chunks[0])
        if not isinstance(split, list):
            raise InputTypeError(f"split: expected the list made by draw_split, got {describe(split)}")
        if len(split) != blocks or not all(isinstance(s, tuple) and len(s) == 3 for s in split):
            raise ValueError(f"split: expected one (seed, held-out, subsample) entry per row block "
                             f"({blocks}), as draw_split makes it, got {describe(split)}")
    total, _ = _graph(X, Y, accumulator, specs=split, transform=transform)
    (result,) = dask.compute(total)
    return copy.deepcopy(accumulator).merge(result)


def draw_split(X, Y, rng, n_hold, n_sample):
    """Draw ``n_hold`` held-out rows and ``n_sample`` other rows, uniformly without
    replacement with ``rng``, and pull them into memory (one pass over the blocks).

    Returns ``(split, X_hold, Y_hold, X_sample, Y_sample)``: ``split`` tells
    :func:`reduce_moments` which rows of each block are held out (the same rows
    on every pass: each block draws them from its own seed). ``Y_*`` keep
    ``Y``'s dimensions.
    """
    import dask

    one_d = Y.ndim == 1
    X, Y2 = as_dask_samples(X, Y)
    split = _split_specs(rng, X.chunks[0], n_hold, n_sample)
    pick = dask.delayed(_block_rows, pure=True, nout=4)
    xs = X.to_delayed(optimize_graph=False).ravel()
    ys = Y2.to_delayed(optimize_graph=False).ravel()
    (picked,) = dask.compute([pick(xb, yb, spec) for xb, yb, spec in zip(xs, ys, split)])
    d, m = X.shape[1], Y2.shape[1]
    X_hold, Y_hold = _stack(picked, 0, d), _stack(picked, 1, m)
    X_sample, Y_sample = _stack(picked, 2, d), _stack(picked, 3, m)
    if one_d:
        Y_hold, Y_sample = Y_hold[:, 0], Y_sample[:, 0]
    return split, X_hold, Y_hold, X_sample, Y_sample


def _split_specs(rng, sizes, n_hold, n_sample):
    """Per-block ``(seed, held-out count, subsample count)``: a uniform random split."""
    sizes = np.asarray(sizes, dtype=np.int64)
    hold = rng.multivariate_hypergeometric(sizes, n_hold)
    sample = rng.multivariate_hypergeometric(sizes - hold, n_sample)
    root = np.random.SeedSequence(int(rng.integers(2**63)))
    seeds = [_child(root, i) for i in range(len(sizes))]
    return [(s, int(h), int(q)) for s, h, q in zip(seeds, hold, sample)]


def _stack(picked, i, width):
    parts = [p[i] for p in picked if p[i].shape[0]]
    return np.concatenate(parts) if parts else np.zeros((0, width))


# ---------------------------------------------------------------------------
# BJW19: recover_exact
# ---------------------------------------------------------------------------
class _SquaredResidual:
    """Mergeable sums ``|Y - net(X)|_F^2`` and ``|Y|_F^2`` (the certificate as a reduction)."""

    def __init__(self, net):
        self.net = net
        self.res = 0.0
        self.norm = 0.0
        self.n = 0

    def update(self, X, Y):
        R = Y - self.net.predict(X)
        with np.errstate(over="ignore"):
            self.res += float(np.sum(R * R))
            self.norm += float(np.sum(Y * Y))
        self.n += X.shape[0]
        return self

    def merge(self, other):
        self.res += other.res
        self.norm += other.norm
        self.n += other.n
        return self


def recover_exact(X, Y, k, *, activation=None, tolerance=CERTIFICATE_TOL, rng=None, n_trials=5):
    """:func:`relulib.recover_exact` of Dask arrays.

    Steps 1-3 of the in-memory function already work on a subsample of at most
    ``max(20 000, 25 d k)`` rows, so one pass pulls ``min(n, SUBSAMPLE_ROWS)``
    rows drawn with ``rng`` and the in-memory :func:`relulib.recover_exact`
    (restarts included) runs on them; a second pass reduces the certificate
    ``|Y - U f(V X)|_F / |Y|_F`` over all rows.
    """
    X, Y = as_dask_samples(X, Y)  # imports Dask, or says how to install it
    import dask

    n, d = X.shape
    k = _check_k(k, d, "k: expected at most d={d} hidden units (V* must have full row rank), got k={k}")
    if n < 10 * d * k:
        raise ValueError(f"X: expected at least 10 d k = {10 * d * k} samples, got n={n}")
    tolerance = as_tolerance(tolerance)
    rng = as_rng(rng)
    specs = _split_specs(rng, X.chunks[0], 0, min(n, SUBSAMPLE_ROWS))
    _, picked = _graph(X, Y, HermiteMomentAccumulator(d), rows=True, specs=specs)
    (picked,) = dask.compute(picked)
    Xs, Ys = _stack(picked, 2, d), _stack(picked, 3, Y.shape[1])
    with warnings.catch_warnings():  # the certificate that counts is the one on all rows
        warnings.simplefilter("ignore", CertificateWarning)
        inner = bjw19.recover_exact(Xs, Ys, k, activation=activation, tolerance=tolerance,
                                    rng=rng, n_trials=n_trials)
    net = inner.network
    total, _ = _graph(X, Y, _SquaredResidual(net))
    (sums,) = dask.compute(total)
    if not (np.isfinite(sums.res) and np.isfinite(sums.norm)):
        raise ValueError("X: the certificate's sums of squares overflow on these samples; rescale Y")
    res = float(np.sqrt(sums.res / sums.norm)) if sums.norm > 0 else float(np.sqrt(sums.res))
    certified = res <= tolerance
    if not certified:
        warnings.warn(
            f"recover_exact: certificate failed, relative residual |Y - U f(VX)| / |Y| = {res:.3e} "
            f"> tolerance {tolerance:.0e}; try more samples, another rng, or relulib.recover_noisy",
            CertificateWarning,
            stacklevel=3,
        )
    return RecoveryResult(net, res, bool(certified), tolerance, inner.iterations)


# ---------------------------------------------------------------------------
# Samples generated lazily from a seed
# ---------------------------------------------------------------------------
def _child(seed, i):
    """The ``i``-th child of ``seed``, as ``seed.spawn`` makes it, without changing ``seed``
    (``spawn`` counts its calls: a task run twice must draw the same numbers)."""
    return np.random.SeedSequence(seed.entropy, spawn_key=tuple(seed.spawn_key) + (i,),
                                  pool_size=seed.pool_size)


def _sample_block(net, rows, noise, seed):
    """One block of samples: ``x ~ N(0, I_d)`` and ``y = net(x) + noise N(0, 1)`` from ``seed``."""
    x_seed, noise_seed = _child(seed, 0), _child(seed, 1)
    X = np.random.default_rng(x_seed).standard_normal((rows, net.d))
    Y = net.predict(X)
    if noise > 0:
        Y = Y + noise * np.random.default_rng(noise_seed).standard_normal(Y.shape)
    return X, Y


def gaussian_samples_dask(
    net: TwoLayerNetwork, n: int, *, chunk_rows: int = 1_000_000, noise: float = 0.0,
    seed: int | np.random.SeedSequence = 0,
) -> tuple[Any, Any]:
    """Lazy Gaussian samples of a network as Dask arrays: ``n`` rows never held at once.

    Block ``i`` (``chunk_rows`` rows, the last one shorter) is drawn, when a
    task needs it, from the ``i``-th child of ``numpy.random.SeedSequence(seed)``
    (``.spawn``), independently of the other blocks: the same ``seed`` and
    ``chunk_rows`` give the same samples on any scheduler, in any order, on
    every pass. Inputs ``x ~ N(0, I_d)``, labels ``y = net(x) + noise N(0, 1)``
    (as :func:`relulib.gaussian_samples`, with another stream of random numbers).

    Parameters
    ----------
    net : TwoLayerNetwork
    n : int
        Number of samples.
    chunk_rows : int, default 1000000
        Rows per block (8 d MB of inputs each).
    noise : float, default 0
        Standard deviation of additive Gaussian label noise.
    seed : int or numpy.random.SeedSequence, default 0

    Returns
    -------
    X : dask.array.Array of shape (n, d)
    Y : dask.array.Array of shape (n, m)
        Computed together, a block of ``Y`` reuses the block of ``X`` it was
        made from; computed in separate graphs, the block is drawn again (the
        same numbers).

    Raises
    ------
    ImportError
        Without Dask installed.
    ValueError
        On a negative noise, non-positive ``n`` or ``chunk_rows``, more than
        ``MAX_BLOCKS`` blocks, or a negative seed.
    TypeError
        On a seed that is neither an integer nor a ``numpy.random.SeedSequence``.

    Examples
    --------
    >>> import relulib as rl
    >>> net = rl.random_network(4, 2, rng=0)
    >>> X, Y = gaussian_samples_dask(net, 10**9, chunk_rows=10**6, seed=1)
    >>> X.shape, X.numblocks, Y.shape
    ((1000000000, 4), (1000, 1), (1000000000, 1))
    >>> bool(np.allclose(Y[:5].compute(), net.predict(X[:5].compute())))
    True
    """
    as_network(net, "net")
    n = as_positive_int(n, "n")
    chunk_rows = as_positive_int(chunk_rows, "chunk_rows")
    if -(-n // chunk_rows) > MAX_BLOCKS:  # the graph holds a few tasks per block
        raise ValueError(f"n: expected at most {MAX_BLOCKS} blocks of chunk_rows={chunk_rows} rows "
                         f"(n <= {MAX_BLOCKS * chunk_rows}), got n={n}")
    noise = as_real_scalar(noise, "noise", low=0.0, what="a non-negative standard deviation")
    if isinstance(seed, np.random.SeedSequence):
        root = seed
    else:
        if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
            raise InputTypeError(f"seed: expected a non-negative integer or a "
                                 f"numpy.random.SeedSequence, got {describe(seed)}")
        if seed < 0:
            raise ValueError(f"seed: expected a non-negative integer or a numpy.random.SeedSequence, "
                             f"got {describe(seed)}")
        root = np.random.SeedSequence(int(seed))
    da = _require_dask()  # after the checks: bad arguments fail without importing Dask
    import dask

    sizes = [chunk_rows] * (n // chunk_rows) + ([n % chunk_rows] if n % chunk_rows else [])
    seeds = [_child(root, i) for i in range(len(sizes))]
    token = dask.base.tokenize(root.entropy, root.spawn_key, n, chunk_rows, noise,
                               net.U, net.V, net.b, net.activation.name)
    X_blocks, Y_blocks = [], []
    for i, (rows, s) in enumerate(zip(sizes, seeds)):
        pair = dask.delayed(_sample_block, pure=True, nout=2)(
            net, rows, noise, s, dask_key_name=f"relulib-samples-{token}-{i}")
        X_blocks.append(da.from_delayed(pair[0], (rows, net.d), dtype=float))
        Y_blocks.append(da.from_delayed(pair[1], (rows, net.m), dtype=float))
    return da.concatenate(X_blocks, axis=0), da.concatenate(Y_blocks, axis=0)
