"""relulib: provable algorithms for learning two-layer ReLU networks.

The library of the book *Learning ReLU networks with provable algorithms*.
It implements the results of

* BJW19: Bakshi, Jayaram, Woodruff, *Learning Two Layer Rectified Neural
  Networks in Polynomial Time*, COLT 2019;
* ATV21: Awasthi, Tang, Vijayaraghavan, *Efficient Algorithms for Learning
  Depth-2 Neural Networks with General ReLU Activations*, NeurIPS 2021;
* CKM20: Chen, Klivans, Meka, *Learning Deep ReLU Networks Is
  Fixed-Parameter Tractable*, FOCS 2021.

Notation (one table, repeated in the book's preface)
----------------------------------------------------

==================  ===============  ==================  =====================
paper symbol        paper            relulib             shape
==================  ===============  ==================  =====================
x_1..x_n            both             ``X`` (rows)        (n, d)
X (columns)         BJW19            ``X.T``             (d, n)
U*                  BJW19            ``net.U``           (m, k)
V*                  BJW19            ``net.V``           (k, d)
a                   ATV21            ``net.a = U[0]``    (k,)
W (columns w_i)     ATV21            ``net.W = V.T``     (d, k)
b                   ATV21            ``net.b``           (k,)
f / sigma           BJW19 / ATV21    ``net.activation``  elementwise
k (BJW19) = m       hidden units     ``net.k``           int
m (BJW19)           outputs          ``net.m``           int
f_hat_k             ATV21 Lemma 3.5  ``hermite_coefficients(net, k)``  (d,)*k
T_k                 ATV21 Sec. 5     ``empirical_hermite_tensor``      (d,)*k
==================  ===============  ==================  =====================

Beware: ATV21's ``m`` counts hidden units (relulib's ``k``); BJW19's ``m``
counts outputs.

Examples
--------
>>> import relulib as rl
>>> net = rl.random_network(d=5, k=3, bias_scale=1.0, rng=0)
>>> X, Y = rl.gaussian_samples(net, 1000, rng=1)
>>> X.shape, Y.shape
((1000, 5), (1000, 1))
"""

# The public API is the union of the public modules' ``__all__`` lists (one
# source of truth: each name is declared once, in the module that defines it).
from . import (
    atv21,
    baselines,
    bjw19,
    certificate,
    decomposition,
    fpt,
    gaussian,
    hermite,
    identifiability,
    lower_bounds,
    metrics,
    moments,
    networks,
    population,
    refine,
    reporting,
    scaleout,
    separation,
    tensors,
)
from .atv21 import *  # noqa: F403 -- chapters "Tensor decomposition", "Learning with biases"
from .baselines import *  # noqa: F403 -- chapter "Against gradient descent"
from .bjw19 import *  # noqa: F403 -- chapters "Exact recovery", "Noisy recovery" (BJW19)
from .certificate import *  # noqa: F403 -- RecoveryResult, the certificate and its tolerance
from .decomposition import *  # noqa: F403 -- chapter "Tensor decomposition"
from .fpt import *  # noqa: F403 -- chapter "Beyond full rank" (BJW19 FPT, CKM20 filtered PCA)
from .gaussian import *  # noqa: F403 -- normal pdf/cdf, bivariate CDF, ReLU kernels, tail integrals
from .hermite import *  # noqa: F403 -- chapter "Hermite analysis of a ReLU unit"
from .identifiability import *  # noqa: F403 -- chapter "Identifiability" (ATV21 Thm 3.4, Claim 4.8)
from .lower_bounds import *  # noqa: F403 -- chapter "Lower bounds in context"
from .metrics import *  # noqa: F403 -- ATV21, Theorem 3.1 parameter error
from .moments import *  # noqa: F403 -- streamed, contracted moment estimates
from .networks import *  # noqa: F403 -- the model and its samples
from .population import *  # noqa: F403 -- ATV21, Lemma 3.5
from .refine import *  # noqa: F403 -- activation-pattern least squares
from .reporting import *  # noqa: F403 -- results as Markdown tables
from .scaleout import *  # noqa: F403 -- Dask arrays: the moments as a reduction (optional extra)
from .separation import *  # noqa: F403 -- chapter "Root separation" (ATV21, Lemma 4.3)
from .tensors import *  # noqa: F403 -- Hermite tensors, flattenings

# The one source of the version: pyproject.toml reads it ([tool.setuptools.dynamic]).
__version__ = "0.1.0"

_PUBLIC_MODULES = (networks, gaussian, hermite, separation, tensors, population, moments,
                   decomposition, metrics, certificate, refine, atv21, bjw19, fpt, identifiability,
                   baselines, lower_bounds, reporting, scaleout)
__all__ = [name for module in _PUBLIC_MODULES for name in module.__all__]
