"""One BLAS thread for the many small dense solves (threadpoolctl), instead of environment variables.

Polishing (:func:`relulib.refine_by_patterns`) and the tensor stage of ATV21
run many small factorisations and products (matrices of a few hundred
columns). Measured on the 2-core development machine under load, BLAS with two
threads made them several times *slower* in wall time than one thread (the
threads contend with each other and with other processes), so these steps
limit BLAS to one thread for their duration; the large Gram products of the
moment stage keep whatever the user configured.
"""

from __future__ import annotations

import contextlib
import functools

__all__ = ["one_blas_thread", "single_blas_thread"]

_controller = None


def one_blas_thread():
    """A context manager limiting the BLAS libraries loaded by numpy/scipy to one thread."""
    global _controller
    try:
        if _controller is None:
            from threadpoolctl import ThreadpoolController

            _controller = ThreadpoolController()
        return _controller.limit(limits=1, user_api="blas")
    except ImportError:  # threadpoolctl missing: run with the BLAS's own setting
        return contextlib.nullcontext()


def single_blas_thread(func):
    """Decorator: run ``func`` with :func:`one_blas_thread`."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with one_blas_thread():
            return func(*args, **kwargs)

    return wrapper
