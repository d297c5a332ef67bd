"""Plausible wrong answers to the questions of the course assignments (book/assignments/).

``WRONG_ANSWERS[name][question]`` is a list of ``(label, code)``: code a student could write
in the question's answer cell (defining the same names as the solution) that is wrong, for the
reason in the label; answers labelled "forbidden shortcut" call the relulib function that the
question puts off limits, and fail only because the hidden tests disable it while they run.
``tests/test_assignment_wrong_answers.py`` checks that each one fails at
least one public or hidden test of its question (with the autograder's seed), and that the
solutions pass them all. ``tests/test_assignments.py`` grades the first wrong answer of every
question with ``otter run``.

Where a question's wrong answers are near-copies of one correct-looking answer, that answer is
written once (``_A6_Q2`` and the like, the instructor's solution in the answer cell's style) and
each wrong answer is ``_mutant(base, (old, new), ...)``: the base with the change that makes it
wrong, so that the change is all one reads.
"""


def _mutant(base, *edits):
    """``base`` with each edit ``(old, new)`` applied in turn by ``str.replace``.

    ``old`` must occur exactly once in the code it is applied to (the base, after the edits
    before it): a base edited so that an edit no longer applies fails at import, instead of
    silently yielding an answer that is not the one its label describes.
    """
    code = base
    for old, new in edits:
        count = code.count(old)
        if count != 1:
            raise ValueError(f"_mutant: the edit {old!r} -> {new!r} needs exactly one occurrence "
                             f"of its old text in the code, found {count} in:\n{code}")
        code = code.replace(old, new)
    return code


WRONG_ANSWERS = {
    "a1_hermite_lemma35": {
        "q1": [
            ("physicists' H_k", "def he(k, t):\n    return sp.expand(sp.hermite(k, t))"),
            ("recurrence with (j + 1) in place of j", (
                "def he(k, t):\n"
                "    previous, current = sp.Integer(1), t\n"
                "    if k == 0:\n        return previous\n"
                "    for j in range(1, k):\n"
                "        previous, current = current, sp.expand(t * current - (j + 1) * previous)\n"
                "    return current")),
            ("normalised He_k / k!",
             "def he(k, t):\n    return sp.expand(sp.hermite_prob(k, t) / sp.factorial(k))"),
        ],
        "q2": [
            ("drops the recursive term", (
                "def half_line_moment(n):\n"
                "    return Phi if n == 0 else (-b) ** (n - 1) * phi")),
            ("missing sign: b^(n-1) for (-b)^(n-1)", (
                "def half_line_moment(n):\n"
                "    if n <= 1:\n        return [Phi, phi][n]\n"
                "    return sp.expand(b ** (n - 1) * phi + (n - 1) * half_line_moment(n - 2))")),
            ("factor n in place of n - 1", (
                "def half_line_moment(n):\n"
                "    if n <= 1:\n        return [Phi, phi][n]\n"
                "    return sp.expand((-b) ** (n - 1) * phi + n * half_line_moment(n - 2))")),
        ],
        "q3": [
            ("the k >= 2 formula for every k",
             "def relu_coefficient(k):\n"
             "    return (-1) ** k * sp.hermite_prob(max(k - 2, 0), b) * phi"),
            ("wrong index: He_k in place of He_{k-2}", (
                "def relu_coefficient(k):\n"
                "    if k <= 1:\n        return [b * Phi + phi, Phi][k]\n"
                "    return (-1) ** k * sp.hermite_prob(k, b) * phi")),
            ("missing sign (-1)^k", (
                "def relu_coefficient(k):\n"
                "    if k <= 1:\n        return [b * Phi + phi, Phi][k]\n"
                "    return sp.hermite_prob(k - 2, b) * phi")),
            ("physicists' H_{k-2}", (
                "def relu_coefficient(k):\n"
                "    if k <= 1:\n        return [b * Phi + phi, Phi][k]\n"
                "    return (-1) ** k * sp.hermite(k - 2, b) * phi")),
            ("extra 1/k! (coefficient of the normalised expansion)", (
                "def relu_coefficient(k):\n"
                "    if k <= 1:\n        return [b * Phi + phi, Phi][k]\n"
                "    return (-1) ** k * sp.hermite_prob(k - 2, b) * phi / sp.factorial(k)")),
        ],
        "q4": [
            ("forgets to normalise the rows of V", (
                "def lemma35_tensor(net, order):\n"
                "    g = relu_coefficient(order)\n"
                "    weights = net.a * np.array([float(g.subs(b, bias)) for bias in net.b])\n"
                "    return rl.symmetric_rank_one_sum(weights, net.V, order)")),
            ("normalises V and a but not the biases", (
                "def lemma35_tensor(net, order):\n"
                "    unit = net.normalized()\n"
                "    g = relu_coefficient(order)\n"
                "    weights = unit.a * np.array([float(g.subs(b, bias)) for bias in net.b])\n"
                "    return rl.symmetric_rank_one_sum(weights, unit.V, order)")),
        ],
    },
    "a2_root_separation": {
        "q1": [
            ("recurrence with (j + 1) in place of j", (
                "def he_exact(k, t):\n"
                "    previous, current = sp.Integer(1), sp.Rational(t)\n"
                "    if k == 0:\n        return previous\n"
                "    for j in range(1, k):\n"
                "        previous, current = current, t * current - (j + 1) * previous\n"
                "    return current\n\n"
                "def separation_ratio(k, t):\n"
                "    return max(he_exact(k, t) ** 2, he_exact(k + 1, t) ** 2) / sp.factorial(k)")),
            ("floating point, not exact", (
                "def he_exact(k, t):\n"
                "    return float(rl.hermite_prob(k, float(t)))\n\n"
                "def separation_ratio(k, t):\n"
                "    return max(he_exact(k, t) ** 2, he_exact(k + 1, t) ** 2) / float(sp.factorial(k))")),
        ],
        "q2": [
            ("divides by k! instead of sqrt(k!)", (
                "def min_ratio(k):\n"
                "    grid = np.linspace(-8, 8, 16_001)\n"
                "    values = np.maximum(np.abs(rl.hermite_prob(k, grid)), np.abs(rl.hermite_prob(k + 1, grid)))\n"
                "    return float(values.min()) / float(sp.factorial(k))")),
            ("min of |He_k| alone, not of the max", (
                "def min_ratio(k):\n"
                "    grid = np.linspace(-8, 8, 160_001)\n"
                "    values = np.abs(rl.hermite_prob(k, grid))\n"
                "    return float(values.min()) / np.sqrt(float(sp.factorial(k)))")),
        ],
        "q3": [
            ("x = 0, not checked", "x_star = sp.Rational(0)"),
            ("a float grid point, not a certified rational", "x_star = 0.0535"),
        ],
        "q4": [
            ("sign of the cross term", (
                "def cd_form(k):\n"
                "    low, high = sp.hermite_prob(k, x), sp.hermite_prob(k + 1, x)\n"
                "    return sp.expand((k + 1) * low**2 + x * low * high + high**2)")),
            ("factor k in place of k + 1", (
                "def cd_form(k):\n"
                "    low, high = sp.hermite_prob(k, x), sp.hermite_prob(k + 1, x)\n"
                "    return sp.expand(k * low**2 - x * low * high + high**2)")),
        ],
    },
    "a3_jennrich_recovery": {
        "q1": [
            ("eigenvectors of one contraction", (
                "def jennrich_components(T, rank, rng=None):\n"
                "    g = np.random.default_rng(rng).standard_normal(T.shape[-1])\n"
                "    values, vectors = np.linalg.eigh(T @ g)\n"
                "    return vectors[:, np.argsort(-np.abs(values))[:rank]].T")),
            ("M_g M_h without the pseudo-inverse", (
                "def jennrich_components(T, rank, rng=None):\n"
                "    g, h = np.random.default_rng(rng).standard_normal((2, T.shape[-1]))\n"
                "    values, vectors = np.linalg.eig((T @ g) @ (T @ h))\n"
                "    top = np.argsort(-np.abs(values))[:rank]\n"
                "    return np.real(vectors[:, top]).T")),
            ("components as columns, not rows", (
                "def jennrich_components(T, rank, rng=None):\n"
                "    g, h = np.random.default_rng(rng).standard_normal((2, T.shape[-1]))\n"
                "    values, vectors = np.linalg.eig((T @ g) @ np.linalg.pinv(T @ h, rtol=1e-10))\n"
                "    return np.real(vectors[:, np.argsort(-np.abs(values))[:rank]])")),
        ],
        "q2": [
            ("returns zeta_2 as a", (
                "def recover_scalars(T2, T3, W_hat):\n"
                "    zeta2 = np.array([w @ T2 @ w for w in W_hat])\n"
                "    zeta3 = np.array([np.einsum('ijl,i,j,l->', T3, w, w, w) for w in W_hat])\n"
                "    return zeta2, -zeta3 / zeta2")),
            ("missing sign: b = zeta_3 / zeta_2", (
                "def recover_scalars(T2, T3, W_hat):\n"
                "    A2 = np.stack([np.outer(w, w).ravel() for w in W_hat], axis=1)\n"
                "    A3 = np.stack([np.einsum('i,j,l->ijl', w, w, w).ravel() for w in W_hat], axis=1)\n"
                "    zeta2 = np.linalg.lstsq(A2, T2.ravel(), rcond=None)[0]\n"
                "    zeta3 = np.linalg.lstsq(A3, T3.ravel(), rcond=None)[0]\n"
                "    b = zeta3 / zeta2\n"
                "    return zeta2 * np.sqrt(2 * np.pi) * np.exp(b**2 / 2), b")),
        ],
        "q3": [
            ("no sign fixing", (
                "def recover_network(tensors, k, rng=None):\n"
                "    W_hat = jennrich_components(tensors[3], k, rng=rng)\n"
                "    a, b = recover_scalars(tensors[2], tensors[3], W_hat)\n"
                "    return rl.TwoLayerNetwork(a[None, :], W_hat, b)")),
            ("solves f_1 = sum z_i w_i, forgetting the factor a_i", (
                "def recover_network(tensors, k, rng=None):\n"
                "    W_hat = jennrich_components(tensors[3], k, rng=rng)\n"
                "    a, b = recover_scalars(tensors[2], tensors[3], W_hat)\n"
                "    z = np.linalg.lstsq(W_hat.T, tensors[1], rcond=None)[0]\n"
                "    signs = np.where(np.round(z + 1 - rl.normal_cdf(b)) > 0.5, 1.0, -1.0)\n"
                "    return rl.TwoLayerNetwork(a[None, :], signs[:, None] * W_hat, signs * b)")),
        ],
    },
    "a4_identifiability": {
        "q1": [
            ("a not in the null space", (
                "def sign_flip_pair(V, b):\n"
                "    V, b = np.asarray(V, dtype=float), np.asarray(b, dtype=float)\n"
                "    a = np.ones(len(b)) / np.sqrt(len(b))\n"
                "    return rl.TwoLayerNetwork(a, V, b), rl.TwoLayerNetwork(a, -V, -b)")),
            ("largest instead of smallest singular vector", (
                "def sign_flip_pair(V, b):\n"
                "    V, b = np.asarray(V, dtype=float), np.asarray(b, dtype=float)\n"
                "    a = np.linalg.svd(np.vstack([V.T, b[None, :]]))[2][0]\n"
                "    return rl.TwoLayerNetwork(a, V, b), rl.TwoLayerNetwork(a, -V, -b)")),
        ],
        "q2": [
            ("sampling instead of a proof", (
                "def same_function(net1, net2, tol=1e-9):\n"
                "    X = np.random.default_rng(0).standard_normal((20_000, net1.d))\n"
                "    return bool(np.max(np.abs(net1.predict(X) - net2.predict(X))) <= tol)")),
            ("sampling a wide box instead of a proof", (
                "def same_function(net1, net2, tol=1e-9):\n"
                "    X = np.random.default_rng(0).uniform(-100, 100, size=(50_000, net1.d))\n"
                "    return bool(np.max(np.abs(net1.predict(X) - net2.predict(X))) <= 1e3 * tol)")),
            ("compares parameters, misses sign flips",
             "def same_function(net1, net2, tol=1e-9):\n"
             "    return bool(rl.parameter_error(net1, net2) < tol)"),
            ("canonical form without the sign rule", (
                "def same_function(net1, net2, tol=1e-9):\n"
                "    difference = rl.TwoLayerNetwork(np.concatenate([net1.a, -net2.a]),\n"
                "        np.vstack([net1.V, net2.V]), np.concatenate([net1.b, net2.b])).normalized()\n"
                "    units = []\n"
                "    for a, w, b in zip(difference.a, difference.V, difference.b):\n"
                "        for unit in units:\n"
                "            if np.allclose(unit[0], w, rtol=0, atol=tol) and abs(unit[1] - b) <= tol:\n"
                "                unit[2] += a\n"
                "                break\n"
                "        else:\n"
                "            units.append([w, b, a])\n"
                "    return bool(max(abs(unit[2]) for unit in units) <= tol)")),
        ],
    },
}

# Assignments 5-9

_A5_Q4 = (
    'def noisy_factor_errors(T, V, epsilons, rng=None):\n'
    '    rng = np.random.default_rng(rng)\n'
    '    errors = []\n'
    '    for eps in epsilons:\n'
    '        E = rng.standard_normal(T.shape)\n'
    '        E *= eps / np.linalg.norm(E)\n'
    '        errors.append(factor_error(V, jennrich_cp(T + E, len(V), rng=0)[1]))\n'
    '    return np.array(errors)\n'
    '\n'
    'def loglog_slope(x, y):\n'
    '    return float(np.polyfit(np.log(x), np.log(y), 1)[0])'
)

WRONG_ANSWERS['a5_tensor_decomposition'] = {
    'q1': [
        ('transposed flattening (last modes as rows)', (
            'def flatten_modes(T, p):\n'
            '    T = np.asarray(T)\n'
            '    return T.reshape(int(np.prod(T.shape[:p])), -1).T\n'
            '\n'
            'def numerical_rank(M, rtol=1e-9):\n'
            '    return int(np.linalg.matrix_rank(M))'
        )),
        ('Fortran (column-major) order', (
            'def flatten_modes(T, p):\n'
            '    T = np.asarray(T)\n'
            "    return T.reshape(int(np.prod(T.shape[:p])), -1, order='F')\n"
            '\n'
            'def numerical_rank(M, rtol=1e-9):\n'
            '    return int(np.linalg.matrix_rank(M))'
        )),
        ('absolute tolerance, depends on the scale', (
            'def flatten_modes(T, p):\n'
            '    T = np.asarray(T)\n'
            '    return T.reshape(int(np.prod(T.shape[:p])), -1)\n'
            '\n'
            'def numerical_rank(M, rtol=1e-9):\n'
            '    return int(np.sum(np.linalg.svd(M, compute_uv=False) > rtol))'
        )),
        ('assumes full rank', (
            'def flatten_modes(T, p):\n'
            '    T = np.asarray(T)\n'
            '    return T.reshape(int(np.prod(T.shape[:p])), -1)\n'
            '\n'
            'def numerical_rank(M, rtol=1e-9):\n'
            '    return min(np.shape(M))'
        )),
        ('calls rl.flattening_rank (forbidden shortcut)', (
            'def flatten_modes(T, p):\n'
            '    T = np.asarray(T)\n'
            '    return T.reshape(int(np.prod(T.shape[:p])), -1)\n'
            '\n'
            'def numerical_rank(M, rtol=1e-9):\n'
            '    return int(rl.flattening_rank(np.asarray(M, dtype=float), rtol=rtol))'
        )),
    ],
    'q2': [
        ('the d x d^3 flattening', (
            'def count_terms(T4):\n'
            '    return numerical_rank(flatten_modes(T4, 1))\n'
            '\n'
            'def flattening_rank_formula(d, r, q, p):\n'
            '    return min(r, d**p, d ** (q - p))'
        )),
        ('formula min(r, d)', (
            'def count_terms(T4):\n'
            '    return numerical_rank(flatten_modes(T4, 2))\n'
            '\n'
            'def flattening_rank_formula(d, r, q, p):\n'
            '    return min(r, d)'
        )),
        ('formula min(r, d^p), forgetting the columns', (
            'def count_terms(T4):\n'
            '    return numerical_rank(flatten_modes(T4, 2))\n'
            '\n'
            'def flattening_rank_formula(d, r, q, p):\n'
            '    return min(r, d**p)'
        )),
    ],
    'q3': [
        ('weights not solved for (all ones)', (
            'def jennrich_cp(T, rank, rng=None):\n'
            '    g, h = np.random.default_rng(rng).standard_normal((2, T.shape[-1]))\n'
            '    values, vectors = np.linalg.eig((T @ g) @ np.linalg.pinv(T @ h, rtol=1e-10))\n'
            '    C = np.real(vectors[:, np.argsort(-np.abs(values))[:rank]]).T\n'
            '    return np.ones(rank), C / np.linalg.norm(C, axis=1, keepdims=True)'
        )),
        ('weights as T(c, c, c), as if the components were orthonormal', (
            'def jennrich_cp(T, rank, rng=None):\n'
            '    g, h = np.random.default_rng(rng).standard_normal((2, T.shape[-1]))\n'
            '    values, vectors = np.linalg.eig((T @ g) @ np.linalg.pinv(T @ h, rtol=1e-10))\n'
            '    C = np.real(vectors[:, np.argsort(-np.abs(values))[:rank]]).T\n'
            '    C /= np.linalg.norm(C, axis=1, keepdims=True)\n'
            "    return np.einsum('ijl,ri,rj,rl->r', T, C, C, C), C"
        )),
        ('weights from the eigenvalues of M_g M_h^+', (
            'def jennrich_cp(T, rank, rng=None):\n'
            '    g, h = np.random.default_rng(rng).standard_normal((2, T.shape[-1]))\n'
            '    values, vectors = np.linalg.eig((T @ g) @ np.linalg.pinv(T @ h, rtol=1e-10))\n'
            '    top = np.argsort(-np.abs(values))[:rank]\n'
            '    C = np.real(vectors[:, top]).T\n'
            '    return np.real(values[top]), C / np.linalg.norm(C, axis=1, keepdims=True)'
        )),
        ('eigenvectors of one contraction', (
            'def jennrich_cp(T, rank, rng=None):\n'
            '    g = np.random.default_rng(rng).standard_normal(T.shape[-1])\n'
            '    values, vectors = np.linalg.eigh(T @ g)\n'
            '    C = vectors[:, np.argsort(-np.abs(values))[:rank]].T\n'
            "    design = np.stack([np.einsum('i,j,l->ijl', c, c, c).ravel() for c in C], axis=1)\n"
            '    return np.linalg.lstsq(design, T.ravel(), rcond=None)[0], C'
        )),
    ],
    'q4': [
        ('linear fit, not log-log', _mutant(
            _A5_Q4, ('np.polyfit(np.log(x), np.log(y), 1)', 'np.polyfit(x, y, 1)'))),
        ('axes swapped (log x against log y)', _mutant(
            _A5_Q4, ('np.polyfit(np.log(x), np.log(y), 1)',
                     'np.polyfit(np.log(y), np.log(x), 1)'))),
        ('noise scaled by eps, not to norm eps', _mutant(
            _A5_Q4, ('        E = rng.standard_normal(T.shape)\n'
                     '        E *= eps / np.linalg.norm(E)\n',
                     '        E = eps * rng.standard_normal(T.shape)\n'))),
        ('a fresh generator for every eps (the same noise direction)', _mutant(
            _A5_Q4, ('    rng = np.random.default_rng(rng)\n', ''),
            ('E = rng.standard_normal(T.shape)',
             'E = np.random.default_rng(rng).standard_normal(T.shape)'))),
    ],
}

_A6_Q1 = (
    'def relu_coefficient(j, b):\n'
    '    b = np.asarray(b, dtype=float)\n'
    '    if j == 0:\n'
    '        return b * rl.normal_cdf(b) + rl.normal_pdf(b)\n'
    '    if j == 1:\n'
    '        return rl.normal_cdf(b)\n'
    '    return (-1) ** j * rl.hermite_prob(j - 2, b) * rl.normal_pdf(b)'
)

_A6_Q2 = (
    'def scalars_from_tensors(W_hat, tensors, ell):\n'
    '    W_hat = np.asarray(W_hat, dtype=float)\n'
    '    zeta = {}\n'
    '    for j in range(ell, ell + 4):\n'
    '        design = np.stack([rl.symmetric_rank_one_sum([1.0], w[None, :], j).ravel()'
    ' for w in W_hat], axis=1)\n'
    '        zeta[j] = np.linalg.lstsq(design, np.asarray(tensors[j]).ravel(), rcond=None)[0]\n'
    '    a, b = np.empty(len(W_hat)), np.empty(len(W_hat))\n'
    '    for i in range(len(W_hat)):\n'
    '        q = ell + 1 if abs(zeta[ell + 1][i]) >= abs(zeta[ell + 2][i]) else ell + 2\n'
    '        b[i] = -(zeta[q + 1][i] + (q - 2) * zeta[q - 1][i]) / zeta[q][i]\n'
    '        a[i] = np.sqrt(2 * np.pi) * (-1) ** q * zeta[q][i] * np.exp(b[i] ** 2 / 2)'
    ' / rl.hermite_prob(q - 2, b[i])\n'
    '    return a, b'
)

WRONG_ANSWERS['a6_learning_with_biases'] = {
    'q1': [
        ('wrong index: He_j in place of He_{j-2}', _mutant(
            _A6_Q1, ('rl.hermite_prob(j - 2, b)', 'rl.hermite_prob(j, b)'))),
        ('missing sign (-1)^j', _mutant(
            _A6_Q1, ('return (-1) ** j * rl.hermite_prob', 'return rl.hermite_prob'))),
        ("physicists' H_{j-2}", _mutant(
            _A6_Q1, ('def relu_coefficient',
                     'from scipy.special import eval_hermite\ndef relu_coefficient'),
            ('rl.hermite_prob(j - 2, b)', 'eval_hermite(j - 2, b)'))),
        ('extra 1/j! (normalised Hermite basis)', _mutant(
            _A6_Q1, ('def relu_coefficient', 'from math import factorial\ndef relu_coefficient'),
            ('* rl.normal_pdf(b)', '* rl.normal_pdf(b) / factorial(j)'))),
        ('g_0 = Phi(b) and g_1 = phi(b) swapped in', _mutant(
            _A6_Q1, ('        return b * rl.normal_cdf(b) + rl.normal_pdf(b)\n'
                     '    if j == 1:\n'
                     '        return rl.normal_cdf(b)\n',
                     '        return rl.normal_cdf(b)\n'
                     '    if j == 1:\n'
                     '        return rl.normal_pdf(b)\n'))),
        ('calls rl.relu_hermite_coefficient (forbidden shortcut)', (
            'def relu_coefficient(j, b):\n'
            '    return rl.relu_hermite_coefficient(j, b)'
        )),
    ],
    'q2': [
        ('the printed index (q and He_q)', _mutant(
            _A6_Q2, ('(q - 2) * zeta[q - 1][i]', 'q * zeta[q - 1][i]'),
            ('rl.hermite_prob(q - 2, b[i])', 'rl.hermite_prob(q, b[i])'))),
        ('He_{q-2} in a but the printed q in b', _mutant(
            _A6_Q2, ('(q - 2) * zeta[q - 1][i]', 'q * zeta[q - 1][i]'))),
        ('always q = ell + 1 (a unit at a root of He_{ell-1} breaks it)', _mutant(
            _A6_Q2, ('q = ell + 1 if abs(zeta[ell + 1][i]) >= abs(zeta[ell + 2][i]) else ell + 2',
                     'q = ell + 1'))),
        ('missing sign (-1)^q in a', _mutant(
            _A6_Q2, ('np.sqrt(2 * np.pi) * (-1) ** q * zeta[q][i]',
                     'np.sqrt(2 * np.pi) * zeta[q][i]'))),
        ('a without the factor exp(b^2/2)', _mutant(
            _A6_Q2, (' * np.exp(b[i] ** 2 / 2)', ''))),
        ('the ell = 1 formulas from f_2 and f_3 whatever ell', (
            'def scalars_from_tensors(W_hat, tensors, ell):\n'
            '    W_hat = np.asarray(W_hat, dtype=float)\n'
            '    zeta = {}\n'
            '    for j in (2, 3):\n'
            '        design = np.stack([rl.symmetric_rank_one_sum([1.0], w[None, :], j).ravel() for w in W_hat], axis=1)\n'
            '        zeta[j] = np.linalg.lstsq(design, np.asarray(tensors[j]).ravel(), rcond=None)[0]\n'
            '    b = -zeta[3] / zeta[2]\n'
            '    return np.sqrt(2 * np.pi) * zeta[2] * np.exp(b**2 / 2), b'
        )),
        ('calls rl.recover_scalars (forbidden shortcut)', (
            'def scalars_from_tensors(W_hat, tensors, ell):\n'
            '    est = rl.recover_scalars(W_hat, tensors, ell=ell)\n'
            '    return est.a, est.b'
        )),
    ],
    'q3': [
        ('no sign fixing', (
            'def fix_signs(a, W_hat, b_tilde, f1):\n'
            '    a, W_hat, b_tilde = (np.asarray(v, dtype=float) for v in (a, W_hat, b_tilde))\n'
            '    signs = np.ones(len(a))\n'
            '    return rl.TwoLayerNetwork(a[None, :], signs[:, None] * W_hat, signs * b_tilde)'
        )),
        ('flips the units with t = 1', (
            'def fix_signs(a, W_hat, b_tilde, f1):\n'
            '    a, W_hat, b_tilde = (np.asarray(v, dtype=float) for v in (a, W_hat, b_tilde))\n'
            '    z = np.linalg.lstsq((a[:, None] * W_hat).T, np.asarray(f1).ravel(), rcond=None)[0]\n'
            '    t = np.round(z + 1 - rl.normal_cdf(b_tilde))\n'
            '    signs = np.where(t > 0.5, -1.0, 1.0)\n'
            '    return rl.TwoLayerNetwork(a[None, :], signs[:, None] * W_hat, signs * b_tilde)'
        )),
        ('flips w but not b', (
            'def fix_signs(a, W_hat, b_tilde, f1):\n'
            '    a, W_hat, b_tilde = (np.asarray(v, dtype=float) for v in (a, W_hat, b_tilde))\n'
            '    z = np.linalg.lstsq((a[:, None] * W_hat).T, np.asarray(f1).ravel(), rcond=None)[0]\n'
            '    t = np.round(z + 1 - rl.normal_cdf(b_tilde))\n'
            '    signs = np.where(t > 0.5, 1.0, -1.0)\n'
            '    return rl.TwoLayerNetwork(a[None, :], signs[:, None] * W_hat, b_tilde)'
        )),
        ('solves f_1 = sum z_i w_i, forgetting the factor a_i', (
            'def fix_signs(a, W_hat, b_tilde, f1):\n'
            '    a, W_hat, b_tilde = (np.asarray(v, dtype=float) for v in (a, W_hat, b_tilde))\n'
            '    z = np.linalg.lstsq(W_hat.T, np.asarray(f1).ravel(), rcond=None)[0]\n'
            '    t = np.round(z + 1 - rl.normal_cdf(b_tilde))\n'
            '    signs = np.where(t > 0.5, 1.0, -1.0)\n'
            '    return rl.TwoLayerNetwork(a[None, :], signs[:, None] * W_hat, signs * b_tilde)'
        )),
        ('t_i rounded from Phi(b) - z (sign of the identity)', (
            'def fix_signs(a, W_hat, b_tilde, f1):\n'
            '    a, W_hat, b_tilde = (np.asarray(v, dtype=float) for v in (a, W_hat, b_tilde))\n'
            '    z = np.linalg.lstsq((a[:, None] * W_hat).T, np.asarray(f1).ravel(), rcond=None)[0]\n'
            '    t = np.round(rl.normal_cdf(b_tilde) - z)\n'
            '    signs = np.where(t > 0.5, 1.0, -1.0)\n'
            '    return rl.TwoLayerNetwork(a[None, :], signs[:, None] * W_hat, signs * b_tilde)'
        )),
    ],
}

_A7_Q2 = (
    'def oracle_estimate(net, X, Y):\n'
    '    Y = np.asarray(Y, dtype=float).reshape(len(X), -1)\n'
    '    active = X @ net.V.T > 0\n'
    '    design = np.hstack([active[:, [i]] * X for i in range(net.k)])\n'
    '    theta = np.linalg.lstsq(design, Y, rcond=None)[0]\n'
    '    U, V = np.zeros((Y.shape[1], net.k)), np.zeros((net.k, net.d))\n'
    '    for i in range(net.k):\n'
    '        Z = theta[i * net.d:(i + 1) * net.d].T\n'
    '        left, s, right_t = np.linalg.svd(Z, full_matrices=False)\n'
    '        sign = 1.0 if right_t[0] @ net.V[i] >= 0 else -1.0\n'
    '        V[i], U[:, i] = sign * right_t[0], sign * s[0] * left[:, 0]\n'
    '    return rl.TwoLayerNetwork(U, V)'
)

_A7_Q3 = (
    'def oracle_errors(net, ns, noise, seed, repeats=3):\n'
    '    rng = np.random.default_rng(seed)\n'
    '    errors = []\n'
    '    for n in ns:\n'
    '        trials = []\n'
    '        for _ in range(repeats):\n'
    '            X, Y = rl.gaussian_samples(net, n, noise=noise, rng=rng)\n'
    '            trials.append(rl.parameter_error(net, oracle_estimate(net, X, Y)))\n'
    '        errors.append(np.mean(trials))\n'
    '    return np.array(errors)\n'
    '\n'
    'def loglog_slope(x, y):\n'
    '    return float(np.polyfit(np.log(x), np.log(y), 1)[0])\n'
    '\n'
    'def oracle_ratio(net, n, noise, seed):\n'
    '    rng = np.random.default_rng(seed)\n'
    '    X, Y = rl.gaussian_samples(net, n, noise=noise, rng=rng)\n'
    '    ours = rl.parameter_error(net, rl.recover_noisy(X, Y, net.k, n_trials=1, rng=rng).network)\n'
    '    return ours / rl.parameter_error(net, oracle_estimate(net, X, Y))'
)

WRONG_ANSWERS['a7_noisy_recovery'] = {
    'q1': [
        ('no sign fixing', (
            'def fix_signs_first_moment(X, Y, U, V_hat):\n'
            '    Y = np.asarray(Y, dtype=float).reshape(len(X), -1)\n'
            '    return np.asarray(V_hat, dtype=float)'
        )),
        ('transposed moment X^T Y / n against the m x d terms', (
            'def fix_signs_first_moment(X, Y, U, V_hat):\n'
            '    Y = np.asarray(Y, dtype=float).reshape(len(X), -1)\n'
            '    T1 = X.T @ Y / len(X)\n'
            '    design = np.stack([0.5 * np.outer(U[:, i], V_hat[i]).ravel() for i in range(len(V_hat))], axis=1)\n'
            '    s = np.linalg.lstsq(design, T1.ravel(), rcond=None)[0]\n'
            '    return np.where(s >= 0, 1.0, -1.0)[:, None] * V_hat'
        )),
        ('flips the units with s > 0 (inverted)', (
            'def fix_signs_first_moment(X, Y, U, V_hat):\n'
            '    Y = np.asarray(Y, dtype=float).reshape(len(X), -1)\n'
            '    T1 = Y.T @ X\n'
            '    design = np.stack([np.outer(U[:, i], V_hat[i]).ravel() for i in range(len(V_hat))], axis=1)\n'
            '    s = np.linalg.lstsq(design, T1.ravel(), rcond=None)[0]\n'
            '    return np.where(s >= 0, -1.0, 1.0)[:, None] * V_hat'
        )),
    ],
    'q2': [
        ('no activation pattern (a linear model)', _mutant(
            _A7_Q2, ('active = X @ net.V.T > 0', 'active = np.ones((len(X), net.k), dtype=bool)'))),
        ('v from the first row of Z_i, not the top singular pair', _mutant(
            _A7_Q2, ('        left, s, right_t = np.linalg.svd(Z, full_matrices=False)\n'
                     '        sign = 1.0 if right_t[0] @ net.V[i] >= 0 else -1.0\n'
                     '        V[i], U[:, i] = sign * right_t[0], sign * s[0] * left[:, 0]\n',
                     '        v = Z[0] / np.linalg.norm(Z[0])\n'
                     '        sign = 1.0 if v @ net.V[i] >= 0 else -1.0\n'
                     '        V[i], U[:, i] = sign * v, sign * (Z @ v)\n'))),
        ('sign of the singular pair not aligned', _mutant(
            _A7_Q2, ('        sign = 1.0 if right_t[0] @ net.V[i] >= 0 else -1.0\n', ''),
            ('V[i], U[:, i] = sign * right_t[0], sign * s[0] * left[:, 0]',
             'V[i], U[:, i] = right_t[0], s[0] * left[:, 0]'))),
        ('V not normalised (the singular value left in V)', _mutant(
            _A7_Q2, ('V[i], U[:, i] = sign * right_t[0], sign * s[0] * left[:, 0]',
                     'V[i], U[:, i] = sign * s[0] * right_t[0], sign * left[:, 0]'))),
        ('calls rl.refine_by_patterns (forbidden shortcut)', (
            'def oracle_estimate(net, X, Y):\n'
            '    return rl.refine_by_patterns(net, X, Y, fit_bias=False, max_iter=1).network'
        )),
    ],
    'q3': [
        ('ratio inverted (oracle / method)', _mutant(
            _A7_Q3, ('return ours / rl.parameter_error(net, oracle_estimate(net, X, Y))',
                     'return rl.parameter_error(net, oracle_estimate(net, X, Y)) / ours'))),
        ('oracle on fresh samples, not the same ones', _mutant(
            _A7_Q3, ('    return ours / ',
                     '    X, Y = rl.gaussian_samples(net, n, noise=noise, rng=rng)\n'
                     '    return ours / '))),
        ('linear fit, not log-log', _mutant(
            _A7_Q3, ('np.polyfit(np.log(x), np.log(y), 1)', 'np.polyfit(x, y, 1)'))),
        ('log10 of y against ln of x', _mutant(
            _A7_Q3, ('np.polyfit(np.log(x), np.log(y), 1)',
                     'np.polyfit(np.log(x), np.log10(y), 1)'))),
        ('a fresh generator for every sample (the same draws)', _mutant(
            _A7_Q3, ('            X, Y = rl.gaussian_samples(net, n, noise=noise, rng=rng)\n',
                     '            X, Y = rl.gaussian_samples(net, n, noise=noise,'
                     ' rng=np.random.default_rng(seed))\n'))),
    ],
}

_A8_Q2 = (
    'def fpt_search(X, y, S, k, n_candidates=15, rng=None):\n'
    '    rng = np.random.default_rng(rng)\n'
    '    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float).ravel()\n'
    '    Z = X @ S\n'
    '    best, best_residual = None, np.inf\n'
    '    for _ in range(n_candidates):\n'
    '        W = rng.standard_normal((k, k))\n'
    '        W /= np.linalg.norm(W, axis=1, keepdims=True)\n'
    '        u = np.linalg.lstsq(np.maximum(Z @ W.T, 0), y, rcond=None)[0]\n'
    '        try:\n'
    '            candidate = rl.refine_by_patterns(rl.TwoLayerNetwork(u[None, :], W), Z, y,'
    ' bias=False).network\n'
    '        except ValueError:\n'
    '            continue\n'
    '        residual = np.linalg.norm(y - candidate.predict(Z).ravel()) / np.linalg.norm(y)\n'
    '        if residual < best_residual:\n'
    '            best, best_residual = candidate, residual\n'
    '    lifted = rl.TwoLayerNetwork(best.U, best.V @ S.T)\n'
    '    return rl.refine_by_patterns(lifted, X, y, bias=False).network'
)
# The lift to R^d and the final polish, the last two lines of _A8_Q2.
_A8_Q2_LIFT_AND_POLISH = (
    '    lifted = rl.TwoLayerNetwork(best.U, best.V @ S.T)\n'
    '    return rl.refine_by_patterns(lifted, X, y, bias=False).network'
)

_A8_Q3 = (
    'def filtered_pca_span(X, y, k, quantile=0.5, n_bins=2):\n'
    '    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float).ravel()\n'
    '    n, d = X.shape\n'
    '    Q = np.zeros((d, 0))\n'
    '    for _ in range(k):\n'
    '        P = np.eye(d) - Q @ Q.T\n'
    '        labels = np.zeros(n, dtype=int)\n'
    '        for j in range(Q.shape[1]):\n'
    '            s = X @ Q[:, j]\n'
    '            edges = np.quantile(s, np.linspace(0, 1, n_bins + 1)[1:-1])\n'
    '            labels = labels * n_bins + np.searchsorted(edges, s)\n'
    '        M = np.zeros((d, d))\n'
    '        for cell in np.unique(labels):\n'
    '            idx = labels == cell\n'
    '            Xc = X[idx] @ P\n'
    '            r = y[idx] - np.median(y[idx])\n'
    '            keep = np.abs(r) > np.quantile(np.abs(r), quantile)\n'
    '            A = Xc[keep].T @ Xc[keep] / idx.sum() - keep.mean() * P\n'
    '            b = Xc.T @ r / idx.sum()\n'
    '            M += (idx.sum() / n) * (A @ A + np.outer(b, b))\n'
    '        v = P @ np.linalg.eigh(P @ M @ P)[1][:, -1]\n'
    '        Q = np.hstack([Q, (v / np.linalg.norm(v))[:, None]])\n'
    '    return Q'
)

WRONG_ANSWERS['a8_beyond_full_rank'] = {
    'q1': [
        ('largest signed eigenvalues (misses units with u_i < 0)', (
            'def span_from_second_moments(X, y, k):\n'
            '    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float).ravel()\n'
            '    M = (X * y[:, None]).T @ X / len(X) - y.mean() * np.eye(X.shape[1])\n'
            '    values, vectors = np.linalg.eigh(M)\n'
            '    return vectors[:, -k:]'
        )),
        ('E[y x x^T] without subtracting E[y] I', (
            'def span_from_second_moments(X, y, k):\n'
            '    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float).ravel()\n'
            '    M = (X * y[:, None]).T @ X / len(X)\n'
            '    values, vectors = np.linalg.eigh(M)\n'
            '    return vectors[:, np.argsort(-np.abs(values))[:k]]'
        )),
        ('principal components of X, ignoring y', (
            'def span_from_second_moments(X, y, k):\n'
            '    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float).ravel()\n'
            '    M = X.T @ X / len(X)\n'
            '    values, vectors = np.linalg.eigh(M)\n'
            '    return vectors[:, np.argsort(-np.abs(values))[:k]]'
        )),
        ('basis as rows (k, d)', (
            'def span_from_second_moments(X, y, k):\n'
            '    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float).ravel()\n'
            '    M = (X * y[:, None]).T @ X / len(X) - y.mean() * np.eye(X.shape[1])\n'
            '    values, vectors = np.linalg.eigh(M)\n'
            '    return vectors[:, np.argsort(-np.abs(values))[:k]].T'
        )),
        ('calls rl.span_from_moments (forbidden shortcut)', (
            'def span_from_second_moments(X, y, k):\n'
            '    return rl.span_from_moments(X, np.asarray(y).reshape(len(X), -1), k)'
        )),
    ],
    'q2': [
        ('no lift: returns the network in R^k', _mutant(
            _A8_Q2, (_A8_Q2_LIFT_AND_POLISH, '    return best'))),
        ('lifted but not polished in R^d (keeps the error of the span)', _mutant(
            _A8_Q2, (_A8_Q2_LIFT_AND_POLISH,
                     '    return rl.TwoLayerNetwork(best.U, best.V @ S.T)'))),
        ('keeps the candidate with the largest residual', _mutant(
            _A8_Q2, ('if residual < best_residual:',
                     'if best is None or residual > best_residual:'))),
        ('no polishing of the candidates (least squares for u only)', _mutant(
            _A8_Q2, ('        try:\n'
                     '            candidate = rl.refine_by_patterns(rl.TwoLayerNetwork(u[None, :], W),'
                     ' Z, y, bias=False).network\n'
                     '        except ValueError:\n'
                     '            continue\n',
                     '        candidate = rl.TwoLayerNetwork(u[None, :], W)\n'),
            (_A8_Q2_LIFT_AND_POLISH, '    return rl.TwoLayerNetwork(best.U, best.V @ S.T)'))),
    ],
    'q3': [
        ('no filter (plain second moments, blind here)', _mutant(
            _A8_Q3, ('keep = np.abs(r) > np.quantile(np.abs(r), quantile)',
                     'keep = np.ones(len(r), dtype=bool)'))),
        ('no projection onto the complement (finds the same direction twice)', _mutant(
            _A8_Q3, ('P = np.eye(d) - Q @ Q.T', 'P = np.eye(d)'))),
        ('A instead of A^2 (signed top eigenvector)', _mutant(
            _A8_Q3, ('(A @ A + np.outer(b, b))', '(A + np.outer(b, b))'))),
        ('filters on |y| instead of the residual from the median', _mutant(
            _A8_Q3, ('keep = np.abs(r) > np.quantile(np.abs(r), quantile)',
                     'keep = np.abs(y[idx]) > np.quantile(np.abs(y[idx]), quantile)'))),
        ('calls rl.filtered_pca (forbidden shortcut)', (
            'def filtered_pca_span(X, y, k, quantile=0.5, n_bins=2):\n'
            '    return rl.filtered_pca(X, y, k, quantile=quantile, n_bins=n_bins).basis'
        )),
    ],
}

_A9_Q2 = (
    'def theorem31_error(true_net, est_net):\n'
    '    t, e = normalize(true_net), normalize(est_net)\n'
    '    D = (np.linalg.norm(t.V[:, None] - e.V[None], axis=2)\n'
    '         + np.linalg.norm(t.U[:, :, None] - e.U[:, None, :], axis=0)\n'
    '         + np.abs(t.b[:, None] - e.b[None, :]))\n'
    '    rows = np.arange(t.k)\n'
    '    return float(min(D[rows, list(perm)].max() for perm in itertools.permutations(range(t.k))))'
)
# The bottleneck matching of _A9_Q2: the least, over permutations, of the largest error.
_A9_Q2_MATCHING = 'min(D[rows, list(perm)].max() for perm in itertools.permutations(range(t.k)))'

_A9_Q3 = (
    'def certificate(est, X, y):\n'
    '    y = np.asarray(y, dtype=float).reshape(len(X), -1)\n'
    '    return float(np.linalg.norm(y - est.predict(X).reshape(y.shape)) / np.linalg.norm(y))\n'
    '\n'
    'def compare_methods(net, n, seed):\n'
    '    rng = np.random.default_rng(seed)\n'
    '    X, y = rl.gaussian_samples(net, n, rng=rng)\n'
    '    tensor = rl.recover_with_bias(X, y, net.k, rng=rng).network\n'
    '    adam = rl.fit_adam(X, y, net.k, max_steps=300, rng=rng).network\n'
    '    return {name: (certificate(est, X, y), theorem31_error(net, est))\n'
    "            for name, est in (('tensor', tensor), ('adam', adam))}"
)

WRONG_ANSWERS['a9_gradient_descent'] = {
    'q1': [
        ('biases not rescaled', (
            'def normalize(net):\n'
            '    norms = np.linalg.norm(net.V, axis=1)\n'
            '    return rl.TwoLayerNetwork(net.U * norms[None, :], net.V / norms[:, None], net.b)'
        )),
        ('U divided by |v| instead of multiplied', (
            'def normalize(net):\n'
            '    norms = np.linalg.norm(net.V, axis=1)\n'
            '    return rl.TwoLayerNetwork(net.U / norms[None, :], net.V / norms[:, None], net.b / norms)'
        )),
        ('only V normalised', (
            'def normalize(net):\n'
            '    norms = np.linalg.norm(net.V, axis=1)\n'
            '    return rl.TwoLayerNetwork(net.U, net.V / norms[:, None], net.b)'
        )),
        ('calls net.normalized() (forbidden shortcut)', (
            'def normalize(net):\n'
            '    return net.normalized()'
        )),
    ],
    'q2': [
        ('sum of the per-unit errors, not the largest', _mutant(
            _A9_Q2, ('D[rows, list(perm)].max()', 'D[rows, list(perm)].sum()'))),
        ('no matching (identity permutation)', _mutant(
            _A9_Q2, (_A9_Q2_MATCHING, 'D[rows, rows].max()'))),
        ('minimum-sum matching, then its largest error', _mutant(
            _A9_Q2, ('def theorem31_error',
                     'from scipy.optimize import linear_sum_assignment\ndef theorem31_error'),
            (f'    return float({_A9_Q2_MATCHING})',
             '    r, c = linear_sum_assignment(D)\n'
             '    return float(D[r, c].max())'))),
        ('networks not normalised first', _mutant(
            _A9_Q2, ('t, e = normalize(true_net), normalize(est_net)',
                     't, e = true_net, est_net'))),
        ('largest error over all pairs, no matching', _mutant(
            _A9_Q2, (_A9_Q2_MATCHING, 'D.min(axis=1).max()'))),
        ('calls rl.parameter_error (forbidden shortcut)', (
            'def theorem31_error(true_net, est_net):\n'
            '    return float(rl.parameter_error(true_net, est_net))'
        )),
    ],
    'q3': [
        ('absolute residual, not relative', _mutant(
            _A9_Q3, ('np.linalg.norm(y - est.predict(X).reshape(y.shape)) / np.linalg.norm(y)',
                     'np.linalg.norm(y - est.predict(X).reshape(y.shape))'))),
        ('mean squared error', _mutant(
            _A9_Q3, ('np.linalg.norm(y - est.predict(X).reshape(y.shape)) / np.linalg.norm(y)',
                     'np.mean((y - est.predict(X).reshape(y.shape)) ** 2)'))),
        ('relative to the prediction, not to the labels', _mutant(
            _A9_Q3, ('/ np.linalg.norm(y))', '/ np.linalg.norm(est.predict(X)))'))),
        ('Adam on fresh samples, not the same instance', _mutant(
            _A9_Q3, ('    adam = rl.fit_adam(X, y, ',
                     '    X2, y2 = rl.gaussian_samples(net, n, rng=rng)\n'
                     '    adam = rl.fit_adam(X2, y2, '))),
        ("Adam before the tensor method (the generator's draws swapped)", _mutant(
            _A9_Q3, ('    tensor = rl.recover_with_bias(X, y, net.k, rng=rng).network\n'
                     '    adam = rl.fit_adam(X, y, net.k, max_steps=300, rng=rng).network\n',
                     '    adam = rl.fit_adam(X, y, net.k, max_steps=300, rng=rng).network\n'
                     '    tensor = rl.recover_with_bias(X, y, net.k, rng=rng).network\n'))),
    ],
}
