"""Input validation shared by the public entry points.

Every check raises ``ValueError`` with a message of the form
``"<parameter>: expected <what>, got <what was received>"`` so that a reader
can tell at once which argument to fix.

Integer options that set the work or the memory of a call have upper bounds,
checked before any work: repetitions (trials, restarts, iterations) at most
``MAX_REPETITIONS``, Hermite degrees and tensor orders at most ``MAX_DEGREE``,
arrays sized by integer arguments at most ``MAX_ARRAY_ENTRIES`` entries (full
tensors are further limited by ``relulib.MAX_FULL_TENSOR_ENTRIES``). Finite
inputs whose products overflow are refused by ``check_finite_result`` with a
message that names overflow and the inputs to rescale.
"""

from __future__ import annotations

import numbers
import sys

import numpy as np

__all__ = [
    "InputTypeError",
    "as_real_array",
    "as_samples",
    "as_targets",
    "as_row_indices",
    "as_finite_array",
    "as_positive_int",
    "as_nonnegative_int",
    "as_rng",
    "as_recovery_problem",
    "describe",
    "check_finite_result",
    "as_network",
    "as_real_scalar",
    "as_int_in_range",
    "as_bool",
    "is_dask_array",
    "MAX_REPETITIONS",
    "MAX_DEGREE",
    "MAX_ARRAY_ENTRIES",
    "check_array_entries",
    "as_repetitions",
    "as_degree",
    "scaled_norm",
]

#: Largest number of repetitions (random trials, restarts, optimisation steps) an
#: integer option may ask for; larger counts are refused before any work.
MAX_REPETITIONS = 10**6
#: Largest polynomial degree or tensor order accepted by the Hermite, separation and
#: tensor helpers (full tensors are further limited by ``MAX_FULL_TENSOR_ENTRIES``).
MAX_DEGREE = 100_000
#: Largest number of float64 entries (2**31, 16 GiB) of an array whose size is set by
#: integer arguments (sample counts, dimensions, widths); larger sizes are refused
#: before any allocation.
MAX_ARRAY_ENTRIES = 2**31


def describe(a) -> str:
    """Short description of a received value for error messages."""
    if isinstance(a, np.ndarray):
        return f"array of shape {a.shape} and dtype {a.dtype}"
    if isinstance(a, (list, tuple)):
        return f"{type(a).__name__} of length {len(a)}"
    return f"{type(a).__name__} {a!r}"


class InputTypeError(TypeError, ValueError):
    """An argument of the wrong type.

    A ``TypeError`` (the documented contract: wrong types raise ``TypeError``)
    that is also a ``ValueError``, so that code written against the earlier
    behaviour (``except ValueError``) keeps working, as numpy's ``AxisError``
    is both an ``IndexError`` and a ``ValueError``.
    """


def _to_real_array(a, name: str) -> np.ndarray:
    """``a`` as a float array; complex, boolean-object or non-numeric input raises ``InputTypeError``."""
    if isinstance(a, (str, bytes, dict, set)) or a is None:
        raise InputTypeError(f"{name}: expected a real array, got {describe(a)}")
    if np.iscomplexobj(a):
        raise InputTypeError(
            f"{name}: expected a real array, got complex values ({describe(a)}); "
            "pass the real part explicitly if that is what is meant"
        )
    try:
        return np.asarray(a, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputTypeError(f"{name}: expected a real array, got {describe(a)} ({exc})") from None


def as_real_array(a, name: str, *, allow_inf: bool = False) -> np.ndarray:
    """A real float array without NaN (and without infinities unless ``allow_inf``)."""
    arr = _to_real_array(a, name)
    if allow_inf:
        if np.any(np.isnan(arr)):
            raise ValueError(f"{name}: expected no NaN values, got {int(np.isnan(arr).sum())} NaN entries")
        return arr
    return as_finite_array(arr, name)


def as_finite_array(a, name: str, *, ndim=None, shape=None, nonempty=False) -> np.ndarray:
    """Convert ``a`` to a float array and check dimension, shape and finiteness.

    ``shape`` may contain ``None`` for free axes. Complex or non-numeric input
    raises :class:`InputTypeError` (a ``TypeError``). With ``nonempty=True`` an
    array with no entries is refused here, so that when several arrays are
    checked in argument order an empty one is named itself (not blamed on the
    shape check of its partner).
    """
    arr = _to_real_array(a, name)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(f"{k}-D" for k in allowed)
            raise ValueError(f"{name}: expected a {want} array, got {describe(arr)}")
    if shape is not None:
        if arr.ndim != len(shape) or any(
            s is not None and s != t for s, t in zip(shape, arr.shape)
        ):
            want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name}: expected shape {want}, got shape {arr.shape}")
    if nonempty and arr.size == 0:
        raise ValueError(f"{name}: expected a non-empty array, got {describe(arr)}")
    if not _all_finite(arr):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name}: expected finite values, got {bad} NaN or infinite entries")
    return arr


def _all_finite(arr: np.ndarray) -> bool:
    """``np.all(np.isfinite(arr))`` with a temporary of at most 1 MiB for large arrays
    (so validating a sample matrix adds no memory proportional to it)."""
    if arr.ndim < 2 or arr.size <= 2**20:
        return bool(np.all(np.isfinite(arr)))
    step = max(1, 2**20 // max(1, arr[0].size))
    return all(bool(np.all(np.isfinite(arr[i : i + step]))) for i in range(0, arr.shape[0], step))


def as_samples(X, name: str = "X", *, d=None) -> np.ndarray:
    """Validate a sample matrix of shape (n, d): samples are rows."""
    X = as_finite_array(X, name, ndim=2)
    if X.shape[0] == 0:
        raise ValueError(f"{name}: expected at least one sample (row), got shape {X.shape}")
    if d is not None and X.shape[1] != d:
        raise ValueError(f"{name}: expected {d} columns (the input dimension d), got shape {X.shape}")
    return X


def as_targets(y, n: int, name: str = "y") -> np.ndarray:
    """Validate labels: shape (n,) or (n, m); returned as (n, m)."""
    y = as_finite_array(y, name, ndim=(1, 2))
    if y.shape[0] != n:
        raise ValueError(
            f"{name}: expected {n} labels (one per row of X), got shape {y.shape}"
        )
    return y.reshape(n, -1)


def as_row_indices(rows, n: int, name: str = "rows") -> np.ndarray:
    """Validate a non-empty 1-D array of row indices in ``[0, n)``; returned as ``intp``.

    An integer array is checked without a copy (a training split of ``n`` rows
    costs no further ``O(n)`` memory); anything else is parsed as real numbers.
    """
    if isinstance(rows, np.ndarray) and rows.dtype.kind in "iu":
        if rows.ndim != 1:
            raise ValueError(f"{name}: expected a 1-D array, got {describe(rows)}")
        if rows.size == 0 or rows.min() < 0 or rows.max() >= n:
            raise ValueError(
                f"{name}: expected a non-empty array of row indices in [0, {n}), got {describe(rows)}"
            )
        return rows.astype(np.intp, copy=False)
    rows = as_finite_array(rows, name, ndim=1)
    if rows.size == 0 or np.any(rows != np.round(rows)) or rows.min() < 0 or rows.max() >= n:
        raise ValueError(
            f"{name}: expected a non-empty array of row indices in [0, {n}), got {describe(rows)}"
        )
    return rows.astype(np.intp)


def _check_high(k: int, name: str, what: str, high, why) -> int:
    if high is not None and k > high:
        reason = f" ({why})" if why else ""
        raise ValueError(f"{name}: expected {what} at most {high:,}{reason}, got {k}")
    return k


def as_positive_int(k, name: str, *, high=None, why=None) -> int:
    """Validate an integer ``1 <= k`` (and ``k <= high`` when given: ``why`` says why).

    An upper bound such as :data:`MAX_REPETITIONS` or :data:`MAX_DEGREE` refuses
    counts whose work or memory would be out of reach before any work is done.
    """
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Integral):
        raise InputTypeError(f"{name}: expected a positive integer, got {describe(k)}")
    if k < 1:
        raise ValueError(f"{name}: expected a positive integer, got {int(k)}")
    return _check_high(int(k), name, "a positive integer", high, why)


def as_nonnegative_int(k, name: str, *, high=None, why=None) -> int:
    """Validate an integer ``0 <= k`` (and ``k <= high`` when given: ``why`` says why)."""
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Integral):
        raise InputTypeError(f"{name}: expected a non-negative integer, got {describe(k)}")
    if k < 0:
        raise ValueError(f"{name}: expected a non-negative integer, got {int(k)}")
    return _check_high(int(k), name, "a non-negative integer", high, why)


def as_repetitions(k, name: str) -> int:
    """A positive count of repetitions (trials, restarts, steps), at most :data:`MAX_REPETITIONS`."""
    return as_positive_int(k, name, high=MAX_REPETITIONS,
                           why="MAX_REPETITIONS, a bound on the work of one call")


def as_degree(k, name: str, *, low: int = 0) -> int:
    """A polynomial degree or tensor order ``low <= k <= MAX_DEGREE`` (``low`` 0 or 1)."""
    parse = as_positive_int if low == 1 else as_nonnegative_int
    return parse(k, name, high=MAX_DEGREE,
                 why="MAX_DEGREE, the largest degree or order these helpers evaluate")


def check_array_entries(name: str, shape, what: str = "array") -> None:
    """Raise ``ValueError`` naming ``name`` if an array of ``shape`` (set by integer
    arguments) would have more than :data:`MAX_ARRAY_ENTRIES` entries; no allocation."""
    entries = 1
    for s in shape:
        entries *= int(s)
    if entries > MAX_ARRAY_ENTRIES:
        dims = " x ".join(f"{int(s):,}" for s in shape)
        raise ValueError(
            f"{name}: the {what} would have {dims} = {entries:.3g} entries "
            f"({8 * entries / 2**30:.3g} GiB), more than MAX_ARRAY_ENTRIES = {MAX_ARRAY_ENTRIES:,}"
        )


def as_rng(rng) -> np.random.Generator:
    """SPEC 7: normalise ``rng`` (None, seed or Generator) to a Generator."""
    if isinstance(rng, np.random.RandomState):
        raise ValueError(
            "rng: expected None, an integer seed or a numpy.random.Generator, "
            "got a legacy RandomState"
        )
    try:
        return np.random.default_rng(rng)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"rng: expected None, an integer seed or a numpy.random.Generator, got {describe(rng)}"
        ) from exc


def as_recovery_problem(
    X, Y, k, *, y_name="Y", k_message="k: expected at most d={d} hidden units, got k={k}",
    min_samples_per_dk=0, single_output=False,
):
    """Validate the data of a recovery method: ``X`` (n, d), labels (n, m), ``1 <= k <= d``.

    ``k_message`` (formatted with ``d`` and ``k``) explains why ``k > d`` is
    refused by the caller's method; with ``min_samples_per_dk = c`` at least
    ``c d k`` samples are required. Returns ``(X, Y (n, m), k)``; with
    ``single_output=True`` the labels must have one column and are returned
    with shape (n,).
    """
    X = as_samples(X, "X")
    Y = as_targets(Y, X.shape[0], y_name)
    k = as_positive_int(k, "k")
    n, d = X.shape
    if k > d:
        raise ValueError(k_message.format(d=d, k=k))
    need = min_samples_per_dk * d * k
    if n < need:
        raise ValueError(f"X: expected at least {min_samples_per_dk} d k = {need} samples, got n={n}")
    if single_output:
        if Y.shape[1] != 1:
            raise ValueError(
                f"{y_name}: expected a single output, shape (n,) or (n, 1), got shape {Y.shape}"
            )
        return X, Y[:, 0], k
    return X, Y, k


def check_finite_result(value, what: str, *, inputs: str = "X, y", hint=None) -> np.ndarray:
    """Raise ``ValueError`` naming overflow if a computed ``value`` has NaN or infinite entries.

    Used by the estimators after summing products of the data: finite inputs
    of extreme scale (say 1e150) can overflow there. ``inputs`` names the
    parameters to rescale.
    """
    arr = np.asarray(value)
    if not np.all(np.isfinite(arr)):
        bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        hint = hint or ("expected inputs of moderate scale: rescale them (for example divide "
                        "the labels by their largest absolute value)")
        raise ValueError(
            f"{inputs}: {what} overflowed ({bad} non-finite entries) although the inputs are "
            f"finite; {hint}"
        )
    return value


def as_network(net, name: str = "net"):
    """Check that ``net`` is a :class:`relulib.TwoLayerNetwork` (``InputTypeError`` otherwise)."""
    from .networks import TwoLayerNetwork  # networks imports this module

    if not isinstance(net, TwoLayerNetwork):
        raise InputTypeError(f"{name}: expected a TwoLayerNetwork, got {describe(net)}")
    return net


def as_real_scalar(x, name: str, *, low=None, high=None, low_open=False, high_open=False,
                   what="a number", max_power=None) -> float:
    """Parse a real, finite scalar option and check ``low <= x <= high`` (or strict bounds).

    The one parser of float options: never a bare ``float()``, which accepts
    strings, complex numbers with zero imaginary part, NaN and arrays of size one.
    With ``max_power = p`` a value whose ``p``-th power overflows float64
    (``|x| > 1.8e308 ** (1 / p)``) is refused with a message naming overflow.
    """
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (numbers.Real, np.ndarray, np.generic)):
        raise InputTypeError(f"{name}: expected {what}, got {describe(x)}")
    arr = as_finite_array(x, name, ndim=0)
    v = float(arr)
    lo_bad = low is not None and (v <= low if low_open else v < low)
    hi_bad = high is not None and (v >= high if high_open else v > high)
    if lo_bad or hi_bad:
        lo = "" if low is None else ("(" if low_open else "[") + f"{low}"
        hi = "" if high is None else f"{high}" + (")" if high_open else "]")
        interval = f"in {lo or '(-inf'}, {hi or 'inf)'}"
        raise ValueError(f"{name}: expected {what} {interval}, got {v!r}")
    if max_power is not None:
        limit = float(np.finfo(float).max) ** (1.0 / max_power)
        if abs(v) > limit:
            raise ValueError(
                f"{name}: expected |{name}| <= {limit:.4g} ({name}**{max_power} overflows float64 "
                f"beyond), got {v!r}"
            )
    return v


def scaled_norm(a, axis=None) -> np.ndarray:
    """``np.linalg.norm(a, axis=axis)``, recomputed as ``s |a / s|`` with ``s = max |a|``
    only where the plain norm overflows (so the result is unchanged wherever it did not):
    rows of scale 1e200 have a finite norm although their squares overflow."""
    n = np.linalg.norm(a, axis=axis)
    if np.all(np.isfinite(n)):
        return n
    s = np.max(np.abs(a), axis=axis, keepdims=True)
    s = np.where(s > 0, s, 1.0)
    m = np.linalg.norm(a / s, axis=axis, keepdims=True) * s
    m = m.reshape(np.shape(n))
    return np.where(np.isfinite(n), n, m)


def as_bool(x, name: str) -> bool:
    """A boolean switch: ``bool`` or ``numpy.bool_`` (not strings, numbers or arrays)."""
    if not isinstance(x, (bool, np.bool_)):
        raise InputTypeError(f"{name}: expected True or False, got {describe(x)}")
    return bool(x)


def as_int_in_range(k, name: str, low: int, high=None) -> int:
    """An integer with ``low <= k <= high`` (``high=None``: no upper bound)."""
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Integral):
        want = f"an integer in [{low}, {high}]" if high is not None else f"an integer >= {low}"
        raise InputTypeError(f"{name}: expected {want}, got {describe(k)}")
    k = int(k)
    if k < low or (high is not None and k > high):
        want = f"an integer in [{low}, {high}]" if high is not None else f"an integer >= {low}"
        raise ValueError(f"{name}: expected {want}, got {k}")
    return k


def is_dask_array(a) -> bool:
    """Whether ``a`` is a ``dask.array.Array``, without importing Dask (a caller holding one has)."""
    da = sys.modules.get("dask.array")
    return da is not None and isinstance(a, da.Array)
