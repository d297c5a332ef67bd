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

from .decomposition import (
    CPDecomposition,
    cp_als,
    eigenvalue_separation,
    flattening_rank,
    jennrich,
    jennrich_slices,
    khatri_rao,
    simultaneous_diagonalization,
)
from .atv21 import (
    Algorithm1Result,
    fix_signs,
    moment_estimate,
    recover_from_coefficients,
    recover_scalars,
    recover_with_bias,
    large_bias_surrogate,
    relu_tail_l2,
)
from .hermite import (
    gauss_hermite_prob,
    hermite_prob,
    hermite_prob_vander,
    normal_cdf,
    normal_pdf,
    relu_hermite_coefficient,
)
from .hermite import (  # chapter "Hermite analysis of a ReLU unit"
    MonteCarloEstimate,
    hermite_coefficient_monte_carlo,
    relu_hermite_energies,
    relu_hermite_tensor_quadrature,
    relu_kernel,
)
from .separation import (  # chapter "Root separation" (ATV21, Lemma 4.3)
    SeparationCertificate,
    SeparationMinimum,
    certify_root_separation,
    hermite_prob_exact,
    hermite_prob_integer_coefficients,
    repaired_separation_bound,
    separation_identity_holds,
    separation_minimum,
)
from .identifiability import (
    MAX_ENUMERATED_UNITS,
    EqualityCertificate,
    SignFlipPair,
    bivariate_normal_cdf,
    equation2_residual,
    equation2_sign_vectors,
    flip_units,
    function_equality_certificate,
    kruskal_rank,
    l2_distance,
    large_bias_replacement_error,
    relu_gaussian_kernel,
    sign_flip_pair,
    smallest_sign_flip_pair,
)
from .metrics import match_units, parameter_error, unit_distance_matrix
from .moments import HermiteMomentAccumulator, empirical_hermite_tensor, moment_matrix
from .networks import (
    ACTIVATIONS,
    Activation,
    TwoLayerNetwork,
    gaussian_samples,
    get_activation,
    random_network,
)
from .refine import CertificateWarning, RefinementResult, refine_by_patterns, relative_residual
from .baselines import (  # chapter "Against gradient descent"
    GradientDescentResult,
    LossGradient,
    fit_adam,
    square_loss_gradient,
)
from .bjw19 import (  # chapters "Exact recovery" and "Noisy recovery" (BJW19)
    CERTIFICATE_TOL,
    activation_hermite_coefficient,
    approximate_directions,
    recover_exact,
    recover_noisy,
    recover_null_space,
    zero_pattern_unit,
)
from .fpt import (  # chapter "Beyond full rank: FPT" (BJW19 FPT, CKM20 filtered PCA)
    DepthThreeNetwork,
    FilteredPCAResult,
    FPTResult,
    blind_depth3_network,
    filtered_pca,
    principal_angle_sine,
    recover_fpt,
    span_from_moments,
)
from .population import hermite_coefficient_factors, hermite_coefficients
from .tensors import (
    MAX_FULL_TENSOR_ENTRIES,
    contract_last_modes,
    flatten,
    hermite_tensor,
    symmetric_rank_one_sum,
)

__version__ = "0.1.0"

__all__ = [
    # gradient-descent baseline (chapter "Against gradient descent")
    "GradientDescentResult",
    "LossGradient",
    "fit_adam",
    "square_loss_gradient",
    # networks
    "Activation",
    "ACTIVATIONS",
    "get_activation",
    "TwoLayerNetwork",
    "random_network",
    "gaussian_samples",
    # Hermite analysis
    "hermite_prob",
    "hermite_prob_vander",
    "gauss_hermite_prob",
    "normal_pdf",
    "normal_cdf",
    "relu_hermite_coefficient",
    "relu_kernel",
    "relu_hermite_tensor_quadrature",
    "relu_hermite_energies",
    "MonteCarloEstimate",
    "hermite_coefficient_monte_carlo",
    # root separation (ATV21, Lemma 4.3)
    "hermite_prob_integer_coefficients",
    "hermite_prob_exact",
    "SeparationCertificate",
    "certify_root_separation",
    "SeparationMinimum",
    "separation_minimum",
    "repaired_separation_bound",
    "separation_identity_holds",
    # tensors
    "MAX_FULL_TENSOR_ENTRIES",
    "hermite_tensor",
    "symmetric_rank_one_sum",
    "contract_last_modes",
    "flatten",
    # moments
    "HermiteMomentAccumulator",
    "moment_matrix",
    "empirical_hermite_tensor",
    "hermite_coefficients",
    "hermite_coefficient_factors",
    # decomposition
    "CPDecomposition",
    "flattening_rank",
    "simultaneous_diagonalization",
    "jennrich",
    "jennrich_slices",
    "eigenvalue_separation",
    "khatri_rao",
    "cp_als",
    # ATV21 pipeline
    "Algorithm1Result",
    "recover_scalars",
    "fix_signs",
    "recover_from_coefficients",
    "moment_estimate",
    "recover_with_bias",
    "relu_tail_l2",
    "large_bias_surrogate",
    # refinement and certificates
    "CertificateWarning",
    "RefinementResult",
    "refine_by_patterns",
    "relative_residual",
    # BJW19 exact and noisy recovery
    "CERTIFICATE_TOL",
    "activation_hermite_coefficient",
    "approximate_directions",
    "zero_pattern_unit",
    "recover_exact",
    "recover_noisy",
    "recover_null_space",
    # BJW19 FPT and CKM20 filtered PCA
    "DepthThreeNetwork",
    "FilteredPCAResult",
    "FPTResult",
    "blind_depth3_network",
    "filtered_pca",
    "principal_angle_sine",
    "recover_fpt",
    "span_from_moments",
    # metrics
    "unit_distance_matrix",
    "match_units",
    "parameter_error",
    # identifiability (ATV21, Theorem 3.4, Claim 4.8)
    "EqualityCertificate",
    "SignFlipPair",
    "flip_units",
    "function_equality_certificate",
    "sign_flip_pair",
    "smallest_sign_flip_pair",
    "equation2_residual",
    "equation2_sign_vectors",
    "MAX_ENUMERATED_UNITS",
    "kruskal_rank",
    "bivariate_normal_cdf",
    "relu_gaussian_kernel",
    "l2_distance",
    "large_bias_replacement_error",
]
