"""Plausible wrong answers to the questions of the course assignments (book/assignments/).

``WRONG_ANSWERS[name][question]`` is a list of ``(label, code)``: code a student could write
in the question's answer cell (defining the same names as the solution) that is wrong, for the
reason in the label. ``tests/test_assignment_wrong_answers.py`` checks that each one fails at
least one public or hidden test of its question (with the autograder's seed), and that the
solutions pass them all. ``tests/test_assignments.py`` grades the first wrong answer of every
question with ``otter run``.
"""

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
