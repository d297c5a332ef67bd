"""The certificate of exact recovery and the one result type of every ``recover_*`` function.

A recovery method that claims exactness can check its own answer: a network
that reproduces the labels to rounding on samples it was not fitted to (or,
for BJW19's exact step, on ``n >= 10 d k`` samples that over-determine it)
computes the same function on the Gaussian inputs. The check is the relative
residual ``|Y - net(X)|_F / |Y|_F`` (:func:`relative_residual`), accepted when
at most a tolerance (:data:`CERTIFICATE_TOL`).

One tolerance for every pipeline. An exact recovery leaves a residual at
rounding level (well below ``1e-10`` for the problem sizes of the book: the
least-squares solves are well conditioned); a wrong unit leaves a residual of
the order of its share of the output on the samples where it is active, many
orders of magnitude larger. ``1e-8`` lies between the two with room on either
side, so the same default serves BJW19's exact step (residual on the fitting samples,
which over-determine the network), ATV21's polished pipeline (residual on
held-out samples) and the FPT search. Each ``recover_*`` function takes a
``tolerance`` parameter to change it.

Every ``recover_*`` function returns a :class:`RecoveryResult`; those that
claim exactness (:func:`relulib.recover_exact`, :func:`relulib.recover_with_bias`)
also emit a :class:`CertificateWarning` stating the measured residual when the
certificate fails.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._validation import as_network, as_real_scalar, as_row_indices, as_samples, as_targets
from .moments import row_blocks
from .networks import TwoLayerNetwork

__all__ = [
    "CERTIFICATE_TOL",
    "CertificateWarning",
    "relative_residual",
    "RecoveryResult",
    "IdentifiabilityWarning",
    "IdentifiabilityFinding",
    "identifiability_diagnostics",
]

#: Relative residual at or below which a recovery is certified exact (all pipelines).
CERTIFICATE_TOL = 1e-8


class CertificateWarning(RuntimeWarning):
    """A method could not certify its answer; the message states the measured residual."""


class IdentifiabilityWarning(UserWarning):
    """Part of a recovered network is not determined by the samples.

    Emitted by the ``recover_*`` functions, one warning per finding of
    :func:`identifiability_diagnostics`: the message names the unit(s) and the
    reason. The network may still compute the right function on the samples
    (its certificate can pass); what the samples do not determine is the
    named units' parameters.
    """


def relative_residual(
    net: TwoLayerNetwork, X: ArrayLike, Y: ArrayLike, *, rows: ArrayLike | None = None,
) -> float:
    """``|Y - net(X)|_F / |Y|_F``: the certificate of BJW19/ATV21 exact recovery.

    ``|Y|_F = 0`` gives the absolute residual ``|net(X)|_F``. Labels large enough
    for ``|Y|_F^2`` to overflow (about 1e154 and above) are divided by their
    largest entry first, so the ratio stays finite; predictions that overflow
    raise ``ValueError``.

    Parameters
    ----------
    net : TwoLayerNetwork
    X : ndarray of shape (n, d)
    Y : ndarray of shape (n,) or (n, m)
    rows : array_like of int, optional
        Only the samples ``X[rows]``, ``Y[rows]`` (e.g. a held-out part),
        fancy-indexed a chunk at a time: no copy of ``X[rows]`` is made.

    Returns
    -------
    float
        The relative residual (the absolute one when ``Y = 0``).

    Raises
    ------
    TypeError
        ``net`` not a :class:`relulib.TwoLayerNetwork`.
    ValueError
        Bad shapes or non-finite values, a number of outputs other than
        ``net.m``, ``rows`` not indices in ``[0, n)``, or predictions that
        overflow.

    Examples
    --------
    >>> import relulib as rl
    >>> net = rl.random_network(4, 2, rng=0)
    >>> X, Y = rl.gaussian_samples(net, 100, rng=1)
    >>> rl.relative_residual(net, X, Y)
    0.0
    >>> rl.relative_residual(net, X, Y, rows=[0, 5, 7])
    0.0
    """
    as_network(net, "net")
    X = as_samples(X, "X", d=net.d)
    Y = as_targets(Y, X.shape[0], "Y")
    if Y.shape[1] != net.m:
        raise ValueError(f"Y: expected {net.m} output column(s), got shape {Y.shape}")
    n = X.shape[0]
    if rows is not None:
        rows = as_row_indices(rows, n)
    return _RowPass(net, X, Y, rows).residual()


class _RowPass:
    """One streamed pass over the samples: the certificate and the diagnostics' statistics.

    The hidden activations ``act(X V^T + b)`` of a chunk of rows (about 1 MiB of
    work arrays; no ``n x k`` or ``n x m`` array) serve both the residual
    ``Y - net(X)`` (scaled sums of squares, as LAPACK's ``dnrm2``, so that
    labels near 1e154 and above do not overflow) and, with ``diagnose``, the
    counts of active samples per unit and the R factor of the activation
    matrix (a QR streamed over the chunks). One pass instead of one per
    statistic: on large ``n`` these passes are the recovery call's cost after
    the method itself. Inputs are validated by the callers.
    """

    def __init__(self, net, X, Y=None, rows=None, *, diagnose: bool = False):
        self.net = net
        self.norm_y, self.norm_r = _ScaledNorm(), _ScaledNorm()
        k = net.k
        self.active = np.zeros(k, dtype=np.int64) if diagnose else None
        self.R = None
        self.column_scale = None
        step = max(256, 2**17 // (X.shape[1] + k + net.m))
        for _, sel in row_blocks(X.shape[0], step, rows):
            self._add(X[sel], None if Y is None else Y[sel])

    def _add(self, Xc, Yc):
        net = self.net
        with np.errstate(over="ignore", invalid="ignore"):
            Z = Xc @ net.V.T + net.b
            H = net.activation(Z)
            if Yc is not None:
                Rc = Yc - H @ net.U.T
                if not np.all(np.isfinite(Rc)):
                    raise ValueError(
                        "X: the network's predictions overflow (non-finite values) on these "
                        "inputs; rescale X or the network"
                    )
                self.norm_y.add(Yc)
                self.norm_r.add(Rc)
        if self.active is None:
            return
        self.active += np.count_nonzero(Z > 0, axis=0)
        if self.column_scale is None:  # columns scaled by their first chunk's largest entry:
            top = np.max(np.abs(H), axis=0, initial=0.0)  # no underflow in the QR's norms
            self.column_scale = np.where(top > 0, top, 1.0)
        H = H / self.column_scale
        self.R = np.linalg.qr(H if self.R is None else np.vstack([self.R, H]), mode="r")

    def residual(self) -> float:
        """``|Y - net(X)|_F / |Y|_F`` over the rows passed (the absolute one when ``Y = 0``)."""
        return self.norm_r.ratio(self.norm_y)


class _ScaledNorm:
    """Frobenius norm accumulated over blocks as ``scale * sqrt(ssq)`` (no overflow)."""

    def __init__(self):
        self.scale, self.ssq = 0.0, 0.0

    def add(self, A: np.ndarray) -> None:
        top = float(np.max(np.abs(A))) if A.size else 0.0
        if top == 0.0:
            return
        if top > self.scale:
            self.ssq = self.ssq * (self.scale / top) ** 2
            self.scale = top
        self.ssq += float(np.sum(np.square(A / self.scale)))

    def ratio(self, other: "_ScaledNorm") -> float:
        """``|self| / |other|``, or ``|self|`` when ``other`` is zero."""
        if other.scale == 0.0:
            return self.scale * float(np.sqrt(self.ssq))
        return (self.scale / other.scale) * float(np.sqrt(self.ssq / other.ssq))


@dataclass(frozen=True)
class RecoveryResult:
    """What every ``recover_*`` function returns: the network and its certificate.

    The common fields come first; the method-specific ones are typed optional
    fields that are ``None`` for the methods they do not concern (no
    flag-dependent tuples, no untyped dictionary).

    Attributes
    ----------
    network : TwoLayerNetwork
        The recovered network (rows of ``V`` at unit norm for ReLU).
    residual : float
        The relative residual ``|Y - f~(X)|_F / |Y|_F`` the method certifies
        with: on held-out samples for :func:`relulib.recover_with_bias`, and
        for :func:`relulib.recover_noisy` called with a ``holdout`` fraction
        (the fit residual on data the fit has not seen); on all samples for
        :func:`relulib.recover_exact` (they over-determine the network) and
        :func:`relulib.recover_noisy` by default; for
        :func:`relulib.recover_fpt` with the fitted offset subtracted and
        relative to the centred labels when ``intercept=True``.
    certified : bool
        ``residual <= tolerance``. Never true on noisy labels; the noisy
        estimators (:func:`relulib.recover_noisy`, :func:`relulib.recover_fpt`)
        report it without warning, since their result is an estimate by design.
    tolerance : float
        The tolerance used (default :data:`CERTIFICATE_TOL`).
    iterations : int
        The method's outer iterations: rounds of fresh random contractions
        (:func:`relulib.recover_exact`), tensor-stage attempts
        (:func:`relulib.recover_with_bias`), initialisations refined
        (:func:`relulib.recover_noisy`), candidate first layers refined
        (:func:`relulib.recover_fpt`).
    offset : ndarray of shape (m,) or None
        FPT only: the fitted constant output offset (zeros unless ``intercept=True``).
    span : ndarray of shape (d, k) or None
        FPT only: the orthonormal basis of the span searched.
    search_iterations : int or None
        FPT only: pattern least-squares iterations of the search in ``R^k``,
        summed over the candidates (at most 15 each): a machine-independent
        measure of the search's cost, deterministic for a seeded ``rng``.

    Examples
    --------
    >>> import relulib as rl
    >>> net = rl.random_network(6, 3, m=4, rng=0)
    >>> X, Y = rl.gaussian_samples(net, 5000, rng=1)
    >>> result = rl.recover_exact(X, Y, 3, rng=2)
    >>> result.certified, result.residual < 1e-12
    (True, True)
    >>> rl.parameter_error(net, result.network) < 1e-9
    True
    """

    network: TwoLayerNetwork
    residual: float
    certified: bool
    tolerance: float
    iterations: int
    offset: np.ndarray | None = None
    span: np.ndarray | None = None
    search_iterations: int | None = None


def as_tolerance(tolerance) -> float:
    """A positive finite tolerance, or ``TypeError``/``ValueError`` naming the parameter."""
    if isinstance(tolerance, (float, np.floating)) and not np.isfinite(tolerance):
        raise ValueError(f"tolerance: expected a positive finite number, got {tolerance}")
    return as_real_scalar(tolerance, "tolerance", low=0.0, low_open=True,
                          what="a positive finite number")


#: A unit with fewer active samples than this many plus ``d`` has weights the samples do not determine.
MIN_ACTIVE_EXTRA = 1
#: Output weight (times row norm) below this fraction of the largest counts as zero.
ZERO_WEIGHT_RTOL = 1e-6
#: Two units with ``|cos(v_i, v_j)| > 1 - PARALLEL_TOL`` and matching bias share one hyperplane.
PARALLEL_TOL = 1e-6
#: Singular value of the normalised activation matrix, relative to the largest, counted as zero.
RANK_RTOL = 1e-8


@dataclass(frozen=True)
class IdentifiabilityFinding:
    """One reason why part of a network is not determined by the samples.

    Attributes
    ----------
    kind : str
        ``"never_active"`` (a unit active on fewer than ``d + 1`` samples),
        ``"zero_output_weight"``, ``"duplicate"`` (two units on one
        hyperplane) or ``"dependent_units"`` (the activations of some units
        are linearly dependent on the samples: the samples support fewer
        units than the network has, e.g. a requested width ``k`` larger than
        the true one).
    units : tuple of int
        The units concerned (0-based indices into the rows of ``V``).
    message : str
        A sentence naming the units and the reason.
    """

    kind: str
    units: tuple
    message: str


def identifiability_diagnostics(net: TwoLayerNetwork, X: ArrayLike) -> list[IdentifiabilityFinding]:
    """What the samples ``X`` cannot determine about the network ``net``.

    Four checks, each a finding naming the units concerned:

    * a unit active (``v_i . x + b_i > 0``) on fewer than ``d + 1`` samples:
      its contribution is zero or nearly so on the samples, so its weights
      and bias are not determined by them;
    * a unit whose output weight ``|U[:, i]| |v_i|`` is below ``1e-6`` times
      the largest: it contributes nothing the samples can measure;
    * two units on one hyperplane (``|cos(v_i, v_j)| > 1 - 1e-6`` and equal
      normalised biases, with opposite sign for ``cos < 0``): only their
      combination is determined (ATV21, Theorem 3.4, assumes no two parallel
      ``w_i``);
    * units whose activations on the samples are linearly dependent
      (normalised activation matrix with a singular value below ``1e-8`` of
      the largest): the samples support fewer units than ``net.k``, as when
      the requested width ``k`` exceeds the width of the network that made
      the labels.

    The ``recover_*`` functions run it on their result and the samples they
    were given and emit an :class:`IdentifiabilityWarning` per finding. A
    finding does not mean the function is wrong on the samples: the network
    can fit them exactly while the named parameters are arbitrary.

    Parameters
    ----------
    net : TwoLayerNetwork
    X : ndarray of shape (n, d)

    Returns
    -------
    list of IdentifiabilityFinding
        Empty when nothing is found.

    Raises
    ------
    TypeError
        ``net`` not a :class:`relulib.TwoLayerNetwork`.
    ValueError
        ``X`` not a finite (n, d) array with ``d = net.d``.

    Examples
    --------
    >>> import numpy as np, relulib as rl
    >>> net = rl.TwoLayerNetwork([[1.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]], [0.0, -50.0])
    >>> X = np.random.default_rng(0).standard_normal((1000, 2))
    >>> [(f.kind, f.units) for f in rl.identifiability_diagnostics(net, X)]
    [('never_active', (1,))]
    """
    as_network(net, "net")
    X = as_samples(X, "X", d=net.d)
    return _diagnostics(net, X)


def _diagnostics(net, X, row_pass=None, rows=None) -> list:
    """:func:`identifiability_diagnostics` without validation (for the ``recover_*`` functions).

    ``row_pass`` is a :class:`_RowPass` with ``diagnose=True`` already made over
    ``X`` (by :func:`certify`), else one is made here; with ``rows`` (an index
    array), over the samples ``X[rows]`` only.
    """
    findings = []
    n, d = X.shape
    if rows is not None:
        n = rows.size
    k = net.k
    tail = "; the network may still fit the samples, but these parameters are not determined by them"
    norms = np.linalg.norm(net.V, axis=1)
    # One pass over row chunks (no n x k array: a recovery call's memory stays a fraction
    # of X's) counts the active samples of each unit and streams the R factor of the
    # activation matrix.
    if row_pass is None:
        row_pass = _RowPass(net, X, rows=rows, diagnose=True)
    active = row_pass.active
    few = set()
    for i in range(k):
        if active[i] < d + MIN_ACTIVE_EXTRA:
            few.add(i)
            findings.append(IdentifiabilityFinding(
                "never_active", (i,),
                f"unit {i} is active (v.x + b > 0) on {int(active[i])} of {n} samples, fewer "
                f"than d + 1 = {d + 1}: its weights and bias are not determined{tail}",
            ))
    weight = np.linalg.norm(net.U, axis=0) * norms
    top = float(np.max(weight)) if weight.size else 0.0
    for i in range(k):
        if weight[i] <= ZERO_WEIGHT_RTOL * top:
            findings.append(IdentifiabilityFinding(
                "zero_output_weight", (i,),
                f"unit {i} has output weight {float(weight[i]):.1e} (largest {top:.1e}): it "
                f"contributes nothing measurable, so its hidden weights are not determined (a "
                f"requested width k larger than the true one gives this){tail}",
            ))
    unit_V = net.V / norms[:, None]
    unit_b = net.b / norms
    cos = unit_V @ unit_V.T
    dup = set()
    for i in range(k):
        for j in range(i + 1, k):
            c = float(cos[i, j])
            if abs(c) > 1 - PARALLEL_TOL and abs(unit_b[i] - np.sign(c) * unit_b[j]) <= np.sqrt(PARALLEL_TOL):
                dup.update((i, j))
                findings.append(IdentifiabilityFinding(
                    "duplicate", (i, j),
                    f"units {i} and {j} lie on one hyperplane (cos = {c:+.7f}, biases "
                    f"{float(unit_b[i]):+.3g} and {float(unit_b[j]):+.3g}): only their combined "
                    f"output weights are determined{tail}",
                ))
    # Linear dependence of the activations on the samples (QR first: n can be large).
    cols = [i for i in range(k) if i not in few]
    if len(cols) >= 2:
        # The R factor of the activations of these units: H[:, cols] = Q R[:, cols] with
        # orthonormal Q, so it is the R factor of R[:, cols]; its column norms are those of
        # H[:, cols], so R / norms is the R factor of the normalised activations.
        R = np.linalg.qr(row_pass.R[:, cols], mode="r")
        R = R / np.linalg.norm(R, axis=0)
        _, s, vt = np.linalg.svd(R)
        if s[-1] <= RANK_RTOL * s[0]:
            rank = int(np.count_nonzero(s > RANK_RTOL * s[0]))
            c = np.abs(vt[-1])
            units = tuple(int(cols[j]) for j in np.flatnonzero(c > 0.1 * c.max()))
            if not set(units) <= dup:
                findings.append(IdentifiabilityFinding(
                    "dependent_units", units,
                    f"units {', '.join(map(str, units))} have linearly dependent activations "
                    f"on the samples (relative singular value {float(s[-1] / s[0]):.1e}): the "
                    f"samples support {rank + len(few)} of the k = {k} units (a requested width "
                    f"larger than the true one gives this){tail}",
                ))
    return findings


def warn_identifiability(net, X, function: str, *, stacklevel: int = 3, rows=None) -> None:
    """Emit one :class:`IdentifiabilityWarning` per finding (the ``recover_*`` functions call it);
    with ``rows``, the findings on the samples ``X[rows]``."""
    emit_identifiability(_diagnostics(net, X, rows=rows), function, stacklevel=stacklevel + 1)


def emit_identifiability(findings, function: str, *, stacklevel: int = 3) -> None:
    """Emit one :class:`IdentifiabilityWarning` per finding of a list (see :func:`certify`)."""
    for finding in findings:
        warnings.warn(f"{function}: {finding.message}", IdentifiabilityWarning, stacklevel=stacklevel)


def certify(net, X, Y) -> tuple[float, list]:
    """The certificate and the identifiability findings on the same samples, in one pass.

    ``(relative_residual(net, X, Y), identifiability_diagnostics(net, X))`` without
    validation and with one streamed pass over ``X`` instead of two (for the
    ``recover_*`` functions, whose inputs are validated).
    """
    row_pass = _RowPass(net, X, Y, diagnose=True)
    return row_pass.residual(), _diagnostics(net, X, row_pass)
