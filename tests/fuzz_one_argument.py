"""Child script of tests/test_fuzz.py: one bad argument at a time.

For every public function of relulib that takes data or options, ``valid_calls`` gives a
valid call (keyword arguments). Each argument in turn is replaced by each bad input of
its kind (arrays: NaN, inf, complex, 3-D, zero-size, string, dict, huge and tiny scales,
a list of the same values; integers: negative, fractional, string, bool, huge; reals:
NaN, inf, complex, string, list), the other arguments left valid. Each call runs under
``signal.alarm``; the process address space is capped. Prints a JSON list of
``[function, parameter, bad input, outcome]`` to stdout.
"""

import importlib.util
import json
import re
import resource
import signal
import sys
import warnings

import numpy as np

resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))
import relulib as rl  # noqa: E402

TIME_LIMIT = 5  # seconds per call


class Timeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise Timeout()


def valid_calls():
    """name -> dict of keyword arguments of a valid, quick call."""
    rng = np.random.default_rng(0)
    net = rl.random_network(4, 2, m=2, rng=1)
    net1 = rl.random_network(4, 2, bias_scale=0.5, rng=2)
    X, Y = rl.gaussian_samples(net, 400, rng=3)
    X1, y1 = rl.gaussian_samples(net1, 600, rng=4)
    A = np.linalg.qr(rng.standard_normal((4, 2)))[0]
    T3 = np.einsum("i,ai,bi,ci->abc", [1.0, -1.0], A, A, A)
    M2 = A @ np.diag([1.0, 2.0]) @ A.T
    f_coef = [rl.hermite_coefficients(net1, t) for t in range(5)]
    mom = rl.projected_moments(X1, y1, 2)
    deep, _ = rl.blind_depth3_network(4, rng=0)
    calls = {
        "activation_hermite_coefficient": dict(activation="relu", order=3),
        "approximate_directions": dict(X=X, Y=Y, k=2, rng=0, n_trials=2),
        "bivariate_normal_cdf": dict(h=0.3, k=-0.2, rho=0.4),
        "blind_depth3_network": dict(d=4, beta=1.0, scale=3.0, rng=0),
        "certify_root_separation": dict(degree=5),
        "contract_last_modes": dict(T=T3),
        "cp_als": dict(T=T3, rank=2, rng=0, max_iter=50, tol=1e-10),
        "eigenvalue_separation": dict(eigenvalues=np.array([1.0, 2.0, 4.0])),
        "empirical_hermite_tensor": dict(X=X1, Y=y1, order=2, chunk_size=100),
        "equation2_residual": dict(net=net1, signs=np.array([1.0, -1.0])),
        "equation2_sign_vectors": dict(net=net1, tol=1e-9),
        "filtered_pca": dict(X=X, Y=Y[:, 0], k=2, quantile=0.5, n_bins=2),
        "fit_adam": dict(X=X1, Y=y1, k=2, max_steps=20, learning_rate=0.01),
        "fix_signs": dict(net=net1, f1=f_coef[1]),
        "flattening_rank": dict(T=T3),
        "flip_units": dict(net=net1, signs=np.array([1.0, -1.0])),
        "function_equality_certificate": dict(f=net1, g=net1, tol=1e-9),
        "gauss_hermite_prob": dict(n=10),
        "gaussian_samples": dict(net=net, n=50, noise=0.1, rng=0),
        "hermite_coefficient_factors": dict(net=net1, order=3),
        "hermite_coefficient_monte_carlo": dict(X=X1, Y=y1, order=2, chunk_size=100),
        "hermite_coefficients": dict(net=net1, order=2),
        "hermite_prob": dict(degree=3, x=np.array([0.0, 1.0, 2.0])),
        "hermite_prob_exact": dict(degree=3, x="3/2"),
        "hermite_prob_integer_coefficients": dict(degree=4),
        "hermite_prob_vander": dict(x=np.array([0.0, 1.0, 2.0]), max_degree=3),
        "hermite_tensor": dict(x=np.array([0.5, -1.0, 2.0]), order=2),
        "identifiability_diagnostics": dict(net=net, X=X),
        "jennrich": dict(T=T3, rank=2, rng=0, n_trials=1),
        "khatri_rao": dict(A=A, B=A),
        "kruskal_rank": dict(M=A, rtol=1e-10),
        "l2_distance": dict(f=net1, g=rl.random_network(4, 2, bias_scale=0.5, rng=7), merge_tol=1e-12),
        "large_bias_replacement_error": dict(b=np.array([0.5, 3.0])),
        "large_bias_surrogate": dict(net=net1, threshold=3.0),
        "match_units": dict(true_net=net, est_net=net),
        "moment_estimate": dict(X=X1, Y=y1, k=2, rng=0, n_trials=2, chunk_size=300),
        "moment_fit_residual": dict(net=net1, moments=mom),
        "moment_matrix": dict(X=X1, Y=y1, order=2),
        "network_correlation": dict(net1=rl.random_network(4, 2, rng=8), net2=rl.random_network(4, 2, rng=9)),
        "normal_cdf": dict(t=np.array([-1.0, 0.0, 2.0])),
        "normal_pdf": dict(t=np.array([-1.0, 0.0, 2.0])),
        "parameter_error": dict(true_net=net, est_net=net),
        "principal_angle_sine": dict(A=A, B=A),
        "projected_moments": dict(X=X1, Y=y1, k=2, chunk_size=300),
        "random_network": dict(d=4, k=2, m=1, bias_scale=0.5, rng=0),
        "recover_exact": dict(X=X, Y=Y, k=2, tolerance=1e-8, rng=0),
        "recover_fpt": dict(X=X, Y=Y, k=2, n_candidates=4, rng=0, max_candidates=100, time_limit=5.0),
        "recover_from_coefficients": dict(coefficients=f_coef, ell=1, rng=0, n_trials=2),
        "recover_noisy": dict(X=X, Y=Y, k=2, rng=0, max_iter=5, n_trials=1, tolerance=1e-8, holdout=0.2,
                              screen_samples=100),
        "recover_null_space": dict(X=X, Y=Y, k=2, quantile=0.1, rng=0),
        "recover_scalars": dict(directions=net1.V, tensors=f_coef, ell=1),
        "recover_with_bias": dict(X=X1, Y=y1, k=2, rng=0, holdout=0.2, max_polish_samples=500,
                                  tolerance=1e-8, n_trials=2),
        "refine_by_patterns": dict(net=net, X=X, Y=Y, bias=False, max_iter=5, margin=0.0, tol=1e-12,
                                   patience=8, rows=np.arange(300)),
        "relative_residual": dict(net=net, X=X, Y=Y),
        "relu_gaussian_kernel": dict(V1=net1.V, b1=net1.b, V2=net1.V, b2=net1.b),
        "relu_hermite_coefficient": dict(order=3, b=0.5),
        "relu_hermite_energies": dict(a=[1.0], V=[[1.0, 0.0]], b=[0.0], max_order=3),
        "relu_hermite_tensor_quadrature": dict(w=np.array([0.6, 0.8]), b=0.5, order=2, n_nodes=60),
        "relu_kernel": dict(w=np.array([0.6, 0.8]), v=np.array([1.0, 0.0]), b=0.1, c=-0.2, n_nodes=60),
        "relu_label_hermite_energy": dict(p=2, b=0.5),
        "relu_tail_l2": dict(b=np.array([0.5, 2.0])),
        "relu_gaussian_mean": dict(b=np.array([0.5, -2.0])),
        "markdown_table": dict(header=["n", "error"], rows=[[1000, "3.1e-02"]]),
        "ProjectedMomentAccumulator": dict(P=A),
        "repaired_separation_bound": dict(degree=4, x=1.0),
        "separation_identity_holds": dict(degree=4),
        "separation_minimum": dict(degree=4),
        "set_splitting_instance": dict(sets=[[0, 1], [1, 2]], d=3),
        "sign_flip_pair": dict(V=rng.standard_normal((6, 4)), rng=0, tol=1e-9),
        "simultaneous_diagonalization": dict(Mg=M2, Mh=A @ np.diag([3.0, -1.0]) @ A.T, rank=2),
        "span_from_moments": dict(X=X, Y=Y, k=2),
        "splitting_network": dict(colouring=np.array([0, 1, 0])),
        "square_loss_gradient": dict(net=net, X=X, Y=Y),
        "symmetric_rank_one_sum": dict(weights=np.array([1.0, -1.0]), vectors=A.T, order=3),
        "tensor_power_method": dict(T=T3, rank=2, n_starts=3, n_iter=50, rng=0),
        "tensor_stage": dict(moments=mom, attempt=0, rng=0, n_trials=2),
        "unit_contraction_variance": dict(order=3, b=0.2, rho=1.0, a=1.0),
        "unit_distance_matrix": dict(true_net=net, est_net=net),
        "unit_tensor_mse": dict(order=3, b=0.2, d=4, a=1.0),
        "whiten": dict(M=M2, rank=2),
        "whitened_power_decomposition": dict(M=M2, T=T3, rank=2, n_starts=3, n_iter=50, rng=0),
        "zero_pattern_unit": dict(X=X, basis=np.linalg.qr(Y)[0], direction=net.V[0], act="relu",
                                  quantile=0.1, tol=1e-9),
        "TwoLayerNetwork": dict(U=net.U, V=net.V, b=np.zeros(2), activation="relu"),
        "HermiteMomentAccumulator": dict(d=4),
        "get_activation": dict(activation="relu"),
        "DepthThreeNetwork": dict(W1=deep.W1, b1=deep.b1, W2=deep.W2, b2=deep.b2, c=deep.c),

        "alternating_polygon_network": dict(d=3, n_units=8, rng=0),
        "jennrich_slices": dict(slices=np.stack([M2, A @ np.diag([3.0, -1.0]) @ A.T]), reference=M2,
                                rank=2, rng=0),
        "jennrich_perturbation_bound": dict(A=np.eye(2), weights=[1.0, 1.0], g=[1.0, 2.0], h=[1.0, 1.0],
                                            E_g=np.zeros((2, 2)), E_h=np.zeros((2, 2))),
    }
    if importlib.util.find_spec("dask") is not None:  # the optional extra relulib[dask]
        calls["gaussian_samples_dask"] = dict(net=net, n=2000, chunk_rows=500, noise=0.0, seed=0)
        calls["reduce_moments"] = dict(X=X, Y=Y, accumulator=rl.HermiteMomentAccumulator(4),
                                       transform=None, split=None)
    return calls


def bad_inputs(value):
    """(label, bad value, 'must_fail' | 'may_succeed') for one valid argument."""
    out = []
    if isinstance(value, (bool, np.bool_)):
        out += [("string", "yes", "must_fail"), ("array", np.array([True, False]), "must_fail")]
    elif isinstance(value, (int, np.integer)):
        out += [("negative", -3, "must_fail"), ("fraction", 2.5, "must_fail"),
                ("string", "3", "must_fail"), ("nan", float("nan"), "must_fail"),
                ("list", [int(value)], "must_fail"), ("huge", 10**18, "may_succeed")]
    elif isinstance(value, (float, np.floating)):
        out += [("nan", float("nan"), "must_fail"), ("complex", complex(value, 1.0), "must_fail"),
                ("string", "0.5", "must_fail"), ("list", [float(value), 1.0], "may_succeed"),
                ("huge", float(value) * 1e200 + 1e200, "may_succeed"),
                ("tiny", float(value) * 1e-200, "may_succeed")]
    elif isinstance(value, np.ndarray) and value.dtype.kind in "fiu" and value.size:
        v = value.astype(float)
        nan = v.copy()
        nan.flat[0] = np.nan
        inf = v.copy()
        inf.flat[-1] = np.inf
        out += [("nan", nan, "must_fail"), ("inf", inf, "must_fail"),
                ("complex", v + 1j, "must_fail"), ("3d_extra_axis", v[..., None, None], "must_fail"),
                ("zero_size", v[:0], "must_fail"), ("string", "abc", "must_fail"),
                ("dict", {"a": 1}, "must_fail"),
                ("huge", v * 1e200, "may_succeed"), ("tiny", v * 1e-200, "may_succeed"),
                ("list", v.tolist(), "may_succeed")]
    elif isinstance(value, rl.TwoLayerNetwork):
        out += [("string", "net", "must_fail"), ("array", value.V, "must_fail")]
    elif isinstance(value, str):
        out += [("unknown_name", "no-such-activation", "must_fail"), ("number", 3.0, "must_fail")]
    elif isinstance(value, list):
        out += [("string", "abc", "must_fail"), ("dict", {"a": 1}, "must_fail")]
    else:  # records (ProjectedMoments) and other objects
        out += [("string", "abc", "must_fail"), ("dict", {"a": 1}, "must_fail")]
    return out


def _finite(out):
    vals = list(out) if isinstance(out, tuple) else [out]
    for v in vals:
        if isinstance(v, (np.ndarray, float, np.floating)) and np.asarray(v).dtype.kind in "fc":
            if not np.all(np.isfinite(v)):
                return False
    return True


def _named(msg):
    m = re.match(r"^([A-Za-z_][A-Za-z_0-9]*(?:(?:, | and )[A-Za-z_][A-Za-z_0-9]*)*)(?:\[\d+\])?:", msg)
    return set(re.split(r", | and ", m.group(1))) if m else set()


# Elementwise or any-order functions: empty and higher-dimensional arrays are valid input;
# +-inf is a valid argument of the normal distribution functions (the limits).
ANY_SHAPE = {"bivariate_normal_cdf", "normal_cdf", "normal_pdf", "relu_tail_l2", "relu_gaussian_mean",
             "large_bias_replacement_error", "contract_last_modes", "flattening_rank",
             "tensor_power_method", "khatri_rao", "kruskal_rank", "hermite_prob",
             "hermite_prob_vander", "eigenvalue_separation"}
INF_OK = {"bivariate_normal_cdf", "normal_cdf", "normal_pdf"}
COMPLEX_OK = {"eigenvalue_separation"}  # eigenvalues of a Jennrich draw may be a conjugate pair
DOCUMENTED_WARNINGS = ("CertificateWarning", "IdentifiabilityWarning", "RuntimeWarning")


def call(fn, kwargs):
    signal.alarm(TIME_LIMIT)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with np.errstate(all="ignore"):
                out = fn(**kwargs)
        signal.alarm(0)
        return "returned", out, [w.category.__name__ for w in caught]
    except (TypeError, ValueError) as exc:
        signal.alarm(0)
        return "raised", exc, []
    except Timeout:
        return "timeout", None, []
    except MemoryError:
        signal.alarm(0)
        return "memory", None, []
    except Exception as exc:  # noqa: BLE001 -- any other exception is an unclear outcome
        signal.alarm(0)
        return "other", exc, []


def main():
    signal.signal(signal.SIGALRM, _on_alarm)
    calls = valid_calls()
    results = []
    for name, kwargs in sorted(calls.items()):
        fn = getattr(rl, name)
        kind, out, valid_warned = call(fn, kwargs)
        # A deprecated function warns on every call, valid or not: that warning (documented
        # in its docstring) is not an outcome of the bad input.
        deprecated = "DeprecationWarning" in valid_warned
        results.append([name, "", "valid call", "ok" if kind == "returned" else f"{kind}: {out}"])
        if kind != "returned":
            continue
        for param, value in kwargs.items():
            if param == "rng":  # rng has its own tests (as_rng)
                continue
            for label, bad, rule in bad_inputs(value):
                kind, out, warned = call(fn, {**kwargs, param: bad})
                if kind == "raised":
                    msg = str(out)
                    if param not in _named(msg):
                        outcome = f"{type(out).__name__} not naming {param}: {msg[:150]}"
                    elif label in ("complex", "string", "dict", "array", "number") and not isinstance(out, TypeError) \
                            and label != "number":
                        outcome = f"ValueError instead of TypeError: {msg[:150]}"
                    else:
                        outcome = "ok"
                elif kind == "returned":
                    if (label in ("zero_size", "3d_extra_axis") and name in ANY_SHAPE) or (
                            label == "inf" and name in INF_OK) or (label == "complex" and name in COMPLEX_OK):
                        rule = "may_succeed"
                    if rule == "must_fail":
                        outcome = "returned a result for a bad input"
                    elif not _finite(out):
                        outcome = "non-finite result"
                    elif any(w not in DOCUMENTED_WARNINGS
                             and not (deprecated and w == "DeprecationWarning") for w in warned):
                        outcome = f"undocumented warning {sorted(set(warned))}"
                    else:
                        outcome = "ok"
                elif kind == "timeout":
                    outcome = f"timeout ({TIME_LIMIT} s)"
                elif kind == "memory":
                    outcome = "MemoryError (3 GiB address-space cap)"
                else:
                    outcome = f"{type(out).__name__}: {str(out)[:150]}"
                results.append([name, param, label, outcome])
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
